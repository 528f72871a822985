/* runtime/device.c — the GPU engine: the training and evaluation plans compiled for the
 * device (codegen/cuda.h), the data and the model resident in device memory, one launch per
 * training epoch and one per evaluated split.
 *
 * Transfers per epoch: the row order (8 bytes a row), the metrics (16 bytes), then the
 * parameters, buffers and optimizer state for the checkpoints (a few kilobytes for these
 * models).  The splits go up once, the first time each is used. */
#include <stdlib.h>
#include <string.h>

#include "cuda.h"
#include "runtime.h"

#define MAX_SPLITS 4 /* train, val, test, and one more before the oldest is dropped */

/* A split resident on the device. */
typedef struct DevSplit {
  const float *hx;           /* the host split it came from (the key) */
  const int32_t *hy;
  int64_t n;
  uint64_t x, y;             /* device: [n][16] floats, [n] int32 */
} DevSplit;

struct RtDev {
  CgCuda *cu;
  CgPlan *tplan, *eplan;     /* training (NULL: evaluation only) and evaluation plans */
  CgCudaKernel *tk, *ek;
  double compile_ms;         /* rendering, compiling and loading both kernels */
  int64_t batch;
  uint64_t seed;
  int features, classes;
  size_t total;              /* f32 elements of the model */
  int nparams;               /* i64 buffer entries */
  bool has_v;                /* the optimizer has a second moment (Adam, AdamW) */
  /* device buffers (0: none) */
  uint64_t params, grads, opt_m, opt_v, i64, scratch, metrics;
  uint64_t perm;             /* [perm_cap] int64: the epoch's order */
  int64_t perm_cap;
  uint64_t ident;            /* [ident_n] int64: 0, 1, 2, ... (evaluation's order, any split) */
  int64_t ident_n;
  uint64_t logits;           /* [logits_cap][classes] */
  int64_t logits_cap;
  float *host_logits;        /* [host_cap][classes] */
  int64_t host_cap;
  DevSplit splits[MAX_SPLITS];
  int nsplits;
  bool params_up, opt_up;    /* the host's values have been uploaded */
};

static const char *const device_names[] = {[RT_DEVICE_CPU] = "cpu", [RT_DEVICE_CUDA] = "cuda"};

const char *rt_device_name(RtDeviceKind k) {
  return (unsigned)k < sizeof device_names / sizeof *device_names ? device_names[k] : "?";
}

bool rt_device_parse(const char *s, RtDeviceKind *out) {
  for (unsigned k = 0; k < sizeof device_names / sizeof *device_names; k++)
    if (strcmp(s, device_names[k]) == 0) {
      *out = (RtDeviceKind)k;
      return true;
    }
  return false;
}

/* The plan's vector width means nothing to a GPU block (one row per thread); a fixed one
 * makes the device plans, and --dump-cuda, the same on every host (16, as the CUDA goldens of
 * test/codegen/test_cuda.c, so that --dump-cuda of an example prints its golden file). */
CgOptions rt_dev_plan_options(const RtState *s, int64_t batch, bool train) {
  return (CgOptions){.batch = batch, .vec = 16, .param_off = s->off, .train = train, .want_logits = !train};
}

static CgOptim optim_of(const OptimConfig *c) {
  CgOptimKind k = c->kind == OPTIM_ADAM ? CG_ADAM : c->kind == OPTIM_ADAMW ? CG_ADAMW : CG_SGD;
  return (CgOptim){.kind = k, .beta1 = c->beta1, .beta2 = c->beta2, .eps = c->eps,
                   .weight_decay = c->weight_decay, .momentum = c->momentum, .dampening = c->dampening,
                   .nesterov = c->nesterov};
}

/* The first line of a collected message, without its "error: " prefix. */
static void first_line(const Diag *probe, char *buf, size_t cap) {
  const char *msg = sb_str(&probe->text), *p = strstr(msg, "error: ");
  if (p) msg = p + 7;
  size_t len = strcspn(msg, "\n");
  if (len >= cap) len = cap - 1;
  memcpy(buf, msg, len);
  buf[len] = 0;
}

static Status dev_alloc(RtDev *v, size_t bytes, uint64_t *p, Diag *d) { return cg_cuda_alloc(v->cu, bytes, p, d); }

/* A device buffer of `bytes` zero bytes. */
static Status dev_zeros(RtDev *v, size_t bytes, uint64_t *p, Diag *d) {
  Status st = dev_alloc(v, bytes, p, d);
  if (st || !bytes) return st;
  void *z = ir_calloc(1, bytes);
  if (!z) return diag_oom(d);
  st = cg_cuda_upload(v->cu, *p, z, bytes, d);
  ir_free(z);
  return st;
}

