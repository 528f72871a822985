/* runtime/optim.h — optimizers and learning-rate schedules (included by runtime.h;
 * implemented in optim.c).  The plain C reference of the update the JIT fuses into its
 * training step: same math, same order of operations, as PyTorch 1.13's single-tensor
 * (foreach=False) implementations. */
#ifndef JSCC_RUNTIME_OPTIM_H
#define JSCC_RUNTIME_OPTIM_H

typedef enum OptimKind { OPTIM_ADAM, OPTIM_ADAMW, OPTIM_SGD } OptimKind;
typedef enum SchedKind { SCHED_CONSTANT, SCHED_STEP, SCHED_COSINE } SchedKind;

typedef struct OptimConfig {
  OptimKind kind;
  double lr;            /* base learning rate */
  double beta1, beta2;  /* Adam/AdamW (0.9, 0.999) */
  double eps;           /* Adam/AdamW (1e-8) */
  double weight_decay;  /* Adam: L2 added to the gradient; AdamW: decoupled; SGD: L2 */
  double momentum;      /* SGD */
  double dampening;     /* SGD */
  bool nesterov;        /* SGD */
} OptimConfig;
/* PyTorch's defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0 (AdamW: 1e-2),
 * momentum, dampening 0, nesterov off (SGD's lr has no default in PyTorch; 1e-3 here). */
void rt_optim_default(OptimConfig *c, OptimKind kind);
const char *rt_optim_name(OptimKind k);                /* "adam" */
bool rt_optim_parse(const char *s, OptimKind *out);

typedef struct SchedConfig {
  SchedKind kind;
  int64_t step_size;    /* step: epochs between decays */
  double gamma;         /* step: decay factor (0.1) */
  int64_t t_max;        /* cosine: period in epochs (MASE: max_epochs) */
  double eta_min;       /* cosine: floor (MASE: 1e-6) */
} SchedConfig;
const char *rt_sched_name(SchedKind k);
bool rt_sched_parse(const char *s, SchedKind *out);
/* The learning rate for `epoch` (0-based), as PyTorch's scheduler stepped once per epoch gives
 * it (CosineAnnealingLR's closed form). */
double rt_sched_lr(const SchedConfig *s, double base_lr, int64_t epoch);

/* Optimizer state over a flat parameter buffer: exp_avg / exp_avg_sq (Adam, AdamW) or
 * momentum_buffer (SGD), each [total], plus the step count. */
typedef struct OptimState {
  OptimKind kind;
  size_t total;
  float *m;             /* exp_avg or momentum_buffer */
  float *v;             /* exp_avg_sq (NULL for SGD) */
  int64_t step;         /* updates done */
} OptimState;
Status rt_optim_state_new(OptimKind kind, size_t total, OptimState *out, Diag *d); /* zeroed */
void rt_optim_state_free(OptimState *st); /* frees m and v; safe to call twice */
/* One update of param[i] for every i with mask[i] (trainable elements; mask NULL: every
 * element; rt_state_trainable_mask builds it), with grad[i] and the learning rate lr (from the
 * schedule).  Increments st->step first, as PyTorch does; SGD's first step (st->step becomes
 * 1) sets the momentum buffer to the gradient.  Masked-out elements keep their state. */
void rt_optim_step(const OptimConfig *c, OptimState *st, float *param, const float *grad,
                   const uint8_t *mask, double lr);

#endif
