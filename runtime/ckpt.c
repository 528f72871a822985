/* runtime/ckpt.c — safetensors checkpoints: the writer, the header (parsed by ir/json.c), the
 * reader and its checks, and the optimizer-state file (format in ckpt.h).
 *
 * Reading happens in two phases so that a bad file never leaves a half-loaded state: first
 * the header is parsed and every tensor the caller wants is matched by name, dtype and shape
 * (every problem is reported, not just the first), then the data is read with pread straight
 * into the caller's buffers, converting F64/F16/BF16 and I32 on the way. */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ckpt.c reads and writes tensors in host order, which must be little-endian"
#endif

/* ---- safetensors dtypes ---- */

/* Every dtype the format names, with its element size; the reader converts only some. */
static const struct {
  const char *name;
  int size; /* bytes per element */
} st_dtypes[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
    {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1},   {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
};
enum { SDT_F64, SDT_F32, SDT_F16, SDT_BF16, SDT_I64, SDT_I32, SDT_COUNT = sizeof st_dtypes / sizeof *st_dtypes };

static int st_dtype_lookup(const char *s) {
  for (int i = 0; i < (int)SDT_COUNT; i++)
    if (strcmp(st_dtypes[i].name, s) == 0) return i;
  return -1;
}

/* "[5, 16]", as PyTorch prints a size, into a caller's buffer. */
static const char *shape_str(char *buf, size_t cap, int rank, const int64_t *dims) {
  size_t at = 0;
  at += (size_t)snprintf(buf + at, cap - at, "[");
  for (int i = 0; i < rank && at < cap; i++)
    at += (size_t)snprintf(buf + at, cap - at, "%s%lld", i ? ", " : "", (long long)dims[i]);
  if (at < cap) snprintf(buf + at, cap - at, "]");
  return buf;
}

/* ==== reading ==== */

/* One tensor the header describes. */
typedef struct StEntry {
  const char *name;
  int dt;                       /* index into st_dtypes */
  int rank;
  int64_t shape[IR_MAX_RANK];
  uint64_t begin, end;          /* byte offsets into the data section */
  bool used;                    /* matched by a wanted tensor */
} StEntry;

/* An open checkpoint with its header checked. */
typedef struct Reader {
  const char *path;
  SrcFile file;                 /* path only: messages read "path: error: ..." */
  int fd;
  uint64_t data_start;          /* 8 + N */
  int n;                        /* tensors */
  StEntry *ents;                /* [n], in header order, in the arena */
  StrMap byname;                /* name -> StEntry */
  const JVal *meta;             /* the __metadata__ object, or NULL */
  Arena *a;                     /* owns the header text, values and entries */
} Reader;

#define LOC(r) ((SrcLoc){&(r)->file, 0, 0})

static Status read_full(Reader *r, void *buf, size_t n, uint64_t at, Diag *d) {
  char *p = buf;
  while (n) {
    ssize_t got = pread(r->fd, p, n, (off_t)at);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      diag_error(d, LOC(r), "cannot read: %s", strerror(errno));
      return JS_EIO;
    }
    if (got == 0) return diag_error(d, LOC(r), "truncated file: it ended while reading");
    p += got;
    n -= (size_t)got;
    at += (uint64_t)got;
  }
  return JS_OK;
}

static int cmp_begin(const void *x, const void *y) {
  const StEntry *a = *(const StEntry *const *)x, *b = *(const StEntry *const *)y;
  return a->begin < b->begin ? -1 : a->begin > b->begin ? 1 : a->end < b->end ? -1 : a->end > b->end;
}

