/* test_interp.c — the reference executor (runtime/interp.c).
 *
 * Against PyTorch: test/data/ref/<model>.txt (scripts/torch_reference.py) holds a seeded
 * JSC_Tiny / JSC_Big / JSC_Conv, one batch, and what PyTorch 1.13 computes from them: train-mode
 * logits and loss, every gradient, the running stats after the step, eval-mode logits, and
 * the state after 10 Adam steps.  Each comparison is |a - b| <= 1e-5 * max(|b|, max|b|),
 * i.e. relative to the tensor's scale, and prints the max difference per tensor (llm.c).
 *
 * Semantics by hand: BatchNorm's running-stat update, train vs eval, dropout masks (equal
 * to rt_dropout_keep element by element, and the same in the backward), broadcasting,
 * matmul, conv1d, shape ops; error messages for bad inputs; memory stays bounded by freeing
 * dead values; allocation failures are reported, never crashed on.
 *
 * Runs from the source root (meson's workdir). */
#include <malloc.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "frontend.h"
#include "passes.h"
#include "runtime.h"

/* ---- building graphs from .jsc ---- */

/* One parsed model with what owns it. */
typedef struct Model {
  Arena *a;      /* the source text */
  Program *p;    /* the graphs */
  Graph *g;      /* the chosen one */
} Model;

/* Parses a .jsc file (path) or text (src != NULL) and runs `pipeline` over model `name`
 * (NULL: the first).  Fails the test on any error. */
static Model build(const char *path, const char *src, const char *name, const char *pipeline) {
  Model m = {arena_new(), NULL, NULL};
  Diag d;
  diag_init(&d, stderr);
  SrcFile *f = NULL;
  if (src)
    f = diag_src_from_string(m.a, path, src, strlen(src));
  else
    assert_int_equal(diag_read_file(m.a, path, &f, &d), JS_OK);
  assert_non_null(f);
  assert_int_equal(fe_parse(f, &m.p, &d), JS_OK);
  m.g = name ? ir_program_find(m.p, name) : m.p->graphs[0];
  assert_non_null(m.g);
  if (pipeline && *pipeline) {
    Pipeline *pl = NULL;
    assert_int_equal(pass_pipeline_parse(pipeline, &pl, &d), JS_OK);
    PassContext ctx = {.diag = &d};
    Status st = pass_pipeline_run(pl, m.g, &ctx);
    pass_pipeline_free(pl);
    assert_int_equal(st, JS_OK);
  }
  diag_free(&d);
  return m;
}

static void model_free(Model *m) {
  ir_program_free(m->p);
  arena_free(m->a);
}

static RtState *new_state(const Graph *g, uint64_t seed) {
  RtState *s = NULL;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_state_new(g, &s, &d), JS_OK);
  diag_free(&d);
  Rng r;
  rt_rng_seed(&r, seed);
  rt_state_init(s, &r);
  return s;
}

static RtTensor f32_tensor(float *v, int rank, const int64_t *dims) {
  RtTensor t = {.dtype = DT_F32, .rank = rank, .f = v};
  memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
  return t;
}

static RtTensor i64_tensor(int64_t *v, int64_t n) {
  RtTensor t = {.dtype = DT_I64, .rank = 1, .dims = {n}, .i = v};
  return t;
}

/* Runs g with the given inputs; the status, with diagnostics collected in *d (caller frees). */
static Status run(const Graph *g, RtState *s, RtMode mode, uint32_t seed, uint32_t step, int n, const char *const *names,
                  const RtTensor *in, RtInterpOut *out, Diag *d) {
  RtRunOpts o = {.mode = mode, .seed = seed, .step = step};
  return rt_interp_run(g, s, &o, n, names, in, out, d);
}

/* Runs and fails the test unless it succeeds. */
static void run_ok(const Graph *g, RtState *s, RtMode mode, uint32_t seed, uint32_t step, int n, const char *const *names,
                   const RtTensor *in, RtInterpOut *out) {
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(run(g, s, mode, seed, step, n, names, in, out, &d), JS_OK);
  diag_free(&d);
}

/* Runs, expects JS_ERR and a message containing each of the NULL-terminated needles. */
static void run_fails(const Graph *g, RtState *s, RtMode mode, int n, const char *const *names, const RtTensor *in, ...) {
  Diag d;
  diag_init(&d, NULL);
  RtInterpOut out;
  Status st = run(g, s, mode, 0, 0, n, names, in, &out, &d);
  if (st != JS_ERR) print_error("expected an error, got status %d\n", st);
  assert_int_equal(st, JS_ERR);
  assert_null(out.logits.f);
  va_list ap;
  va_start(ap, in);
  for (const char *needle; (needle = va_arg(ap, const char *));)
    if (!strstr(sb_str(&d.text), needle)) {
      print_error("missing \"%s\" in:\n%s\n", needle, sb_str(&d.text));
      fail();
    }
  va_end(ap);
  diag_free(&d);
}

/* ---- reference files ---- */

typedef struct RefT {
  char name[160];
  bool is_int;
  int rank;
  int64_t dims[IR_MAX_RANK];
  int64_t n;
  double *v;
} RefT;

typedef struct Ref {
  int n;
  RefT t[256];
} Ref;

/* Reads "tensor NAME DTYPE RANK DIM..." headers followed by their values. */
static Ref *ref_load(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) print_error("cannot open %s (tests run from the source root)\n", path);
  assert_non_null(f);
  Ref *r = calloc(1, sizeof *r);
  char dt[8];
  int c;
  while ((c = fgetc(f)) != EOF) {
    if (c == '#') {
      while ((c = fgetc(f)) != EOF && c != '\n') {}
      continue;
    }
    if (c != 't') continue;
    ungetc(c, f);
    assert_true(r->n < 256);
    RefT *t = &r->t[r->n++];
    assert_int_equal(fscanf(f, "tensor %159s %7s %d", t->name, dt, &t->rank), 3);
    t->is_int = strcmp(dt, "i64") == 0;
    t->n = 1;
    for (int i = 0; i < t->rank; i++) {
      long long v;
      assert_int_equal(fscanf(f, "%lld", &v), 1);
      t->dims[i] = v;
      t->n *= v;
    }
    t->v = malloc(sizeof(double) * (size_t)(t->n ? t->n : 1));
    for (int64_t i = 0; i < t->n; i++) assert_int_equal(fscanf(f, "%lf", &t->v[i]), 1);
  }
  fclose(f);
  return r;
}

