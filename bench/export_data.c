/* bench/export_data.c — the training benchmark's C helper (bench/train_bench.sh).
 *
 *   export_data export OUT.bin [--synth-n N] [--cache-dir DIR]
 *       Loads the JSC data exactly as `jscc train` does (rt_data_load with the defaults: the
 *       bundled synthetic stand-in, standardised, the same cache) and writes the training
 *       split as a raw file PyTorch reads with numpy, so both sides train on the very same
 *       rows.  Prints "rows hash bytes": rows, the data set's content hash (the one
 *       `jscc train` records in manifest.json) and the training split's size in bytes.
 *   export_data flops MODEL.jsc BATCH...
 *       Builds the training plan of the model (after `shape,grad`, as `jscc train` does) for
 *       each batch size and prints "batch flops_per_row passes" per line: the arithmetic per
 *       row of one fused training step (forward, loss, backward, Adam), for GFLOP/s.
 *
 * The file OUT.bin, little-endian (written atomically: a temp file, then rename):
 *   offset  0: char[8] "JSCBENCH"
 *   offset  8: int64 n (rows)
 *   offset 16: int32 features (16), int32 classes (5)
 *   offset 24: uint64 the data set's content hash
 *   offset 32: float32 x[n][16] standardised features, row-major
 *   then:      int32 y[n] class index 0..4
 *
 * Exit status: 0 success, 1 an error (the message says which), 2 bad usage. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend.h"
#include "passes.h"
#include "runtime.h"

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

static int usage(void) {
  fputs("usage: export_data export OUT.bin [--synth-n N] [--cache-dir DIR]\n"
        "       export_data flops MODEL.jsc BATCH...\n",
        stderr);
  return EXIT_USAGE;
}

/* ==== export ==== */

static bool write_all(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n; }

static int cmd_export(int argc, char **argv) {
  if (argc < 1) return usage();
  const char *out = argv[0];
  RtDataOpts o;
  rt_data_opts_default(&o);
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--synth-n") && i + 1 < argc) {
      o.synth_n = strtoll(argv[++i], NULL, 10);
    } else if (!strcmp(argv[i], "--cache-dir") && i + 1 < argc) {
      o.cache_dir = argv[++i];
    } else {
      return usage();
    }
  }
  Diag d;
  diag_init(&d, stderr);
  RtDataset ds;
  if (rt_data_load(&o, &ds, &d)) {
    rt_data_free(&ds);
    diag_free(&d);
    return EXIT_FAIL;
  }
  diag_free(&d);

  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", out, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    fprintf(stderr, "export_data: %s: %s\n", tmp, strerror(errno));
    rt_data_free(&ds);
    return EXIT_FAIL;
  }
  /* The header as 32 bytes: the host is little-endian (x86-64, aarch64), as numpy reads it. */
  char magic[8] = {'J', 'S', 'C', 'B', 'E', 'N', 'C', 'H'};
  int64_t n = ds.train.n;
  int32_t dims[2] = {RT_JSC_FEATURES, RT_JSC_CLASSES};
  uint64_t hash = ds.hash;
  bool ok = write_all(f, magic, 8) && write_all(f, &n, 8) && write_all(f, dims, 8) && write_all(f, &hash, 8) &&
            write_all(f, ds.train.x, (size_t)n * RT_JSC_FEATURES * sizeof(float)) &&
            write_all(f, ds.train.y, (size_t)n * sizeof(int32_t));
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, out) != 0) {
    fprintf(stderr, "export_data: writing %s: %s\n", out, strerror(errno));
    remove(tmp);
    rt_data_free(&ds);
    return EXIT_FAIL;
  }
  printf("%" PRId64 " %016" PRIx64 " %zu\n", n, hash,
         (size_t)n * (RT_JSC_FEATURES * sizeof(float) + sizeof(int32_t)));
  rt_data_free(&ds);
  return 0;
}

/* ==== flops ==== */


static int cmd_flops(int argc, char **argv) {
  if (argc < 2) return usage();
  Diag d;
  diag_init(&d, stderr);
  Arena *files = arena_new();
  SrcFile *src = NULL;
  Program *prog = NULL;
  RtState *s = NULL;
  int code = EXIT_FAIL;
  if (!files) goto done;
  if (diag_read_file(files, argv[0], &src, &d) || fe_parse(src, &prog, &d)) goto done;
  if (prog->ngraphs != 1) {
    fprintf(stderr, "export_data: %s holds %d models, expected one\n", argv[0], prog->ngraphs);
    goto done;
  }
  Graph *g = prog->graphs[0];
  /* the training graph `jscc train` builds, and its parameter layout (RtState's) */
  if (pass_run_text("shape,grad", g, &d) || rt_state_new(g, &s, &d)) goto done;
  for (int i = 1; i < argc; i++) {
    char *end;
    long long batch = strtoll(argv[i], &end, 10);
    if (*end || batch < 1) {
      code = usage();
      goto done;
    }
    /* Adam with PyTorch's defaults, as `jscc train --optimizer adam` fuses it */
    CgOptions o = {.batch = batch, .param_off = s->off, .train = true,
                   .optim = {.kind = CG_ADAM, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8}};
    CgPlan *plan = NULL;
    if (cg_plan_build(g, &o, &plan, &d)) goto done;
    printf("%lld %" PRId64 " %d\n", batch, cg_plan_flops_per_row(plan), cg_plan_passes(plan));
    cg_plan_free(plan);
  }
  code = 0;
done:
  rt_state_free(s);
  ir_program_free(prog);
  arena_free(files);
  diag_free(&d);
  return code;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "export")) return cmd_export(argc - 2, argv + 2);
  if (argc >= 2 && !strcmp(argv[1], "flops")) return cmd_flops(argc - 2, argv + 2);
  return usage();
}
