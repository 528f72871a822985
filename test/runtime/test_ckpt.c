/* test_ckpt.c — safetensors checkpoints: loading PyTorch's state_dict of a JSC_Tiny-shaped
 * model (test/data/ckpt/, written by scripts/ckpt_interop.py) into examples/jsc_tiny.jsc's
 * RtState, in F32 and converted from F64/F16/BF16/I32; save/load round trips with identical
 * bytes; every error a loader reports (missing, unexpected, shape, dtype, truncated, corrupt
 * header) with its message; truncation at every offset and bit flips in the header never
 * crash; atomic writes leave the old file when writing fails; allocation failure; the
 * optimizer-state file.
 *
 * Set JSCC_CKPT_INTEROP_OUT=FILE to also write the state loaded from PyTorch's file back out
 * with jscc, for `scripts/ckpt_interop.py check FILE`. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "frontend.h"
#include "runtime.h"
#include "../fail_nth.h"

#define TINY_JSC "examples/jsc_tiny.jsc"
#define TORCH_TINY "test/data/ckpt/torch_tiny.safetensors"
#define TORCH_MIXED "test/data/ckpt/torch_tiny_mixed.safetensors"

/* ---- helpers ---- */

typedef struct Model {
  Arena *a;
  Program *p;
  Graph *g;
  RtState *s;
} Model;

static Model model_src(const char *path, const char *text) {
  Model m = {arena_new(), NULL, NULL, NULL};
  assert_non_null(m.a);
  Diag d;
  diag_init(&d, stderr);
  SrcFile *src;
  if (text) {
    src = diag_src_from_string(m.a, path, text, strlen(text));
    assert_non_null(src);
  } else {
    assert_int_equal(diag_read_file(m.a, path, &src, &d), JS_OK);
  }
  assert_int_equal(fe_parse(src, &m.p, &d), JS_OK);
  m.g = m.p->graphs[0];
  assert_int_equal(rt_state_new(m.g, &m.s, &d), JS_OK);
  diag_free(&d);
  return m;
}

static Model tiny(void) { return model_src(TINY_JSC, NULL); }

/* JSC_Tiny with other layers, for mismatches. */
static Model variant(const char *layers, int in) {
  char text[512];
  snprintf(text, sizeof text, "model V {\n input x: f32[B, %d]\n seq_blocks = Sequential(%s)\n return seq_blocks(x)\n}\n",
           in, layers);
  return model_src("v.jsc", text);
}

static void model_free(Model *m) {
  rt_state_free(m->s);
  ir_program_free(m->p);
  arena_free(m->a);
}

static void seed(Model *m, uint64_t k) {
  Rng r;
  rt_rng_seed(&r, k);
  rt_state_init(m->s, &r);
  for (int i = 0; i < m->s->n; i++)
    if (m->s->off[i] == (size_t)-1) m->s->i64[i] = (int64_t)(k * 1000 + 7);
}

static char tmpdir[64];

static const char *tmp(const char *name) {
  static char buf[32][400]; /* each result stays valid for 31 more calls */
  static int k;
  char *b = buf[k++ % 32];
  snprintf(b, sizeof buf[0], "%s/%s", tmpdir, name);
  return b;
}

/* The truncation and bit-flip tests write thousands of small files: a tmpfs when there is one. */
static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/dev/shm/jscc_ckpt_XXXXXX");
  if (mkdtemp(tmpdir)) return 0;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/jscc_ckpt_XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  DIR *dir = opendir(tmpdir);
  if (dir) {
    struct dirent *e;
    while ((e = readdir(dir)))
      if (e->d_name[0] != '.') remove(tmp(e->d_name));
    closedir(dir);
  }
  rmdir(tmpdir);
  return 0;
}

typedef struct Bytes {
  unsigned char *p;
  size_t n;
} Bytes;

static Bytes slurp(const char *path) {
  Bytes b = {NULL, 0};
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  b.n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  b.p = malloc(b.n ? b.n : 1);
  assert_non_null(b.p);
  assert_int_equal(fread(b.p, 1, b.n, f), b.n);
  fclose(f);
  return b;
}

static unsigned char *find(Bytes b, const char *s) { return memmem(b.p, b.n, s, strlen(s)); }

static void spit(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(p, 1, n, f), n);
  fclose(f);
}

/* A file from a header text (padded with spaces to a multiple of 8 when pad) and data. */
static void craft(const char *path, const char *header, size_t ndata, bool pad) {
  size_t h = strlen(header), hp = pad ? (h + 7) / 8 * 8 : h;
  unsigned char *buf = calloc(1, 8 + hp + ndata + 1);
  assert_non_null(buf);
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hp >> (8 * i));
  memcpy(buf + 8, header, h);
  memset(buf + 8 + h, ' ', hp - h);
  for (size_t i = 0; i < ndata; i++) buf[8 + hp + i] = (unsigned char)(i * 37);
  spit(path, buf, 8 + hp + ndata);
  free(buf);
}

