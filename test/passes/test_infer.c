/* test_infer.c — ir_infer_type: the rule of every op, module call, parameter and input, with
 * broadcasting, symbolic dims, view's -1 rule and located errors naming both shapes. */
#include <stdio.h>

#include "th.h"

static Graph *g;

static int setup(void **state) {
  g = ir_graph_new("t");
  return g ? 0 : -1;
}

static int teardown(void **state) {
  ir_graph_free(g);
  return 0;
}

/* The inferred type's text; fails the test on error. */
static const char *ok(const Node *n) {
  Diag d;
  diag_init(&d, NULL);
  TensorType t;
  Status st = ir_infer_type(n, &t, &d);
  if (st) print_error("%s", sb_str(&d.text));
  assert_int_equal(st, JS_OK);
  assert_int_equal(d.nerrors, 0);
  diag_free(&d);
  return th_type_str(&t);
}

/* The error text; fails the test unless inference fails with exactly one error. */
static const char *err(const Node *n) {
  static char buf[2048];
  Diag d;
  diag_init(&d, NULL);
  TensorType t;
  assert_int_equal(ir_infer_type(n, &t, &d), JS_ERR);
  assert_int_equal(d.nerrors, 1);
  snprintf(buf, sizeof buf, "%s", sb_str(&d.text));
  diag_free(&d);
  return buf;
}

static Node *call(NodeKind op, const char *target, Node *x) {
  Value a = val_node(x);
  return th_node(g, op, target, 1, &a);
}

static Node *call2(NodeKind op, const char *target, Value a, Value b) {
  Value args[2] = {a, b};
  return th_node(g, op, target, 2, args);
}

static Node *mod_call(const char *cls, int nargs, const int64_t *margs, Node *x) {
  char name[16];
  snprintf(name, sizeof name, "m%d", g->nmodules);
  th_module(g, NULL, name, cls, nargs, margs);
  return call(OP_CALL_MODULE, name, x);
}

static void test_placeholder_getattr_output(void **state) {
  Node *x = th_input(g, "x", "f32[B,16]");
  assert_string_equal(ok(x), "f32[B,16]");
  Node *bare = ir_node_new(g, OP_PLACEHOLDER, "y", NULL, NULL, (SrcLoc){0});
  assert_contains(err(bare), "error: input 'y' has no declared type");
  Module *m = th_module(g, NULL, "lin", "Linear", 2, (int64_t[]){16, 5});
  (void)m;
  Node *w = th_node(g, OP_GET_ATTR, "lin.weight", 0, NULL);
  assert_string_equal(ok(w), "f32[5,16]");
  Node *bad = th_node(g, OP_GET_ATTR, "lin.wieght", 0, NULL);
  assert_contains(err(bad), "get_attr 'lin.wieght' does not name a parameter or buffer");
  Node *out = th_output(g, x);
  assert_string_equal(ok(out), "f32[B,16]");
}

static void test_linear_module(void **state) {
  Node *x = th_input(g, "x", "f32[B,16]");
  Node *x32 = th_input(g, "x32", "f32[B,32]");
  Node *xi = th_input(g, "xi", "i64[B,16]");
  Node *x3 = th_input(g, "x3", "f32[B,7,16]");
  assert_string_equal(ok(mod_call("Linear", 2, (int64_t[]){16, 5}, x)), "f32[B,5]");
  assert_string_equal(ok(mod_call("Linear", 2, (int64_t[]){16, 5}, x3)), "f32[B,7,5]");
  assert_string_equal(err(mod_call("Linear", 2, (int64_t[]){16, 5}, x32)),
                      "error: Linear(in_features=16, out_features=5) expects 16 input features, got f32[B,32]\n");
  assert_contains(err(mod_call("Linear", 2, (int64_t[]){16, 5}, xi)), "expects a f32 input, got i64[B,16]");
}

