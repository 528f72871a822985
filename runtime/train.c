/* runtime/train.c — the training and evaluation loops, the engines they run on, and the run
 * directory (metrics.csv, manifest.json, safetensors checkpoints) that --resume continues.
 *
 * An Engine hides how one mini-batch is computed.  "jit" gathers the batch feature-major
 * (x[f * bpad + i], rows >= n zero, codegen.h) and calls the fused training step, which runs
 * forward, loss, backward and the optimizer update in one kernel; "ref" gathers it row-major
 * for the reference executor in double precision and then calls rt_optim_step.  Both see
 * the same batches in the same order, the same learning rate, step counter and dropout
 * stream, so their first epochs agree to rounding.  "cuda" (--device=cuda, runtime/device.h)
 * runs the same plans on the GPU a whole epoch, or a whole split, per call, with the same
 * order of rows.
 *
 * Metrics follow MASE (Lightning + torchmetrics): loss is the mean cross-entropy over the
 * rows of a split, accuracy is micro (correct / rows, argmax taking the first maximum as
 * torch.argmax does).  The training split is reshuffled every epoch; validation and test
 * run in order.  init.safetensors holds the initial weights.  best.safetensors follows ModelCheckpoint(monitor="val_loss", mode="min").
 *
 * Reproducibility: nothing here reads the clock except to report timings (the last two
 * columns of metrics.csv and the manifest's start time), so two runs with one seed write the
 * same checkpoints bit for bit. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cuda.h"
#include "rundir.h"
#include "runtime.h"

#define NCLS RT_JSC_CLASSES
#define NFEAT RT_JSC_FEATURES
#define MAX_BATCH (INT64_C(1) << 24) /* rows per step accepted */

static const char *const engine_names[] = {[RT_ENGINE_AUTO] = "auto", [RT_ENGINE_JIT] = "jit",
                                           [RT_ENGINE_REF] = "ref", [RT_ENGINE_INT] = "int",
                                           [RT_ENGINE_INT_C] = "int-c", [RT_ENGINE_CUDA] = "cuda"};

const char *rt_engine_name(RtEngineKind k) {
  return (unsigned)k < sizeof engine_names / sizeof *engine_names ? engine_names[k] : "?";
}

bool rt_engine_parse(const char *s, RtEngineKind *out) {
  for (unsigned k = 0; k < sizeof engine_names / sizeof *engine_names; k++)
    if (k != RT_ENGINE_CUDA && strcmp(s, engine_names[k]) == 0) { /* cuda comes from --device */
      *out = (RtEngineKind)k;
      return true;
    }
  return false;
}

