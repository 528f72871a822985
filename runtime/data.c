/* runtime/data.c — the JSC data set: sources, MASE's preprocessing, and the cache.
 *
 * Every source becomes a table of unique raw rows (RtJscRows), then one path splits it the way
 * sklearn's train_test_split(test_size=0.2, random_state=42) does (numpy's legacy MT19937
 * permutation, reproduced bit for bit), holds out a validation part, fits the scaler on the
 * remaining training rows and lays the three splits out as one image: a header and 64-byte
 * aligned arrays.  The same image is the cache file, so a cached load is one mmap and a
 * checksum pass.  Text files (OpenML CSV and ARFF exports) are parsed here; HDF5 in hdf5.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"

const char *const rt_jsc_feature_names[RT_JSC_FEATURES] = {
  "j_zlogz",       "j_c1_b0_mmdt",  "j_c1_b1_mmdt",    "j_c1_b2_mmdt",
  "j_c2_b1_mmdt",  "j_c2_b2_mmdt",  "j_d2_b1_mmdt",    "j_d2_b2_mmdt",
  "j_d2_a1_b1_mmdt", "j_d2_a1_b2_mmdt", "j_m2_b1_mmdt", "j_m2_b2_mmdt",
  "j_n2_b1_mmdt",  "j_n2_b2_mmdt",  "j_mass_mmdt",     "j_multiplicity",
};
const char *const rt_jsc_class_names[RT_JSC_CLASSES] = {"g", "q", "w", "z", "t"};

void rt_data_opts_default(RtDataOpts *o) {
  memset(o, 0, sizeof *o);
  o->synth_n = 830000;
  o->synth_seed = 0;
  o->split_seed = 42;
  o->test_frac = 0.2;
  o->val_frac = 0.05;
}

/* ---- hashing ---- */

static const uint64_t H_P1 = 0x9E3779B185EBCA87ULL, H_P2 = 0xC2B2AE3D27D4EB4FULL;

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t mix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xFF51AFD7ED558CCDULL;
  h ^= h >> 33;
  h *= 0xC4CEB9FE1A85EC53ULL;
  return h ^ (h >> 33);
}

/* Content hash of a byte range: four independent multiply-rotate lanes over 8-byte words, so
 * checking a 60 MB cache file costs a few milliseconds rather than a byte-wise FNV pass. */
static uint64_t hash_bytes(const void *data, size_t len, uint64_t seed) {
  const unsigned char *p = data;
  uint64_t a[4] = {seed + H_P1, seed ^ H_P2, seed - H_P1, ~seed};
  size_t i = 0;
  for (; i + 32 <= len; i += 32)
    for (int k = 0; k < 4; k++) {
      uint64_t w;
      memcpy(&w, p + i + 8 * k, 8);
      a[k] = rotl64(a[k] + w * H_P2, 31) * H_P1;
    }
  uint64_t h = rotl64(a[0], 1) + rotl64(a[1], 7) + rotl64(a[2], 12) + rotl64(a[3], 18);
  for (; i < len; i++) h = (h ^ p[i]) * 0x100000001B3ULL; /* FNV-1a for the tail */
  return mix64(h ^ (uint64_t)len);
}

/* FNV-1a, for the small keys (paths, options). */
static uint64_t fnv1a(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001B3ULL;
  return h;
}
#define FNV_BASIS 0xCBF29CE484222325ULL

/* ---- unique rows ---- */

void rt_jsc_rows_init(RtJscRows *r) { memset(r, 0, sizeof *r); }

void rt_jsc_rows_free(RtJscRows *r) {
  ir_free(r->x);
  ir_free(r->y);
  ir_free(r->slots);
  memset(r, 0, sizeof *r);
}

static uint64_t row_hash(const double *f, int32_t y) {
  uint64_t h = (uint64_t)(uint32_t)y * H_P1;
  for (int j = 0; j < RT_JSC_FEATURES; j++) {
    uint64_t w;
    memcpy(&w, &f[j], 8);
    h = rotl64(h ^ (w * H_P2), 29) * H_P1;
  }
  return mix64(h);
}

static bool row_equal(const double *a, int32_t ya, const double *b, int32_t yb) {
  if (ya != yb) return false;
  for (int j = 0; j < RT_JSC_FEATURES; j++)
    if (a[j] != b[j]) return false;
  return true;
}

/* A slot holds the row index + 1 in its low 32 bits and the top 32 bits of the row's hash
 * above them, so probes past other rows rarely touch those rows (a cache miss each). */
static uint64_t slot_of(int64_t i, uint64_t hash) { return (hash & 0xFFFFFFFF00000000ULL) | (uint64_t)(i + 1); }

static Status rows_rehash(RtJscRows *r, uint64_t nslots) {
  uint64_t *s = ir_calloc(nslots, sizeof *s);
  if (!s) return JS_ENOMEM;
  for (int64_t i = 0; i < r->n; i++) {
    uint64_t h = row_hash(r->x + i * RT_JSC_FEATURES, r->y[i]), k = h & (nslots - 1);
    while (s[k]) k = (k + 1) & (nslots - 1);
    s[k] = slot_of(i, h);
  }
  ir_free(r->slots);
  r->slots = s;
  r->nslots = nslots;
  return JS_OK;
}

/* Room for n unique rows up front when the count is known (the synthetic set), sparing the
 * growth copies and rehashes. */
static Status rows_reserve(RtJscRows *r, int64_t n) {
  if (n <= r->cap) return JS_OK;
  double *x = ir_realloc(r->x, (size_t)n * RT_JSC_FEATURES * sizeof *x);
  if (!x) return JS_ENOMEM;
  r->x = x;
  int32_t *y = ir_realloc(r->y, (size_t)n * sizeof *y);
  if (!y) return JS_ENOMEM;
  r->y = y;
  r->cap = n;
  uint64_t nslots = 1024;
  while (nslots < (uint64_t)n * 2) nslots *= 2;
  return nslots > r->nslots ? rows_rehash(r, nslots) : JS_OK;
}

