/* test_profile.c — the `profile` and `report-meta` passes and the runtime sampler behind them
 * (runtime/sample.c).
 *
 * Statistics against PyTorch: test/data/profile/cases.txt (scripts/profile_reference.py)
 * holds seeded rows, the statistics asked for and what PyTorch 1.13 computes; a fake sampler
 * hands the rows to the pass batch by batch.  Each value must be within 1e-5 of the reference,
 * relative to the larger of it and the data's largest magnitude (torch works in float32, the
 * pass in double); the max difference per case is printed.
 *
 * End to end: examples/jsc_tiny.jsc with seeded weights (BatchNorm's stats randomised) and the
 * sampler's N(0, 1) inputs gives MASE's lab counts (512, 160, 80, 5); the ReLU inputs' min and
 * max equal a direct computation from the same inputs and weights; a synthetic JSC split
 * feeds the placeholder itself.  Errors name the option.  report-meta's table for jsc_tiny is
 * a golden file (test/golden/jsc_tiny.report_meta.txt; JSCC_UPDATE_GOLDEN=1 rewrites it), its
 * CSV and JSON files are written where `file` and out_dir say.  Allocation failures are
 * reported, never crashed on. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "frontend.h"
#include "runtime.h"
#include "th.h"
#include "tlib.h"
#include "../fail_nth.h"

/* ---- helpers ---- */

/* One parsed example with what owns it. */
typedef struct Model {
  Arena *a;
  Program *p;
  Graph *g;
} Model;

static Model load_example(const char *name) {
  Model m = {arena_new(), NULL, NULL};
  char path[512];
  snprintf(path, sizeof path, "%s/examples/%s.jsc", tl_source_root(), name);
  Diag d;
  diag_init(&d, stderr);
  SrcFile *f = NULL;
  assert_int_equal(diag_read_file(m.a, path, &f, &d), JS_OK);
  assert_int_equal(fe_parse(f, &m.p, &d), JS_OK);
  m.g = m.p->graphs[0];
  diag_free(&d);
  return m;
}

static void model_free(Model *m) {
  ir_program_free(m->p);
  arena_free(m->a);
}

/* Runs a pipeline with weights and samples from `data`; the report goes to *report (caller
 * frees) and errors to d. */
static Status run_with(Graph *g, const char *pipeline, const PassData *data, const char *out_dir, char **report,
                       Diag *d) {
  StrBuf r;
  sb_init(&r);
  Pipeline *pl = NULL;
  Status st = pass_pipeline_parse(pipeline, &pl, d);
  if (!st) {
    PassContext ctx = {.diag = d, .report = &r, .data = data, .out_dir = out_dir};
    st = pass_pipeline_run(pl, g, &ctx);
  }
  pass_pipeline_free(pl);
  if (report) *report = strdup(sb_str(&r));
  sb_free(&r);
  return st;
}

static char *run_ok(Graph *g, const char *pipeline, const PassData *data) {
  Diag d;
  diag_init(&d, NULL);
  char *report = NULL;
  Status st = run_with(g, pipeline, data, NULL, &report, &d);
  if (st) print_error("%s\n", sb_str(&d.text));
  assert_int_equal(st, JS_OK);
  diag_free(&d);
  return report;
}

/* Runs a pipeline that must fail with a message containing `want`. */
static void run_fails(Graph *g, const char *pipeline, const PassData *data, const char *want) {
  Diag d;
  diag_init(&d, NULL);
  char *report = NULL;
  Status st = run_with(g, pipeline, data, NULL, &report, &d);
  assert_int_not_equal(st, JS_OK);
  assert_contains(sb_str(&d.text), want);
  free(report);
  diag_free(&d);
}

/* node.meta.software.args.<entry>.stat.<stat>.<field>, or NULL. */
static const Value *dict_get(const Value *v, const char *key) {
  for (int i = 0; v && v->kind == VAL_DICT && i < v->u.dict.n; i++)
    if (strcmp(v->u.dict.keys[i], key) == 0) return &v->u.dict.vals[i];
  return NULL;
}

static const Value *stat_of(const Graph *g, const char *node, const char *entry, const char *stat) {
  const Node *n = ir_graph_find_node(g, node);
  assert_non_null(n);
  const Value *v = dict_get(dict_get(dict_get(ir_meta_get(n, "software"), "args"), entry), "stat");
  return stat ? dict_get(v, stat) : v;
}

static double field_num(const Graph *g, const char *node, const char *entry, const char *stat, const char *field) {
  const Value *v = dict_get(stat_of(g, node, entry, stat), field);
  if (!v || (v->kind != VAL_FLOAT && v->kind != VAL_INT))
    fail_msg("%s.%s.%s.%s: no number", node, entry, stat, field);
  return v->kind == VAL_FLOAT ? v->u.f : (double)v->u.i;
}

