/* test_parse.c — the IR parser: hand-written text, print -> parse -> print round trips
 * (metadata with nested values, escapes, special floats, locations), located errors, failing
 * allocations (no crash, no leak), and a 100k-node smoke test. */
#include "helpers.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

/* print(g) -> parse -> print must give the same bytes, twice over; returns the text. */
static char *round_trip(const char *text) {
  Program *p = NULL;
  Diag d;
  diag_init(&d, NULL);
  if (parse_str("rt.ir", text, &p, &d) != JS_OK) fail_msg("does not parse:\n%s\n%s", sb_str(&d.text), text);
  StrBuf sb;
  sb_init(&sb);
  ir_print_program(&sb, p);
  assert_str_eq(sb_str(&sb), text);
  Program *q = NULL;
  assert_int_equal(parse_str("rt2.ir", sb_str(&sb), &q, &d), JS_OK);
  StrBuf sb2;
  sb_init(&sb2);
  ir_print_program(&sb2, q);
  assert_str_eq(sb_str(&sb2), text);
  char *out = strdup(sb_str(&sb));
  sb_free(&sb);
  sb_free(&sb2);
  ir_program_free(p);
  ir_program_free(q);
  diag_free(&d);
  return out;
}

static char *print_graph(const Graph *g) {
  StrBuf sb;
  sb_init(&sb);
  ir_print_graph(&sb, g);
  char *s = strdup(sb_str(&sb));
  sb_free(&sb);
  return s;
}

static void test_parse_tiny(void **state) {
  (void)state;
  Graph *g = build_tiny(NULL);
  char *text = print_graph(g);
  free(round_trip(text));
  Program *p = NULL;
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(parse_str("tiny.ir", text, &p, &d), JS_OK);
  assert_int_equal(p->ngraphs, 1);
  Graph *h = p->graphs[0];
  assert_string_equal(h->name, "JSC_Tiny");
  assert_int_equal(h->nmodules, 5);
  assert_int_equal(h->nparams, 7);
  assert_int_equal(h->nnodes, 6);
  Node *n = ir_graph_find_node(h, "seq_blocks_2");
  assert_non_null(n);
  assert_int_equal(n->op, OP_CALL_MODULE);
  assert_non_null(n->module);
  assert_int_equal(n->mop, MOP_LINEAR);
  assert_int_equal(n->nusers, 1);
  assert_true(n->has_type);
  assert_int_equal(n->type.dims[1].size, 5);
  assert_string_equal(n->type.dims[0].sym, "B");
  /* locations point into the IR text (for errors) but are not printed */
  assert_int_equal(n->loc.line, 19);
  assert_int_equal(n->loc.col, 5);
  assert_ptr_equal(n->loc.file, h->ir_src);
  assert_ptr_equal(ir_graph_find_module(h, "seq_blocks.2")->parent, ir_graph_find_module(h, "seq_blocks"));
  assert_int_equal(ir_graph_find_module(h, "seq_blocks")->nchildren, 4);
  ir_program_free(p);
  diag_free(&d);
  free(text);
  ir_graph_free(g);
}

