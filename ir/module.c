/* module.c — configuring a module: binding its constructor arguments, checking them, and
 * creating the parameters and buffers PyTorch's class of the same name owns, with the same
 * state_dict names, shapes and default initialisation. */
#include <math.h>
#include <string.h>

#include "ir.h"

const Value *ir_module_arg(const Module *m, const char *name) {
  const ModuleInfo *mi = ir_module_info(m->type);
  if (!mi) return NULL;
  for (int i = 0; i < mi->sig.n && i < m->nargs; i++)
    if (strcmp(mi->sig.params[i].name, name) == 0) return &m->args[i];
  return NULL;
}

Param *ir_module_param(const Module *m, const char *name) {
  for (int i = 0; m && i < m->nparams; i++)
    if (strcmp(m->params[i]->name, name) == 0) return m->params[i];
  return NULL;
}

double ir_module_num(const Module *m, const char *name, double def) {
  const Value *v = m ? ir_module_arg(m, name) : NULL;
  if (v && v->kind == VAL_FLOAT) return v->u.f;
  if (v && v->kind == VAL_INT) return (double)v->u.i;
  return def;
}

/* BatchNorm in eval mode is y = x s + t per channel, s = w / sqrt(var + eps),
 * t = b - mean s (spec/quant.md §3): what its weight and bias formats quantize. */
double ir_bn_fold(double w, double b, double mean, double var, double eps, double *shift) {
  double s = w / sqrt(var + eps);
  *shift = b - mean * s;
  return s;
}

static int64_t arg_int(const Module *m, const char *name) {
  const Value *v = ir_module_arg(m, name);
  return v && v->kind == VAL_INT ? v->u.i : 0;
}

static double arg_float(const Module *m, const char *name) {
  const Value *v = ir_module_arg(m, name);
  return v && v->kind == VAL_FLOAT ? v->u.f : v && v->kind == VAL_INT ? (double)v->u.i : 0;
}

static bool arg_bool(const Module *m, const char *name) {
  const Value *v = ir_module_arg(m, name);
  return v && v->kind == VAL_BOOL && v->u.b;
}

/* A positive size no larger than IR_MAX_DIM. */
static Status check_size(const Module *m, const char *name, int64_t lo, Diag *d, SrcLoc loc) {
  int64_t v = arg_int(m, name);
  const char *cls = ir_module_info(m->type)->cls;
  if (v < lo)
    return diag_error(d, loc, "%s(): %s must be at least %lld, got %lld", cls, name, (long long)lo,
                      (long long)v);
  if (v > IR_MAX_DIM)
    return diag_error(d, loc, "%s(): %s = %lld is too large (the limit is %lld)", cls, name, (long long)v,
                      (long long)IR_MAX_DIM);
  return JS_OK;
}

static TensorType shape_of(DType dt, int rank, const int64_t *dims) {
  TensorType t = {.dtype = dt, .rank = rank};
  for (int i = 0; i < rank; i++) t.dims[i].size = dims[i];
  return t;
}

static Status add_param(Graph *g, Module *m, const char *name, ParamKind kind, TensorType t,
                        Init init, Diag *d, SrcLoc loc) {
  int64_t numel = ir_type_numel(&t);
  if (numel > IR_MAX_NUMEL) {
    StrBuf sb;
    sb_init(&sb);
    ir_type_print(&sb, &t);
    Status st = diag_error(d, loc, "%s(): %s of type %s has more than %lld elements; refusing to allocate it",
                           ir_module_info(m->type)->cls, name, sb_str(&sb), (long long)IR_MAX_NUMEL);
    sb_free(&sb);
    return st;
  }
  if (!ir_param_new(g, m, name, kind, &t, init, loc)) return diag_oom(d);
  return JS_OK;
}

