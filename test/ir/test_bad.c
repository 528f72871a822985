/* test_bad.c — the bad-IR corpus: every .ir file of test/bad/ir must fail to parse (parse errors or
 * verifier errors), and each "# expect: LINE:COL: error: TEXT" line in it must appear as
 * "FILE:LINE:COL: error: TEXT..." among the messages.  (The lead's runner checks the same
 * through `jscc FILE.ir --passes=verify`.)  argv[1]: the corpus directory. */
#include "helpers.h"

#include <dirent.h>
#include <stdio.h>

static const char *dir;

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_corpus(void **state) {
  (void)state;
  DIR *dp = opendir(dir);
  if (!dp) fail_msg("cannot open %s", dir);
  char *names[512];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dp)) && n < 512) {
    size_t len = strlen(e->d_name);
    if (len > 3 && strcmp(e->d_name + len - 3, ".ir") == 0) names[n++] = strdup(e->d_name);
  }
  closedir(dp);
  qsort(names, (size_t)n, sizeof *names, by_name);
  assert_true(n >= 14);
  int checked = 0;
  for (int i = 0; i < n; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    Arena *a = arena_new();
    Diag d;
    diag_init(&d, NULL);
    SrcFile *f = NULL;
    assert_int_equal(diag_read_file(a, path, &f, &d), JS_OK);
    Program *p = NULL;
    Status st = ir_parse(f, &p, &d);
    if (st == JS_OK) fail_msg("%s: parsed and verified, but it is in the bad corpus", path);
    assert_null(p);
    int expects = 0;
    for (const char *line = f->text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
      if (strncmp(line, "# expect: ", 10) != 0) continue;
      const char *eol = strchr(line, '\n');
      size_t len = eol ? (size_t)(eol - line) - 10 : strlen(line + 10);
      char want[2200];
      snprintf(want, sizeof want, "%s:%.*s", path, (int)len, line + 10);
      if (!strstr(sb_str(&d.text), want)) fail_msg("%s: want\n  %s\ngot\n%s", path, want, sb_str(&d.text));
      expects++;
    }
    if (!expects) fail_msg("%s has no '# expect:' line", path);
    checked++;
    diag_free(&d);
    arena_free(a);
    free(names[i]);
  }
  printf("# %d bad IR files checked\n", checked);
}

int main(int argc, char **argv) {
  dir = argc > 1 ? argv[1] : "test/bad/ir";
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_corpus)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
