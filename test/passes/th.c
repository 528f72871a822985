/* th.c — see th.h. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "th.h"

TensorType th_type(Graph *g, const char *text) {
  TensorType t = {0};
  const char *br = strchr(text, '[');
  assert_non_null(br);
  char dt[16];
  size_t n = (size_t)(br - text);
  assert_true(n < sizeof dt);
  memcpy(dt, text, n);
  dt[n] = 0;
  assert_true(ir_dtype_parse(dt, &t.dtype));
  const char *p = br + 1;
  while (*p && *p != ']') {
    Dim *d = &t.dims[t.rank++];
    if (isdigit((unsigned char)*p)) {
      d->size = strtoll(p, (char **)&p, 10);
    } else {
      const char *s = p;
      while (isalnum((unsigned char)*p) || *p == '_') p++;
      char sym[32];
      memcpy(sym, s, (size_t)(p - s));
      sym[p - s] = 0;
      d->size = -1;
      d->sym = ir_intern(g, sym);
    }
    if (*p == ',') p++;
  }
  return t;
}

const char *th_type_str(const TensorType *t) {
  static char buf[256];
  StrBuf sb;
  sb_init(&sb);
  ir_type_print(&sb, t);
  snprintf(buf, sizeof buf, "%s", sb_str(&sb));
  sb_free(&sb);
  return buf;
}

Node *th_input(Graph *g, const char *name, const char *type) {
  Node *n = ir_node_new(g, OP_PLACEHOLDER, name, NULL, NULL, (SrcLoc){0});
  assert_non_null(n);
  n->type = th_type(g, type);
  n->has_type = true;
  return n;
}

Node *th_node_kw(Graph *g, NodeKind op, const char *target, int nargs, const Value *args, int nkw,
                 const char *const *kwnames, const Value *kwargs) {
  Node *n = ir_node_new(g, op, target, NULL, NULL, (SrcLoc){0});
  assert_non_null(n);
  assert_int_equal(ir_node_set_args(n, nargs, args, nkw, kwnames, kwargs), JS_OK);
  return n;
}

Node *th_node(Graph *g, NodeKind op, const char *target, int nargs, const Value *args) {
  return th_node_kw(g, op, target, nargs, args, 0, NULL, NULL);
}

Node *th_output(Graph *g, Node *v) {
  Value a = val_node(v);
  return th_node(g, OP_OUTPUT, "output", 1, &a);
}

Module *th_module(Graph *g, Module *parent, const char *name, const char *cls, int nargs, const int64_t *args) {
  ModuleType t = ir_module_lookup(cls);
  assert_int_not_equal(t, MT_NONE);
  Module *m = ir_module_new(g, parent, name, t, (SrcLoc){0});
  assert_non_null(m);
  Value v[8];
  for (int i = 0; i < nargs; i++) v[i] = val_int(args[i]);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(ir_module_configure(g, m, nargs, v, 0, NULL, NULL, &d, (SrcLoc){0}), JS_OK);
  diag_free(&d);
  return m;
}

Graph *th_build_seq(const char *name, int in_features, const char *spec) {
  Graph *g = ir_graph_new(name);
  assert_non_null(g);
  char type[32];
  snprintf(type, sizeof type, "f32[B,%d]", in_features);
  Node *prev = th_input(g, "x", type);
  Module *seq = th_module(g, NULL, "seq_blocks", "Sequential", 0, NULL);
  int i = 0;
  for (const char *p = spec; *p;) {
    while (*p == ' ') p++;
    if (!*p) break;
    char layer[32];
    size_t n = strcspn(p, " ");
    memcpy(layer, p, n);
    layer[n] = 0;
    p += n;
    char idx[16];
    snprintf(idx, sizeof idx, "%d", i++);
    int64_t a[2];
    if (sscanf(layer, "BN%lld", (long long *)&a[0]) == 1)
      th_module(g, seq, idx, "BatchNorm1d", 1, a);
    else if (sscanf(layer, "L%lld,%lld", (long long *)&a[0], (long long *)&a[1]) == 2)
      th_module(g, seq, idx, "Linear", 2, a);
    else if (strcmp(layer, "ReLU") == 0)
      th_module(g, seq, idx, "ReLU", 0, NULL);
    else
      fail_msg("bad layer '%s'", layer);
    char target[32];
    snprintf(target, sizeof target, "seq_blocks.%s", idx);
    Value arg = val_node(prev);
    prev = th_node(g, OP_CALL_MODULE, target, 1, &arg);
  }
  th_output(g, prev);
  return g;
}

Graph *th_jsc_tiny(void) {
  return th_build_seq("jsc_tiny", 16, "BN16 ReLU L16,5 ReLU");
}

Graph *th_jsc_big(void) {
  return th_build_seq("jsc_big", 16, "BN16 ReLU L16,32 BN32 ReLU L32,16 BN16 ReLU L16,8 BN8 ReLU L8,5 ReLU");
}

Status th_run(Graph *g, const char *pipeline, StrBuf *report, Diag *d) {
  Pipeline *pl;
  Status st = pass_pipeline_parse(pipeline, &pl, d);
  if (st) return st;
  PassContext ctx = {.diag = d, .report = report};
  st = pass_pipeline_run(pl, g, &ctx);
  pass_pipeline_free(pl);
  return st;
}

void th_assert_contains(const char *hay, const char *needle, const char *file, int line) {
  if (!strstr(hay, needle)) {
    print_error("expected to find:\n%s\nin:\n%s\n", needle, hay);
    _fail(file, line);
  }
}
