/* test_quant.c — the quantizers (ir/quant.c) against MASE's in PyTorch 1.13: replays
 * test/data/quant/quant_ref.txt (written by scripts/quant_reference.py: MASE's quantizers in
 * float32 torch with jscc's documented differences applied, over ties, both ends of every
 * range, signed zeros, NaN, infinities, tiny and denormal inputs) and requires every output
 * bit for bit from ir_quant_f32, ir_quant_f64, ir_quant_tensor and ir_quant_tensor_f64,
 * printing the first few mismatches of a case.  Also: ir_quant_f32 == ir_quant_f64 on
 * millions of deterministic random floats, edge values worked out by hand, names and text
 * forms. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ir.h"

#define REF "test/data/quant/quant_ref.txt"
#define MAXN 2048 /* values in one record */

static uint32_t fbits(float v) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}
static float bitsf(uint32_t u) {
  float v;
  memcpy(&v, &u, sizeof v);
  return v;
}
static uint64_t dbits(double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}
static double bitsd(uint64_t u) {
  double v;
  memcpy(&v, &u, sizeof v);
  return v;
}

/* Equal bit for bit (so -0.0 is not 0.0), any NaN matching any NaN. */
static bool same_f(float got, float want) {
  return isnan(want) ? isnan(got) : fbits(got) == fbits(want);
}
static bool same_d(double got, double want) {
  return isnan(want) ? isnan(got) : dbits(got) == dbits(want);
}

static QFmt fixed(int w, int f) {
  return (QFmt){.kind = QK_INTEGER, .width = w, .frac_width = f, .is_signed = true};
}
static QFmt minifloat(QKind k, int w, int e, int b) {
  return (QFmt){.kind = k, .width = w, .exp_width = e, .exp_bias = b};
}

/* ---- the reference file ---- */

typedef struct Case {
  char name[64];
  QFmt fmt;
  int64_t row;
  int n, n64;
  float x[MAXN], y[MAXN];
  double x64[MAXN], y64[MAXN];
} Case;

static int hex_values(const char *p, uint64_t *out, int cap) {
  int n = 0;
  for (;;) {
    char *end;
    unsigned long long v = strtoull(p, &end, 16);
    if (end == p) break;
    assert_true(n < cap);
    out[n++] = v;
    p = end;
  }
  return n;
}

static int key_int(const char *line, const char *key) {
  const char *p = strstr(line, key);
  assert_non_null(p);
  return atoi(p + strlen(key));
}

/* The `case` line: "case NAME KIND w=.. f=.. e=.. b=.. bs=.. signed=.. floor=.. bipolar=..
 * scaled=.. stat=.. row=..". */
static void parse_case_line(const char *line, Case *c) {
  char kind[32], stat[16];
  assert_int_equal(sscanf(line, "case %63s %31s", c->name, kind), 2);
  memset(&c->fmt, 0, sizeof c->fmt);
  assert_true(ir_qkind_parse(kind, &c->fmt.kind));
  c->fmt.width = key_int(line, " w=");
  c->fmt.frac_width = key_int(line, " f=");
  c->fmt.exp_width = key_int(line, " e=");
  c->fmt.exp_bias = key_int(line, " b=");
  c->fmt.block_size = key_int(line, " bs=");
  c->fmt.exp_bias_width = strstr(line, " bw=") ? key_int(line, " bw=") : 0;
  c->fmt.is_signed = key_int(line, " signed=");
  c->fmt.floor = key_int(line, " floor=");
  c->fmt.bipolar = key_int(line, " bipolar=");
  c->fmt.scaling = key_int(line, " scaled=");
  const char *s = strstr(line, " stat=");
  assert_non_null(s);
  assert_int_equal(sscanf(s, " stat=%15s", stat), 1);
  c->fmt.tstat = strcmp(stat, "median") == 0 ? QT_MEDIAN : strcmp(stat, "max") == 0 ? QT_MAX : QT_MEAN;
  c->row = key_int(line, " row=");
  c->n = c->n64 = 0;
}

/* Reports one mismatch (the first few of a case) and counts it. */
static void mismatch(const Case *c, const char *what, int i, double x, double got, double want,
                     int *bad) {
  if (++*bad <= 6)
    fprintf(stderr, "  %s %s[%d]: x=%a (%.9g) got %a (%.9g) want %a (%.9g)\n", c->name, what, i,
            x, x, got, got, want, want);
}

