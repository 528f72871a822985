/* hw/synth.c — a design's resources and speed from the open FPGA tools: yosys maps it to
 * Xilinx 7-series or iCE40 cells, nextpnr-ice40 places and routes the iCE40 netlist for Fmax.
 *
 * Commands (all run in dir, logs beside them):
 *   yosys -s TOP_xilinx.ys   read_verilog TOP.v; synth_xilinx -family xc7 -top TOP;
 *                            tee -q -o TOP_xilinx.stat stat -top TOP
 *   yosys -s TOP_ice40.ys    read_verilog TOP.v TOP__fmax.v;
 *                            synth_ice40 -noflatten -top TOP__fmax -json TOP.json;
 *                            tee -q -o TOP_ice40.stat stat -top TOP
 *   nextpnr-ice40 --hx1k --package tq144 --json TOP.json --freq 100 --timing-allow-fail --seed 1
 * synth_xilinx keeps the hierarchy unless told -flatten; synth_ice40 flattens unless told
 * -noflatten (yosys 0.23): kept, every layer module gets its own `stat` block, and the
 * "design hierarchy" block of `stat -top TOP` is the whole design.  Keeping it forgoes the
 * optimizations across layer boundaries (a constant or unused bit crossing a port): the
 * counts are those of the design as rendered, layer by layer.
 *
 * Fmax needs register-to-register paths, and a design with one register stage has none
 * (input -> logic -> register -> logic -> output): TOP__fmax registers the top's inputs and
 * outputs, so every path of the design lies between two registers.  Those IO registers are
 * in TOP__fmax, outside the counts.  The part is the smallest of the table below that the
 * design's logic cells and ports fit; one that nextpnr still refuses passes to the next. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hw.h"


/* nextpnr's target: the placer and router work toward it; --timing-allow-fail reports the
 * Fmax reached whether or not it is met.  About what iCE40 reaches with these adders (mac2:
 * 98 to 102 MHz): a far higher target slows placement for little gain. */
#define ICE40_TARGET_MHZ 100
/* Fill at most this share of a part's logic cells: beyond it placement fails or crawls. */
#define ICE40_FILL 0.9

typedef struct Ice40Part {
  const char *dev, *pkg; /* nextpnr's --DEV and --package */
  int lcs;               /* logic cells (a LUT4, a flip-flop, a carry each) */
  int io;                /* user IO pins of the package: nextpnr 0.4 places this many, not 2 more */
} Ice40Part;
/* By size; up5k-sg48 has more cells than hx4k but few pins. */
static const Ice40Part ice40_parts[] = {
  {"hx1k", "tq144", 1280, 95}, {"hx4k", "tq144", 3520, 107}, {"up5k", "sg48", 5280, 39}, {"hx8k", "ct256", 7680, 206},
};

/* ---- parsing ---- */

/* The counter a cell type adds to, NULL for cells not counted.  Xilinx: LUT1..LUT6, and the
 * shift-register LUTs (SRL16E, SRLC32E: a LUT each, holding a delay line of registers);
 * every FD* flip-flop; DSP48*; CARRY4/CARRY8.  iCE40: SB_LUT4, SB_DFF*, SB_MAC16, SB_CARRY. */
static int64_t *cell_slot(HwCounts *c, HwFamily fam, const char *cell) {
  if (fam == HW_ICE40) {
    if (!strcmp(cell, "SB_LUT4")) return &c->lut;
    if (!strncmp(cell, "SB_DFF", 6)) return &c->ff;
    if (!strcmp(cell, "SB_MAC16")) return &c->dsp;
    return strcmp(cell, "SB_CARRY") ? NULL : &c->carry;
  }
  /* exact names or short prefixed ones: a layer module's instance (TOP_<layer>) is listed
   * among the cells too, and a top called FDnet must not count as flip-flops */
  if (strlen(cell) == 4 && !strncmp(cell, "LUT", 3) && cell[3] >= '1' && cell[3] <= '6') return &c->lut;
  if (!strcmp(cell, "SRL16E") || !strcmp(cell, "SRLC16E") || !strcmp(cell, "SRLC32E")) return &c->lut;
  if (!strncmp(cell, "FD", 2) && strlen(cell) <= 6) return &c->ff; /* FDRE, FDSE, FDCE, FDPE, FDRE_1 */
  if (!strcmp(cell, "DSP48E1") || !strcmp(cell, "DSP48E2")) return &c->dsp;
  return strcmp(cell, "CARRY4") && strcmp(cell, "CARRY8") ? NULL : &c->carry;
}