Status rt_jsc_rows_add(RtJscRows *r, const double f[RT_JSC_FEATURES], int32_t y) {
  double row[RT_JSC_FEATURES];
  for (int j = 0; j < RT_JSC_FEATURES; j++) row[j] = f[j] + 0.0; /* -0.0 becomes 0.0 */
  if ((uint64_t)(r->n + 1) * 2 > r->nslots) {
    Status st = rows_rehash(r, r->nslots ? r->nslots * 2 : 1024);
    if (st) return st;
  }
  uint64_t h = row_hash(row, y), k = h & (r->nslots - 1);
  for (; r->slots[k]; k = (k + 1) & (r->nslots - 1)) {
    if ((r->slots[k] ^ h) >> 32) continue;
    int64_t i = (int64_t)(r->slots[k] & 0xFFFFFFFFU) - 1;
    if (row_equal(r->x + i * RT_JSC_FEATURES, r->y[i], row, y)) {
      r->n_raw++;
      return JS_OK;
    }
  }
  if (r->n >= RT_JSC_MAX_ROWS) return JS_EUSAGE;
  if (r->n == r->cap) {
    int64_t cap = r->cap ? r->cap * 2 : 1024;
    double *x = ir_realloc(r->x, (size_t)cap * RT_JSC_FEATURES * sizeof *x);
    if (!x) return JS_ENOMEM;
    r->x = x;
    int32_t *yy = ir_realloc(r->y, (size_t)cap * sizeof *yy);
    if (!yy) return JS_ENOMEM;
    r->y = yy;
    r->cap = cap;
  }
  memcpy(r->x + r->n * RT_JSC_FEATURES, row, sizeof row);
  r->y[r->n] = y;
  r->slots[k] = slot_of(r->n, h);
  r->n++;
  r->n_raw++;
  return JS_OK;
}

/* ---- numpy's legacy RandomState ---- */

enum { MT_N = 624, MT_M = 397 };
typedef struct Mt19937 {
  uint32_t mt[MT_N]; /* state words */
  int pos;           /* next word to temper; MT_N forces a regeneration */
} Mt19937;

/* init_genrand, which numpy's legacy seeding uses for an integer seed. */
static void mt_seed(Mt19937 *m, uint32_t seed) {
  m->mt[0] = seed;
  for (int i = 1; i < MT_N; i++)
    m->mt[i] = 1812433253U * (m->mt[i - 1] ^ (m->mt[i - 1] >> 30)) + (uint32_t)i;
  m->pos = MT_N;
}

