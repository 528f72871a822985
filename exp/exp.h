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

/* ==== tboard.c: TensorBoard event files (scalars, the HParams tab) ====
 * One writer per run directory, used from one thread.  Every call after a failed write
 * returns that write's error (JS_EIO) without writing; tb_close still frees. */
typedef struct TbWriter TbWriter;

/* A hyper-parameter as the HParams tab shows it: a string, a number or a bool. */
typedef enum TbHparamKind { TB_HP_STRING, TB_HP_NUMBER, TB_HP_BOOL } TbHparamKind;
typedef struct TbHparam {
  const char *name;  /* the column name, e.g. "lr"; unique within one call */
  TbHparamKind kind; /* which of the three fields below holds the value */
  const char *str;   /* TB_HP_STRING */
  double num;        /* TB_HP_NUMBER */
  bool flag;         /* TB_HP_BOOL */
} TbHparam;

/* mkdir -p dir, then create dir/events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n> and
 * write its first event (file_version "brain.Event:2").  JS_EIO (reported with the path and
 * strerror) when the directory or the file cannot be made, JS_ENOMEM. */
Status tb_open(const char *dir, TbWriter **out, Diag *d);
const char *tb_path(const TbWriter *w); /* the event file's path */
/* A scalar for the Scalars tab (tag "train_loss", "val_acc", ...).  Queued in memory: the
 * file sees it at tb_flush, or earlier once 64 KiB are queued. */
Status tb_scalar(TbWriter *w, const char *tag, int64_t step, double wall_time, float value, Diag *d);
/* The HParams plugin's summaries for this run: the experiment (every hyper-parameter with
 * its type, and metric_tags, the scalar tags the tab shows as metrics), then the session
 * start with the hyper-parameters' values.  TensorBoard shows the first experiment it finds
 * in a log directory, so the runs of one sweep should declare the same hyper-parameters and
 * metrics.  JS_EUSAGE for a nameless or repeated hyper-parameter or an empty metric tag. */
Status tb_hparams_start(TbWriter *w, const TbHparam *hp, int n, const char *const *metric_tags, int nmetrics,
                        double wall_time, Diag *d);
/* The session end: status success (ok) or failure. */
Status tb_hparams_end(TbWriter *w, bool ok, double wall_time, Diag *d);
Status tb_flush(TbWriter *w, Diag *d); /* write what is queued, then fsync: once per epoch */
Status tb_close(TbWriter *w, Diag *d); /* flush, close, free (w NULL: nothing); a failed writer's error again */
/* CRC32C (Castagnoli), chained: tb_crc32c(tb_crc32c(0, a, n), b, m) is the CRC of a then b. */
uint32_t tb_crc32c(uint32_t crc, const void *data, size_t n);
uint32_t tb_crc_mask(uint32_t crc); /* TFRecord's masking of a stored CRC */

#endif
