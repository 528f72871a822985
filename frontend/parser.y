%code top {
/* parser.y — the .jsc grammar (bison, pure, reentrant; the full grammar is in
 * spec/language.md).  It builds an AST in the parse's arena and nothing else: names, types
 * and calls are checked by the lowering (lower.c).
 *
 * Error recovery is at statement level (`error NEWLINE`) and at model level (`error '}'`),
 * so one run reports several syntax errors.  Messages are written by
 * yyreport_syntax_error in words ("unexpected ')', expected an expression"), with a hint
 * when a misspelt keyword is the likely cause. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wmissing-declarations"
#pragma GCC diagnostic ignored "-Wsign-compare"
}

%code requires {
#include "fe.h"
}

%code {
#include <string.h>

int fe_yylex(FE_YYSTYPE *lval, SrcLoc *lloc, void *scanner);
static void fe_yyerror(SrcLoc *loc, void *scanner, FeParser *p, const char *msg);
static void *stack_alloc(FeParser *p, size_t n);

/* The parser's stack grows through the allocation hook too; a failure is told apart from
 * the stack's depth limit (both make bison say "memory exhausted") by p->oom. */
#define YYMALLOC(n) stack_alloc(p, n)
#define YYFREE ir_free
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                                          \
  do {                                                                                       \
    if (N) (Cur) = YYRHSLOC(Rhs, 1);                                                         \
    else (Cur) = YYRHSLOC(Rhs, 0);                                                           \
  } while (0)

/* Arena exhausted inside an action: stop, fe_parse_ast reports JS_ENOMEM. */
#define NEED(x)                                                                              \
  do {                                                                                       \
    if (!(x)) {                                                                              \
      p->oom = true;                                                                         \
      YYABORT;                                                                               \
    }                                                                                        \
  } while (0)

/* An expression tree too deep for the lowering's recursion: report, recover. */
#define DEPTH(e)                                                                             \
  do {                                                                                       \
    if ((e)->depth > FE_MAX_DEPTH) {                                                         \
      diag_error(p->d, (e)->loc, "expression too complex (nested more than %d levels)",     \
                 FE_MAX_DEPTH);                                                              \
      YYERROR;                                                                               \
    }                                                                                        \
  } while (0)

static FeExpr *leaf(FeParser *p, FeExprKind k, SrcLoc loc) {
  return fe_expr_new(p->arena, k, loc);
}
}

%define api.pure full
%define api.prefix {fe_yy}
%define api.location.type {SrcLoc}
%define api.token.prefix {T_}
%define parse.error custom
%define lr.default-reduction accepting
%locations
%param {void *scanner}
%parse-param {FeParser *p}

%union {
  int64_t i;
  double f;
  const char *s;
  FeExpr *expr;
  FeStmt *stmt;
  FeModel *model;
  FeType *type;
  FeArg *arg;
  FeList *list;
}

%token <s> IDENT STRING
%token <i> INT
%token <f> FLOAT
%token MODEL INPUT PARAM BUFFER RETURN TRUE FALSE NONE POW NEWLINE

%type <model> model
%type <list> stmts exprs args arglist
%type <stmt> stmt stmt_line
%type <type> type
%type <expr> expr init
%type <arg> arg

/* Operator precedence, lowest first (see expr). */
%left '+' '-'
%left '*' '/' '@'
%precedence UNARY
%right POW
%precedence '(' '.'

%%

/* file := model* */
file
  : %empty
  | file model              { NEED(fe_list_push(p->arena, &p->file->models, $2)); }
  | file error '}'          { yyerrok; }
  ;

/* model := "model" NAME "{" stmt* "}" */
model
  : MODEL IDENT '{' stmts '}' {
      NEED($$ = arena_alloc(p->arena, sizeof *$$));
      $$->name = $2;
      $$->loc = @2;
      $$->end = @5;
      $$->stmts = *$4;
    }
  ;

stmts
  : %empty                  { NEED($$ = arena_alloc(p->arena, sizeof *$$)); }
  | stmts stmt_line         { $$ = $1; if ($2) NEED(fe_list_push(p->arena, $$, $2)); }
  ;

