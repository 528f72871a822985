/* test_intinf.c — integer-only inference (codegen/intprog.c, codegen/intllvm.c) against the
 * fake-quant reference executor, bit for bit.
 *
 * For every example model the integer lowering takes (jsc_tiny, jsc_toy, jsc_big, jsc_s,
 * jsc_trt with its dropout, hls4ml_jsc; jsc_conv in test_conv1d) and every format set below (int8 (8,4), int6, int4,
 * int16, int24 with 64-bit lanes, a mixed set whose bias is finer than the accumulator and which
 * rounds by floor, and one with data_out): random trained-like weights (wider than PyTorch's
 * initialisation, BatchNorm statistics away from 0 and 1), standardised synthetic JSC rows
 * (real-looking inputs), then
 *   - every node's integer result from the C executor, dequantized, == the reference's value
 *     (RtRunOpts.observe) exactly, and the logits too (as numbers: where the reference's
 *     quantizer rounds a small negative to -0, integer codes have the one zero);
 *   - the JIT's codes for every node and its logits == the C executor's, bit for bit (a row
 *     count that is not a multiple of the vector width checks the padded last block).
 * Then the pieces: the rounding right shift and the input quantization against
 * ir_quant_code, the refusals (each names the node and the reason), and a control that a
 * corrupted program is caught.  Prints one line per model and format set, llm.c style. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend.h"
#include "passes.h"
#include "runtime.h"
#include "fixture.h"

static const char *const models[] = {"examples/jsc_tiny.jsc", "examples/jsc_toy.jsc", "examples/jsc_big.jsc",
                                     "examples/jsc_s.jsc",    "examples/jsc_trt.jsc", "examples/hls4ml_jsc.jsc"};

typedef struct FmtSet {
  const char *name;
  const char *cfg; /* the quantize pass's default config */
} FmtSet;

static const FmtSet sets[] = {
    {"int8", "{name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, weight_frac_width=4, "
             "bias_width=8, bias_frac_width=4}"},
    {"int6", "{name=integer, data_in_width=6, data_in_frac_width=3, weight_width=6, weight_frac_width=4, "
             "bias_width=6, bias_frac_width=3}"},
    {"int4", "{name=integer, data_in_width=4, data_in_frac_width=2, weight_width=4, weight_frac_width=2, "
             "bias_width=4, bias_frac_width=2}"},
    {"int16", "{name=integer, data_in_width=16, data_in_frac_width=8, weight_width=16, weight_frac_width=12, "
              "bias_width=16, bias_frac_width=12}"},
    {"int24", "{name=integer, data_in_width=24, data_in_frac_width=12, weight_width=20, weight_frac_width=16, "
              "bias_width=20, bias_frac_width=16}"}, /* 64-bit lanes */
    {"mixed-floor", "{name=integer, floor=true, data_in_width=8, data_in_frac_width=3, weight_width=6, "
                    "weight_frac_width=5, bias_width=12, bias_frac_width=10}"},
    {"data_out", "{name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, weight_frac_width=5, "
                 "bias_width=8, bias_frac_width=4, data_out_width=10, data_out_frac_width=6}"},
};

/* Standardised synthetic JSC rows, loaded once. */
static RtDataset data;

static int setup(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, stderr);
  RtDataOpts o;
  rt_data_opts_default(&o);
  o.synth_n = 6000;
  o.no_cache = true;
  Status st = rt_data_load(&o, &data, &d);
  diag_free(&d);
  return st == JS_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  rt_data_free(&data);
  return 0;
}

/* fx_load's explicit_inputs: the data-input quantizers as explicit nodes (test_explicit). */
static bool explicit_inputs;

/* The reference's node values, by node. */
typedef struct Obs {
  const IntProg *p;
  double **vals;  /* [p->nnodes] copies of each traced node's values */
  int64_t rows;
} Obs;

static Status observe(void *ud, const Node *node, const double *vals, int64_t n, int rank, const int64_t *dims) {
  Obs *o = ud;
  for (int k = 0; k < o->p->nnodes; k++)
    if (o->p->nodes[k].node == node && !o->vals[k]) {
      assert_true(rank == 2 || rank == 3); /* [B, n] or [B, C, L]: rows of C*L, channel-major */
      assert_int_equal(dims[0], o->rows);
      assert_int_equal(n / dims[0], o->p->vals[o->p->nodes[k].val].n);
      o->vals[k] = malloc(sizeof(double) * (size_t)n);
      memcpy(o->vals[k], vals, sizeof(double) * (size_t)n);
    }
  return JS_OK;
}

