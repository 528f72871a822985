/* test_frontend.c — the .jsc front end: lowering of every example and construct (node
 * names, kinds, targets and arguments as torch.fx would give them), diagnostics, the
 * bad-input corpus in test/bad/jsc, and recovery from allocation failure at every point.
 *
 * Usage: test_frontend SOURCE_ROOT */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend.h"

static const char *src_root = ".";

/* ---- helpers ---- */

typedef struct Parsed {
  Arena *a;
  Diag d;
  Program *p;
  Status st;
} Parsed;

static Parsed parse_text(const char *text) {
  Parsed r;
  r.a = arena_new();
  assert_non_null(r.a);
  diag_init(&r.d, NULL);
  SrcFile *src = diag_src_from_string(r.a, "t.jsc", text, strlen(text));
  assert_non_null(src);
  r.st = fe_parse(src, &r.p, &r.d);
  return r;
}

static Parsed parse_file(const char *rel) {
  Parsed r;
  r.a = arena_new();
  assert_non_null(r.a);
  diag_init(&r.d, NULL);
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", src_root, rel);
  SrcFile *src;
  assert_int_equal(diag_read_file(r.a, path, &src, &r.d), JS_OK);
  r.st = fe_parse(src, &r.p, &r.d);
  return r;
}

static void done(Parsed *r) {
  ir_program_free(r->p);
  diag_free(&r->d);
  arena_free(r->a);
}

/* Parses text that must be accepted and returns its only (or first) graph. */
static Graph *ok_graph(Parsed *r, const char *text) {
  *r = parse_text(text);
  if (r->st != JS_OK) fprintf(stderr, "%s", sb_str(&r->d.text));
  assert_int_equal(r->st, JS_OK);
  assert_non_null(r->p);
  assert_true(r->p->ngraphs >= 1);
  return r->p->graphs[0];
}

/* Parses text that must be refused with a message containing `want`. */
static void expect_error(const char *text, const char *want) {
  Parsed r = parse_text(text);
  if (r.st == JS_OK || !strstr(sb_str(&r.d.text), want))
    fprintf(stderr, "wanted '%s', got:\n%s", want, sb_str(&r.d.text));
  assert_int_equal(r.st, JS_ERR);
  assert_null(r.p);
  assert_non_null(strstr(sb_str(&r.d.text), want));
  done(&r);
}

/* "name:kind:target" for every node, joined by spaces. */
static void node_list(const Graph *g, StrBuf *sb) {
  for (const Node *n = g->first; n; n = n->next) {
    if (n != g->first) sb_putc(sb, ' ');
    sb_printf(sb, "%s:%s:%s", n->name, ir_node_kind_name(n->op), n->target);
  }
}

static void assert_nodes(const Graph *g, const char *want) {
  StrBuf sb;
  sb_init(&sb);
  node_list(g, &sb);
  if (strcmp(sb_str(&sb), want) != 0) fprintf(stderr, "got:  %s\nwant: %s\n", sb_str(&sb), want);
  assert_string_equal(sb_str(&sb), want);
  sb_free(&sb);
}

/* Just the names, space-separated. */
static void assert_names(const Graph *g, const char *want) {
  StrBuf sb;
  sb_init(&sb);
  for (const Node *n = g->first; n; n = n->next) {
    if (n != g->first) sb_putc(&sb, ' ');
    sb_puts(&sb, n->name);
  }
  if (strcmp(sb_str(&sb), want) != 0) fprintf(stderr, "got:  %s\nwant: %s\n", sb_str(&sb), want);
  assert_string_equal(sb_str(&sb), want);
  sb_free(&sb);
}

static void assert_args(const Node *n, const char *want) {
  StrBuf sb;
  sb_init(&sb);
  for (int i = 0; i < n->nargs; i++) {
    if (i) sb_puts(&sb, ", ");
    val_print(&sb, &n->args[i]);
  }
  for (int i = 0; i < n->nkwargs; i++) {
    sb_printf(&sb, ", %s=", n->kwnames[i]);
    val_print(&sb, &n->kwargs[i]);
  }
  if (strcmp(sb_str(&sb), want) != 0) fprintf(stderr, "%s: got (%s), want (%s)\n", n->name, sb_str(&sb), want);
  assert_string_equal(sb_str(&sb), want);
  sb_free(&sb);
}

static int64_t trainable(const Graph *g) {
  int64_t np = 0, nb = 0;
  ir_module_count(g->root, &np, &nb);
  return np;
}

static void type_str(const TensorType *t, char *buf, size_t n) {
  StrBuf sb;
  sb_init(&sb);
  ir_type_print(&sb, t);
  snprintf(buf, n, "%s", sb_str(&sb));
  sb_free(&sb);
}

/* ---- examples ---- */

