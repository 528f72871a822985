/* test_data.c — the JSC data layer: the synthetic generator, numpy's permutation (against
 * reference files from scripts/data_reference.py), the CSV, ARFF and HDF5 loaders (an HDF5
 * file written here with the C API, and an LZF file written by h5py), deduplication and the
 * split, the cache (hits, corrupt files rebuilt) and every reported error.  Caches and
 * scratch files go to a temporary directory, never the user's home. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "runtime.h"
#include "../fail_nth.h"

#ifdef JSCC_HAVE_HDF5
#include <hdf5.h>
#endif

#define FIXTURES "test/data/jsc/"

static char tmp_dir[256];

static int setup_tmp(void **state) {
  (void)state;
  const char *t = getenv("TMPDIR");
  snprintf(tmp_dir, sizeof tmp_dir, "%s/jscc-test-data-XXXXXX", t && *t ? t : "/tmp");
  return mkdtemp(tmp_dir) ? 0 : -1;
}

static int remove_tmp(void **state) {
  (void)state;
  DIR *dir = opendir(tmp_dir);
  if (!dir) return 0;
  struct dirent *e;
  while ((e = readdir(dir))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmp_dir, e->d_name);
    struct stat sb;
    if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
      DIR *sub = opendir(p);
      struct dirent *f;
      while (sub && (f = readdir(sub))) {
        char q[768];
        snprintf(q, sizeof q, "%s/%s", p, f->d_name);
        if (f->d_name[0] != '.') unlink(q);
      }
      if (sub) closedir(sub);
      rmdir(p);
    } else {
      unlink(p);
    }
  }
  closedir(dir);
  rmdir(tmp_dir);
  return 0;
}

static const char *tmp_path(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", tmp_dir, name);
  return buf;
}

static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  fclose(f);
}

static void write_text(const char *path, const char *text) { write_file(path, text, strlen(text)); }

/* Options for a fixture load: no cache unless a test asks for one. */
static RtDataOpts opts_for(const char *path) {
  RtDataOpts o;
  rt_data_opts_default(&o);
  o.path = path;
  o.no_cache = true;
  return o;
}

/* Load, expecting failure, and check the message contains `want`. */
static void expect_error(const RtDataOpts *o, const char *want) {
  Diag d;
  diag_init(&d, NULL);
  RtDataset ds;
  Status st = rt_data_load(o, &ds, &d);
  if (st == JS_OK || !strstr(sb_str(&d.text), want))
    fail_msg("expected an error containing \"%s\", got status %d: %s", want, st, sb_str(&d.text));
  assert_int_equal(ds.train.n, 0);
  rt_data_free(&ds);
  diag_free(&d);
}

static RtDataset load_ok(const RtDataOpts *o) {
  Diag d;
  diag_init(&d, NULL);
  RtDataset ds;
  Status st = rt_data_load(o, &ds, &d);
  if (st != JS_OK) fail_msg("load failed (%d): %s", st, sb_str(&d.text));
  diag_free(&d);
  return ds;
}

/* Undo the scaler: the raw value of feature j of a split row. */
static double raw_value(const RtDataset *ds, const RtSplit *s, int64_t i, int j) {
  return (double)s->x[i * RT_JSC_FEATURES + j] * ds->scale[j] + ds->mean[j];
}

/* ---- the synthetic generator ---- */

static void test_synth_deterministic(void **state) {
  (void)state;
  enum { N = 20000 };
  float *a = malloc(N * 16 * sizeof(float)), *b = malloc(N * 16 * sizeof(float));
  int32_t *ya = malloc(N * sizeof(int32_t)), *yb = malloc(N * sizeof(int32_t));
  rt_jsc_synth(N, 7, a, ya);
  rt_jsc_synth(N, 7, b, yb);
  assert_memory_equal(a, b, N * 16 * sizeof(float));
  assert_memory_equal(ya, yb, N * sizeof(int32_t));
  rt_jsc_synth(N, 8, b, yb);
  assert_true(memcmp(a, b, N * 16 * sizeof(float)) != 0);
  free(a);
  free(b);
  free(ya);
  free(yb);
}

