/* manager.c — the pass registry, pipeline strings and the runner.
 *
 * The registry below is the one list of passes: name, function, help and options schema.
 * --list-passes, pipeline parsing and "did you mean" all read it.
 *
 * pipeline := step ("," step)*
 * step     := name ["{" [option (sep option)* [","]] "}"]    sep := "," or blanks
 * option   := key "=" value
 * value    := bare text up to a space, ',' or '}' | "'" text "'" | '"' text '"'   (\ escapes)
 *
 * A pass that needs another's results names it in `requires`.  When the pipeline has not run
 * that pass before, the parser inserts it as an implicit step (marked so), so "metadata" alone
 * runs shape then metadata, and "shape,dce,metadata" runs shape once. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"

static const PassOption cost_opts[] = {
    {"file", OPT_STR, "", NULL, "also write the table to this file (atomically)"},
};
static const PassOption dce_opts[] = {
    {"verbose", OPT_BOOL, "false", NULL, "write how many nodes were removed (and which) to the report"},
};
static const PassOption metadata_opts[] = {
    {"unsqueeze", OPT_BOOL, "true", NULL, "record 1-D parameter shapes as [1,n], as MASE does (bias [5] -> [1,5])"},
};
static const PassOption report_graph_opts[] = {
    {"file", OPT_STR, "", NULL, "also write the report to this file (atomically)"},
};
static const PassOption grad_opts[] = {
    {"target", OPT_STR, "target", NULL, "name of the class-index input the pass adds"},
};
static const PassOption quantize_opts[] = {
    {"by", OPT_ENUM, "type", "type|name|regex_name", "match entries against each node's op, its name, or a regex over its name"},
    {"default", OPT_VALUE, "", NULL, "config for quantizable nodes no entry matches ({name=NA}: leave them)"},
    {"*", OPT_VALUE, "", NULL, "OP|NODE|REGEX={name=integer, data_in_width=8, ...}: one entry per op, node or regex "
                               "(Python's re.fullmatch); MASE's report, baseline_weight_path, load_type: ignored"},
};
static const PassOption intervals_opts[] = {
    {"weights", OPT_BOOL, "true", NULL, "use the loaded weights' actual codes for the (w) columns (false: format bounds only)"},
    {"file", OPT_STR, "", NULL, "also write the table to this file (atomically)"},
};
static const PassOption params_opts[] = {
    {"file", OPT_STR, "", NULL, "also write the table to this file (atomically)"},
};
static const PassOption summarize_quant_opts[] = {
    {"save_dir", OPT_STR, "", NULL, "write quantize_table.csv and quantize_histogram.csv here (default: the output directory)"},
};
static const PassOption report_weights_opts[] = {
    {"nodes", OPT_STR, "", NULL, "comma-separated node names (default: every quantized node with weights)"},
    {"max_rows", OPT_INT, "8", NULL, "rows (last dim) shown per tensor; 0: statistics only, -1: all"},
    {"file", OPT_STR, "", NULL, "also write the report to this file (atomically)"},
};
static const PassOption profile_opts[] = {
    {"by", OPT_ENUM, "type", "type|name", "match weight_nodes/activation_nodes against each node's mase_op or its name"},
    {"weight_nodes", OPT_VALUE, "[linear]", NULL, "nodes whose parameters and buffers are profiled"},
    {"activation_nodes", OPT_VALUE, "[relu]", NULL, "nodes whose data inputs are profiled over the samples"},
    {"weight_stats", OPT_VALUE, "{variance_precise={}}", NULL, "{stat={kwarg=value}}: variance_precise, variance_online, range_min_max, range_quantile, range_n_sigma, abs_mean"},
    {"activation_stats", OPT_VALUE, "{range_quantile={quantile=0.975}}", NULL, "the same for the activations"},
    {"num_samples", OPT_INT, "32", NULL, "input rows the activations are profiled over"},
    {"batch_size", OPT_INT, "8", NULL, "rows per model run"},
    {"file", OPT_STR, "", NULL, "also write the report to this file (atomically)"},
    {"target_weight_nodes", OPT_VALUE, "", NULL, "MASE's name for weight_nodes (wins when given)"},
    {"target_activation_nodes", OPT_VALUE, "", NULL, "MASE's name for activation_nodes (wins when given)"},
    {"weight_statistics", OPT_VALUE, "", NULL, "MASE's name for weight_stats (wins when given)"},
    {"activation_statistics", OPT_VALUE, "", NULL, "MASE's name for activation_stats (wins when given)"},
};
static const PassOption report_meta_opts[] = {
    {"which", OPT_VALUE, "[all]", NULL, "param columns: all, common, software, or a list of them"},
    {"file", OPT_STR, "", NULL, "save FILE.csv and FILE.json (default: <output dir>/report_meta.{csv,json})"},
    {"save_path", OPT_STR, "", NULL, "MASE's option: also write the table to this file (atomically)"},
};

#define NOPT(a) (int)(sizeof(a) / sizeof((a)[0]))

/* The registry, in --list-passes order. */
static const PassInfo registry[] = {
    {"cost", pass_cost,
     "cost metrics of a quantized graph: MASE's average bitwidth, bit operations (BOPs), an analytic LUT count",
     cost_opts, NOPT(cost_opts), false, "shape"},
    {"dce", pass_dce, "remove nodes whose results are unused, to a fixed point (fx's eliminate_dead_code)",
     dce_opts, NOPT(dce_opts), true, NULL},
    {"grad", pass_grad,
     "autodiff: add the cross-entropy loss on the logits and the backward graph (runs shape first)", grad_opts,
     NOPT(grad_opts), true, "shape"},
    {"intervals", pass_intervals,
     "integer ranges of integer-quantized nodes: accumulator bound and width, f32 exactness, requantization shift",
     intervals_opts, NOPT(intervals_opts), false, "shape"},
    {"metadata", pass_metadata,
     "MASE node metadata: mase_type, mase_op, common args/results, software stat skeleton (runs shape first)",
     metadata_opts, NOPT(metadata_opts), true, "shape"},
    {"params", pass_params, "table of parameters and buffers per node and module, with totals", params_opts,
     NOPT(params_opts), false, NULL},
    {"profile", pass_profile,
     "MASE's profile_statistics_analysis_pass: weight and activation statistics into software metadata",
     profile_opts, NOPT(profile_opts), false, "metadata"},
    {"quantize", pass_quantize,
     "MASE's quantize_transform_pass: attach number-format configs to nodes by op type, name or regex (spec/quant.md)",
     quantize_opts, NOPT(quantize_opts), true, NULL},
    {"report-graph", pass_report_graph,
     "MASE's report_graph_analysis_pass: fx graph text, node counts by op, layer types", report_graph_opts,
     NOPT(report_graph_opts), false, NULL},
    {"report-meta", pass_report_meta,
     "MASE's report_node_meta_param_analysis_pass: node metadata as a grid table, CSV and JSON",
     report_meta_opts, NOPT(report_meta_opts), false, "metadata"},
    {"report-weights", pass_report_weights,
     "quantized nodes' weights and biases, float next to quantized (and integer codes), with error statistics",
     report_weights_opts, NOPT(report_weights_opts), false, NULL},
    {"shape", pass_shape, "infer every node's dtype and shape; reports every independent error", NULL, 0, true,
     NULL},
    {"summarize-quant", pass_summarize_quant,
     "MASE's summarize_quantization_analysis_pass: per-node original/quantized types, histogram, CSVs",
     summarize_quant_opts, NOPT(summarize_quant_opts), false, NULL},
    {"verify", pass_verify, "check the graph's invariants (ir_verify, fx's lint)", NULL, 0, false, NULL},
};
#define NPASSES NOPT(registry)

