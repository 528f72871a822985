/* tools/emit.c — jscc emit: a fully integer-quantized model as hardware (Verilog-2005) or
 * bit-accurate C99, verified bit for bit against the integer executor in Verilator, Icarus or
 * the C compiler, and synthesized with yosys (and placed with nextpnr-ice40).
 *
 * The design is the integer program of integer-only inference (codegen/intprog.c), so what
 * was tested with `jscc test --engine int` is what the hardware computes.  The files, the
 * printed tables and emit.json (everything, for `jscc report` and scripts) go to --out. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "hw.h"

static void emit_usage(FILE *f) {
  fputs("usage: jscc emit MODEL.jsc|MODEL.ir --ckpt FILE --passes=...|--config FILE [options]\n"
        "\n"
        "Writes a fully integer-quantized model (every node between the input and the logits\n"
        "quantized with integer formats, as `jscc test --engine int` needs) as hardware:\n"
        "  TOP.v        --target verilog: synthesizable Verilog-2005, one module per layer and\n"
        "               the top module TOP (clk, rst, valid_in, x, valid_out, y); every wire as\n"
        "               wide as the interval analysis says its value needs\n"
        "  TOP.c        --target c: bit-accurate C99 (ap_fixed-style rounding and saturation\n"
        "               spelled out), for software emulation and HLS flows\n"
        "  program.txt  the integer program both implement\n"
        "  emit.json    the design, its test accuracy, and what --verify and --synth found\n"
        "The design takes the input codes (x quantized to the first layer's input format) and\n"
        "gives the logits' codes; spec/hw.md has the interface and the arithmetic.\n"
        "\n"
        "options:\n"
        "  --ckpt FILE            the float checkpoint (required)\n"
        "  --passes=PIPELINE      the quantization: 'quantize{by=type, default={...}}'\n"
        "  --config FILE          the same from a config file's [passes.*] tables\n"
        "  --target LIST          verilog (default), c, or verilog,c\n"
        "  --out DIR              output directory (default runs/MODEL-emit-YYYYmmdd-HHMMSS)\n"
        "  --top NAME             the top module / C prefix (default: the model's name)\n"
        "  --pipeline N           register stages (0: combinational; default: one per linear\n"
        "                         layer); the latency is N cycles\n"
        "  --verify               simulate the design on the test split and compare every\n"
        "                         output with the integer executor: Verilog in Verilator and\n"
        "                         in Icarus (each where installed), C with the C compiler\n"
        "  --samples N            rows --verify compares (default: the whole test split)\n"
        "  --sim LIST             the Verilog simulators --verify runs: verilator, icarus or\n"
        "                         verilator,icarus (default: both)\n"
        "  --synth FAMILY         xilinx (yosys synth_xilinx) and/or ice40 (synth_ice40, then\n"
        "                         nextpnr-ice40 for Fmax): LUT, FF, DSP and carry counts per\n"
        "                         layer and in total, beside the analytic estimate\n"
        "  --data PATH            the JSC data (default: the synthetic stand-in)\n"
        "  --synth-n N            synthetic jets before the split (default 830000)\n"
        "  --model NAME           the model when the file holds several\n"
        "  --cache-dir DIR        where the preprocessed data are cached\n"
        "  --no-cache             neither read nor write the data cache\n"
        "  -h, --help             print this help\n"
        "\n"
        "A tool that is not installed (verilator, iverilog, yosys, nextpnr-ice40) is reported\n"
        "and skipped; the files are written all the same.\n"
        "Exit status: 0 success, 1 an error in the input or a design that disagrees, 2 bad usage.\n",
        f);
}

enum { E_TARGET = 400, E_TOP, E_PIPELINE, E_VERIFY, E_SAMPLES, E_SYNTH, E_SIM };

typedef struct EmitArgs {
  const char *path, *model, *passes, *config, *ckpt, *out, *top;
  bool verilog, c;        /* --target */
  int pipeline;           /* -1: one stage per linear layer */
  bool verify;
  bool verilator, icarus; /* --sim */
  int64_t samples;        /* 0: the whole test split */
  bool xilinx, ice40;     /* --synth */
  RtDataOpts data;
} EmitArgs;

/* A comma list of names into flags; false on an unknown one (named in *bad). */
static bool parse_list(const char *s, const char *const *names, bool *const *flags, int n, const char **bad) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", s);
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    int k = 0;
    while (k < n && strcmp(t, names[k]) != 0) k++;
    if (k == n) {
      static char keep[256];
      snprintf(keep, sizeof keep, "%s", t);
      *bad = keep;
      return false;
    }
    *flags[k] = true;
  }
  return true;
}

