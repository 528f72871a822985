/* parse.c — the IR text form (spec/ir.md) back into graphs.
 *
 * A hand-written recursive-descent parser in chibicc's style: one function per grammar rule,
 * the rule in a comment above it.  It scans characters directly (there is no token list): the
 * text form is line oriented and a few rules (paths such as seq_blocks.2.weight) want their
 * own lexical rules.  The first error stops the parse; it is reported at the IR file's line
 * and column.  Every graph that parses is then checked with ir_verify, so whatever ir_parse
 * accepts is a valid graph.
 *
 * The input is untrusted (it is fuzzed): every read is bounds checked against the text's
 * length (NUL bytes included), value nesting is capped at PARSE_MAX_DEPTH, integers are
 * checked for overflow, sizes are refused beyond IR_MAX_DIM / IR_MAX_NUMEL, and everything
 * allocated is proportional to the input.  Names are looked up in hash maps, so parsing is
 * linear in the input. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

#define PARSE_MAX_DEPTH 64          /* nesting of tuples, lists and dicts */
#define PARSE_MAX_ITEMS (1 << 24)   /* items in one tuple, list or dict */
#define PARSE_MAX_NUMBER 64         /* characters in one number */

/* What the parser remembers about each node of the graph being read, by Node.index. */
typedef struct NodeInfo {
  int declared; /* the num_users written on the line */
  SrcLoc at;    /* where num_users was written */
  int line;     /* the node's line, for "first defined at" */
} NodeInfo;

/* A node mentioned in metadata before its definition, resolved at the end of the graph. */
typedef struct Fixup {
  const char *name;
  SrcLoc loc;
} Fixup;

typedef struct Parser {
  const SrcFile *src; /* the IR text (the Program's copy) */
  const char *p;      /* next byte */
  const char *end;    /* one past the last byte */
  const char *bol;    /* start of the current line */
  int line;
  Diag *d;
  Program *prog;
  Graph *g;           /* the model being read */
  StrMap files;       /* path -> path-only SrcFile of loc(...), in the Program's arena */
  StrMap syms;        /* dimension symbols of the current graph, interned */
  StrBuf tmp;         /* scratch for names being looked up */
  Value *vstack;      /* items of the sequences being read (a stack: inner ones pop first) */
  const char **kstack;/* their keys (dicts, keyword arguments) */
  size_t sp, scap;
  NodeInfo *info;     /* per node of the current graph */
  size_t ninfo, cinfo;
  Node **fixnodes;    /* nodes whose metadata has unresolved node references, in order */
  size_t nfixnodes, cfixnodes;
  Fixup *fix;         /* those references, in reading order */
  size_t nfix, cfix, fixpos;
  int pending;        /* unresolved references in the metadata being read */
  Module *pm;         /* the module whose created parameters the next lines list */
  int pi;             /* how many of them were listed */
} Parser;

enum { CTX_CONST, CTX_ARGS, CTX_META }; /* where a value is read: node references allowed? */

/* ---- positions and errors ---- */

static SrcLoc here(const Parser *P) {
  ptrdiff_t col = P->p - P->bol + 1;
  return (SrcLoc){P->src, P->line, col > 1000000000 ? 1000000000 : (int)col};
}

static Status perr(Parser *P, SrcLoc loc, const char *fmt, ...) JS_PRINTF(3, 4);
static Status perr(Parser *P, SrcLoc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(P->d, DIAG_ERROR, loc, fmt, ap);
  va_end(ap);
  return JS_ERR;
}

static Status oom(Parser *P) {
  return diag_oom(P->d);
}

static void skip_ws(Parser *P) {
  while (P->p < P->end && (*P->p == ' ' || *P->p == '\t')) P->p++;
}

static void newline(Parser *P) {
  P->p++;
  if (P->line < 1000000000) P->line++;
  P->bol = P->p;
}

/* "expected X, found Y" at the next non-blank byte; a byte no rule accepts is reported as
 * invalid. */
static Status unexpected(Parser *P, const char *expected) {
  skip_ws(P);
  SrcLoc l = here(P);
  if (P->p >= P->end) return perr(P, l, "expected %s, found end of file", expected);
  unsigned char c = (unsigned char)*P->p;
  if (c == '\n' || (c == '\r' && P->p + 1 < P->end && P->p[1] == '\n'))
    return perr(P, l, "expected %s, found end of line", expected);
  if (c == '\r') return perr(P, l, "invalid byte 0x0d, a carriage return not followed by a line feed (expected %s)", expected);
  if (c < 0x20 || c >= 0x7f) return perr(P, l, "invalid byte 0x%02x (expected %s)", c, expected);
  return perr(P, l, "expected %s, found '%c'", expected, c);
}

static bool accept(Parser *P, char c) {
  skip_ws(P);
  if (P->p < P->end && *P->p == c) {
    P->p++;
    return true;
  }
  return false;
}

static Status expect(Parser *P, char c) {
  if (accept(P, c)) return JS_OK;
  char what[8] = {'\'', c, '\'', 0};
  return unexpected(P, what);
}

static bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* word := [A-Za-z0-9_]+ ; returns its length (0: none there). */
static size_t scan_word(Parser *P, const char **s) {
  skip_ws(P);
  const char *q = P->p;
  while (q < P->end && is_word_char(*q)) q++;
  *s = P->p;
  size_t n = (size_t)(q - P->p);
  P->p = q;
  return n;
}

