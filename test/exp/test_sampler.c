/* test_sampler.c — the samplers of jscc search (exp/sampler.c) and the Pareto tools
 * (exp/pareto.c).  Samplers: asks repeat for the same arguments and differ across seeds,
 * random is uniform, the grid visits every point once and then refuses, failed trials are
 * ignored, bad arguments and allocation failures are reported; and the searches do their
 * job: over many seeds TPE finds a better point than random on a separable synthetic
 * objective (ordered and categorical), and MOTPE and NSGA-II cover a larger hypervolume than
 * random on a discrete ZDT1.  Pareto: ranks, hypervolumes and crowding distances of small
 * hand-computed sets, and the hypervolume of random sets against inclusion-exclusion. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "exp.h"
#include "../fail_nth.h"

#define MAXT 200 /* trials of one search */
#define MAXP 8   /* parameters */

/* A search's history: the trials asked so far and their objective values. */
typedef struct Hist {
  int n;
  int x[MAXT][MAXP];
  double y[MAXT][2];
  double y3[MAXT][3]; /* three objectives */
  ExpObs obs[MAXT];
} Hist;

/* A synthetic problem: its parameters, objectives and the hidden optimum it may use. */
typedef struct Problem {
  ExpParam p[MAXP];
  int np, nobj;
  int opt[MAXP];
  void (*f)(const struct Problem *pb, const int *x, double *y);
} Problem;

static void ask_ok(ExpSamplerKind k, const ExpSamplerOpts *o, const Problem *pb, uint64_t seed, const Hist *h, int *x) {
  Diag d;
  diag_init(&d, NULL);
  Status st = exp_sampler_ask(k, o, pb->p, pb->np, pb->nobj, seed, h->n, h->obs, h->n, x, &d);
  if (st) fprintf(stderr, "%s", sb_str(&d.text));
  assert_int_equal(st, JS_OK);
  diag_free(&d);
  for (int i = 0; i < pb->np; i++) assert_true(x[i] >= 0 && x[i] < pb->p[i].n);
}

/* ntrials trials of sampler k on pb, each told before the next is asked. */
static void search(ExpSamplerKind k, const ExpSamplerOpts *o, const Problem *pb, uint64_t seed, int ntrials, Hist *h) {
  h->n = 0;
  for (int t = 0; t < ntrials; t++) {
    ask_ok(k, o, pb, seed, h, h->x[t]);
    pb->f(pb, h->x[t], h->y[t]);
    h->obs[t] = (ExpObs){.trial = t, .x = h->x[t], .y = h->y[t], .ok = true};
    h->n++;
  }
}

static double best_value(const Hist *h) {
  double b = INFINITY;
  for (int t = 0; t < h->n; t++) b = fmin(b, h->y[t][0]);
  return b;
}

/* Sum of squared distances to the hidden optimum (ordered parameters). */
static void sphere(const Problem *pb, const int *x, double *y) {
  y[0] = 0;
  for (int i = 0; i < pb->np; i++) y[0] += (double)(x[i] - pb->opt[i]) * (x[i] - pb->opt[i]);
}

/* Parameters that miss the hidden optimum (categorical: no order to exploit). */
static void mismatches(const Problem *pb, const int *x, double *y) {
  y[0] = 0;
  for (int i = 0; i < pb->np; i++) y[0] += x[i] != pb->opt[i];
}

/* ZDT1 on indices 0..9: f1 = x0/9, g = 1 + sum(x1..)/4, f2 = g (1 - sqrt(f1 / g)). */
static void zdt1(const Problem *pb, const int *x, double *y) {
  double g = 1;
  for (int i = 1; i < pb->np; i++) g += x[i] / 4.0;
  y[0] = x[0] / 9.0;
  y[1] = g * (1 - sqrt(y[0] / g));
}

