/* test_codegen.c — the JIT kernels against the plain C reference executor.
 *
 * For every example model and the test models that cover the other ops: one training step
 * of the JIT (forward, loss, backward, Adam update fused) against rt_interp_run in training
 * mode followed by rt_optim_step; then an evaluation step against rt_interp_run in eval
 * mode.  A partial batch (rows not a multiple of the vector width) checks the padding
 * masks.  Tolerance: |jit - ref| <= 1e-5 * max(|ref|, scale of the tensor), the scale being
 * the tensor's largest magnitude (so a near-zero element is judged against its tensor).
 * Prints the largest relative difference per model, as llm.c's tests do.  Skipped (exit 77)
 * when jscc was built without LLVM. */
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

typedef struct Model {
  Program *prog;
  Graph *g;
  Arena *arena;
} Model;

static Model load(const char *path, const char *pipeline) {
  Model m = {0};
  Diag d;
  diag_init(&d, stderr);
  m.arena = arena_new();
  SrcFile *src = NULL;
  assert_int_equal(diag_read_file(m.arena, path, &src, &d), JS_OK);
  assert_int_equal(fe_parse(src, &m.prog, &d), JS_OK);
  m.g = m.prog->graphs[0];
  assert_int_equal(pass_run_text(pipeline, m.g, &d), JS_OK);
  diag_free(&d);
  return m;
}
static void unload(Model *m) {
  ir_program_free(m->prog);
  arena_free(m->arena);
}

/* max over elements of |a-b| / max(|b|, scale) */
static double rel_diff(const float *a, const float *b, size_t n) {
  double scale = 1e-30, worst = 0;
  for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)a[i] - b[i]) / fmax(fabs(b[i]), scale);
    if (!(e <= worst)) worst = e; /* NaN counts as worst */
  }
  return worst;
}

typedef struct Step {
  int64_t batch, n;
  int features, classes;
  float *x_rows;    /* [n][features] */
  int64_t *y64;     /* [n] */
} Step;

static size_t last_instructions; /* the last checked training step's LLVM instructions */
/* When set, check_model_q makes this parameter's first element NaN and expects a NaN loss from
 * both engines (relu(NaN) is NaN, as in PyTorch), instead of comparing them. */
static const char *nan_param;

