/* tools/common.h — what the jscc subcommands share (jscc.c defines them; diff.c uses them):
 * reading a model file, choosing one of its models, numeric option values, and pipelines
 * from --passes or --config. */
#ifndef JSCC_TOOLS_COMMON_H
#define JSCC_TOOLS_COMMON_H

#include "config.h"
#include "ir.h"
#include "passes.h"

bool has_suffix(const char *s, const char *suffix);
/* .ir text through ir_parse, anything else through the .jsc front end (then verified). */
Status parse_program(const SrcFile *src, Program **prog, Diag *d);
/* The model named `name`, or the file's only one; a usage error (*st = JS_EUSAGE) otherwise. */
Graph *pick_model(Program *p, const char *name, const char *path, Diag *d, Status *st);
/* The whole text as an integer in [lo, hi]. */
bool parse_int_opt(const char *s, int64_t lo, int64_t hi, int64_t *out);

/* A pipeline from --passes (malformed: JS_EUSAGE) or a config file's [passes.*] tables
 * (located input errors: JS_ERR); both given is a usage error. */
typedef struct PipeSrc {
  Pipeline *pl;  /* NULL: none given */
  FeConfig *cfg; /* the config file, when the pipeline came from one */
} PipeSrc;
Status pipe_build(const char *passes, const char *config, PipeSrc *ps, Diag *d);
void pipe_free(PipeSrc *ps);

#endif
