/* shape.c — the `shape` pass: every node's dtype and shape, from ir_infer_type.
 *
 * Placeholders keep their declared type; every other type is recomputed.  Errors do not stop
 * the pass: each independent error is reported, and a node whose inputs have no type (because
 * they failed) is skipped silently, so one mistake gives one message, not a cascade.  An
 * output that returns several values has no single type and is left untyped. */
#include "passes.h"

/* Whether every node a value mentions has a type. */
static bool inputs_typed(const Value *v) {
  switch (v->kind) {
  case VAL_NODE: return v->u.node->has_type;
  case VAL_TUPLE:
  case VAL_LIST:
    for (int i = 0; i < v->u.seq.n; i++)
      if (!inputs_typed(&v->u.seq.items[i])) return false;
    return true;
  case VAL_DICT:
    for (int i = 0; i < v->u.dict.n; i++)
      if (!inputs_typed(&v->u.dict.vals[i])) return false;
    return true;
  default: return true;
  }
}

Status pass_shape(Graph *g, const PassArgs *args, PassContext *ctx) {
  for (Node *n = g->first; n; n = n->next)
    if (n->op != OP_PLACEHOLDER) n->has_type = false;
  int errors = 0;
  for (Node *n = g->first; n; n = n->next) {
    bool ok = true;
    for (int i = 0; i < n->nargs && ok; i++) ok = inputs_typed(&n->args[i]);
    for (int i = 0; i < n->nkwargs && ok; i++) ok = inputs_typed(&n->kwargs[i]);
    if (!ok) continue; /* an input failed: already reported */
    if (n->op == OP_OUTPUT && (n->nargs != 1 || n->args[0].kind != VAL_NODE)) continue;
    if (n->op == OP_PLACEHOLDER && n->has_type) continue;
    TensorType t;
    Status st = ir_infer_type(n, &t, ctx->diag);
    if (st == JS_ENOMEM) return st;
    if (st) {
      errors++;
      if (diag_too_many(ctx->diag)) break;
      continue;
    }
    n->type = t;
    n->has_type = true;
  }
  return errors ? JS_ERR : JS_OK;
}
