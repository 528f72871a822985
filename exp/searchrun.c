/* exp/searchrun.c — running a quantization search (spec/search.md §4).
 *
 * One coordinating thread (the caller's) asks the sampler for each new trial, loads the model
 * with the trial's quantize step (through the caller's hook: exp/ knows no model files),
 * computes the trial's cost metrics, and hands the trial to one of `jobs` worker threads,
 * which score it: PTQ evaluates the float checkpoint, quantized, on the validation rows; QAT
 * fine-tunes it from the float checkpoint (rt_train --init) in the trial's run directory,
 * then evaluates the best epoch.  With ASHA a QAT trial is first trained for the smallest
 * rung's epochs and continued (from its committed epoch) only while it ranks in the top
 * 1/eta of its rung: asynchronous successive halving (Li et al., 2020).
 *
 * The journal is the search's only source of truth: "sample" (a trial's choices), "run" (a
 * trial handed to a worker for a rung) and "score" lines, each fsync'd.  --resume replays it:
 * the sampler sees the same history, a run that never scored runs again (continuing from its
 * committed epochs), and nothing finished is lost or run twice. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exp.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ==== ASHA's rungs ==== */

int exp_search_rungs(const ExpSearch *s, int64_t *epochs) {
  int n = 0;
  if (s->scoring == EXP_SCORE_QAT && s->asha)
    for (int64_t e = s->min_epochs; e < s->epochs && n < EXP_SEARCH_MAX_RUNGS - 1; e *= s->eta) epochs[n++] = e;
  epochs[n++] = s->scoring == EXP_SCORE_QAT ? s->epochs : 0;
  return n;
}

/* ==== the state ==== */

typedef struct Job {
  int trial, rung;
  void *model;            /* the hook's handle */
  const Graph *fwd, *train;
  double t0;
  Status st;              /* a failure of the worker itself (not the trial's) */
  bool done;
} Job;

typedef struct St {
  const ExpSearchRun *r;
  const ExpSearch *s;
  ExpSearchTrial *t;      /* [s->n_trials] */
  int ntrials;            /* sampled */
  ExpJournal *j;
  int nrungs;
  int64_t rung_epochs[EXP_SEARCH_MAX_RUNGS];
  int *pending_run;       /* [n_trials] a rung handed out and not scored (resume), else -1 */
  Job *jobs;              /* [jobs] in flight (trial -1: free) */
  int inflight;
  double start;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  Diag *d;
} St;

static ExpSearchTrial *new_trial(St *S, int id) {
  ExpSearchTrial *t = &S->t[id];
  memset(t, 0, sizeof *t);
  t->id = id;
  t->status = EXP_PENDING;
  t->rung = -1;
  t->x = arena_alloc(S->s->a, sizeof *t->x * (size_t)(S->s->nparams ? S->s->nparams : 1));
  for (int m = 0; m < EXP_NMETRICS; m++) t->metric[m] = NAN;
  for (int k = 0; k < EXP_SEARCH_MAX_RUNGS; k++) t->rung_acc[k] = t->rung_loss[k] = NAN;
  t->test_acc = NAN;
  return t->x ? t : NULL;
}

/* Its quantize step, from its choices. */
static Status set_passes(St *S, ExpSearchTrial *t) {
  StrBuf sb;
  sb_init(&sb);
  exp_search_passes(S->s, t->x, &sb);
  t->passes = sb.oom ? NULL : arena_strdup(S->s->a, sb_str(&sb));
  sb_free(&sb);
  return t->passes ? JS_OK : diag_oom(S->d);
}

static Status jline(St *S, StrBuf *sb) {
  Status st = sb->oom ? diag_oom(S->d) : exp_journal_append(S->j, sb_str(sb), S->d);
  sb_free(sb);
  return st;
}

static Status journal_sample(St *S, const ExpSearchTrial *t) {
  StrBuf sb;
  sb_init(&sb);
  sb_printf(&sb, "{\"ev\":\"sample\",\"trial\":%d,\"x\":[", t->id);
  for (int i = 0; i < S->s->nparams; i++) sb_printf(&sb, "%s%d", i ? "," : "", t->x[i]);
  sb_puts(&sb, "]}\n");
  return jline(S, &sb);
}

