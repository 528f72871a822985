/* exp/exp.h — the experiments layer's table of contents.
 *
 * What spans many runs: sweeps over training options (the trial list, the journal that is
 * their only source of truth, the worker threads and MPI ranks that run them, results.csv),
 * quantization searches (MASE's search space, the samplers, Pareto fronts, ASHA), the HTML
 * reports and their figures, and TensorBoard event files.  The layer sits above runtime/ (it
 * calls rt_train and rt_test for every trial) and below tools/; spec/sweep.md and
 * spec/search.md are its references.
 *
 * Files: sweep.c, results.c, runner.c, journal.c, mpi.c (sweeps); tboard.c, tbrun.c
 * (TensorBoard); report.c, plot.c, hwdesigns.c (reports); sampler.c, pareto.c, search.c,
 * searchrun.c, searchout.c, searchreport.c (searches).
 *
 * As everywhere: functions that can fail return a Status and report through a Diag; none
 * exits; all memory goes through ir_malloc/ir_free.
 *
 * Prototypes are grouped under the name of the .c file that defines them.
 */
#ifndef JSCC_EXP_H
#define JSCC_EXP_H

#include "runtime.h"

/* ==== sweep.c: the sweep — models, axes, shared options, trials ==== */

#define EXP_MAX_AXES 16
#define EXP_MAX_TRIALS 100000

/* How --random draws an axis: from its list (names, integer lists), or uniform /
 * log-uniform between its ends (ranges, lists of real numbers). */
typedef enum ExpDraw { EXP_DRAW_LIST, EXP_DRAW_LIN, EXP_DRAW_LOG } ExpDraw;

/* What kind of value an option takes (the CLI knows its options; exp/ does not). */
enum { EXP_OPT_INT = 1, EXP_OPT_REAL = 2, EXP_OPT_RATE = 4 /* a rate: log-uniform under --random */ };

typedef struct ExpAxis {
  char *name;          /* "batch_size": the option without dashes, '-' as '_' */
  char *option;        /* "--batch-size" */
  int n;               /* values */
  char **values;       /* [n] as the option takes them ("64", "1e-3", "adam") */
  ExpDraw draw;
  bool range;          /* from lin:/log: (else a comma list) */
  bool integer, rate;  /* EXP_OPT_INT, EXP_OPT_RATE */
  double lo, hi;       /* numeric axes: the ends --random draws between */
} ExpAxis;

typedef struct ExpModel {
  char *path;          /* as given */
  char *name;          /* the model's name (filled by whoever parses it) */
  uint64_t hash;       /* of the file's bytes */
} ExpModel;

typedef struct ExpTrial {
  int id;              /* 0-based, the journal's "trial" */
  int model;           /* index into models */
  char **values;       /* [naxes] this trial's value of each axis */
  char *dir;           /* "trials/003-bs64-lr1e-3", relative to the sweep directory */
  int argc;
  char **argv;         /* "jscc" "train" MODEL ...: the trial as one jscc train command */
} ExpTrial;

typedef struct ExpSweep {
  Arena *a;            /* owns every string and array below */
  char *command;       /* the sweep's command line, for sweep.json and the report */
  int nmodels;
  ExpModel *models;
  int naxes;
  ExpAxis axes[EXP_MAX_AXES];
  int nfixed;
  char **fixed;        /* train options every trial shares ("--max-epochs" "3" ...) */
  int ntrials;
  ExpTrial *trials;
  char *metric;        /* what the report sorts by ("val_acc") */
} ExpSweep;

Status exp_sweep_new(ExpSweep **out, Diag *d);
void exp_sweep_free(ExpSweep *sw);
/* "--batch-size" -> "batch_size". */
void exp_axis_name(const char *option, char *buf, size_t cap);
/* `option text` from the command line: a comma list or a lin:/log: range becomes an axis
 * (*is_axis); a single value does not (the caller keeps it as a shared option).  flags:
 * EXP_OPT_*; ranges need a numeric option. */
Status exp_axis_parse(ExpSweep *sw, const char *option, const char *text, unsigned flags, bool *is_axis, Diag *d);
/* The trials: the grid (random == 0) or `random` points per model drawn from the axes with
 * a generator seeded by sweep_seed; a `seed` axis repeats each point. */
Status exp_sweep_expand(ExpSweep *sw, int random, uint64_t sweep_seed, Diag *d);
int exp_sweep_axis(const ExpSweep *sw, const char *name);   /* index, or -1 */
/* dir/sweep.json, written once when the sweep starts, and read back by --resume (every
 * field checked; errors name the field). */
Status exp_sweep_write(const ExpSweep *sw, const char *dir, Diag *d);
Status exp_sweep_read(const char *dir, ExpSweep **out, Diag *d);
/* The same from a file's text into a new sweep's arena (errors at file:line:col). */
Status exp_sweep_parse(const SrcFile *src, ExpSweep *sw, Diag *d);


/* ==== results.c: a trial's result, the journal's end event, results.csv and summary.csv ==== */

typedef enum ExpStatus { EXP_PENDING, EXP_OK, EXP_DIVERGED, EXP_FAILED } ExpStatus;
const char *exp_status_name(ExpStatus s);   /* "pending", "ok", "diverged", "failed" */

typedef struct ExpResult {
  ExpStatus status;
  int64_t epochs, best_epoch;      /* epochs run; the epoch of best.safetensors (0: none) */
  int64_t diverged_epoch;          /* diverged: the first epoch whose loss or weights were not finite */
  double best_val_loss, best_val_acc;
  double final_train_acc, final_val_acc;
  double test_acc, test_acc_macro; /* best.safetensors on the test split (micro, torchmetrics' macro) */
  double mean_epoch_seconds, samples_per_second; /* timings: the only columns that differ between runs */
  int64_t params;                  /* trainable parameter elements */
  char error[512];                 /* failed: the first line of the message */
} ExpResult;
void exp_result_init(ExpResult *r);          /* pending, every number NaN */
/* The end event as one journal line (with its newline). */
void exp_result_json(StrBuf *sb, int trial, const ExpResult *r);
/* An end event back; `where` ("journal.jsonl:12") prefixes errors. */
Status exp_result_parse(const JVal *ev, ExpResult *r, const char *where, Diag *d);
/* dir/results.csv (the finished trials, in trial order) and, when there is a seed axis,
 * dir/summary.csv (mean and sample standard deviation over each point's seeds). */
