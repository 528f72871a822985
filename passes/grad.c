/* grad.c — the `grad` pass: reverse-mode autodiff in the IR.
 *
 * Turns a forward graph (one output: logits [B, C]) into a training graph:
 *   - a placeholder %target : i64[B] (class indices) after the model's inputs,
 *   - %cross_entropy = cross_entropy(logits, target): the mean over the batch,
 *   - the backward graph: cross_entropy_backward seeds d loss / d logits, then every forward
 *     node that depends on a trainable parameter, in reverse order, adds the gradients of its
 *     inputs with the backward operators of ops.def (spec/ir.md, "Training graphs"),
 *   - the output becomes {'logits': ..., 'loss': ..., 'grads': {'<param>': ...}} with one
 *     entry per trainable parameter that receives a gradient, in state_dict order.
 * A gradient reaching a node from several users is summed with `add`.  The forward nodes are
 * left as they are: a training graph runs its BatchNorm1d and Dropout modules in training
 * mode (batch statistics, running-stat updates, seeded masks), which is the executor's mode,
 * as module.training is in PyTorch.  Gradients are not computed for the model's inputs. */
#include <string.h>

#include "passes.h"

typedef struct Grad {
  Graph *g;
  Diag *d;
  Node *out;          /* the output node: new nodes go before it */
  Node **gnode;       /* [index] the gradient of each forward node so far (NULL: none) */
  bool *needs;        /* [index] the node depends on a trainable parameter */
  int nfwd;           /* forward nodes (indices below this) */
  Node **pgrad;       /* [param index] gradient of each parameter */
} Grad;

/* A new call_function node before the output, typed by the shape rule. */
static Node *emit(Grad *gr, Node *at, const char *fn, int nargs, const Value *args, int nkw,
                  const char *const *kwnames, const Value *kwargs) {
  Node *n = ir_node_new(gr->g, OP_CALL_FUNCTION, fn, NULL, gr->out, at->loc);
  if (!n || ir_node_set_args(n, nargs, args, nkw, kwnames, kwargs)) {
    diag_oom(gr->d);
    return NULL;
  }
  TensorType t;
  if (ir_infer_type(n, &t, gr->d)) {
    diag_note(gr->d, at->loc, "while differentiating %%%s", at->name);
    return NULL;
  }
  n->type = t;
  n->has_type = true;
  return n;
}
static Node *emit1(Grad *gr, Node *at, const char *fn, Value a) { return emit(gr, at, fn, 1, &a, 0, NULL, NULL); }
static Node *emit2(Grad *gr, Node *at, const char *fn, Value a, Value b) {
  Value v[2] = {a, b};
  return emit(gr, at, fn, 2, v, 0, NULL, NULL);
}
static Node *emit3(Grad *gr, Node *at, const char *fn, Value a, Value b, Value c) {
  Value v[3] = {a, b, c};
  return emit(gr, at, fn, 3, v, 0, NULL, NULL);
}

/* A get_attr node reading a parameter, placed before the output (next to its use). */
static Node *read_param(Grad *gr, Node *at, const Param *p) {
  Node *n = ir_node_new(gr->g, OP_GET_ATTR, p->qualname, NULL, gr->out, at->loc);
  if (!n) {
    diag_oom(gr->d);
    return NULL;
  }
  n->type = p->type;
  n->has_type = true;
  return n;
}

static int param_index(const Graph *g, const Param *p) {
  for (int i = 0; i < g->nparams; i++)
    if (g->params[i] == p) return i;
  return -1;
}

static Status add_grad_to(Grad *gr, Node *at, Node **slot, Node *contrib) {
  if (!contrib) return JS_ERR;
  if (!*slot) {
    *slot = contrib;
    return JS_OK;
  }
  Node *sum = emit2(gr, at, "add", val_node(*slot), val_node(contrib));
  if (!sum) return JS_ERR;
  *slot = sum;
  return JS_OK;
}

