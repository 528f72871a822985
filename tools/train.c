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
#include "exp.h"
#include "frontend.h"

static void train_usage(FILE *f) {
  fputs("usage: jscc train MODEL.jsc|MODEL.ir [options]\n"
        "\n"
        "Trains the model on the JSC data (MASE's `ch train`): cross-entropy, mini-batches\n"
        "reshuffled every epoch, validation after every epoch.  The run directory gets\n"
        "metrics.csv, manifest.json, best.safetensors (lowest val_loss), last.safetensors and\n"
        "last.optim.safetensors (each epoch's commit: weights and optimizer state together).\n"
        "One jscc at a time writes a run directory (DIR/.lock).  Without --data the data are\n"
        "the bundled SYNTHETIC stand-in, and the run says so.  On a terminal a progress bar\n"
        "shows each epoch's steps, the time left and the running loss; `*` on an epoch line\n"
        "marks a new best val_loss (saved to best.safetensors).\n"
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
        "  --resume DIR           continue the run in DIR from its last committed epoch (or\n"
        "                         restart it from init.safetensors when it stopped in its first\n"
        "                         epoch); the settings come from this command line and must be\n"
        "                         the run's (manifest.json): what differs is listed and refused.\n"
        "                         Without --t-max a cosine schedule keeps the run's period\n"
        "  --force                resume even when the settings differ (the manifest records it)\n"
        "  --init CKPT            start from these weights instead of the seed's initialisation:\n"
        "                         a safetensors state_dict (a jscc checkpoint, or PyTorch's\n"
        "                         save_file(model.state_dict())): fine-tuning, QAT from a float\n"
        "                         model; init.safetensors and the manifest record it\n"
        "  --task cls             the task, as MASE's CLI has it: cls (classification) only\n",
        f);
  /* two strings: ISO C bounds a literal's length */
  fputs("  --engine NAME          auto (default: jit when it can compile the model), jit or ref\n"
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
        "  --tensorboard DIR      also write TensorBoard event files to DIR: the per-epoch scalars\n"
        "                         under MASE's names (val_acc_epoch, ...) and the HParams tab\n"
        "  --dump-plan            print the jit's fusion plans (training and evaluation step) and exit\n"
        "  --dump-llvm            print the optimised LLVM modules of both steps and exit\n"
        "  --dump-cuda            print the CUDA C of both steps (--device=cuda's kernels) and exit;\n"
        "                         needs no GPU\n"
        TUNING_HELP
        "  -h, --help             print this help\n"
        "\n"
        "Exit status: 0 success, 1 an error in the input, 2 bad usage.\n",
        f);
}

static const struct option train_longopts[] = {
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
    {"force", no_argument, NULL, T_FORCE},             {"init", required_argument, NULL, T_INIT},
    {"task", required_argument, NULL, T_TASK},         {"tensorboard", required_argument, NULL, T_TENSORBOARD},
    TUNING_LONGOPTS,
    {"help", no_argument, NULL, 'h'},                  {NULL, 0, NULL, 0},
};

const struct option *train_options(void) { return train_longopts; }

static const char *const optim_names[] = {"adam", "adamw", "sgd"};
static const char *const sched_names[] = {"constant", "step", "cosine"};

/* The options that set a number or a name of the run (everything but the shared ones). */
static int train_value_opt(TrainArgs *ta, int o) {
  const char *cmd = "train";
  RtTrainConfig *c = &ta->c;
  int64_t v;
  switch (o) {
  case T_LR:
    if (!parse_real_opt(optarg, 0, true, &ta->lr))
      return sub_usage_error(cmd, "--lr: expected a positive number, got '%s'", optarg);
    ta->set_lr = true;
    return -1;
  case T_EPOCHS:
    if (!parse_int_opt(optarg, 1, 1000000, &c->max_epochs))
      return sub_usage_error(cmd, "--max-epochs: expected a whole number from 1 to 1000000, got '%s'", optarg);
    ta->set_epochs = true;
    return -1;
  case T_OPTIM:
    if (!rt_optim_parse(optarg, &ta->kind)) return bad_name(cmd, "optimizer", optarg, optim_names, 3);
    ta->set_optim = true;
    return -1;
  case T_WD:
    if (!parse_real_opt(optarg, 0, false, &ta->wd))
      return sub_usage_error(cmd, "--weight-decay: expected a number >= 0, got '%s'", optarg);
    ta->have_wd = true;
    return -1;
  case T_MOMENTUM:
    if (!parse_real_opt(optarg, 0, false, &ta->momentum))
      return sub_usage_error(cmd, "--momentum: expected a number >= 0, got '%s'", optarg);
    ta->have_momentum = true;
    return -1;
  case T_SEED:
    if (!parse_int_opt(optarg, 0, INT64_MAX, &v))
      return sub_usage_error(cmd, "--seed: expected a whole number >= 0, got '%s'", optarg);
    c->seed = (uint64_t)v;
    ta->set_seed = true;
    return -1;
  default: return 0;
  }
}