static uint32_t mt_next32(Mt19937 *m) {
  if (m->pos >= MT_N) {
    for (int k = 0; k < MT_N; k++) {
      uint32_t y = (m->mt[k] & 0x80000000U) | (m->mt[(k + 1) % MT_N] & 0x7fffffffU);
      m->mt[k] = m->mt[(k + MT_M) % MT_N] ^ (y >> 1) ^ ((y & 1) ? 0x9908b0dfU : 0);
    }
    m->pos = 0;
  }
  uint32_t y = m->mt[m->pos++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  return y ^ (y >> 18);
}

/* numpy's legacy random_interval: mask to the next power of two minus one and reject, on
 * 32-bit draws while max fits in them. */
static uint64_t np_interval(Mt19937 *m, uint64_t max) {
  if (max == 0) return 0;
  uint64_t mask = max;
  for (int s = 1; s <= 32; s <<= 1) mask |= mask >> s;
  uint64_t v;
  if (max <= 0xffffffffULL) {
    while ((v = (mt_next32(m) & mask)) > max) {
    }
  } else {
    do {
      uint64_t hi = mt_next32(m);
      v = ((hi << 32) | mt_next32(m)) & mask;
    } while (v > max);
  }
  return v;
}

void rt_np_permutation(uint32_t seed, int64_t *idx, int64_t n) {
  Mt19937 m;
  mt_seed(&m, seed);
  for (int64_t i = 0; i < n; i++) idx[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)np_interval(&m, (uint64_t)i);
    int64_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

/* ---- text sources: OpenML CSV and ARFF ---- */

enum { MAX_COLS = 1024, ROLE_LABEL = RT_JSC_FEATURES, ROLE_IGNORE = -1 };

/* A mapped text file and the reader's place in it. */
typedef struct TextIn {
  SrcFile sf;          /* path and the mapped text, for messages with the line and a caret */
  const char *p;       /* start of the next line */
  int line;            /* number of the line last returned */
  Diag *d;
} TextIn;

/* One field of a line: its text without quotes or surrounding blanks, and its column. */
typedef struct Field {
  const char *s;
  size_t n;
  int col; /* 1-based byte column of the field's first character */
} Field;

static SrcLoc tloc(const TextIn *t, int col) { return (SrcLoc){&t->sf, t->line, col}; }

/* The next line [*ls, *le) without its newline (and a CR before it); false at the end. */
static bool next_line(TextIn *t, const char **ls, const char **le) {
  const char *end = t->sf.text + t->sf.len;
  if (t->p >= end) return false;
  const char *s = t->p, *e = memchr(s, '\n', (size_t)(end - s));
  t->p = e ? e + 1 : end;
  if (!e) e = end;
  if (e > s && e[-1] == '\r') e--;
  if (t->line < INT_MAX) t->line++;
  *ls = s;
  *le = e;
  return true;
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

static bool line_is_blank(const char *s, const char *e) {
  while (s < e && is_blank(*s)) s++;
  return s == e;
}

/* Split a line at commas; a field may be quoted with ' or " (a quoted comma stays).  Returns
 * the number of fields (only the first `cap` are stored), or -1 after reporting. */
static int split_fields(TextIn *t, const char *ls, const char *le, Field *f, int cap) {
  int n = 0;
  const char *p = ls;
  for (;;) {
    while (p < le && is_blank(*p)) p++;
    Field fd = {p, 0, (int)(p - ls) + 1};
    if (p < le && (*p == '"' || *p == '\'')) {
      char q = *p++;
      const char *close = memchr(p, q, (size_t)(le - p));
      if (!close) {
        diag_error(t->d, tloc(t, fd.col), "unterminated quoted field");
        return -1;
      }
      fd.s = p;
      fd.n = (size_t)(close - p);
      p = close + 1;
      while (p < le && is_blank(*p)) p++;
      if (p < le && *p != ',') {
        diag_error(t->d, tloc(t, (int)(p - ls) + 1), "expected ',' after a quoted field");
        return -1;
      }
    } else {
      const char *e = p;
      while (e < le && *e != ',') e++;
      const char *te = e;
      while (te > p && is_blank(te[-1])) te--;
      fd.n = (size_t)(te - p);
      p = e;
    }
    if (n < cap) f[n] = fd;
    n++;
    if (p >= le) break;
    p++; /* the comma */
  }
  return n;
}

static bool field_is(const Field *f, const char *s) {
  return strlen(s) == f->n && strncasecmp(f->s, s, f->n) == 0;
}

/* The role of a column name: a feature (with or without the j_ prefix), the class, or
 * ignored. */
static int column_role(const Field *f) {
  Field g = *f;
  if (g.n > 2 && strncasecmp(g.s, "j_", 2) == 0) {
    g.s += 2;
    g.n -= 2;
  }
  for (int j = 0; j < RT_JSC_FEATURES; j++)
    if (field_is(&g, rt_jsc_feature_names[j] + 2)) return j;
  if (field_is(f, "class") || field_is(f, "label")) return ROLE_LABEL;
  return ROLE_IGNORE;
}

/* Check that the header named every feature and the class; report the first missing one. */
static Status check_columns(TextIn *t, const int *role, const Field *names, int ncols,
                            int header_line) {
  bool seen[RT_JSC_FEATURES + 1] = {false};
  for (int c = 0; c < ncols; c++) {
    if (role[c] == ROLE_IGNORE) continue;
    if (seen[role[c]]) {
      int saved = t->line;
      t->line = header_line;
      diag_error(t->d, tloc(t, names[c].col), "duplicate column '%.*s'", (int)names[c].n,
                 names[c].s);
      t->line = saved;
      return JS_ERR;
    }
    seen[role[c]] = true;
  }
  for (int r = 0; r <= RT_JSC_FEATURES; r++) {
    if (seen[r]) continue;
    /* Suggest an unused column whose name is close to the missing one. */
    char buf[64][64];
    const char *cands[64];
    int nc = 0;
    for (int c = 0; c < ncols && nc < 64; c++)
      if (role[c] == ROLE_IGNORE && names[c].n < 63) {
        Field g = names[c];
        if (g.n > 2 && strncasecmp(g.s, "j_", 2) == 0) {
          g.s += 2;
          g.n -= 2;
        }
        memcpy(buf[nc], g.s, g.n);
        buf[nc][g.n] = 0;
        cands[nc] = buf[nc];
        nc++;
      }
    const char *want = r == ROLE_LABEL ? "class" : rt_jsc_feature_names[r] + 2;
    const char *near = diag_closest(want, cands, nc);
    int saved = t->line;
    t->line = header_line;
    if (r == ROLE_LABEL)
      diag_error(t->d, tloc(t, 1), "no class column: name it 'class' or 'label'%s%s%s",
                 near ? " (is '" : "", near ? near : "", near ? "' it?)" : "");
    else
      diag_error(t->d, tloc(t, 1), "missing column '%s' (or '%s')%s%s%s", want,
                 rt_jsc_feature_names[r], near ? "; did you mean '" : "", near ? near : "",
                 near ? "'?" : "");
    t->line = saved;
    return JS_ERR;
  }
  return JS_OK;
}

static Status parse_number(TextIn *t, const Field *f, int feature, double *out) {
  char buf[128];
  if (f->n == 0 || f->n >= sizeof buf) goto bad;
  memcpy(buf, f->s, f->n);
  buf[f->n] = 0;
  char *end;
  errno = 0;
  double v = strtod(buf, &end);
  if (end != buf + f->n || !isfinite(v)) goto bad;
  if (fabs(v) > RT_JSC_MAX_ABS)
    return diag_error(t->d, tloc(t, f->col), "number '%.*s' for %s is out of range (|x| > %g)", (int)(f->n > 40 ? 40 : f->n),
                      f->s, rt_jsc_feature_names[feature] + 2, RT_JSC_MAX_ABS);
  *out = v;
  return JS_OK;
bad:
  return diag_error(t->d, tloc(t, f->col), "bad number '%.*s' for %s", (int)(f->n > 40 ? 40 : f->n),
                    f->s, rt_jsc_feature_names[feature] + 2);
}

static Status parse_label(TextIn *t, const Field *f, int32_t *out) {
  for (int c = 0; c < RT_JSC_CLASSES; c++)
    if (field_is(f, rt_jsc_class_names[c])) {
      *out = c;
      return JS_OK;
    }
  return diag_error(t->d, tloc(t, f->col), "unknown class label '%.*s' (expected g, q, w, z or t)",
                    (int)(f->n > 40 ? 40 : f->n), f->s);
}

/* Data rows of either format: fields in header order, each row adding to `rows`. */
static Status read_data_rows(TextIn *t, const int *role, int ncols, bool arff, RtJscRows *rows) {
  Field f[MAX_COLS];
  const char *ls, *le;
  while (next_line(t, &ls, &le)) {
    if (line_is_blank(ls, le)) continue;
    if (arff) {
      const char *p = ls;
      while (is_blank(*p)) p++;
      if (*p == '%') continue;
      if (*p == '{')
        return diag_error(t->d, tloc(t, (int)(p - ls) + 1), "sparse ARFF rows are not supported");
    }
    int n = split_fields(t, ls, le, f, MAX_COLS);
    if (n < 0) return JS_ERR;
    if (n != ncols)
      return diag_error(t->d, tloc(t, n > ncols ? f[ncols < MAX_COLS ? ncols : 0].col : (int)(le - ls) + 1),
                        "expected %d fields, found %d", ncols, n);
    double x[RT_JSC_FEATURES];
    int32_t y = 0;
    for (int c = 0; c < ncols; c++) {
      if (role[c] == ROLE_IGNORE) continue;
      Status st = role[c] == ROLE_LABEL ? parse_label(t, &f[c], &y)
                                        : parse_number(t, &f[c], role[c], &x[role[c]]);
      if (st) return st;
    }
    Status st = rt_jsc_rows_add(rows, x, y);
    if (st == JS_ENOMEM) return diag_oom(t->d);
    if (st) return diag_error(t->d, tloc(t, 1), "more than %lld unique rows", (long long)RT_JSC_MAX_ROWS);
  }
  return JS_OK;
}

/* CSV: the first non-blank line names the columns, in any order. */
static Status read_csv(TextIn *t, RtJscRows *rows) {
  Field names[MAX_COLS];
  int role[MAX_COLS];
  const char *ls, *le;
  do {
    if (!next_line(t, &ls, &le)) return diag_error(t->d, (SrcLoc){&t->sf, 0, 0}, "no header row");
  } while (line_is_blank(ls, le));
  int header_line = t->line;
  const char *semi = memchr(ls, ';', (size_t)(le - ls));
  if (semi && !memchr(ls, ',', (size_t)(le - ls)))
    return diag_error(t->d, tloc(t, (int)(semi - ls) + 1), "the header has ';' between its names and no ',': jscc "
                      "reads comma-separated values (save the file with ',' between fields, e.g. tr ';' ',')");
  int n = split_fields(t, ls, le, names, MAX_COLS);
  if (n < 0) return JS_ERR;
  if (n > MAX_COLS) return diag_error(t->d, tloc(t, 1), "more than %d columns", MAX_COLS);
  for (int c = 0; c < n; c++) role[c] = column_role(&names[c]);
  Status st = check_columns(t, role, names, n, header_line);
  if (st) return st;
  return read_data_rows(t, role, n, false, rows);
}

/* ARFF: "@attribute name type" lines declare the columns, "@data" starts the rows; '%'
 * starts a comment.  Keywords are case-insensitive. */
static Status read_arff(TextIn *t, RtJscRows *rows) {
  Field names[MAX_COLS];
  int role[MAX_COLS], header_line = 0, n = 0;
  const char *ls, *le;
  for (;;) {
    if (!next_line(t, &ls, &le))
      return diag_error(t->d, (SrcLoc){&t->sf, 0, 0}, "ARFF file without an @data section");
    const char *p = ls;
    while (p < le && is_blank(*p)) p++;
    if (p == le || *p == '%') continue;
    size_t rest = (size_t)(le - p);
    if (rest >= 5 && strncasecmp(p, "@data", 5) == 0) break;
    if (rest >= 9 && strncasecmp(p, "@relation", 9) == 0) continue;
    if (rest > 10 && strncasecmp(p, "@attribute", 10) == 0 && is_blank(p[10])) {
      p += 10;
      while (p < le && is_blank(*p)) p++;
      Field name = {p, 0, (int)(p - ls) + 1};
      if (p < le && (*p == '\'' || *p == '"')) {
        const char *close = memchr(p + 1, *p, (size_t)(le - p - 1));
        if (!close) return diag_error(t->d, tloc(t, name.col), "unterminated quoted name");
        name.s = p + 1;
        name.n = (size_t)(close - p - 1);
      } else {
        const char *e = p;
        while (e < le && !is_blank(*e) && *e != '{') e++;
        name.n = (size_t)(e - p);
      }
      if (name.n == 0) return diag_error(t->d, tloc(t, name.col), "@attribute without a name");
      if (n >= MAX_COLS) return diag_error(t->d, tloc(t, 1), "more than %d attributes", MAX_COLS);
      if (!header_line) header_line = t->line;
      names[n] = name;
      role[n] = column_role(&name);
      n++;
      continue;
    }
    return diag_error(t->d, tloc(t, (int)(p - ls) + 1), "expected @relation, @attribute or @data");
  }
  if (n == 0) return diag_error(t->d, tloc(t, 1), "ARFF file without @attribute lines");
  /* Missing columns are reported at the first @attribute line. */
  Status st = check_columns(t, role, names, n, header_line ? header_line : t->line);
  if (st) return st;
  return read_data_rows(t, role, n, true, rows);
}

/* ---- sources ---- */

typedef enum SrcKind { SRC_SYNTH, SRC_CSV, SRC_ARFF, SRC_HDF5 } SrcKind;
static const char *const src_kind_names[] = {"synthetic", "OpenML CSV", "OpenML ARFF",
                                             "CERN HDF5 t_allpar_new"};

/* HDF5's superblock sits at 0, 512, 1024, 2048, ... (after a user block). */
static bool has_hdf5_signature(int fd, off_t size) {
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  for (off_t off = 0; off + 8 <= size; off = off ? off * 2 : 512) {
    unsigned char b[8];
    if (pread(fd, b, 8, off) != 8) return false;
    if (memcmp(b, sig, 8) == 0) return true;
  }
  return false;
}

/* ARFF when the first line that is neither blank nor a '%' comment is @relation. */
static bool looks_like_arff(const unsigned char *b, size_t n) {
  size_t i = 0;
  while (i < n) {
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) i++;
    if (i < n && b[i] == '%') {
      while (i < n && b[i] != '\n') i++;
      continue;
    }
    return n - i >= 9 && strncasecmp((const char *)b + i, "@relation", 9) == 0;
  }
  return false;
}

/* What a load reads and the key of its cache file. */
typedef struct Source {
  SrcKind kind;
  SrcFile sf;   /* the path, for messages that name the file */
  uint64_t key; /* hash of the source's identity and every preprocessing option */
} Source;

/* Bumped whenever the generator, the preprocessing or the cache layout changes. */
#define DATA_VERSION 3

static uint64_t key_options(uint64_t h, const RtDataOpts *o) {
  h = fnv1a(h, &o->split_seed, sizeof o->split_seed);
  h = fnv1a(h, &o->test_frac, sizeof o->test_frac);
  h = fnv1a(h, &o->val_frac, sizeof o->val_frac);
  return h;
}

static Status source_open(const RtDataOpts *o, Source *s, Diag *d) {
  memset(s, 0, sizeof *s);
  uint32_t version = DATA_VERSION;
  uint64_t h = fnv1a(FNV_BASIS, "jscc-data", 9);
  h = fnv1a(h, &version, sizeof version);
  if (!o->path) {
    s->kind = SRC_SYNTH;
    s->sf.path = "<synthetic>";
    h = fnv1a(h, "synth", 5);
    h = fnv1a(h, &o->synth_n, sizeof o->synth_n);
    h = fnv1a(h, &o->synth_seed, sizeof o->synth_seed);
    s->key = key_options(h, o);
    return JS_OK;
  }
  s->sf.path = o->path;
  SrcLoc at = {&s->sf, 0, 0};
  int fd = open(o->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    Status st = errno == ENOENT ? JS_ERR : JS_EIO;
    diag_error(d, at, "cannot open the data file: %s", strerror(errno));
    return st;
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    diag_error(d, at, "not a regular file");
    return JS_EIO;
  }
  if (sb.st_size == 0) {
    close(fd);
    return diag_error(d, at, "empty file: expected an HDF5, CSV or ARFF JSC data set");
  }
  /* A sample of the content (first and last 64 KiB) joins size and mtime in the key, so a
   * file rewritten within one mtime tick still misses the cache. */
  enum { SAMPLE = 65536 };
  unsigned char *buf = ir_malloc(SAMPLE);
  if (!buf) {
    close(fd);
    return diag_oom(d);
  }
  ssize_t got = pread(fd, buf, SAMPLE, 0);
  if (got < 0) {
    ir_free(buf);
    close(fd);
    diag_error(d, at, "cannot read: %s", strerror(errno));
    return JS_EIO;
  }
  s->kind = has_hdf5_signature(fd, sb.st_size) ? SRC_HDF5
            : looks_like_arff(buf, (size_t)got) ? SRC_ARFF
                                                : SRC_CSV;
  h = fnv1a(h, "file", 4);
  h = fnv1a(h, o->path, strlen(o->path));
  int64_t ident[4] = {(int64_t)sb.st_size, (int64_t)sb.st_mtim.tv_sec, (int64_t)sb.st_mtim.tv_nsec,
                      (int64_t)sb.st_ino};
  h = fnv1a(h, ident, sizeof ident);
  uint64_t sample = hash_bytes(buf, (size_t)got, 1);
  if (sb.st_size > SAMPLE) {
    got = pread(fd, buf, SAMPLE, sb.st_size > 2 * SAMPLE ? sb.st_size - SAMPLE : SAMPLE);
    if (got > 0) sample ^= hash_bytes(buf, (size_t)got, 2);
  }
  h = fnv1a(h, &sample, sizeof sample);
  ir_free(buf);
  close(fd);
  s->key = key_options(h, o);
  return JS_OK;
}

static Status read_text(const Source *s, RtJscRows *rows, Diag *d) {
  SrcLoc at = {&s->sf, 0, 0};
  int fd = open(s->sf.path, O_RDONLY | O_CLOEXEC);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0) {
    diag_error(d, at, "cannot open the data file: %s", strerror(errno));
    if (fd >= 0) close(fd);
    return JS_EIO;
  }
  if (sb.st_size == 0) {
    close(fd);
    return diag_error(d, at, "empty file");
  }
  void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) {
    diag_error(d, at, "cannot map the data file: %s", strerror(errno));
    return JS_EIO;
  }
  madvise(map, (size_t)sb.st_size, MADV_SEQUENTIAL);
  TextIn t = {.sf = {s->sf.path, map, (size_t)sb.st_size}, .p = map, .line = 0, .d = d};
  if (sb.st_size >= 3 && memcmp(map, "\xef\xbb\xbf", 3) == 0) t.p += 3; /* a UTF-8 byte order mark (Excel's) */
  Status st = s->kind == SRC_ARFF ? read_arff(&t, rows) : read_csv(&t, rows);
  munmap(map, (size_t)sb.st_size);
  return st;
}