/* PyTorch's Linear/Conv reset_parameters: kaiming_uniform_(weight, a=sqrt(5)) and a bias
 * drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
static Status weight_and_bias(Graph *g, Module *m, TensorType w, int64_t fan_in, int64_t out,
                              bool bias, Diag *d, SrcLoc loc) {
  Status st = add_param(g, m, "weight", PK_PARAM, w, (Init){INIT_KAIMING_UNIFORM, {sqrt(5.0), 0}}, d, loc);
  if (st || !bias) return st;
  double bound = fan_in > 0 ? 1.0 / sqrt((double)fan_in) : 0;
  return add_param(g, m, "bias", PK_PARAM, shape_of(DT_F32, 1, &out),
                   (Init){INIT_UNIFORM, {-bound, bound}}, d, loc);
}

static Status make_params(Graph *g, Module *m, Diag *d, SrcLoc loc) {
  const char *cls = ir_module_info(m->type)->cls;
  Status st;
  switch (m->type) {
  case MT_LINEAR: {
    if ((st = check_size(m, "in_features", 1, d, loc)) || (st = check_size(m, "out_features", 1, d, loc)))
      return st;
    int64_t in = arg_int(m, "in_features"), out = arg_int(m, "out_features");
    int64_t dims[2] = {out, in};
    return weight_and_bias(g, m, shape_of(DT_F32, 2, dims), in, out, arg_bool(m, "bias"), d, loc);
  }
  case MT_CONV1D: {
    if ((st = check_size(m, "in_channels", 1, d, loc)) || (st = check_size(m, "out_channels", 1, d, loc)) ||
        (st = check_size(m, "kernel_size", 1, d, loc)) || (st = check_size(m, "stride", 1, d, loc)) ||
        (st = check_size(m, "padding", 0, d, loc)) || (st = check_size(m, "dilation", 1, d, loc)) ||
        (st = check_size(m, "groups", 1, d, loc)))
      return st;
    int64_t in = arg_int(m, "in_channels"), out = arg_int(m, "out_channels");
    int64_t k = arg_int(m, "kernel_size"), groups = arg_int(m, "groups");
    if (in % groups || out % groups)
      return diag_error(d, loc, "Conv1d(): in_channels (%lld) and out_channels (%lld) must be divisible by groups (%lld)",
                        (long long)in, (long long)out, (long long)groups);
    int64_t dims[3] = {out, in / groups, k};
    return weight_and_bias(g, m, shape_of(DT_F32, 3, dims), in / groups * k, out, arg_bool(m, "bias"), d, loc);
  }
  case MT_BATCHNORM1D: {
    if ((st = check_size(m, "num_features", 1, d, loc))) return st;
    double eps = arg_float(m, "eps"), mom = arg_float(m, "momentum");
    if (!(eps > 0) || !isfinite(eps)) return diag_error(d, loc, "BatchNorm1d(): eps must be positive, got %g", eps);
    if (!(mom >= 0 && mom <= 1)) return diag_error(d, loc, "BatchNorm1d(): momentum must be in [0, 1], got %g", mom);
    int64_t nf = arg_int(m, "num_features");
    TensorType v = shape_of(DT_F32, 1, &nf);
    if (arg_bool(m, "affine") &&
        ((st = add_param(g, m, "weight", PK_PARAM, v, (Init){INIT_ONES, {0, 0}}, d, loc)) ||
         (st = add_param(g, m, "bias", PK_PARAM, v, (Init){INIT_ZEROS, {0, 0}}, d, loc))))
      return st;
    if (arg_bool(m, "track_running_stats") &&
        ((st = add_param(g, m, "running_mean", PK_BUFFER, v, (Init){INIT_ZEROS, {0, 0}}, d, loc)) ||
         (st = add_param(g, m, "running_var", PK_BUFFER, v, (Init){INIT_ONES, {0, 0}}, d, loc)) ||
         (st = add_param(g, m, "num_batches_tracked", PK_BUFFER, shape_of(DT_I64, 0, NULL),
                         (Init){INIT_ZEROS, {0, 0}}, d, loc))))
      return st;
    return JS_OK;
  }
  case MT_DROPOUT: {
    double p = arg_float(m, "p");
    if (!(p >= 0 && p <= 1)) return diag_error(d, loc, "%s(): p must be in [0, 1], got %g", cls, p);
    return JS_OK;
  }
  case MT_LEAKYRELU: {
    double s = arg_float(m, "negative_slope");
    if (!isfinite(s)) return diag_error(d, loc, "%s(): negative_slope must be finite", cls);
    return JS_OK;
  }
  default: return JS_OK;
  }
}

Status ir_module_configure(Graph *g, Module *m, int nargs, const Value *args, int nkw,
                           const char *const *kwnames, const Value *kwargs, Diag *d, SrcLoc loc) {
  const ModuleInfo *mi = ir_module_info(m->type);
  if (!mi) return diag_error(d, loc, "module '%s' has no class", m->path);
  Value bound[12];
  Status st = ir_sig_bind(&mi->sig, mi->cls, nargs, args, nkw, kwnames, kwargs, g->arena, bound, d, loc);
  if (st) return st;
  m->nargs = mi->sig.n;
  m->args = arena_alloc(g->arena, sizeof(Value) * (size_t)(m->nargs ? m->nargs : 1));
  if (!m->args) return diag_oom(d);
  for (int i = 0; i < m->nargs; i++)
    if (val_copy(g->arena, &bound[i], &m->args[i])) return diag_oom(d);
  return make_params(g, m, d, loc);
}

static void repr_indented(StrBuf *sb, const Module *m, int indent) {
  const ModuleInfo *mi = ir_module_info(m->type);
  if (!mi) {
    sb_puts(sb, "?");
    return;
  }
  sb_printf(sb, "%s(", mi->cls);
  if (m->type == MT_SEQUENTIAL) {
    if (m->nchildren) sb_putc(sb, '\n');
    for (int i = 0; i < m->nchildren; i++) {
      sb_printf(sb, "%*s(%s): ", indent + 2, "", m->children[i]->name);
      repr_indented(sb, m->children[i], indent + 2);
      sb_putc(sb, '\n');
    }
    if (m->nchildren) sb_printf(sb, "%*s", indent, "");
    sb_putc(sb, ')');
    return;
  }
  bool first = true;
  const char *p = mi->repr;
  while (*p) {
    const char *e = p;
    while (*e && *e != ',') e++;
    size_t n = (size_t)(e - p);
    bool named = n && p[n - 1] == '=';
    bool optional = n && p[n - 1] == '?';
    if (optional) {
      n--;
      named = n && p[n - 1] == '=';
    }
    size_t namelen = named ? n - 1 : n;
    for (int i = 0; i < mi->sig.n && i < m->nargs; i++) {
      const SigParam *sp = &mi->sig.params[i];
      if (strlen(sp->name) != namelen || strncmp(sp->name, p, namelen) != 0) continue;
      if (optional && sp->has_default && val_equal(&m->args[i], &sp->def)) break;
      if (!first) sb_puts(sb, ", ");
      first = false;
      if (named) sb_printf(sb, "%s=", sp->name);
      val_print_py(sb, &m->args[i]);
      break;
    }
    p = *e ? e + 1 : e;
    while (*p == ' ') p++;
  }
  sb_putc(sb, ')');
}

void ir_module_repr(StrBuf *sb, const Module *m) {
  repr_indented(sb, m, 0);
}

void ir_module_count(const Module *m, int64_t *nparam, int64_t *nbuffer) {
  for (int i = 0; i < m->nparams; i++) {
    int64_t n = ir_type_numel(&m->params[i]->type);
    if (m->params[i]->kind == PK_PARAM)
      *nparam += n;
    else
      *nbuffer += n;
  }
  for (int i = 0; i < m->nchildren; i++) ir_module_count(m->children[i], nparam, nbuffer);
}

/* The op of a module call with its arguments: the one binding infer, grad, the executor and
 * the plan share, so each has one rule per op for module and function forms alike. */
MaseOp ir_module_bind(const Module *m, Value *bound) {
  const ModuleInfo *mi = ir_module_info(m->type);
  const OpInfo *oi = mi ? ir_op_info(mi->op) : NULL;
  if (!oi) return MOP_NONE;
  bound[0] = val_none();
  for (int i = 1; i < oi->sig.n; i++) {
    const SigParam *sp = &oi->sig.params[i];
    const Value *v = ir_module_arg(m, sp->name);
    bound[i] = v ? *v : sp->has_default ? sp->def : val_none();
  }
  return mi->op;
}
