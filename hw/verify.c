/* hw/verify.c — an emitted design checked bit for bit against the integer executor.
 *
 * The reference is rt_int_run (runtime/intexec.c), the semantics every integer engine of
 * jscc reproduces.  The design takes the codes the program's IP_QUANT step makes of each
 * float row (the float->int step stays outside the hardware), so both sides start from the
 * same codes, computed here once.  The simulator (Verilator, Icarus, or the C compiler for
 * the C target) runs in a subdirectory of the output directory with the testbench codegen
 * renders and writes the trace text of codegen/hdl.h; every `o` line is compared.  The
 * first sample that differs is run once more with its trace, and the first layer (in
 * program order) whose codes differ is named with the element and both codes: that is
 * where to look, since every later layer inherits the difference. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "hw.h"

enum { SIM_TIMEOUT_S = 1800 }; /* building and running one simulation */

static const char *const sim_names[] = {"verilator", "icarus", "c"};

const char *hw_sim_name(HwSim s) { return (unsigned)s < 3 ? sim_names[s] : "?"; }

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* What a simulation needs and what it found. */
typedef struct Sim {
  const IntProg *p;
  const CgHwDesign *h;
  const char *top;
  HwSim kind;
  char dir[4096];      /* its working directory */
  char log[4200];      /* dir/log.txt */
  int64_t n;           /* samples */
  int64_t *in;         /* [n][in_n] the input codes */
  int64_t *want;       /* [n][trace_width] rt_int_run's codes of every traced node */
  int64_t *got;        /* [n][out_n] the design's output codes */
  bool *seen;          /* [n] an `o` line came for the sample */
  int in_n, out_n;
  int out_node;        /* the IntProg.nodes index holding the output value */
  Diag *d;
} Sim;

static Status io_error(Diag *d, const char *what, const char *path) {
  return diag_error(d, (SrcLoc){0}, "cannot %s '%s': %s", what, path, strerror(errno));
}

/* The input codes: IP_QUANT of every row, as rt_int_run does it. */
static Status input_codes(Sim *s, const float *x) {
  const IntProg *p = s->p;
  if (p->nsteps < 1 || p->steps[0].kind != IP_QUANT)
    return diag_error(s->d, (SrcLoc){0}, "model %s: the integer program does not begin by quantizing its input", p->model);
  const IpStep *q = &p->steps[0];
  s->in_n = p->vals[q->dst].n;
  if (!(s->in = ir_malloc(sizeof(int64_t) * (size_t)(s->n * s->in_n + 1)))) return diag_oom(s->d);
  for (int64_t i = 0; i < s->n; i++)
    for (int j = 0; j < s->in_n; j++)
      s->in[i * s->in_n + j] = rt_int_quant_in((double)x[i * p->features + j], q->sh, q->lo, q->hi, q->floor);
  return JS_OK;
}

/* The reference: every traced node's codes of every sample. */
static Status reference(Sim *s, const float *x) {
  const IntProg *p = s->p;
  s->out_node = -1;
  for (int k = 0; k < p->nnodes; k++)
    if (p->nodes[k].val == p->out) s->out_node = k;
  if (s->out_node < 0) return diag_error(s->d, (SrcLoc){0}, "model %s: the integer program does not trace its output", p->model);
  s->out_n = p->vals[p->out].n;
  float *logits = ir_malloc(sizeof(float) * (size_t)(s->n * p->classes + 1));
  s->want = ir_malloc(sizeof(int64_t) * (size_t)(s->n * p->trace_width + 1));
  s->got = ir_calloc((size_t)(s->n * s->out_n + 1), sizeof(int64_t));
  s->seen = ir_calloc((size_t)s->n + 1, sizeof(bool));
  Status st = logits && s->want && s->got && s->seen ? JS_OK : diag_oom(s->d);
  if (!st) st = rt_int_run(p, x, s->n, logits, s->want, s->d);
  ir_free(logits);
  return st;
}