/* One tensor entry: {"dtype": S, "shape": [uint...], "data_offsets": [uint, uint]}, nothing else. */
static Status check_entry(Reader *r, const char *name, const JVal *v, StEntry *e, Diag *d) {
  e->name = name;
  if (v->kind != J_OBJ) return diag_error(d, LOC(r), "corrupt header: tensor '%s' is not an object", name);
  for (int i = 0; i < v->n; i++)
    if (strcmp(v->keys[i], "dtype") && strcmp(v->keys[i], "shape") && strcmp(v->keys[i], "data_offsets"))
      return diag_error(d, LOC(r), "corrupt header: tensor '%s' has an unknown field '%s'", name, v->keys[i]);
  const JVal *dt = json_get(v, "dtype"), *shape = json_get(v, "shape"), *offs = json_get(v, "data_offsets");
  if (!dt || dt->kind != J_STR) return diag_error(d, LOC(r), "corrupt header: tensor '%s' has no string 'dtype'", name);
  if ((e->dt = st_dtype_lookup(dt->str)) < 0)
    return diag_error(d, LOC(r), "%s: unknown dtype '%.40s'", name, dt->str);
  if (!shape || shape->kind != J_ARR) return diag_error(d, LOC(r), "corrupt header: tensor '%s' has no 'shape' list", name);
  if (shape->n > IR_MAX_RANK)
    return diag_error(d, LOC(r), "%s: rank %d is more than the %d dimensions jscc supports", name, shape->n, IR_MAX_RANK);
  e->rank = shape->n;
  uint64_t numel = 1;
  for (int i = 0; i < shape->n; i++) {
    uint64_t s;
    if (!json_uint(&shape->items[i], &s))
      return diag_error(d, LOC(r), "corrupt header: tensor '%s': shape[%d] is not a non-negative integer", name, i);
    e->shape[i] = (int64_t)s;
    if (s && numel > UINT64_MAX / s) numel = UINT64_MAX;
    else numel *= s;
  }
  uint64_t esize = (uint64_t)st_dtypes[e->dt].size;
  uint64_t nbytes = numel > UINT64_MAX / esize ? UINT64_MAX : numel * esize;
  if (!offs || offs->kind != J_ARR || offs->n != 2 || !json_uint(&offs->items[0], &e->begin) ||
      !json_uint(&offs->items[1], &e->end))
    return diag_error(d, LOC(r), "corrupt header: tensor '%s': 'data_offsets' must be two non-negative integers", name);
  if (e->end < e->begin)
    return diag_error(d, LOC(r), "corrupt header: tensor '%s': data_offsets [%llu, %llu] end before they begin", name,
                      (unsigned long long)e->begin, (unsigned long long)e->end);
  if (e->end - e->begin != nbytes) {
    char sb[160];
    return diag_error(d, LOC(r), "corrupt header: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes, but %s %s needs %llu",
                      name, (unsigned long long)e->begin, (unsigned long long)e->end,
                      (unsigned long long)(e->end - e->begin), st_dtypes[e->dt].name,
                      shape_str(sb, sizeof sb, e->rank, e->shape), (unsigned long long)nbytes);
  }
  return JS_OK;
}

static void reader_close(Reader *r) {
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
  strmap_free(&r->byname);
  arena_free(r->a);
  r->a = NULL;
}

