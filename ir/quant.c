/* quant.c — the number formats of quantized nodes: MASE's quantizers as fake quantization
 * (the result is a float on the format's grid), in double for the reference executor and in
 * float for the JIT's C reference, plus their names and short text forms.
 *
 * The math of each format, as MASE computes it in float32 torch (src/chop/nn/quantizers/).
 * Below, fl(.) is rounding to float32, L(v) = fl(log2 v) (log2 rounded to float, which is
 * what ceil/floor/round of torch's float32 log2 see), rne is round half to even, and
 * clamp(a, lo, hi) compares (a NaN stays NaN, -0.0 stays -0.0):
 *
 *   integer   w, f (signed: lo = -2^(w-1), hi = 2^(w-1)-1; unsigned: lo = 0, hi = 2^w-1)
 *             q = clamp(rne(x * 2^f), lo, hi) / 2^f      (floor=true: floor for rne)
 *             -0.3 * 2^-f gives -0.0 (torch.round(-0.3) = -0.); +-inf give hi/2^f, lo/2^f.
 *             Computed exactly in double for every width up to 32.  In float, lo and hi
 *             are rounded to float first (torch casts clamp's bounds to the tensor's dtype):
 *             from w = 26 (unsigned: 25) hi becomes the next power of two, which is also
 *             fl(hi / 2^f) of the double result.
 *   minifloat_denorm   w, E exponent bits, bias b, M = w-E-1 mantissa bits
 *             |x| <= fl(1e-8): x passes through (MASE's isclose(|x|, 0)); as MASE adds
 *                   0 * q to it, -0.0 comes out +0.0
 *             e = clamp(ceil(L(fl(|x| + 1e-9))), -b, 2^E-1-b)
 *             k = clamp(rne(|x| / 2^e * 2^M), 0, 2^M-1);   q = sign(x) * 2^e * k / 2^M
 *             (MASE's sign(x + 1e-9) is sign(x) past the pass-through; a negative x that
 *             rounds to k = 0 gives -0.0)
 *   minifloat_ieee     the same pass-through;  e = clamp(floor(L(fl(|x| + 1e-9))), -b, 2^E-1-b)
 *             e != -b: k = clamp(rne(|x| / 2^e * 2^M - 2^M), 0, 2^M-1); q = sign * 2^e * (1 + k/2^M)
 *             e == -b: k = clamp(rne(|x| / 2^e * 2^M / 2), 0, 2^M-1);   q = sign * 2^e * 2k/2^M
 *   log       w, bias b: c = fl(2^-b * 0.1), e = clamp(rne(L(fl(|x| + c))), -b, 2^(w-1)-1-b)
 *             q = sign(fl(x + c)) * 2^e   (so -c < x < 0 gives +2^-b, x = -c gives 0)
 *   block_fp  w (mantissa bits with the sign), E, b, block_size; per block of block_size
 *             elements within each row, m = max |x| over the block:
 *             e = clamp(ceil(L(m)), -b, 2^E-1-b);  M = w-1
 *             k = clamp(rne(fl(|x| + 1e-9) / 2^e * 2^M), 0, 2^M-1);  q = sign(x) * 2^e * k/2^M
 *             with minifloat's pass-through of |x| <= fl(1e-8)
 *   block_minifloat  w, E, bias width bw, block_size; per block (as block_fp), m = max |x|:
 *             b = clamp(floor(L(m)), 0, 2^bw - 1), then minifloat_ieee[w, E, b] of each element
 *   block_log w, bw, block_size; per block b = clamp(2^(w-1) - 1 - ceil(L(m)), 0, 2^bw - 1),
 *             then log[w, b] of each element
 *   binary    bipolar: x >= 0 ? 1 : -1 (0 and -0.0 give +1);  else x >= 0 ? 1 : 0
 *   ternary   over the whole tensor: t = 0.75 * mean|x|, 0.75 * median|x| (the lower middle,
 *             as torch.median) or 0.05 * max|x|;  a = scaled ? mean of |x| over |x| > t : 1
 *             q = x > t ? a : x < -t ? -a : 0
 *
 * Exactness.  Every scaling is by a power of two (ldexp), so |x| / 2^e * 2^M and the
 * assembly of q are exact in both precisions; the only roundings are MASE's own: fl(|x| +
 * 1e-9), fl(log2) and rne.  L(v) is computed as (float)log2((double)v): torch's float log2
 * is not always correctly rounded, but on every positive float its ceil, floor and rne are
 * those of the correctly rounded log2 (checked exhaustively, for torch's vector and scalar
 * paths), which is all the exponent needs.  The exact ceil(log2) of frexp would differ: at
 * x = 2^-7, fl(x + 1e-9) is one ulp above 2^-7 and its float log2 is exactly -7, so MASE's
 * denorm exponent is -7 (mantissa saturated: 0.875 * 2^-7 with M = 3), not -6.
 * The double functions make MASE's float decisions on fl(x) (the exponent, fl(|x| + 1e-9),
 * the sign of fl(x + c)) and keep the rest in double, so that for every float input
 * (float)ir_quant_f64(x) == ir_quant_f32(x), bit for bit.
 *
 * Deliberate differences from MASE:
 *  - +-inf saturate to the format's largest magnitude (minifloat, block_fp).  MASE's
 *    `(~is_close_to_0) * q + is_close_to_0 * x` makes them NaN (0 * inf).
 *  - NaN stays NaN everywhere: binary (MASE: -1 or 0), ternary (left out of the statistics;
 *    MASE's statistic goes NaN) and block_fp, where a NaN is also left out of its block's max
 *    (MASE's whole block goes NaN).
 *  - log: an exact zero stays zero (and keeps its sign); MASE maps it to +2^-b.
 *  - Powers 2^e are exact (ldexp), where MASE's float32 `2 ** e` overflows to inf for
 *    e >= 128 (E = 8 with the default bias 127) and then gives 0 or NaN; below 2^-149 both
 *    give 0.  Outside float's range the float functions round once, at the end.
 *  - minifloat_ieee's subnormal test is e == -b; MASE's isclose(e, -b) differs only for
 *    |b| >= 1e5.
 *  - block_fp: blocks run along each row (the last dim) with a short last block of its own,
 *    which is MASE's padding for 2-d activations.  MASE's block shape [r, c] (block_size as
 *    a list) makes blocks of r rows x c columns of the tensor viewed as [n / last dim, last
 *    dim] (a 2-d weight as it is; a 3-d one's first two dims merged), cut short at the ends
 *    as MASE's padding; [c] and [1, c] are the scalar c.  MASE's replacement of an all-zero block's
 *    max by the smallest non-zero one changes nothing (every element of such a block passes
 *    through), so blocks are independent here.  A one-element call is a block of one.
 *  - block_minifloat, block_log: blocks as block_fp's (MASE's `block` with a scalar block_size
 *    on a 2-d tensor); NaN is left out of the block's max (MASE: the block goes NaN); a block
 *    of zeros keeps its zeros (MASE substitutes the smallest non-zero block max for its
 *    bias, which changes no element); an infinite max counts as FLT_MAX, as +-inf saturate.
 *    The per-element formats are jscc's minifloat_ieee and log with their differences above;
 *    block_log's c = 0.1 * 2^-b is rounded once from double as log's (MASE's tensor bias
 *    rounds 2^-b * fl(0.1) in float32: the same unless c is a subnormal float, b > 122).
 *  - binary with bipolar=false is {0, 1} (machop's BinaryZeroOne); newer MASE scales it by
 *    each sample's mean |x|.
 *  - ternary: the configured statistic over the whole tensor.  MASE's current code ignores
 *    the threshold it is given and always uses 0.75 * mean|x| per sample of a 4-d tensor;
 *    machop's scaled a was the signed mean of x and its negative side was x <= -t.  The
 *    statistics accumulate in double.  A scaled ternary that keeps no element gives 0 (MASE:
 *    0/0).  A one-element call is a tensor of one (it keeps its element: +-|x| or +-1).
 *
 * Text forms (ir_qfmt_print), short and deterministic: fixed[w,f], ufixed[w,f] (unsigned),
 * ",floor" appended when flooring (fixed[8,4,floor]); minifloat_ieee[w,E,b],
 * minifloat_denorm[w,E,b]; log[w,b]; block_fp[w,E,b,block_size]; binary (bipolar) and
 * binary01; ternary[mean|median|max] with ",scaled" when scaled (ternary[mean,scaled]);
 * block_minifloat[w,E,bw,block_size], block_log[w,bw,block_size]; a 2-d block shape [r, c]
 * prints as rxc (block_fp[8,4,7,2x16]).
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "ir.h"

/* ---- names ---- */