static int64_t count_of(const Graph *g, const char *node, const char *entry, const char *stat) {
  const Value *v = dict_get(stat_of(g, node, entry, stat), "count");
  if (!v || v->kind != VAL_INT) fail_msg("%s.%s.%s: no count", node, entry, stat);
  return v->u.i;
}

/* ---- statistics against PyTorch (a fake sampler feeds the reference rows) ---- */

#define MAX_BATCHES 8

typedef struct Case {
  char name[64];
  char options[512];
  int width;
  int nbatches;
  int rows[MAX_BATCHES];
  float *vals[MAX_BATCHES];
  int64_t total_rows;
  double maxabs; /* of all the values */
  int nexpect;
  char expect[8][512]; /* "STAT FIELD=VALUE ..." */
} Case;

/* What the fake sampler saw and delivers. */
typedef struct Fake {
  const Case *c;
  const Node *x; /* the node the pass must ask for */
  int calls;
} Fake;

static Status fake_sample(void *ud, const Graph *g, int64_t num_samples, int64_t batch_size, const Node *const *nodes,
                          int nnodes, Status (*fn)(void *fud, int k, const float *vals, int64_t rows, int64_t row_numel),
                          void *fud, Diag *d) {
  Fake *f = ud;
  f->calls++;
  assert_int_equal(nnodes, 1);
  assert_ptr_equal(nodes[0], f->x);
  assert_int_equal(num_samples, f->c->total_rows);
  assert_int_equal(batch_size, 8);
  for (int b = 0; b < f->c->nbatches; b++) {
    Status st = fn(fud, 0, f->c->vals[b], f->c->rows[b], f->c->width);
    if (st) return st;
  }
  return JS_OK;
}

static const float *no_param(void *ud, const Param *p) {
  return NULL;
}

/* dst = src, which must fit. */
static void copy_str(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  assert_true(n < cap);
  memcpy(dst, src, n + 1);
}

/* Reads the next case from the reference file; false at the end. */
static bool read_case(FILE *f, Case *c) {
  char line[4096];
  memset(c, 0, sizeof *c);
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (!*line || *line == '#') continue;
    if (strncmp(line, "case ", 5) == 0) {
      copy_str(c->name, sizeof c->name, line + 5);
    } else if (strncmp(line, "options ", 8) == 0) {
      copy_str(c->options, sizeof c->options, line + 8);
    } else if (strncmp(line, "width ", 6) == 0) {
      c->width = atoi(line + 6);
    } else if (strncmp(line, "batch ", 6) == 0) {
      assert_true(c->nbatches < MAX_BATCHES);
      int r = atoi(line + 6), n = r * c->width;
      float *v = malloc(sizeof(float) * (size_t)n);
      assert_non_null(v);
      for (int i = 0; i < n; i++) {
        assert_int_equal(fscanf(f, "%f", &v[i]), 1);
        if (fabs(v[i]) > c->maxabs) c->maxabs = fabs(v[i]);
      }
      c->rows[c->nbatches] = r;
      c->vals[c->nbatches++] = v;
      c->total_rows += r;
    } else if (strncmp(line, "expect ", 7) == 0) {
      assert_true(c->nexpect < 8);
      copy_str(c->expect[c->nexpect++], sizeof c->expect[0], line + 7);
    } else if (strcmp(line, "end") == 0) {
      return true;
    } else {
      fail_msg("cases.txt: unexpected line '%s'", line);
    }
  }
  return false;
}

static void case_free(Case *c) {
  for (int b = 0; b < c->nbatches; b++) free(c->vals[b]);
}

/* Checks one "STAT FIELD=VALUE ..." line against x's data_in_0 stat of the relu node. */
static double check_expect(const Graph *g, const Case *c, const char *line) {
  char buf[512];
  snprintf(buf, sizeof buf, "%s", line);
  char *save = NULL;
  const char *stat = strtok_r(buf, " ", &save);
  const Value *res = stat_of(g, "relu", "data_in_0", stat);
  if (!res) fail_msg("%s: no %s result", c->name, stat);
  /* the fields, in the reference's order and no others */
  int nf = 0;
  double maxdiff = 0;
  for (char *tok = strtok_r(NULL, " ", &save); tok; tok = strtok_r(NULL, " ", &save), nf++) {
    char *eq = strchr(tok, '=');
    assert_non_null(eq);
    *eq = 0;
    const char *want = eq + 1;
    assert_true(nf < res->u.dict.n);
    assert_string_equal(res->u.dict.keys[nf], tok);
    const Value *got = &res->u.dict.vals[nf];
    if (strcmp(want, "NA") == 0) {
      if (got->kind != VAL_STR || strcmp(got->u.s, "NA") != 0) fail_msg("%s: %s.%s: expected NA", c->name, stat, tok);
      continue;
    }
    if (strcmp(tok, "count") == 0) {
      assert_int_equal(got->kind, VAL_INT);
      assert_int_equal(got->u.i, atoll(want));
      continue;
    }
    if (got->kind != VAL_FLOAT) fail_msg("%s: %s.%s: expected a number, got %s", c->name, stat, tok, val_kind_name(got));
    double w = strtod(want, NULL), diff = fabs(got->u.f - w);
    double tol = 1e-5 * fmax(fabs(w), c->maxabs);
    if (diff > maxdiff) maxdiff = diff;
    if (diff > tol) fail_msg("%s: %s.%s = %.9g, PyTorch %.9g (diff %.3g > %.3g)", c->name, stat, tok, got->u.f, w, diff, tol);
  }
  assert_int_equal(nf, res->u.dict.n);
  return maxdiff;
}

