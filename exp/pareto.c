/* exp/pareto.c — what a multi-objective search needs from its results, every objective
 * minimised: non-dominated sorting (the fronts NSGA-II and MOTPE rank by), NSGA-II's crowding
 * distance, and the exact hypervolume (MOTPE's weights and tie-breaks, and the measure tests
 * and reports compare samplers by).
 *
 * The hypervolume slices along the last objective (HSO: "hypervolume by slicing objectives",
 * While et al. 2006) down to a 2-D sweep: exact for any number of objectives, O(n^(d-1) log n)
 * for d objectives, which is fine for the fronts of a search (tens to hundreds of points). */
#include <math.h>
#include <string.h>

#include "exp.h"

/* ==== dominance and non-dominated sorting ==== */

/* a is no worse than b in every objective and better in one. */
static bool dominates(const double *a, const double *b, int nobj) {
  bool better = false;
  for (int k = 0; k < nobj; k++) {
    if (a[k] > b[k]) return false;
    if (a[k] < b[k]) better = true;
  }
  return better;
}

static bool row_has_nan(const double *r, int nobj) {
  for (int k = 0; k < nobj; k++)
    if (isnan(r[k])) return true;
  return false;
}

/* cnt[i] = how many rows dominate row i (rows with rank[i] == n, the NaN ones, take no part). */
static void count_dominators(const double *y, int n, int nobj, const int *rank, int *cnt) {
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n && rank[i] != n; j++)
      if (rank[j] != n && dominates(y + (size_t)j * nobj, y + (size_t)i * nobj, nobj)) cnt[i]++;
}

/* Deb's fast non-dominated sort without the dominated lists (dominance is recomputed, so the
 * memory is O(n)): a queue of the rows whose dominators are all ranked, in rank order; a row's
 * rank is one more than that of the last of its dominators to leave the queue. */
Status exp_nondominated_rank(const double *y, int n, int nobj, int *rank, Diag *d) {
  if (n < 0 || nobj < 1) return diag_error(d, (SrcLoc){0}, "non-dominated sort of %d points of %d objectives", n, nobj);
  if (n == 0) return JS_OK;
  int *cnt = ir_calloc((size_t)n, sizeof *cnt), *queue = ir_malloc((size_t)n * sizeof *queue);
  if (!cnt || !queue) {
    ir_free(cnt);
    ir_free(queue);
    return diag_oom(d);
  }
  for (int i = 0; i < n; i++) rank[i] = row_has_nan(y + (size_t)i * nobj, nobj) ? n : -1;
  count_dominators(y, n, nobj, rank, cnt);
  int nq = 0;
  for (int i = 0; i < n; i++)
    if (rank[i] == -1 && cnt[i] == 0) rank[queue[nq++] = i] = 0;
  for (int h = 0; h < nq; h++) {
    const double *yi = y + (size_t)queue[h] * nobj;
    for (int j = 0; j < n; j++)
      if (rank[j] == -1 && dominates(yi, y + (size_t)j * nobj, nobj) && --cnt[j] == 0) rank[queue[nq++] = j] = rank[queue[h]] + 1;
  }
  ir_free(cnt);
  ir_free(queue);
  return JS_OK;
}

/* ==== crowding distance ==== */

/* Point i's neighbours along objective k in the order (value, position): the value just
 * below and just above; false at either end. */
static bool neighbours(const double *y, int nobj, const int *idx, int m, int i, int k, double *lo, double *hi) {
  double v = y[(size_t)idx[i] * nobj + k];
  bool have_lo = false, have_hi = false;
  for (int j = 0; j < m; j++) {
    if (j == i) continue;
    double w = y[(size_t)idx[j] * nobj + k];
    if (w < v || (w == v && j < i)) {
      if (!have_lo || w > *lo) *lo = w;
      have_lo = true;
    } else {
      if (!have_hi || w < *hi) *hi = w;
      have_hi = true;
    }
  }
  return have_lo && have_hi;
}

/* Deb et al. 2002: per objective, the gap between a point's neighbours over the front's
 * extent, summed; the first and last point along any objective get inf.  An objective on
 * which every point has the same value adds nothing.  O(m^2 nobj), without allocation. */
