/* exp/sampler.c — the samplers of jscc search: which index of each parameter a trial takes.
 *
 * Every ask is a pure function of the seed, the trial number and the finished trials it is
 * given: its generator is seeded from (seed, trial), and TPE and NSGA-II rebuild what they
 * know from the history on each call, so a resumed search asks again and gets the same
 * trial, whatever order the asks come in.  The defaults are Optuna's (TPESampler,
 * NSGAIISampler); spec/search.md says where this differs.
 *
 *   random   each index uniform
 *   grid     the trial-th point of the product in an order shuffled by the seed (a keyed
 *            Feistel bijection on the grid's indices: nothing is materialised)
 *   tpe      Bergstra et al. 2011, univariate Parzen estimators; several objectives: MOTPE
 *   nsgaii   Deb et al. 2002: elitist selection by rank and crowding, tournament, uniform
 *            crossover, mutation */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exp.h"

/* What one ask works with. */
typedef struct Ask {
  ExpSamplerOpts o;       /* resolved: every default filled in */
  const ExpParam *p;      /* [np] */
  int np, nobj;
  uint64_t seed;
  int trial;              /* the trial asked for */
  const ExpObs **obs;     /* [nobs] the usable finished trials before it, by trial number */
  int nobs;
  Rng rng;                /* seeded from (seed, trial) */
  Arena *a;               /* this ask's scratch memory */
  Diag *d;
} Ask;

static const char *const sampler_names[] = {"random", "tpe", "nsgaii", "grid"};

bool exp_sampler_parse(const char *name, ExpSamplerKind *out) {
  for (int k = 0; name && k < 4; k++)
    if (strcmp(name, sampler_names[k]) == 0) {
      *out = (ExpSamplerKind)k;
      return true;
    }
  return false;
}

const char *exp_sampler_name(ExpSamplerKind k) { return (unsigned)k < 4 ? sampler_names[k] : "unknown"; }

void exp_sampler_opts_default(ExpSamplerOpts *o) {
  *o = (ExpSamplerOpts){.n_startup = 10, .n_ei_candidates = 24, .population = 50, .mutation_prob = 0,
                        .crossover_prob = 0.9, .swapping_prob = 0.5};
}

/* ==== random and grid ==== */

static void sample_random(Ask *k, int *x) {
  for (int i = 0; i < k->np; i++) x[i] = (int)rt_rng_below(&k->rng, (uint64_t)k->p[i].n);
}

int64_t exp_grid_size(const ExpParam *params, int nparams) {
  int64_t s = 1;
  for (int i = 0; i < nparams; i++) {
    if (params[i].n <= 0) return 0;
    if (s > INT64_MAX / params[i].n) return INT64_MAX;
    s *= params[i].n;
  }
  return s;
}

/* splitmix64's finaliser: a good 64-bit mix for the Feistel rounds. */
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

#define GRID_ROUNDS 6

/* A keyed permutation of [0, 2^(2h)): a balanced Feistel network of h-bit halves. */
static uint64_t feistel(uint64_t v, int h, const uint64_t *key) {
  uint64_t mask = h >= 32 ? 0xffffffffULL : (1ULL << h) - 1;
  uint64_t l = v >> h, r = v & mask;
  for (int i = 0; i < GRID_ROUNDS; i++) {
    uint64_t t = l ^ (mix64(r ^ key[i]) & mask);
    l = r;
    r = t;
  }
  return (l << h) | r;
}

/* The t-th index of [0, size) in the seed's order: the Feistel permutation of the smallest
 * even power of two that holds size, walked along its cycle until it lands below size (a
 * bijection on [0, size); under 4 steps on average). */
