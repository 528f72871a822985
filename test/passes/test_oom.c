/* test_oom.c — allocation failure during pipeline parsing and pass runs: fail the Nth
 * allocation (and, in a second sweep, every one from the Nth on) for every N until the run
 * succeeds; each failing run must return a non-OK status without crashing (ASan/UBSan builds
 * check that nothing leaks or is used after free). */
#include <stdio.h>
#include <stdlib.h>

#include "th.h"

/* The failing allocator: counts allocations and fails number `fail_at` (or all from it on). */
typedef struct Fail {
  long count;   /* allocations so far */
  long fail_at; /* the first to fail */
  bool sticky;  /* fail every allocation from fail_at on */
  long failed;  /* how many were refused */
} Fail;

static void *failing(void *ctx, void *ptr, size_t size) {
  Fail *f = ctx;
  if (size == 0) {
    free(ptr);
    return NULL;
  }
  long i = f->count++;
  if (i == f->fail_at || (f->sticky && i > f->fail_at)) {
    f->failed++;
    return NULL;
  }
  return ptr ? realloc(ptr, size) : malloc(size);
}

/* Parse and run `pipeline` over a fresh JSC_Tiny under the failing hook. */
static Status run_once(const char *pipeline, Fail *f, StrBuf *report_out) {
  Graph *g = th_jsc_tiny(); /* built without the hook */
  Diag d;
  diag_init(&d, NULL);
  StrBuf report;
  sb_init(&report);
  ir_set_alloc_hook(failing, f);
  Pipeline *pl = NULL;
  Status st = pass_pipeline_parse(pipeline, &pl, &d);
  if (!st) {
    PassContext ctx = {.diag = &d, .report = &report};
    st = pass_pipeline_run(pl, g, &ctx);
  }
  pass_pipeline_free(pl);
  ir_set_alloc_hook(NULL, NULL);
  if (report_out && !st) sb_puts(report_out, sb_str(&report));
  sb_free(&report);
  diag_free(&d);
  ir_graph_free(g);
  return st;
}

static void sweep(const char *pipeline, bool sticky) {
  StrBuf ref;
  sb_init(&ref);
  Fail none = {.fail_at = -1};
  assert_int_equal(run_once(pipeline, &none, &ref), JS_OK);
  long total = none.count;
  assert_true(total > 10);
  int failures = 0;
  for (long n = 0; n < total; n++) {
    Fail f = {.fail_at = n, .sticky = sticky};
    StrBuf out;
    sb_init(&out);
    Status st = run_once(pipeline, &f, &out);
    if (st) {
      assert_int_equal(st, JS_ENOMEM);
      failures++;
    } else {
      /* A run that survived (an allocation whose failure is tolerated) gives the same report. */
      assert_string_equal(sb_str(&out), sb_str(&ref));
    }
    sb_free(&out);
  }
  assert_true(failures > 0);
  sb_free(&ref);
}

static void test_fail_nth(void **state) {
  sweep("shape,metadata,dce{verbose=true},report-graph,params,verify", false);
}

static void test_fail_from_nth(void **state) {
  sweep("metadata,report-graph,params", true);
}

static void test_cost(void **state) {
  sweep("shape,cost", false);
  sweep("shape,cost", true);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fail_nth),
      cmocka_unit_test(test_fail_from_nth),
      cmocka_unit_test(test_cost),
  };
  return cmocka_run_group_tests_name("oom", tests, NULL, NULL);
}