/* Where one block's counts go while the report is read. */
typedef struct StatTarget {
  HwCounts top, hier; /* the top's own block, the hierarchy block */
  bool seen_top, seen_hier;
  bool *seen;         /* [n] per module */
} StatTarget;

/* The counts of the block headed "=== name ===", NULL for a module not asked for. */
static HwCounts *block_of(StatTarget *t, const char *name, const char *top, const char *const *modules, int n,
                          HwCounts *per) {
  if (!strcmp(name, "design hierarchy")) return t->seen_hier = true, &t->hier;
  if (!strcmp(name, top)) return t->seen_top = true, &t->top;
  for (int i = 0; i < n; i++)
    if (!strcmp(name, modules[i])) return t->seen[i] = true, &per[i];
  return NULL;
}

/* One line of the report: a block's header, its "Number of cells:" line, or (after that)
 * "  CELLTYPE  COUNT".  *cur: the block being read; *cells: past its cells line. */
static void stat_line(const char *line, size_t len, HwFamily fam, HwCounts **cur, bool *cells, StatTarget *t,
                      const char *top, const char *const *modules, int n, HwCounts *per) {
  char name[256], cell[128], buf[1024];
  long long count;
  if (len >= sizeof buf) { /* no line of ours is this long: whatever block it starts is not */
    *cur = NULL;
    *cells = false;
    return;
  }
  memcpy(buf, line, len);
  buf[len] = 0;
  if (sscanf(buf, " === %255[^=] ===", name) == 1) {
    for (size_t k = strlen(name); k > 0 && name[k - 1] == ' '; k--) name[k - 1] = 0;
    *cur = block_of(t, name, top, modules, n, per);
    *cells = false;
  } else if (strstr(buf, "Number of cells:")) {
    *cells = true;
  } else if (*cells && *cur && sscanf(buf, " %127s %lld", cell, &count) == 2) {
    int64_t *slot = cell_slot(*cur, fam, cell);
    /* a count no synthesis makes (negative, beyond 2^40 cells) is not one of ours: skipped,
     * so the sums can never overflow */
    if (slot && count >= 0 && count <= (INT64_C(1) << 40) && *slot <= (INT64_C(1) << 61)) *slot += count;
  } else if (strspn(buf, " \t\r") == len) {
    *cells = false;
  }
}

Status hw_parse_stat(const char *text, HwFamily fam, const char *top, const char *const *modules, int n,
                     HwCounts *per, HwCounts *total, Diag *d) {
  StatTarget t = {0};
  bool seen[n > 0 ? n : 1];
  memset(seen, 0, sizeof seen);
  t.seen = seen;
  for (int i = 0; i < n; i++) per[i] = (HwCounts){0};
  HwCounts *cur = NULL;
  bool cells = false;
  for (const char *p = text; *p;) {
    size_t len = strcspn(p, "\n");
    stat_line(p, len, fam, &cur, &cells, &t, top, modules, n, per);
    p += len + (p[len] == '\n');
  }
  if (!t.seen_top) return diag_error(d, (SrcLoc){0}, "yosys' statistics have no module '%s'", top);
  /* a layer module absent from the report was removed by yosys for having no cells left (a
   * layer that only passes wires through, or whose logic folded into constants): it counts 0,
   * as per[] already says */
  *total = t.seen_hier ? t.hier : t.top;
  return JS_OK;
}

double hw_parse_fmax(const char *text) {
  double mhz = 0;
  for (const char *p = strstr(text, "Max frequency for clock"); p; p = strstr(p + 1, "Max frequency for clock")) {
    const char *colon = strstr(p, "': ");
    double f;
    if (colon && colon - p < 512 && sscanf(colon + 3, "%lf MHz", &f) == 1 && isfinite(f) && f > 0) mhz = f;
  }
  return mhz;
}