Status exp_results_write(const ExpSweep *sw, const ExpResult *res, const char *dir, Diag *d);
/* res[] from the end events of dir/journal.jsonl and every dir/journal-shard-*.jsonl (the
 * shards of a job array merge here); *ended (may be NULL) counts the finished trials. */
Status exp_results_load(const char *dir, const ExpSweep *sw, ExpResult *res, int *ended, Diag *d);
/* For a sweep directory with journals: results.csv (and summary.csv) rebuilt from all of
 * them; other directories are left alone.  jscc report calls it: it merges the shards. */
Status exp_results_merge(const char *dir, Diag *d);

/* ==== runner.c: running trials — one, or many on worker threads ==== */

typedef enum ExpKeep { EXP_KEEP_BEST, EXP_KEEP_ALL, EXP_KEEP_NONE } ExpKeep;

/* Where a trial runs and how it reports. */
typedef struct ExpTrialEnv {
  const char *dir;           /* the sweep directory */
  ExpKeep keep;              /* checkpoints left once a trial has ended */
  int rank;                  /* the MPI rank running it (0 in a single process) */
  const char *tensorboard;   /* a TensorBoard log directory per trial under this (NULL: none) */
  /* A journal line (begin, epoch, end) from any thread: appended locally, or sent to the
   * rank that owns the journal.  A failure stops the sweep. */
  Status (*line)(void *ud, const char *line, Diag *d);
  void *ud;
} ExpTrialEnv;

/* Trial id with the prepared configuration c (graphs, dataset, options; the runner sets the
 * run directory, the log, the epoch hook): its begin and epoch lines, rt_train (continuing a
 * committed epoch), rt_test of best.safetensors.  r gets the result — a failed or diverged
 * trial is a result; the Status is a journal line that could not be written. */
Status exp_trial_run(const ExpSweep *sw, int id, RtTrainConfig *c, const ExpTrialEnv *env, ExpResult *r, Diag *d);
/* Trials ids[0..n) side by side on one GPU (rt_train_group: their configurations must be
 * rt_train_groupable): each one's begin and epoch lines, then its result in res[ids[i]] (its
 * test split on its own).  A failure of the group itself (the device, a launch) leaves the
 * trials pending and is the Status: the sweep stops, and --resume runs them again. */
Status exp_group_run(const ExpSweep *sw, const int *ids, int n, RtTrainConfig *cfg, const ExpTrialEnv *env,
                     ExpResult *res, Diag *d);
/* The first line of d's messages without "error: " ("failed without a message" when none):
 * a failed trial's reason. */
void exp_first_error(const Diag *d, char *out, size_t cap);
/* A trial's run directory made ready: c continues from its committed epoch (resume_dir), or
 * starts afresh in it (out_dir; files of an uncommitted start removed). */
Status exp_trial_dir_ready(const char *path, RtTrainConfig *c, Diag *d);
/* Its end line, then --keep's deletions. */
Status exp_trial_end(const ExpSweep *sw, int id, const ExpResult *r, const ExpTrialEnv *env, Diag *d);

typedef struct ExpRunOpts {
  int jobs;                  /* worker threads (at least 1) */
  /* which trials this process runs (NULL: all): --shard */
  bool (*selected)(void *ud, int trial);
  /* on the calling thread after each finished trial (after results.csv): progress, report */
  void (*on_trial)(void *ud, int trial, const ExpResult *r, int finished, int total, double seconds);
  void *ud;
} ExpRunOpts;
/* Every pending trial (res[i].status == EXP_PENDING) that is selected, on o->jobs threads;
 * cfg[i] is trial i's prepared configuration; res[i] gets each result and results.csv is
 * rewritten after each.  Trials on the GPU that may share a launch (rt_train_groupable,
 * starting afresh) run as one group (exp_group_run); every other trial runs alone. */
Status exp_run(const ExpSweep *sw, RtTrainConfig *cfg, ExpResult *res, const ExpTrialEnv *env, const ExpRunOpts *o,
               Diag *d);

/* ==== journal.c: the journal (append-only, fsync'd) and durable whole files ==== */

typedef struct ExpJournal ExpJournal;
/* Opens (creating) the journal for appending; a torn last line is cut off first. */
Status exp_journal_open(const char *path, ExpJournal **out, Diag *d);
/* One line (it must end in '\n'), written and fsync'd; thread-safe.  After a failure every
 * later append fails too. */
Status exp_journal_append(ExpJournal *j, const char *line, Diag *d);
void exp_journal_close(ExpJournal *j);                  /* NULL allowed */
/* Called for each complete line (a JSON object) in order; a non-zero Status stops. */
typedef Status (*ExpJournalFn)(void *ud, const JVal *event, const char *path, int line, Diag *d);
Status exp_journal_read(const char *path, ExpJournalFn fn, void *ud, Diag *d);
/* The same over a file's text (values in a). */
Status exp_journal_parse(const SrcFile *src, Arena *a, ExpJournalFn fn, void *ud, Diag *d);
/* dir/name replaced atomically and durably (fsync'd file and directory). */
Status exp_write_file(const StrBuf *sb, const char *dir, const char *name, Diag *d);
/* ==== mpi.c: a sweep over the ranks of mpirun (rank 0 keeps the journal, the others train) ==== */

