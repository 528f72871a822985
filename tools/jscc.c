/* tools/jscc.c — the jscc command line: read a model (.jsc source or IR text), run a pass
 * pipeline over it, and print reports and IR views; `jscc train` and `jscc test` train a
 * model on the JSC data and evaluate a checkpoint (runtime/train.h).
 *
 * This is the only place that exits.  The layers below report into a Diag and return a
 * Status; here a Status becomes an exit code: 0 success, 1 bad input (the diagnostics say
 * where), 2 bad usage.  Output to a file (-o) is written only when everything succeeded, and
 * atomically, so a failed run never leaves a half-written file. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "cuda.h"
#include "frontend.h"
#include "ir.h"
#include "passes.h"
#include "runtime.h"

enum { EXIT_INPUT = 1, EXIT_USAGE = 2 };

typedef enum DumpFormat { DUMP_NONE, DUMP_TEXT, DUMP_TABLE, DUMP_DOT, DUMP_JSON } DumpFormat;

/* Everything one invocation asked for. */
typedef struct Options {
  const char *input;      /* path, or "-" for standard input */
  const char *lang;       /* "jsc", "ir", or NULL to go by the file's extension */
  const char *passes;     /* pipeline text, or NULL */
  const char *dump_after; /* pass name, "all", or NULL */
  const char *model;      /* only this model, or NULL for all */
  const char *output;     /* -o FILE, or NULL for stdout */
  DumpFormat dump;        /* final dump */
  int max_errors;
  const char *config;     /* --config FILE: the pipeline from a config file */
  const char *ckpt;       /* --ckpt FILE: weights for the passes that read them */
  const char *split;      /* --split: the data split `profile` samples */
  RtDataOpts data;        /* --data, --synth-n, --cache-dir, --no-cache */
} Options;

/* Where the run's output accumulates: stdout directly, or a buffer written at the end. */
typedef struct Out {
  StrBuf buf;   /* used when writing to a file */
  bool to_file;
} Out;

static void out_put(Out *o, const char *s, size_t n) {
  if (o->to_file)
    sb_putn(&o->buf, s, n);
  else
    fwrite(s, 1, n, stdout);
}

static void usage(FILE *f) {
  fputs("usage: jscc [options] FILE.jsc|FILE.ir\n"
        "       jscc --list-passes\n"
        "       jscc train MODEL.jsc [options]   (jscc train --help)\n"
        "       jscc test MODEL.jsc --ckpt FILE [options]   (jscc test --help)\n"
        "       jscc transform MODEL.jsc --ckpt FILE --passes=...|--config FILE   (jscc transform --help)\n"
        "       jscc diff MODEL.jsc --ckpt FILE --passes=...   (jscc diff --help)\n"
        "       jscc report SWEEP_DIR|RUN_DIR... [--out DIR]   (jscc report --help)\n"
        "\n"
        "Reads a model written in the .jsc language (spec/language.md) or jscc IR text\n"
        "(spec/ir.md), runs a pass pipeline over every model in it, and prints reports and\n"
        "views of the IR.\n"
        "\n"
        "options:\n"
        "  --passes=PIPELINE      passes to run, in order: 'shape,metadata,report-graph';\n"
        "                         options in braces: 'report-graph{file=g.txt}'\n"
        "  --dump-ir[=FORMAT]     print the IR after the pipeline; FORMAT is text (default,\n"
        "                         parses back), table, dot or json\n"
        "  --dump-after=PASS|all  print the IR after the named pass, or after every pass;\n"
        "                         each view starts with a '# IR after pass' line and, in\n"
        "                         the text format, parses back on its own\n"
        "  --config=FILE          the pipeline from a config file's [passes.*] tables (MASE's\n"
        "                         TOML; spec/config.md) instead of --passes\n"
        "  --ckpt=FILE            weights for the passes that read them (profile,\n"
        "                         report-weights, intervals): a safetensors state_dict\n"
        "  --data=PATH, --synth-n=N, --cache-dir=DIR, --no-cache\n"
        "                         the JSC data `profile` samples (default: synthetic)\n"
        "  --split=NAME           the split `profile` samples: train (default), val or test\n"
        "  --model=NAME           work on this model only (default: every model in the file)\n"
        "  -x jsc|ir              the input's language (default: by extension, .ir is IR)\n"
        "  -o, --output=FILE      write the output to FILE instead of standard output\n"
        "  --max-errors=N         stop reporting after N errors (default 20)\n"
        "  --list-passes          list the passes with their options\n"
        "  --version              print the version\n"
        "  -h, --help             print this help\n"
        "\n"
        "With no --passes and no --dump-ir, jscc prints the IR text of the model.\n"
        "Exit status: 0 success, 1 an error in the input, 2 bad usage.\n",
        f);
}

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "jscc: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(run 'jscc --help' for usage)\n");
  return EXIT_USAGE;
}

static bool parse_dump_format(const char *s, DumpFormat *out) {
  static const struct {
    const char *name;
    DumpFormat f;
  } formats[] = {{"text", DUMP_TEXT}, {"table", DUMP_TABLE}, {"dot", DUMP_DOT}, {"json", DUMP_JSON}};
  for (size_t i = 0; i < sizeof formats / sizeof *formats; i++)
    if (strcmp(s, formats[i].name) == 0) {
      *out = formats[i].f;
      return true;
    }
  return false;
}

/* The view of one graph in the chosen format. */
static void render(StrBuf *sb, const Graph *g, DumpFormat f) {
  switch (f) {
  case DUMP_TEXT: ir_print_graph(sb, g); break;
  case DUMP_TABLE: ir_print_table(sb, g); break;
  case DUMP_DOT: ir_print_dot(sb, g); break;
  case DUMP_JSON: ir_print_json(sb, g); break;
  case DUMP_NONE: break;
  }
}

/* State the --dump-after callback needs. */
typedef struct DumpCtx {
  Out *out;
  StrBuf *report;
  DumpFormat format;
} DumpCtx;

/* Reports come out in the order the passes ran, interleaved with --dump-after views. */
static void flush_report(Out *o, StrBuf *report) {
  if (report->len) out_put(o, sb_str(report), report->len);
  sb_clear(report);
}

static void dump_after_pass(void *ud, const Graph *g, const char *pass) {
  DumpCtx *dc = ud;
  flush_report(dc->out, dc->report);
  StrBuf sb;
  sb_init(&sb);
  /* The marker is a comment in every format that has one, so a text dump still parses. */
  if (dc->format == DUMP_TEXT || dc->format == DUMP_TABLE)
    sb_printf(&sb, "# IR after pass '%s'\n", pass);
  else if (dc->format == DUMP_DOT)
    sb_printf(&sb, "// IR after pass '%s'\n", pass);
  render(&sb, g, dc->format);
  out_put(dc->out, sb_str(&sb), sb.len);
  sb_free(&sb);
}

bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Reads and parses the input into a Program, then verifies each graph. */
static Status load(const Options *opt, Arena *files, Program **prog, Diag *d) {
  SrcFile *src;
  Status st = diag_read_file(files, opt->input, &src, d);
  if (st) return st;
  bool is_ir = opt->lang ? strcmp(opt->lang, "ir") == 0 : has_suffix(opt->input, ".ir");
  if (is_ir) return ir_parse(src, prog, d); /* which verifies what it read */
  st = fe_parse(src, prog, d);
#ifdef JSCC_VERIFY_EACH_PASS
  /* Debug builds check the front end's output too, as they check every pass's. */
  for (int i = 0; !st && i < (*prog)->ngraphs; i++) st = ir_verify((*prog)->graphs[i], d);
#endif
  return st;
}

