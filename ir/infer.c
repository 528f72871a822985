/* infer.c — the shape and dtype rule of every operator, module call, parameter read and
 * input: the result type of one node from its arguments' types.
 *
 * Symbolic dimensions (the batch dimension B) are equal only to the same symbol: B never
 * matches 16, nor another symbol C, and broadcasting accepts B only against B or a known 1.
 * Where a result's size would depend on a symbol in a way a Dim cannot express (view(-1, 8)
 * of f32[B,16] is [2*B, 8]), the rule reports an error instead of guessing.
 *
 * view/reshape with symbolic input: the input's elements are S x K, S the product of its
 * symbolic dims and K the product of its known dims; the requested sizes (one of which may be
 * -1) have known product P.  The result is known for every value of the symbols exactly when
 * there is one symbolic dim occurring once, a -1, and P == K: the -1 then is that symbol
 * (view(-1, 16) of f32[B,4,4] is f32[B,16]).  Any other request on a symbolic input is an
 * error naming what the -1 would have to be.
 *
 * Errors are located at the node and name both shapes:
 *   Linear(in_features=16, out_features=5) expects 16 input features, got f32[B,32]
 * Modules are named by their class with the constructor arguments that are required or differ
 * from their default.  Type text goes through fixed buffers, so error paths rarely allocate. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"

/* The node being typed and how to report against it. */
typedef struct Infer {
  const Node *n; /* the node */
  Diag *d;       /* where errors go */
  char what[192]; /* the callee as messages name it: "Linear(in_features=16, out_features=5)", "add()" */
  SrcLoc at;      /* where errors point: the node's, or a Sequential child's constructor */
  const char *from; /* a Sequential child's call: what feeds it ("net.1", "x"); NULL otherwise */
} Infer;

/* A type's text for messages, "f32[B,16]", built without allocating. */
typedef struct TT {
  char s[256];
} TT;

static TT tt(const TensorType *t) {
  TT r;
  size_t u = (size_t)snprintf(r.s, sizeof r.s, "%s[", ir_dtype_name(t->dtype));
  for (int i = 0; i < t->rank && u < sizeof r.s; i++) {
    const char *sep = i ? "," : "";
    if (t->dims[i].sym)
      u += (size_t)snprintf(r.s + u, sizeof r.s - u, "%s%s", sep, t->dims[i].sym);
    else
      u += (size_t)snprintf(r.s + u, sizeof r.s - u, "%s%lld", sep, (long long)t->dims[i].size);
  }
  if (u < sizeof r.s) snprintf(r.s + u, sizeof r.s - u, "]");
  return r;
}

/* One dim's text, "B" or "16". */
typedef struct DT {
  char s[80];
} DT;

static DT dt(Dim d) {
  DT r;
  if (d.sym)
    snprintf(r.s, sizeof r.s, "%s", d.sym);
  else
    snprintf(r.s, sizeof r.s, "%lld", (long long)d.size);
  return r;
}

static Status fail(Infer *in, const char *fmt, ...) JS_PRINTF(2, 3);
/* Reports "<what> <message>" at the node. */
static Status fail(Infer *in, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (in->from) return diag_error(in->d, in->at, "%s %s (input from %s)", in->what, msg, in->from);
  return diag_error(in->d, in->at, "%s %s", in->what, msg);
}

static Dim dim_n(int64_t n) {
  return (Dim){.size = n, .sym = NULL};
}

static bool dim_is(Dim d, int64_t n) {
  return !d.sym && d.size == n;
}

/* Equal for every value of the symbols: same size, or the same symbol. */
static bool dim_eq(Dim a, Dim b) {
  if (a.sym || b.sym) return a.sym && b.sym && strcmp(a.sym, b.sym) == 0;
  return a.size == b.size;
}

/* Wraps a possibly negative dim index as PyTorch does; a 0-d tensor accepts -1 and 0. */
static Status norm_dim(Infer *in, int64_t dim, const TensorType *t, const char *name, int *out) {
  int r = t->rank ? t->rank : 1;
  if (dim < -r || dim >= r)
    return fail(in, "got %s=%lld, out of range for %s (expected a dim in [%d, %d])", name,
                (long long)dim, tt(t).s, -r, r - 1);
  *out = (int)(dim < 0 ? dim + r : dim);
  return JS_OK;
}

/* ---- dtypes ---- */

/* bool < integer < floating */
static int dtype_cat(DType t) {
  return t == DT_BOOL ? 0 : (t == DT_I32 || t == DT_I64) ? 1 : 2;
}

static bool is_float(DType t) {
  return dtype_cat(t) == 2;
}

/* PyTorch's promotion of two tensor dtypes: the higher category, then the wider type. */
static DType promote(DType a, DType b) {
  if (dtype_cat(a) != dtype_cat(b)) return dtype_cat(a) > dtype_cat(b) ? a : b;
  return ir_dtype_bytes(a) >= ir_dtype_bytes(b) ? a : b;
}

/* An operand of a binary op as PyTorch's result_type ranks it: tensors with dims outrank 0-d
 * tensors, which outrank Python numbers (an int counts as i64, a float as the default f32). */
typedef enum Rank { RANK_NUMBER, RANK_ZERO_DIM, RANK_DIMS } Rank;

typedef struct Operand {
  DType dtype;
  Rank rank;
} Operand;

/* c10's combine_categories: a lower-ranked operand changes the dtype only when it is of a
 * higher category (f32[3] + f64[] is f32, i32[3] + i64[] is i32, i32[3] + 2.5 is f32), or
 * when the higher-ranked one is bool (bool[3] + 2 is i64). */