static void test_located_error(void **state) {
  const char *text = "model M {\n  x: f32[B,32]\n  y = Linear(16, 5)(x)\n}\n";
  SrcFile *src = diag_src_from_string(g->arena, "model.jsc", text, strlen(text));
  Node *x = th_input(g, "x", "f32[B,32]");
  Node *y = mod_call("Linear", 2, (int64_t[]){16, 5}, x);
  y->loc = (SrcLoc){src, 3, 7};
  const char *e = err(y);
  assert_contains(e, "model.jsc:3:7: error: Linear(in_features=16, out_features=5) expects 16 input features, got f32[B,32]\n");
  assert_contains(e, "    3 |   y = Linear(16, 5)(x)\n");
  assert_contains(e, "      |       ^\n");
}

static void test_batchnorm_conv(void **state) {
  Node *x = th_input(g, "x", "f32[B,16]");
  Node *x8 = th_input(g, "x8", "f32[B,8]");
  Node *x4 = th_input(g, "x4", "f32[B,16,3,3]");
  Node *xl = th_input(g, "xl", "f32[B,16,10]");
  assert_string_equal(ok(mod_call("BatchNorm1d", 1, (int64_t[]){16}, x)), "f32[B,16]");
  assert_string_equal(ok(mod_call("BatchNorm1d", 1, (int64_t[]){16}, xl)), "f32[B,16,10]");
  assert_contains(err(mod_call("BatchNorm1d", 1, (int64_t[]){16}, x8)),
                  "BatchNorm1d(num_features=16) expects 16 features on dim 1, got f32[B,8]");
  assert_contains(err(mod_call("BatchNorm1d", 1, (int64_t[]){16}, x4)), "expects a 2-D or 3-D input, got f32[B,16,3,3]");

  Node *c = th_input(g, "c", "f32[B,4,10]");
  Node *cl = th_input(g, "cl", "f32[B,4,L]");
  assert_string_equal(ok(mod_call("Conv1d", 3, (int64_t[]){4, 8, 3}, c)), "f32[B,8,8]");
  /* padding 1 keeps the length, stride 2 halves it: floor((10+2-2-1)/2)+1 = 5 */
  assert_string_equal(ok(mod_call("Conv1d", 5, (int64_t[]){4, 8, 3, 2, 1}, c)), "f32[B,8,5]");
  assert_string_equal(ok(mod_call("Conv1d", 5, (int64_t[]){4, 8, 3, 1, 1}, cl)), "f32[B,8,L]");
  assert_contains(err(mod_call("Conv1d", 3, (int64_t[]){4, 8, 3}, cl)), "cannot know the output length of symbolic length L");
  assert_contains(err(mod_call("Conv1d", 3, (int64_t[]){3, 8, 3}, c)),
                  "Conv1d(in_channels=3, out_channels=8, kernel_size=3) expects 3 input channels on dim 1, got f32[B,4,10]");
  assert_contains(err(mod_call("Conv1d", 3, (int64_t[]){4, 8, 11}, c)), "input length 10 is too short");
  assert_contains(err(mod_call("BatchNorm1d", 1, (int64_t[]){16}, th_input(g, "xd", "f64[B,16]"))),
                  "BatchNorm1d(num_features=16) expects a f32 input, got f64[B,16]");

  /* conv1d's options are bounded like Conv1d's, so the length arithmetic cannot overflow */
  Node *w = th_input(g, "w", "f32[8,4,3]");
  const char *kw[] = {"dilation"};
  Value huge[] = {val_int(INT64_MAX)};
  assert_contains(err(th_node_kw(g, OP_CALL_FUNCTION, "conv1d", 2, (Value[]){val_node(c), val_node(w)}, 1, kw, huge)),
                  "conv1d() got stride=1, padding=0, dilation=9223372036854775807, groups=1; the limit is 2147483648");
  assert_contains(err(th_node(g, OP_CALL_FUNCTION, "conv1d", 2, (Value[]){val_node(c), val_node(th_input(g, "wd", "f64[8,4,3]"))})),
                  "conv1d() expects input and weight of one dtype, got f32[B,4,10] and f64[8,4,3]");
}

