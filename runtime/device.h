/* runtime/device.h — the GPU engine (included by runtime.h; device.c).
 *
 * The training loop (train.c) with --device=cuda runs every epoch as one kernel launch: the
 * data splits are uploaded once and stay on the device with the parameters, the optimizer
 * state and the scratch; each epoch uploads its row order (the same permutation the CPU
 * engines use, so a GPU run sees the CPU run's batches) and downloads the metrics and, for
 * the checkpoints, the model and the optimizer state.  Evaluation is one launch per split
 * in order, its logits downloaded for the accuracy and the confusion matrix.
 *
 * The model's values are uploaded from the host state at the first launch; from then on the
 * device holds them, and every training epoch copies them back.
 *
 * A group of trials (a learning-rate or seed sweep: one model, batch size and optimizer kind)
 * opens one engine and trains side by side, one thread block per trial in one launch per
 * epoch: each trial has its own parameters, optimizer state, row order, learning rate and
 * dropout seed, and the data is uploaded once for all.  A trial of a group computes exactly
 * what the same trial opened alone computes (the same kernel, block for block).  The plain
 * calls are the group of one. */
#ifndef JSCC_RUNTIME_DEVICE_H
#define JSCC_RUNTIME_DEVICE_H

typedef enum RtDeviceKind { RT_DEVICE_CPU, RT_DEVICE_CUDA } RtDeviceKind;
const char *rt_device_name(RtDeviceKind k);           /* "cpu", "cuda" */
bool rt_device_parse(const char *s, RtDeviceKind *out);

/* The options of the device's fusion plans (the same for --dump-cuda and the engine). */
CgOptions rt_dev_plan_options(const RtState *s, int64_t batch, bool train);

typedef struct RtDev RtDev;   /* a CUDA context, both kernels and the device buffers */

typedef struct RtDevConfig {
  const Graph *train;        /* the training graph (from `grad`), or NULL: evaluation only */
  const Graph *eval;         /* the graph of the evaluation plan (the training graph when there is one) */
  const RtState *s;          /* the model's layout (its values are uploaded at the first launch) */
  const OptimConfig *oc;     /* the optimizer (NULL: evaluation only) */
  int64_t batch;             /* rows per step */
  uint64_t seed;             /* the dropout stream */
  const char *kernel_cache;  /* the jscc cache directory (PTX under cuda/), or NULL: no PTX cache */
  const uint64_t *seeds;     /* [ntrials] a group's dropout streams, or NULL: `seed` for every trial */
} RtDevConfig;

#define RT_DEV_MAX_TRIALS 4096 /* trials of one group (blocks of one launch) */

/* Opens device 0, builds and compiles the plans.  Without a driver or a device, the error
 * reads "--device=cuda: unavailable: WHY".  rt_dev_open is rt_dev_open_group(c, 1, ...). */
Status rt_dev_open(const RtDevConfig *c, RtDev **out, Diag *d);
/* The same for a group of ntrials (1 .. RT_DEV_MAX_TRIALS) trials; c->s gives the layout every
 * trial shares. */
Status rt_dev_open_group(const RtDevConfig *c, int ntrials, RtDev **out, Diag *d);
void rt_dev_close(RtDev *v);
int rt_dev_trials(const RtDev *v);         /* ntrials of the group (1 for rt_dev_open) */
/* For the engine line: "NVIDIA H100 80GB HBM3, sm_90, one launch per epoch, compiled in 812 ms". */
void rt_dev_describe(const RtDev *v, char *buf, size_t cap);
const char *rt_dev_name(const RtDev *v);   /* the GPU's name */

/* One epoch: rows order[0 .. nrows) of sp (order holds norder >= nrows entries: a
 * permutation of the split), in steps of `batch` rows at learning rate lr.  Adds the summed
 * loss and the correct count to m; advances opt->step by the steps run; copies the model
 * into s and the optimizer state into opt afterwards.  For an engine of one trial. */
Status rt_dev_train_epoch(RtDev *v, RtState *s, OptimState *opt, const RtSplit *sp, const int64_t *order,
                          int64_t norder, int64_t nrows, double lr, double m[2], Diag *d);
/* The same for every trial b of the group at once, one launch: s[b], opt[b], orders[b] (each
 * norder entries; trials may pass the same array, which is then uploaded once), lr[b], m[b].
 * The s[b] and opt[b] are read at the group's first launch and written after every epoch. */
Status rt_dev_train_epoch_group(RtDev *v, RtState *const *s, OptimState *const *opt, const RtSplit *sp,
                                const int64_t *const *orders, int64_t norder, int64_t nrows, const double *lr,
                                double (*m)[2], Diag *d);
/* Every row of sp in order, at the optimizer's step count `step` (the dropout stream).
 * *loss_sum gets the summed cross-entropy, *logits the [sp->n][classes] logits, row-major
 * (owned by v, valid until the next call).  For an engine of one trial. */
Status rt_dev_eval(RtDev *v, const RtState *s, const RtSplit *sp, int64_t step, double *loss_sum,
                   const float **logits, Diag *d);
/* The same for every trial b of the group, one launch: s[b] at step[b] into loss_sum[b] and
 * logits[b]. */
Status rt_dev_eval_group(RtDev *v, const RtState *const *s, const RtSplit *sp, const int64_t *step, double *loss_sum,
                         const float **logits, Diag *d);

#endif