static void test_jsc_tiny(void **state) {
  (void)state;
  Parsed r = parse_file("examples/jsc_tiny.jsc");
  assert_int_equal(r.st, JS_OK);
  assert_int_equal(r.p->ngraphs, 1);
  Graph *g = r.p->graphs[0];
  assert_string_equal(g->name, "JSC_Tiny");
  /* exactly torch.fx.symbolic_trace(JSC_Tiny) */
  assert_nodes(g, "x:placeholder:x seq_blocks_0:call_module:seq_blocks.0 seq_blocks_1:call_module:seq_blocks.1 "
                  "seq_blocks_2:call_module:seq_blocks.2 seq_blocks_3:call_module:seq_blocks.3 output:output:output");
  assert_args(ir_graph_find_node(g, "seq_blocks_0"), "%x");
  assert_args(ir_graph_find_node(g, "seq_blocks_3"), "%seq_blocks_2");
  assert_args(ir_graph_output(g), "%seq_blocks_3");
  Node *x = g->first;
  assert_true(x->has_type);
  char buf[64];
  type_str(&x->type, buf, sizeof buf);
  assert_string_equal(buf, "f32[B,16]");
  assert_int_equal(x->loc.line, 5);
  assert_int_equal(x->loc.col, 11);
  assert_non_null(x->loc.file);
  for (Node *n = g->first; n; n = n->next) {
    assert_true(n->loc.line > 0);
    if (n->op != OP_PLACEHOLDER) assert_false(n->has_type);
  }
  /* modules: the Sequential, then its children, with the right classes */
  assert_int_equal(g->nmodules, 5);
  assert_string_equal(g->modules[0]->path, "seq_blocks");
  assert_int_equal(g->modules[0]->type, MT_SEQUENTIAL);
  assert_int_equal(g->modules[0]->nchildren, 4);
  assert_string_equal(g->modules[3]->path, "seq_blocks.2");
  assert_int_equal(g->modules[3]->type, MT_LINEAR);
  assert_int_equal(ir_graph_find_node(g, "seq_blocks_2")->module, g->modules[3]);
  assert_int_equal(ir_graph_find_node(g, "seq_blocks_2")->mop, MOP_LINEAR);
  const Value *inplace = ir_module_arg(g->modules[2], "inplace");
  assert_non_null(inplace);
  assert_true(inplace->kind == VAL_BOOL && inplace->u.b);
  /* parameters, with PyTorch's state_dict names and shapes */
  Param *w = ir_graph_find_param(g, "seq_blocks.2.weight");
  assert_non_null(w);
  type_str(&w->type, buf, sizeof buf);
  assert_string_equal(buf, "f32[5,16]");
  assert_non_null(ir_graph_find_param(g, "seq_blocks.0.running_var"));
  assert_int_equal(trainable(g), 117);
  done(&r);
}

static void check_example(const char *file, const char *model, int64_t params, const char *names) {
  Parsed r = parse_file(file);
  if (r.st) fprintf(stderr, "%s", sb_str(&r.d.text));
  assert_int_equal(r.st, JS_OK);
  Graph *g = ir_program_find(r.p, model);
  assert_non_null(g);
  assert_int_equal(trainable(g), params);
  if (names) assert_names(g, names);
  done(&r);
}

static void test_examples(void **state) {
  (void)state;
  check_example("examples/jsc_big.jsc", "JSC_Big", 1397,
                "x seq_blocks_0 seq_blocks_1 seq_blocks_2 seq_blocks_3 seq_blocks_4 seq_blocks_5 seq_blocks_6 "
                "seq_blocks_7 seq_blocks_8 seq_blocks_9 seq_blocks_10 seq_blocks_11 seq_blocks_12 output");
  check_example("examples/jsc_toy.jsc", "JSC_Toy", 327, NULL);
  check_example("examples/jsc_s.jsc", "JSC_S", 5615,
                "x module_list_0 module_list_1 module_list_2 module_list_3 module_list_4 module_list_5 "
                "module_list_6 module_list_7 module_list_8 module_list_9 module_list_10 module_list_11 "
                "module_list_12 module_list_13 output");
  check_example("examples/jsc_trt.jsc", "JSC_TRT", 3231, NULL);
  check_example("examples/hls4ml_jsc.jsc", "HLS4ML_JSC", 4389, "x fc1 relu1 fc2 relu2 fc3 relu3 fc4 output");
  /* jsc_s's state_dict names are MASE's (module_list.N.*) */
  Parsed r = parse_file("examples/jsc_s.jsc");
  assert_non_null(ir_graph_find_param(r.p->graphs[0], "module_list.11.weight"));
  done(&r);
}

