/* runtime/device.c — the GPU engine: the training and evaluation plans compiled for the
 * device (codegen/cuda.h), the data and the model resident in device memory, one launch per
 * training epoch and one per evaluated split.
 *
 * A group of trials (one model and batch size; each trial its own parameters, optimizer
 * state, row order, learning rate and dropout seed) shares the kernels and the resident data
 * and runs as one launch of one block per trial.  Every per-trial buffer is one allocation
 * holding the trials back to back at a fixed stride (`Slab`); one trial is the group of one,
 * launched with its arguments by value and one block, as before groups existed.
 *
 * Transfers per epoch: the row orders (8 bytes a row a distinct order), the metrics (16 bytes a
 * trial), then the parameters, buffers and optimizer state for the checkpoints (a few
 * kilobytes a trial for these models).  The splits go up once, the first time each is used. */
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

/* A per-trial device buffer: ntrials copies of `stride` bytes back to back (trial b's at
 * ptr + b * stride; the stride is rounded up to 256 bytes, so every copy is aligned as
 * cuMemAlloc's own allocations are: the kernels read doubles out of the scratch). */
typedef struct Slab {
  uint64_t ptr;              /* device address (0: none) */
  size_t stride;             /* bytes from one trial's copy to the next */
} Slab;

struct RtDev {
  CgCuda *cu;
  CgPlan *tplan, *eplan;     /* training (NULL: evaluation only) and evaluation plans */
  CgCudaKernel *tk, *ek;
  double compile_ms;         /* rendering, compiling and loading both kernels */
  int64_t batch;
  int ntrials;               /* trials of the group (blocks of a launch); 1: a plain run */
  uint64_t *seeds;           /* [ntrials] dropout streams */
  int features, classes;
  size_t total;              /* f32 elements of the model */
  int nparams;               /* i64 buffer entries */
  bool has_v;                /* the optimizer has a second moment (Adam, AdamW) */
  /* per-trial device buffers */
  Slab params, grads, opt_m, opt_v, i64, scratch, metrics;
  Slab perm;                 /* [perm_cap] int64 per trial: the epoch's order */
  int64_t perm_cap;
  Slab logits;               /* [logits_cap][classes] per trial */
  int64_t logits_cap;
  uint64_t ident;            /* [ident_n] int64: 0, 1, 2, ... (evaluation's order, any split, every trial) */
  int64_t ident_n;
  uint64_t table;            /* [ntrials] JsccDevArgs: a group launch's arguments (0 for one trial) */
  JsccDevArgs *host_table;   /* [ntrials] their host copy */
  double *host_metrics;      /* [ntrials][2] */
  void **dst;                /* [ntrials] where each trial's copy of a slab goes (slab_download) */
  void *stage;               /* [stage_cap] bytes: a whole slab, downloaded in one transfer */
  size_t stage_cap;
  float *host_logits;        /* [ntrials][host_cap][classes] */
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

/* Zeroes `bytes` bytes of device memory at p. */
static Status dev_zeros_at(RtDev *v, uint64_t p, size_t bytes, Diag *d) {
  if (!bytes) return JS_OK;
  void *z = ir_calloc(1, bytes);
  if (!z) return diag_oom(d);
  Status st = cg_cuda_upload(v->cu, p, z, bytes, d);
  ir_free(z);
  return st;
}

/* A device buffer of `bytes` zero bytes. */
static Status dev_zeros(RtDev *v, size_t bytes, uint64_t *p, Diag *d) {
  Status st = dev_alloc(v, bytes, p, d);
  return st ? st : dev_zeros_at(v, *p, bytes, d);
}

/* A slab of ntrials copies of `bytes` each, zeroed. */
static Status slab_new(RtDev *v, size_t bytes, Slab *sl, Diag *d) {
  sl->stride = (bytes + 255) / 256 * 256;
  if (!sl->stride) sl->stride = 256;
  return dev_zeros(v, sl->stride * (size_t)v->ntrials, &sl->ptr, d);
}

static void slab_free(RtDev *v, Slab *sl) {
  cg_cuda_free(v->cu, sl->ptr);
  *sl = (Slab){0};
}

/* Trial b's copy. */
static uint64_t at(const Slab *sl, int b) { return sl->ptr + (uint64_t)b * sl->stride; }

/* Builds and compiles the training plan (when there is one) and the evaluation plan. */
static Status build_kernels(RtDev *v, const RtDevConfig *c, Diag *d) {
  Status st;
  double ms = 0;
  if (c->train && c->oc) {
    CgOptions o = rt_dev_plan_options(c->s, c->batch, true);
    o.optim = optim_of(c->oc);
    o.kernel_cache = c->kernel_cache;
    if ((st = cg_plan_build(c->train, &o, &v->tplan, d)) || (st = cg_cuda_compile(v->cu, v->tplan, &v->tk, &ms, d)))
      return st;
    v->compile_ms += ms;
  }
  CgOptions o = rt_dev_plan_options(c->s, c->batch, false);
  if (c->oc) o.optim = optim_of(c->oc);
  o.kernel_cache = c->kernel_cache;
  if ((st = cg_plan_build(c->eval, &o, &v->eplan, d)) || (st = cg_cuda_compile(v->cu, v->eplan, &v->ek, &ms, d)))
    return st;
  v->compile_ms += ms;
  v->features = cg_plan_features(v->eplan);
  v->classes = cg_plan_classes(v->eplan);
  if (v->features != RT_JSC_FEATURES || v->classes != RT_JSC_CLASSES)
    return diag_error(d, (SrcLoc){0}, "model %s: the device kernels take %d features to %d classes, not %d to %d",
                      c->eval->name, RT_JSC_FEATURES, RT_JSC_CLASSES, v->features, v->classes);
  return JS_OK;
}

/* Every trial's model, scratch, metrics and (training) gradients and optimizer state, zeroed;
 * the group's argument table. */
static Status alloc_trials(RtDev *v, Diag *d) {
  size_t scratch = cg_plan_scratch_floats(v->eplan);
  if (v->tplan && cg_plan_scratch_floats(v->tplan) > scratch) scratch = cg_plan_scratch_floats(v->tplan);
  size_t fb = v->total * sizeof(float);
  Status st;
  if ((st = slab_new(v, fb, &v->params, d)) || (st = slab_new(v, scratch * sizeof(float), &v->scratch, d)) ||
      (st = slab_new(v, (size_t)v->nparams * sizeof(int64_t), &v->i64, d)) ||
      (st = slab_new(v, 2 * sizeof(double), &v->metrics, d)))
    return st;
  if (v->tplan && ((st = slab_new(v, fb, &v->grads, d)) || (st = slab_new(v, fb, &v->opt_m, d)) ||
                   (v->has_v && (st = slab_new(v, fb, &v->opt_v, d)))))
    return st;
  if (v->ntrials > 1 && (st = dev_alloc(v, (size_t)v->ntrials * sizeof(JsccDevArgs), &v->table, d))) return st;
  return JS_OK;
}

/* The driver, then NVRTC: either missing is "--device=cuda: unavailable: WHY". */
static Status open_cuda(RtDev *v, Diag *d) {
  Diag probe;
  diag_init(&probe, NULL);
  Status st = cg_cuda_open(&v->cu, &probe);
  char why[1100];
  if (st == JS_ENOMEM) {
    diag_free(&probe);
    return diag_oom(d);
  }
  if (st) {
    first_line(&probe, why, sizeof why);
    diag_free(&probe);
    return diag_error(d, (SrcLoc){0}, "--device=cuda: unavailable: %s", why);
  }
  diag_free(&probe);
  if (!cg_nvrtc_available(why, sizeof why)) return diag_error(d, (SrcLoc){0}, "--device=cuda: unavailable: %s", why);
  return JS_OK;
}

Status rt_dev_open_group(const RtDevConfig *c, int ntrials, RtDev **out, Diag *d) {
  *out = NULL;
  if (ntrials < 1 || ntrials > RT_DEV_MAX_TRIALS)
    return diag_error(d, (SrcLoc){0}, "--device=cuda: a group of %d trials; a launch runs 1 to %d", ntrials,
                      RT_DEV_MAX_TRIALS);
  RtDev *v = ir_calloc(1, sizeof *v);
  if (!v) return diag_oom(d);
  v->batch = c->batch;
  v->ntrials = ntrials;
  v->total = c->s->total;
  v->nparams = c->s->n;
  v->has_v = c->oc && c->oc->kind != OPTIM_SGD;
  v->seeds = ir_malloc((size_t)ntrials * sizeof *v->seeds);
  v->host_table = ir_calloc((size_t)ntrials, sizeof *v->host_table);
  v->host_metrics = ir_calloc((size_t)ntrials, 2 * sizeof(double));
  v->dst = ir_calloc((size_t)ntrials, sizeof *v->dst);
  Status st = !v->seeds || !v->host_table || !v->host_metrics || !v->dst ? diag_oom(d) : JS_OK;
  for (int b = 0; !st && b < ntrials; b++) v->seeds[b] = c->seeds ? c->seeds[b] : c->seed;
  if (!st) st = open_cuda(v, d);
  if (!st) st = build_kernels(v, c, d);
  if (!st) st = alloc_trials(v, d);
  if (st) {
    rt_dev_close(v);
    return st;
  }
  *out = v;
  return JS_OK;
}

Status rt_dev_open(const RtDevConfig *c, RtDev **out, Diag *d) { return rt_dev_open_group(c, 1, out, d); }

void rt_dev_close(RtDev *v) {
  if (!v) return;
  if (v->cu) {
    Slab *slabs[] = {&v->params, &v->grads, &v->opt_m, &v->opt_v, &v->i64, &v->scratch, &v->metrics, &v->perm, &v->logits};
    for (size_t i = 0; i < sizeof slabs / sizeof *slabs; i++) slab_free(v, slabs[i]);
    cg_cuda_free(v->cu, v->ident);
    cg_cuda_free(v->cu, v->table);
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
  ir_free(v->seeds);
  ir_free(v->host_table);
  ir_free(v->host_metrics);
  ir_free(v->dst);
  ir_free(v->stage);
  ir_free(v->host_logits);
  ir_free(v);
}

const char *rt_dev_name(const RtDev *v) { return cg_cuda_device_name(v->cu); }

int rt_dev_trials(const RtDev *v) { return v->ntrials; }

void rt_dev_describe(const RtDev *v, char *buf, size_t cap) {
  char group[48] = "";
  if (v->ntrials > 1) snprintf(group, sizeof group, " for %d trials", v->ntrials);
  snprintf(buf, cap, "%s, sm_%d, one launch per %s%s, compiled in %.0f ms", cg_cuda_device_name(v->cu),
           cg_cuda_arch(v->cu), v->tplan ? "epoch" : "split", group, v->compile_ms);
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

/* A slab of at least n elements of `size` bytes per trial (its contents are then undefined). */
static Status slab_room(RtDev *v, Slab *sl, int64_t *cap, int64_t n, size_t size, Diag *d) {
  if (n <= *cap) return JS_OK;
  slab_free(v, sl);
  *cap = 0;
  Status st = slab_new(v, (size_t)n * size, sl, d);
  if (!st) *cap = n;
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

static Status upload_params(RtDev *v, const RtState *const *s, Diag *d) {
  if (v->params_up) return JS_OK;
  Status st = JS_OK;
  for (int b = 0; !st && b < v->ntrials; b++) {
    st = cg_cuda_upload(v->cu, at(&v->params, b), s[b]->data, v->total * sizeof(float), d);
    if (!st) st = cg_cuda_upload(v->cu, at(&v->i64, b), s[b]->i64, (size_t)v->nparams * sizeof(int64_t), d);
  }
  if (!st) v->params_up = true;
  return st;
}

static Status upload_opt(RtDev *v, OptimState *const *opt, Diag *d) {
  if (v->opt_up) return JS_OK;
  size_t fb = v->total * sizeof(float);
  Status st = JS_OK;
  for (int b = 0; !st && b < v->ntrials; b++) {
    st = cg_cuda_upload(v->cu, at(&v->opt_m, b), opt[b]->m, fb, d);
    if (!st && v->has_v && opt[b]->v) st = cg_cuda_upload(v->cu, at(&v->opt_v, b), opt[b]->v, fb, d);
  }
  if (!st) v->opt_up = true;
  return st;
}

/* The first `bytes` of every trial's copy in slab sl to v->dst[b], in one transfer through
 * v->stage: a group of dozens of trials makes one driver call per slab, not one per trial. */
static Status slab_download(RtDev *v, const Slab *sl, size_t bytes, Diag *d) {
  size_t all = sl->stride * (size_t)v->ntrials;
  if (all > v->stage_cap) {
    void *p = ir_realloc(v->stage, all);
    if (!p) return diag_oom(d);
    v->stage = p;
    v->stage_cap = all;
  }
  Status st = cg_cuda_download(v->cu, v->stage, sl->ptr, all, d);
  for (int b = 0; !st && b < v->ntrials; b++) memcpy(v->dst[b], (char *)v->stage + (size_t)b * sl->stride, bytes);
  return st;
}

/* Trial b's arguments: its buffers, the shared split. */
static JsccDevArgs trial_args(const RtDev *v, const DevSplit *ds, int b) {
  return (JsccDevArgs){.params = at(&v->params, b), .grads = at(&v->grads, b), .opt_m = at(&v->opt_m, b),
                       .opt_v = at(&v->opt_v, b), .i64 = at(&v->i64, b), .scratch = at(&v->scratch, b),
                       .data_x = ds->x, .data_y = ds->y, .perm = at(&v->perm, b), .metrics = at(&v->metrics, b),
                       .batch = v->batch, .seed = v->seeds[b] & 0xffffffffu};
}

/* Zeroes the metrics, launches k over the trials' arguments in v->host_table (one trial: by
 * value, one block; a group: the table uploaded, one block per trial) and downloads the
 * metrics into v->host_metrics. */
static Status launch(RtDev *v, const CgCudaKernel *k, Diag *d) {
  size_t mb = (size_t)v->ntrials * v->metrics.stride;
  Status st = dev_zeros_at(v, v->metrics.ptr, mb, d);
  if (st) return st;
  JsccDevArgs a = v->host_table[0];
  if (v->ntrials > 1) {
    if ((st = cg_cuda_upload(v->cu, v->table, v->host_table, (size_t)v->ntrials * sizeof(JsccDevArgs), d))) return st;
    a = (JsccDevArgs){.trials = v->table, .ntrials = v->ntrials, .batch = a.batch, .nsteps = a.nsteps};
  }
  if ((st = cg_cuda_launch(v->cu, k, &a, d))) return st;
  for (int b = 0; b < v->ntrials; b++) v->dst[b] = v->host_metrics + 2 * b;
  return slab_download(v, &v->metrics, 2 * sizeof(double), d);
}

/* ---- training ---- */

/* Each trial's order in its perm slot; a trial whose order is the same array as an earlier
 * trial's (one seed, several learning rates) reads that trial's copy instead of a new one. */
static Status upload_orders(RtDev *v, const int64_t *const *orders, int64_t norder, Diag *d) {
  Status st = slab_room(v, &v->perm, &v->perm_cap, norder, sizeof(int64_t), d);
  for (int b = 0; !st && b < v->ntrials; b++) {
    int same = 0;
    while (orders[same] != orders[b]) same++;
    v->host_table[b].perm = at(&v->perm, same);
    if (same == b) st = cg_cuda_upload(v->cu, at(&v->perm, b), orders[b], (size_t)norder * sizeof(int64_t), d);
  }
  return st;
}

/* The model and the optimizer state of every trial, back into the host's copies. */
static Status download_trials(RtDev *v, RtState *const *s, OptimState *const *opt, Diag *d) {
  size_t fb = v->total * sizeof(float);
  Status st;
  for (int b = 0; b < v->ntrials; b++) v->dst[b] = s[b]->data;
  if ((st = slab_download(v, &v->params, fb, d))) return st;
  for (int b = 0; b < v->ntrials; b++) v->dst[b] = s[b]->i64;
  if ((st = slab_download(v, &v->i64, (size_t)v->nparams * sizeof(int64_t), d))) return st;
  for (int b = 0; b < v->ntrials; b++) v->dst[b] = opt[b]->m;
  if ((st = slab_download(v, &v->opt_m, fb, d))) return st;
  if (!v->has_v) return JS_OK;
  for (int b = 0; b < v->ntrials; b++)
    if (!opt[b]->v) return JS_OK; /* no second moment to keep on the host */
  for (int b = 0; b < v->ntrials; b++) v->dst[b] = opt[b]->v;
  return slab_download(v, &v->opt_v, fb, d);
}

Status rt_dev_train_epoch_group(RtDev *v, RtState *const *s, OptimState *const *opt, const RtSplit *sp,
                                const int64_t *const *orders, int64_t norder, int64_t nrows, const double *lr,
                                double (*m)[2], Diag *d) {
  if (!v->tk) return diag_error(d, (SrcLoc){0}, "the device engine was opened for evaluation only");
  if (nrows < 1) return JS_OK;
  const DevSplit *ds;
  Status st = upload_params(v, (const RtState *const *)s, d);
  if (!st) st = upload_opt(v, opt, d);
  if (!st) st = split_on_device(v, sp, &ds, d);
  if (st) return st;
  int64_t nsteps = (nrows + v->batch - 1) / v->batch;
  for (int b = 0; b < v->ntrials; b++) {
    JsccDevArgs *a = &v->host_table[b];
    *a = trial_args(v, ds, b);
    a->nrows = nrows;
    a->nsteps = nsteps;
    a->lr = lr[b];
    a->step0 = (double)(opt[b]->step + 1);
    a->dstep0 = (uint64_t)opt[b]->step;
  }
  if ((st = upload_orders(v, orders, norder, d)) || (st = launch(v, v->tk, d))) return st;
  for (int b = 0; b < v->ntrials; b++) opt[b]->step += nsteps;
  /* the metrics, then the model and the optimizer state for the checkpoints */
  if ((st = download_trials(v, s, opt, d))) return st;
  for (int b = 0; b < v->ntrials; b++) m[b][0] += v->host_metrics[2 * b], m[b][1] += v->host_metrics[2 * b + 1];
  return JS_OK;
}

static Status one_trial(const RtDev *v, Diag *d) {
  if (v->ntrials == 1) return JS_OK;
  return diag_error(d, (SrcLoc){0}, "the device engine runs a group of %d trials: use the group calls", v->ntrials);
}

Status rt_dev_train_epoch(RtDev *v, RtState *s, OptimState *opt, const RtSplit *sp, const int64_t *order,
                          int64_t norder, int64_t nrows, double lr, double m[2], Diag *d) {
  Status st = one_trial(v, d);
  if (st) return st;
  return rt_dev_train_epoch_group(v, &s, &opt, sp, &order, norder, nrows, &lr, (double (*)[2])m, d);
}

/* ---- evaluation ---- */

/* Room for every trial's logits of n rows, on the device and on the host. */
static Status logits_room(RtDev *v, int64_t n, Diag *d) {
  size_t row = (size_t)v->classes * sizeof(float);
  Status st = slab_room(v, &v->logits, &v->logits_cap, n, row, d);
  if (st || n <= v->host_cap) return st;
  float *h = ir_realloc(v->host_logits, (size_t)v->ntrials * (size_t)n * row);
  if (!h) return diag_oom(d);
  v->host_logits = h;
  v->host_cap = n;
  return JS_OK;
}

Status rt_dev_eval_group(RtDev *v, const RtState *const *s, const RtSplit *sp, const int64_t *step, double *loss_sum,
                         const float **logits, Diag *d) {
  for (int b = 0; b < v->ntrials; b++) loss_sum[b] = 0, logits[b] = NULL;
  if (sp->n < 1) return JS_OK;
  const DevSplit *ds;
  Status st = upload_params(v, s, d);
  if (!st) st = split_on_device(v, sp, &ds, d);
  if (!st) st = ident_room(v, sp->n, d);
  if (!st) st = logits_room(v, sp->n, d);
  if (st) return st;
  for (int b = 0; b < v->ntrials; b++) {
    JsccDevArgs *a = &v->host_table[b];
    *a = trial_args(v, ds, b);
    a->grads = a->opt_m = a->opt_v = 0;
    a->perm = v->ident;
    a->logits = at(&v->logits, b);
    a->nrows = sp->n;
    a->nsteps = (sp->n + v->batch - 1) / v->batch;
    a->step0 = (double)(step[b] + 1);
    a->dstep0 = (uint64_t)step[b];
  }
  if ((st = launch(v, v->ek, d))) return st;
  size_t nl = (size_t)sp->n * (size_t)v->classes;
  for (int b = 0; b < v->ntrials; b++) v->dst[b] = v->host_logits + (size_t)b * nl;
  if ((st = slab_download(v, &v->logits, nl * sizeof(float), d))) return st;
  for (int b = 0; b < v->ntrials; b++) loss_sum[b] = v->host_metrics[2 * b], logits[b] = v->dst[b];
  return JS_OK;
}

Status rt_dev_eval(RtDev *v, const RtState *s, const RtSplit *sp, int64_t step, double *loss_sum,
                   const float **logits, Diag *d) {
  *loss_sum = 0;
  *logits = NULL;
  Status st = one_trial(v, d);
  if (st) return st;
  return rt_dev_eval_group(v, &s, sp, &step, loss_sum, logits, d);
}