/* Add `contrib` to the gradient of the value v (a node that needs one), else nothing. */
static Status acc(Grad *gr, Node *at, const Value *v, Node *contrib) {
  if (v->kind != VAL_NODE) return JS_OK;
  Node *x = v->u.node;
  if (x->index >= gr->nfwd || !gr->needs[x->index]) return JS_OK;
  return add_grad_to(gr, at, &gr->gnode[x->index], contrib);
}
static bool wants(Grad *gr, const Value *v) {
  return v->kind == VAL_NODE && v->u.node->index < gr->nfwd && gr->needs[v->u.node->index];
}
static Status acc_param(Grad *gr, Node *at, const Param *p, Node *contrib) {
  if (!p || p->kind != PK_PARAM) return JS_OK;
  int i = param_index(gr->g, p);
  return add_grad_to(gr, at, &gr->pgrad[i], contrib);
}

/* The gradient of `x` for `G` summed down to x's shape when broadcasting widened it. */
static Node *unbroadcast(Grad *gr, Node *at, Node *G, const Value *x) {
  const TensorType *xt = &x->u.node->type;
  if (ir_type_equal(&G->type, xt)) return G;
  return emit2(gr, at, "sum_to", val_node(G), *x);
}

/* Sum G [N, C] or [N, C, L] to [C] (a BatchNorm bias). */
static Node *sum_channels(Grad *gr, Node *at, Node *G) {
  Node *s = G;
  if (G->type.rank == 3 && !(s = emit2(gr, at, "sum", val_node(s), val_int(2)))) return NULL;
  return emit2(gr, at, "sum", val_node(s), val_int(0));
}

static Status no_grad(Grad *gr, Node *n, const char *what) {
  return diag_error(gr->d, n->loc, "grad: %s has no gradient yet (%%%s); train a model without it", what, n->name);
}

/* softmax dim as the module or call gives it (None: PyTorch's legacy rule). */
static int64_t softmax_dim(const Value *v, int rank) {
  if (v && v->kind == VAL_INT) return v->u.i;
  return (rank == 0 || rank == 1 || rank == 3) ? 0 : 1;
}

/* The operand v of quantized node n as its forward saw it: quantize(v, slot format) when the
 * slot is quantized (spec/quant.md §4: the backward runs at the quantized operands, the
 * gradient passes the quantizer straight through).  *out = v otherwise. */
static Status qval(Grad *gr, Node *n, QSlot s, const Value *v, Value *out) {
  QCfg q;
  *out = *v;
  if (v->kind != VAL_NODE || !ir_node_qcfg(n, &q) || !q.has[s]) return JS_OK;
  Value f;
  if (ir_qfmt_to_value(gr->g->arena, &q.fmt[s], &f)) return diag_oom(gr->d);
  Node *qn = emit2(gr, n, "quantize", *v, f);
  if (!qn) return JS_ERR;
  *out = val_node(qn);
  return JS_OK;
}

/* The linear layer's backward: input, weight and bias gradients.  A quantized layer's
 * gradients use its quantized input and weight. */
static Status linear_backward(Grad *gr, Node *n, Node *G, const Value *x, Node *w, const Param *wp, const Value *wv,
                              Node *b, const Param *bp, const Value *bv) {
  Value wq, xq;
  if (qval(gr, n, QS_WEIGHT, &(Value){.kind = VAL_NODE, .u.node = w}, &wq)) return JS_ERR;
  if (wants(gr, x) && acc(gr, n, x, emit2(gr, n, "matmul", val_node(G), wq))) return JS_ERR;
  bool need_gw = wp || (wv && wants(gr, wv));
  if (need_gw && qval(gr, n, QS_DATA_IN, x, &xq)) return JS_ERR;
  Node *gw = need_gw ? emit2(gr, n, "outer_sum", val_node(G), xq) : NULL;
  if (wp && acc_param(gr, n, wp, gw)) return JS_ERR;
  if (wv && wants(gr, wv) && acc(gr, n, wv, gw)) return JS_ERR;
  if (b) {
    Node *gb = (bp || (bv && wants(gr, bv))) ? emit2(gr, n, "sum_to", val_node(G), val_node(b)) : NULL;
    if (bp && acc_param(gr, n, bp, gb)) return JS_ERR;
    if (bv && wants(gr, bv) && acc(gr, n, bv, gb)) return JS_ERR;
  }
  return JS_OK;
}

/* Conv1d's backward: conv1d_backward_input and conv1d_backward_weight (with the forward's
 * stride, padding, dilation, groups in `hp`), the bias gradient summed over batch and length.
 * A quantized layer's gradients use its quantized input and weight, as linear_backward's. */
