/* runtime/interp.c — the plain C reference executor: runs a shaped graph node by node, one
 * plain loop nest per operator, in double precision.  It is the yardstick: PyTorch's
 * reference tensors (test/data/ref) check it, and the JIT's kernels (codegen/) must
 * reproduce exactly the semantics written here.
 *
 * Semantics
 *   Storage   every tensor is row-major doubles whatever its dtype (integers up to 2^53 are
 *             exact); a node's dtype is its IR type's.  f32 parameters and buffers are read
 *             from RtState.data (converted to double once per run); gradients are written
 *             back as float into RtState.grad, overwriting it (zero for every element the
 *             graph gives no gradient); BatchNorm running statistics are written back as
 *             float the moment the module runs.  A bool result is normalised to 0/1.
 *   Inputs    placeholders are bound by name.  f32/f64 placeholders take DT_F32 tensors,
 *             i64/i32/bool ones DT_I64 tensors (bool values 0 or 1).  Known dims must match,
 *             a symbolic dim (B) takes its size from the first input that has it and every
 *             other use must agree.  Any mismatch, a missing or unknown input, is a Diag
 *             error naming the placeholder, the expected type and what was given.
 *   Modules   Linear: y = x W^T + b.  Conv1d: PyTorch's cross-correlation with stride,
 *             zero padding, dilation, groups.  BatchNorm1d over dims 0 (and 2
 *             for [N,C,L]), M = N*L values per channel:
 *               RT_TRAIN or track_running_stats=false: batch mean and biased variance,
 *                 y = (x - mean) / sqrt(var + eps) * w + b; M == 1 is an error (PyTorch's
 *                 "more than 1 value per channel");
 *               RT_TRAIN with running stats: num_batches_tracked += 1, f = momentum (or
 *                 1/num_batches_tracked when momentum is None),
 *                 running_mean = (1-f)*running_mean + f*mean,
 *                 running_var  = (1-f)*running_var  + f*var*M/(M-1);
 *               RT_EVAL with running stats: the running mean and variance normalise.
 *             affine=false: w = 1, b = 0.  Dropout(p): RT_EVAL the identity; RT_TRAIN
 *             y = keep ? x/(1-p) : 0 with keep = rt_dropout_keep(rt_dropout_bits(seed, step,
 *             (uint32_t)ir_hash_str(node name), flat index), p); p == 1 gives zeros.  A
 *             module reached through a call of a Sequential keys its mask on the name
 *             "<node name>/<module path>".  Softmax/LogSoftmax(dim=None): PyTorch's legacy
 *             dim, 0 for 0-, 1- and 3-d inputs, else 1.  Identity, Flatten, ReLU, LeakyReLU,
 *             Sigmoid, Tanh as in torch.nn.
 *   Functions as in torch (ops.def): broadcasting add/sub/mul/div with Python-number
 *             operands (div is true division), torch.matmul with 1-D promotion and batch
 *             broadcasting, transpose/t/view/reshape/flatten (view's -1 inferred),
 *             sum(dim, keepdim), sum_to(x, like) = x summed over the dims broadcasting
 *             stretched (the reverse of broadcasting like to x), reshape_as.  Functional
 *             dropout obeys its `training` argument, not the mode.
 *   Loss and backward ops (spec/ir.md, "Training graphs"):
 *     cross_entropy(x, t)          = 1/N sum_n (logsumexp(x[n]) - x[n, t[n]]), x [N, C];
 *                                    a target outside [0, C) is an error
 *     cross_entropy_backward(x, t) = (softmax(x) - onehot(t)) / N
 *     outer_sum(a, b)              = sum over leading rows r of a[r]^T (x) b[r]  -> [I, O]
 *     relu_backward(g, r)          = g * (r > 0)
 *     leaky_relu_backward(g, x, s) = g * (x > 0 ? 1 : s)
 *     sigmoid_backward(g, r)       = g * r * (1 - r)
 *     tanh_backward(g, r)          = g * (1 - r^2)
 *     softmax_backward(g, r, d)    = r * (g - sum_d(g * r))
 *     log_softmax_backward(g, r, d)= g - exp(r) * sum_d(g)
 *     dropout_backward(g, f, p)    = g * keep / (1-p) with the mask the dropout node f drew
 *                                    (same key); g itself when f is a Dropout module run in
 *                                    RT_EVAL (the forward was the identity); zeros for p == 1
 *     batch_norm1d_backward_input(g, x, w, eps)  = w * invstd / M * (M g - sum(g) - xhat sum(g xhat))
 *     batch_norm1d_backward_weight(g, x, eps)    = sum(g * xhat)
 *     conv1d_backward_input(g, x, w, s, p, d, gr)  = the input gradient of conv1d(x, w, ...)
 *     conv1d_backward_weight(g, x, w, s, p, d, gr) = its weight gradient (conv1d_bwd)
 *                                    with xhat = (x - mean) * invstd from x's batch statistics
 *                                    (biased variance), whatever the mode: they are the
 *                                    derivatives of training-mode BatchNorm.
 *   Quantized nodes (spec/quant.md; Node.quant, unless RtRunOpts.no_quant): the data inputs
 *             of the node pass through Q_in, its weight and bias through Q_w and Q_b (the master
 *             values in the state stay float), its result through Q_out; BatchNorm1d runs in
 *             the folded form y = x * Q_w(s) + Q_b(t), s = w / sqrt(v + eps), t = b - m * s
 *             with the batch's or the running statistics as the mode says.  quantize(x, fmt)
 *             is fmt's quantizer (block_fp along the last dim).  The quantizers are ir/quant.c's
 *             in double, which agree with the float ones for every float input.
 *   Output    one tensor, or a tuple/list (the first is the logits), or a training graph's
 *             dict {'logits', 'loss', 'grads': {qualname: tensor}} (passes/grad.c).
 *   Memory    a node's result is freed as soon as its last user has run (Node.users), so a
 *             run holds only the live tensors of a big batch.  All memory goes through
 *             ir_malloc; an allocation failure is reported (JS_ENOMEM), never a crash.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

/* A concrete tensor while the graph runs. */
typedef struct Tensor {
  DType dtype;              /* the node's dtype (storage is double whatever it is) */
  int rank;
  int64_t dims[IR_MAX_RANK];
  int64_t n;                /* elements: the product of dims (1 for rank 0) */
  double *v;                /* [n], row-major; points just past the struct */
} Tensor;

#define MAX_SYMS 32

/* One run. */
typedef struct Interp {
  const Graph *g;
  RtState *s;
  RtRunOpts o;
  Diag *d;
  Arena *arena;            /* per run: argument binding (varargs tuples), key strings */
  int nnodes;
  const Node **nodes;      /* [nnodes] graph order */
  StrMap index;            /* node name -> index + 1 */
  Tensor **val;            /* [nnodes] each node's result while it is live */
  int *last_use;           /* [nnodes] index of the last node reading it; -1: none */
  int *sidx;               /* [g->nparams] the index of each graph parameter in s */
  double *pd;              /* [s->total] s->data in double */
  int nsyms;               /* symbolic dims bound so far */
  const char *sym[MAX_SYMS];
  int64_t symval[MAX_SYMS];
  const char *symfrom[MAX_SYMS]; /* the input that bound each symbol */
  const Node *cur;         /* the node running, for messages */
  bool quant;              /* cur is quantized (and quantization is on) */
  QCfg q;                  /* cur's config when quant */
  Tensor *tmp[8];          /* quantized copies of cur's operands, freed after it */
  int ntmp;
  bool oom;                /* an allocation failed: the run returns JS_ENOMEM */
} Interp;

/* Reports an allocation failure once and remembers it. */
static Status nomem(Interp *I) {
  I->oom = true;
  return diag_oom(I->d);
}

/* ---- tensors ---- */

static int64_t numel_of(int rank, const int64_t *dims) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) n *= dims[i];
  return n;
}

/* A tensor of the given shape, zero-filled; NULL on OOM (reported). */
static Tensor *t_new(Interp *I, DType dt, int rank, const int64_t *dims) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0 || (dims[i] && n > IR_MAX_NUMEL / dims[i])) {
      diag_error(I->d, I->cur ? I->cur->loc : I->g->loc, "%s: tensor too large", I->cur ? I->cur->name : I->g->name);
      return NULL;
    }
    n *= dims[i];
  }
  Tensor *t = ir_calloc(1, sizeof(Tensor) + (size_t)n * sizeof(double));
  if (!t) {
    nomem(I);
    return NULL;
  }
  t->dtype = dt;
  t->rank = rank;
  if (rank) memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
  t->n = n;
  t->v = (double *)(t + 1);
  return t;
}

static Tensor *t_like(Interp *I, const Tensor *x) {
  return t_new(I, x->dtype, x->rank, x->dims);
}

static Tensor *t_copy(Interp *I, const Tensor *x) {
  Tensor *t = t_like(I, x);
  if (t) memcpy(t->v, x->v, sizeof(double) * (size_t)x->n);
  return t;
}

/* "[64,16]" for messages. */
typedef struct ShapeText {
  char s[200];
} ShapeText;

static ShapeText shape_text(int rank, const int64_t *dims) {
  ShapeText r;
  if (rank < 0 || rank > IR_MAX_RANK) {
    snprintf(r.s, sizeof r.s, "<rank %d>", rank);
    return r;
  }
  size_t u = (size_t)snprintf(r.s, sizeof r.s, "[");
  for (int i = 0; i < rank && u < sizeof r.s; i++)
    u += (size_t)snprintf(r.s + u, sizeof r.s - u, "%s%lld", i ? "," : "", (long long)dims[i]);
  if (u < sizeof r.s) snprintf(r.s + u, sizeof r.s - u, "]");
  return r;
}

static ShapeText type_text(const TensorType *t) {
  ShapeText r;
  StrBuf sb;
  sb_init(&sb);
  ir_type_print(&sb, t);
  snprintf(r.s, sizeof r.s, "%s", sb.oom ? "?" : sb_str(&sb));
  sb_free(&sb);
  return r;
}

static Status fail(Interp *I, const char *fmt, ...) JS_PRINTF(2, 3);
/* An error at the running node: "%name: message". */
static Status fail(Interp *I, const char *fmt, ...) {
  char msg[640];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (!I->cur) return diag_error(I->d, I->g->loc, "model '%s': %s", I->g->name, msg);
  return diag_error(I->d, I->cur->loc, "%%%s: %s", I->cur->name, msg);
}

/* The product of dims before d, dims[d] and the product after: a walk along dim d. */
static void split_dim(const Tensor *x, int d, int64_t *outer, int64_t *len, int64_t *inner) {
  *outer = numel_of(d, x->dims);
  *len = x->rank ? x->dims[d] : 1;
  *inner = x->rank ? numel_of(x->rank - d - 1, x->dims + d + 1) : 1;
}

