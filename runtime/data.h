/* runtime/data.h — the JSC data set (included by runtime.h; implemented in data.c, hdf5.c).
 *
 * Three sources give the same thing, a standardised train / validation / test split of
 * 16 float features and a class index in 0..4 (g, q, w, z, t):
 *   - the CERN HDF5 file MASE and LogicNets use (compound dataset t_allpar_new),
 *   - the OpenML hls4ml_lhc_jets_hlf export (CSV or ARFF),
 *   - the bundled deterministic synthetic generator (../shared/data/jsc/README.md recipe).
 * Preprocessing follows MASE (drop duplicate rows, 80/20 split with a fixed seed as sklearn's
 * train_test_split(random_state=42) does, StandardScaler fitted on the training part), plus a
 * held-out validation split taken from the training part (MASE validates on its training data;
 * jscc does not).  The result is cached in a binary file that later loads mmap. */
#ifndef JSCC_RUNTIME_DATA_H
#define JSCC_RUNTIME_DATA_H

#define RT_JSC_FEATURES 16
#define RT_JSC_CLASSES 5

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
  uint64_t split_seed;   /* train/test split seed (default 42, MASE's) */
  double test_frac;      /* default 0.2 */
  double val_frac;       /* fraction of the training part held out for validation (default 0.05) */
  const char *cache_dir; /* NULL: $JSCC_CACHE_DIR, else $XDG_CACHE_HOME/jscc, else ~/.cache/jscc */
  bool no_cache;         /* neither read nor write the cache */
} RtDataOpts;
void rt_data_opts_default(RtDataOpts *o);

typedef struct RtDataset {
  RtSplit train, val, test;
  bool synthetic;           /* the bundled synthetic stand-in, not real data */
  char desc[256];           /* one line for run output: "synthetic JSC stand-in (seed 0, ...)" */
  uint64_t hash;            /* content hash of the splits, for run manifests */
  float mean[RT_JSC_FEATURES], scale[RT_JSC_FEATURES]; /* the fitted StandardScaler */
  int64_t n_raw, n_unique;  /* rows read, rows after dropping duplicates */
  bool from_cache;          /* this load was served by the cache */
  void *impl;               /* owned storage (heap or mmap) */
} RtDataset;
Status rt_data_load(const RtDataOpts *o, RtDataset *out, Diag *d);
void rt_data_free(RtDataset *ds);

extern const char *const rt_jsc_feature_names[RT_JSC_FEATURES]; /* "j_zlogz", ... */
extern const char *const rt_jsc_class_names[RT_JSC_CLASSES];    /* "g", "q", "w", "z", "t" */

#endif