static Status conv1d_backward(Grad *gr, Node *n, Node *G, const Value *x, Node *w, const Param *wp, const Value *wv,
                              Node *b, const Param *bp, const Value *bv, const Value *hp) {
  Value wq, xq;
  if (qval(gr, n, QS_WEIGHT, &(Value){.kind = VAL_NODE, .u.node = w}, &wq)) return JS_ERR;
  if (qval(gr, n, QS_DATA_IN, x, &xq)) return JS_ERR;
  Value a[7] = {val_node(G), xq, wq, hp[0], hp[1], hp[2], hp[3]};
  if (wants(gr, x) && acc(gr, n, x, emit(gr, n, "conv1d_backward_input", 7, a, 0, NULL, NULL))) return JS_ERR;
  bool need_gw = wp || (wv && wants(gr, wv));
  Node *gw = need_gw ? emit(gr, n, "conv1d_backward_weight", 7, a, 0, NULL, NULL) : NULL;
  if (wp && acc_param(gr, n, wp, gw)) return JS_ERR;
  if (wv && wants(gr, wv) && acc(gr, n, wv, gw)) return JS_ERR;
  if (b && (bp || (bv && wants(gr, bv)))) {
    Node *gb = G->type.rank == 3 ? sum_channels(gr, n, G) : emit2(gr, n, "sum", val_node(G), val_int(1));
    if (bp && acc_param(gr, n, bp, gb)) return JS_ERR;
    if (bv && wants(gr, bv) && acc(gr, n, bv, gb)) return JS_ERR;
  }
  return JS_OK;
}

/* A Conv1d module's backward: its weight and bias parameters and hyperparameters. */
static Status conv1d_module_backward(Grad *gr, Node *n, Node *G) {
  const Module *m = n->module;
  const Param *wp = ir_module_param(m, "weight"), *bp = ir_module_param(m, "bias");
  Node *w = read_param(gr, n, wp), *b = bp ? read_param(gr, n, bp) : NULL;
  if (!w || (bp && !b)) return JS_ERR;
  static const char *const names[4] = {"stride", "padding", "dilation", "groups"};
  Value hp[4];
  for (int i = 0; i < 4; i++) {
    const Value *v = ir_module_arg(m, names[i]);
    hp[i] = v && v->kind == VAL_INT ? *v : val_int(i == 1 ? 0 : 1);
  }
  return conv1d_backward(gr, n, G, &n->args[0], w, wp, NULL, b, bp, NULL, hp);
}

/* Bind a call's arguments to its op's signature (defaults filled). */
static Status bind_call(Grad *gr, Node *n, Value *bound) {
  const OpInfo *oi = ir_op_info(n->mop);
  return ir_sig_bind(&oi->sig, oi->name, n->nargs, n->args, n->nkwargs, n->kwnames, n->kwargs, gr->g->arena, bound,
                     gr->d, n->loc);
}

/* An activation of ew.def: ew_backward(G, x or y, "op", the call's other arguments...). */
static Status ew_grad(Grad *gr, Node *n, Node *G, const Value *x, const EwDef *d, const Value *b) {
  const OpInfo *oi = ir_op_info(d->op);
  Value a[3 + 12];
  int na = 0;
  a[na++] = val_node(G);
  a[na++] = d->saved_y ? val_node(n) : *x;
  a[na++] = val_str(oi->name);
  for (int i = 1; i < oi->sig.n; i++) a[na++] = b[i];
  return acc(gr, n, x, emit(gr, n, "ew_backward", na, a, 0, NULL, NULL));
}

static Status backward_op(Grad *gr, Node *n, MaseOp op, const Value *b, Node *G);

