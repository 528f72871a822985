/* runtime/intexec.c — the plain C integer executor and the glue around the integer JIT.
 *
 * rt_int_run is the reference semantics of an integer program (codegen/intprog.c, top of the
 * file): one row at a time, every code an int64, one plain loop per step.  The JIT kernel
 * (codegen/intllvm.c) must reproduce it bit for bit; tests compare every code of every node.
 * RtIntExec runs either one over any number of rows (the kernel takes whole blocks of vec
 * rows: the last, partial block goes through a zero-padded copy), and rt_int_eval /
 * rt_int_test evaluate a data split as rt_test does, so `jscc test` can run integer-only. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "runtime.h"

int64_t rt_int_quant_in(double x, int frac, int64_t lo, int64_t hi, bool floor_) {
  if (x != x) return 0;
  double v = ldexp(x, frac); /* exact: a power-of-two scaling */
  v = floor_ ? floor(v) : nearbyint(v); /* the default rounding mode: half to even */
  if (v < (double)lo) return lo;
  if (v > (double)hi) return hi;
  return (int64_t)v;
}

double rt_int_value(const IntProg *p, int val, int64_t code) {
  return ldexp((double)code, -p->vals[val].frac);
}

/* a << k clamped to [lo, hi], without computing a << k when it would leave the range. */
static int64_t lshift_clamp(int64_t a, int k, int64_t lo, int64_t hi) {
  int64_t m = INT64_C(1) << k;
  int64_t hmax = hi >= 0 ? hi / m : -((-hi + m - 1) / m);  /* floor(hi / 2^k) */
  int64_t lmin = lo >= 0 ? (lo + m - 1) / m : -((-lo) / m); /* ceil(lo / 2^k) */
  if (a > hmax) return hi;
  if (a < lmin) return lo;
  return a * m;
}

static int64_t clamp64(int64_t a, int64_t lo, int64_t hi) { return a < lo ? lo : a > hi ? hi : a; }

/* One row: v holds every value's codes at voff[id]. */
static void run_row(const IntProg *p, const int64_t *voff, int64_t *v, const float *x) {
  const int64_t *K = p->consts;
  for (int i = 0; i < p->nsteps; i++) {
    const IpStep *s = &p->steps[i];
    int n = p->vals[s->dst].n;
    int64_t *y = v + voff[s->dst];
    const int64_t *a = s->a >= 0 ? v + voff[s->a] : NULL, *b = s->b >= 0 ? v + voff[s->b] : NULL;
    switch (s->kind) {
    case IP_QUANT:
      for (int j = 0; j < n; j++) y[j] = rt_int_quant_in((double)x[j], s->sh, s->lo, s->hi, s->floor);
      break;
    case IP_MATVEC: /* y[o] = B[o] + sum_k a[k] W[o, k] */
      for (int o = 0; o < n; o++) {
        const int64_t *w = K + s->w + (int64_t)o * s->nin;
        int64_t acc = s->c >= 0 ? K[s->c + o] : 0;
        for (int k = 0; k < s->nin; k++) acc += a[k] * w[k];
        y[o] = acc;
      }
      break;
    case IP_SCALE:
      for (int j = 0; j < n; j++) y[j] = a[j] * K[s->w + j] + K[s->c + j];
      break;
    case IP_REQUANT:
      for (int j = 0; j < n; j++)
        y[j] = s->sh >= 0 ? clamp64(cg_int_rshift(a[j], s->sh, s->floor), s->lo, s->hi)
                          : lshift_clamp(a[j], -s->sh, s->lo, s->hi);
      break;
    case IP_RELU:
      for (int j = 0; j < n; j++) y[j] = a[j] > 0 ? a[j] : 0;
      break;
    case IP_ADD:
      for (int j = 0; j < n; j++) y[j] = a[j] * (INT64_C(1) << s->sa) + b[j] * (INT64_C(1) << s->sb);
      break;
    case IP_SUB:
      for (int j = 0; j < n; j++) y[j] = a[j] * (INT64_C(1) << s->sa) - b[j] * (INT64_C(1) << s->sb);
      break;
    case IP_MUL:
      for (int j = 0; j < n; j++) y[j] = a[j] * b[j];
      break;
    }
  }
}

