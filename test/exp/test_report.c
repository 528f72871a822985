/* test_report.c — exp/report.c and exp/plot.c on the fixture sweep test/data/sweep/ (8 trials
 * of jsc_tiny: batch size 64, 256 x lr 1e-3, 1e-2 x seed 0, 1; trial 6 failed, trial 7
 * diverged; made by jscc train, checkpoints left out): what is read, the ranking, the seed
 * statistics, the HTML escaping, the page against test/golden/sweep_report.html (figures
 * stubbed; JSCC_UPDATE_GOLDEN=1 rewrites it), the figures' files, malformed input (the file
 * and line named, nothing written) and every allocation failing in turn.  Runs from the
 * source root. */
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

static const char *const fixture[] = {"test/data/sweep"};

static ExpStudy *load_fixture(void) {
  Diag d;
  diag_init(&d, stderr);
  ExpStudy *s;
  assert_int_equal(exp_study_load(fixture, 1, &s, &d), JS_OK);
  diag_free(&d);
  return s;
}

static void test_read_sweep(void **state) {
  (void)state;
  ExpStudy *s = load_fixture();
  assert_true(s->sweep);
  assert_int_equal(s->ntrials, 8);
  assert_int_equal(s->naxes, 3);
  assert_int_equal(s->seed_axis, 2);
  assert_string_equal(s->axes[1].option, "--lr");
  assert_string_equal(s->axes[1].values[1], "1e-2");
  assert_int_equal(s->nmodels, 1);
  assert_string_equal(s->models[0], "JSC_Tiny");
  assert_int_equal(s->nfixed, 4);
  assert_non_null(strstr(s->data, "SYNTHETIC JSC stand-in"));
  const ExpStudyTrial *t = &s->trials[2];
  assert_string_equal(t->status, "ok");
  assert_string_equal(t->values[0], "64");
  assert_string_equal(t->values[1], "1e-2");
  assert_true(t->res[EXP_COL_FINAL_VAL_ACC] == 0.491666667);
  assert_true(isnan(t->res[EXP_COL_TEST_ACC]));
  assert_int_equal(t->curve.n, 3);
  assert_true(t->curve.val_acc[2] == 0.491666667);
  assert_int_equal(t->argc, 13);
  assert_string_equal(t->argv[1], "train");
  assert_string_equal(s->trials[6].status, "failed");
  assert_int_equal(s->trials[6].curve.n, 0);
  assert_string_equal(s->trials[7].status, "diverged");
  assert_true(isnan(s->trials[7].curve.val_loss[1]));
  assert_int_equal(s->npoints, 4);
  assert_int_equal(s->points[3].ntrials, 2);
  exp_study_free(s);
}

static void test_rank(void **state) {
  (void)state;
  ExpStudy *s = load_fixture();
  int order[8];
  /* final_val_acc, higher first: 2 3 5 1 0 4, then the diverged and failed trials by id */
  exp_rank(s, EXP_COL_FINAL_VAL_ACC, order);
  int want[] = {2, 3, 5, 1, 0, 4, 6, 7};
  for (int i = 0; i < 8; i++) assert_int_equal(order[i], want[i]);
  assert_int_equal(exp_best(s, EXP_COL_FINAL_VAL_ACC), 2);
  /* best_val_loss, lower first; the diverged trial has one but ranks after every ok trial */
  exp_rank(s, EXP_COL_BEST_VAL_LOSS, order);
  int want_loss[] = {2, 3, 1, 0, 5, 4, 7, 6}; /* then by value: 7 has one */
  for (int i = 0; i < 8; i++) assert_int_equal(order[i], want_loss[i]);
  ExpCol c;
  assert_true(exp_metric_parse("val_acc", &c) && c == EXP_COL_FINAL_VAL_ACC);
  assert_true(exp_metric_parse("test_acc_macro", &c) && c == EXP_COL_TEST_ACC_MACRO);
  assert_false(exp_metric_parse("val_ac", &c));
  assert_false(exp_col_higher_better(EXP_COL_MEAN_EPOCH_SECONDS));
  exp_study_free(s);
}