static DType combine(DType higher, DType lower) {
  if (is_float(higher)) return higher;
  if (higher == DT_BOOL || is_float(lower)) return promote(higher, lower);
  return higher;
}

/* torch.result_type of two operands. */
static DType result_type(Operand a, Operand b) {
  if (a.rank == b.rank) return promote(a.dtype, b.dtype);
  return a.rank > b.rank ? combine(a.dtype, b.dtype) : combine(b.dtype, a.dtype);
}

/* ---- shared rules ---- */

/* Broadcasting (PyTorch rules): align from the right; equal dims stay, a known 1 stretches. */
static Status broadcast(Infer *in, const TensorType *a, const TensorType *b, TensorType *out) {
  int r = a->rank > b->rank ? a->rank : b->rank;
  out->rank = r;
  for (int i = 0; i < r; i++) {
    int ia = a->rank - r + i, ib = b->rank - r + i;
    Dim x = ia >= 0 ? a->dims[ia] : dim_n(1), y = ib >= 0 ? b->dims[ib] : dim_n(1);
    if (dim_eq(x, y) || dim_is(y, 1))
      out->dims[i] = x;
    else if (dim_is(x, 1))
      out->dims[i] = y;
    else if (x.sym || y.sym)
      return fail(in, "cannot broadcast %s with %s: %s vs %s in dim %d is not known to match",
                  tt(a).s, tt(b).s, dt(x).s, dt(y).s, i - r);
    else
      return fail(in, "cannot broadcast %s with %s: %s vs %s in dim %d", tt(a).s, tt(b).s, dt(x).s,
                  dt(y).s, i - r);
  }
  return JS_OK;
}

/* x @ W^T + b with W [out, in]: x [..., in] -> [..., out]. */
static Status linear_core(Infer *in, const TensorType *x, Dim in_f, Dim out_f, TensorType *out) {
  if (x->rank >= 1 && !dim_eq(x->dims[x->rank - 1], in_f) && in->from) /* Sequential(Linear(16, 8), Linear(4, 5)) */
    return diag_error(in->d, in->at, "%s expects %s input features but gets %s from %s", in->what, dt(in_f).s,
                      dt(x->dims[x->rank - 1]).s, in->from);
  if (x->rank < 1 || !dim_eq(x->dims[x->rank - 1], in_f))
    return fail(in, "expects %s input features, got %s", dt(in_f).s, tt(x).s);
  *out = *x;
  out->dims[x->rank - 1] = out_f;
  return JS_OK;
}

/* Conv1d over [B, C, L] (or unbatched [C, L]):
 *   L_out = floor((L + 2*padding - dilation*(kernel_size-1) - 1) / stride) + 1 */
static Status conv1d_core(Infer *in, const TensorType *x, int64_t cin, int64_t cout, int64_t k,
                          int64_t stride, int64_t pad, int64_t dil, TensorType *out) {
  if (x->rank != 2 && x->rank != 3)
    return fail(in, "expects a [B,C,L] or [C,L] input, got %s", tt(x).s);
  int c = x->rank - 2;
  if (!dim_is(x->dims[c], cin))
    return fail(in, "expects %lld input channels on dim %d, got %s", (long long)cin, c, tt(x).s);
  Dim l = x->dims[c + 1], lout;
  int64_t shrink = dil * (k - 1) - 2 * pad;
  if (l.sym) {
    if (shrink != 0 || stride != 1)
      return fail(in, "cannot know the output length of symbolic length %s (kernel_size=%lld, stride=%lld, "
                      "padding=%lld, dilation=%lld), input %s",
                  l.sym, (long long)k, (long long)stride, (long long)pad, (long long)dil, tt(x).s);
    lout = l;
  } else {
    int64_t num = l.size - shrink - 1;
    if (num < 0)
      return fail(in, "input length %lld is too short for kernel_size=%lld, padding=%lld, dilation=%lld, got %s",
                  (long long)l.size, (long long)k, (long long)pad, (long long)dil, tt(x).s);
    lout = dim_n(num / stride + 1);
  }
  *out = *x;
  out->dims[c] = dim_n(cout);
  out->dims[c + 1] = lout;
  return JS_OK;
}

/* torch.flatten: dims start..end become one dim, their product. */
static Status flatten_core(Infer *in, const TensorType *x, int64_t start, int64_t end, TensorType *out) {
  int s = 0, e = 0;
  Status st;
  if ((st = norm_dim(in, start, x, "start_dim", &s)) || (st = norm_dim(in, end, x, "end_dim", &e))) return st;
  if (x->rank == 0) {
    *out = *x;
    out->rank = 1;
    out->dims[0] = dim_n(1);
    return JS_OK;
  }
  if (s > e) return fail(in, "start_dim (%d) comes after end_dim (%d) for %s", s, e, tt(x).s);
  /* The product: known sizes multiply; a symbol survives only when all the others are 1
   * (or vanishes when one is 0). */
  Dim prod = dim_n(1);
  int nsym = 0;
  int64_t known = 1;
  for (int i = s; i <= e; i++) {
    Dim di = x->dims[i];
    if (di.sym) {
      nsym++;
      prod = di;
    } else {
      if (di.size != 0 && known > IR_MAX_NUMEL / di.size) return fail(in, "result of flattening %s is too large", tt(x).s);
      known *= di.size;
    }
  }
  if (known == 0) nsym = 0; /* B*0 is 0 for every B */
  if (nsym > 1 || (nsym == 1 && known != 1))
    return fail(in, "cannot flatten dims %d..%d of %s: the size would mix symbolic and known dims", s, e, tt(x).s);
  if (nsym == 0) prod = dim_n(known);
  *out = *x;
  out->rank = x->rank - (e - s);
  out->dims[s] = prod;
  for (int i = e + 1; i < x->rank; i++) out->dims[i - (e - s)] = x->dims[i];
  return JS_OK;
}

