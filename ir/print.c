/* print.c — views of a graph.
 *
 * The text form (spec/ir.md) is the one every stage dumps and ir_parse reads back: printing,
 * parsing and printing again gives the same bytes.  The table (fx's print_tabular), graphviz
 * and JSON views are for people and tools; each says so in its first line and none is parsed.
 * Every view is deterministic: it depends only on the graph, never on addresses or time. */
#include <math.h>
#include <string.h>

#include "ir.h"

/* ---- the text form ---- */

static bool is_path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

/* A module path, parameter name, target or model name: bare when made of [A-Za-z0-9_.],
 * otherwise quoted, so any string survives the round trip. */
static void put_path(StrBuf *sb, const char *s) {
  bool bare = *s != 0;
  for (const char *c = s; *c && bare; c++) bare = is_path_char(*c);
  if (bare)
    sb_puts(sb, s);
  else
    sb_put_quoted(sb, s);
}

/* " loc("file.jsc":7:9)" for a location in an original source; nothing for a location in
 * the IR text the graph was parsed from, or for none. */
static void put_loc(StrBuf *sb, const Graph *g, SrcLoc loc) {
  if (!loc.file || loc.file == g->ir_src || !loc.file->path) return;
  sb_puts(sb, " loc(");
  sb_put_quoted(sb, loc.file->path);
  sb_putc(sb, ':');
  sb_put_int(sb, loc.line < 0 ? 0 : loc.line);
  sb_putc(sb, ':');
  sb_put_int(sb, loc.col < 0 ? 0 : loc.col);
  sb_putc(sb, ')');
}

static bool loc_equal(SrcLoc a, SrcLoc b) {
  return a.file == b.file && a.line == b.line && a.col == b.col;
}

void ir_print_node(StrBuf *sb, const Node *n) {
  sb_putc(sb, '%');
  sb_puts(sb, n->name);
  sb_puts(sb, " : ");
  if (n->has_type)
    ir_type_print(sb, &n->type);
  else
    sb_putc(sb, '?');
  sb_puts(sb, " [num_users=");
  sb_put_int(sb, n->nusers);
  sb_puts(sb, "] = ");
  sb_puts(sb, ir_node_kind_name(n->op));
  sb_puts(sb, "[target=");
  put_path(sb, n->target);
  sb_putc(sb, ']');
  if (n->nargs > 0 || n->nkwargs > 0) {
    Value args = {.kind = VAL_TUPLE, .u.seq = {n->nargs, n->args}};
    sb_puts(sb, "(args = ");
    val_print(sb, &args);
    if (n->nkwargs > 0) {
      Value kw = {.kind = VAL_DICT, .u.dict = {n->nkwargs, n->kwnames, n->kwargs}};
      sb_puts(sb, ", kwargs = ");
      val_print(sb, &kw);
    }
    sb_putc(sb, ')');
  }
  if (n->quant.kind == VAL_DICT) {
    /* quant linear_integer{name="integer", data_in_width=8, ...} */
    const Value *name = NULL;
    for (int i = 0; i < n->quant.u.dict.n; i++)
      if (strcmp(n->quant.u.dict.keys[i], "name") == 0) name = &n->quant.u.dict.vals[i];
    const OpInfo *oi = ir_op_info(n->mop);
    sb_puts(sb, " quant ");
    sb_puts(sb, oi ? oi->name : "?");
    sb_putc(sb, '_');
    sb_puts(sb, name && name->kind == VAL_STR ? name->u.s : "?");
    val_print(sb, &n->quant);
  }
  put_loc(sb, n->graph, n->loc);
  if (n->meta.kind != VAL_NONE) {
    sb_puts(sb, " !");
    val_print(sb, &n->meta);
  }
}

