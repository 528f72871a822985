/* graph.c — Graph, Node, Module and Param: creation, the use lists, naming and metadata.
 *
 * As in torch.fx, one function (ir_node_set_args) changes a node's arguments, and it keeps
 * every node's `users` in step; erasing a node that still has users is refused. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static const char *const kind_names[OP_KIND_COUNT] = {
    "placeholder", "get_attr", "call_function", "call_method", "call_module", "output"};

const char *ir_node_kind_name(NodeKind k) {
  return (unsigned)k < OP_KIND_COUNT ? kind_names[k] : "?";
}

bool ir_node_kind_parse(const char *s, NodeKind *out) {
  for (int i = 0; i < OP_KIND_COUNT; i++)
    if (strcmp(s, kind_names[i]) == 0) {
      *out = (NodeKind)i;
      return true;
    }
  return false;
}

static const struct {
  const char *name;
  int nargs;
} inits[INIT_COUNT] = {
#define INIT(id, nm, na) {nm, na},
#include "inits.def"
#undef INIT
};

const char *ir_init_name(InitKind k) {
  return (unsigned)k < INIT_COUNT ? inits[k].name : "?";
}

int ir_init_nargs(InitKind k) {
  return (unsigned)k < INIT_COUNT ? inits[k].nargs : 0;
}

bool ir_init_parse(const char *s, InitKind *out) {
  for (int i = 0; i < INIT_COUNT; i++)
    if (strcmp(s, inits[i].name) == 0) {
      *out = (InitKind)i;
      return true;
    }
  return false;
}

/* Arrays in the arena grow by doubling whenever their length reaches a power of two, so
 * no capacity needs storing.  Returns false on OOM. */
static bool grow_array(Arena *a, void **arr, int n, size_t elem) {
  if (n < 0) return false;
  if (n >= 4 && (n & (n - 1)) != 0) return true;
  if (n > 0 && n < 4) return true;
  size_t cap = n < 4 ? 4 : (size_t)n * 2;
  void *p = arena_alloc(a, cap * elem);
  if (!p) return false;
  if (n > 0) memcpy(p, *arr, (size_t)n * elem);
  *arr = p;
  return true;
}

/* ---- programs ---- */

Program *ir_program_new(void) {
  Program *p = ir_calloc(1, sizeof *p);
  if (!p) return NULL;
  if (!(p->arena = arena_new())) {
    ir_free(p);
    return NULL;
  }
  return p;
}

void ir_program_free(Program *p) {
  if (!p) return;
  for (int i = 0; i < p->ngraphs; i++) ir_graph_free(p->graphs[i]);
  arena_free(p->arena);
  ir_free(p);
}

Status ir_program_add(Program *p, Graph *g) {
  if (!grow_array(p->arena, (void **)&p->graphs, p->ngraphs, sizeof(Graph *))) return JS_ENOMEM;
  p->graphs[p->ngraphs++] = g;
  return JS_OK;
}

Graph *ir_program_find(const Program *p, const char *name) {
  for (int i = 0; i < p->ngraphs; i++)
    if (strcmp(p->graphs[i]->name, name) == 0) return p->graphs[i];
  return NULL;
}

/* ---- graphs ---- */

Graph *ir_graph_new(const char *name) {
  Arena *a = arena_new();
  if (!a) return NULL;
  Graph *g = arena_alloc(a, sizeof *g);
  Module *root = g ? arena_alloc(a, sizeof *root) : NULL;
  if (!root || !(g->name = arena_strdup(a, name))) {
    arena_free(a);
    return NULL;
  }
  g->arena = a;
  strmap_init(&g->node_names);
  strmap_init(&g->module_paths);
  strmap_init(&g->param_names);
  strmap_init(&g->name_counts);
  root->path = root->name = "";
  root->type = MT_NONE;
  g->root = root;
  return g;
}

