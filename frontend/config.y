%code top {
/* config.y — the config grammar: TOML 1.0's structure (bison, pure, reentrant; the syntax
 * accepted is in spec/config.md).  The tables are canonical LR without default reductions,
 * so that an error's list of expected tokens is exact: a value inside an array expects
 * ',' or ']', the same value after a top-level '=' only the end of the line.  The actions hand keys, values and headers to the tree
 * builder in config.c, which knows TOML's rules on what may be defined twice.
 *
 * The first error stops the parse (no recovery: a config is short, and one broken table
 * makes every later key doubtful).  Syntax errors are written by yyreport_syntax_error in
 * words: "missing value after '='", "invalid value 'NA' (a string is quoted: \"NA\")",
 * "unexpected ']', expected a key". */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wmissing-declarations"
#pragma GCC diagnostic ignored "-Wsign-compare"
}

%code requires {
#include "config.h"
}

%code {
#include <string.h>

int cfglex(CFGSTYPE *lval, SrcLoc *lloc, void *scanner);
static void cfgerror(SrcLoc *loc, void *scanner, CfgParser *p, const char *msg);
static void *stack_alloc(CfgParser *p, size_t n);

/* The parser's stack grows through the allocation hook too. */
#define YYMALLOC(n) stack_alloc(p, n)
#define YYFREE ir_free
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                                          \
  do {                                                                                       \
    if (N) (Cur) = YYRHSLOC(Rhs, 1);                                                         \
    else (Cur) = YYRHSLOC(Rhs, 0);                                                           \
  } while (0)

/* A builder call failed: it reported the error (or set p->oom); stop. */
#define CHK(x)                                                                               \
  do {                                                                                       \
    if (!(x)) YYABORT;                                                                       \
  } while (0)
}

%define api.pure full
%define api.prefix {cfg}
%define api.location.type {SrcLoc}
%define api.token.prefix {CT_}
%define parse.error custom
%define lr.default-reduction accepting
%define lr.type canonical-lr
%locations
%param {void *scanner}
%parse-param {CfgParser *p}

%union {
  const char *s;
  CfgNode *node;
  CfgKey *key;
}

%token <s> KEY WORD  /* a key component (bare or quoted); a bare word where a value belongs */
%token <node> SCALAR /* an integer, float, boolean or string */
%token NEWLINE LL RR /* end of line; "[[" and "]]" of an array-of-tables header */

%type <key> key
%type <node> val array itable

%%

/* file := line* */
file
  : %empty
  | file line
  ;

/* line := [keyval | header] NEWLINE   (comments and white space are the scanner's) */
line
  : NEWLINE
  | keyval NEWLINE
  | header NEWLINE
  ;

/* header := "[" key "]" | "[[" key "]]" */
header
  : '[' key ']'             { CHK(cfg_header(p, $2, false)); }
  | LL key RR               { CHK(cfg_header(p, $2, true)); }
  ;

/* key := KEY ("." KEY)* */
key
  : KEY                     { CHK($$ = cfg_key_push(p, NULL, $1, @1)); }
  | key '.' KEY             { CHK($$ = cfg_key_push(p, $1, $3, @3)); }
  ;

/* keyval := key "=" val */
keyval
  : key '=' { CHK(cfg_value_begin(p, $1)); } val { CHK(cfg_keyval(p, $4)); }
  ;

/* val := SCALAR | array | itable */
val
  : SCALAR
  | array
  | itable
  ;

/* array := "[" [val ("," val)* [","]] "]"   (newlines and comments allowed inside) */
array
  : aopen ']'               { CHK($$ = cfg_array_close(p)); }
  | aopen vals ']'          { CHK($$ = cfg_array_close(p)); }
  | aopen vals ',' ']'      { CHK($$ = cfg_array_close(p)); }
  ;

aopen
  : '['                     { CHK(cfg_array_open(p, @1)); }
  ;

vals
  : val                     { CHK(cfg_array_push(p, $1)); }
  | vals ',' val            { CHK(cfg_array_push(p, $3)); }
  ;

/* itable := "{" [keyval ("," keyval)*] "}"   (one line; no trailing comma in TOML 1.0) */
itable
  : iopen '}'               { CHK($$ = cfg_inline_close(p)); }
  | iopen ikvs '}'          { CHK($$ = cfg_inline_close(p)); }
  | iopen ikvs ',' '}' {
      diag_error(p->d, @3, "trailing comma in an inline table (TOML 1.0 allows none)");
      YYABORT;
    }
  ;

iopen
  : '{'                     { CHK(cfg_inline_open(p, @1)); }
  ;

ikvs
  : keyval
  | ikvs ',' keyval
  ;

%%

static void *stack_alloc(CfgParser *p, size_t n) {
  void *q = ir_malloc(n);
  if (!q) p->oom = true;
  return q;
}

/* Bison calls this only when its stack is exhausted (syntax errors go through
 * yyreport_syntax_error); the nesting limit keeps that from happening. */
static void cfgerror(SrcLoc *loc, void *scanner, CfgParser *p, const char *msg) {
  if (p->oom) return;
  diag_error(p->d, *loc, "config too complex (the parser's stack is exhausted)");
}

