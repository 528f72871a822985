/* test_infer_ref.c — ir_infer_type against PyTorch 1.13: every case of test/passes/infer_ref.txt
 * (written by scripts/infer_reference.py; see its header for the format) becomes a one-node IR
 * model whose result type must be what PyTorch computed, or an error where PyTorch raised.
 * A case whose call does not even parse or verify counts as an error.  Every mismatch is
 * printed (a few in full), then the test fails with their count. */
#include <stdio.h>
#include <stdlib.h>

#include "th.h"
#include "tlib.h"

/* Splits s at the next " | " (in place); returns the rest or NULL. */
static char *split(char *s) {
  char *bar = strstr(s, " | ");
  if (!bar) return NULL;
  *bar = 0;
  return bar + 3;
}

/* Uses of %aI in the call text, for the placeholder's num_users. */
static int uses(const char *call, int i) {
  char ref[16];
  int n = snprintf(ref, sizeof ref, "%%a%d", i), count = 0;
  for (const char *p = strstr(call, ref); p; p = strstr(p + 1, ref))
    if (p[n] < '0' || p[n] > '9') count++;
  return count;
}

/* The case's result: the type's text, or "error"; `why` receives the diagnostics. */
static const char *run_case(char *types, char *modules, const char *call, StrBuf *why) {
  static char res[256];
  StrBuf ir;
  sb_init(&ir);
  sb_puts(&ir, "model M {\n");
  if (strcmp(modules, "-") != 0)
    for (char *line = strtok(modules, ";"); line; line = strtok(NULL, ";")) sb_printf(&ir, "  %s\n", line);
  sb_puts(&ir, "  graph {\n");
  int i = 0;
  for (char *t = strtok(types, " "); t; t = strtok(NULL, " "), i++)
    sb_printf(&ir, "    %%a%d : %s [num_users=%d] = placeholder[target=a%d]\n", i, t, uses(call, i), i);
  sb_printf(&ir, "    %%r : ? [num_users=1] = %s\n", call);
  sb_puts(&ir, "    %output : ? [num_users=0] = output[target=output](args = (%r,))\n  }\n}\n");
  Arena *a = arena_new();
  assert_non_null(a);
  SrcFile *src = diag_src_from_string(a, "case.ir", sb_str(&ir), ir.len);
  Diag d;
  diag_init(&d, NULL);
  Program *p = NULL;
  snprintf(res, sizeof res, "error");
  if (ir_parse(src, &p, &d) == JS_OK) {
    TensorType t;
    if (ir_infer_type(ir_graph_find_node(p->graphs[0], "r"), &t, &d) == JS_OK) {
      StrBuf ts;
      sb_init(&ts);
      ir_type_print(&ts, &t);
      snprintf(res, sizeof res, "%s", sb_str(&ts));
      sb_free(&ts);
    }
  }
  sb_clear(why);
  sb_puts(why, sb_str(&d.text));
  diag_free(&d);
  ir_program_free(p);
  arena_free(a);
  sb_free(&ir);
  return res;
}

static void test_against_pytorch(void **state) {
  (void)state;
  char pathbuf[1024];
  const char *path = tl_src(pathbuf, sizeof pathbuf, "test/passes/infer_ref.txt");
  FILE *f = fopen(path, "r");
  if (!f) fail_msg("cannot open %s", path);
  char line[4096];
  int ncases = 0, nbad = 0;
  StrBuf why;
  sb_init(&why);
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = 0;
    if (line[0] == '#' || !line[0]) continue;
    char *modules = split(line), *call = modules ? split(modules) : NULL, *want = call ? split(call) : NULL;
    if (!want) fail_msg("malformed case: %s", line);
    char types[sizeof line];
    snprintf(types, sizeof types, "%s", line);
    const char *got = run_case(types, modules, call, &why);
    ncases++;
    if (strcmp(got, want) != 0) {
      if (nbad++ < 20)
        print_error("MISMATCH %s | %s: PyTorch gives %s, jscc %s\n%s", line, call, want, got, sb_str(&why));
    }
  }
  fclose(f);
  sb_free(&why);
  print_message("%d cases, %d mismatches\n", ncases, nbad);
  assert_true(ncases > 1000);
  assert_int_equal(nbad, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_against_pytorch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
