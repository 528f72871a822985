/* runtime/intexec.h — integer-only inference (included by runtime.h; intexec.c).
 *
 * A quantized forward graph runs on integers only (spec/quant.md §5): codegen/intprog.c lowers
 * it to an integer program, which runs here in plain C (int64, row by row: the reference) or
 * as the JIT-compiled kernel of codegen/intllvm.c (vectors over rows).  The two agree bit for
 * bit, and with the fake-quant reference executor (runtime/interp.c) whenever no accumulator
 * exceeds 2^53 (the `intervals` pass states each layer's width).  RtIntExec is the glue the
 * tools use: the program from a graph and an RtState, the engine, the padded last block. */
#ifndef JSCC_RUNTIME_INTEXEC_H
#define JSCC_RUNTIME_INTEXEC_H

#include "intprog.h"

/* The C executor: p over n rows.  x [n][p->features], logits [n][p->classes], trace
 * [n][p->trace_width] (every traced node's codes) or NULL.  JS_ENOMEM is the only failure. */
Status rt_int_run(const IntProg *p, const float *x, int64_t n, float *logits, int64_t *trace, Diag *d);
/* The float input to codes, as IP_QUANT does: clamp(round(x * 2^frac), lo, hi), NaN -> 0. */
int64_t rt_int_quant_in(double x, int frac, int64_t lo, int64_t hi, bool floor);
/* A code of value `val` as the real number it stands for: code * 2^-frac (exact below 2^53). */
double rt_int_value(const IntProg *p, int val, int64_t code);

/* An integer engine: the lowered program and how it runs. */
typedef struct RtIntExec {
  IntProg *prog;      /* owned */
  IpKernel *kernel;   /* the JIT kernel, or NULL: the C executor */
  bool trace;         /* rt_int_exec may be asked for traces (the kernel stores them) */
  int vec;            /* JIT: rows per block */
  float *xpad;        /* JIT: [vec][features] the last, partial block */
  float *lpad;        /* JIT: [vec][classes] */
  int64_t *tpad;      /* JIT with trace: [vec][trace_width] */
  double compile_ms;  /* JIT: rendering and compiling */
} RtIntExec;
/* Lower g with the parameters of s (rt_state_tensor by qualified name) and, with jit,
 * compile it (fails with codegen's message without LLVM).  trace: allow traces. */
Status rt_int_open(const Graph *g, const RtState *s, bool jit, bool trace, RtIntExec **out, Diag *d);
/* The same, keeping the compiled kernel in the jscc cache directory kernel_cache (NULL: none),
 * built with tuning (NULL: the defaults). */
Status rt_int_open_cached(const Graph *g, const RtState *s, bool jit, bool trace, const char *kernel_cache,
                          const CgTuning *tuning, RtIntExec **out, Diag *d);
void rt_int_close(RtIntExec *e);
/* n rows, any n; trace NULL unless opened with trace. */
Status rt_int_exec(RtIntExec *e, const float *x, int64_t n, float *logits, int64_t *trace, Diag *d);
/* Loss, accuracy and the confusion matrix of one split, batch rows at a time, as rt_test
 * reports them (cross-entropy of the dequantized logits in double, torch.argmax's first
 * maximum).  The program must take the 16 JSC features and give 5 logits. */
Status rt_int_eval(RtIntExec *e, const RtSplit *sp, int64_t batch, RtEvalResult *r, Diag *d);
/* rt_test on integers: the checkpoint into a state of c->fwd (which must be quantized), the
 * data, then rt_int_eval of the test split with the JIT (jit) or the C executor.  c->log gets
 * the data line and an "engine: int (...)" or "engine: int-c (...)" line; c->engine is copied
 * to res->engine. */
Status rt_int_test(const RtTestConfig *c, bool jit, RtEvalResult *res, Diag *d);

#endif