typedef struct ExpMpi ExpMpi;
bool exp_mpi_built(void);  /* whether this build has MPI (meson -Dmpi) */
/* MPI_Init for a process that mpirun started; MPI is then called from this thread only.
 * *out is NULL when there is one rank (the sweep runs on threads, as without mpirun).
 * Without MPI: an error saying so. */
Status exp_mpi_init(ExpMpi **out, Diag *d);
int exp_mpi_rank(const ExpMpi *m);  /* 0 for NULL */
int exp_mpi_size(const ExpMpi *m);  /* 1 for NULL */
/* Rank 0, in place of exp_run once the sweep directory, sweep.json and the journal are
 * ready: every pending, selected trial handed to the other ranks as they ask; the lines
 * they send go through env->line (each acknowledged once it returns), res[i] and
 * results.csv follow every end line, then o->on_trial.  Returns once every rank stopped. */
Status exp_mpi_serve(ExpMpi *m, const ExpSweep *sw, ExpResult *res, const ExpTrialEnv *env, const ExpRunOpts *o,
                     Diag *d);
/* A worker's trial configuration, as exp_run's cfg[trial] (the caller loads models and data
 * once and shares its kernels); a failure stops this rank and the sweep. */
typedef Status (*ExpMpiPrepare)(void *ud, const ExpSweep *sw, int trial, RtTrainConfig *c, Diag *d);
/* A rank other than 0: the sweep directory from rank 0, its sweep.json, then one trial at a
 * time until rank 0 has none left.  Nothing is written but the trials' directories. */
Status exp_mpi_work(ExpMpi *m, ExpMpiPrepare prepare, void *ud, Diag *d);
/* A search's messages (exp/searchrun.c drives them): rank 0 starts the workers on the search
 * directory; each worker waits for it (*dir NULL: rank 0 stopped first; ir_free it), then
 * takes jobs ("TRIAL RUNG PASSES"; "" stops it) and answers each with a result. */
Status exp_mpi_search_start(ExpMpi *m, const char *dir, Diag *d);
Status exp_mpi_search_wait_start(ExpMpi *m, char **dir, Diag *d);
Status exp_mpi_job_send(ExpMpi *m, int rank, const char *job, Diag *d);
Status exp_mpi_job_recv(ExpMpi *m, char **job, Diag *d);             /* *job: ir_free */
Status exp_mpi_result_send(ExpMpi *m, const char *result, Diag *d);
Status exp_mpi_result_wait(ExpMpi *m, int *rank, char **result, Diag *d); /* from any rank; ir_free */
/* MPI_Finalize and free (NULL allowed).  Rank 0 first tells workers that are still waiting
 * for the sweep to stop (it failed before it began); a rank whose MPI failed ends the job
 * (MPI_Abort), since the others could wait for it forever. */
void exp_mpi_end(ExpMpi *m);

/* ==== tboard.c: TensorBoard event files (scalars, the HParams tab) ====
 * One writer per run directory, used from one thread.  Every call after a failed write
 * returns that write's error (JS_EIO) without writing; tb_close still frees. */
typedef struct TbWriter TbWriter;

/* A hyper-parameter as the HParams tab shows it: a string, a number or a bool. */
typedef enum TbHparamKind { TB_HP_STRING, TB_HP_NUMBER, TB_HP_BOOL } TbHparamKind;
typedef struct TbHparam {
  const char *name;  /* the column name, e.g. "lr"; unique within one call */
  TbHparamKind kind; /* which of the three fields below holds the value */
  const char *str;   /* TB_HP_STRING */
  double num;        /* TB_HP_NUMBER */
  bool flag;         /* TB_HP_BOOL */
} TbHparam;

/* mkdir -p dir, then create dir/events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n> and
 * write its first event (file_version "brain.Event:2").  JS_EIO (reported with the path and
 * strerror) when the directory or the file cannot be made, JS_ENOMEM. */
Status tb_open(const char *dir, TbWriter **out, Diag *d);
const char *tb_path(const TbWriter *w); /* the event file's path */
/* A scalar for the Scalars tab (tag "train_loss", "val_acc", ...).  Queued in memory: the
 * file sees it at tb_flush, or earlier once 64 KiB are queued. */
Status tb_scalar(TbWriter *w, const char *tag, int64_t step, double wall_time, float value, Diag *d);
/* The HParams plugin's summaries for this run: the experiment (every hyper-parameter with
 * its type, and metric_tags, the scalar tags the tab shows as metrics), then the session
 * start with the hyper-parameters' values.  TensorBoard shows the first experiment it finds
 * in a log directory, so the runs of one sweep should declare the same hyper-parameters and
 * metrics.  JS_EUSAGE for a nameless or repeated hyper-parameter or an empty metric tag. */
Status tb_hparams_start(TbWriter *w, const TbHparam *hp, int n, const char *const *metric_tags, int nmetrics,
                        double wall_time, Diag *d);
/* The session end: status success (ok) or failure. */
Status tb_hparams_end(TbWriter *w, bool ok, double wall_time, Diag *d);
Status tb_flush(TbWriter *w, Diag *d); /* write what is queued, then fsync: once per epoch */
Status tb_close(TbWriter *w, Diag *d); /* flush, close, free (w NULL: nothing); a failed writer's error again */
/* CRC32C (Castagnoli), chained: tb_crc32c(tb_crc32c(0, a, n), b, m) is the CRC of a then b. */
uint32_t tb_crc32c(uint32_t crc, const void *data, size_t n);
uint32_t tb_crc_mask(uint32_t crc); /* TFRecord's masking of a stored CRC */

/* ==== tbrun.c: a training run's TensorBoard log (jscc train and sweep --tensorboard) ==== */

typedef struct ExpTbRun ExpTbRun;
/* A writer in dir with the run's hyper-parameters (model, batch_size, lr, max_epochs,
 * optimizer, weight_decay, scheduler, seed) and MASE's metric tags. */