static void test_synth_balance_and_features(void **state) {
  (void)state;
  enum { N = 830000 };
  float *x = malloc((size_t)N * 16 * sizeof(float));
  int32_t *y = malloc(N * sizeof(int32_t));
  rt_jsc_synth(N, 0, x, y);
  /* OpenML's size gives exactly OpenML's class counts. */
  int64_t counts[5] = {0};
  for (int i = 0; i < N; i++) {
    assert_in_range(y[i], 0, 4);
    counts[y[i]]++;
  }
  const int64_t real[5] = {167125, 161066, 167083, 166875, 167851};
  for (int c = 0; c < 5; c++) assert_int_equal(counts[c], real[c]);
  double mass_sum[5] = {0}, mult_sum[5] = {0}, w_peak = 0, z_peak = 0;
  int64_t w_n = 0, z_n = 0;
  for (int i = 0; i < N; i++) {
    const float *r = x + (size_t)i * 16;
    for (int j = 0; j < 16; j++) assert_true(isfinite(r[j]));
    assert_true(r[8] == r[6]);                /* d2_a1_b1 copies d2_b1 */
    assert_true(r[15] == floorf(r[15]));      /* multiplicity is a count */
    assert_true(r[15] >= 5 && r[15] <= 212);
    assert_true(r[14] >= 0.37f && r[14] <= 574.5f);
    assert_true(r[0] >= -4.77f && r[0] <= -0.44f);
    mass_sum[y[i]] += r[14];
    mult_sum[y[i]] += r[15];
    if (y[i] == 2 && r[14] > 60 && r[14] < 100) w_peak += r[14], w_n++;
    if (y[i] == 3 && r[14] > 60 && r[14] < 121) z_peak += r[14], z_n++;
  }
  /* Physics the generator must keep: tops are heaviest, gluon jets have more constituents
   * than quark jets, and the W and Z peaks sit near their masses. */
  for (int c = 0; c < 4; c++) assert_true(mass_sum[4] / counts[4] > mass_sum[c] / counts[c]);
  assert_true(mult_sum[0] / counts[0] > mult_sum[1] / counts[1] + 10);
  assert_true(fabs(w_peak / w_n - 80.4) < 2.5);
  assert_true(fabs(z_peak / z_n - 91.2) < 2.5);
  free(x);
  free(y);
}

static void test_synth_load(void **state) {
  (void)state;
  RtDataOpts o;
  rt_data_opts_default(&o);
  o.no_cache = true;
  o.synth_n = 10000;
  RtDataset ds = load_ok(&o);
  assert_true(ds.synthetic);
  assert_non_null(strstr(ds.desc, "SYNTHETIC"));
  assert_non_null(strstr(ds.desc, "seed 0, 10000 jets"));
  assert_int_equal(ds.n_raw, 10000);
  assert_int_equal(ds.train.n + ds.val.n + ds.test.n, ds.n_unique);
  assert_int_equal(ds.test.n, (int64_t)ceil(0.2 * (double)ds.n_unique));
  assert_int_equal(ds.val.n, (int64_t)ceil(0.05 * (double)(ds.n_unique - ds.test.n)));
  /* Standardised on the training rows: mean 0 and variance 1 there. */
  for (int j = 0; j < 16; j++) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < ds.train.n; i++) {
      double v = ds.train.x[i * 16 + j];
      s += v;
      s2 += v * v;
    }
    assert_true(fabs(s / ds.train.n) < 1e-4);
    assert_true(fabs(s2 / ds.train.n - 1) < 1e-3);
  }
  uint64_t h = ds.hash;
  rt_data_free(&ds);
  ds = load_ok(&o);
  assert_true(ds.hash == h);
  rt_data_free(&ds);
  o.synth_seed = 1;
  ds = load_ok(&o);
  assert_true(ds.hash != h);
  rt_data_free(&ds);
}

/* ---- numpy's permutation ---- */

static void test_np_permutation(void **state) {
  (void)state;
  FILE *f = fopen(FIXTURES "np_permutation.txt", "r");
  assert_non_null(f);
  char line[1 << 14];
  int cases = 0;
  while (fgets(line, sizeof line, f)) {
    if (line[0] == '#') continue;
    char *p = line;
    unsigned long long seed = strtoull(p, &p, 10), check = 0;
    long long n = strtoll(p, &p, 10);
    check = strtoull(p, &p, 10);
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    rt_np_permutation((uint32_t)seed, perm, n);
    uint64_t sum = 0;
    for (long long i = 0; i < n; i++) sum += (uint64_t)(i + 1) * (uint64_t)perm[i];
    if (sum != check) fail_msg("seed %llu n %lld: checksum %llu, numpy %llu", seed, n,
                               (unsigned long long)sum, check);
    long k = strtol(p, &p, 10);
    for (long i = 0; i < k; i++) assert_int_equal(perm[i], strtoll(p, &p, 10));
    long m = strtol(p, &p, 10);
    for (long i = 0; i < m; i++) assert_int_equal(perm[n - m + i], strtoll(p, &p, 10));
    free(perm);
    cases++;
  }
  fclose(f);
  assert_true(cases >= 40);
}

/* ---- text loaders ---- */

