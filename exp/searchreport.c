/* exp/searchreport.c — the report of a jscc search directory (spec/search.md §6):
 * search.json (the command, objectives, space and the float model's reference), the
 * journal's scores and front.csv, shown as report.html — a summary with the front's
 * hypervolume, the front as a table, accuracy against average bits, BOPs and estimated LUTs
 * (every trial, the front, the float model as a reference line), and every trial. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exp.h"

typedef struct RTrial {
  bool sampled, scored, front;
  int *x;
  const char *status;
  int rung;
  int64_t epochs;
  double metric[EXP_NMETRICS], test_acc;
} RTrial;

typedef struct Rep {
  Arena *a;
  const char *dir;
  JVal js;                       /* search.json */
  int nparams;
  const JVal *params;            /* [{key, choices}] */
  int nobj;
  ExpMetric obj[EXP_NMETRICS];
  bool maximize[EXP_NMETRICS];
  double ref[EXP_NMETRICS], ref_test;
  int ntrials, cap;
  RTrial *t;
  Diag *d;
} Rep;

bool exp_is_search_dir(const char *dir) {
  char p[4200];
  snprintf(p, sizeof p, "%s/search.json", dir);
  return access(p, F_OK) == 0;
}

/* ==== reading ==== */

static Status bad(Rep *r, const char *what) {
  return diag_error(r->d, (SrcLoc){0}, "%s/search.json: %s", r->dir, what);
}

static Status read_objectives(Rep *r) {
  const JVal *o = json_get(&r->js, "objectives");
  if (!o || o->kind != J_ARR || o->n < 1 || o->n > EXP_NMETRICS) return bad(r, "'objectives': expected 1 to 6 objectives");
  for (int i = 0; i < o->n; i++) {
    const JVal *m = json_get(&o->items[i], "metric"), *dir = json_get(&o->items[i], "direction");
    if (!m || m->kind != J_STR || !exp_metric_lookup(m->str, &r->obj[i]) || !dir || dir->kind != J_STR)
      return bad(r, "'objectives': each needs a known metric and a direction");
    r->maximize[i] = strcmp(dir->str, "maximize") == 0;
  }
  r->nobj = o->n;
  const JVal *f = json_get(&r->js, "float");
  for (int m = 0; m < EXP_NMETRICS; m++)
    r->ref[m] = json_get(f, exp_metric_name((ExpMetric)m)) ? json_num(json_get(f, exp_metric_name((ExpMetric)m))) : NAN;
  r->ref_test = json_get(f, "test_acc") ? json_num(json_get(f, "test_acc")) : NAN;
  return JS_OK;
}

static Status read_json(Rep *r) {
  char *path = arena_printf(r->a, "%s/search.json", r->dir);
  SrcFile *src;
  JsonError e;
  Status st = path ? diag_read_file(r->a, path, &src, r->d) : diag_oom(r->d);
  if (st) return st;
  if (!json_parse(r->a, src->text, src->len, "search.json", &r->js, &e))
    return e.oom ? diag_oom(r->d) : diag_error(r->d, (SrcLoc){0}, "%s: byte %zu: %s", path, e.pos, e.msg);
  const JVal *p = json_get(&r->js, "params");
  if (!p || p->kind != J_ARR) return bad(r, "'params': expected the search space's parameters");
  for (int i = 0; i < p->n; i++) {
    const JVal *c = json_get(&p->items[i], "choices"), *k = json_get(&p->items[i], "key");
    if (!k || k->kind != J_STR || !c || c->kind != J_ARR || c->n < 1) return bad(r, "'params': each needs a key and its choices");
  }
  r->nparams = p->n, r->params = p->items;
  return read_objectives(r);
}

static RTrial *trial_at(Rep *r, uint64_t id) {
  if (id >= EXP_MAX_TRIALS) return NULL;
  while ((int)id >= r->cap) {
    int cap = r->cap ? 2 * r->cap : 64;
    RTrial *t = arena_alloc(r->a, sizeof *t * (size_t)cap);
    if (!t) return NULL;
    if (r->t) memcpy(t, r->t, sizeof *t * (size_t)r->cap);
    r->t = t, r->cap = cap;
  }
  if ((int)id >= r->ntrials) r->ntrials = (int)id + 1;
  return &r->t[id];
}