/* The lookahead token as the user wrote it: "value '2'", "key 'b'", "end of line". */
static void describe_lookahead(StrBuf *sb, yysymbol_kind_t k, const CfgParser *p) {
  if (k == YYSYMBOL_YYEOF || (k == YYSYMBOL_NEWLINE && p->eof)) {
    sb_puts(sb, "end of file");
    return;
  }
  if (k == YYSYMBOL_NEWLINE) {
    sb_puts(sb, "end of line");
    return;
  }
  if (k == YYSYMBOL_KEY) sb_puts(sb, "key ");
  if (k == YYSYMBOL_SCALAR) sb_puts(sb, "value ");
  if (!p->tok_text) {
    sb_puts(sb, yysymbol_name(k));
    return;
  }
  /* the token's first line, shortened */
  int n = 0;
  while (n < p->tok_len && n < 40 && p->tok_text[n] != '\n' && p->tok_text[n] != '\r') n++;
  sb_printf(sb, "'%.*s%s'", n, p->tok_text, n < p->tok_len ? "..." : "");
}

static void describe_expected(StrBuf *sb, yysymbol_kind_t k) {
  switch (k) {
  case YYSYMBOL_YYEOF: sb_puts(sb, "end of file"); return;
  case YYSYMBOL_NEWLINE: sb_puts(sb, "end of line"); return;
  case YYSYMBOL_KEY: sb_puts(sb, "a key"); return;
  case YYSYMBOL_SCALAR: sb_puts(sb, "a value"); return;
  case YYSYMBOL_LL: sb_puts(sb, "'[['"); return;
  case YYSYMBOL_RR: sb_puts(sb, "']]'"); return;
  default: sb_puts(sb, yysymbol_name(k)); return; /* character tokens: already "'='" */
  }
}

/* A bare word where a value belongs: most likely a string without its quotes. */
static void unquoted(CfgParser *p, SrcLoc loc, const char *w) {
  if (strcmp(w, "True") == 0 || strcmp(w, "False") == 0 || strcmp(w, "TRUE") == 0 || strcmp(w, "FALSE") == 0)
    diag_error(p->d, loc, "invalid value '%s' (booleans are lowercase: true, false)", w);
  else if (strcmp(w, "None") == 0 || strcmp(w, "null") == 0 || strcmp(w, "nil") == 0)
    diag_error(p->d, loc, "invalid value '%s' (TOML has no null: leave the key out)", w);
  else
    diag_error(p->d, loc, "invalid value '%s' (a string is quoted: \"%s\")", w, w);
}

/* Points at the array or inline table still open when an error comes on a later line (or
 * at the end of the file): a missing ']' shows up only there. */
static void note_open(CfgParser *p, yysymbol_kind_t la, SrcLoc loc) {
  if (p->nopen == 0) return;
  SrcLoc o = p->open_loc[p->nopen - 1];
  if (la == YYSYMBOL_YYEOF)
    diag_note(p->d, o, "this '%c' is never closed", p->open[p->nopen - 1]);
  else if (o.line < loc.line)
    diag_note(p->d, o, "this '%c' is still open", p->open[p->nopen - 1]);
}

static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, CfgParser *p) {
  if (p->oom) return 0;
  yysymbol_kind_t la = yypcontext_token(ctx);
  SrcLoc loc = *yypcontext_location(ctx);
  yysymbol_kind_t exp[16];
  int n = yypcontext_expected_tokens(ctx, exp, 16);
  if (n < 0) n = 0;
  bool value = false, key = false, header = false;
  for (int i = 0; i < n; i++) {
    if (exp[i] == YYSYMBOL_SCALAR) value = true;
    if (exp[i] == YYSYMBOL_KEY) key = true;
    if (exp[i] == YYSYMBOL_LL) header = true;
  }
  if (value && la == YYSYMBOL_WORD && p->tok_text) {
    char w[64];
    snprintf(w, sizeof w, "%.*s", p->tok_len < 63 ? p->tok_len : 63, p->tok_text);
    unquoted(p, loc, w);
  } else if (value && la == YYSYMBOL_NEWLINE) {
    diag_error(p->d, loc, "missing value after '='%s", p->eof ? " (at end of file)" : "");
  } else {
    StrBuf sb;
    sb_init(&sb);
    sb_puts(&sb, "unexpected ");
    describe_lookahead(&sb, la, p);
    if (key && header) {
      sb_puts(&sb, ", expected a key or a [table] header");
    } else {
      /* '[' and '{' start values: "a value" says it */
      int m = 0;
      for (int i = 0; i < n; i++) {
        const char *name = yysymbol_name(exp[i]);
        if (!(value && (strcmp(name, "'['") == 0 || strcmp(name, "'{'") == 0))) exp[m++] = exp[i];
      }
      for (int i = 0; i < m; i++) {
        sb_puts(&sb, i == 0 ? ", expected " : i == m - 1 ? " or " : ", ");
        describe_expected(&sb, exp[i]);
      }
    }
    diag_error(p->d, loc, "%s", sb_str(&sb));
    sb_free(&sb);
  }
  note_open(p, la, loc);
  return 0;
}

Status cfg_parse_tree(CfgParser *p) {
  const SrcFile *src = p->src;
  int errs = p->d->nerrors;
  /* flex scans in place and needs two NUL bytes after the text */
  char *buf = ir_malloc(src->len + 2);
  if (!buf) return diag_oom(p->d);
  if (src->len) memcpy(buf, src->text, src->len);
  buf[src->len] = buf[src->len + 1] = 0;
  void *scanner;
  if (cfglex_init_extra(p, &scanner)) {
    ir_free(buf);
    return diag_oom(p->d);
  }
  if (!cfg_lex_begin(p, scanner, buf, src->len + 2)) {
    ir_free(buf);
    return diag_oom(p->d);
  }
  int rc = cfgparse(scanner, p);
  cfglex_destroy(scanner);
  ir_free(buf);
  if (p->oom) return diag_oom(p->d);
  if (rc != 0 || p->d->nerrors > errs) {
    if (p->d->nerrors == errs) diag_error(p->d, (SrcLoc){src, 0, 0}, "invalid config");
    return JS_ERR;
  }
  return JS_OK;
}
