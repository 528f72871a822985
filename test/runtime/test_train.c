/* test_train.c — the training and evaluation loops (runtime/train.c) on examples/jsc_tiny.jsc
 * and 5000 synthetic jets: the loss goes down with either engine; the jit's first epoch
 * agrees with the reference executor's; a seed fixes a run to the bit (metrics and checkpoint
 * bytes); a run stopped after 2 epochs and resumed to 4 ends with the bytes of an
 * uninterrupted 4-epoch run; rt_test's loss, accuracy and confusion matrix; the run
 * directory's files, its lock, the settings check on resume and the restart of a run that
 * committed no epoch; errors.  The jit parts skip when jscc was built without LLVM. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "frontend.h"
#include "passes.h"
#include "runtime.h"

#define TINY_JSC "examples/jsc_tiny.jsc"

/* What every test shares: the model twice (after shape; after shape,grad), the data. */
static Arena *files;
static Program *prog_fwd, *prog_train;
static Graph *fwd, *train;
static RtDataset ds;
static char tmp[64] = "/tmp/jscc_train_XXXXXX";
static uint64_t model_hash;

static Status run_passes(const char *text, Graph *g, Diag *d) {
  Pipeline *pl = NULL;
  Status st = pass_pipeline_parse(text, &pl, d);
  PassContext ctx = {.diag = d};
  if (!st) st = pass_pipeline_run(pl, g, &ctx);
  pass_pipeline_free(pl);
  return st;
}

static int setup(void **state) {
  (void)state;
  if (!mkdtemp(tmp)) return -1;
  Diag d;
  diag_init(&d, stderr);
  SrcFile *src;
  files = arena_new();
  if (!files || diag_read_file(files, TINY_JSC, &src, &d) || fe_parse(src, &prog_fwd, &d) ||
      fe_parse(src, &prog_train, &d))
    return -1;
  model_hash = rt_hash64(src->text, src->len);
  fwd = prog_fwd->graphs[0];
  train = prog_train->graphs[0];
  if (run_passes("shape", fwd, &d) || run_passes("shape,grad", train, &d)) return -1;
  RtDataOpts o;
  rt_data_opts_default(&o);
  o.synth_n = 5000;
  char cache[128];
  snprintf(cache, sizeof cache, "%s/cache", tmp);
  o.cache_dir = cache;
  if (rt_data_load(&o, &ds, &d)) return -1;
  diag_free(&d);
  return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

static int teardown(void **state) {
  (void)state;
  rt_data_free(&ds);
  ir_program_free(prog_fwd);
  ir_program_free(prog_train);
  arena_free(files);
  nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}

/* ---- helpers ---- */

static RtTrainConfig config(RtEngineKind engine, int64_t epochs, const char *out) {
  RtTrainConfig c;
  rt_train_config_default(&c);
  c.fwd = fwd;
  c.train = train;
  c.model_path = TINY_JSC;
  c.model_hash = model_hash;
  c.dataset = &ds;
  c.max_epochs = epochs;
  c.engine = engine;
  c.out_dir = out;
  c.batch_size = 256;
  return c;
}

static const char *dir(const char *name) {
  static char buf[4][256];
  static int k;
  char *b = buf[k++ % 4];
  snprintf(b, sizeof buf[0], "%s/%s", tmp, name);
  return b;
}

/* A whole file; *len gets its size.  The caller frees. */
static char *slurp(const char *d, const char *name, size_t *len) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", d, name);
  FILE *f = fopen(p, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  size_t got = fread(b, 1, (size_t)n, f);
  fclose(f);
  b[got] = 0;
  if (len) *len = got;
  return b;
}

static void assert_same_file(const char *a, const char *b, const char *name) {
  size_t na, nb;
  char *x = slurp(a, name, &na), *y = slurp(b, name, &nb);
  assert_non_null(x);
  assert_non_null(y);
  if (na != nb || memcmp(x, y, na) != 0) fail_msg("%s differs between %s and %s", name, a, b);
  free(x);
  free(y);
}

/* metrics.csv without its timing columns (epoch_seconds, samples_per_second, train_seconds). */
static char *metrics_untimed(const char *d) {
  char *s = slurp(d, "metrics.csv", NULL);
  assert_non_null(s);
  char *out = malloc(strlen(s) + 1), *o = out;
  for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
    int commas = 0;
    for (char *p = line; *p; p++) {
      if (*p == ',' && ++commas == 6) break;
      *o++ = *p;
    }
    *o++ = '\n';
  }
  *o = 0;
  free(s);
  return out;
}