static void test_point_stat(void **state) {
  (void)state;
  ExpStudy *s = load_fixture();
  double mean, sd;
  /* point 1: trials 2 and 3 (bs 64, lr 1e-2) */
  assert_int_equal(exp_point_stat(s, 1, EXP_COL_FINAL_VAL_ACC, &mean, &sd), 2);
  assert_true(fabs(mean - (0.491666667 + 0.483333333) / 2) < 1e-12);
  assert_true(fabs(sd - fabs(0.491666667 - 0.483333333) / sqrt(2)) < 1e-12);
  /* point 3: one failed, one diverged: no value */
  assert_int_equal(exp_point_stat(s, 3, EXP_COL_FINAL_VAL_ACC, &mean, &sd), 0);
  assert_true(isnan(mean) && isnan(sd));
  exp_study_free(s);
}

static void test_html_escape(void **state) {
  (void)state;
  StrBuf sb;
  sb_init(&sb);
  sb_put_html(&sb, "<a href=\"x\">&'</a> \xCE\xB1 \xFF\xC0\x80 e\x01");
  assert_string_equal(sb_str(&sb), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt; \xCE\xB1 "
                                   "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD e&#xFFFD;");
  sb_free(&sb);
}

/* ---- files ---- */

static void test_golden_page(void **state) {
  (void)state;
  ExpStudy *s = load_fixture();
  ExpReportOpts o;
  exp_report_opts_default(&o);
  static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" height=\"8\"/>";
  ExpFigure fig = {"loss", "Train & validation loss", "A stub <figure>.", svg, sizeof svg - 1, false};
  StrBuf sb;
  sb_init(&sb);
  exp_report_html(&sb, s, &o, &fig, 1, "Figures stubbed by the test.");
  tl_check_golden("sweep_report.html", sb_str(&sb));
  sb_free(&sb);
  exp_study_free(s);
}

/* ---- scratch copies of the fixture ---- */

static char *scratch(void) {
  char *dir = strdup("/tmp/jscc-test-report-XXXXXX"), cmd[256];
  assert_non_null(mkdtemp(dir));
  snprintf(cmd, sizeof cmd, "cp -r test/data/sweep/. '%s'", dir);
  assert_int_equal(system(cmd), 0);
  return dir;
}

static void scratch_free(char *dir) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
  free(dir);
}

static bool exists(const char *dir, const char *name) {
  char p[512];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return stat(p, &st) == 0;
}

static void check_png(const char *path) {
  size_t n;
  char *b = tl_read(path, &n);
  assert_non_null(b);
  assert_true(n > 1000);
  assert_memory_equal(b, "\x89PNG\r\n\x1a\n", 8);
  free(b);
}

static void check_svg(const char *path) {
  size_t n;
  char *b = tl_read(path, &n);
  assert_non_null(b);
  assert_non_null(strstr(b, "<svg"));
  assert_non_null(strstr(b + n - 16, "</svg>"));
  free(b);
}

/* The whole report: the page, and each figure's SVG and PNG well-formed. */
static void test_report_files(void **state) {
  (void)state;
  char *dir = scratch();
  Diag d;
  diag_init(&d, stderr);
  ExpReportOpts o;
  exp_report_opts_default(&o);
  const char *dirs[] = {dir};
  assert_int_equal(exp_report(dirs, 1, &o, &d), JS_OK);
  assert_true(exists(dir, "report.html"));
  static const char *const figs[] = {"epoch_time", "val_acc_by_batch_size", "acc_by_lr", "val_acc_heatmap", "loss"};
  for (int i = 0; i < 5 && exp_plot_available(); i++) {
    char p[512];
    snprintf(p, sizeof p, "%s/figures/%s.png", dir, figs[i]);
    check_png(p);
    snprintf(p, sizeof p, "%s/figures/%s.svg", dir, figs[i]);
    check_svg(p);
  }
  assert_false(exists(dir, "figures/accuracy.svg")); /* lr is swept: the per-lr figure instead */
  diag_free(&d);
  scratch_free(dir);
}

/* PLplot failing (its output file cannot be opened) is an error, not an exit, and the next
 * report in the same process draws normally. */
