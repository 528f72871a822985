/* fuzz_data.c — libFuzzer target for the JSC data loaders (runtime/data.c, runtime/hdf5.c):
 * the input is a whole data file, loaded by rt_data_load without the cache (it tells CSV,
 * ARFF and HDF5 apart by content, as for a real file).  An input that starts with the HDF5
 * signature is first read by rt_jsc_read_hdf5 directly, and by rt_data_load only when that
 * worked.  Any input must load or give diagnostics, never a crash, hang, leak or sanitizer
 * report; a failure reports an error (HDF5's included), and the HDF5 reader leaves no HDF5
 * object open.  What loads must be a split of the unique rows with finite standardised
 * features and classes in 0..4.
 *
 * The loaders take a path, so the input goes to a temporary file in /dev/shm ($TMPDIR or
 * /tmp without it), removed at exit; libhdf5 refuses a memfd's /proc/self/fd path (it cannot
 * resolve the real path).  A crash leaves the file, jscc-fuzz-data-PID.  The default split
 * (test 0.2, validation 0.05 of the rest) splits any three or more unique rows.
 * FUZZ_VERBOSE=1 prints the diagnostics. */
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime.h"
#ifdef JSCC_HAVE_HDF5
#include <hdf5.h>
#endif

/* libhdf5 1.10 leaks what it had decoded when a corrupt object header makes H5Dopen2 fail
 * (H5O_msg_read -> H5O_dtype_decode "member overlaps with previous member"; reproducer in
 * test/fuzz/crashes/).  That is libhdf5's leak, not jscc's: jscc got no id to close.  Objects
 * jscc fails to close stay reachable from HDF5's id table, so LeakSanitizer could not see
 * them anyway; read_hdf5 checks for them with H5Fget_obj_count instead. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) {
  return "leak:libhdf5\n";
}
const char *__lsan_default_options(void); /* without the table of suppressions used per check */
const char *__lsan_default_options(void) {
  return "print_suppressions=0";
}

/* FUZZ_VERBOSE=1 prints every diagnostic, to see what a reproducer hits. */
static FILE *verbose(void) {
  static int v = -1;
  if (v < 0) v = getenv("FUZZ_VERBOSE") && *getenv("FUZZ_VERBOSE") == '1';
  return v ? stderr : NULL;
}

static void fail(const char *what, const Diag *d) {
  fprintf(stderr, "fuzz_data: %s\n%s", what, d ? sb_str(&d->text) : "");
  abort();
}

static int input_fd = -1;
static char input_path[PATH_MAX];

static void remove_input(void) {
  if (input_path[0]) unlink(input_path);
}

