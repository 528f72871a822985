/* exp/report.c — `jscc report`: a sweep directory or run directories (and emit directories)
 * read into an ExpStudy, and report.html written from it (spec/sweep.md §5).
 *
 * The report is rebuilt after every finished trial of a sweep, so it reads only what is
 * cheap: sweep.json, results.csv and each trial's metrics.csv (plus one manifest.json for the
 * data's description), and each emit directory's emit.json (exp/hwdesigns.c), shown in
 * their own section.  Everything the study owns lives in one arena.  Input errors name the
 * file, line and column (the Diag prints the line); the page is written only when the whole
 * study was read, and atomically (sb_write_file), so a reader never sees half a report. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exp.h"

/* ==== columns and metrics ==== */

static const struct {
  const char *name;
  bool up;
} cols[EXP_NCOLS] = {
#define X(id, name, up) {name, up},
    EXP_RESULT_COLS(X)
#undef X
};

const char *exp_col_name(ExpCol c) { return cols[c].name; }
bool exp_col_higher_better(ExpCol c) { return cols[c].up; }

bool exp_metric_parse(const char *name, ExpCol *out) {
  /* The sweep's own spelling (sweep.json's "metric": val_acc) means the last epoch's. */
  if (strcmp(name, "val_acc") == 0) name = "final_val_acc";
  if (strcmp(name, "train_acc") == 0) name = "final_train_acc";
  for (int c = 0; c < EXP_NCOLS; c++)
    if (strcmp(cols[c].name, name) == 0) return *out = (ExpCol)c, true;
  return false;
}

/* ==== reading: locations, files, numbers ==== */

/* What a reader needs: the arena, the Diag, and the file being read (for locations). */
typedef struct Rd {
  ExpStudy *s;
  Diag *d;
  const SrcFile *src;
} Rd;

static SrcLoc rd_loc(const Rd *r, size_t pos) { return diag_loc_at(r->src, pos); }

static Status rd_err(const Rd *r, size_t pos, const char *fmt, ...) JS_PRINTF(3, 4);
static Status rd_err(const Rd *r, size_t pos, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(r->d, DIAG_ERROR, rd_loc(r, pos), fmt, ap);
  va_end(ap);
  return JS_ERR;
}

