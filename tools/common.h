/* tools/common.h — what the jscc subcommands share (common.c defines it; one file per
 * subcommand uses it):
 * reading a model file, choosing one of its models, numeric option values, and pipelines
 * from --passes or --config. */
#ifndef JSCC_TOOLS_COMMON_H
#define JSCC_TOOLS_COMMON_H

#include <getopt.h>

#include "config.h"
#include "ir.h"
#include "passes.h"
#include "runtime.h"

bool has_suffix(const char *s, const char *suffix);
/* .ir text through ir_parse, anything else through the .jsc front end (then verified). */
Status parse_program(const SrcFile *src, Program **prog, Diag *d);
/* The model named `name`, or the file's only one; a usage error (*st = JS_EUSAGE) otherwise. */
Graph *pick_model(Program *p, const char *name, const char *path, Diag *d, Status *st);
/* The whole text as an integer in [lo, hi]. */
bool parse_int_opt(const char *s, int64_t lo, int64_t hi, int64_t *out);

/* A pipeline from --passes (malformed: JS_EUSAGE) or a config file's [passes.*] tables
 * (located input errors: JS_ERR); both given is a usage error. */
typedef struct PipeSrc {
  Pipeline *pl;  /* NULL: none given */
  FeConfig *cfg; /* the config file, when the pipeline came from one */
} PipeSrc;
Status pipe_build(const char *passes, const char *config, bool need_passes, PipeSrc *ps, Diag *d);
void pipe_free(PipeSrc *ps);

enum { EXIT_INPUT = 1, EXIT_USAGE = 2 }; /* exit status: 0 success, 1 bad input, 2 bad usage */

/* Options train and test share. */
enum {
  T_DATA = 300, T_SYNTH_N, T_BATCH, T_LR, T_EPOCHS, T_OPTIM, T_WD, T_MOMENTUM, T_NESTEROV, T_SCHED, T_T_MAX,
  T_ETA_MIN, T_STEP_SIZE, T_GAMMA, T_SEED, T_OUT, T_RESUME, T_ENGINE, T_MODEL, T_CACHE_DIR, T_NO_CACHE, T_QUIET,
  T_CKPT, T_DUMP_PLAN, T_DUMP_LLVM, T_PASSES, T_CONFIG, T_SPLIT, T_DEVICE, T_DUMP_CUDA, T_FORCE, T_INIT, T_TASK, T_JSON,
  T_TENSORBOARD, T_VEC, T_LLVM_PASSES, T_LLVM_CODEGEN_LEVEL, T_LLVM_TIMING
};

/* --vec N, --llvm-passes STR, --llvm-codegen-level N, --llvm-timing: how the CPU kernels are
 * built (CgTuning).  -1 when o is one of them (and valid), 0 when it is not, else the exit
 * code of a usage error (printed). */
int tuning_opt(const char *cmd, int o, CgTuning *t);
/* Whether t asks for anything but the defaults. */
bool tuning_set(const CgTuning *t);
/* Their long options and help lines, for the commands that build kernels. */
#define TUNING_LONGOPTS                                                                                 \
  {"vec", required_argument, NULL, T_VEC}, {"llvm-passes", required_argument, NULL, T_LLVM_PASSES},     \
      {"llvm-codegen-level", required_argument, NULL, T_LLVM_CODEGEN_LEVEL},                            \
      {"llvm-timing", no_argument, NULL, T_LLVM_TIMING}
#define TUNING_HELP                                                                                     \
  "  --vec N                rows per vector of the CPU kernels: 4, 8 or 16 (default: the host's,\n"    \
  "                         16 with AVX-512, else 8); pins --dump-plan's text on any machine\n"        \
  "  --llvm-passes STR      the LLVM IR pipeline of the CPU kernels (a new-pass-manager string,\n"     \
  "                         e.g. 'default<O2>'), for measurements\n"                                   \
  "  --llvm-codegen-level N LLVM's machine code generation level, 0-3 (default 2)\n"                  \
  "  --llvm-timing          print each kernel compile's phases on stderr\n"

/* The model twice: as `shape` leaves it (forward) and as `shape,grad` leaves it (training).
 * The file is read once and parsed twice, so "-" works too. */
typedef struct Model {
  Arena *files;
  SrcFile *src;
  Program *pf, *pt;
  Graph *fwd, *train;
} Model;

