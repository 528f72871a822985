/* tools/common.c — what the jscc subcommands share: reading a model, choosing one of its
 * models, loading it twice (forward and training graph), option values, the options train,
 * test and sweep share, pipelines from --passes or --config, and exit codes. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "frontend.h"

bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

int exit_code(Status st) {
  switch (st) {
  case JS_OK: return 0;
  case JS_EUSAGE: return EXIT_USAGE;
  default: return EXIT_INPUT;
  }
}

static SrcLoc cfg_locate(void *ud, const char *path) { return fe_config_loc(ud, path); }

const Value *cfg_lookup(const Value *d, const char *key) {
  if (!d || d->kind != VAL_DICT) return NULL;
  for (int i = 0; i < d->u.dict.n; i++)
    if (strcmp(d->u.dict.keys[i], key) == 0) return &d->u.dict.vals[i];
  return NULL;
}

/* MASE's [transform] table: style "graph" (fx passes) or "module" (passes on the nn.Module,
 * saving only its state_dict).  jscc has one style: a pipeline over the IR graph, writing the
 * IR and the checkpoint; both are accepted and read the same (spec/config.md §10). */
static Status check_transform_table(const FeConfig *c, Diag *d) {
  const Value *t = cfg_lookup(fe_config_root(c), "transform");
  if (!t) return JS_OK;
  if (t->kind != VAL_DICT)
    return diag_error(d, fe_config_loc(c, "transform"), "transform: expected a table ([transform] style = \"graph\"), "
                      "got %s", val_kind_name(t));
  const Value *s = cfg_lookup(t, "style");
  if (s && (s->kind != VAL_STR || (strcmp(s->u.s, "graph") != 0 && strcmp(s->u.s, "module") != 0)))
    return diag_error(d, fe_config_loc(c, "transform.style"), "transform.style: MASE's styles are \"graph\" and "
                      "\"module\" (jscc runs both as its one pipeline over the graph), got %s%s%s",
                      s->kind == VAL_STR ? "'" : "", s->kind == VAL_STR ? s->u.s : val_kind_name(s),
                      s->kind == VAL_STR ? "'" : "");
  return JS_OK;
}

/* The pipeline of --passes (a usage error when malformed) or of a config file's [passes.*]
 * tables (an input error, located in the file). */
