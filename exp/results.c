/* exp/results.c — what a finished trial reports: the journal's "end" event, written and read
 * back, and results.csv / summary.csv rebuilt from those events (spec/sweep.md §2.2–2.3).
 *
 * Numbers go through "%.17g" into the journal (a double reads back to the same double) and
 * "%.9g" into the CSVs, so results.csv is the same bytes however often it is rebuilt, and a
 * resumed sweep's file equals an uninterrupted one's except in the timing columns. */
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exp.h"

static const char *const status_names[] = {[EXP_PENDING] = "pending", [EXP_OK] = "ok", [EXP_DIVERGED] = "diverged",
                                           [EXP_FAILED] = "failed"};

const char *exp_status_name(ExpStatus s) { return (unsigned)s <= EXP_FAILED ? status_names[s] : "?"; }

void exp_result_init(ExpResult *r) {
  memset(r, 0, sizeof *r);
  r->best_val_loss = r->best_val_acc = r->final_train_acc = r->final_val_acc = NAN;
  r->test_acc = r->test_acc_macro = r->mean_epoch_seconds = r->samples_per_second = NAN;
}

/* The numeric fields, in the journal's and results.csv's order. */
typedef struct Field {
  const char *name;
  size_t off;
} Field;
#define F(x) {#x, offsetof(ExpResult, x)}
static const Field real_fields[] = {F(best_val_loss), F(best_val_acc), F(final_train_acc), F(final_val_acc),
                                    F(test_acc), F(test_acc_macro), F(mean_epoch_seconds), F(samples_per_second)};
#undef F
#define NREAL (int)(sizeof real_fields / sizeof *real_fields)

static double *real_at(ExpResult *r, int k) { return (double *)((char *)r + real_fields[k].off); }
static double real_of(const ExpResult *r, int k) { return *(const double *)((const char *)r + real_fields[k].off); }

static void json_real(StrBuf *sb, double v) {
  if (isfinite(v))
    sb_printf(sb, "%.17g", v);
  else
    sb_puts(sb, "null");
}

void exp_result_json(StrBuf *sb, int trial, const ExpResult *r) {
  sb_printf(sb, "{\"ev\":\"end\",\"trial\":%d,\"status\":\"%s\",\"epochs\":%lld,\"best_epoch\":%lld", trial,
            exp_status_name(r->status), (long long)r->epochs, (long long)r->best_epoch);
  for (int k = 0; k < NREAL; k++) {
    sb_printf(sb, ",\"%s\":", real_fields[k].name);
    json_real(sb, real_of(r, k));
  }
  sb_printf(sb, ",\"params\":%lld", (long long)r->params);
  if (r->status == EXP_DIVERGED) sb_printf(sb, ",\"diverged_epoch\":%lld", (long long)r->diverged_epoch);
  if (r->error[0]) {
    sb_puts(sb, ",\"error\":");
    sb_put_json_str(sb, r->error);
  }
  sb_puts(sb, "}\n");
}

static bool int_field(const JVal *ev, const char *key, int64_t *out) {
  uint64_t u;
  const JVal *v = json_get(ev, key);
  if (!v) return true;
  if (!json_uint(v, &u)) return false;
  *out = (int64_t)u;
  return true;
}

Status exp_result_parse(const JVal *ev, ExpResult *r, const char *where, Diag *d) {
  exp_result_init(r);
  const JVal *st = json_get(ev, "status");
  for (int s = EXP_OK; st && st->kind == J_STR && s <= EXP_FAILED; s++)
    if (strcmp(st->str, status_names[s]) == 0) r->status = (ExpStatus)s;
  if (r->status == EXP_PENDING) return diag_error(d, (SrcLoc){0}, "%s: an end event needs a status of ok, diverged or failed", where);
  if (!int_field(ev, "epochs", &r->epochs) || !int_field(ev, "best_epoch", &r->best_epoch) ||
      !int_field(ev, "params", &r->params) || !int_field(ev, "diverged_epoch", &r->diverged_epoch))
    return diag_error(d, (SrcLoc){0}, "%s: epochs, best_epoch, params and diverged_epoch must be whole numbers", where);
  for (int k = 0; k < NREAL; k++) {
    const JVal *v = json_get(ev, real_fields[k].name);
    if (v && v->kind != J_NUM && v->kind != J_NULL)
      return diag_error(d, (SrcLoc){0}, "%s: %s must be a number or null", where, real_fields[k].name);
    *real_at(r, k) = json_num(v);
  }
  const JVal *e = json_get(ev, "error");
  if (e && e->kind == J_STR) snprintf(r->error, sizeof r->error, "%s", e->str);
  return JS_OK;
}

