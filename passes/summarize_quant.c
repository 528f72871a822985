/* summarize_quant.c — the `summarize-quant` pass: MASE's summarize_quantization_analysis_pass
 * (reference/mase_facts.md §6).
 *
 * MASE compares two graphs, the original and the quantized copy.  jscc's quantize keeps the
 * nodes and attaches configs (Node.quant), so one graph holds both views: the original is the
 * float op, the quantized one is what the config makes of it.  A node is changed when it
 * carries a config that is not bypassed (ir_node_qcfg); a bypassed node computes in float and
 * counts as unchanged, as MASE's bypassed LinearInteger would not (its class changes): jscc
 * reports what runs.
 *
 * It prints, for people (not IR text):
 *   Quantization Summary:
 *   | Ori name     | New name     | MASE_TYPE           | Mase_OP      | Original type  ...
 *   |:-------------|:-------------|:--------------------|:-------------|:-------------- ...
 *   | seq_blocks_2 | seq_blocks_2 | module_related_func | linear       | Linear(in_features=16, ...
 *   Quantized graph histogram:
 *   | Original type   | OP           |   Total |   Changed |   Unchanged |
 *   |-----------------+--------------+---------+-----------+-------------|
 *   | BatchNorm1d     | batch_norm1d |       1 |         0 |           1 |
 * The per-node table is what pandas' to_markdown(index=False) prints (tabulate's "pipe"), the
 * histogram what MASE logs (tabulate's "orgtbl"): columns as wide as their widest cell or
 * their header plus two, strings left- and numbers right-aligned.  The histogram groups by the
 * original type's class name (Linear, not its repr), sorted by byte order as pandas' groupby
 * sorts; OP is the first node's mase_op in graph order.
 *
 * Types: call_module nodes show the module's repr ("Linear(in_features=16, out_features=5,
 * bias=True)") and, quantized, MASE's class with the same arguments ("LinearInteger(...)");
 * a Sequential call, whose repr spans lines, shows its class only.  Function and method calls
 * show the op name and the quantized op name ("add_integer"); placeholders, get_attr and
 * output nodes their target.  mase_type and mase_op come from the op and module tables (as
 * the metadata pass derives them), so the pass needs no other pass first.
 *
 * CSVs: with save_dir (or else the tool's output directory) the pass writes
 * quantize_table.csv and quantize_histogram.csv there as MASE's DataFrame.to_csv does: the
 * table with pandas' row index as an unnamed first column, the histogram keyed by Original
 * type; "\n" line ends (pandas' on POSIX), fields with a comma, quote or line break quoted
 * RFC 4180-style, None as an empty field.  The directory is created when missing (MASE's
 * os.makedirs); each file is written atomically. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "passes.h"

/* One node's row of the summary. */
typedef struct Row {
  const char *name;      /* Ori name and New name: quantize keeps the node */
  const char *mase_type; /* MASE_TYPE */
  const char *mase_op;   /* Mase_OP; NULL for MASE's None (a Sequential call) */
  const char *ori;       /* Original type */
  const char *quant;     /* Quantized type */
  const char *cls;       /* the histogram's group: the original type's class name */
  bool changed;          /* the node runs quantized */
} Row;

/* One histogram line. */
typedef struct Group {
  const char *cls; /* Original type */
  const char *op;  /* the first member's mase_op (NULL: None) */
  int total;
  int changed;
} Group;