/* The README's rows, g, w, t; the fixtures hold them in this order with duplicates. */
static const double openml_rows[3][16] = {
  {-2.93512535, 0.383155316, 0.00512587558, 8.42466834e-05, 0.00906995591, 0.000178931368,
   1.76944518, 2.12389827, 1.76944518, 0.308185428, 0.135686919, 0.0832780078, 0.412136108,
   0.299057871, 8.92688179, 75},
  {-1.92733514, 0.270698756, 0.00158540264, 1.13709866e-05, 0.00323237223, 2.91449633e-05,
   2.03883362, 2.56309891, 2.03883362, 0.211886495, 0.0637285784, 0.0363104008, 0.310216516,
   0.22666131, 3.88651156, 31},
  {-3.11214662, 0.458171129, 0.0979138538, 0.0285884105, 0.12427754, 0.0384868123, 1.26925385,
   1.34623826, 1.26925385, 0.246488109, 0.115635969, 0.0790941268, 0.357558519, 0.289219588,
   162.144669, 61},
};
static const int32_t openml_labels[3] = {0, 2, 4};

static void check_row_is(const RtDataset *ds, const RtSplit *s, int64_t i, int r) {
  assert_int_equal(s->y[i], openml_labels[r]);
  for (int j = 0; j < 16; j++) {
    /* x is float32: its rounding error scales with the standardised value's size. */
    double want = openml_rows[r][j], got = raw_value(ds, s, i, j);
    double tol = 1e-7 * (fabs(want) + fabs(ds->mean[j]) + fabs(s->x[i * 16 + j]) * ds->scale[j]);
    if (fabs(got - want) > tol + 1e-12)
      fail_msg("row %d feature %d: %.9g, want %.9g", r, j, got, want);
  }
}

static uint64_t check_openml(const char *path) {
  RtDataOpts o = opts_for(path);
  RtDataset ds = load_ok(&o);
  assert_false(ds.synthetic);
  assert_int_equal(ds.n_raw, 7);
  assert_int_equal(ds.n_unique, 3);
  /* 3 rows: test ceil(0.6) = 1, validation ceil(0.05 * 2) = 1, train 1.  numpy's
   * RandomState(42).permutation(3) is [0 1 2]: the test row is the first, g. */
  assert_int_equal(ds.test.n, 1);
  assert_int_equal(ds.val.n, 1);
  assert_int_equal(ds.train.n, 1);
  check_row_is(&ds, &ds.test, 0, 0);
  int tr = ds.train.y[0] == 2 ? 1 : 2;
  check_row_is(&ds, &ds.train, 0, tr);
  check_row_is(&ds, &ds.val, 0, 3 - tr);
  /* One training row: its features are the (float) mean and every scale is 1 (zero
   * variance). */
  for (int j = 0; j < 16; j++) {
    assert_true(ds.scale[j] == 1.0f);
    assert_true(fabsf(ds.train.x[j]) < 1e-6f);
  }
  assert_non_null(strstr(ds.desc, path));
  uint64_t h = ds.hash;
  rt_data_free(&ds);
  return h;
}

static void test_csv_openml(void **state) {
  (void)state;
  uint64_t h_csv = check_openml(FIXTURES "openml_sample.csv");
  uint64_t h_arff = check_openml(FIXTURES "openml_sample.arff");
  /* The same rows in the same order: the same splits, whatever the format. */
  assert_true(h_csv == h_arff);
}

/* A CSV with a j_ prefix, quoted fields, CRLF, blank lines, an extra column and a different
 * column order reads the same as the plain one. */
static void test_csv_variants(void **state) {
  (void)state;
  char path[512] = {0};
  tmp_path(path, sizeof path, "variant.csv");
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fprintf(f, "\"j_index\"");
  for (int j = 15; j >= 0; j--) fprintf(f, ",%s", rt_jsc_feature_names[j]);
  fprintf(f, ",\"class\"\r\n\r\n");
  int order[] = {0, 1, 2, 0, 2, 1, 0};
  for (int k = 0; k < 7; k++) {
    int r = order[k];
    fprintf(f, "%d", k);
    for (int j = 15; j >= 0; j--) fprintf(f, ", %.9g", openml_rows[r][j]);
    fprintf(f, ",\"%s\"\r\n", rt_jsc_class_names[openml_labels[r]]);
  }
  fclose(f);
  uint64_t h = check_openml(path);
  assert_true(h == check_openml(FIXTURES "openml_sample.csv"));
  /* the same with a UTF-8 byte order mark in front (as Excel writes it) */
  char bom[512] = {0};
  tmp_path(bom, sizeof bom, "bom.csv");
  SrcFile *src;
  Arena *a = arena_new();
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(diag_read_file(a, path, &src, &d), JS_OK);
  char *text = malloc(src->len + 3);
  memcpy(text, "\xef\xbb\xbf", 3), memcpy(text + 3, src->text, src->len);
  write_file(bom, text, src->len + 3);
  assert_true(check_openml(bom) == h);
  /* ';' between fields (a European spreadsheet's CSV): refused with the reason */
  for (size_t i = 3; i < src->len + 3; i++)
    if (text[i] == ',') text[i] = ';';
  write_file(bom, text, src->len + 3);
  RtDataOpts o;
  rt_data_opts_default(&o);
  o.path = bom;
  o.no_cache = true;
  expect_error(&o, "jscc reads comma-separated values");
  free(text);
  diag_free(&d);
  arena_free(a);
}

