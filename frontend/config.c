/* config.c — the config front end's tree builder and API.
 *
 * The parser (config.y) hands over keys, values and headers; this file applies TOML's rules
 * on what may be defined where (spec/config.md, "Tables"):
 *   - a key is defined once;
 *   - a [header] defines its table once; the tables named before its last component are
 *     made implicitly and may be defined by a header later;
 *   - a dotted key (a.b.c = 1) makes tables that only dotted keys of the same header block
 *     (or inline table) may extend, and that no header may define again;
 *   - inline tables and arrays are closed once written; [[a]] adds a table to an array of
 *     tables.
 * Every conflict names both places.  When the parse succeeds the tree becomes Values (in
 * the config's arena) and each key's location is filed under its dotted path. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

struct FeConfig {
  Arena *arena; /* everything below: the source's copy, the Values, the paths, the locations */
  Value root;   /* VAL_DICT */
  StrMap locs;  /* dotted path (as cfg_quote_key writes components) -> SrcLoc * */
};

/* ---- nodes ---- */

CfgNode *cfg_node_new(CfgParser *p, CfgHow how, SrcLoc loc) {
  CfgNode *n = arena_alloc(p->arena, sizeof *n);
  if (!n) {
    p->oom = true;
    return NULL;
  }
  n->how = how;
  n->loc = loc;
  return n;
}

static bool is_table(const CfgNode *n) {
  return n->how == CH_IMPLICIT || n->how == CH_HEADER || n->how == CH_DOTTED || n->how == CH_INLINE;
}

/* What a node is, for messages: "an integer", "an inline table". */
static const char *what(const CfgNode *n) {
  switch (n->how) {
  case CH_SCALAR:
    switch (n->v.kind) {
    case VAL_INT: return "an integer";
    case VAL_FLOAT: return "a float";
    case VAL_BOOL: return "a boolean";
    default: return "a string";
    }
  case CH_IMPLICIT: return "a table";
  case CH_HEADER: return "a table";
  case CH_DOTTED: return "a table (by dotted keys)";
  case CH_INLINE: return "an inline table";
  case CH_ARRAY: return "an array";
  case CH_AOT: return "an array of tables";
  }
  return "a value";
}

/* Grows a node's kids (and keys, for a table) to hold one more. */
static bool grow(CfgParser *p, CfgNode *t, bool keys) {
  if (t->n < t->cap) return true;
  if (t->cap > (1 << 28)) {
    p->oom = true;
    return false;
  }
  int cap = t->cap ? 2 * t->cap : 4;
  CfgNode **kids = arena_alloc(p->arena, sizeof *kids * (size_t)cap);
  const char **k = keys ? arena_alloc(p->arena, sizeof *k * (size_t)cap) : NULL;
  if (!kids || (keys && !k)) {
    p->oom = true;
    return false;
  }
  if (t->n) {
    memcpy(kids, t->kids, sizeof *kids * (size_t)t->n);
    if (keys) memcpy(k, t->keys, sizeof *k * (size_t)t->n);
  }
  t->kids = kids;
  if (keys) t->keys = k;
  t->cap = cap;
  return true;
}

/* Tables of more than a few keys get a hash index, so that a long table stays linear. */
enum { INDEX_FROM = 8 };

static void index_put(CfgNode *t, int i) {
  size_t mask = (size_t)t->icap - 1;
  size_t h = (size_t)ir_hash_str(t->keys[i]) & mask;
  while (t->index[h]) h = (h + 1) & mask;
  t->index[h] = i + 1;
}

static CfgNode *table_get(const CfgNode *t, const char *key) {
  if (!t->icap) {
    for (int i = 0; i < t->n; i++)
      if (strcmp(t->keys[i], key) == 0) return t->kids[i];
    return NULL;
  }
  size_t mask = (size_t)t->icap - 1;
  for (size_t h = (size_t)ir_hash_str(key) & mask;; h = (h + 1) & mask) {
    int s = t->index[h];
    if (!s) return NULL;
    if (strcmp(t->keys[s - 1], key) == 0) return t->kids[s - 1];
  }
}

