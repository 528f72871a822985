/* codegen/intprog.c — lowering a quantized forward graph to an integer program (intprog.h).
 *
 * Integer-only inference (spec/quant.md §5).  Every tensor between the input and the logits
 * is carried as integer codes with a binary point: a value v of format fixed[w, f] is the
 * code c = v * 2^f, and a value of the program is (codes, frac) with v = c * 2^-frac.
 *
 * Semantics of the program, row by row (a, b: operand codes; every shift is exact or says
 * how it rounds):
 *   quant    c = clamp(round(x * 2^f), lo, hi) from the float input x (as double): the one
 *            float->int step, the first node's Q_in.  round is half to even, or floor when
 *            the format says floor; NaN gives 0.  x * 2^f is exact in double.
 *   matvec   linear: acc[o] = B[o] + sum_k a[k] * W[o,k] at point pa = max(fx + fw, fb), with
 *            W = Q_w codes << (pa - fx - fw) and B = Q_b codes << (pa - fb): the bias is aligned
 *            to the accumulator by a left shift, and a bias with more fractional bits raises
 *            the accumulator's point instead of being rounded, so nothing is lost.
 *   scale    batch_norm1d folded (§3): s = w / sqrt(rv + eps), t = b - rm * s in double from
 *            the float parameters, S = Q_w(s), T = Q_b(t) as codes, acc[j] = a[j] * S[j] + T[j]
 *            aligned as for matvec.
 *   requant  the next node's Q_in, or a node's Q_out: from point fa to format fixed[w, f]:
 *            sh = fa - f; sh > 0: c = round(a / 2^sh) by a rounding right shift (half to even:
 *            floor((a + 2^(sh-1) - 1 + lsb(floor(a / 2^sh))) / 2^sh); floor: a >> sh); sh < 0:
 *            c = a << -sh (exact); then c = clamp(c, lo, hi).  relu's data_in is the unsigned
 *            variant (lo = 0, hi = 2^w - 1), so relu itself is then the identity.  A requant
 *            that cannot change a value (same point, codes already within the range) is left
 *            out.
 *   relu     max(a, 0) (a relu without data_in).
 *   add/sub  both operands aligned to the finer point by left shifts; mul: a * b at fa + fb.
 *   logits   dequantized at the end: (float)((double)c * 2^-frac).
 *   dropout (eval), identity, flatten of [B, n] and a view or reshape that keeps its input's
 *   type pass their operand through (the node's value is its operand's); an explicit
 *   quantize(x, fmt) node (ir_quant_explicit_inputs) is a quant or a requant.
 *   a parameter operand of add, sub or mul (x * scale, x + shift, shift - x; one value per
 *   feature, or one for all) is a scale step a * S + T with the parameter's codes under the
 *   quantizers the reference applies to it (an explicit quantize node's format, then the
 *   node's data_in), aligned as two rows are.
 *
 * Why bit-exact: the fake-quant reference (runtime/interp.c) computes the same real numbers in
 * double: Q_in(x) and Q_w(W) lie on 2^-fx and 2^-fw grids, their products on 2^-(fx+fw), and
 * every partial sum of such products and the bias is a multiple of 2^-pa below the
 * accumulator's bound, so while that bound is below 2^53 units the double sum is exact, and its
 * Q(x) = clamp(round(x * 2^f)) is the integer requant above.  The integer program is exact
 * whenever its codes fit their integer type: codes are int64 (the C executor) or int32 lanes
 * when every bound fits (the JIT), and a program whose worst-case bound needs more than 62
 * bits is refused.  So integer C == integer JIT always, and both == the reference whenever
 * every accumulator's bound is below 2^53 (passes/intervals.c reports each node's width),
 * equal as numbers: where the reference's quantizer rounds a small negative to -0, a code has
 * the one zero.
 *
 * Bounds are interval arithmetic over the formats' ranges and the actual weight codes, one
 * interval per value (all features together). */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hdl.h"

typedef struct Lower {
  IntProg *p;         /* the program being built */
  const Graph *g;     /* the graph being lowered */
  IpParamFn param;    /* parameter values, */
  void *ud;           /* and the callback's context */
  Diag *d;            /* refusals */
  StrMap pos;         /* node name -> position in the graph + 1 (Node.index may be stale) */
  int *vid;           /* [position] value id of each node's result; -1 none, -3 the input */
  const Node *input;  /* the float input placeholder */
  double widest;      /* magnitude bound of every code and intermediate so far */
  bool oom;           /* an allocation failed */
} Lower;

static int pos_of(const Lower *L, const Node *n) {
  return (int)(intptr_t)strmap_get(&L->pos, n->name) - 1;
}

static const char *const kind_names[] = {"quant", "matvec", "scale", "requant", "relu", "add", "sub", "mul"};

const char *cg_int_kind_name(IpKind k) {
  return (unsigned)k < sizeof kind_names / sizeof *kind_names ? kind_names[k] : "?";
}

int cg_int_bits(double lo, double hi) {
  int b = 1;
  while (b < 200 && (lo < -ldexp(1, b - 1) || hi > ldexp(1, b - 1) - 1)) b++;
  return b;
}

static bool grow(void **arr, int64_t *cap, int64_t need, size_t elem) {
  if (need <= *cap) return true;
  int64_t nc = *cap ? *cap * 2 : 16;
  while (nc < need) nc *= 2;
  void *q = ir_realloc(*arr, (size_t)nc * elem);
  if (!q) return false;
  *arr = q;
  *cap = nc;
  return true;
}

static bool grow_int(void **arr, int *cap, int need, size_t elem) {
  int64_t c = *cap;
  bool ok = grow(arr, &c, need, elem);
  *cap = (int)c;
  return ok;
}

static Status refuse(Lower *L, const Node *n, const char *fmt, ...) JS_PRINTF(3, 4);
static Status refuse(Lower *L, const Node *n, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return diag_error(L->d, n->loc, "integer-only inference: node '%s': %s", n->name, msg);
}

static int new_val(Lower *L, int n, int frac, double lo, double hi, const Node *node) {
  IntProg *p = L->p;
  if (!grow_int((void **)&p->vals, &p->capvals, p->nvals + 1, sizeof(IpVal))) {
    L->oom = true;
    return -1;
  }
  p->vals[p->nvals] = (IpVal){.n = n, .frac = frac, .lo = lo, .hi = hi, .node = node};
  double m = fmax(fabs(lo), fabs(hi));
  if (m > L->widest) L->widest = m;
  return p->nvals++;
}

static IpStep *new_step(Lower *L, IpKind k, const Node *node) {
  IntProg *p = L->p;
  if (!grow_int((void **)&p->steps, &p->capsteps, p->nsteps + 1, sizeof(IpStep))) {
    L->oom = true;
    return NULL;
  }
  IpStep *s = &p->steps[p->nsteps++];
  *s = (IpStep){.kind = k, .dst = -1, .a = -1, .b = -1, .node = node, .w = -1, .c = -1};
  return s;
}