/* ==== results.csv ==== */


static void csv_real(StrBuf *sb, double v) {
  if (isfinite(v)) sb_printf(sb, "%.9g", v);
}

static void results_header(StrBuf *sb, const ExpSweep *sw) {
  sb_puts(sb, "id,model");
  for (int i = 0; i < sw->naxes; i++) {
    sb_putc(sb, ',');
    sb_put_csv_field(sb, sw->axes[i].name);
  }
  sb_puts(sb, ",status,best_epoch");
  for (int k = 0; k < NREAL; k++) sb_printf(sb, ",%s", real_fields[k].name);
  sb_puts(sb, ",trainable_params,dir\n");
}

static void results_row(StrBuf *sb, const ExpSweep *sw, const ExpTrial *t, const ExpResult *r) {
  sb_printf(sb, "%d,", t->id);
  sb_put_csv_field(sb, sw->models[t->model].name);
  for (int i = 0; i < sw->naxes; i++) {
    sb_putc(sb, ',');
    sb_put_csv_field(sb, t->values[i]);
  }
  sb_printf(sb, ",%s,", exp_status_name(r->status));
  if (r->best_epoch) sb_printf(sb, "%lld", (long long)r->best_epoch);
  for (int k = 0; k < NREAL; k++) {
    sb_putc(sb, ',');
    csv_real(sb, real_of(r, k));
  }
  sb_putc(sb, ',');
  if (r->params) sb_printf(sb, "%lld", (long long)r->params);
  sb_putc(sb, ',');
  sb_put_csv_field(sb, t->dir);
  sb_putc(sb, '\n');
}

/* ==== summary.csv: mean and standard deviation over the seeds of each point ==== */

/* Whether trials a and b differ only in their seed. */
static bool same_point(const ExpSweep *sw, const ExpTrial *a, const ExpTrial *b, int seed_axis) {
  if (a->model != b->model) return false;
  for (int i = 0; i < sw->naxes; i++)
    if (i != seed_axis && strcmp(a->values[i], b->values[i]) != 0) return false;
  return true;
}

/* Mean and sample standard deviation of field k over the finished trials of a point. */
static void point_stats(const ExpSweep *sw, const ExpResult *res, int first, int seed_axis, int k, double *mean,
                        double *sd, int *n) {
  double s = 0, s2 = 0;
  *n = 0;
  for (int j = first; j < sw->ntrials; j++) {
    if (!same_point(sw, &sw->trials[first], &sw->trials[j], seed_axis)) continue;
    double v = res[j].status == EXP_OK ? real_of(&res[j], k) : NAN;
    if (!isfinite(v)) continue;
    s += v;
    s2 += v * v;
    (*n)++;
  }
  *mean = *n ? s / *n : NAN;
  *sd = *n > 1 ? sqrt(fmax(0, (s2 - s * s / *n) / (*n - 1))) : NAN;
}

static void summary_csv(StrBuf *sb, const ExpSweep *sw, const ExpResult *res, int seed_axis) {
  sb_puts(sb, "model");
  for (int i = 0; i < sw->naxes; i++)
    if (i != seed_axis) sb_printf(sb, ",%s", sw->axes[i].name);
  sb_puts(sb, ",trials,ok");
  for (int k = 0; k < NREAL; k++) sb_printf(sb, ",%s_mean,%s_std", real_fields[k].name, real_fields[k].name);
  sb_putc(sb, '\n');
  for (int t = 0; t < sw->ntrials; t++) {
    bool seen = false;
    for (int u = 0; u < t && !seen; u++) seen = same_point(sw, &sw->trials[u], &sw->trials[t], seed_axis);
    if (seen) continue;
    sb_put_csv_field(sb, sw->models[sw->trials[t].model].name);
    for (int i = 0; i < sw->naxes; i++)
      if (i != seed_axis) sb_putc(sb, ','), sb_put_csv_field(sb, sw->trials[t].values[i]);
    int total = 0, ok = 0;
    for (int j = t; j < sw->ntrials; j++)
      if (same_point(sw, &sw->trials[t], &sw->trials[j], seed_axis)) total++, ok += res[j].status == EXP_OK;
    sb_printf(sb, ",%d,%d", total, ok);
    for (int k = 0; k < NREAL; k++) {
      double m, sd;
      int n;
      point_stats(sw, res, t, seed_axis, k, &m, &sd, &n);
      sb_putc(sb, ',');
      csv_real(sb, m);
      sb_putc(sb, ',');
      csv_real(sb, sd);
    }
    sb_putc(sb, '\n');
  }
}

