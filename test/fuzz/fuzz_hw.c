/* fuzz_hw.c — libFuzzer target for what jscc emit reads back from the tools it runs: the
 * trace text a simulation writes (hw_trace_parse).  Any input gives its lines or one located
 * error, never a crash, hang, leak or sanitizer report.  What parses must hold up: every line
 * is an `o` or `t` line with a sample >= 0, a `t` line has a layer >= 0, and writing the lines
 * back as text parses to the same lines.
 * FUZZ_VERBOSE=1 prints the diagnostics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw.h"

static void die(const char *what) {
  fprintf(stderr, "fuzz_hw: %s\n", what);
  abort();
}

/* The lines, printed back in the trace's own syntax. */
static Status print_line(void *ud, const HwTraceLine *l, Diag *d) {
  StrBuf *sb = ud;
  if ((l->kind != 'o' && l->kind != 't') || l->sample < 0 || (l->kind == 't' && l->layer < 0)) die("a bad line parsed");
  sb_putc(sb, l->kind);
  if (l->kind == 't') sb_printf(sb, " %d", l->layer);
  sb_printf(sb, " %lld", (long long)l->sample);
  for (int j = 0; j < l->n; j++) sb_printf(sb, " %lld", (long long)l->codes[j]);
  sb_putc(sb, '\n');
  return JS_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Diag d;
  diag_init(&d, getenv("FUZZ_VERBOSE") ? stderr : NULL);
  StrBuf once, twice;
  sb_init(&once);
  sb_init(&twice);
  if (hw_trace_parse((const char *)data, size, "trace.txt", print_line, &once, &d) == JS_OK && !once.oom) {
    if (hw_trace_parse(sb_str(&once), once.len, "again.txt", print_line, &twice, &d) != JS_OK)
      die("printed lines do not parse back");
    if (once.len != twice.len || memcmp(sb_str(&once), sb_str(&twice), once.len) != 0) die("the round trip changed the lines");
  }
  sb_free(&once);
  sb_free(&twice);
  diag_free(&d);
  return 0;
}
