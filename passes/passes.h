/* passes/passes.h — the pass layer's table of contents.
 *
 * A pass is one function with one signature (PassFn) and one entry in the registry
 * (passes/manager.c): its name, help text and options schema.  Pipelines are strings,
 *   --passes='shape,metadata{unsqueeze=false},report-graph{file="out/report.txt"}'
 * parsed into a Pipeline and run over a Graph.  The runner names the pass that failed and the
 * passes run before it (torch.fx's pass manager), can call a dump hook after any pass
 * (--dump-after=PASS|all), and under JSCC_VERIFY_EACH_PASS runs ir_verify after every pass
 * that changes the graph.
 *
 * A pass that needs another's results names it in PassInfo.requires; the runner runs that pass
 * first, implicitly, when the pipeline has not run it yet (metadata runs `shape`).
 *
 * Prototypes are grouped under the name of the .c file that defines them.
 */
#ifndef JSCC_PASSES_H
#define JSCC_PASSES_H

#include "ir.h"

/* ==== manager.c: registry, options, pipelines, the runner ==== */

/* OPT_VALUE: a nested value, written as in the IR text: a number, a bare word or a quoted
 * string, true/false/None, [a, b] lists, {key=value, ...} dicts (MASE-style pass_args such as
 * quantize's per-op configs); a config file's table gives the same dict. */
typedef enum OptType { OPT_INT, OPT_FLOAT, OPT_BOOL, OPT_STR, OPT_ENUM, OPT_VALUE } OptType;

/* One option a pass accepts. */
typedef struct PassOption {
  const char *key;     /* "verbose" */
  OptType type;        /* how its text is read */
  const char *def;     /* default, written as a user would write it ("false", "", "type") */
  const char *allowed; /* OPT_ENUM: the values, separated by '|' ("type|name"); else NULL */
  const char *help;    /* one line */
} PassOption;

struct PassInfo;

/* A pass's options for one run: one value per schema entry, defaults filled in.
 * OPT_INT: VAL_INT, OPT_FLOAT: VAL_FLOAT, OPT_BOOL: VAL_BOOL, OPT_STR and OPT_ENUM: VAL_STR. */
typedef struct PassArgs {
  const struct PassInfo *pass; /* whose schema the values follow */
  Value *vals;                 /* pass->noptions values (NULL when it has none) */
  SrcLoc *locs;                /* pass->noptions locations (NULL: none known) */
  /* A config file's pipeline: where any key below the pass's table was written, by its path
   * from there ("linear.config.weight_width"; see pass_arg_path_loc).  NULL for --passes. */
  SrcLoc (*loc)(void *ud, const char *path);
  void *loc_ud;
  const char *loc_prefix; /* the pass's table as a dotted key: "passes.quantize" (NULL: the root) */
} PassArgs;

/* Data a pass may need beyond the graph, supplied by the tool that runs the pipeline (a pass
 * never reaches into the runtime or codegen; tools/jscc.c fills this from the runtime). */
typedef struct PassData {
  void *ud; /* passed back to the callbacks */
  /* The float values of a parameter or buffer (ir_type_numel(&p->type) of them, row-major),
   * or NULL when no weights are loaded (the pass then says so or skips weight statistics). */
  const float *(*param)(void *ud, const Param *p);
  /* Runs g in eval mode over the first num_samples inputs of the sample source, batch_size
   * rows at a time, and calls fn once per batch for each of the nnodes nodes with that node's
   * result: vals holds rows x row_numel floats, row-major (k: the node's index in `nodes`).
   * g must be shaped; nodes must be non-output nodes of g with tensor results.  NULL when
   * the tool has no data (the pass reports that activations cannot be profiled). */
  Status (*sample)(void *ud, const Graph *g, int64_t num_samples, int64_t batch_size,
                   const Node *const *nodes, int nnodes,
                   Status (*fn)(void *fud, int k, const float *vals, int64_t rows, int64_t row_numel),
                   void *fud, Diag *d);
  const char *source; /* for reports: where the samples come from ("JSC train split (synthetic)") */
} PassData;

/* What a running pass may use besides the graph. */
typedef struct PassContext {
  Diag *diag;             /* errors */
  StrBuf *report;         /* analysis passes write their human-readable reports here (may be NULL) */
  const char *dump_after; /* NULL, a pass name, or "all" */
  void (*dump)(void *ud, const Graph *g, const char *after_pass); /* called after a matching pass */
  void *dump_ud;          /* passed to dump */
  const PassData *data;   /* weights and samples (NULL: none) */
  const char *out_dir;    /* where report passes write their files by default (NULL: nowhere) */
} PassContext;

