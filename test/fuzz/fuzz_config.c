/* fuzz_config.c — libFuzzer target for the config front end (frontend/config.*): any input
 * must give a config or one located error, never a crash, hang, leak or sanitizer report.
 * What parses must hold up:
 *   - the root is a table, and fe_config_loc knows every key and item of the tree by its path;
 *   - the tree written back as TOML (inline tables and arrays, one key per line) parses to an
 *     equal tree;
 *   - every key and string, compiled as a quantize by=regex_name pattern (passes/regex.c, PCRE2
 *     or POSIX), compiles or is refused with a reason, and matches node names without a crash
 *     or a hang (test/fuzz/corpus/fuzz_config/mase_regex.toml seeds it).
 * FUZZ_VERBOSE=1 prints the diagnostics. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "passes.h"

static void die(const char *what, const char *detail) {
  fprintf(stderr, "fuzz_config: %s\n%s\n", what, detail ? detail : "");
  abort();
}

/* Every key and item below v has a location (path: v's own, NULL for the root). */
static void check_locs(const FeConfig *c, Arena *a, const Value *v, const char *path) {
  bool dict = v->kind == VAL_DICT;
  if (!dict && v->kind != VAL_LIST) return;
  int n = dict ? v->u.dict.n : v->u.seq.n;
  for (int i = 0; i < n; i++) {
    const char *name = dict ? cfg_quote_key(a, v->u.dict.keys[i]) : arena_printf(a, "%d", i);
    if (!name) return; /* out of memory: nothing to check */
    const char *p = path ? arena_join(a, path, '.', name) : name;
    if (!p) return;
    SrcLoc loc = fe_config_loc(c, p);
    if (!loc.file || loc.line < 1 || loc.col < 1) die("fe_config_loc does not know a key of the tree:", p);
    check_locs(c, a, dict ? &v->u.dict.vals[i] : &v->u.seq.items[i], p);
  }
}

/* Every key and string below v as a regex over a few node names. */
static void check_regexes(const Value *v, int depth) {
  static const char *const names[] = {"seq_blocks_2", "seq_blocks_10", "x", "",
                                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac"};
  bool dict = v->kind == VAL_DICT;
  if (depth > 8 || (!dict && v->kind != VAL_LIST && v->kind != VAL_STR)) return;
  int n = v->kind == VAL_STR ? 1 : dict ? v->u.dict.n : v->u.seq.n;
  for (int i = 0; i < n; i++) {
    const char *pat = v->kind == VAL_STR ? v->u.s : dict ? v->u.dict.keys[i] : NULL;
    if (pat) {
      PassRegex *r = NULL;
      char err[256] = "";
      Status st = pass_regex_compile(pat, &r, err, sizeof err);
      if (st == JS_OK && !r) die("a regex compiled to nothing:", pat);
      if (st == JS_ERR && !*err) die("a regex refused without a reason:", pat);
      for (size_t k = 0; r && k < sizeof names / sizeof *names; k++) (void)pass_regex_fullmatch(r, names[k]);
      pass_regex_free(r);
    }
    if (v->kind != VAL_STR) check_regexes(dict ? &v->u.dict.vals[i] : &v->u.seq.items[i], depth + 1);
  }
}

static void put_value(StrBuf *sb, Arena *a, const Value *v);

static void put_key(StrBuf *sb, Arena *a, const char *k) {
  const char *q = cfg_quote_key(a, k);
  if (!q) sb->oom = true;
  else sb_puts(sb, q);
}

static void put_value(StrBuf *sb, Arena *a, const Value *v) {
  switch (v->kind) {
  case VAL_BOOL: sb_puts(sb, v->u.b ? "true" : "false"); break;
  case VAL_INT: sb_printf(sb, "%lld", (long long)v->u.i); break;
  case VAL_FLOAT:
    if (isnan(v->u.f)) {
      sb_puts(sb, "nan");
    } else if (isinf(v->u.f)) {
      sb_puts(sb, v->u.f < 0 ? "-inf" : "inf");
    } else {
      char buf[64];
      snprintf(buf, sizeof buf, "%.17g", v->u.f);
      sb_puts(sb, buf);
      if (!strpbrk(buf, ".e")) sb_puts(sb, ".0");
    }
    break;
  case VAL_STR:
    sb_put_json_str(sb, v->u.s); /* a JSON string is a TOML basic string */
    break;
  case VAL_LIST:
    sb_putc(sb, '[');
    for (int i = 0; i < v->u.seq.n; i++) {
      if (i) sb_puts(sb, ", ");
      put_value(sb, a, &v->u.seq.items[i]);
    }
    sb_putc(sb, ']');
    break;
  case VAL_DICT:
    sb_putc(sb, '{');
    for (int i = 0; i < v->u.dict.n; i++) {
      if (i) sb_puts(sb, ", ");
      put_key(sb, a, v->u.dict.keys[i]);
      sb_puts(sb, " = ");
      put_value(sb, a, &v->u.dict.vals[i]);
    }
    sb_putc(sb, '}');
    break;
  default: die("a config value of an unexpected kind", val_kind_name(v)); break;
  }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  Arena *a = arena_new();
  SrcFile *f = a ? diag_src_from_string(a, "fuzz.toml", (const char *)data, size) : NULL;
  Diag d;
  diag_init(&d, NULL);
  FeConfig *c = NULL;
  Status st = f ? fe_config_parse(f, &c, &d) : JS_ENOMEM;
  if (getenv("FUZZ_VERBOSE")) fprintf(stderr, "%s", sb_str(&d.text));
  if (st == JS_ERR && (c || d.nerrors != 1)) die("an error must give no config and exactly one error:", sb_str(&d.text));
  if (st == JS_OK) {
    const Value *root = fe_config_root(c);
    if (root->kind != VAL_DICT) die("the root is not a table", NULL);
    check_locs(c, a, root, NULL);
    check_regexes(root, 0);
    /* write back, read again */
    StrBuf sb;
    sb_init(&sb);
    for (int i = 0; i < root->u.dict.n; i++) {
      put_key(&sb, a, root->u.dict.keys[i]);
      sb_puts(&sb, " = ");
      put_value(&sb, a, &root->u.dict.vals[i]);
      sb_putc(&sb, '\n');
    }
    SrcFile *g = sb.oom ? NULL : diag_src_from_string(a, "again.toml", sb_str(&sb), sb.len);
    if (g) {
      Diag d2;
      diag_init(&d2, NULL);
      FeConfig *c2 = NULL;
      if (fe_config_parse(g, &c2, &d2) != JS_OK) {
        fprintf(stderr, "%s\n----\n", sb_str(&sb));
        die("the tree written back does not parse:", sb_str(&d2.text));
      }
      if (!val_equal(root, fe_config_root(c2))) die("the tree written back parses to another tree:", sb_str(&sb));
      fe_config_free(c2);
      diag_free(&d2);
    }
    sb_free(&sb);
  }
  fe_config_free(c);
  diag_free(&d);
  arena_free(a);
  return 0;
}
