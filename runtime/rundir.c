/* runtime/rundir.c — the run directory of rt_train: choosing and locking it, manifest.json
 * (written, and compared on --resume), the commit of an epoch and its repair on resume,
 * metrics.csv.  The protocol is described in rundir.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rundir.h"

#define NONE ((SrcLoc){0})

static void path_in(const RunDir *rd, const char *name, char *out, size_t cap) {
  snprintf(out, cap, "%s/%s", rd->path, name);
}

bool rundir_has(const RunDir *rd, const char *name) {
  char p[1200];
  path_in(rd, name, p, sizeof p);
  return access(p, F_OK) == 0;
}

static bool is_dir(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* ==== choosing and locking ==== */

/* flock on DIR/.lock, which then holds our pid for the message another process prints.  The
 * file stays: removing a lock file races with a process about to take it. */
static Status lock_dir(RunDir *rd, Diag *d) {
  char p[1200];
  path_in(rd, ".lock", p, sizeof p);
  int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) return diag_error(d, NONE, "cannot open '%s': %s", p, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char pid[32] = {0};
    ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    pid[n > 0 ? strcspn(pid, "\n") : 0] = 0;
    close(fd);
    if (err != EWOULDBLOCK) return diag_error(d, NONE, "cannot lock '%s': %s", p, strerror(err));
    return diag_error(d, NONE, "'%s' is in use: another jscc%s%s%s is writing this run directory; wait for it to "
                      "end, or choose another directory", rd->path, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "");
  }
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  bool noted = ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) == len;
  (void)noted; /* the pid only serves another process's message: not having it is no error */
  rd->lock_fd = fd;
  return JS_OK;
}

/* runs/MODEL-SEED-YYYYmmdd-HHMMSS[-K]: mkdir claims a name, so two runs started in one
 * second get two directories. */
static Status pick_auto(RunDir *rd, const RtTrainConfig *c, Diag *d) {
  char when[32];
  time_t t = time(NULL);
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(when, sizeof when, "%Y%m%d-%H%M%S", &tm);
  if (!ir_mkdir_p("runs", 0777)) return diag_error(d, NONE, "cannot create directory 'runs': %s", strerror(errno));
  for (int k = 0; k < 100; k++) {
    size_t cap = sizeof rd->path;
    int len = k ? snprintf(rd->path, cap, "runs/%s-%llu-%s-%d", c->fwd->name, (unsigned long long)c->seed, when, k + 1)
                : snprintf(rd->path, cap, "runs/%s-%llu-%s", c->fwd->name, (unsigned long long)c->seed, when);
    if (len < 0 || (size_t)len >= cap) return diag_error(d, NONE, "run directory name too long");
    if (mkdir(rd->path, 0777) == 0) {
      rd->created = true;
      return JS_OK;
    }
    if (errno != EEXIST) return diag_error(d, NONE, "cannot create directory '%s': %s", rd->path, strerror(errno));
  }
  return diag_error(d, NONE, "cannot find a free run directory name under runs/");
}

/* A new run's directory must not hold a run. */
static Status check_free(const RunDir *rd, Diag *d) {
  if (rundir_has(rd, "manifest.json") && !rundir_has(rd, "last.optim.safetensors"))
    return diag_error(d, NONE, "'%s' holds a run that stopped before it committed its first epoch: restart it with "
                      "--resume %s, or choose another --out", rd->path, rd->path);
  if (rundir_has(rd, "manifest.json") || rundir_has(rd, "metrics.csv") || rundir_has(rd, "last.safetensors") ||
      rundir_has(rd, "last.optim.safetensors"))
    return diag_error(d, NONE, "'%s' holds a run already: continue it with --resume %s, or choose another --out",
                      rd->path, rd->path);
  return JS_OK;
}

static void remove_temps(const RunDir *rd);

static Status open_new(RunDir *rd, const RtTrainConfig *c, Diag *d) {
  Status st;
  if (!c->out_dir) {
    st = pick_auto(rd, c, d);
  } else if ((size_t)snprintf(rd->path, sizeof rd->path, "%s", c->out_dir) >= sizeof rd->path) {
    st = diag_error(d, NONE, "run directory name too long");
  } else {
    rd->created = !is_dir(rd->path);
    st = ir_mkdir_p(rd->path, 0777) ? JS_OK
         : diag_error(d, NONE, "cannot create directory '%s': %s", rd->path, strerror(errno));
    if (st) rd->created = false;
  }
  if (!st) st = lock_dir(rd, d);
  if (!st) st = check_free(rd, d);
  if (!st) remove_temps(rd); /* a run killed before its manifest leaves only such files */
  return st;
}