/* softmax/log_softmax: same type; `dim` must be in range.  `has_dim` false applies PyTorch's
 * legacy rule for Softmax(dim=None): 0 for 0-, 1- and 3-d inputs, else 1. */
static Status softmax_core(Infer *in, const TensorType *x, bool has_dim, int64_t dim, TensorType *out) {
  int dd;
  if (!has_dim) dim = (x->rank == 0 || x->rank == 1 || x->rank == 3) ? 0 : 1;
  Status st = norm_dim(in, dim, x, "dim", &dd);
  if (st) return st;
  if (!is_float(x->dtype)) return fail(in, "expects a floating-point input, got %s", tt(x).s);
  *out = *x;
  return JS_OK;
}

/* view/reshape; see the file comment for the symbolic rule. */
static Status view_core(Infer *in, const TensorType *x, const Value *sizes, TensorType *out) {
  int n = sizes->u.seq.n;
  if (n == 0) return fail(in, "needs at least one size, input %s", tt(x).s); /* x.view() is a TypeError */
  if (n > IR_MAX_RANK) return fail(in, "asks for %d dims; at most %d are supported", n, IR_MAX_RANK);
  int infer_at = -1;
  int64_t p = 1;
  for (int i = 0; i < n; i++) {
    int64_t s = sizes->u.seq.items[i].u.i;
    if (s == -1) {
      if (infer_at >= 0) return fail(in, "only one dimension can be -1, input %s", tt(x).s);
      infer_at = i;
    } else if (s < 0) {
      return fail(in, "invalid size %lld, input %s", (long long)s, tt(x).s);
    } else {
      if (s > IR_MAX_DIM || (s != 0 && p > IR_MAX_NUMEL / s)) return fail(in, "size is too large, input %s", tt(x).s);
      p *= s;
    }
  }
  int nsym = 0;
  const char *sym = NULL;
  int64_t k = 1;
  for (int i = 0; i < x->rank; i++) {
    if (x->dims[i].sym) {
      nsym++;
      sym = x->dims[i].sym;
    } else {
      k *= x->dims[i].size; /* known dims of a typed node are bounded by IR_MAX_NUMEL */
    }
  }
  out->dtype = x->dtype;
  out->rank = n;
  for (int i = 0; i < n; i++) out->dims[i] = dim_n(sizes->u.seq.items[i].u.i);
  if (nsym == 0) {
    if (infer_at < 0) {
      if (p != k) return fail(in, "is invalid for %s: %lld elements requested, the input has %lld", tt(x).s, (long long)p, (long long)k);
      return JS_OK;
    }
    if (p == 0 || k % p != 0)
      return fail(in, "is invalid for %s (%lld elements): the -1 cannot be inferred", tt(x).s, (long long)k);
    out->dims[infer_at] = dim_n(k / p);
    return JS_OK;
  }
  if (nsym > 1) return fail(in, "cannot be known for %s: more than one symbolic dim", tt(x).s);
  if (infer_at < 0)
    return fail(in, "cannot be known for %s: the element count depends on %s; use -1 for it", tt(x).s, sym);
  if (p != k) {
    if (p != 0 && k % p == 0)
      return fail(in, "cannot be known for %s: the -1 would be %lld*%s", tt(x).s, (long long)(k / p), sym);
    if (k != 0 && p % k == 0)
      return fail(in, "cannot be known for %s: the -1 would be %s/%lld", tt(x).s, sym, (long long)(p / k));
    return fail(in, "cannot be known for %s: %s*%lld elements do not split into %lld per %s", tt(x).s, sym,
                (long long)k, (long long)p, sym);
  }
  out->dims[infer_at] = x->dims[0];
  for (int i = 0; i < x->rank; i++)
    if (x->dims[i].sym) out->dims[infer_at] = x->dims[i];
  return JS_OK;
}

/* torch.matmul: 1-D.1-D dot, 2-D matrix product, 1-D operands promoted and the added dim
 * removed, batch dims broadcast. */
static Status matmul_core(Infer *in, const TensorType *a, const TensorType *b, TensorType *out) {
  if (a->rank < 1 || b->rank < 1)
    return fail(in, "needs operands of at least 1 dim, got %s and %s", tt(a).s, tt(b).s);
  if (a->dtype != b->dtype)
    return fail(in, "expects operands of one dtype, got %s and %s", tt(a).s, tt(b).s);
  Dim ka = a->dims[a->rank - 1];
  Dim kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
  if (!dim_eq(ka, kb))
    return fail(in, "cannot multiply %s by %s: %s vs %s in the contracted dim", tt(a).s, tt(b).s, dt(ka).s, dt(kb).s);
  TensorType ba = {.dtype = a->dtype, .rank = a->rank > 2 ? a->rank - 2 : 0};
  TensorType bb = {.dtype = b->dtype, .rank = b->rank > 2 ? b->rank - 2 : 0};
  memcpy(ba.dims, a->dims, sizeof(Dim) * (size_t)ba.rank);
  memcpy(bb.dims, b->dims, sizeof(Dim) * (size_t)bb.rank);
  TensorType batch;
  Status st = broadcast(in, &ba, &bb, &batch);
  if (st) return st;
  int r = batch.rank + (a->rank >= 2) + (b->rank >= 2);
  if (r > IR_MAX_RANK) return fail(in, "result of %s @ %s has too many dims", tt(a).s, tt(b).s);
  *out = batch;
  out->dtype = a->dtype;
  if (a->rank >= 2) out->dims[out->rank++] = a->dims[a->rank - 2];
  if (b->rank >= 2) out->dims[out->rank++] = b->dims[b->rank - 1];
  return JS_OK;
}

