/* test_intexec.c — the integer engine's runtime glue (runtime/intexec.c): RtIntExec over any
 * row count (the JIT's padded last block), rt_int_eval and rt_int_test against the fake-quant
 * reference engine (rt_test with engine ref: the same loss, accuracy and confusion matrix, to
 * the bit, since the logits are), allocation failures reported, and the throughput of the C
 * executor and the JIT on jsc_big int8 over 100k rows (printed, not asserted).  The JIT parts
 * skip without LLVM. */
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

#include "frontend.h"
#include "passes.h"
#include "runtime.h"
#include "../fail_nth.h"

#define INT8 "quantize{by=type, default={name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, " \
             "weight_frac_width=4, bias_width=8, bias_frac_width=4}, batch_norm1d={name=integer, data_in_width=8, " \
             "data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8, bias_frac_width=4}}"

static RtDataset data;

static int setup(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, stderr);
  RtDataOpts o;
  rt_data_opts_default(&o);
  o.synth_n = 5000;
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

typedef struct Model {
  Arena *arena;
  Program *prog;
  Graph *g;
  RtState *s;
} Model;

/* Not test/codegen/fixture.c's fx_load + fx_trained_state: this takes a whole pipeline, and its
 * parameters differ (seed 4, BatchNorm affine left at 1 and 0, other draws), and these tests
 * keep theirs. */
static void load(Model *m, const char *path, const char *pipeline) {
  memset(m, 0, sizeof *m);
  Diag d;
  diag_init(&d, stderr);
  m->arena = arena_new();
  SrcFile *src = NULL;
  assert_int_equal(diag_read_file(m->arena, path, &src, &d), JS_OK);
  assert_int_equal(fe_parse(src, &m->prog, &d), JS_OK);
  m->g = m->prog->graphs[0];
  assert_int_equal(pass_run_text(pipeline, m->g, &d), JS_OK);
  assert_int_equal(rt_state_new(m->g, &m->s, &d), JS_OK);
  Rng rng;
  rt_rng_seed(&rng, 4);
  rt_state_init(m->s, &rng);
  for (int i = 0; i < m->g->nparams; i++) { /* BatchNorm statistics away from 0 and 1 */
    const Param *p = m->g->params[i];
    float *t = m->s->off[i] == (size_t)-1 ? NULL : m->s->data + m->s->off[i];
    for (size_t k = 0; t && k < m->s->numel[i]; k++) {
      if (strcmp(p->name, "running_mean") == 0) t[k] = (float)rt_rng_normal(&rng) * 0.5f;
      if (strcmp(p->name, "running_var") == 0) t[k] = 0.3f + 1.7f * (float)rt_rng_uniform(&rng);
      if (!(p->owner && p->owner->type == MT_BATCHNORM1D) && strcmp(p->name, "weight") == 0) t[k] *= 3.0f;
    }
  }
  diag_free(&d);
}

static void unload(Model *m) {
  rt_state_free(m->s);
  ir_program_free(m->prog);
  arena_free(m->arena);
}

/* Any row count: the JIT's blocks plus a padded tail give the C executor's logits. */
static void test_tails(void **state) {
  (void)state;
  if (!cg_llvm_available()) skip();
  Model m;
  load(&m, "examples/jsc_big.jsc", "shape," INT8);
  Diag d;
  diag_init(&d, stderr);
  RtIntExec *c = NULL, *j = NULL;
  assert_int_equal(rt_int_open(m.g, m.s, false, false, &c, &d), JS_OK);
  assert_int_equal(rt_int_open(m.g, m.s, true, false, &j, &d), JS_OK);
  float lc[40 * 5], lj[40 * 5];
  for (int64_t n = 1; n <= 40; n++) {
    memset(lj, 0xff, sizeof lj);
    assert_int_equal(rt_int_exec(c, data.test.x, n, lc, NULL, &d), JS_OK);
    assert_int_equal(rt_int_exec(j, data.test.x, n, lj, NULL, &d), JS_OK);
    assert_memory_equal(lc, lj, sizeof(float) * (size_t)(n * 5));
  }
  /* a trace from an engine opened without one is refused */
  int64_t tr[1];
  assert_int_equal(rt_int_exec(c, data.test.x, 1, lc, tr, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "opened without one"));
  rt_int_close(c);
  rt_int_close(j);
  diag_free(&d);
  unload(&m);
}

/* rt_int_test == rt_test with the reference engine on the same quantized graph: the
 * integer logits are the fake-quant ones, so loss, accuracy and confusion agree exactly. */
