/* bench/qat_step.c — the cost of a quantization-aware training step against a float step
 * (issue 4's target: at most 1.5x), measured where the loads of a shared machine disturb it
 * least: the fused JIT training step alone, on one resident batch, timed in-process.
 *
 *   bench/qat_step [MODEL.jsc ...]      (default examples/jsc_tiny.jsc examples/jsc_big.jsc)
 *
 * For each model: the training plan of the float graph and of the graph quantized with each
 * number format everywhere jscc can (Linear, ReLU, BatchNorm1d folded; quantize{by=type,
 * default=FORMAT} with data_in, weight and bias at 8 bits: fixed[8,4], minifloat_ieee and
 * minifloat_denorm [8,4], log[8], block_fp[8,8] in blocks of 16, binary, ternary (weights and
 * bias only) with the mean and with the median threshold, block_minifloat[8,4] and block_log[8]
 * with 8-bit biases in blocks of 16), batch 256, compiled
 * once; then 9 rounds, each running 2000 steps of cg_kernel_run of the float plan and then
 * of every quantized one, on the same batch (the parameters move: the optimizer is part of
 * the step).  Reports the minimum per-step time of each (the least disturbed round) and the
 * ratio to the float step of the same model, measured side by side.  Exit 0; a model or
 * format the JIT does not cover is reported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend.h"
#include "passes.h"
#include "runtime.h"

/* name, quantize pass (NULL: the float step) */
static const char *const FORMATS[][2] = {
    {"float", NULL},
    {"fixed[8,4]", "{name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8, "
                   "bias_frac_width=4}"},
    {"minifloat_ieee[8,4]", "{name=minifloat_ieee, data_in_width=8, data_in_exponent_width=4, weight_width=8, "
                            "weight_exponent_width=4, bias_width=8, bias_exponent_width=4}"},
    {"minifloat_denorm[8,4]", "{name=minifloat_denorm, data_in_width=8, data_in_exponent_width=4, weight_width=8, "
                              "weight_exponent_width=4, bias_width=8, bias_exponent_width=4}"},
    {"log[8]", "{name=log, data_in_width=8, weight_width=8, bias_width=8}"},
    {"block_fp[8,8,16]", "{name=block_fp, data_in_width=8, data_in_exponent_width=8, weight_width=8, weight_exponent_width=8, "
                         "bias_width=8, bias_exponent_width=8}"},
    {"binary", "{name=binary, data_in_bipolar=true, weight_bipolar=true, bias_bipolar=true}"},
    {"ternary[mean,scaled]", "{name=ternary, weight_scaling_factor=true, bias_scaling_factor=true}"},
    {"ternary[median,scaled]", "{name=ternary, weight_scaling_factor=true, weight_median=true, bias_scaling_factor=true, "
                               "bias_median=true}"},
    {"block_minifloat[8,4,8,16]", "{name=block_minifloat, data_in_width=8, data_in_exponent_width=4, "
                                  "data_in_exponent_bias_width=8, weight_width=8, weight_exponent_width=4, "
                                  "weight_exponent_bias_width=8, bias_width=8, bias_exponent_width=4, bias_exponent_bias_width=8}"},
    {"block_log[8,8,16]", "{name=block_log, data_in_width=8, data_in_exponent_bias_width=8, weight_width=8, "
                          "weight_exponent_bias_width=8, bias_width=8, bias_exponent_bias_width=8}"},
};
enum { NFMT = sizeof FORMATS / sizeof *FORMATS };

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct Step {
  Program *prog;
  RtState *s;
  CgPlan *plan;
  CgKernel *k;
  CgArgs a;
  float *xf, *valid, *scratch, *om, *ov;
  int32_t *y;
  double metrics[2];
} Step;

