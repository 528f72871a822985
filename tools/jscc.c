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
#include <unistd.h>

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

static bool has_suffix(const char *s, const char *suffix) {
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
  if (!st && opt->passes && (st = pass_pipeline_parse(opt->passes, &pl, &d))) st = JS_EUSAGE;
  if (!st && opt->dump_after) {
    if (!pl) {
      diag_error(&d, (SrcLoc){0}, "--dump-after=%s needs --passes", opt->dump_after);
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

  DumpFormat fmt = opt->dump != DUMP_NONE ? opt->dump : DUMP_TEXT;
  DumpCtx dc = {&out, &report, fmt};
  for (int i = 0; !st && pl && i < prog->ngraphs; i++) {
    Graph *g = prog->graphs[i];
    if (only && g != only) continue;
    PassContext ctx = {.diag = &d, .report = &report, .dump_after = opt->dump_after,
                       .dump = dump_after_pass, .dump_ud = &dc};
    st = pass_pipeline_run(pl, g, &ctx);
    flush_report(&out, &report);
  }

  /* The final view: asked for, or the default when nothing else was. */
  DumpFormat final = opt->dump;
  if (final == DUMP_NONE && !opt->passes) final = DUMP_TEXT;
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

  pass_pipeline_free(pl);
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
        "  --model NAME           the model to train when the file holds several\n"
        "  --cache-dir DIR        where the preprocessed data are cached\n"
        "  --no-cache             neither read nor write the data cache\n"
        "  --quiet                no per-epoch lines\n"
        "  --dump-plan            print the jit's fusion plans (training and evaluation step) and exit\n"
        "  --dump-llvm            print the optimised LLVM modules of both steps and exit\n"
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
        "  --engine NAME          auto (default), jit or ref\n"
        "  --model NAME           the model when the file holds several\n"
        "  --cache-dir DIR        where the preprocessed data are cached\n"
        "  --no-cache             neither read nor write the data cache\n"
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
static bool parse_int_opt(const char *s, int64_t lo, int64_t hi, int64_t *out) {
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


static Status parse_program(const SrcFile *src, Program **prog, Diag *d) {
  if (has_suffix(src->path, ".ir")) return ir_parse(src, prog, d);
  Status st = fe_parse(src, prog, d);
#ifdef JSCC_VERIFY_EACH_PASS
  for (int i = 0; !st && i < (*prog)->ngraphs; i++) st = ir_verify((*prog)->graphs[i], d);
#endif
  return st;
}

static Graph *pick_model(Program *p, const char *name, const char *path, Diag *d, Status *st) {
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

static Status model_load(Model *m, const char *path, const char *name, Diag *d) {
  memset(m, 0, sizeof *m);
  if (!(m->files = arena_new())) return diag_oom(d);
  Status st = diag_read_file(m->files, path, &m->src, d);
  if (!st) st = parse_program(m->src, &m->pf, d);
  if (!st && !(m->fwd = pick_model(m->pf, name, path, d, &st))) return st;
  if (!st) st = pass_run_text("shape", m->fwd, d);
  if (!st) st = parse_program(m->src, &m->pt, d);
  if (!st && !(m->train = ir_program_find(m->pt, m->fwd->name))) st = diag_error(d, (SrcLoc){0}, "model vanished");
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
  T_CKPT, T_DUMP_PLAN, T_DUMP_LLVM
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
} SharedOpts;

static int shared_opt(const char *cmd, int o, const SharedOpts *so) {
  static const char *const engine_names[] = {"auto", "jit", "ref"};
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
    if (!rt_engine_parse(optarg, so->engine)) return bad_name(cmd, "engine", optarg, engine_names, 3);
    return -1;
  case T_MODEL: *so->model = optarg; return -1;
  case T_CACHE_DIR: so->data->cache_dir = optarg; return -1;
  case T_NO_CACHE: so->data->no_cache = true; return -1;
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
      {"help", no_argument, NULL, 'h'},                  {NULL, 0, NULL, 0},
  };
  static const char *const optim_names[] = {"adam", "adamw", "sgd"};
  static const char *const sched_names[] = {"constant", "step", "cosine"};
  const char *cmd = "train";
  RtTrainConfig c;
  rt_train_config_default(&c);
  const char *model = NULL;
  bool have_wd = false, have_momentum = false, nesterov = false, dump_plan = false, dump_llvm = false;
  double wd = 0, lr = c.optim.lr, momentum = 0;
  OptimKind kind = c.optim.kind;
  int64_t v;
  optind = 1;
  opterr = 0;
  int o;
  SharedOpts so = {&c.data, &c.batch_size, &c.engine, &model};
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
  c.model_path = argv[optind];

  Diag d;
  diag_init(&d, stderr);
  Model m;
  Status st = model_load(&m, c.model_path, model, &d);
  if (!st) {
    c.fwd = m.fwd;
    c.train = m.train;
    c.model_hash = rt_hash64(m.src->text, m.src->len);
    c.argc = argc + 1; /* "jscc" "train" ...: main passed argv from "train" on */
    c.argv = typed;
    c.log = stdout;
    c.progress = !c.quiet && isatty(STDERR_FILENO);
    if (dump_plan || dump_llvm) { /* print, do not train */
      StrBuf sb;
      sb_init(&sb);
      st = rt_train_dump(&c, dump_plan, dump_llvm, &sb, &d);
      if (!st) fputs(sb_str(&sb), stdout);
      sb_free(&sb);
    } else {
      RtTrainResult res;
      st = rt_train(&c, &res, &d);
    }
  }
  fflush(stdout);
  model_free(&m);
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
      {"help", no_argument, NULL, 'h'},                  {NULL, 0, NULL, 0},
  };
  const char *cmd = "test";
  RtTestConfig c;
  rt_test_config_default(&c);
  const char *model = NULL;
  optind = 1;
  opterr = 0;
  int o;
  SharedOpts so = {&c.data, &c.batch_size, &c.engine, &model};
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

  Diag d;
  diag_init(&d, stderr);
  Model m;
  Status st = model_load(&m, argv[optind], model, &d);
  if (!st) {
    c.fwd = m.fwd;
    c.train = m.train;
    c.log = stdout;
    RtEvalResult r;
    if (!(st = rt_test(&c, &r, &d))) {
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
  int code = exit_of(st, &d);
  diag_free(&d);
  return code;
}

int main(int argc, char **argv) {
  /* Subcommands only as the first argument: `jscc MODEL --passes=...` is unchanged. */
  if (argc > 1 && strcmp(argv[1], "train") == 0) return cmd_train(argc - 1, argv + 1);
  if (argc > 1 && strcmp(argv[1], "test") == 0) return cmd_test(argc - 1, argv + 1);
  Options opt = {.max_errors = 20};
  enum { O_PASSES = 256, O_DUMP_IR, O_DUMP_AFTER, O_MODEL, O_MAX_ERRORS, O_LIST, O_VERSION };
  static const struct option longopts[] = {
      {"passes", required_argument, NULL, O_PASSES},
      {"dump-ir", optional_argument, NULL, O_DUMP_IR},
      {"dump-after", required_argument, NULL, O_DUMP_AFTER},
      {"model", required_argument, NULL, O_MODEL},
      {"output", required_argument, NULL, 'o'},
      {"max-errors", required_argument, NULL, O_MAX_ERRORS},
      {"list-passes", no_argument, NULL, O_LIST},
      {"version", no_argument, NULL, O_VERSION},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":ho:x:", longopts, NULL)) != -1) {
    switch (c) {
    case O_PASSES: opt.passes = optarg; break;
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
    case O_VERSION: printf("jscc %s\n", JSCC_VERSION); return 0;
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
