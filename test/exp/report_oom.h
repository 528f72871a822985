/* report_oom.h — the allocation-failure check test_report.c and test_hwdesigns.c share:
 * every allocation of loading the directories and rendering the page fails in turn, and each
 * failure is reported once (JS_ENOMEM), never a crash or leak. */
#ifndef JSCC_TEST_EXP_REPORT_OOM_H
#define JSCC_TEST_EXP_REPORT_OOM_H

#include "../fail_nth.h"
#include "exp.h"

static void check_report_oom(const char *const *dirs, int ndirs) {
  FailNth h;
  for (long n = 0;; n++) {
    Diag d;
    diag_init(&d, NULL);
    fail_nth_install(&h, n);
    ExpStudy *s;
    Status st = exp_study_load(dirs, ndirs, &s, &d);
    StrBuf sb;
    sb_init(&sb);
    ExpReportOpts o;
    exp_report_opts_default(&o);
    if (!st) exp_report_html(&sb, s, &o, NULL, 0, "none");
    bool done = h.calls <= n;
    ir_set_alloc_hook(NULL, NULL);
    if (!st) exp_study_free(s);
    assert_true(st == JS_OK || st == JS_ENOMEM);
    assert_true(st == JS_OK || d.nerrors == 1);
    sb_free(&sb);
    diag_free(&d);
    if (done) break;
  }
}

#endif
