/* tools/test.c — jscc test: a checkpoint evaluated on the test split. */
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

int cmd_test(int argc, char **argv) {
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
  Status st = pipe_build(passes, config, true, &ps, &d);
  if (!st) st = model_load(&m, argv[optind], model, ps.pl, &d);
  char kdir[4096];
  if (!st) {
    c.fwd = m.fwd;
    c.train = m.train;
    c.log = stdout;
    c.kernel_cache = kernel_cache_dir(&c.data, kdir, sizeof kdir);
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
