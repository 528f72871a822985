/* test_config.c — the config front end (frontend/config.[lyc], spec/config.md): MASE's
 * example config parses to the expected tree, every value type and table form, the
 * locations fe_config_loc gives, every error (inline here and in the bad-input corpus
 * test/bad/config), every example config in examples/configs, and recovery from allocation
 * failure at every point.
 *
 * Usage: test_config SOURCE_ROOT */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "../fail_nth.h"

static const char *src_root = ".";

/* MASE's configs/examples/jsc_toy_by_type.toml (the passes part), verbatim. */
static const char *const mase_example =
    "model = \"jsc-tiny\"\n"
    "batch_size = 512\n"
    "learning_rate = 1e-2\n"
    "[passes.quantize]\n"
    "by = \"type\"\n"
    "[passes.quantize.default.config]\n"
    "name = \"NA\"\n"
    "[passes.quantize.linear.config]\n"
    "name = \"integer\"\n"
    "data_in_width = 8\n"
    "data_in_frac_width = 4\n"
    "weight_width = 8\n"
    "weight_frac_width = 4\n"
    "bias_width = 8\n"
    "bias_frac_width = 4\n"
    "[passes.report_node_meta_param]\n"
    "which = [\"software\"]\n";

/* ---- helpers ---- */

typedef struct Parsed {
  Arena *a;      /* holds the SrcFile */
  Diag d;
  FeConfig *c;
  Status st;
} Parsed;

static Parsed parse_text(const char *text, size_t len) {
  Parsed r;
  r.a = arena_new();
  assert_non_null(r.a);
  diag_init(&r.d, NULL);
  SrcFile *src = diag_src_from_string(r.a, "t.toml", text, len);
  assert_non_null(src);
  r.st = fe_config_parse(src, &r.c, &r.d);
  return r;
}

static Parsed parse_str(const char *text) {
  return parse_text(text, strlen(text));
}

static void done(Parsed *r) {
  fe_config_free(r->c);
  diag_free(&r->d);
  arena_free(r->a);
}

/* The text must parse; returns the root printed by val_print. */
static char *ok_tree(const char *text) {
  Parsed r = parse_text(text, strlen(text));
  if (r.st != JS_OK) fprintf(stderr, "unexpected error for:\n%s\n%s", text, sb_str(&r.d.text));
  assert_int_equal(r.st, JS_OK);
  assert_non_null(r.c);
  assert_int_equal(r.d.nerrors, 0);
  const Value *root = fe_config_root(r.c);
  assert_int_equal(root->kind, VAL_DICT);
  StrBuf sb;
  sb_init(&sb);
  val_print(&sb, root);
  char *s = strdup(sb_str(&sb));
  sb_free(&sb);
  done(&r);
  return s;
}

static void expect_tree(const char *text, const char *want) {
  char *got = ok_tree(text);
  if (strcmp(got, want) != 0) fprintf(stderr, "input:\n%s\nwant: %s\ngot:  %s\n", text, want, got);
  assert_string_equal(got, want);
  free(got);
}

/* The text (len bytes) must be refused with JS_ERR, *out NULL, and a message that holds
 * `want` (which starts with "LINE:COL: error: ", checked against "t.toml:" + want). */
static void expect_error_n(const char *text, size_t len, const char *want) {
  Parsed r = parse_text(text, len);
  char full[512];
  snprintf(full, sizeof full, "t.toml:%s", want);
  if (r.st != JS_ERR || !strstr(sb_str(&r.d.text), full))
    fprintf(stderr, "input:\n%.*s\nwanted '%s', got (status %d):\n%.2000s", len > 200 ? 200 : (int)len, text, full,
            r.st, sb_str(&r.d.text));
  assert_int_equal(r.st, JS_ERR);
  assert_null(r.c);
  assert_non_null(strstr(sb_str(&r.d.text), full));
  done(&r);
}

static void expect_error(const char *text, const char *want) {
  expect_error_n(text, strlen(text), want);
}

static const Value *get(const Value *dict, const char *key) {
  assert_int_equal(dict->kind, VAL_DICT);
  for (int i = 0; i < dict->u.dict.n; i++)
    if (strcmp(dict->u.dict.keys[i], key) == 0) return &dict->u.dict.vals[i];
  fail_msg("no key '%s'", key);
  return NULL;
}

/* ---- the MASE example ---- */

static void test_mase_example(void **state) {
  (void)state;
  Parsed r = parse_text(mase_example, strlen(mase_example));
  assert_int_equal(r.st, JS_OK);
  const Value *root = fe_config_root(r.c);
  StrBuf sb;
  sb_init(&sb);
  val_print(&sb, root);
  assert_string_equal(sb_str(&sb),
                      "{model=\"jsc-tiny\", batch_size=512, learning_rate=0.01, passes={quantize={by=\"type\", "
                      "default={config={name=\"NA\"}}, linear={config={name=\"integer\", data_in_width=8, "
                      "data_in_frac_width=4, weight_width=8, weight_frac_width=4, bias_width=8, bias_frac_width=4}}}, "
                      "report_node_meta_param={which=[\"software\"]}}}");
  sb_free(&sb);
  /* kinds, not only the printed form */
  assert_int_equal(get(root, "model")->kind, VAL_STR);
  assert_int_equal(get(root, "batch_size")->kind, VAL_INT);
  assert_int_equal(get(root, "batch_size")->u.i, 512);
  assert_int_equal(get(root, "learning_rate")->kind, VAL_FLOAT);
  assert_true(get(root, "learning_rate")->u.f == 1e-2);
  const Value *q = get(get(root, "passes"), "quantize");
  const Value *na = get(get(get(q, "default"), "config"), "name");
  assert_int_equal(na->kind, VAL_STR);
  assert_string_equal(na->u.s, "NA"); /* "NA" stays a string: the quantize pass reads it */
  const Value *lin = get(get(q, "linear"), "config");
  assert_int_equal(lin->u.dict.n, 7);
  assert_string_equal(lin->u.dict.keys[0], "name");
  assert_string_equal(lin->u.dict.keys[6], "bias_frac_width");
  const Value *which = get(get(get(root, "passes"), "report_node_meta_param"), "which");
  assert_int_equal(which->kind, VAL_LIST);
  assert_int_equal(which->u.seq.n, 1);
  assert_string_equal(which->u.seq.items[0].u.s, "software");
  done(&r);
}

