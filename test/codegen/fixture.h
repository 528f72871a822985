/* fixture.h — helpers the codegen tests share (test_intinf.c, test_cemit.c, test_verilog.c,
 * test_cuda.c; test/hw links it too): an example model parsed, shaped and quantized,
 * trained-like and fixed parameters.  Files and golden files: test/lib/tlib.h. */
#ifndef JSCC_TEST_CODEGEN_FIXTURE_H
#define JSCC_TEST_CODEGEN_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "runtime.h"
#include "tlib.h"

/* A parsed program and its first graph, in one arena. */
typedef struct FxModel {
  Arena *arena;  /* owns the source text */
  Program *prog; /* the parsed program */
  Graph *g;      /* prog->graphs[0] */
} FxModel;

/* Parses `path` (or `text`, named path, when not NULL), runs shape and
 * quantize{by=type, default=CFG, batch_norm1d=CFG} (every quantizable node; cfg NULL: not
 * quantized), then with `explicit_inputs` makes the data-input quantizers explicit nodes (as
 * jscc test and the JIT's plan have them). */
Status fx_load(FxModel *m, const char *path, const char *text, const char *cfg, bool explicit_inputs, Diag *d);
void fx_unload(FxModel *m);

/* Trained-like parameters from `seed`: Linear weights three times PyTorch's initial spread,
 * BatchNorm affine and running statistics away from their initial 1 and 0. */
RtState *fx_trained_state(const Graph *g, uint64_t seed);
/* Fixed parameters for golden files: short binary fractions from the element's index, so the
 * rendering depends on no random number generator or libm. */
void fx_fixed_state(RtState *s, const Graph *g);
/* The IpParamFn over an RtState (ud). */
const float *fx_state_param(void *ud, const Param *p);


#endif
