/* strbuf.c — growable strings.
 *
 * Printers append without checking each call: a failed allocation sets `oom` and later
 * appends are dropped, and whoever finishes the buffer checks `oom` once. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir.h"

void sb_init(StrBuf *sb) {
  memset(sb, 0, sizeof *sb);
}

void sb_free(StrBuf *sb) {
  ir_free(sb->data);
  sb_init(sb);
}

void sb_clear(StrBuf *sb) {
  sb->len = 0;
  sb->oom = false;
  if (sb->data) sb->data[0] = 0;
}

static bool sb_reserve(StrBuf *sb, size_t extra) {
  if (sb->oom) return false;
  if (sb->len + extra + 1 <= sb->cap) return true;
  size_t cap = sb->cap ? sb->cap : 256;
  while (cap < sb->len + extra + 1) {
    if (cap > SIZE_MAX / 2) {
      sb->oom = true;
      return false;
    }
    cap *= 2;
  }
  char *p = ir_realloc(sb->data, cap);
  if (!p) {
    sb->oom = true;
    return false;
  }
  sb->data = p;
  sb->cap = cap;
  return true;
}

void sb_putn(StrBuf *sb, const char *s, size_t n) {
  if (!sb_reserve(sb, n)) return;
  memcpy(sb->data + sb->len, s, n);
  sb->len += n;
  sb->data[sb->len] = 0;
}

void sb_puts(StrBuf *sb, const char *s) {
  sb_putn(sb, s, strlen(s));
}

void sb_putc(StrBuf *sb, char c) {
  sb_putn(sb, &c, 1);
}

void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  char small[256];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  if (n < 0) {
    va_end(ap2);
    return;
  }
  if ((size_t)n < sizeof small) {
    sb_putn(sb, small, (size_t)n);
  } else if (sb_reserve(sb, (size_t)n)) {
    vsnprintf(sb->data + sb->len, (size_t)n + 1, fmt, ap2);
    sb->len += (size_t)n;
  }
  va_end(ap2);
}

void sb_printf(StrBuf *sb, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sb_vprintf(sb, fmt, ap);
  va_end(ap);
}

void sb_pad(StrBuf *sb, size_t width, size_t used) {
  for (; used < width; used++) sb_putc(sb, ' ');
}

void sb_put_int(StrBuf *sb, int64_t v) {
  char buf[24], *p = buf + sizeof buf;
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  do {
    *--p = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) *--p = '-';
  sb_putn(sb, p, (size_t)(buf + sizeof buf - p));
}

const char *sb_str(const StrBuf *sb) {
  return sb->data ? sb->data : "";
}

void sb_put_float(StrBuf *sb, double v) {
  if (isnan(v)) {
    sb_puts(sb, "nan");
    return;
  }
  if (isinf(v)) {
    sb_puts(sb, v < 0 ? "-inf" : "inf");
    return;
  }
  /* The fewest significant digits that read back to the same double... */
  /* Models print the same few initialiser bounds thousands of times: a small direct-mapped
   * cache of recent values skips the digit search. */
  static _Thread_local struct {
    uint64_t bits;
    char text[40];
  } cache[16];
  uint64_t bits;
  memcpy(&bits, &v, sizeof bits);
  unsigned slot = (unsigned)((bits * 0x9E3779B97F4A7C15ULL) >> 60);
  if (cache[slot].text[0] && cache[slot].bits == bits) {
    sb_puts(sb, cache[slot].text);
    return;
  }
  size_t start = sb->len;
  char buf[48];
  /* Reading back is monotonic in the digit count, so binary-search the fewest (%.16e, 17
   * significant digits, always reads back). */
  int lo = 0, hi = 16;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    snprintf(buf, sizeof buf, "%.*e", mid, v);
    if (strtod(buf, NULL) == v)
      hi = mid;
    else
      lo = mid + 1;
  }
  snprintf(buf, sizeof buf, "%.*e", lo, v);
  /* ...laid out by Python's repr rule: positional for exponents -4..15, else d.ddde-XX. */
  const char *p = buf;
  if (*p == '-') sb_putc(sb, *p++);
  char digits[24];
  int nd = 0;
  for (; *p && *p != 'e'; p++)
    if (*p != '.') digits[nd++] = *p;
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  int x = atoi(p + 1);
  if (x >= -4 && x < 16) {
    if (x < 0) {
      sb_puts(sb, "0.");
      for (int i = 0; i < -x - 1; i++) sb_putc(sb, '0');
      sb_putn(sb, digits, (size_t)nd);
    } else {
      for (int i = 0; i <= x; i++) sb_putc(sb, i < nd ? digits[i] : '0');
      sb_putc(sb, '.');
      if (nd > x + 1)
        sb_putn(sb, digits + x + 1, (size_t)(nd - x - 1));
      else
        sb_putc(sb, '0');
    }
  } else {
    sb_putc(sb, digits[0]);
    if (nd > 1) {
      sb_putc(sb, '.');
      sb_putn(sb, digits + 1, (size_t)(nd - 1));
    }
    sb_printf(sb, "e%c%02d", x < 0 ? '-' : '+', abs(x));
  }
  if (!sb->oom && sb->len - start < sizeof cache[slot].text) {
    memcpy(cache[slot].text, sb->data + start, sb->len - start);
    cache[slot].text[sb->len - start] = 0;
    cache[slot].bits = bits;
  }
}

