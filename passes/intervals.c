/* intervals.c — the `intervals` analysis pass: the integer ranges of a quantized graph, and the
 * accumulator width each layer needs (spec/quant.md §5).
 *
 * For every node quantized with integer formats, in graph order:
 *   in       its data input's format and integer code range ([-2^(w-1), 2^(w-1)-1], or
 *            [0, 2^w-1] for relu's unsigned data_in); a node without data_in takes the range
 *            its producer's result has (propagated from node to node);
 *   weight   linear's weight and batch_norm1d's folded scale s = w / sqrt(rv + eps): the
 *            format's code range, and with loaded weights (PassContext.data->param) the
 *            actual codes' [min, max];
 *   acc      the accumulator's binary point 2^-p (p = max(fx + fw, fb): the bias is aligned by
 *            a left shift, a finer bias raises the point) and its worst-case magnitude in
 *            units of 2^-p: sum over the reduction of max|x| * |w| + |bias| (linear:
 *            K * max|x| * max|w| + max|b| from the formats alone; with weights the largest
 *            row's sum over the actual codes), the bound every partial sum stays within;
 *            relu's is its input's codes, add/sub the aligned sum, mul the product;
 *   bits     the signed integer width that holds the bound (sign bit included);
 *   f32      whether float32 fake quantization computes the node exactly: every product and
 *            partial sum is an integer multiple of 2^-p below 2^24 units (a float's
 *            significand); with weights the weight-aware bound decides;
 *   shift    the requantization after the accumulator: to the node's data_out format, or to
 *            the data_in format of the node that reads the result (through dropout and
 *            identity): p - f, a rounding right shift when positive, a left shift when
 *            negative; "logits" when the result is the output (dequantized, no shift).
 * The table goes to ctx->report (and the `file` option); each row is also stored on its node as
 *   software.intervals = {acc_frac=8, acc_bits=16, acc_bits_weights=13, f32_exact=true,
 *                         f64_exact=true, shift=4}
 * (acc_bits_weights only with weights; shift None for the logits).  f64_exact (below 2^53
 * units) is when the reference executor's double arithmetic is exact, so that the integer
 * executor matches it bit for bit.  Options: file (also write the table there), weights
 * (false: use the formats' bounds even when weights are loaded).  Output is deterministic. */
#include <math.h>
#include <string.h>

#include "passes.h"

/* A value's integer range: codes in [lo, hi] at the binary point 2^-frac. */
typedef struct Iv {
  bool known;
  int frac;
  double lo, hi;     /* from the formats */
  double wlo, whi;   /* with the actual weight codes (equal to lo, hi without weights) */
} Iv;

typedef struct IP {
  Graph *g;
  PassContext *ctx;
  Arena *a;          /* scratch: cells, metadata values */
  StrMap pos;        /* node name -> position + 1 */
  Iv *iv;            /* [position] each node's result */
  bool weights;      /* the `weights` option */
  bool have;         /* weights are loaded and used: the (w) columns */
  StrBuf *sb;
} IP;

static int bits_of(double lo, double hi) {
  int b = 1;
  while (b < 200 && (lo < -ldexp(1, b - 1) || hi > ldexp(1, b - 1) - 1)) b++;
  return b;
}

static int pos_of(const IP *P, const Node *n) { return (int)(intptr_t)strmap_get(&P->pos, n->name) - 1; }

static double fmt_lo(const QFmt *f) { return f->is_signed ? -ldexp(1, f->width - 1) : 0; }
static double fmt_hi(const QFmt *f) { return f->is_signed ? ldexp(1, f->width - 1) - 1 : ldexp(1, f->width) - 1; }

static const char *fmt_text(IP *P, const QFmt *f) {
  return arena_printf(P->a, "%sfixed[%d,%d]%s", f->is_signed ? "" : "u", f->width, f->frac_width, f->floor ? " floor" : "");
}


static const float *values(IP *P, const Param *p) {
  const PassData *d = P->ctx->data;
  return p && P->weights && d && d->param ? d->param(d->ud, p) : NULL;
}