/* n zeroed constants; the offset, or -1 on OOM. */
static int64_t new_consts(Lower *L, int64_t n) {
  IntProg *p = L->p;
  if (!grow((void **)&p->consts, &p->capconsts, p->nconsts + n, sizeof(int64_t))) {
    L->oom = true;
    return -1;
  }
  memset(p->consts + p->nconsts, 0, (size_t)n * sizeof(int64_t));
  int64_t off = p->nconsts;
  p->nconsts += n;
  return off;
}

/* The 62-bit ceiling: codes and intermediates stay below 2^61 in magnitude, so no shift or
 * sum of two of them overflows int64. */
#define IP_MAX_MAG 2305843009213693951.0 /* 2^61 - 1 */

static Status check_mag(Lower *L, const Node *n, double mag, const char *what) {
  if (mag > L->widest) L->widest = mag;
  if (mag <= IP_MAX_MAG) return JS_OK;
  return refuse(L, n, "the worst-case %s needs %d bits, more than the 62 the integer executor holds", what,
                cg_int_bits(-mag, mag));
}

static double fmt_lo(const QFmt *f) { return f->is_signed ? -ldexp(1, f->width - 1) : 0; }
static double fmt_hi(const QFmt *f) { return f->is_signed ? ldexp(1, f->width - 1) - 1 : ldexp(1, f->width) - 1; }

/* floor(v / 2^s) or round-half-even, on bounds (monotone, so bounds map to bounds) */
static double shift_bound(double v, int sh, bool floor_) {
  if (sh <= 0) return ldexp(v, -sh);
  double q = ldexp(v, -sh);
  return floor_ ? floor(q) : nearbyint(q);
}

/* The value a node's data input gets: its codes requantized to fmt (NULL: unchanged). */
static int requant_to(Lower *L, const Node *n, int a, const QFmt *f) {
  if (!f) return a;
  IpVal av = L->p->vals[a];
  int sh = av.frac - f->frac_width;
  double lo = fmt_lo(f), hi = fmt_hi(f);
  if (sh == 0 && av.lo >= lo && av.hi <= hi) return a; /* nothing to round, nothing to clamp */
  /* Shifts past these give the same codes (|a| < 2^61 and |lo|, |hi| <= 2^32), and stay
   * within every integer type's shift range. */
  if (sh > 62) sh = 62;
  if (sh < -40) sh = -40;
  if (sh < 0 && check_mag(L, n, fmax(fabs(av.lo), fabs(av.hi)) * ldexp(1, -sh), "left shift")) return -2;
  double nlo = fmax(lo, fmin(hi, shift_bound(av.lo, sh, f->floor)));
  double nhi = fmin(hi, fmax(lo, shift_bound(av.hi, sh, f->floor)));
  int v = new_val(L, av.n, f->frac_width, nlo, nhi, NULL);
  IpStep *s = v < 0 ? NULL : new_step(L, IP_REQUANT, n);
  if (!s) return -1;
  s->dst = v;
  s->a = a;
  s->sh = sh;
  s->lo = (int64_t)lo;
  s->hi = (int64_t)hi;
  s->floor = f->floor;
  return v;
}

/* The input row quantized to fmt. */
static int quant_input(Lower *L, const Node *n, const QFmt *f) {
  double lo = fmt_lo(f), hi = fmt_hi(f);
  int v = new_val(L, L->p->features, f->frac_width, lo, hi, NULL);
  IpStep *s = v < 0 ? NULL : new_step(L, IP_QUANT, n);
  if (!s) return -1;
  s->dst = v;
  s->sh = f->frac_width;
  s->lo = (int64_t)lo;
  s->hi = (int64_t)hi;
  s->floor = f->floor;
  return v;
}

static const Value *arg_of(const Node *n, int i, const char *name) {
  if (i < n->nargs) return &n->args[i];
  for (int k = 0; k < n->nkwargs; k++)
    if (strcmp(n->kwnames[k], name) == 0) return &n->kwargs[k];
  return NULL;
}


static double num_of(const Value *v, double def) {
  if (!v) return def;
  if (v->kind == VAL_FLOAT) return v->u.f;
  if (v->kind == VAL_INT) return (double)v->u.i;
  return def;
}

/* The float values of p, or a refusal. */
static const float *values_of(Lower *L, const Node *n, const Param *p) {
  const float *v = L->param ? L->param(L->ud, p) : NULL;
  if (!v) refuse(L, n, "no values for parameter '%s'", p->qualname);
  return v;
}

/* The parameter a get_attr node reads, or an explicit quantize(get_attr) node quantizes; else NULL. */
static const Param *const_param(const Node *n) {
  if (n->op == OP_GET_ATTR) return n->param;
  if (n->mop != MOP_QUANTIZE || n->nargs < 1 || n->args[0].kind != VAL_NODE) return NULL;
  const Node *src = n->args[0].u.node;
  return src->op == OP_GET_ATTR ? src->param : NULL;
}

/* An operand that must be a row tensor [B, k] with an integer value. */
static int operand(Lower *L, const Node *n, const Value *v, const char *what) {
  if (!v || v->kind != VAL_NODE) {
    refuse(L, n, "its %s is %s, not a tensor (a Python number operand has no integer form here)", what,
           v ? val_kind_name(v) : "missing");
    return -2;
  }
  const Node *src = v->u.node;
  int id = L->vid[pos_of(L, src)];
  if (id == -1) {
    if (src->op == OP_GET_ATTR || const_param(src))
      refuse(L, n, "its %s is the parameter '%s': the integer lowering takes a parameter only as an operand of add, sub "
                   "or mul (a per-feature constant)", what, const_param(src) ? const_param(src)->qualname : src->target);
    else
      refuse(L, n, "its %s '%s' has no integer value", what, src->name);
    return -2;
  }
  return id;
}

/* A node's data input: the input's codes after the node's Q_in (the float input needs one). */
static int data_in(Lower *L, const Node *n, const QCfg *q, const Value *v, const char *what, bool unsigned_) {
  int a = operand(L, n, v, what);
  if (a == -2) return -2;
  QFmt f;
  const QFmt *fp = NULL;
  if (q->has[QS_DATA_IN]) {
    f = q->fmt[QS_DATA_IN];
    if (unsigned_) f.is_signed = false;
    fp = &f;
  }
  if (a == -3) { /* the float input */
    if (!fp) {
      refuse(L, n, "it reads the float input '%s' and has no data_in format: the input's quantization is the one "
                   "float->int step", L->input->name);
      return -2;
    }
    return quant_input(L, n, fp);
  }
  return requant_to(L, n, a, fp);
}

/* Q(x) codes of a float parameter tensor, shifted left by sh (aligned to an accumulator). */
static Status codes(Lower *L, const Node *n, int64_t *dst, const QFmt *f, const double *x, int64_t cnt, int sh) {
  if (check_mag(L, n, ldexp(fmax(-fmt_lo(f), fmt_hi(f)), sh), "aligned parameter code")) return JS_ERR;
  for (int64_t i = 0; i < cnt; i++) dst[i] = ir_quant_code(f, x[i]) * (INT64_C(1) << sh);
  return JS_OK;
}

