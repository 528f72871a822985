/* runtime/sample.c — PassData from the runtime: weights from an RtState, activations from
 * the reference executor run over a data set's split or over N(0, 1) inputs (sample.h).
 *
 * The sampler binds every placeholder for each batch (the JSC split's 16 features, or
 * normals drawn per placeholder), runs rt_interp_run in RT_EVAL with an observer that
 * rounds each requested node's doubles to float and hands them to the pass's callback.
 * When jscc has its LLVM JIT and the samples come from a data set, the JIT's evaluation step
 * runs instead (codegen's CgOptions.observe stores the requested nodes' rows to scratch), so
 * a whole epoch profiles in about a second; a graph the kernels do not cover (a quantized
 * one, BatchNorm1d over channels, more than one input) falls back to the reference executor, and
 * so does rt_pass_data_set_engine(RT_ENGINE_REF) (jscc --profile-engine ref; tests compare the
 * two).  The JIT computes in float, the reference in double: statistics agree to float rounding.
 * Results are reported as rows x row_numel: rows is the value's first dim (1 for a scalar),
 * so a pass can treat each row as one sample, as MASE's profiler does with batch[[i], ...]. */
#include <stdlib.h>
#include <string.h>

#include "codegen.h"
#include "runtime.h"

struct RtPassData {
  PassData pd;          /* what rt_pass_data_get hands out; pd.ud points back here */
  const RtState *s;     /* weights; NULL: none */
  const RtSplit *split; /* rows to sample; NULL: N(0, 1) inputs */
  const char *split_name; /* "train", "val", "test" (for messages) */
  char source[128];     /* pd.source */
  bool ref_only;        /* sample with the reference executor even where the JIT could */
};

/* One sample() call, as the observer sees it. */
typedef struct Sampler {
  const Node *const *nodes; /* the nodes the pass asked for */
  int nnodes;
  Status (*fn)(void *fud, int k, const float *vals, int64_t rows, int64_t row_numel);
  void *fud;
  float *buf;               /* a node's doubles rounded to float */
  int64_t cap;              /* floats allocated in buf */
  Diag *d;
} Sampler;

static const float *param_values(void *ud, const Param *p) {
  const RtPassData *r = ud;
  int i = r->s ? rt_state_index(r->s, p->qualname) : -1;
  /* a state made from another graph of the model must agree on the size */
  int64_t numel = ir_type_numel(&p->type);
  if (i < 0 || r->s->off[i] == (size_t)-1 || numel < 0 || r->s->numel[i] != (size_t)numel) return NULL;
  return r->s->data + r->s->off[i];
}

/* Hands vals (rows x row_numel) to the callback once for every k that asked for node n. */
static Status deliver(Sampler *S, const Node *n, const float *vals, int64_t rows, int64_t row_numel) {
  for (int k = 0; k < S->nnodes; k++) {
    if (S->nodes[k] != n) continue;
    Status st = S->fn(S->fud, k, vals, rows, row_numel);
    if (st) return st;
  }
  return JS_OK;
}

static Status observe(void *ud, const Node *node, const double *vals, int64_t n, int rank, const int64_t *dims) {
  Sampler *S = ud;
  bool wanted = false;
  for (int k = 0; k < S->nnodes && !wanted; k++) wanted = S->nodes[k] == node;
  if (!wanted) return JS_OK;
  if (n > S->cap) {
    float *nb = ir_realloc(S->buf, sizeof(float) * (size_t)n);
    if (!nb) return diag_oom(S->d);
    S->buf = nb;
    S->cap = n;
  }
  for (int64_t i = 0; i < n; i++) S->buf[i] = (float)vals[i];
  int64_t rows = rank ? dims[0] : 1;
  return deliver(S, node, S->buf, rows, rows ? n / rows : 0);
}

/* What one placeholder needs per batch. */
typedef struct Input {
  const Node *node;
  int64_t row_numel; /* elements per row: the product of the dims after the batch dim */
  Rng rng;           /* N(0, 1) inputs: this placeholder's stream */
  float *buf;        /* [batch_size][row_numel] */
} Input;

