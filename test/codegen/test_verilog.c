/* test_verilog.c — the hardware view of an integer program (codegen/hdl.h): per-element bounds
 * (codegen/intprog.c) and the Verilog design and testbench (codegen/verilog.c).
 *
 *   - bounds: every code rt_int_run gives for many random rows (wide enough to saturate the
 *     input) lies within its element's bounds, which lie within the value's IpVal bounds; a
 *     matvec row of zero weights has the one-point bound of its bias;
 *   - the design of jsc_tiny at int8 (fixed weights, pipeline 2) equals
 *     test/golden/jsc_tiny.int8.v (JSCC_UPDATE_GOLDEN=1 rewrites it), and its structure: one
 *     module per layer plus the top, stages, counts, the refusal of too deep a pipeline;
 *   - with yosys on PATH, yosys reads and elaborates it;
 *   - with iverilog and/or verilator on PATH, jsc_tiny and jsc_big at int8/int6/int4 run on
 *     random rows, combinational and pipelined, and every `o` line and every `t` line of the
 *     traced sample equals rt_int_run's codes; so do a model with add, sub, mul and skip
 *     connections, and models whose input quantizers are explicit nodes.  A missing simulator
 *     skips its part (printed). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "frontend.h"
#include "hdl.h"
#include "passes.h"
#include "runtime.h"
#include "fixture.h"
#include "../fail_nth.h"

typedef struct FmtSet {
  const char *name;
  const char *cfg; /* the quantize pass's default config */
} FmtSet;

static const FmtSet sets[] = {
    {"int8", "{name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, weight_frac_width=4, "
             "bias_width=8, bias_frac_width=4}"},
    {"int6", "{name=integer, data_in_width=6, data_in_frac_width=3, weight_width=6, weight_frac_width=4, "
             "bias_width=6, bias_frac_width=3}"},
    {"int4", "{name=integer, data_in_width=4, data_in_frac_width=2, weight_width=4, weight_frac_width=2, "
             "bias_width=4, bias_frac_width=2}"},
    {"mixed-floor", "{name=integer, floor=true, data_in_width=8, data_in_frac_width=3, weight_width=6, "
                    "weight_frac_width=5, bias_width=12, bias_frac_width=10}"},
    {"data_out", "{name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, weight_frac_width=5, "
                 "bias_width=8, bias_frac_width=4, data_out_width=10, data_out_frac_width=6}"},
    {"int16", "{name=integer, data_in_width=16, data_in_frac_width=8, weight_width=16, weight_frac_width=12, "
              "bias_width=16, bias_frac_width=12}"},
};

/* A model quantized with random trained-like weights, lowered. */
typedef struct Model {
  FxModel fx; /* the quantized graph */
  RtState *s; /* fx_trained_state(seed 11) */
  IntProg *p; /* the lowering */
} Model;

/* Make the data-input quantizers explicit nodes after quantizing (as jscc test has them):
 * the first layer then passes the input port's codes through. */
static bool explicit_inputs;

static void load(Model *m, const char *path, const char *cfg) {
  Diag d;
  diag_init(&d, stderr);
  memset(m, 0, sizeof *m);
  Status st = fx_load(&m->fx, path, NULL, cfg, explicit_inputs, &d);
  if (!st) m->s = fx_trained_state(m->fx.g, 11);
  if (!st) st = cg_int_lower(m->fx.g, fx_state_param, m->s, &m->p, &d);
  if (st) fail_msg("%s: %s", path, sb_str(&d.text));
  diag_free(&d);
}

static void unload(Model *m) {
  cg_int_free(m->p);
  rt_state_free(m->s);
  fx_unload(&m->fx);
}

/* n random rows: normal with a spread that saturates the input quantizer now and then. */
static float *random_rows(const IntProg *p, int64_t n, uint64_t seed) {
  Rng rng;
  rt_rng_seed(&rng, seed);
  float *x = malloc(sizeof(float) * (size_t)(n * p->features));
  for (int64_t i = 0; i < n * p->features; i++) x[i] = (float)(rt_rng_normal(&rng) * 2.5);
  return x;
}

/* ==== bounds ==== */