static void test_flatten_softmax_modules(void **state) {
  Node *x = th_input(g, "x", "f32[B,4,4]");
  assert_string_equal(ok(mod_call("Flatten", 0, NULL, x)), "f32[B,16]");
  assert_string_equal(ok(mod_call("Flatten", 2, (int64_t[]){2, -1}, x)), "f32[B,4,4]");
  assert_contains(err(mod_call("Flatten", 2, (int64_t[]){0, -1}, x)), "cannot flatten dims 0..2 of f32[B,4,4]");
  assert_string_equal(ok(mod_call("Flatten", 2, (int64_t[]){0, -1}, th_input(g, "x0", "f32[B,0,4]"))), "f32[0]");
  assert_contains(err(mod_call("Flatten", 2, (int64_t[]){1, 5}, x)), "end_dim=5, out of range for f32[B,4,4]");
  assert_string_equal(ok(mod_call("Softmax", 1, (int64_t[]){-1}, x)), "f32[B,4,4]");
  assert_contains(err(mod_call("Softmax", 1, (int64_t[]){3}, x)), "Softmax(dim=3) got dim=3, out of range");
  /* dim=None: PyTorch's legacy choice */
  assert_string_equal(ok(mod_call("Softmax", 0, NULL, x)), "f32[B,4,4]");
  assert_string_equal(ok(mod_call("ReLU", 0, NULL, x)), "f32[B,4,4]");
  assert_string_equal(ok(mod_call("Dropout", 0, NULL, x)), "f32[B,4,4]");
  assert_string_equal(ok(mod_call("Identity", 0, NULL, x)), "f32[B,4,4]");
}

static void test_sequential_call(void **state) {
  Node *x = th_input(g, "x", "f32[B,16]");
  Module *seq = th_module(g, NULL, "seq", "Sequential", 0, NULL);
  th_module(g, seq, "0", "Linear", 2, (int64_t[]){16, 8});
  th_module(g, seq, "1", "ReLU", 0, NULL);
  th_module(g, seq, "2", "Linear", 2, (int64_t[]){8, 5});
  assert_string_equal(ok(call(OP_CALL_MODULE, "seq", x)), "f32[B,5]");
  Module *bad = th_module(g, NULL, "bad", "Sequential", 0, NULL);
  th_module(g, bad, "0", "Linear", 2, (int64_t[]){16, 8});
  th_module(g, bad, "1", "Linear", 2, (int64_t[]){4, 5});
  assert_contains(err(call(OP_CALL_MODULE, "bad", x)), "Linear(in_features=4, out_features=5) expects 4 input features, got f32[B,8]");
}

