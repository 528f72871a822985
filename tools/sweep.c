/* tools/sweep.c — jscc sweep: many training runs from one command line, on every core.
 *
 * Any `jscc train` option given a comma list or a lin:/log: range is an axis (exp/sweep.c);
 * a config file's [sweep] table says the same.  Every trial is a `jscc train` command line,
 * parsed here by train's own parser (tools/train.c), so that a trial is exactly the run that
 * command makes.  Models, data and compiled kernels are loaded once and shared by the
 * trials (exp/runner.c runs them on threads).  The sweep directory is locked while a process
 * writes it; `--resume DIR` reads its sweep.json and journal and runs what is missing. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "exp.h"
#include "frontend.h"

static void sweep_usage(FILE *f) {
  fputs("usage: jscc sweep MODEL.jsc [MODEL2.jsc ...] [train options] [sweep options]\n"
        "       jscc sweep --resume DIR [--jobs N]\n"
        "\n"
        "Trains every combination of the values given: any `jscc train` option with a comma\n"
        "list (--batch-size 64,256,1024 --lr 1e-5,1e-3) or a range (--lr log:1e-6:1e-2:5,\n"
        "--max-epochs lin:5:25:5: FROM, TO and COUNT, ends included) is an axis; the trials\n"
        "are the product of the axes, for each model.  Each trial is a `jscc train` run in\n"
        "DIR/trials/NNN-<values>/; DIR/journal.jsonl records every epoch and result and is\n"
        "the only source of truth; DIR/results.csv has one row per trial (spec/sweep.md).\n"
        "\n"
        "sweep options:\n"
        "  --out DIR              the sweep directory (default runs/sweep-MODEL-YYYYmmdd-HHMMSS)\n"
        "  --jobs N               trials at a time, each on a thread (default: every core)\n"
        "  --random N             N points drawn from the axes instead of the grid: from a\n"
        "                         list, or uniform between a range's ends (log-uniform for\n"
        "                         --lr, --weight-decay, --eta-min and log: ranges)\n"
        "  --sweep-seed N         the generator of --random (default 0)\n"
        "  --seed A,B,...         repeat every point with each seed (an axis like the others)\n"
        "  --repeat K             the same with seeds S..S+K-1 (S: --seed, default 0)\n"
        "  --keep best|all|none   the checkpoints each trial keeps (default best)\n"
        "  --metric NAME          what the report ranks by (default val_acc)\n"
        "  --no-report            no report.html (by default it is written at the end and\n"
        "                         refreshed as trials finish; jscc report DIR writes it later)\n"
        "  --tensorboard DIR      TensorBoard event files, DIR/<trial>/: per-epoch scalars\n"
        "                         (MASE's names) and the HParams tab\n"
        "  --config FILE          a config with a [sweep] table (spec/config.md); it is also\n"
        "                         each trial's --config, so its [passes] and training keys apply\n"
        "  --resume DIR           run what the sweep in DIR has not finished\n"
        "  --shard I/N            run trials I, I+N, I+2N, ... only (0 <= I < N): one shard of\n"
        "                         a Slurm job array; every shard writes its own journal into\n"
        "                         the same --out, and results.csv merges them\n"
        "  -h, --help             print this help\n"
        "\n"
        "Not allowed in a sweep: --out/--resume of train (each trial has its own directory),\n"
        "--dump-*, --quiet.\n"
        "\n"
        "Exit status: 0 the sweep ran (trials may have failed or diverged: see results.csv),\n"
        "1 an error in the input or the sweep directory, 2 bad usage.\n",
        f);
}

/* ==== the command line ==== */

/* One option as the sweep got it: from the command line or the [sweep] table. */
typedef struct Entry {
  const char *option;   /* "--lr" */
  const char *text;     /* its value ("1e-3,1e-2"), NULL for a flag */
  SrcLoc loc;           /* in the config, for messages */
} Entry;

typedef struct SweepArgs {
  Arena *a;
  const char *models[64];
  int nmodels;
  Entry e[128];         /* train options, in order; a later one replaces an earlier one */
  int ne;
  const char *out, *resume, *config, *metric, *tensorboard;
  int64_t jobs, random, repeat, sweep_seed;
  int64_t shard_i, shard_n;   /* --shard I/N (shard_n 0: all trials) */
  ExpKeep keep;
  bool report;          /* write report.html (--no-report: not) */
  int cli_models;       /* models named on the command line */
  ExpMpi *mpi;          /* under mpirun with several ranks: the trials go to the others */
} SweepArgs;

/* What kind of value a train option takes. */
static unsigned option_flags(const char *opt) {
  static const char *const ints[] = {"--batch-size", "--max-epochs", "--seed", "--t-max", "--step-size", "--synth-n"};
  static const char *const reals[] = {"--lr", "--weight-decay", "--momentum", "--eta-min", "--gamma"};
  for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
    if (strcmp(opt, ints[i]) == 0) return EXP_OPT_INT;
  for (size_t i = 0; i < sizeof reals / sizeof *reals; i++)
    if (strcmp(opt, reals[i]) == 0)
      return EXP_OPT_REAL | (strcmp(opt, "--momentum") && strcmp(opt, "--gamma") ? EXP_OPT_RATE : 0);
  return 0;
}

