/* profile.c — the `profile` pass: MASE's profile_statistics_analysis_pass (reference/
 * mase_facts.md §5), the statistics the quantization search reads.
 *
 *   profile{by=type, weight_nodes=[linear], activation_nodes=[relu],
 *           weight_stats={variance_precise={}},
 *           activation_stats={range_quantile={quantile=0.975}},
 *           num_samples=32, batch_size=8, file=""}
 *
 * Targets are matched by mase_op (by=type) or by node name (by=name).  Each parameter and
 * buffer of a weight target (its module's, or the get_attr parameters a function call reads)
 * gets the weight statistics over the values ctx->data->param gives, one sample per tensor.
 * Each data input of an activation target (data_in_0, data_in_1, ...) gets the activation
 * statistics over the values its argument node takes while ctx->data->sample runs the model
 * in eval mode over num_samples samples, batch_size at a time; as in MASE, each row of a batch
 * is one sample (batch[[i], ...]).  The results replace the collectors the metadata pass made:
 *   software = {args={data_in_0={stat={}},
 *                     weight={stat={variance_precise={mean=-0.01, variance=0.02, count=80}}},
 *                     bias={stat={variance_precise={mean=0.04, variance=0.03, count=5}}}}, ...}
 * and a table of them is the pass's report (also written to `file` when set).  With jsc-tiny,
 * batch_size 8 and 32 samples the counts are MASE's lab ones: 512 and 160 for the two ReLU
 * inputs, 80 and 5 for the Linear's weight and bias.
 *
 * Statistics and their kwargs (MASE's names; `device` is accepted and ignored):
 *   variance_precise  keeps every value: torch.mean and torch.var (unbiased)
 *                                                           -> mean, variance, count
 *   variance_online   Welford, merging one sample at a time; population variance
 *                                                           -> mean, variance, count
 *   range_min_max     abs=false                            -> min, max, range, count
 *   range_quantile    abs=false, quantile=0.975: torch.quantile's linear interpolation at
 *                     rank p(n-1); min = q(1-p), max = q(p) -> min, max, range, count
 *   range_n_sigma     abs=false, num_sigma=3, var_mode=online|precise: mean -/+ k*sigma
 *                                                           -> min, max, range, count
 *   abs_mean          E|x|                                 -> abs_mean, count
 *   (every one also takes dims="all", the only dims supported)
 * "NA" stands for what needs more values: variance_online's mean and variance, range_n_sigma
 * and abs_mean from fewer than 2 values (MASE's rule), variance_precise's variance from fewer
 * than 2 (torch.var gives nan) and its mean from none, the other ranges from none.
 *
 * Where jscc differs from MASE, and why:
 *  - MASE's online merge adds a sample's *unbiased* variance times its size to M2, which
 *    overstates it (by 16/15 for a 16-value row); here M2 merges exactly (Chan et al.), so the
 *    result is the population variance of all the values however they were batched.
 *  - dims=None or a list (per-element statistics) and the `record` statistic are refused.
 *  - Function calls can be weight targets: the get_attr parameters they read get the weight
 *    statistics (MASE profiles call_module weights only).  Activation statistics go to data
 *    inputs that vary with the input, never to parameters (MASE would attach them to a
 *    module's weight and then fail its own tensor-count check).
 *  - num_samples is exact: the last batch is short when batch_size does not divide it (MASE
 *    runs ceil(num_samples / batch_size) whole batches).
 *  - count is reported next to "NA" results too, and a name in weight_nodes/activation_nodes
 *    that matches no op (by=type) or no node (by=name) is an error, not silently ignored.
 *  - MASE's option names (target_weight_nodes, target_activation_nodes, weight_statistics,
 *    activation_statistics) are accepted too, so a config written for MASE reads unchanged;
 *    given, they win over jscc's.
 *  - Sums and quantiles are computed in double from the float values; torch works in float32,
 *    so results agree to float rounding (checked by test/passes/test_profile.c against
 *    scripts/profile_reference.py). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"

/* ---- statistics ---- */

typedef enum StatKind {
  SK_VARIANCE_PRECISE, SK_VARIANCE_ONLINE, SK_RANGE_MIN_MAX, SK_RANGE_QUANTILE, SK_RANGE_N_SIGMA, SK_ABS_MEAN,
  SK_COUNT
} StatKind;

/* Each statistic's name and the kwargs its MASE constructor takes. */
static const struct {
  const char *name;
  const char *kwargs[6]; /* NULL-terminated */
} stat_table[SK_COUNT] = {
    [SK_VARIANCE_PRECISE] = {"variance_precise", {"device", "dims"}},
    [SK_VARIANCE_ONLINE] = {"variance_online", {"device", "dims"}},
    [SK_RANGE_MIN_MAX] = {"range_min_max", {"device", "dims", "abs"}},
    [SK_RANGE_QUANTILE] = {"range_quantile", {"device", "dims", "abs", "quantile"}},
    [SK_RANGE_N_SIGMA] = {"range_n_sigma", {"device", "dims", "abs", "var_mode", "num_sigma"}},
    [SK_ABS_MEAN] = {"abs_mean", {"device", "dims"}},
};