typedef Status (*PassFn)(Graph *g, const PassArgs *args, PassContext *ctx);

/* One registry entry. */
typedef struct PassInfo {
  const char *name;          /* as written in pipelines: "report-graph" */
  PassFn fn;                 /* the pass */
  const char *help;          /* one line for --list-passes */
  const PassOption *options; /* its options schema */
  int noptions;
  bool changes_graph;        /* a transform: ir_verify runs after it under JSCC_VERIFY_EACH_PASS */
  const char *requires;      /* a pass run implicitly first if the pipeline has not run it, or NULL */
} PassInfo;

int pass_count(void);                       /* entries in the registry */
const PassInfo *pass_info(int i);           /* the i-th, in --list-passes order; NULL out of range */
const PassInfo *pass_lookup(const char *name); /* NULL when unknown */
/* --list-passes: each pass's name and help, then its options with types and defaults. */
void pass_list(StrBuf *sb);

/* Option values inside a pass (the key must be in the pass's schema: a bug otherwise). */
int64_t pass_arg_int(const PassArgs *a, const char *key);
double pass_arg_float(const PassArgs *a, const char *key);
bool pass_arg_bool(const PassArgs *a, const char *key);
const char *pass_arg_str(const PassArgs *a, const char *key); /* OPT_STR and OPT_ENUM */
const Value *pass_arg_value(const PassArgs *a, const char *key); /* OPT_VALUE: VAL_NONE when not given */
/* Where option `key` was written (a config file's file:line:col), or SrcLoc{0} for --passes. */
SrcLoc pass_arg_loc(const PassArgs *a, const char *key);
/* Where a key below the pass's table was written: `path` is its components below the table,
 * n of them, each a raw key (quoted here as TOML needs); SrcLoc{0} for --passes or an
 * unknown key. */
SrcLoc pass_arg_path_loc(const PassArgs *a, const char *const *path, int n);
/* A report pass's output: written to its `file` option (atomically) when set, and appended
 * to ctx->report. */
Status pass_emit_report(const char *pass, const StrBuf *sb, const PassArgs *args, PassContext *ctx);

/* A parsed pipeline: passes with their options, in order. */
typedef struct PipelineStep {
  const PassInfo *pass; /* the registry entry */
  PassArgs args;        /* its options */
  bool implicit;        /* inserted because a later step requires it (not written by the user) */
} PipelineStep;

typedef struct Pipeline {
  Arena *arena;         /* owns the steps and option values */
  PipelineStep *steps;
  int nsteps;
} Pipeline;

/* Parses "name,name{key=value key2='a b'},name{k=v,k2=v2}".  Errors (unknown pass or option,
 * bad value, syntax) go to `d` at SrcLoc{0}, start with "--passes: ", list the valid names
 * and suggest the closest; they return JS_EUSAGE (JS_ENOMEM on OOM).  *out is NULL then. */
Status pass_pipeline_parse(const char *text, Pipeline **out, Diag *d);
/* A pipeline from a config file's passes table (spec/config.md): each key names a pass, in
 * file order (MASE's names are accepted too: profile_statistics, report_node_meta_param,
 * summarize_quantization, report_graph; '_' reads as '-'), its table holds the options.
 * `loc(ud, "prefix.pass.key")` gives locations for messages (may be NULL). */
Status pass_pipeline_from_value(const Value *passes, const char *prefix, SrcLoc (*loc)(void *ud, const char *path),
                                void *ud, Pipeline **out, Diag *d);
void pass_pipeline_free(Pipeline *pl);
/* True when `name` runs under this pipeline: one of its steps, or a pass a step requires. */
bool pass_pipeline_has(const Pipeline *pl, const char *name);
/* Checks a --dump-after value against the pipeline: NULL and "all" are fine, a pass that runs
 * is fine; anything else is reported ("--dump-after: ...") and gives JS_EUSAGE. */
Status pass_check_dump_after(const Pipeline *pl, const char *name, Diag *d);
/* Runs the steps in order over `g`.  On failure it adds
 *   note: in pass 'shape' (after: verify, dce)
 * and returns the failing pass's status.  Passes named in `requires` run first when needed. */
Status pass_pipeline_run(const Pipeline *pl, Graph *g, PassContext *ctx);
/* Parse `text` and run it over g with no report or dumps: the one call tools and tests need
 * ("shape,grad"). */
Status pass_run_text(const char *text, Graph *g, Diag *d);

/* ==== the passes, one file each ==== */

/* shape.c: sets every node's type via ir_infer_type; reports every independent error. */
Status pass_shape(Graph *g, const PassArgs *args, PassContext *ctx);
/* verify.c: ir_verify as a pass. */
Status pass_verify(Graph *g, const PassArgs *args, PassContext *ctx);
/* dce.c: removes nodes whose results are unused, to a fixed point. */
Status pass_dce(Graph *g, const PassArgs *args, PassContext *ctx);