/* ---- argument access ---- */

/* The type of a tensor argument, which must be known. */
static Status arg_type(Infer *in, const Value *v, const char *pname, const TensorType **out) {
  if (v->kind != VAL_NODE) return fail(in, "expects a tensor for '%s'", pname);
  if (!v->u.node->has_type)
    return fail(in, "argument '%s' (%%%s) has no type yet; run the 'shape' pass first", pname, v->u.node->name);
  *out = &v->u.node->type;
  return JS_OK;
}

/* The index of a signature parameter (constant tables: a missing name is a bug). */
static int pidx(const Sig *sig, const char *name) {
  for (int i = 0; i < sig->n; i++)
    if (strcmp(sig->params[i].name, name) == 0) return i;
  return -1;
}

static const Value *bound_arg(const Sig *sig, const Value *bound, const char *name) {
  static const Value none = {.kind = VAL_NONE};
  int i = pidx(sig, name);
  return i >= 0 ? &bound[i] : &none;
}

static int64_t bound_int(const Sig *sig, const Value *bound, const char *name) {
  const Value *v = bound_arg(sig, bound, name);
  return v->kind == VAL_INT ? v->u.i : 0;
}

static int64_t mod_int(const Module *m, const char *name) {
  const Value *v = ir_module_arg(m, name);
  return v && v->kind == VAL_INT ? v->u.i : 0;
}

/* ---- call_function / call_method ---- */

/* Binary arithmetic: tensor/number operands, broadcast shapes, dtype by result_type. */
static Status arith(Infer *in, MaseOp op, const Value *a, const Value *b, TensorType *out) {
  const Value *vals[2] = {a, b};
  const TensorType *t[2] = {NULL, NULL};
  Operand o[2];
  Status st;
  for (int i = 0; i < 2; i++) {
    if (vals[i]->kind == VAL_NODE) {
      if ((st = arg_type(in, vals[i], i ? "other" : "input", &t[i]))) return st;
      o[i] = (Operand){t[i]->dtype, t[i]->rank ? RANK_DIMS : RANK_ZERO_DIM};
    } else {
      o[i] = (Operand){vals[i]->kind == VAL_FLOAT ? DT_F32 : DT_I64, RANK_NUMBER};
    }
  }
  if (!t[0] && !t[1]) return fail(in, "needs at least one tensor operand");
  if (t[0] && t[1]) {
    if ((st = broadcast(in, t[0], t[1], out))) return st;
  } else {
    *out = t[0] ? *t[0] : *t[1];
  }
  /* PyTorch refuses `-` on a bool tensor whatever the other operand is. */
  if (op == MOP_SUB && (o[0].dtype == DT_BOOL || o[1].dtype == DT_BOOL))
    return fail(in, "cannot subtract with a bool tensor (%s, %s); use logical_xor or ~",
                t[0] ? tt(t[0]).s : "number", t[1] ? tt(t[1]).s : "number");
  DType res = result_type(o[0], o[1]);
  if (op == MOP_DIV && !is_float(res)) res = DT_F32; /* true division */
  out->dtype = res;
  return JS_OK;
}

/* conv1d(input x, weight, bias, stride, padding, dilation, groups): the checks of the
 * function form, then conv1d_core. */
static Status conv1d_rule(Infer *in, const Sig *sig, const Value *bound, const TensorType *x, TensorType *out) {
  const TensorType *w = NULL, *b = NULL;
  Status st;
  if ((st = arg_type(in, bound_arg(sig, bound, "weight"), "weight", &w))) return st;
  const Value *bv = bound_arg(sig, bound, "bias");
  if (bv->kind != VAL_NONE && (st = arg_type(in, bv, "bias", &b))) return st;
  int64_t stride = bound_int(sig, bound, "stride"), pad = bound_int(sig, bound, "padding");
  int64_t dil = bound_int(sig, bound, "dilation"), groups = bound_int(sig, bound, "groups");
  if (w->rank != 3 || ir_type_numel(w) < 0) return fail(in, "expects a 3-D weight [out, in/groups, k], got %s", tt(w).s);
  if (stride < 1 || dil < 1 || groups < 1 || pad < 0)
    return fail(in, "expects stride, dilation, groups >= 1 and padding >= 0");
  /* the same bound Conv1d's constructor applies, so conv1d_core's arithmetic cannot overflow */
  if (stride > IR_MAX_DIM || dil > IR_MAX_DIM || groups > IR_MAX_DIM || pad > IR_MAX_DIM)
    return fail(in, "got stride=%lld, padding=%lld, dilation=%lld, groups=%lld; the limit is %lld", (long long)stride,
                (long long)pad, (long long)dil, (long long)groups, (long long)IR_MAX_DIM);
  if (b && (b->rank != 1 || !dim_eq(b->dims[0], w->dims[0])))
    return fail(in, "expects a bias of shape [%s] for weight %s, got %s", dt(w->dims[0]).s, tt(w).s, tt(b).s);
  if (w->dims[0].size % groups) return fail(in, "weight %s: out channels not divisible by groups=%lld", tt(w).s, (long long)groups);
  if (x->dtype != w->dtype) return fail(in, "expects input and weight of one dtype, got %s and %s", tt(x).s, tt(w).s);
  return conv1d_core(in, x, w->dims[1].size * groups, w->dims[0].size, w->dims[2].size, stride, pad, dil, out);
}