static int exit_code(Status st) {
  switch (st) {
  case JS_OK: return 0;
  case JS_EUSAGE: return EXIT_USAGE;
  default: return EXIT_INPUT;
  }
}

/* ---- pipelines from --passes or --config ---- */

static SrcLoc cfg_locate(void *ud, const char *path) { return fe_config_loc(ud, path); }

static const Value *dict_lookup(const Value *d, const char *key) {
  if (!d || d->kind != VAL_DICT) return NULL;
  for (int i = 0; i < d->u.dict.n; i++)
    if (strcmp(d->u.dict.keys[i], key) == 0) return &d->u.dict.vals[i];
  return NULL;
}

/* The pipeline of --passes (a usage error when malformed) or of a config file's [passes.*]
 * tables (an input error, located in the file). */
Status pipe_build(const char *passes, const char *config, PipeSrc *ps, Diag *d) {
  memset(ps, 0, sizeof *ps);
  if (passes && config) {
    diag_error(d, (SrcLoc){0}, "--passes and --config both give a pipeline: choose one");
    return JS_EUSAGE;
  }
  if (passes) return pass_pipeline_parse(passes, &ps->pl, d) ? JS_EUSAGE : JS_OK;
  if (!config) return JS_OK;
  Status st = fe_config_read(config, &ps->cfg, d);
  if (st) return st;
  const Value *pv = dict_lookup(fe_config_root(ps->cfg), "passes");
  if (!pv) {
    SrcFile f = {.path = config};
    return diag_error(d, (SrcLoc){&f, 0, 0}, "the config has no [passes.NAME] tables, so no pipeline to run");
  }
  st = pass_pipeline_from_value(pv, "passes", cfg_locate, ps->cfg, &ps->pl, d);
  return st == JS_EUSAGE ? JS_ERR : st;
}

void pipe_free(PipeSrc *ps) {
  pass_pipeline_free(ps->pl);
  fe_config_free(ps->cfg);
  memset(ps, 0, sizeof *ps);
}

