/* test/lib/tlib.h — what the unit tests share (tlib.c): whole files read and written, golden
 * files compared with one update switch, and the source root they live under.
 *
 * Golden files: tl_check_golden compares a test's text with test/golden/NAME and shows the
 * first line that differs; with JSCC_UPDATE_GOLDEN=1 in the environment it rewrites the file
 * instead (review the diff).  Failures go through CMocka (fail_msg), so only CMocka tests
 * link this library. */
#ifndef JSCC_TEST_TLIB_H
#define JSCC_TEST_TLIB_H

#include <stdbool.h>
#include <stddef.h>

/* The whole file, malloc'd and NUL-terminated (*len, when given, its bytes); NULL when it
 * cannot be read. */
char *tl_read(const char *path, size_t *len);
/* path := the n bytes of data; a failure fails the test. */
void tl_write(const char *path, const void *data, size_t n);
/* The source tree's root (meson's project source root, compiled in). */
const char *tl_source_root(void);
/* root/rel in buf (cap bytes); returns buf. */
const char *tl_src(char *buf, size_t cap, const char *rel);
/* JSCC_UPDATE_GOLDEN=1: golden files are rewritten rather than compared. */
bool tl_update_golden(void);
/* text against test/golden/NAME under the source root (or rewrites it, tl_update_golden). */
void tl_check_golden(const char *name, const char *text);

#endif