uint64_t rt_hash64(const void *data, size_t len) {
  const unsigned char *p = data;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

/* MASE's trainer: Adam at 1e-3 (the lab's rate; MASE's CLI default is 1e-5), batch 256,
 * CosineAnnealingLR with T_max = max_epochs and eta_min = 1e-6, no weight decay. */
void rt_train_config_default(RtTrainConfig *c) {
  memset(c, 0, sizeof *c);
  rt_data_opts_default(&c->data);
  c->batch_size = 256;
  c->max_epochs = 10;
  rt_optim_default(&c->optim, OPTIM_ADAM);
  c->optim.weight_decay = 0;
  c->sched.kind = SCHED_COSINE;
  c->sched.t_max = 0; /* 0: max_epochs */
  c->sched.eta_min = 1e-6;
  c->sched.step_size = 1;
  c->sched.gamma = 0.1;
  c->engine = RT_ENGINE_AUTO;
}

void rt_test_config_default(RtTestConfig *c) {
  memset(c, 0, sizeof *c);
  rt_data_opts_default(&c->data);
  c->batch_size = 256;
  c->engine = RT_ENGINE_AUTO;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A 64-byte-aligned, zeroed block of ir_malloc'd memory; *raw is what ir_free takes. */
static void *alloc_aligned(size_t bytes, void **raw) {
  *raw = ir_malloc(bytes + 64);
  if (!*raw) return NULL;
  void *p = (void *)(((uintptr_t)*raw + 63) & ~(uintptr_t)63);
  memset(p, 0, bytes);
  return p;
}

/* torch.argmax: the first maximum. */
static int argmax_row(const float *z, int nc) {
  int best = 0;
  for (int k = 1; k < nc; k++)
    if (z[k] > z[best]) best = k;
  return best;
}

/* Cross-entropy of one row of logits against class y, in double: logsumexp(z) - z[y]. */
static double row_ce(const float *z, int nc, int y) {
  double m = z[0];
  for (int k = 1; k < nc; k++)
    if (z[k] > m) m = z[k];
  double s = 0;
  for (int k = 0; k < nc; k++) s += exp((double)z[k] - m);
  return m + log(s) - (double)z[y];
}

/* ---- the model's interface: one f32[B,16] input, f32[B,5] logits, the target ---- */

typedef struct ModelIO {
  const char *input;   /* the input placeholder's name */
  const char *target;  /* the training graph's label placeholder ("target") */
  bool has_batchnorm;  /* a training batch of one row cannot be normalised */
} ModelIO;

static Status check_model(const Graph *fwd, const Graph *train, ModelIO *io, Diag *d) {
  memset(io, 0, sizeof *io);
  SrcLoc none = {0};
  int ninputs = 0;
  for (const Node *n = fwd->first; n; n = n->next) {
    if (n->op == OP_PLACEHOLDER) {
      ninputs++;
      io->input = n->target;
      const TensorType *t = &n->type;
      if (ninputs == 1 && (!n->has_type || t->dtype != DT_F32 || t->rank != 2 || t->dims[1].size != NFEAT))
        return diag_error(d, n->loc, "model %s: input '%s' must be f32[B,%d] to take the JSC features", fwd->name,
                          n->target, NFEAT);
    }
    if (n->mop == MOP_BATCH_NORM1D) io->has_batchnorm = true;
  }
  if (ninputs != 1)
    return diag_error(d, fwd->loc, "model %s: training needs exactly one input (the %d JSC features), found %d",
                      fwd->name, NFEAT, ninputs);
  const Node *out = ir_graph_output(fwd);
  const Node *logits = out && out->nargs == 1 && out->args[0].kind == VAL_NODE ? out->args[0].u.node : NULL;
  if (!logits || !logits->has_type || logits->type.rank != 2 || logits->type.dims[1].size != NCLS)
    return diag_error(d, out ? out->loc : fwd->loc, "model %s: must return logits f32[B,%d] (one per JSC class)",
                      fwd->name, NCLS);
  if (train) {
    for (const Node *n = train->first; n; n = n->next)
      if (n->op == OP_PLACEHOLDER && n->type.dtype == DT_I64) io->target = n->target;
    if (!io->target)
      return diag_error(d, none, "model %s: the training graph has no label input (run the `grad` pass)", train->name);
    if (train->nparams != fwd->nparams)
      return diag_error(d, none, "model %s: the training and forward graphs have different parameters", fwd->name);
  }
  return JS_OK;
}

/* What computes the logits, looking through a Sequential to its last child: the op it
 * applies, and where the user wrote it (a module's constructor, else the call). */
static MaseOp logits_op(const Node *n, SrcLoc *loc, const char **who) {
  *loc = n->loc;
  *who = n->target;
  if (n->op != OP_CALL_MODULE) return n->op == OP_CALL_FUNCTION || n->op == OP_CALL_METHOD ? n->mop : MOP_NONE;
  const Module *m = n->module;
  while (m && m->type == MT_SEQUENTIAL && m->nchildren) m = m->children[m->nchildren - 1];
  if (!m || m->type == MT_SEQUENTIAL) return MOP_NONE;
  if (m->loc.line > 0) *loc = m->loc;
  *who = m->path;
  return ir_module_info(m->type)->op;
}

void rt_check_logits(const Graph *fwd, Diag *d) {
  const Node *out = ir_graph_output(fwd);
  if (!out || out->nargs != 1 || out->args[0].kind != VAL_NODE) return;
  SrcLoc loc;
  const char *who;
  MaseOp op = logits_op(out->args[0].u.node, &loc, &who);
  if (op == MOP_SOFTMAX || op == MOP_LOG_SOFTMAX)
    diag_warning(d, loc, "model %s returns the output of %s (%s), but cross_entropy applies log_softmax itself: "
                 "the loss sees a double softmax; return the logits", fwd->name, ir_op_info(op)->name, who);
  else if (op == MOP_RELU)
    diag_note(d, loc, "model %s returns the output of relu (%s): its class logits can never be negative",
              fwd->name, who);
}

/* ==== engines ==== */

typedef struct Engine Engine;

/* One implementation: a training step over rows idx[0..n) of a split, and an evaluation
 * batch over rows [start, start+n).  Both add the batch's summed loss and correct count to
 * m[0], m[1]; evaluation also fills the confusion matrix when conf is not NULL.  An engine
 * that runs a whole epoch (rows order[0..nrows) in steps of the batch size; order has
 * norder entries) or a whole split per call sets train_epoch and eval_all instead. */
typedef struct EngineOps {
  Status (*train_step)(Engine *e, const RtSplit *sp, const int64_t *idx, int64_t n, double lr, double m[2],
                       Diag *d);
  void (*eval_begin)(Engine *e);
  Status (*eval_batch)(Engine *e, const RtSplit *sp, int64_t start, int64_t n, double m[2],
                       int64_t conf[NCLS][NCLS], Diag *d);
  void (*free)(Engine *e);
  Status (*train_epoch)(Engine *e, const RtSplit *sp, const int64_t *order, int64_t norder, int64_t nrows,
                        double lr, double m[2], Diag *d);
  Status (*eval_all)(Engine *e, const RtSplit *sp, double m[2], int64_t conf[NCLS][NCLS], Diag *d);
} EngineOps;

struct Engine {
  const EngineOps *ops;
  RtEngineKind kind;
  RtDeviceKind device;     /* cpu: jit or ref; cuda: the device engine */
  char why[256];           /* auto: why ref was chosen, for the run output */
  const Graph *fwd, *train;
  ModelIO io;
  RtState *s;              /* the model (training graph's layout) */
  OptimState *opt;         /* NULL for evaluation only */
  const OptimConfig *oc;
  uint64_t seed;
  int64_t batch;
  const char *kernel_cache; /* where compiled kernels are kept (the config's), or NULL */
  const CgTuning *tuning;   /* how the CPU kernels are built (the config's), or NULL */
  CgCompileHook on_compile; /* the config's, told before a kernel compiles */
  void *on_compile_ud;
  /* jit */
  RtKernelSet *kernels;    /* borrow plans and kernels from here (NULL: build our own) */
  const CgPlan *tplan, *eplan;
  const CgKernel *tk, *ek;
  CgPlan *own_tplan, *own_eplan; /* what we built ourselves (NULL when borrowed) */
  CgKernel *own_tk, *own_ek;
  double compile_ms;       /* rendering and compiling both kernels */
  bool kernels_cached;     /* both loaded from the kernel cache (compile_ms: rendering and loading) */
  int64_t bpad;
  const int64_t *order_end; /* one past the epoch's shuffled order (the gather prefetches into the next batch) */
  float *x, *valid, *scratch, *logits;
  int32_t *y;
  void *raw_x, *raw_valid, *raw_scratch, *raw_logits, *raw_y;
  /* ref */
  RtState *se;             /* the forward graph's state for evaluation */
  uint8_t *mask;           /* trainable elements */
  float *rx;               /* [batch][16] */
  int64_t *ry;             /* [batch] */
  /* cuda */
  RtDev *dev;
  bool grouped;            /* a member of rt_train_group's device (which runs it): no device of its own */
};

/* ---- jit ---- */

/* The batch, feature-major, from shuffled rows.  Each row is one cache line read at random
 * from the split, and its label another, so the loop is bound by memory latency: prefetching
 * both AHEAD rows ahead keeps several misses in flight.  The window runs on past the batch
 * into the next one (up to e->order_end, the end of the epoch's order), so that the next
 * batch's first rows arrive while the kernel runs this one. */
static void jit_gather(Engine *e, const RtSplit *sp, const int64_t *idx, int64_t start, int64_t n) {
  int64_t bp = e->bpad;
  enum { AHEAD = 48 };
  float *x = e->x;
  int64_t ahead = !idx ? 0 : e->order_end ? e->order_end - idx : n; /* idx[0..ahead) readable */
  for (int64_t i = 0; i < n; i++) {
    if (i + AHEAD < ahead) {
      __builtin_prefetch(sp->x + idx[i + AHEAD] * NFEAT);
      __builtin_prefetch(sp->y + idx[i + AHEAD]);
    }
    int64_t r = idx ? idx[i] : start + i;
    const float *row = sp->x + r * NFEAT;
    for (int f = 0; f < NFEAT; f++) x[f * bp + i] = row[f];
    e->y[i] = sp->y[r];
    e->valid[i] = 1.0f;
  }
  for (int64_t i = n; i < bp; i++) {
    for (int f = 0; f < NFEAT; f++) x[f * bp + i] = 0.0f;
    e->y[i] = 0;
    e->valid[i] = 0.0f;
  }
}

static CgArgs jit_args(Engine *e, int64_t n, double *metrics) {
  return (CgArgs){.params = e->s->data, .grads = e->s->grad, .x = e->x, .y = e->y, .valid = e->valid,
                  .scratch = e->scratch, .opt_m = e->opt ? e->opt->m : NULL, .opt_v = e->opt ? e->opt->v : NULL,
                  .i64 = e->s->i64, .metrics = metrics, .n = n, .seed = e->seed & 0xffffffffu};
}

static Status jit_train_step(Engine *e, const RtSplit *sp, const int64_t *idx, int64_t n, double lr, double m[2],
                             Diag *d) {
  (void)d;
  jit_gather(e, sp, idx, 0, n);
  double metrics[2] = {0, 0};
  CgArgs a = jit_args(e, n, metrics);
  a.lr = lr;
  a.step = (double)(e->opt->step + 1);
  a.dstep = (uint64_t)e->opt->step;
  cg_kernel_run(e->tk, &a);
  e->opt->step++;
  m[0] += metrics[0];
  m[1] += metrics[1];
  return JS_OK;
}

static void jit_eval_begin(Engine *e) { (void)e; }

static Status jit_eval_batch(Engine *e, const RtSplit *sp, int64_t start, int64_t n, double m[2], int64_t conf[NCLS][NCLS],
                             Diag *d) {
  (void)d;
  jit_gather(e, sp, NULL, start, n);
  double metrics[2] = {0, 0};
  CgArgs a = jit_args(e, n, metrics);
  a.logits = e->logits;
  a.dstep = e->opt ? (uint64_t)e->opt->step : 0;
  cg_kernel_run(e->ek, &a);
  /* Accuracy from the logits, with torch.argmax's tie rule, so that it agrees with the
   * confusion matrix and with the ref engine (ReLU logits tie often). */
  int64_t correct = 0, bp = e->bpad;
  for (int64_t i = 0; i < n; i++) {
    float z[NCLS]; /* the kernel stores logits feature-major, [classes][bpad] */
    for (int k = 0; k < NCLS; k++) z[k] = e->logits[k * bp + i];
    int p = argmax_row(z, NCLS), t = sp->y[start + i];
    correct += p == t;
    if (conf) conf[t][p]++;
  }
  m[0] += metrics[0];
  m[1] += (double)correct;
  return JS_OK;
}

static void jit_free(Engine *e) {
  cg_kernel_free(e->own_tk);
  cg_kernel_free(e->own_ek);
  cg_plan_free(e->own_tplan);
  cg_plan_free(e->own_eplan);
  ir_free(e->raw_x);
  ir_free(e->raw_valid);
  ir_free(e->raw_scratch);
  ir_free(e->raw_logits);
  ir_free(e->raw_y);
}

static const EngineOps jit_ops = {jit_train_step, jit_eval_begin, jit_eval_batch, jit_free, NULL, NULL};

static CgOptim cg_optim_of(const OptimConfig *c) {
  CgOptimKind k = c->kind == OPTIM_ADAM ? CG_ADAM : c->kind == OPTIM_ADAMW ? CG_ADAMW : CG_SGD;
  return (CgOptim){.kind = k, .beta1 = c->beta1, .beta2 = c->beta2, .eps = c->eps,
                   .weight_decay = c->weight_decay, .momentum = c->momentum, .dampening = c->dampening,
                   .nesterov = c->nesterov};
}

/* One step's plan and kernel: borrowed from the engine's kernel set, or built here (and
 * then owned: *own_p, *own_k). */
static Status jit_kernel(Engine *e, const Graph *g, const CgOptions *o, const CgPlan **p, const CgKernel **k,
                         CgPlan **own_p, CgKernel **own_k, Diag *d) {
  double ms = 0;
  if (e->kernels) {
    bool hit = false;
    Status st = rt_kernel_set_get(e->kernels, g, o, p, k, &ms, &hit, d);
    e->compile_ms += ms;
    e->kernels_cached = hit && (e->kernels_cached || !e->tk || *k == e->tk);
    return st;
  }
  Status st = cg_plan_build(g, o, own_p, d);
  *p = *own_p;
  if (st) return st;
  CgCompileInfo ci = {0};
  st = cg_llvm_compile(*own_p, own_k, NULL, &ci, d);
  *k = *own_k;
  e->compile_ms += ci.render_ms + ci.compile_ms;
  e->kernels_cached = ci.cache_hit && (e->kernels_cached || !e->own_tk || *own_k == e->own_tk);
  return st;
}

/* Plans and kernels for both steps.  Their failures go to d (a collecting Diag when the
 * caller is only probing for auto). */
static Status jit_open(Engine *e, Diag *d) {
  if (!cg_llvm_available()) return diag_error(d, (SrcLoc){0}, "the jit engine needs LLVM: this jscc was built without it");
  CgOptions o = {.batch = e->batch, .param_off = e->s->off, .train = true, .kernel_cache = e->kernel_cache,
                 .tuning = e->tuning, .on_compile = e->on_compile, .on_compile_ud = e->on_compile_ud};
  if (e->oc) o.optim = cg_optim_of(e->oc);
  Status st = JS_OK;
  if (e->opt && e->train && (st = jit_kernel(e, e->train, &o, &e->tplan, &e->tk, &e->own_tplan, &e->own_tk, d)))
    return st;
  o.train = false;
  o.want_logits = true;
  const Graph *eg = e->train ? e->train : e->fwd;
  if ((st = jit_kernel(e, eg, &o, &e->eplan, &e->ek, &e->own_eplan, &e->own_ek, d))) return st;

  e->bpad = cg_plan_bpad(e->eplan);
  if (e->tplan && cg_plan_bpad(e->tplan) > e->bpad) e->bpad = cg_plan_bpad(e->tplan);
  size_t scratch = cg_plan_scratch_floats(e->eplan);
  if (e->tplan && cg_plan_scratch_floats(e->tplan) > scratch) scratch = cg_plan_scratch_floats(e->tplan);
  size_t bp = (size_t)e->bpad;
  e->x = alloc_aligned((size_t)NFEAT * bp * sizeof(float), &e->raw_x);
  e->valid = alloc_aligned(bp * sizeof(float), &e->raw_valid);
  e->y = alloc_aligned(bp * sizeof(int32_t), &e->raw_y);
  e->scratch = alloc_aligned((scratch ? scratch : 1) * sizeof(float), &e->raw_scratch);
  e->logits = alloc_aligned(bp * NCLS * sizeof(float), &e->raw_logits);
  if (!e->x || !e->valid || !e->y || !e->scratch || !e->logits) return diag_oom(d);
  return JS_OK;
}

/* ---- ref ---- */

static void ref_gather(Engine *e, const RtSplit *sp, const int64_t *idx, int64_t start, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    int64_t r = idx ? idx[i] : start + i;
    memcpy(e->rx + i * NFEAT, sp->x + r * NFEAT, NFEAT * sizeof(float));
    e->ry[i] = sp->y[r];
  }
}

static Status ref_run(Engine *e, const Graph *g, RtState *s, RtMode mode, int64_t n, RtInterpOut *out, Diag *d) {
  RtTensor in[2] = {{.dtype = DT_F32, .rank = 2, .dims = {n, NFEAT}, .f = e->rx},
                    {.dtype = DT_I64, .rank = 1, .dims = {n}, .i = e->ry}};
  const char *names[2] = {e->io.input, e->io.target};
  RtRunOpts o = {.mode = mode, .seed = (uint32_t)e->seed, .step = e->opt ? (uint32_t)e->opt->step : 0};
  memset(out, 0, sizeof *out);
  return rt_interp_run(g, s, &o, mode == RT_TRAIN ? 2 : 1, names, in, out, d);
}

/* The logits' shape as the executor returned it, checked before reading them. */
static Status ref_logits(const RtInterpOut *out, int64_t n, Diag *d) {
  const RtTensor *t = &out->logits;
  if (t->dtype != DT_F32 || !t->f || t->rank != 2 || t->dims[0] != n || t->dims[1] != NCLS)
    return diag_error(d, (SrcLoc){0}, "reference executor: expected logits f32[%lld,%d]", (long long)n, NCLS);
  return JS_OK;
}

static Status ref_train_step(Engine *e, const RtSplit *sp, const int64_t *idx, int64_t n, double lr, double m[2],
                             Diag *d) {
  ref_gather(e, sp, idx, 0, n);
  RtInterpOut out;
  Status st = ref_run(e, e->train, e->s, RT_TRAIN, n, &out, d);
  if (!st) st = ref_logits(&out, n, d);
  if (!st && !out.has_loss) st = diag_error(d, (SrcLoc){0}, "reference executor: the training graph returned no loss");
  if (!st) {
    int64_t correct = 0;
    for (int64_t i = 0; i < n; i++) correct += argmax_row(out.logits.f + i * NCLS, NCLS) == e->ry[i];
    m[0] += out.loss * (double)n;
    m[1] += (double)correct;
    rt_optim_step(e->oc, e->opt, e->s->data, e->s->grad, e->mask, lr);
  }
  rt_interp_out_free(&out);
  return st;
}

/* Evaluation runs the forward graph on a copy of the state (same layout, same names). */
static void ref_eval_begin(Engine *e) { rt_state_copy(e->se, e->s); }

static Status ref_eval_batch(Engine *e, const RtSplit *sp, int64_t start, int64_t n, double m[2], int64_t conf[NCLS][NCLS],
                             Diag *d) {
  ref_gather(e, sp, NULL, start, n);
  RtInterpOut out;
  Status st = ref_run(e, e->fwd, e->se, RT_EVAL, n, &out, d);
  if (!st) st = ref_logits(&out, n, d);
  if (!st) {
    for (int64_t i = 0; i < n; i++) {
      const float *z = out.logits.f + i * NCLS;
      int p = argmax_row(z, NCLS), t = (int)e->ry[i];
      m[0] += row_ce(z, NCLS, t);
      m[1] += p == t;
      if (conf) conf[t][p]++;
    }
  }
  rt_interp_out_free(&out);
  return st;
}

static void ref_free(Engine *e) {
  rt_state_free(e->se);
  ir_free(e->mask);
  ir_free(e->rx);
  ir_free(e->ry);
}

static const EngineOps ref_ops = {ref_train_step, ref_eval_begin, ref_eval_batch, ref_free, NULL, NULL};

static Status ref_open(Engine *e, Diag *d) {
  Status st = rt_state_new(e->fwd, &e->se, d);
  if (st) return st;
  e->mask = ir_malloc(e->s->total ? e->s->total : 1);
  e->rx = ir_malloc((size_t)e->batch * NFEAT * sizeof(float));
  e->ry = ir_malloc((size_t)e->batch * sizeof(int64_t));
  if (!e->mask || !e->rx || !e->ry) return diag_oom(d);
  rt_state_trainable_mask(e->s, e->mask);
  if (rt_state_copy(e->se, e->s))
    return diag_error(d, (SrcLoc){0}, "model %s: the forward graph's parameters differ from the training graph's",
                      e->fwd->name);
  return JS_OK;
}

/* ---- cuda ---- */

static Status cuda_train_epoch(Engine *e, const RtSplit *sp, const int64_t *order, int64_t norder, int64_t nrows,
                               double lr, double m[2], Diag *d) {
  return rt_dev_train_epoch(e->dev, e->s, e->opt, sp, order, norder, nrows, lr, m, d);
}

/* Loss from the kernel; accuracy and the confusion matrix from the logits, with
 * torch.argmax's tie rule, as the jit engine does. */
/* Accuracy and the confusion matrix from a split's logits ([n][classes], row-major), with
 * torch.argmax's tie rule, as the jit engine does; the loss sum comes from the kernel. */
static void eval_logits(const RtSplit *sp, const float *z, double loss, double m[2], int64_t conf[NCLS][NCLS]) {
  int64_t correct = 0;
  for (int64_t i = 0; i < sp->n; i++) {
    int p = argmax_row(z + i * NCLS, NCLS), t = sp->y[i];
    correct += p == t;
    if (conf) conf[t][p]++;
  }
  m[0] += loss;
  m[1] += (double)correct;
}

static Status cuda_eval_all(Engine *e, const RtSplit *sp, double m[2], int64_t conf[NCLS][NCLS], Diag *d) {
  double loss = 0;
  const float *z = NULL;
  Status st = rt_dev_eval(e->dev, e->s, sp, e->opt ? e->opt->step : 0, &loss, &z, d);
  if (st) return st;
  eval_logits(sp, z, loss, m, conf);
  return JS_OK;
}

static void cuda_free(Engine *e) {
  rt_dev_close(e->dev);
  e->dev = NULL;
}

/* A member of a group of runs on one device (rt_train_group): the group's device runs it. */
static void member_free(Engine *e) { (void)e; }
static const EngineOps member_ops = {.free = member_free};

static const EngineOps cuda_ops = {.free = cuda_free, .train_epoch = cuda_train_epoch, .eval_all = cuda_eval_all};

static Status cuda_open(Engine *e, Diag *d) {
  RtDevConfig dc = {.train = e->opt ? e->train : NULL, .eval = e->train ? e->train : e->fwd, .s = e->s,
                    .oc = e->opt ? e->oc : NULL, .batch = e->batch, .seed = e->seed,
                    .kernel_cache = e->kernel_cache};
  return rt_dev_open(&dc, &e->dev, d);
}

static void engine_close(Engine *e) {
  if (e->ops) e->ops->free(e);
  e->ops = NULL;
}

/* Chooses and opens the engine.  auto probes the jit with a collecting Diag and falls back
 * to ref, saying why. */
static Status engine_open(Engine *e, RtEngineKind want, Diag *d) {
  e->why[0] = 0;
  if (want == RT_ENGINE_INT || want == RT_ENGINE_INT_C)
    return diag_error(d, (SrcLoc){0}, "engine %s runs integer-only inference, which evaluates a quantized model; "
                      "train with --engine auto, jit or ref", rt_engine_name(want));
  if (e->device == RT_DEVICE_CUDA) {
    if (want != RT_ENGINE_AUTO)
      return diag_error(d, (SrcLoc){0}, "--device=cuda runs its own kernels: --engine %s is a CPU engine "
                        "(leave --engine out, or use --device=cpu)", rt_engine_name(want));
    e->ops = e->grouped ? &member_ops : &cuda_ops;
    e->kind = RT_ENGINE_CUDA;
    return e->grouped ? JS_OK : cuda_open(e, d);
  }
  if (want == RT_ENGINE_AUTO) {
    Diag probe;
    diag_init(&probe, NULL);
    Status st = jit_open(e, &probe);
    if (!st) {
      e->ops = &jit_ops;
      e->kind = RT_ENGINE_JIT;
    } else {
      jit_free(e);
      e->tk = e->ek = NULL;
      e->tplan = e->eplan = NULL;
      e->own_tk = e->own_ek = NULL;
      e->own_tplan = e->own_eplan = NULL;
      e->raw_x = e->raw_valid = e->raw_scratch = e->raw_logits = e->raw_y = NULL;
      /* the first line of the jit's complaint, without the "error: " prefix */
      const char *msg = sb_str(&probe.text), *p = strstr(msg, "error: ");
      if (p) msg = p + 7;
      size_t len = strcspn(msg, "\n");
      if (len >= sizeof e->why) len = sizeof e->why - 1;
      memcpy(e->why, msg, len);
      e->why[len] = 0;
      if (st == JS_ENOMEM) {
        diag_free(&probe);
        return diag_oom(d);
      }
    }
    diag_free(&probe);
    if (!st) return JS_OK;
    want = RT_ENGINE_REF;
  }
  if (want == RT_ENGINE_JIT) {
    e->ops = &jit_ops;
    e->kind = RT_ENGINE_JIT;
    return jit_open(e, d);
  }
  e->ops = &ref_ops;
  e->kind = RT_ENGINE_REF;
  return ref_open(e, d);
}

static void engine_describe(const Engine *e, FILE *log) {
  if (!log) return;
  if (e->kind == RT_ENGINE_CUDA) {
    char what[512];
    if (e->grouped)
      snprintf(what, sizeof what, "one thread block of a group of runs that share each epoch's launch");
    else
      rt_dev_describe(e->dev, what, sizeof what);
    fprintf(log, "engine: cuda (%s)\n", what);
  } else if (e->kind == RT_ENGINE_JIT) {
    char how[96];
    if (e->kernels && e->compile_ms == 0) /* a sweep's later trials */
      snprintf(how, sizeof how, "shared with the other runs of this process");
    else
      snprintf(how, sizeof how, "%s in %.0f ms", e->kernels_cached ? "loaded from the kernel cache" : "compiled",
               e->compile_ms);
    fprintf(log, "engine: jit (LLVM kernels for %s: %s step in %d pass%s over the batch, %s)\n", cg_host_cpu(),
            e->tplan ? "training" : "evaluation", cg_plan_passes(e->tplan ? e->tplan : e->eplan),
            cg_plan_passes(e->tplan ? e->tplan : e->eplan) == 1 ? "" : "es", how);
  } else if (e->why[0])
    fprintf(log, "engine: ref (reference executor; jit unavailable: %s)\n", e->why);
  else
    fprintf(log, "engine: ref (reference executor)\n");
}

/* ==== loops ==== */

/* Loss and accuracy of a split, in order, batch by batch. */
static Status eval_split(Engine *e, const RtSplit *sp, RtEvalResult *r, Diag *d) {
  memset(r, 0, sizeof *r);
  r->engine = e->kind;
  r->n = sp->n;
  double m[2] = {0, 0};
  if (e->ops->eval_all) {
    Status st = e->ops->eval_all(e, sp, m, r->confusion, d);
    if (st) return st;
  } else {
    e->ops->eval_begin(e);
    for (int64_t start = 0; start < sp->n; start += e->batch) {
      int64_t n = sp->n - start < e->batch ? sp->n - start : e->batch;
      Status st = e->ops->eval_batch(e, sp, start, n, m, r->confusion, d);
      if (st) return st;
    }
  }
  r->loss = sp->n ? m[0] / (double)sp->n : NAN;
  r->acc = sp->n ? m[1] / (double)sp->n : NAN;
  return JS_OK;
}

/* The per-epoch shuffle: Rng seeded from (seed, epoch), independent of anything else drawn,
 * so a resumed run shuffles as an uninterrupted one. */
static void epoch_order(uint64_t seed, int64_t epoch, int64_t *idx, int64_t n) {
  Rng r;
  rt_rng_seed(&r, seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(epoch + 1)));
  rt_rng_permutation(&r, idx, n);
}

