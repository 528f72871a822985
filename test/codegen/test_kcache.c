/* test_kcache.c — the on-disk kernel cache (codegen/kcache.c).
 *
 * For jsc_tiny and jsc_big, the training and evaluation kernels compiled without a cache,
 * compiled through an empty cache (a miss that stores the object) and loaded from it (a hit)
 * run one step on the same batch from the same state; every float they write (parameters,
 * gradients, optimizer state, logits, metrics) must be bit for bit the same.  A cache file
 * with a flipped byte, one cut short and a stranger's file are misses that compile and
 * rewrite the file; a cache directory that cannot be created still compiles (a warning).
 * The integer kernels (intllvm.c) go through the same cache.  Skipped (exit 77) without
 * LLVM. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "frontend.h"
#include "intprog.h"
#include "passes.h"
#include "runtime.h"

#define INT8 "quantize{by=type, default={name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, " \
             "weight_frac_width=4, bias_width=8, bias_frac_width=4}, batch_norm1d={name=integer, data_in_width=8, " \
             "data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8, bias_frac_width=4}}"

static char tmp_dir[] = "/tmp/jscc_kcache_XXXXXX";

typedef struct Model {
  Program *prog;
  Graph *g;
  Arena *arena;
  RtState *init;  /* the state every step starts from */
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
  assert_int_equal(rt_state_new(m.g, &m.init, &d), JS_OK);
  Rng rng;
  rt_rng_seed(&rng, 3);
  rt_state_init(m.init, &rng);
  diag_free(&d);
  return m;
}

static void unload(Model *m) {
  rt_state_free(m->init);
  ir_program_free(m->prog);
  arena_free(m->arena);
}

static CgPlan *plan_of(const Model *m, bool train, const char *cache) {
  CgOptions o = {.batch = 100, .param_off = m->init->off, .train = train, .want_logits = !train,
                 .optim = {.kind = CG_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}, .kernel_cache = cache};
  CgPlan *p = NULL;
  Diag d;
  diag_init(&d, stderr);
  if (cg_plan_build(m->g, &o, &p, &d)) fail_msg("%s", sb_str(&d.text));
  diag_free(&d);
  return p;
}

/* Compiles p; *hit says whether it came from the cache.  Warnings go to warn when given. */
static CgKernel *compile(const CgPlan *p, bool *hit, StrBuf *warn) {
  Diag d;
  diag_init(&d, NULL);
  CgKernel *k = NULL;
  CgCompileInfo info = {0};
  if (cg_llvm_compile(p, &k, NULL, &info, &d)) fail_msg("%s", sb_str(&d.text));
  if (warn) sb_puts(warn, sb_str(&d.text));
  diag_free(&d);
  *hit = info.cache_hit;
  return k;
}

/* One step of k on a fixed batch of 77 rows (a partial block) from m's initial state; every
 * float the step writes, in one buffer (the caller frees it), *len floats. */
static float *run(const Model *m, const CgPlan *p, const CgKernel *k, size_t *len) {
  Diag d;
  diag_init(&d, stderr);
  RtState *s = NULL;
  assert_int_equal(rt_state_new(m->g, &s, &d), JS_OK);
  assert_int_equal(rt_state_copy(s, m->init), JS_OK);
  int64_t n = 77, bp = cg_plan_bpad(p);
  int F = cg_plan_features(p), C = cg_plan_classes(p);
  size_t ns = cg_plan_scratch_floats(p), T = s->total;
  float *x = aligned_alloc(64, (size_t)(F * bp) * sizeof(float) + 64);
  int32_t *y = aligned_alloc(64, (size_t)bp * sizeof(int32_t) + 64);
  float *valid = aligned_alloc(64, (size_t)bp * sizeof(float) + 64);
  float *scratch = aligned_alloc(64, ns * sizeof(float) + 64);
  *len = 4 * T + (size_t)(C * bp) + 4; /* params, grads, Adam's m and v, logits, two doubles */
  float *out = calloc(*len, sizeof(float));
  float *om = out + 2 * T, *ov = out + 3 * T, *logits = aligned_alloc(64, (size_t)(C * bp) * sizeof(float) + 64);
  Rng rng;
  rt_rng_seed(&rng, 11);
  for (int64_t i = 0; i < bp; i++) {
    valid[i] = i < n ? 1.0f : 0.0f;
    y[i] = i < n ? (int32_t)rt_rng_below(&rng, (uint64_t)C) : 0;
    for (int f = 0; f < F; f++) x[f * bp + i] = i < n ? (float)rt_rng_normal(&rng) : 0.0f;
  }
  memset(logits, 0, (size_t)(C * bp) * sizeof(float));
  double metrics[2] = {0};
  CgArgs a = {.params = s->data, .grads = s->grad, .x = x, .y = y, .valid = valid, .scratch = scratch,
              .opt_m = om, .opt_v = ov, .i64 = s->i64, .logits = logits, .metrics = metrics, .n = n, .lr = 1e-2,
              .step = 1, .seed = 7, .dstep = 3};
  cg_kernel_run(k, &a);
  memcpy(out, s->data, T * sizeof(float));
  memcpy(out + T, s->grad, T * sizeof(float));
  memcpy(out + 4 * T, logits, (size_t)(C * bp) * sizeof(float));
  memcpy(out + *len - 4, metrics, sizeof metrics);
  free(x), free(y), free(valid), free(scratch), free(logits);
  rt_state_free(s);
  diag_free(&d);
  return out;
}