static void test_broadcast(void **state) {
  Node *a = th_input(g, "a", "f32[B,16]");
  Node *b = th_input(g, "b", "f32[16]");
  Node *c = th_input(g, "c", "f32[B,1]");
  Node *d = th_input(g, "d", "f32[1,16]");
  Node *e = th_input(g, "e", "f32[B,8]");
  Node *f = th_input(g, "f", "f32[4,16]");
  Node *h = th_input(g, "h", "f32[C,16]");
  Node *i = th_input(g, "i", "i64[B,16]");
  Node *j = th_input(g, "j", "f64[16]");
  Node *k = th_input(g, "k", "bool[16]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "add", val_node(a), val_node(b))), "f32[B,16]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "mul", val_node(c), val_node(d))), "f32[B,16]");
  assert_string_equal(ok(call2(OP_CALL_METHOD, "sub", val_node(a), val_node(a))), "f32[B,16]");
  assert_string_equal(err(call2(OP_CALL_FUNCTION, "add", val_node(a), val_node(e))),
                      "error: add() cannot broadcast f32[B,16] with f32[B,8]: 16 vs 8 in dim -1\n");
  assert_contains(err(call2(OP_CALL_FUNCTION, "add", val_node(a), val_node(f))),
                  "add() cannot broadcast f32[B,16] with f32[4,16]: B vs 4 in dim -2 is not known to match");
  assert_contains(err(call2(OP_CALL_FUNCTION, "add", val_node(a), val_node(h))), "B vs C in dim -2 is not known to match");
  /* dtypes: promotion, numbers, true division */
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "add", val_node(i), val_node(i))), "i64[B,16]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "add", val_node(i), val_float(2.5))), "f32[B,16]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "mul", val_int(2), val_node(i))), "i64[B,16]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "div", val_node(i), val_int(2))), "f32[B,16]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "add", val_node(a), val_node(j))), "f64[B,16]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "add", val_node(k), val_int(1))), "i64[16]");
  assert_contains(err(call2(OP_CALL_FUNCTION, "sub", val_node(k), val_node(k))), "cannot subtract with a bool tensor");
  assert_contains(err(call2(OP_CALL_FUNCTION, "add", val_int(1), val_int(2))), "add() needs at least one tensor operand");
  /* torch.result_type: a 0-d tensor changes a dimensioned one's dtype only from a lower
   * category; bool is refused by sub whatever the other operand */
  Node *f64s = th_input(g, "f64s", "f64[]");
  Node *i64s = th_input(g, "i64s", "i64[]");
  Node *i32 = th_input(g, "i32", "i32[16]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "add", val_node(a), val_node(f64s))), "f32[B,16]");
  assert_string_equal(ok(call2(OP_CALL_METHOD, "mul", val_node(f64s), val_node(a))), "f32[B,16]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "add", val_node(i32), val_node(i64s))), "i32[16]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "add", val_node(i32), val_node(f64s))), "f64[16]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "add", val_node(f64s), val_float(1.5))), "f64[]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "add", val_node(k), val_node(i64s))), "i64[16]");
  assert_contains(err(call2(OP_CALL_FUNCTION, "sub", val_node(a), val_node(k))), "cannot subtract with a bool tensor");
  assert_contains(err(call2(OP_CALL_FUNCTION, "sub", val_node(k), val_int(1))), "cannot subtract with a bool tensor");
}

static void test_matmul(void **state) {
  Node *v = th_input(g, "v", "f32[16]");
  Node *a = th_input(g, "a", "f32[B,16]");
  Node *w = th_input(g, "w", "f32[16,5]");
  Node *p = th_input(g, "p", "f32[2,1,3,4]");
  Node *q = th_input(g, "q", "f32[5,4,6]");
  Node *r = th_input(g, "r", "f32[8,5]");
  Node *s = th_input(g, "s", "f64[16,5]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "matmul", val_node(v), val_node(v))), "f32[]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "matmul", val_node(a), val_node(w))), "f32[B,5]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "matmul", val_node(v), val_node(w))), "f32[5]");
  assert_string_equal(ok(call2(OP_CALL_METHOD, "matmul", val_node(a), val_node(v))), "f32[B]");
  assert_string_equal(ok(call2(OP_CALL_FUNCTION, "matmul", val_node(p), val_node(q))), "f32[2,5,3,6]");
  assert_contains(err(call2(OP_CALL_FUNCTION, "matmul", val_node(a), val_node(r))),
                  "matmul() cannot multiply f32[B,16] by f32[8,5]: 16 vs 8 in the contracted dim");
  assert_contains(err(call2(OP_CALL_FUNCTION, "matmul", val_node(a), val_node(s))), "expects operands of one dtype");
}

static Node *view(const char *m, Node *x, int n, const int64_t *sizes) {
  Value args[9];
  args[0] = val_node(x);
  for (int i = 0; i < n; i++) args[i + 1] = val_int(sizes[i]);
  return th_node(g, OP_CALL_METHOD, m, n + 1, args);
}