/* The next epoch's shuffle, made on a second thread while this epoch trains: a pure function
 * of the seed and the epoch, so it is the very order epoch_order would make inline.  Where
 * the thread cannot start, epoch_begin shuffles inline. */
typedef struct Shuffler {
  pthread_t th;
  bool running;   /* th is shuffling epoch `epoch` into buf */
  uint64_t seed;
  int64_t epoch;  /* 0-based */
  int64_t *buf;   /* [n] the next epoch's order (Run.next_order) */
  int64_t n;
} Shuffler;

static void *shuffler_main(void *arg) {
  Shuffler *s = arg;
  epoch_order(s->seed, s->epoch, s->buf, s->n);
  return NULL;
}

static void shuffler_start(Shuffler *s, uint64_t seed, int64_t epoch, int64_t *buf, int64_t n) {
  *s = (Shuffler){.seed = seed, .epoch = epoch, .buf = buf, .n = n};
  s->running = buf && pthread_create(&s->th, NULL, shuffler_main, s) == 0;
}

/* Waits for the thread; true when it shuffled `epoch`. */
static bool shuffler_join(Shuffler *s, int64_t epoch) {
  if (!s->running) return false;
  pthread_join(s->th, NULL);
  s->running = false;
  return s->epoch == epoch;
}

