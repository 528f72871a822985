/* runtime/hdf5.c — the CERN JSC file (processed-pythia82-...-truth.z, HDF5 despite the suffix).
 *
 * One compound dataset, t_allpar_new, one row per jet constituent.  We ask HDF5 for just the
 * 21 fields we need through a memory compound type of doubles (HDF5 converts by field name,
 * whatever the file's types), a bounded block of rows at a time, and hand each row to the
 * deduplicating row table.  h5py wrote the file with its LZF filter (id 32000), which
 * libhdf5 does not ship, so the decompressor is here, written from liblzf's format.
 * Every HDF5 call goes through a check that reports the call, the file and HDF5's own error
 * stack; HDF5's automatic stack printing is off while we work. */
#include <math.h>
#include <sys/stat.h>
#include <string.h>

#include "runtime.h"

/* LZF is a byte stream of two kinds of items, told apart by the top 3 bits of a control
 * byte c:
 *   c < 32          a literal run: the next c + 1 bytes are copied;
 *   c >> 5 = L > 0  a back reference of L + 2 bytes (L == 7: add the next byte to L),
 *                   starting ((c & 31) << 8 | next byte) + 1 bytes back in the output;
 *                   it may overlap what it produces, so it copies byte by byte. */
size_t rt_lzf_decompress(const uint8_t *in, size_t n_in, uint8_t *out, size_t cap) {
  size_t ip = 0, op = 0;
  while (ip < n_in) {
    unsigned c = in[ip++];
    if (c < 32) {
      size_t len = (size_t)c + 1;
      if (len > n_in - ip || len > cap - op) return 0;
      memcpy(out + op, in + ip, len);
      ip += len;
      op += len;
      continue;
    }
    size_t len = c >> 5;
    if (len == 7) {
      if (ip >= n_in) return 0;
      len += in[ip++];
    }
    if (ip >= n_in) return 0;
    size_t back = ((size_t)(c & 31) << 8 | in[ip++]) + 1;
    len += 2;
    if (back > op || len > cap - op) return 0;
    for (size_t k = 0; k < len; k++, op++) out[op] = out[op - back];
  }
  return op;
}

#ifdef JSCC_HAVE_HDF5
#include <hdf5.h>

#define LZF_FILTER 32000 /* h5py's registered id */
#define DATASET "t_allpar_new"
enum { NFIELDS = RT_JSC_FEATURES + RT_JSC_CLASSES };
static const char *const onehot_names[RT_JSC_CLASSES] = {"j_g", "j_q", "j_w", "j_z", "j_t"};

static const char *field_name(int k) {
  return k < RT_JSC_FEATURES ? rt_jsc_feature_names[k] : onehot_names[k - RT_JSC_FEATURES];
}

/* h5py's filter keeps the chunk's uncompressed size in cd_values[2]; without it, grow the
 * buffer until the chunk fits.  HDF5 owns the chunk buffers, so they come from its allocator. */
static size_t lzf_filter(unsigned flags, size_t cd_nelmts, const unsigned cd_values[], size_t nbytes,
                         size_t *buf_size, void **buf) {
  if (!(flags & H5Z_FLAG_REVERSE)) return 0; /* jscc only reads LZF */
  bool known = cd_nelmts >= 3 && cd_values[2] != 0;
  size_t cap = known ? cd_values[2] : nbytes * 4 + 64;
  for (;;) {
    void *out = H5allocate_memory(cap, false);
    if (!out) return 0;
    size_t got = rt_lzf_decompress(*buf, nbytes, out, cap);
    if (got) {
      H5free_memory(*buf);
      *buf = out;
      *buf_size = cap;
      return got;
    }
    H5free_memory(out);
    if (known || cap > ((size_t)1 << 30)) return 0;
    cap *= 2;
  }
}

static const H5Z_class2_t lzf_class = {
  H5Z_CLASS_T_VERS, LZF_FILTER, 0 /* no encoder */, 1, "lzf (jscc)", NULL, NULL, lzf_filter,
};