static char *path_join(Arena *a, const char *dir, const char *name) {
  size_t n = strlen(dir);
  return arena_printf(a, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", name);
}

/* On the stack rather than in the arena: an allocation failure here would read as "no such
 * file" and change what the directory is taken for. */
static bool file_exists(const char *dir, const char *name, Arena *a) {
  char p[4096];
  struct stat st;
  (void)a;
  int n = snprintf(p, sizeof p, "%s/%s", dir, name);
  return n > 0 && (size_t)n < sizeof p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* DIR/NAME into r->src; JS_EIO (reported) when it cannot be read. */
static Status rd_open(Rd *r, const char *dir, const char *name) {
  char *p = path_join(r->s->arena, dir, name);
  if (!p) return diag_oom(r->d);
  SrcFile *f;
  Status st = diag_read_file(r->s->arena, p, &f, r->d);
  if (st == JS_OK) r->src = f;
  return st;
}

/* The whole of s[0..n) as a number; empty is NAN.  False for anything else. */
static bool parse_num(const char *s, double *out) {
  if (!*s) return *out = NAN, true;
  char *end;
  errno = 0;
  *out = strtod(s, &end);
  return *end == 0 && end != s;
}

/* ==== CSV ==== */

/* A CSV file split into fields; quoted fields ("a,b", "" for a quote) are decoded. */
typedef struct Csv {
  int ncols;
  const char **head;    /* [ncols] */
  int nrows;
  const char ***rows;   /* [nrows][ncols] */
  size_t *row_pos;      /* [nrows] byte offset of each row, for messages */
  size_t **field_pos;   /* [nrows][ncols] byte offset of each field */
} Csv;

/* One field starting at text[*i]; *i is left on the separator or line end. */
static char *csv_field(Arena *a, const char *t, size_t n, size_t *i) {
  StrBuf sb;
  sb_init(&sb);
  if (*i < n && t[*i] == '"') {
    for ((*i)++; *i < n; (*i)++) {
      if (t[*i] == '"' && (*i + 1 >= n || t[*i + 1] != '"')) { (*i)++; break; }
      if (t[*i] == '"') (*i)++;
      sb_putc(&sb, t[*i]);
    }
  }
  while (*i < n && t[*i] != ',' && t[*i] != '\n' && t[*i] != '\r') sb_putc(&sb, t[(*i)++]);
  char *f = sb.oom ? NULL : arena_strdup(a, sb_str(&sb));
  sb_free(&sb);
  return f;
}

/* arr (n items of `size` bytes, capacity *cap) with room for one more: arr itself or a
 * larger copy; NULL when out of memory. */
static void *grow(Arena *a, void *arr, int n, int *cap, size_t size) {
  if (n < *cap) return arr;
  int ncap = *cap ? 2 * *cap : 16;
  void *q = arena_alloc(a, ncap * size);
  if (q && n) memcpy(q, arr, n * size);
  if (q) *cap = ncap;
  return q;
}

/* The fields of the line at text[*i] into fresh arrays (with each field's offset); *i moves
 * past the line's end. */
static Status csv_line(Rd *r, size_t *i, const char ***fields, size_t **pos, int *nf) {
  const char *t = r->src->text;
  size_t n = r->src->len;
  int cap = 0, pcap = 0;
  *nf = 0, *fields = NULL, *pos = NULL;
  for (;;) {
    if (!(*fields = grow(r->s->arena, *fields, *nf, &cap, sizeof **fields)) ||
        !(*pos = grow(r->s->arena, *pos, *nf, &pcap, sizeof **pos)))
      return diag_oom(r->d);
    (*pos)[*nf] = *i;
    if (!((*fields)[(*nf)++] = csv_field(r->s->arena, t, n, i))) return diag_oom(r->d);
    if (*i >= n || t[*i] != ',') break;
    (*i)++;
  }
  if (*i < n && t[*i] == '\r') (*i)++;
  if (*i < n && t[*i] == '\n') (*i)++;
  return JS_OK;
}

/* The file r->src as a CSV with a header; every row has the header's number of fields.
 * Blank lines are skipped. */
static Status csv_parse(Rd *r, Csv *c) {
  const char *t = r->src->text;
  size_t i = 0, n = r->src->len, *hp;
  if (n == 0) return rd_err(r, 0, "empty file: expected a header line");
  Status st = csv_line(r, &i, &c->head, &hp, &c->ncols);
  int cap[3] = {0, 0, 0}, nf;
  for (c->nrows = 0; !st && i < n; c->nrows++) {
    if (t[i] == '\n' || t[i] == '\r') {
      i++, c->nrows--;
      continue;
    }
    if (!(c->rows = grow(r->s->arena, c->rows, c->nrows, &cap[0], sizeof *c->rows)) ||
        !(c->row_pos = grow(r->s->arena, c->row_pos, c->nrows, &cap[1], sizeof *c->row_pos)) ||
        !(c->field_pos = grow(r->s->arena, c->field_pos, c->nrows, &cap[2], sizeof *c->field_pos)))
      return diag_oom(r->d);
    c->row_pos[c->nrows] = i;
    st = csv_line(r, &i, &c->rows[c->nrows], &c->field_pos[c->nrows], &nf);
    if (!st && nf != c->ncols)
      st = rd_err(r, c->row_pos[c->nrows], "expected %d fields (as the header has), got %d", c->ncols, nf);
  }
  return st;
}

static int csv_col(const Csv *c, const char *name) {
  for (int i = 0; i < c->ncols; i++)
    if (strcmp(c->head[i], name) == 0) return i;
  return -1;
}

/* Row `row`, column `col` as a number (empty: NAN), or an error at the field. */
static Status csv_num(Rd *r, const Csv *c, int row, int col, double *out) {
  if (parse_num(c->rows[row][col], out)) return JS_OK;
  return rd_err(r, c->field_pos[row][col], "column '%s': expected a number, got '%s'", c->head[col],
                c->rows[row][col]);
}

/* ==== metrics.csv ==== */

static Status curve_alloc(Rd *r, ExpCurve *cv, int n) {
  double **arrs[] = {&cv->train_loss, &cv->train_acc, &cv->val_loss, &cv->val_acc, &cv->epoch_seconds};
  cv->n = n;
  for (int k = 0; k < 5; k++)
    if (!(*arrs[k] = arena_alloc(r->s->arena, (n ? n : 1) * sizeof(double)))) return diag_oom(r->d);
  return JS_OK;
}

/* DIR/metrics.csv into *cv: the loss and accuracy columns are required, epochs count 1, 2, ... */
static Status read_metrics(Rd *r, const char *dir, ExpCurve *cv) {
  Csv c = {0};
  Status st = rd_open(r, dir, "metrics.csv");
  if (!st) st = csv_parse(r, &c);
  if (st) return st;
  static const char *const need[] = {"epoch", "train_loss", "train_acc", "val_loss", "val_acc"};
  int col[6];
  for (int k = 0; k < 5; k++)
    if ((col[k] = csv_col(&c, need[k])) < 0) return rd_err(r, 0, "missing column '%s'", need[k]);
  col[5] = csv_col(&c, "epoch_seconds");
  if ((st = curve_alloc(r, cv, c.nrows))) return st;
  double *dst[] = {NULL, cv->train_loss, cv->train_acc, cv->val_loss, cv->val_acc, cv->epoch_seconds};
  for (int i = 0; i < c.nrows; i++) {
    double e;
    if ((st = csv_num(r, &c, i, col[0], &e))) return st;
    if (e != i + 1) return rd_err(r, c.field_pos[i][col[0]], "expected epoch %d, got '%s'", i + 1, c.rows[i][col[0]]);
    for (int k = 1; k < 6; k++) {
      if (col[k] < 0) dst[k][i] = NAN;
      else if ((st = csv_num(r, &c, i, col[k], &dst[k][i]))) return st;
    }
  }
  return JS_OK;
}

/* ==== JSON fields ==== */

static Status read_json(Rd *r, const char *dir, const char *name, JVal *v) {
  Status st = rd_open(r, dir, name);
  if (st) return st;
  JsonError e;
  if (json_parse(r->s->arena, r->src->text, r->src->len, name, v, &e)) return JS_OK;
  if (e.oom) return diag_oom(r->d);
  return rd_err(r, e.pos, "%s", e.msg);
}

static Status j_kind(Rd *r, const JVal *obj, const char *key, JKind k, const char *what, const JVal **out) {
  static const char *const names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};
  *out = json_get(obj, key);
  if (*out && (*out)->kind == k) return JS_OK;
  return rd_err(r, *out ? (*out)->pos : obj->pos, "'%s': expected %s%s", what, names[k], *out ? "" : ", found none");
}

/* An array of strings into a fresh array. */
static Status j_strs(Rd *r, const JVal *obj, const char *key, const char *what, const char ***out, int *n) {
  const JVal *a;
  Status st = j_kind(r, obj, key, J_ARR, what, &a);
  if (st) return st;
  if (!(*out = arena_alloc(r->s->arena, (a->n ? a->n : 1) * sizeof **out))) return diag_oom(r->d);
  for (int i = 0; i < a->n; i++) {
    if (a->items[i].kind != J_STR) return rd_err(r, a->items[i].pos, "'%s[%d]': expected a string", what, i);
    (*out)[i] = a->items[i].str;
  }
  *n = a->n;
  return JS_OK;
}

/* A scalar's text: a string's contents or a number as written ("1e-3" stays "1e-3"; a
 * number's text points into the document, unterminated, so it is copied). */
static const char *j_text(Arena *a, const JVal *v) {
  if (!v) return NULL;
  if (v->kind == J_STR) return v->str;
  if (v->kind == J_NUM) return arena_strndup(a, v->str, v->len);
  if (v->kind == J_BOOL) return v->b ? "true" : "false";
  return NULL;
}

/* ==== sweep.json (read by exp_sweep_read, the sweep's own reader) ==== */

/* An axis's values as the trials use them, in order of first use: the grid's order, and for
 * a --random sweep the values that were drawn (the figures index an axis by its values). */
static Status study_axis(ExpStudy *s, const ExpSweep *sw, int k, Diag *d) {
  ExpStudyAxis *x = &s->axes[k];
  x->name = sw->axes[k].name;
  x->option = sw->axes[k].option;
  if (!(x->values = arena_alloc(s->arena, (size_t)(sw->ntrials + 1) * sizeof *x->values))) return diag_oom(d);
  for (int t = 0; t < sw->ntrials; t++) {
    const char *v = sw->trials[t].values[k];
    int i = 0;
    while (i < x->nvalues && strcmp(x->values[i], v)) i++;
    if (i == x->nvalues) x->values[x->nvalues++] = v;
  }
  if (strcmp(x->name, "seed") == 0) s->seed_axis = k;
  return JS_OK;
}

static Status study_trial(ExpStudy *s, const ExpSweep *sw, int i, Diag *d) {
  ExpStudyTrial *t = &s->trials[i];
  const ExpTrial *st = &sw->trials[i];
  t->id = st->id;
  t->model = s->models[st->model];
  t->status = "pending";
  for (int c = 0; c < EXP_NCOLS; c++) t->res[c] = NAN;
  t->values = (const char **)st->values;
  t->argc = st->argc;
  t->argv = (const char **)st->argv;
  return (t->dir = path_join(s->arena, s->dir, st->dir)) ? JS_OK : diag_oom(d);
}

/* The study's sweep part from sw (whose strings live as long as the study: s->sweep_def). */
static Status study_of_sweep(ExpStudy *s, const ExpSweep *sw, Diag *d) {
  s->command = sw->command;
  s->nmodels = sw->nmodels;
  s->nfixed = sw->nfixed;
  s->fixed = (const char **)sw->fixed;
  s->naxes = sw->naxes;
  s->ntrials = sw->ntrials;
  s->models = arena_alloc(s->arena, (size_t)(sw->nmodels + 1) * sizeof *s->models);
  s->model_paths = arena_alloc(s->arena, (size_t)(sw->nmodels + 1) * sizeof *s->model_paths);
  s->axes = arena_alloc(s->arena, (size_t)(sw->naxes + 1) * sizeof *s->axes);
  s->trials = arena_alloc(s->arena, (size_t)(sw->ntrials + 1) * sizeof *s->trials);
  if (!s->models || !s->model_paths || !s->axes || !s->trials) return diag_oom(d);
  for (int i = 0; i < sw->nmodels; i++) s->models[i] = sw->models[i].name, s->model_paths[i] = sw->models[i].path;
  Status st = JS_OK;
  for (int k = 0; !st && k < sw->naxes; k++) st = study_axis(s, sw, k, d);
  for (int i = 0; !st && i < sw->ntrials; i++) st = study_trial(s, sw, i, d);
  return st;
}

static Status read_sweep_json(Rd *r) {
  Status st = exp_sweep_read(r->s->dir, &r->s->sweep_def, r->d);
  return st ? st : study_of_sweep(r->s, r->s->sweep_def, r->d);
}

/* ==== results.csv ==== */

static ExpStudyTrial *trial_by_id(ExpStudy *s, int id) {
  for (int i = 0; i < s->ntrials; i++)
    if (s->trials[i].id == id) return &s->trials[i];
  return NULL;
}

/* The header must hold id, model, the sweep's axes in order right after model, status, dir. */
static Status results_header(Rd *r, const Csv *c) {
  const ExpStudy *s = r->s;
  static const char *const need[] = {"id", "model", "status", "dir"};
  for (int k = 0; k < 4; k++)
    if (csv_col(c, need[k]) < 0) return rd_err(r, 0, "missing column '%s'", need[k]);
  int m = csv_col(c, "model");
  for (int k = 0; k < s->naxes; k++)
    if (m + 1 + k >= c->ncols || strcmp(c->head[m + 1 + k], s->axes[k].name) != 0)
      return rd_err(r, 0, "expected the axis column '%s' after 'model' (sweep.json's axes, in order)", s->axes[k].name);
  return JS_OK;
}

/* One row: the trial it names (its values must match sweep.json), its status and numbers. */
static Status results_row(Rd *r, const Csv *c, int row) {
  ExpStudy *s = r->s;
  double id;
  int ci = csv_col(c, "id"), cm = csv_col(c, "model"), cs = csv_col(c, "status");
  Status st = csv_num(r, c, row, ci, &id);
  if (st) return st;
  ExpStudyTrial *t = isfinite(id) ? trial_by_id(s, (int)id) : NULL;
  if (!t || t->id != id) return rd_err(r, c->field_pos[row][ci], "no trial '%s' in sweep.json", c->rows[row][ci]);
  for (int k = 0; k < s->naxes; k++)
    if (strcmp(c->rows[row][cm + 1 + k], t->values[k]) != 0)
      return rd_err(r, c->field_pos[row][cm + 1 + k], "trial %d has %s '%s' in sweep.json, not '%s'", t->id,
                    s->axes[k].name, t->values[k], c->rows[row][cm + 1 + k]);
  static const char *const statuses[] = {"ok", "diverged", "failed"};
  int k = 0;
  while (k < 3 && strcmp(c->rows[row][cs], statuses[k])) k++;
  if (k == 3) return rd_err(r, c->field_pos[row][cs], "status: expected ok, diverged or failed, got '%s'", c->rows[row][cs]);
  t->status = statuses[k];
  for (int col = 0; col < EXP_NCOLS; col++) {
    int j = csv_col(c, cols[col].name);
    if (j >= 0 && (st = csv_num(r, c, row, j, &t->res[col]))) return st;
  }
  int ce = csv_col(c, "error");
  if (ce >= 0 && c->rows[row][ce][0]) t->error = c->rows[row][ce];
  return JS_OK;
}

/* results.csv, when the sweep has finished a trial yet. */
static Status read_results(Rd *r) {
  if (!file_exists(r->s->dir, "results.csv", r->s->arena)) return JS_OK;
  Csv c = {0};
  Status st = rd_open(r, r->s->dir, "results.csv");
  if (!st) st = csv_parse(r, &c);
  if (!st) st = results_header(r, &c);
  for (int i = 0; i < c.nrows && !st; i++) st = results_row(r, &c, i);
  return st;
}

/* Each trial's metrics.csv, where the trial has started one. */
static Status sweep_curves(Rd *r) {
  ExpStudy *s = r->s;
  for (int i = 0; i < s->ntrials; i++) {
    ExpStudyTrial *t = &s->trials[i];
    if (!file_exists(t->dir, "metrics.csv", s->arena)) continue;
    Status st = read_metrics(r, t->dir, &t->curve);
    if (st) return st;
    if (!strcmp(t->status, "pending") && t->curve.n) t->status = "running";
  }
  return JS_OK;
}

/* The data's description from the first trial that has a manifest (all share the data). */
static Status sweep_data(Rd *r) {
  for (int i = 0; i < r->s->ntrials; i++) {
    if (!file_exists(r->s->trials[i].dir, "manifest.json", r->s->arena)) continue;
    JVal man;
    Status st = read_json(r, r->s->trials[i].dir, "manifest.json", &man);
    if (st) return st;
    r->s->data = j_text(r->s->arena, json_get(json_get(&man, "data"), "description"));
    return JS_OK;
  }
  return JS_OK;
}

static Status load_sweep(Rd *r) {
  Status st = read_sweep_json(r);
  if (!st) st = read_results(r);
  if (!st) st = sweep_curves(r);
  if (!st) st = sweep_data(r);
  return st;
}

/* ==== run directories ==== */

/* The results a sweep would have written, from the run's own curve (spec/sweep.md 2.2). */
static void run_results(ExpStudyTrial *t) {
  const ExpCurve *cv = &t->curve;
  int best = -1;
  double secs = 0;
  bool finite = true;
  for (int i = 0; i < cv->n; i++) {
    finite = finite && isfinite(cv->train_loss[i]) && isfinite(cv->val_loss[i]);
    if (isfinite(cv->val_loss[i]) && (best < 0 || cv->val_loss[i] < cv->val_loss[best])) best = i;
    secs += cv->epoch_seconds[i];
  }
  t->status = cv->n == 0 ? "pending" : finite ? "ok" : "diverged";
  if (best >= 0) {
    t->res[EXP_COL_BEST_EPOCH] = best + 1;
    t->res[EXP_COL_BEST_VAL_LOSS] = cv->val_loss[best];
    t->res[EXP_COL_BEST_VAL_ACC] = cv->val_acc[best];
  }
  if (cv->n) {
    t->res[EXP_COL_FINAL_TRAIN_ACC] = cv->train_acc[cv->n - 1];
    t->res[EXP_COL_FINAL_VAL_ACC] = cv->val_acc[cv->n - 1];
    t->res[EXP_COL_MEAN_EPOCH_SECONDS] = secs / cv->n;
  }
}

/* A run directory is a trial; its manifest gives the model, command and hyper-parameters. */
static Status load_run(Rd *r, const char *dir, int id, ExpStudyTrial *t, JVal *man) {
  ExpStudy *s = r->s;
  t->id = id;
  t->dir = dir;
  t->model = "?";
  for (int c = 0; c < EXP_NCOLS; c++) t->res[c] = NAN;
  man->kind = J_NULL;
  Status st = JS_OK;
  if (file_exists(dir, "manifest.json", s->arena) && !(st = read_json(r, dir, "manifest.json", man))) {
    const JVal *model = json_get(man, "model");
    if (j_text(s->arena, json_get(model, "name"))) t->model = j_text(s->arena, json_get(model, "name"));
    t->res[EXP_COL_PARAMS] = json_num(json_get(model, "trainable_parameters"));
    if (json_get(man, "argv")) st = j_strs(r, man, "argv", "argv", &t->argv, &t->argc);
    if (!s->data) s->data = j_text(s->arena, json_get(json_get(man, "data"), "description"));
  }
  if (!st && file_exists(dir, "metrics.csv", s->arena)) st = read_metrics(r, dir, &t->curve);
  else if (!st) st = curve_alloc(r, &t->curve, 0);
  if (!st) run_results(t);
  return st;
}

/* A hyper-parameter's value in run i's manifest, as text ("?" when it has none). */
static const char *run_hparam(ExpStudy *s, const JVal *man, const char *key) {
  const JVal *hp = json_get(man, "hyperparameters");
  const char *v = j_text(s->arena, strcmp(key, "seed") == 0 ? json_get(man, "seed") : json_get(hp, key));
  return v ? v : "?";
}

static Status add_axis_value(ExpStudy *s, ExpStudyAxis *x, const char *v, Diag *d) {
  for (int i = 0; i < x->nvalues; i++)
    if (strcmp(x->values[i], v) == 0) return JS_OK;
  const char **nv = arena_alloc(s->arena, (x->nvalues + 1) * sizeof *nv);
  if (!nv) return diag_oom(d);
  if (x->nvalues) memcpy(nv, x->values, x->nvalues * sizeof *nv);
  nv[x->nvalues++] = v;
  x->values = nv;
  return JS_OK;
}

/* The keys of the first manifest's hyper-parameters (and the seed) that differ across runs. */
static Status runs_axes(ExpStudy *s, const JVal *mans, Diag *d) {
  const JVal *hp = json_get(&mans[0], "hyperparameters");
  int nkeys = hp && hp->kind == J_OBJ ? hp->n : 0;
  if (!(s->axes = arena_alloc(s->arena, (nkeys + 2) * sizeof *s->axes))) return diag_oom(d);
  for (int k = -1; k < nkeys; k++) {
    const char *key = k < 0 ? "seed" : hp->keys[k];
    ExpStudyAxis *x = &s->axes[s->naxes];
    *x = (ExpStudyAxis){.name = key};
    for (int i = 0; i < s->ntrials; i++)
      if (add_axis_value(s, x, run_hparam(s, &mans[i], key), d)) return JS_ENOMEM;
    if (x->nvalues < 2) continue;
    if (!(x->option = arena_printf(s->arena, "--%s", key))) return diag_oom(d);
    for (char *p = (char *)x->option; *p; p++) if (*p == '_') *p = '-';
    if (k < 0) s->seed_axis = s->naxes;
    s->naxes++;
  }
  return JS_OK;
}

/* Each trial's value on each axis, and the distinct models. */
static Status runs_values(ExpStudy *s, const JVal *mans, Diag *d) {
  if (!(s->models = arena_alloc(s->arena, s->ntrials * sizeof *s->models)) ||
      !(s->model_paths = arena_alloc(s->arena, s->ntrials * sizeof *s->model_paths)))
    return diag_oom(d);
  for (int i = 0; i < s->ntrials; i++) {
    ExpStudyTrial *t = &s->trials[i];
    if (!(t->values = arena_alloc(s->arena, (s->naxes + 1) * sizeof *t->values))) return diag_oom(d);
    for (int k = 0; k < s->naxes; k++) t->values[k] = run_hparam(s, &mans[i], s->axes[k].name);
    int m = 0;
    while (m < s->nmodels && strcmp(s->models[m], t->model)) m++;
    if (m == s->nmodels) {
      s->models[m] = t->model;
      s->model_paths[m] = j_text(s->arena, json_get(json_get(&mans[i], "model"), "path"));
      s->nmodels++;
    }
  }
  return JS_OK;
}

static Status load_runs(Rd *r, const char *const *dirs, int ndirs) {
  ExpStudy *s = r->s;
  JVal *mans = arena_alloc(s->arena, ndirs * sizeof *mans);
  if (!mans || !(s->trials = arena_alloc(s->arena, ndirs * sizeof *s->trials))) return diag_oom(r->d);
  s->ntrials = ndirs;
  for (int i = 0; i < ndirs; i++) {
    Status st = load_run(r, dirs[i], i, &s->trials[i], &mans[i]);
    if (st) return st;
  }
  if (ndirs == 1 && mans[0].kind == J_OBJ) s->command = j_text(s->arena, json_get(&mans[0], "command"));
  Status st = runs_axes(s, mans, r->d);
  return st ? st : runs_values(s, mans, r->d);
}

/* ==== points: trials that differ only in seed ==== */

static bool same_point(const ExpStudy *s, const ExpStudyTrial *a, const ExpStudyTrial *b) {
  if (strcmp(a->model, b->model)) return false;
  for (int k = 0; k < s->naxes; k++)
    if (k != s->seed_axis && strcmp(a->values[k], b->values[k])) return false;
  return true;
}

static Status make_points(ExpStudy *s, Diag *d) {
  s->points = arena_alloc(s->arena, (s->ntrials + 1) * sizeof *s->points);
  if (!s->points) return diag_oom(d);
  for (int i = 0; i < s->ntrials; i++) {
    int p = 0;
    while (p < s->npoints && !same_point(s, &s->trials[s->points[p].trials[0]], &s->trials[i])) p++;
    ExpPoint *pt = &s->points[p];
    if (p == s->npoints) {
      s->npoints++;
      if (!(pt->trials = arena_alloc(s->arena, s->ntrials * sizeof *pt->trials))) return diag_oom(d);
    }
    pt->trials[pt->ntrials++] = i;
    s->trials[i].point = p;
  }
  return JS_OK;
}

/* ==== loading ==== */

static bool is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Every argument is a directory; a sweep comes alone (but for emit directories); anything
 * else is a run directory.  dirs[] here are the arguments that are not emit directories. */
static Status check_dirs(ExpStudy *s, const char *const *dirs, int ndirs, Diag *d) {
  for (int i = 0; i < ndirs; i++) {
    bool sweep = file_exists(dirs[i], "sweep.json", s->arena);
    if (file_exists(dirs[i], "search.json", s->arena)) /* alone it has its own page (exp_search_report) */
      return diag_error(d, (SrcLoc){0}, "'%s' is a jscc search: report on it alone", dirs[i]);
    if (sweep && ndirs > 1)
      return diag_error(d, (SrcLoc){0}, "'%s' is a sweep: report on it alone (or with emit directories)", dirs[i]);
    if (!sweep && !file_exists(dirs[i], "metrics.csv", s->arena) && !file_exists(dirs[i], "manifest.json", s->arena))
      return diag_error(d, (SrcLoc){0},
                        "'%s' is neither a sweep (sweep.json) nor a run directory (metrics.csv, manifest.json) nor "
                        "an emit directory (emit.json)", dirs[i]);
    s->sweep = sweep;
  }
  return JS_OK;
}

/* The emit directories among dirs read into s->designs (in order), the others into
 * train[*ntrain]; every argument must be a directory. */
static Status split_dirs(ExpStudy *s, const char *const *dirs, int ndirs, const char **train, int *ntrain, Diag *d) {
  if (!(s->designs = arena_alloc(s->arena, (size_t)(ndirs + 1) * sizeof *s->designs))) return diag_oom(d);
  *ntrain = 0;
  for (int i = 0; i < ndirs; i++)
    if (!is_dir(dirs[i])) return diag_error(d, (SrcLoc){0}, "'%s': not a directory", dirs[i]);
  for (int i = 0; i < ndirs; i++) {
    if (!exp_hw_is_emit_dir(dirs[i])) {
      train[(*ntrain)++] = dirs[i];
      continue;
    }
    Status st = exp_hw_read(s->arena, dirs[i], &s->designs[s->ndesigns], d);
    if (st) return st;
    s->ndesigns++;
  }
  return JS_OK;
}

/* The sweep or run directories (if any) and the emit directories. */
static Status load_dirs(Rd *r, const char *const *dirs, int ndirs) {
  ExpStudy *s = r->s;
  const char **train = arena_alloc(s->arena, (size_t)(ndirs + 1) * sizeof *train);
  int ntrain;
  if (!train) return diag_oom(r->d);
  Status st = split_dirs(s, dirs, ndirs, train, &ntrain, r->d);
  if (!st) st = check_dirs(s, train, ntrain, r->d);
  if (st || ntrain == 0) return st;
  s->dir = train[0];
  return s->sweep ? load_sweep(r) : load_runs(r, train, ntrain);
}

Status exp_study_load(const char *const *dirs, int ndirs, ExpStudy **out, Diag *d) {
  *out = NULL;
  if (ndirs < 1) return diag_error(d, (SrcLoc){0}, "no directory to report on");
  Arena *a = arena_new();
  ExpStudy *s = a ? arena_alloc(a, sizeof *s) : NULL;
  if (!s) return arena_free(a), diag_oom(d);
  s->arena = a;
  s->seed_axis = -1;
  s->dir = dirs[0];
  Rd r = {s, d, NULL};
  Status st = load_dirs(&r, dirs, ndirs);
  if (!st) st = make_points(s, d);
  if (st) return exp_study_free(s), st;
  *out = s;
  return JS_OK;
}

void exp_study_free(ExpStudy *s) {
  if (!s) return;
  exp_sweep_free(s->sweep_def);
  arena_free(s->arena);
}

int exp_axis_find(const ExpStudy *s, const char *name) {
  for (int k = 0; k < s->naxes; k++)
    if (strcmp(s->axes[k].name, name) == 0) return k;
  return -1;
}

/* ==== ranking and statistics ==== */

/* Negative when trial a ranks before b: ok before the rest, then by col, then by id. */
static int rank_cmp(const ExpStudy *s, ExpCol col, int a, int b) {
  const ExpStudyTrial *x = &s->trials[a], *y = &s->trials[b];
  bool okx = strcmp(x->status, "ok") == 0, oky = strcmp(y->status, "ok") == 0;
  if (okx != oky) return okx ? -1 : 1;
  double u = x->res[col], v = y->res[col];
  if (isnan(u) != isnan(v)) return isnan(u) ? 1 : -1;
  if (u != v && !isnan(u)) return (u > v) == cols[col].up ? -1 : 1;
  return x->id - y->id;
}

void exp_rank(const ExpStudy *s, ExpCol col, int *order) {
  /* Insertion sort: stable, no comparator context needed, and sweeps have few trials. */
  for (int i = 0; i < s->ntrials; i++) {
    int j = i;
    for (; j > 0 && rank_cmp(s, col, order[j - 1], i) > 0; j--) order[j] = order[j - 1];
    order[j] = i;
  }
}

int exp_best(const ExpStudy *s, ExpCol col) {
  int best = -1;
  for (int i = 0; i < s->ntrials; i++)
    if (!strcmp(s->trials[i].status, "ok") && !isnan(s->trials[i].res[col]) && (best < 0 || rank_cmp(s, col, i, best) < 0))
      best = i;
  return best;
}

int exp_point_stat(const ExpStudy *s, int point, ExpCol col, double *mean, double *std) {
  const ExpPoint *p = &s->points[point];
  double sum = 0, sq = 0;
  int n = 0;
  for (int i = 0; i < p->ntrials; i++) {
    const ExpStudyTrial *t = &s->trials[p->trials[i]];
    if (strcmp(t->status, "ok") || isnan(t->res[col])) continue;
    sum += t->res[col];
    n++;
  }
  *mean = n ? sum / n : NAN;
  for (int i = 0; i < p->ntrials; i++) {
    const ExpStudyTrial *t = &s->trials[p->trials[i]];
    if (!strcmp(t->status, "ok") && !isnan(t->res[col])) sq += (t->res[col] - *mean) * (t->res[col] - *mean);
  }
  *std = n > 1 ? sqrt(sq / (n - 1)) : NAN;
  return n;
}

/* ==== HTML ==== */

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0: no overlong forms, surrogates or
 * code points above U+10FFFF. */
static int utf8_len(const unsigned char *s) {
  unsigned c = s[0], min, cp;
  int len;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) len = 2, min = 0x80, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, min = 0x800, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, min = 0x10000, cp = c & 0x07;
  else return 0;
  for (int i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0; /* also stops at the NUL */
    cp = cp << 6 | (s[i] & 0x3F);
  }
  return cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ? 0 : len;
}

