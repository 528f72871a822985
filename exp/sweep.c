/* exp/sweep.c — what a sweep is: its models, its axes (an option and the values it takes),
 * the options every trial shares, and the trials, each a `jscc train` command line.
 *
 * The trials are fixed when the sweep starts and written to sweep.json, so --resume never
 * re-derives them: a trial is its command line, run by whoever reads the file (a worker
 * thread, another MPI rank, a later process).  The grid is the product of the axes, models
 * outermost and the last axis fastest; --random N draws N points per model instead, from a
 * generator seeded by the sweep's own seed, so a random sweep repeats too. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp.h"

/* ==== axes ==== */

/* The whole text as a finite double. */
static bool real_of(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (!*s || *end || errno || !isfinite(v)) return false;
  *out = v;
  return true;
}

/* One value as an option takes it: integers without a fraction, reals in %.6g. */
static char *value_text(Arena *a, double v, bool integer) {
  if (integer) return arena_printf(a, "%lld", (long long)llround(v));
  return arena_printf(a, "%.6g", v);
}

/* lin:A:B:N or log:A:B:N into its parts; false with err set when malformed. */
static bool range_parts(const char *text, bool *log_scale, double *lo, double *hi, int *n, char *err, size_t cap) {
  char kind[4] = "";
  char a[64], b[64];
  long long cnt;
  char tail;
  if (sscanf(text, "%3[a-z]:%63[^:]:%63[^:]:%lld%c", kind, a, b, &cnt, &tail) != 4 ||
      (strcmp(kind, "lin") && strcmp(kind, "log"))) {
    snprintf(err, cap, "'%s': a range reads lin:FROM:TO:COUNT or log:FROM:TO:COUNT", text);
    return false;
  }
  *log_scale = kind[1] == 'o';
  if (!real_of(a, lo) || !real_of(b, hi) || cnt < 1 || cnt > EXP_MAX_TRIALS) {
    snprintf(err, cap, "'%s': FROM and TO must be numbers and COUNT from 1 to %d", text, EXP_MAX_TRIALS);
    return false;
  }
  if (*log_scale && !(*lo > 0 && *hi > 0)) {
    snprintf(err, cap, "'%s': a log range needs FROM and TO above 0", text);
    return false;
  }
  *n = (int)cnt;
  return true;
}

/* The values of a range, equal neighbours (integers rounded together) dropped. */
static Status range_values(Arena *a, ExpAxis *ax, int n, Diag *d) {
  ax->values = arena_alloc(a, (size_t)n * sizeof *ax->values);
  if (!ax->values) return diag_oom(d);
  for (int k = 0; k < n; k++) {
    double t = n == 1 ? 0 : (double)k / (n - 1);
    double v = ax->draw == EXP_DRAW_LOG ? exp(log(ax->lo) + t * (log(ax->hi) - log(ax->lo)))
                                        : ax->lo + t * (ax->hi - ax->lo);
    char *s = value_text(a, v, ax->integer);
    if (!s) return diag_oom(d);
    if (ax->n && strcmp(ax->values[ax->n - 1], s) == 0) continue;
    ax->values[ax->n++] = s;
  }
  return JS_OK;
}

/* Comma-separated values, each kept as typed. */
static Status list_values(Arena *a, ExpAxis *ax, const char *text, Diag *d) {
  int n = 1;
  for (const char *p = text; *p; p++) n += *p == ',';
  ax->values = arena_alloc(a, (size_t)n * sizeof *ax->values);
  if (!ax->values) return diag_oom(d);
  for (const char *p = text;; ) {
    size_t len = strcspn(p, ",");
    if (len == 0)
      return diag_error(d, (SrcLoc){0}, "%s: an empty value in '%s'", ax->option, text);
    if (!(ax->values[ax->n++] = arena_strndup(a, p, len))) return diag_oom(d);
    if (!p[len]) break;
    p += len + 1;
  }
  /* numeric lists can be drawn from by --random: between their smallest and largest value */
  double v;
  ax->lo = INFINITY, ax->hi = -INFINITY;
  for (int i = 0; i < ax->n; i++) {
    if (!real_of(ax->values[i], &v)) return JS_OK; /* names: drawn from the list */
    if (v < ax->lo) ax->lo = v;
    if (v > ax->hi) ax->hi = v;
  }
  if (!ax->integer) ax->draw = ax->rate && ax->lo > 0 ? EXP_DRAW_LOG : EXP_DRAW_LIN;
  return JS_OK;
}