static uint64_t grid_index(uint64_t size, uint64_t t, uint64_t seed) {
  int bits = 1;
  while (bits < 64 && (1ULL << bits) < size) bits++;
  int h = (bits + 1) / 2;
  Rng r;
  uint64_t key[GRID_ROUNDS];
  rt_rng_seed(&r, seed ^ 0x6772696473656564ULL); /* "gridseed": not the trials' stream */
  for (int i = 0; i < GRID_ROUNDS; i++) key[i] = rt_rng_u64(&r);
  uint64_t v = t;
  do v = feistel(v, h, key);
  while (v >= size);
  return v;
}

static Status sample_grid(Ask *k, int *x) {
  int64_t size = exp_grid_size(k->p, k->np);
  if (k->trial >= size)
    return diag_error(k->d, (SrcLoc){0}, "the grid has %lld points: trial %d is past its end", (long long)size, k->trial);
  uint64_t v = grid_index((uint64_t)size, (uint64_t)k->trial, k->seed);
  for (int i = k->np - 1; i >= 0; i--) { /* the last parameter fastest */
    x[i] = (int)(v % (uint64_t)k->p[i].n);
    v /= (uint64_t)k->p[i].n;
  }
  return JS_OK;
}

/* ==== TPE: the Parzen estimators ==== */

/* Optuna's default_gamma: how many of n trials are "below" (good). */
static int tpe_gamma(int n) {
  int g = (n + 9) / 10;
  return g < 25 ? g : 25;
}

/* Optuna's default_weights of n observations in trial order: ones below 25, else a ramp
 * from 1/n to 1 over the older n-25 and ones over the newest 25. */
static void tpe_default_weights(int n, double *w) {
  int ramp = n < 25 ? 0 : n - 25;
  for (int i = 0; i < n; i++) w[i] = 1;
  for (int i = 0; i < ramp; i++) w[i] = ramp == 1 ? 1.0 / n : 1.0 / n + (1 - 1.0 / n) * i / (ramp - 1);
}

/* Phi(b) - Phi(a) for a <= b, on the side of zero where erfc keeps its precision. */
static double normal_mass(double a, double b) {
  if (a > 0) return 0.5 * (erfc(a / M_SQRT2) - erfc(b / M_SQRT2));
  return 0.5 * (erfc(-b / M_SQRT2) - erfc(-a / M_SQRT2));
}

/* A kernel (mean mu, width sigma) truncated to [-0.5, n-0.5] and discretised: its mass
 * on [c-0.5, c+0.5] for each index c, added into pmf[n] times w. */
static void add_kernel(double mu, double sigma, double w, int n, double *pmf) {
  double z = normal_mass((-0.5 - mu) / sigma, (n - 0.5 - mu) / sigma);
  for (int c = 0; c < n; c++) pmf[c] += w * normal_mass((c - 0.5 - mu) / sigma, (c + 0.5 - mu) / sigma) / z;
}

typedef struct Mu {
  double v; /* the kernel's mean */
  int i;    /* its observation (m: the prior) */
} Mu;

static int mu_cmp(const void *a, const void *b) {
  const Mu *x = a, *y = b;
  if (x->v != y->v) return x->v < y->v ? -1 : 1;
  return x->i - y->i;
}

/* Optuna's univariate bandwidths (consider_endpoints false, magic clip): each kernel as wide
 * as the larger gap to its neighbours among the means and the prior's, the outermost as
 * their inner gap, clipped to [range / min(100, 1 + kernels), range]. */
static void tpe_sigmas(Mu *s, int m, int n, double *sigma) {
  double low = -0.5, high = n - 0.5, range = high - low;
  qsort(s, (size_t)m + 1, sizeof *s, mu_cmp);
  for (int j = 0; j <= m; j++) {
    double left = s[j].v - (j > 0 ? s[j - 1].v : low), right = (j < m ? s[j + 1].v : high) - s[j].v;
    double sg = fmax(left, right);
    if (m >= 1 && j == 0) sg = right;
    if (m >= 1 && j == m) sg = left;
    double lo = range / fmin(100.0, 2.0 + m);
    if (s[j].i < m) sigma[s[j].i] = fmin(fmax(sg, lo), range);
  }
}