Status exp_tb_run_open(const char *dir, const RtTrainConfig *c, ExpTbRun **out, Diag *d);
/* The epoch's scalars (train/val loss and accuracy, lr, epoch seconds), flushed. */
Status exp_tb_run_epoch(ExpTbRun *r, const RtEpochInfo *e, Diag *d);
Status exp_tb_run_close(ExpTbRun *r, bool ok, Diag *d); /* the session's end; NULL allowed */
/* An RtEpochHook (ud: ExpTbHook) writing the epoch, then calling the hook it wraps. */
typedef struct ExpTbHook {
  ExpTbRun *run;
  RtEpochHook next;
  void *next_ud;
} ExpTbHook;
Status exp_tb_hook(void *ud, const RtEpochInfo *e, Diag *d);
/* ==== hwdesigns.c: the emit directories of jscc emit (emit.json) ====
 * What a report shows of a hardware design: its accuracy, latency, resources per FPGA family
 * (yosys's counts, or jscc's estimate where synthesis did not run) and verification. */

typedef enum ExpHwFamily { EXP_HW_XILINX, EXP_HW_ICE40, EXP_HW_NFAMILIES } ExpHwFamily;
const char *exp_hw_family_key(ExpHwFamily f);  /* "xilinx", "ice40": emit.json's spelling */
const char *exp_hw_family_name(ExpHwFamily f); /* "Xilinx", "iCE40": the page's */

/* Resource counts of a design (a "total" or an "estimate_<family>" object). */
typedef struct ExpHwRes {
  bool have;             /* whether emit.json gave them (else the counts are 0) */
  uint64_t lut;          /* look-up tables */
  uint64_t ff;           /* flip-flops */
  uint64_t dsp;          /* DSP blocks */
  uint64_t carry;        /* carry cells (CARRY4/8, SB_CARRY) */
} ExpHwRes;

/* One family's synthesis ("synth"."xilinx" or "ice40"). */
typedef struct ExpHwSynth {
  bool ran;              /* whether emit.json has it (else every field below is empty) */
  ExpHwRes total;        /* yosys's counts for the whole design */
  const char *part;      /* the place-and-route part ("" when none) */
  double fmax_mhz;       /* nextpnr's maximum frequency; NAN: null (not placed) */
  double latency_ns;     /* latency_cycles / fmax; NAN: null */
  double seconds;        /* how long synthesis took; NAN when absent */
} ExpHwSynth;

/* One simulator's check of the design against the C reference ("verify"[i]). */
typedef struct ExpHwVerify {
  const char *sim;       /* "verilator", "iverilog", ... */
  bool ran;              /* false: the simulator was not run (why says why) */
  bool agree;            /* every sample's outputs matched */
  uint64_t samples;      /* samples compared */
  uint64_t mismatches;   /* samples whose outputs differed */
  const char *why;       /* why it did not run ("" when it ran) */
} ExpHwVerify;

/* One emit directory. */
typedef struct ExpHwDesign {
  const char *dir;       /* the directory, as given */
  const char *model;     /* the model's name */
  const char *top;       /* the top module's name */
  const char *checkpoint;  /* the weights it was emitted from ("" when absent) */
  double test_accuracy;  /* on the test split; NAN: null or absent */
  bool has_design;       /* "design" present (absent for a C-only emit) */
  uint64_t latency_cycles; /* clock cycles from input to output (design only) */
  int nlayers;           /* design.layers' length */
  ExpHwRes estimate[EXP_HW_NFAMILIES]; /* jscc's estimate of the whole design, per family */
  ExpHwSynth synth[EXP_HW_NFAMILIES];  /* yosys (and nextpnr) per family */
  int nverify;
  ExpHwVerify *verify;   /* [nverify] in emit.json's order */
} ExpHwDesign;

bool exp_hw_is_emit_dir(const char *dir); /* whether DIR holds an emit.json */
/* DIR/emit.json into *out (strings owned by a).  Errors name the file, line, column and the
 * field ("'design.latency_cycles': expected a non-negative integer"); optional parts that are
 * absent ("design", "synth", "verify", a family) are left empty, unknown keys ignored. */
Status exp_hw_read(Arena *a, const char *dir, ExpHwDesign *out, Diag *d);
/* The LUT count the report plots for a design: yosys's synth_xilinx total, else the Xilinx
 * estimate (*estimated set); false when it has neither. */
bool exp_hw_luts(const ExpHwDesign *h, double *luts, bool *estimated);
/* The designs' table: directory, model, top, test accuracy, latency, each family's LUT, FF,
 * DSP and carry (synthesis's, else the estimate: class "est", marked ~), the iCE40 part,
 * Fmax and latency in ns, and one column per simulator (agree / differs / not run). */
void exp_hw_table_html(StrBuf *sb, const ExpHwDesign *h, int n);

/* ==== report.c: run and sweep directories read into an ExpStudy; report.html ====
 * A study is what one report shows: the trials of a sweep directory (sweep.json, results.csv
 * and each trial's metrics.csv), or one trial per run directory given (manifest.json,
 * metrics.csv; the hyper-parameters that differ between them become its axes). */

/* results.csv's numeric columns (spec/sweep.md 2.3): id, name, whether higher is better. */
#define EXP_RESULT_COLS(X)                             \
  X(BEST_EPOCH, "best_epoch", false)                   \
  X(BEST_VAL_LOSS, "best_val_loss", false)             \
  X(BEST_VAL_ACC, "best_val_acc", true)                \
  X(FINAL_TRAIN_ACC, "final_train_acc", true)          \
  X(FINAL_VAL_ACC, "final_val_acc", true)              \
  X(TEST_ACC, "test_acc", true)                        \
  X(TEST_ACC_MACRO, "test_acc_macro", true)            \
  X(MEAN_EPOCH_SECONDS, "mean_epoch_seconds", false)   \
  X(SAMPLES_PER_SECOND, "samples_per_second", true)    \
  X(PARAMS, "trainable_params", false)