/* Options whose values hold commas of their own: never split into an axis. */
static bool never_axis(const char *opt) {
  return strcmp(opt, "--passes") == 0 || strcmp(opt, "--config") == 0;
}

static Status put_entry(SweepArgs *sa, const char *opt, const char *text, SrcLoc loc, Diag *d) {
  for (int i = 0; i < sa->ne; i++)
    if (strcmp(sa->e[i].option, opt) == 0) {
      sa->e[i].text = text, sa->e[i].loc = loc;
      return JS_OK;
    }
  if (sa->ne == (int)(sizeof sa->e / sizeof *sa->e)) return diag_error(d, loc, "too many options");
  sa->e[sa->ne++] = (Entry){opt, text, loc};
  return JS_OK;
}

/* The train option `name` (without dashes): whether it exists, takes a value, and may be
 * swept. */
static int train_option(const char *name, const char **why) {
  static const char *const banned[] = {"out", "resume", "dump-plan", "dump-llvm", "dump-cuda", "quiet", "help"};
  *why = NULL;
  for (size_t i = 0; i < sizeof banned / sizeof *banned; i++)
    if (strcmp(name, banned[i]) == 0) *why = "is not allowed in a sweep (each trial has its own run directory)";
  for (const struct option *o = train_options(); o->name; o++)
    if (strcmp(o->name, name) == 0) return o->has_arg == required_argument ? 2 : 1;
  return 0;
}

static int sweep_int(const char *opt, const char *v, int64_t lo, int64_t hi, int64_t *out) {
  if (parse_int_opt(v, lo, hi, out)) return -1;
  return sub_usage_error("sweep", "%s: expected a whole number from %lld to %lld, got '%s'", opt, (long long)lo,
                         (long long)hi, v);
}

static int sweep_keep(const char *v, ExpKeep *out) {
  static const char *const names[] = {"best", "all", "none"};
  for (int i = 0; i < 3; i++)
    if (strcmp(v, names[i]) == 0) {
      *out = (ExpKeep)i;
      return -1;
    }
  return bad_name("sweep", "--keep value", v, names, 3);
}

/* --shard I/N, 0 <= I < N. */
static int sweep_shard(const char *v, SweepArgs *sa) {
  long long i, n;
  char tail;
  if (sscanf(v, "%lld/%lld%c", &i, &n, &tail) != 2 || n < 1 || n > 100000 || i < 0 || i >= n)
    return sub_usage_error("sweep", "--shard: expected I/N with 0 <= I < N (this process runs trials I, I+N, ...), got '%s'", v);
  sa->shard_i = i;
  sa->shard_n = n;
  return -1;
}

/* The sweep's own options; 0 when `name` is not one. */
static int sweep_own(SweepArgs *sa, const char *name, const char *v) {
  if (strcmp(name, "out") == 0) return sa->out = v, -1;
  if (strcmp(name, "resume") == 0) return sa->resume = v, -1;
  if (strcmp(name, "metric") == 0) {
    ExpCol col;
    if (!exp_metric_parse(v, &col)) return sub_usage_error("sweep", "--metric: unknown metric '%s' (as results.csv's columns: val_acc, test_acc, best_val_loss, ...)", v);
    return sa->metric = v, -1;
  }
  if (strcmp(name, "config") == 0) return sa->config = v, -1;
  if (strcmp(name, "tensorboard") == 0) return sa->tensorboard = v, -1;
  if (strcmp(name, "jobs") == 0) return sweep_int("--jobs", v, 1, 1024, &sa->jobs);
  if (strcmp(name, "random") == 0) return sweep_int("--random", v, 1, EXP_MAX_TRIALS, &sa->random);
  if (strcmp(name, "repeat") == 0) return sweep_int("--repeat", v, 1, 1000, &sa->repeat);
  if (strcmp(name, "sweep-seed") == 0) return sweep_int("--sweep-seed", v, 0, INT64_MAX, &sa->sweep_seed);
  if (strcmp(name, "keep") == 0) return sweep_keep(v, &sa->keep);
  if (strcmp(name, "shard") == 0) return sweep_shard(v, sa);
  if (strcmp(name, "no-report") == 0) return sa->report = false, -1;
  return 0;
}

static bool sweep_own_name(const char *name) {
  static const char *const own[] = {"out", "resume", "metric", "config", "jobs", "random", "repeat", "sweep-seed",
                                    "keep", "tensorboard", "shard", "no-report"};
  for (size_t i = 0; i < sizeof own / sizeof *own; i++)
    if (strcmp(name, own[i]) == 0) return true;
  return false;
}