/* Modules with parameters read them; every other module is its op (ir_module_bind). */
static Status backward_module(Grad *gr, Node *n, Node *G) {
  Module *m = n->module;
  const Value *x = &n->args[0];
  switch (m->type) {
  case MT_LINEAR: {
    const Param *wp = ir_module_param(m, "weight"), *bp = ir_module_param(m, "bias");
    Node *w = read_param(gr, n, wp), *b = bp ? read_param(gr, n, bp) : NULL;
    if (!w || (bp && !b)) return JS_ERR;
    return linear_backward(gr, n, G, x, w, wp, NULL, b, bp, NULL);
  }
  case MT_CONV1D: return conv1d_module_backward(gr, n, G);
  case MT_BATCHNORM1D: {
    const Param *wp = ir_module_param(m, "weight"), *bp = ir_module_param(m, "bias");
    Value eps = *ir_module_arg(m, "eps");
    if (eps.kind == VAL_INT) eps = val_float((double)eps.u.i);
    Value xq;
    if ((wants(gr, x) || wp) && qval(gr, n, QS_DATA_IN, x, &xq)) return JS_ERR;
    if (wants(gr, x)) {
      Node *w = wp ? read_param(gr, n, wp) : NULL;
      if (wp && !w) return JS_ERR;
      Value a[4] = {val_node(G), xq, w ? val_node(w) : val_none(), eps};
      if (acc(gr, n, x, emit(gr, n, "batch_norm1d_backward_input", 4, a, 0, NULL, NULL))) return JS_ERR;
    }
    if (wp && acc_param(gr, n, wp, emit3(gr, n, "batch_norm1d_backward_weight", val_node(G), xq, eps))) return JS_ERR;
    if (bp && acc_param(gr, n, bp, sum_channels(gr, n, G))) return JS_ERR;
    return JS_OK;
  }
  default: {
    Value b[12];
    MaseOp op = ir_module_bind(m, b);
    if (op == MOP_NONE) return no_grad(gr, n, ir_module_info(m->type)->cls);
    b[0] = *x;
    return backward_op(gr, n, op, b, G);
  }
  }
}

static Status backward_call(Grad *gr, Node *n, Node *G) {
  Value b[12];
  if (bind_call(gr, n, b)) return JS_ERR;
  return backward_op(gr, n, n->mop, b, G);
}

/* The gradient of op, a call_function, call_method or (bound) call_module, with arguments b. */
static Status backward_op(Grad *gr, Node *n, MaseOp op, const Value *b, Node *G) {
  const Value *x = &b[0];
  const OpInfo *oi = ir_op_info(op);
  if (!(oi->props & P_GRAD)) return no_grad(gr, n, oi->name);
  switch (op) {
  case MOP_LINEAR: {
    Node *w = b[1].u.node, *bias = b[2].kind == VAL_NODE ? b[2].u.node : NULL;
    return linear_backward(gr, n, G, x, w, NULL, &b[1], bias, NULL, bias ? &b[2] : NULL);
  }
  case MOP_CONV1D: {
    Node *w = b[1].u.node, *bias = b[2].kind == VAL_NODE ? b[2].u.node : NULL;
    return conv1d_backward(gr, n, G, x, w, NULL, &b[1], bias, NULL, bias ? &b[2] : NULL, &b[3]);
  }
  case MOP_DROPOUT:
    if (b[2].kind == VAL_BOOL && !b[2].u.b) return acc(gr, n, x, G);
    return acc(gr, n, x, emit3(gr, n, "dropout_backward", val_node(G), val_node(n), b[1]));
  case MOP_SOFTMAX:
  case MOP_LOG_SOFTMAX: {
    const char *fn = op == MOP_SOFTMAX ? "softmax_backward" : "log_softmax_backward";
    return acc(gr, n, x, emit3(gr, n, fn, val_node(G), val_node(n), val_int(softmax_dim(&b[1], n->type.rank))));
  }
  case MOP_IDENTITY: return acc(gr, n, x, G);
  case MOP_FLATTEN:
  case MOP_VIEW:
  case MOP_RESHAPE: return acc(gr, n, x, emit2(gr, n, "reshape_as", val_node(G), *x));
  case MOP_T: return acc(gr, n, x, emit1(gr, n, "t", val_node(G)));
  case MOP_TRANSPOSE: return acc(gr, n, x, emit3(gr, n, "transpose", val_node(G), b[1], b[2]));
  case MOP_NEG: return acc(gr, n, x, emit1(gr, n, "neg", val_node(G)));
  case MOP_QUANTIZE: return acc(gr, n, x, G); /* straight through */
  case MOP_ADD:
  case MOP_SUB:
    if (wants(gr, &b[0]) && acc(gr, n, &b[0], unbroadcast(gr, n, G, &b[0]))) return JS_ERR;
    if (wants(gr, &b[1])) {
      Node *g1 = G;
      if (op == MOP_SUB && !(g1 = emit1(gr, n, "neg", val_node(G)))) return JS_ERR;
      if (acc(gr, n, &b[1], unbroadcast(gr, n, g1, &b[1]))) return JS_ERR;
    }
    return JS_OK;
  case MOP_MUL:
    for (int k = 0; k < 2; k++) {
      if (!wants(gr, &b[k])) continue;
      Value other;
      if (qval(gr, n, QS_DATA_IN, &b[1 - k], &other)) return JS_ERR;
      Node *p = emit2(gr, n, "mul", val_node(G), other);
      if (!p || acc(gr, n, &b[k], unbroadcast(gr, n, p, &b[k]))) return JS_ERR;
    }
    return JS_OK;
  case MOP_DIV:
    if (wants(gr, &b[0])) {
      Node *q = emit2(gr, n, "div", val_node(G), b[1]);
      if (!q || acc(gr, n, &b[0], unbroadcast(gr, n, q, &b[0]))) return JS_ERR;
    }
    if (wants(gr, &b[1])) { /* d(a/b)/db = -(a/b)/b */
      Node *p = emit2(gr, n, "mul", val_node(G), val_node(n));
      Node *q = p ? emit2(gr, n, "div", val_node(p), b[1]) : NULL;
      Node *r = q ? emit1(gr, n, "neg", val_node(q)) : NULL;
      if (!r || acc(gr, n, &b[1], unbroadcast(gr, n, r, &b[1]))) return JS_ERR;
    }
    return JS_OK;
  case MOP_MATMUL: {
    const TensorType *at = &b[0].u.node->type, *bt = &b[1].u.node->type;
    if (at->rank != 2 || bt->rank != 2)
      return diag_error(gr->d, n->loc, "grad: matmul's gradient needs 2-D operands, got %%%s @ %%%s", b[0].u.node->name,
                        b[1].u.node->name);
    /* y = a @ w: da = dy @ w^T = linear(dy, w); dw = a^T @ dy = outer_sum(a, dy) */
    Value qa, qb;
    if (qval(gr, n, QS_DATA_IN, &b[0], &qa) || qval(gr, n, QS_DATA_IN, &b[1], &qb)) return JS_ERR;
    if (wants(gr, &b[0]) && acc(gr, n, &b[0], emit2(gr, n, "linear", val_node(G), qb))) return JS_ERR;
    if (wants(gr, &b[1]) && acc(gr, n, &b[1], emit2(gr, n, "outer_sum", qa, val_node(G)))) return JS_ERR;
    return JS_OK;
  }
  default: {
    const EwDef *d = ir_ew_find(op, b);
    if (d) return ew_grad(gr, n, G, x, d, b);
    return no_grad(gr, n, oi->name);
  }
  }
}