int pass_count(void) {
  return NPASSES;
}

const PassInfo *pass_info(int i) {
  return i >= 0 && i < NPASSES ? &registry[i] : NULL;
}

const PassInfo *pass_lookup(const char *name) {
  for (int i = 0; i < NPASSES; i++)
    if (strcmp(registry[i].name, name) == 0) return &registry[i];
  return NULL;
}

static const char *opt_type_name(const PassOption *o) {
  switch (o->type) {
  case OPT_INT: return "int";
  case OPT_FLOAT: return "float";
  case OPT_BOOL: return "bool";
  case OPT_STR: return "str";
  case OPT_ENUM: return o->allowed;
  case OPT_VALUE: return "value";
  }
  return "?";
}

void pass_list(StrBuf *sb) {
  sb_puts(sb, "Passes (--passes='name,name{key=value key2=value2}'):\n");
  for (int i = 0; i < NPASSES; i++) {
    const PassInfo *p = &registry[i];
    sb_printf(sb, "  %-17s%s\n", p->name, p->help);
    for (int j = 0; j < p->noptions; j++) {
      const PassOption *o = &p->options[j];
      size_t start = sb->len;
      sb_printf(sb, "      %s=%s", o->key, o->type == OPT_STR && !*o->def ? "\"\"" : o->def);
      sb_pad(sb, 28, sb->len - start);
      sb_printf(sb, "(%s) %s\n", opt_type_name(o), o->help);
    }
  }
}

/* ---- option values ---- */

static int opt_index(const PassInfo *p, const char *key) {
  for (int i = 0; i < p->noptions; i++)
    if (strcmp(p->options[i].key, key) == 0) return i;
  return -1;
}

static const Value *arg_val(const PassArgs *a, const char *key) {
  static const Value none = {.kind = VAL_NONE};
  int i = a && a->pass ? opt_index(a->pass, key) : -1;
  return i >= 0 && a->vals ? &a->vals[i] : &none;
}

int64_t pass_arg_int(const PassArgs *a, const char *key) {
  const Value *v = arg_val(a, key);
  return v->kind == VAL_INT ? v->u.i : 0;
}

double pass_arg_float(const PassArgs *a, const char *key) {
  const Value *v = arg_val(a, key);
  return v->kind == VAL_FLOAT ? v->u.f : 0;
}

bool pass_arg_bool(const PassArgs *a, const char *key) {
  const Value *v = arg_val(a, key);
  return v->kind == VAL_BOOL && v->u.b;
}

const char *pass_arg_str(const PassArgs *a, const char *key) {
  const Value *v = arg_val(a, key);
  return v->kind == VAL_STR ? v->u.s : "";
}

const Value *pass_arg_value(const PassArgs *a, const char *key) {
  return arg_val(a, key);
}

SrcLoc pass_arg_loc(const PassArgs *a, const char *key) {
  int i = a && a->pass ? opt_index(a->pass, key) : -1;
  return i >= 0 && a->locs ? a->locs[i] : (SrcLoc){0};
}

/* One component of a dotted key, as TOML writes it: bare when it can be, else quoted. */
static void put_key(StrBuf *sb, const char *k) {
  bool bare = *k != 0;
  for (const char *c = k; *c && bare; c++) bare = isalnum((unsigned char)*c) || *c == '_' || *c == '-';
  if (bare) {
    sb_puts(sb, k);
    return;
  }
  sb_put_json_str(sb, k); /* a JSON string is a TOML basic string */
}

SrcLoc pass_arg_path_loc(const PassArgs *a, const char *const *path, int n) {
  if (!a || !a->loc) return (SrcLoc){0};
  StrBuf sb;
  sb_init(&sb);
  if (a->loc_prefix && *a->loc_prefix) sb_puts(&sb, a->loc_prefix);
  for (int i = 0; i < n; i++) {
    if (sb.len) sb_putc(&sb, '.');
    put_key(&sb, path[i]);
  }
  SrcLoc l = sb.oom ? (SrcLoc){0} : a->loc(a->loc_ud, sb_str(&sb));
  sb_free(&sb);
  return l;
}

static Status read_nested_text(Arena *a, const PassInfo *p, const PassOption *o, const char *text, Value *out,
                               Diag *d);