/* ==== one epoch's end ==== */

/* What one epoch produced. */
typedef struct EpochOut {
  int64_t ep;              /* 0-based */
  double lr, t0, t_train;  /* its rate; when it started; seconds in the training loop */
  double tl, ta;           /* training loss and accuracy */
  RtEvalResult v;          /* validation */
  bool improved;           /* became best.safetensors */
  bool diverged;           /* a loss or a weight is not finite */
} EpochOut;

/* Every weight and buffer finite: a NaN or an infinity there poisons every later epoch even
 * while the losses still read finite. */
static bool state_finite(const RtState *s) {
  for (size_t i = 0; i < s->total; i++)
    if (!isfinite(s->data[i])) return false;
  return true;
}

/* ==== the run ==== */

static Status load_data(const RtDataOpts *o, const RtDataset *given, RtDataset *own, const RtDataset **ds,
                        FILE *log, Diag *d) {
  if (given) {
    *ds = given;
  } else {
    Status st = rt_data_load(o, own, d);
    if (st) return st;
    *ds = own;
  }
  if (log) {
    const RtDataset *x = *ds;
    /* Synthetic data are said so on the first line, whatever the description holds. */
    bool say = x->synthetic && !strstr(x->desc, "SYNTHETIC");
    fprintf(log, "data: %s%s; train %lld, val %lld, test %lld rows\n", say ? "SYNTHETIC: " : "", x->desc,
            (long long)x->train.n, (long long)x->val.n, (long long)x->test.n);
  }
  return JS_OK;
}

/* Everything one rt_train call holds. */
typedef struct Run {
  const RtTrainConfig *c;
  RtTrainResult *res;
  RunDir rd;
  Engine e;
  OptimState opt;
  RtDataset own;             /* the data when loaded here */
  const RtDataset *ds;
  ModelIO io;
  SchedConfig sched;         /* t_max resolved */
  StrBuf csv;                /* metrics.csv as it stands */
  int64_t *order;            /* [train rows] the epoch's shuffle */
  int64_t *next_order;       /* [train rows] the next epoch's, made by `shuffler` (NULL: inline) */
  Shuffler shuffler;
  int64_t ntrain, nbatches;  /* rows and steps per epoch */
  int64_t epoch0;            /* epochs committed before this call */
  double best;               /* the monitor's best value */
  int64_t best_epoch;        /* 0: none yet */
  bool starred;              /* the epoch lines' `*` was explained */
  int64_t committed;         /* the last epoch committed (epoch0 before the first) */
  bool have_init;            /* --init given: its hash */
  uint64_t init_hash;
} Run;

/* A progress bar on stderr (a tty): steps, the time left, the running training loss. */
typedef struct Progress {
  int64_t epoch, epochs, steps; /* 1-based epoch */
  double t0;                    /* when the epoch started */
} Progress;

static void progress_bar(const Progress *p, int64_t done, double loss_sum, int64_t rows) {
  int width = 24, fill = p->steps ? (int)(done * width / p->steps) : width;
  char bar[32];
  for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : ' ';
  bar[width] = 0;
  double left = done ? (now_s() - p->t0) * (double)(p->steps - done) / (double)done : 0;
  long secs = (long)(left + 0.5);
  fprintf(stderr, "\repoch %lld/%lld [%s] %lld/%lld steps  ETA %ld:%02ld  loss %.4f ", (long long)p->epoch,
          (long long)p->epochs, bar, (long long)done, (long long)p->steps, secs / 60, secs % 60,
          rows ? loss_sum / (double)rows : NAN);
  fflush(stderr);
}

static void progress_clear(void) { fprintf(stderr, "\r%90s\r", ""); }

/* The graph after the user's passes, as printed: what the manifest's graph_hash compares. */
static Status graph_hash(const Graph *g, uint64_t *h, Diag *d) {
  StrBuf sb;
  sb_init(&sb);
  ir_print_graph(&sb, g);
  Status st = sb.oom ? diag_oom(d) : JS_OK;
  *h = rt_hash64(sb_str(&sb), sb.len);
  sb_free(&sb);
  return st;
}