typedef enum ExpCol {
#define X(id, name, up) EXP_COL_##id,
  EXP_RESULT_COLS(X)
#undef X
  EXP_NCOLS
} ExpCol;
const char *exp_col_name(ExpCol c);
bool exp_col_higher_better(ExpCol c);
/* --metric NAME: a column's name, or val_acc / train_acc (the last epoch's); false if unknown. */
bool exp_metric_parse(const char *name, ExpCol *out);

/* One run's metrics.csv: row i is epoch i + 1.  Non-finite values are kept (a diverged run). */
typedef struct ExpCurve {
  int n;                 /* finished epochs */
  double *train_loss;    /* [n] */
  double *train_acc;     /* [n] */
  double *val_loss;      /* [n] */
  double *val_acc;       /* [n] */
  double *epoch_seconds; /* [n]; NAN when the column is absent */
} ExpCurve;

/* One swept option. */
typedef struct ExpStudyAxis {
  const char *name;    /* "batch_size" */
  const char *option;  /* "--batch-size" */
  int nvalues;
  const char **values; /* [nvalues] as given on the command line, in sweep order */
} ExpStudyAxis;

typedef struct ExpStudyTrial {
  int id;                /* sweep.json's trial id; a run directory's position among the arguments */
  const char *dir;       /* its run directory, as opened */
  const char *model;     /* the model's name */
  const char **values;   /* [naxes] its value on each axis */
  int argc;              /* the jscc train command that reproduces it (may be 0: unknown) */
  const char **argv;     /* [argc] */
  const char *status;    /* ok, diverged, failed; pending or running while unfinished */
  const char *error;     /* a failed trial's message, or NULL */
  double res[EXP_NCOLS]; /* results.csv's numbers (computed for run directories); NAN: none */
  ExpCurve curve;        /* metrics.csv (n = 0 before the first epoch) */
  int point;             /* index into ExpStudy.points */
} ExpStudyTrial;

/* Trials that differ only in their seed: one point of the grid, reported as mean +- std. */
typedef struct ExpPoint {
  int ntrials;
  int *trials;           /* [ntrials] indices into ExpStudy.trials, in trial order */
} ExpPoint;

typedef struct ExpStudy {
  Arena *arena;          /* owns everything below */
  bool sweep;            /* a sweep directory (else run directories) */
  const char *dir;       /* the sweep directory, or the first run directory */
  const char *command;   /* sweep.json's command, or the only run's; NULL when several runs */
  const char *data;      /* what was trained on (a manifest's data description); NULL: unknown */
  int nmodels;
  const char **models;   /* [nmodels] names */
  const char **model_paths; /* [nmodels] the .jsc files (NULL entries: unknown) */
  int nfixed;
  const char **fixed;    /* [nfixed] options every trial shares (sweep.json's "fixed") */
  int naxes;
  ExpStudyAxis *axes;         /* [naxes] */
  int seed_axis;         /* index of the seed axis, -1 when none */
  int ntrials;
  ExpStudyTrial *trials;      /* [ntrials] in trial order */
  int npoints;
  ExpPoint *points;      /* [npoints] */
  ExpSweep *sweep_def;   /* a sweep directory's sweep.json, which the fields above borrow from */
  int ndesigns;
  ExpHwDesign *designs;  /* [ndesigns] the emit directories given, in argument order */
} ExpStudy;

/* One sweep directory, or one or more run directories, and any number of emit directories
 * (emit.json) beside them; or emit directories alone (no trials: s->dir is the first).
 * Input errors name the file, line and field; nothing is written. */
Status exp_study_load(const char *const *dirs, int ndirs, ExpStudy **out, Diag *d);
void exp_study_free(ExpStudy *s);
int exp_axis_find(const ExpStudy *s, const char *name); /* -1 when absent */
/* order[ntrials]: finished (ok) trials by col, best first, then the rest; ties by id. */
void exp_rank(const ExpStudy *s, ExpCol col, int *order);
/* The best ok trial by col, or -1. */
int exp_best(const ExpStudy *s, ExpCol col);
/* Mean and sample standard deviation of col over a point's ok trials; returns how many had
 * a value (mean NAN when none, std NAN below two). */
int exp_point_stat(const ExpStudy *s, int point, ExpCol col, double *mean, double *std);
/* s as HTML text: & < > " ' as entities (invalid UTF-8 as U+FFFD). */
void sb_put_html(StrBuf *sb, const char *s);

/* A figure of the report, drawn by plot.c. */
typedef struct ExpFigure {
  const char *name;      /* file stem: figures/NAME.svg and figures/NAME.png */
  const char *title;     /* the heading above it */
  const char *caption;   /* what it shows and for which slice of the other axes */
  const char *svg;       /* the SVG bytes, inlined into the page */
  size_t svg_len;        /* bytes in svg */
  bool hw;               /* a hardware designs figure: shown in that section, not under Figures */
} ExpFigure;

typedef struct ExpReportOpts {
  const char *out;       /* the output directory; NULL: the first directory given */
  ExpCol metric;         /* the ranking (default final_val_acc) */
  bool no_figures;       /* tables only (as in a build without PLplot) */
} ExpReportOpts;
void exp_report_opts_default(ExpReportOpts *o);
/* The page: header, ranked results, seed summary, figures (nfigs may be 0: `note` says why),
 * the hardware designs (table, and the figures marked hw), commands; with designs alone,
 * the header and the hardware designs only.  Deterministic: no times, no absolute paths
 * beyond those given. */
void exp_report_html(StrBuf *sb, const ExpStudy *s, const ExpReportOpts *o, const ExpFigure *figs,
                     int nfigs, const char *note);