/* One "--name[=value]" at argv[*i]; -1 when taken. */
static int sweep_arg(SweepArgs *sa, int argc, char **argv, int *i, Diag *d) {
  const char *arg = argv[*i] + 2, *eq = strchr(arg, '=');
  char *name = eq ? arena_strndup(sa->a, arg, (size_t)(eq - arg)) : (char *)arg;
  const char *why = NULL;
  if (strcmp(name, "help") == 0) return sweep_usage(stdout), 0;
  int kind = strcmp(name, "no-report") == 0 ? 1 : sweep_own_name(name) ? 2 : train_option(name, &why);
  if (!kind) return sub_usage_error("sweep", "unknown option '--%s' (not a sweep or train option)", name);
  if (why) return sub_usage_error("sweep", "--%s %s", name, why);
  const char *v = eq ? eq + 1 : NULL;
  if (kind == 2 && !v) {
    if (*i + 1 >= argc) return sub_usage_error("sweep", "option '--%s' needs a value", name);
    v = argv[++*i];
  }
  if (kind == 1 && v) return sub_usage_error("sweep", "option '--%s' takes no value", name);
  int own = sweep_own(sa, name, v);
  if (own) return own;
  return put_entry(sa, arena_printf(sa->a, "--%s", name), v, (SrcLoc){0}, d) ? EXIT_INPUT : -1;
}

static int sweep_args_parse(int argc, char **argv, SweepArgs *sa, Diag *d) {
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] != '-' || !argv[i][1]) {
      if (!sa->cli_models++) sa->nmodels = 0; /* the command line's models replace the config's */
      if (sa->nmodels == (int)(sizeof sa->models / sizeof *sa->models))
        return sub_usage_error("sweep", "too many models");
      sa->models[sa->nmodels++] = argv[i];
      continue;
    }
    if (strcmp(argv[i], "-h") == 0) return sweep_usage(stdout), 0;
    if (argv[i][1] != '-') return sub_usage_error("sweep", "unknown option '%s'", argv[i]);
    int code = sweep_arg(sa, argc, argv, &i, d);
    if (code >= 0) return code;
  }
  return -1;
}

/* ==== the [sweep] table of a config ==== */

/* A config value as option text: a list joined by commas, a scalar as written. */
static char *value_text(Arena *a, const Value *v, bool *bad) {
  StrBuf sb;
  sb_init(&sb);
  int n = v->kind == VAL_LIST ? v->u.seq.n : 1;
  for (int i = 0; i < n; i++) {
    const Value *x = v->kind == VAL_LIST ? &v->u.seq.items[i] : v;
    if (i) sb_putc(&sb, ',');
    if (x->kind == VAL_STR && !strchr(x->u.s, ','))
      sb_puts(&sb, x->u.s);
    else if (x->kind == VAL_INT)
      sb_printf(&sb, "%lld", (long long)x->u.i);
    else if (x->kind == VAL_FLOAT)
      sb_put_float(&sb, x->u.f); /* the shortest text that reads back: 1e-06, 0.001 */
    else if (x->kind == VAL_BOOL)
      sb_puts(&sb, x->u.b ? "true" : "false");
    else
      *bad = true;
  }
  char *s = sb.oom ? NULL : arena_strdup(a, sb_str(&sb));
  sb_free(&sb);
  return s;
}

/* One key of [sweep]: models, a sweep option or a train option (as on the command line,
 * with '_' or '-'). */
static Status config_key(SweepArgs *sa, const FeConfig *cfg, const char *key, const Value *v, Diag *d) {
  char path[256], name[128];
  snprintf(path, sizeof path, "sweep.%s", key);
  SrcLoc loc = fe_config_loc(cfg, path);
  size_t k = 0;
  for (; key[k] && k + 1 < sizeof name; k++) name[k] = key[k] == '_' ? '-' : key[k];
  name[k] = 0;
  bool bad = false;
  char *text = value_text(sa->a, v, &bad);
  if (!text) return diag_oom(d);
  if (strcmp(key, "models") == 0) {
    if (v->kind != VAL_LIST || bad) return diag_error(d, loc, "sweep.models: expected a list of model files");
    for (int i = 0; i < v->u.seq.n && sa->nmodels < 64; i++) sa->models[sa->nmodels++] = v->u.seq.items[i].u.s;
    return JS_OK;
  }
  const char *why = NULL;
  int kind = sweep_own_name(name) ? 3 : train_option(name, &why);
  if (!kind || (kind < 3 && why))
    return diag_error(d, loc, "sweep.%s: %s", key, kind ? why : "not a sweep or train option");
  if (bad) return diag_error(d, loc, "sweep.%s: expected numbers, strings without commas, or a list of them", key);
  if (kind == 1 && !(v->kind == VAL_BOOL && v->u.b)) return diag_error(d, loc, "sweep.%s: a flag takes true", key);
  if (kind == 3) {
    int code = sweep_own(sa, name, text);
    return code >= 0 ? JS_EUSAGE : JS_OK;
  }
  return put_entry(sa, arena_printf(sa->a, "--%s", name), kind == 1 ? NULL : text, loc, d);
}