/* Reads one option's text as its schema type. */
static Status read_value(Arena *a, const PassInfo *p, const PassOption *o, const char *text, Value *out,
                         Diag *d) {
  char *end;
  errno = 0;
  switch (o->type) {
  case OPT_INT: {
    long long v = strtoll(text, &end, 10);
    if (!*text || *end || errno) break;
    *out = val_int(v);
    return JS_OK;
  }
  case OPT_FLOAT: {
    double v = strtod(text, &end);
    if (!*text || *end || errno || !isfinite(v)) break;
    *out = val_float(v);
    return JS_OK;
  }
  case OPT_BOOL:
    if (strcmp(text, "true") == 0 || strcmp(text, "1") == 0) {
      *out = val_bool(true);
      return JS_OK;
    }
    if (strcmp(text, "false") == 0 || strcmp(text, "0") == 0) {
      *out = val_bool(false);
      return JS_OK;
    }
    diag_error(d, (SrcLoc){0}, "--passes: option '%s' of pass '%s' expects a bool (true or false), got '%s'",
               o->key, p->name, text);
    return JS_EUSAGE;
  case OPT_ENUM: {
    size_t n = strlen(text);
    for (const char *s = o->allowed; *s;) {
      const char *e = strchr(s, '|');
      size_t len = e ? (size_t)(e - s) : strlen(s);
      if (len == n && strncmp(s, text, n) == 0) goto str;
      s += len + (e ? 1 : 0);
    }
    diag_error(d, (SrcLoc){0}, "--passes: option '%s' of pass '%s' expects one of %s, got '%s'", o->key,
               p->name, o->allowed, text);
    return JS_EUSAGE;
  }
  case OPT_STR: goto str;
  case OPT_VALUE: return read_nested_text(a, p, o, text, out, d);
  }
  diag_error(d, (SrcLoc){0}, "--passes: option '%s' of pass '%s' expects %s %s, got '%s'", o->key, p->name,
             o->type == OPT_INT ? "an" : "a", opt_type_name(o), text);
  return JS_EUSAGE;
str : {
  const char *s = arena_strdup(a, text);
  if (!s) return diag_oom(d);
  *out = val_str(s);
  return JS_OK;
}
}

/* ---- parsing ---- */

typedef struct Parser {
  const char *text; /* the whole pipeline */
  const char *p;    /* the cursor */
  Pipeline *pl;     /* being built */
  int cap;          /* steps allocated */
  Diag *d;
} Parser;

static void skip_ws(Parser *ps) {
  while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n') ps->p++;
}

static int column(const Parser *ps) {
  return (int)(ps->p - ps->text) + 1;
}

static size_t ident_len(const char *p) {
  size_t n = 0;
  while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '-') n++;
  return n;
}

/* "what was found" for syntax errors: the character, or "the end". */
static const char *found(const Parser *ps, char buf[8]) {
  if (!*ps->p) return "the end";
  snprintf(buf, 8, "'%c'", *ps->p);
  return buf;
}

/* ---- nested values (OPT_VALUE) ----
 * nested := "{" [key "=" nested {sep key "=" nested} [","]] "}" | "[" [nested {sep nested} [","]] "]"
 *         | quoted | bare          key := word | quoted          sep := "," or blanks
 * A bare word is true/false, None, an integer, a float, or else a string. */
#define NESTED_MAX_DEPTH 32

static Value bare_value(Arena *a, const char *s, bool *oom) {
  if (strcmp(s, "true") == 0) return val_bool(true);
  if (strcmp(s, "false") == 0) return val_bool(false);
  if (strcmp(s, "None") == 0) return val_none();
  char *end;
  errno = 0;
  long long i = strtoll(s, &end, 10);
  if (*s && !*end && !errno) return val_int(i);
  errno = 0;
  double f = strtod(s, &end);
  if (*s && !*end && !errno && isfinite(f)) return val_float(f);
  const char *c = arena_strdup(a, s);
  if (!c) *oom = true;
  return val_str(c ? c : "");
}

static Status nested_err(Parser *ps, const char *what, const char *key) {
  char buf[8];
  diag_error(ps->d, (SrcLoc){0}, "--passes: in the value of option '%s': expected %s at column %d, found %s", key, what,
             column(ps), found(ps, buf));
  return JS_EUSAGE;
}

/* A quoted string or a bare token into sb (empty bare token: nothing read). */
static Status nested_token(Parser *ps, const char *key, StrBuf *sb, bool *quoted) {
  char q = *ps->p;
  *quoted = q == '\'' || q == '"';
  if (*quoted) {
    ps->p++;
    while (*ps->p && *ps->p != q) {
      if (*ps->p == '\\' && ps->p[1]) ps->p++;
      sb_putc(sb, *ps->p++);
    }
    if (!*ps->p) {
      diag_error(ps->d, (SrcLoc){0}, "--passes: unterminated %c-quoted string in the value of option '%s'", q, key);
      return JS_EUSAGE;
    }
    ps->p++;
    return JS_OK;
  }
  while (*ps->p && !strchr(" \t\n,}{=[]", *ps->p)) sb_putc(sb, *ps->p++);
  return JS_OK;
}

static Status parse_nested(Parser *ps, Arena *a, const char *key, Value *out, int depth);