static bool word_is(const char *s, size_t n, const char *lit) {
  return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* The next word without consuming it. */
static bool peek_word(Parser *P, const char *lit) {
  const char *save = P->p, *s;
  size_t n = scan_word(P, &s);
  P->p = save;
  return word_is(s, n, lit);
}

static Status expect_word(Parser *P, const char *lit) {
  const char *save = P->p, *s;
  size_t n = scan_word(P, &s);
  if (word_is(s, n, lit)) return JS_OK;
  P->p = save;
  char what[40];
  snprintf(what, sizeof what, "'%s'", lit);
  return unexpected(P, what);
}

/* A word as a C string in the scratch buffer (valid until the next use of tmp). */
static const char *tmp_str(Parser *P, const char *s, size_t n) {
  sb_clear(&P->tmp);
  sb_putn(&P->tmp, s, n);
  return P->tmp.oom ? NULL : sb_str(&P->tmp);
}

/* comment := "#" {byte} up to the end of the line.  A lone "\r" ends it too: a file with old
 * Mac line ends is then reported at its first "\r" instead of read as one long comment. */
static void skip_comment(Parser *P) {
  if (P->p < P->end && *P->p == '#')
    while (P->p < P->end && *P->p != '\n' && *P->p != '\r') P->p++;
}

/* eol := [comment] ("\n" | end of file) */
static Status expect_eol(Parser *P) {
  skip_ws(P);
  skip_comment(P);
  if (P->p < P->end && *P->p == '\r' && P->p + 1 < P->end && P->p[1] == '\n') P->p++;
  if (P->p >= P->end) return JS_OK;
  if (*P->p == '\n') {
    newline(P);
    return JS_OK;
  }
  return unexpected(P, "end of line");
}

/* Blank lines and comment lines; leaves P->p at the first byte of the next line's content. */
static void skip_blank_lines(Parser *P) {
  for (;;) {
    skip_ws(P);
    skip_comment(P);
    if (P->p < P->end && *P->p == '\r' && P->p + 1 < P->end && P->p[1] == '\n') P->p++;
    if (P->p < P->end && *P->p == '\n') {
      newline(P);
      continue;
    }
    return;
  }
}

static bool at_end(Parser *P) {
  return P->p >= P->end;
}

/* ---- growable scratch arrays (freed at the end of the parse) ---- */

static bool grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return true;
  size_t nc = *cap ? *cap * 2 : 64;
  while (nc < need) nc *= 2;
  if (nc > SIZE_MAX / elem) return false;
  void *p = ir_realloc(*arr, nc * elem);
  if (!p) return false;
  *arr = p;
  *cap = nc;
  return true;
}

static Status push(Parser *P, const char *key, Value v) {
  if (P->sp == P->scap) {
    size_t cv = P->scap, ck = P->scap;
    if (!grow((void **)&P->vstack, &cv, P->sp + 1, sizeof(Value)) ||
        !grow((void **)&P->kstack, &ck, P->sp + 1, sizeof(char *)))
      return oom(P);
    P->scap = cv < ck ? cv : ck;
  }
  P->vstack[P->sp] = v;
  P->kstack[P->sp] = key;
  P->sp++;
  return JS_OK;
}

/* ---- lexical rules ---- */

/* string := '"' {char | escape} '"'   escape := \" \\ \n \t \r \xHH (HH not 00)
 * Decoded into arena `a`. */
static Status parse_string(Parser *P, Arena *a, const char **out) {
  skip_ws(P);
  SrcLoc open = here(P);
  if (P->p >= P->end || *P->p != '"') return unexpected(P, "a string");
  const char *s = ++P->p, *q = s;
  while (q < P->end && *q != '"' && *q != '\n') {
    if (*q == '\\' && q + 1 < P->end && q[1] != '\n') q++;
    q++;
  }
  if (q >= P->end || *q != '"') return perr(P, open, "unterminated string");
  char *buf = arena_alloc(a, (size_t)(q - s) + 1);
  if (!buf) return oom(P);
  size_t k = 0;
  for (const char *r = s; r < q; r++) {
    unsigned char c = (unsigned char)*r;
    SrcLoc at = {P->src, P->line, (int)(r - P->bol) + 1};
    if (c == '\\') {
      char e = *++r;
      switch (e) {
      case '"': buf[k++] = '"'; break;
      case '\\': buf[k++] = '\\'; break;
      case 'n': buf[k++] = '\n'; break;
      case 't': buf[k++] = '\t'; break;
      case 'r': buf[k++] = '\r'; break;
      case 'x': {
        int v = 0;
        for (int i = 1; i <= 2; i++) {
          char h = r + i < q ? r[i] : 0;
          int dv = is_digit(h) ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
          if (dv < 0) return perr(P, at, "'\\x' needs two hex digits");
          v = v * 16 + dv;
        }
        if (v == 0) return perr(P, at, "'\\x00' is not allowed in a string");
        buf[k++] = (char)v;
        r += 2;
        break;
      }
      default:
        if ((unsigned char)e < 0x20 || (unsigned char)e >= 0x7f)
          return perr(P, (SrcLoc){P->src, P->line, at.col + 1}, "invalid byte 0x%02x in a string", (unsigned char)e);
        return perr(P, at, "unknown escape '\\%c' in a string", e);
      }
      continue;
    }
    if (c < 0x20 || c == 0x7f) return perr(P, at, "invalid byte 0x%02x in a string (escape it as \\x%02x)", c, c);
    buf[k++] = (char)c;
  }
  buf[k] = 0;
  P->p = q + 1;
  *out = buf;
  return JS_OK;
}

/* path := string | [A-Za-z0-9_.]+   (module paths, parameter names, targets, model names) */
static Status parse_path(Parser *P, const char **out, const char *what) {
  skip_ws(P);
  if (P->p < P->end && *P->p == '"') return parse_string(P, P->g ? P->g->arena : P->prog->arena, out);
  const char *s = P->p, *q = s;
  while (q < P->end && (is_word_char(*q) || *q == '.')) q++;
  if (q == s) return unexpected(P, what);
  if (!(*out = arena_strndup(P->g ? P->g->arena : P->prog->arena, s, (size_t)(q - s)))) return oom(P);
  P->p = q;
  return JS_OK;
}

/* uint := [0-9]+ , at most `max` */
static Status parse_uint(Parser *P, int64_t max, int64_t *out, const char *what) {
  skip_ws(P);
  SrcLoc at = here(P);
  if (P->p >= P->end || !is_digit(*P->p)) return unexpected(P, what);
  int64_t v = 0;
  bool big = false;
  const char *s = P->p;
  while (P->p < P->end && is_digit(*P->p)) {
    if (!big && v > (max - (*P->p - '0')) / 10) big = true;
    if (!big) v = v * 10 + (*P->p - '0');
    P->p++;
  }
  if (big)
    return perr(P, at, "%s %.*s is too large (the limit is %lld)", what, (int)(P->p - s > 40 ? 40 : P->p - s), s,
                (long long)max);
  *out = v;
  return JS_OK;
}

/* number := ["-"] ("inf" | digits ["." digits] [("e"|"E") ["+"|"-"] digits]) | "nan"
 * Integral without "." or exponent: an int (checked for overflow); otherwise a float. */