/* ---- HDF5 ---- */

#ifdef JSCC_HAVE_HDF5
/* A t_allpar_new written with the C API: jet k has feature j = k * 0.5 + j (float64 fields
 * for even j, float32 for odd ones), class k % 5 in int32 one-hot fields, repeated twice
 * for even k, with ignored extra fields.  `drop` leaves out one field; `dset` names the
 * dataset; rows is the number of jets. */
static void write_h5(const char *path, const char *dset, const char *drop, int jets) {
  typedef struct Row {
    int64_t index;
    double f64[8];
    float f32[8];
    int32_t onehot[5];
    float extra;
  } Row;
  hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(Row));
  H5Tinsert(t, "j_index", offsetof(Row, index), H5T_NATIVE_INT64);
  for (int j = 0; j < 16; j++) {
    if (drop && strcmp(drop, rt_jsc_feature_names[j]) == 0) continue;
    if (j % 2 == 0)
      H5Tinsert(t, rt_jsc_feature_names[j], offsetof(Row, f64) + (size_t)(j / 2) * 8, H5T_IEEE_F64LE);
    else
      H5Tinsert(t, rt_jsc_feature_names[j], offsetof(Row, f32) + (size_t)(j / 2) * 4, H5T_IEEE_F32LE);
  }
  const char *oh[5] = {"j_g", "j_q", "j_w", "j_z", "j_t"};
  for (int c = 0; c < 5; c++)
    if (!drop || strcmp(drop, oh[c]) != 0)
      H5Tinsert(t, oh[c], offsetof(Row, onehot) + (size_t)c * 4, H5T_NATIVE_INT32);
  H5Tinsert(t, "j1_ptrel", offsetof(Row, extra), H5T_NATIVE_FLOAT);
  int n = 0;
  Row *rows = calloc((size_t)jets * 2, sizeof(Row));
  for (int k = 0; k < jets; k++)
    for (int rep = 0; rep < (k % 2 == 0 ? 2 : 1); rep++) {
      Row *r = &rows[n++];
      r->index = k;
      for (int j = 0; j < 16; j++) {
        double v = k * 0.5 + j;
        if (j % 2 == 0) r->f64[j / 2] = v;
        else r->f32[j / 2] = (float)v;
      }
      r->onehot[k % 5] = 1;
      r->extra = (float)rep; /* constituents differ only in ignored fields */
    }
  hsize_t dims = (hsize_t)n, chunk = n < 16 ? (hsize_t)n : 16;
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t space = H5Screate_simple(1, &dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 1, &chunk);
  hid_t ds = H5Dcreate2(file, dset, t, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  assert_true(ds >= 0);
  assert_true(H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0);
  H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Fclose(file);
  H5Tclose(t);
  free(rows);
}
#endif

static void test_hdf5_c_api(void **state) {
  (void)state;
#ifdef JSCC_HAVE_HDF5
  char path[512] = {0};
  tmp_path(path, sizeof path, "capi.h5");
  enum { JETS = 101 };
  write_h5(path, "t_allpar_new", NULL, JETS);
  RtDataOpts o = opts_for(path);
  RtDataset ds = load_ok(&o);
  assert_int_equal(ds.n_raw, JETS + (JETS + 1) / 2);
  assert_int_equal(ds.n_unique, JETS);
  assert_non_null(strstr(ds.desc, "HDF5"));
  int seen[JETS] = {0};
  const RtSplit *sp[3] = {&ds.train, &ds.val, &ds.test};
  for (int s = 0; s < 3; s++)
    for (int64_t i = 0; i < sp[s]->n; i++) {
      int k = (int)lround(raw_value(&ds, sp[s], i, 0) / 0.5);
      assert_in_range(k, 0, JETS - 1);
      seen[k]++;
      assert_int_equal(sp[s]->y[i], k % 5);
      for (int j = 0; j < 16; j++) assert_true(fabs(raw_value(&ds, sp[s], i, j) - (k * 0.5 + j)) < 1e-4);
    }
  for (int k = 0; k < JETS; k++) assert_int_equal(seen[k], 1);
  /* Deduplication keeps the first occurrence in file order, so the split follows numpy's
   * permutation of jet indices: the test split is jets perm[0..ceil(0.2 * 101)). */
  int64_t perm[JETS];
  rt_np_permutation(42, perm, JETS);
  assert_int_equal(ds.test.n, 21);
  for (int64_t i = 0; i < ds.test.n; i++)
    assert_int_equal(lround(raw_value(&ds, &ds.test, i, 0) / 0.5), perm[i]);
  rt_data_free(&ds);
#else
  skip();
#endif
}

