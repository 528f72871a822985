/* runtime/train.h — training and evaluation loops (included by runtime.h; train.c).
 *
 * rt_train runs MASE's `ch train` on the JSC data: mini-batch training with cross-entropy,
 * an optimizer and a per-epoch schedule, validation after every epoch, and a run directory
 * (metrics.csv, manifest.json, best/last safetensors checkpoints, the optimizer state) that
 * --resume continues from.  rt_test evaluates a checkpoint on the test split.
 *
 * Both run through an engine: "jit" (the fused kernels of codegen/, one training plan and
 * one evaluation plan) or "ref" (the reference executor, runtime/interp.c, plus
 * rt_optim_step) on the CPU, or with device cuda "cuda" (the same plans as CUDA kernels,
 * runtime/device.h: one launch per epoch).  The caller hands over the model twice, as it comes out of the `shape`
 * pass (the forward graph) and out of `shape,grad` (the training graph): the runtime never
 * runs passes or parses model text itself.
 *
 * The run directory (runtime/rundir.h: locking, manifest, the commit of an epoch, repair on
 * resume) is written by one process at a time; spec/sweep.md §1 describes it.
 *
 * Everything is a function of --seed: initialisation (rt_state_init from Rng(seed)),
 * shuffling (Rng seeded from seed and the epoch) and dropout (rt_dropout_bits(seed, step)),
 * so a CPU run repeats bit for bit, and a resumed run reproduces an uninterrupted one. */
#ifndef JSCC_RUNTIME_TRAIN_H
#define JSCC_RUNTIME_TRAIN_H

/* int and int-c evaluate integer-only (runtime/intexec.h: the JIT kernel, or the plain C
 * executor); they do not train.  cuda is what device cuda runs (not an --engine choice:
 * rt_engine_parse does not accept it). */
typedef enum RtEngineKind {
  RT_ENGINE_AUTO, RT_ENGINE_JIT, RT_ENGINE_REF, RT_ENGINE_INT, RT_ENGINE_INT_C, RT_ENGINE_CUDA
} RtEngineKind;
const char *rt_engine_name(RtEngineKind k);               /* "auto", "jit", "ref", ..., "cuda" */
bool rt_engine_parse(const char *s, RtEngineKind *out);

/* 64-bit FNV-1a of a byte range: the model file's hash in manifests. */
uint64_t rt_hash64(const void *data, size_t len);

/* ==== kernels.c: compiled kernels shared by the runs of one process ==== */

/* Plans and kernels built once per (graph, batch size, optimizer, step kind) and borrowed by
 * every run that needs them (a sweep's trials); thread-safe. */
typedef struct RtKernelSet RtKernelSet;
Status rt_kernel_set_new(RtKernelSet **out, Diag *d);
void rt_kernel_set_free(RtKernelSet *ks);          /* after every borrower has finished */
/* Drops (and frees) the kernels built for g, whose borrowers have all finished: a caller
 * that frees a graph forgets it first, since the set knows graphs by their address. */
void rt_kernel_set_forget(RtKernelSet *ks, const Graph *g);
/* The plan and kernel for g under o (o->observe must be NULL), built at the first call; a
 * failure is remembered and reported again to every later caller.  *compile_ms is the time
 * this call spent compiling (0 when the kernel existed); *cache_hit whether the build loaded
 * it from the on-disk kernel cache (o->kernel_cache). */
Status rt_kernel_set_get(RtKernelSet *ks, const Graph *g, const CgOptions *o, const CgPlan **plan,
                         const CgKernel **kernel, double *compile_ms, bool *cache_hit, Diag *d);

/* ==== train.c ==== */

/* One finished epoch, as metrics.csv records it, for callers that follow a run (a sweep's
 * journal, TensorBoard).  Called after the epoch's row is in metrics.csv and, unless the
 * epoch diverged, its checkpoints are committed. */
typedef struct RtEpochInfo {
  int64_t epoch, max_epochs;       /* 1-based */
  double train_loss, train_acc, val_loss, val_acc, lr;
  double epoch_seconds, samples_per_second, train_seconds;
  bool improved;                   /* it became best.safetensors */
  bool diverged;                   /* a loss or a weight was not finite: the run stops here */
} RtEpochInfo;
/* A non-zero Status stops the run with that error (the epoch stays committed). */
typedef Status (*RtEpochHook)(void *ud, const RtEpochInfo *e, Diag *d);