/* The [sweep] table; the command line, read afterwards, overrides it. */
static Status read_config(SweepArgs *sa, const char *path, FeConfig **cfg, Diag *d) {
  Status st = fe_config_read(path, cfg, d);
  if (st) return st;
  const Value *sw = cfg_lookup(fe_config_root(*cfg), "sweep");
  if (!sw || sw->kind != VAL_DICT) {
    SrcFile f = {.path = path};
    return diag_error(d, (SrcLoc){&f, 0, 0}, "no [sweep] table: nothing to sweep (spec/config.md)");
  }
  for (int i = 0; !st && i < sw->u.dict.n; i++) st = config_key(sa, *cfg, sw->u.dict.keys[i], &sw->u.dict.vals[i], d);
  return st;
}

/* ==== the sweep from the arguments ==== */

/* Axes and shared options from the entries; the seed axis last, so repeats sit together. */
static Status build_axes(ExpSweep *sw, const SweepArgs *sa, Diag *d) {
  int nfixed = 0;
  sw->fixed = arena_alloc(sw->a, (size_t)(2 * sa->ne + 4) * sizeof *sw->fixed);
  if (!sw->fixed) return diag_oom(d);
  const Entry *seed = NULL;
  for (int i = 0; i < sa->ne; i++) {
    const Entry *e = &sa->e[i];
    if (strcmp(e->option, "--seed") == 0 && (seed = e)) continue;
    bool axis = false;
    Status st = e->text && !never_axis(e->option) ? exp_axis_parse(sw, e->option, e->text, option_flags(e->option), &axis, d)
                                                  : JS_OK;
    if (st) return st;
    if (axis) continue;
    sw->fixed[nfixed++] = (char *)e->option;
    if (e->text) sw->fixed[nfixed++] = (char *)e->text;
  }
  if (sa->config) sw->fixed[nfixed++] = "--config", sw->fixed[nfixed++] = (char *)sa->config;
  sw->nfixed = nfixed;
  const char *seeds = seed ? seed->text : NULL;
  if (sa->repeat) {
    int64_t base = 0;
    if (seeds && !parse_int_opt(seeds, 0, INT64_MAX - 1000, &base))
      return diag_error(d, (SrcLoc){0}, "--repeat counts from one --seed, not from '%s'", seeds);
    if (!(seeds = arena_printf(sw->a, "lin:%lld:%lld:%lld", (long long)base, (long long)(base + sa->repeat - 1),
                               (long long)sa->repeat)))
      return diag_oom(d);
  }
  bool axis = false;
  if (seeds) {
    Status st = exp_axis_parse(sw, "--seed", seeds, EXP_OPT_INT, &axis, d);
    if (st) return st;
    if (!axis) sw->fixed[sw->nfixed++] = "--seed", sw->fixed[sw->nfixed++] = (char *)seeds;
  }
  return JS_OK;
}

/* The command line as one string, for sweep.json (without --shard, which every shard of
 * one sweep gives differently). */
static char *joined(Arena *a, int argc, char **argv, bool drop_shard) {
  StrBuf sb;
  sb_init(&sb);
  for (int i = 0; i < argc; i++) {
    if (drop_shard && strncmp(argv[i], "--shard", 7) == 0) {
      i += argv[i][7] == '=' ? 0 : 1;
      continue;
    }
    if (i) sb_putc(&sb, ' ');
    bool plain = *argv[i] && !strpbrk(argv[i], " \t\n'\"\\$`*?;&|<>(){}[]!#~");
    if (plain) {
      sb_puts(&sb, argv[i]);
      continue;
    }
    sb_putc(&sb, '\'');
    for (const char *p = argv[i]; *p; p++) *p == '\'' ? sb_puts(&sb, "'\\''") : sb_putc(&sb, *p);
    sb_putc(&sb, '\'');
  }
  char *s = sb.oom ? NULL : arena_strdup(a, sb_str(&sb));
  sb_free(&sb);
  return s;
}

/* The models' names and hashes, from the files. */
static Status name_models(ExpSweep *sw, Diag *d) {
  for (int i = 0; i < sw->nmodels; i++) {
    ExpModel *m = &sw->models[i];
    SrcFile *src;
    Program *prog = NULL;
    Status st = diag_read_file(sw->a, m->path, &src, d);
    if (!st) st = parse_program(src, &prog, d);
    if (!st) {
      m->hash = rt_hash64(src->text, src->len);
      m->name = arena_strdup(sw->a, prog->ngraphs ? prog->graphs[0]->name : "model");
    }
    ir_program_free(prog);
    if (st) return st;
  }
  return JS_OK;
}