/* Loads path into m, expecting `want`; with `msg`, the diagnostics must contain it. */
static void expect_load(Model *m, const char *path, Status want, const char *msg) {
  Diag d;
  diag_init(&d, NULL);
  Status st = rt_ckpt_load(path, m->s, &d);
  if (st != want || (msg && !strstr(sb_str(&d.text), msg)))
    fail_msg("loading %s: status %d (want %d), diagnostics:\n%s\nwanted: %s", path, st, want, sb_str(&d.text),
             msg ? msg : "(any)");
  if (st) {
    /* Every message names the file. */
    char prefix[160];
    snprintf(prefix, sizeof prefix, "%s: error: ", path);
    assert_true(strncmp(sb_str(&d.text), prefix, strlen(prefix)) == 0);
  }
  diag_free(&d);
}

/* Compares m's state with a *_expected.txt file: "NAME v0 v1 ..." per tensor, exactly. */
static void check_values(const Model *m, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("cannot open %s", path);
  char *line = NULL;
  size_t cap = 0;
  int seen = 0;
  while (getline(&line, &cap, f) > 0) {
    char *sp = strchr(line, ' ');
    assert_non_null(sp);
    *sp = 0;
    int i = rt_state_index(m->s, line);
    if (i < 0) fail_msg("%s: no tensor %s in the model", path, line);
    char *p = sp + 1, *end;
    if (m->s->off[i] == (size_t)-1) {
      assert_int_equal(m->s->i64[i], strtoll(p, NULL, 10));
    } else {
      const float *x = m->s->data + m->s->off[i];
      for (size_t k = 0; k < m->s->numel[i]; k++, p = end) {
        float want = strtof(p, &end);
        assert_true(end != p);
        if (x[k] != want) fail_msg("%s[%zu] = %.9g, expected %.9g", line, k, x[k], want);
      }
    }
    seen++;
  }
  assert_int_equal(seen, m->s->n);
  free(line);
  fclose(f);
}

/* ---- loading PyTorch's files ---- */

static void test_load_torch(void **state) {
  (void)state;
  Model m = tiny();
  seed(&m, 1);
  expect_load(&m, TORCH_TINY, JS_OK, NULL);
  check_values(&m, "test/data/ckpt/torch_tiny_expected.txt");
  assert_int_equal(m.s->i64[rt_state_index(m.s, "seq_blocks.0.num_batches_tracked")], 3);
  seed(&m, 2);
  expect_load(&m, TORCH_MIXED, JS_OK, NULL);
  check_values(&m, "test/data/ckpt/torch_tiny_mixed_expected.txt");
  const float *bias = rt_state_tensor(m.s, "seq_blocks.0.bias");
  assert_true(bias[0] == ldexpf(50, -24) && bias[1] == -65504.0f); /* F16 subnormal, F16 max */
  const char *out = getenv("JSCC_CKPT_INTEROP_OUT");
  if (out && *out) {
    Diag d;
    diag_init(&d, stderr);
    expect_load(&m, TORCH_TINY, JS_OK, NULL);
    CkptMeta meta = {1, {"writer"}, {"jscc test_ckpt"}};
    assert_int_equal(rt_ckpt_save(out, m.s, &meta, &d), JS_OK);
    print_message("wrote %s for scripts/ckpt_interop.py check\n", out);
    diag_free(&d);
  }
  model_free(&m);
}

/* ---- round trips ---- */