static Status train_quiet(const RtTrainConfig *c, RtTrainResult *r) {
  Diag d;
  diag_init(&d, stderr);
  Status st = rt_train(c, r, &d);
  diag_free(&d);
  return st;
}

static double rel(double a, double b) { return fabs(a - b) / fmax(fabs(b), 1e-12); }

/* ---- tests ---- */

static void test_ref_learns(void **state) {
  (void)state;
  RtTrainConfig c = config(RT_ENGINE_REF, 3, dir("ref3"));
  RtTrainResult r;
  assert_int_equal(train_quiet(&c, &r), JS_OK);
  assert_int_equal(r.engine, RT_ENGINE_REF);
  assert_int_equal(r.epochs, 3);
  assert_int_equal(r.steps, 3 * ((ds.train.n + 255) / 256));
  /* the CSV: a header and one row per epoch, losses going down */
  char *csv = slurp(c.out_dir, "metrics.csv", NULL);
  assert_non_null(csv);
  static const char header[] = "epoch,train_loss,train_acc,val_loss,val_acc,lr,epoch_seconds,samples_per_second,train_seconds\n";
  assert_true(strncmp(csv, header, sizeof header - 1) == 0);
  double tl[3], vl[3];
  const char *p = strchr(csv, '\n') + 1;
  for (int i = 0; i < 3; i++) {
    int ep;
    double ta, va, lr;
    assert_int_equal(sscanf(p, "%d,%lf,%lf,%lf,%lf,%lf", &ep, &tl[i], &ta, &vl[i], &va, &lr), 6);
    assert_int_equal(ep, i + 1);
    assert_true(ta > 0 && ta < 1 && va > 0 && va < 1);
    assert_true(fabs(lr - rt_sched_lr(&(SchedConfig){.kind = SCHED_COSINE, .t_max = 3, .eta_min = 1e-6}, 1e-3, i)) < 1e-12);
    p = strchr(p, '\n') + 1;
  }
  assert_true(*p == 0);
  printf("ref: train loss %.4f %.4f %.4f  val loss %.4f %.4f %.4f\n", tl[0], tl[1], tl[2], vl[0], vl[1], vl[2]);
  assert_true(tl[2] < tl[1] && tl[1] < tl[0]);
  assert_true(vl[2] < vl[0]);
  assert_true(r.train_loss == r.train_loss && fabs(r.train_loss - tl[2]) < 1e-6);
  free(csv);
  /* the other files of the run directory */
  assert_true(access(dir("ref3/best.safetensors"), R_OK) == 0);
  assert_true(access(dir("ref3/last.safetensors"), R_OK) == 0);
  assert_true(access(dir("ref3/last.optim.safetensors"), R_OK) == 0);
  char *man = slurp(c.out_dir, "manifest.json", NULL);
  assert_non_null(man);
  assert_non_null(strstr(man, "\"engine\": \"ref\""));
  assert_non_null(strstr(man, "\"synthetic\": true"));
  assert_non_null(strstr(man, "\"optimizer\": \"adam\""));
  assert_non_null(strstr(man, "\"jscc_version\": \"" JSCC_VERSION "\""));
  free(man);
}