static Status run_manifest_in(Run *r, ManifestIn *in, Diag *d) {
  *in = (ManifestIn){.c = r->c, .ds = r->ds, .engine = rt_engine_name(r->e.kind), .t_max = r->sched.t_max,
                     .have_init = r->have_init, .init_hash = r->init_hash,
                     .resumed_from = r->rd.resume ? r->epoch0 : -1};
  if (r->e.kind == RT_ENGINE_CUDA) in->device = r->e.grouped ? "cuda (a group of runs)" : rt_dev_name(r->e.dev);
  return graph_hash(r->c->train, &in->graph_hash, d);
}

/* The weights a new run starts from: the seed's initialisation, or --init's. */
static Status run_fresh(Run *r, Diag *d) {
  Rng rng;
  rt_rng_seed(&rng, r->c->seed);
  rt_state_init(r->e.s, &rng);
  sb_puts(&r->csv, rundir_csv_header);
  Status st = JS_OK;
  if (r->c->init_ckpt && (st = rt_ckpt_load(r->c->init_ckpt, r->e.s, d))) return st;
  /* init.safetensors before the manifest: a directory with a manifest can always restart */
  if ((st = rundir_write_init(&r->rd, r->e.s, r->c->seed, d))) return st;
  ManifestIn in;
  if ((st = run_manifest_in(r, &in, d))) return st;
  return rundir_write_manifest(&r->rd, &in, NULL, d);
}

/* Resume: the continuing command against the run's manifest; *diffs gets what differs,
 * refused unless --force (the manifest's resume entry then records it). */
static Status run_check_settings(Run *r, ManifestIn *in, StrBuf *diffs, Diag *d) {
  Status st = run_manifest_in(r, in, d);
  if (!st) st = rundir_compare(&r->rd, in, diffs, d);
  if (st || !diffs->len) return st;
  if (!r->c->force)
    return diag_error(d, (SrcLoc){0}, "--resume %s: this command's settings differ from the run's (manifest.json):\n%s"
                      "repeat the run's settings, or add --force to continue with these", r->rd.path, sb_str(diffs));
  diag_warning(d, (SrcLoc){0}, "--resume %s --force: continuing with settings that differ from the run's:\n%s",
               r->rd.path, sb_str(diffs));
  return JS_OK;
}

/* A run that stopped before committing an epoch starts again from init.safetensors. */
static Status run_restart(Run *r, Diag *d) {
  char p[1200];
  snprintf(p, sizeof p, "%s/init.safetensors", r->rd.path);
  if (r->c->log)
    fprintf(r->c->log, "resuming: no epoch of the run was committed (it stopped in its first epoch): restarting it "
            "from init.safetensors\n");
  Status st = rt_ckpt_load(p, r->e.s, d);
  for (const char *const *f = (const char *const[]){"last.safetensors", "best.safetensors", NULL}; !st && *f; f++) {
    snprintf(p, sizeof p, "%s/%s", r->rd.path, *f); /* written before a commit that never came */
    if (unlink(p) != 0 && errno != ENOENT) st = diag_error(d, (SrcLoc){0}, "cannot remove '%s': %s", p, strerror(errno));
  }
  return st;
}

static Status run_resume(Run *r, Diag *d) {
  ManifestIn in;
  StrBuf diffs;
  sb_init(&diffs);
  Status st = run_check_settings(r, &in, &diffs, d);
  if (!st && !r->rd.committed) st = run_restart(r, d);
  if (!st && r->rd.committed) {
    st = rundir_load_commit(&r->rd, r->e.s, &r->opt, &r->epoch0, &r->best, &r->best_epoch, d);
    if (!st) st = rundir_repair(&r->rd, r->e.s, r->epoch0, r->best_epoch, r->best, r->c->log, d);
  }
  if (!st) {
    rundir_read_metrics(&r->rd, r->epoch0, &r->csv); /* rows past the commit go now */
    r->res->best_val_acc = rundir_metrics_val_acc(sb_str(&r->csv), r->best_epoch);
    in.resumed_from = r->epoch0;
    st = rundir_write_text(&r->rd, "metrics.csv", &r->csv, d);
    if (!st) st = rundir_write_manifest(&r->rd, &in, diffs.len ? sb_str(&diffs) : NULL, d);
  }
  sb_free(&diffs);
  return st;
}

/* Directory, model state, engine, data: everything before the first epoch. */
static Status run_open(Run *r, Diag *d) {
  const RtTrainConfig *c = r->c;
  Status st = rundir_open(&r->rd, c, d);
  if (st) return st;
  snprintf(r->res->out_dir, sizeof r->res->out_dir, "%s", r->rd.path);
  r->sched = c->sched;
  if (r->rd.resume && r->sched.t_max <= 0) r->sched.t_max = rundir_run_t_max(&r->rd); /* the run's period */
  if (r->sched.t_max <= 0) r->sched.t_max = c->max_epochs;
  if (c->init_ckpt && (st = rundir_hash_file(c->init_ckpt, &r->init_hash, d))) return st;
  r->have_init = c->init_ckpt != NULL;
  if ((st = rt_state_new(c->train, &r->e.s, d))) return st;
  if ((st = rt_optim_state_new(c->optim.kind, r->e.s->total, &r->opt, d))) return st;
  r->e.opt = &r->opt;
  /* The kernels before the data: compiling is the memory peak of LLVM's side, and once the
   * kernels exist LLVM's code can leave the resident set (cg_llvm_trim) before the data
   * arrive.  A model the jit refuses leaves nothing behind either.  A run handed its data
   * (a sweep's trial) shares the process with other runs, compiling or training on other
   * threads: the process-wide trim is left to the process (malloc_trim is not safe
   * beside other threads under every allocator). */
  if ((st = engine_open(&r->e, c->engine, d))) return st;
  if (r->e.kind == RT_ENGINE_JIT && !c->dataset) cg_llvm_trim();
  if ((st = load_data(&c->data, c->dataset, &r->own, &r->ds, c->log, d))) return st;
  if (r->ds->train.n < 1) return diag_error(d, (SrcLoc){0}, "the training split is empty");
  return r->rd.resume ? run_resume(r, d) : run_fresh(r, d);
}

/* Rows and steps per epoch, the shuffle buffer, and the lines before the first epoch. */
static Status run_plan(Run *r, Diag *d) {
  const RtTrainConfig *c = r->c;
  if (!(r->order = ir_malloc((size_t)r->ds->train.n * sizeof *r->order))) return diag_oom(d);
  r->next_order = ir_malloc((size_t)r->ds->train.n * sizeof *r->next_order); /* optional */
  /* A BatchNorm cannot normalise a batch of one row in training (PyTorch raises): a last
   * batch of one row is left out, as drop_last would. */
  r->ntrain = r->ds->train.n;
  if (r->io.has_batchnorm && r->ntrain % c->batch_size == 1 && r->ntrain > 1) {
    r->ntrain--;
    diag_warning(d, (SrcLoc){0}, "the last training batch would hold one row, which BatchNorm1d cannot normalise in "
                                 "training: it is left out each epoch");
  }
  r->nbatches = (r->ntrain + c->batch_size - 1) / c->batch_size;
  r->res->epochs = r->epoch0;
  int64_t nbuf = 0;
  ir_module_count(c->fwd->root, &r->res->trainable_params, &nbuf);
  if (c->log) {
    engine_describe(&r->e, c->log);
    fprintf(c->log, "run directory: %s\n", r->rd.path);
    if (c->init_ckpt && !r->rd.resume) fprintf(c->log, "initial weights: %s\n", c->init_ckpt);
    if (r->epoch0) fprintf(c->log, "resuming after epoch %lld (step %lld)\n", (long long)r->epoch0, (long long)r->opt.step);
    fflush(c->log);
  }
  return JS_OK;
}

/* One epoch's training steps; m gets the summed loss and the correct count. */
static Status run_train_steps(Run *r, int64_t ep, double lr, double m[2], Diag *d) {
  const RtTrainConfig *c = r->c;
  Engine *e = &r->e;
  const RtSplit *sp = &r->ds->train;
  if (e->ops->train_epoch) /* one call for the epoch: no progress to draw until it is done */
    return e->ops->train_epoch(e, sp, r->order, sp->n, r->ntrain, lr, m, d);
  Progress pg = {.epoch = ep + 1, .epochs = c->max_epochs, .steps = r->nbatches, .t0 = now_s()};
  e->order_end = r->order + r->ntrain;
  for (int64_t b = 0; b < r->nbatches; b++) {
    int64_t start = b * c->batch_size;
    int64_t n = r->ntrain - start < c->batch_size ? r->ntrain - start : c->batch_size;
    Status st = e->ops->train_step(e, sp, r->order + start, n, lr, m, d);
    if (st) return st;
    if (c->progress && (b % (r->nbatches / 100 + 1) == 0 || b + 1 == r->nbatches))
      progress_bar(&pg, b + 1, m[0], start + n);
  }
  return JS_OK;
}

/* The epoch's metrics.csv row: written before the commit, so that a committed epoch always
 * has its row (rows past the commit are dropped on resume). */
static Status record_epoch(Run *r, const EpochOut *eo, double *secs, Diag *d) {
  *secs = now_s() - eo->t0;
  double sps = eo->t_train > 0 ? (double)r->ntrain / eo->t_train : 0;
  sb_printf(&r->csv, "%lld,%.9g,%.9g,%.9g,%.9g,%.9g,%.6f,%.1f,%.6f\n", (long long)(eo->ep + 1), eo->tl, eo->ta,
            eo->v.loss, eo->v.acc, eo->lr, *secs, sps, eo->t_train);
  return rundir_write_text(&r->rd, "metrics.csv", &r->csv, d);
}