static void test_view_reshape(void **state) {
  Node *x = th_input(g, "x", "f32[B,4,4]");
  Node *y = th_input(g, "y", "f32[2,8]");
  Node *z = th_input(g, "z", "f32[B,16]");
  Node *bb = th_input(g, "bb", "f32[B,B]");
  assert_string_equal(ok(view("view", x, 2, (int64_t[]){-1, 16})), "f32[B,16]");
  assert_string_equal(ok(view("reshape", x, 3, (int64_t[]){-1, 2, 8})), "f32[B,2,8]");
  assert_string_equal(ok(view("view", y, 1, (int64_t[]){-1})), "f32[16]");
  assert_string_equal(ok(view("view", y, 3, (int64_t[]){4, -1, 2})), "f32[4,2,2]");
  assert_string_equal(ok(view("reshape", y, 2, (int64_t[]){4, 4})), "f32[4,4]");
  assert_contains(err(view("view", z, 2, (int64_t[]){-1, 8})), "view() cannot be known for f32[B,16]: the -1 would be 2*B");
  assert_contains(err(view("view", z, 2, (int64_t[]){-1, 32})), "the -1 would be B/2");
  assert_contains(err(view("view", z, 2, (int64_t[]){4, 4})), "the element count depends on B");
  assert_contains(err(view("view", bb, 1, (int64_t[]){-1})), "more than one symbolic dim");
  assert_contains(err(view("view", y, 2, (int64_t[]){-1, -1})), "only one dimension can be -1");
  assert_contains(err(view("view", y, 2, (int64_t[]){5, -1})), "view() is invalid for f32[2,8] (16 elements)");
  assert_contains(err(view("view", y, 2, (int64_t[]){4, 5})), "20 elements requested, the input has 16");
  assert_contains(err(view("view", y, 2, (int64_t[]){-2, 8})), "invalid size -2");
  assert_contains(err(view("view", y, 0, NULL)), "view() needs at least one size, input f32[2,8]");
}

static void test_unary_transpose(void **state) {
  Node *x = th_input(g, "x", "f32[B,16]");
  Node *x3 = th_input(g, "x3", "f32[B,2,3]");
  Node *k = th_input(g, "k", "bool[3]");
  assert_string_equal(ok(call(OP_CALL_FUNCTION, "relu", x)), "f32[B,16]");
  assert_string_equal(ok(call(OP_CALL_METHOD, "relu", x)), "f32[B,16]");
  assert_string_equal(ok(call(OP_CALL_FUNCTION, "sigmoid", x)), "f32[B,16]");
  assert_string_equal(ok(call(OP_CALL_FUNCTION, "neg", x)), "f32[B,16]");
  assert_contains(err(call(OP_CALL_FUNCTION, "neg", k)), "neg() does not take a bool tensor, got bool[3]");
  /* PyTorch's dtype rules: sigmoid/tanh compute in floating point, relu refuses bool,
   * leaky_relu and a training dropout need floating point */
  Node *i3 = th_input(g, "i3", "i64[3]");
  assert_string_equal(ok(call(OP_CALL_FUNCTION, "sigmoid", i3)), "f32[3]");
  assert_string_equal(ok(call(OP_CALL_METHOD, "tanh", k)), "f32[3]");
  assert_string_equal(ok(call(OP_CALL_FUNCTION, "relu", i3)), "i64[3]");
  assert_contains(err(call(OP_CALL_FUNCTION, "relu", k)), "relu() does not take a bool tensor");
  assert_contains(err(call(OP_CALL_FUNCTION, "leaky_relu", i3)), "leaky_relu() expects a floating-point input, got i64[3]");
  assert_contains(err(call(OP_CALL_FUNCTION, "dropout", i3)), "dropout() expects a floating-point input while training");
  const char *tkw[] = {"training"};
  Value tv[] = {val_bool(false)};
  assert_string_equal(ok(th_node_kw(g, OP_CALL_FUNCTION, "dropout", 1, (Value[]){val_node(i3)}, 1, tkw, tv)), "i64[3]");
  assert_string_equal(ok(mod_call("Sigmoid", 0, NULL, i3)), "f32[3]");
  assert_contains(err(mod_call("ReLU", 0, NULL, k)), "ReLU() does not take a bool tensor");
  Value dargs[1] = {val_node(x)};
  const char *kw[] = {"p"};
  Value kv[] = {val_float(0.2)};
  assert_string_equal(ok(th_node_kw(g, OP_CALL_FUNCTION, "dropout", 1, dargs, 1, kw, kv)), "f32[B,16]");
  assert_string_equal(ok(call(OP_CALL_METHOD, "t", x)), "f32[16,B]");
  assert_contains(err(call(OP_CALL_FUNCTION, "t", x3)), "t() expects a tensor of at most 2 dims, got f32[B,2,3]");
  Value targs[3] = {val_node(x3), val_int(0), val_int(-1)};
  assert_string_equal(ok(th_node(g, OP_CALL_METHOD, "transpose", 3, targs)), "f32[3,2,B]");
  Value bad[3] = {val_node(x3), val_int(0), val_int(3)};
  assert_contains(err(th_node(g, OP_CALL_METHOD, "transpose", 3, bad)), "got dim1=3, out of range for f32[B,2,3]");
  Value fl[2] = {val_node(x3), val_int(1)};
  assert_string_equal(ok(th_node(g, OP_CALL_FUNCTION, "flatten", 2, fl)), "f32[B,6]");
  Value sm[2] = {val_node(x3), val_int(-1)};
  assert_string_equal(ok(th_node(g, OP_CALL_FUNCTION, "softmax", 2, sm)), "f32[B,2,3]");
  assert_string_equal(ok(th_node(g, OP_CALL_METHOD, "log_softmax", 2, sm)), "f32[B,2,3]");
  /* a signature error comes from ir_sig_bind, also at the node */
  assert_contains(err(call(OP_CALL_FUNCTION, "softmax", x)), "softmax() is missing argument 'dim'");
}