/* The run's manifest, parsed into rd->a. */
static Status read_old_manifest(RunDir *rd, Diag *d) {
  char p[1200];
  path_in(rd, "manifest.json", p, sizeof p);
  SrcFile *src;
  if (!(rd->a = arena_new())) return diag_oom(d);
  Status st = diag_read_file(rd->a, p, &src, d);
  if (st) return st;
  JVal *root = arena_alloc(rd->a, sizeof *root);
  if (!root) return diag_oom(d);
  JsonError je;
  if (!json_parse(rd->a, src->text, src->len, "manifest", root, &je))
    return je.oom ? diag_oom(d) : diag_error(d, NONE, "%s: corrupt: %s at byte %zu", p, je.msg, je.pos);
  if (root->kind != J_OBJ) return diag_error(d, NONE, "%s: corrupt: not a JSON object", p);
  rd->old = root;
  return JS_OK;
}

/* Temp files of atomic writes a kill cut short ("last.safetensors.tmpAB12cd"): nobody else
 * writes here while we hold the lock, so they are garbage. */
static void remove_temps(const RunDir *rd) {
  DIR *dir = opendir(rd->path);
  if (!dir) return;
  for (struct dirent *e; (e = readdir(dir));) {
    const char *t = strstr(e->d_name, ".tmp");
    if (!t || strlen(t) != 10 || t == e->d_name) continue; /* ".tmp" and mkstemp's six characters */
    char p[sizeof rd->path + sizeof e->d_name + 1];
    path_in(rd, e->d_name, p, sizeof p);
    unlink(p);
  }
  closedir(dir);
}

static Status open_resume(RunDir *rd, const RtTrainConfig *c, Diag *d) {
  rd->resume = rd->started = true;
  if ((size_t)snprintf(rd->path, sizeof rd->path, "%s", c->resume_dir) >= sizeof rd->path)
    return diag_error(d, NONE, "run directory name too long");
  if (!is_dir(rd->path)) return diag_error(d, NONE, "--resume %s: no such directory", rd->path);
  Status st = lock_dir(rd, d);
  if (st) return st;
  if (!rundir_has(rd, "manifest.json"))
    return diag_error(d, NONE, "--resume %s: no run there (manifest.json is missing)", rd->path);
  rd->committed = rundir_has(rd, "last.optim.safetensors");
  remove_temps(rd);
  return read_old_manifest(rd, d);
}

Status rundir_open(RunDir *rd, const RtTrainConfig *c, Diag *d) {
  memset(rd, 0, sizeof *rd);
  rd->lock_fd = -1;
  if (c->resume_dir && c->out_dir) return diag_error(d, NONE, "--resume continues in its own directory: drop --out");
  return c->resume_dir ? open_resume(rd, c, d) : open_new(rd, c, d);
}

/* A directory made for a run that never started (the engine or the data failed) goes again. */
void rundir_close(RunDir *rd) {
  if (rd->lock_fd >= 0) {
    if (rd->created && !rd->started) {
      char p[1200];
      path_in(rd, ".lock", p, sizeof p);
      unlink(p);
      rmdir(rd->path);
    }
    close(rd->lock_fd);
  }
  rd->lock_fd = -1;
  arena_free(rd->a);
  rd->a = NULL;
  rd->old = NULL;
}

int64_t rundir_run_t_max(const RunDir *rd) {
  const JVal *t = json_get(json_get(rd->old, "hyperparameters"), "t_max");
  uint64_t v;
  return t && json_uint(t, &v) && v > 0 && v < INT64_MAX ? (int64_t)v : 0;
}

/* ==== manifest.json ==== */

/* A shell-readable rendering of argv ("jscc train m.jsc --lr 0.01"). */
static void command_line(StrBuf *sb, int argc, char *const *argv) {
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (i) sb_putc(sb, ' ');
    bool plain = *a != 0;
    for (const char *p = a; *p; p++)
      if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *p)) plain = false;
    if (plain) {
      sb_puts(sb, a);
      continue;
    }
    sb_putc(sb, '\'');
    for (const char *p = a; *p; p++) {
      if (*p == '\'')
        sb_puts(sb, "'\\''");
      else
        sb_putc(sb, *p);
    }
    sb_putc(sb, '\'');
  }
}