static const struct {
  const char *name;   /* MASE's config "name" */
  const char *suffix; /* MASE's quantized module class suffix (LinearInteger) */
} kinds[QK_COUNT] = {
    [QK_INTEGER] = {"integer", "Integer"},
    [QK_MINIFLOAT_IEEE] = {"minifloat_ieee", "MinifloatIEEE"},
    [QK_MINIFLOAT_DENORM] = {"minifloat_denorm", "MinifloatDenorm"},
    [QK_LOG] = {"log", "Log"},
    [QK_BLOCK_FP] = {"block_fp", "BlockFP"},
    [QK_BINARY] = {"binary", "Binary"},
    [QK_TERNARY] = {"ternary", "Ternary"},
    [QK_BLOCK_MINIFLOAT] = {"block_minifloat", "BlockMinifloat"},
    [QK_BLOCK_LOG] = {"block_log", "BlockLog"},
};

const char *ir_qkind_name(QKind k) {
  return (unsigned)k < QK_COUNT ? kinds[k].name : "?";
}

bool ir_qkind_parse(const char *s, QKind *out) {
  if (strcmp(s, "fixed") == 0) { /* MASE maps linear_fixed to LinearInteger too */
    *out = QK_INTEGER;
    return true;
  }
  for (int i = 0; i < QK_COUNT; i++)
    if (strcmp(s, kinds[i].name) == 0) {
      *out = (QKind)i;
      return true;
    }
  return false;
}

