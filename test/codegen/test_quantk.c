/* test_quantk.c — every number format in the JIT kernels against the C reference, bit for
 * bit (spec/quant.md §2, codegen/README.md "Quantization").
 *
 * The exponent decisions first: ir_quant_exp_bits (the kernels' way, from a float's bits and
 * a per-binade threshold) against ir_quant_exp_ref (MASE's float log2) on every float within
 * 2^12 ulps of each threshold and of each power of two, every subnormal binade's edges and
 * 2^24 random positive floats.  Then the kernels: a Linear whose input is quantized by an
 * explicit quantize node, observed by an evaluation plan, over batches of edge values (0,
 * -0.0, +-inf, NaN, subnormals, powers of two and their neighbours, MASE's 1e-8 and 1e-9,
 * each format's grid points and midpoints) and random floats of every magnitude, compared
 * with ir_quant_tensor row by row; the logits then check the quantized weights and bias. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "frontend.h"
#include "passes.h"

static uint64_t rs = 0x9e3779b97f4a7c15u;
static uint32_t rnd(void) { /* xorshift64*: reproducible, no libc rand */
  rs ^= rs >> 12, rs ^= rs << 25, rs ^= rs >> 27;
  return (uint32_t)((rs * 0x2545F4914F6CDD1Du) >> 32);
}
static float fbits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
static uint32_t ubits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
static bool same(float a, float b) { return (isnan(a) && isnan(b)) || ubits(a) == ubits(b); }

/* ---- the exponent decisions ---- */

static uint64_t check_exp_at(int32_t t[3][IR_QEXP_N], uint32_t u) {
  float v = fbits(u);
  if (!(v > 0) || isinf(v)) return 0;
  uint64_t bad = 0;
  for (int h = 0; h < 3; h++)
    if (ir_quant_exp_bits(t[h], v) != ir_quant_exp_ref(h, v)) {
      if (bad++ < 5) print_message("  %a: decision %d: bits %d, log2 %d\n", (double)v, h, ir_quant_exp_bits(t[h], v), ir_quant_exp_ref(h, v));
    }
  return bad;
}

static void test_exponent(void **state) {
  (void)state;
  int32_t t[3][IR_QEXP_N];
  for (int h = 0; h < 3; h++) ir_quant_exp_table(h, t[h]);
  uint64_t bad = 0, n = 0;
  for (int i = 0; i < IR_QEXP_N; i++) {
    uint32_t base = i < 149 - 126 ? 0 : (uint32_t)(i - (149 - 127)) << 23; /* binade E = i - 149 (normal from -126) */
    for (int h = 0; h < 3; h++) { /* around each threshold, in the binade's encoding */
      int64_t m = t[h][i];
      for (int64_t d = -4096; d <= 4096; d++) {
        int64_t mm = m + d;
        if (mm < 0 || mm >= (1 << 23)) continue;
        uint32_t u = i < 149 - 126 ? (uint32_t)(mm >> (149 - 126 - i)) : base | (uint32_t)mm;
        bad += check_exp_at(t, u), n++;
      }
    }
    for (int64_t d = -4096; d <= 4096; d++) /* around the binade's power of two */
      if ((int64_t)base + d > 0) bad += check_exp_at(t, (uint32_t)((int64_t)base + d)), n++;
  }
  for (int i = 0; i < (1 << 24); i++) bad += check_exp_at(t, rnd() & 0x7fffffffu), n++;
  print_message("exponent decisions: %llu floats, %llu differ\n", (unsigned long long)n, (unsigned long long)bad);
  assert_true(bad == 0);
}

/* ---- the kernels ---- */

#define F 40   /* features: 40 = 5 blocks of 7 and a short one of 5, or 2 of 16 and one of 8 */
#define B 64   /* rows per step */

static const char *const MODEL = "model Q {\n    input x: f32[B, 40]\n    head = Linear(40, 3)\n    return head(x)\n}\n";

/* One format per config: every kind, edge parameters (tiny and huge biases, the widest
 * mantissas, one-element blocks). */