/* A parsed JSON value written back (numbers keep their text). */
static void jval_put(StrBuf *sb, const JVal *v) {
  switch (v->kind) {
  case J_NULL: sb_puts(sb, "null"); return;
  case J_BOOL: sb_puts(sb, v->b ? "true" : "false"); return;
  case J_NUM: sb_putn(sb, v->str, v->len); return;
  case J_STR: sb_put_json_str(sb, v->str); return;
  case J_ARR:
  case J_OBJ:
    sb_putc(sb, v->kind == J_ARR ? '[' : '{');
    for (int i = 0; i < v->n; i++) {
      if (i) sb_puts(sb, ", ");
      if (v->kind == J_OBJ) {
        sb_put_json_str(sb, v->keys[i]);
        sb_puts(sb, ": ");
      }
      jval_put(sb, &v->items[i]);
    }
    sb_putc(sb, v->kind == J_ARR ? ']' : '}');
  }
}

static void put_now(StrBuf *sb) {
  char when[64];
  time_t t = time(NULL);
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S%z", &tm);
  sb_put_json_str(sb, when);
}

/* "command": ..., "argv": [...], with sep between them. */
static void put_argv(StrBuf *sb, const RtTrainConfig *c, const char *sep) {
  StrBuf cmd;
  sb_init(&cmd);
  command_line(&cmd, c->argc, c->argv);
  sb_puts(sb, "\"command\": ");
  sb_put_json_str(sb, sb_str(&cmd));
  sb_puts(sb, sep);
  sb_puts(sb, "\"argv\": [");
  for (int i = 0; i < c->argc; i++) {
    if (i) sb_puts(sb, ", ");
    sb_put_json_str(sb, c->argv[i]);
  }
  sb_putc(sb, ']');
  if (cmd.oom) sb->oom = true;
  sb_free(&cmd);
}

/* The command that made the run and when: this one, or the run's on resume. */
static void man_origin(StrBuf *sb, const RunDir *rd, const RtTrainConfig *c) {
  const JVal *cmd = json_get(rd->old, "command"), *argv = json_get(rd->old, "argv"), *t = json_get(rd->old, "started");
  sb_puts(sb, "{\n  ");
  if (cmd && argv) {
    sb_puts(sb, "\"command\": ");
    jval_put(sb, cmd);
    sb_puts(sb, ",\n  \"argv\": ");
    jval_put(sb, argv);
  } else {
    put_argv(sb, c, ",\n  ");
  }
  sb_puts(sb, ",\n  \"jscc_version\": ");
  sb_put_json_str(sb, JSCC_VERSION);
  sb_puts(sb, ",\n  \"started\": ");
  if (t)
    jval_put(sb, t);
  else
    put_now(sb);
}

static void man_run(StrBuf *sb, const ManifestIn *in) {
  const RtTrainConfig *c = in->c;
  sb_printf(sb, ",\n  \"seed\": %llu,\n  \"engine\": ", (unsigned long long)c->seed);
  sb_put_json_str(sb, in->engine);
  sb_puts(sb, ",\n  \"engine_requested\": ");
  sb_put_json_str(sb, rt_engine_name(c->engine));
  sb_puts(sb, ",\n  \"host_cpu\": ");
  sb_put_json_str(sb, cg_host_cpu());
  if (in->device) {
    sb_puts(sb, ",\n  \"device\": ");
    sb_put_json_str(sb, in->device);
  }
  sb_puts(sb, ",\n  \"resumed_from_epoch\": ");
  if (in->resumed_from >= 0)
    sb_printf(sb, "%lld", (long long)in->resumed_from);
  else
    sb_puts(sb, "null");
}

static void put_str_or_null(StrBuf *sb, const char *s) {
  if (s)
    sb_put_json_str(sb, s);
  else
    sb_puts(sb, "null");
}

