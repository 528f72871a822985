/* test_passes.c — each pass over graphs built with the ir.h API: shape on JSC_Tiny/JSC_Big and
 * its error recovery, metadata keys and values, report-graph's exact text, params totals
 * (117 / 1397), dce, verify. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "th.h"

/* Runs a pipeline that must succeed; returns the report (caller frees). */
static char *run_ok(Graph *g, const char *pipeline) {
  Diag d;
  diag_init(&d, NULL);
  StrBuf r;
  sb_init(&r);
  Status st = th_run(g, pipeline, &r, &d);
  if (st) print_error("%s", sb_str(&d.text));
  assert_int_equal(st, JS_OK);
  assert_int_equal(d.nerrors, 0);
  diag_free(&d);
  char *s = strdup(sb_str(&r));
  sb_free(&r);
  return s;
}

static const char *node_type(Graph *g, const char *name) {
  Node *n = ir_graph_find_node(g, name);
  assert_non_null(n);
  assert_true(n->has_type);
  return th_type_str(&n->type);
}

static void test_shape_jsc_tiny(void **state) {
  Graph *g = th_jsc_tiny();
  free(run_ok(g, "shape"));
  assert_string_equal(node_type(g, "x"), "f32[B,16]");
  assert_string_equal(node_type(g, "seq_blocks_0"), "f32[B,16]");
  assert_string_equal(node_type(g, "seq_blocks_1"), "f32[B,16]");
  assert_string_equal(node_type(g, "seq_blocks_2"), "f32[B,5]");
  assert_string_equal(node_type(g, "seq_blocks_3"), "f32[B,5]");
  assert_string_equal(node_type(g, "output"), "f32[B,5]");
  /* the recorded types are what ir_verify expects */
  free(run_ok(g, "verify"));
  ir_graph_free(g);
}

static void test_shape_jsc_big(void **state) {
  Graph *g = th_jsc_big();
  free(run_ok(g, "shape,verify"));
  assert_string_equal(node_type(g, "seq_blocks_2"), "f32[B,32]");
  assert_string_equal(node_type(g, "seq_blocks_5"), "f32[B,16]");
  assert_string_equal(node_type(g, "seq_blocks_8"), "f32[B,8]");
  assert_string_equal(node_type(g, "seq_blocks_11"), "f32[B,5]");
  assert_string_equal(node_type(g, "output"), "f32[B,5]");
  ir_graph_free(g);
}

/* Two independent errors are both reported; what depends on them is skipped silently. */
static void test_shape_reports_every_error(void **state) {
  Graph *g = ir_graph_new("two_errors");
  Node *x = th_input(g, "x", "f32[B,16]");
  th_module(g, NULL, "a", "Linear", 2, (int64_t[]){32, 5});
  th_module(g, NULL, "b", "BatchNorm1d", 1, (int64_t[]){8});
  Value vx = val_node(x);
  Node *a = th_node(g, OP_CALL_MODULE, "a", 1, &vx);
  Node *b = th_node(g, OP_CALL_MODULE, "b", 1, &vx);
  Node *ra = th_node(g, OP_CALL_FUNCTION, "relu", 1, (Value[]){val_node(a)});
  Node *sum = th_node(g, OP_CALL_FUNCTION, "add", 2, (Value[]){val_node(ra), val_node(b)});
  Node *ok = th_node(g, OP_CALL_FUNCTION, "relu", 1, &vx);
  th_node(g, OP_OUTPUT, "output", 1, (Value[]){{.kind = VAL_TUPLE, .u.seq = {2, (Value[]){val_node(sum), val_node(ok)}}}});
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(th_run(g, "shape", NULL, &d), JS_ERR);
  assert_int_equal(d.nerrors, 2);
  assert_string_equal(sb_str(&d.text),
                      "error: Linear(in_features=32, out_features=5) expects 32 input features, got f32[B,16]\n"
                      "error: BatchNorm1d(num_features=8) expects 8 features on dim 1, got f32[B,16]\n"
                      "note: in pass 'shape' (it ran first)\n");
  assert_false(ra->has_type);
  assert_false(sum->has_type);
  assert_true(ok->has_type);
  diag_free(&d);
  ir_graph_free(g);
}

