/* test_print.c — the printers on hand-built graphs: the text form (exact text), fx's
 * print_tabular view, graphviz (rendered with `dot` when installed) and JSON (checked for
 * structure here; scripts may also run python3 -m json.tool on it). */
#include "helpers.h"

#include <math.h>
#include <stdio.h>

static const char tiny_text[] =
    "# jscc IR\n"
    "model JSC_Tiny {\n"
    "  module seq_blocks : Sequential\n"
    "  module seq_blocks.0 : BatchNorm1d(num_features=16, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)\n"
    "    param seq_blocks.0.weight : f32[16] = ones\n"
    "    param seq_blocks.0.bias : f32[16] = zeros\n"
    "    buffer seq_blocks.0.running_mean : f32[16] = zeros\n"
    "    buffer seq_blocks.0.running_var : f32[16] = ones\n"
    "    buffer seq_blocks.0.num_batches_tracked : i64[] = zeros\n"
    "  module seq_blocks.1 : ReLU(inplace=true)\n"
    "  module seq_blocks.2 : Linear(in_features=16, out_features=5, bias=true)\n"
    "    param seq_blocks.2.weight : f32[5,16] = kaiming_uniform(2.23606797749979)\n"
    "    param seq_blocks.2.bias : f32[5] = uniform(-0.25, 0.25)\n"
    "  module seq_blocks.3 : ReLU(inplace=true)\n"
    "  graph {\n"
    "    %x : f32[B,16] [num_users=1] = placeholder[target=x]\n"
    "    %seq_blocks_0 : f32[B,16] [num_users=1] = call_module[target=seq_blocks.0](args = (%x,))\n"
    "    %seq_blocks_1 : f32[B,16] [num_users=1] = call_module[target=seq_blocks.1](args = (%seq_blocks_0,))\n"
    "    %seq_blocks_2 : f32[B,5] [num_users=1] = call_module[target=seq_blocks.2](args = (%seq_blocks_1,))\n"
    "    %seq_blocks_3 : f32[B,5] [num_users=1] = call_module[target=seq_blocks.3](args = (%seq_blocks_2,))\n"
    "    %output : ? [num_users=0] = output[target=output](args = (%seq_blocks_3,))\n"
    "  }\n"
    "}\n";

static void test_print_tiny(void **state) {
  (void)state;
  Graph *g = build_tiny(NULL);
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(ir_verify(g, &d), JS_OK);
  StrBuf sb;
  sb_init(&sb);
  ir_print_graph(&sb, g);
  assert_str_eq(sb_str(&sb), tiny_text);
  /* one node line, as the issue shows it */
  sb_clear(&sb);
  ir_print_node(&sb, ir_graph_find_node(g, "seq_blocks_2"));
  assert_string_equal(sb_str(&sb), "%seq_blocks_2 : f32[B,5] [num_users=1] = call_module[target=seq_blocks.2](args = (%seq_blocks_1,))");
  sb_free(&sb);
  diag_free(&d);
  ir_graph_free(g);
}