static void ref_free(Ref *r) {
  for (int i = 0; i < r->n; i++) free(r->t[i].v);
  free(r);
}

static const RefT *ref_get(const Ref *r, const char *name) {
  for (int i = 0; i < r->n; i++)
    if (strcmp(r->t[i].name, name) == 0) return &r->t[i];
  print_error("reference tensor %s is missing\n", name);
  fail();
  return NULL;
}

#define REF_TOL 1e-5
/* The smallest scale a tensor is compared at.  A gradient that is mathematically zero (the
 * bias of a Linear feeding a BatchNorm: the normalisation removes it) is pure float32
 * rounding noise in PyTorch, ~1e-9, while we give ~1e-18; relative to its own "scale"
 * nothing could match.  With this floor such a tensor must be within 1e-7 of zero. */
#define REF_MIN_SCALE 1e-2

/* |a - b| <= tol * max(|b|, max|b| over the tensor, REF_MIN_SCALE); prints the max
 * difference (and the first values when `show`).  Returns the max difference relative to
 * the scale. */
static double compare(const char *label, const float *a, const RefT *b, double tol, bool show) {
  double scale = REF_MIN_SCALE, maxd = 0;
  for (int64_t i = 0; i < b->n; i++) scale = fmax(scale, fabs(b->v[i]));
  bool ok = true;
  for (int64_t i = 0; i < b->n; i++) {
    double diff = fabs((double)a[i] - b->v[i]);
    maxd = fmax(maxd, diff);
    if (diff > tol * fmax(fabs(b->v[i]), scale) || isnan(a[i])) {
      if (ok) print_error("%s[%lld]: %.9g vs PyTorch %.9g\n", label, (long long)i, a[i], b->v[i]);
      ok = false;
    }
  }
  if (show)
    for (int64_t i = 0; i < 3 && i < b->n; i++) print_message("    %s[%lld]: %.9g %.9g\n", label, (long long)i, a[i], b->v[i]);
  print_message("  %-36s max diff %.3e (scale %.3e, rel %.2e)%s\n", label, maxd, scale, scale ? maxd / scale : 0,
                ok ? "" : "  FAIL");
  assert_true(ok);
  return scale ? maxd / scale : maxd;
}

/* Loads the state from reference tensors "<prefix>.<qualname>". */
static void load_state(RtState *s, const Ref *r, const char *prefix) {
  for (int i = 0; i < s->n; i++) {
    char name[200];
    snprintf(name, sizeof name, "%s.%s", prefix, s->g->params[i]->qualname);
    const RefT *t = ref_get(r, name);
    assert_int_equal(t->n, (int64_t)s->numel[i]);
    if (s->off[i] == (size_t)-1) {
      s->i64[i] = (int64_t)t->v[0];
      continue;
    }
    for (int64_t k = 0; k < t->n; k++) s->data[s->off[i] + (size_t)k] = (float)t->v[k];
  }
}

/* Compares every buffer (prefix "step1") or every tensor of the state with the reference. */
static double compare_state(const RtState *s, const Ref *r, const char *prefix, bool buffers_only) {
  double worst = 0;
  for (int i = 0; i < s->n; i++) {
    const Param *p = s->g->params[i];
    if (buffers_only && p->kind != PK_BUFFER) continue;
    char name[200];
    snprintf(name, sizeof name, "%s.%s", prefix, p->qualname);
    const RefT *t = ref_get(r, name);
    if (s->off[i] == (size_t)-1) {
      print_message("  %-36s %lld (PyTorch %lld)\n", name, (long long)s->i64[i], (long long)t->v[0]);
      assert_int_equal(s->i64[i], (int64_t)t->v[0]);
      continue;
    }
    worst = fmax(worst, compare(name, s->data + s->off[i], t, REF_TOL, false));
  }
  return worst;
}

/* The whole reference check of one example model. */
static void check_reference(const char *model) {
  char path[256];
  snprintf(path, sizeof path, "test/data/ref/%s.txt", model);
  Ref *r = ref_load(path);
  snprintf(path, sizeof path, "examples/%s.jsc", model);
  Model fwd = build(path, NULL, NULL, "shape"), train = build(path, NULL, NULL, "grad");
  RtState *s = new_state(fwd.g, 0);
  load_state(s, r, "init");
  print_message("%s vs PyTorch (tolerance %g of each tensor's scale)\n", model, REF_TOL);

  const RefT *x = ref_get(r, "input.x"), *tg = ref_get(r, "input.target");
  float *xf = malloc(sizeof(float) * (size_t)x->n);
  int64_t *ti = malloc(sizeof(int64_t) * (size_t)tg->n);
  for (int64_t i = 0; i < x->n; i++) xf[i] = (float)x->v[i];
  for (int64_t i = 0; i < tg->n; i++) ti[i] = (int64_t)tg->v[i];
  const char *names[2] = {"x", "target"};
  RtTensor in[2] = {f32_tensor(xf, 2, x->dims), i64_tensor(ti, tg->n)};

  /* one training step: logits, loss, gradients, running stats */
  RtInterpOut out;
  run_ok(train.g, s, RT_TRAIN, 0, 0, 2, names, in, &out);
  assert_true(out.has_loss);
  double worst = compare("train.logits", out.logits.f, ref_get(r, "train.logits"), REF_TOL, true);
  float loss = (float)out.loss;
  worst = fmax(worst, compare("train.loss", &loss, ref_get(r, "train.loss"), REF_TOL, false));
  rt_interp_out_free(&out);
  for (int i = 0; i < s->n; i++) {
    const Param *p = s->g->params[i];
    if (p->kind != PK_PARAM) continue;
    char name[200];
    snprintf(name, sizeof name, "grad.%s", p->qualname);
    worst = fmax(worst, compare(name, s->grad + s->off[i], ref_get(r, name), REF_TOL, false));
  }
  worst = fmax(worst, compare_state(s, r, "step1", true));

  /* eval mode after the step: the running stats normalise */
  run_ok(fwd.g, s, RT_EVAL, 0, 0, 1, names, in, &out);
  worst = fmax(worst, compare("eval.logits", out.logits.f, ref_get(r, "eval.logits"), REF_TOL, true));
  assert_false(out.has_loss);
  rt_interp_out_free(&out);

  /* 10 Adam steps from the initial state, on the same batch in train mode */
  load_state(s, r, "init");
  OptimConfig c;
  rt_optim_default(&c, OPTIM_ADAM);
  c.lr = 1e-2;
  OptimState os;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_optim_state_new(OPTIM_ADAM, s->total, &os, &d), JS_OK);
  uint8_t *mask = malloc(s->total + 1);
  rt_state_trainable_mask(s, mask);
  for (uint32_t step = 0; step < 10; step++) {
    run_ok(train.g, s, RT_TRAIN, 0, step, 2, names, in, NULL);
    rt_optim_step(&c, &os, s->data, s->grad, mask, c.lr);
  }
  worst = fmax(worst, compare_state(s, r, "adam10", false));
  print_message("%s: worst difference %.2e of a tensor's scale\n", model, worst);

  free(mask);
  rt_optim_state_free(&os);
  diag_free(&d);
  free(xf);
  free(ti);
  rt_state_free(s);
  model_free(&fwd);
  model_free(&train);
  ref_free(r);
}