/* A statement ends at a newline or ';' (the scanner adds the newline before '}'). */
stmt_line
  : stmt NEWLINE            { $$ = $1; }
  | stmt ';'                { $$ = $1; }
  | error NEWLINE           { $$ = NULL; yyerrok; }
  ;

/* stmt := "input" NAME ":" type
 *       | ("param" | "buffer") NAME ":" type ["=" expr]
 *       | NAME "=" expr
 *       | expr
 *       | "return" expr ("," expr)* */
stmt
  : INPUT IDENT ':' type {
      NEED($$ = fe_stmt_new(p->arena, FE_S_INPUT, @1));
      $$->name = $2; $$->name_loc = @2; $$->type = $4;
    }
  | PARAM IDENT ':' type init {
      NEED($$ = fe_stmt_new(p->arena, FE_S_PARAM, @1));
      $$->name = $2; $$->name_loc = @2; $$->type = $4; $$->value = $5;
    }
  | BUFFER IDENT ':' type init {
      NEED($$ = fe_stmt_new(p->arena, FE_S_BUFFER, @1));
      $$->name = $2; $$->name_loc = @2; $$->type = $4; $$->value = $5;
    }
  | IDENT '=' expr {
      NEED($$ = fe_stmt_new(p->arena, FE_S_ASSIGN, @1));
      $$->name = $1; $$->name_loc = @1; $$->value = $3;
    }
  | expr {
      NEED($$ = fe_stmt_new(p->arena, FE_S_EXPR, $1->loc));
      $$->value = $1;
    }
  | RETURN exprs {
      NEED($$ = fe_stmt_new(p->arena, FE_S_RETURN, @1));
      $$->values = *$2;
    }
  ;

init
  : %empty                  { $$ = NULL; }
  | '=' expr                { $$ = $2; }
  ;

/* type := DTYPE ["[" [expr ("," expr)* [","]] "]"] */
type
  : IDENT {
      NEED($$ = arena_alloc(p->arena, sizeof *$$));
      $$->dtype = $1; $$->loc = @1;
    }
  | IDENT '[' ']' {
      NEED($$ = arena_alloc(p->arena, sizeof *$$));
      $$->dtype = $1; $$->loc = @1;
    }
  | IDENT '[' exprs comma ']' {
      NEED($$ = arena_alloc(p->arena, sizeof *$$));
      $$->dtype = $1; $$->loc = @1; $$->dims = *$3;
    }
  ;

comma
  : %empty
  | ','
  ;

exprs
  : expr                    { NEED($$ = arena_alloc(p->arena, sizeof *$$)); NEED(fe_list_push(p->arena, $$, $1)); }
  | exprs ',' expr          { $$ = $1; NEED(fe_list_push(p->arena, $$, $3)); }
  ;

/* expr := expr ("+" | "-" | "*" | "/" | "@" | "**") expr
 *       | ("-" | "+") expr
 *       | expr "(" args ")" | expr "." NAME | expr "." INT
 *       | NAME | INT | FLOAT | STRING | "true" | "false" | "None" | "(" expr ")"
 *
 * One nonterminal with bison precedences instead of a chain expr -> term -> unary ->
 * power -> postfix -> primary: a leaf is one reduction, not seven, which is a large share
 * of the parse time.  The precedences (lowest first, declared above) give Python's rules:
 * unary minus binds looser than "**" on its right (-2**2 == -4) and tighter than "*";
 * "**" is right-associative; calls and attributes bind tightest. */