static void test_round_trip(void **state) {
  (void)state;
  Model a = tiny(), b = tiny();
  Diag d;
  diag_init(&d, stderr);
  seed(&a, 5);
  CkptMeta meta = {2, {"epoch", "note"}, {"3", "quote \" backslash \\ newline \n tab \t \x01 é"}};
  assert_int_equal(rt_ckpt_save(tmp("a.safetensors"), a.s, &meta, &d), JS_OK);
  Bytes f1 = slurp(tmp("a.safetensors"));
  /* The layout: 8-byte length, the header (padded to 8, metadata first), the data. */
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = n << 8 | f1.p[i];
  assert_true(n % 8 == 0 && 8 + n < f1.n);
  assert_true(memcmp(f1.p + 8, "{\"__metadata__\":{\"epoch\":\"3\"", 28) == 0);
  size_t data = 0;
  for (int i = 0; i < a.s->n; i++) data += a.s->off[i] == (size_t)-1 ? 8 : a.s->numel[i] * 4;
  assert_int_equal(f1.n, 8 + n + data);
  assert_memory_equal(f1.p + 8 + n, a.s->data, a.s->numel[0] * 4); /* seq_blocks.0.weight first */
  /* Same state, same bytes: saving again, or elsewhere. */
  assert_int_equal(rt_ckpt_save(tmp("a.safetensors"), a.s, &meta, &d), JS_OK);
  assert_int_equal(rt_ckpt_save(tmp("b.safetensors"), a.s, &meta, &d), JS_OK);
  Bytes f2 = slurp(tmp("a.safetensors")), f3 = slurp(tmp("b.safetensors"));
  assert_true(f1.n == f2.n && f1.n == f3.n);
  assert_memory_equal(f1.p, f2.p, f1.n);
  assert_memory_equal(f1.p, f3.p, f1.n);
  /* Loading gives back every value exactly. */
  seed(&b, 6);
  expect_load(&b, tmp("a.safetensors"), JS_OK, NULL);
  assert_memory_equal(a.s->data, b.s->data, a.s->total * sizeof(float));
  assert_memory_equal(a.s->i64, b.s->i64, (size_t)a.s->n * sizeof(int64_t));
  /* PyTorch's file through jscc and back: the values survive. */
  expect_load(&b, TORCH_TINY, JS_OK, NULL);
  assert_int_equal(rt_ckpt_save(tmp("c.safetensors"), b.s, NULL, &d), JS_OK);
  seed(&a, 7);
  expect_load(&a, tmp("c.safetensors"), JS_OK, NULL);
  check_values(&a, "test/data/ckpt/torch_tiny_expected.txt");
  Bytes f4 = slurp(tmp("c.safetensors"));
  assert_true(memcmp(f4.p + 8, "{\"seq_blocks.0.weight\":{\"dtype\":\"F32\",\"shape\":[16],\"data_offsets\":[0,64]}", 73) == 0);
  free(f1.p), free(f2.p), free(f3.p), free(f4.p);
  diag_free(&d);
  model_free(&a);
  model_free(&b);
}

/* ---- a model that does not match the file ---- */

static void test_mismatch(void **state) {
  (void)state;
  Model t = tiny();
  Model narrow = variant("BatchNorm1d(8), ReLU(), Linear(8, 5), ReLU()", 8);
  Model extra = variant("BatchNorm1d(16), ReLU(), Linear(16, 5), ReLU(), Linear(5, 5)", 16);
  Diag d;
  diag_init(&d, stderr);
  seed(&narrow, 1);
  seed(&extra, 2);
  seed(&t, 3);
  assert_int_equal(rt_ckpt_save(tmp("narrow.safetensors"), narrow.s, NULL, &d), JS_OK);
  assert_int_equal(rt_ckpt_save(tmp("extra.safetensors"), extra.s, NULL, &d), JS_OK);
  assert_int_equal(rt_ckpt_save(tmp("tiny.safetensors"), t.s, NULL, &d), JS_OK);
  float *before = malloc(t.s->total * sizeof(float));
  assert_non_null(before);
  memcpy(before, t.s->data, t.s->total * sizeof(float));
  expect_load(&t, tmp("narrow.safetensors"), JS_ERR, "seq_blocks.2.weight: expected shape [5, 16], found [5, 8]");
  expect_load(&t, tmp("narrow.safetensors"), JS_ERR, "seq_blocks.0.running_var: expected shape [16], found [8]");
  expect_load(&t, tmp("extra.safetensors"), JS_ERR, "unexpected tensor 'seq_blocks.4.weight'");
  expect_load(&t, tmp("extra.safetensors"), JS_ERR, "unexpected tensor 'seq_blocks.4.bias'");
  expect_load(&extra, tmp("tiny.safetensors"), JS_ERR, "missing tensor 'seq_blocks.4.weight'");
  /* A failed load leaves the state as it was. */
  assert_memory_equal(before, t.s->data, t.s->total * sizeof(float));
  free(before);
  diag_free(&d);
  model_free(&t);
  model_free(&narrow);
  model_free(&extra);
}

/* A safetensors file of JSC_Tiny's tensors (zeros) where tensor `who` gets another dtype
 * and shape text; the offsets follow the dtype's size. */
static void craft_tiny(const char *path, const Model *m, const char *who, const char *dtype, int esize,
                       const char *shape, int64_t numel) {
  char header[4096];
  size_t at = 0, off = 0;
  at += (size_t)snprintf(header + at, sizeof header - at, "{");
  for (int i = 0; i < m->s->n; i++) {
    const Param *p = m->g->params[i];
    bool me = strcmp(p->qualname, who) == 0, i64 = p->type.dtype == DT_I64;
    const char *dt = me ? dtype : i64 ? "I64" : "F32";
    int64_t n = me ? numel : ir_type_numel(&p->type);
    size_t nb = (size_t)n * (size_t)(me ? esize : i64 ? 8 : 4);
    char shp[64];
    if (me) {
      snprintf(shp, sizeof shp, "%s", shape);
    } else {
      size_t k = 0;
      k += (size_t)snprintf(shp + k, sizeof shp - k, "[");
      for (int r = 0; r < p->type.rank; r++)
        k += (size_t)snprintf(shp + k, sizeof shp - k, "%s%lld", r ? "," : "", (long long)p->type.dims[r].size);
      snprintf(shp + k, sizeof shp - k, "]");
    }
    at += (size_t)snprintf(header + at, sizeof header - at, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":[%zu,%zu]}",
                           i ? "," : "", p->qualname, dt, shp, off, off + nb);
    off += nb;
  }
  snprintf(header + at, sizeof header - at, "}");
  craft(path, header, off, true);
}