/* Mixture weights: w[0..m) then the prior's 1.0, normalised into wn[m+1]. */
static void tpe_mix_weights(const double *w, int m, double *wn) {
  double sum = 1;
  for (int j = 0; j < m; j++) sum += w[j];
  for (int j = 0; j < m; j++) wn[j] = w[j] / sum;
  wn[m] = 1 / sum;
}

/* pmf[n] of an ordered parameter's estimator: Optuna's IntDistribution kernels (truncated
 * normals on the index range, discretised by +-0.5) at the observed indices obs[m] with
 * weights w[m], plus the prior (centre of the range, as wide as it). */
static Status tpe_pmf_ordered(Ask *k, const int *obs, const double *w, int m, int n, double *pmf) {
  Mu *s = arena_alloc(k->a, (size_t)(m + 1) * sizeof *s);
  double *sigma = arena_alloc(k->a, (size_t)(m + 1) * sizeof *sigma), *wn = arena_alloc(k->a, (size_t)(m + 1) * sizeof *wn);
  if (!s || !sigma || !wn) return diag_oom(k->d);
  for (int j = 0; j < m; j++) s[j] = (Mu){obs[j], j};
  s[m] = (Mu){(n - 1) / 2.0, m};
  tpe_sigmas(s, m, n, sigma);
  tpe_mix_weights(w, m, wn);
  for (int c = 0; c < n; c++) pmf[c] = 0;
  for (int j = 0; j < m; j++) add_kernel(obs[j], sigma[j], wn[j], n, pmf);
  add_kernel((n - 1) / 2.0, n, wn[m], n, pmf);
  return JS_OK;
}

/* pmf[n] of a categorical parameter's estimator (Optuna's): each observation's kernel puts
 * prior_weight / kernels on every choice and 1 more on its own, normalised; the prior's
 * kernel is uniform. */
static Status tpe_pmf_categorical(Ask *k, const int *obs, const double *w, int m, int n, double *pmf) {
  double *wn = arena_alloc(k->a, (size_t)(m + 1) * sizeof *wn);
  if (!wn) return diag_oom(k->d);
  tpe_mix_weights(w, m, wn);
  double base = 1.0 / (m + 1), row = n * base + 1;
  for (int c = 0; c < n; c++) pmf[c] = wn[m] / n;
  for (int j = 0; j < m; j++) {
    for (int c = 0; c < n; c++) pmf[c] += wn[j] * base / row;
    pmf[obs[j]] += wn[j] / row;
  }
  return JS_OK;
}

/* One group of trials (below or above) as one parameter's estimator. */
typedef struct Group {
  const ExpObs **t; /* [m] in trial order */
  double *w;        /* [m] their weights */
  int m;
} Group;

static Status tpe_pmf(Ask *k, const Group *g, int param, double *pmf) {
  int *obs = arena_alloc(k->a, (size_t)(g->m + 1) * sizeof *obs), n = k->p[param].n;
  if (!obs) return diag_oom(k->d);
  for (int j = 0; j < g->m; j++) obs[j] = g->t[j]->x[param];
  if (k->p[param].ordered) return tpe_pmf_ordered(k, obs, g->w, g->m, n, pmf);
  return tpe_pmf_categorical(k, obs, g->w, g->m, n, pmf);
}

/* An index drawn from pmf[n] by its cumulative sum. */
static int draw_pmf(Rng *r, const double *pmf, int n) {
  double total = 0;
  for (int c = 0; c < n; c++) total += pmf[c];
  double u = rt_rng_uniform(r) * total;
  for (int c = 0; c < n - 1; c++) {
    if (u < pmf[c]) return c;
    u -= pmf[c];
  }
  return n - 1;
}

/* One parameter: n_ei_candidates draws from l (the below estimator), the one with the
 * largest l(x) / g(x) (the first on a tie). */