static Status parse_number(Parser *P, Value *out) {
  skip_ws(P);
  SrcLoc at = here(P);
  const char *s = P->p, *q = s, *end = P->end;
  bool neg = q < end && *q == '-';
  if (neg) q++;
  if (end - q >= 3 && (memcmp(q, "inf", 3) == 0 || (!neg && memcmp(q, "nan", 3) == 0)) &&
      (end - q == 3 || !is_word_char(q[3]))) {
    *out = val_float(q[0] == 'n' ? NAN : neg ? -INFINITY : INFINITY);
    P->p = q + 3;
    return JS_OK;
  }
  if (q >= end || !is_digit(*q)) return unexpected(P, "a number");
  while (q < end && is_digit(*q)) q++;
  bool isfloat = false;
  if (q < end && *q == '.') {
    isfloat = true;
    q++;
    if (q >= end || !is_digit(*q)) return perr(P, at, "malformed number: digits must follow '.'");
    while (q < end && is_digit(*q)) q++;
  }
  if (q < end && (*q == 'e' || *q == 'E')) {
    isfloat = true;
    q++;
    if (q < end && (*q == '+' || *q == '-')) q++;
    if (q >= end || !is_digit(*q)) return perr(P, at, "malformed number: digits must follow the exponent");
    while (q < end && is_digit(*q)) q++;
  }
  if (q < end && (is_word_char(*q) || *q == '.')) return perr(P, at, "malformed number");
  size_t len = (size_t)(q - s);
  if (len > PARSE_MAX_NUMBER) return perr(P, at, "number too long (more than %d characters)", PARSE_MAX_NUMBER);
  if (isfloat) {
    char buf[PARSE_MAX_NUMBER + 1];
    memcpy(buf, s, len);
    buf[len] = 0;
    errno = 0;
    char *e;
    double f = strtod(buf, &e);
    if (*e) return perr(P, at, "malformed number");
    if (errno == ERANGE && isinf(f)) return perr(P, at, "float literal %s is out of range", buf);
    *out = val_float(f);
  } else {
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (const char *r = neg ? s + 1 : s; r < q; r++) {
      unsigned dv = (unsigned)(*r - '0');
      if (v > (lim - dv) / 10) return perr(P, at, "integer literal %.*s is out of range", (int)len, s);
      v = v * 10 + dv;
    }
    *out = val_int(neg ? (int64_t)(0 - v) : (int64_t)v);
  }
  P->p = q;
  return JS_OK;
}

/* ---- types ---- */

static const char *intern_sym(Parser *P, const char *s, size_t n) {
  const char *key = tmp_str(P, s, n);
  if (!key) return NULL;
  const char *v = strmap_get(&P->syms, key);
  if (v) return v;
  char *c = arena_strndup(P->g->arena, s, n);
  if (!c || strmap_put(&P->syms, c, c)) return NULL;
  return c;
}

/* type := dtype "[" [dim {"," dim}] "]"   dim := uint | symbol
 * The dtype word has been read (s, n). */
static Status parse_type_rest(Parser *P, const char *s, size_t n, SrcLoc at, TensorType *t) {
  memset(t, 0, sizeof *t);
  char name[16];
  DType dt;
  if (n >= sizeof name || (memcpy(name, s, n), name[n] = 0, !ir_dtype_parse(name, &dt))) {
    const char *cands[DT_COUNT];
    for (int i = 0; i < DT_COUNT; i++) cands[i] = ir_dtype_name((DType)i);
    const char *w = tmp_str(P, s, n);
    const char *hint = w ? diag_closest(w, cands, DT_COUNT) : NULL;
    if (hint) return perr(P, at, "unknown dtype '%.*s' (did you mean '%s'?)", (int)(n > 40 ? 40 : n), s, hint);
    return perr(P, at, "unknown dtype '%.*s'", (int)(n > 40 ? 40 : n), s);
  }
  t->dtype = dt;
  Status st;
  if ((st = expect(P, '['))) return st;
  if (accept(P, ']')) return JS_OK;
  for (;;) {
    skip_ws(P);
    SrcLoc dl = here(P);
    if (t->rank == IR_MAX_RANK) return perr(P, dl, "a type has at most %d dimensions", IR_MAX_RANK);
    Dim *dm = &t->dims[t->rank++];
    if (P->p < P->end && is_digit(*P->p)) {
      if ((st = parse_uint(P, IR_MAX_DIM, &dm->size, "dimension"))) return st;
    } else if (P->p < P->end && is_word_char(*P->p)) {
      const char *w;
      size_t wn = scan_word(P, &w);
      dm->size = -1;
      if (!(dm->sym = intern_sym(P, w, wn))) return oom(P);
    } else {
      return unexpected(P, "a dimension (a size or a symbol)");
    }
    if (accept(P, ']')) break;
    if (!accept(P, ',')) return unexpected(P, "',' or ']'");
  }
  if (ir_type_numel(t) > IR_MAX_NUMEL)
    return perr(P, at, "type has more than %lld elements; refusing it", (long long)IR_MAX_NUMEL);
  return JS_OK;
}

static Status parse_type(Parser *P, TensorType *t) {
  skip_ws(P);
  SrcLoc at = here(P);
  const char *s;
  size_t n = scan_word(P, &s);
  if (!n) return unexpected(P, "a type such as f32[B,16]");
  return parse_type_rest(P, s, n, at, t);
}

/* ---- values ---- */

static Status parse_value(Parser *P, Value *out, int depth, int ctx);

/* Whether "%name" starts a later line of the text (to tell use-before-definition from an
 * undefined name).  Runs once, on the error path. */
static bool defined_later(const Parser *P, const char *name) {
  size_t n = strlen(name);
  for (const char *q = P->p; q < P->end; q++) {
    if (*q != '\n') continue;
    const char *r = q + 1;
    while (r < P->end && (*r == ' ' || *r == '\t')) r++;
    if (r < P->end && *r == '%' && (size_t)(P->end - r - 1) >= n && memcmp(r + 1, name, n) == 0 &&
        (r + 1 + n == P->end || !is_word_char(r[1 + n])))
      return true;
  }
  return false;
}