static Status read_synth(const RtDataOpts *o, RtJscRows *rows, Diag *d) {
  int64_t n = o->synth_n;
  float *x = ir_malloc((size_t)n * RT_JSC_FEATURES * sizeof *x);
  int32_t *y = ir_malloc((size_t)n * sizeof *y);
  Status st = JS_OK;
  if (!x || !y) {
    st = diag_oom(d);
    goto out;
  }
  rt_jsc_synth(n, o->synth_seed, x, y);
  st = rows_reserve(rows, n);
  for (int64_t i = 0; i < n && !st; i++) {
    double f[RT_JSC_FEATURES];
    for (int j = 0; j < RT_JSC_FEATURES; j++) f[j] = x[i * RT_JSC_FEATURES + j];
    st = rt_jsc_rows_add(rows, f, y[i]);
  }
  if (st) st = diag_oom(d);
out:
  ir_free(x);
  ir_free(y);
  return st;
}

/* ---- the image: header and arrays, in memory and in the cache file ---- */

#define CACHE_MAGIC "JSCCDAT\n"
enum { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, NSPLITS };

typedef struct CacheHeader {
  char magic[8];         /* CACHE_MAGIC */
  uint32_t version;      /* DATA_VERSION */
  uint32_t header_bytes; /* sizeof(CacheHeader), a second guard against layout changes */
  uint64_t key;          /* the source-and-options key the file was built for */
  uint64_t file_bytes;   /* the whole file: a truncated one is refused */
  uint64_t hash;         /* content hash of the arrays (RtDataset.hash) */
  uint64_t header_hash;  /* hash of this header with header_hash zero */
  int64_t n[NSPLITS];    /* rows of train, val, test */
  int64_t n_raw, n_unique;
  uint64_t off[2 * NSPLITS]; /* byte offsets of x and y of train, val, test */
  float mean[RT_JSC_FEATURES], scale[RT_JSC_FEATURES];
  uint32_t synthetic;
  uint32_t reserved;     /* zero */
  char desc[256];
} CacheHeader;