static int emit_opt(int o, EmitArgs *a, char **argv) {
  static const char *const targets[] = {"verilog", "c"}, *const families[] = {"xilinx", "ice40"},
                           *const sims[] = {"verilator", "icarus"};
  const char *bad = NULL;
  int64_t v;
  switch (o) {
  case T_CKPT: a->ckpt = optarg; return -1;
  case T_OUT: a->out = optarg; return -1;
  case E_TOP: a->top = optarg; return -1;
  case E_VERIFY: a->verify = true; return -1;
  case E_TARGET:
    a->verilog = a->c = false;
    if (!parse_list(optarg, targets, (bool *const[]){&a->verilog, &a->c}, 2, &bad)) return bad_name("emit", "target", bad, targets, 2);
    return -1;
  case E_SIM:
    a->verilator = a->icarus = false;
    if (!parse_list(optarg, sims, (bool *const[]){&a->verilator, &a->icarus}, 2, &bad)) return bad_name("emit", "simulator", bad, sims, 2);
    return -1;
  case E_SYNTH:
    if (!parse_list(optarg, families, (bool *const[]){&a->xilinx, &a->ice40}, 2, &bad))
      return bad_name("emit", "synthesis family", bad, families, 2);
    return -1;
  case E_PIPELINE:
    if (!parse_int_opt(optarg, 0, 64, &v)) return sub_usage_error("emit", "--pipeline takes 0 to 64 stages, not '%s'", optarg);
    a->pipeline = (int)v;
    return -1;
  case E_SAMPLES:
    if (!parse_int_opt(optarg, 1, INT64_C(1) << 40, &v)) return sub_usage_error("emit", "--samples takes a positive count, not '%s'", optarg);
    a->samples = v;
    return -1;
  case 'h': emit_usage(stdout); return 0;
  case ':': return sub_usage_error("emit", "option '%s' needs a value", argv[optind - 1]);
  default: return sub_usage_error("emit", "unknown option '%s'", argv[optind - 1]);
  }
}

static bool ident_char(char c, bool first) {
  return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (!first && c >= '0' && c <= '9');
}

/* A Verilog and C identifier: [A-Za-z_][A-Za-z0-9_]*. */
static bool is_ident(const char *s) {
  if (!ident_char(*s, true)) return false;
  while (*++s)
    if (!ident_char(*s, false)) return false;
  return true;
}