static void check_bounds(const char *path, const FmtSet *fs) {
  Model m;
  load(&m, path, fs->cfg);
  const IntProg *p = m.p;
  Diag d;
  diag_init(&d, stderr);
  IpBounds *b = NULL;
  assert_int_equal(cg_int_elem_bounds(p, &b, &d), JS_OK);
  for (int v = 0; v < p->nvals; v++)
    for (int j = 0; j < p->vals[v].n; j++) {
      assert_true(b->lo[v][j] >= p->vals[v].lo && b->hi[v][j] <= p->vals[v].hi);
      assert_true(b->lo[v][j] <= b->hi[v][j]);
    }
  int64_t n = 4000;
  float *x = random_rows(p, n, 3), *logits = malloc(sizeof(float) * (size_t)(n * p->classes));
  int64_t *tr = malloc(sizeof(int64_t) * (size_t)(n * p->trace_width));
  assert_int_equal(rt_int_run(p, x, n, logits, tr, &d), JS_OK);
  for (int k = 0; k < p->nnodes; k++) {
    int v = p->nodes[k].val;
    for (int64_t r = 0; r < n; r++)
      for (int j = 0; j < p->vals[v].n; j++) {
        double c = (double)tr[r * p->trace_width + p->nodes[k].off + j];
        if (c < b->lo[v][j] || c > b->hi[v][j])
          fail_msg("%s %s: node %s element %d row %lld: code %.0f outside [%.0f, %.0f]", path, fs->name,
                   p->nodes[k].node->name, j, (long long)r, c, b->lo[v][j], b->hi[v][j]);
      }
  }
  free(x), free(logits), free(tr);
  cg_int_bounds_free(b);
  diag_free(&d);
  unload(&m);
}

static void test_bounds(void **state) {
  (void)state;
  const char *models[] = {"examples/jsc_tiny.jsc", "examples/jsc_big.jsc", "examples/jsc_trt.jsc"};
  for (size_t i = 0; i < sizeof models / sizeof *models; i++)
    for (size_t k = 0; k < sizeof sets / sizeof *sets; k++) check_bounds(models[i], &sets[k]);
}

/* A matvec row of zero weights is its bias, a point: tighter than the value's bounds. */
static void test_bounds_zero_row(void **state) {
  (void)state;
  Model m;
  load(&m, "examples/jsc_tiny.jsc", sets[0].cfg);
  IntProg *p = m.p;
  const IpStep *s = NULL;
  for (int i = 0; i < p->nsteps && !s; i++)
    if (p->steps[i].kind == IP_MATVEC) s = &p->steps[i];
  assert_non_null(s);
  for (int k = 0; k < s->nin; k++) p->consts[s->w + 2 * s->nin + k] = 0; /* row 2 */
  Diag d;
  diag_init(&d, stderr);
  IpBounds *b = NULL;
  assert_int_equal(cg_int_elem_bounds(p, &b, &d), JS_OK);
  double bias = s->c >= 0 ? (double)p->consts[s->c + 2] : 0;
  assert_true(b->lo[s->dst][2] == bias && b->hi[s->dst][2] == bias);
  assert_true(p->vals[s->dst].lo < bias || p->vals[s->dst].hi > bias);
  for (int o = 0; o < p->vals[s->dst].n; o++) /* every row's bound within the value's */
    assert_true(b->lo[s->dst][o] >= p->vals[s->dst].lo && b->hi[s->dst][o] <= p->vals[s->dst].hi);
  cg_int_bounds_free(b);
  diag_free(&d);
  unload(&m);
}

/* ==== the design ==== */

static CgHwDesign *render(const IntProg *p, int pipeline) {
  Diag d;
  diag_init(&d, stderr);
  CgHwOpts o = {.top = "jsc", .pipeline = pipeline};
  CgHwDesign *h = NULL;
  if (cg_verilog_render(p, &o, &h, &d)) fail_msg("%s pipeline %d: %s", p->model, pipeline, sb_str(&d.text));
  diag_free(&d);
  return h;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static int count(const char *text, const char *what) {
  int n = 0;
  for (const char *s = text; (s = strstr(s, what)); s++) n++;
  return n;
}

static bool have_tool(const char *name) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
  return system(cmd) == 0;
}

static void test_golden(void **state) {
  (void)state;
  Model m;
  load(&m, "examples/jsc_tiny.jsc", sets[0].cfg);
  CgHwDesign *h = render(m.p, 2);
  tl_check_golden("jsc_tiny.int8.v", sb_str(&h->verilog));
  cg_hw_design_free(h);
  unload(&m);
}

/* One module per layer and the top; stages rise to the pipeline's depth at the output; the
 * counts follow what was written; Verilog-2005 only. */
