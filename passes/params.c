/* params.c — the `params` pass: a table of parameters and buffers, for people (not IR).
 *
 * Three parts, each in graph or declaration order so the output is deterministic:
 *   1. per node: every parameter and buffer a call_module node's module owns (a call of a
 *      Sequential covers its children) and the one a get_attr node reads;
 *   2. per module: the elements each module owns itself (not its children);
 *   3. parameters no node reaches (modules never called), listed apart: they still count,
 *      as they would in a PyTorch state_dict;
 * then the totals over the whole state_dict:
 *   Total trainable parameters: 117
 *   Total buffer elements: 33
 *   Total state_dict tensors: 7 (4 parameters, 3 buffers) */
#include <string.h>

#include "passes.h"

/* A text table: the first row is the header; columns are padded to their widest cell,
 * numeric columns right-aligned. */
typedef struct Table {
  Arena *a;            /* owns the cells */
  int ncols;           /* cells per row */
  const char **cells;  /* row-major */
  int nrows;
  int cap;             /* rows allocated */
  unsigned right;      /* bit i: column i is right-aligned */
  bool oom;            /* an allocation failed */
} Table;

static void table_row(Table *t, const char *const *cells) {
  if (t->oom) return;
  if (t->nrows == t->cap) {
    int cap = t->cap ? t->cap * 2 : 16;
    const char **c = arena_alloc(t->a, sizeof(char *) * (size_t)(cap * t->ncols));
    if (!c) {
      t->oom = true;
      return;
    }
    if (t->nrows) memcpy(c, t->cells, sizeof(char *) * (size_t)(t->nrows * t->ncols));
    t->cells = c;
    t->cap = cap;
  }
  for (int i = 0; i < t->ncols; i++) {
    const char *s = arena_strdup(t->a, cells[i]);
    if (!s) {
      t->oom = true;
      return;
    }
    t->cells[t->nrows * t->ncols + i] = s;
  }
  t->nrows++;
}

static void table_print(StrBuf *sb, const Table *t) {
  size_t w[8] = {0};
  for (int r = 0; r < t->nrows; r++)
    for (int c = 0; c < t->ncols; c++) {
      size_t n = strlen(t->cells[r * t->ncols + c]);
      if (n > w[c]) w[c] = n;
    }
  for (int r = 0; r < t->nrows; r++) {
    sb_puts(sb, "  ");
    for (int c = 0; c < t->ncols; c++) {
      const char *s = t->cells[r * t->ncols + c];
      size_t n = strlen(s);
      bool right = (t->right >> c) & 1;
      if (right) sb_pad(sb, w[c], n);
      sb_puts(sb, s);
      if (!right && c + 1 < t->ncols) sb_pad(sb, w[c], n);
      if (c + 1 < t->ncols) sb_puts(sb, "  ");
    }
    sb_putc(sb, '\n');
  }
}

/* "[5, 16]", "[]" */
static void shape_text(char *buf, size_t cap, const TensorType *t) {
  size_t u = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < t->rank && u < cap; i++)
    u += (size_t)snprintf(buf + u, cap - u, "%s%lld", i ? ", " : "", (long long)t->dims[i].size);
  if (u < cap) snprintf(buf + u, cap - u, "]");
}

static const char *class_of(const Module *m) {
  const ModuleInfo *mi = ir_module_info(m->type);
  return mi ? mi->cls : "(model)";
}

static void param_row(Table *t, const char *node, const char *target, const Param *p) {
  char shape[160], count[32];
  shape_text(shape, sizeof shape, &p->type);
  snprintf(count, sizeof count, "%lld", (long long)ir_type_numel(&p->type));
  const char *row[] = {node, target, class_of(p->owner), p->qualname, p->kind == PK_PARAM ? "param" : "buffer",
                       shape, count};
  table_row(t, row);
}