/* -1 when the command line parsed, else the exit code. */
static int emit_args(int argc, char **argv, EmitArgs *a) {
  static const struct option longopts[] = {
      {"ckpt", required_argument, NULL, T_CKPT},           {"data", required_argument, NULL, T_DATA},
      {"synth-n", required_argument, NULL, T_SYNTH_N},     {"model", required_argument, NULL, T_MODEL},
      {"cache-dir", required_argument, NULL, T_CACHE_DIR}, {"no-cache", no_argument, NULL, T_NO_CACHE},
      {"passes", required_argument, NULL, T_PASSES},       {"config", required_argument, NULL, T_CONFIG},
      {"out", required_argument, NULL, T_OUT},             {"target", required_argument, NULL, E_TARGET},
      {"top", required_argument, NULL, E_TOP},             {"pipeline", required_argument, NULL, E_PIPELINE},
      {"verify", no_argument, NULL, E_VERIFY},             {"samples", required_argument, NULL, E_SAMPLES},
      {"synth", required_argument, NULL, E_SYNTH},         {"sim", required_argument, NULL, E_SIM},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  *a = (EmitArgs){.verilog = true, .pipeline = -1, .verilator = true, .icarus = true};
  rt_data_opts_default(&a->data);
  int64_t batch = 256;
  RtEngineKind engine = RT_ENGINE_AUTO;
  SharedOpts so = {&a->data, &batch, &engine, &a->model, &a->passes, &a->config, NULL};
  optind = 1;
  opterr = 0;
  for (int o; (o = getopt_long(argc, argv, ":h", longopts, NULL)) != -1;) {
    int sh = shared_opt("emit", o, &so);
    if (sh == 0) sh = emit_opt(o, a, argv); /* not a shared option: one of emit's */
    if (sh >= 0) return sh;
  }
  if (optind == argc) return sub_usage_error("emit", "expected a model file (jscc emit MODEL.jsc --ckpt FILE --config FILE)");
  if (argc - optind > 1) return sub_usage_error("emit", "expected one model file, got also '%s'", argv[optind + 1]);
  if (!a->ckpt) return sub_usage_error("emit", "give the weights with --ckpt FILE");
  if (!a->passes && !a->config) return sub_usage_error("emit", "give the quantization with --passes=PIPELINE or --config FILE");
  if ((a->xilinx || a->ice40) && !a->verilog) return sub_usage_error("emit", "--synth needs --target verilog");
  if (a->top && !is_ident(a->top)) return sub_usage_error("emit", "--top '%s' is not a Verilog or C identifier", a->top);
  a->path = argv[optind];
  return -1;
}

/* ---- the run ---- */

typedef struct Emit {
  EmitArgs a;
  Diag d;
  PipeSrc ps;
  Model m;
  RtState *s;
  RtIntExec *e;         /* the integer program (e->prog) and its C executor */
  RtDataset ds;
  bool have_ds;
  RtEvalResult acc;     /* the integer program on the test split */
  CgHwDesign *h;        /* --target verilog */
  char dir[1024];       /* --out */
  char top[128];
  HwVerifyResult ver[3];
  int nver;
  HwSynthResult syn[2];
  int nsyn;
  CgHwCost est[2];      /* cg_hw_estimate: xilinx, ice40 */
  CgHwCost *lest[2];    /* [h->nlayers] the same per layer */
} Emit;

/* The model, quantized by the pipeline, with its checkpoint, lowered to integers. */
static Status load(Emit *E) {
  Status st = pipe_build(E->a.passes, E->a.config, true, &E->ps, &E->d);
  if (!st) st = model_load_fwd(&E->m, E->a.path, E->a.model, E->ps.pl, &E->d);
  if (!st) st = rt_state_new(E->m.fwd, &E->s, &E->d);
  if (!st) st = rt_ckpt_load(E->a.ckpt, E->s, &E->d);
  if (!st) st = rt_int_open(E->m.fwd, E->s, false, true, &E->e, &E->d);
  return st;
}

/* The output directory and the top name (--top, else the model's name made an identifier). */
static Status place(Emit *E) {
  const char *model = E->e->prog->model;
  snprintf(E->top, sizeof E->top, "%s%s", E->a.top || ident_char(*model, true) ? "" : "m_", E->a.top ? E->a.top : model);
  for (char *c = E->top; *c; c++) /* a model's name may hold what an identifier may not */
    if (!ident_char(*c, false)) *c = '_';
  if (E->a.out) snprintf(E->dir, sizeof E->dir, "%s", E->a.out);
  else {
    char stamp[32];
    time_t now = time(NULL);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime(&now));
    snprintf(E->dir, sizeof E->dir, "runs/%s-emit-%s", model, stamp);
  }
  if (!ir_mkdir_p(E->dir, 0777))
    return diag_error(&E->d, (SrcLoc){0}, "cannot create the output directory '%s': %s", E->dir, strerror(errno));
  return JS_OK;
}

/* The data and the integer program's test accuracy. */
static Status evaluate(Emit *E) {
  Status st = rt_data_load(&E->a.data, &E->ds, &E->d);
  if (st) return st;
  E->have_ds = true;
  bool say = E->ds.synthetic && !strstr(E->ds.desc, "SYNTHETIC");
  printf("data: %s%s; test %lld rows\n", say ? "SYNTHETIC: " : "", E->ds.desc, (long long)E->ds.test.n);
  return rt_int_eval(E->e, &E->ds.test, 256, &E->acc, &E->d);
}

static Status write_file(Emit *E, const StrBuf *sb, const char *name, const char *what) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", E->dir, name);
  if (sb->oom) return diag_oom(&E->d);
  errno = 0;
  if (sb_write_file(sb, path))
    return diag_error(&E->d, (SrcLoc){0}, "cannot write '%s': %s", path, errno ? strerror(errno) : "out of memory");
  printf("wrote %s (%s)\n", path, what);
  return JS_OK;
}

/* One stage per linear layer unless --pipeline says otherwise. */
static int default_pipeline(const IntProg *p) {
  int n = 0;
  for (int i = 0; i < p->nsteps; i++) n += p->steps[i].kind == IP_MATVEC;
  return n;
}