const char *ir_qkind_class_suffix(QKind k) {
  return (unsigned)k < QK_COUNT ? kinds[k].suffix : "?";
}

const char *ir_qslot_name(QSlot s) {
  static const char *const names[QS_COUNT] = {"data_in", "weight", "bias", "data_out"};
  return (unsigned)s < QS_COUNT ? names[s] : "?";
}

bool ir_qfmt_elementwise(const QFmt *f) {
  return f->kind != QK_BLOCK_FP && f->kind != QK_TERNARY && f->kind != QK_BLOCK_MINIFLOAT && f->kind != QK_BLOCK_LOG;
}

/* "16]" or, for a 2-d block shape, "4x16]". */
static void print_block(StrBuf *sb, const QFmt *f) {
  if (f->block_rows > 1) sb_printf(sb, "%dx", f->block_rows);
  sb_printf(sb, "%d]", f->block_size);
}

void ir_qfmt_print(StrBuf *sb, const QFmt *f) {
  static const char *const stats[] = {"mean", "median", "max"};
  switch (f->kind) {
  case QK_INTEGER:
    sb_printf(sb, "%sfixed[%d,%d%s]", f->is_signed ? "" : "u", f->width, f->frac_width,
              f->floor ? ",floor" : "");
    break;
  case QK_MINIFLOAT_IEEE:
  case QK_MINIFLOAT_DENORM:
    sb_printf(sb, "%s[%d,%d,%d]", ir_qkind_name(f->kind), f->width, f->exp_width, f->exp_bias);
    break;
  case QK_LOG:
    sb_printf(sb, "log[%d,%d]", f->width, f->exp_bias);
    break;
  case QK_BLOCK_FP:
    sb_printf(sb, "block_fp[%d,%d,%d,", f->width, f->exp_width, f->exp_bias);
    print_block(sb, f);
    break;
  case QK_BINARY:
    sb_puts(sb, f->bipolar ? "binary" : "binary01");
    break;
  case QK_TERNARY:
    sb_printf(sb, "ternary[%s%s]", (unsigned)f->tstat <= QT_MAX ? stats[f->tstat] : "?",
              f->scaling ? ",scaled" : "");
    break;
  case QK_BLOCK_MINIFLOAT:
    sb_printf(sb, "block_minifloat[%d,%d,%d,", f->width, f->exp_width, f->exp_bias_width);
    print_block(sb, f);
    break;
  case QK_BLOCK_LOG:
    sb_printf(sb, "block_log[%d,%d,", f->width, f->exp_bias_width);
    print_block(sb, f);
    break;
  default:
    sb_puts(sb, "?");
    break;
  }
}

/* ---- shared pieces ---- */

/* MASE's constants, as float32 torch sees them: isclose(|x|, 0)'s atol and the 1e-9 that
 * keeps log2 away from 0. */
#define PASS_TOL 1e-8f
#define NUDGE 1e-9f

/* Exponents are int64: 2^E - 1 - b overflows int for E = 31, and a clamp to +-4000 later
 * changes nothing (2^+-4000 is 0 or inf in double already) but keeps ldexp's int in range. */
#define EXP_CAP 4000

static int64_t pow2m1(int e) { /* 2^e - 1, saturating */
  return e <= 0 ? 0 : e >= 62 ? INT64_MAX / 2 : (INT64_C(1) << e) - 1;
}

static int mant_bits(const QFmt *f) { /* M: the minifloats' w-E-1, block_fp's w-1 */
  int m = f->kind == QK_BLOCK_FP ? f->width - 1 : f->width - f->exp_width - 1;
  return m < 0 ? 0 : m > 62 ? 62 : m;
}

/* The exponent range [-b, 2^E-1-b] of the minifloats and block_fp, [-b, 2^(w-1)-1-b] of log. */
static void exp_range(const QFmt *f, int64_t *lo, int64_t *hi) {
  int ebits = f->kind == QK_LOG ? f->width - 1 : f->exp_width;
  *lo = -(int64_t)f->exp_bias;
  *hi = pow2m1(ebits) - f->exp_bias;
}

