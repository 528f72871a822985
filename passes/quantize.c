/* quantize.c — the `quantize` transform: MASE's quantize_transform_pass (mase_facts.md §6) on
 * jscc's IR, where a quantized node keeps its op and carries its config (spec/quant.md).
 *
 *   --passes='quantize{by=type, default={name=NA}, linear={name=integer, data_in_width=8,
 *             data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8,
 *             bias_frac_width=4}}'
 *
 * or, from a config file, MASE's own tables ([passes.quantize] by="type",
 * [passes.quantize.linear.config] ...).  Every option other than `by` and `default` is an
 * entry: an op name (by=type), a node name (by=name) or a POSIX extended regular expression
 * that must match a whole node name (by=regex_name; quote it in --passes).  An entry's value
 * is the config, or MASE's {config={...}} around it.  A node takes the entry that matches it
 * (regexes: the first, in the order written), else `default` when MASE's pass would visit it
 * (its QUANTIZEABLE_OP list: not batch_norm1d); name="NA" leaves it alone.
 *
 * Checks, each naming the entry and key: an op that is not quantizable or unknown (with "did
 * you mean"), a node name that does not exist, a regex that does not compile or matches no
 * quantizable node, and every config error of ir_qcfg_decode (unknown key, width 0 or above
 * 32, frac_width above width, ...).  Configs of by=type entries are checked even when the
 * graph has no such op, so a typo never passes silently.
 *
 * Differences from MASE, on purpose: batch_norm1d is quantizable (folded form, spec/quant.md
 * §3) where an entry names it; the caller's options are not mutated (MASE pops `by`); a node name or regex that
 * matches nothing is an error, not a silent no-op.  When the `metadata` pass has run, the
 * node's common.args/results entries get the format's type and precision (integer: "fixed",
 * [width, frac_width]), as MASE records them.  The pass prints nothing (a dump after it
 * parses back); summarize-quant reports what changed. */
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "passes.h"

typedef enum By { BY_TYPE, BY_NAME, BY_REGEX } By;

typedef struct Entry {
  const char *key;
  const Value *cfg; /* unwrapped */
  regex_t re;
  bool has_re;
  int matched;
} Entry;

static const Value *unwrap(const Value *v) {
  if (v && v->kind == VAL_DICT && v->u.dict.n == 1 && strcmp(v->u.dict.keys[0], "config") == 0) return &v->u.dict.vals[0];
  return v;
}

static bool node_quantizable(const Node *n) {
  return (n->op == OP_CALL_MODULE || n->op == OP_CALL_FUNCTION || n->op == OP_CALL_METHOD) && ir_op_quantizable(n->mop);
}

/* MASE's QUANTIZEABLE_OP (passes/graph/transforms/quantize/quantize.py): the ops its
 * quantize pass visits at all, so the only ones `default` applies to.  jscc quantizes
 * batch_norm1d too, but only where an entry names it (by type, name or regex), so that a
 * MASE config quantizes exactly what MASE quantizes. */
static const char *const mase_quantizeable[] = {
    "add",         "bmm",        "conv1d",          "conv2d",   "convtranspose2d", "matmul",   "mul",
    "linear",      "relu",       "sub",             "batch_norm2d", "layer_norm",  "group_norm",
    "instance_norm2d", "rms_norm", "selu",          "tanh",     "gelu",            "softsign", "softplus",
    "grouped_query_attention",
};

static bool default_applies(const Node *n) {
  const OpInfo *oi = ir_op_info(n->mop);
  for (size_t i = 0; oi && i < sizeof mase_quantizeable / sizeof mase_quantizeable[0]; i++)
    if (strcmp(oi->name, mase_quantizeable[i]) == 0) return true;
  return false;
}

static int quantizable_op_names(const char **out, int cap) {
  int n = 0;
  for (int i = 0; i < MOP_COUNT && n < cap; i++)
    if (ir_op_quantizable((MaseOp)i)) out[n++] = ir_op_info((MaseOp)i)->name;
  return n;
}

/* ---- the pass ---- */