static Status journal_run(St *S, int trial, int rung, int rank) {
  StrBuf sb;
  sb_init(&sb);
  sb_printf(&sb, "{\"ev\":\"run\",\"trial\":%d,\"rung\":%d,\"rank\":%d}\n", trial, rung, rank);
  return jline(S, &sb);
}

static Status journal_score(St *S, const ExpSearchTrial *t) {
  StrBuf sb;
  sb_init(&sb);
  sb_printf(&sb, "{\"ev\":\"score\",\"trial\":%d,\"rung\":%d,\"epochs\":%lld,\"status\":\"%s\",\"metrics\":{", t->id,
            t->rung, (long long)t->epochs, exp_status_name(t->status));
  for (int m = 0; m < EXP_NMETRICS; m++) {
    sb_printf(&sb, "%s\"%s\":", m ? "," : "", exp_metric_name((ExpMetric)m));
    sb_put_json_num(&sb, t->metric[m]);
  }
  sb_puts(&sb, "},\"test_acc\":");
  sb_put_json_num(&sb, t->test_acc);
  sb_puts(&sb, ",\"seconds\":");
  sb_put_json_num(&sb, t->seconds);
  sb_puts(&sb, ",\"error\":");
  sb_put_json_str(&sb, t->error);
  sb_puts(&sb, "}\n");
  return jline(S, &sb);
}

/* A trial's accuracy and loss at rung k (ASHA ranks each rung by them). */
static void rung_record(ExpSearchTrial *t, int k) {
  bool ok = t->status == EXP_OK;
  t->rung_acc[k] = ok ? t->metric[EXP_M_ACCURACY] : NAN;
  t->rung_loss[k] = ok ? t->metric[EXP_M_LOSS] : NAN;
}

/* ==== replaying the journal (--resume) ==== */

static Status bad_event(St *S, const char *path, int line, const char *what) {
  return diag_error(S->d, (SrcLoc){0}, "%s:%d: %s", path, line, what);
}

static bool ev_int(const JVal *ev, const char *key, int64_t lo, int64_t hi, int64_t *out) {
  uint64_t u;
  const JVal *v = json_get(ev, key);
  if (!v || !json_uint(v, &u) || (int64_t)u < lo || (int64_t)u > hi) return false;
  return *out = (int64_t)u, true;
}

static Status replay_sample(St *S, const JVal *ev, const char *path, int line) {
  int64_t id;
  const JVal *x = json_get(ev, "x");
  if (!ev_int(ev, "trial", 0, S->s->n_trials - 1, &id) || id != S->ntrials)
    return bad_event(S, path, line, "a sample event out of order or beyond n_trials (was the config changed?)");
  if (!x || x->kind != J_ARR || x->n != S->s->nparams)
    return bad_event(S, path, line, "a sample's choices do not fit the search space (was the config or the model changed?)");
  ExpSearchTrial *t = new_trial(S, (int)id);
  if (!t) return diag_oom(S->d);
  for (int i = 0; i < x->n; i++) {
    uint64_t u;
    if (!json_uint(&x->items[i], &u) || u >= (uint64_t)S->s->params[i].n)
      return bad_event(S, path, line, "a sample's choice is outside its parameter's list (was the config changed?)");
    t->x[i] = (int)u;
  }
  S->ntrials++;
  S->pending_run[id] = 0; /* sampled means it runs at rung 0: a kill before its "run" line must not lose it */
  return set_passes(S, t);
}

static Status replay_score(St *S, const JVal *ev, const char *path, int line) {
  int64_t id, rung, epochs;
  const JVal *m = json_get(ev, "metrics"), *stv = json_get(ev, "status"), *err = json_get(ev, "error");
  if (!ev_int(ev, "trial", 0, S->ntrials - 1, &id) || !ev_int(ev, "rung", 0, S->nrungs - 1, &rung) ||
      !ev_int(ev, "epochs", 0, INT64_MAX, &epochs) || !m || m->kind != J_OBJ || !stv || stv->kind != J_STR)
    return bad_event(S, path, line, "a score event without its trial, rung, epochs, status or metrics");
  ExpSearchTrial *t = &S->t[id];
  t->status = strcmp(stv->str, "ok") == 0 ? EXP_OK : strcmp(stv->str, "diverged") == 0 ? EXP_DIVERGED : EXP_FAILED;
  t->rung = (int)rung, t->epochs = epochs;
  for (int k = 0; k < EXP_NMETRICS; k++) {
    const JVal *v = json_get(m, exp_metric_name((ExpMetric)k));
    t->metric[k] = v ? json_num(v) : NAN;
  }
  t->test_acc = json_get(ev, "test_acc") ? json_num(json_get(ev, "test_acc")) : NAN;
  t->seconds = json_get(ev, "seconds") ? json_num(json_get(ev, "seconds")) : NAN;
  snprintf(t->error, sizeof t->error, "%s", err && err->kind == J_STR ? err->str : "");
  rung_record(t, (int)rung);
  if (S->pending_run[id] == rung) S->pending_run[id] = -1;
  return JS_OK;
}