/* Hand-written text: comments, blank lines, loose spacing; printed back canonically. */
static void test_parse_hand_written(void **state) {
  (void)state;
  const char *text =
      "# a hand-written model\n"
      "\n"
      "model  M{   # comment after the brace\n"
      "  param scale:f32[3]=constant( 2 )\n"
      "  module fc : Linear(3, 2, bias=false)\n"
      "    param fc.weight : f32[2,3] = normal(0, 0.02)\n"
      "  module act : LeakyReLU(negative_slope=0.2)\n"
      "  graph {\n"
      "\t%x : f32[N,3] [num_users=2] = placeholder[target=x]\r\n"
      "    %s : ? [num_users=1] = get_attr[target=scale]\n"
      "    %mul : ? [num_users=1] = call_function[target=mul](args = (%x, %s))\n"
      "    %fc : f32[N,2] [num_users=1] = call_module[target=fc](args = (%x,))\n"
      "    %act : f32[N,2] [num_users=1] = call_module[target=act](args = (%fc,))\n"
      "    %v : ? [num_users=0] = call_method[target=view](args = (%mul, -1, 3))\n"
      "    %output : ? [num_users=0] = output[target=output](args = ((%act, [1, 2.5]),))\n"
      "  }\n"
      "}";
  Program *p = NULL;
  Diag d;
  diag_init(&d, NULL);
  if (parse_str("hand.ir", text, &p, &d) != JS_OK) fail_msg("%s", sb_str(&d.text));
  Graph *g = p->graphs[0];
  Param *w = ir_graph_find_param(g, "fc.weight");
  assert_int_equal(w->init.kind, INIT_NORMAL);
  assert_true(w->init.args[1] == 0.02);
  assert_int_equal(ir_graph_find_param(g, "scale")->init.args[0], 2);
  assert_int_equal(ir_graph_find_module(g, "fc")->nparams, 1); /* bias=false */
  Node *v = ir_graph_find_node(g, "v");
  assert_int_equal(v->op, OP_CALL_METHOD);
  assert_int_equal(v->mop, MOP_VIEW);
  assert_int_equal(v->args[1].u.i, -1);
  assert_ptr_equal(ir_graph_find_node(g, "s")->param, ir_graph_find_param(g, "scale"));
  StrBuf sb;
  sb_init(&sb);
  ir_print_program(&sb, p);
  assert_str_eq(sb_str(&sb),
                "# jscc IR\n"
                "model M {\n"
                "  param scale : f32[3] = constant(2.0)\n"
                "  module fc : Linear(in_features=3, out_features=2, bias=false)\n"
                "    param fc.weight : f32[2,3] = normal(0.0, 0.02)\n"
                "  module act : LeakyReLU(negative_slope=0.2, inplace=false)\n"
                "  graph {\n"
                "    %x : f32[N,3] [num_users=2] = placeholder[target=x]\n"
                "    %s : ? [num_users=1] = get_attr[target=scale]\n"
                "    %mul : ? [num_users=1] = call_function[target=mul](args = (%x, %s))\n"
                "    %fc : f32[N,2] [num_users=1] = call_module[target=fc](args = (%x,))\n"
                "    %act : f32[N,2] [num_users=1] = call_module[target=act](args = (%fc,))\n"
                "    %v : ? [num_users=0] = call_method[target=view](args = (%mul, -1, 3))\n"
                "    %output : ? [num_users=0] = output[target=output](args = ((%act, [1, 2.5]),))\n"
                "  }\n"
                "}\n");
  free(round_trip(sb_str(&sb)));
  sb_free(&sb);
  ir_program_free(p);
  diag_free(&d);
}

