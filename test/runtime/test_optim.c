/* test_optim.c — the optimizers and schedules against PyTorch 1.13: replays
 * test/data/optim/optim_ref.txt (written by scripts/optim_reference.py: a parameter vector,
 * ten gradients, the parameters after each step and the final state for Adam, Adam with L2,
 * AdamW and four SGD variants; the learning rate per epoch of each scheduler) and requires
 * every value within 1e-6 relative, printing the largest difference of each case.  Also:
 * PyTorch's defaults, names, the trainable mask and degenerate schedules. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "runtime.h"

#define REF "test/data/optim/optim_ref.txt"
#define TOL 1e-6   /* relative */
#define FLOOR 1e-6 /* below this magnitude the difference is taken as absolute */
#define MAXN 64
#define MAXSTEPS 16

static double rel_diff(double got, double want) {
  return fabs(got - want) / fmax(fabs(want), FLOOR);
}

/* The reference file, line by line. */
typedef struct Ref {
  FILE *f;
  char *line;
  size_t cap;
  int n, steps;
  float init[MAXN];
  float grad[MAXSTEPS][MAXN];
} Ref;

static bool next_line(Ref *r) {
  for (;;) {
    if (getline(&r->line, &r->cap, r->f) < 0) return false;
    if (r->line[0] != '#') return true;
  }
}

/* "WORD v0 v1 ..." -> count values after skipping `skip` words. */
static int floats_after(const char *line, int skip, float *out, int cap) {
  const char *p = line;
  for (int k = 0; k < skip; k++) {
    while (*p == ' ') p++;
    while (*p && *p != ' ' && *p != '\n') p++;
  }
  int n = 0;
  for (;;) {
    char *end;
    double v = strtod(p, &end);
    if (end == p) break;
    assert_true(n < cap);
    out[n++] = (float)v;
    p = end;
  }
  return n;
}

/* "key=value" from a case or sched line; fails the test when absent. */
static double kv(const char *line, const char *key) {
  char pat[40];
  snprintf(pat, sizeof pat, " %s=", key);
  const char *p = strstr(line, pat);
  if (!p) fail_msg("no %s in: %s", key, line);
  return strtod(p + strlen(pat), NULL);
}

static void read_header(Ref *r) {
  r->f = fopen(REF, "r");
  if (!r->f) fail_msg("cannot open %s (tests run from the source root)", REF);
  assert_true(next_line(r) && sscanf(r->line, "n %d", &r->n) == 1 && r->n <= MAXN);
  assert_true(next_line(r) && sscanf(r->line, "steps %d", &r->steps) == 1 && r->steps <= MAXSTEPS);
  assert_true(next_line(r) && strncmp(r->line, "init ", 5) == 0);
  assert_int_equal(floats_after(r->line, 1, r->init, MAXN), r->n);
  for (int k = 0; k < r->steps; k++) {
    assert_true(next_line(r) && strncmp(r->line, "grad ", 5) == 0);
    assert_int_equal(floats_after(r->line, 2, r->grad[k], MAXN), r->n);
  }
}

static void test_against_pytorch(void **state) {
  (void)state;
  Ref r = {0};
  read_header(&r);
  int ncases = 0, nscheds = 0;
  bool have = next_line(&r);
  double worst = 0;
  while (have) {
    if (strncmp(r.line, "case ", 5) == 0) {
      char name[64], kind[16];
      assert_int_equal(sscanf(r.line, "case %63s %15s", name, kind), 2);
      OptimKind ok;
      assert_true(rt_optim_parse(kind, &ok));
      OptimConfig c;
      rt_optim_default(&c, ok);
      c.lr = kv(r.line, "lr");
      c.weight_decay = kv(r.line, "wd");
      if (ok == OPTIM_SGD) {
        c.momentum = kv(r.line, "momentum");
        c.dampening = kv(r.line, "dampening");
        c.nesterov = kv(r.line, "nesterov") != 0;
      } else {
        c.beta1 = kv(r.line, "beta1");
        c.beta2 = kv(r.line, "beta2");
        c.eps = kv(r.line, "eps");
      }
      Diag d;
      diag_init(&d, stderr);
      OptimState st;
      assert_int_equal(rt_optim_state_new(ok, (size_t)r.n, &st, &d), JS_OK);
      float p[MAXN], want[MAXN];
      memcpy(p, r.init, sizeof p);
      double maxd = 0;
      int at = -1;
      for (int k = 0; k < r.steps; k++) {
        rt_optim_step(&c, &st, p, r.grad[k], NULL, c.lr);
        assert_true(next_line(&r) && strncmp(r.line, "param ", 6) == 0);
        assert_int_equal(floats_after(r.line, 2, want, MAXN), r.n);
        for (int i = 0; i < r.n; i++) {
          double e = rel_diff(p[i], want[i]);
          if (e > maxd) maxd = e, at = k * MAXN + i;
        }
      }
      assert_int_equal(st.step, r.steps);
      double maxs = 0;
      while ((have = next_line(&r)) && strncmp(r.line, "state ", 6) == 0) {
        float *buf = r.line[6] == 'm' ? st.m : st.v;
        assert_non_null(buf);
        assert_int_equal(floats_after(r.line, 2, want, MAXN), r.n);
        for (int i = 0; i < r.n; i++) maxs = fmax(maxs, rel_diff(buf[i], want[i]));
      }
      print_message("%-16s max rel diff: params %.3g (step %d, element %d), state %.3g\n", name, maxd,
                    at < 0 ? 0 : at / MAXN + 1, at < 0 ? 0 : at % MAXN, maxs);
      assert_true(maxd <= TOL && maxs <= TOL);
      worst = fmax(worst, fmax(maxd, maxs));
      rt_optim_state_free(&st);
      diag_free(&d);
      ncases++;
      continue;
    }
    if (strncmp(r.line, "sched ", 6) == 0) {
      char name[64], kind[16];
      assert_int_equal(sscanf(r.line, "sched %63s %15s", name, kind), 2);
      SchedConfig sc = {0};
      assert_true(rt_sched_parse(kind, &sc.kind));
      double base = kv(r.line, "base");
      if (sc.kind == SCHED_STEP) {
        sc.step_size = (int64_t)kv(r.line, "step_size");
        sc.gamma = kv(r.line, "gamma");
      } else if (sc.kind == SCHED_COSINE) {
        sc.t_max = (int64_t)kv(r.line, "t_max");
        sc.eta_min = kv(r.line, "eta_min");
      }
      assert_true(next_line(&r) && strncmp(r.line, "lr ", 3) == 0);
      double maxd = 0;
      int64_t e = 0;
      for (const char *p = r.line + 3;; e++) {
        char *end;
        double want = strtod(p, &end);
        if (end == p) break;
        p = end;
        maxd = fmax(maxd, fabs(rt_sched_lr(&sc, base, e) - want) / fmax(fabs(want), 1e-12));
      }
      print_message("%-16s max rel diff over %lld epochs: %.3g\n", name, (long long)e, maxd);
      assert_true(maxd <= TOL);
      worst = fmax(worst, maxd);
      nscheds++;
      have = next_line(&r);
      continue;
    }
    fail_msg("unexpected line in %s: %s", REF, r.line);
  }
  print_message("largest relative difference from PyTorch: %.3g over %d optimizer cases, %d schedules\n", worst,
                ncases, nscheds);
  assert_int_equal(ncases, 8);
  assert_int_equal(nscheds, 4);
  free(r.line);
  fclose(r.f);
}

