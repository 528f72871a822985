/* codegen/cemit.c — an integer program (intprog.h) as one self-contained C99 translation unit,
 * bit-accurate with rt_int_run (runtime/intexec.c), and a driver main() for it (hdl.h).
 *
 * The unit is the C twin of the Verilog design (verilog.c): the same layers (IntProg.nodes),
 * the same codes, readable by someone who knows hls4ml.  Every value is an array of the
 * smallest intN_t its worst-case bounds (IpVal lo, hi) fit, with its ap_fixed<W,I,Q,O>
 * equivalent in a comment; every requantization calls a helper named after ap_fixed's modes
 * (AP_RND_CONV: half to even, AP_TRN: floor, AP_SAT: saturate), spelled exactly as
 * cg_int_rshift and intexec.c's lshift_clamp; weights are const arrays; an accumulator is
 * int32_t only when the bound of every partial sum (|bias| + sum |a| |w|, any order of
 * summation) fits, else int64_t.  Only the helpers the program uses are emitted, so the unit
 * compiles without warnings under -Wall -Wextra -pedantic.
 *
 * The one float->int step (IP_QUANT) is outside PREFIX_infer_codes, whose input is the codes:
 * a program whose input is quantized twice with different formats has no single code input
 * and is refused (twice with the same format, as two linears reading x, is one input). */
#include <math.h>
#include <string.h>

#include "hdl.h"

/* The rendering context. */
typedef struct CEmit {
  const IntProg *p;
  const char *pre;      /* the functions' prefix (a C identifier) */
  StrBuf *sb;           /* the unit */
  const IpStep *quant;  /* the IP_QUANT step: the input's format */
  unsigned helpers;     /* H_* bits: the helpers the program calls */
} CEmit;

enum {
  H_TRN = 1,        /* ap_trn_shr */
  H_RND_CONV = 2,   /* ap_rnd_conv_shr (calls ap_trn_shr) */
  H_SAT = 4,        /* ap_sat */
  H_SAT_SHL = 8,    /* ap_sat_shl */
  H_FLOAT_CONV = 16,/* ap_rnd_conv_from_float */
  H_FLOAT_TRN = 32, /* ap_trn_from_float */
};

#define I32_MAX 2147483647.0

static double mag(double lo, double hi) { return fmax(fabs(lo), fabs(hi)); }

/* The storage type of codes in [lo, hi]: the smallest exact-width type. */
static const char *store_type(double lo, double hi) {
  int b = cg_int_bits(lo, hi);
  return b <= 8 ? "int8_t" : b <= 16 ? "int16_t" : b <= 32 ? "int32_t" : "int64_t";
}

/* The arithmetic type of a computation whose every intermediate is at most m in magnitude. */
static const char *arith_type(double m) { return m <= I32_MAX ? "int32_t" : "int64_t"; }

/* A constant for an int64_t context. */
static void put_i64(StrBuf *sb, int64_t v) {
  sb_printf(sb, "INT64_C(%lld)", (long long)v);
}

/* A constant for an int32_t array (INT32_MIN has no literal of its own). */
static void put_i32(StrBuf *sb, int64_t v) {
  if (v == -2147483647 - 1) sb_puts(sb, "(-2147483647 - 1)");
  else sb_put_int(sb, v);
}

/* ap_fixed<W,I,...> of codes in [lo, hi] at 2^-frac: I = W - frac integer bits (the sign
 * included for ap_fixed, not for ap_ufixed); q: the quantization mode or NULL. */
static void put_ap(StrBuf *sb, double lo, double hi, int frac, const char *q) {
  int w = cg_int_bits(lo, hi);
  bool u = lo >= 0;
  if (u && w > 1) w--;
  sb_printf(sb, "ap_%sfixed<%d,%d", u ? "u" : "", w, w - frac);
  if (q) sb_printf(sb, ",%s,AP_SAT", q);
  sb_putc(sb, '>');
}

/* The comment of value v: its ap_fixed, point and bounds.  A quantization's result takes its
 * type from the format (the clamp), others from the bounds. */
