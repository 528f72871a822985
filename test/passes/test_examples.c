/* test_examples.c — the passes over the real front end: every examples/NAME.jsc goes through
 * fe_parse, then shape, metadata, params, report-graph and verify.  Models whose parameter
 * count MASE documents (reference/mase_facts.md §2, the lab report's JSC_Big) are checked
 * against it.  Also: a shape error from .jsc source is located at the offending call. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "frontend.h"
#include "th.h"
#include "tlib.h"


/* Trainable parameter counts by model name (case and '-'/'_' ignored). */
static const struct {
  const char *name;
  long params;
} known[] = {
    {"jsctiny", 117}, {"jscbig", 1397}, {"jsctoy", 327}, {"jscs", 5615}, {"jsctrt", 3231}, {"jscthreelinearlayers", 661},
};

static long known_params(const char *model) {
  char key[64];
  size_t n = 0;
  for (const char *p = model; *p && n + 1 < sizeof key; p++)
    if (*p != '_' && *p != '-') key[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
  key[n] = 0;
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(known[i].name, key) == 0) return known[i].params;
  return -1;
}

static int check_file(const char *path) {
  Arena *a = arena_new();
  Diag d;
  diag_init(&d, stderr);
  SrcFile *src;
  Program *prog = NULL;
  assert_int_equal(diag_read_file(a, path, &src, &d), JS_OK);
  Status st = fe_parse(src, &prog, &d);
  if (st) print_error("%s: fe_parse failed\n", path);
  assert_int_equal(st, JS_OK);
  int ngraphs = prog->ngraphs;
  for (int i = 0; i < prog->ngraphs; i++) {
    Graph *g = prog->graphs[i];
    StrBuf r;
    sb_init(&r);
    st = th_run(g, "shape,metadata,params,report-graph,verify", &r, &d);
    if (st) print_error("%s: model %s failed\n", path, g->name);
    assert_int_equal(st, JS_OK);
    for (Node *n = g->first; n; n = n->next) {
      assert_non_null(ir_meta_get(n, "mase_type"));
      assert_non_null(ir_meta_get(n, "common"));
      if (n->op != OP_OUTPUT || (n->nargs == 1 && n->args[0].kind == VAL_NODE)) assert_true(n->has_type);
    }
    assert_contains(sb_str(&r), "\nTotal trainable parameters: ");
    assert_contains(sb_str(&r), "Graph Analysis Report\ngraph():\n");
    long want = known_params(g->name);
    if (want >= 0) {
      char line[64];
      snprintf(line, sizeof line, "\nTotal trainable parameters: %ld\n", want);
      assert_contains(sb_str(&r), line);
      /* the count agrees with the core's own */
      int64_t np = 0, nb = 0;
      ir_module_count(g->root, &np, &nb);
      assert_int_equal(np, want);
    }
    sb_free(&r);
  }
  ir_program_free(prog);
  diag_free(&d);
  arena_free(a);
  return ngraphs;
}

static void test_every_example(void **state) {
  char dirbuf[1024];
  const char *dir = tl_src(dirbuf, sizeof dirbuf, "examples");
  DIR *dp = opendir(dir);
  if (!dp) skip();
  int files = 0, models = 0;
  struct dirent *e;
  while ((e = readdir(dp))) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".jsc") != 0) continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    models += check_file(path);
    files++;
  }
  closedir(dp);
  print_message("checked %d models in %d examples\n", models, files);
  assert_true(files > 0);
}

static void test_located_shape_error(void **state) {
  const char *text = "model Bad {\n    input x: f32[B, 32]\n    fc = Linear(16, 5)\n    h = fc(x)\n"
                     "    return h.view(-1, 8)\n}\n";
  Arena *a = arena_new();
  SrcFile *src = diag_src_from_string(a, "bad.jsc", text, strlen(text));
  Diag d;
  diag_init(&d, NULL);
  Program *prog = NULL;
  assert_int_equal(fe_parse(src, &prog, &d), JS_OK);
  assert_int_equal(th_run(prog->graphs[0], "shape", NULL, &d), JS_ERR);
  /* one error: the view after the failed call is skipped, not reported again */
  assert_int_equal(d.nerrors, 1);
  assert_string_equal(sb_str(&d.text),
                      "bad.jsc:4:9: error: Linear(in_features=16, out_features=5) expects 16 input features, got f32[B,32]\n"
                      "    4 |     h = fc(x)\n"
                      "      |         ^\n"
                      "note: in pass 'shape' (it ran first)\n");
  ir_program_free(prog);
  diag_free(&d);
  arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_example),
      cmocka_unit_test(test_located_shape_error),
  };
  return cmocka_run_group_tests_name("examples", tests, NULL, NULL);
}