/* Every function on one case; returns the mismatches. */
static int check_case(const Case *c) {
  int bad = 0, n = c->n;
  static float yt[MAXN], xt[MAXN];
  static double xd[MAXN], yd[MAXN];
  const QFmt *f = &c->fmt;
  /* the tensor functions: rows for block_fp, the whole tensor otherwise */
  int64_t row = f->kind == QK_BLOCK_FP || f->kind == QK_BLOCK_MINIFLOAT || f->kind == QK_BLOCK_LOG ? c->row : n;
  ir_quant_tensor(f, c->x, yt, n, row);
  for (int i = 0; i < n; i++)
    if (!same_f(yt[i], c->y[i])) mismatch(c, "tensor", i, c->x[i], yt[i], c->y[i], &bad);
  for (int i = 0; i < n; i++) xd[i] = c->x[i];
  ir_quant_tensor_f64(f, xd, yd, n, row);
  for (int i = 0; i < n; i++)
    if (!same_f((float)yd[i], c->y[i])) mismatch(c, "tensor_f64", i, c->x[i], yd[i], c->y[i], &bad);
  /* in place */
  memcpy(xt, c->x, sizeof(float) * (size_t)n);
  ir_quant_tensor(f, xt, xt, n, row);
  for (int i = 0; i < n; i++)
    if (!same_f(xt[i], c->y[i])) mismatch(c, "in_place", i, c->x[i], xt[i], c->y[i], &bad);
  if (ir_qfmt_elementwise(f))
    for (int i = 0; i < n; i++) {
      float g32 = ir_quant_f32(f, c->x[i]);
      double g64 = ir_quant_f64(f, c->x[i]);
      if (!same_f(g32, c->y[i])) mismatch(c, "f32", i, c->x[i], g32, c->y[i], &bad);
      if (!same_f((float)g64, c->y[i])) mismatch(c, "f64", i, c->x[i], g64, c->y[i], &bad);
    }
  /* doubles that are not floats (integer formats of 24 bits and more) */
  for (int i = 0; i < c->n64; i++) {
    double g = ir_quant_f64(f, c->x64[i]);
    if (!same_d(g, c->y64[i])) mismatch(c, "f64_double", i, c->x64[i], g, c->y64[i], &bad);
    if (f->kind == QK_INTEGER && !isnan(c->y64[i])) {
      /* the code is the expected value times 2^f, an integer */
      int64_t want = (int64_t)ldexp(c->y64[i], f->frac_width), got = ir_quant_code(f, c->x64[i]);
      if (got != want) mismatch(c, "code", i, c->x64[i], (double)got, (double)want, &bad);
    }
  }
  return bad;
}

static void test_reference(void **state) {
  (void)state;
  FILE *fp = fopen(REF, "r");
  if (!fp) fail_msg("cannot open %s (run from the source root)", REF);
  static Case c;
  static uint64_t v[MAXN];
  char *line = NULL;
  size_t cap = 0;
  int cases = 0, values = 0, bad = 0, bad_cases = 0;
  bool open = false;
  int seen[QK_COUNT] = {0};
  while (getline(&line, &cap, fp) >= 0) {
    if (line[0] == '#' || line[0] == '\n') continue;
    if (strncmp(line, "case ", 5) == 0) {
      if (open) {
        int b = check_case(&c);
        bad += b;
        bad_cases += b > 0;
      }
      parse_case_line(line, &c);
      seen[c.fmt.kind]++;
      cases++;
      open = true;
    } else if (strncmp(line, "x64 ", 4) == 0) {
      c.n64 = hex_values(line + 4, v, MAXN);
      for (int i = 0; i < c.n64; i++) c.x64[i] = bitsd(v[i]);
    } else if (strncmp(line, "y64 ", 4) == 0) {
      assert_int_equal(hex_values(line + 4, v, MAXN), c.n64);
      for (int i = 0; i < c.n64; i++) c.y64[i] = bitsd(v[i]);
      values += c.n64;
    } else if (strncmp(line, "x ", 2) == 0) {
      c.n = hex_values(line + 2, v, MAXN);
      for (int i = 0; i < c.n; i++) c.x[i] = bitsf((uint32_t)v[i]);
    } else if (strncmp(line, "y ", 2) == 0) {
      assert_int_equal(hex_values(line + 2, v, MAXN), c.n);
      for (int i = 0; i < c.n; i++) c.y[i] = bitsf((uint32_t)v[i]);
      values += c.n;
    } else {
      fail_msg("%s: unexpected line '%.40s'", REF, line);
    }
  }
  if (open) {
    int b = check_case(&c);
    bad += b;
    bad_cases += b > 0;
  }
  free(line);
  fclose(fp);
  printf("quant reference: %d cases, %d values, %d mismatches in %d cases\n", cases, values, bad,
         bad_cases);
  for (int k = 0; k < QK_COUNT; k++)
    if (!seen[k]) fail_msg("no reference case for %s", ir_qkind_name((QKind)k));
  assert_true(cases >= 80);
  assert_int_equal(bad, 0);
}

/* ---- worked out by hand ---- */