/* A dim index as PyTorch wraps it (-1 is the last); 0-d tensors accept -1 and 0. */
static Status wrap_dim(Interp *I, int64_t dim, int rank, int *out) {
  int r = rank ? rank : 1;
  if (dim < -r || dim >= r) return fail(I, "dim %lld out of range for a %d-d tensor", (long long)dim, rank);
  *out = (int)(dim < 0 ? dim + r : dim);
  if (rank == 0) *out = 0;
  return JS_OK;
}

static double num_of(const Value *v, double def) {
  if (!v) return def;
  if (v->kind == VAL_FLOAT) return v->u.f;
  if (v->kind == VAL_INT) return (double)v->u.i;
  if (v->kind == VAL_BOOL) return v->u.b;
  return def;
}

/* ================= kernels =================
 * Outputs first, then inputs, then sizes; each with its math and shapes. */

/* y = x W^T + b
 * y [R, O], x [R, I], w [O, I], b [O] or NULL */
static void linear_fwd(double *y, const double *x, const double *w, const double *b, int64_t R, int64_t I, int64_t O) {
  for (int64_t r = 0; r < R; r++)
    for (int64_t o = 0; o < O; o++) {
      double acc = b ? b[o] : 0;
      for (int64_t i = 0; i < I; i++) acc += x[r * I + i] * w[o * I + i];
      y[r * O + o] = acc;
    }
}

/* y[n,o,t] = b[o] + sum_{c<Cg, k<K} w[o,c,k] * x[n, (o/Og)*Cg + c, t*stride - pad + k*dil]
 * (x is zero outside [0, L)); Cg = Cin/groups, Og = Cout/groups
 * y [N, Cout, Lout], x [N, Cin, L], w [Cout, Cg, K], b [Cout] or NULL */
static void conv1d_fwd(double *y, const double *x, const double *w, const double *b, int64_t N, int64_t Cin,
                       int64_t L, int64_t Cout, int64_t Lout, int64_t K, int64_t stride, int64_t pad, int64_t dil,
                       int64_t groups) {
  int64_t Cg = Cin / groups, Og = Cout / groups;
  for (int64_t n = 0; n < N; n++)
    for (int64_t o = 0; o < Cout; o++)
      for (int64_t t = 0; t < Lout; t++) {
        double acc = b ? b[o] : 0;
        for (int64_t c = 0; c < Cg; c++) {
          const double *xc = x + (n * Cin + (o / Og) * Cg + c) * L;
          for (int64_t k = 0; k < K; k++) {
            int64_t at = t * stride - pad + k * dil;
            if (at >= 0 && at < L) acc += w[(o * Cg + c) * K + k] * xc[at];
          }
        }
        y[(n * Cout + o) * Lout + t] = acc;
      }
}

/* The derivatives of conv1d_fwd (same index map at = t*stride - pad + k*dil, inside [0, L)):
 *   dx[n, (o/Og)*Cg + c, at] += sum_{o,t,k} w[o,c,k] * g[n,o,t]
 *   dw[o, c, k]              = sum_{n,t} g[n,o,t] * x[n, (o/Og)*Cg + c, at]
 * dx [N, Cin, L] (or NULL), dw [Cout, Cg, K] (or NULL), g [N, Cout, Lout], x [N, Cin, L],
 * w [Cout, Cg, K]; Cg = Cin/groups, Og = Cout/groups */
static void conv1d_bwd(double *dx, double *dw, const double *g, const double *x, const double *w, int64_t N,
                       int64_t Cin, int64_t L, int64_t Cout, int64_t Lout, int64_t K, int64_t stride, int64_t pad,
                       int64_t dil, int64_t groups) {
  int64_t Cg = Cin / groups, Og = Cout / groups;
  if (dx) memset(dx, 0, sizeof(double) * (size_t)(N * Cin * L));
  if (dw) memset(dw, 0, sizeof(double) * (size_t)(Cout * Cg * K));
  for (int64_t n = 0; n < N; n++)
    for (int64_t o = 0; o < Cout; o++)
      for (int64_t c = 0; c < Cg; c++) {
        int64_t xi = (n * Cin + (o / Og) * Cg + c) * L;
        for (int64_t k = 0; k < K; k++) {
          int64_t wi = (o * Cg + c) * K + k;
          for (int64_t t = 0; t < Lout; t++) {
            int64_t at = t * stride - pad + k * dil;
            if (at < 0 || at >= L) continue;
            double gv = g[(n * Cout + o) * Lout + t];
            if (dx) dx[xi + at] += w[wi] * gv;
            if (dw) dw[wi] += gv * x[xi + at];
          }
        }
      }
}

/* mean[c] = 1/M sum_{n,l} x[n,c,l];  var[c] = 1/M sum_{n,l} (x[n,c,l] - mean[c])^2  (biased)
 * mean [C], var [C], x [N, C, L] (L = 1 for [N, C]), M = N*L */
static void bn_stats(double *mean, double *var, const double *x, int64_t N, int64_t C, int64_t L) {
  double M = (double)(N * L);
  for (int64_t c = 0; c < C; c++) {
    double s = 0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t l = 0; l < L; l++) s += x[(n * C + c) * L + l];
    double m = s / M, q = 0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t l = 0; l < L; l++) {
        double e = x[(n * C + c) * L + l] - m;
        q += e * e;
      }
    mean[c] = m;
    var[c] = q / M;
  }
}

/* y = (x - mean[c]) / sqrt(var[c] + eps) * w[c] + b[c]   (w = 1, b = 0 when NULL)
 * y, x [N, C, L]; mean, var, w, b [C] */
static void bn_apply(double *y, const double *x, const double *mean, const double *var, const double *w,
                     const double *b, double eps, int64_t N, int64_t C, int64_t L) {
  for (int64_t c = 0; c < C; c++) {
    double invstd = 1 / sqrt(var[c] + eps), wc = w ? w[c] : 1, bc = b ? b[c] : 0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t l = 0; l < L; l++) {
        int64_t i = (n * C + c) * L + l;
        y[i] = (x[i] - mean[c]) * invstd * wc + bc;
      }
  }
}

/* Training-mode BatchNorm's derivatives, from x's batch statistics:
 *   xhat = (x - mean) * invstd,  invstd = 1/sqrt(var + eps)
 *   dx = w * invstd / M * (M g - sum(g) - xhat * sum(g xhat))   (sums per channel)
 *   dw = sum(g xhat)
 * dx [N, C, L] or NULL, dw [C] or NULL, g, x [N, C, L], w [C] or NULL */
static void bn_backward(double *dx, double *dw, const double *g, const double *x, const double *w, double eps,
                        int64_t N, int64_t C, int64_t L) {
  double M = (double)(N * L);
  for (int64_t c = 0; c < C; c++) {
    double s = 0, q = 0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t l = 0; l < L; l++) s += x[(n * C + c) * L + l];
    double mean = s / M;
    for (int64_t n = 0; n < N; n++)
      for (int64_t l = 0; l < L; l++) {
        double e = x[(n * C + c) * L + l] - mean;
        q += e * e;
      }
    double invstd = 1 / sqrt(q / M + eps), sg = 0, sgx = 0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t l = 0; l < L; l++) {
        int64_t i = (n * C + c) * L + l;
        sg += g[i];
        sgx += g[i] * (x[i] - mean) * invstd;
      }
    if (dw) dw[c] = sgx;
    if (dx) {
      double k = (w ? w[c] : 1) * invstd / M;
      for (int64_t n = 0; n < N; n++)
        for (int64_t l = 0; l < L; l++) {
          int64_t i = (n * C + c) * L + l;
          dx[i] = k * (M * g[i] - sg - (x[i] - mean) * invstd * sgx);
        }
    }
  }
}

/* softmax along the middle axis: y[o,:,i] = exp(x[o,:,i] - max) / sum exp(x[o,:,i] - max);
 * log_softmax: y = x - max - log(sum exp(x - max))
 * y, x [outer, len, inner] */
static void softmax_fwd(double *y, const double *x, bool log_, int64_t outer, int64_t len, int64_t inner) {
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      const double *xs = x + o * len * inner + i;
      double *ys = y + o * len * inner + i;
      double mx = -INFINITY, s = 0;
      for (int64_t k = 0; k < len; k++) mx = fmax(mx, xs[k * inner]);
      for (int64_t k = 0; k < len; k++) s += exp(xs[k * inner] - mx);
      for (int64_t k = 0; k < len; k++)
        ys[k * inner] = log_ ? xs[k * inner] - mx - log(s) : exp(xs[k * inner] - mx) / s;
    }
}

/* softmax:     dx = r * (g - sum_k(g * r))
 * log_softmax: dx = g - exp(r) * sum_k(g)
 * dx, g, r [outer, len, inner], the sums along len */
static void softmax_bwd(double *dx, const double *g, const double *r, bool log_, int64_t outer, int64_t len,
                        int64_t inner) {
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      int64_t base = o * len * inner + i;
      double s = 0;
      for (int64_t k = 0; k < len; k++) s += log_ ? g[base + k * inner] : g[base + k * inner] * r[base + k * inner];
      for (int64_t k = 0; k < len; k++) {
        int64_t j = base + k * inner;
        dx[j] = log_ ? g[j] - exp(r[j]) * s : r[j] * (g[j] - s);
      }
    }
}

/* y[o,i] = sum_k x[o,k,i]
 * y [outer, inner], x [outer, len, inner] */
static void sum_dim(double *y, const double *x, int64_t outer, int64_t len, int64_t inner) {
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double s = 0;
      for (int64_t k = 0; k < len; k++) s += x[(o * len + k) * inner + i];
      y[o * inner + i] = s;
    }
}

/* y[i,o] = sum_r a[r,i] * b[r,o]
 * y [I, O], a [R, I], b [R, O] */
static void outer_sum(double *y, const double *a, const double *b, int64_t R, int64_t I, int64_t O) {
  memset(y, 0, sizeof(double) * (size_t)(I * O));
  for (int64_t r = 0; r < R; r++)
    for (int64_t i = 0; i < I; i++) {
      double ai = a[r * I + i];
      for (int64_t o = 0; o < O; o++) y[i * O + o] += ai * b[r * O + o];
    }
}

/* loss = 1/N sum_n (log sum_c exp(x[n,c]) - x[n,t[n]])
 * dx[n,c] = (softmax(x[n])[c] - (c == t[n])) / N   (when dx is not NULL)
 * x, dx [N, C], t [N] (valid indices) */
