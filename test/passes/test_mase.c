/* test_mase.c — MASE's quantize configs, read as MASE reads them (spec/config.md §11).
 *
 * test/data/mase/NAME.toml are configs in MASE's format, one per table shape MASE's configs/ and
 * tests use.  Each names its model and, for every quantizable node of it, what the node must
 * carry after the pipeline ran, in comments:
 *
 *   # model: examples/jsc_toy.jsc
 *   # expect: seq_blocks_0 float
 *   # expect: seq_blocks_2 linear_integer{name="integer", data_in_width=8, ...}
 *
 * (the node's `quant` clause as the IR prints it, or "float").  Every quantizable node must be
 * listed, in graph order, so a node quantized that should not be fails too.
 *
 * test/data/mase/bad/NAME.toml must be refused, with the error located in the file:
 *
 *   # expect: 9:1: error: quantize: default.config: weight_width: 0 is not a width (1..32)
 *
 * test/data/mase/search/ holds MASE search configs for `jscc search`; here they must parse.
 * The regex dialect (Python's, through PCRE2) is checked on its own at the end. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "frontend.h"
#include "th.h"
#include "tlib.h"

static SrcLoc cfg_loc(void *ud, const char *path) {
  return fe_config_loc(ud, path);
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(a, b);
}

/* The .toml files of dir, sorted (names in a table of 128-byte rows; n returned). */
static int list_tomls(const char *dir, char names[][128], int cap) {
  DIR *dh = opendir(dir);
  assert_non_null(dh);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dh)) && n < cap) {
    size_t len = strlen(e->d_name);
    if (len > 5 && len < 128 && strcmp(e->d_name + len - 5, ".toml") == 0) memcpy(names[n++], e->d_name, len + 1);
  }
  closedir(dh);
  qsort(names, (size_t)n, 128, cmp_name);
  return n;
}

/* The values of "# KEY: value" comment lines of src, one per line, into sb. */
static void comments(const SrcFile *src, const char *key, StrBuf *sb) {
  char tag[32];
  snprintf(tag, sizeof tag, "# %s: ", key);
  size_t tl = strlen(tag);
  for (const char *p = src->text; p && *p;) {
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len > tl && strncmp(p, tag, tl) == 0) {
      sb_putn(sb, p + tl, len - tl);
      sb_putc(sb, '\n');
    }
    p = e ? e + 1 : NULL;
  }
}

/* "NAME float" or "NAME <quant clause>" for every quantizable node, in graph order. */
static void describe(const Graph *g, StrBuf *out) {
  for (const Node *n = g->first; n; n = n->next) {
    if (n->op != OP_CALL_MODULE && n->op != OP_CALL_FUNCTION && n->op != OP_CALL_METHOD) continue;
    if (!ir_op_quantizable(n->mop)) continue;
    StrBuf line;
    sb_init(&line);
    ir_print_node(&line, n);
    const char *q = strstr(sb_str(&line), " quant ");
    if (q) { /* up to the node's source location, if printed */
      const char *end = strstr(q, " loc(");
      if (!end) end = strchr(q, '\n');
      sb_printf(out, "%s %.*s\n", n->name, (int)(end ? end - q - 7 : (long)strlen(q + 7)), q + 7);
    } else {
      sb_printf(out, "%s float\n", n->name);
    }
    sb_free(&line);
  }
}

/* Runs config `path` over the model its "# model:" line names: JS_OK and the nodes' formats
 * in *out, or the status with the diagnostics in d. */
static Status run_config(Arena *a, const char *path, StrBuf *out, Diag *d, const SrcFile **srcp) {
  SrcFile *src = NULL;
  assert_int_equal(diag_read_file(a, path, &src, d), JS_OK);
  *srcp = src;
  StrBuf model;
  sb_init(&model);
  comments(src, "model", &model);
  char mpath[256];
  snprintf(mpath, sizeof mpath, "%s", sb_str(&model));
  sb_free(&model);
  char *nl = strchr(mpath, '\n');
  if (!nl) fail_msg("%s: no '# model: PATH' line", path);
  *nl = 0;
  SrcFile *msrc = NULL;
  Program *prog = NULL;
  assert_int_equal(diag_read_file(a, mpath, &msrc, d), JS_OK);
  assert_int_equal(fe_parse(msrc, &prog, d), JS_OK);
  Graph *g = prog->graphs[0];
  FeConfig *cfg = NULL;
  Pipeline *pl = NULL;
  Status st = pass_run_text("shape", g, d);
  if (!st) st = fe_config_parse(src, &cfg, d);
  const Value *pv = NULL;
  for (int i = 0; !st && i < fe_config_root(cfg)->u.dict.n; i++)
    if (strcmp(fe_config_root(cfg)->u.dict.keys[i], "passes") == 0) pv = &fe_config_root(cfg)->u.dict.vals[i];
  if (!st) st = pass_pipeline_from_value(pv, "passes", cfg_loc, cfg, &pl, d);
  if (!st) {
    PassContext ctx = {.diag = d};
    st = pass_pipeline_run(pl, g, &ctx);
  }
  if (!st) describe(g, out);
  pass_pipeline_free(pl);
  fe_config_free(cfg);
  ir_program_free(prog);
  return st;
}