static void test_dtypes(void **state) {
  (void)state;
  Model m = tiny();
  const char *p = tmp("dt.safetensors");
  craft_tiny(p, &m, "seq_blocks.2.bias", "F32", 4, "[5]", 5);
  expect_load(&m, p, JS_OK, NULL); /* the crafter itself is right */
  craft_tiny(p, &m, "seq_blocks.0.num_batches_tracked", "F32", 4, "[]", 1);
  expect_load(&m, p, JS_ERR, "seq_blocks.0.num_batches_tracked: dtype F32 is not supported for an i64 tensor (I64 and I32 are)");
  craft_tiny(p, &m, "seq_blocks.2.weight", "I64", 8, "[5,16]", 80);
  expect_load(&m, p, JS_ERR, "seq_blocks.2.weight: dtype I64 is not supported for an f32 tensor (F32, F64, F16 and BF16 are)");
  craft_tiny(p, &m, "seq_blocks.2.weight", "U8", 1, "[5,16]", 80);
  expect_load(&m, p, JS_ERR, "seq_blocks.2.weight: dtype U8 is not supported");
  craft_tiny(p, &m, "seq_blocks.2.weight", "F7", 4, "[5,16]", 80);
  expect_load(&m, p, JS_ERR, "seq_blocks.2.weight: unknown dtype 'F7'");
  craft_tiny(p, &m, "seq_blocks.0.num_batches_tracked", "I64", 8, "[1]", 1);
  expect_load(&m, p, JS_ERR, "seq_blocks.0.num_batches_tracked: expected shape [], found [1]");
  craft_tiny(p, &m, "seq_blocks.2.weight", "F32", 4, "[80]", 80);
  expect_load(&m, p, JS_ERR, "seq_blocks.2.weight: expected shape [5, 16], found [80]");
  craft_tiny(p, &m, "seq_blocks.2.weight", "F32", 4, "[1,1,1,1,1,1,1,1,80]", 80);
  expect_load(&m, p, JS_ERR, "rank 9 is more than the 8 dimensions");
  craft_tiny(p, &m, "seq_blocks.0.num_batches_tracked", "I32", 4, "[]", 1);
  expect_load(&m, p, JS_OK, NULL);
  model_free(&m);
}

/* ---- corrupt headers ---- */