/* A placeholder the sampler can fill: float, first dim the batch symbol, the rest known. */
static Status check_input(const Graph *g, Input *in, Diag *d) {
  const Node *p = in->node;
  const TensorType *t = &p->type;
  StrBuf ty;
  sb_init(&ty);
  ir_type_print(&ty, t);
  Status st = JS_OK;
  if (!p->has_type)
    st = diag_error(d, p->loc, "sample: input '%s' of model '%s' has no type; run the 'shape' pass first", p->target,
                    g->name);
  else if (t->dtype != DT_F32 && t->dtype != DT_F64)
    st = diag_error(d, p->loc, "sample: input '%s' is %s: only float inputs can be sampled", p->target, sb_str(&ty));
  else if (t->rank < 1 || t->dims[0].size >= 0)
    st = diag_error(d, p->loc, "sample: input '%s' (%s) has no batch dimension to sample along", p->target,
                    sb_str(&ty));
  in->row_numel = 1;
  for (int i = 1; !st && i < t->rank; i++) {
    if (t->dims[i].size < 0)
      st = diag_error(d, p->loc, "sample: input '%s' (%s) has a symbolic dimension besides the batch", p->target,
                      sb_str(&ty));
    else
      in->row_numel *= t->dims[i].size;
  }
  sb_free(&ty);
  return st;
}

/* The JIT path (codegen's evaluation step with the requested nodes stored to scratch): for a
 * data set's split and a graph the kernels cover.  JS_OK after delivering every batch;
 * CG_FALLBACK (nothing delivered) when the kernels do not cover the graph, so the reference
 * executor runs it instead; another status on a real error. */
#define CG_FALLBACK ((Status)-1)
static Status sample_jit(const RtPassData *r, const Graph *g, int64_t num_samples, int64_t batch_size,
                         const Node *const *nodes, int nnodes,
                         Status (*fn)(void *fud, int k, const float *vals, int64_t rows, int64_t row_numel), void *fud,
                         Diag *d) {
  if (!cg_llvm_available() || !r->split || r->ref_only) return CG_FALLBACK;
  const Node **obs = ir_calloc((size_t)nnodes + 1, sizeof *obs);
  if (!obs) return diag_oom(d);
  int nobs = 0;
  for (int k = 0; k < nnodes; k++)
    if (nodes[k]->op != OP_PLACEHOLDER) obs[nobs++] = nodes[k];
  CgOptions o = {.batch = batch_size, .param_off = r->s->off, .observe = obs, .nobserve = nobs};
  CgPlan *plan = NULL;
  CgKernel *kern = NULL;
  Diag quiet;
  diag_init(&quiet, NULL);
  Status st = cg_plan_build(g, &o, &plan, &quiet);
  diag_free(&quiet);
  if (st || cg_plan_features(plan) != RT_JSC_FEATURES) {
    cg_plan_free(plan);
    ir_free(obs);
    return st == JS_ENOMEM ? diag_oom(d) : CG_FALLBACK;
  }
  if ((st = cg_llvm_compile(plan, &kern, NULL, NULL, d))) {
    cg_plan_free(plan);
    ir_free(obs);
    return st;
  }
  int64_t bp = cg_plan_bpad(plan), F = RT_JSC_FEATURES;
  size_t ns = cg_plan_scratch_floats(plan);
  float *xf = aligned_alloc(64, (size_t)(F * bp) * sizeof(float) + 64);
  float *valid = aligned_alloc(64, (size_t)bp * sizeof(float) + 64);
  int32_t *y = aligned_alloc(64, (size_t)bp * sizeof(int32_t) + 64);
  float *scratch = aligned_alloc(64, ns * sizeof(float) + 64);
  int64_t maxn = F;
  for (int k = 0; k < nobs; k++) {
    int64_t off;
    int n = 0;
    if (cg_plan_observed(plan, k, &off, &n) && n > maxn) maxn = n;
  }
  float *rows_buf = ir_malloc(sizeof(float) * (size_t)(maxn * bp + 1));
  double metrics[2];
  if (!xf || !valid || !y || !scratch || !rows_buf) st = diag_oom(d);
  if (!st) {
    memset(y, 0, (size_t)bp * sizeof(int32_t));
    memset(xf, 0, (size_t)(F * bp) * sizeof(float));
  }
  for (int64_t done = 0; !st && done < num_samples;) {
    int64_t rows = num_samples - done < batch_size ? num_samples - done : batch_size;
    const float *xr = r->split->x + done * F;
    for (int64_t i = 0; i < bp; i++) {
      valid[i] = i < rows ? 1.0f : 0.0f;
      for (int64_t f = 0; f < F; f++) xf[f * bp + i] = i < rows ? xr[i * F + f] : 0.0f;
    }
    CgArgs a = {.params = r->s->data, .grads = NULL, .x = xf, .y = y, .valid = valid, .scratch = scratch,
                .i64 = r->s->i64, .metrics = metrics, .n = rows};
    cg_kernel_run(kern, &a);
    for (int k = 0, idx = 0; k < nnodes && !st; k++) {
      if (nodes[k]->op == OP_PLACEHOLDER) {
        st = fn(fud, k, xr, rows, F);
        continue;
      }
      int64_t off;
      int n;
      cg_plan_observed(plan, idx++, &off, &n);
      for (int64_t i = 0; i < rows; i++)
        for (int j = 0; j < n; j++) rows_buf[i * n + j] = scratch[off + j * bp + i];
      st = fn(fud, k, rows_buf, rows, n);
    }
    done += rows;
  }
  free(xf), free(valid), free(y), free(scratch);
  ir_free(rows_buf);
  cg_kernel_free(kern);
  cg_plan_free(plan);
  ir_free(obs);
  return st;
}

