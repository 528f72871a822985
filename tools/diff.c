/* tools/diff.c — `jscc diff`: the same input rows through every executor of a quantized model,
 * compared node by node.
 *
 *   float        the reference executor with quantization off (RtRunOpts.no_quant)
 *   fake-quant   the reference executor (runtime/interp.c): fake quantization in double
 *   fq-jit       the JIT's evaluation kernel (codegen/): fake quantization in float32, logits
 *   integer C    the integer-only executor (runtime/intexec.c), every node's codes
 *   integer jit  the integer-only JIT kernel (codegen/intllvm.c), every node's codes
 *
 * Pairs that must agree (spec/quant.md §5): fake-quant vs integer C exactly (every node the
 * integer program computes, dequantized), integer C vs integer jit exactly (codes and logits),
 * fake-quant vs fq-jit on the logits: exactly when the graph is integer-only and the
 * `intervals` analysis finds float32 exact for every node, else within --tol.  Each prints "agree (...)" or the first
 * node (graph order) and element (row, feature) where the two differ beyond the tolerance,
 * with both values.  float vs fake-quant is information: each node's quantization error.
 * A pair an engine cannot run (no LLVM, a graph the integer lowering refuses) is "skipped"
 * with the reason.  Any model the reference executor runs can be compared (a Conv1d model,
 * a model with several outputs: one of them, --output NAME, rt_select_output).  The engines
 * run through runtime/ (rt_interp_run, rt_int_open, rt_jit_eval_logits).  Exit status: 0 every compared must-agree pair agrees, 1 one does not,
 * 2 an error (usage, unreadable model, checkpoint or data).
 *
 * This is the only part of jscc diff that exits; it is called from tools/jscc.c's main. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "frontend.h"
#include "ir.h"
#include "passes.h"
#include "runtime.h"

int cmd_diff(int argc, char **argv);

enum { DIFF_AGREE = 0, DIFF_DISAGREE = 1, DIFF_ERROR = 2 };

static void diff_usage(FILE *f) {
  fputs("usage: jscc diff MODEL.jsc|MODEL.ir --ckpt FILE [options]\n"
        "\n"
        "Runs the same input rows through every executor of a quantized model and compares\n"
        "them node by node: the float reference (quantization off), the fake-quant reference\n"
        "(double), the JIT's fake-quant evaluation kernel (float32, logits), the integer-only\n"
        "C executor and the integer-only JIT.  Must agree: fake-quant vs integer C (exact),\n"
        "integer C vs integer jit (exact), fake-quant vs fq-jit (exact where the intervals\n"
        "analysis finds float32 exact, else within --tol).  For each pair it prints\n"
        "'agree (...)' or the first node and element (row, feature) where they differ, with\n"
        "both values; and each node's quantization error (float vs fake-quant) as information.\n"
        "\n"
        "options:\n"
        "  --ckpt FILE            the checkpoint (required)\n"
        "  --passes=PIPELINE      passes run on the model first, e.g. 'quantize{by=type, default={...}}'\n"
        "  --config FILE          the same from a config file's [passes.*] tables\n"
        "                         (without it the model text must carry its quantization)\n"
        "  --samples N            input rows compared (default 256)\n"
        "  --split NAME           test (default), val or train\n"
        "  --tol T                fake-quant vs fq-jit where float32 is not exact: |diff| <= T (default 1e-5)\n"
        "  --data PATH            the JSC data (default: the synthetic stand-in)\n"
        "  --synth-n N            synthetic jets before the split (default 830000)\n"
        "  --model NAME           the model when the file holds several\n"
        "  --output NAME          the output compared, for a model with several (default: the\n"
        "                         first; the names are the returned nodes')\n"
        "  --cache-dir DIR        where the preprocessed data are cached\n"
        "  --no-cache             neither read nor write the data cache\n"
        "  --inject NODE          for testing: add one to the integer C executor's code of NODE at\n"
        "                         row 0, feature 0, so the pairs with integer C must disagree there\n"
        "  -h, --help             print this help\n"
        "\n"
        "Exit status: 0 the must-agree pairs agree, 1 one does not, 2 an error.\n",
        f);
}

static int usage_err(const char *fmt, ...) JS_PRINTF(1, 2);
static int usage_err(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "jscc diff: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(run 'jscc diff --help' for usage)\n");
  return DIFF_ERROR;
}

/* ---- values per node, from the reference executor's observe hook ---- */

