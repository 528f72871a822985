/* test_cuda.c — the CUDA renderer (codegen/cuda.c) and NVRTC (codegen/nvrtc.c), no GPU needed.
 *
 * For every example model (and jsc_tiny quantized to fixed[8,4]): the training and the
 * evaluation plan at batch 256 are rendered and compared with golden files
 * (test/golden/<model>.train.cu, <model>.eval.cu; JSCC_UPDATE_GOLDEN=1 rewrites them), so a
 * change of the generated kernels shows as a diff.  Every rendering, and plans at batch 1000
 * (more rows than threads: the row tiles loop) and with the other optimizers, is compiled to
 * PTX by NVRTC for compute_90, and when the toolkit's ptxas exists the PTX is assembled for
 * sm_90, which catches what NVRTC leaves to the assembler (register and local-memory
 * limits); the same source serves one trial and a group of trials (a launch of one block
 * per trial), so these compiles cover both.  What the kernels compute is checked by running
 * them on the CPU (test_emulated: the source compiled as C++ against an emulation of the
 * block, compared with the CPU JIT; test_emulated_group: launches of several blocks, each
 * trial with its own model, row order, learning rate and seed, against each trial alone).
 * Also: a plan the renderer cannot express fails with a message naming why, a failed
 * allocation while rendering is reported, and an NVRTC error comes back with NVRTC's compile
 * log.  Skipped (exit 77) when libnvrtc cannot be loaded. */
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cuda.h"
#include "frontend.h"
#include "passes.h"
#include "runtime.h"
#include "fixture.h"
#include "../cuda_emu.h"
#include "../fail_nth.h"

static const char *const PTXAS = "/usr/local/cuda/bin/ptxas";

typedef struct Model {
  Arena *arena;
  Program *prog;
  Graph *g;
  RtState *st;
} Model;

static Model load_src(SrcFile *src, Arena *arena, const char *pipeline) {
  Model m = {.arena = arena};
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(fe_parse(src, &m.prog, &d), JS_OK);
  m.g = m.prog->graphs[0];
  assert_int_equal(pass_run_text(pipeline, m.g, &d), JS_OK);
  assert_int_equal(rt_state_new(m.g, &m.st, &d), JS_OK);
  diag_free(&d);
  return m;
}

static Model load(const char *path, const char *pipeline) {
  Arena *arena = arena_new();
  Diag d;
  diag_init(&d, stderr);
  SrcFile *src = NULL;
  assert_int_equal(diag_read_file(arena, path, &src, &d), JS_OK);
  diag_free(&d);
  return load_src(src, arena, pipeline);
}

static void unload(Model *m) {
  rt_state_free(m->st);
  ir_program_free(m->prog);
  arena_free(m->arena);
}

static const CgOptim ADAM = {.kind = CG_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8};

static CgPlan *plan_opt(const Model *m, bool train, int64_t batch, const CgOptim *opt) {
  CgOptions o = {.batch = batch, .vec = 16, .param_off = m->st->off, .train = train, .want_logits = !train, .optim = *opt};
  Diag d;
  diag_init(&d, stderr);
  CgPlan *p = NULL;
  if (cg_plan_build(m->g, &o, &p, &d)) fail_msg("plan: %s", sb_str(&d.text));
  diag_free(&d);
  return p;
}
static CgPlan *plan(const Model *m, bool train, int64_t batch) { return plan_opt(m, train, batch, &ADAM); }

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* NVRTC for compute_90, then ptxas for sm_90 when the toolkit has it. */
static void compile(const char *what, const char *src) {
  Diag d;
  diag_init(&d, NULL);
  StrBuf ptx;
  sb_init(&ptx);
  double t0 = now_ms();
  if (cg_nvrtc_compile(src, 90, &ptx, &d)) fail_msg("%s: %s", what, sb_str(&d.text));
  double t1 = now_ms();
  assert_non_null(strstr(sb_str(&ptx), ".entry"));
  double t2 = t1;
  if (access(PTXAS, X_OK) == 0) {
    char path[] = "/tmp/jscc_test_cuda_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    fputs(sb_str(&ptx), f);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s -arch=sm_90 -o /dev/null %s", PTXAS, path);
    int rc = system(cmd);
    unlink(path);
    if (rc != 0) fail_msg("%s: ptxas -arch=sm_90 failed (status %d)", what, rc);
    t2 = now_ms();
  }
  printf("  %-34s nvrtc %6.0f ms  ptxas %6.0f ms  %7zu bytes of PTX\n", what, t1 - t0, t2 - t1, ptx.len);
  sb_free(&ptx);
  diag_free(&d);
}