/* The epoch's line in the log; the first `*` says what it means. */
static void log_epoch(Run *r, const EpochOut *eo, double secs, double sps) {
  const RtTrainConfig *c = r->c;
  if (!c->log || c->quiet) return;
  const char *star = !eo->improved ? ""
                     : r->starred  ? "  *"
                     : r->ds->val.n ? "  * new best val_loss: saved best.safetensors"
                                    : "  * new best train_loss (no validation split): saved best.safetensors";
  if (eo->improved) r->starred = true;
  fprintf(c->log, "epoch %lld/%lld  train loss %.4f acc %.4f  val loss %.4f acc %.4f  lr %.3g  %.3f s (training %.3f s)  %.0f samples/s%s\n",
          (long long)(eo->ep + 1), (long long)c->max_epochs, eo->tl, eo->ta, eo->v.loss, eo->v.acc, eo->lr, secs,
          eo->t_train, sps, star);
  fflush(c->log);
}

/* The epoch's line, the result so far, then the hook. */
static Status report_epoch(Run *r, const EpochOut *eo, double secs, Diag *d) {
  const RtTrainConfig *c = r->c;
  RtTrainResult *res = r->res;
  double sps = eo->t_train > 0 ? (double)r->ntrain / eo->t_train : 0;
  log_epoch(r, eo, secs, sps);
  int64_t ran = res->ran_epochs++;
  res->mean_epoch_seconds = (res->mean_epoch_seconds * (double)ran + secs) / (double)(ran + 1);
  res->train_seconds_sum += eo->t_train;
  res->samples_per_second = res->train_seconds_sum > 0 ? (double)r->ntrain * (double)(ran + 1) / res->train_seconds_sum : 0;
  res->epochs = eo->ep + 1 - (eo->diverged ? 1 : 0);
  res->train_loss = eo->tl;
  res->train_acc = eo->ta;
  res->val_loss = eo->v.loss;
  res->val_acc = eo->v.acc;
  if (eo->diverged) {
    res->diverged = true;
    res->diverged_epoch = eo->ep + 1;
  }
  if (!c->on_epoch) return JS_OK;
  RtEpochInfo info = {.epoch = eo->ep + 1, .max_epochs = c->max_epochs, .train_loss = eo->tl, .train_acc = eo->ta,
                      .val_loss = eo->v.loss, .val_acc = eo->v.acc, .lr = eo->lr, .epoch_seconds = secs,
                      .samples_per_second = sps, .train_seconds = eo->t_train, .improved = eo->improved,
                      .diverged = eo->diverged};
  return c->on_epoch(c->on_epoch_ud, &info, d);
}

/* The commit of a finite epoch, then best.safetensors when it improved (rundir.h). */
static Status commit_epoch(Run *r, const EpochOut *eo, Diag *d) {
  const RtTrainConfig *c = r->c;
  EpochCommit ec = {.epoch = eo->ep + 1, .improved = eo->improved, .best = r->best, .best_epoch = r->best_epoch,
                    .seed = c->seed, .data_hash = r->ds->hash, .batch_size = c->batch_size};
  Status st = rundir_commit(&r->rd, r->e.s, &r->opt, &ec, d);
  if (st) return st;
  r->committed = eo->ep + 1;
  return eo->improved ? rundir_save_best(&r->rd, r->e.s, &ec, d) : JS_OK;
}

/* An epoch's start: its learning rate and shuffle. */
static void epoch_begin(Run *r, int64_t ep, EpochOut *eo) {
  const RtTrainConfig *c = r->c;
  *eo = (EpochOut){.ep = ep, .t0 = now_s(), .lr = rt_sched_lr(&r->sched, c->optim.lr, ep)};
  if (shuffler_join(&r->shuffler, ep)) {
    int64_t *t = r->order;
    r->order = r->next_order;
    r->next_order = t;
  } else {
    epoch_order(c->seed, ep, r->order, r->ds->train.n);
  }
  if (ep + 1 < c->max_epochs) shuffler_start(&r->shuffler, c->seed, ep + 1, r->next_order, r->ds->train.n);
}

/* After training (m: summed loss and correct count) and validation (eo->v): the monitor, the
 * record, the commit (unless it diverged) and the report. */
static Status epoch_end(Run *r, EpochOut *eo, const double m[2], Diag *d) {
  eo->tl = m[0] / (double)r->ntrain;
  eo->ta = m[1] / (double)r->ntrain;
  eo->diverged = !isfinite(eo->tl) || !isfinite(eo->v.loss) || !state_finite(r->e.s);
  if (!eo->diverged) {
    /* the monitor: validation loss, or the training loss when there is no validation split */
    double mon = r->ds->val.n ? eo->v.loss : eo->tl;
    eo->improved = r->best_epoch == 0 || mon < r->best;
    if (eo->improved) {
      r->best = mon;
      r->best_epoch = eo->ep + 1;
      r->res->best_val_acc = eo->v.acc;
    }
  }
  double secs;
  Status st = record_epoch(r, eo, &secs, d);
  if (!st && !eo->diverged) st = commit_epoch(r, eo, d);
  return st ? st : report_epoch(r, eo, secs, d);
}

/* One epoch: train, validate, record, commit (unless it diverged), report. */
static Status run_epoch(Run *r, int64_t ep, Diag *d) {
  EpochOut eo;
  epoch_begin(r, ep, &eo);
  double m[2] = {0, 0};
  Status st = run_train_steps(r, ep, eo.lr, m, d);
  if (r->c->progress) progress_clear();
  if (st) return st;
  eo.t_train = now_s() - eo.t0;
  if ((st = eval_split(&r->e, &r->ds->val, &eo.v, d))) return st;
  return epoch_end(r, &eo, m, d);
}

/* ==== rt_train ==== */

static Status check_train_config(const RtTrainConfig *c, Diag *d) {
  SrcLoc none = {0};
  if (!c->fwd || !c->train) return diag_error(d, none, "rt_train needs the forward and the training graph");
  if (c->batch_size < 1 || c->batch_size > MAX_BATCH)
    return diag_error(d, none, "batch size %lld is not in [1, %lld]", (long long)c->batch_size, (long long)MAX_BATCH);
  if (c->max_epochs < 1) return diag_error(d, none, "max epochs %lld is below 1", (long long)c->max_epochs);
  if (!(c->optim.lr > 0) || !isfinite(c->optim.lr)) return diag_error(d, none, "learning rate must be positive");
  return JS_OK;
}

static void run_summary(Run *r) {
  const RtTrainConfig *c = r->c;
  RtTrainResult *res = r->res;
  res->engine = r->e.kind;
  res->steps = r->opt.step;
  res->best_val_loss = r->best;
  res->best_epoch = r->best_epoch;
  if (!res->ran_epochs) res->mean_epoch_seconds = res->samples_per_second = NAN;
  if (res->diverged || !c->log) return; /* the caller says it: jscc train as an error, a sweep as a status */
  if (r->epoch0 >= c->max_epochs)
    fprintf(c->log, "nothing to do: the run has %lld epochs already (--max-epochs %lld)\n", (long long)r->epoch0,
            (long long)c->max_epochs);
  fprintf(c->log, "best val_loss %.4f at epoch %lld; checkpoints and metrics in %s\n", r->best,
          (long long)r->best_epoch, r->rd.path);
  fflush(c->log);
}

/* An epoch failed (a full disk, an I/O error, the hook): what the directory still holds. */
static void run_failed_note(const Run *r, Diag *d) {
  if (r->committed)
    diag_note(d, (SrcLoc){0}, "%s keeps epoch %lld, its last committed: continue it with --resume %s once the cause "
              "is fixed", r->rd.path, (long long)r->committed, r->rd.path);
  else
    diag_note(d, (SrcLoc){0}, "%s has no committed epoch yet: --resume %s restarts it from init.safetensors", r->rd.path,
              r->rd.path);
}

Status rt_train(const RtTrainConfig *c, RtTrainResult *res, Diag *d) {
  memset(res, 0, sizeof *res);
  res->train_loss = res->train_acc = res->val_loss = res->val_acc = res->best_val_loss = res->best_val_acc = NAN;
  Run r = {.c = c, .res = res, .best = INFINITY};
  Status st = check_train_config(c, d);
  if (!st) st = check_model(c->fwd, c->train, &r.io, d);
  if (!st) rt_check_logits(c->fwd, d);
  if (st) return st;
  r.e = (Engine){.fwd = c->fwd, .train = c->train, .io = r.io, .oc = &c->optim, .seed = c->seed,
                 .batch = c->batch_size, .device = c->device, .kernels = c->kernels,
                 .kernel_cache = c->kernel_cache, .tuning = c->tuning, .on_compile = c->on_compile,
                 .on_compile_ud = c->on_compile_ud};
  sb_init(&r.csv);
  st = run_open(&r, d);
  if (!st) st = run_plan(&r, d);
  r.committed = r.epoch0;
  for (int64_t ep = r.epoch0; !st && ep < c->max_epochs && !res->diverged; ep++)
    if ((st = run_epoch(&r, ep, d))) run_failed_note(&r, d);
  if (!st) run_summary(&r);
  shuffler_join(&r.shuffler, -1);
  engine_close(&r.e);
  rt_optim_state_free(&r.opt);
  rt_state_free(r.e.s);
  ir_free(r.order);
  ir_free(r.next_order);
  sb_free(&r.csv);
  rt_data_free(&r.own);
  rundir_close(&r.rd);
  return st;
}

