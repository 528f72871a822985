/* test_state.c — RtState: the packed, aligned layout in state_dict order, PyTorch's default
 * initialisers in distribution (bounds, means, variances, histograms), determinism per seed,
 * lookups, the trainable mask, copies, and allocation failure. */
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
#include "runtime.h"
#include "../fail_nth.h"

/* A parsed model that owns its program and arena. */
typedef struct Model {
  Arena *a;
  Program *p;
  Graph *g;
} Model;

static Model parse_model(const char *text) {
  Model m = {arena_new(), NULL, NULL};
  assert_non_null(m.a);
  Diag d;
  diag_init(&d, stderr);
  SrcFile *src = diag_src_from_string(m.a, "t.jsc", text, strlen(text));
  assert_non_null(src);
  assert_int_equal(fe_parse(src, &m.p, &d), JS_OK);
  diag_free(&d);
  m.g = m.p->graphs[0];
  return m;
}

static void model_free(Model *m) {
  ir_program_free(m->p);
  arena_free(m->a);
}

/* Every initialiser, in sizes big enough for tight statistics. */
static const char *init_model =
    "model Init {\n"
    "    input x: f32[B, 64]\n"
    "    fc = Linear(64, 4096)\n"
    "    odd = Linear(300, 7)\n"
    "    conv = Conv1d(8, 16, 5)\n"
    "    bn = BatchNorm1d(16)\n"
    "    param w: f32[200, 1000] = normal(0.5, 2.0)\n"
    "    param u: f32[100000] = uniform(-3.0, 1.0)\n"
    "    buffer c: f32[10] = constant(0.25)\n"
    "    param o: f32[3, 3] = ones\n"
    "    return fc(x)\n"
    "}\n";

typedef struct Stats {
  double min, max, mean, var;
} Stats;

static Stats stats(const float *x, size_t n) {
  Stats s = {INFINITY, -INFINITY, 0, 0};
  for (size_t i = 0; i < n; i++) {
    s.min = fmin(s.min, x[i]);
    s.max = fmax(s.max, x[i]);
    s.mean += x[i];
  }
  s.mean /= (double)n;
  for (size_t i = 0; i < n; i++) s.var += (x[i] - s.mean) * (x[i] - s.mean);
  s.var /= (double)n;
  return s;
}

static size_t numel_of(const RtState *s, const char *name) {
  int i = rt_state_index(s, name);
  assert_true(i >= 0);
  return s->numel[i];
}

/* U(-b, b): inside the bounds, reaching close to both, with the moments and a flat histogram. */
static void check_uniform(const RtState *s, const char *name, double lo, double hi) {
  const float *x = rt_state_tensor(s, name);
  assert_non_null(x);
  size_t n = numel_of(s, name);
  Stats st = stats(x, n);
  double w = hi - lo;
  print_message("%-14s n=%-7zu U(%.6f, %.6f): min %.6f max %.6f mean %+.6f var %.6f (expected %.6f)\n", name, n, lo,
                hi, st.min, st.max, st.mean, st.var, w * w / 12);
  assert_true(st.min >= (float)lo && st.max <= (float)hi);
  if (n >= 1000) assert_true(st.min < lo + 0.01 * w && st.max > hi - 0.01 * w);
  double se = w / sqrt(12.0 * (double)n); /* standard error of the mean */
  assert_true(fabs(st.mean - (lo + hi) / 2) < 5 * se);
  if (n >= 10000) {
    assert_true(fabs(st.var / (w * w / 12) - 1) < 0.03);
    int hist[10] = {0};
    for (size_t i = 0; i < n; i++) {
      int b = (int)((x[i] - lo) / w * 10);
      hist[b < 0 ? 0 : b > 9 ? 9 : b]++;
    }
    for (int b = 0; b < 10; b++) assert_true(fabs(hist[b] / (n / 10.0) - 1) < 0.05);
  }
}

