/* test_tboard.c — TensorBoard event files (exp/tboard.c), read back by a reader of our own:
 * it walks the TFRecord frames checking both masked CRCs and decodes the protocol buffers
 * with a small varint/tag decoder, so the checks do not trust the writer's encoder.  Covered:
 * the CRC32C known answer; the file name; the file_version event; scalars (tag, step,
 * value, wall time, negative steps and zero values); the HParams experiment, session start
 * (keys, values, plugin name) and session end; every flipped byte is caught; an
 * uncreatable directory and a write cut short by the file-size limit are reported with the
 * path and strerror and leave the writer failed; allocation failure is reported, not
 * crashed on. */
#include <dirent.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "exp.h"
#include "../fail_nth.h"

static char tmpdir[64];

static const char *tmp(const char *name) {
  static char buf[8][400]; /* each result stays valid for 7 more calls */
  static int k;
  char *b = buf[k++ % 8];
  snprintf(b, sizeof buf[0], "%s/%s", tmpdir, name);
  return b;
}

static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/jscc_tboard_XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  chmod(path, 0700); /* the read-only directory of test_unwritable */
  remove(path);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}

typedef struct Bytes {
  unsigned char *p;
  size_t n;
} Bytes;

static Bytes slurp(const char *path) {
  Bytes b = {NULL, 0};
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  b.n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  b.p = malloc(b.n + 1);
  assert_non_null(b.p);
  assert_int_equal(fread(b.p, 1, b.n, f), b.n);
  fclose(f);
  return b;
}

/* ---- the reader: TFRecord frames ---- */

static uint64_t le(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
  return v;
}

typedef struct Rec {
  const unsigned char *p; /* the record's data (a serialized Event) */
  size_t n;
} Rec;

/* Split a file into records: the count, or -1 when a frame is truncated or a CRC is wrong. */
static int records(const Bytes *b, Rec *out, int max) {
  size_t at = 0;
  int n = 0;
  while (at < b->n) {
    if (b->n - at < 16 || n == max) return -1; /* a frame has 16 bytes around its data */
    const unsigned char *h = b->p + at;
    uint64_t len = le(h, 8);
    if (le(h + 8, 4) != tb_crc_mask(tb_crc32c(0, h, 8))) return -1;
    if (len > b->n - at - 16) return -1;
    if (le(h + 12 + len, 4) != tb_crc_mask(tb_crc32c(0, h + 12, len))) return -1;
    out[n++] = (Rec){h + 12, (size_t)len};
    at += 16 + len;
  }
  return n;
}

/* ---- the reader: protocol buffer fields ---- */

typedef struct Field {
  int num;                /* field number */
  int wire;               /* 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 */
  uint64_t v;             /* varint and fixed values */
  const unsigned char *p; /* length-delimited: the payload */
  size_t n;
} Field;

static bool varint(const unsigned char **p, const unsigned char *end, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    unsigned char c = *(*p)++;
    *v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return true;
  }
  return false;
}

/* The next field of the message [*p, end); false at the end, fails the test when malformed. */
static bool next_field(const unsigned char **p, const unsigned char *end, Field *f) {
  if (*p >= end) return false;
  uint64_t key;
  assert_true(varint(p, end, &key));
  f->num = (int)(key >> 3);
  f->wire = (int)(key & 7);
  if (f->wire == 0) {
    assert_true(varint(p, end, &f->v));
  } else if (f->wire == 1 || f->wire == 5) {
    int n = f->wire == 1 ? 8 : 4;
    assert_true(end - *p >= n);
    f->v = le(*p, n);
    *p += n;
  } else {
    assert_int_equal(f->wire, 2);
    assert_true(varint(p, end, &f->v) && f->v <= (uint64_t)(end - *p));
    f->p = *p;
    f->n = (size_t)f->v;
    *p += f->n;
  }
  return true;
}