/* Whether a node's result depends on a trainable parameter. */
static bool node_needs(Grad *gr, const Node *n) {
  if (n->op == OP_GET_ATTR) return n->param && n->param->kind == PK_PARAM;
  if (n->op == OP_CALL_MODULE && n->module)
    for (int i = 0; i < n->module->nparams; i++)
      if (n->module->params[i]->kind == PK_PARAM) return true;
  for (int i = 0; i < n->nargs; i++)
    if (wants(gr, &n->args[i])) return true;
  for (int i = 0; i < n->nkwargs; i++)
    if (wants(gr, &n->kwargs[i])) return true;
  return false;
}

Status pass_grad(Graph *g, const PassArgs *args, PassContext *ctx) {
  Diag *d = ctx->diag;
  Node *out = ir_graph_output(g);
  if (!out) return diag_error(d, g->loc, "grad: model '%s' has no output", g->name);
  for (Node *n = g->first; n; n = n->next)
    if (n->op == OP_PLACEHOLDER && strcmp(n->target, pass_arg_str(args, "target")) == 0)
      return diag_error(d, n->loc, "grad: the model already has an input named '%s' (is it a training graph already?); "
                        "choose another with grad{target=NAME}", n->target);
  if (out->nargs != 1 || out->args[0].kind != VAL_NODE)
    return diag_error(d, out->loc, "grad: the model must return one logits tensor [batch, classes] to train");
  Node *logits = out->args[0].u.node;
  const TensorType *lt = &logits->type;
  if (!logits->has_type) return diag_error(d, out->loc, "grad: the output has no type (run shape first)");
  if (lt->rank != 2 || lt->dtype != DT_F32) {
    StrBuf ts;
    sb_init(&ts);
    ir_type_print(&ts, lt);
    Status e = diag_error(d, out->loc, "grad: the model returns %%%s of type %s; cross-entropy needs f32 logits [batch, classes]",
                          logits->name, sb_str(&ts));
    sb_free(&ts);
    return e;
  }

  Status qst = ir_quant_explicit_inputs(g, d);
  if (qst) return qst;
  ir_graph_renumber(g);
  Grad gr = {.g = g, .d = d, .out = out, .nfwd = out->index};
  gr.gnode = ir_calloc((size_t)gr.nfwd + 1, sizeof(Node *));
  gr.needs = ir_calloc((size_t)gr.nfwd + 1, sizeof(bool));
  gr.pgrad = ir_calloc((size_t)g->nparams + 1, sizeof(Node *));
  Node **fwd = ir_calloc((size_t)gr.nfwd + 1, sizeof(Node *));
  Status st = JS_OK;
  if (!gr.gnode || !gr.needs || !gr.pgrad || !fwd) {
    st = diag_oom(d);
    goto done;
  }
  int k = 0;
  for (Node *n = g->first; n != out; n = n->next) fwd[k++] = n;
  for (int i = 0; i < gr.nfwd; i++) gr.needs[i] = node_needs(&gr, fwd[i]);

  /* the labels, after the last input */
  Node *first_other = g->first;
  while (first_other && first_other->op == OP_PLACEHOLDER) first_other = first_other->next;
  Node *target = ir_node_new(g, OP_PLACEHOLDER, pass_arg_str(args, "target"), NULL, first_other, out->loc);
  if (!target || ir_node_set_args(target, 0, NULL, 0, NULL, NULL)) {
    st = diag_oom(d);
    goto done;
  }
  target->type = (TensorType){.dtype = DT_I64, .rank = 1, .dims = {lt->dims[0]}};
  target->has_type = true;

  Node *loss = emit2(&gr, out, "cross_entropy", val_node(logits), val_node(target));
  Node *seed = loss ? emit2(&gr, out, "cross_entropy_backward", val_node(logits), val_node(target)) : NULL;
  if (!seed) {
    st = JS_ERR;
    goto done;
  }
  if (gr.needs[logits->index]) gr.gnode[logits->index] = seed;
  for (int i = gr.nfwd - 1; i >= 0 && !st; i--) {
    Node *n = fwd[i], *G = gr.gnode[i];
    if (!G || !gr.needs[i]) continue;
    if (n->op == OP_CALL_MODULE) st = backward_module(&gr, n, G);
    else if (n->op == OP_CALL_FUNCTION || n->op == OP_CALL_METHOD) st = backward_call(&gr, n, G);
    else if (n->op == OP_GET_ATTR) st = acc_param(&gr, n, n->param, G);
  }
  if (st) goto done;

  /* output: {'logits': ..., 'loss': ..., 'grads': {name: grad, ...}} */
  int ng = 0;
  for (int i = 0; i < g->nparams; i++) ng += gr.pgrad[i] != NULL;
  const char **gkeys = arena_alloc(g->arena, sizeof(char *) * (size_t)(ng + 1));
  Value *gvals = arena_alloc(g->arena, sizeof(Value) * (size_t)(ng + 1));
  const char **okeys = arena_alloc(g->arena, sizeof(char *) * 3);
  Value *ovals = arena_alloc(g->arena, sizeof(Value) * 3);
  if (!gkeys || !gvals || !okeys || !ovals) {
    st = diag_oom(d);
    goto done;
  }
  ng = 0;
  for (int i = 0; i < g->nparams; i++)
    if (gr.pgrad[i]) {
      gkeys[ng] = g->params[i]->qualname;
      gvals[ng++] = val_node(gr.pgrad[i]);
    }
  okeys[0] = "logits", okeys[1] = "loss", okeys[2] = "grads";
  ovals[0] = val_node(logits);
  ovals[1] = val_node(loss);
  ovals[2] = (Value){.kind = VAL_DICT, .u.dict = {ng, gkeys, gvals}};
  Value res = {.kind = VAL_DICT, .u.dict = {3, okeys, ovals}};
  if (ir_node_set_args(out, 1, &res, 0, NULL, NULL)) st = diag_oom(d);
  out->has_type = false;
  ir_graph_renumber(g);
done:
  ir_free(gr.gnode);
  ir_free(gr.needs);
  ir_free(gr.pgrad);
  ir_free(fwd);
  return st;
}