/* Two's complement of v in w bits, as hex digits, most significant first, into a bit row. */
static void put_bits(unsigned char *bits, int at, int w, int64_t v) {
  for (int b = 0; b < w; b++) bits[at + b] = (unsigned char)(((uint64_t)v >> (b < 63 ? b : 63)) & 1);
}

static void hex_row(StrBuf *sb, const int64_t *codes, int n, int w, unsigned char *bits) {
  int total = n * w, digits = (total + 3) / 4;
  memset(bits, 0, (size_t)digits * 4);
  for (int j = 0; j < n; j++) put_bits(bits, j * w, w, codes[j]);
  for (int k = digits - 1; k >= 0; k--) {
    int v = bits[4 * k] | bits[4 * k + 1] << 1 | bits[4 * k + 2] << 2 | bits[4 * k + 3] << 3;
    sb_putc(sb, "0123456789abcdef"[v]);
  }
  sb_putc(sb, '\n');
}

/* inputs.hex for $readmemh (element j at bits [j*W +: W]) or inputs.txt for the C driver. */
static Status write_inputs(Sim *s) {
  StrBuf sb;
  sb_init(&sb);
  bool hex = s->kind != HW_SIM_C;
  int w = hex ? s->h->in_width : 0;
  unsigned char *bits = hex ? ir_calloc((size_t)(s->in_n * w + 8), 1) : NULL;
  if (hex && !bits) return diag_oom(s->d);
  for (int64_t i = 0; i < s->n; i++) {
    const int64_t *c = s->in + i * s->in_n;
    if (hex) hex_row(&sb, c, s->in_n, w, bits);
    else
      for (int j = 0; j < s->in_n; j++) {
        sb_put_int(&sb, c[j]);
        sb_putc(&sb, j + 1 < s->in_n ? ' ' : '\n');
      }
  }
  ir_free(bits);
  char path[4300];
  snprintf(path, sizeof path, "%s/inputs.%s", s->dir, hex ? "hex" : "txt");
  Status st = sb.oom ? diag_oom(s->d) : JS_OK;
  if (!st && sb_write_file(&sb, path)) st = io_error(s->d, "write", path);
  sb_free(&sb);
  return st;
}

/* ---- building and running ---- */

/* Runs argv in the simulation's directory; a non-zero exit is an error naming the log. */
static Status run_tool(Sim *s, const char *const *argv, const char *what) {
  int rc = 0;
  Status st = hw_run(argv, s->dir, s->log, SIM_TIMEOUT_S, &rc, s->d);
  if (!st && rc != 0)
    st = diag_error(s->d, (SrcLoc){0}, "%s failed (exit %d): see %s", what, rc, s->log);
  return st;
}

static Status write_text(Sim *s, const StrBuf *sb, const char *name) {
  char path[4300];
  snprintf(path, sizeof path, "%s/%s", s->dir, name);
  if (sb->oom) return diag_oom(s->d);
  return sb_write_file(sb, path) ? io_error(s->d, "write", path) : JS_OK;
}

/* The testbench or the driver, then the simulator's build. */
static Status build(Sim *s) {
  StrBuf sb;
  sb_init(&sb);
  char design[4300], jobs[16];
  snprintf(design, sizeof design, "../%s.%s", s->top, s->kind == HW_SIM_C ? "c" : "v");
  snprintf(jobs, sizeof jobs, "%d", 2);
  if (s->kind == HW_SIM_C) cg_c_driver(&sb, s->p, s->top);
  else cg_verilog_testbench(&sb, s->h, s->n);
  Status st = write_text(s, &sb, s->kind == HW_SIM_C ? "driver.c" : "tb.v");
  sb_free(&sb);
  if (st) return st;
  if (s->kind == HW_SIM_VERILATOR) {
    const char *argv[] = {hw_tool_path(HW_VERILATOR), "--binary", "-Wno-fatal", "-Wno-lint", "-Wno-style", "-O2",
                          "--top-module", "tb", "-Mdir", "obj", "-o", "sim", "-j", jobs, design, "tb.v", NULL};
    return run_tool(s, argv, "verilator");
  }
  if (s->kind == HW_SIM_ICARUS) {
    const char *argv[] = {hw_tool_path(HW_IVERILOG), "-g2005", "-s", "tb", "-o", "sim.vvp", design, "tb.v", NULL};
    return run_tool(s, argv, "iverilog");
  }
  const char *argv[] = {hw_tool_path(HW_CC), "-std=c99", "-O2", "-o", "sim", design, "driver.c", "-lm", NULL};
  return run_tool(s, argv, "the C compiler");
}