static void test_integer_edges(void **state) {
  (void)state;
  QFmt q = fixed(8, 0);
  assert_true(ir_quant_f64(&q, 2.5) == 2.0); /* half to even */
  assert_true(ir_quant_f64(&q, 3.5) == 4.0);
  assert_true(ir_quant_f64(&q, -2.5) == -2.0);
  assert_true(ir_quant_f32(&q, 0.5f) == 0.0f);
  double z = ir_quant_f64(&q, -0.3); /* torch.round(-0.3) = -0. */
  assert_true(z == 0 && signbit(z));
  assert_true(signbit(ir_quant_f32(&q, -0.0f)));
  assert_true(ir_quant_f64(&q, 127.4) == 127 && ir_quant_f64(&q, 127.5) == 127);
  assert_true(ir_quant_f64(&q, -128.5) == -128 && ir_quant_f64(&q, -1e30) == -128);
  assert_true(ir_quant_f64(&q, INFINITY) == 127 && ir_quant_f64(&q, -INFINITY) == -128);
  assert_true(isnan(ir_quant_f64(&q, NAN)) && isnan(ir_quant_f32(&q, NAN)));
  assert_int_equal(ir_quant_code(&q, NAN), 0);
  assert_int_equal(ir_quant_code(&q, 300), 127);
  assert_int_equal(ir_quant_code(&q, -2.5), -2);

  q = fixed(8, 4); /* steps of 1/16, range [-8, 127/16] */
  assert_true(ir_quant_f64(&q, 0.03125) == 0.0);     /* 0.5 step: to even 0 */
  assert_true(ir_quant_f64(&q, 0.09375) == 0.125);   /* 1.5 steps: to even 2 */
  assert_true(ir_quant_f64(&q, 100) == 127.0 / 16);
  assert_int_equal(ir_quant_code(&q, 1.0), 16);
  q.floor = true;
  assert_true(ir_quant_f64(&q, -0.01) == -0.0625);
  assert_true(ir_quant_f64(&q, 0.124) == 0.0625);
  assert_int_equal(ir_quant_code(&q, -0.01), -1);
  q.floor = false;
  q.is_signed = false; /* [0, 255/16] */
  z = ir_quant_f64(&q, -0.01);
  assert_true(z == 0 && signbit(z)); /* rounds to -0.0, which the clamp to 0 keeps (as torch) */
  assert_true(ir_quant_f64(&q, -5) == 0 && !signbit(ir_quant_f64(&q, -5)));
  assert_true(ir_quant_f64(&q, 100) == 255.0 / 16);

  /* 32 bits: exact in double; in float the bound 2^31 - 1 rounds to 2^31 */
  q = fixed(32, 0);
  assert_true(ir_quant_f64(&q, 3e9) == 2147483647.0);
  assert_true(ir_quant_f64(&q, -3e9) == -2147483648.0);
  assert_true(ir_quant_f64(&q, 2147483646.5) == 2147483646.0);
  assert_true(ir_quant_f32(&q, 3e9f) == 2147483648.0f);
  assert_int_equal(ir_quant_code(&q, 1e300), INT64_C(2147483647));
  assert_int_equal(ir_quant_code(&q, -1e300), -INT64_C(2147483648));
  q.is_signed = false;
  assert_int_equal(ir_quant_code(&q, 5e9), INT64_C(4294967295));
  assert_int_equal(ir_quant_code(&q, -5e9), 0);
  q = fixed(32, 32); /* [-1/2, 1/2 - 2^-32] */
  assert_true(ir_quant_f64(&q, 0.7) == 0.5 - ldexp(1, -32));
  assert_true(ir_quant_f64(&q, -0.7) == -0.5);
  assert_true(ir_quant_f64(&q, ldexp(3, -34)) == ldexp(1, -32)); /* 0.75 step rounds to 1 */
  q = fixed(1, 0); /* {-1, 0} */
  assert_true(ir_quant_f64(&q, 0.7) == 0 && ir_quant_f64(&q, -0.7) == -1);
  q = fixed(1, 1); /* {-0.5, 0} */
  assert_true(ir_quant_f64(&q, -0.3) == -0.5 && ir_quant_f64(&q, 0.3) == 0);
  /* the code of a non-integer format is 0 */
  QFmt m = minifloat(QK_MINIFLOAT_IEEE, 8, 4, 7);
  assert_int_equal(ir_quant_code(&m, 1.0), 0);
}