/* Adds kid under key (not there yet) to table t. */
static bool table_add(CfgParser *p, CfgNode *t, const char *key, CfgNode *kid) {
  if (!grow(p, t, true)) return false;
  t->keys[t->n] = key;
  t->kids[t->n] = kid;
  t->n++;
  kid->parent = t;
  kid->name = key;
  if (t->n < INDEX_FROM) return true;
  if (2 * t->n > t->icap) {
    int icap = t->icap ? 2 * t->icap : 4 * INDEX_FROM;
    int *index = arena_alloc(p->arena, sizeof *index * (size_t)icap);
    if (!index) {
      p->oom = true;
      return false;
    }
    t->index = index;
    t->icap = icap;
    for (int i = 0; i < t->n; i++) index_put(t, i);
  } else {
    index_put(t, t->n - 1);
  }
  return true;
}

static bool array_add(CfgParser *p, CfgNode *a, CfgNode *item) {
  const char *name = arena_printf(p->arena, "%d", a->n);
  if (!name || !grow(p, a, false)) {
    p->oom = true;
    return false;
  }
  a->kids[a->n++] = item;
  item->parent = a;
  item->name = name;
  return true;
}

/* ---- paths and messages ---- */

static bool bare_key(const char *k) {
  if (!*k) return false;
  for (const char *c = k; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' ||
          *c == '-'))
      return false;
  return true;
}

const char *cfg_quote_key(Arena *a, const char *k) {
  if (bare_key(k)) return k;
  StrBuf sb;
  sb_init(&sb);
  sb_putc(&sb, '"');
  for (const unsigned char *c = (const unsigned char *)k; *c; c++) {
    switch (*c) {
    case '"': sb_puts(&sb, "\\\""); break;
    case '\\': sb_puts(&sb, "\\\\"); break;
    case '\b': sb_puts(&sb, "\\b"); break;
    case '\t': sb_puts(&sb, "\\t"); break;
    case '\n': sb_puts(&sb, "\\n"); break;
    case '\f': sb_puts(&sb, "\\f"); break;
    case '\r': sb_puts(&sb, "\\r"); break;
    default:
      if (*c < 0x20 || *c == 0x7f)
        sb_printf(&sb, "\\u%04X", *c);
      else
        sb_putc(&sb, (char)*c);
    }
  }
  sb_putc(&sb, '"');
  const char *r = sb.oom ? NULL : arena_strdup(a, sb_str(&sb));
  sb_free(&sb);
  return r;
}

/* The dotted path of a node (of the root table: ""), as fe_config_loc takes it; NULL on OOM. */
static const char *path_of(CfgParser *p, const CfgNode *n) {
  const CfgNode *chain[2 * CFG_MAX_DEPTH + 8];
  int k = 0;
  for (; n && n->name && k < (int)(sizeof chain / sizeof *chain); n = n->parent) chain[k++] = n;
  StrBuf sb;
  sb_init(&sb);
  for (int i = k - 1; i >= 0; i--) {
    const char *q = cfg_quote_key(p->arena, chain[i]->name);
    if (!q) sb.oom = true;
    if (i < k - 1) sb_putc(&sb, '.');
    if (q) sb_puts(&sb, q);
  }
  const char *r = sb.oom ? NULL : arena_strdup(p->arena, sb_str(&sb));
  sb_free(&sb);
  if (!r) p->oom = true;
  return r;
}

/* The path of a key's first n components, as written: "a.\"b.c\"". */
static const char *key_path(CfgParser *p, const CfgKey *k, int n) {
  const char *r = "";
  for (int i = 0; i < n && r; i++) {
    const char *q = cfg_quote_key(p->arena, k->parts[i]);
    r = q ? (i ? arena_join(p->arena, r, '.', q) : q) : NULL;
  }
  if (!r) p->oom = true;
  return r;
}

/* "t.toml:3:1", for naming the first of two places in a message. */
static const char *where(CfgParser *p, SrcLoc loc) {
  const char *r = arena_printf(p->arena, "%s:%d:%d", loc.file ? loc.file->path : "?", loc.line, loc.col);
  if (!r) p->oom = true;
  return r;
}

/* Both places of a conflict: the error at loc, then a note at the old definition. */
static bool conflict(CfgParser *p, SrcLoc loc, const CfgNode *old, const char *fmt, ...) JS_PRINTF(4, 5);
static bool conflict(CfgParser *p, SrcLoc loc, const CfgNode *old, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(p->d, DIAG_ERROR, loc, fmt, ap);
  va_end(ap);
  const char *path = path_of(p, old);
  if (path) diag_note(p->d, old->loc, "'%s' is first defined here", path);
  return false;
}

static bool too_deep(CfgParser *p, SrcLoc loc) {
  diag_error(p->d, loc, "nesting too deep (more than %d levels of tables and arrays)", CFG_MAX_DEPTH);
  return false;
}

