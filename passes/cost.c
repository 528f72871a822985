/* cost.c — what a quantized model costs, from its graph alone (spec/quant.md, "Cost metrics"):
 * MASE's average bitwidth, Hawks et al.'s bit operations (BOPs) and an analytic LUT count,
 * for a quantization search that ranks thousands of configurations and cannot synthesise
 * each one (codegen/hwcost.c estimates an emitted design; this needs no lowering and no
 * integer-only model).
 *
 * Every linear and conv1d node is a layer (call_module or call_function), quantized or not.
 * Per layer, with its config's widths (32 for a float slot or an unquantized node):
 *   n    fan-in of one output element: the weight's elements per output channel
 *        (linear: in_features; conv1d: in_channels/groups * kernel_size)
 *   m    output elements per sample: the result's numel without the batch dimension
 *   b_a  data_in width; b_w weight width; p the fraction of non-zero Q_w(W) (1 unknown)
 *   bops = m n (p b_a b_w + b_a + b_w + log2 n)
 *   A    = b_a + b_w + ceil(log2 n), the accumulator's bits; Y = data_out width, else A
 *   X    = n b_a, the bits one output neuron reads
 *   lut  = m * (X <= 12 ? min(table, arith) : arith), with
 *          table = Y for X <= 6 (a LUT6 per output bit), else LogicNets' (Y/3)(2^(X-4) - (-1)^X)
 *          arith = p n b_a b_w / 2 + (p n - 1 + bias) A, floored at 0
 * average_bitwidth = sum(in out b_w) / sum(in out) over quantized layers only (MASE's
 * hw_runner: in, out = the weight's dims 1 and 0), 32 when none is quantized. */
#include <math.h>
#include <string.h>

#include "passes.h"

/* One layer's numbers. */
typedef struct CostLayer {
  const Node *node;
  int64_t in, out;   /* MASE's in * out: the weight's dims 1 and 0 */
  int64_t n, m;      /* fan-in, outputs per sample */
  int ba, bw, y;     /* activation, weight and neuron output widths */
  bool quant;        /* the node is quantized (not bypassed) */
  bool bias;         /* the layer adds a bias */
  bool known;        /* p comes from the weights' values */
  int64_t numel, nz; /* weight elements, non-zero quantized ones */
  double bops, lut;
} CostLayer;


static const Value *arg_of(const Node *n, int i, const char *name) {
  if (i < n->nargs) return &n->args[i];
  for (int k = 0; k < n->nkwargs; k++)
    if (strcmp(n->kwnames[k], name) == 0) return &n->kwargs[k];
  return NULL;
}

/* The weight's type and parameter (NULL when the weight is a computed tensor), the bias flag. */
static const TensorType *weight_of(const Node *n, const Param **wp, bool *bias) {
  *wp = NULL;
  if (n->op == OP_CALL_MODULE) {
    *wp = ir_module_param(n->module, "weight");
    *bias = ir_module_param(n->module, "bias") != NULL;
    return *wp ? &(*wp)->type : NULL;
  }
  const Value *w = arg_of(n, 1, "weight"), *b = arg_of(n, 2, "bias");
  *bias = b && b->kind == VAL_NODE;
  if (!w || w->kind != VAL_NODE) return NULL;
  const Node *wn = w->u.node;
  if (wn->op == OP_GET_ATTR && wn->param) *wp = wn->param;
  return *wp ? &(*wp)->type : wn->has_type ? &wn->type : NULL;
}

/* Non-zero elements of Q_w(W) (of W when the weight is float); -1 when no values are loaded. */
static int64_t nonzero(const Param *wp, const QCfg *q, bool wq, const PassData *data, Diag *d, bool *oom) {
  const float *v = wp && data && data->param ? data->param(data->ud, wp) : NULL;
  if (!v) return -1;
  int64_t numel = ir_type_numel(&wp->type), row = wp->type.dims[wp->type.rank - 1].size, nz = 0;
  float *t = ir_malloc(sizeof(float) * (size_t)(numel ? numel : 1));
  if (!t) {
    *oom = true;
    diag_oom(d);
    return -1;
  }
  if (wq) ir_quant_tensor(&q->fmt[QS_WEIGHT], v, t, numel, row);
  else memcpy(t, v, sizeof(float) * (size_t)numel);
  for (int64_t i = 0; i < numel; i++) nz += t[i] != 0;
  ir_free(t);
  return nz;
}

/* LogicNets' LUTCost(X, Y) of an X-input, Y-output truth table (a LUT6 per bit up to X = 6). */
static double table_luts(double x, double y) {
  if (x <= 6) return y;
  return y / 3 * (ldexp(1, (int)x - 4) - (fmod(x, 2) == 0 ? 1 : -1));
}

/* bops and lut of a layer whose widths and counts are set. */
static void layer_cost(CostLayer *l) {
  double n = (double)l->n, m = (double)l->m, ba = l->ba, bw = l->bw;
  double p = l->known && l->numel > 0 ? (double)l->nz / (double)l->numel : 1.0;
  l->bops = m * n * (p * ba * bw + ba + bw + log2(n));
  double acc = ba + bw + ceil(log2(n));
  double y = l->y > 0 ? l->y : acc, x = n * ba;
  double arith = fmax(0, p * n * ba * bw / 2 + (p * n - 1 + (l->bias ? 1 : 0)) * acc);
  l->lut = m * (x <= 12 ? fmin(table_luts(x, y), arith) : arith);
}