/* One run of the built simulation; sample >= 0 also traces that sample. */
static Status simulate(Sim *s, int64_t sample) {
  char plus[64], num[32];
  snprintf(plus, sizeof plus, "+trace=%lld", (long long)sample);
  snprintf(num, sizeof num, "%lld", (long long)sample);
  char old[4300];
  snprintf(old, sizeof old, "%s/trace.txt", s->dir);
  remove(old); /* a trace left by an earlier run is never read as this one's */
  if (s->kind == HW_SIM_VERILATOR) {
    const char *argv[] = {"obj/sim", sample >= 0 ? plus : NULL, NULL};
    return run_tool(s, argv, "the Verilator simulation");
  }
  if (s->kind == HW_SIM_ICARUS) {
    const char *argv[] = {hw_tool_path(HW_VVP), "-n", "sim.vvp", sample >= 0 ? plus : NULL, NULL};
    return run_tool(s, argv, "the Icarus simulation");
  }
  const char *argv[] = {"./sim", "inputs.txt", "trace.txt", sample >= 0 ? num : NULL, NULL};
  return run_tool(s, argv, "the C program");
}

/* ---- reading the trace ---- */

/* One decimal int64 at *p (optional '-'), skipping blanks before it; false when none or out
 * of range. */
static bool trace_int(const char **p, const char *end, int64_t *out) {
  const char *q = *p;
  while (q < end && (*q == ' ' || *q == '\t')) q++;
  bool neg = q < end && *q == '-';
  q += neg;
  if (q == end || *q < '0' || *q > '9') return false;
  uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (; q < end && *q >= '0' && *q <= '9'; q++) {
    if (v > (lim - (uint64_t)(*q - '0')) / 10) return false;
    v = v * 10 + (uint64_t)(*q - '0');
  }
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  *p = q;
  return true;
}

/* line = ("o" SAMPLE | "t" LAYER SAMPLE) { " " CODE } [ "\r" ] */
static Status trace_line(const char *p, const char *end, const char *path, long ln, HwTraceLine *l, int64_t **codes,
                         int *cap, Diag *d) {
  int64_t layer = -1, sample;
  l->kind = p < end ? *p : 0;
  p += p < end;
  bool ok = (l->kind == 'o' || (l->kind == 't' && trace_int(&p, end, &layer) && layer >= 0 && layer < INT32_MAX)) &&
            trace_int(&p, end, &sample) && sample >= 0;
  for (l->n = 0; ok; l->n++) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
    if (p == end) break;
    if (l->n == *cap) {
      int64_t *g = ir_realloc(*codes, sizeof(int64_t) * (size_t)(*cap = *cap ? 2 * *cap : 64));
      if (!g) return diag_oom(d);
      *codes = g;
    }
    ok = *cap < (1 << 24) && trace_int(&p, end, &(*codes)[l->n]);
  }
  if (!ok) return diag_error(d, (SrcLoc){0}, "%s:%ld: not a line of the trace (o SAMPLE CODES..., t LAYER SAMPLE CODES...)", path, ln);
  l->layer = (int)layer;
  l->sample = sample;
  l->codes = *codes;
  return JS_OK;
}