static Status sample(void *ud, const Graph *g, int64_t num_samples, int64_t batch_size, const Node *const *nodes,
                     int nnodes, Status (*fn)(void *fud, int k, const float *vals, int64_t rows, int64_t row_numel),
                     void *fud, Diag *d) {
  const RtPassData *r = ud;
  if (num_samples < 1) return diag_error(d, (SrcLoc){0}, "num_samples: %lld is not a positive count", (long long)num_samples);
  if (batch_size < 1) return diag_error(d, (SrcLoc){0}, "batch_size: %lld is not a positive count", (long long)batch_size);
  if (r->split && num_samples > r->split->n)
    return diag_error(d, (SrcLoc){0}, "num_samples: %lld is more than the %lld rows of the %s split",
                      (long long)num_samples, (long long)r->split->n, r->split_name);
  if (batch_size > num_samples) batch_size = num_samples;
  for (int k = 0; k < nnodes; k++) {
    const Node *n = nodes[k];
    if (!n || n->graph != g || n->op == OP_OUTPUT || !n->has_type) {
      diag_error(d, (SrcLoc){0}, "sample: node %s is not a typed, non-output node of model '%s'",
                 n ? n->name : "(null)", g->name);
      return JS_EUSAGE;
    }
  }
  /* the JIT when it covers the graph (a full epoch in a second), else the reference executor */
  Status js = sample_jit(r, g, num_samples, batch_size, nodes, nnodes, fn, fud, d);
  if (js != CG_FALLBACK) return js;
  int np = 0;
  for (const Node *n = g->first; n; n = n->next) np += n->op == OP_PLACEHOLDER;
  if (np == 0) return diag_error(d, g->loc, "sample: model '%s' has no input to feed", g->name);
  Input *in = ir_calloc((size_t)np, sizeof *in);
  RtTensor *t = ir_calloc((size_t)np, sizeof *t);
  const char **names = ir_calloc((size_t)np, sizeof *names);
  Sampler S = {.nodes = nodes, .nnodes = nnodes, .fn = fn, .fud = fud, .d = d};
  Status st = JS_OK;
  if (!in || !t || !names) st = diag_oom(d);
  int i = 0;
  for (const Node *n = g->first; n && !st; n = n->next) {
    if (n->op != OP_PLACEHOLDER) continue;
    in[i].node = n;
    names[i] = n->target;
    rt_rng_seed(&in[i].rng, (uint64_t)RT_SAMPLE_SEED + (uint64_t)i);
    if ((st = check_input(g, &in[i], d))) break;
    if (in[i].row_numel > IR_MAX_NUMEL / batch_size) {
      st = diag_error(d, n->loc, "sample: a batch of %lld rows of input '%s' is too large", (long long)batch_size,
                      n->target);
      break;
    }
    if (!(in[i].buf = ir_malloc(sizeof(float) * (size_t)(in[i].row_numel * batch_size)))) st = diag_oom(d);
    i++;
  }
  if (!st && r->split && (np != 1 || in[0].row_numel != RT_JSC_FEATURES))
    st = diag_error(d, g->loc,
                    "sample: the JSC data gives one input of %d features per row, but model '%s' takes %d input%s "
                    "(the first with %lld values per row)",
                    RT_JSC_FEATURES, g->name, np, np == 1 ? "" : "s", (long long)in[0].row_numel);
  RtRunOpts o = {.mode = RT_EVAL, .observe = observe, .observe_ud = &S};
  for (int64_t done = 0; !st && done < num_samples;) {
    int64_t rows = num_samples - done < batch_size ? num_samples - done : batch_size;
    for (int j = 0; j < np && !st; j++) {
      int64_t cnt = rows * in[j].row_numel;
      if (r->split)
        memcpy(in[j].buf, r->split->x + done * RT_JSC_FEATURES, sizeof(float) * (size_t)cnt);
      else
        for (int64_t e = 0; e < cnt; e++) in[j].buf[e] = (float)rt_rng_normal(&in[j].rng);
      const TensorType *ty = &in[j].node->type;
      t[j] = (RtTensor){.dtype = DT_F32, .rank = ty->rank, .f = in[j].buf};
      t[j].dims[0] = rows;
      for (int k = 1; k < ty->rank; k++) t[j].dims[k] = ty->dims[k].size;
      st = deliver(&S, in[j].node, in[j].buf, rows, in[j].row_numel);
    }
    /* RT_EVAL only reads the state (BatchNorm uses its running stats, Dropout is the
     * identity), so the const RtState can be lent to the executor. */
    if (!st) st = rt_interp_run(g, (RtState *)r->s, &o, np, names, t, NULL, d);
    done += rows;
  }
  for (int j = 0; in && j < np; j++) ir_free(in[j].buf);
  ir_free(in);
  ir_free(t);
  ir_free(names);
  ir_free(S.buf);
  return st;
}

