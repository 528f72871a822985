/* codegen/plan.c — lowering a training or evaluation graph to a fusion plan (plan.h).
 *
 * Every tensor of the graph is one of:
 *   - a row tensor [B, n]: one row value per sample, computed inside a row loop;
 *   - a parameter or buffer (get_attr, or a module's own): read from the flat array;
 *   - a batch reduction (a weight gradient, a bias gradient, BatchNorm's sums): an
 *     accumulator, complete when its stage's row loop ends.
 * A node's stage is the earliest whose inputs are ready: the latest stage of its row inputs,
 * or one past the stage of a reduction it reads.  Training-mode BatchNorm reads the batch
 * statistics of its input, and its backward reads sums of the incoming gradient, so each
 * starts a new stage; everything else fuses into the stage of its inputs.  A row value used
 * by a later stage is stored once to a scratch row buffer (the store is appended to the
 * producing stage when the first later use appears) and loaded by each later stage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

enum { NK_NONE, NK_ROW, NK_PARAM, NK_ACC, NK_TARGET, NK_LOSS, NK_SEG };

typedef struct NInfo {
  int kind;
  int n;             /* NK_ROW: row length; NK_PARAM/NK_ACC: elements */
  int stage;         /* NK_ROW: producing stage; NK_ACC: stage whose end completes it */
  int val;           /* NK_ROW: value id in `stage` */
  int buf;           /* NK_ROW: row buffer, -1 until a later stage needs it */
  int *loaded;       /* NK_ROW: [nstages cap] value id of its load in each stage, -1 none */
  int64_t off;       /* NK_PARAM: parameter offset; NK_ACC: stat offset (ACC_STAT) */
  int acc;           /* NK_ACC: accumulator id */
  int64_t bn_mean, bn_invstd; /* a BatchNorm's input: the stat offsets of its batch statistics */
  int bn_stage;      /* ... and the stage after which they are ready */
  int param;         /* NK_PARAM: param index */
  bool instat;       /* NK_PARAM: a quantized copy in scratch (stat offset `off`), not params */
  bool input;        /* NK_ROW: the input batch x (loaded, never computed) */
  int64_t fold;      /* NK_ACC: the PT_FOLD table that maps it onto its parameter (-1: none) */
  int fold_n;        /* ... and the parameter's elements */
  int seg;           /* NK_SEG: sum over the last dim of the [B, C, L] row `segof` (L = seg) */
  const Node *segof;
} NInfo;

typedef struct Lower {
  CgPlan *p;
  const Graph *g;
  Diag *d;
  NInfo *ni;         /* [node index] */
  int capstages;
  bool oom;
} Lower;

static bool grow(void **arr, int *cap, int need, size_t elem) {
  if (need <= *cap) return true;
  int nc = *cap ? *cap * 2 : 16;
  while (nc < need) nc *= 2;
  void *q = ir_realloc(*arr, (size_t)nc * elem);
  if (!q) return false;
  memset((char *)q + (size_t)*cap * elem, 0, (size_t)(nc - *cap) * elem);
  *arr = q;
  *cap = nc;
  return true;
}

static int new_val(Lower *L, int n) {
  CgPlan *p = L->p;
  if (!grow((void **)&p->vlen, &p->capvals, p->nvals + 1, sizeof(int))) {
    L->oom = true;
    return 0;
  }
  p->vlen[p->nvals] = n;
  return p->nvals++;
}

static int64_t new_stat(Lower *L, int n) {
  int64_t o = L->p->nstat;
  L->p->nstat += (n + 15) / 16 * 16; /* 64-byte aligned */
  return o;
}

static int new_acc(Lower *L, int n, AccDest dest, int64_t off, int stage) {
  CgPlan *p = L->p;
  if (!grow((void **)&p->accs, &p->capaccs, p->naccs + 1, sizeof(Acc))) {
    L->oom = true;
    return 0;
  }
  p->accs[p->naccs] = (Acc){.n = n, .dest = dest, .off = off, .stage = stage};
  return p->naccs++;
}

static Stage *stage_at(Lower *L, int s) {
  CgPlan *p = L->p;
  if (s >= p->nstages) {
    if (!grow((void **)&p->stages, &L->capstages, s + 1, sizeof(Stage))) {
      L->oom = true;
      return NULL;
    }
    p->nstages = s + 1;
  }
  return &p->stages[s];
}

static void emit(Lower *L, int s, Inst in) {
  Stage *st = stage_at(L, s);
  if (!st) return;
  if (!grow((void **)&st->insts, &st->capinsts, st->ninsts + 1, sizeof(Inst))) {
    L->oom = true;
    return;
  }
  st->insts[st->ninsts++] = in;
}

static void emit_pre(Lower *L, int s, Point pt) {
  Stage *st = stage_at(L, s);
  if (!st) return;
  if (!grow((void **)&st->pre, &st->cappre, st->npre + 1, sizeof(Point))) {
    L->oom = true;
    return;
  }
  st->pre[st->npre++] = pt;
}

static void emit_post(Lower *L, Point pt) {
  CgPlan *p = L->p;
  if (!grow((void **)&p->post, &p->cappost, p->npost + 1, sizeof(Point))) {
    L->oom = true;
    return;
  }
  p->post[p->npost++] = pt;
}

static Opd O_val(int v) { return (Opd){.kind = OPD_VAL, .id = v}; }
static Opd O_param(int64_t off) { return (Opd){.kind = OPD_PARAM, .id = off}; }
static Opd O_stat(int64_t off) { return (Opd){.kind = OPD_STAT, .id = off}; }
static Opd O_const(double c) { return (Opd){.kind = OPD_CONST, .c = (float)c}; }
static Opd O_kind(OpdKind k) { return (Opd){.kind = k}; }
static const Opd O_none = {.kind = OPD_NONE};

/* dst = ew(a, b, c3) of length n in stage s. */
static int ew(Lower *L, int s, EwOp op, int n, Opd a, Opd b, Opd c3) {
  int v = new_val(L, n);
  emit(L, s, (Inst){.kind = I_EW, .ew = op, .dst = v, .n = n, .a = a, .b = b, .c3 = c3});
  L->p->flops_row += n;
  return v;
}

static Status unsupported(Lower *L, const Node *n, const char *why) {
  return diag_error(L->d, n->loc, "codegen: %%%s (%s) %s; run it with the reference executor (--engine=ref)", n->name,
                    n->target, why);
}

static NInfo *info(Lower *L, const Value *v) {
  if (v->kind != VAL_NODE) return NULL;
  return &L->ni[v->u.node->index];
}

/* The value id of row node x in stage s: its own value, or a load of its row buffer. */
static int row_in(Lower *L, const Node *x, int s) {
  NInfo *xi = &L->ni[x->index];
  if (xi->stage == s && !xi->input) return xi->val;
  if (xi->loaded[s] >= 0) return xi->loaded[s];
  CgPlan *p = L->p;
  if (xi->input) xi->buf = -2;
  if (xi->buf == -1) {
    if (!grow((void **)&p->blen, &p->capbufs, p->nbufs + 1, sizeof(int)) ||
        !(p->boff = ir_realloc(p->boff, sizeof(int64_t) * (size_t)p->capbufs))) {
      L->oom = true;
      return 0;
    }
    xi->buf = p->nbufs;
    p->blen[p->nbufs++] = xi->n;
    emit(L, xi->stage, (Inst){.kind = I_STORE, .n = xi->n, .a = O_val(xi->val), .buf = xi->buf});
  }
  int v = new_val(L, xi->n);
  if (xi->buf == -2) emit(L, s, (Inst){.kind = I_LOADX, .dst = v, .n = xi->n});
  else emit(L, s, (Inst){.kind = I_LOAD, .dst = v, .n = xi->n, .buf = xi->buf});
  xi->loaded[s] = v;
  return v;
}

/* The stage a node computing from these values runs in. */
static int stage_of(Lower *L, const Node *n) {
  int s = 0;
  for (int i = 0; i < n->nargs; i++) {
    const NInfo *a = info(L, &n->args[i]);
    if (!a) continue;
    if (a->kind == NK_ROW && a->stage > s) s = a->stage;
    if (a->kind == NK_ACC && a->stage + 1 > s) s = a->stage + 1;
  }
  return s;
}

/* An operand for feature j of value v (a row node, a 1-D parameter or a number). */
static Status operand(Lower *L, const Node *at, const Value *v, int s, int n, Opd *out) {
  if (v->kind == VAL_INT) return *out = O_const((double)v->u.i), JS_OK;
  if (v->kind == VAL_FLOAT) return *out = O_const(v->u.f), JS_OK;
  if (v->kind == VAL_BOOL) return *out = O_const(v->u.b), JS_OK;
  NInfo *a = info(L, v);
  if (!a) return unsupported(L, at, "has an operand the kernels cannot read");
  if (a->kind == NK_ROW) {
    if (a->n != n && a->n != 1) return unsupported(L, at, "mixes rows of different lengths");
    return *out = O_val(row_in(L, v->u.node, s)), JS_OK;
  }
  if (a->kind == NK_PARAM && (a->n == n || a->n == 1)) {
    *out = a->instat ? O_stat(a->off) : O_param(a->off);
    out->scalar = a->n == 1 && n != 1;
    return JS_OK;
  }
  if (a->kind == NK_ACC && L->p->accs[a->acc].dest == ACC_STAT && a->n == n) return *out = O_stat(a->off), JS_OK;
  return unsupported(L, at, "broadcasts a tensor the kernels cannot read per feature");
}

