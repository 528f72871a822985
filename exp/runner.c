/* exp/runner.c — running a sweep's trials: one trial (exp_trial_run), and many on worker
 * threads in this process (exp_run).
 *
 * A trial is an rt_train run in its own directory, then rt_test of its best checkpoint on
 * the test split.  The journal hears of it three times: "begin", one "epoch" per finished
 * epoch (after the epoch is committed), and "end" with its result (spec/sweep.md §2.2).  A
 * trial whose directory holds a committed epoch continues from it (rt_train's --resume);
 * one that died before its first commit starts again from nothing.
 *
 * The threads share, read-only, the models, the data and the compiled kernels (the caller's
 * RtKernelSet: one compile per model, batch size and optimizer).  Only the coordinating
 * thread — the caller's — writes results.csv and calls the report hook, so a plotting
 * library that is not thread-safe never runs on a worker. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

static void iso_time(char *buf, size_t cap) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ==== one trial ==== */

/* What the epoch hook needs. */
typedef struct EpochCtx {
  const ExpTrialEnv *env;
  int trial;
} EpochCtx;

static Status epoch_event(void *ud, const RtEpochInfo *e, Diag *d) {
  EpochCtx *c = ud;
  StrBuf sb;
  sb_init(&sb);
  sb_printf(&sb, "{\"ev\":\"epoch\",\"trial\":%d,\"epoch\":%lld", c->trial, (long long)e->epoch);
  const char *names[] = {"train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch_seconds", "samples_per_second"};
  double vals[] = {e->train_loss, e->train_acc, e->val_loss, e->val_acc, e->lr, e->epoch_seconds, e->samples_per_second};
  for (int k = 0; k < 7; k++) {
    sb_printf(&sb, ",\"%s\":", names[k]);
    if (isfinite(vals[k]))
      sb_printf(&sb, "%.17g", vals[k]);
    else
      sb_puts(&sb, "null");
  }
  sb_printf(&sb, "%s}\n", e->diverged ? ",\"diverged\":true" : "");
  Status st = sb.oom ? diag_oom(d) : c->env->line(c->env->ud, sb_str(&sb), d);
  sb_free(&sb);
  return st;
}

/* Files of a directory that holds no committed epoch, removed so the trial starts afresh
 * (a trial's directory is flat: run files only). */
static void clear_dir(const char *path) {
  DIR *dir = opendir(path);
  if (!dir) return;
  for (struct dirent *de; (de = readdir(dir));) {
    if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2]))) continue;
    unlinkat(dirfd(dir), de->d_name, 0);
  }
  closedir(dir);
}

/* Continue from a committed epoch, or start in an empty directory. */
Status exp_trial_dir_ready(const char *path, RtTrainConfig *c, Diag *d) {
  char p[4200];
  snprintf(p, sizeof p, "%s/last.optim.safetensors", path);
  if (access(p, F_OK) == 0) {
    c->resume_dir = path;
    c->out_dir = NULL;
    return JS_OK;
  }
  clear_dir(path);
  if (!ir_mkdir_p(path, 0777)) return diag_error(d, (SrcLoc){0}, "cannot create '%s': %s", path, strerror(errno));
  c->out_dir = path;
  c->resume_dir = NULL;
  return JS_OK;
}

/* The first line of a Diag's text, without "error: ". */
void exp_first_error(const Diag *d, char *out, size_t cap) {
  const char *msg = sb_str(&d->text), *p = strstr(msg, "error: ");
  if (p) msg = p + 7;
  size_t n = strcspn(msg, "\n");
  snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), msg);
  if (!out[0]) snprintf(out, cap, "failed without a message");
}