static void test_layout(void **state) {
  (void)state;
  Model m = parse_model(init_model);
  Diag d;
  diag_init(&d, stderr);
  RtState *s;
  assert_int_equal(rt_state_new(m.g, &s, &d), JS_OK);
  assert_int_equal(s->n, m.g->nparams);
  assert_true(((uintptr_t)s->data & 63) == 0 && ((uintptr_t)s->grad & 63) == 0);
  /* Packed in state_dict order: each f32 tensor right after the previous one. */
  size_t at = 0;
  for (int i = 0; i < s->n; i++) {
    const Param *p = m.g->params[i];
    if (p->type.dtype == DT_I64) {
      assert_true(s->off[i] == (size_t)-1);
      assert_non_null(strstr(p->qualname, "num_batches_tracked"));
      continue;
    }
    assert_int_equal(s->off[i], at);
    assert_int_equal(s->numel[i], (size_t)ir_type_numel(&p->type));
    at += s->numel[i];
  }
  assert_int_equal(s->total, at);
  assert_int_equal(rt_state_index(s, "fc.weight"), 0);
  assert_ptr_equal(rt_state_tensor(s, "fc.weight"), s->data);
  assert_ptr_equal(rt_state_tensor(s, "fc.bias"), s->data + 4096 * 64);
  assert_null(rt_state_tensor(s, "bn.num_batches_tracked"));
  assert_null(rt_state_tensor(s, "nope"));
  assert_int_equal(rt_state_index(s, "nope"), -1);
  rt_state_free(s);
  rt_state_free(NULL);
  diag_free(&d);
  model_free(&m);
}

static void test_init_distributions(void **state) {
  (void)state;
  Model m = parse_model(init_model);
  Diag d;
  diag_init(&d, stderr);
  RtState *s;
  assert_int_equal(rt_state_new(m.g, &s, &d), JS_OK);
  Rng rng;
  rt_rng_seed(&rng, 1);
  rt_state_init(s, &rng);
  /* Linear and Conv1d as PyTorch 1.13 resets them: kaiming_uniform_(a=sqrt(5)) gives
   * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
  double b64 = 1 / sqrt(64.0), b300 = 1 / sqrt(300.0), b40 = 1 / sqrt(40.0);
  check_uniform(s, "fc.weight", -b64, b64);
  check_uniform(s, "fc.bias", -b64, b64);
  check_uniform(s, "odd.weight", -b300, b300);
  check_uniform(s, "odd.bias", -b300, b300);
  check_uniform(s, "conv.weight", -b40, b40); /* fan_in = in_channels * kernel_size */
  check_uniform(s, "conv.bias", -b40, b40);
  check_uniform(s, "u", -3, 1);
  /* normal(0.5, 2.0) */
  Stats w = stats(rt_state_tensor(s, "w"), 200000);
  print_message("w              N(0.5, 2^2): mean %.4f std %.4f\n", w.mean, sqrt(w.var));
  assert_true(fabs(w.mean - 0.5) < 5 * 2.0 / sqrt(200000.0));
  assert_true(fabs(sqrt(w.var) / 2.0 - 1) < 0.01);
  /* BatchNorm1d: weight ones, bias zeros, running_mean zeros, running_var ones, 0 batches. */
  const float *bw = rt_state_tensor(s, "bn.weight"), *bb = rt_state_tensor(s, "bn.bias");
  const float *rm = rt_state_tensor(s, "bn.running_mean"), *rv = rt_state_tensor(s, "bn.running_var");
  for (int i = 0; i < 16; i++) {
    assert_true(bw[i] == 1 && bb[i] == 0 && rm[i] == 0 && rv[i] == 1);
  }
  assert_int_equal(s->i64[rt_state_index(s, "bn.num_batches_tracked")], 0);
  const float *c = rt_state_tensor(s, "c"), *o = rt_state_tensor(s, "o");
  for (int i = 0; i < 10; i++) assert_true(c[i] == 0.25f);
  for (int i = 0; i < 9; i++) assert_true(o[i] == 1);
  for (size_t i = 0; i < s->total; i++) assert_true(s->grad[i] == 0);
  rt_state_free(s);
  diag_free(&d);
  model_free(&m);
}