/* log2 rounded to float: what ceil/floor/round of torch's float32 log2 see (see the top). */
static float log2_f(float v) {
  return (float)log2((double)v);
}

enum { EXP_CEIL = IR_QEXP_CEIL, EXP_FLOOR = IR_QEXP_FLOOR, EXP_ROUND = IR_QEXP_ROUND };

/* clamp(ceil|floor|rne(L(v)), lo, hi) for v >= 0, not NaN (v = 0 and inf clamp to an end). */
static int exp_of(float v, int how, int64_t lo, int64_t hi) {
  float l = log2_f(v);
  l = how == EXP_CEIL ? ceilf(l) : how == EXP_FLOOR ? floorf(l) : rintf(l);
  int64_t e = l < (float)lo ? lo : l > (float)hi ? hi : (int64_t)l;
  if (e < lo) e = lo; /* (float)lo may round: the int64 bounds decide */
  if (e > hi) e = hi;
  return (int)(e < -EXP_CAP ? -EXP_CAP : e > EXP_CAP ? EXP_CAP : e);
}

/* ---- the exponent decisions from a float's bits (the kernels' form) ----
 *
 * A positive finite float is v = 2^E (1 + m 2^-23) with E and the 23 mantissa bits m read
 * from its bits (a subnormal is first scaled by 2^64, exactly).  log2 v lies in [E, E+1), so
 * ceil, floor and rne of L(v) are E or E+1, and since L is monotone (log2 is, and rounding
 * to float keeps order) the decision is E + (m >= thr[E]) with one threshold per binade:
 * the smallest m whose decision is E+1 (2^23: none).  The thresholds are found here by
 * bisection with the very L the reference uses, so the kernels make the reference's
 * decisions without calling log2; test/ir/test_quant.c compares the two on every float
 * within 2^12 ulps of each threshold and on millions of others (ir_quant_exp_bits is the C
 * twin of the kernels' code). */

static int decide(int how, float v) {
  float l = log2_f(v);
  return (int)(how == IR_QEXP_CEIL ? ceilf(l) : how == IR_QEXP_FLOOR ? floorf(l) : rintf(l));
}

void ir_quant_exp_table(int how, int32_t thr[IR_QEXP_N]) {
  for (int i = 0; i < IR_QEXP_N; i++) {
    int E = IR_QEXP_EMIN + i;
    int32_t lo = 0, hi = 1 << 23; /* the answer is in [lo, hi] */
    while (lo < hi) {
      int32_t mid = lo + (hi - lo) / 2;
      float v = (float)ldexp(1.0 + ldexp(mid, -23), E); /* a subnormal binade rounds: monotone still */
      if (decide(how, v) > E) hi = mid;
      else lo = mid + 1;
    }
    thr[i] = lo;
  }
}

int ir_quant_exp_bits(const int32_t thr[IR_QEXP_N], float v) {
  int shift = 0;
  if (v < 0x1p-126f) v *= 0x1p64f, shift = 64;
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  int E = (int)(u >> 23) - 127 - shift;
  int32_t m = (int32_t)(u & 0x7fffff);
  int i = E - IR_QEXP_EMIN;
  i = i < 0 ? 0 : i >= IR_QEXP_N ? IR_QEXP_N - 1 : i;
  return E + (m >= thr[i]);
}

int ir_quant_exp_ref(int how, float v) {
  return decide(how, v);
}

/* ---- integer ---- */

static void int_range(const QFmt *f, double *lo, double *hi) {
  if (f->is_signed) {
    *lo = -ldexp(1.0, f->width - 1);
    *hi = ldexp(1.0, f->width - 1) - 1;
  } else {
    *lo = 0;
    *hi = ldexp(1.0, f->width) - 1;
  }
}

/* clamp(round(x * 2^f)) in double: exact for every width up to 32 (and up to 53). */
static double int_code(const QFmt *f, double x) {
  double lo, hi;
  int_range(f, &lo, &hi);
  double r = ldexp(x, f->frac_width);
  r = f->floor ? floor(r) : rint(r); /* rint: half to even in the default rounding mode */
  if (r < lo) r = lo;                /* comparisons keep NaN and -0.0, as torch's clamp */
  if (r > hi) r = hi;
  return r;
}

static double int_f64(const QFmt *f, double x) {
  return ldexp(int_code(f, x), -f->frac_width);
}

static float int_f32(const QFmt *f, float x) {
  double lo, hi;
  int_range(f, &lo, &hi);
  float flo = (float)lo, fhi = (float)hi; /* torch casts the bounds to float */
  float r = ldexpf(x, f->frac_width);
  r = f->floor ? floorf(r) : rintf(r);
  if (r < flo) r = flo;
  if (r > fhi) r = fhi;
  return ldexpf(r, -f->frac_width);
}

