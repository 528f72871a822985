/* tools/compile.c — the default command: `jscc MODEL` reads a model (.jsc source or IR text),
 * runs a pass pipeline over it and prints reports and IR views (--dump-ir, --dump-after);
 * also --list-passes, --version and the top-level --help.
 *
 * A Status becomes an exit code here: 0 success, 1 bad input (the diagnostics say where),
 * 2 bad usage.  Output to a file (-o) is written only when everything succeeded, and
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
#include "hw.h"
#include "cuda.h"
#include "exp.h"
#include "frontend.h"
#include "ir.h"
#include "passes.h"
#include "runtime.h"


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
  RtEngineKind profile_engine; /* --profile-engine: auto, or ref (the reference executor) */
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
        "       jscc sweep MODEL.jsc [train options with lists or ranges]   (jscc sweep --help)\n"
        "       jscc report SWEEP_DIR|RUN_DIR... [--out DIR]   (jscc report --help)\n"
        "       jscc emit MODEL.jsc --ckpt FILE --config FILE --target verilog|c   (jscc emit --help)\n"
        "       jscc search MODEL.jsc --ckpt FILE --config SEARCH.toml   (jscc search --help)\n"
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
        "                         report-weights, intervals, cost): a safetensors state_dict\n"
        "  --data=PATH, --synth-n=N, --cache-dir=DIR, --no-cache\n"
        "                         the JSC data `profile` samples (default: synthetic)\n"
        "  --split=NAME           the split `profile` samples: train (default), val or test\n"
        "  --profile-engine=auto|ref\n"
        "                         what `profile` samples with: the JIT where it covers the\n"
        "                         model and a split is sampled (auto, the default), or the\n"
        "                         reference executor (ref: double, the same on every machine)\n"
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

/* ---- pipelines from --passes or --config ---- */

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
    st = pipe_build(opt->passes, opt->config, true, &ps, &d);
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
  rt_pass_data_set_engine(pd, opt->profile_engine);

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
  for (int i = 0; !st && final == DUMP_DOT && i < prog->ngraphs; i++) /* dot labels show the shapes */
    if (!only || prog->graphs[i] == only) st = pass_run_text("shape", prog->graphs[i], &d);
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
    diag_error(&d, (SrcLoc){0}, "cannot write '%s': %s", opt->output, strerror(errno));
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

int cmd_compile(int argc, char **argv) {
  Options opt = {.max_errors = 20};
  rt_data_opts_default(&opt.data);
  enum { O_PASSES = 256, O_DUMP_IR, O_DUMP_AFTER, O_MODEL, O_MAX_ERRORS, O_LIST, O_VERSION, O_CONFIG, O_CKPT, O_SPLIT,
         O_PROFILE_ENGINE };
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
      {"profile-engine", required_argument, NULL, O_PROFILE_ENGINE},
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
    case O_PROFILE_ENGINE:
      if (strcmp(optarg, "auto") != 0 && strcmp(optarg, "ref") != 0)
        return usage_error("--profile-engine: unknown engine '%s' (valid: auto, ref)", optarg);
      opt.profile_engine = strcmp(optarg, "ref") == 0 ? RT_ENGINE_REF : RT_ENGINE_AUTO;
      break;
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
#ifdef JSCC_HAVE_PCRE2
      const char *pcre2 = "yes";
#else
      const char *pcre2 = "no";
#endif
      printf("features: llvm=%s hdf5=%s nvrtc=%s mpi=%s plplot=%s pcre2=%s", cg_llvm_available() ? "yes" : "no", hdf5,
             cg_nvrtc_available(why, sizeof why) ? "yes" : "no", exp_mpi_built() ? "yes" : "no",
             exp_plot_available() ? "yes" : "no", pcre2);
      /* the open hardware tools jscc emit runs, where they are found */
      static const HwTool hdl[] = {HW_VERILATOR, HW_IVERILOG, HW_YOSYS, HW_NEXTPNR_ICE40};
      for (size_t k = 0; k < sizeof hdl / sizeof *hdl; k++)
        printf(" %s=%s", hw_tool_name(hdl[k]), hw_tool_path(hdl[k]) ? "yes" : "no");
      putchar('\n');
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