void hw_last_error(const char *text, char *buf, size_t cap) {
  const char *err = NULL, *last = NULL;
  size_t err_len = 0, last_len = 0;
  for (const char *p = text; *p;) {
    size_t len = strcspn(p, "\n");
    if (!strncmp(p, "ERROR:", 6)) err = p, err_len = len;
    if (strspn(p, " \t\r") < len) last = p, last_len = len;
    p += len + (p[len] == '\n');
  }
  if (!err) err = last, err_len = last_len;
  snprintf(buf, cap, "%.*s", err ? (int)err_len : 0, err ? err : "");
  if (cap && strlen(buf) && buf[strlen(buf) - 1] == '\r') buf[strlen(buf) - 1] = 0;
}

/* ---- running the tools ---- */

/* What one hw_synth call carries between its steps. */
typedef struct SynthRun {
  const CgHwDesign *h;
  HwFamily fam;
  const char *dir;
  double deadline;    /* monotonic seconds; 0: no limit */
  Arena *a;           /* the logs read back */
  Diag *d;
} SynthRun;

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* dir/NAME (NAME from fmt) into buf; an error when it does not fit. */
static Status path_in(const SynthRun *s, char *buf, size_t cap, const char *fmt, const char *arg) {
  char name[512];
  int n = snprintf(name, sizeof name, fmt, arg);
  int m = n > 0 && (size_t)n < sizeof name ? snprintf(buf, cap, "%s/%s", s->dir, name) : -1;
  if (m < 0 || (size_t)m >= cap) return diag_error(s->d, (SrcLoc){0}, "path too long in %s", s->dir);
  return JS_OK;
}

/* Seconds left for the next tool (at least 1), 0 for no limit; -1 when the time is spent. */
static int seconds_left(const SynthRun *s) {
  if (s->deadline <= 0) return 0;
  double left = s->deadline - mono_s();
  return left < 1 ? -1 : (int)ceil(left);
}

/* Runs one tool in dir with a fresh log; a nonzero exit is an error quoting the log's last
 * error line. */
static Status run_tool(SynthRun *s, HwTool t, const char *const *argv, const char *log) {
  int left = seconds_left(s), rc;
  if (left < 0) return diag_error(s->d, (SrcLoc){0}, "%s not run: the synthesis time ran out", hw_tool_name(t));
  unlink(log);
  Status st = hw_run(argv, s->dir, log, left, &rc, s->d);
  if (st != JS_OK || rc == 0) return st;
  SrcFile *f;
  char last[512] = "";
  if (diag_read_file(s->a, log, &f, NULL) == JS_OK) hw_last_error(f->text, last, sizeof last);
  return diag_error(s->d, (SrcLoc){0}, "%s failed (exit %d): %s (log: %s)", hw_tool_name(t), rc, last, log);
}

static Status write_text(SynthRun *s, StrBuf *sb, const char *path) {
  Status st = sb_write_file(sb, path);
  sb_free(sb);
  if (st == JS_ENOMEM) return diag_oom(s->d);
  return st == JS_OK ? JS_OK : diag_error(s->d, (SrcLoc){0}, "cannot write %s", path);
}

/* TOP__fmax: the top between input and output registers (see the top of the file). */
static Status write_fmax_wrapper(SynthRun *s) {
  const CgHwDesign *h = s->h;
  char path[4096];
  if (path_in(s, path, sizeof path, "%s__fmax.v", h->top) != JS_OK) return JS_ERR;
  int iw = h->in_n * h->in_width, ow = h->out_n * h->out_width;
  StrBuf sb;
  sb_init(&sb);
  sb_printf(&sb, "// The design between registers, so that nextpnr times every path of it (hw/synth.c).\n");
  sb_printf(&sb, "module %s__fmax(input clk, input rst, input valid_in, input [%d:0] x,\n", h->top, iw - 1);
  sb_printf(&sb, "    output reg valid_out, output reg [%d:0] y);\n", ow - 1);
  sb_printf(&sb, "  reg [%d:0] xr;\n  reg vr;\n  wire [%d:0] yw;\n  wire vw;\n", iw - 1, ow - 1);
  sb_printf(&sb, "  %s core(.clk(clk), .rst(rst), .valid_in(vr), .x(xr), .valid_out(vw), .y(yw));\n", h->top);
  sb_puts(&sb, "  always @(posedge clk) begin\n    xr <= x;\n    vr <= valid_in;\n");
  sb_puts(&sb, "    y <= yw;\n    valid_out <= vw;\n  end\nendmodule\n");
  return write_text(s, &sb, path);
}

