/* diag.c — diagnostics: "file:line:col: error: message", the source line and a caret.
 *
 * Library code reports here and returns a Status; only main() decides to exit.  Every
 * message is kept in Diag.text too, so tests can check what a user would see. */
#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ir.h"

void diag_init(Diag *d, FILE *out) {
  memset(d, 0, sizeof *d);
  d->out = out;
  sb_init(&d->text);
}

void diag_free(Diag *d) {
  sb_free(&d->text);
}

static int max_errors(const Diag *d) {
  return d->max_errors > 0 ? d->max_errors : 20;
}

bool diag_too_many(const Diag *d) {
  return d->nerrors >= max_errors(d);
}

/* The source line holding loc, with a caret under the column. */
static void quote_line(StrBuf *sb, SrcLoc loc) {
  const SrcFile *f = loc.file;
  if (!f || !f->text || loc.line <= 0) return;
  const char *p = f->text, *end = f->text + f->len;
  for (int l = 1; l < loc.line && p < end; p++)
    if (*p == '\n') l++;
  if (p >= end && loc.line > 1) return;
  const char *eol = p;
  while (eol < end && *eol != '\n') eol++;
  if (eol > p && eol[-1] == '\r') eol--; /* CRLF */
  /* A long line is shown as a window around the column, marked with "...". */
  enum { WINDOW = 160, BEFORE = 80 };
  const char *col = p + (loc.col > 0 ? loc.col - 1 : 0);
  if (col > eol) col = eol;
  const char *from = p, *to = eol;
  if (to - from > WINDOW) {
    if (col - from > BEFORE) from = col - BEFORE;
    if (to - from > WINDOW) to = from + WINDOW;
  }
  int width = snprintf(NULL, 0, "%d", loc.line);
  if (width < 4) width = 4;
  sb_printf(sb, " %*d | %s", width, loc.line, from > p ? "..." : "");
  /* Control bytes would garble a terminal: show them as '?'. */
  for (const char *q = from; q < to; q++) {
    unsigned char c = (unsigned char)*q;
    sb_putc(sb, (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c);
  }
  sb_puts(sb, to < eol ? "...\n" : "\n");
  sb_printf(sb, " %*s | %s", width, "", from > p ? "   " : "");
  for (const char *q = from; q < col; q++) sb_putc(sb, *q == '\t' ? '\t' : ' ');
  sb_puts(sb, "^\n");
}

void diag_vreport(Diag *d, DiagLevel level, SrcLoc loc, const char *fmt, va_list ap) {
  if (level == DIAG_ERROR) d->nerrors++;
  if (level == DIAG_WARNING) d->nwarnings++;
  if (d->capped) return;
  StrBuf sb;
  sb_init(&sb);
  if (level == DIAG_ERROR && d->nerrors > max_errors(d)) {
    d->capped = true;
    sb_printf(&sb, "jscc: too many errors (more than %d), stopping\n", max_errors(d));
  } else {
    if (loc.file && loc.line > 0)
      sb_printf(&sb, "%s:%d:%d: ", loc.file->path, loc.line, loc.col);
    else if (loc.file)
      sb_printf(&sb, "%s: ", loc.file->path);
    static const char *const names[] = {"error", "warning", "note"};
    sb_printf(&sb, "%s: ", names[level]);
    sb_vprintf(&sb, fmt, ap);
    sb_putc(&sb, '\n');
    quote_line(&sb, loc);
  }
  if (d->out) {
    fputs(sb_str(&sb), d->out);
    fflush(d->out);
  }
  sb_puts(&d->text, sb_str(&sb));
  sb_free(&sb);
}

Status diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(d, DIAG_ERROR, loc, fmt, ap);
  va_end(ap);
  return JS_ERR;
}

void diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(d, DIAG_WARNING, loc, fmt, ap);
  va_end(ap);
}

void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(d, DIAG_NOTE, loc, fmt, ap);
  va_end(ap);
}