void exp_axis_name(const char *option, char *buf, size_t cap) {
  while (*option == '-') option++;
  size_t i = 0;
  for (; option[i] && i + 1 < cap; i++) buf[i] = option[i] == '-' ? '_' : option[i];
  buf[i] = 0;
}

Status exp_axis_parse(ExpSweep *sw, const char *option, const char *text, unsigned flags, bool *is_axis, Diag *d) {
  *is_axis = false;
  bool range = strncmp(text, "lin:", 4) == 0 || strncmp(text, "log:", 4) == 0;
  if (!range && !strchr(text, ',')) return JS_OK;
  if (sw->naxes == EXP_MAX_AXES) return diag_error(d, (SrcLoc){0}, "more than %d axes", EXP_MAX_AXES);
  ExpAxis *ax = &sw->axes[sw->naxes];
  memset(ax, 0, sizeof *ax);
  char name[64];
  exp_axis_name(option, name, sizeof name);
  if (!(ax->name = arena_strdup(sw->a, name)) || !(ax->option = arena_strdup(sw->a, option))) return diag_oom(d);
  ax->integer = flags & EXP_OPT_INT;
  ax->rate = flags & EXP_OPT_RATE;
  for (int i = 0; i < sw->naxes; i++)
    if (strcmp(sw->axes[i].name, name) == 0) return diag_error(d, (SrcLoc){0}, "%s is given twice", option);
  Status st;
  if (range) {
    bool lg;
    int n;
    char err[200];
    if (!(flags & (EXP_OPT_INT | EXP_OPT_REAL)))
      return diag_error(d, (SrcLoc){0}, "%s takes no range (it is not a number): list its values", option);
    if (!range_parts(text, &lg, &ax->lo, &ax->hi, &n, err, sizeof err))
      return diag_error(d, (SrcLoc){0}, "%s: %s", option, err);
    ax->draw = lg ? EXP_DRAW_LOG : EXP_DRAW_LIN;
    ax->range = true;
    st = range_values(sw->a, ax, n, d);
  } else {
    st = list_values(sw->a, ax, text, d);
  }
  if (st) return st;
  sw->naxes++;
  *is_axis = true;
  return JS_OK;
}

/* ==== trials ==== */

/* Short names for the trial directories of the common axes. */
static const char *axis_short(const char *name) {
  static const char *const map[][2] = {{"batch_size", "bs"}, {"lr", "lr"}, {"max_epochs", "ep"}, {"seed", "s"},
                                       {"optimizer", "opt"}, {"weight_decay", "wd"}, {"momentum", "m"},
                                       {"scheduler", "sched"}};
  for (size_t i = 0; i < sizeof map / sizeof *map; i++)
    if (strcmp(name, map[i][0]) == 0) return map[i][1];
  return name;
}