static Status replay(void *ud, const JVal *ev, const char *path, int line, Diag *d) {
  St *S = ud;
  (void)d;
  const JVal *e = json_get(ev, "ev");
  if (!e || e->kind != J_STR) return bad_event(S, path, line, "an event without \"ev\"");
  if (strcmp(e->str, "sample") == 0) return replay_sample(S, ev, path, line);
  if (strcmp(e->str, "score") == 0) return replay_score(S, ev, path, line);
  if (strcmp(e->str, "run") == 0) {
    int64_t id, rung;
    if (!ev_int(ev, "trial", 0, S->ntrials - 1, &id) || !ev_int(ev, "rung", 0, S->nrungs - 1, &rung))
      return bad_event(S, path, line, "a run event without a sampled trial or a rung");
    S->pending_run[id] = (int)rung;
    return JS_OK;
  }
  return bad_event(S, path, line, "an unknown event (a search journal has sample, run and score lines)");
}

/* ==== choosing the next job ==== */

/* The sampler's history: every scored trial's objectives at its last rung. */
static Status history(St *S, ExpObs *obs, double *y, int *n) {
  int nobj = exp_search_nobj(S->s);
  *n = 0;
  for (int i = 0; i < S->ntrials; i++) {
    const ExpSearchTrial *t = &S->t[i];
    if (t->rung < 0) continue;
    double *yy = y + (size_t)*n * (size_t)nobj;
    bool ok = t->status == EXP_OK;
    for (int k = 0; k < nobj; k++) {
      yy[k] = exp_search_objective(S->s, k, t->metric);
      ok = ok && isfinite(yy[k]);
    }
    obs[(*n)++] = (ExpObs){.trial = t->id, .x = t->x, .y = yy, .ok = ok};
  }
  return JS_OK;
}

static Status sample_trial(St *S, int *out) {
  int n = 0, id = S->ntrials;
  ExpObs *obs = ir_malloc(sizeof *obs * (size_t)(id ? id : 1));
  double *y = ir_malloc(sizeof *y * (size_t)(id ? id : 1) * EXP_NMETRICS);
  ExpParam *p = ir_malloc(sizeof *p * (size_t)(S->s->nparams ? S->s->nparams : 1));
  ExpSearchTrial *t = new_trial(S, id);
  Status st = obs && y && p && t ? history(S, obs, y, &n) : diag_oom(S->d);
  if (!st) exp_search_params(S->s, p);
  if (!st)
    st = exp_sampler_ask(S->s->sampler, &S->s->sopts, p, S->s->nparams, exp_search_nobj(S->s), S->r->seed, id, obs, n,
                         t->x, S->d);
  if (!st) st = set_passes(S, t);
  if (!st) st = journal_sample(S, t);
  if (!st) S->ntrials++, *out = id;
  ir_free(obs), ir_free(y), ir_free(p);
  return st;
}

static bool busy(const St *S, int trial) {
  for (int i = 0; i < S->r->jobs; i++)
    if (S->jobs[i].trial == trial) return true;
  return false;
}

/* ASHA: a trial that finished rung k and ranks in the top 1/eta of the trials that did,
 * ranked as NSGA-II ranks (non-dominated rank, then crowding distance; MO-ASHA), on the
 * objectives with the rung's accuracy and loss: with one objective, simply the best. */