static void check_model_q(const char *path, const char *quant, int64_t batch, int64_t n, double tol) {
  char pipeline[1024];
  snprintf(pipeline, sizeof pipeline, "%s%sshape,grad", quant ? quant : "", quant ? "," : "");
  Model m = load(path, pipeline);
  Diag d;
  diag_init(&d, stderr);
  RtState *ref = NULL, *jit = NULL;
  assert_int_equal(rt_state_new(m.g, &ref, &d), JS_OK);
  assert_int_equal(rt_state_new(m.g, &jit, &d), JS_OK);
  Rng rng;
  rt_rng_seed(&rng, 1);
  rt_state_init(ref, &rng);
  /* nontrivial BatchNorm parameters and running statistics */
  for (int i = 0; i < m.g->nparams; i++) {
    const Param *p = m.g->params[i];
    if (ref->off[i] == (size_t)-1) continue;
    float *t = ref->data + ref->off[i];
    if (strstr(p->qualname, "running_var") || (strstr(p->name, "weight") && p->type.rank == 1))
      for (size_t k = 0; k < ref->numel[i]; k++) t[k] = 0.5f + (float)rt_rng_uniform(&rng);
    if (strstr(p->qualname, "running_mean") || (strstr(p->name, "bias") && p->type.rank == 1))
      for (size_t k = 0; k < ref->numel[i]; k++) t[k] = (float)rt_rng_normal(&rng) * 0.3f;
  }
  for (int i = 0; nan_param && i < m.g->nparams; i++)
    if (strcmp(m.g->params[i]->qualname, nan_param) == 0) ref->data[ref->off[i]] = NAN;
  assert_int_equal(rt_state_copy(jit, ref), JS_OK);

  CgOptions o = {.batch = batch, .param_off = ref->off, .train = true, .optim = {.kind = CG_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}};
  CgPlan *plan = NULL, *eplan = NULL;
  if (cg_plan_build(m.g, &o, &plan, &d)) fail_msg("%s: %s", path, sb_str(&d.text));
  o.train = false;
  o.want_logits = true;
  assert_int_equal(cg_plan_build(m.g, &o, &eplan, &d), JS_OK);
  CgKernel *kt = NULL, *ke = NULL;
  CgCompileInfo info;
  if (cg_llvm_compile(plan, &kt, NULL, &info, &d)) fail_msg("%s", sb_str(&d.text));
  assert_int_equal(cg_llvm_compile(eplan, &ke, NULL, NULL, &d), JS_OK);

  int F = cg_plan_features(plan), C = cg_plan_classes(plan);
  int64_t bp = cg_plan_bpad(plan);
  float *xr = calloc((size_t)(n * F), sizeof(float));
  int64_t *y64 = calloc((size_t)n, sizeof(int64_t));
  float *xf = aligned_alloc(64, (size_t)(F * bp) * sizeof(float) + 64);
  int32_t *y32 = aligned_alloc(64, (size_t)bp * sizeof(int32_t) + 64);
  float *valid = aligned_alloc(64, (size_t)bp * sizeof(float) + 64);
  memset(xf, 0, (size_t)(F * bp) * sizeof(float));
  memset(y32, 0, (size_t)bp * sizeof(int32_t));
  for (int64_t i = 0; i < bp; i++) valid[i] = i < n ? 1.0f : 0.0f;
  for (int64_t i = 0; i < n; i++) {
    for (int f = 0; f < F; f++) xf[f * bp + i] = xr[i * F + f] = (float)rt_rng_normal(&rng);
    y32[i] = (int32_t)(y64[i] = (int64_t)rt_rng_below(&rng, (uint64_t)C));
  }
  size_t ns = cg_plan_scratch_floats(plan) > cg_plan_scratch_floats(eplan) ? cg_plan_scratch_floats(plan) : cg_plan_scratch_floats(eplan);
  float *scratch = aligned_alloc(64, ns * sizeof(float) + 64);
  float *om = calloc(jit->total + 1, sizeof(float)), *ov = calloc(jit->total + 1, sizeof(float));
  float *logits = aligned_alloc(64, (size_t)(C * bp) * sizeof(float) + 64);
  double metrics[2] = {0};

  /* reference: train step + Adam */
  RtTensor in[2] = {{.dtype = DT_F32, .rank = 2, .dims = {n, F}, .f = xr}, {.dtype = DT_I64, .rank = 1, .dims = {n}, .i = y64}};
  const char *names[2] = {"x", "target"};
  RtRunOpts ro = {.mode = RT_TRAIN, .seed = 7, .step = 3};
  RtInterpOut out;
  if (rt_interp_run(m.g, ref, &ro, 2, names, in, &out, &d)) fail_msg("%s", sb_str(&d.text));
  OptimConfig oc;
  rt_optim_default(&oc, OPTIM_ADAM);
  oc.lr = 1e-2;
  OptimState ost;
  assert_int_equal(rt_optim_state_new(OPTIM_ADAM, ref->total, &ost, &d), JS_OK);
  uint8_t *mask = calloc(ref->total + 1, 1);
  rt_state_trainable_mask(ref, mask);
  CgArgs a = {.params = jit->data, .grads = jit->grad, .x = xf, .y = y32, .valid = valid, .scratch = scratch,
              .opt_m = om, .opt_v = ov, .i64 = jit->i64, .metrics = metrics, .n = n, .lr = 1e-2, .step = 1,
              .seed = 7, .dstep = 3};
  cg_kernel_run(kt, &a);
  if (nan_param) {
    printf("%s with %s = NaN: loss %g (reference), %g (JIT)\n", path, nan_param, out.loss, metrics[0] / (double)n);
    assert_true(isnan(out.loss) && isnan(metrics[0]));
    rt_interp_out_free(&out);
    free(mask);
    rt_optim_state_free(&ost);
    goto done;
  }
  /* Gradients are compared with a floor at 1e-5 of the model's largest gradient: a gradient
   * that is zero in exact arithmetic (a Linear bias feeding a BatchNorm) is float noise in
   * both PyTorch and the JIT.  The optimizer is then checked on the same gradients. */
  double gscale = 0;
  for (size_t k = 0; k < ref->total; k++) gscale = fmax(gscale, fabs(ref->grad[k]));
  double dg = 0;
  for (int i = 0; i < m.g->nparams; i++) {
    if (ref->off[i] == (size_t)-1) continue;
    for (size_t k = 0; k < ref->numel[i]; k++) {
      double r = ref->grad[ref->off[i] + k], j = jit->grad[ref->off[i] + k];
      double e = fabs(j - r) / fmax(gscale, 1e-30);
      if (e > dg) dg = e;
      if (e > tol && getenv("JSCC_TEST_VERBOSE")) printf("  %s[%zu]: jit %.9g ref %.9g\n", m.g->params[i]->qualname, k, j, r);
      if (e > tol && !getenv("JSCC_TEST_VERBOSE")) fail_msg("%s: %s[%zu]: jit %.9g ref %.9g", path, m.g->params[i]->qualname, k, j, r);
    }
  }
  memcpy(ref->grad, jit->grad, ref->total * sizeof(float));
  rt_optim_step(&oc, &ost, ref->data, ref->grad, mask, 1e-2);
  double dl = fabs(metrics[0] / (double)n - out.loss) / fabs(out.loss);
  double dp = rel_diff(jit->data, ref->data, ref->total);
  for (int i = 0; i < m.g->nparams; i++) {
    if (ref->off[i] == (size_t)-1) {
      assert_true(jit->i64[i] == ref->i64[i]);
      continue;
    }
    double e2 = rel_diff(jit->data + ref->off[i], ref->data + ref->off[i], ref->numel[i]);
    if (e2 > tol) fail_msg("%s: %s: value diff %.3g after the update", path, m.g->params[i]->qualname, e2);
  }
  /* accuracy of the training step's logits */
  int64_t correct = 0;
  for (int64_t i = 0; i < n; i++) {
    int best = 0;
    for (int c = 1; c < C; c++)
      if (out.logits.f[i * C + c] > out.logits.f[i * C + best]) best = c;
    correct += best == y64[i];
  }
  assert_true(fabs(metrics[1] - (double)correct) <= 1.0); /* a tie may break either way */
  rt_interp_out_free(&out);

  /* evaluation step on the updated parameters */
  RtRunOpts eo = {.mode = RT_EVAL};
  if (rt_interp_run(m.g, ref, &eo, 2, names, in, &out, &d)) fail_msg("%s", sb_str(&d.text));
  CgArgs e = a;
  e.logits = logits;
  cg_kernel_run(ke, &e);
  float *lj = calloc((size_t)(n * C), sizeof(float));
  for (int64_t i = 0; i < n; i++)
    for (int c = 0; c < C; c++) lj[i * C + c] = logits[c * bp + i];
  double de = rel_diff(lj, out.logits.f, (size_t)(n * C));
  double del = fabs(e.metrics[0] / (double)n - out.loss) / fabs(out.loss);
  printf("%-28s%s batch %4lld n %4lld  passes %d  loss %.2e  grads %.2e  params %.2e  eval logits %.2e loss %.2e  "
         "(render %.1f ms, compile %.1f ms, %zu instructions)\n",
         path, quant ? " (int8)" : "", (long long)batch, (long long)n, cg_plan_passes(plan), dl, dg, dp, de, del, info.render_ms, info.compile_ms,
         info.ir_instructions);
  last_instructions = info.ir_instructions;
  assert_true(dl <= tol && dg <= tol && dp <= tol && de <= tol && del <= tol);

  rt_interp_out_free(&out);
  free(lj);
  free(mask);
  rt_optim_state_free(&ost);
done:
  free(xr), free(y64), free(xf), free(y32), free(valid), free(scratch), free(om), free(ov), free(logits);
  cg_kernel_free(kt);
  cg_kernel_free(ke);
  cg_plan_free(plan);
  cg_plan_free(eplan);
  rt_state_free(ref);
  rt_state_free(jit);
  diag_free(&d);
  unload(&m);
}