static Problem problem(int np, int n, bool ordered, int nobj, void (*f)(const Problem *, const int *, double *), uint64_t seed) {
  Problem pb = {.np = np, .nobj = nobj, .f = f};
  Rng r;
  rt_rng_seed(&r, seed * 7919 + 1);
  for (int i = 0; i < np; i++) {
    pb.p[i] = (ExpParam){.n = n, .ordered = ordered};
    pb.opt[i] = (int)rt_rng_below(&r, (uint64_t)n);
  }
  return pb;
}

/* ---- samplers: the plumbing ---- */

static void test_names(void **state) {
  (void)state;
  const char *names[] = {"random", "tpe", "nsgaii", "grid"};
  for (int i = 0; i < 4; i++) {
    ExpSamplerKind k;
    assert_true(exp_sampler_parse(names[i], &k));
    assert_string_equal(exp_sampler_name(k), names[i]);
  }
  ExpSamplerKind k;
  assert_false(exp_sampler_parse("TPE", &k));
  assert_false(exp_sampler_parse("", &k));
  ExpSamplerOpts o;
  exp_sampler_opts_default(&o);
  assert_int_equal(o.n_startup, 10);
  assert_int_equal(o.n_ei_candidates, 24);
  assert_int_equal(o.population, 50);
  assert_true(o.crossover_prob == 0.9 && o.swapping_prob == 0.5 && o.mutation_prob <= 0);
}

/* Asking again with the same arguments gives the same trial, for every sampler and in any
 * order; another seed gives other trials (while TPE is random: afterwards, the same history
 * often gives the same argmax whatever the seed). */
static void test_determinism(void **state) {
  (void)state;
  Problem pb = problem(4, 6, true, 2, zdt1, 1);
  ExpSamplerOpts o;
  exp_sampler_opts_default(&o);
  o.population = 8;
  static Hist h;
  for (int k = 0; k < 4; k++) {
    search((ExpSamplerKind)k, &o, &pb, 42, 30, &h);
    int n_same = 0;
    for (int t = 29; t >= 0; t--) { /* backwards: no ask depends on the one before it */
      int x[MAXP], x2[MAXP];
      Hist past = h;
      past.n = t;
      ask_ok((ExpSamplerKind)k, &o, &pb, 42, &past, x);
      assert_memory_equal(x, h.x[t], (size_t)pb.np * sizeof *x);
      ask_ok((ExpSamplerKind)k, &o, &pb, 43, &past, x2);
      if (t < 10) n_same += memcmp(x, x2, (size_t)pb.np * sizeof *x) == 0; /* TPE's startup */
    }
    assert_true(n_same < 3);
  }
}

/* TPE and NSGA-II learn only from the trials before the one asked for that are ok. */
static void test_failed_ignored(void **state) {
  (void)state;
  Problem pb = problem(3, 5, true, 2, zdt1, 2);
  ExpSamplerOpts o;
  exp_sampler_opts_default(&o);
  o.population = 6;
  static Hist h, dirty;
  for (int k = EXP_SAMPLER_TPE; k <= EXP_SAMPLER_NSGAII; k++) {
    search((ExpSamplerKind)k, &o, &pb, 7, 40, &h);
    dirty = h;
    dirty.n = 0;
    static const int bad_x[MAXP] = {99, -1, 99};
    for (int t = 0; t < 40; t++) {
      dirty.obs[dirty.n] = h.obs[t];
      if (t % 3 == 0) dirty.obs[dirty.n] = (ExpObs){.trial = t, .x = bad_x, .y = NULL, .ok = false};
      dirty.n++;
    }
    ExpObs later = {.trial = 45, .x = h.x[0], .y = h.y[0], .ok = true};
    dirty.obs[dirty.n++] = later; /* a trial after the one asked for: ignored too */
    int x[MAXP], x2[MAXP];
    Diag d;
    diag_init(&d, NULL);
    assert_int_equal(exp_sampler_ask((ExpSamplerKind)k, &o, pb.p, pb.np, 2, 5, 40, dirty.obs, dirty.n, x, &d), JS_OK);
    for (int t = 0, m = 0; t < 40; t++)
      if (t % 3) h.obs[m++] = h.obs[t];
    assert_int_equal(exp_sampler_ask((ExpSamplerKind)k, &o, pb.p, pb.np, 2, 5, 40, h.obs, 40 - 14, x2, &d), JS_OK);
    assert_memory_equal(x, x2, (size_t)pb.np * sizeof *x);
    diag_free(&d);
  }
}