static int64_t poff(Lower *L, const Param *p) {
  if (!p) return -1;
  for (int i = 0; i < L->g->nparams; i++)
    if (L->g->params[i] == p) return (int64_t)L->p->o.param_off[i];
  return -1;
}
static int pindex(Lower *L, const Param *p) {
  for (int i = 0; i < L->g->nparams; i++)
    if (L->g->params[i] == p) return i;
  return -1;
}
static double num(const Value *v, double def) {
  if (!v) return def;
  if (v->kind == VAL_FLOAT) return v->u.f;
  if (v->kind == VAL_INT) return (double)v->u.i;
  return def;
}

/* y = x W^T + b as a row program (w: [out, in] parameter offsets). */
static int affine(Lower *L, int s, int x, int nin, int nout, int64_t w, int64_t so, int64_t sk, int64_t bias, bool wstat,
                  bool bstat) {
  int v = new_val(L, nout);
  emit(L, s, (Inst){.kind = I_AFFINE, .dst = v, .n = nout, .a = O_val(x), .nb = nin, .w = w, .so = so, .sk = sk, .bias = bias,
                    .wstat = wstat, .bstat = bstat});
  L->p->flops_row += 2LL * nin * nout;
  return v;
}

/* Training-mode BatchNorm on row node x (stage sx): sums in sx, statistics before sx + 1. */
static Status bn_train_stats(Lower *L, const Node *x, const Module *m) {
  NInfo *xi = &L->ni[x->index];
  if (xi->bn_stage >= 0) return JS_OK;
  int n = xi->n, sx = xi->stage;
  int64_t rm = poff(L, ir_module_param(m, "running_mean")), rv = poff(L, ir_module_param(m, "running_var"));
  int64_t K = new_stat(L, n), s1 = new_stat(L, 2 * n), s2 = new_stat(L, 2 * n); /* s1, s2: doubles */
  /* shift by the running mean (a good guess of the mean) so the one-pass variance is exact enough */
  if (rm >= 0) emit_pre(L, 0, (Point){.kind = PT_COPY, .n = n, .dst = K, .src = rm});
  int xv = row_in(L, x, sx);
  Opd kop = rm >= 0 ? O_stat(K) : O_const(0);
  int dx = ew(L, sx, EW_SUB, n, O_val(xv), kop, O_none);
  int dxm = ew(L, sx, EW_MUL, n, O_val(dx), O_kind(OPD_VALID), O_none);
  int a1 = new_acc(L, n, ACC_STAT, s1, sx), a2 = new_acc(L, n, ACC_STAT, s2, sx);
  L->p->accs[a1].f64 = L->p->accs[a2].f64 = true;
  emit(L, sx, (Inst){.kind = I_ACC, .n = n, .a = O_val(dxm), .acc = a1});
  int sq = ew(L, sx, EW_MUL, n, O_val(dxm), O_val(dx), O_none);
  emit(L, sx, (Inst){.kind = I_ACC, .n = n, .a = O_val(sq), .acc = a2});
  const Param *nbt = ir_module_param(m, "num_batches_tracked");
  const Value *mom = ir_module_arg(m, "momentum");
  xi->bn_mean = new_stat(L, n);
  xi->bn_invstd = new_stat(L, n);
  xi->bn_stage = sx + 1;
  emit_pre(L, sx + 1, (Point){.kind = PT_BN_TRAIN, .n = n, .s1 = s1, .s2 = s2, .k = rm >= 0 ? K : -1,
                              .mean = xi->bn_mean, .invstd = xi->bn_invstd, .rm = rm, .rv = rv,
                              .nbt = nbt ? pindex(L, nbt) : -1, .eps = num(ir_module_arg(m, "eps"), 1e-5),
                              .momentum = mom && mom->kind != VAL_NONE ? num(mom, 0.1) : -1});
  return JS_OK;
}

/* xhat of row node x in stage s (its batch statistics must be ready). */
static int bn_xhat(Lower *L, const Node *x, int s) {
  NInfo *xi = &L->ni[x->index];
  int xv = row_in(L, x, s);
  int c = ew(L, s, EW_SUB, xi->n, O_val(xv), O_stat(xi->bn_mean), O_none);
  return ew(L, s, EW_MUL, xi->n, O_val(c), O_stat(xi->bn_invstd), O_none);
}

static Status set_row(Lower *L, const Node *n, int s, int v) {
  NInfo *ni = &L->ni[n->index];
  ni->kind = NK_ROW;
  ni->stage = s;
  ni->val = v;
  ni->n = L->p->vlen[v];
  return JS_OK;
}

/* A batch reduction node: an accumulator in stage s. */
static int set_acc(Lower *L, const Node *n, int s, int len) {
  NInfo *ni = &L->ni[n->index];
  ni->kind = NK_ACC;
  ni->n = len;
  ni->stage = s;
  ni->off = new_stat(L, len);
  ni->acc = new_acc(L, len, ACC_STAT, ni->off, s);
  return ni->acc;
}

/* Row value of a [B, n] row node argument. */
static Status row_arg(Lower *L, const Node *at, const Value *v, int s, int *out) {
  NInfo *a = info(L, v);
  if (!a || a->kind != NK_ROW) return unsupported(L, at, "needs a per-row [batch, features] input here");
  *out = row_in(L, v->u.node, s);
  return JS_OK;
}

static Status lower_node(Lower *L, const Node *n);
static Status lower_plain(Lower *L, const Node *n);

/* Whether the node's result is [B, n] with B the batch symbol. */
static bool is_row_type(const Lower *L, const TensorType *t, const char *bsym) {
  (void)L;
  return t->rank == 2 && t->dims[0].size < 0 && t->dims[0].sym == bsym && t->dims[1].size > 0;
}

static const char *g_bsym; /* set per build; read-only during lowering */

/* The formats the kernels render: every kind for a parameter (PT_QUANT), the elementwise
 * kinds and block_fp (blocks along the row's features) for a row value (EW_QUANT).
 * Ternary needs the whole tensor's statistics, which a row program does not have. */
static Status jit_format(Lower *L, const Node *n, const QFmt *f, bool row) {
  if (row && f->block_rows > 1)
    return unsupported(L, n, "quantizes a [batch, features] value in blocks of several rows, which would span samples "
                             "(a row value's blocks take one row)");
  if (!row || f->kind != QK_TERNARY) return JS_OK;
  char msg[160];
  snprintf(msg, sizeof msg, "quantizes a [batch, features] value with %s, which needs whole-tensor statistics "
           "(weights and biases only)", ir_qkind_name(f->kind));
  return unsupported(L, n, msg);
}

/* The node's quantization config for the kernels; false when it is not quantized. */
static bool node_q(Lower *L, const Node *n, QCfg *q, Status *st) {
  *st = JS_OK;
  if (!ir_node_qcfg(n, q)) return false;
  for (int k = 0; k < QS_COUNT && !*st; k++)
    if (q->has[k]) *st = jit_format(L, n, &q->fmt[k], k == QS_DATA_IN || k == QS_DATA_OUT);
  if (!*st && q->has[QS_DATA_IN])
    *st = diag_error(L->d, n->loc, "codegen: %%%s quantizes its inputs in place; ir_quant_explicit_inputs must run before "
                     "the plan is built (a bug in the caller)", n->name);
  return true;
}

/* A quantized copy of n elements of params (or stat) at src, in a new stat region, made
 * once per step before the first row loop. */
static int64_t quant_copy(Lower *L, int64_t src, bool src_stat, int n, int64_t row, const QFmt *f) {
  int64_t dst = new_stat(L, n);
  emit_pre(L, 0, (Point){.kind = PT_QUANT, .n = n, .dst = dst, .src = src, .src_stat = src_stat, .qf = *f, .row = row});
  return dst;
}

/* ---- Conv1d (plan.h: a Toeplitz matrix and its fold) ---- */

/* A [B, C, L] row value: C*L features per sample. */
static bool is_row3_type(const TensorType *t, const char *bsym) {
  return t->rank == 3 && t->dims[0].size < 0 && t->dims[0].sym == bsym && t->dims[1].size > 0 && t->dims[2].size > 0;
}

/* Features per row of a node's result: [B, n] or [B, C, L] (C*L); 0 otherwise. */
static int row_len(const Node *n) {
  if (!n->has_type) return 0;
  if (n->type.rank == 2) return (int)n->type.dims[1].size;
  if (n->type.rank == 3 && n->type.dims[1].size > 0 && n->type.dims[2].size > 0)
    return (int)(n->type.dims[1].size * n->type.dims[2].size);
  return 0;
}

/* The ops whose kernels are right on a flattened [B, C, L] row: elementwise ones, reshapes,
 * Conv1d and its backward, and sum over the last dim then the batch (a Conv1d bias grad). */
static bool row3_op(MaseOp op) {
  if (ir_op_info(op) && (ir_op_info(op)->props & P_EW)) return true; /* elementwise (ops.def) */
  switch (op) {
  case MOP_CONV1D: case MOP_CONV1D_BACKWARD_INPUT: case MOP_CONV1D_BACKWARD_WEIGHT:
  case MOP_IDENTITY: case MOP_FLATTEN: case MOP_VIEW: case MOP_RESHAPE: case MOP_RESHAPE_AS:
  case MOP_EW_BACKWARD: case MOP_DROPOUT_BACKWARD: case MOP_SUM: return true;
  default: return false;
  }
}

static bool is_row3_val(const Value *v) {
  return v->kind == VAL_NODE && v->u.node->has_type && is_row3_type(&v->u.node->type, g_bsym);
}

/* A node that reads or makes a [B, C, L] row must be an op whose kernel is right on the
 * flattened row, with a quantizer that works elementwise (block_fp's blocks would run
 * across channels). */