static void check_structure(const IntProg *p, int pipeline) {
  CgHwDesign *h = render(p, pipeline);
  const char *v = sb_str(&h->verilog);
  assert_int_equal(h->nlayers, p->nnodes);
  assert_int_equal(count(v, "\nmodule "), h->nlayers + 1);
  assert_int_equal(count(v, "endmodule"), h->nlayers + 1);
  assert_int_equal(h->latency, pipeline);
  assert_int_equal(h->layers[h->nlayers - 1].stage, pipeline);
  assert_int_equal(h->in_n, p->features);
  assert_int_equal(h->out_n, p->classes);
  int64_t regs = 0, adders = 0;
  for (int k = 0; k < h->nlayers; k++) {
    char decl[300];
    snprintf(decl, sizeof decl, "module %s (", h->layers[k].module);
    assert_non_null(strstr(v, decl));
    assert_true(k == 0 || h->layers[k].stage >= h->layers[k - 1].stage);
    assert_true(h->layers[k].width >= 1 && h->layers[k].n == p->vals[p->nodes[k].val].n);
    regs += h->layers[k].reg_bits;
    adders += h->layers[k].adders;
  }
  assert_true(pipeline ? regs > 0 : regs == 0);
  assert_true(adders > 0);
  if (!pipeline) assert_int_equal(count(v, "posedge"), 0);
  const char *sv[] = {"logic", "always_ff", "always_comb", "int ", "'{"};
  for (size_t i = 0; i < sizeof sv / sizeof *sv; i++)
    if (strstr(v, sv[i])) fail_msg("SystemVerilog '%s' in the design", sv[i]);
  cg_hw_design_free(h);
}

static void test_structure(void **state) {
  (void)state;
  const char *models[] = {"examples/jsc_tiny.jsc", "examples/jsc_big.jsc", "examples/jsc_trt.jsc"};
  for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
    Model m;
    load(&m, models[i], sets[0].cfg);
    for (int pl = 0; pl <= m.p->nnodes; pl++) check_structure(m.p, pl);
    /* a pipeline deeper than the layers: refused with the maximum */
    Diag d;
    diag_init(&d, NULL);
    CgHwOpts o = {.top = "jsc", .pipeline = m.p->nnodes + 1};
    CgHwDesign *h = NULL;
    assert_int_equal(cg_verilog_render(m.p, &o, &h, &d), JS_ERR);
    assert_null(h);
    char want[64];
    snprintf(want, sizeof want, "at most pipeline %d", m.p->nnodes);
    assert_non_null(strstr(sb_str(&d.text), want));
    diag_free(&d);
    unload(&m);
  }
}

/* `* N'sdM` and `* -N'sdM`: the constant multiplies written as such. */
static int64_t const_mults(const char *v) {
  int64_t n = 0;
  for (const char *s = v; (s = strstr(s, " * ")); s++) {
    const char *c = s + 3 + (s[3] == '-');
    while (*c >= '0' && *c <= '9') c++;
    n += strncmp(c, "'sd", 3) == 0;
  }
  return n;
}

/* A constant with few signed digits is shifts and adds, one with many a `*`. */
static void test_shift_add(void **state) {
  (void)state;
  Model m;
  load(&m, "examples/jsc_big.jsc", sets[0].cfg);
  Diag d;
  diag_init(&d, stderr);
  int64_t mults[2];
  for (int i = 0; i < 2; i++) {
    CgHwOpts o = {.top = "jsc", .shift_add_max = i ? 64 : 1};
    CgHwDesign *h = NULL;
    assert_int_equal(cg_verilog_render(m.p, &o, &h, &d), JS_OK);
    mults[i] = 0;
    for (int k = 0; k < h->nlayers; k++) mults[i] += h->layers[k].multipliers;
    if (i) assert_int_equal(const_mults(sb_str(&h->verilog)), 0);
    else assert_int_equal(const_mults(sb_str(&h->verilog)), mults[0]);
    cg_hw_design_free(h);
  }
  assert_true(mults[0] > 0);
  assert_int_equal(mults[1], 0);
  diag_free(&d);
  unload(&m);
}

/* Every allocation of a rendering failed in turn: JS_ENOMEM each time, no crash, no leak
 * (the ASan build checks), then the normal design. */