static void test_reference_jsc_tiny(void **state) {
  (void)state;
  check_reference("jsc_tiny");
}

/* Conv1d's forward and both of its gradients (stride, padding, dilation, groups) */
static void test_reference_jsc_conv(void **state) {
  (void)state;
  check_reference("jsc_conv");
}

static void test_reference_jsc_big(void **state) {
  (void)state;
  check_reference("jsc_big");
}

/* ---- BatchNorm1d by hand ---- */

static const char *bn_src =
    "model BN {\n"
    "    input x: f32[B, 3]\n"
    "    bn = BatchNorm1d(3, momentum=0.25)\n"
    "    return bn(x)\n"
    "}\n"
    "model BNPlain {\n"
    "    input x: f32[B, 3]\n"
    "    bn = BatchNorm1d(3, affine=false, track_running_stats=false)\n"
    "    return bn(x)\n"
    "}\n"
    "model BN3d {\n"
    "    input x: f32[B, 2, 3]\n"
    "    bn = BatchNorm1d(2)\n"
    "    return bn(x)\n"
    "}\n";

static void test_batchnorm_running_stats(void **state) {
  (void)state;
  Model m = build("bn.jsc", bn_src, "BN", "shape");
  RtState *s = new_state(m.g, 1);
  float *w = rt_state_tensor(s, "bn.weight"), *b = rt_state_tensor(s, "bn.bias");
  float *rm = rt_state_tensor(s, "bn.running_mean"), *rv = rt_state_tensor(s, "bn.running_var");
  int nbt = rt_state_index(s, "bn.num_batches_tracked");
  assert_true(w && b && rm && rv && nbt >= 0);
  float wv[3] = {2, 0.5f, 1}, bv[3] = {0.1f, -1, 0}, rm0[3] = {0.5f, 0, -1}, rv0[3] = {2, 1, 0.25f};
  memcpy(w, wv, sizeof wv);
  memcpy(b, bv, sizeof bv);
  memcpy(rm, rm0, sizeof rm0);
  memcpy(rv, rv0, sizeof rv0);
  float x[4 * 3] = {1, 2, 3, 4, 0, -1, -2, 5, 0.5f, 1, 1, 7};
  int64_t dims[2] = {4, 3};
  const char *names[1] = {"x"};
  RtTensor in = f32_tensor(x, 2, dims);

  RtInterpOut out;
  run_ok(m.g, s, RT_TRAIN, 0, 0, 1, names, &in, &out);
  for (int c = 0; c < 3; c++) {
    double mean = 0, var = 0;
    for (int n = 0; n < 4; n++) mean += x[n * 3 + c] / 4.0;
    for (int n = 0; n < 4; n++) var += (x[n * 3 + c] - mean) * (x[n * 3 + c] - mean) / 4.0;
    for (int n = 0; n < 4; n++) {
      double want = (x[n * 3 + c] - mean) / sqrt(var + 1e-5) * wv[c] + bv[c];
      assert_true(fabs(out.logits.f[n * 3 + c] - want) < 1e-5);
    }
    /* momentum 0.25, unbiased variance: var * 4/3 */
    assert_true(fabs(rm[c] - (0.75 * rm0[c] + 0.25 * mean)) < 1e-6);
    assert_true(fabs(rv[c] - (0.75 * rv0[c] + 0.25 * var * 4.0 / 3.0)) < 1e-6);
  }
  assert_int_equal(s->i64[nbt], 1);
  rt_interp_out_free(&out);

  /* eval: the running statistics normalise; nothing is updated */
  float rm1[3], rv1[3];
  memcpy(rm1, rm, sizeof rm1);
  memcpy(rv1, rv, sizeof rv1);
  run_ok(m.g, s, RT_EVAL, 0, 0, 1, names, &in, &out);
  for (int c = 0; c < 3; c++)
    for (int n = 0; n < 4; n++) {
      double want = (x[n * 3 + c] - rm1[c]) / sqrt(rv1[c] + 1e-5) * wv[c] + bv[c];
      assert_true(fabs(out.logits.f[n * 3 + c] - want) < 1e-5);
    }
  assert_memory_equal(rm, rm1, sizeof rm1);
  assert_memory_equal(rv, rv1, sizeof rv1);
  assert_int_equal(s->i64[nbt], 1);
  rt_interp_out_free(&out);

  /* a batch of one cannot train BatchNorm (PyTorch's ValueError); eval can run it */
  dims[0] = 1;
  in = f32_tensor(x, 2, dims);
  run_fails(m.g, s, RT_TRAIN, 1, names, &in, "more than 1 value per channel", "[1,3]", NULL);
  run_ok(m.g, s, RT_EVAL, 0, 0, 1, names, &in, &out);
  rt_interp_out_free(&out);
  rt_state_free(s);
  model_free(&m);

  /* affine=false, track_running_stats=false: batch statistics in both modes, no state */
  m = build("bn.jsc", bn_src, "BNPlain", "shape");
  s = new_state(m.g, 1);
  assert_int_equal(s->n, 0);
  dims[0] = 4;
  in = f32_tensor(x, 2, dims);
  for (int mode = 0; mode < 2; mode++) {
    run_ok(m.g, s, (RtMode)mode, 0, 0, 1, names, &in, &out);
    for (int c = 0; c < 3; c++) {
      double sum = 0, sq = 0;
      for (int n = 0; n < 4; n++) sum += out.logits.f[n * 3 + c], sq += out.logits.f[n * 3 + c] * out.logits.f[n * 3 + c];
      assert_true(fabs(sum) < 1e-5 && fabs(sq / 4 - 1) < 1e-3);
    }
    rt_interp_out_free(&out);
  }
  rt_state_free(s);
  model_free(&m);

  /* [N, C, L]: statistics over dims 0 and 2; the unbiased factor is M/(M-1) with M = N*L */
  m = build("bn.jsc", bn_src, "BN3d", "shape");
  s = new_state(m.g, 1);
  int64_t d3[3] = {2, 2, 3};
  in = f32_tensor(x, 3, d3);
  run_ok(m.g, s, RT_TRAIN, 0, 0, 1, names, &in, &out);
  rv = rt_state_tensor(s, "bn.running_var");
  rm = rt_state_tensor(s, "bn.running_mean");
  for (int c = 0; c < 2; c++) {
    double mean = 0, var = 0;
    for (int n = 0; n < 2; n++)
      for (int l = 0; l < 3; l++) mean += x[(n * 2 + c) * 3 + l] / 6.0;
    for (int n = 0; n < 2; n++)
      for (int l = 0; l < 3; l++) var += pow(x[(n * 2 + c) * 3 + l] - mean, 2) / 6.0;
    for (int n = 0; n < 2; n++)
      for (int l = 0; l < 3; l++)
        assert_true(fabs(out.logits.f[(n * 2 + c) * 3 + l] - (x[(n * 2 + c) * 3 + l] - mean) / sqrt(var + 1e-5)) < 1e-5);
    assert_true(fabs(rm[c] - 0.1 * mean) < 1e-6);
    assert_true(fabs(rv[c] - (0.9 + 0.1 * var * 6 / 5)) < 1e-6);
  }
  rt_interp_out_free(&out);
  rt_state_free(s);
  model_free(&m);
}