/* Open path and check its header: JSON, entries, and that the tensors tile the data. */
static Status reader_open(Reader *r, const char *path, Diag *d) {
  memset(r, 0, sizeof *r);
  r->path = path;
  r->file.path = path;
  r->fd = -1;
  strmap_init(&r->byname);
  r->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (r->fd < 0) {
    diag_error(d, LOC(r), "cannot open: %s", strerror(errno));
    return JS_EIO;
  }
  struct stat sst;
  if (fstat(r->fd, &sst) != 0 || !S_ISREG(sst.st_mode))
    return diag_error(d, LOC(r), "not a regular file");
  uint64_t size = (uint64_t)sst.st_size;
  if (size < 8)
    return diag_error(d, LOC(r), "truncated file: %llu bytes, but a safetensors file starts with an 8-byte header length",
                      (unsigned long long)size);
  unsigned char lenbuf[8];
  Status st = read_full(r, lenbuf, 8, 0, d);
  if (st) return st;
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | lenbuf[i];
  if (hlen > CKPT_MAX_HEADER)
    return diag_error(d, LOC(r), "corrupt header: header length %llu is over the %u-byte limit", (unsigned long long)hlen,
                      CKPT_MAX_HEADER);
  if (hlen > size - 8)
    return diag_error(d, LOC(r), "truncated file: the header is %llu bytes, but only %llu follow its length",
                      (unsigned long long)hlen, (unsigned long long)(size - 8));
  if (hlen < 2) return diag_error(d, LOC(r), "corrupt header: %llu bytes cannot hold a JSON object", (unsigned long long)hlen);
  r->data_start = 8 + hlen;
  if (!(r->a = arena_new())) return diag_oom(d);
  char *text = arena_alloc(r->a, (size_t)hlen);
  if (!text) return diag_oom(d);
  if ((st = read_full(r, text, (size_t)hlen, 8, d))) return st;

  JVal *root = arena_alloc(r->a, sizeof *root);
  if (!root) return diag_oom(d);
  JsonError je;
  if (!json_parse(r->a, text, (size_t)hlen, "header", root, &je)) {
    if (je.oom) return diag_oom(d);
    return diag_error(d, LOC(r), "corrupt header: %s at byte %zu of the JSON", je.msg, je.pos);
  }
  if (root->kind != J_OBJ) return diag_error(d, LOC(r), "corrupt header: the JSON is not an object");

  r->ents = arena_alloc(r->a, sizeof *r->ents * (size_t)(root->n ? root->n : 1));
  StEntry **sorted = arena_alloc(r->a, sizeof *sorted * (size_t)(root->n ? root->n : 1));
  if (!r->ents || !sorted) return diag_oom(d);
  for (int i = 0; i < root->n; i++) {
    const char *key = root->keys[i];
    const JVal *v = &root->items[i];
    if (strcmp(key, "__metadata__") == 0) {
      if (v->kind != J_OBJ) return diag_error(d, LOC(r), "corrupt header: __metadata__ is not an object");
      for (int k = 0; k < v->n; k++)
        if (v->items[k].kind != J_STR)
          return diag_error(d, LOC(r), "corrupt header: __metadata__ value '%s' is not a string", v->keys[k]);
      r->meta = v;
      continue;
    }
    StEntry *e = &r->ents[r->n];
    if ((st = check_entry(r, key, v, e, d))) return st;
    if (strmap_put(&r->byname, e->name, e)) return diag_oom(d);
    sorted[r->n++] = e;
  }
  /* The tensors must tile [0, data size) exactly: no overlap, no gap, nothing after. */
  uint64_t data_size = size - r->data_start;
  qsort(sorted, (size_t)r->n, sizeof *sorted, cmp_begin);
  uint64_t at = 0;
  for (int i = 0; i < r->n; i++) {
    const StEntry *e = sorted[i];
    if (e->begin < at)
      return diag_error(d, LOC(r), "corrupt header: tensor '%s' (data_offsets [%llu, %llu]) overlaps tensor '%s'", e->name,
                        (unsigned long long)e->begin, (unsigned long long)e->end, sorted[i - 1]->name);
    if (e->begin > at)
      return diag_error(d, LOC(r), "corrupt header: %llu unused bytes before tensor '%s' (data_offsets [%llu, %llu])",
                        (unsigned long long)(e->begin - at), e->name, (unsigned long long)e->begin,
                        (unsigned long long)e->end);
    if (e->end > data_size)
      return diag_error(d, LOC(r), "truncated file: tensor '%s' ends at byte %llu of the data, but the file holds %llu",
                        e->name, (unsigned long long)e->end, (unsigned long long)data_size);
    at = e->end;
  }
  if (at != data_size)
    return diag_error(d, LOC(r), "corrupt file: %llu bytes of data after the last tensor", (unsigned long long)(data_size - at));
  return JS_OK;
}

/* A tensor the caller wants from the file, and where it goes. */
typedef struct Want {
  const char *name;
  const TensorType *type;       /* expected shape; dtype F32 or I64 */
  float *f32;                   /* destination of an f32 tensor ([numel]) */
  int64_t *i64;                 /* destination of an i64 scalar */
  const StEntry *e;             /* the matched entry */
} Want;

static bool shape_equal(const StEntry *e, const TensorType *t) {
  if (e->rank != t->rank) return false;
  for (int i = 0; i < t->rank; i++)
    if (e->shape[i] != t->dims[i].size) return false;
  return true;
}