/* The first element where the trace (dequantized) differs from the reference; prints it.
 * Returns the number of differing elements. */
static int64_t compare_ref(const IntProg *p, const Obs *o, const int64_t *trace, const char *what) {
  int64_t bad = 0;
  for (int k = 0; k < p->nnodes; k++) {
    const IpNode *nd = &p->nodes[k];
    int F = p->vals[nd->val].n;
    if (!o->vals[k]) {
      printf("  %s: node %s: the reference did not report it\n", what, nd->node->name);
      bad++;
      continue;
    }
    for (int64_t r = 0; r < o->rows; r++)
      for (int j = 0; j < F; j++) {
        double iv = rt_int_value(p, nd->val, trace[r * p->trace_width + nd->off + j]), rv = o->vals[k][r * F + j];
        if (iv != rv && bad++ < 3)
          printf("  %s: node %s row %lld feature %d: integer %.17g reference %.17g\n", what, nd->node->name, (long long)r, j,
                 iv, rv);
      }
  }
  return bad;
}

/* One model (a file, or `text` named path) with one format set over `rows` rows. */
static void check_text(const char *path, const char *text, const FmtSet *fs, int64_t rows) {
  Diag d;
  diag_init(&d, stderr);
  FxModel m;
  if (fx_load(&m, path, text, fs->cfg, explicit_inputs, &d)) fail_msg("%s %s: %s", path, fs->name, sb_str(&d.text));
  RtState *s = fx_trained_state(m.g, 11);
  IntProg *p = NULL;
  if (cg_int_lower(m.g, fx_state_param, s, &p, &d)) fail_msg("%s %s: %s", path, fs->name, sb_str(&d.text));
  assert_int_equal(p->features, RT_JSC_FEATURES);
  assert_int_equal(p->classes, RT_JSC_CLASSES);
  assert_true(rows <= data.test.n);
  const float *x = data.test.x;

  /* the reference, fake quantization in double */
  Obs o = {.p = p, .vals = calloc((size_t)p->nnodes, sizeof(double *)), .rows = rows};
  RtTensor in = {.dtype = DT_F32, .rank = 2, .dims = {rows, RT_JSC_FEATURES}, .f = (float *)x};
  const char *names[1] = {"x"};
  RtRunOpts ro = {.mode = RT_EVAL, .observe = observe, .observe_ud = &o};
  RtInterpOut out;
  if (rt_interp_run(m.g, s, &ro, 1, names, &in, &out, &d)) fail_msg("%s", sb_str(&d.text));

  /* the C executor */
  float *lc = calloc((size_t)(rows * p->classes), sizeof(float));
  int64_t *tc = calloc((size_t)(rows * p->trace_width), sizeof(int64_t));
  assert_int_equal(rt_int_run(p, x, rows, lc, tc, &d), JS_OK);
  int64_t bad = compare_ref(p, &o, tc, "C vs reference");
  int64_t badl = 0;
  for (int64_t i = 0; i < rows * p->classes; i++)
    if (!(lc[i] == out.logits.f[i]) && badl++ < 3) /* as numbers: the reference's -0 is the integer 0 */
      printf("  logits: row %lld class %lld: integer %.9g reference %.9g\n", (long long)(i / p->classes),
             (long long)(i % p->classes), (double)lc[i], (double)out.logits.f[i]);

  /* the JIT */
  int64_t badj = 0;
  double compile_ms = 0;
  const char *jit = "no LLVM";
  if (cg_llvm_available()) {
    RtIntExec *e = NULL;
    if (rt_int_open(m.g, s, true, true, &e, &d)) fail_msg("%s", sb_str(&d.text));
    compile_ms = e->compile_ms;
    float *lj = calloc((size_t)(rows * p->classes), sizeof(float));
    int64_t *tj = calloc((size_t)(rows * p->trace_width), sizeof(int64_t));
    assert_int_equal(rt_int_exec(e, x, rows, lj, tj, &d), JS_OK);
    assert_int_equal(e->prog->trace_width, p->trace_width);
    for (int64_t i = 0; i < rows * p->trace_width; i++)
      if (tj[i] != tc[i] && badj++ < 3)
        printf("  JIT vs C: trace element %lld (row %lld): JIT %lld C %lld\n", (long long)i, (long long)(i / p->trace_width),
               (long long)tj[i], (long long)tc[i]);
    for (int64_t i = 0; i < rows * p->classes; i++) badj += memcmp(&lj[i], &lc[i], sizeof(float)) != 0;
    jit = badj ? "JIT DIFFERS" : e->prog->i32 ? "JIT exact (32-bit lanes)" : "JIT exact (64-bit lanes)";
    free(lj);
    free(tj);
    rt_int_close(e);
  }
  char ms[48] = "";
  if (cg_llvm_available()) snprintf(ms, sizeof ms, "; traced JIT compiled in %.0f ms", compile_ms);
  printf("%-24s %-11s %4lld rows %2d nodes %3d steps: C %s, logits %s, %s; widest code %d bits%s\n", path, fs->name,
         (long long)rows, p->nnodes, p->nsteps, bad ? "DIFFERS" : "exact", badl ? "DIFFER" : "exact", jit, p->bits, ms);
  if (bad || badl || badj) {
    StrBuf sb;
    sb_init(&sb);
    cg_int_print(&sb, p);
    fputs(sb_str(&sb), stdout);
    sb_free(&sb);
  }
  assert_int_equal(bad, 0);
  assert_int_equal(badl, 0);
  assert_int_equal(badj, 0);

  for (int k = 0; k < p->nnodes; k++) free(o.vals[k]);
  free(o.vals);
  free(lc);
  free(tc);
  rt_interp_out_free(&out);
  cg_int_free(p);
  rt_state_free(s);
  fx_unload(&m);
  diag_free(&d);
}