static void test_mase_example_file(void **state) {
  (void)state;
  /* the same text through fe_config_read, from a file */
  char path[] = "/tmp/jscc_test_config_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  assert_non_null(f);
  fputs(mase_example, f);
  fclose(f);
  Diag d;
  diag_init(&d, NULL);
  FeConfig *c = NULL;
  assert_int_equal(fe_config_read(path, &c, &d), JS_OK);
  SrcLoc loc = fe_config_loc(c, "passes.quantize.linear.config.weight_width");
  assert_non_null(loc.file);
  assert_string_equal(loc.file->path, path);
  assert_int_equal(loc.line, 12);
  assert_int_equal(loc.col, 1);
  fe_config_free(c);
  remove(path);
  /* a file that is not there */
  c = (FeConfig *)&d; /* must be reset to NULL */
  assert_int_equal(fe_config_read("/nonexistent/jscc.toml", &c, &d), JS_EIO);
  assert_null(c);
  assert_non_null(strstr(sb_str(&d.text), "cannot open '/nonexistent/jscc.toml'"));
  diag_free(&d);
}

/* ---- values ---- */

static void test_integers(void **state) {
  (void)state;
  expect_tree("a = 0\nb = +42\nc = -17\nd = 1_000_000\ne = 5_3_4\nf = -0\n",
              "{a=0, b=42, c=-17, d=1000000, e=534, f=0}");
  expect_tree("h = 0xDEADbeef\ni = 0xdead_beef\no = 0o755\nb = 0b1101_0110\nz = 0x0\n",
              "{h=3735928559, i=3735928559, o=493, b=214, z=0}");
  expect_tree("max = 9223372036854775807\nmin = -9223372036854775808\nhex = 0x7FFFFFFFFFFFFFFF\n",
              "{max=9223372036854775807, min=-9223372036854775808, hex=9223372036854775807}");
}

static void test_floats(void **state) {
  (void)state;
  expect_tree("a = 1.0\nb = 3.1415\nc = -0.01\nd = 5e+22\ne = 1e06\nf = -2E-2\ng = 6.626e-34\n"
              "h = 224_617.445_991_228\ni = 1e-2\nj = +1.5\n",
              "{a=1.0, b=3.1415, c=-0.01, d=5e+22, e=1000000.0, f=-0.02, g=6.626e-34, h=224617.445991228, "
              "i=0.01, j=1.5}");
  Parsed r = parse_str("a = inf\nb = +inf\nc = -inf\nd = nan\ne = +nan\nf = -nan\ng = -0.0\n");
  assert_int_equal(r.st, JS_OK);
  const Value *root = fe_config_root(r.c);
  assert_true(isinf(get(root, "a")->u.f) && get(root, "a")->u.f > 0);
  assert_true(isinf(get(root, "b")->u.f) && get(root, "b")->u.f > 0);
  assert_true(isinf(get(root, "c")->u.f) && get(root, "c")->u.f < 0);
  assert_true(isnan(get(root, "d")->u.f) && isnan(get(root, "e")->u.f) && isnan(get(root, "f")->u.f));
  assert_int_equal(get(root, "g")->kind, VAL_FLOAT);
  assert_true(signbit(get(root, "g")->u.f));
  done(&r);
}

static void test_booleans(void **state) {
  (void)state;
  Parsed r = parse_str("t = true\nf = false\n");
  assert_int_equal(r.st, JS_OK);
  const Value *root = fe_config_root(r.c);
  assert_int_equal(get(root, "t")->kind, VAL_BOOL);
  assert_true(get(root, "t")->u.b);
  assert_false(get(root, "f")->u.b);
  done(&r);
}