static Status check_row3(Lower *L, const Node *n, const QCfg *q) {
  bool r3 = is_row3_type(&n->type, g_bsym);
  for (int i = 0; i < n->nargs && !r3; i++) r3 = is_row3_val(&n->args[i]);
  if (!r3) return JS_OK;
  if (!row3_op(n->mop))
    return unsupported(L, n, "works along a dimension of a [batch, channels, length] value (the kernels keep its rows "
                             "flat: conv1d, elementwise ops and reshapes)");
  QFmt f;
  Diag quiet;
  diag_init(&quiet, NULL);
  bool fq = n->mop == MOP_QUANTIZE && n->nargs > 1 && !ir_qfmt_from_value(&n->args[1], &f, &quiet, n->loc);
  diag_free(&quiet);
  if ((fq && !ir_qfmt_elementwise(&f)) || (q && q->has[QS_DATA_OUT] && !ir_qfmt_elementwise(&q->fmt[QS_DATA_OUT])))
    return unsupported(L, n, "quantizes a [batch, channels, length] value in blocks, which would run across channels");
  return JS_OK;
}

/* A new index table of n entries in the plan, all -1. */
static int64_t new_tab(Lower *L, int64_t n, int32_t **t) {
  CgPlan *p = L->p;
  if (p->ntabs + n > p->captabs) {
    int64_t cap = p->captabs ? p->captabs : 1024;
    while (cap < p->ntabs + n) cap *= 2;
    int32_t *q = ir_realloc(p->tabs, sizeof(int32_t) * (size_t)cap);
    if (!q) {
      L->oom = true;
      *t = NULL;
      return -1;
    }
    p->tabs = q;
    p->captabs = cap;
  }
  int64_t at = p->ntabs;
  p->ntabs += n;
  *t = p->tabs + at;
  for (int64_t e = 0; e < n; e++) (*t)[e] = -1;
  return at;
}

/* One Conv1d's sizes. */
typedef struct ConvGeom {
  int64_t cin, len, cout, lout, k, stride, pad, dil, groups;
} ConvGeom;

/* T[(o*Lout + t) * Cin*L + (g*Cg + c) * L + at] = w index (o*Cg + c)*K + k, with g = o / Og and
 * at = t*stride - pad + k*dil inside [0, L); the other entries of T are zero (-1). */
static int64_t toeplitz_tab(Lower *L, const ConvGeom *c) {
  int64_t cg = c->cin / c->groups, og = c->cout / c->groups, row = c->cin * c->len;
  int32_t *t;
  int64_t at = new_tab(L, c->cout * c->lout * row, &t);
  for (int64_t o = 0; t && o < c->cout; o++)
    for (int64_t ti = 0; ti < c->lout; ti++)
      for (int64_t ci = 0; ci < cg; ci++)
        for (int64_t k = 0; k < c->k; k++) {
          int64_t x = ti * c->stride - c->pad + k * c->dil;
          if (x >= 0 && x < c->len) t[(o * c->lout + ti) * row + ((o / og) * cg + ci) * c->len + x] = (int32_t)((o * cg + ci) * c->k + k);
        }
  return at;
}

/* b[o] repeated along a length: tab[o*len + t] = o. */
static int64_t repeat_tab(Lower *L, int64_t n, int64_t len) {
  int32_t *t;
  int64_t at = new_tab(L, n * len, &t);
  for (int64_t e = 0; t && e < n * len; e++) t[e] = (int32_t)(e / len);
  return at;
}

/* The fold of gather table g (n entries onto m sources): for each source i, the entries e
 * with g[e] == i, in increasing e (PT_FOLD's layout). */
static int64_t fold_tab(Lower *L, int64_t g, int64_t n, int64_t m) {
  int64_t cnt = 0;
  for (int64_t e = 0; e < n; e++) cnt += L->p->tabs[g + e] >= 0;
  int32_t *t;
  int64_t at = new_tab(L, m + 1 + cnt, &t);
  if (!t) return -1;
  const int32_t *gt = L->p->tabs + g; /* new_tab may have moved the tables */
  for (int64_t i = 0; i <= m; i++) t[i] = 0;
  for (int64_t e = 0; e < n; e++)
    if (gt[e] >= 0) t[gt[e] + 1]++;
  for (int64_t i = 0; i < m; i++) t[i + 1] += t[i];
  int32_t *fill = ir_calloc((size_t)m + 1, sizeof(int32_t));
  if (!fill) {
    L->oom = true;
    return -1;
  }
  for (int64_t e = 0; e < n; e++)
    if (gt[e] >= 0) t[m + 1 + t[gt[e]] + fill[gt[e]]++] = (int32_t)e;
  ir_free(fill);
  return at;
}

/* stat = gather of n entries from a parameter (or its quantized copy in stat). */
static int64_t gather(Lower *L, int64_t src, bool src_stat, int64_t n, int64_t tab) {
  int64_t dst = new_stat(L, (int)n);
  emit_pre(L, 0, (Point){.kind = PT_GATHER, .n = (int)n, .dst = dst, .src = src, .src_stat = src_stat, .tab = tab});
  return dst;
}

static int64_t iarg(const Value *v, int64_t def) { return v && v->kind == VAL_INT ? v->u.i : def; }

/* The sizes of conv node n (the forward or a backward: input x and weight w have the forward's
 * meaning; y is the forward's output, the backward's grad). */
static Status conv_geom(Lower *L, const Node *n, MaseOp op, const Value *args, const Module *m, ConvGeom *c) {
  const Value *xv = op == MOP_CONV1D ? &args[0] : &args[1];
  const TensorType *y = op == MOP_CONV1D ? &n->type : args[0].kind == VAL_NODE ? &args[0].u.node->type : NULL;
  if (!is_row3_val(xv) || !y || !is_row3_type(y, g_bsym))
    return unsupported(L, n, "convolves something other than a [batch, channels, length] value");
  const TensorType *x = &xv->u.node->type;
  const Value *hp[4];
  static const char *const names[4] = {"stride", "padding", "dilation", "groups"};
  for (int i = 0; i < 4; i++) hp[i] = m ? ir_module_arg(m, names[i]) : &args[3 + i]; /* both signatures: stride at 3 */
  *c = (ConvGeom){.cin = x->dims[1].size, .len = x->dims[2].size, .cout = y->dims[1].size, .lout = y->dims[2].size,
                  .stride = iarg(hp[0], 1), .pad = iarg(hp[1], 0), .dil = iarg(hp[2], 1), .groups = iarg(hp[3], 1)};
  if (m) {
    c->k = iarg(ir_module_arg(m, "kernel_size"), 1);
  } else {
    const Value *wv = &args[op == MOP_CONV1D ? 1 : 2];
    if (wv->kind != VAL_NODE || !wv->u.node->has_type || wv->u.node->type.rank != 3)
      return unsupported(L, n, "needs a 3-D weight");
    c->k = wv->u.node->type.dims[2].size;
  }
  if (c->groups < 1 || c->cin % c->groups || c->cout % c->groups || c->cout * c->lout * c->cin * c->len > (1 << 24))
    return unsupported(L, n, "is a convolution too large for its Toeplitz matrix (at most 2^24 entries)");
  return JS_OK;
}

/* The weight (and bias) of conv node n: parameter or stat offsets, quantized copies made. */
static Status conv_params(Lower *L, const Node *n, MaseOp op, const Value *args, const Module *m, const ConvGeom *c,
                          int64_t *w, bool *wstat, int64_t *b, bool *bstat) {
  *b = -1, *bstat = *wstat = false;
  if (m) {
    *w = poff(L, ir_module_param(m, "weight"));
    *b = poff(L, ir_module_param(m, "bias"));
  } else {
    NInfo *wi = info(L, &args[op == MOP_CONV1D ? 1 : 2]), *bi = op == MOP_CONV1D ? info(L, &args[2]) : NULL;
    if (!wi || wi->kind != NK_PARAM) return unsupported(L, n, "needs a parameter weight");
    *w = wi->off, *wstat = wi->instat;
    if (bi) {
      if (bi->kind != NK_PARAM) return unsupported(L, n, "needs a parameter bias");
      *b = bi->off, *bstat = bi->instat;
    }
  }
  QCfg q;
  Status st;
  if (op == MOP_CONV1D && (node_q(L, n, &q, &st) || st)) {
    if (st) return st;
    int64_t wn = c->cout * (c->cin / c->groups) * c->k;
    if (q.has[QS_WEIGHT]) *w = quant_copy(L, *w, *wstat, (int)wn, c->k, &q.fmt[QS_WEIGHT]), *wstat = true;
    if (q.has[QS_BIAS] && *b >= 0) *b = quant_copy(L, *b, *bstat, (int)c->cout, c->cout, &q.fmt[QS_BIAS]), *bstat = true;
  }
  return JS_OK;
}

/* conv1d: y = T x + b (repeated); conv1d_backward_input: dx = T^T g; conv1d_backward_weight:
 * dT += g (x) x over the batch, folded onto the weight when the gradient is stored. */
static Status lower_conv(Lower *L, const Node *n, MaseOp op, int s, const Value *args, const Module *m) {
  ConvGeom c = {0};
  int64_t w = -1, b = -1;
  bool wstat = false, bstat = false;
  Status st;
  if ((st = conv_geom(L, n, op, args, m, &c)) || (st = conv_params(L, n, op, args, m, &c, &w, &wstat, &b, &bstat))) return st;
  int64_t nin = c.cin * c.len, nout = c.cout * c.lout, tab = toeplitz_tab(L, &c);
  int a, x;
  if (op == MOP_CONV1D_BACKWARD_WEIGHT) {
    if ((st = row_arg(L, n, &args[0], s, &a)) || (st = row_arg(L, n, &args[1], s, &x))) return st;
    int acc = set_acc(L, n, s, (int)(nout * nin));
    emit(L, s, (Inst){.kind = I_OUTER, .n = (int)nout, .nb = (int)nin, .a = O_val(a), .b = O_val(x), .acc = acc});
    L->p->flops_row += 2 * nout * nin;
    NInfo *ni = &L->ni[n->index];
    ni->fold_n = (int)(c.cout * (c.cin / c.groups) * c.k);
    ni->fold = fold_tab(L, tab, nout * nin, ni->fold_n);
    return JS_OK;
  }
  int64_t T = gather(L, w, wstat, nout * nin, tab);
  if ((st = row_arg(L, n, &args[0], s, &a))) return st;
  if (op == MOP_CONV1D_BACKWARD_INPUT) /* dx[i] = sum_j g[j] T[j * nin + i] */
    return set_row(L, n, s, affine(L, s, a, (int)nout, (int)nin, T, 1, nin, -1, true, false));
  int64_t bias = b >= 0 ? gather(L, b, bstat, nout, repeat_tab(L, c.cout, c.lout)) : -1;
  return set_row(L, n, s, affine(L, s, a, (int)nin, (int)nout, T, nin, 1, bias, true, bias >= 0));
}