static double cross_entropy(double *dx, const double *x, const double *t, int64_t N, int64_t C) {
  double loss = 0;
  for (int64_t n = 0; n < N; n++) {
    const double *xn = x + n * C;
    double mx = -INFINITY, s = 0;
    for (int64_t c = 0; c < C; c++) mx = fmax(mx, xn[c]);
    for (int64_t c = 0; c < C; c++) s += exp(xn[c] - mx);
    int64_t tn = (int64_t)t[n];
    loss += mx + log(s) - xn[tn];
    if (dx)
      for (int64_t c = 0; c < C; c++) dx[n * C + c] = (exp(xn[c] - mx) / s - (c == tn)) / (double)N;
  }
  return loss / (double)N;
}

/* Dropout with the counter-based mask:
 *   keep[i] = rt_dropout_keep(rt_dropout_bits(seed, step, key, i), p)
 *   y[i] = keep[i] ? x[i] / (1 - p) : 0;   p == 1: y = 0
 * y, x [n] (x is the input forward, the incoming gradient backward: the same map) */
static void dropout_apply(double *y, const double *x, double p, uint32_t seed, uint32_t step, uint32_t key, int64_t n) {
  if (p >= 1) {
    memset(y, 0, sizeof(double) * (size_t)n);
    return;
  }
  double scale = 1 / (1 - p);
  for (int64_t i = 0; i < n; i++)
    y[i] = rt_dropout_keep(rt_dropout_bits(seed, step, key, (uint32_t)i), (float)p) ? x[i] * scale : 0;
}

/* Broadcast strides: x's strides for an output of rank r, 0 where x's dim is 1 (or missing)
 * and is stretched. */
static void bcast_strides(int64_t *st, int r, int xrank, const int64_t *xdims, const int64_t *odims) {
  int64_t s = 1;
  for (int i = r - 1; i >= 0; i--) {
    int xi = xrank - r + i;
    if (xi < 0) {
      st[i] = 0;
      continue;
    }
    st[i] = (xdims[xi] == 1 && odims[i] != 1) ? 0 : s;
    s *= xdims[xi];
  }
}

typedef enum BinOp { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV } BinOp;

/* y = a (op) b with broadcasting: y [odims], a and b aligned right with stretched dims */
static void binary_bcast(double *y, const double *a, const int64_t *ast, const double *b, const int64_t *bst,
                         BinOp op, int r, const int64_t *odims, int64_t n) {
  int64_t idx[IR_MAX_RANK] = {0}, oa = 0, ob = 0;
  for (int64_t i = 0; i < n; i++) {
    double x = a[oa], z = b[ob];
    y[i] = op == BIN_ADD ? x + z : op == BIN_SUB ? x - z : op == BIN_MUL ? x * z : x / z;
    for (int k = r - 1; k >= 0; k--) { /* odometer */
      oa += ast[k];
      ob += bst[k];
      if (++idx[k] < odims[k]) break;
      oa -= ast[k] * odims[k];
      ob -= bst[k] * odims[k];
      idx[k] = 0;
    }
  }
}

/* The reverse of broadcasting: y[j] = sum over the x elements i that j was stretched to.
 * y [like dims] (zeroed), x [xdims]; yst: y's broadcast strides over x's dims */
static void sum_to(double *y, const double *x, const int64_t *yst, int r, const int64_t *xdims, int64_t n) {
  int64_t idx[IR_MAX_RANK] = {0}, oy = 0;
  for (int64_t i = 0; i < n; i++) {
    y[oy] += x[i];
    for (int k = r - 1; k >= 0; k--) {
      oy += yst[k];
      if (++idx[k] < xdims[k]) break;
      oy -= yst[k] * xdims[k];
      idx[k] = 0;
    }
  }
}

/* y = x with dims d0 and d1 swapped: y[..i..j..] = x[..j..i..]
 * y [dims with d0, d1 swapped], x [dims] */
static void transpose_copy(double *y, const double *x, int r, const int64_t *xdims, int d0, int d1, int64_t n) {
  int64_t xst[IR_MAX_RANK], ydims[IR_MAX_RANK], yst[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
  int64_t s = 1;
  for (int i = r - 1; i >= 0; i--) {
    xst[i] = s;
    s *= xdims[i];
  }
  for (int i = 0; i < r; i++) ydims[i] = xdims[i];
  ydims[d0] = xdims[d1];
  ydims[d1] = xdims[d0];
  for (int i = 0; i < r; i++) yst[i] = xst[i];
  yst[d0] = xst[d1];
  yst[d1] = xst[d0];
  int64_t ox = 0;
  for (int64_t i = 0; i < n; i++) { /* walk y in order, x through the swapped strides */
    y[i] = x[ox];
    for (int k = r - 1; k >= 0; k--) {
      ox += yst[k];
      if (++idx[k] < ydims[k]) break;
      ox -= yst[k] * ydims[k];
      idx[k] = 0;
    }
  }
}

/* torch.matmul after 1-D promotion: y[b] = a[b] @ w[b] for every batch index b
 * y [batch..., n, m], a [abatch..., n, k], w [wbatch..., k, m] (batch dims broadcast);
 * ast / wst: the operands' strides over the batch dims (0 where stretched) */
static void matmul_batched(double *y, const double *a, const int64_t *ast, const double *w, const int64_t *wst,
                           int br, const int64_t *bdims, int64_t n, int64_t k, int64_t m) {
  int64_t nb = numel_of(br, bdims), idx[IR_MAX_RANK] = {0}, oa = 0, ow = 0;
  for (int64_t bi = 0; bi < nb; bi++) {
    const double *ab = a + oa * n * k, *wb = w + ow * k * m;
    double *yb = y + bi * n * m;
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < m; j++) {
        double acc = 0;
        for (int64_t q = 0; q < k; q++) acc += ab[i * k + q] * wb[q * m + j];
        yb[i * m + j] = acc;
      }
    for (int d = br - 1; d >= 0; d--) {
      oa += ast[d];
      ow += wst[d];
      if (++idx[d] < bdims[d]) break;
      oa -= ast[d] * bdims[d];
      ow -= wst[d] * bdims[d];
      idx[d] = 0;
    }
  }
}

/* ================= parameters ================= */

static int graph_param_index(const Graph *g, const Param *p) {
  for (int i = 0; i < g->nparams; i++)
    if (g->params[i] == p) return i;
  return -1;
}

/* A module's f32 parameter or buffer in double (NULL when the module has none by that name). */
static double *module_param(Interp *I, const Module *m, const char *name) {
  const Param *p = ir_module_param(m, name);
  int gi = p ? graph_param_index(I->g, p) : -1;
  if (gi < 0) return NULL;
  size_t off = I->s->off[I->sidx[gi]];
  return off == (size_t)-1 ? NULL : I->pd + off;
}

/* Writes a buffer back to the state: float in s->data, and the float's value in the double
 * copy, so later reads in this run see what PyTorch would. */
static void store_buffer(Interp *I, double *pd, int64_t n) {
  float *f = I->s->data + (pd - I->pd);
  for (int64_t i = 0; i < n; i++) {
    f[i] = (float)pd[i];
    pd[i] = f[i];
  }
}

static int64_t *module_i64(Interp *I, const Module *m, const char *name) {
  for (int i = 0; i < m->nparams; i++)
    if (strcmp(m->params[i]->name, name) == 0) {
      int gi = graph_param_index(I->g, m->params[i]);
      return gi < 0 ? NULL : &I->s->i64[I->sidx[gi]];
    }
  return NULL;
}

/* ================= modules ================= */

static uint32_t key_of(const char *name) {
  return (uint32_t)ir_hash_str(name);
}

/* Flatten's result shape: dims start..end multiplied into one. */
static Status flatten_dims(Interp *I, const Tensor *x, int64_t start, int64_t end, int *rank, int64_t *dims) {
  int s = 0, e = 0;
  Status st;
  if ((st = wrap_dim(I, start, x->rank, &s)) || (st = wrap_dim(I, end, x->rank, &e))) return st;
  if (x->rank == 0) {
    *rank = 1;
    dims[0] = 1;
    return JS_OK;
  }
  if (s > e) return fail(I, "flatten: start_dim %d comes after end_dim %d", s, e);
  int r = 0;
  for (int i = 0; i < s; i++) dims[r++] = x->dims[i];
  dims[r++] = numel_of(e - s + 1, x->dims + s);
  for (int i = e + 1; i < x->rank; i++) dims[r++] = x->dims[i];
  *rank = r;
  return JS_OK;
}

static Tensor *reshaped(Interp *I, const Tensor *x, int rank, const int64_t *dims) {
  Tensor *y = t_new(I, x->dtype, rank, dims);
  if (y) memcpy(y->v, x->v, sizeof(double) * (size_t)x->n);
  return y;
}

/* y = f(x) for an activation of ew.def, its formula evaluated in double; y, x [n] */
static Tensor *ew_t(Interp *I, const Tensor *x, const EwDef *d, const Value *b, DType dt) {
  double prm[IR_EW_MAX_PARAMS];
  ir_ew_params(d, b, prm);
  Tensor *y = t_new(I, dt, x->rank, x->dims);
  if (!y) return NULL;
  for (int64_t i = 0; i < x->n; i++) y->v[i] = ir_ew_eval(&d->fwd, x->v[i], 0, 0, prm);
  return y;
}

/* y = -x; y, x [n] */
static Tensor *neg_t(Interp *I, const Tensor *x, DType dt) {
  Tensor *y = t_new(I, dt, x->rank, x->dims);
  if (y)
    for (int64_t i = 0; i < x->n; i++) y->v[i] = -x->v[i];
  return y;
}

static Tensor *softmax_t(Interp *I, const Tensor *x, bool has_dim, int64_t dim, bool log_) {
  if (!has_dim) dim = (x->rank == 0 || x->rank == 1 || x->rank == 3) ? 0 : 1;
  int d = 0;
  if (wrap_dim(I, dim, x->rank, &d)) return NULL;
  Tensor *y = t_like(I, x);
  if (!y) return NULL;
  int64_t outer, len, inner;
  split_dim(x, d, &outer, &len, &inner);
  softmax_fwd(y->v, x->v, log_, outer, len, inner);
  return y;
}

static Tensor *dropout_t(Interp *I, const Tensor *x, double p, uint32_t key) {
  Tensor *y = t_like(I, x);
  if (y) dropout_apply(y->v, x->v, p, I->o.seed, I->o.step, key, x->n);
  return y;
}

/* A quantized copy of a module parameter's n doubles (rows of `row`), owned by the node's
 * temporaries; p itself when the slot is not quantized. */
