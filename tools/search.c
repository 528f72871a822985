/* tools/search.c — jscc search: a quantization search over MASE's search space, every trial
 * scored by PTQ or by QAT on the JIT (spec/search.md).  The search itself is exp/'s
 * (search.c, searchrun.c, searchout.c); this file reads the command line, the model, the
 * checkpoint and the data, and keeps search.json. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "exp.h"

static void search_usage(FILE *f) {
  fputs("usage: jscc search MODEL.jsc --ckpt FLOAT.safetensors --config SEARCH.toml [options]\n"
        "       jscc search --resume DIR\n"
        "\n"
        "Searches per-layer quantization formats as MASE's `ch search` does: the config's\n"
        "[search.search_space] and [search.strategy] tables (MASE's format), TPE, NSGA-II,\n"
        "random or grid sampling, every trial scored by post-training quantization (PTQ) of the\n"
        "float checkpoint or by quantization-aware fine-tuning from it (QAT, when the config has\n"
        "[search.strategy.sw_runner.basic_train] or with --scoring qat), optionally stopped early\n"
        "by asynchronous successive halving (ASHA).  Writes DIR/results.csv (every trial),\n"
        "DIR/front.csv and DIR/front/trial-NNN.toml (the Pareto front, each point a config for\n"
        "jscc transform / test / train --config) and DIR/report.html.\n"
        "\n"
        "options:\n"
        "  --ckpt FILE            the float model's weights (required)\n"
        "  --config FILE          the search config (required)\n"
        "  --out DIR              the search directory (default searches/MODEL-SAMPLER-TIME)\n"
        "  --resume DIR           continue an interrupted search with its own command line\n"
        "  --sampler NAME         tpe, nsgaii, random or grid (overrides setup.sampler)\n"
        "  --n-trials N           configurations to sample (overrides setup.n_trials)\n"
        "  --seed N               the sampler's seed (default: the config's seed, else 0)\n"
        "  --jobs N               trials at once (overrides setup.n_jobs; default 1)\n"
        "  --scoring ptq|qat      how a trial is scored (default: qat when basic_train is given)\n"
        "  --epochs N             QAT: fine-tuning epochs per trial (basic_train.max_epochs; 2)\n"
        "  --lr X                 QAT: learning rate (basic_train.learning_rate; 1e-3)\n"
        "  --asha                 QAT: successive halving on the epochs ([search.strategy.asha])\n"
        "  --min-epochs N         ASHA's first rung (1)\n"
        "  --eta N                ASHA's reduction factor (3)\n"
        "  --num-samples N        PTQ: validation rows per trial (basic_evaluation.num_samples; all)\n"
        "  --no-report            do not write report.html\n"
        "  --quiet                no line per trial\n"
        "  --data PATH, --synth-n N, --batch-size N, --engine NAME, --model NAME,\n"
        "  --cache-dir DIR, --no-cache      as for jscc train\n"
        "  -h, --help             print this help\n"
        "\n"
        "Exit status: 0 success, 1 an error in the input or a failed search, 2 bad usage.\n",
        f);
}

enum { S_SAMPLER = 400, S_NTRIALS, S_JOBS, S_SCORING, S_EPOCHS, S_ASHA, S_MIN_EPOCHS, S_ETA, S_NUM_SAMPLES, S_NO_REPORT };

typedef struct SearchArgs {
  const char *model_path, *model, *ckpt, *config, *out, *resume, *passes_unused;
  const char *sampler, *scoring;
  int64_t n_trials, jobs, epochs, min_epochs, eta, num_samples, seed;
  double lr;
  bool asha, quiet, no_report, have_seed;
  RtDataOpts data;
  int64_t batch;
  RtEngineKind engine;
  int argc;
  char **argv;
} SearchArgs;

static int int_opt(const char *name, const char *v, int64_t lo, int64_t hi, int64_t *out) {
  if (!parse_int_opt(v, lo, hi, out))
    return sub_usage_error("search", "%s: expected a whole number from %lld to %lld, got '%s'", name, (long long)lo,
                           (long long)hi, v);
  return -1;
}

static int search_opt(SearchArgs *a, int o, const char *v) {
  switch (o) {
  case T_CKPT: a->ckpt = v; return -1;
  case T_OUT: a->out = v; return -1;
  case T_RESUME: a->resume = v; return -1;
  case S_SAMPLER: a->sampler = v; return -1;
  case S_SCORING: a->scoring = v; return -1;
  case S_NTRIALS: return int_opt("--n-trials", v, 1, EXP_MAX_TRIALS, &a->n_trials);
  case S_JOBS: return int_opt("--jobs", v, 1, 1024, &a->jobs);
  case S_EPOCHS: return int_opt("--epochs", v, 1, 1000000, &a->epochs);
  case S_MIN_EPOCHS: return int_opt("--min-epochs", v, 1, 1000000, &a->min_epochs);
  case S_ETA: return int_opt("--eta", v, 2, 100, &a->eta);
  case S_NUM_SAMPLES: return int_opt("--num-samples", v, 1, INT64_MAX, &a->num_samples);
  case T_SEED: a->have_seed = true; return int_opt("--seed", v, 0, INT64_MAX, &a->seed);
  case T_LR:
    if (!parse_real_opt(v, 0, true, &a->lr)) return sub_usage_error("search", "--lr: expected a positive number, got '%s'", v);
    return -1;
  case S_ASHA: a->asha = true; return -1;
  case S_NO_REPORT: a->no_report = true; return -1;
  case T_QUIET: a->quiet = true; return -1;
  }
  return 0;
}

static int search_args_parse(int argc, char **argv, SearchArgs *a) {
  static const struct option longopts[] = {
      {"ckpt", required_argument, NULL, T_CKPT},          {"config", required_argument, NULL, T_CONFIG},
      {"out", required_argument, NULL, T_OUT},            {"resume", required_argument, NULL, T_RESUME},
      {"sampler", required_argument, NULL, S_SAMPLER},    {"n-trials", required_argument, NULL, S_NTRIALS},
      {"seed", required_argument, NULL, T_SEED},          {"jobs", required_argument, NULL, S_JOBS},
      {"scoring", required_argument, NULL, S_SCORING},    {"epochs", required_argument, NULL, S_EPOCHS},
      {"lr", required_argument, NULL, T_LR},              {"asha", no_argument, NULL, S_ASHA},
      {"min-epochs", required_argument, NULL, S_MIN_EPOCHS}, {"eta", required_argument, NULL, S_ETA},
      {"num-samples", required_argument, NULL, S_NUM_SAMPLES}, {"no-report", no_argument, NULL, S_NO_REPORT},
      {"quiet", no_argument, NULL, T_QUIET},              {"data", required_argument, NULL, T_DATA},
      {"synth-n", required_argument, NULL, T_SYNTH_N},    {"batch-size", required_argument, NULL, T_BATCH},
      {"engine", required_argument, NULL, T_ENGINE},      {"model", required_argument, NULL, T_MODEL},
      {"cache-dir", required_argument, NULL, T_CACHE_DIR}, {"no-cache", no_argument, NULL, T_NO_CACHE},
      {"help", no_argument, NULL, 'h'},                   {NULL, 0, NULL, 0},
  };
  memset(a, 0, sizeof *a);
  rt_data_opts_default(&a->data);
  a->batch = 256;
  a->argc = argc, a->argv = argv;
  SharedOpts so = {&a->data, &a->batch, &a->engine, &a->model, NULL, &a->config, NULL};
  optind = 1;
  opterr = 0;
  int o;
  while ((o = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    int sh = shared_opt("search", o, &so);
    if (sh > 0) return sh;
    if (sh < 0) continue;
    if ((sh = search_opt(a, o, optarg)) > 0) return sh;
    if (sh < 0) continue;
    if (o == 'h') return search_usage(stdout), 0;
    if (o == ':') return sub_usage_error("search", "option '%s' needs a value", argv[optind - 1]);
    return sub_usage_error("search", "unknown option '%s'", argv[optind - 1]);
  }
  if (a->resume) return -1;
  if (optind == argc) return sub_usage_error("search", "expected a model file (jscc search MODEL.jsc --ckpt F --config S.toml)");
  if (argc - optind > 1) return sub_usage_error("search", "expected one model file, got also '%s'", argv[optind + 1]);
  a->model_path = argv[optind];
  if (!a->ckpt) return sub_usage_error("search", "--ckpt FILE is required (the float model's weights, a run's best.safetensors)");
  if (!a->config) return sub_usage_error("search", "--config FILE is required (MASE's search TOML)");
  return -1;
}

/* ==== the search from the arguments ==== */