/* The integer code clamp(round(x * 2^f)); NaN (which has none) and the other kinds give 0. */
int64_t ir_quant_code(const QFmt *f, double x) {
  if (f->kind != QK_INTEGER || isnan(x)) return 0;
  return (int64_t)int_code(f, x);
}

/* ---- minifloat (both) ---- */

static double minifloat_f64(const QFmt *f, double x) {
  if (isnan(x)) return x;
  double v = fabs(x);
  if (v <= (double)PASS_TOL) return x + 0.0; /* MASE: 0 * q + x, so -0.0 gives +0.0 */
  int64_t lo, hi;
  exp_range(f, &lo, &hi);
  int M = mant_bits(f);
  double kmax = ldexp(1.0, M) - 1, q;
  float vn = (float)v + NUDGE; /* fl(|x| + 1e-9), decided on fl(|x|) */
  if (f->kind == QK_MINIFLOAT_DENORM) {
    int e = exp_of(vn, EXP_CEIL, lo, hi);
    double k = rint(ldexp(v, M - e));
    k = k < 0 ? 0 : k > kmax ? kmax : k;
    q = ldexp(k, e - M);
  } else {
    int e = exp_of(vn, EXP_FLOOR, lo, hi);
    if (e == lo) { /* subnormal: no implicit 1, the mantissa counts 2^(e-M+1) */
      double k = rint(ldexp(v, M - 1 - e));
      k = k < 0 ? 0 : k > kmax ? kmax : k;
      q = ldexp(k, e - M + 1);
    } else {
      double k = rint(ldexp(v, M - e) - ldexp(1.0, M));
      k = k < 0 ? 0 : k > kmax ? kmax : k; /* k < 0 when the nudge crossed 2^e: q = 2^e */
      q = ldexp(ldexp(1.0, M) + k, e - M);
    }
  }
  return x < 0 ? -q : q; /* -0.0 when a negative x rounds to zero, as MASE */
}

/* The same in float.  Every step but the roundings MASE does is exact in float as well:
 * |x| * 2^(M-e) is a float, and for IEEE's normal case it lies in [2^(M-1), 2^(M+1)] (or
 * saturates), where subtracting 2^M is exact. */
static float minifloat_f32(const QFmt *f, float x) {
  if (isnan(x)) return x;
  float v = fabsf(x);
  if (v <= PASS_TOL) return x + 0.0f;
  int64_t lo, hi;
  exp_range(f, &lo, &hi);
  int M = mant_bits(f);
  float kmax = (float)(ldexp(1.0, M) - 1), q;
  float vn = v + NUDGE;
  if (f->kind == QK_MINIFLOAT_DENORM) {
    int e = exp_of(vn, EXP_CEIL, lo, hi);
    float k = rintf(ldexpf(v, M - e));
    k = k < 0 ? 0 : k > kmax ? kmax : k;
    q = ldexpf(k, e - M);
  } else {
    int e = exp_of(vn, EXP_FLOOR, lo, hi);
    if (e == lo) {
      float k = rintf(ldexpf(v, M - 1 - e));
      k = k < 0 ? 0 : k > kmax ? kmax : k;
      q = ldexpf(k, e - M + 1);
    } else {
      float k = rintf(ldexpf(v, M - e) - ldexpf(1.0f, M));
      k = k < 0 ? 0 : k > kmax ? kmax : k;
      /* 2^M + k has up to M+1 bits: assemble in double and round once, as the double path */
      q = (float)ldexp(ldexp(1.0, M) + k, e - M);
    }
  }
  return x < 0 ? -q : q;
}

/* ---- log ---- */

/* MASE's c = 2^-b * 0.1, a Python double that torch casts to float. */
static float log_c(int64_t lo) {
  return (float)(ldexp(1.0, (int)(lo < -EXP_CAP ? -EXP_CAP : lo > EXP_CAP ? EXP_CAP : lo)) * 0.1);
}

/* sign(fl(x + c)) * 2^e with e from fl(|x| + c), decided on fl(x); 0 for an exact zero. */
static int log_decide(const QFmt *f, float xf, int *e) {
  int64_t lo, hi;
  exp_range(f, &lo, &hi);
  float c = log_c(lo);
  float s = xf + c;
  *e = exp_of(fabsf(xf) + c, EXP_ROUND, lo, hi);
  return s > 0 ? 1 : s < 0 ? -1 : 0;
}

static double log_f64(const QFmt *f, double x) {
  if (isnan(x) || x == 0) return x;
  int e, s = log_decide(f, (float)x, &e);
  return s * ldexp(1.0, e);
}