static Status tpe_param(Ask *k, const Group *below, const Group *above, int param, int *x) {
  int n = k->p[param].n;
  double *l = arena_alloc(k->a, 2 * (size_t)n * sizeof *l), *g = l + n;
  if (!l) return diag_oom(k->d);
  Status st = tpe_pmf(k, below, param, l);
  if (!st) st = tpe_pmf(k, above, param, g);
  if (st) return st;
  double best = -1;
  for (int i = 0; i < k->o.n_ei_candidates; i++) {
    int c = draw_pmf(&k->rng, l, n);
    if (l[c] / g[c] > best) {
      best = l[c] / g[c];
      *x = c;
    }
  }
  return JS_OK;
}

/* ==== TPE: splitting the history ==== */

/* Entries of obs (pointers into it) by value, the earlier trial first on a tie. */
static int by_value(const void *a, const void *b) {
  const ExpObs *x = **(const ExpObs *const *const *)a, *y = **(const ExpObs *const *const *)b;
  if (x->y[0] != y->y[0]) return x->y[0] < y->y[0] ? -1 : 1;
  return (x->trial > y->trial) - (x->trial < y->trial);
}

/* One objective: the nb trials of lowest value are below. */
static Status split_single(Ask *k, int nb, bool *below) {
  const ExpObs ***s = arena_alloc(k->a, (size_t)k->nobs * sizeof *s);
  if (!s) return diag_oom(k->d);
  for (int i = 0; i < k->nobs; i++) s[i] = &k->obs[i];
  qsort(s, (size_t)k->nobs, sizeof *s, by_value);
  for (int i = 0; i < k->nobs; i++) below[i] = false;
  for (int i = 0; i < nb; i++) below[s[i] - k->obs] = true;
  return JS_OK;
}

/* The objective values of the trials obs[i] with sel[i] (all when sel is NULL), row-major. */
static double *gather_y(Ask *k, const bool *sel, int *m) {
  double *y = arena_alloc(k->a, ((size_t)k->nobs + 1) * (size_t)k->nobj * sizeof *y);
  *m = 0;
  for (int i = 0; y && i < k->nobs; i++)
    if (!sel || sel[i]) memcpy(y + (size_t)(*m)++ * k->nobj, k->obs[i]->y, (size_t)k->nobj * sizeof *y);
  return y;
}

/* Optuna's reference point for a set of losses: the worst value of each objective, moved
 * 10% further away (1e-12 when it is 0). */
static void reference_point(const double *y, int m, int nobj, double *ref) {
  for (int j = 0; j < nobj; j++) {
    double w = -INFINITY;
    for (int i = 0; i < m; i++) w = fmax(w, y[(size_t)i * nobj + j]);
    ref[j] = fmax(1.1 * w, 0.9 * w);
    if (ref[j] == 0) ref[j] = 1e-12;
  }
}

/* The hypervolume subset selection, greedily (as Optuna does beyond 2-D): `want` of the m
 * rows y[] (obs indices at[]), each the one adding most to the volume of those chosen. */
static Status hssp_greedy(Ask *k, const double *y, const int *at, int m, int want, bool *below) {
  int nobj = k->nobj;
  double ref[64], *sel = arena_alloc(k->a, ((size_t)want + 1) * (size_t)nobj * sizeof *sel), have = 0;
  bool *taken = arena_alloc(k->a, (size_t)m);
  if (!sel || !taken) return diag_oom(k->d);
  reference_point(y, m, nobj, ref);
  for (int s = 0; s < want; s++) {
    int best = -1;
    double best_v = -INFINITY;
    for (int i = 0; i < m; i++) {
      if (taken[i]) continue;
      memcpy(sel + (size_t)s * nobj, y + (size_t)i * nobj, (size_t)nobj * sizeof *sel);
      double v = exp_hypervolume(sel, s + 1, nobj, ref);
      if (isnan(v)) return diag_oom(k->d);
      if (best < 0 || v - have > best_v) best = i, best_v = v - have;
    }
    taken[best] = below[at[best]] = true;
    memcpy(sel + (size_t)s * nobj, y + (size_t)best * nobj, (size_t)nobj * sizeof *sel);
    have += best_v;
  }
  return JS_OK;
}

