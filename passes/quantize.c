/* quantize.c — the `quantize` transform: MASE's quantize_transform_pass (mase_facts.md §6) on
 * jscc's IR, where a quantized node keeps its op and carries its config (spec/quant.md).
 *
 *   --passes='quantize{by=type, default={name=NA}, linear={name=integer, data_in_width=8,
 *             data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8,
 *             bias_frac_width=4}}'
 *
 * or, from a config file, MASE's own tables ([passes.quantize] by="type",
 * [passes.quantize.linear.config] ...; spec/config.md §11).  Every option other than `by` and
 * `default` whose value is a table (or "NA") is an entry: an op name (by=type), a node name
 * (by=name) or a regex that must match a whole node name (by=regex_name: Python's
 * re.fullmatch through PCRE2, regex.c; quote it in --passes).  Other keys are MASE's pass
 * arguments (report, baseline_weight_path, load_type: ignored) or refused.  An entry's value
 * is the config, or MASE's {config={...}} around it.  A node takes the entry that matches it
 * (regexes: the first, in the order written), else `default` when MASE's pass would visit it
 * (its QUANTIZEABLE_OP list: not batch_norm1d); name="NA" leaves it alone.
 *
 * Checks, each naming the entry and key and, from a config file, located at the key: an op
 * that is not quantizable or unknown (with "did you mean"), a node name that does not exist,
 * a regex that does not compile or matches no quantizable node, and every config error of
 * ir_qcfg_decode_at (unknown key, width 0 or above 32, frac_width past 64, ...).  Configs of
 * by=type entries are checked even when the graph has no such op, so a typo never passes
 * silently.
 *
 * Differences from MASE, on purpose: batch_norm1d is quantizable (folded form, spec/quant.md
 * §3) where an entry names it; the caller's options are not mutated (MASE pops `by`); a node
 * name or regex that matches nothing is an error, not a silent no-op.  When the `metadata`
 * pass has run, the node's common.args/results entries get the format's type and precision
 * (integer: "fixed", [width, frac_width]), as MASE records them.  The pass prints nothing (a
 * dump after it parses back); summarize-quant reports what changed. */
#include <stdio.h>
#include <string.h>

#include "passes.h"

typedef enum By { BY_TYPE, BY_NAME, BY_REGEX } By;

typedef struct Entry {
  const char *key;
  const Value *cfg; /* unwrapped */
  bool wrapped;     /* written as MASE's {config={...}} */
  SrcLoc at;        /* where the entry was written (a config file's; else nothing) */
  const PassArgs *args;
  PassRegex *re;    /* by=regex_name: the compiled key */
  int matched;
} Entry;

static const Value *unwrap(const Value *v) {
  if (v && v->kind == VAL_DICT && v->u.dict.n == 1 && strcmp(v->u.dict.keys[0], "config") == 0) return &v->u.dict.vals[0];
  return v;
}

/* Where key `key` of an entry's config was written (ir_qcfg_decode_at's locator). */
static SrcLoc entry_key_loc(void *ud, const char *key) {
  const Entry *e = ud;
  const char *path[3] = {e->key, "config", key};
  if (e->wrapped) return pass_arg_path_loc(e->args, path, 3);
  path[1] = key;
  return pass_arg_path_loc(e->args, path, 2);
}

/* MASE reads these keys of its quantize pass's table (or its test harness writes them) as
 * pass arguments, not entries: accepted, and ignored (jscc has no baseline graph to load). */
static const char *const mase_pass_keys[] = {"report", "baseline_weight_path", "load_type"};

/* An entry is a table (a config, or MASE's {config={...}}) or "NA"/None; anything else is a
 * pass-level key. */
static bool is_entry(const Value *v) {
  return v->kind == VAL_DICT || v->kind == VAL_NONE || (v->kind == VAL_STR && strcmp(v->u.s, "NA") == 0);
}

static bool node_quantizable(const Node *n) {
  return (n->op == OP_CALL_MODULE || n->op == OP_CALL_FUNCTION || n->op == OP_CALL_METHOD) && ir_op_quantizable(n->mop);
}

/* MASE's QUANTIZEABLE_OP (passes/graph/transforms/quantize/quantize.py): the ops its
 * quantize pass visits at all, so the only ones `default` applies to.  jscc quantizes
 * batch_norm1d too, but only where an entry names it (by type, name or regex), so that a
 * MASE config quantizes exactly what MASE quantizes. */
