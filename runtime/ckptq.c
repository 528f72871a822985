/* runtime/ckptq.c — the quantized checkpoint (jscc transform's quantized.safetensors): a
 * model's tensors with every quantized parameter dequantized, plus each quantized tensor's
 * integer codes and format (the layout is in ckpt.h, CKPT_CODES_PREFIX).  A quantized
 * BatchNorm is recorded in its folded form (spec/quant.md §3), "quant.<module>.folded_scale"
 * and "folded_shift", since that is what its formats quantize. */
#include <string.h>

#include "runtime.h"

enum { QCKPT_CAP = 512 }; /* quantized tensors one checkpoint holds */

/* The quantized tensors found so far. */
typedef struct QCodes {
  Arena *a;          /* names, shapes and codes */
  CkptCodes *codes;  /* [QCKPT_CAP] */
  int n;
} QCodes;

/* One quantized tensor: vals (n floats, rows of the last dimension) quantized in place to f,
 * and, for an integer format, its codes recorded under "quant.<name>". */
static Status add_codes(QCodes *q, const char *name, const TensorType *type, float *vals, int64_t n, const QFmt *f,
                        Diag *d) {
  for (int i = 0; i < q->n; i++)
    if (strcmp(q->codes[i].name + strlen(CKPT_CODES_PREFIX), name) == 0) return JS_OK; /* done by an earlier node */
  if (q->n == QCKPT_CAP) return diag_error(d, (SrcLoc){0}, "transform: more than %d quantized tensors", QCKPT_CAP);
  StrBuf fs;
  sb_init(&fs);
  ir_qfmt_print(&fs, f);
  const char *fmt = arena_strdup(q->a, sb_str(&fs));
  sb_free(&fs);
  const char *qn = arena_printf(q->a, "%s%s", CKPT_CODES_PREFIX, name);
  int32_t *c = arena_alloc(q->a, sizeof(int32_t) * (size_t)(n ? n : 1));
  TensorType *t = arena_alloc(q->a, sizeof *t);
  if (!fmt || !qn || !c || !t) return diag_oom(d);
  *t = *type;
  int64_t row = t->rank ? t->dims[t->rank - 1].size : 1;
  if (f->kind == QK_INTEGER)
    for (int64_t i = 0; i < n; i++) c[i] = (int32_t)ir_quant_code(f, vals[i]);
  ir_quant_tensor(f, vals, vals, n, row > 0 ? row : 1);
  if (f->kind == QK_INTEGER) q->codes[q->n++] = (CkptCodes){qn, t, c, fmt};
  return JS_OK;
}

/* A module's tensor in the state (NULL when absent or i64), with its element count. */
static float *state_of(const RtState *s, const Param *p, int64_t *n) {
  int si = p ? rt_state_index(s, p->qualname) : -1;
  if (si < 0 || s->off[si] == (size_t)-1) return NULL;
  if (n) *n = (int64_t)s->numel[si];
  return s->data + s->off[si];
}

/* A quantized BatchNorm1d: its folded scale and shift, from the running statistics. */
static Status add_batch_norm(QCodes *q, const Node *n, const QCfg *cfg, const RtState *s, Diag *d) {
  const Module *m = n->module;
  int64_t C = 0;
  const float *w = state_of(s, ir_module_param(m, "weight"), NULL), *b = state_of(s, ir_module_param(m, "bias"), NULL);
  const float *rm = state_of(s, ir_module_param(m, "running_mean"), &C);
  const float *rv = state_of(s, ir_module_param(m, "running_var"), &C);
  if (!rm || !rv) return JS_OK;
  double eps = ir_module_num(m, "eps", 1e-5);
  float *sc = arena_alloc(q->a, sizeof(float) * (size_t)(C ? C : 1)), *sh = arena_alloc(q->a, sizeof(float) * (size_t)(C ? C : 1));
  TensorType *t = arena_alloc(q->a, sizeof *t);
  const char *ns = arena_printf(q->a, "%s.folded_scale", m->path), *nh = arena_printf(q->a, "%s.folded_shift", m->path);
  if (!sc || !sh || !t || !ns || !nh) return diag_oom(d);
  for (int64_t c = 0; c < C; c++) {
    double shift, scale = ir_bn_fold(w ? w[c] : 1.0, b ? b[c] : 0.0, rm[c], rv[c], eps, &shift);
    sc[c] = (float)scale;
    sh[c] = (float)shift;
  }
  *t = (TensorType){.dtype = DT_F32, .rank = 1, .dims = {{.size = C}}};
  Status st = JS_OK;
  if (cfg->has[QS_WEIGHT]) st = add_codes(q, ns, t, sc, C, &cfg->fmt[QS_WEIGHT], d);
  if (!st && cfg->has[QS_BIAS]) st = add_codes(q, nh, t, sh, C, &cfg->fmt[QS_BIAS], d);
  return st;
}

/* A quantized node's weight and bias (a module's, or a functional linear/conv1d's operands). */
static Status add_node(QCodes *q, const Node *n, const QCfg *cfg, const RtState *s, Diag *d) {
  const Param *ps[2] = {NULL, NULL};
  if (n->op == OP_CALL_MODULE && n->module) {
    ps[0] = ir_module_param(n->module, "weight");
    ps[1] = ir_module_param(n->module, "bias");
  } else if (n->mop == MOP_LINEAR || n->mop == MOP_CONV1D) {
    if (n->nargs > 1 && n->args[1].kind == VAL_NODE) ps[0] = n->args[1].u.node->param;
    if (n->nargs > 2 && n->args[2].kind == VAL_NODE) ps[1] = n->args[2].u.node->param;
  }
  if (n->mop == MOP_BATCH_NORM1D && n->module && (cfg->has[QS_WEIGHT] || cfg->has[QS_BIAS]))
    return add_batch_norm(q, n, cfg, s, d);
  Status st = JS_OK;
  for (int k = 0; k < 2 && !st; k++) {
    QSlot slot = k ? QS_BIAS : QS_WEIGHT;
    int64_t numel = 0;
    float *v = cfg->has[slot] ? state_of(s, ps[k], &numel) : NULL;
    if (v) st = add_codes(q, ps[k]->qualname, &ps[k]->type, v, numel, &cfg->fmt[slot], d);
  }
  return st;
}

Status rt_ckpt_save_quantized(const char *path, const Graph *g, const RtState *s, Diag *d) {
  RtState *qs = NULL;
  QCodes q = {.a = arena_new()};
  if (!q.a) return diag_oom(d);
  Status st = rt_state_new(s->g, &qs, d);
  if (!st) st = rt_state_copy(qs, s);
  if (!st && !(q.codes = arena_alloc(q.a, sizeof(CkptCodes) * QCKPT_CAP))) st = diag_oom(d);
  for (const Node *n = g->first; n && !st; n = n->next) {
    QCfg cfg;
    if (ir_node_qcfg(n, &cfg)) st = add_node(&q, n, &cfg, qs, d);
  }
  CkptMeta meta = {.n = 1, .keys = {"jscc"}, .vals = {"quantized checkpoint (jscc transform)"}};
  if (!st) st = rt_ckpt_save_codes(path, qs, &meta, q.codes, q.n, d);
  rt_state_free(qs);
  arena_free(q.a);
  return st;
}