/* Renders a plan (checking the golden file when `golden` is given) and compiles it. */
static void render_compile(const char *what, const CgPlan *p, const char *golden) {
  Diag d;
  diag_init(&d, stderr);
  StrBuf src;
  sb_init(&src);
  if (cg_cuda_render(p, &src, &d)) fail_msg("%s: %s", what, sb_str(&d.text));
  size_t sh = cg_cuda_shared_bytes(p);
  assert_true(sh > 0 && sh <= 48 * 1024);
  char dyn[64];
  snprintf(dyn, sizeof dyn, "%zu bytes of shared", sh);
  assert_non_null(strstr(sb_str(&src), dyn)); /* the header states what the launch must give */
  if (golden) tl_check_golden(golden, sb_str(&src));
  /* deterministic: a second rendering is the same text */
  StrBuf again;
  sb_init(&again);
  assert_int_equal(cg_cuda_render(p, &again, &d), JS_OK);
  assert_string_equal(sb_str(&src), sb_str(&again));
  sb_free(&again);
  compile(what, sb_str(&src));
  sb_free(&src);
  diag_free(&d);
}

static const char *const INT8 =
    "quantize{by=type, default={name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, "
    "weight_frac_width=4, bias_width=8, bias_frac_width=4}, batch_norm1d={name=integer, data_in_width=8, "
    "data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8, bias_frac_width=4}}";

/* Every other number format (codegen/cuda.c's device quantizers), one config each, with
 * data_in, weight, bias and (minifloat_ieee) data_out quantized. */
static const char *const FORMATS[][2] = {
    {"minifloat_ieee", "{name=minifloat_ieee, data_in_width=8, data_in_exponent_width=4, weight_width=8, weight_exponent_width=4, "
                       "bias_width=8, bias_exponent_width=4, data_out_width=8, data_out_exponent_width=4}"},
    {"minifloat_denorm", "{name=minifloat_denorm, data_in_width=8, data_in_exponent_width=4, weight_width=8, "
                         "weight_exponent_width=4, bias_width=6, bias_exponent_width=3}"},
    {"log", "{name=log, data_in_width=8, weight_width=8, bias_width=5}"},
    {"block_fp", "{name=block_fp, data_in_width=8, data_in_exponent_width=8, data_in_block_size=4, weight_width=6, "
                 "weight_exponent_width=4, weight_block_size=[3, 5], bias_width=8, bias_exponent_width=8, bias_block_size=3}"},
    {"binary", "{name=binary, data_in_bipolar=true, weight_bipolar=true, bias_bipolar=false}"},
    {"ternary", "{name=ternary, weight_scaling_factor=true, weight_median=true, bias_mean=true}"},
    {"block_minifloat", "{name=block_minifloat, data_in_width=8, data_in_exponent_width=4, data_in_exponent_bias_width=8, "
                        "data_in_block_size=4, weight_width=6, weight_exponent_width=2, weight_exponent_bias_width=3, "
                        "weight_block_size=[2, 5], bias_width=8, bias_exponent_width=4, bias_exponent_bias_width=8}"},
    {"block_log", "{name=block_log, data_in_width=8, data_in_exponent_bias_width=8, data_in_block_size=4, weight_width=5, "
                  "weight_exponent_bias_width=4, weight_block_size=[4, 3], bias_width=8, bias_exponent_bias_width=8}"},
};

/* name: the golden files' stem; quant: a quantize pass run before shape,grad (or NULL). */
static void check_model(const char *name, const char *quant, bool big_batch) {
  char path[256], pipeline[1024], what[128], golden[128];
  const char *base = strchr(name, '.') ? "jsc_tiny" : name;
  snprintf(path, sizeof path, "examples/%s.jsc", base);
  snprintf(pipeline, sizeof pipeline, "%s%sshape,grad", quant ? quant : "", quant ? "," : "");
  Model m = load(path, pipeline);
  for (int train = 1; train >= 0; train--) {
    CgPlan *p = plan(&m, train, 256);
    snprintf(what, sizeof what, "%s %s batch 256", name, train ? "train" : "eval");
    snprintf(golden, sizeof golden, "%s.%s.cu", name, train ? "train" : "eval");
    render_compile(what, p, golden);
    cg_plan_free(p);
    if (big_batch) {
      p = plan(&m, train, 1000);
      snprintf(what, sizeof what, "%s %s batch 1000", name, train ? "train" : "eval");
      render_compile(what, p, NULL);
      cg_plan_free(p);
    }
  }
  unload(&m);
}

