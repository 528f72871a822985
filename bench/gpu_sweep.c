/* bench/gpu_sweep.c — Lab 1's grid on the GPU (bench/gpu.sh): one model, batch sizes x learning
 * rates (x seeds), Adam, a constant learning rate, each trial validated after every epoch.
 * Every batch size's trials train as one group (runtime/device.h: one launch per epoch and one
 * per validation for all of them, a block per trial) and then one by one, an engine each (the
 * path of `jscc train --device=cuda`), and the two are timed and compared.
 *
 *   bench/gpu_sweep [--model PATH] [--batches 64,128,256,512,1024,2048]
 *                   [--lrs 1e-4,3e-4,1e-3,3e-3,1e-2] [--seeds N] [--epochs N] [--synth-n N]
 *                   [--no-alone]
 *
 * Defaults: examples/jsc_tiny.jsc, the batches and learning rates above, 1 seed (0), 10 epochs,
 * the data as `jscc train` loads it (the bundled synthetic stand-in, 830,000 jets, cached).
 * Trial (lr, seed) starts as `jscc train --seed SEED` does (rt_state_init from Rng(seed)) and
 * shuffles as it does (the epoch's order from (seed, epoch)); trials of one seed share their
 * order, which goes up once.
 *
 * Prints one markdown table: per batch size the trials, the group's seconds for all epochs of
 * all trials (training, validation, the host's shuffles and transfers; compiling excluded and
 * given apart), the same one by one, the speedup, the best trial's validation accuracy, and
 * whether every trial's final model is equal to the bit on both paths (it must be: the same
 * kernel, block for block).  Exit status: 0, 1 on an error (no GPU: the engine says why) or a
 * trial that differs, 2 bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend.h"
#include "passes.h"
#include "runtime.h"

enum { EXIT_FAIL = 1, EXIT_USAGE = 2, MAXL = 64, MAXT = 256 /* trials of one batch size */ };

typedef struct Opts {
  const char *model;
  int64_t batches[MAXL];
  double lrs[MAXL];
  int nbatches, nlrs, nseeds, epochs;
  int64_t synth_n;
  bool alone;              /* also run the trials one by one */
} Opts;

/* One trial: its learning rate and seed, model, optimizer state and the last epoch's numbers. */
typedef struct Trial {
  double lr;
  uint64_t seed;
  RtState *s;
  OptimState o;
  double train_loss;       /* the last epoch's mean training loss */
  double val_acc;          /* after the last epoch */
} Trial;

/* What a grid point shares: the training graph, the optimizer, the data. */
typedef struct Bench {
  const Opts *o;
  Graph *g;
  OptimConfig oc;
  RtDataset ds;
  int64_t *orders;         /* [nseeds][train.n] the epoch's order of each seed */
} Bench;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int usage(void) {
  fputs("usage: gpu_sweep [--model PATH] [--batches B,...] [--lrs LR,...] [--seeds N] [--epochs N] [--synth-n N]"
        " [--no-alone]\n",
        stderr);
  return EXIT_USAGE;
}

/* ---- arguments ---- */

/* "a,b,c" into out (at most MAXL values, each > 0); false on anything else. */
static bool parse_list(const char *s, double *out, int *n) {
  *n = 0;
  while (*s) {
    char *end;
    double x = strtod(s, &end);
    if (end == s || !(x > 0) || *n == MAXL || (*end && *end != ',')) return false;
    out[(*n)++] = x;
    s = *end ? end + 1 : end;
  }
  return *n > 0;
}

static bool parse_opts(int argc, char **argv, Opts *o) {
  static const double lrs[] = {1e-4, 3e-4, 1e-3, 3e-3, 1e-2};
  static const int64_t batches[] = {64, 128, 256, 512, 1024, 2048};
  *o = (Opts){.model = "examples/jsc_tiny.jsc", .nbatches = 6, .nlrs = 5, .nseeds = 1, .epochs = 10, .alone = true};
  memcpy(o->lrs, lrs, sizeof lrs);
  memcpy(o->batches, batches, sizeof batches);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    double tmp[MAXL];
    if (!strcmp(a, "--no-alone")) {
      o->alone = false;
      continue;
    }
    if (!v) return false;
    i++;
    if (!strcmp(a, "--model")) o->model = v;
    else if (!strcmp(a, "--lrs")) {
      if (!parse_list(v, o->lrs, &o->nlrs)) return false;
    } else if (!strcmp(a, "--batches")) {
      if (!parse_list(v, tmp, &o->nbatches)) return false;
      for (int k = 0; k < o->nbatches; k++)
        if ((o->batches[k] = (int64_t)tmp[k]) != tmp[k]) return false; /* whole numbers */
    } else if (!strcmp(a, "--seeds")) o->nseeds = atoi(v);
    else if (!strcmp(a, "--epochs")) o->epochs = atoi(v);
    else if (!strcmp(a, "--synth-n")) o->synth_n = strtoll(v, NULL, 10);
    else return false;
  }
  return o->nseeds >= 1 && o->epochs >= 1 && o->nlrs * o->nseeds <= MAXT;
}