/* Accuracy of best.safetensors on the test split, with the trial's engine and kernels. */
static Status trial_test(const RtTrainConfig *c, const char *path, ExpResult *r, Diag *d) {
  char ckpt[4200];
  snprintf(ckpt, sizeof ckpt, "%s/best.safetensors", path);
  RtTestConfig t;
  rt_test_config_default(&t);
  t.fwd = c->fwd;
  t.train = c->train;
  t.ckpt = ckpt;
  t.data = c->data;
  t.dataset = c->dataset;
  t.batch_size = c->batch_size;
  t.engine = c->engine;
  t.device = c->device;
  t.kernels = c->kernels;
  RtEvalResult ev;
  Status st = rt_test(&t, &ev, d);
  if (!st) {
    r->test_acc = ev.acc;
    r->test_acc_macro = rt_eval_macro_acc(&ev);
  }
  return st;
}

static void result_of(const RtTrainResult *tr, ExpResult *r) {
  r->status = tr->diverged ? EXP_DIVERGED : EXP_OK;
  r->epochs = tr->epochs;
  r->best_epoch = tr->best_epoch;
  r->diverged_epoch = tr->diverged_epoch;
  r->best_val_loss = tr->best_epoch ? tr->best_val_loss : NAN;
  r->best_val_acc = tr->best_val_acc;
  r->final_train_acc = tr->train_acc;
  r->final_val_acc = tr->val_acc;
  r->mean_epoch_seconds = tr->mean_epoch_seconds;
  r->samples_per_second = tr->samples_per_second;
  r->params = tr->trainable_params;
}

/* --keep: the checkpoints that stay once the trial has ended. */
static void keep_files(const char *path, ExpKeep keep) {
  static const char *const files[] = {"last.safetensors", "last.optim.safetensors", "init.safetensors",
                                      "best.safetensors"};
  int n = keep == EXP_KEEP_ALL ? 0 : keep == EXP_KEEP_BEST ? 3 : 4;
  char p[4200];
  for (int i = 0; i < n; i++) {
    snprintf(p, sizeof p, "%s/%s", path, files[i]);
    unlink(p);
  }
}

/* One trial while it trains: its diagnostics, log, TensorBoard writer and epoch hooks. */
typedef struct TrialCtx {
  Diag td;             /* the trial's own messages (its failure is a result, not an error) */
  EpochCtx ec;
  ExpTbRun *tb;
  ExpTbHook th;
  FILE *log;           /* its train.log */
  char path[4096];     /* its run directory */
  Status st;           /* a failure before training */
} TrialCtx;

/* The trial's directory, log and hooks, set into c. */
static void trial_prepare(TrialCtx *t, const ExpTrialEnv *env, int id, RtTrainConfig *c) {
  diag_init(&t->td, NULL);
  t->ec = (EpochCtx){env, id};
  t->th = (ExpTbHook){NULL, epoch_event, &t->ec};
  c->on_epoch = epoch_event;
  c->on_epoch_ud = &t->ec;
  t->st = exp_trial_dir_ready(t->path, c, &t->td);
  if (!t->st && env->tensorboard) { /* one log directory per trial, named like it */
    char tdir[8200];
    snprintf(tdir, sizeof tdir, "%s/%s", env->tensorboard, strrchr(t->path, '/') + 1);
    if (!(t->st = exp_tb_run_open(tdir, c, &t->tb, &t->td))) {
      t->th.run = t->tb;
      c->on_epoch = exp_tb_hook;
      c->on_epoch_ud = &t->th;
    }
  }
  char logp[4200];
  snprintf(logp, sizeof logp, "%s/train.log", t->path);
  t->log = t->st ? NULL : fopen(logp, "a");
  c->log = t->log;
  c->quiet = false;
  c->progress = false;
}

static void trial_failed(TrialCtx *t, ExpResult *r) {
  r->status = EXP_FAILED;
  exp_first_error(&t->td, r->error, sizeof r->error);
}

/* A trial resumed after its last epoch was committed (killed before its end line) runs no
 * epoch, so rt_train has no final accuracies for it: they are the last row of its
 * metrics.csv (epoch,train_loss,train_acc,val_loss,val_acc,...). */