/* Items of a list or entries of a dict up to `close`. */
static Status parse_nested_seq(Parser *ps, Arena *a, const char *key, Value *out, char close, int depth) {
  int n = 0, cap = 0;
  Value *vals = NULL;
  const char **keys = NULL;
  bool dict = close == '}';
  ps->p++;
  for (;;) {
    skip_ws(ps);
    if (*ps->p == close) {
      ps->p++;
      break;
    }
    if (!*ps->p) return nested_err(ps, dict ? "'}'" : "']'", key);
    if (n == cap) {
      int nc = cap ? cap * 2 : 8;
      Value *nv = arena_alloc(a, sizeof(Value) * (size_t)nc);
      const char **nk = arena_alloc(a, sizeof(char *) * (size_t)nc);
      if (!nv || !nk) return diag_oom(ps->d);
      if (n) {
        memcpy(nv, vals, sizeof(Value) * (size_t)n);
        memcpy(nk, keys, sizeof(char *) * (size_t)n);
      }
      vals = nv, keys = nk, cap = nc;
    }
    if (dict) {
      StrBuf sb;
      sb_init(&sb);
      bool quoted;
      Status st = nested_token(ps, key, &sb, &quoted);
      const char *k = st || (!sb.len && !quoted) ? NULL : arena_strdup(a, sb_str(&sb));
      sb_free(&sb);
      if (st) return st;
      if (!k) return sb.len || quoted ? diag_oom(ps->d) : nested_err(ps, "a key", key);
      for (int j = 0; j < n; j++)
        if (strcmp(keys[j], k) == 0) {
          diag_error(ps->d, (SrcLoc){0}, "--passes: in the value of option '%s': key '%s' is given twice", key, k);
          return JS_EUSAGE;
        }
      skip_ws(ps);
      if (*ps->p != '=') return nested_err(ps, "'='", key);
      ps->p++;
      skip_ws(ps);
      keys[n] = k;
    }
    Status st = parse_nested(ps, a, key, &vals[n], depth + 1);
    if (st) return st;
    n++;
    skip_ws(ps);
    if (*ps->p == ',') ps->p++;
  }
  if (dict) *out = (Value){.kind = VAL_DICT, .u.dict = {n, keys, vals}};
  else *out = (Value){.kind = VAL_LIST, .u.seq = {n, vals}};
  return JS_OK;
}

static Status parse_nested(Parser *ps, Arena *a, const char *key, Value *out, int depth) {
  if (depth > NESTED_MAX_DEPTH) {
    diag_error(ps->d, (SrcLoc){0}, "--passes: the value of option '%s' nests deeper than %d", key, NESTED_MAX_DEPTH);
    return JS_EUSAGE;
  }
  skip_ws(ps);
  if (*ps->p == '{') return parse_nested_seq(ps, a, key, out, '}', depth);
  if (*ps->p == '[') return parse_nested_seq(ps, a, key, out, ']', depth);
  StrBuf sb;
  sb_init(&sb);
  bool quoted, oom = false;
  Status st = nested_token(ps, key, &sb, &quoted);
  if (!st && !quoted && !sb.len) st = nested_err(ps, "a value", key);
  if (!st) {
    if (quoted) {
      const char *c = arena_strdup(a, sb_str(&sb));
      if (!c) oom = true;
      *out = val_str(c ? c : "");
    } else {
      *out = bare_value(a, sb_str(&sb), &oom);
    }
  }
  if (!st && (oom || sb.oom)) st = diag_oom(ps->d);
  sb_free(&sb);
  return st;
}

static Status read_nested_text(Arena *a, const PassInfo *p, const PassOption *o, const char *text, Value *out,
                               Diag *d) {
  Parser ps = {.text = text, .p = text, .d = d};
  if (!*text) {
    *out = val_none();
    return JS_OK;
  }
  Status st = parse_nested(&ps, a, o->key, out, 0);
  skip_ws(&ps);
  if (!st && *ps.p) st = nested_err(&ps, "the end of the value", o->key);
  (void)p;
  return st;
}

/* The open option ("*"): every key the schema does not name lands in its dict. */
static Status open_put(Arena *a, Value *dict, const char *key, Value v, Diag *d, const char *pass) {
  for (int j = 0; dict->kind == VAL_DICT && j < dict->u.dict.n; j++)
    if (strcmp(dict->u.dict.keys[j], key) == 0) {
      diag_error(d, (SrcLoc){0}, "--passes: option '%s' of pass '%s' is given twice", key, pass);
      return JS_EUSAGE;
    }
  const char *k = arena_strdup(a, key);
  if (!k || val_dict_set(a, dict, k, v)) return diag_oom(d);
  return JS_OK;
}

static Status add_step(Parser *ps, const PassInfo *p, bool implicit, PipelineStep **out) {
  Pipeline *pl = ps->pl;
  if (pl->nsteps == ps->cap) {
    int cap = ps->cap ? ps->cap * 2 : 8;
    PipelineStep *s = arena_alloc(pl->arena, sizeof *s * (size_t)cap);
    if (!s) return diag_oom(ps->d);
    if (pl->nsteps) memcpy(s, pl->steps, sizeof *s * (size_t)pl->nsteps);
    pl->steps = s;
    ps->cap = cap;
  }
  PipelineStep *st = &pl->steps[pl->nsteps++];
  memset(st, 0, sizeof *st);
  st->pass = p;
  st->implicit = implicit;
  st->args.pass = p;
  if (p->noptions) {
    if (!(st->args.vals = arena_alloc(pl->arena, sizeof(Value) * (size_t)p->noptions))) return diag_oom(ps->d);
    for (int i = 0; i < p->noptions; i++) {
      Status s = read_value(pl->arena, p, &p->options[i], p->options[i].def, &st->args.vals[i], ps->d);
      if (s) return s;
    }
  }
  *out = st;
  return JS_OK;
}

static void list_names(StrBuf *sb, const char *const *names, int n) {
  for (int i = 0; i < n; i++) sb_printf(sb, "%s%s", i ? ", " : "", names[i]);
}

/* MASE's passes that jscc does not have (chop/passes/graph PASSES and the cases of its
 * transform action, the module passes, and the removed TensorRT/ONNX ones): a config that
 * names one is refused with that said, not as an unknown pass. */