static Status build_sweep(const SweepArgs *sa, int argc, char **argv, ExpSweep **out, Diag *d) {
  ExpSweep *sw;
  Status st = exp_sweep_new(&sw, d);
  if (st) return st;
  *out = sw;
  sw->command = joined(sw->a, argc + 1, argv - 1, sa->shard_n > 0);
  sw->metric = arena_strdup(sw->a, sa->metric ? sa->metric : "val_acc");
  sw->nmodels = sa->nmodels;
  if (!(sw->models = arena_alloc(sw->a, (size_t)sa->nmodels * sizeof *sw->models))) return diag_oom(d);
  for (int i = 0; i < sa->nmodels; i++) sw->models[i].path = arena_strdup(sw->a, sa->models[i]);
  if ((st = name_models(sw, d))) return st;
  if ((st = build_axes(sw, sa, d))) return st;
  if (!sw->naxes && !sa->random)
    diag_note(d, (SrcLoc){0}, "no option has several values: the sweep is %d single run%s", sw->nmodels,
              sw->nmodels == 1 ? "" : "s");
  return exp_sweep_expand(sw, (int)sa->random, (uint64_t)sa->sweep_seed, d);
}

/* ==== preparing the trials ==== */

/* What the trials share: models (one per file, --model, pipeline and config), data sets (one
 * per data option set) and the compiled kernels. */
typedef struct Shared {
  Model models[64];
  const char *mkey[64];
  int nmodels;
  RtDataset data[8];
  RtDataOpts dkey[8];
  int ndata;
  RtKernelSet *ks;
  Arena *a;
  char kdir[4096];    /* the kernel cache (of the first trial's data options) */
  const char *kcache; /* kdir, or NULL: --no-cache */
  bool kcache_set;
} Shared;

static Status shared_model(Shared *sh, const TrainArgs *ta, const Pipeline *pl, Model **out, Diag *d) {
  const char *key = arena_printf(sh->a, "%s\n%s\n%s\n%s", ta->c.model_path, ta->model ? ta->model : "",
                                 ta->passes ? ta->passes : "", ta->config ? ta->config : "");
  if (!key) return diag_oom(d);
  for (int i = 0; i < sh->nmodels; i++)
    if (strcmp(sh->mkey[i], key) == 0) return *out = &sh->models[i], JS_OK;
  if (sh->nmodels == 64) return diag_error(d, (SrcLoc){0}, "more than 64 distinct models and pipelines in one sweep");
  Model *m = &sh->models[sh->nmodels];
  Status st = model_load(m, ta->c.model_path, ta->model, pl, d);
  sh->mkey[sh->nmodels++] = key;
  *out = m;
  return st;
}

static bool same_data(const RtDataOpts *a, const RtDataOpts *b) {
  bool path = a->path == b->path || (a->path && b->path && strcmp(a->path, b->path) == 0);
  return path && a->synth_n == b->synth_n && a->synth_seed == b->synth_seed && a->split_seed == b->split_seed &&
         a->test_frac == b->test_frac && a->val_frac == b->val_frac;
}

static Status shared_data(Shared *sh, const RtDataOpts *o, const RtDataset **out, Diag *d) {
  for (int i = 0; i < sh->ndata; i++)
    if (same_data(&sh->dkey[i], o)) return *out = &sh->data[i], JS_OK;
  if (sh->ndata == 8) return diag_error(d, (SrcLoc){0}, "more than 8 data sets in one sweep");
  Status st = rt_data_load(o, &sh->data[sh->ndata], d);
  if (st) return st;
  RtDataset *ds = &sh->data[sh->ndata];
  sh->dkey[sh->ndata++] = *o;
  printf("data: %s%s; train %lld, val %lld, test %lld rows\n", ds->synthetic && !strstr(ds->desc, "SYNTHETIC") ?
         "SYNTHETIC: " : "", ds->desc, (long long)ds->train.n, (long long)ds->val.n, (long long)ds->test.n);
  *out = ds;
  return JS_OK;
}

static void shared_free(Shared *sh) {
  for (int i = 0; i < sh->nmodels; i++) model_free(&sh->models[i]);
  for (int i = 0; i < sh->ndata; i++) rt_data_free(&sh->data[i]);
  rt_kernel_set_free(sh->ks);
  arena_free(sh->a);
}

/* Trial t's configuration from its command line, through train's own parser.  A trial that
 * does not parse stops the sweep before anything runs. */
