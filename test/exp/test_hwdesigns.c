/* test_hwdesigns.c — emit directories in jscc report (exp/hwdesigns.c, the hardware section of
 * exp/report.c, the acc_luts figure of exp/plot.c) on the hand-written fixtures of
 * test/data/emit/: tiny (Verilog and C, both families synthesized, verilator agreeing and
 * iverilog not run), wide_est (no synthesis: estimates only; verilator differing) and c_only
 * (no "design", empty "synth" and "verify").  Checks what is read, the page against
 * test/golden/hw_report.html (figure stubbed; JSCC_UPDATE_GOLDEN=1 rewrites it), the figure's
 * files, emit directories beside a sweep, a table of malformed and wrongly typed emit.json
 * (the file, line and field named, nothing written) and every allocation failing in turn.
 * Runs from the source root. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "exp.h"
#include "tlib.h"
#include "../fail_nth.h"
#include "report_oom.h"

static const char *const designs[] = {"test/data/emit/tiny", "test/data/emit/wide_est", "test/data/emit/c_only"};

/* ---- files ---- */

static bool exists(const char *dir, const char *name) {
  char p[1024];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return stat(p, &st) == 0;
}

/* A fresh directory holding a copy of test/data/SRC (a fixture directory). */
static char *scratch(const char *src) {
  char *dir = strdup("/tmp/jscc-test-hw-XXXXXX"), cmd[512];
  assert_non_null(mkdtemp(dir));
  snprintf(cmd, sizeof cmd, "cp -r test/data/%s/. '%s'", src, dir);
  assert_int_equal(system(cmd), 0);
  return dir;
}

static void scratch_free(char *dir) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
  free(dir);
}

/* Replace the first `old` in DIR/NAME by `new`. */
static void edit(const char *dir, const char *name, const char *old, const char *new) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  size_t n;
  char *text = tl_read(p, &n), *at = text ? strstr(text, old) : NULL;
  if (!at) fail_msg("'%s' not in %s", old, p);
  char *out = malloc(n + strlen(new) + 1);
  sprintf(out, "%.*s%s%s", (int)(at - text), text, new, at + strlen(old));
  tl_write(p, out, strlen(out));
  free(out);
  free(text);
}

static ExpStudy *load(const char *const *dirs, int n) {
  Diag d;
  diag_init(&d, stderr);
  ExpStudy *s;
  assert_int_equal(exp_study_load(dirs, n, &s, &d), JS_OK);
  diag_free(&d);
  return s;
}

/* ---- reading ---- */

static void test_read_full(void **state) {
  (void)state;
  ExpStudy *s = load(designs, 1);
  assert_int_equal(s->ndesigns, 1);
  assert_int_equal(s->ntrials, 0);
  assert_false(s->sweep);
  assert_string_equal(s->dir, designs[0]);
  const ExpHwDesign *h = &s->designs[0];
  assert_string_equal(h->dir, designs[0]);
  assert_string_equal(h->model, "JSC_Tiny");
  assert_string_equal(h->checkpoint, "runs/x/best.safetensors");
  assert_true(h->test_accuracy == 0.6512);
  assert_true(h->has_design);
  assert_int_equal(h->latency_cycles, 1);
  assert_int_equal(h->nlayers, 1);
  assert_true(h->estimate[EXP_HW_XILINX].have && h->estimate[EXP_HW_XILINX].lut == 812);
  assert_true(h->estimate[EXP_HW_ICE40].carry == 600);
  assert_true(h->synth[EXP_HW_XILINX].ran && h->synth[EXP_HW_XILINX].total.lut == 700);
  assert_true(isnan(h->synth[EXP_HW_XILINX].fmax_mhz) && h->synth[EXP_HW_XILINX].seconds == 3.2);
  assert_string_equal(h->synth[EXP_HW_ICE40].part, "hx8k-ct256");
  assert_true(h->synth[EXP_HW_ICE40].fmax_mhz == 61.3 && h->synth[EXP_HW_ICE40].latency_ns == 16.3);
  assert_int_equal(h->nverify, 2);
  assert_true(h->verify[0].ran && h->verify[0].agree && h->verify[0].samples == 2000);
  assert_false(h->verify[1].ran);
  assert_string_equal(h->verify[1].why, "iverilog not found");
  double luts;
  bool est;
  assert_true(exp_hw_luts(h, &luts, &est) && luts == 700 && !est);
  exp_study_free(s);
}