static void test_examples(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof models / sizeof *models; i++)
    for (size_t k = 0; k < sizeof sets / sizeof *sets; k++) check_text(models[i], NULL, &sets[k], 1001);
}

/* The same graphs with explicit quantize nodes (ir_quant_explicit_inputs): each is a quant or
 * a requant of its own, traced and compared like any node. */
static void test_explicit(void **state) {
  (void)state;
  explicit_inputs = true;
  for (size_t i = 0; i < sizeof models / sizeof *models; i++)
    for (size_t k = 0; k < sizeof sets / sizeof *sets; k += 2) check_text(models[i], NULL, &sets[k], 257);
  explicit_inputs = false;
}

/* The functional forms: linear with parameter operands, relu as a function, dropout and
 * identity passing through, add/sub/mul of two quantized tensors (aligned points). */
static void test_functional(void **state) {
  (void)state;
  const char *text = "model F {\n"
                     "  input x: f32[B, 16]\n"
                     "  param w: f32[8, 16] = uniform(-0.5, 0.5)\n"
                     "  param b: f32[8] = uniform(-0.25, 0.25)\n"
                     "  fc = Linear(16, 8)\n"
                     "  head = Linear(8, 5)\n"
                     "  drop = Dropout(0.3)\n"
                     "  id = Identity()\n"
                     "  h = relu(linear(x, w, b))\n"
                     "  g = drop(fc(x)).relu()\n"
                     "  y = h + g\n"
                     "  z = y - id(h)\n"
                     "  return head(z * y)\n"
                     "}\n";
  for (size_t k = 0; k < sizeof sets / sizeof *sets; k++) check_text("functional.jsc", text, &sets[k], 333);
}

/* Conv1d as the matvec of its Toeplitz matrix: examples/jsc_conv.jsc (views in and out,
 * BatchNorm1d over channels, a strided, dilated, grouped convolution) and the function form
 * with a parameter weight and bias, for every format set. */
