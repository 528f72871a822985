/* report_weights.c — the `report-weights` pass: a quantized node's parameters, float and
 * quantized side by side (Lab 2 question 6: "show that the weights are indeed quantised").
 *
 * For each quantized node with a weight or bias format (every such node, or those named by
 * `nodes`), each parameter's float values from the loaded weights (PassData.param), the values
 * its slot's format gives them (ir_quant_tensor_f64, rows along the last dim, as the executors
 * quantize), and for integer formats the integer codes (ir_quant_code):
 *
 *   seq_blocks_2: LinearInteger(in_features=16, out_features=5, bias=True)
 *     weight f32[5,16] as fixed[8,4], codes -128..127: 80 values, 74 changed; |error| max 0.03113,
 *       mean 0.01502; saturated: 0 below -8.0, 0 above 7.9375
 *       [0, 0:8]   float -0.0499  0.1747 -0.1870 -0.2675 -0.0879  0.0377 -0.0110  0.1829
 *                  quant -0.0625  0.1875 -0.1875 -0.2500 -0.0625  0.0625  0.0000  0.1875
 *                  code       -1       3      -3      -4      -1       1       0       3
 *       [0, 8:16]  ...
 *       ... 3 more rows
 *
 * Formatting, so that reports diff cleanly: values with four decimals as torch prints them
 * ("%.4f": -0.0000 for a small negative), eight per line, all columns of a tensor (shown or
 * not) one width;
 * statistics to four significant digits ("%.4g"), range ends as Python's repr.  A row is the
 * last dimension; `max_rows` rows per tensor are shown (0: statistics only, negative: all).
 *
 * Statistics: changed counts elements whose quantized value differs from the float one;
 * |error| is |quantized - float|; saturated counts elements outside the format's range
 * [Q(-inf), Q(+inf)], which the quantizer clamped (block_fp and ternary have no fixed range:
 * no saturation counts).
 *
 * BatchNorm1d (spec/quant.md §3): its weight and bias formats apply to the folded scale and
 * shift s = w / sqrt(running_var + eps) and t = b - running_mean * s (w = 1, b = 0 when
 * affine=False), computed in double as the reference executor does; those are shown.  A
 * BatchNorm without running statistics normalises by each batch's: nothing fixed to show.
 * A function call (linear(%x, %w, %b)) shows the parameters its weight and bias arguments
 * read with get_attr; a computed weight is not a parameter and is skipped with a note. */
#include <math.h>
#include <string.h>

#include "passes.h"

#define PER_LINE 8 /* values per line, as torch wraps a 16-wide row of 4-decimal values */

/* One tensor to show: its float values and where they come from. */
typedef struct Shown {
  const char *what;   /* "weight", "bias", "weight: s = weight / sqrt(running_var + eps)" */
  const TensorType *type;
  int64_t n;          /* elements */
  double *x;          /* the float values */
} Shown;

typedef struct RW {
  Graph *g;
  PassContext *ctx;
  const PassArgs *args; /* the pass's options */
  Arena *a;             /* scratch, freed when the pass ends */
  StrBuf *sb;           /* the report */
  int64_t max_rows;     /* rows shown per tensor */
} RW;


/* The float values of a parameter, as doubles in the scratch arena (NULL: reported). */
static double *load(RW *w, const Param *p, int64_t *n) {
  const float *v = w->ctx->data->param(w->ctx->data->ud, p);
  if (!v) {
    diag_error(w->ctx->diag, (SrcLoc){0}, "report-weights needs weights (jscc ... --ckpt FILE): none loaded for '%s'",
               p->qualname);
    return NULL;
  }
  *n = ir_type_numel(&p->type);
  double *x = arena_alloc(w->a, sizeof *x * (size_t)(*n > 0 ? *n : 1));
  if (!x) {
    diag_oom(w->ctx->diag);
    return NULL;
  }
  for (int64_t i = 0; i < *n; i++) x[i] = v[i];
  return x;
}

static bool elementwise_range(const QFmt *f, double *lo, double *hi) {
  if (!ir_qfmt_elementwise(f)) return false;
  *lo = ir_quant_f64(f, -INFINITY);
  *hi = ir_quant_f64(f, INFINITY);
  return true;
}

/* "[i, j, 0:8]": the chunk's row index (row-major over every dim but the last) and columns. */
static void chunk_label(char *buf, size_t cap, const TensorType *t, int64_t row, int64_t c0, int64_t c1) {
  int64_t idx[IR_MAX_RANK] = {0};
  for (int k = t->rank - 2; k >= 0; k--) {
    int64_t d = t->dims[k].size > 0 ? t->dims[k].size : 1;
    idx[k] = row % d;
    row /= d;
  }
  size_t len = (size_t)snprintf(buf, cap, "[");
  for (int k = 0; k + 1 < t->rank && len < cap; k++)
    len += (size_t)snprintf(buf + len, cap - len, "%lld, ", (long long)idx[k]);
  if (len < cap) snprintf(buf + len, cap - len, "%lld:%lld]", (long long)c0, (long long)c1);
}