static int run(const Options *opt) {
  Diag d;
  diag_init(&d, stderr);
  d.max_errors = opt->max_errors;
  Out out = {.to_file = opt->output != NULL};
  sb_init(&out.buf);
  StrBuf report;
  sb_init(&report);
  Arena *files = arena_new();
  Program *prog = NULL;
  Pipeline *pl = NULL;
  Status st = files ? JS_OK : diag_oom(&d);

  /* The pipeline is checked before the input is read: usage errors come first. */
  PipeSrc ps = {0};
  if (!st && (opt->passes || opt->config)) {
    st = pipe_build(opt->passes, opt->config, &ps, &d);
    pl = ps.pl;
  }
  if (!st && opt->dump_after) {
    if (!pl) {
      diag_error(&d, (SrcLoc){0}, "--dump-after=%s needs --passes or --config", opt->dump_after);
      st = JS_EUSAGE;
    } else if (strcmp(opt->dump_after, "all") != 0 && pass_check_dump_after(pl, opt->dump_after, &d)) {
      st = JS_EUSAGE;
    }
  }
  if (!st) st = load(opt, files, &prog, &d);

  Graph *only = NULL;
  if (!st && opt->model && !(only = ir_program_find(prog, opt->model))) {
    const char *names[64];
    int n = 0;
    for (int i = 0; i < prog->ngraphs && n < 64; i++) names[n++] = prog->graphs[i]->name;
    const char *hint = diag_closest(opt->model, names, n);
    diag_error(&d, (SrcLoc){0}, "--model: no model named '%s' in %s%s%s%s", opt->model, opt->input,
               hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    st = JS_EUSAGE;
  }

  /* Weights (--ckpt) and samples for the passes that read them: one model's */
  RtState *state = NULL;
  RtDataset ds;
  bool have_ds = false;
  RtPassData *pd = NULL;
  if (!st && opt->ckpt) {
    if (!only && prog->ngraphs == 1) only = prog->graphs[0];
    if (!only) {
      diag_error(&d, (SrcLoc){0}, "--ckpt: %s holds %d models; choose the checkpoint's with --model NAME", opt->input,
                 prog->ngraphs);
      st = JS_EUSAGE;
    }
    if (!st) st = pass_run_text("shape", only, &d);
    if (!st && !(st = rt_state_new(only, &state, &d))) st = rt_ckpt_load(opt->ckpt, state, &d);
    if (!st && pass_pipeline_has(pl, "profile") && !(st = rt_data_load(&opt->data, &ds, &d))) have_ds = true;
  }
  if (!st && state) st = rt_pass_data_new(state, have_ds ? &ds : NULL, opt->split, &pd, &d);

  DumpFormat fmt = opt->dump != DUMP_NONE ? opt->dump : DUMP_TEXT;
  DumpCtx dc = {&out, &report, fmt};
  for (int i = 0; !st && pl && i < prog->ngraphs; i++) {
    Graph *g = prog->graphs[i];
    if (only && g != only) continue;
    PassContext ctx = {.diag = &d, .report = &report, .dump_after = opt->dump_after,
                       .dump = dump_after_pass, .dump_ud = &dc, .data = pd ? rt_pass_data_get(pd) : NULL};
    st = pass_pipeline_run(pl, g, &ctx);
    flush_report(&out, &report);
  }

  /* The final view: asked for, or the default when nothing else was. */
  DumpFormat final = opt->dump;
  if (final == DUMP_NONE && !pl) final = DUMP_TEXT;
  if (!st && final != DUMP_NONE) {
    /* Straight into the output buffer when writing a file: big graphs print tens of MB. */
    StrBuf sb;
    sb_init(&sb);
    StrBuf *to = out.to_file ? &out.buf : &sb;
    if (only)
      render(to, only, final);
    else if (final == DUMP_TEXT)
      ir_print_program(to, prog);
    else
      for (int i = 0; i < prog->ngraphs; i++) render(to, prog->graphs[i], final);
    if (to->oom) st = diag_oom(&d);
    else if (!out.to_file) out_put(&out, sb_str(&sb), sb.len);
    sb_free(&sb);
  }
  if (!st && (out.buf.oom || report.oom)) st = diag_oom(&d);
  if (!st && out.to_file && sb_write_file(&out.buf, opt->output) != JS_OK) {
    diag_error(&d, (SrcLoc){0}, "cannot write '%s'", opt->output);
    st = JS_EIO;
  }
  fflush(stdout);

  rt_pass_data_free(pd);
  if (have_ds) rt_data_free(&ds);
  rt_state_free(state);
  pipe_free(&ps);
  ir_program_free(prog);
  arena_free(files);
  sb_free(&report);
  sb_free(&out.buf);
  int code = exit_code(st);
  if (st == JS_OK && d.nerrors) code = EXIT_INPUT;
  diag_free(&d);
  return code;
}

/* ==== jscc train / jscc test ==== */

static void train_usage(FILE *f) {
  fputs("usage: jscc train MODEL.jsc|MODEL.ir [options]\n"
        "\n"
        "Trains the model on the JSC data (MASE's `ch train`): cross-entropy, mini-batches\n"
        "reshuffled every epoch, validation after every epoch.  The run directory gets\n"
        "metrics.csv, manifest.json, best.safetensors (lowest val_loss), last.safetensors and\n"
        "last.optim.safetensors.  Without --data the data are the bundled SYNTHETIC stand-in,\n"
        "and the run says so.\n"
        "\n"
        "options:\n"
        "  --data PATH            the JSC data: CERN HDF5, OpenML CSV or ARFF (default: synthetic)\n"
        "  --synth-n N            synthetic jets before the split (default 830000)\n"
        "  --batch-size N         rows per step (default 256)\n"
        "  --lr X                 learning rate (default 1e-3)\n"
        "  --max-epochs N         epochs in all, a resumed run's included (default 10)\n"
        "  --optimizer NAME       adam (default), adamw or sgd\n"
        "  --weight-decay X       L2 (adam, sgd) or decoupled (adamw) weight decay (default 0)\n"
        "  --momentum X           sgd momentum (default 0)\n"
        "  --nesterov             sgd Nesterov momentum (needs --momentum)\n"
        "  --scheduler NAME       cosine (default), step or constant, stepped once per epoch\n"
        "  --t-max N              cosine period in epochs (default: --max-epochs)\n"
        "  --eta-min X            cosine floor (default 1e-6)\n"
        "  --step-size N          step: epochs between decays (default 1)\n"
        "  --gamma X              step: decay factor (default 0.1)\n"
        "  --seed N               initialisation, shuffling and dropout (default 0)\n"
        "  --out DIR              run directory (default runs/MODEL-SEED-YYYYmmdd-HHMMSS)\n"
        "  --resume DIR           continue the run in DIR from its last checkpoint (the\n"
        "                         settings come from this command line: repeat the run's)\n"
        "  --engine NAME          auto (default: jit when it can compile the model), jit or ref\n"
        "  --device=cpu|cuda      where to train: cpu (default: the engines above) or cuda (the\n"
        "                         same kernels on an NVIDIA GPU, one launch per epoch; needs the\n"
        "                         NVIDIA driver and NVRTC at run time, and --engine auto)\n"
        "  --model NAME           the model to train when the file holds several\n"
        "  --cache-dir DIR        where the preprocessed data are cached\n"
        "  --no-cache             neither read nor write the data cache\n"
        "  --passes=PIPELINE      transforms to apply before training, e.g. quantization-aware\n"
        "                         training: 'quantize{by=type, linear={name=integer, ...}}'\n"
        "  --config FILE          the same from a config file's [passes.*] tables (spec/config.md)\n"
        "  --quiet                no per-epoch lines\n"
        "  --dump-plan            print the jit's fusion plans (training and evaluation step) and exit\n"
        "  --dump-llvm            print the optimised LLVM modules of both steps and exit\n"
        "  --dump-cuda            print the CUDA C of both steps (--device=cuda's kernels) and exit;\n"
        "                         needs no GPU\n"
        "  -h, --help             print this help\n"
        "\n"
        "Exit status: 0 success, 1 an error in the input, 2 bad usage.\n",
        f);
}

static void test_usage(FILE *f) {
  fputs("usage: jscc test MODEL.jsc|MODEL.ir --ckpt FILE [options]\n"
        "\n"
        "Evaluates a checkpoint (a safetensors state_dict, e.g. a run's best.safetensors) on\n"
        "the test split: loss, accuracy, per-class accuracy and the confusion matrix.\n"
        "\n"
        "options:\n"
        "  --ckpt FILE            the checkpoint (required)\n"
        "  --data PATH            the JSC data (default: the synthetic stand-in)\n"
        "  --synth-n N            synthetic jets before the split (default 830000)\n"
        "  --batch-size N         rows per step (default 256)\n"
        "  --engine NAME          auto (default), jit or ref (fake quantization for a quantized\n"
        "                         model); int: integer-only inference, JIT-compiled; int-c: the\n"
        "                         same on the plain C integer executor (spec/quant.md §5)\n"
        "  --device=cpu|cuda      where to evaluate: cpu (default) or cuda (an NVIDIA GPU, one\n"
        "                         launch for the split; needs --engine auto)\n"
        "  --model NAME           the model when the file holds several\n"
        "  --cache-dir DIR        where the preprocessed data are cached\n"
        "  --no-cache             neither read nor write the data cache\n"
        "  --passes=PIPELINE      transforms to apply first (post-training quantization:\n"
        "                         'quantize{...}'); a transformed .ir needs none\n"
        "  --config FILE          the same from a config file's [passes.*] tables\n"
        "  -h, --help             print this help\n"
        "\n"
        "Exit status: 0 success, 1 an error in the input, 2 bad usage.\n",
        f);
}

static int sub_usage_error(const char *cmd, const char *fmt, ...) JS_PRINTF(2, 3);
static int sub_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "jscc %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(run 'jscc %s --help' for usage)\n", cmd);
  return EXIT_USAGE;
}

/* Integer option values: the whole text, within [lo, hi]. */
bool parse_int_opt(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!*s || *end || errno || v < lo || v > hi) return false;
  *out = v;
  return true;
}

/* Real option values: the whole text, finite, >= lo (> lo when strict). */
static bool parse_real_opt(const char *s, double lo, bool strict, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (!*s || *end || errno || !isfinite(v) || v < lo || (strict && v == lo)) return false;
  *out = v;
  return true;
}

/* "unknown optimizer 'adma' (did you mean 'adam'?; valid: adam, adamw, sgd)" */
static int bad_name(const char *cmd, const char *what, const char *arg, const char *const *names, int n) {
  const char *hint = diag_closest(arg, names, n);
  char valid[128] = "";
  for (int i = 0; i < n; i++) {
    strncat(valid, names[i], sizeof valid - strlen(valid) - 1);
    if (i + 1 < n) strncat(valid, ", ", sizeof valid - strlen(valid) - 1);
  }
  if (hint) return sub_usage_error(cmd, "unknown %s '%s' (did you mean '%s'?; valid: %s)", what, arg, hint, valid);
  return sub_usage_error(cmd, "unknown %s '%s' (valid: %s)", what, arg, valid);
}

/* The model twice: as `shape` leaves it (forward) and as `shape,grad` leaves it (training).
 * The file is read once and parsed twice, so "-" works too. */
typedef struct Model {
  Arena *files;
  SrcFile *src;
  Program *pf, *pt;
  Graph *fwd, *train;
} Model;


Status parse_program(const SrcFile *src, Program **prog, Diag *d) {
  if (has_suffix(src->path, ".ir")) return ir_parse(src, prog, d);
  Status st = fe_parse(src, prog, d);
#ifdef JSCC_VERIFY_EACH_PASS
  for (int i = 0; !st && i < (*prog)->ngraphs; i++) st = ir_verify((*prog)->graphs[i], d);
#endif
  return st;
}