static const char *const CFGS[] = {
    "{name=minifloat_ieee, data_in_width=8, data_in_exponent_width=4, weight_width=8, weight_exponent_width=4, bias_width=8, bias_exponent_width=4}",
    "{name=minifloat_ieee, data_in_width=6, data_in_exponent_width=3, data_in_exponent_bias=1, weight_width=5, weight_exponent_width=2}",
    "{name=minifloat_ieee, data_in_width=32, data_in_exponent_width=8, data_in_exponent_bias=127, weight_width=16, weight_exponent_width=5}",
    "{name=minifloat_ieee, data_in_width=12, data_in_exponent_width=8, data_in_exponent_bias=-20, weight_width=8, weight_exponent_width=7, weight_exponent_bias=200}",
    "{name=minifloat_denorm, data_in_width=8, data_in_exponent_width=4, weight_width=8, weight_exponent_width=4, bias_width=6, bias_exponent_width=3}",
    "{name=minifloat_denorm, data_in_width=32, data_in_exponent_width=4, data_in_exponent_bias=150, weight_width=10, weight_exponent_width=6}",
    "{name=minifloat_denorm, data_in_width=17, data_in_exponent_width=16, weight_width=4, weight_exponent_width=1}",
    "{name=log, data_in_width=8, weight_width=8, bias_width=5}",
    "{name=log, data_in_width=5, data_in_exponent_bias=3, weight_width=4, weight_exponent_bias=-2}",
    "{name=log, data_in_width=32, data_in_exponent_bias=1000, weight_width=12, weight_exponent_bias=140}",
    "{name=block_fp, data_in_width=8, data_in_exponent_width=8, data_in_block_size=16, weight_width=8, weight_exponent_width=8, weight_block_size=16, bias_width=8, bias_exponent_width=8}",
    "{name=block_fp, data_in_width=6, data_in_exponent_width=4, data_in_exponent_bias=7, data_in_block_size=7, weight_width=5, weight_exponent_width=3, weight_block_size=3}",
    "{name=block_fp, data_in_width=32, data_in_exponent_width=8, data_in_block_size=1, weight_width=32, weight_exponent_width=16, weight_block_size=64}",
    "{name=block_fp, data_in_width=4, data_in_exponent_width=2, data_in_block_size=40, weight_width=3, weight_exponent_width=1, weight_block_size=40}",
    "{name=binary, data_in_bipolar=true, weight_bipolar=true, bias_bipolar=false}",
    "{name=binary, data_in_bipolar=false, weight_bipolar=false}",
    "{name=ternary, weight_scaling_factor=true, weight_median=true, bias_max=true}",
    "{name=ternary, weight_mean=true, bias_scaling_factor=true}",
    "{name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8, bias_frac_width=4}",
    "{name=block_minifloat, data_in_width=8, data_in_exponent_width=4, data_in_exponent_bias_width=8, data_in_block_size=16, "
    "weight_width=8, weight_exponent_width=4, weight_exponent_bias_width=8, bias_width=6, bias_exponent_width=2, "
    "bias_exponent_bias_width=3}",
    "{name=block_minifloat, data_in_width=6, data_in_exponent_width=2, data_in_exponent_bias_width=3, data_in_block_size=7, "
    "weight_width=5, weight_exponent_width=3, weight_exponent_bias_width=2, weight_block_size=3}",
    "{name=block_minifloat, data_in_width=32, data_in_exponent_width=8, data_in_exponent_bias_width=16, data_in_block_size=1, "
    "weight_width=24, weight_exponent_width=5, weight_exponent_bias_width=16}",
    "{name=block_log, data_in_width=8, data_in_exponent_bias_width=8, data_in_block_size=16, weight_width=8, "
    "weight_exponent_bias_width=8, bias_width=5, bias_exponent_bias_width=4}",
    "{name=block_log, data_in_width=5, data_in_exponent_bias_width=4, data_in_block_size=7, weight_width=4, "
    "weight_exponent_bias_width=3, weight_block_size=5}",
    "{name=block_log, data_in_width=32, data_in_exponent_bias_width=16, data_in_block_size=40, weight_width=12, "
    "weight_exponent_bias_width=16}",
    /* weights in blocks that divide the row (the kernels' vector path for parameters) */
    "{name=block_fp, data_in_width=8, data_in_exponent_width=8, weight_width=7, weight_exponent_width=5, "
    "weight_block_size=8, bias_width=6, bias_exponent_width=4, bias_block_size=3}",
    "{name=block_minifloat, data_in_width=8, data_in_exponent_width=4, data_in_exponent_bias_width=8, weight_width=7, "
    "weight_exponent_width=3, weight_exponent_bias_width=8, weight_block_size=20}",
    "{name=block_log, data_in_width=8, data_in_exponent_bias_width=8, weight_width=7, weight_exponent_bias_width=7, "
    "weight_block_size=40, bias_width=5, bias_exponent_bias_width=4, bias_block_size=1}",
    /* MASE's block shapes: [1, c] is c; weights in blocks of several rows */
    "{name=block_fp, data_in_width=8, data_in_exponent_width=5, data_in_block_size=[1, 8], weight_width=6, "
    "weight_exponent_width=4, weight_block_size=[2, 16]}",
    "{name=block_minifloat, data_in_width=8, data_in_exponent_width=4, data_in_exponent_bias_width=6, "
    "data_in_block_size=[1, 5], weight_width=8, weight_exponent_width=4, weight_exponent_bias_width=6, weight_block_size=[3, 7]}",
    "{name=block_log, data_in_width=6, data_in_exponent_bias_width=5, data_in_block_size=[16], weight_width=6, "
    "weight_exponent_bias_width=5, weight_block_size=[4, 40]}",
};

