/* runtime/optim.c — Adam, AdamW and SGD, and the learning-rate schedules.
 *
 * Each update is PyTorch 1.13's single-tensor implementation (torch/optim/adam.py
 * _single_tensor_adam, adamw.py _single_tensor_adamw, sgd.py _single_tensor_sgd) element by
 * element: the same operations in the same order, in float32 where PyTorch works on float32
 * tensors.  Python scalars (lr, betas, the bias corrections) are doubles, and PyTorch casts
 * a scalar to the tensor's dtype when it enters a kernel (alpha=, value=, mul_(beta)), so we
 * cast at the same points.  PyTorch's CPU kernels (AVX2 build) round a multiply-add once:
 * add(x, alpha=a) is vec::fmadd, and addcmul's self + s*t1*t2 is contracted to an FMA, so we
 * use fmaf at exactly those points; addcdiv and the denominator have a division and round
 * each step.  With that, test_optim.c's reference runs agree with PyTorch 1.13 bit for bit
 * (the test allows 1e-6 relative, for other CPUs' PyTorch builds and libm's pow). */
#include <math.h>
#include <string.h>

#include "runtime.h"

static const char *const optim_names[] = {[OPTIM_ADAM] = "adam", [OPTIM_ADAMW] = "adamw", [OPTIM_SGD] = "sgd"};
static const char *const sched_names[] = {[SCHED_CONSTANT] = "constant", [SCHED_STEP] = "step",
                                          [SCHED_COSINE] = "cosine"};

void rt_optim_default(OptimConfig *c, OptimKind kind) {
  memset(c, 0, sizeof *c);
  c->kind = kind;
  c->lr = 1e-3; /* Adam's and AdamW's default; SGD has none in PyTorch 1.13 (lr=required) */
  c->beta1 = 0.9;
  c->beta2 = 0.999;
  c->eps = 1e-8;
  c->weight_decay = kind == OPTIM_ADAMW ? 1e-2 : 0;
}

const char *rt_optim_name(OptimKind k) {
  return (unsigned)k < sizeof optim_names / sizeof *optim_names ? optim_names[k] : "?";
}

bool rt_optim_parse(const char *s, OptimKind *out) {
  for (unsigned k = 0; k < sizeof optim_names / sizeof *optim_names; k++)
    if (strcmp(s, optim_names[k]) == 0) {
      *out = (OptimKind)k;
      return true;
    }
  return false;
}

const char *rt_sched_name(SchedKind k) {
  return (unsigned)k < sizeof sched_names / sizeof *sched_names ? sched_names[k] : "?";
}

bool rt_sched_parse(const char *s, SchedKind *out) {
  for (unsigned k = 0; k < sizeof sched_names / sizeof *sched_names; k++)
    if (strcmp(s, sched_names[k]) == 0) {
      *out = (SchedKind)k;
      return true;
    }
  return false;
}

/* StepLR: base * gamma^floor(epoch / step_size).
 * CosineAnnealingLR: eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2, which
 * PyTorch's recursive form follows (periodically, past T_max too).  Degenerate settings
 * (step_size or T_max < 1, where PyTorch divides by zero) keep the base rate. */
double rt_sched_lr(const SchedConfig *s, double base_lr, int64_t epoch) {
  if (epoch < 0) epoch = 0;
  switch (s->kind) {
  case SCHED_STEP:
    if (s->step_size < 1) return base_lr;
    return base_lr * pow(s->gamma, (double)(epoch / s->step_size));
  case SCHED_COSINE:
    if (s->t_max < 1) return base_lr;
    return s->eta_min + (base_lr - s->eta_min) * (1 + cos(M_PI * (double)epoch / (double)s->t_max)) / 2;
  case SCHED_CONSTANT: break;
  }
  return base_lr;
}

Status rt_optim_state_new(OptimKind kind, size_t total, OptimState *out, Diag *d) {
  memset(out, 0, sizeof *out);
  out->kind = kind;
  out->total = total;
  size_t n = total ? total : 1;
  out->m = ir_calloc(n, sizeof(float));
  if (kind != OPTIM_SGD) out->v = ir_calloc(n, sizeof(float));
  if (!out->m || (kind != OPTIM_SGD && !out->v)) {
    rt_optim_state_free(out);
    return diag_oom(d);
  }
  return JS_OK;
}