static Status on_event(void *ud, const JVal *ev, const char *path, int line, Diag *d) {
  Rep *r = ud;
  const JVal *e = json_get(ev, "ev"), *x = json_get(ev, "x"), *m = json_get(ev, "metrics"), *s = json_get(ev, "status");
  uint64_t id, rung, epochs;
  if (!e || e->kind != J_STR || !json_uint(json_get(ev, "trial") ? json_get(ev, "trial") : ev, &id))
    return diag_error(d, (SrcLoc){0}, "%s:%d: an event without \"ev\" or \"trial\"", path, line);
  RTrial *t = trial_at(r, id);
  if (!t) return diag_error(d, (SrcLoc){0}, "%s:%d: trial %llu is out of range", path, line, (unsigned long long)id);
  if (strcmp(e->str, "sample") == 0) {
    if (!x || x->kind != J_ARR || x->n != r->nparams || !(t->x = arena_alloc(r->a, sizeof *t->x * (size_t)(x->n + 1))))
      return diag_error(d, (SrcLoc){0}, "%s:%d: a sample that does not fit search.json's parameters", path, line);
    for (int i = 0; i < x->n; i++) {
      uint64_t u;
      if (!json_uint(&x->items[i], &u) || u >= (uint64_t)json_get(&r->params[i], "choices")->n)
        return diag_error(d, (SrcLoc){0}, "%s:%d: a choice outside its parameter's list", path, line);
      t->x[i] = (int)u;
    }
    t->sampled = true;
  } else if (strcmp(e->str, "score") == 0) {
    if (!m || !s || s->kind != J_STR || !json_uint(json_get(ev, "rung"), &rung) || !json_uint(json_get(ev, "epochs"), &epochs))
      return diag_error(d, (SrcLoc){0}, "%s:%d: a score without its status, rung, epochs or metrics", path, line);
    t->scored = true, t->rung = (int)rung, t->epochs = (int64_t)epochs;
    if (!(t->status = arena_strdup(r->a, s->str))) return diag_oom(d); /* the journal's values are its own */
    for (int k = 0; k < EXP_NMETRICS; k++) {
      const JVal *v = json_get(m, exp_metric_name((ExpMetric)k));
      t->metric[k] = v ? json_num(v) : NAN;
    }
    t->test_acc = json_get(ev, "test_acc") ? json_num(json_get(ev, "test_acc")) : NAN;
  }
  return JS_OK;
}