/* all_ops uses every node kind, every op with a function or method form, every class. */
static void test_all_ops(void **state) {
  (void)state;
  Parsed r = parse_file("examples/all_ops.jsc");
  if (r.st) fprintf(stderr, "%s", sb_str(&r.d.text));
  assert_int_equal(r.st, JS_OK);
  Graph *g = r.p->graphs[0];
  bool kinds[OP_KIND_COUNT] = {0}, fns[MOP_COUNT] = {0}, methods[MOP_COUNT] = {0}, classes[MT_COUNT] = {0};
  for (Node *n = g->first; n; n = n->next) {
    kinds[n->op] = true;
    if (n->op == OP_CALL_FUNCTION) fns[n->mop] = true;
    if (n->op == OP_CALL_METHOD) methods[n->mop] = true;
  }
  for (int k = 0; k < OP_KIND_COUNT; k++) assert_true(kinds[k]);
  for (int i = 0; i < MOP_COUNT; i++) {
    const OpInfo *oi = ir_op_info((MaseOp)i);
    /* quantize takes a format dict, which .jsc cannot write: passes create it (spec/ir.md 1.6a) */
    if ((oi->forms & FORM_FN) && !fns[i] && i != MOP_QUANTIZE) fail_msg("all_ops lacks function %s", oi->name);
    if ((oi->forms & FORM_METHOD) && !methods[i]) fail_msg("all_ops lacks method %s", oi->name);
  }
  for (int i = 0; i < g->nmodules; i++) classes[g->modules[i]->type] = true;
  for (int i = 0; i < MT_COUNT; i++)
    if (!classes[i]) fail_msg("all_ops lacks module class %s", ir_module_info((ModuleType)i)->cls);
  /* a declared but unused module is still in the table */
  assert_non_null(ir_graph_find_module(g, "unused"));
  /* nested Sequential paths, and calling a child directly */
  assert_non_null(ir_graph_find_node(g, "head_2_1"));
  assert_string_equal(ir_graph_find_node(g, "head_2_2")->target, "head.2.0");
  /* a tuple return: output's args are ((a, b),) */
  Node *out = ir_graph_output(g);
  assert_int_equal(out->nargs, 1);
  assert_int_equal(out->args[0].kind, VAL_TUPLE);
  assert_int_equal(out->args[0].u.seq.n, 2);
  done(&r);
}

/* ---- constructs ---- */

static void test_fx_naming(void **state) {
  (void)state;
  Parsed r;
  Graph *g = ok_graph(&r, "model M {\n"
                          "  input x: f32[B, 4]\n"
                          "  input y: f32[B, 4]\n"
                          "  a = x + y\n"
                          "  b = a + x\n"
                          "  c = add(b, 1)\n"
                          "  d = -c * 2.5 / y - x\n"
                          "  e = div(d, 2) / 3\n"
                          "  return e\n"
                          "}\n");
  /* exactly torch.fx: the operator '/' is operator.truediv (named truediv), torch.div is div */
  assert_nodes(g, "x:placeholder:x y:placeholder:y add:call_function:add add_1:call_function:add "
                  "add_2:call_function:add neg:call_function:neg mul:call_function:mul truediv:call_function:div "
                  "sub:call_function:sub div:call_function:div truediv_1:call_function:div output:output:output");
  assert_int_equal(ir_graph_find_node(g, "truediv_1")->mop, MOP_DIV);
  assert_args(ir_graph_find_node(g, "add_2"), "%add_1, 1");
  assert_args(ir_graph_find_node(g, "mul"), "%neg, 2.5");
  assert_int_equal(ir_graph_find_node(g, "add")->mop, MOP_ADD);
  /* uses are recorded */
  assert_int_equal(g->first->nusers, 3); /* x: add, add_1, sub */
  /* node locations: operators at the operator */
  Node *add = ir_graph_find_node(g, "add");
  assert_int_equal(add->loc.line, 4);
  assert_int_equal(add->loc.col, 9);
  done(&r);
}

static void test_params_and_get_attr(void **state) {
  (void)state;
  Parsed r;
  Graph *g = ok_graph(&r, "model M {\n"
                          "  input x: f32[B, 5]\n"
                          "  param scale: f32[5] = ones\n"
                          "  buffer offset: f32[5] = uniform(-0.1, 0.1)\n"
                          "  lin = Linear(5, 5, bias=false)\n"
                          "  h = x * scale + offset\n"
                          "  h = h * scale\n"
                          "  w = lin.weight\n"
                          "  return matmul(h, w)\n"
                          "}\n");
  /* torch.fx: one get_attr per parameter, made at its first read (the tracer caches
   * parameter proxies), so the second read of scale reuses it */
  assert_names(g, "x scale mul offset add mul_1 lin_weight matmul output");
  Node *s1 = ir_graph_find_node(g, "scale");
  assert_int_equal(s1->op, OP_GET_ATTR);
  assert_string_equal(s1->target, "scale");
  assert_non_null(s1->param);
  assert_int_equal(s1->nusers, 2);
  assert_args(ir_graph_find_node(g, "mul_1"), "%add, %scale");
  assert_string_equal(ir_graph_find_node(g, "lin_weight")->target, "lin.weight");
  Param *off = ir_graph_find_param(g, "offset");
  assert_int_equal(off->kind, PK_BUFFER);
  assert_int_equal(off->init.kind, INIT_UNIFORM);
  assert_true(off->init.args[0] == -0.1 && off->init.args[1] == 0.1);
  assert_null(ir_graph_find_param(g, "lin.bias"));
  assert_int_equal(trainable(g), 5 + 25);
  done(&r);
}

/* Hostile-user regressions: keyword `input=`, precedences, fx naming corner cases, the
 * depth of method chains, hints in big scopes and located syntax errors. */
