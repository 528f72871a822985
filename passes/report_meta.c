/* report_meta.c — the `report-meta` pass: MASE's report_node_meta_param_analysis_pass.
 *
 *   report-meta{which=[all], file="", save_path=""}
 *
 * One row per node, as a tabulate "grid" table (for people, not IR text):
 *   +-----------+--------------+--------------+--------------+---------------------------+...
 *   | Node name | Fx Node op   | Mase type    | Mase op      | Common Param              |...
 *   +===========+==============+==============+==============+===========================+...
 *   | x         | placeholder  | placeholder  | placeholder  | {'args': {},              |...
 *   |           |              |              |              |  'results': {'data_out_0':|...
 * The Common and Software Param cells are the node's `common` and `software` metadata
 * dicts as Python's pprint.pformat writes them (width 80, keys sorted, wrapped with pprint's
 * indentation), so the table reads as MASE's does; tensor types print as jscc types
 * (f32[B,16]) and a None mase_op as an empty cell (tabulate's missingval).  `which` picks the
 * param columns: all (the default), common, software, or a list of them.  MASE's
 * "hardware" column has no counterpart: jscc has no hardware metadata, and asking for it is
 * an error that says so.
 *
 * Besides the table (the pass's report), the rows are saved for tools:
 *   FILE.csv   the same columns, each dict on one line in the same Python form;
 *   FILE.json  {"model": "...", "nodes": [{"name", "op", "mase_type", "mase_op", "common",
 *               "software"}, ...]} with the metadata as JSON (types as strings such as
 *               "f32[B,16]", None as null, non-finite floats as null);
 * where FILE is the `file` option (a base path: "out/meta" writes out/meta.csv and
 * out/meta.json), or, without it, <out_dir>/report_meta when the tool gives an output
 * directory (PassContext.out_dir); with neither, nothing is written.  Writes are atomic.
 * `save_path` is MASE's option: the table text itself, written to that file. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "passes.h"

#define PP_WIDTH 80 /* pprint.pformat's default width */

enum { COL_COMMON = 1, COL_SOFTWARE = 2 };

/* The indices of a dict's entries with keys in sorted order (pprint's sort_dicts), in an
 * ir_malloc'd array the caller frees; NULL (insertion order) when that fails. */
static int *sorted_keys(const Value *v) {
  int n = v->u.dict.n;
  int *idx = ir_malloc(sizeof(int) * (size_t)(n + 1));
  for (int i = 0; idx && i < n; i++) {
    int j = i;
    while (j > 0 && strcmp(v->u.dict.keys[idx[j - 1]], v->u.dict.keys[i]) > 0) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = i;
  }
  return idx;
}

/* Python's repr with dict keys sorted (pprint's _safe_repr), on one line. */
static void py_repr(StrBuf *sb, const Value *v) {
  switch (v->kind) {
  case VAL_DICT: {
    int *idx = sorted_keys(v);
    sb_putc(sb, '{');
    for (int i = 0; i < v->u.dict.n; i++) {
      int k = idx ? idx[i] : i;
      sb_printf(sb, "%s'%s': ", i ? ", " : "", v->u.dict.keys[k]);
      py_repr(sb, &v->u.dict.vals[k]);
    }
    sb_putc(sb, '}');
    ir_free(idx);
    break;
  }
  case VAL_LIST:
  case VAL_TUPLE: {
    bool tuple = v->kind == VAL_TUPLE;
    sb_putc(sb, tuple ? '(' : '[');
    for (int i = 0; i < v->u.seq.n; i++) {
      if (i) sb_puts(sb, ", ");
      py_repr(sb, &v->u.seq.items[i]);
    }
    if (tuple && v->u.seq.n == 1) sb_putc(sb, ',');
    sb_putc(sb, tuple ? ')' : ']');
    break;
  }
  default: val_print_py(sb, v);
  }
}

static void put_indent(StrBuf *sb, int n) {
  for (int i = 0; i < n; i++) sb_putc(sb, ' ');
}

/* pprint.PrettyPrinter._format: the one-line repr when it fits in what is left of the width
 * (after `indent` and `allowance` columns of closing brackets), else a dict with one entry
 * per line (values indented past their key) and lists/tuples with one item per line. */