static void test_corrupt(void **state) {
  (void)state;
  Model m = variant("Linear(2, 1, bias=false)", 2); /* one tensor: seq_blocks.0.weight f32[1,2] */
  const char *p = tmp("bad.safetensors");
#define W "\"seq_blocks.0.weight\""
  static const struct {
    const char *header;
    size_t ndata;
    const char *msg; /* NULL: must load */
  } cases[] = {
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}", 8, NULL},
      /* Whitespace, escapes, key order and metadata anywhere are fine. */
      {" {\n\t\"__metadata__\" : {\"k\":\"v\\u00e9\\ud83d\\ude00\"} ,\r\n \"seq_blocks\\u002e0.weight\" : "
       "{\"shape\" : [ 1 , 2 ], \"data_offsets\":[0,8], \"dtype\":\"F32\"} } ", 8, NULL},
      {"[1,2]", 0, "the JSON is not an object"},
      {"{\"a\":1,\"a\":2}", 0, "duplicate key \"a\""},
      {"{" W ":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}", 8, "duplicate key \"dtype\""},
      {"{\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", 0, "nesting deeper than 16"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}", 8, "corrupt header: expected ',' or '}' in an object at byte 80"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}}", 8, "text after the header's JSON value"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8],}}", 8, "expected a string key"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2,],\"data_offsets\":[0,8]}}", 8, "unexpected character ']'"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1.5,2],\"data_offsets\":[0,8]}}", 8, "shape[0] is not a non-negative integer"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[-1,2],\"data_offsets\":[0,8]}}", 8, "shape[0] is not a non-negative integer"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1e400,2],\"data_offsets\":[0,8]}}", 8, "shape[0] is not a non-negative integer"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[99999999999999999999,2],\"data_offsets\":[0,8]}}", 8, "shape[0] is not"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[01,2],\"data_offsets\":[0,8]}}", 8, "number with a leading zero"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8, "needs 18446744073709551615"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":\"1,2\",\"data_offsets\":[0,8]}}", 8, "has no 'shape' list"},
      {"{" W ":{\"shape\":[1,2],\"data_offsets\":[0,8]}}", 8, "has no string 'dtype'"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2]}}", 8, "'data_offsets' must be two non-negative integers"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8,8]}}", 8, "'data_offsets' must be two"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8],\"x\":1}}", 8, "unknown field 'x'"},
      {"{" W ":[1]}", 8, "tensor 'seq_blocks.0.weight' is not an object"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,4]}}", 4, "data_offsets [0, 4] hold 4 bytes, but F32 [1, 2] needs 8"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[8,0]}}", 8, "end before they begin"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}", 4, "truncated file: tensor 'seq_blocks.0.weight' ends at byte 8"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}", 12, "4 bytes of data after the last tensor"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[4,12]}}", 12, "4 unused bytes before tensor"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],"
       "\"data_offsets\":[4,12]}}", 12, "overlaps tensor"},
      {"{" W ":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[0],"
       "\"data_offsets\":[8,8]}}", 8, "unexpected tensor 'b'"},
      {"{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ value 'k' is not a string"},
      {"{\"__metadata__\":[]}", 0, "__metadata__ is not an object"},
      {"{\"\xff\":1}", 0, "invalid UTF-8"},
      {"{\"\xc0\xae\":1}", 0, "invalid UTF-8"},             /* overlong '.' */
      {"{\"\xed\xa0\x80\":1}", 0, "invalid UTF-8"},         /* an encoded surrogate */
      {"{\"a\tb\":1}", 0, "control character 0x09"},
      {"{\"a\\xb\":1}", 0, "bad escape"},
      {"{\"a\\u00\":1}", 0, "bad \\u escape"},
      {"{\"a\\u0000\":1}", 0, "\\u0000 in a string"},
      {"{\"a\\ud800\":1}", 0, "lone high surrogate"},
      {"{\"a\\udc00\":1}", 0, "lone low surrogate"},
      {"{\"a\":1", 0, "expected ',' or '}'"},
      {"{\"a", 0, "unterminated string"},
      {"{\"a\":tru}", 0, "unexpected character"},
      {"{\"a\":-}", 0, "bad number"},
      {"{\"a\":1.}", 0, "bad number"},
      {"{\"a\":1e}", 0, "bad number"},
      {"{\"a\":[1 2]}", 0, "expected ',' or ']'"},
      {"{\"a\" 1}", 0, "expected ':'"},
      {"{\"a\":\x7f}", 0, "unexpected byte 0x7f"},
      {"{} x", 0, "text after the header's JSON value"},
      {"", 0, "cannot hold a JSON object"},
  };
#undef W
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    craft(p, cases[i].header, cases[i].ndata, true);
    expect_load(&m, p, cases[i].msg ? JS_ERR : JS_OK, cases[i].msg);
  }
  /* A NUL byte in the header. */
  unsigned char nul[] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', 0, ' ', ' ', ' ', ' '};
  spit(p, nul, sizeof nul);
  expect_load(&m, p, JS_ERR, "unexpected byte 0x00");
  /* Header lengths: absurd, past the end of the file; files too short for a length. */
  unsigned char big[16] = {0, 0, 0, 0, 0, 1, 0, 0, '{', '}'};
  spit(p, big, sizeof big);
  expect_load(&m, p, JS_ERR, "corrupt header: header length 1099511627776 is over the 16777216-byte limit");
  unsigned char past[16] = {9, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
  spit(p, past, sizeof past);
  expect_load(&m, p, JS_ERR, "truncated file: the header is 9 bytes, but only 8 follow its length");
  spit(p, past, 3);
  expect_load(&m, p, JS_ERR, "truncated file: 3 bytes");
  expect_load(&m, tmp("does-not-exist.safetensors"), JS_EIO, "cannot open: No such file or directory");
  expect_load(&m, tmpdir, JS_ERR, "not a regular file");
  model_free(&m);
}

/* Every prefix of a valid file is refused as truncated; never a crash. */
static void test_truncate_everywhere(void **state) {
  (void)state;
  Model m = tiny();
  seed(&m, 9);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_ckpt_save(tmp("full.safetensors"), m.s, NULL, &d), JS_OK);
  Bytes b = slurp(tmp("full.safetensors"));
  for (size_t n = 0; n < b.n; n++) {
    spit(tmp("cut.safetensors"), b.p, n);
    expect_load(&m, tmp("cut.safetensors"), JS_ERR, "truncated file");
  }
  print_message("%zu truncations of a %zu-byte file refused\n", b.n, b.n);
  free(b.p);
  diag_free(&d);
  model_free(&m);
}

/* Bit flips anywhere in the length or the header: refused with a message, or (a flip that
 * leaves a valid file, e.g. inside a metadata value) loaded; never a crash. */
