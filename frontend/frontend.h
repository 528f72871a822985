/* frontend/frontend.h — the front end's table of contents.
 * The language is specified in spec/language.md, the config files in spec/config.md.  The
 * layer's files and where each is declared:
 *   frontend.c                 fe_parse: scanner, parser and lowering   below
 *   lexer.l, parser.y          the .jsc scanner and parser (flex, bison) fe.h
 *   ast.c                      the AST the parser builds                fe.h
 *   lower.c                    the AST lowered to graphs                fe.h
 *   config.c, config.l,        the config-file front end (a TOML       config.h
 *   config.y                   subset) */
#ifndef JSCC_FRONTEND_H
#define JSCC_FRONTEND_H
#include "ir.h"

/* Parses a .jsc source and lowers every model in it to a Graph (torch.fx naming).  Reports
 * every error it can find (with recovery, capped by the Diag) and returns JS_ERR if there
 * was any; *out is NULL then. */
Status fe_parse(const SrcFile *src, Program **out, Diag *d);

#endif