/* Each format's jsc_tiny training kernel against its golden file
 * (test/golden/jsc_tiny.<format>.train.cu), the evaluation kernel compiled too. */
static void test_formats(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof FORMATS / sizeof *FORMATS; i++) {
    char pipeline[1024], what[128], golden[128];
    snprintf(pipeline, sizeof pipeline, "quantize{by=type, default=%s, batch_norm1d=%s},shape,grad", FORMATS[i][1],
             FORMATS[i][1]); /* every quantizable node, BatchNorm included */
    Model m = load("examples/jsc_tiny.jsc", pipeline);
    for (int train = 1; train >= 0; train--) {
      CgPlan *p = plan(&m, train, 256);
      snprintf(what, sizeof what, "jsc_tiny.%s %s batch 256", FORMATS[i][0], train ? "train" : "eval");
      snprintf(golden, sizeof golden, "jsc_tiny.%s.train.cu", FORMATS[i][0]);
      render_compile(what, p, train ? golden : NULL);
      cg_plan_free(p);
    }
    unload(&m);
  }
}

/* Batch 1000 (more rows than threads) for the smallest models: the kernels differ from batch
 * 256 only in the row buffers' stride, so two models are enough (and compiling is slow). */
static void test_examples(void **state) {
  (void)state;
  static const char *const models[] = {"jsc_tiny", "jsc_big", "jsc_toy", "jsc_s", "jsc_trt", "hls4ml_jsc"};
  for (size_t i = 0; i < sizeof models / sizeof *models; i++)
    check_model(models[i], NULL, strcmp(models[i], "jsc_tiny") == 0 || strcmp(models[i], "jsc_toy") == 0);
}

/* The other optimizers' updates (the examples use Adam): SGD with momentum, dampening,
 * Nesterov and weight decay, AdamW with decoupled decay. */
static void test_optimizers(void **state) {
  (void)state;
  Model m = load("examples/jsc_tiny.jsc", "shape,grad");
  const CgOptim opts[] = {
    {.kind = CG_SGD, .momentum = 0.9, .dampening = 0.1, .nesterov = true, .weight_decay = 1e-4},
    {.kind = CG_SGD},
    {.kind = CG_ADAMW, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01},
  };
  const char *names[] = {"jsc_tiny sgd nesterov", "jsc_tiny sgd plain", "jsc_tiny adamw"};
  for (int i = 0; i < 3; i++) {
    CgPlan *p = plan_opt(&m, true, 256, &opts[i]);
    render_compile(names[i], p, NULL);
    cg_plan_free(p);
  }
  unload(&m);
}

static void test_quantized(void **state) {
  (void)state;
  check_model("jsc_tiny.int8", INT8, false);
}

/* Conv1d (test/models/jit_conv.jsc): the gather and fold points and their index table.  The
 * training kernel is checked against its golden file (test_emulated runs it), the evaluation
 * kernel is compiled by NVRTC (the training kernel's compile would add 15 s to this test). */
static void test_conv1d(void **state) {
  (void)state;
  Model m = load("test/models/jit_conv.jsc", "shape,grad");
  Diag d;
  diag_init(&d, stderr);
  StrBuf src;
  sb_init(&src);
  CgPlan *p = plan(&m, true, 256);
  if (cg_cuda_render(p, &src, &d)) fail_msg("jit_conv train: %s", sb_str(&d.text));
  assert_non_null(strstr(sb_str(&src), "static __device__ const int jsc_tabs["));
  tl_check_golden("jit_conv.train.cu", sb_str(&src));
  cg_plan_free(p);
  sb_free(&src);
  diag_free(&d);
  p = plan(&m, false, 256);
  render_compile("jit_conv eval batch 256", p, NULL);
  cg_plan_free(p);
  unload(&m);
}