static MaseType mase_type_of(const Node *n) {
  switch (n->op) {
  case OP_PLACEHOLDER: return MASE_PLACEHOLDER;
  case OP_GET_ATTR: return MASE_GET_ATTR;
  case OP_OUTPUT: return MASE_OUTPUT;
  case OP_CALL_MODULE: {
    const ModuleInfo *mi = n->module ? ir_module_info(n->module->type) : NULL;
    return mi ? mi->mase_type : MASE_MODULE;
  }
  default: {
    const OpInfo *oi = ir_op_info(n->mop);
    return oi ? oi->mase_type : MASE_BUILTIN_FUNC;
  }
  }
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

/* Fills a row; strings live in `a`.  False on OOM. */
static bool make_row(Arena *a, const Node *n, Row *r) {
  QCfg q;
  r->name = n->name;
  r->mase_type = ir_mase_type_name(mase_type_of(n));
  r->mase_op = mase_op_of(n);
  r->changed = ir_node_qcfg(n, &q);
  if (n->op == OP_CALL_MODULE && n->module && ir_module_info(n->module->type)) {
    const char *cls = ir_module_info(n->module->type)->cls;
    StrBuf sb;
    sb_init(&sb);
    ir_module_repr(&sb, n->module);
    const char *repr = sb_str(&sb);
    if (strchr(repr, '\n')) repr = cls; /* Sequential(\n  (0): ...\n) */
    r->cls = cls;
    r->ori = arena_strdup(a, repr);
    /* MASE's quantized class keeps the constructor arguments: "LinearInteger(in_features=...)" */
    /* the arguments after the class name (an out-of-memory repr is "": no arguments) */
    size_t cl = strlen(cls);
    const char *args = strncmp(repr, cls, cl) == 0 ? repr + cl : "";
    r->quant = !r->changed ? r->ori : arena_printf(a, "%s%s%s", cls, ir_qkind_class_suffix(q.kind), args);
    bool oom = sb.oom;
    sb_free(&sb);
    return !oom && r->ori && r->quant;
  }
  if (n->op == OP_CALL_FUNCTION || n->op == OP_CALL_METHOD) {
    const OpInfo *oi = ir_op_info(n->mop);
    r->ori = oi ? oi->name : n->target;
    r->quant = r->changed ? ir_quant_op_name(a, n->mop, q.kind) : r->ori;
  } else {
    r->ori = r->quant = n->target; /* MASE's node.target: "x", "output", a parameter's name */
  }
  r->cls = r->ori;
  return r->quant != NULL;
}

/* ---- tabulate's "pipe" and "orgtbl" formats ---- */

typedef enum TblFmt { TBL_PIPE, TBL_ORGTBL } TblFmt;

/* A table of nrows x ncols cells (row-major; NULL prints as tabulate's missingval, "") under
 * `heads`; right[c] right-aligns column c (numbers) and its header. */
static void tabulate(StrBuf *sb, TblFmt fmt, int ncols, const char *const *heads, const bool *right, int nrows,
                     const char *const *cells) {
  size_t w[8];
  for (int c = 0; c < ncols; c++) {
    w[c] = strlen(heads[c]) + 2; /* tabulate's MIN_PADDING for headers */
    for (int i = 0; i < nrows; i++) {
      const char *s = cells[i * ncols + c];
      size_t len = s ? strlen(s) : 0;
      if (len > w[c]) w[c] = len;
    }
  }
  for (int i = -1; i < nrows; i++) {
    for (int c = 0; c < ncols; c++) {
      const char *s = i < 0 ? heads[c] : cells[i * ncols + c];
      if (!s) s = "";
      size_t len = strlen(s);
      sb_puts(sb, c ? " | " : "| ");
      if (right[c]) sb_pad(sb, w[c], len);
      sb_puts(sb, s);
      if (!right[c]) sb_pad(sb, w[c], len);
    }
    sb_puts(sb, " |\n");
    if (i >= 0) continue;
    /* the line under the header */
    for (int c = 0; c < ncols; c++) {
      if (fmt == TBL_PIPE) {
        sb_putc(sb, '|');
        if (!right[c]) sb_putc(sb, ':');
        for (size_t k = 0; k < w[c] + 1; k++) sb_putc(sb, '-');
        if (right[c]) sb_putc(sb, ':');
      } else {
        sb_puts(sb, c ? "-+-" : "|-");
        for (size_t k = 0; k < w[c]; k++) sb_putc(sb, '-');
      }
    }
    sb_puts(sb, fmt == TBL_PIPE ? "|\n" : "-|\n");
  }
}

/* ---- CSV ---- */


/* mkdir -p; false (errno set) on failure. */
static bool make_dirs(const char *dir) {
  char buf[4096];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof buf) {
    errno = ENAMETOOLONG;
    return n == 0;
  }
  memcpy(buf, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != 0) continue;
    char c = buf[i];
    buf[i] = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) return false;
    buf[i] = c;
  }
  return true;
}

static Status write_csv(PassContext *ctx, const char *dir, const char *file, const StrBuf *sb) {
  StrBuf path;
  sb_init(&path);
  sb_printf(&path, "%s/%s", dir, file);
  Status st = path.oom ? JS_ENOMEM : sb->oom ? JS_ENOMEM : sb_write_file(sb, sb_str(&path));
  if (st == JS_ENOMEM)
    diag_oom(ctx->diag);
  else if (st)
    diag_error(ctx->diag, (SrcLoc){0}, "summarize-quant: cannot write '%s': %s", sb_str(&path), strerror(errno));
  sb_free(&path);
  return st;
}