static void test_float_edges(void **state) {
  (void)state;
  /* denorm[8,4,7]: M = 3, exponents [-7, 8], mantissa k/8 with k <= 7 and no implicit 1 */
  QFmt d = minifloat(QK_MINIFLOAT_DENORM, 8, 4, 7);
  assert_true(ir_quant_f64(&d, 0.75) == 0.75);   /* e = 0, k = 6 */
  assert_true(ir_quant_f64(&d, 1.0) == 0.875);   /* ceil(log2 1) = 0: k = 8 saturates to 7 */
  assert_true(ir_quant_f64(&d, 1.3) == 1.25);    /* e = 1, k = rne(5.2) = 5 */
  assert_true(ir_quant_f64(&d, 1e9) == 224.0);   /* 2^8 * 7/8, the largest */
  assert_true(ir_quant_f64(&d, INFINITY) == 224.0 && ir_quant_f64(&d, -INFINITY) == -224.0);
  assert_true(ir_quant_f32(&d, INFINITY) == 224.0f);
  /* 2^-7: fl(2^-7 + 1e-9) is 2^-7 plus one ulp, whose float log2 is exactly -7, so the
   * exponent is -7 and the mantissa saturates (see quant.c) */
  assert_true(ir_quant_f32(&d, 0x1p-7f) == 0x1p-7f * 0.875f);
  /* |x| <= fl(1e-8) passes through; -0.0 comes out +0.0 as in MASE */
  assert_true(ir_quant_f64(&d, 5e-9) == 5e-9 && ir_quant_f32(&d, -1e-8f) == -1e-8f);
  assert_true(!signbit(ir_quant_f64(&d, -0.0)) && !signbit(ir_quant_f32(&d, -0.0f)));
  /* a negative value under the smallest step rounds to -0.0 */
  double z = ir_quant_f64(&d, -1e-4); /* 2^-7 / 8 ~ 9.8e-4 is the step at e = -7 */
  assert_true(z == 0 && signbit(z));

  /* ieee[8,4,7]: normal 2^e (1 + k/8) for e in (-7, 8], subnormal 2^-7 * 2k/8 */
  QFmt e = minifloat(QK_MINIFLOAT_IEEE, 8, 4, 7);
  assert_true(ir_quant_f64(&e, 1.0) == 1.0 && ir_quant_f64(&e, 1.0625) == 1.0); /* tie: k even */
  assert_true(ir_quant_f64(&e, 1.1875) == 1.25);  /* k = rne(1.5) = 2 */
  assert_true(ir_quant_f64(&e, 1e9) == 480.0);    /* 2^8 * 15/8 */
  assert_true(ir_quant_f64(&e, 0x1p-7 * 0.25) == 0x1p-7 * 0.25); /* subnormal k = 1 */
  assert_true(isnan(ir_quant_f64(&e, NAN)) && isnan(ir_quant_f32(&e, NAN)));
  /* E = 8 with bias 127: 2^128 exists in the format; MASE's float `2 ** 128` is inf (NaN
   * out); jscc: the double result is 2^128 and its float rounding inf */
  QFmt big = minifloat(QK_MINIFLOAT_IEEE, 16, 8, 127);
  assert_true(ir_quant_f64(&big, FLT_MAX) == 0x1p128);
  assert_true(isinf(ir_quant_f32(&big, FLT_MAX)));
  assert_true(ir_quant_f64(&big, 1.5) == 1.5);

  /* log[4,3]: exponents [-3, 4], c = 0.1 * 2^-3 */
  QFmt l = {.kind = QK_LOG, .width = 4, .exp_bias = 3};
  assert_true(ir_quant_f64(&l, 3.0) == 4.0);          /* log2 3 = 1.58 rounds to 2 */
  assert_true(ir_quant_f64(&l, 2.8) == 2.0);          /* log2 2.8 = 1.49 */
  assert_true(ir_quant_f64(&l, -100) == -16.0);       /* saturates at 2^4 */
  assert_true(ir_quant_f64(&l, INFINITY) == 16.0);
  assert_true(ir_quant_f64(&l, 1e-6) == 0.125);       /* the smallest, 2^-3 */
  assert_true(ir_quant_f64(&l, -1e-6) == 0.125);      /* MASE: sign(x + c) is + for -c < x < 0 */
  assert_true(ir_quant_f64(&l, -0.02) == -0.125);
  assert_true(ir_quant_f64(&l, 0.0) == 0.0 && signbit(ir_quant_f64(&l, -0.0))); /* zero stays */

  /* block_fp[4,3,3,4]: M = 3, exponent from the block's max */
  QFmt b = {.kind = QK_BLOCK_FP, .width = 4, .exp_width = 3, .exp_bias = 3, .block_size = 4};
  float x[6] = {1.0f, 0.3f, -0.2f, 0.01f, 3.0f, NAN}, y[6];
  ir_quant_tensor(&b, x, y, 6, 6); /* blocks {1, .3, -.2, .01} (e = 0) and {3, NaN} (e = 2) */
  assert_true(y[0] == 0.875f); /* k = rne(8 * (1 + 1e-9)) = 8 saturates at 7 */
  assert_true(y[1] == 0.25f && y[2] == -0.25f && y[3] == 0.0f);
  assert_true(y[4] == 3.0f && isnan(y[5])); /* 3/4 * 8 = 6: 6/8 * 4; NaN left out of the max */
  float r[8] = {4, 1, 0.5f, 0.25f, /* row 2 */ 0.5f, 0.25f, 0.125f, 0.0625f}, s[8];
  b.block_size = 8;
  ir_quant_tensor(&b, r, s, 8, 4); /* rows of 4: the block never crosses a row */
  assert_true(s[0] == 3.5f && s[1] == 1.0f && s[2] == 0.5f && s[3] == 0.0f); /* e = 2: step 0.5 */
  assert_true(s[4] == 0.4375f && s[5] == 0.25f && s[6] == 0.125f && s[7] == 0.0625f); /* e = -1 */

  /* binary */
  QFmt bin = {.kind = QK_BINARY, .width = 1, .bipolar = true};
  assert_true(ir_quant_f64(&bin, 0.0) == 1 && ir_quant_f64(&bin, -0.0) == 1);
  assert_true(ir_quant_f64(&bin, -1e-30) == -1 && isnan(ir_quant_f64(&bin, NAN)));
  bin.bipolar = false;
  assert_true(ir_quant_f32(&bin, -2.0f) == 0 && ir_quant_f32(&bin, 2.0f) == 1);
}