/* Phase one: match every wanted tensor, report every problem. */
static Status match_wants(Reader *r, Want *w, int nw, Diag *d) {
  int errors = d->nerrors;
  for (int i = 0; i < nw; i++) {
    StEntry *e = strmap_get(&r->byname, w[i].name);
    if (!e) {
      diag_error(d, LOC(r), "missing tensor '%s'", w[i].name);
      continue;
    }
    e->used = true;
    w[i].e = e;
    bool want_i64 = w[i].type->dtype == DT_I64;
    bool ok = want_i64 ? e->dt == SDT_I64 || e->dt == SDT_I32
                       : e->dt == SDT_F32 || e->dt == SDT_F64 || e->dt == SDT_F16 || e->dt == SDT_BF16;
    if (!ok) {
      diag_error(d, LOC(r), "%s: dtype %s is not supported for an %s tensor (%s are)", w[i].name, st_dtypes[e->dt].name,
                 want_i64 ? "i64" : "f32", want_i64 ? "I64 and I32" : "F32, F64, F16 and BF16");
      continue;
    }
    if (!shape_equal(e, w[i].type)) {
      int64_t dims[IR_MAX_RANK];
      for (int k = 0; k < w[i].type->rank; k++) dims[k] = w[i].type->dims[k].size;
      char a[160], b[160];
      diag_error(d, LOC(r), "%s: expected shape %s, found %s", w[i].name, shape_str(a, sizeof a, w[i].type->rank, dims),
                 shape_str(b, sizeof b, e->rank, e->shape));
    }
  }
  for (int i = 0; i < r->n; i++)
    if (!r->ents[i].used && strncmp(r->ents[i].name, CKPT_CODES_PREFIX, strlen(CKPT_CODES_PREFIX)) != 0)
      diag_error(d, LOC(r), "unexpected tensor '%s'", r->ents[i].name);
  return d->nerrors > errors ? JS_ERR : JS_OK;
}

static float f16_to_f32(uint16_t h) {
  unsigned exp = h >> 10 & 0x1F, man = h & 0x3FF;
  float f = exp == 0 ? ldexpf((float)man, -24)
            : exp == 31 ? (man ? NAN : INFINITY)
                        : ldexpf((float)(man | 0x400), (int)exp - 25);
  return h >> 15 ? -f : f;
}

/* F64 to F32, rounding to nearest; magnitudes beyond float's range become infinities. */
static float f64_to_f32(double x) {
  if (isfinite(x) && fabs(x) > FLT_MAX) return x > 0 ? INFINITY : -INFINITY;
  return (float)x;
}

/* Phase two: read and convert each wanted tensor. */
static Status read_wants(Reader *r, const Want *w, int nw, Diag *d) {
  for (int i = 0; i < nw; i++) {
    const StEntry *e = w[i].e;
    size_t nbytes = (size_t)(e->end - e->begin);
    size_t numel = nbytes / (size_t)st_dtypes[e->dt].size;
    uint64_t at = r->data_start + e->begin;
    if (e->dt == SDT_F32 || e->dt == SDT_I64) {
      Status st = read_full(r, e->dt == SDT_F32 ? (void *)w[i].f32 : (void *)w[i].i64, nbytes, at, d);
      if (st) return st;
      continue;
    }
    unsigned char *buf = ir_malloc(nbytes);
    if (!buf) return diag_oom(d);
    Status st = read_full(r, buf, nbytes, at, d);
    for (size_t k = 0; k < numel && !st; k++) {
      switch (e->dt) {
      case SDT_F64: {
        double x;
        memcpy(&x, buf + 8 * k, 8);
        w[i].f32[k] = f64_to_f32(x);
        break;
      }
      case SDT_F16: {
        uint16_t h;
        memcpy(&h, buf + 2 * k, 2);
        w[i].f32[k] = f16_to_f32(h);
        break;
      }
      case SDT_BF16: {
        uint16_t h;
        memcpy(&h, buf + 2 * k, 2);
        uint32_t bits = (uint32_t)h << 16;
        memcpy(&w[i].f32[k], &bits, 4);
        break;
      }
      case SDT_I32: {
        int32_t x;
        memcpy(&x, buf + 4 * k, 4);
        w[i].i64[k] = x;
        break;
      }
      default: break;
      }
    }
    ir_free(buf);
    if (st) return st;
  }
  return JS_OK;
}

/* ==== writing ==== */

/* A tensor to write. */
typedef struct Out {
  const char *name;
  const TensorType *type;       /* shape; dtype F32 or I64 */
  const void *data;             /* numel elements of 4 (F32) or 8 (I64) bytes */
  size_t nbytes;
  const char *dt;               /* the safetensors dtype when not the type's (I32 codes) */
} Out;


/* The header: metadata first (as the reference implementation writes it), then the tensors
 * in the caller's order, then spaces to a multiple of 8. */