/* sum(x, dim=-1) of a [B, C, L] row x: pending (NK_SEG) until sum(., 0) over the batch, which
 * accumulates x's rows and folds each channel's L entries onto it (a Conv1d bias gradient).
 * Returns false when n is another sum. */
static bool seg_sum(Lower *L, const Node *n, const Value *args, int s, Status *st) {
  NInfo *xi = info(L, &args[0]);
  int64_t dim = iarg(&args[1], 0);
  bool keep = args[2].kind == VAL_BOOL && args[2].u.b;
  *st = JS_OK;
  if (xi && xi->kind == NK_SEG) {
    if (dim != 0 || keep) {
      *st = unsupported(L, n, "reduces a channel sum other than over the batch");
      return true;
    }
    const Node *src = xi->segof;
    int a, C = xi->n, len = xi->seg;
    if (L->ni[src->index].stage > s) s = L->ni[src->index].stage;
    if ((*st = row_arg(L, n, &(Value){.kind = VAL_NODE, .u.node = (Node *)src}, s, &a))) return true;
    int acc = set_acc(L, n, s, C * len);
    emit(L, s, (Inst){.kind = I_ACC, .n = C * len, .a = O_val(a), .acc = acc});
    NInfo *ni = &L->ni[n->index];
    ni->fold_n = C;
    ni->fold = fold_tab(L, repeat_tab(L, C, len), (int64_t)C * len, C);
    return true;
  }
  if (!is_row3_val(&args[0]) || keep || (dim != 2 && dim != -1)) return false;
  const TensorType *t = &args[0].u.node->type;
  NInfo *ni = &L->ni[n->index];
  ni->kind = NK_SEG;
  ni->n = (int)t->dims[1].size;
  ni->seg = (int)t->dims[2].size;
  ni->segof = args[0].u.node;
  return true;
}

/* erf(u) for the kernels, from primitives (Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7):
 *   t = 1 / (1 + p |u|),  e = 1 - t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) exp(-u^2),
 *   erf(u) = u > 0 ? e : -e */
static int ew_erf(Lower *L, int s, int n, Opd u) {
  static const double a[5] = {0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429};
  int nu = ew(L, s, EW_NEG, n, u, O_none, O_none);
  int ax = ew(L, s, EW_MAX, n, u, O_val(nu), O_none);
  int d = ew(L, s, EW_FMA, n, O_val(ax), O_const(0.3275911), O_const(1));
  int t = ew(L, s, EW_DIV, n, O_const(1), O_val(d), O_none);
  int poly = ew(L, s, EW_MUL, n, O_val(t), O_const(a[4]), O_none);
  for (int k = 3; k >= 0; k--) {
    int q = ew(L, s, EW_ADD, n, O_val(poly), O_const(a[k]), O_none);
    poly = ew(L, s, EW_MUL, n, O_val(t), O_val(q), O_none);
  }
  int sq = ew(L, s, EW_MUL, n, u, O_val(nu), O_none); /* -u^2 */
  int ex = ew(L, s, EW_EXP, n, O_val(sq), O_none, O_none);
  int pe = ew(L, s, EW_MUL, n, O_val(poly), O_val(ex), O_none);
  int e = ew(L, s, EW_SUB, n, O_const(1), O_val(pe), O_none);
  int ne = ew(L, s, EW_NEG, n, O_val(e), O_none, O_none);
  return ew(L, s, EW_SEL, n, u, O_val(e), O_val(ne));
}

/* A program of ew.def as primitive instructions: x, y, g are the operands the formula reads,
 * prm the op's parameters (constants of the kernel).  Returns the value of its last step. */
static int lower_ew(Lower *L, int s, int n, const EwProg *p, Opd x, Opd y, Opd g, const double *prm) {
  static const EwOp prim_op[EWP_COUNT] = {EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_NEG, EW_EXP,
                                          EW_LOG, EW_NEG, EW_MAX, EW_MIN, EW_SEL};
  int vals[IR_EW_MAX_STEPS];
  for (int i = 0; i < p->n; i++) {
    const EwStep *st = &p->steps[i];
    Opd o[3] = {O_none, O_none, O_none};
    for (int k = 0; k < ir_ew_prim_arity(st->prim); k++) {
      const EwOpd *e = &st->a[k];
      switch (e->src) {
      case EWS_STEP: o[k] = O_val(vals[e->i]); break;
      case EWS_X: o[k] = x; break;
      case EWS_Y: o[k] = y; break;
      case EWS_G: o[k] = g; break;
      case EWS_CONST: o[k] = O_const(e->c); break;
      case EWS_PARAM: o[k] = O_const(prm[e->i]); break;
      }
    }
    vals[i] = st->prim == EWP_ERF ? ew_erf(L, s, n, o[0]) : ew(L, s, prim_op[st->prim], n, o[0], o[1], o[2]);
  }
  return vals[p->n - 1];
}

/* An ew_backward node: its op's backward formula (the op and its arguments as the node names
 * them; a missing argument takes the op's default). */
static Status lower_ew_backward(Lower *L, const Node *n, const Value *args, int s, int len) {
  MaseOp op = args[2].kind == VAL_STR ? ir_op_lookup(args[2].u.s) : MOP_NONE;
  const OpInfo *oi = ir_op_info(op);
  Value fb[12] = {{.kind = VAL_NONE}};
  int nrest = args[3].kind == VAL_TUPLE ? args[3].u.seq.n : 0;
  for (int i = 1; oi && i < oi->sig.n; i++) fb[i] = i - 1 < nrest ? args[3].u.seq.items[i - 1] : oi->sig.params[i].def;
  const EwDef *d = oi ? ir_ew_find(op, fb) : NULL;
  if (!d) return unsupported(L, n, "names no activation with a formula");
  double prm[IR_EW_MAX_PARAMS];
  ir_ew_params(d, fb, prm);
  int a, b;
  Status st;
  if ((st = row_arg(L, n, &args[0], s, &a)) || (st = row_arg(L, n, &args[1], s, &b))) return st;
  return set_row(L, n, s, lower_ew(L, s, len, &d->bwd, O_val(b), O_val(b), O_val(a), prm));
}

