/* frontend.c — fe_parse: source text to a Program, in two steps that share one scratch
 * arena: parse (parser.y + lexer.l) into an AST, then lower (lower.c) every model.  Nothing
 * is lowered after a syntax error, so semantic messages never describe a guessed parse. */
#include "fe.h"

Status fe_parse(const SrcFile *src, Program **out, Diag *d) {
  *out = NULL;
  Arena *a = arena_new();
  if (!a) return diag_oom(d);
  FeFile *file;
  Status st = fe_parse_ast(src, a, d, &file);
  if (st == JS_OK) st = fe_lower(file, a, d, out);
  arena_free(a);
  return st;
}