static void *no_memory(void *ctx, void *ptr, size_t size) {
  (void)ctx;
  if (size == 0) free(ptr);
  return NULL;
}

/* block_minifloat and block_log: the bias from the block's largest magnitude, then the
 * per-element format (ir/quant.c's table), worked by hand. */
static void test_block_bias(void **state) {
  (void)state;
  QFmt bm = {.kind = QK_BLOCK_MINIFLOAT, .width = 6, .exp_width = 3, .exp_bias_width = 3, .block_size = 4};
  /* block {3, 0.3, -1.25, 0}: m = 3, b = floor(log2 3) = 1, minifloat_ieee[6,3,1]: e in [-1, 6], M = 2 */
  float x[8] = {3.0f, 0.3f, -1.25f, 0.0f, 200.0f, 1000.0f, NAN, -0.0f}, y[8];
  ir_quant_tensor(&bm, x, y, 8, 8);
  assert_true(y[0] == 3.0f);     /* 2^1 * (1 + 2/4) */
  assert_true(y[1] == 0.25f);    /* e = -2 clamps to -1 = lo: subnormal, 0.3 / 2^-1 * 4 / 2 = 1.2 -> k = 1: 2^-1 * 2/4 */
  assert_true(y[2] == -1.25f);   /* 2^0 * (1 + 1/4) */
  assert_true(y[3] == 0.0f && !signbit(y[3]));
  /* block {200, 1000, NaN, -0.0}: m = 1000 (NaN left out), b = 9 clamps to 2^3 - 1 = 7: e in [-7, 0] */
  assert_true(y[4] == 1.75f && y[5] == 1.75f); /* saturated at 2^0 * (1 + 3/4) */
  assert_true(isnan(y[6]) && y[7] == 0.0f && !signbit(y[7])); /* MASE's pass-through adds 0: -0.0 gives +0.0 */
  assert_int_equal(ir_quant_block_bias(&bm, INFINITY), 7);
  assert_int_equal(ir_quant_block_bias(&bm, 0x1p-140f), 0);
  QFmt bl = {.kind = QK_BLOCK_LOG, .width = 5, .exp_bias_width = 4, .block_size = 2};
  /* block {5, -0.2}: ceil(log2 5) = 3, b = 2^4 - 1 - 3 = 12: log[5,12], e in [-12, 3] */
  float z[4] = {5.0f, -0.2f, 0.0f, 1e-30f}, w[4];
  ir_quant_tensor(&bl, z, w, 4, 4);
  assert_true(w[0] == 4.0f);    /* rne(log2 5) = 2 */
  assert_true(w[1] == -0.25f);  /* rne(log2 0.2) = -2 */
  /* block {0, 1e-30}: ceil(log2 1e-30) = -99, b = 15 + 99 clamps to 15: e in [-15, 0] */
  assert_true(w[2] == 0.0f && w[3] == 0x1p-15f);
  assert_int_equal(ir_quant_block_bias(&bl, INFINITY), 0);
  /* one element is a block of one */
  assert_true(ir_quant_f32(&bl, 5.0f) == 4.0f && ir_quant_f64(&bl, 5.0) == 4.0);
}

/* 2-d block shapes (MASE's block_size [r, c]) against each block gathered and quantized as
 * one block, for every block kind, with short blocks at the right and at the bottom. */