/* param NAME : TYPE = INIT[(a, b)] [loc] */
static void print_param(StrBuf *sb, const Graph *g, const Param *p, int indent) {
  sb_pad(sb, (size_t)indent, 0);
  sb_puts(sb, p->kind == PK_BUFFER ? "buffer " : "param ");
  put_path(sb, p->qualname);
  sb_puts(sb, " : ");
  ir_type_print(sb, &p->type);
  sb_puts(sb, " = ");
  sb_puts(sb, ir_init_name(p->init.kind));
  int na = ir_init_nargs(p->init.kind);
  if (na > 0) {
    sb_putc(sb, '(');
    for (int i = 0; i < na && i < 2; i++) {
      if (i) sb_puts(sb, ", ");
      sb_put_float(sb, p->init.args[i]);
    }
    sb_putc(sb, ')');
  }
  /* A parameter made by its module's constructor shares the module's location. */
  if (p->owner == g->root || !loc_equal(p->loc, p->owner->loc)) put_loc(sb, g, p->loc);
  sb_putc(sb, '\n');
}

/* module PATH : CLASS[(args)] [loc]; the arguments are the bound constructor arguments, by
 * name (those before a varargs parameter and its items positionally). */
static void print_module(StrBuf *sb, const Graph *g, const Module *m) {
  const ModuleInfo *mi = ir_module_info(m->type);
  sb_puts(sb, "  module ");
  put_path(sb, m->path);
  sb_printf(sb, " : %s", mi ? mi->cls : "?");
  if (m->args) {
    int varg = -1;
    for (int i = 0; mi && i < mi->sig.n; i++)
      if (mi->sig.params[i].varargs) varg = i;
    sb_putc(sb, '(');
    bool first = true;
    for (int i = 0; mi && i < m->nargs && i < mi->sig.n; i++) {
      const Value *v = &m->args[i];
      if (i == varg && v->kind == VAL_TUPLE) {
        for (int j = 0; j < v->u.seq.n; j++) {
          if (!first) sb_puts(sb, ", ");
          first = false;
          val_print(sb, &v->u.seq.items[j]);
        }
        continue;
      }
      if (!first) sb_puts(sb, ", ");
      first = false;
      if (i > varg) sb_printf(sb, "%s=", mi->sig.params[i].name);
      val_print(sb, v);
    }
    sb_putc(sb, ')');
  }
  put_loc(sb, g, m->loc);
  sb_putc(sb, '\n');
  for (int i = 0; i < m->nparams; i++) print_param(sb, g, m->params[i], 4);
}

static void print_model(StrBuf *sb, const Graph *g) {
  sb_puts(sb, "model ");
  put_path(sb, g->name);
  put_loc(sb, g, g->loc);
  sb_puts(sb, " {\n");
  /* The model's own parameters come first, as in PyTorch's state_dict. */
  for (int i = 0; i < g->root->nparams; i++) print_param(sb, g, g->root->params[i], 2);
  for (int i = 0; i < g->nmodules; i++) print_module(sb, g, g->modules[i]);
  sb_puts(sb, "  graph {\n");
  for (const Node *n = g->first; n; n = n->next) {
    sb_puts(sb, "    ");
    ir_print_node(sb, n);
    sb_putc(sb, '\n');
  }
  sb_puts(sb, "  }\n}\n");
}

void ir_print_graph(StrBuf *sb, const Graph *g) {
  sb_puts(sb, "# jscc IR\n");
  print_model(sb, g);
}

void ir_print_program(StrBuf *sb, const Program *p) {
  sb_puts(sb, "# jscc IR\n");
  for (int i = 0; i < p->ngraphs; i++) {
    if (i) sb_putc(sb, '\n');
    print_model(sb, p->graphs[i]);
  }
}

/* ---- fx's print_tabular: tabulate's "simple" format ----
 * Like tabulate: a column is as wide as its widest cell and at least its header plus 2
 * (MIN_PADDING), columns are separated by two spaces, cells are left-aligned and each line
 * has its trailing blanks stripped. */

/* Ends a table line: trailing blanks removed. */
static void end_line(StrBuf *sb, size_t start) {
  while (sb->len > start && sb->data[sb->len - 1] == ' ') sb->data[--sb->len] = 0;
  sb_putc(sb, '\n');
}