/* The kernel without a cache, then through the cache (a miss, then a hit): the same bits. */
static void check_same(const char *path, bool train) {
  Model m = load(path, "shape,grad");
  CgPlan *plain = plan_of(&m, train, NULL), *cached = plan_of(&m, train, tmp_dir);
  bool hit;
  CgKernel *k0 = compile(plain, &hit, NULL);
  assert_false(hit);
  CgKernel *k1 = compile(cached, &hit, NULL);
  bool first_hit = hit;  /* jsc_tiny's training step may be cached by an earlier test */
  CgKernel *k2 = compile(cached, &hit, NULL);
  assert_true(hit);
  size_t n0, n1, n2;
  float *o0 = run(&m, plain, k0, &n0), *o1 = run(&m, cached, k1, &n1), *o2 = run(&m, cached, k2, &n2);
  assert_int_equal(n0, n1);
  assert_int_equal(n0, n2);
  assert_memory_equal(o0, o1, n0 * sizeof(float));
  assert_memory_equal(o0, o2, n0 * sizeof(float));
  double loss;
  memcpy(&loss, o0 + n0 - 4, sizeof loss);
  assert_true(loss > 0); /* the step ran */
  printf("%s %s step: %zu floats bit-identical (no cache, %s, hit)\n", path, train ? "training" : "evaluation", n0,
         first_hit ? "hit" : "miss");
  free(o0), free(o1), free(o2);
  cg_kernel_free(k0), cg_kernel_free(k1), cg_kernel_free(k2);
  cg_plan_free(plain), cg_plan_free(cached);
  unload(&m);
}

static void test_tiny(void **state) {
  (void)state;
  check_same("examples/jsc_tiny.jsc", true);
  check_same("examples/jsc_tiny.jsc", false);
}

static void test_big(void **state) {
  (void)state;
  check_same("examples/jsc_big.jsc", true);
  check_same("examples/jsc_big.jsc", false);
}

/* The one file of dir/kernels (the test that calls it starts from an empty dir). */
static void only_file(const char *dir, char *path, size_t cap) {
  char sub[512];
  snprintf(sub, sizeof sub, "%s/kernels", dir);
  DIR *dp = opendir(sub);
  assert_non_null(dp);
  int files = 0;
  for (struct dirent *e; (e = readdir(dp));)
    if (e->d_name[0] != '.') {
      snprintf(path, cap, "%s/%s", sub, e->d_name);
      files++;
    }
  closedir(dp);
  assert_int_equal(files, 1);
}

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  rewind(f);
  unsigned char *b = malloc(*len + 1);
  assert_int_equal(fread(b, 1, *len, f), *len);
  fclose(f);
  return b;
}

static void spit(const char *path, const void *b, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(b, 1, len, f), len);
  fclose(f);
}

/* Writes bad bytes over the cache file; the next compile must miss, run right and restore
 * the file. */
static void check_recovers(const Model *m, const CgPlan *p, const char *file, const unsigned char *good, size_t len,
                           const float *want, size_t nwant, const void *bad, size_t badlen, const char *what) {
  spit(file, bad, badlen);
  bool hit;
  CgKernel *k = compile(p, &hit, NULL);
  assert_false(hit);
  size_t n;
  float *o = run(m, p, k, &n);
  assert_int_equal(n, nwant);
  assert_memory_equal(o, want, n * sizeof(float));
  size_t len2;
  unsigned char *again = slurp(file, &len2);
  assert_int_equal(len2, len);
  assert_memory_equal(again, good, len);
  printf("%s: compiled again, file rewritten\n", what);
  free(again), free(o);
  cg_kernel_free(k);
}