/* noderef := "%" word */
static Status parse_noderef(Parser *P, Value *out, int ctx) {
  SrcLoc at = here(P);
  P->p++; /* '%' */
  if (P->p >= P->end || !is_word_char(*P->p)) return unexpected(P, "a node name after '%'");
  const char *s;
  size_t n = scan_word(P, &s);
  const char *name = tmp_str(P, s, n);
  if (!name) return oom(P);
  if (ctx == CTX_CONST) return perr(P, at, "a node reference (%%%s) is not allowed here", name);
  Node *node = P->g ? ir_graph_find_node(P->g, name) : NULL;
  if (node) {
    *out = val_node(node);
    return JS_OK;
  }
  if (ctx == CTX_META) {
    const char *c = arena_strdup(P->g->arena, name);
    if (!c || !grow((void **)&P->fix, &P->cfix, P->nfix + 1, sizeof *P->fix)) return oom(P);
    P->fix[P->nfix++] = (Fixup){c, at};
    P->pending++;
    *out = (Value){.kind = VAL_NODE, .u.node = NULL};
    return JS_OK;
  }
  if (defined_later(P, name)) return perr(P, at, "node '%%%s' is used before its definition", name);
  return perr(P, at, "undefined node '%%%s'", name);
}

/* tuple := "(" [value "," {value ","} [value]] ")"    -- a one-item tuple needs its comma
 * list  := "[" [value {"," value} [","]] "]"
 * The opening bracket has been read. */
static Status parse_seq(Parser *P, char close, ValKind kind, Value *out, int depth, int ctx) {
  size_t base = P->sp;
  int n = 0;
  bool trailing = false;
  Status st = JS_OK;
  char what[24];
  snprintf(what, sizeof what, "',' or '%c'", close);
  if (!accept(P, close)) {
    for (;;) {
      Value item;
      if ((st = parse_value(P, &item, depth + 1, ctx)) || (st = push(P, NULL, item))) goto out;
      if (++n > PARSE_MAX_ITEMS) {
        st = perr(P, here(P), "more than %d items in one sequence", PARSE_MAX_ITEMS);
        goto out;
      }
      trailing = accept(P, ',');
      if (accept(P, close)) break;
      if (!trailing) {
        st = unexpected(P, what);
        goto out;
      }
    }
  }
  if (kind == VAL_TUPLE && n == 1 && !trailing) {
    st = perr(P, here(P), "a one-item tuple needs a trailing comma: (x,)");
    goto out;
  }
  Value *items = arena_alloc(P->g->arena, sizeof(Value) * (size_t)(n ? n : 1));
  if (!items) {
    st = oom(P);
    goto out;
  }
  memcpy(items, P->vstack + base, sizeof(Value) * (size_t)n);
  *out = (Value){.kind = kind, .u.seq = {n, items}};
out:
  P->sp = base;
  return st;
}

/* dict := "{" [key "=" value {"," key "=" value} [","]] "}"   key := word | string
 * The "{" has been read. */
static Status parse_dict(Parser *P, Value *out, int depth, int ctx) {
  size_t base = P->sp;
  int n = 0;
  Status st = JS_OK;
  if (!accept(P, '}')) {
    for (;;) {
      const char *key;
      skip_ws(P);
      if (P->p < P->end && *P->p == '"') {
        if ((st = parse_string(P, P->g->arena, &key))) goto out;
      } else {
        const char *s;
        size_t kn = scan_word(P, &s);
        if (!kn) {
          st = unexpected(P, "a key");
          goto out;
        }
        if (!(key = arena_strndup(P->g->arena, s, kn))) {
          st = oom(P);
          goto out;
        }
      }
      Value v;
      if ((st = expect(P, '=')) || (st = parse_value(P, &v, depth + 1, ctx)) || (st = push(P, key, v))) goto out;
      if (++n > PARSE_MAX_ITEMS) {
        st = perr(P, here(P), "more than %d items in one dict", PARSE_MAX_ITEMS);
        goto out;
      }
      bool comma = accept(P, ',');
      if (accept(P, '}')) break;
      if (!comma) {
        st = unexpected(P, "',' or '}'");
        goto out;
      }
    }
  }
  const char **keys = arena_alloc(P->g->arena, sizeof(char *) * (size_t)(n ? n : 1));
  Value *vals = arena_alloc(P->g->arena, sizeof(Value) * (size_t)(n ? n : 1));
  if (!keys || !vals) {
    st = oom(P);
    goto out;
  }
  memcpy(keys, P->kstack + base, sizeof(char *) * (size_t)n);
  memcpy(vals, P->vstack + base, sizeof(Value) * (size_t)n);
  *out = (Value){.kind = VAL_DICT, .u.dict = {n, keys, vals}};
out:
  P->sp = base;
  return st;
}

/* value := "None" | "true" | "false" | number | string | noderef | tuple | list | dict | type */
static Status parse_value(Parser *P, Value *out, int depth, int ctx) {
  skip_ws(P);
  SrcLoc at = here(P);
  if (depth > PARSE_MAX_DEPTH) return perr(P, at, "values nested more than %d deep", PARSE_MAX_DEPTH);
  if (P->p >= P->end) return unexpected(P, "a value");
  char c = *P->p;
  switch (c) {
  case '%': return parse_noderef(P, out, ctx);
  case '"': {
    const char *s;
    Status st = parse_string(P, P->g->arena, &s);
    if (!st) *out = val_str(s);
    return st;
  }
  case '(': P->p++; return parse_seq(P, ')', VAL_TUPLE, out, depth, ctx);
  case '[': P->p++; return parse_seq(P, ']', VAL_LIST, out, depth, ctx);
  case '{': P->p++; return parse_dict(P, out, depth, ctx);
  default: break;
  }
  if (c == '-' || is_digit(c)) return parse_number(P, out);
  if (!is_word_char(c)) return unexpected(P, "a value");
  const char *s;
  size_t n = scan_word(P, &s);
  if (word_is(s, n, "None")) {
    *out = val_none();
  } else if (word_is(s, n, "true") || word_is(s, n, "false")) {
    *out = val_bool(s[0] == 't');
  } else if (word_is(s, n, "nan") || word_is(s, n, "inf")) {
    P->p = s;
    return parse_number(P, out);
  } else if (P->p < P->end && *P->p == '[') {
    TensorType *t = arena_alloc(P->g->arena, sizeof *t);
    if (!t) return oom(P);
    Status st = parse_type_rest(P, s, n, at, t);
    if (!st) *out = val_type(t);
    return st;
  } else {
    return perr(P, at, "expected a value, found '%.*s'", (int)(n > 40 ? 40 : n), s);
  }
  return JS_OK;
}

/* ---- locations ---- */

