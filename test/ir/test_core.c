/* test_core.c — unit tests for the IR core: arena, strbuf (sb_put_float against Python's
 * repr), strmap, diagnostics, values, signature binding, graph use lists, fx naming, erase /
 * replace, and module configuration (params, repr). */
#include "helpers.h"

#include <math.h>

/* FIPS 180-2's examples, the empty string, and a long input fed in uneven pieces (every
 * path through the partial block) against the one-shot hash. */
static void test_sha256(void **state) {
  (void)state;
  static const struct { const char *in, *hex; } v[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
  };
  uint8_t h[32];
  char hex[65];
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
    ir_sha256(v[i].in, strlen(v[i].in), h);
    ir_hex(hex, h, 32);
    assert_string_equal(hex, v[i].hex);
  }
  static char a[1000000];
  memset(a, 'a', sizeof a);
  ir_sha256(a, sizeof a, h);
  ir_hex(hex, h, 32);
  assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  IrSha256 s;
  ir_sha256_init(&s);
  for (size_t done = 0, step = 1; done < sizeof a; done += step, step = step * 3 % 191 + 1)
    ir_sha256_update(&s, a + done, done + step > sizeof a ? sizeof a - done : step);
  uint8_t h2[32];
  ir_sha256_final(&s, h2);
  assert_memory_equal(h, h2, 32);
}

/* The option wins; the variables follow in their order. */
static void test_cache_dir(void **state) {
  (void)state;
  char buf[256], home[4096] = "";
  const char *h0 = getenv("HOME");
  if (h0) snprintf(home, sizeof home, "%s", h0);
  assert_true(ir_cache_dir("/opt/x", buf, sizeof buf));
  assert_string_equal(buf, "/opt/x");
  setenv("JSCC_CACHE_DIR", "/j", 1);
  assert_true(ir_cache_dir(NULL, buf, sizeof buf));
  assert_string_equal(buf, "/j");
  unsetenv("JSCC_CACHE_DIR");
  setenv("XDG_CACHE_HOME", "/x", 1);
  assert_true(ir_cache_dir("", buf, sizeof buf));
  assert_string_equal(buf, "/x/jscc");
  unsetenv("XDG_CACHE_HOME");
  setenv("HOME", "/h", 1);
  assert_true(ir_cache_dir(NULL, buf, sizeof buf));
  assert_string_equal(buf, "/h/.cache/jscc");
  assert_false(ir_cache_dir(NULL, buf, 4)); /* does not fit */
  unsetenv("HOME");
  assert_false(ir_cache_dir(NULL, buf, sizeof buf));
  if (h0) setenv("HOME", home, 1);
}

static void test_arena(void **state) {
  (void)state;
  Arena *a = arena_new();
  assert_non_null(a);
  unsigned char *p = arena_alloc(a, 3);
  for (int i = 0; i < 3; i++) assert_int_equal(p[i], 0);
  assert_int_equal((uintptr_t)p % 16, 0);
  void *q = arena_alloc(a, 17);
  assert_int_equal((uintptr_t)q % 16, 0);
  assert_true((char *)q >= (char *)p + 16);
  void *big = arena_alloc(a, 1 << 20); /* a block of its own */
  assert_non_null(big);
  void *after = arena_alloc(a, 8);
  assert_non_null(after);
  assert_string_equal(arena_strdup(a, "hello"), "hello");
  assert_string_equal(arena_strndup(a, "hello", 3), "hel");
  assert_string_equal(arena_printf(a, "%s-%d", "x", 42), "x-42");
  assert_true(arena_bytes(a) >= (1 << 20) + 32);
  arena_free(a);
  arena_free(NULL);
}

static const char *flt(StrBuf *sb, double v) {
  sb_clear(sb);
  sb_put_float(sb, v);
  return sb_str(sb);
}