static void test_block_shape(void **state) {
  (void)state;
  enum { R = 7, C = 10 };
  QFmt fmts[] = {
      {.kind = QK_BLOCK_FP, .width = 6, .exp_width = 4, .exp_bias = 7, .block_size = 4, .block_rows = 3},
      {.kind = QK_BLOCK_MINIFLOAT, .width = 8, .exp_width = 3, .exp_bias_width = 5, .block_size = 3, .block_rows = 2},
      {.kind = QK_BLOCK_LOG, .width = 5, .exp_bias_width = 4, .block_size = 10, .block_rows = 4},
  };
  float x[R * C], y[R * C], want[R * C];
  double xd[R * C], yd[R * C];
  uint32_t s = 99;
  for (size_t k = 0; k < sizeof fmts / sizeof *fmts; k++) {
    const QFmt *f = &fmts[k];
    for (int i = 0; i < R * C; i++) {
      s = s * 1664525u + 1013904223u;
      xd[i] = x[i] = ldexpf((float)((int)(s >> 8) % 2001 - 1000) / 1000.0f, (int)(s >> 28) - 8);
    }
    x[5] = NAN, xd[5] = NAN;
    ir_quant_tensor(f, x, y, R * C, C);
    ir_quant_tensor_f64(f, xd, yd, R * C, C);
    QFmt one = *f;
    one.block_rows = 0;
    for (int r0 = 0; r0 < R; r0 += f->block_rows)
      for (int c0 = 0; c0 < C; c0 += f->block_size) {
        float blk[64], q[64];
        int n = 0;
        for (int r = r0; r < r0 + f->block_rows && r < R; r++)
          for (int c = c0; c < c0 + f->block_size && c < C; c++) blk[n++] = x[r * C + c];
        one.block_size = n;
        ir_quant_tensor(&one, blk, q, n, n);
        n = 0;
        for (int r = r0; r < r0 + f->block_rows && r < R; r++)
          for (int c = c0; c < c0 + f->block_size && c < C; c++) want[r * C + c] = q[n++];
      }
    for (int i = 0; i < R * C; i++) {
      assert_true(same_f(y[i], want[i]));
      assert_true(same_f(y[i], (float)yd[i]));
    }
  }
  StrBuf sb;
  sb_init(&sb);
  ir_qfmt_print(&sb, &fmts[0]);
  assert_string_equal(sb_str(&sb), "block_fp[6,4,7,3x4]");
  sb_free(&sb);
}

static void test_ternary(void **state) {
  (void)state;
  QFmt t = {.kind = QK_TERNARY, .width = 2, .tstat = QT_MEDIAN};
  /* 1..10: the lower median is 5 (t = 3.75, 4 kept); the upper one, 6, would drop 4 */
  float x[10], y[10];
  for (int i = 0; i < 10; i++) x[i] = (float)(i + 1) * (i % 2 ? -1.0f : 1.0f);
  ir_quant_tensor(&t, x, y, 10, 10);
  for (int i = 0; i < 10; i++) assert_true(y[i] == (i >= 3 ? (i % 2 ? -1.0f : 1.0f) : 0.0f));
  t.scaling = true; /* a = mean of 4..10 = 7 */
  ir_quant_tensor(&t, x, y, 10, 10);
  assert_true(y[3] == -7.0f && y[4] == 7.0f && y[2] == 0.0f);
  t.tstat = QT_MAX; /* t = 0.5: everything kept, a = 5.5 */
  ir_quant_tensor(&t, x, y, 10, 10);
  assert_true(y[0] == 5.5f && y[9] == -5.5f);
  t.tstat = QT_MEAN;
  t.scaling = false; /* t = 0.75 * 5.5 = 4.125 */
  double xd[10], yd[10];
  for (int i = 0; i < 10; i++) xd[i] = x[i];
  ir_quant_tensor_f64(&t, xd, yd, 10, 10);
  assert_true(yd[3] == 0 && yd[4] == 1 && yd[5] == -1);
  /* one element is a tensor of one: kept, +-1 or +-|x| */
  assert_true(ir_quant_f64(&t, -3.0) == -1.0);
  t.scaling = true;
  assert_true(ir_quant_f32(&t, -3.0f) == -3.0f);
  assert_true(ir_quant_f64(&t, 0.0) == 0.0);
  /* a larger median against sorting, odd and even counts, with NaN left out */
  t.scaling = false;
  t.tstat = QT_MEDIAN;
  enum { N = 301 };
  static float big[N], out[N];
  uint32_t s = 12345;
  for (int n = N - 1; n <= N; n++) {
    for (int i = 0; i < n; i++) {
      s = s * 1664525u + 1013904223u;
      big[i] = (float)((int)(s >> 8) % 20001 - 10000) / 64.0f;
    }
    big[7] = NAN;
    ir_quant_tensor(&t, big, out, n, n);
    /* the lower median by counting: the value with (cnt-1)/2 smaller-or-equal neighbours */
    int cnt = n - 1, k = (cnt - 1) / 2;
    float med = -1;
    for (int i = 0; i < n && med < 0; i++) {
      if (isnan(big[i])) continue;
      int below = 0, equal = 0;
      for (int j = 0; j < n; j++) {
        if (isnan(big[j])) continue;
        below += fabsf(big[j]) < fabsf(big[i]);
        equal += fabsf(big[j]) == fabsf(big[i]);
      }
      if (below <= k && k < below + equal) med = fabsf(big[i]);
    }
    double th = 0.75 * med;
    for (int i = 0; i < n; i++) {
      float want = isnan(big[i]) ? NAN : big[i] > th ? 1.0f : big[i] < -th ? -1.0f : 0.0f;
      assert_true(same_f(out[i], want));
    }
    /* without memory for the copy, the bisection finds the same median */
    static float out2[N];
    ir_set_alloc_hook(no_memory, NULL);
    ir_quant_tensor(&t, big, out2, n, n);
    ir_set_alloc_hook(NULL, NULL);
    assert_memory_equal(out, out2, sizeof(float) * (size_t)n);
  }
}