/* Optional parts absent: no design, no synthesis (estimates plotted), no verification. */
static void test_read_partial(void **state) {
  (void)state;
  ExpStudy *s = load(designs, 3);
  assert_int_equal(s->ndesigns, 3);
  const ExpHwDesign *w = &s->designs[1], *c = &s->designs[2];
  double luts;
  bool est;
  assert_false(w->synth[EXP_HW_XILINX].ran || w->synth[EXP_HW_ICE40].ran);
  assert_true(exp_hw_luts(w, &luts, &est) && luts == 21400 && est);
  assert_true(w->verify[0].ran && !w->verify[0].agree && w->verify[0].mismatches == 7);
  assert_false(c->has_design);
  assert_false(c->estimate[EXP_HW_XILINX].have);
  assert_false(exp_hw_luts(c, &luts, &est));
  assert_int_equal(c->nverify, 0);
  assert_string_equal(c->synth[EXP_HW_ICE40].part, "");
  exp_study_free(s);
}

/* What may be left out, and what a newer writer may add. */
static void test_read_minimal(void **state) {
  (void)state;
  char *dir = scratch("emit/c_only"), p[600];
  snprintf(p, sizeof p, "%s/emit.json", dir);
  static const char json[] = "{\"model\": \"M\", \"top\": \"t\", \"test_accuracy\": null, \"future\": {\"x\": [1, {}]},\n"
                             " \"synth\": {\"ice40\": {\"total\": {\"lut\": 5, \"ff\": 0, \"dsp\": 0, \"carry\": 1}, \"fmax_mhz\": 0, \"latency_ns\": 0},"
                             " \"lattice\": 3}}\n";
  tl_write(p, json, sizeof json - 1);
  const char *dirs[] = {dir};
  ExpStudy *s = load(dirs, 1);
  const ExpHwDesign *h = &s->designs[0];
  assert_true(isnan(h->test_accuracy));
  assert_string_equal(h->checkpoint, "");
  assert_true(h->synth[EXP_HW_ICE40].ran && h->synth[EXP_HW_ICE40].fmax_mhz == 0 && isnan(h->synth[EXP_HW_ICE40].seconds));
  assert_false(h->synth[EXP_HW_XILINX].ran);
  /* no design: "C only"; Fmax 0 (not placed) and no test accuracy: empty cells */
  StrBuf sb;
  sb_init(&sb);
  exp_hw_table_html(&sb, s->designs, 1);
  assert_non_null(strstr(sb_str(&sb), "<td></td><td>C only</td>"));
  assert_non_null(strstr(sb_str(&sb), "<td>5</td><td>0</td><td>0</td><td>1</td><td class=\"l\"></td><td></td><td></td>"));
  assert_non_null(strstr(sb_str(&sb), "<th class=\"l\" rowspan=\"2\">verification</th>"));
  sb_free(&sb);
  exp_study_free(s);
  scratch_free(dir);
}

/* ---- the page ---- */

