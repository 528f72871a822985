/* test_device.c — the CUDA engine (runtime/device.c, codegen/cudadrv.c) against the
 * reference executor.
 *
 * Without a GPU (every check here runs first, and a failure fails the test): the device and
 * engine names, --dump-cuda's CUDA C (rendering needs no GPU; for jsc_tiny, float and int8,
 * it is the text of test/codegen/test_cuda.c's golden files), and the "--device=cuda:
 * unavailable: WHY" error of rt_train and rt_test when there is no driver.  Then, when
 * cg_cuda_open or NVRTC fails, the test prints why and exits 77 (skipped).
 *
 * On a GPU, for jsc_tiny, jsc_big and jsc_tiny at int8 (fake quantization):
 *   - the evaluation kernel's logits over a whole split against rt_interp_run(RT_EVAL),
 *     relative 1e-5 of the tensor's scale, and its summed loss;
 *   - ten training steps, one launch per step, each against rt_interp_run(RT_TRAIN) and
 *     rt_optim_step: gradients (floored at 1e-5 of the largest), then the parameters after
 *     the update (the reference updates with the device's gradients, as test_codegen.c does,
 *     so that a near-zero gradient's rounding cannot flip an Adam step), relative 1e-5;
 *   - the same ten steps as one launch (how an epoch runs): the parameters must equal the
 *     step-by-step launches' (the rows, step counts and dropout stream of each step are then
 *     right);
 *   - for information, ten steps of the reference alone (its own gradients) against the
 *     device: printed, not judged.
 * and the engine: one epoch of rt_train --device=cuda against the CPU (jit, else ref) on
 * 5000 synthetic jets, rt_test on the GPU against the CPU, a run resumed after one epoch
 * against an uninterrupted one; a group of three jsc_tiny trials (own learning rates, seeds,
 * models, row orders) trained and evaluated in one launch each, every trial equal to the bit
 * to the same trial run alone.  Without a GPU also: rt_dev_open_group's refusals.  Prints the
 * largest differences, as llm.c's tests do. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cuda.h"
#include "frontend.h"
#include "passes.h"
#include "runtime.h"
#include "device_group.h"

#define TINY_JSC "examples/jsc_tiny.jsc"
#define BIG_JSC "examples/jsc_big.jsc"
#define TOL 1e-5

static const char *const INT8 =
    "quantize{by=type, default={name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, "
    "weight_frac_width=4, bias_width=8, bias_frac_width=4}, batch_norm1d={name=integer, data_in_width=8, "
    "data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8, bias_frac_width=4}}";

/* ---- what the tests share ---- */

static char tmp[64] = "/tmp/jscc_device_XXXXXX";
static RtDataset ds;          /* 5000 synthetic jets */
static CgCuda *cu;            /* the GPU tests' context */

typedef struct Model {
  Arena *arena;
  Program *pf, *pt;
  Graph *fwd, *train;         /* after `pre,shape` and `pre,shape,grad` */
  uint64_t hash;
} Model;

static Model load(const char *path, const char *pre) {
  Model m = {0};
  Diag d;
  diag_init(&d, stderr);
  m.arena = arena_new();
  SrcFile *src = NULL;
  assert_int_equal(diag_read_file(m.arena, path, &src, &d), JS_OK);
  assert_int_equal(fe_parse(src, &m.pf, &d), JS_OK);
  assert_int_equal(fe_parse(src, &m.pt, &d), JS_OK);
  m.fwd = m.pf->graphs[0];
  m.train = m.pt->graphs[0];
  m.hash = rt_hash64(src->text, src->len);
  char p1[1024], p2[1024];
  snprintf(p1, sizeof p1, "%s%sshape", pre ? pre : "", pre ? "," : "");
  snprintf(p2, sizeof p2, "%s%sshape,grad", pre ? pre : "", pre ? "," : "");
  assert_int_equal(pass_run_text(p1, m.fwd, &d), JS_OK);
  assert_int_equal(ir_quant_explicit_inputs(m.fwd, &d), JS_OK);
  assert_int_equal(pass_run_text(p2, m.train, &d), JS_OK);
  diag_free(&d);
  return m;
}

static void unload(Model *m) {
  ir_program_free(m->pf);
  ir_program_free(m->pt);
  arena_free(m->arena);
}

static const char *dir(const char *name) {
  static char buf[4][256];
  static int k;
  char *b = buf[k++ % 4];
  snprintf(b, sizeof buf[0], "%s/%s", tmp, name);
  return b;
}