static SrcLoc cfg_loc(void *ud, const char *path) { return fe_config_loc(ud, path); }

/* The command line over the config. */
static int apply_args(ExpSearch *s, const SearchArgs *a) {
  if (a->sampler && !exp_sampler_parse(a->sampler, &s->sampler)) {
    static const char *const names[] = {"tpe", "nsgaii", "random", "grid"};
    return bad_name("search", "sampler", a->sampler, names, 4);
  }
  if (a->scoring && strcmp(a->scoring, "ptq") && strcmp(a->scoring, "qat")) {
    static const char *const names[] = {"ptq", "qat"};
    return bad_name("search", "scoring", a->scoring, names, 2);
  }
  if (a->scoring) s->scoring = a->scoring[0] == 'q' ? EXP_SCORE_QAT : EXP_SCORE_PTQ;
  if (a->n_trials) s->n_trials = (int)a->n_trials;
  if (a->jobs) s->jobs = (int)a->jobs;
  if (a->epochs) s->epochs = a->epochs;
  if (a->lr > 0) s->lr = a->lr;
  if (a->asha) s->asha = true;
  if (a->min_epochs) s->min_epochs = a->min_epochs;
  if (a->eta) s->eta = a->eta;
  if (a->num_samples) s->num_samples = a->num_samples;
  if (s->asha && s->scoring != EXP_SCORE_QAT)
    return sub_usage_error("search", "ASHA stops QAT trials early: it needs --scoring qat (or basic_train in the config)");
  return -1;
}