static void test_render_oom(void **state) {
  (void)state;
  Model m;
  load(&m, "examples/jsc_tiny.jsc", sets[0].cfg);
  FailNth fh;
  for (long n = 0;; n++) {
    Diag d;
    diag_init(&d, NULL);
    CgHwOpts o = {.top = "jsc", .pipeline = 2};
    CgHwDesign *h = NULL;
    fail_nth_install(&fh, n);
    Status st = cg_verilog_render(m.p, &o, &h, &d);
    long calls = fh.calls;
    ir_set_alloc_hook(NULL, NULL);
    cg_hw_design_free(h);
    diag_free(&d);
    if (calls <= n) {
      assert_int_equal(st, JS_OK);
      break;
    }
    assert_int_equal(st, JS_ENOMEM);
    assert_null(h);
  }
  unload(&m);
}

/* yosys reads the design and elaborates its hierarchy (synthesis proper is hw/synth.c's). */
static void test_yosys(void **state) {
  (void)state;
  if (!have_tool("yosys")) {
    printf("yosys not on PATH: skipped\n");
    return;
  }
  Model m;
  load(&m, "examples/jsc_big.jsc", sets[2].cfg);
  CgHwDesign *h = render(m.p, 3);
  char dir[] = "/tmp/jscc_vlog_XXXXXX", path[300], cmd[1024];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/jsc.v", dir);
  write_file(path, sb_str(&h->verilog));
  snprintf(cmd, sizeof cmd, "cd %s && yosys -q -p 'read_verilog jsc.v; hierarchy -check -top jsc; proc; check -assert' "
                            ">yosys.log 2>&1", dir);
  int rc = system(cmd);
  if (rc != 0) {
    snprintf(cmd, sizeof cmd, "cat %s/yosys.log", dir);
    (void)system(cmd);
  }
  assert_int_equal(rc, 0);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  (void)system(cmd);
  cg_hw_design_free(h);
  unload(&m);
}

/* ==== simulation against rt_int_run ==== */

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef enum Sim { SIM_ICARUS, SIM_VERILATOR } Sim;
static const char *const sim_names[] = {"iverilog", "verilator"};

/* One packed input vector as hex digits, element j at bits [j*w +: w]. */
static void put_hex(StrBuf *sb, const int64_t *codes, int n, int w) {
  int bits = n * w, digits = (bits + 3) / 4;
  for (int dgt = digits - 1; dgt >= 0; dgt--) {
    int nib = 0;
    for (int i = 3; i >= 0; i--) {
      int bit = dgt * 4 + i;
      int v = bit < bits ? (int)(((uint64_t)codes[bit / w] >> (bit % w)) & 1) : 0;
      nib = nib * 2 + v;
    }
    sb_putc(sb, "0123456789abcdef"[nib]);
  }
  sb_putc(sb, '\n');
}

/* inputs.hex: the rows' codes after the program's IP_QUANT. */
static void write_inputs(const char *dir, const IntProg *p, const CgHwDesign *h, const float *x, int64_t n) {
  const IpStep *q = &p->steps[0];
  assert_int_equal(q->kind, IP_QUANT);
  StrBuf sb;
  sb_init(&sb);
  int64_t *c = malloc(sizeof(int64_t) * (size_t)p->features);
  for (int64_t r = 0; r < n; r++) {
    for (int j = 0; j < p->features; j++) c[j] = rt_int_quant_in(x[r * p->features + j], q->sh, q->lo, q->hi, q->floor);
    put_hex(&sb, c, h->in_n, h->in_width);
  }
  char path[300];
  snprintf(path, sizeof path, "%s/inputs.hex", dir);
  write_file(path, sb_str(&sb));
  free(c);
  sb_free(&sb);
}

/* Compares one trace line's codes (after its header) with want[0..n). */
static int64_t compare_line(const char *line, const int64_t *want, int n) {
  int64_t bad = 0;
  char *end;
  for (int j = 0; j < n; j++) {
    long long v = strtoll(line, &end, 10);
    if (end == line) return bad + n - j;
    bad += v != want[j];
    line = end;
  }
  return bad;
}

/* Every `o` line against the last node's codes, every `t` line of sample ts against its
 * layer's; returns the mismatches (missing lines count). */