void ir_print_table(StrBuf *sb, const Graph *g) {
  enum { NCOL = 5 };
  static const char *const heads[NCOL] = {"opcode", "name", "target", "args", "kwargs"};
  int rows = 0;
  for (const Node *n = g->first; n; n = n->next) rows++;
  StrBuf *cells = ir_calloc((size_t)rows * NCOL + 1, sizeof *cells);
  if (!cells) {
    sb->oom = true;
    return;
  }
  size_t width[NCOL];
  for (int c = 0; c < NCOL; c++) width[c] = strlen(heads[c]) + 2;
  int r = 0;
  for (const Node *n = g->first; n; n = n->next, r++) {
    StrBuf *row = &cells[r * NCOL];
    sb_puts(&row[0], ir_node_kind_name(n->op));
    sb_puts(&row[1], n->name);
    sb_puts(&row[2], n->target);
    Value args = {.kind = VAL_TUPLE, .u.seq = {n->nargs, n->args}};
    val_print_py(&row[3], &args);
    Value kw = {.kind = VAL_DICT, .u.dict = {n->nkwargs, n->kwnames, n->kwargs}};
    val_print_py(&row[4], &kw);
    for (int c = 0; c < NCOL; c++)
      if (row[c].len > width[c]) width[c] = row[c].len;
  }
  sb_printf(sb, "# graph %s: fx print_tabular view (for people; not parsed back)\n", g->name);
  size_t start = sb->len;
  for (int c = 0; c < NCOL; c++) {
    if (c) sb_puts(sb, "  ");
    sb_puts(sb, heads[c]);
    sb_pad(sb, width[c], strlen(heads[c]));
  }
  if (!sb->oom) end_line(sb, start);
  for (int c = 0; c < NCOL; c++) {
    if (c) sb_puts(sb, "  ");
    for (size_t i = 0; i < width[c]; i++) sb_putc(sb, '-');
  }
  sb_putc(sb, '\n');
  for (r = 0; r < rows; r++) {
    start = sb->len;
    for (int c = 0; c < NCOL; c++) {
      StrBuf *cell = &cells[r * NCOL + c];
      if (c) sb_puts(sb, "  ");
      sb_puts(sb, sb_str(cell));
      sb_pad(sb, width[c], cell->len);
      if (cell->oom) sb->oom = true;
      sb_free(cell);
    }
    if (!sb->oom) end_line(sb, start);
  }
  ir_free(cells);
}

/* ---- graphviz ---- */

/* A DOT double-quoted string; "\n" inside a label is written as a DOT line break. */
static void dot_quoted(StrBuf *sb, const char *s) {
  sb_putc(sb, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      sb_printf(sb, "\\%c", *p);
    else if (*p == '\n')
      sb_puts(sb, "\\n");
    else if (*p < 0x20 || *p == 0x7f)
      sb_putc(sb, ' ');
    else
      sb_putc(sb, (char)*p);
  }
  sb_putc(sb, '"');
}

/* Edges from every node a value mentions; depth-capped like every walk over values.  Node
 * ids are the (unique) node names, quoted. */
static void dot_edges(StrBuf *sb, const Value *v, const Node *to, int depth) {
  if (depth > 64) return;
  switch (v->kind) {
  case VAL_NODE:
    sb_puts(sb, "  ");
    dot_quoted(sb, v->u.node->name);
    sb_puts(sb, " -> ");
    dot_quoted(sb, to->name);
    sb_puts(sb, ";\n");
    break;
  case VAL_TUPLE:
  case VAL_LIST:
    for (int i = 0; i < v->u.seq.n; i++) dot_edges(sb, &v->u.seq.items[i], to, depth + 1);
    break;
  case VAL_DICT:
    for (int i = 0; i < v->u.dict.n; i++) dot_edges(sb, &v->u.dict.vals[i], to, depth + 1);
    break;
  default: break;
  }
}

