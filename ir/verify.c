/* verify.c — the graph's invariants, torch.fx's Graph.lint() and more.
 *
 * Checked, in this order (the later checks assume the earlier ones held):
 *   1. the node list: links, owner, count, no cycles; names unique, well formed and in step
 *      with the name map; placeholders first, exactly one output and it is last;
 *   2. SSA: every node an argument mentions is in the graph and defined earlier; metadata
 *      mentions only nodes of the graph; every users list equals the recomputed set;
 *   3. targets resolve (modules that are not containers, parameters, ops with the form
 *      called) and arguments bind to the op's signature;
 *   4. recorded types equal what ir_infer_type gives, when every argument has a type; one
 *      wrong type is reported once, not again at every node downstream of it.
 * Every problem is reported at the node's location and names the node; the walk stops once
 * the Diag has had too many errors.  Runs in time linear in the graph (hash sets, no
 * quadratic scans), so it can run after every pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

#define VERIFY_MAX_DEPTH 64 /* values nested deeper than this are refused (the parser's cap) */

/* An open-addressing hash map from a 64-bit key (a pointer or an edge) to a position. */
typedef struct KeyMap {
  uint64_t *keys; /* 0 marks an empty slot: no key is 0 (pointers, edges + 1) */
  int *vals;
  size_t cap; /* a power of two */
} KeyMap;

static bool km_init(KeyMap *m, size_t n) {
  size_t cap = 16;
  while (cap < n * 2 + 2) cap *= 2;
  m->keys = ir_calloc(cap, sizeof *m->keys);
  m->vals = ir_calloc(cap, sizeof *m->vals);
  m->cap = cap;
  return m->keys && m->vals;
}

static void km_free(KeyMap *m) {
  ir_free(m->keys);
  ir_free(m->vals);
}