void ir_graph_free(Graph *g) {
  if (!g) return;
  strmap_free(&g->node_names);
  strmap_free(&g->module_paths);
  strmap_free(&g->param_names);
  strmap_free(&g->name_counts);
  arena_free(g->arena);
}

const char *ir_intern(Graph *g, const char *s) {
  return arena_strdup(g->arena, s);
}

/* torch.fx's _snake_case: "BatchNorm" -> "batch_norm". */
static void snake_case(StrBuf *sb, const char *s) {
  bool prev_lower = false;
  for (; *s; s++) {
    if (prev_lower && isupper((unsigned char)*s)) sb_putc(sb, '_');
    sb_putc(sb, (char)tolower((unsigned char)*s));
    prev_lower = islower((unsigned char)*s);
  }
}

/* torch.fx's _Namespace.create_name: illegal characters become '_', a leading digit gets a
 * '_', and a base already used gets the next free numeric suffix. */
/* Writes "_<num>" and a NUL at p (num >= 0; at most 21 bytes). */
static void put_suffix(char *p, long long num) {
  char digits[20];
  int n = 0;
  do {
    digits[n++] = (char)('0' + num % 10);
    num /= 10;
  } while (num);
  *p++ = '_';
  while (n) *p++ = digits[--n];
  *p = 0;
}

const char *ir_graph_unique_name(Graph *g, const char *cand) {
  /* The candidate, sanitised, in a buffer of its own ("base" + room for "_<num>"). */
  size_t clen = strlen(cand);
  char small[128];
  char *s = clen + 24 <= sizeof small ? small : ir_malloc(clen + 24);
  if (!s) return NULL;
  size_t len = 0;
  if (isdigit((unsigned char)cand[0])) s[len++] = '_';
  bool in_illegal = false;
  for (const char *p = cand; *p; p++) {
    bool ok = isalnum((unsigned char)*p) || *p == '_';
    if (ok)
      s[len++] = *p;
    else if (!in_illegal)
      s[len++] = '_';
    in_illegal = !ok;
  }
  if (len == 0) s[len++] = '_';
  s[len] = 0;
  /* split "base_<num>" */
  size_t i = len;
  while (i > 0 && isdigit((unsigned char)s[i - 1])) i--;
  long long num = -1;
  size_t blen = len;
  if (i < len && i > 1 && s[i - 1] == '_' && len - i < 18) {
    num = atoll(s + i);
    blen = i - 1;
  }
  s[blen] = 0; /* s is now the base; the number is re-added below */
  void *cnt = strmap_get(&g->name_counts, s);
  if (num >= 0) put_suffix(s + blen, num);
  if (num <= 0) num = cnt ? (long long)(intptr_t)cnt - 1 : 0;
  while (strmap_get(&g->node_names, s)) {
    num++;
    put_suffix(s + blen, num);
  }
  const char *out = arena_strdup(g->arena, s);
  /* Remember the last suffix for this base (stored +1 so that 0 is not NULL). */
  if (out) {
    s[blen] = 0;
    /* a base already in the map keeps its key (strmap_put only replaces the value) */
    const char *base = cnt ? s : arena_strndup(g->arena, s, blen);
    if (!base || strmap_put(&g->name_counts, base, (void *)(intptr_t)(num + 1))) out = NULL;
  }
  if (s != small) ir_free(s);
  return out;
}