static void put_val_comment(const CEmit *E, int v, const IpStep *s) {
  const IpVal *iv = &E->p->vals[v];
  sb_puts(E->sb, "/* ");
  if (s && (s->kind == IP_QUANT || s->kind == IP_REQUANT))
    put_ap(E->sb, (double)s->lo, (double)s->hi, iv->frac, s->floor ? "AP_TRN" : "AP_RND_CONV");
  else put_ap(E->sb, iv->lo, iv->hi, iv->frac, NULL);
  sb_printf(E->sb, ": codes in [%.0f, %.0f] at 2^-%d */", iv->lo, iv->hi, iv->frac);
}

/* A letter, _ or (not first) a digit, in ASCII whatever the locale. */
static bool ident_char(char c, bool first) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* The prefix names C functions and macros: a C identifier of a sensible length. */
static bool c_ident_ok(const char *s) {
  if (!s || !*s || strlen(s) > 64) return false;
  for (const char *c = s; *c; c++)
    if (!ident_char(*c, c == s)) return false;
  return true;
}

/* ---- checks and the helpers' table ---- */

/* The input format: every IP_QUANT step must quantize the same way (they all read x). */
static Status find_quant(CEmit *E, Diag *d) {
  const IntProg *p = E->p;
  for (int i = 0; i < p->nsteps; i++) {
    const IpStep *s = &p->steps[i], *q = E->quant;
    if (s->kind != IP_QUANT) continue;
    if (!q) E->quant = s;
    else if (s->sh != q->sh || s->lo != q->lo || s->hi != q->hi || s->floor != q->floor)
      return diag_error(d, (SrcLoc){0}, "C emission: model %s quantizes its input twice with different formats "
                        "(nodes '%s' and '%s'): the unit's code input has one", p->model,
                        s->node ? s->node->name : "?", q->node ? q->node->name : "?");
  }
  if (!E->quant) return diag_error(d, (SrcLoc){0}, "C emission: model %s has no input quantization", p->model);
  return JS_OK;
}

static void scan_helpers(CEmit *E) {
  E->helpers = E->quant->floor ? H_FLOAT_TRN : H_FLOAT_CONV;
  for (int i = 0; i < E->p->nsteps; i++) {
    const IpStep *s = &E->p->steps[i];
    if (s->kind != IP_REQUANT) continue;
    if (s->sh < 0) E->helpers |= H_SAT_SHL;
    else E->helpers |= H_SAT | (s->sh == 0 ? 0 : s->floor ? H_TRN : H_RND_CONV | H_TRN);
  }
}

static const struct {
  unsigned bit;
  const char *text;
} helper_text[] = {
    {H_TRN, "/* AP_TRN: floor(a / 2^sh), without >> of a negative number. */\n"
            "static int64_t ap_trn_shr(int64_t a, int sh) { return a >= 0 ? a >> sh : ~(~a >> sh); }\n\n"},
    {H_RND_CONV, "/* AP_RND_CONV: a / 2^sh rounded to nearest, ties to even, sh >= 1:\n"
                 " * floor((a + 2^(sh-1) - 1 + lsb(q)) / 2^sh) with q = floor(a / 2^sh). */\n"
                 "static int64_t ap_rnd_conv_shr(int64_t a, int sh) {\n"
                 "  int64_t q = ap_trn_shr(a, sh);\n"
                 "  return ap_trn_shr(a + ((INT64_C(1) << (sh - 1)) - 1) + (q & 1), sh);\n"
                 "}\n\n"},
    {H_SAT, "/* AP_SAT: the code saturated to the format's range. */\n"
            "static int64_t ap_sat(int64_t a, int64_t lo, int64_t hi) { return a < lo ? lo : a > hi ? hi : a; }\n\n"},
    {H_SAT_SHL, "/* AP_SAT of a * 2^k (a finer point), without forming a * 2^k when it leaves the range. */\n"
                "static int64_t ap_sat_shl(int64_t a, int k, int64_t lo, int64_t hi) {\n"
                "  int64_t m = INT64_C(1) << k;\n"
                "  int64_t hmax = hi >= 0 ? hi / m : -((-hi + m - 1) / m); /* floor(hi / 2^k) */\n"
                "  int64_t lmin = lo >= 0 ? (lo + m - 1) / m : -((-lo) / m); /* ceil(lo / 2^k) */\n"
                "  if (a > hmax) return hi;\n"
                "  if (a < lmin) return lo;\n"
                "  return a * m;\n"
                "}\n\n"},
    {H_FLOAT_CONV, "/* A float to ap_fixed<..,AP_RND_CONV,AP_SAT> codes: x * 2^frac (exact) rounded half to even\n"
                   " * (nearbyint in the default rounding mode), saturated; NaN gives 0. */\n"
                   "static int64_t ap_rnd_conv_from_float(double x, int frac, int64_t lo, int64_t hi) {\n"
                   "  double v;\n"
                   "  if (x != x) return 0;\n"
                   "  v = nearbyint(ldexp(x, frac));\n"
                   "  return v < (double)lo ? lo : v > (double)hi ? hi : (int64_t)v;\n"
                   "}\n\n"},
    {H_FLOAT_TRN, "/* A float to ap_fixed<..,AP_TRN,AP_SAT> codes: floor(x * 2^frac) (exact), saturated; NaN\n"
                  " * gives 0. */\n"
                  "static int64_t ap_trn_from_float(double x, int frac, int64_t lo, int64_t hi) {\n"
                  "  double v;\n"
                  "  if (x != x) return 0;\n"
                  "  v = floor(ldexp(x, frac));\n"
                  "  return v < (double)lo ? lo : v > (double)hi ? hi : (int64_t)v;\n"
                  "}\n\n"},
};