static const char *const mase_quantizeable[] = {
    "add",        "bmm",        "conv1d",          "conv2d",   "convtranspose2d", "matmul",
    "mul",        "linear",     "relu",            "sub",      "batch_norm2d",    "layer_norm",
    "group_norm", "instance_norm2d", "rms_norm",   "selu",     "tanh",            "gelu",
    "softsign",   "softplus",   "grouped_query_attention",
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

/* ---- by=regex_name ---- */

/* Compiles e's key as a regex that must match a whole node name (regex.c: MASE's
 * re.fullmatch, in Python's dialect where jscc has PCRE2). */
static Status regex_compile(Entry *e, Diag *d) {
  char msg[256];
  Status st = pass_regex_compile(e->key, &e->re, msg, sizeof msg);
  if (st == JS_ENOMEM) return diag_oom(d);
  if (st)
    return diag_error(d, e->at, "quantize: by=regex_name entry '%s' is not a valid regular expression (%s): %s",
                      e->key, pass_regex_dialect(), msg);
  return JS_OK;
}

static bool regex_match(const Entry *e, const char *name) {
  return pass_regex_fullmatch(e->re, name);
}

static void regex_free(Entry *e) {
  pass_regex_free(e->re);
  e->re = NULL;
}

/* ---- the pass ---- */

/* A config's weight and bias keys apply only where the op has them, as MASE reads only the
 * entries of the op's slots (its configs give ReLU the Linear's keys; the default spans both).
 * *out is cfg itself or a copy without those keys. */
static Status drop_param_keys(Graph *g, MaseOp op, const Value *cfg, const Value **out, Value *filtered, Diag *d) {
  *out = cfg;
  if (!cfg || cfg->kind != VAL_DICT || ir_op_has_qslot(op, QS_WEIGHT)) return JS_OK;
  int k = 0;
  *filtered = (Value){.kind = VAL_DICT};
  filtered->u.dict.keys = arena_alloc(g->arena, sizeof(char *) * (size_t)(cfg->u.dict.n + 1));
  filtered->u.dict.vals = arena_alloc(g->arena, sizeof(Value) * (size_t)(cfg->u.dict.n + 1));
  if (!filtered->u.dict.keys || !filtered->u.dict.vals) return diag_oom(d);
  for (int i = 0; i < cfg->u.dict.n; i++) {
    const char *key = cfg->u.dict.keys[i];
    if (strncmp(key, "weight_", 7) == 0 || strncmp(key, "bias_", 5) == 0) continue;
    filtered->u.dict.keys[k] = key;
    filtered->u.dict.vals[k++] = cfg->u.dict.vals[i];
  }
  filtered->u.dict.n = k;
  *out = filtered;
  return JS_OK;
}

/* Checks the config of entry e for op (errors located at the key that is wrong). */
static Status check_config(const Entry *e, MaseOp op, const char *node, QCfg *q, bool *skip, Diag *d, SrcLoc fallback) {
  char what[192];
  if (node) snprintf(what, sizeof what, "quantize: %s.config (node '%s')", e->key, node);
  else snprintf(what, sizeof what, "quantize: %s.config", e->key);
  return ir_qcfg_decode_at(op, e->cfg, what, q, skip, d, e->at.file ? e->at : fallback, entry_key_loc, (void *)e);
}

/* A by=type entry MASE's pass reads past without a match: one naming a node (MASE's own
 * configs/tests/quantize/ternary_scaled.toml has one) or an op of MASE's that jscc does not
 * have (conv2d, layer_norm, ...), which no jscc graph holds.  Accepted with a warning. */
static bool type_entry_unused(Graph *g, const Entry *e, Diag *d) {
  if (ir_graph_find_node(g, e->key)) {
    diag_warning(d, e->at, "quantize: '%s' names a node, not an op: a by=\"type\" entry names an op, so MASE's pass "
                 "never uses it, nor does jscc's (write by=\"name\" to quantize the node)", e->key);
    return true;
  }
  for (size_t i = 0; i < sizeof mase_quantizeable / sizeof mase_quantizeable[0]; i++)
    if (strcmp(e->key, mase_quantizeable[i]) == 0) {
      diag_warning(d, e->at, "quantize: MASE's op '%s' is not one of jscc's: the entry quantizes nothing", e->key);
      return true;
    }
  return false;
}

static Status check_entry(Graph *g, By by, Entry *e, Diag *d) {
  SrcLoc at = e->at;
  if (by == BY_TYPE) {
    MaseOp op = ir_op_lookup(e->key);
    if (op == MOP_NONE && type_entry_unused(g, e, d)) return JS_OK;
    if (op == MOP_NONE || !ir_op_quantizable(op)) {
      const char *names[MOP_COUNT];
      int n = quantizable_op_names(names, MOP_COUNT);
      const char *h = diag_closest(e->key, names, n);
      StrBuf list;
      sb_init(&list);
      ir_names_list(&list, names, n);
      Status es = diag_error(d, at, "quantize: '%s' is %s (by=type entries name ops: %s)%s%s%s", e->key,
                             op == MOP_NONE ? "not an op" : "an op that cannot be quantized", sb_str(&list),
                             h ? "; did you mean '" : "", h ? h : "", h ? "'?" : "");
      sb_free(&list);
      return es;
    }
    /* check the config against the op even if the graph has none */
    QCfg q;
    bool skip;
    Value filtered;
    Entry fe = *e;
    Status st = drop_param_keys(g, op, e->cfg, &fe.cfg, &filtered, d);
    return st ? st : check_config(&fe, op, NULL, &q, &skip, d, at);
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
      return diag_error(d, at.file ? at : n->loc, "quantize: node '%s' computes %s, which cannot be quantized",
                        n->name, oi ? oi->name : ir_node_kind_name(n->op));
    }
    return JS_OK;
  }
  return regex_compile(e, d);
}