/* What a check needs to report a failure. */
typedef struct H5Ctx {
  SrcFile sf; /* the file's path, for messages */
  Diag *d;
} H5Ctx;

/* The outermost and innermost messages of HDF5's error stack ("unable to open file" and
 * "truncated file: eof = ..."), which together say what and why. */
typedef struct StackMsg {
  char first[256], last[256], minor[128];
  unsigned n;
} StackMsg;

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data) {
  StackMsg *m = data;
  if (n == 0) snprintf(m->first, sizeof m->first, "%s", e->desc ? e->desc : "");
  snprintf(m->last, sizeof m->last, "%s", e->desc ? e->desc : "");
  if (H5Eget_msg(e->min_num, NULL, m->minor, sizeof m->minor) < 0) m->minor[0] = 0;
  m->n = n + 1;
  return 0;
}

static Status h5_fail(H5Ctx *c, const char *call) {
  StackMsg m = {.n = 0};
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_cb, &m);
  H5Eclear2(H5E_DEFAULT);
  SrcLoc at = {&c->sf, 0, 0};
  if (m.n == 0) return diag_error(c->d, at, "%s failed (HDF5 gave no reason)", call);
  if (m.n == 1 || strcmp(m.first, m.last) == 0)
    return diag_error(c->d, at, "%s failed: %s (%s)", call, m.last, m.minor);
  return diag_error(c->d, at, "%s failed: %s: %s (%s)", call, m.first, m.last, m.minor);
}

/* The checked wrappers: an id or status below zero is reported; the caller unwinds. */
static bool h5id(H5Ctx *c, hid_t id, const char *call) {
  return id >= 0 || (h5_fail(c, call), false);
}
static bool h5ok(H5Ctx *c, herr_t r, const char *call) {
  return r >= 0 || (h5_fail(c, call), false);
}

/* "the file has: a, b, c" for a message about a missing dataset. */
static void list_root(hid_t file, char *buf, size_t cap) {
  H5G_info_t info;
  buf[0] = 0;
  if (H5Gget_info(file, &info) < 0) return;
  size_t len = 0;
  for (hsize_t i = 0; i < info.nlinks && i < 8 && len + 4 < cap; i++) {
    char name[64];
    if (H5Lget_name_by_idx(file, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT) < 0)
      break;
    len += (size_t)snprintf(buf + len, cap - len, "%s'%s'", i ? ", " : "", name);
  }
  if (info.nlinks > 8 && len + 8 < cap) snprintf(buf + len, cap - len, ", ...");
  H5Eclear2(H5E_DEFAULT);
}

/* The opened objects, closed in one place whatever the outcome. */
typedef struct H5Objs {
  hid_t file, dapl, dset, ftype, space, mtype, dcpl, mspace;
} H5Objs;