static void test_metadata_jsc_tiny(void **state) {
  Graph *g = th_jsc_tiny();
  free(run_ok(g, "metadata"));
  StrBuf sb;
  sb_init(&sb);
  Node *lin = ir_graph_find_node(g, "seq_blocks_2");
  val_print(&sb, &lin->meta);
  assert_string_equal(
      sb_str(&sb),
      "{mase_type=\"module_related_func\", mase_op=\"linear\", common={args={"
      "data_in_0={type=\"float\", precision=[32], shape=f32[B,16], torch_dtype=\"torch.float32\"}, "
      "weight={type=\"float\", precision=[32], shape=f32[5,16], torch_dtype=\"torch.float32\"}, "
      "bias={type=\"float\", precision=[32], shape=f32[1,5], torch_dtype=\"torch.float32\"}}, "
      "results={data_out_0={type=\"float\", precision=[32], shape=f32[B,5], torch_dtype=\"torch.float32\"}}}, "
      "software={args={data_in_0={stat={}}, weight={stat={}}, bias={stat={}}}, results={data_out_0={stat={}}}}}");
  const char *want_type[] = {"placeholder", "module", "module_related_func", "module_related_func",
                             "module_related_func", "output"};
  const char *want_op[] = {"placeholder", "batch_norm1d", "relu", "linear", "relu", "output"};
  int i = 0;
  for (Node *n = g->first; n; n = n->next, i++) {
    assert_string_equal(ir_meta_get(n, "mase_type")->u.s, want_type[i]);
    assert_string_equal(ir_meta_get(n, "mase_op")->u.s, want_op[i]);
    assert_non_null(ir_meta_get(n, "common"));
    assert_non_null(ir_meta_get(n, "software"));
  }
  /* BatchNorm: config args; software keeps the float buffers, drops num_batches_tracked */
  Node *bn = ir_graph_find_node(g, "seq_blocks_0");
  sb_clear(&sb);
  val_print(&sb, ir_meta_get(bn, "common"));
  assert_contains(sb_str(&sb), "eps={type=\"float\", precision=[32], value=1e-05}, momentum={type=\"float\", "
                               "precision=[32], value=0.1}, affine={type=\"bool\", precision=[1], value=true}");
  assert_contains(sb_str(&sb), "weight={type=\"float\", precision=[32], shape=f32[1,16]");
  assert_null(strstr(sb_str(&sb), "running_mean"));
  sb_clear(&sb);
  val_print(&sb, ir_meta_get(bn, "software"));
  assert_string_equal(sb_str(&sb), "{args={data_in_0={stat={}}, weight={stat={}}, bias={stat={}}, "
                                   "running_mean={stat={}}, running_var={stat={}}}, results={data_out_0={stat={}}}}");
  sb_clear(&sb);
  val_print(&sb, ir_meta_get(ir_graph_find_node(g, "seq_blocks_1"), "common"));
  assert_contains(sb_str(&sb), "inplace={type=\"bool\", precision=[1], value=false}");
  sb_clear(&sb);
  val_print(&sb, ir_meta_get(ir_graph_find_node(g, "output"), "common"));
  assert_string_equal(sb_str(&sb), "{args={data_in_0={type=\"float\", precision=[32], shape=f32[B,5], "
                                   "torch_dtype=\"torch.float32\"}}, results={}}");
  /* deterministic: a second run gives the same metadata */
  sb_clear(&sb);
  val_print(&sb, &lin->meta);
  char *first = strdup(sb_str(&sb));
  free(run_ok(g, "metadata"));
  sb_clear(&sb);
  val_print(&sb, &lin->meta);
  assert_string_equal(sb_str(&sb), first);
  free(first);
  /* without MASE's unsqueeze the bias keeps its shape */
  free(run_ok(g, "metadata{unsqueeze=false}"));
  sb_clear(&sb);
  val_print(&sb, ir_meta_get(lin, "common"));
  assert_contains(sb_str(&sb), "bias={type=\"float\", precision=[32], shape=f32[5],");
  sb_free(&sb);
  ir_graph_free(g);
}