static void test_flip_header(void **state) {
  (void)state;
  Model m = tiny();
  seed(&m, 10);
  Diag d;
  diag_init(&d, stderr);
  CkptMeta meta = {1, {"note"}, {"abc"}};
  assert_int_equal(rt_ckpt_save(tmp("orig.safetensors"), m.s, &meta, &d), JS_OK);
  Bytes b = slurp(tmp("orig.safetensors"));
  size_t hend = 8;
  for (int i = 7; i >= 0; i--) hend = hend + ((size_t)b.p[i] << (8 * i));
  static const unsigned char masks[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF};
  /* Only the metadata's key and value ("note": "abc") may change without breaking the file. */
  size_t key = (size_t)(find(b, "\"note\"") - b.p) + 1, val = (size_t)(find(b, "\"abc\"") - b.p) + 1;
  int refused = 0, loaded = 0;
  for (size_t i = 0; i < hend; i++)
    for (size_t k = 0; k < sizeof masks; k++) {
      b.p[i] ^= masks[k];
      spit(tmp("flip.safetensors"), b.p, b.n);
      b.p[i] ^= masks[k];
      Diag e;
      diag_init(&e, NULL);
      Status st = rt_ckpt_load(tmp("flip.safetensors"), m.s, &e);
      if (st) {
        assert_true(e.nerrors > 0 && strstr(sb_str(&e.text), "flip.safetensors: error: "));
        refused++;
      } else {
        if (!((i >= key && i < key + 4) || (i >= val && i < val + 3)))
          fail_msg("flipping byte %zu with 0x%02x loaded", i, masks[k]);
        loaded++;
      }
      diag_free(&e);
    }
  print_message("%zu header bytes x %zu flips: %d refused, %d loaded\n", hend, sizeof masks, refused, loaded);
  free(b.p);
  diag_free(&d);
  model_free(&m);
}

/* ---- writing ---- */

static int count_temps(void) {
  int n = 0;
  DIR *dir = opendir(tmpdir);
  assert_non_null(dir);
  struct dirent *e;
  while ((e = readdir(dir)))
    if (strstr(e->d_name, ".tmp")) n++;
  closedir(dir);
  return n;
}

static void test_write_failures(void **state) {
  (void)state;
  Model m = tiny();
  seed(&m, 11);
  Diag d;
  diag_init(&d, NULL);
  assert_int_equal(rt_ckpt_save(tmp("no/such/dir/x.safetensors"), m.s, NULL, &d), JS_EIO);
  assert_non_null(strstr(sb_str(&d.text), "no/such/dir/x.safetensors: error: cannot write: cannot create a temporary file"));
  assert_int_equal(rt_ckpt_save(tmpdir, m.s, NULL, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "not a regular file"));
  CkptMeta dup = {2, {"k", "k"}, {"1", "2"}};
  assert_int_equal(rt_ckpt_save(tmp("x.safetensors"), m.s, &dup, &d), JS_EUSAGE);
  assert_non_null(strstr(sb_str(&d.text), "metadata key 'k' given twice"));
  /* A write that fails midway (the file-size limit) leaves the old file and no temp file. */
  const char *p = tmp("keep.safetensors");
  assert_int_equal(rt_ckpt_save(p, m.s, NULL, &d), JS_OK);
  Bytes old = slurp(p);
  seed(&m, 12);
  struct rlimit saved;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct rlimit small = {200, saved.rlim_max};
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
  Status st = rt_ckpt_save(p, m.s, NULL, &d);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
  signal(SIGXFSZ, prev);
  assert_int_equal(st, JS_EIO);
  assert_non_null(strstr(sb_str(&d.text), "keep.safetensors: error: cannot write: writing the temporary file: File too large"));
  Bytes now = slurp(p);
  assert_true(now.n == old.n);
  assert_memory_equal(now.p, old.p, old.n);
  assert_int_equal(count_temps(), 0);
  free(old.p), free(now.p);
  diag_free(&d);
  model_free(&m);
}

/* ---- allocation failure ---- */


static void test_oom(void **state) {
  (void)state;
  Model m = tiny();
  seed(&m, 13);
  Diag d0;
  diag_init(&d0, stderr);
  OptimState os;
  assert_int_equal(rt_optim_state_new(OPTIM_ADAM, m.s->total, &os, &d0), JS_OK);
  assert_int_equal(rt_ckpt_save(tmp("oom.safetensors"), m.s, NULL, &d0), JS_OK);
  assert_int_equal(rt_ckpt_save_optim(tmp("oom_opt.safetensors"), m.s, &os, NULL, &d0), JS_OK);
  for (int what = 0; what < 4; what++) {
    long n;
    for (n = 0;; n++) {
      Diag d;
      diag_init(&d, NULL);
      Arena *a = arena_new();
      assert_non_null(a);
      CkptMeta meta;
      FailNth h;
      fail_nth_install(&h, n);
      Status st = what == 0   ? rt_ckpt_save(tmp("oom2.safetensors"), m.s, NULL, &d)
                  : what == 1 ? rt_ckpt_load(tmp("oom.safetensors"), m.s, &d)
                  : what == 2 ? rt_ckpt_save_optim(tmp("oom_opt2.safetensors"), m.s, &os, NULL, &d)
                              : rt_ckpt_load_optim(tmp("oom_opt.safetensors"), m.s, &os, a, &meta, &d);
      ir_set_alloc_hook(NULL, NULL);
      arena_free(a);
      diag_free(&d);
      if (st == JS_OK) break;
      assert_int_equal(st, JS_ENOMEM);
    }
    assert_true(n > 0);
    assert_int_equal(count_temps(), 0);
  }
  rt_optim_state_free(&os);
  diag_free(&d0);
  model_free(&m);
}