static void emit_helpers(const CEmit *E) {
  for (size_t i = 0; i < sizeof helper_text / sizeof *helper_text; i++)
    if (E->helpers & helper_text[i].bit) sb_puts(E->sb, helper_text[i].text);
}

/* ---- the header comment ---- */

static const char *op_name(const Node *n) {
  const OpInfo *oi = n ? ir_op_info(n->mop) : NULL;
  return oi ? oi->name : n ? n->target : "?";
}

static void emit_header(const CEmit *E) {
  const IntProg *p = E->p;
  const IpVal *in = &p->vals[E->quant->dst], *out = &p->vals[p->out];
  StrBuf *sb = E->sb;
  sb_printf(sb, "/* Model %s as integer-only C99, generated by jscc: bit-accurate with jscc's integer executor.\n *\n",
            p->model);
  sb_printf(sb, " * In:  %d features, codes at 2^-%d (value = code * 2^-%d), ", p->features, in->frac, in->frac);
  put_ap(sb, (double)E->quant->lo, (double)E->quant->hi, in->frac, E->quant->floor ? "AP_TRN" : "AP_RND_CONV");
  sb_printf(sb, "\n * Out: %d logits, codes at 2^-%d, ", p->classes, out->frac);
  put_ap(sb, out->lo, out->hi, out->frac, NULL);
  sb_printf(sb, "\n *\n * Call:\n"
                " *   float x[%d], y[%d];\n"
                " *   %s_infer(x, y);              the float row in, the logits (dequantized) out\n"
                " *   int64_t xc[%d], yc[%d], t[%lld];\n"
                " *   %s_infer_codes(xc, yc, t);   codes in (the quantized row) and out; t (or NULL):\n"
                " *     every layer's codes, at the offsets below\n"
                " * Build: cc -std=c99 -O2 -c this.c (link with -lm).\n *\n"
                " * Layers (trace offset, codes):\n",
            p->features, p->classes, E->pre, p->features, p->classes, (long long)(p->trace_width ? p->trace_width : 1),
            E->pre);
  for (int k = 0; k < p->nnodes; k++)
    sb_printf(sb, " *   %2d %-20s %-12s [%lld, +%d)\n", k, p->nodes[k].node->name, op_name(p->nodes[k].node),
              (long long)p->nodes[k].off, p->vals[p->nodes[k].val].n);
  sb_puts(sb, " */\n#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n\n");
}

/* ---- constants ---- */

static bool fits_i32(const int64_t *c, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (c[i] < -2147483647 - 1 || c[i] > 2147483647) return false;
  return true;
}

/* static const T name[rows][cols] (rows 0: one dimension), one row a line. */
static void emit_array(const CEmit *E, const char *name, int64_t off, int rows, int cols, const char *why) {
  const int64_t *c = E->p->consts + off;
  int64_t n = (int64_t)(rows ? rows : 1) * cols;
  bool i32 = fits_i32(c, n);
  StrBuf *sb = E->sb;
  sb_printf(sb, "/* %s */\nstatic const %s %s", why, i32 ? "int32_t" : "int64_t", name);
  if (rows) sb_printf(sb, "[%d]", rows);
  sb_printf(sb, "[%d] = {", cols);
  for (int r = 0; r < (rows ? rows : 1); r++) {
    sb_puts(sb, rows ? "\n    {" : "\n    ");
    size_t line = sb->len;
    for (int k = 0; k < cols; k++) {
      if (k && sb->len - line > 90) {
        sb_puts(sb, "\n     ");
        line = sb->len;
      }
      if (i32) put_i32(sb, c[(int64_t)r * cols + k]);
      else put_i64(sb, c[(int64_t)r * cols + k]);
      if (k + 1 < cols) sb_puts(sb, ", ");
    }
    sb_puts(sb, rows ? "}," : "");
  }
  sb_puts(sb, "\n};\n\n");
}