/* The values, PER_LINE a line: float, quantized and (codes != NULL) integer code lines. */
static void show_values(RW *w, const Shown *s, const double *y, const int64_t *codes) {
  StrBuf *sb = w->sb;
  int64_t len = s->type->rank ? s->type->dims[s->type->rank - 1].size : 1;
  if (len <= 0 || s->n <= 0) return;
  int64_t nrows = s->n / len;
  int64_t shown = w->max_rows < 0 || w->max_rows > nrows ? nrows : w->max_rows;
  /* one width for every column of the tensor, one for the labels */
  size_t vw = 1, lw = 1;
  char buf[64];
  for (int64_t i = 0; i < s->n; i++) { /* over every row: max_rows only truncates */
    size_t l1 = (size_t)snprintf(buf, sizeof buf, "%.4f", s->x[i]);
    size_t l2 = (size_t)snprintf(buf, sizeof buf, "%.4f", y[i]);
    size_t l3 = codes ? (size_t)snprintf(buf, sizeof buf, "%lld", (long long)codes[i]) : 0;
    if (l1 > vw) vw = l1;
    if (l2 > vw) vw = l2;
    if (l3 > vw) vw = l3;
  }
  for (int64_t r = 0; r < shown; r++)
    for (int64_t c = 0; c < len; c += PER_LINE) {
      size_t l = strlen((chunk_label(buf, sizeof buf, s->type, r, c, c + PER_LINE < len ? c + PER_LINE : len), buf));
      if (l > lw) lw = l;
    }
  for (int64_t r = 0; r < shown; r++)
    for (int64_t c = 0; c < len; c += PER_LINE) {
      int64_t end = c + PER_LINE < len ? c + PER_LINE : len;
      chunk_label(buf, sizeof buf, s->type, r, c, end);
      for (int line = 0; line < (codes ? 3 : 2); line++) {
        sb_puts(sb, "    ");
        size_t used = line == 0 ? strlen(buf) : 0;
        if (line == 0) sb_puts(sb, buf);
        sb_pad(sb, lw, used);
        sb_puts(sb, line == 0 ? "  float" : line == 1 ? "  quant" : "  code ");
        for (int64_t i = r * len + c; i < r * len + end; i++) {
          char v[64];
          size_t vl = line == 2 ? (size_t)snprintf(v, sizeof v, "%lld", (long long)codes[i])
                                : (size_t)snprintf(v, sizeof v, "%.4f", line == 0 ? s->x[i] : y[i]);
          sb_putc(sb, ' ');
          sb_pad(sb, vw, vl);
          sb_puts(sb, v);
        }
        sb_putc(sb, '\n');
      }
    }
  if (shown < nrows)
    sb_printf(sb, "    ... %lld more row%s\n", (long long)(nrows - shown), nrows - shown == 1 ? "" : "s");
}

/* One tensor: the statistics line, then its values. */
static Status show(RW *w, const Shown *s, const QFmt *f) {
  StrBuf *sb = w->sb;
  double *y = arena_alloc(w->a, sizeof *y * (size_t)(s->n > 0 ? s->n : 1));
  int64_t *codes = f->kind == QK_INTEGER ? arena_alloc(w->a, sizeof *codes * (size_t)(s->n > 0 ? s->n : 1)) : NULL;
  if (!y || (f->kind == QK_INTEGER && !codes)) return diag_oom(w->ctx->diag);
  int64_t len = s->type->rank ? s->type->dims[s->type->rank - 1].size : 1;
  ir_quant_tensor_f64(f, s->x, y, s->n, len > 0 ? len : 1);
  double lo = 0, hi = 0;
  bool ranged = elementwise_range(f, &lo, &hi);
  int64_t changed = 0, below = 0, above = 0;
  double emax = 0, esum = 0;
  for (int64_t i = 0; i < s->n; i++) {
    double e = fabs(y[i] - s->x[i]);
    changed += y[i] != s->x[i];
    esum += e;
    if (e > emax) emax = e;
    below += ranged && s->x[i] < lo;
    above += ranged && s->x[i] > hi;
    if (codes) codes[i] = ir_quant_code(f, s->x[i]);
  }
  sb_printf(sb, "  %s ", s->what);
  ir_type_print(sb, s->type);
  sb_puts(sb, " as ");
  ir_qfmt_print(sb, f);
  if (codes && ranged)
    sb_printf(sb, ", codes %lld..%lld", (long long)ir_quant_code(f, lo), (long long)ir_quant_code(f, hi));
  sb_printf(sb, ": %lld values, %lld changed; |error| max %.4g, mean %.4g", (long long)s->n, (long long)changed, emax,
            s->n ? esum / (double)s->n : 0.0);
  if (ranged) {
    sb_printf(sb, "; saturated: %lld below ", (long long)below);
    sb_put_float(sb, lo);
    sb_printf(sb, ", %lld above ", (long long)above);
    sb_put_float(sb, hi);
  }
  sb_putc(sb, '\n');
  if (w->max_rows) show_values(w, s, y, codes);
  return JS_OK;
}