Status rt_dev_open(const RtDevConfig *c, RtDev **out, Diag *d) {
  *out = NULL;
  RtDev *v = ir_calloc(1, sizeof *v);
  if (!v) return diag_oom(d);
  v->batch = c->batch;
  v->seed = c->seed;
  v->total = c->s->total;
  v->nparams = c->s->n;
  v->has_v = c->oc && c->oc->kind != OPTIM_SGD;

  /* The driver, then NVRTC: either missing is "unavailable", with the reason. */
  Diag probe;
  diag_init(&probe, NULL);
  Status st = cg_cuda_open(&v->cu, &probe);
  char why[1100];
  if (st == JS_ENOMEM) {
    diag_free(&probe);
    rt_dev_close(v);
    return diag_oom(d);
  }
  if (st) {
    first_line(&probe, why, sizeof why);
    diag_free(&probe);
    rt_dev_close(v);
    return diag_error(d, (SrcLoc){0}, "--device=cuda: unavailable: %s", why);
  }
  diag_free(&probe);
  if (!cg_nvrtc_available(why, sizeof why)) {
    rt_dev_close(v);
    return diag_error(d, (SrcLoc){0}, "--device=cuda: unavailable: %s", why);
  }

  if (c->train && c->oc) {
    CgOptions o = rt_dev_plan_options(c->s, c->batch, true);
    o.optim = optim_of(c->oc);
    o.kernel_cache = c->kernel_cache;
    double ms = 0;
    if ((st = cg_plan_build(c->train, &o, &v->tplan, d)) || (st = cg_cuda_compile(v->cu, v->tplan, &v->tk, &ms, d)))
      goto fail;
    v->compile_ms += ms;
  }
  CgOptions o = rt_dev_plan_options(c->s, c->batch, false);
  if (c->oc) o.optim = optim_of(c->oc);
  o.kernel_cache = c->kernel_cache;
  double ms = 0;
  if ((st = cg_plan_build(c->eval, &o, &v->eplan, d)) || (st = cg_cuda_compile(v->cu, v->eplan, &v->ek, &ms, d)))
    goto fail;
  v->compile_ms += ms;
  v->features = cg_plan_features(v->eplan);
  v->classes = cg_plan_classes(v->eplan);
  if (v->features != RT_JSC_FEATURES || v->classes != RT_JSC_CLASSES) {
    st = diag_error(d, (SrcLoc){0}, "model %s: the device kernels take %d features to %d classes, not %d to %d",
                    c->eval->name, RT_JSC_FEATURES, RT_JSC_CLASSES, v->features, v->classes);
    goto fail;
  }

  size_t scratch = cg_plan_scratch_floats(v->eplan);
  if (v->tplan && cg_plan_scratch_floats(v->tplan) > scratch) scratch = cg_plan_scratch_floats(v->tplan);
  size_t fb = v->total * sizeof(float);
  if ((st = dev_alloc(v, fb, &v->params, d)) || (st = dev_zeros(v, scratch * sizeof(float), &v->scratch, d)) ||
      (st = dev_zeros(v, (size_t)(v->nparams ? v->nparams : 1) * sizeof(int64_t), &v->i64, d)) ||
      (st = dev_alloc(v, 2 * sizeof(double), &v->metrics, d)))
    goto fail;
  if (v->tplan) {
    if ((st = dev_zeros(v, fb, &v->grads, d)) || (st = dev_zeros(v, fb, &v->opt_m, d)) ||
        (v->has_v && (st = dev_zeros(v, fb, &v->opt_v, d))))
      goto fail;
  }
  *out = v;
  return JS_OK;

fail:
  rt_dev_close(v);
  return st;
}

void rt_dev_close(RtDev *v) {
  if (!v) return;
  if (v->cu) {
    uint64_t bufs[] = {v->params,  v->grads, v->opt_m, v->opt_v, v->i64,
                       v->scratch, v->metrics, v->perm, v->ident, v->logits};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) cg_cuda_free(v->cu, bufs[i]);
    for (int i = 0; i < v->nsplits; i++) {
      cg_cuda_free(v->cu, v->splits[i].x);
      cg_cuda_free(v->cu, v->splits[i].y);
    }
  }
  cg_cuda_kernel_free(v->tk);
  cg_cuda_kernel_free(v->ek);
  cg_cuda_close(v->cu);
  cg_plan_free(v->tplan);
  cg_plan_free(v->eplan);
  ir_free(v->host_logits);
  ir_free(v);
}