/* The constants of matvec and scale steps; a weight's point is the accumulator's less the
 * operand's (the weights were aligned to a finer bias). */
static void emit_consts(const CEmit *E) {
  char name[32], why[256];
  for (int i = 0; i < E->p->nsteps; i++) {
    const IpStep *s = &E->p->steps[i];
    const char *nn = s->node ? s->node->name : "?";
    int n = E->p->vals[s->dst].n, fy = E->p->vals[s->dst].frac, fw = fy - (s->a >= 0 ? E->p->vals[s->a].frac : 0);
    if (s->kind != IP_MATVEC && s->kind != IP_SCALE) continue;
    bool mv = s->kind == IP_MATVEC;
    snprintf(name, sizeof name, "%c%d", mv ? 'w' : 's', s->dst);
    snprintf(why, sizeof why, "%s: %s codes at 2^-%d", nn, mv ? "weight (W[out][in])" : "folded batch-norm scale", fw);
    emit_array(E, name, s->w, mv ? n : 0, mv ? s->nin : n, why);
    if (s->c < 0) continue;
    snprintf(name, sizeof name, "b%d", s->dst);
    snprintf(why, sizeof why, "%s: %s codes, aligned to the accumulator's 2^-%d", nn,
             mv ? "bias" : "folded batch-norm shift", fy);
    emit_array(E, name, s->c, 0, n, why);
  }
}

/* ---- the steps ---- */

/* The declaration of value v, the result of step s. */
static void declare(const CEmit *E, int v, const IpStep *s) {
  const IpVal *iv = &E->p->vals[v];
  sb_printf(E->sb, "  %s v%d[%d]; ", store_type(iv->lo, iv->hi), v, iv->n);
  put_val_comment(E, v, s);
  sb_putc(E->sb, '\n');
}

/* matvec: acc = B[o] + sum_k a[k] W[o][k].  Any partial sum is at most |B[o]| + sum_k |a| |W[o][k]|. */
static void emit_matvec(const CEmit *E, const IpStep *s) {
  const IntProg *p = E->p;
  const IpVal *a = &p->vals[s->a], *y = &p->vals[s->dst];
  double am = mag(a->lo, a->hi), m = 0;
  for (int o = 0; o < y->n; o++) {
    double r = s->c >= 0 ? fabs((double)p->consts[s->c + o]) : 0;
    for (int k = 0; k < s->nin; k++) r += am * fabs((double)p->consts[s->w + (int64_t)o * s->nin + k]);
    m = fmax(m, r);
  }
  const char *t = arith_type(m);
  declare(E, s->dst, s);
  sb_printf(E->sb, "  for (int o = 0; o < %d; o++) { /* %s accumulator: every partial sum within +-%.0f */\n", y->n,
            t, m);
  if (s->c >= 0) sb_printf(E->sb, "    %s acc = b%d[o];\n", t, s->dst);
  else sb_printf(E->sb, "    %s acc = 0;\n", t);
  sb_printf(E->sb, "    for (int k = 0; k < %d; k++) acc += (%s)v%d[k] * w%d[o][k];\n", s->nin, t, s->a, s->dst);
  sb_printf(E->sb, "    v%d[o] = (%s)acc;\n  }\n", s->dst, store_type(y->lo, y->hi));
}