/* loc := "loc" "(" string ":" uint ":" uint ")"   -- a place in the original .jsc source */
static Status parse_loc(Parser *P, SrcLoc *out) {
  Status st;
  const char *path;
  int64_t line, col;
  if ((st = expect_word(P, "loc")) || (st = expect(P, '('))) return st;
  if ((st = parse_string(P, P->prog->arena, &path))) return st;
  if ((st = expect(P, ':')) || (st = parse_uint(P, 1000000000, &line, "line number")) || (st = expect(P, ':')) ||
      (st = parse_uint(P, 1000000000, &col, "column number")) || (st = expect(P, ')')))
    return st;
  SrcFile *f = strmap_get(&P->files, path);
  if (!f) {
    if (!(f = arena_alloc(P->prog->arena, sizeof *f))) return oom(P);
    f->path = path;
    if (strmap_put(&P->files, path, f)) return oom(P);
  }
  *out = (SrcLoc){f, (int)line, (int)col};
  return JS_OK;
}

/* An optional loc(...) before the end of a line. */
static Status opt_loc(Parser *P, SrcLoc *out, bool *given) {
  *given = false;
  skip_ws(P);
  if (!peek_word(P, "loc")) return JS_OK;
  *given = true;
  return parse_loc(P, out);
}

/* ---- "did you mean" ---- */

static const char *closest_module(const Graph *g, const char *word) {
  const char **c = ir_calloc((size_t)g->nmodules + 1, sizeof *c);
  if (!c) return NULL;
  for (int i = 0; i < g->nmodules; i++) c[i] = g->modules[i]->path;
  const char *h = diag_closest(word, c, g->nmodules);
  ir_free(c);
  return h;
}

static const char *closest_param(const Graph *g, const char *word) {
  const char **c = ir_calloc((size_t)g->nparams + 1, sizeof *c);
  if (!c) return NULL;
  for (int i = 0; i < g->nparams; i++) c[i] = g->params[i]->qualname;
  const char *h = diag_closest(word, c, g->nparams);
  ir_free(c);
  return h;
}

static const char *closest_op(const char *word, int form) {
  const char *c[MOP_COUNT];
  int n = ir_op_names(form, c, MOP_COUNT);
  return diag_closest(word, c, n);
}

#define HINT(h) (h) ? " (did you mean '" : "", (h) ? (h) : "", (h) ? "'?)" : ""

/* ---- the module and parameter tables ---- */

/* Reports created parameters of the current module that no line listed. */
static Status check_params_listed(Parser *P) {
  Module *m = P->pm;
  if (!m || P->pi >= m->nparams) return JS_OK;
  const Param *p = m->params[P->pi];
  return perr(P, here(P), "module '%s' (%s) creates %s '%s', but no line lists it", m->path,
              ir_module_info(m->type)->cls, p->kind == PK_BUFFER ? "buffer" : "parameter", p->qualname);
}

/* module := "module" path ":" class ["(" [arg {"," arg}] ")"] [loc]
 * arg    := value | word "=" value */
static Status parse_module(Parser *P) {
  Graph *g = P->g;
  SrcLoc at = here(P);
  Status st;
  const char *path;
  if ((st = check_params_listed(P)) || (st = expect_word(P, "module"))) return st;
  skip_ws(P);
  SrcLoc pathloc = here(P);
  if ((st = parse_path(P, &path, "a module path"))) return st;
  if (ir_graph_find_module(g, path)) return perr(P, pathloc, "duplicate module '%s'", path);
  Module *parent = g->root;
  const char *name = path, *dot = strrchr(path, '.');
  if (dot) {
    name = dot + 1;
    const char *pp = arena_strndup(g->arena, path, (size_t)(dot - path));
    if (!pp) return oom(P);
    if (!(parent = ir_graph_find_module(g, pp)))
      return perr(P, pathloc, "module '%s' is declared before its parent '%s'", path, pp);
  }
  if (!*name || !*path) return perr(P, pathloc, "malformed module path '%s'", path);
  if ((st = expect(P, ':'))) return st;
  skip_ws(P);
  SrcLoc clsloc = here(P);
  const char *s;
  size_t n = scan_word(P, &s);
  if (!n) return unexpected(P, "a module class such as Linear");
  const char *cls = tmp_str(P, s, n);
  if (!cls) return oom(P);
  ModuleType type = ir_module_lookup(cls);
  if (type == MT_NONE) {
    const char *c[MT_COUNT];
    int nc = ir_module_names(c, MT_COUNT);
    const char *h = diag_closest(cls, c, nc);
    return perr(P, clsloc, "unknown module class '%s'%s%s%s", cls, HINT(h));
  }
  Module *m = ir_module_new(g, parent, name, type, at);
  if (!m) return oom(P);
  m->ir_at = at; /* errors about it point here, whatever its loc(...) says */
  P->pm = m;
  P->pi = 0;
  if (accept(P, '(')) {
    size_t base = P->sp;
    int npos = 0, nkw = 0;
    if (!accept(P, ')')) {
      for (;;) {
        skip_ws(P);
        SrcLoc al = here(P);
        const char *save = P->p, *w;
        size_t wn = scan_word(P, &w);
        const char *key = NULL;
        if (wn && accept(P, '=')) {
          if (!(key = arena_strndup(g->arena, w, wn))) {
            st = oom(P);
            goto args_out;
          }
        } else {
          P->p = save;
          if (nkw) {
            st = perr(P, al, "positional argument after keyword arguments");
            goto args_out;
          }
        }
        Value v;
        if ((st = parse_value(P, &v, 1, CTX_CONST)) || (st = push(P, key, v))) goto args_out;
        if (key)
          nkw++;
        else
          npos++;
        if (npos + nkw > 64) {
          st = perr(P, al, "too many constructor arguments");
          goto args_out;
        }
        if (accept(P, ')')) break;
        if (!accept(P, ',')) {
          st = unexpected(P, "',' or ')'");
          goto args_out;
        }
      }
    }
    st = ir_module_configure(g, m, npos, P->vstack + base, nkw, P->kstack + base + npos, P->vstack + base + npos,
                             P->d, at);
  args_out:
    P->sp = base;
    if (st) return st;
  }
  bool given;
  SrcLoc loc;
  if ((st = opt_loc(P, &loc, &given))) return st;
  if (given) {
    m->loc = loc;
    for (int i = 0; i < m->nparams; i++) m->params[i]->loc = loc;
  }
  return expect_eol(P);
}

