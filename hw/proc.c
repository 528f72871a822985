/* hw/proc.c — finding and running the external tools (Verilator, Icarus, yosys, nextpnr, cc).
 *
 * A tool is the path meson found at configure time while it still exists, else the first
 * executable of its name on PATH.  hw_run starts one in its own process group (so a timeout
 * can kill it with everything it spawned: verilator's make and compilers, yosys' abc), its
 * stdout and stderr appended to a log file the caller names, and waits for it by polling
 * waitpid: no SIGCHLD handler, nothing process-wide changed, safe beside other threads.
 * fork/exec rather than posix_spawn: changing directory in the child needs glibc 2.29's
 * addchdir_np, and the exec error comes back just as well through a close-on-exec pipe. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hw.h"

#ifndef JSCC_PATH_VERILATOR
#define JSCC_PATH_VERILATOR NULL
#endif
#ifndef JSCC_PATH_IVERILOG
#define JSCC_PATH_IVERILOG NULL
#endif
#ifndef JSCC_PATH_VVP
#define JSCC_PATH_VVP NULL
#endif
#ifndef JSCC_PATH_YOSYS
#define JSCC_PATH_YOSYS NULL
#endif
#ifndef JSCC_PATH_NEXTPNR_ICE40
#define JSCC_PATH_NEXTPNR_ICE40 NULL
#endif

static const char *const tool_names[HW_NTOOLS] = {"verilator", "iverilog", "vvp", "yosys", "nextpnr-ice40", "cc"};
static const char *const tool_configured[HW_NTOOLS] = {JSCC_PATH_VERILATOR, JSCC_PATH_IVERILOG, JSCC_PATH_VVP,
                                                       JSCC_PATH_YOSYS, JSCC_PATH_NEXTPNR_ICE40, NULL};

const char *hw_tool_name(HwTool t) { return (unsigned)t < HW_NTOOLS ? tool_names[t] : "?"; }

static bool is_executable(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* The first directory of PATH holding an executable `name`, written into buf. */
static bool search_path(const char *name, char *buf, size_t cap) {
  const char *p = getenv("PATH");
  if (!p || !*p) p = "/usr/local/bin:/usr/bin:/bin";
  while (*p) {
    size_t n = strcspn(p, ":");
    /* an empty entry means the current directory, as for the shell */
    int w = n ? snprintf(buf, cap, "%.*s/%s", (int)n, p, name) : snprintf(buf, cap, "./%s", name);
    if (w > 0 && (size_t)w < cap && is_executable(buf)) return true;
    p += n + (p[n] == ':');
  }
  return false;
}

/* The answer lives in a per-thread buffer (one per tool): valid until this thread asks for
 * the same tool again.  Per thread, so that a search's trials may look tools up at once. */
const char *hw_tool_path(HwTool t) {
  static _Thread_local char found[HW_NTOOLS][4096];
  if ((unsigned)t >= HW_NTOOLS) return NULL;
#ifndef JSCC_HAVE_HDL_TOOLS
  /* built with -Dhdl_tools=disabled: only the C compiler (the C emitter's checks) is used */
  if (t != HW_CC) return NULL;
#endif
  if (tool_configured[t] && is_executable(tool_configured[t])) return tool_configured[t];
  return search_path(tool_names[t], found[t], sizeof found[t]) ? found[t] : NULL;
}

/* ---- hw_run ---- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The child between fork and exec: only async-signal-safe calls (the parent may have
 * threads).  An errno that stops it is written to `err` for the parent to report. */
static void child_exec(const char *const *argv, const char *dir, int logfd, int err) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL); /* a blocked or ignored signal would be inherited */
  signal(SIGPIPE, SIG_DFL);
  setpgid(0, 0);
  /* both above 2 first, so that neither dup2 overwrites the other (the parent may have had
   * 0, 1 or 2 closed, and logfd be one of them) */
  int in = open("/dev/null", O_RDONLY), hi_in = in < 0 ? -1 : fcntl(in, F_DUPFD, 3), hi_log = fcntl(logfd, F_DUPFD, 3);
  if ((dir && chdir(dir) != 0) || hi_in < 0 || hi_log < 0 || dup2(hi_in, 0) < 0 || dup2(hi_log, 1) < 0 ||
      dup2(hi_log, 2) < 0)
    goto fail;
  close(hi_in);
  close(hi_log);
  if (in > 2) close(in);
  execv(argv[0], (char *const *)argv);
