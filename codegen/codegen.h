/* codegen/codegen.h — the code generation layer's table of contents.
 *
 * Three steps, as in tinygrad: lower (plan.c: a training or evaluation graph becomes a fusion
 * plan of row stages and point stages), render (llvm.c: the plan becomes an LLVM module; a
 * CUDA C renderer reuses the same plan), compile and run (llvm.c: ORC LLJIT).
 *
 * One step of the plan handles one mini-batch.  The batch lives feature-major
 * (x[f * bpad + i]), so one vector register holds one feature of `vec` consecutive rows and
 * every per-row operation is a vector operation over rows.  Only the row count n (<= batch)
 * is known at run time: every other size is a constant in the generated code.
 *
 * codegen reads the IR and never the runtime: parameters are addressed by the offsets the
 * caller gives (the runtime's RtState layout), and the optimizer by CgOptim.
 *
 * The layer's files and where each is declared:
 *   plan.c (plan.h)            the fusion plan                          below
 *   llvm.c, kcache.c           the CPU renderer, JIT and kernel cache   below, llvm_jit.h, kcache.h
 *   cuda.c, nvrtc.c, cudadrv.c the GPU renderer, NVRTC, the driver      cuda.h
 *   intprog.c, intllvm.c       integer-only inference: the program      intprog.h
 *   verilog.c, cemit.c         hardware: Verilog-2005 and bit-accurate C hdl.h
 *   hwcost.c                   the analytic LUT/FF/DSP/carry estimate   hdl.h */
#ifndef JSCC_CODEGEN_H
#define JSCC_CODEGEN_H

#include "ir.h"

/* ==== plan.c: lowering a graph to a fusion plan ==== */

typedef enum CgOptimKind { CG_ADAM, CG_ADAMW, CG_SGD } CgOptimKind;

/* The optimizer fused into the training step (PyTorch 1.13 single-tensor semantics). */
typedef struct CgOptim {
  CgOptimKind kind;
  double beta1, beta2, eps;  /* Adam, AdamW */
  double weight_decay;       /* Adam, SGD: L2 on the gradient; AdamW: decoupled */
  double momentum, dampening;/* SGD */
  bool nesterov;             /* SGD */
} CgOptim;

/* How the CPU kernels are built, for measurements and for tests that pin the generated code
 * on any machine: the command line's --vec, --llvm-passes, --llvm-codegen-level and
 * --llvm-timing.  A NULL CgOptions.tuning is CG_TUNING_DEFAULT. */
typedef struct CgTuning {
  int vec;                   /* rows per vector, 4, 8 or 16, where CgOptions.vec leaves it open;
                                0: the host's widest (cg_host_vec) */
  const char *llvm_passes;   /* the IR pipeline (a new-pass-manager string); NULL: the default */
  int llvm_codegen_level;    /* LLVM's machine code generation level 0-3; -1: the default (2) */
  bool llvm_timing;          /* print each compile's phases (render, passes, JIT, machine code)
                                on stderr */
} CgTuning;
#define CG_TUNING_DEFAULT ((CgTuning){.vec = 0, .llvm_passes = NULL, .llvm_codegen_level = -1, .llvm_timing = false})
/* What cg_llvm_compile is about to compile, told before the compile starts (not on a kernel
 * cache hit) so that a caller can tell its user about a long one: codegen never prints. */
typedef struct CgCompileEstimate {
  bool train;                /* the training step, else the evaluation step */
  size_t ir_instructions;    /* LLVM instructions of the rendered module */
  double expect_ms;          /* the compile time to expect, from the instructions at the rate of a
                                2020s desktop core (cg_llvm_expect_ms); a busy machine takes longer */
} CgCompileEstimate;
typedef void (*CgCompileHook)(void *ud, const CgCompileEstimate *e);

typedef struct CgOptions {
  int64_t batch;             /* rows per step (the last step of an epoch may have fewer) */
  int vec;                   /* rows per vector; 0: the host's widest (16 with AVX-512, else 8) */
  const size_t *param_off;   /* [g->nparams] f32 element offset of each parameter and buffer in the
                                caller's flat buffer ((size_t)-1 for i64 buffers) */
  CgOptim optim;             /* for training plans */
  bool train;                /* a training step (graph from `grad`), else an evaluation step */
  bool want_logits;          /* also store the logits (CgArgs.logits) */
  const Node *const *observe; /* evaluation plans: nodes whose [batch, n] values the step also
                                 stores to scratch, feature-major (cg_plan_observed) */
  int nobserve;
  const char *kernel_cache;  /* the jscc cache directory (ir_cache_dir): compiled kernels are kept
                                under kernels/ (CPU) and cuda/ (PTX); NULL: no disk cache.  Not
                                copied: it must outlive the plan */
  const CgTuning *tuning;    /* NULL: CG_TUNING_DEFAULT.  Not copied: it must outlive the plan */
  CgCompileHook on_compile;  /* called before compiling (NULL: none); not part of the kernel */
  void *on_compile_ud;
} CgOptions;