static void test_random_uniform(void **state) {
  (void)state;
  ExpParam p[2] = {{.n = 5}, {.n = 1, .ordered = true}};
  int count[5] = {0};
  Diag d;
  diag_init(&d, NULL);
  for (int t = 0; t < 5000; t++) {
    int x[2];
    assert_int_equal(exp_sampler_ask(EXP_SAMPLER_RANDOM, NULL, p, 2, 1, 9, t, NULL, 0, x, &d), JS_OK);
    assert_true(x[0] >= 0 && x[0] < 5);
    assert_int_equal(x[1], 0);
    count[x[0]]++;
  }
  for (int c = 0; c < 5; c++) assert_true(count[c] > 850 && count[c] < 1150); /* 1000 +- 5.3 sd */
  diag_free(&d);
}

/* Every point of the grid once, in an order that depends on the seed; then an error. */
static void test_grid(void **state) {
  (void)state;
  ExpParam p[3] = {{.n = 3}, {.n = 4, .ordered = true}, {.n = 2}};
  assert_int_equal(exp_grid_size(p, 3), 24);
  Diag d;
  diag_init(&d, NULL);
  int seen[24] = {0}, first[2][3];
  for (int s = 0; s < 2; s++)
    for (int t = 0; t < 24; t++) {
      int x[3];
      assert_int_equal(exp_sampler_ask(EXP_SAMPLER_GRID, NULL, p, 3, 1, (uint64_t)s, t, NULL, 0, x, &d), JS_OK);
      if (t == 0) memcpy(first[s], x, sizeof x);
      if (s == 0) seen[(x[0] * 4 + x[1]) * 2 + x[2]]++;
    }
  for (int i = 0; i < 24; i++) assert_int_equal(seen[i], 1);
  int x[3];
  assert_int_equal(exp_sampler_ask(EXP_SAMPLER_GRID, NULL, p, 3, 1, 0, 24, NULL, 0, x, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "the grid has 24 points: trial 24 is past its end"));
  diag_free(&d);
  ExpParam big[5] = {{.n = 1000}, {.n = 1000}, {.n = 1000}, {.n = 1 << 30}, {.n = 1000}};
  assert_int_equal(exp_grid_size(big, 3), 1000000000);
  assert_int_equal(exp_grid_size(big, 5), INT64_MAX);
}

/* A grid too big to list: its first trials are distinct points, seed-dependent. */
static void test_grid_big(void **state) {
  (void)state;
  ExpParam p[3] = {{.n = 1000}, {.n = 999}, {.n = 1001}};
  enum { N = 3000 };
  static int64_t pts[N];
  Diag d;
  diag_init(&d, NULL);
  int64_t diff = 0;
  for (int t = 0; t < N; t++) {
    int x[3], y[3];
    assert_int_equal(exp_sampler_ask(EXP_SAMPLER_GRID, NULL, p, 3, 1, 5, t, NULL, 0, x, &d), JS_OK);
    assert_int_equal(exp_sampler_ask(EXP_SAMPLER_GRID, NULL, p, 3, 1, 6, t, NULL, 0, y, &d), JS_OK);
    pts[t] = ((int64_t)x[0] * 999 + x[1]) * 1001 + x[2];
    diff += memcmp(x, y, sizeof x) != 0;
    for (int u = 0; u < t; u++) assert_true(pts[u] != pts[t]);
  }
  assert_true(diff > N - 10);
  diag_free(&d);
}

