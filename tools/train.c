/* tools/train.c — jscc train: the command line of a training run (runtime/train.h runs it). */
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
#include "cuda.h"

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

static int train_main(int argc, char **argv, char **typed);

int cmd_train(int argc, char **argv) {
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