static double *qparam(Interp *I, double *p, int64_t n, int64_t row, QSlot s) {
  if (!I->quant || !I->q.has[s]) return p;
  int64_t dims[1] = {n};
  Tensor *t = t_new(I, DT_F64, 1, dims);
  if (!t) return NULL;
  if (I->ntmp == (int)(sizeof I->tmp / sizeof I->tmp[0])) {
    ir_free(t);
    fail(I, "too many quantized operands");
    return NULL;
  }
  memcpy(t->v, p, sizeof(double) * (size_t)n);
  ir_quant_tensor_f64(&I->q.fmt[s], t->v, t->v, n, row > 0 ? row : 1);
  I->tmp[I->ntmp++] = t;
  return t->v;
}

/* Quantized BatchNorm (spec/quant.md §3): y = x * Q_w(s) + Q_b(t), s = w / sqrt(v + eps),
 * t = b - m * s, per channel. */
static void bn_apply_folded(Interp *I, double *y, const double *x, const double *mean, const double *var,
                            const double *w, const double *b, double eps, int64_t N, int64_t C, int64_t L,
                            double *st) {
  double *sc = st, *sh = st + C;
  for (int64_t c = 0; c < C; c++) sc[c] = ir_bn_fold(w ? w[c] : 1.0, b ? b[c] : 0.0, mean[c], var[c], eps, &sh[c]);
  if (I->q.has[QS_WEIGHT]) ir_quant_tensor_f64(&I->q.fmt[QS_WEIGHT], sc, sc, C, C);
  if (I->q.has[QS_BIAS]) ir_quant_tensor_f64(&I->q.fmt[QS_BIAS], sh, sh, C, C);
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t l = 0; l < L; l++) {
        int64_t k = (n * C + c) * L + l;
        y[k] = x[k] * sc[c] + sh[c];
      }
}

static Tensor *batchnorm_t(Interp *I, const Module *m, const Tensor *x) {
  const Value *mom = ir_module_arg(m, "momentum"), *tr = ir_module_arg(m, "track_running_stats");
  double eps = num_of(ir_module_arg(m, "eps"), 1e-5);
  bool track = tr && tr->kind == VAL_BOOL && tr->u.b;
  int64_t C = (int64_t)num_of(ir_module_arg(m, "num_features"), 0);
  if ((x->rank != 2 && x->rank != 3) || x->dims[1] != C) {
    fail(I, "BatchNorm1d(%lld) expects [N, %lld] or [N, %lld, L], got %s", (long long)C, (long long)C, (long long)C,
         shape_text(x->rank, x->dims).s);
    return NULL;
  }
  int64_t N = x->dims[0], L = x->rank == 3 ? x->dims[2] : 1;
  double *w = module_param(I, m, "weight"), *b = module_param(I, m, "bias");
  double *rm = module_param(I, m, "running_mean"), *rv = module_param(I, m, "running_var");
  int64_t *nbt = module_i64(I, m, "num_batches_tracked");
  bool use_batch = I->o.mode == RT_TRAIN || !track || !rm || !rv;
  Tensor *y = t_like(I, x);
  if (!y) return NULL;
  if (!use_batch) {
    if (I->quant) {
      double *st = ir_malloc(sizeof(double) * (size_t)(2 * C + 1));
      if (!st) {
        ir_free(y);
        nomem(I);
        return NULL;
      }
      bn_apply_folded(I, y->v, x->v, rm, rv, w, b, eps, N, C, L, st);
      ir_free(st);
    } else {
      bn_apply(y->v, x->v, rm, rv, w, b, eps, N, C, L);
    }
    return y;
  }
  if (N * L <= 1) {
    ir_free(y);
    fail(I, "BatchNorm1d expects more than 1 value per channel when training, got input %s",
         shape_text(x->rank, x->dims).s);
    return NULL;
  }
  double *stats = ir_malloc(sizeof(double) * (size_t)(4 * C + 1));
  if (!stats) {
    ir_free(y);
    nomem(I);
    return NULL;
  }
  double *mean = stats, *var = stats + C;
  bn_stats(mean, var, x->v, N, C, L);
  if (I->quant) bn_apply_folded(I, y->v, x->v, mean, var, w, b, eps, N, C, L, stats + 2 * C);
  else bn_apply(y->v, x->v, mean, var, w, b, eps, N, C, L);
  if (I->o.mode == RT_TRAIN && track && rm && rv) {
    /* running stats: f = momentum, or the cumulative average 1/num_batches_tracked */
    if (nbt) *nbt += 1;
    double f = mom && mom->kind != VAL_NONE ? num_of(mom, 0.1) : nbt && *nbt > 0 ? 1.0 / (double)*nbt : 1.0;
    double M = (double)(N * L);
    for (int64_t c = 0; c < C; c++) {
      rm[c] = (1 - f) * rm[c] + f * mean[c];
      rv[c] = (1 - f) * rv[c] + f * var[c] * M / (M - 1);
    }
    store_buffer(I, rm, C);
    store_buffer(I, rv, C);
  }
  ir_free(stats);
  return y;
}

/* Linear as a module or a function: x [..., I], w [O, I], b [O] or NULL -> [..., O] */
static Tensor *linear_t(Interp *I, const Tensor *x, const double *w, const double *b, int64_t O, int64_t In, DType dt) {
  if (x->rank < 1 || x->dims[x->rank - 1] != In) {
    fail(I, "linear expects %lld input features, got %s", (long long)In, shape_text(x->rank, x->dims).s);
    return NULL;
  }
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, x->dims, sizeof dims);
  dims[x->rank - 1] = O;
  Tensor *y = t_new(I, dt, x->rank, dims);
  if (y) linear_fwd(y->v, x->v, w, b, x->n / (In ? In : 1), In, O);
  if (y && In == 0)
    for (int64_t i = 0; i < y->n; i++) y->v[i] = b ? b[i % O] : 0;
  return y;
}

static Tensor *conv1d_t(Interp *I, const Tensor *x, const double *w, const double *b, int64_t Cout, int64_t Cg,
                        int64_t K, int64_t stride, int64_t pad, int64_t dil, int64_t groups) {
  if ((x->rank != 2 && x->rank != 3) || stride < 1 || dil < 1 || groups < 1 || pad < 0 ||
      x->dims[x->rank - 2] != Cg * groups || Cout % groups) {
    fail(I, "conv1d cannot apply a [%lld,%lld,%lld] weight (groups %lld) to %s", (long long)Cout, (long long)Cg,
         (long long)K, (long long)groups, shape_text(x->rank, x->dims).s);
    return NULL;
  }
  int64_t N = x->rank == 3 ? x->dims[0] : 1, L = x->dims[x->rank - 1];
  int64_t num = L + 2 * pad - dil * (K - 1) - 1;
  if (num < 0) {
    fail(I, "conv1d: input length %lld is too short", (long long)L);
    return NULL;
  }
  int64_t Lout = num / stride + 1, dims[3];
  int r = 0;
  if (x->rank == 3) dims[r++] = N;
  dims[r++] = Cout;
  dims[r++] = Lout;
  Tensor *y = t_new(I, x->dtype, r, dims);
  if (y) conv1d_fwd(y->v, x->v, w, b, N, Cg * groups, L, Cout, Lout, K, stride, pad, dil, groups);
  return y;
}

/* A module call on x; `name` keys a Dropout's mask. */
static Tensor *call_fwd(Interp *I, const Node *nd, MaseOp op, const Value *b, Tensor *x, const char *key, DType dt);

/* A module call on x; `name` keys a Dropout's mask.  Modules with parameters read them; every
 * other module is its op (ir_module_bind) through call_fwd. */
static Tensor *module_fwd(Interp *I, const Module *m, Tensor *x, const char *name) {
  switch (m->type) {
  case MT_LINEAR: {
    int64_t in = (int64_t)num_of(ir_module_arg(m, "in_features"), 0), out = (int64_t)num_of(ir_module_arg(m, "out_features"), 0);
    double *w = module_param(I, m, "weight"), *b = module_param(I, m, "bias");
    if (!w) {
      fail(I, "Linear '%s' has no weight", m->path);
      return NULL;
    }
    if (I->quant && !(w = qparam(I, w, out * in, in, QS_WEIGHT))) return NULL;
    if (I->quant && b && !(b = qparam(I, b, out, out, QS_BIAS))) return NULL;
    return linear_t(I, x, w, b, out, in, x->dtype);
  }
  case MT_CONV1D: {
    int64_t groups = (int64_t)num_of(ir_module_arg(m, "groups"), 1);
    double *w = module_param(I, m, "weight"), *b = module_param(I, m, "bias");
    if (!w || groups < 1) {
      fail(I, "Conv1d '%s' has no weight", m->path);
      return NULL;
    }
    if (I->quant) {
      int64_t cout = (int64_t)num_of(ir_module_arg(m, "out_channels"), 0);
      int64_t kk = (int64_t)num_of(ir_module_arg(m, "kernel_size"), 1);
      int64_t wn = cout * ((int64_t)num_of(ir_module_arg(m, "in_channels"), 0) / groups) * kk;
      if (!(w = qparam(I, w, wn, kk, QS_WEIGHT))) return NULL;
      if (b && !(b = qparam(I, b, cout, cout, QS_BIAS))) return NULL;
    }
    return conv1d_t(I, x, w, b, (int64_t)num_of(ir_module_arg(m, "out_channels"), 0),
                    (int64_t)num_of(ir_module_arg(m, "in_channels"), 0) / groups,
                    (int64_t)num_of(ir_module_arg(m, "kernel_size"), 1), (int64_t)num_of(ir_module_arg(m, "stride"), 1),
                    (int64_t)num_of(ir_module_arg(m, "padding"), 0), (int64_t)num_of(ir_module_arg(m, "dilation"), 1),
                    groups);
  }
  case MT_BATCHNORM1D: return batchnorm_t(I, m, x);
  case MT_DROPOUT: /* a module's mask follows the run's mode */
    if (I->o.mode != RT_TRAIN) return t_copy(I, x);
    return dropout_t(I, x, num_of(ir_module_arg(m, "p"), 0.5), key_of(name));
  case MT_SEQUENTIAL: {
    /* children in order; a child's Dropout mask is keyed on "<node>/<child path>" */
    Tensor *cur = NULL;
    for (int i = 0; i < m->nchildren; i++) {
      char *key = arena_printf(I->arena, "%s/%s", I->cur->name, m->children[i]->path);
      if (!key) {
        ir_free(cur);
        nomem(I);
        return NULL;
      }
      Tensor *next = module_fwd(I, m->children[i], cur ? cur : x, key);
      ir_free(cur);
      if (!next) return NULL;
      cur = next;
    }
    return cur ? cur : t_copy(I, x);
  }
  case MT_NONE:
  case MT_COUNT: break;
  default: {
    Value b[12];
    MaseOp op = ir_module_bind(m, b);
    if (op == MOP_NONE) break;
    return call_fwd(I, I->cur, op, b, x, name, x->dtype == DT_F64 || !ir_ew_has(op) || op == MOP_RELU ? x->dtype : DT_F32);
  }
  }
  fail(I, "module '%s' cannot run", m->path);
  return NULL;
}

