/* test_spec.c — every ```jsc block of spec/language.md parses and lowers; every
 * ```jsc-error block is refused.  Keeps the language reference honest.
 *
 * Usage: test_spec PATH/TO/language.md */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "frontend.h"

static const char *spec_path = "spec/language.md";

static void test_spec_blocks(void **state) {
  (void)state;
  Arena *a = arena_new();
  Diag d;
  diag_init(&d, NULL);
  SrcFile *md;
  assert_int_equal(diag_read_file(a, spec_path, &md, &d), JS_OK);
  int good = 0, bad = 0, line = 1;
  const char *p = md->text;
  while (*p) {
    const char *eol = strchr(p, '\n');
    if (!eol) break;
    bool ok_block = strncmp(p, "```jsc\n", 7) == 0;
    bool err_block = strncmp(p, "```jsc-error\n", 13) == 0;
    int start = line + 1;
    p = eol + 1;
    line++;
    if (!ok_block && !err_block) continue;
    const char *body = p;
    while (*p && strncmp(p, "```", 3) != 0) {
      eol = strchr(p, '\n');
      p = eol ? eol + 1 : p + strlen(p);
      line++;
    }
    char name[64];
    snprintf(name, sizeof name, "language.md:%d", start);
    SrcFile *src = diag_src_from_string(a, name, body, (size_t)(p - body));
    Diag bd;
    diag_init(&bd, NULL);
    Program *prog;
    Status st = fe_parse(src, &prog, &bd);
    if (ok_block && st != JS_OK) fail_msg("block at %s does not parse:\n%s", name, sb_str(&bd.text));
    if (err_block && st == JS_OK) fail_msg("jsc-error block at %s parses", name);
    good += ok_block;
    bad += err_block;
    ir_program_free(prog);
    diag_free(&bd);
  }
  assert_true(good >= 8);
  assert_true(bad >= 3);
  diag_free(&d);
  arena_free(a);
}

int main(int argc, char **argv) {
  if (argc > 1) spec_path = argv[1];
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_spec_blocks)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