/* Row i of y: trial id's objectives at rung k; false when one is not finite. */
static bool rung_objectives(const St *S, int id, int k, double *y) {
  double m[EXP_NMETRICS]; /* a running trial's worker writes its accuracy and loss: not read */
  for (int j = 0; j < EXP_NMETRICS; j++)
    m[j] = j == EXP_M_ACCURACY ? S->t[id].rung_acc[k] : j == EXP_M_LOSS ? S->t[id].rung_loss[k] : S->t[id].metric[j];
  bool ok = !isnan(m[EXP_M_ACCURACY]);
  for (int j = 0; j < exp_search_nobj(S->s); j++) ok = ok && isfinite(y[j] = exp_search_objective(S->s, j, m));
  return ok;
}

/* pos[i]: the place of idx[i] in the rung's order (0 best). */
static Status rung_order(const St *S, const double *y, const int *idx, int n, int *pos) {
  int nobj = exp_search_nobj(S->s), *rank = ir_malloc(sizeof *rank * (size_t)n), *f = ir_malloc(sizeof *f * (size_t)n);
  double *cd = ir_malloc(sizeof *cd * (size_t)n), *key = ir_malloc(sizeof *key * (size_t)n);
  Status st = rank && f && cd && key ? exp_nondominated_rank(y, n, nobj, rank, S->d) : diag_oom(S->d);
  for (int r = 0; !st && r <= n; r++) { /* crowding within each front */
    int m = 0;
    for (int i = 0; i < n; i++)
      if (rank[i] == r) f[m++] = i;
    if (m) exp_crowding(y, nobj, f, m, cd);
    for (int i = m - 1; i >= 0; i--) key[f[i]] = cd[i];
  }
  for (int i = 0; !st && i < n; i++) { /* place = how many come before */
    pos[i] = 0;
    for (int j = 0; j < n; j++)
      pos[i] += rank[j] < rank[i] || (rank[j] == rank[i] && (key[j] > key[i] || (key[j] == key[i] && idx[j] < idx[i])));
  }
  ir_free(rank), ir_free(f), ir_free(cd), ir_free(key);
  return st;
}

static Status promotable(St *S, int k, int *out) {
  int nobj = exp_search_nobj(S->s), n = 0;
  *out = -1;
  int *idx = ir_malloc(sizeof *idx * (size_t)(S->ntrials + 1)), *pos = ir_malloc(sizeof *pos * (size_t)(S->ntrials + 1));
  double *y = ir_malloc(sizeof *y * (size_t)(S->ntrials + 1) * (size_t)nobj);
  Status st = idx && pos && y ? JS_OK : diag_oom(S->d);
  for (int i = 0; !st && i < S->ntrials; i++)
    if (rung_objectives(S, i, k, y + (size_t)n * (size_t)nobj)) idx[n++] = i;
  int top = n / (int)S->s->eta;
  if (!st && top > 0) st = rung_order(S, y, idx, n, pos);
  for (int i = 0; !st && top > 0 && i < n; i++)
    if (!busy(S, idx[i]) && S->t[idx[i]].rung == k && pos[i] < top && (*out < 0 || pos[i] < pos[*out]))
      *out = i;
  if (*out >= 0) *out = idx[*out];
  ir_free(idx), ir_free(pos), ir_free(y);
  return st;
}

/* The next job: a run the journal left unscored, an ASHA promotion, or a new trial.  -1: none. */
static Status next_job(St *S, int *trial, int *rung) {
  *trial = -1;
  for (int i = 0; i < S->ntrials; i++)
    if (S->pending_run[i] >= 0 && !busy(S, i)) return *trial = i, *rung = S->pending_run[i], JS_OK;
  bool late = S->s->timeout_s > 0 && now_s() - S->start > S->s->timeout_s;
  for (int k = S->nrungs - 2; k >= 0 && !late; k--) {
    int t;
    Status st = promotable(S, k, &t);
    if (st || t >= 0) return *trial = t, *rung = k + 1, st;
  }
  if (late || S->ntrials >= S->s->n_trials) return JS_OK;
  if (S->s->sampler == EXP_SAMPLER_GRID && S->ntrials >= exp_search_size(S->s)) return JS_OK;
  *rung = 0;
  return sample_trial(S, trial);
}

/* ==== scoring (on a worker) ==== */