Graph *pick_model(Program *p, const char *name, const char *path, Diag *d, Status *st) {
  if (name) {
    Graph *g = ir_program_find(p, name);
    if (g) return g;
    const char *names[64];
    int n = 0;
    for (int i = 0; i < p->ngraphs && n < 64; i++) names[n++] = p->graphs[i]->name;
    const char *hint = diag_closest(name, names, n);
    diag_error(d, (SrcLoc){0}, "--model: no model named '%s' in %s%s%s%s", name, path, hint ? " (did you mean '" : "",
               hint ? hint : "", hint ? "'?)" : "");
    *st = JS_EUSAGE;
    return NULL;
  }
  if (p->ngraphs == 1) return p->graphs[0];
  diag_error(d, (SrcLoc){0}, "%s holds %d models: choose one with --model NAME", path, p->ngraphs);
  *st = JS_EUSAGE;
  return NULL;
}

/* Reads the model, then runs `pre` (the user's transforms, e.g. quantize) on both copies
 * before `shape` and `shape,grad`.  The forward copy gets explicit input quantizers, as the
 * training copy has them from `grad` (both compute the same; the JIT's plan wants them). */
static Status model_load(Model *m, const char *path, const char *name, const Pipeline *pre, Diag *d) {
  memset(m, 0, sizeof *m);
  if (!(m->files = arena_new())) return diag_oom(d);
  PassContext ctx = {.diag = d};
  Status st = diag_read_file(m->files, path, &m->src, d);
  if (!st) st = parse_program(m->src, &m->pf, d);
  if (!st && !(m->fwd = pick_model(m->pf, name, path, d, &st))) return st;
  if (!st && pre) st = pass_pipeline_run(pre, m->fwd, &ctx);
  if (!st) st = pass_run_text("shape", m->fwd, d);
  if (!st) st = ir_quant_explicit_inputs(m->fwd, d);
  if (!st) st = parse_program(m->src, &m->pt, d);
  if (!st && !(m->train = ir_program_find(m->pt, m->fwd->name))) st = diag_error(d, (SrcLoc){0}, "model vanished");
  if (!st && pre) st = pass_pipeline_run(pre, m->train, &ctx);
  if (!st) st = pass_run_text("shape,grad", m->train, d);
  return st;
}

static void model_free(Model *m) {
  ir_program_free(m->pf);
  ir_program_free(m->pt);
  arena_free(m->files);
}

/* Options train and test share. */
enum {
  T_DATA = 300, T_SYNTH_N, T_BATCH, T_LR, T_EPOCHS, T_OPTIM, T_WD, T_MOMENTUM, T_NESTEROV, T_SCHED, T_T_MAX,
  T_ETA_MIN, T_STEP_SIZE, T_GAMMA, T_SEED, T_OUT, T_RESUME, T_ENGINE, T_MODEL, T_CACHE_DIR, T_NO_CACHE, T_QUIET,
  T_CKPT, T_DUMP_PLAN, T_DUMP_LLVM, T_PASSES, T_CONFIG, T_SPLIT, T_DEVICE, T_DUMP_CUDA
};

static int exit_of(Status st, const Diag *d) {
  int code = exit_code(st);
  if (st == JS_OK && d->nerrors) code = EXIT_INPUT;
  return code;
}

static int train_main(int argc, char **argv, char **typed);

static int cmd_train(int argc, char **argv) {
  /* The command line as typed, for the manifest: getopt_long permutes argv. */
  char **typed = ir_malloc(((size_t)argc + 1) * sizeof *typed);
  if (!typed) {
    fputs("jscc: out of memory\n", stderr);
    return EXIT_INPUT;
  }
  memcpy(typed, argv - 1, ((size_t)argc + 1) * sizeof *typed);
  int code = train_main(argc, argv, typed);
  ir_free(typed);
  return code;
}

/* The options train and test share: where the data come from, batch size, engine, model.
 * Returns -1 when `o` is one of them (and valid), 0 when it is not, else the exit code of a
 * usage error. */
typedef struct SharedOpts {
  RtDataOpts *data;
  int64_t *batch;
  RtEngineKind *engine;
  const char **model;
  const char **passes; /* --passes (NULL: the command takes none) */
  const char **config; /* --config */
  RtDeviceKind *device; /* --device (NULL: the command takes none) */
} SharedOpts;

static int shared_opt(const char *cmd, int o, const SharedOpts *so) {
  static const char *const engine_names[] = {"auto", "jit", "ref", "int", "int-c"};
  switch (o) {
  case T_DATA: so->data->path = optarg; return -1;
  case T_SYNTH_N:
    if (!parse_int_opt(optarg, 2, RT_JSC_MAX_ROWS, &so->data->synth_n))
      return sub_usage_error(cmd, "--synth-n: expected a number of jets from 2 to %lld, got '%s'",
                             (long long)RT_JSC_MAX_ROWS, optarg);
    return -1;
  case T_BATCH:
    if (!parse_int_opt(optarg, 1, INT64_C(1) << 24, so->batch))
      return sub_usage_error(cmd, "--batch-size: expected a whole number from 1 to 16777216, got '%s'", optarg);
    return -1;
  case T_ENGINE:
    if (!rt_engine_parse(optarg, so->engine)) return bad_name(cmd, "engine", optarg, engine_names, 5);
    return -1;
  case T_MODEL: *so->model = optarg; return -1;
  case T_CACHE_DIR: so->data->cache_dir = optarg; return -1;
  case T_NO_CACHE: so->data->no_cache = true; return -1;
  case T_PASSES:
    if (!so->passes) return 0;
    *so->passes = optarg;
    return -1;
  case T_CONFIG:
    if (!so->config) return 0;
    *so->config = optarg;
    return -1;
  case T_DEVICE: {
    static const char *const device_names[] = {"cpu", "cuda"};
    if (!so->device) return 0;
    if (!rt_device_parse(optarg, so->device)) return bad_name(cmd, "device", optarg, device_names, 2);
    return -1;
  }
  default: return 0;
  }
}