static void test_bad_args(void **state) {
  (void)state;
  ExpParam p[2] = {{.n = 3}, {.n = 0}};
  int x[2];
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(exp_sampler_ask(EXP_SAMPLER_RANDOM, NULL, p, 2, 1, 0, 0, NULL, 0, x, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "parameter 1 has 0 choices"));
  p[1].n = 2;
  assert_int_equal(exp_sampler_ask(EXP_SAMPLER_TPE, NULL, p, 2, 0, 0, 0, NULL, 0, x, &d), JS_ERR);
  int bad[2] = {1, 2};
  double y = 1;
  ExpObs h = {.trial = 0, .x = bad, .y = &y, .ok = true};
  assert_int_equal(exp_sampler_ask(EXP_SAMPLER_TPE, NULL, p, 2, 1, 0, 1, &h, 1, x, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "trial 0: index 2 of parameter 1 is out of range [0, 2)"));
  ExpSamplerOpts o;
  exp_sampler_opts_default(&o);
  o.crossover_prob = 1.5;
  assert_int_equal(exp_sampler_ask(EXP_SAMPLER_NSGAII, &o, p, 2, 1, 0, 0, NULL, 0, x, &d), JS_ERR);
  diag_free(&d);
}

/* Every allocation of a MOTPE ask and of an NSGA-II ask fails in turn: JS_ENOMEM, reported
 * once, nothing leaked (ASan). */
static void test_oom(void **state) {
  (void)state;
  Problem pb = problem(3, 6, true, 2, zdt1, 3);
  pb.p[2].ordered = false;
  ExpSamplerOpts o;
  exp_sampler_opts_default(&o);
  o.population = 5;
  static Hist h;
  for (int k = EXP_SAMPLER_TPE; k <= EXP_SAMPLER_NSGAII; k++) {
    search((ExpSamplerKind)k, &o, &pb, 1, 30, &h);
    FailNth fh;
    for (long n = 0;; n++) {
      Diag d;
      diag_init(&d, NULL);
      int x[MAXP];
      fail_nth_install(&fh, n);
      Status st = exp_sampler_ask((ExpSamplerKind)k, &o, pb.p, pb.np, 2, 1, 30, h.obs, 30, x, &d);
      bool done = fh.calls <= n;
      ir_set_alloc_hook(NULL, NULL);
      assert_true(done ? st == JS_OK : st == JS_ENOMEM);
      assert_int_equal(d.nerrors, done ? 0 : 1);
      diag_free(&d);
      if (done) break;
    }
  }
}

/* TPE is random (the random sampler's very draws) until n_startup trials have finished ok:
 * a failed one does not count; with three objectives too (MOTPE's 3-D hypervolumes). */
static void test_tpe_startup(void **state) {
  (void)state;
  Problem pb = problem(4, 9, true, 2, zdt1, 4);
  pb.nobj = 3; /* zdt1 writes two: the third is set below */
  static Hist h;
  h.n = 0;
  int differ = 0;
  for (int t = 0; t < 40; t++) {
    int x[MAXP], xr[MAXP];
    ask_ok(EXP_SAMPLER_TPE, NULL, &pb, 3, &h, x);
    ask_ok(EXP_SAMPLER_RANDOM, NULL, &pb, 3, &h, xr);
    bool failed = t == 4;
    int ok = t - (t > 4);
    if (ok < 10) assert_memory_equal(x, xr, (size_t)pb.np * sizeof *x);
    else differ += memcmp(x, xr, (size_t)pb.np * sizeof *x) != 0;
    memcpy(h.x[t], x, sizeof x);
    double y3[3];
    zdt1(&pb, x, y3);
    y3[2] = fabs(x[1] - 4.0) + fabs(x[2] - 2.0);
    memcpy(h.y3[t], y3, sizeof y3);
    h.obs[t] = (ExpObs){.trial = t, .x = h.x[t], .y = h.y3[t], .ok = !failed};
    h.n++;
  }
  assert_true(differ > 20); /* of 30 model-based asks */
}

/* ---- samplers: the searches work ---- */