static void test_conv1d(void **state) {
  (void)state;
  const char *text = "model C {\n"
                     "  input x: f32[B, 16]\n"
                     "  param k: f32[6, 2, 3] = uniform(-0.5, 0.5)\n"
                     "  param kb: f32[6] = uniform(-0.25, 0.25)\n"
                     "  c1 = Conv1d(2, 4, 3, stride=2, padding=2, dilation=2)\n"
                     "  head = Linear(24, 5)\n"
                     "  h = c1(x.view(-1, 2, 8)).relu()\n"
                     "  z = conv1d(h, k, kb, padding=1, groups=2)\n"
                     "  return head(z.flatten(1))\n"
                     "}\n";
  for (size_t k = 0; k < sizeof sets / sizeof *sets; k++) {
    check_text("examples/jsc_conv.jsc", NULL, &sets[k], 1001);
    check_text("conv.jsc", text, &sets[k], 333);
  }
}

/* What lowers without arithmetic of its own (a view and a reshape that keep [B, n], an
 * Identity module) and a parameter as a per-feature constant (x * scale, x + shift,
 * shift - x): test/models/int_noop.jsc, with and without the explicit quantize nodes (which
 * then quantize the parameters too); then parameters of one element, of shape [1, n], first
 * or second operand, and a parameter read by two nodes. */
static void test_noop_and_params(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof sets / sizeof *sets; k++) check_text("test/models/int_noop.jsc", NULL, &sets[k], 333);
  explicit_inputs = true;
  for (size_t k = 0; k < sizeof sets / sizeof *sets; k++) check_text("test/models/int_noop.jsc", NULL, &sets[k], 257);
  explicit_inputs = false;
  const char *text = "model P {\n"
                     "  input x: f32[B, 16]\n"
                     "  param g: f32[1] = uniform(0.5, 2.0)\n"
                     "  param row: f32[1, 8] = uniform(-1.0, 1.0)\n"
                     "  param c: f32[] = uniform(-1.0, 1.0)\n"
                     "  fc = Linear(16, 8)\n"
                     "  head = Linear(8, 5)\n"
                     "  h = g * fc(x).reshape(-1, 8)\n"
                     "  h = (h - row).relu() * row\n"
                     "  h = c + h - c\n"
                     "  return head(h.view(-1, 8))\n"
                     "}\n";
  for (int e = 0; e < 2; e++) {
    explicit_inputs = e;
    for (size_t k = 0; k < sizeof sets / sizeof *sets; k++) check_text("params.jsc", text, &sets[k], 211);
  }
  explicit_inputs = false;
}

/* The rounding right shift is the quantizer's rounding: code(a / 2^sh) for fixed[32, 0]. */
static void test_rshift(void **state) {
  (void)state;
  Rng rng;
  rt_rng_seed(&rng, 5);
  QFmt f = {.kind = QK_INTEGER, .width = 32, .frac_width = 0, .is_signed = true};
  for (int floor_ = 0; floor_ < 2; floor_++) {
    f.floor = floor_;
    for (int i = 0; i < 200000; i++) {
      int sh = 1 + (int)rt_rng_below(&rng, 20);
      int64_t a = (int64_t)rt_rng_below(&rng, UINT64_C(1) << 40) - (INT64_C(1) << 39);
      if (i % 4 == 0) a = a / (INT64_C(1) << sh) * (INT64_C(1) << sh) + (i % 8 == 0 ? INT64_C(1) << (sh - 1) : 0); /* halves, multiples */
      double v = ldexp((double)a, -sh);
      if (fabs(v) >= 2147483647.0) continue;
      int64_t want = ir_quant_code(&f, v), got = cg_int_rshift(a, sh, floor_);
      if (want != got) fail_msg("a %lld sh %d floor %d: shift %lld quantizer %lld", (long long)a, sh, floor_, (long long)got,
                                (long long)want);
    }
  }
  assert_int_equal(cg_int_rshift(-3, 1, false), -2); /* -1.5 -> -2 (even) */
  assert_int_equal(cg_int_rshift(-1, 1, false), 0);  /* -0.5 -> 0 */
  assert_int_equal(cg_int_rshift(5, 1, false), 2);   /* 2.5 -> 2 */
  assert_int_equal(cg_int_rshift(-1, 1, true), -1);
  assert_int_equal(cg_int_rshift(-5, 70, false), 0);
  assert_int_equal(cg_int_rshift(-5, 70, true), -1);
}