/* ==== rt_train_group: runs side by side on one GPU ==== */

bool rt_train_groupable(const RtTrainConfig *a, const RtTrainConfig *b) {
  OptimConfig oa = a->optim, ob = b->optim;
  oa.lr = ob.lr = 0;
  return a->train == b->train && a->fwd == b->fwd && a->batch_size == b->batch_size &&
         a->max_epochs == b->max_epochs && !memcmp(&oa, &ob, sizeof oa) && !memcmp(&a->sched, &b->sched, sizeof a->sched) &&
         a->dataset == b->dataset && a->dataset && a->device == RT_DEVICE_CUDA && b->device == RT_DEVICE_CUDA &&
         !a->resume_dir && !b->resume_dir && !a->init_ckpt && !b->init_ckpt && a->engine == b->engine;
}

static Status group_check(const RtTrainConfig *a, const RtTrainConfig *b, Diag *d) {
  if (rt_train_groupable(a, b)) return JS_OK;
  return diag_error(d, (SrcLoc){0}, "rt_train_group: its runs must share model, batch size, epochs, optimizer, schedule "
                    "and loaded data, train on the device, and start afresh");
}

/* The device of the group: the open runs' states, optimizers and seeds. */
typedef struct Group {
  Run *r;                    /* [n] */
  int n;
  Status *st;                /* [n] each run's status */
  Diag *const *d;            /* [n] each run's diagnostics */
  RtDev *dev;
  RtState **s;               /* [n] */
  OptimState **opt;          /* [n] */
  const int64_t **orders;    /* [n] */
  double *lr, (*m)[2], *loss;/* [n] */
  int64_t *step;             /* [n] */
  const float **z;           /* [n] */
  EpochOut *eo;              /* [n] */
} Group;

static bool group_active(const Group *g, int i) { return !g->st[i] && !g->r[i].res->diverged; }

static Status group_open(Group *g, Diag *d) {
  int n = g->n;
  uint64_t *seeds = ir_malloc((size_t)n * sizeof *seeds);
  g->s = ir_calloc((size_t)n, sizeof *g->s), g->opt = ir_calloc((size_t)n, sizeof *g->opt);
  g->orders = ir_calloc((size_t)n, sizeof *g->orders), g->lr = ir_calloc((size_t)n, sizeof *g->lr);
  g->m = ir_calloc((size_t)n, sizeof *g->m), g->loss = ir_calloc((size_t)n, sizeof *g->loss);
  g->step = ir_calloc((size_t)n, sizeof *g->step), g->z = ir_calloc((size_t)n, sizeof *g->z);
  g->eo = ir_calloc((size_t)n, sizeof *g->eo);
  Status st = seeds && g->s && g->opt && g->orders && g->lr && g->m && g->loss && g->step && g->z && g->eo ? JS_OK
                                                                                                       : diag_oom(d);
  for (int i = 0; !st && i < n; i++) {
    g->s[i] = g->r[i].e.s, g->opt[i] = &g->r[i].opt, g->orders[i] = g->r[i].order;
    seeds[i] = g->r[i].c->seed;
  }
  const RtTrainConfig *c = g->r[0].c;
  RtDevConfig dc = {.train = c->train, .eval = c->train, .s = g->s[0], .oc = &c->optim, .batch = c->batch_size,
                    .seeds = seeds, .kernel_cache = c->kernel_cache};
  if (!st) st = rt_dev_open_group(&dc, n, &g->dev, d);
  ir_free(seeds);
  return st;
}

/* One epoch of every run: one launch trains them all, one validates them all; then each run
 * records, commits and reports its epoch (a run that fails there stops alone). */
static Status group_epoch(Group *g, int64_t ep, Diag *d) {
  const RtDataset *ds = g->r[0].ds;
  for (int i = 0; i < g->n; i++) {
    epoch_begin(&g->r[i], ep, &g->eo[i]);
    g->orders[i] = g->r[i].order; /* epoch_begin may have swapped in the shuffler's buffer */
    g->lr[i] = g->eo[i].lr;
    g->m[i][0] = g->m[i][1] = 0;
  }
  double t0 = now_s();
  Status st = rt_dev_train_epoch_group(g->dev, g->s, g->opt, &ds->train, g->orders, ds->train.n, g->r[0].ntrain, g->lr,
                                       g->m, d);
  double t_train = now_s() - t0;
  for (int i = 0; i < g->n; i++) g->step[i] = g->opt[i]->step;
  if (!st) st = rt_dev_eval_group(g->dev, (const RtState *const *)g->s, &ds->val, g->step, g->loss, g->z, d);
  for (int i = 0; !st && i < g->n; i++) {
    if (!group_active(g, i)) continue; /* it still trains in the launch, unread */
    EpochOut *eo = &g->eo[i];
    eo->t_train = t_train;
    eo->v = (RtEvalResult){.engine = RT_ENGINE_CUDA, .n = ds->val.n};
    double vm[2] = {0, 0};
    eval_logits(&ds->val, g->z[i], g->loss[i], vm, eo->v.confusion);
    eo->v.loss = ds->val.n ? vm[0] / (double)ds->val.n : NAN;
    eo->v.acc = ds->val.n ? vm[1] / (double)ds->val.n : NAN;
    if ((g->st[i] = epoch_end(&g->r[i], eo, g->m[i], g->d[i]))) run_failed_note(&g->r[i], g->d[i]);
  }
  return st;
}

static void group_free(Group *g) {
  rt_dev_close(g->dev);
  ir_free(g->s), ir_free(g->opt), ir_free(g->orders), ir_free(g->lr), ir_free(g->m), ir_free(g->loss);
  ir_free(g->step), ir_free(g->z), ir_free(g->eo);
}

/* Run i up to its first epoch, as rt_train does; its failure is its own. */
static void group_run_open(Group *g, int i, const RtTrainConfig *c, RtTrainResult *res) {
  Run *r = &g->r[i];
  memset(res, 0, sizeof *res);
  res->train_loss = res->train_acc = res->val_loss = res->val_acc = res->best_val_loss = res->best_val_acc = NAN;
  *r = (Run){.c = c, .res = res, .best = INFINITY};
  sb_init(&r->csv);
  Status st = check_train_config(c, g->d[i]);
  if (!st) st = check_model(c->fwd, c->train, &r->io, g->d[i]);
  if (!st) rt_check_logits(c->fwd, g->d[i]);
  r->e = (Engine){.fwd = c->fwd, .train = c->train, .io = r->io, .oc = &c->optim, .seed = c->seed,
                  .batch = c->batch_size, .device = c->device, .grouped = true};
  if (!st) st = run_open(r, g->d[i]);
  if (!st) st = run_plan(r, g->d[i]);
  g->st[i] = st;
}

static void group_run_close(Run *r) {
  shuffler_join(&r->shuffler, -1);
  engine_close(&r->e);
  rt_optim_state_free(&r->opt);
  rt_state_free(r->e.s);
  ir_free(r->order);
  ir_free(r->next_order);
  sb_free(&r->csv);
  rt_data_free(&r->own);
  rundir_close(&r->rd);
}

Status rt_train_group(const RtTrainConfig *cs, int n, RtTrainResult *res, Status *run_st, Diag *const *run_d, Diag *d) {
  if (n < 1 || n > RT_DEV_MAX_TRIALS) return diag_error(d, (SrcLoc){0}, "rt_train_group: 1 to %d runs", RT_DEV_MAX_TRIALS);
  for (int i = 1; i < n; i++)
    if (group_check(&cs[0], &cs[i], d)) return JS_ERR;
  Group g = {.n = n, .st = run_st, .d = run_d, .r = ir_calloc((size_t)n, sizeof *g.r)};
  if (!g.r) return diag_oom(d);
  for (int i = 0; i < n; i++) group_run_open(&g, i, &cs[i], &res[i]);
  Status st = JS_OK;
  for (int i = 0; i < n && !st; i++) st = run_st[i] ? JS_ERR : JS_OK; /* the device takes every run or none */
  if (st) st = diag_error(d, (SrcLoc){0}, "a run of the group could not start (its own message says why)");
  if (!st) st = group_open(&g, d);
  for (int64_t ep = 0; !st && ep < cs[0].max_epochs; ep++) {
    bool any = false;
    for (int i = 0; i < n; i++) any |= group_active(&g, i);
    if (!any) break;
    st = group_epoch(&g, ep, d);
  }
  for (int i = 0; i < n; i++) {
    if (!st && !run_st[i]) run_summary(&g.r[i]);
    group_run_close(&g.r[i]);
  }
  group_free(&g);
  ir_free(g.r);
  return st;
}

/* ==== rt_test ==== */