static bool integer_cfg(const Node *n, QCfg *q) {
  memset(q, 0, sizeof *q);
  return ir_node_qcfg(n, q) && q->kind == QK_INTEGER;
}

static bool transparent(const Node *n) {
  if (n->mop == MOP_IDENTITY || (n->mop == MOP_DROPOUT && n->op == OP_CALL_MODULE)) return true;
  if ((n->mop == MOP_VIEW || n->mop == MOP_RESHAPE) && n->nargs > 0 && n->args[0].kind == VAL_NODE)
    return n->has_type && n->args[0].u.node->has_type && ir_type_equal(&n->type, &n->args[0].u.node->type);
  return n->mop == MOP_FLATTEN && n->has_type && n->type.rank == 2;
}

static const Node *first_input(const Node *n) {
  return n->nargs > 0 && n->args[0].kind == VAL_NODE ? n->args[0].u.node : NULL;
}

/* The integer format of an explicit quantize(x, fmt) node (ir_quant_explicit_inputs). */
static bool quantize_fmt(const Node *n, QFmt *f) {
  if (n->mop != MOP_QUANTIZE || n->nargs < 2) return false;
  Diag quiet;
  diag_init(&quiet, NULL);
  bool ok = ir_qfmt_from_value(&n->args[1], f, &quiet, n->loc) == JS_OK && f->kind == QK_INTEGER;
  diag_free(&quiet);
  return ok;
}

/* The format the result of n is requantized to next: its consumer's data_in (through
 * transparent nodes); NULL when it is the output or no consumer quantizes it.  *logits set
 * when it reaches the output. */
static const QFmt *next_format(const Node *n, QFmt *buf, bool *logits, int depth) {
  for (int i = 0; i < n->nusers && depth < 64; i++) {
    const Node *u = n->users[i];
    QCfg q;
    if (u->op == OP_OUTPUT) {
      *logits = true;
      return NULL;
    }
    if (transparent(u)) {
      const QFmt *f = next_format(u, buf, logits, depth + 1);
      if (f || *logits) return f;
      continue;
    }
    if (quantize_fmt(u, buf)) return buf;
    if (integer_cfg(u, &q) && q.has[QS_DATA_IN]) {
      *buf = q.fmt[QS_DATA_IN];
      if (u->mop == MOP_RELU) buf->is_signed = false;
      return buf;
    }
  }
  return NULL;
}

/* One row of the table (cells in the scratch arena). */
enum { C_NODE, C_OP, C_IN, C_INCODES, C_W, C_WCODES, C_WACT, C_ACC, C_BOUND, C_BITS, C_WBOUND, C_WBITS, C_F32, C_SHIFT, NCOL };
static const char *const heads[NCOL] = {"node", "op", "data_in", "in codes", "weight", "w codes", "w actual", "acc",
                                        "acc bound", "bits", "acc bound (w)", "bits (w)", "f32 exact", "shift"};

typedef struct Table {
  const char **cells;
  int nrows, cap;
} Table;

static Status add_row(IP *P, Table *t, const char **row) {
  if (t->nrows == t->cap) {
    int cap = t->cap ? 2 * t->cap : 16;
    const char **c = arena_alloc(P->a, sizeof(char *) * (size_t)(cap * NCOL));
    if (!c) return JS_ENOMEM;
    if (t->nrows) memcpy(c, t->cells, sizeof(char *) * (size_t)(t->nrows * NCOL));
    t->cells = c;
    t->cap = cap;
  }
  for (int i = 0; i < NCOL; i++) t->cells[t->nrows * NCOL + i] = row[i] ? row[i] : "-";
  t->nrows++;
  return JS_OK;
}

