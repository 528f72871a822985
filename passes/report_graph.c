/* report_graph.c — the `report-graph` pass: MASE's report_graph_analysis_pass.
 *
 * It prints, for people (not IR text):
 *   Graph Analysis Report
 *   graph():                                  <- torch.fx's print(graph), our own formatter
 *       %x : [num_users=1] = placeholder[target=x]
 *       ...
 *       return seq_blocks_3
 *   Network overview:
 *   {'placeholder': 1, 'get_attr': 0, 'call_function': 0, 'call_method': 0, 'call_module': 4, 'output': 1}
 *   Layer types:
 *   [BatchNorm1d(16, eps=1e-05, ...), ReLU(), Linear(in_features=16, out_features=5, bias=True), ReLU()]
 * This is MASE's 2023 layout with the layer types filled in as MASE has since Nov 2023, and a
 * newline after the graph, which MASE's 2023 output lacked ("return seq_blocks_3Network
 * overview:").  MASE's newer Graph Summary table is jscc's separate print_table view.
 * call_function targets print as jscc op names (fx prints Python qualnames, which jscc has no
 * notion of). */
#include "passes.h"

/* torch.fx's _format_arg: nodes as %name, strings bare, tuples with the 1-tuple comma. */
static void fx_arg(StrBuf *sb, const Value *v) {
  switch (v->kind) {
  case VAL_NODE: sb_printf(sb, "%%%s", v->u.node->name); break;
  case VAL_STR: sb_puts(sb, v->u.s); break;
  case VAL_TUPLE:
  case VAL_LIST: {
    bool tuple = v->kind == VAL_TUPLE;
    sb_putc(sb, tuple ? '(' : '[');
    for (int i = 0; i < v->u.seq.n; i++) {
      if (i) sb_puts(sb, ", ");
      fx_arg(sb, &v->u.seq.items[i]);
    }
    if (tuple && v->u.seq.n == 1) sb_putc(sb, ',');
    sb_putc(sb, tuple ? ')' : ']');
    break;
  }
  case VAL_DICT:
    sb_putc(sb, '{');
    for (int i = 0; i < v->u.dict.n; i++) {
      sb_printf(sb, "%s%s: ", i ? ", " : "", v->u.dict.keys[i]);
      fx_arg(sb, &v->u.dict.vals[i]);
    }
    sb_putc(sb, '}');
    break;
  default: val_print_py(sb, v);
  }
}

/* fx's Node.format_node. */
static void fx_node(StrBuf *sb, const Node *n) {
  if (n->op == OP_OUTPUT) {
    /* f'return {self.args[0]}': Python's str() of the value, nodes by name */
    sb_puts(sb, "return ");
    if (n->nargs)
      val_print_py(sb, &n->args[0]);
    else
      sb_puts(sb, "None");
    return;
  }
  sb_printf(sb, "%%%s : [num_users=%d] = %s[target=%s]", n->name, n->nusers, ir_node_kind_name(n->op), n->target);
  if (n->op == OP_PLACEHOLDER) {
    if (n->nargs) {
      sb_puts(sb, "(default=");
      val_print_py(sb, &n->args[0]);
      sb_putc(sb, ')');
    }
    return;
  }
  if (n->op == OP_GET_ATTR) return;
  Value args = {.kind = VAL_TUPLE, .u.seq = {n->nargs, n->args}};
  Value kwargs = {.kind = VAL_DICT, .u.dict = {n->nkwargs, n->kwnames, n->kwargs}};
  sb_puts(sb, "(args = ");
  fx_arg(sb, &args);
  sb_puts(sb, ", kwargs = ");
  fx_arg(sb, &kwargs);
  sb_putc(sb, ')');
}

void pass_fx_graph_text(StrBuf *sb, const Graph *g) {
  sb_puts(sb, "graph():");
  for (const Node *n = g->first; n; n = n->next) {
    sb_puts(sb, "\n    ");
    fx_node(sb, n);
  }
}

Status pass_report_graph(Graph *g, const PassArgs *args, PassContext *ctx) {
  StrBuf sb;
  sb_init(&sb);
  sb_puts(&sb, "Graph Analysis Report\n");
  pass_fx_graph_text(&sb, g);
  int count[OP_KIND_COUNT] = {0};
  for (const Node *n = g->first; n; n = n->next) count[n->op]++;
  sb_puts(&sb, "\nNetwork overview:\n{");
  for (int k = 0; k < OP_KIND_COUNT; k++)
    sb_printf(&sb, "%s'%s': %d", k ? ", " : "", ir_node_kind_name((NodeKind)k), count[k]);
  sb_puts(&sb, "}\nLayer types:\n[");
  bool first = true;
  for (const Node *n = g->first; n; n = n->next) {
    if (n->op != OP_CALL_MODULE || !n->module) continue;
    if (!first) sb_puts(&sb, ", ");
    ir_module_repr(&sb, n->module);
    first = false;
  }
  sb_puts(&sb, "]\n");
  Status st = JS_OK;
  if (sb.oom) {
    st = diag_oom(ctx->diag);
  } else {
    st = pass_emit_report("report-graph", &sb, args, ctx);
  }
  sb_free(&sb);
  return st;
}
