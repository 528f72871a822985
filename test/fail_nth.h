/* test/fail_nth.h — an allocation hook (ir_set_alloc_hook) that fails exactly the Nth
 * allocation, so a test can fail every allocation of an operation in turn and check that each
 * is reported as JS_ENOMEM and nothing leaks (ASan).  Shared by the runtime tests. */
#ifndef JSCC_TEST_FAIL_NTH_H
#define JSCC_TEST_FAIL_NTH_H
#include <stdlib.h>

typedef struct FailNth {
  long calls;   /* allocations seen so far */
  long fail_at; /* the one to fail, counting from 0 (-1: none) */
} FailNth;

static inline void *fail_nth(void *ctx, void *ptr, size_t size) {
  FailNth *h = ctx;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  if (h->calls++ == h->fail_at) return NULL;
  return ptr ? realloc(ptr, size) : malloc(size);
}

/* Install the hook failing allocation n, counting afresh. */
static inline void fail_nth_install(FailNth *h, long n) {
  h->calls = 0;
  h->fail_at = n;
  ir_set_alloc_hook(fail_nth, h);
}
#endif