static void test_corpus(void **state) {
  (void)state;
  static char names[256][128];
  int n = list_tomls("test/data/mase", names, 256);
  assert_true(n >= 15);
  for (int i = 0; i < n; i++) {
    char path[300];
    snprintf(path, sizeof path, "test/data/mase/%.127s", names[i]);
    Arena *a = arena_new();
    Diag d;
    diag_init(&d, NULL);
    StrBuf got, want;
    sb_init(&got);
    sb_init(&want);
    const SrcFile *src = NULL;
#ifndef JSCC_HAVE_PCRE2
    if (strstr(names[i], "regex")) { /* Python's dialect: PCRE2 only */
      sb_free(&got), sb_free(&want), diag_free(&d), arena_free(a);
      continue;
    }
#endif
    Status st = run_config(a, path, &got, &d, &src);
    if (st) fail_msg("%s: refused:\n%s", path, sb_str(&d.text));
    comments(src, "expect", &want);
    if (strcmp(sb_str(&got), sb_str(&want)) != 0) {
      fprintf(stderr, "%s: the nodes' formats differ.\nexpected:\n%sgot:\n%s", path, sb_str(&want), sb_str(&got));
      fail_msg("%s: the nodes' formats differ", path);
    }
    sb_free(&got);
    sb_free(&want);
    diag_free(&d);
    arena_free(a);
  }
}

static void test_bad(void **state) {
  (void)state;
  static char names[256][128];
  int n = list_tomls("test/data/mase/bad", names, 256);
  assert_true(n >= 6);
  for (int i = 0; i < n; i++) {
    char path[300];
    snprintf(path, sizeof path, "test/data/mase/bad/%.127s", names[i]);
    Arena *a = arena_new();
    Diag d;
    diag_init(&d, NULL);
    StrBuf got, want;
    sb_init(&got);
    sb_init(&want);
    const SrcFile *src = NULL;
    Status st = run_config(a, path, &got, &d, &src);
    if (!st) fail_msg("%s: accepted, expected an error", path);
    comments(src, "expect", &want);
    /* each expected line, prefixed with the file, is in the diagnostics */
    char *w = strdup(sb_str(&want));
    assert_non_null(w);
    int k = 0;
    for (char *line = strtok(w, "\n"); line; line = strtok(NULL, "\n"), k++) {
      char full[1024];
      snprintf(full, sizeof full, "%s:%s", path, line);
      if (!strstr(sb_str(&d.text), full)) fail_msg("%s: expected\n  %s\ngot\n%s", path, full, sb_str(&d.text));
    }
    free(w);
    if (!k) fail_msg("%s: no '# expect:' line", path);
    sb_free(&got);
    sb_free(&want);
    diag_free(&d);
    arena_free(a);
  }
}

/* MASE's search configs (for jscc search): valid TOML with a [search.search_space] seed. */
static void test_search_configs(void **state) {
  (void)state;
  static char names[64][128];
  int n = list_tomls("test/data/mase/search", names, 64);
  assert_true(n >= 2);
  for (int i = 0; i < n; i++) {
    char path[300];
    snprintf(path, sizeof path, "test/data/mase/search/%.127s", names[i]);
    Diag d;
    diag_init(&d, NULL);
    FeConfig *c = NULL;
    if (fe_config_read(path, &c, &d)) fail_msg("%s", sb_str(&d.text));
    assert_true(fe_config_loc(c, "search.search_space.seed.default.config.name").line > 0);
    fe_config_free(c);
    diag_free(&d);
  }
}

static bool rx(const char *pat, const char *name) {
  PassRegex *r = NULL;
  char err[256];
  if (pass_regex_compile(pat, &r, err, sizeof err)) fail_msg("regex '%s': %s", pat, err);
  bool m = pass_regex_fullmatch(r, name);
  pass_regex_free(r);
  return m;
}

/* re.fullmatch, in Python's dialect where jscc has PCRE2. */
static void test_regex_dialect(void **state) {
  (void)state;
  assert_true(rx("seq_blocks_2", "seq_blocks_2"));
  assert_false(rx("seq_blocks_2", "seq_blocks_20")); /* the whole name */
  assert_false(rx("blocks_2", "seq_blocks_2"));      /* from its start */
  assert_true(rx("seq_blocks_(2|5)", "seq_blocks_5"));
  assert_true(rx("seq_blocks_1|seq_blocks_5", "seq_blocks_5")); /* alternation spans the whole pattern */
  PassRegex *r = NULL;
  char err[256];
  assert_int_equal(pass_regex_compile("seq_blocks_(2", &r, err, sizeof err), JS_ERR);
  assert_null(r);
  assert_true(strlen(err) > 0);
#ifdef JSCC_HAVE_PCRE2
  assert_string_equal(pass_regex_dialect(), "Python's dialect, through PCRE2");
  assert_true(rx("seq_blocks_\\d+", "seq_blocks_12"));
  assert_false(rx("seq_blocks_\\d", "seq_blocks_12"));
  assert_true(rx("(?P<layer>seq_blocks)_(?:2|8)", "seq_blocks_8"));
  assert_true(rx("(?!seq_blocks_2$)seq_blocks_\\d", "seq_blocks_5")); /* lookahead */
  assert_false(rx("(?!seq_blocks_2$)seq_blocks_\\d", "seq_blocks_2"));
  assert_true(rx("\\w+_\\x32", "seq_blocks_2")); /* \xhh as Python reads it */
  assert_true(rx("(?i)SEQ_BLOCKS_2", "seq_blocks_2"));
  assert_false(rx("(a+)+b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac")); /* bounded, no hang */
#else
  assert_non_null(strstr(pass_regex_dialect(), "POSIX"));
#endif
}

int main(void) {
  if (chdir(tl_source_root()) != 0) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_corpus),
      cmocka_unit_test(test_bad),
      cmocka_unit_test(test_search_configs),
      cmocka_unit_test(test_regex_dialect),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