static Status write_script(SynthRun *s, const char *script) {
  const char *t = s->h->top;
  StrBuf sb;
  sb_init(&sb);
  sb_printf(&sb, "# hw/synth.c: %s for %s, the layer modules kept apart\n",
            s->fam == HW_ICE40 ? "synth_ice40" : "synth_xilinx", t);
  if (s->fam == HW_ICE40) {
    sb_printf(&sb, "read_verilog %s.v\nread_verilog %s__fmax.v\n", t, t);
    sb_printf(&sb, "synth_ice40 -noflatten -top %s__fmax -json %s.json\n", t, t);
  } else {
    sb_printf(&sb, "read_verilog %s.v\nsynth_xilinx -family xc7 -top %s\n", t, t);
  }
  sb_printf(&sb, "tee -q -o %s_%s.stat stat -top %s\n", t, s->fam == HW_ICE40 ? "ice40" : "xilinx", t);
  return write_text(s, &sb, script);
}

/* yosys, then its statistics into r. */
static Status run_yosys(SynthRun *s, HwSynthResult *r) {
  const char *t = s->h->top, *fam = s->fam == HW_ICE40 ? "ice40" : "xilinx";
  const char *yosys = hw_tool_path(HW_YOSYS);
  if (!yosys) return diag_error(s->d, (SrcLoc){0}, "yosys is not installed (not found at configure time nor on PATH)");
  char script[4096], log[4096], stat[4096], name[300];
  snprintf(name, sizeof name, "%s_%s", t, fam);
  if (path_in(s, script, sizeof script, "%s.ys", name) || path_in(s, log, sizeof log, "%s_yosys.log", name) ||
      path_in(s, stat, sizeof stat, "%s.stat", name))
    return JS_ERR;
  if (s->fam == HW_ICE40 && write_fmax_wrapper(s) != JS_OK) return JS_ERR;
  if (write_script(s, script) != JS_OK) return JS_ERR;
  unlink(stat);
  char script_name[320];
  snprintf(script_name, sizeof script_name, "%s.ys", name);
  const char *argv[] = {yosys, "-s", script_name, NULL};
  if (run_tool(s, HW_YOSYS, argv, log) != JS_OK) return JS_ERR;
  SrcFile *f;
  if (diag_read_file(s->a, stat, &f, s->d) != JS_OK) return JS_ERR;
  const char **mods = arena_alloc(s->a, (size_t)(s->h->nlayers + 1) * sizeof *mods);
  if (!mods) return diag_oom(s->d);
  for (int i = 0; i < s->h->nlayers; i++) mods[i] = s->h->layers[i].module;
  return hw_parse_stat(f->text, s->fam, t, mods, s->h->nlayers, r->layer, &r->total, s->d);
}

/* The first part at or after `from` that the design fits: logic cells (a LUT and a
 * flip-flop share one when the LUT feeds it: max of the two, plus the wrapper's IO
 * registers, which share with nothing) and pins (the ports, clk, rst and the valid bits). */
static int fitting_part(const CgHwDesign *h, const HwCounts *c, int from) {
  int64_t io_bits = (int64_t)h->in_n * h->in_width + (int64_t)h->out_n * h->out_width;
  int64_t lcs = (c->lut > c->ff ? c->lut : c->ff) + io_bits + 2, pins = io_bits + 4;
  int nparts = (int)(sizeof ice40_parts / sizeof *ice40_parts);
  for (int i = from; i < nparts; i++)
    if (lcs <= ICE40_FILL * ice40_parts[i].lcs && pins <= ice40_parts[i].io) return i;
  return -1;
}

/* nextpnr on one part: its Fmax into r. */
static Status place_on(SynthRun *s, const Ice40Part *p, HwSynthResult *r) {
  const char *t = s->h->top;
  char log[4096], json[320], dev[16], freq[16];
  char tag[300];
  snprintf(tag, sizeof tag, "%s_nextpnr_%s", t, p->dev);
  if (path_in(s, log, sizeof log, "%s.log", tag)) return JS_ERR;
  snprintf(json, sizeof json, "%s.json", t);
  snprintf(dev, sizeof dev, "--%s", p->dev);
  snprintf(freq, sizeof freq, "%d", ICE40_TARGET_MHZ);
  const char *argv[] = {hw_tool_path(HW_NEXTPNR_ICE40), dev, "--package", p->pkg, "--json", json, "--freq", freq,
                        "--timing-allow-fail", "--seed", "1", NULL};
  if (run_tool(s, HW_NEXTPNR_ICE40, argv, log) != JS_OK) return JS_ERR;
  SrcFile *f;
  if (diag_read_file(s->a, log, &f, s->d) != JS_OK) return JS_ERR;
  r->fmax_mhz = hw_parse_fmax(f->text);
  snprintf(r->part, sizeof r->part, "%s-%s", p->dev, p->pkg);
  return JS_OK;
}