/* ================= functions ================= */

static Tensor *qcopy(Interp *I, Tensor *x, QSlot s);

/* The live tensor of a node argument; NULL (reported) when the value is no tensor.  While a
 * quantized node runs, "input"/"other" operands come quantized with its data_in format and
 * "weight"/"bias" with its weight/bias formats. */
static Tensor *arg_t(Interp *I, const Value *v, const char *what) {
  if (v->kind != VAL_NODE) {
    fail(I, "expects a tensor for '%s', got %s", what, val_kind_name(v));
    return NULL;
  }
  const Node *a = v->u.node;
  int k = (int)(intptr_t)strmap_get(&I->index, a->name) - 1;
  if (k < 0 || I->nodes[k] != a || !I->val[k]) {
    fail(I, "argument %%%s has no value (is it defined before its use?)", a->name);
    return NULL;
  }
  if (I->quant) { /* a quantized node sees its operands quantized, by role */
    QSlot s = strcmp(what, "input") == 0 || strcmp(what, "other") == 0 ? QS_DATA_IN
              : strcmp(what, "weight") == 0 ? QS_WEIGHT : strcmp(what, "bias") == 0 ? QS_BIAS : QS_COUNT;
    if (s != QS_COUNT) return qcopy(I, I->val[k], s);
  }
  return I->val[k];
}

/* A quantized copy of x in slot s of the running node (x itself when the slot is not
 * quantized); the copy lives until the node finishes. */
static Tensor *qcopy(Interp *I, Tensor *x, QSlot s) {
  if (!x || !I->quant || !I->q.has[s]) return x;
  if (I->ntmp == (int)(sizeof I->tmp / sizeof I->tmp[0])) {
    fail(I, "too many quantized operands");
    return NULL;
  }
  Tensor *y = t_copy(I, x);
  if (!y) return NULL;
  ir_quant_tensor_f64(&I->q.fmt[s], y->v, y->v, y->n, y->rank ? y->dims[y->rank - 1] : 1);
  I->tmp[I->ntmp++] = y;
  return y;
}

/* add/sub/mul/div of tensors and numbers, broadcasting */
static Tensor *arith_t(Interp *I, BinOp op, const Value *va, const Value *vb, DType dt) {
  const Value *vs[2] = {va, vb};
  double nums[2];
  const double *data[2];
  int ranks[2];
  const int64_t *dims[2];
  static const int64_t none[1] = {1};
  for (int k = 0; k < 2; k++) {
    if (vs[k]->kind == VAL_NODE) {
      Tensor *t = arg_t(I, vs[k], k ? "other" : "input");
      if (!t) return NULL;
      data[k] = t->v;
      ranks[k] = t->rank;
      dims[k] = t->dims;
    } else {
      nums[k] = num_of(vs[k], 0);
      data[k] = &nums[k];
      ranks[k] = 0;
      dims[k] = none;
    }
  }
  int r = ranks[0] > ranks[1] ? ranks[0] : ranks[1];
  int64_t odims[IR_MAX_RANK];
  for (int i = 0; i < r; i++) {
    int ia = ranks[0] - r + i, ib = ranks[1] - r + i;
    int64_t x = ia >= 0 ? dims[0][ia] : 1, y = ib >= 0 ? dims[1][ib] : 1;
    if (x != y && x != 1 && y != 1) {
      fail(I, "cannot broadcast %s with %s", shape_text(ranks[0], dims[0]).s, shape_text(ranks[1], dims[1]).s);
      return NULL;
    }
    odims[i] = x == 1 ? y : x;
  }
  Tensor *y = t_new(I, dt, r, odims);
  if (!y) return NULL;
  int64_t ast[IR_MAX_RANK], bst[IR_MAX_RANK];
  bcast_strides(ast, r, ranks[0], dims[0], odims);
  bcast_strides(bst, r, ranks[1], dims[1], odims);
  binary_bcast(y->v, data[0], ast, data[1], bst, op, r, odims, y->n);
  return y;
}

static Tensor *matmul_t(Interp *I, const Tensor *a, const Tensor *w, DType dt) {
  if (a->rank < 1 || w->rank < 1) {
    fail(I, "matmul needs operands of at least 1 dim");
    return NULL;
  }
  /* 1-D promotion: a [k] -> [1, k], w [k] -> [k, 1], the added dims removed from y */
  int64_t n = a->rank >= 2 ? a->dims[a->rank - 2] : 1, k = a->dims[a->rank - 1];
  int64_t kw = w->rank >= 2 ? w->dims[w->rank - 2] : w->dims[0], m = w->rank >= 2 ? w->dims[w->rank - 1] : 1;
  if (k != kw) {
    fail(I, "matmul cannot multiply %s by %s", shape_text(a->rank, a->dims).s, shape_text(w->rank, w->dims).s);
    return NULL;
  }
  int ar = a->rank > 2 ? a->rank - 2 : 0, wr = w->rank > 2 ? w->rank - 2 : 0, br = ar > wr ? ar : wr;
  int64_t bdims[IR_MAX_RANK], ydims[IR_MAX_RANK];
  for (int i = 0; i < br; i++) {
    int ia = ar - br + i, iw = wr - br + i;
    int64_t x = ia >= 0 ? a->dims[ia] : 1, z = iw >= 0 ? w->dims[iw] : 1;
    if (x != z && x != 1 && z != 1) {
      fail(I, "matmul cannot broadcast the batch dims of %s and %s", shape_text(a->rank, a->dims).s,
           shape_text(w->rank, w->dims).s);
      return NULL;
    }
    bdims[i] = x == 1 ? z : x;
  }
  int yr = br;
  memcpy(ydims, bdims, sizeof(int64_t) * (size_t)br);
  if (a->rank >= 2) ydims[yr++] = n;
  if (w->rank >= 2) ydims[yr++] = m;
  Tensor *y = t_new(I, dt, yr, ydims);
  if (!y) return NULL;
  /* batch strides in units of whole matrices */
  int64_t ast[IR_MAX_RANK], wst[IR_MAX_RANK];
  bcast_strides(ast, br, ar, a->dims, bdims);
  bcast_strides(wst, br, wr, w->dims, bdims);
  matmul_batched(y->v, a->v, ast, w->v, wst, br, bdims, n, k, m);
  return y;
}

/* view/reshape: sizes with at most one -1 */
static Tensor *view_t(Interp *I, const Tensor *x, const Value *sizes) {
  int r = sizes->kind == VAL_TUPLE || sizes->kind == VAL_LIST ? sizes->u.seq.n : 0;
  if (r < 1 || r > IR_MAX_RANK) {
    fail(I, "view needs 1 to %d sizes", IR_MAX_RANK);
    return NULL;
  }
  int64_t dims[IR_MAX_RANK], p = 1;
  int infer = -1;
  for (int i = 0; i < r; i++) {
    const Value *v = &sizes->u.seq.items[i];
    dims[i] = v->kind == VAL_INT ? v->u.i : -2;
    if (dims[i] == -1 && infer < 0) {
      infer = i;
    } else if (dims[i] < 0 || dims[i] > IR_MAX_DIM) {
      fail(I, "view: invalid size at position %d", i);
      return NULL;
    } else {
      p *= dims[i];
      if (p > IR_MAX_NUMEL) break;
    }
  }
  if (infer >= 0) {
    if (p == 0 || x->n % p) {
      fail(I, "view of %s: the -1 cannot be inferred", shape_text(x->rank, x->dims).s);
      return NULL;
    }
    dims[infer] = x->n / p;
    p = x->n;
  }
  if (p != x->n) {
    fail(I, "view of %s as %s: element counts differ", shape_text(x->rank, x->dims).s, shape_text(r, dims).s);
    return NULL;
  }
  return reshaped(I, x, r, dims);
}

/* ew_backward(g, saved, op, args...): op's backward formula of ew.def at each element, the
 * saved tensor standing for x or y as the formula says.  dx, g, f [n] */
static Status ew_backward(Interp *I, double *dx, const double *g, const double *f, const Value *b, int64_t n) {
  MaseOp op = b[2].kind == VAL_STR ? ir_op_lookup(b[2].u.s) : MOP_NONE;
  const OpInfo *oi = ir_op_info(op);
  Value fb[12] = {{.kind = VAL_NONE}};
  const Value *rest = b[3].kind == VAL_TUPLE ? b[3].u.seq.items : NULL;
  int nrest = b[3].kind == VAL_TUPLE ? b[3].u.seq.n : 0;
  for (int i = 1; oi && i < oi->sig.n; i++) fb[i] = i - 1 < nrest ? rest[i - 1] : oi->sig.params[i].def;
  const EwDef *d = oi ? ir_ew_find(op, fb) : NULL;
  if (!d) return fail(I, "ew_backward: no activation formula for this op");
  double prm[IR_EW_MAX_PARAMS];
  ir_ew_params(d, fb, prm);
  for (int64_t i = 0; i < n; i++)
    dx[i] = d->saved_y ? ir_ew_eval(&d->bwd, 0, f[i], g[i], prm) : ir_ew_eval(&d->bwd, f[i], 0, g[i], prm);
  return JS_OK;
}

