/* exp/tbrun.c — a training run's TensorBoard log: its hyper-parameters for the HParams tab
 * when it starts, each epoch's scalars under MASE's names (train_loss_epoch, val_acc_epoch,
 * ...: a MASE user's dashboards keep working), and the session's end.
 *
 * Every run of a sweep declares the same hyper-parameters (the usual training options, not
 * only the swept ones), because TensorBoard reads the first experiment it finds in a log
 * directory and compares runs by its columns. */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "exp.h"

struct ExpTbRun {
  TbWriter *w;
};

static double wall(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + 1e-6 * (double)tv.tv_usec;
}

static const char *const metrics[] = {"train_loss_epoch", "train_acc_epoch", "val_loss_epoch", "val_acc_epoch"};

static Status hparams(TbWriter *w, const RtTrainConfig *c, Diag *d) {
  TbHparam hp[] = {
      {"model", TB_HP_STRING, c->fwd ? c->fwd->name : "?", 0, false},
      {"batch_size", TB_HP_NUMBER, NULL, (double)c->batch_size, false},
      {"lr", TB_HP_NUMBER, NULL, c->optim.lr, false},
      {"max_epochs", TB_HP_NUMBER, NULL, (double)c->max_epochs, false},
      {"optimizer", TB_HP_STRING, rt_optim_name(c->optim.kind), 0, false},
      {"weight_decay", TB_HP_NUMBER, NULL, c->optim.weight_decay, false},
      {"scheduler", TB_HP_STRING, rt_sched_name(c->sched.kind), 0, false},
      {"seed", TB_HP_NUMBER, NULL, (double)c->seed, false},
  };
  return tb_hparams_start(w, hp, (int)(sizeof hp / sizeof *hp), metrics, 4, wall(), d);
}

Status exp_tb_run_open(const char *dir, const RtTrainConfig *c, ExpTbRun **out, Diag *d) {
  ExpTbRun *r = ir_calloc(1, sizeof *r);
  if (!r) return diag_oom(d);
  Status st = tb_open(dir, &r->w, d);
  if (!st) st = hparams(r->w, c, d);
  if (!st) st = tb_flush(r->w, d);
  if (st) {
    tb_close(r->w, NULL);
    ir_free(r);
    return st;
  }
  *out = r;
  return JS_OK;
}

Status exp_tb_run_epoch(ExpTbRun *r, const RtEpochInfo *e, Diag *d) {
  double t = wall(), v[] = {e->train_loss, e->train_acc, e->val_loss, e->val_acc};
  Status st = JS_OK;
  for (int k = 0; k < 4 && !st; k++) st = tb_scalar(r->w, metrics[k], e->epoch, t, (float)v[k], d);
  if (!st) st = tb_scalar(r->w, "lr", e->epoch, t, (float)e->lr, d);
  if (!st) st = tb_scalar(r->w, "epoch_seconds", e->epoch, t, (float)e->epoch_seconds, d);
  return st ? st : tb_flush(r->w, d);
}

Status exp_tb_run_close(ExpTbRun *r, bool ok, Diag *d) {
  if (!r) return JS_OK;
  Status st = tb_hparams_end(r->w, ok, wall(), d);
  Status cst = tb_close(r->w, st ? NULL : d);
  ir_free(r);
  return st ? st : cst;
}

/* ---- as an epoch hook: TensorBoard, then whatever hook was there ---- */

Status exp_tb_hook(void *ud, const RtEpochInfo *e, Diag *d) {
  ExpTbHook *h = ud;
  Status st = exp_tb_run_epoch(h->run, e, d);
  if (!st && h->next) st = h->next(h->next_ud, e, d);
  return st;
}