static Status check_entry(Graph *g, By by, Entry *e, Diag *d, SrcLoc at) {
  if (by == BY_TYPE) {
    MaseOp op = ir_op_lookup(e->key);
    if (op == MOP_NONE || !ir_op_quantizable(op)) {
      const char *names[MOP_COUNT];
      int n = quantizable_op_names(names, MOP_COUNT);
      const char *h = diag_closest(e->key, names, n);
      return diag_error(d, at, "quantize: '%s' is %s (by=type entries name ops: linear, conv1d, batch_norm1d, "
                        "relu, tanh, matmul, add, sub, mul)%s%s%s", e->key,
                        op == MOP_NONE ? "not an op" : "an op that cannot be quantized", h ? "; did you mean '" : "",
                        h ? h : "", h ? "'?" : "");
    }
    /* check the config against the op even if the graph has none */
    char what[128];
    snprintf(what, sizeof what, "quantize: %s.config", e->key);
    QCfg q;
    bool skip;
    return ir_qcfg_decode(op, e->cfg, what, &q, &skip, d, at);
  }
  if (by == BY_NAME) {
    Node *n = ir_graph_find_node(g, e->key);
    if (!n) {
      const char *names[512];
      int k = 0;
      for (Node *m = g->first; m && k < 512; m = m->next)
        if (node_quantizable(m)) names[k++] = m->name;
      const char *h = diag_closest(e->key, names, k);
      return diag_error(d, at, "quantize: by=name entry '%s' names no node of model '%s'%s%s%s", e->key, g->name,
                        h ? " (did you mean '" : "", h ? h : "", h ? "'?)" : "");
    }
    if (!node_quantizable(n)) {
      const OpInfo *oi = ir_op_info(n->mop);
      return diag_error(d, n->loc, "quantize: node '%s' computes %s, which cannot be quantized", n->name,
                        oi ? oi->name : ir_node_kind_name(n->op));
    }
    return JS_OK;
  }
  char *pat = NULL;
  size_t len = strlen(e->key);
  if (!(pat = ir_malloc(len + 5))) return diag_oom(d);
  snprintf(pat, len + 5, "^(%s)$", e->key);
  int rc = regcomp(&e->re, pat, REG_EXTENDED | REG_NOSUB);
  ir_free(pat);
  if (rc) {
    char msg[128];
    regerror(rc, &e->re, msg, sizeof msg);
    return diag_error(d, at, "quantize: by=regex_name entry '%s' is not a valid regular expression: %s", e->key, msg);
  }
  e->has_re = true;
  return JS_OK;
}

Status pass_quantize(Graph *g, const PassArgs *args, PassContext *ctx) {
  Diag *d = ctx->diag;
  SrcLoc at = pass_arg_loc(args, "*"); /* a config file's first entry; nothing for --passes */
  const char *bys = pass_arg_str(args, "by");
  By by = strcmp(bys, "name") == 0 ? BY_NAME : strcmp(bys, "regex_name") == 0 ? BY_REGEX : BY_TYPE;
  const Value *def = unwrap(pass_arg_value(args, "default"));
  const Value *rest = pass_arg_value(args, "*");
  int ne = rest->kind == VAL_DICT ? rest->u.dict.n : 0;
  Entry *es = ne ? ir_calloc((size_t)ne, sizeof *es) : NULL;
  if (ne && !es) return diag_oom(d);
  Status st = JS_OK;
  for (int i = 0; i < ne && !st; i++) {
    es[i].key = rest->u.dict.keys[i];
    es[i].cfg = unwrap(&rest->u.dict.vals[i]);
    st = check_entry(g, by, &es[i], d, at);
  }
  for (Node *n = g->first; n && !st; n = n->next) {
    if (!node_quantizable(n)) continue;
    const OpInfo *oi = ir_op_info(n->mop);
    const Value *cfg = NULL;
    const char *from = "default";
    for (int i = 0; i < ne && !cfg; i++) {
      bool m = by == BY_TYPE ? strcmp(es[i].key, oi->name) == 0
               : by == BY_NAME ? strcmp(es[i].key, n->name) == 0
                               : regexec(&es[i].re, n->name, 0, NULL, 0) == 0;
      if (m) {
        cfg = es[i].cfg;
        from = es[i].key;
        es[i].matched++;
      }
    }
    Value filtered;
    if (!cfg && !default_applies(n)) continue;
    if (!cfg) {
      /* the default spans ops with and without parameters: weight and bias keys apply only
       * where the op has them */
      cfg = def;
      if (cfg && cfg->kind == VAL_DICT && !ir_op_has_qslot(n->mop, QS_WEIGHT)) {
        int k = 0;
        filtered = (Value){.kind = VAL_DICT};
        filtered.u.dict.keys = arena_alloc(g->arena, sizeof(char *) * (size_t)(cfg->u.dict.n + 1));
        filtered.u.dict.vals = arena_alloc(g->arena, sizeof(Value) * (size_t)(cfg->u.dict.n + 1));
        if (!filtered.u.dict.keys || !filtered.u.dict.vals) {
          st = diag_oom(d);
          break;
        }
        for (int i = 0; i < cfg->u.dict.n; i++) {
          const char *key = cfg->u.dict.keys[i];
          if (strncmp(key, "weight_", 7) == 0 || strncmp(key, "bias_", 5) == 0) continue;
          filtered.u.dict.keys[k] = key;
          filtered.u.dict.vals[k++] = cfg->u.dict.vals[i];
        }
        filtered.u.dict.n = k;
        cfg = &filtered;
      }
    }
    if (!cfg || cfg->kind == VAL_NONE) continue;
    char what[160];
    snprintf(what, sizeof what, "quantize: %s.config (node '%s')", from, n->name);
    if ((st = ir_node_set_quant(n, cfg, what, d))) break;
    pass_metadata_quant(n);
  }
  for (int i = 0; i < ne && !st; i++)
    if (by == BY_REGEX && !es[i].matched)
      st = diag_error(d, at, "quantize: by=regex_name entry '%s' matches no quantizable node of model '%s'",
                      es[i].key, g->name);
  for (int i = 0; i < ne; i++)
    if (es[i].has_re) regfree(&es[i].re);
  ir_free(es);
  if (st) return st;
  return JS_OK;
}