_Static_assert(sizeof(CacheHeader) == 528, "CacheHeader must have no padding: it is hashed");

static uint64_t align64(uint64_t v) { return (v + 63) & ~(uint64_t)63; }

/* Offsets of the six arrays after the header, each 64-byte aligned; returns the total. */
static uint64_t layout(const int64_t n[NSPLITS], uint64_t off[2 * NSPLITS]) {
  uint64_t pos = align64(sizeof(CacheHeader));
  for (int s = 0; s < NSPLITS; s++) {
    off[2 * s] = pos;
    pos = align64(pos + (uint64_t)n[s] * RT_JSC_FEATURES * sizeof(float));
    off[2 * s + 1] = pos;
    pos = align64(pos + (uint64_t)n[s] * sizeof(int32_t));
  }
  return pos;
}

static uint64_t header_hash(const CacheHeader *h) {
  CacheHeader c = *h;
  c.header_hash = 0;
  return hash_bytes(&c, sizeof c, 3);
}

/* Hash a region of a mapped file, giving its pages back as it goes (MADV_DONTNEED on a
 * read-only file mapping only drops them from this process: they come back from the page
 * cache on the next touch).  Checking a cache file therefore does not make the whole file
 * resident at once: the training loop's resident set is the splits it reads. */
static uint64_t hash_region(const unsigned char *p, size_t len, uint64_t seed, bool drop) {
  uint64_t h = seed; /* chained over 1 MiB chunks, whether or not pages are dropped */
  enum { CHUNK = 1 << 20 };
  long pg = sysconf(_SC_PAGESIZE);
  for (size_t at = 0; at < len; at += CHUNK) {
    size_t n = len - at < CHUNK ? len - at : CHUNK;
    h = hash_bytes(p + at, n, h);
    uintptr_t lo = ((uintptr_t)(p + at) + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
    uintptr_t hi = ((uintptr_t)(p + at + n)) & ~((uintptr_t)pg - 1);
    if (drop && hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
  }
  return h;
}

/* The content hash of the splits: each array hashed, then the hashes and counts together.
 * `drop`: base is a file mapping whose pages may be given back after hashing. */
static uint64_t image_hash(const unsigned char *base, const CacheHeader *h, bool drop) {
  uint64_t parts[2 * NSPLITS + NSPLITS];
  for (int s = 0; s < NSPLITS; s++) {
    parts[2 * s] = hash_region(base + h->off[2 * s], (size_t)h->n[s] * RT_JSC_FEATURES * sizeof(float), 10, drop);
    parts[2 * s + 1] = hash_region(base + h->off[2 * s + 1], (size_t)h->n[s] * sizeof(int32_t), 11, drop);
    parts[2 * NSPLITS + s] = (uint64_t)h->n[s];
  }
  return mix64(fnv1a(FNV_BASIS, parts, sizeof parts));
}

/* Where the loaded arrays live. */
typedef struct DataImpl {
  void *heap;    /* ir_malloc'd block holding the image (NULL when mapped) */
  void *map;     /* the mmap'd cache file (NULL when on the heap) */
  size_t len;    /* bytes mapped */
} DataImpl;

static void set_from_image(RtDataset *ds, const unsigned char *base) {
  const CacheHeader *h = (const CacheHeader *)base;
  RtSplit *sp[NSPLITS] = {&ds->train, &ds->val, &ds->test};
  for (int s = 0; s < NSPLITS; s++) {
    sp[s]->n = h->n[s];
    sp[s]->x = (const float *)(base + h->off[2 * s]);
    sp[s]->y = (const int32_t *)(base + h->off[2 * s + 1]);
  }
  ds->synthetic = h->synthetic != 0;
  memcpy(ds->desc, h->desc, sizeof ds->desc);
  ds->hash = h->hash;
  memcpy(ds->mean, h->mean, sizeof ds->mean);
  memcpy(ds->scale, h->scale, sizeof ds->scale);
  ds->n_raw = h->n_raw;
  ds->n_unique = h->n_unique;
}

/* Split, hold out validation rows, fit and apply the scaler: the image on the heap. */
static Status build_image(const RtDataOpts *o, const Source *src, const RtJscRows *rows,
                          DataImpl *impl, unsigned char **out, Diag *d) {
  SrcLoc at = {&src->sf, 0, 0};
  int64_t n = rows->n;
  double ntest_d = ceil(o->test_frac * (double)n); /* sklearn: ceil(test_size * n_samples) */
  int64_t n_test = (int64_t)ntest_d, n_tv = n - n_test;
  int64_t n_val = (int64_t)ceil(o->val_frac * (double)n_tv), n_train = n_tv - n_val;
  if (n < 2 || n_test < 1 || n_train < 1)
    return diag_error(d, at, "%lld unique rows are too few to split into train, validation and "
                      "test parts (test %g, validation %g of the rest)",
                      (long long)n, o->test_frac, o->val_frac);

  Status st = JS_OK;
  int64_t *perm = ir_malloc((size_t)n * sizeof *perm);
  int64_t *pos = ir_malloc((size_t)n_tv * sizeof *pos);
  unsigned char *chosen = ir_calloc((size_t)n_tv, 1);
  int64_t *order = ir_malloc((size_t)n * sizeof *order); /* rows: train, then val, then test */
  if (!perm || !pos || !chosen || !order) {
    st = diag_oom(d);
    goto out;
  }
  rt_np_permutation((uint32_t)o->split_seed, perm, n);
  const int64_t *tv = perm + n_test; /* train_test_split's training part, in its order */

  /* Validation rows: a partial Fisher-Yates over the training part with our own generator;
   * the remaining training rows keep train_test_split's order. */
  Rng r;
  rt_rng_seed(&r, o->split_seed ^ 0x6A7363632D76616CULL);
  for (int64_t i = 0; i < n_tv; i++) pos[i] = i;
  for (int64_t i = 0; i < n_val; i++) {
    int64_t j = i + (int64_t)rt_rng_below(&r, (uint64_t)(n_tv - i));
    int64_t t = pos[i];
    pos[i] = pos[j];
    pos[j] = t;
    chosen[pos[i]] = 1;
  }
  int64_t k = 0;
  for (int64_t i = 0; i < n_tv; i++)
    if (!chosen[i]) order[k++] = tv[i];
  for (int64_t i = 0; i < n_val; i++) order[k++] = tv[pos[i]];
  for (int64_t i = 0; i < n_test; i++) order[k++] = perm[i];

  /* StandardScaler on the training rows: mean and population standard deviation, two passes
   * in row order (sequential reads; `in_train` marks the rows); a constant feature keeps
   * scale 1 as sklearn does. */
  ir_free(chosen);
  unsigned char *in_train = chosen = ir_calloc((size_t)n, 1);
  if (!in_train) {
    st = diag_oom(d);
    goto out;
  }
  for (int64_t i = 0; i < n_train; i++) in_train[order[i]] = 1;
  double mean[RT_JSC_FEATURES] = {0}, var[RT_JSC_FEATURES] = {0};
  for (int64_t i = 0; i < n; i++)
    if (in_train[i])
      for (int j = 0; j < RT_JSC_FEATURES; j++) mean[j] += rows->x[i * RT_JSC_FEATURES + j];
  for (int j = 0; j < RT_JSC_FEATURES; j++) mean[j] /= (double)n_train;
  for (int64_t i = 0; i < n; i++)
    if (in_train[i])
      for (int j = 0; j < RT_JSC_FEATURES; j++) {
        double dv = rows->x[i * RT_JSC_FEATURES + j] - mean[j];
        var[j] += dv * dv;
      }

  int64_t counts[NSPLITS] = {n_train, n_val, n_test};
  uint64_t off[2 * NSPLITS];
  uint64_t total = layout(counts, off);
  impl->heap = ir_malloc((size_t)total + 64);
  if (!impl->heap) {
    st = diag_oom(d);
    goto out;
  }
  unsigned char *base = (unsigned char *)align64((uintptr_t)impl->heap);
  memset(base, 0, (size_t)total); /* padding is hashed and written: make it defined */
  CacheHeader *h = (CacheHeader *)base;
  memcpy(h->magic, CACHE_MAGIC, 8);
  h->version = DATA_VERSION;
  h->header_bytes = sizeof *h;
  h->key = src->key;
  h->file_bytes = total;
  memcpy(h->n, counts, sizeof counts);
  h->n_raw = rows->n_raw;
  h->n_unique = rows->n;
  memcpy(h->off, off, sizeof off);
  for (int j = 0; j < RT_JSC_FEATURES; j++) {
    double sd = sqrt(var[j] / (double)n_train);
    h->mean[j] = (float)mean[j];
    h->scale[j] = sd > 0 && (float)sd > 0 ? (float)sd : 1.0f;
  }
  h->synthetic = src->kind == SRC_SYNTH;
  if (src->kind == SRC_SYNTH)
    snprintf(h->desc, sizeof h->desc, "SYNTHETIC JSC stand-in (seed %llu, %lld jets; not the real data set)",
             (unsigned long long)o->synth_seed, (long long)o->synth_n);
  else
    snprintf(h->desc, sizeof h->desc, "JSC from %s (%s, %lld rows, %lld unique)", src->sf.path,
             src_kind_names[src->kind], (long long)rows->n_raw, (long long)rows->n);

  /* The stored mean and scale, not the doubles they came from, define the transform, so
   * applying ds->mean and ds->scale to raw data reproduces these arrays. */
  int64_t first = 0;
  for (int s = 0; s < NSPLITS; s++) {
    float *x = (float *)(base + off[2 * s]);
    int32_t *y = (int32_t *)(base + off[2 * s + 1]);
    for (int64_t i = 0; i < counts[s]; i++) {
      int64_t row = order[first + i];
      for (int j = 0; j < RT_JSC_FEATURES; j++)
        x[i * RT_JSC_FEATURES + j] =
            (float)((rows->x[row * RT_JSC_FEATURES + j] - (double)h->mean[j]) / (double)h->scale[j]);
      y[i] = rows->y[row];
    }
    first += counts[s];
  }
  h->hash = image_hash(base, h, false);
  h->header_hash = header_hash(h);
  *out = base;
out:
  ir_free(perm);
  ir_free(pos);
  ir_free(chosen);
  ir_free(order);
  return st;
}

/* ---- the cache file ---- */

/* The directory: the option, $JSCC_CACHE_DIR, $XDG_CACHE_HOME/jscc, then ~/.cache/jscc
 * (ir_cache_dir).  False when none can be named (no HOME). */
static bool cache_dir(const RtDataOpts *o, char *buf, size_t cap) { return ir_cache_dir(o->cache_dir, buf, cap); }

Status rt_data_cache_path(const RtDataOpts *o, char *buf, size_t cap, Diag *d) {
  Source src;
  Status st = source_open(o, &src, d);
  if (st) return st;
  char dir[PATH_MAX];
  if (!cache_dir(o, dir, sizeof dir)) return JS_EUSAGE;
  int n = snprintf(buf, cap, "%s/jsc-%016llx.cache", dir, (unsigned long long)src.key);
  return n > 0 && (size_t)n < cap ? JS_OK : JS_EUSAGE;
}


/* Map a cache file and check everything about it; false (and nothing mapped) for a missing,
 * stale, truncated or corrupt file, which the caller then rebuilds. */
static bool cache_open(const char *path, uint64_t key, RtDataset *ds, DataImpl *impl) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size < sizeof(CacheHeader)) {
    close(fd);
    return false;
  }
  size_t len = (size_t)sb.st_size;
  void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (map == MAP_FAILED) return false;
  const CacheHeader *h = map;
  bool ok = memcmp(h->magic, CACHE_MAGIC, 8) == 0 && h->version == DATA_VERSION &&
            h->header_bytes == sizeof *h && h->key == key && h->file_bytes == len &&
            h->header_hash == header_hash(h) && h->reserved == 0 && h->synthetic <= 1 &&
            memchr(h->desc, 0, sizeof h->desc) != NULL && h->n_unique <= RT_JSC_MAX_ROWS &&
            h->n_raw >= h->n_unique;
  int64_t sum = 0;
  for (int s = 0; ok && s < NSPLITS; s++) {
    ok = h->n[s] >= 0 && h->n[s] <= RT_JSC_MAX_ROWS;
    sum += h->n[s];
  }
  ok = ok && sum == h->n_unique && h->n[SPLIT_TRAIN] > 0 && h->n[SPLIT_TEST] > 0;
  if (ok) {
    uint64_t off[2 * NSPLITS];
    ok = layout(h->n, off) == len && memcmp(off, h->off, sizeof off) == 0;
  }
  ok = ok && image_hash(map, h, true) == h->hash;
  if (!ok) {
    munmap(map, len);
    return false;
  }
  impl->map = map;
  impl->len = len;
  set_from_image(ds, map);
  return true;
}