/* param := ("param" | "buffer") path ":" type "=" init [loc]
 * init  := word ["(" number {"," number} ")"] */
static Status parse_param(Parser *P) {
  Graph *g = P->g;
  SrcLoc at = here(P);
  Status st;
  const char *kw;
  size_t kwn = scan_word(P, &kw);
  ParamKind kind = word_is(kw, kwn, "buffer") ? PK_BUFFER : PK_PARAM;
  const char *what = kind == PK_BUFFER ? "buffer" : "parameter";
  skip_ws(P);
  SrcLoc qloc = here(P);
  const char *qual;
  TensorType t;
  if ((st = parse_path(P, &qual, "a parameter name")) || (st = expect(P, ':')) || (st = parse_type(P, &t)))
    return st;
  for (int i = 0; i < t.rank; i++)
    if (t.dims[i].sym) return perr(P, qloc, "%s '%s' needs a type with known sizes, not symbol '%s'", what, qual, t.dims[i].sym);
  if ((st = expect(P, '='))) return st;
  skip_ws(P);
  SrcLoc iloc = here(P);
  const char *s;
  size_t n = scan_word(P, &s);
  if (!n) return unexpected(P, "an initialiser such as zeros");
  const char *iname = tmp_str(P, s, n);
  if (!iname) return oom(P);
  Init init = {0};
  if (!ir_init_parse(iname, &init.kind)) {
    const char *c[INIT_COUNT];
    for (int i = 0; i < INIT_COUNT; i++) c[i] = ir_init_name((InitKind)i);
    const char *h = diag_closest(iname, c, INIT_COUNT);
    return perr(P, iloc, "unknown initialiser '%s'%s%s%s", iname, HINT(h));
  }
  int want = ir_init_nargs(init.kind), got = 0;
  if (accept(P, '(')) {
    if (!accept(P, ')')) {
      for (;;) {
        Value v;
        skip_ws(P);
        SrcLoc vl = here(P);
        if ((st = parse_number(P, &v))) return st;
        if (got == 2) return perr(P, vl, "initialiser %s takes %d argument%s", ir_init_name(init.kind), want, want == 1 ? "" : "s");
        init.args[got++] = v.kind == VAL_INT ? (double)v.u.i : v.u.f;
        if (accept(P, ')')) break;
        if ((st = expect(P, ','))) return st;
      }
    }
  }
  if (got != want)
    return perr(P, iloc, "initialiser %s takes %d argument%s, got %d", ir_init_name(init.kind), want,
                want == 1 ? "" : "s", got);
  bool given;
  SrcLoc loc;
  if ((st = opt_loc(P, &loc, &given)) || (st = expect_eol(P))) return st;
  Module *m = P->pm;
  if (m && P->pi < m->nparams) {
    /* A parameter its module's constructor created: it must be the next one, as made. */
    Param *p = m->params[P->pi];
    const char *cls = ir_module_info(m->type)->cls;
    if (strcmp(p->qualname, qual) != 0)
      return perr(P, qloc, "module '%s' (%s) creates %s '%s' next, not '%s'", m->path, cls,
                  p->kind == PK_BUFFER ? "buffer" : "parameter", p->qualname, qual);
    if (p->kind != kind)
      return perr(P, at, "'%s' is a %s of %s, not a %s", qual, p->kind == PK_BUFFER ? "buffer" : "parameter", cls, what);
    if (!ir_type_equal(&p->type, &t)) {
      StrBuf a, b;
      sb_init(&a);
      sb_init(&b);
      ir_type_print(&a, &p->type);
      ir_type_print(&b, &t);
      st = perr(P, qloc, "%s '%s' of %s has type %s (from its constructor arguments), not %s", what, qual, cls,
                sb_str(&a), sb_str(&b));
      sb_free(&a);
      sb_free(&b);
      return st;
    }
    p->init = init;
    if (given) p->loc = loc;
    P->pi++;
    return JS_OK;
  }
  Module *owner = g->root;
  const char *name = qual;
  size_t ml = m ? strlen(m->path) : 0;
  if (m && strncmp(qual, m->path, ml) == 0 && qual[ml] == '.' && qual[ml + 1]) {
    owner = m;
    name = qual + ml + 1;
  } else if (strchr(qual, '.')) {
    return perr(P, qloc, "%s '%s' does not belong to %s%s%s", what, qual, m ? "module '" : "the model",
                m ? m->path : "", m ? "' (the module above it)" : " (only module parameters have dotted names)");
  }
  if (ir_graph_find_param(g, qual)) return perr(P, qloc, "duplicate %s '%s'", what, qual);
  if (ir_type_numel(&t) > IR_MAX_NUMEL) return perr(P, qloc, "%s '%s' is too large", what, qual);
  if (!ir_param_new(g, owner, name, kind, &t, init, given ? loc : at)) return oom(P);
  return JS_OK;
}

/* ---- the graph ---- */

/* node := "%" word ":" (type | "?") "[" "num_users" "=" uint "]" "=" kind "[" "target" "=" path "]"
 *         ["(" "args" "=" tuple ["," "kwargs" "=" dict] ")"] [loc] ["!" value] */