static int prepare_trial(const ExpSweep *sw, int t, Shared *sh, RtTrainConfig *c, Diag *d) {
  const ExpTrial *tr = &sw->trials[t];
  TrainArgs ta;
  int code = train_args_parse(tr->argc - 1, tr->argv + 1, &ta);
  PipeSrc ps = {0};
  Status st = JS_OK;
  if (code < 0) code = train_args_resolve(&ta, &ps, d, &st);
  Model *m = NULL;
  const RtDataset *ds = NULL;
  if (code < 0 && ((st = shared_model(sh, &ta, ps.pl, &m, d)) || (st = shared_data(sh, &ta.c.data, &ds, d))))
    code = exit_of(st, d);
  pipe_free(&ps);
  if (code >= 0) {
    fprintf(stderr, "jscc sweep: trial %d cannot run: %s\n", t, joined(sh->a, tr->argc, tr->argv, false));
    return code;
  }
  *c = ta.c;
  c->fwd = m->fwd;
  c->train = m->train;
  c->model_hash = rt_hash64(m->src->text, m->src->len);
  c->dataset = ds;
  c->kernels = sh->ks;
  if (!sh->kcache_set) sh->kcache = kernel_cache_dir(&c->data, sh->kdir, sizeof sh->kdir), sh->kcache_set = true;
  c->kernel_cache = sh->kcache;
  if (tuning_set(&ta.tuning)) { /* a trial's own kernels: the kernel set keys them apart */
    CgTuning *tu = arena_alloc(sh->a, sizeof *tu);
    if (!tu) return exit_of(diag_oom(d), d);
    *tu = ta.tuning;
    c->tuning = tu;
  }
  c->argc = tr->argc;
  c->argv = tr->argv;
  return -1;
}

/* ==== running ==== */

/* The sweep directory (or one shard of it), held for as long as this process writes it. */
static Status lock_dir(const char *dir, const SweepArgs *sa, int *fd, Diag *d) {
  char p[4096];
  if (sa->shard_n)
    snprintf(p, sizeof p, "%s/.lock-shard-%lld-of-%lld", dir, (long long)sa->shard_i, (long long)sa->shard_n);
  else
    snprintf(p, sizeof p, "%s/.lock", dir);
  *fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (*fd < 0) return diag_error(d, (SrcLoc){0}, "cannot create '%s': %s", p, strerror(errno));
  if (flock(*fd, LOCK_EX | LOCK_NB) != 0)
    return diag_error(d, (SrcLoc){0}, "'%s' is being written by another jscc process (its lock is held)", dir);
  return JS_OK;
}

static Status journal_line(void *ud, const char *line, Diag *d) { return exp_journal_append(ud, line, d); }

typedef struct Progress {
  const ExpSweep *sw;
  const char *dir;
  const SweepArgs *sa;
  double last_report;   /* when report.html was last written (monotonic seconds) */
  Diag *d;
} Progress;

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* report.html from what the directory holds now.  A report that cannot be written is a
 * warning: the sweep's results are in the journal and results.csv either way. */
static void write_report(Progress *p) {
  if (!p->sa->report) return;
  ExpReportOpts o;
  exp_report_opts_default(&o);
  if (p->sa->metric) exp_metric_parse(p->sa->metric, &o.metric);
  Diag rd;
  diag_init(&rd, NULL);
  if (exp_report(&p->dir, 1, &o, &rd)) {
    const char *msg = sb_str(&rd.text), *e = strstr(msg, "error: ");
    diag_warning(p->d, (SrcLoc){0}, "report.html not written: %.*s", (int)strcspn(e ? e + 7 : msg, "\n"), e ? e + 7 : msg);
  }
  diag_free(&rd);
  p->last_report = mono_s();
}

/* --shard I/N: trial t is this process's when t mod N is I. */
static bool in_shard(const SweepArgs *sa, int t) { return !sa->shard_n || t % sa->shard_n == sa->shard_i; }
static bool selected(void *ud, int t) { return in_shard(((Progress *)ud)->sa, t); }

static void on_trial(void *ud, int t, const ExpResult *r, int finished, int total, double secs) {
  Progress *p = ud;
  printf("[%d/%d] %s  %s", finished, total, p->sw->trials[t].dir + 7, exp_status_name(r->status));
  if (r->status == EXP_OK)
    printf("  best val_acc %.4f (epoch %lld)  test_acc %.4f", r->best_val_acc, (long long)r->best_epoch, r->test_acc);
  else if (r->status == EXP_DIVERGED)
    printf(" at epoch %lld", (long long)r->diverged_epoch);
  else
    printf(": %s", r->error);
  printf("  %.2f s\n", secs);
  fflush(stdout);
  if (finished < total && mono_s() - p->last_report >= 2.0) write_report(p); /* refreshed as trials finish */
}

/* The best finished trial by val_acc, for the closing line. */
static int best_trial(const ExpSweep *sw, const ExpResult *res) {
  int best = -1;
  for (int t = 0; t < sw->ntrials; t++)
    if (res[t].status == EXP_OK && (best < 0 || res[t].best_val_acc > res[best].best_val_acc)) best = t;
  return best;
}

static void summary(const ExpSweep *sw, const ExpResult *res, const char *dir) {
  int n[4] = {0};
  for (int t = 0; t < sw->ntrials; t++) n[res[t].status]++;
  printf("%d trials: %d ok, %d diverged, %d failed", sw->ntrials, n[EXP_OK], n[EXP_DIVERGED], n[EXP_FAILED]);
  if (n[EXP_PENDING]) printf(", %d not run", n[EXP_PENDING]);
  int b = best_trial(sw, res);
  if (b >= 0) printf("; best val_acc %.4f: %s", res[b].best_val_acc, sw->trials[b].dir);
  printf("\nresults in %s/results.csv, report in %s/report.html\n", dir, dir);
}