Status pipe_build(const char *passes, const char *config, bool need_passes, PipeSrc *ps, Diag *d) {
  memset(ps, 0, sizeof *ps);
  if (passes && config) {
    diag_error(d, (SrcLoc){0}, "--passes and --config both give a pipeline: choose one");
    return JS_EUSAGE;
  }
  if (passes) return pass_pipeline_parse(passes, &ps->pl, d) ? JS_EUSAGE : JS_OK;
  if (!config) return JS_OK;
  Status st = fe_config_read(config, &ps->cfg, d);
  if (!st && check_transform_table(ps->cfg, d)) st = JS_ERR;
  if (st) return st;
  const Value *pv = cfg_lookup(fe_config_root(ps->cfg), "passes");
  if (!pv && !need_passes) return JS_OK; /* a config of training keys only */
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

int sub_usage_error(const char *cmd, const char *fmt, ...) {
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
bool parse_real_opt(const char *s, double lo, bool strict, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (!*s || *end || errno || !isfinite(v) || v < lo || (strict && v == lo)) return false;
  *out = v;
  return true;
}

/* "unknown optimizer 'adma' (did you mean 'adam'?; valid: adam, adamw, sgd)" */
int bad_name(const char *cmd, const char *what, const char *arg, const char *const *names, int n) {
  const char *hint = diag_closest(arg, names, n);
  char valid[128] = "";
  for (int i = 0; i < n; i++) {
    strncat(valid, names[i], sizeof valid - strlen(valid) - 1);
    if (i + 1 < n) strncat(valid, ", ", sizeof valid - strlen(valid) - 1);
  }
  if (hint) return sub_usage_error(cmd, "unknown %s '%s' (did you mean '%s'?; valid: %s)", what, arg, hint, valid);
  return sub_usage_error(cmd, "unknown %s '%s' (valid: %s)", what, arg, valid);
}

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
Status model_load_fwd(Model *m, const char *path, const char *name, const Pipeline *pre, Diag *d) {
  memset(m, 0, sizeof *m);
  if (!(m->files = arena_new())) return diag_oom(d);
  PassContext ctx = {.diag = d};
  Status st = diag_read_file(m->files, path, &m->src, d);
  if (!st) st = parse_program(m->src, &m->pf, d);
  if (!st && !(m->fwd = pick_model(m->pf, name, path, d, &st))) return st;
  if (!st && pre) st = pass_pipeline_run(pre, m->fwd, &ctx);
  if (!st) st = pass_run_text("shape", m->fwd, d);
  if (!st) st = ir_quant_explicit_inputs(m->fwd, d);
  return st;
}

Status model_load(Model *m, const char *path, const char *name, const Pipeline *pre, Diag *d) {
  PassContext ctx = {.diag = d};
  Status st = model_load_fwd(m, path, name, pre, d);
  if (!st) st = parse_program(m->src, &m->pt, d);
  if (!st && !(m->train = ir_program_find(m->pt, m->fwd->name))) st = diag_error(d, (SrcLoc){0}, "model vanished");
  if (!st && pre) st = pass_pipeline_run(pre, m->train, &ctx);
  if (!st) st = pass_run_text("shape,grad", m->train, d);
  return st;
}

void model_free(Model *m) {
  ir_program_free(m->pf);
  ir_program_free(m->pt);
  arena_free(m->files);
}

int exit_of(Status st, const Diag *d) {
  int code = exit_code(st);
  if (st == JS_OK && d->nerrors) code = EXIT_INPUT;
  return code;
}

int shared_opt(const char *cmd, int o, const SharedOpts *so) {
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
  case T_TASK: /* MASE's CLI names the task; the JSC models are classifiers */
    if (strcmp(optarg, "cls") && strcmp(optarg, "classification"))
      return sub_usage_error(cmd, "--task '%s': jscc %ss classifiers only: --task cls (or classification)", optarg,
                             cmd);
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

/* Compiled kernels live beside the data cache (ir_cache_dir) and follow --no-cache. */
const char *kernel_cache_dir(const RtDataOpts *o, char *buf, size_t cap) {
  if (o->no_cache || !ir_cache_dir(o->cache_dir, buf, cap)) return NULL;
  return buf;
}

bool mpi_launched(void) {
  const char *n = getenv("OMPI_COMM_WORLD_SIZE");
  if (!n) n = getenv("PMI_SIZE");
  return n && atoi(n) > 1;
}

int tuning_opt(const char *cmd, int o, CgTuning *t) {
  int64_t v;
  switch (o) {
  case T_VEC:
    if (!parse_int_opt(optarg, 4, 16, &v) || (v != 4 && v != 8 && v != 16))
      return sub_usage_error(cmd, "--vec: expected 4, 8 or 16, got '%s'", optarg);
    t->vec = (int)v;
    return -1;
  case T_LLVM_PASSES:
    if (!*optarg) return sub_usage_error(cmd, "--llvm-passes: expected an LLVM pass pipeline, got ''");
    t->llvm_passes = optarg;
    return -1;
  case T_LLVM_CODEGEN_LEVEL:
    if (!parse_int_opt(optarg, 0, 3, &v)) return sub_usage_error(cmd, "--llvm-codegen-level: expected 0 to 3, got '%s'", optarg);
    t->llvm_codegen_level = (int)v;
    return -1;
  case T_LLVM_TIMING: t->llvm_timing = true; return -1;
  default: return 0;
  }
}

bool tuning_set(const CgTuning *t) { return t->vec || t->llvm_passes || t->llvm_codegen_level >= 0 || t->llvm_timing; }
