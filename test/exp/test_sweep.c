/* test_sweep.c — the sweep's pieces without training: axes from lists and ranges, the grid's
 * order and trial directories, --random's repeatable draws, sweep.json written and read
 * back, the journal (a torn tail cut off, a bad line located), and results.csv/summary.csv
 * from results (quoting, empty values, mean and standard deviation over seeds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <math.h>

#include "exp.h"

static char dir[64];

static ExpSweep *sweep_of(const char *const *opts, const unsigned *flags, int n) {
  ExpSweep *sw;
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(exp_sweep_new(&sw, &d), JS_OK);
  sw->nmodels = 1;
  sw->models = arena_alloc(sw->a, sizeof *sw->models);
  sw->models[0].path = "m.jsc";
  sw->models[0].name = "M";
  sw->fixed = arena_alloc(sw->a, 2 * sizeof *sw->fixed);
  sw->fixed[sw->nfixed++] = "--max-epochs";
  sw->fixed[sw->nfixed++] = "2";
  for (int i = 0; i < n; i++) {
    bool axis;
    assert_int_equal(exp_axis_parse(sw, opts[2 * i], opts[2 * i + 1], flags[i], &axis, &d), JS_OK);
    assert_true(axis);
  }
  diag_free(&d);
  return sw;
}

static void test_ranges(void **state) {
  (void)state;
  const char *opts[] = {"--batch-size", "log:64:2048:6", "--max-epochs", "lin:5:25:5", "--lr", "log:1e-6:1e-2:5"};
  unsigned flags[] = {EXP_OPT_INT, EXP_OPT_INT, EXP_OPT_REAL | EXP_OPT_RATE};
  ExpSweep *sw = sweep_of(opts, flags, 3);
  const char *bs[] = {"64", "128", "256", "512", "1024", "2048"}, *ep[] = {"5", "10", "15", "20", "25"},
             *lr[] = {"1e-06", "1e-05", "0.0001", "0.001", "0.01"};
  assert_int_equal(sw->axes[0].n, 6);
  for (int i = 0; i < 6; i++) assert_string_equal(sw->axes[0].values[i], bs[i]);
  for (int i = 0; i < 5; i++) assert_string_equal(sw->axes[1].values[i], ep[i]);
  for (int i = 0; i < 5; i++) assert_string_equal(sw->axes[2].values[i], lr[i]);
  assert_string_equal(sw->axes[0].name, "batch_size");
  exp_sweep_free(sw);
}

static void test_bad_axes(void **state) {
  (void)state;
  ExpSweep *sw;
  Diag d;
  diag_init(&d, NULL);
  exp_sweep_new(&sw, &d);
  bool axis;
  assert_int_equal(exp_axis_parse(sw, "--lr", "log:0:1:3", EXP_OPT_REAL, &axis, &d), JS_ERR);
  assert_int_equal(exp_axis_parse(sw, "--lr", "lin:1:2", EXP_OPT_REAL, &axis, &d), JS_ERR);
  assert_int_equal(exp_axis_parse(sw, "--optimizer", "lin:1:2:3", 0, &axis, &d), JS_ERR);
  assert_int_equal(exp_axis_parse(sw, "--lr", "1e-3,,1e-2", EXP_OPT_REAL, &axis, &d), JS_ERR);
  assert_int_equal(exp_axis_parse(sw, "--lr", "1e-3", EXP_OPT_REAL, &axis, &d), JS_OK);
  assert_false(axis);
  assert_non_null(strstr(sb_str(&d.text), "a log range needs FROM and TO above 0"));
  diag_free(&d);
  exp_sweep_free(sw);
}

/* Models outermost, the last axis fastest; argv is the trial's train command. */
static void test_grid(void **state) {
  (void)state;
  const char *opts[] = {"--batch-size", "64,256", "--lr", "1e-3,1e-2,0.1"};
  unsigned flags[] = {EXP_OPT_INT, EXP_OPT_REAL | EXP_OPT_RATE};
  ExpSweep *sw = sweep_of(opts, flags, 2);
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(exp_sweep_expand(sw, 0, 0, &d), JS_OK);
  assert_int_equal(sw->ntrials, 6);
  assert_string_equal(sw->trials[1].dir, "trials/001-bs64-lr1e-2");
  assert_string_equal(sw->trials[5].dir, "trials/005-bs256-lr0.1");
  const ExpTrial *t = &sw->trials[4];
  const char *want[] = {"jscc", "train", "m.jsc", "--max-epochs", "2", "--batch-size", "256", "--lr", "1e-2"};
  assert_int_equal(t->argc, 9);
  for (int i = 0; i < 9; i++) assert_string_equal(t->argv[i], want[i]);
  diag_free(&d);
  exp_sweep_free(sw);
}

