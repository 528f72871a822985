/* th.h — helpers the pass tests share: graphs built with the ir.h API directly (JSC_Tiny,
 * JSC_Big, small graphs of function calls), types from text, and CMocka glue. */
#ifndef JSCC_TEST_PASSES_TH_H
#define JSCC_TEST_PASSES_TH_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "passes.h"

/* "f32[B,4,4]" -> a TensorType whose symbols are interned in g. */
TensorType th_type(Graph *g, const char *text);
/* The text of a type, in a static buffer (tests only). */
const char *th_type_str(const TensorType *t);
/* A placeholder with a declared type. */
Node *th_input(Graph *g, const char *name, const char *type);
/* A call node (function, method, module or get_attr) appended to g with positional args. */
Node *th_node(Graph *g, NodeKind op, const char *target, int nargs, const Value *args);
/* The same with keyword arguments. */
Node *th_node_kw(Graph *g, NodeKind op, const char *target, int nargs, const Value *args, int nkw,
                 const char *const *kwnames, const Value *kwargs);
/* output(%v) */
Node *th_output(Graph *g, Node *v);
/* A module under parent (NULL: top level) with integer constructor arguments. */
Module *th_module(Graph *g, Module *parent, const char *name, const char *cls, int nargs, const int64_t *args);
/* A model in the mould of MASE's JSC networks: placeholder x f32[B,<in>], a Sequential
 * `seq_blocks` of the layers in `spec` ("BN16 ReLU L16,5 ReLU"), one call_module per layer,
 * output.  Returns NULL (and fails the test) on error. */
Graph *th_build_seq(const char *name, int in_features, const char *spec);
Graph *th_jsc_tiny(void); /* BN16 ReLU L16,5 ReLU: 117 parameters */
Graph *th_jsc_big(void);  /* the lab report's JSC_Big: 1397 parameters */

/* Runs a pipeline string over g; the report and diagnostics go to the given buffers. */
Status th_run(Graph *g, const char *pipeline, StrBuf *report, Diag *d);
/* Fails the test unless `hay` contains `needle`, printing both. */
#define assert_contains(hay, needle) th_assert_contains((hay), (needle), __FILE__, __LINE__)
void th_assert_contains(const char *hay, const char *needle, const char *file, int line);

#endif