static void pformat(StrBuf *sb, const Value *v, int indent, int allowance) {
  StrBuf rep;
  sb_init(&rep);
  py_repr(&rep, v);
  bool fits = (int)rep.len <= PP_WIDTH - indent - allowance;
  if (fits || rep.oom) {
    sb_puts(sb, sb_str(&rep));
  } else if (v->kind == VAL_DICT) {
    int n = v->u.dict.n, *idx = sorted_keys(v);
    sb_putc(sb, '{');
    for (int i = 0; i < n; i++) {
      int e = idx ? idx[i] : i;
      const char *k = v->u.dict.keys[e];
      bool last = i == n - 1;
      sb_printf(sb, "'%s': ", k);
      pformat(sb, &v->u.dict.vals[e], indent + 1 + (int)strlen(k) + 4, last ? allowance + 1 : 1);
      if (!last) {
        sb_puts(sb, ",\n");
        put_indent(sb, indent + 1);
      }
    }
    sb_putc(sb, '}');
    ir_free(idx);
  } else if (v->kind == VAL_LIST || v->kind == VAL_TUPLE) {
    bool tuple = v->kind == VAL_TUPLE;
    const char *end = tuple ? (v->u.seq.n == 1 ? ",)" : ")") : "]";
    int n = v->u.seq.n;
    sb_putc(sb, tuple ? '(' : '[');
    for (int i = 0; i < n; i++) {
      if (i) {
        sb_puts(sb, ",\n");
        put_indent(sb, indent + 1);
      }
      pformat(sb, &v->u.seq.items[i], indent + 1, i == n - 1 ? allowance + (int)strlen(end) : 1);
    }
    sb_puts(sb, end);
  } else {
    sb_puts(sb, sb_str(&rep));
  }
  sb_free(&rep);
}

/* ---- the grid table (tabulate's "grid" format) ---- */

#define MAX_COLS 6

typedef struct Table {
  int ncols;
  const char *headers[MAX_COLS];
  int nrows;
  char **cells;    /* [nrows][ncols], owned by the arena */
  size_t width[MAX_COLS];
} Table;

/* The widest line of a cell. */
static size_t cell_width(const char *s) {
  size_t w = 0, cur = 0;
  for (; *s; s++) {
    if (*s == '\n') {
      cur = 0;
      continue;
    }
    if (++cur > w) w = cur;
  }
  return w;
}

static void rule(StrBuf *sb, const Table *t, char c) {
  sb_putc(sb, '+');
  for (int j = 0; j < t->ncols; j++) {
    for (size_t k = 0; k < t->width[j] + 2; k++) sb_putc(sb, c);
    sb_putc(sb, '+');
  }
  sb_putc(sb, '\n');
}

/* One row of cells, line by line; shorter cells are padded with blank lines below. */
static void grid_row(StrBuf *sb, const Table *t, const char *const *cells) {
  const char *at[MAX_COLS];
  for (int j = 0; j < t->ncols; j++) at[j] = cells[j];
  for (;;) {
    sb_putc(sb, '|');
    for (int j = 0; j < t->ncols; j++) {
      const char *s = at[j];
      size_t len = s ? strcspn(s, "\n") : 0;
      sb_putc(sb, ' ');
      if (s) sb_putn(sb, s, len);
      for (size_t k = len; k < t->width[j] + 1; k++) sb_putc(sb, ' ');
      sb_putc(sb, '|');
      at[j] = s && s[len] == '\n' ? s + len + 1 : NULL;
    }
    sb_putc(sb, '\n');
    bool more = false;
    for (int j = 0; j < t->ncols; j++) more |= at[j] != NULL;
    if (!more) break;
  }
}

static void grid(StrBuf *sb, Table *t) {
  /* tabulate's column width: the widest cell, at least the header plus 2 (MIN_PADDING) */
  for (int j = 0; j < t->ncols; j++) {
    t->width[j] = strlen(t->headers[j]) + 2;
    for (int i = 0; i < t->nrows; i++) {
      size_t w = cell_width(t->cells[i * t->ncols + j]);
      if (w > t->width[j]) t->width[j] = w;
    }
  }
  rule(sb, t, '-');
  grid_row(sb, t, t->headers);
  rule(sb, t, '=');
  for (int i = 0; i < t->nrows; i++) {
    grid_row(sb, t, (const char *const *)&t->cells[i * t->ncols]);
    rule(sb, t, '-');
  }
}

/* ---- CSV and JSON ---- */