typedef struct CgPlan CgPlan;  /* opaque; see plan.c */
/* Lower g.  A training plan needs a graph from the `grad` pass; an evaluation plan takes a
 * forward graph or a training graph (its forward part).  Unsupported graphs (an op the
 * kernels do not cover, a tensor that is not [batch, features]) fail with a message naming
 * the node; the reference executor (runtime/interp.c) still runs them. */
Status cg_plan_build(const Graph *g, const CgOptions *o, CgPlan **out, Diag *d);
void cg_plan_free(CgPlan *p);
void cg_plan_print(StrBuf *sb, const CgPlan *p);  /* the plan, for people (--dump-plan) */
int cg_plan_passes(const CgPlan *p);              /* row stages: passes over the batch */
int64_t cg_plan_flops_per_row(const CgPlan *p);   /* arithmetic per row, for GFLOP/s */
size_t cg_plan_scratch_floats(const CgPlan *p);   /* scratch the caller provides */
int64_t cg_plan_bpad(const CgPlan *p);            /* batch rounded up to the vector width */
int cg_plan_features(const CgPlan *p);            /* input features */
int cg_plan_classes(const CgPlan *p);             /* logits per row */
/* Where observed node k's values are after a step: scratch[off + j * bpad + row] for feature j
 * < *n; *off -1 for the input itself (CgArgs.x).  False for k out of range. */
bool cg_plan_observed(const CgPlan *p, int k, int64_t *off, int *n);

/* The arguments of one step, all 8 bytes wide (the generated code loads field k at 8*k). */
typedef struct CgArgs {
  float *params;             /* the flat parameter/buffer array (updated in place) */
  float *grads;              /* same layout: the step's gradients */
  const float *x;            /* [features][bpad] the batch, feature-major; rows >= n zero */
  const int32_t *y;          /* [bpad] class indices (rows >= n: 0) */
  const float *valid;        /* [bpad] 1 for rows < n, else 0 */
  float *scratch;            /* [cg_plan_scratch_floats] 64-byte aligned */
  float *opt_m;              /* optimizer state, same layout as params (Adam exp_avg, SGD momentum) */
  float *opt_v;              /* Adam exp_avg_sq */
  int64_t *i64;              /* [nparams] i64 buffers (num_batches_tracked) */
  float *logits;             /* [classes][bpad] when want_logits (feature-major, like x), else NULL */
  double *metrics;           /* out: [0] sum of per-row losses, [1] correct predictions */
  int64_t n;                 /* rows in this step, 1..batch */
  double lr;                 /* learning rate of this step */
  double step;               /* the optimizer's step count after this update (1 for the first) */
  uint64_t seed;             /* dropout stream (low 32 bits) */
  uint64_t dstep;            /* dropout stream: the batch number */
} CgArgs;

/* ==== llvm.c: render, compile, run (CPU); kcache.c: the compiled kernels kept on disk ==== */

typedef struct CgKernel CgKernel;  /* a JIT-compiled step */
typedef struct CgCompileInfo {
  double render_ms, compile_ms;    /* building the module; optimising + machine code */
  size_t ir_instructions;          /* LLVM instructions before optimisation */
  bool cache_hit;                  /* linked from the kernel cache: compile_ms is the key and the load */
} CgCompileInfo;
/* Render the plan as an LLVM module, optimise it for the host CPU and compile it with ORC
 * LLJIT.  With p's kernel_cache set, an object file stored by an earlier compile of the same
 * module for the same CPU and LLVM is linked instead (kcache.c), and a miss stores one; the
 * kernels are the same either way.  llvm_text, when non-NULL, receives the optimised module's
 * text (--dump-llvm; the cache is then not read).  Fails with a message when jscc was built
 * without LLVM. */
Status cg_llvm_compile(const CgPlan *p, CgKernel **out, StrBuf *llvm_text, CgCompileInfo *info, Diag *d);
/* The compile time to expect for a module of n LLVM instructions (CgCompileEstimate). */
double cg_llvm_expect_ms(size_t n);
void cg_kernel_run(const CgKernel *k, CgArgs *a);
void cg_kernel_free(CgKernel *k);
bool cg_llvm_available(void);      /* built with LLVM */
/* After compiling: give LLVM's machine code pages back to the OS (they are read-only file
 * pages and fault back in if LLVM runs again), so a long training run's resident set is its
 * data and kernels, not the compiler.  A no-op without LLVM or /proc. */
void cg_llvm_trim(void);
int cg_host_vec(void);             /* rows per vector for this CPU: 16 with AVX-512, else 8 */
const char *cg_host_cpu(void);     /* "znver4 (avx512f...)" for reports; static string */

#endif