Status diag_oom(Diag *d) {
  if (d) diag_error(d, (SrcLoc){0}, "out of memory");
  return JS_ENOMEM;
}

/* Levenshtein distance, capped: long words are never "close". */
static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return 1000;
  int row[65];
  for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j];
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int v = diag + cost;
      if (up + 1 < v) v = up + 1;
      if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
      row[j] = v;
      diag = up;
    }
  }
  return row[lb];
}

const char *diag_closest(const char *word, const char *const *cands, int n) {
  const char *best = NULL;
  int best_d = 1000;
  size_t len = strlen(word);
  /* Allow about one edit per three characters, at least one. */
  int limit = len < 3 ? 1 : (int)(len / 3) + 1;
  for (int i = 0; i < n; i++) {
    if (!cands[i] || strcmp(cands[i], word) == 0) continue;
    int dist = edit_distance(word, cands[i]);
    /* A case-only difference ("relu" for "ReLU") is the best hint there is. */
    if (strlen(cands[i]) == len && strcasecmp(cands[i], word) == 0) dist = 0;
    if (dist < best_d) {
      best_d = dist;
      best = cands[i];
    }
  }
  return best_d <= limit ? best : NULL;
}

SrcFile *diag_src_from_string(Arena *a, const char *path, const char *text, size_t len) {
  SrcFile *f = arena_alloc(a, sizeof *f);
  if (!f) return NULL;
  f->path = arena_strdup(a, path);
  char *t = arena_alloc(a, len + 1);
  if (!f->path || !t) return NULL;
  memcpy(t, text, len);
  t[len] = 0;
  f->text = t;
  f->len = len;
  return f;
}

Status diag_read_file(Arena *a, const char *path, SrcFile **out, Diag *d) {
  *out = NULL;
  FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!fp) {
    diag_error(d, (SrcLoc){0}, "cannot open '%s': %s", path, strerror(errno));
    return JS_EIO;
  }
  /* A regular file is read straight into the arena; pipes go through a buffer. */
  struct stat stt;
  if (fp != stdin && fstat(fileno(fp), &stt) == 0 && S_ISREG(stt.st_mode)) {
    size_t size = (size_t)stt.st_size;
    SrcFile *f = arena_alloc(a, sizeof *f);
    char *text = f ? arena_alloc(a, size + 1) : NULL;
    if (!text || !(f->path = arena_strdup(a, path))) {
      fclose(fp);
      return diag_oom(d);
    }
    size_t got = fread(text, 1, size, fp);
    bool err = ferror(fp) || getc(fp) != EOF; /* it changed while we read it */
    fclose(fp);
    if (err || got != size) {
      diag_error(d, (SrcLoc){0}, "cannot read '%s'", path);
      return JS_EIO;
    }
    text[size] = 0;
    f->text = text;
    f->len = size;
    *out = f;
    return JS_OK;
  }
  StrBuf sb;
  sb_init(&sb);
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, fp)) > 0) sb_putn(&sb, buf, n);
  int err = ferror(fp) ? errno : 0;
  if (fp != stdin) fclose(fp);
  if (err) {
    sb_free(&sb);
    diag_error(d, (SrcLoc){0}, "cannot read '%s': %s", path, strerror(err));
    return JS_EIO;
  }
  if (sb.oom) {
    sb_free(&sb);
    return diag_oom(d);
  }
  SrcFile *f = diag_src_from_string(a, path, sb_str(&sb), sb.len);
  sb_free(&sb);
  if (!f) return diag_oom(d);
  *out = f;
  return JS_OK;
}

/* The line and column of byte `pos` of f (past the end: the end). */
SrcLoc diag_loc_at(const SrcFile *f, size_t pos) {
  SrcLoc loc = {f, 1, 1};
  for (size_t i = 0; i < pos && i < f->len; i++) {
    if (f->text[i] == '\n')
      loc.line++, loc.col = 1;
    else
      loc.col++;
  }
  return loc;
}