static void json_value(StrBuf *sb, const Value *v) {
  switch (v->kind) {
  case VAL_NONE: sb_puts(sb, "null"); break;
  case VAL_BOOL: sb_puts(sb, v->u.b ? "true" : "false"); break;
  case VAL_INT: sb_put_int(sb, v->u.i); break;
  case VAL_FLOAT:
    if (isfinite(v->u.f))
      sb_put_float(sb, v->u.f);
    else
      sb_puts(sb, "null");
    break;
  case VAL_STR: sb_put_json_str(sb, v->u.s); break;
  case VAL_NODE: sb_put_json_str(sb, v->u.node->name); break;
  case VAL_TYPE: {
    StrBuf t;
    sb_init(&t);
    ir_type_print(&t, v->u.type);
    sb_put_json_str(sb, sb_str(&t));
    sb_free(&t);
    break;
  }
  case VAL_TUPLE:
  case VAL_LIST:
    sb_putc(sb, '[');
    for (int i = 0; i < v->u.seq.n; i++) {
      if (i) sb_puts(sb, ", ");
      json_value(sb, &v->u.seq.items[i]);
    }
    sb_putc(sb, ']');
    break;
  case VAL_DICT:
    sb_putc(sb, '{');
    for (int i = 0; i < v->u.dict.n; i++) {
      if (i) sb_puts(sb, ", ");
      sb_put_json_str(sb, v->u.dict.keys[i]);
      sb_puts(sb, ": ");
      json_value(sb, &v->u.dict.vals[i]);
    }
    sb_putc(sb, '}');
    break;
  }
}

/* ---- the pass ---- */

