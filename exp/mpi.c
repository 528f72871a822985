/* exp/mpi.c — a sweep spread over the ranks of `mpirun -np N jscc sweep ...`, and the
 * messages of a search spread the same way (`mpirun -np N jscc search ...`, below).
 *
 * Rank 0 is the sweep as it is without MPI — it holds the directory's lock, sweep.json and
 * the journal, rewrites results.csv and prints the progress — except that it trains
 * nothing: it hands trial ids to the other ranks as they ask, and appends the journal
 * lines they send.  A worker rank reads sweep.json, runs one trial at a time in-process
 * (models, data and kernels loaded and compiled once per rank by the caller's prepare
 * hook) and sends each begin, epoch and end line to rank 0, going on only once rank 0 says
 * the line is on disk.  So the journal stays the only source of truth: a rank that dies
 * leaves a trial with a begin and no end, which `jscc sweep --resume DIR` runs again from
 * its last committed epoch, as it does after any kill.
 *
 * MPI is called from the thread that called exp_mpi_init only (MPI_THREAD_FUNNELED): a
 * worker's training may use threads, but the journal hook runs on the calling thread.
 * Open MPI's blocking receive polls at full speed; rank 0 waits most of the time and the
 * workers wait for every acknowledgement, so every wait here probes and sleeps instead.
 *
 * Messages (all on MPI_COMM_WORLD, tags below):
 *   START  0 -> w  "g" KEEP-DIGIT DIR NUL TENSORBOARD-DIR NUL (run the sweep in DIR; the
 *                  second directory empty without --tensorboard), or "s" (stop: rank 0
 *                  failed before the sweep began, and says why)
 *   ASK    w -> 0  int: 0 "a trial, please", 1 "I stop after an error" (printed by w)
 *   TRIAL  0 -> w  int: the trial id, or -1: stop (once nothing is left to hand out and
 *                  every trial handed out has ended, or the sweep stops)
 *   LINE   w -> 0  text: one journal line, with its newline
 *   ACK    0 -> w  int: 0 the line is durable, 1 the journal failed: stop */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exp.h"

#ifdef JSCC_HAVE_MPI
#include <mpi.h>

enum { TAG_START = 1, TAG_ASK, TAG_TRIAL, TAG_LINE, TAG_ACK };

struct ExpMpi {
  int rank, size;
  bool started; /* rank 0: the workers were sent START */
  bool broken;  /* an MPI call failed: the others may wait forever, so exp_mpi_end aborts the job */
};

bool exp_mpi_built(void) { return true; }

/* A checked MPI call: the call's name and MPI's own message. */
static Status mpi_ok(ExpMpi *m, int rc, const char *call, Diag *d) {
  if (rc == MPI_SUCCESS) return JS_OK;
  char msg[MPI_MAX_ERROR_STRING] = "";
  int n = 0;
  MPI_Error_string(rc, msg, &n);
  if (m) m->broken = true;
  return diag_error(d, (SrcLoc){0}, "%s failed: %.*s", call, n, msg);
}

Status exp_mpi_init(ExpMpi **out, Diag *d) {
  *out = NULL;
  int provided = 0, rank = 0, size = 1;
  Status st = mpi_ok(NULL, MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread", d);
  if (st) return st;
  /* errors come back as codes, reported through the Diag, instead of ending the process */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size < 2) { /* one rank: the sweep runs on threads, as without mpirun */
    MPI_Finalize();
    return JS_OK;
  }
  ExpMpi *m = ir_calloc(1, sizeof *m);
  if (!m) {
    MPI_Abort(MPI_COMM_WORLD, 1); /* the other ranks would wait forever for this one */
    return diag_oom(d);
  }
  m->rank = rank, m->size = size;
  *out = m;
  return JS_OK;
}

int exp_mpi_rank(const ExpMpi *m) { return m ? m->rank : 0; }
int exp_mpi_size(const ExpMpi *m) { return m ? m->size : 1; }

/* ==== messages ==== */

/* Until a message from src with tag is there (MPI_ANY_* allowed): probes, sleeping 50 µs
 * at first and up to 2 ms, so that waiting costs no core. */