/* Load, draw the figures (OUT/figures/), write OUT/report.html atomically. */
Status exp_report(const char *const *dirs, int ndirs, const ExpReportOpts *o, Diag *d);

/* ==== plot.c: the report's figures through PLplot ====
 * Each figure is written as OUT/NAME.svg (svgcairo) and OUT/NAME.png (pngcairo) on a fixed
 * page, so the bytes depend only on the study.  PLplot keeps global state and is not
 * thread-safe: calls are serialized by a lock inside plot.c. */
bool exp_plot_available(void); /* false in a build without PLplot */
/* The figures the study's axes allow (a figure whose axes are not swept is left out), then
 * acc_luts (test accuracy against LUTs, hw) when a design has both, into *figs (owned by
 * s->arena); `best` picks the slice of the axes a figure does not show. */
Status exp_plot_figures(const ExpStudy *s, int best, const char *figdir, ExpFigure **figs, int *nfigs,
                        Diag *d);
/* A figure of points and lines in data coordinates (jscc search's fronts). */
typedef enum ExpSeriesKind { EXP_SERIES_POINTS, EXP_SERIES_LINE, EXP_SERIES_DASHED } ExpSeriesKind;
typedef struct ExpSeries {
  const char *label;     /* the legend's text */
  int n;
  const double *x, *y;   /* [n] */
  ExpSeriesKind kind;
} ExpSeries;
typedef struct ExpScatter {
  const char *name, *title, *caption, *xlabel, *ylabel;
  bool logx;             /* a log x axis in whole decades */
  int nseries;
  const ExpSeries *series;
} ExpScatter;
/* figdir/NAME.svg and .png, and *out (its strings and SVG in a). */
Status exp_plot_scatter(const ExpScatter *sc, const char *figdir, Arena *a, ExpFigure *out, Diag *d);

/* ==== sampler.c: the samplers of jscc search (grid, random, TPE, NSGA-II) ====
 * spec/search.md "Samplers" says what each does and where it differs from Optuna's. */
typedef enum ExpSamplerKind { EXP_SAMPLER_RANDOM, EXP_SAMPLER_TPE, EXP_SAMPLER_NSGAII, EXP_SAMPLER_GRID } ExpSamplerKind;
bool exp_sampler_parse(const char *name, ExpSamplerKind *out);   /* "random", "tpe", "nsgaii", "grid" */
const char *exp_sampler_name(ExpSamplerKind k);
/* One parameter of the search space: the trial picks an index in [0, n). */
typedef struct ExpParam {
  int n;              /* choices (>= 1) */
  bool ordered;       /* the choices are numbers in increasing order (widths): TPE treats the index as an ordered integer (Optuna's IntDistribution, as MASE's suggest_int(key, 0, n-1)); else categorical */
} ExpParam;
/* A finished trial, as the samplers learn from it. */
typedef struct ExpObs {
  int trial;          /* its trial number (NSGA-II's generation is trial / population) */
  const int *x;       /* [nparams] the chosen indices */
  const double *y;    /* [nobj] objective values, every one to be MINIMISED (the caller negates maximised ones) */
  bool ok;            /* false: the trial failed (no y); samplers skip it as Optuna skips failed trials */
} ExpObs;
/* The samplers' knobs, Optuna's defaults from exp_sampler_opts_default. */
typedef struct ExpSamplerOpts {
  int n_startup;      /* TPE: random trials first (Optuna: 10); <= 0: default */
  int n_ei_candidates;/* TPE: 24 */
  int population;     /* NSGA-II: population size (Optuna: 50) */
  double mutation_prob;   /* NSGA-II: <= 0: 1/nparams (Optuna's default) */
  double crossover_prob;  /* NSGA-II: 0.9 */
  double swapping_prob;   /* NSGA-II uniform crossover: 0.5 */
} ExpSamplerOpts;
void exp_sampler_opts_default(ExpSamplerOpts *o);
/* Trial `trial`'s choices x[nparams], from the seed, the trial number and the finished trials
 * hist[0..nhist) only: the same arguments give the same choices (a resumed search asks again
 * and gets the same trial).  nobj >= 1.  Grid: the trial-th point of the grid in an order
 * shuffled by the seed; JS_ERR with a message when trial >= the grid's size (exp_grid_size).
 * o may be NULL (the defaults).  TPE and NSGA-II learn only from the trials of hist that are
 * ok, numbered below `trial` and have finite objectives; an index out of range in one of
 * them is an error.  Bad arguments (a parameter without choices, nobj outside 1..64, a
 * probability outside [0, 1]) are JS_ERR, allocation failures JS_ENOMEM. */
Status exp_sampler_ask(ExpSamplerKind k, const ExpSamplerOpts *o, const ExpParam *params, int nparams, int nobj,
                       uint64_t seed, int trial, const ExpObs *hist, int nhist, int *x, Diag *d);
/* The grid's size (the product of the choices), saturating at INT64_MAX. */
int64_t exp_grid_size(const ExpParam *params, int nparams);

/* ==== pareto.c: non-dominated sorting, the Pareto front, hypervolume (objectives minimised) ==== */
/* rank[i] = 0 for the non-dominated points of y[n][nobj] (row-major), 1 for the next front, ... ; NaN rows get rank n (last) */
Status exp_nondominated_rank(const double *y, int n, int nobj, int *rank, Diag *d);
/* The hypervolume dominated by the points (minimised objectives) and bounded by ref[nobj]; points not strictly better than ref in every objective add nothing.  Exact for any nobj (an exact algorithm: 2-D sweep; for more, e.g. the WFG or inclusion–exclusion-free slicing method)
 * Here: slicing along the last objective down to the 2-D sweep.  NaN when memory runs out. */