/* Write the image to a temporary file in the cache dir and rename it into place, so readers
 * never see a half-written file. */
static bool cache_write(const char *path, const unsigned char *base, size_t len, char *why, size_t whycap) {
  size_t n = strlen(path);
  char tmp[PATH_MAX + 16];
  if (n + 12 > sizeof tmp) {
    snprintf(why, whycap, "path too long");
    return false;
  }
  snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    snprintf(why, whycap, "%s", strerror(errno));
    return false;
  }
  size_t done = 0;
  while (done < len) {
    ssize_t w = write(fd, base + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += (size_t)w;
  }
  bool ok = done == len;
  if (!ok) snprintf(why, whycap, "%s", strerror(errno ? errno : EIO));
  if (close(fd) != 0 && ok) {
    ok = false;
    snprintf(why, whycap, "%s", strerror(errno));
  }
  if (ok) (void)!chmod(tmp, 0644); /* mkstemp makes it 0600; failing that is harmless */
  if (ok && rename(tmp, path) != 0) {
    ok = false;
    snprintf(why, whycap, "%s", strerror(errno));
  }
  if (!ok) unlink(tmp);
  return ok;
}

/* ---- loading ---- */

static Status check_opts(const RtDataOpts *o, Diag *d) {
  SrcLoc none = {0};
  if (!(o->test_frac > 0 && o->test_frac < 1))
    return diag_error(d, none, "test fraction %g is not in (0, 1)", o->test_frac), JS_EUSAGE;
  if (!(o->val_frac >= 0 && o->val_frac < 1))
    return diag_error(d, none, "validation fraction %g is not in [0, 1)", o->val_frac), JS_EUSAGE;
  if (o->split_seed > 0xffffffffULL)
    return diag_error(d, none, "split seed %llu does not fit numpy's 32-bit seed",
                      (unsigned long long)o->split_seed), JS_EUSAGE;
  if (!o->path && (o->synth_n < 2 || o->synth_n > RT_JSC_MAX_ROWS))
    return diag_error(d, none, "synthetic data set size %lld is not in [2, %lld]",
                      (long long)o->synth_n, (long long)RT_JSC_MAX_ROWS), JS_EUSAGE;
  return JS_OK;
}