fail:;
  int e = errno;
  ssize_t w = write(err, &e, sizeof e);
  (void)w;
  _exit(127);
}

/* The command line, first in the log, so that a log says what produced it. */
static void log_command(int logfd, const char *const *argv, const char *dir) {
  StrBuf sb;
  sb_init(&sb);
  sb_printf(&sb, "\n$ (cd %s &&", dir ? dir : ".");
  for (int i = 0; argv[i]; i++) sb_printf(&sb, " %s", argv[i]);
  sb_puts(&sb, ")\n");
  if (!sb.oom) {
    ssize_t w = write(logfd, sb_str(&sb), sb.len);
    (void)w;
  }
  sb_free(&sb);
}

/* Reads the child's exec error, if any: 0 when exec succeeded (the pipe closed empty). */
static int exec_error(int fd) {
  int e = 0;
  ssize_t n;
  do n = read(fd, &e, sizeof e);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)sizeof e ? e : 0;
}

/* Waits for pid until the deadline (0: none); true when it ended, its status in *st.  Polls
 * with a growing sleep (1 to 50 ms): a short tool costs little, a long one little CPU. */
static bool wait_until(pid_t pid, double deadline, int *st) {
  long ns = 1000000;
  for (;;) {
    pid_t w = waitpid(pid, st, deadline > 0 ? WNOHANG : 0);
    if (w == pid) return true;
    if (w < 0 && errno != EINTR) return true; /* ECHILD: reaped elsewhere; nothing to wait for */
    if (w == 0) {
      if (now_s() >= deadline) return false;
      struct timespec ts = {0, ns};
      nanosleep(&ts, NULL); /* EINTR just polls sooner */
      if (ns < 50000000) ns *= 2;
    }
  }
}

/* Kills the whole group and reaps the leader, so no zombie is left. */
static void kill_group(pid_t pid) {
  int st;
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL); /* in case it died before its setpgid */
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}

static Status run_error(Diag *d, const char *const *argv, const char *log, const char *what) {
  return diag_error(d, (SrcLoc){0}, "%s %s (log: %s)", argv[0], what, log);
}

/* Starts the child; the exec error, if any, in *eno (then the child is already reaped). */
static pid_t start_child(const char *const *argv, const char *dir, int logfd, int *eno) {
  int pipefd[2];
  *eno = 0;
  if (pipe2(pipefd, O_CLOEXEC) != 0) return *eno = errno, -1;
  pid_t pid = fork();
  if (pid == 0) child_exec(argv, dir, logfd, pipefd[1]);
  int fe = errno;
  close(pipefd[1]);
  if (pid < 0) {
    close(pipefd[0]);
    return *eno = fe, -1;
  }
  setpgid(pid, pid); /* also from here: a timeout may come before the child's own call */
  *eno = exec_error(pipefd[0]);
  close(pipefd[0]);
  if (*eno) kill_group(pid);
  return *eno ? -1 : pid;
}

Status hw_run(const char *const *argv, const char *dir, const char *log, int timeout_s, int *rc, Diag *d) {
  *rc = -1;
  if (!argv || !argv[0]) return diag_error(d, (SrcLoc){0}, "hw_run: no program given");
  int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (logfd < 0) return diag_error(d, (SrcLoc){0}, "cannot open the log %s: %s", log, strerror(errno));
  log_command(logfd, argv, dir);
  int eno;
  pid_t pid = start_child(argv, dir, logfd, &eno);
  close(logfd);
  if (pid < 0) {
    char what[256];
    snprintf(what, sizeof what, "could not be started%s%s: %s", dir ? " in " : "", dir ? dir : "", strerror(eno));
    return run_error(d, argv, log, what);
  }
  int st = 0;
  if (!wait_until(pid, timeout_s > 0 ? now_s() + timeout_s : 0, &st)) {
    kill_group(pid);
    char what[96];
    snprintf(what, sizeof what, "timed out after %d s and was killed", timeout_s);
    return run_error(d, argv, log, what);
  }
  if (WIFSIGNALED(st)) {
    char what[96];
    snprintf(what, sizeof what, "was killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    return run_error(d, argv, log, what);
  }
  *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return JS_OK;
}