/* BatchNorm1d: the folded s and t its weight and bias formats quantize. */
static Status show_batch_norm(RW *w, const Node *n, const QCfg *q) {
  const Module *m = n->module;
  Param *mean = ir_module_param(m, "running_mean"), *var = ir_module_param(m, "running_var");
  if (!mean || !var) {
    sb_puts(w->sb, "  weight, bias: s and t use each batch's statistics (track_running_stats=False): "
                   "nothing fixed to show\n");
    return JS_OK;
  }
  const Value *epsv = ir_module_arg(m, "eps");
  double eps = epsv && epsv->kind == VAL_FLOAT ? epsv->u.f : epsv && epsv->kind == VAL_INT ? (double)epsv->u.i : 1e-5;
  Param *wp = ir_module_param(m, "weight"), *bp = ir_module_param(m, "bias");
  int64_t c = 0, k;
  double *mv = load(w, mean, &c), *vv = mv ? load(w, var, &k) : NULL;
  double *wv = vv && wp ? load(w, wp, &k) : NULL, *bv = vv && bp ? load(w, bp, &k) : NULL;
  if (!vv || (wp && !wv) || (bp && !bv)) return JS_ERR;
  double *s = arena_alloc(w->a, sizeof *s * (size_t)(c > 0 ? c : 1));
  double *t = arena_alloc(w->a, sizeof *t * (size_t)(c > 0 ? c : 1));
  if (!s || !t) return diag_oom(w->ctx->diag);
  for (int64_t i = 0; i < c; i++) s[i] = ir_bn_fold(wv ? wv[i] : 1.0, bv ? bv[i] : 0.0, mv[i], vv[i], eps, &t[i]);
  Status st = JS_OK;
  if (q->has[QS_WEIGHT]) {
    Shown sh = {wp ? "weight: s = weight / sqrt(running_var + eps)" : "weight: s = 1 / sqrt(running_var + eps)",
                &var->type, c, s};
    st = show(w, &sh, &q->fmt[QS_WEIGHT]);
  }
  if (!st && q->has[QS_BIAS]) {
    Shown sh = {bp ? "bias: t = bias - running_mean * s" : "bias: t = -running_mean * s", &var->type, c, t};
    st = show(w, &sh, &q->fmt[QS_BIAS]);
  }
  return st;
}

/* The parameter a slot reads: a module's own, or what a function call's argument get_attr's.
 * NULL with *note set when there is none to show. */
static Param *slot_param(RW *w, const Node *n, const char *slot, const char **note) {
  *note = NULL;
  if (n->op == OP_CALL_MODULE) {
    Param *p = ir_module_param(n->module, slot);
    if (!p) *note = "none (the module has no such parameter)";
    return p;
  }
  const OpInfo *oi = ir_op_info(n->mop);
  Value bound[12];
  Diag d;
  diag_init(&d, NULL);
  Status st = oi ? ir_sig_bind(&oi->sig, oi->name, n->nargs, n->args, n->nkwargs, n->kwnames, n->kwargs, w->a, bound,
                               &d, n->loc)
                 : JS_ERR;
  diag_free(&d);
  for (int i = 0; !st && i < oi->sig.n; i++) {
    if (strcmp(oi->sig.params[i].name, slot) != 0) continue;
    const Value *v = &bound[i];
    if (v->kind == VAL_NODE && v->u.node->op == OP_GET_ATTR && v->u.node->param) return v->u.node->param;
    *note = v->kind == VAL_NODE ? "computed by the graph, not a parameter: not shown" : "none";
    return NULL;
  }
  *note = "not found in the call";
  return NULL;
}

static bool has_weights(const Node *n, QCfg *q) {
  return ir_node_qcfg(n, q) && (q->has[QS_WEIGHT] || q->has[QS_BIAS]) &&
         (n->op != OP_CALL_MODULE || (n->module && ir_module_info(n->module->type)));
}