typedef struct NodeVals {
  const Node *node;
  double *v;       /* [n] row-major */
  int64_t n;
  int64_t rows, cols; /* results of rank 2 or more: [dim 0, the rest]; else rows 1, cols n */
} NodeVals;

typedef struct Capture {
  NodeVals *nv;    /* graph order */
  int n, cap;
  bool oom;
} Capture;

static Status capture(void *ud, const Node *node, const double *vals, int64_t n, int rank, const int64_t *dims) {
  Capture *c = ud;
  if (c->n == c->cap) {
    int cap = c->cap ? 2 * c->cap : 32;
    NodeVals *q = ir_realloc(c->nv, sizeof(NodeVals) * (size_t)cap);
    if (!q) return JS_ENOMEM;
    c->nv = q;
    c->cap = cap;
  }
  double *v = ir_malloc(sizeof(double) * (size_t)(n ? n : 1));
  if (!v) return JS_ENOMEM;
  memcpy(v, vals, sizeof(double) * (size_t)n);
  /* [B, n] and [B, C, L] (C*L features, channel-major as the integer program's rows) per row */
  int64_t rows = rank >= 2 && dims[0] > 0 ? dims[0] : 1;
  c->nv[c->n++] = (NodeVals){node, v, n, rows, n / rows};
  return JS_OK;
}

static const NodeVals *find(const Capture *c, const Node *node) {
  for (int i = 0; i < c->n; i++)
    if (c->nv[i].node == node) return &c->nv[i];
  return NULL;
}

static void capture_free(Capture *c) {
  for (int i = 0; i < c->n; i++) ir_free(c->nv[i].v);
  ir_free(c->nv);
}

/* ---- comparisons ---- */

/* The outcome of one pair. */
typedef struct Cmp {
  bool differ;
  double maxd;            /* largest |a - b| (NaN on one side only counts as infinite) */
  int64_t nbad;           /* elements beyond the tolerance */
  int nbadnodes;
  const char *node;       /* the first beyond it, graph order */
  int64_t row, col;
  double a, b;
} Cmp;

static void cmp_elem(Cmp *c, const char *node, int64_t row, int64_t col, double a, double b, double tol, bool *node_bad) {
  double dd = a == b ? 0 : (isnan(a) && isnan(b)) ? 0 : fabs(a - b);
  if (isnan(dd)) dd = INFINITY;
  if (dd > c->maxd) c->maxd = dd;
  if (dd <= tol) return;
  if (!c->differ) {
    c->differ = true;
    c->node = node;
    c->row = row, c->col = col, c->a = a, c->b = b;
  }
  c->nbad++;
  if (!*node_bad) c->nbadnodes++;
  *node_bad = true;
}

static void print_pair(const char *label, const char *an, const char *bn, const Cmp *c, const char *what, double tol) {
  printf("%-30s ", label);
  if (!c->differ) {
    if (tol > 0) printf("agree (%s, max |diff| %.3g <= tol %.3g)\n", what, c->maxd, tol);
    else printf("agree (%s, max |diff| %.3g)\n", what, c->maxd);
    return;
  }
  bool logits = strcmp(c->node, "logits") == 0;
  printf("DIFFER at %s%s (row %lld, %s %lld): %s %.17g, %s %.17g (|diff| %.3g%s%.3g); %lld element%s in %d "
         "tensor%s differ\n",
         logits ? "the " : "node ", c->node, (long long)c->row, logits ? "class" : "feature", (long long)c->col, an, c->a, bn,
         c->b, fabs(c->a - c->b), tol > 0 ? " > tol " : " > ", tol, (long long)c->nbad, c->nbad == 1 ? "" : "s",
         c->nbadnodes, c->nbadnodes == 1 ? "" : "s");
}

/* ---- the engines ---- */

/* f32_exact of every node the intervals pass analysed (software.intervals) */
static bool all_f32_exact(const Graph *g, int *analysed, int *inexact, const char **first) {
  *inexact = *analysed = 0;
  *first = NULL;
  for (const Node *n = g->first; n; n = n->next) {
    const Value *sw = ir_meta_get(n, "software");
    if (!sw || sw->kind != VAL_DICT) continue;
    for (int i = 0; i < sw->u.dict.n; i++) {
      if (strcmp(sw->u.dict.keys[i], "intervals") != 0 || sw->u.dict.vals[i].kind != VAL_DICT) continue;
      const Value *iv = &sw->u.dict.vals[i];
      (*analysed)++;
      for (int k = 0; k < iv->u.dict.n; k++)
        if (strcmp(iv->u.dict.keys[k], "f32_exact") == 0 && iv->u.dict.vals[k].kind == VAL_BOOL && !iv->u.dict.vals[k].u.b) {
          if (!*first) *first = n->name;
          (*inexact)++;
        }
    }
  }
  return *inexact == 0;
}