static void test_stats_vs_torch(void **state) {
  char path[512];
  snprintf(path, sizeof path, "%s/test/data/profile/cases.txt", tl_source_root());
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("cannot read %s (scripts/profile_reference.py writes it)", path);
  Case c;
  int ncases = 0;
  while (read_case(f, &c)) {
    char type[32];
    Graph *g = ir_graph_new("cases");
    assert_non_null(g);
    snprintf(type, sizeof type, "f32[B,%d]", c.width);
    Node *x = th_input(g, "x", type);
    Value a = val_node(x);
    th_output(g, th_node(g, OP_CALL_FUNCTION, "relu", 1, &a));
    Fake fk = {.c = &c, .x = x};
    PassData data = {.ud = &fk, .param = no_param, .sample = fake_sample, .source = "cases.txt"};
    char pipeline[1024];
    snprintf(pipeline, sizeof pipeline, "shape,profile{weight_stats={}, num_samples=%lld, batch_size=8, %s}",
             (long long)c.total_rows, c.options);
    free(run_ok(g, pipeline, &data));
    assert_int_equal(fk.calls, 1);
    double maxdiff = 0;
    for (int i = 0; i < c.nexpect; i++) maxdiff = fmax(maxdiff, check_expect(g, &c, c.expect[i]));
    /* the relu node's only entry got every statistic asked for, and nothing else did */
    assert_int_equal(stat_of(g, "relu", "data_in_0", NULL)->u.dict.n, c.nexpect);
    assert_int_equal(stat_of(g, "x", "data_in_0", NULL), NULL);
    printf("  %-14s %d statistics, %lld rows of %d: max |C - torch| = %.3g\n", c.name, c.nexpect,
           (long long)c.total_rows, c.width, maxdiff);
    ir_graph_free(g);
    case_free(&c);
    ncases++;
  }
  fclose(f);
  assert_true(ncases >= 5);
}

/* ---- end to end: jsc_tiny through the runtime's sampler ---- */

/* A seeded state with BatchNorm's weight, bias and running stats randomised. */
static RtState *tiny_state(const Graph *g) {
  RtState *s = NULL;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_state_new(g, &s, &d), JS_OK);
  diag_free(&d);
  Rng r;
  rt_rng_seed(&r, 7);
  rt_state_init(s, &r);
  float *w = rt_state_tensor(s, "seq_blocks.0.weight"), *b = rt_state_tensor(s, "seq_blocks.0.bias");
  float *rm = rt_state_tensor(s, "seq_blocks.0.running_mean"), *rv = rt_state_tensor(s, "seq_blocks.0.running_var");
  for (int i = 0; i < 16; i++) {
    w[i] = (float)(0.5 + rt_rng_uniform(&r));
    b[i] = (float)(0.3 * rt_rng_normal(&r));
    rm[i] = (float)(0.5 * rt_rng_normal(&r));
    rv[i] = (float)(0.5 + 1.5 * rt_rng_uniform(&r));
  }
  return s;
}

/* The two ReLU inputs of jsc_tiny for the sampler's first n random rows, computed directly:
 * bn[n][16] = BatchNorm (eval), lin[n][5] = Linear(ReLU(bn)). */
static void tiny_direct(const RtState *s, int n, float *bn, float *lin) {
  Rng r;
  rt_rng_seed(&r, RT_SAMPLE_SEED);
  const float *w = rt_state_tensor(s, "seq_blocks.0.weight"), *b = rt_state_tensor(s, "seq_blocks.0.bias");
  const float *rm = rt_state_tensor(s, "seq_blocks.0.running_mean"), *rv = rt_state_tensor(s, "seq_blocks.0.running_var");
  const float *W = rt_state_tensor(s, "seq_blocks.2.weight"), *B = rt_state_tensor(s, "seq_blocks.2.bias");
  for (int i = 0; i < n; i++) {
    double h[16];
    for (int j = 0; j < 16; j++) {
      double x = (float)rt_rng_normal(&r);
      double y = (x - rm[j]) / sqrt((double)rv[j] + 1e-5) * w[j] + b[j];
      bn[i * 16 + j] = (float)y;
      h[j] = y > 0 ? y : 0;
    }
    for (int o = 0; o < 5; o++) {
      double acc = B[o];
      for (int j = 0; j < 16; j++) acc += (double)W[o * 16 + j] * h[j];
      lin[i * 5 + o] = (float)acc;
    }
  }
}