/* conv1d_backward_input(grad, input, weight, ...) has input's type, conv1d_backward_weight
 * weight's; grad must have the type conv1d(input, weight, ...) gives. */
static Status conv1d_backward_rule(Infer *in, MaseOp op, const Sig *sig, const Value *bound, const TensorType *g,
                                   TensorType *out) {
  const TensorType *x = NULL, *w = NULL;
  TensorType y;
  Status st;
  if ((st = arg_type(in, bound_arg(sig, bound, "input"), "input", &x))) return st;
  if ((st = arg_type(in, bound_arg(sig, bound, "weight"), "weight", &w))) return st;
  if ((st = conv1d_rule(in, sig, bound, x, &y))) return st;
  if (!ir_type_equal(g, &y)) return fail(in, "expects a grad of type %s (the forward conv1d's), got %s", tt(&y).s, tt(g).s);
  if (!is_float(g->dtype)) return fail(in, "expects a floating-point grad, got %s", tt(g).s);
  *out = op == MOP_CONV1D_BACKWARD_INPUT ? *x : *w;
  return JS_OK;
}

/* A call whose str parameter names no formula of ew.def (gelu(approximate="bad")): the
 * values the table has, from its lines. */
static Status ew_variant_fail(Infer *in, MaseOp op, const Value *bound) {
  StrBuf ok;
  sb_init(&ok);
  int k = 0;
  for (int i = 0; ir_ew_def(i); i++) {
    const EwDef *d = ir_ew_def(i);
    if (d->op != op || !d->variant_value) continue;
    k = d->variant_param;
    sb_printf(&ok, "%s\"%s\"", ok.len ? ", " : "", d->variant_value);
  }
  const Value *v = &bound[k];
  Status st = fail(in, "%s must be one of %s; got %s%s%s", ir_op_info(op)->sig.params[k].name, sb_str(&ok),
                   v->kind == VAL_STR ? "\"" : "", v->kind == VAL_STR ? v->u.s : "a non-string", v->kind == VAL_STR ? "\"" : "");
  sb_free(&ok);
  return st;
}

/* The rule of op applied to its bound arguments.  `x` is the input's type when the caller
 * knows it (a module call; bound[0] is then unused), else NULL: every op but the arithmetic
 * ones takes a tensor `input` first. */