/* The schedule's options and the flags. */
static int train_other_opt(TrainArgs *ta, int o, char **argv) {
  const char *cmd = "train";
  RtTrainConfig *c = &ta->c;
  switch (o) {
  case T_NESTEROV: ta->nesterov = true; return -1;
  case T_SCHED:
    if (!rt_sched_parse(optarg, &c->sched.kind)) return bad_name(cmd, "scheduler", optarg, sched_names, 3);
    return -1;
  case T_T_MAX:
    if (!parse_int_opt(optarg, 1, 1000000, &c->sched.t_max))
      return sub_usage_error(cmd, "--t-max: expected a whole number of epochs from 1 to 1000000, got '%s'", optarg);
    return -1;
  case T_ETA_MIN:
    if (!parse_real_opt(optarg, 0, false, &c->sched.eta_min))
      return sub_usage_error(cmd, "--eta-min: expected a number >= 0, got '%s'", optarg);
    return -1;
  case T_STEP_SIZE:
    if (!parse_int_opt(optarg, 1, 1000000, &c->sched.step_size))
      return sub_usage_error(cmd, "--step-size: expected a whole number of epochs from 1 to 1000000, got '%s'", optarg);
    return -1;
  case T_GAMMA:
    if (!parse_real_opt(optarg, 0, true, &c->sched.gamma))
      return sub_usage_error(cmd, "--gamma: expected a positive number, got '%s'", optarg);
    return -1;
  case T_OUT: c->out_dir = optarg; return -1;
  case T_RESUME: c->resume_dir = optarg; return -1;
  case T_FORCE: c->force = true; return -1;
  case T_INIT: c->init_ckpt = optarg; return -1;
  case T_QUIET: c->quiet = true; return -1;
  case T_DUMP_PLAN: ta->dump_plan = true; return -1;
  case T_DUMP_LLVM: ta->dump_llvm = true; return -1;
  case T_DUMP_CUDA: ta->dump_cuda = true; return -1;
  case T_TENSORBOARD: ta->tensorboard = optarg; return -1;
  case 'h': train_usage(stdout); return 0;
  case ':': return sub_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
  default: return sub_usage_error(cmd, "unknown option '%s'", argv[optind - 1]);
  }
}

int train_args_parse(int argc, char **argv, TrainArgs *ta) {
  memset(ta, 0, sizeof *ta);
  rt_train_config_default(&ta->c);
  ta->tuning = CG_TUNING_DEFAULT;
  ta->lr = ta->c.optim.lr;
  ta->kind = ta->c.optim.kind;
  optind = 1;
  opterr = 0;
  int o;
  SharedOpts so = {&ta->c.data, &ta->c.batch_size, &ta->c.engine, &ta->model, &ta->passes, &ta->config, &ta->c.device};
  while ((o = getopt_long(argc, argv, ":h", train_longopts, NULL)) != -1) {
    int sh = shared_opt("train", o, &so);
    if (sh > 0) return sh;
    if (sh < 0) {
      if (o == T_BATCH) ta->set_batch = true;
      continue;
    }
    if ((sh = tuning_opt("train", o, &ta->tuning)) > 0) return sh;
    if (sh < 0) continue;
    if ((sh = train_value_opt(ta, o)) < 0) continue;
    if (sh > 0) return sh;
    if ((sh = train_other_opt(ta, o, argv)) >= 0) return sh;
  }
  if (optind == argc) return sub_usage_error("train", "expected a model file (jscc train MODEL.jsc)");
  if (argc - optind > 1) return sub_usage_error("train", "expected one model file, got also '%s'", argv[optind + 1]);
  ta->c.model_path = argv[optind];
  ta->c.passes = ta->passes; /* for the manifest */
  ta->c.config_path = ta->config;
  return -1;
}