static Status evaluate(const St *S, const Job *jb, const char *ckpt, RtSplitKind split, int64_t rows, RtEvalResult *ev,
                       Diag *d) {
  RtDataset ds = *S->r->base.dataset;
  if (rows > 0 && split == RT_SPLIT_VAL && ds.val.n > rows) ds.val.n = rows;
  RtTestConfig t;
  rt_test_config_default(&t);
  t.fwd = jb->fwd, t.train = jb->train, t.ckpt = ckpt, t.dataset = &ds, t.split = split;
  t.batch_size = S->r->base.batch_size, t.engine = S->r->base.engine, t.kernels = S->r->base.kernels;
  t.kernel_cache = S->r->base.kernel_cache;
  return rt_test(&t, ev, d);
}

static void ptq(St *S, Job *jb, ExpSearchTrial *t, Diag *td) {
  RtEvalResult ev;
  Status st = evaluate(S, jb, S->r->ckpt, RT_SPLIT_VAL, S->s->num_samples, &ev, td);
  if (!st) t->metric[EXP_M_ACCURACY] = ev.acc, t->metric[EXP_M_LOSS] = ev.loss;
  if (!st && !(st = evaluate(S, jb, S->r->ckpt, RT_SPLIT_TEST, 0, &ev, td))) t->test_acc = ev.acc;
  t->status = st ? EXP_FAILED : EXP_OK;
}

static void qat(St *S, Job *jb, ExpSearchTrial *t, Diag *td) {
  char dir[4096], log[4200], best[4200];
  snprintf(dir, sizeof dir, "%s/trials/%03d", S->r->dir, t->id);
  RtTrainConfig c = S->r->base;
  c.fwd = jb->fwd, c.train = jb->train, c.max_epochs = S->rung_epochs[jb->rung];
  c.passes = t->passes, c.init_ckpt = S->r->ckpt, c.force = true;
  Status st = exp_trial_dir_ready(dir, &c, td);
  snprintf(log, sizeof log, "%s/train.log", dir);
  FILE *f = st ? NULL : fopen(log, "a");
  c.log = f, c.quiet = true, c.progress = false;
  RtTrainResult tr;
  if (!st) st = rt_train(&c, &tr, td);
  if (f) fclose(f);
  if (st) {
    t->status = EXP_FAILED;
    return;
  }
  t->epochs = tr.epochs;
  t->status = tr.diverged ? EXP_DIVERGED : EXP_OK;
  t->metric[EXP_M_ACCURACY] = tr.best_val_acc, t->metric[EXP_M_LOSS] = tr.best_epoch ? tr.best_val_loss : NAN;
  RtEvalResult ev;
  snprintf(best, sizeof best, "%s/best.safetensors", dir);
  if (t->status == EXP_OK && tr.best_epoch && !evaluate(S, jb, best, RT_SPLIT_TEST, 0, &ev, td)) t->test_acc = ev.acc;
  else if (t->status == EXP_OK && tr.best_epoch) t->status = EXP_FAILED;
}

typedef struct WorkArg {
  St *S;
  Job *jb;
} WorkArg;

/* Job jb scored into res (a copy of its trial): status, accuracy, loss, epochs, test_acc. */
static void score(St *S, Job *jb, ExpSearchTrial *res) {
  Diag td;
  diag_init(&td, NULL);
  res->rung = jb->rung;
  res->error[0] = 0;
  if (S->s->scoring == EXP_SCORE_PTQ) ptq(S, jb, res, &td);
  else qat(S, jb, res, &td);
  if (res->status == EXP_FAILED) exp_first_error(&td, res->error, sizeof res->error);
  diag_free(&td);
}

/* A scored copy into its trial (under the lock, or on the coordinator). */
static void publish(St *S, Job *jb, const ExpSearchTrial *res) {
  ExpSearchTrial *t = &S->t[jb->trial];
  t->metric[EXP_M_ACCURACY] = res->metric[EXP_M_ACCURACY], t->metric[EXP_M_LOSS] = res->metric[EXP_M_LOSS];
  t->status = res->status, t->rung = res->rung, t->epochs = res->epochs, t->test_acc = res->test_acc;
  memcpy(t->error, res->error, sizeof t->error);
  t->seconds = (isnan(t->seconds) ? 0 : t->seconds) + now_s() - jb->t0;
  jb->done = true;
}

static void *work(void *arg) {
  WorkArg *w = arg;
  St *S = w->S;
  Job *jb = w->jb;
  ExpSearchTrial res = S->t[jb->trial]; /* scored in a copy, published under the lock */
  score(S, jb, &res);
  pthread_mutex_lock(&S->lock);
  publish(S, jb, &res);
  pthread_cond_signal(&S->cond);
  pthread_mutex_unlock(&S->lock);
  ir_free(w);
  return NULL;
}