/* ---- float against double ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint32_t rnd(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (uint32_t)((rng_state * 0x2545F4914F6CDD1Du) >> 32);
}

/* A float: any bit pattern (NaN, inf, denormals included) half the time, else one in the
 * format's working range 2^[-40, 40]. */
static float rnd_float(void) {
  uint32_t u = rnd();
  if (u & 1) return bitsf(rnd());
  float m = 1.0f + (float)(rnd() >> 9) * 0x1p-23f;
  return ldexpf(u & 2 ? -m : m, (int)(rnd() % 81) - 40);
}

static void test_f32_matches_f64(void **state) {
  (void)state;
  QFmt fmts[] = {
      fixed(8, 4), fixed(1, 0), fixed(16, 16), fixed(24, 0), fixed(26, 3), fixed(32, 0),
      fixed(32, 32), {.kind = QK_INTEGER, .width = 32, .frac_width = 5, .floor = true},
      {.kind = QK_INTEGER, .width = 32, .frac_width = 0},
      minifloat(QK_MINIFLOAT_DENORM, 8, 4, 7), minifloat(QK_MINIFLOAT_IEEE, 8, 4, 7),
      minifloat(QK_MINIFLOAT_DENORM, 16, 8, 127), minifloat(QK_MINIFLOAT_IEEE, 16, 8, 127),
      minifloat(QK_MINIFLOAT_IEEE, 32, 4, 7), minifloat(QK_MINIFLOAT_DENORM, 32, 3, 140),
      minifloat(QK_MINIFLOAT_IEEE, 30, 4, 150), minifloat(QK_MINIFLOAT_IEEE, 3, 2, 1),
      minifloat(QK_MINIFLOAT_IEEE, 10, 3, -2),
      {.kind = QK_LOG, .width = 8, .exp_bias = 63}, {.kind = QK_LOG, .width = 9, .exp_bias = 127},
      {.kind = QK_LOG, .width = 4, .exp_bias = 3}, {.kind = QK_LOG, .width = 12, .exp_bias = 1000},
      {.kind = QK_BLOCK_FP, .width = 8, .exp_width = 4, .exp_bias = 7, .block_size = 16},
      {.kind = QK_BLOCK_FP, .width = 32, .exp_width = 8, .exp_bias = 127, .block_size = 4},
      {.kind = QK_BINARY, .width = 1, .bipolar = true}, {.kind = QK_BINARY, .width = 1},
      {.kind = QK_TERNARY, .width = 2, .tstat = QT_MEAN, .scaling = true},
      {.kind = QK_BLOCK_MINIFLOAT, .width = 8, .exp_width = 4, .exp_bias_width = 8, .block_size = 16},
      {.kind = QK_BLOCK_MINIFLOAT, .width = 6, .exp_width = 2, .exp_bias_width = 3, .block_size = 5},
      {.kind = QK_BLOCK_LOG, .width = 8, .exp_bias_width = 8, .block_size = 16},
      {.kind = QK_BLOCK_LOG, .width = 5, .exp_bias_width = 4, .block_size = 3},
  };
  enum { PER = 150000, T = 1000 };
  long bad = 0, total = 0;
  for (size_t k = 0; k < sizeof fmts / sizeof fmts[0]; k++) {
    const QFmt *f = &fmts[k];
    for (int i = 0; i < PER; i++) {
      float x = rnd_float();
      float a = ir_quant_f32(f, x), b = (float)ir_quant_f64(f, x);
      total++;
      if (!same_f(a, b) && ++bad <= 10) {
        StrBuf sb;
        sb_init(&sb);
        ir_qfmt_print(&sb, f);
        fprintf(stderr, "  %s x=%a: f32 %a, f64 %a\n", sb_str(&sb), x, a, b);
        sb_free(&sb);
      }
    }
    /* the tensor functions, in rows of 37 */
    static float xt[T], yt[T];
    static double xd[T], yd[T];
    for (int i = 0; i < T; i++) xd[i] = xt[i] = rnd_float();
    ir_quant_tensor(f, xt, yt, T, 37);
    ir_quant_tensor_f64(f, xd, yd, T, 37);
    for (int i = 0; i < T; i++)
      if (!same_f(yt[i], (float)yd[i]) && ++bad <= 10)
        fprintf(stderr, "  tensor kind %d x=%a: f32 %a, f64 %a\n", f->kind, xt[i], yt[i], yd[i]);
  }
  printf("f32 vs f64: %ld values, %ld differ\n", total, bad);
  assert_true(total >= 4000000);
  assert_int_equal(bad, 0);
}

/* ---- names and text forms ---- */