static void test_front_end_regressions(void **state) {
  (void)state;
  Parsed r;
  /* `input` is a keyword, but also every function's first parameter */
  Graph *g = ok_graph(&r, "model M {\n"
                          "  input x: f32[B, 4]\n"
                          "  h = relu(input=x)\n"
                          "  return softmax(dim=1, input=h)\n"
                          "}\n");
  assert_args(ir_graph_find_node(g, "relu"), ", input=%x");
  assert_args(ir_graph_find_node(g, "softmax"), ", dim=1, input=%relu");
  done(&r);
  /* Python's precedences: -2**2 == -4, 2**-1*4 == 2.0, 2*3**2 == 18, 2**3**2 == 512,
   * -x.relu() is neg(relu(x)) */
  g = ok_graph(&r, "model M {\n"
                   "  input x: f32[B, 4]\n"
                   "  h = -x.relu() * (-2**2) + 2**-1*4 - 2*3**2 + 2**3**2\n"
                   "  return h\n"
                   "}\n");
  assert_nodes(g, "x:placeholder:x relu:call_method:relu neg:call_function:neg mul:call_function:mul "
                  "add:call_function:add sub:call_function:sub add_1:call_function:add output:output:output");
  assert_args(ir_graph_find_node(g, "mul"), "%neg, -4");
  assert_args(ir_graph_find_node(g, "add"), "%mul, 2.0");
  assert_args(ir_graph_find_node(g, "sub"), "%add, 18");
  assert_args(ir_graph_find_node(g, "add_1"), "%sub, 512");
  done(&r);
  /* a chain of 999 method calls is 1000 levels: accepted; one more is refused */
  StrBuf sb;
  sb_init(&sb);
  sb_puts(&sb, "model M {\n  input x: f32[B, 4]\n  h = x");
  for (int i = 0; i < 999; i++) sb_puts(&sb, ".relu()");
  sb_puts(&sb, "\n  return h\n}\n");
  g = ok_graph(&r, sb_str(&sb));
  assert_non_null(ir_graph_find_node(g, "relu_998"));
  done(&r);
  sb_clear(&sb);
  sb_puts(&sb, "model M {\n  input x: f32[B, 4]\n  h = x");
  for (int i = 0; i < 1000; i++) sb_puts(&sb, ".relu()");
  sb_puts(&sb, "\n  return h\n}\n");
  expect_error(sb_str(&sb), "expression too complex (nested more than 1000 levels)");
  /* "did you mean" looks at every name in scope, not the first few hundred */
  sb_clear(&sb);
  sb_puts(&sb, "model M {\n  input x: f32[B, 4]\n");
  for (int i = 0; i < 1000; i++) sb_printf(&sb, "  layer_number_%d = Linear(4, 4)\n", i);
  sb_puts(&sb, "  return layer_numbr_777(x)\n}\n");
  expect_error(sb_str(&sb), "(did you mean 'layer_number_777'?)");
  sb_free(&sb);
  /* a missing ')' is reported where it shows, with a note at the '(' */
  r = parse_text("model M {\n  input x: f32[B, 4]\n  h = relu(x\n  return h\n}\n");
  assert_int_equal(r.st, JS_ERR);
  assert_non_null(strstr(sb_str(&r.d.text), "4:3: error: unexpected 'return'"));
  assert_non_null(strstr(sb_str(&r.d.text), "3:11: note: this '(' is never closed"));
  done(&r);
  r = parse_text("model M {\n  input x: f32[B, 4]\n  return x\n");
  assert_non_null(strstr(sb_str(&r.d.text), "1:9: note: the model's body starts here"));
  done(&r);
  /* leading zeros are refused; 0, 00 and 00.5 are fine (as in Python) */
  expect_error("model M { input x: f32[B, 010]; return x }", "invalid numeric literal '010'");
  g = ok_graph(&r, "model M { input x: f32[B, 4]; return x * 00 + 00.5 }");
  assert_args(ir_graph_find_node(g, "mul"), "%x, 0");
  assert_args(ir_graph_find_node(g, "add"), "%mul, 0.5");
  done(&r);
  /* a buffer, unlike a parameter, is read afresh each time, as fx does */
  g = ok_graph(&r, "model M {\n  input x: f32[B, 4]\n  buffer b: f32[4]\n  return x + b + b\n}\n");
  assert_names(g, "x b add b_1 add_1 output");
  done(&r);
}

static void test_methods_kwargs_consts(void **state) {
  (void)state;
  Parsed r;
  Graph *g = ok_graph(&r, "model M {\n"
                          "  n = 4 * 2 ** 2   # 16, folded\n"
                          "  input x: f32[B, n]\n"
                          "  h = x.view(-1, n).flatten(1)\n"
                          "  h = softmax(h, dim=1); h = h.transpose(0, 1)\n"
                          "  return h\n"
                          "}\n");
  assert_nodes(g, "x:placeholder:x view:call_method:view flatten:call_method:flatten softmax:call_function:softmax "
                  "transpose:call_method:transpose output:output:output");
  assert_args(ir_graph_find_node(g, "view"), "%x, -1, 16");
  assert_args(ir_graph_find_node(g, "softmax"), "%flatten, dim=1");
  char buf[64];
  type_str(&g->first->type, buf, sizeof buf);
  assert_string_equal(buf, "f32[B,16]");
  assert_int_equal(ir_graph_find_node(g, "flatten")->loc.col, 21); /* the method's name */
  done(&r);
}