/* scale: a[j] S[j] + T[j], at most |a| |S[j]| + |T[j]|. */
static void emit_scale(const CEmit *E, const IpStep *s) {
  const IntProg *p = E->p;
  const IpVal *a = &p->vals[s->a], *y = &p->vals[s->dst];
  double am = mag(a->lo, a->hi), m = 0;
  for (int j = 0; j < y->n; j++)
    m = fmax(m, am * fabs((double)p->consts[s->w + j]) + (s->c >= 0 ? fabs((double)p->consts[s->c + j]) : 0));
  const char *t = arith_type(m);
  declare(E, s->dst, s);
  sb_printf(E->sb, "  for (int j = 0; j < %d; j++) /* %s: within +-%.0f */\n", y->n, t, m);
  sb_printf(E->sb, "    v%d[j] = (%s)((%s)v%d[j] * s%d[j]", s->dst, store_type(y->lo, y->hi), t, s->a, s->dst);
  if (s->c >= 0) sb_printf(E->sb, " + b%d[j]", s->dst);
  sb_puts(E->sb, ");\n");
}

/* requant: the rounding right shift then AP_SAT, or the saturating left shift, or AP_SAT. */
static void emit_requant(const CEmit *E, const IpStep *s) {
  const IpVal *y = &E->p->vals[s->dst];
  int sh = s->sh > 62 ? 62 : s->sh; /* as cg_int_rshift: |a| < 2^61, so the result is 0 or -1 either way */
  declare(E, s->dst, s);
  sb_printf(E->sb, "  for (int j = 0; j < %d; j++)\n    v%d[j] = (%s)", y->n, s->dst, store_type(y->lo, y->hi));
  if (sh < 0) sb_printf(E->sb, "ap_sat_shl(v%d[j], %d, ", s->a, -sh);
  else if (sh == 0) sb_printf(E->sb, "ap_sat(v%d[j], ", s->a);
  else sb_printf(E->sb, "ap_sat(%s(v%d[j], %d), ", s->floor ? "ap_trn_shr" : "ap_rnd_conv_shr", s->a, sh);
  put_i64(E->sb, s->lo);
  sb_puts(E->sb, ", ");
  put_i64(E->sb, s->hi);
  sb_puts(E->sb, ");\n");
}

/* (t)vA[j] aligned by a left shift, written as a multiply (<< of a negative is undefined in C). */
static void put_term(StrBuf *sb, const char *t, int v, int sh) {
  sb_printf(sb, "(%s)v%d[j]", t, v);
  if (sh) sb_printf(sb, " * %lld", (long long)(INT64_C(1) << sh));
}

/* add, sub, mul: the type holds the aligned operands and the result. */
static void emit_binary(const CEmit *E, const IpStep *s) {
  const IntProg *p = E->p;
  const IpVal *a = &p->vals[s->a], *b = &p->vals[s->b], *y = &p->vals[s->dst];
  double m = mag(y->lo, y->hi);
  if (s->kind != IP_MUL) m = fmax(m, fmax(ldexp(mag(a->lo, a->hi), s->sa), ldexp(mag(b->lo, b->hi), s->sb)));
  const char *t = arith_type(m);
  declare(E, s->dst, s);
  sb_printf(E->sb, "  for (int j = 0; j < %d; j++) /* %s */\n    v%d[j] = (%s)(", y->n, t, s->dst,
            store_type(y->lo, y->hi));
  if (s->kind == IP_MUL) sb_printf(E->sb, "(%s)v%d[j] * v%d[j]);\n", t, s->a, s->b);
  else {
    put_term(E->sb, t, s->a, s->sa);
    sb_puts(E->sb, s->kind == IP_ADD ? " + " : " - ");
    put_term(E->sb, t, s->b, s->sb);
    sb_puts(E->sb, ");\n");
  }
}

static void emit_step(const CEmit *E, const IpStep *s) {
  const IpVal *y = &E->p->vals[s->dst];
  switch (s->kind) {
  case IP_QUANT: break; /* the input: declared first */
  case IP_MATVEC: emit_matvec(E, s); break;
  case IP_SCALE: emit_scale(E, s); break;
  case IP_REQUANT: emit_requant(E, s); break;
  case IP_RELU:
    declare(E, s->dst, s);
    sb_printf(E->sb, "  for (int j = 0; j < %d; j++) v%d[j] = v%d[j] > 0 ? v%d[j] : 0;\n", y->n, s->dst, s->a, s->a);
    break;
  case IP_ADD:
  case IP_SUB:
  case IP_MUL: emit_binary(E, s); break;
  }
}

/* The step that computes value v, or -1. */
static int def_step(const IntProg *p, int v) {
  for (int i = 0; i < p->nsteps; i++)
    if (p->steps[i].dst == v) return i;
  return -1;
}