/* Element k of batch `step`: edge values first, then random floats. */
static float input(const QFmt *f, int step, int k) {
  static const float edge[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 1e-8f, -1e-8f, 1e-9f, 1.0000001e-8f,
                               0x1p-149f, -0x1p-149f, 0x1p-126f, 0x1.fffffep-127f, 0x1p-127f, 1.0f, -1.0f, 0.5f, 0x1.fffffep-1f,
                               0x1.000002p0f, 2.0f, 3.0f, 0x1.fffffep127f, -0x1.fffffep127f, 0x1p127f, 0x1p-7f, 0x1.000002p-7f,
                               0.1f, -0.1f, 1.5f, 0.75f, 0.4375f, 0.46875f, 1e-3f, 65504.0f, 1e38f};
  int i = step * B * F + k;
  int ne = (int)(sizeof edge / sizeof *edge);
  if (i < ne) return edge[i];
  switch (rnd() % 6) {
  case 0: return fbits(rnd()); /* any bits: NaNs, infinities, subnormals included */
  case 1: { /* a power of two, one ulp either side */
    float p = ldexpf(1.0f, (int)(rnd() % 300) - 160);
    int d = (int)(rnd() % 3) - 1;
    return (rnd() & 1 ? -1 : 1) * fbits(ubits(p) + (uint32_t)d);
  }
  case 2: { /* a grid point or midpoint of an 8-bit-ish format near its exponent range */
    int e = (int)(rnd() % 40) - 20 - (f->kind == QK_INTEGER ? 0 : f->exp_bias % 8);
    return (rnd() & 1 ? -1 : 1) * ldexpf((float)(rnd() % 512) * 0.5f, e);
  }
  case 3: return (rnd() & 1 ? -1 : 1) * 1e-8f * (1.0f + (float)(rnd() % 64) * 0x1p-23f);
  default: /* a normal-ish value at a random scale */
    return (float)((double)(int32_t)rnd() * 0x1p-31) * ldexpf(1.0f, (int)(rnd() % 60) - 30);
  }
}

static const Node *quantize_node(const Graph *g) {
  for (const Node *n = g->first; n; n = n->next)
    if (n->mop == MOP_QUANTIZE) return n;
  return NULL;
}

/* The format the quantize node applies (its `format` argument). */
static QFmt node_fmt(const Node *n) {
  QFmt f;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(ir_qfmt_from_value(&n->args[1], &f, &d, n->loc), JS_OK);
  diag_free(&d);
  return f;
}

