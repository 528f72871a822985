/* fuzz_ckpt.c — libFuzzer target for the safetensors reader (runtime/ckpt.c): the input is a
 * whole checkpoint file, loaded into the state of examples/jsc_tiny.jsc by rt_ckpt_load and,
 * as an optimizer file, by rt_ckpt_load_optim for Adam and for SGD.  Any input must load or
 * give diagnostics, never a crash, hang, leak or sanitizer report.  Checked after each call:
 * a failure reports at least one error and leaves the state as it was (ckpt.h: the header is
 * checked and matched before anything is written), a success reports none, and no call
 * changes the state's layout.
 *
 * The reader takes a path, so the input goes to a memfd opened through /proc/self/fd (no
 * file system traffic, nothing left behind).  FUZZ_VERBOSE=1 prints the diagnostics.  The
 * model is parsed once, at the first input:
 * FUZZ_MODEL (set by meson to the source tree's examples/jsc_tiny.jsc) or $JSCC_FUZZ_MODEL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frontend.h"
#include "passes.h"
#include "runtime.h"

#ifndef FUZZ_MODEL
#define FUZZ_MODEL "examples/jsc_tiny.jsc"
#endif

/* What every input is loaded into; built once and kept (reachable, so not a leak). */
typedef struct Fixture {
  Arena *arena;            /* the model's source text */
  Program *prog;           /* the parsed model */
  RtState *s;              /* its parameters and buffers */
  OptimState adam, sgd;    /* optimizer state over s->total elements */
  size_t total;            /* s->total at creation */
  size_t *numel;           /* [s->n] copy of s->numel at creation */
  float *snap, *snap_m, *snap_v; /* [total] state before a call, to compare on failure */
  int64_t *snap_i64;       /* [s->n] */
  int fd;                  /* the memfd holding the current input */
  char path[64];           /* "/proc/self/fd/N" */
} Fixture;

/* FUZZ_VERBOSE=1 prints every diagnostic, to see what a reproducer hits. */
static FILE *verbose(void) {
  static int v = -1;
  if (v < 0) v = getenv("FUZZ_VERBOSE") && *getenv("FUZZ_VERBOSE") == '1';
  return v ? stderr : NULL;
}

static void die(const char *what, Diag *d) {
  fprintf(stderr, "fuzz_ckpt: %s\n%s", what, d ? sb_str(&d->text) : "");
  abort();
}

static Fixture *fixture(void) {
  static Fixture fx;
  static bool ready;
  if (ready) return &fx;
  Diag d;
  diag_init(&d, NULL);
  const char *model = getenv("JSCC_FUZZ_MODEL");
  if (!model || !*model) model = FUZZ_MODEL;
  SrcFile *src = NULL;
  Pipeline *pl = NULL;
  PassContext ctx = {.diag = &d};
  if (!(fx.arena = arena_new()) || diag_read_file(fx.arena, model, &src, &d) ||
      fe_parse(src, &fx.prog, &d) || pass_pipeline_parse("shape", &pl, &d) ||
      pass_pipeline_run(pl, fx.prog->graphs[0], &ctx) || rt_state_new(fx.prog->graphs[0], &fx.s, &d) ||
      rt_optim_state_new(OPTIM_ADAM, fx.s->total, &fx.adam, &d) ||
      rt_optim_state_new(OPTIM_SGD, fx.s->total, &fx.sgd, &d))
    die("cannot set up the model (set JSCC_FUZZ_MODEL to examples/jsc_tiny.jsc)", &d);
  pass_pipeline_free(pl);
  diag_free(&d);
  fx.total = fx.s->total;
  size_t n = (size_t)(fx.s->n ? fx.s->n : 1), t = fx.total ? fx.total : 1;
  fx.numel = malloc(n * sizeof *fx.numel);
  fx.snap_i64 = malloc(n * sizeof *fx.snap_i64);
  fx.snap = malloc(t * sizeof *fx.snap);
  fx.snap_m = malloc(t * sizeof *fx.snap_m);
  fx.snap_v = malloc(t * sizeof *fx.snap_v);
  if (!fx.numel || !fx.snap_i64 || !fx.snap || !fx.snap_m || !fx.snap_v) die("out of memory", NULL);
  memcpy(fx.numel, fx.s->numel, (size_t)fx.s->n * sizeof *fx.numel);
  fx.fd = memfd_create("fuzz_ckpt", 0);
  if (fx.fd < 0) die("memfd_create failed", NULL);
  snprintf(fx.path, sizeof fx.path, "/proc/self/fd/%d", fx.fd);
  ready = true;
  return &fx;
}

