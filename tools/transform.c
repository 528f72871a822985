/* tools/transform.c — jscc transform: a pipeline run over a model and its checkpoint, writing
 * the transformed IR, the quantized checkpoint and the report tables. */
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
#include "frontend.h"

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

int cmd_transform(int argc, char **argv) {
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
  Status st = files ? pipe_build(passes, config, true, &ps, &d) : diag_oom(&d);
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
    if (sb_write_file(&report, fpath)) st = diag_error(&d, (SrcLoc){0}, "cannot write '%s': %s", fpath, strerror(errno));
  }
  if (!st) {
    StrBuf ir;
    sb_init(&ir);
    ir_print_graph(&ir, g);
    snprintf(fpath, sizeof fpath, "%s/model.ir", out_dir);
    if (ir.oom) st = diag_oom(&d);
    else if (sb_write_file(&ir, fpath)) st = diag_error(&d, (SrcLoc){0}, "cannot write '%s': %s", fpath, strerror(errno));
    else printf("wrote %s\n", fpath);
    sb_free(&ir);
  }
  if (!st && s) {
    snprintf(fpath, sizeof fpath, "%s/quantized.safetensors", out_dir);
    if (!(st = rt_ckpt_save_quantized(fpath, g, s, &d))) printf("wrote %s\n", fpath);
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
