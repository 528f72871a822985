/* test_verify.c — ir_verify catches each broken invariant: a correct jsc-tiny graph is
 * poked into shape after shape, and each time the error must name the node. */
#include "helpers.h"

typedef void (*Poke)(Graph *g);

static Node *N(Graph *g, const char *name) {
  Node *n = ir_graph_find_node(g, name);
  assert_non_null(n);
  return n;
}

static void set1(Node *n, Node *arg) {
  Value v = val_node(arg);
  assert_int_equal(ir_node_set_args(n, 1, &v, 0, NULL, NULL), JS_OK);
}

static void p_foreign_arg(Graph *g) {
  static Node ghost = {.name = "ghost", .op = OP_PLACEHOLDER};
  N(g, "seq_blocks_0")->args[0] = val_node(&ghost); /* behind set_args' back */
}
static void p_use_before_def(Graph *g) { set1(N(g, "seq_blocks_0"), N(g, "seq_blocks_2")); }
static void p_dup_name(Graph *g) { N(g, "seq_blocks_1")->name = "seq_blocks_0"; }
static void p_bad_name(Graph *g) {
  Node *n = N(g, "seq_blocks_1");
  strmap_del(&g->node_names, n->name);
  n->name = "a-b";
  strmap_put(&g->node_names, n->name, n);
}
static void p_users_short(Graph *g) { N(g, "x")->nusers = 0; }
static void p_users_extra(Graph *g) {
  Node *x = N(g, "x");
  x->users[0] = N(g, "seq_blocks_3"); /* right count, wrong user */
}
static void p_no_output(Graph *g) { assert_int_equal(ir_node_erase(ir_graph_output(g)), JS_OK); }
static void p_output_not_last(Graph *g) {
  Node *r = ir_node_new(g, OP_CALL_FUNCTION, "relu", NULL, NULL, (SrcLoc){0});
  set1(r, N(g, "x"));
}
static void p_two_outputs(Graph *g) {
  Node *o = ir_node_new(g, OP_OUTPUT, "output", "output_1", ir_graph_output(g), (SrcLoc){0});
  set1(o, N(g, "x"));
}
static void p_late_placeholder(Graph *g) { ir_node_new(g, OP_PLACEHOLDER, "y", NULL, ir_graph_output(g), (SrcLoc){0}); }
static void p_call_sequential(Graph *g) {
  Node *n = ir_node_new(g, OP_CALL_MODULE, "seq_blocks", NULL, ir_graph_output(g), (SrcLoc){0});
  set1(n, N(g, "x"));
}
static void p_bad_get_attr(Graph *g) {
  Node *n = ir_node_new(g, OP_GET_ATTR, "seq_blocks.2.weight", NULL, ir_graph_output(g), (SrcLoc){0});
  n->target = "seq_blocks.2.wieght";
}
static void p_unknown_function(Graph *g) {
  Node *n = ir_node_new(g, OP_CALL_FUNCTION, "relu", NULL, ir_graph_output(g), (SrcLoc){0});
  set1(n, N(g, "x"));
  n->target = "rleu";
}
static void p_not_a_method(Graph *g) {
  Node *n = ir_node_new(g, OP_CALL_METHOD, "linear", NULL, ir_graph_output(g), (SrcLoc){0});
  set1(n, N(g, "x"));
}
static void p_arity(Graph *g) {
  Node *n = ir_node_new(g, OP_CALL_FUNCTION, "relu", NULL, ir_graph_output(g), (SrcLoc){0});
  Value a[2] = {val_node(N(g, "x")), val_node(N(g, "x"))};
  assert_int_equal(ir_node_set_args(n, 2, a, 0, NULL, NULL), JS_OK);
}
static void p_bad_kwarg(Graph *g) {
  Node *n = ir_node_new(g, OP_CALL_FUNCTION, "softmax", NULL, ir_graph_output(g), (SrcLoc){0});
  Value x = val_node(N(g, "x")), one = val_int(1);
  const char *k[] = {"dmi"};
  assert_int_equal(ir_node_set_args(n, 1, &x, 1, k, &one), JS_OK);
}
static void p_module_two_args(Graph *g) {
  Value a[2] = {val_node(N(g, "x")), val_int(3)};
  assert_int_equal(ir_node_set_args(N(g, "seq_blocks_0"), 2, a, 0, NULL, NULL), JS_OK);
}
static void p_wrong_type(Graph *g) { N(g, "seq_blocks_2")->type.dims[1].size = 7; }
static void p_cycle(Graph *g) { N(g, "seq_blocks_3")->next = N(g, "seq_blocks_1"); }
static void p_count(Graph *g) { g->nnodes = 9; }
static void p_output_args(Graph *g) {
  Value a[2] = {val_node(N(g, "x")), val_node(N(g, "seq_blocks_3"))};
  assert_int_equal(ir_node_set_args(ir_graph_output(g), 2, a, 0, NULL, NULL), JS_OK);
}
static void p_meta_ghost(Graph *g) {
  static Node ghost = {.name = "ghost"};
  N(g, "x")->meta = val_none();
  assert_int_equal(ir_meta_set(N(g, "x"), "m", val_node(&ghost)), JS_OK);
}
static void p_meta_not_dict(Graph *g) { N(g, "x")->meta = val_int(3); }
static void p_module_mop(Graph *g) { N(g, "seq_blocks_0")->mop = MOP_RELU; }