/* ---- the optimizer file ---- */

static void fill(float *x, size_t n, float base) {
  for (size_t i = 0; i < n; i++) x[i] = base + (float)i * 0.25f;
}

static void test_optim_file(void **state) {
  (void)state;
  Model m = tiny();
  Diag d;
  diag_init(&d, NULL);
  uint8_t *mask = malloc(m.s->total);
  assert_non_null(mask);
  rt_state_trainable_mask(m.s, mask);
  OptimState a, b, s1, s2;
  assert_int_equal(rt_optim_state_new(OPTIM_ADAM, m.s->total, &a, &d), JS_OK);
  assert_int_equal(rt_optim_state_new(OPTIM_ADAM, m.s->total, &b, &d), JS_OK);
  fill(a.m, a.total, 1);
  fill(a.v, a.total, -7);
  a.step = 17;
  CkptMeta meta = {3, {"epoch", "best_val_acc", "k\"\\\n"}, {"4", "0.75", "\x01\t\u00e9\U0001F600/"}};
  const char *p = tmp("opt.safetensors");
  assert_int_equal(rt_ckpt_save_optim(p, m.s, &a, &meta, &d), JS_OK);
  Arena *ar = arena_new();
  CkptMeta got = {0};
  assert_int_equal(rt_ckpt_load_optim(p, m.s, &b, ar, &got, &d), JS_OK);
  assert_int_equal(b.step, 17);
  for (size_t i = 0; i < m.s->total; i++)
    if (mask[i]) assert_true(a.m[i] == b.m[i] && a.v[i] == b.v[i]);
    else assert_true(b.m[i] == 0 && b.v[i] == 0); /* buffers have no optimizer state */
  assert_int_equal(got.n, 3);
  assert_string_equal(got.keys[2], meta.keys[2]); /* escapes and UTF-8 survive */
  assert_string_equal(got.vals[2], meta.vals[2]);
  assert_string_equal(got.keys[0], "epoch");
  assert_string_equal(got.vals[0], "4");
  assert_string_equal(got.keys[1], "best_val_acc");
  assert_string_equal(got.vals[1], "0.75");
  /* Names: exp_avg.<param> and exp_avg_sq.<param> for the trainable parameters only. */
  Bytes f = slurp(p);
  assert_non_null(find(f, "\"exp_avg_sq.seq_blocks.2.weight\":{\"dtype\":\"F32\",\"shape\":[5,16]"));
  assert_non_null(find(f, "\"exp_avg.seq_blocks.0.bias\""));
  assert_null(find(f, "running_mean"));
  assert_null(find(f, "num_batches_tracked"));
  assert_non_null(find(f, "{\"__metadata__\":{\"optimizer\":\"adam\",\"step\":\"17\",\"epoch\":\"4\""));
  /* A corrupt step count. */
  unsigned char *at = find(f, "\"step\":\"17\"");
  assert_non_null(at);
  at[8] = '-';
  spit(tmp("badstep.safetensors"), f.p, f.n);
  assert_int_equal(rt_ckpt_load_optim(tmp("badstep.safetensors"), m.s, &b, ar, NULL, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "step '-7' is not a non-negative integer"));
  free(f.p);
  /* SGD: momentum_buffer.<param>, and the kinds must match. */
  assert_int_equal(rt_optim_state_new(OPTIM_SGD, m.s->total, &s1, &d), JS_OK);
  assert_int_equal(rt_optim_state_new(OPTIM_SGD, m.s->total, &s2, &d), JS_OK);
  fill(s1.m, s1.total, 3);
  s1.step = 2;
  assert_int_equal(rt_ckpt_save_optim(tmp("sgd.safetensors"), m.s, &s1, NULL, &d), JS_OK);
  assert_int_equal(rt_ckpt_load_optim(tmp("sgd.safetensors"), m.s, &s2, ar, NULL, &d), JS_OK);
  assert_int_equal(s2.step, 2);
  for (size_t i = 0; i < m.s->total; i++)
    if (mask[i]) assert_true(s1.m[i] == s2.m[i]);
  assert_int_equal(rt_ckpt_load_optim(tmp("sgd.safetensors"), m.s, &b, ar, NULL, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "sgd.safetensors: error: optimizer state for 'sgd', but this run uses 'adam'"));
  assert_int_equal(b.step, 17); /* unchanged */
  /* A model file is not an optimizer file; reserved keys; a state of the wrong size. */
  assert_int_equal(rt_ckpt_save(tmp("model.safetensors"), m.s, NULL, &d), JS_OK);
  assert_int_equal(rt_ckpt_load_optim(tmp("model.safetensors"), m.s, &b, ar, NULL, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "no 'optimizer' in the metadata"));
  CkptMeta reserved = {1, {"step"}, {"3"}};
  assert_int_equal(rt_ckpt_save_optim(p, m.s, &a, &reserved, &d), JS_EUSAGE);
  assert_non_null(strstr(sb_str(&d.text), "metadata key 'step' is reserved"));
  OptimState small;
  assert_int_equal(rt_optim_state_new(OPTIM_ADAM, 3, &small, &d), JS_OK);
  assert_int_equal(rt_ckpt_save_optim(p, m.s, &small, NULL, &d), JS_EUSAGE);
  assert_int_equal(rt_ckpt_load_optim(p, m.s, &small, ar, NULL, &d), JS_EUSAGE);
  /* A model file loaded as the model, the optimizer file's tensors are unexpected there. */
  expect_load(&m, p, JS_ERR, "unexpected tensor 'exp_avg.seq_blocks.0.weight'");
  rt_optim_state_free(&small);
  rt_optim_state_free(&a);
  rt_optim_state_free(&b);
  rt_optim_state_free(&s1);
  rt_optim_state_free(&s2);
  arena_free(ar);
  free(mask);
  diag_free(&d);
  model_free(&m);
}