static void check_cfg(const char *cfg, int steps, uint64_t *total) {
  FxModel m;
  Diag d;
  diag_init(&d, stderr);
  if (fx_load(&m, "q.jsc", MODEL, cfg, true, &d)) fail_msg("%s: %s", cfg, sb_str(&d.text));
  const Node *qn = quantize_node(m.g);
  RtState *st = fx_trained_state(m.g, 5);
  CgOptions o = {.batch = B, .param_off = st->off, .want_logits = true, .observe = qn ? &qn : NULL, .nobserve = qn ? 1 : 0};
  CgPlan *plan = NULL;
  if (cg_plan_build(m.g, &o, &plan, &d)) fail_msg("%s: %s", cfg, sb_str(&d.text));
  CgKernel *k = NULL;
  if (cg_llvm_compile(plan, &k, NULL, NULL, &d)) fail_msg("%s: %s", cfg, sb_str(&d.text));
  int64_t bp = cg_plan_bpad(plan), off = -1;
  int n = 0;
  if (qn) assert_true(cg_plan_observed(plan, 0, &off, &n) && n == F);
  QFmt f = qn ? node_fmt(qn) : (QFmt){.kind = QK_INTEGER};
  float *xf = aligned_alloc(64, sizeof(float) * (size_t)(F * bp)), *valid = aligned_alloc(64, sizeof(float) * (size_t)bp);
  int32_t *y = aligned_alloc(64, sizeof(int32_t) * (size_t)bp);
  float *scratch = aligned_alloc(64, sizeof(float) * (cg_plan_scratch_floats(plan) + 64));
  float *logits = aligned_alloc(64, sizeof(float) * (size_t)(3 * bp));
  float row[F], want[F];
  uint64_t bad = 0, cnt = 0;
  for (int64_t i = 0; i < bp; i++) valid[i] = 1, y[i] = 0;
  for (int s = 0; s < steps; s++) {
    for (int i = 0; i < B; i++)
      for (int j = 0; j < F; j++) xf[j * bp + i] = input(&f, s, i * F + j);
    double metrics[2] = {0};
    CgArgs a = {.params = st->data, .x = xf, .y = y, .valid = valid, .scratch = scratch, .i64 = st->i64,
                .logits = logits, .metrics = metrics, .n = B};
    cg_kernel_run(k, &a);
    for (int i = 0; i < B && qn; i++) {
      for (int j = 0; j < F; j++) row[j] = xf[j * bp + i];
      ir_quant_tensor(&f, row, want, F, F);
      for (int j = 0; j < F; j++, cnt++) {
        float got = scratch[off + j * bp + i];
        if (!same(got, want[j]) && bad++ < 8)
          print_message("  %s: x %a (feature %d): kernel %a, reference %a\n", cfg, (double)row[j], j, (double)got, (double)want[j]);
      }
    }
  }
  /* the logits of the last batch: the reference executor with its quantized weights (double;
   * the products differ from the kernel's float sums by rounding only) */
  RtTensor in = {.dtype = DT_F32, .rank = 2, .dims = {B, F}};
  float *xr = malloc(sizeof(float) * B * F);
  for (int i = 0; i < B; i++)
    for (int j = 0; j < F; j++) {
      float v = xf[j * bp + i];
      xr[i * F + j] = isfinite(v) && fabsf(v) < 1e6f ? v : 0.5f; /* keep the logits finite */
      xf[j * bp + i] = xr[i * F + j];
    }
  in.f = xr;
  double metrics[2] = {0};
  CgArgs a = {.params = st->data, .x = xf, .y = y, .valid = valid, .scratch = scratch, .i64 = st->i64,
              .logits = logits, .metrics = metrics, .n = B};
  cg_kernel_run(k, &a);
  const char *names[1] = {"x"};
  RtRunOpts ro = {.mode = RT_EVAL};
  RtInterpOut out;
  if (rt_interp_run(m.g, st, &ro, 1, names, &in, &out, &d)) fail_msg("%s: %s", cfg, sb_str(&d.text));
  double worst = 0, scale = 1e-30;
  for (int i = 0; i < B * 3; i++) scale = fmax(scale, fabs(out.logits.f[i]));
  for (int i = 0; i < B; i++)
    for (int c = 0; c < 3; c++) worst = fmax(worst, fabs(logits[c * bp + i] - out.logits.f[i * 3 + c]) / scale);
  print_message("%-150.150s %8llu values, %llu differ; logits %.1e\n", cfg, (unsigned long long)cnt, (unsigned long long)bad, worst);
  assert_true(bad == 0);
  for (int i = 0; i < 3 && !(worst < 1e-5); i++) /* a few rows when the logits differ */
    print_message("  row %d: kernel %g %g %g, reference %g %g %g\n", i, (double)logits[i], (double)logits[bp + i],
                  (double)logits[2 * bp + i], (double)out.logits.f[i * 3], (double)out.logits.f[i * 3 + 1],
                  (double)out.logits.f[i * 3 + 2]);
  assert_true(worst < 1e-5);
  *total += cnt;
  rt_interp_out_free(&out);
  free(xr);
  free(xf), free(valid), free(y), free(scratch), free(logits);
  cg_kernel_free(k);
  cg_plan_free(plan);
  rt_state_free(st);
  fx_unload(&m);
  diag_free(&d);
}

static void test_formats(void **state) {
  (void)state;
  uint64_t total = 0;
  for (size_t i = 0; i < sizeof CFGS / sizeof *CFGS; i++) check_cfg(CFGS[i], 100, &total);
  print_message("%llu quantized values, every one equal to ir_quant_tensor's\n", (unsigned long long)total);
}

/* Ternary (as binary) quantizes the weight only, as MASE does: a data_in key is accepted and
 * ignored, so no row value is ever ternary (it would have no whole tensor to take its
 * statistic from). */
static void test_ternary_weight_only(void **state) {
  (void)state;
  FxModel m;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(fx_load(&m, "q.jsc", MODEL, "{name=ternary, data_in_mean=true, weight_mean=true}", true, &d), JS_OK);
  int weights = 0;
  for (const Node *n = m.g->first; n; n = n->next) {
    QCfg q;
    if (!ir_node_qcfg(n, &q)) continue;
    assert_false(q.has[QS_DATA_IN] || q.has[QS_DATA_OUT]);
    weights += q.has[QS_WEIGHT];
  }
  assert_true(weights > 0);
  fx_unload(&m);
  diag_free(&d);
}

int main(void) {
  if (!cg_llvm_available()) return 77;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exponent),
      cmocka_unit_test(test_formats),
      cmocka_unit_test(test_ternary_weight_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