static void print_table(StrBuf *sb, const Table *t) {
  size_t w[NCOL];
  for (int c = 0; c < NCOL; c++) w[c] = strlen(heads[c]);
  for (int r = 0; r < t->nrows; r++)
    for (int c = 0; c < NCOL; c++)
      if (strlen(t->cells[r * NCOL + c]) > w[c]) w[c] = strlen(t->cells[r * NCOL + c]);
  for (int r = -1; r < t->nrows; r++) {
    sb_puts(sb, " ");
    for (int c = 0; c < NCOL; c++) {
      const char *s = r < 0 ? heads[c] : t->cells[r * NCOL + c];
      sb_puts(sb, " ");
      sb_puts(sb, s);
      if (c + 1 < NCOL) sb_pad(sb, w[c], strlen(s));
    }
    sb_putc(sb, '\n');
  }
}


/* What one quantized node needs, filled by analyse(). */
typedef struct Row {
  const QFmt *in;        /* data_in (NULL: the producer's range) */
  QFmt inbuf;
  double xlo, xhi;       /* input codes (format), */
  double xwlo, xwhi;     /* and weight-aware (a node without data_in inherits them) */
  int fx;
  bool has_w;            /* a weight slot applies */
  const QFmt *wf;
  double wact_lo, wact_hi; /* actual weight codes (has_wact) */
  bool has_wact;
  int p;                 /* accumulator point */
  double bound, wbound;  /* magnitude bounds, units of 2^-p */
  double lo, hi, wlo, whi; /* the accumulator's interval (propagated when there is no data_out) */
} Row;

static double amax(double lo, double hi) { return fmax(fabs(lo), fabs(hi)); }

/* Interval of w * x for x in [xl, xh]. */
static void times(double w, double xl, double xh, double *lo, double *hi) {
  double a = w * xl, b = w * xh;
  *lo = fmin(a, b);
  *hi = fmax(a, b);
}

/* linear and batch_norm1d: the weight-aware sums over the actual codes.  W [O][K] codes (K 1
 * for batch_norm1d), B [O] codes (NULL: none), already at their formats' points. */
static void weighted(Row *r, const double *W, const double *B, int O, int K, int sw, int sb) {
  double amx = amax(r->xwlo, r->xwhi);
  r->wbound = 0;
  for (int o = 0; o < O; o++) {
    double m = B ? fabs(B[o]) * ldexp(1, sb) : 0, lo = B ? B[o] * ldexp(1, sb) : 0, hi = lo;
    for (int k = 0; k < K; k++) {
      double w = W[(int64_t)o * K + k] * ldexp(1, sw), l, h;
      m += fabs(w) * amx;
      times(w, r->xwlo, r->xwhi, &l, &h);
      lo += l;
      hi += h;
      if (!r->has_wact || W[(int64_t)o * K + k] < r->wact_lo) r->wact_lo = W[(int64_t)o * K + k];
      if (!r->has_wact || W[(int64_t)o * K + k] > r->wact_hi) r->wact_hi = W[(int64_t)o * K + k];
      r->has_wact = true;
    }
    r->wbound = fmax(r->wbound, m);
    if (o == 0 || lo < r->wlo) r->wlo = lo;
    if (o == 0 || hi > r->whi) r->whi = hi;
  }
}

