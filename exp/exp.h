/* exp/exp.h — the experiments layer's table of contents.
 *
 * What spans many runs: sweeps over training options (the trial list, the journal that is
 * their only source of truth, the worker threads and MPI ranks that run them, results.csv),
 * the HTML report and its figures, and TensorBoard event files.  The layer sits above
 * runtime/ (it calls rt_train and rt_test for every trial) and below tools/; spec/sweep.md
 * is its reference.
 *
 * As everywhere: functions that can fail return a Status and report through a Diag; none
 * exits; all memory goes through ir_malloc/ir_free.
 *
 * Prototypes are grouped under the name of the .c file that defines them.
 */
#ifndef JSCC_EXP_H
#define JSCC_EXP_H

#include "runtime.h"

/* ==== report.c: run and sweep directories read into an ExpStudy; report.html ====
 * A study is what one report shows: the trials of a sweep directory (sweep.json, results.csv
 * and each trial's metrics.csv), or one trial per run directory given (manifest.json,
 * metrics.csv; the hyper-parameters that differ between them become its axes). */

/* results.csv's numeric columns (spec/sweep.md 2.3): id, name, whether higher is better. */
#define EXP_RESULT_COLS(X)                             \
  X(BEST_EPOCH, "best_epoch", false)                   \
  X(BEST_VAL_LOSS, "best_val_loss", false)             \
  X(BEST_VAL_ACC, "best_val_acc", true)                \
  X(FINAL_TRAIN_ACC, "final_train_acc", true)          \
  X(FINAL_VAL_ACC, "final_val_acc", true)              \
  X(TEST_ACC, "test_acc", true)                        \
  X(TEST_ACC_MACRO, "test_acc_macro", true)            \
  X(MEAN_EPOCH_SECONDS, "mean_epoch_seconds", false)   \
  X(SAMPLES_PER_SECOND, "samples_per_second", true)    \
  X(PARAMS, "trainable_params", false)
typedef enum ExpCol {
#define X(id, name, up) EXP_COL_##id,
  EXP_RESULT_COLS(X)
#undef X
  EXP_NCOLS
} ExpCol;
const char *exp_col_name(ExpCol c);
bool exp_col_higher_better(ExpCol c);
/* --metric NAME: a column's name, or val_acc / train_acc (the last epoch's); false if unknown. */
bool exp_metric_parse(const char *name, ExpCol *out);

/* One run's metrics.csv: row i is epoch i + 1.  Non-finite values are kept (a diverged run). */
typedef struct ExpCurve {
  int n;                 /* finished epochs */
  double *train_loss;    /* [n] */
  double *train_acc;     /* [n] */
  double *val_loss;      /* [n] */
  double *val_acc;       /* [n] */
  double *epoch_seconds; /* [n]; NAN when the column is absent */
} ExpCurve;

/* One swept option. */
typedef struct ExpAxis {
  const char *name;    /* "batch_size" */
  const char *option;  /* "--batch-size" */
  int nvalues;
  const char **values; /* [nvalues] as given on the command line, in sweep order */
} ExpAxis;

typedef struct ExpTrial {
  int id;                /* sweep.json's trial id; a run directory's position among the arguments */
  const char *dir;       /* its run directory, as opened */
  const char *model;     /* the model's name */
  const char **values;   /* [naxes] its value on each axis */
  int argc;              /* the jscc train command that reproduces it (may be 0: unknown) */
  const char **argv;     /* [argc] */
  const char *status;    /* ok, diverged, failed; pending or running while unfinished */
  const char *error;     /* a failed trial's message, or NULL */
  double res[EXP_NCOLS]; /* results.csv's numbers (computed for run directories); NAN: none */
  ExpCurve curve;        /* metrics.csv (n = 0 before the first epoch) */
  int point;             /* index into ExpStudy.points */
} ExpTrial;

/* Trials that differ only in their seed: one point of the grid, reported as mean +- std. */
typedef struct ExpPoint {
  int ntrials;
  int *trials;           /* [ntrials] indices into ExpStudy.trials, in trial order */
} ExpPoint;

