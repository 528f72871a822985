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