/* --random: the same draws from the same seed, inside the ranges, repeats sharing a point. */
static void test_random(void **state) {
  (void)state;
  const char *opts[] = {"--lr", "log:1e-5:1e-1:3", "--batch-size", "64,256,1024", "--seed", "0,1"};
  unsigned flags[] = {EXP_OPT_REAL | EXP_OPT_RATE, EXP_OPT_INT, EXP_OPT_INT};
  ExpSweep *a = sweep_of(opts, flags, 3), *b = sweep_of(opts, flags, 3);
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(exp_sweep_expand(a, 5, 7, &d), JS_OK);
  assert_int_equal(exp_sweep_expand(b, 5, 7, &d), JS_OK);
  assert_int_equal(a->ntrials, 10);
  for (int t = 0; t < 10; t++) {
    for (int i = 0; i < 3; i++) assert_string_equal(a->trials[t].values[i], b->trials[t].values[i]);
    double lr = atof(a->trials[t].values[0]);
    assert_true(lr >= 1e-5 && lr <= 1e-1);
    int64_t bs = atoll(a->trials[t].values[1]);
    assert_true(bs == 64 || bs == 256 || bs == 1024);
    assert_string_equal(a->trials[t].values[2], t % 2 ? "1" : "0");
    if (t % 2) assert_string_equal(a->trials[t].values[0], a->trials[t - 1].values[0]);
  }
  diag_free(&d);
  exp_sweep_free(a);
  exp_sweep_free(b);
}

static void test_sweep_json(void **state) {
  (void)state;
  const char *opts[] = {"--lr", "1e-3,1e-2", "--optimizer", "adam,sgd"};
  unsigned flags[] = {EXP_OPT_REAL | EXP_OPT_RATE, 0};
  ExpSweep *sw = sweep_of(opts, flags, 2), *back;
  sw->command = "jscc sweep m.jsc --lr '1e-3,1e-2'";
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(exp_sweep_expand(sw, 0, 0, &d), JS_OK);
  assert_int_equal(exp_sweep_write(sw, dir, &d), JS_OK);
  assert_int_equal(exp_sweep_read(dir, &back, &d), JS_OK);
  assert_int_equal(back->ntrials, 4);
  assert_int_equal(back->naxes, 2);
  assert_string_equal(back->command, sw->command);
  for (int t = 0; t < 4; t++) {
    assert_string_equal(back->trials[t].dir, sw->trials[t].dir);
    assert_int_equal(back->trials[t].argc, sw->trials[t].argc);
    for (int i = 0; i < sw->trials[t].argc; i++) assert_string_equal(back->trials[t].argv[i], sw->trials[t].argv[i]);
  }
  diag_free(&d);
  exp_sweep_free(sw);
  exp_sweep_free(back);
}

static Status count_lines(void *ud, const JVal *ev, const char *path, int line, Diag *d) {
  (void)ev, (void)path, (void)line, (void)d;
  (*(int *)ud)++;
  return JS_OK;
}

/* A torn tail is ignored by the reader and cut off by the next open; a bad complete line is
 * an error that names it. */
