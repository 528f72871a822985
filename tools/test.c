/* tools/test.c — jscc test: a checkpoint evaluated on the test split.
 *
 * Any model the reference executor runs forward is evaluated: only the forward graph is
 * built (evaluation needs no training graph), the JIT runs it when it can and the reference
 * executor otherwise (--engine auto says why on its engine line), and a model with several
 * outputs is scored on one of them (--output NAME, rt_select_output). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

enum { T_OUTPUT = 400 }; /* past common.h's shared options */

static void test_usage(FILE *f) {
  fputs("usage: jscc test MODEL.jsc|MODEL.ir --ckpt FILE [options]\n"
        "\n"
        "Evaluates a checkpoint (a safetensors state_dict, e.g. a run's best.safetensors) on\n"
        "the test split: loss, micro accuracy (correct / rows), macro accuracy (the mean of the\n"
        "per-class accuracies, as torchmetrics' average=\"macro\"), per-class accuracy and the\n"
        "confusion matrix.  A checkpoint in a run directory (beside its manifest.json) also\n"
        "gets the report there as test.json.\n"
        "\n"
        "options:\n"
        "  --ckpt FILE            the checkpoint (required)\n"
        "  --split test|val       the split to evaluate (default test)\n"
        "  --json                 the report as JSON on stdout (split, rows, loss, micro and macro\n"
        "                         accuracy, per-class accuracy, confusion matrix, engine,\n"
        "                         checkpoint); the data and engine lines go to stderr\n"
        "  --task cls             the task, as MASE's CLI has it: cls (classification) only\n"
        "  --data PATH            the JSC data (default: the synthetic stand-in)\n"
        "  --synth-n N            synthetic jets before the split (default 830000)\n"
        "  --batch-size N         rows per step (default 256)\n"
        "  --engine NAME          auto (default), jit or ref (fake quantization for a quantized\n"
        "                         model); int: integer-only inference, JIT-compiled; int-c: the\n"
        "                         same on the plain C integer executor (spec/quant.md §5)\n"
        "  --device=cpu|cuda      where to evaluate: cpu (default) or cuda (an NVIDIA GPU, one\n"
        "                         launch for the split; needs --engine auto)\n"
        "  --model NAME           the model when the file holds several\n"
        "  --output NAME          the output scored, for a model with several (default: the\n"
        "                         first, with a note naming the others; the names are the\n"
        "                         returned nodes')\n"
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

/* A checkpoint inside a run directory (beside its manifest.json) gets test.json there. */
static Status write_run_report(const char *ckpt, const StrBuf *json, bool say, Diag *d) {
  const char *slash = strrchr(ckpt, '/');
  int dl = slash ? (int)(slash - ckpt) : 1;
  const char *dir = slash ? ckpt : ".";
  char man[1200], out[1200];
  if (snprintf(man, sizeof man, "%.*s/manifest.json", dl, dir) >= (int)sizeof man || access(man, F_OK) != 0)
    return JS_OK;
  snprintf(out, sizeof out, "%.*s/test.json", dl, dir);
  if (json->oom) return diag_oom(d);
  errno = 0;
  if (sb_write_file(json, out) != JS_OK)
    return diag_error(d, (SrcLoc){0}, "cannot write '%s': %s", out, errno ? strerror(errno) : "out of memory");
  if (say) printf("report written to %s\n", out);
  return JS_OK;
}

/* The evaluation and its report: text or JSON on stdout, test.json in a run directory. */
static Status test_run(RtTestConfig *c, Model *m, bool json, Diag *d) {
  char kdir[4096];
  c->fwd = m->fwd;
  c->train = m->train;
  c->kernel_cache = kernel_cache_dir(&c->data, kdir, sizeof kdir);
  c->log = json ? stderr : stdout; /* --json: stdout holds the JSON alone */
  RtEvalResult r;
  bool integer = c->engine == RT_ENGINE_INT || c->engine == RT_ENGINE_INT_C;
  rt_check_logits(m->fwd, d); /* once per evaluation: a double softmax, a final relu */
  Status st = integer ? rt_int_test(c, c->engine == RT_ENGINE_INT, &r, d) : rt_test(c, &r, d);
  if (st) return st;
  StrBuf text, js;
  sb_init(&text);
  sb_init(&js);
  rt_eval_json(&js, &r, c->ckpt);
  if (!json) rt_eval_report(&text, &r);
  fputs(sb_str(json ? &js : &text), stdout);
  if (text.oom || js.oom) st = diag_oom(d);
  if (!st) st = write_run_report(c->ckpt, &js, !json, d);
  sb_free(&text);
  sb_free(&js);
  return st;
}

int cmd_test(int argc, char **argv) {
  static const struct option longopts[] = {
      {"ckpt", required_argument, NULL, T_CKPT},         {"data", required_argument, NULL, T_DATA},
      {"synth-n", required_argument, NULL, T_SYNTH_N},   {"batch-size", required_argument, NULL, T_BATCH},
      {"engine", required_argument, NULL, T_ENGINE},     {"model", required_argument, NULL, T_MODEL},
      {"cache-dir", required_argument, NULL, T_CACHE_DIR}, {"no-cache", no_argument, NULL, T_NO_CACHE},
      {"passes", required_argument, NULL, T_PASSES},     {"config", required_argument, NULL, T_CONFIG},
      {"device", required_argument, NULL, T_DEVICE},     {"task", required_argument, NULL, T_TASK},
      {"json", no_argument, NULL, T_JSON},               {"split", required_argument, NULL, T_SPLIT},
      {"output", required_argument, NULL, T_OUTPUT},     {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  static const char *const split_names[] = {"test", "val"};
  const char *cmd = "test";
  RtTestConfig c;
  rt_test_config_default(&c);
  const char *model = NULL, *output = NULL;
  optind = 1;
  opterr = 0;
  int o;
  bool json = false;
  const char *passes = NULL, *config = NULL;
  SharedOpts so = {&c.data, &c.batch_size, &c.engine, &model, &passes, &config, &c.device};
  while ((o = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    int sh = shared_opt(cmd, o, &so);
    if (sh > 0) return sh;
    if (sh < 0) continue;
    switch (o) {
    case T_CKPT: c.ckpt = optarg; break;
    case T_JSON: json = true; break;
    case T_OUTPUT: output = optarg; break;
    case T_SPLIT:
      if (!rt_split_parse(optarg, &c.split)) return bad_name(cmd, "split", optarg, split_names, 2);
      break;
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
  Status st = pipe_build(passes, config, true, &ps, &d);
  if (!st) st = model_load_fwd(&m, argv[optind], model, ps.pl, &d);
  if (!st) st = rt_select_output(m.fwd, output, stderr, &d);
  if (!st) st = test_run(&c, &m, json, &d);
  fflush(stdout);
  model_free(&m);
  pipe_free(&ps);
  int code = exit_of(st, &d);
  diag_free(&d);
  return code;
}