/* A layer too wide for the staged sums: the renderer says so (the CPU JIT still runs it). */
static void test_unexpressible(void **state) {
  (void)state;
  static const char text[] = "model Wide {\n"
                             "    input x: f32[B, 9000]\n"
                             "    fc = Linear(9000, 5)\n"
                             "    return fc(x)\n"
                             "}\n";
  Arena *arena = arena_new();
  Model m = load_src(diag_src_from_string(arena, "wide.jsc", text, sizeof text - 1), arena, "shape,grad");
  CgPlan *p = plan(&m, true, 256);
  Diag d;
  diag_init(&d, NULL);
  StrBuf src;
  sb_init(&src);
  assert_int_equal(cg_cuda_render(p, &src, &d), JS_ERR);
  printf("  expected error: %s", sb_str(&d.text));
  assert_non_null(strstr(sb_str(&d.text), "outer product of 5 x 9000"));
  assert_non_null(strstr(sb_str(&d.text), "shared memory"));
  assert_int_equal(cg_cuda_shared_bytes(p), 0);
  sb_free(&src);
  diag_free(&d);
  cg_plan_free(p);
  /* its evaluation plan has no such sum and renders */
  p = plan(&m, false, 256);
  render_compile("wide eval batch 256", p, NULL);
  cg_plan_free(p);
  unload(&m);
}

/* Every allocation of a rendering failed in turn: JS_ENOMEM each time, no crash, no leak
 * (the ASan build checks), then the normal text. */
static void test_render_oom(void **state) {
  (void)state;
  Model m = load("examples/jsc_tiny.jsc", "shape,grad");
  CgPlan *p = plan(&m, true, 256);
  FailNth h;
  for (long n = 0;; n++) {
    Diag d;
    diag_init(&d, NULL);
    StrBuf src;
    sb_init(&src);
    fail_nth_install(&h, n);
    Status st = cg_cuda_render(p, &src, &d);
    long calls = h.calls;
    ir_set_alloc_hook(NULL, NULL);
    sb_free(&src);
    diag_free(&d);
    if (calls <= n) {
      assert_int_equal(st, JS_OK);
      break;
    }
    assert_int_equal(st, JS_ENOMEM);
  }
  cg_plan_free(p);
  unload(&m);
}

/* ---- the kernels run on the CPU: an emulation of the CUDA features they use ----
 *
 * What a kernel computes is checked here without a GPU: its source is compiled as C++ (the
 * host's c++, or $CXX) against a shim (test/cuda_emu.h) that maps each thread of the block to
 * a pthread, __syncthreads to a barrier and warp shuffles to an exchange through memory, and the result
 * of a launch over several steps (a partial last one included) is compared with the CPU JIT
 * run step by step on the same rows.  Skipped (printing why) without a C++ compiler or LLVM.
 * The tolerances allow the documented differences only (cuda.c: the order of the sums over
 * rows, libm's expf/logf for Cephes'): parameters 1e-6 of the largest, gradients and the
 * optimizer state 1e-4 of their largest, logits and the loss 1e-5, exact counts. */
static char emu_why[256]; /* why the emulation is skipped ("" when it runs) */

static bool emu_available(void) {
  if (!cg_llvm_available()) {
    snprintf(emu_why, sizeof emu_why, "jscc was built without LLVM (the CPU JIT is the reference)");
    return false;
  }
  return emu_have_cxx(emu_why, sizeof emu_why);
}

/* max over elements of |a - b| / max(|b|, the largest |b|) */
static double rel_diff(const float *a, const float *b, size_t n) {
  double scale = 1e-30, worst = 0;
  for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)a[i] - b[i]) / fmax(fabs(b[i]), scale);
    if (!(e <= worst)) worst = e; /* NaN counts as worst */
  }
  return worst;
}

/* One trial of an emulated launch: its own model, optimizer state, row order, learning rate
 * and dropout seed, with the CPU JIT's copies (cpu, om, ov) and the kernel's (gpu, gom, gov). */
typedef struct EmuTrial {
  RtState *cpu, *gpu;
  float *om, *ov, *gom, *gov, *sg;  /* [total + 1] optimizer state; sg the kernel's scratch */
  int64_t *perm;                    /* [rows] this trial's row order */
  float *lcpu, *lgpu;               /* [nrows][classes] evaluation logits */
  double mcpu[2], mgpu[2], lr;
  uint64_t seed;
} EmuTrial;

/* Trial t's model: initialised from rng, then nontrivial BatchNorm parameters, statistics and
 * counts; the kernel's copy equals the CPU's. */
