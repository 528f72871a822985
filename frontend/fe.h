/* frontend/fe.h — the front end's internals: the AST the parser builds, the scanner/parser
 * state they share, and the lowering that turns the AST into graphs.
 *
 * Everything here lives in one arena owned by fe_parse and freed when it returns; only the
 * graphs (each with its own arena) survive.  Prototypes are grouped by defining file. */
#ifndef JSCC_FE_H
#define JSCC_FE_H

#include <setjmp.h>

#include "frontend.h"

/* Nesting limits, so hostile input cannot overflow the parser's or the lowering's stack. */
#define FE_MAX_NEST 256   /* open parentheses and brackets at once */
#define FE_MAX_DEPTH 1000 /* levels in one expression tree (long operator chains) */

/* A growable array of pointers in the arena (old storage is abandoned on growth). */
typedef struct FeList {
  int n;        /* items in use */
  int cap;      /* items allocated */
  void **items;
} FeList;

typedef enum FeExprKind {
  FE_NAME,   /* x */
  FE_INT,    /* 16, 0x10 */
  FE_FLOAT,  /* 1e-5 */
  FE_STR,    /* "text" */
  FE_BOOL,   /* true, false */
  FE_NONE,   /* None */
  FE_BINARY, /* a + b: op is one of + - * / @ and FE_POW */
  FE_UNARY,  /* -a, +a: op is '-' or '+' */
  FE_CALL,   /* f(args): callee in lhs */
  FE_ATTR,   /* base.name: base in lhs */
} FeExprKind;

enum { FE_POW = 256 }; /* the op of a ** binary (the others are their own characters) */

struct FeExpr;

/* One call argument; keyword arguments carry their name. */
typedef struct FeArg {
  const char *name;     /* keyword, or NULL for a positional argument */
  struct FeExpr *value;
  SrcLoc loc;           /* the argument (the keyword when there is one) */
} FeArg;

typedef struct FeExpr {
  FeExprKind kind;
  SrcLoc loc;           /* operator for FE_BINARY/FE_UNARY, attribute name for FE_ATTR,
                           callee start for FE_CALL, the token otherwise */
  int depth;            /* height of this tree, checked against FE_MAX_DEPTH */
  const char *name;     /* FE_NAME, FE_ATTR */
  int64_t i;            /* FE_INT */
  double f;             /* FE_FLOAT */
  const char *s;        /* FE_STR */
  bool b;               /* FE_BOOL */
  int op;               /* FE_BINARY, FE_UNARY */
  struct FeExpr *lhs;   /* operand, callee or attribute base */
  struct FeExpr *rhs;   /* FE_BINARY */
  FeList args;          /* FE_CALL: FeArg* */
} FeExpr;

/* A declared type: f32[B, 16]. */
typedef struct FeType {
  const char *dtype;
  SrcLoc loc;
  FeList dims;          /* FeExpr*: a bare name is a symbolic dim, anything else a constant */
} FeType;

typedef enum FeStmtKind { FE_S_INPUT, FE_S_PARAM, FE_S_BUFFER, FE_S_ASSIGN, FE_S_EXPR, FE_S_RETURN } FeStmtKind;

typedef struct FeStmt {
  FeStmtKind kind;
  SrcLoc loc;           /* the statement's first token */
  const char *name;     /* declared or assigned name */
  SrcLoc name_loc;
  FeType *type;         /* input, param, buffer */
  FeExpr *value;        /* assignment, expression statement, initialiser (may be NULL) */
  FeList values;        /* return: FeExpr* */
} FeStmt;

typedef struct FeModel {
  const char *name;
  SrcLoc loc;           /* the name */
  SrcLoc end;           /* the closing brace */
  FeList stmts;         /* FeStmt* */
} FeModel;

typedef struct FeFile {
  FeList models;        /* FeModel* */
} FeFile;

/* A token the scanner returned, remembered for error messages. */
typedef struct FeTok {
  int tok;              /* bison token number; 0 before the first */
  SrcLoc loc;
  const char *text;     /* identifiers; "}" for the NEWLINE the scanner adds before a '}' */
} FeTok;

/* State shared by the scanner and the parser (flex's "extra", bison's parse-param). */
typedef struct FeParser {
  const SrcFile *src;
  Arena *arena;         /* the AST's */
  Diag *d;
  FeFile *file;         /* the result */
  bool oom;             /* an allocation failed: stop and report JS_ENOMEM */
  bool stop;            /* a fatal input error (nesting too deep): the scanner returns EOF */
  int line, col;        /* where the scanner stands */
  int paren_depth;      /* open ( and [: newlines inside them do not end statements */
  SrcLoc open[FE_MAX_NEST]; /* where each open ( and [ is, to point at one never closed */
  int brace_depth;      /* open {: newlines only matter inside a model body */
  SrcLoc brace_loc;     /* the last '{' opened, to point at a body never closed */
  SrcLoc comment_loc;   /* start of the block comment being skipped */
  bool comment_nl;      /* that comment spans a newline */
  FeTok cur, prev;      /* the last two tokens returned */
  void *lexmem[8];      /* the scanner's live allocations, freed by hand after a longjmp */
  jmp_buf lex_oom;      /* where YY_FATAL_ERROR jumps when flex runs out of memory */
} FeParser;

/* ==== ast.c: AST construction (NULL on OOM) ==== */
bool fe_list_push(Arena *a, FeList *l, void *item);
FeExpr *fe_expr_new(Arena *a, FeExprKind kind, SrcLoc loc);
FeExpr *fe_expr_binary(Arena *a, int op, FeExpr *l, FeExpr *r, SrcLoc loc);
FeExpr *fe_expr_unary(Arena *a, int op, FeExpr *e, SrcLoc loc);
FeStmt *fe_stmt_new(Arena *a, FeStmtKind kind, SrcLoc loc);

/* ==== lexer.l: the scanner (flex's names, prefix fe_yy; a scanner is a void *) ==== */
void *fe_lex_track(FeParser *p, void *ptr, void *old); /* records flex's allocations */
/* Scans buf (n bytes, the last two NUL) in place; false when flex ran out of memory, with
 * everything it allocated (the scanner too) freed. */
bool fe_lex_begin(FeParser *p, void *scanner, char *buf, size_t n);
int fe_yylex_init_extra(FeParser *p, void **scanner);
int fe_yylex_destroy(void *scanner);

/* ==== parser.y ==== */
/* Scans and parses a whole file into *out.  JS_ERR after syntax errors (all reported),
 * JS_ENOMEM when memory ran out. */
Status fe_parse_ast(const SrcFile *src, Arena *a, Diag *d, FeFile **out);

/* ==== lower.c ==== */
/* Lowers every model of a parsed file into a Program (torch.fx naming and node kinds). */
Status fe_lower(const FeFile *f, Arena *a, Diag *d, Program **out);

#endif /* JSCC_FE_H */