/* What the hooks share. */
typedef struct Ctx {
  const SearchArgs *a;
  const ExpSearch *s;
  bool quiet;
  int nobj;
  RtKernelSet *ks;  /* the kernels every trial borrows from (a trial's are dropped with it) */
} Ctx;

/* A trial's model: both graphs, and the float weights in its layout (for the cost metrics). */
typedef struct TrialModel {
  Model m;
  RtState *state;
  RtPassData *pd;
} TrialModel;

static void unload_model(void *ud, void *handle) {
  Ctx *c = ud;
  TrialModel *tm = handle;
  rt_kernel_set_forget(c->ks, tm->m.fwd);
  rt_kernel_set_forget(c->ks, tm->m.train);
  rt_pass_data_free(tm->pd);
  rt_state_free(tm->state);
  model_free(&tm->m);
  ir_free(tm);
}

static Status load_model(void *ud, const char *passes, const Graph **fwd, const Graph **train, const PassData **w,
                         void **handle, Diag *d) {
  Ctx *c = ud;
  Pipeline *pl = NULL;
  TrialModel *tm = ir_calloc(1, sizeof *tm);
  Status st = tm ? pass_pipeline_parse(passes, &pl, d) : diag_oom(d);
  if (!st) st = model_load(&tm->m, c->a->model_path, c->a->model, pl, d);
  pass_pipeline_free(pl);
  if (!st) st = rt_state_new(tm->m.fwd, &tm->state, d);
  if (!st) st = rt_ckpt_load(c->a->ckpt, tm->state, d);
  if (!st) st = rt_pass_data_new(tm->state, NULL, "val", &tm->pd, d);
  if (st) {
    if (tm) unload_model(ud, tm);
    return st;
  }
  *fwd = tm->m.fwd, *train = tm->m.train, *w = rt_pass_data_get(tm->pd), *handle = tm;
  return JS_OK;
}

static void on_score(void *ud, const ExpSearchTrial *t, int scored, int total) {
  Ctx *c = ud;
  if (c->quiet) return;
  printf("trial %3d", t->id);
  if (c->s->asha) printf(" rung %d (%lld epochs)", t->rung, (long long)t->epochs);
  printf(": %s", exp_status_name(t->status));
  for (int k = 0; t->status == EXP_OK && k < c->s->nobj; k++)
    printf(", %s %.4g", exp_metric_name(c->s->obj[k].metric), t->metric[c->s->obj[k].metric]);
  if (t->status == EXP_FAILED) printf(": %s", t->error);
  printf("  [%d/%d, %.1f s]\n", scored, total, t->seconds);
  fflush(stdout);
}

/* ==== search.json: the command line, what it read, the float model's reference ==== */

typedef struct Ref {
  double metric[EXP_NMETRICS];
  double test_acc;
} Ref;