/* The jit and the reference executor see the same batches: their first epochs agree. */
static void test_jit_matches_ref(void **state) {
  (void)state;
  if (!cg_llvm_available()) skip();
  RtTrainConfig cr = config(RT_ENGINE_REF, 1, dir("cmp_ref")), cj = config(RT_ENGINE_JIT, 1, dir("cmp_jit"));
  RtTrainResult rr, rj;
  assert_int_equal(train_quiet(&cr, &rr), JS_OK);
  assert_int_equal(train_quiet(&cj, &rj), JS_OK);
  assert_int_equal(rj.engine, RT_ENGINE_JIT);
  printf("epoch 1 ref: %.8f %.6f %.8f %.6f\n", rr.train_loss, rr.train_acc, rr.val_loss, rr.val_acc);
  printf("epoch 1 jit: %.8f %.6f %.8f %.6f\n", rj.train_loss, rj.train_acc, rj.val_loss, rj.val_acc);
  assert_true(rel(rj.train_loss, rr.train_loss) < 1e-4);
  assert_true(rel(rj.val_loss, rr.val_loss) < 1e-4);
  /* accuracies count rows: allow a row or two flipped by rounding at a tie */
  assert_true(fabs(rj.train_acc - rr.train_acc) <= 2.0 / (double)ds.train.n);
  assert_true(fabs(rj.val_acc - rr.val_acc) <= 2.0 / (double)ds.val.n);
  /* and the jit learns too */
  RtTrainConfig c3 = config(RT_ENGINE_JIT, 3, dir("jit3"));
  RtTrainResult r3;
  assert_int_equal(train_quiet(&c3, &r3), JS_OK);
  assert_true(r3.train_loss < rj.train_loss);
}

/* Two runs with one seed: the same metrics (timings aside) and checkpoint bytes. */
static void check_determinism(RtEngineKind engine, const char *a, const char *b) {
  RtTrainConfig c1 = config(engine, 2, dir(a)), c2 = config(engine, 2, dir(b));
  c1.seed = c2.seed = 7;
  RtTrainResult r1, r2;
  assert_int_equal(train_quiet(&c1, &r1), JS_OK);
  assert_int_equal(train_quiet(&c2, &r2), JS_OK);
  char *m1 = metrics_untimed(c1.out_dir), *m2 = metrics_untimed(c2.out_dir);
  assert_string_equal(m1, m2);
  free(m1);
  free(m2);
  assert_same_file(c1.out_dir, c2.out_dir, "best.safetensors");
  assert_same_file(c1.out_dir, c2.out_dir, "last.safetensors");
  assert_same_file(c1.out_dir, c2.out_dir, "last.optim.safetensors");
}

static void test_determinism_ref(void **state) {
  (void)state;
  check_determinism(RT_ENGINE_REF, "det_ref_a", "det_ref_b");
}

static void test_determinism_jit(void **state) {
  (void)state;
  if (!cg_llvm_available()) skip();
  check_determinism(RT_ENGINE_JIT, "det_jit_a", "det_jit_b");
}

/* Through the kernel cache, first a miss and then a hit, a run is the run without it, byte
 * for byte; the cache keeps the training and the evaluation kernel. */
static void test_kernel_cache_jit(void **state) {
  (void)state;
  if (!cg_llvm_available()) skip();
  char kc[256], sub[300];
  snprintf(kc, sizeof kc, "%s", dir("kernel_cache"));
  RtTrainConfig c[3] = {config(RT_ENGINE_JIT, 2, dir("kc_none")), config(RT_ENGINE_JIT, 2, dir("kc_miss")),
                        config(RT_ENGINE_JIT, 2, dir("kc_hit"))};
  for (int i = 0; i < 3; i++) {
    c[i].seed = 5;
    c[i].kernel_cache = i ? kc : NULL;
    char *log = NULL;
    size_t loglen = 0;
    c[i].log = open_memstream(&log, &loglen);
    RtTrainResult r;
    assert_int_equal(train_quiet(&c[i], &r), JS_OK);
    fclose(c[i].log);
    /* the engine line says where the kernels came from */
    assert_true((strstr(log, "loaded from the kernel cache in") != NULL) == (i == 2));
    free(log);
  }
  for (int i = 1; i < 3; i++) {
    char *m0 = metrics_untimed(c[0].out_dir), *m = metrics_untimed(c[i].out_dir);
    assert_string_equal(m0, m);
    free(m0), free(m);
    assert_same_file(c[0].out_dir, c[i].out_dir, "last.safetensors");
    assert_same_file(c[0].out_dir, c[i].out_dir, "last.optim.safetensors");
  }
  snprintf(sub, sizeof sub, "%s/kernels", kc);
  DIR *dp = opendir(sub);
  assert_non_null(dp);
  int n = 0;
  for (struct dirent *e; (e = readdir(dp));) n += e->d_name[0] != '.';
  closedir(dp);
  assert_int_equal(n, 2);
}