/* ---- Dropout ---- */

static const char *drop_src =
    "model Drop {\n"
    "    input x: f32[B, 7]\n"
    "    drop = Dropout(p=0.3)\n"
    "    return drop(x)\n"
    "}\n"
    "model DropFn {\n"
    "    input x: f32[B, 7]\n"
    "    return dropout(x, 0.3) + dropout(x, p=0.9, training=false)\n"
    "}\n"
    "model DropEdge {\n"
    "    input x: f32[B, 7]\n"
    "    return dropout(x, 1.0) + dropout(x, 0.0) * 2\n"
    "}\n"
    "model DropTrain {\n"
    "    input x: f32[B, 4]\n"
    "    lin = Linear(4, 5)\n"
    "    drop = Dropout(0.4)\n"
    "    return drop(lin(x))\n"
    "}\n";

/* The element keeps of a dropout node, as the hash says. */
static bool keeps(uint32_t seed, uint32_t step, const char *node, int64_t i, float p) {
  return rt_dropout_keep(rt_dropout_bits(seed, step, (uint32_t)ir_hash_str(node), (uint32_t)i), p);
}

static void test_dropout(void **state) {
  (void)state;
  enum { N = 40, F = 7 };
  float x[N * F];
  for (int i = 0; i < N * F; i++) x[i] = 1.0f + (float)i / 100;
  int64_t dims[2] = {N, F};
  const char *names[1] = {"x"};
  RtTensor in = f32_tensor(x, 2, dims);
  RtInterpOut out;

  Model m = build("drop.jsc", drop_src, "Drop", "shape");
  const char *dn = m.g->first->next->name; /* the dropout node */
  assert_string_equal(dn, "drop");
  RtState *s = new_state(m.g, 1);
  run_ok(m.g, s, RT_TRAIN, 11, 3, 1, names, &in, &out);
  int kept = 0;
  for (int i = 0; i < N * F; i++) {
    bool k = keeps(11, 3, dn, i, 0.3f);
    kept += k;
    assert_true(fabs(out.logits.f[i] - (k ? x[i] / 0.7 : 0)) < 1e-6);
  }
  assert_true(kept > N * F / 2 && kept < N * F * 9 / 10); /* about 70% */
  rt_interp_out_free(&out);
  /* another step draws another mask; eval is the identity */
  run_ok(m.g, s, RT_TRAIN, 11, 4, 1, names, &in, &out);
  int same = 0;
  for (int i = 0; i < N * F; i++) same += (out.logits.f[i] != 0) == keeps(11, 3, dn, i, 0.3f);
  assert_true(same < N * F);
  rt_interp_out_free(&out);
  run_ok(m.g, s, RT_EVAL, 11, 3, 1, names, &in, &out);
  assert_memory_equal(out.logits.f, x, sizeof x);
  rt_interp_out_free(&out);
  rt_state_free(s);
  model_free(&m);

  /* functional dropout obeys `training`, not the mode */
  m = build("drop.jsc", drop_src, "DropFn", "shape");
  s = new_state(m.g, 1);
  for (int mode = 0; mode < 2; mode++) {
    run_ok(m.g, s, (RtMode)mode, 5, 0, 1, names, &in, &out);
    for (int i = 0; i < N * F; i++)
      assert_true(fabs(out.logits.f[i] - ((keeps(5, 0, "dropout", i, 0.3f) ? x[i] / 0.7 : 0) + x[i])) < 1e-5);
    rt_interp_out_free(&out);
  }
  rt_state_free(s);
  model_free(&m);

  /* p = 1 gives zeros, p = 0 the identity */
  m = build("drop.jsc", drop_src, "DropEdge", "shape");
  s = new_state(m.g, 1);
  run_ok(m.g, s, RT_TRAIN, 5, 0, 1, names, &in, &out);
  for (int i = 0; i < N * F; i++) assert_true(out.logits.f[i] == 2 * x[i]);
  rt_interp_out_free(&out);
  rt_state_free(s);
  model_free(&m);
}

/* The backward applies the forward's mask: d loss / d lin.bias[j] =
 * sum_r (softmax(y[r]) - onehot(t[r]))[j] / N * keep[r,j] / (1-p), with y the logits. */