static void put_input(Fixture *fx, const unsigned char *data, size_t size) {
  if (ftruncate(fx->fd, 0) != 0) die("ftruncate failed", NULL);
  for (size_t at = 0; at < size;) {
    ssize_t w = pwrite(fx->fd, data + at, size - at, (off_t)at);
    if (w <= 0) die("pwrite failed", NULL);
    at += (size_t)w;
  }
}

/* The layout never changes; a status and the diagnostics agree. */
static void check_common(Fixture *fx, Status st, const Diag *d, const char *call) {
  const RtState *s = fx->s;
  if (s->total != fx->total || memcmp(s->numel, fx->numel, (size_t)s->n * sizeof *fx->numel) != 0) {
    fprintf(stderr, "fuzz_ckpt: %s changed the state's layout\n", call);
    abort();
  }
  if (st != JS_OK && d->nerrors == 0) {
    fprintf(stderr, "fuzz_ckpt: %s failed (status %d) without reporting an error\n", call, (int)st);
    abort();
  }
  if (st == JS_OK && d->nerrors != 0) {
    fprintf(stderr, "fuzz_ckpt: %s succeeded but reported errors:\n%s", call, sb_str(&d->text));
    abort();
  }
}

static void check_unchanged(const float *now, const float *before, size_t n, const char *what,
                            const char *call, const Diag *d) {
  if (n && memcmp(now, before, n * sizeof *now) != 0) {
    fprintf(stderr, "fuzz_ckpt: %s failed but changed %s; it reported:\n%s", call, what, sb_str(&d->text));
    abort();
  }
}

static void load_model(Fixture *fx) {
  RtState *s = fx->s;
  memcpy(fx->snap, s->data, fx->total * sizeof *s->data);
  memcpy(fx->snap_i64, s->i64, (size_t)s->n * sizeof *s->i64);
  Diag d;
  diag_init(&d, verbose());
  Status st = rt_ckpt_load(fx->path, s, &d);
  check_common(fx, st, &d, "rt_ckpt_load");
  if (st != JS_OK) {
    check_unchanged(s->data, fx->snap, fx->total, "the parameters", "rt_ckpt_load", &d);
    if (memcmp(s->i64, fx->snap_i64, (size_t)s->n * sizeof *s->i64) != 0)
      die("rt_ckpt_load failed but changed an i64 buffer", &d);
  }
  diag_free(&d);
}

static void load_optim(Fixture *fx, OptimState *st, bool want_meta) {
  const char *call = st->kind == OPTIM_SGD ? "rt_ckpt_load_optim (sgd)" : "rt_ckpt_load_optim (adam)";
  memcpy(fx->snap_m, st->m, fx->total * sizeof *st->m);
  if (st->v) memcpy(fx->snap_v, st->v, fx->total * sizeof *st->v);
  int64_t step = st->step;
  Arena *a = want_meta ? arena_new() : NULL;
  if (want_meta && !a) die("out of memory", NULL);
  CkptMeta meta = {.n = -1};
  Diag d;
  diag_init(&d, verbose());
  Status rc = rt_ckpt_load_optim(fx->path, fx->s, st, a, want_meta ? &meta : NULL, &d);
  check_common(fx, rc, &d, call);
  if (st->total != fx->total) die("the optimizer state's size changed", &d);
  if (rc != JS_OK) {
    if (st->step != step) die("a failed optimizer load changed the step", &d);
    check_unchanged(st->m, fx->snap_m, fx->total, "exp_avg / momentum_buffer", call, &d);
    if (st->v) check_unchanged(st->v, fx->snap_v, fx->total, "exp_avg_sq", call, &d);
  } else {
    if (st->step < 0) die("a loaded step is negative", &d);
    if (want_meta) {
      if (meta.n < 0 || meta.n > CKPT_MAX_META) die("metadata count out of range", &d);
      for (int i = 0; i < meta.n; i++) {
        if (!meta.keys[i] || !meta.vals[i]) die("a NULL metadata string", &d);
        if (!strcmp(meta.keys[i], "optimizer") || !strcmp(meta.keys[i], "step"))
          die("a reserved key in the returned metadata", &d);
        (void)strlen(meta.vals[i]); /* ASan checks that it is readable */
      }
    }
  }
  diag_free(&d);
  arena_free(a);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  Fixture *fx = fixture();
  put_input(fx, data, size);
  load_model(fx);
  load_optim(fx, &fx->adam, true);
  load_optim(fx, &fx->sgd, false);
  return 0;
}