static const struct {
  const char *name;
  Poke poke;
  const char *want; /* substring of the first message */
} cases[] = {
    {"foreign arg", p_foreign_arg, "%seq_blocks_0: uses a node that is not in the graph (%ghost)"},
    {"use before def", p_use_before_def, "%seq_blocks_0: uses %seq_blocks_2 before its definition"},
    {"duplicate name", p_dup_name, "%seq_blocks_0: duplicate node name"},
    {"bad name", p_bad_name, "node name 'a-b' is not made of letters, digits and '_'"},
    {"users short", p_users_short, "%x: its users list (0 nodes) does not match the 1 node whose arguments use it"},
    {"users wrong", p_users_extra, "%x: its users list (1 node) does not match"},
    {"no output", p_no_output, "graph 'JSC_Tiny' has no output node"},
    {"output not last", p_output_not_last, "%output: the output node is not the last node"},
    {"two outputs", p_two_outputs, "%output: a second output node"},
    {"late placeholder", p_late_placeholder, "%y: placeholder after the non-placeholder %seq_blocks_0"},
    {"call Sequential", p_call_sequential, "%seq_blocks: module 'seq_blocks' is a Sequential, a container that cannot be called"},
    {"bad get_attr", p_bad_get_attr, "get_attr target 'seq_blocks.2.wieght' is not a parameter or buffer"},
    {"unknown function", p_unknown_function, "%relu: unknown function 'rleu'"},
    {"not a method", p_not_a_method, "%linear: unknown method 'linear'"},
    {"arity", p_arity, "%relu: relu() takes at most 1 positional argument (input), got 2"},
    {"bad kwarg", p_bad_kwarg, "%softmax: softmax() got an unknown keyword argument 'dmi' (did you mean 'dim'?)"},
    {"module call arity", p_module_two_args, "%seq_blocks_0: BatchNorm1d() takes at most 1 positional argument (input), got 2"},
    {"wrong type", p_wrong_type, "%seq_blocks_2: recorded type f32[B,7] differs from the inferred type f32[B,5]"},
    {"cycle", p_cycle, "%seq_blocks_1: "},
    {"count", p_count, "graph 'JSC_Tiny' counts 9 nodes but its list holds 6"},
    {"output args", p_output_args, "%output: the output node takes exactly one argument, got 2"},
    {"meta ghost", p_meta_ghost, "%x: metadata mentions a node that is not in the graph (%ghost)"},
    {"meta not dict", p_meta_not_dict, "%x: metadata is not a dict"},
    {"module op", p_module_mop, "%seq_blocks_0: its operator does not match module 'seq_blocks.0' (BatchNorm1d)"},
};

static void test_verify_ok(void **state) {
  (void)state;
  Graph *g = build_tiny(NULL);
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(ir_verify(g, &d), JS_OK);
  assert_int_equal(d.nerrors, 0);
  /* untyped nodes are not type-checked */
  N(g, "seq_blocks_2")->has_type = false;
  assert_int_equal(ir_verify(g, &d), JS_OK);
  diag_free(&d);
  ir_graph_free(g);
}

static void test_verify_catches(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    Graph *g = build_tiny(NULL);
    cases[i].poke(g);
    Diag d;
    diag_init(&d, NULL);
    Status st = ir_verify(g, &d);
    if (st != JS_ERR) fail_msg("%s: not caught", cases[i].name);
    if (!strstr(sb_str(&d.text), cases[i].want))
      fail_msg("%s: want\n%s\ngot\n%s", cases[i].name, cases[i].want, sb_str(&d.text));
    diag_free(&d);
    ir_graph_free(g);
  }
}

/* Errors are located at the node and every problem is reported, up to the cap. */
static void test_verify_located_and_capped(void **state) {
  (void)state;
  Arena *a = arena_new();
  const char *src = "l1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\nl10 relu(x)\n";
  SrcFile *f = diag_src_from_string(a, "v.jsc", src, strlen(src));
  Graph *g = build_tiny(f);
  Node *out = ir_graph_output(g);
  for (int i = 0; i < 30; i++) {
    Node *n = ir_node_new(g, OP_CALL_FUNCTION, "relu", NULL, out, (SrcLoc){f, 10, 5});
    Value v[2] = {val_node(g->first), val_int(i)};
    assert_int_equal(ir_node_set_args(n, 2, v, 0, NULL, NULL), JS_OK);
  }
  Diag d;
  diag_init(&d, NULL);
  d.max_errors = 5;
  assert_int_equal(ir_verify(g, &d), JS_ERR);
  assert_contains(sb_str(&d.text), "v.jsc:10:5: error: %relu: relu() takes at most 1 positional argument");
  assert_contains(sb_str(&d.text), "v.jsc:10:5: error: %relu_1: relu()");
  assert_contains(sb_str(&d.text), "   10 | l10 relu(x)\n      |     ^\n");
  assert_true(d.nerrors >= 5 && d.nerrors <= 6);
  diag_free(&d);
  ir_graph_free(g);
  arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_verify_ok),
      cmocka_unit_test(test_verify_catches),
      cmocka_unit_test(test_verify_located_and_capped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