Node *ir_node_new(Graph *g, NodeKind op, const char *target, const char *name, Node *before,
                  SrcLoc loc) {
  Node *n = arena_alloc(g->arena, sizeof *n);
  if (!n) return NULL;
  n->op = op;
  n->graph = g;
  n->loc = loc;
  n->mop = MOP_NONE;
  n->meta = val_none();
  if (!(n->target = arena_strdup(g->arena, target))) return NULL;
  if (name) {
    if (strmap_get(&g->node_names, name)) return NULL;
    n->name = arena_strdup(g->arena, name);
  } else if (op == OP_OUTPUT || op == OP_PLACEHOLDER) {
    n->name = ir_graph_unique_name(g, target);
  } else {
    StrBuf sb;
    sb_init(&sb);
    snake_case(&sb, target);
    n->name = sb.oom ? NULL : ir_graph_unique_name(g, sb_str(&sb));
    sb_free(&sb);
  }
  if (!n->name || strmap_put(&g->node_names, n->name, n)) return NULL;
  switch (op) {
  case OP_CALL_MODULE:
    n->module = ir_graph_find_module(g, target);
    if (n->module) n->mop = ir_module_info(n->module->type) ? ir_module_info(n->module->type)->op : MOP_NONE;
    break;
  case OP_GET_ATTR: n->param = ir_graph_find_param(g, target); break;
  case OP_CALL_FUNCTION: n->mop = ir_op_lookup_form(target, FORM_FN); break;
  case OP_CALL_METHOD: n->mop = ir_op_lookup_form(target, FORM_METHOD); break;
  default: break;
  }
  /* link */
  if (before) {
    n->next = before;
    n->prev = before->prev;
    if (before->prev)
      before->prev->next = n;
    else
      g->first = n;
    before->prev = n;
    n->index = before->index;
  } else {
    n->prev = g->last;
    if (g->last)
      g->last->next = n;
    else
      g->first = n;
    g->last = n;
    n->index = g->nnodes;
  }
  g->nnodes++;
  return n;
}

/* ---- use lists ---- */

/* Appends to a use list, doubling it in the arena when full. */
static Status append_user(Node *of, Node *user) {
  if (of->nusers == of->capusers) {
    int cap = of->capusers ? of->capusers * 2 : 2;
    Node **u = arena_alloc(of->graph->arena, sizeof(Node *) * (size_t)cap);
    if (!u) return JS_ENOMEM;
    if (of->nusers) memcpy(u, of->users, sizeof(Node *) * (size_t)of->nusers);
    of->users = u;
    of->capusers = cap;
  }
  of->users[of->nusers++] = user;
  return JS_OK;
}

static Status add_user(Node *of, Node *user) {
  for (int i = 0; i < of->nusers; i++)
    if (of->users[i] == user) return JS_OK;
  return append_user(of, user);
}

static void remove_user(Node *of, Node *user) {
  for (int i = 0; i < of->nusers; i++)
    if (of->users[i] == user) {
      memmove(&of->users[i], &of->users[i + 1], sizeof(Node *) * (size_t)(of->nusers - i - 1));
      of->nusers--;
      return;
    }
}

/* Calls fn(node, ctx) on every node a value mentions. */
static Status walk_nodes(const Value *v, Status (*fn)(Node *, void *), void *ctx) {
  switch (v->kind) {
  case VAL_NODE: return fn(v->u.node, ctx);
  case VAL_TUPLE:
  case VAL_LIST:
    for (int i = 0; i < v->u.seq.n; i++) {
      Status st = walk_nodes(&v->u.seq.items[i], fn, ctx);
      if (st) return st;
    }
    return JS_OK;
  case VAL_DICT:
    for (int i = 0; i < v->u.dict.n; i++) {
      Status st = walk_nodes(&v->u.dict.vals[i], fn, ctx);
      if (st) return st;
    }
    return JS_OK;
  default: return JS_OK;
  }
}

static Status unuse(Node *of, void *user) {
  remove_user(of, user);
  return JS_OK;
}

/* ir_node_set_args first removes `user` from every use list, then adds it back argument by
 * argument: a repeat can only be the last entry, so only that is checked (a node with 100k
 * users must not cost a scan per use). */
static Status use(Node *of, void *user) {
  if (of->nusers > 0 && of->users[of->nusers - 1] == user) return JS_OK;
  return append_user(of, user);
}

static Status walk_args(Node *n, Status (*fn)(Node *, void *)) {
  for (int i = 0; i < n->nargs; i++) {
    Status st = walk_nodes(&n->args[i], fn, n);
    if (st) return st;
  }
  for (int i = 0; i < n->nkwargs; i++) {
    Status st = walk_nodes(&n->kwargs[i], fn, n);
    if (st) return st;
  }
  return JS_OK;
}