static void test_plot_error(void **state) {
  (void)state;
  if (!exp_plot_available()) skip();
  char *dir = scratch(), p[512];
  snprintf(p, sizeof p, "%s/figures/.loss.svg.tmp", dir);
  assert_true(ir_mkdir_p(p, 0777)); /* a directory where the figure's file should go */
  Diag d;
  diag_init(&d, NULL);
  ExpReportOpts o;
  exp_report_opts_default(&o);
  const char *dirs[] = {dir};
  assert_int_equal(exp_report(dirs, 1, &o, &d), JS_EIO);
  assert_non_null(strstr(sb_str(&d.text), "PLplot (svgcairo) could not draw"));
  assert_false(exists(dir, "report.html"));
  rmdir(p);
  assert_int_equal(exp_report(dirs, 1, &o, &d), JS_OK);
  snprintf(p, sizeof p, "%s/figures/loss.png", dir);
  check_png(p);
  diag_free(&d);
  scratch_free(dir);
}

/* ---- malformed input ---- */

/* Replace the first `old` in DIR/NAME by `new`. */
static void edit(const char *dir, const char *name, const char *old, const char *new) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  size_t n;
  char *text = tl_read(p, &n), *at = text ? strstr(text, old) : NULL;
  assert_non_null(at);
  char *out = malloc(n + strlen(new) + 1);
  sprintf(out, "%.*s%s%s", (int)(at - text), text, new, at + strlen(old));
  tl_write(p, out, strlen(out));
  free(out);
  free(text);
}

/* exp_report fails with a message holding each of want[], and writes nothing. */
static void expect_error(const char *dir, const char *want1, const char *want2) {
  Diag d;
  diag_init(&d, NULL);
  ExpReportOpts o;
  exp_report_opts_default(&o);
  const char *dirs[] = {dir};
  assert_int_not_equal(exp_report(dirs, 1, &o, &d), JS_OK);
  const char *msg = sb_str(&d.text);
  if (!strstr(msg, want1) || (want2 && !strstr(msg, want2))) fail_msg("want '%s' and '%s' in: %s", want1, want2, msg);
  assert_false(exists(dir, "report.html"));
  assert_false(exists(dir, "figures"));
  diag_free(&d);
}

typedef struct BadCase {
  const char *file, *old, *new; /* the edit */
  const char *want1, *want2;    /* in the message */
} BadCase;

static const BadCase bad_cases[] = {
    {"results.csv", ",ok,3,1.39607964", ",okay,3,1.39607964", "results.csv:4:", "status: expected ok, diverged or failed, got 'okay'"},
    {"results.csv", "1.52489382", "1.5x", "results.csv:3:", "column 'best_val_loss': expected a number, got '1.5x'"},
    {"results.csv", ",117,trials/000", ",trials/000", "results.csv:2:1:", "expected 17 fields (as the header has), got 16"},
    {"results.csv", "id,model,batch_size,lr", "id,model,lr,batch_size", "results.csv:1:", "expected the axis column 'batch_size'"},
    {"results.csv", "\n1,JSC_Tiny,64", "\n9,JSC_Tiny,64", "results.csv:3:", "no trial '9' in sweep.json"},
    {"results.csv", "\n1,JSC_Tiny,64,1e-3", "\n1,JSC_Tiny,64,1e-4", "results.csv:3:", "trial 1 has lr '1e-3' in sweep.json, not '1e-4'"},
    {"results.csv", ",status,", ",state,", "results.csv:1:", "missing column 'status'"},
    {"sweep.json", "\"option\": \"--lr\"", "\"option\": 5", "sweep.json:", "'axes[1].option': expected a string"},
    {"sweep.json", "\"model\": 0, \"values\": {\"batch_size\": \"64\", \"lr\": \"1e-3\", \"seed\": \"1\"}",
     "\"model\": 3, \"values\": {\"batch_size\": \"64\", \"lr\": \"1e-3\", \"seed\": \"1\"}", "sweep.json:",
     "'trials[1].model': expected an index into 'models' (0 to 0)"},
    {"sweep.json", "\"id\": 1,", "\"id\": 0,", "sweep.json:", "trial id 0 appears twice"},
    {"sweep.json", "\"seed\": \"1\"}", "\"sed\": \"1\"}", "sweep.json:", "'trials[1].values.seed': expected a string, found none"},
    {"sweep.json", "\"version\": 1,", "\"version\": 1,,", "sweep.json:2:", NULL},
    {"trials/001-JSC_Tiny-bs64-lr1e-3-seed1/metrics.csv", "\n2,", "\n5,", "metrics.csv:3:1: error: expected epoch 2, got '5'", NULL},
    {"trials/001-JSC_Tiny-bs64-lr1e-3-seed1/metrics.csv", "val_acc", "val_accuracy", "metrics.csv:1:", "missing column 'val_acc'"},
};