static void test_seed_and_copy(void **state) {
  (void)state;
  Model m = parse_model(init_model);
  Diag d;
  diag_init(&d, stderr);
  RtState *a, *b;
  assert_int_equal(rt_state_new(m.g, &a, &d), JS_OK);
  assert_int_equal(rt_state_new(m.g, &b, &d), JS_OK);
  Rng r1, r2;
  rt_rng_seed(&r1, 42);
  rt_rng_seed(&r2, 42);
  rt_state_init(a, &r1);
  rt_state_init(b, &r2);
  assert_memory_equal(a->data, b->data, a->total * sizeof(float));
  rt_rng_seed(&r2, 43);
  rt_state_init(b, &r2);
  assert_true(memcmp(a->data, b->data, 4096 * sizeof(float)) != 0);
  /* A copy is exact, gradients and i64 buffers included. */
  a->grad[7] = 3.5f;
  a->i64[rt_state_index(a, "bn.num_batches_tracked")] = 99;
  assert_int_equal(rt_state_copy(b, a), JS_OK);
  assert_memory_equal(a->data, b->data, a->total * sizeof(float));
  assert_true(b->grad[7] == 3.5f);
  assert_int_equal(b->i64[rt_state_index(b, "bn.num_batches_tracked")], 99);
  /* Another graph's layout is refused. */
  Model t = parse_model("model T {\n input x: f32[B, 4]\n fc = Linear(4, 2)\n return fc(x)\n}\n");
  RtState *c;
  assert_int_equal(rt_state_new(t.g, &c, &d), JS_OK);
  assert_int_equal(rt_state_copy(c, a), JS_EUSAGE);
  rt_state_free(c);
  model_free(&t);
  rt_state_free(a);
  rt_state_free(b);
  diag_free(&d);
  model_free(&m);
}

static void test_trainable_mask(void **state) {
  (void)state;
  Model m = parse_model(init_model);
  Diag d;
  diag_init(&d, stderr);
  RtState *s;
  assert_int_equal(rt_state_new(m.g, &s, &d), JS_OK);
  uint8_t *mask = ir_malloc(s->total);
  assert_non_null(mask);
  rt_state_trainable_mask(s, mask);
  size_t ones = 0;
  for (size_t i = 0; i < s->total; i++) ones += mask[i];
  size_t nparam = 0;
  for (int i = 0; i < m.g->nparams; i++)
    if (m.g->params[i]->kind == PK_PARAM) nparam += (size_t)ir_type_numel(&m.g->params[i]->type);
  assert_int_equal(ones, nparam);
  size_t rm = (size_t)(rt_state_tensor(s, "bn.running_mean") - s->data);
  size_t bw = (size_t)(rt_state_tensor(s, "bn.weight") - s->data);
  size_t cc = (size_t)(rt_state_tensor(s, "c") - s->data);
  assert_true(mask[rm] == 0 && mask[rm + 15] == 0 && mask[cc] == 0 && mask[bw] == 1 && mask[0] == 1);
  ir_free(mask);
  rt_state_free(s);
  diag_free(&d);
  model_free(&m);
}


static void test_oom(void **state) {
  (void)state;
  Model m = parse_model(init_model);
  long fail_at;
  for (fail_at = 0;; fail_at++) {
    Diag d;
    diag_init(&d, NULL);
    RtState *s = NULL;
    FailNth h;
    fail_nth_install(&h, fail_at);
    Status st = rt_state_new(m.g, &s, &d);
    ir_set_alloc_hook(NULL, NULL);
    diag_free(&d);
    if (st == JS_OK) {
      rt_state_free(s);
      break;
    }
    assert_int_equal(st, JS_ENOMEM);
    assert_null(s);
  }
  assert_true(fail_at > 3);
  model_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layout),         cmocka_unit_test(test_init_distributions),
      cmocka_unit_test(test_seed_and_copy),  cmocka_unit_test(test_trainable_mask),
      cmocka_unit_test(test_oom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