/* The input quantization (IP_QUANT) is ir_quant_code's, for every kind of input. */
static void test_quant_in(void **state) {
  (void)state;
  Rng rng;
  rt_rng_seed(&rng, 9);
  for (int i = 0; i < 100000; i++) {
    QFmt f = {.kind = QK_INTEGER, .width = 2 + (int)rt_rng_below(&rng, 30), .is_signed = i % 3 != 0, .floor = i % 5 == 0};
    f.frac_width = (int)rt_rng_below(&rng, (uint64_t)f.width + 1);
    double x = rt_rng_normal(&rng) * ldexp(1, (int)rt_rng_below(&rng, 12) - 4);
    if (i % 7 == 0) x = ldexp(floor(x * 64) + 0.5, -6); /* ties */
    float xf = (float)x;
    int64_t lo = f.is_signed ? -(INT64_C(1) << (f.width - 1)) : 0;
    int64_t hi = f.is_signed ? (INT64_C(1) << (f.width - 1)) - 1 : (INT64_C(1) << f.width) - 1;
    int64_t want = ir_quant_code(&f, (double)xf), got = rt_int_quant_in((double)xf, f.frac_width, lo, hi, f.floor);
    if (want != got) fail_msg("x %.9g fixed[%d,%d]%s: %lld vs ir_quant_code %lld", (double)xf, f.width, f.frac_width,
                              f.floor ? " floor" : "", (long long)got, (long long)want);
  }
  assert_int_equal(rt_int_quant_in(INFINITY, 4, -128, 127, false), 127);
  assert_int_equal(rt_int_quant_in(-INFINITY, 4, -128, 127, false), -128);
  assert_int_equal(rt_int_quant_in(NAN, 4, -128, 127, false), 0);
}

/* Refusals name the node and the reason. */
static void refused(const char *text, const char *cfg, const char *want) {
  Diag d;
  diag_init(&d, NULL);
  FxModel m;
  if (fx_load(&m, "refuse.jsc", text, cfg, explicit_inputs, &d)) fail_msg("%s", sb_str(&d.text));
  RtState *s = fx_trained_state(m.g, 3);
  IntProg *p = NULL;
  Status st = cg_int_lower(m.g, fx_state_param, s, &p, &d);
  if (st == JS_OK || !strstr(sb_str(&d.text), want))
    fail_msg("expected a refusal with '%s', got status %d: %s", want, (int)st, sb_str(&d.text));
  assert_null(p);
  rt_state_free(s);
  fx_unload(&m);
  diag_free(&d);
}

static void test_refusals(void **state) {
  (void)state;
  const char *int8 = sets[0].cfg;
  refused("model A {\n  input x: f32[B, 16]\n  fc = Linear(16, 5)\n  return fc(x)\n}\n", NULL,
          "node 'fc': linear is not quantized");
  refused("model A {\n  input x: f32[B, 16]\n  fc = Linear(16, 5)\n  s = Sigmoid()\n  return s(fc(x))\n}\n", int8,
          "node 's': sigmoid has no");
  refused("model A {\n  input x: f32[B, 16]\n  fc = Linear(16, 5)\n  return softmax(fc(x), dim=1)\n}\n", int8,
          "softmax has no");
  refused("model A {\n  input x: f32[B, 16]\n  fc = Linear(16, 5)\n  t = Tanh()\n  return t(fc(x))\n}\n", int8,
          "node 't': tanh has no exact integer form");
  refused("model A {\n  input x: f32[B, 16]\n  fc = Linear(16, 5)\n  return fc(x) * 0.5\n}\n", int8,
          "not a tensor");
  refused("model A {\n  input x: f32[B, 16]\n  fc = Linear(16, 5)\n  return fc(x)\n}\n",
          "{name=integer, weight_width=8, weight_frac_width=4, bias_width=8, bias_frac_width=4}",
          "has no data_in format");
  refused("model A {\n  input x: f32[B, 16]\n  fc = Linear(16, 5)\n  return fc(x)\n}\n",
          "{name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, weight_frac_width=4}",
          "its bias is not quantized");
  refused("model A {\n  input x: f32[B, 16]\n  fc = Linear(16, 5)\n  return fc(x)\n}\n",
          "{name=minifloat_ieee, data_in_width=8, data_in_exponent_width=4, weight_width=8, weight_exponent_width=4, "
          "bias_width=8, bias_exponent_width=4}",
          "not integer");
  /* a parameter that no add, sub or mul reads as a per-feature constant */
  refused("model A {\n  input x: f32[B, 16]\n  param s: f32[5] = ones\n  return s\n}\n", int8,
          "node 'output': its logits is the parameter 's': the integer lowering takes a parameter only as an operand of "
          "add, sub or mul");
  /* the worst case of 32-bit codes over 64 terms leaves 62 bits */
  refused("model A {\n  input x: f32[B, 16]\n  fc = Linear(16, 64)\n  fc2 = Linear(64, 5)\n  return fc2(fc(x))\n}\n",
          "{name=integer, data_in_width=32, data_in_frac_width=16, weight_width=32, weight_frac_width=30, "
          "bias_width=32, bias_frac_width=16}",
          "more than the 62 the integer executor holds");
}