static Status run_sweep(const ExpSweep *sw, const SweepArgs *sa, const char *dir, bool resume, Diag *d) {
  Shared sh = {0};
  RtTrainConfig *cfg = ir_calloc((size_t)sw->ntrials, sizeof *cfg);
  ExpResult *res = ir_malloc((size_t)sw->ntrials * sizeof *res);
  ExpJournal *j = NULL;
  char jpath[4096], when[32];
  if (sa->shard_n)
    snprintf(jpath, sizeof jpath, "%s/journal-shard-%lld-of-%lld.jsonl", dir, (long long)sa->shard_i, (long long)sa->shard_n);
  else
    snprintf(jpath, sizeof jpath, "%s/journal.jsonl", dir);
  Status st = cfg && res && (sh.a = arena_new()) ? rt_kernel_set_new(&sh.ks, d) : diag_oom(d);
  for (int t = 0; !st && t < sw->ntrials; t++) exp_result_init(&res[t]);
  int ended = 0;
  if (!st) st = exp_results_load(dir, sw, res, &ended, d);
  for (int t = 0; !st && t < sw->ntrials; t++)
    if (res[t].status == EXP_PENDING && in_shard(sa, t) && prepare_trial(sw, t, &sh, &cfg[t], d) >= 0) st = JS_EUSAGE;
  if (!st) st = exp_journal_open(jpath, &j, d);
  time_t now = time(NULL);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  StrBuf line;
  sb_init(&line);
  sb_printf(&line, "{\"ev\":\"sweep\",\"time\":\"%s\",\"host\":", when);
  sb_put_json_str(&line, host);
  sb_printf(&line, ",\"ranks\":%d,\"jobs\":%lld,\"resume\":%s}\n", exp_mpi_size(sa->mpi), (long long)sa->jobs,
            resume ? "true" : "false");
  if (!st) st = exp_journal_append(j, sb_str(&line), d);
  sb_free(&line);
  if (!st) {
    printf("sweep: %d trials in %s (%d finished already), %lld at a time", sw->ntrials, dir, ended, (long long)sa->jobs);
    if (sa->shard_n) printf("; shard %lld of %lld", (long long)sa->shard_i, (long long)sa->shard_n);
    printf("\n");
    fflush(stdout);
    ExpTrialEnv env = {.dir = dir, .keep = sa->keep, .line = journal_line, .ud = j, .tensorboard = sa->tensorboard};
    Progress pr = {sw, dir, sa, mono_s(), d};
    ExpRunOpts o = {.jobs = (int)sa->jobs, .on_trial = on_trial, .ud = &pr, .selected = selected};
    st = sa->mpi ? exp_mpi_serve(sa->mpi, sw, res, &env, &o, d) : exp_run(sw, cfg, res, &env, &o, d);
    if (!st) st = exp_results_write(sw, res, dir, d);
    if (!st) write_report(&pr);
    summary(sw, res, dir);
  }
  exp_journal_close(j);
  ir_free(cfg);
  ir_free(res);
  shared_free(&sh);
  return st;
}

/* runs/sweep-MODEL-YYYYmmdd-HHMMSS */
static char *default_dir(Arena *a, const ExpSweep *sw) {
  char when[32];
  time_t t = time(NULL);
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(when, sizeof when, "%Y%m%d-%H%M%S", &tm);
  return arena_printf(a, "runs/sweep-%s-%s", sw->models[0].name, when);
}

/* Shards of one sweep start from the same command line (--shard aside), so the sweep.json
 * another shard wrote must list the same trials. */
static Status same_trials(const ExpSweep *sw, const char *dir, Diag *d) {
  ExpSweep *other;
  Status st = exp_sweep_read(dir, &other, d);
  if (st) return st;
  bool same = other->ntrials == sw->ntrials;
  for (int t = 0; same && t < sw->ntrials; t++) {
    same = other->trials[t].argc == sw->trials[t].argc;
    for (int i = 0; same && i < sw->trials[t].argc; i++) same = !strcmp(other->trials[t].argv[i], sw->trials[t].argv[i]);
  }
  exp_sweep_free(other);
  if (!same)
    return diag_error(d, (SrcLoc){0}, "'%s' holds another sweep: every shard must be given the same options", dir);
  return JS_OK;
}

