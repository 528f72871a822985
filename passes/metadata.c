/* metadata.c — the `metadata` pass: MASE's init_metadata, add_common_metadata and
 * add_software_metadata analysis passes (reference/mase_facts.md §4), as node metadata:
 *
 *   mase_type = "module_related_func"      from modules.def / ops.def, never from names
 *   mase_op   = "linear"                   "placeholder", "output", "constant" (get_attr)
 *   common    = {args={data_in_0={type="float", precision=[32], shape=f32[B,16],
 *                                 torch_dtype="torch.float32"},
 *                      weight={... shape=f32[5,16] ...}, bias={... shape=f32[1,5] ...},
 *                      eps={type="float", precision=[32], value=1e-05}, ...},
 *                results={data_out_0={type="float", precision=[32], shape=f32[B,5], ...}}}
 *   software  = {args={data_in_0={stat={}}, weight={stat={}}, ...}, results={data_out_0={stat={}}}}
 *
 * Where jscc differs from MASE, and why:
 *  - MASE keeps mase_type/mase_op inside `common`; here they are top-level keys, which is what
 *    the other passes and the IR dumps look up first.
 *  - Shapes are tensor types with the symbolic batch dim (f32[B,16]), not a traced [8,16].
 *  - 1-D parameters are recorded unsqueezed ([5] -> [1,5]) as MASE does, so MASE-style
 *    consumers see the same shapes; `metadata{unsqueeze=false}` keeps the true shape.
 *  - Config args are the module's constructor arguments that have a default (eps, momentum,
 *    inplace, stride, dim, ...), except those named like a parameter (Linear's bias flag); the
 *    required ones (in_features, num_features) are visible in the shapes.  For a function
 *    call, every non-tensor argument is a config arg; numbers where a tensor may stand
 *    (add(%x, 2)) are data_in_i.  None arguments are left out.
 *  - Scalars: float -> {type="float", precision=[32]}, int -> {type="integer", precision=[32]},
 *    bool -> {type="bool", precision=[1]}, each with value.
 *  - software args list the data inputs and every parameter and buffer except integer buffers
 *    (num_batches_tracked), as MASE's BatchNorm handling does.
 *  - No graph-level nodes_in/nodes_out (a Graph has no metadata dict) and no `value` (there
 *    is no traced input).
 * A call of a Sequential module gets its data args and results only (mase_op None).
 * A quantized node's quantized args and result record their format instead of float, as
 * MASE's quantize pass records them: type "fixed" (integer formats, the others by their kind
 * name) and precision [width, frac_width] (minifloat [width, exponent_width, exponent_bias],
 * log [width, exponent_bias], block_fp [width, exponent_width, exponent_bias, block_size]). */
#include <string.h>

#include "passes.h"

/* Builds metadata values in a scratch arena; ir_meta_set copies them into the graph. */
typedef struct MB {
  Arena *a;       /* scratch, freed when the pass ends */
  bool unsqueeze; /* record 1-D params as [1,n] */
  bool oom;       /* an allocation failed */
} MB;

#define DICT_CAP 24 /* entries per dict: more than any op's arguments */

static Value dict(MB *b) {
  Value v = {.kind = VAL_DICT};
  v.u.dict.keys = arena_alloc(b->a, sizeof(char *) * DICT_CAP);
  v.u.dict.vals = arena_alloc(b->a, sizeof(Value) * DICT_CAP);
  if (!v.u.dict.keys || !v.u.dict.vals) b->oom = true;
  return v;
}

static void put(MB *b, Value *d, const char *key, Value v) {
  if (b->oom || d->u.dict.n >= DICT_CAP) {
    b->oom = true;
    return;
  }
  d->u.dict.keys[d->u.dict.n] = key;
  d->u.dict.vals[d->u.dict.n++] = v;
}

static Value list1(MB *b, int64_t x) {
  Value *item = arena_alloc(b->a, sizeof(Value));
  if (!item) {
    b->oom = true;
    return val_none();
  }
  *item = val_int(x);
  return (Value){.kind = VAL_LIST, .u.seq = {1, item}};
}

