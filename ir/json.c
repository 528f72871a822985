/* ir/json.c — JSON: a strict RFC 8259 reader into an arena (safetensors headers, manifests,
 * sweep journals) and the one JSON string writer.
 *
 * The reader keeps numbers as their text (J_NUM's str): safetensors offsets need exact
 * 64-bit integers (json_uint), the rest reads them with json_num.  Strings are checked to be
 * UTF-8 and decoded; duplicate keys in an object are an error. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

typedef struct JsonParser {
  const char *s;       /* the text (not NUL-terminated) */
  size_t n;            /* its length */
  size_t i;            /* read position */
  int depth;           /* arrays and objects open */
  Arena *a;            /* owns the values */
  bool oom;            /* an allocation failed */
  char err[160];       /* the first syntax error, "" while none */
  size_t errpos;       /* its byte offset */
  const char *what;    /* what the text is, for messages ("header") */
} JsonParser;


static bool j_fail(JsonParser *p, size_t pos, const char *fmt, ...) JS_PRINTF(3, 4);
static bool j_fail(JsonParser *p, size_t pos, const char *fmt, ...) {
  if (!p->err[0] && !p->oom) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    p->errpos = pos;
  }
  return false;
}

static bool j_oom(JsonParser *p) {
  p->oom = true;
  return false;
}

static void j_ws(JsonParser *p) {
  while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
    p->i++;
}

static bool j_value(JsonParser *p, JVal *out);

/* Length of the valid UTF-8 sequence at s[0..n) (1 to 4), or 0: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static int utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  int len;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) len = 2, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, min = 0x10000;
  else return 0;
  if ((size_t)len > n) return 0;
  unsigned cp = c & (0x3Fu >> (len - 1));
  for (int k = 1; k < len; k++) {
    if ((s[k] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (s[k] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

static int hex4(const char *s) {
  int v = 0;
  for (int k = 0; k < 4; k++) {
    char c = s[k];
    int h = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) return o[0] = (char)cp, 1;
  if (cp < 0x800) return o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3F)), 2;
  if (cp < 0x10000)
    return o[0] = (char)(0xE0 | cp >> 12), o[1] = (char)(0x80 | (cp >> 6 & 0x3F)), o[2] = (char)(0x80 | (cp & 0x3F)), 3;
  o[0] = (char)(0xF0 | cp >> 18), o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  o[2] = (char)(0x80 | (cp >> 6 & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* string = '"' { unescaped | '\' ( '"' | '\' | '/' | 'b' | 'f' | 'n' | 'r' | 't' | 'u' hex4 ) } '"'
 * Decoded into the arena; \u0000 is refused (names are C strings). */
static bool j_string(JsonParser *p, const char **out, size_t *outlen) {
  size_t start = p->i++; /* the opening quote */
  /* Decoded text is never longer than the source. */
  size_t end = p->i;
  while (end < p->n && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
  if (end >= p->n) return j_fail(p, start, "unterminated string");
  char *o = arena_alloc(p->a, end - p->i + 1);
  if (!o) return j_oom(p);
  size_t k = 0;
  while (p->s[p->i] != '"') {
    unsigned char c = (unsigned char)p->s[p->i];
    if (c < 0x20) return j_fail(p, p->i, "control character 0x%02x in a string", c);
    if (c >= 0x80) {
      int len = utf8_len((const unsigned char *)p->s + p->i, p->n - p->i);
      if (!len) return j_fail(p, p->i, "invalid UTF-8 in a string");
      memcpy(o + k, p->s + p->i, (size_t)len);
      k += (size_t)len;
      p->i += (size_t)len;
      continue;
    }
    if (c != '\\') {
      o[k++] = (char)c;
      p->i++;
      continue;
    }
    char e = p->s[p->i + 1];
    size_t at = p->i;
    p->i += 2;
    switch (e) {
    case '"': o[k++] = '"'; break;
    case '\\': o[k++] = '\\'; break;
    case '/': o[k++] = '/'; break;
    case 'b': o[k++] = '\b'; break;
    case 'f': o[k++] = '\f'; break;
    case 'n': o[k++] = '\n'; break;
    case 'r': o[k++] = '\r'; break;
    case 't': o[k++] = '\t'; break;
    case 'u': {
      int u = p->i + 4 <= end ? hex4(p->s + p->i) : -1;
      if (u < 0) return j_fail(p, at, "bad \\u escape");
      p->i += 4;
      unsigned cp = (unsigned)u;
      if (cp >= 0xDC00 && cp <= 0xDFFF) return j_fail(p, at, "lone low surrogate in \\u escape");
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        int lo = p->i + 6 <= end && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u' ? hex4(p->s + p->i + 2) : -1;
        if (lo < 0xDC00 || lo > 0xDFFF) return j_fail(p, at, "lone high surrogate in \\u escape");
        p->i += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + ((unsigned)lo - 0xDC00);
      }
      if (cp == 0) return j_fail(p, at, "\\u0000 in a string");
      k += put_utf8(o + k, cp);
      break;
    }
    default: return j_fail(p, at, "bad escape in a string");
    }
  }
  p->i++; /* the closing quote */
  o[k] = 0;
  *out = o;
  *outlen = k;
  return true;
}