double exp_hypervolume(const double *y, int n, int nobj, const double *ref);
/* NSGA-II's crowding distance of the points idx[0..m) of one front (inf at the ends) */
void exp_crowding(const double *y, int nobj, const int *idx, int m, double *dist);
/* ==== search.c: a quantization search — MASE's [search] tables, the space, a trial's config ====
 * spec/search.md is the reference.  (The samplers are sampler.c's, the fronts pareto.c's.) */

#define EXP_SEARCH_MAX_PARAMS 512

/* What a trial is scored on.  Maximised or minimised as the config says. */
typedef enum ExpMetric {
  EXP_M_ACCURACY,          /* the validation split's accuracy (micro) */
  EXP_M_LOSS,              /* its mean cross-entropy */
  EXP_M_AVERAGE_BITWIDTH,  /* MASE's: the weights' bits, averaged over the quantized layers' in·out */
  EXP_M_MEMORY_DENSITY,    /* MASE's: compare_to / average_bitwidth */
  EXP_M_BOPS,              /* bit operations per inference (passes/cost.c) */
  EXP_M_LUT_ESTIMATE,      /* analytic LUT count (passes/cost.c) */
  EXP_NMETRICS
} ExpMetric;
const char *exp_metric_name(ExpMetric m);          /* "accuracy", ... */
bool exp_metric_lookup(const char *name, ExpMetric *out);

typedef struct ExpObjective {
  ExpMetric metric;
  double scale;            /* MASE's: the objective is scale * value */
  bool maximize;
} ExpObjective;

typedef enum ExpScoring { EXP_SCORE_PTQ, EXP_SCORE_QAT } ExpScoring;

/* One searched key of one node: "seq_blocks_2/config/weight_width" and its choices. */
typedef struct ExpSearchParam {
  const char *key;         /* MASE's flattened key */
  int node;                /* index into ExpSearch.nodes */
  const char *field;       /* "weight_width" */
  int n;                   /* choices */
  Value *choices;          /* [n] as the config wrote them */
  bool ordered;            /* numbers in increasing order (TPE's ordered kernel) */
} ExpSearchParam;

typedef struct ExpSearchNode {
  const char *name;        /* the node ("seq_blocks_2") */
  MaseOp op;
  const char *seed;        /* the seed entry it took ("default", its name or its op) */
  int first, nparams;      /* its parameters: params[first .. first + nparams) */
} ExpSearchNode;

typedef SrcLoc (*ExpLocFn)(void *ud, const char *path);  /* a config key's location ("a.b.c") */
typedef struct ExpSeedLoc { ExpLocFn fn; void *ud; } ExpSeedLoc;

typedef struct ExpSearch {
  Arena *a;                /* owns the strings and arrays below (the choices are the config's) */
  /* [search.strategy] */
  ExpSamplerKind sampler;  /* setup.sampler (tpe) */
  ExpSamplerOpts sopts;    /* setup.population_size, n_startup_trials */
  int n_trials;            /* setup.n_trials (20): configurations sampled */
  int jobs;                /* setup.n_jobs (1): trials at once */
  double timeout_s;        /* setup.timeout (0: none): no new trial after it */
  bool sum_scaled;         /* setup.sum_scaled_metrics: one objective, the sum of scale * value */
  bool sum_maximize;       /* setup.direction */
  int nobj;
  ExpObjective obj[EXP_NMETRICS]; /* metrics.*, sorted by name as MASE does */
  double compare_to;       /* hw_runner.average_bitwidth.compare_to (32) */
  ExpScoring scoring;      /* ptq, or qat when sw_runner.basic_train is given */
  int64_t num_samples;     /* sw_runner.basic_evaluation.num_samples: PTQ's validation rows (0 or -1: all) */
  int64_t epochs;          /* basic_train.max_epochs (2): QAT epochs per trial (ASHA's largest rung) */
  double lr, weight_decay; /* basic_train.learning_rate (1e-3), weight_decay (0) */
  OptimKind optimizer;     /* basic_train.optimizer (adam) */
  SchedKind sched;         /* basic_train.lr_scheduler (constant) */
  int64_t batch_size;      /* basic_train.batch_size (0: the command's) */
  bool asha;               /* [search.strategy.asha] or --asha: successive halving on the epochs */
  int64_t min_epochs, eta; /* asha.min_epochs (1), asha.eta (3) */
  /* [search.search_space] */
  bool by_name;            /* setup.by */
  const Value *seed_table; /* seed (borrowed from the config) */
  ExpSeedLoc seed_loc;
  /* the space (exp_search_space) */
  int nnodes;
  ExpSearchNode *nodes;
  int nparams;
  ExpSearchParam *params;
} ExpSearch;

Status exp_search_new(ExpSearch **out, Diag *d);   /* MASE's defaults */
void exp_search_free(ExpSearch *s);
/* The [search] tables of a config (root: its Value tree; loc: where each key is, for errors
 * at file:line:col).  Unknown keys, MASE features jscc lacks and bad values are errors
 * naming the key.  The config must outlive s. */
Status exp_search_read(ExpSearch *s, const Value *root, ExpLocFn loc, void *ud, Diag *d);
/* The parameters, from the model's forward graph (node names and ops). */
Status exp_search_space(ExpSearch *s, const Graph *g, Diag *d);
void exp_search_params(const ExpSearch *s, ExpParam *out);   /* [nparams] for the sampler */
int64_t exp_search_size(const ExpSearch *s);                  /* configurations in the space */
/* Trial x's quantize step as --passes text ("quantize{by=name, default={name=NA}, ...}"). */
void exp_search_passes(const ExpSearch *s, const int *x, StrBuf *sb);
/* The same as a MASE-format config ([passes.quantize] tables), after a comment line. */
void exp_search_toml(const ExpSearch *s, const int *x, const char *comment, StrBuf *sb);
/* One choice as text: a string as it is, a number as --passes writes it. */
void exp_search_choice(const ExpSearch *s, int param, int index, StrBuf *sb);
/* Objective k (minimised: maximised ones negated) of a trial's metrics[EXP_NMETRICS]. */
double exp_search_objective(const ExpSearch *s, int k, const double *metric);
int exp_search_nobj(const ExpSearch *s);  /* 1 with sum_scaled_metrics, else nobj */