static Status need_integer_slot(Lower *L, const Node *n, const QCfg *q, QSlot s) {
  if (!q->has[s]) return refuse(L, n, "its %s is not quantized (float arithmetic)", ir_qslot_name(s));
  if (q->fmt[s].kind != QK_INTEGER) return refuse(L, n, "its %s format is %s, not integer", ir_qslot_name(s), ir_qkind_name(q->fmt[s].kind));
  return JS_OK;
}

/* acc[o] = B[o] + sum_k a[k] W[o,k] from float weights wf [O][K] and biases bf [O] (or NULL):
 * the codes of a linear layer, or of a convolution's Toeplitz matrix. */
static int matvec(Lower *L, const Node *n, const QCfg *q, int a, int O, const double *wf, const double *bf) {
  IpVal av = L->p->vals[a];
  int K = av.n;
  const QFmt *fw = &q->fmt[QS_WEIGHT], *fb = bf ? &q->fmt[QS_BIAS] : NULL;
  int fa = av.frac + fw->frac_width, pa = fb && fb->frac_width > fa ? fb->frac_width : fa;
  int64_t wo = new_consts(L, (int64_t)O * K), bo = bf ? new_consts(L, O) : -1;
  if (wo < 0 || (bf && bo < 0)) {
    L->oom = true;
    return -1;
  }
  int64_t *W = L->p->consts + wo, *B = bf ? L->p->consts + bo : NULL;
  Status st = codes(L, n, W, fw, wf, (int64_t)O * K, pa - fa);
  if (!st && bf) st = codes(L, n, B, fb, bf, O, pa - fb->frac_width);
  if (st) return -2;
  double lo = 0, hi = 0, mag = 0, amag = fmax(fabs(av.lo), fabs(av.hi));
  for (int o = 0; o < O; o++) {
    double l = B ? (double)B[o] : 0, h = l, m = fabs(l);
    for (int k = 0; k < K; k++) {
      double w = (double)W[(int64_t)o * K + k];
      l += fmin(w * av.lo, w * av.hi);
      h += fmax(w * av.lo, w * av.hi);
      m += fabs(w) * amag;
    }
    if (o == 0 || l < lo) lo = l;
    if (o == 0 || h > hi) hi = h;
    if (m > mag) mag = m;
  }
  if (check_mag(L, n, mag, "accumulator")) return -2;
  int v = new_val(L, O, pa, lo, hi, NULL);
  IpStep *s = v < 0 ? NULL : new_step(L, IP_MATVEC, n);
  if (!s) return -1;
  s->dst = v;
  s->a = a;
  s->nin = K;
  s->w = wo;
  s->c = bo;
  L->p->macs += (int64_t)O * K;
  return v;
}

/* linear: acc[o] = B[o] + sum_k a[k] W[o,k]. */
static int lower_linear(Lower *L, const Node *n, const QCfg *q, int a, const Param *wp, const Param *bp) {
  if (need_integer_slot(L, n, q, QS_WEIGHT) || (bp && need_integer_slot(L, n, q, QS_BIAS))) return -2;
  IpVal av = L->p->vals[a];
  if (wp->type.rank != 2 || wp->type.dims[1].size != av.n)
    return refuse(L, n, "weight '%s' does not match %d input features", wp->qualname, av.n), -2;
  int O = (int)wp->type.dims[0].size, K = av.n;
  const float *wf = values_of(L, n, wp), *bf = NULL;
  if (!wf || (bp && !(bf = values_of(L, n, bp)))) return -2;
  double *tmp = ir_malloc(sizeof(double) * (size_t)((int64_t)O * K + O));
  if (!tmp) {
    L->oom = true;
    return -1;
  }
  for (int64_t i = 0; i < (int64_t)O * K; i++) tmp[i] = wf[i];
  for (int o = 0; bf && o < O; o++) tmp[(int64_t)O * K + o] = bf[o];
  int v = matvec(L, n, q, a, O, tmp, bf ? tmp + (int64_t)O * K : NULL);
  ir_free(tmp);
  return v;
}

/* Features per row of a [B, n] or [B, C, L] tensor (C*L, channel-major); 0 for another. */
static int64_t row_len(const TensorType *t) {
  if (t->rank == 2 && t->dims[1].size >= 1) return t->dims[1].size;
  if (t->rank == 3 && t->dims[1].size >= 1 && t->dims[2].size >= 1) return t->dims[1].size * t->dims[2].size;
  return 0;
}

/* conv1d as the matvec of its Toeplitz matrix T [Cout*Lout][Cin*L] (codegen/plan.h): T's
 * entry for output (o, t) and input (g*Cg + c, t*stride - pad + k*dil) is w[o, c, k], the
 * others 0 (code 0); the bias repeats along the length.  The same integers as the direct
 * sum, so bit-exactness carries over from linear. */
static int lower_conv(Lower *L, const Node *n, const QCfg *q, int a, const Param *wp, const Param *bp,
                      const int64_t hp[4]) {
  if (need_integer_slot(L, n, q, QS_WEIGHT) || (bp && need_integer_slot(L, n, q, QS_BIAS))) return -2;
  const Value *xv = arg_of(n, 0, "input");
  const TensorType *x = xv && xv->kind == VAL_NODE ? &xv->u.node->type : NULL, *y = &n->type;
  if (!x || x->rank != 3 || y->rank != 3 || wp->type.rank != 3 || row_len(x) != L->p->vals[a].n)
    return refuse(L, n, "conv1d on something other than [B, channels, length] rows"), -2;
  int64_t cin = x->dims[1].size, len = x->dims[2].size, cout = y->dims[1].size, lout = y->dims[2].size;
  int64_t K = wp->type.dims[2].size, stride = hp[0], pad = hp[1], dil = hp[2], groups = hp[3];
  int64_t cg = cin / groups, og = cout / groups, nin = cin * len, nout = cout * lout;
  if (groups < 1 || nout * nin > (1 << 24)) return refuse(L, n, "a convolution too large for its Toeplitz matrix"), -2;
  const float *wf = values_of(L, n, wp), *bf = NULL;
  if (!wf || (bp && !(bf = values_of(L, n, bp)))) return -2;
  double *T = ir_calloc((size_t)(nout * nin + nout), sizeof(double));
  if (!T) {
    L->oom = true;
    return -1;
  }
  for (int64_t o = 0; o < cout; o++)
    for (int64_t t = 0; t < lout; t++) {
      if (bf) T[nout * nin + o * lout + t] = bf[o];
      for (int64_t c = 0; c < cg; c++)
        for (int64_t k = 0; k < K; k++) {
          int64_t at = t * stride - pad + k * dil;
          if (at >= 0 && at < len) T[(o * lout + t) * nin + ((o / og) * cg + c) * len + at] = wf[(o * cg + c) * K + k];
        }
    }
  int v = matvec(L, n, q, a, (int)nout, T, bf ? T + nout * nin : NULL);
  ir_free(T);
  return v;
}