/* number = [ '-' ] ( '0' | digit1-9 { digit } ) [ '.' digit { digit } ] [ ( 'e' | 'E' ) [ '+' | '-' ] digit { digit } ]
 * Kept as text: the header only needs non-negative integers (json_uint). */
static bool j_number(JsonParser *p, JVal *out) {
  size_t start = p->i;
  const char *s = p->s;
#define DIGIT(k) ((k) < p->n && s[k] >= '0' && s[k] <= '9')
  if (p->i < p->n && s[p->i] == '-') p->i++;
  if (!DIGIT(p->i)) return j_fail(p, start, "bad number");
  if (s[p->i] == '0') {
    p->i++;
    if (DIGIT(p->i)) return j_fail(p, start, "number with a leading zero");
  } else {
    while (DIGIT(p->i)) p->i++;
  }
  if (p->i < p->n && s[p->i] == '.') {
    p->i++;
    if (!DIGIT(p->i)) return j_fail(p, start, "bad number");
    while (DIGIT(p->i)) p->i++;
  }
  if (p->i < p->n && (s[p->i] == 'e' || s[p->i] == 'E')) {
    p->i++;
    if (p->i < p->n && (s[p->i] == '+' || s[p->i] == '-')) p->i++;
    if (!DIGIT(p->i)) return j_fail(p, start, "bad number");
    while (DIGIT(p->i)) p->i++;
  }
#undef DIGIT
  out->kind = J_NUM;
  out->str = s + start;
  out->len = p->i - start;
  return true;
}

/* Items of an array or object are gathered in a growable buffer, then copied to the arena. */
typedef struct JList {
  JVal *items;
  const char **keys;
  int n, cap;
} JList;

static bool jl_push(JsonParser *p, JList *l, const char *key, const JVal *v) {
  if (l->n == l->cap) {
    int cap = l->cap ? l->cap * 2 : 8;
    JVal *items = ir_realloc(l->items, (size_t)cap * sizeof *items);
    if (!items) return j_oom(p);
    l->items = items;
    const char **keys = ir_realloc(l->keys, (size_t)cap * sizeof *keys);
    if (!keys) return j_oom(p);
    l->keys = keys;
    l->cap = cap;
  }
  l->items[l->n] = *v;
  l->keys[l->n] = key;
  l->n++;
  return true;
}

static bool jl_finish(JsonParser *p, JList *l, JVal *out, bool obj) {
  bool ok = true;
  out->n = l->n;
  if (l->n) {
    out->items = arena_alloc(p->a, (size_t)l->n * sizeof *out->items);
    if (obj) out->keys = arena_alloc(p->a, (size_t)l->n * sizeof *out->keys);
    if (!out->items || (obj && !out->keys)) {
      ok = j_oom(p);
    } else {
      memcpy(out->items, l->items, (size_t)l->n * sizeof *out->items);
      if (obj) memcpy(out->keys, l->keys, (size_t)l->n * sizeof *out->keys);
    }
  }
  ir_free(l->items);
  ir_free(l->keys);
  return ok;
}