static Status fail(Diag *d, const Node *n, const char *why) {
  return diag_error(d, n->loc, "cost: node '%s': %s", n->name, why);
}

/* The numbers of one linear or conv1d node. */
static Status cost_layer(const Node *n, const PassData *data, CostLayer *l, Diag *d) {
  memset(l, 0, sizeof *l);
  l->node = n;
  const Param *wp;
  const TensorType *wt = weight_of(n, &wp, &l->bias);
  if (!wt || wt->rank < 2) return fail(d, n, "its weight has no known shape");
  if (!n->has_type || n->type.rank < 1) return fail(d, n, "its result has no type (run `shape` first)");
  l->out = wt->dims[0].size;
  l->in = wt->dims[1].size;
  l->numel = ir_type_numel(wt);
  l->n = l->out > 0 ? l->numel / l->out : 0;
  l->m = 1;
  for (int i = n->type.rank == 1 ? 0 : 1; i < n->type.rank; i++) {
    if (n->type.dims[i].size < 0) return fail(d, n, "its result has a symbolic dimension besides the batch");
    l->m *= n->type.dims[i].size;
  }
  if (l->numel < 0 || l->n < 1) return fail(d, n, "its weight has no elements");
  QCfg q;
  memset(&q, 0, sizeof q);
  l->quant = ir_node_qcfg(n, &q);
  bool wq = l->quant && q.has[QS_WEIGHT];
  l->ba = l->quant && q.has[QS_DATA_IN] ? q.fmt[QS_DATA_IN].width : 32;
  l->bw = wq ? q.fmt[QS_WEIGHT].width : 32;
  l->y = l->quant && q.has[QS_DATA_OUT] ? q.fmt[QS_DATA_OUT].width : 0;
  bool oom = false;
  l->nz = nonzero(wp, &q, wq, data, d, &oom);
  if (oom) return JS_ENOMEM;
  l->known = l->nz >= 0;
  layer_cost(l);
  return JS_OK;
}

static bool is_layer(const Node *n) {
  return (n->op == OP_CALL_MODULE || n->op == OP_CALL_FUNCTION) && (n->mop == MOP_LINEAR || n->mop == MOP_CONV1D);
}

/* Adds one layer to the totals (and to the table when sb is given). */
static void add_layer(PassQuantCost *c, const CostLayer *l, double *num, double *den) {
  c->bops += l->bops;
  c->lut_estimate += l->lut;
  c->weights += l->numel;
  if (l->quant) {
    *num += (double)l->in * (double)l->out * l->bw;
    *den += (double)l->in * (double)l->out;
  }
}

/* Runs over every layer; each one also goes to `row` when given. */
static Status cost_all(const Graph *g, const PassData *data, PassQuantCost *out, Diag *d,
                       void (*row)(void *ud, const CostLayer *l), void *ud) {
  memset(out, 0, sizeof *out);
  double num = 0, den = 0;
  for (const Node *n = g->first; n; n = n->next) {
    if (!is_layer(n)) continue;
    CostLayer l;
    Status st = cost_layer(n, data, &l, d);
    if (st) return st;
    add_layer(out, &l, &num, &den);
    if (row) row(ud, &l);
  }
  out->average_bitwidth = den > 0 ? num / den : 32.0;
  return JS_OK;
}

Status pass_quant_cost(const Graph *g, const PassData *data_or_null, PassQuantCost *out, Diag *d) {
  return cost_all(g, data_or_null, out, d, NULL, NULL);
}

/* ---- the `cost` pass: the table, for people ---- */

static void print_row(void *ud, const CostLayer *l) {
  StrBuf *sb = ud;
  char nz[32];
  if (l->known) snprintf(nz, sizeof nz, "%.3f", l->numel ? (double)l->nz / (double)l->numel : 1.0);
  else snprintf(nz, sizeof nz, "-");
  size_t start = sb->len;
  sb_printf(sb, "  %s", l->node->name);
  sb_pad(sb, 22, sb->len - start);
  sb_printf(sb, " %-8s %5s %6lld %6lld %4d %4d %7s %14.0f %10.0f\n", ir_op_info(l->node->mop)->name,
            l->quant ? "yes" : "no", (long long)l->m, (long long)l->n, l->ba, l->bw, nz, l->bops, l->lut);
}

Status pass_cost(Graph *g, const PassArgs *args, PassContext *ctx) {
  StrBuf sb;
  sb_init(&sb);
  sb_printf(&sb, "Cost of %s (for people; spec/quant.md, \"Cost metrics\"):\n", g->name);
  sb_printf(&sb, "  %-20s %-8s %5s %6s %6s %4s %4s %7s %14s %10s\n", "layer", "op", "quant", "m", "n", "b_a", "b_w",
            "nonzero", "bops", "LUTs");
  PassQuantCost c;
  Status st = cost_all(g, ctx->data, &c, ctx->diag, print_row, &sb);
  if (!st) {
    sb_printf(&sb, "  average bitwidth %.4g, %.0f bit operations per sample, about %.0f LUTs, %lld weights\n",
              c.average_bitwidth, c.bops, c.lut_estimate, (long long)c.weights);
    st = sb.oom ? diag_oom(ctx->diag) : pass_emit_report("cost", &sb, args, ctx);
  }
  sb_free(&sb);
  return st;
}