static void min_max(const float *v, int n, double *lo, double *hi) {
  *lo = INFINITY, *hi = -INFINITY;
  for (int i = 0; i < n; i++) {
    if (v[i] < *lo) *lo = v[i];
    if (v[i] > *hi) *hi = v[i];
  }
}

static void assert_close(double got, double want, double tol, const char *what) {
  if (fabs(got - want) > tol * fmax(1, fabs(want))) fail_msg("%s: %.9g, expected %.9g", what, got, want);
}

static void test_jsc_tiny_lab_counts(void **state) {
  Model m = load_example("jsc_tiny");
  RtState *s = tiny_state(m.g);
  RtPassData *rp = NULL;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_pass_data_new(s, NULL, NULL, &rp, &d), JS_OK);
  diag_free(&d);
  const PassData *data = rt_pass_data_get(rp);
  assert_string_equal(data->source, "random N(0,1) inputs (seed 0)");

  /* the defaults: variance_precise of linear weights, range_quantile of relu inputs */
  char *rep = run_ok(m.g, "shape,profile", data);
  assert_int_equal(count_of(m.g, "seq_blocks_1", "data_in_0", "range_quantile"), 512);
  assert_int_equal(count_of(m.g, "seq_blocks_3", "data_in_0", "range_quantile"), 160);
  assert_int_equal(count_of(m.g, "seq_blocks_2", "weight", "variance_precise"), 80);
  assert_int_equal(count_of(m.g, "seq_blocks_2", "bias", "variance_precise"), 5);
  /* the Linear's data input and the BatchNorm are not targets: their collectors stay empty */
  assert_int_equal(stat_of(m.g, "seq_blocks_2", "data_in_0", NULL)->u.dict.n, 0);
  assert_int_equal(stat_of(m.g, "seq_blocks_0", "weight", NULL)->u.dict.n, 0);
  assert_contains(rep, "Profile of model JSC_Tiny");
  assert_contains(rep, "over 32 samples in batches of 8 from random N(0,1) inputs (seed 0)");
  assert_contains(rep, "seq_blocks_2  weight     variance_precise  mean=");
  assert_contains(rep, "count=80\n");
  free(rep);

  /* the weight statistics equal a direct two-pass computation */
  const float *W = rt_state_tensor(s, "seq_blocks.2.weight");
  double mean = 0, ss = 0;
  for (int i = 0; i < 80; i++) mean += W[i];
  mean /= 80;
  for (int i = 0; i < 80; i++) ss += (W[i] - mean) * (W[i] - mean);
  assert_close(field_num(m.g, "seq_blocks_2", "weight", "variance_precise", "mean"), mean, 1e-12, "weight mean");
  assert_close(field_num(m.g, "seq_blocks_2", "weight", "variance_precise", "variance"), ss / 79, 1e-12,
               "weight variance");

  /* the ReLU inputs' min and max equal a direct computation from the same inputs; 30
   * samples in batches of 8 end with a short batch */
  float bn[32 * 16], lin[32 * 5];
  tiny_direct(s, 30, bn, lin);
  free(run_ok(m.g,
              "profile{activation_stats={range_min_max={}}, weight_stats={}, num_samples=30, batch_size=8}",
              data));
  double lo, hi;
  min_max(bn, 30 * 16, &lo, &hi);
  assert_int_equal(count_of(m.g, "seq_blocks_1", "data_in_0", "range_min_max"), 480);
  assert_close(field_num(m.g, "seq_blocks_1", "data_in_0", "range_min_max", "min"), lo, 1e-6, "relu 1 min");
  assert_close(field_num(m.g, "seq_blocks_1", "data_in_0", "range_min_max", "max"), hi, 1e-6, "relu 1 max");
  min_max(lin, 30 * 5, &lo, &hi);
  assert_int_equal(count_of(m.g, "seq_blocks_3", "data_in_0", "range_min_max"), 150);
  assert_close(field_num(m.g, "seq_blocks_3", "data_in_0", "range_min_max", "min"), lo, 1e-6, "relu 2 min");
  assert_close(field_num(m.g, "seq_blocks_3", "data_in_0", "range_min_max", "max"), hi, 1e-6, "relu 2 max");
  /* weight_stats={} left the weights alone (metadata ran again: empty collectors) */
  assert_int_equal(stat_of(m.g, "seq_blocks_2", "weight", NULL)->u.dict.n, 0);

  /* the sample size does not change the inputs: one batch of 30 gives the same */
  free(run_ok(m.g, "profile{activation_stats={range_min_max={}}, weight_stats={}, num_samples=30, batch_size=64}",
              data));
  assert_close(field_num(m.g, "seq_blocks_3", "data_in_0", "range_min_max", "max"), hi, 1e-6, "relu 2 max, bs 64");

  /* by=name, a BatchNorm weight target: its float params and buffers, not num_batches_tracked */
  free(run_ok(m.g,
              "profile{by=name, weight_nodes=[seq_blocks_0], activation_nodes=[seq_blocks_3], "
              "weight_stats={range_min_max={abs=true}, abs_mean={}}}",
              data));
  assert_int_equal(count_of(m.g, "seq_blocks_0", "running_var", "range_min_max"), 16);
  assert_int_equal(count_of(m.g, "seq_blocks_0", "bias", "abs_mean"), 16);
  assert_null(stat_of(m.g, "seq_blocks_0", "num_batches_tracked", NULL));
  assert_int_equal(stat_of(m.g, "seq_blocks_1", "data_in_0", NULL)->u.dict.n, 0);
  assert_int_equal(count_of(m.g, "seq_blocks_3", "data_in_0", "range_quantile"), 160);
  min_max(rt_state_tensor(s, "seq_blocks.0.running_var"), 16, &lo, &hi);
  assert_close(field_num(m.g, "seq_blocks_0", "running_var", "range_min_max", "max"), hi, 1e-12, "running_var max");

  rt_pass_data_free(rp);
  rt_state_free(s);
  model_free(&m);
}