/* front.csv's first column: the front's trials. */
static Status read_front(Rep *r) {
  char *path = arena_printf(r->a, "%s/front.csv", r->dir);
  SrcFile *src;
  if (!path) return diag_oom(r->d);
  if (access(path, F_OK) != 0) return JS_OK; /* nothing scored yet */
  Status st = diag_read_file(r->a, path, &src, r->d);
  for (const char *p = st ? NULL : strchr(src->text, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
    char *end;
    unsigned long id = strtoul(p + 1, &end, 10);
    if (end != p + 1 && *end == ',' && (int)id < r->ntrials) r->t[id].front = true;
  }
  return st;
}

/* ==== the figures ==== */

/* The text of trial t's choice of parameter i. */
static const char *choice(Rep *r, const RTrial *t, int i) {
  const JVal *c = &json_get(&r->params[i], "choices")->items[t->x[i]];
  return c->kind == J_STR ? c->str : c->kind == J_BOOL ? (c->b ? "true" : "false") : c->str;
}

static bool ok(const RTrial *t) { return t->scored && strcmp(t->status, "ok") == 0; }

/* Accuracy against one cost metric: every trial, the front (joined, by cost), the float model. */
static Status cost_figure(Rep *r, ExpMetric cost, const char *name, const char *xlabel, bool logx, const char *figdir,
                          ExpFigure *out) {
  int n = 0, m = 0;
  double *ax = arena_alloc(r->a, sizeof(double) * (size_t)(r->ntrials + 1) * 4);
  if (!ax) return diag_oom(r->d);
  double *ay = ax + r->ntrials + 1, *fx = ay + r->ntrials + 1, *fy = fx + r->ntrials + 1;
  for (int i = 0; i < r->ntrials; i++) {
    const RTrial *t = &r->t[i];
    if (!ok(t) || !(t->metric[cost] > 0) || !isfinite(t->metric[EXP_M_ACCURACY])) continue;
    ax[n] = t->metric[cost], ay[n++] = t->metric[EXP_M_ACCURACY];
    if (!t->front) continue;
    int j = m++; /* by cost */
    while (j > 0 && fx[j - 1] > t->metric[cost]) fx[j] = fx[j - 1], fy[j] = fy[j - 1], j--;
    fx[j] = t->metric[cost], fy[j] = t->metric[EXP_M_ACCURACY];
  }
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < n; i++) lo = fmin(lo, ax[i]), hi = fmax(hi, ax[i]);
  if (r->ref[cost] > 0) lo = fmin(lo, r->ref[cost]), hi = fmax(hi, r->ref[cost]);
  double rx[2] = {lo, hi}, ry[2] = {r->ref[EXP_M_ACCURACY], r->ref[EXP_M_ACCURACY]};
  ExpSeries se[3] = {{"trials", n, ax, ay, EXP_SERIES_POINTS},
                     {"Pareto front", m, fx, fy, EXP_SERIES_LINE},
                     {"float model", isfinite(ry[0]) && n ? 2 : 0, rx, ry, EXP_SERIES_DASHED}};
  ExpScatter sc = {name, arena_printf(r->a, "Accuracy against %s", xlabel),
                   arena_printf(r->a, "Validation accuracy of every scored trial against its %s; the line joins the "
                                "Pareto front's points (on the search's objectives); dashed: the float model.", xlabel),
                   xlabel, "validation accuracy", logx, 3, se};
  if (!sc.title || !sc.caption) return diag_oom(r->d);
  return exp_plot_scatter(&sc, figdir, r->a, out, r->d);
}

static Status figures(Rep *r, const char *figdir, ExpFigure *figs, int *nfigs) {
  *nfigs = 0;
  int scored = 0;
  for (int i = 0; i < r->ntrials; i++) scored += ok(&r->t[i]);
  if (!exp_plot_available() || !scored) return JS_OK; /* nothing to draw yet */
  if (!ir_mkdir_p(figdir, 0777)) return diag_error(r->d, (SrcLoc){0}, "cannot create '%s': %s", figdir, strerror(errno)), JS_EIO;
  Status st = cost_figure(r, EXP_M_AVERAGE_BITWIDTH, "search_bits", "average weight bits", false, figdir, &figs[0]);
  if (!st) st = cost_figure(r, EXP_M_BOPS, "search_bops", "BOPs per inference (log scale)", true, figdir, &figs[1]);
  if (!st) st = cost_figure(r, EXP_M_LUT_ESTIMATE, "search_luts", "estimated LUTs (log scale)", true, figdir, &figs[2]);
  if (!st) *nfigs = 3;
  return st;
}

/* ==== the page ==== */

static void put_num(StrBuf *sb, double v) {
  if (isfinite(v)) sb_printf(sb, "%.4g", v);
  else sb_puts(sb, "&ndash;");
}

static void metric_cells(Rep *r, StrBuf *sb, const double *metric, double test) {
  for (int k = 0; k < r->nobj; k++) sb_puts(sb, "<td>"), put_num(sb, metric[r->obj[k]]), sb_puts(sb, "</td>");
  sb_puts(sb, "<td>"), put_num(sb, test), sb_puts(sb, "</td>");
}

static void header_cells(Rep *r, StrBuf *sb) {
  for (int k = 0; k < r->nobj; k++)
    sb_printf(sb, "<th>%s (%s)</th>", exp_metric_name(r->obj[k]), r->maximize[k] ? "max" : "min");
  sb_puts(sb, "<th>test accuracy</th>");
}