/* Several objectives (MOTPE): whole non-dominated fronts while they fit in nb, then the
 * front that does not fit by hypervolume subset selection. */
static Status split_multi(Ask *k, int nb, bool *below) {
  int n = k->nobs, m, *rank = arena_alloc(k->a, (size_t)n * sizeof *rank), *cnt = arena_alloc(k->a, ((size_t)n + 1) * sizeof *cnt);
  double *y = gather_y(k, NULL, &m);
  if (!rank || !cnt || !y) return diag_oom(k->d);
  Status st = exp_nondominated_rank(y, n, k->nobj, rank, k->d);
  if (st) return st;
  for (int i = 0; i < n; i++) cnt[rank[i]]++;
  int last = -1, taken = 0;
  while (last + 1 < n && taken + cnt[last + 1] <= nb) taken += cnt[++last];
  for (int i = 0; i < n; i++) below[i] = rank[i] <= last;
  if (taken == nb) return JS_OK;
  int *at = arena_alloc(k->a, (size_t)n * sizeof *at), nt = 0;
  double *ty = arena_alloc(k->a, (size_t)n * (size_t)k->nobj * sizeof *ty);
  if (!at || !ty) return diag_oom(k->d);
  for (int i = 0; i < n; i++)
    if (rank[i] == last + 1) {
      memcpy(ty + (size_t)nt * k->nobj, y + (size_t)i * k->nobj, (size_t)k->nobj * sizeof *ty);
      at[nt++] = i;
    }
  return hssp_greedy(k, ty, at, nt, nb - taken, below);
}

/* MOTPE's weights of the below trials y[m] (Optuna's): each point of their front weighs its
 * share of the front's hypervolume (its exclusive contribution over the largest), the
 * others, and contributions of 0, weigh 1e-12. */
static Status motpe_weights(Ask *k, const double *y, int m, double *w) {
  int nobj = k->nobj, *rank = arena_alloc(k->a, (size_t)m * sizeof *rank), nf = 0;
  double ref[64], *front = arena_alloc(k->a, (size_t)m * (size_t)nobj * sizeof *front), top = 1e-12;
  if (!rank || !front) return diag_oom(k->d);
  Status st = exp_nondominated_rank(y, m, nobj, rank, k->d);
  if (st) return st;
  reference_point(y, m, nobj, ref);
  for (int i = 0; i < m; i++)
    if (rank[i] == 0) memcpy(front + (size_t)nf++ * nobj, y + (size_t)i * nobj, (size_t)nobj * sizeof *front);
  double all = exp_hypervolume(front, nf, nobj, ref);
  if (isnan(all)) return diag_oom(k->d); /* the inputs are finite */
  for (int i = 0, f = 0; i < m; i++) {
    w[i] = 0;
    if (rank[i] != 0) continue;
    memcpy(front + (size_t)f * nobj, front + (size_t)(nf - 1) * nobj, (size_t)nobj * sizeof *front); /* drop row f */
    w[i] = all - exp_hypervolume(front, nf - 1, nobj, ref);
    memcpy(front + (size_t)f++ * nobj, y + (size_t)i * nobj, (size_t)nobj * sizeof *front);          /* put it back */
    if (isnan(w[i])) return diag_oom(k->d);
    top = fmax(top, w[i]);
  }
  for (int i = 0; i < m; i++) w[i] = isfinite(all) ? fmax(w[i] / top, 1e-12) : 1;
  return JS_OK;
}