/* The jets of tiny_lzf.h5 (scripts/data_reference.py): feature j of jet k is
 * (16 k + j) / 8 - 100, multiplicity k % 50 + 10, class k % 5; jet k repeats k % 3 + 1 times. */
static void test_hdf5_lzf_fixture(void **state) {
  (void)state;
  RtDataOpts o = opts_for(FIXTURES "tiny_lzf.h5");
#ifdef JSCC_HAVE_HDF5
  RtDataset ds = load_ok(&o);
  assert_int_equal(ds.n_raw, 399);
  assert_int_equal(ds.n_unique, 200);
  int seen[200] = {0};
  const RtSplit *sp[3] = {&ds.train, &ds.val, &ds.test};
  for (int s = 0; s < 3; s++)
    for (int64_t i = 0; i < sp[s]->n; i++) {
      long k = lround(((raw_value(&ds, sp[s], i, 0) + 100) * 8) / 16);
      assert_in_range(k, 0, 199);
      seen[k]++;
      assert_int_equal(sp[s]->y[i], k % 5);
      for (int j = 0; j < 15; j++)
        assert_true(fabs(raw_value(&ds, sp[s], i, j) - ((k * 16 + j) * 0.125 - 100)) < 1e-3);
      assert_true(fabs(raw_value(&ds, sp[s], i, 15) - (double)(k % 50 + 10)) < 1e-4);
    }
  for (int k = 0; k < 200; k++) assert_int_equal(seen[k], 1);
  rt_data_free(&ds);
#else
  expect_error(&o, "built without HDF5");
#endif
}

static void test_lzf_decompress(void **state) {
  (void)state;
  uint8_t out[64];
  const uint8_t lit[] = {2, 'a', 'b', 'c'};
  assert_int_equal(rt_lzf_decompress(lit, sizeof lit, out, sizeof out), 3);
  assert_memory_equal(out, "abc", 3);
  /* A back reference may overlap its own output: "abc" then 6 bytes from 3 back. */
  const uint8_t ref[] = {2, 'a', 'b', 'c', (6 - 2) << 5, 3 - 1};
  assert_int_equal(rt_lzf_decompress(ref, sizeof ref, out, sizeof out), 9);
  assert_memory_equal(out, "abcabcabc", 9);
  /* A long reference: L = 7 plus an extra length byte. */
  const uint8_t lng[] = {0, 'x', 7 << 5, 10, 0};
  assert_int_equal(rt_lzf_decompress(lng, sizeof lng, out, sizeof out), 1 + 7 + 10 + 2);
  for (int i = 0; i < 20; i++) assert_int_equal(out[i], 'x');
  /* Malformed: a reference before the start, a cut literal, a cut reference, no room. */
  const uint8_t before[] = {0, 'x', 1 << 5, 5};
  assert_int_equal(rt_lzf_decompress(before, sizeof before, out, sizeof out), 0);
  assert_int_equal(rt_lzf_decompress(lit, 3, out, sizeof out), 0);
  assert_int_equal(rt_lzf_decompress(ref, 5, out, sizeof out), 0);
  assert_int_equal(rt_lzf_decompress(ref, sizeof ref, out, 8), 0);
  /* Random input never reads or writes out of bounds (ASan watches). */
  Rng r;
  rt_rng_seed(&r, 5);
  uint8_t in[256], big[4096];
  for (int it = 0; it < 20000; it++) {
    size_t n = (size_t)rt_rng_below(&r, sizeof in) + 1;
    for (size_t i = 0; i < n; i++) in[i] = (uint8_t)rt_rng_u64(&r);
    size_t cap = (size_t)rt_rng_below(&r, sizeof big) + 1;
    assert_true(rt_lzf_decompress(in, n, big, cap) <= cap);
  }
}

/* ---- the cache ---- */