static void test_literals_and_comments(void **state) {
  (void)state;
  Parsed r;
  Graph *g = ok_graph(&r, "# a comment\n"
                          "/* a block\n   comment */ model M {   # trailing\n"
                          "  input x: f32[B, 0x10]\n"
                          "  /* inline */ bn = BatchNorm1d(16, eps=1e-5, momentum=0.5e0 * 0 + 0.25, affine=True)\n"
                          "  d = Dropout(p=1.)\n"
                          "  s = Softmax(dim=None)\n"
                          "  h = leaky_relu(bn(x), negative_slope=1e-2)\n"
                          "  return d(h)\n"
                          "}\n");
  Module *bn = ir_graph_find_module(g, "bn");
  assert_true(ir_module_arg(bn, "momentum")->u.f == 0.25);
  assert_true(ir_module_arg(bn, "eps")->u.f == 1e-5);
  assert_int_equal(ir_module_arg(ir_graph_find_module(g, "s"), "dim")->kind, VAL_NONE);
  assert_true(ir_module_arg(ir_graph_find_module(g, "d"), "p")->u.f == 1.0);
  done(&r);
  /* strings with escapes reach the IR */
  g = ok_graph(&r, "model M {\n  input x: f32[B, 2]\n  s = \"a\\\"b\\n\\x41\"\n  return x\n}\n");
  done(&r);
}

static void test_sequential_and_children(void **state) {
  (void)state;
  Parsed r;
  Graph *g = ok_graph(&r, "model M {\n"
                          "  input x: f32[B, 8]\n"
                          "  s = Sequential(Linear(8, 8), Sequential(ReLU(), Sequential()), Linear(8, 2),)\n"
                          "  e = Sequential()\n"
                          "  h = s(e(x))\n"
                          "  g = s.0(x)\n"
                          "  return h, g\n"
                          "}\n");
  /* torch.fx >= 2.0 (_base_count, as ir_graph_unique_name): s_3; torch 1.13 says s_1 */
  assert_names(g, "x s_0 s_1_0 s_2 s_3 output");
  assert_non_null(ir_graph_find_module(g, "s.1.1"));
  assert_non_null(ir_graph_find_param(g, "s.2.weight"));
  done(&r);
}

static void test_multiple_models_and_input_order(void **state) {
  (void)state;
  Parsed r;
  ok_graph(&r, "model A {\n  input x: f32[B, 4]\n  return relu(x)\n}\n"
               "model B {\n  input a: f32[4]\n  h = relu(a)\n  input b: f64[2, 3]\n  return h\n}\n");
  assert_int_equal(r.p->ngraphs, 2);
  Graph *b = ir_program_find(r.p, "B");
  assert_non_null(b);
  /* placeholders stay first even when declared late */
  assert_names(b, "a b relu output");
  assert_int_equal(ir_graph_find_node(b, "b")->type.dtype, DT_F64);
  done(&r);
}

/* ---- diagnostics ---- */