static void test_metadata_functions(void **state) {
  Graph *g = ir_graph_new("fn");
  Node *x = th_input(g, "x", "f32[B,4,4]");
  th_module(g, NULL, "lin", "Linear", 2, (int64_t[]){16, 5});
  Node *v = th_node(g, OP_CALL_METHOD, "view", 3, (Value[]){val_node(x), val_int(-1), val_int(16)});
  Node *w = th_node(g, OP_GET_ATTR, "lin.weight", 0, NULL);
  Node *l = th_node(g, OP_CALL_FUNCTION, "linear", 2, (Value[]){val_node(v), val_node(w)});
  Node *a = th_node(g, OP_CALL_FUNCTION, "add", 2, (Value[]){val_node(l), val_int(2)});
  th_output(g, a);
  free(run_ok(g, "metadata"));
  StrBuf sb;
  sb_init(&sb);
  val_print(&sb, &v->meta);
  assert_contains(sb_str(&sb), "{mase_type=\"implicit_func\", mase_op=\"view\", common={args={data_in_0={type=\"float\", "
                               "precision=[32], shape=f32[B,4,4], torch_dtype=\"torch.float32\"}, size={type=\"integer\", "
                               "precision=[32], value=(-1, 16)}}, results={data_out_0={type=\"float\", precision=[32], "
                               "shape=f32[B,16],");
  sb_clear(&sb);
  val_print(&sb, &w->meta);
  assert_contains(sb_str(&sb), "{mase_type=\"get_attr\", mase_op=\"constant\", common={args={}, results={data_out_0={type="
                               "\"float\", precision=[32], shape=f32[5,16],");
  sb_clear(&sb);
  val_print(&sb, &l->meta);
  assert_contains(sb_str(&sb), "mase_type=\"module_related_func\", mase_op=\"linear\"");
  assert_contains(sb_str(&sb), "weight={type=\"float\", precision=[32], shape=f32[5,16]");
  assert_contains(sb_str(&sb), "software={args={data_in_0={stat={}}, weight={stat={}}}");
  sb_clear(&sb);
  val_print(&sb, ir_meta_get(a, "common"));
  assert_contains(sb_str(&sb), "data_in_1={type=\"integer\", precision=[32], value=2}");
  assert_string_equal(ir_meta_get(a, "mase_type")->u.s, "builtin_func");
  sb_free(&sb);
  ir_graph_free(g);
}

static void test_metadata_needs_types(void **state) {
  Graph *g = th_jsc_tiny();
  Diag d;
  diag_init(&d, NULL);
  PassContext ctx = {.diag = &d};
  /* called directly, without the runner's implicit shape */
  assert_int_equal(pass_metadata(g, NULL, &ctx), JS_ERR);
  assert_contains(sb_str(&d.text), "error: metadata: node 'seq_blocks_0' has no type; the 'shape' pass must run first");
  diag_free(&d);
  ir_graph_free(g);
}

static const char tiny_report[] =
    "Graph Analysis Report\n"
    "graph():\n"
    "    %x : [num_users=1] = placeholder[target=x]\n"
    "    %seq_blocks_0 : [num_users=1] = call_module[target=seq_blocks.0](args = (%x,), kwargs = {})\n"
    "    %seq_blocks_1 : [num_users=1] = call_module[target=seq_blocks.1](args = (%seq_blocks_0,), kwargs = {})\n"
    "    %seq_blocks_2 : [num_users=1] = call_module[target=seq_blocks.2](args = (%seq_blocks_1,), kwargs = {})\n"
    "    %seq_blocks_3 : [num_users=1] = call_module[target=seq_blocks.3](args = (%seq_blocks_2,), kwargs = {})\n"
    "    return seq_blocks_3\n"
    "Network overview:\n"
    "{'placeholder': 1, 'get_attr': 0, 'call_function': 0, 'call_method': 0, 'call_module': 4, 'output': 1}\n"
    "Layer types:\n"
    "[BatchNorm1d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True), ReLU(), "
    "Linear(in_features=16, out_features=5, bias=True), ReLU()]\n";

static void test_report_graph_jsc_tiny(void **state) {
  Graph *g = th_jsc_tiny();
  char *r = run_ok(g, "report-graph");
  assert_string_equal(r, tiny_report);
  free(r);
  /* file=PATH writes the same text */
  char path[] = "/tmp/jscc_report_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  char pipeline[128];
  snprintf(pipeline, sizeof pipeline, "report-graph{file='%s'}", path);
  free(run_ok(g, pipeline));
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  remove(path);
  assert_string_equal(buf, tiny_report);
  /* an unwritable file is an error naming it */
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(th_run(g, "report-graph{file=/nonexistent/dir/r.txt}", NULL, &d), JS_EIO);
  assert_contains(sb_str(&d.text), "error: report-graph: cannot write '/nonexistent/dir/r.txt': No such file or directory\n");
  diag_free(&d);
  ir_graph_free(g);
}