/* A new table under key in t (t a table) or as the next element of t (an array of tables). */
static CfgNode *new_table(CfgParser *p, CfgHow how, CfgNode *t, const char *key, SrcLoc loc) {
  if (t->depth + 1 > CFG_MAX_DEPTH) {
    too_deep(p, loc);
    return NULL;
  }
  CfgNode *n = cfg_node_new(p, how, loc);
  if (!n) return NULL;
  n->depth = t->depth + 1;
  if (!(t->how == CH_AOT ? array_add(p, t, n) : table_add(p, t, key, n))) return NULL;
  return n;
}

/* ---- keys ---- */

CfgKey *cfg_key_push(CfgParser *p, CfgKey *k, const char *part, SrcLoc loc) {
  if (!k && !(k = arena_alloc(p->arena, sizeof *k))) {
    p->oom = true;
    return NULL;
  }
  if (k->n == k->cap) {
    int cap = k->cap ? 2 * k->cap : 4;
    const char **parts = arena_alloc(p->arena, sizeof *parts * (size_t)cap);
    SrcLoc *locs = arena_alloc(p->arena, sizeof *locs * (size_t)cap);
    if (!parts || !locs || k->cap > (1 << 28)) {
      p->oom = true;
      return NULL;
    }
    if (k->n) {
      memcpy(parts, k->parts, sizeof *parts * (size_t)k->n);
      memcpy(locs, k->locs, sizeof *locs * (size_t)k->n);
    }
    k->parts = parts;
    k->locs = locs;
    k->cap = cap;
  }
  k->parts[k->n] = part;
  k->locs[k->n++] = loc;
  return k;
}

/* ---- headers ---- */

bool cfg_header(CfgParser *p, const CfgKey *k, bool array) {
  const char *name = key_path(p, k, k->n);
  const char *hdr = name ? arena_printf(p->arena, array ? "[[%s]]" : "[%s]", name) : NULL;
  if (!hdr) {
    p->oom = true;
    return false;
  }
  CfgNode *t = p->root;
  for (int i = 0; i < k->n - 1; i++) {
    CfgNode *kid = table_get(t, k->parts[i]);
    if (!kid) {
      if (!(kid = new_table(p, CH_IMPLICIT, t, k->parts[i], k->locs[i]))) return false;
    } else if (kid->how == CH_AOT) {
      kid = kid->kids[kid->n - 1]; /* [[a]] then [a.b]: b goes into the last element of a */
    } else if (kid->how == CH_INLINE || !is_table(kid)) {
      const char *op = path_of(p, kid), *at = where(p, kid->loc);
      if (!op || !at) return false;
      if (kid->how == CH_INLINE)
        return conflict(p, k->locs[i], kid, "cannot define table %s: '%s' is an inline table (at %s), which cannot "
                        "be extended", hdr, op, at);
      return conflict(p, k->locs[i], kid, "cannot define table %s: '%s' is already defined as %s at %s", hdr, op,
                      what(kid), at);
    }
    t = kid;
  }
  const char *last = k->parts[k->n - 1];
  SrcLoc loc = k->locs[k->n - 1];
  CfgNode *kid = table_get(t, last);
  if (kid && kid->how != CH_IMPLICIT && !(array && kid->how == CH_AOT)) {
    const char *op = path_of(p, kid), *at = where(p, kid->loc);
    if (!op || !at) return false;
    if (array)
      return conflict(p, loc, kid, "cannot define array of tables %s: '%s' is already defined as %s at %s", hdr, op,
                      what(kid), at);
    if (kid->how == CH_HEADER) return conflict(p, loc, kid, "table %s is defined twice (first at %s)", hdr, at);
    if (kid->how == CH_DOTTED)
      return conflict(p, loc, kid, "table %s is already defined by dotted keys at %s (a header cannot reopen it)",
                      hdr, at);
    if (kid->how == CH_AOT)
      return conflict(p, loc, kid, "table %s is already defined as an array of tables at %s (write [[%s]] to add "
                      "an element)", hdr, at, name);
    return conflict(p, loc, kid, "cannot define table %s: '%s' is already defined as %s at %s", hdr, op, what(kid),
                    at);
  }
  if (array && kid && kid->how == CH_IMPLICIT) {
    /* [a.b] then [[a]]: a is a table already */
    const char *op = path_of(p, kid), *at = where(p, kid->loc);
    if (!op || !at) return false;
    return conflict(p, loc, kid, "cannot define array of tables %s: '%s' is already %s (named by a header at %s)",
                    hdr, op, what(kid), at);
  }
  if (!array) {
    if (!kid) {
      if (!(kid = new_table(p, CH_HEADER, t, last, loc))) return false;
    } else {
      kid->how = CH_HEADER; /* named by an earlier header's path; defined here */
      kid->loc = loc;
    }
  } else {
    if (!kid) {
      if (t->depth + 1 > CFG_MAX_DEPTH) return too_deep(p, loc);
      if (!(kid = cfg_node_new(p, CH_AOT, loc))) return false;
      kid->depth = t->depth + 1;
      if (!table_add(p, t, last, kid)) return false;
    }
    if (!(kid = new_table(p, CH_HEADER, kid, NULL, loc))) return false;
  }
  if (p->nctx != 1) return false; /* headers only come at the top level */
  p->ctx[0].table = kid;
  p->ctx[0].section = ++p->sections;
  return true;
}