/* The model file, the graph after --passes, and the weights it started from. */
static void man_model(StrBuf *sb, const ManifestIn *in) {
  const RtTrainConfig *c = in->c;
  int64_t nparam = 0, nbuf = 0;
  ir_module_count(c->fwd->root, &nparam, &nbuf);
  sb_puts(sb, ",\n  \"model\": {\"name\": ");
  sb_put_json_str(sb, c->fwd->name);
  sb_puts(sb, ", \"path\": ");
  put_str_or_null(sb, c->model_path);
  sb_printf(sb, ", \"hash\": \"%016llx\", \"graph_hash\": \"%016llx\", \"trainable_parameters\": %lld, "
            "\"buffer_elements\": %lld},\n  \"passes\": ", (unsigned long long)c->model_hash,
            (unsigned long long)in->graph_hash, (long long)nparam, (long long)nbuf);
  put_str_or_null(sb, c->passes);
  sb_puts(sb, ",\n  \"config\": ");
  put_str_or_null(sb, c->config_path);
  sb_puts(sb, ",\n  \"init\": ");
  if (!in->have_init) {
    sb_puts(sb, "null");
    return;
  }
  sb_puts(sb, "{\"path\": ");
  sb_put_json_str(sb, c->init_ckpt);
  sb_printf(sb, ", \"hash\": \"%016llx\"}", (unsigned long long)in->init_hash);
}

static void man_data(StrBuf *sb, const ManifestIn *in) {
  const RtTrainConfig *c = in->c;
  const RtDataset *ds = in->ds;
  sb_puts(sb, ",\n  \"data\": {\"description\": ");
  sb_put_json_str(sb, ds->desc);
  sb_printf(sb, ", \"synthetic\": %s, \"hash\": \"%016llx\", \"path\": ", ds->synthetic ? "true" : "false",
            (unsigned long long)ds->hash);
  put_str_or_null(sb, c->dataset ? NULL : c->data.path);
  sb_printf(sb, ", \"train_rows\": %lld, \"val_rows\": %lld, \"test_rows\": %lld", (long long)ds->train.n,
            (long long)ds->val.n, (long long)ds->test.n);
  if (!c->dataset) {
    sb_printf(sb, ", \"synth_n\": %lld, \"synth_seed\": %llu, \"split_seed\": %llu, \"test_frac\": ",
              (long long)c->data.synth_n, (unsigned long long)c->data.synth_seed,
              (unsigned long long)c->data.split_seed);
    sb_put_json_num(sb, c->data.test_frac);
    sb_puts(sb, ", \"val_frac\": ");
    sb_put_json_num(sb, c->data.val_frac);
  }
  sb_putc(sb, '}');
}

static void man_optim(StrBuf *sb, const OptimConfig *o) {
  sb_put_json_str(sb, rt_optim_name(o->kind));
  sb_puts(sb, ", \"lr\": ");
  sb_put_json_num(sb, o->lr);
  sb_puts(sb, ", \"weight_decay\": ");
  sb_put_json_num(sb, o->weight_decay);
  if (o->kind == OPTIM_SGD) {
    sb_puts(sb, ", \"momentum\": ");
    sb_put_json_num(sb, o->momentum);
    sb_puts(sb, ", \"dampening\": ");
    sb_put_json_num(sb, o->dampening);
    sb_printf(sb, ", \"nesterov\": %s", o->nesterov ? "true" : "false");
  } else {
    sb_puts(sb, ", \"betas\": [");
    sb_put_json_num(sb, o->beta1);
    sb_puts(sb, ", ");
    sb_put_json_num(sb, o->beta2);
    sb_puts(sb, "], \"eps\": ");
    sb_put_json_num(sb, o->eps);
  }
}

static void man_hparams(StrBuf *sb, const ManifestIn *in) {
  const RtTrainConfig *c = in->c;
  sb_printf(sb, ",\n  \"hyperparameters\": {\"batch_size\": %lld, \"max_epochs\": %lld, \"optimizer\": ",
            (long long)c->batch_size, (long long)c->max_epochs);
  man_optim(sb, &c->optim);
  sb_puts(sb, ", \"scheduler\": ");
  sb_put_json_str(sb, rt_sched_name(c->sched.kind));
  if (c->sched.kind == SCHED_COSINE) {
    sb_printf(sb, ", \"t_max\": %lld, \"eta_min\": ", (long long)in->t_max);
    sb_put_json_num(sb, c->sched.eta_min);
  } else if (c->sched.kind == SCHED_STEP) {
    sb_printf(sb, ", \"step_size\": %lld, \"gamma\": ", (long long)c->sched.step_size);
    sb_put_json_num(sb, c->sched.gamma);
  }
  sb_puts(sb, ", \"loss\": \"cross_entropy\", \"monitor\": \"val_loss\"}");
}

