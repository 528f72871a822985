/* test_summary.c — the quantization analysis passes: summarize-quant and report-weights.
 *
 * summarize-quant runs over examples/jsc_tiny.jsc and jsc_big.jsc (through the real front end)
 * quantized as the lab quantized them (every Linear to integer[8,4]).  Its histograms must
 * equal, character for character, the tables MASE printed in the lab (copied below from
 * reference/lab_report.md and reference/mase_facts.md §6: an independent reference); the full
 * reports are golden files (test/golden/NAME.quant_summary.txt; JSCC_UPDATE_GOLDEN=1
 * rewrites them).  The CSVs are written to a temporary directory and read back.
 *
 * report-weights gets a PassData whose param callback returns hand-picked values, whose
 * fixed[8,4] results were computed by hand: 0.1749 -> 0.1875 (code 3), ties to even
 * (0.09375 -> 0.125, 0.15625 -> 0.125, 0.03125 -> 0), saturation (9 -> 7.9375, -10 -> -8). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend.h"
#include "th.h"
#include "tlib.h"

#include "../fail_nth.h"


/* The lab's config: MASE's jsc_toy_by_type.toml, [passes.quantize.linear.config]. */
#define LAB_QUANTIZE                                                                                              \
  "quantize{by=type, linear={name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, "            \
  "weight_frac_width=4, bias_width=8, bias_frac_width=4}}"

/* MASE's "Quantized graph histogram:" for jsc-tiny (mase_facts.md §6) and jsc-big
 * (lab_report.md, Lab 2 question 7), verbatim. */
static const char tiny_histogram[] =
    "| Original type   | OP           |   Total |   Changed |   Unchanged |\n"
    "|-----------------+--------------+---------+-----------+-------------|\n"
    "| BatchNorm1d     | batch_norm1d |       1 |         0 |           1 |\n"
    "| Linear          | linear       |       1 |         1 |           0 |\n"
    "| ReLU            | relu         |       2 |         0 |           2 |\n"
    "| output          | output       |       1 |         0 |           1 |\n"
    "| x               | placeholder  |       1 |         0 |           1 |\n";
static const char big_histogram[] =
    "| Original type   | OP           |   Total |   Changed |   Unchanged |\n"
    "|-----------------+--------------+---------+-----------+-------------|\n"
    "| BatchNorm1d     | batch_norm1d |       4 |         0 |           4 |\n"
    "| Linear          | linear       |       4 |         4 |           0 |\n"
    "| ReLU            | relu         |       5 |         0 |           5 |\n"
    "| output          | output       |       1 |         0 |           1 |\n"
    "| x               | placeholder  |       1 |         0 |           1 |\n";

/* ---- helpers ---- */

/* examples/NAME.jsc through the front end; the program owns the graph. */
static Graph *load_example(const char *name, Program **prog) {
  char path[512];
  snprintf(path, sizeof path, "%s/examples/%s.jsc", tl_source_root(), name);
  Arena *a = arena_new();
  Diag d;
  diag_init(&d, stderr);
  SrcFile *src;
  assert_int_equal(diag_read_file(a, path, &src, &d), JS_OK);
  assert_int_equal(fe_parse(src, prog, &d), JS_OK);
  diag_free(&d);
  arena_free(a);
  assert_int_equal((*prog)->ngraphs, 1);
  return (*prog)->graphs[0];
}

/* {name="integer", data_in_width=8, data_in_frac_width=4[, weight/bias 8,4][, bypass=true]} */
static void set_integer(Node *n, bool weights, bool bypass) {
  const char *keys[] = {"name",       "data_in_width",     "data_in_frac_width", "weight_width",
                        "weight_frac_width", "bias_width", "bias_frac_width",    "bypass"};
  Value vals[] = {val_str("integer"), val_int(8), val_int(4), val_int(8), val_int(4), val_int(8), val_int(4),
                  val_bool(true)};
  int nk = weights ? 7 : 3;
  if (bypass) {
    keys[nk] = "bypass";
    vals[nk++] = val_bool(true);
  }
  Value cfg = {.kind = VAL_DICT, .u.dict = {nk, keys, vals}};
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(ir_node_set_quant(n, &cfg, "test", &d), JS_OK);
  diag_free(&d);
}