/* A data set's split feeds the placeholder: the BatchNorm's input is the split's rows. */
static void test_split_samples(void **state) {
  Model m = load_example("jsc_tiny");
  RtState *s = tiny_state(m.g);
  RtDataOpts o;
  rt_data_opts_default(&o);
  o.synth_n = 4000;
  o.no_cache = true;
  RtDataset ds;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_data_load(&o, &ds, &d), JS_OK);
  RtPassData *rp = NULL;
  assert_int_equal(rt_pass_data_new(s, &ds, "val", &rp, &d), JS_OK);
  diag_free(&d);
  const PassData *data = rt_pass_data_get(rp);
  assert_string_equal(data->source, "JSC val split (synthetic)");
  free(run_ok(m.g,
              "shape,profile{activation_nodes=[batch_norm1d], activation_stats={range_min_max={}, "
              "variance_precise={}}, weight_stats={}, num_samples=40, batch_size=16}",
              data));
  double lo, hi;
  min_max(ds.val.x, 40 * 16, &lo, &hi);
  assert_int_equal(count_of(m.g, "seq_blocks_0", "data_in_0", "range_min_max"), 640);
  assert_close(field_num(m.g, "seq_blocks_0", "data_in_0", "range_min_max", "min"), lo, 0, "split min");
  assert_close(field_num(m.g, "seq_blocks_0", "data_in_0", "range_min_max", "max"), hi, 0, "split max");
  double mean = 0;
  for (int i = 0; i < 640; i++) mean += ds.val.x[i];
  assert_close(field_num(m.g, "seq_blocks_0", "data_in_0", "variance_precise", "mean"), mean / 640, 1e-9,
               "split mean");

  /* more samples than the split has */
  char pipeline[256];
  snprintf(pipeline, sizeof pipeline, "profile{weight_stats={}, num_samples=%lld}", (long long)ds.val.n + 1);
  run_fails(m.g, pipeline, data, "num_samples: ");
  run_fails(m.g, pipeline, data, "rows of the val split");

  /* an unknown split */
  RtPassData *bad = NULL;
  diag_init(&d, NULL);
  assert_int_equal(rt_pass_data_new(s, &ds, "trian", &bad, &d), JS_EUSAGE);
  assert_null(bad);
  assert_contains(sb_str(&d.text), "unknown split 'trian' (did you mean 'train'?)");
  diag_free(&d);

  rt_pass_data_free(rp);
  rt_data_free(&ds);
  rt_state_free(s);
  model_free(&m);
}

