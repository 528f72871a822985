/* test_json.c — ir/json.c: the reader's values and errors, and the string writer's output
 * (read back by the reader, whatever bytes went in). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "ir.h"

static bool parse(Arena *a, const char *text, JVal *v, JsonError *e) {
  return json_parse(a, text, strlen(text), NULL, v, e);
}

static void test_values(void **state) {
  (void)state;
  Arena *a = arena_new();
  JVal v;
  JsonError e;
  assert_true(parse(a, "{\"a\": [1, 2.5, -3e2], \"b\": \"x\\u00e9\", \"c\": true, \"d\": null}", &v, &e));
  const JVal *arr = json_get(&v, "a");
  assert_non_null(arr);
  assert_int_equal(arr->n, 3);
  uint64_t u;
  assert_true(json_uint(&arr->items[0], &u));
  assert_int_equal(u, 1);
  assert_false(json_uint(&arr->items[1], &u));
  assert_true(json_num(&arr->items[2]) == -300.0);
  assert_string_equal(json_get(&v, "b")->str, "x\xc3\xa9");
  assert_true(json_get(&v, "c")->b);
  assert_int_equal(json_get(&v, "d")->kind, J_NULL);
  assert_null(json_get(&v, "missing"));
  assert_null(json_get(arr, "a")); /* not an object */
  assert_true(isnan(json_num(json_get(&v, "b"))));
  arena_free(a);
}

static void test_errors(void **state) {
  (void)state;
  Arena *a = arena_new();
  JVal v;
  JsonError e;
  assert_false(json_parse(a, "{} x", 4, "journal line", &v, &e));
  assert_string_equal(e.msg, "text after the journal line's JSON value");
  assert_int_equal(e.pos, 3);
  assert_false(parse(a, "{\"a\":1,\"a\":2}", &v, &e));
  assert_false(parse(a, "[1,", &v, &e));
  assert_string_equal(e.msg, "unexpected end of JSON text");
  char deep[64] = "";
  for (int i = 0; i < JSON_MAX_DEPTH + 1; i++) strcat(deep, "[");
  assert_false(parse(a, deep, &v, &e));
  arena_free(a);
}

/* Every byte value, valid UTF-8 or not, comes back as valid JSON. */
static void test_writer(void **state) {
  (void)state;
  char in[256];
  for (int i = 1; i < 256; i++) in[i - 1] = (char)i;
  in[255] = 0;
  StrBuf sb;
  sb_init(&sb);
  sb_put_json_str(&sb, in);
  Arena *a = arena_new();
  JVal v;
  JsonError e;
  assert_true(json_parse(a, sb_str(&sb), sb.len, NULL, &v, &e));
  assert_int_equal(v.kind, J_STR);
  /* ASCII is kept, bytes >= 0x80 (invalid alone) come back as their Latin-1 code point */
  assert_memory_equal(v.str, in, 127);
  assert_memory_equal(v.str + 127, "\xc2\x80\xc2\x81", 4);
  assert_int_equal(v.len, 127 + 2 * 128);
  sb_free(&sb);
  sb_init(&sb);
  sb_put_json_str(&sb, "a\"b\\c\nd\x01 \xc3\xa9\x7f\t\x1f");
  assert_string_equal(sb_str(&sb), "\"a\\\"b\\\\c\\nd\\u0001 \xc3\xa9\\u007f\\t\\u001f\"");
  sb_free(&sb);
  /* invalid UTF-8: a lone continuation byte, a truncated sequence, an overlong '/', a
   * surrogate; each byte as its Latin-1 code point, the valid sequence after them kept */
  sb_init(&sb);
  sb_put_json_str(&sb, "\x80|\xe2\x82|\xc0\xaf|\xed\xa0\x80|\xe2\x82\xac");
  assert_string_equal(sb_str(&sb), "\"\\u0080|\\u00e2\\u0082|\\u00c0\\u00af|\\u00ed\\u00a0\\u0080|\xe2\x82\xac\"");
  sb_free(&sb);
  sb_init(&sb);
  sb_put_json_num(&sb, 0.1);
  sb_putc(&sb, ' ');
  sb_put_json_num(&sb, NAN);
  sb_putc(&sb, ' ');
  sb_put_json_num(&sb, -INFINITY);
  assert_string_equal(sb_str(&sb), "0.1 null null");
  sb_free(&sb);
  arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_values),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_writer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