static Status file_hash(const char *path, uint64_t *h, Diag *d) {
  Arena *a = arena_new();
  SrcFile *src;
  Status st = a ? diag_read_file(a, path, &src, d) : diag_oom(d);
  if (!st) *h = rt_hash64(src->text, src->len);
  arena_free(a);
  return st;
}

static Status hashes(const SearchArgs *a, uint64_t h[3], Diag *d) {
  Status st = file_hash(a->model_path, &h[0], d);
  if (!st) st = file_hash(a->ckpt, &h[1], d);
  if (!st) st = file_hash(a->config, &h[2], d);
  return st;
}

/* A choice as JSON: strings and booleans as they are, numbers (non-finite ones as null). */
static void json_value(StrBuf *sb, const Value *v) {
  if (v->kind == VAL_STR) sb_put_json_str(sb, v->u.s);
  else if (v->kind == VAL_BOOL) sb_puts(sb, v->u.b ? "true" : "false");
  else if (v->kind == VAL_INT) sb_printf(sb, "%lld", (long long)v->u.i);
  else sb_put_json_num(sb, v->kind == VAL_FLOAT ? v->u.f : NAN);
}

static Status write_json(const SearchArgs *a, const ExpSearch *s, const char *dir, const uint64_t h[3], const Ref *ref,
                         Diag *d) {
  StrBuf sb;
  sb_init(&sb);
  sb_puts(&sb, "{\n  \"argv\": [");
  for (int i = 0; i < a->argc; i++) sb_puts(&sb, i ? ", " : ""), sb_put_json_str(&sb, a->argv[i]);
  char cwd[4096];
  sb_printf(&sb, "],\n  \"cwd\": ");
  sb_put_json_str(&sb, getcwd(cwd, sizeof cwd) ? cwd : ".");
  sb_printf(&sb, ",\n  \"model\": ");
  sb_put_json_str(&sb, a->model_path);
  sb_printf(&sb, ",\n  \"hashes\": {\"model\": \"%016llx\", \"ckpt\": \"%016llx\", \"config\": \"%016llx\"},\n",
            (unsigned long long)h[0], (unsigned long long)h[1], (unsigned long long)h[2]);
  sb_printf(&sb, "  \"sampler\": \"%s\", \"scoring\": \"%s\", \"n_trials\": %d, \"asha\": %s,\n", exp_sampler_name(s->sampler),
            s->scoring == EXP_SCORE_QAT ? "qat" : "ptq", s->n_trials, s->asha ? "true" : "false");
  sb_puts(&sb, "  \"objectives\": [");
  for (int k = 0; k < s->nobj; k++)
    sb_printf(&sb, "%s{\"metric\": \"%s\", \"scale\": %.17g, \"direction\": \"%s\"}", k ? ", " : "",
              exp_metric_name(s->obj[k].metric), s->obj[k].scale, s->obj[k].maximize ? "maximize" : "minimize");
  sb_printf(&sb, "],\n  \"sum_scaled_metrics\": %s,\n  \"params\": [", s->sum_scaled ? "true" : "false");
  for (int i = 0; i < s->nparams; i++) {
    sb_printf(&sb, "%s\n    {\"key\": ", i ? "," : "");
    sb_put_json_str(&sb, s->params[i].key);
    sb_puts(&sb, ", \"choices\": [");
    for (int c = 0; c < s->params[i].n; c++) sb_puts(&sb, c ? ", " : ""), json_value(&sb, &s->params[i].choices[c]);
    sb_puts(&sb, "]}");
  }
  sb_puts(&sb, "],\n  \"float\": {");
  for (int m = 0; m < EXP_NMETRICS; m++) sb_printf(&sb, "\"%s\": ", exp_metric_name((ExpMetric)m)), sb_put_json_num(&sb, ref->metric[m]), sb_puts(&sb, ", ");
  sb_puts(&sb, "\"test_acc\": ");
  sb_put_json_num(&sb, ref->test_acc);
  sb_puts(&sb, "}\n}\n");
  Status st = sb.oom ? diag_oom(d) : exp_write_file(&sb, dir, "search.json", d);
  sb_free(&sb);
  return st;
}

