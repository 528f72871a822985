/* test_device_emu.c — the GPU engine (runtime/device.c) without a GPU: this test defines the
 * CUDA driver layer's functions (codegen/cuda.h's cg_cuda_*, which the linker then takes
 * instead of codegen/cudadrv.c's) over host memory, and runs each compiled kernel through the
 * CPU emulation of test/cuda_emu.h.  So device.c's bookkeeping is checked here: the per-trial
 * buffers and their strides, the group's argument table, the shared row orders, the uploads
 * and downloads.  What runs is the group test of device_group.h (a group of three jsc_tiny
 * trials against each trial alone, equal to the bit), then a check that every device buffer
 * was freed.  Device memory is handed out filled with 0xff bytes (NaN floats), so a read of
 * memory the engine never wrote shows.  Skipped (exit 77) without a C++ compiler. */
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
#include "exp.h"
#include "../cuda_emu.h"
#include "device_group.h"

/* ---- the emulated driver ---- */

struct CgCuda {
  int live;                  /* device buffers allocated and not freed */
};

struct CgCudaKernel {
  void *so;                  /* the emulation's shared object */
  EmuRun run;
  char dir[64];              /* its temporary directory */
};

Status cg_cuda_open(CgCuda **out, Diag *d) {
  *out = ir_calloc(1, sizeof **out);
  return *out ? JS_OK : diag_oom(d);
}

static int live_buffers; /* of the last context closed */

void cg_cuda_close(CgCuda *c) {
  if (!c) return;
  live_buffers = c->live;
  ir_free(c);
}

int cg_cuda_arch(const CgCuda *c) {
  (void)c;
  return 90;
}

const char *cg_cuda_device_name(const CgCuda *c) {
  (void)c;
  return "emulated";
}

Status cg_cuda_compile(CgCuda *c, const CgPlan *p, CgCudaKernel **out, double *compile_ms, Diag *d) {
  (void)c;
  if (compile_ms) *compile_ms = 0;
  StrBuf src;
  sb_init(&src);
  Status st = cg_cuda_render(p, &src, d);
  if (st) {
    sb_free(&src);
    return st;
  }
  CgCudaKernel *k = ir_calloc(1, sizeof *k);
  if (!k) {
    sb_free(&src);
    return diag_oom(d);
  }
  memcpy(k->dir, "/tmp/jscc_test_device_emu_XXXXXX", sizeof "/tmp/jscc_test_device_emu_XXXXXX");
  assert_non_null(mkdtemp(k->dir));
  bool train = strstr(sb_str(&src), "void __launch_bounds__(NT) jscc_train(") != NULL;
  k->run = emu_build(sb_str(&src), train, k->dir, &k->so);
  sb_free(&src);
  *out = k;
  return JS_OK;
}

void cg_cuda_kernel_free(CgCudaKernel *k) {
  if (!k) return;
  dlclose(k->so);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", k->dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", k->dir);
  ir_free(k);
}

Status cg_cuda_alloc(CgCuda *c, size_t bytes, uint64_t *dptr, Diag *d) {
  size_t n = (bytes + 255) / 256 * 256;
  void *p = aligned_alloc(256, n ? n : 256); /* cuMemAlloc's alignment */
  if (!p) return diag_oom(d);
  memset(p, 0xff, n ? n : 256);
  c->live++;
  *dptr = (uint64_t)(uintptr_t)p;
  return JS_OK;
}

void cg_cuda_free(CgCuda *c, uint64_t dptr) {
  if (!c || !dptr) return;
  c->live--;
  free((void *)(uintptr_t)dptr);
}

Status cg_cuda_upload(CgCuda *c, uint64_t dst, const void *src, size_t bytes, Diag *d) {
  (void)c, (void)d;
  if (bytes) memcpy((void *)(uintptr_t)dst, src, bytes);
  return JS_OK;
}

Status cg_cuda_download(CgCuda *c, void *dst, uint64_t src, size_t bytes, Diag *d) {
  (void)c, (void)d;
  if (bytes) memcpy(dst, (const void *)(uintptr_t)src, bytes);
  return JS_OK;
}

/* The emulation runs a group's blocks one after another, so two trials sharing a buffer that
 * every step rewrites before reading it (the scratch, the gradients) would pass unseen there
 * and race on a GPU: each buffer a block writes must be its own, at one stride per trial. */
static void check_disjoint(const JsccDevArgs *a) {
  const JsccDevArgs *t = (const JsccDevArgs *)(uintptr_t)a->trials;
  static const size_t fields[] = {offsetof(JsccDevArgs, params), offsetof(JsccDevArgs, grads),
                                  offsetof(JsccDevArgs, opt_m),  offsetof(JsccDevArgs, opt_v),
                                  offsetof(JsccDevArgs, i64),    offsetof(JsccDevArgs, scratch),
                                  offsetof(JsccDevArgs, metrics), offsetof(JsccDevArgs, logits)};
  for (size_t f = 0; f < sizeof fields / sizeof *fields; f++) {
    uint64_t p0, p1, pb, pa;
    memcpy(&p0, (const char *)&t[0] + fields[f], 8);
    memcpy(&p1, (const char *)&t[1] + fields[f], 8);
    if (!p0) continue; /* unused by this kernel (evaluation: no gradients) */
    assert_true(p1 > p0);
    for (int64_t b = 1; b < a->ntrials; b++) {
      memcpy(&pa, (const char *)&t[b - 1] + fields[f], 8);
      memcpy(&pb, (const char *)&t[b] + fields[f], 8);
      assert_true(pb - pa == p1 - p0);
    }
  }
}