static Status lower_call(Lower *L, const Node *n, MaseOp op, const Value *args, int nargs, const Module *m) {
  int s = stage_of(L, n);
  const Value *x = nargs > 0 ? &args[0] : NULL;
  int len = row_len(n);
  bool train = L->p->o.train;
  int v, a = 0, b = 0; /* set by row_arg; initialised for -O3's flow analysis */
  Opd oa, ob;
  Status st;
  switch (op) {
  case MOP_LINEAR: {
    int64_t w, bias = -1;
    bool wstat = false, bstat = false;
    if (m) {
      w = poff(L, ir_module_param(m, "weight"));
      bias = poff(L, ir_module_param(m, "bias"));
    } else {
      NInfo *wi = info(L, &args[1]), *bi = nargs > 2 ? info(L, &args[2]) : NULL;
      if (!wi || wi->kind != NK_PARAM) return unsupported(L, n, "needs a parameter weight");
      w = wi->off;
      wstat = wi->instat;
      if (bi) {
        if (bi->kind != NK_PARAM) return unsupported(L, n, "needs a parameter bias");
        bias = bi->off;
        bstat = bi->instat;
      }
    }
    if ((st = row_arg(L, n, x, s, &a))) return st;
    int nin = L->p->vlen[a];
    QCfg q;
    if (node_q(L, n, &q, &st) || st) {
      if (st) return st;
      if (q.has[QS_WEIGHT]) w = quant_copy(L, w, wstat, nin * len, nin, &q.fmt[QS_WEIGHT]), wstat = true;
      if (q.has[QS_BIAS] && bias >= 0) bias = quant_copy(L, bias, bstat, len, len, &q.fmt[QS_BIAS]), bstat = true;
    }
    return set_row(L, n, s, affine(L, s, a, nin, len, w, nin, 1, bias, wstat, bstat));
  }
  case MOP_CONV1D:
  case MOP_CONV1D_BACKWARD_INPUT:
  case MOP_CONV1D_BACKWARD_WEIGHT: return lower_conv(L, n, op, s, args, m);
  case MOP_MATMUL: {
    /* row [K] @ W [K, N]: y[o] = sum_k a[k] W[k * N + o] */
    NInfo *wi = info(L, &args[1]);
    if (!wi || wi->kind != NK_PARAM) return unsupported(L, n, "multiplies by something other than a 2-D parameter");
    if ((st = row_arg(L, n, x, s, &a))) return st;
    int K = L->p->vlen[a];
    return set_row(L, n, s, affine(L, s, a, K, len, wi->off, 1, len, -1, wi->instat, false));
  }
  case MOP_QUANTIZE: {
    QFmt f;
    if ((st = ir_qfmt_from_value(&args[1], &f, L->d, n->loc))) return st;
    NInfo *xi = info(L, x);
    if (xi && xi->kind == NK_PARAM) { /* a quantized parameter: a copy made once per step */
      NInfo *ni = &L->ni[n->index];
      *ni = *xi;
      int64_t row = n->has_type && n->type.rank > 0 ? n->type.dims[n->type.rank - 1].size : xi->n; /* the last dim */
      ni->off = quant_copy(L, xi->off, xi->instat, xi->n, row > 0 ? row : xi->n, &f);
      ni->instat = true;
      return JS_OK;
    }
    if ((st = jit_format(L, n, &f, true)) || (st = row_arg(L, n, x, s, &a))) return st;
    v = new_val(L, len);
    emit(L, s, (Inst){.kind = I_EW, .ew = EW_QUANT, .dst = v, .n = len, .a = O_val(a), .qf = f});
    L->p->flops_row += 4LL * len;
    return set_row(L, n, s, v);
  }
  case MOP_BATCH_NORM1D: {
    const Param *wp = ir_module_param(m, "weight"), *bp = ir_module_param(m, "bias");
    const Value *tv = ir_module_arg(m, "track_running_stats");
    bool track = !tv || tv->kind != VAL_BOOL || tv->u.b;
    QCfg q;
    bool quant = node_q(L, n, &q, &st);
    if (st) return st;
    if (train || !track) {
      const Node *xn = x->u.node;
      if ((st = bn_train_stats(L, xn, m))) return st;
      NInfo *xi = &L->ni[xn->index];
      int s2 = xi->bn_stage > s ? xi->bn_stage : s;
      if (quant && (q.has[QS_WEIGHT] || q.has[QS_BIAS])) {
        /* the folded form (spec/quant.md §3): scale and shift from the batch statistics, quantized */
        int64_t scale = new_stat(L, len), shift = new_stat(L, len);
        emit_pre(L, xi->bn_stage, (Point){.kind = PT_BN_FOLD, .n = len, .dst = scale, .src = shift, .mean = xi->bn_mean,
                                          .invstd = xi->bn_invstd, .w = poff(L, wp), .b = poff(L, bp)});
        for (int k = QS_WEIGHT; k <= QS_BIAS; k++)
          if (q.has[k])
            emit_pre(L, xi->bn_stage, (Point){.kind = PT_QUANT, .n = len, .dst = k == QS_WEIGHT ? scale : shift,
                                              .src = k == QS_WEIGHT ? scale : shift, .src_stat = true, .qf = q.fmt[k], .row = len});
        int xv = row_in(L, xn, s2);
        return set_row(L, n, s2, ew(L, s2, EW_FMA, len, O_val(xv), O_stat(scale), O_stat(shift)));
      }
      int xh = bn_xhat(L, xn, s2);
      int y = xh;
      if (wp) y = ew(L, s2, EW_MUL, len, O_val(y), O_param(poff(L, wp)), O_none);
      if (bp) y = ew(L, s2, EW_ADD, len, O_val(y), O_param(poff(L, bp)), O_none);
      return set_row(L, n, s2, y);
    }
    int64_t scale = new_stat(L, len), shift = new_stat(L, len);
    emit_pre(L, 0, (Point){.kind = PT_BN_EVAL, .n = len, .mean = scale, .invstd = shift, .w = poff(L, wp),
                           .b = poff(L, bp), .rm = poff(L, ir_module_param(m, "running_mean")),
                           .rv = poff(L, ir_module_param(m, "running_var")), .eps = num(ir_module_arg(m, "eps"), 1e-5)});
    for (int k = QS_WEIGHT; quant && k <= QS_BIAS; k++)
      if (q.has[k])
        emit_pre(L, 0, (Point){.kind = PT_QUANT, .n = len, .dst = k == QS_WEIGHT ? scale : shift,
                               .src = k == QS_WEIGHT ? scale : shift, .src_stat = true, .qf = q.fmt[k], .row = len});
    if ((st = row_arg(L, n, x, s, &a))) return st;
    return set_row(L, n, s, ew(L, s, EW_FMA, len, O_val(a), O_stat(scale), O_stat(shift)));
  }
  case MOP_NEG:
    if ((st = row_arg(L, n, x, s, &a))) return st;
    return set_row(L, n, s, ew(L, s, EW_NEG, len, O_val(a), O_none, O_none));
  case MOP_DROPOUT: {
    double p = m ? num(ir_module_arg(m, "p"), 0.5) : num(nargs > 1 ? &args[1] : NULL, 0.5);
    bool on = m ? train : !(nargs > 2 && args[2].kind == VAL_BOOL && !args[2].u.b);
    if ((st = row_arg(L, n, x, s, &a))) return st;
    if (!on || p == 0) return set_row(L, n, s, a);
    v = new_val(L, len);
    emit(L, s, (Inst){.kind = I_EW, .ew = EW_DROPOUT, .dst = v, .n = len, .a = O_val(a), .c = (float)p,
                      .key = (uint32_t)ir_hash_str(n->name)});
    return set_row(L, n, s, v);
  }
  case MOP_IDENTITY:
  case MOP_FLATTEN:
  case MOP_VIEW:
  case MOP_RESHAPE:
  case MOP_RESHAPE_AS: {
    NInfo *xi = info(L, x);
    if (!xi || xi->kind != NK_ROW || xi->n != len) return unsupported(L, n, "reshapes rows; the kernels keep [batch, features]");
    L->ni[n->index] = *xi; /* the same rows under another name */
    return JS_OK;
  }
  case MOP_ADD:
  case MOP_SUB:
  case MOP_MUL:
  case MOP_DIV:
    if ((st = operand(L, n, &args[0], s, len, &oa)) || (st = operand(L, n, &args[1], s, len, &ob))) return st;
    return set_row(L, n, s, ew(L, s, op == MOP_ADD ? EW_ADD : op == MOP_SUB ? EW_SUB : op == MOP_MUL ? EW_MUL : EW_DIV, len,
                              oa, ob, O_none));
  case MOP_SOFTMAX:
  case MOP_LOG_SOFTMAX: {
    if ((st = row_arg(L, n, x, s, &a))) return st;
    int mx = new_val(L, 1), sum = new_val(L, 1);
    emit(L, s, (Inst){.kind = I_RMAX, .dst = mx, .n = len, .a = O_val(a)});
    int sh = ew(L, s, EW_SUB, len, O_val(a), O_val(mx), O_none);
    int e = ew(L, s, EW_EXP, len, O_val(sh), O_none, O_none);
    emit(L, s, (Inst){.kind = I_RSUM, .dst = sum, .n = len, .a = O_val(e)});
    if (op == MOP_SOFTMAX) return set_row(L, n, s, ew(L, s, EW_DIV, len, O_val(e), O_val(sum), O_none));
    int ls = ew(L, s, EW_LOG, 1, O_val(sum), O_none, O_none);
    return set_row(L, n, s, ew(L, s, EW_SUB, len, O_val(sh), O_val(ls), O_none));
  }
  /* ---- loss and backward ---- */
  case MOP_CROSS_ENTROPY:
  case MOP_CROSS_ENTROPY_BACKWARD: {
    if ((st = row_arg(L, n, x, s, &a))) return st;
    int C = L->p->vlen[a];
    int mx = new_val(L, 1), sum = new_val(L, 1);
    emit(L, s, (Inst){.kind = I_RMAX, .dst = mx, .n = C, .a = O_val(a)});
    int sh = ew(L, s, EW_SUB, C, O_val(a), O_val(mx), O_none);
    int e = ew(L, s, EW_EXP, C, O_val(sh), O_none, O_none);
    emit(L, s, (Inst){.kind = I_RSUM, .dst = sum, .n = C, .a = O_val(e)});
    if (op == MOP_CROSS_ENTROPY) {
      /* loss_i = log(sum) - (x_t - max); summed over real rows into metrics[0] */
      int ls = ew(L, s, EW_LOG, 1, O_val(sum), O_none, O_none);
      int pk = new_val(L, 1);
      emit(L, s, (Inst){.kind = I_PICK, .dst = pk, .n = C, .a = O_val(sh)});
      int li = ew(L, s, EW_SUB, 1, O_val(ls), O_val(pk), O_none);
      int lm = ew(L, s, EW_MUL, 1, O_val(li), O_kind(OPD_VALID), O_none);
      emit(L, s, (Inst){.kind = I_ACC, .n = 1, .a = O_val(lm), .acc = new_acc(L, 1, ACC_METRIC, 0, s)});
      int eq = new_val(L, 1);
      emit(L, s, (Inst){.kind = I_ARGEQ, .dst = eq, .n = C, .a = O_val(a)});
      int em = ew(L, s, EW_MUL, 1, O_val(eq), O_kind(OPD_VALID), O_none);
      emit(L, s, (Inst){.kind = I_ACC, .n = 1, .a = O_val(em), .acc = new_acc(L, 1, ACC_METRIC, 1, s)});
      L->ni[n->index].kind = NK_LOSS;
      return JS_OK;
    }
    /* (softmax - onehot) * valid / n */
    int rs = ew(L, s, EW_DIV, 1, O_kind(OPD_WROW), O_val(sum), O_none);
    int pr = ew(L, s, EW_MUL, C, O_val(e), O_val(rs), O_none);
    int oh = ew(L, s, EW_ONEHOT, C, O_none, O_none, O_none);
    int ohw = ew(L, s, EW_MUL, C, O_val(oh), O_kind(OPD_WROW), O_none);
    return set_row(L, n, s, ew(L, s, EW_SUB, C, O_val(pr), O_val(ohw), O_none));
  }
  case MOP_EW_BACKWARD: return lower_ew_backward(L, n, args, s, len);
  case MOP_SOFTMAX_BACKWARD:
  case MOP_LOG_SOFTMAX_BACKWARD: {
    if ((st = row_arg(L, n, &args[0], s, &a)) || (st = row_arg(L, n, &args[1], s, &b))) return st;
    int sum = new_val(L, 1);
    if (op == MOP_SOFTMAX_BACKWARD) { /* r * (g - sum(g r)) */
      int gr = ew(L, s, EW_MUL, len, O_val(a), O_val(b), O_none);
      emit(L, s, (Inst){.kind = I_RSUM, .dst = sum, .n = len, .a = O_val(gr)});
      int d = ew(L, s, EW_SUB, len, O_val(a), O_val(sum), O_none);
      return set_row(L, n, s, ew(L, s, EW_MUL, len, O_val(b), O_val(d), O_none));
    }
    emit(L, s, (Inst){.kind = I_RSUM, .dst = sum, .n = len, .a = O_val(a)}); /* g - exp(r) sum(g) */
    int e = ew(L, s, EW_EXP, len, O_val(b), O_none, O_none);
    int es = ew(L, s, EW_MUL, len, O_val(e), O_val(sum), O_none);
    return set_row(L, n, s, ew(L, s, EW_SUB, len, O_val(a), O_val(es), O_none));
  }
  case MOP_DROPOUT_BACKWARD: {
    if ((st = row_arg(L, n, &args[0], s, &a))) return st;
    double p = num(nargs > 2 ? &args[2] : NULL, 0.5);
    if (p == 0) return set_row(L, n, s, a);
    v = new_val(L, len);
    emit(L, s, (Inst){.kind = I_EW, .ew = EW_DROPOUT, .dst = v, .n = len, .a = O_val(a), .c = (float)p,
                      .key = (uint32_t)ir_hash_str(args[1].u.node->name)});
    return set_row(L, n, s, v);
  }
  case MOP_OUTER_SUM: {
    if ((st = row_arg(L, n, &args[0], s, &a)) || (st = row_arg(L, n, &args[1], s, &b))) return st;
    int na = L->p->vlen[a], nb = L->p->vlen[b];
    int acc = set_acc(L, n, s, na * nb);
    emit(L, s, (Inst){.kind = I_OUTER, .n = na, .nb = nb, .a = O_val(a), .b = O_val(b), .acc = acc});
    L->p->flops_row += 2LL * na * nb;
    return JS_OK;
  }
  case MOP_SUM:
  case MOP_SUM_TO: {
    if (op == MOP_SUM && seg_sum(L, n, args, s, &st)) return st;
    NInfo *xi = info(L, x);
    if (op == MOP_SUM_TO && xi && xi->kind == NK_ROW && ir_type_numel(&n->type) == 1) {
      /* down to one element (the gradient of a scalar parameter): a row sum, accumulated */
      if ((st = row_arg(L, n, x, s, &a))) return st;
      int rs = new_val(L, 1);
      emit(L, s, (Inst){.kind = I_RSUM, .dst = rs, .n = xi->n, .a = O_val(a)});
      int acc = set_acc(L, n, s, 1);
      emit(L, s, (Inst){.kind = I_ACC, .n = 1, .a = O_val(rs), .acc = acc});
      L->p->flops_row += xi->n;
      return JS_OK;
    }
    int64_t dim = op == MOP_SUM ? (int64_t)num(&args[1], -1) : 0;
    bool keep = op == MOP_SUM && nargs > 2 && args[2].kind == VAL_BOOL && args[2].u.b;
    if (!xi || xi->kind != NK_ROW || dim != 0 || keep || n->type.rank != 1 || n->type.dims[0].size != xi->n)
      return unsupported(L, n, "reduces something other than the batch dimension of rows");
    if ((st = row_arg(L, n, x, s, &a))) return st;
    int acc = set_acc(L, n, s, xi->n);
    emit(L, s, (Inst){.kind = I_ACC, .n = xi->n, .a = O_val(a), .acc = acc});
    return JS_OK;
  }
  case MOP_BATCH_NORM1D_BACKWARD_WEIGHT:
  case MOP_BATCH_NORM1D_BACKWARD_INPUT: {
    const Node *xn = args[1].kind == VAL_NODE ? args[1].u.node : NULL;
    NInfo *xi = xn ? &L->ni[xn->index] : NULL;
    if (!xi || xi->bn_stage < 0) return unsupported(L, n, "is the backward of a BatchNorm the plan did not run in training mode");
    if (xi->bn_stage > s) s = xi->bn_stage;
    if ((st = row_arg(L, n, &args[0], s, &a))) return st;
    int C = xi->n;
    int xh = bn_xhat(L, xn, s);
    int gx = ew(L, s, EW_MUL, C, O_val(a), O_val(xh), O_none);
    if (op == MOP_BATCH_NORM1D_BACKWARD_WEIGHT) {
      int acc = set_acc(L, n, s, C);
      emit(L, s, (Inst){.kind = I_ACC, .n = C, .a = O_val(gx), .acc = acc});
      return JS_OK;
    }
    /* dx = w * invstd * (g - sum(g)/n - xhat * sum(g xhat)/n), zero on padding rows */
    int64_t sg = new_stat(L, C), sgx = new_stat(L, C);
    emit(L, s, (Inst){.kind = I_ACC, .n = C, .a = O_val(a), .acc = new_acc(L, C, ACC_STAT, sg, s)});
    emit(L, s, (Inst){.kind = I_ACC, .n = C, .a = O_val(gx), .acc = new_acc(L, C, ACC_STAT, sgx, s)});
    int s1 = s + 1;
    int g1 = row_in(L, args[0].u.node, s1);
    int xh1 = bn_xhat(L, xn, s1);
    int t1 = ew(L, s1, EW_MUL, C, O_val(xh1), O_stat(sgx), O_none);
    int t2 = ew(L, s1, EW_ADD, C, O_val(t1), O_stat(sg), O_none);
    int t3 = ew(L, s1, EW_MUL, C, O_val(t2), O_kind(OPD_INVN), O_none);
    int t4 = ew(L, s1, EW_SUB, C, O_val(g1), O_val(t3), O_none);
    int t5 = ew(L, s1, EW_MUL, C, O_val(t4), O_stat(xi->bn_invstd), O_none);
    if (nargs > 2 && args[2].kind == VAL_NODE) {
      Opd wo;
      if ((st = operand(L, n, &args[2], s1, C, &wo))) return st;
      t5 = ew(L, s1, EW_MUL, C, O_val(t5), wo, O_none);
    }
    return set_row(L, n, s1, ew(L, s1, EW_MUL, C, O_val(t5), O_kind(OPD_VALID), O_none));
  }
  default: {
    const EwDef *d = ir_ew_find(op, args);
    if (!d) break;
    double prm[IR_EW_MAX_PARAMS];
    ir_ew_params(d, args, prm);
    if ((st = row_arg(L, n, x, s, &a))) return st;
    return set_row(L, n, s, lower_ew(L, s, len, &d->fwd, O_val(a), O_none, O_none, prm));
  }
  }
  return unsupported(L, n, "has no kernel");
}