/* A shape as people write it, "[B, 16]"; the dtype only when it is not f32; "?" unknown. */
static void dot_shape(StrBuf *sb, const Node *n) {
  if (!n->has_type) {
    sb_putc(sb, '?');
    return;
  }
  if (n->type.dtype != DT_F32) sb_puts(sb, ir_dtype_name(n->type.dtype));
  sb_putc(sb, '[');
  for (int i = 0; i < n->type.rank; i++) {
    if (i) sb_puts(sb, ", ");
    if (n->type.dims[i].sym)
      sb_puts(sb, n->type.dims[i].sym);
    else
      sb_put_int(sb, n->type.dims[i].size);
  }
  sb_putc(sb, ']');
}

/* A module as the user wrote its constructor: required arguments positional, the others by
 * keyword when they differ from their default, "Linear(16, 5)", "ReLU(inplace=True)". */
static void dot_module(StrBuf *sb, const Module *m) {
  const ModuleInfo *mi = ir_module_info(m->type);
  sb_printf(sb, "%s(", mi ? mi->cls : "?");
  bool first = true;
  for (int i = 0; mi && i < mi->sig.n && i < m->nargs; i++) {
    const SigParam *sp = &mi->sig.params[i];
    if (sp->varargs || (sp->has_default && val_equal(&m->args[i], &sp->def))) continue;
    if (!first) sb_puts(sb, ", ");
    if (sp->has_default) sb_printf(sb, "%s=", sp->name);
    val_print_py(sb, &m->args[i]);
    first = false;
  }
  sb_putc(sb, ')');
}

/* The tensor arguments' shapes, "[B, 16], [B, 16]", the first 4 of them. */
static void dot_arg_shapes(StrBuf *sb, const Node *n) {
  int k = 0;
  for (int i = 0; i < n->nargs + n->nkwargs; i++) {
    const Value *v = i < n->nargs ? &n->args[i] : &n->kwargs[i - n->nargs];
    if (v->kind != VAL_NODE) continue;
    if (k == 4) {
      sb_puts(sb, ", ...");
      break;
    }
    if (k++) sb_puts(sb, ", ");
    dot_shape(sb, v->u.node);
  }
}

/* "seq_blocks.2: Linear(16, 5)\n[B, 16] → [B, 5]": what the node computes, then the shapes
 * in and out (a placeholder's or get_attr's: its own). */
static void dot_label(StrBuf *sb, const Node *n) {
  switch (n->op) {
  case OP_CALL_MODULE:
    sb_printf(sb, "%s: ", n->target);
    if (n->module)
      dot_module(sb, n->module);
    else
      sb_putc(sb, '?');
    break;
  case OP_CALL_FUNCTION: sb_printf(sb, "%s: %s()", n->name, n->target); break;
  case OP_CALL_METHOD: sb_printf(sb, "%s: .%s()", n->name, n->target); break;
  case OP_PLACEHOLDER: sb_printf(sb, "input %s", n->target); break;
  case OP_GET_ATTR: sb_printf(sb, "%s: get_attr", n->target); break;
  default: sb_puts(sb, n->name); break;
  }
  sb_putc(sb, '\n');
  if (n->op == OP_PLACEHOLDER || n->op == OP_GET_ATTR) {
    dot_shape(sb, n);
    return;
  }
  dot_arg_shapes(sb, n);
  if (n->op == OP_OUTPUT) return;
  sb_puts(sb, " \xe2\x86\x92 "); /* U+2192, the arrow */
  dot_shape(sb, n);
}

void ir_print_dot(StrBuf *sb, const Graph *g) {
  sb_puts(sb, "// jscc IR graph view (graphviz; for people, not parsed back)\n");
  sb_puts(sb, "digraph ");
  dot_quoted(sb, g->name);
  sb_puts(sb, " {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\"];\n");
  StrBuf label;
  sb_init(&label);
  for (const Node *n = g->first; n; n = n->next) {
    sb_clear(&label);
    dot_label(&label, n);
    if (label.oom) sb->oom = true;
    sb_puts(sb, "  ");
    dot_quoted(sb, n->name);
    sb_puts(sb, " [label=");
    dot_quoted(sb, sb_str(&label));
    if (n->op == OP_PLACEHOLDER || n->op == OP_OUTPUT) sb_puts(sb, ", shape=ellipse");
    if (n->op == OP_GET_ATTR) sb_puts(sb, ", shape=note");
    sb_puts(sb, "];\n");
  }
  sb_free(&label);
  for (const Node *n = g->first; n; n = n->next) {
    for (int k = 0; k < n->nargs; k++) dot_edges(sb, &n->args[k], n, 0);
    for (int k = 0; k < n->nkwargs; k++) dot_edges(sb, &n->kwargs[k], n, 0);
  }
  sb_puts(sb, "}\n");
}