/* Function calls as weight targets: the get_attr parameters they read (all_ops). */
static void test_functional_weights(void **state) {
  Model m = load_example("all_ops");
  free(run_ok(m.g, "shape", NULL));
  RtState *s = NULL;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_state_new(m.g, &s, &d), JS_OK);
  Rng r;
  rt_rng_seed(&r, 3);
  rt_state_init(s, &r);
  RtPassData *rp = NULL;
  assert_int_equal(rt_pass_data_new(s, NULL, NULL, &rp, &d), JS_OK);
  diag_free(&d);
  const PassData *data = rt_pass_data_get(rp);
  free(run_ok(m.g, "profile{weight_nodes=[linear, mul], activation_stats={}, weight_stats={range_min_max={}}}", data));
  /* linear(%ident, %w, %b): weight and bias; the module calls of Linear too */
  assert_int_equal(count_of(m.g, "linear", "weight", "range_min_max"), 128);
  assert_int_equal(count_of(m.g, "linear", "bias", "range_min_max"), 8);
  assert_int_equal(stat_of(m.g, "linear", "data_in_0", NULL)->u.dict.n, 0);
  assert_int_equal(count_of(m.g, "fc", "weight", "range_min_max"), 128);
  /* mul(%bn, %scale): the parameter operand, not the activation */
  assert_int_equal(count_of(m.g, "mul", "data_in_1", "range_min_max"), 16);
  assert_int_equal(stat_of(m.g, "mul", "data_in_0", NULL)->u.dict.n, 0);
  double lo, hi;
  min_max(rt_state_tensor(s, "w"), 128, &lo, &hi);
  assert_close(field_num(m.g, "linear", "weight", "range_min_max", "min"), lo, 0, "w min");
  assert_close(field_num(m.g, "linear", "weight", "range_min_max", "max"), hi, 0, "w max");
  /* random inputs are drawn for float inputs only: all_ops also takes class indices */
  run_fails(m.g, "profile{weight_stats={}}", data, "input 'labels' is i64[B]: only float inputs can be sampled");
  rt_pass_data_free(rp);
  rt_state_free(s);
  model_free(&m);
}

/* A config written for MASE (its option names, the lab's TOML layout) reads unchanged. */
static SrcLoc cfg_loc(void *ud, const char *path) {
  return fe_config_loc(ud, path);
}

static Status run_config(Graph *g, const char *toml, const PassData *data, Diag *d) {
  Arena *a = arena_new();
  SrcFile *src = diag_src_from_string(a, "stat.toml", toml, strlen(toml));
  FeConfig *cfg = NULL;
  Status st = fe_config_parse(src, &cfg, d);
  assert_int_equal(st, JS_OK);
  Pipeline *pl = NULL;
  const Value *passes = dict_get(fe_config_root(cfg), "passes");
  st = pass_pipeline_from_value(passes, "passes", cfg_loc, cfg, &pl, d);
  if (!st) {
    PassContext ctx = {.diag = d, .data = data};
    st = pass_pipeline_run(pl, g, &ctx);
  }
  pass_pipeline_free(pl);
  fe_config_free(cfg);
  arena_free(a);
  return st;
}

static void test_mase_config(void **state) {
  Model m = load_example("jsc_tiny");
  free(run_ok(m.g, "shape", NULL));
  RtState *s = tiny_state(m.g);
  RtPassData *rp = NULL;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_pass_data_new(s, NULL, NULL, &rp, &d), JS_OK);
  diag_free(&d);
  char dir[] = "/tmp/jscc_profile_cfg_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char toml[2048], path[600];
  snprintf(path, sizeof path, "%s/table.txt", dir);
  snprintf(toml, sizeof toml,
           "[passes.profile_statistics]\n"
           "by = \"type\"\n"
           "target_weight_nodes = [\"linear\"]\n"
           "target_activation_nodes = [\"relu\"]\n"
           "num_samples = 32\n"
           "[passes.profile_statistics.weight_statistics.range_min_max]\n"
           "dims = \"all\"\n"
           "abs = false\n"
           "[passes.profile_statistics.activation_statistics.range_quantile]\n"
           "dims = \"all\"\n"
           "abs = false\n"
           "quantile = 0.5\n"
           "[passes.report_node_meta_param]\n"
           "which = [\"software\"]\n"
           "save_path = \"%s\"\n",
           path);
  diag_init(&d, NULL);
  Status st = run_config(m.g, toml, rt_pass_data_get(rp), &d);
  if (st) print_error("%s\n", sb_str(&d.text));
  assert_int_equal(st, JS_OK);
  diag_free(&d);
  assert_int_equal(count_of(m.g, "seq_blocks_1", "data_in_0", "range_quantile"), 512);
  assert_int_equal(count_of(m.g, "seq_blocks_3", "data_in_0", "range_quantile"), 160);
  assert_int_equal(count_of(m.g, "seq_blocks_2", "weight", "range_min_max"), 80);
  assert_null(dict_get(stat_of(m.g, "seq_blocks_2", "weight", NULL), "variance_precise"));
  /* quantile 0.5: min and max are both the median */
  assert_true(field_num(m.g, "seq_blocks_1", "data_in_0", "range_quantile", "min") ==
              field_num(m.g, "seq_blocks_1", "data_in_0", "range_quantile", "max"));
  char *table = tl_read(path, NULL);
  assert_non_null(table);
  assert_contains(table, "| Software Param");
  assert_contains(table, "'range_quantile': {'count': 512,");
  free(table);
  unlink(path);
  rmdir(dir);

  /* an error in the config points at its line */
  diag_init(&d, NULL);
  assert_int_not_equal(run_config(m.g,
                                  "[passes.profile_statistics]\n"
                                  "target_weight_nodes = [\"linear\"]\n"
                                  "[passes.profile_statistics.weight_statistics.range_quantile]\n"
                                  "quantil = 0.5\n",
                                  rt_pass_data_get(rp), &d),
                       JS_OK);
  assert_contains(sb_str(&d.text), "stat.toml:");
  assert_contains(sb_str(&d.text), "profile: weight_statistics: range_quantile: unknown argument 'quantil'");
  diag_free(&d);
  rt_pass_data_free(rp);
  rt_state_free(s);
  model_free(&m);
}