/* One statistic as configured by its kwargs. */
typedef struct StatCfg {
  StatKind kind;
  bool abs;         /* range_*: of |x| */
  double quantile;  /* range_quantile: p */
  double num_sigma; /* range_n_sigma: k */
  bool precise;     /* range_n_sigma: var_mode="precise" (unbiased variance of every value) */
} StatCfg;

/* A list of statistics: one option's dict. */
typedef struct StatList {
  StatCfg *s;
  int n;
} StatList;

/* Does the statistic keep every value (rather than running sums)? */
static bool keeps_values(const StatCfg *c) {
  return c->kind == SK_VARIANCE_PRECISE || c->kind == SK_RANGE_QUANTILE || (c->kind == SK_RANGE_N_SIGMA && c->precise);
}

/* One statistic of one entry while samples arrive. */
typedef struct Acc {
  const StatCfg *cfg;
  int64_t count;  /* values seen */
  double mean;    /* online: running mean */
  double m2;      /* online: running sum of squared deviations from the mean */
  double sum_abs; /* abs_mean: sum of |x| */
  double min;     /* range_min_max */
  double max;
  bool nan;       /* a NaN was seen: min, max and quantiles are NaN (as torch's) */
  float *rec;     /* keeps_values: every value (|x| when abs) */
  int64_t nrec;
  int64_t caprec;
} Acc;

/* Adds one sample (n values) to a statistic.  JS_ERR only when the kept values would pass
 * IR_MAX_NUMEL; JS_ENOMEM when they cannot be kept (unreported: the caller names the entry). */
static Status acc_add(Acc *a, const float *x, int64_t n) {
  const StatCfg *c = a->cfg;
  bool abs = c->abs;
  if (n <= 0) return JS_OK;
  if (keeps_values(c)) {
    if (a->nrec + n > IR_MAX_NUMEL) return JS_ERR;
    if (a->nrec + n > a->caprec) {
      int64_t cap = a->caprec ? a->caprec : 256;
      while (cap < a->nrec + n) cap *= 2;
      float *r = ir_realloc(a->rec, sizeof(float) * (size_t)cap);
      if (!r) return JS_ENOMEM;
      a->rec = r;
      a->caprec = cap;
    }
    for (int64_t i = 0; i < n; i++) a->rec[a->nrec + i] = abs ? fabsf(x[i]) : x[i];
    a->nrec += n;
  }
  switch (c->kind) {
  case SK_VARIANCE_ONLINE:
  case SK_RANGE_N_SIGMA: {
    /* the sample's own mean and M2, then Chan et al.'s merge into the running ones */
    double s = 0, m2 = 0;
    for (int64_t i = 0; i < n; i++) s += abs ? fabs((double)x[i]) : (double)x[i];
    double mb = s / (double)n;
    for (int64_t i = 0; i < n; i++) {
      double v = (abs ? fabs((double)x[i]) : (double)x[i]) - mb;
      m2 += v * v;
    }
    double na = (double)a->count, nb = (double)n, delta = mb - a->mean;
    a->mean += delta * nb / (na + nb);
    a->m2 += m2 + delta * delta * na * nb / (na + nb);
    break;
  }
  case SK_ABS_MEAN:
    for (int64_t i = 0; i < n; i++) a->sum_abs += fabs((double)x[i]);
    break;
  case SK_RANGE_MIN_MAX:
    for (int64_t i = 0; i < n; i++) {
      double v = abs ? fabs((double)x[i]) : (double)x[i];
      if (v != v) a->nan = true;
      if (a->count == 0 && i == 0) a->min = a->max = v;
      if (v < a->min) a->min = v;
      if (v > a->max) a->max = v;
    }
    break;
  default:
    for (int64_t i = 0; i < n; i++) a->nan |= x[i] != x[i];
    break;
  }
  a->count += n;
  return JS_OK;
}


/* The k-th smallest of a[0..n) (0-based) by quickselect with three-way partitions (ReLU
 * outputs hold many equal zeros) and median-of-three pivots; a is reordered so that
 * a[..k) <= a[k] <= a[k+1..).  Expected O(n): a whole epoch of activations (10M values) takes
 * tens of milliseconds where sorting took a second. */
