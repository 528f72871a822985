/* test/lib/tlib.c — the unit tests' shared helpers (tlib.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tlib.h"

#ifndef JSCC_SOURCE_ROOT
#error "test/meson.build defines JSCC_SOURCE_ROOT"
#endif

char *tl_read(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *s = NULL;
  long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1)) && fread(s, 1, (size_t)n, f) != (size_t)n) {
    free(s);
    s = NULL;
  }
  fclose(f);
  if (!s) return NULL;
  s[n] = 0;
  if (len) *len = (size_t)n;
  return s;
}

void tl_write(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) fail_msg("cannot write %s", path);
  bool ok = fwrite(data, 1, n, f) == n;
  if (fclose(f) != 0 || !ok) fail_msg("cannot write %s", path);
}

const char *tl_source_root(void) { return JSCC_SOURCE_ROOT; }

const char *tl_src(char *buf, size_t cap, const char *rel) {
  int n = snprintf(buf, cap, "%s/%s", JSCC_SOURCE_ROOT, rel);
  if (n < 0 || (size_t)n >= cap) fail_msg("path too long: %s/%s", JSCC_SOURCE_ROOT, rel);
  return buf;
}

bool tl_update_golden(void) {
  const char *u = getenv("JSCC_UPDATE_GOLDEN");
  return u && strcmp(u, "1") == 0;
}

void tl_check_golden(const char *name, const char *text) {
  char path[1024], rel[512];
  snprintf(rel, sizeof rel, "test/golden/%s", name);
  tl_src(path, sizeof path, rel);
  if (tl_update_golden()) {
    tl_write(path, text, strlen(text));
    return;
  }
  char *want = tl_read(path, NULL);
  if (!want) fail_msg("cannot read %s (JSCC_UPDATE_GOLDEN=1 creates it)", path);
  if (strcmp(want, text) != 0) {
    const char *a = want, *b = text;
    int ln = 1;
    while (*a && *a == *b) ln += *a == '\n', a++, b++;
    while (a > want && a[-1] != '\n') a--, b--;
    print_error("%s differs from line %d (JSCC_UPDATE_GOLDEN=1 rewrites it):\n  expected: %.*s\n  got:      %.*s\n",
                path, ln, (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
    free(want);
    fail();
  }
  free(want);
}