/* array = '[' [ value { ',' value } ] ']' */
static bool j_array(JsonParser *p, JVal *out) {
  JList l = {0};
  out->kind = J_ARR;
  p->i++;
  j_ws(p);
  bool ok = true;
  if (p->i < p->n && p->s[p->i] == ']') {
    p->i++;
  } else {
    for (;;) {
      JVal v;
      if (!(ok = j_value(p, &v) && jl_push(p, &l, NULL, &v))) break;
      j_ws(p);
      if (p->i < p->n && p->s[p->i] == ',') {
        p->i++;
        continue;
      }
      if (p->i < p->n && p->s[p->i] == ']') {
        p->i++;
        break;
      }
      ok = j_fail(p, p->i, "expected ',' or ']' in an array");
      break;
    }
  }
  return jl_finish(p, &l, out, false) && ok;
}

/* object = '{' [ string ':' value { ',' string ':' value } ] '}'   (keys distinct) */
static bool j_object(JsonParser *p, JVal *out) {
  JList l = {0};
  StrMap seen;
  strmap_init(&seen);
  out->kind = J_OBJ;
  p->i++;
  j_ws(p);
  bool ok = true;
  if (p->i < p->n && p->s[p->i] == '}') {
    p->i++;
  } else {
    for (;;) {
      j_ws(p);
      if (p->i >= p->n || p->s[p->i] != '"') {
        ok = j_fail(p, p->i, "expected a string key in an object");
        break;
      }
      size_t kpos = p->i, klen;
      const char *key;
      if (!(ok = j_string(p, &key, &klen))) break;
      if (strmap_get(&seen, key)) {
        ok = j_fail(p, kpos, "duplicate key \"%.60s\"", key);
        break;
      }
      if (strmap_put(&seen, key, (void *)key)) {
        ok = j_oom(p);
        break;
      }
      j_ws(p);
      if (p->i >= p->n || p->s[p->i] != ':') {
        ok = j_fail(p, p->i, "expected ':' after a key");
        break;
      }
      p->i++;
      JVal v;
      if (!(ok = j_value(p, &v) && jl_push(p, &l, key, &v))) break;
      j_ws(p);
      if (p->i < p->n && p->s[p->i] == ',') {
        p->i++;
        continue;
      }
      if (p->i < p->n && p->s[p->i] == '}') {
        p->i++;
        break;
      }
      ok = j_fail(p, p->i, "expected ',' or '}' in an object");
      break;
    }
  }
  strmap_free(&seen);
  return jl_finish(p, &l, out, true) && ok;
}

static bool j_literal(JsonParser *p, const char *word) {
  size_t n = strlen(word);
  if (p->n - p->i < n || memcmp(p->s + p->i, word, n) != 0) return j_fail(p, p->i, "unexpected character");
  p->i += n;
  return true;
}

/* value = object | array | string | number | 'true' | 'false' | 'null' */
static bool j_value(JsonParser *p, JVal *out) {
  memset(out, 0, sizeof *out);
  j_ws(p);
  out->pos = p->i;
  if (p->i >= p->n) return j_fail(p, p->i, "unexpected end of %s", p->what);
  char c = p->s[p->i];
  if (c == '{' || c == '[') {
    if (p->depth >= JSON_MAX_DEPTH) return j_fail(p, p->i, "nesting deeper than %d", JSON_MAX_DEPTH);
    p->depth++;
    bool ok = c == '{' ? j_object(p, out) : j_array(p, out);
    p->depth--;
    return ok;
  }
  if (c == '"') {
    out->kind = J_STR;
    return j_string(p, &out->str, &out->len);
  }
  if (c == '-' || (c >= '0' && c <= '9')) return j_number(p, out);
  if (c == 't') return (out->kind = J_BOOL, out->b = true, j_literal(p, "true"));
  if (c == 'f') return (out->kind = J_BOOL, j_literal(p, "false"));
  if (c == 'n') return (out->kind = J_NULL, j_literal(p, "null"));
  if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7F)
    return j_fail(p, p->i, "unexpected byte 0x%02x", (unsigned char)c);
  return j_fail(p, p->i, "unexpected character '%c'", c);
}