static void test_malformed(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
    const BadCase *c = &bad_cases[i];
    char *dir = scratch();
    edit(dir, c->file, c->old, c->new);
    expect_error(dir, c->want1, c->want2);
    scratch_free(dir);
  }
}

static void test_not_a_study(void **state) {
  (void)state;
  char *dir = scratch();
  char sub[512];
  snprintf(sub, sizeof sub, "%s/trials", dir);
  expect_error(sub, "is neither a sweep (sweep.json) nor a run directory (metrics.csv, manifest.json)", NULL);
  snprintf(sub, sizeof sub, "%s/nope", dir);
  expect_error(sub, "/nope': not a directory", NULL);
  scratch_free(dir);
}

/* CSV as other writers may give it: quoted fields ("" a quote), CRLF, blank lines. */
static void test_csv_forms(void **state) {
  (void)state;
  char *dir = scratch();
  edit(dir, "results.csv", ",trials/000-JSC_Tiny-bs64-lr1e-3-seed0\n", ",\"trials/000-JSC_Tiny-bs64-lr1e-3-seed0\"\r\n\n");
  edit(dir, "results.csv", "\n1,JSC_Tiny,64,1e-3,1,ok,", "\n1,\"JSC_Tiny\",\"64\",1e-3,1,\"ok\",");
  Diag d;
  diag_init(&d, NULL);
  ExpStudy *s;
  const char *dirs[] = {dir};
  assert_int_equal(exp_study_load(dirs, 1, &s, &d), JS_OK);
  assert_string_equal(s->trials[1].status, "ok");
  assert_true(s->trials[1].res[EXP_COL_BEST_VAL_LOSS] == 1.52489382);
  exp_study_free(s);
  edit(dir, "results.csv", "\"ok\"", "\"o\"\"k\"");
  assert_int_not_equal(exp_study_load(dirs, 1, &s, &d), JS_OK);
  assert_non_null(strstr(sb_str(&d.text), "got 'o\"k'"));
  diag_free(&d);
  scratch_free(dir);
}

/* One run directory: a study of one trial whose results come from its metrics.csv. */
static void test_run_dir(void **state) {
  (void)state;
  const char *dirs[] = {"test/data/sweep/trials/000-JSC_Tiny-bs64-lr1e-3-seed0",
                        "test/data/sweep/trials/007-JSC_Tiny-bs256-lr1e-2-seed1"};
  Diag d;
  diag_init(&d, stderr);
  ExpStudy *s;
  assert_int_equal(exp_study_load(dirs, 1, &s, &d), JS_OK);
  assert_false(s->sweep);
  assert_int_equal(s->ntrials, 1);
  assert_int_equal(s->naxes, 0);
  assert_string_equal(s->trials[0].model, "JSC_Tiny");
  assert_string_equal(s->trials[0].status, "ok");
  assert_true(s->trials[0].res[EXP_COL_BEST_EPOCH] == 3);
  assert_true(s->trials[0].res[EXP_COL_PARAMS] == 117);
  assert_non_null(strstr(s->command, "jscc train"));
  exp_study_free(s);
  /* with the diverged run (no manifest): diverged, best epoch the last finite one */
  assert_int_equal(exp_study_load(dirs, 2, &s, &d), JS_OK);
  assert_string_equal(s->trials[1].status, "diverged");
  assert_true(s->trials[1].res[EXP_COL_BEST_EPOCH] == 1);
  exp_study_free(s);
  diag_free(&d);
}

/* Every allocation of loading and rendering fails in turn: reported, never a crash or leak. */
static void test_oom(void **state) {
  (void)state;
  check_report_oom(fixture, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read_sweep),  cmocka_unit_test(test_rank),        cmocka_unit_test(test_point_stat),
      cmocka_unit_test(test_html_escape), cmocka_unit_test(test_golden_page), cmocka_unit_test(test_report_files), cmocka_unit_test(test_plot_error),
      cmocka_unit_test(test_malformed),   cmocka_unit_test(test_not_a_study), cmocka_unit_test(test_csv_forms), cmocka_unit_test(test_run_dir),
      cmocka_unit_test(test_oom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