/* Layer k: the steps after those already emitted up to the one computing its value, then its
 * trace. */
static int emit_layer(const CEmit *E, int k, int done) {
  const IntProg *p = E->p;
  const IpNode *nd = &p->nodes[k];
  int last = def_step(p, nd->val), n = p->vals[nd->val].n;
  sb_printf(E->sb, "\n  /* layer %d: %s (%s) */\n", k, nd->node->name, op_name(nd->node));
  for (; done < last; done++) emit_step(E, &p->steps[done + 1]);
  sb_printf(E->sb, "  if (trace)\n    for (int j = 0; j < %d; j++) trace[%lld + j] = v%d[j];\n", n, (long long)nd->off,
            nd->val);
  return done;
}

static void emit_infer_codes(const CEmit *E) {
  const IntProg *p = E->p;
  sb_printf(E->sb, "/* Codes in (x: the quantized row), logit codes out (y); trace: NULL, or %lld codes. */\n"
                   "void %s_infer_codes(const int64_t x[%d], int64_t y[%d], int64_t *trace) {\n",
            (long long)p->trace_width, E->pre, p->features, p->classes);
  int done = -1;
  for (int i = 0; i < p->nsteps; i++) /* the input first, whichever layer reads it */
    if (p->steps[i].kind == IP_QUANT) {
      sb_printf(E->sb, "  const int64_t *v%d = x; ", p->steps[i].dst);
      put_val_comment(E, p->steps[i].dst, &p->steps[i]);
      sb_putc(E->sb, '\n');
    }
  for (int k = 0; k < p->nnodes; k++) done = emit_layer(E, k, done);
  for (; done + 1 < p->nsteps; done++) emit_step(E, &p->steps[done + 1]); /* none: a dead step */
  sb_printf(E->sb, "\n  for (int j = 0; j < %d; j++) y[j] = v%d[j];\n}\n\n", p->classes, p->out);
}

static void emit_infer(const CEmit *E) {
  const IntProg *p = E->p;
  const IpStep *q = E->quant;
  sb_printf(E->sb, "/* The float row quantized as the model's first node does, the logits dequantized. */\n"
                   "void %s_infer(const float x[%d], float y[%d]) {\n  int64_t xc[%d], yc[%d];\n",
            E->pre, p->features, p->classes, p->features, p->classes);
  sb_printf(E->sb, "  for (int j = 0; j < %d; j++) xc[j] = %s((double)x[j], %d, ", p->features,
            q->floor ? "ap_trn_from_float" : "ap_rnd_conv_from_float", q->sh);
  put_i64(E->sb, q->lo);
  sb_puts(E->sb, ", ");
  put_i64(E->sb, q->hi);
  sb_printf(E->sb, ");\n  %s_infer_codes(xc, yc, NULL);\n", E->pre);
  sb_printf(E->sb, "  for (int j = 0; j < %d; j++) y[j] = (float)ldexp((double)yc[j], %d);\n}\n", p->classes,
            -p->vals[p->out].frac);
}

Status cg_c_render(const IntProg *p, const char *prefix, StrBuf *sb, Diag *d) {
  CEmit E = {.p = p, .pre = prefix, .sb = sb};
  if (!c_ident_ok(prefix))
    return diag_error(d, (SrcLoc){0}, "C emission: the prefix '%s' is not a C identifier (letters, digits and _, "
                      "not starting with a digit, at most 64)", prefix ? prefix : "(null)");
  Status st = find_quant(&E, d);
  if (st) return st;
  scan_helpers(&E);
  emit_header(&E);
  emit_helpers(&E);
  emit_consts(&E);
  emit_infer_codes(&E);
  emit_infer(&E);
  return sb->oom ? diag_oom(d) : JS_OK;
}

/* ---- the driver ---- */