/* ---- errors ---- */

static void test_errors(void **state) {
  Model m = load_example("jsc_tiny");
  RtState *s = tiny_state(m.g);
  RtPassData *rp = NULL;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_pass_data_new(s, NULL, NULL, &rp, &d), JS_OK);
  diag_free(&d);
  const PassData *data = rt_pass_data_get(rp);

  /* no weights, no sampler */
  run_fails(m.g, "shape,profile", NULL, "profile: weight statistics need weights: pass --ckpt");
  PassData only_weights = *data;
  only_weights.sample = NULL;
  run_fails(m.g, "shape,profile", &only_weights, "profile: activation statistics need");
  free(run_ok(m.g, "profile{activation_stats={}}", &only_weights));
  RtPassData *none = NULL;
  diag_init(&d, stderr);
  assert_int_equal(rt_pass_data_new(NULL, NULL, NULL, &none, &d), JS_OK);
  diag_free(&d);
  run_fails(m.g, "shape,profile", rt_pass_data_get(none), "pass --ckpt");
  rt_pass_data_free(none);

  /* bad statistics and arguments, each named */
  run_fails(m.g, "shape,profile{activation_stats={range_quantil={}}}", data,
            "profile: activation_stats: unknown statistic 'range_quantil' (did you mean 'range_quantile'?)");
  run_fails(m.g, "shape,profile{weight_stats={record={}}}", data, "'record' statistic");
  run_fails(m.g, "shape,profile{activation_stats={range_quantile={quantil=0.9}}}", data,
            "profile: activation_stats: range_quantile: unknown argument 'quantil' (did you mean 'quantile'?)");
  run_fails(m.g, "shape,profile{activation_stats={range_quantile={quantile=1.5}}}", data, "quantile: expected a number in [0, 1]");
  run_fails(m.g, "shape,profile{weight_stats={variance_online={dims=None}}}", data,
            "weight_stats: variance_online: dims: only \"all\" is supported");
  run_fails(m.g, "shape,profile{activation_stats={range_n_sigma={var_mode=exact}}}", data, "var_mode: expected online or precise");
  run_fails(m.g, "shape,profile{activation_stats=[range_min_max]}", data, "activation_stats: expected a dict of statistics");
  run_fails(m.g, "shape,profile{activation_nodes=[rellu]}", data,
            "profile: activation_nodes: 'rellu' is not a mase_op (did you mean 'relu'?)");
  run_fails(m.g, "shape,profile{by=name, activation_nodes=[seq_block_1], weight_nodes=[]}", data,
            "profile: activation_nodes: model 'JSC_Tiny' has no node 'seq_block_1' (did you mean 'seq_blocks_1'?)");
  run_fails(m.g, "shape,profile{weight_nodes=[3]}", data, "weight_nodes: expected a list of names, but item 1 is int");
  run_fails(m.g, "shape,profile{num_samples=0}", data, "profile: num_samples: 0 is not a positive count");
  run_fails(m.g, "shape,profile{batch_size=-1}", data, "profile: batch_size: -1 is not a positive count");

  /* called directly, without metadata */
  Graph *g = th_jsc_tiny();
  free(run_ok(g, "shape", NULL));
  Pipeline *pl = NULL;
  diag_init(&d, NULL);
  assert_int_equal(pass_pipeline_parse("profile", &pl, &d), JS_OK);
  PassContext ctx = {.diag = &d, .data = data};
  assert_int_equal(pass_profile(g, &pl->steps[pl->nsteps - 1].args, &ctx), JS_ERR);
  assert_contains(sb_str(&d.text), "run the 'metadata' pass first");
  pass_pipeline_free(pl);
  diag_free(&d);
  ir_graph_free(g);

  rt_pass_data_free(rp);
  rt_state_free(s);
  model_free(&m);
}

/* ---- report-meta ---- */