Status ir_node_set_args(Node *n, int nargs, const Value *args, int nkw,
                        const char *const *kwnames, const Value *kwargs) {
  Arena *a = n->graph->arena;
  Value *na = arena_alloc(a, sizeof(Value) * (size_t)(nargs ? nargs : 1));
  Value *nk = arena_alloc(a, sizeof(Value) * (size_t)(nkw ? nkw : 1));
  const char **nn = arena_alloc(a, sizeof(char *) * (size_t)(nkw ? nkw : 1));
  if (!na || !nk || !nn) return JS_ENOMEM;
  for (int i = 0; i < nargs; i++)
    if (val_copy(a, &args[i], &na[i])) return JS_ENOMEM;
  for (int i = 0; i < nkw; i++) {
    if (val_copy(a, &kwargs[i], &nk[i])) return JS_ENOMEM;
    if (!(nn[i] = arena_strdup(a, kwnames[i]))) return JS_ENOMEM;
  }
  /* Only now, with every copy made, touch the use lists. */
  walk_args(n, unuse);
  n->nargs = nargs;
  n->args = na;
  n->nkwargs = nkw;
  n->kwargs = nk;
  n->kwnames = nn;
  /* A node mentioned twice (add(%x, %x)) is one user; re-adding is idempotent. */
  return walk_args(n, use);
}

static void replace_in(Value *v, Node *old, Node *repl) {
  switch (v->kind) {
  case VAL_NODE:
    if (v->u.node == old) v->u.node = repl;
    break;
  case VAL_TUPLE:
  case VAL_LIST:
    for (int i = 0; i < v->u.seq.n; i++) replace_in(&v->u.seq.items[i], old, repl);
    break;
  case VAL_DICT:
    for (int i = 0; i < v->u.dict.n; i++) replace_in(&v->u.dict.vals[i], old, repl);
    break;
  default: break;
  }
}

Status ir_node_replace_uses(Node *old, Node *repl) {
  if (old == repl) return JS_OK;
  while (old->nusers > 0) {
    Node *u = old->users[0];
    for (int i = 0; i < u->nargs; i++) replace_in(&u->args[i], old, repl);
    for (int i = 0; i < u->nkwargs; i++) replace_in(&u->kwargs[i], old, repl);
    remove_user(old, u);
    Status st = add_user(repl, u);
    if (st) return st;
  }
  return JS_OK;
}

Status ir_node_erase(Node *n) {
  if (n->nusers > 0) return JS_EUSAGE;
  Graph *g = n->graph;
  walk_args(n, unuse);
  n->nargs = n->nkwargs = 0;
  if (n->prev)
    n->prev->next = n->next;
  else
    g->first = n->next;
  if (n->next)
    n->next->prev = n->prev;
  else
    g->last = n->prev;
  strmap_del(&g->node_names, n->name);
  n->prev = n->next = NULL;
  g->nnodes--;
  return JS_OK;
}

Node *ir_graph_find_node(const Graph *g, const char *name) {
  return strmap_get(&g->node_names, name);
}

Node *ir_graph_output(const Graph *g) {
  for (Node *n = g->last; n; n = n->prev)
    if (n->op == OP_OUTPUT) return n;
  return NULL;
}

SrcLoc ir_node_at(const Node *n) {
  return n->ir_at.line > 0 ? n->ir_at : n->loc;
}

SrcLoc ir_module_at(const Module *m) {
  return m->ir_at.line > 0 ? m->ir_at : m->loc;
}

void ir_graph_renumber(Graph *g) {
  int i = 0;
  for (Node *n = g->first; n; n = n->next) n->index = i++;
}

/* ---- metadata ---- */