static Status lower_node(Lower *L, const Node *n) {
  NInfo *ni = &L->ni[n->index];
  switch (n->op) {
  case OP_PLACEHOLDER:
    if (n->type.rank == 1 && n->type.dims[0].sym == g_bsym && n->type.dtype != DT_F32) {
      ni->kind = NK_TARGET;
      return JS_OK;
    }
    if (!is_row_type(L, &n->type, g_bsym) || n->type.dtype != DT_F32)
      return unsupported(L, n, "is an input the kernels do not take (they take one f32 [batch, features] input)");
    if (L->p->features) return unsupported(L, n, "is a second f32 input; the kernels take one");
    L->p->features = (int)n->type.dims[1].size;
    ni->kind = NK_ROW;
    ni->n = L->p->features;
    ni->stage = 0;
    ni->val = -1;
    ni->input = true;
    return JS_OK;
  case OP_GET_ATTR:
    if (!n->param || n->param->type.dtype != DT_F32) return unsupported(L, n, "reads a non-f32 tensor");
    ni->kind = NK_PARAM;
    ni->off = poff(L, n->param);
    ni->n = (int)ir_type_numel(&n->param->type);
    ni->param = pindex(L, n->param);
    return JS_OK;
  case OP_CALL_MODULE:
  case OP_CALL_FUNCTION:
  case OP_CALL_METHOD: {
    if (!n->has_type) return unsupported(L, n, "has no type (run shape first)");
    bool row = is_row_type(L, &n->type, g_bsym) || is_row3_type(&n->type, g_bsym);
    bool red = n->mop == MOP_OUTER_SUM || n->mop == MOP_SUM || n->mop == MOP_SUM_TO ||
               n->mop == MOP_BATCH_NORM1D_BACKWARD_WEIGHT || n->mop == MOP_CROSS_ENTROPY ||
               n->mop == MOP_CONV1D_BACKWARD_WEIGHT;
    bool qparam = n->mop == MOP_QUANTIZE && n->nargs > 0 && info(L, &n->args[0]) && info(L, &n->args[0])->kind == NK_PARAM;
    if (!row && !red && !qparam) return unsupported(L, n, "computes a tensor that is not [batch, features]");
    QCfg q;
    Status qs;
    bool quant = node_q(L, n, &q, &qs);
    if (qs) return qs;
    if ((qs = check_row3(L, n, quant ? &q : NULL))) return qs;
    if (quant && q.has[QS_DATA_OUT]) { /* lower the op, then quantize its result */
      Status st = lower_plain(L, n);
      NInfo *ni = &L->ni[n->index];
      if (st) return st;
      if (ni->kind != NK_ROW) return unsupported(L, n, "quantizes a result that is not [batch, features]");
      int v = new_val(L, ni->n);
      emit(L, ni->stage, (Inst){.kind = I_EW, .ew = EW_QUANT, .dst = v, .n = ni->n, .a = O_val(ni->val), .qf = q.fmt[QS_DATA_OUT]});
      L->p->flops_row += 4LL * ni->n;
      ni->val = v;
      return JS_OK;
    }
    return lower_plain(L, n);
  }
  default: return JS_OK;
  }
}

