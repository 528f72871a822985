/* exp/journal.c — the durable files of a sweep directory: journal.jsonl, appended and
 * fsync'd line by line, and whole files replaced atomically and durably.
 *
 * The journal is the only source of truth (spec/sweep.md §2.2): results.csv and the report
 * are rebuilt from it.  A line is one write(2) followed by fsync(2), so after a kill or a
 * power cut the file holds every line that was acknowledged, possibly followed by the start
 * of one that was not.  Such a torn tail (no newline) is ignored when reading and cut off
 * when the journal is opened for appending, so it can never glue onto a good line.  A journal
 * that cannot be appended to (a full disk) stops the sweep: work the journal does not hold
 * is work --resume will redo, never work that is lost or mixed. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exp.h"

struct ExpJournal {
  int fd;
  char *path;
  pthread_mutex_t lock;  /* appends from worker threads */
  bool failed;           /* an append failed: later ones are refused */
};

/* Cuts a torn tail (bytes after the last newline: an append that never finished and was
 * never acknowledged), so the next line starts clean.  -1 with errno on failure. */
static int cut_torn_tail(int fd) {
  off_t end = lseek(fd, 0, SEEK_END), keep = end;
  char buf[4096];
  while (keep > 0) {
    off_t at = keep > (off_t)sizeof buf ? keep - (off_t)sizeof buf : 0;
    ssize_t n = pread(fd, buf, (size_t)(keep - at), at);
    if (n != keep - at) return -1;
    char *nl = memrchr(buf, '\n', (size_t)n);
    if (nl) {
      keep = at + (nl - buf) + 1;
      break;
    }
    keep = at;
  }
  return keep == end ? 0 : ftruncate(fd, keep);
}

static Status write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return JS_EIO;
    p += w;
    n -= (size_t)w;
  }
  return JS_OK;
}

Status exp_journal_open(const char *path, ExpJournal **out, Diag *d) {
  ExpJournal *j = ir_calloc(1, sizeof *j);
  if (!j || !(j->path = ir_strdup(path))) {
    ir_free(j);
    return diag_oom(d);
  }
  pthread_mutex_init(&j->lock, NULL);
  j->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666); /* read: its last byte */
  Status st = JS_OK;
  if (j->fd < 0 || cut_torn_tail(j->fd) != 0)
    st = diag_error(d, (SrcLoc){0}, "cannot open the journal '%s': %s", path, strerror(errno));
  if (st) {
    exp_journal_close(j);
    return st;
  }
  *out = j;
  return JS_OK;
}

Status exp_journal_append(ExpJournal *j, const char *line, Diag *d) {
  size_t n = strlen(line);
  pthread_mutex_lock(&j->lock);
  Status st = j->failed ? JS_EIO : JS_OK;
  if (!st && (write_all(j->fd, line, n) || fsync(j->fd))) {
    j->failed = true;
    st = diag_error(d, (SrcLoc){0}, "cannot append to the journal '%s': %s (the sweep stops; --resume continues it)",
                    j->path, strerror(errno));
  } else if (st) {
    st = diag_error(d, (SrcLoc){0}, "the journal '%s' failed earlier: nothing more is recorded", j->path);
  }
  pthread_mutex_unlock(&j->lock);
  return st;
}

void exp_journal_close(ExpJournal *j) {
  if (!j) return;
  if (j->fd >= 0) close(j->fd);
  pthread_mutex_destroy(&j->lock);
  ir_free(j->path);
  ir_free(j);
}

/* ---- reading ---- */

/* Each complete line of the journal at path parsed and handed to fn; a torn last line is
 * skipped.  A complete line that is not a JSON object is an error naming its line. */
Status exp_journal_read(const char *path, ExpJournalFn fn, void *ud, Diag *d) {
  Arena *a = arena_new();
  SrcFile *src = NULL;
  if (!a) return diag_oom(d);
  Status st = diag_read_file(a, path, &src, d);
  int line = 0;
  for (const char *p = st ? NULL : src->text, *end = p ? p + src->len : NULL; !st && p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    line++;
    if (!nl) break; /* a torn tail: an append that never finished */
    JVal v;
    JsonError je;
    if (nl > p) {
      if (!json_parse(a, p, (size_t)(nl - p), "journal line", &v, &je))
        st = je.oom ? diag_oom(d) : diag_error(d, (SrcLoc){0}, "%s:%d: %s at column %zu", path, line, je.msg, je.pos + 1);
      else if (v.kind != J_OBJ)
        st = diag_error(d, (SrcLoc){0}, "%s:%d: a journal line must be a JSON object", path, line);
      else
        st = fn(ud, &v, path, line, d);
    }
    p = nl + 1;
  }
  arena_free(a);
  return st;
}

/* ---- whole files ---- */

/* dir/name replaced atomically: a temporary file written and fsync'd, renamed over the old
 * one, and the directory fsync'd, so that after a crash either version is there whole. */
Status exp_write_file(const StrBuf *sb, const char *dir, const char *name, Diag *d) {
  if (sb->oom) return diag_oom(d);
  char path[4096], tmp[4200];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
    return diag_error(d, (SrcLoc){0}, "path too long: %s/%s", dir, name);
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  bool ok = fd >= 0 && !write_all(fd, sb_str(sb), sb->len) && fsync(fd) == 0;
  int err = errno;
  if (fd >= 0 && close(fd) != 0 && ok) ok = false, err = errno;
  if (ok && rename(tmp, path) != 0) ok = false, err = errno;
  if (!ok) {
    unlink(tmp);
    return diag_error(d, (SrcLoc){0}, "cannot write '%s': %s", path, strerror(err));
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return JS_OK;
}