static void test_golden_page(void **state) {
  (void)state;
  ExpStudy *s = load(designs, 3);
  ExpReportOpts o;
  exp_report_opts_default(&o);
  static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" height=\"8\"/>";
  ExpFigure fig = {"acc_luts", "Accuracy against LUTs", "A stub <figure>.", svg, sizeof svg - 1, true};
  StrBuf sb;
  sb_init(&sb);
  exp_report_html(&sb, s, &o, &fig, 1, NULL);
  const char *page = sb_str(&sb);
  assert_null(strstr(page, "id=\"results\""));
  assert_null(strstr(page, "id=\"figures\""));
  assert_null(strstr(page, "id=\"commands\""));
  assert_non_null(strstr(page, "<td class=\"est\">~21400</td>"));
  assert_non_null(strstr(page, "<td>C only</td>"));
  assert_non_null(strstr(page, "<td class=\"l ok\">agree, 2000 samples</td>"));
  assert_non_null(strstr(page, "<td class=\"l failed\">differs: 7 of 2000 samples (first at sample 12: layer seq_blocks_4, element 3: 41 against 40)</td>"));
  assert_non_null(strstr(page, "<td class=\"l pending\">not run: iverilog not found</td>"));
  assert_non_null(strstr(page, "<td class=\"l\">hx8k-ct256</td><td>61.3</td><td>16.3</td>"));
  assert_non_null(strstr(page, "id=\"fig-acc_luts\""));
  tl_check_golden("hw_report.html", page);
  sb_free(&sb);
  exp_study_free(s);
}

/* The whole report of emit directories alone: into the first, with the figure's files. */
static void test_report_files(void **state) {
  (void)state;
  char *dir = scratch("emit"), a[512], b[512], c[512], p[600];
  snprintf(a, sizeof a, "%s/tiny", dir), snprintf(b, sizeof b, "%s/wide_est", dir), snprintf(c, sizeof c, "%s/c_only", dir);
  const char *dirs[] = {a, b, c};
  Diag d;
  diag_init(&d, stderr);
  ExpReportOpts o;
  exp_report_opts_default(&o);
  assert_int_equal(exp_report(dirs, 3, &o, &d), JS_OK);
  size_t n;
  snprintf(p, sizeof p, "%s/report.html", a);
  char *page = tl_read(p, &n);
  assert_non_null(page);
  assert_non_null(strstr(page, "<h2 id=\"hardware\">Hardware designs</h2>"));
  if (exp_plot_available()) {
    assert_non_null(strstr(page, "id=\"fig-acc_luts\""));
    assert_non_null(strstr(page, "1 design without a test accuracy or a LUT count is left out"));
    assert_non_null(strstr(page, "were not synthesized for Xilinx"));
    assert_true(exists(a, "figures/acc_luts.svg") && exists(a, "figures/acc_luts.png"));
    assert_false(exists(a, "figures/loss.svg"));
  } else {
    assert_non_null(strstr(page, "Figures need PLplot"));
  }
  assert_false(exists(b, "report.html"));
  free(page);
  diag_free(&d);
  scratch_free(dir);
}

/* No design with both a test accuracy and LUTs: no figure, and the page says why. */
static void test_no_point(void **state) {
  (void)state;
  char *dir = scratch("emit/c_only"), p[600];
  const char *dirs[] = {dir};
  Diag d;
  diag_init(&d, stderr);
  ExpReportOpts o;
  exp_report_opts_default(&o);
  assert_int_equal(exp_report(dirs, 1, &o, &d), JS_OK);
  size_t n;
  snprintf(p, sizeof p, "%s/report.html", dir);
  char *page = tl_read(p, &n);
  assert_non_null(page);
  if (exp_plot_available()) assert_non_null(strstr(page, "No figure: no design has both a test accuracy and a LUT count."));
  assert_false(exists(dir, "figures/acc_luts.svg"));
  free(page);
  diag_free(&d);
  scratch_free(dir);
}

/* Beside a sweep: the sweep's page with the designs' section; the output is the first
 * directory given (here the emit directory) unless --out says otherwise. */