/* The run's resumes, then this one. */
static void man_resumes(StrBuf *sb, const RunDir *rd, const ManifestIn *in, const char *forced) {
  const JVal *old = json_get(rd->old, "resumes");
  sb_puts(sb, ",\n  \"resumes\": [");
  int n = 0;
  for (int i = 0; old && old->kind == J_ARR && i < old->n; i++, n++) {
    sb_puts(sb, n ? ",\n    " : "\n    ");
    jval_put(sb, &old->items[i]);
  }
  if (rd->resume) {
    sb_puts(sb, n ? ",\n    {" : "\n    {");
    put_argv(sb, in->c, ", ");
    sb_puts(sb, ", \"time\": ");
    put_now(sb);
    sb_printf(sb, ", \"from_epoch\": %lld, \"forced\": ", (long long)in->resumed_from);
    put_str_or_null(sb, forced);
    sb_putc(sb, '}');
    n++;
  }
  sb_puts(sb, n ? "\n  ]\n}\n" : "]\n}\n");
}

static void manifest(StrBuf *sb, const RunDir *rd, const ManifestIn *in, const char *forced) {
  man_origin(sb, rd, in->c);
  man_run(sb, in);
  man_model(sb, in);
  man_data(sb, in);
  man_hparams(sb, in);
  man_resumes(sb, rd, in, forced);
}

Status rundir_write_manifest(RunDir *rd, const ManifestIn *in, const char *forced, Diag *d) {
  StrBuf sb;
  sb_init(&sb);
  manifest(&sb, rd, in, forced);
  Status st = rundir_write_text(rd, "manifest.json", &sb, d);
  sb_free(&sb);
  if (!st) rd->started = true;
  return st;
}

/* What a resume must repeat: [top key, key inside it or NULL, how to name it].  The
 * hyper-parameters are compared key by key besides (max_epochs aside: a resume may extend). */
static const char *const compared[][3] = {
    {"seed", NULL, "seed"},
    {"model", "hash", "model file (hash)"},
    {"model", "graph_hash", "model after --passes/--config (graph hash)"},
    {"passes", NULL, "passes"},
    {"config", NULL, "config"},
    {"init", "hash", "--init weights (hash)"},
    {"data", "hash", "data (hash)"},
};

/* One difference; a missing value reads "none". */
static void diff_one(StrBuf *diffs, const char *what, const JVal *was, const JVal *now) {
  StrBuf a, b;
  sb_init(&a);
  sb_init(&b);
  if (was)
    jval_put(&a, was);
  else
    sb_puts(&a, "none");
  if (now)
    jval_put(&b, now);
  else
    sb_puts(&b, "none");
  if (strcmp(sb_str(&a), sb_str(&b)) != 0)
    sb_printf(diffs, "  %s: the run has %s, this command %s\n", what, sb_str(&a), sb_str(&b));
  sb_free(&a);
  sb_free(&b);
}

static const JVal *jpath(const JVal *root, const char *k1, const char *k2) {
  const JVal *v = json_get(root, k1);
  return k2 && v && v->kind != J_NULL ? json_get(v, k2) : v;
}

Status rundir_compare(const RunDir *rd, const ManifestIn *in, StrBuf *diffs, Diag *d) {
  StrBuf sb;
  sb_init(&sb);
  manifest(&sb, rd, in, NULL);
  Arena *a = arena_new();
  JVal now;
  JsonError je;
  Status st = sb.oom || !a ? diag_oom(d) : JS_OK;
  if (!st && !json_parse(a, sb_str(&sb), sb.len, "manifest", &now, &je))
    st = je.oom ? diag_oom(d) : diag_error(d, NONE, "internal error: the manifest written does not parse: %s", je.msg);
  for (size_t i = 0; !st && i < sizeof compared / sizeof *compared; i++)
    if (json_get(rd->old, compared[i][0])) /* manifests of older versions lack some */
      diff_one(diffs, compared[i][2], jpath(rd->old, compared[i][0], compared[i][1]),
               jpath(&now, compared[i][0], compared[i][1]));
  const JVal *hp = json_get(rd->old, "hyperparameters"), *hn = json_get(&now, "hyperparameters");
  for (int i = 0; !st && hp && hp->kind == J_OBJ && i < hp->n; i++)
    if (strcmp(hp->keys[i], "max_epochs") != 0) diff_one(diffs, hp->keys[i], &hp->items[i], json_get(hn, hp->keys[i]));
  for (int i = 0; !st && hp && hn && i < hn->n; i++) /* settings the run did not have (momentum after adam) */
    if (!json_get(hp, hn->keys[i])) diff_one(diffs, hn->keys[i], NULL, &hn->items[i]);
  if (!st && diffs->oom) st = diag_oom(d);
  arena_free(a);
  sb_free(&sb);
  return st;
}