/* The driver's fixed part: reading lines of codes, writing the trace text. */
static const char driver_body[] =
    "/* One line of f into *buf (grown as needed), without its newline: 1, 0 at the end of the\n"
    " * file, -1 out of memory. */\n"
    "static int read_line(FILE *f, char **buf, size_t *cap) {\n"
    "  size_t len = 0;\n"
    "  int c;\n"
    "  while ((c = getc(f)) != EOF && c != '\\n') {\n"
    "    if (len + 2 > *cap) {\n"
    "      char *q = realloc(*buf, *cap * 2);\n"
    "      if (!q) return -1;\n"
    "      *buf = q;\n"
    "      *cap *= 2;\n"
    "    }\n"
    "    (*buf)[len++] = (char)c;\n"
    "  }\n"
    "  (*buf)[len] = 0;\n"
    "  return c == EOF && len == 0 ? 0 : 1;\n"
    "}\n\n"
    "static int is_space(char c) { return c == ' ' || c == '\\t' || c == '\\r'; }\n\n"
    "/* The IN codes of line `line` into x: 0, or 1 with a message. */\n"
    "static int parse_codes(const char *path, long line, const char *s, int64_t x[IN]) {\n"
    "  for (int j = 0; j <= IN; j++) {\n"
    "    char *end;\n"
    "    long long v;\n"
    "    while (is_space(*s)) s++;\n"
    "    if (j == IN) {\n"
    "      if (!*s) return 0;\n"
    "      fprintf(stderr, \"%s:%ld: more than %d input codes\\n\", path, line, IN);\n"
    "      return 1;\n"
    "    }\n"
    "    if (!*s) {\n"
    "      fprintf(stderr, \"%s:%ld: %d input codes, expected %d\\n\", path, line, j, IN);\n"
    "      return 1;\n"
    "    }\n"
    "    errno = 0;\n"
    "    v = strtoll(s, &end, 10);\n"
    "    if (end == s || (*end && !is_space(*end))) {\n"
    "      fprintf(stderr, \"%s:%ld: code %d: '%.*s' is not a decimal integer\\n\", path, line, j + 1,\n"
    "              (int)strcspn(s, \" \\t\\r\"), s);\n"
    "      return 1;\n"
    "    }\n"
    "    if (errno == ERANGE || v < IN_LO || v > IN_HI) {\n"
    "      fprintf(stderr, \"%s:%ld: code %d: %.*s is outside the input's range [%lld, %lld]\\n\", path, line, j + 1,\n"
    "              (int)(end - s), s, (long long)IN_LO, (long long)IN_HI);\n"
    "      return 1;\n"
    "    }\n"
    "    x[j] = (int64_t)v;\n"
    "    s = end;\n"
    "  }\n"
    "  return 0;\n"
    "}\n\n"
    "/* Sample s's `o` line, and its `t` lines when traced. */\n"
    "static void write_sample(FILE *out, long long s, const int64_t y[OUT], const int64_t *trace) {\n"
    "  fprintf(out, \"o %lld\", s);\n"
    "  for (int j = 0; j < OUT; j++) fprintf(out, \" %lld\", (long long)y[j]);\n"
    "  fputc('\\n', out);\n"
    "  for (int k = 0; trace && k < NLAYERS; k++) {\n"
    "    fprintf(out, \"t %d %lld\", k, s);\n"
    "    for (int j = 0; j < layer_n[k]; j++) fprintf(out, \" %lld\", (long long)trace[layer_off[k] + j]);\n"
    "    fputc('\\n', out);\n"
    "  }\n"
    "}\n\n"
    "/* Every sample of in to out; want: the traced sample or -1.  0, or 1 with a message. */\n"
    "static int run(FILE *in, const char *path, FILE *out, long long want) {\n"
    "  size_t cap = 256;\n"
    "  char *buf = malloc(cap);\n"
    "  int64_t x[IN], y[OUT], trace[TRACE];\n"
    "  long long s = 0;\n"
    "  long line = 0;\n"
    "  int r = buf ? 1 : -1, bad = 0;\n"
    "  while (!bad && r == 1 && (r = read_line(in, &buf, &cap)) == 1) {\n"
    "    const char *p = buf;\n"
    "    line++;\n"
    "    while (is_space(*p)) p++;\n"
    "    if (!*p) continue; /* a blank line is no sample */\n"
    "    if (!(bad = parse_codes(path, line, p, x))) {\n"
    "      %s_infer_codes(x, y, s == want ? trace : NULL);\n"
    "      write_sample(out, s, y, s == want ? trace : NULL);\n"
    "      s++;\n"
    "    }\n"
    "  }\n"
    "  free(buf);\n"
    "  if (r < 0) fprintf(stderr, \"%s: out of memory\\n\", path);\n"
    "  else if (!bad && ferror(in)) fprintf(stderr, \"%s: read error\\n\", path);\n"
    "  else if (!bad && want >= s) fprintf(stderr, \"%s: no sample %lld to trace: %lld samples\\n\", path, want, s);\n"
    "  else return bad;\n"
    "  return 1;\n"
    "}\n\n"
    "int main(int argc, char **argv) {\n"
    "  long long want = -1;\n"
    "  char *end = NULL;\n"
    "  FILE *in, *out;\n"
    "  int bad;\n"
    "  if (argc != 3 && argc != 4) {\n"
    "    fprintf(stderr, \"usage: %s inputs.txt trace.txt [SAMPLE]\\n\", argv[0]);\n"
    "    return 2;\n"
    "  }\n"
    "  if (argc == 4 && ((want = strtoll(argv[3], &end, 10)) < 0 || end == argv[3] || *end)) {\n"
    "    fprintf(stderr, \"%s: SAMPLE '%s' is not a sample number\\n\", argv[0], argv[3]);\n"
    "    return 2;\n"
    "  }\n"
    "  if (!(in = fopen(argv[1], \"r\"))) {\n"
    "    fprintf(stderr, \"%s: cannot read %s: %s\\n\", argv[0], argv[1], strerror(errno));\n"
    "    return 1;\n"
    "  }\n"
    "  if (!(out = fopen(argv[2], \"w\"))) {\n"
    "    fprintf(stderr, \"%s: cannot write %s: %s\\n\", argv[0], argv[2], strerror(errno));\n"
    "    fclose(in);\n"
    "    return 1;\n"
    "  }\n"
    "  bad = run(in, argv[1], out, want);\n"
    "  fclose(in);\n"
    "  if (ferror(out) | fclose(out)) {\n"
    "    fprintf(stderr, \"%s: cannot write %s\\n\", argv[0], argv[2]);\n"
    "    bad = 1;\n"
    "  }\n"
    "  return bad;\n"
    "}\n";

