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

#endif