/* The lab's quantization, by the quantize pass. */
static void quantize_like_lab(Graph *g) {
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(pass_run_text(LAB_QUANTIZE, g, &d), JS_OK);
  diag_free(&d);
}

/* Runs `pipeline` with weights from `data` and an output directory. */
static Status run(Graph *g, const char *pipeline, StrBuf *report, Diag *d, const PassData *data, const char *out_dir) {
  Pipeline *pl;
  Status st = pass_pipeline_parse(pipeline, &pl, d);
  if (st) return st;
  PassContext ctx = {.diag = d, .report = report, .data = data, .out_dir = out_dir};
  st = pass_pipeline_run(pl, g, &ctx);
  pass_pipeline_free(pl);
  return st;
}

/* The histogram part of a summary report. */
static const char *histogram_of(const char *report) {
  const char *h = strstr(report, "Quantized graph histogram:\n");
  assert_non_null(h);
  return h + strlen("Quantized graph histogram:\n");
}

/* ---- summarize-quant ---- */

static void summary_of_example(const char *name, const char *histogram) {
  Program *prog;
  Graph *g = load_example(name, &prog);
  quantize_like_lab(g);
  StrBuf r;
  sb_init(&r);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(run(g, "summarize-quant", &r, &d, NULL, NULL), JS_OK);
  assert_string_equal(histogram_of(sb_str(&r)), histogram);
  char golden[64];
  snprintf(golden, sizeof golden, "%s.quant_summary.txt", name);
  tl_check_golden(golden, sb_str(&r));
  sb_free(&r);
  diag_free(&d);
  ir_program_free(prog);
}

static void test_tiny_matches_lab(void **state) {
  (void)state;
  summary_of_example("jsc_tiny", tiny_histogram);
}

static void test_big_matches_lab(void **state) {
  (void)state;
  summary_of_example("jsc_big", big_histogram);
}