static void test_journal(void **state) {
  (void)state;
  char path[128];
  snprintf(path, sizeof path, "%s/journal.jsonl", dir);
  FILE *f = fopen(path, "w");
  fputs("{\"ev\":\"sweep\"}\n{\"ev\":\"begin\",\"trial\":0}\n{\"ev\":\"end\",\"tr", f);
  fclose(f);
  Diag d;
  diag_init(&d, NULL);
  int n = 0;
  assert_int_equal(exp_journal_read(path, count_lines, &n, &d), JS_OK);
  assert_int_equal(n, 2);
  ExpJournal *j;
  assert_int_equal(exp_journal_open(path, &j, &d), JS_OK);
  assert_int_equal(exp_journal_append(j, "{\"ev\":\"end\",\"trial\":0}\n", &d), JS_OK);
  exp_journal_close(j);
  n = 0;
  assert_int_equal(exp_journal_read(path, count_lines, &n, &d), JS_OK);
  assert_int_equal(n, 3);
  f = fopen(path, "a");
  fputs("[1,2]\n", f);
  fclose(f);
  assert_int_equal(exp_journal_read(path, count_lines, &n, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "journal.jsonl:4: a journal line must be a JSON object"));
  diag_free(&d);
}

/* An end event round-trips through its journal line. */
static void test_result_json(void **state) {
  (void)state;
  ExpResult r, back;
  exp_result_init(&r);
  r.status = EXP_DIVERGED;
  r.epochs = 3;
  r.diverged_epoch = 4;
  r.best_epoch = 2;
  r.best_val_acc = 0.1 + 0.2;
  snprintf(r.error, sizeof r.error, "a \"quoted\" error");
  StrBuf sb;
  sb_init(&sb);
  exp_result_json(&sb, 7, &r);
  Arena *a = arena_new();
  JVal v;
  JsonError je;
  Diag d;
  diag_init(&d, NULL);
  assert_true(json_parse(a, sb_str(&sb), sb.len - 1, NULL, &v, &je));
  assert_int_equal(exp_result_parse(&v, &back, "here", &d), JS_OK);
  assert_int_equal(back.status, EXP_DIVERGED);
  assert_int_equal(back.diverged_epoch, 4);
  assert_true(back.best_val_acc == r.best_val_acc);
  assert_true(isnan(back.test_acc));
  assert_string_equal(back.error, r.error);
  diag_free(&d);
  arena_free(a);
  sb_free(&sb);
}

static char *slurp(const char *path) {
  static char buf[8192];
  FILE *f = fopen(path, "r");
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  return buf;
}

static void test_results_csv(void **state) {
  (void)state;
  const char *opts[] = {"--optimizer", "adam,x\"y", "--seed", "0,1"};
  unsigned flags[] = {0, EXP_OPT_INT};
  ExpSweep *sw = sweep_of(opts, flags, 2);
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(exp_sweep_expand(sw, 0, 0, &d), JS_OK);
  ExpResult res[4];
  for (int t = 0; t < 4; t++) {
    exp_result_init(&res[t]);
    res[t].status = EXP_OK;
    res[t].best_val_acc = 0.5 + 0.1 * t;
    res[t].best_epoch = 1;
  }
  res[3].status = EXP_FAILED;
  res[3].best_val_acc = NAN;
  assert_int_equal(exp_results_write(sw, res, dir, &d), JS_OK);
  char path[128];
  snprintf(path, sizeof path, "%s/results.csv", dir);
  const char *csv = slurp(path);
  assert_non_null(strstr(csv, "\n2,M,\"x\"\"y\",0,ok,1,,0.7,"));
  assert_non_null(strstr(csv, "\n3,M,\"x\"\"y\",1,failed,1,,,"));
  snprintf(path, sizeof path, "%s/summary.csv", dir);
  csv = slurp(path);
  /* adam: 0.5 and 0.6 -> mean 0.55, sd 0.0707...; x"y: one ok trial -> no sd */
  assert_non_null(strstr(csv, "\nM,adam,2,2,,,0.55,0.0707106781,"));
  assert_non_null(strstr(csv, "\nM,\"x\"\"y\",2,1,,,0.7,,"));
  diag_free(&d);
  exp_sweep_free(sw);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/jscc_test_sweep_XXXXXX");
  if (!mkdtemp(dir)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ranges),      cmocka_unit_test(test_bad_axes),   cmocka_unit_test(test_grid),
      cmocka_unit_test(test_random),      cmocka_unit_test(test_sweep_json), cmocka_unit_test(test_journal),
      cmocka_unit_test(test_result_json), cmocka_unit_test(test_results_csv),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd)) rc = rc ? rc : 1;
  return rc;
}