static const char *const mase_only[] = {
    "init_metadata", "add_common_metadata", "add_software_metadata", "report_node_shape", "report_node_type",
    "calculate_avg_bits", "add_pruning_metadata", "add_natural_sparsity", "hook_inspection",
    "verify_common_metadata", "verify_metadata", "verify_software_metadata", "load_mase_graph",
    "load_node_meta_param", "save_mase_graph", "save_node_meta_param", "onnxruntime", "onnx", "onnx_annotate",
    "prune", "prune_detach_hook", "remove_prune_wrappers", "conv_bn_fusion", "logicnets_fusion", "tensorrt",
    "tensorrt_fake_quantize", "tensorrt_calibrate", "tensorrt_fine_tune", "runtime_analysis", "raise_granularity",
    "patch_metadata", "insert_lora_adapter", "fuse_lora_weights", "autosharding", "resharding", "attention_swap",
    "add_movement_metadata", "export_fx_graph", "emit_verilog", "emit_internal_rtl", "emit_bram", "emit_cocotb",
    "emit_vivado_project", "emit_mlir_hls", "emit_logicnets",
};

static bool is_mase_only(const char *name) {
  for (size_t i = 0; i < sizeof mase_only / sizeof mase_only[0]; i++)
    if (strcmp(name, mase_only[i]) == 0) return true;
  return false;
}

static Status unknown_pass(Parser *ps, const char *name) {
  if (is_mase_only(name)) {
    diag_error(ps->d, (SrcLoc){0}, "--passes: MASE's '%s' pass is not available in jscc (jscc's passes: jscc "
               "--list-passes)", name);
    return JS_EUSAGE;
  }
  const char *names[NPASSES];
  for (int i = 0; i < NPASSES; i++) names[i] = registry[i].name;
  const char *hint = diag_closest(name, names, NPASSES);
  StrBuf sb;
  sb_init(&sb);
  list_names(&sb, names, NPASSES);
  diag_error(ps->d, (SrcLoc){0}, "--passes: unknown pass '%s'%s%s%s; valid passes: %s", name,
             hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "", sb_str(&sb));
  sb_free(&sb);
  return JS_EUSAGE;
}

static Status unknown_option(Parser *ps, const PassInfo *p, const char *key) {
  if (!p->noptions) {
    diag_error(ps->d, (SrcLoc){0}, "--passes: pass '%s' takes no options, got '%s'", p->name, key);
    return JS_EUSAGE;
  }
  const char *names[16];
  int n = 0;
  for (int i = 0; i < p->noptions && n < 16; i++) names[n++] = p->options[i].key;
  const char *hint = diag_closest(key, names, n);
  StrBuf sb;
  sb_init(&sb);
  list_names(&sb, names, n);
  diag_error(ps->d, (SrcLoc){0}, "--passes: pass '%s' has no option '%s'%s%s%s; valid options: %s", p->name, key,
             hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "", sb_str(&sb));
  sb_free(&sb);
  return JS_EUSAGE;
}

/* value := bare | quoted; the text goes to `sb`. */
static Status parse_value(Parser *ps, const PassInfo *p, const char *key, StrBuf *sb) {
  char q = *ps->p;
  if (q == '\'' || q == '"') {
    ps->p++;
    while (*ps->p && *ps->p != q) {
      if (*ps->p == '\\' && ps->p[1]) ps->p++;
      sb_putc(sb, *ps->p++);
    }
    if (!*ps->p) {
      diag_error(ps->d, (SrcLoc){0}, "--passes: unterminated %c-quoted value of option '%s' of pass '%s'", q, key,
                 p->name);
      return JS_EUSAGE;
    }
    ps->p++;
    return JS_OK;
  }
  const char *s = ps->p;
  while (*ps->p && !strchr(" \t\n,}{=", *ps->p)) ps->p++;
  if (ps->p == s) {
    char buf[8];
    diag_error(ps->d, (SrcLoc){0}, "--passes: option '%s' of pass '%s' has no value (column %d, found %s)", key,
               p->name, column(ps), found(ps, buf));
    return JS_EUSAGE;
  }
  sb_putn(sb, s, (size_t)(ps->p - s));
  return JS_OK;
}

/* options := "{" [option {sep option} [","]] "}"    sep := blanks | [blanks] "," [blanks]
 * An empty "{}" is no options; one trailing comma is allowed, as in the IR text's dicts, but
 * not a comma alone ("{,}") or a doubled one ("{a=1,,b=2}"). */