static Status infer_op(Infer *in, MaseOp op, const Sig *sig, const Value *bound, const TensorType *x,
                       TensorType *out) {
  Status st;
  bool arith_op = op == MOP_ADD || op == MOP_SUB || op == MOP_MUL || op == MOP_DIV;
  if (!x && !arith_op && (st = arg_type(in, &bound[0], sig->params[0].name, &x))) return st;
  switch (op) {
  case MOP_LINEAR: {
    const TensorType *w = NULL, *b = NULL;
    if ((st = arg_type(in, bound_arg(sig, bound, "weight"), "weight", &w))) return st;
    const Value *bv = bound_arg(sig, bound, "bias");
    if (bv->kind != VAL_NONE && (st = arg_type(in, bv, "bias", &b))) return st;
    if (w->rank != 2) return fail(in, "expects a 2-D weight, got %s", tt(w).s);
    if (b && (b->rank != 1 || !dim_eq(b->dims[0], w->dims[0])))
      return fail(in, "expects a bias of shape [%s] for weight %s, got %s", dt(w->dims[0]).s, tt(w).s, tt(b).s);
    if (x->dtype != w->dtype) return fail(in, "expects input and weight of one dtype, got %s and %s", tt(x).s, tt(w).s);
    if (x->rank < 1 || !dim_eq(x->dims[x->rank - 1], w->dims[1]))
      return fail(in, "cannot apply weight %s to input %s: %s vs %s features", tt(w).s, tt(x).s,
                  x->rank ? dt(x->dims[x->rank - 1]).s : "no", dt(w->dims[1]).s);
    return linear_core(in, x, w->dims[1], w->dims[0], out);
  }
  case MOP_CONV1D: return conv1d_rule(in, sig, bound, x, out);
  /* The elementwise ops keep the shape; their dtype rules are PyTorch 1.13's CPU kernels. */
  case MOP_BATCH_NORM1D:
  case MOP_IDENTITY:
    *out = *x;
    return JS_OK;
  case MOP_SIGMOID:
  case MOP_TANH:
    /* computed in floating point: an integer or bool input gives the default dtype */
    *out = *x;
    if (!is_float(x->dtype)) out->dtype = DT_F32;
    return JS_OK;
  case MOP_LEAKY_RELU:
    if (!is_float(x->dtype)) return fail(in, "expects a floating-point input, got %s", tt(x).s);
    *out = *x;
    return JS_OK;
  case MOP_DROPOUT: {
    /* while training the mask is applied in floating point; otherwise dropout is the identity */
    const Value *pv = bound_arg(sig, bound, "p"), *tv = bound_arg(sig, bound, "training");
    double prob = pv->kind == VAL_FLOAT ? pv->u.f : pv->kind == VAL_INT ? (double)pv->u.i : 0.5;
    if (!(prob >= 0 && prob <= 1)) return fail(in, "expects a probability p in [0, 1], got %g", prob);
    if (tv->kind == VAL_BOOL && tv->u.b && !is_float(x->dtype))
      return fail(in, "expects a floating-point input while training, got %s", tt(x).s);
    *out = *x;
    return JS_OK;
  }
  case MOP_QUANTIZE: {
    QFmt f;
    if ((st = ir_qfmt_from_value(&bound[1], &f, in->d, in->at))) return st;
    if (!is_float(x->dtype)) return fail(in, "quantizes floating-point tensors, got %s", tt(x).s);
    *out = *x;
    return JS_OK;
  }
  case MOP_RELU:
  case MOP_NEG:
    if (x->dtype == DT_BOOL) return fail(in, "does not take a bool tensor, got %s", tt(x).s);
    *out = *x;
    return JS_OK;
  case MOP_SOFTMAX:
  case MOP_LOG_SOFTMAX: {
    const Value *dv = bound_arg(sig, bound, "dim");
    return softmax_core(in, x, dv->kind == VAL_INT, dv->kind == VAL_INT ? dv->u.i : 0, out);
  }
  case MOP_FLATTEN:
    return flatten_core(in, x, bound_int(sig, bound, "start_dim"), bound_int(sig, bound, "end_dim"), out);
  case MOP_VIEW:
  case MOP_RESHAPE: return view_core(in, x, &bound[1], out);
  case MOP_TRANSPOSE: {
    int d0 = 0, d1 = 0;
    if ((st = norm_dim(in, bound_int(sig, bound, "dim0"), x, "dim0", &d0)) ||
        (st = norm_dim(in, bound_int(sig, bound, "dim1"), x, "dim1", &d1)))
      return st;
    *out = *x;
    if (x->rank) {
      out->dims[d0] = x->dims[d1];
      out->dims[d1] = x->dims[d0];
    }
    return JS_OK;
  }
  case MOP_T:
    if (x->rank > 2) return fail(in, "expects a tensor of at most 2 dims, got %s", tt(x).s);
    *out = *x;
    if (x->rank == 2) {
      out->dims[0] = x->dims[1];
      out->dims[1] = x->dims[0];
    }
    return JS_OK;
  case MOP_ADD:
  case MOP_SUB:
  case MOP_MUL:
  case MOP_DIV: return arith(in, op, &bound[0], &bound[1], out);
  case MOP_MATMUL: {
    const TensorType *o = NULL;
    if ((st = arg_type(in, &bound[1], "other", &o))) return st;
    return matmul_core(in, x, o, out);
  }
  case MOP_SUM: {
    int dd = 0;
    if ((st = norm_dim(in, bound_int(sig, bound, "dim"), x, "dim", &dd))) return st;
    const Value *kv = bound_arg(sig, bound, "keepdim");
    *out = *x;
    if (x->dtype == DT_BOOL) out->dtype = DT_I64;
    if (x->rank == 0) return JS_OK;
    if (kv->kind == VAL_BOOL && kv->u.b) {
      out->dims[dd] = dim_n(1);
    } else {
      for (int i = dd; i + 1 < x->rank; i++) out->dims[i] = x->dims[i + 1];
      out->rank--;
    }
    return JS_OK;
  }
  case MOP_SUM_TO: {
    /* the reverse of broadcasting `like` up to `input` */
    const TensorType *l = NULL;
    if ((st = arg_type(in, &bound[1], "like", &l))) return st;
    TensorType b;
    if ((st = broadcast(in, x, l, &b))) return st;
    if (b.rank != x->rank)
      return fail(in, "cannot sum %s down to %s: it has fewer dims", tt(x).s, tt(l).s);
    for (int i = 0; i < x->rank; i++)
      if (!dim_eq(b.dims[i], x->dims[i])) return fail(in, "cannot sum %s down to %s", tt(x).s, tt(l).s);
    *out = *l;
    out->dtype = x->dtype;
    return JS_OK;
  }
  case MOP_RESHAPE_AS: {
    const TensorType *o = NULL;
    if ((st = arg_type(in, &bound[1], "other", &o))) return st;
    int64_t a = ir_type_numel(x), b = ir_type_numel(o);
    if (a >= 0 && b >= 0 && a != b) return fail(in, "cannot reshape %s as %s: %lld vs %lld elements", tt(x).s, tt(o).s, (long long)a, (long long)b);
    *out = *o;
    out->dtype = x->dtype;
    return JS_OK;
  }
  case MOP_CROSS_ENTROPY:
  case MOP_CROSS_ENTROPY_BACKWARD: {
    const TensorType *t = NULL;
    if ((st = arg_type(in, &bound[1], "target", &t))) return st;
    if (x->rank != 2 || !is_float(x->dtype)) return fail(in, "expects float logits [batch, classes], got %s", tt(x).s);
    if (t->rank != 1 || is_float(t->dtype) || t->dtype == DT_BOOL || !dim_eq(t->dims[0], x->dims[0]))
      return fail(in, "expects integer class indices [%s] for logits %s, got %s", dt(x->dims[0]).s, tt(x).s, tt(t).s);
    *out = *x;
    if (op == MOP_CROSS_ENTROPY) out->rank = 0;
    return JS_OK;
  }
  case MOP_OUTER_SUM: {
    /* sum over every leading row of input[r]^T (x) other[r]: [I, O] */
    const TensorType *o = NULL;
    if ((st = arg_type(in, &bound[1], "other", &o))) return st;
    if (x->rank < 1 || o->rank != x->rank || x->dtype != o->dtype || !is_float(x->dtype))
      return fail(in, "expects float operands of one rank and dtype, got %s and %s", tt(x).s, tt(o).s);
    for (int i = 0; i + 1 < x->rank; i++)
      if (!dim_eq(x->dims[i], o->dims[i])) return fail(in, "expects matching leading dims, got %s and %s", tt(x).s, tt(o).s);
    *out = (TensorType){.dtype = x->dtype, .rank = 2};
    out->dims[0] = x->dims[x->rank - 1];
    out->dims[1] = o->dims[o->rank - 1];
    return JS_OK;
  }
  case MOP_EW_BACKWARD: {
    /* grad and the saved tensor have one type; the op is an activation of ew.def */
    const TensorType *f = NULL;
    if ((st = arg_type(in, &bound[1], "saved", &f))) return st;
    if (!ir_type_equal(x, f)) return fail(in, "expects grad and saved of one type, got %s and %s", tt(x).s, tt(f).s);
    if (!is_float(x->dtype)) return fail(in, "expects a floating-point grad, got %s", tt(x).s);
    MaseOp fop = bound[2].kind == VAL_STR ? ir_op_lookup(bound[2].u.s) : MOP_NONE;
    if (!ir_ew_has(fop)) return fail(in, "got op=%s%s%s, which is not an activation with a formula (ir/ew.def)",
                                     bound[2].kind == VAL_STR ? "'" : "", bound[2].kind == VAL_STR ? bound[2].u.s : "?",
                                     bound[2].kind == VAL_STR ? "'" : "");
    *out = *x;
    return JS_OK;
  }
  case MOP_SOFTMAX_BACKWARD:
  case MOP_LOG_SOFTMAX_BACKWARD:
  case MOP_DROPOUT_BACKWARD:
  case MOP_BATCH_NORM1D_BACKWARD_INPUT:
  case MOP_BATCH_NORM1D_BACKWARD_WEIGHT: {
    /* grad and the forward tensor (second argument) have one type */
    const TensorType *f = NULL;
    if ((st = arg_type(in, &bound[1], sig->params[1].name, &f))) return st;
    if (!ir_type_equal(x, f)) return fail(in, "expects grad and %s of one type, got %s and %s", sig->params[1].name, tt(x).s, tt(f).s);
    if (!is_float(x->dtype)) return fail(in, "expects a floating-point grad, got %s", tt(x).s);
    if (op == MOP_SOFTMAX_BACKWARD || op == MOP_LOG_SOFTMAX_BACKWARD) {
      int dd;
      if ((st = norm_dim(in, bound_int(sig, bound, "dim"), x, "dim", &dd))) return st;
    }
    if (op == MOP_BATCH_NORM1D_BACKWARD_INPUT || op == MOP_BATCH_NORM1D_BACKWARD_WEIGHT) {
      if (x->rank != 2 && x->rank != 3) return fail(in, "expects [N, C] or [N, C, L], got %s", tt(x).s);
      if (op == MOP_BATCH_NORM1D_BACKWARD_WEIGHT) {
        *out = (TensorType){.dtype = x->dtype, .rank = 1};
        out->dims[0] = x->dims[1];
        return JS_OK;
      }
      const Value *wv = bound_arg(sig, bound, "weight");
      const TensorType *w = NULL;
      if (wv->kind != VAL_NONE) {
        if ((st = arg_type(in, wv, "weight", &w))) return st;
        if (w->rank != 1 || !dim_eq(w->dims[0], x->dims[1])) return fail(in, "expects a weight [%s], got %s", dt(x->dims[1]).s, tt(w).s);
      }
    }
    *out = *x;
    return JS_OK;
  }
  case MOP_CONV1D_BACKWARD_INPUT:
  case MOP_CONV1D_BACKWARD_WEIGHT: return conv1d_backward_rule(in, op, sig, bound, x, out);
  case MOP_NONE:
  case MOP_COUNT: break;
  default:
    /* The rule of every elementwise op without one of its own (ops.def P_EW). */
    if (!(ir_op_info(op)->props & P_EW)) break;
    if (!is_float(x->dtype)) return fail(in, "expects a floating-point input, got %s", tt(x).s);
    if (ir_ew_has(op) && !ir_ew_find(op, bound)) return ew_variant_fail(in, op, bound);
    *out = *x;
    return JS_OK;
  }
  return fail(in, "has no shape rule");
}