static RtTrainConfig config(const Model *m, RtDeviceKind device, int64_t epochs, const char *out) {
  RtTrainConfig c;
  rt_train_config_default(&c);
  c.fwd = m->fwd;
  c.train = m->train;
  c.model_path = TINY_JSC;
  c.model_hash = m->hash;
  c.dataset = &ds;
  c.max_epochs = epochs;
  c.device = device;
  c.out_dir = out;
  return c;
}

/* max over elements of |a-b| / max(|b|, scale), the scale being the tensor's largest |b| */
static double rel_diff(const float *a, const float *b, size_t n) {
  double scale = 1e-30, worst = 0;
  for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)a[i] - b[i]) / fmax(fabs(b[i]), scale);
    if (!(e <= worst)) worst = e; /* NaN counts as worst */
  }
  return worst;
}

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-12); }

static int setup(void **state) {
  (void)state;
  snprintf(tmp, sizeof tmp, "/tmp/jscc_device_XXXXXX"); /* each group gets its own directory */
  if (!mkdtemp(tmp)) return -1;
  Diag d;
  diag_init(&d, stderr);
  RtDataOpts o;
  rt_data_opts_default(&o);
  o.synth_n = 5000;
  o.no_cache = true;
  Status st = rt_data_load(&o, &ds, &d);
  diag_free(&d);
  return st ? -1 : 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

static int teardown(void **state) {
  (void)state;
  rt_data_free(&ds);
  nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}

/* ==== without a GPU ==== */

/* A whole file (DIR/NAME, or PREFIX.NAME when d ends in '.'), or NULL.  The caller frees. */
static char *slurp(const char *d, const char *name) {
  char p[512];
  snprintf(p, sizeof p, "%s%s%s", d, d[strlen(d) - 1] == '.' ? "" : "/", name);
  FILE *f = fopen(p, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  size_t got = fread(b, 1, (size_t)n, f);
  fclose(f);
  b[got] = 0;
  return b;
}

static void test_names(void **state) {
  (void)state;
  RtDeviceKind k;
  assert_true(rt_device_parse("cpu", &k) && k == RT_DEVICE_CPU);
  assert_true(rt_device_parse("cuda", &k) && k == RT_DEVICE_CUDA);
  assert_false(rt_device_parse("gpu", &k));
  assert_string_equal(rt_device_name(RT_DEVICE_CUDA), "cuda");
  RtEngineKind e;
  assert_false(rt_engine_parse("cuda", &e)); /* cuda is a device, not an --engine */
  assert_string_equal(rt_engine_name(RT_ENGINE_CUDA), "cuda");
}

/* --dump-cuda: both kernels, rendered without a GPU, the same text twice. */
static void check_dump(const char *path, const char *pre, const char *golden) {
  Model m = load(path, pre);
  RtTrainConfig c = config(&m, RT_DEVICE_CUDA, 1, NULL);
  StrBuf a, b;
  sb_init(&a);
  sb_init(&b);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_train_dump(&c, false, false, true, &a, &d), JS_OK);
  assert_int_equal(rt_train_dump(&c, false, false, true, &b, &d), JS_OK);
  diag_free(&d);
  const char *s = sb_str(&a), *t = strstr(s, "// CUDA C of the training step: kernel jscc_train");
  const char *e = strstr(s, "// CUDA C of the evaluation step: kernel jscc_eval");
  assert_non_null(t);
  assert_non_null(e);
  assert_true(t < e);
  assert_non_null(strstr(t, "jscc_train("));
  assert_non_null(strstr(e, "jscc_eval("));
  assert_string_equal(s, sb_str(&b));
  if (golden) { /* each kernel, after its comment line, is the renderer's golden file */
    char *gt = slurp(golden, "train.cu"), *ge = slurp(golden, "eval.cu");
    assert_non_null(gt);
    assert_non_null(ge);
    const char *bt = strchr(t, '\n') + 1, *be = strchr(e, '\n') + 1;
    assert_true(strncmp(bt, gt, (size_t)(e - bt)) == 0 && strlen(gt) == (size_t)(e - bt));
    assert_string_equal(be, ge);
    free(gt);
    free(ge);
  }
  printf("--dump-cuda %s%s: %zu bytes of CUDA C%s\n", path, pre ? " (int8)" : "", a.len,
         golden ? ", the goldens' text" : "");
  sb_free(&a);
  sb_free(&b);
  unload(&m);
}

static void test_dump_cuda(void **state) {
  (void)state;
  check_dump(TINY_JSC, NULL, "test/golden/jsc_tiny.");
  check_dump(BIG_JSC, NULL, NULL);
  check_dump(TINY_JSC, INT8, "test/golden/jsc_tiny.int8.");
}

/* rt_dev_open_group: a group of 0 or too many trials is refused before the device is opened;
 * without a driver a group is "unavailable" as one trial is. */
static void test_group_open(void **state) {
  (void)state;
  Model m = load(TINY_JSC, NULL);
  RtState *s = NULL;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_state_new(m.train, &s, &d), JS_OK);
  diag_free(&d);
  OptimConfig oc;
  rt_optim_default(&oc, OPTIM_ADAM);
  RtDevConfig c = {.train = m.train, .eval = m.train, .s = s, .oc = &oc, .batch = 256};
  const int bad[] = {0, -1, RT_DEV_MAX_TRIALS + 1};
  for (int i = 0; i < 3; i++) {
    RtDev *v = (RtDev *)&c; /* overwritten with NULL */
    diag_init(&d, NULL);
    assert_int_equal(rt_dev_open_group(&c, bad[i], &v, &d), JS_ERR);
    assert_null(v);
    assert_non_null(strstr(sb_str(&d.text), "trials"));
    printf("rt_dev_open_group(%d): %s", bad[i], sb_str(&d.text));
    diag_free(&d);
  }
  Diag probe;
  diag_init(&probe, NULL);
  CgCuda *cc = NULL;
  Status open = cg_cuda_open(&cc, &probe);
  diag_free(&probe);
  cg_cuda_close(cc);
  if (open) {
    RtDev *v = NULL;
    diag_init(&d, NULL);
    assert_int_not_equal(rt_dev_open_group(&c, 3, &v, &d), JS_OK);
    assert_null(v);
    assert_non_null(strstr(sb_str(&d.text), "--device=cuda: unavailable: "));
    diag_free(&d);
  }
  rt_state_free(s);
  unload(&m);
}