/* DIR/search.json's command line, for --resume. */
static Status read_json(Arena *ar, const char *dir, JVal *root, Diag *d) {
  char *path = arena_printf(ar, "%s/search.json", dir);
  SrcFile *src;
  Status st = path ? diag_read_file(ar, path, &src, d) : diag_oom(d);
  JsonError e;
  if (st) return st;
  if (!json_parse(ar, src->text, src->len, "search.json", root, &e))
    return e.oom ? diag_oom(d) : diag_error(d, (SrcLoc){0}, "%s: byte %zu: %s", path, e.pos, e.msg);
  const JVal *av = json_get(root, "argv");
  if (!av || av->kind != J_ARR || av->n < 2)
    return diag_error(d, (SrcLoc){0}, "%s: 'argv': expected the search's command line (an array of strings)", path);
  for (int i = 0; i < av->n; i++)
    if (av->items[i].kind != J_STR) return diag_error(d, (SrcLoc){0}, "%s: 'argv.%d': expected a string", path, i);
  return JS_OK;
}

static Status check_hashes(const JVal *root, const SearchArgs *a, const char *dir, const uint64_t h[3], Diag *d) {
  static const char *const keys[] = {"model", "ckpt", "config"};
  const char *files[] = {a->model_path, a->ckpt, a->config};
  const JVal *hs = json_get(root, "hashes");
  for (int i = 0; i < 3; i++) {
    const JVal *v = json_get(hs, keys[i]);
    char want[32];
    snprintf(want, sizeof want, "%016llx", (unsigned long long)h[i]);
    if (!v || v->kind != J_STR)
      return diag_error(d, (SrcLoc){0}, "%s/search.json: 'hashes.%s': expected the file's hash", dir, keys[i]);
    if (strcmp(v->str, want) != 0)
      return diag_error(d, (SrcLoc){0}, "'%s' changed since the search in '%s' began: its trials would not be comparable "
                        "(start a new search with another --out)", files[i], dir);
  }
  return JS_OK;
}

static void read_ref(const JVal *root, Ref *ref) {
  const JVal *f = json_get(root, "float");
  for (int m = 0; m < EXP_NMETRICS; m++) {
    const JVal *v = json_get(f, exp_metric_name((ExpMetric)m));
    ref->metric[m] = v ? json_num(v) : NAN;
  }
  ref->test_acc = json_get(f, "test_acc") ? json_num(json_get(f, "test_acc")) : NAN;
}

/* ==== the command ==== */

typedef struct Sess {
  SearchArgs a;
  FeConfig *cfg;
  ExpSearch *s;
  Model m;              /* the float model */
  RtDataset data;
  bool have_data;
  RtKernelSet *ks;
  char kdir[4096];
  const char *dir;
  Arena *ar;
  int lock;
  uint64_t seed;
  Ref ref;
  ExpMpi *mpi;          /* under mpirun: rank 0 hands the trials to the other ranks */
} Sess;

static Status lock_dir(const char *dir, int *fd, Diag *d) {
  char p[4200];
  snprintf(p, sizeof p, "%s/.lock", dir);
  *fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (*fd < 0) return diag_error(d, (SrcLoc){0}, "cannot create '%s': %s", p, strerror(errno)), JS_EIO;
  if (flock(*fd, LOCK_EX | LOCK_NB) != 0)
    return diag_error(d, (SrcLoc){0}, "'%s' is being written by another jscc process (its lock is held)", dir);
  return JS_OK;
}

/* The config's [search] tables, the command line over them, the space from the model. */
static int prepare(Sess *x, Diag *d, Status *st) {
  if ((*st = fe_config_read(x->a.config, &x->cfg, d))) return exit_of(*st, d);
  if ((*st = exp_search_new(&x->s, d))) return exit_of(*st, d);
  if ((*st = exp_search_read(x->s, fe_config_root(x->cfg), cfg_loc, x->cfg, d))) return exit_of(*st, d);
  int code = apply_args(x->s, &x->a);
  if (code >= 0) return code;
  const Value *seed = cfg_lookup(fe_config_root(x->cfg), "seed");
  x->seed = x->a.have_seed ? (uint64_t)x->a.seed : seed && seed->kind == VAL_INT && seed->u.i >= 0 ? (uint64_t)seed->u.i : 0;
  if ((*st = model_load(&x->m, x->a.model_path, x->a.model, NULL, d))) return exit_of(*st, d);
  if ((*st = exp_search_space(x->s, x->m.fwd, d))) return exit_of(*st, d);
  return -1;
}

