/* dce.c — the `dce` pass: dead code elimination, torch.fx's eliminate_dead_code.
 *
 * A node is dead when nothing uses its result and it is neither a placeholder (an input of
 * the model's signature) nor the output.  Walking the graph backwards removes whole dead
 * chains in one sweep, since a node's users come after it; the sweep repeats until nothing
 * changes.  Modules and parameters stay in their tables even when no node calls them any
 * more: PyTorch keeps them in the state_dict too (the `params` pass lists them apart).
 * Metadata may mention a node without using it (spec/ir.md 1.5); a mention of a removed node
 * becomes None, so that the graph still verifies. */
#include "passes.h"

/* Replaces every mention of a node no longer in g, at any depth of v, by None. */
static void forget_removed(Value *v, const Graph *g) {
  switch (v->kind) {
  case VAL_NODE:
    if (ir_graph_find_node(g, v->u.node->name) != v->u.node) *v = val_none();
    break;
  case VAL_TUPLE:
  case VAL_LIST:
    for (int i = 0; i < v->u.seq.n; i++) forget_removed(&v->u.seq.items[i], g);
    break;
  case VAL_DICT:
    for (int i = 0; i < v->u.dict.n; i++) forget_removed(&v->u.dict.vals[i], g);
    break;
  default: break;
  }
}

static bool removable(const Node *n) {
  return n->op != OP_PLACEHOLDER && n->op != OP_OUTPUT && n->nusers == 0;
}

Status pass_dce(Graph *g, const PassArgs *args, PassContext *ctx) {
  bool verbose = pass_arg_bool(args, "verbose");
  StrBuf names;
  sb_init(&names);
  int removed = 0;
  for (bool changed = true; changed;) {
    changed = false;
    for (Node *n = g->last, *prev; n; n = prev) {
      prev = n->prev;
      if (!removable(n)) continue;
      if (verbose) sb_printf(&names, "%s%s", removed ? ", " : "", n->name);
      Status st = ir_node_erase(n);
      if (st) { /* refused: a node with users is never erased */
        sb_free(&names);
        return diag_error(ctx->diag, n->loc, "dce: cannot erase '%s'", n->name);
      }
      removed++;
      changed = true;
    }
  }
  if (removed)
    for (Node *n = g->first; n; n = n->next) forget_removed(&n->meta, g);
  ir_graph_renumber(g);
  if (verbose && ctx->report) {
    sb_printf(ctx->report, "dce: removed %d node%s from '%s'%s%s\n", removed, removed == 1 ? "" : "s", g->name,
              removed ? ": " : "", sb_str(&names));
  }
  Status st = names.oom ? diag_oom(ctx->diag) : JS_OK;
  sb_free(&names);
  return st;
}