static Status render(Emit *E) {
  const IntProg *p = E->e->prog;
  StrBuf sb;
  sb_init(&sb);
  char name[200];
  cg_int_print(&sb, p);
  Status st = write_file(E, &sb, "program.txt", "the integer program");
  if (!st && E->a.verilog) {
    CgHwOpts o = {.top = E->top, .pipeline = E->a.pipeline >= 0 ? E->a.pipeline : default_pipeline(p)};
    st = cg_verilog_render(p, &o, &E->h, &E->d);
    snprintf(name, sizeof name, "%s.v", E->top);
    if (!st) st = write_file(E, &E->h->verilog, name, "Verilog-2005");
  }
  if (!st && E->a.c) {
    sb_clear(&sb);
    st = cg_c_render(p, E->top, &sb, &E->d);
    snprintf(name, sizeof name, "%s.c", E->top);
    if (!st) st = write_file(E, &sb, name, "C99");
  }
  sb_free(&sb);
  return st;
}

/* ---- what was made, and the checks ---- */

static void print_design(const Emit *E) {
  const IntProg *p = E->e->prog;
  printf("model %s: integer program of %d steps, %d layers, widest code %d bits; test accuracy %.4f (%lld rows)\n",
         p->model, p->nsteps, p->nnodes, p->bits, E->acc.acc, (long long)E->acc.n);
  const CgHwDesign *h = E->h;
  if (!h) return;
  printf("design %s: input %d x %d bits (frac %d), output %d x %d bits (frac %d), latency %d cycle%s\n", h->top, h->in_n,
         h->in_width, h->in_frac, h->out_n, h->out_width, h->out_frac, h->latency, h->latency == 1 ? "" : "s");
  printf("%-24s %5s %5s %5s %7s %10s %6s %6s %8s\n", "layer", "n", "bits", "stage", "adders", "adder bits", "mults",
         "FFs", "est LUT");
  for (int k = 0; k < h->nlayers; k++) {
    const CgHwLayer *l = &h->layers[k];
    printf("%-24s %5d %5d %5d %7lld %10lld %6lld %6lld %8.0f\n", l->name, l->n, l->width, l->stage, (long long)l->adders,
           (long long)l->adder_bits, (long long)l->multipliers, (long long)l->reg_bits, E->lest[0][k].lut);
  }
  printf("estimate (xilinx): %.0f LUTs, %.0f FFs, %.0f DSPs, %.0f carry cells\n", E->est[0].lut, E->est[0].ff,
         E->est[0].dsp, E->est[0].carry);
}

static Status verify_one(Emit *E, HwSim sim, int64_t n) {
  HwVerifyResult *r = &E->ver[E->nver++];
  const CgHwDesign *h = sim == HW_SIM_C ? NULL : E->h;
  Status st = hw_verify(E->e->prog, h, E->top, sim, E->dir, E->ds.test.x, n, r, &E->d);
  if (st) return st;
  if (!r->ran) printf("verify %s: not checked: %s\n", hw_sim_name(sim), r->why);
  else if (r->agree) printf("verify %s: %lld samples agree bit for bit (%.1f s)\n", hw_sim_name(sim), (long long)n, r->seconds);
  else printf("verify %s: %lld of %lld samples differ; %s\n", hw_sim_name(sim), (long long)r->mismatches, (long long)n, r->why);
  return JS_OK;
}

static Status verify(Emit *E) {
  int64_t n = E->a.samples && E->a.samples < E->ds.test.n ? E->a.samples : E->ds.test.n;
  Status st = JS_OK;
  if (E->a.verilog && E->a.verilator) st = verify_one(E, HW_SIM_VERILATOR, n);
  if (!st && E->a.verilog && E->a.icarus) st = verify_one(E, HW_SIM_ICARUS, n);
  if (!st && E->a.c) st = verify_one(E, HW_SIM_C, n);
  return st;
}

static void print_counts(const char *name, const HwCounts *c) {
  printf("  %-24s %8lld %8lld %6lld %8lld\n", name, (long long)c->lut, (long long)c->ff, (long long)c->dsp,
         (long long)c->carry);
}