/* A corrupted program is caught: the first quantization one bit finer doubles every code. */
static void test_control(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, stderr);
  FxModel m;
  assert_int_equal(fx_load(&m, "examples/jsc_tiny.jsc", NULL, sets[0].cfg, explicit_inputs, &d), JS_OK);
  RtState *s = fx_trained_state(m.g, 1);
  IntProg *p = NULL;
  assert_int_equal(cg_int_lower(m.g, fx_state_param, s, &p, &d), JS_OK);
  int64_t rows = 64;
  Obs o = {.p = p, .vals = calloc((size_t)p->nnodes, sizeof(double *)), .rows = rows};
  RtTensor in = {.dtype = DT_F32, .rank = 2, .dims = {rows, RT_JSC_FEATURES}, .f = (float *)data.test.x};
  const char *names[1] = {"x"};
  RtRunOpts ro = {.mode = RT_EVAL, .observe = observe, .observe_ud = &o};
  RtInterpOut out;
  assert_int_equal(rt_interp_run(m.g, s, &ro, 1, names, &in, &out, &d), JS_OK);
  assert_int_equal(p->steps[0].kind, IP_QUANT);
  p->steps[0].sh += 1;
  float *lc = calloc((size_t)(rows * p->classes), sizeof(float));
  int64_t *tc = calloc((size_t)(rows * p->trace_width), sizeof(int64_t));
  assert_int_equal(rt_int_run(p, data.test.x, rows, lc, tc, &d), JS_OK);
  assert_true(compare_ref(p, &o, tc, "control (expected to differ)") > 0);
  for (int k = 0; k < p->nnodes; k++) free(o.vals[k]);
  free(o.vals);
  free(lc);
  free(tc);
  rt_interp_out_free(&out);
  cg_int_free(p);
  rt_state_free(s);
  fx_unload(&m);
  diag_free(&d);
}

/* Inputs no data set has: NaN (code 0), infinities and huge values (saturate), exact ties at
 * the input's grid (half to even), -0: the JIT's double-precision quantization of the input
 * must give the C executor's codes. */
static void test_special_inputs(void **state) {
  (void)state;
  if (!cg_llvm_available()) skip();
  Diag d;
  diag_init(&d, stderr);
  for (int k = 0; k < 2; k++) {
    FxModel m;
    assert_int_equal(fx_load(&m, "examples/jsc_big.jsc", NULL, sets[k == 0 ? 0 : 4].cfg, explicit_inputs, &d), JS_OK);
    RtState *s = fx_trained_state(m.g, 2);
    RtIntExec *c = NULL, *j = NULL;
    assert_int_equal(rt_int_open(m.g, s, false, true, &c, &d), JS_OK);
    assert_int_equal(rt_int_open(m.g, s, true, true, &j, &d), JS_OK);
    enum { ROWS = 37 };
    float x[ROWS * RT_JSC_FEATURES];
    const float special[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 0.03125f, -0.03125f, 0.09375f, -0.09375f,
                             2.5f / 16, -2.5f / 16, -0.0f, 7.96875f, -8.03125f, 1e-40f, 255.5f / 16};
    Rng rng;
    rt_rng_seed(&rng, 8);
    for (int i = 0; i < ROWS * RT_JSC_FEATURES; i++)
      x[i] = i % 3 ? special[rt_rng_below(&rng, sizeof special / sizeof *special)] : (float)rt_rng_normal(&rng);
    const IntProg *p = c->prog;
    float lc[ROWS * 5], lj[ROWS * 5];
    int64_t *tc = calloc((size_t)(ROWS * p->trace_width), sizeof(int64_t)), *tj = calloc((size_t)(ROWS * p->trace_width), sizeof(int64_t));
    assert_int_equal(rt_int_exec(c, x, ROWS, lc, tc, &d), JS_OK);
    assert_int_equal(rt_int_exec(j, x, ROWS, lj, tj, &d), JS_OK);
    assert_memory_equal(tc, tj, sizeof(int64_t) * (size_t)(ROWS * p->trace_width));
    assert_memory_equal(lc, lj, sizeof lc);
    free(tc);
    free(tj);
    rt_int_close(c);
    rt_int_close(j);
    rt_state_free(s);
    fx_unload(&m);
  }
  diag_free(&d);
}