/* The last occurrence of field num (protobuf's rule for singular fields) in a message. */
static bool find(const unsigned char *msg, size_t n, int num, Field *out) {
  const unsigned char *p = msg;
  Field f;
  bool found = false;
  while (next_field(&p, msg + n, &f))
    if (f.num == num) *out = f, found = true;
  return found;
}

static Field get(const unsigned char *msg, size_t n, int num, int wire) {
  Field f;
  assert_true(find(msg, n, num, &f));
  assert_int_equal(f.wire, wire);
  return f;
}

static double as_double(uint64_t v) {
  double x;
  memcpy(&x, &v, 8);
  return x;
}

static float as_float(uint64_t v) {
  uint32_t u = (uint32_t)v;
  float x;
  memcpy(&x, &u, 4);
  return x;
}

static void assert_str(Field f, const char *s) {
  assert_int_equal(f.n, strlen(s));
  assert_memory_equal(f.p, s, f.n);
}

/* Event.summary (5) -> Summary.value (1): the one Value each of our events holds. */
static Field event_value(Rec r, int64_t step, double wall_time) {
  assert_true(as_double(get(r.p, r.n, 1, 1).v) == wall_time);
  Field s;
  if (find(r.p, r.n, 2, &s)) assert_int_equal((int64_t)s.v, step);
  else assert_int_equal(step, 0);
  Field sum = get(r.p, r.n, 5, 2);
  return get(sum.p, sum.n, 1, 2);
}

/* Value -> metadata (9) -> plugin_data (1): check the plugin name "hparams", then decode
 * content (2), an HParamsPluginData, and return its oneof member `which`. */
static Field hparams_data(Field val, const char *tag, int which) {
  assert_str(get(val.p, val.n, 1, 2), tag);
  Field md = get(val.p, val.n, 9, 2);
  Field pd = get(md.p, md.n, 1, 2);
  assert_str(get(pd.p, pd.n, 1, 2), "hparams");
  Field content = get(pd.p, pd.n, 2, 2);
  Field version;
  if (find(content.p, content.n, 1, &version)) assert_int_equal(version.v, 0);
  return get(content.p, content.n, which, 2);
}

/* ---- the tests ---- */