static void test_errors(void **state) {
  (void)state;
#define M(body) "model M {\n  input x: f32[B, 16]\n" body "}\n"
  expect_error(M("  l = Linaer(16, 5)\n  return l(x)\n"),
               "t.jsc:3:7: error: unknown module 'Linaer' (did you mean 'Linear'?)\n"
               "    3 |   l = Linaer(16, 5)\n"
               "      |       ^\n");
  expect_error(M("  return rleu(x)\n"), "3:10: error: unknown function 'rleu' (did you mean 'relu'?)");
  expect_error(M("  return x.flaten(1)\n"), "3:12: error: unknown tensor method 'flaten' (did you mean 'flatten'?)");
  expect_error(M("  l = Linear(16)\n  return l(x)\n"), "Linear() is missing argument 'out_features'");
  expect_error(M("  l = Linear(16, \"5\")\n  return l(x)\n"), "argument 'out_features' must be int, got str");
  expect_error(M("  l = Linear(16, 10**12)\n  return l(x)\n"), "3:7: error: Linear(): out_features = 1000000000000 is too large");
  expect_error(M("  l = Linear(16, 2**63)\n  return l(x)\n"), "integer overflow in constant expression");
  expect_error(M("  l = Linear(16, 9223372036854775807 + 1)\n  return l(x)\n"), "integer overflow");
  expect_error(M("  l = Linear(x, 5)\n  return l(x)\n"), "arguments must be constants");
  expect_error(M("  return relu(x, x)\n"), "relu() takes at most 1 positional argument");
  expect_error(M("  return softmax(x, dimm=1)\n"), "unknown keyword argument 'dimm' (did you mean 'dim'?)");
  expect_error(M("  return softmax(x)\n"), "softmax() is missing argument 'dim'");
  expect_error(M("  h = relu(x)\n  return hh\n"), "4:10: error: undefined name 'hh' (did you mean 'h'?)");
  expect_error(M("  input x: f32[B, 4]\n  return x\n"), "3:9: error: redefinition of 'x'");
  expect_error(M("  input x: f32[B, 4]\n  return x\n"), "2:9: note: 'x' was first defined here as an input");
  expect_error(M("  p = Linear(16, 2)\n  param p: f32[2]\n  return x\n"), "redefinition of 'p'");
  expect_error(M("  h = relu(x)\n"), "4:1: error: model 'M' has no 'return' statement");
  expect_error(M("  return x\n  h = relu(x)\n"), "4:3: error: statement after 'return'");
  expect_error(M("  return x * 1e\n"), "invalid numeric literal '1e'");
  expect_error(M("  return x * 0x\n"), "invalid numeric literal '0x'");
  expect_error(M("  return x * 1.2.3\n"), "invalid numeric literal '1.2.3'");
  expect_error(M("  return x * 99999999999999999999\n"), "integer literal '99999999999999999999' is too large");
  expect_error(M("  return x * 1e999\n"), "float literal '1e999' is out of range");
  expect_error(M("  s = \"abc\n  return x\n"), "3:7: error: unterminated string");
  expect_error(M("  s = \"a\\qc\"\n  return x\n"), "unknown escape sequence '\\q'");
  expect_error(M("  /* never closed\n  return x\n"), "3:3: error: unterminated block comment");
  expect_error(M("  h = x \xc3\x97 2\n  return h\n"), "3:9: error: non-ASCII character");
  expect_error(M("  h = x $ 2\n  return h\n"), "unexpected character '$'");
  expect_error("", "1:1: error: no model in this file");
  expect_error("# only a comment\n", "no model in this file");
  expect_error("model M {\n  return relu(x)\n}\nmodel M {\n  input x: f32[2]\n  return x\n}\n",
               "4:7: error: redefinition of model 'M'");
  expect_error("modle M {\n  input x: f32[B, 16]\n  return x\n}\n", "1:1: error: unknown keyword 'modle' (did you mean 'model'?)");
  expect_error(M("  retrun x\n"), "3:3: error: unknown keyword 'retrun' (did you mean 'return'?)");
  expect_error(M("  fc = Linear(16, 2)\n  return fc + x\n"), "module 'fc' used as a value");
  expect_error(M("  fc = Linear(16, 2)\n  return fc\n"), "module 'fc' used as a value");
  expect_error(M("  h = relu(x)\n  return h(x)\n"), "'h' is a tensor, not a module or function");
  expect_error(M("  s = Sequential(Linear(16, 2), relu)\n  return s(x)\n"), "Sequential() arguments must be module constructors");
  expect_error(M("  s = Sequential(Linear(16, 2), 3)\n  return s(x)\n"), "Sequential() arguments must be module constructors");
  expect_error(M("  return Linear(16, 2)(x)\n"), "must be declared before use");
  expect_error(M("  return view(x, -1)\n"), "'view' is a tensor method, not a function");
  expect_error(M("  return x.linear(x)\n"), "'linear' is a function, not a tensor method");
  expect_error(M("  fc = Linear(16, 2)\n  return fc(x, x)\n"), "takes one tensor argument, got 2");
  expect_error(M("  return relu\n"), "function 'relu' used as a value");
  expect_error(M("  return x ** 2\n"), "'**' works on constants only");
  expect_error(M("  return x * (1 / 0)\n"), "division by zero");
  expect_error(M("  return x * \"s\"\n"), "3:12: error: mul(): argument 'other' must be tensor_or_number, got str");
  expect_error(M("  return 3\n"), "a model returns tensors, not a constant (int)");
  expect_error(M("  param w: f32[B]\n  return x\n"), "needs a known shape, but 'B' is symbolic");
  expect_error(M("  param w: f32[65536, 65536]\n  return x\n"), "refusing to allocate");
  expect_error(M("  param w: f32[2] = onez\n  return x\n"), "unknown initialiser 'onez' (did you mean 'ones'?)");
  expect_error(M("  param w: f32[2] = uniform(1)\n  return x\n"), "initialiser 'uniform' takes 2 arguments, got 1");
  expect_error("model M {\n  input x: f33[2]\n  return x\n}\n", "unknown dtype 'f33' (did you mean 'f32'?)");
  expect_error("model M {\n  input x: f32[1,2,3,4,5,6,7,8,9]\n  return x\n}\n", "too many dimensions");
  expect_error(M("  return softmax(dim=1, x)\n"), "positional argument follows keyword argument");
  expect_error(M("  return relu(, x)\n"), "3:15: error: unexpected ',', expected an expression or ')'");
  expect_error("model M {\n  input x: f32[B, 16]\n  return x\n", "unexpected end of file");
  expect_error(M("  h = x.shape\n  return h\n"), "tensors have no attribute 'shape'");
  expect_error(M("  s = Sequential(ReLU())\n  return s.5(x)\n"), "has no submodule or parameter '5'");
  expect_error(M("  fc = Linear(16, 2)\n  fc = relu(x)\n  return fc\n"), "cannot assign to 'fc': it is a module");
#undef M
}