/* The trials with below[i] == want, in trial order, with their weights. */
static Status tpe_group(Ask *k, const bool *below, bool want, Group *g) {
  g->t = arena_alloc(k->a, ((size_t)k->nobs + 1) * sizeof *g->t);
  g->w = arena_alloc(k->a, ((size_t)k->nobs + 1) * sizeof *g->w);
  if (!g->t || !g->w) return diag_oom(k->d);
  g->m = 0;
  for (int i = 0; i < k->nobs; i++)
    if (below[i] == want) g->t[g->m++] = k->obs[i];
  if (!want || k->nobj == 1) {
    tpe_default_weights(g->m, g->w);
    return JS_OK;
  }
  int m;
  double *y = gather_y(k, below, &m);
  return y ? motpe_weights(k, y, m, g->w) : diag_oom(k->d);
}

/* Random until n_startup usable trials have finished; then each parameter on its own. */
static Status sample_tpe(Ask *k, int *x) {
  if (k->nobs < k->o.n_startup) {
    sample_random(k, x);
    return JS_OK;
  }
  bool *below = arena_alloc(k->a, (size_t)k->nobs);
  if (!below) return diag_oom(k->d);
  int nb = tpe_gamma(k->nobs);
  Status st = k->nobj == 1 ? split_single(k, nb, below) : split_multi(k, nb, below);
  Group lo, hi;
  if (!st) st = tpe_group(k, below, true, &lo);
  if (!st) st = tpe_group(k, below, false, &hi);
  for (int i = 0; !st && i < k->np; i++) st = tpe_param(k, &lo, &hi, i, &x[i]);
  return st;
}

/* ==== NSGA-II ==== */

/* idx[m] by dist[m], largest first, stably (an insertion sort: a front is small). */
static void sort_by_crowding(int *idx, double *dist, int m) {
  for (int i = 1; i < m; i++) {
    int u = idx[i], j = i;
    double v = dist[i];
    for (; j > 0 && v > dist[j - 1]; j--) {
      dist[j] = dist[j - 1];
      idx[j] = idx[j - 1];
    }
    dist[j] = v;
    idx[j] = u;
  }
}

/* Elitist selection (Optuna's NSGAIIElitePopulationSelectionStrategy): pool[m] by front,
 * whole fronts while they fit in the population, the front that does not by crowding
 * distance, largest first (earlier in the pool on a tie). */
static Status nsga_elite(Ask *k, const ExpObs **pool, int m, const ExpObs **out, int *nout) {
  int nobj = k->nobj, P = k->o.population, *rank = arena_alloc(k->a, (size_t)m * sizeof *rank);
  int *idx = arena_alloc(k->a, (size_t)m * sizeof *idx);
  double *y = arena_alloc(k->a, (size_t)m * (size_t)nobj * sizeof *y), *dist = arena_alloc(k->a, (size_t)m * sizeof *dist);
  if (!rank || !idx || !y || !dist) return diag_oom(k->d);
  for (int i = 0; i < m; i++) memcpy(y + (size_t)i * nobj, pool[i]->y, (size_t)nobj * sizeof *y);
  Status st = exp_nondominated_rank(y, m, nobj, rank, k->d);
  *nout = 0;
  for (int r = 0; !st && *nout < P && r < m; r++) {
    int nf = 0;
    for (int i = 0; i < m; i++)
      if (rank[i] == r) idx[nf++] = i;
    if (*nout + nf > P) {
      exp_crowding(y, nobj, idx, nf, dist);
      sort_by_crowding(idx, dist, nf);
      nf = P - *nout;
    }
    for (int i = 0; i < nf; i++) out[(*nout)++] = pool[idx[i]];
  }
  return st;
}

/* The parents of generation gen: generation 0's trials selected, then each later
 * generation's trials with the parents before them, selected again. */
static Status nsga_parents(Ask *k, int gen, const ExpObs **par, int *npar) {
  int P = k->o.population;
  const ExpObs **pool = arena_alloc(k->a, ((size_t)k->nobs + (size_t)P + 1) * sizeof *pool);
  if (!pool) return diag_oom(k->d);
  *npar = 0;
  for (int g = 0; g < gen; g++) {
    int m = 0;
    for (int i = 0; i < k->nobs; i++)
      if (k->obs[i]->trial / P == g) pool[m++] = k->obs[i];
    memcpy(pool + m, par, (size_t)*npar * sizeof *pool);
    Status st = nsga_elite(k, pool, m + *npar, par, npar);
    if (st) return st;
  }
  return JS_OK;
}