/* cudadrv.c's launch shape: one block, or a->ntrials for a group. */
Status cg_cuda_launch(CgCuda *c, const CgCudaKernel *k, const JsccDevArgs *a, Diag *d) {
  (void)c;
  if (a->trials) check_disjoint(a);
  unsigned blocks = a->trials ? (unsigned)a->ntrials : 1;
  if (k->run(a, blocks) != 0) return diag_error(d, (SrcLoc){0}, "the emulated launch could not start its threads");
  return JS_OK;
}

/* ---- the test ---- */

static RtDataset ds; /* 5000 synthetic jets */

static int setup(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, stderr);
  RtDataOpts o;
  rt_data_opts_default(&o);
  o.synth_n = 5000;
  o.no_cache = true;
  Status st = rt_data_load(&o, &ds, &d);
  diag_free(&d);
  return st ? -1 : 0;
}

static int teardown(void **state) {
  (void)state;
  rt_data_free(&ds);
  return 0;
}

static void test_group_emulated(void **state) {
  (void)state;
  Arena *arena = arena_new();
  Diag d;
  diag_init(&d, stderr);
  SrcFile *src = NULL;
  Program *prog = NULL;
  assert_int_equal(diag_read_file(arena, "examples/jsc_tiny.jsc", &src, &d), JS_OK);
  assert_int_equal(fe_parse(src, &prog, &d), JS_OK);
  assert_int_equal(pass_run_text("shape,grad", prog->graphs[0], &d), JS_OK);
  device_group_check(prog->graphs[0], &ds);
  assert_int_equal(live_buffers, 0); /* every engine freed what it allocated */
  ir_program_free(prog);
  arena_free(arena);
  diag_free(&d);
}

/* A CSV line cut after its first `cols` fields (cols 0: whole). */
static void cut_cols(char *line, int cols) {
  char *p = line;
  for (int k = 0; cols > 0 && k < cols && p; k++) p = strchr(p + (k > 0), ',');
  if (cols > 0 && p) *p = 0;
}

/* Whether two files hold the same lines (cols > 0: their first cols CSV fields). */
static bool same_file(const char *a, const char *b, int cols) {
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  bool same = fa && fb;
  char la[8192], lb[8192];
  while (same) {
    size_t na = fread(la, 1, cols ? 0 : sizeof la, fa), nb = fread(lb, 1, cols ? 0 : sizeof lb, fb);
    if (!cols) { /* binary */
      same = na == nb && memcmp(la, lb, na) == 0;
      if (!na) break;
      continue;
    }
    char *ra = fgets(la, sizeof la, fa), *rb = fgets(lb, sizeof lb, fb);
    if (!ra || !rb) {
      same = !ra && !rb;
      break;
    }
    cut_cols(la, cols);
    cut_cols(lb, cols);
    same = strcmp(la, lb) == 0;
  }
  if (fa) fclose(fa);
  if (fb) fclose(fb);
  return same;
}

/* examples/jsc_tiny.jsc twice: after `shape` (the forward graph) and `shape,grad`. */
static void load_tiny(Arena *arena, Program **pf, Program **pt, Diag *d) {
  SrcFile *src = NULL;
  assert_int_equal(diag_read_file(arena, "examples/jsc_tiny.jsc", &src, d), JS_OK);
  assert_int_equal(fe_parse(src, pf, d), JS_OK);
  assert_int_equal(fe_parse(src, pt, d), JS_OK);
  assert_int_equal(pass_run_text("shape", (*pf)->graphs[0], d), JS_OK);
  assert_int_equal(pass_run_text("shape,grad", (*pt)->graphs[0], d), JS_OK);
}

/* Every device buffer freed, the scratch directory removed, load_tiny's graphs freed. */
static void finish_tiny(const char *dir, Arena *arena, Program *pf, Program *pt, Diag *d) {
  assert_int_equal(live_buffers, 0);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
  ir_program_free(pf);
  ir_program_free(pt);
  arena_free(arena);
  diag_free(d);
}

/* rt_train_group against rt_train: three runs of jsc_tiny (learning rates and seeds apart)
 * as one group on the emulated device, and each alone: the same metrics.csv (timings aside)
 * and the same checkpoints, byte for byte. */
