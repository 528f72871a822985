/* codegen/cuda.h — the GPU backend's renderer: a fusion plan (plan.h, the same one the LLVM
 * renderer takes) rendered as CUDA C for NVRTC, plus the NVRTC and CUDA driver libraries
 * opened with dlopen, so one jscc binary builds and runs where neither exists and says why
 * --device=cuda is unavailable there.  Nothing here includes a CUDA header: the few driver and
 * NVRTC types and entry points jscc uses are declared in cuda.c.
 *
 * The kernels (spec: the comment at the top of cuda.c).  These models are small (at most a
 * few thousand parameters, rows of at most a few hundred features), so a whole training
 * step is one thread block: one row per thread (rows beyond blockDim.x loop), stage
 * boundaries are __syncthreads(), accumulators are block reductions in shared memory (BatchNorm
 * sums in double), the optimizer update is the block's threads striding over the parameters.
 * One launch runs many steps (a persistent block over an epoch's batches): the data set and
 * the epoch's permutation are on the device, each step gathers its rows through the
 * permutation, and only the metrics come back.  Evaluation is the same without the update.
 *
 *   extern "C" __global__ void jscc_train(JsccDevArgs a)  (training plans)
 *   extern "C" __global__ void jscc_eval(JsccDevArgs a)   (evaluation plans)
 *
 * launched with blockDim CG_CUDA_THREADS, dynamic shared memory cg_cuda_shared_bytes(p), and
 * gridDim 1 for one trial (a is its arguments) or gridDim a.ntrials for a group of trials:
 * block b runs trial b, whose arguments are a.trials[b] (its own parameters, gradients,
 * optimizer state, scratch, row order, learning rate, seed and metrics; the data is shared).
 * A block never touches another's buffers, so a group of one model and batch size trains side
 * by side with one launch per epoch, each trial exactly as it would train alone. */
#ifndef JSCC_CODEGEN_CUDA_H
#define JSCC_CODEGEN_CUDA_H

#include "codegen.h"

#define CG_CUDA_THREADS 256 /* threads of the one block */

/* The kernels' one argument, passed by value (the layout is the same struct in the
 * generated source: every field 8 bytes wide, in this order). */
typedef struct JsccDevArgs {
  uint64_t params;     /* float*  [total] parameters and buffers, as CgArgs.params */
  uint64_t grads;      /* float*  [total] the last step's gradients */
  uint64_t opt_m;      /* float*  Adam exp_avg / SGD momentum */
  uint64_t opt_v;      /* float*  Adam exp_avg_sq */
  uint64_t i64;        /* long long* [nparams] num_batches_tracked */
  uint64_t scratch;    /* float*  [cg_plan_scratch_floats] (row buffers, stats, lanes) */
  uint64_t data_x;     /* const float* [nrows][features] the split, row-major, resident */
  uint64_t data_y;     /* const int* [nrows] labels */
  uint64_t perm;       /* const long long* [nrows] this epoch's row order (eval: identity) */
  uint64_t metrics;    /* double* [2] += sum of per-row losses, correct predictions */
  uint64_t logits;     /* float* [nrows][classes] row-major, or 0 (evaluation only) */
  int64_t first;       /* index into perm of the first row of the first step */
  int64_t nrows;       /* rows in perm from `first` this launch covers */
  int64_t batch;       /* rows per step (the last step takes the rest) */
  int64_t nsteps;      /* steps this launch runs: ceil(nrows / batch) */
  double lr;           /* learning rate (constant within a launch: the schedule is per epoch) */
  double step0;        /* the optimizer step count after the first step of the launch */
  uint64_t seed;       /* dropout stream */
  uint64_t dstep0;     /* dropout stream: the batch number of the first step */
  uint64_t trials;     /* const JsccDevArgs* [ntrials] in device memory: a group launch, block b
                          runs trials[b] (every other field here is then unused); 0: one trial */
  int64_t ntrials;     /* entries of trials: the launch's gridDim */
} JsccDevArgs;

/* Renders p as CUDA C (one translation unit, no includes).  Errors for a plan the renderer
 * cannot express name what. */
Status cg_cuda_render(const CgPlan *p, StrBuf *src, Diag *d);
size_t cg_cuda_shared_bytes(const CgPlan *p);

/* ---- NVRTC and the driver, loaded at run time ---- */

/* Compiles CUDA C to PTX with NVRTC for compute capability `arch` (90 for sm_90), with the
 * options jscc always uses; NVRTC's log is in the error.  Fails (naming the library it looked
 * for) when libnvrtc cannot be loaded. */
Status cg_nvrtc_compile(const char *src, int arch, StrBuf *ptx, Diag *d);
bool cg_nvrtc_available(char *why, size_t cap); /* why: the reason when not */

typedef struct CgCuda CgCuda;   /* a context on device 0 and the loaded modules */
/* Opens libcuda, initialises device 0 and creates a context; the error says why when there is
 * no driver or no device (CUDA's error string). */
Status cg_cuda_open(CgCuda **out, Diag *d);
void cg_cuda_close(CgCuda *c);
int cg_cuda_arch(const CgCuda *c);            /* compute capability, 90 for an H100 */
const char *cg_cuda_device_name(const CgCuda *c);

typedef struct CgCudaKernel CgCudaKernel;
/* Renders, compiles (cached by a hash of the source and options under <p's kernel_cache>/cuda),
 * loads and resolves the plan's kernel. */
Status cg_cuda_compile(CgCuda *c, const CgPlan *p, CgCudaKernel **out, double *compile_ms, Diag *d);
void cg_cuda_kernel_free(CgCudaKernel *k);
/* Device memory. */
Status cg_cuda_alloc(CgCuda *c, size_t bytes, uint64_t *dptr, Diag *d);
void cg_cuda_free(CgCuda *c, uint64_t dptr);
Status cg_cuda_upload(CgCuda *c, uint64_t dst, const void *src, size_t bytes, Diag *d);
Status cg_cuda_download(CgCuda *c, void *dst, uint64_t src, size_t bytes, Diag *d);
/* One launch of the kernel (synchronous: returns when it is done): one block, or a->ntrials
 * blocks when a->trials is set. */
Status cg_cuda_launch(CgCuda *c, const CgCudaKernel *k, const JsccDevArgs *a, Diag *d);

#endif