const char *rt_dev_name(const RtDev *v) { return cg_cuda_device_name(v->cu); }

void rt_dev_describe(const RtDev *v, char *buf, size_t cap) {
  snprintf(buf, cap, "%s, sm_%d, one launch per %s, compiled in %.0f ms", cg_cuda_device_name(v->cu),
           cg_cuda_arch(v->cu), v->tplan ? "epoch" : "split", v->compile_ms);
}

/* ---- residency ---- */

/* The split on the device, uploading it the first time. */
static Status split_on_device(RtDev *v, const RtSplit *sp, const DevSplit **out, Diag *d) {
  for (int i = 0; i < v->nsplits; i++) {
    const DevSplit *s = &v->splits[i];
    if (s->hx == sp->x && s->hy == sp->y && s->n == sp->n) {
      *out = s;
      return JS_OK;
    }
  }
  if (v->nsplits == MAX_SPLITS) { /* drop the oldest */
    cg_cuda_free(v->cu, v->splits[0].x);
    cg_cuda_free(v->cu, v->splits[0].y);
    memmove(v->splits, v->splits + 1, (MAX_SPLITS - 1) * sizeof *v->splits);
    v->nsplits--;
  }
  DevSplit s = {.hx = sp->x, .hy = sp->y, .n = sp->n};
  size_t xb = (size_t)sp->n * RT_JSC_FEATURES * sizeof(float), yb = (size_t)sp->n * sizeof(int32_t);
  Status st = dev_alloc(v, xb, &s.x, d);
  if (!st) st = dev_alloc(v, yb, &s.y, d);
  if (!st) st = cg_cuda_upload(v->cu, s.x, sp->x, xb, d);
  if (!st) st = cg_cuda_upload(v->cu, s.y, sp->y, yb, d);
  if (st) {
    cg_cuda_free(v->cu, s.x);
    cg_cuda_free(v->cu, s.y);
    return st;
  }
  v->splits[v->nsplits] = s;
  *out = &v->splits[v->nsplits++];
  return JS_OK;
}

/* A perm buffer of at least n entries (its contents are then undefined). */
static Status perm_room(RtDev *v, int64_t n, Diag *d) {
  if (n <= v->perm_cap) return JS_OK;
  cg_cuda_free(v->cu, v->perm);
  v->perm = 0;
  v->perm_cap = 0;
  Status st = dev_alloc(v, (size_t)n * sizeof(int64_t), &v->perm, d);
  if (!st) v->perm_cap = n;
  return st;
}

/* The identity order of at least n rows, uploaded when it grows (once per run, in practice:
 * every split's order is a prefix of the longest one's). */
static Status ident_room(RtDev *v, int64_t n, Diag *d) {
  if (n <= v->ident_n) return JS_OK;
  cg_cuda_free(v->cu, v->ident);
  v->ident = 0;
  v->ident_n = 0;
  int64_t *id = ir_malloc((size_t)n * sizeof *id);
  if (!id) return diag_oom(d);
  for (int64_t i = 0; i < n; i++) id[i] = i;
  Status st = dev_alloc(v, (size_t)n * sizeof *id, &v->ident, d);
  if (!st) st = cg_cuda_upload(v->cu, v->ident, id, (size_t)n * sizeof *id, d);
  ir_free(id);
  if (!st) v->ident_n = n;
  return st;
}

static Status upload_params(RtDev *v, const RtState *s, Diag *d) {
  if (v->params_up) return JS_OK;
  Status st = cg_cuda_upload(v->cu, v->params, s->data, v->total * sizeof(float), d);
  if (!st) st = cg_cuda_upload(v->cu, v->i64, s->i64, (size_t)v->nparams * sizeof(int64_t), d);
  if (!st) v->params_up = true;
  return st;
}

static Status upload_opt(RtDev *v, const OptimState *opt, Diag *d) {
  if (v->opt_up) return JS_OK;
  size_t fb = v->total * sizeof(float);
  Status st = cg_cuda_upload(v->cu, v->opt_m, opt->m, fb, d);
  if (!st && v->has_v && opt->v) st = cg_cuda_upload(v->cu, v->opt_v, opt->v, fb, d);
  if (!st) v->opt_up = true;
  return st;
}

