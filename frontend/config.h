/* frontend/config.h — the config-file front end: a strict subset of TOML 1.0 (spec/config.md)
 * read into a Value tree, for `jscc transform MODEL --config FILE` and MASE's
 * configs/examples (jsc_toy_by_type.toml and the like).
 *
 * The first half is the API.  The second half is shared by the scanner (config.l), the
 * parser (config.y) and the tree builder (config.c); users of the API need only the first. */
#ifndef JSCC_CONFIG_H
#define JSCC_CONFIG_H

#include <setjmp.h>

#include "ir.h"

/* A parsed config: its Value tree and where each key was defined.  It keeps its own copy
 * of the source, so locations stay valid until fe_config_free. */
typedef struct FeConfig FeConfig;

/* ==== config.c: the API ==== */

/* Parses a config.  The first error stops the parse: it is reported at file:line:col with
 * the source line and a caret, and gives JS_ERR (JS_ENOMEM when memory ran out); *out is
 * NULL then. */
Status fe_config_parse(const SrcFile *src, FeConfig **out, Diag *d);
/* diag_read_file, then fe_config_parse (JS_EIO when the file cannot be read). */
Status fe_config_read(const char *path, FeConfig **out, Diag *d);
/* The root table: a VAL_DICT, keys in the order of their first definition; tables are
 * VAL_DICT, arrays VAL_LIST, and integers, floats, booleans and strings VAL_INT, VAL_FLOAT,
 * VAL_BOOL and VAL_STR. */
const Value *fe_config_root(const FeConfig *c);
/* Where the key at `path` was defined (its last component in the `key = value` line or the
 * [header]); SrcLoc{0} when there is no such key.  The path is a TOML dotted key without
 * spaces: "passes.quantize.linear.config.weight_width".  A component that is not a bare
 * key (letters, digits, '_', '-') is quoted as in TOML, "a.\"b.c\".d" or "a.'b.c'.d"; the
 * elements of an array (and of an array of tables) are named by their index, "servers.0.ip".
 * A path that does not read as a dotted key is unknown. */
SrcLoc fe_config_loc(const FeConfig *c, const char *path);
void fe_config_free(FeConfig *c); /* NULL is allowed */

/* ==== Internals: the scanner, the parser and the tree builder ==== */

/* How deep tables and arrays may nest (the root table is level 0).  Deeper input is
 * refused, so that nothing that walks the tree can run out of stack. */
#define CFG_MAX_DEPTH 64

/* How a node of the tree being built came to be; it decides what may extend it later. */
typedef enum CfgHow {
  CH_SCALAR,   /* an integer, float, boolean or string */
  CH_IMPLICIT, /* a table named only as a prefix of a [header]: [a.b] makes a */
  CH_HEADER,   /* a table defined by a [header], or an element of an array of tables */
  CH_DOTTED,   /* a table made by a dotted key: a.b = 1 makes a */
  CH_INLINE,   /* an inline table {...}: closed once written */
  CH_ARRAY,    /* an array value [...]: closed once written */
  CH_AOT,      /* an array of tables, [[a]]: grows by one table per header */
} CfgHow;

/* A node of the tree the parser builds (converted to Values when the parse succeeds). */
typedef struct CfgNode {
  CfgHow how;
  Value v;                /* CH_SCALAR: the value */
  SrcLoc loc;             /* where defined: the key, the header, or an array element's value */
  const char *name;       /* the key in the parent (or the index in an array), for messages */
  struct CfgNode *parent; /* NULL for the root and for values not inserted yet */
  int depth;              /* nesting level: 0 for the root table */
  int section;            /* CH_DOTTED: the header block or inline table that made it */
  int n, cap;             /* tables: entries; arrays: items */
  const char **keys;      /* tables: keys, in order of definition */
  struct CfgNode **kids;  /* tables: values; arrays: items */
  int *index;             /* tables with many keys: open-addressing slots (kid index + 1) */
  int icap;               /* slots in index (a power of two), 0 while none */
} CfgNode;

/* A dotted key being parsed: its components and where each one is. */
typedef struct CfgKey {
  int n, cap;
  const char **parts;
  SrcLoc *locs;
} CfgKey;