static void test_dropout_backward_mask(void **state) {
  (void)state;
  enum { N = 30 };
  Model m = build("drop.jsc", drop_src, "DropTrain", "grad");
  RtState *s = new_state(m.g, 3);
  float x[N * 4];
  int64_t t[N];
  Rng r;
  rt_rng_seed(&r, 9);
  for (int i = 0; i < N * 4; i++) x[i] = (float)rt_rng_normal(&r);
  for (int i = 0; i < N; i++) t[i] = (int64_t)rt_rng_below(&r, 5);
  int64_t dims[2] = {N, 4};
  const char *names[2] = {"x", "target"};
  RtTensor in[2] = {f32_tensor(x, 2, dims), i64_tensor(t, N)};
  RtInterpOut out;
  run_ok(m.g, s, RT_TRAIN, 77, 12, 2, names, in, &out);
  const float *gb = s->grad + s->off[rt_state_index(s, "lin.bias")];
  double want[5] = {0};
  int dropped = 0;
  for (int n = 0; n < N; n++) {
    const float *y = out.logits.f + n * 5;
    double mx = y[0], z = 0;
    for (int j = 1; j < 5; j++) mx = fmax(mx, y[j]);
    for (int j = 0; j < 5; j++) z += exp(y[j] - mx);
    for (int j = 0; j < 5; j++) {
      bool k = keeps(77, 12, "drop", n * 5 + j, 0.4f);
      dropped += !k;
      /* the forward zeroed exactly the dropped elements */
      if (!k) assert_true(y[j] == 0);
      double dy = (exp(y[j] - mx) / z - (j == t[n])) / N;
      want[j] += k ? dy / 0.6 : 0;
    }
  }
  assert_true(dropped > 0);
  for (int j = 0; j < 5; j++) assert_true(fabs(gb[j] - want[j]) < 1e-6);
  rt_interp_out_free(&out);
  rt_state_free(s);
  model_free(&m);
}

/* ---- operators by hand ---- */

/* Runs a one-model source on inputs, returning the output (RT_EVAL). */
static void eval_src(const char *src, int n, const char *const *names, const RtTensor *in, RtInterpOut *out) {
  Model m = build("ops.jsc", src, NULL, "shape");
  RtState *s = new_state(m.g, 1);
  run_ok(m.g, s, RT_EVAL, 0, 0, n, names, in, out);
  rt_state_free(s);
  model_free(&m);
}

static void test_broadcast_arith(void **state) {
  (void)state;
  float a[2 * 3], b[4];
  for (int i = 0; i < 6; i++) a[i] = (float)(i + 1);
  for (int i = 0; i < 4; i++) b[i] = (float)(10 * (i + 1));
  int64_t da[3] = {2, 1, 3}, db[2] = {4, 1};
  const char *names[2] = {"a", "b"};
  RtTensor in[2] = {f32_tensor(a, 3, da), f32_tensor(b, 2, db)};
  RtInterpOut out;
  /* [2,1,3] (op) [4,1] -> [2,4,3], numbers on either side, true division of ints */
  eval_src("model M { input a: f32[2,1,3]\n input b: f32[4,1]\n"
           " return (a + b) * 2 - 1 + sub(3.0, a) / b - div(a, 4) + neg(b) + mul(2, a) }",
           2, names, in, &out);
  assert_int_equal(out.logits.rank, 3);
  assert_true(out.logits.dims[0] == 2 && out.logits.dims[1] == 4 && out.logits.dims[2] == 3);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 4; j++)
      for (int k = 0; k < 3; k++) {
        double av = a[i * 3 + k], bv = b[j];
        double want = (av + bv) * 2 - 1 + (3.0 - av) / bv - av / 4 - bv + 2 * av;
        assert_true(fabs(out.logits.f[(i * 4 + j) * 3 + k] - want) < 1e-4);
      }
  rt_interp_out_free(&out);
}

static void test_matmul(void **state) {
  (void)state;
  float a[2 * 2 * 3], w[3 * 4], v[3];
  for (int i = 0; i < 12; i++) a[i] = (float)(i % 5) - 1.5f;
  for (int i = 0; i < 12; i++) w[i] = (float)(i % 7) * 0.5f - 1;
  for (int i = 0; i < 3; i++) v[i] = (float)(i + 1);
  int64_t da[3] = {2, 2, 3}, dw[2] = {3, 4}, dv[1] = {3};
  const char *names[3] = {"a", "w", "v"};
  RtTensor in[3] = {f32_tensor(a, 3, da), f32_tensor(w, 2, dw), f32_tensor(v, 1, dv)};
  RtInterpOut out;
  /* batched [2,2,3] @ [3,4] -> [2,2,4] */
  eval_src("model M { input a: f32[2,2,3]\n input w: f32[3,4]\n input v: f32[3]\n return a @ w }", 3, names, in, &out);
  for (int b = 0; b < 2; b++)
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 4; j++) {
        double s = 0;
        for (int k = 0; k < 3; k++) s += a[(b * 2 + i) * 3 + k] * w[k * 4 + j];
        assert_true(fabs(out.logits.f[(b * 2 + i) * 4 + j] - s) < 1e-5);
      }
  rt_interp_out_free(&out);
  /* 1-D promotion: [3] @ [3,4] -> [4]; [2,2,3] @ [3] -> [2,2] */
  eval_src("model M { input a: f32[2,2,3]\n input w: f32[3,4]\n input v: f32[3]\n return matmul(v, w) }", 3, names, in,
           &out);
  assert_int_equal(out.logits.rank, 1);
  for (int j = 0; j < 4; j++) {
    double s = 0;
    for (int k = 0; k < 3; k++) s += v[k] * w[k * 4 + j];
    assert_true(fabs(out.logits.f[j] - s) < 1e-5);
  }
  rt_interp_out_free(&out);
  eval_src("model M { input a: f32[2,2,3]\n input w: f32[3,4]\n input v: f32[3]\n return a.matmul(v) }", 3, names, in,
           &out);
  assert_int_equal(out.logits.rank, 2);
  for (int i = 0; i < 4; i++) {
    double s = 0;
    for (int k = 0; k < 3; k++) s += a[i * 3 + k] * v[k];
    assert_true(fabs(out.logits.f[i] - s) < 1e-5);
  }
  rt_interp_out_free(&out);
  /* batch broadcasting: [2,1,2,3] @ [3,3,4] -> [2,3,2,4] (w viewed as [3,3,4] from [3,4] repeated) */
  float w3[3 * 3 * 4];
  for (int i = 0; i < 36; i++) w3[i] = (float)((i * 7) % 11) - 5;
  int64_t da4[4] = {2, 1, 2, 3}, dw3[3] = {3, 3, 4};
  RtTensor in2[2] = {f32_tensor(a, 4, da4), f32_tensor(w3, 3, dw3)};
  const char *names2[2] = {"a", "w"};
  eval_src("model M { input a: f32[2,1,2,3]\n input w: f32[3,3,4]\n return a @ w }", 2, names2, in2, &out);
  assert_int_equal(out.logits.rank, 4);
  for (int b = 0; b < 2; b++)
    for (int c = 0; c < 3; c++)
      for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++) {
          double s = 0;
          for (int k = 0; k < 3; k++) s += a[(b * 2 + i) * 3 + k] * w3[(c * 3 + k) * 4 + j];
          assert_true(fabs(out.logits.f[((b * 3 + c) * 2 + i) * 4 + j] - s) < 1e-5);
        }
  rt_interp_out_free(&out);
}