/* batch_norm1d folded: acc[j] = a[j] S[j] + T[j]. */
static int lower_bn(Lower *L, const Node *n, const QCfg *q, int a) {
  const Module *m = n->module;
  if (need_integer_slot(L, n, q, QS_WEIGHT) || need_integer_slot(L, n, q, QS_BIAS)) return -2;
  const Value *tr = ir_module_arg(m, "track_running_stats");
  const Param *wp = ir_module_param(m, "weight"), *bp = ir_module_param(m, "bias");
  const Param *rmp = ir_module_param(m, "running_mean"), *rvp = ir_module_param(m, "running_var");
  if (!(tr && tr->kind == VAL_BOOL && tr->u.b) || !rmp || !rvp)
    return refuse(L, n, "BatchNorm1d without running statistics normalises by the batch's, even in eval mode"), -2;
  IpVal av = L->p->vals[a];
  int N = av.n, C = rmp->type.rank == 1 ? (int)rmp->type.dims[0].size : 0; /* a [B, C, L] row: N = C*L */
  if (C < 1 || N % C)
    return refuse(L, n, "BatchNorm1d of %d channels on rows of %d features", C, N), -2;
  double eps = num_of(ir_module_arg(m, "eps"), 1e-5);
  const float *w = wp ? values_of(L, n, wp) : NULL, *b = bp ? values_of(L, n, bp) : NULL;
  const float *rm = values_of(L, n, rmp), *rv = rm ? values_of(L, n, rvp) : NULL;
  if ((wp && !w) || (bp && !b) || !rm || !rv) return -2;
  const QFmt *fw = &q->fmt[QS_WEIGHT], *fb = &q->fmt[QS_BIAS];
  int fa = av.frac + fw->frac_width, pa = fb->frac_width > fa ? fb->frac_width : fa;
  int64_t so = new_consts(L, N), to = new_consts(L, N);
  double *st = ir_malloc(sizeof(double) * (size_t)(2 * N));
  if (so < 0 || to < 0 || !st) {
    ir_free(st);
    L->oom = true;
    return -1;
  }
  for (int j = 0; j < N; j++) { /* channel c = j / (N / C): repeated along the length */
    int c = j / (N / C);
    st[j] = ir_bn_fold(w ? w[c] : 1.0, b ? b[c] : 0.0, rm[c], rv[c], eps, &st[N + j]);
  }
  int64_t *S = L->p->consts + so, *T = L->p->consts + to;
  Status cst = codes(L, n, S, fw, st, N, pa - fa);
  if (!cst) cst = codes(L, n, T, fb, st + N, N, pa - fb->frac_width);
  ir_free(st);
  if (cst) return -2;
  double lo = 0, hi = 0, mag = 0, amag = fmax(fabs(av.lo), fabs(av.hi));
  for (int j = 0; j < N; j++) {
    double sj = (double)S[j], tj = (double)T[j];
    double l = tj + fmin(sj * av.lo, sj * av.hi), h = tj + fmax(sj * av.lo, sj * av.hi);
    if (j == 0 || l < lo) lo = l;
    if (j == 0 || h > hi) hi = h;
    mag = fmax(mag, fabs(sj) * amag + fabs(tj));
  }
  if (check_mag(L, n, mag, "accumulator")) return -2;
  int v = new_val(L, N, pa, lo, hi, NULL);
  IpStep *s = v < 0 ? NULL : new_step(L, IP_SCALE, n);
  if (!s) return -1;
  s->dst = v;
  s->a = a;
  s->w = so;
  s->c = to;
  L->p->macs += N;
  return v;
}

static int lower_relu(Lower *L, const Node *n, int a) {
  IpVal av = L->p->vals[a];
  if (av.lo >= 0) return a; /* the unsigned data_in made it non-negative already */
  int v = new_val(L, av.n, av.frac, fmax(av.lo, 0), fmax(av.hi, 0), NULL);
  IpStep *s = v < 0 ? NULL : new_step(L, IP_RELU, n);
  if (!s) return -1;
  s->dst = v;
  s->a = a;
  return v;
}

static int lower_binary(Lower *L, const Node *n, MaseOp op, int a, int b) {
  IpVal av = L->p->vals[a], bv = L->p->vals[b];
  if (av.n != bv.n) return refuse(L, n, "operands of %d and %d features (broadcasting has no integer form here)", av.n, bv.n), -2;
  IpStep tmp = {0};
  double lo, hi;
  int frac;
  if (op == MOP_MUL) {
    frac = av.frac + bv.frac;
    double c[4] = {av.lo * bv.lo, av.lo * bv.hi, av.hi * bv.lo, av.hi * bv.hi};
    lo = fmin(fmin(c[0], c[1]), fmin(c[2], c[3]));
    hi = fmax(fmax(c[0], c[1]), fmax(c[2], c[3]));
    if (check_mag(L, n, fmax(fabs(lo), fabs(hi)), "product")) return -2;
  } else {
    frac = av.frac > bv.frac ? av.frac : bv.frac;
    tmp.sa = frac - av.frac;
    tmp.sb = frac - bv.frac;
    if (tmp.sa > 61 || tmp.sb > 61) return refuse(L, n, "its operands' binary points are %d bits apart", tmp.sa + tmp.sb), -2;
    double al = ldexp(av.lo, tmp.sa), ah = ldexp(av.hi, tmp.sa), bl = ldexp(bv.lo, tmp.sb), bh = ldexp(bv.hi, tmp.sb);
    lo = op == MOP_ADD ? al + bl : al - bh;
    hi = op == MOP_ADD ? ah + bh : ah - bl;
    double m = fmax(fmax(fabs(al), fabs(ah)), fmax(fabs(bl), fabs(bh)));
    if (check_mag(L, n, fmax(m, fmax(fabs(lo), fabs(hi))), "sum")) return -2;
  }
  int v = new_val(L, av.n, frac, lo, hi, NULL);
  IpStep *s = v < 0 ? NULL : new_step(L, op == MOP_MUL ? IP_MUL : op == MOP_ADD ? IP_ADD : IP_SUB, n);
  if (!s) return -1;
  s->dst = v;
  s->a = a;
  s->b = b;
  s->sa = tmp.sa;
  s->sb = tmp.sb;
  if (op == MOP_MUL) L->p->macs += av.n;
  return v;
}

/* ---- a parameter as an operand of add, sub or mul: a per-feature constant ----
 * x * scale, x + shift, shift - x with scale, shift model parameters of n (or 1) elements,
 * broadcast over the rows.  The reference quantizes the parameter as a data input (the node's
 * data_in, after the explicit quantize node's format when ir_quant_explicit_inputs made one),
 * so its codes come from the same quantizers, and the step is a scale: a * S + T with
 * S = the codes, T = 0 (mul), or S = +-2^sa, T = +-codes << sc (add, sub; aligned to the finer
 * point as two rows are). */

typedef struct ConstOp {
  const Param *p;     /* the parameter */
  int64_t *codes;     /* [n] its codes broadcast to the row, ir_malloc'd */
  int frac;           /* their point */
  double mag;         /* max |code| */
} ConstOp;