/* Another seed, other weights. */
static void test_seed_matters(void **state) {
  (void)state;
  RtTrainConfig c1 = config(RT_ENGINE_REF, 1, dir("seed1")), c2 = config(RT_ENGINE_REF, 1, dir("seed2"));
  c1.seed = 1;
  c2.seed = 2;
  RtTrainResult r1, r2;
  assert_int_equal(train_quiet(&c1, &r1), JS_OK);
  assert_int_equal(train_quiet(&c2, &r2), JS_OK);
  size_t n1, n2;
  char *x = slurp(c1.out_dir, "last.safetensors", &n1), *y = slurp(c2.out_dir, "last.safetensors", &n2);
  assert_true(n1 == n2 && memcmp(x, y, n1) != 0);
  free(x);
  free(y);
}

/* 2 epochs, then --resume to 4, against 4 straight: the same bytes and the same metrics. */
static void check_resume(RtEngineKind engine, const char *full, const char *part) {
  RtTrainConfig cf = config(engine, 4, dir(full));
  cf.optim.kind = OPTIM_ADAM;
  RtTrainResult rf, rp;
  assert_int_equal(train_quiet(&cf, &rf), JS_OK);

  RtTrainConfig cp = config(engine, 2, dir(part));
  cp.sched.t_max = 4; /* the uninterrupted run's schedule */
  assert_int_equal(train_quiet(&cp, &rp), JS_OK);
  assert_int_equal(rp.epochs, 2);
  RtTrainConfig cr = config(engine, 4, NULL);
  cr.resume_dir = dir(part);
  assert_int_equal(train_quiet(&cr, &rp), JS_OK);
  assert_int_equal(rp.epochs, 4);
  assert_int_equal(rp.steps, rf.steps);
  assert_true(rp.best_epoch == rf.best_epoch && rp.best_val_loss == rf.best_val_loss);
  assert_same_file(cf.out_dir, cr.resume_dir, "last.safetensors");
  assert_same_file(cf.out_dir, cr.resume_dir, "last.optim.safetensors");
  assert_same_file(cf.out_dir, cr.resume_dir, "best.safetensors");
  char *m1 = metrics_untimed(cf.out_dir), *m2 = metrics_untimed(cr.resume_dir);
  assert_string_equal(m1, m2);
  free(m1);
  free(m2);
  char *man = slurp(cr.resume_dir, "manifest.json", NULL);
  assert_non_null(strstr(man, "\"resumed_from_epoch\": 2"));
  free(man);
  /* resuming a finished run does nothing */
  assert_int_equal(train_quiet(&cr, &rp), JS_OK);
  assert_int_equal(rp.epochs, 4);
  assert_same_file(cf.out_dir, cr.resume_dir, "last.safetensors");
}

static void test_resume_ref(void **state) {
  (void)state;
  check_resume(RT_ENGINE_REF, "res_ref_full", "res_ref_part");
}

static void test_resume_jit(void **state) {
  (void)state;
  if (!cg_llvm_available()) skip();
  check_resume(RT_ENGINE_JIT, "res_jit_full", "res_jit_part");
}