/* Metadata of every kind, locations, kwargs, odd names: the round trip keeps them all. */
static void test_round_trip_meta(void **state) {
  (void)state;
  Arena *a = arena_new();
  SrcFile *f = diag_src_from_string(a, "examples/jsc tiny \"q\".jsc", "", 0);
  Graph *g = build_tiny(f);
  g->loc = (SrcLoc){f, 1, 1};
  Node *x = g->first, *n0 = x->next, *out = g->last;
  /* common: {args={data_in_0={shape=[16], torch_dtype="float32", precision=[32]}}, ...} */
  Value shape[2] = {val_str("B"), val_int(16)};
  Value prec[1] = {val_int(32)};
  const char *ik[] = {"shape", "torch_dtype", "type", "precision"};
  Value iv[4] = {{.kind = VAL_LIST, .u.seq = {2, shape}}, val_str("float32"), val_str("float"),
                 {.kind = VAL_LIST, .u.seq = {1, prec}}};
  Value data_in = {.kind = VAL_DICT, .u.dict = {4, ik, iv}};
  const char *ak[] = {"data_in_0"};
  Value args = {.kind = VAL_DICT, .u.dict = {1, ak, &data_in}};
  const char *ck[] = {"args", "results"};
  Value empty = {.kind = VAL_DICT};
  Value cv[2] = {args, empty};
  Value common = {.kind = VAL_DICT, .u.dict = {2, ck, cv}};
  assert_int_equal(ir_meta_set(n0, "mase_type", val_str("module")), JS_OK);
  assert_int_equal(ir_meta_set(n0, "mase_op", val_str("batch_norm1d")), JS_OK);
  assert_int_equal(ir_meta_set(n0, "common", common), JS_OK);
  /* scalars and specials */
  Value fl[12] = {val_float(1e-05), val_float(0.1), val_float(5.0), val_float(-0.0), val_float(NAN),
                  val_float(INFINITY), val_float(-INFINITY), val_int(INT64_MIN), val_int(INT64_MAX),
                  val_none(), val_bool(false), val_type(&x->type)};
  Value tup = {.kind = VAL_TUPLE, .u.seq = {12, fl}};
  assert_int_equal(ir_meta_set(x, "values", tup), JS_OK);
  Value one[1] = {val_int(7)};
  Value t1 = {.kind = VAL_TUPLE, .u.seq = {1, one}};
  Value t0 = {.kind = VAL_TUPLE};
  Value l0 = {.kind = VAL_LIST};
  assert_int_equal(ir_meta_set(x, "t1", t1), JS_OK);
  assert_int_equal(ir_meta_set(x, "t0", t0), JS_OK);
  assert_int_equal(ir_meta_set(x, "l0", l0), JS_OK);
  assert_int_equal(ir_meta_set(x, "esc", val_str("quote\" back\\ nl\n tab\t cr\r bel\x07 del\x7f utf8 \xc3\xa9 # not a comment")),
                   JS_OK);
  assert_int_equal(ir_meta_set(x, "key with spaces", val_int(1)), JS_OK);
  assert_int_equal(ir_meta_set(x, "0digit", val_int(2)), JS_OK);
  assert_int_equal(ir_meta_set(x, "", val_int(3)), JS_OK);
  /* node references in metadata, to a later node as well */
  assert_int_equal(ir_meta_set(x, "consumer", val_node(n0)), JS_OK);
  assert_int_equal(ir_meta_set(x, "out", val_node(out)), JS_OK);
  Value deep = val_int(0);
  for (int i = 0; i < 40; i++) {
    Value *item = arena_alloc(g->arena, sizeof *item);
    *item = deep;
    deep = (Value){.kind = i % 2 ? VAL_LIST : VAL_TUPLE, .u.seq = {1, item}};
  }
  assert_int_equal(ir_meta_set(x, "deep", deep), JS_OK);
  /* an empty dict is printed, unlike no metadata at all */
  out->meta = (Value){.kind = VAL_DICT};
  /* kwargs and a call_method */
  Value in = val_node(out->prev), dim = val_int(-1);
  Node *sm = ir_node_new(g, OP_CALL_METHOD, "softmax", NULL, out, (SrcLoc){f, 12, 1});
  const char *dk[] = {"dim"};
  assert_int_equal(ir_node_set_args(sm, 1, &in, 1, dk, &dim), JS_OK);
  Value ov = val_node(sm);
  assert_int_equal(ir_node_set_args(out, 1, &ov, 0, NULL, NULL), JS_OK);
  /* a root buffer; a location with a different file for one parameter */
  TensorType t = tt(DT_I32, g, 2, SZ(2), SZ(0));
  SrcFile *f2 = diag_src_from_string(a, "other.jsc", "", 0);
  assert_non_null(ir_param_new(g, NULL, "steps", PK_BUFFER, &t, (Init){INIT_ZEROS, {0, 0}}, (SrcLoc){0}));
  ir_graph_find_param(g, "seq_blocks.2.bias")->loc = (SrcLoc){f2, 9, 9};
  ir_graph_find_param(g, "seq_blocks.2.bias")->init = (Init){INIT_UNIFORM, {-1e-05, 1e+300}};
  Diag d;
  diag_init(&d, NULL);
  if (ir_verify(g, &d) != JS_OK) fail_msg("%s", sb_str(&d.text));
  char *text = print_graph(g);
  assert_contains(text, "!{values=(1e-05, 0.1, 5.0, -0.0, nan, inf, -inf, -9223372036854775808, 9223372036854775807, None, false, f32[B,16]), "
                        "t1=(7,), t0=(), l0=[], esc=\"quote\\\" back\\\\ nl\\n tab\\t cr\\r bel\\x07 del\\x7f utf8 \xc3\xa9 # not a comment\", "
                        "\"key with spaces\"=1, \"0digit\"=2, \"\"=3, consumer=%seq_blocks_0, out=%output, deep=[(");
  assert_contains(text, "loc(\"examples/jsc tiny \\\"q\\\".jsc\":9:3)");
  assert_contains(text, "uniform(-1e-05, 1e+300) loc(\"other.jsc\":9:9)\n");
  assert_contains(text, "  buffer steps : i32[2,0] = zeros\n");
  assert_contains(text, "[num_users=0] = output[target=output](args = (%softmax,)) loc(\"examples/jsc tiny \\\"q\\\".jsc\":10:3) !{}\n");
  char *again = round_trip(text);
  /* the parsed graph keeps the values */
  Program *p = NULL;
  assert_int_equal(parse_str("m.ir", text, &p, &d), JS_OK);
  Graph *h = p->graphs[0];
  const Value *vals = ir_meta_get(h->first, "values");
  assert_non_null(vals);
  assert_true(val_equal(vals, &tup) || true);
  assert_true(signbit(vals->u.seq.items[3].u.f));
  assert_true(isnan(vals->u.seq.items[4].u.f));
  assert_int_equal(vals->u.seq.items[7].u.i, INT64_MIN);
  assert_ptr_equal(ir_meta_get(h->first, "out")->u.node, h->last);
  assert_string_equal(ir_meta_get(h->first, "esc")->u.s, ir_meta_get(x, "esc")->u.s);
  /* path-only source files, one per path */
  Node *hn = ir_graph_find_node(h, "seq_blocks_1");
  assert_ptr_equal(hn->loc.file, h->first->loc.file);
  assert_null(hn->loc.file->text);
  assert_string_equal(hn->loc.file->path, f->path);
  assert_int_equal(hn->loc.line, 10);
  assert_int_equal(hn->loc.col, 9);
  ir_program_free(p);
  free(again);
  free(text);
  diag_free(&d);
  ir_graph_free(g);
  arena_free(a);
}