/* The formats that quantize src's parameter, in order; the last one names the codes' point. */
static Status const_formats(Lower *L, const Node *n, const QCfg *q, const Node *src, QFmt f[2], int *nf) {
  *nf = 0;
  if (src->op != OP_GET_ATTR) {
    if (ir_qfmt_from_value(&src->args[1], &f[0], L->d, src->loc)) return JS_ERR;
    (*nf)++;
  }
  if (q->has[QS_DATA_IN]) f[(*nf)++] = q->fmt[QS_DATA_IN];
  const Param *p = const_param(src);
  if (*nf == 0) return refuse(L, n, "the parameter '%s' it reads is float (the node has no data_in format)", p->qualname);
  for (int i = 0; i < *nf; i++)
    if (f[i].kind != QK_INTEGER)
      return refuse(L, n, "the parameter '%s' it reads is quantized to %s, not integer", p->qualname, ir_qkind_name(f[i].kind));
  return JS_OK;
}

static Status const_operand(Lower *L, const Node *n, const QCfg *q, const Node *src, int nfeat, ConstOp *c) {
  const Param *p = c->p = const_param(src);
  QFmt f[2];
  int nf;
  if (const_formats(L, n, q, src, f, &nf)) return JS_ERR;
  const TensorType *t = &p->type;
  int64_t cnt = ir_type_numel(t);
  bool row = t->rank <= 1 || (t->rank == 2 && t->dims[0].size == 1);
  if (!row || (cnt != 1 && cnt != nfeat)) {
    StrBuf ty;
    sb_init(&ty);
    ir_type_print(&ty, t);
    Status st = refuse(L, n, "the parameter '%s' (%s) is not one value per feature of its %d-feature rows", p->qualname,
                       ty.oom ? "?" : sb_str(&ty), nfeat);
    sb_free(&ty);
    return st;
  }
  const float *v = values_of(L, n, p);
  if (!v) return JS_ERR;
  if (!(c->codes = ir_malloc(sizeof(int64_t) * (size_t)nfeat))) {
    L->oom = true;
    return JS_ENOMEM;
  }
  c->frac = f[nf - 1].frac_width;
  c->mag = 0;
  for (int j = 0; j < nfeat; j++) {
    double x = v[cnt == 1 ? 0 : j];
    for (int i = 0; i < nf; i++) x = ir_quant_f64(&f[i], x);
    c->codes[j] = ir_quant_code(&f[nf - 1], x);
    c->mag = fmax(c->mag, fabs((double)c->codes[j]));
  }
  return JS_OK;
}

/* S and T of the step (see above); refused when the point or the bound is out of range. */
static Status const_scale(Lower *L, const Node *n, MaseOp op, bool const_first, const IpVal *av, const ConstOp *c,
                          int64_t *S, int64_t *T, int *frac) {
  int sa = 0, sc = 0;
  if (op == MOP_MUL) {
    *frac = av->frac + c->frac;
    if (check_mag(L, n, c->mag * fmax(fabs(av->lo), fabs(av->hi)), "product")) return JS_ERR;
  } else {
    *frac = av->frac > c->frac ? av->frac : c->frac;
    sa = *frac - av->frac;
    sc = *frac - c->frac;
    if (sa > 61 || sc > 61) return refuse(L, n, "its operands' binary points are %d bits apart", sa + sc);
    double m = ldexp(fmax(fabs(av->lo), fabs(av->hi)), sa) + ldexp(c->mag, sc);
    if (check_mag(L, n, m, "sum")) return JS_ERR;
  }
  int64_t one = op == MOP_SUB && const_first ? -(INT64_C(1) << sa) : INT64_C(1) << sa;
  int64_t sign = op == MOP_SUB && !const_first ? -1 : 1;
  for (int j = 0; j < av->n; j++) {
    S[j] = op == MOP_MUL ? c->codes[j] : one;
    T[j] = op == MOP_MUL ? 0 : sign * c->codes[j] * (INT64_C(1) << sc);
  }
  return JS_OK;
}

/* add, sub or mul of the row `a` and the parameter operand `src`. */
static int lower_const_binary(Lower *L, const Node *n, const QCfg *q, int a, const Node *src, bool const_first) {
  IpVal av = L->p->vals[a];
  ConstOp c = {0};
  Status cst = const_operand(L, n, q, src, av.n, &c);
  if (cst) return cst == JS_ENOMEM ? -1 : -2;
  int64_t so = new_consts(L, av.n), to = so < 0 ? -1 : new_consts(L, av.n);
  int frac = 0;
  Status st = to < 0 ? JS_ENOMEM
                     : const_scale(L, n, n->mop, const_first, &av, &c, L->p->consts + so, L->p->consts + to, &frac);
  ir_free(c.codes);
  if (st) return st == JS_ENOMEM ? -1 : -2;
  const int64_t *S = L->p->consts + so, *T = L->p->consts + to;
  double lo = 0, hi = 0;
  for (int j = 0; j < av.n; j++) {
    double s = (double)S[j], t = (double)T[j];
    double l = t + fmin(s * av.lo, s * av.hi), h = t + fmax(s * av.lo, s * av.hi);
    if (j == 0 || l < lo) lo = l;
    if (j == 0 || h > hi) hi = h;
  }
  int v = new_val(L, av.n, frac, lo, hi, NULL);
  IpStep *s = v < 0 ? NULL : new_step(L, IP_SCALE, n);
  if (!s) return -1;
  s->dst = v;
  s->a = a;
  s->w = so;
  s->c = to;
  if (n->mop == MOP_MUL) L->p->macs += av.n;
  return v;
}

/* add, sub, mul: two rows, or a row and a parameter. */
static int lower_add_sub_mul(Lower *L, const Node *n, const QCfg *q) {
  const Value *x = arg_of(n, 0, "input"), *y = arg_of(n, 1, "other");
  const Node *px = x && x->kind == VAL_NODE && const_param(x->u.node) ? x->u.node : NULL;
  const Node *py = y && y->kind == VAL_NODE && const_param(y->u.node) ? y->u.node : NULL;
  if (px && py) return refuse(L, n, "both operands are parameters: integer-only inference needs a row operand"), -2;
  if (px || py) {
    int a = data_in(L, n, q, px ? y : x, px ? "other operand" : "input", false);
    if (a < 0) return a;
    return lower_const_binary(L, n, q, a, px ? px : py, px != NULL);
  }
  int a = data_in(L, n, q, x, "input", false);
  if (a < 0) return a;
  int b = data_in(L, n, q, y, "other operand", false);
  if (b < 0) return b;
  return lower_binary(L, n, n->mop, a, b);
}