/* The metrics a trial's quantized graph gives before it runs: average_bitwidth,
 * memory_density, bops, lut_estimate (passes/cost.c; weights, when given, count the
 * non-zero quantized weights for BOPs). */
Status exp_search_costs(const ExpSearch *s, const Graph *fwd, const PassData *weights, double *metric, Diag *d);

/* ==== searchrun.c: running a search (threads, journal, --resume, ASHA) ==== */

#define EXP_SEARCH_MAX_RUNGS 16
/* ASHA's rungs: the epochs of each (min_epochs * eta^k below epochs, then epochs); one rung
 * without ASHA (PTQ: 0 epochs). */
int exp_search_rungs(const ExpSearch *s, int64_t *epochs);

typedef struct ExpSearchTrial {
  int id;
  int *x;                  /* [nparams] the chosen index of each parameter */
  const char *passes;      /* its quantize step (set once it first runs) */
  ExpStatus status;        /* pending until scored; ok, diverged, failed */
  int rung;                /* the last rung scored (-1: none) */
  int64_t epochs;          /* QAT: epochs trained */
  double metric[EXP_NMETRICS];
  double rung_acc[EXP_SEARCH_MAX_RUNGS];  /* accuracy and loss at each rung (NAN: not run, or */
  double rung_loss[EXP_SEARCH_MAX_RUNGS]; /* not ok there): ASHA ranks a rung by them */
  double test_acc;         /* the test split's accuracy (QAT: the best epoch's weights) */
  double seconds;          /* scoring time, all rungs */
  char error[256];         /* failed: the first line of the message */
} ExpSearchTrial;

/* What the command provides: exp/ reads no model files. */
typedef struct ExpSearchHooks {
  /* The model with `passes` applied, forward and training graphs, and the float checkpoint's
   * weights for the cost metrics (may be NULL); *handle is given back to unload.  Called on
   * the coordinating thread. */
  Status (*load)(void *ud, const char *passes, const Graph **fwd, const Graph **train, const PassData **weights,
                 void **handle, Diag *d);
  void (*unload)(void *ud, void *handle);
  /* After each score (on the coordinating thread): progress. */
  void (*on_score)(void *ud, const ExpSearchTrial *t, int scored, int total);
  void *ud;
} ExpSearchHooks;

typedef struct ExpSearchRun {
  const ExpSearch *s;
  const char *dir;         /* the search directory (exists) */
  const char *ckpt;        /* the float checkpoint: PTQ's weights, QAT's --init */
  RtTrainConfig base;      /* dataset (loaded), batch size, engine, kernels, kernel cache, optimizer,
                              schedule, seed: what every trial shares */
  uint64_t seed;           /* the sampler's */
  int jobs;                /* trials at once: threads, or with mpi the other ranks (size - 1) */
  ExpMpi *mpi;             /* NULL: worker threads; else rank 0 hands the trials to the ranks */
  ExpSearchHooks hooks;
} ExpSearchRun;
/* Replays DIR/journal.jsonl if there is one, then samples and scores until n_trials are
 * sampled (or the grid or the timeout ends it) and nothing more is promotable; results.csv,
 * front.csv and front/ are rewritten after every score.  *trials (owned by s's arena) gets
 * every sampled trial. */
Status exp_search_run(const ExpSearchRun *r, ExpSearchTrial **trials, int *ntrials, Diag *d);
/* A rank other than 0 under mpirun: the jobs rank 0 hands it (r->mpi; r as rank 0's, with
 * the same hooks), scored one at a time, each result sent back, until rank 0 says stop. */
Status exp_search_work(const ExpSearchRun *r, Diag *d);
/* A journal's text replayed as --resume replays it (every event checked against the space;
 * errors name the line); *ntrials gets the trials it sampled.  For tests and the fuzzer. */
Status exp_search_replay(const ExpSearch *s, const SrcFile *journal, int *ntrials, Diag *d);

/* ==== searchout.c: results.csv, front.csv, front/NNN.toml ==== */
/* The front: trials[i] scored ok and non-dominated on the objectives (on_front[n]). */
Status exp_search_front(const ExpSearch *s, const ExpSearchTrial *t, int n, bool *on_front, Diag *d);
/* DIR/results.csv (every sampled trial: choices, metrics), DIR/front.csv and one
 * DIR/front/trial-NNN.toml per front point (a config jscc transform and train --config take),
 * each replaced atomically. */
Status exp_search_write(const ExpSearch *s, const char *dir, const ExpSearchTrial *t, int n, Diag *d);
/* The hypervolume of the front (trials i with ok[i] and front[i]) in the space of the
 * objectives' unscaled values, from the worst point: a maximised metric's min(0, every ok
 * trial's), a minimised one's max(ref[metric] (the float model's), every ok trial's).
 * metric[i] is trial i's metrics.  NAN when memory runs out. */
double exp_search_hypervolume(int nobj, const ExpMetric *obj, const bool *maximize, const double *const *metric,
                              const bool *ok, const bool *front, int n, const double *ref);

/* ==== searchreport.c: a search directory's report.html ==== */
bool exp_is_search_dir(const char *dir);  /* whether DIR holds a search.json */
/* DIR/report.html (o->out: elsewhere) from search.json, the journal and front.csv: the
 * summary and hypervolume, the front, accuracy against average bits, BOPs and LUTs (with
 * the float model), every trial. */
Status exp_search_report(const char *dir, const ExpReportOpts *o, Diag *d);

#endif