/* MASE's type/precision and torch's dtype name for each dtype. */
static void dtype_meta(DType t, const char **type, int *bits, const char **torch) {
  switch (t) {
  case DT_F32: *type = "float", *bits = 32, *torch = "torch.float32"; return;
  case DT_F64: *type = "float", *bits = 64, *torch = "torch.float64"; return;
  case DT_I32: *type = "integer", *bits = 32, *torch = "torch.int32"; return;
  case DT_I64: *type = "integer", *bits = 64, *torch = "torch.int64"; return;
  case DT_BOOL:
  case DT_COUNT: break;
  }
  *type = "bool", *bits = 1, *torch = "torch.bool";
}

/* {type, precision, shape, torch_dtype} of a tensor. */
static Value tensor_meta(MB *b, const TensorType *t, bool unsqueeze) {
  const char *type, *torch;
  int bits;
  dtype_meta(t->dtype, &type, &bits, &torch);
  TensorType *shape = arena_alloc(b->a, sizeof *shape);
  if (!shape) {
    b->oom = true;
    return val_none();
  }
  *shape = *t;
  if (unsqueeze && t->rank == 1) {
    shape->rank = 2;
    shape->dims[0] = (Dim){.size = 1};
    shape->dims[1] = t->dims[0];
  }
  Value d = dict(b);
  put(b, &d, "type", val_str(type));
  put(b, &d, "precision", list1(b, bits));
  put(b, &d, "shape", val_type(shape));
  put(b, &d, "torch_dtype", val_str(torch));
  return d;
}

/* {type, precision, value} of a config argument. */
static Value scalar_meta(MB *b, const Value *v) {
  const Value *first = (v->kind == VAL_TUPLE || v->kind == VAL_LIST) && v->u.seq.n ? &v->u.seq.items[0] : v;
  const char *type = first->kind == VAL_FLOAT ? "float" : first->kind == VAL_BOOL ? "bool" : first->kind == VAL_STR ? "str" : "integer";
  Value d = dict(b);
  put(b, &d, "type", val_str(type));
  put(b, &d, "precision", list1(b, first->kind == VAL_BOOL ? 1 : 32));
  put(b, &d, "value", *v);
  return d;
}

static Value stat(MB *b) {
  Value d = dict(b);
  put(b, &d, "stat", dict(b));
  return d;
}

/* Common and software args of a call_module node: data_in_0, params, buffers, config. */
static void module_args(MB *b, const Node *n, Value *cargs, Value *sargs) {
  const Module *m = n->module;
  put(b, cargs, "data_in_0", tensor_meta(b, &n->args[0].u.node->type, false));
  put(b, sargs, "data_in_0", stat(b));
  if (m->type == MT_SEQUENTIAL) return;
  for (int i = 0; i < m->nparams; i++) {
    const Param *p = m->params[i];
    if (p->kind == PK_PARAM) put(b, cargs, p->name, tensor_meta(b, &p->type, b->unsqueeze));
    if (p->kind == PK_PARAM || p->type.dtype == DT_F32 || p->type.dtype == DT_F64) put(b, sargs, p->name, stat(b));
  }
  const ModuleInfo *mi = ir_module_info(m->type);
  for (int i = 0; mi && i < mi->sig.n && i < m->nargs; i++) {
    const SigParam *sp = &mi->sig.params[i];
    if (!sp->has_default || m->args[i].kind == VAL_NONE) continue;
    bool is_param = false;
    for (int j = 0; j < m->nparams; j++) is_param |= strcmp(m->params[j]->name, sp->name) == 0;
    if (!is_param) put(b, cargs, sp->name, scalar_meta(b, &m->args[i]));
  }
}

/* Common and software args of a call_function / call_method node, from the op's signature:
 * "input"/"other" tensors and numbers are data_in_i, other tensors keep their parameter name
 * (weight, bias), the rest are config args. */
static Status function_args(MB *b, const Node *n, Value *cargs, Value *sargs, Diag *d) {
  const OpInfo *oi = ir_op_info(n->mop);
  if (!oi) return diag_error(d, n->loc, "metadata: '%s' calls unknown op '%s'", n->name, n->target);
  Value bound[12];
  Status st = ir_sig_bind(&oi->sig, oi->name, n->nargs, n->args, n->nkwargs, n->kwnames, n->kwargs, b->a, bound, d,
                          n->loc);
  if (st) return st;
  int k = 0;
  for (int i = 0; i < oi->sig.n; i++) {
    const SigParam *sp = &oi->sig.params[i];
    const Value *v = &bound[i];
    bool data = strcmp(sp->name, "input") == 0 || strcmp(sp->name, "other") == 0;
    const char *key = sp->name;
    if (data && (v->kind == VAL_NODE || v->kind == VAL_INT || v->kind == VAL_FLOAT)) {
      key = arena_printf(b->a, "data_in_%d", k++);
      if (!key) {
        b->oom = true;
        return JS_ENOMEM;
      }
    }
    if (v->kind == VAL_NODE) {
      put(b, cargs, key, tensor_meta(b, &v->u.node->type, !data && b->unsqueeze));
      put(b, sargs, key, stat(b));
    } else if (v->kind != VAL_NONE) {
      put(b, cargs, key, scalar_meta(b, v));
    }
  }
  return JS_OK;
}