static void committed_accs(const char *path, ExpResult *r) {
  char p[4200], line[1024], last[1024] = "";
  snprintf(p, sizeof p, "%s/metrics.csv", path);
  FILE *f = fopen(p, "r");
  if (!f) return;
  while (fgets(line, sizeof line, f))
    if (line[0] >= '0' && line[0] <= '9') memcpy(last, line, sizeof last);
  fclose(f);
  double epoch, train_loss, train_acc, val_loss, val_acc;
  if (sscanf(last, "%lf,%lf,%lf,%lf,%lf", &epoch, &train_loss, &train_acc, &val_loss, &val_acc) == 5)
    r->final_train_acc = train_acc, r->final_val_acc = val_acc;
}

/* After rt_train (st, tr): the result, the test split, the log and writer closed. */
static void trial_finish(TrialCtx *t, const RtTrainConfig *c, Status st, const RtTrainResult *tr, ExpResult *r) {
  if (!st) result_of(tr, r);
  if (!st && tr->ran_epochs == 0 && tr->epochs > 0) committed_accs(t->path, r);
  if (!st && r->status == EXP_OK) st = trial_test(c, t->path, r, &t->td);
  if (st) trial_failed(t, r);
  if (t->tb && exp_tb_run_close(t->tb, r->status == EXP_OK, &t->td) && r->status == EXP_OK) trial_failed(t, r);
  if (t->log) fprintf(t->log, "%s", sb_str(&t->td.text)), fclose(t->log);
  diag_free(&t->td);
}

/* rt_train in the trial's directory, then the test split; r gets the result. */
static void train_and_test(const ExpTrialEnv *env, int id, RtTrainConfig *c, TrialCtx *t, ExpResult *r) {
  trial_prepare(t, env, id, c);
  RtTrainResult tr;
  Status st = t->st ? t->st : rt_train(c, &tr, &t->td);
  trial_finish(t, c, st, &tr, r);
}

/* The trial's begin line. */
static Status trial_begin(const ExpSweep *sw, int id, const ExpTrialEnv *env, TrialCtx *t, Diag *d) {
  char when[32];
  memset(t, 0, sizeof *t);
  snprintf(t->path, sizeof t->path, "%s/%s", env->dir, sw->trials[id].dir);
  iso_time(when, sizeof when);
  StrBuf sb;
  sb_init(&sb);
  sb_printf(&sb, "{\"ev\":\"begin\",\"trial\":%d,\"rank\":%d,\"time\":\"%s\"}\n", id, env->rank, when);
  Status st = sb.oom ? diag_oom(d) : env->line(env->ud, sb_str(&sb), d);
  sb_free(&sb);
  return st;
}

Status exp_trial_run(const ExpSweep *sw, int id, RtTrainConfig *c, const ExpTrialEnv *env, ExpResult *r, Diag *d) {
  exp_result_init(r);
  TrialCtx t;
  Status st = trial_begin(sw, id, env, &t, d);
  if (!st) train_and_test(env, id, c, &t, r);
  return st;
}