Status rt_int_run(const IntProg *p, const float *x, int64_t n, float *logits, int64_t *trace, Diag *d) {
  int64_t *voff = ir_malloc(sizeof(int64_t) * (size_t)(p->nvals + 1)), total = 0;
  if (!voff) return diag_oom(d);
  for (int i = 0; i < p->nvals; i++) {
    voff[i] = total;
    total += p->vals[i].n;
  }
  int64_t *v = ir_malloc(sizeof(int64_t) * (size_t)(total ? total : 1));
  if (!v) {
    ir_free(voff);
    return diag_oom(d);
  }
  const IpVal *ov = &p->vals[p->out];
  for (int64_t r = 0; r < n; r++) {
    run_row(p, voff, v, x + r * p->features);
    for (int j = 0; j < ov->n; j++) logits[r * p->classes + j] = (float)ldexp((double)v[voff[p->out] + j], -ov->frac);
    if (trace)
      for (int k = 0; k < p->nnodes; k++)
        memcpy(trace + r * p->trace_width + p->nodes[k].off, v + voff[p->nodes[k].val],
               sizeof(int64_t) * (size_t)p->vals[p->nodes[k].val].n);
  }
  ir_free(v);
  ir_free(voff);
  return JS_OK;
}

/* ---- RtIntExec ---- */

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static const float *state_param(void *ud, const Param *p) {
  return rt_state_tensor((const RtState *)ud, p->qualname);
}

Status rt_int_open(const Graph *g, const RtState *s, bool jit, bool trace, RtIntExec **out, Diag *d) {
  return rt_int_open_cached(g, s, jit, trace, NULL, NULL, out, d);
}

Status rt_int_open_cached(const Graph *g, const RtState *s, bool jit, bool trace, const char *kernel_cache,
                          const CgTuning *tuning, RtIntExec **out, Diag *d) {
  *out = NULL;
  RtIntExec *e = ir_calloc(1, sizeof *e);
  if (!e) return diag_oom(d);
  e->trace = trace;
  Status st = cg_int_lower(g, state_param, (void *)s, &e->prog, d);
  if (!st && jit) {
    double t0 = now_ms();
    st = cg_int_compile(e->prog, trace, kernel_cache, tuning, &e->kernel, NULL, d);
    e->compile_ms = now_ms() - t0;
    if (!st) {
      const IntProg *p = e->prog;
      e->vec = cg_int_kernel_vec(e->kernel);
      e->xpad = ir_calloc((size_t)e->vec * (size_t)p->features, sizeof(float));
      e->lpad = ir_calloc((size_t)e->vec * (size_t)p->classes, sizeof(float));
      if (trace) e->tpad = ir_calloc((size_t)e->vec * (size_t)(p->trace_width ? p->trace_width : 1), sizeof(int64_t));
      if (!e->xpad || !e->lpad || (trace && !e->tpad)) st = diag_oom(d);
    }
  }
  if (st) {
    rt_int_close(e);
    return st;
  }
  *out = e;
  return JS_OK;
}

void rt_int_close(RtIntExec *e) {
  if (!e) return;
  cg_int_kernel_free(e->kernel);
  cg_int_free(e->prog);
  ir_free(e->xpad);
  ir_free(e->lpad);
  ir_free(e->tpad);
  ir_free(e);
}

Status rt_int_exec(RtIntExec *e, const float *x, int64_t n, float *logits, int64_t *trace, Diag *d) {
  const IntProg *p = e->prog;
  if (trace && !e->trace) return diag_error(d, (SrcLoc){0}, "integer executor: a trace was asked of an engine opened without one");
  if (!e->kernel) return rt_int_run(p, x, n, logits, trace, d);
  int64_t V = e->vec, tw = p->trace_width, full = n - n % V;
  int64_t *tb = NULL; /* the kernel's trace, [block][tw][V] */
  if (trace && full && !(tb = ir_malloc(sizeof(int64_t) * (size_t)(full * (tw ? tw : 1))))) return diag_oom(d);
  if (full) {
    IpArgs a = {.x = x, .logits = logits, .trace = tb, .n = full};
    cg_int_kernel_run(e->kernel, &a);
  }
  if (full < n) { /* the last block through a zero-padded copy */
    int64_t rest = n - full;
    memset(e->xpad, 0, sizeof(float) * (size_t)(V * p->features));
    memcpy(e->xpad, x + full * p->features, sizeof(float) * (size_t)(rest * p->features));
    IpArgs a = {.x = e->xpad, .logits = e->lpad, .trace = trace ? e->tpad : NULL, .n = V};
    cg_int_kernel_run(e->kernel, &a);
    memcpy(logits + full * p->classes, e->lpad, sizeof(float) * (size_t)(rest * p->classes));
  }
  if (trace) /* row-major, as the C executor writes it */
    for (int64_t r = 0; r < n; r++) {
      const int64_t *blk = r < full ? tb + (r / V) * tw * V : e->tpad;
      for (int64_t f = 0; f < tw; f++) trace[r * tw + f] = blk[f * V + r % V];
    }
  ir_free(tb);
  return JS_OK;
}