/* SGD with momentum and the step schedule run too, and resume with their state. */
static void test_sgd_resume(void **state) {
  (void)state;
  RtTrainConfig cf = config(RT_ENGINE_REF, 3, dir("sgd_full"));
  rt_optim_default(&cf.optim, OPTIM_SGD);
  cf.optim.lr = 0.05;
  cf.optim.momentum = 0.9;
  cf.optim.nesterov = true;
  cf.sched.kind = SCHED_STEP;
  cf.sched.step_size = 1;
  cf.sched.gamma = 0.5;
  RtTrainResult rf, rp;
  assert_int_equal(train_quiet(&cf, &rf), JS_OK);
  RtTrainConfig cp = cf;
  cp.max_epochs = 1;
  cp.out_dir = dir("sgd_part");
  assert_int_equal(train_quiet(&cp, &rp), JS_OK);
  RtTrainConfig cr = cf;
  cr.out_dir = NULL;
  cr.resume_dir = dir("sgd_part");
  assert_int_equal(train_quiet(&cr, &rp), JS_OK);
  assert_same_file(cf.out_dir, cr.resume_dir, "last.safetensors");
  assert_same_file(cf.out_dir, cr.resume_dir, "last.optim.safetensors");
  /* resuming with another optimizer is refused by the optimizer-state loader */
  RtTrainConfig bad = cr;
  bad.max_epochs = 5;
  rt_optim_default(&bad.optim, OPTIM_ADAM);
  Diag d;
  diag_init(&d, NULL);
  assert_int_not_equal(rt_train(&bad, &rp, &d), JS_OK);
  diag_free(&d);
}

/* rt_test: the confusion matrix adds up to the test split, its trace to the accuracy; both
 * engines agree. */
static void test_eval(void **state) {
  (void)state;
  RtTrainConfig c = config(RT_ENGINE_AUTO, 2, dir("eval"));
  RtTrainResult r;
  assert_int_equal(train_quiet(&c, &r), JS_OK);
  RtTestConfig t;
  rt_test_config_default(&t);
  t.fwd = fwd;
  t.train = train;
  t.ckpt = dir("eval/best.safetensors");
  t.dataset = &ds;
  RtEvalResult er[2];
  RtEngineKind engines[2] = {RT_ENGINE_REF, RT_ENGINE_JIT};
  int ne = cg_llvm_available() ? 2 : 1;
  for (int k = 0; k < ne; k++) {
    t.engine = engines[k];
    Diag d;
    diag_init(&d, stderr);
    assert_int_equal(rt_test(&t, &er[k], &d), JS_OK);
    diag_free(&d);
    assert_int_equal(er[k].engine, engines[k]);
    assert_int_equal(er[k].n, ds.test.n);
    int64_t sum = 0, trace = 0;
    for (int i = 0; i < RT_JSC_CLASSES; i++)
      for (int j = 0; j < RT_JSC_CLASSES; j++) {
        sum += er[k].confusion[i][j];
        if (i == j) trace += er[k].confusion[i][j];
      }
    assert_int_equal(sum, ds.test.n);
    assert_true(fabs(er[k].acc - (double)trace / (double)ds.test.n) < 1e-12);
    assert_true(er[k].loss > 0 && er[k].loss < 2);
  }
  if (ne == 2) {
    assert_true(rel(er[1].loss, er[0].loss) < 1e-4);
    assert_true(fabs(er[1].acc - er[0].acc) <= 2.0 / (double)ds.test.n);
  }
  StrBuf sb;
  sb_init(&sb);
  rt_eval_report(&sb, &er[0]);
  assert_non_null(strstr(sb_str(&sb), "test accuracy"));
  assert_non_null(strstr(sb_str(&sb), "confusion matrix"));
  assert_non_null(strstr(sb_str(&sb), "     g "));
  assert_non_null(strstr(sb_str(&sb), "  t  "));
  sb_free(&sb);
}

/* A last batch of one row cannot go through BatchNorm1d in training: it is left out, with a
 * warning, and nothing turns NaN. */
static void test_single_row_batch(void **state) {
  (void)state;
  RtTrainConfig c = config(RT_ENGINE_REF, 1, dir("single"));
  c.batch_size = ds.train.n - 1;
  RtTrainResult r;
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(rt_train(&c, &r, &d), JS_OK);
  assert_true(d.nwarnings >= 1);
  assert_non_null(strstr(sb_str(&d.text), "one row"));
  diag_free(&d);
  assert_int_equal(r.steps, 1);
  assert_true(isfinite(r.train_loss) && isfinite(r.val_loss));
}