static void test_crc(void **state) {
  (void)state;
  assert_int_equal(tb_crc32c(0, "123456789", 9), 0xE3069283u);
  assert_int_equal(tb_crc32c(0, "", 0), 0);
  assert_int_equal(tb_crc32c(tb_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
  /* ((c >> 15) | (c << 17)) + 0xa282ead8, by hand for c = 0xE3069283. */
  assert_int_equal(tb_crc_mask(0xE3069283u), (uint32_t)(0x0001C60Du | 0x25060000u) + 0xa282ead8u);
}

typedef struct Sc {
  const char *tag;
  int64_t step;
  double wall;
  float v;
} Sc;

static const Sc scalars[] = {
    {"train_loss", 0, 1765000000.25, 0.0f}, {"train_loss", 1, 1765000001.5, 1.25f},
    {"val_acc", 1, 1765000001.75, 0.6875f}, {"val_acc", -3, 1765000002.0, -1e-30f},
    {"a/b c", INT64_MAX, 0.0, 3.0e38f},
};
#define NSC (int)(sizeof scalars / sizeof scalars[0])

static const TbHparam hps[] = {
    {"lr", TB_HP_NUMBER, NULL, 1e-3, false},
    {"optimizer", TB_HP_STRING, "adam", 0, false},
    {"batch_norm", TB_HP_BOOL, NULL, 0, true},
    {"empty", TB_HP_STRING, "", 0, false},
};
#define NHP (int)(sizeof hps / sizeof hps[0])
static const char *const metric_tags[] = {"val_acc", "val_loss"};

/* A run: scalars, the hparams start and end; returns the event file's path (malloc'd). */
static char *write_run(const char *dir) {
  Diag d;
  diag_init(&d, stderr);
  TbWriter *w;
  assert_int_equal(tb_open(dir, &w, &d), JS_OK);
  char *path = strdup(tb_path(w));
  assert_int_equal(tb_hparams_start(w, hps, NHP, metric_tags, 2, 1764999999.0, &d), JS_OK);
  for (int i = 0; i < NSC; i++)
    assert_int_equal(tb_scalar(w, scalars[i].tag, scalars[i].step, scalars[i].wall, scalars[i].v, &d), JS_OK);
  assert_int_equal(tb_flush(w, &d), JS_OK);
  assert_int_equal(tb_hparams_end(w, true, 1765000003.0, &d), JS_OK);
  assert_int_equal(tb_close(w, &d), JS_OK);
  assert_int_equal(d.nerrors, 0);
  diag_free(&d);
  return path;
}

static void check_file_name(const char *dir, const char *path) {
  char want[512], host[256] = "";
  gethostname(host, sizeof host);
  host[sizeof host - 1] = 0;
  snprintf(want, sizeof want, "%s/events.out.tfevents.", dir);
  assert_int_equal(strncmp(path, want, strlen(want)), 0);
  snprintf(want, sizeof want, ".%s.%ld.", host, (long)getpid());
  assert_non_null(strstr(path, want));
}

static void check_scalar(Rec r, const Sc *s) {
  Field val = event_value(r, s->step, s->wall);
  assert_str(get(val.p, val.n, 1, 2), s->tag);
  float v = as_float(get(val.p, val.n, 2, 5).v);
  assert_memory_equal(&v, &s->v, sizeof v);
}

/* Experiment: time_created_secs (3), hparam_infos (4: name 1, type 4), metric_infos
 * (5: name 1: tag 2). */
static void check_experiment(Rec r) {
  Field e = hparams_data(event_value(r, 0, 1764999999.0), "_hparams_/experiment", 2);
  assert_true(as_double(get(e.p, e.n, 3, 1).v) == 1764999999.0);
  static const int types[] = {3, 1, 2, 1}; /* FLOAT64, STRING, BOOL, STRING */
  const unsigned char *p = e.p;
  Field f;
  int nh = 0, nm = 0;
  while (next_field(&p, e.p + e.n, &f)) {
    if (f.num == 4) {
      assert_str(get(f.p, f.n, 1, 2), hps[nh].name);
      assert_int_equal(get(f.p, f.n, 4, 0).v, types[nh++]);
    } else if (f.num == 5) {
      Field name = get(f.p, f.n, 1, 2);
      assert_str(get(name.p, name.n, 2, 2), metric_tags[nm++]);
    }
  }
  assert_int_equal(nh, NHP);
  assert_int_equal(nm, 2);
}

/* One map entry {key 1; Value 2}: Value {number 2 (double); string 3; bool 4}. */
static void check_hparam_entry(Field entry, const TbHparam *h) {
  assert_str(get(entry.p, entry.n, 1, 2), h->name);
  Field v = get(entry.p, entry.n, 2, 2);
  if (h->kind == TB_HP_NUMBER) assert_true(as_double(get(v.p, v.n, 2, 1).v) == h->num);
  if (h->kind == TB_HP_STRING) assert_str(get(v.p, v.n, 3, 2), h->str);
  if (h->kind == TB_HP_BOOL) assert_int_equal(get(v.p, v.n, 4, 0).v, h->flag);
}

/* SessionStartInfo: hparams (1, repeated map entries), start_time_secs (5). */
static void check_session_start(Rec r) {
  Field val = event_value(r, 0, 1764999999.0);
  Field s = hparams_data(val, "_hparams_/session_start_info", 3);
  assert_true(as_double(get(s.p, s.n, 5, 1).v) == 1764999999.0);
  const unsigned char *p = s.p;
  Field f;
  int n = 0;
  while (next_field(&p, s.p + s.n, &f))
    if (f.num == 1) check_hparam_entry(f, &hps[n++]);
  assert_int_equal(n, NHP);
  /* The empty float tensor TensorBoard's writer attaches: TensorProto dtype (1) DT_FLOAT. */
  Field t = get(val.p, val.n, 8, 2);
  assert_int_equal(get(t.p, t.n, 1, 0).v, 1);
}

/* SessionEndInfo: status (1) STATUS_SUCCESS, end_time_secs (2). */
static void check_session_end(Rec r) {
  Field e = hparams_data(event_value(r, 0, 1765000003.0), "_hparams_/session_end_info", 4);
  assert_int_equal(get(e.p, e.n, 1, 0).v, 1);
  assert_true(as_double(get(e.p, e.n, 2, 1).v) == 1765000003.0);
}

static void test_round_trip(void **state) {
  (void)state;
  const char *dir = tmp("runs/a/tb"); /* made with its parents */
  char *path = write_run(dir);
  check_file_name(dir, path);
  Bytes b = slurp(path);
  Rec r[16];
  int n = records(&b, r, 16);
  assert_int_equal(n, 1 + 2 + NSC + 1);
  /* Every TensorFlow event file starts with these 12 bytes: the length 24 of its
   * file_version event (wall_time 9 bytes, "brain.Event:2" 15) and that length's masked CRC. */
  static const unsigned char head[12] = {0x18, 0, 0, 0, 0, 0, 0, 0, 0xa3, 0x7f, 0x4b, 0x22};
  assert_memory_equal(b.p, head, 12);
  /* Event 0: file_version (3), and a wall time but no summary. */
  assert_str(get(r[0].p, r[0].n, 3, 2), "brain.Event:2");
  assert_true(as_double(get(r[0].p, r[0].n, 1, 1).v) > 1.7e9);
  check_experiment(r[1]);
  check_session_start(r[2]);
  for (int i = 0; i < NSC; i++) check_scalar(r[3 + i], &scalars[i]);
  check_session_end(r[3 + NSC]);
  /* A second writer in the same directory (and second) gets a file of its own. */
  char *path2 = write_run(dir);
  assert_string_not_equal(path, path2);
  free(path2);
  free(path);
  free(b.p);
}

/* Every byte flipped, one at a time, is caught by a CRC (or breaks the framing). */
static void test_corrupt(void **state) {
  (void)state;
  char *path = write_run(tmp("corrupt"));
  Bytes b = slurp(path);
  Rec r[16];
  assert_int_equal(records(&b, r, 16), 1 + 2 + NSC + 1);
  for (size_t i = 0; i < b.n; i++) {
    b.p[i] ^= 0x10;
    assert_int_equal(records(&b, r, 16), -1);
    b.p[i] ^= 0x10;
  }
  /* So is a file cut short anywhere but between records. */
  Bytes cut = b;
  for (cut.n = 1; cut.n < 12; cut.n++) assert_int_equal(records(&cut, r, 16), -1);
  free(b.p);
  free(path);
}

static void expect_open_fails(const char *dir, const char *msg) {
  Diag d;
  diag_init(&d, NULL);
  TbWriter *w = (TbWriter *)&d; /* anything but NULL: tb_open must clear it */
  assert_int_equal(tb_open(dir, &w, &d), JS_EIO);
  assert_null(w);
  assert_non_null(strstr(sb_str(&d.text), dir));
  assert_non_null(strstr(sb_str(&d.text), msg));
  diag_free(&d);
}

static void test_unwritable(void **state) {
  (void)state;
  /* A file where a directory should be: fails for root too. */
  FILE *f = fopen(tmp("plain"), "w");
  assert_non_null(f);
  fclose(f);
  expect_open_fails(tmp("plain/run"), "Not a directory");
  /* A directory without write permission (root may write anyway). */
  assert_int_equal(mkdir(tmp("ro"), 0500), 0);
  if (geteuid() != 0) {
    expect_open_fails(tmp("ro/run"), "Permission denied");
    expect_open_fails(tmp("ro"), "Permission denied");
  }
  assert_int_equal(tb_close(NULL, NULL), JS_OK);
}

/* Misuse is refused without writing and leaves the writer usable. */
static void test_usage(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, NULL);
  TbWriter *w;
  assert_int_equal(tb_open(tmp("usage"), &w, &d), JS_OK);
  assert_int_equal(tb_scalar(w, "", 0, 0, 0, &d), JS_EUSAGE);
  assert_non_null(strstr(sb_str(&d.text), "error: a scalar needs a tag"));
  TbHparam dup[] = {{"x", TB_HP_BOOL, NULL, 0, true}, {"x", TB_HP_NUMBER, NULL, 1, false}};
  assert_int_equal(tb_hparams_start(w, dup, 2, NULL, 0, 0, &d), JS_EUSAGE);
  assert_non_null(strstr(sb_str(&d.text), "hyper-parameter 'x' given twice"));
  TbHparam nostr = {"s", TB_HP_STRING, NULL, 0, false};
  assert_int_equal(tb_hparams_start(w, &nostr, 1, NULL, 0, 0, &d), JS_EUSAGE);
  assert_non_null(strstr(sb_str(&d.text), "hyper-parameter 's' has no value"));
  assert_int_equal(tb_scalar(w, "ok", 0, 0, 0, &d), JS_OK);
  assert_int_equal(tb_close(w, &d), JS_OK);
  diag_free(&d);
}

/* Writes cut short by the file-size limit (as a full disk would): the error names the file
 * and the reason, later calls return it, close frees. */
static void test_write_fails(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, NULL);
  TbWriter *w;
  assert_int_equal(tb_open(tmp("full"), &w, &d), JS_OK);
  struct rlimit saved, small;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
  small = (struct rlimit){200, saved.rlim_max};
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
  for (int i = 0; i < 20; i++) assert_int_equal(tb_scalar(w, "loss", i, 1.0, 0.5f, &d), JS_OK);
  Status st = tb_flush(w, &d);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
  signal(SIGXFSZ, prev);
  assert_int_equal(st, JS_EIO);
  char want[512];
  snprintf(want, sizeof want, "%s: error: cannot write: File too large", tb_path(w));
  assert_non_null(strstr(sb_str(&d.text), want));
  assert_int_equal(tb_scalar(w, "loss", 99, 1.0, 0.5f, &d), JS_EIO);
  assert_int_equal(tb_hparams_end(w, false, 1.0, &d), JS_EIO);
  assert_int_equal(tb_flush(w, &d), JS_EIO);
  assert_non_null(strstr(sb_str(&d.text), "an earlier write to this file failed"));
  assert_int_equal(tb_close(w, &d), JS_EIO);
  diag_free(&d);
}