static void test_corrupt(void **state) {
  (void)state;
  char dir[600], file[1200];
  snprintf(dir, sizeof dir, "%s/corrupt", tmp_dir);
  Model m = load("examples/jsc_tiny.jsc", "shape,grad");
  CgPlan *p = plan_of(&m, true, dir);
  bool hit;
  CgKernel *k = compile(p, &hit, NULL);
  assert_false(hit);
  size_t nwant;
  float *want = run(&m, p, k, &nwant);
  cg_kernel_free(k);
  only_file(dir, file, sizeof file);
  size_t len;
  unsigned char *good = slurp(file, &len);
  assert_true(len > 200);
  unsigned char *bad = malloc(len);
  memcpy(bad, good, len);
  bad[len / 2] ^= 0x10; /* in the object: the checksum catches it */
  check_recovers(&m, p, file, good, len, want, nwant, bad, len, "a flipped byte in the object");
  memcpy(bad, good, len);
  bad[20] ^= 1; /* in the key */
  check_recovers(&m, p, file, good, len, want, nwant, bad, len, "a flipped byte in the header");
  check_recovers(&m, p, file, good, len, want, nwant, good, len - 100, "a truncated file");
  check_recovers(&m, p, file, good, len, want, nwant, good, 40, "a file shorter than its header");
  check_recovers(&m, p, file, good, len, want, nwant, "", 0, "an empty file");
  check_recovers(&m, p, file, good, len, want, nwant, "\x7f" "ELF not ours", 12, "a stranger's file");
  k = compile(p, &hit, NULL); /* and the restored file is a hit again */
  assert_true(hit);
  cg_kernel_free(k);
  free(bad), free(good), free(want);
  cg_plan_free(p);
  unload(&m);
}

/* A cache directory that cannot exist (under a regular file): compiled, with a warning. */
static void test_unwritable(void **state) {
  (void)state;
  char file[600], dir[700];
  snprintf(file, sizeof file, "%s/plain_file", tmp_dir);
  spit(file, "x", 1);
  snprintf(dir, sizeof dir, "%s/cache", file);
  Model m = load("examples/jsc_tiny.jsc", "shape,grad");
  CgPlan *p = plan_of(&m, true, dir), *plain = plan_of(&m, true, NULL);
  StrBuf warn;
  sb_init(&warn);
  bool hit;
  CgKernel *k = compile(p, &hit, &warn), *k0 = compile(plain, &hit, NULL);
  assert_false(hit);
  assert_non_null(strstr(sb_str(&warn), "kernel cache: cannot create"));
  printf("unwritable: %s", sb_str(&warn));
  size_t n, n0;
  float *o = run(&m, p, k, &n), *o0 = run(&m, plain, k0, &n0);
  assert_memory_equal(o, o0, n * sizeof(float));
  free(o), free(o0);
  sb_free(&warn);
  cg_kernel_free(k), cg_kernel_free(k0);
  cg_plan_free(p), cg_plan_free(plain);
  unload(&m);
}

/* The integer kernel of a small program: the cached one computes what the compiled one does. */
static void test_int(void **state) {
  (void)state;
  char dir[600];
  snprintf(dir, sizeof dir, "%s/int", tmp_dir);
  Model m = load("examples/jsc_tiny.jsc", "shape," INT8);
  Diag d;
  diag_init(&d, stderr);
  const RtState *s = m.init;
  Rng rng;
  rt_rng_seed(&rng, 5);
  float x[37 * RT_JSC_FEATURES], l[3][37 * RT_JSC_CLASSES];
  for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = (float)rt_rng_normal(&rng);
  for (int i = 0; i < 3; i++) {
    RtIntExec *e = NULL;
    if (rt_int_open_cached(m.g, s, true, false, i ? dir : NULL, NULL, &e, &d)) fail_msg("%s", sb_str(&d.text));
    assert_int_equal(rt_int_exec(e, x, 37, l[i], NULL, &d), JS_OK);
    rt_int_close(e);
  }
  char file[1200];
  only_file(dir, file, sizeof file);
  assert_memory_equal(l[0], l[1], sizeof l[0]);
  assert_memory_equal(l[0], l[2], sizeof l[0]);
  printf("integer kernel: cached and compiled agree\n");
  diag_free(&d);
  unload(&m);
}

static int setup(void **state) {
  (void)state;
  return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp_dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  if (!cg_llvm_available()) {
    printf("built without LLVM: skipped\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tiny),    cmocka_unit_test(test_big), cmocka_unit_test(test_corrupt),
      cmocka_unit_test(test_unwritable), cmocka_unit_test(test_int),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