static void test_cache_round_trip(void **state) {
  (void)state;
  char dir[512];
  tmp_path(dir, sizeof dir, "cache/nested");
  RtDataOpts o;
  rt_data_opts_default(&o);
  o.synth_n = 5000;
  o.cache_dir = dir;
  RtDataset a = load_ok(&o);
  assert_false(a.from_cache);
  RtDataset b = load_ok(&o);
  assert_true(b.from_cache);
  assert_true(a.hash == b.hash);
  assert_string_equal(a.desc, b.desc);
  assert_int_equal(a.n_raw, b.n_raw);
  assert_int_equal(a.test.n, b.test.n);
  assert_memory_equal(a.train.x, b.train.x, (size_t)a.train.n * 16 * sizeof(float));
  assert_memory_equal(a.test.y, b.test.y, (size_t)a.test.n * sizeof(int32_t));
  assert_memory_equal(a.mean, b.mean, sizeof a.mean);
  assert_int_equal(((uintptr_t)b.train.x) % 64, 0);
  assert_int_equal(((uintptr_t)b.test.y) % 64, 0);
  rt_data_free(&b);
  /* Another option is another file. */
  o.val_frac = 0.1;
  b = load_ok(&o);
  assert_false(b.from_cache);
  rt_data_free(&b);
  o.val_frac = 0.05;

  char path[1024];
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(rt_data_cache_path(&o, path, sizeof path, &d), JS_OK);
  diag_free(&d);
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);

  /* A flipped byte in the arrays, a truncated file, a garbage file: each rebuilt silently. */
  for (int how = 0; how < 3; how++) {
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    if (how == 0) {
      fseek(f, (long)sb.st_size - 100, SEEK_SET);
      int c = fgetc(f);
      fseek(f, (long)sb.st_size - 100, SEEK_SET);
      fputc(c ^ 0x20, f);
      fclose(f);
    } else if (how == 1) {
      fclose(f);
      assert_int_equal(truncate(path, sb.st_size / 2), 0);
    } else {
      fclose(f);
      write_text(path, "JSCCDAT\nnot a cache");
    }
    diag_init(&d, NULL);
    RtDataset c;
    assert_int_equal(rt_data_load(&o, &c, &d), JS_OK);
    assert_int_equal(d.nerrors + d.nwarnings, 0);
    diag_free(&d);
    assert_false(c.from_cache);
    assert_true(c.hash == a.hash);
    rt_data_free(&c);
    c = load_ok(&o);
    assert_true(c.from_cache);
    rt_data_free(&c);
  }
  rt_data_free(&a);
}

/* A source file that changes misses the cache. */
static void test_cache_source_change(void **state) {
  (void)state;
  char src[512], dir[512];
  tmp_path(src, sizeof src, "change.csv");
  tmp_path(dir, sizeof dir, "cache2");
  FILE *in = fopen(FIXTURES "openml_sample.csv", "rb");
  assert_non_null(in);
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf, in);
  fclose(in);
  write_file(src, buf, n);
  RtDataOpts o = opts_for(src);
  o.no_cache = false;
  o.cache_dir = dir;
  RtDataset a = load_ok(&o);
  rt_data_free(&a);
  a = load_ok(&o);
  assert_true(a.from_cache);
  uint64_t h = a.hash;
  rt_data_free(&a);
  /* Same size, different content. */
  char *p = strstr(buf, "162.144669");
  assert_non_null(p);
  p[0] = '3';
  write_file(src, buf, n);
  a = load_ok(&o);
  assert_false(a.from_cache);
  assert_true(a.hash != h);
  rt_data_free(&a);
}

/* ---- errors ---- */

