/* exp/searchout.c — what a search leaves in its directory (spec/search.md §5): results.csv
 * (one row per sampled trial: every choice and metric), front.csv (the Pareto front, best
 * first on the first objective) and front/trial-NNN.toml (each front point as a MASE-format
 * config that jscc transform, test and train --config take).  Every file is replaced
 * atomically, so a reader or a kill never sees half of one. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exp.h"

/* A trial the front may hold: scored ok, and (ASHA) at the last rung, so that every point
 * was trained for the same epochs. */
static bool eligible(const ExpSearch *s, const ExpSearchTrial *t) {
  int64_t e[EXP_SEARCH_MAX_RUNGS];
  int last = exp_search_rungs(s, e) - 1;
  return t->status == EXP_OK && t->rung == last;
}

Status exp_search_front(const ExpSearch *s, const ExpSearchTrial *t, int n, bool *on_front, Diag *d) {
  int nobj = exp_search_nobj(s), m = 0;
  double *y = ir_malloc(sizeof *y * (size_t)(n ? n : 1) * (size_t)nobj);
  int *idx = ir_malloc(sizeof *idx * (size_t)(n ? n : 1)), *rank = ir_malloc(sizeof *rank * (size_t)(n ? n : 1));
  Status st = y && idx && rank ? JS_OK : diag_oom(d);
  for (int i = 0; !st && i < n; i++) {
    on_front[i] = false;
    if (!eligible(s, &t[i])) continue;
    bool finite = true;
    for (int k = 0; k < nobj; k++) {
      y[(size_t)m * (size_t)nobj + (size_t)k] = exp_search_objective(s, k, t[i].metric);
      finite = finite && isfinite(y[(size_t)m * (size_t)nobj + (size_t)k]);
    }
    if (finite) idx[m++] = i;
  }
  if (!st && m) st = exp_nondominated_rank(y, m, nobj, rank, d);
  for (int i = 0; !st && i < m; i++) on_front[idx[i]] = rank[i] == 0;
  ir_free(y), ir_free(idx), ir_free(rank);
  return st;
}

static void csv_num(StrBuf *sb, double v) {
  sb_putc(sb, ',');
  if (isfinite(v)) sb_printf(sb, "%.10g", v);
}

static void csv_header(StrBuf *sb, const ExpSearch *s) {
  sb_puts(sb, "trial,status,rung,epochs");
  for (int i = 0; i < s->nparams; i++) sb_putc(sb, ','), sb_put_csv_field(sb, s->params[i].key);
  for (int m = 0; m < EXP_NMETRICS; m++) sb_printf(sb, ",%s", exp_metric_name((ExpMetric)m));
  sb_puts(sb, ",test_acc,seconds,on_front,error,passes\n");
}

static void csv_row(StrBuf *sb, const ExpSearch *s, const ExpSearchTrial *t, bool front) {
  sb_printf(sb, "%d,%s,", t->id, t->rung < 0 ? "pending" : exp_status_name(t->status));
  if (t->rung >= 0) sb_printf(sb, "%d", t->rung);
  sb_printf(sb, ",%lld", (long long)t->epochs);
  StrBuf c;
  sb_init(&c);
  for (int i = 0; i < s->nparams; i++) {
    sb_clear(&c);
    exp_search_choice(s, i, t->x[i], &c);
    sb_putc(sb, ',');
    sb_put_csv_field(sb, sb_str(&c));
  }
  sb_free(&c);
  for (int m = 0; m < EXP_NMETRICS; m++) csv_num(sb, t->metric[m]);
  csv_num(sb, t->test_acc);
  csv_num(sb, t->seconds);
  sb_printf(sb, ",%d,", front ? 1 : 0);
  sb_put_csv_field(sb, t->error);
  sb_putc(sb, ',');
  sb_put_csv_field(sb, t->passes ? t->passes : "");
  sb_putc(sb, '\n');
}

/* The front's trials, best first on the first objective (ties by trial). */
static int front_order(const ExpSearch *s, const ExpSearchTrial *t, int n, const bool *on, int *out) {
  int m = 0;
  for (int i = 0; i < n; i++) {
    if (!on[i]) continue;
    int j = m++;
    double v = exp_search_objective(s, 0, t[i].metric);
    while (j > 0 && exp_search_objective(s, 0, t[out[j - 1]].metric) > v) out[j] = out[j - 1], j--;
    out[j] = i;
  }
  return m;
}