/* ---- call_module ---- */

/* "Linear(in_features=16, out_features=5)": the required arguments and those not at their
 * default, so messages stay short.  A Sequential's child reads as the user wrote it, with
 * its path: "net.2 (Linear(4, 5))". */
static void module_what(Infer *in, const Module *m) {
  const ModuleInfo *mi = ir_module_info(m->type);
  bool child = in->from != NULL;
  StrBuf sb;
  sb_init(&sb);
  if (child) sb_printf(&sb, "%s (", m->path);
  sb_printf(&sb, "%s(", mi->cls);
  bool first = true;
  for (int i = 0; i < mi->sig.n && i < m->nargs; i++) {
    const SigParam *sp = &mi->sig.params[i];
    if (sp->varargs || (sp->has_default && val_equal(&m->args[i], &sp->def))) continue;
    sb_printf(&sb, "%s", first ? "" : ", ");
    if (!child || sp->has_default) sb_printf(&sb, "%s=", sp->name);
    val_print_py(&sb, &m->args[i]);
    first = false;
  }
  sb_puts(&sb, child ? "))" : ")");
  snprintf(in->what, sizeof in->what, "%s", sb.oom ? mi->cls : sb_str(&sb));
  sb_free(&sb);
}

/* Read from source, not from IR text (where the node's own line is what to fix). */
static bool n_from_source(const Node *n) {
  return n->ir_at.line == 0;
}

/* A call of a Sequential's child (the front end unrolls the container into one call per
 * child): errors point at the child's constructor and name what feeds it, the previous
 * child ("net.1") or the container's input ("x"). */