static void test_shape_ops(void **state) {
  (void)state;
  float x[2 * 3 * 4];
  for (int i = 0; i < 24; i++) x[i] = (float)i;
  int64_t dx[3] = {2, 3, 4};
  const char *names[1] = {"x"};
  RtTensor in = f32_tensor(x, 3, dx);
  RtInterpOut out;
  /* transpose(0, 2): y[k,j,i] = x[i,j,k] */
  eval_src("model M { input x: f32[B,3,4]\n return transpose(x, 0, 2) }", 1, names, &in, &out);
  assert_true(out.logits.dims[0] == 4 && out.logits.dims[1] == 3 && out.logits.dims[2] == 2);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 4; k++) assert_true(out.logits.f[(k * 3 + j) * 2 + i] == x[(i * 3 + j) * 4 + k]);
  rt_interp_out_free(&out);
  /* view / flatten keep the order; sum with keepdim; sum_to reverses broadcasting */
  eval_src("model M { input x: f32[B,3,4]\n return x.view(-1, 12).t().t() + flatten(x, 1) - x.reshape(-1, 12) }", 1,
           names, &in, &out);
  assert_true(out.logits.rank == 2 && out.logits.dims[0] == 2 && out.logits.dims[1] == 12);
  for (int i = 0; i < 24; i++) assert_true(out.logits.f[i] == x[i]);
  rt_interp_out_free(&out);
  eval_src("model M { input x: f32[B,3,4]\n return sum(x, 1, keepdim=true) }", 1, names, &in, &out);
  assert_true(out.logits.rank == 3 && out.logits.dims[1] == 1);
  for (int i = 0; i < 2; i++)
    for (int k = 0; k < 4; k++)
      assert_true(out.logits.f[i * 4 + k] == x[(i * 3) * 4 + k] + x[(i * 3 + 1) * 4 + k] + x[(i * 3 + 2) * 4 + k]);
  rt_interp_out_free(&out);
  eval_src("model M { input x: f32[B,3,4]\n param like: f32[3,1] = zeros\n return sum_to(x, like) }", 1, names, &in, &out);
  assert_true(out.logits.rank == 2 && out.logits.dims[0] == 3 && out.logits.dims[1] == 1);
  for (int j = 0; j < 3; j++) {
    double s = 0;
    for (int i = 0; i < 2; i++)
      for (int k = 0; k < 4; k++) s += x[(i * 3 + j) * 4 + k];
    assert_true(out.logits.f[j] == s);
  }
  rt_interp_out_free(&out);
  /* Softmax(dim=None) on 3-D: dim 0; LogSoftmax on 2-D: dim 1 */
  eval_src("model M { input x: f32[B,3,4]\n sm = Softmax()\n return sm(x) }", 1, names, &in, &out);
  for (int j = 0; j < 12; j++) assert_true(fabs(out.logits.f[j] + out.logits.f[12 + j] - 1) < 1e-6);
  assert_true(fabs(out.logits.f[0] - 1 / (1 + exp(12.0))) < 1e-6);
  rt_interp_out_free(&out);
  int64_t d2[2] = {4, 6};
  in = f32_tensor(x, 2, d2);
  eval_src("model M { input x: f32[B,6]\n sm = LogSoftmax()\n return sm(x) }", 1, names, &in, &out);
  for (int r = 0; r < 4; r++) {
    double z = 0;
    for (int j = 0; j < 6; j++) z += exp(out.logits.f[r * 6 + j]);
    assert_true(fabs(z - 1) < 1e-6);
  }
  rt_interp_out_free(&out);
}

static void test_conv1d(void **state) {
  (void)state;
  /* cross-correlation with zero padding: x = [1,2,3,4], w = [1,-1], padding 1 */
  float x[4] = {1, 2, 3, 4}, w[2] = {1, -1};
  int64_t dx[3] = {1, 1, 4}, dw[3] = {1, 1, 2};
  const char *names[2] = {"x", "w"};
  RtTensor in[2] = {f32_tensor(x, 3, dx), f32_tensor(w, 3, dw)};
  RtInterpOut out;
  eval_src("model M { input x: f32[B,1,4]\n input w: f32[1,1,2]\n return conv1d(x, w, padding=1) }", 2, names, in, &out);
  float want[5] = {-1, -1, -1, -1, 4};
  assert_true(out.logits.dims[2] == 5);
  assert_memory_equal(out.logits.f, want, sizeof want);
  rt_interp_out_free(&out);
  /* groups=2, stride 2, dilation 2, bias: y[n,o,t] = b[o] + sum_{c,k} w[o,c,k] x[n, g*2+c, 2t - 1 + 2k] */
  float x2[2 * 4 * 7], w2[4 * 2 * 3], b2[4] = {0.5f, -1, 2, 0};
  for (int i = 0; i < 56; i++) x2[i] = (float)((i * 5) % 9) - 4;
  for (int i = 0; i < 24; i++) w2[i] = (float)((i * 3) % 5) - 2;
  int64_t dx2[3] = {2, 4, 7}, dw2[3] = {4, 2, 3}, db2[1] = {4};
  const char *names2[3] = {"x", "w", "b"};
  RtTensor in2[3] = {f32_tensor(x2, 3, dx2), f32_tensor(w2, 3, dw2), f32_tensor(b2, 1, db2)};
  eval_src("model M { input x: f32[B,4,7]\n input w: f32[4,2,3]\n input b: f32[4]\n"
           " return conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2) }",
           3, names2, in2, &out);
  int64_t lout = (7 + 2 - 2 * 2 - 1) / 2 + 1;
  assert_int_equal(out.logits.dims[2], lout);
  for (int n = 0; n < 2; n++)
    for (int o = 0; o < 4; o++)
      for (int t = 0; t < lout; t++) {
        double s = b2[o];
        for (int c = 0; c < 2; c++)
          for (int k = 0; k < 3; k++) {
            int at = 2 * t - 1 + 2 * k;
            if (at >= 0 && at < 7) s += w2[(o * 2 + c) * 3 + k] * x2[(n * 4 + (o / 2) * 2 + c) * 7 + at];
          }
        assert_true(fabs(out.logits.f[(n * 4 + o) * lout + t] - s) < 1e-5);
      }
  rt_interp_out_free(&out);
}