static const char *mase_op_of(const Node *n) {
  switch (n->op) {
  case OP_PLACEHOLDER: return "placeholder";
  case OP_GET_ATTR: return "constant";
  case OP_OUTPUT: return "output";
  default: {
    const OpInfo *oi = ir_op_info(n->mop);
    return oi ? oi->name : NULL;
  }
  }
}

static MaseType mase_type_of(const Node *n) {
  switch (n->op) {
  case OP_PLACEHOLDER: return MASE_PLACEHOLDER;
  case OP_GET_ATTR: return MASE_GET_ATTR;
  case OP_OUTPUT: return MASE_OUTPUT;
  case OP_CALL_MODULE: return ir_module_info(n->module->type)->mase_type;
  default: return ir_op_info(n->mop)->mase_type;
  }
}

/* Checks what the metadata needs: known types and resolved targets. */
static Status check_node(const Node *n, Diag *d) {
  if (n->op == OP_CALL_MODULE && (!n->module || !ir_module_info(n->module->type) || n->nargs != 1 ||
                                  n->args[0].kind != VAL_NODE))
    return diag_error(d, n->loc, "metadata: '%s' does not call a known module with one input", n->name);
  if ((n->op == OP_CALL_FUNCTION || n->op == OP_CALL_METHOD) && !ir_op_info(n->mop))
    return diag_error(d, n->loc, "metadata: '%s' calls unknown op '%s'", n->name, n->target);
  if (n->op == OP_GET_ATTR && !n->param)
    return diag_error(d, n->loc, "metadata: '%s' reads '%s', which is not a parameter", n->name, n->target);
  if (n->op != OP_OUTPUT && !n->has_type)
    return diag_error(d, n->loc, "metadata: node '%s' has no type; the 'shape' pass must run first", n->name);
  return JS_OK;
}

static Status node_metadata(MB *b, Node *n, Diag *d) {
  Value cargs = dict(b), cres = dict(b), sargs = dict(b), sres = dict(b);
  Status st = JS_OK;
  switch (n->op) {
  case OP_CALL_MODULE: module_args(b, n, &cargs, &sargs); break;
  case OP_CALL_FUNCTION:
  case OP_CALL_METHOD: st = function_args(b, n, &cargs, &sargs, d); break;
  case OP_OUTPUT: {
    /* the returned values are its data inputs */
    const Value *v = n->nargs ? &n->args[0] : NULL;
    int cnt = !v ? 0 : v->kind == VAL_NODE ? 1 : (v->kind == VAL_TUPLE || v->kind == VAL_LIST) ? v->u.seq.n : 0;
    for (int i = 0; i < cnt; i++) {
      const Value *item = v->kind == VAL_NODE ? v : &v->u.seq.items[i];
      if (item->kind != VAL_NODE || !item->u.node->has_type) continue;
      const char *key = arena_printf(b->a, "data_in_%d", i);
      if (!key) return diag_oom(d);
      put(b, &cargs, key, tensor_meta(b, &item->u.node->type, false));
      put(b, &sargs, key, stat(b));
    }
    break;
  }
  default: break;
  }
  if (st) return st;
  if (n->op != OP_OUTPUT) {
    put(b, &cres, "data_out_0", tensor_meta(b, &n->type, false));
    put(b, &sres, "data_out_0", stat(b));
  }
  Value common = dict(b), software = dict(b);
  put(b, &common, "args", cargs);
  put(b, &common, "results", cres);
  put(b, &software, "args", sargs);
  put(b, &software, "results", sres);
  if (b->oom) return diag_oom(d);
  const char *op = mase_op_of(n);
  if (ir_meta_set(n, "mase_type", val_str(ir_mase_type_name(mase_type_of(n)))) ||
      ir_meta_set(n, "mase_op", op ? val_str(op) : val_none()) || ir_meta_set(n, "common", common) ||
      ir_meta_set(n, "software", software))
    return diag_oom(d);
  return JS_OK;
}