static Status synth_one(Emit *E, HwFamily fam) {
  HwSynthResult *r = &E->syn[E->nsyn];
  const char *name = fam == HW_XILINX ? "xilinx" : "ice40";
  HwTool need = fam == HW_XILINX ? HW_YOSYS : (hw_tool_path(HW_YOSYS) ? HW_NEXTPNR_ICE40 : HW_YOSYS);
  if (!hw_tool_path(need) || !hw_tool_path(HW_YOSYS)) {
    printf("synth %s: not run: %s is not installed\n", name, hw_tool_name(need));
    return JS_OK;
  }
  Status st = hw_synth(E->h, fam, E->dir, 3600, r, &E->d);
  if (st) return st;
  E->nsyn++;
  printf("synth %s (yosys %s, %.1f s):\n  %-24s %8s %8s %6s %8s\n", name, fam == HW_XILINX ? "synth_xilinx" : "synth_ice40",
         r->seconds, "layer", "LUT", "FF", "DSP", "carry");
  for (int k = 0; k < r->nlayers && k < E->h->nlayers; k++) print_counts(E->h->layers[k].name, &r->layer[k]);
  print_counts("total", &r->total);
  print_counts("estimate", &r->estimate);
  if (fam == HW_ICE40 && r->fmax_mhz > 0)
    printf("  nextpnr-ice40 on %s: Fmax %.1f MHz, latency %.1f ns\n", r->part, r->fmax_mhz, r->latency_ns);
  else if (fam == HW_ICE40)
    printf("  nextpnr-ice40: the design fits no iCE40 part (%lld LUTs): no Fmax\n", (long long)r->total.lut);
  return JS_OK;
}

/* The analytic estimate for both families. */
static Status estimate(Emit *E) {
  if (!E->h) return JS_OK;
  for (int f = 0; f < 2; f++) {
    if (!(E->lest[f] = ir_calloc((size_t)E->h->nlayers + 1, sizeof(CgHwCost)))) return diag_oom(&E->d);
    cg_hw_estimate(E->h, f, E->lest[f], &E->est[f]);
  }
  return JS_OK;
}

/* ---- emit.json ---- */

static void json_counts(StrBuf *sb, const char *key, const HwCounts *c) {
  sb_printf(sb, "\"%s\": {\"lut\": %lld, \"ff\": %lld, \"dsp\": %lld, \"carry\": %lld}", key, (long long)c->lut,
            (long long)c->ff, (long long)c->dsp, (long long)c->carry);
}

static void json_cost(StrBuf *sb, const char *key, const CgHwCost *c) {
  sb_printf(sb, "\"%s\": {\"lut\": %.0f, \"ff\": %.0f, \"dsp\": %.0f, \"carry\": %.0f}", key, c->lut, c->ff, c->dsp, c->carry);
}

static void json_layer(StrBuf *sb, const Emit *E, int k) {
  const CgHwLayer *l = &E->h->layers[k];
  sb_puts(sb, "    {\"name\": ");
  sb_put_json_str(sb, l->name);
  sb_printf(sb, ", \"module\": \"%s\", \"n\": %d, \"width\": %d, \"stage\": %d, \"adders\": %lld, \"adder_bits\": %lld, "
            "\"multipliers\": %lld, \"mult_bits\": %lld, \"reg_bits\": %lld, ", l->module, l->n, l->width, l->stage,
            (long long)l->adders, (long long)l->adder_bits, (long long)l->multipliers, (long long)l->mult_bits,
            (long long)l->reg_bits);
  json_cost(sb, "estimate_xilinx", &E->lest[0][k]);
  sb_puts(sb, ", ");
  json_cost(sb, "estimate_ice40", &E->lest[1][k]);
  for (int f = 0; f < E->nsyn; f++) {
    sb_puts(sb, ", ");
    if (k < E->syn[f].nlayers) json_counts(sb, E->syn[f].family == HW_XILINX ? "xilinx" : "ice40", &E->syn[f].layer[k]);
  }
  sb_printf(sb, "}%s\n", k + 1 < E->h->nlayers ? "," : "");
}

static void json_design(StrBuf *sb, const Emit *E) {
  const CgHwDesign *h = E->h;
  sb_printf(sb, "  \"design\": {\"latency_cycles\": %d, \"input\": {\"n\": %d, \"width\": %d, \"frac\": %d}, "
            "\"output\": {\"n\": %d, \"width\": %d, \"frac\": %d},\n  ", h->latency, h->in_n, h->in_width, h->in_frac,
            h->out_n, h->out_width, h->out_frac);
  json_cost(sb, "estimate_xilinx", &E->est[0]);
  sb_puts(sb, ", ");
  json_cost(sb, "estimate_ice40", &E->est[1]);
  sb_puts(sb, ",\n  \"layers\": [\n");
  for (int k = 0; k < h->nlayers; k++) json_layer(sb, E, k);
  sb_puts(sb, "  ]},\n");
}