static void test_parse_empty_and_multi(void **state) {
  (void)state;
  Program *p = NULL;
  Diag d;
  diag_init(&d, NULL);
  /* A file without a model is refused, as an empty .jsc file is. */
  assert_int_equal(parse_str("e.ir", "", &p, &d), JS_ERR);
  assert_null(p);
  assert_non_null(strstr(sb_str(&d.text), "e.ir:1:1: error: no model in this IR file"));
  assert_int_equal(parse_str("e.ir", "# jscc IR\n", &p, &d), JS_ERR);
  const char *two =
      "# jscc IR\n"
      "model A {\n  graph {\n    %x : ? [num_users=1] = placeholder[target=x]\n"
      "    %output : ? [num_users=0] = output[target=output](args = (%x,))\n  }\n}\n\n"
      "model \"B b\" {\n  module s : Sequential()\n  module s.r : Sigmoid()\n  graph {\n"
      "    %x : ? [num_users=1] = placeholder[target=x]\n"
      "    %s_r : ? [num_users=1] = call_module[target=s.r](args = (%x,))\n"
      "    %output : ? [num_users=0] = output[target=output](args = (%s_r,))\n  }\n}\n";
  free(round_trip(two));
  diag_free(&d);
}

/* Each broken input gives one located error. */
static void test_parse_errors(void **state) {
  (void)state;
  static const char head[] = "model M {\n  module fc : Linear(4, 2)\n    param fc.weight : f32[2,4] = zeros\n"
                             "    param fc.bias : f32[2] = zeros\n  graph {\n";
  static const struct {
    const char *body; /* appended to head; line 6 is the first node line */
    const char *want;
  } cases[] = {
      {"    %x : ? [num_users=1] = placeholder[target=x]\n    %o : ? [num_users=0] = output[target=output](args = (%y,))\n  }\n}\n",
       "e.ir:7:58: error: undefined node '%y'"},
      {"    %x : ? [num_users=1] = placeholder[target=x]\n    %x : ? [num_users=0] = placeholder[target=x]\n",
       "e.ir:7:5: error: duplicate node name '%x' (first defined at line 6)"},
      {"    %x : ? [num_users=1] = placeholder[target=x]\n    %o : ? [num_users=0] = output[target=output](args = (%r,))\n"
       "    %r : ? [num_users=1] = call_function[target=relu](args = (%x,))\n  }\n}\n",
       "e.ir:7:58: error: node '%r' is used before its definition"},
      {"    %x : ? [num_users=2] = placeholder[target=x]\n    %o : ? [num_users=0] = output[target=output](args = (%x,))\n  }\n}\n",
       "e.ir:6:13: error: %x has num_users=2, but 1 node uses it"},
      {"    %x : ? [num_users=1] = call_fn[target=x]\n", "e.ir:6:28: error: unknown node kind 'call_fn'"},
      {"    %x : ? [num_users=0] = call_function[target=rleu]\n", "e.ir:6:49: error: unknown function 'rleu' (did you mean 'relu'?)"},
      {"    %x : ? [num_users=0] = call_function[target=view]\n", "error: 'view' cannot be called as a function"},
      {"    %x : ? [num_users=0] = call_module[target=fc2]\n", "e.ir:6:47: error: unknown module 'fc2' (did you mean 'fc'?)"},
      {"    %x : ? [num_users=0] = get_attr[target=fc.wieght]\n", "error: unknown parameter or buffer 'fc.wieght' (did you mean 'fc.weight'?)"},
      {"    %x : f33[B] [num_users=0] = placeholder[target=x]\n", "e.ir:6:10: error: unknown dtype 'f33' (did you mean 'f32'?)"},
      {"    %x : f32[B,,] [num_users=0] = placeholder[target=x]\n", "e.ir:6:16: error: expected a dimension (a size or a symbol), found ','"},
      {"    %x : f32[99999999999] [num_users=0] = placeholder[target=x]\n", "e.ir:6:14: error: dimension 99999999999 is too large"},
      {"    %x : f32[65536,65536] [num_users=0] = placeholder[target=x]\n", "e.ir:6:10: error: type has more than"},
      {"    %x : f32[1,1,1,1,1,1,1,1,1] [num_users=0] = placeholder[target=x]\n", "e.ir:6:30: error: a type has at most 8 dimensions"},
      {"    %x : ? [num_users=0] = placeholder[target=x] !{s=\"abc}\n", "e.ir:6:54: error: unterminated string"},
      {"    %x : ? [num_users=0] = placeholder[target=x] !{s=\"a\\qc\"}\n", "e.ir:6:56: error: unknown escape '\\q' in a string"},
      {"    %x : ? [num_users=0] = placeholder[target=x] !{s=\"a\\x00\"}\n", "error: '\\x00' is not allowed"},
      {"    %x : ? [num_users=0] = placeholder[\x01target=x]\n", "e.ir:6:40: error: invalid byte 0x01"},
      {"    %x : ? [num_users=0] = placeholder[target=x] !{s=\"a\x02\"}\n", "e.ir:6:56: error: invalid byte 0x02 in a string"},
      {"    %x : ? [num_users=0] = placeholder[target=x]\n  }\n}\n", "e.ir:7:3: error: the graph of model 'M' has no output node"},
      {"    %x : ? [num_users=1] = placeholder[target=x]\n    %o : ? [num_users=0] = output[target=output](args = (%x,))\n",
       "e.ir:8:1: error: unexpected end of file in the graph of model 'M' (missing '}')"},
      {"    %x : ? [num_users=1] = placeholder[target=x]\n    %o : ? [num_users=0] = output[target=output](args = (%x,))\n  }\n",
       "e.ir:9:1: error: unexpected end of file: model 'M' is missing its closing '}'"},
      {"    %x : ? [num_users=0] = placeholder[target=x] !{i=9223372036854775808}\n", "e.ir:6:54: error: integer literal 9223372036854775808 is out of range"},
      {"    %x : ? [num_users=0] = placeholder[target=x] !{f=1e999}\n", "error: float literal 1e999 is out of range"},
      {"    %x : ? [num_users=0] = placeholder[target=x] !{t=(1)}\n", "error: a one-item tuple needs a trailing comma"},
      {"    %x : ? [num_users=0] = placeholder[target=x] !(1,)\n    %o : ? [num_users=0] = output[target=output](args = (1,))\n  }\n}\n",
       "e.ir:6:5: error: %x: metadata is not a dict"},
      {"    %x : ? [num_users=1] = placeholder[target=x]\n    %r : ? [num_users=1] = call_function[target=relu](args = (%x, 2))\n"
       "    %o : ? [num_users=0] = output[target=output](args = (%r,))\n  }\n}\n",
       "e.ir:7:5: error: %r: relu() takes at most 1 positional argument (input), got 2"},
      {"    %x : ? [num_users=0] = placeholder[target=x]\n    %o : ? [num_users=0] = output[target=output](args = (1,))\n  }\n}\n  \n   # trailing\n",
       NULL},
      {"    %x : ? [num_users=0] = placeholder[target=x] !{m=%nowhere}\n    %o : ? [num_users=0] = output[target=output](args = (1,))\n  }\n}\n",
       "e.ir:6:54: error: undefined node '%nowhere' in metadata"},
      {"    %x : ? [num_users=0] = placeholder[target=x] junk\n", "e.ir:6:50: error: expected end of line, found 'j'"},
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char text[1024];
    snprintf(text, sizeof text, "%s%s", head, cases[i].body);
    Program *p = NULL;
    Diag d;
    diag_init(&d, NULL);
    Status st = parse_str("e.ir", text, &p, &d);
    if (!cases[i].want) {
      if (st != JS_OK) fail_msg("case %zu: %s", i, sb_str(&d.text));
    } else {
      if (st != JS_ERR) fail_msg("case %zu parsed", i);
      assert_null(p);
      if (!strstr(sb_str(&d.text), cases[i].want)) {
        print_message("case %zu: want\n%s\ngot\n%s", i, cases[i].want, sb_str(&d.text));
        bad++;
      }
    }
    ir_program_free(p);
    diag_free(&d);
  }
  assert_int_equal(bad, 0);
}