Status rt_data_load(const RtDataOpts *o, RtDataset *out, Diag *d) {
  memset(out, 0, sizeof *out);
  Status st = check_opts(o, d);
  if (st) return st;
  Source src;
  st = source_open(o, &src, d);
  if (st) return st;
  DataImpl *impl = ir_calloc(1, sizeof *impl);
  if (!impl) return diag_oom(d);

  char dir[PATH_MAX], path[PATH_MAX + 32];
  bool use_cache = !o->no_cache && cache_dir(o, dir, sizeof dir);
  if (use_cache)
    snprintf(path, sizeof path, "%s/jsc-%016llx.cache", dir, (unsigned long long)src.key);
  if (use_cache && cache_open(path, src.key, out, impl)) {
    out->impl = impl;
    out->from_cache = true;
    return JS_OK;
  }

  RtJscRows rows;
  rt_jsc_rows_init(&rows);
  switch (src.kind) {
  case SRC_SYNTH: st = read_synth(o, &rows, d); break;
  case SRC_HDF5: st = rt_jsc_read_hdf5(o->path, &rows, d); break;
  case SRC_CSV:
  case SRC_ARFF: st = read_text(&src, &rows, d); break;
  }
  unsigned char *base = NULL;
  if (!st) st = build_image(o, &src, &rows, impl, &base, d);
  rt_jsc_rows_free(&rows);
  if (st) {
    ir_free(impl->heap);
    ir_free(impl);
    return st;
  }
  set_from_image(out, base);
  out->impl = impl;
  if (use_cache) {
    char why[256] = "cannot create the directory";
    const CacheHeader *h = (const CacheHeader *)base;
    if (!ir_mkdir_p(dir, 0755) || !cache_write(path, base, (size_t)h->file_bytes, why, sizeof why))
      diag_warning(d, (SrcLoc){0}, "cannot write the data cache %s: %s", path, why);
  }
  return JS_OK;
}

void rt_data_free(RtDataset *ds) {
  DataImpl *impl = ds->impl;
  if (impl) {
    if (impl->map) munmap(impl->map, impl->len);
    ir_free(impl->heap);
    ir_free(impl);
  }
  memset(ds, 0, sizeof *ds);
}