/* "003-JSC_Tiny-bs64-lr1e-3": what a person can read in `ls trials/`. */
static char *trial_dir(const ExpSweep *sw, int id, int model, char *const *values) {
  StrBuf sb;
  sb_init(&sb);
  int width = sw->ntrials > 1000 ? (int)floor(log10(sw->ntrials - 1)) + 1 : 3;
  sb_printf(&sb, "trials/%0*d", width, id);
  if (sw->nmodels > 1) sb_printf(&sb, "-%s", sw->models[model].name ? sw->models[model].name : "m");
  for (int i = 0; i < sw->naxes; i++) sb_printf(&sb, "-%s%s", axis_short(sw->axes[i].name), values[i]);
  char *s = sb.oom ? NULL : arena_strndup(sw->a, sb_str(&sb), sb.len > 120 ? 120 : sb.len);
  sb_free(&sb);
  for (char *p = s ? s + 7 : NULL; p && *p; p++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+-_", *p)) *p = '_';
  return s;
}

/* `jscc train MODEL FIXED... --AXIS VALUE...`: the trial alone, run directory aside. */
static Status trial_argv(ExpSweep *sw, ExpTrial *t, Diag *d) {
  t->argc = 3 + sw->nfixed + 2 * sw->naxes;
  t->argv = arena_alloc(sw->a, (size_t)(t->argc + 1) * sizeof *t->argv);
  if (!t->argv) return diag_oom(d);
  int k = 0;
  t->argv[k++] = "jscc";
  t->argv[k++] = "train";
  t->argv[k++] = sw->models[t->model].path;
  for (int i = 0; i < sw->nfixed; i++) t->argv[k++] = sw->fixed[i];
  for (int i = 0; i < sw->naxes; i++) {
    t->argv[k++] = sw->axes[i].option;
    t->argv[k++] = t->values[i];
  }
  return JS_OK;
}

static Status add_trial(ExpSweep *sw, int model, char **values, Diag *d) {
  if (sw->ntrials == EXP_MAX_TRIALS) return diag_error(d, (SrcLoc){0}, "more than %d trials", EXP_MAX_TRIALS);
  ExpTrial *t = &sw->trials[sw->ntrials];
  t->id = sw->ntrials;
  t->model = model;
  t->values = arena_alloc(sw->a, (size_t)(sw->naxes ? sw->naxes : 1) * sizeof *t->values);
  if (!t->values) return diag_oom(d);
  memcpy(t->values, values, (size_t)sw->naxes * sizeof *values);
  sw->ntrials++;
  return trial_argv(sw, t, d);
}

/* A value drawn for --random: from the list, or uniform (log-uniform) between its ends. */
static char *draw_value(Arena *a, const ExpAxis *ax, Rng *r) {
  if (!ax->range && (ax->draw == EXP_DRAW_LIST || ax->integer)) return ax->values[rt_rng_below(r, (uint64_t)ax->n)];
  double u = rt_rng_uniform(r);
  double v = ax->draw == EXP_DRAW_LOG ? exp(log(ax->lo) + u * (log(ax->hi) - log(ax->lo))) : ax->lo + u * (ax->hi - ax->lo);
  return value_text(a, v, ax->integer);
}

/* The trial capacity for this many trials. */
static Status reserve(ExpSweep *sw, int64_t n, Diag *d) {
  if (n > EXP_MAX_TRIALS) return diag_error(d, (SrcLoc){0}, "the sweep has %lld trials; at most %d", (long long)n, EXP_MAX_TRIALS);
  sw->trials = arena_alloc(sw->a, (size_t)(n ? n : 1) * sizeof *sw->trials);
  return sw->trials ? JS_OK : diag_oom(d);
}

Status exp_sweep_expand(ExpSweep *sw, int random, uint64_t sweep_seed, Diag *d) {
  char *values[EXP_MAX_AXES];
  int64_t points = 1;
  for (int i = 0; i < sw->naxes; i++) {
    points *= sw->axes[i].n;
    if (points > EXP_MAX_TRIALS) break;
  }
  int seed_axis = exp_sweep_axis(sw, "seed");
  int64_t per_model = random ? (int64_t)random * (seed_axis >= 0 ? sw->axes[seed_axis].n : 1) : points;
  Status st = reserve(sw, per_model * sw->nmodels, d);
  for (int m = 0; !st && m < sw->nmodels; m++) {
    Rng r;
    rt_rng_seed(&r, sweep_seed);
    for (int64_t p = 0; !st && p < per_model; p++) {
      int64_t rest = p;
      for (int i = sw->naxes - 1; i >= 0; i--) { /* the last axis fastest */
        const ExpAxis *ax = &sw->axes[i];
        int64_t k = rest % ax->n;
        rest /= ax->n;
        values[i] = ax->values[k];
      }
      bool repeat = seed_axis >= 0 && p % sw->axes[seed_axis].n; /* repeats of a point share its draw */
      for (int i = 0; random && i < sw->naxes; i++) {
        if (i == seed_axis) continue;
        values[i] = repeat ? sw->trials[sw->ntrials - 1].values[i] : draw_value(sw->a, &sw->axes[i], &r);
        if (!values[i]) return diag_oom(d);
      }
      st = add_trial(sw, m, values, d);
    }
  }
  for (int i = 0; !st && i < sw->ntrials; i++)
    if (!(sw->trials[i].dir = trial_dir(sw, i, sw->trials[i].model, sw->trials[i].values))) st = diag_oom(d);
  return st;
}

int exp_sweep_axis(const ExpSweep *sw, const char *name) {
  for (int i = 0; i < sw->naxes; i++)
    if (strcmp(sw->axes[i].name, name) == 0) return i;
  return -1;
}

Status exp_sweep_new(ExpSweep **out, Diag *d) {
  ExpSweep *sw = ir_calloc(1, sizeof *sw);
  if (!sw || !(sw->a = arena_new())) {
    ir_free(sw);
    return diag_oom(d);
  }
  *out = sw;
  return JS_OK;
}

void exp_sweep_free(ExpSweep *sw) {
  if (!sw) return;
  arena_free(sw->a);
  ir_free(sw);
}

/* ==== sweep.json ==== */

static void json_strs(StrBuf *sb, char *const *v, int n) {
  sb_putc(sb, '[');
  for (int i = 0; i < n; i++) {
    if (i) sb_puts(sb, ", ");
    sb_put_json_str(sb, v[i]);
  }
  sb_putc(sb, ']');
}

static void json_axes(StrBuf *sb, const ExpSweep *sw) {
  sb_puts(sb, "  \"axes\": [");
  for (int i = 0; i < sw->naxes; i++) {
    const ExpAxis *ax = &sw->axes[i];
    sb_puts(sb, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
    sb_put_json_str(sb, ax->name);
    sb_puts(sb, ", \"option\": ");
    sb_put_json_str(sb, ax->option);
    sb_puts(sb, ", \"values\": ");
    json_strs(sb, ax->values, ax->n);
    sb_putc(sb, '}');
  }
  sb_puts(sb, sw->naxes ? "\n  ],\n" : "],\n");
}

static void json_trial(StrBuf *sb, const ExpSweep *sw, const ExpTrial *t) {
  sb_printf(sb, "    {\"id\": %d, \"dir\": ", t->id);
  sb_put_json_str(sb, t->dir);
  sb_printf(sb, ", \"model\": %d, \"values\": {", t->model);
  for (int i = 0; i < sw->naxes; i++) {
    if (i) sb_puts(sb, ", ");
    sb_put_json_str(sb, sw->axes[i].name);
    sb_puts(sb, ": ");
    sb_put_json_str(sb, t->values[i]);
  }
  sb_puts(sb, "},\n     \"argv\": ");
  json_strs(sb, t->argv, t->argc);
  sb_putc(sb, '}');
}

Status exp_sweep_write(const ExpSweep *sw, const char *dir, Diag *d) {
  StrBuf sb;
  sb_init(&sb);
  sb_puts(&sb, "{\n  \"version\": 1,\n  \"command\": ");
  sb_put_json_str(&sb, sw->command ? sw->command : "");
  sb_puts(&sb, ",\n  \"models\": [");
  for (int i = 0; i < sw->nmodels; i++) {
    sb_puts(&sb, i ? ", {\"path\": " : "{\"path\": ");
    sb_put_json_str(&sb, sw->models[i].path);
    sb_puts(&sb, ", \"name\": ");
    sb_put_json_str(&sb, sw->models[i].name ? sw->models[i].name : "");
    sb_printf(&sb, ", \"hash\": \"%016llx\"}", (unsigned long long)sw->models[i].hash);
  }
  sb_puts(&sb, "],\n");
  json_axes(&sb, sw);
  sb_puts(&sb, "  \"fixed\": ");
  json_strs(&sb, sw->fixed, sw->nfixed);
  sb_puts(&sb, ",\n  \"metric\": ");
  sb_put_json_str(&sb, sw->metric ? sw->metric : "val_acc");
  sb_puts(&sb, ",\n  \"trials\": [\n");
  for (int i = 0; i < sw->ntrials; i++) {
    json_trial(&sb, sw, &sw->trials[i]);
    sb_puts(&sb, i + 1 < sw->ntrials ? ",\n" : "\n");
  }
  sb_puts(&sb, "  ]\n}\n");
  Status st = exp_write_file(&sb, dir, "sweep.json", d);
  sb_free(&sb);
  return st;
}

/* ---- reading it back ---- */

typedef struct SwReader {
  const char *path;    /* for messages */
  Arena *a;
  Diag *d;
} SwReader;

static Status sw_bad(SwReader *r, const char *field, const char *what) {
  return diag_error(r->d, (SrcLoc){0}, "%s: %s: %s", r->path, field, what);
}

/* An array of strings, copied into the sweep's arena. */
static Status sw_strs(SwReader *r, const JVal *v, const char *field, char ***out, int *n) {
  if (!v || v->kind != J_ARR) return sw_bad(r, field, "expected a list of strings");
  *out = arena_alloc(r->a, (size_t)(v->n + 1) * sizeof **out);
  if (!*out) return diag_oom(r->d);
  for (int i = 0; i < v->n; i++) {
    if (v->items[i].kind != J_STR) return sw_bad(r, field, "expected a list of strings");
    if (!((*out)[i] = arena_strdup(r->a, v->items[i].str))) return diag_oom(r->d);
  }
  *n = v->n;
  return JS_OK;
}

static char *sw_str(SwReader *r, const JVal *obj, const char *key) {
  const JVal *v = json_get(obj, key);
  return v && v->kind == J_STR ? arena_strdup(r->a, v->str) : NULL;
}

static Status sw_models(SwReader *r, const JVal *v, ExpSweep *sw) {
  if (!v || v->kind != J_ARR || v->n < 1) return sw_bad(r, "models", "expected a non-empty list");
  sw->nmodels = v->n;
  if (!(sw->models = arena_alloc(r->a, (size_t)v->n * sizeof *sw->models))) return diag_oom(r->d);
  for (int i = 0; i < v->n; i++) {
    ExpModel *m = &sw->models[i];
    const JVal *h = json_get(&v->items[i], "hash");
    if (!(m->path = sw_str(r, &v->items[i], "path")) || !(m->name = sw_str(r, &v->items[i], "name")) || !h ||
        h->kind != J_STR)
      return sw_bad(r, "models", "each model needs a path, a name and a hash");
    m->hash = strtoull(h->str, NULL, 16);
  }
  return JS_OK;
}

static Status sw_axes(SwReader *r, const JVal *v, ExpSweep *sw) {
  if (!v || v->kind != J_ARR || v->n > EXP_MAX_AXES) return sw_bad(r, "axes", "expected a list of at most 16 axes");
  sw->naxes = v->n;
  for (int i = 0; i < v->n; i++) {
    ExpAxis *ax = &sw->axes[i];
    Status st = sw_strs(r, json_get(&v->items[i], "values"), "axes[].values", &ax->values, &ax->n);
    if (st) return st;
    if (!(ax->name = sw_str(r, &v->items[i], "name")) || !(ax->option = sw_str(r, &v->items[i], "option")) || !ax->n)
      return sw_bad(r, "axes", "each axis needs a name, an option and values");
  }
  return JS_OK;
}

static Status sw_trial(SwReader *r, const JVal *v, ExpSweep *sw, int i) {
  ExpTrial *t = &sw->trials[i];
  const JVal *id = json_get(v, "id"), *model = json_get(v, "model"), *vals = json_get(v, "values");
  uint64_t u, mi;
  if (!json_uint(id, &u) || u != (uint64_t)i || !json_uint(model, &mi) || mi >= (uint64_t)sw->nmodels ||
      !(t->dir = sw_str(r, v, "dir")) || !vals || vals->kind != J_OBJ || vals->n != sw->naxes)
    return sw_bad(r, "trials", "each trial needs its id (in order), a model, a dir and one value per axis");
  if (strncmp(t->dir, "trials/", 7) || strstr(t->dir, ".."))
    return sw_bad(r, "trials[].dir", "must name a directory under trials/");
  t->id = i;
  t->model = (int)mi;
  if (!(t->values = arena_alloc(r->a, (size_t)(sw->naxes + 1) * sizeof *t->values))) return diag_oom(r->d);
  for (int k = 0; k < sw->naxes; k++) {
    const JVal *x = json_get(vals, sw->axes[k].name);
    if (!x || x->kind != J_STR || !(t->values[k] = arena_strdup(r->a, x->str)))
      return sw_bad(r, "trials[].values", "a value per axis, as a string");
  }
  Status st = sw_strs(r, json_get(v, "argv"), "trials[].argv", &t->argv, &t->argc);
  if (!st && (t->argc < 3 || strcmp(t->argv[1], "train")))
    return sw_bad(r, "trials[].argv", "expected a jscc train command line");
  return st;
}

static Status sw_parse(SwReader *r, const JVal *root, ExpSweep *sw) {
  uint64_t ver;
  if (root->kind != J_OBJ) return sw_bad(r, "(top level)", "expected an object");
  if (!json_uint(json_get(root, "version"), &ver) || ver != 1) return sw_bad(r, "version", "expected 1");
  Status st = sw_models(r, json_get(root, "models"), sw);
  if (!st) st = sw_axes(r, json_get(root, "axes"), sw);
  if (!st) st = sw_strs(r, json_get(root, "fixed"), "fixed", &sw->fixed, &sw->nfixed);
  if (st) return st;
  sw->command = sw_str(r, root, "command");
  sw->metric = sw_str(r, root, "metric");
  const JVal *tr = json_get(root, "trials");
  if (!tr || tr->kind != J_ARR || tr->n < 1 || tr->n > EXP_MAX_TRIALS) return sw_bad(r, "trials", "expected a non-empty list");
  if (!(sw->trials = arena_alloc(r->a, (size_t)tr->n * sizeof *sw->trials))) return diag_oom(r->d);
  for (int i = 0; !st && i < tr->n; i++) st = sw_trial(r, &tr->items[i], sw, i);
  sw->ntrials = st ? 0 : tr->n;
  return st;
}

Status exp_sweep_read(const char *dir, ExpSweep **out, Diag *d) {
  *out = NULL;
  ExpSweep *sw;
  Status st = exp_sweep_new(&sw, d);
  if (st) return st;
  char *path = arena_printf(sw->a, "%s/sweep.json", dir);
  SrcFile *src = NULL;
  if (!path) st = diag_oom(d);
  if (!st) st = diag_read_file(sw->a, path, &src, d);
  JVal root;
  JsonError je;
  if (!st && !json_parse(sw->a, src->text, src->len, "sweep.json", &root, &je))
    st = je.oom ? diag_oom(d) : diag_error(d, (SrcLoc){0}, "%s: %s at byte %zu", path, je.msg, je.pos);
  SwReader r = {.path = path, .a = sw->a, .d = d};
  if (!st) st = sw_parse(&r, &root, sw);
  if (st) {
    exp_sweep_free(sw);
    return st;
  }
  *out = sw;
  return JS_OK;
}