/* A call node, its quantized output aside. */
static Status lower_plain(Lower *L, const Node *n) {
  {
    if (n->op == OP_CALL_MODULE) {
      /* modules with parameters (and Dropout, which follows the step's mode) read their own;
       * any other is its op bound to the module's arguments */
      ModuleType t = n->module ? n->module->type : MT_NONE;
      if (t == MT_LINEAR || t == MT_CONV1D || t == MT_BATCHNORM1D || t == MT_DROPOUT || t == MT_SEQUENTIAL || t == MT_NONE)
        return lower_call(L, n, n->mop, n->args, n->nargs, n->module);
      Value bound[12];
      MaseOp op = ir_module_bind(n->module, bound);
      bound[0] = n->args[0];
      return lower_call(L, n, op, bound, ir_op_info(op)->sig.n, NULL);
    }
    const OpInfo *oi = ir_op_info(n->mop);
    Value bound[12];
    Diag quiet;
    diag_init(&quiet, NULL);
    Status st = ir_sig_bind(&oi->sig, oi->name, n->nargs, n->args, n->nkwargs, n->kwnames, n->kwargs, n->graph->arena,
                            bound, &quiet, n->loc);
    diag_free(&quiet);
    if (st) return unsupported(L, n, "has arguments the kernels cannot bind");
    return lower_call(L, n, n->mop, bound, oi->sig.n, NULL);
  }
}

/* Mark the nodes the wanted outputs depend on. */
static void mark(const Value *v, bool *live) {
  switch (v->kind) {
  case VAL_NODE:
    if (!live[v->u.node->index]) {
      live[v->u.node->index] = true;
      const Node *n = v->u.node;
      for (int i = 0; i < n->nargs; i++) mark(&n->args[i], live);
      for (int i = 0; i < n->nkwargs; i++) mark(&n->kwargs[i], live);
    }
    break;
  case VAL_TUPLE:
  case VAL_LIST:
    for (int i = 0; i < v->u.seq.n; i++) mark(&v->u.seq.items[i], live);
    break;
  case VAL_DICT:
    for (int i = 0; i < v->u.dict.n; i++) mark(&v->u.dict.vals[i], live);
    break;
  default: break;
  }
}

static const Value *dict_get(const Value *d, const char *key) {
  if (d->kind != VAL_DICT) return NULL;
  for (int i = 0; i < d->u.dict.n; i++)
    if (strcmp(d->u.dict.keys[i], key) == 0) return &d->u.dict.vals[i];
  return NULL;
}

Status cg_plan_build(const Graph *g, const CgOptions *o, CgPlan **out, Diag *d) {
  *out = NULL;
  Node *outn = ir_graph_output(g);
  if (!outn || outn->nargs != 1) return diag_error(d, g->loc, "codegen: model '%s' has no usable output", g->name);
  const Value *res = &outn->args[0];
  const Value *logits = res->kind == VAL_DICT ? dict_get(res, "logits") : res->kind == VAL_TUPLE ? &res->u.seq.items[0] : res;
  const Value *grads = res->kind == VAL_DICT ? dict_get(res, "grads") : NULL;
  if (!logits || logits->kind != VAL_NODE || !logits->u.node->has_type || logits->u.node->type.rank != 2)
    return diag_error(d, outn->loc, "codegen: the model must return logits [batch, classes]");
  if (o->train && !grads)
    return diag_error(d, outn->loc, "codegen: a training step needs the graph from the `grad` pass");
  if (o->batch < 1 || o->batch > (1 << 24)) return diag_error(d, g->loc, "codegen: batch size %lld out of range", (long long)o->batch);

  CgPlan *p = ir_calloc(1, sizeof *p);
  if (!p) return diag_oom(d);
  p->o = *o;
  /* the tuning's width where the caller leaves it open (golden tests pin the plan text on any
   * machine with --vec 16), else the host's */
  int tvec = o->tuning ? o->tuning->vec : 0;
  p->vec = o->vec > 0 ? o->vec : tvec == 4 || tvec == 8 || tvec == 16 ? tvec : cg_host_vec();
  p->bpad = (o->batch + p->vec - 1) / p->vec * p->vec;
  p->nparams = g->nparams;
  p->model = g->name;
  const Node *ln = logits->u.node;
  p->classes = (int)ln->type.dims[1].size;
  g_bsym = ln->type.dims[0].sym;

  ir_graph_renumber((Graph *)g);
  int nn = g->nnodes + 1;
  Lower L = {.p = p, .g = g, .d = d};
  L.ni = ir_calloc((size_t)nn, sizeof(NInfo));
  bool *live = ir_calloc((size_t)nn, sizeof(bool));
  int *loaded = ir_malloc(sizeof(int) * (size_t)nn * (size_t)(2 * nn + 2));
  Status st = JS_OK;
  if (!L.ni || !live || !loaded) {
    st = diag_oom(d);
    goto done;
  }
  memset(loaded, 0xff, sizeof(int) * (size_t)nn * (size_t)(2 * nn + 2));
  for (int i = 0; i < nn; i++) {
    L.ni[i].loaded = loaded + (size_t)i * (size_t)(2 * nn + 2);
    L.ni[i].buf = -1;
    L.ni[i].bn_stage = -1;
    L.ni[i].fold = -1;
  }
  mark(logits, live);
  for (const Node *n = g->first; n; n = n->next)
    if (n->op == OP_CALL_FUNCTION && n->mop == MOP_CROSS_ENTROPY) mark(&(Value){.kind = VAL_NODE, .u.node = (Node *)n}, live);
  if (o->train) mark(grads, live);
  for (int k = 0; k < o->nobserve; k++) mark(&(Value){.kind = VAL_NODE, .u.node = (Node *)o->observe[k]}, live);
  if (!stage_at(&L, 0)) {
    st = diag_oom(d);
    goto done;
  }
  bool has_loss = false;
  for (const Node *n = g->first; n && !st && !L.oom; n = n->next) {
    if (!live[n->index] || n->op == OP_OUTPUT) continue;
    if (n->op == OP_CALL_FUNCTION && n->mop == MOP_CROSS_ENTROPY) has_loss = true;
    st = lower_node(&L, n);
  }
  if (!st && !L.oom && !has_loss) {
    /* a forward graph: the metrics still need the loss on the labels */
    Node fake = {.op = OP_CALL_FUNCTION, .mop = MOP_CROSS_ENTROPY, .name = "cross_entropy", .target = "cross_entropy",
                 .nargs = 1, .args = (Value *)logits, .has_type = true, .index = nn - 1, .graph = (Graph *)g, .loc = outn->loc};
    fake.type = (TensorType){.dtype = DT_F32, .rank = 0};
    st = lower_call(&L, &fake, MOP_CROSS_ENTROPY, logits, 1, NULL);
  }
  if (!st && !L.oom && o->nobserve) {
    /* observed nodes: stored to their own row buffer (or the one a later stage loads) */
    p->obs_buf = ir_calloc((size_t)o->nobserve, sizeof(int));
    p->obs_len = ir_calloc((size_t)o->nobserve, sizeof(int));
    if (!p->obs_buf || !p->obs_len) L.oom = true;
    for (int k = 0; k < o->nobserve && !L.oom && !st; k++) {
      const Node *on = o->observe[k];
      NInfo *oi = &L.ni[on->index];
      if (on->graph != g || oi->kind != NK_ROW) {
        st = unsupported(&L, on, "is observed, but it is not a [batch, features] value of the step");
        break;
      }
      p->obs_len[k] = oi->n;
      if (oi->input) {
        p->obs_buf[k] = -2;
        continue;
      }
      if (oi->buf < 0) {
        if (!grow((void **)&p->blen, &p->capbufs, p->nbufs + 1, sizeof(int)) ||
            !(p->boff = ir_realloc(p->boff, sizeof(int64_t) * (size_t)p->capbufs))) {
          L.oom = true;
          break;
        }
        oi->buf = p->nbufs;
        p->blen[p->nbufs++] = oi->n;
        emit(&L, oi->stage, (Inst){.kind = I_STORE, .n = oi->n, .a = O_val(oi->val), .buf = oi->buf});
      }
      p->obs_buf[k] = oi->buf;
    }
  }
  if (!st && !L.oom && o->want_logits) {
    NInfo *li = &L.ni[ln->index];
    int s = p->nstages - 1;
    emit(&L, s, (Inst){.kind = I_LOGITS, .n = li->n, .a = O_val(row_in(&L, ln, s))});
  }
  if (!st && !L.oom && o->train) {
    /* gradients land in the grad buffer; then the optimizer */
    for (int i = 0; i < grads->u.dict.n && !st; i++) {
      const Param *pp = ir_graph_find_param(g, grads->u.dict.keys[i]);
      NInfo *gi = info(&L, &grads->u.dict.vals[i]);
      if (pp && gi && gi->kind == NK_ACC && gi->fold >= 0 && gi->fold_n == (int)ir_type_numel(&pp->type)) {
        emit_post(&L, (Point){.kind = PT_FOLD, .n = gi->fold_n, .dst = poff(&L, pp), .src = gi->off, .tab = gi->fold});
        emit_post(&L, (Point){.kind = PT_OPTIM, .n = gi->fold_n, .off = poff(&L, pp)});
        continue;
      }
      if (!pp || !gi || gi->kind != NK_ACC || gi->fold >= 0 || gi->n != (int)ir_type_numel(&pp->type)) {
        st = diag_error(d, outn->loc, "codegen: the gradient of '%s' is not a batch reduction the kernels compute; use --engine=ref",
                        grads->u.dict.keys[i]);
        break;
      }
      p->accs[gi->acc].dest = ACC_GRAD;
      p->accs[gi->acc].off = poff(&L, pp);
      emit_post(&L, (Point){.kind = PT_OPTIM, .n = gi->n, .off = poff(&L, pp)});
    }
  }
  if (L.oom && !st) st = diag_oom(d);
  if (st) goto done;
  /* scratch: stats, then row buffers, then accumulator lanes, then wide values */
  int64_t off = (p->nstat + 15) / 16 * 16;
  p->boff = ir_realloc(p->boff, sizeof(int64_t) * (size_t)(p->nbufs + 1));
  p->aoff = ir_malloc(sizeof(int64_t) * (size_t)(p->naccs + 1));
  p->voff = ir_malloc(sizeof(int64_t) * (size_t)(p->nvals + 1));
  if (!p->boff || !p->aoff || !p->voff) {
    st = diag_oom(d);
    goto done;
  }
  for (int i = 0; i < p->nbufs; i++) {
    p->boff[i] = off;
    off += (int64_t)p->blen[i] * p->bpad;
    off = (off + 15) / 16 * 16;
  }
  for (int i = 0; i < p->naccs; i++) {
    p->aoff[i] = off;
    off += (int64_t)p->accs[i].n * p->vec * (p->accs[i].f64 ? 2 : 1);
    off = (off + 15) / 16 * 16;
  }
  for (int i = 0; i < p->nvals; i++) { /* then the blocks of the widest row values */
    p->voff[i] = p->vlen[i] > CG_VAL_SCRATCH_MIN ? off : -1;
    if (p->vlen[i] > CG_VAL_SCRATCH_MIN) off += ((int64_t)p->vlen[i] * p->vec + 15) / 16 * 16;
  }
  p->scratch = (size_t)off;
done:
  ir_free(L.ni);
  ir_free(live);
  ir_free(loaded);
  if (st) {
    cg_plan_free(p);
    return st;
  }
  *out = p;
  return JS_OK;
}