/* Every op and module of examples/all_ops.jsc runs in both modes, with finite results. */
static void test_all_ops(void **state) {
  (void)state;
  Model m = build("examples/all_ops.jsc", NULL, NULL, "shape");
  RtState *s = new_state(m.g, 4);
  enum { B = 6 };
  float x[B * 16], seq[B * 4 * 8];
  int64_t labels[B];
  Rng r;
  rt_rng_seed(&r, 2);
  for (int i = 0; i < B * 16; i++) x[i] = (float)rt_rng_normal(&r);
  for (int i = 0; i < B * 32; i++) seq[i] = (float)rt_rng_normal(&r);
  for (int i = 0; i < B; i++) labels[i] = i % 5;
  int64_t dx[2] = {B, 16}, ds[3] = {B, 4, 8};
  const char *names[3] = {"x", "seq", "labels"};
  RtTensor in[3] = {f32_tensor(x, 2, dx), f32_tensor(seq, 3, ds), i64_tensor(labels, B)};
  for (int mode = 0; mode < 2; mode++) {
    RtInterpOut out;
    run_ok(m.g, s, (RtMode)mode, 1, 2, 3, names, in, &out);
    assert_true(out.logits.rank == 2 && out.logits.dims[0] == B && out.logits.dims[1] == 5);
    for (int i = 0; i < B * 5; i++) assert_true(isfinite(out.logits.f[i]));
    rt_interp_out_free(&out);
  }
  /* a bad label reaches cross_entropy */
  labels[3] = 5;
  run_fails(m.g, s, RT_EVAL, 3, names, in, "%cross_entropy", "target 5 at row 3 is out of range for 5 classes", NULL);
  rt_state_free(s);
  model_free(&m);
}

/* ---- errors ---- */

static void test_bad_inputs(void **state) {
  (void)state;
  Model m = build("examples/jsc_tiny.jsc", NULL, NULL, "grad");
  RtState *s = new_state(m.g, 1);
  enum { B = 8 };
  float x[B * 17] = {0};
  int64_t t[B] = {0, 1, 2, 3, 4, 0, 1, 2};
  const char *names[2] = {"x", "target"};
  int64_t dx[2] = {B, 16};
  RtTensor in[2] = {f32_tensor(x, 2, dx), i64_tensor(t, B)};
  RtInterpOut out;
  run_ok(m.g, s, RT_TRAIN, 0, 0, 2, names, in, &out);
  assert_true(out.has_loss && isfinite(out.loss));
  rt_interp_out_free(&out);

  /* wrong feature count, rank, dtype */
  int64_t bad[3] = {B, 17, 1};
  in[0] = f32_tensor(x, 2, bad);
  run_fails(m.g, s, RT_TRAIN, 2, names, in, "input 'x' expects f32[B,16], got f32[8,17]", NULL);
  in[0] = f32_tensor(x, 3, bad);
  run_fails(m.g, s, RT_TRAIN, 2, names, in, "input 'x' expects f32[B,16], got f32[8,17,1]", "rank 3", NULL);
  in[0] = (RtTensor){.dtype = DT_I64, .rank = 2, .dims = {B, 16}, .i = t};
  run_fails(m.g, s, RT_TRAIN, 2, names, in, "input 'x' expects f32[B,16], got i64[8,16]", "dtype", NULL);
  in[0] = f32_tensor(NULL, 2, dx);
  run_fails(m.g, s, RT_TRAIN, 2, names, in, "input 'x'", "no data", NULL);
  in[0] = f32_tensor(x, 2, dx);
  /* targets: a batch that disagrees with x's B, out-of-range classes */
  in[1] = i64_tensor(t, B - 1);
  run_fails(m.g, s, RT_TRAIN, 2, names, in, "input 'target' expects i64[B] with B = 8 (from input 'x'), got i64[7]", NULL);
  in[1] = i64_tensor(t, B);
  t[5] = 5;
  run_fails(m.g, s, RT_TRAIN, 2, names, in, "target 5 at row 5 is out of range for 5 classes", NULL);
  t[5] = -1;
  run_fails(m.g, s, RT_TRAIN, 2, names, in, "target -1 at row 5 is out of range", NULL);
  t[5] = 0;
  in[1] = (RtTensor){.dtype = DT_F32, .rank = 1, .dims = {B}, .f = x};
  run_fails(m.g, s, RT_TRAIN, 2, names, in, "input 'target' expects i64[B], got f32[8]", NULL);
  in[1] = i64_tensor(t, B);
  /* unbound, unknown and twice-bound inputs */
  run_fails(m.g, s, RT_TRAIN, 1, names, in, "input 'target' (i64[B]) is not bound", NULL);
  const char *typo[2] = {"xx", "target"};
  run_fails(m.g, s, RT_TRAIN, 2, typo, in, "has no input named 'xx' (did you mean 'x'?)", NULL);
  const char *twice[2] = {"x", "x"};
  RtTensor in2[2] = {in[0], in[0]};
  run_fails(m.g, s, RT_TRAIN, 2, twice, in2, "input 'x' is bound twice", NULL);
  /* the state must hold the graph's parameters */
  Model other = build("examples/jsc_big.jsc", NULL, NULL, "shape");
  RtState *s2 = new_state(other.g, 1);
  run_fails(m.g, s2, RT_TRAIN, 2, names, in, "parameter 'seq_blocks.2.weight'", "f32[5,16] in the model but f32[32,16] in the state", NULL);
  rt_state_free(s2);
  model_free(&other);
  rt_state_free(s);
  model_free(&m);

  /* a graph without types: run shape first */
  m = build("examples/jsc_tiny.jsc", NULL, NULL, NULL);
  s = new_state(m.g, 1);
  run_fails(m.g, s, RT_EVAL, 1, names, in, "has no type; run the 'shape' pass", NULL);
  rt_state_free(s);
  model_free(&m);
}