static void emu_trial_model(const Model *m, EmuTrial *t, Rng *rng) {
  const Graph *g = m->g;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_state_new(g, &t->cpu, &d), JS_OK);
  assert_int_equal(rt_state_new(g, &t->gpu, &d), JS_OK);
  diag_free(&d);
  RtState *cpu = t->cpu;
  rt_state_init(cpu, rng);
  for (int i = 0; i < g->nparams; i++) {
    const Param *p = g->params[i];
    if (cpu->off[i] == (size_t)-1) {
      cpu->i64[i] = 3;
      continue;
    }
    float *x = cpu->data + cpu->off[i];
    if (strstr(p->qualname, "running_var") || (strstr(p->name, "weight") && p->type.rank == 1))
      for (size_t k = 0; k < cpu->numel[i]; k++) x[k] = 0.5f + (float)rt_rng_uniform(rng);
    if (strstr(p->qualname, "running_mean") || (strstr(p->name, "bias") && p->type.rank == 1))
      for (size_t k = 0; k < cpu->numel[i]; k++) x[k] = (float)rt_rng_normal(rng) * 0.3f;
  }
  assert_int_equal(rt_state_copy(t->gpu, cpu), JS_OK);
}

/* Trial t's row order and optimizer state (both copies). */
static void emu_trial_state(EmuTrial *t, Rng *rng, int64_t rows, size_t nt, size_t ns, size_t nlog) {
  t->perm = malloc(sizeof(int64_t) * (size_t)rows);
  rt_rng_permutation(rng, t->perm, rows);
  t->om = calloc(nt, 4), t->ov = calloc(nt, 4), t->gom = calloc(nt, 4), t->gov = calloc(nt, 4), t->sg = calloc(ns, 4);
  t->lcpu = calloc(nlog, 4), t->lgpu = calloc(nlog, 4);
  for (size_t i = 0; i < nt; i++) {
    t->om[i] = t->gom[i] = 0.01f * (float)rt_rng_normal(rng);
    t->ov[i] = t->gov[i] = 0.001f * (float)rt_rng_uniform(rng);
  }
}

static void emu_trial_free(EmuTrial *t) {
  rt_state_free(t->cpu), rt_state_free(t->gpu);
  free(t->om), free(t->ov), free(t->gom), free(t->gov), free(t->sg), free(t->perm), free(t->lcpu), free(t->lgpu);
}

/* The shape of an emulated launch. */
typedef struct EmuLaunch {
  bool train;
  int64_t batch, nrows, first, nsteps;
  double step0;
  uint64_t dstep0;
  const float *X;
  const int32_t *Y;
} EmuLaunch;

/* Trial t on the CPU JIT, step by step: the reference for its block. */
static void emu_cpu(const EmuLaunch *L, const CgPlan *p, CgKernel *kern, EmuTrial *t) {
  int F = cg_plan_features(p), C = cg_plan_classes(p);
  int64_t bp = cg_plan_bpad(p), batch = L->batch;
  float *sc = aligned_alloc(64, (cg_plan_scratch_floats(p) + 16) * 4);
  float *xf = aligned_alloc(64, (size_t)(4 * F * bp)), *valid = aligned_alloc(64, (size_t)(4 * bp));
  int32_t *y32 = aligned_alloc(64, (size_t)(4 * bp));
  float *lf = aligned_alloc(64, (size_t)(4 * C * bp));
  for (int64_t s = 0; s < L->nsteps; s++) {
    int64_t n = L->nrows - s * batch < batch ? L->nrows - s * batch : batch;
    memset(xf, 0, (size_t)(4 * F * bp));
    memset(y32, 0, (size_t)(4 * bp));
    for (int64_t i = 0; i < bp; i++) valid[i] = i < n ? 1.0f : 0.0f;
    for (int64_t i = 0; i < n; i++) {
      int64_t row = t->perm[L->first + s * batch + i];
      for (int f = 0; f < F; f++) xf[f * bp + i] = L->X[row * F + f];
      y32[i] = L->Y[row];
    }
    double met[2] = {0, 0};
    CgArgs a = {.params = t->cpu->data, .grads = t->cpu->grad, .x = xf, .y = y32, .valid = valid, .scratch = sc,
                .opt_m = t->om, .opt_v = t->ov, .i64 = t->cpu->i64, .logits = L->train ? NULL : lf, .metrics = met,
                .n = n, .lr = t->lr, .step = L->step0 + (double)s, .seed = t->seed, .dstep = L->dstep0 + (uint64_t)s};
    cg_kernel_run(kern, &a);
    t->mcpu[0] += met[0], t->mcpu[1] += met[1];
    for (int64_t i = 0; !L->train && i < n; i++)
      for (int c = 0; c < C; c++) t->lcpu[(s * batch + i) * C + c] = lf[c * bp + i];
  }
  free(sc), free(xf), free(valid), free(y32), free(lf);
}