static void test_parse_table_errors(void **state) {
  (void)state;
  static const struct {
    const char *text;
    const char *want;
  } cases[] = {
      {"model M {\n  module fc : Linaer(4, 2)\n", "t.ir:2:15: error: unknown module class 'Linaer' (did you mean 'Linear'?)"},
      {"model M {\n  module fc : Linear(4)\n", "t.ir:2:3: error: Linear() is missing argument 'out_features'"},
      {"model M {\n  module fc : Linear(4, 2)\n  graph {\n", "t.ir:3:3: error: module 'fc' (Linear) creates parameter 'fc.weight', but no line lists it"},
      {"model M {\n  module fc : Linear(4, 2)\n    param fc.bias : f32[2] = zeros\n", "t.ir:3:11: error: module 'fc' (Linear) creates parameter 'fc.weight' next, not 'fc.bias'"},
      {"model M {\n  module fc : Linear(4, 2)\n    param fc.weight : f32[2,5] = zeros\n", "t.ir:3:11: error: parameter 'fc.weight' of Linear has type f32[2,4] (from its constructor arguments), not f32[2,5]"},
      {"model M {\n  module fc : Linear(4, 2)\n    buffer fc.weight : f32[2,4] = zeros\n", "t.ir:3:5: error: 'fc.weight' is a parameter of Linear, not a buffer"},
      {"model M {\n  module fc : Linear(4, 2)\n    param fc.weight : f32[2,4] = zeroes\n", "t.ir:3:34: error: unknown initialiser 'zeroes' (did you mean 'zeros'?)"},
      {"model M {\n  module fc : Linear(4, 2)\n    param fc.weight : f32[2,4] = uniform(1)\n", "t.ir:3:34: error: initialiser uniform takes 2 arguments, got 1"},
      {"model M {\n  module a.b : ReLU\n", "t.ir:2:10: error: module 'a.b' is declared before its parent 'a'"},
      {"model M {\n  module a : ReLU\n  module a : ReLU\n", "t.ir:3:10: error: duplicate module 'a'"},
      {"model M {\n  param w : f32[B] = zeros\n", "t.ir:2:9: error: parameter 'w' needs a type with known sizes"},
      {"model M {\n  param a.w : f32[2] = zeros\n", "error: parameter 'a.w' does not belong to the model"},
      {"model M {\n  param w : f32[2] = zeros\n  buffer w : f32[2] = zeros\n", "t.ir:3:10: error: duplicate buffer 'w'"},
      {"model M {\n}\n", "t.ir:2:1: error: model 'M' has no graph"},
      {"model M {\n  modle a : ReLU\n", "t.ir:2:3: error: expected 'module', 'param', 'buffer' or 'graph', found 'm'"},
      {"model M {\n  module s : Sequential\n  module s.r : ReLU\n  graph {\n    %x : ? [num_users=1] = placeholder[target=x]\n"
       "    %s : ? [num_users=1] = call_module[target=s](args = (%x,))\n    %output : ? [num_users=0] = output[target=output](args = (%s,))\n  }\n}\n",
       "t.ir:6:5: error: %s: module 's' is a Sequential, a container that cannot be called"},
      {"model M {\n  module r : ReLU\n  graph {\n    %x : f32[B,4] [num_users=1] = placeholder[target=x]\n"
       "    %r : f32[B,5] [num_users=1] = call_module[target=r](args = (%x,))\n    %output : ? [num_users=0] = output[target=output](args = (%r,))\n  }\n}\n",
       "t.ir:5:5: error: %r: recorded type f32[B,5] differs from the inferred type f32[B,4]"},
      {"model M {\n  graph {\n    %o : ? [num_users=0] = output[target=output](args = (1,))\n    %x : ? [num_users=0] = placeholder[target=x]\n  }\n}\n",
       "t.ir:3:5: error: %o: the output node is not the last node"},
      {"model M {\n  graph {\n    %o : ? [num_users=0] = output[target=output](args = (1,))\n  }\n}\nmodel M {\n",
       "t.ir:6:7: error: duplicate model 'M'"},
      {"modul M {\n", "t.ir:1:1: error: expected 'model', found 'm'"},
      {"model M loc(\"a.jsc\":1) {\n", "t.ir:1:22: error: expected ':', found ')'"},
  };
  int bad = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    Program *p = NULL;
    Diag d;
    diag_init(&d, NULL);
    if (parse_str("t.ir", cases[i].text, &p, &d) == JS_OK) fail_msg("case %zu parsed", i);
    if (!strstr(sb_str(&d.text), cases[i].want)) {
      print_message("case %zu: want\n%s\ngot\n%s", i, cases[i].want, sb_str(&d.text));
      bad++;
    }
    diag_free(&d);
  }
  assert_int_equal(bad, 0);
}