Status exp_results_write(const ExpSweep *sw, const ExpResult *res, const char *dir, Diag *d) {
  StrBuf sb;
  sb_init(&sb);
  results_header(&sb, sw);
  for (int t = 0; t < sw->ntrials; t++)
    if (res[t].status != EXP_PENDING) results_row(&sb, sw, &sw->trials[t], &res[t]);
  Status st = exp_write_file(&sb, dir, "results.csv", d);
  int seed_axis = exp_sweep_axis(sw, "seed");
  if (!st && seed_axis >= 0) {
    sb_clear(&sb);
    summary_csv(&sb, sw, res, seed_axis);
    st = exp_write_file(&sb, dir, "summary.csv", d);
  }
  sb_free(&sb);
  return st;
}

/* ==== results from the journals ==== */

typedef struct Replay {
  const ExpSweep *sw;
  ExpResult *res;
  int ended;
} Replay;

/* Each trial's end event; the other events say nothing about results. */
static Status replay_event(void *ud, const JVal *ev, const char *path, int line, Diag *d) {
  Replay *r = ud;
  const JVal *kind = json_get(ev, "ev");
  if (!kind || kind->kind != J_STR) return diag_error(d, (SrcLoc){0}, "%s:%d: an event without \"ev\"", path, line);
  if (strcmp(kind->str, "end") != 0) return JS_OK;
  uint64_t t;
  if (!json_uint(json_get(ev, "trial"), &t) || t >= (uint64_t)r->sw->ntrials)
    return diag_error(d, (SrcLoc){0}, "%s:%d: \"trial\" is not a trial of this sweep", path, line);
  char where[4200];
  snprintf(where, sizeof where, "%s:%d", path, line);
  r->ended += r->res[t].status == EXP_PENDING;
  return exp_result_parse(ev, &r->res[t], where, d);
}

Status exp_results_load(const char *dir, const ExpSweep *sw, ExpResult *res, int *ended, Diag *d) {
  for (int t = 0; t < sw->ntrials; t++) exp_result_init(&res[t]);
  Replay rp = {sw, res, 0};
  char pat[4200];
  snprintf(pat, sizeof pat, "%s/journal.jsonl", dir);
  Status st = access(pat, F_OK) == 0 ? exp_journal_read(pat, replay_event, &rp, d) : JS_OK;
  snprintf(pat, sizeof pat, "%s/journal-shard-*.jsonl", dir);
  glob_t g = {0};
  if (!st && glob(pat, 0, NULL, &g) == 0)
    for (size_t i = 0; !st && i < g.gl_pathc; i++) st = exp_journal_read(g.gl_pathv[i], replay_event, &rp, d);
  globfree(&g);
  if (ended) *ended = rp.ended;
  return st;
}

/* A sweep directory with a journal gets results.csv rebuilt from its journals (the shards of
 * a job array merge here); anything else is left alone. */
Status exp_results_merge(const char *dir, Diag *d) {
  char p[4200];
  snprintf(p, sizeof p, "%s/sweep.json", dir);
  if (access(p, F_OK) != 0) return JS_OK;
  snprintf(p, sizeof p, "%s/journal*.jsonl", dir);
  glob_t g = {0};
  bool journals = glob(p, 0, NULL, &g) == 0 && g.gl_pathc > 0;
  globfree(&g);
  if (!journals) return JS_OK;
  ExpSweep *sw;
  Status st = exp_sweep_read(dir, &sw, d);
  if (st) return st;
  ExpResult *res = ir_malloc((size_t)sw->ntrials * sizeof *res);
  st = res ? exp_results_load(dir, sw, res, NULL, d) : diag_oom(d);
  if (!st) st = exp_results_write(sw, res, dir, d);
  ir_free(res);
  exp_sweep_free(sw);
  return st;
}