static void test_nul_byte(void **state) {
  (void)state;
  static const char text[] = "model M {\n  input x: f32[2]\n  return x\0\n}\n";
  Arena *a = arena_new();
  Diag d;
  diag_init(&d, NULL);
  SrcFile *src = diag_src_from_string(a, "t.jsc", text, sizeof text - 1);
  Program *p;
  assert_int_equal(fe_parse(src, &p, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "3:11: error: NUL byte in source"));
  diag_free(&d);
  arena_free(a);
}

static void test_nesting_limits(void **state) {
  (void)state;
  StrBuf sb;
  sb_init(&sb);
  sb_puts(&sb, "model M {\n  input x: f32[2]\n  h = ");
  for (int i = 0; i < 100000; i++) sb_putc(&sb, '(');
  sb_puts(&sb, "x\n  return h\n}\n");
  expect_error(sb_str(&sb), "too many nested parentheses and brackets (the limit is 256)");
  /* unary chains do not open parentheses: bison's stack limit catches them */
  sb_clear(&sb);
  sb_puts(&sb, "model M {\n  input x: f32[2]\n  h = ");
  for (int i = 0; i < 50000; i++) sb_putc(&sb, '-');
  sb_puts(&sb, "x\n  return h\n}\n");
  expect_error(sb_str(&sb), "expression too complex (the parser's stack is exhausted)");
  /* long operator chains: the AST depth limit */
  sb_clear(&sb);
  sb_puts(&sb, "model M {\n  input x: f32[2]\n  h = x");
  for (int i = 0; i < 5000; i++) sb_puts(&sb, "+x");
  sb_puts(&sb, "\n  return h\n}\n");
  expect_error(sb_str(&sb), "expression too complex (nested more than 1000 levels)");
  /* 256 levels are fine */
  sb_clear(&sb);
  sb_puts(&sb, "model M {\n  input x: f32[2]\n  h = ");
  for (int i = 0; i < 256; i++) sb_putc(&sb, '(');
  sb_putc(&sb, 'x');
  for (int i = 0; i < 256; i++) sb_putc(&sb, ')');
  sb_puts(&sb, "\n  return h\n}\n");
  Parsed r;
  ok_graph(&r, sb_str(&sb));
  done(&r);
  sb_free(&sb);
}

static void test_recovery(void **state) {
  (void)state;
  Parsed r = parse_text("model M {\n"
                        "  input x: f32[B, 16]\n"
                        "  h = relu(x))\n"
                        "  g = (h +)\n"
                        "  k = softmax(h dim=1)\n"
                        "  return h\n"
                        "}\n"
                        "model {\n"
                        "  return x\n"
                        "}\n"
                        "model N {\n"
                        "  return = 3\n"
                        "}\n");
  assert_int_equal(r.st, JS_ERR);
  const char *t = sb_str(&r.d.text);
  assert_non_null(strstr(t, "3:14: error: unexpected ')', expected end of line or ';'"));
  assert_non_null(strstr(t, "4:11: error: unexpected ')', expected an expression"));
  assert_non_null(strstr(t, "5:17: error: unexpected name 'dim'"));
  assert_non_null(strstr(t, "8:7: error: unexpected '{', expected a name"));
  assert_non_null(strstr(t, "12:10: error: unexpected '=', expected an expression"));
  assert_int_equal(r.d.nerrors, 5);
  done(&r);
  /* the cap: many errors stop at max_errors */
  StrBuf sb;
  sb_init(&sb);
  sb_puts(&sb, "model M {\n");
  for (int i = 0; i < 100; i++) sb_puts(&sb, "  h = )\n");
  sb_puts(&sb, "}\n");
  r = parse_text(sb_str(&sb));
  assert_int_equal(r.st, JS_ERR);
  assert_non_null(strstr(sb_str(&r.d.text), "too many errors"));
  done(&r);
  sb_free(&sb);
}

/* ---- the bad-input corpus ---- */

/* Every test/bad/jsc file is refused with each "# expect: LINE:COL: error: TEXT" line
 * found in the output; files marked "# needs: shape" are errors only for the shape pass,
 * which runs after the front end, so the front end must accept them. */