bool sb_put_escape(StrBuf *sb, unsigned char c) {
  static const char from[] = "\"\\\n\t\r", to[] = "\"\\ntr";
  const char *hit = c ? strchr(from, c) : NULL;
  if (!hit) return false;
  sb_putc(sb, '\\');
  sb_putc(sb, to[hit - from]);
  return true;
}

void sb_put_quoted(StrBuf *sb, const char *s) {
  sb_putc(sb, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (sb_put_escape(sb, *p)) continue;
    if (*p < 0x20 || *p == 0x7f)
      sb_printf(sb, "\\x%02x", *p);
    else
      sb_putc(sb, (char)*p);
  }
  sb_putc(sb, '"');
}

/* The process's umask, read once: reading it means setting it, which must not race with
 * another thread creating files (a sweep's workers write their run directories). */
static pthread_once_t umask_once = PTHREAD_ONCE_INIT;
static mode_t process_umask;
static void read_umask(void) {
  process_umask = umask(0);
  umask(process_umask);
}

Status sb_write_file(const StrBuf *sb, const char *path) {
  if (sb->oom) return JS_ENOMEM;
  /* Devices and pipes (/dev/null, /dev/stdout) cannot be replaced by rename: write to them. */
  struct stat st;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
    FILE *f = fopen(path, "wb");
    if (!f) return JS_EIO;
    bool ok = fwrite(sb_str(sb), 1, sb->len, f) == sb->len;
    ok = (fclose(f) == 0) && ok;
    return ok ? JS_OK : JS_EIO;
  }
  size_t n = strlen(path);
  char *tmp = ir_malloc(n + 16);
  if (!tmp) return JS_ENOMEM;
  snprintf(tmp, n + 16, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int err = errno;
    ir_free(tmp);
    errno = err;
    return JS_EIO;
  }
  /* mkstemp makes the file 0600; give it the mode a plain fopen would. */
  pthread_once(&umask_once, read_umask);
  fchmod(fd, 0666 & ~process_umask);
  FILE *f = fdopen(fd, "wb");
  bool ok = f && fwrite(sb_str(sb), 1, sb->len, f) == sb->len;
  /* on the disk before the rename makes it visible: a file replaced after another (a run's
   * metrics.csv, then its commit) is never older than it after a crash */
  if (ok) ok = fflush(f) == 0 && fsync(fd) == 0;
  if (f)
    ok = (fclose(f) == 0) && ok;
  else
    close(fd);
  if (ok) ok = rename(tmp, path) == 0;
  int err = errno; /* the failure's reason, for the caller's message */
  if (!ok) remove(tmp);
  ir_free(tmp);
  errno = err;
  return ok ? JS_OK : JS_EIO;
}

bool ir_mkdir_p(const char *path, unsigned mode) {
  char p[PATH_MAX];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof p) {
    errno = ENAMETOOLONG;
    return false;
  }
  memcpy(p, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] != '/' && p[i] != 0) continue;
    char c = p[i];
    p[i] = 0;
    if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) return false;
    p[i] = c;
  }
  struct stat st;
  if (stat(path, &st) != 0) return false;
  if (!S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return false;
  }
  return true;
}

bool ir_cache_dir(const char *option, char *buf, size_t cap) {
  const char *v;
  int n;
  if (option && *option)
    n = snprintf(buf, cap, "%s", option);
  else if ((v = getenv("JSCC_CACHE_DIR")) && *v)
    n = snprintf(buf, cap, "%s", v);
  else if ((v = getenv("XDG_CACHE_HOME")) && *v)
    n = snprintf(buf, cap, "%s/jscc", v);
  else if ((v = getenv("HOME")) && *v)
    n = snprintf(buf, cap, "%s/.cache/jscc", v);
  else
    return false;
  return n > 0 && (size_t)n < cap;
}

/* A CSV field (RFC 4180): as is, or quoted with its quotes doubled when it holds a comma, a
 * quote or a line break.  NULL writes nothing (an empty field). */
void sb_put_csv_field(StrBuf *sb, const char *s) {
  if (!s) return;
  if (!strpbrk(s, ",\"\n\r")) {
    sb_puts(sb, s);
    return;
  }
  sb_putc(sb, '"');
  for (; *s; s++) {
    if (*s == '"') sb_putc(sb, '"');
    sb_putc(sb, *s);
  }
  sb_putc(sb, '"');
}