/* The float checkpoint's accuracy and costs: the reference every trial is compared with. */
static Status reference(Sess *x, Diag *d) {
  RtTestConfig t;
  RtEvalResult ev;
  RtDataset ds = x->data;
  if (x->s->scoring == EXP_SCORE_PTQ && x->s->num_samples > 0 && ds.val.n > x->s->num_samples) ds.val.n = x->s->num_samples;
  rt_test_config_default(&t);
  t.fwd = x->m.fwd, t.train = x->m.train, t.ckpt = x->a.ckpt, t.dataset = &ds, t.batch_size = x->a.batch;
  t.engine = x->a.engine, t.kernels = x->ks, t.kernel_cache = x->a.data.no_cache ? NULL : x->kdir, t.split = RT_SPLIT_VAL;
  for (int m = 0; m < EXP_NMETRICS; m++) x->ref.metric[m] = NAN;
  Status st = rt_test(&t, &ev, d);
  if (!st) x->ref.metric[EXP_M_ACCURACY] = ev.acc, x->ref.metric[EXP_M_LOSS] = ev.loss, t.split = RT_SPLIT_TEST;
  if (!st && !(st = rt_test(&t, &ev, d))) x->ref.test_acc = ev.acc;
  RtState *state = NULL;
  RtPassData *pd = NULL;
  if (!st && !(st = rt_state_new(x->m.fwd, &state, d)) && !(st = rt_ckpt_load(x->a.ckpt, state, d)))
    st = rt_pass_data_new(state, NULL, "val", &pd, d);
  if (!st) st = exp_search_costs(x->s, x->m.fwd, rt_pass_data_get(pd), x->ref.metric, d);
  rt_pass_data_free(pd);
  rt_state_free(state);
  return st;
}

static char *default_dir(Sess *x) {
  char when[32];
  time_t t = time(NULL);
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(when, sizeof when, "%Y%m%d-%H%M%S", &tm);
  return arena_printf(x->ar, "searches/%s-%s-%s", x->m.fwd->name, exp_sampler_name(x->s->sampler), when);
}

/* A new search's directory and search.json, or a resumed one's checks. */
static Status start(Sess *x, const JVal *resumed, Diag *d) {
  uint64_t h[3];
  Status st = hashes(&x->a, h, d);
  if (st) return st;
  x->dir = x->a.out ? x->a.out : default_dir(x);
  char p[4200];
  snprintf(p, sizeof p, "%s/search.json", x->dir);
  if (!resumed && access(p, F_OK) == 0)
    return diag_error(d, (SrcLoc){0}, "'%s' holds a search already: continue it with jscc search --resume %s, or choose "
                      "another --out", x->dir, x->dir);
  if (!ir_mkdir_p(x->dir, 0777)) return diag_error(d, (SrcLoc){0}, "cannot create '%s': %s", x->dir, strerror(errno)), JS_EIO;
  if ((st = lock_dir(x->dir, &x->lock, d))) return st;
  if (resumed) {
    read_ref(resumed, &x->ref);
    return check_hashes(resumed, &x->a, x->dir, h, d);
  }
  if ((st = reference(x, d))) return st;
  return write_json(&x->a, x->s, x->dir, h, &x->ref, d);
}

static void print_front(const Sess *x, const ExpSearchTrial *t, int n) {
  bool *on = ir_calloc((size_t)(n ? n : 1), sizeof *on);
  Diag q;
  diag_init(&q, NULL);
  if (!on || exp_search_front(x->s, t, n, on, &q)) n = 0;
  int m = 0;
  for (int i = 0; i < n; i++) m += on[i];
  printf("\nPareto front (%d of %d trials):\n  trial", m, n);
  for (int k = 0; k < x->s->nobj; k++) printf("  %16s", exp_metric_name(x->s->obj[k].metric));
  printf("  %9s\n", "test_acc");
  printf("  float");
  for (int k = 0; k < x->s->nobj; k++) printf("  %16.6g", x->ref.metric[x->s->obj[k].metric]);
  printf("  %9.4f\n", x->ref.test_acc);
  for (int i = 0; i < n; i++) {
    if (!on[i]) continue;
    printf("  %5d", t[i].id);
    for (int k = 0; k < x->s->nobj; k++) printf("  %16.6g", t[i].metric[x->s->obj[k].metric]);
    printf("  %9.4f\n", t[i].test_acc);
  }
  const double **mv = ir_malloc(sizeof *mv * (size_t)(n ? n : 1));
  bool *okv = ir_malloc((size_t)(n ? n : 1));
  ExpMetric obj[EXP_NMETRICS];
  bool mx[EXP_NMETRICS];
  for (int k = 0; k < x->s->nobj; k++) obj[k] = x->s->obj[k].metric, mx[k] = x->s->obj[k].maximize;
  for (int i = 0; mv && okv && i < n; i++) mv[i] = t[i].metric, okv[i] = t[i].status == EXP_OK;
  if (m && mv && okv && !x->s->sum_scaled)
    printf("hypervolume: %.6g (objectives unscaled, from the worst point: spec/search.md)\n",
           exp_search_hypervolume(x->s->nobj, obj, mx, mv, okv, on, n, x->ref.metric));
  ir_free(mv), ir_free(okv);
  printf("front configs: %s/front/ (front.csv lists them)\n", x->dir);
  diag_free(&q);
  ir_free(on);
}