/* Without LLVM the JIT says so; the C executor (above) still runs. */
static void test_no_llvm(void **state) {
  (void)state;
  if (cg_llvm_available()) skip();
  Diag d;
  diag_init(&d, NULL);
  IntProg p = {0};
  IpKernel *k = NULL;
  assert_int_equal(cg_int_compile(&p, false, NULL, NULL, &k, NULL, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "built without it"));
  diag_free(&d);
}

/* The program dump names every step's node, point and bounds. */
static void test_print(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, stderr);
  FxModel m;
  assert_int_equal(fx_load(&m, "examples/jsc_tiny.jsc", NULL, sets[0].cfg, explicit_inputs, &d), JS_OK);
  RtState *s = fx_trained_state(m.g, 1);
  IntProg *p = NULL;
  assert_int_equal(cg_int_lower(m.g, fx_state_param, s, &p, &d), JS_OK);
  StrBuf sb;
  sb_init(&sb);
  cg_int_print(&sb, p);
  assert_non_null(strstr(sb_str(&sb), "quant(x * 2^4, half-even) clamp [-128, 127]"));
  assert_non_null(strstr(sb_str(&sb), "seq_blocks_2"));
  assert_non_null(strstr(sb_str(&sb), "logits = v"));
  assert_true(p->i32);
  sb_free(&sb);
  cg_int_free(p);
  rt_state_free(s);
  fx_unload(&m);
  diag_free(&d);
}

/* The intervals pass on a model small enough to work out by hand (int8 (8,4) everywhere):
 *   fc   W codes [[8, -4], [2, 16]], B codes [2, -8] << 4 = [32, -128] at 2^-8;
 *        formats: 2 * 128 * 128 + 128 * 16 = 34816 (17 bits); weights: max(128 * 12 + 32,
 *        128 * 18 + 128) = 2432 (13 bits); then >> 4 to relu's unsigned data_in
 *   act  its input's codes [0, 255] (9 bits), >> 0 to fc2's data_in
 *   fc2  W codes [24, -32], B code 1 << 4: 128 * 56 + 16 = 7184 (14 bits); the logits. */
static Value intervals_of(const Graph *g, const char *node) {
  const Value *sw = ir_meta_get(ir_graph_find_node(g, node), "software");
  assert_non_null(sw);
  for (int i = 0; i < sw->u.dict.n; i++)
    if (strcmp(sw->u.dict.keys[i], "intervals") == 0) return sw->u.dict.vals[i];
  fail_msg("%s has no software.intervals", node);
  return val_none();
}

static void run_intervals(Graph *g, RtState *s, StrBuf *sb) {
  Diag d;
  diag_init(&d, stderr);
  PassData pd = {.ud = s, .param = fx_state_param};
  Pipeline *pl = NULL;
  assert_int_equal(pass_pipeline_parse("intervals", &pl, &d), JS_OK);
  PassContext ctx = {.diag = &d, .report = sb, .data = s ? &pd : NULL};
  assert_int_equal(pass_pipeline_run(pl, g, &ctx), JS_OK);
  pass_pipeline_free(pl);
  diag_free(&d);
}