/* Mean over seeds of the best value found in ntrials. */
static double mean_best(ExpSamplerKind k, int np, int n, bool ordered, void (*f)(const Problem *, const int *, double *),
                        int nseeds, int ntrials) {
  static Hist h;
  double sum = 0;
  for (int s = 0; s < nseeds; s++) {
    Problem pb = problem(np, n, ordered, 1, f, (uint64_t)s);
    search(k, NULL, &pb, 1000 + (uint64_t)s, ntrials, &h);
    sum += best_value(&h);
  }
  return sum / nseeds;
}

/* 6 ordered parameters of 7 choices, the squared distance to a hidden optimum; 30 seeds of
 * 60 trials.  Random's mean best is about 9, TPE's about 3 (2.3 to 3.7 over other seeds). */
static void test_tpe_beats_random(void **state) {
  (void)state;
  double r = mean_best(EXP_SAMPLER_RANDOM, 6, 7, true, sphere, 30, 60);
  double t = mean_best(EXP_SAMPLER_TPE, 6, 7, true, sphere, 30, 60);
  printf("sphere, mean best of 60 trials: random %.2f, tpe %.2f\n", r, t);
  assert_true(t < 0.6 * r);
}

/* The same with 6 categorical parameters of 5 choices and the number of misses. */
static void test_tpe_categorical(void **state) {
  (void)state;
  double r = mean_best(EXP_SAMPLER_RANDOM, 6, 5, false, mismatches, 30, 80);
  double t = mean_best(EXP_SAMPLER_TPE, 6, 5, false, mismatches, 30, 80);
  printf("mismatches, mean best of 80 trials: random %.2f, tpe %.2f\n", r, t);
  assert_true(t < 0.8 * r); /* about 0.55 to 0.7 over other seeds */
}

/* Mean hypervolume (reference (1, 4)) over seeds of 80 trials on the discrete ZDT1. */
static double mean_hv(ExpSamplerKind k, int nseeds) {
  static Hist h;
  ExpSamplerOpts o;
  exp_sampler_opts_default(&o);
  o.population = 8;
  double sum = 0, ref[2] = {1, 4};
  for (int s = 0; s < nseeds; s++) {
    Problem pb = problem(5, 10, true, 2, zdt1, (uint64_t)s);
    search(k, &o, &pb, 77 + (uint64_t)s, 80, &h);
    sum += exp_hypervolume(&h.y[0][0], h.n, 2, ref);
  }
  return sum / nseeds;
}

static void test_multi_objective(void **state) {
  (void)state;
  double r = mean_hv(EXP_SAMPLER_RANDOM, 20), t = mean_hv(EXP_SAMPLER_TPE, 20), n = mean_hv(EXP_SAMPLER_NSGAII, 20);
  printf("zdt1, mean hypervolume of 80 trials: random %.3f, motpe %.3f, nsgaii %.3f\n", r, t, n);
  assert_true(t > 1.2 * r); /* about 1.35 to 1.45 over other seeds */
  assert_true(n > 1.2 * r); /* about 1.3 to 1.4 */
}

/* ---- Pareto ---- */

static void test_ranks(void **state) {
  (void)state;
  const double y[] = {1, 4, 2, 2, 3, 3, 4, 1, 4, 4, NAN, 0, 2, 2, 5, 5};
  int rank[8];
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(exp_nondominated_rank(y, 8, 2, rank, &d), JS_OK);
  const int want[8] = {0, 0, 1, 0, 2, 8, 0, 3};
  assert_memory_equal(rank, want, sizeof want);
  const double z[] = {1, 2, 3, 3, 2, 1, 2, 2, 2, 2, 3, 4};
  assert_int_equal(exp_nondominated_rank(z, 4, 3, rank, &d), JS_OK);
  assert_int_equal(rank[0], 0);
  assert_int_equal(rank[1], 0);
  assert_int_equal(rank[2], 0);
  assert_int_equal(rank[3], 1);
  assert_int_equal(exp_nondominated_rank(z, 4, 0, rank, &d), JS_ERR);
  diag_free(&d);
}