/* ---- key = value ---- */

static CfgFrame *push_frame(CfgParser *p, SrcLoc loc) {
  if (p->nframes >= (int)(sizeof p->frames / sizeof *p->frames)) {
    too_deep(p, loc);
    return NULL;
  }
  CfgFrame *f = &p->frames[p->nframes++];
  memset(f, 0, sizeof *f);
  return f;
}

bool cfg_value_begin(CfgParser *p, const CfgKey *k) {
  CfgCtx *c = &p->ctx[p->nctx - 1];
  CfgNode *t = c->table;
  for (int i = 0; i < k->n - 1; i++) {
    CfgNode *kid = table_get(t, k->parts[i]);
    if (!kid) {
      if (!(kid = new_table(p, CH_DOTTED, t, k->parts[i], k->locs[i]))) return false;
      kid->section = c->section;
    } else if (kid->how != CH_DOTTED || kid->section != c->section) {
      const char *key = key_path(p, k, k->n), *op = path_of(p, kid), *at = where(p, kid->loc);
      if (!key || !op || !at) return false;
      if (kid->how == CH_HEADER || kid->how == CH_IMPLICIT)
        return conflict(p, k->locs[i], kid, "cannot define '%s' with a dotted key: table '%s' is defined by a "
                        "header at %s (write the key under that header)", key, op, at);
      if (kid->how == CH_INLINE)
        return conflict(p, k->locs[i], kid, "cannot define '%s': '%s' is an inline table (at %s), which cannot be "
                        "extended", key, op, at);
      if (kid->how == CH_DOTTED)
        return conflict(p, k->locs[i], kid, "cannot define '%s': table '%s' was made by dotted keys under another "
                        "header at %s", key, op, at);
      return conflict(p, k->locs[i], kid, "cannot define '%s': '%s' is already defined as %s at %s", key, op,
                      what(kid), at);
    }
    t = kid;
  }
  const char *last = k->parts[k->n - 1];
  SrcLoc loc = k->locs[k->n - 1];
  CfgNode *old = table_get(t, last);
  if (old) {
    const char *path = path_of(p, old), *at = where(p, old->loc);
    if (!path || !at) return false;
    return conflict(p, loc, old, "key '%s' is defined twice (first at %s)", path, at);
  }
  CfgFrame *f = push_frame(p, loc);
  if (!f) return false;
  f->table = t;
  f->key = last;
  f->loc = loc;
  return true;
}

bool cfg_keyval(CfgParser *p, CfgNode *v) {
  CfgFrame *f = &p->frames[--p->nframes];
  v->loc = f->loc; /* a key's value is defined where the key is */
  return table_add(p, f->table, f->key, v);
}

/* Places a container opened at loc from the innermost frame: its depth, and (for messages
 * while it is parsed) its parent and name. */
static bool place(CfgParser *p, CfgNode *n, SrcLoc loc) {
  if (p->nframes == 0) return false; /* the grammar opens values only after "key =" */
  CfgFrame *f = &p->frames[p->nframes - 1];
  CfgNode *parent = f->array ? f->array : f->table;
  n->depth = parent->depth + 1;
  if (n->depth > CFG_MAX_DEPTH) return too_deep(p, loc);
  n->parent = parent;
  n->name = f->array ? arena_printf(p->arena, "%d", f->array->n) : f->key;
  if (!n->name) p->oom = true;
  return n->name != NULL;
}