static void json_checks(StrBuf *sb, const Emit *E) {
  sb_puts(sb, "  \"verify\": [");
  for (int i = 0; i < E->nver; i++) {
    const HwVerifyResult *r = &E->ver[i];
    sb_printf(sb, "%s{\"sim\": \"%s\", \"ran\": %s, \"agree\": %s, \"samples\": %lld, \"mismatches\": %lld, \"why\": ",
              i ? ", " : "", hw_sim_name(r->sim), r->ran ? "true" : "false", r->ran && r->agree ? "true" : "false",
              (long long)r->samples, (long long)r->mismatches);
    sb_put_json_str(sb, r->why);
    sb_puts(sb, "}");
  }
  sb_puts(sb, "],\n  \"synth\": {");
  for (int f = 0; f < E->nsyn; f++) {
    const HwSynthResult *r = &E->syn[f];
    sb_printf(sb, "%s\"%s\": {", f ? ", " : "", r->family == HW_XILINX ? "xilinx" : "ice40");
    json_counts(sb, "total", &r->total);
    sb_puts(sb, ", \"part\": ");
    sb_put_json_str(sb, r->part);
    sb_puts(sb, ", \"fmax_mhz\": ");
    sb_put_json_num(sb, r->fmax_mhz > 0 ? r->fmax_mhz : NAN);
    sb_puts(sb, ", \"latency_ns\": ");
    sb_put_json_num(sb, r->latency_ns > 0 ? r->latency_ns : NAN);
    sb_printf(sb, ", \"seconds\": %.1f}", r->seconds);
  }
  sb_puts(sb, "}\n");
}

static Status write_json(Emit *E) {
  StrBuf sb;
  sb_init(&sb);
  sb_puts(&sb, "{\n  \"model\": ");
  sb_put_json_str(&sb, E->e->prog->model);
  sb_puts(&sb, ", \"top\": ");
  sb_put_json_str(&sb, E->top);
  sb_puts(&sb, ", \"checkpoint\": ");
  sb_put_json_str(&sb, E->a.ckpt);
  sb_printf(&sb, ", \"targets\": [%s%s%s],\n  \"test_rows\": %lld, \"test_accuracy\": ", E->a.verilog ? "\"verilog\"" : "",
            E->a.verilog && E->a.c ? ", " : "", E->a.c ? "\"c\"" : "", (long long)E->acc.n);
  sb_put_json_num(&sb, E->acc.acc);
  sb_printf(&sb, ", \"program\": {\"steps\": %d, \"layers\": %d, \"widest_bits\": %d, \"macs\": %lld},\n",
            E->e->prog->nsteps, E->e->prog->nnodes, E->e->prog->bits, (long long)E->e->prog->macs);
  if (E->h) json_design(&sb, E);
  json_checks(&sb, E);
  sb_puts(&sb, "}\n");
  Status st = write_file(E, &sb, "emit.json", "the design, its accuracy and checks");
  sb_free(&sb);
  return st;
}

static void emit_free(Emit *E) {
  for (int f = 0; f < 2; f++) ir_free(E->lest[f]);
  for (int f = 0; f < E->nsyn; f++) hw_synth_free(&E->syn[f]);
  cg_hw_design_free(E->h);
  if (E->have_ds) rt_data_free(&E->ds);
  rt_int_close(E->e);
  rt_state_free(E->s);
  model_free(&E->m);
  pipe_free(&E->ps);
}

int cmd_emit(int argc, char **argv) {
  Emit E = {0};
  int code = emit_args(argc, argv, &E.a);
  if (code >= 0) return code;
  diag_init(&E.d, stderr);
  Status st = load(&E);
  if (!st) st = place(&E);
  if (!st) st = evaluate(&E);
  if (!st) st = render(&E);
  if (!st) st = estimate(&E);
  if (!st) print_design(&E);
  if (!st && E.a.verify) st = verify(&E);
  if (!st && E.a.xilinx) st = synth_one(&E, HW_XILINX);
  if (!st && E.a.ice40) st = synth_one(&E, HW_ICE40);
  if (!st) st = write_json(&E);
  bool disagree = false;
  for (int i = 0; i < E.nver; i++) disagree |= E.ver[i].ran && !E.ver[i].agree;
  fflush(stdout);
  emit_free(&E);
  code = st ? exit_of(st, &E.d) : disagree ? EXIT_INPUT : 0;
  diag_free(&E.d);
  return code;
}