/* ---- JSON ---- */

static void json_type(StrBuf *sb, const TensorType *t) {
  sb_puts(sb, "{\"dtype\": ");
  sb_put_json_str(sb, ir_dtype_name(t->dtype));
  sb_puts(sb, ", \"shape\": [");
  for (int i = 0; i < t->rank; i++) {
    if (i) sb_puts(sb, ", ");
    if (t->dims[i].sym)
      sb_put_json_str(sb, t->dims[i].sym);
    else
      sb_printf(sb, "%lld", (long long)t->dims[i].size);
  }
  sb_puts(sb, "]}");
}

/* JSON has no nan or inf: they are written as strings. */
static void json_float(StrBuf *sb, double f) {
  if (isnan(f) || isinf(f)) {
    sb_putc(sb, '"');
    sb_put_float(sb, f);
    sb_putc(sb, '"');
  } else {
    sb_put_float(sb, f);
  }
}

/* Values: None null, numbers, strings, {"node": name}, tuples and lists as arrays, dicts as
 * objects, types as {"dtype", "shape"}. */
static void json_val(StrBuf *sb, const Value *v, int depth) {
  if (depth > 64) {
    sb_puts(sb, "null");
    return;
  }
  switch (v->kind) {
  case VAL_NONE: sb_puts(sb, "null"); break;
  case VAL_BOOL: sb_puts(sb, v->u.b ? "true" : "false"); break;
  case VAL_INT: sb_printf(sb, "%lld", (long long)v->u.i); break;
  case VAL_FLOAT: json_float(sb, v->u.f); break;
  case VAL_STR: sb_put_json_str(sb, v->u.s); break;
  case VAL_NODE:
    sb_puts(sb, "{\"node\": ");
    sb_put_json_str(sb, v->u.node->name);
    sb_putc(sb, '}');
    break;
  case VAL_TYPE: json_type(sb, v->u.type); break;
  case VAL_TUPLE:
  case VAL_LIST:
    sb_putc(sb, '[');
    for (int i = 0; i < v->u.seq.n; i++) {
      if (i) sb_puts(sb, ", ");
      json_val(sb, &v->u.seq.items[i], depth + 1);
    }
    sb_putc(sb, ']');
    break;
  case VAL_DICT:
    sb_putc(sb, '{');
    for (int i = 0; i < v->u.dict.n; i++) {
      if (i) sb_puts(sb, ", ");
      sb_put_json_str(sb, v->u.dict.keys[i]);
      sb_puts(sb, ": ");
      json_val(sb, &v->u.dict.vals[i], depth + 1);
    }
    sb_putc(sb, '}');
    break;
  }
}

static void json_loc(StrBuf *sb, const Graph *g, SrcLoc loc) {
  if (!loc.file || loc.file == g->ir_src || !loc.file->path) {
    sb_puts(sb, "null");
    return;
  }
  sb_puts(sb, "{\"file\": ");
  sb_put_json_str(sb, loc.file->path);
  sb_printf(sb, ", \"line\": %d, \"col\": %d}", loc.line, loc.col);
}