static Status parse_options(Parser *ps, PipelineStep *step) {
  const PassInfo *p = step->pass;
  bool set[16] = {0};
  int open = column(ps);
  ps->p++; /* '{' */
  skip_ws(ps);
  if (*ps->p == '}') {
    ps->p++;
    return JS_OK;
  }
  int open_idx = opt_index(p, "*");
  for (;;) {
    size_t n = ident_len(ps->p);
    char key[256];
    if ((*ps->p == '"' || *ps->p == '\'') && open_idx >= 0) { /* a quoted key: a node name or regex */
      StrBuf kb;
      sb_init(&kb);
      bool quoted;
      Status st = nested_token(ps, p->name, &kb, &quoted);
      if (!st && (kb.len == 0 || kb.len >= sizeof key)) {
        diag_error(ps->d, (SrcLoc){0}, "--passes: an empty or too long quoted key in the options of pass '%s'", p->name);
        st = JS_EUSAGE;
      }
      if (!st) memcpy(key, sb_str(&kb), kb.len + 1);
      sb_free(&kb);
      if (st) return st;
    } else {
      if (n == 0 || n >= sizeof key) {
        char buf[8];
        diag_error(ps->d, (SrcLoc){0}, "--passes: expected an option name for pass '%s' at column %d, found %s",
                   p->name, column(ps), found(ps, buf));
        return JS_EUSAGE;
      }
      memcpy(key, ps->p, n);
      key[n] = 0;
      ps->p += n;
    }
    int idx = strcmp(key, "*") == 0 ? -1 : opt_index(p, key);
    if (idx < 0 && open_idx < 0) return unknown_option(ps, p, key);
    skip_ws(ps);
    if (*ps->p != '=') {
      char buf[8];
      diag_error(ps->d, (SrcLoc){0}, "--passes: expected '=' after option '%s' of pass '%s', found %s", key,
                 p->name, found(ps, buf));
      return JS_EUSAGE;
    }
    ps->p++;
    skip_ws(ps);
    Status st;
    if (idx < 0) { /* the open option collects it */
      Value v;
      if ((st = parse_nested(ps, ps->pl->arena, key, &v, 0)) ||
          (st = open_put(ps->pl->arena, &step->args.vals[open_idx], key, v, ps->d, p->name)))
        return st;
    } else {
      if (set[idx]) {
        diag_error(ps->d, (SrcLoc){0}, "--passes: option '%s' of pass '%s' is given twice", key, p->name);
        return JS_EUSAGE;
      }
      set[idx] = true;
      if (p->options[idx].type == OPT_VALUE) {
        st = parse_nested(ps, ps->pl->arena, key, &step->args.vals[idx], 0);
      } else {
        StrBuf sb;
        sb_init(&sb);
        st = parse_value(ps, p, key, &sb);
        if (!st && sb.oom) st = diag_oom(ps->d);
        if (!st) st = read_value(ps->pl->arena, p, &p->options[idx], sb_str(&sb), &step->args.vals[idx], ps->d);
        sb_free(&sb);
      }
      if (st) return st;
    }
    const char *before = ps->p;
    skip_ws(ps);
    if (*ps->p == '}') {
      ps->p++;
      return JS_OK;
    }
    if (!*ps->p) {
      diag_error(ps->d, (SrcLoc){0}, "--passes: missing '}' after the options of pass '%s' (opened at column %d)",
                 p->name, open);
      return JS_EUSAGE;
    }
    if (*ps->p == ',') {
      ps->p++;
      skip_ws(ps);
      if (*ps->p == '}') { /* one trailing comma, as in the IR text's dicts */
        ps->p++;
        return JS_OK;
      }
    } else if (ps->p == before) {
      char buf[8];
      diag_error(ps->d, (SrcLoc){0}, "--passes: expected ',' or '}' after option '%s' of pass '%s' at column %d, found %s",
                 key, p->name, column(ps), found(ps, buf));
      return JS_EUSAGE;
    }
  }
}

static bool ran_before(const Pipeline *pl, const char *name) {
  for (int i = 0; i < pl->nsteps; i++)
    if (strcmp(pl->steps[i].pass->name, name) == 0) return true;
  return false;
}

/* The passes p requires that the pipeline has not run yet, innermost first (profile needs
 * metadata, which needs shape), as implicit steps. */
static Status add_required(Parser *ps, const PassInfo *p, int depth) {
  if (!p->requires || ran_before(ps->pl, p->requires) || depth > 8) return JS_OK;
  const PassInfo *req = pass_lookup(p->requires);
  if (!req) return JS_OK;
  Status st = add_required(ps, req, depth + 1);
  PipelineStep *step;
  if (!st) st = add_step(ps, req, true, &step);
  return st;
}

static Status parse_pipeline(Parser *ps) {
  for (;;) {
    skip_ws(ps);
    size_t n = ident_len(ps->p);
    if (n == 0) {
      char buf[8];
      if (!*ps->p && ps->pl->nsteps == 0)
        diag_error(ps->d, (SrcLoc){0}, "--passes: the pipeline is empty");
      else
        diag_error(ps->d, (SrcLoc){0}, "--passes: expected a pass name at column %d, found %s", column(ps),
                   found(ps, buf));
      return JS_EUSAGE;
    }
    char name[64];
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, ps->p, n);
    name[n] = 0;
    ps->p += ident_len(ps->p);
    const PassInfo *p = pass_lookup(name);
    if (!p) return unknown_pass(ps, name);
    PipelineStep *step;
    Status st;
    if ((st = add_required(ps, p, 0))) return st;
    if ((st = add_step(ps, p, false, &step))) return st;
    skip_ws(ps);
    if (*ps->p == '{' && (st = parse_options(ps, step))) return st;
    skip_ws(ps);
    if (!*ps->p) return JS_OK;
    if (*ps->p != ',') {
      char buf[8];
      diag_error(ps->d, (SrcLoc){0}, "--passes: expected ',' or '{' after pass '%s' at column %d, found %s", p->name,
                 column(ps), found(ps, buf));
      return JS_EUSAGE;
    }
    ps->p++;
  }
}

Status pass_pipeline_parse(const char *text, Pipeline **out, Diag *d) {
  *out = NULL;
  Pipeline *pl = ir_calloc(1, sizeof *pl);
  if (!pl) return diag_oom(d);
  if (!(pl->arena = arena_new())) {
    ir_free(pl);
    return diag_oom(d);
  }
  Parser ps = {.text = text, .p = text, .pl = pl, .d = d};
  Status st = parse_pipeline(&ps);
  if (st) {
    pass_pipeline_free(pl);
    return st;
  }
  *out = pl;
  return JS_OK;
}

void pass_pipeline_free(Pipeline *pl) {
  if (!pl) return;
  arena_free(pl->arena);
  ir_free(pl);
}

bool pass_pipeline_has(const Pipeline *pl, const char *name) {
  return pl && name && ran_before(pl, name);
}

Status pass_check_dump_after(const Pipeline *pl, const char *name, Diag *d) {
  if (!name || strcmp(name, "all") == 0 || pass_pipeline_has(pl, name)) return JS_OK;
  StrBuf sb;
  sb_init(&sb);
  const char *names[64];
  int n = 0;
  for (int i = 0; pl && i < pl->nsteps && n < 64; i++) {
    names[n++] = pl->steps[i].pass->name;
    sb_printf(&sb, "%s%s", i ? ", " : "", pl->steps[i].pass->name);
  }
  const char *hint = diag_closest(name, names, n);
  if (!pass_lookup(name) && !hint) {
    const char *all[NPASSES];
    for (int i = 0; i < NPASSES; i++) all[i] = registry[i].name;
    hint = diag_closest(name, all, NPASSES);
  }
  bool known = pass_lookup(name) != NULL;
  diag_error(d, (SrcLoc){0}, "--dump-after: %s '%s'%s%s%s%s; the pipeline runs: %s", known ? "pass" : "unknown pass",
             name, known ? " is not in the pipeline" : "", hint ? " (did you mean '" : "", hint ? hint : "",
             hint ? "'?)" : "", n ? sb_str(&sb) : "nothing");
  sb_free(&sb);
  return JS_EUSAGE;
}