typedef struct ExpStudy {
  Arena *arena;          /* owns everything below */
  bool sweep;            /* a sweep directory (else run directories) */
  const char *dir;       /* the sweep directory, or the first run directory */
  const char *command;   /* sweep.json's command, or the only run's; NULL when several runs */
  const char *data;      /* what was trained on (a manifest's data description); NULL: unknown */
  int nmodels;
  const char **models;   /* [nmodels] names */
  const char **model_paths; /* [nmodels] the .jsc files (NULL entries: unknown) */
  int nfixed;
  const char **fixed;    /* [nfixed] options every trial shares (sweep.json's "fixed") */
  int naxes;
  ExpAxis *axes;         /* [naxes] */
  int seed_axis;         /* index of the seed axis, -1 when none */
  int ntrials;
  ExpTrial *trials;      /* [ntrials] in trial order */
  int npoints;
  ExpPoint *points;      /* [npoints] */
} ExpStudy;

/* One sweep directory, or one or more run directories.  Input errors name the file, line
 * and field; nothing is written. */
Status exp_study_load(const char *const *dirs, int ndirs, ExpStudy **out, Diag *d);
void exp_study_free(ExpStudy *s);
int exp_axis_find(const ExpStudy *s, const char *name); /* -1 when absent */
/* order[ntrials]: finished (ok) trials by col, best first, then the rest; ties by id. */
void exp_rank(const ExpStudy *s, ExpCol col, int *order);
/* The best ok trial by col, or -1. */
int exp_best(const ExpStudy *s, ExpCol col);
/* Mean and sample standard deviation of col over a point's ok trials; returns how many had
 * a value (mean NAN when none, std NAN below two). */
int exp_point_stat(const ExpStudy *s, int point, ExpCol col, double *mean, double *std);
/* s as HTML text: & < > " ' as entities (invalid UTF-8 as U+FFFD). */
void sb_put_html(StrBuf *sb, const char *s);

/* A figure of the report, drawn by plot.c. */
typedef struct ExpFigure {
  const char *name;      /* file stem: figures/NAME.svg and figures/NAME.png */
  const char *title;     /* the heading above it */
  const char *caption;   /* what it shows and for which slice of the other axes */
  const char *svg;       /* the SVG bytes, inlined into the page */
  size_t svg_len;
} ExpFigure;

typedef struct ExpReportOpts {
  const char *out;       /* the output directory; NULL: the sweep, or the first run directory */
  ExpCol metric;         /* the ranking (default final_val_acc) */
  bool no_figures;       /* tables only (as in a build without PLplot) */
} ExpReportOpts;
void exp_report_opts_default(ExpReportOpts *o);
/* The page: header, ranked results, seed summary, figures (nfigs may be 0: `note` says why),
 * commands.  Deterministic: no times, no absolute paths beyond those given. */
void exp_report_html(StrBuf *sb, const ExpStudy *s, const ExpReportOpts *o, const ExpFigure *figs,
                     int nfigs, const char *note);
/* Load, draw the figures (OUT/figures/), write OUT/report.html atomically. */
Status exp_report(const char *const *dirs, int ndirs, const ExpReportOpts *o, Diag *d);

/* ==== plot.c: the report's figures through PLplot ====
 * Each figure is written as OUT/NAME.svg (svgcairo) and OUT/NAME.png (pngcairo) on a fixed
 * page, so the bytes depend only on the study.  PLplot keeps global state and is not
 * thread-safe: calls are serialized by a lock inside plot.c. */
bool exp_plot_available(void); /* false in a build without PLplot */
/* The figures the study's axes allow (a figure whose axes are not swept is left out), into
 * *figs (owned by s->arena); `best` picks the slice of the axes a figure does not show. */
Status exp_plot_figures(const ExpStudy *s, int best, const char *figdir, ExpFigure **figs, int *nfigs,
                        Diag *d);

#endif