/* No driver: rt_train and rt_test say why, and leave no run directory behind. */
static void test_unavailable(void **state) {
  (void)state;
  Diag probe;
  diag_init(&probe, NULL);
  CgCuda *c = NULL;
  Status open = cg_cuda_open(&c, &probe);
  diag_free(&probe);
  cg_cuda_close(c);
  if (!open) skip(); /* there is a GPU: the other tests cover it */

  Model m = load(TINY_JSC, NULL);
  RtTrainConfig tc = config(&m, RT_DEVICE_CUDA, 1, dir("unavailable"));
  RtTrainResult r;
  Diag d;
  diag_init(&d, NULL);
  assert_int_not_equal(rt_train(&tc, &r, &d), JS_OK);
  printf("rt_train: %s", sb_str(&d.text));
  assert_non_null(strstr(sb_str(&d.text), "--device=cuda: unavailable: "));
  diag_free(&d);
  assert_int_not_equal(access(dir("unavailable"), F_OK), 0);

  /* --engine jit or ref with --device=cuda is a contradiction */
  tc.engine = RT_ENGINE_REF;
  diag_init(&d, NULL);
  assert_int_not_equal(rt_train(&tc, &r, &d), JS_OK);
  assert_non_null(strstr(sb_str(&d.text), "CPU engine"));
  diag_free(&d);

  /* rt_test: a checkpoint to evaluate first */
  RtState *s = NULL;
  diag_init(&d, stderr);
  assert_int_equal(rt_state_new(m.fwd, &s, &d), JS_OK);
  Rng rng;
  rt_rng_seed(&rng, 3);
  rt_state_init(s, &rng);
  char ck[300];
  snprintf(ck, sizeof ck, "%s/w.safetensors", tmp);
  assert_int_equal(rt_ckpt_save(ck, s, NULL, &d), JS_OK);
  diag_free(&d);
  rt_state_free(s);
  RtTestConfig t;
  rt_test_config_default(&t);
  t.fwd = m.fwd;
  t.train = m.train;
  t.ckpt = ck;
  t.dataset = &ds;
  t.device = RT_DEVICE_CUDA;
  RtEvalResult er;
  diag_init(&d, NULL);
  assert_int_not_equal(rt_test(&t, &er, &d), JS_OK);
  printf("rt_test: %s", sb_str(&d.text));
  assert_non_null(strstr(sb_str(&d.text), "--device=cuda: unavailable: "));
  diag_free(&d);
  unload(&m);
}

/* ==== on a GPU: the kernels against the reference executor ==== */

/* Device buffers of one kernel-level check. */
typedef struct Dev {
  uint64_t params, grads, m, v, i64, scratch, x, y, perm, ident, metrics, logits;
} Dev;

static uint64_t dalloc(size_t bytes) {
  Diag d;
  diag_init(&d, stderr);
  uint64_t p = 0;
  assert_int_equal(cg_cuda_alloc(cu, bytes, &p, &d), JS_OK);
  diag_free(&d);
  return p;
}