/* ---- memory ---- */

/* An allocation hook that tracks live and peak bytes (malloc_usable_size) and can fail
 * after a number of allocations. */
typedef struct Track {
  long long live, peak;
  long budget; /* allocations left before failing; < 0: never fail */
} Track;

static void *track_hook(void *ctx, void *ptr, size_t size) {
  Track *t = ctx;
  if (size == 0) {
    if (ptr) t->live -= (long long)malloc_usable_size(ptr);
    free(ptr);
    return NULL;
  }
  if (t->budget == 0) return NULL;
  if (t->budget > 0) t->budget--;
  long long old = ptr ? (long long)malloc_usable_size(ptr) : 0;
  void *p = ptr ? realloc(ptr, size) : malloc(size);
  if (!p) return NULL;
  t->live += (long long)malloc_usable_size(p) - old;
  if (t->live > t->peak) t->peak = t->live;
  return p;
}

/* A big batch: a run holds only live values.  Forward, two activations at a time; training,
 * the activations the backward needs until it has used them, plus one or two gradients. */
static void memory_run(const char *pipeline, double max_fraction, double max_largest) {
  Model m = build("examples/jsc_big.jsc", NULL, NULL, pipeline);
  RtState *s = new_state(m.g, 1);
  enum { B = 4096 };
  float *x = malloc(sizeof(float) * B * 16);
  int64_t *t = malloc(sizeof(int64_t) * B);
  Rng r;
  rt_rng_seed(&r, 1);
  for (int i = 0; i < B * 16; i++) x[i] = (float)rt_rng_normal(&r);
  for (int i = 0; i < B; i++) t[i] = (int64_t)rt_rng_below(&r, 5);
  int64_t dx[2] = {B, 16};
  const char *names[2] = {"x", "target"};
  RtTensor in[2] = {f32_tensor(x, 2, dx), i64_tensor(t, B)};
  long long all = 0, big = 0; /* every node's result in double; the largest */
  for (const Node *n = m.g->first; n; n = n->next) {
    if (!n->has_type) continue;
    long long e = 1;
    for (int i = 0; i < n->type.rank; i++) e *= n->type.dims[i].sym ? B : n->type.dims[i].size;
    all += e * 8;
    if (e * 8 > big) big = e * 8;
  }
  Track tr = {0, 0, -1};
  Diag d;
  diag_init(&d, stderr);
  RtInterpOut out;
  bool train = strcmp(pipeline, "grad") == 0;
  ir_set_alloc_hook(track_hook, &tr);
  Status st = run(m.g, s, train ? RT_TRAIN : RT_EVAL, 0, 0, train ? 2 : 1, names, in, &out, &d);
  rt_interp_out_free(&out);
  ir_set_alloc_hook(NULL, NULL);
  assert_int_equal(st, JS_OK);
  print_message("jsc_big %s, batch %d: peak %.1f MiB, every node's result %.1f MiB\n", train ? "training" : "forward", B,
                (double)tr.peak / 1048576, (double)all / 1048576);
  assert_true((double)tr.peak < max_fraction * (double)all);
  assert_true((double)tr.peak < max_largest * (double)big);
  diag_free(&d);
  free(x);
  free(t);
  rt_state_free(s);
  model_free(&m);
}

static void test_memory_bounded(void **state) {
  (void)state;
  memory_run("shape", 0.3, 2.2); /* an input and an output live, each at most the largest */
  memory_run("grad", 0.5, 100);
}

/* Every allocation of a run may fail: the run reports JS_ENOMEM and leaks nothing. */
static void test_alloc_failure(void **state) {
  (void)state;
  Model m = build("examples/jsc_toy.jsc", NULL, NULL, "grad");
  RtState *s = new_state(m.g, 1);
  enum { B = 8 };
  float x[B * 16];
  int64_t t[B];
  for (int i = 0; i < B * 16; i++) x[i] = (float)(i % 13) / 7 - 0.8f;
  for (int i = 0; i < B; i++) t[i] = i % 5;
  int64_t dx[2] = {B, 16};
  const char *names[2] = {"x", "target"};
  RtTensor in[2] = {f32_tensor(x, 2, dx), i64_tensor(t, B)};
  int failures = 0;
  for (long budget = 0;; budget++) {
    Track tr = {0, 0, budget};
    Diag d;
    diag_init(&d, NULL);
    RtInterpOut out;
    ir_set_alloc_hook(track_hook, &tr);
    Status st = run(m.g, s, RT_TRAIN, 0, 0, 2, names, in, &out, &d);
    rt_interp_out_free(&out);
    diag_free(&d);
    ir_set_alloc_hook(NULL, NULL);
    if (st == JS_OK) break;
    assert_int_equal(st, JS_ENOMEM);
    failures++;
    assert_true(budget < 100000);
  }
  print_message("jsc_toy training run: %d allocation failures reported\n", failures);
  assert_true(failures > 10);
  rt_state_free(s);
  model_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reference_jsc_tiny),
      cmocka_unit_test(test_reference_jsc_big),
      cmocka_unit_test(test_reference_jsc_conv),
      cmocka_unit_test(test_batchnorm_running_stats),
      cmocka_unit_test(test_dropout),
      cmocka_unit_test(test_dropout_backward_mask),
      cmocka_unit_test(test_broadcast_arith),
      cmocka_unit_test(test_matmul),
      cmocka_unit_test(test_shape_ops),
      cmocka_unit_test(test_conv1d),
      cmocka_unit_test(test_all_ops),
      cmocka_unit_test(test_bad_inputs),
      cmocka_unit_test(test_memory_bounded),
      cmocka_unit_test(test_alloc_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
