/* frontend/frontend.h — the .jsc language front end's table of contents.
 * The language is specified in spec/language.md; the internals (AST, scanner and parser
 * state, lowering) are declared in frontend/fe.h. */
#ifndef JSCC_FRONTEND_H
#define JSCC_FRONTEND_H
#include "ir.h"

/* Parses a .jsc source and lowers every model in it to a Graph (torch.fx naming).  Reports
 * every error it can find (with recovery, capped by the Diag) and returns JS_ERR if there
 * was any; *out is NULL then. */
Status fe_parse(const SrcFile *src, Program **out, Diag *d);

#endif