static int64_t compare_trace(const char *dir, const IntProg *p, const int64_t *tr, int64_t n, int64_t ts) {
  char path[300];
  snprintf(path, sizeof path, "%s/trace.txt", dir);
  char *text = tl_read(path, NULL);
  if (!text) return n;
  const IpNode *last = &p->nodes[p->nnodes - 1];
  int64_t bad = 0, outs = 0, traces = 0;
  for (char *l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
    long long a, b;
    int used = 0;
    if (sscanf(l, "o %lld%n", &a, &used) == 1 && a == outs && a < n) {
      bad += compare_line(l + used, tr + a * p->trace_width + last->off, p->vals[last->val].n);
      outs++;
    } else if (sscanf(l, "t %lld %lld%n", &a, &b, &used) == 2 && a >= 0 && a < p->nnodes && b == ts) {
      bad += compare_line(l + used, tr + b * p->trace_width + p->nodes[a].off, p->vals[p->nodes[a].val].n);
      traces++;
    } else {
      bad++;
    }
  }
  free(text);
  return bad + (n - outs) + (p->nnodes - traces);
}

static int run_sim(Sim sim, const char *dir, int64_t ts) {
  char cmd[1024];
  if (sim == SIM_ICARUS)
    snprintf(cmd, sizeof cmd, "cd %s && iverilog -g2005 -o sim.vvp tb.v design.v >build.log 2>&1 && "
                              "vvp -n sim.vvp +trace=%lld >run.log 2>&1", dir, (long long)ts);
  else
    snprintf(cmd, sizeof cmd, "cd %s && verilator --binary -j 2 -Wno-fatal -Wno-lint -Wno-style --top-module tb -o vtb "
                              "tb.v design.v >build.log 2>&1 && ./obj_dir/vtb +trace=%lld >run.log 2>&1", dir, (long long)ts);
  return system(cmd);
}

/* One model, format set and pipeline through one simulator. */
static void check_sim(Sim sim, const char *path, const FmtSet *fs, int pipeline, int64_t n) {
  Model m;
  load(&m, path, fs->cfg);
  const IntProg *p = m.p;
  if (pipeline < 0) pipeline = p->nnodes;
  CgHwDesign *h = render(p, pipeline);
  float *x = random_rows(p, n, 7 + (uint64_t)pipeline);
  int64_t *tr = malloc(sizeof(int64_t) * (size_t)(n * p->trace_width));
  float *logits = malloc(sizeof(float) * (size_t)(n * p->classes));
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_int_run(p, x, n, logits, tr, &d), JS_OK);
  char dir[] = "/tmp/jscc_vlog_XXXXXX", fpath[300], cmd[400];
  assert_non_null(mkdtemp(dir));
  snprintf(fpath, sizeof fpath, "%s/design.v", dir);
  write_file(fpath, sb_str(&h->verilog));
  StrBuf tb;
  sb_init(&tb);
  cg_verilog_testbench(&tb, h, n);
  snprintf(fpath, sizeof fpath, "%s/tb.v", dir);
  write_file(fpath, sb_str(&tb));
  write_inputs(dir, p, h, x, n);
  int64_t ts = n / 3;
  double t0 = now_s();
  int rc = run_sim(sim, dir, ts);
  int64_t bad = rc ? -1 : compare_trace(dir, p, tr, n, ts);
  printf("%-22s %-11s pipeline %2d %-9s %3lld samples: %s (%.1f s)\n", path, fs->name, pipeline, sim_names[sim], (long long)n,
         rc ? "FAILED TO RUN" : bad ? "DIFFERS" : "exact (o and t lines)", now_s() - t0);
  fflush(stdout);
  if (rc || bad) fail_msg("%s %s pipeline %d %s: %s (see %s)", path, fs->name, pipeline, sim_names[sim],
                          rc ? "the simulator failed" : "codes differ", dir);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (!getenv("JSCC_KEEP_SIM")) (void)system(cmd); /* kept for a look when set */
  sb_free(&tb);
  free(x), free(tr), free(logits);
  diag_free(&d);
  cg_hw_design_free(h);
  unload(&m);
}

/* Icarus is event driven: a combinational design's glitches multiply from layer to layer
 * (jsc_big's 13 layers cost ~0.1 s of CPU per sample), while registers after every layer stop
 * them; so the deep model runs fully pipelined on many rows and combinational on a few. */
typedef struct SimCase {
  const char *model;
  int set;            /* index into sets */
  int pipeline;       /* -1: a register after every layer */
  int64_t rows;
} SimCase;