static void test_print_locs_meta(void **state) {
  (void)state;
  Arena *a = arena_new();
  SrcFile *f = diag_src_from_string(a, "examples/jsc_tiny.jsc", "model\n", 6);
  Graph *g = build_tiny(f);
  g->loc = (SrcLoc){f, 1, 1};
  Node *n = ir_graph_find_node(g, "seq_blocks_0");
  assert_int_equal(ir_meta_set(n, "mase_type", val_str("module")), JS_OK);
  assert_int_equal(ir_meta_set(n, "mase_op", val_str("batch_norm1d")), JS_OK);
  /* a root parameter, with its own location */
  TensorType t = tt(DT_F32, g, 1, SZ(5));
  assert_non_null(ir_param_new(g, NULL, "scale", PK_PARAM, &t, (Init){INIT_CONSTANT, {0.5, 0}}, (SrcLoc){f, 2, 3}));
  /* kwargs */
  Node *out = ir_graph_output(g);
  Node *sm = ir_node_new(g, OP_CALL_FUNCTION, "softmax", NULL, out, (SrcLoc){f, 11, 3});
  Value x = val_node(ir_graph_find_node(g, "seq_blocks_3")), one = val_int(1);
  const char *dim[] = {"dim"};
  assert_int_equal(ir_node_set_args(sm, 1, &x, 1, dim, &one), JS_OK);
  Value v = val_node(sm);
  assert_int_equal(ir_node_set_args(out, 1, &v, 0, NULL, NULL), JS_OK);
  StrBuf sb;
  sb_init(&sb);
  ir_print_graph(&sb, g);
  const char *s = sb_str(&sb);
  assert_contains(s, "model JSC_Tiny loc(\"examples/jsc_tiny.jsc\":1:1) {\n"
                     "  param scale : f32[5] = constant(0.5) loc(\"examples/jsc_tiny.jsc\":2:3)\n"
                     "  module seq_blocks : Sequential loc(\"examples/jsc_tiny.jsc\":3:5)\n"
                     "  module seq_blocks.0 : BatchNorm1d(");
  /* a module's parameters share its location, so it is not repeated */
  assert_contains(s, "track_running_stats=true) loc(\"examples/jsc_tiny.jsc\":4:7)\n    param seq_blocks.0.weight : f32[16] = ones\n");
  assert_contains(s, "%seq_blocks_0 : f32[B,16] [num_users=1] = call_module[target=seq_blocks.0](args = (%x,)) "
                     "loc(\"examples/jsc_tiny.jsc\":10:9) !{mase_type=\"module\", mase_op=\"batch_norm1d\"}\n");
  assert_contains(s, "%softmax : ? [num_users=1] = call_function[target=softmax](args = (%seq_blocks_3,), kwargs = {dim=1}) "
                     "loc(\"examples/jsc_tiny.jsc\":11:3)\n");
  sb_free(&sb);
  ir_graph_free(g);
  arena_free(a);
}

static void test_print_program(void **state) {
  (void)state;
  Program *p = ir_program_new();
  assert_int_equal(ir_program_add(p, build_tiny(NULL)), JS_OK);
  Graph *g2 = build_tiny(NULL);
  g2->name = "Other";
  assert_int_equal(ir_program_add(p, g2), JS_OK);
  StrBuf sb;
  sb_init(&sb);
  ir_print_program(&sb, p);
  assert_int_equal(strncmp(sb_str(&sb), "# jscc IR\nmodel JSC_Tiny {\n", 27), 0);
  assert_contains(sb_str(&sb), "  }\n}\n\nmodel Other {\n");
  assert_ptr_equal(ir_program_find(p, "Other"), g2);
  sb_free(&sb);
  ir_program_free(p);
}

static void test_print_table(void **state) {
  (void)state;
  Graph *g = build_tiny(NULL);
  StrBuf sb;
  sb_init(&sb);
  ir_print_table(&sb, g);
  assert_str_eq(sb_str(&sb),
                "# graph JSC_Tiny: fx print_tabular view (for people; not parsed back)\n"
                "opcode       name          target        args             kwargs\n"
                "-----------  ------------  ------------  ---------------  --------\n"
                "placeholder  x             x             ()               {}\n"
                "call_module  seq_blocks_0  seq_blocks.0  (x,)             {}\n"
                "call_module  seq_blocks_1  seq_blocks.1  (seq_blocks_0,)  {}\n"
                "call_module  seq_blocks_2  seq_blocks.2  (seq_blocks_1,)  {}\n"
                "call_module  seq_blocks_3  seq_blocks.3  (seq_blocks_2,)  {}\n"
                "output       output        output        (seq_blocks_3,)  {}\n");
  sb_free(&sb);
  ir_graph_free(g);
}

static void test_print_dot(void **state) {
  (void)state;
  Graph *g = build_tiny(NULL);
  ir_meta_set(g->first, "q", val_str("a\"b"));
  StrBuf sb;
  sb_init(&sb);
  ir_print_dot(&sb, g);
  const char *s = sb_str(&sb);
  assert_contains(s, "digraph \"JSC_Tiny\" {\n");
  assert_contains(s, "  \"seq_blocks_2\" [label=\"seq_blocks.2: Linear(16, 5)\\n[B, 16] \xe2\x86\x92 [B, 5]\"];\n");
  assert_contains(s, "  \"seq_blocks_1\" -> \"seq_blocks_2\";\n");
  assert_contains(s, "  \"seq_blocks_3\" -> \"output\";\n");
  /* render it when graphviz is installed */
  if (system("command -v dot >/dev/null 2>&1") == 0) {
    char path[] = "/tmp/jscc_dot_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *fp = fdopen(fd, "w");
    fputs(s, fp);
    fclose(fp);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "dot -Tsvg %s >/dev/null 2>&1", path);
    int rc = system(cmd);
    remove(path);
    assert_int_equal(rc, 0);
  }
  sb_free(&sb);
  ir_graph_free(g);
}