/* ==== the coordinator ==== */

static Status collect(St *S, Job *jb);

/* The trial's model and cost metrics; JS_ERR: the trial's config is refused (the message in
 * t->error), other failures are the search's. */
static Status load(St *S, Job *jb, ExpSearchTrial *t) {
  Diag ld;
  diag_init(&ld, NULL);
  const ExpSearchHooks *h = &S->r->hooks;
  const PassData *w = NULL;
  Status st = h->load(h->ud, t->passes, &jb->fwd, &jb->train, &w, &jb->model, &ld);
  if (!st) st = exp_search_costs(S->s, jb->fwd, w, t->metric, &ld);
  if (st == JS_ERR) exp_first_error(&ld, t->error, sizeof t->error);
  else if (st) st = diag_error(S->d, (SrcLoc){0}, "trial %d: %s", t->id, (exp_first_error(&ld, t->error, sizeof t->error), t->error));
  diag_free(&ld);
  return st;
}

/* A trial whose quantize step the model refuses: failed, without a worker. */
static Status refused(St *S, Job *jb, ExpSearchTrial *t) {
  t->status = EXP_FAILED, t->rung = jb->rung, t->seconds = 0;
  S->inflight++;
  jb->done = true;
  return collect(S, jb);
}

/* ==== MPI: jobs to the ranks, results back (exp/mpi.c carries them) ==== */

/* The job to the rank of jb's slot (slot i: rank i + 1); the model stays loaded here for
 * the trial's costs until its result comes. */
static Status send_job(St *S, Job *jb, const ExpSearchTrial *t) {
  char *job = arena_printf(S->s->a, "%d %d %s", jb->trial, jb->rung, t->passes);
  Status st = job ? exp_mpi_job_send(S->r->mpi, (int)(jb - S->jobs) + 1, job, S->d) : diag_oom(S->d);
  if (!st) S->inflight++;
  return st;
}

/* A result as JSON: what a worker rank scored. */
static void result_json(StrBuf *sb, const ExpSearchTrial *t) {
  sb_printf(sb, "{\"trial\":%d,\"rung\":%d,\"epochs\":%lld,\"status\":\"%s\",\"accuracy\":", t->id, t->rung,
            (long long)t->epochs, exp_status_name(t->status));
  sb_put_json_num(sb, t->metric[EXP_M_ACCURACY]);
  sb_puts(sb, ",\"loss\":");
  sb_put_json_num(sb, t->metric[EXP_M_LOSS]);
  sb_puts(sb, ",\"test_acc\":");
  sb_put_json_num(sb, t->test_acc);
  sb_puts(sb, ",\"error\":");
  sb_put_json_str(sb, t->error);
  sb_puts(sb, "}");
}

static double jnum(const JVal *o, const char *k) { return json_get(o, k) ? json_num(json_get(o, k)) : NAN; }

/* A worker's result into its job's trial. */
static Status take_result(St *S, int rank, const char *text) {
  Arena *a = arena_new();
  JVal v;
  JsonError e;
  uint64_t id, epochs;
  Job *jb = rank >= 1 && rank <= S->r->jobs ? &S->jobs[rank - 1] : NULL;
  const JVal *stv;
  bool ok = a && json_parse(a, text, strlen(text), "result", &v, &e) && jb && jb->trial >= 0 &&
            json_uint(json_get(&v, "trial"), &id) && id == (uint64_t)jb->trial &&
            json_uint(json_get(&v, "epochs"), &epochs) && (stv = json_get(&v, "status")) && stv->kind == J_STR;
  if (ok) {
    ExpSearchTrial res = S->t[jb->trial];
    res.rung = jb->rung, res.epochs = (int64_t)epochs;
    res.status = !strcmp(stv->str, "ok") ? EXP_OK : !strcmp(stv->str, "diverged") ? EXP_DIVERGED : EXP_FAILED;
    res.metric[EXP_M_ACCURACY] = jnum(&v, "accuracy"), res.metric[EXP_M_LOSS] = jnum(&v, "loss");
    res.test_acc = jnum(&v, "test_acc");
    const JVal *err = json_get(&v, "error");
    snprintf(res.error, sizeof res.error, "%s", err && err->kind == J_STR ? err->str : "");
    publish(S, jb, &res);
  }
  arena_free(a);
  return ok ? JS_OK : diag_error(S->d, (SrcLoc){0}, "rank %d sent a result that is not its job's", rank);
}