static void expect_error(const RtTrainConfig *c, const char *msg) {
  RtTrainResult r;
  Diag d;
  diag_init(&d, NULL);
  Status st = rt_train(c, &r, &d);
  if (st == JS_OK || !strstr(sb_str(&d.text), msg)) fail_msg("expected an error with '%s', got: %s", msg, sb_str(&d.text));
  diag_free(&d);
}

static void test_errors(void **state) {
  (void)state;
  RtTrainConfig c = config(RT_ENGINE_REF, 1, dir("err"));
  c.batch_size = 0;
  expect_error(&c, "batch size");
  c = config(RT_ENGINE_REF, 1, dir("ref3"));
  expect_error(&c, "holds a run already");
  c = config(RT_ENGINE_REF, 1, NULL);
  c.resume_dir = dir("nothing_here");
  expect_error(&c, "no such directory");
  c = config(RT_ENGINE_REF, 1, dir("err2"));
  c.optim.lr = NAN;
  expect_error(&c, "learning rate");
  c = config(RT_ENGINE_REF, 1, dir("err3"));
  c.train = fwd; /* no label input: not a training graph */
  expect_error(&c, "grad");
  if (!cg_llvm_available()) {
    c = config(RT_ENGINE_JIT, 1, dir("err4"));
    expect_error(&c, "LLVM");
  }
  /* rt_test without a readable checkpoint */
  RtTestConfig t;
  rt_test_config_default(&t);
  t.fwd = fwd;
  t.train = train;
  t.dataset = &ds;
  t.ckpt = dir("no/such.safetensors");
  RtEvalResult er;
  Diag d;
  diag_init(&d, NULL);
  assert_int_not_equal(rt_test(&t, &er, &d), JS_OK);
  diag_free(&d);
}

/* The report and its JSON for a fixed result, against test/golden/eval.report and eval.json
 * (JSCC_UPDATE_GOLDEN=1 rewrites them). */
static void check_golden(const char *path, const StrBuf *got) {
  if (getenv("JSCC_UPDATE_GOLDEN")) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(sb_str(got), f);
    fclose(f);
  }
  char *want = slurp(".", path, NULL);
  assert_non_null(want);
  if (strcmp(want, sb_str(got)) != 0) fail_msg("%s differs; got:\n%s", path, sb_str(got));
  free(want);
}

static void test_eval_report_golden(void **state) {
  (void)state;
  RtEvalResult r = {.n = 22, .loss = 0.8125, .acc = 16.0 / 22, .engine = RT_ENGINE_JIT, .split = RT_SPLIT_VAL,
                    .confusion = {{8, 1, 0, 0, 0}, {2, 3, 0, 0, 0}, {0, 0, 4, 1, 0}, {0, 1, 1, 1, 0}}};
  StrBuf sb;
  sb_init(&sb);
  rt_eval_report(&sb, &r);
  check_golden("test/golden/eval.report", &sb);
  sb_clear(&sb);
  rt_eval_json(&sb, &r, "runs/x/best.safetensors");
  check_golden("test/golden/eval.json", &sb);
  sb_free(&sb);
}

/* ---- the run directory: lock, settings on resume, restart ---- */

/* Hook of the first run: a second run into the same directory while it holds the lock. */
static Status second_run(void *ud, const RtEpochInfo *e, Diag *d) {
  (void)d;
  if (e->epoch != 1) return JS_OK;
  RtTrainConfig c2 = config(RT_ENGINE_REF, 1, dir("locked"));
  RtTrainResult r;
  Diag d2;
  diag_init(&d2, NULL);
  Status st = rt_train(&c2, &r, &d2);
  *(int *)ud = st != JS_OK && strstr(sb_str(&d2.text), "is in use: another jscc (pid ") ? 1 : -1;
  diag_free(&d2);
  return JS_OK;
}