static void build_header(StrBuf *sb, const Out *o, int n, const char *const *mk, const char *const *mv, int nm) {
  sb_putc(sb, '{');
  if (nm) {
    sb_puts(sb, "\"__metadata__\":{");
    for (int i = 0; i < nm; i++) {
      if (i) sb_putc(sb, ',');
      sb_put_json_str(sb, mk[i]);
      sb_putc(sb, ':');
      sb_put_json_str(sb, mv[i]);
    }
    sb_putc(sb, '}');
  }
  uint64_t at = 0;
  for (int i = 0; i < n; i++) {
    if (i || nm) sb_putc(sb, ',');
    sb_put_json_str(sb, o[i].name);
    sb_printf(sb, ":{\"dtype\":\"%s\",\"shape\":[", o[i].dt ? o[i].dt : o[i].type->dtype == DT_I64 ? "I64" : "F32");
    for (int k = 0; k < o[i].type->rank; k++) {
      if (k) sb_putc(sb, ',');
      sb_put_int(sb, o[i].type->dims[k].size);
    }
    sb_printf(sb, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)at, (unsigned long long)(at + o[i].nbytes));
    at += o[i].nbytes;
  }
  sb_putc(sb, '}');
  sb_putn(sb, "       ", (8 - sb->len % 8) % 8);
}

static Status write_error(SrcLoc loc, const char *what, Diag *d) {
  diag_error(d, loc, "cannot write: %s: %s", what, strerror(errno));
  return JS_EIO;
}

/* Write the file atomically: a temp file next to path, fflush, fsync, rename, then fsync the
 * directory so the rename itself is durable.  On error the temp file goes and path stays. */
static Status write_file(const char *path, const Out *o, int n, const char *const *mk, const char *const *mv, int nm,
                         Diag *d) {
  SrcFile file = {.path = path};
  SrcLoc loc = {&file, 0, 0};
  for (int i = 0; i < nm; i++)
    for (int k = 0; k < i; k++)
      if (strcmp(mk[i], mk[k]) == 0) {
        diag_error(d, loc, "metadata key '%s' given twice", mk[i]);
        return JS_EUSAGE;
      }
  struct stat sst;
  if (stat(path, &sst) == 0 && !S_ISREG(sst.st_mode)) return diag_error(d, loc, "not a regular file");
  StrBuf hdr;
  sb_init(&hdr);
  build_header(&hdr, o, n, mk, mv, nm);
  size_t plen = strlen(path);
  char *tmp = ir_malloc(plen + 16);
  if (hdr.oom || !tmp) {
    sb_free(&hdr);
    ir_free(tmp);
    return diag_oom(d);
  }
  snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    Status st = write_error(loc, "cannot create a temporary file", d);
    sb_free(&hdr);
    ir_free(tmp);
    return st;
  }
  /* mkstemp makes the file 0600; give it the mode a plain fopen would. */
  mode_t mask = umask(0);
  umask(mask);
  (void)fchmod(fd, 0666 & ~mask);
  FILE *f = fdopen(fd, "wb");
  Status st = JS_OK;
  if (!f) {
    st = write_error(loc, "fdopen", d);
    close(fd);
  } else {
    unsigned char lenbuf[8];
    uint64_t hlen = hdr.len;
    for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)(hlen >> (8 * i));
    bool ok = fwrite(lenbuf, 1, 8, f) == 8 && fwrite(hdr.data, 1, hdr.len, f) == hdr.len;
    for (int i = 0; i < n && ok; i++) ok = fwrite(o[i].data, 1, o[i].nbytes, f) == o[i].nbytes;
    if (!ok || fflush(f) != 0) st = write_error(loc, "writing the temporary file", d);
    else if (fsync(fd) != 0) st = write_error(loc, "fsync", d);
    if (fclose(f) != 0 && !st) st = write_error(loc, "closing the temporary file", d);
  }
  if (!st && rename(tmp, path) != 0) st = write_error(loc, "rename", d);
  if (st) {
    remove(tmp);
  } else {
    /* The directory entry: best effort (some file systems refuse to fsync directories). */
    const char *slash = strrchr(path, '/');
    char *dir = slash ? ir_malloc((size_t)(slash - path) + 2) : NULL;
    if (dir) {
      size_t dl = slash == path ? 1 : (size_t)(slash - path);
      memcpy(dir, path, dl);
      dir[dl] = 0;
    }
    int dfd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
    ir_free(dir);
  }
  sb_free(&hdr);
  ir_free(tmp);
  return st;
}

/* ==== the model file ==== */