static JsccDevArgs base_args(const RtDev *v, const DevSplit *ds) {
  return (JsccDevArgs){.params = v->params, .grads = v->grads, .opt_m = v->opt_m, .opt_v = v->opt_v,
                       .i64 = v->i64, .scratch = v->scratch, .data_x = ds->x, .data_y = ds->y, .perm = v->perm,
                       .metrics = v->metrics, .batch = v->batch, .seed = v->seed & 0xffffffffu};
}

/* ---- training ---- */

Status rt_dev_train_epoch(RtDev *v, RtState *s, OptimState *opt, const RtSplit *sp, const int64_t *order,
                          int64_t norder, int64_t nrows, double lr, double m[2], Diag *d) {
  if (!v->tk) return diag_error(d, (SrcLoc){0}, "the device engine was opened for evaluation only");
  if (nrows < 1) return JS_OK;
  const DevSplit *ds;
  Status st = upload_params(v, s, d);
  if (!st) st = upload_opt(v, opt, d);
  if (!st) st = split_on_device(v, sp, &ds, d);
  if (!st) st = perm_room(v, norder, d);
  if (st) return st;
  double zero[2] = {0, 0}, got[2];
  if ((st = cg_cuda_upload(v->cu, v->perm, order, (size_t)norder * sizeof(int64_t), d)) ||
      (st = cg_cuda_upload(v->cu, v->metrics, zero, sizeof zero, d)))
    return st;
  JsccDevArgs a = base_args(v, ds);
  a.first = 0;
  a.nrows = nrows;
  a.nsteps = (nrows + v->batch - 1) / v->batch;
  a.lr = lr;
  a.step0 = (double)(opt->step + 1);
  a.dstep0 = (uint64_t)opt->step;
  if ((st = cg_cuda_launch(v->cu, v->tk, &a, d))) return st;
  opt->step += a.nsteps;
  /* the metrics, then the model and the optimizer state for the checkpoints */
  size_t fb = v->total * sizeof(float);
  if ((st = cg_cuda_download(v->cu, got, v->metrics, sizeof got, d)) ||
      (st = cg_cuda_download(v->cu, s->data, v->params, fb, d)) ||
      (st = cg_cuda_download(v->cu, s->i64, v->i64, (size_t)v->nparams * sizeof(int64_t), d)) ||
      (st = cg_cuda_download(v->cu, opt->m, v->opt_m, fb, d)) ||
      (v->has_v && opt->v && (st = cg_cuda_download(v->cu, opt->v, v->opt_v, fb, d))))
    return st;
  m[0] += got[0];
  m[1] += got[1];
  return JS_OK;
}

/* ---- evaluation ---- */

Status rt_dev_eval(RtDev *v, const RtState *s, const RtSplit *sp, int64_t step, double *loss_sum,
                   const float **logits, Diag *d) {
  *loss_sum = 0;
  *logits = NULL;
  if (sp->n < 1) return JS_OK;
  const DevSplit *ds;
  Status st = upload_params(v, s, d);
  if (!st) st = split_on_device(v, sp, &ds, d);
  if (!st) st = ident_room(v, sp->n, d);
  if (st) return st;
  size_t nl = (size_t)sp->n * (size_t)v->classes;
  if (sp->n > v->logits_cap) {
    cg_cuda_free(v->cu, v->logits);
    v->logits = 0;
    v->logits_cap = 0;
    if ((st = dev_alloc(v, nl * sizeof(float), &v->logits, d))) return st;
    v->logits_cap = sp->n;
  }
  if (sp->n > v->host_cap) {
    float *h = ir_realloc(v->host_logits, nl * sizeof(float));
    if (!h) return diag_oom(d);
    v->host_logits = h;
    v->host_cap = sp->n;
  }
  double zero[2] = {0, 0}, got[2];
  if ((st = cg_cuda_upload(v->cu, v->metrics, zero, sizeof zero, d))) return st;
  JsccDevArgs a = base_args(v, ds);
  a.grads = a.opt_m = a.opt_v = 0;
  a.perm = v->ident;
  a.logits = v->logits;
  a.first = 0;
  a.nrows = sp->n;
  a.nsteps = (sp->n + v->batch - 1) / v->batch;
  a.step0 = (double)(step + 1);
  a.dstep0 = (uint64_t)step;
  if ((st = cg_cuda_launch(v->cu, v->ek, &a, d)) || (st = cg_cuda_download(v->cu, got, v->metrics, sizeof got, d)) ||
      (st = cg_cuda_download(v->cu, v->host_logits, v->logits, nl * sizeof(float), d)))
    return st;
  *loss_sum = got[0];
  *logits = v->host_logits;
  return JS_OK;
}