expr
  : expr '+' expr           { NEED($$ = fe_expr_binary(p->arena, '+', $1, $3, @2)); DEPTH($$); }
  | expr '-' expr           { NEED($$ = fe_expr_binary(p->arena, '-', $1, $3, @2)); DEPTH($$); }
  | expr '*' expr           { NEED($$ = fe_expr_binary(p->arena, '*', $1, $3, @2)); DEPTH($$); }
  | expr '/' expr           { NEED($$ = fe_expr_binary(p->arena, '/', $1, $3, @2)); DEPTH($$); }
  | expr '@' expr           { NEED($$ = fe_expr_binary(p->arena, '@', $1, $3, @2)); DEPTH($$); }
  | expr POW expr           { NEED($$ = fe_expr_binary(p->arena, FE_POW, $1, $3, @2)); DEPTH($$); }
  | '-' expr %prec UNARY    { NEED($$ = fe_expr_unary(p->arena, '-', $2, @1)); DEPTH($$); }
  | '+' expr %prec UNARY    { NEED($$ = fe_expr_unary(p->arena, '+', $2, @1)); DEPTH($$); }
  | expr '(' args ')' {
      NEED($$ = leaf(p, FE_CALL, $1->loc));
      $$->lhs = $1;
      $$->args = *$3;
      /* x.m(...) is one step of the lowering's recursion, not two: the attribute's level
         already counts the call, so a chain of N method calls is N levels deep. */
      $$->depth = $1->kind == FE_ATTR ? $1->depth : $1->depth + 1;
      for (int i = 0; i < $3->n; i++) {
        FeArg *a = $3->items[i];
        if (a->value->depth + 1 > $$->depth) $$->depth = a->value->depth + 1;
      }
      DEPTH($$);
    }
  | expr '.' IDENT {
      NEED($$ = leaf(p, FE_ATTR, @3));
      $$->lhs = $1; $$->name = $3; $$->depth = $1->depth + 1;
      DEPTH($$);
    }
  | expr '.' INT {
      NEED($$ = leaf(p, FE_ATTR, @3));
      NEED($$->name = arena_printf(p->arena, "%lld", (long long)$3));
      $$->lhs = $1; $$->depth = $1->depth + 1;
      DEPTH($$);
    }
  | IDENT                   { NEED($$ = leaf(p, FE_NAME, @1)); $$->name = $1; }
  | INT                     { NEED($$ = leaf(p, FE_INT, @1)); $$->i = $1; }
  | FLOAT                   { NEED($$ = leaf(p, FE_FLOAT, @1)); $$->f = $1; }
  | STRING                  { NEED($$ = leaf(p, FE_STR, @1)); $$->s = $1; }
  | TRUE                    { NEED($$ = leaf(p, FE_BOOL, @1)); $$->b = true; }
  | FALSE                   { NEED($$ = leaf(p, FE_BOOL, @1)); $$->b = false; }
  | NONE                    { NEED($$ = leaf(p, FE_NONE, @1)); }
  | '(' expr ')'            { $$ = $2; }
  ;

/* args := [arg ("," arg)* [","]] */
args
  : %empty                  { NEED($$ = arena_alloc(p->arena, sizeof *$$)); }
  | arglist comma           { $$ = $1; }
  ;

arglist
  : arg                     { NEED($$ = arena_alloc(p->arena, sizeof *$$)); NEED(fe_list_push(p->arena, $$, $1)); }
  | arglist ',' arg         { $$ = $1; NEED(fe_list_push(p->arena, $$, $3)); }
  ;

/* arg := [NAME "="] expr
 * `input` is a keyword but also the first parameter of every function (relu(input=x)),
 * so it is accepted as a keyword argument's name. */
arg
  : expr                    { NEED($$ = arena_alloc(p->arena, sizeof *$$)); $$->value = $1; $$->loc = $1->loc; }
  | IDENT '=' expr          { NEED($$ = arena_alloc(p->arena, sizeof *$$)); $$->name = $1; $$->value = $3; $$->loc = @1; }
  | INPUT '=' expr          { NEED($$ = arena_alloc(p->arena, sizeof *$$)); $$->name = "input"; $$->value = $3; $$->loc = @1; }
  ;

%%

static void *stack_alloc(FeParser *p, size_t n) {
  void *q = ir_malloc(n);
  if (!q) p->oom = true;
  return q;
}

/* Bison calls this only when its stack is exhausted (syntax errors go through
 * yyreport_syntax_error). */
static void fe_yyerror(SrcLoc *loc, void *scanner, FeParser *p, const char *msg) {
  if (p->oom) return;
  diag_error(p->d, *loc, "expression too complex (the parser's stack is exhausted)");
}