/* What every trial shares: data, batch size, engine, kernels, QAT's optimizer and schedule. */
static void run_config(Sess *x, Ctx *c, ExpSearchRun *r) {
  *c = (Ctx){&x->a, x->s, x->a.quiet, exp_search_nobj(x->s), x->ks};
  *r = (ExpSearchRun){.s = x->s, .dir = x->dir, .ckpt = x->a.ckpt, .seed = x->seed, .jobs = x->s->jobs, .mpi = x->mpi};
  if (x->mpi) r->jobs = exp_mpi_size(x->mpi) - 1; /* one trial per other rank */
  rt_train_config_default(&r->base);
  r->base.dataset = &x->data, r->base.batch_size = x->a.batch, r->base.engine = x->a.engine, r->base.kernels = x->ks;
  r->base.kernel_cache = x->a.data.no_cache ? NULL : x->kdir, r->base.seed = x->seed, r->base.model_path = x->a.model_path;
  r->base.model_hash = rt_hash64(x->m.src->text, x->m.src->len);
  rt_optim_default(&r->base.optim, x->s->optimizer);
  r->base.optim.lr = x->s->lr, r->base.optim.weight_decay = x->s->weight_decay;
  r->base.sched.kind = x->s->sched, r->base.sched.t_max = x->s->epochs;
  if (x->s->batch_size) r->base.batch_size = x->s->batch_size;
  r->base.argc = x->a.argc, r->base.argv = x->a.argv, r->base.config_path = x->a.config;
  r->hooks = (ExpSearchHooks){load_model, unload_model, on_score, c};
}

static Status run(Sess *x, Diag *d) {
  Ctx c;
  ExpSearchRun r;
  run_config(x, &c, &r);
  printf("search: %d parameters, %lld configurations; %s sampler, %d trials, %s scoring%s; in %s", x->s->nparams,
         (long long)exp_search_size(x->s), exp_sampler_name(x->s->sampler), x->s->n_trials,
         x->s->scoring == EXP_SCORE_QAT ? "QAT" : "PTQ", x->s->asha ? " with ASHA" : "", x->dir);
  if (x->mpi) printf(" (%d MPI ranks score the trials)", r.jobs);
  printf("\n");
  fflush(stdout);
  ExpSearchTrial *t;
  int n;
  Status st = exp_search_run(&r, &t, &n, d);
  if (!st) print_front(x, t, n);
  return st;
}

/* The config, model and space, the data and the kernel set. */
static int load_all(Sess *x, Diag *d, Status *st) {
  int code = prepare(x, d, st);
  if (code >= 0) return code;
  *st = rt_data_load(&x->a.data, &x->data, d);
  x->have_data = !*st;
  if (!*st) printf("data: %s; train %lld, val %lld, test %lld rows\n", x->data.desc, (long long)x->data.train.n,
                   (long long)x->data.val.n, (long long)x->data.test.n);
  kernel_cache_dir(&x->a.data, x->kdir, sizeof x->kdir);
  if (!*st) *st = rt_kernel_set_new(&x->ks, d);
  return *st ? exit_of(*st, d) : -1;
}