static Status parse_node(Parser *P) {
  Graph *g = P->g;
  SrcLoc at = here(P);
  Status st;
  if ((st = expect(P, '%'))) return st;
  if (P->p >= P->end || !is_word_char(*P->p)) return unexpected(P, "a node name");
  const char *s;
  size_t n = scan_word(P, &s);
  char *name = arena_strndup(g->arena, s, n);
  if (!name) return oom(P);
  Node *prev = ir_graph_find_node(g, name);
  if (prev)
    return perr(P, at, "duplicate node name '%%%s' (first defined at line %d)", name,
                (size_t)prev->index < P->ninfo ? P->info[prev->index].line : 0);
  if ((st = expect(P, ':'))) return st;
  TensorType type;
  bool has_type = !accept(P, '?');
  if (has_type && (st = parse_type(P, &type))) return st;
  int64_t declared;
  if ((st = expect(P, '['))) return st;
  skip_ws(P);
  SrcLoc uat = here(P);
  if ((st = expect_word(P, "num_users")) || (st = expect(P, '=')) ||
      (st = parse_uint(P, INT32_MAX, &declared, "num_users")) || (st = expect(P, ']')) || (st = expect(P, '=')))
    return st;
  skip_ws(P);
  SrcLoc kat = here(P);
  size_t kn = scan_word(P, &s);
  if (!kn) return unexpected(P, "a node kind such as call_module");
  const char *kname = tmp_str(P, s, kn);
  if (!kname) return oom(P);
  NodeKind kind;
  if (!ir_node_kind_parse(kname, &kind)) {
    const char *c[OP_KIND_COUNT];
    for (int i = 0; i < OP_KIND_COUNT; i++) c[i] = ir_node_kind_name((NodeKind)i);
    const char *h = diag_closest(kname, c, OP_KIND_COUNT);
    return perr(P, kat, "unknown node kind '%s'%s%s%s", kname, HINT(h));
  }
  const char *target;
  if ((st = expect(P, '[')) || (st = expect_word(P, "target")) || (st = expect(P, '='))) return st;
  skip_ws(P);
  SrcLoc tat = here(P);
  if ((st = parse_path(P, &target, "a target")) || (st = expect(P, ']'))) return st;
  /* Targets must name something that exists (the verifier checks the rest). */
  switch (kind) {
  case OP_GET_ATTR:
    if (!ir_graph_find_param(g, target)) {
      const char *h = closest_param(g, target);
      return perr(P, tat, "unknown parameter or buffer '%s'%s%s%s", target, HINT(h));
    }
    break;
  case OP_CALL_MODULE:
    if (!ir_graph_find_module(g, target)) {
      const char *h = closest_module(g, target);
      return perr(P, tat, "unknown module '%s'%s%s%s", target, HINT(h));
    }
    break;
  case OP_CALL_FUNCTION:
  case OP_CALL_METHOD: {
    int form = kind == OP_CALL_FUNCTION ? FORM_FN : FORM_METHOD;
    const char *fk = kind == OP_CALL_FUNCTION ? "function" : "method";
    if (ir_op_lookup_form(target, form) == MOP_NONE) {
      if (ir_op_lookup(target) != MOP_NONE)
        return perr(P, tat, "'%s' cannot be called as a %s", target, fk);
      const char *h = closest_op(target, form);
      return perr(P, tat, "unknown %s '%s'%s%s%s", fk, target, HINT(h));
    }
    break;
  }
  case OP_OUTPUT:
    if (strcmp(target, "output") != 0) return perr(P, tat, "the output node's target must be 'output'");
    break;
  default: break;
  }
  Value args = {.kind = VAL_TUPLE}, kwargs = {.kind = VAL_DICT};
  if (accept(P, '(')) {
    if ((st = expect_word(P, "args")) || (st = expect(P, '=')) || (st = expect(P, '(')) ||
        (st = parse_seq(P, ')', VAL_TUPLE, &args, 0, CTX_ARGS)))
      return st;
    if (accept(P, ',')) {
      if ((st = expect_word(P, "kwargs")) || (st = expect(P, '=')) || (st = expect(P, '{')) ||
          (st = parse_dict(P, &kwargs, 0, CTX_ARGS)))
        return st;
    }
    if ((st = expect(P, ')'))) return st;
  }
  /* quant OP_KIND{config}: the node's quantization (spec/quant.md) */
  Value quant = val_none();
  SrcLoc qat = {0};
  const char *qname = NULL;
  if (peek_word(P, "quant")) {
    scan_word(P, &s);
    skip_ws(P);
    qat = here(P);
    size_t qn = scan_word(P, &s);
    if (!qn) return unexpected(P, "a quantized op name such as linear_integer");
    if (!(qname = arena_strndup(g->arena, s, qn))) return oom(P);
    if ((st = expect(P, '{')) || (st = parse_dict(P, &quant, 0, CTX_CONST))) return st;
  }
  bool given;
  SrcLoc loc;
  if ((st = opt_loc(P, &loc, &given))) return st;
  Value meta = val_none();
  P->pending = 0;
  if (accept(P, '!') && (st = parse_value(P, &meta, 0, CTX_META))) return st;
  if ((st = expect_eol(P))) return st;
  Node *node = ir_node_new(g, kind, target, name, NULL, given ? loc : at);
  if (!node) return oom(P);
  node->ir_at = at; /* a tampered line is reported here, not at its loc(...) */
  if (ir_node_set_args(node, args.u.seq.n, args.u.seq.items, kwargs.u.dict.n, kwargs.u.dict.keys,
                       kwargs.u.dict.vals))
    return oom(P);
  node->has_type = has_type;
  if (has_type) node->type = type;
  node->meta = meta;
  if (qname) {
    QCfg q;
    bool skip;
    if (!ir_op_quantizable(node->mop))
      return perr(P, qat, "%%%s computes %s, which cannot be quantized", name,
                  ir_op_info(node->mop) ? ir_op_info(node->mop)->name : "nothing");
    if ((st = ir_qcfg_decode(node->mop, &quant, "quant", &q, &skip, P->d, qat))) return st;
    const char *want = skip ? NULL : ir_quant_op_name(g->arena, node->mop, q.kind);
    if (skip) return perr(P, qat, "a quant clause needs a format (name=\"NA\" means none: leave the clause out)");
    if (!want) return oom(P);
    if (strcmp(want, qname) != 0) return perr(P, qat, "the quantized op of this %s config is '%s', not '%s'", ir_qkind_name(q.kind), want, qname);
    Value nv;
    if (ir_qcfg_to_value(g->arena, node->mop, &q, &nv)) return oom(P);
    node->quant = nv;
  }
  if (!grow((void **)&P->info, &P->cinfo, P->ninfo + 1, sizeof *P->info)) return oom(P);
  P->info[P->ninfo++] = (NodeInfo){(int)declared, uat, at.line};
  if (P->pending) {
    if (!grow((void **)&P->fixnodes, &P->cfixnodes, P->nfixnodes + 1, sizeof *P->fixnodes)) return oom(P);
    P->fixnodes[P->nfixnodes++] = node;
  }
  return JS_OK;
}

