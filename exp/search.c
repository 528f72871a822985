/* exp/search.c — a quantization search's definition: MASE's [search] tables read as MASE
 * reads them (spec/search.md §2), its space built from the model's graph (§3), and what one
 * trial's choices mean: a quantize pipeline, a MASE-format TOML (§5).
 *
 * The space is MASE's graph/quantize/mixed_precision_ptq: every quantizable node (MASE's
 * ops, plus batch_norm1d where the seed names it) takes the seed entry named after it (by =
 * "name") or after its op (by = "type"), else seed.default; each key of the entry's config
 * with its list of choices is one parameter, "NODE/config/KEY".  A node whose `name` choices
 * are all "NA" is left out, and so are keys of slots its op does not have (a relu's
 * weight_width: MASE samples it, and its ReLU ignores it). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "exp.h"

/* ==== names ==== */

static const char *const metric_names[EXP_NMETRICS] = {
    [EXP_M_ACCURACY] = "accuracy",         [EXP_M_LOSS] = "loss",
    [EXP_M_AVERAGE_BITWIDTH] = "average_bitwidth", [EXP_M_MEMORY_DENSITY] = "memory_density",
    [EXP_M_BOPS] = "bops",                 [EXP_M_LUT_ESTIMATE] = "lut_estimate",
};

const char *exp_metric_name(ExpMetric m) { return (unsigned)m < EXP_NMETRICS ? metric_names[m] : "?"; }

bool exp_metric_lookup(const char *name, ExpMetric *out) {
  for (int i = 0; i < EXP_NMETRICS; i++)
    if (strcmp(name, metric_names[i]) == 0) return *out = (ExpMetric)i, true;
  return false;
}

/* ==== reading the [search] tables ==== */

typedef struct Rd {
  ExpSearch *s;
  ExpLocFn loc;
  void *ud;
  Diag *d;
} Rd;

static SrcLoc at(const Rd *r, const char *path) { return r->loc ? r->loc(r->ud, path) : (SrcLoc){0}; }

static const Value *get(const Value *dict, const char *key) {
  if (!dict || dict->kind != VAL_DICT) return NULL;
  for (int i = 0; i < dict->u.dict.n; i++)
    if (strcmp(dict->u.dict.keys[i], key) == 0) return &dict->u.dict.vals[i];
  return NULL;
}