/* The run-state file: model tensors under "model." and the optimizer state, in one file;
 * each loader refuses the other's file. */
static void test_run_state_file(void **state) {
  (void)state;
  Model m = tiny(), m2 = tiny();
  seed(&m, 21);
  Diag d;
  diag_init(&d, NULL);
  OptimState a, b;
  assert_int_equal(rt_optim_state_new(OPTIM_ADAM, m.s->total, &a, &d), JS_OK);
  assert_int_equal(rt_optim_state_new(OPTIM_ADAM, m.s->total, &b, &d), JS_OK);
  fill(a.m, a.total, 2);
  fill(a.v, a.total, 5);
  a.step = 9;
  CkptMeta meta = {1, {"epoch"}, {"3"}};
  const char *p = tmp("run_state.safetensors");
  assert_int_equal(rt_ckpt_save_run_state(p, m.s, &a, &meta, &d), JS_OK);
  Bytes f = slurp(p);
  assert_non_null(find(f, "\"model.seq_blocks.2.weight\":{\"dtype\":\"F32\",\"shape\":[5,16]"));
  assert_non_null(find(f, "\"exp_avg.seq_blocks.2.weight\""));
  free(f.p);
  Arena *ar = arena_new();
  CkptMeta got = {0};
  assert_int_equal(rt_ckpt_load_run_state(p, m2.s, &b, ar, &got, &d), JS_OK);
  assert_int_equal(b.step, 9);
  assert_memory_equal(m2.s->data, m.s->data, m.s->total * sizeof(float));
  for (int i = 0; i < m.s->n; i++)
    if (m.s->off[i] == (size_t)-1) assert_int_equal(m2.s->i64[i], m.s->i64[i]); /* num_batches_tracked */
  uint8_t *mask = malloc(m.s->total);
  assert_non_null(mask);
  rt_state_trainable_mask(m.s, mask);
  for (size_t i = 0; i < m.s->total; i++)
    if (mask[i]) assert_true(a.m[i] == b.m[i] && a.v[i] == b.v[i]);
  free(mask);
  assert_int_equal(got.n, 1);
  assert_string_equal(got.vals[0], "3");
  assert_int_equal(rt_ckpt_load_optim(p, m.s, &b, ar, NULL, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "unexpected tensor 'model."));
  assert_int_equal(rt_ckpt_save_optim(tmp("plain_opt.safetensors"), m.s, &a, NULL, &d), JS_OK);
  assert_int_equal(rt_ckpt_load_run_state(tmp("plain_opt.safetensors"), m2.s, &b, ar, NULL, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "missing tensor 'model.seq_blocks.0.weight'"));
  rt_optim_state_free(&a);
  rt_optim_state_free(&b);
  arena_free(ar);
  diag_free(&d);
  model_free(&m);
  model_free(&m2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_state_file),
      cmocka_unit_test(test_load_torch),      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_mismatch),        cmocka_unit_test(test_dtypes),
      cmocka_unit_test(test_corrupt),         cmocka_unit_test(test_truncate_everywhere),
      cmocka_unit_test(test_flip_header),     cmocka_unit_test(test_write_failures),
      cmocka_unit_test(test_oom),             cmocka_unit_test(test_optim_file),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