/* A trial's choices, one node per line ("seq_blocks_2: integer, weight_width 4, ..."). */
static void choices_cell(Rep *r, StrBuf *sb, const RTrial *t) {
  const char *node = NULL;
  for (int i = 0; t->x && i < r->nparams; i++) {
    const char *key = json_get(&r->params[i], "key")->str, *slash = strchr(key, '/');
    size_t nl = slash ? (size_t)(slash - key) : strlen(key);
    const char *field = slash && strchr(slash + 1, '/') ? strchr(slash + 1, '/') + 1 : key;
    if (!node || strncmp(node, key, nl) != 0 || node[nl] != '/') {
      sb_puts(sb, node ? "<br>" : "");
      char *n = arena_strndup(r->a, key, nl);
      sb_put_html(sb, n ? n : "?");
      sb_puts(sb, ":");
      node = key;
    }
    sb_puts(sb, " "), sb_put_html(sb, field), sb_puts(sb, "="), sb_put_html(sb, choice(r, t, i));
  }
}

static void front_table(Rep *r, StrBuf *sb) {
  sb_puts(sb, "<h2>Pareto front</h2>\n<table>\n<tr><th>trial</th>");
  header_cells(r, sb);
  sb_puts(sb, "<th>config</th><th>choices</th></tr>\n<tr class=\"ref\"><td>float</td>");
  metric_cells(r, sb, r->ref, r->ref_test);
  sb_puts(sb, "<td></td><td>the float checkpoint</td></tr>\n");
  for (int i = 0; i < r->ntrials; i++) {
    const RTrial *t = &r->t[i];
    if (!t->front || !ok(t)) continue;
    sb_printf(sb, "<tr><td>%d</td>", i);
    metric_cells(r, sb, t->metric, t->test_acc);
    sb_printf(sb, "<td><a href=\"front/trial-%03d.toml\">trial-%03d.toml</a></td><td>", i, i);
    choices_cell(r, sb, t);
    sb_puts(sb, "</td></tr>\n");
  }
  sb_puts(sb, "</table>\n");
}

static void trials_table(Rep *r, StrBuf *sb) {
  sb_puts(sb, "<h2>Every trial</h2>\n<table>\n<tr><th>trial</th><th>status</th><th>rung</th><th>epochs</th>");
  header_cells(r, sb);
  sb_puts(sb, "</tr>\n");
  for (int i = 0; i < r->ntrials; i++) {
    const RTrial *t = &r->t[i];
    if (!t->sampled) continue;
    sb_printf(sb, "<tr%s><td>%d</td><td>", t->front ? " class=\"front\"" : "", i);
    sb_put_html(sb, t->scored ? t->status : "pending");
    sb_printf(sb, "</td><td>%d</td><td>%lld</td>", t->scored ? t->rung : -1, (long long)t->epochs);
    metric_cells(r, sb, t->metric, t->test_acc);
    sb_puts(sb, "</tr>\n");
  }
  sb_puts(sb, "</table>\n");
}

static double front_hypervolume(Rep *r) {
  const double **m = arena_alloc(r->a, sizeof *m * (size_t)(r->ntrials + 1));
  bool *okv = arena_alloc(r->a, (size_t)(r->ntrials + 1)), *fr = arena_alloc(r->a, (size_t)(r->ntrials + 1));
  if (!m || !okv || !fr) return NAN;
  for (int i = 0; i < r->ntrials; i++) m[i] = r->t[i].metric, okv[i] = ok(&r->t[i]), fr[i] = r->t[i].front;
  return exp_search_hypervolume(r->nobj, r->obj, r->maximize, m, okv, fr, r->ntrials, r->ref);
}