Status exp_group_run(const ExpSweep *sw, const int *ids, int n, RtTrainConfig *cfg, const ExpTrialEnv *env,
                     ExpResult *res, Diag *d) {
  TrialCtx *t = ir_calloc((size_t)n, sizeof *t);
  RtTrainConfig *cs = ir_malloc((size_t)n * sizeof *cs);
  RtTrainResult *tr = ir_malloc((size_t)n * sizeof *tr);
  Status *st = ir_calloc((size_t)n, sizeof *st);
  Diag **tds = ir_malloc((size_t)n * sizeof *tds);
  Status jst = t && cs && tr && st && tds ? JS_OK : diag_oom(d); /* the sweep's own failure */
  Diag gd;
  diag_init(&gd, NULL);
  int begun = 0;
  for (; !jst && begun < n; begun++) {
    int id = ids[begun];
    exp_result_init(&res[id]);
    if ((jst = trial_begin(sw, id, env, &t[begun], d))) break;
    trial_prepare(&t[begun], env, id, &cfg[id]);
    cs[begun] = cfg[id];
    tds[begun] = &t[begun].td;
    if (t[begun].st) diag_error(&gd, (SrcLoc){0}, "trial %d of this GPU group could not start (see its train.log)", id);
  }
  Status run = jst ? jst : gd.nerrors ? JS_ERR : rt_train_group(cs, n, tr, st, tds, &gd);
  for (int i = 0; i < begun; i++) {
    if (run && !st[i]) { /* the group's failure */
      char why[512];
      exp_first_error(&gd, why, sizeof why);
      st[i] = diag_error(&t[i].td, (SrcLoc){0}, "%s", why);
    }
    trial_finish(&t[i], &cs[i], st[i], &tr[i], &res[ids[i]]);
  }
  /* The device or a launch failing is no trial's fault: the trials stay pending for
   * --resume, and the sweep stops with the reason. */
  if (!jst && run && !gd.nerrors) run = JS_ERR;
  if (!jst && run) {
    char why[512];
    exp_first_error(&gd, why, sizeof why);
    jst = diag_error(d, (SrcLoc){0}, "a GPU group of %d trials stopped: %s", n, why);
    for (int i = 0; i < begun; i++) exp_result_init(&res[ids[i]]);
  }
  diag_free(&gd);
  ir_free(t), ir_free(cs), ir_free(tr), ir_free(st), ir_free(tds);
  return jst;
}

Status exp_trial_end(const ExpSweep *sw, int id, const ExpResult *r, const ExpTrialEnv *env, Diag *d) {
  StrBuf sb;
  sb_init(&sb);
  exp_result_json(&sb, id, r);
  Status st = sb.oom ? diag_oom(d) : env->line(env->ud, sb_str(&sb), d);
  sb_free(&sb);
  if (!st) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", env->dir, sw->trials[id].dir);
    keep_files(path, env->keep);
  }
  return st;
}

/* ==== many trials on threads ==== */

typedef struct Pool {
  const ExpSweep *sw;
  RtTrainConfig *cfg;        /* [ntrials] prepared by the caller */
  ExpResult *res;            /* [ntrials] */
  const ExpTrialEnv *env;
  int *todo, ntodo;          /* trials to run, unit after unit */
  int *unit, nunits, next;   /* [nunits + 1] where each unit starts in todo; the next unit to hand out */
  int *done, ndone, nseen;   /* finished trials, in finishing order; how many the coordinator has seen */
  double *secs;              /* [ntrials] wall time of each */
  int running;               /* worker threads not yet returned */
  bool stop;                 /* a journal failure: hand out nothing more */
  char why[512];             /* that failure's message */
  pthread_mutex_t lock;
  pthread_cond_t cond;
} Pool;

/* A unit of work: one trial, or a group of trials sharing each epoch's GPU launch. */
static Status run_unit(Pool *p, const int *ids, int n, ExpResult *r, Diag *jd) {
  Status st;
  if (n == 1) {
    st = exp_trial_run(p->sw, ids[0], &p->cfg[ids[0]], p->env, &r[0], jd);
  } else {
    ExpResult *all = p->res; /* exp_group_run writes res[id]: into a copy, published under the lock */
    ExpResult *tmp = ir_malloc((size_t)p->sw->ntrials * sizeof *tmp);
    if (!tmp) return diag_oom(jd);
    memcpy(tmp, all, (size_t)p->sw->ntrials * sizeof *tmp);
    st = exp_group_run(p->sw, ids, n, p->cfg, p->env, tmp, jd);
    for (int i = 0; i < n; i++) r[i] = tmp[ids[i]];
    ir_free(tmp);
  }
  for (int i = 0; !st && i < n; i++)
    if (r[i].status != EXP_PENDING) st = exp_trial_end(p->sw, ids[i], &r[i], p->env, jd);
  return st;
}