/* ---- metadata: type and precision of the quantized args ---- */

static Value *dict_find(Value *d, const char *key) {
  if (!d || d->kind != VAL_DICT) return NULL;
  for (int i = 0; i < d->u.dict.n; i++)
    if (strcmp(d->u.dict.keys[i], key) == 0) return &d->u.dict.vals[i];
  return NULL;
}

static Value int_list(Arena *a, const int *v, int n) {
  Value *items = arena_alloc(a, sizeof(Value) * (size_t)n);
  if (!items) return val_none();
  for (int i = 0; i < n; i++) items[i] = val_int(v[i]);
  return (Value){.kind = VAL_LIST, .u.seq = {n, items}};
}

/* MASE's type name and precision list of a format. */
static Value fmt_precision(Arena *a, const QFmt *f, const char **type) {
  int v[4], n = 0;
  switch (f->kind) {
  case QK_INTEGER: *type = "fixed", v[0] = f->width, v[1] = f->frac_width, n = 2; break;
  case QK_MINIFLOAT_IEEE:
  case QK_MINIFLOAT_DENORM: *type = ir_qkind_name(f->kind), v[0] = f->width, v[1] = f->exp_width, v[2] = f->exp_bias, n = 3; break;
  case QK_LOG: *type = "log", v[0] = f->width, v[1] = f->exp_bias, n = 2; break;
  case QK_BLOCK_FP:
    *type = "block_fp", v[0] = f->width, v[1] = f->exp_width, v[2] = f->exp_bias, v[3] = f->block_size, n = 4;
    break;
  case QK_BINARY: *type = "binary", v[0] = 1, n = 1; break;
  case QK_TERNARY: *type = "ternary", v[0] = 2, n = 1; break;
  case QK_BLOCK_MINIFLOAT:
    *type = "block_minifloat", v[0] = f->width, v[1] = f->exp_width, v[2] = f->exp_bias_width, v[3] = f->block_size, n = 4;
    break;
  case QK_BLOCK_LOG: *type = "block_log", v[0] = f->width, v[1] = f->exp_bias_width, v[2] = f->block_size, n = 3; break;
  case QK_COUNT: *type = "?", n = 0; break;
  }
  return int_list(a, v, n);
}

static void set_entry(Arena *a, Value *e, const QFmt *f) {
  if (!e || e->kind != VAL_DICT) return;
  const char *type;
  Value prec = fmt_precision(a, f, &type);
  Value *t = dict_find(e, "type"), *p = dict_find(e, "precision");
  if (t) *t = val_str(type);
  if (p && prec.kind == VAL_LIST) *p = prec;
}

void pass_metadata_quant(Node *n) {
  QCfg qc;
  const QCfg *q = &qc;
  if (!ir_node_qcfg(n, &qc)) return;
  Value *common = (Value *)ir_meta_get(n, "common");
  if (!common) return;
  Arena *a = n->graph->arena;
  Value *args = dict_find(common, "args"), *res = dict_find(common, "results");
  for (int i = 0; args && args->kind == VAL_DICT && i < args->u.dict.n; i++) {
    const char *k = args->u.dict.keys[i];
    QSlot s = strncmp(k, "data_in_", 8) == 0 ? QS_DATA_IN : strcmp(k, "weight") == 0 ? QS_WEIGHT
              : strcmp(k, "bias") == 0 ? QS_BIAS : QS_COUNT;
    if (s != QS_COUNT && q->has[s]) set_entry(a, &args->u.dict.vals[i], &q->fmt[s]);
  }
  if (q->has[QS_DATA_OUT]) set_entry(a, dict_find(res, "data_out_0"), &q->fmt[QS_DATA_OUT]);
}

Status pass_metadata(Graph *g, const PassArgs *args, PassContext *ctx) {
  Status st = JS_OK;
  for (Node *n = g->first; n; n = n->next)
    if (check_node(n, ctx->diag)) st = JS_ERR;
  if (st) return st;
  MB b = {.a = arena_new(), .unsqueeze = pass_arg_bool(args, "unsqueeze")};
  if (!b.a) return diag_oom(ctx->diag);
  for (Node *n = g->first; n && !st; n = n->next) {
    st = node_metadata(&b, n, ctx->diag);
    if (!st) pass_metadata_quant(n);
  }
  arena_free(b.a);
  return st;
}