static void check_model(const char *path, int64_t batch, int64_t n, double tol) {
  check_model_q(path, NULL, batch, n, tol);
}

/* Every quantizable node at fixed[8,4] (BatchNorm in its folded form, spec/quant.md):
 * quantization-aware training's step (fake quantization forward, straight-through
 * backward) and the quantized evaluation step against the reference executor.  The JIT
 * quantizes float32 values, the reference double ones: the same wherever a value is not
 * within rounding of a grid point's midpoint.  These inputs (fixed seeds) have no such value;
 * were one to appear, one element would differ by a grid step, far above the tolerance. */
static const char *const INT8 =
    "quantize{by=type, default={name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, "
    "weight_frac_width=4, bias_width=8, bias_frac_width=4}, batch_norm1d={name=integer, data_in_width=8, "
    "data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8, bias_frac_width=4}}";

static void test_quantized(void **state) {
  (void)state;
  const char *models[] = {"examples/jsc_tiny.jsc", "examples/jsc_big.jsc", "examples/jsc_toy.jsc",
                          "examples/hls4ml_jsc.jsc", "test/models/jit_ops.jsc"};
  for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
    check_model_q(models[i], INT8, 256, 256, 1e-4);
    check_model_q(models[i], INT8, 128, 77, 1e-4);
  }
}