bool cfg_array_open(CfgParser *p, SrcLoc loc) {
  CfgNode *a = cfg_node_new(p, CH_ARRAY, loc);
  if (!a || !place(p, a, loc)) return false;
  CfgFrame *f = push_frame(p, loc);
  if (!f) return false;
  f->array = a;
  return true;
}

bool cfg_array_push(CfgParser *p, CfgNode *item) {
  return array_add(p, p->frames[p->nframes - 1].array, item);
}

CfgNode *cfg_array_close(CfgParser *p) {
  return p->frames[--p->nframes].array;
}

bool cfg_inline_open(CfgParser *p, SrcLoc loc) {
  CfgNode *t = cfg_node_new(p, CH_INLINE, loc);
  if (!t || !place(p, t, loc)) return false;
  if (p->nctx >= (int)(sizeof p->ctx / sizeof *p->ctx)) return too_deep(p, loc);
  p->ctx[p->nctx].table = t;
  p->ctx[p->nctx++].section = ++p->sections;
  return true;
}

CfgNode *cfg_inline_close(CfgParser *p) {
  return p->ctx[--p->nctx].table;
}

/* ---- UTF-8 ---- */

size_t cfg_put_utf8(char *out, uint32_t u) {
  if (u < 0x80) {
    out[0] = (char)u;
    return 1;
  }
  if (u < 0x800) {
    out[0] = (char)(0xc0 | (u >> 6));
    out[1] = (char)(0x80 | (u & 0x3f));
    return 2;
  }
  if (u < 0x10000) {
    out[0] = (char)(0xe0 | (u >> 12));
    out[1] = (char)(0x80 | ((u >> 6) & 0x3f));
    out[2] = (char)(0x80 | (u & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (u >> 18));
  out[1] = (char)(0x80 | ((u >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((u >> 6) & 0x3f));
  out[3] = (char)(0x80 | (u & 0x3f));
  return 4;
}

/* ---- the tree as Values ---- */

/* Converts n into out and files the location of every key below it under its path (prefix:
 * n's own path, NULL for the root).  Recursion is bounded by CFG_MAX_DEPTH. */
static Status to_value(FeConfig *c, const CfgNode *n, const char *prefix, Value *out) {
  if (n->how == CH_SCALAR) {
    *out = n->v;
    return JS_OK;
  }
  bool table = is_table(n);
  int cnt = n->n;
  Value *vals = arena_alloc(c->arena, sizeof *vals * (size_t)(cnt ? cnt : 1));
  const char **keys = table ? arena_alloc(c->arena, sizeof *keys * (size_t)(cnt ? cnt : 1)) : NULL;
  if (!vals || (table && !keys)) return JS_ENOMEM;
  for (int i = 0; i < cnt; i++) {
    const CfgNode *kid = n->kids[i];
    const char *q = cfg_quote_key(c->arena, kid->name);
    const char *path = q && prefix ? arena_join(c->arena, prefix, '.', q) : q;
    SrcLoc *loc = arena_alloc(c->arena, sizeof *loc);
    if (!path || !loc) return JS_ENOMEM;
    *loc = kid->loc;
    if (strmap_put(&c->locs, path, loc) != JS_OK) return JS_ENOMEM;
    if (table) keys[i] = kid->name;
    Status st = to_value(c, kid, path, &vals[i]);
    if (st != JS_OK) return st;
  }
  if (table) {
    out->kind = VAL_DICT;
    out->u.dict.n = cnt;
    out->u.dict.keys = keys;
    out->u.dict.vals = vals;
  } else {
    out->kind = VAL_LIST;
    out->u.seq.n = cnt;
    out->u.seq.items = vals;
  }
  return JS_OK;
}

/* Parses src (which lives in a) into a config owned by a; a is the caller's to free after
 * a failure. */
static Status parse_in(Arena *a, const SrcFile *src, FeConfig **out, Diag *d) {
  CfgParser *p = ir_calloc(1, sizeof *p); /* a few KB: not on the stack */
  if (!p) return diag_oom(d);
  p->src = src;
  p->arena = a;
  p->d = d;
  p->line = p->col = 1;
  p->want_key = true;
  Status st = JS_OK;
  if (!(p->root = cfg_node_new(p, CH_HEADER, (SrcLoc){src, 1, 1}))) st = diag_oom(d);
  p->ctx[0].table = p->root;
  p->nctx = 1;
  if (st == JS_OK) st = cfg_parse_tree(p);
  FeConfig *c = NULL;
  if (st == JS_OK && !(c = arena_alloc(a, sizeof *c))) st = diag_oom(d);
  if (st == JS_OK) {
    c->arena = a;
    strmap_init(&c->locs);
    if (to_value(c, p->root, NULL, &c->root) != JS_OK) {
      strmap_free(&c->locs);
      st = diag_oom(d);
    }
  }
  ir_free(p);
  if (st == JS_OK) *out = c;
  return st;
}

Status fe_config_parse(const SrcFile *src, FeConfig **out, Diag *d) {
  *out = NULL;
  Arena *a = arena_new();
  if (!a) return diag_oom(d);
  /* our own copy, so that locations outlive the caller's source */
  SrcFile *copy = diag_src_from_string(a, src->path ? src->path : "<config>", src->text ? src->text : "",
                                       src->text ? src->len : 0);
  Status st = copy ? parse_in(a, copy, out, d) : diag_oom(d);
  if (st != JS_OK) arena_free(a);
  return st;
}

Status fe_config_read(const char *path, FeConfig **out, Diag *d) {
  *out = NULL;
  Arena *a = arena_new();
  if (!a) return diag_oom(d);
  SrcFile *src;
  Status st = diag_read_file(a, path, &src, d);
  if (st == JS_OK) st = parse_in(a, src, out, d);
  if (st != JS_OK) arena_free(a);
  return st;
}

const Value *fe_config_root(const FeConfig *c) {
  return &c->root;
}

void fe_config_free(FeConfig *c) {
  if (!c) return;
  strmap_free(&c->locs);
  arena_free(c->arena); /* c lives in it */
}

/* ---- fe_config_loc: paths as the user writes them ---- */

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* One component of a dotted path at *s (bare, "basic" or 'literal') into sb, unquoted;
 * false when it is not one. */
static bool read_component(const char **s, StrBuf *sb) {
  const char *c = *s;
  if (*c == '\'') {
    const char *e = strchr(c + 1, '\'');
    if (!e) return false;
    sb_putn(sb, c + 1, (size_t)(e - c - 1));
    *s = e + 1;
    return true;
  }
  if (*c == '"') {
    for (c++; *c != '"'; c++) {
      if (!*c) return false;
      if (*c != '\\') {
        sb_putc(sb, *c);
        continue;
      }
      c++;
      const char *simple = strchr("b\bt\tn\nf\fr\r\"\"\\\\", *c);
      if (*c && simple && (simple - "b\bt\tn\nf\fr\r\"\"\\\\") % 2 == 0) {
        sb_putc(sb, simple[1]);
        continue;
      }
      if (*c != 'u' && *c != 'U') return false;
      int nd = *c == 'u' ? 4 : 8;
      uint32_t u = 0;
      for (int k = 1; k <= nd; k++) {
        int h = hexval(c[k]);
        if (h < 0) return false;
        u = u * 16 + (uint32_t)h;
      }
      if (u == 0 || u > 0x10ffff || (u >= 0xd800 && u <= 0xdfff)) return false;
      char buf[4];
      sb_putn(sb, buf, cfg_put_utf8(buf, u));
      c += nd;
    }
    *s = c + 1;
    return true;
  }
  const char *b = c;
  while ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-')
    c++;
  if (c == b) return false;
  sb_putn(sb, b, (size_t)(c - b));
  *s = c;
  return true;
}

SrcLoc fe_config_loc(const FeConfig *c, const char *path) {
  SrcLoc none = {0};
  if (!c || !path || !*path) return none;
  /* rewrite the path as cfg_quote_key writes each component, then look it up */
  StrBuf canon, part;
  sb_init(&canon);
  sb_init(&part);
  const char *s = path;
  bool ok = true;
  Arena *tmp = arena_new();
  if (!tmp) ok = false;
  while (ok) {
    sb_clear(&part);
    ok = read_component(&s, &part) && !part.oom;
    if (!ok) break;
    const char *q = cfg_quote_key(tmp, sb_str(&part));
    ok = q && strlen(sb_str(&part)) == part.len; /* a NUL inside names no key */
    if (!ok) break;
    if (canon.len) sb_putc(&canon, '.');
    sb_puts(&canon, q);
    if (!*s) break;
    ok = *s++ == '.';
  }
  SrcLoc *loc = ok && !canon.oom ? strmap_get(&c->locs, sb_str(&canon)) : NULL;
  arena_free(tmp);
  sb_free(&canon);
  sb_free(&part);
  return loc ? *loc : none;
}