/* Resolves the node references in a node's metadata, in reading order. */
static Status resolve_meta(Parser *P, Value *v, int depth) {
  if (depth > PARSE_MAX_DEPTH + 1) return JS_OK;
  switch (v->kind) {
  case VAL_NODE:
    if (!v->u.node) {
      if (P->fixpos >= P->nfix) return JS_OK;
      const Fixup *f = &P->fix[P->fixpos++];
      if (!(v->u.node = ir_graph_find_node(P->g, f->name)))
        return perr(P, f->loc, "undefined node '%%%s' in metadata", f->name);
    }
    return JS_OK;
  case VAL_TUPLE:
  case VAL_LIST:
    for (int i = 0; i < v->u.seq.n; i++) {
      Status st = resolve_meta(P, &v->u.seq.items[i], depth + 1);
      if (st) return st;
    }
    return JS_OK;
  case VAL_DICT:
    for (int i = 0; i < v->u.dict.n; i++) {
      Status st = resolve_meta(P, &v->u.dict.vals[i], depth + 1);
      if (st) return st;
    }
    return JS_OK;
  default: return JS_OK;
  }
}

/* graph := "graph" "{" eol {node eol} "}" eol */
static Status parse_graph(Parser *P) {
  Graph *g = P->g;
  Status st;
  if ((st = check_params_listed(P)) || (st = expect_word(P, "graph")) || (st = expect(P, '{')) ||
      (st = expect_eol(P)))
    return st;
  P->pm = NULL;
  SrcLoc close = here(P);
  for (;;) {
    skip_blank_lines(P);
    if (at_end(P))
      return perr(P, here(P), "unexpected end of file in the graph of model '%s' (missing '}')", g->name);
    if (*P->p == '}') {
      close = here(P);
      P->p++;
      break;
    }
    if (*P->p != '%') return unexpected(P, "a node ('%name : ...') or '}'");
    if ((st = parse_node(P))) return st;
  }
  if ((st = expect_eol(P))) return st;
  if (!ir_graph_output(g)) return perr(P, close, "the graph of model '%s' has no output node", g->name);
  for (size_t i = 0; i < P->nfixnodes; i++)
    if ((st = resolve_meta(P, &P->fixnodes[i]->meta, 0))) return st;
  for (Node *n = g->first; n; n = n->next) {
    const NodeInfo *ni = &P->info[n->index];
    if (ni->declared != n->nusers)
      return perr(P, ni->at, "%%%s has num_users=%d, but %d node%s use%s it", n->name, ni->declared, n->nusers,
                  n->nusers == 1 ? "" : "s", n->nusers == 1 ? "s" : "");
  }
  return JS_OK;
}

/* model := "model" path [loc] "{" eol {module | param} graph "}" eol */
static Status parse_model(Parser *P) {
  SrcLoc at = here(P);
  Status st;
  const char *name;
  if ((st = expect_word(P, "model"))) return st;
  skip_ws(P);
  SrcLoc nat = here(P);
  P->g = NULL;
  if ((st = parse_path(P, &name, "a model name"))) return st;
  if (ir_program_find(P->prog, name)) return perr(P, nat, "duplicate model '%s'", name);
  Graph *g = ir_graph_new(name);
  if (!g) return oom(P);
  if (ir_program_add(P->prog, g)) {
    ir_graph_free(g);
    return oom(P);
  }
  P->g = g;
  g->ir_src = P->src;
  g->loc = at;
  strmap_free(&P->syms);
  P->ninfo = P->nfixnodes = P->nfix = P->fixpos = 0;
  P->pm = NULL;
  P->pi = 0;
  bool given;
  SrcLoc loc;
  if ((st = opt_loc(P, &loc, &given))) return st;
  if (given) g->loc = loc;
  if ((st = expect(P, '{')) || (st = expect_eol(P))) return st;
  for (;;) {
    skip_blank_lines(P);
    if (at_end(P)) return perr(P, here(P), "unexpected end of file in model '%s' (missing '}')", g->name);
    if (*P->p == '}') return perr(P, here(P), "model '%s' has no graph", g->name);
    if (peek_word(P, "module")) {
      if ((st = parse_module(P))) return st;
    } else if (peek_word(P, "param") || peek_word(P, "buffer")) {
      if ((st = parse_param(P))) return st;
    } else if (peek_word(P, "graph")) {
      if ((st = parse_graph(P))) return st;
      break;
    } else {
      return unexpected(P, "'module', 'param', 'buffer' or 'graph'");
    }
  }
  skip_blank_lines(P);
  if (at_end(P)) return perr(P, here(P), "unexpected end of file: model '%s' is missing its closing '}'", g->name);
  if ((st = expect(P, '}'))) return st;
  return expect_eol(P);
}

/* program := {model} */
Status ir_parse(const SrcFile *src, Program **out, Diag *d) {
  *out = NULL;
  Parser P = {.d = d, .line = 1};
  strmap_init(&P.files);
  strmap_init(&P.syms);
  sb_init(&P.tmp);
  Status st = JS_OK;
  if (!(P.prog = ir_program_new())) return diag_oom(d);
  /* The Program keeps its own copy of the text: nodes point into it for their locations. */
  P.src = diag_src_from_string(P.prog->arena, src->path ? src->path : "<ir>", src->text ? src->text : "",
                               src->text ? src->len : 0);
  if (!P.src) {
    st = oom(&P);
    goto done;
  }
  P.p = P.bol = P.src->text;
  P.scap = 64;
  P.vstack = ir_malloc(P.scap * sizeof *P.vstack);
  P.kstack = ir_malloc(P.scap * sizeof *P.kstack);
  if (!P.vstack || !P.kstack) {
    st = oom(&P);
    goto done;
  }
  P.end = P.src->text + P.src->len;
  for (;;) {
    skip_blank_lines(&P);
    if (at_end(&P)) break;
    if (!peek_word(&P, "model")) {
      st = unexpected(&P, "'model'");
      goto done;
    }
    if ((st = parse_model(&P))) goto done;
  }
  /* As in a .jsc file: a file without a model is a mistake (an empty or truncated file). */
  if (P.prog->ngraphs == 0) {
    st = perr(&P, here(&P), "no model in this IR file (expected 'model Name { ... }')");
    goto done;
  }
  for (int i = 0; i < P.prog->ngraphs; i++) {
    Status vs = ir_verify(P.prog->graphs[i], d);
    if (vs && (!st || vs == JS_ENOMEM)) st = vs;
  }
done:
  strmap_free(&P.files);
  strmap_free(&P.syms);
  sb_free(&P.tmp);
  ir_free(P.vstack);
  ir_free(P.kstack);
  ir_free(P.info);
  ir_free(P.fixnodes);
  ir_free(P.fix);
  if (st) {
    ir_program_free(P.prog);
    return st;
  }
  *out = P.prog;
  return JS_OK;
}