void rt_optim_state_free(OptimState *st) {
  ir_free(st->m);
  ir_free(st->v);
  st->m = st->v = NULL;
}

/* Adam (adam.py _single_tensor_adam) and AdamW (adamw.py), per element (fma: one rounding):
 *   AdamW:  p *= 1 - lr*wd
 *   Adam:   g = fma(wd, p, g)                     (when wd != 0)
 *   m = fma(1-beta1, g, m*beta1)
 *   v = fma((1-beta2)*g, g, v*beta2)
 *   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
 *   p = p + (-lr / (1 - beta1^t)) * m / denom      (addcdiv: multiply, divide, add)
 * with the bias corrections in double (Python floats) and everything else in float. */
static void adam_step(const OptimConfig *c, OptimState *st, float *param, const float *grad,
                      const uint8_t *mask, double lr) {
  double step = (double)st->step;
  double bias_correction1 = 1 - pow(c->beta1, step);
  double bias_correction2 = 1 - pow(c->beta2, step);
  float step_size_neg = (float)-(lr / bias_correction1);
  float bc2_sqrt = (float)sqrt(bias_correction2);
  float beta1 = (float)c->beta1, beta2 = (float)c->beta2;
  float one_m_beta1 = (float)(1 - c->beta1), one_m_beta2 = (float)(1 - c->beta2);
  float eps = (float)c->eps, wd = (float)c->weight_decay;
  float decay = (float)(1 - lr * c->weight_decay);
  bool adamw = st->kind == OPTIM_ADAMW, l2 = !adamw && c->weight_decay != 0;
  bool decoupled = adamw && c->weight_decay != 0;
  float *m = st->m, *v = st->v;
  for (size_t i = 0; i < st->total; i++) {
    if (mask && !mask[i]) continue;
    float p = param[i], g = grad[i];
    if (decoupled) p = p * decay;
    if (l2) g = fmaf(wd, p, g);
    m[i] = m[i] * beta1;
    m[i] = fmaf(one_m_beta1, g, m[i]);
    v[i] = v[i] * beta2;
    v[i] = fmaf(one_m_beta2 * g, g, v[i]);
    float denom = sqrtf(v[i]) / bc2_sqrt + eps;
    param[i] = p + step_size_neg * m[i] / denom;
  }
}

/* SGD (sgd.py _single_tensor_sgd), per element (fma: one rounding):
 *   g = fma(wd, p, g)                              (when wd != 0)
 *   momentum != 0:  buf = g on the first step, else buf = fma(1-dampening, g, buf*momentum)
 *                   g = nesterov ? fma(momentum, buf, g) : buf
 *   p = fma(-lr, g, p) */
static void sgd_step(const OptimConfig *c, OptimState *st, float *param, const float *grad,
                     const uint8_t *mask, double lr) {
  bool first = st->step == 1;
  float wd = (float)c->weight_decay, mom = (float)c->momentum;
  float one_m_damp = (float)(1 - c->dampening), neg_lr = (float)-lr;
  bool use_wd = c->weight_decay != 0, use_mom = c->momentum != 0;
  float *buf = st->m;
  for (size_t i = 0; i < st->total; i++) {
    if (mask && !mask[i]) continue;
    float p = param[i], g = grad[i];
    if (use_wd) g = fmaf(wd, p, g);
    if (use_mom) {
      if (first) {
        buf[i] = g;
      } else {
        buf[i] = buf[i] * mom;
        buf[i] = fmaf(one_m_damp, g, buf[i]);
      }
      g = c->nesterov ? fmaf(mom, buf[i], g) : buf[i];
    }
    param[i] = fmaf(neg_lr, g, p);
  }
}

void rt_optim_step(const OptimConfig *c, OptimState *st, float *param, const float *grad,
                   const uint8_t *mask, double lr) {
  st->step++;
  if (st->kind == OPTIM_SGD)
    sgd_step(c, st, param, grad, mask, lr);
  else
    adam_step(c, st, param, grad, mask, lr);
}