static void up(uint64_t dst, const void *src, size_t bytes) {
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(cg_cuda_upload(cu, dst, src, bytes, &d), JS_OK);
  diag_free(&d);
}

static void down(void *dst, uint64_t src, size_t bytes) {
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(cg_cuda_download(cu, dst, src, bytes, &d), JS_OK);
  diag_free(&d);
}

static void launch(const CgCudaKernel *k, const JsccDevArgs *a) {
  Diag d;
  diag_init(&d, stderr);
  if (cg_cuda_launch(cu, k, a, &d)) fail_msg("%s", sb_str(&d.text));
  diag_free(&d);
}

/* The device's model and optimizer state set to (params, i64) and zero moments. */
static void reset(const Dev *g, const RtState *s, const float *params, const int64_t *i64) {
  size_t fb = s->total * sizeof(float);
  float *z = calloc(s->total + 1, sizeof(float));
  up(g->params, params, fb);
  up(g->i64, i64, (size_t)s->n * sizeof(int64_t));
  up(g->m, z, fb);
  up(g->v, z, fb);
  up(g->grads, z, fb);
  free(z);
}

static void check_kernels(const char *path, const char *pre, int64_t batch, int64_t nsteps, double tol) {
  Model mod = load(path, pre);
  const Graph *g = mod.train;
  Diag d;
  diag_init(&d, stderr);
  RtState *ref = NULL, *dev = NULL;
  assert_int_equal(rt_state_new(g, &ref, &d), JS_OK);
  assert_int_equal(rt_state_new(g, &dev, &d), JS_OK);
  Rng rng;
  rt_rng_seed(&rng, 1);
  rt_state_init(ref, &rng);
  /* nontrivial BatchNorm parameters and running statistics, as test_codegen.c */
  for (int i = 0; i < g->nparams; i++) {
    const Param *p = g->params[i];
    if (ref->off[i] == (size_t)-1) continue;
    float *t = ref->data + ref->off[i];
    if (strstr(p->qualname, "running_var") || (strstr(p->name, "weight") && p->type.rank == 1))
      for (size_t k = 0; k < ref->numel[i]; k++) t[k] = 0.5f + (float)rt_rng_uniform(&rng);
    if (strstr(p->qualname, "running_mean") || (strstr(p->name, "bias") && p->type.rank == 1))
      for (size_t k = 0; k < ref->numel[i]; k++) t[k] = (float)rt_rng_normal(&rng) * 0.3f;
  }
  float *init = malloc((ref->total + 1) * sizeof(float));
  int64_t *init64 = calloc((size_t)g->nparams + 1, sizeof(int64_t));
  memcpy(init, ref->data, ref->total * sizeof(float));
  memcpy(init64, ref->i64, (size_t)g->nparams * sizeof(int64_t));

  /* Plans and kernels as the engine builds them. */
  OptimConfig oc;
  rt_optim_default(&oc, OPTIM_ADAM);
  oc.lr = 1e-2;
  CgOptions o = rt_dev_plan_options(ref, batch, true);
  o.optim = (CgOptim){.kind = CG_ADAM, .beta1 = oc.beta1, .beta2 = oc.beta2, .eps = oc.eps};
  CgPlan *tp = NULL, *ep = NULL;
  if (cg_plan_build(g, &o, &tp, &d)) fail_msg("%s: %s", path, sb_str(&d.text));
  CgOptions eo = rt_dev_plan_options(ref, batch, false);
  eo.optim = o.optim;
  assert_int_equal(cg_plan_build(g, &eo, &ep, &d), JS_OK);
  CgCudaKernel *tk = NULL, *ek = NULL;
  double tms = 0, ems = 0;
  if (cg_cuda_compile(cu, tp, &tk, &tms, &d)) fail_msg("%s: %s", path, sb_str(&d.text));
  if (cg_cuda_compile(cu, ep, &ek, &ems, &d)) fail_msg("%s: %s", path, sb_str(&d.text));
  int F = cg_plan_features(tp), C = cg_plan_classes(tp);

  /* A split of `total` rows; the training steps take the first nrows of a permutation. */
  int64_t nrows = nsteps * batch - batch / 2 + 3; /* a partial last step */
  int64_t total = nrows + 61;
  float *x = malloc((size_t)(total * F) * sizeof(float));
  int32_t *y = malloc((size_t)total * sizeof(int32_t));
  int64_t *y64 = malloc((size_t)total * sizeof(int64_t));
  int64_t *perm = malloc((size_t)total * sizeof(int64_t)), *ident = malloc((size_t)total * sizeof(int64_t));
  for (int64_t i = 0; i < total; i++) {
    for (int f = 0; f < F; f++) x[i * F + f] = (float)rt_rng_normal(&rng);
    y[i] = (int32_t)(y64[i] = (int64_t)rt_rng_below(&rng, (uint64_t)C));
    ident[i] = i;
  }
  rt_rng_permutation(&rng, perm, total);

  Dev b;
  size_t fb = ref->total * sizeof(float);
  size_t ns = cg_plan_scratch_floats(tp) > cg_plan_scratch_floats(ep) ? cg_plan_scratch_floats(tp) : cg_plan_scratch_floats(ep);
  b.params = dalloc(fb), b.grads = dalloc(fb), b.m = dalloc(fb), b.v = dalloc(fb);
  b.i64 = dalloc((size_t)(g->nparams + 1) * sizeof(int64_t));
  b.scratch = dalloc(ns * sizeof(float));
  b.x = dalloc((size_t)(total * F) * sizeof(float)), b.y = dalloc((size_t)total * sizeof(int32_t));
  b.perm = dalloc((size_t)total * sizeof(int64_t)), b.ident = dalloc((size_t)total * sizeof(int64_t));
  b.metrics = dalloc(2 * sizeof(double));
  b.logits = dalloc((size_t)(total * C) * sizeof(float));
  up(b.x, x, (size_t)(total * F) * sizeof(float));
  up(b.y, y, (size_t)total * sizeof(int32_t));
  up(b.perm, perm, (size_t)total * sizeof(int64_t));
  up(b.ident, ident, (size_t)total * sizeof(int64_t));
  reset(&b, ref, init, init64);
  double zero[2] = {0, 0}, met[2];
  JsccDevArgs base = {.params = b.params, .grads = b.grads, .opt_m = b.m, .opt_v = b.v, .i64 = b.i64,
                      .scratch = b.scratch, .data_x = b.x, .data_y = b.y, .metrics = b.metrics, .batch = batch,
                      .seed = 7};
  const char *names[2] = {"x", "target"};

  /* ---- evaluation of the whole split, in order ---- */
  JsccDevArgs a = base;
  a.grads = a.opt_m = a.opt_v = 0;
  a.perm = b.ident;
  a.logits = b.logits;
  a.nrows = total;
  a.nsteps = (total + batch - 1) / batch;
  a.step0 = 1;
  up(b.metrics, zero, sizeof zero);
  launch(ek, &a);
  float *lg = malloc((size_t)(total * C) * sizeof(float));
  down(lg, b.logits, (size_t)(total * C) * sizeof(float));
  down(met, b.metrics, sizeof met);
  RtTensor in[2] = {{.dtype = DT_F32, .rank = 2, .dims = {total, F}, .f = x},
                    {.dtype = DT_I64, .rank = 1, .dims = {total}, .i = y64}};
  RtRunOpts ro = {.mode = RT_EVAL};
  RtInterpOut out;
  if (rt_interp_run(g, ref, &ro, 2, names, in, &out, &d)) fail_msg("%s", sb_str(&d.text));
  double de = rel_diff(lg, out.logits.f, (size_t)(total * C));
  double del = rel(met[0] / (double)total, out.loss);
  rt_interp_out_free(&out);

  /* ---- training, one launch per step, each against the reference ---- */
  OptimState ost;
  assert_int_equal(rt_optim_state_new(OPTIM_ADAM, ref->total, &ost, &d), JS_OK);
  uint8_t *mask = calloc(ref->total + 1, 1);
  rt_state_trainable_mask(ref, mask);
  float *rx = malloc((size_t)(batch * F) * sizeof(float));
  int64_t *ry = malloc((size_t)batch * sizeof(int64_t));
  double dg = 0, dp = 0, dl = 0, msum[2] = {0, 0};
  for (int64_t k = 0; k < nsteps; k++) {
    int64_t first = k * batch, n = nrows - first < batch ? nrows - first : batch;
    a = base;
    a.perm = b.perm;
    a.first = first;
    a.nrows = n;
    a.nsteps = 1;
    a.lr = oc.lr;
    a.step0 = (double)(k + 1);
    a.dstep0 = (uint64_t)k;
    up(b.metrics, zero, sizeof zero);
    launch(tk, &a);
    down(met, b.metrics, sizeof met);
    down(dev->grad, b.grads, fb);
    down(dev->data, b.params, fb);
    down(dev->i64, b.i64, (size_t)g->nparams * sizeof(int64_t));
    msum[0] += met[0], msum[1] += met[1];

    for (int64_t i = 0; i < n; i++) {
      memcpy(rx + i * F, x + perm[first + i] * F, (size_t)F * sizeof(float));
      ry[i] = y64[perm[first + i]];
    }
    RtTensor tin[2] = {{.dtype = DT_F32, .rank = 2, .dims = {n, F}, .f = rx},
                       {.dtype = DT_I64, .rank = 1, .dims = {n}, .i = ry}};
    RtRunOpts to = {.mode = RT_TRAIN, .seed = 7, .step = (uint32_t)k};
    if (rt_interp_run(g, ref, &to, 2, names, tin, &out, &d)) fail_msg("%s", sb_str(&d.text));
    dl = fmax(dl, rel(met[0] / (double)n, out.loss));
    double gscale = 0;
    for (size_t i = 0; i < ref->total; i++) gscale = fmax(gscale, fabs(ref->grad[i]));
    for (int i = 0; i < g->nparams; i++) {
      if (ref->off[i] == (size_t)-1) continue;
      for (size_t j = 0; j < ref->numel[i]; j++) {
        double e = fabs((double)dev->grad[ref->off[i] + j] - ref->grad[ref->off[i] + j]) / fmax(gscale, 1e-30);
        dg = fmax(dg, e);
        if (e > tol)
          printf("  step %lld %s[%zu]: gradient gpu %.9g ref %.9g\n", (long long)k, g->params[i]->qualname, j,
                 dev->grad[ref->off[i] + j], ref->grad[ref->off[i] + j]);
      }
    }
    memcpy(ref->grad, dev->grad, fb);
    rt_optim_step(&oc, &ost, ref->data, ref->grad, mask, oc.lr);
    for (int i = 0; i < g->nparams; i++) {
      if (ref->off[i] == (size_t)-1) {
        if (dev->i64[i] != ref->i64[i])
          fail_msg("%s: step %lld: %s: gpu %lld, ref %lld", path, (long long)k, g->params[i]->qualname,
                   (long long)dev->i64[i], (long long)ref->i64[i]);
        continue;
      }
      double e = rel_diff(dev->data + ref->off[i], ref->data + ref->off[i], ref->numel[i]);
      dp = fmax(dp, e);
      if (e > tol) printf("  step %lld %s: parameters differ by %.3g\n", (long long)k, g->params[i]->qualname, e);
    }
    rt_interp_out_free(&out);
  }
  float *stepwise = malloc(fb + sizeof(float));
  memcpy(stepwise, dev->data, fb);

  /* ---- the same steps as one launch ---- */
  reset(&b, ref, init, init64);
  a = base;
  a.perm = b.perm;
  a.nrows = nrows;
  a.nsteps = nsteps;
  a.lr = oc.lr;
  a.step0 = 1;
  up(b.metrics, zero, sizeof zero);
  launch(tk, &a);
  down(met, b.metrics, sizeof met);
  down(dev->data, b.params, fb);
  double d1 = rel_diff(dev->data, stepwise, ref->total);
  double dm = rel(met[0], msum[0]);

  /* ---- for information: the reference alone ---- */
  RtState *solo = NULL;
  assert_int_equal(rt_state_new(g, &solo, &d), JS_OK);
  memcpy(solo->data, init, fb);
  memcpy(solo->i64, init64, (size_t)g->nparams * sizeof(int64_t));
  OptimState sost;
  assert_int_equal(rt_optim_state_new(OPTIM_ADAM, ref->total, &sost, &d), JS_OK);
  for (int64_t k = 0; k < nsteps; k++) {
    int64_t first = k * batch, n = nrows - first < batch ? nrows - first : batch;
    for (int64_t i = 0; i < n; i++) {
      memcpy(rx + i * F, x + perm[first + i] * F, (size_t)F * sizeof(float));
      ry[i] = y64[perm[first + i]];
    }
    RtTensor tin[2] = {{.dtype = DT_F32, .rank = 2, .dims = {n, F}, .f = rx},
                       {.dtype = DT_I64, .rank = 1, .dims = {n}, .i = ry}};
    RtRunOpts to = {.mode = RT_TRAIN, .seed = 7, .step = (uint32_t)k};
    if (rt_interp_run(g, solo, &to, 2, names, tin, &out, &d)) fail_msg("%s", sb_str(&d.text));
    rt_interp_out_free(&out);
    rt_optim_step(&oc, &sost, solo->data, solo->grad, mask, oc.lr);
  }
  double dsolo = rel_diff(dev->data, solo->data, ref->total);

  printf("%-22s%s batch %lld, %lld steps (%lld rows): eval logits %.2e loss %.2e | per step: loss %.2e grads %.2e "
         "params %.2e | one launch vs per step: params %.2e loss %.2e | vs the reference alone: params %.2e  "
         "(compiled in %.0f + %.0f ms)\n",
         path, pre ? " (int8)" : "", (long long)batch, (long long)nsteps, (long long)nrows, de, del, dl, dg, dp, d1, dm,
         dsolo, tms, ems);
  assert_true(de <= tol && del <= tol);
  assert_true(dl <= tol && dg <= tol && dp <= tol);
  assert_true(d1 <= 1e-6 && dm <= 1e-6);

  rt_optim_state_free(&sost);
  rt_state_free(solo);
  uint64_t bufs[] = {b.params, b.grads, b.m, b.v, b.i64, b.scratch, b.x, b.y, b.perm, b.ident, b.metrics, b.logits};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) cg_cuda_free(cu, bufs[i]);
  free(stepwise), free(rx), free(ry), free(mask), free(lg), free(x), free(y), free(y64), free(perm), free(ident);
  free(init), free(init64);
  rt_optim_state_free(&ost);
  cg_cuda_kernel_free(tk);
  cg_cuda_kernel_free(ek);
  cg_plan_free(tp);
  cg_plan_free(ep);
  rt_state_free(ref);
  rt_state_free(dev);
  diag_free(&d);
  unload(&mod);
}