void sb_put_html(StrBuf *sb, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    int n = utf8_len(p);
    switch (*p) {
    case '&': sb_puts(sb, "&amp;"); break;
    case '<': sb_puts(sb, "&lt;"); break;
    case '>': sb_puts(sb, "&gt;"); break;
    case '"': sb_puts(sb, "&quot;"); break;
    case '\'': sb_puts(sb, "&#39;"); break;
    default:
      if (n == 0) sb_puts(sb, "\xEF\xBF\xBD"); /* U+FFFD: the page stays valid UTF-8 */
      else if (*p < 0x20 && *p != '\n' && *p != '\t') sb_printf(sb, "&#xFFFD;");
      else sb_putn(sb, (const char *)p, n);
    }
    p += n ? n : 1;
  }
}

/* A command-line word as a POSIX shell would need it: bare when safe, else single-quoted. */
static void put_shell_word(StrBuf *sb, const char *w) {
  bool bare = *w != 0;
  for (const char *p = w; *p && bare; p++)
    bare = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=:,+-@%", *p) != NULL;
  if (bare) {
    sb_puts(sb, w);
    return;
  }
  sb_putc(sb, '\'');
  for (const char *p = w; *p; p++)
    if (*p == '\'') sb_puts(sb, "'\\''");
    else sb_putc(sb, *p);
  sb_putc(sb, '\'');
}