Status hw_trace_parse(const char *text, size_t len, const char *path, HwTraceFn on, void *ud, Diag *d) {
  int64_t *codes = NULL;
  int cap = 0;
  Status st = JS_OK;
  const char *p = text, *end = text + len;
  for (long ln = 1; !st && p < end; ln++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
    HwTraceLine l;
    if (e > p && !(st = trace_line(p, e, path, ln, &l, &codes, &cap, d))) st = on(ud, &l, d);
    p = e + (nl != NULL);
  }
  ir_free(codes);
  return st;
}

/* dir/trace.txt through hw_trace_parse. */
static Status each_line(Sim *s, HwTraceFn on, void *ud) {
  char path[4300];
  snprintf(path, sizeof path, "%s/trace.txt", s->dir);
  FILE *f = fopen(path, "rb");
  if (!f) return io_error(s->d, "read", path);
  StrBuf sb;
  sb_init(&sb);
  char buf[65536];
  for (size_t k; (k = fread(buf, 1, sizeof buf, f)) > 0;) sb_putn(&sb, buf, k);
  bool bad = ferror(f);
  fclose(f);
  Status st = bad ? io_error(s->d, "read", path) : sb.oom ? diag_oom(s->d) : JS_OK;
  if (!st) st = hw_trace_parse(sb_str(&sb), sb.len, path, on, ud, s->d);
  sb_free(&sb);
  return st;
}

/* A line's sample must be one the simulation was given, with as many codes as its value. */
static Status check_line(Sim *s, const HwTraceLine *l, int n) {
  if (l->sample >= s->n)
    return diag_error(s->d, (SrcLoc){0}, "%s/trace.txt: sample %lld: only %lld were simulated", s->dir, (long long)l->sample,
                      (long long)s->n);
  if (l->n != n)
    return diag_error(s->d, (SrcLoc){0}, "%s/trace.txt: sample %lld: %d codes where %d were expected", s->dir,
                      (long long)l->sample, l->n, n);
  return JS_OK;
}

static Status on_output(void *ud, const HwTraceLine *l, Diag *d) {
  Sim *s = ud;
  if (l->kind != 'o') return JS_OK;
  Status st = check_line(s, l, s->out_n);
  if (st) return st;
  memcpy(s->got + l->sample * s->out_n, l->codes, sizeof(int64_t) * (size_t)s->out_n);
  s->seen[l->sample] = true;
  return JS_OK;
}

/* The first difference of one traced sample, in program order. */
typedef struct FirstDiff {
  Sim *s;
  int64_t sample;
  int layer, elem;     /* -1: none found */
  int64_t got, want;
} FirstDiff;

/* The first difference of one traced sample, in program order. */
static Status on_trace(void *ud, const HwTraceLine *l, Diag *d) {
  FirstDiff *f = ud;
  Sim *s = f->s;
  const IntProg *p = s->p;
  if (l->kind != 't' || l->sample != f->sample) return JS_OK;
  if (l->layer < 0 || l->layer >= p->nnodes) return diag_error(d, (SrcLoc){0}, "%s/trace.txt: no layer %d", s->dir, l->layer);
  int n = p->vals[p->nodes[l->layer].val].n;
  Status st = check_line(s, l, n);
  if (st) return st;
  const int64_t *want = s->want + l->sample * p->trace_width + p->nodes[l->layer].off;
  for (int j = 0; j < n; j++)
    if (l->codes[j] != want[j] && (f->layer < 0 || l->layer < f->layer)) {
      f->layer = l->layer, f->elem = j, f->got = l->codes[j], f->want = want[j];
      break;
    }
  return JS_OK;
}

/* Reruns sample i with its trace and names the first layer that differs. */
static Status locate(Sim *s, int64_t i, int elem, HwVerifyResult *r) {
  const IntProg *p = s->p;
  const int64_t *w = s->want + i * p->trace_width + p->nodes[s->out_node].off;
  FirstDiff f = {s, i, -1, -1, 0, 0};
  Status st = simulate(s, i);
  if (!st) st = each_line(s, on_trace, &f);
  if (st) return st;
  if (f.layer < 0) /* the layers agree and the output does not: the last step is wrong */
    snprintf(r->why, sizeof r->why, "sample %lld: output element %d: design %lld, integer executor %lld", (long long)i,
             elem, (long long)s->got[i * s->out_n + elem], (long long)w[elem]);
  else
    snprintf(r->why, sizeof r->why, "sample %lld: first difference at layer %s, element %d: design %lld, integer executor %lld",
             (long long)i, p->nodes[f.layer].node->name, f.elem, (long long)f.got, (long long)f.want);
  return JS_OK;
}