static void test_kernels(void **state) {
  (void)state;
  check_kernels(TINY_JSC, NULL, 128, 10, TOL);
  check_kernels(BIG_JSC, NULL, 128, 10, TOL);
  check_kernels(TINY_JSC, NULL, 256, 10, TOL);
}

/* Integer formats are fake-quantized in float32 on the device, in double in the reference:
 * equal wherever a value is not within rounding of a grid midpoint.  1e-5 is the first bar;
 * the printed line gives the largest difference. */
static void test_kernels_int8(void **state) {
  (void)state;
  check_kernels(TINY_JSC, INT8, 128, 10, TOL);
}

/* ==== on a GPU: the engine ==== */

static Status train_quiet(const RtTrainConfig *c, RtTrainResult *r) {
  Diag d;
  diag_init(&d, stderr);
  Status st = rt_train(c, r, &d);
  diag_free(&d);
  return st;
}


/* The largest relative difference between two runs' checkpoints of one model. */
static double ckpt_diff(const Graph *g, const char *a, const char *b) {
  Diag d;
  diag_init(&d, stderr);
  RtState *x = NULL, *y = NULL;
  assert_int_equal(rt_state_new(g, &x, &d), JS_OK);
  assert_int_equal(rt_state_new(g, &y, &d), JS_OK);
  assert_int_equal(rt_ckpt_load(a, x, &d), JS_OK);
  assert_int_equal(rt_ckpt_load(b, y, &d), JS_OK);
  double worst = rel_diff(x->data, y->data, x->total);
  for (int i = 0; i < x->n; i++)
    if (x->off[i] == (size_t)-1 && x->i64[i] != y->i64[i]) worst = INFINITY;
  rt_state_free(x);
  rt_state_free(y);
  diag_free(&d);
  return worst;
}