static void put_argv_html(StrBuf *sb, int argc, const char *const *argv) {
  StrBuf cmd;
  sb_init(&cmd);
  for (int i = 0; i < argc; i++) {
    if (i) sb_putc(&cmd, ' ');
    put_shell_word(&cmd, argv[i]);
  }
  sb_put_html(sb, sb_str(&cmd));
  if (cmd.oom) sb->oom = true;
  sb_free(&cmd);
}

/* A result as the table shows it: accuracies and losses to 4 places, counts whole. */
static void put_num(StrBuf *sb, ExpCol c, double v) {
  if (isnan(v)) return;
  if (!isfinite(v)) sb_puts(sb, v > 0 ? "inf" : "-inf");
  else if (c == EXP_COL_BEST_EPOCH || c == EXP_COL_PARAMS) sb_printf(sb, "%.0f", v);
  else if (c == EXP_COL_MEAN_EPOCH_SECONDS || c == EXP_COL_SAMPLES_PER_SECOND) sb_printf(sb, "%.3g", v);
  else sb_printf(sb, "%.4f", v);
}

static void base64(StrBuf *sb, const unsigned char *p, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=', i + 2 < n ? tab[v & 63] : '='};
    sb_putn(sb, q, 4);
  }
}

/* Columns with a value in at least one trial (a sweep without `jscc test` has no test_acc). */
static void used_cols(const ExpStudy *s, bool used[EXP_NCOLS]) {
  for (int c = 0; c < EXP_NCOLS; c++) {
    used[c] = false;
    for (int i = 0; i < s->ntrials && !used[c]; i++) used[c] = !isnan(s->trials[i].res[c]);
  }
}

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"generator\" content=\"jscc report\">\n<title>";
static const char page_style[] =
    "</title>\n<style>\n"
    "body{font-family:sans-serif;margin:1.5em 2em;color:#222}\n"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em;border-bottom:1px solid #ccc}\n"
    "table{border-collapse:collapse;margin:.5em 0}\n"
    "th,td{border:1px solid #ccc;padding:.2em .5em;text-align:right;white-space:nowrap}\n"
    "table.results,table.seeds,table.hw{font-size:.9em}div.wide{overflow-x:auto}th[colspan]{text-align:center}\n"
    "th{background:#f0f0f0;white-space:normal}.l{text-align:left}table.meta th{text-align:left}\n"
    "tr.best td{background:#fff2a8;font-weight:bold}\n"
    "td.diverged,td.failed{color:#b00000}td.pending,td.running{color:#777}td.est{font-style:italic;color:#555}\n"
    "figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top;width:560px}\n"
    "figure img{width:560px;height:392px;border:1px solid #ddd}\n"
    "figcaption{font-size:.9em}code{font-size:.9em}\n"
    "</style>\n</head>\n<body>\n";

