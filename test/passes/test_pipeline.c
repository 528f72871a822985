/* test_pipeline.c — the pass manager: registry, --list-passes, pipeline strings (options,
 * quoting, errors with the valid names and "did you mean"), implicit passes, run order, the
 * dump hook and the failure note. */
#include <stdio.h>

#include "th.h"

/* Parses; on success returns the pipeline, else NULL with the messages in *text. */
static Pipeline *parse(const char *text, Diag *d) {
  Pipeline *pl = NULL;
  Status st = pass_pipeline_parse(text, &pl, d);
  if (st) {
    assert_null(pl);
    assert_int_equal(st, JS_EUSAGE);
    return NULL;
  }
  return pl;
}

/* The single error a bad pipeline gives. */
static const char *parse_err(const char *text) {
  static char buf[1024];
  Diag d;
  diag_init(&d, NULL);
  assert_null(parse(text, &d));
  assert_int_equal(d.nerrors, 1);
  snprintf(buf, sizeof buf, "%s", sb_str(&d.text));
  diag_free(&d);
  return buf;
}

static void test_registry(void **state) {
  const char *want[] = {"cost",          "dce",           "grad",           "intervals", "metadata", "params",
                        "profile",       "quantize",       "report-graph", "report-meta", "report-weights",
                        "shape",         "summarize-quant", "verify"};
  int nwant = (int)(sizeof want / sizeof *want);
  assert_int_equal(pass_count(), nwant);
  for (int i = 0; i < pass_count(); i++) {
    const PassInfo *p = pass_info(i);
    assert_string_equal(p->name, want[i]);
    assert_ptr_equal(pass_lookup(p->name), p);
    assert_non_null(p->fn);
    assert_true(strlen(p->help) > 10);
    /* every pass parses alone, so every default value reads as its type */
    Diag d;
    diag_init(&d, NULL);
    Pipeline *pl = parse(p->name, &d);
    assert_non_null(pl);
    pass_pipeline_free(pl);
    diag_free(&d);
  }
  assert_null(pass_info(nwant));
  assert_null(pass_lookup("shap"));
}

static void test_list(void **state) {
  StrBuf sb;
  sb_init(&sb);
  pass_list(&sb);
  const char *s = sb_str(&sb);
  assert_contains(s, "Passes (--passes='name,name{key=value key2=value2}'):\n");
  assert_contains(s, "\n  dce              remove nodes whose results are unused");
  assert_contains(s, "\n      verbose=false         (bool) write how many nodes were removed");
  assert_contains(s, "\n      file=\"\"               (str) also write the report to this file");
  assert_contains(s, "\n      unsqueeze=true        (bool) record 1-D parameter shapes as [1,n]");
  assert_contains(s, "\n  verify           check the graph's invariants");
  assert_contains(s, "\n  summarize-quant  MASE's summarize_quantization_analysis_pass");
  sb_free(&sb);
}

static void test_parse_plain(void **state) {
  Diag d;
  diag_init(&d, NULL);
  Pipeline *pl = parse("shape,report-graph", &d);
  assert_non_null(pl);
  assert_int_equal(pl->nsteps, 2);
  assert_string_equal(pl->steps[0].pass->name, "shape");
  assert_string_equal(pl->steps[1].pass->name, "report-graph");
  assert_string_equal(pass_arg_str(&pl->steps[1].args, "file"), "");
  assert_false(pl->steps[0].implicit);
  assert_true(pass_pipeline_has(pl, "shape"));
  assert_false(pass_pipeline_has(pl, "dce"));
  pass_pipeline_free(pl);
  pl = parse("  shape{} , dce { verbose = 1 } ,params{ file = 'a b.txt' , }", &d);
  assert_non_null(pl);
  assert_int_equal(pl->nsteps, 3);
  assert_true(pass_arg_bool(&pl->steps[1].args, "verbose"));
  assert_string_equal(pass_arg_str(&pl->steps[2].args, "file"), "a b.txt");
  pass_pipeline_free(pl);
  assert_int_equal(d.nerrors, 0);
  diag_free(&d);
}

static void test_parse_options(void **state) {
  Diag d;
  diag_init(&d, NULL);
  Pipeline *pl = parse("dce,dce{verbose=true},report-graph{file=\"x \\\"y\\\".txt\"},metadata{unsqueeze=false}", &d);
  assert_non_null(pl);
  assert_int_equal(pl->nsteps, 5); /* metadata brings no shape: none ran before it... */
  assert_false(pass_arg_bool(&pl->steps[0].args, "verbose"));
  assert_true(pass_arg_bool(&pl->steps[1].args, "verbose"));
  assert_string_equal(pass_arg_str(&pl->steps[2].args, "file"), "x \"y\".txt");
  /* ...so shape is inserted, marked implicit */
  assert_string_equal(pl->steps[3].pass->name, "shape");
  assert_true(pl->steps[3].implicit);
  assert_false(pass_arg_bool(&pl->steps[4].args, "unsqueeze"));
  pass_pipeline_free(pl);
  diag_free(&d);
}