static const SimCase icarus_cases[] = {
    {"examples/jsc_tiny.jsc", 0, 0, 300},  {"examples/jsc_tiny.jsc", 0, 2, 300}, {"examples/jsc_tiny.jsc", 1, 0, 300},
    {"examples/jsc_tiny.jsc", 1, 3, 300},  {"examples/jsc_tiny.jsc", 2, 0, 300}, {"examples/jsc_tiny.jsc", 2, 1, 300},
    {"examples/jsc_tiny.jsc", 3, 4, 300},  {"examples/jsc_tiny.jsc", 4, 0, 300}, {"examples/jsc_tiny.jsc", 4, 3, 300},
    {"examples/jsc_tiny.jsc", 5, 0, 300},  {"examples/jsc_tiny.jsc", 5, 2, 300}, {"examples/jsc_big.jsc", 4, -1, 200},
    {"examples/jsc_big.jsc", 5, -1, 100},  {"examples/jsc_big.jsc", 0, -1, 300}, {"examples/jsc_big.jsc", 1, -1, 300},
    {"examples/jsc_big.jsc", 2, -1, 300},  {"examples/jsc_big.jsc", 3, -1, 300}, {"examples/jsc_big.jsc", 0, 0, 20},
    {"examples/jsc_big.jsc", 1, 0, 20},    {"examples/jsc_big.jsc", 2, 0, 40},  {"examples/jsc_big.jsc", 2, 5, 40},
};

/* The functional forms (test_intinf.c's): add, sub and mul of two layers' values, a value
 * read again layers later (delayed when a register stage lies between), dropout and identity
 * passing through, the input read by two layers. */
static const char functional_text[] = "model F {\n"
                                      "  input x: f32[B, 16]\n"
                                      "  param w: f32[8, 16] = uniform(-0.5, 0.5)\n"
                                      "  param b: f32[8] = uniform(-0.25, 0.25)\n"
                                      "  fc = Linear(16, 8)\n"
                                      "  head = Linear(8, 5)\n"
                                      "  drop = Dropout(0.3)\n"
                                      "  id = Identity()\n"
                                      "  h = relu(linear(x, w, b))\n"
                                      "  g = drop(fc(x)).relu()\n"
                                      "  y = h + g\n"
                                      "  z = y - id(h)\n"
                                      "  return head(z * y)\n"
                                      "}\n";

static void test_icarus(void **state) {
  (void)state;
  if (!have_tool("iverilog") || !have_tool("vvp")) {
    printf("iverilog not on PATH: simulation with Icarus skipped\n");
    return;
  }
  for (size_t i = 0; i < sizeof icarus_cases / sizeof *icarus_cases; i++) {
    const SimCase *c = &icarus_cases[i];
    check_sim(SIM_ICARUS, c->model, &sets[c->set], c->pipeline, c->rows);
  }
  char dir[] = "/tmp/jscc_vlog_XXXXXX", path[300], cmd[300];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/functional.jsc", dir);
  write_file(path, functional_text);
  for (int k = 0; k < 3; k++)
    for (int pl = 0; pl <= 6; pl += 3) check_sim(SIM_ICARUS, path, &sets[k], pl, 200);
  check_sim(SIM_ICARUS, path, &sets[3], -1, 200);
  explicit_inputs = true;
  for (int pl = 0; pl <= 3; pl += 3) {
    check_sim(SIM_ICARUS, "examples/jsc_tiny.jsc", &sets[0], pl, 200);
    check_sim(SIM_ICARUS, path, &sets[1], pl, 200);
  }
  explicit_inputs = false;
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  (void)system(cmd);
}

/* Verilator compiles C++ per design: a few configurations keep the test short. */
static void test_verilator(void **state) {
  (void)state;
  if (!have_tool("verilator")) {
    printf("verilator not on PATH: simulation with Verilator skipped\n");
    return;
  }
  check_sim(SIM_VERILATOR, "examples/jsc_tiny.jsc", &sets[0], 2, 300);
  check_sim(SIM_VERILATOR, "examples/jsc_big.jsc", &sets[0], 0, 300);
  check_sim(SIM_VERILATOR, "examples/jsc_tiny.jsc", &sets[2], -1, 300);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bounds),    cmocka_unit_test(test_bounds_zero_row), cmocka_unit_test(test_golden),
      cmocka_unit_test(test_structure), cmocka_unit_test(test_shift_add),       cmocka_unit_test(test_render_oom),
      cmocka_unit_test(test_yosys),
      cmocka_unit_test(test_icarus),    cmocka_unit_test(test_verilator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