static void html_meta_row(StrBuf *sb, const char *key, const char *val, bool code) {
  sb_printf(sb, "<tr><th>%s</th><td class=\"l\">%s", key, code ? "<code>" : "");
  sb_put_html(sb, val);
  sb_printf(sb, "%s</td></tr>\n", code ? "</code>" : "");
}

static void html_axes_row(StrBuf *sb, const ExpStudy *s) {
  sb_puts(sb, "<tr><th>swept</th><td class=\"l\">");
  if (s->naxes == 0) sb_puts(sb, "nothing");
  for (int k = 0; k < s->naxes; k++) {
    sb_puts(sb, k ? "; " : "");
    sb_put_html(sb, s->axes[k].name);
    sb_puts(sb, " &isin; {");
    for (int v = 0; v < s->axes[k].nvalues; v++) {
      sb_puts(sb, v ? ", " : "");
      sb_put_html(sb, s->axes[k].values[v]);
    }
    sb_puts(sb, "}");
  }
  sb_puts(sb, "</td></tr>\n");
}

static void html_models_row(StrBuf *sb, const ExpStudy *s) {
  sb_puts(sb, "<tr><th>models</th><td class=\"l\">");
  for (int m = 0; m < s->nmodels; m++) {
    sb_puts(sb, m ? ", " : "");
    sb_put_html(sb, s->models[m]);
    if (s->model_paths[m]) {
      sb_puts(sb, " (<code>");
      sb_put_html(sb, s->model_paths[m]);
      sb_puts(sb, "</code>)");
    }
  }
  sb_puts(sb, "</td></tr>\n");
}