static Status write_tomls(const ExpSearch *s, const char *dir, const ExpSearchTrial *t, const int *order, int m, Diag *d) {
  char fdir[4200];
  snprintf(fdir, sizeof fdir, "%s/front", dir);
  if (!ir_mkdir_p(fdir, 0777)) return diag_error(d, (SrcLoc){0}, "cannot create '%s': %s", fdir, strerror(errno)), JS_EIO;
  Status st = JS_OK;
  for (int i = 0; !st && i < m; i++) {
    const ExpSearchTrial *p = &t[order[i]];
    StrBuf sb, cm;
    sb_init(&sb), sb_init(&cm);
    sb_printf(&cm, "jscc search: trial %d, on the Pareto front:", p->id);
    for (int k = 0; k < s->nobj; k++)
      sb_printf(&cm, " %s %.6g", exp_metric_name(s->obj[k].metric), p->metric[s->obj[k].metric]);
    exp_search_toml(s, p->x, sb_str(&cm), &sb);
    char name[64];
    snprintf(name, sizeof name, "trial-%03d.toml", p->id);
    st = sb.oom || cm.oom ? diag_oom(d) : exp_write_file(&sb, fdir, name, d);
    sb_free(&sb), sb_free(&cm);
  }
  DIR *dd = st ? NULL : opendir(fdir); /* points that left the front */
  for (struct dirent *de; dd && (de = readdir(dd));) {
    int id;
    char tail[8];
    if (sscanf(de->d_name, "trial-%d.tom%1s", &id, tail) != 2 || strcmp(tail, "l") != 0) continue;
    bool keep = false;
    for (int i = 0; i < m && !keep; i++) keep = t[order[i]].id == id;
    if (!keep) unlinkat(dirfd(dd), de->d_name, 0);
  }
  if (dd) closedir(dd);
  return st;
}

static void front_csv(StrBuf *sb, const ExpSearch *s, const ExpSearchTrial *t, const int *order, int m) {
  sb_puts(sb, "trial");
  for (int k = 0; k < s->nobj; k++) sb_printf(sb, ",%s", exp_metric_name(s->obj[k].metric));
  sb_puts(sb, ",test_acc,config,checkpoint\n");
  for (int i = 0; i < m; i++) {
    const ExpSearchTrial *p = &t[order[i]];
    sb_printf(sb, "%d", p->id);
    for (int k = 0; k < s->nobj; k++) csv_num(sb, p->metric[s->obj[k].metric]);
    csv_num(sb, p->test_acc);
    sb_printf(sb, ",front/trial-%03d.toml,", p->id);
    if (s->scoring == EXP_SCORE_QAT) sb_printf(sb, "trials/%03d/best.safetensors", p->id);
    sb_putc(sb, '\n');
  }
}

Status exp_search_write(const ExpSearch *s, const char *dir, const ExpSearchTrial *t, int n, Diag *d) {
  bool *on = ir_calloc((size_t)(n ? n : 1), sizeof *on);
  int *order = ir_malloc(sizeof *order * (size_t)(n ? n : 1));
  Status st = on && order ? exp_search_front(s, t, n, on, d) : diag_oom(d);
  StrBuf sb;
  sb_init(&sb);
  csv_header(&sb, s);
  for (int i = 0; i < n; i++) csv_row(&sb, s, &t[i], on && on[i]);
  if (!st) st = sb.oom ? diag_oom(d) : exp_write_file(&sb, dir, "results.csv", d);
  int m = st ? 0 : front_order(s, t, n, on, order);
  sb_clear(&sb);
  front_csv(&sb, s, t, order, m);
  if (!st) st = sb.oom ? diag_oom(d) : exp_write_file(&sb, dir, "front.csv", d);
  if (!st) st = write_tomls(s, dir, t, order, m, d);
  sb_free(&sb);
  ir_free(on), ir_free(order);
  return st;
}

double exp_search_hypervolume(int nobj, const ExpMetric *obj, const bool *maximize, const double *const *metric,
                              const bool *ok, const bool *front, int n, const double *ref) {
  double worst[EXP_NMETRICS], *y = ir_malloc(sizeof *y * (size_t)(n ? n : 1) * (size_t)nobj);
  if (!y) return NAN;
  for (int k = 0; k < nobj; k++) {
    double w = maximize[k] ? 0 : ref[obj[k]];
    for (int i = 0; i < n; i++)
      if (ok[i] && isfinite(metric[i][obj[k]])) w = maximize[k] ? fmin(w, metric[i][obj[k]]) : fmax(w, metric[i][obj[k]]);
    worst[k] = maximize[k] ? -w : w;
  }
  int m = 0;
  for (int i = 0; i < n; i++) {
    if (!ok[i] || !front[i]) continue;
    for (int k = 0; k < nobj; k++) y[m * nobj + k] = maximize[k] ? -metric[i][obj[k]] : metric[i][obj[k]];
    m++;
  }
  double hv = exp_hypervolume(y, m, nobj, worst);
  ir_free(y);
  return hv;
}