/* Trial t's kernel arguments (every field, as runtime/device.c fills them). */
static JsccDevArgs emu_args(const EmuLaunch *L, EmuTrial *t) {
  return (JsccDevArgs){.params = (uintptr_t)t->gpu->data, .grads = (uintptr_t)t->gpu->grad, .opt_m = (uintptr_t)t->gom,
                       .opt_v = (uintptr_t)t->gov, .i64 = (uintptr_t)t->gpu->i64, .scratch = (uintptr_t)t->sg,
                       .data_x = (uintptr_t)L->X, .data_y = (uintptr_t)L->Y, .perm = (uintptr_t)t->perm,
                       .metrics = (uintptr_t)t->mgpu, .logits = L->train ? 0 : (uintptr_t)t->lgpu, .first = L->first,
                       .nrows = L->nrows, .batch = L->batch, .nsteps = L->nsteps, .lr = t->lr, .step0 = L->step0,
                       .seed = t->seed, .dstep0 = L->dstep0};
}

/* Block b of the launch against trial b run alone on the CPU JIT. */
static void emu_compare(const char *what, const Model *m, const EmuLaunch *L, int C, EmuTrial *t, int b, int ntrials) {
  const RtState *cpu = t->cpu, *gpu = t->gpu;
  bool train = L->train;
  double dp = rel_diff(gpu->data, cpu->data, cpu->total), dg = train ? rel_diff(gpu->grad, cpu->grad, cpu->total) : 0;
  double dm = train ? rel_diff(t->gom, t->om, cpu->total) : 0, dv = train ? rel_diff(t->gov, t->ov, cpu->total) : 0;
  double dl = train ? 0 : rel_diff(t->lgpu, t->lcpu, (size_t)(L->nrows * C));
  double dloss = fabs(t->mgpu[0] - t->mcpu[0]) / fabs(t->mcpu[0]);
  bool i64ok = memcmp(gpu->i64, cpu->i64, sizeof(int64_t) * (size_t)m->g->nparams) == 0;
  char name[160];
  if (ntrials > 1) snprintf(name, sizeof name, "%s [block %d]", what, b);
  else snprintf(name, sizeof name, "%s", what);
  printf("  %-34s %lld steps  params %.1e  grads %.1e  m %.1e  v %.1e  logits %.1e  loss %.1e  correct %.0f/%.0f\n", name,
         (long long)L->nsteps, dp, dg, dm, dv, dl, dloss, t->mgpu[1], t->mcpu[1]);
  assert_true(dp <= 1e-6 && dg <= 1e-4 && dm <= 1e-4 && dv <= 1e-4 && dl <= 1e-5 && dloss <= 1e-5);
  assert_true(fabs(t->mgpu[1] - t->mcpu[1]) <= (double)L->nsteps); /* a tie may break either way */
  assert_true(i64ok);
}

/* A launch of the wrong shape (gridDim 2 for a group of ntrials) must change nothing. */
static void emu_wrong_grid(EmuRun run, const JsccDevArgs *ga, EmuTrial *t, int ntrials) {
  size_t nt = t[0].cpu->total;
  float *before = malloc(nt * 4);
  memcpy(before, t[0].gpu->data, nt * 4);
  assert_int_equal(run(ga, (unsigned)ntrials - 1), 0);
  assert_memory_equal(before, t[0].gpu->data, nt * 4);
  assert_true(t[0].mgpu[0] == 0 && t[0].mgpu[1] == 0);
  free(before);
}

/* nrows rows from each trial's perm[first ..] in steps of `batch`: the CPU JIT step by step,
 * trial by trial, against one launch of the emulated kernel (one block when ntrials is 1, the
 * arguments passed by value; else a group launch of ntrials blocks, block b running trial b
 * from a table of arguments: its own model, optimizer state, row order, learning rate and
 * seed), each trial from the same parameters and optimizer state as its CPU run. */