static void test_lock(void **state) {
  (void)state;
  RtTrainConfig c = config(RT_ENGINE_REF, 2, dir("locked"));
  int refused = 0;
  c.on_epoch = second_run;
  c.on_epoch_ud = &refused;
  RtTrainResult r;
  assert_int_equal(train_quiet(&c, &r), JS_OK);
  assert_int_equal(refused, 1);
  assert_int_equal(r.epochs, 2); /* the first run went on untouched */
}

/* --resume compares with the manifest: a difference is refused unless forced. */
static void test_resume_settings(void **state) {
  (void)state;
  RtTrainConfig c = config(RT_ENGINE_REF, 1, dir("settings"));
  RtTrainResult r;
  assert_int_equal(train_quiet(&c, &r), JS_OK);
  RtTrainConfig cr = config(RT_ENGINE_REF, 2, NULL);
  cr.resume_dir = dir("settings");
  cr.optim.lr = 0.01;
  cr.seed = 3;
  expect_error(&cr, "lr: the run has 0.001, this command 0.01");
  expect_error(&cr, "seed: the run has 0, this command 3");
  cr.force = true;
  assert_int_equal(train_quiet(&cr, &r), JS_OK);
  assert_int_equal(r.epochs, 2);
  char *man = slurp(cr.resume_dir, "manifest.json", NULL);
  assert_non_null(strstr(man, "\"from_epoch\": 1, \"forced\": \"  seed: the run has 0, this command 3"));
  free(man);
}

/* A run that stopped before its first commit restarts from init.safetensors. */
static void test_restart(void **state) {
  (void)state;
  RtTrainConfig cf = config(RT_ENGINE_REF, 2, dir("restart_full")), cp = config(RT_ENGINE_REF, 1, dir("restart"));
  RtTrainResult r;
  assert_int_equal(train_quiet(&cf, &r), JS_OK);
  cp.sched.t_max = 2;
  assert_int_equal(train_quiet(&cp, &r), JS_OK);
  assert_int_equal(remove(dir("restart/last.optim.safetensors")), 0);
  expect_error(&cp, "stopped before it committed its first epoch");
  RtTrainConfig cr = config(RT_ENGINE_REF, 2, NULL);
  cr.resume_dir = dir("restart");
  assert_int_equal(train_quiet(&cr, &r), JS_OK);
  assert_int_equal(r.epochs, 2);
  assert_same_file(cf.out_dir, cr.resume_dir, "last.optim.safetensors");
  assert_same_file(cf.out_dir, cr.resume_dir, "best.safetensors");
}

static void test_names(void **state) {
  (void)state;
  RtEngineKind k;
  assert_true(rt_engine_parse("jit", &k) && k == RT_ENGINE_JIT);
  assert_true(rt_engine_parse("ref", &k) && k == RT_ENGINE_REF);
  assert_true(rt_engine_parse("auto", &k) && k == RT_ENGINE_AUTO);
  assert_false(rt_engine_parse("jitt", &k));
  assert_string_equal(rt_engine_name(RT_ENGINE_REF), "ref");
  assert_true(rt_hash64("", 0) == 0xcbf29ce484222325ULL);
  assert_true(rt_hash64("a", 1) == 0xaf63dc4c8601ec8cULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_ref_learns),
      cmocka_unit_test(test_jit_matches_ref),
      cmocka_unit_test(test_determinism_ref),
      cmocka_unit_test(test_determinism_jit),
      cmocka_unit_test(test_kernel_cache_jit),
      cmocka_unit_test(test_seed_matters),
      cmocka_unit_test(test_resume_ref),
      cmocka_unit_test(test_resume_jit),
      cmocka_unit_test(test_sgd_resume),
      cmocka_unit_test(test_eval),
      cmocka_unit_test(test_single_row_batch),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_eval_report_golden),
      cmocka_unit_test(test_lock),
      cmocka_unit_test(test_resume_settings),
      cmocka_unit_test(test_restart),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