/* Fills r for node n; false when the input range is unknown or the op has no integer form. */
static Status analyse(IP *P, const Node *n, const QCfg *q, Row *r, bool *ok) {
  *ok = false;
  memset(r, 0, sizeof *r);
  const Node *src = first_input(n);
  if (q->has[QS_DATA_IN]) {
    r->inbuf = q->fmt[QS_DATA_IN];
    if (n->mop == MOP_RELU) r->inbuf.is_signed = false;
    r->in = &r->inbuf;
    r->fx = r->in->frac_width;
    r->xlo = r->xwlo = fmt_lo(r->in);
    r->xhi = r->xwhi = fmt_hi(r->in);
  } else if (src && quantize_fmt(src, &r->inbuf)) { /* an explicit input quantizer */
    r->in = &r->inbuf;
    r->fx = r->in->frac_width;
    r->xlo = r->xwlo = fmt_lo(r->in);
    r->xhi = r->xwhi = fmt_hi(r->in);
  } else {
    if (!src || !P->iv[pos_of(P, src)].known) return JS_OK;
    const Iv *s = &P->iv[pos_of(P, src)];
    r->fx = s->frac;
    r->xlo = s->lo, r->xhi = s->hi, r->xwlo = s->wlo, r->xwhi = s->whi;
  }
  const QFmt *fw = q->has[QS_WEIGHT] && q->fmt[QS_WEIGHT].kind == QK_INTEGER ? &q->fmt[QS_WEIGHT] : NULL;
  const QFmt *fb = q->has[QS_BIAS] && q->fmt[QS_BIAS].kind == QK_INTEGER ? &q->fmt[QS_BIAS] : NULL;
  double amx = amax(r->xlo, r->xhi);
  switch (n->mop) {
  case MOP_LINEAR: {
    if (!fw) return JS_OK;
    const Param *wp = NULL, *bp = NULL;
    if (n->op == OP_CALL_MODULE) {
      wp = ir_module_param(n->module, "weight");
      bp = ir_module_param(n->module, "bias");
    } else {
      const Value *wv = n->nargs > 1 ? &n->args[1] : NULL, *bv = n->nargs > 2 ? &n->args[2] : NULL;
      if (wv && wv->kind == VAL_NODE) wp = wv->u.node->param;
      if (bv && bv->kind == VAL_NODE) bp = bv->u.node->param;
    }
    if (!wp || wp->type.rank != 2) return JS_OK;
    if (bp && !fb) return JS_OK; /* a float bias: not integer */
    int O = (int)wp->type.dims[0].size, K = (int)wp->type.dims[1].size;
    r->has_w = true;
    r->wf = fw;
    int fa = r->fx + fw->frac_width;
    r->p = bp && fb->frac_width > fa ? fb->frac_width : fa;
    int sw = r->p - fa, sb = bp ? r->p - fb->frac_width : 0;
    double wl = fmt_lo(fw), wh = fmt_hi(fw), l1, h1, l2, h2;
    times(wl, r->xlo, r->xhi, &l1, &h1);
    times(wh, r->xlo, r->xhi, &l2, &h2);
    double bl = bp ? ldexp(fmt_lo(fb), sb) : 0, bh = bp ? ldexp(fmt_hi(fb), sb) : 0;
    r->lo = K * ldexp(fmin(l1, l2), sw) + bl;
    r->hi = K * ldexp(fmax(h1, h2), sw) + bh;
    r->bound = K * amx * ldexp(amax(wl, wh), sw) + amax(bl, bh);
    r->wbound = r->bound, r->wlo = r->lo, r->whi = r->hi;
    const float *wv = values(P, wp), *bv = bp ? values(P, bp) : NULL;
    if (wv && (!bp || bv)) {
      double *W = arena_alloc(P->a, sizeof(double) * (size_t)((int64_t)O * K + O));
      if (!W) return JS_ENOMEM;
      for (int64_t i = 0; i < (int64_t)O * K; i++) W[i] = (double)ir_quant_code(fw, (double)wv[i]);
      for (int o = 0; bv && o < O; o++) W[(int64_t)O * K + o] = (double)ir_quant_code(fb, (double)bv[o]);
      weighted(r, W, bv ? W + (int64_t)O * K : NULL, O, K, sw, sb);
    }
    break;
  }
  case MOP_BATCH_NORM1D: {
    if (!fw || !fb) return JS_OK;
    const Module *m = n->module;
    const Param *wp = ir_module_param(m, "weight"), *bp = ir_module_param(m, "bias");
    const Param *rmp = ir_module_param(m, "running_mean"), *rvp = ir_module_param(m, "running_var");
    r->has_w = true;
    r->wf = fw;
    int fa = r->fx + fw->frac_width;
    r->p = fb->frac_width > fa ? fb->frac_width : fa;
    int sw = r->p - fa, sb = r->p - fb->frac_width;
    double wl = fmt_lo(fw), wh = fmt_hi(fw), l1, h1, l2, h2;
    times(wl, r->xlo, r->xhi, &l1, &h1);
    times(wh, r->xlo, r->xhi, &l2, &h2);
    double bl = ldexp(fmt_lo(fb), sb), bh = ldexp(fmt_hi(fb), sb);
    r->lo = ldexp(fmin(l1, l2), sw) + bl;
    r->hi = ldexp(fmax(h1, h2), sw) + bh;
    r->bound = amx * ldexp(amax(wl, wh), sw) + amax(bl, bh);
    r->wbound = r->bound, r->wlo = r->lo, r->whi = r->hi;
    const float *w = values(P, wp), *b = values(P, bp), *rm = values(P, rmp), *rv = values(P, rvp);
    if (rm && rv && (!wp || w) && (!bp || b) && rmp->type.rank == 1) {
      int C = (int)rmp->type.dims[0].size;
      const Value *ev = ir_module_arg(m, "eps");
      double eps = ev && ev->kind == VAL_FLOAT ? ev->u.f : ev && ev->kind == VAL_INT ? (double)ev->u.i : 1e-5;
      double *S = arena_alloc(P->a, sizeof(double) * (size_t)(2 * C));
      if (!S) return JS_ENOMEM;
      for (int j = 0; j < C; j++) {
        double t, s = ir_bn_fold(w ? w[j] : 1.0, b ? b[j] : 0.0, rm[j], rv[j], eps, &t);
        S[j] = (double)ir_quant_code(fw, s);
        S[C + j] = (double)ir_quant_code(fb, t);
      }
      weighted(r, S, S + C, C, 1, sw, sb);
    }
    break;
  }
  case MOP_RELU:
    r->p = r->fx;
    r->lo = fmax(r->xlo, 0), r->hi = fmax(r->xhi, 0), r->wlo = fmax(r->xwlo, 0), r->whi = fmax(r->xwhi, 0);
    r->bound = amax(r->xlo, r->xhi);
    r->wbound = amax(r->xwlo, r->xwhi);
    break;
  case MOP_ADD:
  case MOP_SUB:
  case MOP_MUL: {
    /* the second operand: its data_in, or its producer's range */
    const Node *o2 = n->nargs > 1 && n->args[1].kind == VAL_NODE ? n->args[1].u.node : NULL;
    double ylo, yhi, ywlo, ywhi;
    int fy;
    if (q->has[QS_DATA_IN]) {
      fy = r->fx, ylo = ywlo = r->xlo, yhi = ywhi = r->xhi;
    } else {
      if (!o2 || !P->iv[pos_of(P, o2)].known) return JS_OK;
      const Iv *s = &P->iv[pos_of(P, o2)];
      fy = s->frac, ylo = s->lo, yhi = s->hi, ywlo = s->wlo, ywhi = s->whi;
    }
    if (!o2) return JS_OK;
    if (n->mop == MOP_MUL) {
      r->p = r->fx + fy;
      double c[4] = {r->xlo * ylo, r->xlo * yhi, r->xhi * ylo, r->xhi * yhi};
      double cw[4] = {r->xwlo * ywlo, r->xwlo * ywhi, r->xwhi * ywlo, r->xwhi * ywhi};
      r->lo = fmin(fmin(c[0], c[1]), fmin(c[2], c[3])), r->hi = fmax(fmax(c[0], c[1]), fmax(c[2], c[3]));
      r->wlo = fmin(fmin(cw[0], cw[1]), fmin(cw[2], cw[3])), r->whi = fmax(fmax(cw[0], cw[1]), fmax(cw[2], cw[3]));
      r->bound = amax(r->lo, r->hi), r->wbound = amax(r->wlo, r->whi);
    } else {
      r->p = r->fx > fy ? r->fx : fy;
      int sa = r->p - r->fx, sb = r->p - fy;
      double s = n->mop == MOP_ADD ? 1 : -1;
      r->lo = ldexp(r->xlo, sa) + fmin(s * ldexp(ylo, sb), s * ldexp(yhi, sb));
      r->hi = ldexp(r->xhi, sa) + fmax(s * ldexp(ylo, sb), s * ldexp(yhi, sb));
      r->wlo = ldexp(r->xwlo, sa) + fmin(s * ldexp(ywlo, sb), s * ldexp(ywhi, sb));
      r->whi = ldexp(r->xwhi, sa) + fmax(s * ldexp(ywlo, sb), s * ldexp(ywhi, sb));
      r->bound = ldexp(amax(r->xlo, r->xhi), sa) + ldexp(amax(ylo, yhi), sb);
      r->wbound = ldexp(amax(r->xwlo, r->xwhi), sa) + ldexp(amax(ywlo, ywhi), sb);
    }
    break;
  }
  default: return JS_OK; /* tanh, conv1d, matmul: no integer accumulator analysed */
  }
  *ok = true;
  return JS_OK;
}