static void emulate_group(const char *what, const char *path, const char *pipeline, bool train, int64_t batch,
                          int64_t nrows, int64_t first, const CgOptim *opt, int ntrials) {
  Model m = load(path, pipeline);
  Diag d;
  diag_init(&d, stderr);
  EmuTrial *t = calloc((size_t)ntrials, sizeof *t);
  Rng rng;
  rt_rng_seed(&rng, 1);
  for (int b = 0; b < ntrials; b++) emu_trial_model(&m, &t[b], &rng);
  CgPlan *p = plan_opt(&m, train, batch, opt);
  CgKernel *kern = NULL;
  if (cg_llvm_compile(p, &kern, NULL, NULL, &d)) fail_msg("%s: %s", what, sb_str(&d.text));
  StrBuf src;
  sb_init(&src);
  assert_int_equal(cg_cuda_render(p, &src, &d), JS_OK);

  int F = cg_plan_features(p), C = cg_plan_classes(p);
  int64_t total = first + nrows + 7;
  float *X = malloc(sizeof(float) * (size_t)(total * F));
  int32_t *Y = malloc(sizeof(int32_t) * (size_t)total);
  for (int64_t i = 0; i < total * F; i++) X[i] = (float)rt_rng_normal(&rng);
  for (int64_t i = 0; i < total; i++) Y[i] = (int32_t)rt_rng_below(&rng, (uint64_t)C);
  EmuLaunch L = {.train = train, .batch = batch, .nrows = nrows, .first = first, .nsteps = (nrows + batch - 1) / batch,
                 .step0 = 3, .dstep0 = 11, .X = X, .Y = Y};
  for (int b = 0; b < ntrials; b++) { /* trial 0 is the one-trial test's: lr 1e-2, seed 7 */
    emu_trial_state(&t[b], &rng, total, t[b].cpu->total + 1, cg_plan_scratch_floats(p) + 16, (size_t)(nrows * C));
    t[b].lr = 1e-2 / (1 + 2 * b);
    t[b].seed = 7 + 1000 * (uint64_t)b;
    emu_cpu(&L, p, kern, &t[b]);
  }
  char dir[] = "/tmp/jscc_test_cuda_emu_XXXXXX";
  assert_non_null(mkdtemp(dir));
  void *so = NULL;
  EmuRun run = emu_build(sb_str(&src), train, dir, &so);
  JsccDevArgs *table = calloc((size_t)ntrials, sizeof *table);
  for (int b = 0; b < ntrials; b++) table[b] = emu_args(&L, &t[b]);
  JsccDevArgs ga = table[0];
  if (ntrials > 1) {
    ga = (JsccDevArgs){.trials = (uintptr_t)table, .ntrials = ntrials, .nsteps = L.nsteps, .batch = batch};
    emu_wrong_grid(run, &ga, t, ntrials);
  }
  assert_int_equal(run(&ga, (unsigned)ntrials), 0);
  dlclose(so);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);

  for (int b = 0; b < ntrials; b++) emu_compare(what, &m, &L, C, &t[b], b, ntrials);
  if (ntrials > 1) /* the trials really differ (else the comparison proves little) */
    assert_true(rel_diff(t[0].gpu->data, t[1].gpu->data, t[0].cpu->total) > 1e-3);
  for (int b = 0; b < ntrials; b++) emu_trial_free(&t[b]);
  free(t), free(table), free(X), free(Y);
  sb_free(&src);
  cg_kernel_free(kern);
  cg_plan_free(p);
  diag_free(&d);
  unload(&m);
}

static void emulate(const char *what, const char *path, const char *pipeline, bool train, int64_t batch, int64_t nrows,
                    int64_t first, const CgOptim *opt) {
  emulate_group(what, path, pipeline, train, batch, nrows, first, opt, 1);
}

