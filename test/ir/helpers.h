/* helpers.h — shared fixtures for the IR unit tests: a jsc-tiny graph built by hand (what the
 * frontend lowers examples/jsc_tiny.jsc to), parsing from a string, and an allocation hook
 * that fails on demand and counts what is live. */
#ifndef JSCC_TEST_IR_HELPERS_H
#define JSCC_TEST_IR_HELPERS_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir.h"

static inline TensorType tt(DType dt, Graph *g, int rank, ...) {
  /* dims: a non-negative int64 size, or -1 followed by a symbol name */
  TensorType t = {.dtype = dt, .rank = rank};
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank; i++) {
    int64_t s = va_arg(ap, int64_t);
    t.dims[i].size = s;
    if (s < 0) t.dims[i].sym = ir_intern(g, va_arg(ap, const char *));
  }
  va_end(ap);
  return t;
}
#define SYM(s) (int64_t)-1, s
#define SZ(n) (int64_t)(n)

/* JSC_Tiny: BatchNorm1d(16), ReLU(inplace), Linear(16, 5), ReLU(inplace) in a Sequential, with
 * every node's type recorded (as after the shape pass).  `f` is the .jsc source (may be NULL). */
static inline Graph *build_tiny(const SrcFile *f) {
  Graph *g = ir_graph_new("JSC_Tiny");
  assert_non_null(g);
  Diag d;
  diag_init(&d, NULL);
  SrcLoc L = {f, 3, 5};
  Module *seq = ir_module_new(g, NULL, "seq_blocks", MT_SEQUENTIAL, L);
  Module *bn = ir_module_new(g, seq, "0", MT_BATCHNORM1D, (SrcLoc){f, 4, 7});
  Module *r1 = ir_module_new(g, seq, "1", MT_RELU, (SrcLoc){f, 5, 7});
  Module *lin = ir_module_new(g, seq, "2", MT_LINEAR, (SrcLoc){f, 6, 7});
  Module *r3 = ir_module_new(g, seq, "3", MT_RELU, (SrcLoc){f, 7, 7});
  assert_non_null(seq && bn && r1 && lin && r3);
  Value a16 = val_int(16), la[2] = {val_int(16), val_int(5)}, yes = val_bool(true);
  const char *inplace[] = {"inplace"};
  assert_int_equal(ir_module_configure(g, bn, 1, &a16, 0, NULL, NULL, &d, bn->loc), JS_OK);
  assert_int_equal(ir_module_configure(g, r1, 0, NULL, 1, inplace, &yes, &d, r1->loc), JS_OK);
  assert_int_equal(ir_module_configure(g, lin, 2, la, 0, NULL, NULL, &d, lin->loc), JS_OK);
  assert_int_equal(ir_module_configure(g, r3, 0, NULL, 1, inplace, &yes, &d, r3->loc), JS_OK);
  Node *x = ir_node_new(g, OP_PLACEHOLDER, "x", NULL, NULL, (SrcLoc){f, 9, 3});
  x->has_type = true;
  x->type = tt(DT_F32, g, 2, SYM("B"), SZ(16));
  Node *prev = x;
  static const char *const paths[] = {"seq_blocks.0", "seq_blocks.1", "seq_blocks.2", "seq_blocks.3"};
  for (int i = 0; i < 4; i++) {
    Node *n = ir_node_new(g, OP_CALL_MODULE, paths[i], NULL, NULL, (SrcLoc){f, 10, 9});
    Value v = val_node(prev);
    assert_int_equal(ir_node_set_args(n, 1, &v, 0, NULL, NULL), JS_OK);
    n->has_type = true;
    n->type = tt(DT_F32, g, 2, SYM("B"), SZ(i < 2 ? 16 : 5));
    prev = n;
  }
  Node *out = ir_node_new(g, OP_OUTPUT, "output", NULL, NULL, (SrcLoc){f, 10, 3});
  Value v = val_node(prev);
  assert_int_equal(ir_node_set_args(out, 1, &v, 0, NULL, NULL), JS_OK);
  diag_free(&d);
  return g;
}

/* Parses `text` as file `path`; returns the status, the program in *out, messages in d. */
static inline Status parse_str(const char *path, const char *text, Program **out, Diag *d) {
  Arena *a = arena_new();
  SrcFile *f = diag_src_from_string(a, path, text, strlen(text));
  Status st = ir_parse(f, out, d);
  arena_free(a);
  return st;
}

/* An allocation hook that fails every allocation from the `fail_at`-th on (counting from 0;
 * -1 never fails) and counts live blocks, so tests can check nothing leaks. */
typedef struct FailAlloc {
  long fail_at;
  long count;
  long live;
  bool failed;
} FailAlloc;

static inline void *fail_alloc(void *ctx, void *ptr, size_t size) {
  FailAlloc *fa = ctx;
  if (size == 0) {
    if (ptr) fa->live--;
    free(ptr);
    return NULL;
  }
  if (fa->fail_at >= 0 && fa->count++ >= fa->fail_at) {
    fa->failed = true;
    return NULL;
  }
  if (!ptr) {
    void *p = malloc(size);
    if (p) fa->live++;
    return p;
  }
  return realloc(ptr, size);
}

/* noinline: inlined into a test, GCC's -Wformat-overflow misreads the arguments as null. */
__attribute__((noinline, unused)) static void assert_contains(const char *hay, const char *needle) {
  if (!hay || !needle || !strstr(hay, needle))
    fail_msg("expected to find:\n%s\nin:\n%s", needle ? needle : "(null)", hay ? hay : "(null)");
}

__attribute__((noinline, unused)) static void assert_str_eq(const char *got, const char *want) {
  if (!got || !want || strcmp(got, want) != 0)
    fail_msg("got:\n%s\n---- want:\n%s", got ? got : "(null)", want ? want : "(null)");
}
#endif