/* Rows for every parameter of m and its children; marks them used. */
static void module_rows(Table *t, StrMap *used, const Node *n, const Module *m, bool *oom) {
  for (int i = 0; i < m->nparams; i++) {
    param_row(t, n->name, n->target, m->params[i]);
    if (strmap_put(used, m->params[i]->qualname, (void *)m->params[i])) *oom = true;
  }
  for (int i = 0; i < m->nchildren; i++) module_rows(t, used, n, m->children[i], oom);
}

Status pass_params(Graph *g, const PassArgs *args, PassContext *ctx) {
  Arena *a = arena_new();
  if (!a) return diag_oom(ctx->diag);
  StrMap used;
  strmap_init(&used);
  StrBuf sb;
  sb_init(&sb);
  bool oom = false;

  Table nodes = {.a = a, .ncols = 7, .right = 1u << 6};
  static const char *const nodes_head[] = {"node", "target", "class", "parameter", "kind", "shape", "count"};
  table_row(&nodes, nodes_head);
  for (const Node *n = g->first; n; n = n->next) {
    if (n->op == OP_CALL_MODULE && n->module) module_rows(&nodes, &used, n, n->module, &oom);
    if (n->op == OP_GET_ATTR && n->param) {
      param_row(&nodes, n->name, n->target, n->param);
      if (strmap_put(&used, n->param->qualname, (void *)n->param)) oom = true;
    }
  }

  Table mods = {.a = a, .ncols = 4, .right = (1u << 2) | (1u << 3)};
  static const char *const mods_head[] = {"module", "class", "params", "buffers"};
  table_row(&mods, mods_head);
  for (int i = 0; i < g->nmodules; i++) {
    const Module *m = g->modules[i];
    int64_t np = 0, nb = 0;
    for (int j = 0; j < m->nparams; j++)
      *(m->params[j]->kind == PK_PARAM ? &np : &nb) += ir_type_numel(&m->params[j]->type);
    char sp[32], sbuf[32];
    snprintf(sp, sizeof sp, "%lld", (long long)np);
    snprintf(sbuf, sizeof sbuf, "%lld", (long long)nb);
    const char *row[] = {m->path, class_of(m), sp, sbuf};
    table_row(&mods, row);
  }

  Table unused = {.a = a, .ncols = 7, .right = 1u << 6};
  table_row(&unused, nodes_head);
  int64_t tp = 0, tb = 0;
  int np = 0, nb = 0;
  for (int i = 0; i < g->nparams; i++) {
    const Param *p = g->params[i];
    int64_t c = ir_type_numel(&p->type);
    if (p->kind == PK_PARAM) {
      tp += c;
      np++;
    } else {
      tb += c;
      nb++;
    }
    if (!strmap_get(&used, p->qualname)) param_row(&unused, "-", p->owner->path[0] ? p->owner->path : "-", p);
  }

  sb_printf(&sb, "Parameters of '%s' by node:\n", g->name);
  if (nodes.nrows > 1)
    table_print(&sb, &nodes);
  else
    sb_puts(&sb, "  (none)\n");
  sb_puts(&sb, "Parameters by module (own, not children's):\n");
  if (mods.nrows > 1)
    table_print(&sb, &mods);
  else
    sb_puts(&sb, "  (none)\n");
  sb_puts(&sb, "Parameters no node uses (counted below, as in a PyTorch state_dict):\n");
  if (unused.nrows > 1)
    table_print(&sb, &unused);
  else
    sb_puts(&sb, "  (none)\n");
  sb_printf(&sb, "Total trainable parameters: %lld\n", (long long)tp);
  sb_printf(&sb, "Total buffer elements: %lld\n", (long long)tb);
  sb_printf(&sb, "Total state_dict tensors: %d (%d parameters, %d buffers)\n", np + nb, np, nb);

  Status st = JS_OK;
  if (oom || nodes.oom || mods.oom || unused.oom || sb.oom) {
    st = diag_oom(ctx->diag);
  } else {
    st = pass_emit_report("params", &sb, args, ctx);
  }
  sb_free(&sb);
  strmap_free(&used);
  arena_free(a);
  return st;
}