static void test_strbuf(void **state) {
  (void)state;
  StrBuf sb;
  sb_init(&sb);
  assert_string_equal(sb_str(&sb), "");
  sb_putc(&sb, 'a');
  sb_puts(&sb, "bc");
  sb_putn(&sb, "defg", 2);
  sb_printf(&sb, "%d", 12);
  assert_string_equal(sb_str(&sb), "abcde12");
  assert_int_equal(sb.len, 7);
  sb_clear(&sb);
  char big[1000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  sb_printf(&sb, "<%s>", big); /* longer than the small buffer */
  assert_int_equal(sb.len, 1001);
  sb_clear(&sb);
  sb_puts(&sb, "ab");
  sb_pad(&sb, 5, 2);
  sb_putc(&sb, '|');
  assert_string_equal(sb_str(&sb), "ab   |");
  sb_clear(&sb);
  sb_put_quoted(&sb, "a\"b\\c\nd\te\rf\x01g\x7f");
  assert_string_equal(sb_str(&sb), "\"a\\\"b\\\\c\\nd\\te\\rf\\x01g\\x7f\"");
  /* Python's repr(float) */
  assert_string_equal(flt(&sb, 5.0), "5.0");
  assert_string_equal(flt(&sb, 1e-05), "1e-05");
  assert_string_equal(flt(&sb, 0.1), "0.1");
  assert_string_equal(flt(&sb, -0.0), "-0.0");
  assert_string_equal(flt(&sb, 0.0), "0.0");
  assert_string_equal(flt(&sb, 0.0001), "0.0001");
  assert_string_equal(flt(&sb, 1e16), "1e+16");
  assert_string_equal(flt(&sb, 1234567890123456.0), "1234567890123456.0");
  assert_string_equal(flt(&sb, 123456789012345678.0), "1.2345678901234568e+17");
  assert_string_equal(flt(&sb, 0.1 + 0.2), "0.30000000000000004");
  assert_string_equal(flt(&sb, sqrt(5.0)), "2.23606797749979");
  assert_string_equal(flt(&sb, 5e-324), "5e-324");
  assert_string_equal(flt(&sb, 1e22), "1e+22");
  assert_string_equal(flt(&sb, -1.5), "-1.5");
  assert_string_equal(flt(&sb, 100.0), "100.0");
  assert_string_equal(flt(&sb, NAN), "nan");
  assert_string_equal(flt(&sb, INFINITY), "inf");
  assert_string_equal(flt(&sb, -INFINITY), "-inf");
  sb_free(&sb);
  assert_null(sb.data);
}

static void test_strmap(void **state) {
  (void)state;
  StrMap m;
  strmap_init(&m);
  assert_null(strmap_get(&m, "a"));
  assert_false(strmap_del(&m, "a"));
  static char keys[2000][8];
  for (int i = 0; i < 2000; i++) {
    snprintf(keys[i], sizeof keys[i], "k%d", i);
    assert_int_equal(strmap_put(&m, keys[i], (void *)(intptr_t)(i + 1)), JS_OK);
  }
  for (int i = 0; i < 2000; i++) assert_int_equal((intptr_t)strmap_get(&m, keys[i]), i + 1);
  assert_int_equal(strmap_put(&m, keys[5], (void *)(intptr_t)99), JS_OK);
  assert_int_equal((intptr_t)strmap_get(&m, "k5"), 99);
  assert_true(strmap_del(&m, "k7"));
  assert_null(strmap_get(&m, "k7"));
  assert_int_equal((intptr_t)strmap_get(&m, "k8"), 9);
  assert_int_equal(strmap_put(&m, keys[7], (void *)(intptr_t)7), JS_OK);
  assert_int_equal((intptr_t)strmap_get(&m, "k7"), 7);
  assert_true(ir_hash_str("a") != ir_hash_str("b"));
  strmap_free(&m);
}

static void test_diag(void **state) {
  (void)state;
  Arena *a = arena_new();
  SrcFile *f = diag_src_from_string(a, "m.jsc", "line one\n  h = Linaer(16, 5)\n", 30);
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(diag_error(&d, (SrcLoc){f, 2, 7}, "unknown module '%s'", "Linaer"), JS_ERR);
  assert_string_equal(sb_str(&d.text), "m.jsc:2:7: error: unknown module 'Linaer'\n"
                                       "    2 |   h = Linaer(16, 5)\n"
                                       "      |       ^\n");
  diag_warning(&d, (SrcLoc){0}, "w");
  assert_int_equal(d.nerrors, 1);
  assert_int_equal(d.nwarnings, 1);
  assert_int_equal(diag_oom(&d), JS_ENOMEM);
  d.max_errors = 3;
  diag_error(&d, (SrcLoc){0}, "e3");
  assert_true(diag_too_many(&d));
  diag_error(&d, (SrcLoc){0}, "e4");
  assert_true(d.capped);
  assert_contains(sb_str(&d.text), "too many errors");
  diag_free(&d);
  const char *c[] = {"Linear", "ReLU", NULL, "Conv1d"};
  assert_string_equal(diag_closest("Linaer", c, 4), "Linear");
  assert_string_equal(diag_closest("relu", c, 4), "ReLU");
  assert_null(diag_closest("Transformer", c, 4));

  /* A long line is quoted as a window around the column; CRLF's \r is not shown. */
  char line[600];
  memset(line, 'a', sizeof line);
  line[500] = 'Z';
  memcpy(line + sizeof line - 2, "\r\n", 2);
  SrcFile *lf = diag_src_from_string(a, "long.jsc", line, sizeof line);
  diag_init(&d, NULL);
  diag_error(&d, (SrcLoc){lf, 1, 501}, "here");
  const char *t = sb_str(&d.text);
  const char *src = strchr(t, '\n') + 1, *caret = strchr(src, '\n') + 1;
  assert_non_null(strstr(src, "| ...a"));               /* cut at the front */
  assert_true(strchr(src, 'Z') - src == caret + strcspn(caret, "^") - caret); /* caret under Z */
  assert_null(strchr(t, '?'));                          /* no \r shown as '?' */
  diag_free(&d);
  arena_free(a);
}

static void test_values(void **state) {
  (void)state;
  Graph *g = ir_graph_new("V");
  Node *x = ir_node_new(g, OP_PLACEHOLDER, "x", NULL, NULL, (SrcLoc){0});
  TensorType t = tt(DT_F32, g, 2, SYM("B"), SZ(16));
  Value items[3] = {val_node(x), val_float(1e-05), val_str("q\"")};
  Value tup = {.kind = VAL_TUPLE, .u.seq = {1, items}};
  Value lst = {.kind = VAL_LIST, .u.seq = {3, items}};
  const char *keys[] = {"a", "not ident", "t"};
  Value dv[3] = {val_none(), val_bool(true), val_type(&t)};
  Value dict = {.kind = VAL_DICT, .u.dict = {3, keys, dv}};
  StrBuf sb;
  sb_init(&sb);
  val_print(&sb, &tup);
  sb_putc(&sb, ' ');
  val_print(&sb, &lst);
  sb_putc(&sb, ' ');
  val_print(&sb, &dict);
  assert_string_equal(sb_str(&sb), "(%x,) [%x, 1e-05, \"q\\\"\"] {a=None, \"not ident\"=true, t=f32[B,16]}");
  sb_clear(&sb);
  val_print_py(&sb, &lst);
  assert_string_equal(sb_str(&sb), "[x, 1e-05, 'q\"']");
  Value copy;
  assert_int_equal(val_copy(g->arena, &dict, &copy), JS_OK);
  assert_true(val_equal(&dict, &copy));
  assert_ptr_not_equal(copy.u.dict.keys, keys);
  Value n1 = val_float(NAN), n2 = val_float(NAN);
  assert_true(val_equal(&n1, &n2));
  assert_false(val_equal(&items[0], &items[1]));
  sb_free(&sb);
  ir_graph_free(g);
}

/* ew.def: every line parses, names an elementwise op with a gradient, and its backward
 * formula is the derivative of its forward one (central differences in double, at the op's
 * default arguments and the variant's value); NaN propagates through every forward. */
static void test_ew_table(void **state) {
  (void)state;
  const char *bad = NULL;
  assert_true(ir_ew_check_table(&bad));
  int nd = 0;
  for (const EwDef *d; (d = ir_ew_def(nd)); nd++) {
    const OpInfo *oi = ir_op_info(d->op);
    assert_int_equal(oi->props & (P_EW | P_GRAD), P_EW | P_GRAD);
    Value b[12];
    for (int i = 0; i < oi->sig.n; i++) b[i] = oi->sig.params[i].has_default ? oi->sig.params[i].def : val_none();
    if (d->variant_value) b[d->variant_param] = val_str(d->variant_value);
    assert_ptr_equal(ir_ew_find(d->op, b), d);
    double prm[IR_EW_MAX_PARAMS];
    ir_ew_params(d, b, prm);
    static const double xs[] = {-3.1, -1.2, -0.4, 0.3, 0.9, 2.6};
    for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) {
      double x = xs[k], h = 1e-6;
      double y = ir_ew_eval(&d->fwd, x, 0, 0, prm);
      double fd = (ir_ew_eval(&d->fwd, x + h, 0, 0, prm) - ir_ew_eval(&d->fwd, x - h, 0, 0, prm)) / (2 * h);
      double an = ir_ew_eval(&d->bwd, x, y, 1.5, prm) / 1.5;
      if (fabs(an - fd) > 1e-6 * (1 + fabs(fd))) fail_msg("%s: d/dx at %g is %.9g, finite differences %.9g", oi->name, x, an, fd);
    }
    assert_true(isnan(ir_ew_eval(&d->fwd, NAN, 0, 0, prm)));
  }
  assert_true(nd >= 4);
  assert_true(isnan(ir_ew_apply(EWP_MAX, NAN, 0, 0)) && isnan(ir_ew_apply(EWP_MAX, 0, NAN, 0)));
  assert_true(isnan(ir_ew_apply(EWP_MIN, NAN, 1, 0)) && isnan(ir_ew_apply(EWP_MIN, 1, NAN, 0)));
  assert_true(ir_ew_apply(EWP_SEL, NAN, 1, 2) == 2);
  assert_null(ir_ew_find(MOP_LINEAR, NULL));
}

