/* fuzz_hw.c — libFuzzer target for what the hardware flow reads back: the trace text a
 * simulation writes (hw_trace_parse), and an emit directory's emit.json as jscc report reads
 * it (exp_hw_read).  Any input gives its result or one located error, never a crash, hang,
 * leak or sanitizer report.  What parses must hold up: every trace line is an `o` or `t` line
 * with a sample >= 0, a `t` line has a layer >= 0, and the lines written back as text parse to
 * the same lines; a design read has an accuracy in [0, 1] or none, and no more mismatches than
 * samples.
 * FUZZ_VERBOSE=1 prints the diagnostics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exp.h"
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

static char dir[64];

/* The input as DIR/emit.json, read as jscc report reads an emit directory. */
static void read_design(const uint8_t *data, size_t size, Diag *d) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/fuzz_hw_XXXXXX");
    if (!mkdtemp(dir)) die("mkdtemp");
  }
  char path[128];
  snprintf(path, sizeof path, "%s/emit.json", dir);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) die("cannot write the input");
  Arena *a = arena_new();
  ExpHwDesign h;
  if (a && exp_hw_read(a, dir, &h, d) == JS_OK) {
    if (!(h.test_accuracy != h.test_accuracy) && (h.test_accuracy < 0 || h.test_accuracy > 1)) die("an accuracy outside [0, 1]");
    for (int i = 0; i < h.nverify; i++)
      if (h.verify[i].mismatches > h.verify[i].samples) die("more mismatches than samples");
  }
  arena_free(a);
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
  read_design(data, size, &d);
  diag_free(&d);
  return 0;
}