static void test_bad_corpus(void **state) {
  (void)state;
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/test/bad/jsc", src_root);
  DIR *dp = opendir(dir);
  assert_non_null(dp);
  int files = 0;
  struct dirent *de;
  while ((de = readdir(dp))) {
    size_t n = strlen(de->d_name);
    if (n < 5 || strcmp(de->d_name + n - 4, ".jsc") != 0) continue;
    char rel[1200];
    snprintf(rel, sizeof rel, "test/bad/jsc/%s", de->d_name);
    Parsed r = parse_file(rel);
    files++;
    const SrcFile *src = NULL;
    /* re-read the text to find the expectations (the file may hold NUL bytes) */
    Arena *a = arena_new();
    Diag d2;
    diag_init(&d2, NULL);
    char path[2300];
    snprintf(path, sizeof path, "%s/%s", src_root, rel);
    SrcFile *sf;
    assert_int_equal(diag_read_file(a, path, &sf, &d2), JS_OK);
    src = sf;
    bool shape = memmem(src->text, src->len, "# needs: shape", 14) != NULL;
    if (shape) {
      if (r.st != JS_OK) fprintf(stderr, "%s: %s", de->d_name, sb_str(&r.d.text));
      assert_int_equal(r.st, JS_OK);
    } else {
      if (r.st != JS_ERR) fail_msg("%s was accepted", de->d_name);
    }
    int nexpect = 0;
    const char *p = src->text, *end = src->text + src->len;
    while ((p = memmem(p, (size_t)(end - p), "# expect: ", 10))) {
      p += 10;
      const char *eol = memchr(p, '\n', (size_t)(end - p));
      if (!eol) eol = end;
      nexpect++;
      if (!shape) {
        /* "LINE:COL: error: TEXT": the location starts a message line holding TEXT */
        const char *msg = memmem(p, (size_t)(eol - p), "error: ", 7);
        if (!msg) fail_msg("%s: bad expect line", de->d_name);
        msg += 7;
        char where[2400], text[400];
        snprintf(where, sizeof where, "%s:%.*s", path, (int)(msg - p), p);
        snprintf(text, sizeof text, "%.*s", (int)(eol - msg), msg);
        bool found = false;
        for (const char *t = sb_str(&r.d.text); (t = strstr(t, where)); t++) {
          const char *tl = strchr(t, '\n');
          char line[2000];
          snprintf(line, sizeof line, "%.*s", tl ? (int)(tl - t) : (int)strlen(t), t);
          if (strstr(line, text)) found = true;
        }
        if (!found) fail_msg("%s: expected\n  %s%s\ngot:\n%s", de->d_name, where, text, sb_str(&r.d.text));
      }
      p = eol;
    }
    if (nexpect == 0) fail_msg("%s has no '# expect:' line", de->d_name);
    diag_free(&d2);
    arena_free(a);
    done(&r);
  }
  closedir(dp);
  assert_true(files >= 32);
}

/* ---- allocation failure ---- */

typedef struct FailHook {
  long calls;   /* allocations so far */
  long fail_at; /* the allocation that fails */
  long live;    /* blocks allocated and not yet freed */
} FailHook;

static void *fail_hook(void *ctx, void *ptr, size_t size) {
  FailHook *h = ctx;
  if (size == 0) {
    if (ptr) h->live--;
    free(ptr);
    return NULL;
  }
  if (h->calls++ == h->fail_at) return NULL;
  if (!ptr) {
    void *q = malloc(size);
    if (q) h->live++;
    return q;
  }
  return realloc(ptr, size);
}

static void fail_each_allocation(const char *rel, Status want) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", src_root, rel);
  Arena *a = arena_new();
  Diag d;
  diag_init(&d, NULL);
  SrcFile *src;
  assert_int_equal(diag_read_file(a, path, &src, &d), JS_OK);
  diag_free(&d);
  long n;
  for (n = 0;; n++) {
    FailHook h = {0, n, 0};
    ir_set_alloc_hook(fail_hook, &h);
    diag_init(&d, NULL);
    Program *p = (Program *)&h; /* must be overwritten */
    Status st = fe_parse(src, &p, &d);
    bool reached = h.calls > n;
    ir_program_free(p);
    diag_free(&d);
    ir_set_alloc_hook(NULL, NULL);
    if (!reached) {
      assert_int_equal(st, want);
      break;
    }
    if (st == JS_OK) fail_msg("%s: allocation %ld failed but fe_parse returned JS_OK", rel, n);
    if (want == JS_OK && st != JS_ENOMEM) fail_msg("%s: allocation %ld failed, status %d", rel, n, st);
    assert_null(p);
    if (h.live != 0) fail_msg("%s: allocation %ld failed and %ld blocks leaked", rel, n, h.live);
  }
  assert_true(n > 10);
  arena_free(a);
}

static void test_alloc_failure(void **state) {
  (void)state;
  fail_each_allocation("examples/jsc_tiny.jsc", JS_OK);
  fail_each_allocation("examples/all_ops.jsc", JS_OK);
  fail_each_allocation("test/bad/jsc/syntax_recovery.jsc", JS_ERR);
  fail_each_allocation("test/bad/jsc/unknown_module.jsc", JS_ERR);
  fail_each_allocation("test/bad/jsc/redefined_input.jsc", JS_ERR);
}

int main(int argc, char **argv) {
  if (argc > 1) src_root = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_jsc_tiny),
      cmocka_unit_test(test_examples),
      cmocka_unit_test(test_all_ops),
      cmocka_unit_test(test_fx_naming),
      cmocka_unit_test(test_params_and_get_attr),
      cmocka_unit_test(test_front_end_regressions),
      cmocka_unit_test(test_methods_kwargs_consts),
      cmocka_unit_test(test_literals_and_comments),
      cmocka_unit_test(test_sequential_and_children),
      cmocka_unit_test(test_multiple_models_and_input_order),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_nul_byte),
      cmocka_unit_test(test_nesting_limits),
      cmocka_unit_test(test_recovery),
      cmocka_unit_test(test_bad_corpus),
      cmocka_unit_test(test_alloc_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