void cg_plan_free(CgPlan *p) {
  if (!p) return;
  for (int i = 0; i < p->nstages; i++) {
    ir_free(p->stages[i].pre);
    ir_free(p->stages[i].insts);
  }
  ir_free(p->stages);
  ir_free(p->post);
  ir_free(p->accs);
  ir_free(p->vlen);
  ir_free(p->blen);
  ir_free(p->boff);
  ir_free(p->aoff);
  ir_free(p->voff);
  ir_free(p->obs_buf);
  ir_free(p->obs_len);
  ir_free(p->tabs);
  ir_free(p);
}

bool cg_plan_observed(const CgPlan *p, int k, int64_t *off, int *n) {
  if (!p || k < 0 || k >= p->o.nobserve || !p->obs_buf) return false;
  *off = p->obs_buf[k] == -2 ? -1 : p->boff[p->obs_buf[k]];
  *n = p->obs_len[k];
  return true;
}

int cg_plan_passes(const CgPlan *p) { return p->nstages; }
int64_t cg_plan_flops_per_row(const CgPlan *p) { return p->flops_row; }
size_t cg_plan_scratch_floats(const CgPlan *p) { return p->scratch; }
int64_t cg_plan_bpad(const CgPlan *p) { return p->bpad; }
int cg_plan_features(const CgPlan *p) { return p->features; }
int cg_plan_classes(const CgPlan *p) { return p->classes; }

/* ---- printing ---- */

static const char *const ew_names[] = {"add", "sub", "mul", "div", "neg", "exp", "log", "max", "min", "sel",
                                       "dropout", "onehot", "fma", "quant"};
static const char *const inst_names[] = {"load", "loadx", "store", "ew", "affine", "acc", "outer", "rmax", "rsum",
                                         "pick", "argeq", "logits"};

static void opd_print(StrBuf *sb, Opd o) {
  switch (o.kind) {
  case OPD_NONE: break;
  case OPD_VAL: sb_printf(sb, " v%lld", (long long)o.id); break;
  case OPD_PARAM: sb_printf(sb, " param[%lld]%s", (long long)o.id, o.scalar ? "(scalar)" : ""); break;
  case OPD_STAT: sb_printf(sb, " stat[%lld]%s", (long long)o.id, o.scalar ? "(scalar)" : ""); break;
  case OPD_CONST: sb_printf(sb, " %g", (double)o.c); break;
  case OPD_VALID: sb_puts(sb, " valid"); break;
  case OPD_WROW: sb_puts(sb, " valid/n"); break;
  case OPD_INVN: sb_puts(sb, " 1/n"); break;
  }
}

static void point_print(StrBuf *sb, const Point *pt) {
  switch (pt->kind) {
  case PT_COPY: sb_printf(sb, "    copy stat[%lld] = param[%lld] x%d\n", (long long)pt->dst, (long long)pt->src, pt->n); break;
  case PT_BN_TRAIN:
    sb_printf(sb, "    bn_train mean=stat[%lld] invstd=stat[%lld] from sums stat[%lld], stat[%lld] x%d eps=%g momentum=%g\n",
              (long long)pt->mean, (long long)pt->invstd, (long long)pt->s1, (long long)pt->s2, pt->n, pt->eps, pt->momentum);
    break;
  case PT_BN_EVAL:
    sb_printf(sb, "    bn_eval scale=stat[%lld] shift=stat[%lld] x%d eps=%g\n", (long long)pt->mean, (long long)pt->invstd, pt->n,
              pt->eps);
    break;
  case PT_OPTIM: sb_printf(sb, "    optim param[%lld] x%d\n", (long long)pt->off, pt->n); break;
  case PT_QUANT:
    sb_printf(sb, "    quant stat[%lld] = ", (long long)pt->dst);
    ir_qfmt_print(sb, &pt->qf);
    sb_printf(sb, "(%s[%lld]) x%d", pt->src_stat ? "stat" : "param", (long long)pt->src, pt->n);
    if (!ir_qfmt_elementwise(&pt->qf)) sb_printf(sb, " rows of %lld", (long long)pt->row);
    sb_puts(sb, "\n");
    break;
  case PT_BN_FOLD:
    sb_printf(sb, "    bn_fold scale=stat[%lld] shift=stat[%lld] from mean=stat[%lld] invstd=stat[%lld] x%d\n",
              (long long)pt->dst, (long long)pt->src, (long long)pt->mean, (long long)pt->invstd, pt->n);
    break;
  case PT_GATHER:
    sb_printf(sb, "    gather stat[%lld] = %s[%lld] by tab[%lld] x%d\n", (long long)pt->dst, pt->src_stat ? "stat" : "param",
              (long long)pt->src, (long long)pt->tab, pt->n);
    break;
  case PT_FOLD:
    sb_printf(sb, "    fold grad[%lld] = stat[%lld] by tab[%lld] x%d\n", (long long)pt->dst, (long long)pt->src,
              (long long)pt->tab, pt->n);
    break;
  }
}

void cg_plan_print(StrBuf *sb, const CgPlan *p) {
  sb_printf(sb, "# fusion plan: %s, %s step, batch %lld (padded %lld, %d rows per vector), %d pass%s over the batch\n",
            p->model, p->o.train ? "training" : "evaluation", (long long)p->o.batch, (long long)p->bpad, p->vec,
            p->nstages, p->nstages == 1 ? "" : "es");
  sb_printf(sb, "# %lld flops per row, %zu scratch floats\n", (long long)p->flops_row, p->scratch);
  for (int s = 0; s < p->nstages; s++) {
    const Stage *st = &p->stages[s];
    sb_printf(sb, "stage %d:\n", s);
    for (int i = 0; i < st->npre; i++) point_print(sb, &st->pre[i]);
    sb_puts(sb, "  rows:\n");
    for (int i = 0; i < st->ninsts; i++) {
      const Inst *in = &st->insts[i];
      sb_puts(sb, "    ");
      switch (in->kind) {
      case I_STORE: sb_printf(sb, "store buf%d =", in->buf); break;
      case I_ACC:
      case I_OUTER: sb_printf(sb, "%s acc%d +=", inst_names[in->kind], in->acc); break;
      case I_LOGITS: sb_puts(sb, "logits ="); break;
      default: sb_printf(sb, "v%d[%d] = %s", in->dst, in->n, inst_names[in->kind]); break;
      }
      if (in->kind == I_EW) sb_printf(sb, ".%s", ew_names[in->ew]);
      if (in->kind == I_LOAD) sb_printf(sb, " buf%d", in->buf);
      if (in->kind == I_AFFINE)
        sb_printf(sb, " w=%s[%lld] so=%lld sk=%lld bias=%s%lld%s in=%d", in->wstat ? "stat" : "param", (long long)in->w,
                  (long long)in->so, (long long)in->sk, in->bstat ? "stat[" : "", (long long)in->bias, in->bstat ? "]" : "",
                  in->nb);
      opd_print(sb, in->a);
      opd_print(sb, in->b);
      opd_print(sb, in->c3);
      if (in->kind == I_EW && in->ew == EW_DROPOUT)
        sb_printf(sb, " c=%g", (double)in->c);
      if (in->kind == I_EW && in->ew == EW_DROPOUT) sb_printf(sb, " key=%u", in->key);
      if (in->kind == I_EW && in->ew == EW_QUANT) {
        sb_putc(sb, ' ');
        ir_qfmt_print(sb, &in->qf);
      }
      sb_putc(sb, '\n');
    }
    for (int a = 0; a < p->naccs; a++)
      if (p->accs[a].stage == s)
        sb_printf(sb, "  end: acc%d x%d%s -> %s[%lld]\n", a, p->accs[a].n, p->accs[a].f64 ? " (f64)" : "",
                  p->accs[a].dest == ACC_GRAD ? "grad" : p->accs[a].dest == ACC_STAT ? "stat" : "metric",
                  (long long)p->accs[a].off);
  }
  if (p->npost) sb_puts(sb, "post:\n");
  for (int i = 0; i < p->npost; i++) point_print(sb, &p->post[i]);
}