/* The options train and test share: where the data come from, batch size, engine, model,
 * --task (MASE's: only cls, the one task jscc has).
 * Returns -1 when `o` is one of them (and valid), 0 when it is not, else the exit code of a
 * usage error. */
typedef struct SharedOpts {
  RtDataOpts *data;
  int64_t *batch;
  RtEngineKind *engine;
  const char **model;
  const char **passes; /* --passes (NULL: the command takes none) */
  const char **config; /* --config */
  RtDeviceKind *device; /* --device (NULL: the command takes none) */
} SharedOpts;

int exit_code(Status st);                       /* 0, EXIT_USAGE for JS_EUSAGE, else EXIT_INPUT */
int exit_of(Status st, const Diag *d);          /* exit_code, and EXIT_INPUT when d holds errors */
/* "jscc CMD: MESSAGE" and the --help hint on stderr; returns EXIT_USAGE. */
int sub_usage_error(const char *cmd, const char *fmt, ...) JS_PRINTF(2, 3);
/* The whole text as a finite number >= lo (> lo when strict). */
bool parse_real_opt(const char *s, double lo, bool strict, double *out);
/* An unknown name among names, with a "did you mean"; returns EXIT_USAGE. */
int bad_name(const char *cmd, const char *what, const char *arg, const char *const *names, int n);
/* Reads the model, runs `pre` (the user's transforms) on both copies, then `shape` and
 * `shape,grad`. */
Status model_load(Model *m, const char *path, const char *name, const Pipeline *pre, Diag *d);
/* The forward copy only (m->train NULL): for commands that never train (jscc emit), so a
 * model the training graph refuses (several outputs) still loads. */
Status model_load_fwd(Model *m, const char *path, const char *name, const Pipeline *pre, Diag *d);
void model_free(Model *m);
/* -1 when o is one of the shared options (and valid), 0 when it is not, else a usage exit. */
int shared_opt(const char *cmd, int o, const SharedOpts *so);

/* Whether mpirun started this process with several ranks (its environment says so): only
 * then is MPI started, so a plain jscc sweep or search needs no MPI runtime. */
bool mpi_launched(void);
/* The cache directory for compiled kernels (NULL with --no-cache), in buf. */
const char *kernel_cache_dir(const RtDataOpts *o, char *buf, size_t cap);
/* The value of key in a dict Value (a config's root table); NULL when absent. */
const Value *cfg_lookup(const Value *dict, const char *key);

/* ---- train.c: a `jscc train` command line, parsed (jscc sweep builds each trial's with it) ---- */
typedef struct TrainArgs {
  RtTrainConfig c;            /* the run (model_path: the model file) */
  const char *model;          /* --model */
  const char *passes, *config;/* --passes, --config */
  bool dump_plan, dump_llvm, dump_cuda;
  const char *tensorboard;    /* --tensorboard DIR */
  double lr, wd, momentum;    /* the optimizer's options until train_args_resolve applies them */
  OptimKind kind;
  bool have_wd, have_momentum, nesterov;
  bool set_batch, set_lr, set_epochs, set_seed, set_optim; /* given on the command line */
  CgTuning tuning;            /* --vec, --llvm-*: c.tuning points here when any is given */
} TrainArgs;
const struct option *train_options(void);  /* jscc train's long options */
/* argv[0] is "train".  -1 when it parsed, else the exit code of a usage error (printed). */
int train_args_parse(int argc, char **argv, TrainArgs *ta);
/* The pipeline and a config's training keys (filling what the command line left unset),
 * then the checks across options.  -1 when all is well (*ps then holds the pipeline, to be
 * freed with pipe_free), else the exit code (*st: the Status of an input error). */
int train_args_resolve(TrainArgs *ta, PipeSrc *ps, Diag *d, Status *st);

/* The subcommands (each in its own file); jscc.c's main() dispatches to them. */
int cmd_compile(int argc, char **argv);   /* compile.c: the default, `jscc MODEL [--passes=...]` */
int cmd_train(int argc, char **argv);     /* train.c */
int cmd_test(int argc, char **argv);      /* test.c */
int cmd_transform(int argc, char **argv); /* transform.c */
int cmd_diff(int argc, char **argv);      /* diff.c */
int cmd_sweep(int argc, char **argv);     /* sweep.c */
int cmd_report(int argc, char **argv);    /* report.c */
int cmd_emit(int argc, char **argv);      /* emit.c */
int cmd_search(int argc, char **argv);    /* search.c */

#endif