/* ---- the model and the data ---- */

static Status load(Bench *b, Arena *files, Program **prog, Diag *d) {
  SrcFile *src = NULL;
  Status st = diag_read_file(files, b->o->model, &src, d);
  if (!st) st = fe_parse(src, prog, d);
  if (st) return st;
  b->g = (*prog)->graphs[0];
  if ((st = pass_run_text("shape,grad", b->g, d))) return st;
  rt_optim_default(&b->oc, OPTIM_ADAM);
  RtDataOpts o;
  rt_data_opts_default(&o);
  if (b->o->synth_n) o.synth_n = b->o->synth_n;
  if ((st = rt_data_load(&o, &b->ds, d))) return st;
  b->orders = ir_malloc((size_t)b->o->nseeds * (size_t)b->ds.train.n * sizeof(int64_t));
  return b->orders ? JS_OK : diag_oom(d);
}

/* train.c's per-epoch shuffle: an Rng from (seed, epoch). */
static void epoch_order(uint64_t seed, int64_t epoch, int64_t *idx, int64_t n) {
  Rng r;
  rt_rng_seed(&r, seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(epoch + 1)));
  rt_rng_permutation(&r, idx, n);
}

/* Trials lr-major: trial k has lrs[k / nseeds] and seed k % nseeds, a fresh model and Adam state. */
static Status trials_new(const Bench *b, Trial *t, int n, Diag *d) {
  for (int k = 0; k < n; k++) {
    t[k] = (Trial){.lr = b->o->lrs[k / b->o->nseeds], .seed = (uint64_t)(k % b->o->nseeds)};
    Status st = rt_state_new(b->g, &t[k].s, d);
    if (!st) st = rt_optim_state_new(OPTIM_ADAM, t[k].s->total, &t[k].o, d);
    if (st) return st;
    Rng rng;
    rt_rng_seed(&rng, t[k].seed);
    rt_state_init(t[k].s, &rng);
  }
  return JS_OK;
}

static void trials_free(Trial *t, int n) {
  for (int k = 0; k < n; k++) {
    rt_state_free(t[k].s);
    rt_optim_state_free(&t[k].o);
  }
}

/* Validation accuracy from the logits (argmax, the first maximum on ties). */
static double accuracy(const RtSplit *sp, const float *z) {
  int64_t correct = 0;
  for (int64_t i = 0; i < sp->n; i++) {
    int best = 0;
    for (int c = 1; c < RT_JSC_CLASSES; c++)
      if (z[i * RT_JSC_CLASSES + c] > z[i * RT_JSC_CLASSES + best]) best = c;
    correct += best == sp->y[i];
  }
  return sp->n ? (double)correct / (double)sp->n : 0;
}

/* ---- the two paths ---- */

/* An engine for trials t[0 .. n) at batch `batch`; *ms += opening and compiling. */
static Status open_engine(const Bench *b, Trial *t, int n, int64_t batch, RtDev **v, double *ms, Diag *d) {
  uint64_t seeds[MAXT];
  for (int k = 0; k < n; k++) seeds[k] = t[k].seed;
  RtDevConfig c = {.train = b->g, .eval = b->g, .s = t[0].s, .oc = &b->oc, .batch = batch, .seeds = seeds};
  double t0 = now();
  Status st = rt_dev_open_group(&c, n, v, d);
  *ms += (now() - t0) * 1e3;
  return st;
}

/* The epoch's order of every seed among t[0 .. n), each drawn once. */
static void draw_orders(Bench *b, const Trial *t, int n, int64_t epoch) {
  int64_t nt = b->ds.train.n;
  for (int q = 0; q < b->o->nseeds; q++)
    for (int k = 0; k < n; k++)
      if (t[k].seed == (uint64_t)q) {
        epoch_order((uint64_t)q, epoch, b->orders + (size_t)q * (size_t)nt, nt);
        break;
      }
}

/* One epoch of trials t[0 .. n) on engine v: training, then validation. */
static Status epoch(Bench *b, RtDev *v, Trial *t, int n, int64_t e, Diag *d) {
  RtState *s[MAXT];
  OptimState *o[MAXT];
  const int64_t *orders[MAXT];
  const float *z[MAXT];
  double lr[MAXT], loss[MAXT], m[MAXT][2];
  int64_t steps[MAXT], nt = b->ds.train.n;
  draw_orders(b, t, n, e);
  for (int k = 0; k < n; k++) {
    s[k] = t[k].s, o[k] = &t[k].o, lr[k] = t[k].lr, m[k][0] = m[k][1] = 0;
    orders[k] = b->orders + (size_t)t[k].seed * (size_t)nt;
  }
  Status st = rt_dev_train_epoch_group(v, s, o, &b->ds.train, orders, nt, nt, lr, m, d);
  for (int k = 0; k < n; k++) steps[k] = t[k].o.step;
  if (!st) st = rt_dev_eval_group(v, (const RtState *const *)s, &b->ds.val, steps, loss, z, d);
  for (int k = 0; !st && k < n; k++) t[k].val_acc = accuracy(&b->ds.val, z[k]), t[k].train_loss = m[k][0] / (double)nt;
  return st;
}