Status rt_test(const RtTestConfig *c, RtEvalResult *res, Diag *d) {
  memset(res, 0, sizeof *res);
  SrcLoc none = {0};
  if (!c->fwd) return diag_error(d, none, "rt_test needs the forward graph");
  if (!c->ckpt) return diag_error(d, none, "rt_test needs a checkpoint");
  if (c->batch_size < 1 || c->batch_size > MAX_BATCH)
    return diag_error(d, none, "batch size %lld is not in [1, %lld]", (long long)c->batch_size, (long long)MAX_BATCH);
  ModelIO io;
  Status st = check_model(c->fwd, c->train, &io, d);
  if (st) return st;
  RtDataset own = {0};
  const RtDataset *ds = NULL;
  Engine e = {.fwd = c->fwd, .train = c->train, .io = io, .batch = c->batch_size, .device = c->device,
              .kernels = c->kernels, .kernel_cache = c->kernel_cache, .tuning = c->tuning};
  /* Weights first: a bad checkpoint is reported before the data are built. */
  if ((st = rt_state_new(c->train ? c->train : c->fwd, &e.s, d))) goto done;
  if ((st = rt_ckpt_load(c->ckpt, e.s, d))) goto done;
  /* A GPU that is not there is said before the data are built. */
  bool early = c->device == RT_DEVICE_CUDA;
  if (early && (st = engine_open(&e, c->engine, d))) goto done;
  if ((st = load_data(&c->data, c->dataset, &own, &ds, c->log, d))) goto done;
  if (!early && (st = engine_open(&e, c->engine, d))) goto done;
  engine_describe(&e, c->log);
  st = eval_split(&e, c->split == RT_SPLIT_VAL ? &ds->val : &ds->test, res, d);
  res->split = c->split;

done:
  engine_close(&e);
  rt_state_free(e.s);
  rt_data_free(&own);
  return st;
}

double rt_eval_macro_acc(const RtEvalResult *r) {
  double sum = 0;
  int classes = 0;
  for (int k = 0; k < NCLS; k++) {
    int64_t tp = r->confusion[k][k], fn = 0, fp = 0;
    for (int j = 0; j < NCLS; j++)
      if (j != k) fn += r->confusion[k][j], fp += r->confusion[j][k];
    if (tp + fn + fp == 0) continue; /* a class absent from targets and predictions */
    classes++;
    sum += tp + fn ? (double)tp / (double)(tp + fn) : 0;
  }
  return classes ? sum / classes : NAN;
}

const char *rt_split_name(RtSplitKind k) { return k == RT_SPLIT_VAL ? "val" : "test"; }

bool rt_split_parse(const char *s, RtSplitKind *out) {
  if (strcmp(s, "test") && strcmp(s, "val")) return false;
  *out = strcmp(s, "val") == 0 ? RT_SPLIT_VAL : RT_SPLIT_TEST;
  return true;
}

/* Rows of class t, and its accuracy (recall); NaN when it has none. */
static double class_acc(const RtEvalResult *r, int t, int64_t *rows) {
  *rows = 0;
  for (int p = 0; p < NCLS; p++) *rows += r->confusion[t][p];
  return *rows ? (double)r->confusion[t][t] / (double)*rows : NAN;
}

void rt_eval_report(StrBuf *sb, const RtEvalResult *r) {
  const char *sp = rt_split_name(r->split);
  char label[32];
  snprintf(label, sizeof label, "%s rows", sp);
  sb_printf(sb, "%-20s %lld\n", label, (long long)r->n);
  snprintf(label, sizeof label, "%s loss", sp);
  sb_printf(sb, "%-20s %.6f\n", label, r->loss);
  snprintf(label, sizeof label, "%s accuracy", sp);
  sb_printf(sb, "%-20s %.6f  (micro: correct / rows)\n", label, r->acc);
  snprintf(label, sizeof label, "%s macro accuracy", sp);
  sb_printf(sb, "%-20s %.6f  (macro: the mean of the per-class accuracies)\n", label, rt_eval_macro_acc(r));
  sb_puts(sb, "per-class accuracy:\n");
  for (int t = 0; t < NCLS; t++) {
    int64_t rows;
    double a = class_acc(r, t, &rows);
    if (rows)
      sb_printf(sb, "  %s  %.6f  (%lld rows)\n", rt_jsc_class_names[t], a, (long long)rows);
    else
      sb_printf(sb, "  %s  -  (0 rows)\n", rt_jsc_class_names[t]);
  }
  sb_puts(sb, "confusion matrix (rows: true class, columns: predicted):\n");
  sb_printf(sb, "%6s", "");
  for (int p = 0; p < NCLS; p++) sb_printf(sb, " %8s", rt_jsc_class_names[p]);
  sb_putc(sb, '\n');
  for (int t = 0; t < NCLS; t++) {
    sb_printf(sb, "%6s", rt_jsc_class_names[t]);
    for (int p = 0; p < NCLS; p++) sb_printf(sb, " %8lld", (long long)r->confusion[t][p]);
    sb_putc(sb, '\n');
  }
}

/* A number, or null when it is not finite (JSON has no NaN). */
static void put_num_or_null(StrBuf *sb, double x) {
  if (isfinite(x))
    sb_put_json_num(sb, x);
  else
    sb_puts(sb, "null");
}

static void eval_json_classes(StrBuf *sb, const RtEvalResult *r) {
  sb_puts(sb, ",\n  \"per_class\": {");
  for (int t = 0; t < NCLS; t++) {
    int64_t rows;
    double a = class_acc(r, t, &rows);
    sb_puts(sb, t ? ", " : "");
    sb_put_json_str(sb, rt_jsc_class_names[t]);
    sb_puts(sb, ": {\"accuracy\": ");
    put_num_or_null(sb, a);
    sb_printf(sb, ", \"rows\": %lld}", (long long)rows);
  }
  sb_puts(sb, "},\n  \"classes\": [");
  for (int t = 0; t < NCLS; t++) {
    sb_puts(sb, t ? ", " : "");
    sb_put_json_str(sb, rt_jsc_class_names[t]);
  }
  sb_puts(sb, "],\n  \"confusion\": [");
  for (int t = 0; t < NCLS; t++) {
    sb_puts(sb, t ? ",\n                [" : "[");
    for (int p = 0; p < NCLS; p++) sb_printf(sb, "%s%lld", p ? ", " : "", (long long)r->confusion[t][p]);
    sb_putc(sb, ']');
  }
  sb_putc(sb, ']');
}

void rt_eval_json(StrBuf *sb, const RtEvalResult *r, const char *ckpt) {
  sb_puts(sb, "{\n  \"split\": ");
  sb_put_json_str(sb, rt_split_name(r->split));
  sb_printf(sb, ",\n  \"rows\": %lld,\n  \"loss\": ", (long long)r->n);
  put_num_or_null(sb, r->loss);
  sb_puts(sb, ",\n  \"micro_accuracy\": ");
  put_num_or_null(sb, r->acc);
  sb_puts(sb, ",\n  \"macro_accuracy\": ");
  put_num_or_null(sb, rt_eval_macro_acc(r));
  eval_json_classes(sb, r);
  sb_puts(sb, ",\n  \"engine\": ");
  sb_put_json_str(sb, rt_engine_name(r->engine));
  sb_puts(sb, ",\n  \"checkpoint\": ");
  if (ckpt)
    sb_put_json_str(sb, ckpt);
  else
    sb_puts(sb, "null");
  sb_puts(sb, "\n}\n");
}

/* The CUDA C of one of the device engine's plans (--dump-cuda), as rt_dev_open builds it. */
static Status dump_cuda(const RtTrainConfig *c, const RtState *s, bool train, StrBuf *out, Diag *d) {
  CgOptions o = rt_dev_plan_options(s, c->batch_size, train);
  o.optim = cg_optim_of(&c->optim);
  CgPlan *p = NULL;
  Status st = cg_plan_build(c->train, &o, &p, d);
  if (st) return st;
  sb_printf(out, "// CUDA C of the %s step: kernel %s, one block of %d threads, %zu bytes of dynamic shared memory\n",
            train ? "training" : "evaluation", train ? "jscc_train" : "jscc_eval", CG_CUDA_THREADS,
            cg_cuda_shared_bytes(p));
  st = cg_cuda_render(p, out, d);
  cg_plan_free(p);
  return st;
}

/* --dump-plan / --dump-llvm / --dump-cuda: the training step's fusion plan, optimised LLVM
 * module and CUDA C, then the evaluation step's, as the jit and cuda engines would build them
 * for this configuration. */
Status rt_train_dump(const RtTrainConfig *c, bool plan, bool llvm, bool cuda, StrBuf *out, Diag *d) {
  RtState *s = NULL;
  Status st = rt_state_new(c->train, &s, d);
  if (st) return st;
  for (int k = 0; k < 2 && !st; k++) {
    CgOptions o = {.batch = c->batch_size, .param_off = s->off, .train = k == 0, .want_logits = k == 1,
                   .optim = cg_optim_of(&c->optim), .tuning = c->tuning};
    CgPlan *p = NULL;
    if ((st = cg_plan_build(c->train, &o, &p, d))) break;
    if (plan) cg_plan_print(out, p);
    if (llvm) {
      CgKernel *kern = NULL;
      sb_printf(out, "; LLVM module of the %s step (optimised)\n", k == 0 ? "training" : "evaluation");
      st = cg_llvm_compile(p, &kern, out, NULL, d);
      cg_kernel_free(kern);
    }
    cg_plan_free(p);
    if (!st && cuda) st = dump_cuda(c, s, k == 0, out, d);
  }
  rt_state_free(s);
  return st;
}