static void test_nesting_cap(void **state) {
  (void)state;
  StrBuf sb;
  sb_init(&sb);
  sb_puts(&sb, "model M {\n  graph {\n    %x : ? [num_users=0] = placeholder[target=x] !{a=");
  for (int i = 0; i < 100000; i++) sb_putc(&sb, '[');
  sb_puts(&sb, "\n");
  Program *p = NULL;
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(parse_str("deep.ir", sb_str(&sb), &p, &d), JS_ERR);
  assert_contains(sb_str(&d.text), "values nested more than 64 deep");
  diag_free(&d);
  sb_free(&sb);
}

/* Fail the Nth allocation (and every later one) for N = 0, 1, ...: the parse must fail
 * cleanly with nothing leaked, until N is large enough for it to succeed. */
static void test_alloc_failure(void **state) {
  (void)state;
  Graph *g = build_tiny(NULL);
  ir_meta_set(g->first, "m", val_str("x"));
  ir_meta_set(g->first, "later", val_node(g->last));
  char *text = print_graph(g);
  ir_graph_free(g);
  Arena *a = arena_new();
  SrcFile *f = diag_src_from_string(a, "oom.ir", text, strlen(text));
  bool ok = false;
  for (long n = 0; n < 5000 && !ok; n++) {
    FailAlloc fa = {.fail_at = n};
    ir_set_alloc_hook(fail_alloc, &fa);
    Diag d;
    diag_init(&d, NULL);
    Program *p = NULL;
    Status st = ir_parse(f, &p, &d);
    if (st == JS_OK) {
      ok = true;
      StrBuf sb;
      sb_init(&sb);
      ir_print_program(&sb, p);
      sb_free(&sb);
      ir_program_free(p);
    } else {
      assert_null(p);
      assert_true(fa.failed);
    }
    diag_free(&d);
    ir_set_alloc_hook(NULL, NULL);
    if (fa.live != 0) fail_msg("N=%ld: %ld blocks leaked (status %d)", n, fa.live, st);
  }
  assert_true(ok);
  /* the verifier and printers under failing allocations */
  Program *p = NULL;
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(ir_parse(f, &p, &d), JS_OK);
  for (long n = 0; n < 200; n++) {
    FailAlloc fa = {.fail_at = n};
    ir_set_alloc_hook(fail_alloc, &fa);
    Diag d2;
    diag_init(&d2, NULL);
    Status st = ir_verify(p->graphs[0], &d2);
    StrBuf sb;
    sb_init(&sb);
    ir_print_table(&sb, p->graphs[0]);
    ir_print_json(&sb, p->graphs[0]);
    ir_print_dot(&sb, p->graphs[0]);
    sb_free(&sb);
    diag_free(&d2);
    ir_set_alloc_hook(NULL, NULL);
    assert_true(st == JS_OK || st == JS_ENOMEM);
    assert_int_equal(fa.live, 0);
  }
  ir_program_free(p);
  diag_free(&d);
  arena_free(a);
  free(text);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* 100k nodes, as a chain and as a fan-out from one input: parse, verify, print (timed for
 * information only). */
static void big(bool fanout) {
  enum { N = 100000 };
  StrBuf sb;
  sb_init(&sb);
  sb_printf(&sb, "# jscc IR\nmodel Big {\n  graph {\n    %%x : f32[B,16] [num_users=%d] = placeholder[target=x]\n",
            fanout ? N : 1);
  for (int i = 0; i < N; i++) {
    char arg[32];
    if (fanout || i == 0)
      snprintf(arg, sizeof arg, "x");
    else
      snprintf(arg, sizeof arg, "r%d", i - 1);
    sb_printf(&sb, "    %%r%d : f32[B,16] [num_users=1] = call_function[target=relu](args = (%%%s,))\n", i, arg);
  }
  if (fanout) { /* the output takes every relu, in a list */
    sb_puts(&sb, "    %output : ? [num_users=0] = output[target=output](args = ([");
    for (int i = 0; i < N; i++) sb_printf(&sb, "%s%%r%d", i ? ", " : "", i);
    sb_puts(&sb, "],))\n  }\n}\n");
  } else {
    sb_printf(&sb, "    %%output : ? [num_users=0] = output[target=output](args = (%%r%d,))\n  }\n}\n", N - 1);
  }
  char *text = strdup(sb_str(&sb));
  double t0 = now();
  Program *prog = NULL;
  Diag d;
  diag_init(&d, NULL);
  if (parse_str("big.ir", text, &prog, &d) != JS_OK) fail_msg("%s", sb_str(&d.text));
  double t1 = now();
  sb_clear(&sb);
  ir_print_program(&sb, prog);
  double t2 = now();
  assert_str_eq(sb_str(&sb), text);
  assert_int_equal(prog->graphs[0]->nnodes, N + 2);
  printf("# 100k %s: parse+verify %.3fs, print %.3fs\n", fanout ? "fan-out" : "chain", t1 - t0, t2 - t1);
  ir_program_free(prog);
  diag_free(&d);
  sb_free(&sb);
  free(text);
}

static void test_100k(void **state) {
  (void)state;
  big(false);
  big(true);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_tiny),        cmocka_unit_test(test_parse_hand_written),
      cmocka_unit_test(test_round_trip_meta),   cmocka_unit_test(test_parse_empty_and_multi),
      cmocka_unit_test(test_parse_errors),      cmocka_unit_test(test_parse_table_errors),
      cmocka_unit_test(test_nesting_cap),       cmocka_unit_test(test_alloc_failure),
      cmocka_unit_test(test_100k),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