static void test_with_sweep(void **state) {
  (void)state;
  char *sw = scratch("sweep"), *em = scratch("emit/tiny"), p[600];
  const char *dirs[] = {em, sw};
  ExpStudy *s = load(dirs, 2);
  assert_true(s->sweep);
  assert_int_equal(s->ntrials, 8);
  assert_int_equal(s->ndesigns, 1);
  assert_string_equal(s->dir, sw);
  exp_study_free(s);
  Diag d;
  diag_init(&d, stderr);
  ExpReportOpts o;
  exp_report_opts_default(&o);
  o.no_figures = true;
  assert_int_equal(exp_report(dirs, 2, &o, &d), JS_OK);
  assert_false(exists(sw, "report.html"));
  size_t n;
  snprintf(p, sizeof p, "%s/report.html", em);
  char *page = tl_read(p, &n);
  assert_non_null(page);
  const char *res = strstr(page, "id=\"results\""), *hw = strstr(page, "id=\"hardware\""), *cmd = strstr(page, "id=\"commands\"");
  assert_true(res && hw && cmd && res < hw && hw < cmd);
  assert_non_null(strstr(page, "<tr><th>designs</th><td class=\"l\">1 ("));
  free(page);
  diag_free(&d);
  scratch_free(sw);
  scratch_free(em);
}

/* ---- malformed input ---- */

/* exp_report on dirs fails with a message holding want1 and want2, and writes nothing. */
static void expect_error(const char *const *dirs, int n, const char *want1, const char *want2) {
  Diag d;
  diag_init(&d, NULL);
  ExpReportOpts o;
  exp_report_opts_default(&o);
  assert_int_not_equal(exp_report(dirs, n, &o, &d), JS_OK);
  const char *msg = sb_str(&d.text);
  if (!strstr(msg, want1) || (want2 && !strstr(msg, want2))) fail_msg("want '%s' and '%s' in: %s", want1, want2, msg);
  for (int i = 0; i < n; i++) assert_false(exists(dirs[i], "report.html") || exists(dirs[i], "figures"));
  diag_free(&d);
}

typedef struct BadCase {
  const char *old, *new;     /* the edit of tiny/emit.json */
  const char *want1, *want2; /* in the message */
} BadCase;