static Status read_rows(H5Ctx *c, const char *path, H5Objs *o, RtJscRows *rows) {
  SrcLoc at = {&c->sf, 0, 0};
  if (!h5id(c, o->file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen")) return JS_ERR;
  htri_t has = H5Lexists(o->file, DATASET, H5P_DEFAULT);
  if (!h5ok(c, has, "H5Lexists")) return JS_ERR;
  if (!has) {
    char names[512];
    list_root(o->file, names, sizeof names);
    return diag_error(c->d, at, "no dataset '" DATASET "' (the file has %s)", names[0] ? names : "nothing");
  }
  /* A chunk cache large enough that reading a block of rows decompresses each chunk once. */
  if (!h5id(c, o->dapl = H5Pcreate(H5P_DATASET_ACCESS), "H5Pcreate") ||
      !h5ok(c, H5Pset_chunk_cache(o->dapl, 12421, (size_t)64 << 20, 1.0), "H5Pset_chunk_cache") ||
      !h5id(c, o->dset = H5Dopen2(o->file, DATASET, o->dapl), "H5Dopen2") ||
      !h5id(c, o->ftype = H5Dget_type(o->dset), "H5Dget_type"))
    return JS_ERR;
  if (H5Tget_class(o->ftype) != H5T_COMPOUND)
    return diag_error(c->d, at, "dataset '" DATASET "' is not a compound (table) dataset");
  for (int k = 0; k < NFIELDS; k++) {
    int idx = H5Tget_member_index(o->ftype, field_name(k));
    if (idx < 0) {
      H5Eclear2(H5E_DEFAULT);
      return diag_error(c->d, at, "dataset '" DATASET "' has no field '%s'", field_name(k));
    }
    H5T_class_t cls = H5Tget_member_class(o->ftype, (unsigned)idx);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT)
      return diag_error(c->d, at, "field '%s' of '" DATASET "' is not a number", field_name(k));
    /* a number of more than 16 bytes is a corrupt type that libhdf5 would try to convert */
    hid_t mt = H5Tget_member_type(o->ftype, (unsigned)idx);
    size_t msize = mt >= 0 ? H5Tget_size(mt) : 0;
    if (mt >= 0) H5Tclose(mt);
    if (msize == 0 || msize > 16)
      return diag_error(c->d, at, "field '%s' of '" DATASET "' is a %zu-byte number: the file is corrupt", field_name(k), msize);
  }
  if (!h5id(c, o->space = H5Dget_space(o->dset), "H5Dget_space")) return JS_ERR;
  int rank = H5Sget_simple_extent_ndims(o->space);
  if (!h5ok(c, rank, "H5Sget_simple_extent_ndims")) return JS_ERR;
  if (rank != 1) return diag_error(c->d, at, "dataset '" DATASET "' has %d dimensions, expected 1", rank);
  hsize_t nrows;
  if (!h5ok(c, H5Sget_simple_extent_dims(o->space, &nrows, NULL), "H5Sget_simple_extent_dims"))
    return JS_ERR;

  /* A corrupt file can claim absurd sizes that libhdf5 would try to allocate: a record of
   * more than 64 KiB, or more rows than any JSC file, is refused before reading. */
  size_t rec = H5Tget_size(o->ftype);
  if (rec == 0 || rec > ((size_t)1 << 16))
    return diag_error(c->d, at, "dataset '" DATASET "' has records of %zu bytes: the file is corrupt", rec);
  if (nrows > (hsize_t)RT_JSC_MAX_ROWS)
    return diag_error(c->d, at, "dataset '" DATASET "' claims %llu rows: the file is corrupt", (unsigned long long)nrows);
  if (!h5id(c, o->dcpl = H5Dget_create_plist(o->dset), "H5Dget_create_plist")) return JS_ERR;
  if (H5Pget_layout(o->dcpl) != H5D_CHUNKED) { /* uncompressed: the rows must fit in the file */
    struct stat fst;
    if (stat(path, &fst) == 0 && (double)nrows * (double)rec > (double)fst.st_size)
      return diag_error(c->d, at, "dataset '" DATASET "' claims %llu rows of %zu bytes, more than the file holds: truncated or corrupt",
                        (unsigned long long)nrows, rec);
  }
  if (!h5id(c, o->mtype = H5Tcreate(H5T_COMPOUND, NFIELDS * sizeof(double)), "H5Tcreate")) return JS_ERR;
  for (int k = 0; k < NFIELDS; k++)
    if (!h5ok(c, H5Tinsert(o->mtype, field_name(k), (size_t)k * sizeof(double), H5T_NATIVE_DOUBLE),
              "H5Tinsert"))
      return JS_ERR;

  /* Blocks of whole chunks, about 64 Ki rows (11 MB of doubles). */
  hsize_t block = 65536;
  if (H5Pget_layout(o->dcpl) == H5D_CHUNKED) {
    hsize_t chunk = 0;
    if (H5Pget_chunk(o->dcpl, 1, &chunk) == 1 && chunk > 0 && chunk <= ((hsize_t)1 << 20))
      block = (block + chunk - 1) / chunk * chunk;
  }
  H5Eclear2(H5E_DEFAULT);
  if (block > nrows) block = nrows ? nrows : 1;
  double *buf = ir_malloc((size_t)block * NFIELDS * sizeof *buf);
  if (!buf) return diag_oom(c->d);
  Status st = JS_OK;
  for (hsize_t start = 0; start < nrows && !st; start += block) {
    hsize_t cnt = nrows - start < block ? nrows - start : block;
    if (!h5ok(c, H5Sselect_hyperslab(o->space, H5S_SELECT_SET, &start, NULL, &cnt, NULL),
              "H5Sselect_hyperslab") ||
        !h5id(c, o->mspace = H5Screate_simple(1, &cnt, NULL), "H5Screate_simple") ||
        !h5ok(c, H5Dread(o->dset, o->mtype, o->mspace, o->space, H5P_DEFAULT, buf), "H5Dread")) {
      st = JS_ERR;
      break;
    }
    H5Sclose(o->mspace);
    o->mspace = -1;
    for (hsize_t i = 0; i < cnt && !st; i++) {
      const double *r = buf + i * NFIELDS;
      for (int k = 0; k < NFIELDS; k++)
        if (!isfinite(r[k]) || (k < RT_JSC_FEATURES && fabs(r[k]) > RT_JSC_MAX_ABS)) {
          st = diag_error(c->d, at, "row %llu: field '%s' is %s", (unsigned long long)(start + i), field_name(k),
                          isfinite(r[k]) ? "out of range" : "not a finite number");
          break;
        }
      if (st) break;
      /* The class is the argmax of the one-hot fields, the first on ties, like numpy's. */
      int32_t y = 0;
      for (int k = 1; k < RT_JSC_CLASSES; k++)
        if (r[RT_JSC_FEATURES + k] > r[RT_JSC_FEATURES + y]) y = k;
      if (!(r[RT_JSC_FEATURES + y] > 0)) {
        st = diag_error(c->d, at, "row %llu: no class (j_g, j_q, j_w, j_z and j_t are all zero)",
                        (unsigned long long)(start + i));
        break;
      }
      Status a = rt_jsc_rows_add(rows, r, y);
      if (a == JS_ENOMEM) st = diag_oom(c->d);
      else if (a) st = diag_error(c->d, at, "more than %lld unique rows", (long long)RT_JSC_MAX_ROWS);
    }
  }
  ir_free(buf);
  return st;
}

Status rt_jsc_read_hdf5(const char *path, RtJscRows *rows, Diag *d) {
  H5Ctx c = {{path, NULL, 0}, d};
  /* HDF5 prints its error stack to stderr by default; we report it ourselves.  The previous
   * handler is restored for whoever else uses the library in this process. */
  H5E_auto2_t old_fn = NULL;
  void *old_data = NULL;
  H5Eget_auto2(H5E_DEFAULT, &old_fn, &old_data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  Status st = JS_ERR;
  H5Objs o = {-1, -1, -1, -1, -1, -1, -1, -1};
  if (H5Zfilter_avail(LZF_FILTER) > 0 || h5ok(&c, H5Zregister(&lzf_class), "H5Zregister"))
    st = read_rows(&c, path, &o, rows);
  if (o.mspace >= 0) H5Sclose(o.mspace);
  if (o.dcpl >= 0) H5Pclose(o.dcpl);
  if (o.mtype >= 0) H5Tclose(o.mtype);
  if (o.space >= 0) H5Sclose(o.space);
  if (o.ftype >= 0) H5Tclose(o.ftype);
  if (o.dset >= 0) H5Dclose(o.dset);
  if (o.dapl >= 0) H5Pclose(o.dapl);
  if (o.file >= 0) H5Fclose(o.file);
  H5Eclear2(H5E_DEFAULT);
  H5Eset_auto2(H5E_DEFAULT, old_fn, old_data);
  return st;
}

#else

Status rt_jsc_read_hdf5(const char *path, RtJscRows *rows, Diag *d) {
  (void)rows;
  SrcFile sf = {path, NULL, 0};
  return diag_error(d, (SrcLoc){&sf, 0, 0},
                    "this is an HDF5 file, but jscc was built without HDF5 support "
                    "(install libhdf5-dev and rebuild, or use the OpenML CSV/ARFF export)");
}

#endif