static void summary(Rep *r, StrBuf *sb) {
  int scored = 0, okn = 0, front = 0;
  for (int i = 0; i < r->ntrials; i++) scored += r->t[i].scored, okn += ok(&r->t[i]), front += r->t[i].front && ok(&r->t[i]);
  const JVal *sm = json_get(&r->js, "sampler"), *sc = json_get(&r->js, "scoring"), *n = json_get(&r->js, "n_trials");
  sb_puts(sb, "<p>Sampler <b>");
  sb_put_html(sb, sm && sm->kind == J_STR ? sm->str : "?");
  sb_puts(sb, "</b>, scoring <b>");
  sb_put_html(sb, sc && sc->kind == J_STR ? sc->str : "?");
  sb_printf(sb, "</b>%s; %d of %s trials scored (%d ok), %d on the front.",
            json_get(&r->js, "asha") && json_get(&r->js, "asha")->b ? " with ASHA" : "", scored,
            n && n->kind == J_NUM ? n->str : "?", okn, front);
  double hv = front_hypervolume(r);
  if (isfinite(hv)) sb_printf(sb, " Hypervolume of the front: %.6g (spec/search.md §6).", hv);
  sb_puts(sb, "</p>\n<pre>jscc");
  const JVal *av = json_get(&r->js, "argv");
  for (int i = 0; av && av->kind == J_ARR && i < av->n; i++)
    if (av->items[i].kind == J_STR) sb_puts(sb, " "), sb_put_html(sb, av->items[i].str);
  sb_puts(sb, "</pre>\n");
}

static void page(Rep *r, StrBuf *sb, const ExpFigure *figs, int nfigs) {
  sb_puts(sb, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>jscc search: ");
  sb_put_html(sb, r->dir);
  sb_puts(sb, "</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;"
              "margin:1em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right;vertical-align:top}"
              "td:last-child{text-align:left}tr.ref{color:#555;font-style:italic}tr.front{font-weight:bold}"
              "figure{margin:1em 0}figure svg{max-width:100%;height:auto}</style>\n</head>\n<body>\n<h1>jscc search: ");
  sb_put_html(sb, r->dir);
  sb_puts(sb, "</h1>\n");
  summary(r, sb);
  front_table(r, sb);
  if (nfigs) sb_puts(sb, "<h2>Figures</h2>\n");
  else if (!exp_plot_available()) sb_puts(sb, "<p>No figures: this jscc was built without PLplot.</p>\n");
  else sb_puts(sb, "<p>No figures yet: no trial has scored.</p>\n");
  for (int i = 0; i < nfigs; i++) {
    sb_printf(sb, "<figure id=\"%s\">\n<h3>", figs[i].name);
    sb_put_html(sb, figs[i].title);
    sb_puts(sb, "</h3>\n");
    sb_putn(sb, figs[i].svg, figs[i].svg_len);
    sb_puts(sb, "\n<figcaption>");
    sb_put_html(sb, figs[i].caption);
    sb_puts(sb, "</figcaption>\n</figure>\n");
  }
  trials_table(r, sb);
  sb_puts(sb, "</body>\n</html>\n");
}

Status exp_search_report(const char *dir, const ExpReportOpts *o, Diag *d) {
  Rep r = {.dir = dir, .d = d};
  if (!(r.a = arena_new())) return diag_oom(d);
  char *jpath = arena_printf(r.a, "%s/journal.jsonl", dir), *out = arena_strdup(r.a, o && o->out ? o->out : dir);
  char *figdir = out ? arena_printf(r.a, "%s/figures", out) : NULL;
  Status st = jpath && figdir ? read_json(&r) : diag_oom(d);
  if (!st && access(jpath, F_OK) == 0) st = exp_journal_read(jpath, on_event, &r, d);
  if (!st) st = read_front(&r);
  ExpFigure figs[3];
  int nfigs = 0;
  if (!st && !(o && o->no_figures)) st = figures(&r, figdir, figs, &nfigs);
  StrBuf sb;
  sb_init(&sb);
  if (!st) page(&r, &sb, figs, nfigs);
  if (!st) st = sb.oom ? diag_oom(d) : exp_write_file(&sb, out, "report.html", d);
  sb_free(&sb);
  arena_free(r.a);
  return st;
}