static void test_implicit_shape(void **state) {
  Diag d;
  diag_init(&d, NULL);
  Pipeline *pl = parse("metadata", &d);
  assert_int_equal(pl->nsteps, 2);
  assert_string_equal(pl->steps[0].pass->name, "shape");
  assert_true(pl->steps[0].implicit);
  assert_true(pass_pipeline_has(pl, "shape"));
  pass_pipeline_free(pl);
  pl = parse("shape,dce,metadata,metadata", &d);
  assert_int_equal(pl->nsteps, 4);
  for (int i = 0; i < 4; i++) assert_false(pl->steps[i].implicit);
  pass_pipeline_free(pl);
  diag_free(&d);
}

static void test_parse_errors(void **state) {
  assert_string_equal(parse_err("shap"),
                      "error: --passes: unknown pass 'shap' (did you mean 'shape'?); valid passes: cost, dce, grad, "
                      "intervals, metadata, params, profile, quantize, report-graph, report-meta, report-weights, "
                      "shape, summarize-quant, verify\n");
  assert_string_equal(parse_err("shape,zzzzzz"),
                      "error: --passes: unknown pass 'zzzzzz'; valid passes: cost, dce, grad, intervals, metadata, params, "
                      "profile, quantize, report-graph, report-meta, report-weights, shape, summarize-quant, verify\n");
  assert_string_equal(parse_err("dce{verbos=true}"),
                      "error: --passes: pass 'dce' has no option 'verbos' (did you mean 'verbose'?); valid options: verbose\n");
  assert_string_equal(parse_err("shape{x=1}"), "error: --passes: pass 'shape' takes no options, got 'x'\n");
  assert_string_equal(parse_err("dce{verbose=yes}"),
                      "error: --passes: option 'verbose' of pass 'dce' expects a bool (true or false), got 'yes'\n");
  assert_string_equal(parse_err(""), "error: --passes: the pipeline is empty\n");
  assert_string_equal(parse_err("shape,"), "error: --passes: expected a pass name at column 7, found the end\n");
  assert_string_equal(parse_err("shape,,dce"), "error: --passes: expected a pass name at column 7, found ','\n");
  assert_string_equal(parse_err("dce{verbose=true"),
                      "error: --passes: missing '}' after the options of pass 'dce' (opened at column 4)\n");
  /* a comma stands between options or trails them; "{}" is no options */
  assert_string_equal(parse_err("dce{,}"), "error: --passes: expected an option name for pass 'dce' at column 5, found ','\n");
  assert_string_equal(parse_err("params{file=a,,verbose=1}"),
                      "error: --passes: expected an option name for pass 'params' at column 15, found ','\n");
  assert_string_equal(parse_err("params{file=\"a\"b}"),
                      "error: --passes: expected ',' or '}' after option 'file' of pass 'params' at column 16, found 'b'\n");
  assert_string_equal(parse_err("dce{"), "error: --passes: expected an option name for pass 'dce' at column 5, found the end\n");
  assert_string_equal(parse_err("dce{verbose}"), "error: --passes: expected '=' after option 'verbose' of pass 'dce', found '}'\n");
  assert_string_equal(parse_err("dce{verbose=}"),
                      "error: --passes: option 'verbose' of pass 'dce' has no value (column 13, found '}')\n");
  assert_string_equal(parse_err("dce{verbose=true verbose=false}"),
                      "error: --passes: option 'verbose' of pass 'dce' is given twice\n");
  assert_string_equal(parse_err("params{file='abc}"),
                      "error: --passes: unterminated '-quoted value of option 'file' of pass 'params'\n");
  assert_string_equal(parse_err("shape dce"), "error: --passes: expected ',' or '{' after pass 'shape' at column 7, found 'd'\n");
}

static void test_dump_after_check(void **state) {
  Diag d;
  diag_init(&d, NULL);
  Pipeline *pl = parse("metadata,params", &d);
  assert_int_equal(pass_check_dump_after(pl, NULL, &d), JS_OK);
  assert_int_equal(pass_check_dump_after(pl, "all", &d), JS_OK);
  assert_int_equal(pass_check_dump_after(pl, "metadata", &d), JS_OK);
  assert_int_equal(pass_check_dump_after(pl, "shape", &d), JS_OK); /* runs implicitly */
  assert_int_equal(d.nerrors, 0);
  assert_int_equal(pass_check_dump_after(pl, "dce", &d), JS_EUSAGE);
  assert_string_equal(sb_str(&d.text),
                      "error: --dump-after: pass 'dce' is not in the pipeline; the pipeline runs: shape, metadata, params\n");
  sb_clear(&d.text);
  assert_int_equal(pass_check_dump_after(pl, "metadat", &d), JS_EUSAGE);
  assert_string_equal(sb_str(&d.text), "error: --dump-after: unknown pass 'metadat' (did you mean 'metadata'?); the "
                                       "pipeline runs: shape, metadata, params\n");
  pass_pipeline_free(pl);
  diag_free(&d);
}