/* Everything one training run needs.  rt_train_config_default fills MASE's defaults. */
typedef struct RtTrainConfig {
  const Graph *fwd;          /* the model after `shape` (the ref engine evaluates it) */
  const Graph *train;        /* the same model after `shape,grad` */
  const char *model_path;    /* for the manifest */
  uint64_t model_hash;       /* rt_hash64 of the model file's bytes */
  RtDataOpts data;           /* where the data comes from (ignored when dataset is set) */
  const RtDataset *dataset;  /* already loaded data, or NULL to load with `data` */
  int64_t batch_size;        /* rows per step (256) */
  int64_t max_epochs;        /* epochs in all, counting those of a resumed run (10) */
  OptimConfig optim;         /* adam, lr 1e-3, weight decay 0 */
  SchedConfig sched;         /* cosine, T_max = max_epochs, eta_min 1e-6 */
  uint64_t seed;             /* init, shuffling, dropout (0) */
  RtEngineKind engine;       /* auto: jit when it compiles the model, else ref */
  RtDeviceKind device;       /* cpu (default), or cuda: the GPU engine (engine must be auto) */
  const char *out_dir;       /* run directory; NULL: runs/<model>-<seed>-<YYYYmmdd-HHMMSS> */
  const char *resume_dir;    /* continue the run in this directory (out_dir must be NULL) */
  bool force;                /* resume even when the settings differ from the run's manifest */
  const char *init_ckpt;     /* start from these weights (a safetensors state_dict), not from the seed's */
  const char *passes;        /* the transforms applied to the model (--passes), for the manifest; NULL: none */
  const char *config_path;   /* the config file they came from (--config), for the manifest; NULL: none */
  int argc;                  /* the command line, for the manifest (argc 0: none) */
  char *const *argv;
  FILE *log;                 /* run output (the data line, engine, epoch lines); NULL: none */
  bool quiet;                /* only the data line and the summary, no epoch lines */
  bool progress;             /* a progress bar on stderr during each epoch */
  RtKernelSet *kernels;      /* jit: borrow compiled kernels from here (NULL: compile our own) */
  RtEpochHook on_epoch;      /* called after every epoch (NULL: none) */
  void *on_epoch_ud;
  const char *kernel_cache;  /* the jscc cache directory (ir_cache_dir) that keeps compiled kernels
                                (CPU objects, CUDA PTX); NULL: compile every time */
  const CgTuning *tuning;    /* how the CPU kernels are built (--vec, --llvm-*); NULL: the defaults */
  CgCompileHook on_compile;  /* jit: called before a step's kernel compiles, with the expected time
                                (NULL: none); jscc train says so on stderr when it is long */
  void *on_compile_ud;
} RtTrainConfig;
void rt_train_config_default(RtTrainConfig *c);

/* What a finished run reports. */
typedef struct RtTrainResult {
  char out_dir[1024];        /* the run directory used */
  RtEngineKind engine;       /* the engine that ran (jit, ref or cuda) */
  int64_t epochs;            /* epochs completed in all (resumed ones included) */
  int64_t steps;             /* optimizer steps in all */
  double train_loss, train_acc, val_loss, val_acc; /* the last epoch's (NaN when none ran) */
  double best_val_loss;      /* the monitor of best.safetensors */
  double best_val_acc;       /* the validation accuracy of that epoch (NaN if unknown) */
  int64_t best_epoch;        /* its epoch, 1-based (0: none) */
  bool diverged;             /* stopped at a non-finite loss or weight: nothing of that epoch was kept */
  int64_t diverged_epoch;    /* that epoch, 1-based */
  double mean_epoch_seconds; /* over the epochs this call ran (NaN when none) */
  double samples_per_second; /* training rows per second of training time, over those epochs */
  int64_t trainable_params;  /* elements of the trainable parameters */
  int64_t ran_epochs;        /* epochs this call ran (a resumed run's earlier ones not counted) */
  double train_seconds_sum;  /* their seconds in the training loop */
} RtTrainResult;
/* rt_train returns JS_OK for a run that diverged: res->diverged says so, and the caller
 * decides (jscc train exits 1, a sweep records the trial as diverged and goes on). */
Status rt_train(const RtTrainConfig *c, RtTrainResult *res, Diag *d);