/* ==== grad.c ==== */
Status pass_grad(Graph *g, const PassArgs *args, PassContext *ctx);
/* metadata.c: MASE's init_metadata + add_common_metadata + add_software_metadata. */
Status pass_metadata(Graph *g, const PassArgs *args, PassContext *ctx);
/* A quantized node's common metadata (when present) records its formats: the type and
 * precision of each quantized arg and result (quantize calls it; metadata too). */
void pass_metadata_quant(Node *n);
/* report_graph.c: MASE's report_graph_analysis_pass (fx graph text, op counts, layer types). */
Status pass_report_graph(Graph *g, const PassArgs *args, PassContext *ctx);
/* The fx `print(graph)` text ("graph():\n    %x : [num_users=1] = placeholder[target=x]...").
 * For people: it is torch.fx's format, not jscc's IR text, and does not parse back. */
void pass_fx_graph_text(StrBuf *sb, const Graph *g);
/* quantize.c: MASE's quantize_transform_pass; configs on nodes (spec/quant.md). */
Status pass_quantize(Graph *g, const PassArgs *args, PassContext *ctx);

/* ==== regex.c: by=regex_name patterns, matched as Python's re.fullmatch ==== */
typedef struct PassRegex PassRegex;
/* Compiles pat (any bytes, NUL-terminated): JS_ERR with the reason in err, JS_ENOMEM. */
Status pass_regex_compile(const char *pat, PassRegex **out, char *err, size_t errlen);
/* True when the pattern matches the whole of s. */
bool pass_regex_fullmatch(const PassRegex *r, const char *s);
void pass_regex_free(PassRegex *r); /* NULL is allowed */
/* The dialect this build reads, for messages: Python's (PCRE2), or POSIX extended. */
const char *pass_regex_dialect(void);
/* params.c: parameters and buffers per node and module, with totals. */
Status pass_params(Graph *g, const PassArgs *args, PassContext *ctx);
/* summarize_quant.c: MASE's summarize_quantization_analysis_pass (per-node table, histogram, CSVs). */
Status pass_summarize_quant(Graph *g, const PassArgs *args, PassContext *ctx);
/* report_weights.c: quantized nodes' parameters, float and quantized side by side (needs weights). */
Status pass_report_weights(Graph *g, const PassArgs *args, PassContext *ctx);
/* profile.c: MASE's profile_statistics_analysis_pass (weight and activation statistics into software metadata). */
Status pass_profile(Graph *g, const PassArgs *args, PassContext *ctx);
/* report_meta.c: MASE's report_node_meta_param_analysis_pass (grid table; CSV and JSON files). */
Status pass_report_meta(Graph *g, const PassArgs *args, PassContext *ctx);
/* intervals.c: integer ranges, accumulator widths and requantization shifts of integer-quantized nodes. */
Status pass_intervals(Graph *g, const PassArgs *args, PassContext *ctx);

/* ==== cost.c: what a quantized model costs (spec/quant.md, "Cost metrics") ==== */

/* What a quantized model costs, from its graph alone (after `shape` and `quantize`).  Every
 * linear and conv1d node is a layer; widths are its config's, 32 for a float slot. */
typedef struct PassQuantCost {
  double average_bitwidth; /* MASE's: sum(in*out*weight_width) / sum(in*out) over quantized linear and conv1d
                              layers (in, out: the weight's dims 1 and 0); 32 when none is quantized; a float
                              weight slot counts 32 */
  double bops;             /* bit operations per sample, Hawks et al. (2021): per layer m*n*(p*b_a*b_w + b_a + b_w
                              + log2 n), m outputs per sample, n fan-in, p the fraction of non-zero quantized
                              weights (1 without weights) */
  double lut_estimate;     /* analytic LUT count: LogicNets' LUTCost for fan-in bits <= 12 when cheaper, else
                              constant multipliers and an adder tree per output */
  int64_t weights;         /* weight elements of every layer counted */
} PassQuantCost;
/* weights_or_null (its param callback) gives the parameters' values, to count non-zero quantized
 * weights; NULL or no values: p = 1.  Errors (a node without a type, a weight of unknown
 * shape) name the node. */
Status pass_quant_cost(const Graph *g, const PassData *weights_or_null, PassQuantCost *out, Diag *d);
/* The `cost` pass: a table of every layer's numbers and the totals (for people). */
Status pass_cost(Graph *g, const PassArgs *args, PassContext *ctx);

#endif /* JSCC_PASSES_H */
