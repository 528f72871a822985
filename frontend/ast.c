/* ast.c — building the AST in the parse's arena.  Every constructor returns NULL when the
 * arena runs dry; the parser turns that into JS_ENOMEM. */
#include <string.h>

#include "fe.h"

bool fe_list_push(Arena *a, FeList *l, void *item) {
  if (l->n == l->cap) {
    int cap = l->cap ? l->cap * 2 : 4;
    void **items = arena_alloc(a, sizeof(void *) * (size_t)cap);
    if (!items) return false;
    if (l->n) memcpy(items, l->items, sizeof(void *) * (size_t)l->n);
    l->items = items;
    l->cap = cap;
  }
  l->items[l->n++] = item;
  return true;
}

FeExpr *fe_expr_new(Arena *a, FeExprKind kind, SrcLoc loc) {
  FeExpr *e = arena_alloc(a, sizeof *e);
  if (!e) return NULL;
  e->kind = kind;
  e->loc = loc;
  e->depth = 1;
  return e;
}

FeExpr *fe_expr_binary(Arena *a, int op, FeExpr *l, FeExpr *r, SrcLoc loc) {
  FeExpr *e = fe_expr_new(a, FE_BINARY, loc);
  if (!e) return NULL;
  e->op = op;
  e->lhs = l;
  e->rhs = r;
  e->depth = 1 + (l->depth > r->depth ? l->depth : r->depth);
  return e;
}

FeExpr *fe_expr_unary(Arena *a, int op, FeExpr *x, SrcLoc loc) {
  FeExpr *e = fe_expr_new(a, FE_UNARY, loc);
  if (!e) return NULL;
  e->op = op;
  e->lhs = x;
  e->depth = 1 + x->depth;
  return e;
}

FeStmt *fe_stmt_new(Arena *a, FeStmtKind kind, SrcLoc loc) {
  FeStmt *s = arena_alloc(a, sizeof *s);
  if (!s) return NULL;
  s->kind = kind;
  s->loc = loc;
  return s;
}