/* Records the passes the dump hook saw. */
static void record(void *ud, const Graph *g, const char *after) {
  StrBuf *sb = ud;
  sb_printf(sb, "%s;", after);
}

static Status run_dump(Graph *g, const char *pipeline, const char *dump_after, StrBuf *seen, Diag *d) {
  Pipeline *pl = parse(pipeline, d);
  assert_non_null(pl);
  StrBuf report;
  sb_init(&report);
  PassContext ctx = {.diag = d, .report = &report, .dump_after = dump_after, .dump = record, .dump_ud = seen};
  Status st = pass_pipeline_run(pl, g, &ctx);
  pass_pipeline_free(pl);
  sb_free(&report);
  return st;
}

static void test_run_order_and_dump(void **state) {
  Graph *g = th_jsc_tiny();
  Diag d;
  diag_init(&d, NULL);
  StrBuf seen;
  sb_init(&seen);
  assert_int_equal(run_dump(g, "verify,dce,metadata,report-graph", "all", &seen, &d), JS_OK);
  assert_string_equal(sb_str(&seen), "verify;dce;shape;metadata;report-graph;");
  sb_clear(&seen);
  assert_int_equal(run_dump(g, "shape,dce,params", "dce", &seen, &d), JS_OK);
  assert_string_equal(sb_str(&seen), "dce;");
  sb_clear(&seen);
  assert_int_equal(run_dump(g, "shape,dce", NULL, &seen, &d), JS_OK);
  assert_string_equal(sb_str(&seen), "");
  assert_int_equal(d.nerrors, 0);
  sb_free(&seen);
  diag_free(&d);
  ir_graph_free(g);
}

/* jsc_tiny with Linear(32, 5) in place of Linear(16, 5). */
static Graph *bad_graph(void) {
  return th_build_seq("bad", 16, "BN16 ReLU L32,5 ReLU");
}

static void test_failure_note(void **state) {
  Graph *g = bad_graph();
  Diag d;
  diag_init(&d, NULL);
  StrBuf seen;
  sb_init(&seen);
  assert_int_equal(run_dump(g, "verify,dce,shape,params", "all", &seen, &d), JS_ERR);
  assert_string_equal(sb_str(&d.text),
                      "error: seq_blocks.2 (Linear(32, 5)) expects 32 input features but gets 16 from seq_blocks.1\n"
                      "note: in pass 'shape' (after: verify, dce)\n");
  /* nothing runs after the failure, and no dump follows it */
  assert_string_equal(sb_str(&seen), "verify;dce;");
  sb_clear(&d.text);
  assert_int_equal(run_dump(g, "shape", NULL, &seen, &d), JS_ERR);
  assert_contains(sb_str(&d.text), "note: in pass 'shape' (it ran first)\n");
  sb_clear(&d.text);
  assert_int_equal(run_dump(g, "dce,metadata", NULL, &seen, &d), JS_ERR);
  assert_contains(sb_str(&d.text), "note: in pass 'shape', run implicitly before 'metadata' (after: dce)\n");
  sb_free(&seen);
  diag_free(&d);
  ir_graph_free(g);
}

/* Under JSCC_VERIFY_EACH_PASS (debug builds) a transform pass that leaves a broken graph is
 * caught by ir_verify right after it, and the note names that pass. */
static void test_verify_each_pass(void **state) {
#ifdef JSCC_VERIFY_EACH_PASS
  Graph *g = th_jsc_tiny();
  th_output(g, g->first); /* a second output: ir_verify refuses the graph */
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(th_run(g, "params,dce", NULL, &d), JS_ERR);
  assert_contains(sb_str(&d.text), "note: the graph is broken after pass 'dce' (after: params)\n");
  diag_free(&d);
  ir_graph_free(g);
#else
  skip();
#endif
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registry),         cmocka_unit_test(test_list),
      cmocka_unit_test(test_parse_plain),      cmocka_unit_test(test_parse_options),
      cmocka_unit_test(test_implicit_shape),   cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_dump_after_check), cmocka_unit_test(test_run_order_and_dump),
      cmocka_unit_test(test_failure_note),     cmocka_unit_test(test_verify_each_pass),
  };
  return cmocka_run_group_tests_name("pipeline", tests, NULL, NULL);
}