/* A conv1d node (module or call): its parameters and hyperparameters, then lower_conv. */
static int lower_conv_node(Lower *L, const Node *n, const QCfg *q, int a) {
  static const char *const names[4] = {"stride", "padding", "dilation", "groups"};
  static const int64_t defs[4] = {1, 0, 1, 1};
  const Param *wp = NULL, *bp = NULL;
  int64_t hp[4];
  for (int i = 0; i < 4; i++) {
    const Value *v = n->op == OP_CALL_MODULE ? ir_module_arg(n->module, names[i]) : arg_of(n, 3 + i, names[i]);
    hp[i] = v && v->kind == VAL_INT ? v->u.i : defs[i];
  }
  if (n->op == OP_CALL_MODULE) {
    wp = ir_module_param(n->module, "weight");
    bp = ir_module_param(n->module, "bias");
  } else {
    const Value *wv = arg_of(n, 1, "weight"), *bv = arg_of(n, 2, "bias");
    if (!wv || wv->kind != VAL_NODE || !(wp = const_param(wv->u.node))) return refuse(L, n, "its weight is not a parameter"), -2;
    if (bv && bv->kind == VAL_NODE && !(bp = const_param(bv->u.node))) return refuse(L, n, "its bias is not a parameter"), -2;
  }
  if (!wp) return refuse(L, n, "conv1d without a weight"), -2;
  return lower_conv(L, n, q, a, wp, bp, hp);
}

/* Whether a and b have the same rows: [B, n] or [B, C, L], the batch dim the same and the same
 * features per row (in the same, row-major, order). */
static bool same_rows(const TensorType *a, const TensorType *b) {
  return a->rank >= 2 && b->rank >= 2 && a->dims[0].size == b->dims[0].size && a->dims[0].sym == b->dims[0].sym &&
         row_len(a) > 0 && row_len(a) == row_len(b);
}

/* A node that passes its operand through: dropout in eval mode, identity, a flatten, view or
 * reshape that keeps each sample's features in order ([B, 16] -> [B, 1, 16] -> [B, 16]). */
static bool transparent(const Node *n, const char **why) {
  *why = NULL;
  switch (n->mop) {
  case MOP_IDENTITY: return true;
  case MOP_VIEW:
  case MOP_RESHAPE: {
    const Value *in = arg_of(n, 0, "input");
    if (in && in->kind == VAL_NODE && in->u.node->has_type && n->has_type && same_rows(&in->u.node->type, &n->type))
      return true;
    *why = "a view or reshape that moves elements between samples has no integer form (rows stay [B, features])";
    return false;
  }
  case MOP_DROPOUT:
    if (n->op == OP_CALL_MODULE) return true; /* eval mode: the identity */
    {
      const Value *t = arg_of(n, 2, "training");
      if (t && t->kind == VAL_BOOL && !t->u.b) return true;
      *why = "functional dropout with training=true drops elements even in eval mode";
      return false;
    }
  case MOP_FLATTEN: {
    const Value *in = arg_of(n, 0, "input");
    return n->has_type && in && in->kind == VAL_NODE && in->u.node->has_type && same_rows(&in->u.node->type, &n->type);
  }
  default: return false;
  }
}

static Status lower_node(Lower *L, const Node *n) {
  IntProg *p = L->p;
  const char *why = NULL;
  if (n->mop == MOP_NONE) return refuse(L, n, "a call of a container module has no integer form; flatten it first");
  if (n->mop == MOP_QUANTIZE && const_param(n)) return JS_OK; /* a parameter: the add, sub or mul reading it lowers it */
  if (!n->has_type || row_len(&n->type) < 1)
    return refuse(L, n, "its result is not a [B, features] or [B, channels, length] tensor");
  if (transparent(n, &why)) {
    int a = operand(L, n, arg_of(n, 0, "input"), "input");
    if (a == -2) return JS_ERR;
    if (a == -3 && n->mop != MOP_VIEW && n->mop != MOP_RESHAPE && n->mop != MOP_FLATTEN)
      return refuse(L, n, "it reads the float input directly: the first node must quantize it");
    L->vid[pos_of(L, n)] = a;
    return JS_OK;
  }
  if (why) return refuse(L, n, "%s", why);
  if (n->mop == MOP_QUANTIZE) { /* an explicit quantizer (ir_quant_explicit_inputs): a requant */
    const Value *fv = arg_of(n, 1, "format");
    QFmt f;
    if (!fv || ir_qfmt_from_value(fv, &f, L->d, n->loc)) return JS_ERR;
    if (f.kind != QK_INTEGER) return refuse(L, n, "it quantizes to %s, not integer", ir_qkind_name(f.kind));
    int a = operand(L, n, arg_of(n, 0, "input"), "input");
    if (a == -2) return JS_ERR;
    int v = a == -3 ? quant_input(L, n, &f) : requant_to(L, n, a, &f);
    if (v == -1) return diag_oom(L->d);
    if (v < 0) return JS_ERR;
    L->vid[pos_of(L, n)] = v;
    return JS_OK;
  }
  QCfg q;
  memset(&q, 0, sizeof q);
  bool quant = ir_node_qcfg(n, &q);
  const OpInfo *oi = ir_op_info(n->mop);
  if (!quant) {
    if (q.bypass) return refuse(L, n, "its quantization is bypassed (it computes in float)");
    if (oi && (oi->props & P_QUANT))
      return refuse(L, n, "%s is not quantized: integer-only inference needs every node from the input to the logits "
                          "quantized with integer formats", oi->name);
    return refuse(L, n, "%s has no integer form (integer-only inference covers linear, conv1d, batch_norm1d, relu, add, sub, mul)",
                  oi ? oi->name : n->target);
  }
  if (q.kind != QK_INTEGER) return refuse(L, n, "its format is %s, not integer", ir_qkind_name(q.kind));
  int v = -2;
  switch (n->mop) {
  case MOP_LINEAR: {
    const Param *wp, *bp = NULL;
    if (n->op == OP_CALL_MODULE) {
      wp = ir_module_param(n->module, "weight");
      bp = ir_module_param(n->module, "bias");
    } else {
      const Value *wv = arg_of(n, 1, "weight"), *bv = arg_of(n, 2, "bias");
      if (!wv || wv->kind != VAL_NODE || wv->u.node->op != OP_GET_ATTR || !wv->u.node->param)
        return refuse(L, n, "its weight is not a parameter");
      wp = wv->u.node->param;
      if (bv && bv->kind == VAL_NODE) {
        if (bv->u.node->op != OP_GET_ATTR || !bv->u.node->param) return refuse(L, n, "its bias is not a parameter");
        bp = bv->u.node->param;
      }
    }
    if (!wp) return refuse(L, n, "linear without a weight");
    int a = data_in(L, n, &q, arg_of(n, 0, "input"), "input", false);
    if (a < 0) return a == -1 ? diag_oom(L->d) : JS_ERR;
    v = lower_linear(L, n, &q, a, wp, bp);
    break;
  }
  case MOP_BATCH_NORM1D: {
    int a = data_in(L, n, &q, arg_of(n, 0, "input"), "input", false);
    if (a < 0) return a == -1 ? diag_oom(L->d) : JS_ERR;
    v = lower_bn(L, n, &q, a);
    break;
  }
  case MOP_RELU: {
    int a = data_in(L, n, &q, arg_of(n, 0, "input"), "input", true);
    if (a < 0) return a == -1 ? diag_oom(L->d) : JS_ERR;
    v = lower_relu(L, n, a);
    break;
  }
  case MOP_ADD:
  case MOP_SUB:
  case MOP_MUL: {
    v = lower_add_sub_mul(L, n, &q);
    break;
  }
  case MOP_CONV1D: {
    int a = data_in(L, n, &q, arg_of(n, 0, "input"), "input", false);
    if (a < 0) return a == -1 ? diag_oom(L->d) : JS_ERR;
    v = lower_conv_node(L, n, &q, a);
    break;
  }
  default:
    return refuse(L, n, "%s has no exact integer form (integer-only inference covers linear, conv1d, batch_norm1d, relu, add, sub, mul)",
                  oi ? oi->name : n->target);
  }
  if (v == -1) return diag_oom(L->d);
  if (v < 0) return JS_ERR;
  if (p->vals[v].n != (int)row_len(&n->type))
    return refuse(L, n, "%d features computed, its type says %lld", p->vals[v].n, (long long)row_len(&n->type));
  if (q.has[QS_DATA_OUT]) {
    if (q.fmt[QS_DATA_OUT].kind != QK_INTEGER) return refuse(L, n, "its data_out format is not integer");
    v = requant_to(L, n, v, &q.fmt[QS_DATA_OUT]);
    if (v == -1) return diag_oom(L->d);
    if (v < 0) return JS_ERR;
  }
  L->vid[pos_of(L, n)] = v;
  return JS_OK;
}