Status rt_ckpt_save(const char *path, const RtState *s, const CkptMeta *meta, Diag *d) {
  return rt_ckpt_save_codes(path, s, meta, NULL, 0, d);
}

Status rt_ckpt_save_codes(const char *path, const RtState *s, const CkptMeta *meta, const CkptCodes *codes, int ncodes,
                          Diag *d) {
  if (meta && (meta->n < 0 || meta->n > CKPT_MAX_META)) {
    SrcFile file = {.path = path};
    diag_error(d, (SrcLoc){&file, 0, 0}, "%d metadata entries (at most %d)", meta->n, CKPT_MAX_META);
    return JS_EUSAGE;
  }
  Out *o = ir_malloc(sizeof *o * (size_t)(s->n + ncodes + 1));
  if (!o) return diag_oom(d);
  for (int i = 0; i < s->n; i++) {
    const Param *p = s->g->params[i];
    bool i64 = s->off[i] == (size_t)-1;
    o[i] = (Out){p->qualname, &p->type, i64 ? (const void *)&s->i64[i] : (const void *)(s->data + s->off[i]),
                 i64 ? 8 : s->numel[i] * sizeof(float), NULL};
  }
  for (int i = 0; i < ncodes; i++)
    o[s->n + i] = (Out){codes[i].name, codes[i].type, codes[i].codes, (size_t)ir_type_numel(codes[i].type) * 4, "I32"};
  /* the formats go to the metadata, after the caller's */
  const char *mk[CKPT_MAX_META + 64], *mv[CKPT_MAX_META + 64];
  int nm = 0;
  for (int i = 0; meta && i < meta->n; i++) mk[nm] = meta->keys[i], mv[nm++] = meta->vals[i];
  for (int i = 0; i < ncodes && nm < CKPT_MAX_META + 64; i++) mk[nm] = codes[i].name, mv[nm++] = codes[i].format;
  Status st = write_file(path, o, s->n + ncodes, mk, mv, nm, d);
  ir_free(o);
  return st;
}

Status rt_ckpt_load(const char *path, RtState *s, Diag *d) {
  Reader r;
  Want *w = ir_calloc((size_t)(s->n ? s->n : 1), sizeof *w);
  if (!w) return diag_oom(d);
  Status st = reader_open(&r, path, d);
  for (int i = 0; i < s->n; i++) {
    const Param *p = s->g->params[i];
    bool i64 = s->off[i] == (size_t)-1;
    w[i] = (Want){p->qualname, &p->type, i64 ? NULL : s->data + s->off[i], i64 ? &s->i64[i] : NULL, NULL};
  }
  if (!st) st = match_wants(&r, w, s->n, d);
  if (!st) st = read_wants(&r, w, s->n, d);
  reader_close(&r);
  ir_free(w);
  return st;
}

/* ==== the optimizer file ==== */

/* The tensor names of an optimizer's state: two per trainable parameter for Adam(W). */
static const char *const adam_prefix[] = {"exp_avg.", "exp_avg_sq."};
static const char *const sgd_prefix[] = {"momentum_buffer."};

/* Names and slots of every optimizer tensor, built in arena a.  *n receives the count. */
static Status optim_slots(const RtState *s, const OptimState *st, Arena *a, const char ***names, float ***bufs,
                          const TensorType ***types, int *n, Diag *d) {
  int per = st->kind == OPTIM_SGD ? 1 : 2;
  const char *const *prefix = st->kind == OPTIM_SGD ? sgd_prefix : adam_prefix;
  size_t cap = (size_t)(s->n ? s->n : 1) * (size_t)per;
  *names = arena_alloc(a, cap * sizeof **names);
  *bufs = arena_alloc(a, cap * sizeof **bufs);
  *types = arena_alloc(a, cap * sizeof **types);
  if (!*names || !*bufs || !*types) return diag_oom(d);
  *n = 0;
  for (int k = 0; k < per; k++)
    for (int i = 0; i < s->n; i++) {
      const Param *p = s->g->params[i];
      if (p->kind != PK_PARAM || s->off[i] == (size_t)-1) continue;
      const char *name = arena_printf(a, "%s%s", prefix[k], p->qualname);
      if (!name) return diag_oom(d);
      (*names)[*n] = name;
      (*bufs)[*n] = (k ? st->v : st->m) + s->off[i];
      (*types)[*n] = &p->type;
      (*n)++;
    }
  return JS_OK;
}