static bool obs_dominates(const ExpObs *a, const ExpObs *b, int nobj) {
  bool better = false;
  for (int j = 0; j < nobj; j++) {
    if (a->y[j] > b->y[j]) return false;
    if (a->y[j] < b->y[j]) better = true;
  }
  return better;
}

/* Binary tournament among par[m] without par[skip] (-1: none): two drawn, the dominating
 * one, else either by a coin. */
static int tournament(Ask *k, const ExpObs **par, int m, int skip) {
  int c[2];
  for (int i = 0; i < 2; i++) {
    c[i] = (int)rt_rng_below(&k->rng, (uint64_t)(skip < 0 ? m : m - 1));
    if (skip >= 0 && c[i] >= skip) c[i]++;
  }
  if (obs_dominates(par[c[0]], par[c[1]], k->nobj)) return c[0];
  if (obs_dominates(par[c[1]], par[c[0]], k->nobj)) return c[1];
  return rt_rng_uniform(&k->rng) < 0.5 ? c[0] : c[1];
}

/* A child of par[m]: uniform crossover of two tournament winners (with crossover_prob; else
 * a copy of a random parent), then each index redrawn with mutation_prob. */
static void nsga_child(Ask *k, const ExpObs **par, int m, int *x) {
  bool cross = rt_rng_uniform(&k->rng) < k->o.crossover_prob && m >= 2;
  int a = cross ? tournament(k, par, m, -1) : (int)rt_rng_below(&k->rng, (uint64_t)m);
  int b = cross ? tournament(k, par, m, a) : a;
  for (int i = 0; i < k->np; i++) x[i] = (cross && rt_rng_uniform(&k->rng) < k->o.swapping_prob ? par[b] : par[a])->x[i];
  for (int i = 0; i < k->np; i++)
    if (rt_rng_uniform(&k->rng) < k->o.mutation_prob) x[i] = (int)rt_rng_below(&k->rng, (uint64_t)k->p[i].n);
}

/* Generation trial / population: random for generation 0 (or without parents), else a child. */
static Status sample_nsga(Ask *k, int *x) {
  int gen = k->trial / k->o.population, npar = 0;
  const ExpObs **par = arena_alloc(k->a, ((size_t)k->o.population + 1) * sizeof *par);
  if (!par) return diag_oom(k->d);
  Status st = nsga_parents(k, gen, par, &npar);
  if (st) return st;
  if (npar == 0) sample_random(k, x);
  else nsga_child(k, par, npar, x);
  return JS_OK;
}

/* ==== the ask ==== */

static int by_trial(const void *a, const void *b) {
  const ExpObs *x = *(const ExpObs *const *)a, *y = *(const ExpObs *const *)b;
  if (x->trial != y->trial) return x->trial < y->trial ? -1 : 1;
  return (x > y) - (x < y); /* a trial given twice: in the order of hist */
}

/* A finished trial the model-based samplers learn from: ok, before the one asked for, every
 * objective finite (Optuna fails a trial whose value is NaN), its indices in range. */
static Status usable(const Ask *k, const ExpObs *h, bool *use) {
  *use = false;
  if (!h->ok || h->trial < 0 || h->trial >= k->trial) return JS_OK;
  for (int j = 0; j < k->nobj; j++)
    if (!isfinite(h->y[j])) return JS_OK;
  for (int i = 0; i < k->np; i++)
    if (h->x[i] < 0 || h->x[i] >= k->p[i].n)
      return diag_error(k->d, (SrcLoc){0}, "trial %d: index %d of parameter %d is out of range [0, %d)", h->trial, h->x[i], i, k->p[i].n);
  *use = true;
  return JS_OK;
}