/* "8 (5 ok, 1 diverged, 1 failed, 1 pending)" */
static void html_count_row(StrBuf *sb, const ExpStudy *s) {
  static const char *const st[] = {"ok", "diverged", "failed", "running", "pending"};
  sb_printf(sb, "<tr><th>trials</th><td class=\"l\">%d (", s->ntrials);
  bool first = true;
  for (int k = 0; k < 5; k++) {
    int n = 0;
    for (int i = 0; i < s->ntrials; i++) n += strcmp(s->trials[i].status, st[k]) == 0;
    if (n) sb_printf(sb, "%s%d %s", first ? "" : ", ", n, st[k]), first = false;
  }
  sb_puts(sb, ")</td></tr>\n");
}

static void html_header(StrBuf *sb, const ExpStudy *s, const ExpReportOpts *o) {
  sb_puts(sb, page_head);
  sb_puts(sb, "jscc report: ");
  sb_put_html(sb, s->dir);
  sb_puts(sb, page_style);
  sb_printf(sb, "<h1>jscc report: %s <code>", s->sweep ? "sweep" : s->ntrials > 1 ? "runs" : "run");
  sb_put_html(sb, s->dir);
  sb_puts(sb, "</code></h1>\n<table class=\"meta\">\n");
  if (s->command) html_meta_row(sb, "command", s->command, true);
  html_models_row(sb, s);
  html_axes_row(sb, s);
  if (s->nfixed) {
    StrBuf f;
    sb_init(&f);
    for (int i = 0; i < s->nfixed; i++) sb_puts(&f, i ? " " : ""), put_shell_word(&f, s->fixed[i]);
    html_meta_row(sb, "fixed", sb_str(&f), true);
    sb_free(&f);
  }
  html_meta_row(sb, "data", s->data ? s->data : "unknown (no manifest.json yet)", false);
  html_count_row(sb, s);
  if (s->ndesigns)
    sb_printf(sb, "<tr><th>designs</th><td class=\"l\">%d (<a href=\"#hardware\">hardware designs</a>)</td></tr>\n",
              s->ndesigns);
  sb_printf(sb, "<tr><th>ranked by</th><td class=\"l\">%s (%s is better)</td></tr>\n</table>\n",
            exp_col_name(o->metric), exp_col_higher_better(o->metric) ? "higher" : "lower");
}

/* A column name that may break after its underscores (the results table fits a screen). */
static void put_col_name(StrBuf *sb, const char *name) {
  for (const char *p = name; *p; p++) {
    sb_putc(sb, *p);
    if (*p == '_' && p[1]) sb_puts(sb, "<wbr>");
  }
}

static void html_results_head(StrBuf *sb, const ExpStudy *s, const ExpReportOpts *o, const bool used[EXP_NCOLS]) {
  sb_puts(sb, "<table class=\"results\">\n<tr><th>rank</th><th>id</th><th class=\"l\">model</th>");
  for (int k = 0; k < s->naxes; k++) {
    sb_puts(sb, "<th>");
    sb_put_html(sb, s->axes[k].name);
    sb_puts(sb, "</th>");
  }
  sb_puts(sb, "<th class=\"l\">status</th>");
  for (int c = 0; c < EXP_NCOLS; c++) {
    if (!used[c]) continue;
    sb_puts(sb, "<th>");
    put_col_name(sb, cols[c].name);
    sb_printf(sb, "%s</th>", c == (int)o->metric ? (cols[c].up ? " &#9660;" : " &#9650;") : "");
  }
  sb_puts(sb, "</tr>\n");
}