/* Everything one diff holds, freed at once. */
typedef struct Diff {
  Arena *files;
  Program *prog;
  Graph *g;
  RtState *s;
  RtDataset ds;
  RtPassData *pd;
  Capture fl, fq;
  RtInterpOut ofl, ofq;
  RtIntExec *ic, *ij;
  float *zic, *zij, *zfj;
  int64_t *tic, *tij;
} Diff;

static void diff_free(Diff *D) {
  capture_free(&D->fl);
  capture_free(&D->fq);
  rt_interp_out_free(&D->ofl);
  rt_interp_out_free(&D->ofq);
  rt_int_close(D->ic);
  rt_int_close(D->ij);
  ir_free(D->zic), ir_free(D->zij), ir_free(D->zfj), ir_free(D->tic), ir_free(D->tij);
  rt_pass_data_free(D->pd);
  rt_state_free(D->s);
  rt_data_free(&D->ds);
  ir_program_free(D->prog);
  arena_free(D->files);
}

int cmd_diff(int argc, char **argv) {
  enum { O_CKPT = 400, O_PASSES, O_CONFIG, O_SAMPLES, O_SPLIT, O_TOL, O_DATA, O_SYNTH_N, O_MODEL, O_CACHE_DIR, O_NO_CACHE, O_INJECT,
         O_OUTPUT };
  static const struct option longopts[] = {
      {"ckpt", required_argument, NULL, O_CKPT},           {"passes", required_argument, NULL, O_PASSES},
      {"config", required_argument, NULL, O_CONFIG},
      {"samples", required_argument, NULL, O_SAMPLES},     {"split", required_argument, NULL, O_SPLIT},
      {"tol", required_argument, NULL, O_TOL},             {"data", required_argument, NULL, O_DATA},
      {"synth-n", required_argument, NULL, O_SYNTH_N},     {"model", required_argument, NULL, O_MODEL},
      {"cache-dir", required_argument, NULL, O_CACHE_DIR}, {"no-cache", no_argument, NULL, O_NO_CACHE},
      {"inject", required_argument, NULL, O_INJECT},       {"output", required_argument, NULL, O_OUTPUT},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *ckpt = NULL, *passes = NULL, *config = NULL, *split = "test", *model = NULL, *inject = NULL,
             *output = NULL;
  int64_t samples = 256;
  double tol = 1e-5;
  RtDataOpts dopt;
  rt_data_opts_default(&dopt);
  optind = 1;
  opterr = 0;
  int o;
  while ((o = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (o) {
    case O_CKPT: ckpt = optarg; break;
    case O_PASSES: passes = optarg; break;
    case O_CONFIG: config = optarg; break;
    case O_SAMPLES:
      if (!parse_int_opt(optarg, 1, INT64_C(1) << 24, &samples))
        return usage_err("--samples: expected a number of rows from 1 to 16777216, got '%s'", optarg);
      break;
    case O_SPLIT:
      if (strcmp(optarg, "test") != 0 && strcmp(optarg, "val") != 0 && strcmp(optarg, "train") != 0)
        return usage_err("--split: unknown split '%s' (valid: test, val, train)", optarg);
      split = optarg;
      break;
    case O_TOL: {
      char *end;
      errno = 0;
      tol = strtod(optarg, &end);
      if (!*optarg || *end || errno || !(tol >= 0) || !isfinite(tol))
        return usage_err("--tol: expected a number >= 0, got '%s'", optarg);
      break;
    }
    case O_DATA: dopt.path = optarg; break;
    case O_SYNTH_N:
      if (!parse_int_opt(optarg, 2, RT_JSC_MAX_ROWS, &dopt.synth_n))
        return usage_err("--synth-n: expected a number of jets from 2 to %lld, got '%s'", (long long)RT_JSC_MAX_ROWS, optarg);
      break;
    case O_MODEL: model = optarg; break;
    case O_CACHE_DIR: dopt.cache_dir = optarg; break;
    case O_NO_CACHE: dopt.no_cache = true; break;
    case O_INJECT: inject = optarg; break;
    case O_OUTPUT: output = optarg; break;
    case 'h': diff_usage(stdout); return 0;
    case ':': return usage_err("option '%s' needs a value", argv[optind - 1]);
    default: return usage_err("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind == argc) return usage_err("expected a model file (jscc diff MODEL.jsc --ckpt FILE)");
  if (argc - optind > 1) return usage_err("expected one model file, got also '%s'", argv[optind + 1]);
  if (!ckpt) return usage_err("--ckpt FILE is required (a run's best.safetensors, say)");
  const char *path = argv[optind];

  Diag d;
  diag_init(&d, stderr);
  Diff D;
  memset(&D, 0, sizeof D);
  PipeSrc ps;
  SrcFile *src = NULL;
  Status st = pipe_build(passes, config, true, &ps, &d);
  Pipeline *pl = ps.pl;
  if (!st && !(D.files = arena_new())) st = diag_oom(&d);
  if (!st) st = diag_read_file(D.files, path, &src, &d);
  if (!st) st = parse_program(src, &D.prog, &d);
  if (!st && !(D.g = pick_model(D.prog, model, path, &d, &st)) && !st) st = JS_EUSAGE;
  PassContext ctx = {.diag = &d};
  if (!st && pl) st = pass_pipeline_run(pl, D.g, &ctx);
  if (!st) st = pass_run_text("shape", D.g, &d);
  if (!st) st = rt_select_output(D.g, output, stderr, &d);
  if (!st) st = rt_state_new(D.g, &D.s, &d);
  if (!st) st = rt_ckpt_load(ckpt, D.s, &d);
  /* intervals (its f32 verdict sets the fq-jit tolerance), before the explicit quantizers */
  StrBuf report;
  sb_init(&report);
  if (!st) st = rt_pass_data_new(D.s, NULL, NULL, &D.pd, &d);
  if (!st) {
    Pipeline *ip = NULL;
    PassContext ictx = {.diag = &d, .report = &report, .data = rt_pass_data_get(D.pd)};
    st = pass_pipeline_parse("intervals", &ip, &d);
    if (!st) st = pass_pipeline_run(ip, D.g, &ictx);
    pass_pipeline_free(ip);
  }
  if (!st) st = rt_data_load(&dopt, &D.ds, &d);
  pipe_free(&ps);
  if (st) {
    sb_free(&report);
    diff_free(&D);
    diag_free(&d);
    return DIFF_ERROR;
  }
  const RtSplit *sp = strcmp(split, "val") == 0 ? &D.ds.val : strcmp(split, "train") == 0 ? &D.ds.train : &D.ds.test;
  int64_t rows = samples < sp->n ? samples : sp->n;
  const float *x = sp->x;
  bool say = D.ds.synthetic && !strstr(D.ds.desc, "SYNTHETIC");
  printf("data: %s%s; %s split, first %lld rows\n", say ? "SYNTHETIC: " : "", D.ds.desc, split, (long long)rows);
  printf("model %s, checkpoint %s\n", D.g->name, ckpt);

  /* the reference, quantization off and on */
  RtTensor in = {.dtype = DT_F32, .rank = 2, .dims = {rows, RT_JSC_FEATURES}, .f = (float *)x};
  const char *input = NULL;
  for (const Node *n = D.g->first; n && !input; n = n->next)
    if (n->op == OP_PLACEHOLDER) input = n->target;
  const char *names[1] = {input ? input : "x"};
  RtRunOpts rfl = {.mode = RT_EVAL, .no_quant = true, .observe = capture, .observe_ud = &D.fl};
  RtRunOpts rfq = {.mode = RT_EVAL, .observe = capture, .observe_ud = &D.fq};
  st = rt_interp_run(D.g, D.s, &rfl, 1, names, &in, &D.ofl, &d);
  if (!st) st = rt_interp_run(D.g, D.s, &rfq, 1, names, &in, &D.ofq, &d);
  const RtTensor *L = &D.ofq.logits;
  if (!st && (L->dtype != DT_F32 || L->rank != 2 || L->dims[0] != rows))
    st = diag_error(&d, (SrcLoc){0}, "model %s: the logits are not f32[rows, classes]", D.g->name);
  if (st) {
    sb_free(&report);
    diff_free(&D);
    diag_free(&d);
    return DIFF_ERROR;
  }
  int64_t C = L->dims[1];

  /* the integer engines */
  char why_int[512] = "", why_ij[512] = "", why_fj[512] = "";
  Diag probe;
  diag_init(&probe, NULL);
  if (rt_int_open(D.g, D.s, false, true, &D.ic, &probe)) {
    const char *msg = sb_str(&probe.text), *p = strstr(msg, "error: ");
    snprintf(why_int, sizeof why_int, "%.*s", (int)strcspn(p ? p + 7 : msg, "\n"), p ? p + 7 : msg);
  }
  diag_free(&probe);
  const IntProg *ip = D.ic ? D.ic->prog : NULL;
  if (ip) {
    D.zic = ir_calloc((size_t)(rows * ip->classes), sizeof(float));
    D.tic = ir_calloc((size_t)(rows * (ip->trace_width ? ip->trace_width : 1)), sizeof(int64_t));
    if (!D.zic || !D.tic) st = diag_oom(&d);
    if (!st) st = rt_int_exec(D.ic, x, rows, D.zic, D.tic, &d);
    if (!st && inject) {
      int k = 0;
      while (k < ip->nnodes && strcmp(ip->nodes[k].node->name, inject) != 0) k++;
      if (k == ip->nnodes) st = diag_error(&d, (SrcLoc){0}, "--inject: the integer program has no node '%s'", inject);
      else D.tic[ip->nodes[k].off] += 1;
    }
    diag_init(&probe, NULL);
    if (!st && rt_int_open(D.g, D.s, true, true, &D.ij, &probe)) {
      const char *msg = sb_str(&probe.text), *p = strstr(msg, "error: ");
      snprintf(why_ij, sizeof why_ij, "%.*s", (int)strcspn(p ? p + 7 : msg, "\n"), p ? p + 7 : msg);
    }
    diag_free(&probe);
    if (!st && D.ij) {
      D.zij = ir_calloc((size_t)(rows * ip->classes), sizeof(float));
      D.tij = ir_calloc((size_t)(rows * (ip->trace_width ? ip->trace_width : 1)), sizeof(int64_t));
      if (!D.zij || !D.tij) st = diag_oom(&d);
      if (!st) st = rt_int_exec(D.ij, x, rows, D.zij, D.tij, &d);
    }
  } else {
    snprintf(why_ij, sizeof why_ij, "no integer program");
  }
  /* the fake-quant JIT, on explicit input quantizers as jscc test builds it (its plan wants
   * them; the reference and the integer engines ran first, on the nodes as written, since the
   * reference's float run quantizes at explicit quantize nodes) */
  bool have_fj = false;
  if (!st) st = ir_quant_explicit_inputs(D.g, &d);
  if (!st) {
    if (!(D.zfj = ir_calloc((size_t)(rows * C), sizeof(float)))) st = diag_oom(&d);
    else have_fj = rt_jit_eval_logits(D.g, D.s, x, rows, D.zfj, why_fj, sizeof why_fj) == JS_OK;
  }
  if (st) {
    sb_free(&report);
    diff_free(&D);
    diag_free(&d);
    return DIFF_ERROR;
  }

  printf("engines: float ref, fake-quant ref, fq-jit %s, integer C %s, integer jit %s\n", have_fj ? "yes" : "no",
         ip ? "yes" : "no", D.ij ? "yes" : "no");
  if (ip)
    printf("integer program: %d steps, %d nodes traced, widest code %d bits (%s lanes in the jit)\n", ip->nsteps, ip->nnodes,
           ip->bits, ip->i32 ? "32-bit" : "64-bit");
  int analysed, inexact;
  const char *first_inexact;
  bool f32 = all_f32_exact(D.g, &analysed, &inexact, &first_inexact);
  if (!analysed) printf("intervals: no node is quantized with integer formats\n");
  else if (inexact) printf("intervals: float32 fake quantization is not exact for %d node%s (first: %s)\n", inexact,
                      inexact == 1 ? "" : "s", first_inexact);
  else printf("intervals: float32 fake quantization is exact for every integer node\n");

  int code = DIFF_AGREE;
  /* fake-quant ref vs integer C: every node the integer program has, then the logits */
  if (ip) {
    Cmp c = {0};
    int nodes = 0;
    for (int k = 0; k < ip->nnodes; k++) {
      const IpNode *nd = &ip->nodes[k];
      const NodeVals *r = find(&D.fq, nd->node);
      int F = ip->vals[nd->val].n;
      if (!r || r->rows != rows || r->cols != F) continue;
      nodes++;
      bool nb = false;
      for (int64_t i = 0; i < rows; i++)
        for (int j = 0; j < F; j++)
          cmp_elem(&c, nd->node->name, i, j, r->v[i * F + j], rt_int_value(ip, nd->val, D.tic[i * ip->trace_width + nd->off + j]),
                   0, &nb);
    }
    bool nb = false;
    for (int64_t i = 0; i < rows * C; i++)
      cmp_elem(&c, "logits", i / C, i % C, L->f[i], D.zic[i], 0, &nb);
    char what[64];
    snprintf(what, sizeof what, "%d nodes and the logits x %lld rows", nodes, (long long)rows);
    print_pair("fake-quant ref vs integer C:", "fake-quant ref", "integer C", &c, what, 0);
    if (c.differ) code = DIFF_DISAGREE;
  } else {
    printf("%-30s skipped (%s)\n", "fake-quant ref vs integer C:", why_int);
  }
  /* integer C vs integer jit: codes of every node, then the logits */
  if (ip && D.ij) {
    Cmp c = {0};
    for (int k = 0; k < ip->nnodes; k++) {
      const IpNode *nd = &ip->nodes[k];
      bool nb = false;
      for (int64_t i = 0; i < rows; i++)
        for (int j = 0; j < ip->vals[nd->val].n; j++) {
          int64_t at = i * ip->trace_width + nd->off + j;
          cmp_elem(&c, nd->node->name, i, j, rt_int_value(ip, nd->val, D.tic[at]), rt_int_value(ip, nd->val, D.tij[at]), 0, &nb);
        }
    }
    bool nb = false;
    for (int64_t i = 0; i < rows * ip->classes; i++) cmp_elem(&c, "logits", i / ip->classes, i % ip->classes, D.zic[i], D.zij[i], 0, &nb);
    char what[64];
    snprintf(what, sizeof what, "%d nodes and the logits x %lld rows", ip->nnodes, (long long)rows);
    print_pair("integer C vs integer jit:", "integer C", "integer jit", &c, what, 0);
    if (c.differ) code = DIFF_DISAGREE;
  } else {
    printf("%-30s skipped (%s)\n", "integer C vs integer jit:", ip ? why_ij : why_int);
  }
  /* fake-quant ref vs fq-jit: the logits */
  if (have_fj) {
    Cmp c = {0};
    bool exact = ip && f32; /* an integer-only graph whose every node float32 computes exactly */
    double t = exact ? 0 : tol;
    bool nb = false;
    for (int64_t i = 0; i < rows * C; i++) cmp_elem(&c, "logits", i / C, i % C, L->f[i], D.zfj[i], t, &nb);
    char what[128];
    snprintf(what, sizeof what, "logits x %lld rows, %s", (long long)rows,
             exact ? "exact, float32 being exact for every node" : ip ? "float32 not exact everywhere" : "float nodes");
    print_pair("fake-quant ref vs fq-jit:", "fake-quant ref", "fq-jit", &c, what, t);
    if (c.differ) code = DIFF_DISAGREE;
  } else {
    printf("%-30s skipped (%s)\n", "fake-quant ref vs fq-jit:", why_fj);
  }
  /* information: float vs fake-quant, per node */
  printf("quantization error (float ref vs fake-quant ref), per node, graph order:\n");
  for (int k = 0; k < D.fq.n; k++) {
    const NodeVals *q = &D.fq.nv[k], *f = find(&D.fl, q->node);
    if (!f || f->n != q->n || q->node->op == OP_GET_ATTR) continue;
    double mx = 0, sum = 0;
    for (int64_t i = 0; i < q->n; i++) {
      double e = fabs(q->v[i] - f->v[i]);
      if (e > mx || isnan(e)) mx = e;
      sum += e;
    }
    printf("  %-20s max |diff| %-10.4g mean |diff| %.4g\n", q->node->name, mx, q->n ? sum / (double)q->n : 0.0);
  }
  printf("result: %s\n", code == DIFF_AGREE ? "every must-agree pair agrees" : "a must-agree pair DIFFERS");
  fflush(stdout);
  sb_free(&report);
  diff_free(&D);
  diag_free(&d);
  return code;
}