/* Runs side by side on one GPU (--device=cuda): one launch trains every run's epoch, one
 * launch validates them all, one thread block per run (runtime/device.h's groups).  Each run
 * writes its own run directory exactly as rt_train would (the same metrics, checkpoints and
 * hooks).  The runs must share the model graphs, batch size, epochs, optimizer (its learning
 * rate aside), schedule and a loaded dataset (c->dataset), and start afresh; learning rate and
 * seed differ.  res[i], run_st[i] and run_d[i] are run i's result, status and diagnostics: a
 * run that fails or diverges stops alone (its block keeps computing, unread).  The Status is
 * the group's own (the device, a launch): then every unfinished run stops with it. */
Status rt_train_group(const RtTrainConfig *cs, int n, RtTrainResult *res, Status *run_st, Diag *const *run_d, Diag *d);
/* Whether a and b may train in one group (the conditions above; both on the device). */
bool rt_train_groupable(const RtTrainConfig *a, const RtTrainConfig *b);

/* The jit's fusion plans (plan) and optimised LLVM modules (llvm), and the CUDA C of the
 * device's plans (cuda), for c, training step then evaluation step, appended to out (jscc
 * train --dump-plan / --dump-llvm / --dump-cuda).  Rendering CUDA C needs no GPU. */
Status rt_train_dump(const RtTrainConfig *c, bool plan, bool llvm, bool cuda, StrBuf *out, Diag *d);

/* The split a checkpoint is evaluated on (jscc test --split). */
typedef enum RtSplitKind { RT_SPLIT_TEST, RT_SPLIT_VAL } RtSplitKind;
const char *rt_split_name(RtSplitKind k);                 /* "test", "val" */
bool rt_split_parse(const char *s, RtSplitKind *out);

/* Evaluation of a checkpoint on the test split (or the validation split). */
typedef struct RtTestConfig {
  const Graph *fwd;          /* the model after `shape` */
  const Graph *train;        /* after `shape,grad` (the jit's evaluation plan); NULL: use fwd */
  const char *ckpt;          /* a safetensors state_dict */
  RtDataOpts data;
  const RtDataset *dataset;  /* or NULL */
  int64_t batch_size;
  RtEngineKind engine;
  RtDeviceKind device;       /* cpu (default) or cuda (engine must be auto) */
  FILE *log;                 /* the data and engine lines; NULL: none */
  RtKernelSet *kernels;      /* jit: borrow the evaluation kernel from here (NULL: compile it) */
  const char *kernel_cache;  /* as RtTrainConfig's */
  const CgTuning *tuning;    /* as RtTrainConfig's */
  RtSplitKind split;         /* test (default) or val */
} RtTestConfig;
void rt_test_config_default(RtTestConfig *c);

/* Loss, micro accuracy and the confusion matrix of one split. */
typedef struct RtEvalResult {
  int64_t n;                                   /* rows */
  double loss;                                 /* mean cross-entropy over rows */
  double acc;                                  /* correct / rows */
  int64_t confusion[RT_JSC_CLASSES][RT_JSC_CLASSES]; /* [true class][predicted class] */
  RtEngineKind engine;                         /* the engine that ran */
  RtSplitKind split;                           /* the split it ran on */
} RtEvalResult;
Status rt_test(const RtTestConfig *c, RtEvalResult *res, Diag *d);
/* A classifier's last op as the loss sees it: a warning for softmax or log_softmax (a double
 * softmax: cross_entropy applies log_softmax itself), a note for relu (logits that cannot go
 * negative), located where the model applies it.  rt_train calls it once per run; callers of
 * rt_test call it once per evaluation they report (jscc test). */
void rt_check_logits(const Graph *fwd, Diag *d);
/* Macro accuracy as torchmetrics' MulticlassAccuracy(average="macro") gives it: the mean of
 * the per-class recalls over the classes that occur (in the targets or the predictions). */
double rt_eval_macro_acc(const RtEvalResult *r);
/* The report jscc test prints: loss, micro and macro accuracy, per-class accuracy, the
 * confusion matrix (test/golden/eval.report). */
void rt_eval_report(StrBuf *sb, const RtEvalResult *r);
/* The same as one JSON object, naming the checkpoint (jscc test --json, a run's test.json;
 * test/golden/eval.json). */
void rt_eval_json(StrBuf *sb, const RtEvalResult *r, const char *ckpt);

#endif