static void html_result_row(StrBuf *sb, const ExpStudy *s, int rank, int i, bool best, const bool used[EXP_NCOLS]) {
  const ExpStudyTrial *t = &s->trials[i];
  sb_printf(sb, "<tr%s><td>%d</td><td>%d</td><td class=\"l\">", best ? " class=\"best\"" : "", rank + 1, t->id);
  sb_put_html(sb, t->model);
  sb_puts(sb, "</td>");
  for (int k = 0; k < s->naxes; k++) {
    sb_puts(sb, "<td>");
    sb_put_html(sb, t->values[k]);
    sb_puts(sb, "</td>");
  }
  sb_printf(sb, "<td class=\"l %s\">%s", t->status, t->status);
  if (t->error) sb_puts(sb, ": "), sb_put_html(sb, t->error);
  sb_puts(sb, "</td>");
  for (int c = 0; c < EXP_NCOLS; c++)
    if (used[c]) sb_puts(sb, "<td>"), put_num(sb, (ExpCol)c, t->res[c]), sb_puts(sb, "</td>");
  sb_puts(sb, "</tr>\n");
}

static void html_results(StrBuf *sb, const ExpStudy *s, const ExpReportOpts *o, const int *order) {
  bool used[EXP_NCOLS];
  used_cols(s, used);
  int best = exp_best(s, o->metric);
  sb_puts(sb, "<h2 id=\"results\">Results</h2>\n<p>Trials that finished (ok) first, best ");
  sb_printf(sb, "%s first; the best is highlighted. Empty cells: no value (a trial that diverged has no test accuracy).</p>\n",
            exp_col_name(o->metric));
  sb_puts(sb, "<div class=\"wide\">\n");
  html_results_head(sb, s, o, used);
  for (int r = 0; r < s->ntrials; r++) html_result_row(sb, s, r, order[r], order[r] == best, used);
  sb_puts(sb, "</table>\n</div>\n");
}

/* The columns of the seed summary: the ranking metric, then the usual three where any trial
 * has a value. */
static int summary_cols(const ExpStudy *s, const ExpReportOpts *o, ExpCol out[4]) {
  ExpCol want[] = {o->metric, EXP_COL_FINAL_VAL_ACC, EXP_COL_TEST_ACC, EXP_COL_BEST_VAL_LOSS};
  bool used[EXP_NCOLS];
  used_cols(s, used);
  int n = 0;
  for (int i = 0; i < 4; i++) {
    bool dup = i > 0 && !used[want[i]];
    for (int j = 0; j < n; j++) dup = dup || out[j] == want[i];
    if (!dup) out[n++] = want[i];
  }
  return n;
}

/* Whether mean v ranks before mean u: a value before none, then by the column's direction. */
static bool mean_before(double v, double u, bool up) {
  if (isnan(v) || isnan(u)) return !isnan(v) && isnan(u);
  return up ? v > u : v < u;
}

/* Points by their mean of col, best first, ties in trial order (insertion sort: stable). */
static void rank_points(const ExpStudy *s, ExpCol col, int *order) {
  double *mean = ir_malloc((s->npoints + 1) * sizeof *mean), sd;
  for (int p = 0; p < s->npoints; p++) {
    if (mean) exp_point_stat(s, p, col, &mean[p], &sd);
    int j = p;
    for (; mean && j > 0 && mean_before(mean[p], mean[order[j - 1]], cols[col].up); j--) order[j] = order[j - 1];
    order[j] = p; /* out of memory: trial order */
  }
  ir_free(mean);
}

static void html_point_row(StrBuf *sb, const ExpStudy *s, int p, const ExpCol *sc, int nsc) {
  const ExpStudyTrial *t = &s->trials[s->points[p].trials[0]];
  double mean, std;
  int nok = exp_point_stat(s, p, EXP_COL_FINAL_VAL_ACC, &mean, &std);
  sb_puts(sb, "<tr><td class=\"l\">");
  sb_put_html(sb, t->model);
  sb_puts(sb, "</td>");
  for (int k = 0; k < s->naxes; k++)
    if (k != s->seed_axis) sb_puts(sb, "<td>"), sb_put_html(sb, t->values[k]), sb_puts(sb, "</td>");
  sb_printf(sb, "<td>%d / %d</td>", nok, s->points[p].ntrials);
  for (int c = 0; c < nsc; c++) {
    exp_point_stat(s, p, sc[c], &mean, &std);
    sb_puts(sb, "<td>");
    put_num(sb, sc[c], mean);
    if (!isnan(std)) sb_puts(sb, " &plusmn; "), put_num(sb, sc[c], std);
    sb_puts(sb, "</td>");
  }
  sb_puts(sb, "</tr>\n");
}

/* Mean +- std over seeds per point, best mean first. */
static void html_seeds(StrBuf *sb, const ExpStudy *s, const ExpReportOpts *o) {
  if (s->seed_axis < 0 || s->npoints == s->ntrials) return;
  ExpCol sc[4];
  int nsc = summary_cols(s, o, sc), *order = ir_malloc(s->npoints * sizeof *order);
  if (!order) {
    sb->oom = true;
    return;
  }
  rank_points(s, o->metric, order);
  sb_puts(sb, "<h2 id=\"seeds\">Mean &plusmn; standard deviation over seeds</h2>\n"
              "<p>Over the trials that finished (ok) at each point; the standard deviation is the sample one (n&minus;1).</p>\n"
              "<table class=\"seeds\">\n<tr><th class=\"l\">model</th>");
  for (int k = 0; k < s->naxes; k++)
    if (k != s->seed_axis) sb_puts(sb, "<th>"), sb_put_html(sb, s->axes[k].name), sb_puts(sb, "</th>");
  sb_puts(sb, "<th>ok / seeds</th>");
  for (int c = 0; c < nsc; c++) sb_printf(sb, "<th>%s</th>", cols[sc[c]].name);
  sb_puts(sb, "</tr>\n");
  for (int p = 0; p < s->npoints; p++) html_point_row(sb, s, order[p], sc, nsc);
  sb_puts(sb, "</table>\n");
  ir_free(order);
}

static void html_figure(StrBuf *sb, const ExpFigure *f) {
  sb_printf(sb, "<figure id=\"fig-%s\"><img alt=\"", f->name);
  sb_put_html(sb, f->title);
  sb_puts(sb, "\" src=\"data:image/svg+xml;base64,");
  base64(sb, (const unsigned char *)f->svg, f->svg_len);
  sb_puts(sb, "\">\n<figcaption><b>");
  sb_put_html(sb, f->title);
  sb_puts(sb, ".</b> ");
  sb_put_html(sb, f->caption);
  sb_printf(sb, " (<a href=\"figures/%s.svg\">SVG</a>, <a href=\"figures/%s.png\">PNG</a>)</figcaption></figure>\n",
            f->name, f->name);
}

/* The training figures (those not marked hw). */
static void html_figures(StrBuf *sb, const ExpFigure *figs, int nfigs, const char *note) {
  sb_puts(sb, "<h2 id=\"figures\">Figures</h2>\n");
  if (note) sb_puts(sb, "<p class=\"note\">"), sb_put_html(sb, note), sb_puts(sb, "</p>\n");
  for (int i = 0; i < nfigs; i++)
    if (!figs[i].hw) html_figure(sb, &figs[i]);
}

