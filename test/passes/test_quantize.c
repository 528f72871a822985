/* test_quantize.c — the `quantize` pass and the configs it attaches (ir/qcfg.c): selection by
 * type, name and regex, MASE's {config={...}} form, the default entry, "NA", the normalized
 * config (defaults resolved), metadata's type and precision, and every config error the
 * issue lists naming its key (unknown op or key, width 0, frac_width > width, width > 32, a
 * regex that matches nothing), plus pipelines from a config file's table. */
#include "th.h"

#define INT8 "name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8, bias_frac_width=4"

/* Runs the pipeline; returns the diagnostics text (empty on success) in a static buffer. */
static const char *run(Graph *g, const char *pipeline, Status *st) {
  static char buf[4096];
  Diag d;
  diag_init(&d, NULL);
  StrBuf report;
  sb_init(&report);
  *st = th_run(g, pipeline, &report, &d);
  snprintf(buf, sizeof buf, "%s", sb_str(&d.text));
  sb_free(&report);
  diag_free(&d);
  return buf;
}

static bool quantized(Graph *g, const char *node) {
  QCfg q;
  Node *n = ir_graph_find_node(g, node);
  assert_non_null(n);
  return ir_node_qcfg(n, &q);
}

static void test_by_type(void **state) {
  (void)state;
  Graph *g = th_jsc_tiny();
  Status st;
  run(g, "quantize{by=type, linear={" INT8 "}}", &st);
  assert_int_equal(st, JS_OK);
  assert_false(quantized(g, "seq_blocks_0"));
  assert_false(quantized(g, "seq_blocks_1"));
  assert_true(quantized(g, "seq_blocks_2"));
  assert_false(quantized(g, "seq_blocks_3"));
  QCfg q;
  assert_true(ir_node_qcfg(ir_graph_find_node(g, "seq_blocks_2"), &q));
  assert_int_equal(q.kind, QK_INTEGER);
  assert_true(q.has[QS_DATA_IN] && q.has[QS_WEIGHT] && q.has[QS_BIAS] && !q.has[QS_DATA_OUT]);
  assert_int_equal(q.fmt[QS_WEIGHT].width, 8);
  assert_int_equal(q.fmt[QS_WEIGHT].frac_width, 4);
  assert_true(q.fmt[QS_DATA_IN].is_signed);
  /* the IR text says it, and reads back */
  StrBuf sb;
  sb_init(&sb);
  ir_print_node(&sb, ir_graph_find_node(g, "seq_blocks_2"));
  assert_contains(sb_str(&sb), " quant linear_integer{name=\"integer\", data_in_width=8, data_in_frac_width=4, "
                               "weight_width=8, weight_frac_width=4, bias_width=8, bias_frac_width=4}");
  sb_free(&sb);
  ir_graph_free(g);
}

static void test_mase_form_defaults_and_na(void **state) {
  (void)state;
  Graph *g = th_jsc_tiny();
  Status st;
  /* MASE's {config={...}}; frac_width "NA" takes width // 2; relu's input is unsigned */
  run(g, "quantize{by=type, default={config={name=NA}}, relu={config={name=integer, data_in_width=6, "
         "data_in_frac_width=NA}}}", &st);
  assert_int_equal(st, JS_OK);
  QCfg q;
  assert_true(ir_node_qcfg(ir_graph_find_node(g, "seq_blocks_1"), &q));
  assert_int_equal(q.fmt[QS_DATA_IN].frac_width, 3);
  assert_false(q.fmt[QS_DATA_IN].is_signed);
  assert_false(quantized(g, "seq_blocks_2")); /* default NA: left alone */
  ir_graph_free(g);
}