/* ---- MASE's top-level training keys in a config file ---- */

/* key = integer in [lo, hi]; located errors. */
static Status cfg_int(const FeConfig *cfg, const char *key, int64_t lo, int64_t hi, int64_t *out, Diag *d) {
  const Value *v = cfg_lookup(fe_config_root(cfg), key);
  if (!v) return JS_OK;
  if (v->kind != VAL_INT || v->u.i < lo || v->u.i > hi)
    return diag_error(d, fe_config_loc(cfg, key), "%s: expected a whole number from %lld to %lld", key, (long long)lo,
                      (long long)hi);
  *out = v->u.i;
  return JS_OK;
}

/* Fills what the command line left unset from the config's max_epochs, batch_size,
 * learning_rate, seed and optimizer (MASE's precedence: default < config < command line). */
static Status train_config_keys(TrainArgs *ta, const FeConfig *cfg, Diag *d) {
  RtTrainConfig *c = &ta->c;
  int64_t v;
  Status st = JS_OK;
  if (!ta->set_epochs) st = cfg_int(cfg, "max_epochs", 1, 1000000, &c->max_epochs, d);
  if (!st && !ta->set_batch) st = cfg_int(cfg, "batch_size", 1, INT64_C(1) << 24, &c->batch_size, d);
  v = -1;
  if (!st && !ta->set_seed && !(st = cfg_int(cfg, "seed", 0, INT64_MAX, &v, d)) && v >= 0) c->seed = (uint64_t)v;
  const Value *lr = cfg_lookup(fe_config_root(cfg), "learning_rate");
  if (!st && lr && !ta->set_lr) {
    double x = lr->kind == VAL_INT ? (double)lr->u.i : lr->kind == VAL_FLOAT ? lr->u.f : -1;
    if (!(x > 0) || !isfinite(x))
      return diag_error(d, fe_config_loc(cfg, "learning_rate"), "learning_rate: expected a positive number");
    ta->lr = x;
  }
  const Value *opt = cfg_lookup(fe_config_root(cfg), "optimizer");
  if (!st && opt && !ta->set_optim && (opt->kind != VAL_STR || !rt_optim_parse(opt->u.s, &ta->kind)))
    return diag_error(d, fe_config_loc(cfg, "optimizer"), "optimizer: expected \"adam\", \"adamw\" or \"sgd\"");
  return st;
}

/* The optimizer's own defaults, then the flags, whatever their order; the checks that need
 * every option.  -1, or the exit code of a usage error. */
static int train_args_check(TrainArgs *ta) {
  const char *cmd = "train";
  RtTrainConfig *c = &ta->c;
  rt_optim_default(&c->optim, ta->kind);
  c->optim.lr = ta->lr;
  c->optim.weight_decay = ta->have_wd ? ta->wd : 0; /* MASE passes weight_decay=0 to every optimizer */
  if (ta->kind == OPTIM_SGD) {
    c->optim.momentum = ta->momentum;
    c->optim.nesterov = ta->nesterov;
    if (ta->nesterov && !(ta->momentum > 0))
      return sub_usage_error(cmd, "--nesterov needs --momentum above 0 (as PyTorch's SGD)");
  } else if (ta->have_momentum || ta->nesterov) {
    return sub_usage_error(cmd, "%s applies to --optimizer sgd only", ta->have_momentum ? "--momentum" : "--nesterov");
  }
  if (c->resume_dir && c->out_dir) return sub_usage_error(cmd, "--resume continues in its own directory: drop --out");
  if (c->force && !c->resume_dir) return sub_usage_error(cmd, "--force applies to --resume only");
  if (c->device == RT_DEVICE_CUDA && c->engine != RT_ENGINE_AUTO)
    return sub_usage_error(cmd, "--device=cuda runs its own kernels: --engine %s is a CPU engine (leave --engine out)",
                           rt_engine_name(c->engine));
  return -1;
}

