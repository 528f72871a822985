/* runtime/runtime.h — the runtime layer's table of contents.
 *
 * Tensors of parameters and their state, data sets, the plain C reference executor, the
 * optimizers and learning-rate schedules, safetensors checkpoints and the training and
 * evaluation loops.  The runtime consumes a verified, shaped Graph (ir/ir.h) and, for the
 * fast path, the kernels codegen/ JIT-compiles; it never parses model text itself.
 *
 * Every function that can fail returns a Status and reports through a Diag; none exits.
 * All memory goes through ir_malloc/ir_free (the one allocation hook).
 *
 * Prototypes are grouped under the name of the .c file that defines them.  The layer's files
 * and where each is declared:
 *   rng.c                      deterministic random numbers             below
 *   state.c                    parameters, buffers and gradients        below
 *   data.c, synth.c, hdf5.c    the JSC data set: loaders, the synthetic data.h
 *                              stand-in, the HDF5 reader
 *   optim.c                    optimizers and learning-rate schedules   optim.h
 *   ckpt.c, ckptq.c            safetensors checkpoints; the quantized   ckpt.h
 *                              checkpoint of jscc transform
 *   interp.c                   the plain C reference executor           interp.h
 *   device.c                   the GPU engine                           device.h
 *   kernels.c, train.c         compiled kernels by graph; training and  train.h
 *                              evaluation loops
 *   rundir.c                   a training run's directory (train.c's)   rundir.h (not here)
 *   sample.c                   the runtime's side of PassData           sample.h
 *   intexec.c                  integer-only inference                   intexec.h
 */
#ifndef JSCC_RUNTIME_H
#define JSCC_RUNTIME_H

#include "ir.h"
#include "codegen.h"

/* ==== rng.c: deterministic random numbers ==== */

/* xoshiro256** seeded through splitmix64: the same seed gives the same stream on every
 * machine.  Used for initialisation, synthetic data, shuffling and splits. */
typedef struct Rng {
  uint64_t s[4];      /* generator state */
  bool have_normal;   /* a second Box-Muller normal is cached */
  double normal;      /* the cached normal */
} Rng;
void rt_rng_seed(Rng *r, uint64_t seed);
uint64_t rt_rng_u64(Rng *r);
double rt_rng_uniform(Rng *r);               /* [0, 1), 53 random bits */
double rt_rng_normal(Rng *r);                /* N(0, 1) */
uint64_t rt_rng_below(Rng *r, uint64_t n);   /* uniform in [0, n), unbiased; n > 0 */
void rt_rng_permutation(Rng *r, int64_t *idx, int64_t n); /* idx = a random permutation of 0..n-1 */

/* Counter-based hash for dropout masks: a pure function of its inputs, so the reference
 * executor, the CPU JIT and the GPU kernels draw the same mask for the same
 * (seed, step, node, element).  lowbias32 applied three times. */
static inline uint32_t rt_hash32(uint32_t x) {
  x ^= x >> 16; x *= 0x7feb352dU; x ^= x >> 15; x *= 0x846ca68bU; x ^= x >> 16;
  return x;
}
static inline uint32_t rt_dropout_bits(uint32_t seed, uint32_t step, uint32_t node, uint32_t elem) {
  return rt_hash32(rt_hash32(rt_hash32(seed ^ (node * 0x9E3779B9U)) ^ step) ^ elem);
}
/* Keep the element when its 24-bit uniform is at least p (PyTorch keeps with probability 1-p). */
static inline bool rt_dropout_keep(uint32_t bits, float p) {
  return (float)(bits >> 8) * (1.0f / 16777216.0f) >= p;
}

/* ==== state.c: a model's parameters, buffers and gradients ==== */

/* Every f32 parameter and buffer of a graph in one buffer, in state_dict order, with the
 * gradients in a second buffer of the same layout (STYLE.md 5).  i64 buffers
 * (num_batches_tracked) live in `i64`, indexed like the graph's params. */
typedef struct RtState {
  const Graph *g;     /* the model; its params[] give names, kinds, shapes */
  int n;              /* g->nparams */
  size_t *off;        /* [n] element offset of each f32 tensor in data/grad; (size_t)-1 for i64 */
  size_t *numel;      /* [n] elements of each tensor */
  float *data;        /* [total] values, 64-byte aligned */
  float *grad;        /* [total] gradients (zero for buffers), 64-byte aligned */
  size_t total;       /* f32 elements in data */
  int64_t *i64;       /* [n] value of each i64 scalar buffer (0 for others) */
} RtState;
Status rt_state_new(const Graph *g, RtState **out, Diag *d);
void rt_state_free(RtState *s);
/* PyTorch's default initialisation from each Param's Init (ir/inits.def), drawn from rng in
 * state_dict order; gradients are zeroed. */
void rt_state_init(RtState *s, Rng *rng);
float *rt_state_tensor(const RtState *s, const char *qualname); /* NULL if absent or i64 */
Status rt_state_copy(RtState *dst, const RtState *src);           /* same graph layout */
int rt_state_index(const RtState *s, const char *qualname);      /* index into g->params; -1 */
/* mask[total]: 1 for the elements of trainable parameters (PK_PARAM), 0 for buffers. */
void rt_state_trainable_mask(const RtState *s, uint8_t *mask);

/* ==== evaluate.c: the forward pass the evaluating commands (test, diff) run ==== */

/* Makes output `want` (a returned node's name, or a dict key) g's only output and removes
 * what only the others needed (dce).  want NULL: the first; a model with several outputs
 * then writes a one-line note to log (NULL: none) naming them and --output.  An unknown
 * name is an error that lists the outputs. */
Status rt_select_output(Graph *g, const char *want, FILE *log, Diag *d);
/* The JIT's evaluation kernel (fake quantization in float32) on rows x [rows][features]:
 * logits into z [rows][classes].  When the JIT cannot take g (no LLVM, an op it does not
 * lower) returns non-zero with the first line of the reason in why[cap]. */
Status rt_jit_eval_logits(const Graph *g, RtState *s, const float *x, int64_t rows, float *z, char *why, size_t cap);

#include "data.h"
#include "optim.h"
#include "ckpt.h"
#include "interp.h"
#include "device.h"
#include "train.h"
#include "sample.h"
#include "intexec.h"

#endif