static void test_errors_text(void **state) {
  (void)state;
  char path[512] = {0};
  RtDataOpts o = opts_for(tmp_path(path, sizeof path, "does-not-exist.csv"));
  expect_error(&o, "does-not-exist.csv: error: cannot open the data file: No such file");

  write_text(tmp_path(path, sizeof path, "empty.csv"), "");
  expect_error(&o, "empty.csv: error: empty file");

  /* The header without mass_mmdt, one near miss suggested. */
  char text[4096];
  char header[1024] = "label";
  for (int j = 0; j < 16; j++) {
    strcat(header, ",");
    strcat(header, j == 14 ? "mass_mmdtt" : rt_jsc_feature_names[j] + 2);
  }
  snprintf(text, sizeof text, "%s\n", header);
  write_text(tmp_path(path, sizeof path, "nocol.csv"), text);
  expect_error(&o, "nocol.csv:1:1: error: missing column 'mass_mmdt' (or 'j_mass_mmdt'); did you mean 'mass_mmdtt'?");

  write_text(tmp_path(path, sizeof path, "noclass.csv"),
             "zlogz,c1_b0_mmdt,c1_b1_mmdt,c1_b2_mmdt,c2_b1_mmdt,c2_b2_mmdt,d2_b1_mmdt,d2_b2_mmdt,"
             "d2_a1_b1_mmdt,d2_a1_b2_mmdt,m2_b1_mmdt,m2_b2_mmdt,n2_b1_mmdt,n2_b2_mmdt,mass_mmdt,"
             "multiplicity\n");
  expect_error(&o, "noclass.csv:1:1: error: no class column");

  const char *good = "g,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\n";
  snprintf(header, sizeof header, "label");
  for (int j = 0; j < 16; j++) {
    strcat(header, ",");
    strcat(header, rt_jsc_feature_names[j] + 2);
  }
  snprintf(text, sizeof text, "%s\n%sq,1,2,3,4,1.5.2,6,7,8,9,10,11,12,13,14,15,16\n", header, good);
  write_text(tmp_path(path, sizeof path, "badnum.csv"), text);
  expect_error(&o, "badnum.csv:3:11: error: bad number '1.5.2' for c2_b1_mmdt");

  snprintf(text, sizeof text, "%s\n%sq,1,2,3,4,5,6,7,8,9,10,11,12,13,14,,16\n", header, good);
  write_text(tmp_path(path, sizeof path, "emptyfield.csv"), text);
  expect_error(&o, "emptyfield.csv:3:");

  snprintf(text, sizeof text, "%s\n%sq,1,2,3,4,5,6,7,8,9,10,11,12,13,14,1e999,16\n", header, good);
  write_text(tmp_path(path, sizeof path, "inf.csv"), text);
  expect_error(&o, "bad number '1e999' for mass_mmdt");

  snprintf(text, sizeof text, "%s\n%s%sh,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\n", header, good, good);
  write_text(tmp_path(path, sizeof path, "badlabel.csv"), text);
  expect_error(&o, "badlabel.csv:4:1: error: unknown class label 'h'");

  snprintf(text, sizeof text, "%s\n%sq,1,2,3\n", header, good);
  write_text(tmp_path(path, sizeof path, "short.csv"), text);
  expect_error(&o, "short.csv:3:8: error: expected 17 fields, found 4");

  snprintf(text, sizeof text, "%s\n\"g,1,2,3\n", header);
  write_text(tmp_path(path, sizeof path, "quote.csv"), text);
  expect_error(&o, "quote.csv:2:1: error: unterminated quoted field");

  /* One unique row, however often repeated, cannot be split. */
  snprintf(text, sizeof text, "%s\n%s%s", header, good, good);
  write_text(tmp_path(path, sizeof path, "onerow.csv"), text);
  expect_error(&o, "onerow.csv: error: 1 unique rows are too few to split");

  write_text(tmp_path(path, sizeof path, "noheader.csv"), "\n\n\n");
  expect_error(&o, "noheader.csv: error: no header row");

  write_text(tmp_path(path, sizeof path, "bad.arff"),
             "% comment\n@relation x\n@attribute zlogz numeric\n@bogus\n");
  expect_error(&o, "bad.arff:4:1: error: expected @relation, @attribute or @data");
  write_text(tmp_path(path, sizeof path, "nodata.arff"), "@relation x\n@attribute zlogz numeric\n");
  expect_error(&o, "nodata.arff: error: ARFF file without an @data section");
  write_text(tmp_path(path, sizeof path, "missing.arff"),
             "@relation x\n@attribute zlogz numeric\n@attribute class {g,q,w,z,t}\n@data\n");
  expect_error(&o, "missing.arff:2:1: error: missing column 'c1_b0_mmdt'");

  /* Binary garbage is reported, not crashed on. */
  unsigned char junk[3000];
  Rng r;
  rt_rng_seed(&r, 9);
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)rt_rng_u64(&r);
  write_file(tmp_path(path, sizeof path, "junk.bin"), junk, sizeof junk);
  expect_error(&o, "junk.bin");
}