/* A table that key/value lines go into: the current [header]'s, or an open inline table. */
typedef struct CfgCtx {
  CfgNode *table;
  int section; /* dotted keys may extend only the tables this section made */
} CfgCtx;

/* A value being parsed: the right-hand side of "key =", or an open array.  A container
 * opened inside learns its place from the innermost frame (for its depth and for the paths
 * that messages name). */
typedef struct CfgFrame {
  CfgNode *table;   /* "key =": the table the value goes into; NULL for an array */
  const char *key;  /* "key =": the key's last component */
  SrcLoc loc;       /* "key =": where that component is */
  CfgNode *array;   /* an open array, else NULL */
} CfgFrame;

/* State shared by the scanner and the parser (flex's "extra", bison's parse-param). */
typedef struct CfgParser {
  const SrcFile *src;
  Arena *arena;         /* the tree's and the strings' */
  Diag *d;
  bool oom;             /* an allocation failed: stop, report JS_ENOMEM */
  /* the scanner */
  int line, col;        /* where the scanner stands (col counts bytes) */
  bool want_key;        /* the next token starts a key: at a line's start, after '{' and after
                           ',' in an inline table */
  char open[CFG_MAX_DEPTH + 1]; /* the '[' and '{' open in the value being scanned */
  SrcLoc open_loc[CFG_MAX_DEPTH + 1];
  int nopen;
  int tok;              /* the last token returned (0 before the first) */
  SrcLoc tok_loc;
  const char *tok_text; /* its text in the buffer and length, for messages */
  int tok_len;
  bool eof;             /* the last NEWLINE was the one the scanner adds at end of file */
  void *lexmem[8];      /* flex's live allocations, freed by hand after a longjmp */
  jmp_buf lex_oom;      /* where YY_FATAL_ERROR jumps when flex runs out of memory */
  /* the parser and the tree */
  CfgNode *root;        /* the root table */
  CfgCtx ctx[CFG_MAX_DEPTH + 2]; /* ctx[0]: the current header's table; then inline tables */
  int nctx;
  int sections;         /* sections opened so far */
  CfgFrame frames[2 * CFG_MAX_DEPTH + 4]; /* the values being parsed, innermost last */
  int nframes;
} CfgParser;

/* ==== config.c: the tree builder (false after an error, reported or p->oom) ==== */
CfgNode *cfg_node_new(CfgParser *p, CfgHow how, SrcLoc loc);
CfgKey *cfg_key_push(CfgParser *p, CfgKey *k, const char *part, SrcLoc loc); /* k NULL: new */
bool cfg_header(CfgParser *p, const CfgKey *k, bool array); /* [k] or [[k]] */
/* After "k =": makes the tables a dotted key names and refuses a key defined before, so
 * that the error comes before the value is read. */
bool cfg_value_begin(CfgParser *p, const CfgKey *k);
bool cfg_keyval(CfgParser *p, CfgNode *v);                  /* the value of that key */
bool cfg_array_open(CfgParser *p, SrcLoc loc);              /* "[" in a value */
bool cfg_array_push(CfgParser *p, CfgNode *item);           /* an item of the innermost array */
CfgNode *cfg_array_close(CfgParser *p);                     /* "]" */
bool cfg_inline_open(CfgParser *p, SrcLoc loc);             /* "{" */
CfgNode *cfg_inline_close(CfgParser *p);                    /* "}" */
/* A key as a dotted key writes it: bare when it can be, else quoted ("a.b" -> "\"a.b\""). */
const char *cfg_quote_key(Arena *a, const char *k);
/* Writes code point u as UTF-8 (1 to 4 bytes) to out; returns the length. */
size_t cfg_put_utf8(char *out, uint32_t u);

/* ==== config.l: the scanner (flex's names, prefix cfg) ==== */
bool cfg_lex_begin(CfgParser *p, void *scanner, char *buf, size_t n);
int cfglex_init_extra(CfgParser *p, void **scanner);
int cfglex_destroy(void *scanner);

/* ==== config.y: the parser ==== */
/* Scans and parses src into p->root; JS_ERR after the first error, JS_ENOMEM. */
Status cfg_parse_tree(CfgParser *p);

#endif /* JSCC_CONFIG_H */