static Status lower(Lower *L) {
  const Graph *g = L->g;
  IntProg *p = L->p;
  const Node *outn = NULL;
  for (const Node *n = g->first; n; n = n->next) {
    switch (n->op) {
    case OP_PLACEHOLDER:
      if (L->input) return refuse(L, n, "a second input: integer-only inference takes one f32[B, features] input");
      if (!n->has_type || n->type.dtype != DT_F32 || n->type.rank != 2 || n->type.dims[1].size < 1)
        return refuse(L, n, "the input must be f32[B, features]");
      L->input = n;
      p->features = (int)n->type.dims[1].size;
      L->vid[pos_of(L, n)] = -3;
      break;
    case OP_GET_ATTR: break; /* read by the node that uses it */
    case OP_OUTPUT: outn = n; break;
    default: {
      Status st = lower_node(L, n);
      if (st) return st;
      if (L->oom) return diag_oom(L->d);
    }
    }
    if (L->oom) return diag_oom(L->d);
  }
  if (!L->input) return diag_error(L->d, g->loc, "integer-only inference: model %s has no input", g->name);
  if (!outn || outn->nargs < 1) return diag_error(L->d, g->loc, "integer-only inference: model %s has no output", g->name);
  const Value *ov = &outn->args[0];
  if ((ov->kind == VAL_TUPLE || ov->kind == VAL_LIST) && ov->u.seq.n > 0) ov = &ov->u.seq.items[0];
  int o = operand(L, outn, ov, "logits");
  if (o == -2) return JS_ERR;
  if (o == -3) return refuse(L, outn, "the logits are the float input itself");
  p->out = o;
  p->classes = p->vals[o].n;
  /* the traced nodes, graph order */
  for (const Node *n = g->first; n; n = n->next) {
    int v = L->vid[pos_of(L, n)];
    if (v < 0 || n->op == OP_PLACEHOLDER) continue;
    if (!grow_int((void **)&p->nodes, &p->capnodes, p->nnodes + 1, sizeof(IpNode))) return diag_oom(L->d);
    p->nodes[p->nnodes++] = (IpNode){.node = n, .val = v, .off = p->trace_width};
    p->trace_width += p->vals[v].n;
    p->vals[v].node = p->vals[v].node ? p->vals[v].node : n;
  }
  /* the widest code or intermediate: a requant's rounding adds up to 2^(sh-1) */
  double widest = L->widest;
  for (int i = 0; i < p->nsteps; i++) {
    const IpStep *s = &p->steps[i];
    if (s->kind == IP_REQUANT && s->sh > 0) {
      const IpVal *a = &p->vals[s->a];
      widest = fmax(widest, fmax(fabs(a->lo), fabs(a->hi)) + ldexp(1, s->sh - 1 > 62 ? 62 : s->sh - 1));
    }
  }
  p->bits = cg_int_bits(-widest, widest);
  p->i32 = p->bits <= 32;
  return JS_OK;
}

Status cg_int_lower(const Graph *g, IpParamFn param, void *ud, IntProg **out, Diag *d) {
  *out = NULL;
  IntProg *p = ir_calloc(1, sizeof *p);
  Lower L = {.p = p, .g = g, .param = param, .ud = ud, .d = d};
  if (!p) return diag_oom(d);
  p->model = g->name;
  p->out = -1;
  strmap_init(&L.pos);
  int nn = 0;
  Status st = JS_OK;
  for (const Node *n = g->first; n && !st; n = n->next)
    if (strmap_put(&L.pos, n->name, (void *)(intptr_t)++nn)) st = diag_oom(d);
  if (!st && !(L.vid = ir_malloc(sizeof(int) * (size_t)(nn ? nn : 1)))) st = diag_oom(d);
  for (int i = 0; !st && i < nn; i++) L.vid[i] = -1;
  if (!st) st = lower(&L);
  ir_free(L.vid);
  strmap_free(&L.pos);
  if (st) {
    cg_int_free(p);
    return st;
  }
  *out = p;
  return JS_OK;
}

void cg_int_free(IntProg *p) {
  if (!p) return;
  ir_free(p->vals);
  ir_free(p->steps);
  ir_free(p->consts);
  ir_free(p->nodes);
  ir_free(p);
}

void cg_int_print(StrBuf *sb, const IntProg *p) {
  sb_printf(sb, "# integer program of %s (for people): %d features -> %d classes, %d steps, %lld multiplies per row, "
                "widest code %d bits (%s lanes)\n",
            p->model, p->features, p->classes, p->nsteps, (long long)p->macs, p->bits, p->i32 ? "32-bit" : "64-bit");
  for (int i = 0; i < p->nsteps; i++) {
    const IpStep *s = &p->steps[i];
    const IpVal *v = &p->vals[s->dst];
    size_t start = sb->len;
    sb_printf(sb, "  v%d = %s", s->dst, cg_int_kind_name(s->kind));
    switch (s->kind) {
    case IP_QUANT: sb_printf(sb, "(x * 2^%d, %s)", s->sh, s->floor ? "floor" : "half-even"); break;
    case IP_MATVEC: sb_printf(sb, "(v%d, W[%d x %d]%s)", s->a, v->n, s->nin, s->c >= 0 ? " + B" : ""); break;
    case IP_SCALE: sb_printf(sb, "(v%d * S + T)", s->a); break;
    case IP_REQUANT:
      if (s->sh > 0) sb_printf(sb, "(v%d >> %d %s)", s->a, s->sh, s->floor ? "floor" : "half-even");
      else if (s->sh < 0) sb_printf(sb, "(v%d << %d)", s->a, -s->sh);
      else sb_printf(sb, "(v%d)", s->a);
      break;
    case IP_RELU: sb_printf(sb, "(v%d)", s->a); break;
    case IP_ADD:
    case IP_SUB: sb_printf(sb, "(v%d << %d, v%d << %d)", s->a, s->sa, s->b, s->sb); break;
    case IP_MUL: sb_printf(sb, "(v%d, v%d)", s->a, s->b); break;
    }
    if (s->kind == IP_QUANT || s->kind == IP_REQUANT) sb_printf(sb, " clamp [%lld, %lld]", (long long)s->lo, (long long)s->hi);
    sb_pad(sb, 56, sb->len - start);
    sb_printf(sb, " [%d] 2^-%d in [%.0f, %.0f] (%d bits)  %s\n", v->n, v->frac, v->lo, v->hi, cg_int_bits(v->lo, v->hi),
              s->node->name);
  }
  const IpVal *o = &p->vals[p->out];
  sb_printf(sb, "  logits = v%d * 2^-%d\n", p->out, o->frac);
}