/* ==== checkpoints ==== */

/* Checkpoint metadata: printf'd values in fixed slots. */
typedef struct Meta {
  CkptMeta m;
  char vals[CKPT_MAX_META][64];
} Meta;

static void meta_add(Meta *m, const char *key, const char *fmt, ...) JS_PRINTF(3, 4);
static void meta_add(Meta *m, const char *key, const char *fmt, ...) {
  if (m->m.n >= CKPT_MAX_META) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->vals[m->m.n], sizeof m->vals[0], fmt, ap);
  va_end(ap);
  m->m.keys[m->m.n] = key;
  m->m.vals[m->m.n] = m->vals[m->m.n];
  m->m.n++;
}

static const char *meta_get(const CkptMeta *m, const char *key) {
  for (int i = 0; i < m->n; i++)
    if (strcmp(m->keys[i], key) == 0) return m->vals[i];
  return NULL;
}

static Status save_model(const RunDir *rd, const char *name, const RtState *s, const Meta *m, Diag *d) {
  char p[1200];
  path_in(rd, name, p, sizeof p);
  return rt_ckpt_save(p, s, &m->m, d);
}

/* best.safetensors' metadata. */
static Meta best_meta(int64_t epoch, double best) {
  Meta m = {0};
  meta_add(&m, "epoch", "%lld", (long long)epoch);
  meta_add(&m, "val_loss", "%.17g", best);
  return m;
}

Status rundir_commit(const RunDir *rd, const RtState *s, const OptimState *opt, const EpochCommit *ec, Diag *d) {
  Meta lm = {0};
  meta_add(&lm, "epoch", "%lld", (long long)ec->epoch);
  Status st = save_model(rd, "last.safetensors", s, &lm, d);
  if (st) return st;
  Meta om = {0};
  meta_add(&om, "epoch", "%lld", (long long)ec->epoch);
  meta_add(&om, "best_val_loss", "%.17g", ec->best);
  meta_add(&om, "best_epoch", "%lld", (long long)ec->best_epoch);
  meta_add(&om, "seed", "%llu", (unsigned long long)ec->seed);
  meta_add(&om, "data_hash", "%016llx", (unsigned long long)ec->data_hash);
  meta_add(&om, "batch_size", "%lld", (long long)ec->batch_size);
  char p[1200];
  path_in(rd, "last.optim.safetensors", p, sizeof p);
  return rt_ckpt_save_run_state(p, s, opt, &om.m, d); /* the commit */
}

Status rundir_save_best(const RunDir *rd, const RtState *s, const EpochCommit *ec, Diag *d) {
  Meta bm = best_meta(ec->epoch, ec->best);
  return save_model(rd, "best.safetensors", s, &bm, d);
}

Status rundir_load_commit(const RunDir *rd, RtState *s, OptimState *opt, int64_t *epoch, double *best,
                          int64_t *best_epoch, Diag *d) {
  char p[1200];
  path_in(rd, "last.optim.safetensors", p, sizeof p);
  Arena *a = arena_new();
  if (!a) return diag_oom(d);
  CkptMeta meta = {0};
  Status st = rt_ckpt_load_run_state(p, s, opt, a, &meta, d);
  const char *ep = st ? NULL : meta_get(&meta, "epoch"), *bv = meta_get(&meta, "best_val_loss"),
             *be = meta_get(&meta, "best_epoch");
  if (!st && (!ep || strtoll(ep, NULL, 10) < 1))
    st = diag_error(d, NONE, "%s: no epoch in its metadata: not a jscc training checkpoint", p);
  if (!st) {
    *epoch = strtoll(ep, NULL, 10);
    *best = bv ? strtod(bv, NULL) : INFINITY;
    *best_epoch = be ? strtoll(be, NULL, 10) : 0;
  }
  arena_free(a);
  return st;
}