static const char *num(IP *P, double v) { return arena_printf(P->a, "%.0f", v); }
static const char *range(IP *P, double lo, double hi) { return arena_printf(P->a, "[%.0f, %.0f]", lo, hi); }

static Status node_row(IP *P, Node *n, Table *t, int *widest, const Node **widest_node, int *inexact) {
  QCfg q;
  if (!integer_cfg(n, &q)) return JS_OK;
  Row r;
  bool ok;
  Status st = analyse(P, n, &q, &r, &ok);
  if (st) return st;
  const char *row[NCOL] = {0};
  row[C_NODE] = n->name;
  row[C_OP] = ir_op_info(n->mop) ? ir_op_info(n->mop)->name : n->target;
  if (!ok) {
    row[C_IN] = "(not analysed: no integer accumulator, or its input range is unknown)";
    return add_row(P, t, row);
  }
  double used = P->have ? r.wbound : r.bound;
  int bits = bits_of(-r.bound, r.bound), wbits = bits_of(-r.wbound, r.wbound), ubits = bits_of(-used, used);
  bool f32 = used <= ldexp(1, 24), f64 = used <= ldexp(1, 53);
  row[C_IN] = r.in ? fmt_text(P, r.in) : arena_printf(P->a, "(from %s) 2^-%d", first_input(n)->name, r.fx);
  row[C_INCODES] = range(P, r.xlo, r.xhi);
  if (r.has_w) {
    row[C_W] = fmt_text(P, r.wf);
    row[C_WCODES] = range(P, fmt_lo(r.wf), fmt_hi(r.wf));
    if (r.has_wact) row[C_WACT] = range(P, r.wact_lo, r.wact_hi);
  }
  row[C_ACC] = arena_printf(P->a, "2^-%d", r.p);
  row[C_BOUND] = num(P, r.bound);
  row[C_BITS] = arena_printf(P->a, "%d", bits);
  if (P->have) {
    row[C_WBOUND] = num(P, r.wbound);
    row[C_WBITS] = arena_printf(P->a, "%d", wbits);
  }
  row[C_F32] = f32 ? "yes" : "no";
  QFmt nb;
  bool logits = false;
  const QFmt *next = q.has[QS_DATA_OUT] ? &q.fmt[QS_DATA_OUT] : next_format(n, &nb, &logits, 0);
  Value shift = val_none();
  if (next) {
    int sh = r.p - next->frac_width;
    row[C_SHIFT] = arena_printf(P->a, "%s %d -> %s", sh >= 0 ? ">>" : "<<", sh >= 0 ? sh : -sh, fmt_text(P, next));
    shift = val_int(sh);
  } else {
    row[C_SHIFT] = logits ? "logits (dequantized)" : "none";
  }
  if (ubits > *widest) {
    *widest = ubits;
    *widest_node = n;
  }
  if (!f32) (*inexact)++;
  /* the result's range, for nodes that read it without a data_in of their own */
  Iv *iv = &P->iv[pos_of(P, n)];
  if (q.has[QS_DATA_OUT]) {
    const QFmt *o = &q.fmt[QS_DATA_OUT];
    *iv = (Iv){true, o->frac_width, fmt_lo(o), fmt_hi(o), fmt_lo(o), fmt_hi(o)};
  } else {
    *iv = (Iv){true, r.p, r.lo, r.hi, r.wlo, r.whi};
  }
  /* software.intervals */
  Value d = {.kind = VAL_DICT};
  Arena *a = P->a;
  if (val_dict_set(a, &d, "acc_frac", val_int(r.p)) || val_dict_set(a, &d, "acc_bits", val_int(bits)) ||
      (P->have && val_dict_set(a, &d, "acc_bits_weights", val_int(wbits))) || val_dict_set(a, &d, "f32_exact", val_bool(f32)) ||
      val_dict_set(a, &d, "f64_exact", val_bool(f64)) || val_dict_set(a, &d, "shift", shift))
    return JS_ENOMEM;
  Value sw = {.kind = VAL_DICT};
  const Value *old = ir_meta_get(n, "software");
  if (old && old->kind == VAL_DICT && val_copy(a, old, &sw)) return JS_ENOMEM;
  if (val_dict_set(a, &sw, "intervals", d) || ir_meta_set(n, "software", sw)) return JS_ENOMEM;
  return add_row(P, t, row);
}