static const BadCase bad_cases[] = {
    /* the top level */
    {"\"model\": \"JSC_Tiny\"", "\"model\": 7", "emit.json:2:12: error:", "'model': expected a string"},
    {"\"top\": \"JSC_Tiny\", ", "", "emit.json:1:1:", "'top': expected a string, found none"},
    {"\"top\": \"JSC_Tiny\"", "\"top\": \"JSC\x01Tiny\"", "emit.json:2:35:", "control character 0x01 in a string"},
    {"\"checkpoint\": \"runs", "\"checkpoint\": [\"runs\"], \"c\": \"runs", "emit.json:2:", "'checkpoint': expected a string"},
    {"[\"verilog\", \"c\"]", "[\"verilog\", 3]", "emit.json:2:", "'targets[1]': expected a string"},
    {"[\"verilog\", \"c\"]", "\"verilog\"", "emit.json:2:", "'targets': expected an array"},
    {"[\"verilog\", \"c\"]", "[\"verilog\", \"c\",]", "emit.json:2:", "unexpected character ']'"},
    {"\"top\": \"JSC_Tiny\"", "\"top\": \"JSC_Tiny\", \"model\": \"again\"", "emit.json:2:", "duplicate key \"model\""},
    {"\"test_rows\": 166000", "\"test_rows\": -1", "emit.json:3:", "'test_rows': expected a non-negative integer"},
    {"\"test_rows\": 166000", "\"test_rows\": 1e400", "emit.json:3:", "'test_rows': expected a non-negative integer"},
    {"\"test_accuracy\": 0.6512", "\"test_accuracy\": \"0.6512\"", "emit.json:3:", "'test_accuracy': expected a number or null"},
    {"\"test_accuracy\": 0.6512", "\"test_accuracy\": 65.12", "emit.json:3:", "'test_accuracy': expected a number from 0 to 1, got 65.12"},
    {"\"test_accuracy\": 0.6512", "\"test_accuracy\": -0.1", "emit.json:3:", "expected a number from 0 to 1, got -0.1"},
    {"\"program\": {\"steps\": 6, \"layers\": 4, \"widest_bits\": 18, \"macs\": 80}", "\"program\": 4", "emit.json:3:",
     "'program': expected an object"},
    {"\"program\": {", "\"program\": [[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]], \"p\": {", "emit.json:3:", "nesting deeper than 16"},
    /* design */
    {"\"design\": {", "\"design\": \"none\", \"d\": {", "emit.json:4:", "'design': expected an object"},
    {"\"latency_cycles\": 1,", "\"latency_cycles\": 1.5,", "emit.json:4:", "'design.latency_cycles': expected a non-negative integer"},
    {"\"latency_cycles\": 1,", "", "emit.json:4:", "'design.latency_cycles': expected a non-negative integer, found none"},
    {"\"input\": {", "\"input\": 16, \"i\": {", "emit.json:4:", "'design.input': expected an object"},
    {"\"estimate_xilinx\": {\"lut\": 812", "\"estimate_xilinx\": {\"lut\": \"812\"", "emit.json:5:",
     "'design.estimate_xilinx.lut': expected a non-negative integer"},
    {"\"estimate_ice40\": {\"lut\": 900, \"ff\": 60, \"dsp\": 0, \"carry\": 600}", "\"estimate_ice40\": {\"lut\": 900, \"ff\": 60, \"dsp\": 0}",
     "emit.json:5:", "'design.estimate_ice40.carry': expected a non-negative integer, found none"},
    {"\"estimate_ice40\": {", "\"estimate_ice40\": null, \"e\": {", "emit.json:5:", "'design.estimate_ice40': expected an object"},
    {"\"layers\": [", "\"layers\": {}, \"l\": [", "emit.json:6:", "'design.layers': expected an array"},
    {"\"layers\": [", "\"layers\": [3, ", "emit.json:6:", "'design.layers[0]': expected an object"},
    {"\"name\": \"seq_blocks_2\"", "\"name\": null", "emit.json:7:", "'design.layers[0].name': expected a string"},
    {"\"adders\": 75", "\"adders\": -75", "emit.json:7:", "'design.layers[0].adders': expected a non-negative integer"},
    {"\"xilinx\": {\"lut\": 690", "\"xilinx\": {\"lut\": true", "emit.json:7:", "'design.layers[0].xilinx.lut'"},
    {"\"estimate_xilinx\": {\"lut\": 700", "\"estimate_xilinx\": {\"lut\": 7e2", "emit.json:7:",
     "'design.layers[0].estimate_xilinx.lut': expected a non-negative integer"},
    /* verify */
    {"\"verify\": [", "\"verify\": 1, \"v\": [", "emit.json:9:", "'verify': expected an array"},
    {"\"verify\": [{", "\"verify\": [\"x\", {", "emit.json:9:", "'verify[0]': expected an object"},
    {"\"sim\": \"verilator\"", "\"sim\": [\"verilator\"]", "emit.json:9:", "'verify[0].sim': expected a string"},
    {"\"sim\": \"verilator\", ", "", "emit.json:9:", "'verify[0].sim': expected a string, found none"},
    {"\"ran\": true, \"agree\": true", "\"ran\": 1, \"agree\": true", "emit.json:9:", "'verify[0].ran': expected a boolean"},
    {"\"agree\": true", "\"agree\": \"yes\"", "emit.json:9:", "'verify[0].agree': expected a boolean"},
    {"\"samples\": 2000", "\"samples\": 2000.5", "emit.json:9:", "'verify[0].samples': expected a non-negative integer"},
    {"\"mismatches\": 0, \"why\": \"\"}", "\"mismatches\": 2001, \"why\": \"\"}", "emit.json:9:",
     "'verify[0].mismatches': 2001 is more than the 2000 samples"},
    {"\"why\": \"iverilog not found\"", "\"why\": false", "emit.json:10:", "'verify[1].why': expected a string"},
    /* synth */
    {"\"synth\": {", "\"synth\": [], \"s\": {", "emit.json:11:", "'synth': expected an object"},
    {"\"xilinx\": {\"total\"", "\"xilinx\": {\"totals\"", "emit.json:11:", "'synth.xilinx.total': expected an object, found none"},
    {"\"ice40\": {\"total\"", "\"ice40\": [], \"i\": {\"total\"", "emit.json:12:", "'synth.ice40': expected an object"},
    {"\"lut\": 950", "\"lut\": -950", "emit.json:12:40: error:", "'synth.ice40.total.lut': expected a non-negative integer"},
    {"\"part\": \"hx8k-ct256\"", "\"part\": 8", "emit.json:12:", "'synth.ice40.part': expected a string"},
    {"\"fmax_mhz\": 61.3", "\"fmax_mhz\": \"61.3\"", "emit.json:12:", "'synth.ice40.fmax_mhz': expected a number or null"},
    {"\"latency_ns\": 16.3", "\"latency_ns\": -16.3", "emit.json:12:", "'synth.ice40.latency_ns': expected a non-negative number, got -16.3"},
    {"\"seconds\": 3.2", "\"seconds\": {}", "emit.json:11:", "'synth.xilinx.seconds': expected a number or null"},
    /* the document */
    {"\n}\n", "\n}\n}\n", "emit.json:14:1:", "text after the emit.json's JSON value"},
};