Status exp_search_work(const ExpSearchRun *r, Diag *d) {
  St S = {.r = r, .s = r->s, .d = d};
  S.nrungs = exp_search_rungs(r->s, S.rung_epochs);
  for (;;) {
    char *job = NULL;
    Status st = exp_mpi_job_recv(r->mpi, &job, d);
    int trial, rung, n = 0;
    if (st || !job[0]) return ir_free(job), st;
    if (sscanf(job, "%d %d %n", &trial, &rung, &n) != 2 || !n || rung < 0 || rung >= S.nrungs || trial < 0)
      st = diag_error(d, (SrcLoc){0}, "rank 0 sent a job that is not one: '%.60s'", job);
    ExpSearchTrial t = {.id = trial, .passes = job + n, .rung = rung, .test_acc = NAN};
    for (int m = 0; m < EXP_NMETRICS; m++) t.metric[m] = NAN;
    Job jb = {.trial = trial, .rung = rung};
    const PassData *w;
    Diag ld;
    diag_init(&ld, NULL);
    if (!st && r->hooks.load(r->hooks.ud, t.passes, &jb.fwd, &jb.train, &w, &jb.model, &ld)) /* rank 0 loaded it */
      t.status = EXP_FAILED, exp_first_error(&ld, t.error, sizeof t.error);
    else if (!st)
      score(&S, &jb, &t);
    diag_free(&ld);
    if (jb.model) r->hooks.unload(r->hooks.ud, jb.model);
    StrBuf sb;
    sb_init(&sb);
    result_json(&sb, &t);
    if (!st) st = sb.oom ? diag_oom(d) : exp_mpi_result_send(r->mpi, sb_str(&sb), d);
    sb_free(&sb);
    ir_free(job);
    if (st) return st;
  }
}

/* The trial's model and cost metrics, then a worker. */
static Status dispatch(St *S, int trial, int rung) {
  ExpSearchTrial *t = &S->t[trial];
  const ExpSearchRun *r = S->r;
  Job *jb = NULL;
  for (int i = 0; i < r->jobs && !jb; i++)
    if (S->jobs[i].trial < 0) jb = &S->jobs[i];
  *jb = (Job){.trial = trial, .rung = rung, .t0 = now_s()};
  Status st = journal_run(S, trial, rung, r->mpi ? (int)(jb - S->jobs) + 1 : 0);
  if (!st && (st = load(S, jb, t)) == JS_ERR) return refused(S, jb, t);
  if (r->mpi && !st) return send_job(S, jb, t);
  WorkArg *w = st ? NULL : ir_malloc(sizeof *w);
  if (!st && !w) st = diag_oom(S->d);
  pthread_t th;
  if (!st) *w = (WorkArg){S, jb};
  if (!st && pthread_create(&th, NULL, work, w) != 0)
    ir_free(w), st = diag_error(S->d, (SrcLoc){0}, "cannot start a worker thread: %s", strerror(errno));
  if (st) {
    if (jb->model) r->hooks.unload(r->hooks.ud, jb->model);
    jb->trial = -1;
    return st;
  }
  pthread_detach(th);
  S->inflight++;
  return JS_OK;
}

/* A finished job: its score in the journal, the files, the hook. */
static Status collect(St *S, Job *jb) {
  ExpSearchTrial *t = &S->t[jb->trial];
  rung_record(t, jb->rung);
  S->pending_run[jb->trial] = -1;
  Status st = journal_score(S, t);
  if (jb->model) S->r->hooks.unload(S->r->hooks.ud, jb->model);
  jb->trial = -1, jb->done = false, jb->model = NULL;
  S->inflight--;
  if (!st) st = exp_search_write(S->s, S->r->dir, S->t, S->ntrials, S->d);
  int done = 0;
  for (int i = 0; i < S->ntrials; i++) done += S->t[i].rung >= 0;
  if (!st && S->r->hooks.on_score) S->r->hooks.on_score(S->r->hooks.ud, t, done, S->s->n_trials);
  return st;
}