/* A small structural JSON check: balanced brackets outside strings, valid escapes, no raw
 * control bytes, no bare nan / inf. */
static void check_json(const char *s) {
  char stack[256];
  int depth = 0;
  bool in_str = false;
  for (const char *p = s; *p; p++) {
    if (in_str) {
      assert_true((unsigned char)*p >= 0x20);
      if (*p == '\\') {
        p++;
        assert_non_null(strchr("\"\\/bfnrtu", *p));
      } else if (*p == '"') {
        in_str = false;
      }
      continue;
    }
    switch (*p) {
    case '"': in_str = true; break;
    case '{': case '[': stack[depth++] = *p; assert_true(depth < 256); break;
    case '}': assert_true(depth > 0 && stack[--depth] == '{'); break;
    case ']': assert_true(depth > 0 && stack[--depth] == '['); break;
    case 'n': assert_true(strncmp(p, "nan", 3) != 0); break;
    case 'i': fail_msg("bare word at %.20s", p); break;
    default: break;
    }
  }
  assert_false(in_str);
  assert_int_equal(depth, 0);
}

static void test_print_json(void **state) {
  (void)state;
  Graph *g = build_tiny(NULL);
  Node *x = g->first;
  ir_meta_set(x, "s", val_str("tab\there \"q\" \x01 \xff"));
  ir_meta_set(x, "f", val_float(NAN));
  ir_meta_set(x, "t", val_type(&x->type));
  StrBuf sb;
  sb_init(&sb);
  ir_print_json(&sb, g);
  const char *s = sb_str(&sb);
  check_json(s);
  assert_contains(s, "\"model\": \"JSC_Tiny\"");
  assert_contains(s, "{\"path\": \"seq_blocks.2\", \"class\": \"Linear\", \"args\": {\"in_features\": 16, \"out_features\": 5, \"bias\": true}}");
  assert_contains(s, "{\"qualname\": \"seq_blocks.2.weight\", \"kind\": \"param\", \"dtype\": \"f32\", \"shape\": [5, 16], "
                     "\"init\": {\"kind\": \"kaiming_uniform\", \"args\": [2.23606797749979]}}");
  assert_contains(s, "{\"name\": \"seq_blocks_2\", \"op\": \"call_module\", \"target\": \"seq_blocks.2\", "
                     "\"args\": [{\"node\": \"seq_blocks_1\"}], \"kwargs\": {}, \"users\": [\"seq_blocks_3\"], "
                     "\"type\": {\"dtype\": \"f32\", \"shape\": [\"B\", 5]}, \"loc\": null, \"meta\": null}");
  assert_contains(s, "\"s\": \"tab\\there \\\"q\\\" \\u0001 \\u00ff\"");
  assert_contains(s, "\"f\": \"nan\"");
  sb_free(&sb);
  ir_graph_free(g);
}

static void test_print_empty(void **state) {
  (void)state;
  Graph *g = ir_graph_new("E");
  StrBuf sb;
  sb_init(&sb);
  ir_print_json(&sb, g);
  check_json(sb_str(&sb));
  sb_clear(&sb);
  ir_print_table(&sb, g);
  assert_contains(sb_str(&sb), "opcode    name    target    args    kwargs\n--------  ------  --------  ------  --------\n");
  sb_clear(&sb);
  ir_print_dot(&sb, g);
  assert_contains(sb_str(&sb), "digraph \"E\" {");
  sb_free(&sb);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_print_tiny),  cmocka_unit_test(test_print_locs_meta), cmocka_unit_test(test_print_program),
      cmocka_unit_test(test_print_table), cmocka_unit_test(test_print_dot),       cmocka_unit_test(test_print_json),
      cmocka_unit_test(test_print_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