/* The formulas of ew.def in double against PyTorch's values (ew_torch.txt, next to this file). */
static void test_ew_torch(void **state) {
  (void)state;
  char path[512];
  const char *slash = strrchr(__FILE__, '/');
  snprintf(path, sizeof path, "%.*sew_torch.txt", slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char line[512], opname[64], kw[256];
  int checked = 0;
  double worst = 0;
  while (fgets(line, sizeof line, f)) {
    double x, y, dx;
    if (line[0] == '#') continue;
    assert_int_equal(sscanf(line, "%63s %255s %lf %lf %lf", opname, kw, &x, &y, &dx), 5);
    MaseOp op = ir_op_lookup(opname);
    if (op == MOP_NONE) fail_msg("ew_torch.txt: unknown op %s", opname);
    const OpInfo *oi = ir_op_info(op);
    Value b[12];
    for (int i = 0; i < oi->sig.n; i++) b[i] = oi->sig.params[i].has_default ? oi->sig.params[i].def : val_none();
    for (char *tok = strcmp(kw, "-") ? strtok(kw, ",") : NULL; tok; tok = strtok(NULL, ",")) {
      char *eq = strchr(tok, '=');
      assert_non_null(eq);
      *eq = 0;
      int i = 1;
      while (i < oi->sig.n && strcmp(oi->sig.params[i].name, tok)) i++;
      assert_true(i < oi->sig.n);
      char *end;
      double v = strtod(eq + 1, &end);
      b[i] = *end ? val_str(eq + 1) : val_float(v);
    }
    const EwDef *d = ir_ew_find(op, b);
    if (!d) fail_msg("%s has no formula", opname);
    double prm[IR_EW_MAX_PARAMS];
    ir_ew_params(d, b, prm);
    double gy = ir_ew_eval(&d->fwd, x, 0, 0, prm), gdx = ir_ew_eval(&d->bwd, x, gy, 1, prm);
    double e = fmax(fabs(gy - y), fabs(gdx - dx)) / (1 + fabs(y) + fabs(dx));
    if (!(e <= 1e-12)) fail_msg("%s(%g) [%s]: %.17g, d/dx %.17g; PyTorch %.17g, %.17g", opname, x, kw, gy, gdx, y, dx);
    worst = fmax(worst, e);
    checked++;
  }
  fclose(f);
  printf("ew.def against PyTorch: %d points, worst difference %.1e\n", checked, worst);
  assert_true(checked >= 40);
}

static void test_sig_bind(void **state) {
  (void)state;
  Sig sig;
  assert_true(ir_sig_parse("input:tensor, dim:int, p:float=0.5, name:str?=None", &sig));
  assert_int_equal(sig.n, 4);
  assert_true(sig.params[3].optional);
  Arena *a = arena_new();
  Diag d;
  diag_init(&d, NULL);
  Graph *g = ir_graph_new("S");
  Node *x = ir_node_new(g, OP_PLACEHOLDER, "x", NULL, NULL, (SrcLoc){0});
  Value args[3] = {val_node(x), val_int(1), val_int(2)};
  Value bound[12];
  assert_int_equal(ir_sig_bind(&sig, "f", 3, args, 0, NULL, NULL, a, bound, &d, (SrcLoc){0}), JS_OK);
  assert_int_equal(bound[2].kind, VAL_FLOAT); /* int converted to float */
  assert_int_equal(bound[3].kind, VAL_NONE);
  const char *kn[] = {"dmi"};
  Value kv[] = {val_int(1)};
  assert_int_equal(ir_sig_bind(&sig, "f", 1, args, 1, kn, kv, a, bound, &d, (SrcLoc){0}), JS_ERR);
  assert_contains(sb_str(&d.text), "did you mean 'dim'");
  assert_int_equal(ir_sig_bind(&sig, "f", 1, args, 0, NULL, NULL, a, bound, &d, (SrcLoc){0}), JS_ERR);
  assert_contains(sb_str(&d.text), "missing argument 'dim'");
  Value five[5] = {val_node(x), val_int(1), val_int(2), val_none(), val_int(3)};
  assert_int_equal(ir_sig_bind(&sig, "f", 5, five, 0, NULL, NULL, a, bound, &d, (SrcLoc){0}), JS_ERR);
  assert_contains(sb_str(&d.text), "takes at most 4 positional arguments");
  Value bad[2] = {val_node(x), val_str("s")};
  assert_int_equal(ir_sig_bind(&sig, "f", 2, bad, 0, NULL, NULL, a, bound, &d, (SrcLoc){0}), JS_ERR);
  assert_contains(sb_str(&d.text), "argument 'dim' must be int");
  /* varargs: view(x, 2, 8) */
  const OpInfo *view = ir_op_info(ir_op_lookup("view"));
  Value vargs[3] = {val_node(x), val_int(2), val_int(8)};
  assert_int_equal(ir_sig_bind(&view->sig, "view", 3, vargs, 0, NULL, NULL, a, bound, &d, (SrcLoc){0}), JS_OK);
  assert_int_equal(bound[1].kind, VAL_TUPLE);
  assert_int_equal(bound[1].u.seq.n, 2);
  /* every table signature parses */
  for (int i = 0; i < MOP_COUNT; i++) assert_non_null(ir_op_info((MaseOp)i));
  assert_int_equal(ir_op_info(MOP_CONV1D)->sig.n, 7);
  assert_int_equal(ir_module_info(MT_BATCHNORM1D)->sig.n, 5);
  ir_graph_free(g);
  diag_free(&d);
  arena_free(a);
}

static void test_graph_users(void **state) {
  (void)state;
  Graph *g = ir_graph_new("U");
  Node *x = ir_node_new(g, OP_PLACEHOLDER, "x", NULL, NULL, (SrcLoc){0});
  Node *y = ir_node_new(g, OP_PLACEHOLDER, "y", NULL, NULL, (SrcLoc){0});
  Node *add = ir_node_new(g, OP_CALL_FUNCTION, "add", NULL, NULL, (SrcLoc){0});
  Value a2[2] = {val_node(x), val_node(x)};
  assert_int_equal(ir_node_set_args(add, 2, a2, 0, NULL, NULL), JS_OK);
  assert_int_equal(x->nusers, 1); /* a node mentioned twice is one user */
  assert_ptr_equal(x->users[0], add);
  Value b2[2] = {val_node(x), val_node(y)};
  assert_int_equal(ir_node_set_args(add, 2, b2, 0, NULL, NULL), JS_OK);
  assert_int_equal(x->nusers, 1);
  assert_int_equal(y->nusers, 1);
  Node *mul = ir_node_new(g, OP_CALL_FUNCTION, "mul", NULL, NULL, (SrcLoc){0});
  Value inner[1] = {val_node(add)};
  Value list = {.kind = VAL_LIST, .u.seq = {1, inner}};
  const char *kn[] = {"other"};
  Value m1 = val_node(y);
  assert_int_equal(ir_node_set_args(mul, 1, &m1, 1, kn, &list), JS_OK); /* nested in a kwarg */
  assert_int_equal(add->nusers, 1);
  assert_int_equal(y->nusers, 2);
  /* replace uses of y by x */
  assert_int_equal(ir_node_replace_uses(y, x), JS_OK);
  assert_int_equal(y->nusers, 0);
  assert_int_equal(x->nusers, 2);
  assert_ptr_equal(mul->args[0].u.node, x);
  assert_int_equal(ir_node_erase(x), JS_EUSAGE); /* has users */
  assert_int_equal(ir_node_erase(y), JS_OK);
  assert_null(ir_graph_find_node(g, "y"));
  assert_int_equal(g->nnodes, 3);
  assert_ptr_equal(g->first, x);
  assert_ptr_equal(x->next, add);
  /* insert before */
  Node *z = ir_node_new(g, OP_CALL_FUNCTION, "relu", NULL, add, (SrcLoc){0});
  assert_ptr_equal(x->next, z);
  assert_ptr_equal(z->next, add);
  ir_graph_renumber(g);
  assert_int_equal(add->index, 2);
  assert_int_equal(ir_node_erase(mul), JS_OK);
  assert_int_equal(add->nusers, 0);
  assert_ptr_equal(g->last, add);
  ir_graph_free(g);
}

static void test_fx_naming(void **state) {
  (void)state;
  Graph *g = ir_graph_new("N");
  Module *seq = ir_module_new(g, NULL, "seq_blocks", MT_SEQUENTIAL, (SrcLoc){0});
  ir_module_new(g, seq, "0", MT_RELU, (SrcLoc){0});
  Node *a = ir_node_new(g, OP_CALL_MODULE, "seq_blocks.0", NULL, NULL, (SrcLoc){0});
  assert_string_equal(a->name, "seq_blocks_0");
  assert_non_null(a->module);
  assert_int_equal(a->mop, MOP_RELU);
  Node *b = ir_node_new(g, OP_CALL_FUNCTION, "add", NULL, NULL, (SrcLoc){0});
  Node *c = ir_node_new(g, OP_CALL_FUNCTION, "add", NULL, NULL, (SrcLoc){0});
  Node *e = ir_node_new(g, OP_CALL_FUNCTION, "add", NULL, NULL, (SrcLoc){0});
  assert_string_equal(b->name, "add");
  assert_string_equal(c->name, "add_1");
  assert_string_equal(e->name, "add_2");
  assert_int_equal(b->mop, MOP_ADD);
  Node *f = ir_node_new(g, OP_CALL_METHOD, "BatchNorm", NULL, NULL, (SrcLoc){0});
  assert_string_equal(f->name, "batch_norm");
  Node *p = ir_node_new(g, OP_PLACEHOLDER, "1x", NULL, NULL, (SrcLoc){0});
  assert_string_equal(p->name, "_1x");
  Node *o = ir_node_new(g, OP_OUTPUT, "output", NULL, NULL, (SrcLoc){0});
  assert_string_equal(o->name, "output");
  assert_ptr_equal(ir_graph_output(g), o);
  assert_null(ir_node_new(g, OP_CALL_FUNCTION, "add", "add_1", NULL, (SrcLoc){0})); /* name taken */
  assert_string_equal(ir_graph_unique_name(g, "add_1"), "add_3");
  ir_graph_free(g);
}

static void test_modules(void **state) {
  (void)state;
  Graph *g = build_tiny(NULL);
  Module *bn = ir_graph_find_module(g, "seq_blocks.0");
  assert_non_null(bn);
  assert_int_equal(bn->nparams, 5);
  assert_string_equal(bn->params[4]->qualname, "seq_blocks.0.num_batches_tracked");
  assert_int_equal(bn->params[4]->type.dtype, DT_I64);
  assert_int_equal(bn->params[2]->kind, PK_BUFFER);
  Param *w = ir_graph_find_param(g, "seq_blocks.2.weight");
  assert_non_null(w);
  assert_int_equal(w->type.rank, 2);
  assert_int_equal(w->type.dims[0].size, 5);
  assert_int_equal(w->type.dims[1].size, 16);
  assert_int_equal(w->init.kind, INIT_KAIMING_UNIFORM);
  Param *b = ir_graph_find_param(g, "seq_blocks.2.bias");
  assert_true(fabs(b->init.args[1] - 0.25) < 1e-12);
  int64_t np = 0, nb = 0;
  ir_module_count(g->root, &np, &nb);
  assert_int_equal(np, 117); /* jsc-tiny's trainable parameters */
  assert_int_equal(nb, 33);
  const Value *eps = ir_module_arg(bn, "eps");
  assert_int_equal(eps->kind, VAL_FLOAT);
  /* the one parameter lookup and the one BatchNorm fold every layer uses */
  assert_ptr_equal(ir_module_param(bn, "running_var"), bn->params[3]);
  assert_null(ir_module_param(bn, "weights"));
  assert_null(ir_module_param(NULL, "weight"));
  assert_true(ir_module_num(bn, "eps", 0) == 1e-5);
  assert_true(ir_module_num(bn, "num_features", 0) == 16);
  assert_true(ir_module_num(bn, "nonesuch", 7) == 7);
  double t, s = ir_bn_fold(2.0, 1.0, 0.5, 3.0, 1.0, &t); /* s = 2 / sqrt(3 + 1), t = 1 - 0.5 s */
  assert_true(s == 1.0 && t == 0.5);
  s = ir_bn_fold(1.0, 0.0, -2.0, 0.25, 0.0, &t);
  assert_true(s == 2.0 && t == 4.0);
  StrBuf sb;
  sb_init(&sb);
  ir_module_repr(&sb, ir_graph_find_module(g, "seq_blocks.2"));
  assert_string_equal(sb_str(&sb), "Linear(in_features=16, out_features=5, bias=True)");
  sb_clear(&sb);
  ir_module_repr(&sb, ir_graph_find_module(g, "seq_blocks.1"));
  assert_string_equal(sb_str(&sb), "ReLU(inplace=True)");
  sb_clear(&sb);
  ir_module_repr(&sb, bn);
  assert_string_equal(sb_str(&sb), "BatchNorm1d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)");
  sb_free(&sb);
  /* configure refuses bad and absurd arguments */
  Diag d;
  diag_init(&d, NULL);
  Module *m = ir_module_new(g, NULL, "huge", MT_LINEAR, (SrcLoc){0});
  Value la[2] = {val_int(1 << 30), val_int(1 << 30)};
  assert_int_equal(ir_module_configure(g, m, 2, la, 0, NULL, NULL, &d, (SrcLoc){0}), JS_ERR);
  assert_contains(sb_str(&d.text), "refusing to allocate");
  Module *m2 = ir_module_new(g, NULL, "neg", MT_LINEAR, (SrcLoc){0});
  Value lb[2] = {val_int(0), val_int(3)};
  assert_int_equal(ir_module_configure(g, m2, 2, lb, 0, NULL, NULL, &d, (SrcLoc){0}), JS_ERR);
  assert_contains(sb_str(&d.text), "in_features must be at least 1");
  diag_free(&d);
  assert_null(ir_module_new(g, NULL, "huge", MT_RELU, (SrcLoc){0})); /* path taken */
  ir_graph_free(g);
}

static void test_meta(void **state) {
  (void)state;
  Graph *g = ir_graph_new("M");
  Node *x = ir_node_new(g, OP_PLACEHOLDER, "x", NULL, NULL, (SrcLoc){0});
  assert_null(ir_meta_get(x, "k"));
  char key[8] = "k";
  assert_int_equal(ir_meta_set(x, key, val_int(1)), JS_OK);
  key[0] = 'z'; /* the key was copied */
  assert_int_equal(ir_meta_set(x, "j", val_str("s")), JS_OK);
  assert_int_equal(ir_meta_set(x, "k", val_int(2)), JS_OK);
  assert_int_equal(x->meta.u.dict.n, 2);
  assert_int_equal(ir_meta_get(x, "k")->u.i, 2);
  for (int i = 0; i < 20; i++) {
    char k[16];
    snprintf(k, sizeof k, "m%d", i);
    assert_int_equal(ir_meta_set(x, k, val_int(i)), JS_OK);
  }
  assert_int_equal(ir_meta_get(x, "m19")->u.i, 19);
  assert_string_equal(ir_meta_get(x, "j")->u.s, "s");
  ir_meta_clear(x);
  assert_null(ir_meta_get(x, "k"));
  ir_graph_free(g);
}

static void test_type_helpers(void **state) {
  (void)state;
  Graph *g = ir_graph_new("T");
  TensorType a = tt(DT_F32, g, 2, SYM("B"), SZ(16)), b = tt(DT_F32, g, 2, SYM("B"), SZ(16));
  TensorType c = tt(DT_F32, g, 2, SZ(4), SZ(16));
  assert_true(ir_type_equal(&a, &b));
  assert_false(ir_type_equal(&a, &c));
  assert_int_equal(ir_type_numel(&a), -1);
  assert_int_equal(ir_type_numel(&c), 64);
  TensorType big = tt(DT_F32, g, 3, SZ(1 << 20), SZ(1 << 20), SZ(1 << 20));
  assert_true(ir_type_numel(&big) > IR_MAX_NUMEL);
  StrBuf sb;
  sb_init(&sb);
  TensorType s = {.dtype = DT_I64};
  ir_type_print(&sb, &s);
  assert_string_equal(sb_str(&sb), "i64[]");
  sb_free(&sb);
  DType dt;
  assert_true(ir_dtype_parse("bool", &dt));
  assert_int_equal(ir_dtype_bytes(dt), 1);
  assert_false(ir_dtype_parse("f16", &dt));
  NodeKind k;
  assert_true(ir_node_kind_parse("call_method", &k));
  assert_int_equal(k, OP_CALL_METHOD);
  InitKind ik;
  assert_true(ir_init_parse("kaiming_uniform", &ik));
  assert_int_equal(ir_init_nargs(ik), 1);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arena),        cmocka_unit_test(test_strbuf),     cmocka_unit_test(test_strmap),
      cmocka_unit_test(test_diag),         cmocka_unit_test(test_values),     cmocka_unit_test(test_sig_bind), cmocka_unit_test(test_ew_table), cmocka_unit_test(test_ew_torch),
      cmocka_unit_test(test_graph_users),  cmocka_unit_test(test_fx_naming),  cmocka_unit_test(test_modules),
      cmocka_unit_test(test_meta),         cmocka_unit_test(test_type_helpers),
      cmocka_unit_test(test_sha256),       cmocka_unit_test(test_cache_dir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