/* The `which` option: a name or a list of names -> COL_* bits. */
static Status read_which(const PassArgs *args, int *cols, Diag *d) {
  static const char *const names[] = {"all", "common", "software"};
  const Value *v = pass_arg_value(args, "which");
  SrcLoc loc = pass_arg_loc(args, "which");
  *cols = 0;
  if (v->kind == VAL_NONE) {
    *cols = COL_COMMON | COL_SOFTWARE;
    return JS_OK;
  }
  int n = v->kind == VAL_STR ? 1 : (v->kind == VAL_LIST || v->kind == VAL_TUPLE) ? v->u.seq.n : -1;
  if (n < 0)
    return diag_error(d, loc, "report-meta: which: expected all, common, software or a list of them, got %s",
                      val_kind_name(v));
  for (int i = 0; i < n; i++) {
    const Value *item = v->kind == VAL_STR ? v : &v->u.seq.items[i];
    if (item->kind != VAL_STR)
      return diag_error(d, loc, "report-meta: which: expected all, common or software, got %s", val_kind_name(item));
    const char *s = item->u.s;
    if (strcmp(s, "all") == 0)
      *cols |= COL_COMMON | COL_SOFTWARE;
    else if (strcmp(s, "common") == 0)
      *cols |= COL_COMMON;
    else if (strcmp(s, "software") == 0)
      *cols |= COL_SOFTWARE;
    else if (strcmp(s, "hardware") == 0)
      return diag_error(d, loc,
                        "report-meta: which: MASE's 'hardware' column does not exist in jscc (there is no hardware "
                        "metadata); use all, common or software");
    else {
      const char *near = diag_closest(s, names, 3);
      return diag_error(d, loc, "report-meta: which: unknown column set '%s'%s%s%s; use all, common or software", s,
                        near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
  }
  if (!*cols) return diag_error(d, loc, "report-meta: which: the list is empty; use all, common or software");
  return JS_OK;
}

static const Value *meta_or_none(const Node *n, const char *key) {
  static const Value none = {.kind = VAL_NONE};
  const Value *v = ir_meta_get(n, key);
  return v ? v : &none;
}

/* Writes sb to base + ext. */
static Status write_file(const StrBuf *sb, const char *base, const char *ext, Diag *d) {
  StrBuf path;
  sb_init(&path);
  sb_printf(&path, "%s%s", base, ext);
  Status st = path.oom || sb->oom ? JS_ENOMEM : sb_write_file(sb, sb_str(&path));
  if (st == JS_ENOMEM)
    diag_oom(d);
  else if (st)
    diag_error(d, (SrcLoc){0}, "report-meta: cannot write '%s': %s", sb_str(&path), strerror(errno));
  sb_free(&path);
  return st;
}

static Status run(Arena *a, Graph *g, const PassArgs *args, PassContext *ctx) {
  Diag *d = ctx->diag;
  int cols;
  Status st = read_which(args, &cols, d);
  if (st) return st;
  for (const Node *n = g->first; n; n = n->next)
    if (!ir_meta_get(n, "mase_type"))
      return diag_error(d, n->loc, "report-meta: node '%s' has no metadata; run the 'metadata' pass first", n->name);

  Table t = {.headers = {"Node name", "Fx Node op", "Mase type", "Mase op"}, .ncols = 4};
  if (cols & COL_COMMON) t.headers[t.ncols++] = "Common Param";
  if (cols & COL_SOFTWARE) t.headers[t.ncols++] = "Software Param";
  t.nrows = g->nnodes;
  if (!(t.cells = arena_alloc(a, sizeof(char *) * (size_t)(t.nrows * t.ncols + 1)))) return diag_oom(d);
  StrBuf csv, json;
  sb_init(&csv);
  sb_init(&json);
  for (int j = 0; j < t.ncols; j++) {
    if (j) sb_putc(&csv, ',');
    sb_put_csv_field(&csv, t.headers[j]);
  }
  sb_putc(&csv, '\n');
  sb_puts(&json, "{\"model\": ");
  sb_put_json_str(&json, g->name);
  sb_puts(&json, ", \"nodes\": [");
  int i = 0;
  for (const Node *n = g->first; n; n = n->next, i++) {
    const Value *mop = meta_or_none(n, "mase_op"), *mtype = meta_or_none(n, "mase_type");
    const Value *dicts[2] = {meta_or_none(n, "common"), meta_or_none(n, "software")};
    char **row = &t.cells[i * t.ncols];
    int c = 0;
    row[c++] = (char *)n->name;
    row[c++] = (char *)ir_node_kind_name(n->op);
    row[c++] = (char *)(mtype->kind == VAL_STR ? mtype->u.s : "");
    row[c++] = (char *)(mop->kind == VAL_STR ? mop->u.s : "");
    for (int k = 0; k < 4; k++) {
      if (k) sb_putc(&csv, ',');
      sb_put_csv_field(&csv, row[k]);
    }
    for (int k = 0; k < 2; k++) {
      if (!(cols & (k ? COL_SOFTWARE : COL_COMMON))) continue;
      StrBuf cell;
      sb_init(&cell);
      pformat(&cell, dicts[k], 0, 0);
      row[c++] = cell.oom ? NULL : arena_strdup(a, sb_str(&cell));
      sb_clear(&cell);
      py_repr(&cell, dicts[k]);
      sb_putc(&csv, ',');
      sb_put_csv_field(&csv, sb_str(&cell));
      sb_free(&cell);
      if (!row[c - 1]) {
        sb_free(&csv);
        sb_free(&json);
        return diag_oom(d);
      }
    }
    sb_putc(&csv, '\n');
    sb_puts(&json, i ? ",\n  {" : "\n  {");
    sb_puts(&json, "\"name\": ");
    sb_put_json_str(&json, n->name);
    sb_puts(&json, ", \"op\": ");
    sb_put_json_str(&json, ir_node_kind_name(n->op));
    sb_puts(&json, ", \"mase_type\": ");
    json_value(&json, mtype);
    sb_puts(&json, ", \"mase_op\": ");
    json_value(&json, mop);
    if (cols & COL_COMMON) {
      sb_puts(&json, ", \"common\": ");
      json_value(&json, dicts[0]);
    }
    if (cols & COL_SOFTWARE) {
      sb_puts(&json, ", \"software\": ");
      json_value(&json, dicts[1]);
    }
    sb_putc(&json, '}');
  }
  sb_puts(&json, "\n]}\n");

  StrBuf table;
  sb_init(&table);
  grid(&table, &t);
  const char *file = pass_arg_str(args, "file");
  bool save = *file || (ctx->out_dir && *ctx->out_dir);
  const char *base = *file ? file : save ? arena_printf(a, "%s/report_meta", ctx->out_dir) : NULL;
  if (table.oom || csv.oom || json.oom || (save && !base))
    st = diag_oom(d);
  else if (base && !(st = write_file(&csv, base, ".csv", d)))
    st = write_file(&json, base, ".json", d);
  const char *save_path = pass_arg_str(args, "save_path");
  if (!st && *save_path && (st = sb_write_file(&table, save_path)) != JS_OK) {
    if (st == JS_ENOMEM)
      diag_oom(d);
    else
      diag_error(d, pass_arg_loc(args, "save_path"), "report-meta: cannot write '%s': %s", save_path, strerror(errno));
  }
  if (!st && ctx->report) sb_puts(ctx->report, sb_str(&table));
  sb_free(&table);
  sb_free(&csv);
  sb_free(&json);
  return st;
}

Status pass_report_meta(Graph *g, const PassArgs *args, PassContext *ctx) {
  Arena *a = arena_new();
  if (!a) return diag_oom(ctx->diag);
  Status st = run(a, g, args, ctx);
  arena_free(a);
  return st;
}