/* Every other number format (spec/quant.md §2) on every slot the config gives, jsc_tiny and
 * jsc_big (BatchNorm's folded scale and shift quantized too): the training step and the
 * evaluation step against the reference executor, as test_quantized. */
static void test_quantized_formats(void **state) {
  (void)state;
  static const char *const cfgs[] = {
      "{name=minifloat_ieee, data_in_width=8, data_in_exponent_width=4, weight_width=8, weight_exponent_width=4, "
      "bias_width=8, bias_exponent_width=4, data_out_width=8, data_out_exponent_width=4}",
      "{name=minifloat_denorm, data_in_width=8, data_in_exponent_width=4, weight_width=8, weight_exponent_width=4, "
      "bias_width=8, bias_exponent_width=4}",
      "{name=log, data_in_width=8, weight_width=8, bias_width=8}",
      "{name=block_fp, data_in_width=8, data_in_exponent_width=8, data_in_block_size=4, weight_width=8, "
      "weight_exponent_width=8, weight_block_size=4, bias_width=8, bias_exponent_width=8, bias_block_size=4}",
      "{name=binary, data_in_bipolar=true, weight_bipolar=true, bias_bipolar=false}",
      "{name=ternary, weight_scaling_factor=true, weight_median=true, bias_mean=true}",
      "{name=block_minifloat, data_in_width=8, data_in_exponent_width=4, data_in_exponent_bias_width=8, "
      "data_in_block_size=4, weight_width=8, weight_exponent_width=4, weight_exponent_bias_width=8, bias_width=8, "
      "bias_exponent_width=4, bias_exponent_bias_width=8}",
      "{name=block_log, data_in_width=8, data_in_exponent_bias_width=8, data_in_block_size=4, weight_width=8, "
      "weight_exponent_bias_width=8, bias_width=8, bias_exponent_bias_width=8}",
  };
  const char *models[] = {"examples/jsc_tiny.jsc", "examples/jsc_big.jsc"};
  for (size_t c = 0; c < sizeof cfgs / sizeof *cfgs; c++)
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
      /* binary's one boundary is 0, where jsc_big's BatchNorm outputs crowd: float (JIT) and
       * double (reference) put some of them on different sides */
      if (strstr(cfgs[c], "binary") && i == 1) continue;
      char q[512];
      snprintf(q, sizeof q, "quantize{by=type, default=%s}", cfgs[c]);
      check_model_q(models[i], q, 256, 256, 1e-4);
      check_model_q(models[i], q, 128, 77, 1e-4);
    }
}

/* The functional forms (test/models/jit_ops.jsc): a one-element parameter broadcast over
 * features, parameter weights, every activation, softmax, dropout, matmul, arithmetic. */
static void test_functional_ops(void **state) {
  (void)state;
  check_model("test/models/jit_ops.jsc", 256, 256, 1e-5);
  /* 45 rows: feature 6 of the BatchNorm's input is nearly all zero after the ReLU, so its
   * tiny variance multiplies float32 rounding (the JIT) against double (the reference) into
   * 1e-4 of that feature's gradients.  That is conditioning, not a kernel difference: every
   * other tensor agrees to 1e-6. */
  check_model("test/models/jit_ops.jsc", 64, 45, 2e-4);
}

/* Layers wider than the kernels unroll (test/models/jit_wide*.jsc): 4096 hidden features
 * (4096-long sums, values in scratch) and a 300 x 300 layer (loops over both dimensions).
 * The module must not grow with the width: the 4096-wide step renders to fewer LLVM
 * instructions than jsc_big's (unrolled over 4096 features it was hundreds of thousands). */
static void test_wide(void **state) {
  (void)state;
  check_model("test/models/jit_wide.jsc", 64, 64, 1e-4);
  assert_true(last_instructions < 5000);
  check_model("test/models/jit_wide.jsc", 32, 21, 1e-4);
  check_model("test/models/jit_wide2.jsc", 64, 64, 1e-4);
  check_model("test/models/jit_wide2.jsc", 32, 21, 1e-4);
}

/* Conv1d (test/models/jit_conv.jsc): the Toeplitz affine forward, its transpose for the input
 * gradient and the folded outer product for the weight gradient, with stride, padding,
 * dilation and groups, the module and the function; then the same under fixed[8,4] (the
 * training graph's fake-quantized weights and inputs: quantization-aware training). */