void exp_crowding(const double *y, int nobj, const int *idx, int m, double *dist) {
  for (int i = 0; i < m; i++) dist[i] = 0;
  for (int k = 0; k < nobj; k++) {
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < m; i++) {
      lo = fmin(lo, y[(size_t)idx[i] * nobj + k]);
      hi = fmax(hi, y[(size_t)idx[i] * nobj + k]);
    }
    if (!(hi > lo)) continue;
    for (int i = 0; i < m; i++) {
      double a = 0, b = 0;
      dist[i] = neighbours(y, nobj, idx, m, i, k, &a, &b) ? dist[i] + (b - a) / (hi - lo) : INFINITY;
    }
  }
}

/* ==== hypervolume ==== */

/* idx[0..n) sorted by key[idx[i] * stride] ascending, stably (merge sort through tmp). */
static void sort_rows(int *idx, int *tmp, int n, const double *key, int stride) {
  if (n < 2) return;
  int h = n / 2;
  sort_rows(idx, tmp, h, key, stride);
  sort_rows(idx + h, tmp, n - h, key, stride);
  int i = 0, j = h, o = 0;
  while (i < h || j < n) {
    bool left = j == n || (i < h && key[(size_t)idx[i] * stride] <= key[(size_t)idx[j] * stride]);
    tmp[o++] = left ? idx[i++] : idx[j++];
  }
  memcpy(idx, tmp, (size_t)n * sizeof *idx);
}

/* The 2-D staircase of rows s[0..n) sorted by objective 1: each row that lowers the best
 * objective 0 so far adds the strip between the two, from its objective 1 up to ref. */
static double hv_sweep2(const double *s, int n, int stride, const double *ref) {
  double v = 0, best = ref[0];
  for (int i = 0; i < n; i++) {
    const double *r = s + (size_t)i * stride;
    if (r[0] < best) {
      v += (best - r[0]) * (ref[1] - r[1]);
      best = r[0];
    }
  }
  return v;
}

/* The volume dominated by pts[0..n) (stride doubles a row, objectives 0..dim) within ref:
 * sorted by objective dim-1, the slab between consecutive values is its depth times the
 * (dim-1)-volume of the rows below it.  NaN when memory runs out. */
static double hv_slice(const double *pts, int n, int stride, int dim, const double *ref) {
  if (n == 0) return 0;
  if (dim == 1) {
    double lo = pts[0];
    for (int i = 1; i < n; i++) lo = fmin(lo, pts[(size_t)i * stride]);
    return ref[0] - lo;
  }
  size_t row = (size_t)stride * sizeof(double);
  char *buf = ir_malloc((size_t)n * (row + 2 * sizeof(int)));
  if (!buf) return NAN;
  double *s = (double *)buf;
  int *idx = (int *)(buf + (size_t)n * row), *tmp = idx + n;
  for (int i = 0; i < n; i++) idx[i] = i;
  sort_rows(idx, tmp, n, pts + dim - 1, stride);
  for (int i = 0; i < n; i++) memcpy(s + (size_t)i * stride, pts + (size_t)idx[i] * stride, row);
  double v = 0;
  if (dim == 2) v = hv_sweep2(s, n, stride, ref);
  for (int i = 0; dim > 2 && i < n && !isnan(v); i++) {
    double next = i + 1 < n ? s[(size_t)(i + 1) * stride + dim - 1] : ref[dim - 1];
    double depth = next - s[(size_t)i * stride + dim - 1];
    if (depth > 0) v += depth * hv_slice(s, i + 1, stride, dim - 1, ref);
  }
  ir_free(buf);
  return v;
}

/* Rows strictly better than ref in every objective (NaN rows never are). */
static bool inside(const double *r, int nobj, const double *ref) {
  for (int k = 0; k < nobj; k++)
    if (!(r[k] < ref[k])) return false;
  return true;
}

double exp_hypervolume(const double *y, int n, int nobj, const double *ref) {
  if (n <= 0 || nobj < 1) return 0;
  double *in = ir_malloc((size_t)n * (size_t)nobj * sizeof *in);
  if (!in) return NAN;
  int m = 0;
  for (int i = 0; i < n; i++)
    if (inside(y + (size_t)i * nobj, nobj, ref)) memcpy(in + (size_t)m++ * nobj, y + (size_t)i * nobj, (size_t)nobj * sizeof *in);
  double v = hv_slice(in, m, nobj, nobj, ref);
  ir_free(in);
  return v;
}