static Status optim_check(const char *path, const RtState *s, const OptimState *st, Diag *d) {
  SrcFile file = {.path = path};
  if (st->total != s->total || !st->m || (st->kind != OPTIM_SGD && !st->v)) {
    diag_error(d, (SrcLoc){&file, 0, 0}, "optimizer state of %zu elements does not fit the model's %zu", st->total,
               s->total);
    return JS_EUSAGE;
  }
  return JS_OK;
}

/* The model's parameters and buffers under CKPT_MODEL_PREFIX, for the run-state file:
 * Outs and Wants at o[0..s->n) / w[0..s->n), names built in arena a. */
static Status model_outs(const RtState *s, Arena *a, Out *o, Want *w, Diag *d) {
  for (int i = 0; i < s->n; i++) {
    const Param *p = s->g->params[i];
    bool i64 = s->off[i] == (size_t)-1;
    const char *name = arena_printf(a, "%s%s", CKPT_MODEL_PREFIX, p->qualname);
    if (!name) return diag_oom(d);
    if (o)
      o[i] = (Out){name, &p->type, i64 ? (const void *)&s->i64[i] : (const void *)(s->data + s->off[i]),
                   i64 ? 8 : s->numel[i] * sizeof(float), NULL};
    if (w) w[i] = (Want){name, &p->type, i64 ? NULL : s->data + s->off[i], i64 ? &s->i64[i] : NULL, NULL};
  }
  return JS_OK;
}

/* The metadata of an optimizer file: "optimizer", "step", then the caller's. */
static Status optim_meta(const char *path, const OptimState *st, const CkptMeta *meta, const char **mk,
                         const char **mv, char *step, int *nm, Diag *d) {
  SrcFile file = {.path = path};
  snprintf(step, 24, "%lld", (long long)st->step);
  *nm = 0;
  mk[*nm] = "optimizer", mv[(*nm)++] = rt_optim_name(st->kind);
  mk[*nm] = "step", mv[(*nm)++] = step;
  int extra = meta ? meta->n : 0;
  if (extra < 0 || extra > CKPT_MAX_META) {
    diag_error(d, (SrcLoc){&file, 0, 0}, "%d metadata entries (at most %d)", extra, CKPT_MAX_META);
    return JS_EUSAGE;
  }
  for (int i = 0; i < extra; i++) {
    if (strcmp(meta->keys[i], "optimizer") == 0 || strcmp(meta->keys[i], "step") == 0) {
      diag_error(d, (SrcLoc){&file, 0, 0}, "metadata key '%s' is reserved for the optimizer file", meta->keys[i]);
      return JS_EUSAGE;
    }
    mk[*nm] = meta->keys[i], mv[(*nm)++] = meta->vals[i];
  }
  return JS_OK;
}

/* The optimizer file, with the model's tensors first when with_model. */
static Status save_optim(const char *path, const RtState *s, const OptimState *st, const CkptMeta *meta,
                         bool with_model, Diag *d) {
  Status rc = optim_check(path, s, st, d);
  if (rc) return rc;
  const char *mk[CKPT_MAX_META + 2], *mv[CKPT_MAX_META + 2];
  char step[24];
  int nm;
  if ((rc = optim_meta(path, st, meta, mk, mv, step, &nm, d))) return rc;
  Arena *a = arena_new();
  if (!a) return diag_oom(d);
  const char **names;
  float **bufs;
  const TensorType **types;
  int n, nmod = with_model ? s->n : 0;
  Out *o = NULL;
  rc = optim_slots(s, st, a, &names, &bufs, &types, &n, d);
  if (!rc && !(o = arena_alloc(a, sizeof *o * (size_t)(n + nmod + 1)))) rc = diag_oom(d);
  if (!rc && with_model) rc = model_outs(s, a, o, NULL, d);
  for (int i = 0; i < n && !rc; i++)
    o[nmod + i] = (Out){names[i], types[i], bufs[i], (size_t)ir_type_numel(types[i]) * sizeof(float), NULL};
  if (!rc) rc = write_file(path, o, nmod + n, mk, mv, nm, d);
  arena_free(a);
  return rc;
}

Status rt_ckpt_save_optim(const char *path, const RtState *s, const OptimState *st, const CkptMeta *meta, Diag *d) {
  return save_optim(path, s, st, meta, false, d);
}