static float log_f32(const QFmt *f, float x) {
  if (isnan(x) || x == 0) return x;
  int e, s = log_decide(f, x, &e);
  return (float)(s * ldexp(1.0, e)); /* 2^e rounds once: 0 below 2^-150, inf from 2^128 */
}

/* ---- block_fp: one element, given its block's exponent ---- */

static int bfp_exp(const QFmt *f, float vmax) {
  int64_t lo, hi;
  exp_range(f, &lo, &hi);
  return exp_of(vmax, EXP_CEIL, lo, hi);
}

static double bfp_f64(const QFmt *f, int e, double x) {
  if (isnan(x)) return x;
  double v = fabs(x);
  if (v <= (double)PASS_TOL) return x + 0.0;
  int M = mant_bits(f);
  double kmax = ldexp(1.0, M) - 1;
  double k = rint(ldexp((double)((float)v + NUDGE), M - e)); /* MASE's mantissa is of fl(|x| + 1e-9) */
  k = k < 0 ? 0 : k > kmax ? kmax : k;
  double q = ldexp(k, e - M);
  return x < 0 ? -q : q;
}

static float bfp_f32(const QFmt *f, int e, float x) {
  if (isnan(x)) return x;
  float v = fabsf(x);
  if (v <= PASS_TOL) return x + 0.0f;
  int M = mant_bits(f);
  float kmax = (float)(ldexp(1.0, M) - 1);
  float k = rintf(ldexpf(v + NUDGE, M - e));
  k = k < 0 ? 0 : k > kmax ? kmax : k;
  float q = (float)ldexp(k, e - M);
  return x < 0 ? -q : q;
}

/* ---- block_minifloat, block_log: a bias per block, then minifloat_ieee or log ---- */

/* The format a block with largest magnitude m (a float, NaN left out) is quantized with:
 *   block_minifloat: b = clamp(floor(L(m)), 0, 2^bw - 1), minifloat_ieee[w, E, b]
 *   block_log:       b = clamp(2^(w-1) - 1 - ceil(L(m)), 0, 2^bw - 1), log[w, b]
 * An infinite m counts as FLT_MAX (infinities saturate, as if they were the largest float).
 * m = 0: every element of the block is +-0, which both formats keep whatever the bias
 * (MASE's substitute of the smallest non-zero block max changes nothing), so b = 0. */
static QFmt block_bias_fmt(const QFmt *f, float m) {
  int64_t top = ((int64_t)1 << f->exp_bias_width) - 1, b;
  QFmt g = {.kind = f->kind == QK_BLOCK_LOG ? QK_LOG : QK_MINIFLOAT_IEEE, .width = f->width, .exp_width = f->exp_width,
            .is_signed = true};
  if (isinf(m)) m = FLT_MAX;
  if (m == 0) {
    b = 0;
  } else if (f->kind == QK_BLOCK_MINIFLOAT) {
    b = exp_of(m, EXP_FLOOR, 0, top);
  } else {
    b = pow2m1(f->width - 1) - exp_of(m, EXP_CEIL, -1000, 1000); /* 2^(w-1) - 1 - ceil(L(m)) */
    b = b < 0 ? 0 : b > top ? top : b;
  }
  g.exp_bias = (int)b;
  return g;
}

int ir_quant_block_bias(const QFmt *f, float m) {
  return block_bias_fmt(f, m).exp_bias;
}

/* A block: `rows` runs of `len` elements, the first at s, each `stride` after the last. */
typedef struct Blk {
  int64_t s, len, rows, stride;
} Blk;
#define BLK_FOR(b, i)                                                                     \
  for (int64_t r_ = 0; r_ < (b)->rows; r_++)                                               \
    for (int64_t i = (b)->s + r_ * (b)->stride; i < (b)->s + r_ * (b)->stride + (b)->len; i++)

static void bias_block_f32(const QFmt *f, const void *xv, void *yv, const Blk *b) {
  const float *x = xv;
  float *y = yv;
  float m = 0;
  BLK_FOR(b, i) {
    if (fabsf(x[i]) > m) m = fabsf(x[i]);
  }
  QFmt g = block_bias_fmt(f, m);
  BLK_FOR(b, i) y[i] = ir_quant_f32(&g, x[i]);
}

static void bias_block_f64(const QFmt *f, const void *xv, void *yv, const Blk *b) {
  const double *x = xv;
  double *y = yv;
  double m = 0;
  BLK_FOR(b, i) {
    if (fabs(x[i]) > m) m = fabs(x[i]);
  }
  QFmt g = block_bias_fmt(f, (float)m);
  BLK_FOR(b, i) y[i] = ir_quant_f64(&g, x[i]);
}

/* ---- binary ---- */