static int search_main(Sess *x, const JVal *resumed, Diag *d) {
  Status st = JS_OK;
  int code = load_all(x, d, &st);
  if (code >= 0) return code;
  st = start(x, resumed, d);
  if (!st) st = run(x, d);
  if (!st && !x->a.no_report) {
    const char *dirs[] = {x->dir};
    ExpReportOpts ro;
    exp_report_opts_default(&ro);
    if (!(st = exp_report(dirs, 1, &ro, d))) printf("report: %s/report.html\n", x->dir);
  }
  return exit_of(st, d);
}

/* --resume DIR: the search's own command line from DIR/search.json (--jobs and --quiet may
 * be given again). */
static int resume_args(Sess *x, const SearchArgs *now, JVal *root, Diag *d) {
  Status st = read_json(x->ar, now->resume, root, d);
  if (st) return exit_of(st, d);
  const JVal *av = json_get(root, "argv"), *cwd = json_get(root, "cwd");
  char *dir = realpath(now->resume, NULL); /* the paths in argv are relative to the search's cwd */
  if (!dir) return exit_of(diag_error(d, (SrcLoc){0}, "cannot read '%s': %s", now->resume, strerror(errno)), d);
  char *out = arena_strdup(x->ar, dir);
  free(dir);
  if (!cwd || cwd->kind != J_STR || chdir(cwd->str) != 0)
    return exit_of(diag_error(d, (SrcLoc){0}, "%s/search.json: 'cwd': the directory the search ran in (%s) is gone", now->resume,
                              cwd && cwd->kind == J_STR ? cwd->str : "not recorded"), d);
  char **argv = arena_alloc(x->ar, sizeof *argv * (size_t)(av->n + 3));
  if (!argv) return exit_of(diag_oom(d), d);
  int n = 0;
  for (int i = 0; i < av->n; i++) argv[n++] = (char *)av->items[i].str;
  int code = search_args_parse(n, argv, &x->a);
  if (code >= 0) return code;
  x->a.out = out;
  if (now->jobs) x->a.jobs = now->jobs;
  x->a.quiet = x->a.quiet || now->quiet;
  return -1;
}

/* A rank other than 0 under mpirun: the search rank 0 names, read from its search.json as
 * --resume reads it, then the trials rank 0 hands out.  Rank 0 speaks for the search, so
 * this rank's stdout is dropped; errors still show. */
static int search_worker(Sess *x, Diag *d) {
  char *dir = NULL;
  if (!freopen("/dev/null", "w", stdout)) diag_note(d, (SrcLoc){0}, "rank %d: cannot drop its output", exp_mpi_rank(x->mpi));
  Status st = exp_mpi_search_wait_start(x->mpi, &dir, d);
  if (st || !dir) return exit_of(st, d); /* rank 0 stopped first (and says why) */
  SearchArgs now = {.resume = dir};
  JVal root;
  int code = resume_args(x, &now, &root, d);
  if (code < 0) code = load_all(x, d, &st);
  if (code < 0) {
    Ctx c;
    ExpSearchRun r;
    x->dir = x->a.out;
    run_config(x, &c, &r);
    code = exit_of(exp_search_work(&r, d), d);
  }
  ir_free(dir);
  return code;
}

static int search_cmd(Sess *x, int argc, char **argv, Diag *d) {
  SearchArgs now;
  int code = search_args_parse(argc, argv, &now);
  if (code >= 0) return code;
  JVal root;
  if (now.resume) code = resume_args(x, &now, &root, d);
  else x->a = now;
  return code < 0 ? search_main(x, now.resume ? &root : NULL, d) : code;
}

int cmd_search(int argc, char **argv) {
  Sess x = {.lock = -1};
  Diag d;
  diag_init(&d, stderr);
  int code = -1;
  Status st = JS_OK;
  if (!(x.ar = arena_new())) code = exit_of(diag_oom(&d), &d);
  else if (mpi_launched() && (st = exp_mpi_init(&x.mpi, &d))) code = exit_of(st, &d);
  if (code < 0) code = exp_mpi_rank(x.mpi) > 0 ? search_worker(&x, &d) : search_cmd(&x, argc, argv, &d);
  fflush(stdout);
  if (x.lock >= 0) close(x.lock);
  rt_kernel_set_free(x.ks);
  if (x.have_data) rt_data_free(&x.data);
  model_free(&x.m);
  exp_search_free(x.s);
  fe_config_free(x.cfg);
  exp_mpi_end(x.mpi);
  arena_free(x.ar);
  diag_free(&d);
  return code;
}