static void test_default_spans_ops(void **state) {
  (void)state;
  Graph *g = th_jsc_big();
  Status st;
  /* one default with weight keys quantizes ReLU and Linear (ReLU ignores weight_*), and,
   * as MASE's, leaves BatchNorm1d in float: it is not among MASE's quantizable ops */
  run(g, "quantize{default={" INT8 "}}", &st);
  assert_int_equal(st, JS_OK);
  int n = 0, bn = 0;
  for (Node *m = g->first; m; m = m->next) {
    QCfg q;
    if (ir_node_qcfg(m, &q)) n++;
    if (m->mop == MOP_BATCH_NORM1D) bn++, assert_false(ir_node_qcfg(m, &q));
  }
  assert_int_equal(bn, 4);
  assert_int_equal(n, 4 + 5); /* 4 Linear, 5 ReLU */
  ir_graph_free(g);
  /* naming batch_norm1d quantizes it too: the whole model */
  g = th_jsc_big();
  run(g, "quantize{default={" INT8 "}, batch_norm1d={" INT8 "}}", &st);
  assert_int_equal(st, JS_OK);
  n = 0;
  for (Node *m = g->first; m; m = m->next) {
    QCfg q;
    if (ir_node_qcfg(m, &q)) n++;
  }
  assert_int_equal(n, 4 + 4 + 5); /* 4 BatchNorm1d, 4 Linear, 5 ReLU */
  ir_graph_free(g);
  /* and so does a by=name entry, while the default skips the other BatchNorms */
  g = th_jsc_big();
  run(g, "quantize{by=name, default={" INT8 "}, seq_blocks_0={" INT8 "}}", &st);
  assert_int_equal(st, JS_OK);
  assert_true(quantized(g, "seq_blocks_0"));
  assert_false(quantized(g, "seq_blocks_3"));
  ir_graph_free(g);
}

/* As MASE reads only the keys of an op's slots, a ReLU entry may carry a Linear's weight and
 * bias keys (MASE's configs do): they are ignored, whatever their values. */
static void test_param_keys_where_no_params(void **state) {
  (void)state;
  Graph *g = th_jsc_tiny();
  Status st;
  run(g, "quantize{relu={name=integer, data_in_width=8, weight_width=0, bias_frac_width=99}}", &st);
  assert_int_equal(st, JS_OK);
  QCfg q;
  assert_true(ir_node_qcfg(ir_graph_find_node(g, "seq_blocks_1"), &q));
  assert_true(q.has[QS_DATA_IN] && !q.has[QS_WEIGHT] && !q.has[QS_BIAS]);
  ir_graph_free(g);
}

static void test_by_name_and_regex(void **state) {
  (void)state;
  Graph *g = th_jsc_big();
  Status st;
  run(g, "quantize{by=name, seq_blocks_5={" INT8 "}}", &st);
  assert_int_equal(st, JS_OK);
  assert_true(quantized(g, "seq_blocks_5"));
  assert_false(quantized(g, "seq_blocks_2"));
  ir_graph_free(g);
  g = th_jsc_big();
  run(g, "quantize{by=regex_name, 'seq_blocks_(2|8)'={" INT8 "}, 'seq_blocks_1(0|2)'={name=integer, data_in_width=4}}",
      &st);
  assert_int_equal(st, JS_OK);
  assert_true(quantized(g, "seq_blocks_2"));
  assert_true(quantized(g, "seq_blocks_8"));
  assert_false(quantized(g, "seq_blocks_5"));
  assert_true(quantized(g, "seq_blocks_10")); /* relu */
  assert_true(quantized(g, "seq_blocks_12"));
  assert_false(quantized(g, "seq_blocks_1")); /* full match only */
  ir_graph_free(g);
}

static void expect_error(const char *pipeline, const char *want) {
  Graph *g = th_jsc_tiny();
  Status st;
  const char *msg = run(g, pipeline, &st);
  assert_int_not_equal(st, JS_OK);
  assert_contains(msg, want);
  ir_graph_free(g);
}