Status rt_pass_data_new(const RtState *s, const RtDataset *ds, const char *split, RtPassData **out, Diag *d) {
  *out = NULL;
  static const char *const splits[] = {"train", "val", "test"};
  if (!split) split = "train";
  int which = -1;
  for (int i = 0; i < 3; i++)
    if (strcmp(split, splits[i]) == 0) which = i;
  if (which < 0) {
    const char *near = diag_closest(split, splits, 3);
    diag_error(d, (SrcLoc){0}, "split: unknown split '%s'%s%s%s; the splits are train, val, test", split,
               near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    return JS_EUSAGE;
  }
  RtPassData *r = ir_calloc(1, sizeof *r);
  if (!r) return diag_oom(d);
  r->s = s;
  r->split_name = splits[which];
  if (ds) {
    r->split = which == 0 ? &ds->train : which == 1 ? &ds->val : &ds->test;
    snprintf(r->source, sizeof r->source, "JSC %s split%s", r->split_name, ds->synthetic ? " (synthetic)" : "");
  } else {
    snprintf(r->source, sizeof r->source, "random N(0,1) inputs (seed %d)", RT_SAMPLE_SEED);
  }
  r->pd = (PassData){.ud = r, .param = s ? param_values : NULL, .sample = s ? sample : NULL, .source = r->source};
  *out = r;
  return JS_OK;
}

void rt_pass_data_set_engine(RtPassData *p, RtEngineKind engine) {
  if (p) p->ref_only = engine == RT_ENGINE_REF;
}

const PassData *rt_pass_data_get(const RtPassData *p) {
  return p ? &p->pd : NULL;
}

void rt_pass_data_free(RtPassData *p) {
  ir_free(p);
}