static void seq_child_at(Infer *in, const Module *m, const Value *arg) {
  if (!m->parent || m->parent->type != MT_SEQUENTIAL || arg->kind != VAL_NODE) return;
  const Node *src = arg->u.node;
  in->from = src->op == OP_CALL_MODULE && src->module && src->module->parent == m->parent ? src->module->path
                                                                                         : src->name;
  if (m->loc.line > 0 && n_from_source(in->n)) in->at = m->loc;
}

/* The dtype of a module's first parameter (its weight), f32 when it has none. */
static DType module_dtype(const Module *m) {
  return m->nparams ? m->params[0]->type.dtype : DT_F32;
}

static Status infer_module(Infer *in, const Module *m, const TensorType *x, TensorType *out) {
  const ModuleInfo *mi = ir_module_info(m->type);
  if (!mi) return fail(in, "calls '%s', which has no module class", m->path);
  module_what(in, m);
  switch (m->type) {
  case MT_SEQUENTIAL: {
    /* A call of a container applies its children in order. */
    TensorType cur = *x;
    for (int i = 0; i < m->nchildren; i++) {
      TensorType next;
      Status st = infer_module(in, m->children[i], &cur, &next);
      if (st) return st;
      cur = next;
    }
    *out = cur;
    return JS_OK;
  }
  case MT_LINEAR:
    if (x->dtype != module_dtype(m)) return fail(in, "expects a %s input, got %s", ir_dtype_name(module_dtype(m)), tt(x).s);
    return linear_core(in, x, dim_n(mod_int(m, "in_features")), dim_n(mod_int(m, "out_features")), out);
  case MT_CONV1D:
    if (x->dtype != module_dtype(m)) return fail(in, "expects a %s input, got %s", ir_dtype_name(module_dtype(m)), tt(x).s);
    return conv1d_core(in, x, mod_int(m, "in_channels"), mod_int(m, "out_channels"), mod_int(m, "kernel_size"),
                       mod_int(m, "stride"), mod_int(m, "padding"), mod_int(m, "dilation"), out);
  case MT_BATCHNORM1D: {
    int64_t nf = mod_int(m, "num_features");
    if (m->nparams && x->dtype != module_dtype(m))
      return fail(in, "expects a %s input, got %s", ir_dtype_name(module_dtype(m)), tt(x).s);
    if (x->rank != 2 && x->rank != 3) return fail(in, "expects a 2-D or 3-D input, got %s", tt(x).s);
    if (!dim_is(x->dims[1], nf)) return fail(in, "expects %lld features on dim 1, got %s", (long long)nf, tt(x).s);
    if (!is_float(x->dtype)) return fail(in, "expects a floating-point input, got %s", tt(x).s);
    *out = *x;
    return JS_OK;
  }
  case MT_NONE:
  case MT_COUNT: break;
  default: {
    /* A module without parameters is its op applied to its constructor's arguments. */
    Value bound[12];
    MaseOp op = ir_module_bind(m, bound);
    if (op == MOP_NONE) break;
    return infer_op(in, op, &ir_op_info(op)->sig, bound, x, out);
  }
  }
  return fail(in, "has no shape rule");
}

/* ---- entry point ---- */

Status ir_infer_type(const Node *n, TensorType *out, Diag *d) {
  Infer in = {.n = n, .d = d, .at = ir_node_at(n)};
  Status st;
  switch (n->op) {
  case OP_PLACEHOLDER:
    snprintf(in.what, sizeof in.what, "input '%s'", n->target);
    if (!n->has_type) return fail(&in, "has no declared type");
    *out = n->type;
    return JS_OK;
  case OP_GET_ATTR:
    snprintf(in.what, sizeof in.what, "get_attr '%s'", n->target);
    if (!n->param) return fail(&in, "does not name a parameter or buffer");
    *out = n->param->type;
    return JS_OK;
  case OP_OUTPUT: {
    snprintf(in.what, sizeof in.what, "output");
    const TensorType *t = NULL;
    if (n->nargs != 1 || n->args[0].kind != VAL_NODE) return fail(&in, "returns no single tensor, so it has no type");
    if ((st = arg_type(&in, &n->args[0], "result", &t))) return st;
    *out = *t;
    return JS_OK;
  }
  case OP_CALL_MODULE: {
    snprintf(in.what, sizeof in.what, "call_module '%s'", n->target);
    if (!n->module) return fail(&in, "does not name a module");
    if (n->nargs != 1 || n->nkwargs != 0)
      return fail(&in, "passes %d positional and %d keyword arguments; a module call takes one input", n->nargs, n->nkwargs);
    const TensorType *x = NULL;
    if ((st = arg_type(&in, &n->args[0], "input", &x))) return st;
    TensorType t;
    seq_child_at(&in, n->module, &n->args[0]);
    if ((st = infer_module(&in, n->module, x, &t))) return st;
    *out = t;
    return JS_OK;
  }
  case OP_CALL_FUNCTION:
  case OP_CALL_METHOD: {
    const OpInfo *oi = ir_op_info(n->mop);
    snprintf(in.what, sizeof in.what, "%s()", oi ? oi->name : n->target);
    if (!oi) return fail(&in, "is not a known %s", n->op == OP_CALL_METHOD ? "method" : "function");
    Value bound[12];
    if ((st = ir_sig_bind(&oi->sig, oi->name, n->nargs, n->args, n->nkwargs, n->kwnames, n->kwargs,
                          n->graph->arena, bound, d, in.at)))
      return st;
    TensorType t;
    if ((st = infer_op(&in, n->mop, &oi->sig, bound, NULL, &t))) return st;
    *out = t;
    return JS_OK;
  }
  case OP_KIND_COUNT: break;
  }
  snprintf(in.what, sizeof in.what, "node '%s'", n->name);
  return fail(&in, "has an unknown kind");
}