static void test_against_ref(void **state) {
  (void)state;
  const char *paths[] = {"examples/jsc_tiny.jsc", "examples/jsc_big.jsc"};
  for (int i = 0; i < 2; i++) {
    Model m;
    load(&m, paths[i], "shape," INT8);
    Diag d;
    diag_init(&d, stderr);
    char ckpt[] = "/tmp/jscc_intexec_XXXXXX";
    int fd = mkstemp(ckpt);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(rt_ckpt_save(ckpt, m.s, NULL, &d), JS_OK);
    RtTestConfig c;
    rt_test_config_default(&c);
    c.fwd = m.g;
    c.ckpt = ckpt;
    c.dataset = &data;
    c.engine = RT_ENGINE_REF;
    RtEvalResult ref, ic, ij;
    assert_int_equal(rt_test(&c, &ref, &d), JS_OK);
    assert_int_equal(rt_int_test(&c, false, &ic, &d), JS_OK);
    printf("%-22s int8: reference loss %.9f acc %.6f; integer C loss %.9f acc %.6f\n", paths[i], ref.loss, ref.acc, ic.loss,
           ic.acc);
    assert_true(ic.loss == ref.loss && ic.acc == ref.acc && ic.n == ref.n);
    assert_memory_equal(ic.confusion, ref.confusion, sizeof ref.confusion);
    if (cg_llvm_available()) {
      assert_int_equal(rt_int_test(&c, true, &ij, &d), JS_OK);
      assert_true(ij.loss == ref.loss && ij.acc == ref.acc);
      assert_memory_equal(ij.confusion, ref.confusion, sizeof ref.confusion);
    }
    unlink(ckpt);
    diag_free(&d);
    unload(&m);
  }
}

/* A graph that is not integer-only is refused before any data are touched. */
static void test_refused(void **state) {
  (void)state;
  Model m;
  load(&m, "examples/jsc_tiny.jsc", "shape");
  Diag d;
  diag_init(&d, NULL);
  RtIntExec *e = NULL;
  assert_int_equal(rt_int_open(m.g, m.s, false, false, &e, &d), JS_ERR);
  assert_null(e);
  assert_non_null(strstr(sb_str(&d.text), "integer-only inference: node 'seq_blocks_0': batch_norm1d is not quantized"));
  diag_free(&d);
  unload(&m);
}

/* Every allocation of opening and running the C engine may fail: reported, never a crash
 * (ASan checks that nothing leaks). */
static void test_oom(void **state) {
  (void)state;
  Model m;
  load(&m, "examples/jsc_toy.jsc", "shape," INT8);
  float z[7 * 5];
  FailNth h;
  int failures = 0;
  for (long k = 0; k < 1000; k++) {
    Diag d;
    diag_init(&d, NULL);
    RtIntExec *e = NULL;
    fail_nth_install(&h, k);
    Status st = rt_int_open(m.g, m.s, false, false, &e, &d);
    if (!st) st = rt_int_exec(e, data.test.x, 7, z, NULL, &d);
    rt_int_close(e);
    ir_set_alloc_hook(NULL, NULL);
    bool done = h.calls <= k;
    diag_free(&d);
    if (done) {
      assert_int_equal(st, JS_OK);
      break;
    }
    assert_int_equal(st, JS_ENOMEM);
    failures++;
  }
  assert_true(failures > 5);
  unload(&m);
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* rows/s of the C executor and the JIT, jsc_big int8, 100k rows (the test split repeated). */
static void test_throughput(void **state) {
  (void)state;
  Model m;
  load(&m, "examples/jsc_big.jsc", "shape," INT8);
  Diag d;
  diag_init(&d, stderr);
  int64_t rows = 100000;
  float *x = malloc(sizeof(float) * (size_t)rows * RT_JSC_FEATURES), *z = malloc(sizeof(float) * (size_t)rows * 5);
  for (int64_t r = 0; r < rows; r++)
    memcpy(x + r * RT_JSC_FEATURES, data.test.x + (r % data.test.n) * RT_JSC_FEATURES, sizeof(float) * RT_JSC_FEATURES);
  for (int jit = 0; jit < 2; jit++) {
    if (jit && !cg_llvm_available()) break;
    RtIntExec *e = NULL;
    assert_int_equal(rt_int_open(m.g, m.s, jit, false, &e, &d), JS_OK);
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
      double t0 = now_s();
      assert_int_equal(rt_int_exec(e, x, rows, z, NULL, &d), JS_OK);
      best = fmin(best, now_s() - t0);
    }
    printf("jsc_big int8, %lld rows: %s %.3g rows/s (%.1f ms)%s\n", (long long)rows,
           jit ? "integer JIT" : "integer C executor", (double)rows / best, best * 1e3,
           jit ? (e->prog->i32 ? ", 32-bit lanes" : ", 64-bit lanes") : "");
    if (jit) printf("  JIT compile %.0f ms, %d rows per block on %s\n", e->compile_ms, e->vec, cg_host_cpu());
    rt_int_close(e);
  }
  free(x);
  free(z);
  diag_free(&d);
  unload(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tails), cmocka_unit_test(test_against_ref), cmocka_unit_test(test_refused),
      cmocka_unit_test(test_oom),   cmocka_unit_test(test_throughput),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