Status rt_ckpt_save_run_state(const char *path, const RtState *s, const OptimState *st, const CkptMeta *meta,
                              Diag *d) {
  return save_optim(path, s, st, meta, true, d);
}

/* A decimal step count: digits only, no sign, fits int64. */
static bool parse_step(const char *s, int64_t *out) {
  JVal v = {.kind = J_NUM, .str = s, .len = strlen(s)};
  uint64_t x;
  if (v.len > 1 && s[0] == '0') return false;
  if (!json_uint(&v, &x)) return false;
  *out = (int64_t)x;
  return true;
}

/* The optimizer file (and the model's tensors into s when with_model): every tensor is
 * matched before anything is read. */
static Status load_optim(const char *path, RtState *s, OptimState *st, Arena *a, CkptMeta *meta_out, bool with_model,
                         Diag *d) {
  Status rc = optim_check(path, s, st, d);
  if (rc) return rc;
  if (meta_out && !a) return JS_EUSAGE;
  Reader r;
  rc = reader_open(&r, path, d);
  const char *optim = NULL, *stepstr = NULL;
  if (!rc) {
    int extra = 0;
    for (int i = 0; r.meta && i < r.meta->n; i++) {
      const char *k = r.meta->keys[i];
      if (strcmp(k, "optimizer") == 0) optim = r.meta->items[i].str;
      else if (strcmp(k, "step") == 0) stepstr = r.meta->items[i].str;
      else extra++;
    }
    if (!optim) rc = diag_error(d, LOC(&r), "no 'optimizer' in the metadata: not an optimizer-state file");
    else if (strcmp(optim, rt_optim_name(st->kind)) != 0)
      rc = diag_error(d, LOC(&r), "optimizer state for '%.40s', but this run uses '%s'", optim, rt_optim_name(st->kind));
    else if (!stepstr) rc = diag_error(d, LOC(&r), "no 'step' in the metadata");
    else if (meta_out && extra > CKPT_MAX_META)
      rc = diag_error(d, LOC(&r), "%d metadata entries (at most %d)", extra, CKPT_MAX_META);
  }
  int64_t step = 0;
  if (!rc && !parse_step(stepstr, &step))
    rc = diag_error(d, LOC(&r), "corrupt metadata: step '%.40s' is not a non-negative integer", stepstr);
  const char **names = NULL;
  float **bufs = NULL;
  const TensorType **types = NULL;
  int n = 0;
  Want *w = NULL;
  if (!rc) rc = optim_slots(s, st, r.a, &names, &bufs, &types, &n, d);
  int nmod = with_model ? s->n : 0;
  if (!rc && !(w = arena_alloc(r.a, sizeof *w * (size_t)(n + nmod + 1)))) rc = diag_oom(d);
  if (!rc && with_model) rc = model_outs(s, r.a, NULL, w, d);
  for (int i = 0; i < n && !rc; i++) w[nmod + i] = (Want){names[i], types[i], bufs[i], NULL, NULL};
  if (!rc) rc = match_wants(&r, w, nmod + n, d);
  CkptMeta m = {0};
  if (!rc && meta_out) {
    for (int i = 0; r.meta && i < r.meta->n && !rc; i++) {
      const char *k = r.meta->keys[i];
      if (strcmp(k, "optimizer") == 0 || strcmp(k, "step") == 0) continue;
      m.keys[m.n] = arena_strdup(a, k);
      m.vals[m.n] = arena_strdup(a, r.meta->items[i].str);
      if (!m.keys[m.n] || !m.vals[m.n]) rc = diag_oom(d);
      m.n++;
    }
  }
  if (!rc) rc = read_wants(&r, w, nmod + n, d);
  if (!rc) {
    st->step = step;
    if (meta_out) *meta_out = m;
  }
  reader_close(&r);
  return rc;
}

Status rt_ckpt_load_optim(const char *path, const RtState *s, OptimState *st, Arena *a, CkptMeta *meta_out, Diag *d) {
  return load_optim(path, (RtState *)s, st, a, meta_out, false, d); /* s is only read: no model tensors */
}

Status rt_ckpt_load_run_state(const char *path, RtState *s, OptimState *st, Arena *a, CkptMeta *meta_out, Diag *d) {
  return load_optim(path, s, st, a, meta_out, true, d);
}