static size_t km_slot(const KeyMap *m, uint64_t key) {
  uint64_t h = key * 0x9e3779b97f4a7c15ULL;
  size_t i = (size_t)(h ^ (h >> 29)) & (m->cap - 1);
  while (m->keys[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
  return i;
}

/* Inserts key (never 0); the map was sized for every key, so there is always room. */
static void km_put(KeyMap *m, uint64_t key, int val) {
  size_t i = km_slot(m, key);
  m->keys[i] = key;
  m->vals[i] = val;
}

static bool km_get(const KeyMap *m, uint64_t key, int *val) {
  size_t i = km_slot(m, key);
  if (!m->keys[i]) return false;
  if (val) *val = m->vals[i];
  return true;
}

static uint64_t ptr_key(const void *p) {
  return (uint64_t)(uintptr_t)p;
}

static uint64_t edge_key(int from, int to) {
  return ((uint64_t)(uint32_t)from << 32 | (uint32_t)to) + 1;
}

typedef struct Verifier {
  const Graph *g;
  Diag *d;
  Node **nodes;  /* graph order */
  int n;
  KeyMap pos;    /* Node* -> position */
  KeyMap edges;  /* (arg position, user position) */
  int *nexpect;  /* per node: recomputed number of users */
  int *stamp;    /* per node: last user position + 1 that counted it */
  int nedges;
  bool bad_structure; /* a broken list or use list: skip the checks that trust them */
  Arena *scratch;
  uint8_t *mistyped; /* per node: MT_WRONG, MT_BLAMED bits */
} Verifier;

static Status verr(Verifier *v, const Node *n, const char *fmt, ...) JS_PRINTF(3, 4);
static Status verr(Verifier *v, const Node *n, const char *fmt, ...) {
  StrBuf sb;
  sb_init(&sb);
  va_list ap;
  va_start(ap, fmt);
  sb_vprintf(&sb, fmt, ap);
  va_end(ap);
  diag_error(v->d, n ? ir_node_at(n) : v->g->loc, "%s%s%s", n ? "%" : "", n ? n->name : "", sb_str(&sb));
  sb_free(&sb);
  return JS_ERR;
}

static bool is_name(const char *s) {
  if (!s || !*s) return false;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
      return false;
  return true;
}

static bool type_ok(const TensorType *t, bool need_known) {
  if ((unsigned)t->dtype >= DT_COUNT || t->rank < 0 || t->rank > IR_MAX_RANK) return false;
  for (int i = 0; i < t->rank; i++) {
    const Dim *dm = &t->dims[i];
    if (dm->sym ? need_known || !is_name(dm->sym) : dm->size < 0 || dm->size > IR_MAX_DIM) return false;
  }
  return ir_type_numel(t) <= IR_MAX_NUMEL;
}

/* Counts the nodes in the list, refusing cycles and foreign nodes.  Fills v->nodes. */
static Status check_list(Verifier *v) {
  const Graph *g = v->g;
  int cap = g->nnodes > 0 ? g->nnodes : 0;
  v->nodes = ir_calloc((size_t)cap + 1, sizeof *v->nodes);
  if (!v->nodes || !km_init(&v->pos, (size_t)cap + 1)) return diag_oom(v->d);
  Status st = JS_OK;
  const Node *prev = NULL;
  for (Node *n = g->first; n; prev = n, n = n->next) {
    if (km_get(&v->pos, ptr_key(n), NULL)) {
      v->bad_structure = true;
      return verr(v, n, ": the node list loops back to this node");
    }
    if (v->n == cap) {
      v->bad_structure = true;
      return diag_error(v->d, g->loc, "graph '%s' has more nodes in its list than its count (%d)", g->name,
                        g->nnodes);
    }
    if (n->prev != prev) {
      v->bad_structure = true;
      st = verr(v, n, ": prev link does not point at the node before it");
    }
    if (n->graph != g) {
      v->bad_structure = true;
      st = verr(v, n, ": belongs to another graph");
    }
    km_put(&v->pos, ptr_key(n), v->n);
    v->nodes[v->n++] = n;
  }
  if (g->last != prev) {
    v->bad_structure = true;
    st = diag_error(v->d, g->loc, "graph '%s': its last node is not the end of its node list", g->name);
  }
  if (v->n != g->nnodes) {
    v->bad_structure = true;
    st = diag_error(v->d, g->loc, "graph '%s' counts %d nodes but its list holds %d", g->name, g->nnodes, v->n);
  }
  return st;
}

static Status check_names(Verifier *v) {
  Status st = JS_OK;
  for (int i = 0; i < v->n && !diag_too_many(v->d); i++) {
    const Node *n = v->nodes[i];
    if (!is_name(n->name)) {
      diag_error(v->d, ir_node_at(n), "node name '%s' is not made of letters, digits and '_'", n->name ? n->name : "");
      st = JS_ERR;
      continue;
    }
    const Node *m = ir_graph_find_node(v->g, n->name);
    int at;
    if (m != n) {
      if (m && km_get(&v->pos, ptr_key(m), &at) && at != i)
        st = verr(v, n, ": duplicate node name (also the node at position %d)", at);
      else
        st = verr(v, n, ": the name map does not point at this node");
    }
  }
  const StrMap *map = &v->g->node_names;
  for (size_t i = 0; i < map->cap; i++)
    if (map->keys[i] && map->vals[i] && !km_get(&v->pos, ptr_key(map->vals[i]), NULL))
      st = diag_error(v->d, v->g->loc, "graph '%s': the name map holds '%s' for a node not in the graph",
                      v->g->name, map->keys[i]);
  return st;
}

static Status check_order(Verifier *v) {
  Status st = JS_OK;
  int outputs = 0;
  const Node *first_other = NULL;
  for (int i = 0; i < v->n && !diag_too_many(v->d); i++) {
    const Node *n = v->nodes[i];
    if ((unsigned)n->op >= OP_KIND_COUNT) {
      st = verr(v, n, ": invalid node kind %d", (int)n->op);
      continue;
    }
    if (n->op == OP_PLACEHOLDER && first_other)
      st = verr(v, n, ": placeholder after the non-placeholder %%%s (placeholders come first)", first_other->name);
    if (n->op != OP_PLACEHOLDER && !first_other) first_other = n;
    if (n->op == OP_OUTPUT) {
      if (++outputs > 1) st = verr(v, n, ": a second output node (a graph has exactly one)");
      if (i != v->n - 1) st = verr(v, n, ": the output node is not the last node");
    }
  }
  if (outputs == 0)
    st = diag_error(v->d, v->g->loc, "graph '%s' has no output node", v->g->name);
  return st;
}

/* SSA for one value: every node it mentions is in the graph and defined before `at`.  Also
 * counts `at` once as a user of each (stamp) and records the edge. */
static Status check_uses(Verifier *v, const Node *user, int at, const Value *val, int depth, bool meta) {
  if (depth > VERIFY_MAX_DEPTH) return verr(v, user, ": arguments nested more than %d deep", VERIFY_MAX_DEPTH);
  switch (val->kind) {
  case VAL_NODE: {
    int p;
    const Node *a = val->u.node;
    if (!a || !km_get(&v->pos, ptr_key(a), &p)) {
      v->bad_structure = !meta || v->bad_structure;
      return verr(v, user, ": %s a node that is not in the graph (%%%s)", meta ? "metadata mentions" : "uses",
                  a && a->name ? a->name : "?");
    }
    if (meta) return JS_OK;
    if (p >= at) {
      v->bad_structure = true;
      return verr(v, user, ": uses %%%s before its definition", a->name);
    }
    if (v->stamp[p] != at + 1) {
      v->stamp[p] = at + 1;
      v->nexpect[p]++;
      km_put(&v->edges, edge_key(p, at), 1);
    }
    return JS_OK;
  }
  case VAL_TUPLE:
  case VAL_LIST: {
    Status st = JS_OK;
    for (int i = 0; i < val->u.seq.n; i++)
      if (check_uses(v, user, at, &val->u.seq.items[i], depth + 1, meta)) st = JS_ERR;
    return st;
  }
  case VAL_DICT: {
    Status st = JS_OK;
    for (int i = 0; i < val->u.dict.n; i++)
      if (check_uses(v, user, at, &val->u.dict.vals[i], depth + 1, meta)) st = JS_ERR;
    return st;
  }
  case VAL_TYPE:
    if (!type_ok(val->u.type, false)) return verr(v, user, ": a malformed type in its %s", meta ? "metadata" : "arguments");
    return JS_OK;
  default: return JS_OK;
  }
}

static int count_edges(const Value *val, int depth) {
  if (depth > VERIFY_MAX_DEPTH) return 0;
  int n = 0;
  switch (val->kind) {
  case VAL_NODE: return 1;
  case VAL_TUPLE:
  case VAL_LIST:
    for (int i = 0; i < val->u.seq.n; i++) n += count_edges(&val->u.seq.items[i], depth + 1);
    return n;
  case VAL_DICT:
    for (int i = 0; i < val->u.dict.n; i++) n += count_edges(&val->u.dict.vals[i], depth + 1);
    return n;
  default: return 0;
  }
}

static Status check_ssa(Verifier *v) {
  size_t nedges = 0;
  for (int i = 0; i < v->n; i++) {
    const Node *n = v->nodes[i];
    for (int k = 0; k < n->nargs; k++) nedges += (size_t)count_edges(&n->args[k], 0);
    for (int k = 0; k < n->nkwargs; k++) nedges += (size_t)count_edges(&n->kwargs[k], 0);
  }
  v->nexpect = ir_calloc((size_t)v->n + 1, sizeof *v->nexpect);
  v->stamp = ir_calloc((size_t)v->n + 1, sizeof *v->stamp);
  if (!v->nexpect || !v->stamp || !km_init(&v->edges, nedges)) return diag_oom(v->d);
  Status st = JS_OK;
  for (int i = 0; i < v->n && !diag_too_many(v->d); i++) {
    const Node *n = v->nodes[i];
    if (n->nargs < 0 || n->nkwargs < 0 || (n->nargs && !n->args) || (n->nkwargs && (!n->kwargs || !n->kwnames))) {
      v->bad_structure = true;
      st = verr(v, n, ": malformed argument arrays");
      continue;
    }
    for (int k = 0; k < n->nargs; k++)
      if (check_uses(v, n, i, &n->args[k], 0, false)) st = JS_ERR;
    for (int k = 0; k < n->nkwargs; k++) {
      if (!n->kwnames[k]) st = verr(v, n, ": keyword argument %d has no name", k);
      if (check_uses(v, n, i, &n->kwargs[k], 0, false)) st = JS_ERR;
    }
    if (n->meta.kind != VAL_NONE && n->meta.kind != VAL_DICT) st = verr(v, n, ": metadata is not a dict");
    if (check_uses(v, n, i, &n->meta, 0, true)) st = JS_ERR;
  }
  if (v->bad_structure) return st;
  /* The users lists: exactly the recomputed sets (the stamps now mark duplicates). */
  memset(v->stamp, 0, sizeof *v->stamp * (size_t)v->n);
  for (int i = 0; i < v->n && !diag_too_many(v->d); i++) {
    const Node *n = v->nodes[i];
    bool ok = n->nusers == v->nexpect[i] && n->nusers >= 0 && (n->nusers == 0 || n->users);
    for (int k = 0; ok && k < n->nusers; k++) {
      int p;
      if (!n->users[k] || !km_get(&v->pos, ptr_key(n->users[k]), &p) || v->stamp[p] == i + 1 ||
          !km_get(&v->edges, edge_key(i, p), NULL))
        ok = false;
      else
        v->stamp[p] = i + 1;
    }
    if (!ok) {
      v->bad_structure = true;
      st = verr(v, n, ": its users list (%d node%s) does not match the %d node%s whose arguments use it",
                n->nusers, n->nusers == 1 ? "" : "s", v->nexpect[i], v->nexpect[i] == 1 ? "" : "s");
    }
  }
  return st;
}

/* Names the callee in signature messages: "%relu: relu". */
static const char *callee(Verifier *v, const Node *n, const char *what) {
  const char *s = arena_printf(v->scratch, "%%%s: %s", n->name, what);
  return s ? s : what;
}

static Status bind(Verifier *v, const Node *n, const Sig *sig, const char *what) {
  Value bound[12];
  /* Bind quietly first: naming the callee costs a formatted string per node, paid only when
   * there is something to report. */
  Diag quiet;
  diag_init(&quiet, NULL);
  Status st = ir_sig_bind(sig, what, n->nargs, n->args, n->nkwargs, n->kwnames, n->kwargs, v->scratch, bound,
                          &quiet, ir_node_at(n));
  diag_free(&quiet);
  if (st == JS_ERR)
    st = ir_sig_bind(sig, callee(v, n, what), n->nargs, n->args, n->nkwargs, n->kwnames, n->kwargs, v->scratch,
                     bound, v->d, ir_node_at(n));
  return st;
}

/* Targets and signatures.  Returns JS_OK when the node is well formed enough to infer. */
static Status check_target(Verifier *v, const Node *n) {
  const Graph *g = v->g;
  if (!n->target) return verr(v, n, ": has no target");
  switch (n->op) {
  case OP_PLACEHOLDER:
    if (!*n->target) return verr(v, n, ": a placeholder needs a target (the input's name)");
    if (n->nargs > 1 || n->nkwargs > 0)
      return verr(v, n, ": a placeholder takes at most one argument (its default), got %d and %d keyword%s",
                  n->nargs, n->nkwargs, n->nkwargs == 1 ? "" : "s");
    return JS_OK;
  case OP_GET_ATTR: {
    const Param *p = ir_graph_find_param(g, n->target);
    if (!p) return verr(v, n, ": get_attr target '%s' is not a parameter or buffer of the model", n->target);
    if (n->param != p) return verr(v, n, ": its parameter is not the one its target '%s' names", n->target);
    if (n->nargs || n->nkwargs) return verr(v, n, ": get_attr takes no arguments");
    return JS_OK;
  }
  case OP_CALL_FUNCTION:
  case OP_CALL_METHOD: {
    int form = n->op == OP_CALL_FUNCTION ? FORM_FN : FORM_METHOD;
    const char *kind = n->op == OP_CALL_FUNCTION ? "function" : "method";
    MaseOp op = ir_op_lookup_form(n->target, form);
    if (op == MOP_NONE) return verr(v, n, ": unknown %s '%s'", kind, n->target);
    if (n->mop != op) return verr(v, n, ": its operator does not match its target '%s'", n->target);
    /* fx calls getattr(args[0], target): the object is positional, and a tensor */
    if (form == FORM_METHOD && (n->nargs == 0 || n->args[0].kind != VAL_NODE))
      return verr(v, n, ": method '%s' needs the tensor it is called on as its first positional argument, got %s",
                  n->target, n->nargs ? val_kind_name(&n->args[0]) : "none");
    return bind(v, n, &ir_op_info(op)->sig, n->target);
  }
  case OP_CALL_MODULE: {
    const Module *m = ir_graph_find_module(g, n->target);
    if (!m) return verr(v, n, ": call_module target '%s' is not a module of the model", n->target);
    if (n->module != m) return verr(v, n, ": its module is not the one its target '%s' names", n->target);
    const ModuleInfo *mi = ir_module_info(m->type);
    if (!mi) return verr(v, n, ": module '%s' has no class", m->path);
    if (mi->op == MOP_NONE)
      return verr(v, n, ": module '%s' is a %s, a container that cannot be called (call its children)", m->path,
                  mi->cls);
    if (n->mop != mi->op) return verr(v, n, ": its operator does not match module '%s' (%s)", m->path, mi->cls);
    /* The op's signature minus what the module owns: the one input tensor. */
    const Sig *os = &ir_op_info(mi->op)->sig;
    Sig sig = {.n = os->n > 0 ? 1 : 0};
    if (os->n > 0) sig.params[0] = os->params[0];
    return bind(v, n, &sig, mi->cls);
  }
  case OP_OUTPUT:
    if (strcmp(n->target, "output") != 0) return verr(v, n, ": the output node's target must be 'output'");
    if (n->nargs != 1 || n->nkwargs != 0)
      return verr(v, n, ": the output node takes exactly one argument, got %d (and %d keyword%s)", n->nargs,
                  n->nkwargs, n->nkwargs == 1 ? "" : "s");
    return JS_OK;
  default: return JS_ERR; /* reported by check_order */
  }
}

static bool args_typed(const Value *val, int depth) {
  if (depth > VERIFY_MAX_DEPTH) return false;
  switch (val->kind) {
  case VAL_NODE: return val->u.node->has_type;
  case VAL_TUPLE:
  case VAL_LIST:
    for (int i = 0; i < val->u.seq.n; i++)
      if (!args_typed(&val->u.seq.items[i], depth + 1)) return false;
    return true;
  case VAL_DICT:
    for (int i = 0; i < val->u.dict.n; i++)
      if (!args_typed(&val->u.dict.vals[i], depth + 1)) return false;
    return true;
  default: return true;
  }
}

/* One tampered type is one error, not one per node downstream.  A node whose recorded
 * type was reported wrong (or that such a node feeds) is MT_WRONG: its users' types go
 * unchecked.  The arguments of a node that failed inference are MT_BLAMED: another user of
 * them that fails too is not reported again (cross_entropy and its backward both reading a
 * mistyped target). */
enum { MT_WRONG = 1, MT_BLAMED = 2 };

/* The bits `mask` of the nodes a value mentions, or-ed; with `set`, sets MT_BLAMED on them. */
static int mentions(const Verifier *v, const Value *val, int mask, bool set, int depth) {
  if (depth > VERIFY_MAX_DEPTH) return 0;
  int pos, r = 0;
  switch (val->kind) {
  case VAL_NODE:
    if (!km_get(&v->pos, ptr_key(val->u.node), &pos)) return 0;
    if (set) v->mistyped[pos] |= MT_BLAMED;
    return v->mistyped[pos] & mask;
  case VAL_TUPLE:
  case VAL_LIST:
    for (int i = 0; i < val->u.seq.n; i++) r |= mentions(v, &val->u.seq.items[i], mask, set, depth + 1);
    return r;
  case VAL_DICT:
    for (int i = 0; i < val->u.dict.n; i++) r |= mentions(v, &val->u.dict.vals[i], mask, set, depth + 1);
    return r;
  default: return 0;
  }
}

static int args_mention(const Verifier *v, const Node *n, int mask, bool set) {
  int r = 0;
  for (int k = 0; k < n->nargs; k++) r |= mentions(v, &n->args[k], mask, set, 0);
  for (int k = 0; k < n->nkwargs; k++) r |= mentions(v, &n->kwargs[k], mask, set, 0);
  return r;
}

/* The inferred type; an error is reported unless an argument is already blamed for one. */
static Status infer_once(Verifier *v, const Node *n, TensorType *t) {
  bool blamed = args_mention(v, n, MT_BLAMED, false) != 0;
  Diag quiet;
  diag_init(&quiet, NULL);
  Status st = ir_infer_type(n, t, blamed ? &quiet : v->d);
  diag_free(&quiet);
  if (st) args_mention(v, n, 0, true);
  return st;
}

static Status check_type(Verifier *v, const Node *n) {
  if (!n->has_type) return JS_OK;
  if (!type_ok(&n->type, false)) return verr(v, n, ": its recorded type is malformed");
  if (n->op == OP_PLACEHOLDER) return JS_OK;
  /* an output of one tensor has its type (a dict of results, the training graph's, none) */
  if (n->op == OP_OUTPUT && (n->nargs != 1 || n->args[0].kind != VAL_NODE)) return JS_OK;
  for (int k = 0; k < n->nargs; k++)
    if (!args_typed(&n->args[k], 0)) return JS_OK;
  for (int k = 0; k < n->nkwargs; k++)
    if (!args_typed(&n->kwargs[k], 0)) return JS_OK;
  TensorType t;
  memset(&t, 0, sizeof t);
  Status st = infer_once(v, n, &t);
  if (st) return st;
  if (!ir_type_equal(&t, &n->type)) {
    StrBuf a, b;
    sb_init(&a);
    sb_init(&b);
    ir_type_print(&a, &n->type);
    ir_type_print(&b, &t);
    verr(v, n, ": recorded type %s differs from the inferred type %s", sb_str(&a), sb_str(&b));
    sb_free(&a);
    sb_free(&b);
    return JS_ERR;
  }
  return JS_OK;
}

/* A configured container (Sequential) names children in its constructor arguments; as in
 * PyTorch, where Sequential(a, b) creates children "0" and "1" and add_module may append more,
 * they must be its first children, in order, or the printed constructor and the module lines
 * would describe two different models.  Reports a mismatch. */
static Status check_children(Verifier *v, const Module *m) {
  const ModuleInfo *mi = ir_module_info(m->type);
  int vi = -1;
  for (int i = 0; i < mi->sig.n && i < m->nargs; i++)
    if (mi->sig.params[i].varargs && mi->sig.params[i].type == ST_MODULE) vi = i;
  if (vi < 0 || m->args[vi].kind != VAL_TUPLE) return JS_OK; /* not a container, or not configured */
  const Value *names = &m->args[vi];
  bool same = names->u.seq.n <= m->nchildren;
  for (int i = 0; same && i < names->u.seq.n; i++)
    same = names->u.seq.items[i].kind == VAL_STR && strcmp(names->u.seq.items[i].u.s, m->children[i]->name) == 0;
  if (same) return JS_OK;
  StrBuf listed, declared;
  sb_init(&listed);
  sb_init(&declared);
  for (int i = 0; i < names->u.seq.n; i++) {
    sb_puts(&listed, i ? ", " : "");
    val_print(&listed, &names->u.seq.items[i]);
  }
  for (int i = 0; i < m->nchildren; i++) {
    sb_puts(&declared, i ? ", " : "");
    sb_put_quoted(&declared, m->children[i]->name);
  }
  Status st = listed.oom || declared.oom
                  ? diag_oom(v->d)
                  : diag_error(v->d, ir_module_at(m), "module '%s': %s(%s) names its first children, but the modules declared under it are (%s)",
                               m->path, mi->cls, sb_str(&listed), sb_str(&declared));
  sb_free(&listed);
  sb_free(&declared);
  return st;
}

/* Why an initialiser's arguments cannot initialise a tensor (PyTorch's own checks: uniform_
 * needs lo <= hi, normal_ std >= 0), or NULL.  constant(v) takes any v, nan and inf included,
 * as torch.full does. */
static const char *init_problem(const Init *in) {
  const double *a = in->args;
  switch (in->kind) {
  case INIT_UNIFORM:
    if (!isfinite(a[0]) || !isfinite(a[1])) return "bounds must be finite";
    return a[0] <= a[1] ? NULL : "needs lo <= hi";
  case INIT_NORMAL:
    if (!isfinite(a[0]) || !isfinite(a[1])) return "mean and std must be finite";
    return a[1] >= 0 ? NULL : "needs std >= 0";
  case INIT_KAIMING_UNIFORM: return isfinite(a[0]) ? NULL : "a must be finite";
  default: return NULL;
  }
}

static Status check_tables(Verifier *v) {
  const Graph *g = v->g;
  Status st = JS_OK;
  for (int i = 0; i < g->nmodules && !diag_too_many(v->d); i++) {
    const Module *m = g->modules[i];
    if (!ir_module_info(m->type))
      st = diag_error(v->d, ir_module_at(m), "module '%s' has no class", m->path);
    else if (ir_graph_find_module(g, m->path) != m)
      st = diag_error(v->d, ir_module_at(m), "module '%s' is not the one its path names", m->path);
    else if (check_children(v, m))
      st = JS_ERR;
  }
  for (int i = 0; i < g->nparams && !diag_too_many(v->d); i++) {
    const Param *p = g->params[i];
    if (ir_graph_find_param(g, p->qualname) != p)
      st = diag_error(v->d, p->loc, "parameter '%s' is not the one its name maps to", p->qualname);
    if (!type_ok(&p->type, true))
      st = diag_error(v->d, p->loc, "parameter '%s' has a malformed or unknown-size type", p->qualname);
    if ((unsigned)p->init.kind >= INIT_COUNT)
      st = diag_error(v->d, p->loc, "parameter '%s' has an invalid initialiser", p->qualname);
    else if (init_problem(&p->init)) {
      char args[64];
      if (ir_init_nargs(p->init.kind) == 1)
        snprintf(args, sizeof args, "%g", p->init.args[0]);
      else
        snprintf(args, sizeof args, "%g, %g", p->init.args[0], p->init.args[1]);
      st = diag_error(v->d, p->loc, "parameter '%s': initialiser %s(%s) %s", p->qualname, ir_init_name(p->init.kind),
                      args, init_problem(&p->init));
    }
  }
  return st;
}

Status ir_verify(const Graph *g, Diag *d) {
  Verifier v = {.g = g, .d = d};
  int before = d->nerrors;
  Status st = JS_OK;
  if (!(v.scratch = arena_new())) return diag_oom(d);
  st = check_list(&v);
  if (st == JS_ENOMEM) goto done;
  if (!v.bad_structure) {
    check_names(&v);
    check_order(&v);
    check_tables(&v);
    if ((st = check_ssa(&v)) == JS_ENOMEM) goto done;
    if (!v.bad_structure) {
      if (!(v.mistyped = ir_calloc((size_t)v.n + 1, sizeof *v.mistyped))) {
        st = diag_oom(d);
        goto done;
      }
      for (int i = 0; i < v.n && !diag_too_many(d); i++) {
        const Node *n = v.nodes[i];
        if ((unsigned)n->op >= OP_KIND_COUNT || !is_name(n->name)) continue;
        if (args_mention(&v, n, MT_WRONG, false) || check_target(&v, n) || check_type(&v, n))
          v.mistyped[i] |= MT_WRONG;
      }
    }
  }
  st = d->nerrors > before ? JS_ERR : JS_OK;
done:
  km_free(&v.pos);
  km_free(&v.edges);
  ir_free(v.nodes);
  ir_free(v.nexpect);
  ir_free(v.stamp);
  ir_free(v.mistyped);
  arena_free(v.scratch);
  return st;
}
