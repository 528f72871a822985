/* runtime/data.h — the JSC data set (included by runtime.h; implemented in data.c, synth.c,
 * hdf5.c).
 *
 * Three sources give the same thing, a standardised train / validation / test split of
 * 16 float features and a class index in 0..4 (g, q, w, z, t):
 *   - the CERN HDF5 file MASE and LogicNets use (compound dataset t_allpar_new),
 *   - the OpenML hls4ml_lhc_jets_hlf export (CSV or ARFF),
 *   - the bundled deterministic synthetic generator (../shared/data/jsc/README.md recipe).
 * The format is recognised by content, not by the file's suffix.  CSV and ARFF may start with a
 * UTF-8 byte order mark (spreadsheets write one); a CSV whose header has ';' between its
 * names and no ',' is refused with a hint (jscc reads comma-separated values).
 * Preprocessing follows MASE (drop duplicate rows, 80/20 split with a fixed seed as sklearn's
 * train_test_split(random_state=42) does, StandardScaler fitted on the training part), plus a
 * held-out validation split taken from the training part (MASE validates on its training data;
 * jscc does not).  The result is cached in a binary file that later loads mmap. */
#ifndef JSCC_RUNTIME_DATA_H
#define JSCC_RUNTIME_DATA_H

#define RT_JSC_FEATURES 16
#define RT_JSC_CLASSES 5
/* A feature value beyond this magnitude is refused as corrupt: no jet feature comes near it,
 * and standardising squares it (1e300 would overflow to inf). */
#define RT_JSC_MAX_ABS 1e15
#define RT_JSC_MAX_ROWS (INT64_C(1) << 31) /* unique rows; more is refused, not allocated */

/* ==== data.c: loading, preprocessing and the cache ==== */

/* One split: n rows of RT_JSC_FEATURES standardised features (row-major) and labels. */
typedef struct RtSplit {
  int64_t n;
  const float *x;   /* [n][16] */
  const int32_t *y; /* [n] class index 0..4 */
} RtSplit;

typedef struct RtDataOpts {
  const char *path;      /* HDF5, CSV or ARFF file; NULL for the synthetic generator */
  int64_t synth_n;       /* synthetic: jets before the split (default 830000, OpenML's size) */
  uint64_t synth_seed;   /* synthetic: generator seed (default 0) */
  uint64_t split_seed;   /* train/test split seed, numpy's RandomState (default 42, MASE's);
                            < 2^32 as numpy requires */
  double test_frac;      /* in (0, 1); test rows = ceil(test_frac * n) (default 0.2) */
  double val_frac;       /* in [0, 1): validation rows = ceil(val_frac * training rows)
                            (default 0.05) */
  const char *cache_dir; /* NULL: $JSCC_CACHE_DIR, else $XDG_CACHE_HOME/jscc, else ~/.cache/jscc */
  bool no_cache;         /* neither read nor write the cache */
} RtDataOpts;
void rt_data_opts_default(RtDataOpts *o);

typedef struct RtDataset {
  RtSplit train, val, test;
  bool synthetic;           /* the bundled synthetic stand-in, not real data */
  char desc[256];           /* one line for run output: "SYNTHETIC JSC stand-in (seed 0, ...)" */
  uint64_t hash;            /* content hash of the splits, for run manifests */
  float mean[RT_JSC_FEATURES], scale[RT_JSC_FEATURES]; /* the fitted StandardScaler:
                                                           x = (raw - mean) / scale */
  int64_t n_raw, n_unique;  /* rows read, rows after dropping duplicates */
  bool from_cache;          /* this load was served by the cache */
  void *impl;               /* owned storage (heap or mmap) */
} RtDataset;
/* Load (from the cache when it holds this source and these options) or build.  A cache that
 * cannot be written is a warning, not an error.  On failure *out is empty (rt_data_free is
 * still safe). */
Status rt_data_load(const RtDataOpts *o, RtDataset *out, Diag *d);
void rt_data_free(RtDataset *ds);

extern const char *const rt_jsc_feature_names[RT_JSC_FEATURES]; /* "j_zlogz", ... */
extern const char *const rt_jsc_class_names[RT_JSC_CLASSES];    /* "g", "q", "w", "z", "t" */

/* numpy's legacy np.random.RandomState(seed).permutation(n): MT19937 seeded by init_genrand,
 * Fisher-Yates from the top with masked rejection draws.  idx gets n entries. */
void rt_np_permutation(uint32_t seed, int64_t *idx, int64_t n);

/* The cache file a load with these options would use (NULL source: the synthetic one is
 * keyed by its parameters).  Reports unreadable sources; JS_EUSAGE without a cache dir. */
Status rt_data_cache_path(const RtDataOpts *o, char *buf, size_t cap, Diag *d);

/* Raw rows as the readers hand them over: duplicates are dropped as rows arrive, keeping
 * the first occurrence, so memory follows the unique rows.  Rows are equal when all 16
 * features and the class are (-0.0 equals 0.0; readers refuse NaN and infinities). */
typedef struct RtJscRows {
  double *x;       /* [cap][16] features of the unique rows, in first-seen order */
  int32_t *y;      /* [cap] class index */
  int64_t n;       /* unique rows so far */
  int64_t cap;     /* rows allocated */
  int64_t n_raw;   /* rows offered, duplicates included */
  uint64_t *slots; /* open-addressing set: row index + 1 (low 32 bits) and the row hash's
                      top 32 bits; 0 for an empty slot */
  uint64_t nslots; /* a power of two, at least twice n */
} RtJscRows;
void rt_jsc_rows_init(RtJscRows *r);
void rt_jsc_rows_free(RtJscRows *r);
/* JS_ENOMEM (unreported), or JS_EUSAGE past RT_JSC_MAX_ROWS unique rows. */
Status rt_jsc_rows_add(RtJscRows *r, const double f[RT_JSC_FEATURES], int32_t y);

/* ==== synth.c: the synthetic stand-in ==== */

/* n jets drawn for `seed` (../shared/data/jsc/README.md): exact class counts in the real
 * proportions, an apparent class from the mixed confusion matrix, features from that class's
 * per-feature histograms through a one-factor Gaussian copula (correlation 0.8), narrow W, Z
 * and top mass peaks.  Raw (unscaled) features.  Deterministic for a seed. */
void rt_jsc_synth(int64_t n, uint64_t seed,
                  float *x,   /* out [n][16] */
                  int32_t *y  /* out [n] */);

/* ==== hdf5.c: the CERN HDF5 file ==== */

/* Append the rows of the compound dataset t_allpar_new (16 feature fields, class = argmax of
 * j_g..j_t), read in bounded chunks; LZF-compressed files (h5py's filter 32000) included.
 * Without libhdf5 this reports that jscc was built without HDF5. */
Status rt_jsc_read_hdf5(const char *path, RtJscRows *rows, Diag *d);
/* LZF (liblzf's format) into out[cap]: the decompressed size, or 0 when the input is
 * malformed or does not fit.  Always built, so it is tested without libhdf5. */
size_t rt_lzf_decompress(const uint8_t *in, size_t n_in, uint8_t *out, size_t cap);

#endif