static void test_intervals(void **state) {
  (void)state;
  const char *text = "model T {\n  input x: f32[B, 2]\n  fc = Linear(2, 2)\n  act = ReLU()\n  fc2 = Linear(2, 1)\n"
                     "  return fc2(act(fc(x)))\n}\n";
  Diag d;
  diag_init(&d, stderr);
  FxModel m;
  assert_int_equal(fx_load(&m, "t.jsc", text, sets[0].cfg, explicit_inputs, &d), JS_OK);
  RtState *s = NULL;
  assert_int_equal(rt_state_new(m.g, &s, &d), JS_OK);
  const float w1[] = {0.5f, -0.25f, 0.125f, 1.0f}, b1[] = {0.125f, -0.5f}, w2[] = {1.5f, -2.0f}, b2[] = {0.0625f};
  memcpy(rt_state_tensor(s, "fc.weight"), w1, sizeof w1);
  memcpy(rt_state_tensor(s, "fc.bias"), b1, sizeof b1);
  memcpy(rt_state_tensor(s, "fc2.weight"), w2, sizeof w2);
  memcpy(rt_state_tensor(s, "fc2.bias"), b2, sizeof b2);
  StrBuf sb;
  sb_init(&sb);
  run_intervals(m.g, s, &sb);
  StrBuf md;
  sb_init(&md);
  const char *want[][2] = {
      {"fc", "{acc_frac=8, acc_bits=17, acc_bits_weights=13, f32_exact=true, f64_exact=true, shift=4}"},
      {"act", "{acc_frac=4, acc_bits=9, acc_bits_weights=9, f32_exact=true, f64_exact=true, shift=0}"},
      {"fc2", "{acc_frac=8, acc_bits=17, acc_bits_weights=14, f32_exact=true, f64_exact=true, shift=None}"},
  };
  for (int i = 0; i < 3; i++) {
    sb_clear(&md);
    Value v = intervals_of(m.g, want[i][0]);
    val_print(&md, &v);
    if (strcmp(sb_str(&md), want[i][1]) != 0) fail_msg("%s: %s, expected %s\n%s", want[i][0], sb_str(&md), want[i][1], sb_str(&sb));
  }
  const char *lines[] = {"weights: the loaded values", "34816", "2432", ">> 4 -> ufixed[8,4]", "[-32, 24]", "7184",
                         "logits (dequantized)", "widest accumulator: 14 bits (fc2); float32 fake quantization exact: yes"};
  for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
    if (!strstr(sb_str(&sb), lines[i])) fail_msg("missing '%s' in\n%s", lines[i], sb_str(&sb));
  /* without weights: format bounds only, deterministic */
  StrBuf a, b;
  sb_init(&a);
  sb_init(&b);
  run_intervals(m.g, NULL, &a);
  run_intervals(m.g, NULL, &b);
  assert_string_equal(sb_str(&a), sb_str(&b));
  assert_non_null(strstr(sb_str(&a), "none loaded: format bounds only"));
  assert_non_null(strstr(sb_str(&a), "widest accumulator: 17 bits (fc)"));
  sb_free(&a);
  sb_free(&b);
  sb_free(&md);
  sb_free(&sb);
  rt_state_free(s);
  fx_unload(&m);

  /* int16 (16,8): 2 * 2^15 * 2^15 + ... needs 33 bits: float32 is not exact */
  assert_int_equal(fx_load(&m, "t.jsc", text,
                             "{name=integer, data_in_width=16, data_in_frac_width=8, weight_width=16, weight_frac_width=8, "
                             "bias_width=16, bias_frac_width=8}",
                             explicit_inputs, &d),
                   JS_OK);
  sb_init(&sb);
  run_intervals(m.g, NULL, &sb);
  assert_non_null(strstr(sb_str(&sb), "float32 fake quantization exact: no"));
  Value v = intervals_of(m.g, "fc");
  sb_init(&md);
  val_print(&md, &v);
  assert_string_equal(sb_str(&md), "{acc_frac=16, acc_bits=33, f32_exact=false, f64_exact=true, shift=8}");
  sb_free(&md);
  sb_free(&sb);
  fx_unload(&m);
  diag_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rshift),   cmocka_unit_test(test_quant_in), cmocka_unit_test(test_examples),
      cmocka_unit_test(test_functional), cmocka_unit_test(test_conv1d), cmocka_unit_test(test_explicit), cmocka_unit_test(test_noop_and_params),
      cmocka_unit_test(test_refusals), cmocka_unit_test(test_control),  cmocka_unit_test(test_no_llvm),
      cmocka_unit_test(test_print),    cmocka_unit_test(test_intervals), cmocka_unit_test(test_special_inputs),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