/* Places on the smallest part that takes the design.  A part nextpnr refuses (too full, too
 * few pins of the right kind) is reported as a note and the next one tried; none fitting at
 * all is a note too, and part stays "". */
static Status place_ice40(SynthRun *s, HwSynthResult *r) {
  if (!hw_tool_path(HW_NEXTPNR_ICE40))
    return diag_error(s->d, (SrcLoc){0}, "nextpnr-ice40 is not installed (not found at configure time nor on PATH)");
  int i = fitting_part(s->h, &r->total, 0);
  if (i < 0) {
    diag_note(s->d, (SrcLoc){0}, "%s fits no iCE40 part of hw/synth.c's table (%lld LUTs): not placed", s->h->top,
              (long long)r->total.lut);
    return JS_OK;
  }
  for (;;) {
    /* a refusal goes to a quiet Diag first: a note when a larger part remains, else the error */
    Diag quiet, *outer = s->d;
    diag_init(&quiet, NULL);
    s->d = &quiet;
    Status st = place_on(s, &ice40_parts[i], r);
    s->d = outer;
    int next = st == JS_OK ? -1 : fitting_part(s->h, &r->total, i + 1);
    const char *msg = sb_str(&quiet.text);
    if (!strncmp(msg, "error: ", 7)) msg += 7;
    int len = (int)strcspn(msg, "\n");
    if (st != JS_OK && next >= 0) diag_note(outer, (SrcLoc){0}, "%.*s; trying a larger part", len, msg);
    if (st != JS_OK && next < 0) st = diag_error(outer, (SrcLoc){0}, "%.*s", len, msg);
    diag_free(&quiet);
    if (st == JS_OK || next < 0) return st;
    i = next;
  }
}

Status hw_synth(const CgHwDesign *h, HwFamily fam, const char *dir, int timeout_s, HwSynthResult *r, Diag *d) {
  double t0 = mono_s();
  *r = (HwSynthResult){.family = fam, .nlayers = h->nlayers};
  /* the name goes into yosys scripts and file names: a plain identifier, not too long */
  static const char ident[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
  if (!h->top || !h->top[0] || (h->top[0] >= '0' && h->top[0] <= '9') || strlen(h->top) > 200 ||
      strspn(h->top, ident) != strlen(h->top))
    return diag_error(d, (SrcLoc){0}, "hw_synth: the top module's name '%s' is not a plain Verilog identifier"
                      " (letters, digits and _, at most 200)",
                      h->top ? h->top : "");
  r->layer = ir_calloc(h->nlayers > 0 ? (size_t)h->nlayers : 1, sizeof *r->layer);
  Arena *a = arena_new();
  if (!r->layer || !a) return arena_free(a), diag_oom(d);
  SynthRun s = {h, fam, dir, timeout_s > 0 ? t0 + timeout_s : 0, a, d};
  Status st = run_yosys(&s, r);
  if (st == JS_OK && fam == HW_ICE40) st = place_ice40(&s, r);
  arena_free(a);
  CgHwCost est;
  cg_hw_estimate(h, fam, NULL, &est);
  r->estimate = (HwCounts){llround(est.lut), llround(est.ff), llround(est.dsp), llround(est.carry)};
  /* a combinational design (latency 0) sits between the wrapper's registers: one period is
   * its input-to-output delay (plus a register's clock-to-out and setup) */
  if (r->fmax_mhz > 0) r->latency_ns = (h->latency > 0 ? h->latency : 1) * 1000.0 / r->fmax_mhz;
  r->seconds = mono_s() - t0;
  return st;
}

void hw_synth_free(HwSynthResult *r) {
  if (!r) return;
  ir_free(r->layer);
  r->layer = NULL;
  r->nlayers = 0;
}