static Status save_csvs(PassContext *ctx, const char *dir, const Row *rows, int nrows, const Group *groups,
                        int ngroups) {
  if (!make_dirs(dir)) {
    diag_error(ctx->diag, (SrcLoc){0}, "summarize-quant: cannot create the directory '%s': %s", dir,
               strerror(errno));
    return JS_EIO;
  }
  StrBuf sb;
  sb_init(&sb);
  sb_puts(&sb, ",Ori name,New name,MASE_TYPE,Mase_OP,Original type,Quantized type,Changed\n");
  for (int i = 0; i < nrows; i++) {
    const Row *r = &rows[i];
    const char *f[] = {r->name, r->name, r->mase_type, r->mase_op, r->ori, r->quant};
    sb_put_int(&sb, i);
    for (int k = 0; k < 6; k++) {
      sb_putc(&sb, ',');
      sb_put_csv_field(&sb, f[k]);
    }
    sb_puts(&sb, r->changed ? ",True\n" : ",False\n");
  }
  Status st = write_csv(ctx, dir, "quantize_table.csv", &sb);
  if (!st) {
    sb_clear(&sb);
    sb_puts(&sb, "Original type,OP,Total,Changed,Unchanged\n");
    for (int i = 0; i < ngroups; i++) {
      const Group *g = &groups[i];
      sb_put_csv_field(&sb, g->cls);
      sb_putc(&sb, ',');
      sb_put_csv_field(&sb, g->op);
      sb_printf(&sb, ",%d,%d,%d\n", g->total, g->changed, g->total - g->changed);
    }
    st = write_csv(ctx, dir, "quantize_histogram.csv", &sb);
  }
  sb_free(&sb);
  return st;
}

/* ---- the pass ---- */

static int group_cmp(const void *x, const void *y) {
  return strcmp(((const Group *)x)->cls, ((const Group *)y)->cls);
}

Status pass_summarize_quant(Graph *g, const PassArgs *args, PassContext *ctx) {
  Arena *a = arena_new();
  if (!a) return diag_oom(ctx->diag);
  int nrows = 0;
  for (const Node *n = g->first; n; n = n->next) nrows++;
  Row *rows = arena_alloc(a, sizeof *rows * (size_t)(nrows + 1));
  Group *groups = arena_alloc(a, sizeof *groups * (size_t)(nrows + 1));
  const char **cells = arena_alloc(a, sizeof *cells * (size_t)(nrows + 1) * 7);
  char(*nums)[3][24] = arena_alloc(a, sizeof *nums * (size_t)(nrows + 1));
  if (!rows || !groups || !cells || !nums) goto oom;
  int i = 0;
  for (const Node *n = g->first; n; n = n->next, i++)
    if (!make_row(a, n, &rows[i])) goto oom;

  /* groupby("Original type"): first-seen order, then sorted by name */
  int ngroups = 0;
  for (i = 0; i < nrows; i++) {
    int k = 0;
    while (k < ngroups && strcmp(groups[k].cls, rows[i].cls) != 0) k++;
    if (k == ngroups) groups[ngroups++] = (Group){.cls = rows[i].cls, .op = rows[i].mase_op};
    groups[k].total++;
    groups[k].changed += rows[i].changed;
  }
  qsort(groups, (size_t)ngroups, sizeof *groups, group_cmp);

  StrBuf sb;
  sb_init(&sb);
  sb_puts(&sb, "Quantization Summary:\n");
  static const char *const heads[] = {"Ori name",      "New name",       "MASE_TYPE", "Mase_OP",
                                      "Original type", "Quantized type", "Changed"};
  static const bool right[7] = {false}; /* every column left-aligned, as the lab shows */
  for (i = 0; i < nrows; i++) {
    const Row *r = &rows[i];
    const char *row[] = {r->name, r->name, r->mase_type, r->mase_op, r->ori, r->quant, r->changed ? "True" : "False"};
    memcpy(&cells[i * 7], row, sizeof row);
  }
  tabulate(&sb, TBL_PIPE, 7, heads, right, nrows, cells);

  sb_puts(&sb, "Quantized graph histogram:\n");
  static const char *const hheads[] = {"Original type", "OP", "Total", "Changed", "Unchanged"};
  static const bool hright[5] = {false, false, true, true, true};
  for (i = 0; i < ngroups; i++) {
    const Group *gr = &groups[i];
    snprintf(nums[i][0], sizeof nums[i][0], "%d", gr->total);
    snprintf(nums[i][1], sizeof nums[i][1], "%d", gr->changed);
    snprintf(nums[i][2], sizeof nums[i][2], "%d", gr->total - gr->changed);
    const char *row[] = {gr->cls, gr->op, nums[i][0], nums[i][1], nums[i][2]};
    memcpy(&cells[i * 5], row, sizeof row);
  }
  tabulate(&sb, TBL_ORGTBL, 5, hheads, hright, ngroups, cells);

  Status st = sb.oom ? diag_oom(ctx->diag) : JS_OK;
  const char *dir = pass_arg_str(args, "save_dir");
  if (!*dir && ctx->out_dir) dir = ctx->out_dir;
  if (!st && *dir) st = save_csvs(ctx, dir, rows, nrows, groups, ngroups);
  if (!st) st = pass_emit_report("summarize-quant", &sb, args, ctx);
  sb_free(&sb);
  arena_free(a);
  return st;
oom:
  arena_free(a);
  return diag_oom(ctx->diag);
}