static Status collect(Ask *k, const ExpObs *hist, int nhist) {
  k->obs = arena_alloc(k->a, ((size_t)nhist + 1) * sizeof *k->obs);
  if (!k->obs) return diag_oom(k->d);
  k->nobs = 0;
  for (int i = 0; i < nhist; i++) {
    bool use;
    Status st = usable(k, &hist[i], &use);
    if (st) return st;
    if (use) k->obs[k->nobs++] = &hist[i];
  }
  qsort(k->obs, (size_t)k->nobs, sizeof *k->obs, by_trial);
  return JS_OK;
}

/* The options with their defaults filled in, checked. */
static Status resolve_opts(Ask *k, const ExpSamplerOpts *o) {
  exp_sampler_opts_default(&k->o);
  if (o) {
    ExpSamplerOpts def = k->o;
    k->o = *o;
    if (k->o.n_startup <= 0) k->o.n_startup = def.n_startup;
    if (k->o.n_ei_candidates <= 0) k->o.n_ei_candidates = def.n_ei_candidates;
    if (k->o.population <= 0) k->o.population = def.population;
  }
  if (k->o.mutation_prob <= 0) k->o.mutation_prob = 1.0 / (k->np > 1 ? k->np : 1);
  if (!(k->o.mutation_prob <= 1 && k->o.crossover_prob >= 0 && k->o.crossover_prob <= 1 && k->o.swapping_prob >= 0 &&
        k->o.swapping_prob <= 1))
    return diag_error(k->d, (SrcLoc){0}, "sampler options: mutation, crossover and swapping probabilities must lie in [0, 1]");
  return JS_OK;
}

static Status check_args(const ExpParam *params, int nparams, int nobj, int trial, int nhist, Diag *d) {
  if (nparams < 0 || nobj < 1 || nobj > 64 || trial < 0 || nhist < 0)
    return diag_error(d, (SrcLoc){0}, "sampler: %d parameters, %d objectives (1 to 64), trial %d, %d finished trials", nparams,
                      nobj, trial, nhist);
  for (int i = 0; i < nparams; i++)
    if (params[i].n < 1) return diag_error(d, (SrcLoc){0}, "sampler: parameter %d has %d choices", i, params[i].n);
  return JS_OK;
}

static Status ask_kind(ExpSamplerKind kind, Ask *k, const ExpObs *hist, int nhist, int *x) {
  if (kind == EXP_SAMPLER_RANDOM) {
    sample_random(k, x);
    return JS_OK;
  }
  if (kind == EXP_SAMPLER_GRID) return sample_grid(k, x);
  if (kind != EXP_SAMPLER_TPE && kind != EXP_SAMPLER_NSGAII) return diag_error(k->d, (SrcLoc){0}, "unknown sampler %d", (int)kind);
  if (!(k->a = arena_new())) return diag_oom(k->d);
  Status st = collect(k, hist, nhist);
  if (!st) st = kind == EXP_SAMPLER_TPE ? sample_tpe(k, x) : sample_nsga(k, x);
  arena_free(k->a);
  return st;
}

Status exp_sampler_ask(ExpSamplerKind kind, const ExpSamplerOpts *o, const ExpParam *params, int nparams, int nobj,
                       uint64_t seed, int trial, const ExpObs *hist, int nhist, int *x, Diag *d) {
  Status st = check_args(params, nparams, nobj, trial, nhist, d);
  if (st) return st;
  Ask k = {.p = params, .np = nparams, .nobj = nobj, .seed = seed, .trial = trial, .d = d};
  if ((st = resolve_opts(&k, o))) return st;
  rt_rng_seed(&k.rng, seed);
  rt_rng_seed(&k.rng, rt_rng_u64(&k.rng) ^ ((uint64_t)trial + 1) * 0x9e3779b97f4a7c15ULL);
  return ask_kind(kind, &k, hist, nhist, x);
}