/* A new sweep (or a shard of one): its directory, locked, and its sweep.json. */
static Status start_sweep(ExpSweep *sw, const SweepArgs *sa, const char **dir, int *lock, Diag *d) {
  *dir = sa->out ? sa->out : default_dir(sw->a, sw);
  if (sa->shard_n && !sa->out) return diag_error(d, (SrcLoc){0}, "--shard needs --out: every shard writes one directory");
  char p[4096];
  snprintf(p, sizeof p, "%s/sweep.json", *dir);
  bool exists = access(p, F_OK) == 0;
  if (exists && !sa->shard_n)
    return diag_error(d, (SrcLoc){0}, "'%s' holds a sweep already: continue it with jscc sweep --resume %s, or choose another --out",
                      *dir, *dir);
  if (!ir_mkdir_p(*dir, 0777)) return diag_error(d, (SrcLoc){0}, "cannot create '%s': %s", *dir, strerror(errno));
  Status st = lock_dir(*dir, sa, lock, d);
  if (!st) st = exists ? same_trials(sw, *dir, d) : exp_sweep_write(sw, *dir, d);
  return st;
}

/* --config FILE and --resume DIR, found before the rest is read. */
static void prescan(int argc, char **argv, const char **config, const char **resume) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = strncmp(a, "--config", 8) == 0 ? config : strncmp(a, "--resume", 8) == 0 ? resume : NULL;
    if (!slot) continue;
    if (a[8] == '=') *slot = a + 9;
    else if (!a[8] && i + 1 < argc) *slot = argv[++i];
  }
}

static int sweep(int argc, char **argv, ExpMpi *mpi) {
  SweepArgs sa = {.keep = EXP_KEEP_BEST, .report = true, .mpi = mpi};
  sa.jobs = sysconf(_SC_NPROCESSORS_ONLN) > 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 1;
  Diag d;
  diag_init(&d, stderr);
  FeConfig *cfg = NULL;
  ExpSweep *sw = NULL;
  int lock = -1, code = -1;
  const char *config = NULL, *resume = NULL, *dir = NULL;
  Status st = (sa.a = arena_new()) ? JS_OK : diag_oom(&d);
  prescan(argc, argv, &config, &resume);
  if (!st && config && !resume) st = read_config(&sa, config, &cfg, &d);
  if (!st && (code = sweep_args_parse(argc, argv, &sa, &d)) < 0) {
    if (sa.resume && (sa.nmodels || sa.ne || sa.config || sa.out || sa.random || sa.repeat))
      code = sub_usage_error("sweep", "--resume continues the sweep as it was: only --jobs, --keep, --tensorboard and --shard may be given");
    else if (!sa.resume && !sa.nmodels)
      code = sub_usage_error("sweep", "expected a model file (jscc sweep MODEL.jsc --lr 1e-3,1e-2 ...)");
  }
  if (mpi) sa.jobs = exp_mpi_size(mpi) - 1; /* one trial at a time on each other rank */
  if (!st && code < 0 && sa.resume) {
    dir = sa.resume;
    st = lock_dir(dir, &sa, &lock, &d);
    if (!st) st = exp_sweep_read(dir, &sw, &d);
  } else if (!st && code < 0) {
    st = build_sweep(&sa, argc, argv, &sw, &d);
    if (!st) st = start_sweep(sw, &sa, &dir, &lock, &d);
  }
  if (!st && code < 0) st = run_sweep(sw, &sa, dir, sa.resume != NULL, &d);
  if (code < 0) code = exit_of(st, &d);
  if (lock >= 0) close(lock);
  exp_sweep_free(sw);
  fe_config_free(cfg);
  arena_free(sa.a);
  diag_free(&d);
  return code;
}

/* ==== under mpirun (exp/mpi.c) ==== */

static Status worker_prepare(void *ud, const ExpSweep *sw, int t, RtTrainConfig *c, Diag *d) {
  return prepare_trial(sw, t, ud, c, d) >= 0 ? JS_EUSAGE : JS_OK;
}

/* A rank other than 0 trains what rank 0 hands it.  Rank 0 speaks for the sweep, so this
 * rank's stdout (the data line of every prepared model) is dropped; errors still show. */
static int sweep_worker(ExpMpi *mpi, Diag *d) {
  Shared sh = {0};
  if (!freopen("/dev/null", "w", stdout)) diag_note(d, (SrcLoc){0}, "rank %d: cannot drop its output", exp_mpi_rank(mpi));
  Status st = (sh.a = arena_new()) ? rt_kernel_set_new(&sh.ks, d) : diag_oom(d);
  if (!st) st = exp_mpi_work(mpi, worker_prepare, &sh, d);
  shared_free(&sh);
  return exit_of(st, d);
}

int cmd_sweep(int argc, char **argv) {
  if (!mpi_launched()) return sweep(argc, argv, NULL);
  Diag d;
  diag_init(&d, stderr);
  ExpMpi *mpi = NULL;
  Status st = exp_mpi_init(&mpi, &d);
  int code = st ? exit_of(st, &d) : exp_mpi_rank(mpi) > 0 ? sweep_worker(mpi, &d) : sweep(argc, argv, mpi);
  exp_mpi_end(mpi);
  diag_free(&d);
  return code;
}