static void test_report_graph_functions(void **state) {
  Graph *g = ir_graph_new("fn");
  Node *x = th_input(g, "x", "f32[B,4,4]");
  Node *v = th_node(g, OP_CALL_METHOD, "view", 3, (Value[]){val_node(x), val_int(-1), val_int(16)});
  const char *kw[] = {"dim"};
  Node *s = th_node_kw(g, OP_CALL_FUNCTION, "softmax", 1, (Value[]){val_node(v)}, 1, kw, (Value[]){val_int(1)});
  th_node(g, OP_OUTPUT, "output", 1, (Value[]){{.kind = VAL_TUPLE, .u.seq = {2, (Value[]){val_node(s), val_node(v)}}}});
  char *r = run_ok(g, "report-graph");
  assert_contains(r, "graph():\n    %x : [num_users=1] = placeholder[target=x]\n"
                     "    %view : [num_users=2] = call_method[target=view](args = (%x, -1, 16), kwargs = {})\n"
                     "    %softmax : [num_users=1] = call_function[target=softmax](args = (%view,), kwargs = {dim: 1})\n"
                     "    return (softmax, view)\n");
  assert_contains(r, "{'placeholder': 1, 'get_attr': 0, 'call_function': 1, 'call_method': 1, 'call_module': 0, 'output': 1}\n"
                     "Layer types:\n[]\n");
  free(r);
  ir_graph_free(g);
}

static const char tiny_params[] =
    "Parameters of 'jsc_tiny' by node:\n"
    "  node          target        class        parameter                         kind    shape    count\n"
    "  seq_blocks_0  seq_blocks.0  BatchNorm1d  seq_blocks.0.weight               param   [16]        16\n"
    "  seq_blocks_0  seq_blocks.0  BatchNorm1d  seq_blocks.0.bias                 param   [16]        16\n"
    "  seq_blocks_0  seq_blocks.0  BatchNorm1d  seq_blocks.0.running_mean         buffer  [16]        16\n"
    "  seq_blocks_0  seq_blocks.0  BatchNorm1d  seq_blocks.0.running_var          buffer  [16]        16\n"
    "  seq_blocks_0  seq_blocks.0  BatchNorm1d  seq_blocks.0.num_batches_tracked  buffer  []           1\n"
    "  seq_blocks_2  seq_blocks.2  Linear       seq_blocks.2.weight               param   [5, 16]     80\n"
    "  seq_blocks_2  seq_blocks.2  Linear       seq_blocks.2.bias                 param   [5]          5\n"
    "Parameters by module (own, not children's):\n"
    "  module        class        params  buffers\n"
    "  seq_blocks    Sequential        0        0\n"
    "  seq_blocks.0  BatchNorm1d      32       33\n"
    "  seq_blocks.1  ReLU              0        0\n"
    "  seq_blocks.2  Linear           85        0\n"
    "  seq_blocks.3  ReLU              0        0\n"
    "Parameters no node uses (counted below, as in a PyTorch state_dict):\n"
    "  (none)\n"
    "Total trainable parameters: 117\n"
    "Total buffer elements: 33\n"
    "Total state_dict tensors: 7 (4 parameters, 3 buffers)\n";

static void test_params(void **state) {
  Graph *g = th_jsc_tiny();
  char *r = run_ok(g, "params");
  assert_string_equal(r, tiny_params);
  free(r);
  ir_graph_free(g);
  g = th_jsc_big();
  r = run_ok(g, "params");
  assert_contains(r, "\nTotal trainable parameters: 1397\n");
  assert_contains(r, "\nTotal buffer elements: 148\n"); /* 2*(16+32+16+8) running stats + 4 counters */
  free(r);
  ir_graph_free(g);
}

/* A module nobody calls still counts; a get_attr row names the parameter it reads. */
static void test_params_unused_and_get_attr(void **state) {
  Graph *g = th_jsc_tiny();
  th_module(g, NULL, "spare", "Linear", 2, (int64_t[]){4, 2});
  Node *w = ir_node_new(g, OP_GET_ATTR, "seq_blocks.2.weight", NULL, g->first->next, (SrcLoc){0});
  assert_non_null(w);
  char *r = run_ok(g, "params");
  assert_contains(r, "  seq_blocks_2_weight  seq_blocks.2.weight  Linear       seq_blocks.2.weight");
  assert_contains(r, "Parameters no node uses (counted below, as in a PyTorch state_dict):\n"
                     "  node  target  class   parameter     kind   shape   count\n"
                     "  -     spare   Linear  spare.weight  param  [2, 4]      8\n"
                     "  -     spare   Linear  spare.bias    param  [2]         2\n");
  assert_contains(r, "Total trainable parameters: 127\n");
  free(r);
  ir_graph_free(g);
}