Status ir_meta_set(Node *n, const char *key, Value v) {
  Arena *a = n->graph->arena;
  Value copy;
  if (val_copy(a, &v, &copy)) return JS_ENOMEM;
  if (n->meta.kind == VAL_DICT) {
    for (int i = 0; i < n->meta.u.dict.n; i++)
      if (strcmp(n->meta.u.dict.keys[i], key) == 0) {
        n->meta.u.dict.vals[i] = copy;
        return JS_OK;
      }
  } else {
    n->meta = (Value){.kind = VAL_DICT};
  }
  int cnt = n->meta.u.dict.n;
  const char **keys = n->meta.u.dict.keys;
  Value *vals = n->meta.u.dict.vals;
  if (!grow_array(a, (void **)&keys, cnt, sizeof(char *)) || !grow_array(a, (void **)&vals, cnt, sizeof(Value)))
    return JS_ENOMEM;
  if (!(keys[cnt] = arena_strdup(a, key))) return JS_ENOMEM;
  vals[cnt] = copy;
  n->meta.u.dict.keys = keys;
  n->meta.u.dict.vals = vals;
  n->meta.u.dict.n = cnt + 1;
  return JS_OK;
}

const Value *ir_meta_get(const Node *n, const char *key) {
  if (n->meta.kind != VAL_DICT) return NULL;
  for (int i = 0; i < n->meta.u.dict.n; i++)
    if (strcmp(n->meta.u.dict.keys[i], key) == 0) return &n->meta.u.dict.vals[i];
  return NULL;
}

void ir_meta_clear(Node *n) {
  n->meta = val_none();
}

/* ---- modules and parameters ---- */

Module *ir_module_new(Graph *g, Module *parent, const char *name, ModuleType type, SrcLoc loc) {
  if (!parent) parent = g->root;
  Arena *a = g->arena;
  Module *m = arena_alloc(a, sizeof *m);
  if (!m) return NULL;
  m->name = arena_strdup(a, name);
  m->path = parent == g->root ? m->name : arena_join(a, parent->path, '.', name);
  if (!m->name || !m->path) return NULL;
  if (strmap_get(&g->module_paths, m->path)) return NULL;
  m->type = type;
  m->parent = parent;
  m->loc = loc;
  if (!grow_array(a, (void **)&g->modules, g->nmodules, sizeof(Module *)) ||
      !grow_array(a, (void **)&parent->children, parent->nchildren, sizeof(Module *)) ||
      strmap_put(&g->module_paths, m->path, m))
    return NULL;
  g->modules[g->nmodules++] = m;
  parent->children[parent->nchildren++] = m;
  return m;
}

Module *ir_graph_find_module(const Graph *g, const char *path) {
  return strmap_get(&g->module_paths, path);
}

Param *ir_param_new(Graph *g, Module *owner, const char *name, ParamKind kind,
                    const TensorType *type, Init init, SrcLoc loc) {
  if (!owner) owner = g->root;
  Arena *a = g->arena;
  Param *p = arena_alloc(a, sizeof *p);
  if (!p) return NULL;
  p->name = arena_strdup(a, name);
  p->qualname = owner == g->root ? p->name : arena_join(a, owner->path, '.', name);
  if (!p->name || !p->qualname) return NULL;
  if (strmap_get(&g->param_names, p->qualname)) return NULL;
  p->owner = owner;
  p->kind = kind;
  p->type = *type;
  for (int i = 0; i < p->type.rank; i++)
    if (p->type.dims[i].sym && !(p->type.dims[i].sym = arena_strdup(a, p->type.dims[i].sym))) return NULL;
  p->init = init;
  p->loc = loc;
  if (!grow_array(a, (void **)&g->params, g->nparams, sizeof(Param *)) ||
      !grow_array(a, (void **)&owner->params, owner->nparams, sizeof(Param *)) ||
      strmap_put(&g->param_names, p->qualname, p))
    return NULL;
  g->params[g->nparams++] = p;
  owner->params[owner->nparams++] = p;
  return p;
}

Param *ir_graph_find_param(const Graph *g, const char *qualname) {
  return strmap_get(&g->param_names, qualname);
}