/* torch.argmax: the first maximum. */
static int argmax_row(const float *z, int nc) {
  int best = 0;
  for (int k = 1; k < nc; k++)
    if (z[k] > z[best]) best = k;
  return best;
}

/* logsumexp(z) - z[y], in double. */
static double row_ce(const float *z, int nc, int y) {
  double m = z[0], s = 0;
  for (int k = 1; k < nc; k++)
    if (z[k] > m) m = z[k];
  for (int k = 0; k < nc; k++) s += exp((double)z[k] - m);
  return m + log(s) - (double)z[y];
}

Status rt_int_eval(RtIntExec *e, const RtSplit *sp, int64_t batch, RtEvalResult *r, Diag *d) {
  const IntProg *p = e->prog;
  memset(r, 0, sizeof *r);
  if (p->features != RT_JSC_FEATURES || p->classes != RT_JSC_CLASSES)
    return diag_error(d, (SrcLoc){0}, "model %s: integer evaluation needs %d features in and %d logits out, not %d and %d",
                      p->model, RT_JSC_FEATURES, RT_JSC_CLASSES, p->features, p->classes);
  if (batch < 1) batch = 256;
  float *z = ir_malloc(sizeof(float) * (size_t)batch * RT_JSC_CLASSES);
  if (!z) return diag_oom(d);
  double loss = 0, correct = 0;
  Status st = JS_OK;
  for (int64_t start = 0; start < sp->n && !st; start += batch) {
    int64_t n = sp->n - start < batch ? sp->n - start : batch;
    if ((st = rt_int_exec(e, sp->x + start * RT_JSC_FEATURES, n, z, NULL, d))) break;
    for (int64_t i = 0; i < n; i++) {
      const float *zi = z + i * RT_JSC_CLASSES;
      int t = sp->y[start + i], pr = argmax_row(zi, RT_JSC_CLASSES);
      loss += row_ce(zi, RT_JSC_CLASSES, t);
      correct += pr == t;
      r->confusion[t][pr]++;
    }
  }
  ir_free(z);
  r->n = sp->n;
  r->loss = sp->n ? loss / (double)sp->n : NAN;
  r->acc = sp->n ? correct / (double)sp->n : NAN;
  return st;
}

Status rt_int_test(const RtTestConfig *c, bool jit, RtEvalResult *res, Diag *d) {
  memset(res, 0, sizeof *res);
  if (!c->fwd || !c->ckpt) return diag_error(d, (SrcLoc){0}, "rt_int_test needs the forward graph and a checkpoint");
  RtState *s = NULL;
  RtIntExec *e = NULL;
  RtDataset own = {0};
  const RtDataset *ds = c->dataset;
  Status st = rt_state_new(c->fwd, &s, d);
  if (!st) st = rt_ckpt_load(c->ckpt, s, d);
  if (!st) st = rt_int_open_cached(c->fwd, s, jit, false, c->kernel_cache, c->tuning, &e, d); /* a graph that is not integer-only fails before the data load */
  if (!st && !ds && !(st = rt_data_load(&c->data, &own, d))) ds = &own;
  if (!st && c->log) {
    bool say = ds->synthetic && !strstr(ds->desc, "SYNTHETIC");
    fprintf(c->log, "data: %s%s; train %lld, val %lld, test %lld rows\n", say ? "SYNTHETIC: " : "", ds->desc,
            (long long)ds->train.n, (long long)ds->val.n, (long long)ds->test.n);
    if (jit)
      fprintf(c->log, "engine: int (integer-only: LLVM kernel for %s, %d-bit lanes, compiled in %.0f ms)\n", cg_host_cpu(),
              e->prog->i32 ? 32 : 64, e->compile_ms);
    else
      fprintf(c->log, "engine: int-c (integer-only: the plain C executor)\n");
  }
  if (!st) st = rt_int_eval(e, c->split == RT_SPLIT_VAL ? &ds->val : &ds->test, c->batch_size, res, d);
  res->engine = c->engine;
  res->split = c->split;
  rt_int_close(e);
  rt_state_free(s);
  rt_data_free(&own);
  return st;
}