/* Whether the checkpoint at name holds exactly the weights and buffers of s. */
static bool holds(const RunDir *rd, const char *name, const RtState *s) {
  char p[1200];
  path_in(rd, name, p, sizeof p);
  RtState *t = NULL;
  Diag quiet;
  diag_init(&quiet, NULL);
  bool same = rt_state_new(s->g, &t, &quiet) == JS_OK && rt_ckpt_load(p, t, &quiet) == JS_OK &&
              memcmp(t->data, s->data, s->total * sizeof *s->data) == 0;
  for (int i = 0; same && i < s->n; i++)
    if (s->off[i] == (size_t)-1 && s->i64[i] != t->i64[i]) same = false;
  rt_state_free(t);
  diag_free(&quiet);
  return same;
}

Status rundir_repair(const RunDir *rd, const RtState *s, int64_t epoch, int64_t best_epoch, double best, FILE *log,
                     Diag *d) {
  Status st = JS_OK;
  if (!holds(rd, "last.safetensors", s)) {
    if (log) fprintf(log, "repairing last.safetensors: it did not hold the committed epoch %lld (the run stopped "
                     "between writing it and the commit)\n", (long long)epoch);
    Meta lm = {0};
    meta_add(&lm, "epoch", "%lld", (long long)epoch);
    st = save_model(rd, "last.safetensors", s, &lm, d);
  }
  if (!st && best_epoch == epoch && !holds(rd, "best.safetensors", s)) {
    if (log) fprintf(log, "repairing best.safetensors: the committed epoch %lld is the best, but the run stopped "
                     "before saving it there\n", (long long)epoch);
    Meta bm = best_meta(epoch, best);
    st = save_model(rd, "best.safetensors", s, &bm, d);
  }
  return st;
}

Status rundir_write_init(const RunDir *rd, const RtState *s, uint64_t seed, Diag *d) {
  Meta im = {0};
  meta_add(&im, "epoch", "0");
  meta_add(&im, "seed", "%llu", (unsigned long long)seed);
  return save_model(rd, "init.safetensors", s, &im, d);
}

/* ==== metrics.csv and other text ==== */

const char *const rundir_csv_header =
    "epoch,train_loss,train_acc,val_loss,val_acc,lr,epoch_seconds,samples_per_second,train_seconds\n";

/* Rows past the commit belong to epochs whose state was lost: only 1..epochs are kept. */
void rundir_read_metrics(const RunDir *rd, int64_t epochs, StrBuf *csv) {
  char p[1200];
  path_in(rd, "metrics.csv", p, sizeof p);
  sb_puts(csv, rundir_csv_header);
  FILE *f = fopen(p, "r");
  if (!f) return;
  char line[1024];
  bool first = true;
  while (fgets(line, sizeof line, f)) {
    if (first) {
      first = false;
      continue;
    }
    char *end;
    long long ep = strtoll(line, &end, 10);
    if (end == line || *end != ',' || ep < 1 || ep > epochs || !strchr(line, '\n')) continue;
    sb_puts(csv, line);
  }
  fclose(f);
}

/* val_acc (the fifth column) of metrics.csv's row for `epoch`; NaN when there is none. */
double rundir_metrics_val_acc(const char *csv, int64_t epoch) {
  for (const char *l = strchr(csv, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
    char *end;
    if (strtoll(l + 1, &end, 10) != epoch || *end != ',') continue;
    const char *f = end;
    for (int k = 0; k < 3 && f; k++) f = strchr(f + 1, ',');
    return f ? strtod(f + 1, NULL) : NAN;
  }
  return NAN;
}

Status rundir_write_text(const RunDir *rd, const char *name, const StrBuf *sb, Diag *d) {
  char p[1200];
  path_in(rd, name, p, sizeof p);
  if (sb->oom) return diag_oom(d);
  errno = 0;
  if (sb_write_file(sb, p) != JS_OK)
    return diag_error(d, NONE, "cannot write '%s': %s", p, errno ? strerror(errno) : "out of memory");
  return JS_OK;
}

Status rundir_hash_file(const char *path, uint64_t *h, Diag *d) {
  FILE *f = fopen(path, "rb");
  if (!f) return diag_error(d, NONE, "cannot open '%s': %s", path, strerror(errno));
  uint64_t x = 0xcbf29ce484222325ULL; /* FNV-1a as rt_hash64, a buffer at a time */
  unsigned char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    for (size_t i = 0; i < n; i++) x = (x ^ buf[i]) * 0x100000001b3ULL;
  bool bad = ferror(f);
  fclose(f);
  if (bad) return diag_error(d, NONE, "cannot read '%s': %s", path, strerror(errno));
  *h = x;
  return JS_OK;
}