static void test_dce(void **state) {
  Graph *g = ir_graph_new("dce");
  Node *x = th_input(g, "x", "f32[B,16]");
  Node *unused_in = th_input(g, "y", "f32[B,16]");
  Node *d1 = th_node(g, OP_CALL_FUNCTION, "relu", 1, (Value[]){val_node(x)});
  Node *d2 = th_node(g, OP_CALL_FUNCTION, "neg", 1, (Value[]){val_node(d1)});
  th_node(g, OP_CALL_FUNCTION, "add", 2, (Value[]){val_node(d2), val_node(d1)}); /* dead chain head */
  Node *k = th_node(g, OP_CALL_FUNCTION, "relu", 1, (Value[]){val_node(x)});
  Node *k2 = th_node(g, OP_CALL_FUNCTION, "sigmoid", 1, (Value[]){val_node(k)});
  th_output(g, k2);
  assert_int_equal(g->nnodes, 8);
  char *r = run_ok(g, "shape,dce{verbose=true},verify");
  assert_string_equal(r, "dce: removed 3 nodes from 'dce': add, neg, relu\n");
  free(r);
  assert_int_equal(g->nnodes, 5);
  assert_null(ir_graph_find_node(g, "relu"));
  assert_null(ir_graph_find_node(g, "neg"));
  assert_ptr_equal(ir_graph_find_node(g, "y"), unused_in); /* placeholders stay */
  assert_ptr_equal(ir_graph_find_node(g, "relu_1"), k);
  assert_int_equal(x->nusers, 1);
  assert_int_equal(k2->index, 3);
  /* a fixed point: nothing more to remove; silent without verbose */
  r = run_ok(g, "dce{verbose=true},dce");
  assert_string_equal(r, "dce: removed 0 nodes from 'dce'\n");
  free(r);
  assert_int_equal(g->nnodes, 5);
  /* the core refuses to erase a node with users */
  assert_int_equal(ir_node_erase(k), JS_EUSAGE);
  assert_int_equal(g->nnodes, 5);
  ir_graph_free(g);
}

/* A metadata mention is not a use: dce removes the node and the mention becomes None, so the
 * graph still verifies (it failed 'verify' after 'dce' before). */
static void test_dce_metadata_mention(void **state) {
  Graph *g = ir_graph_new("dce_meta");
  Node *x = th_input(g, "x", "f32[B,4]");
  Node *dead = th_node(g, OP_CALL_FUNCTION, "relu", 1, (Value[]){val_node(x)});
  Node *live = th_node(g, OP_CALL_FUNCTION, "neg", 1, (Value[]){val_node(x)});
  Value peers[2] = {val_node(dead), val_node(x)};
  Value list = {.kind = VAL_LIST, .u.seq = {2, peers}};
  assert_int_equal(ir_meta_set(live, "peers", list), JS_OK);
  th_output(g, live);
  free(run_ok(g, "dce,verify"));
  assert_null(ir_graph_find_node(g, "relu"));
  const Value *m = ir_meta_get(live, "peers");
  assert_int_equal(m->u.seq.items[0].kind, VAL_NONE);
  assert_ptr_equal(m->u.seq.items[1].u.node, x);
  ir_graph_free(g);
}

static void test_dce_keeps_jsc_tiny(void **state) {
  Graph *g = th_jsc_tiny();
  free(run_ok(g, "dce"));
  assert_int_equal(g->nnodes, 6);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shape_jsc_tiny),
      cmocka_unit_test(test_shape_jsc_big),
      cmocka_unit_test(test_shape_reports_every_error),
      cmocka_unit_test(test_metadata_jsc_tiny),
      cmocka_unit_test(test_metadata_functions),
      cmocka_unit_test(test_metadata_needs_types),
      cmocka_unit_test(test_report_graph_jsc_tiny),
      cmocka_unit_test(test_report_graph_functions),
      cmocka_unit_test(test_params),
      cmocka_unit_test(test_dce_metadata_mention),
      cmocka_unit_test(test_params_unused_and_get_attr),
      cmocka_unit_test(test_dce),
      cmocka_unit_test(test_dce_keeps_jsc_tiny),
  };
  return cmocka_run_group_tests_name("passes", tests, NULL, NULL);
}
