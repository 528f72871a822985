/* fuzz_sweep.c — libFuzzer target for what a sweep reads back: sweep.json
 * (exp_sweep_parse) and journal.jsonl (exp_journal_parse, every end event through
 * exp_result_parse).  Any input gives a sweep or one located error, never a crash, hang,
 * leak or sanitizer report.  What parses must hold up: every trial's directory is under
 * trials/, its argv is a jscc train command, and it has one value per axis; sweep.json
 * written back (exp_sweep_write) reads back to the same trials.
 * FUZZ_VERBOSE=1 prints the diagnostics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exp.h"

static void die(const char *what) {
  fprintf(stderr, "fuzz_sweep: %s\n", what);
  abort();
}

static Status on_event(void *ud, const JVal *ev, const char *path, int line, Diag *d) {
  (void)ud, (void)path, (void)line;
  const JVal *k = json_get(ev, "ev");
  if (!k || k->kind != J_STR || strcmp(k->str, "end") != 0) return JS_OK;
  ExpResult r;
  return exp_result_parse(ev, &r, "journal", d);
}

static char dir[64];

/* Written back, the sweep reads back to the same trials. */
static void round_trip(const ExpSweep *sw) {
  Diag d;
  diag_init(&d, NULL);
  ExpSweep *back = NULL;
  if (exp_sweep_write(sw, dir, &d) || exp_sweep_read(dir, &back, &d)) die("a parsed sweep.json does not write and read back");
  if (back->ntrials != sw->ntrials || back->naxes != sw->naxes) die("the round trip changed the sweep");
  for (int t = 0; t < sw->ntrials; t++) {
    if (strcmp(back->trials[t].dir, sw->trials[t].dir) || back->trials[t].argc != sw->trials[t].argc) die("trial changed");
    for (int i = 0; i < sw->trials[t].argc; i++)
      if (strcmp(back->trials[t].argv[i], sw->trials[t].argv[i])) die("argv changed");
  }
  exp_sweep_free(back);
  diag_free(&d);
}

static void check(const ExpSweep *sw) {
  for (int t = 0; t < sw->ntrials; t++) {
    const ExpTrial *tr = &sw->trials[t];
    if (strncmp(tr->dir, "trials/", 7) || strstr(tr->dir, "..")) die("a trial directory outside trials/");
    if (tr->argc < 3 || strcmp(tr->argv[1], "train")) die("a trial that is not a train command");
    for (int i = 0; i < sw->naxes; i++)
      if (!tr->values[i]) die("a trial without a value for an axis");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/fuzz_sweep_XXXXXX");
    if (!mkdtemp(dir)) die("mkdtemp");
  }
  Diag d;
  diag_init(&d, getenv("FUZZ_VERBOSE") ? stderr : NULL);
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0;
  SrcFile src = {"sweep.json", text, size};
  ExpSweep *sw;
  if (exp_sweep_new(&sw, &d) == JS_OK) {
    if (exp_sweep_parse(&src, sw, &d) == JS_OK) {
      check(sw);
      round_trip(sw);
    }
    exp_sweep_free(sw);
  }
  Arena *a = arena_new();
  src.path = "journal.jsonl";
  if (a) exp_journal_parse(&src, a, on_event, NULL, &d);
  arena_free(a);
  free(text);
  diag_free(&d);
  return 0;
}