static void put_int_list(StrBuf *sb, const char *decl, const IntProg *p, bool off) {
  sb_printf(sb, "static const int %s[NLAYERS] = {", decl);
  for (int k = 0; k < p->nnodes; k++) {
    if (k) sb_puts(sb, ", ");
    if (k && k % 16 == 0) sb_puts(sb, "\n   ");
    sb_put_int(sb, off ? p->nodes[k].off : p->vals[p->nodes[k].val].n);
  }
  sb_puts(sb, "};\n");
}

void cg_c_driver(StrBuf *sb, const IntProg *p, const char *prefix) {
  const IpStep *q = NULL;
  for (int i = 0; i < p->nsteps && !q; i++)
    if (p->steps[i].kind == IP_QUANT) q = &p->steps[i];
  sb_printf(sb, "/* The driver of %s_infer_codes (model %s), generated by jscc:\n"
                " *   prog inputs.txt trace.txt [SAMPLE]\n"
                " * inputs.txt: one sample per line, %d decimal input codes (blank lines are skipped);\n"
                " * trace.txt: `o SAMPLE y0 .. y%d` for every sample and, given SAMPLE, `t LAYER SAMPLE v..`\n"
                " * for every layer of that sample.  A malformed line stops it with a message and exit 1. */\n"
                "#include <errno.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n"
                "#include <string.h>\n\n",
            prefix, p->model, p->features, p->classes - 1);
  sb_printf(sb, "void %s_infer_codes(const int64_t x[%d], int64_t y[%d], int64_t *trace);\n\n", prefix, p->features,
            p->classes);
  sb_printf(sb, "#define IN %d\n#define OUT %d\n#define TRACE %lld\n#define NLAYERS %d\n", p->features, p->classes,
            (long long)(p->trace_width ? p->trace_width : 1), p->nnodes > 0 ? p->nnodes : 1);
  sb_printf(sb, "#define IN_LO INT64_C(%lld)\n#define IN_HI INT64_C(%lld)\n", (long long)(q ? q->lo : INT64_MIN + 1),
            (long long)(q ? q->hi : INT64_MAX));
  put_int_list(sb, "layer_off", p, true);
  put_int_list(sb, "layer_n", p, false);
  sb_putc(sb, '\n');
  /* the body names the prefix once (a %s); every other % in it is the generated code's own */
  const char *at = strstr(driver_body, "%s_infer_codes(x, y,");
  sb_putn(sb, driver_body, (size_t)(at - driver_body));
  sb_puts(sb, prefix);
  sb_puts(sb, at + 2);
}