static void test_report_meta(void **state) {
  Model m = load_example("jsc_tiny");
  char *rep = run_ok(m.g, "shape,metadata,report-meta", NULL);
  tl_check_golden("jsc_tiny.report_meta.txt", rep);
  free(rep);

  /* which picks the columns */
  rep = run_ok(m.g, "report-meta{which=software}", NULL);
  assert_contains(rep, "| Node name    | Fx Node op   | Mase type           | Mase op      | Software Param");
  assert_null(strstr(rep, "Common Param"));
  free(rep);
  rep = run_ok(m.g, "report-meta{which=[common, software]}", NULL);
  assert_contains(rep, "Common Param");
  assert_contains(rep, "Software Param");
  free(rep);
  run_fails(m.g, "report-meta{which=[hardware]}", NULL, "'hardware' column does not exist in jscc");
  run_fails(m.g, "report-meta{which=comon}", NULL, "unknown column set 'comon' (did you mean 'common'?)");

  /* profiled statistics show in the software column */
  RtState *s = tiny_state(m.g);
  RtPassData *rp = NULL;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_pass_data_new(s, NULL, NULL, &rp, &d), JS_OK);
  diag_free(&d);
  rep = run_ok(m.g, "profile,report-meta{which=[software]}", rt_pass_data_get(rp));
  assert_contains(rep, "{'args': {'bias': {'stat': {'variance_precise': {'count': 5,");
  assert_contains(rep, "'range_quantile': {'count': 512,");
  free(rep);

  /* the files: `file` as a base path, else the output directory */
  char dir[] = "/tmp/jscc_report_meta_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char pipeline[512], path[600];
  snprintf(pipeline, sizeof pipeline, "profile,report-meta{file='%s/meta'}", dir);
  free(run_ok(m.g, pipeline, rt_pass_data_get(rp)));
  snprintf(path, sizeof path, "%s/meta.csv", dir);
  char *csv = tl_read(path, NULL);
  assert_non_null(csv);
  assert_contains(csv, "Node name,Fx Node op,Mase type,Mase op,Common Param,Software Param\n");
  assert_contains(csv, "seq_blocks_2,call_module,module_related_func,linear,\"{'args': {'bias': {");
  unlink(path);
  free(csv);
  snprintf(path, sizeof path, "%s/meta.json", dir);
  char *json = tl_read(path, NULL);
  assert_non_null(json);
  assert_contains(json, "{\"model\": \"JSC_Tiny\", \"nodes\": [\n  {\"name\": \"x\", \"op\": \"placeholder\"");
  assert_contains(json, "\"shape\": \"f32[B,16]\"");
  assert_contains(json, "\"variance_precise\": {\"mean\": ");
  unlink(path);
  free(json);
  diag_init(&d, NULL);
  assert_int_equal(run_with(m.g, "report-meta", NULL, dir, NULL, &d), JS_OK);
  diag_free(&d);
  snprintf(path, sizeof path, "%s/report_meta.csv", dir);
  assert_int_equal(access(path, R_OK), 0);
  unlink(path);
  snprintf(path, sizeof path, "%s/report_meta.json", dir);
  assert_int_equal(access(path, R_OK), 0);
  unlink(path);
  rmdir(dir);
  snprintf(pipeline, sizeof pipeline, "report-meta{file='%s/missing/meta'}", dir);
  run_fails(m.g, pipeline, NULL, "report-meta: cannot write");

  rt_pass_data_free(rp);
  rt_state_free(s);
  model_free(&m);
}

/* ---- allocation failure ---- */

static void test_oom(void **state) {
  Model m = load_example("jsc_tiny");
  free(run_ok(m.g, "shape,metadata", NULL));
  RtState *s = tiny_state(m.g);
  RtPassData *rp = NULL;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_pass_data_new(s, NULL, NULL, &rp, &d), JS_OK);
  Pipeline *pl = NULL;
  assert_int_equal(pass_pipeline_parse("profile{weight_stats={range_quantile={}, variance_online={}}},report-meta",
                                       &pl, &d),
                   JS_OK);
  diag_free(&d);
  for (int step = 0; step < pl->nsteps; step++) {
    if (pl->steps[step].implicit) continue;
    int failures = 0;
    for (long n = 0;; n++) {
      FailNth h;
      StrBuf r;
      sb_init(&r);
      diag_init(&d, NULL);
      PassContext ctx = {.diag = &d, .report = &r, .data = rt_pass_data_get(rp)};
      fail_nth_install(&h, n);
      Status st = pl->steps[step].pass->fn(m.g, &pl->steps[step].args, &ctx);
      ir_set_alloc_hook(NULL, NULL);
      bool hit = h.calls > n;
      sb_free(&r);
      if (st != JS_OK) {
        assert_int_equal(st, JS_ENOMEM);
        assert_contains(sb_str(&d.text), "out of memory");
        failures++;
      }
      diag_free(&d);
      if (!hit) {
        assert_int_equal(st, JS_OK);
        break;
      }
    }
    assert_true(failures > 0);
  }
  pass_pipeline_free(pl);
  rt_pass_data_free(rp);
  rt_state_free(s);
  model_free(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stats_vs_torch),
      cmocka_unit_test(test_jsc_tiny_lab_counts),
      cmocka_unit_test(test_split_samples),
      cmocka_unit_test(test_functional_weights),
      cmocka_unit_test(test_mase_config),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_report_meta),
      cmocka_unit_test(test_oom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