static void test_engine(void **state) {
  (void)state;
  Model m = load(TINY_JSC, NULL);
  RtTrainConfig cg = config(&m, RT_DEVICE_CUDA, 1, dir("gpu1")), cc = config(&m, RT_DEVICE_CPU, 1, dir("cpu1"));
  cc.engine = cg_llvm_available() ? RT_ENGINE_JIT : RT_ENGINE_REF;
  RtTrainResult rg, rc;
  assert_int_equal(train_quiet(&cg, &rg), JS_OK);
  assert_int_equal(train_quiet(&cc, &rc), JS_OK);
  assert_int_equal(rg.engine, RT_ENGINE_CUDA);
  assert_int_equal(rg.steps, rc.steps);
  printf("epoch 1 %-4s %.8f %.6f %.8f %.6f\n", rt_engine_name(rc.engine), rc.train_loss, rc.train_acc, rc.val_loss,
         rc.val_acc);
  printf("epoch 1 cuda %.8f %.6f %.8f %.6f\n", rg.train_loss, rg.train_acc, rg.val_loss, rg.val_acc);
  assert_true(rel(rg.train_loss, rc.train_loss) < 1e-4);
  assert_true(rel(rg.val_loss, rc.val_loss) < 1e-4);
  assert_true(fabs(rg.train_acc - rc.train_acc) <= 2.0 / (double)ds.train.n);
  assert_true(fabs(rg.val_acc - rc.val_acc) <= 2.0 / (double)ds.val.n);
  double dw = ckpt_diff(m.train, dir("gpu1/last.safetensors"), dir("cpu1/last.safetensors"));
  printf("epoch 1 weights, cuda vs %s: %.2e\n", rt_engine_name(rc.engine), dw);
  char *man = slurp(dir("gpu1"), "manifest.json");
  assert_non_null(man);
  assert_non_null(strstr(man, "\"engine\": \"cuda\""));
  assert_non_null(strstr(man, "\"device\": "));
  free(man);

  /* rt_test on the GPU against the CPU, on the GPU run's weights */
  RtTestConfig t;
  rt_test_config_default(&t);
  t.fwd = m.fwd;
  t.train = m.train;
  t.ckpt = dir("gpu1/best.safetensors");
  t.dataset = &ds;
  RtEvalResult eg, ec;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_test(&t, &ec, &d), JS_OK);
  t.device = RT_DEVICE_CUDA;
  assert_int_equal(rt_test(&t, &eg, &d), JS_OK);
  diag_free(&d);
  assert_int_equal(eg.engine, RT_ENGINE_CUDA);
  assert_int_equal(eg.n, ds.test.n);
  int64_t sum = 0, diff = 0;
  for (int i = 0; i < RT_JSC_CLASSES; i++)
    for (int j = 0; j < RT_JSC_CLASSES; j++) {
      sum += eg.confusion[i][j];
      diff += llabs(eg.confusion[i][j] - ec.confusion[i][j]);
    }
  printf("test: cuda loss %.8f acc %.6f, cpu loss %.8f acc %.6f, confusion cells differing by %lld rows\n", eg.loss,
         eg.acc, ec.loss, ec.acc, (long long)diff);
  assert_int_equal(sum, ds.test.n);
  assert_true(rel(eg.loss, ec.loss) < 1e-5);
  assert_true(fabs(eg.acc - ec.acc) <= 2.0 / (double)ds.test.n);

  /* 2 epochs straight against 1 + 1 resumed: the state round trip (parameters, buffers,
   * optimizer moments and step) through the host */
  RtTrainConfig full = config(&m, RT_DEVICE_CUDA, 2, dir("gpu_full")), part = config(&m, RT_DEVICE_CUDA, 1, dir("gpu_part"));
  RtTrainResult rf, rp;
  assert_int_equal(train_quiet(&full, &rf), JS_OK);
  assert_int_equal(train_quiet(&part, &rp), JS_OK);
  part.max_epochs = 2;
  part.out_dir = NULL;
  part.resume_dir = dir("gpu_part");
  assert_int_equal(train_quiet(&part, &rp), JS_OK);
  assert_int_equal(rp.epochs, 2);
  assert_int_equal(rp.steps, rf.steps);
  double dr = ckpt_diff(m.train, dir("gpu_full/last.safetensors"), dir("gpu_part/last.safetensors"));
  printf("2 epochs vs 1 + 1 resumed (cuda): weights %.2e\n", dr);
  assert_true(dr <= 1e-6);
  unload(&m);
}