static void test_defaults_and_names(void **state) {
  (void)state;
  OptimConfig c;
  rt_optim_default(&c, OPTIM_ADAM);
  assert_true(c.lr == 1e-3 && c.beta1 == 0.9 && c.beta2 == 0.999 && c.eps == 1e-8 && c.weight_decay == 0);
  rt_optim_default(&c, OPTIM_ADAMW);
  assert_true(c.lr == 1e-3 && c.weight_decay == 1e-2);
  rt_optim_default(&c, OPTIM_SGD);
  assert_true(c.momentum == 0 && c.dampening == 0 && !c.nesterov && c.weight_decay == 0);
  for (int k = OPTIM_ADAM; k <= OPTIM_SGD; k++) {
    OptimKind back;
    assert_true(rt_optim_parse(rt_optim_name((OptimKind)k), &back) && back == (OptimKind)k);
  }
  for (int k = SCHED_CONSTANT; k <= SCHED_COSINE; k++) {
    SchedKind back;
    assert_true(rt_sched_parse(rt_sched_name((SchedKind)k), &back) && back == (SchedKind)k);
  }
  OptimKind ok;
  SchedKind sk;
  assert_false(rt_optim_parse("Adam", &ok));
  assert_false(rt_sched_parse("", &sk));
  assert_string_equal(rt_optim_name(OPTIM_ADAMW), "adamw");
  assert_string_equal(rt_sched_name(SCHED_COSINE), "cosine");
  /* Degenerate schedules keep the base rate instead of dividing by zero. */
  SchedConfig s = {.kind = SCHED_STEP, .step_size = 0, .gamma = 0.1};
  assert_true(rt_sched_lr(&s, 0.5, 10) == 0.5);
  s = (SchedConfig){.kind = SCHED_COSINE, .t_max = 0};
  assert_true(rt_sched_lr(&s, 0.5, 10) == 0.5);
  s = (SchedConfig){.kind = SCHED_COSINE, .t_max = 10, .eta_min = 1e-6};
  assert_true(fabs(rt_sched_lr(&s, 0.1, 10) - 1e-6) < 1e-18);
  assert_true(rt_sched_lr(&s, 0.1, 0) == 0.1);
}

/* Masked elements (buffers) keep their value and their optimizer state. */
static void test_mask(void **state) {
  (void)state;
  for (int k = OPTIM_ADAM; k <= OPTIM_SGD; k++) {
    OptimConfig c;
    rt_optim_default(&c, (OptimKind)k);
    c.momentum = 0.9;
    c.weight_decay = 0.1;
    Diag d;
    diag_init(&d, stderr);
    OptimState st;
    assert_int_equal(rt_optim_state_new((OptimKind)k, 6, &st, &d), JS_OK);
    float p[6] = {1, 2, 3, 4, 5, 6}, g[6] = {1, 1, 1, 1, 1, 1};
    uint8_t mask[6] = {1, 0, 1, 0, 0, 1};
    for (int s = 0; s < 3; s++) rt_optim_step(&c, &st, p, g, mask, c.lr);
    assert_int_equal(st.step, 3);
    for (int i = 0; i < 6; i++) {
      if (mask[i]) {
        assert_true(p[i] < i + 1);
        assert_true(st.m[i] != 0);
      } else {
        assert_true(p[i] == i + 1 && st.m[i] == 0 && (!st.v || st.v[i] == 0));
      }
    }
    rt_optim_state_free(&st);
    rt_optim_state_free(&st); /* idempotent */
    diag_free(&d);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_against_pytorch),
      cmocka_unit_test(test_defaults_and_names),
      cmocka_unit_test(test_mask),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