static double binary_f64(const QFmt *f, double x) {
  if (isnan(x)) return x;
  return x >= 0 ? 1.0 : f->bipolar ? -1.0 : 0.0;
}

/* ---- ternary: statistics over a whole tensor (double or float elements) ---- */

typedef struct Elems {
  const float *f;  /* the float elements, or NULL */
  const double *d; /* the double elements, when f is NULL */
  int64_t n;
} Elems;

static double el_abs(const Elems *x, int64_t i) {
  return fabs(x->f ? (double)x->f[i] : x->d[i]);
}

static uint64_t dbits(double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}

/* The k-th smallest of a[0..n) (0-based), by quickselect (a is reordered). */
static double select_kth(double *a, int64_t n, int64_t k) {
  int64_t lo = 0, hi = n - 1;
  while (lo < hi) {
    double p = a[lo + (hi - lo) / 2];
    int64_t i = lo, j = hi;
    while (i <= j) { /* Hoare partition: [lo, j] <= p <= [i, hi] */
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) {
        double t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

/* The lower median of |x| over the non-NaN elements (torch.median): the k = (cnt-1)/2-th
 * smallest, by quickselect on a copy; without memory, by bisection on the bit patterns of
 * non-negative doubles (which sort as the values do) for the smallest pattern with more than
 * k elements at or below it (64 passes over x).  Both find the same element. */
static double abs_median(const Elems *x, int64_t cnt) {
  int64_t k = (cnt - 1) / 2;
  double *a = ir_malloc(sizeof(double) * (size_t)cnt);
  if (a) {
    int64_t m = 0;
    for (int64_t i = 0; i < x->n; i++) {
      double v = el_abs(x, i);
      if (!isnan(v)) a[m++] = v;
    }
    double r = select_kth(a, m, k);
    ir_free(a);
    return r;
  }
  uint64_t lo = 0, hi = dbits(INFINITY);
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    int64_t at_or_below = 0;
    for (int64_t i = 0; i < x->n; i++) {
      double a = el_abs(x, i);
      if (!isnan(a) && dbits(a) <= mid) at_or_below++;
    }
    if (at_or_below > k)
      hi = mid;
    else
      lo = mid + 1;
  }
  double v;
  memcpy(&v, &lo, sizeof v);
  return v;
}

/* The threshold t and the magnitude a of a ternary over x. */
static void ternary_stats(const QFmt *f, const Elems *x, double *t, double *a) {
  int64_t cnt = 0;
  double sum = 0, max = 0;
  for (int64_t i = 0; i < x->n; i++) {
    double v = el_abs(x, i);
    if (isnan(v)) continue; /* NaN is left out of the statistics (and stays NaN) */
    cnt++;
    sum += v;
    if (v > max) max = v;
  }
  *t = 0;
  if (cnt > 0) {
    if (f->tstat == QT_MEDIAN)
      *t = 0.75 * abs_median(x, cnt);
    else if (f->tstat == QT_MAX)
      *t = 0.05 * max;
    else
      *t = 0.75 * (sum / (double)cnt);
  }
  *a = 1;
  if (f->scaling) {
    int64_t kept = 0;
    double ksum = 0;
    for (int64_t i = 0; i < x->n; i++) {
      double v = el_abs(x, i);
      if (v > *t) { /* false for NaN */
        kept++;
        ksum += v;
      }
    }
    *a = kept ? ksum / (double)kept : 0; /* nothing kept: every output is 0 anyway */
  }
}

static double ternary_one(double t, double a, double x) {
  if (isnan(x)) return x;
  return x > t ? a : x < -t ? -a : 0.0;
}

/* ---- one element ---- */

double ir_quant_f64(const QFmt *f, double x) {
  switch (f->kind) {
  case QK_INTEGER:
    return int_f64(f, x);
  case QK_MINIFLOAT_IEEE:
  case QK_MINIFLOAT_DENORM:
    return minifloat_f64(f, x);
  case QK_LOG:
    return log_f64(f, x);
  case QK_BLOCK_FP:
    return isnan(x) ? x : bfp_f64(f, bfp_exp(f, (float)fabs(x)), x);
  case QK_BINARY:
    return binary_f64(f, x);
  case QK_BLOCK_MINIFLOAT:
  case QK_BLOCK_LOG: {
    QFmt g = block_bias_fmt(f, isnan(x) ? 0.0f : (float)fabs(x));
    return ir_quant_f64(&g, x);
  }
  case QK_TERNARY: {
    double y;
    ir_quant_tensor_f64(f, &x, &y, 1, 1);
    return y;
  }
  default:
    return x; /* not a format: ir_qcfg_decode never makes one */
  }
}

float ir_quant_f32(const QFmt *f, float x) {
  switch (f->kind) {
  case QK_INTEGER:
    return int_f32(f, x);
  case QK_MINIFLOAT_IEEE:
  case QK_MINIFLOAT_DENORM:
    return minifloat_f32(f, x);
  case QK_LOG:
    return log_f32(f, x);
  case QK_BLOCK_FP:
    return isnan(x) ? x : bfp_f32(f, bfp_exp(f, fabsf(x)), x);
  case QK_BINARY:
    return (float)binary_f64(f, x);
  case QK_BLOCK_MINIFLOAT:
  case QK_BLOCK_LOG: {
    QFmt g = block_bias_fmt(f, isnan(x) ? 0.0f : fabsf(x));
    return ir_quant_f32(&g, x);
  }
  case QK_TERNARY: {
    float y;
    ir_quant_tensor(f, &x, &y, 1, 1);
    return y;
  }
  default:
    return x;
  }
}

/* ---- tensors ---- */

/* Calls fn(x, y, block) for each block of a block format: the n elements are rows of `row`
 * (the last dim; row <= 0: one row of n), blocks are block_rows x block_size (block_rows
 * <= 1: within one row), and a block at the end of a row or of the rows is cut short (MASE
 * pads it; the padding never changes a block's max).  A last row shorter than `row` has
 * blocks of its own. */
typedef void (*BlockFn)(const QFmt *, const void *, void *, const Blk *);
static void for_blocks(const QFmt *f, int64_t n, int64_t row, BlockFn fn, const void *x, void *y) {
  if (row <= 0 || row > n) row = n;
  int64_t bs = f->block_size > 0 && f->block_size < row ? f->block_size : row;
  int64_t br = f->block_rows > 1 ? f->block_rows : 1, full = n / row;
  for (int64_t r = 0; r < full; r += br) {
    int64_t nr = r + br < full ? br : full - r;
    for (int64_t c = 0; c < row; c += bs) {
      Blk b = {r * row + c, c + bs < row ? bs : row - c, nr, row};
      fn(f, x, y, &b);
    }
  }
  for (int64_t c = full * row; c < n; c += bs) {
    Blk b = {c, c + bs < n ? bs : n - c, 1, row};
    fn(f, x, y, &b);
  }
}

static void bfp_block_f32(const QFmt *f, const void *xv, void *yv, const Blk *b) {
  const float *x = xv;
  float *y = yv;
  float m = 0;
  BLK_FOR(b, i) {
    if (fabsf(x[i]) > m) m = fabsf(x[i]); /* NaN is left out */
  }
  int e = bfp_exp(f, m);
  BLK_FOR(b, i) y[i] = bfp_f32(f, e, x[i]);
}

static void bfp_block_f64(const QFmt *f, const void *xv, void *yv, const Blk *b) {
  const double *x = xv;
  double *y = yv;
  double m = 0;
  BLK_FOR(b, i) {
    if (fabs(x[i]) > m) m = fabs(x[i]);
  }
  int e = bfp_exp(f, (float)m);
  BLK_FOR(b, i) y[i] = bfp_f64(f, e, x[i]);
}

void ir_quant_tensor(const QFmt *f, const float *x, float *y, int64_t n, int64_t row) {
  if (f->kind == QK_BLOCK_FP) {
    for_blocks(f, n, row, bfp_block_f32, x, y);
  } else if (f->kind == QK_BLOCK_MINIFLOAT || f->kind == QK_BLOCK_LOG) {
    for_blocks(f, n, row, bias_block_f32, x, y);
  } else if (f->kind == QK_TERNARY) {
    Elems e = {x, NULL, n};
    double t, a;
    ternary_stats(f, &e, &t, &a); /* before any write: x == y is allowed */
    for (int64_t i = 0; i < n; i++) y[i] = (float)ternary_one(t, a, x[i]);
  } else {
    for (int64_t i = 0; i < n; i++) y[i] = ir_quant_f32(f, x[i]);
  }
}

void ir_quant_tensor_f64(const QFmt *f, const double *x, double *y, int64_t n, int64_t row) {
  if (f->kind == QK_BLOCK_FP) {
    for_blocks(f, n, row, bfp_block_f64, x, y);
  } else if (f->kind == QK_BLOCK_MINIFLOAT || f->kind == QK_BLOCK_LOG) {
    for_blocks(f, n, row, bias_block_f64, x, y);
  } else if (f->kind == QK_TERNARY) {
    Elems e = {NULL, x, n};
    double t, a;
    ternary_stats(f, &e, &t, &a);
    for (int64_t i = 0; i < n; i++) y[i] = ternary_one(t, a, x[i]);
  } else {
    for (int64_t i = 0; i < n; i++) y[i] = ir_quant_f64(f, x[i]);
  }
}