static void test_train_group_emulated(void **state) {
  (void)state;
  Arena *arena = arena_new();
  Diag d;
  diag_init(&d, stderr);
  Program *pf = NULL, *pt = NULL;
  load_tiny(arena, &pf, &pt, &d);
  char dir[64] = "/tmp/jscc_group_XXXXXX";
  assert_non_null(mkdtemp(dir));
  enum { N = 3 };
  RtTrainConfig cs[N];
  RtTrainResult res[N], alone;
  Status st[N];
  Diag rd[N], *rdp[N];
  char paths[2 * N][128];
  const double lrs[N] = {1e-3, 3e-3, 1e-2};
  for (int i = 0; i < N; i++) {
    rt_train_config_default(&cs[i]);
    cs[i].fwd = pf->graphs[0], cs[i].train = pt->graphs[0], cs[i].dataset = &ds, cs[i].device = RT_DEVICE_CUDA;
    cs[i].max_epochs = 2, cs[i].optim.lr = lrs[i], cs[i].seed = (uint64_t)i + 7;
    snprintf(paths[i], sizeof paths[i], "%s/alone%d", dir, i);
    snprintf(paths[N + i], sizeof paths[i], "%s/group%d", dir, i);
    cs[i].out_dir = paths[i];
    assert_int_equal(rt_train(&cs[i], &alone, &d), JS_OK);
    cs[i].out_dir = paths[N + i];
    diag_init(&rd[i], stderr);
    rdp[i] = &rd[i];
  }
  assert_int_equal(rt_train_group(cs, N, res, st, rdp, &d), JS_OK);
  for (int i = 0; i < N; i++) {
    assert_int_equal(st[i], JS_OK);
    assert_int_equal(res[i].epochs, 2);
    char a[1024], g[1024];
    static const char *const files[] = {"metrics.csv", "best.safetensors", "last.safetensors", "last.optim.safetensors",
                                        "init.safetensors"};
    for (int f = 0; f < 5; f++) {
      snprintf(a, sizeof a, "%s/%s", paths[i], files[f]);
      snprintf(g, sizeof g, "%s/%s", paths[N + i], files[f]);
      assert_true(same_file(a, g, f == 0 ? 6 : 0));
    }
    diag_free(&rd[i]);
  }
  finish_tiny(dir, arena, pf, pt, &d);
}

static Status journal_line(void *ud, const char *line, Diag *d) { return exp_journal_append(ud, line, d); }

/* A sweep's GPU trials as one group (exp_run): three learning rates of jsc_tiny share each
 * epoch's launch, and each ends ok with its own run directory. */
static void test_sweep_group_emulated(void **state) {
  (void)state;
  Arena *arena = arena_new();
  Diag d;
  diag_init(&d, stderr);
  Program *pf = NULL, *pt = NULL;
  load_tiny(arena, &pf, &pt, &d);
  char dir[64] = "/tmp/jscc_sweepgroup_XXXXXX", jp[128];
  assert_non_null(mkdtemp(dir));
  ExpSweep *sw;
  assert_int_equal(exp_sweep_new(&sw, &d), JS_OK);
  sw->nmodels = 1;
  sw->models = arena_alloc(sw->a, sizeof *sw->models);
  sw->models[0] = (ExpModel){"examples/jsc_tiny.jsc", "JSC_Tiny", 0};
  bool axis;
  assert_int_equal(exp_axis_parse(sw, "--lr", "1e-3,3e-3,1e-2", EXP_OPT_REAL, &axis, &d), JS_OK);
  assert_int_equal(exp_sweep_expand(sw, 0, 0, &d), JS_OK);
  RtTrainConfig cfg[3];
  ExpResult res[3];
  for (int i = 0; i < 3; i++) {
    rt_train_config_default(&cfg[i]);
    cfg[i].fwd = pf->graphs[0], cfg[i].train = pt->graphs[0], cfg[i].dataset = &ds, cfg[i].device = RT_DEVICE_CUDA;
    cfg[i].max_epochs = 2, cfg[i].optim.lr = atof(sw->trials[i].values[0]);
    exp_result_init(&res[i]);
  }
  snprintf(jp, sizeof jp, "%s/journal.jsonl", dir);
  ExpJournal *j;
  assert_int_equal(exp_journal_open(jp, &j, &d), JS_OK);
  ExpTrialEnv env = {.dir = dir, .keep = EXP_KEEP_ALL, .line = journal_line, .ud = j};
  ExpRunOpts o = {.jobs = 2};
  assert_int_equal(exp_run(sw, cfg, res, &env, &o, &d), JS_OK);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(res[i].status, EXP_OK);
    assert_int_equal(res[i].epochs, 2);
    char logp[256], line[512];
    snprintf(logp, sizeof logp, "%s/%s/train.log", dir, sw->trials[i].dir);
    FILE *f = fopen(logp, "r");
    assert_non_null(f);
    bool grouped = false;
    while (fgets(line, sizeof line, f)) grouped |= strstr(line, "a group of runs") != NULL;
    fclose(f);
    assert_true(grouped);
  }
  exp_journal_close(j);
  exp_sweep_free(sw);
  finish_tiny(dir, arena, pf, pt, &d);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  char why[256];
  if (!emu_have_cxx(why, sizeof why)) {
    printf("test_device_emu: skipped: %s\n", why);
    return 77;
  }
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_group_emulated),
    cmocka_unit_test(test_train_group_emulated),
    cmocka_unit_test(test_sweep_group_emulated),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