static Status report_node(RW *w, const Node *n, const QCfg *q) {
  StrBuf *sb = w->sb;
  sb_printf(sb, "%s: ", n->name);
  if (n->op == OP_CALL_MODULE) {
    const char *cls = ir_module_info(n->module->type)->cls;
    StrBuf repr;
    sb_init(&repr);
    ir_module_repr(&repr, n->module);
    bool oom = repr.oom;
    if (!oom) sb_printf(sb, "%s%s%s\n", cls, ir_qkind_class_suffix(q->kind), sb_str(&repr) + strlen(cls));
    sb_free(&repr);
    if (oom) return diag_oom(w->ctx->diag);
    if (n->mop == MOP_BATCH_NORM1D) return show_batch_norm(w, n, q);
  } else {
    const char *qop = ir_quant_op_name(w->a, n->mop, q->kind);
    if (!qop) return diag_oom(w->ctx->diag);
    sb_printf(sb, "%s\n", qop);
  }
  static const QSlot slots[] = {QS_WEIGHT, QS_BIAS};
  for (int i = 0; i < 2; i++) {
    QSlot slot = slots[i];
    if (!q->has[slot]) continue;
    const char *note;
    Param *p = slot_param(w, n, ir_qslot_name(slot), &note);
    if (!p) {
      sb_printf(sb, "  %s: %s\n", ir_qslot_name(slot), note);
      continue;
    }
    int64_t cnt;
    double *x = load(w, p, &cnt);
    if (!x) return JS_ERR;
    Shown sh = {ir_qslot_name(slot), &p->type, cnt, x};
    Status st = show(w, &sh, &q->fmt[slot]);
    if (st) return st;
  }
  return JS_OK;
}

/* `nodes`: comma-separated names, each a quantized node with parameters. */
static Status select_nodes(RW *w, const char *list, StrMap *sel) {
  Diag *d = w->ctx->diag;
  for (const char *p = list; *p;) {
    while (*p == ' ' || *p == ',') p++;
    const char *e = p;
    while (*e && *e != ',') e++;
    const char *end = e;
    while (end > p && end[-1] == ' ') end--;
    if (end > p) {
      const char *name = arena_strndup(w->a, p, (size_t)(end - p));
      if (!name) return diag_oom(d);
      Node *n = ir_graph_find_node(w->g, name);
      QCfg q;
      if (!n || !has_weights(n, &q)) {
        const char **cands = arena_alloc(w->a, sizeof *cands * (size_t)(w->g->nnodes + 1));
        StrBuf ok;
        sb_init(&ok);
        int nc = 0;
        for (const Node *m = w->g->first; m; m = m->next) {
          if (cands) cands[nc++] = m->name;
          if (has_weights(m, &q)) sb_printf(&ok, "%s%s", ok.len ? ", " : "", m->name);
        }
        const char *hint = n || !cands ? NULL : diag_closest(name, cands, nc);
        diag_error(d, pass_arg_loc(w->args, "nodes"), "report-weights: %s '%s'%s%s%s; quantized nodes with weights: %s",
                   n ? "no quantized weights in node" : "no node named", name, hint ? " (did you mean '" : "",
                   hint ? hint : "", hint ? "'?)" : "", ok.len ? sb_str(&ok) : "none (run quantize first)");
        sb_free(&ok);
        return JS_ERR;
      }
      if (strmap_put(sel, n->name, n)) return diag_oom(d);
    }
    p = e;
  }
  return JS_OK;
}

Status pass_report_weights(Graph *g, const PassArgs *args, PassContext *ctx) {
  if (!ctx->data || !ctx->data->param)
    return diag_error(ctx->diag, (SrcLoc){0}, "report-weights needs weights (jscc ... --ckpt FILE): none are loaded");
  RW w = {.g = g, .ctx = ctx, .args = args, .a = arena_new(), .max_rows = pass_arg_int(args, "max_rows")};
  if (!w.a) return diag_oom(ctx->diag);
  StrMap sel;
  strmap_init(&sel);
  StrBuf sb;
  sb_init(&sb);
  w.sb = &sb;
  const char *list = pass_arg_str(args, "nodes");
  Status st = select_nodes(&w, list, &sel);
  bool all = sel.len == 0;
  sb_printf(&sb, "Weights of %s, float and quantized (values to 4 decimals):\n", g->name);
  int shown = 0;
  for (const Node *n = g->first; n && !st; n = n->next) {
    QCfg q;
    if (!has_weights(n, &q) || (!all && !strmap_get(&sel, n->name))) continue;
    st = report_node(&w, n, &q);
    shown++;
  }
  if (!st && !shown) sb_puts(&sb, "no quantized node has a weight or bias format (run quantize first)\n");
  if (!st && sb.oom) st = diag_oom(ctx->diag);
  if (!st) st = pass_emit_report("report-weights", &sb, args, ctx);
  sb_free(&sb);
  strmap_free(&sel);
  arena_free(w.a);
  return st;
}