static void test_functional_linear(void **state) {
  th_module(g, NULL, "lin", "Linear", 2, (int64_t[]){16, 5});
  Node *x = th_input(g, "x", "f32[B,16]");
  Node *x8 = th_input(g, "x8", "f32[B,8]");
  Node *w = th_node(g, OP_GET_ATTR, "lin.weight", 0, NULL);
  Node *b = th_node(g, OP_GET_ATTR, "lin.bias", 0, NULL);
  w->type = g->params[0]->type, w->has_type = true;
  b->type = g->params[1]->type, b->has_type = true;
  assert_string_equal(ok(th_node(g, OP_CALL_FUNCTION, "linear", 3, (Value[]){val_node(x), val_node(w), val_node(b)})),
                      "f32[B,5]");
  assert_string_equal(ok(th_node(g, OP_CALL_FUNCTION, "linear", 2, (Value[]){val_node(x), val_node(w)})), "f32[B,5]");
  assert_contains(err(th_node(g, OP_CALL_FUNCTION, "linear", 2, (Value[]){val_node(x8), val_node(w)})),
                  "linear() cannot apply weight f32[5,16] to input f32[B,8]: 8 vs 16 features");
  assert_contains(err(th_node(g, OP_CALL_FUNCTION, "linear", 3, (Value[]){val_node(x), val_node(w), val_node(w)})),
                  "expects a bias of shape [5] for weight f32[5,16], got f32[5,16]");
}

static void test_untyped_input(void **state) {
  Node *x = ir_node_new(g, OP_CALL_FUNCTION, "relu", NULL, NULL, (SrcLoc){0});
  Node *y = call(OP_CALL_FUNCTION, "relu", x);
  assert_contains(err(y), "has no type yet; run the 'shape' pass first");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_placeholder_getattr_output, setup, teardown),
      cmocka_unit_test_setup_teardown(test_linear_module, setup, teardown),
      cmocka_unit_test_setup_teardown(test_located_error, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batchnorm_conv, setup, teardown),
      cmocka_unit_test_setup_teardown(test_flatten_softmax_modules, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sequential_call, setup, teardown),
      cmocka_unit_test_setup_teardown(test_broadcast, setup, teardown),
      cmocka_unit_test_setup_teardown(test_matmul, setup, teardown),
      cmocka_unit_test_setup_teardown(test_view_reshape, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unary_transpose, setup, teardown),
      cmocka_unit_test_setup_teardown(test_functional_linear, setup, teardown),
      cmocka_unit_test_setup_teardown(test_untyped_input, setup, teardown),
  };
  return cmocka_run_group_tests_name("infer", tests, NULL, NULL);
}