Status pass_intervals(Graph *g, const PassArgs *args, PassContext *ctx) {
  IP P = {.g = g, .ctx = ctx, .weights = pass_arg_bool(args, "weights")};
  StrBuf sb;
  sb_init(&sb);
  strmap_init(&P.pos);
  Status st = (P.a = arena_new()) ? JS_OK : JS_ENOMEM;
  int nn = 0;
  for (const Node *n = g->first; n && !st; n = n->next) st = strmap_put(&P.pos, n->name, (void *)(intptr_t)++nn);
  if (!st && !(P.iv = arena_alloc(P.a, sizeof(Iv) * (size_t)(nn ? nn : 1)))) st = JS_ENOMEM;
  Table t = {0};
  int widest = 0, inexact = 0, quantized = 0;
  const Node *widest_node = NULL;
  bool have = P.have = P.weights && ctx->data && ctx->data->param;
  for (Node *n = g->first; n && !st; n = n->next) {
    QCfg q;
    if (integer_cfg(n, &q)) quantized++;
    st = node_row(&P, n, &t, &widest, &widest_node, &inexact);
    const Node *src = first_input(n);
    if (!st && transparent(n) && src) P.iv[pos_of(&P, n)] = P.iv[pos_of(&P, src)];
    QFmt f;
    if (!st && quantize_fmt(n, &f)) P.iv[pos_of(&P, n)] = (Iv){true, f.frac_width, fmt_lo(&f), fmt_hi(&f), fmt_lo(&f), fmt_hi(&f)};
  }
  if (!st) {
    sb_printf(&sb, "Integer intervals of %s (codes; acc: the accumulator's point and its worst-case |value| in units of it;\n"
                   "bits include the sign; f32 exact: below 2^24 units)\n",
              g->name);
    sb_printf(&sb, "weights: %s\n",
              !P.weights ? "not used (weights=false): format bounds only"
              : have     ? "the loaded values: the (w) columns use the actual codes"
                         : "none loaded: format bounds only");
    if (!quantized) {
      sb_puts(&sb, "  no node is quantized with integer formats (run the quantize pass first)\n");
    } else {
      print_table(&sb, &t);
      if (widest_node)
        sb_printf(&sb, "widest accumulator: %d bits (%s); float32 fake quantization exact: %s\n", widest,
                  widest_node->name, inexact ? "no" : "yes, every node");
    }
    if (sb.oom) st = JS_ENOMEM;
  }
  if (!st) st = pass_emit_report("intervals", &sb, args, ctx);
  else if (st == JS_ENOMEM) st = diag_oom(ctx->diag);
  sb_free(&sb);
  strmap_free(&P.pos);
  arena_free(P.a);
  return st;
}