static void *worker(void *arg) {
  Pool *p = arg;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    int u = p->stop || p->next == p->nunits ? -1 : p->next++;
    if (u < 0) {
      p->running--;
      pthread_cond_signal(&p->cond);
      pthread_mutex_unlock(&p->lock);
      return NULL;
    }
    const int *ids = p->todo + p->unit[u];
    int n = p->unit[u + 1] - p->unit[u];
    pthread_mutex_unlock(&p->lock);
    Diag jd;
    diag_init(&jd, NULL);
    ExpResult *r = ir_malloc((size_t)n * sizeof *r);
    double t0 = now_s();
    Status st = r ? run_unit(p, ids, n, r, &jd) : diag_oom(&jd);
    pthread_mutex_lock(&p->lock);
    if (st) {
      p->stop = true;
      if (!p->why[0]) exp_first_error(&jd, p->why, sizeof p->why);
    }
    for (int i = 0; !st && i < n; i++) {
      if (r[i].status == EXP_PENDING) continue;
      p->res[ids[i]] = r[i];
      p->secs[ids[i]] = now_s() - t0;
      p->done[p->ndone++] = ids[i];
    }
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    ir_free(r);
    diag_free(&jd);
  }
}

/* Whether trial id's directory holds a committed epoch (it continues alone, not in a group). */
static bool has_commit(const Pool *p, int id) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s/last.optim.safetensors", p->env->dir, p->sw->trials[id].dir);
  return access(path, F_OK) == 0;
}

/* A unit's expected work, to hand out the longest first (so that no thread is left alone
 * with a long trial at the end): the model's parameters, then its optimizer steps. */
static double unit_cost(const Pool *p, int u, double *steps) {
  const RtTrainConfig *c = &p->cfg[p->todo[p->unit[u]]];
  int64_t nparam = 0, nbuf = 0;
  ir_module_count(c->fwd->root, &nparam, &nbuf);
  int64_t rows = c->dataset ? c->dataset->train.n : 0;
  *steps = (double)c->max_epochs * (double)((rows + c->batch_size - 1) / c->batch_size);
  return (double)nparam;
}

/* The units sorted by cost, stably (equal costs keep the trial order). */
static Status order_units(Pool *p, Diag *d) {
  int n = p->nunits;
  int *idx = ir_malloc((size_t)(n ? n : 1) * sizeof *idx), *todo = ir_malloc((size_t)(p->ntodo ? p->ntodo : 1) * sizeof *todo);
  int *unit = ir_malloc((size_t)(n + 1) * sizeof *unit);
  double *w = ir_malloc((size_t)(n ? n : 1) * sizeof *w), *st = ir_malloc((size_t)(n ? n : 1) * sizeof *st);
  Status s = idx && todo && unit && w && st ? JS_OK : diag_oom(d);
  for (int u = 0; !s && u < n; u++) idx[u] = u, w[u] = unit_cost(p, u, &st[u]);
  for (int i = 1; !s && i < n; i++) /* insertion sort: stable, and n is small */
    for (int j = i; j > 0 && (w[idx[j]] > w[idx[j - 1]] || (w[idx[j]] == w[idx[j - 1]] && st[idx[j]] > st[idx[j - 1]])); j--) {
      int t = idx[j];
      idx[j] = idx[j - 1], idx[j - 1] = t;
    }
  int k = 0;
  for (int i = 0; !s && i < n; i++) {
    unit[i] = k;
    for (int t = p->unit[idx[i]]; t < p->unit[idx[i] + 1]; t++) todo[k++] = p->todo[t];
  }
  if (!s) {
    unit[n] = k;
    memcpy(p->todo, todo, (size_t)k * sizeof *todo);
    memcpy(p->unit, unit, (size_t)(n + 1) * sizeof *unit);
  }
  ir_free(idx), ir_free(todo), ir_free(unit), ir_free(w), ir_free(st);
  return s;
}

/* The units: trials on the GPU that may share a launch (rt_train_groupable, fresh) are one
 * unit, every other trial its own.  `pick` lists the selected pending trials in order. */