/* A pass-level key of the table that is not an entry: MASE's are accepted and ignored. */
static Status check_pass_key(const char *key, const Value *v, SrcLoc at, Diag *d) {
  for (size_t i = 0; i < sizeof mase_pass_keys / sizeof mase_pass_keys[0]; i++)
    if (strcmp(key, mase_pass_keys[i]) == 0) return JS_OK;
  return diag_error(d, at, "quantize: key '%s' (a %s) is not a config entry (an entry is a table: "
                    "[passes.quantize.%s.config]; the pass-level keys jscc accepts and ignores are MASE's report, "
                    "baseline_weight_path and load_type)", key, val_kind_name(v), key);
}

/* The entries of the pass's table, checked; pass-level keys are skipped. */
static Status collect_entries(Graph *g, By by, const PassArgs *args, Entry *es, int *ne, Diag *d) {
  const Value *rest = pass_arg_value(args, "*");
  int n = rest->kind == VAL_DICT ? rest->u.dict.n : 0;
  *ne = 0;
  for (int i = 0; i < n; i++) {
    const char *key = rest->u.dict.keys[i];
    const Value *v = &rest->u.dict.vals[i];
    SrcLoc at = pass_arg_path_loc(args, &key, 1);
    Status st;
    if (!is_entry(v)) {
      if ((st = check_pass_key(key, v, at, d))) return st;
      continue;
    }
    Entry *e = &es[(*ne)++];
    *e = (Entry){.key = key, .cfg = unwrap(v), .wrapped = unwrap(v) != v, .at = at, .args = args};
    if ((st = check_entry(g, by, e, d))) return st;
  }
  return JS_OK;
}

/* The first entry that matches node n, or NULL.  Every regex that matches counts, even one
 * an earlier one shadows: only a regex that matches no node at all is an error. */
static Entry *match(By by, Entry *es, int ne, const Node *n) {
  const char *op = ir_op_info(n->mop)->name;
  Entry *first = NULL;
  for (int i = 0; i < ne && (!first || by == BY_REGEX); i++) {
    bool m = by == BY_TYPE ? strcmp(es[i].key, op) == 0
             : by == BY_NAME ? strcmp(es[i].key, n->name) == 0
                             : regex_match(&es[i], n->name);
    if (m) es[i].matched++;
    if (m && !first) first = &es[i];
  }
  return first;
}

/* Quantizes node n with entry e's config (cfg: e's, or the default's filtered for n). */
static Status apply(Node *n, const Entry *e, const Value *cfg, Diag *d) {
  if (!cfg || cfg->kind == VAL_NONE) return JS_OK;
  Entry at = *e;
  at.cfg = cfg;
  QCfg q;
  bool skip;
  Status st = check_config(&at, n->mop, n->name, &q, &skip, d, n->loc);
  if (st) return st;
  char what[192];
  snprintf(what, sizeof what, "quantize: %s.config (node '%s')", e->key, n->name);
  if ((st = ir_node_set_quant(n, cfg, what, d))) return st;
  pass_metadata_quant(n);
  return JS_OK;
}

static Status quantize_nodes(Graph *g, By by, Entry *es, int ne, const Entry *def, Diag *d) {
  for (Node *n = g->first; n; n = n->next) {
    if (!node_quantizable(n)) continue;
    const Entry *e = match(by, es, ne, n);
    const Value *cfg = NULL;
    Value filtered;
    Status st;
    if (!e && !default_applies(n)) continue;
    if (!e) e = def;
    if ((st = drop_param_keys(g, n->mop, e->cfg, &cfg, &filtered, d))) return st;
    if ((st = apply(n, e, cfg, d))) return st;
  }
  for (int i = 0; i < ne; i++)
    if (by == BY_REGEX && !es[i].matched)
      return diag_error(d, es[i].at, "quantize: by=regex_name entry '%s' matches no quantizable node of model '%s' "
                        "(read as a whole-name match, %s)", es[i].key, g->name, pass_regex_dialect());
  return JS_OK;
}

Status pass_quantize(Graph *g, const PassArgs *args, PassContext *ctx) {
  Diag *d = ctx->diag;
  const char *bys = pass_arg_str(args, "by");
  By by = strcmp(bys, "name") == 0 ? BY_NAME : strcmp(bys, "regex_name") == 0 ? BY_REGEX : BY_TYPE;
  const Value *dv = pass_arg_value(args, "default");
  Entry def = {.key = "default", .cfg = unwrap(dv), .wrapped = unwrap(dv) != dv, .at = pass_arg_loc(args, "default"),
               .args = args};
  const Value *rest = pass_arg_value(args, "*");
  int cap = rest->kind == VAL_DICT ? rest->u.dict.n : 0, ne = 0;
  Entry *es = cap ? ir_calloc((size_t)cap, sizeof *es) : NULL;
  if (cap && !es) return diag_oom(d);
  Status st = collect_entries(g, by, args, es, &ne, d);
  if (!st) st = quantize_nodes(g, by, es, ne, &def, d);
  for (int i = 0; i < ne; i++) regex_free(&es[i]);
  ir_free(es);
  return st;
}