static void test_emulated(void **state) {
  (void)state;
  if (!emu_available()) {
    printf("  skipped: %s\n", emu_why);
    return;
  }
  static const char *const models[] = {"jsc_tiny", "jsc_big", "jsc_toy", "jsc_s", "jsc_trt", "hls4ml_jsc"};
  char path[128], what[128];
  for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
    snprintf(path, sizeof path, "examples/%s.jsc", models[i]);
    for (int train = 1; train >= 0; train--) {
      snprintf(what, sizeof what, "%s %s 600 rows", models[i], train ? "train" : "eval");
      emulate(what, path, "shape,grad", train, 256, 600, 5, &ADAM); /* 256 + 256 + 88 rows */
    }
  }
  /* more rows than threads; a last step of one row */
  emulate("jsc_toy train batch 1000", "examples/jsc_toy.jsc", "shape,grad", true, 1000, 2500, 17, &ADAM);
  emulate("jsc_toy eval batch 1000", "examples/jsc_toy.jsc", "shape,grad", false, 1000, 2500, 17, &ADAM);
  emulate("jsc_tiny train 257 rows", "examples/jsc_tiny.jsc", "shape,grad", true, 256, 257, 0, &ADAM);
  /* fake quantization; dropout and the functional ops; the other optimizers */
  char q[1024];
  snprintf(q, sizeof q, "%s,shape,grad", INT8);
  emulate("jsc_tiny.int8 train", "examples/jsc_tiny.jsc", q, true, 256, 600, 5, &ADAM);
  emulate("jsc_tiny.int8 eval", "examples/jsc_tiny.jsc", q, false, 256, 600, 5, &ADAM);
  for (size_t i = 0; i < sizeof FORMATS / sizeof *FORMATS; i++) { /* every other number format */
    char fq[1024], what[128];
    snprintf(fq, sizeof fq, "quantize{by=type, default=%s},shape,grad", FORMATS[i][1]);
    for (int train = 1; train >= 0; train--) {
      snprintf(what, sizeof what, "jsc_tiny.%s %s", FORMATS[i][0], train ? "train" : "eval");
      emulate(what, "examples/jsc_tiny.jsc", fq, train, 256, 600, 5, &ADAM);
    }
  }
  emulate("jit_ops train", "test/models/jit_ops.jsc", "shape,grad", true, 256, 600, 5, &ADAM);
  emulate("jit_ops eval", "test/models/jit_ops.jsc", "shape,grad", false, 256, 600, 5, &ADAM);
  emulate("jit_conv train", "test/models/jit_conv.jsc", "shape,grad", true, 256, 600, 5, &ADAM);
  emulate("jit_conv eval", "test/models/jit_conv.jsc", "shape,grad", false, 256, 600, 5, &ADAM);
  emulate("jit_act train", "test/models/jit_act.jsc", "shape,grad", true, 256, 600, 5, &ADAM);
  const CgOptim sgd = {.kind = CG_SGD, .momentum = 0.9, .dampening = 0.1, .nesterov = true, .weight_decay = 1e-4};
  const CgOptim adamw = {.kind = CG_ADAMW, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.01};
  emulate("jsc_tiny sgd nesterov", "examples/jsc_tiny.jsc", "shape,grad", true, 256, 600, 5, &sgd);
  emulate("jsc_tiny adamw", "examples/jsc_tiny.jsc", "shape,grad", true, 256, 600, 5, &adamw);
}

/* Group launches: block b trains (or evaluates) trial b with its own model, optimizer state,
 * row order, learning rate and seed, each block against its trial run alone on the CPU JIT
 * (a learning-rate and seed sweep of one model and batch size, as runtime/device.c launches
 * it).  jit_ops has dropout: the seeds must reach their blocks. */
static void test_emulated_group(void **state) {
  (void)state;
  if (!emu_available()) {
    printf("  skipped: %s\n", emu_why);
    return;
  }
  emulate_group("jsc_tiny train, 3 trials", "examples/jsc_tiny.jsc", "shape,grad", true, 256, 600, 5, &ADAM, 3);
  emulate_group("jsc_tiny eval, 3 trials", "examples/jsc_tiny.jsc", "shape,grad", false, 256, 600, 5, &ADAM, 3);
  emulate_group("jit_ops train, 2 trials", "test/models/jit_ops.jsc", "shape,grad", true, 256, 300, 0, &ADAM, 2);
}

/* NVRTC's errors come back with its log (the line and the message). */
static void test_nvrtc_error(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, NULL);
  StrBuf ptx;
  sb_init(&ptx);
  const char *bad = "extern \"C\" __global__ void broken(float *x) {\n  x[0] = undefined_thing;\n}\n";
  assert_int_equal(cg_nvrtc_compile(bad, 90, &ptx, &d), JS_ERR);
  printf("  expected error: %s", sb_str(&d.text));
  assert_non_null(strstr(sb_str(&d.text), "nvrtcCompileProgram"));
  assert_non_null(strstr(sb_str(&d.text), "undefined_thing"));
  assert_int_equal(ptx.len, 0);
  sb_free(&ptx);
  diag_free(&d);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* the timings as they come */
  char why[2048];
  if (!cg_nvrtc_available(why, sizeof why)) {
    printf("test_cuda: skipped: %s\n", why);
    return 77;
  }
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_nvrtc_error),
    cmocka_unit_test(test_unexpressible),
    cmocka_unit_test(test_render_oom),
    cmocka_unit_test(test_optimizers),
    cmocka_unit_test(test_quantized),
    cmocka_unit_test(test_conv1d),
    cmocka_unit_test(test_formats),
    cmocka_unit_test(test_examples),
    cmocka_unit_test(test_emulated),
    cmocka_unit_test(test_emulated_group),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