static void put_input(const unsigned char *data, size_t size) {
  if (input_fd < 0) {
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(input_path, sizeof input_path, "%s/jscc-fuzz-data-%ld", dir && *dir ? dir : "/tmp", (long)getpid());
    input_fd = open(input_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (input_fd < 0) fail("cannot create the input file", NULL);
    atexit(remove_input);
  }
  if (ftruncate(input_fd, 0) != 0) fail("ftruncate failed", NULL);
  for (size_t at = 0; at < size;) {
    ssize_t w = pwrite(input_fd, data + at, size - at, (off_t)at);
    if (w <= 0) fail("pwrite failed", NULL);
    at += (size_t)w;
  }
}

/* HDF5's superblock signature at the start of the file.  (data.c also finds it after a user
 * block, at 512, 1024, 2048, ...; rt_data_load covers those.) */
static bool starts_with_hdf5(const unsigned char *b, size_t n) {
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  return n >= 8 && memcmp(b, sig, 8) == 0;
}

static void check_status(Status st, const Diag *d, const char *call) {
  if (st != JS_OK && d->nerrors == 0) {
    fprintf(stderr, "fuzz_data: %s failed (status %d) without reporting an error\n%s", call, (int)st,
            sb_str(&d->text));
    abort();
  }
  if (st == JS_OK && d->nerrors != 0) {
    fprintf(stderr, "fuzz_data: %s succeeded but reported errors:\n%s", call, sb_str(&d->text));
    abort();
  }
}

static void check_split(const RtSplit *s, const char *name, const Diag *d) {
  if (s->n < 0 || (s->n && (!s->x || !s->y))) fail(name, d);
  for (int64_t i = 0; i < s->n; i++) {
    if (s->y[i] < 0 || s->y[i] >= RT_JSC_CLASSES) fail("a class out of 0..4", d);
    for (int j = 0; j < RT_JSC_FEATURES; j++)
      if (!isfinite(s->x[i * RT_JSC_FEATURES + j])) {
        fprintf(stderr, "fuzz_data: %s row %lld feature %d (%s) is %g\n", name, (long long)i, j,
                rt_jsc_feature_names[j], (double)s->x[i * RT_JSC_FEATURES + j]);
        fail("a standardised feature is not finite", d);
      }
  }
}

static void load(void) {
  RtDataOpts o;
  rt_data_opts_default(&o);
  o.path = input_path;
  o.no_cache = true;
  RtDataset ds;
  Diag d;
  diag_init(&d, verbose());
  Status st = rt_data_load(&o, &ds, &d);
  check_status(st, &d, "rt_data_load");
  if (st == JS_OK) {
    for (int j = 0; j < RT_JSC_FEATURES; j++)
      if (!isfinite(ds.mean[j]) || !isfinite(ds.scale[j]) || ds.scale[j] == 0) {
        fprintf(stderr, "fuzz_data: feature %d (%s): mean %g, scale %g\n", j, rt_jsc_feature_names[j],
                (double)ds.mean[j], (double)ds.scale[j]);
        fail("a bad scaler", &d);
      }
    check_split(&ds.train, "train split", &d);
    check_split(&ds.val, "validation split", &d);
    check_split(&ds.test, "test split", &d);
    if (ds.train.n < 1 || ds.test.n < 1) fail("an empty train or test split", &d);
    if (ds.train.n + ds.val.n + ds.test.n != ds.n_unique) fail("the splits do not add up to the unique rows", &d);
    if (ds.n_unique > ds.n_raw) fail("more unique rows than rows", &d);
    if (ds.from_cache) fail("no_cache, yet served from the cache", &d);
  } else if (ds.impl || ds.train.n || ds.val.n || ds.test.n) {
    fail("a failed load left a data set behind", &d);
  }
  rt_data_free(&ds);
  diag_free(&d);
}

/* The HDF5 reader on its own: its rows, unscaled, before the split's own checks.  True
 * when it read the file. */
static bool read_hdf5(void) {
  RtJscRows rows;
  rt_jsc_rows_init(&rows);
  Diag d;
  diag_init(&d, verbose());
  Status st = rt_jsc_read_hdf5(input_path, &rows, &d);
  check_status(st, &d, "rt_jsc_read_hdf5");
  if (rows.n < 0 || rows.n > rows.n_raw) fail("bad row counts from rt_jsc_read_hdf5", &d);
  for (int64_t i = 0; st == JS_OK && i < rows.n; i++) {
    if (rows.y[i] < 0 || rows.y[i] >= RT_JSC_CLASSES) fail("an HDF5 class out of 0..4", &d);
    for (int j = 0; j < RT_JSC_FEATURES; j++)
      if (!isfinite(rows.x[i * RT_JSC_FEATURES + j])) fail("an HDF5 feature is not finite", &d);
  }
#ifdef JSCC_HAVE_HDF5
  ssize_t open_objs = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL);
  if (open_objs != 0) {
    fprintf(stderr, "fuzz_data: rt_jsc_read_hdf5 left %zd HDF5 objects open\n", open_objs);
    fail("an HDF5 object leak", &d);
  }
#endif
  rt_jsc_rows_free(&rows);
  diag_free(&d);
  return st == JS_OK;
}

/* libhdf5 1.10.8 itself is not safe on corrupt files: fuzzing found a heap use-after-free
 * inside its datatype conversion (H5T__conv_struct_opt, state-dependent: it does not replay
 * alone) besides a leak and a 4 GiB allocation (test/fuzz/crashes/README.md).  Those are
 * not jscc's to fix, and they would make every CI run a coin toss, so HDF5 inputs are
 * fuzzed only when JSCC_FUZZ_HDF5=1; by default this target covers the CSV and ARFF readers
 * and the rest of rt_data_load. */
static bool fuzz_hdf5(void) {
  static int on = -1;
  if (on < 0) on = getenv("JSCC_FUZZ_HDF5") && strcmp(getenv("JSCC_FUZZ_HDF5"), "1") == 0;
  return on;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  if (starts_with_hdf5(data, size) && !fuzz_hdf5()) return 0;
  put_input(data, size);
  /* libhdf5 takes ~30 ms to open even a small file, so an HDF5 file the reader refuses is
   * not opened a second time through rt_data_load, which would refuse it the same way. */
  if (starts_with_hdf5(data, size) && !read_hdf5()) return 0;
  load();
  return 0;
}