/* One row of the per-node table, each cell padded to its column's width. */
static const char *md_row(const char *const cells[7], const int widths[7]) {
  static char buf[1024];
  size_t n = 0;
  for (int c = 0; c < 7; c++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%-*s", c ? " | " : "| ", widths[c], cells[c]);
  snprintf(buf + n, sizeof buf - n, " |\n");
  return buf;
}

/* The per-node table: pandas' to_markdown layout, MASE's columns, the lab's types. */
static void test_node_table(void **state) {
  (void)state;
  Program *prog;
  Graph *g = load_example("jsc_tiny", &prog);
  quantize_like_lab(g);
  StrBuf r;
  sb_init(&r);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(run(g, "summarize-quant", &r, &d, NULL, NULL), JS_OK);
  const char *s = sb_str(&r);
  assert_true(strncmp(s, "Quantization Summary:\n", 22) == 0);
  /* widths: a column's widest cell or its header + 2: names 12 (seq_blocks_0), MASE_TYPE 19
   * (module_related_func), Mase_OP 12 (batch_norm1d), both types 79 (the BatchNorm repr),
   * Changed 9 */
  static const int w[7] = {12, 12, 19, 12, 79, 79, 9};
  static const char *const head[7] = {"Ori name", "New name", "MASE_TYPE", "Mase_OP", "Original type",
                                      "Quantized type", "Changed"};
  static const char *const bn = "BatchNorm1d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)";
  static const char *const rows[6][7] = {
      {"x", "x", "placeholder", "placeholder", "x", "x", "False"},
      {"seq_blocks_0", "seq_blocks_0", "module", "batch_norm1d", bn, bn, "False"},
      {"seq_blocks_1", "seq_blocks_1", "module_related_func", "relu", "ReLU(inplace=True)", "ReLU(inplace=True)",
       "False"},
      {"seq_blocks_2", "seq_blocks_2", "module_related_func", "linear",
       "Linear(in_features=16, out_features=5, bias=True)", "LinearInteger(in_features=16, out_features=5, bias=True)",
       "True"},
      {"seq_blocks_3", "seq_blocks_3", "module_related_func", "relu", "ReLU(inplace=True)", "ReLU(inplace=True)",
       "False"},
      {"output", "output", "output", "output", "output", "output", "False"},
  };
  StrBuf want;
  sb_init(&want);
  sb_puts(&want, "Quantization Summary:\n");
  sb_puts(&want, md_row(head, w));
  for (int c = 0; c < 7; c++) {
    sb_puts(&want, "|:");
    for (int k = 0; k <= w[c]; k++) sb_putc(&want, '-');
  }
  sb_puts(&want, "|\n");
  for (int i = 0; i < 6; i++) sb_puts(&want, md_row(rows[i], w));
  sb_puts(&want, "Quantized graph histogram:\n");
  sb_puts(&want, tiny_histogram);
  assert_string_equal(s, sb_str(&want));
  sb_free(&want);
  sb_free(&r);
  diag_free(&d);
  ir_program_free(prog);
}

/* ReLU, BatchNorm1d and function calls quantized; a bypassed node counts as unchanged. */
static void test_other_ops_and_bypass(void **state) {
  (void)state;
  Program *prog;
  Graph *g = load_example("jsc_tiny", &prog);
  for (Node *n = g->first; n; n = n->next) {
    if (strcmp(n->name, "seq_blocks_0") == 0) set_integer(n, true, false);
    if (strcmp(n->name, "seq_blocks_1") == 0) set_integer(n, false, false);
    if (strcmp(n->name, "seq_blocks_2") == 0) set_integer(n, true, true); /* bypass */
  }
  StrBuf r;
  sb_init(&r);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(run(g, "summarize-quant", &r, &d, NULL, NULL), JS_OK);
  const char *s = sb_str(&r);
  /* the quantized BatchNorm's repr (86) is the widest type */
  static const int w[7] = {12, 12, 19, 12, 79, 86, 9};
  static const char *const bn = "BatchNorm1d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)";
  static const char *const rows[3][7] = {
      {"seq_blocks_0", "seq_blocks_0", "module", "batch_norm1d", bn,
       "BatchNorm1dInteger(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)", "True"},
      {"seq_blocks_1", "seq_blocks_1", "module_related_func", "relu", "ReLU(inplace=True)",
       "ReLUInteger(inplace=True)", "True"},
      {"seq_blocks_2", "seq_blocks_2", "module_related_func", "linear",
       "Linear(in_features=16, out_features=5, bias=True)", "Linear(in_features=16, out_features=5, bias=True)",
       "False"},
  };
  for (int i = 0; i < 3; i++) assert_contains(s, md_row(rows[i], w));
  assert_contains(histogram_of(s), "| BatchNorm1d     | batch_norm1d |       1 |         1 |           0 |\n"
                                   "| Linear          | linear       |       1 |         0 |           1 |\n"
                                   "| ReLU            | relu         |       2 |         1 |           1 |\n");
  sb_free(&r);
  ir_program_free(prog);

  /* add(%x, %x) twice, the second quantized: add_integer, both grouped under "add" */
  g = ir_graph_new("fn");
  Node *x = th_input(g, "x", "f32[B,4]");
  Value a2[] = {val_node(x), val_node(x)};
  Node *s1 = th_node(g, OP_CALL_FUNCTION, "add", 2, a2);
  Value b2[] = {val_node(s1), val_node(x)};
  Node *s2 = th_node(g, OP_CALL_FUNCTION, "add", 2, b2);
  th_output(g, s2);
  set_integer(s2, false, false);
  sb_init(&r);
  assert_int_equal(run(g, "summarize-quant", &r, &d, NULL, NULL), JS_OK);
  s = sb_str(&r);
  static const int fw[7] = {10, 10, 12, 11, 15, 16, 9};
  static const char *const frows[2][7] = {
      {"add", "add", "builtin_func", "add", "add", "add", "False"},
      {"add_1", "add_1", "builtin_func", "add", "add", "add_integer", "True"},
  };
  for (int i = 0; i < 2; i++) assert_contains(s, md_row(frows[i], fw));
  assert_string_equal(histogram_of(s), "| Original type   | OP          |   Total |   Changed |   Unchanged |\n"
                                       "|-----------------+-------------+---------+-----------+-------------|\n"
                                       "| add             | add         |       2 |         1 |           1 |\n"
                                       "| output          | output      |       1 |         0 |           1 |\n"
                                       "| x               | placeholder |       1 |         0 |           1 |\n");
  sb_free(&r);
  diag_free(&d);
  ir_graph_free(g);
}

/* save_dir and the tool's output directory: both CSVs, read back. */
static void test_csv(void **state) {
  (void)state;
  char tmpl[] = "/tmp/jscc_summary_XXXXXX";
  char *dir = mkdtemp(tmpl);
  assert_non_null(dir);
  Program *prog;
  Graph *g = load_example("jsc_tiny", &prog);
  quantize_like_lab(g);
  Diag d;
  diag_init(&d, NULL); /* errors expected: checked in d.text */
  StrBuf r;
  sb_init(&r);
  char pipeline[600], path[600];
  /* a directory that does not exist yet is made, as MASE's os.makedirs */
  snprintf(pipeline, sizeof pipeline, "summarize-quant{save_dir='%s/a/b'}", dir);
  assert_int_equal(run(g, pipeline, &r, &d, NULL, NULL), JS_OK);
  static const char table[] =
      ",Ori name,New name,MASE_TYPE,Mase_OP,Original type,Quantized type,Changed\n"
      "0,x,x,placeholder,placeholder,x,x,False\n"
      "1,seq_blocks_0,seq_blocks_0,module,batch_norm1d,\"BatchNorm1d(16, eps=1e-05, momentum=0.1, affine=True, "
      "track_running_stats=True)\",\"BatchNorm1d(16, eps=1e-05, momentum=0.1, affine=True, "
      "track_running_stats=True)\",False\n"
      "2,seq_blocks_1,seq_blocks_1,module_related_func,relu,ReLU(inplace=True),ReLU(inplace=True),False\n"
      "3,seq_blocks_2,seq_blocks_2,module_related_func,linear,\"Linear(in_features=16, out_features=5, "
      "bias=True)\",\"LinearInteger(in_features=16, out_features=5, bias=True)\",True\n"
      "4,seq_blocks_3,seq_blocks_3,module_related_func,relu,ReLU(inplace=True),ReLU(inplace=True),False\n"
      "5,output,output,output,output,output,output,False\n";
  static const char hist[] = "Original type,OP,Total,Changed,Unchanged\n"
                             "BatchNorm1d,batch_norm1d,1,0,1\n"
                             "Linear,linear,1,1,0\n"
                             "ReLU,relu,2,0,2\n"
                             "output,output,1,0,1\n"
                             "x,placeholder,1,0,1\n";
  snprintf(path, sizeof path, "%s/a/b/quantize_table.csv", dir);
  char *t = tl_read(path, NULL);
  assert_non_null(t);
  assert_string_equal(t, table);
  free(t);
  assert_int_equal(unlink(path), 0);
  snprintf(path, sizeof path, "%s/a/b/quantize_histogram.csv", dir);
  t = tl_read(path, NULL);
  assert_non_null(t);
  assert_string_equal(t, hist);
  free(t);
  assert_int_equal(unlink(path), 0);
  snprintf(path, sizeof path, "%s/a/b", dir);
  assert_int_equal(rmdir(path), 0);
  snprintf(path, sizeof path, "%s/a", dir);
  assert_int_equal(rmdir(path), 0);

  /* no save_dir: the tool's output directory */
  assert_int_equal(run(g, "summarize-quant", &r, &d, NULL, dir), JS_OK);
  snprintf(path, sizeof path, "%s/quantize_histogram.csv", dir);
  t = tl_read(path, NULL);
  assert_non_null(t);
  assert_string_equal(t, hist);
  free(t);
  assert_int_equal(unlink(path), 0);
  snprintf(path, sizeof path, "%s/quantize_table.csv", dir);
  assert_int_equal(unlink(path), 0);

  /* neither: no files */
  assert_int_equal(run(g, "summarize-quant", &r, &d, NULL, NULL), JS_OK);
  snprintf(path, sizeof path, "%s/quantize_table.csv", dir);
  assert_int_equal(access(path, F_OK), -1);

  /* an unwritable directory is an error naming it */
  snprintf(path, sizeof path, "%s/file", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
  snprintf(pipeline, sizeof pipeline, "summarize-quant{save_dir='%s/file/sub'}", dir);
  assert_int_not_equal(run(g, pipeline, &r, &d, NULL, NULL), JS_OK);
  assert_contains(sb_str(&d.text), "summarize-quant: cannot create the directory");
  assert_int_equal(unlink(path), 0);
  assert_int_equal(rmdir(dir), 0);
  sb_free(&r);
  diag_free(&d);
  ir_program_free(prog);
}

/* ---- report-weights ---- */

/* Weights by qualified name. */
typedef struct Weights {
  const char *names[8];
  const float *vals[8];
} Weights;

static const float *weights_param(void *ud, const Param *p) {
  const Weights *w = ud;
  for (int i = 0; i < 8 && w->names[i]; i++)
    if (strcmp(w->names[i], p->qualname) == 0) return w->vals[i];
  return NULL;
}

static const float lin_w[8] = {0.1749f, 0.09375f, 0.15625f, 0.03125f, 9.0f, -10.0f, -8.0f, 7.9375f};
static const float lin_b[2] = {0.03f, -0.2f};

static void test_report_weights_linear(void **state) {
  (void)state;
  Graph *g = th_build_seq("t", 4, "L4,2 ReLU");
  set_integer(g->first->next, true, false);
  Weights w = {{"seq_blocks.0.weight", "seq_blocks.0.bias"}, {lin_w, lin_b}};
  PassData data = {.ud = &w, .param = weights_param};
  StrBuf r;
  sb_init(&r);
  Diag d;
  diag_init(&d, NULL); /* errors expected: checked in d.text */
  assert_int_equal(run(g, "report-weights", &r, &d, &data, NULL), JS_OK);
  assert_string_equal(
      sb_str(&r),
      "Weights of t, float and quantized (values to 4 decimals):\n"
      "seq_blocks_0: LinearInteger(in_features=4, out_features=2, bias=True)\n"
      "  weight f32[2,4] as fixed[8,4], codes -128..127: 8 values, 6 changed; |error| max 2, mean 0.3961; saturated: "
      "1 below -8.0, 1 above 7.9375\n"
      "    [0, 0:4]  float   0.1749   0.0938   0.1562   0.0312\n"
      "              quant   0.1875   0.1250   0.1250   0.0000\n"
      "              code         3        2        2        0\n"
      "    [1, 0:4]  float   9.0000 -10.0000  -8.0000   7.9375\n"
      "              quant   7.9375  -8.0000  -8.0000   7.9375\n"
      "              code       127     -128     -128      127\n"
      "  bias f32[2] as fixed[8,4], codes -128..127: 2 values, 2 changed; |error| max 0.03, mean 0.02125; saturated: 0 "
      "below -8.0, 0 above 7.9375\n"
      "    [0:2]  float  0.0300 -0.2000\n"
      "           quant  0.0000 -0.1875\n"
      "           code        0      -3\n");

  /* max_rows and nodes; the file option */
  char tmpl[] = "/tmp/jscc_weights_XXXXXX";
  char *dir = mkdtemp(tmpl);
  assert_non_null(dir);
  char pipeline[400], path[300];
  snprintf(path, sizeof path, "%s/w.txt", dir);
  snprintf(pipeline, sizeof pipeline, "report-weights{nodes=' seq_blocks_0 ', max_rows=1, file='%s'}", path);
  sb_clear(&r);
  assert_int_equal(run(g, pipeline, &r, &d, &data, NULL), JS_OK);
  assert_contains(sb_str(&r), "              code         3        2        2        0\n    ... 1 more row\n  bias");
  char *t = tl_read(path, NULL);
  assert_non_null(t);
  assert_string_equal(t, sb_str(&r));
  free(t);
  assert_int_equal(unlink(path), 0);
  assert_int_equal(rmdir(dir), 0);
  sb_clear(&r);
  assert_int_equal(run(g, "report-weights{max_rows=0}", &r, &d, &data, NULL), JS_OK);
  assert_null(strstr(sb_str(&r), "[0, 0:4]"));
  assert_contains(sb_str(&r), "8 values, 6 changed");

  /* unknown and unquantized nodes, missing weights */
  assert_int_equal(run(g, "report-weights{nodes='seq_blocks_0,seq_block_1'}", &r, &d, &data, NULL), JS_ERR);
  assert_contains(sb_str(&d.text), "report-weights: no node named 'seq_block_1' (did you mean 'seq_blocks_1'?); "
                                   "quantized nodes with weights: seq_blocks_0");
  assert_int_equal(run(g, "report-weights{nodes=seq_blocks_1}", &r, &d, &data, NULL), JS_ERR);
  assert_contains(sb_str(&d.text), "report-weights: no quantized weights in node 'seq_blocks_1'");
  assert_int_equal(run(g, "report-weights", &r, &d, NULL, NULL), JS_ERR);
  assert_contains(sb_str(&d.text), "report-weights needs weights (jscc ... --ckpt FILE)");
  Weights none = {{NULL}, {NULL}};
  PassData empty = {.ud = &none, .param = weights_param};
  assert_int_equal(run(g, "report-weights", &r, &d, &empty, NULL), JS_ERR);
  assert_contains(sb_str(&d.text), "none loaded for 'seq_blocks.0.weight'");
  sb_free(&r);
  diag_free(&d);
  ir_graph_free(g);
}

/* BatchNorm1d: the folded s and t are what its formats quantize. */
static void test_report_weights_batch_norm(void **state) {
  (void)state;
  Graph *g = th_build_seq("bn", 2, "BN2");
  set_integer(g->first->next, true, false);
  static const float bw[2] = {2, 1}, bb[2] = {0.5f, 0}, bm[2] = {1, -1}, bv[2] = {3, 0.25f};
  Weights w = {{"seq_blocks.0.weight", "seq_blocks.0.bias", "seq_blocks.0.running_mean", "seq_blocks.0.running_var"},
               {bw, bb, bm, bv}};
  PassData data = {.ud = &w, .param = weights_param};
  StrBuf r;
  sb_init(&r);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(run(g, "report-weights", &r, &d, &data, NULL), JS_OK);
  /* s = 2/sqrt(3 + 1e-5) = 1.15470 -> 18/16, 1/sqrt(0.25 + 1e-5) = 1.99996 -> 32/16;
   * t = 0.5 - 1 * s = -0.65470 -> -10/16, 0 - (-1) * 1.99996 -> 32/16 */
  assert_contains(sb_str(&r), "seq_blocks_0: BatchNorm1dInteger(2, eps=1e-05, momentum=0.1, affine=True, "
                              "track_running_stats=True)\n"
                              "  weight: s = weight / sqrt(running_var + eps) f32[2] as fixed[8,4], codes -128..127: 2 "
                              "values, 2 changed;");
  assert_contains(sb_str(&r), "    [0:2]  float 1.1547 2.0000\n"
                              "           quant 1.1250 2.0000\n"
                              "           code      18     32\n"
                              "  bias: t = bias - running_mean * s f32[2] as fixed[8,4]");
  assert_contains(sb_str(&r), "    [0:2]  float -0.6547  2.0000\n"
                              "           quant -0.6250  2.0000\n"
                              "           code      -10      32\n");
  sb_free(&r);
  diag_free(&d);
  ir_graph_free(g);
}

/* linear(%x, %w) as a function call: the weight get_attr reads, no bias. */
static void test_report_weights_function(void **state) {
  (void)state;
  Graph *g = ir_graph_new("fl");
  Node *x = th_input(g, "x", "f32[B,4]");
  TensorType t = th_type(g, "f32[2,4]");
  assert_non_null(ir_param_new(g, g->root, "w", PK_PARAM, &t, (Init){.kind = INIT_ZEROS}, (SrcLoc){0}));
  Node *wn = th_node(g, OP_GET_ATTR, "w", 0, NULL);
  Value args[] = {val_node(x), val_node(wn)};
  Node *lin = th_node(g, OP_CALL_FUNCTION, "linear", 2, args);
  th_output(g, lin);
  set_integer(lin, true, false);
  Weights w = {{"w"}, {lin_w}};
  PassData data = {.ud = &w, .param = weights_param};
  StrBuf r;
  sb_init(&r);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(run(g, "report-weights{max_rows=0}", &r, &d, &data, NULL), JS_OK);
  assert_string_equal(sb_str(&r), "Weights of fl, float and quantized (values to 4 decimals):\n"
                                  "linear: linear_integer\n"
                                  "  weight f32[2,4] as fixed[8,4], codes -128..127: 8 values, 6 changed; |error| max "
                                  "2, mean 0.3961; saturated: 1 below -8.0, 1 above 7.9375\n"
                                  "  bias: none\n");
  sb_free(&r);
  diag_free(&d);
  ir_graph_free(g);
}

/* No quantized node: says so (not an error). */
static void test_report_weights_nothing(void **state) {
  (void)state;
  Graph *g = th_build_seq("t", 4, "L4,2");
  Weights w = {{NULL}, {NULL}};
  PassData data = {.ud = &w, .param = weights_param};
  StrBuf r;
  sb_init(&r);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(run(g, "report-weights", &r, &d, &data, NULL), JS_OK);
  assert_contains(sb_str(&r), "no quantized node has a weight or bias format (run quantize first)\n");
  sb_free(&r);
  diag_free(&d);
  ir_graph_free(g);
}

/* Every allocation of both passes failed in turn: reported as an error, never a crash (the
 * ASan build checks that nothing leaks). */
static void test_out_of_memory(void **state) {
  (void)state;
  char tmpl[] = "/tmp/jscc_summary_oom_XXXXXX";
  char *dir = mkdtemp(tmpl);
  assert_non_null(dir);
  Graph *g = th_build_seq("t", 4, "BN4 ReLU L4,2 ReLU");
  for (Node *n = g->first; n; n = n->next)
    if (n->mop == MOP_LINEAR || n->mop == MOP_BATCH_NORM1D) set_integer(n, true, false);
  static const float v[8] = {0.1f, -0.2f, 0.3f, 1, 1, 1, 1, 1};
  Weights w = {{"seq_blocks.0.weight", "seq_blocks.0.bias", "seq_blocks.0.running_mean", "seq_blocks.0.running_var",
                "seq_blocks.2.weight", "seq_blocks.2.bias"},
               {v, v, v, v + 4, v, v}};
  PassData data = {.ud = &w, .param = weights_param};
  char pipeline[200];
  snprintf(pipeline, sizeof pipeline, "summarize-quant{save_dir='%s'},report-weights", dir);
  Pipeline *pl;
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(pass_pipeline_parse(pipeline, &pl, &d), JS_OK);
  long n = 0;
  for (;; n++) {
    StrBuf r;
    sb_init(&r);
    PassContext ctx = {.diag = &d, .report = &r, .data = &data};
    FailNth h;
    fail_nth_install(&h, n);
    Status st = pass_pipeline_run(pl, g, &ctx);
    ir_set_alloc_hook(NULL, NULL);
    sb_free(&r);
    if (h.calls <= n) {
      assert_int_equal(st, JS_OK);
      break;
    }
    if (st == JS_OK) fail_msg("allocation %ld failed but the run succeeded", n);
  }
  assert_true(n > 10);
  pass_pipeline_free(pl);
  diag_free(&d);
  ir_graph_free(g);
  char path[300];
  snprintf(path, sizeof path, "%s/quantize_table.csv", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/quantize_histogram.csv", dir);
  unlink(path);
  assert_int_equal(rmdir(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tiny_matches_lab),
      cmocka_unit_test(test_big_matches_lab),
      cmocka_unit_test(test_node_table),
      cmocka_unit_test(test_other_ops_and_bypass),
      cmocka_unit_test(test_csv),
      cmocka_unit_test(test_report_weights_linear),
      cmocka_unit_test(test_report_weights_batch_norm),
      cmocka_unit_test(test_report_weights_function),
      cmocka_unit_test(test_report_weights_nothing),
      cmocka_unit_test(test_out_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
