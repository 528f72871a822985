/* fuzz_hw.c — libFuzzer target for what the hardware flow reads back: the trace text a
 * simulation writes (hw_trace_parse), and an emit directory's emit.json as jscc report reads
 * it (exp_hw_read).  Any input gives its result or one located error, never a crash, hang,
 * leak or sanitizer report.  What parses must hold up: every trace line is an `o` or `t` line
 * with a sample >= 0, a `t` line has a layer >= 0, and the lines written back as text parse to
 * the same lines; a design read has an accuracy in [0, 1] or none, and no more mismatches than
 * samples.  The same bytes also go through the readers of yosys' `stat` report and nextpnr's
 * log (hw_parse_stat, hw_parse_fmax, hw_last_error).
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

/* The input as yosys' and nextpnr's reports, for both families. */
static void read_reports(const uint8_t *data, size_t size, Diag *d) {
  char *text = malloc(size + 1);
  if (!text) die("out of memory");
  memcpy(text, data, size);
  text[size] = 0;
  static const char *const mods[] = {"top_fc1", "top_fc2"};
  for (int f = 0; f < 2; f++) {
    HwCounts per[2], total;
    hw_parse_stat(text, f ? HW_ICE40 : HW_XILINX, "top", mods, 2, per, &total, d);
  }
  double fmax = hw_parse_fmax(text);
  if (fmax < 0 || fmax != fmax) die("a negative or NaN Fmax");
  char err[64];
  hw_last_error(text, err, sizeof err);
  if (strlen(err) >= sizeof err) die("hw_last_error overflowed");
  free(text);
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
  read_reports(data, size, &d);
  diag_free(&d);
  return 0;
}