/* document = ws value ws */
static bool j_parse(JsonParser *p, JVal *out) {
  if (!j_value(p, out)) return false;
  j_ws(p);
  if (p->i != p->n) {
    unsigned char c = (unsigned char)p->s[p->i];
    if (c < 0x20 || c >= 0x7F) return j_fail(p, p->i, "unexpected byte 0x%02x after the %s's JSON value", c, p->what);
    return j_fail(p, p->i, "text after the %s's JSON value", p->what);
  }
  return true;
}

/* A non-negative integer without fraction or exponent, at most INT64_MAX. */
bool json_uint(const JVal *v, uint64_t *out) {
  if (!v || v->kind != J_NUM || v->len == 0) return false;
  uint64_t x = 0;
  for (size_t k = 0; k < v->len; k++) {
    char c = v->str[k];
    if (c < '0' || c > '9') return false;
    if (x > (uint64_t)(INT64_MAX - (c - '0')) / 10) return false;
    x = x * 10 + (uint64_t)(c - '0');
  }
  *out = x;
  return true;
}

const JVal *json_get(const JVal *obj, const char *key) {
  if (!obj || obj->kind != J_OBJ) return NULL;
  for (int i = 0; i < obj->n; i++)
    if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
  return NULL;
}

/* The public entry: text[0..n) as one JSON document. */
bool json_parse(Arena *a, const char *text, size_t n, const char *what, JVal *out, JsonError *err) {
  JsonParser p = {.s = text, .n = n, .a = a, .what = what ? what : "JSON text"};
  memset(err, 0, sizeof *err);
  if (j_parse(&p, out)) return true;
  err->oom = p.oom;
  err->pos = p.errpos;
  snprintf(err->msg, sizeof err->msg, "%s", p.err);
  return false;
}

/* A number's value (NAN for anything else). */
double json_num(const JVal *v) {
  if (!v || v->kind != J_NUM) return NAN;
  char small[64]; /* the number's text is not NUL-terminated: it points into the document */
  char *buf = v->len < sizeof small ? small : ir_malloc(v->len + 1);
  if (!buf) return NAN;
  memcpy(buf, v->str, v->len);
  buf[v->len] = 0;
  double x = strtod(buf, NULL);
  if (buf != small) ir_free(buf);
  return x;
}

/* A JSON string: the escapes JSON shares with C, \u00XX for other control bytes and DEL,
 * valid UTF-8 as is, and each byte that is not valid UTF-8 as its Latin-1 code point (so the
 * output is always valid JSON).  It is a valid TOML basic string too (TOML wants DEL
 * escaped), so the config writers use it as well. */
void sb_put_json_str(StrBuf *sb, const char *s) {
  sb_putc(sb, '"');
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  size_t left = strlen((const char *)p);
  while (*p) {
    int n = utf8_len(p, left);
    if (n > 1) {
      sb_putn(sb, (const char *)p, (size_t)n);
    } else if (n == 1 && sb_put_escape(sb, *p)) { /* \" \\ \n \t \r */
    } else if (n == 0 || *p < 0x20 || *p == 0x7f) {
      sb_printf(sb, "\\u%04x", *p);
      n = 1;
    } else {
      sb_putc(sb, (char)*p);
    }
    p += n;
    left -= (size_t)n;
  }
  sb_putc(sb, '"');
}

/* A JSON number: Python's repr of a finite double; null for NaN and the infinities, which
 * JSON cannot hold. */
void sb_put_json_num(StrBuf *sb, double v) {
  if (isfinite(v))
    sb_put_float(sb, v);
  else
    sb_puts(sb, "null");
}