static const char *fmt_str(StrBuf *sb, QFmt f) {
  sb_clear(sb);
  ir_qfmt_print(sb, &f);
  return sb_str(sb);
}

static void test_names(void **state) {
  (void)state;
  static const char *const names[] = {"integer", "minifloat_ieee", "minifloat_denorm", "log",
                                      "block_fp", "binary", "ternary", "block_minifloat", "block_log"};
  static const char *const suffixes[] = {"Integer", "MinifloatIEEE", "MinifloatDenorm", "Log",
                                         "BlockFP", "Binary", "Ternary", "BlockMinifloat", "BlockLog"};
  for (int k = 0; k < QK_COUNT; k++) {
    QKind got;
    assert_string_equal(ir_qkind_name((QKind)k), names[k]);
    assert_string_equal(ir_qkind_class_suffix((QKind)k), suffixes[k]);
    assert_true(ir_qkind_parse(names[k], &got));
    assert_int_equal(got, k);
  }
  QKind got = QK_LOG;
  assert_true(ir_qkind_parse("fixed", &got));
  assert_int_equal(got, QK_INTEGER);
  assert_false(ir_qkind_parse("Integer", &got));
  assert_false(ir_qkind_parse("block_minifloat_ieee", &got));
  assert_false(ir_qkind_parse("", &got));
  assert_string_equal(ir_qkind_name(QK_COUNT), "?");
  assert_string_equal(ir_qslot_name(QS_DATA_IN), "data_in");
  assert_string_equal(ir_qslot_name(QS_WEIGHT), "weight");
  assert_string_equal(ir_qslot_name(QS_BIAS), "bias");
  assert_string_equal(ir_qslot_name(QS_DATA_OUT), "data_out");
  for (int k = 0; k < QK_COUNT; k++) {
    QFmt f = {.kind = (QKind)k};
    assert_int_equal(ir_qfmt_elementwise(&f), k != QK_BLOCK_FP && k != QK_TERNARY && k != QK_BLOCK_MINIFLOAT &&
                                                   k != QK_BLOCK_LOG);
  }

  StrBuf sb;
  sb_init(&sb);
  assert_string_equal(fmt_str(&sb, fixed(8, 4)), "fixed[8,4]");
  assert_string_equal(fmt_str(&sb, (QFmt){.kind = QK_INTEGER, .width = 8, .frac_width = 4}),
                      "ufixed[8,4]");
  assert_string_equal(fmt_str(&sb, (QFmt){.kind = QK_INTEGER, .width = 8, .frac_width = 4,
                                          .is_signed = true, .floor = true}),
                      "fixed[8,4,floor]");
  assert_string_equal(fmt_str(&sb, minifloat(QK_MINIFLOAT_IEEE, 8, 4, 7)), "minifloat_ieee[8,4,7]");
  assert_string_equal(fmt_str(&sb, minifloat(QK_MINIFLOAT_DENORM, 8, 4, -2)),
                      "minifloat_denorm[8,4,-2]");
  assert_string_equal(fmt_str(&sb, (QFmt){.kind = QK_LOG, .width = 8, .exp_bias = 3}), "log[8,3]");
  assert_string_equal(fmt_str(&sb, (QFmt){.kind = QK_BLOCK_FP, .width = 8, .exp_width = 4,
                                          .exp_bias = 7, .block_size = 16}),
                      "block_fp[8,4,7,16]");
  assert_string_equal(fmt_str(&sb, (QFmt){.kind = QK_BINARY, .bipolar = true}), "binary");
  assert_string_equal(fmt_str(&sb, (QFmt){.kind = QK_BINARY}), "binary01");
  assert_string_equal(fmt_str(&sb, (QFmt){.kind = QK_TERNARY, .tstat = QT_MEAN}), "ternary[mean]");
  assert_string_equal(fmt_str(&sb, (QFmt){.kind = QK_TERNARY, .tstat = QT_MEDIAN, .scaling = true}),
                      "ternary[median,scaled]");
  assert_string_equal(fmt_str(&sb, (QFmt){.kind = QK_TERNARY, .tstat = QT_MAX}), "ternary[max]");
  assert_string_equal(fmt_str(&sb, (QFmt){.kind = QK_BLOCK_MINIFLOAT, .width = 8, .exp_width = 4, .exp_bias_width = 8,
                                          .block_size = 16}),
                      "block_minifloat[8,4,8,16]");
  assert_string_equal(fmt_str(&sb, (QFmt){.kind = QK_BLOCK_LOG, .width = 6, .exp_bias_width = 5, .block_size = 4}),
                      "block_log[6,5,4]");
  sb_free(&sb);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reference),   cmocka_unit_test(test_integer_edges),
      cmocka_unit_test(test_float_edges), cmocka_unit_test(test_ternary), cmocka_unit_test(test_block_bias),
      cmocka_unit_test(test_block_shape),
      cmocka_unit_test(test_f32_matches_f64), cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