static void test_errors_hdf5(void **state) {
  (void)state;
  char path[512] = {0};
  RtDataOpts o = opts_for(path);
#ifdef JSCC_HAVE_HDF5
  /* Truncated: the LZF fixture cut in half. */
  FILE *in = fopen(FIXTURES "tiny_lzf.h5", "rb");
  assert_non_null(in);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf, in);
  fclose(in);
  write_file(tmp_path(path, sizeof path, "cut.h5"), buf, n / 2);
  expect_error(&o, "cut.h5: error: H5Fopen failed: ");
  expect_error(&o, "truncated file");
  /* Cut only a little: the header reads, a chunk does not. */
  write_file(tmp_path(path, sizeof path, "cut2.z"), buf, n - 2000);
  expect_error(&o, "cut2.z: error: H5");
  /* Corrupt compressed chunks: the decompressor refuses them, HDF5 reports the read. */
  for (size_t i = n / 2; i < n - 4000; i += 7) buf[i] ^= 0x5a;
  write_file(tmp_path(path, sizeof path, "corrupt.h5"), buf, n);
  expect_error(&o, "corrupt.h5: error: H5");

  write_h5(tmp_path(path, sizeof path, "other.h5"), "something_else", NULL, 10);
  expect_error(&o, "other.h5: error: no dataset 't_allpar_new' (the file has 'something_else')");
  write_h5(tmp_path(path, sizeof path, "nomass.h5"), "t_allpar_new", "j_mass_mmdt", 10);
  expect_error(&o, "nomass.h5: error: dataset 't_allpar_new' has no field 'j_mass_mmdt'");
  write_h5(tmp_path(path, sizeof path, "noz.h5"), "t_allpar_new", "j_z", 10);
  expect_error(&o, "has no field 'j_z'");
  write_h5(tmp_path(path, sizeof path, "tiny.h5"), "t_allpar_new", NULL, 1);
  expect_error(&o, "tiny.h5: error: 1 unique rows are too few to split");
  /* The HDF5 signature after a 512-byte user block is found too. */
  char blk[600] = {0};
  memcpy(blk + 512, "\x89HDF\r\n\x1a\n", 8);
  write_file(tmp_path(path, sizeof path, "userblock.csv"), blk, sizeof blk);
  expect_error(&o, "userblock.csv: error: H5Fopen failed");
#else
  write_file(tmp_path(path, sizeof path, "x.h5"), "\x89HDF\r\n\x1a\n", 8);
  expect_error(&o, "x.h5: error: this is an HDF5 file, but jscc was built without HDF5");
#endif
}

static void test_errors_options(void **state) {
  (void)state;
  RtDataOpts o;
  rt_data_opts_default(&o);
  o.no_cache = true;
  o.test_frac = 1.0;
  expect_error(&o, "test fraction 1 is not in (0, 1)");
  rt_data_opts_default(&o);
  o.val_frac = -0.1;
  expect_error(&o, "validation fraction");
  rt_data_opts_default(&o);
  o.split_seed = 1ULL << 32;
  expect_error(&o, "does not fit numpy's 32-bit seed");
  rt_data_opts_default(&o);
  o.synth_n = 1;
  expect_error(&o, "synthetic data set size 1");
  /* Validation taking every training row. */
  rt_data_opts_default(&o);
  o.no_cache = true;
  o.synth_n = 10;
  o.val_frac = 0.99;
  expect_error(&o, "too few to split");
}

/* ---- allocation failures ---- */


/* Every allocation of a CSV load and a cached synthetic load fails in turn: each is
 * reported as JS_ENOMEM (or the load still succeeds), nothing leaks (ASan). */
static void test_alloc_failures(void **state) {
  (void)state;
  char dir[512];
  tmp_path(dir, sizeof dir, "cache-oom");
  for (int which = 0; which < 2; which++) {
    RtDataOpts o = opts_for(FIXTURES "openml_sample.csv");
    if (which == 1) {
      o = opts_for(NULL);
      o.synth_n = 3000;
      o.no_cache = false;
      o.cache_dir = dir;
    }
    for (long n = 0;; n++) {
      FailNth h;
      Diag d;
      diag_init(&d, NULL);
      RtDataset ds;
      fail_nth_install(&h, n);
      Status st = rt_data_load(&o, &ds, &d);
      ir_set_alloc_hook(NULL, NULL);
      bool reached = h.calls > n;
      rt_data_free(&ds);
      diag_free(&d);
      if (!reached) {
        assert_int_equal(st, JS_OK);
        break;
      }
      if (st != JS_OK && st != JS_ENOMEM) fail_msg("allocation %ld failed: status %d", n, st);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_synth_deterministic),
    cmocka_unit_test(test_synth_balance_and_features),
    cmocka_unit_test(test_synth_load),
    cmocka_unit_test(test_np_permutation),
    cmocka_unit_test(test_csv_openml),
    cmocka_unit_test(test_csv_variants),
    cmocka_unit_test(test_hdf5_c_api),
    cmocka_unit_test(test_hdf5_lzf_fixture),
    cmocka_unit_test(test_lzf_decompress),
    cmocka_unit_test(test_cache_round_trip),
    cmocka_unit_test(test_cache_source_change),
    cmocka_unit_test(test_errors_text),
    cmocka_unit_test(test_errors_hdf5),
    cmocka_unit_test(test_errors_options),
    cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, setup_tmp, remove_tmp);
}
