/* bench/kcache_time.c — what the kernel cache saves: the training kernel of each model
 * compiled without the cache, through an empty cache (a miss: compile, emit the object,
 * store it) and loaded from it (a hit: render, key, read, link), in-process.
 *
 *   bench/kcache_time [MODEL.jsc ...]   (default examples/jsc_tiny.jsc examples/jsc_big.jsc)
 *
 * Batch 256, Adam, the host's vector width.  Each mode runs 7 times (the miss into a fresh
 * directory each time); the minimum and the median of render + compile (CgCompileInfo) are
 * reported, in ms.  The cache directory is a fresh one under /tmp, removed afterwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "passes.h"
#include "runtime.h"

#define ROUNDS 7

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* One compile of g's training plan; its time in ms, or -1 on failure. */
static double compile_once(const Graph *g, const RtState *s, const char *cache, bool want_hit, Diag *d) {
  CgOptions o = {.batch = 256, .param_off = s->off, .train = true, .kernel_cache = cache,
                 .optim = {.kind = CG_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}};
  CgPlan *p = NULL;
  CgKernel *k = NULL;
  CgCompileInfo ci = {0};
  if (cg_plan_build(g, &o, &p, d) || cg_llvm_compile(p, &k, NULL, &ci, d)) return -1;
  cg_kernel_free(k);
  cg_plan_free(p);
  if (ci.cache_hit != want_hit) fprintf(stderr, "kcache_time: expected a %s\n", want_hit ? "hit" : "miss");
  return ci.render_ms + ci.compile_ms;
}

static void report(const char *what, double *t) {
  qsort(t, ROUNDS, sizeof *t, cmp);
  printf("  %-26s min %7.1f ms   median %7.1f ms\n", what, t[0], t[ROUNDS / 2]);
}

static int bench(const char *path, const char *root, Diag *d) {
  Arena *files = arena_new();
  SrcFile *src;
  Program *prog = NULL;
  RtState *s = NULL;
  if (!files || diag_read_file(files, path, &src, d) || fe_parse(src, &prog, d) ||
      pass_run_text("shape,grad", prog->graphs[0], d) || rt_state_new(prog->graphs[0], &s, d))
    return 1;
  const Graph *g = prog->graphs[0];
  double none[ROUNDS], miss[ROUNDS], hit[ROUNDS];
  char dir[512];
  for (int r = 0; r < ROUNDS; r++) {
    snprintf(dir, sizeof dir, "%s/%s-%d", root, g->name, r);
    if ((none[r] = compile_once(g, s, NULL, false, d)) < 0 || (miss[r] = compile_once(g, s, dir, false, d)) < 0 ||
        (hit[r] = compile_once(g, s, dir, true, d)) < 0)
      return 1;
  }
  printf("%s, training kernel (%s):\n", path, cg_host_cpu());
  report("no cache", none);
  report("miss (compile and store)", miss);
  report("hit (load)", hit);
  rt_state_free(s);
  ir_program_free(prog);
  arena_free(files);
  return 0;
}

int main(int argc, char **argv) {
  const char *defaults[] = {"examples/jsc_tiny.jsc", "examples/jsc_big.jsc"};
  const char **models = argc > 1 ? (const char **)argv + 1 : defaults;
  int n = argc > 1 ? argc - 1 : 2;
  char root[] = "/tmp/jscc_kcache_time_XXXXXX";
  if (!mkdtemp(root)) return 1;
  Diag d;
  diag_init(&d, stderr);
  int rc = 0;
  for (int i = 0; i < n && !rc; i++) rc = bench(models[i], root, &d);
  diag_free(&d);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  if (system(cmd) != 0) rc = 1;
  return rc;
}