/* ---- running ---- */

/* "in pass 'metadata' (after: verify, shape)": the note torch.fx's pass manager gives. */
static void failure_note(PassContext *ctx, const Pipeline *pl, int i, const char *what) {
  StrBuf sb;
  sb_init(&sb);
  for (int j = 0; j < i; j++) sb_printf(&sb, "%s%s", j ? ", " : "", pl->steps[j].pass->name);
  const PipelineStep *s = &pl->steps[i];
  const char *for_pass = s->implicit && i + 1 < pl->nsteps ? pl->steps[i + 1].pass->name : NULL;
  diag_note(ctx->diag, (SrcLoc){0}, "%s pass '%s'%s%s%s (%s%s)", what, s->pass->name,
            for_pass ? ", run implicitly before '" : "", for_pass ? for_pass : "", for_pass ? "'" : "",
            i ? "after: " : "it ran first", sb_str(&sb));
  sb_free(&sb);
}

Status pass_pipeline_run(const Pipeline *pl, Graph *g, PassContext *ctx) {
  for (int i = 0; i < pl->nsteps; i++) {
    const PipelineStep *s = &pl->steps[i];
    Status st = s->pass->fn(g, &s->args, ctx);
    if (!st && ctx->report && ctx->report->oom) st = diag_oom(ctx->diag);
    if (st) {
      failure_note(ctx, pl, i, "in");
      return st;
    }
#ifdef JSCC_VERIFY_EACH_PASS
    if (s->pass->changes_graph && (st = ir_verify(g, ctx->diag))) {
      failure_note(ctx, pl, i, "the graph is broken after");
      return st;
    }
#endif
    if (ctx->dump && ctx->dump_after &&
        (strcmp(ctx->dump_after, "all") == 0 || strcmp(ctx->dump_after, s->pass->name) == 0))
      ctx->dump(ctx->dump_ud, g, s->pass->name);
  }
  return JS_OK;
}

Status pass_emit_report(const char *pass, const StrBuf *sb, const PassArgs *args, PassContext *ctx) {
  const char *file = pass_arg_str(args, "file");
  Status st = JS_OK;
  if (*file && (st = sb_write_file(sb, file)) != JS_OK) {
    if (st == JS_ENOMEM) return diag_oom(ctx->diag);
    diag_error(ctx->diag, (SrcLoc){0}, "%s: cannot write '%s': %s", pass, file, strerror(errno));
    return st;
  }
  if (ctx->report) sb_puts(ctx->report, sb_str(sb));
  return JS_OK;
}

Status pass_run_text(const char *text, Graph *g, Diag *d) {
  Pipeline *pl = NULL;
  Status st = pass_pipeline_parse(text, &pl, d);
  if (!st) {
    PassContext ctx = {.diag = d};
    st = pass_pipeline_run(pl, g, &ctx);
  }
  pass_pipeline_free(pl);
  return st;
}

/* ---- pipelines from config files ---- */

/* MASE's pass names as a config file writes them, and jscc's. */
static const char *const mase_alias[][2] = {
    {"profile_statistics", "profile"},       {"report_node_meta_param", "report-meta"},
    {"summarize_quantization", "summarize-quant"}, {"report_graph", "report-graph"},
    {"report_weights", "report-weights"},
};

static const PassInfo *lookup_config_name(const char *name) {
  for (size_t i = 0; i < sizeof mase_alias / sizeof mase_alias[0]; i++)
    if (strcmp(name, mase_alias[i][0]) == 0) return pass_lookup(mase_alias[i][1]);
  char buf[64];
  size_t n = strlen(name);
  if (n >= sizeof buf) return NULL;
  for (size_t i = 0; i <= n; i++) buf[i] = name[i] == '_' ? '-' : name[i];
  return pass_lookup(buf);
}

typedef struct CfgCtx {
  const char *prefix;
  SrcLoc (*loc)(void *ud, const char *path);
  void *ud;
  Diag *d;
} CfgCtx;

/* "prefix.pass" as a dotted key, in the pipeline's arena (NULL when out of memory). */
static const char *cfg_pass_path(Arena *a, const CfgCtx *c, const char *pass) {
  StrBuf sb;
  sb_init(&sb);
  if (c->prefix && *c->prefix) sb_printf(&sb, "%s.", c->prefix);
  put_key(&sb, pass);
  const char *s = sb.oom ? NULL : arena_strdup(a, sb_str(&sb));
  sb_free(&sb);
  return s;
}

static SrcLoc cfg_loc(const CfgCtx *c, const char *pass, const char *key) {
  PassArgs a = {.loc = c->loc, .loc_ud = c->ud, .loc_prefix = c->prefix};
  const char *path[2] = {pass, key};
  return pass_arg_path_loc(&a, path, key ? 2 : 1);
}

/* True when text is one of the '|'-separated values. */
static bool enum_allows(const char *allowed, const char *text) {
  size_t n = strlen(text);
  for (const char *s = allowed; *s;) {
    const char *e = strchr(s, '|');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    if (len == n && strncmp(s, text, n) == 0) return true;
    s += len + (e ? 1 : 0);
  }
  return false;
}