/* How a token reads in a message. */
static void describe(StrBuf *sb, yysymbol_kind_t k, const FeParser *p, bool lookahead) {
  switch (k) {
  case YYSYMBOL_YYEOF: sb_puts(sb, "end of file"); return;
  case YYSYMBOL_IDENT:
    if (lookahead && p->cur.tok == T_IDENT && p->cur.text)
      sb_printf(sb, "name '%s'", p->cur.text);
    else
      sb_puts(sb, "a name");
    return;
  case YYSYMBOL_INT: sb_puts(sb, lookahead ? "integer" : "an integer"); return;
  case YYSYMBOL_FLOAT: sb_puts(sb, lookahead ? "number" : "a number"); return;
  case YYSYMBOL_STRING: sb_puts(sb, lookahead ? "string" : "a string"); return;
  case YYSYMBOL_NEWLINE:
    /* the statement end the scanner adds before a '}' reads as that '}' */
    sb_puts(sb, lookahead && p->cur.tok == T_NEWLINE && p->cur.text ? "'}'" : "end of line");
    return;
  case YYSYMBOL_MODEL: sb_puts(sb, "'model'"); return;
  case YYSYMBOL_INPUT: sb_puts(sb, "'input'"); return;
  case YYSYMBOL_PARAM: sb_puts(sb, "'param'"); return;
  case YYSYMBOL_BUFFER: sb_puts(sb, "'buffer'"); return;
  case YYSYMBOL_RETURN: sb_puts(sb, "'return'"); return;
  case YYSYMBOL_TRUE: sb_puts(sb, "'true'"); return;
  case YYSYMBOL_FALSE: sb_puts(sb, "'false'"); return;
  case YYSYMBOL_NONE: sb_puts(sb, "'None'"); return;
  case YYSYMBOL_POW: sb_puts(sb, "'**'"); return;
  default: sb_puts(sb, yysymbol_name(k)); return; /* character tokens: already "'('" */
  }
}

/* Tokens that can start an expression: listed as one item, "an expression".  `input` is
 * one where it starts an argument (input=x), not where it starts a statement. */
static bool starts_expr(yysymbol_kind_t k, bool stmt) {
  switch (k) {
  case YYSYMBOL_IDENT: case YYSYMBOL_INT: case YYSYMBOL_FLOAT: case YYSYMBOL_STRING:
  case YYSYMBOL_TRUE: case YYSYMBOL_FALSE: case YYSYMBOL_NONE:
    return true;
  case YYSYMBOL_INPUT:
    return !stmt;
  default: {
    const char *n = yysymbol_name(k);
    return strcmp(n, "'('") == 0 || strcmp(n, "'-'") == 0 || strcmp(n, "'+'") == 0;
  }
  }
}

/* Tokens that can continue a complete expression (an operator, a call, an attribute).
 * After an expression they are always possible, so listing them hides what else was
 * expected: "unexpected ')', expected end of line or ';'". */
static bool continues_expr(yysymbol_kind_t k) {
  if (k == YYSYMBOL_POW) return true;
  const char *n = yysymbol_name(k);
  return n[0] == '\'' && n[2] == '\'' && strchr("+-*/@(.", n[1]);
}

static const char *const keyword_names[] = {"model", "input", "param", "buffer", "return"};

