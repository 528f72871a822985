/* test_proc.c — running external programs (hw/proc.c): exit codes, stdout and stderr in the
 * log after the command line, the working directory, a timeout that kills the program with
 * its children, a program killed by a signal, one that does not exist, and finding tools. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hw.h"

static char dir[64];
static char log_path[128];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/jscc_hw_proc_XXXXXX");
  if (!mkdtemp(dir)) return -1;
  snprintf(log_path, sizeof log_path, "%s/run.log", dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

/* The whole log as a string (static storage: one at a time). */
static const char *read_log(void) {
  static char buf[8192];
  FILE *f = fopen(log_path, "rb");
  if (!f) return "";
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return buf;
}

/* Runs `sh -c script` in dir with the given timeout. */
static Status sh(const char *script, int timeout_s, int *rc, Diag *d) {
  const char *argv[] = {"/bin/sh", "-c", script, NULL};
  return hw_run(argv, dir, log_path, timeout_s, rc, d);
}

static void test_exit_codes_and_log(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, NULL);
  int rc;
  assert_int_equal(sh("echo to-stdout; echo to-stderr >&2; exit 3", 10, &rc, &d), JS_OK);
  assert_int_equal(rc, 3);
  assert_int_equal(sh("pwd; true", 0, &rc, &d), JS_OK);
  assert_int_equal(rc, 0);
  const char *log = read_log();
  /* appended, each run after its command line; pwd ran in dir */
  assert_non_null(strstr(log, "$ (cd /tmp/jscc_hw_proc_"));
  const char *out = strstr(log, "to-stdout"), *err = strstr(log, "to-stderr"), *pwd = strstr(log, "pwd; true)");
  assert_true(out && err && pwd && out < err && err < pwd);
  assert_non_null(strstr(pwd, dir));
  assert_int_equal(d.nerrors, 0);
  diag_free(&d);
}

/* Alive and not a zombie (a zombie waits for init, which may not reap in a container). */
static bool alive(pid_t pid) {
  char path[64], st[256];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  size_t n = fread(st, 1, sizeof st - 1, f);
  fclose(f);
  st[n] = 0;
  const char *close_paren = strrchr(st, ')');
  return close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z';
}

static double mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The shell starts a `sleep` of its own, then waits: the timeout must kill both. */
static void test_timeout_kills_group(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, NULL);
  int rc = 0;
  double t0 = mono();
  assert_int_equal(sh("sleep 30 & echo $! > child.pid; wait", 1, &rc, &d), JS_ERR);
  double took = mono() - t0;
  assert_true(took >= 0.9 && took < 10);
  assert_int_equal(rc, -1);
  assert_non_null(strstr(sb_str(&d.text), "/bin/sh timed out after 1 s"));
  assert_non_null(strstr(sb_str(&d.text), log_path));
  char path[128];
  snprintf(path, sizeof path, "%s/child.pid", dir);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  int pid = 0;
  assert_int_equal(fscanf(f, "%d", &pid), 1);
  fclose(f);
  for (int i = 0; i < 100 && alive(pid); i++) usleep(10000);
  assert_false(alive(pid));
  /* no zombie of ours left: nothing to reap */
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
  diag_free(&d);
}

static void test_signal(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, NULL);
  int rc;
  assert_int_equal(sh("kill -TERM $$", 10, &rc, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "/bin/sh was killed by signal 15"));
  diag_free(&d);
}

static void test_missing_program(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, NULL);
  int rc;
  const char *argv[] = {"/nonexistent/jscc-no-such-tool", "-v", NULL};
  assert_int_equal(hw_run(argv, dir, log_path, 5, &rc, &d), JS_ERR);
  assert_int_equal(rc, -1);
  assert_non_null(strstr(sb_str(&d.text), "/nonexistent/jscc-no-such-tool could not be started"));
  assert_non_null(strstr(sb_str(&d.text), "No such file"));
  /* a missing directory is the same kind of error */
  const char *sh_argv[] = {"/bin/sh", "-c", "true", NULL};
  assert_int_equal(hw_run(sh_argv, "/nonexistent/dir", log_path, 5, &rc, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "in /nonexistent/dir"));
  /* and an unwritable log */
  assert_int_equal(hw_run(sh_argv, dir, "/nonexistent/dir/x.log", 5, &rc, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "cannot open the log /nonexistent/dir/x.log"));
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  diag_free(&d);
}

static void test_tools(void **state) {
  (void)state;
  assert_string_equal(hw_tool_name(HW_YOSYS), "yosys");
  assert_string_equal(hw_tool_name(HW_NEXTPNR_ICE40), "nextpnr-ice40");
  assert_string_equal(hw_tool_name(HW_CC), "cc");
  const char *cc = hw_tool_path(HW_CC);
  if (cc) assert_int_equal(access(cc, X_OK), 0);
  /* a tool found on PATH only: PATH holding just a directory with a fake yosys */
  char fake[160], path_env[4096];
  snprintf(fake, sizeof fake, "%s/yosys", dir);
  FILE *f = fopen(fake, "w");
  assert_non_null(f);
  fputs("#!/bin/sh\n", f);
  fclose(f);
  const char *old = getenv("PATH");
  snprintf(path_env, sizeof path_env, "%s", old ? old : "");
  setenv("PATH", dir, 1);
  assert_null(hw_tool_path(HW_CC)); /* not executable nor there */
  chmod(fake, 0755);
  const char *y = hw_tool_path(HW_YOSYS);
#if defined(JSCC_HAVE_HDL_TOOLS) && !defined(JSCC_PATH_YOSYS)
  assert_string_equal(y, fake);
#elif !defined(JSCC_HAVE_HDL_TOOLS)
  assert_null(y);
#else
  (void)y;
#endif
  setenv("PATH", path_env, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_exit_codes_and_log), cmocka_unit_test(test_timeout_kills_group),
    cmocka_unit_test(test_signal), cmocka_unit_test(test_missing_program), cmocka_unit_test(test_tools),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