static void test_malformed(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
    const BadCase *c = &bad_cases[i];
    char *dir = scratch("emit/tiny");
    edit(dir, "emit.json", c->old, c->new);
    const char *dirs[] = {dir};
    expect_error(dirs, 1, c->want1, c->want2);
    scratch_free(dir);
  }
}

/* Whole files that are not an emit.json, and a bad one beside good directories. */
static void test_bad_files(void **state) {
  (void)state;
  static const struct { const char *text, *want1, *want2; } files[] = {
      {"", "emit.json:1:1:", "unexpected end of emit.json"},
      {"[1]", "emit.json:1:1:", "expected an object (emit.json's top level)"},
      {"null", "emit.json:1:1:", "expected an object"},
      {"{\"model\": \"m\"", "emit.json:1:", NULL},
      {"{\"model\": \"m\"}", "emit.json:1:1:", "'top': expected a string, found none"},
      {"\xEF\xBB\xBF{}", "emit.json:1:1:", "unexpected byte 0xef"},
  };
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char *dir = scratch("emit/tiny"), p[600];
    snprintf(p, sizeof p, "%s/emit.json", dir);
    tl_write(p, files[i].text, strlen(files[i].text));
    const char *dirs[] = {dir};
    expect_error(dirs, 1, files[i].want1, files[i].want2);
    scratch_free(dir);
  }
  /* emit.json a directory: not an emit directory, nor anything else */
  char *dir = scratch("emit/tiny"), p[600];
  snprintf(p, sizeof p, "%s/emit.json", dir);
  assert_int_equal(remove(p), 0);
  assert_true(ir_mkdir_p(p, 0777));
  const char *dirs[] = {dir};
  expect_error(dirs, 1, "nor an emit directory (emit.json)", NULL);
  scratch_free(dir);
  /* a bad design beside a sweep and a good design: nothing written anywhere */
  char *sw = scratch("sweep"), *good = scratch("emit/tiny"), *bad = scratch("emit/tiny");
  edit(bad, "emit.json", "\"lut\": 950", "\"lut\": 9.5");
  const char *three[] = {sw, good, bad};
  expect_error(three, 3, "emit.json:12:", "'synth.ice40.total.lut'");
  const char *sweeps[] = {good, sw, sw};
  expect_error(sweeps, 3, "is a sweep: report on it alone (or with emit directories)", NULL);
  scratch_free(sw);
  scratch_free(good);
  scratch_free(bad);
}

/* Every allocation of loading and rendering fails in turn: reported, never a crash or leak. */
static void test_oom(void **state) {
  (void)state;
  check_report_oom(designs, 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read_full),    cmocka_unit_test(test_read_partial), cmocka_unit_test(test_read_minimal),
      cmocka_unit_test(test_golden_page),  cmocka_unit_test(test_report_files), cmocka_unit_test(test_no_point),
      cmocka_unit_test(test_with_sweep),   cmocka_unit_test(test_malformed),    cmocka_unit_test(test_bad_files),
      cmocka_unit_test(test_oom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