static void test_errors_name_the_key(void **state) {
  (void)state;
  expect_error("quantize{linaer={" INT8 "}}", "quantize: 'linaer' is not an op");
  expect_error("quantize{linaer={" INT8 "}}", "did you mean 'linear'?");
  expect_error("quantize{sigmoid={name=integer, data_in_width=8}}", "'sigmoid' is an op that cannot be quantized");
  expect_error("quantize{linear={name=integer, data_in_width=8, weight_widht=8}}",
               "quantize: linear.config: unknown key 'weight_widht' for name=\"integer\" (did you mean 'weight_width'?)");
  expect_error("quantize{linear={name=integer, data_in_width=0, weight_width=8}}",
               "linear.config: data_in_width: 0 is not a width (1..32)");
  expect_error("quantize{linear={name=integer, data_in_width=33, weight_width=8}}",
               "linear.config: data_in_width: 33 is not a width (1..32)");
  expect_error("quantize{linear={name=integer, data_in_width=8, weight_width=8, weight_frac_width=65}}",
               "linear.config: weight_frac_width: 65 is out of range (0..64)");
  expect_error("quantize{linear={name=integer, data_in_width=8, weight_width=8, weight_frac_width=-1}}",
               "linear.config: weight_frac_width: -1 is out of range (0..64)");
  expect_error("quantize{linear={name=integr, data_in_width=8, weight_width=8}}",
               "name: unknown number format 'integr' (did you mean 'integer'?)");
  expect_error("quantize{linear={name=integer, data_in_width=8}}", "linear.config: missing key 'weight_width'");
  expect_error("quantize{relu={name=integer, data_in_width=8, data_out_width=0}}", "relu.config: data_out_width: 0 is not a width");
  expect_error("quantize{linear={name=integer, data_in_width=8.5, weight_width=8}}", "data_in_width must be an integer");
  expect_error("quantize{linear={name=ternary, weight_width=2, weight_median=0.02}}",
               "weight_median: a fixed value of the statistic is not supported");
  expect_error("quantize{linear={name=binary, weight_width=1, weight_stochastic=1}}",
               "weight_stochastic: stochastic binarization is not supported");
  expect_error("quantize{linear={name=binary, weight_width=1, weight_bipolar=2}}", "weight_bipolar must be true or false");
  expect_error("quantize{by=name, seq_blocks_9={" INT8 "}}", "by=name entry 'seq_blocks_9' names no node");
  expect_error("quantize{by=name, seq_blocks_0={" INT8 "}, seq_block_2={" INT8 "}}", "did you mean 'seq_blocks_2'?");
  expect_error("quantize{by=regex_name, 'seq_blocks_9.*'={" INT8 "}}",
               "by=regex_name entry 'seq_blocks_9.*' matches no quantizable node");
  expect_error("quantize{by=regex_name, 'seq_blocks_(2'={" INT8 "}}", "is not a valid regular expression");
  expect_error("quantize{by=typ}", "expects one of type|name|regex_name");
  expect_error("conv_bn_fusion", "--passes: MASE's 'conv_bn_fusion' pass is not available in jscc");
  expect_error("quantize{linear={name=integer, data_in_width=8, weight_width=8, floor=1}}", "floor must be true or false");
}

static void test_metadata_records_formats(void **state) {
  (void)state;
  Graph *g = th_jsc_tiny();
  Status st;
  /* quantize after metadata patches it; metadata after quantize writes it */
  run(g, "metadata,quantize{linear={" INT8 ", data_out_width=16, data_out_frac_width=10}}", &st);
  assert_int_equal(st, JS_OK);
  StrBuf sb;
  sb_init(&sb);
  val_print(&sb, ir_meta_get(ir_graph_find_node(g, "seq_blocks_2"), "common"));
  assert_contains(sb_str(&sb), "data_in_0={type=\"fixed\", precision=[8, 4]");
  assert_contains(sb_str(&sb), "weight={type=\"fixed\", precision=[8, 4]");
  assert_contains(sb_str(&sb), "data_out_0={type=\"fixed\", precision=[16, 10]");
  sb_free(&sb);
  ir_graph_free(g);
  g = th_jsc_tiny();
  run(g, "quantize{linear={name=minifloat_ieee, data_in_width=8, data_in_exponent_width=4, weight_width=8, "
         "weight_exponent_width=3}},metadata", &st);
  assert_int_equal(st, JS_OK);
  sb_init(&sb);
  val_print(&sb, ir_meta_get(ir_graph_find_node(g, "seq_blocks_2"), "common"));
  assert_contains(sb_str(&sb), "data_in_0={type=\"minifloat_ieee\", precision=[8, 4, 7]");
  assert_contains(sb_str(&sb), "weight={type=\"minifloat_ieee\", precision=[8, 3, 3]");
  assert_contains(sb_str(&sb), "bias={type=\"float\", precision=[32]");
  sb_free(&sb);
  ir_graph_free(g);
}

