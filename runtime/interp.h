/* runtime/interp.h — the plain C reference executor (included by runtime.h; interp.c).
 *
 * Runs a shaped graph node by node with one plain loop nest per operator, forward and
 * backward, computing in double precision so that it is the yardstick the JIT kernels
 * (codegen/) and PyTorch are compared against, and finite differences are meaningful.
 * Row-major tensors; symbolic dims are bound from the inputs.
 *
 * Mode is PyTorch's module.training: RT_TRAIN runs BatchNorm1d on batch statistics and
 * updates its running_mean, running_var (unbiased) and num_batches_tracked in the RtState,
 * and applies Dropout modules with the seeded mask of rt_dropout_bits(seed, step,
 * hash of the dropout node's name, flat element index).  RT_EVAL uses the running
 * statistics and makes Dropout modules the identity.  A training graph (after the `grad`
 * pass) writes its gradients into RtState.grad; it is meant for RT_TRAIN (its BatchNorm
 * backward ops are the derivatives of training-mode BatchNorm whatever the mode).
 * The exact semantics of every operator, which the JIT reproduces, are written at the top
 * of interp.c. */
#ifndef JSCC_RUNTIME_INTERP_H
#define JSCC_RUNTIME_INTERP_H

typedef enum RtMode { RT_EVAL, RT_TRAIN } RtMode;

/* A concrete tensor (every dim known), f32 or i64 storage, row-major. */
typedef struct RtTensor {
  DType dtype;             /* DT_F32 or DT_I64 (others are converted by the caller) */
  int rank;
  int64_t dims[IR_MAX_RANK];
  float *f;                /* DT_F32 data */
  int64_t *i;              /* DT_I64 data */
} RtTensor;

typedef struct RtRunOpts {
  RtMode mode;
  uint32_t seed;           /* dropout stream */
  uint32_t step;           /* dropout stream: the optimizer step (batch) number */
  /* Called with each non-placeholder node's result as soon as it is computed (row-major
   * doubles, n elements, dims as RtTensor); a non-OK status stops the run with that status. */
  Status (*observe)(void *ud, const Node *node, const double *vals, int64_t n, int rank, const int64_t *dims);
  void *observe_ud;
  bool no_quant;           /* run quantized nodes as float (their configs ignored) */
} RtRunOpts;

/* What a run returns.  logits: the forward graph's output, or the 'logits' entry of a
 * training graph's output dict (owned; free with rt_interp_out_free).  loss: the 'loss'
 * entry when the graph has one. */
typedef struct RtInterpOut {
  RtTensor logits;
  bool has_loss;
  double loss;
} RtInterpOut;

/* Run g once (g shaped: the `shape` or `grad` pass has run).  inputs[i] binds the
 * placeholder named names[i]; every placeholder must be bound, f32/f64 ones with DT_F32
 * tensors, integer and bool ones with DT_I64 (a training graph's 'target' holds class
 * indices).  s holds every parameter of g by qualified name (it may have been made from
 * another Graph of the same model).  o NULL: RT_EVAL, seed 0, step 0.  out may be NULL.
 * Gradients of a training graph overwrite s->grad (zero for parameters the graph gives no
 * gradient); RT_TRAIN updates BatchNorm running stats in s as each module runs, so a run
 * that fails midway may have updated some.  Errors (bad inputs, out-of-range targets, a
 * state that does not fit) are reported naming the input or node: JS_ERR; allocation
 * failure: JS_ENOMEM; *out is empty then. */
Status rt_interp_run(const Graph *g, RtState *s, const RtRunOpts *o, int ninputs, const char *const *names,
                     const RtTensor *inputs, RtInterpOut *out, Diag *d);
void rt_interp_out_free(RtInterpOut *out);

#endif