static void test_strings(void **state) {
  (void)state;
  /* basic strings and every escape */
  expect_tree("s = \"a\\\"b\\\\c\\nd\\te\\rf\\bg\\fh\"\n", "{s=\"a\\\"b\\\\c\\nd\\te\\rf\\x08g\\x0ch\"}");
  Parsed r = parse_str("u = \"\\u00e9\\u20AC\\U0001F600 \\U0000004B\"\nraw = \"caf\xc3\xa9\"\n");
  assert_int_equal(r.st, JS_OK);
  assert_string_equal(get(fe_config_root(r.c), "u")->u.s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 K");
  assert_string_equal(get(fe_config_root(r.c), "raw")->u.s, "caf\xc3\xa9");
  done(&r);
  /* literal strings keep backslashes */
  expect_tree("p = 'C:\\Users\\nodejs'\nq = '<\\i\\c*\\s*>'\ne = ''\n",
              "{p=\"C:\\\\Users\\\\nodejs\", q=\"<\\\\i\\\\c*\\\\s*>\", e=\"\"}");
  /* multi-line basic: the first newline goes, a line-ending backslash joins lines */
  expect_tree("m = \"\"\"\nRoses\nViolets\"\"\"\n", "{m=\"Roses\\nViolets\"}");
  expect_tree("m = \"\"\"\nThe quick \\\n\n   brown \\   \n   fox.\"\"\"\n", "{m=\"The quick brown fox.\"}");
  expect_tree("m = \"\"\"Here are two quotation marks: \"\". Simple enough.\"\"\"\n",
              "{m=\"Here are two quotation marks: \\\"\\\". Simple enough.\"}");
  expect_tree("m = \"\"\"\"This,\" she said, \"is just a pointless statement.\"\"\"\"\n",
              "{m=\"\\\"This,\\\" she said, \\\"is just a pointless statement.\\\"\"}");
  expect_tree("m = \"\"\"\"\"\"\nn = \"\"\"a\r\nb\"\"\"\n", "{m=\"\", n=\"a\\r\\nb\"}");
  /* multi-line literal */
  expect_tree("re = '''I [dw]on't need \\d{2} apples'''\nl = '''\nThe first newline is\ntrimmed.\n'''\n",
              "{re=\"I [dw]on't need \\\\d{2} apples\", l=\"The first newline is\\ntrimmed.\\n\"}");
  expect_tree("q = ''''That,' she said, 'is still pointless.''''\n",
              "{q=\"'That,' she said, 'is still pointless.'\"}");
  /* tab is the one control character allowed as is */
  expect_tree("t = \"a\tb\"\n", "{t=\"a\\tb\"}");
}

static void test_arrays(void **state) {
  (void)state;
  expect_tree("a = []\nb = [1, 2, 3]\nc = [\"red\", 'yellow', \"\"\"green\"\"\"]\nd = [[1, 2], [3, [4]]]\n"
              "e = [1, 2.0, \"x\", true, [], {}]\n",
              "{a=[], b=[1, 2, 3], c=[\"red\", \"yellow\", \"green\"], d=[[1, 2], [3, [4]]], "
              "e=[1, 2.0, \"x\", true, [], {}]}");
  /* multi-line, with comments and a trailing comma */
  expect_tree("which = [\n  \"software\", # first\n  # a comment line\n  \"hardware\",\n]\nnext = 1\n",
              "{which=[\"software\", \"hardware\"], next=1}");
  expect_tree("a = [ { x = 1, y = 2 }, { x = 3 } ]\n", "{a=[{x=1, y=2}, {x=3}]}");
}

static void test_tables(void **state) {
  (void)state;
  /* dotted and quoted keys */
  expect_tree("a.b.c = 1\na.b.d = 2\na.e = 3\n\"x.y\" = 4\n'lit' = 5\n\"\" = 6\n3.14 = 7\nbare-key_1 = 8\n"
              "site.\"google.com\" = true\n",
              "{a={b={c=1, d=2}, e=3}, \"x.y\"=4, lit=5, \"\"=6, \"3\"={\"14\"=7}, \"bare-key_1\"=8, "
              "site={\"google.com\"=true}}");
  /* white space around dots */
  expect_tree("fruit . color = \"yellow\"\n[ dog . \"tater.man\" ]\ntype = \"pug\"\n",
              "{fruit={color=\"yellow\"}, dog={\"tater.man\"={type=\"pug\"}}}");
  /* a table named by a header's path may be defined later; key order is first mention */
  expect_tree("[x.y.z]\na = 1\n[x]\nb = 2\n[x.w]\n", "{x={y={z={a=1}}, b=2, w={}}}");
  /* headers may add sub-tables to tables made by dotted keys */
  expect_tree("[fruit]\napple.color = \"red\"\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true\n",
              "{fruit={apple={color=\"red\", taste={sweet=true}, texture={smooth=true}}}}");
  /* inline tables, nested, with dotted keys */
  expect_tree("p = {x = 1, y.z = 2, q = {r = [3]}}\ne = {}\n", "{p={x=1, y={z=2}, q={r=[3]}}, e={}}");
  /* arrays of tables, with sub-tables and nested arrays of tables */
  expect_tree("[[fruits]]\nname = \"apple\"\n[fruits.physical]\ncolor = \"red\"\n[[fruits.varieties]]\n"
              "name = \"red delicious\"\n[[fruits.varieties]]\nname = \"granny smith\"\n[[fruits]]\nname = \"banana\"\n"
              "[[fruits.varieties]]\nname = \"plantain\"\n",
              "{fruits=[{name=\"apple\", physical={color=\"red\"}, varieties=[{name=\"red delicious\"}, "
              "{name=\"granny smith\"}]}, {name=\"banana\", varieties=[{name=\"plantain\"}]}]}");
  /* empty files, comments and blank lines, CRLF, no final newline */
  expect_tree("", "{}");
  expect_tree("# only a comment", "{}");
  expect_tree("\n\n  # c\n\t\n", "{}");
  expect_tree("a = 1\r\n[b]\r\nc = 2 # x\r\n", "{a=1, b={c=2}}");
  expect_tree("a = 1", "{a=1}");
  /* keys that look like values are keys */
  expect_tree("true = 1\ninf = 2\n1234 = 3\n", "{true=1, inf=2, \"1234\"=3}");
}

/* A table long enough to be indexed by hash: order kept, duplicates still found. */
static void test_many_keys(void **state) {
  (void)state;
  StrBuf sb;
  sb_init(&sb);
  for (int i = 0; i < 2000; i++) sb_printf(&sb, "k%d = %d\n", i, i);
  Parsed r = parse_text(sb_str(&sb), sb.len);
  assert_int_equal(r.st, JS_OK);
  const Value *root = fe_config_root(r.c);
  assert_int_equal(root->u.dict.n, 2000);
  assert_string_equal(root->u.dict.keys[1234], "k1234");
  assert_int_equal(root->u.dict.vals[1234].u.i, 1234);
  assert_int_equal(fe_config_loc(r.c, "k1999").line, 2000);
  done(&r);
  sb_puts(&sb, "k1500 = 0\n");
  expect_error_n(sb_str(&sb), sb.len, "2001:1: error: key 'k1500' is defined twice (first at t.toml:1501:1)");
  sb_free(&sb);
}

/* ---- locations ---- */

static void expect_loc(const FeConfig *c, const char *path, int line, int col) {
  SrcLoc l = fe_config_loc(c, path);
  if (l.line != line || l.col != col) fprintf(stderr, "%s: want %d:%d, got %d:%d\n", path, line, col, l.line, l.col);
  assert_int_equal(l.line, line);
  assert_int_equal(l.col, col);
  if (line) {
    assert_non_null(l.file);
    assert_string_equal(l.file->path, "t.toml");
  } else {
    assert_null(l.file);
  }
}

static void test_loc(void **state) {
  (void)state;
  Parsed r = parse_text(mase_example, strlen(mase_example));
  assert_int_equal(r.st, JS_OK);
  expect_loc(r.c, "model", 1, 1);
  expect_loc(r.c, "learning_rate", 3, 1);
  expect_loc(r.c, "passes", 4, 2);           /* named first by [passes.quantize] */
  expect_loc(r.c, "passes.quantize", 4, 9);
  expect_loc(r.c, "passes.quantize.by", 5, 1);
  expect_loc(r.c, "passes.quantize.default.config", 6, 26);
  expect_loc(r.c, "passes.quantize.default.config.name", 7, 1);
  expect_loc(r.c, "passes.quantize.linear.config.weight_width", 12, 1);
  expect_loc(r.c, "passes.report_node_meta_param.which", 17, 1);
  expect_loc(r.c, "passes.report_node_meta_param.which.0", 17, 10); /* an item: where its value is */
  /* quoting a component is allowed, in either kind of quotes */
  expect_loc(r.c, "\"passes\".'quantize'.\"by\"", 5, 1);
  /* unknown keys and malformed paths */
  expect_loc(r.c, "passes.quantize.linear.config.weight_widht", 0, 0);
  expect_loc(r.c, "passes.report_node_meta_param.which.1", 0, 0);
  expect_loc(r.c, "", 0, 0);
  expect_loc(r.c, "passes.", 0, 0);
  expect_loc(r.c, ".passes", 0, 0);
  expect_loc(r.c, "passes..quantize", 0, 0);
  expect_loc(r.c, "passes.\"quantize", 0, 0);
  expect_loc(r.c, "passes quantize", 0, 0);
  expect_loc(r.c, "passes.\"\\q\"", 0, 0);
  done(&r);

  const char *text = "[[servers]]\nip = \"10.0.0.1\"\n[[servers]]\n  ip = \"10.0.0.2\"\n"
                     "[dns]\n\"a.b\" = 1\n'c\"d' = 2\n\"\" = 3\nq.\"x y\".z = {w = [1, {v = 2}]}\n"
                     "\"\\u00e9\" = 4\n";
  r = parse_text(text, strlen(text));
  assert_int_equal(r.st, JS_OK);
  expect_loc(r.c, "servers", 1, 3);
  expect_loc(r.c, "servers.0", 1, 3); /* an element of an array of tables: its header */
  expect_loc(r.c, "servers.1", 3, 3);
  expect_loc(r.c, "servers.1.ip", 4, 3);
  expect_loc(r.c, "dns.\"a.b\"", 6, 1); /* a component with a dot is quoted */
  expect_loc(r.c, "dns.'a.b'", 6, 1);
  expect_loc(r.c, "dns.a.b", 0, 0);
  expect_loc(r.c, "dns.'c\"d'", 7, 1);
  expect_loc(r.c, "dns.\"c\\\"d\"", 7, 1);
  expect_loc(r.c, "dns.\"\"", 8, 1);
  expect_loc(r.c, "dns.q.\"x y\".z", 9, 9);
  expect_loc(r.c, "dns.q.\"x y\".z.w.1", 9, 22);
  expect_loc(r.c, "dns.q.\"x y\".z.w.1.v", 9, 23);
  expect_loc(r.c, "dns.\"\\u00e9\"", 10, 1);
  expect_loc(r.c, "dns.\"\xc3\xa9\"", 10, 1);
  expect_loc(r.c, "dns.\xc3\xa9", 0, 0); /* not a bare key */
  done(&r);
}

/* The config keeps its own copy of the source: locations outlive the caller's SrcFile. */
static void test_loc_outlives_source(void **state) {
  (void)state;
  Parsed r = parse_str("a = 1\nb = 2\n");
  assert_int_equal(r.st, JS_OK);
  arena_free(r.a);
  r.a = NULL;
  SrcLoc l = fe_config_loc(r.c, "b");
  assert_int_equal(l.line, 2);
  assert_string_equal(l.file->path, "t.toml");
  assert_memory_equal(l.file->text, "a = 1\nb = 2\n", 12);
  Diag d;
  diag_init(&d, NULL);
  diag_error(&d, l, "value out of range");
  assert_string_equal(sb_str(&d.text), "t.toml:2:1: error: value out of range\n    2 | b = 2\n      | ^\n");
  diag_free(&d);
  fe_config_free(r.c);
  diag_free(&r.d);
}

/* ---- errors ---- */

static void test_errors_message_format(void **state) {
  (void)state;
  /* the whole message: location, text, source line and caret, then the first place */
  Parsed r = parse_str("[a]\nx = 1\nx = 2\n");
  assert_int_equal(r.st, JS_ERR);
  assert_string_equal(sb_str(&r.d.text), "t.toml:3:1: error: key 'a.x' is defined twice (first at t.toml:2:1)\n"
                                         "    3 | x = 2\n"
                                         "      | ^\n"
                                         "t.toml:2:1: note: 'a.x' is first defined here\n"
                                         "    2 | x = 1\n"
                                         "      | ^\n");
  assert_int_equal(r.d.nerrors, 1); /* the first error stops the parse */
  done(&r);
}

static void test_errors(void **state) {
  (void)state;
  /* duplicates, in every form */
  expect_error("a = 1\na = 2\n", "2:1: error: key 'a' is defined twice (first at t.toml:1:1)");
  expect_error("a = 1\n\"a\" = 2\n", "2:1: error: key 'a' is defined twice");
  expect_error("a.b = 1\na.b = 2\n", "2:3: error: key 'a.b' is defined twice (first at t.toml:1:3)");
  expect_error("p = {x = 1, x = 2}\n", "1:13: error: key 'p.x' is defined twice (first at t.toml:1:6)");
  expect_error("p = [{x = 1}, {y = 2, y = 3}]\n", "1:23: error: key 'p.1.y' is defined twice");
  expect_error("[[s]]\na = 1\n[[s]]\na = 1\na = 2\n", "5:1: error: key 's.1.a' is defined twice (first at t.toml:4:1)");
  expect_error("[a]\n[b]\n[a]\n", "3:2: error: table [a] is defined twice (first at t.toml:1:2)");
  expect_error("[a.b]\n[a]\n[a]\n", "3:2: error: table [a] is defined twice (first at t.toml:2:2)");
  expect_error("[a]\nb = 1\n[a.b]\n", "3:4: error: cannot define table [a.b]: 'a.b' is already defined as an integer at t.toml:2:1");
  expect_error("[a]\nb = 1\n[a.b.c]\n", "3:4: error: cannot define table [a.b.c]: 'a.b' is already defined as an integer");
  expect_error("a = {}\n[a]\n", "2:2: error: cannot define table [a]: 'a' is already defined as an inline table");
  expect_error("a = {b = {}}\na.b.c = 1\n", "2:1: error: cannot define 'a.b.c': 'a' is an inline table (at t.toml:1:1), which cannot be extended");
  expect_error("p = {a.b = 1, a = 2}\n", "1:15: error: key 'p.a' is defined twice");
  expect_error("a.b.c = 1\n[a.b]\n", "2:4: error: table [a.b] is already defined by dotted keys at t.toml:1:3");
  expect_error("a.b = 1\n[a.b]\n", "2:4: error: cannot define table [a.b]: 'a.b' is already defined as an integer");
  expect_error("[a]\nb.c = 1\n[a.b]\n", "3:4: error: table [a.b] is already defined by dotted keys");
  expect_error("[a.b]\nx = 1\n[a]\nb.y = 2\n", "4:1: error: cannot define 'b.y' with a dotted key: table 'a.b' is defined by a header");
  expect_error("[a.b.c]\n[a]\nb.y = 2\n", "3:1: error: cannot define 'b.y' with a dotted key: table 'a.b' is defined by a header at t.toml:1:4");
  expect_error("[[a]]\n[a]\n", "2:2: error: table [a] is already defined as an array of tables at t.toml:1:3 (write [[a]] to add an element)");
  expect_error("[a]\n[[a]]\n", "2:3: error: cannot define array of tables [[a]]: 'a' is already defined as a table at t.toml:1:2");
  expect_error("[a.b]\n[[a]]\n", "2:3: error: cannot define array of tables [[a]]: 'a' is already a table (named by a header at t.toml:1:2)");
  expect_error("a = [1]\n[[a]]\n", "2:3: error: cannot define array of tables [[a]]: 'a' is already defined as an array at t.toml:1:1");
  expect_error("a = [{}]\n[a.b]\n", "2:2: error: cannot define table [a.b]: 'a' is already defined as an array");
  expect_error("a = \"s\"\na.b = 1\n", "2:1: error: cannot define 'a.b': 'a' is already defined as a string");
  expect_error("a = true\n[a.b]\n", "2:2: error: cannot define table [a.b]: 'a' is already defined as a boolean");
  expect_error("a = 1.5\na.b = 1\n", "2:1: error: cannot define 'a.b': 'a' is already defined as a float");
  /* strings */
  expect_error("a = \"\\q\"\n", "1:6: error: invalid escape '\\q'");
  expect_error("a = \"\\x41\"\n", "1:6: error: invalid escape '\\x'");
  expect_error("a = \"\\ \"\n", "1:6: error: invalid escape: a backslash must be followed by one of");
  expect_error("a = \"\\u12\"\n", "1:6: error: invalid escape: \\u takes 4 hexadecimal digits");
  expect_error("a = \"\\U0011FFFF\"\n", "1:6: error: invalid escape: \\U0011FFFF is not a Unicode scalar value");
  expect_error("a = \"\\uD83D\"\n", "1:6: error: invalid escape: \\uD83D is not a Unicode scalar value");
  expect_error("a = \"\\u0000\"\n", "1:6: error: invalid escape: \\u0000 (NUL) is not allowed");
  expect_error("a = \"abc\n", "1:5: error: unterminated string");
  expect_error("a = \"abc\\\n", "1:5: error: unterminated string");
  expect_error("a = 'abc\n", "1:5: error: unterminated string (a '...' string");
  expect_error("\"abc = 1\n", "1:1: error: unterminated string");
  expect_error("a = \"\"\"abc\"\"\n", "1:5: error: unterminated multi-line string (no closing \"\"\")");
  expect_error("a = '''abc\n", "1:5: error: unterminated multi-line string (no closing ''')");
  expect_error("a = \"\"\"abc\\ x\"\"\"\n", "1:11: error: invalid escape");
  expect_error("'''k''' = 1\n", "1:1: error: a multi-line string cannot be a key");
  expect_error("a = \"\"\"\nx\ry\"\"\"\n", "2:2: error: control character U+000D in string");
  expect_error("a = 'x\x1by'\n", "1:7: error: control character U+001B in string");
  expect_error("a = \"x\x7f\"\n", "1:7: error: control character U+007F in string");
  expect_error("\"k\x01\" = 1\n", "1:3: error: control character U+0001 in key");
  /* numbers */
  expect_error("a = 1__0\n", "1:5: error: invalid number '1__0' (an underscore must stand between two digits)");
  expect_error("a = _1\n", "1:5: error: invalid value '_1'");
  expect_error("a = 1_\n", "1:5: error: invalid number '1_' (an underscore");
  expect_error("a = 0x_1\n", "1:5: error: invalid number '0x_1' (an underscore");
  expect_error("a = 1._5\n", "1:5: error: invalid number '1._5' (an underscore");
  expect_error("a = 012\n", "1:5: error: invalid number '012' (leading zeros are not allowed)");
  expect_error("a = -012.5\n", "1:5: error: invalid number '-012.5' (leading zeros are not allowed)");
  expect_error("a = 1.\n", "1:5: error: invalid number '1.' (a decimal point needs a digit on each side)");
  expect_error("a = .7\n", "1:5: error: invalid number '.7' (a decimal point needs a digit on each side)");
  expect_error("a = 1.e5\n", "1:5: error: invalid number '1.e5' (a decimal point");
  expect_error("a = 1e\n", "1:5: error: invalid number '1e'");
  expect_error("a = 1e+\n", "1:5: error: invalid number '1e+'");
  expect_error("a = 1.2.3\n", "1:5: error: invalid number '1.2.3'");
  expect_error("a = 0xg\n", "1:5: error: invalid number '0xg' (0x takes hexadecimal digits)");
  expect_error("a = 0o8\n", "1:5: error: invalid number '0o8' (0o takes octal digits)");
  expect_error("a = 0b2\n", "1:5: error: invalid number '0b2' (0b takes binary digits)");
  expect_error("a = 0X1F\n", "1:5: error: invalid number '0X1F'");
  expect_error("a = +0o7\n", "1:5: error: invalid number '+0o7' (a sign is not allowed");
  expect_error("a = 1a\n", "1:5: error: invalid number '1a'");
  expect_error("a = --1\n", "1:5: error: invalid number '--1'");
  expect_error("a = 9223372036854775808\n", "1:5: error: integer '9223372036854775808' is out of range");
  expect_error("a = -9223372036854775809\n", "1:5: error: integer '-9223372036854775809' is out of range");
  expect_error("a = 99999999999999999999999\n", "1:5: error: integer '99999999999999999999999' is out of range");
  expect_error("a = 0x1_0000_0000_0000_0000\n", "1:5: error: integer '0x1_0000_0000_0000_0000' is out of range");
  expect_error("a = 0b1000000000000000000000000000000000000000000000000000000000000000\n",
               "1:5: error: integer '0b1000000000000000000000000000000000000000000000000000000000000000' is out of range");
  expect_error("a = 1e309\n", "1:5: error: float '1e309' is out of range");
  expect_error("a = -1.5e400\n", "1:5: error: float '-1.5e400' is out of range");
  /* dates and times */
  expect_error("d = 1979-05-27\n", "1:5: error: dates and times are not supported (write '1979-05-27' as a string: \"1979-05-27\")");
  expect_error("d = 1979-05-27T07:32:00-08:00\n", "1:5: error: dates and times are not supported");
  expect_error("d = 1979-05-27 07:32:00\n", "1:5: error: dates and times are not supported");
  expect_error("t = 07:32:00\n", "1:5: error: dates and times are not supported");
  expect_error("t = [1979-05-27]\n", "1:6: error: dates and times are not supported");
  /* bytes */
  expect_error_n("a = 1\nb = \0\n", 12, "2:5: error: NUL byte in config");
  expect_error_n("a = \"x\0\"\n", 9, "1:7: error: NUL byte in string");
  expect_error_n("# x\0\n", 5, "1:4: error: NUL byte in comment");
  expect_error("a = \"\xc3\"\n", "1:6: error: invalid UTF-8 byte 0xc3 in string");
  expect_error("a = \"\xed\xa0\x80\"\n", "1:6: error: invalid UTF-8 byte 0xed in string"); /* a surrogate */
  expect_error("a = \"\xf4\x90\x80\x80\"\n", "1:6: error: invalid UTF-8 byte 0xf4 in string"); /* > U+10FFFF */
  expect_error("a = \"\xe0\x80\xaf\"\n", "1:6: error: invalid UTF-8 byte 0xe0 in string"); /* overlong */
  expect_error("a = 'ok\x80'\n", "1:8: error: invalid UTF-8 byte 0x80 in string");
  expect_error("a = 1 # \xfe\n", "1:9: error: invalid UTF-8 byte 0xfe in comment");
  expect_error("\xc3\xa9 = 1\n", "1:1: error: unexpected character '\xc3\xa9' (a bare key is ASCII letters");
  expect_error("a = \xe2\x82\xac\n", "1:5: error: unexpected character '\xe2\x82\xac' (text belongs in a string");
  expect_error("\xef\xbb\xbf" "a = 1\n", "1:1: error: byte order mark (U+FEFF) in config");
  expect_error("a = 1\x0c\n", "1:6: error: control character U+000C in config");
  expect_error("a = 1\rb = 2\n", "1:6: error: carriage return without a line feed");
  expect_error("a = 1 # c\r\n\r", "2:1: error: carriage return without a line feed");
  expect_error("a = 1 # c\x7f\n", "1:10: error: control character U+007F in comment");
  /* syntax */
  expect_error("a =\n", "1:4: error: missing value after '='");
  expect_error("a = # nothing\n", "1:14: error: missing value after '='");
  expect_error("a =", "1:4: error: missing value after '=' (at end of file)");
  expect_error("a = [1,\n", "2:1: error: unexpected end of file, expected a value or ']'");
  expect_error("a\n", "1:2: error: unexpected end of line, expected '.' or '='");
  expect_error("a.\n", "1:3: error: unexpected end of line, expected a key");
  expect_error("a = 1 b = 2\n", "1:7: error: unexpected 'b', expected end of line");
  expect_error("a = 1,\n", "1:6: error: unexpected ',', expected end of line");
  expect_error("a = NA\n", "1:5: error: invalid value 'NA' (a string is quoted: \"NA\")");
  expect_error("a = [software]\n", "1:6: error: invalid value 'software' (a string is quoted: \"software\")");
  expect_error("a = None\n", "1:5: error: invalid value 'None' (TOML has no null: leave the key out)");
  expect_error("a = FALSE\n", "1:5: error: invalid value 'FALSE' (booleans are lowercase");
  expect_error("= 1\n", "1:1: error: unexpected '=', expected a key or a [table] header");
  expect_error("a = = 1\n", "1:5: error: unexpected '='");
  expect_error("a $ = 1\n", "1:3: error: unexpected character '$'");
  expect_error("[]\n", "1:2: error: unexpected ']', expected a key");
  expect_error("[a b]\n", "1:4: error: unexpected key 'b', expected ']' or '.'");
  expect_error("[a.]\n", "1:4: error: unexpected ']', expected a key");
  expect_error("[a] b = 1\n", "1:5: error: unexpected key 'b', expected end of line");
  expect_error("[a]]\n", "1:3: error: unexpected ']]', expected ']' or '.'");
  expect_error("[[a]\n", "1:4: error: unexpected ']', expected ']]' or '.'");
  expect_error("[[a] ]\n", "1:4: error: unexpected ']', expected ']]' or '.'");
  expect_error("[ [a] ]\n", "1:3: error: unexpected '[', expected a key");
  expect_error("a = [1 2]\n", "1:8: error: unexpected value '2', expected ']' or ','");
  expect_error("a = [1,,2]\n", "1:8: error: unexpected ',', expected a value or ']'");
  expect_error("a = {x = 1,}\n", "1:11: error: trailing comma in an inline table (TOML 1.0 allows none)");
  expect_error("a = {x = 1\n}\n", "1:11: error: newline inside an inline table");
  expect_error("a = {\n", "1:6: error: newline inside an inline table");
  expect_error("a = {x = [1,\n2]}\nb = {\n", "3:6: error: newline inside an inline table");
  expect_error("a = {x}\n", "1:7: error: unexpected '}', expected '.' or '='");
  expect_error("a = {x = 1 y = 2}\n", "1:12: error: unexpected 'y', expected ',' or '}'");
  expect_error("a = {[x] = 1}\n", "1:6: error: unexpected '[', expected a key or '}'");
  expect_error("a = }\n", "1:5: error: unexpected '}'");
  expect_error("a = [1}\n", "1:7: error: unexpected '}', expected ']' or ','");
  expect_error("a = [1, 2\n", "2:1: error: unexpected end of file, expected ']' or ','");
  expect_error("a = [1, 2\n", "1:5: note: this '[' is never closed");
  /* a missing ']' shows up lines later: the note points at the bracket */
  expect_error("which = [\n  \"software\",\n\nb = 2\n", "4:1: error: invalid value 'b'");
  expect_error("which = [\n  \"software\",\n\nb = 2\n", "1:9: note: this '[' is still open");
  expect_error("a = \"x\" \"y\"\n", "1:9: error: unexpected value '\"y\"', expected end of line");
  /* too deep: arrays, inline tables, headers, dotted keys */
  char deep[512];
  snprintf(deep, sizeof deep, "a = %.65s%.65s\n", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
           "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
  expect_error(deep, "1:69: error: nesting too deep (more than 64 levels of tables and arrays)");
  deep[4 + 64] = ' '; /* 64 levels are fine */
  deep[4 + 65] = ' ';
  free(ok_tree(deep));
}

static void test_errors_deep_keys(void **state) {
  (void)state;
  StrBuf sb;
  sb_init(&sb);
  /* 64 dotted components make 63 tables and a scalar: fine; a 65th level of table is not */
  for (int i = 0; i < 64; i++) sb_puts(&sb, i ? ".k" : "k");
  sb_puts(&sb, " = 1\n");
  free(ok_tree(sb_str(&sb)));
  sb_clear(&sb);
  for (int i = 0; i < 65; i++) sb_puts(&sb, i ? ".k" : "k");
  sb_puts(&sb, " = {}\n");
  expect_error(sb_str(&sb), "1:133: error: nesting too deep");
  sb_clear(&sb);
  sb_puts(&sb, "[");
  for (int i = 0; i < 65; i++) sb_puts(&sb, i ? ".t" : "t");
  sb_puts(&sb, "]\n");
  expect_error(sb_str(&sb), "1:130: error: nesting too deep");
  sb_clear(&sb);
  /* an array of tables at level 64 has its tables at 65 */
  sb_puts(&sb, "[[");
  for (int i = 0; i < 64; i++) sb_puts(&sb, i ? ".t" : "t");
  sb_puts(&sb, "]]\n");
  expect_error(sb_str(&sb), "1:129: error: nesting too deep");
  sb_clear(&sb);
  /* a very long nesting is stopped at level 65, not read to its end */
  sb_puts(&sb, "a = ");
  for (int i = 0; i < 100000; i++) sb_putc(&sb, '[');
  expect_error(sb_str(&sb), "1:69: error: nesting too deep");
  sb_free(&sb);
}

/* ---- the bad-input corpus ---- */

/* Every "# expect: LINE:COL: (error|note): MESSAGE" line of a file must match a message
 * "NAME:LINE:COL: (error|note): ...MESSAGE..." of its diagnostics. */
static int check_bad_file(const char *dir, const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char text[1 << 16];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = 0;
  Diag d;
  diag_init(&d, NULL);
  FeConfig *c = NULL;
  Status st = fe_config_read(path, &c, &d);
  int bad = 0, expects = 0;
  if (st != JS_ERR || c) {
    fprintf(stderr, "%s: status %d, expected an error\n", name, st);
    bad++;
  }
  for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
    if (strncmp(line, "# expect: ", 10) != 0) continue;
    expects++;
    const char *e = line + 10, *eol = strchr(e, '\n');
    size_t elen = eol ? (size_t)(eol - e) : strlen(e);
    const char *colon = strstr(e, ": ");
    const char *level = colon ? strstr(colon + 2, ": ") : NULL; /* after "error" / "note" */
    assert_non_null(level);
    char head[1200], msg[600];
    snprintf(head, sizeof head, "%s:%.*s", path, (int)(level + 2 - e), e);
    snprintf(msg, sizeof msg, "%.*s", (int)(elen - (size_t)(level + 2 - e)), level + 2);
    bool found = false;
    for (const char *m = strstr(sb_str(&d.text), head); m && !found; m = strstr(m + 1, head)) {
      const char *mend = strchr(m, '\n');
      size_t mlen = mend ? (size_t)(mend - m) : strlen(m);
      char *one = strndup(m, mlen);
      found = strstr(one, msg) != NULL;
      free(one);
    }
    if (!found) {
      fprintf(stderr, "%s: no message '%s' ... '%s'; got:\n%s\n", name, head, msg, sb_str(&d.text));
      bad++;
    }
  }
  if (expects == 0) {
    fprintf(stderr, "%s: no '# expect:' line\n", name);
    bad++;
  }
  fe_config_free(c);
  diag_free(&d);
  return bad;
}

static void test_bad_corpus(void **state) {
  (void)state;
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/test/bad/config", src_root);
  DIR *dp = opendir(dir);
  assert_non_null(dp);
  int files = 0, bad = 0;
  struct dirent *de;
  while ((de = readdir(dp))) {
    size_t len = strlen(de->d_name);
    if (len < 6 || strcmp(de->d_name + len - 5, ".toml") != 0) continue;
    files++;
    bad += check_bad_file(dir, de->d_name);
  }
  closedir(dp);
  assert_true(files >= 30);
  assert_int_equal(bad, 0);
}

/* Every example config (the .toml files in examples/configs) parses. */
static void test_example_configs(void **state) {
  (void)state;
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/examples/configs", src_root);
  DIR *dp = opendir(dir);
  if (!dp) return; /* none yet */
  struct dirent *de;
  while ((de = readdir(dp))) {
    size_t len = strlen(de->d_name);
    if (len < 6 || strcmp(de->d_name + len - 5, ".toml") != 0) continue;
    char path[1300];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    Diag d;
    diag_init(&d, NULL);
    FeConfig *c = NULL;
    Status st = fe_config_read(path, &c, &d);
    if (st != JS_OK) fprintf(stderr, "%s", sb_str(&d.text));
    assert_int_equal(st, JS_OK);
    assert_int_equal(fe_config_root(c)->kind, VAL_DICT);
    fe_config_free(c);
    diag_free(&d);
  }
  closedir(dp);
}

/* ---- allocation failure ---- */

/* Fails each allocation of a parse in turn: each must give JS_ENOMEM (or, past the last
 * allocation, the normal result), *out NULL, and no leak (the ASan build checks). */
static void oom_sweep(const char *text, Status final) {
  Arena *a = arena_new();
  assert_non_null(a);
  SrcFile *src = diag_src_from_string(a, "t.toml", text, strlen(text));
  assert_non_null(src);
  FailNth h;
  for (long n = 0;; n++) {
    Diag d;
    diag_init(&d, NULL);
    FeConfig *c = NULL;
    fail_nth_install(&h, n);
    Status st = fe_config_parse(src, &c, &d);
    long calls = h.calls;
    ir_set_alloc_hook(NULL, NULL);
    if (calls <= n) { /* nothing failed: the real result */
      assert_int_equal(st, final);
      assert_true(final == JS_OK ? c != NULL : c == NULL);
      fe_config_free(c);
      diag_free(&d);
      break;
    }
    if (st != JS_ENOMEM && st != final) fprintf(stderr, "allocation %ld: status %d\n", n, st);
    assert_true(st == JS_ENOMEM || st == final);
    if (st == JS_ENOMEM) assert_null(c);
    fe_config_free(c);
    diag_free(&d);
  }
  arena_free(a);
}

static void test_oom(void **state) {
  (void)state;
  oom_sweep(mase_example, JS_OK);
  oom_sweep("[[a]]\nx = {y = [1, {z = \"\\u00e9\"}], w.v = 2.5}\n[a.b]\nc.d = 'x'\n[[a]]\n", JS_OK);
  oom_sweep("a = 1\n[b]\nc = 2\n[b]\n", JS_ERR);
  oom_sweep("a = [1, 2\n", JS_ERR);
}

int main(int argc, char **argv) {
  if (argc > 1) src_root = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mase_example),
      cmocka_unit_test(test_mase_example_file),
      cmocka_unit_test(test_integers),
      cmocka_unit_test(test_floats),
      cmocka_unit_test(test_booleans),
      cmocka_unit_test(test_strings),
      cmocka_unit_test(test_arrays),
      cmocka_unit_test(test_tables),
      cmocka_unit_test(test_many_keys),
      cmocka_unit_test(test_loc),
      cmocka_unit_test(test_loc_outlives_source),
      cmocka_unit_test(test_errors_message_format),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_errors_deep_keys),
      cmocka_unit_test(test_bad_corpus),
      cmocka_unit_test(test_example_configs),
      cmocka_unit_test(test_oom),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