int train_args_resolve(TrainArgs *ta, PipeSrc *ps, Diag *d, Status *st) {
  *st = pipe_build(ta->passes, ta->config, false, ps, d);
  if (!*st && ps->cfg) *st = train_config_keys(ta, ps->cfg, d);
  if (*st) return exit_of(*st, d);
  return train_args_check(ta);
}

/* The run itself, or the dumps. */
/* A compile expected to take a second or more is announced on stderr as it starts, so that a
 * wide model's pause does not look like a hang. */
enum { LONG_COMPILE_MS = 1000 };
static void tell_long_compile(void *ud, const CgCompileEstimate *e) {
  (void)ud;
  if (e->expect_ms < LONG_COMPILE_MS) return;
  fprintf(stderr, "compiling the %s step (%zu LLVM instructions, this may take %.0f s or more)...\n",
          e->train ? "training" : "evaluation", e->ir_instructions, e->expect_ms / 1000);
}

static Status train_run(TrainArgs *ta, Model *m, char **typed, int argc, Diag *d) {
  RtTrainConfig *c = &ta->c;
  c->fwd = m->fwd;
  c->train = m->train;
  c->model_hash = rt_hash64(m->src->text, m->src->len);
  c->argc = argc + 1; /* "jscc" "train" ...: main passed argv from "train" on */
  c->argv = typed;
  c->log = stdout;
  c->progress = !c->quiet && isatty(STDERR_FILENO);
  if (ta->dump_plan || ta->dump_llvm || ta->dump_cuda) { /* print, do not train */
    StrBuf sb;
    sb_init(&sb);
    Status st = rt_train_dump(c, ta->dump_plan, ta->dump_llvm, ta->dump_cuda, &sb, d);
    if (!st) fputs(sb_str(&sb), stdout);
    sb_free(&sb);
    return st;
  }
  RtTrainResult res;
  ExpTbRun *tb = NULL;
  ExpTbHook th = {0};
  Status st = ta->tensorboard ? exp_tb_run_open(ta->tensorboard, c, &tb, d) : JS_OK;
  if (st) return st;
  if (tb) {
    th.run = tb;
    c->on_epoch = exp_tb_hook;
    c->on_epoch_ud = &th;
  }
  c->on_compile = tell_long_compile;
  st = rt_train(c, &res, d);
  Status tst = exp_tb_run_close(tb, !st && !res.diverged, d);
  if (!st) st = tst;
  if (!st && res.diverged) {
    fflush(stdout);
    if (res.best_epoch)
      return diag_error(d, (SrcLoc){0}, "training diverged at epoch %lld (a loss or a weight is not finite); "
                        "best.safetensors keeps epoch %lld (val_loss %.4f); lower --lr?", (long long)res.diverged_epoch,
                        (long long)res.best_epoch, res.best_val_loss);
    return diag_error(d, (SrcLoc){0}, "training diverged in its first epoch (a loss or a weight is not finite): no "
                      "checkpoint was kept; lower --lr?");
  }
  return st;
}

static int train_main(int argc, char **argv, char **typed) {
  TrainArgs ta;
  int code = train_args_parse(argc, argv, &ta);
  if (code >= 0) return code;
  char kdir[4096];
  ta.c.kernel_cache = kernel_cache_dir(&ta.c.data, kdir, sizeof kdir);
  if (tuning_set(&ta.tuning)) ta.c.tuning = &ta.tuning;
  Diag d;
  diag_init(&d, stderr);
  Model m = {0};
  PipeSrc ps;
  Status st = JS_OK;
  code = train_args_resolve(&ta, &ps, &d, &st);
  if (code < 0) {
    st = model_load(&m, ta.c.model_path, ta.model, ps.pl, &d);
    if (!st) st = train_run(&ta, &m, typed, argc, &d);
    code = exit_of(st, &d);
  }
  fflush(stdout);
  model_free(&m);
  pipe_free(&ps);
  diag_free(&d);
  return code;
}

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