static int train_main(int argc, char **argv, char **typed) {
  static const struct option longopts[] = {
      {"data", required_argument, NULL, T_DATA},         {"synth-n", required_argument, NULL, T_SYNTH_N},
      {"batch-size", required_argument, NULL, T_BATCH},  {"lr", required_argument, NULL, T_LR},
      {"max-epochs", required_argument, NULL, T_EPOCHS}, {"optimizer", required_argument, NULL, T_OPTIM},
      {"weight-decay", required_argument, NULL, T_WD},   {"momentum", required_argument, NULL, T_MOMENTUM},
      {"nesterov", no_argument, NULL, T_NESTEROV},       {"scheduler", required_argument, NULL, T_SCHED},
      {"t-max", required_argument, NULL, T_T_MAX},       {"eta-min", required_argument, NULL, T_ETA_MIN},
      {"step-size", required_argument, NULL, T_STEP_SIZE}, {"gamma", required_argument, NULL, T_GAMMA},
      {"seed", required_argument, NULL, T_SEED},         {"out", required_argument, NULL, T_OUT},
      {"resume", required_argument, NULL, T_RESUME},     {"engine", required_argument, NULL, T_ENGINE},
      {"model", required_argument, NULL, T_MODEL},       {"cache-dir", required_argument, NULL, T_CACHE_DIR},
      {"no-cache", no_argument, NULL, T_NO_CACHE},       {"quiet", no_argument, NULL, T_QUIET},
      {"dump-plan", no_argument, NULL, T_DUMP_PLAN},     {"dump-llvm", no_argument, NULL, T_DUMP_LLVM},
      {"passes", required_argument, NULL, T_PASSES},     {"config", required_argument, NULL, T_CONFIG},
      {"device", required_argument, NULL, T_DEVICE},     {"dump-cuda", no_argument, NULL, T_DUMP_CUDA},
      {"help", no_argument, NULL, 'h'},                  {NULL, 0, NULL, 0},
  };
  static const char *const optim_names[] = {"adam", "adamw", "sgd"};
  static const char *const sched_names[] = {"constant", "step", "cosine"};
  const char *cmd = "train";
  RtTrainConfig c;
  rt_train_config_default(&c);
  const char *model = NULL;
  bool have_wd = false, have_momentum = false, nesterov = false, dump_plan = false, dump_llvm = false,
       dump_cuda = false;
  double wd = 0, lr = c.optim.lr, momentum = 0;
  OptimKind kind = c.optim.kind;
  int64_t v;
  optind = 1;
  opterr = 0;
  int o;
  const char *passes = NULL, *config = NULL;
  SharedOpts so = {&c.data, &c.batch_size, &c.engine, &model, &passes, &config, &c.device};
  while ((o = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    int sh = shared_opt(cmd, o, &so);
    if (sh > 0) return sh;
    if (sh < 0) continue;
    switch (o) {
    case T_LR:
      if (!parse_real_opt(optarg, 0, true, &lr))
        return sub_usage_error(cmd, "--lr: expected a positive number, got '%s'", optarg);
      break;
    case T_EPOCHS:
      if (!parse_int_opt(optarg, 1, 1000000, &c.max_epochs))
        return sub_usage_error(cmd, "--max-epochs: expected a whole number from 1 to 1000000, got '%s'", optarg);
      break;
    case T_OPTIM: {
      OptimKind k;
      if (!rt_optim_parse(optarg, &k)) return bad_name(cmd, "optimizer", optarg, optim_names, 3);
      kind = k;
      break;
    }
    case T_WD:
      if (!parse_real_opt(optarg, 0, false, &wd))
        return sub_usage_error(cmd, "--weight-decay: expected a number >= 0, got '%s'", optarg);
      have_wd = true;
      break;
    case T_MOMENTUM:
      if (!parse_real_opt(optarg, 0, false, &momentum))
        return sub_usage_error(cmd, "--momentum: expected a number >= 0, got '%s'", optarg);
      have_momentum = true;
      break;
    case T_NESTEROV: nesterov = true; break;
    case T_SCHED:
      if (!rt_sched_parse(optarg, &c.sched.kind)) return bad_name(cmd, "scheduler", optarg, sched_names, 3);
      break;
    case T_T_MAX:
      if (!parse_int_opt(optarg, 1, 1000000, &c.sched.t_max))
        return sub_usage_error(cmd, "--t-max: expected a whole number of epochs from 1 to 1000000, got '%s'", optarg);
      break;
    case T_ETA_MIN:
      if (!parse_real_opt(optarg, 0, false, &c.sched.eta_min))
        return sub_usage_error(cmd, "--eta-min: expected a number >= 0, got '%s'", optarg);
      break;
    case T_STEP_SIZE:
      if (!parse_int_opt(optarg, 1, 1000000, &c.sched.step_size))
        return sub_usage_error(cmd, "--step-size: expected a whole number of epochs from 1 to 1000000, got '%s'", optarg);
      break;
    case T_GAMMA:
      if (!parse_real_opt(optarg, 0, true, &c.sched.gamma))
        return sub_usage_error(cmd, "--gamma: expected a positive number, got '%s'", optarg);
      break;
    case T_SEED:
      if (!parse_int_opt(optarg, 0, INT64_MAX, &v))
        return sub_usage_error(cmd, "--seed: expected a whole number >= 0, got '%s'", optarg);
      c.seed = (uint64_t)v;
      break;
    case T_OUT: c.out_dir = optarg; break;
    case T_RESUME: c.resume_dir = optarg; break;
    case T_QUIET: c.quiet = true; break;
    case T_DUMP_PLAN: dump_plan = true; break;
    case T_DUMP_LLVM: dump_llvm = true; break;
    case T_DUMP_CUDA: dump_cuda = true; break;
    case 'h': train_usage(stdout); return 0;
    case ':': return sub_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
    default: return sub_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
    }
  }
  /* The optimizer's own defaults, then the flags, whatever their order. */
  rt_optim_default(&c.optim, kind);
  c.optim.lr = lr;
  c.optim.weight_decay = have_wd ? wd : 0; /* MASE passes weight_decay=0 to every optimizer */
  if (kind == OPTIM_SGD) {
    c.optim.momentum = momentum;
    c.optim.nesterov = nesterov;
    if (nesterov && !(momentum > 0)) return sub_usage_error(cmd, "--nesterov needs --momentum above 0 (as PyTorch's SGD)");
  } else if (have_momentum || nesterov) {
    return sub_usage_error(cmd, "%s applies to --optimizer sgd only", have_momentum ? "--momentum" : "--nesterov");
  }
  if (optind == argc) return sub_usage_error(cmd, "expected a model file (jscc train MODEL.jsc)");
  if (argc - optind > 1) return sub_usage_error(cmd, "expected one model file, got also '%s'", argv[optind + 1]);
  if (c.resume_dir && c.out_dir) return sub_usage_error(cmd, "--resume continues in its own directory: drop --out");
  if (c.device == RT_DEVICE_CUDA && c.engine != RT_ENGINE_AUTO)
    return sub_usage_error(cmd, "--device=cuda runs its own kernels: --engine %s is a CPU engine (leave --engine out)",
                           rt_engine_name(c.engine));
  c.model_path = argv[optind];

  Diag d;
  diag_init(&d, stderr);
  Model m = {0};
  PipeSrc ps;
  Status st = pipe_build(passes, config, &ps, &d);
  if (!st) st = model_load(&m, c.model_path, model, ps.pl, &d);
  if (!st) {
    c.fwd = m.fwd;
    c.train = m.train;
    c.model_hash = rt_hash64(m.src->text, m.src->len);
    c.argc = argc + 1; /* "jscc" "train" ...: main passed argv from "train" on */
    c.argv = typed;
    c.log = stdout;
    c.progress = !c.quiet && isatty(STDERR_FILENO);
    if (dump_plan || dump_llvm || dump_cuda) { /* print, do not train */
      StrBuf sb;
      sb_init(&sb);
      st = rt_train_dump(&c, dump_plan, dump_llvm, dump_cuda, &sb, &d);
      if (!st) fputs(sb_str(&sb), stdout);
      sb_free(&sb);
    } else {
      RtTrainResult res;
      st = rt_train(&c, &res, &d);
    }
  }
  fflush(stdout);
  model_free(&m);
  pipe_free(&ps);
  int code = exit_of(st, &d);
  diag_free(&d);
  return code;
}

static int cmd_test(int argc, char **argv) {
  static const struct option longopts[] = {
      {"ckpt", required_argument, NULL, T_CKPT},         {"data", required_argument, NULL, T_DATA},
      {"synth-n", required_argument, NULL, T_SYNTH_N},   {"batch-size", required_argument, NULL, T_BATCH},
      {"engine", required_argument, NULL, T_ENGINE},     {"model", required_argument, NULL, T_MODEL},
      {"cache-dir", required_argument, NULL, T_CACHE_DIR}, {"no-cache", no_argument, NULL, T_NO_CACHE},
      {"passes", required_argument, NULL, T_PASSES},     {"config", required_argument, NULL, T_CONFIG},
      {"device", required_argument, NULL, T_DEVICE},     {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *cmd = "test";
  RtTestConfig c;
  rt_test_config_default(&c);
  const char *model = NULL;
  optind = 1;
  opterr = 0;
  int o;
  const char *passes = NULL, *config = NULL;
  SharedOpts so = {&c.data, &c.batch_size, &c.engine, &model, &passes, &config, &c.device};
  while ((o = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    int sh = shared_opt(cmd, o, &so);
    if (sh > 0) return sh;
    if (sh < 0) continue;
    switch (o) {
    case T_CKPT: c.ckpt = optarg; break;
    case 'h': test_usage(stdout); return 0;
    case ':': return sub_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
    default: return sub_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind == argc) return sub_usage_error(cmd, "expected a model file (jscc test MODEL.jsc --ckpt FILE)");
  if (argc - optind > 1) return sub_usage_error(cmd, "expected one model file, got also '%s'", argv[optind + 1]);
  if (!c.ckpt) return sub_usage_error(cmd, "--ckpt FILE is required (a run's best.safetensors, say)");
  if (c.device == RT_DEVICE_CUDA && c.engine != RT_ENGINE_AUTO)
    return sub_usage_error(cmd, "--device=cuda runs its own kernels: --engine %s runs on the CPU (leave --engine out)",
                           rt_engine_name(c.engine));

  Diag d;
  diag_init(&d, stderr);
  Model m = {0};
  PipeSrc ps;
  Status st = pipe_build(passes, config, &ps, &d);
  if (!st) st = model_load(&m, argv[optind], model, ps.pl, &d);
  if (!st) {
    c.fwd = m.fwd;
    c.train = m.train;
    c.log = stdout;
    RtEvalResult r;
    bool integer = c.engine == RT_ENGINE_INT || c.engine == RT_ENGINE_INT_C;
    if (!(st = integer ? rt_int_test(&c, c.engine == RT_ENGINE_INT, &r, &d) : rt_test(&c, &r, &d))) {
      StrBuf sb;
      sb_init(&sb);
      rt_eval_report(&sb, &r);
      fputs(sb_str(&sb), stdout);
      if (sb.oom) st = diag_oom(&d);
      sb_free(&sb);
    }
  }
  fflush(stdout);
  model_free(&m);
  pipe_free(&ps);
  int code = exit_of(st, &d);
  diag_free(&d);
  return code;
}

/* ==== jscc transform ==== */

static void transform_usage(FILE *f) {
  fputs("usage: jscc transform MODEL.jsc|MODEL.ir --passes=PIPELINE|--config FILE [--ckpt FILE] [options]\n"
        "\n"
        "Runs a pipeline of transforms and analyses over a model and its weights (MASE's `ch\n"
        "transform`), then writes to the output directory:\n"
        "  model.ir                  the transformed IR (text that parses back; jscc test takes it)\n"
        "  quantized.safetensors     with --ckpt: the weights, quantized ones dequantized, plus\n"
        "                            each quantized tensor's integer codes (\"quant.NAME\", I32)\n"
        "                            and format (metadata)\n"
        "  report.txt                every pass's report, as printed\n"
        "  and the files report passes write (quantize_table.csv, quantize_histogram.csv, ...).\n"
        "As MASE's transform does, a pipeline that quantizes ends with summarize-quant unless it\n"
        "runs it itself.\n"
        "\n"
        "options:\n"
        "  --passes=PIPELINE      the pipeline: 'quantize{by=type, linear={name=integer, ...}}'\n"
        "  --config FILE          the pipeline from a config file's [passes.*] tables (MASE's TOML)\n"
        "  --ckpt FILE            the weights (a safetensors state_dict, e.g. a run's best)\n"
        "  --out DIR              output directory (default runs/MODEL-transform-YYYYmmdd-HHMMSS)\n"
        "  --data PATH            the JSC data for `profile` (default: the synthetic stand-in)\n"
        "  --synth-n N            synthetic jets before the split (default 830000)\n"
        "  --split NAME           the split `profile` samples: train (default), val or test\n"
        "  --model NAME           the model when the file holds several\n"
        "  --cache-dir DIR        where the preprocessed data are cached\n"
        "  --no-cache             neither read nor write the data cache\n"
        "  -h, --help             print this help\n"
        "\n"
        "Exit status: 0 success, 1 an error in the input, 2 bad usage.\n",
        f);
}


/* One quantized tensor of the checkpoint. */
static Status add_codes(Arena *a, CkptCodes *codes, int *nc, int cap, const char *name, const TensorType *type,
                        float *vals, int64_t n, const QFmt *f, Diag *d) {
  for (int i = 0; i < *nc; i++)
    if (strcmp(codes[i].name + strlen(CKPT_CODES_PREFIX), name) == 0) return JS_OK; /* done by an earlier node */
  if (*nc == cap) return diag_error(d, (SrcLoc){0}, "transform: more than %d quantized tensors", cap);
  StrBuf fs;
  sb_init(&fs);
  ir_qfmt_print(&fs, f);
  const char *fmt = arena_strdup(a, sb_str(&fs));
  sb_free(&fs);
  const char *qn = arena_printf(a, "%s%s", CKPT_CODES_PREFIX, name);
  int32_t *c = arena_alloc(a, sizeof(int32_t) * (size_t)(n ? n : 1));
  TensorType *t = arena_alloc(a, sizeof *t);
  if (!fmt || !qn || !c || !t) return diag_oom(d);
  *t = *type;
  int64_t row = t->rank ? t->dims[t->rank - 1].size : 1;
  if (f->kind == QK_INTEGER)
    for (int64_t i = 0; i < n; i++) c[i] = (int32_t)ir_quant_code(f, vals[i]);
  ir_quant_tensor(f, vals, vals, n, row > 0 ? row : 1);
  if (f->kind != QK_INTEGER) /* no integer codes: the grid index is not an integer format's */
    for (int64_t i = 0; i < n; i++) c[i] = 0;
  if (f->kind == QK_INTEGER) codes[(*nc)++] = (CkptCodes){qn, t, c, fmt};
  return JS_OK;
}

/* The quantized checkpoint: s's tensors with every quantized parameter dequantized, plus the
 * integer codes and formats; a quantized BatchNorm's folded scale and shift (spec/quant.md §3)
 * are recorded as "quant.<module>.folded_scale" / "folded_shift". */
static Status save_quantized(const char *path, const Graph *g, const RtState *s, Diag *d) {
  RtState *q = NULL;
  Arena *a = arena_new();
  if (!a) return diag_oom(d);
  Status st = rt_state_new(s->g, &q, d);
  if (!st) st = rt_state_copy(q, s);
  enum { CAP = 512 };
  CkptCodes *codes = arena_alloc(a, sizeof(CkptCodes) * CAP);
  int nc = 0;
  if (!st && !codes) st = diag_oom(d);
  for (const Node *n = g->first; n && !st; n = n->next) {
    QCfg cfg;
    if (!ir_node_qcfg(n, &cfg)) continue;
    const Param *wp = NULL, *bp = NULL;
    if (n->op == OP_CALL_MODULE && n->module) {
      for (int i = 0; i < n->module->nparams; i++) {
        if (strcmp(n->module->params[i]->name, "weight") == 0) wp = n->module->params[i];
        if (strcmp(n->module->params[i]->name, "bias") == 0) bp = n->module->params[i];
      }
    } else if (n->mop == MOP_LINEAR || n->mop == MOP_CONV1D) {
      if (n->nargs > 1 && n->args[1].kind == VAL_NODE) wp = n->args[1].u.node->param;
      if (n->nargs > 2 && n->args[2].kind == VAL_NODE) bp = n->args[2].u.node->param;
    }
    if (n->mop == MOP_BATCH_NORM1D && n->module && (cfg.has[QS_WEIGHT] || cfg.has[QS_BIAS])) {
      /* the folded form, from the running statistics */
      const Value *ev = ir_module_arg(n->module, "eps");
      double eps = ev && ev->kind == VAL_FLOAT ? ev->u.f : 1e-5;
      const float *w = NULL, *b = NULL, *rm = NULL, *rv = NULL;
      int64_t C = 0;
      for (int i = 0; i < n->module->nparams; i++) {
        const Param *p = n->module->params[i];
        int si = rt_state_index(q, p->qualname);
        if (si < 0 || q->off[si] == (size_t)-1) continue;
        const float *v = q->data + q->off[si];
        C = (int64_t)q->numel[si];
        if (strcmp(p->name, "weight") == 0) w = v;
        else if (strcmp(p->name, "bias") == 0) b = v;
        else if (strcmp(p->name, "running_mean") == 0) rm = v;
        else if (strcmp(p->name, "running_var") == 0) rv = v;
      }
      if (!rm || !rv) continue;
      float *sc = arena_alloc(a, sizeof(float) * (size_t)C), *sh = arena_alloc(a, sizeof(float) * (size_t)C);
      TensorType *t = arena_alloc(a, sizeof *t);
      if (!sc || !sh || !t) {
        st = diag_oom(d);
        break;
      }
      for (int64_t c = 0; c < C; c++) {
        double scale = (w ? w[c] : 1.0) / sqrt((double)rv[c] + eps);
        sc[c] = (float)scale;
        sh[c] = (float)((b ? b[c] : 0.0) - rm[c] * scale);
      }
      *t = (TensorType){.dtype = DT_F32, .rank = 1, .dims = {{.size = C}}};
      const char *ns = arena_printf(a, "%s.folded_scale", n->module->path);
      const char *nh = arena_printf(a, "%s.folded_shift", n->module->path);
      if (!ns || !nh) st = diag_oom(d);
      if (!st && cfg.has[QS_WEIGHT]) st = add_codes(a, codes, &nc, CAP, ns, t, sc, C, &cfg.fmt[QS_WEIGHT], d);
      if (!st && cfg.has[QS_BIAS]) st = add_codes(a, codes, &nc, CAP, nh, t, sh, C, &cfg.fmt[QS_BIAS], d);
      continue;
    }
    const Param *ps[2] = {wp, bp};
    for (int k = 0; k < 2 && !st; k++) {
      QSlot slot = k ? QS_BIAS : QS_WEIGHT;
      if (!ps[k] || !cfg.has[slot]) continue;
      int si = rt_state_index(q, ps[k]->qualname);
      if (si < 0 || q->off[si] == (size_t)-1) continue;
      st = add_codes(a, codes, &nc, CAP, ps[k]->qualname, &ps[k]->type, q->data + q->off[si], (int64_t)q->numel[si],
                     &cfg.fmt[slot], d);
    }
  }
  CkptMeta meta = {.n = 1, .keys = {"jscc"}, .vals = {"quantized checkpoint (jscc transform)"}};
  if (!st) st = rt_ckpt_save_codes(path, q, &meta, codes, nc, d);
  rt_state_free(q);
  arena_free(a);
  return st;
}

static int cmd_transform(int argc, char **argv) {
  static const struct option longopts[] = {
      {"ckpt", required_argument, NULL, T_CKPT},         {"data", required_argument, NULL, T_DATA},
      {"synth-n", required_argument, NULL, T_SYNTH_N},   {"model", required_argument, NULL, T_MODEL},
      {"cache-dir", required_argument, NULL, T_CACHE_DIR}, {"no-cache", no_argument, NULL, T_NO_CACHE},
      {"passes", required_argument, NULL, T_PASSES},     {"config", required_argument, NULL, T_CONFIG},
      {"out", required_argument, NULL, T_OUT},           {"split", required_argument, NULL, T_SPLIT},
      {"help", no_argument, NULL, 'h'},                  {NULL, 0, NULL, 0},
  };
  const char *cmd = "transform";
  RtDataOpts data;
  rt_data_opts_default(&data);
  int64_t batch = 256;
  RtEngineKind engine = RT_ENGINE_AUTO;
  const char *model = NULL, *passes = NULL, *config = NULL, *ckpt = NULL, *out_dir = NULL, *split = NULL;
  optind = 1;
  opterr = 0;
  int o;
  SharedOpts so = {&data, &batch, &engine, &model, &passes, &config, NULL};
  while ((o = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    int sh = shared_opt(cmd, o, &so);
    if (sh > 0) return sh;
    if (sh < 0) continue;
    switch (o) {
    case T_CKPT: ckpt = optarg; break;
    case T_OUT: out_dir = optarg; break;
    case T_SPLIT: split = optarg; break;
    case 'h': transform_usage(stdout); return 0;
    case ':': return sub_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
    default: return sub_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind == argc) return sub_usage_error(cmd, "expected a model file (jscc transform MODEL.jsc --passes=...)");
  if (argc - optind > 1) return sub_usage_error(cmd, "expected one model file, got also '%s'", argv[optind + 1]);
  if (!passes && !config) return sub_usage_error(cmd, "give the pipeline with --passes=PIPELINE or --config FILE");
  const char *path = argv[optind];

  Diag d;
  diag_init(&d, stderr);
  PipeSrc ps = {0};
  Arena *files = arena_new();
  SrcFile *src = NULL;
  Program *prog = NULL;
  Graph *g = NULL;
  RtState *s = NULL;
  RtDataset ds;
  bool have_ds = false;
  RtPassData *pd = NULL;
  StrBuf report;
  sb_init(&report);
  char dirbuf[1024];
  Status st = files ? pipe_build(passes, config, &ps, &d) : diag_oom(&d);
  if (!st) st = diag_read_file(files, path, &src, &d);
  if (!st) st = parse_program(src, &prog, &d);
  if (!st && !(g = pick_model(prog, model, path, &d, &st)) && !st) st = JS_ERR;
  if (!st) st = pass_run_text("shape", g, &d);
  if (!st && ckpt && !(st = rt_state_new(g, &s, &d))) st = rt_ckpt_load(ckpt, s, &d);
  if (!st && s && pass_pipeline_has(ps.pl, "profile")) {
    if (!(st = rt_data_load(&data, &ds, &d))) have_ds = true;
  }
  if (!st) st = rt_pass_data_new(s, have_ds ? &ds : NULL, split, &pd, &d);
  if (!st && !out_dir) {
    time_t now = time(NULL);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
    snprintf(dirbuf, sizeof dirbuf, "runs/%s-transform-%s", g->name, stamp);
    out_dir = dirbuf;
  }
  if (!st && !ir_mkdir_p(out_dir, 0777)) st = diag_error(&d, (SrcLoc){0}, "cannot create the output directory '%s': %s", out_dir, strerror(errno));
  if (!st) {
    PassContext ctx = {.diag = &d, .report = &report, .data = rt_pass_data_get(pd), .out_dir = out_dir};
    st = pass_pipeline_run(ps.pl, g, &ctx);
    if (!st && pass_pipeline_has(ps.pl, "quantize") && !pass_pipeline_has(ps.pl, "summarize-quant") &&
        pass_lookup("summarize-quant")) {
      Pipeline *sum = NULL;
      if (!(st = pass_pipeline_parse("summarize-quant", &sum, &d))) st = pass_pipeline_run(sum, g, &ctx);
      pass_pipeline_free(sum);
    }
  }
  char fpath[1200];
  if (!st) {
    fputs(sb_str(&report), stdout);
    snprintf(fpath, sizeof fpath, "%s/report.txt", out_dir);
    if (sb_write_file(&report, fpath)) st = diag_error(&d, (SrcLoc){0}, "cannot write '%s'", fpath);
  }
  if (!st) {
    StrBuf ir;
    sb_init(&ir);
    ir_print_graph(&ir, g);
    snprintf(fpath, sizeof fpath, "%s/model.ir", out_dir);
    if (ir.oom) st = diag_oom(&d);
    else if (sb_write_file(&ir, fpath)) st = diag_error(&d, (SrcLoc){0}, "cannot write '%s'", fpath);
    else printf("wrote %s\n", fpath);
    sb_free(&ir);
  }
  if (!st && s) {
    snprintf(fpath, sizeof fpath, "%s/quantized.safetensors", out_dir);
    if (!(st = save_quantized(fpath, g, s, &d))) printf("wrote %s\n", fpath);
  } else if (!st) {
    printf("no --ckpt: no quantized checkpoint written\n");
  }
  fflush(stdout);
  rt_pass_data_free(pd);
  if (have_ds) rt_data_free(&ds);
  rt_state_free(s);
  ir_program_free(prog);
  arena_free(files);
  pipe_free(&ps);
  sb_free(&report);
  int code = exit_of(st, &d);
  diag_free(&d);
  return code;
}

/* tools/diff.c */
int cmd_diff(int argc, char **argv);
int cmd_report(int argc, char **argv); /* tools/report.c */

int main(int argc, char **argv) {
  /* Subcommands only as the first argument: `jscc MODEL --passes=...` is unchanged. */
  if (argc > 1 && strcmp(argv[1], "train") == 0) return cmd_train(argc - 1, argv + 1);
  if (argc > 1 && strcmp(argv[1], "test") == 0) return cmd_test(argc - 1, argv + 1);
  if (argc > 1 && strcmp(argv[1], "transform") == 0) return cmd_transform(argc - 1, argv + 1);
  if (argc > 1 && strcmp(argv[1], "diff") == 0) return cmd_diff(argc - 1, argv + 1);
  if (argc > 1 && strcmp(argv[1], "report") == 0) return cmd_report(argc - 1, argv + 1);
  Options opt = {.max_errors = 20};
  rt_data_opts_default(&opt.data);
  enum { O_PASSES = 256, O_DUMP_IR, O_DUMP_AFTER, O_MODEL, O_MAX_ERRORS, O_LIST, O_VERSION, O_CONFIG, O_CKPT, O_SPLIT };
  static const struct option longopts[] = {
      {"passes", required_argument, NULL, O_PASSES},
      {"dump-ir", optional_argument, NULL, O_DUMP_IR},
      {"dump-after", required_argument, NULL, O_DUMP_AFTER},
      {"model", required_argument, NULL, O_MODEL},
      {"output", required_argument, NULL, 'o'},
      {"max-errors", required_argument, NULL, O_MAX_ERRORS},
      {"list-passes", no_argument, NULL, O_LIST},
      {"version", no_argument, NULL, O_VERSION},
      {"config", required_argument, NULL, O_CONFIG},
      {"ckpt", required_argument, NULL, O_CKPT},
      {"split", required_argument, NULL, O_SPLIT},
      {"data", required_argument, NULL, T_DATA},
      {"synth-n", required_argument, NULL, T_SYNTH_N},
      {"cache-dir", required_argument, NULL, T_CACHE_DIR},
      {"no-cache", no_argument, NULL, T_NO_CACHE},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int64_t unused_batch = 0;
  RtEngineKind unused_engine = RT_ENGINE_AUTO;
  SharedOpts so = {&opt.data, &unused_batch, &unused_engine, &opt.model, NULL, NULL, NULL};
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":ho:x:", longopts, NULL)) != -1) {
    if (c == T_DATA || c == T_SYNTH_N || c == T_CACHE_DIR || c == T_NO_CACHE) {
      int sh = shared_opt("", c, &so);
      if (sh > 0) return sh;
      continue;
    }
    switch (c) {
    case O_PASSES: opt.passes = optarg; break;
    case O_CONFIG: opt.config = optarg; break;
    case O_CKPT: opt.ckpt = optarg; break;
    case O_SPLIT: opt.split = optarg; break;
    case O_DUMP_IR:
      opt.dump = DUMP_TEXT;
      if (optarg && !parse_dump_format(optarg, &opt.dump))
        return usage_error("--dump-ir: unknown format '%s' (valid: text, table, dot, json)", optarg);
      break;
    case O_DUMP_AFTER: opt.dump_after = optarg; break;
    case O_MODEL: opt.model = optarg; break;
    case 'o': opt.output = optarg; break;
    case 'x':
      if (strcmp(optarg, "jsc") != 0 && strcmp(optarg, "ir") != 0)
        return usage_error("-x: unknown language '%s' (valid: jsc, ir)", optarg);
      opt.lang = optarg;
      break;
    case O_MAX_ERRORS: {
      char *end;
      long n = strtol(optarg, &end, 10);
      if (*end || n < 1 || n > 100000) return usage_error("--max-errors: expected a number from 1 to 100000, got '%s'", optarg);
      opt.max_errors = (int)n;
      break;
    }
    case O_LIST: {
      StrBuf sb;
      sb_init(&sb);
      pass_list(&sb);
      fputs(sb_str(&sb), stdout);
      sb_free(&sb);
      return 0;
    }
    case O_VERSION: {
      /* the second line says what this build has, so the CLI test scripts can adapt */
      char why[256];
      printf("jscc %s\n", JSCC_VERSION);
#ifdef JSCC_HAVE_HDF5
      const char *hdf5 = "yes";
#else
      const char *hdf5 = "no";
#endif
      printf("features: llvm=%s hdf5=%s nvrtc=%s\n", cg_llvm_available() ? "yes" : "no", hdf5,
             cg_nvrtc_available(why, sizeof why) ? "yes" : "no");
      return 0;
    }
    case 'h': usage(stdout); return 0;
    case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
    default: return usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind == argc) {
    usage(stderr);
    return EXIT_USAGE;
  }
  if (argc - optind > 1) return usage_error("expected one input file, got also '%s'", argv[optind + 1]);
  opt.input = argv[optind];
  return run(&opt);
}