static Status wait_result(St *S) {
  int rank = -1;
  char *text = NULL;
  Status st = exp_mpi_result_wait(S->r->mpi, &rank, &text, S->d);
  if (!st) st = take_result(S, rank, text);
  ir_free(text);
  return st ? st : collect(S, &S->jobs[rank - 1]);
}

static Status wait_one(St *S) {
  if (S->r->mpi) return wait_result(S);
  pthread_mutex_lock(&S->lock);
  Job *jb = NULL;
  for (;;) {
    for (int i = 0; i < S->r->jobs && !jb; i++)
      if (S->jobs[i].trial >= 0 && S->jobs[i].done) jb = &S->jobs[i];
    if (jb) break;
    pthread_cond_wait(&S->cond, &S->lock);
  }
  pthread_mutex_unlock(&S->lock);
  return collect(S, jb);
}

static Status loop(St *S) {
  Status st = JS_OK;
  for (;;) {
    while (!st && S->inflight < S->r->jobs) {
      int trial, rung;
      if ((st = next_job(S, &trial, &rung)) || trial < 0) break;
      st = dispatch(S, trial, rung);
    }
    if (S->inflight == 0) break;
    Status w = wait_one(S); /* on an error, let the running trials finish and record them */
    if (!st) st = w;
  }
  return st;
}

static Status open_journal(St *S) {
  char path[4200];
  snprintf(path, sizeof path, "%s/journal.jsonl", S->r->dir);
  if (access(path, F_OK) == 0) {
    Status st = exp_journal_read(path, replay, S, S->d);
    if (st) return st;
  }
  return exp_journal_open(path, &S->j, S->d);
}

Status exp_search_replay(const ExpSearch *s, const SrcFile *journal, int *ntrials, Diag *d) {
  ExpSearchRun r = {.s = s, .jobs = 1};
  St S = {.r = &r, .s = s, .d = d};
  S.nrungs = exp_search_rungs(s, S.rung_epochs);
  S.t = arena_alloc(s->a, sizeof *S.t * (size_t)s->n_trials);
  S.pending_run = arena_alloc(s->a, sizeof *S.pending_run * (size_t)s->n_trials);
  Arena *a = arena_new();
  if (!S.t || !S.pending_run || !a) return arena_free(a), diag_oom(d);
  for (int i = 0; i < s->n_trials; i++) S.pending_run[i] = -1;
  Status st = exp_journal_parse(journal, a, replay, &S, d);
  arena_free(a);
  *ntrials = S.ntrials;
  return st;
}

Status exp_search_run(const ExpSearchRun *r, ExpSearchTrial **trials, int *ntrials, Diag *d) {
  const ExpSearch *s = r->s;
  St S = {.r = r, .s = s, .d = d, .start = now_s()};
  S.nrungs = exp_search_rungs(s, S.rung_epochs);
  S.t = arena_alloc(s->a, sizeof *S.t * (size_t)s->n_trials);
  S.pending_run = arena_alloc(s->a, sizeof *S.pending_run * (size_t)s->n_trials);
  S.jobs = arena_alloc(s->a, sizeof *S.jobs * (size_t)r->jobs);
  if (!S.t || !S.pending_run || !S.jobs) return diag_oom(d);
  for (int i = 0; i < s->n_trials; i++) S.pending_run[i] = -1;
  for (int i = 0; i < r->jobs; i++) S.jobs[i].trial = -1;
  pthread_mutex_init(&S.lock, NULL);
  pthread_cond_init(&S.cond, NULL);
  Status st = open_journal(&S);
  if (!st) st = exp_search_write(s, r->dir, S.t, S.ntrials, d);
  if (!st && r->mpi) st = exp_mpi_search_start(r->mpi, r->dir, d);
  if (!st) st = loop(&S);
  for (int k = 1; r->mpi && k <= r->jobs && exp_mpi_rank(r->mpi) == 0; k++) { /* every worker stops */
    Diag q;
    diag_init(&q, NULL);
    if (exp_mpi_job_send(r->mpi, k, "", &q) && !st) st = diag_error(d, (SrcLoc){0}, "rank %d could not be stopped", k);
    diag_free(&q);
  }
  exp_journal_close(S.j);
  pthread_cond_destroy(&S.cond);
  pthread_mutex_destroy(&S.lock);
  *trials = S.t;
  *ntrials = S.ntrials;
  return st;
}