/* Compares every output; on a difference, traces the first one and says where it starts. */
static Status compare(Sim *s, HwVerifyResult *r) {
  const int64_t *want0 = s->want + s->p->nodes[s->out_node].off;
  int64_t first = -1, elem = -1, missing = 0;
  for (int64_t i = 0; i < s->n; i++) {
    const int64_t *w = want0 + i * s->p->trace_width, *g = s->got + i * s->out_n;
    int j = 0;
    while (j < s->out_n && w[j] == g[j]) j++;
    if (!s->seen[i]) missing++;
    if (j < s->out_n || !s->seen[i]) {
      r->mismatches++;
      if (first < 0) first = i, elem = s->seen[i] ? j : -1;
    }
  }
  r->samples = s->n;
  r->agree = r->mismatches == 0;
  if (r->agree) return JS_OK;
  if (missing == s->n) {
    snprintf(r->why, sizeof r->why, "no output came out of the design (see %.400s)", s->log);
    return JS_OK;
  }
  if (elem < 0) {
    snprintf(r->why, sizeof r->why, "sample %lld: no output", (long long)first);
    return JS_OK;
  }
  return locate(s, first, (int)elem, r);
}

/* ---- the whole check ---- */

/* Which tools the simulator needs; the first missing one, or NULL. */
static const char *missing_tool(HwSim sim) {
  static const HwTool need[3][2] = {{HW_VERILATOR, HW_VERILATOR}, {HW_IVERILOG, HW_VVP}, {HW_CC, HW_CC}};
  for (int k = 0; k < 2; k++)
    if (!hw_tool_path(need[sim][k])) return hw_tool_name(need[sim][k]);
  return NULL;
}

static Status sim_prepare(Sim *s, const char *dir, const float *x) {
  int len = snprintf(s->dir, sizeof s->dir, "%s/%s", dir, hw_sim_name(s->kind));
  if (len >= (int)sizeof s->dir) return diag_error(s->d, (SrcLoc){0}, "the output directory's name is too long");
  snprintf(s->log, sizeof s->log, "%s/log.txt", s->dir);
  if (!ir_mkdir_p(s->dir, 0777)) return io_error(s->d, "create", s->dir);
  remove(s->log);
  Status st = input_codes(s, x);
  if (!st) st = reference(s, x);
  if (!st) st = write_inputs(s);
  return st;
}

Status hw_verify(const IntProg *p, const CgHwDesign *h, const char *top, HwSim sim, const char *dir, const float *x,
                 int64_t n, HwVerifyResult *r, Diag *d) {
  memset(r, 0, sizeof *r);
  r->sim = sim;
  const char *gone = missing_tool(sim);
  if (gone) {
    snprintf(r->why, sizeof r->why, "%s is not installed", gone);
    return JS_OK;
  }
  if (sim != HW_SIM_C && !h) return diag_error(d, (SrcLoc){0}, "hw_verify: a Verilog simulation needs the design");
  double t0 = now_s();
  Sim s = {.p = p, .h = h, .top = top, .kind = sim, .n = n, .d = d};
  Status st = sim_prepare(&s, dir, x);
  if (!st) st = build(&s);
  if (!st) st = simulate(&s, -1);
  if (!st) st = each_line(&s, on_output, &s);
  r->ran = !st;
  if (!st) st = compare(&s, r);
  r->seconds = now_s() - t0;
  ir_free(s.in);
  ir_free(s.want);
  ir_free(s.got);
  ir_free(s.seen);
  return st;
}