static void test_conv1d(void **state) {
  (void)state;
  check_model("test/models/jit_conv.jsc", 256, 256, 1e-5);
  check_model("test/models/jit_conv.jsc", 128, 77, 1e-5);
  check_model_q("test/models/jit_conv.jsc", INT8, 256, 256, 1e-4);
  check_model_q("test/models/jit_conv.jsc", INT8, 128, 77, 1e-4);
}

/* CgOptions.on_compile: told once per compile, before it, with the rendered module's size
 * and cg_llvm_expect_ms of it. */
typedef struct Told {
  int calls;
  CgCompileEstimate e;
} Told;
static void on_compile(void *ud, const CgCompileEstimate *e) {
  Told *t = ud;
  t->calls++;
  t->e = *e;
}
static void test_compile_hook(void **state) {
  (void)state;
  Model m = load("test/models/jit_wide.jsc", "shape,grad");
  Diag d;
  diag_init(&d, stderr);
  RtState *s = NULL;
  assert_int_equal(rt_state_new(m.g, &s, &d), JS_OK);
  Told told = {0};
  CgOptions o = {.batch = 64, .param_off = s->off, .train = true, .optim = {.kind = CG_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8},
                 .on_compile = on_compile, .on_compile_ud = &told};
  CgPlan *plan = NULL;
  assert_int_equal(cg_plan_build(m.g, &o, &plan, &d), JS_OK);
  CgKernel *k = NULL;
  CgCompileInfo info;
  assert_int_equal(cg_llvm_compile(plan, &k, NULL, &info, &d), JS_OK);
  assert_int_equal(told.calls, 1);
  assert_true(told.e.train);
  assert_int_equal(told.e.ir_instructions, info.ir_instructions);
  assert_true(told.e.expect_ms == cg_llvm_expect_ms(info.ir_instructions) && told.e.expect_ms > 0);
  printf("on_compile: %zu instructions, expect %.0f ms, took %.0f ms\n", told.e.ir_instructions, told.e.expect_ms,
         info.render_ms + info.compile_ms);
  cg_kernel_free(k);
  cg_plan_free(plan);
  /* through a kernel cache: the miss compiles and tells, the hit does neither */
  char dir[] = "/tmp/jscc-hook-XXXXXX";
  assert_non_null(mkdtemp(dir));
  o.kernel_cache = dir;
  told.calls = 0;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(cg_plan_build(m.g, &o, &plan, &d), JS_OK);
    assert_int_equal(cg_llvm_compile(plan, &k, NULL, &info, &d), JS_OK);
    assert_int_equal(info.cache_hit, i == 1);
    assert_int_equal(told.calls, 1);
    cg_kernel_free(k);
    cg_plan_free(plan);
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  rt_state_free(s);
  diag_free(&d);
  unload(&m);
}

/* The activations of ew.def beyond jit_ops's (test/models/jit_act.jsc), each in module and
 * function form, trained one step by the JIT against the reference executor. */
static void test_activations(void **state) {
  (void)state;
  check_model("test/models/jit_act.jsc", 256, 256, 1e-5);
  check_model("test/models/jit_act.jsc", 128, 77, 1e-5);
}

/* NaN weights give a NaN loss, in the reference executor and the JIT alike: jsc_tiny's NaN
 * passes BatchNorm and Linear into ReLU, which must not turn it into 0. */
static void test_nan_weights(void **state) {
  (void)state;
  nan_param = "seq_blocks.2.weight";
  check_model("examples/jsc_tiny.jsc", 256, 256, 0);
  nan_param = NULL;
}

static void test_examples(void **state) {
  (void)state;
  /* The bar, 1e-5, for the models it names; the deeper models (five layers, float
   * accumulation through each) are held to 1e-4 of the largest gradient. */
  const char *models[] = {"examples/jsc_tiny.jsc", "examples/jsc_big.jsc", "examples/jsc_toy.jsc",
                          "examples/jsc_s.jsc", "examples/jsc_trt.jsc", "examples/hls4ml_jsc.jsc"};
  for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
    double tol = i < 2 ? 1e-5 : 1e-4;
    check_model(models[i], 256, 256, tol);
    check_model(models[i], 128, 77, tol); /* a partial batch: padding rows must not count */
  }
}

int main(void) {
  if (!cg_llvm_available()) return 77;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_examples),
    cmocka_unit_test(test_functional_ops),
    cmocka_unit_test(test_wide),
    cmocka_unit_test(test_conv1d),
    cmocka_unit_test(test_compile_hook),
    cmocka_unit_test(test_activations),
    cmocka_unit_test(test_nan_weights),
    cmocka_unit_test(test_quantized),
    cmocka_unit_test(test_quantized_formats),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