void ir_print_json(StrBuf *sb, const Graph *g) {
  sb_puts(sb, "{\n  \"comment\": \"jscc IR graph view (JSON; for tools, not parsed back)\",\n  \"model\": ");
  sb_put_json_str(sb, g->name);
  sb_puts(sb, ",\n  \"modules\": [");
  for (int i = 0; i < g->nmodules; i++) {
    const Module *m = g->modules[i];
    const ModuleInfo *mi = ir_module_info(m->type);
    sb_puts(sb, i ? ",\n    " : "\n    ");
    sb_puts(sb, "{\"path\": ");
    sb_put_json_str(sb, m->path);
    sb_puts(sb, ", \"class\": ");
    sb_put_json_str(sb, mi ? mi->cls : "?");
    sb_puts(sb, ", \"args\": {");
    for (int k = 0; mi && k < m->nargs && k < mi->sig.n; k++) {
      if (k) sb_puts(sb, ", ");
      sb_put_json_str(sb, mi->sig.params[k].name);
      sb_puts(sb, ": ");
      json_val(sb, &m->args[k], 0);
    }
    sb_puts(sb, "}}");
  }
  sb_puts(sb, g->nmodules ? "\n  ],\n  \"params\": [" : "],\n  \"params\": [");
  for (int i = 0; i < g->nparams; i++) {
    const Param *p = g->params[i];
    sb_puts(sb, i ? ",\n    " : "\n    ");
    sb_puts(sb, "{\"qualname\": ");
    sb_put_json_str(sb, p->qualname);
    sb_printf(sb, ", \"kind\": \"%s\", \"dtype\": ", p->kind == PK_BUFFER ? "buffer" : "param");
    sb_put_json_str(sb, ir_dtype_name(p->type.dtype));
    sb_puts(sb, ", \"shape\": [");
    for (int k = 0; k < p->type.rank; k++) {
      if (k) sb_puts(sb, ", ");
      if (p->type.dims[k].sym)
        sb_put_json_str(sb, p->type.dims[k].sym);
      else
        sb_printf(sb, "%lld", (long long)p->type.dims[k].size);
    }
    sb_puts(sb, "], \"init\": {\"kind\": ");
    sb_put_json_str(sb, ir_init_name(p->init.kind));
    sb_puts(sb, ", \"args\": [");
    for (int k = 0; k < ir_init_nargs(p->init.kind) && k < 2; k++) {
      if (k) sb_puts(sb, ", ");
      json_float(sb, p->init.args[k]);
    }
    sb_puts(sb, "]}}");
  }
  sb_puts(sb, g->nparams ? "\n  ],\n  \"nodes\": [" : "],\n  \"nodes\": [");
  bool first = true;
  for (const Node *n = g->first; n; n = n->next) {
    sb_puts(sb, first ? "\n    " : ",\n    ");
    first = false;
    sb_puts(sb, "{\"name\": ");
    sb_put_json_str(sb, n->name);
    sb_printf(sb, ", \"op\": \"%s\", \"target\": ", ir_node_kind_name(n->op));
    sb_put_json_str(sb, n->target);
    Value args = {.kind = VAL_TUPLE, .u.seq = {n->nargs, n->args}};
    sb_puts(sb, ", \"args\": ");
    json_val(sb, &args, 0);
    Value kw = {.kind = VAL_DICT, .u.dict = {n->nkwargs, n->kwnames, n->kwargs}};
    sb_puts(sb, ", \"kwargs\": ");
    json_val(sb, &kw, 0);
    sb_puts(sb, ", \"users\": [");
    for (int k = 0; k < n->nusers; k++) {
      if (k) sb_puts(sb, ", ");
      sb_put_json_str(sb, n->users[k]->name);
    }
    sb_puts(sb, "], \"type\": ");
    if (n->has_type)
      json_type(sb, &n->type);
    else
      sb_puts(sb, "null");
    sb_puts(sb, ", \"loc\": ");
    json_loc(sb, g, n->loc);
    if (n->quant.kind == VAL_DICT) {
      sb_puts(sb, ", \"quant\": ");
      json_val(sb, &n->quant, 0);
    }
    sb_puts(sb, ", \"meta\": ");
    json_val(sb, &n->meta, 0);
    sb_putc(sb, '}');
  }
  sb_puts(sb, first ? "]\n}\n" : "\n  ]\n}\n");
}