static float select_k(float *a, int64_t n, int64_t k) {
  int64_t lo = 0, hi = n - 1;
  while (lo < hi) {
    float x = a[lo], y = a[lo + (hi - lo) / 2], z = a[hi];
    float piv = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
    int64_t lt = lo, i = lo, gt = hi;
    while (i <= gt) {
      if (a[i] < piv) {
        float t = a[lt]; a[lt++] = a[i]; a[i++] = t;
      } else if (a[i] > piv) {
        float t = a[gt]; a[gt--] = a[i]; a[i] = t;
      } else {
        i++;
      }
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return a[k];
  }
  return a[k];
}

/* torch.quantile's linear interpolation at p of n values, by selection: the value at rank
 * floor(p(n-1)) and the smallest above it, both of which lie in a[0..m) (the m smallest of
 * the n; m = n for all of them). */
static double quantile_sel(float *a, int64_t m, int64_t n, double p) {
  double rank = p * (double)(n - 1);
  int64_t lo = (int64_t)floor(rank);
  if (lo < 0) lo = 0;
  float va = select_k(a, m, lo), vb = va;
  if (lo + 1 < m) {
    vb = a[lo + 1];
    for (int64_t i = lo + 2; i < m; i++)
      if (a[i] < vb) vb = a[i];
  }
  double w = rank - (double)lo, x = va, y = vb;
  return w < 0.5 ? x + w * (y - x) : y - (y - x) * (1 - w);
}

/* Mean and unbiased variance of the kept values (two passes). */
static void precise_moments(const Acc *a, double *mean, double *var) {
  double s = 0;
  for (int64_t i = 0; i < a->nrec; i++) s += a->rec[i];
  *mean = s / (double)a->nrec;
  double ss = 0;
  for (int64_t i = 0; i < a->nrec; i++) ss += ((double)a->rec[i] - *mean) * ((double)a->rec[i] - *mean);
  *var = a->nrec > 1 ? ss / (double)(a->nrec - 1) : NAN;
}

/* A result dict under construction (fields in MASE's order). */
typedef struct Fields {
  const char *keys[4];
  Value vals[4];
  int n;
} Fields;

static void field(Fields *f, const char *key, Value v) {
  f->keys[f->n] = key;
  f->vals[f->n++] = v;
}

static Value num_or_na(bool ok, double v) {
  return ok ? val_float(v) : val_str("NA");
}

/* The statistic's result fields.  Sorts the kept values. */
static void acc_result(Acc *a, Fields *f) {
  const StatCfg *c = a->cfg;
  int64_t n = a->count;
  f->n = 0;
  switch (c->kind) {
  case SK_VARIANCE_PRECISE: {
    double mean = 0, var = 0;
    if (n > 0) precise_moments(a, &mean, &var);
    field(f, "mean", num_or_na(n > 0, mean));
    field(f, "variance", num_or_na(n > 1, var));
    break;
  }
  case SK_VARIANCE_ONLINE:
    field(f, "mean", num_or_na(n > 1, a->mean));
    field(f, "variance", num_or_na(n > 1, n ? a->m2 / (double)n : 0));
    break;
  case SK_RANGE_MIN_MAX:
    field(f, "min", num_or_na(n > 0, a->nan ? NAN : a->min));
    field(f, "max", num_or_na(n > 0, a->nan ? NAN : a->max));
    field(f, "range", num_or_na(n > 0, a->nan ? NAN : a->max - a->min));
    break;
  case SK_RANGE_QUANTILE: {
    double lo = NAN, hi = NAN;
    if (n > 0 && !a->nan) {
      /* the higher rank first, then the lower one within the values below it */
      double ph = c->quantile >= 0.5 ? c->quantile : 1 - c->quantile, pl = 1 - ph;
      double vh = quantile_sel(a->rec, a->nrec, a->nrec, ph);
      int64_t rh = (int64_t)floor(ph * (double)(a->nrec - 1));
      /* a[..rh] holds the rh + 1 smallest: the lower quantile's two values lie within it
       * unless both ranks coincide */
      int64_t rl = (int64_t)floor(pl * (double)(a->nrec - 1));
      double vl = quantile_sel(a->rec, rl + 1 <= rh ? rh + 1 : a->nrec, a->nrec, pl);
      lo = c->quantile >= 0.5 ? vl : vh;
      hi = c->quantile >= 0.5 ? vh : vl;
    }
    field(f, "min", num_or_na(n > 0, lo));
    field(f, "max", num_or_na(n > 0, hi));
    field(f, "range", num_or_na(n > 0, hi - lo));
    break;
  }
  case SK_RANGE_N_SIGMA: {
    double mean = a->mean, var = n > 1 ? a->m2 / (double)n : 0;
    if (c->precise && n > 1) precise_moments(a, &mean, &var);
    double sigma = sqrt(var), lo = mean - c->num_sigma * sigma, hi = mean + c->num_sigma * sigma;
    field(f, "min", num_or_na(n > 1, lo));
    field(f, "max", num_or_na(n > 1, hi));
    field(f, "range", num_or_na(n > 1, hi - lo));
    break;
  }
  case SK_ABS_MEAN: field(f, "abs_mean", num_or_na(n > 1, n ? a->sum_abs / (double)n : 0)); break;
  case SK_COUNT: break;
  }
  field(f, "count", val_int(n));
}

/* ---- options ---- */

/* "profile: activation_stats: ..." errors at the option's location. */
#define OPT_ERR(ctx, args, key, ...) diag_error((ctx)->diag, pass_arg_loc((args), (key)), "profile: " key ": " __VA_ARGS__)

static const char *const stat_names[SK_COUNT] = {
    "variance_precise", "variance_online", "range_min_max", "range_quantile", "range_n_sigma", "abs_mean",
};

static bool is_number(const Value *v) {
  return v->kind == VAL_INT || v->kind == VAL_FLOAT;
}

static double number(const Value *v) {
  return v->kind == VAL_INT ? (double)v->u.i : v->u.f;
}

/* One statistic's kwargs dict into c.  `opt` names the option in messages. */
static Status read_kwargs(const char *opt, SrcLoc loc, const char *stat, const Value *kw, StatCfg *c, Diag *d) {
  c->quantile = 0.975;
  c->num_sigma = 3;
  if (kw->kind == VAL_NONE) return JS_OK;
  if (kw->kind != VAL_DICT)
    return diag_error(d, loc, "profile: %s: %s: expected a dict of arguments ({} for none), got %s", opt, stat,
                      val_kind_name(kw));
  const char *const *known = stat_table[c->kind].kwargs;
  int nknown = 0;
  while (nknown < 6 && known[nknown]) nknown++;
  for (int i = 0; i < kw->u.dict.n; i++) {
    const char *k = kw->u.dict.keys[i];
    const Value *v = &kw->u.dict.vals[i];
    bool ok = false;
    for (int j = 0; j < nknown; j++) ok |= strcmp(k, known[j]) == 0;
    if (!ok) {
      const char *near = diag_closest(k, known, nknown);
      StrBuf sb;
      sb_init(&sb);
      for (int j = 0; j < nknown; j++) sb_printf(&sb, "%s%s", j ? ", " : "", known[j]);
      diag_error(d, loc, "profile: %s: %s: unknown argument '%s'%s%s%s; it takes %s", opt, stat, k,
                 near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "", sb_str(&sb));
      sb_free(&sb);
      return JS_ERR;
    }
    if (strcmp(k, "device") == 0) {
      if (v->kind != VAL_NONE && v->kind != VAL_STR)
        return diag_error(d, loc, "profile: %s: %s: device: expected a device name or None, got %s", opt, stat,
                          val_kind_name(v));
    } else if (strcmp(k, "dims") == 0) {
      if (v->kind != VAL_STR || strcmp(v->u.s, "all") != 0)
        return diag_error(d, loc,
                          "profile: %s: %s: dims: only \"all\" is supported (statistics over whole tensors; "
                          "per-element statistics are not implemented)",
                          opt, stat);
    } else if (strcmp(k, "abs") == 0) {
      if (v->kind != VAL_BOOL)
        return diag_error(d, loc, "profile: %s: %s: abs: expected true or false, got %s", opt, stat, val_kind_name(v));
      c->abs = v->u.b;
    } else if (strcmp(k, "quantile") == 0) {
      if (!is_number(v) || !(number(v) >= 0 && number(v) <= 1))
        return diag_error(d, loc, "profile: %s: %s: quantile: expected a number in [0, 1]", opt, stat);
      c->quantile = number(v);
    } else if (strcmp(k, "num_sigma") == 0) {
      if (!is_number(v) || !(number(v) >= 0) || isinf(number(v)))
        return diag_error(d, loc, "profile: %s: %s: num_sigma: expected a non-negative number", opt, stat);
      c->num_sigma = number(v);
    } else if (strcmp(k, "var_mode") == 0) {
      if (v->kind != VAL_STR || (strcmp(v->u.s, "online") != 0 && strcmp(v->u.s, "precise") != 0))
        return diag_error(d, loc, "profile: %s: %s: var_mode: expected online or precise", opt, stat);
      c->precise = strcmp(v->u.s, "precise") == 0;
    }
  }
  return JS_OK;
}

/* A statistics option ({stat={kwargs}, ...}) into a list; `def` when it was not given. */
static Status read_stats(Arena *a, const PassArgs *args, const char *opt, const StatCfg *def, StatList *out, Diag *d) {
  const Value *v = pass_arg_value(args, opt);
  SrcLoc loc = pass_arg_loc(args, opt);
  out->n = 0;
  if (v->kind == VAL_NONE) {
    out->s = arena_alloc(a, sizeof(StatCfg));
    if (!out->s) return diag_oom(d);
    out->s[0] = *def;
    out->n = 1;
    return JS_OK;
  }
  if (v->kind != VAL_DICT)
    return diag_error(d, loc, "profile: %s: expected a dict of statistics ({variance_precise={}, ...}), got %s", opt,
                      val_kind_name(v));
  out->s = arena_alloc(a, sizeof(StatCfg) * (size_t)(v->u.dict.n + 1));
  if (!out->s) return diag_oom(d);
  for (int i = 0; i < v->u.dict.n; i++) {
    const char *name = v->u.dict.keys[i];
    int k = 0;
    while (k < SK_COUNT && strcmp(stat_names[k], name) != 0) k++;
    if (k == SK_COUNT) {
      if (strcmp(name, "record") == 0)
        return diag_error(d, loc, "profile: %s: the 'record' statistic (every sample kept in the metadata) is not "
                                  "supported", opt);
      const char *near = diag_closest(name, stat_names, SK_COUNT);
      return diag_error(d, loc,
                        "profile: %s: unknown statistic '%s'%s%s%s; the statistics are variance_precise, "
                        "variance_online, range_min_max, range_quantile, range_n_sigma, abs_mean",
                        opt, name, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    for (int j = 0; j < out->n; j++)
      if (out->s[j].kind == (StatKind)k) return diag_error(d, loc, "profile: %s: '%s' is given twice", opt, name);
    StatCfg *c = &out->s[out->n++];
    memset(c, 0, sizeof *c);
    c->kind = (StatKind)k;
    Status st = read_kwargs(opt, loc, name, &v->u.dict.vals[i], c, d);
    if (st) return st;
  }
  return JS_OK;
}

/* A node list option: a name or a list of names; `def` when not given. */
typedef struct NameList {
  const char **s;
  int n;
} NameList;

static Status read_names(Arena *a, const PassArgs *args, const char *opt, const char *def, NameList *out, Diag *d) {
  const Value *v = pass_arg_value(args, opt);
  SrcLoc loc = pass_arg_loc(args, opt);
  out->n = 0;
  int n = v->kind == VAL_NONE || v->kind == VAL_STR ? 1 : (v->kind == VAL_LIST || v->kind == VAL_TUPLE) ? v->u.seq.n : -1;
  if (n < 0) return diag_error(d, loc, "profile: %s: expected a list of names, got %s", opt, val_kind_name(v));
  out->s = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
  if (!out->s) return diag_oom(d);
  if (v->kind == VAL_NONE || v->kind == VAL_STR) {
    out->s[out->n++] = v->kind == VAL_STR ? v->u.s : def;
    return JS_OK;
  }
  for (int i = 0; i < n; i++) {
    const Value *item = &v->u.seq.items[i];
    if (item->kind != VAL_STR)
      return diag_error(d, loc, "profile: %s: expected a list of names, but item %d is %s", opt, i + 1,
                        val_kind_name(item));
    out->s[out->n++] = item->u.s;
  }
  return JS_OK;
}

/* An option's key, or its MASE name when a config written for MASE gave that instead. */
static const char *pick(const PassArgs *args, const char *key, const char *mase_key) {
  return pass_arg_value(args, mase_key)->kind != VAL_NONE ? mase_key : key;
}

/* The mase_op a by=type name is matched against. */
static const char *node_mase_op(const Node *n) {
  const Value *v = ir_meta_get(n, "mase_op");
  return v && v->kind == VAL_STR ? v->u.s : NULL;
}

/* Every name must be an op (by=type) or a node of g (by=name): a typo would profile nothing. */
static Status check_names(const Graph *g, bool by_name, const PassArgs *args, const char *opt, const NameList *l,
                          Diag *d) {
  for (int i = 0; i < l->n; i++) {
    const char *name = l->s[i];
    if (by_name) {
      if (ir_graph_find_node(g, name)) continue;
      const char *cands[512];
      int nc = 0;
      for (const Node *n = g->first; n && nc < 512; n = n->next) cands[nc++] = n->name;
      const char *near = diag_closest(name, cands, nc);
      return diag_error(d, pass_arg_loc(args, opt), "profile: %s: model '%s' has no node '%s'%s%s%s", opt, g->name,
                        name, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    if (ir_op_lookup(name) != MOP_NONE || strcmp(name, "placeholder") == 0 || strcmp(name, "output") == 0 ||
        strcmp(name, "constant") == 0)
      continue;
    const char *cands[512];
    int nc = ir_op_names(0, cands, 509);
    cands[nc++] = "placeholder";
    cands[nc++] = "output";
    cands[nc++] = "constant";
    const char *near = diag_closest(name, cands, nc);
    return diag_error(d, pass_arg_loc(args, opt), "profile: %s: '%s' is not a mase_op%s%s%s (by=type matches ops; "
                      "by=name matches node names)", opt, name, near ? " (did you mean '" : "", near ? near : "",
                      near ? "'?)" : "");
  }
  return JS_OK;
}

static bool matches(const Node *n, bool by_name, const NameList *l) {
  const char *key = by_name ? n->name : node_mase_op(n);
  for (int i = 0; key && i < l->n; i++)
    if (strcmp(key, l->s[i]) == 0) return true;
  return false;
}

/* ---- entries: what each software arg of a target stands for ---- */

/* One profiled software arg of a node. */
typedef struct Entry {
  Node *node;          /* the target */
  const char *key;     /* its software.args key: data_in_0, weight, running_mean, ... */
  const Param *param;  /* weight entry: the parameter; NULL for an activation entry */
  const Node *src;     /* activation entry: the node whose value the input is */
  int k;               /* activation entry: src's index in the sampled nodes */
  const StatList *stats;
  Acc *acc;            /* one per statistic */
} Entry;

/* What a software arg key of n stands for, mirroring the metadata pass's numbering of data
 * inputs: *param for a parameter (a module's, or a get_attr argument), else *src for a node
 * argument; both NULL for anything else. */
typedef struct Slot {
  const char *key;
  const Param *param;
  const Node *src;
} Slot;

static Status node_slots(Arena *a, const Node *n, Slot *out, int cap, int *nout, Diag *d) {
  int k = 0;
  *nout = 0;
  switch (n->op) {
  case OP_CALL_MODULE:
    if (n->nargs >= 1 && n->args[0].kind == VAL_NODE && k < cap) out[k++] = (Slot){"data_in_0", NULL, n->args[0].u.node};
    for (int i = 0; n->module && i < n->module->nparams && k < cap; i++) {
      const Param *p = n->module->params[i];
      if (p->type.dtype == DT_F32 || p->type.dtype == DT_F64) out[k++] = (Slot){p->name, p, NULL};
    }
    break;
  case OP_CALL_FUNCTION:
  case OP_CALL_METHOD: {
    const OpInfo *oi = ir_op_info(n->mop);
    if (!oi) break;
    Value bound[12];
    Status st = ir_sig_bind(&oi->sig, oi->name, n->nargs, n->args, n->nkwargs, n->kwnames, n->kwargs, a, bound, d,
                            n->loc);
    if (st) return st;
    int din = 0;
    for (int i = 0; i < oi->sig.n && k < cap; i++) {
      const SigParam *sp = &oi->sig.params[i];
      const Value *v = &bound[i];
      bool data = strcmp(sp->name, "input") == 0 || strcmp(sp->name, "other") == 0;
      const char *key = sp->name;
      if (data && (v->kind == VAL_NODE || v->kind == VAL_INT || v->kind == VAL_FLOAT))
        if (!(key = arena_printf(a, "data_in_%d", din++))) return diag_oom(d);
      if (v->kind != VAL_NODE) continue;
      const Node *src = v->u.node;
      out[k++] = (Slot){key, src->op == OP_GET_ATTR ? src->param : NULL, src->op == OP_GET_ATTR ? NULL : src};
    }
    break;
  }
  case OP_OUTPUT: {
    const Value *v = n->nargs ? &n->args[0] : NULL;
    int cnt = !v ? 0 : v->kind == VAL_NODE ? 1 : (v->kind == VAL_TUPLE || v->kind == VAL_LIST) ? v->u.seq.n : 0;
    for (int i = 0; i < cnt && k < cap; i++) {
      const Value *item = v->kind == VAL_NODE ? v : &v->u.seq.items[i];
      if (item->kind != VAL_NODE) continue;
      const char *key = arena_printf(a, "data_in_%d", i);
      if (!key) return diag_oom(d);
      const Node *src = item->u.node;
      out[k++] = (Slot){key, src->op == OP_GET_ATTR ? src->param : NULL, src->op == OP_GET_ATTR ? NULL : src};
    }
    break;
  }
  default: break;
  }
  *nout = k;
  return JS_OK;
}

/* The software.args dict of n, or NULL. */
static const Value *software_args(const Node *n) {
  const Value *sw = ir_meta_get(n, "software");
  if (!sw || sw->kind != VAL_DICT) return NULL;
  for (int i = 0; i < sw->u.dict.n; i++)
    if (strcmp(sw->u.dict.keys[i], "args") == 0 && sw->u.dict.vals[i].kind == VAL_DICT) return &sw->u.dict.vals[i];
  return NULL;
}

/* The pass's working state. */
typedef struct Prof {
  Arena *a;            /* scratch */
  Entry *e;            /* the profiled entries, graph order */
  int ne;
  int cap;
  const Node **nodes;  /* the activation sources, each once */
  int nnodes;
  Diag *d;
} Prof;

static Status add_entry(Prof *P, Node *n, const Slot *s, const StatList *stats) {
  if (P->ne == P->cap) {
    int cap = P->cap ? P->cap * 2 : 16;
    Entry *e = arena_alloc(P->a, sizeof(Entry) * (size_t)cap);
    if (!e) return diag_oom(P->d);
    if (P->ne) memcpy(e, P->e, sizeof(Entry) * (size_t)P->ne);
    P->e = e;
    P->cap = cap;
  }
  Entry *e = &P->e[P->ne];
  *e = (Entry){.node = n, .key = s->key, .param = s->param, .src = s->src, .k = -1, .stats = stats};
  if (!(e->acc = arena_alloc(P->a, sizeof(Acc) * (size_t)stats->n))) return diag_oom(P->d);
  for (int i = 0; i < stats->n; i++) e->acc[i].cfg = &stats->s[i];
  if (s->src) {
    int k = 0;
    while (k < P->nnodes && P->nodes[k] != s->src) k++;
    if (k == P->nnodes) {
      const Node **nn = arena_alloc(P->a, sizeof(Node *) * (size_t)(k + 1));
      if (!nn) return diag_oom(P->d);
      if (k) memcpy(nn, P->nodes, sizeof(Node *) * (size_t)k);
      nn[k] = s->src;
      P->nodes = nn;
      P->nnodes = k + 1;
    }
    e->k = k;
  }
  P->ne++;
  return JS_OK;
}

/* One sample for every statistic of an entry. */
static Status entry_add(Prof *P, Entry *e, const float *x, int64_t n) {
  for (int i = 0; i < e->stats->n; i++) {
    Status st = acc_add(&e->acc[i], x, n);
    if (st == JS_ENOMEM) return diag_oom(P->d);
    if (st)
      return diag_error(P->d, e->node->loc,
                        "profile: %s.%s: %s would keep more than %lld values; lower num_samples", e->node->name, e->key,
                        stat_names[e->acc[i].cfg->kind], (long long)IR_MAX_NUMEL);
  }
  return JS_OK;
}

/* The sampler's callback: each row of the batch is one sample of every entry fed by node k. */
static Status on_batch(void *ud, int k, const float *vals, int64_t rows, int64_t row_numel) {
  Prof *P = ud;
  for (int i = 0; i < P->ne; i++) {
    Entry *e = &P->e[i];
    if (e->k != k) continue;
    for (int64_t r = 0; r < rows; r++) {
      Status st = entry_add(P, e, vals + r * row_numel, row_numel);
      if (st) return st;
    }
  }
  return JS_OK;
}


static Value *dict_find(Value *d, const char *key) {
  for (int i = 0; d->kind == VAL_DICT && i < d->u.dict.n; i++)
    if (strcmp(d->u.dict.keys[i], key) == 0) return &d->u.dict.vals[i];
  return NULL;
}

/* {stat_name={field=value, ...}, ...} of an entry, in the scratch arena. */
static Status entry_value(Arena *a, Entry *e, Value *out) {
  int n = e->stats->n;
  *out = (Value){.kind = VAL_DICT};
  out->u.dict.keys = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
  out->u.dict.vals = arena_alloc(a, sizeof(Value) * (size_t)(n + 1));
  if (!out->u.dict.keys || !out->u.dict.vals) return JS_ENOMEM;
  for (int i = 0; i < n; i++) {
    Fields f;
    acc_result(&e->acc[i], &f);
    Value r = {.kind = VAL_DICT, .u.dict = {f.n, f.keys, f.vals}};
    out->u.dict.keys[i] = stat_names[e->acc[i].cfg->kind];
    if (val_copy(a, &r, &out->u.dict.vals[i])) return JS_ENOMEM;
  }
  out->u.dict.n = n;
  return JS_OK;
}

/* Stores the results of every entry of node n (entries [i, j)) in its software metadata. */
static Status store(Prof *P, Node *n, int i, int j, Value *results) {
  Value sw;
  if (val_copy(P->a, ir_meta_get(n, "software"), &sw)) return diag_oom(P->d);
  Value *args = dict_find(&sw, "args");
  for (; i < j; i++) {
    Value *slot = dict_find(args, P->e[i].key);
    if (!slot || slot->kind != VAL_DICT) continue;
    if (val_dict_set(P->a, slot, "stat", results[i])) return diag_oom(P->d);
  }
  return ir_meta_set(n, "software", sw) ? diag_oom(P->d) : JS_OK;
}

/* ---- the report ---- */

static void put_value(StrBuf *sb, const Value *v) {
  if (v->kind == VAL_FLOAT)
    sb_printf(sb, "%.6g", v->u.f);
  else if (v->kind == VAL_STR)
    sb_puts(sb, v->u.s);
  else
    val_print(sb, v);
}

static void stats_text(StrBuf *sb, const StatList *l) {
  for (int i = 0; i < l->n; i++) {
    const StatCfg *c = &l->s[i];
    sb_printf(sb, "%s%s", i ? ", " : "", stat_names[c->kind]);
    if (c->kind == SK_RANGE_QUANTILE) sb_printf(sb, "(quantile=%g%s)", c->quantile, c->abs ? ", abs" : "");
    if (c->kind == SK_RANGE_N_SIGMA)
      sb_printf(sb, "(num_sigma=%g, var_mode=%s%s)", c->num_sigma, c->precise ? "precise" : "online",
                c->abs ? ", abs" : "");
    if (c->kind == SK_RANGE_MIN_MAX && c->abs) sb_puts(sb, "(abs)");
  }
  if (!l->n) sb_puts(sb, "none");
}

static void report(StrBuf *sb, const Graph *g, const Prof *P, const Value *results, const StatList *ws,
                   const StatList *as, int64_t num_samples, int64_t batch_size, const PassData *data) {
  sb_printf(sb, "Profile of model %s\n", g->name);
  sb_puts(sb, "  weight statistics: ");
  stats_text(sb, ws);
  sb_puts(sb, "\n  activation statistics: ");
  stats_text(sb, as);
  if (P->nnodes)
    sb_printf(sb, ", over %lld samples in batches of %lld from %s", (long long)num_samples, (long long)batch_size,
              data && data->source ? data->source : "the sampler");
  sb_putc(sb, '\n');
  if (!P->ne) {
    sb_puts(sb, "  no node matched\n");
    return;
  }
  size_t wn = 4, wk = 5, ws_ = 9;
  for (int i = 0; i < P->ne; i++) {
    const Entry *e = &P->e[i];
    if (strlen(e->node->name) > wn) wn = strlen(e->node->name);
    if (strlen(e->key) > wk) wk = strlen(e->key);
    for (int s = 0; s < e->stats->n; s++)
      if (strlen(stat_names[e->acc[s].cfg->kind]) > ws_) ws_ = strlen(stat_names[e->acc[s].cfg->kind]);
  }
  size_t start = sb->len;
  sb_puts(sb, "Node");
  sb_pad(sb, wn + 2, sb->len - start);
  sb_puts(sb, "Entry");
  sb_pad(sb, wn + wk + 4, sb->len - start);
  sb_puts(sb, "Statistic");
  sb_pad(sb, wn + wk + ws_ + 6, sb->len - start);
  sb_puts(sb, "Result\n");
  for (int i = 0; i < P->ne; i++) {
    const Value *r = &results[i];
    for (int s = 0; s < r->u.dict.n; s++) {
      start = sb->len;
      sb_puts(sb, P->e[i].node->name);
      sb_pad(sb, wn + 2, sb->len - start);
      sb_puts(sb, P->e[i].key);
      sb_pad(sb, wn + wk + 4, sb->len - start);
      sb_puts(sb, r->u.dict.keys[s]);
      sb_pad(sb, wn + wk + ws_ + 6, sb->len - start);
      const Value *f = &r->u.dict.vals[s];
      for (int j = 0; j < f->u.dict.n; j++) {
        sb_printf(sb, "%s%s=", j ? ", " : "", f->u.dict.keys[j]);
        put_value(sb, &f->u.dict.vals[j]);
      }
      sb_putc(sb, '\n');
    }
  }
}

/* ---- the pass ---- */

static Status run(Prof *P, Graph *g, const PassArgs *args, PassContext *ctx) {
  Diag *d = ctx->diag;
  bool by_name = strcmp(pass_arg_str(args, "by"), "name") == 0;
  int64_t num_samples = pass_arg_int(args, "num_samples"), batch_size = pass_arg_int(args, "batch_size");
  if (num_samples < 1) return OPT_ERR(ctx, args, "num_samples", "%lld is not a positive count", (long long)num_samples);
  if (batch_size < 1) return OPT_ERR(ctx, args, "batch_size", "%lld is not a positive count", (long long)batch_size);
  NameList wn, an;
  StatList ws, as;
  const StatCfg wdef = {.kind = SK_VARIANCE_PRECISE, .quantile = 0.975, .num_sigma = 3};
  const StatCfg adef = {.kind = SK_RANGE_QUANTILE, .quantile = 0.975, .num_sigma = 3};
  const char *wn_key = pick(args, "weight_nodes", "target_weight_nodes");
  const char *an_key = pick(args, "activation_nodes", "target_activation_nodes");
  const char *ws_key = pick(args, "weight_stats", "weight_statistics");
  const char *as_key = pick(args, "activation_stats", "activation_statistics");
  Status st;
  if ((st = read_names(P->a, args, wn_key, "linear", &wn, d)) || (st = read_names(P->a, args, an_key, "relu", &an, d)) ||
      (st = read_stats(P->a, args, ws_key, &wdef, &ws, d)) || (st = read_stats(P->a, args, as_key, &adef, &as, d)) ||
      (st = check_names(g, by_name, args, wn_key, &wn, d)) || (st = check_names(g, by_name, args, an_key, &an, d)))
    return st;

  for (const Node *n = g->first; n; n = n->next)
    if (!software_args(n))
      return diag_error(d, n->loc, "profile: node '%s' has no software metadata; run the 'metadata' pass first",
                        n->name);

  /* the entries, in graph order and each node's software arg order */
  for (Node *n = g->first; n; n = n->next) {
    bool w = ws.n && matches(n, by_name, &wn), act = as.n && matches(n, by_name, &an);
    if (!w && !act) continue;
    const Value *sargs = software_args(n);
    Slot slots[32];
    int ns;
    if ((st = node_slots(P->a, n, slots, 32, &ns, d))) return st;
    for (int i = 0; i < sargs->u.dict.n; i++) {
      const char *key = sargs->u.dict.keys[i];
      const Slot *s = NULL;
      for (int j = 0; j < ns && !s; j++)
        if (strcmp(slots[j].key, key) == 0) s = &slots[j];
      if (!s) continue;
      if (s->param && w && (st = add_entry(P, n, s, &ws))) return st;
      if (s->src && act && (st = add_entry(P, n, s, &as))) return st;
    }
  }

  /* weights: one sample per tensor */
  const PassData *data = ctx->data;
  for (int i = 0; i < P->ne; i++) {
    Entry *e = &P->e[i];
    if (!e->param) continue;
    const float *v = data && data->param ? data->param(data->ud, e->param) : NULL;
    if (!v)
      return diag_error(d, pass_arg_loc(args, ws_key),
                        "profile: weight statistics need weights: pass --ckpt (no values for '%s'; or "
                        "weight_stats={} to profile activations only)",
                        e->param->qualname);
    if ((st = entry_add(P, e, v, ir_type_numel(&e->param->type)))) return st;
  }

  /* activations: the sampler runs the model */
  if (P->nnodes) {
    if (!data || !data->sample)
      return diag_error(d, pass_arg_loc(args, as_key),
                        "profile: activation statistics need a model to run and inputs to run it on: pass --ckpt "
                        "(or activation_stats={} to profile weights only)");
    if ((st = data->sample(data->ud, g, num_samples, batch_size, P->nodes, P->nnodes, on_batch, P, d))) return st;
  }

  /* results into the metadata, then the report */
  Value *results = arena_alloc(P->a, sizeof(Value) * (size_t)(P->ne + 1));
  if (!results) return diag_oom(d);
  for (int i = 0; i < P->ne; i++)
    if (entry_value(P->a, &P->e[i], &results[i])) return diag_oom(d);
  for (int i = 0; i < P->ne;) {
    int j = i;
    while (j < P->ne && P->e[j].node == P->e[i].node) j++;
    if ((st = store(P, P->e[i].node, i, j, results))) return st;
    i = j;
  }
  StrBuf sb;
  sb_init(&sb);
  report(&sb, g, P, results, &ws, &as, num_samples, batch_size, data);
  st = sb.oom ? diag_oom(d) : pass_emit_report("profile", &sb, args, ctx);
  sb_free(&sb);
  return st;
}

Status pass_profile(Graph *g, const PassArgs *args, PassContext *ctx) {
  Prof P = {.a = arena_new(), .d = ctx->diag};
  if (!P.a) return diag_oom(ctx->diag);
  Status st = run(&P, g, args, ctx);
  for (int i = 0; i < P.ne; i++)
    for (int s = 0; s < P.e[i].stats->n; s++) ir_free(P.e[i].acc[s].rec);
  arena_free(P.a);
  return st;
}