static Status wait_msg(ExpMpi *m, int src, int tag, MPI_Status *s, Diag *d) {
  long ns = 50000;
  for (int flag = 0;;) {
    Status st = mpi_ok(m, MPI_Iprobe(src, tag, MPI_COMM_WORLD, &flag, s), "MPI_Iprobe", d);
    if (st || flag) return st;
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
    if (ns < 2000000) ns *= 2;
  }
}

static Status send_int(ExpMpi *m, int v, int dst, int tag, Diag *d) {
  return mpi_ok(m, MPI_Send(&v, 1, MPI_INT, dst, tag, MPI_COMM_WORLD), "MPI_Send", d);
}

static Status send_chars(ExpMpi *m, const char *s, size_t n, int dst, int tag, Diag *d) {
  return mpi_ok(m, MPI_Send(s, (int)n, MPI_CHAR, dst, tag, MPI_COMM_WORLD), "MPI_Send", d);
}

static Status send_text(ExpMpi *m, const char *s, int dst, int tag, Diag *d) {
  return send_chars(m, s, strlen(s) + 1, dst, tag, d);
}

/* The int of the message s announced. */
static Status recv_int(ExpMpi *m, const MPI_Status *s, int *v, Diag *d) {
  return mpi_ok(m, MPI_Recv(v, 1, MPI_INT, s->MPI_SOURCE, s->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                "MPI_Recv", d);
}

/* The text of the message s announced, in a new buffer (ir_free) that ends in two NULs
 * whatever was sent, so a START always has its two fields. */
static Status recv_text(ExpMpi *m, const MPI_Status *s, char **out, Diag *d) {
  int n = 0;
  MPI_Get_count(s, MPI_CHAR, &n);
  char *buf = ir_calloc((size_t)n + 2, 1);
  if (!buf) return diag_oom(d);
  Status st = mpi_ok(m, MPI_Recv(buf, n, MPI_CHAR, s->MPI_SOURCE, s->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                     "MPI_Recv", d);
  if (st) ir_free(buf), buf = NULL;
  *out = buf;
  return st;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ==== rank 0: handing out trials, keeping the journal ==== */

typedef struct Serve {
  ExpMpi *m;
  const ExpSweep *sw;
  ExpResult *res;            /* [ntrials] */
  const ExpTrialEnv *env;    /* its line hook appends to the journal */
  const ExpRunOpts *o;
  int *todo, ntodo, next;    /* trials to run, in order; the next one to hand out */
  int finished;              /* trials whose end is in the journal */
  double *t0;                /* [ntrials] when each was handed out */
  int active;                /* workers not yet told to stop, nor stopped */
  int *parked, nparked;      /* workers that asked when nothing was left, told to stop once
                              * every trial has ended: they wait here, sleeping, rather than in
                              * MPI_Finalize, which polls */
  Status st;                 /* the first failure: nothing more is handed out */
  bool jfail;                /* the journal failed: lines are refused, so running trials stop too */
} Serve;

/* A worker asks for a trial (or says it stopped after an error). */
static Status on_ask(Serve *s, const MPI_Status *ms, Diag *d) {
  int leaving = 0;
  Status st = recv_int(s->m, ms, &leaving, d);
  if (st) return st;
  if (leaving) {
    s->active--;
    if (!s->st) s->st = diag_error(d, (SrcLoc){0}, "rank %d stopped after an error (its message says why)", ms->MPI_SOURCE);
    return JS_OK;
  }
  int id = s->st || s->next == s->ntodo ? -1 : s->todo[s->next++];
  if (id >= 0) s->t0[id] = now_s();
  if (id < 0 && !s->st && s->finished < s->next) return s->parked[s->nparked++] = ms->MPI_SOURCE, JS_OK;
  if (id < 0) s->active--;
  return send_int(s->m, id, ms->MPI_SOURCE, TAG_TRIAL, d);
}

/* The parked workers stop once every trial handed out has ended, or the sweep stops. */
static Status release_parked(Serve *s, Diag *d) {
  Status st = JS_OK;
  if (!s->st && s->finished < s->next) return JS_OK;
  for (; !st && s->nparked > 0; s->active--) st = send_int(s->m, -1, s->parked[--s->nparked], TAG_TRIAL, d);
  return st;
}

/* An end line, read back like the journal is: the trial's result, results.csv, progress. */
static Status on_end(Serve *s, const JVal *ev, int src, Diag *d) {
  uint64_t t;
  if (!json_uint(json_get(ev, "trial"), &t) || t >= (uint64_t)s->sw->ntrials)
    return diag_error(d, (SrcLoc){0}, "rank %d sent an end event for no trial of this sweep", src);
  char where[32];
  snprintf(where, sizeof where, "rank %d", src);
  ExpResult r;
  Status st = exp_result_parse(ev, &r, where, d);
  if (st) return st;
  s->res[t] = r;
  s->finished++;
  st = exp_results_write(s->sw, s->res, s->env->dir, d);
  if (s->o->on_trial) s->o->on_trial(s->o->ud, (int)t, &s->res[t], s->finished, s->ntodo, now_s() - s->t0[t]);
  return st;
}

/* After the line is durable (or the journal failed), the worker hears so; an end line then
 * updates the results. */
static Status on_line(Serve *s, const MPI_Status *ms, Arena *a, Diag *d) {
  char *line = NULL;
  Status st = recv_text(s->m, ms, &line, d);
  if (st) return st;
  Status jst = s->jfail ? JS_EIO : s->env->line(s->env->ud, line, d);
  if (jst) s->jfail = true;
  if (jst && !s->st) s->st = jst;
  st = send_int(s->m, jst ? 1 : 0, ms->MPI_SOURCE, TAG_ACK, d);
  JVal v;
  JsonError je;
  const JVal *ev = NULL;
  if (!st && !jst && json_parse(a, line, strcspn(line, "\n"), "journal line", &v, &je) && v.kind == J_OBJ)
    ev = json_get(&v, "ev");
  if (ev && ev->kind == J_STR && strcmp(ev->str, "end") == 0) {
    Status est = on_end(s, &v, ms->MPI_SOURCE, d);
    if (est && !s->st) s->st = est;
  }
  ir_free(line);
  return st;
}

/* sb's bytes to every worker as its START (sb freed). */
static Status start_all(ExpMpi *m, StrBuf *sb, Diag *d) {
  Status st = sb->oom ? diag_oom(d) : JS_OK;
  for (int r = 1; !st && r < m->size; r++) st = send_chars(m, sb->data, sb->len, r, TAG_START, d);
  m->started = true;
  sb_free(sb);
  return st;
}

/* Every worker's START: the sweep directory, --keep and --tensorboard. */
static Status start_workers(ExpMpi *m, const ExpTrialEnv *env, Diag *d) {
  StrBuf sb;
  sb_init(&sb);
  sb_printf(&sb, "g%d%s", (int)env->keep, env->dir);
  sb_putc(&sb, 0);
  sb_puts(&sb, env->tensorboard ? env->tensorboard : "");
  sb_putc(&sb, 0);
  return start_all(m, &sb, d);
}

/* Messages until every worker has stopped; an MPI failure ends it at once. */
static Status serve_loop(Serve *s, Diag *d) {
  Status st = JS_OK;
  while (!st && s->active > 0) {
    MPI_Status ms;
    Arena *a = arena_new();
    st = a ? wait_msg(s->m, MPI_ANY_SOURCE, MPI_ANY_TAG, &ms, d) : diag_oom(d);
    if (!st && ms.MPI_TAG == TAG_ASK) st = on_ask(s, &ms, d);
    else if (!st && ms.MPI_TAG == TAG_LINE) st = on_line(s, &ms, a, d);
    else if (!st) st = diag_error(d, (SrcLoc){0}, "rank %d sent an unexpected message (tag %d)", ms.MPI_SOURCE, ms.MPI_TAG);
    if (!st) st = release_parked(s, d);
    arena_free(a);
  }
  return st;
}

Status exp_mpi_serve(ExpMpi *m, const ExpSweep *sw, ExpResult *res, const ExpTrialEnv *env, const ExpRunOpts *o,
                     Diag *d) {
  Serve s = {.m = m, .sw = sw, .res = res, .env = env, .o = o, .active = m->size - 1};
  s.todo = ir_malloc((size_t)sw->ntrials * sizeof *s.todo + 1);
  s.t0 = ir_calloc((size_t)sw->ntrials + 1, sizeof *s.t0);
  s.parked = ir_malloc((size_t)m->size * sizeof *s.parked);
  Status st = s.todo && s.t0 && s.parked ? JS_OK : diag_oom(d);
  for (int i = 0; !st && i < sw->ntrials; i++)
    if (res[i].status == EXP_PENDING && (!o->selected || o->selected(o->ud, i))) s.todo[s.ntodo++] = i;
  if (st) s.active = 0; /* exp_mpi_end stops the workers */
  if (!st) st = start_workers(m, env, d);
  if (!st) st = serve_loop(&s, d);
  if (!st) st = s.st;
  ir_free(s.todo), ir_free(s.t0), ir_free(s.parked);
  return st;
}

/* ==== a worker rank ==== */

/* The journal hook: the line to rank 0, then its acknowledgement. */
static Status send_line(void *ud, const char *line, Diag *d) {
  ExpMpi *m = ud;
  MPI_Status ms;
  int ack = 1;
  Status st = send_text(m, line, 0, TAG_LINE, d);
  if (!st) st = wait_msg(m, 0, TAG_ACK, &ms, d);
  if (!st) st = recv_int(m, &ms, &ack, d);
  if (!st && ack) st = diag_error(d, (SrcLoc){0}, "rank 0 could not write the journal: the sweep stops");
  return st;
}

/* The next trial from rank 0 (-1: none). */
static Status ask_trial(ExpMpi *m, int *id, Diag *d) {
  MPI_Status ms;
  Status st = send_int(m, 0, 0, TAG_ASK, d);
  if (!st) st = wait_msg(m, 0, TAG_TRIAL, &ms, d);
  if (!st) st = recv_int(m, &ms, id, d);
  return st;
}

/* Trials as rank 0 hands them out, one at a time. */
static Status work_loop(ExpMpi *m, const ExpSweep *sw, const ExpTrialEnv *env, ExpMpiPrepare prepare, void *ud,
                        Diag *d) {
  for (;;) {
    int id = -1;
    Status st = ask_trial(m, &id, d);
    if (st || id < 0) return st;
    if (id >= sw->ntrials) return diag_error(d, (SrcLoc){0}, "rank 0 handed out trial %d of %d", id, sw->ntrials);
    RtTrainConfig c;
    memset(&c, 0, sizeof c);
    ExpResult r;
    st = prepare(ud, sw, id, &c, d);
    if (!st) st = exp_trial_run(sw, id, &c, env, &r, d);
    if (!st) st = exp_trial_end(sw, id, &r, env, d);
    if (st) return st;
  }
}

Status exp_mpi_work(ExpMpi *m, ExpMpiPrepare prepare, void *ud, Diag *d) {
  MPI_Status ms;
  char *start = NULL;
  Status st = wait_msg(m, 0, TAG_START, &ms, d);
  if (!st) st = recv_text(m, &ms, &start, d);
  if (st || start[0] != 'g' || !start[1]) { /* rank 0 stopped before the sweep began, and says why */
    ir_free(start);
    return st;
  }
  ExpSweep *sw = NULL;
  ExpTrialEnv env = {.dir = start + 2, .keep = (ExpKeep)(start[1] - '0'), .rank = m->rank, .line = send_line, .ud = m};
  const char *tb = env.dir + strlen(env.dir) + 1;
  env.tensorboard = *tb ? tb : NULL;
  st = exp_sweep_read(env.dir, &sw, d);
  if (!st) st = work_loop(m, sw, &env, prepare, ud, d);
  if (st && !m->broken) send_int(m, 1, 0, TAG_ASK, d); /* rank 0 stops handing out trials */
  exp_sweep_free(sw);
  ir_free(start);
  return st;
}

/* ==== a search's messages (jscc search under mpirun) ====
 *   START  0 -> w  "S" DIR NUL (score what rank 0 hands out for the search in DIR), or "s"
 *   JOB    0 -> w  text: "TRIAL RUNG PASSES", or "" (stop)
 *   RESULT w -> 0  text: the trial's result as JSON (exp/searchrun.c) */

Status exp_mpi_search_start(ExpMpi *m, const char *dir, Diag *d) {
  StrBuf sb;
  sb_init(&sb);
  sb_printf(&sb, "S%s", dir);
  sb_putc(&sb, 0);
  return start_all(m, &sb, d);
}

Status exp_mpi_search_wait_start(ExpMpi *m, char **dir, Diag *d) {
  MPI_Status ms;
  char *start = NULL;
  *dir = NULL;
  Status st = wait_msg(m, 0, TAG_START, &ms, d);
  if (!st) st = recv_text(m, &ms, &start, d);
  if (!st && start[0] == 'S' && start[1]) {
    memmove(start, start + 1, strlen(start));
    *dir = start;
    return JS_OK;
  }
  ir_free(start); /* rank 0 stopped before the search began, and says why */
  return st;
}

Status exp_mpi_job_send(ExpMpi *m, int rank, const char *job, Diag *d) { return send_text(m, job, rank, TAG_TRIAL, d); }

Status exp_mpi_job_recv(ExpMpi *m, char **job, Diag *d) {
  MPI_Status ms;
  *job = NULL;
  Status st = wait_msg(m, 0, TAG_TRIAL, &ms, d);
  if (!st) st = recv_text(m, &ms, job, d);
  return st;
}

Status exp_mpi_result_send(ExpMpi *m, const char *result, Diag *d) { return send_text(m, result, 0, TAG_LINE, d); }

Status exp_mpi_result_wait(ExpMpi *m, int *rank, char **result, Diag *d) {
  MPI_Status ms;
  *result = NULL;
  Status st = wait_msg(m, MPI_ANY_SOURCE, TAG_LINE, &ms, d);
  if (!st) *rank = ms.MPI_SOURCE, st = recv_text(m, &ms, result, d);
  return st;
}

void exp_mpi_end(ExpMpi *m) {
  if (!m) return;
  Diag d;
  diag_init(&d, NULL);
  if (m->broken) MPI_Abort(MPI_COMM_WORLD, 1); /* the others may wait for this rank forever */
  for (int r = 1; m->rank == 0 && !m->started && r < m->size; r++) send_text(m, "s", r, TAG_START, &d);
  diag_free(&d);
  MPI_Finalize();
  ir_free(m);
}

#else /* built without MPI: every entry point says so */

struct ExpMpi {
  int unused;
};

bool exp_mpi_built(void) { return false; }

static Status no_mpi(Diag *d) {
  return diag_error(d, (SrcLoc){0},
                    "this jscc was built without MPI (meson -Dmpi=enabled, with libopenmpi-dev): run jscc sweep "
                    "without mpirun");
}

Status exp_mpi_init(ExpMpi **out, Diag *d) {
  *out = NULL;
  return no_mpi(d);
}
int exp_mpi_rank(const ExpMpi *m) { return 0; }
int exp_mpi_size(const ExpMpi *m) { return 1; }
Status exp_mpi_serve(ExpMpi *m, const ExpSweep *sw, ExpResult *res, const ExpTrialEnv *env, const ExpRunOpts *o,
                     Diag *d) {
  return no_mpi(d);
}
Status exp_mpi_work(ExpMpi *m, ExpMpiPrepare prepare, void *ud, Diag *d) { return no_mpi(d); }
Status exp_mpi_search_start(ExpMpi *m, const char *dir, Diag *d) { return no_mpi(d); }
Status exp_mpi_search_wait_start(ExpMpi *m, char **dir, Diag *d) { return *dir = NULL, no_mpi(d); }
Status exp_mpi_job_send(ExpMpi *m, int rank, const char *job, Diag *d) { return no_mpi(d); }
Status exp_mpi_job_recv(ExpMpi *m, char **job, Diag *d) { return *job = NULL, no_mpi(d); }
Status exp_mpi_result_send(ExpMpi *m, const char *result, Diag *d) { return no_mpi(d); }
Status exp_mpi_result_wait(ExpMpi *m, int *rank, char **result, Diag *d) { return *result = NULL, no_mpi(d); }
void exp_mpi_end(ExpMpi *m) {}

#endif
