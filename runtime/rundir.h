/* runtime/rundir.h — the run directory of rt_train (rundir.c; used by train.c only).
 *
 * A run directory (spec/sweep.md §1) is written by one process at a time: rundir_open takes
 * an flock on DIR/.lock for the whole run, --resume included, and refuses a directory that
 * another process holds.  manifest.json says what the run is; on --resume it is compared with
 * the continuing command and the differences refused unless --force.
 *
 * The commit protocol of an epoch, in this order (each file written atomically: temp file,
 * fsync, rename):
 *   1. metrics.csv with the epoch's row;
 *   2. last.safetensors, the plain state_dict export of the epoch's weights;
 *   3. last.optim.safetensors: the weights, the buffers and the optimizer state together,
 *      with the epoch and the best epoch in its metadata.  Its rename is the commit;
 *   4. best.safetensors, when the epoch became the best.
 * A kill anywhere leaves a committed epoch N (the last step 3 that finished) and files that
 * are either N's or ahead of it: metrics.csv rows after N are dropped on resume, a
 * last.safetensors that is not N's weights is rewritten from the commit, and so is a
 * best.safetensors missing epoch N when N was the best (a kill between 3 and 4).  Nothing
 * else is ever ahead of the commit, so nothing committed is lost. */
#ifndef JSCC_RUNTIME_RUNDIR_H
#define JSCC_RUNTIME_RUNDIR_H

#include "runtime.h"

typedef struct RunDir {
  char path[1024];
  int lock_fd;              /* DIR/.lock, flock'd for the whole run; -1 when not held */
  bool created;             /* this process made the directory (removed if the run never starts) */
  bool started;             /* manifest.json written: the directory holds a run */
  bool resume;              /* continuing the run in path */
  bool committed;           /* resume: an epoch was committed (last.optim.safetensors exists) */
  Arena *a;                 /* owns old */
  const JVal *old;          /* resume: the run's manifest.json, parsed */
} RunDir;

/* Picks the directory (--out, --resume or runs/MODEL-SEED-TIME), creates it for a new run,
 * locks it, and checks that it is free (new run) or holds a run (resume).  rundir_close in
 * every case. */
Status rundir_open(RunDir *rd, const RtTrainConfig *c, Diag *d);
void rundir_close(RunDir *rd);
/* Resume: the run's cosine period (hyperparameters.t_max), 0 when unknown. */
int64_t rundir_run_t_max(const RunDir *rd);

/* What manifest.json records beyond the config. */
typedef struct ManifestIn {
  const RtTrainConfig *c;
  const RtDataset *ds;
  const char *engine;       /* the engine that runs */
  const char *device;       /* the GPU's name, or NULL */
  int64_t t_max;            /* the cosine period in effect */
  uint64_t graph_hash;      /* rt_hash64 of the training graph as printed: the model after --passes */
  bool have_init;           /* --init given */
  uint64_t init_hash;       /* its file's hash */
  int64_t resumed_from;     /* resume: the committed epoch it continues from */
} ManifestIn;
/* Resume: the settings that differ from the run's, one "name: the run's value, now X" line
 * each in *diffs (empty when none). */
Status rundir_compare(const RunDir *rd, const ManifestIn *in, StrBuf *diffs, Diag *d);
/* manifest.json: a new run's, or on resume the run's command and start time kept with this
 * resume appended to "resumes" (forced: the differences --force let through, or NULL). */
Status rundir_write_manifest(RunDir *rd, const ManifestIn *in, const char *forced, Diag *d);

/* An epoch to commit. */
typedef struct EpochCommit {
  int64_t epoch;            /* 1-based */
  bool improved;            /* it is the new best */
  double best;              /* the monitor's best value */
  int64_t best_epoch;
  uint64_t seed, data_hash;
  int64_t batch_size;
} EpochCommit;
/* Steps 2 and 3 of the protocol: last.safetensors, then the commit. */
Status rundir_commit(const RunDir *rd, const RtState *s, const OptimState *opt, const EpochCommit *ec, Diag *d);
/* Step 4: best.safetensors, after the commit of an epoch that improved. */
Status rundir_save_best(const RunDir *rd, const RtState *s, const EpochCommit *ec, Diag *d);
/* Resume: the committed state into s and opt; *epoch, *best, *best_epoch from its metadata. */
Status rundir_load_commit(const RunDir *rd, RtState *s, OptimState *opt, int64_t *epoch, double *best,
                          int64_t *best_epoch, Diag *d);
/* Resume: last.safetensors (and best.safetensors when the committed epoch was the best)
 * brought in line with the commit s; what was repaired is said on log. */
Status rundir_repair(const RunDir *rd, const RtState *s, int64_t epoch, int64_t best_epoch, double best, FILE *log,
                     Diag *d);
/* init.safetensors from s. */
Status rundir_write_init(const RunDir *rd, const RtState *s, uint64_t seed, Diag *d);

/* metrics.csv: its header; the run's rows up to `epochs` (resume); written atomically. */
extern const char *const rundir_csv_header;
void rundir_read_metrics(const RunDir *rd, int64_t epochs, StrBuf *csv);
double rundir_metrics_val_acc(const char *csv, int64_t epoch);
Status rundir_write_text(const RunDir *rd, const char *name, const StrBuf *sb, Diag *d);
bool rundir_has(const RunDir *rd, const char *name);
/* A whole file's rt_hash64. */
Status rundir_hash_file(const char *path, uint64_t *h, Diag *d);

#endif