static bool same_shape(const Tensor *a, const Tensor *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

/* Checks class indices t [N] for logits x [N, C]. */
static Status check_targets(Interp *I, const Tensor *x, const Tensor *t) {
  if (x->rank != 2 || t->rank != 1 || t->dims[0] != x->dims[0])
    return fail(I, "expects logits [N, C] and targets [N], got %s and %s", shape_text(x->rank, x->dims).s,
                shape_text(t->rank, t->dims).s);
  if (x->dims[0] == 0) return fail(I, "cross-entropy of an empty batch");
  for (int64_t n = 0; n < t->n; n++) {
    double v = t->v[n];
    if (!(v >= 0 && v < (double)x->dims[1]) || v != floor(v))
      return fail(I, "target %g at row %lld is out of range for %lld classes", v, (long long)n, (long long)x->dims[1]);
  }
  return JS_OK;
}

/* Whether the dropout node f (a dropout_backward's `forward`) applied a mask in this run. */
static bool dropout_was_applied(Interp *I, const Node *f) {
  if (f->op == OP_CALL_MODULE && f->module && f->module->type == MT_DROPOUT) return I->o.mode == RT_TRAIN;
  if ((f->op == OP_CALL_FUNCTION || f->op == OP_CALL_METHOD) && f->mop == MOP_DROPOUT) {
    for (int i = 0; i < f->nkwargs; i++)
      if (strcmp(f->kwnames[i], "training") == 0) return !(f->kwargs[i].kind == VAL_BOOL && !f->kwargs[i].u.b);
    if (f->nargs >= 3) return !(f->args[2].kind == VAL_BOOL && !f->args[2].u.b);
  }
  return true;
}

/* conv1d_backward_input / conv1d_backward_weight (g, x, w, stride, padding, dilation, groups):
 * the shape rule checked g against conv1d(x, w); a [C, L] input is one sample. */
static Tensor *conv1d_backward_t(Interp *I, MaseOp op, const Tensor *g, const Value *b) {
  Tensor *x = arg_t(I, &b[1], "input"), *w = arg_t(I, &b[2], "weight");
  if (!x || !w) return NULL;
  int64_t stride = b[3].u.i, pad = b[4].u.i, dil = b[5].u.i, groups = b[6].u.i;
  int64_t N = x->rank == 3 ? x->dims[0] : 1;
  if ((x->rank != 2 && x->rank != 3) || w->rank != 3 || g->rank != x->rank || groups < 1 ||
      x->dims[x->rank - 2] != w->dims[1] * groups || g->dims[g->rank - 2] != w->dims[0] || (g->rank == 3 && g->dims[0] != N)) {
    fail(I, "%s: grad %s does not match input %s and weight %s", ir_op_info(op)->name, shape_text(g->rank, g->dims).s,
         shape_text(x->rank, x->dims).s, shape_text(w->rank, w->dims).s);
    return NULL;
  }
  Tensor *y = op == MOP_CONV1D_BACKWARD_INPUT ? t_like(I, x) : t_like(I, w);
  if (!y) return NULL;
  y->dtype = g->dtype;
  bool in = op == MOP_CONV1D_BACKWARD_INPUT;
  conv1d_bwd(in ? y->v : NULL, in ? NULL : y->v, g->v, x->v, w->v, N, x->dims[x->rank - 2], x->dims[x->rank - 1],
             w->dims[0], g->dims[g->rank - 1], w->dims[2], stride, pad, dil, groups);
  return y;
}

/* One op with its arguments bound to the op's signature (positions as in ops.def): a
 * call_function / call_method, or a module bound by ir_module_bind, whose input x is given
 * (NULL: bound[0] holds it); `key` keys a dropout mask, dt is the result's dtype. */
static Tensor *call_fwd(Interp *I, const Node *nd, MaseOp op, const Value *b, Tensor *x, const char *key, DType dt) {
  Tensor *y = NULL, *z = NULL;
  bool arith = op == MOP_ADD || op == MOP_SUB || op == MOP_MUL || op == MOP_DIV;
  if (!arith && !x && !(x = arg_t(I, &b[0], ir_op_info(op)->sig.params[0].name))) return NULL;
  switch (op) {
  case MOP_LINEAR: {
    Tensor *w = arg_t(I, &b[1], "weight"), *bias = NULL;
    if (!w || (b[2].kind != VAL_NONE && !(bias = arg_t(I, &b[2], "bias")))) return NULL;
    if (w->rank != 2 || (bias && (bias->rank != 1 || bias->dims[0] != w->dims[0]))) {
      fail(I, "linear: bad weight %s or bias", shape_text(w->rank, w->dims).s);
      return NULL;
    }
    return linear_t(I, x, w->v, bias ? bias->v : NULL, w->dims[0], w->dims[1], dt);
  }
  case MOP_CONV1D: {
    Tensor *w = arg_t(I, &b[1], "weight"), *bias = NULL;
    if (!w || (b[2].kind != VAL_NONE && !(bias = arg_t(I, &b[2], "bias")))) return NULL;
    if (w->rank != 3 || (bias && (bias->rank != 1 || bias->dims[0] != w->dims[0]))) {
      fail(I, "conv1d: bad weight %s or bias", shape_text(w->rank, w->dims).s);
      return NULL;
    }
    return conv1d_t(I, x, w->v, bias ? bias->v : NULL, w->dims[0], w->dims[1], w->dims[2], b[3].u.i, b[4].u.i,
                    b[5].u.i, b[6].u.i);
  }
  case MOP_NEG: return neg_t(I, x, dt);
  case MOP_QUANTIZE: {
    QFmt f;
    if (ir_qfmt_from_value(&b[1], &f, I->d, nd->loc)) return NULL;
    if (!(y = t_copy(I, x))) return NULL;
    ir_quant_tensor_f64(&f, y->v, y->v, y->n, y->rank ? y->dims[y->rank - 1] : 1);
    return y;
  }
  case MOP_DROPOUT:
    if (b[2].kind == VAL_BOOL && !b[2].u.b) return t_copy(I, x);
    return dropout_t(I, x, num_of(&b[1], 0.5), key_of(key));
  case MOP_SOFTMAX:
  case MOP_LOG_SOFTMAX: return softmax_t(I, x, b[1].kind == VAL_INT, b[1].u.i, op == MOP_LOG_SOFTMAX);
  case MOP_FLATTEN: {
    int r = 0;
    int64_t dims[IR_MAX_RANK];
    if (flatten_dims(I, x, b[1].u.i, b[2].u.i, &r, dims)) return NULL;
    return reshaped(I, x, r, dims);
  }
  case MOP_VIEW:
  case MOP_RESHAPE: return view_t(I, x, &b[1]);
  case MOP_TRANSPOSE:
  case MOP_T: {
    int d0 = 0, d1 = 0;
    if (op == MOP_T) {
      if (x->rank > 2) {
        fail(I, "t() expects at most 2 dims, got %s", shape_text(x->rank, x->dims).s);
        return NULL;
      }
      d1 = x->rank == 2;
    } else if (wrap_dim(I, b[1].u.i, x->rank, &d0) || wrap_dim(I, b[2].u.i, x->rank, &d1)) {
      return NULL;
    }
    int64_t dims[IR_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    if (x->rank) {
      dims[d0] = x->dims[d1];
      dims[d1] = x->dims[d0];
    }
    if (!(y = t_new(I, x->dtype, x->rank, dims))) return NULL;
    if (x->rank) transpose_copy(y->v, x->v, x->rank, x->dims, d0, d1, x->n);
    else y->v[0] = x->v[0];
    return y;
  }
  case MOP_ADD: return arith_t(I, BIN_ADD, &b[0], &b[1], dt);
  case MOP_SUB: return arith_t(I, BIN_SUB, &b[0], &b[1], dt);
  case MOP_MUL: return arith_t(I, BIN_MUL, &b[0], &b[1], dt);
  case MOP_DIV: return arith_t(I, BIN_DIV, &b[0], &b[1], dt);
  case MOP_MATMUL: return (z = arg_t(I, &b[1], "other")) ? matmul_t(I, x, z, dt) : NULL;
  case MOP_SUM: {
    int d = 0;
    if (wrap_dim(I, b[1].u.i, x->rank, &d)) return NULL;
    bool keep = b[2].kind == VAL_BOOL && b[2].u.b;
    int64_t dims[IR_MAX_RANK], outer, len, inner;
    int r = 0;
    for (int i = 0; i < x->rank; i++)
      if (i != d) dims[r++] = x->dims[i];
      else if (keep) dims[r++] = 1;
    if (!(y = t_new(I, dt, r, dims))) return NULL;
    split_dim(x, d, &outer, &len, &inner);
    sum_dim(y->v, x->v, outer, len, inner);
    return y;
  }
  case MOP_SUM_TO: {
    Tensor *l = arg_t(I, &b[1], "like");
    if (!l) return NULL;
    /* like must broadcast to x without changing x's shape */
    bool ok = l->rank <= x->rank;
    for (int i = 0; ok && i < l->rank; i++) {
      int64_t ld = l->dims[i], xd = x->dims[x->rank - l->rank + i];
      ok = ld == xd || ld == 1;
    }
    if (!ok) {
      fail(I, "cannot sum %s down to %s", shape_text(x->rank, x->dims).s, shape_text(l->rank, l->dims).s);
      return NULL;
    }
    if (!(y = t_new(I, x->dtype, l->rank, l->dims))) return NULL;
    int64_t yst[IR_MAX_RANK];
    bcast_strides(yst, x->rank, l->rank, l->dims, x->dims);
    if (x->rank) sum_to(y->v, x->v, yst, x->rank, x->dims, x->n);
    else y->v[0] = x->v[0];
    return y;
  }
  case MOP_RESHAPE_AS: {
    Tensor *o = arg_t(I, &b[1], "other");
    if (!o) return NULL;
    if (o->n != x->n) {
      fail(I, "cannot reshape %s as %s", shape_text(x->rank, x->dims).s, shape_text(o->rank, o->dims).s);
      return NULL;
    }
    return reshaped(I, x, o->rank, o->dims);
  }
  case MOP_CROSS_ENTROPY:
  case MOP_CROSS_ENTROPY_BACKWARD: {
    Tensor *t = arg_t(I, &b[1], "target");
    if (!t || check_targets(I, x, t)) return NULL;
    if (op == MOP_CROSS_ENTROPY) {
      if ((y = t_new(I, dt, 0, NULL))) y->v[0] = cross_entropy(NULL, x->v, t->v, x->dims[0], x->dims[1]);
    } else if ((y = t_like(I, x))) {
      cross_entropy(y->v, x->v, t->v, x->dims[0], x->dims[1]);
    }
    return y;
  }
  case MOP_OUTER_SUM: {
    Tensor *o = arg_t(I, &b[1], "other");
    if (!o) return NULL;
    if (x->rank < 1 || o->rank != x->rank || (x->n && o->n && x->n / x->dims[x->rank - 1] != o->n / o->dims[o->rank - 1])) {
      fail(I, "outer_sum: %s and %s have different rows", shape_text(x->rank, x->dims).s, shape_text(o->rank, o->dims).s);
      return NULL;
    }
    int64_t In = x->dims[x->rank - 1], O = o->dims[o->rank - 1], dims[2] = {In, O};
    if (!(y = t_new(I, dt, 2, dims))) return NULL;
    if (In && O) outer_sum(y->v, x->v, o->v, x->n / In, In, O);
    return y;
  }
  case MOP_EW_BACKWARD:
  case MOP_SOFTMAX_BACKWARD:
  case MOP_LOG_SOFTMAX_BACKWARD:
  case MOP_DROPOUT_BACKWARD:
  case MOP_BATCH_NORM1D_BACKWARD_INPUT:
  case MOP_BATCH_NORM1D_BACKWARD_WEIGHT: {
    Tensor *f = arg_t(I, &b[1], ir_op_info(op)->sig.params[1].name);
    if (!f) return NULL;
    if (!same_shape(x, f)) {
      fail(I, "grad %s and %s differ in shape", shape_text(x->rank, x->dims).s, shape_text(f->rank, f->dims).s);
      return NULL;
    }
    if (op == MOP_BATCH_NORM1D_BACKWARD_INPUT || op == MOP_BATCH_NORM1D_BACKWARD_WEIGHT) {
      if (x->rank != 2 && x->rank != 3) {
        fail(I, "expects [N, C] or [N, C, L], got %s", shape_text(x->rank, x->dims).s);
        return NULL;
      }
      int64_t N = x->dims[0], C = x->dims[1], L = x->rank == 3 ? x->dims[2] : 1;
      Tensor *w = NULL;
      if (op == MOP_BATCH_NORM1D_BACKWARD_INPUT && b[2].kind != VAL_NONE) {
        if (!(w = arg_t(I, &b[2], "weight"))) return NULL;
        if (w->n != C) {
          fail(I, "expects a weight [%lld], got %s", (long long)C, shape_text(w->rank, w->dims).s);
          return NULL;
        }
      }
      if (N * L < 1) {
        fail(I, "batch-norm backward of an empty batch");
        return NULL;
      }
      double eps = num_of(op == MOP_BATCH_NORM1D_BACKWARD_INPUT ? &b[3] : &b[2], 1e-5);
      if (op == MOP_BATCH_NORM1D_BACKWARD_WEIGHT) {
        if ((y = t_new(I, dt, 1, &C))) bn_backward(NULL, y->v, x->v, f->v, NULL, eps, N, C, L);
      } else if ((y = t_new(I, dt, x->rank, x->dims))) {
        bn_backward(y->v, NULL, x->v, f->v, w ? w->v : NULL, eps, N, C, L);
      }
      return y;
    }
    if (!(y = t_new(I, dt, x->rank, x->dims))) return NULL;
    switch (op) {
    case MOP_EW_BACKWARD:
      if (ew_backward(I, y->v, x->v, f->v, b, x->n)) {
        ir_free(y);
        return NULL;
      }
      break;
    case MOP_SOFTMAX_BACKWARD:
    case MOP_LOG_SOFTMAX_BACKWARD: {
      int d = 0;
      int64_t outer, len, inner;
      if (wrap_dim(I, b[2].u.i, x->rank, &d)) {
        ir_free(y);
        return NULL;
      }
      split_dim(x, d, &outer, &len, &inner);
      softmax_bwd(y->v, x->v, f->v, op == MOP_LOG_SOFTMAX_BACKWARD, outer, len, inner);
      break;
    }
    case MOP_DROPOUT_BACKWARD: {
      const Node *fn = b[1].u.node;
      if (dropout_was_applied(I, fn))
        dropout_apply(y->v, x->v, num_of(&b[2], 0.5), I->o.seed, I->o.step, key_of(fn->name), x->n);
      else
        memcpy(y->v, x->v, sizeof(double) * (size_t)x->n);
      break;
    }
    default: break;
    }
    return y;
  }
  case MOP_BATCH_NORM1D:
  case MOP_IDENTITY:
    if (op == MOP_IDENTITY) return t_copy(I, x);
    fail(I, "batch_norm1d runs only as a BatchNorm1d module");
    return NULL;
  case MOP_CONV1D_BACKWARD_INPUT:
  case MOP_CONV1D_BACKWARD_WEIGHT: return conv1d_backward_t(I, op, x, b);
  case MOP_NONE:
  case MOP_COUNT: break;
  default: {
    const EwDef *d = ir_ew_find(op, b);
    if (d) return ew_t(I, x, d, b, dt);
  }
  }
  fail(I, "'%s' has no kernel", nd->target);
  return NULL;
}

/* ================= the run ================= */

/* The concrete dims of a type with its symbols bound; false when a symbol is unbound. */
static bool concrete(const Interp *I, const TensorType *t, int64_t *dims) {
  for (int i = 0; i < t->rank; i++) {
    if (!t->dims[i].sym) {
      dims[i] = t->dims[i].size;
      continue;
    }
    int k = 0;
    while (k < I->nsyms && strcmp(I->sym[k], t->dims[i].sym) != 0) k++;
    if (k == I->nsyms) return false;
    dims[i] = I->symval[k];
  }
  return true;
}

/* Binds one placeholder to its input, checking dtype, rank, known dims and symbols. */
static Status bind_input(Interp *I, const Node *n, const RtTensor *in, Tensor **out) {
  const TensorType *t = &n->type;
  ShapeText want = type_text(t);
  bool want_float = t->dtype == DT_F32 || t->dtype == DT_F64;
  char got[240];
  ShapeText gs = shape_text(in->rank, in->dims);
  snprintf(got, sizeof got, "%s%s", in->dtype == DT_F32 ? "f32" : in->dtype == DT_I64 ? "i64" : "?", gs.s);
  if (in->dtype != DT_F32 && in->dtype != DT_I64)
    return diag_error(I->d, n->loc, "input '%s' expects %s, got a tensor of dtype %s (the runtime takes f32 or i64)",
                      n->target, want.s, ir_dtype_name(in->dtype));
  if ((in->dtype == DT_F32) != want_float)
    return diag_error(I->d, n->loc, "input '%s' expects %s, got %s (wrong dtype)", n->target, want.s, got);
  if (in->rank != t->rank || in->rank < 0 || in->rank > IR_MAX_RANK)
    return diag_error(I->d, n->loc, "input '%s' expects %s, got %s (rank %d, expected %d)", n->target, want.s, got,
                      in->rank, t->rank);
  int64_t total = 1;
  for (int i = 0; i < t->rank; i++) {
    int64_t v = in->dims[i];
    if (v < 0 || v > IR_MAX_DIM || (v && total > IR_MAX_NUMEL / v))
      return diag_error(I->d, n->loc, "input '%s' expects %s, got %s (invalid or too large)", n->target, want.s, got);
    total *= v;
    const Dim *dd = &t->dims[i];
    if (!dd->sym) {
      if (dd->size != v)
        return diag_error(I->d, n->loc, "input '%s' expects %s, got %s (dim %d is %lld, expected %lld)", n->target,
                          want.s, got, i, (long long)v, (long long)dd->size);
      continue;
    }
    int k = 0;
    while (k < I->nsyms && strcmp(I->sym[k], dd->sym) != 0) k++;
    if (k < I->nsyms) {
      if (I->symval[k] != v)
        return diag_error(I->d, n->loc, "input '%s' expects %s with %s = %lld (from input '%s'), got %s", n->target,
                          want.s, dd->sym, (long long)I->symval[k], I->symfrom[k], got);
      continue;
    }
    if (I->nsyms == MAX_SYMS) return diag_error(I->d, n->loc, "input '%s': too many symbolic dims", n->target);
    I->sym[I->nsyms] = dd->sym;
    I->symval[I->nsyms] = v;
    I->symfrom[I->nsyms++] = n->target;
  }
  if (total && ((in->dtype == DT_F32 && !in->f) || (in->dtype == DT_I64 && !in->i)))
    return diag_error(I->d, n->loc, "input '%s' (%s) has no data", n->target, got);
  Tensor *x = t_new(I, t->dtype, in->rank, in->dims);
  if (!x) return I->oom ? JS_ENOMEM : JS_ERR;
  for (int64_t i = 0; i < x->n; i++) {
    x->v[i] = in->dtype == DT_F32 ? (double)in->f[i] : (double)in->i[i];
    if (t->dtype == DT_BOOL && x->v[i] != 0 && x->v[i] != 1) {
      ir_free(x);
      return diag_error(I->d, n->loc, "input '%s' is bool but element %lld is %lld", n->target, (long long)i,
                        (long long)in->i[i]);
    }
  }
  *out = x;
  return JS_OK;
}

/* The tensor a get_attr reads, from the double copy of the state. */
static Tensor *read_param(Interp *I, const Node *n) {
  int gi = graph_param_index(I->g, n->param);
  if (gi < 0) {
    fail(I, "get_attr '%s' reads no parameter of the model", n->target);
    return NULL;
  }
  int si = I->sidx[gi];
  int64_t dims[IR_MAX_RANK];
  const TensorType *t = &n->param->type;
  if (!concrete(I, t, dims)) {
    fail(I, "parameter '%s' has a symbolic shape", n->target);
    return NULL;
  }
  Tensor *x = t_new(I, t->dtype, t->rank, dims);
  if (!x) return NULL;
  if (I->s->off[si] == (size_t)-1) x->v[0] = (double)I->s->i64[si];
  else memcpy(x->v, I->pd + I->s->off[si], sizeof(double) * (size_t)x->n);
  return x;
}

/* Runs node i, leaving its result in I->val[i]. */
static Status run_node(Interp *I, int i) {
  const Node *n = I->nodes[i];
  Tensor *y = NULL;
  I->cur = n;
  I->quant = !I->o.no_quant && n->op != OP_GET_ATTR && ir_node_qcfg(n, &I->q);
  I->ntmp = 0;
  switch (n->op) {
  case OP_GET_ATTR: y = read_param(I, n); break;
  case OP_CALL_MODULE: {
    if (!n->module || n->nargs != 1) return fail(I, "a module call takes one input");
    Tensor *x = arg_t(I, &n->args[0], "input");
    if (x) y = module_fwd(I, n->module, x, n->name);
    break;
  }
  case OP_CALL_FUNCTION:
  case OP_CALL_METHOD: {
    const OpInfo *oi = ir_op_info(n->mop);
    if (!oi) return fail(I, "'%s' is not a known operator", n->target);
    Value bound[12];
    Status st = ir_sig_bind(&oi->sig, oi->name, n->nargs, n->args, n->nkwargs, n->kwnames, n->kwargs, I->arena, bound,
                            I->d, n->loc);
    if (st) return st;
    y = call_fwd(I, n, n->mop, bound, NULL, n->name, n->has_type ? n->type.dtype : DT_F32);
    break;
  }
  default: return fail(I, "cannot run a %s node here", ir_node_kind_name(n->op));
  }
  for (int t = 0; t < I->ntmp; t++) ir_free(I->tmp[t]);
  I->ntmp = 0;
  if (y && I->quant && I->q.has[QS_DATA_OUT])
    ir_quant_tensor_f64(&I->q.fmt[QS_DATA_OUT], y->v, y->v, y->n, y->rank ? y->dims[y->rank - 1] : 1);
  I->quant = false;
  if (!y) return I->oom ? JS_ENOMEM : JS_ERR;
  if (y->dtype == DT_BOOL)
    for (int64_t k = 0; k < y->n; k++) y->v[k] = y->v[k] != 0;
  /* the result must have the shape the shape pass gave the node */
  int64_t want[IR_MAX_RANK];
  if (n->has_type) {
    bool ok = concrete(I, &n->type, want) && n->type.rank == y->rank;
    for (int k = 0; ok && k < y->rank; k++) ok = want[k] == y->dims[k];
    if (!ok) {
      Status st = fail(I, "computed %s, but its type is %s", shape_text(y->rank, y->dims).s, type_text(&n->type).s);
      ir_free(y);
      return st;
    }
  }
  I->val[i] = y;
  if (I->o.observe) return I->o.observe(I->o.observe_ud, n, y->v, y->n, y->rank, y->dims);
  return JS_OK;
}

/* Every node a value mentions (tuples, lists, dicts). */
static void free_dead(Interp *I, const Value *v, int at) {
  switch (v->kind) {
  case VAL_NODE: {
    int k = (int)(intptr_t)strmap_get(&I->index, v->u.node->name) - 1;
    if (k >= 0 && I->last_use[k] <= at && I->val[k]) {
      ir_free(I->val[k]);
      I->val[k] = NULL;
    }
    break;
  }
  case VAL_TUPLE:
  case VAL_LIST:
    for (int j = 0; j < v->u.seq.n; j++) free_dead(I, &v->u.seq.items[j], at);
    break;
  case VAL_DICT:
    for (int j = 0; j < v->u.dict.n; j++) free_dead(I, &v->u.dict.vals[j], at);
    break;
  default: break;
  }
}

static const Value *dict_get(const Value *v, const char *key) {
  if (v->kind != VAL_DICT) return NULL;
  for (int i = 0; i < v->u.dict.n; i++)
    if (strcmp(v->u.dict.keys[i], key) == 0) return &v->u.dict.vals[i];
  return NULL;
}

/* The output node's results: logits (converted to the caller's f32/i64), loss and grads. */
static Status collect(Interp *I, const Node *out, RtInterpOut *res) {
  I->cur = out;
  if (out->nargs != 1) return fail(I, "the output takes one value");
  const Value *r = &out->args[0], *lv = r, *loss = NULL, *grads = NULL;
  if (r->kind == VAL_DICT) {
    lv = dict_get(r, "logits");
    loss = dict_get(r, "loss");
    grads = dict_get(r, "grads");
    if (!lv) return fail(I, "the output dict has no 'logits'");
  } else if ((r->kind == VAL_TUPLE || r->kind == VAL_LIST) && r->u.seq.n > 0) {
    lv = &r->u.seq.items[0];
  }
  Tensor *lt = arg_t(I, lv, "logits"), *ls = NULL;
  if (!lt) return JS_ERR;
  if (loss && (!(ls = arg_t(I, loss, "loss")) || ls->n != 1)) return ls ? fail(I, "the loss is not a scalar") : JS_ERR;
  if (grads) {
    if (grads->kind != VAL_DICT) return fail(I, "'grads' is not a dict");
    for (int j = 0; j < grads->u.dict.n; j++) {
      int si = rt_state_index(I->s, grads->u.dict.keys[j]);
      Tensor *gt = arg_t(I, &grads->u.dict.vals[j], grads->u.dict.keys[j]);
      if (!gt) return JS_ERR;
      if (si < 0 || I->s->off[si] == (size_t)-1 || (size_t)gt->n != I->s->numel[si])
        return fail(I, "gradient '%s' %s does not match a parameter of the state", grads->u.dict.keys[j],
                    shape_text(gt->rank, gt->dims).s);
    }
  }
  if (res) {
    RtTensor *o = &res->logits;
    o->rank = lt->rank;
    memcpy(o->dims, lt->dims, sizeof o->dims);
    bool fl = lt->dtype == DT_F32 || lt->dtype == DT_F64;
    o->dtype = fl ? DT_F32 : DT_I64;
    size_t cnt = (size_t)(lt->n ? lt->n : 1);
    if (fl) o->f = ir_malloc(cnt * sizeof(float));
    else o->i = ir_malloc(cnt * sizeof(int64_t));
    if (!o->f && !o->i) return nomem(I);
    for (int64_t k = 0; k < lt->n; k++) {
      if (fl) o->f[k] = (float)lt->v[k];
      else o->i[k] = (int64_t)lt->v[k];
    }
    res->has_loss = ls != NULL;
    res->loss = ls ? ls->v[0] : 0;
  }
  if (grads) {
    /* overwrite: zero, then every gradient the graph gives */
    memset(I->s->grad, 0, sizeof(float) * I->s->total);
    for (int j = 0; j < grads->u.dict.n; j++) {
      int si = rt_state_index(I->s, grads->u.dict.keys[j]);
      Tensor *gt = arg_t(I, &grads->u.dict.vals[j], grads->u.dict.keys[j]);
      float *dst = I->s->grad + I->s->off[si];
      for (int64_t k = 0; k < gt->n; k++) dst[k] = (float)gt->v[k];
    }
  }
  return JS_OK;
}

/* Checks the graph can run and maps its parameters onto the state. */
static Status prepare(Interp *I) {
  const Graph *g = I->g;
  int k = 0;
  for (const Node *n = g->first; n; n = n->next) k++;
  I->nnodes = k;
  I->nodes = ir_calloc((size_t)k + 1, sizeof *I->nodes);
  I->val = ir_calloc((size_t)k + 1, sizeof *I->val);
  I->last_use = ir_calloc((size_t)k + 1, sizeof *I->last_use);
  I->sidx = ir_calloc((size_t)g->nparams + 1, sizeof *I->sidx);
  I->pd = ir_malloc(sizeof(double) * (I->s->total + 1));
  I->arena = arena_new();
  if (!I->nodes || !I->val || !I->last_use || !I->sidx || !I->pd || !I->arena) return nomem(I);
  k = 0;
  for (const Node *n = g->first; n; n = n->next, k++) {
    I->nodes[k] = n;
    if (strmap_put(&I->index, n->name, (void *)(intptr_t)(k + 1))) return nomem(I);
    if (!n->has_type && n->op != OP_OUTPUT)
      return diag_error(I->d, n->loc, "%%%s has no type; run the 'shape' pass before executing model '%s'", n->name,
                        g->name);
  }
  if (k == 0 || I->nodes[k - 1]->op != OP_OUTPUT)
    return diag_error(I->d, g->loc, "model '%s' has no output node at its end", g->name);
  /* the last node reading each value; a node nobody reads dies at once */
  for (int i = 0; i < I->nnodes; i++) {
    const Node *n = I->nodes[i];
    I->last_use[i] = -1;
    for (int u = 0; u < n->nusers; u++) {
      int j = (int)(intptr_t)strmap_get(&I->index, n->users[u]->name) - 1;
      if (j > I->last_use[i]) I->last_use[i] = j;
    }
  }
  for (int i = 0; i < g->nparams; i++) {
    const Param *p = g->params[i];
    int si = rt_state_index(I->s, p->qualname);
    if (si < 0)
      return diag_error(I->d, p->loc, "parameter '%s' of model '%s' is not in the state", p->qualname, g->name);
    const Param *sp = I->s->g->params[si];
    if (!ir_type_equal(&sp->type, &p->type))
      return diag_error(I->d, p->loc, "parameter '%s' is %s in the model but %s in the state", p->qualname,
                        type_text(&p->type).s, type_text(&sp->type).s);
    I->sidx[i] = si;
  }
  for (size_t j = 0; j < I->s->total; j++) I->pd[j] = I->s->data[j];
  return JS_OK;
}

Status rt_interp_run(const Graph *g, RtState *s, const RtRunOpts *o, int ninputs, const char *const *names,
                     const RtTensor *inputs, RtInterpOut *out, Diag *d) {
  if (out) memset(out, 0, sizeof *out);
  if (!g || !s) return diag_error(d, (SrcLoc){0}, "rt_interp_run: no graph or no state");
  if (ninputs < 0 || (ninputs > 0 && (!names || !inputs)))
    return diag_error(d, g->loc, "rt_interp_run: %d inputs without names or tensors", ninputs);
  for (int j = 0; j < ninputs; j++)
    if (!names[j]) return diag_error(d, g->loc, "rt_interp_run: input %d has no name", j);
  Interp I = {.g = g, .s = s, .d = d};
  if (o) I.o = *o;
  else I.o.mode = RT_EVAL;
  strmap_init(&I.index);
  Status st = prepare(&I);
  /* bind the inputs: every name must be a placeholder, every placeholder bound */
  for (int j = 0; !st && j < ninputs; j++) {
    int k = 0;
    while (k < I.nnodes && !(I.nodes[k]->op == OP_PLACEHOLDER && strcmp(I.nodes[k]->target, names[j]) == 0)) k++;
    if (k == I.nnodes) {
      const char *cands[64];
      int nc = 0;
      for (int q = 0; q < I.nnodes && nc < 64; q++)
        if (I.nodes[q]->op == OP_PLACEHOLDER) cands[nc++] = I.nodes[q]->target;
      const char *near = diag_closest(names[j], cands, nc);
      st = diag_error(d, g->loc, "model '%s' has no input named '%s'%s%s%s", g->name, names[j],
                      near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    } else if (I.val[k]) {
      st = diag_error(d, I.nodes[k]->loc, "input '%s' is bound twice", names[j]);
    } else {
      st = bind_input(&I, I.nodes[k], &inputs[j], &I.val[k]);
    }
  }
  for (int k = 0; !st && k < I.nnodes; k++)
    if (I.nodes[k]->op == OP_PLACEHOLDER && !I.val[k])
      st = diag_error(d, I.nodes[k]->loc, "input '%s' (%s) is not bound", I.nodes[k]->target,
                      type_text(&I.nodes[k]->type).s);
  /* run, freeing each value after its last reader */
  for (int i = 0; !st && i < I.nnodes; i++) {
    const Node *n = I.nodes[i];
    if (n->op == OP_OUTPUT) {
      st = collect(&I, n, out);
      break;
    }
    if (n->op != OP_PLACEHOLDER && (st = run_node(&I, i))) break;
    for (int a = 0; a < n->nargs; a++) free_dead(&I, &n->args[a], i);
    for (int a = 0; a < n->nkwargs; a++) free_dead(&I, &n->kwargs[a], i);
    if (I.last_use[i] < 0) {
      ir_free(I.val[i]);
      I.val[i] = NULL;
    }
  }
  if (st && out) rt_interp_out_free(out);
  for (int i = 0; i < I.nnodes && I.val; i++) ir_free(I.val[i]);
  ir_free(I.nodes);
  ir_free(I.val);
  ir_free(I.last_use);
  ir_free(I.sidx);
  ir_free(I.pd);
  if (I.arena) arena_free(I.arena);
  strmap_free(&I.index);
  return st;
}

void rt_interp_out_free(RtInterpOut *out) {
  if (!out) return;
  ir_free(out->logits.f);
  ir_free(out->logits.i);
  memset(out, 0, sizeof *out);
}