static SrcLoc fake_loc(void *ud, const char *path) {
  (void)path;
  return *(SrcLoc *)ud;
}

static void test_from_config_value(void **state) {
  (void)state;
  /* {quantize={by="type", linear={config={...}}}, summarize_quantization={}} as a config
   * file's [passes.*] tables give it */
  Graph *g = th_jsc_tiny();
  Diag d;
  diag_init(&d, NULL);
  Arena *a = arena_new();
  Pipeline *pl = NULL;
  assert_int_equal(pass_pipeline_parse("quantize{by=type, linear={config={" INT8 "}}}", &pl, &d), JS_OK);
  /* the parsed step's options, rebuilt as a config value */
  const Value *lin = pass_arg_value(&pl->steps[0].args, "*");
  assert_int_equal(lin->kind, VAL_DICT);
  const char *qk[2] = {"by", "linear"};
  Value qv[2] = {val_str("type"), lin->u.dict.vals[0]};
  const char *pk[2] = {"quantize", "summarize_quantization"};
  Value pv[2] = {{.kind = VAL_DICT, .u.dict = {2, qk, qv}}, {.kind = VAL_DICT}};
  Value passes = {.kind = VAL_DICT, .u.dict = {2, pk, pv}};
  SrcFile f = {.path = "q.toml"};
  SrcLoc at = {&f, 3, 1};
  Pipeline *p2 = NULL;
  assert_int_equal(pass_pipeline_from_value(&passes, "passes", fake_loc, &at, &p2, &d), JS_OK);
  assert_int_equal(p2->nsteps, 2);
  assert_string_equal(p2->steps[1].pass->name, "summarize-quant");
  PassContext ctx = {.diag = &d};
  assert_int_equal(pass_pipeline_run(p2, g, &ctx), JS_OK);
  assert_true(quantized(g, "seq_blocks_2"));
  pass_pipeline_free(p2);
  /* an unknown pass and an unknown option are located in the file */
  const char *bk[1] = {"quantise"};
  Value bv[1] = {{.kind = VAL_DICT}};
  Value bad = {.kind = VAL_DICT, .u.dict = {1, bk, bv}};
  assert_int_not_equal(pass_pipeline_from_value(&bad, "passes", fake_loc, &at, &p2, &d), JS_OK);
  assert_contains(sb_str(&d.text), "q.toml:3:1: error: passes.quantise: unknown pass 'quantise' (did you mean 'quantize'?)");
  const char *ok[1] = {"report_graph"};
  const char *rk[1] = {"fil"};
  Value rv[1] = {val_str("x")};
  Value ov[1] = {{.kind = VAL_DICT, .u.dict = {1, rk, rv}}};
  Value bad2 = {.kind = VAL_DICT, .u.dict = {1, ok, ov}};
  assert_int_not_equal(pass_pipeline_from_value(&bad2, "passes", fake_loc, &at, &p2, &d), JS_OK);
  assert_contains(sb_str(&d.text), "passes.report_graph: pass 'report-graph' has no option 'fil' (did you mean 'file'?)");
  pass_pipeline_free(pl);
  arena_free(a);
  diag_free(&d);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_by_type),          cmocka_unit_test(test_mase_form_defaults_and_na),
      cmocka_unit_test(test_default_spans_ops), cmocka_unit_test(test_by_name_and_regex),
      cmocka_unit_test(test_errors_name_the_key), cmocka_unit_test(test_metadata_records_formats),
      cmocka_unit_test(test_from_config_value), cmocka_unit_test(test_param_keys_where_no_params),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