/* One whole run with the nth allocation failing: JS_ENOMEM from whichever call met it, no
 * crash, nothing leaked (ASan builds). */
static Status run_with_failure(const char *dir, Diag *d) {
  TbWriter *w;
  Status st = tb_open(dir, &w, d);
  if (st != JS_OK) return st;
  st = tb_hparams_start(w, hps, NHP, metric_tags, 2, 1.0, d);
  for (int i = 0; i < NSC && st == JS_OK; i++) st = tb_scalar(w, scalars[i].tag, i, 2.0, 1.0f, d);
  if (st == JS_OK) st = tb_hparams_end(w, true, 3.0, d);
  Status cs = tb_close(w, d);
  return st != JS_OK ? st : cs;
}

static void test_oom(void **state) {
  (void)state;
  int n;
  for (n = 0; n < 1000; n++) {
    Diag d;
    diag_init(&d, NULL);
    FailNth h;
    fail_nth_install(&h, n);
    Status st = run_with_failure(tmp("oom"), &d);
    ir_set_alloc_hook(NULL, NULL);
    diag_free(&d);
    if (st == JS_OK && h.calls <= n) break;
    assert_int_equal(st, JS_ENOMEM);
  }
  assert_true(n > 3 && n < 1000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_crc),         cmocka_unit_test(test_round_trip), cmocka_unit_test(test_corrupt),
      cmocka_unit_test(test_unwritable),  cmocka_unit_test(test_usage),      cmocka_unit_test(test_write_fails),
      cmocka_unit_test(test_oom),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