/* Trials t[0 .. n) as one group (n 1: a trial alone) for every epoch; *secs += the epochs'
 * seconds, *compile_ms += the engine's opening. */
static Status run_group(Bench *b, Trial *t, int n, int64_t batch, double *secs, double *compile_ms, Diag *d) {
  RtDev *v = NULL;
  Status st = open_engine(b, t, n, batch, &v, compile_ms, d);
  double t0 = now();
  for (int e = 0; !st && e < b->o->epochs; e++) st = epoch(b, v, t, n, e, d);
  *secs += now() - t0;
  rt_dev_close(v);
  return st;
}

/* The numbers of one batch size. */
typedef struct Point {
  int n;                    /* trials */
  double group_s, alone_s;  /* the epochs of every trial: as one group, one by one */
  double group_ms, alone_ms; /* opening the engines (compiling, or the kernel cache) */
  int best;                 /* the trial of the best validation accuracy */
  int same;                 /* trials whose final model and accuracy agree to the bit on both paths */
} Point;

static void print_point(const Bench *b, int64_t batch, const Point *p, const Trial *g) {
  const Trial *t = &g[p->best];
  printf("| %lld | %d | %.2f | ", (long long)batch, p->n, p->group_s);
  if (b->o->alone) printf("%.2f | %.1fx | %d/%d |", p->alone_s, p->alone_s / p->group_s, p->same, p->n);
  else printf("- | - | - |");
  printf(" %.0f | %.4f (lr %g, seed %llu) | %.1f / %.1f |\n", p->n * b->o->epochs / p->group_s, t->val_acc, t->lr,
         (unsigned long long)t->seed, p->group_ms / 1e3, p->alone_ms / 1e3);
}

/* One row of the table: batch `batch`, the group, then (o->alone) each trial alone. */
static Status grid_point(Bench *b, int64_t batch, Diag *d) {
  Point p = {.n = b->o->nlrs * b->o->nseeds};
  Trial *g = calloc((size_t)p.n, sizeof *g), *a = calloc((size_t)p.n, sizeof *a);
  Status st = !g || !a ? diag_oom(d) : trials_new(b, g, p.n, d);
  if (!st) st = run_group(b, g, p.n, batch, &p.group_s, &p.group_ms, d);
  if (!st && b->o->alone) st = trials_new(b, a, p.n, d);
  for (int k = 0; !st && b->o->alone && k < p.n; k++) st = run_group(b, &a[k], 1, batch, &p.alone_s, &p.alone_ms, d);
  for (int k = 0; !st && k < p.n; k++) {
    if (g[k].val_acc > g[p.best].val_acc) p.best = k;
    p.same += b->o->alone && !memcmp(g[k].s->data, a[k].s->data, g[k].s->total * sizeof(float)) &&
              g[k].val_acc == a[k].val_acc && g[k].train_loss == a[k].train_loss;
  }
  if (!st) print_point(b, batch, &p, g);
  if (!st && b->o->alone && p.same != p.n)
    st = diag_error(d, (SrcLoc){0}, "batch %lld: %d of %d trials differ between the group and alone", (long long)batch,
                    p.n - p.same, p.n);
  if (g) trials_free(g, p.n);
  if (a) trials_free(a, p.n);
  free(g), free(a);
  return st;
}

int main(int argc, char **argv) {
  Opts o;
  if (!parse_opts(argc, argv, &o)) return usage();
  setvbuf(stdout, NULL, _IOLBF, 0); /* the rows as they come */
  Diag d;
  diag_init(&d, stderr);
  Bench b = {.o = &o};
  Arena *files = arena_new();
  Program *prog = NULL;
  Status st = files ? load(&b, files, &prog, &d) : diag_oom(&d);
  if (!st) {
    printf("%s, Adam, %d epochs, learning rates", o.model, o.epochs);
    for (int k = 0; k < o.nlrs; k++) printf("%s%g", k ? ", " : " ", o.lrs[k]);
    printf(", %d seed%s; %lld training rows, %lld validation rows\n\n", o.nseeds, o.nseeds == 1 ? "" : "s",
           (long long)b.ds.train.n, (long long)b.ds.val.n);
    printf("| batch | trials | group s | one by one s | speedup | equal | trial-epochs/s (group) | best val acc | "
           "open s (group / one by one) |\n");
    printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n");
  }
  for (int i = 0; !st && i < o.nbatches; i++) st = grid_point(&b, o.batches[i], &d);
  ir_free(b.orders);
  rt_data_free(&b.ds);
  ir_program_free(prog);
  arena_free(files);
  diag_free(&d);
  return st ? EXIT_FAIL : 0;
}