/* Every key of a table must be one of `known` (a NULL-terminated list). */
static Status known_keys(const Rd *r, const Value *t, const char *path, const char *const *known) {
  if (!t) return JS_OK;
  if (t->kind != VAL_DICT) return diag_error(r->d, at(r, path), "%s: expected a table, got %s", path, val_kind_name(t));
  for (int i = 0; i < t->u.dict.n; i++) {
    const char *k = t->u.dict.keys[i];
    int j = 0, n = 0;
    while (known[j] && strcmp(known[j], k) != 0) j++;
    if (known[j]) continue;
    while (known[n]) n++;
    const char *h = diag_closest(k, known, n);
    char p[256], list[512] = "";
    snprintf(p, sizeof p, "%s.%s", path, k);
    for (int m = 0; m < n; m++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", m ? ", " : "", known[m]);
    return diag_error(r->d, at(r, p), "%s: unknown key '%s'%s%s%s (known: %s)", path, k, h ? " (did you mean '" : "",
                      h ? h : "", h ? "'?)" : "", list);
  }
  return JS_OK;
}

static Status want_str(const Rd *r, const Value *t, const char *path, const char *key, const char **out) {
  const Value *v = get(t, key);
  if (!v) return JS_OK;
  if (v->kind != VAL_STR) return diag_error(r->d, at(r, path), "%s: expected a string, got %s", path, val_kind_name(v));
  *out = v->u.s;
  return JS_OK;
}

static Status want_num(const Rd *r, const Value *t, const char *path, const char *key, double lo, double hi, double *out) {
  const Value *v = get(t, key);
  if (!v) return JS_OK;
  double x = v->kind == VAL_INT ? (double)v->u.i : v->kind == VAL_FLOAT ? v->u.f : NAN;
  if (!(x >= lo && x <= hi))
    return diag_error(r->d, at(r, path), "%s: expected a number from %g to %g, got %s", path, lo, hi,
                      v->kind == VAL_INT || v->kind == VAL_FLOAT ? "one outside" : val_kind_name(v));
  *out = x;
  return JS_OK;
}

static Status want_int(const Rd *r, const Value *t, const char *path, const char *key, int64_t lo, int64_t hi, int64_t *out) {
  const Value *v = get(t, key);
  if (!v) return JS_OK;
  if (v->kind != VAL_INT || v->u.i < lo || v->u.i > hi)
    return diag_error(r->d, at(r, path), "%s: expected a whole number from %lld to %lld", path, (long long)lo, (long long)hi);
  *out = v->u.i;
  return JS_OK;
}

static Status want_bool(const Rd *r, const Value *t, const char *path, const char *key, bool *out) {
  const Value *v = get(t, key);
  if (!v) return JS_OK;
  if (v->kind != VAL_BOOL) return diag_error(r->d, at(r, path), "%s: expected true or false, got %s", path, val_kind_name(v));
  *out = v->u.b;
  return JS_OK;
}

static Status direction(const Rd *r, const char *path, const char *text, bool *maximize) {
  if (strcmp(text, "maximize") == 0 || strcmp(text, "minimize") == 0) return *maximize = text[1] == 'a', JS_OK;
  return diag_error(r->d, at(r, path), "%s: '%s' is not a direction (maximize or minimize)", path, text);
}

/* [search.search_space]: name, setup.by, seed (read when the space is built). */
static Status read_space(Rd *r, const Value *sp) {
  static const char *const keys[] = {"name", "setup", "seed", NULL}, *const setup_keys[] = {"by", NULL};
  Status st = known_keys(r, sp, "search.search_space", keys);
  const char *name = "graph/quantize/mixed_precision_ptq", *by = NULL;
  const Value *setup = get(sp, "setup");
  if (!st) st = want_str(r, sp, "search.search_space.name", "name", &name);
  if (!st) st = known_keys(r, setup, "search.search_space.setup", setup_keys);
  if (!st) st = want_str(r, setup, "search.search_space.setup.by", "by", &by);
  if (st) return st;
  if (strcmp(name, "graph/quantize/mixed_precision_ptq") != 0)
    return diag_error(r->d, at(r, "search.search_space.name"), "search.search_space.name: MASE's search space '%s' is not "
                      "available in jscc (jscc searches graph/quantize/mixed_precision_ptq)", name);
  if (!by) return diag_error(r->d, at(r, "search.search_space"), "search.search_space.setup.by is missing (\"name\" or \"type\", as MASE requires)");
  if (strcmp(by, "name") != 0 && strcmp(by, "type") != 0)
    return diag_error(r->d, at(r, "search.search_space.setup.by"), "search.search_space.setup.by: '%s' is not \"name\" or \"type\"", by);
  r->s->by_name = by[0] == 'n';
  r->s->seed_table = get(sp, "seed");
  if (!r->s->seed_table || r->s->seed_table->kind != VAL_DICT)
    return diag_error(r->d, at(r, "search.search_space"), "search.search_space.seed is missing: the choices "
                      "([search.search_space.seed.default.config] and per node or op)");
  return JS_OK;
}

/* [search.strategy.setup]. */
static Status read_setup(Rd *r, const Value *t) {
  static const char *const keys[] = {"n_jobs", "n_trials", "timeout", "sampler", "sum_scaled_metrics", "direction",
                                     "population_size", "n_startup_trials", NULL};
  const char *P = "search.strategy.setup", *sampler = NULL, *dir = NULL;
  ExpSearch *s = r->s;
  int64_t n = s->n_trials, jobs = s->jobs, pop = s->sopts.population, startup = s->sopts.n_startup;
  Status st = known_keys(r, t, P, keys);
  if (!st) st = want_int(r, t, "search.strategy.setup.n_trials", "n_trials", 1, EXP_MAX_TRIALS, &n);
  if (!st) st = want_int(r, t, "search.strategy.setup.n_jobs", "n_jobs", 1, 1024, &jobs);
  if (!st) st = want_num(r, t, "search.strategy.setup.timeout", "timeout", 0, 1e9, &s->timeout_s);
  if (!st) st = want_str(r, t, "search.strategy.setup.sampler", "sampler", &sampler);
  if (!st) st = want_bool(r, t, "search.strategy.setup.sum_scaled_metrics", "sum_scaled_metrics", &s->sum_scaled);
  if (!st) st = want_str(r, t, "search.strategy.setup.direction", "direction", &dir);
  if (!st) st = want_int(r, t, "search.strategy.setup.population_size", "population_size", 2, 100000, &pop);
  if (!st) st = want_int(r, t, "search.strategy.setup.n_startup_trials", "n_startup_trials", 0, 100000, &startup);
  if (!st && dir) st = direction(r, "search.strategy.setup.direction", dir, &s->sum_maximize);
  if (!st && sampler && !exp_sampler_parse(sampler, &s->sampler))
    st = diag_error(r->d, at(r, "search.strategy.setup.sampler"), "search.strategy.setup.sampler: '%s' is not a jscc "
                    "sampler (random, tpe, nsgaii, grid)%s", sampler,
                    strcmp(sampler, "nsgaiii") == 0 || strcmp(sampler, "qmc") == 0 ? "; MASE's Optuna has it, jscc does not" : "");
  s->n_trials = (int)n, s->jobs = (int)jobs, s->sopts.population = (int)pop, s->sopts.n_startup = (int)startup;
  return st;
}

/* [search.strategy.metrics]: NAME.scale, NAME.direction, objectives sorted by name as MASE does. */
static Status read_metrics(Rd *r, const Value *t) {
  static const char *const keys[] = {"scale", "direction", NULL};
  ExpSearch *s = r->s;
  if (!t) return JS_OK;
  if (t->kind != VAL_DICT) return diag_error(r->d, at(r, "search.strategy.metrics"), "search.strategy.metrics: expected a table");
  s->nobj = 0;
  for (int i = 0; i < t->u.dict.n; i++) {
    char p[256];
    const char *name = t->u.dict.keys[i], *dir = NULL;
    snprintf(p, sizeof p, "search.strategy.metrics.%s", name);
    ExpObjective o = {.scale = 1.0};
    if (!exp_metric_lookup(name, &o.metric)) {
      const char *h = diag_closest(name, metric_names, EXP_NMETRICS);
      return diag_error(r->d, at(r, p), "%s: unknown metric '%s'%s%s%s (accuracy, loss, average_bitwidth, memory_density, "
                        "bops, lut_estimate)", p, name, h ? " (did you mean '" : "", h ? h : "", h ? "'?)" : "");
    }
    const Value *m = &t->u.dict.vals[i];
    Status st = known_keys(r, m, p, keys);
    if (!st) st = want_num(r, m, arena_printf(s->a, "%s.scale", p), "scale", -1e300, 1e300, &o.scale);
    if (!st) st = want_str(r, m, arena_printf(s->a, "%s.direction", p), "direction", &dir);
    if (!st && !dir) st = diag_error(r->d, at(r, p), "%s.direction is missing (maximize or minimize)", p);
    if (!st) st = direction(r, arena_printf(s->a, "%s.direction", p), dir, &o.maximize);
    if (st) return st;
    int k = s->nobj++;
    while (k > 0 && strcmp(metric_names[s->obj[k - 1].metric], name) > 0) s->obj[k] = s->obj[k - 1], k--;
    s->obj[k] = o;
  }
  return JS_OK;
}

/* [search.strategy.sw_runner]: basic_evaluation (PTQ: num_samples rows of the split) and
 * basic_train (QAT: epochs, optimizer, learning rate, ...). */
static Status read_runner(Rd *r, const Value *t) {
  static const char *const keys[] = {"basic_evaluation", "basic_train", NULL};
  static const char *const ev[] = {"data_loader", "dataloader", "num_samples", NULL};
  static const char *const tr[] = {"name", "data_loader", "dataloader", "num_samples", "max_epochs", "optimizer",
                                   "learning_rate", "weight_decay", "lr_scheduler", "num_warmup_steps", "batch_size", NULL};
  ExpSearch *s = r->s;
  const Value *e = get(t, "basic_evaluation"), *b = get(t, "basic_train");
  const char *opt = NULL, *sched = NULL;
  Status st = known_keys(r, t, "search.strategy.sw_runner", keys);
  if (!st) st = known_keys(r, e, "search.strategy.sw_runner.basic_evaluation", ev);
  if (!st) st = want_int(r, e, "search.strategy.sw_runner.basic_evaluation.num_samples", "num_samples", -1, INT64_MAX, &s->num_samples);
  if (!st) st = known_keys(r, b, "search.strategy.sw_runner.basic_train", tr);
  if (st || !b) return st;
  s->scoring = EXP_SCORE_QAT;
  const char *P = "search.strategy.sw_runner.basic_train";
  if (!st) st = want_int(r, b, arena_printf(s->a, "%s.max_epochs", P), "max_epochs", 1, 1000000, &s->epochs);
  if (!st) st = want_num(r, b, arena_printf(s->a, "%s.learning_rate", P), "learning_rate", 1e-300, 1e300, &s->lr);
  if (!st) st = want_num(r, b, arena_printf(s->a, "%s.weight_decay", P), "weight_decay", 0, 1e300, &s->weight_decay);
  if (!st) st = want_int(r, b, arena_printf(s->a, "%s.batch_size", P), "batch_size", 1, 1 << 24, &s->batch_size);
  if (!st) st = want_str(r, b, arena_printf(s->a, "%s.optimizer", P), "optimizer", &opt);
  if (!st) st = want_str(r, b, arena_printf(s->a, "%s.lr_scheduler", P), "lr_scheduler", &sched);
  if (!st && opt && !rt_optim_parse(opt, &s->optimizer))
    st = diag_error(r->d, at(r, arena_printf(s->a, "%s.optimizer", P)), "%s.optimizer: '%s' is not adam, adamw or sgd", P, opt);
  if (!st && sched && !rt_sched_parse(sched, &s->sched))
    st = diag_error(r->d, at(r, arena_printf(s->a, "%s.lr_scheduler", P)), "%s.lr_scheduler: '%s' is not constant or cosine "
                    "(jscc's schedules; the step count resets never, so an early-stopped trial continues its schedule)", P, sched);
  return st;
}

/* [search.strategy] and its tables. */
static Status read_strategy(Rd *r, const Value *t) {
  static const char *const keys[] = {"name", "eval_mode", "setup", "sw_runner", "hw_runner", "metrics", "asha", NULL};
  static const char *const hw[] = {"average_bitwidth", NULL}, *const ab[] = {"compare_to", NULL};
  static const char *const asha[] = {"min_epochs", "eta", NULL};
  const char *name = "optuna";
  const Value *hwr = get(t, "hw_runner"), *as = get(t, "asha");
  Status st = known_keys(r, t, "search.strategy", keys);
  if (!st) st = want_str(r, t, "search.strategy.name", "name", &name);
  if (!st && strcmp(name, "optuna") != 0)
    st = diag_error(r->d, at(r, "search.strategy.name"), "search.strategy.name: MASE's '%s' strategy is not available in "
                    "jscc (its samplers are Optuna's, written in C: name = \"optuna\")", name);
  if (!st) st = read_setup(r, get(t, "setup"));
  if (!st) st = read_runner(r, get(t, "sw_runner"));
  if (!st) st = known_keys(r, hwr, "search.strategy.hw_runner", hw);
  if (!st) st = known_keys(r, get(hwr, "average_bitwidth"), "search.strategy.hw_runner.average_bitwidth", ab);
  if (!st) st = want_num(r, get(hwr, "average_bitwidth"), "search.strategy.hw_runner.average_bitwidth.compare_to",
                         "compare_to", 1e-300, 1e300, &r->s->compare_to);
  if (!st) st = known_keys(r, as, "search.strategy.asha", asha);
  if (!st && as) r->s->asha = true;
  if (!st) st = want_int(r, as, "search.strategy.asha.min_epochs", "min_epochs", 1, 1000000, &r->s->min_epochs);
  if (!st) st = want_int(r, as, "search.strategy.asha.eta", "eta", 2, 100, &r->s->eta);
  if (!st) st = read_metrics(r, get(t, "metrics"));
  return st;
}

Status exp_search_new(ExpSearch **out, Diag *d) {
  Arena *a = arena_new();
  ExpSearch *s = a ? arena_alloc(a, sizeof *s) : NULL;
  if (!s) return arena_free(a), *out = NULL, diag_oom(d);
  s->a = a;
  s->sampler = EXP_SAMPLER_TPE;
  exp_sampler_opts_default(&s->sopts);
  s->n_trials = 20, s->jobs = 1, s->compare_to = 32;
  s->scoring = EXP_SCORE_PTQ, s->epochs = 2, s->lr = 1e-3, s->optimizer = OPTIM_ADAM, s->sched = SCHED_CONSTANT;
  s->min_epochs = 1, s->eta = 3;
  s->nobj = 2; /* MASE's example: accuracy up, average_bitwidth down (scale 0.2) */
  s->obj[0] = (ExpObjective){EXP_M_ACCURACY, 1.0, true};
  s->obj[1] = (ExpObjective){EXP_M_AVERAGE_BITWIDTH, 0.2, false};
  *out = s;
  return JS_OK;
}

void exp_search_free(ExpSearch *s) {
  if (s) arena_free(s->a);
}

Status exp_search_read(ExpSearch *s, const Value *root, ExpLocFn loc, void *ud, Diag *d) {
  Rd r = {s, loc, ud, d};
  static const char *const keys[] = {"search_space", "strategy", NULL};
  const Value *t = get(root, "search");
  if (!t) return diag_error(d, at(&r, ""), "the config has no [search] table (MASE's [search.search_space] and [search.strategy])");
  Status st = known_keys(&r, t, "search", keys);
  if (!st) st = read_space(&r, get(t, "search_space"));
  if (!st) st = read_strategy(&r, get(t, "strategy"));
  if (!st && s->sum_scaled && !get(get(get(t, "strategy"), "setup"), "direction"))
    st = diag_error(d, at(&r, "search.strategy.setup.sum_scaled_metrics"), "search.strategy.setup: sum_scaled_metrics = true "
                    "needs direction (maximize or minimize), as MASE does");
  if (!st && s->nobj == 0) st = diag_error(d, at(&r, "search.strategy"), "search.strategy.metrics: no metric to optimise");
  if (!st) s->seed_loc = (ExpSeedLoc){loc, ud};
  return st;
}

/* ==== the space ==== */

/* The ops MASE's quantize pass takes (QUANTIZEABLE_OP); batch_norm1d only where named. */
static bool mase_quantizable(MaseOp op) { return ir_op_quantizable(op) && op != MOP_BATCH_NORM1D; }

static bool all_na(const Value *v) {
  if (v->kind == VAL_STR) return strcmp(v->u.s, "NA") == 0;
  if (v->kind != VAL_LIST || v->u.seq.n == 0) return false;
  for (int i = 0; i < v->u.seq.n; i++)
    if (v->u.seq.items[i].kind != VAL_STR || strcmp(v->u.seq.items[i].u.s, "NA") != 0) return false;
  return true;
}

/* The seed entry a node takes, and its key; NULL when none applies. */
static const Value *seed_for(const ExpSearch *s, const Node *n, const char **key) {
  const Value *seed = s->seed_table;
  const char *own = s->by_name ? n->name : ir_op_info(n->mop)->name;
  const Value *e = get(seed, own);
  if (e) return *key = own, e;
  if (!mase_quantizable(n->mop)) return NULL;
  return *key = "default", get(seed, "default");
}

static bool numeric(const Value *v) { return v->kind == VAL_INT || v->kind == VAL_FLOAT; }
static double num(const Value *v) { return v->kind == VAL_INT ? (double)v->u.i : v->u.f; }

/* One parameter from seed.KEY.config.FIELD = [choices]. */
static Status add_param(ExpSearch *s, int node, const char *seedkey, const char *field, const Value *v, Diag *d) {
  char path[512];
  snprintf(path, sizeof path, "search.search_space.seed.%s.config.%s", seedkey, field);
  SrcLoc l = s->seed_loc.fn ? s->seed_loc.fn(s->seed_loc.ud, path) : (SrcLoc){0};
  if (v->kind == VAL_DICT) return diag_error(d, l, "%s: expected a list of choices, got a table", path);
  if (v->kind == VAL_LIST && v->u.seq.n == 0) return diag_error(d, l, "%s: an empty list of choices", path);
  if (s->nparams == EXP_SEARCH_MAX_PARAMS) return diag_error(d, l, "more than %d search parameters", EXP_SEARCH_MAX_PARAMS);
  ExpSearchParam *p = &s->params[s->nparams++];
  p->node = node;
  p->field = field;
  p->key = arena_printf(s->a, "%s/config/%s", s->nodes[node].name, field);
  p->n = v->kind == VAL_LIST ? v->u.seq.n : 1;
  p->choices = v->kind == VAL_LIST ? v->u.seq.items : (Value *)v;
  p->ordered = true;
  for (int i = 0; i < p->n; i++)
    if (!numeric(&p->choices[i]) || (i && num(&p->choices[i]) <= num(&p->choices[i - 1]))) p->ordered = false;
  if (!p->key) return diag_oom(d);
  for (int i = 0; i < p->n; i++)
    if (p->choices[i].kind == VAL_LIST || p->choices[i].kind == VAL_DICT)
      return diag_error(d, l, "%s: choice %d is a %s (choices are numbers, strings or booleans)", path, i, val_kind_name(&p->choices[i]));
  return JS_OK;
}

/* Whether a config key belongs to a slot the op has (keys of no slot, such as name, do). */
static bool op_has_key(MaseOp op, const char *field) {
  for (int k = 0; k < QS_COUNT; k++) {
    size_t n = strlen(ir_qslot_name((QSlot)k));
    if (strncmp(field, ir_qslot_name((QSlot)k), n) == 0 && field[n] == '_') return ir_op_has_qslot(op, (QSlot)k);
  }
  return true;
}

/* The node's parameters: every key of its seed entry's config, in the order written. */
static Status add_node(ExpSearch *s, const Node *n, const char *seedkey, const Value *entry, Diag *d) {
  char path[512];
  snprintf(path, sizeof path, "search.search_space.seed.%s", seedkey);
  SrcLoc l = s->seed_loc.fn ? s->seed_loc.fn(s->seed_loc.ud, path) : (SrcLoc){0};
  const Value *cfg = get(entry, "config");
  if (!cfg || cfg->kind != VAL_DICT)
    return diag_error(d, l, "%s: expected a [%s.config] table of choice lists (MASE's form)", path, path);
  const Value *name = get(cfg, "name");
  if (!name) return diag_error(d, l, "%s.config: missing 'name' (the format's choices, e.g. [\"integer\"])", path);
  if (all_na(name)) return JS_OK;
  ExpSearchNode *sn = &s->nodes[s->nnodes];
  *sn = (ExpSearchNode){.name = n->name, .op = n->mop, .seed = seedkey, .first = s->nparams};
  s->nnodes++;
  for (int i = 0; i < cfg->u.dict.n; i++) {
    if (!op_has_key(n->mop, cfg->u.dict.keys[i])) continue; /* MASE samples it and the op ignores it */
    Status st = add_param(s, s->nnodes - 1, seedkey, cfg->u.dict.keys[i], &cfg->u.dict.vals[i], d);
    if (st) return st;
  }
  sn->nparams = s->nparams - sn->first;
  return JS_OK;
}

/* A seed key that names nothing in the graph is a typo (as in the quantize pass). */
static Status check_seed_keys(const ExpSearch *s, const Graph *g, Diag *d) {
  const Value *seed = s->seed_table;
  for (int i = 0; i < seed->u.dict.n; i++) {
    const char *k = seed->u.dict.keys[i];
    bool hit = strcmp(k, "default") == 0;
    for (const Node *n = g->first; n && !hit; n = n->next)
      hit = n->mop != MOP_NONE && strcmp(k, s->by_name ? n->name : ir_op_info(n->mop)->name) == 0;
    if (hit) continue;
    char path[512];
    snprintf(path, sizeof path, "search.search_space.seed.%s", k);
    SrcLoc l = s->seed_loc.fn ? s->seed_loc.fn(s->seed_loc.ud, path) : (SrcLoc){0};
    return diag_error(d, l, "%s: the model has no %s '%s' (by = \"%s\")", path, s->by_name ? "node" : "op", k,
                      s->by_name ? "name" : "type");
  }
  if (!get(seed, "default"))
    return diag_error(d, s->seed_loc.fn ? s->seed_loc.fn(s->seed_loc.ud, "search.search_space.seed") : (SrcLoc){0},
                      "search.search_space.seed.default is missing (MASE requires it: name = [\"NA\"] leaves the other nodes in float)");
  return JS_OK;
}

Status exp_search_space(ExpSearch *s, const Graph *g, Diag *d) {
  Status st = check_seed_keys(s, g, d);
  int nn = 0;
  for (const Node *n = g->first; n; n = n->next) nn++;
  s->nodes = arena_alloc(s->a, sizeof *s->nodes * (size_t)(nn ? nn : 1));
  s->params = arena_alloc(s->a, sizeof *s->params * EXP_SEARCH_MAX_PARAMS);
  if (!st && (!s->nodes || !s->params)) st = diag_oom(d);
  for (const Node *n = g->first; !st && n; n = n->next) {
    bool call = n->op == OP_CALL_MODULE || n->op == OP_CALL_FUNCTION || n->op == OP_CALL_METHOD;
    const char *key;
    const Value *e = call && ir_op_quantizable(n->mop) ? seed_for(s, n, &key) : NULL;
    if (e) st = add_node(s, n, key, e, d);
  }
  if (!st && s->nparams == 0)
    st = diag_error(d, s->seed_loc.fn ? s->seed_loc.fn(s->seed_loc.ud, "search.search_space.seed") : (SrcLoc){0},
                    "the search space is empty: no quantizable node of the model takes a seed entry other than \"NA\"");
  return st;
}

int64_t exp_search_size(const ExpSearch *s) {
  ExpParam p[EXP_SEARCH_MAX_PARAMS];
  exp_search_params(s, p);
  return exp_grid_size(p, s->nparams);
}

void exp_search_params(const ExpSearch *s, ExpParam *out) {
  for (int i = 0; i < s->nparams; i++) out[i] = (ExpParam){s->params[i].n, s->params[i].ordered};
}

/* ==== a trial's choices ==== */

/* A choice as --passes text writes it: numbers bare, strings quoted. */
static void choice_text(StrBuf *sb, const Value *v, bool toml) {
  if (v->kind == VAL_STR) {
    if (toml) { /* a JSON string is a TOML basic string */
      sb_put_json_str(sb, v->u.s);
      return;
    }
    sb_putc(sb, '"'); /* --passes text: a backslash before '"' and '\\', every other byte as is */
    for (const char *c = v->u.s; *c; c++) {
      if (*c == '"' || *c == '\\') sb_putc(sb, '\\');
      sb_putc(sb, *c);
    }
    sb_putc(sb, '"');
  } else if (v->kind == VAL_INT) {
    sb_printf(sb, "%lld", (long long)v->u.i);
  } else if (v->kind == VAL_FLOAT) {
    sb_printf(sb, toml && v->u.f == floor(v->u.f) && fabs(v->u.f) < 1e15 ? "%.1f" : "%.17g", v->u.f);
  } else if (v->kind == VAL_BOOL) {
    sb_puts(sb, v->u.b ? "true" : "false");
  }
}

/* Whether the chosen value of a parameter is written: a "NA" width is MASE's "leave it at
 * the default", and a key of a slot the op does not have is one MASE's op ignores. */
static bool written(const ExpSearch *s, const ExpSearchParam *p, const Value *v) {
  if (strcmp(p->field, "name") != 0 && v->kind == VAL_STR && strcmp(v->u.s, "NA") == 0) return false;
  return op_has_key(s->nodes[p->node].op, p->field);
}

/* The format a trial chose for a node (its "name" choice); false when none or not a format. */
static bool node_kind(const ExpSearch *s, int node, const int *x, QKind *k) {
  const ExpSearchNode *sn = &s->nodes[node];
  for (int i = sn->first; i < sn->first + sn->nparams; i++)
    if (strcmp(s->params[i].field, "name") == 0) {
      const Value *v = &s->params[i].choices[x[i]];
      return v->kind == VAL_STR && ir_qkind_parse(v->u.s, k);
    }
  return false;
}

/* Whether trial x writes parameter i into its node's config: not a "NA" width, not a key of
 * a slot the op lacks, and (format choice as an axis) not a key the chosen format does not
 * take (minifloat's exponent_width beside an integer choice). */
static bool trial_writes(const ExpSearch *s, int i, const int *x) {
  const ExpSearchParam *p = &s->params[i];
  QKind k;
  if (!written(s, p, &p->choices[x[i]])) return false;
  if (strcmp(p->field, "name") == 0 || !node_kind(s, p->node, x, &k)) return true;
  return ir_qcfg_key_valid(s->nodes[p->node].op, k, p->field);
}

static bool node_skipped(const ExpSearch *s, int node, const int *x) {
  const ExpSearchNode *sn = &s->nodes[node];
  for (int i = sn->first; i < sn->first + sn->nparams; i++)
    if (strcmp(s->params[i].field, "name") == 0) {
      const Value *v = &s->params[i].choices[x[i]];
      return v->kind == VAL_STR && strcmp(v->u.s, "NA") == 0;
    }
  return false;
}

void exp_search_passes(const ExpSearch *s, const int *x, StrBuf *sb) {
  sb_puts(sb, "quantize{by=name, default={name=NA}");
  for (int n = 0; n < s->nnodes; n++) {
    const ExpSearchNode *sn = &s->nodes[n];
    if (node_skipped(s, n, x)) continue;
    sb_printf(sb, ", %s={", sn->name);
    bool first = true;
    for (int i = sn->first; i < sn->first + sn->nparams; i++) {
      const Value *v = &s->params[i].choices[x[i]];
      if (!trial_writes(s, i, x)) continue;
      sb_printf(sb, "%s%s=", first ? "" : ", ", s->params[i].field);
      choice_text(sb, v, false);
      first = false;
    }
    sb_putc(sb, '}');
  }
  sb_putc(sb, '}');
}

void exp_search_toml(const ExpSearch *s, const int *x, const char *comment, StrBuf *sb) {
  if (comment) sb_printf(sb, "# %s\n", comment);
  sb_puts(sb, "[passes.quantize]\nby = \"name\"\n\n[passes.quantize.default.config]\nname = \"NA\"\n");
  for (int n = 0; n < s->nnodes; n++) {
    const ExpSearchNode *sn = &s->nodes[n];
    if (node_skipped(s, n, x)) continue;
    sb_printf(sb, "\n[passes.quantize.%s.config]\n", sn->name);
    for (int i = sn->first; i < sn->first + sn->nparams; i++) {
      const Value *v = &s->params[i].choices[x[i]];
      if (!trial_writes(s, i, x)) continue;
      sb_printf(sb, "%s = ", s->params[i].field);
      choice_text(sb, v, true);
      sb_putc(sb, '\n');
    }
  }
}

void exp_search_choice(const ExpSearch *s, int param, int index, StrBuf *sb) {
  const Value *v = &s->params[param].choices[index];
  if (v->kind == VAL_STR) sb_puts(sb, v->u.s);
  else choice_text(sb, v, false);
}

/* ==== objectives ==== */

double exp_search_objective(const ExpSearch *s, int k, const double *metric) {
  if (s->sum_scaled) {
    double sum = 0;
    for (int i = 0; i < s->nobj; i++) sum += s->obj[i].scale * metric[s->obj[i].metric];
    return s->sum_maximize ? -sum : sum;
  }
  const ExpObjective *o = &s->obj[k];
  double v = o->scale * metric[o->metric];
  return o->maximize ? -v : v;
}

int exp_search_nobj(const ExpSearch *s) { return s->sum_scaled ? 1 : s->nobj; }

Status exp_search_costs(const ExpSearch *s, const Graph *fwd, const PassData *weights, double *metric, Diag *d) {
  PassQuantCost c;
  Status st = pass_quant_cost(fwd, weights, &c, d);
  if (st) return st;
  metric[EXP_M_AVERAGE_BITWIDTH] = c.average_bitwidth;
  metric[EXP_M_MEMORY_DENSITY] = s->compare_to / c.average_bitwidth;
  metric[EXP_M_BOPS] = c.bops;
  metric[EXP_M_LUT_ESTIMATE] = c.lut_estimate;
  return JS_OK;
}