static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, FeParser *p) {
  if (p->oom || p->stop) return 0;
  yysymbol_kind_t la = yypcontext_token(ctx);
  SrcLoc loc = *yypcontext_location(ctx);
  yysymbol_kind_t exp[24];
  int n = yypcontext_expected_tokens(ctx, exp, 24);
  if (n < 0) n = 0;
  /* A misspelt keyword: "modle X {" (the name is the bad token) or "inptu x: ..." (the
   * name before it is, and this name cannot follow a name). */
  if (la == YYSYMBOL_IDENT && p->cur.text) {
    bool want_model = false;
    for (int i = 0; i < n; i++)
      if (exp[i] == YYSYMBOL_MODEL) want_model = true;
    if (want_model) {
      const char *hint = diag_closest(p->cur.text, keyword_names, 1);
      if (hint) {
        diag_error(p->d, loc, "unknown keyword '%s' (did you mean '%s'?)", p->cur.text, hint);
        return 0;
      }
    }
    if (p->prev.tok == T_IDENT && p->prev.text) {
      const char *hint = diag_closest(p->prev.text, keyword_names + 1, 4);
      if (hint) {
        diag_error(p->d, p->prev.loc, "unknown keyword '%s' (did you mean '%s'?)", p->prev.text, hint);
        return 0;
      }
    }
  }
  StrBuf sb;
  sb_init(&sb);
  sb_puts(&sb, "unexpected ");
  describe(&sb, la, p, true);
  if (la == YYSYMBOL_YYEOF && p->brace_depth > 0) sb_puts(&sb, " (a model's '}' is missing)");
  /* Collapse the expression starters, drop the operators after a complete expression;
   * list the rest when few enough to help. */
  if (la == YYSYMBOL_YYEOF && p->brace_depth > 0) n = 0; /* the missing '}' is the news */
  bool expr = false, after_expr = false, stmt = false;
  for (int i = 0; i < n; i++) {
    if (exp[i] == YYSYMBOL_INT) expr = true; /* a literal fits: any expression does */
    if (exp[i] == YYSYMBOL_POW) after_expr = true; /* only an expression can precede ** */
    if (exp[i] == YYSYMBOL_PARAM) stmt = true; /* a statement may start here */
  }
  int listed = 0;
  for (int i = 0; i < n; i++)
    if (!(expr && starts_expr(exp[i], stmt)) && !(after_expr && continues_expr(exp[i]))) listed++;
  if ((expr || listed) && listed <= 4) {
    sb_puts(&sb, ", expected ");
    int k = 0, total = listed + (expr ? 1 : 0);
    if (expr) {
      sb_puts(&sb, "an expression");
      k++;
    }
    for (int i = 0; i < n; i++) {
      if ((expr && starts_expr(exp[i], stmt)) || (after_expr && continues_expr(exp[i]))) continue;
      sb_puts(&sb, k == 0 ? "" : k == total - 1 ? " or " : ", ");
      describe(&sb, exp[i], p, false);
      k++;
    }
  }
  diag_error(p->d, loc, "%s", sb_str(&sb));
  sb_free(&sb);
  /* Newlines inside parentheses join lines, so a missing ')' shows up lines later: point
   * at the bracket still open.  At end of file, point at the body never closed. */
  if (p->paren_depth > 0 && p->open[p->paren_depth - 1].line < loc.line) {
    SrcLoc o = p->open[p->paren_depth - 1];
    const char *src = o.file->text;
    size_t off = 0;
    for (int l = 1; l < o.line; off++)
      if (src[off] == '\n') l++;
    diag_note(p->d, o, "this '%c' is never closed", src[off + (size_t)o.col - 1]);
  } else if (la == YYSYMBOL_YYEOF && p->brace_depth > 0) {
    diag_note(p->d, p->brace_loc, "the model's body starts here");
  }
  return 0;
}

Status fe_parse_ast(const SrcFile *src, Arena *a, Diag *d, FeFile **out) {
  *out = NULL;
  FeParser p;
  memset(&p, 0, sizeof p);
  p.src = src;
  p.arena = a;
  p.d = d;
  p.line = p.col = 1;
  int errs = d->nerrors;
  if (!(p.file = arena_alloc(a, sizeof *p.file))) return diag_oom(d);
  /* flex scans in place and needs two NUL bytes after the text */
  char *buf = ir_malloc(src->len + 2);
  if (!buf) return diag_oom(d);
  if (src->len) memcpy(buf, src->text, src->len);
  buf[src->len] = buf[src->len + 1] = 0;
  void *scanner;
  if (fe_yylex_init_extra(&p, &scanner)) {
    ir_free(buf);
    return diag_oom(d);
  }
  if (!fe_lex_begin(&p, scanner, buf, src->len + 2)) {
    ir_free(buf);
    return diag_oom(d);
  }
  fe_yyparse(scanner, &p);
  fe_yylex_destroy(scanner);
  ir_free(buf);
  if (p.oom) return diag_oom(d);
  if (d->nerrors > errs) return JS_ERR;
  if (p.file->models.n == 0)
    return diag_error(d, (SrcLoc){src, 1, 1}, "no model in this file (write 'model Name { ... }')");
  *out = p.file;
  return JS_OK;
}