/* ==== a group of trials ==== */

static void test_group(void **state) {
  (void)state;
  Model m = load(TINY_JSC, NULL);
  device_group_check(m.train, &ds);
  unload(&m);
}

static int gpu_setup(void **state) {
  Diag d;
  diag_init(&d, stderr);
  Status st = cg_cuda_open(&cu, &d);
  diag_free(&d);
  if (st) return -1;
  printf("device: %s, sm_%d\n", cg_cuda_device_name(cu), cg_cuda_arch(cu));
  return setup(state);
}

static int gpu_teardown(void **state) {
  teardown(state);
  cg_cuda_close(cu);
  cu = NULL;
  return 0;
}

int main(void) {
  const struct CMUnitTest host[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_dump_cuda),
      cmocka_unit_test(test_unavailable),
      cmocka_unit_test(test_group_open),
  };
  int failed = cmocka_run_group_tests_name("without a GPU", host, setup, teardown);
  if (failed) return failed;

  Diag d;
  diag_init(&d, NULL);
  CgCuda *c = NULL;
  Status st = cg_cuda_open(&c, &d);
  cg_cuda_close(c);
  char why[1024] = "";
  if (st) { /* the message without its "error: " */
    const char *msg = sb_str(&d.text), *p = strstr(msg, "error: ");
    snprintf(why, sizeof why, "%s", p ? p + 7 : msg);
  }
  diag_free(&d);
  if (!st && !cg_nvrtc_available(why, sizeof why)) st = JS_ERR;
  if (st) {
    printf("skipped the GPU tests: %s%s", why, strchr(why, '\n') ? "" : "\n");
    return 77;
  }
  const struct CMUnitTest gpu[] = {
      cmocka_unit_test(test_kernels),
      cmocka_unit_test(test_kernels_int8),
      cmocka_unit_test(test_engine),
      cmocka_unit_test(test_group),
  };
  return cmocka_run_group_tests_name("on the GPU", gpu, gpu_setup, gpu_teardown);
}