/* Whether any design has what the accuracy-against-LUTs figure needs. */
static bool hw_plottable(const ExpStudy *s) {
  for (int i = 0; i < s->ndesigns; i++) {
    double luts;
    bool est;
    if (!isnan(s->designs[i].test_accuracy) && exp_hw_luts(&s->designs[i], &luts, &est) && luts > 0) return true;
  }
  return false;
}

/* The emit directories: their table, then the figures marked hw (or why there are none). */
static void html_hardware(StrBuf *sb, const ExpStudy *s, const ExpFigure *figs, int nfigs, const char *note) {
  int drawn = 0;
  sb_puts(sb, "<h2 id=\"hardware\">Hardware designs</h2>\n<p>One row per emit directory (<code>emit.json</code> of "
              "<code>jscc emit</code>). LUT, FF, DSP and carry are yosys&#39;s counts (<code>synth_xilinx</code>, "
              "<code>synth_ice40</code>); where synthesis did not run for a family, jscc&#39;s own estimate is shown "
              "instead, in italics and marked ~. Fmax and latency (ns) come from nextpnr-ice40. Verification: each "
              "simulator&#39;s outputs against the C reference on the test rows.</p>\n");
  exp_hw_table_html(sb, s->designs, s->ndesigns);
  for (int i = 0; i < nfigs; i++)
    if (figs[i].hw) html_figure(sb, &figs[i]), drawn++;
  if (drawn) return;
  if (!hw_plottable(s)) note = "No figure: no design has both a test accuracy and a LUT count.";
  if (note) sb_puts(sb, "<p class=\"note\">"), sb_put_html(sb, note), sb_puts(sb, "</p>\n");
}

static void html_commands(StrBuf *sb, const ExpStudy *s) {
  sb_puts(sb, "<h2 id=\"commands\">Commands</h2>\n<p>Each trial alone, as <code>jscc train</code> runs it "
              "(its run directory aside).</p>\n<table class=\"commands\">\n"
              "<tr><th>id</th><th class=\"l\">directory</th><th class=\"l\">command</th></tr>\n");
  for (int i = 0; i < s->ntrials; i++) {
    const ExpStudyTrial *t = &s->trials[i];
    size_t n = strlen(s->dir);
    bool inside = s->sweep && strncmp(t->dir, s->dir, n) == 0 && t->dir[n] == '/';
    sb_printf(sb, "<tr><td>%d</td><td class=\"l\"><code>", t->id);
    sb_put_html(sb, inside ? t->dir + n + 1 : t->dir); /* a sweep's trials as sweep.json names them */
    sb_puts(sb, "</code></td><td class=\"l\"><code>");
    put_argv_html(sb, t->argc, t->argv);
    sb_puts(sb, "</code></td></tr>\n");
  }
  sb_puts(sb, "</table>\n");
}

void exp_report_opts_default(ExpReportOpts *o) {
  *o = (ExpReportOpts){.metric = EXP_COL_FINAL_VAL_ACC};
}

/* The page of emit directories alone: a short header, then their section. */
static void html_hw_page(StrBuf *sb, const ExpStudy *s, const ExpFigure *figs, int nfigs, const char *note) {
  sb_puts(sb, page_head);
  sb_puts(sb, "jscc report: ");
  sb_put_html(sb, s->dir);
  sb_puts(sb, page_style);
  sb_puts(sb, "<h1>jscc report: hardware designs <code>");
  sb_put_html(sb, s->dir);
  sb_printf(sb, "</code></h1>\n<table class=\"meta\">\n<tr><th>designs</th><td class=\"l\">%d</td></tr>\n</table>\n",
            s->ndesigns);
  html_hardware(sb, s, figs, nfigs, note);
  sb_puts(sb, "</body>\n</html>\n");
}

void exp_report_html(StrBuf *sb, const ExpStudy *s, const ExpReportOpts *o, const ExpFigure *figs, int nfigs,
                     const char *note) {
  if (!s->sweep && s->ntrials == 0) {
    html_hw_page(sb, s, figs, nfigs, note);
    return;
  }
  int *order = ir_malloc((s->ntrials + 1) * sizeof *order);
  if (!order) {
    sb->oom = true;
    return;
  }
  exp_rank(s, o->metric, order);
  html_header(sb, s, o);
  html_results(sb, s, o, order);
  html_seeds(sb, s, o);
  html_figures(sb, figs, nfigs, note);
  if (s->ndesigns) html_hardware(sb, s, figs, nfigs, NULL); /* a note is under Figures already */
  html_commands(sb, s);
  sb_puts(sb, "</body>\n</html>\n");
  ir_free(order);
}

/* ==== the report ==== */

/* The figures into OUT/figures, or the note that says why there are none. */
static Status report_figures(const ExpStudy *s, const ExpReportOpts *o, const char *out, ExpFigure **figs,
                             int *nfigs, const char **note, Diag *d) {
  *figs = NULL;
  *nfigs = 0;
  *note = NULL;
  if (o->no_figures) return *note = "Figures were not drawn (--no-figures).", JS_OK;
  if (!exp_plot_available())
    return *note = "Figures need PLplot: this jscc was built without it (libplplot-dev, plplot-driver-cairo).", JS_OK;
  char *figdir = path_join(s->arena, out, "figures");
  if (!figdir) return diag_oom(d);
  if (!ir_mkdir_p(figdir, 0777))
    return diag_error(d, (SrcLoc){0}, "cannot create '%s': %s", figdir, strerror(errno)), JS_EIO;
  Status st = exp_plot_figures(s, exp_best(s, o->metric), figdir, figs, nfigs, d);
  int ntrain = 0;
  for (int i = 0; !st && i < *nfigs; i++) ntrain += !(*figs)[i].hw;
  if (!st && ntrain == 0 && s->ntrials > 0) *note = "No figures yet: no trial has finished an epoch.";
  return st;
}

Status exp_report(const char *const *dirs, int ndirs, const ExpReportOpts *o, Diag *d) {
  if (ndirs == 1 && exp_is_search_dir(dirs[0])) return exp_search_report(dirs[0], o, d); /* jscc search's */
  ExpStudy *s;
  Status st = exp_study_load(dirs, ndirs, &s, d);
  if (st) return st;
  const char *out = o->out ? o->out : dirs[0], *note;
  ExpFigure *figs;
  int nfigs;
  if (!ir_mkdir_p(out, 0777)) {
    diag_error(d, (SrcLoc){0}, "cannot create '%s': %s", out, strerror(errno));
    st = JS_EIO;
  }
  if (!st) st = report_figures(s, o, out, &figs, &nfigs, &note, d);
  StrBuf page;
  sb_init(&page);
  if (!st) exp_report_html(&page, s, o, figs, nfigs, note);
  char *path = st ? NULL : path_join(s->arena, out, "report.html");
  if (!st && (page.oom || !path)) st = diag_oom(d);
  if (!st && (st = sb_write_file(&page, path)))
    diag_error(d, (SrcLoc){0}, "cannot write '%s': %s", path, strerror(errno));
  sb_free(&page);
  exp_study_free(s);
  return st;
}