/* ==== per-element bounds (hdl.h) ====
 * The same interval arithmetic as the lowering, one interval per element instead of one per
 * value, so a hardware datapath can size each element's wires by its own weight row.  Every
 * step maps operand intervals to result intervals exactly as rt_int_run computes; the result
 * is then intersected with the value's own bounds (both are sound, so the intersection is). */

/* [lo, hi] of x * c for x in [l, h]. */
static void mul_iv(double l, double h, double c, double *lo, double *hi) {
  *lo = fmin(l * c, h * c);
  *hi = fmax(l * c, h * c);
}

static void bounds_matvec(const IntProg *p, const IpStep *s, const double *al, const double *ah, double *lo, double *hi) {
  for (int o = 0; o < p->vals[s->dst].n; o++) {
    const int64_t *w = p->consts + s->w + (int64_t)o * s->nin;
    double l = s->c >= 0 ? (double)p->consts[s->c + o] : 0, h = l;
    for (int k = 0; k < s->nin; k++) {
      double pl, ph;
      mul_iv(al[k], ah[k], (double)w[k], &pl, &ph);
      l += pl;
      h += ph;
    }
    lo[o] = l;
    hi[o] = h;
  }
}

/* The requant of one element interval: the shift is monotone, then the clamp. */
static void bounds_requant(const IpStep *s, double al, double ah, double *lo, double *hi) {
  int sh = s->sh > 62 ? 62 : s->sh;
  double l = shift_bound(al, sh, s->floor), h = shift_bound(ah, sh, s->floor);
  *lo = fmax((double)s->lo, fmin((double)s->hi, l));
  *hi = fmin((double)s->hi, fmax((double)s->lo, h));
}

/* Element j of a binary step. */
static void bounds_binary(const IpStep *s, double al, double ah, double bl, double bh, double *lo, double *hi) {
  if (s->kind == IP_MUL) {
    double c[4] = {al * bl, al * bh, ah * bl, ah * bh};
    *lo = fmin(fmin(c[0], c[1]), fmin(c[2], c[3]));
    *hi = fmax(fmax(c[0], c[1]), fmax(c[2], c[3]));
    return;
  }
  al = ldexp(al, s->sa), ah = ldexp(ah, s->sa), bl = ldexp(bl, s->sb), bh = ldexp(bh, s->sb);
  *lo = s->kind == IP_ADD ? al + bl : al - bh;
  *hi = s->kind == IP_ADD ? ah + bh : ah - bl;
}

static void bounds_step(const IntProg *p, const IpStep *s, IpBounds *b) {
  double *lo = b->lo[s->dst], *hi = b->hi[s->dst];
  const double *al = s->a >= 0 ? b->lo[s->a] : NULL, *ah = s->a >= 0 ? b->hi[s->a] : NULL;
  const double *bl = s->b >= 0 ? b->lo[s->b] : NULL, *bh = s->b >= 0 ? b->hi[s->b] : NULL;
  int n = p->vals[s->dst].n;
  if (s->kind == IP_MATVEC) {
    bounds_matvec(p, s, al, ah, lo, hi);
    return;
  }
  for (int j = 0; j < n; j++) switch (s->kind) {
    case IP_QUANT: lo[j] = (double)s->lo, hi[j] = (double)s->hi; break;
    case IP_SCALE:
      mul_iv(al[j], ah[j], (double)p->consts[s->w + j], &lo[j], &hi[j]);
      lo[j] += (double)p->consts[s->c + j], hi[j] += (double)p->consts[s->c + j];
      break;
    case IP_REQUANT: bounds_requant(s, al[j], ah[j], &lo[j], &hi[j]); break;
    case IP_RELU: lo[j] = fmax(al[j], 0), hi[j] = fmax(ah[j], 0); break;
    default: bounds_binary(s, al[j], ah[j], bl[j], bh[j], &lo[j], &hi[j]); break;
    }
}

Status cg_int_elem_bounds(const IntProg *p, IpBounds **out, Diag *d) {
  *out = NULL;
  IpBounds *b = ir_calloc(1, sizeof *b);
  if (!b) return diag_oom(d);
  b->nvals = p->nvals;
  b->lo = ir_calloc((size_t)(p->nvals ? p->nvals : 1), sizeof(double *));
  b->hi = ir_calloc((size_t)(p->nvals ? p->nvals : 1), sizeof(double *));
  bool ok = b->lo && b->hi;
  for (int v = 0; ok && v < p->nvals; v++) {
    /* every element starts at its value's bounds: a value no step writes keeps them */
    b->lo[v] = ir_malloc(sizeof(double) * (size_t)p->vals[v].n);
    b->hi[v] = ir_malloc(sizeof(double) * (size_t)p->vals[v].n);
    ok = b->lo[v] && b->hi[v];
    for (int j = 0; ok && j < p->vals[v].n; j++) b->lo[v][j] = p->vals[v].lo, b->hi[v][j] = p->vals[v].hi;
  }
  if (!ok) {
    cg_int_bounds_free(b);
    return diag_oom(d);
  }
  for (int i = 0; i < p->nsteps; i++) {
    const IpStep *s = &p->steps[i];
    const IpVal *v = &p->vals[s->dst];
    bounds_step(p, s, b);
    for (int j = 0; j < v->n; j++) {
      b->lo[s->dst][j] = fmin(fmax(b->lo[s->dst][j], v->lo), v->hi);
      b->hi[s->dst][j] = fmax(fmin(b->hi[s->dst][j], v->hi), b->lo[s->dst][j]);
    }
  }
  *out = b;
  return JS_OK;
}

void cg_int_bounds_free(IpBounds *b) {
  if (!b) return;
  for (int v = 0; v < b->nvals; v++) {
    if (b->lo) ir_free(b->lo[v]);
    if (b->hi) ir_free(b->hi[v]);
  }
  ir_free(b->lo);
  ir_free(b->hi);
  ir_free(b);
}