static void test_hypervolume_known(void **state) {
  (void)state;
  const double a[] = {1, 3, 2, 2, 3, 1, 5, 0}, ra[] = {4, 4};
  assert_float_equal(exp_hypervolume(a, 4, 2, ra), 6, 1e-12); /* (5, 0) is outside */
  assert_float_equal(exp_hypervolume(a, 0, 2, ra), 0, 0);
  const double b[] = {1, 1, 1}, rb[] = {2, 3, 4};
  assert_float_equal(exp_hypervolume(b, 1, 3, rb), 6, 1e-12);
  const double c[] = {0, 0, 1, 1, 1, 0, 1.5, 1.5, 1.5}, rc[] = {2, 2, 2};
  assert_float_equal(exp_hypervolume(c, 3, 3, rc), 5, 1e-12); /* 4 + 2 - 1; the third is dominated */
  const double e[] = {3, 1, 2}, re[] = {5};
  assert_float_equal(exp_hypervolume(e, 3, 1, re), 4, 1e-12);
}

/* The volume of the union of boxes [p, ref] by inclusion-exclusion over every subset. */
static double hv_brute(const double *y, int n, int nobj, const double *ref) {
  double v = 0;
  for (unsigned s = 1; s < 1u << n; s++) {
    double vol = 1;
    int bits = 0;
    for (int k = 0; k < nobj; k++) {
      double lo = -INFINITY;
      for (int i = 0; i < n; i++)
        if (s >> i & 1) lo = fmax(lo, y[i * nobj + k]);
      vol *= fmax(ref[k] - lo, 0);
    }
    for (int i = 0; i < n; i++) bits += s >> i & 1;
    v += bits % 2 ? vol : -vol;
  }
  return v;
}

static void test_hypervolume_random(void **state) {
  (void)state;
  Rng r;
  rt_rng_seed(&r, 11);
  for (int trial = 0; trial < 40; trial++) {
    int nobj = 3 + trial % 2, n = 4 + (int)rt_rng_below(&r, 8);
    double y[12 * 4], ref[4] = {1, 1, 1, 1};
    for (int i = 0; i < n * nobj; i++) y[i] = rt_rng_uniform(&r) * 1.1; /* some outside ref */
    if (trial % 5 == 0) memcpy(y + nobj, y, (size_t)nobj * sizeof *y); /* a duplicate */
    double got = exp_hypervolume(y, n, nobj, ref), want = hv_brute(y, n, nobj, ref);
    assert_float_equal(got, want, 1e-12);
  }
}

static void test_crowding(void **state) {
  (void)state;
  const double y[] = {9, 9, 0, 10, 1, 6, 3, 3, 10, 0};
  const int idx[] = {1, 2, 3, 4};
  double dist[4];
  exp_crowding(y, 2, idx, 4, dist);
  assert_true(isinf(dist[0]) && isinf(dist[3]));
  assert_float_equal(dist[1], 0.3 + 0.7, 1e-12);
  assert_float_equal(dist[2], 0.9 + 0.6, 1e-12);
  const int two[] = {0, 3};
  exp_crowding(y, 2, two, 2, dist);
  assert_true(isinf(dist[0]) && isinf(dist[1]));
  const double flat[] = {1, 0, 1, 1, 1, 3}; /* objective 0 the same everywhere: it adds nothing */
  const int three[] = {0, 1, 2};
  exp_crowding(flat, 2, three, 3, dist);
  assert_true(isinf(dist[0]) && isinf(dist[2]));
  assert_float_equal(dist[1], 1, 1e-12);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),          cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_failed_ignored), cmocka_unit_test(test_random_uniform),
      cmocka_unit_test(test_grid),           cmocka_unit_test(test_grid_big),
      cmocka_unit_test(test_bad_args),       cmocka_unit_test(test_oom),
      cmocka_unit_test(test_tpe_startup),
      cmocka_unit_test(test_tpe_beats_random), cmocka_unit_test(test_tpe_categorical),
      cmocka_unit_test(test_multi_objective), cmocka_unit_test(test_ranks),
      cmocka_unit_test(test_hypervolume_known), cmocka_unit_test(test_hypervolume_random),
      cmocka_unit_test(test_crowding),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