static int open_step(const char *path, const char *quant, Step *st, Diag *d) {
  memset(st, 0, sizeof *st);
  Arena *files = arena_new();
  SrcFile *src;
  if (!files || diag_read_file(files, path, &src, d) || fe_parse(src, &st->prog, d)) return 1;
  Graph *g = st->prog->graphs[0];
  char pipe[1024];
  if (quant) snprintf(pipe, sizeof pipe, "quantize{by=type, default=%s},shape,grad", quant);
  else snprintf(pipe, sizeof pipe, "shape,grad");
  if (pass_run_text(pipe, g, d) || rt_state_new(g, &st->s, d)) return 1;
  Rng rng;
  rt_rng_seed(&rng, 1);
  rt_state_init(st->s, &rng);
  CgOptions o = {.batch = 256, .param_off = st->s->off, .train = true,
                 .optim = {.kind = CG_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}};
  if (cg_plan_build(g, &o, &st->plan, d) || cg_llvm_compile(st->plan, &st->k, NULL, NULL, d)) return 1;
  int64_t bp = cg_plan_bpad(st->plan), F = cg_plan_features(st->plan), C = cg_plan_classes(st->plan);
  st->xf = aligned_alloc(64, (size_t)(F * bp) * 4 + 64);
  st->valid = aligned_alloc(64, (size_t)bp * 4 + 64);
  st->y = aligned_alloc(64, (size_t)bp * 4 + 64);
  st->scratch = aligned_alloc(64, cg_plan_scratch_floats(st->plan) * 4 + 64);
  st->om = calloc(st->s->total + 1, 4);
  st->ov = calloc(st->s->total + 1, 4);
  if (!st->xf || !st->valid || !st->y || !st->scratch || !st->om || !st->ov) return 1;
  for (int64_t i = 0; i < bp; i++) {
    st->valid[i] = 1;
    st->y[i] = (int32_t)rt_rng_below(&rng, (uint64_t)C);
    for (int64_t f = 0; f < F; f++) st->xf[f * bp + i] = (float)rt_rng_normal(&rng);
  }
  st->a = (CgArgs){.params = st->s->data, .grads = st->s->grad, .x = st->xf, .y = st->y, .valid = st->valid,
                   .scratch = st->scratch, .opt_m = st->om, .opt_v = st->ov, .i64 = st->s->i64,
                   .metrics = st->metrics, .n = 256, .lr = 1e-3, .step = 1};
  arena_free(files);
  return 0;
}

static double round_time(Step *st, int steps) {
  double t0 = now();
  for (int i = 0; i < steps; i++) {
    st->a.step = (double)(i + 1);
    cg_kernel_run(st->k, &st->a);
  }
  return (now() - t0) / steps;
}

static void close_step(Step *st) {
  cg_kernel_free(st->k);
  cg_plan_free(st->plan);
  rt_state_free(st->s);
  ir_program_free(st->prog);
  free(st->xf), free(st->valid), free(st->y), free(st->scratch), free(st->om), free(st->ov);
}

int main(int argc, char **argv) {
  const char *def[] = {"examples/jsc_tiny.jsc", "examples/jsc_big.jsc"};
  const char **models = argc > 1 ? (const char **)argv + 1 : def;
  int n = argc > 1 ? argc - 1 : 2;
  if (!cg_llvm_available()) {
    fprintf(stderr, "qat_step: jscc was built without LLVM: no JIT to time\n");
    return 1;
  }
  printf("| model | format | float step (us) | QAT step (us) | QAT / float | target |\n|---|---|---|---|---|---|\n");
  for (int m = 0; m < n; m++) {
    Diag d;
    diag_init(&d, stderr);
    Step st[NFMT];
    bool ok[NFMT];
    double best[NFMT];
    for (int k = 0; k < NFMT; k++) {
      ok[k] = open_step(models[m], FORMATS[k][1], &st[k], &d) == 0;
      if (!ok[k]) fprintf(stderr, "qat_step: %s, %s: cannot build the step\n", models[m], FORMATS[k][0]);
      best[k] = INFINITY;
      if (ok[k]) round_time(&st[k], 200); /* warm-up */
    }
    for (int r = 0; r < 9; r++)
      for (int k = 0; k < NFMT; k++) {
        double t = ok[k] ? round_time(&st[k], 2000) : INFINITY;
        if (t < best[k]) best[k] = t;
      }
    for (int k = 1; k < NFMT && ok[0]; k++)
      if (ok[k])
        printf("| %s | %s | %.2f | %.2f | %.2fx | <= 1.5x: %s |\n", models[m], FORMATS[k][0], best[0] * 1e6, best[k] * 1e6,
               best[k] / best[0], best[k] / best[0] <= 1.5 ? "met" : "MISSED");
    for (int k = 0; k < NFMT; k++) close_step(&st[k]);
    diag_free(&d);
  }
  return 0;
}