static Status cfg_option(const CfgCtx *c, Arena *a, const char *pname, const PassOption *o, const Value *v, Value *out,
                         SrcLoc at) {
  const char *want = NULL;
  switch (o->type) {
  case OPT_INT:
    if (v->kind == VAL_INT) {
      *out = *v;
      return JS_OK;
    }
    want = "an integer";
    break;
  case OPT_FLOAT:
    if (v->kind == VAL_INT || v->kind == VAL_FLOAT) {
      *out = val_float(v->kind == VAL_INT ? (double)v->u.i : v->u.f);
      return JS_OK;
    }
    want = "a number";
    break;
  case OPT_BOOL:
    if (v->kind == VAL_BOOL) {
      *out = *v;
      return JS_OK;
    }
    want = "true or false";
    break;
  case OPT_STR:
  case OPT_ENUM:
    if (o->type == OPT_ENUM && v->kind == VAL_STR && !enum_allows(o->allowed, v->u.s)) {
      diag_error(c->d, at, "passes.%s.%s: expected one of %s, got '%s'", pname, o->key, o->allowed, v->u.s);
      return JS_EUSAGE;
    }
    if (v->kind == VAL_STR || (o->type == OPT_STR && v->kind == VAL_LIST)) {
      StrBuf sb;
      sb_init(&sb);
      if (v->kind == VAL_STR) sb_puts(&sb, v->u.s);
      bool ok = true;
      for (int i = 0; v->kind == VAL_LIST && i < v->u.seq.n; i++) {
        if (v->u.seq.items[i].kind != VAL_STR) ok = false;
        else sb_printf(&sb, "%s%s", i ? "," : "", v->u.seq.items[i].u.s);
      }
      Status st = ok ? read_value(a, lookup_config_name(pname), o, sb_str(&sb), out, c->d) : JS_EUSAGE;
      sb_free(&sb);
      if (ok && st == JS_EUSAGE) diag_note(c->d, at, "in this config file");
      if (ok) return st;
    }
    want = o->type == OPT_ENUM ? o->allowed : "a string";
    break;
  case OPT_VALUE:
    if (val_copy(a, v, out)) return diag_oom(c->d);
    return JS_OK;
  }
  diag_error(c->d, at, "passes.%s.%s: expected %s, got %s", pname, o->key, want, val_kind_name(v));
  return JS_EUSAGE;
}

Status pass_pipeline_from_value(const Value *passes, const char *prefix, SrcLoc (*loc)(void *ud, const char *path),
                                void *ud, Pipeline **out, Diag *d) {
  *out = NULL;
  CfgCtx c = {.prefix = prefix, .loc = loc, .ud = ud, .d = d};
  if (!passes || passes->kind != VAL_DICT || passes->u.dict.n == 0) {
    diag_error(d, loc && prefix ? loc(ud, prefix) : (SrcLoc){0}, "%s: the config has no passes ([passes.NAME] tables)",
               prefix ? prefix : "passes");
    return JS_EUSAGE;
  }
  Pipeline *pl = ir_calloc(1, sizeof *pl);
  if (!pl || !(pl->arena = arena_new())) {
    ir_free(pl);
    return diag_oom(d);
  }
  Parser ps = {.text = "", .p = "", .pl = pl, .d = d};
  Status st = JS_OK;
  for (int i = 0; !st && i < passes->u.dict.n; i++) {
    const char *name = passes->u.dict.keys[i];
    const Value *opts = &passes->u.dict.vals[i];
    SrcLoc at = cfg_loc(&c, name, NULL);
    const PassInfo *p = lookup_config_name(name);
    if (!p && is_mase_only(name)) {
      diag_error(d, at, "passes.%s: MASE's '%s' pass is not available in jscc (jscc's passes: jscc --list-passes)",
                 name, name);
      st = JS_EUSAGE;
      break;
    }
    if (!p) {
      const char *names[NPASSES];
      for (int j = 0; j < NPASSES; j++) names[j] = registry[j].name;
      const char *hint = diag_closest(name, names, NPASSES);
      diag_error(d, at, "passes.%s: unknown pass '%s'%s%s%s", name, name, hint ? " (did you mean '" : "",
                 hint ? hint : "", hint ? "'?)" : "");
      st = JS_EUSAGE;
      break;
    }
    if (opts->kind == VAL_BOOL && opts->u.b) opts = NULL; /* report_graph = true */
    else if (opts->kind != VAL_DICT) {
      diag_error(d, at, "passes.%s: expected a table of options, got %s", name, val_kind_name(opts));
      st = JS_EUSAGE;
      break;
    }
    PipelineStep *step;
    if ((st = add_required(&ps, p, 0))) break;
    if ((st = add_step(&ps, p, false, &step))) break;
    step->args.loc = loc;
    step->args.loc_ud = ud;
    if (loc && !(step->args.loc_prefix = cfg_pass_path(pl->arena, &c, name))) {
      st = diag_oom(d);
      break;
    }
    if (p->noptions && !(step->args.locs = arena_alloc(pl->arena, sizeof(SrcLoc) * (size_t)p->noptions))) {
      st = diag_oom(d);
      break;
    }
    int open_idx = opt_index(p, "*");
    for (int k = 0; opts && !st && k < opts->u.dict.n; k++) {
      const char *key = opts->u.dict.keys[k];
      SrcLoc kat = cfg_loc(&c, name, key);
      int idx = strcmp(key, "*") == 0 ? -1 : opt_index(p, key);
      if (idx < 0 && open_idx < 0) {
        const char *names[16];
        int n = 0;
        for (int j = 0; j < p->noptions && n < 16; j++) names[n++] = p->options[j].key;
        const char *hint = diag_closest(key, names, n);
        diag_error(d, kat, "passes.%s: pass '%s' has no option '%s'%s%s%s", name, p->name, key,
                   hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
        st = JS_EUSAGE;
      } else if (idx < 0) {
        Value v;
        if (val_copy(pl->arena, &opts->u.dict.vals[k], &v)) st = diag_oom(d);
        else st = open_put(pl->arena, &step->args.vals[open_idx], key, v, d, p->name);
        if (!step->args.locs[open_idx].file) step->args.locs[open_idx] = kat; /* the first entry's */
      } else {
        st = cfg_option(&c, pl->arena, name, &p->options[idx], &opts->u.dict.vals[k], &step->args.vals[idx], kat);
        step->args.locs[idx] = kat;
      }
    }
  }
  if (st) {
    pass_pipeline_free(pl);
    return st;
  }
  *out = pl;
  return JS_OK;
}