static Status make_units(Pool *p, const int *pick, int npick, Diag *d) {
  bool *used = ir_calloc((size_t)(npick ? npick : 1), sizeof *used);
  p->unit = ir_malloc((size_t)(npick + 1) * sizeof *p->unit);
  if (!used || !p->unit) return ir_free(used), diag_oom(d);
  for (int i = 0; i < npick; i++) {
    if (used[i]) continue;
    p->unit[p->nunits++] = p->ntodo;
    p->todo[p->ntodo++] = pick[i];
    const RtTrainConfig *a = &p->cfg[pick[i]];
    bool solo = a->device != RT_DEVICE_CUDA || has_commit(p, pick[i]);
    int size = 1;
    for (int j = i + 1; !solo && j < npick && size < RT_DEV_MAX_TRIALS; j++)
      if (!used[j] && rt_train_groupable(a, &p->cfg[pick[j]]) && !has_commit(p, pick[j]))
        used[j] = true, p->todo[p->ntodo++] = pick[j], size++;
  }
  p->unit[p->nunits] = p->ntodo;
  ir_free(used);
  return order_units(p, d);
}

/* The coordinator: results.csv and the hook after every finished trial. */
static Status coordinate(Pool *p, const ExpRunOpts *o, Diag *d) {
  Status st = JS_OK;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (p->nseen == p->ndone && p->running > 0) pthread_cond_wait(&p->cond, &p->lock);
    if (p->nseen == p->ndone) break;
    int id = p->done[p->nseen++];
    pthread_mutex_unlock(&p->lock);
    if (!st) st = exp_results_write(p->sw, p->res, p->env->dir, d);
    if (o->on_trial) o->on_trial(o->ud, id, &p->res[id], p->nseen, p->ntodo, p->secs[id]);
    pthread_mutex_lock(&p->lock);
  }
  pthread_mutex_unlock(&p->lock);
  return st;
}

Status exp_run(const ExpSweep *sw, RtTrainConfig *cfg, ExpResult *res, const ExpTrialEnv *env, const ExpRunOpts *o,
               Diag *d) {
  Pool p = {.sw = sw, .cfg = cfg, .res = res, .env = env};
  p.todo = ir_malloc((size_t)sw->ntrials * sizeof *p.todo);
  p.done = ir_malloc((size_t)sw->ntrials * sizeof *p.done);
  p.secs = ir_calloc((size_t)sw->ntrials, sizeof *p.secs);
  pthread_t *th = ir_malloc((size_t)(o->jobs > 0 ? o->jobs : 1) * sizeof *th);
  int *pick = ir_malloc((size_t)sw->ntrials * sizeof *pick), npick = 0;
  Status st = p.todo && p.done && p.secs && th && pick ? JS_OK : diag_oom(d);
  for (int i = 0; !st && i < sw->ntrials; i++)
    if (res[i].status == EXP_PENDING && (!o->selected || o->selected(o->ud, i))) pick[npick++] = i;
  if (!st) st = make_units(&p, pick, npick, d);
  ir_free(pick);
  int n = o->jobs < p.nunits ? o->jobs : p.nunits, started = 0;
  pthread_mutex_init(&p.lock, NULL);
  pthread_cond_init(&p.cond, NULL);
  p.running = n;
  for (; !st && started < n; started++)
    if (pthread_create(&th[started], NULL, worker, &p) != 0) break;
  pthread_mutex_lock(&p.lock);
  p.running -= n - started; /* threads that could not start */
  pthread_mutex_unlock(&p.lock);
  if (!st && !started && p.ntodo) st = diag_error(d, (SrcLoc){0}, "cannot start a worker thread: %s", strerror(errno));
  Status cst = coordinate(&p, o, d);
  for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
  if (!st && p.stop) st = diag_error(d, (SrcLoc){0}, "%s", p.why);
  if (!st) st = cst;
  pthread_cond_destroy(&p.cond);
  pthread_mutex_destroy(&p.lock);
  ir_free(p.todo), ir_free(p.done), ir_free(p.secs), ir_free(th), ir_free(p.unit);
  return st;
}
