/* lower.c — from the AST to torch.fx-style graphs.
 *
 * A model body runs top to bottom like a Python forward(): declarations fill the module and
 * parameter tables, expressions append nodes.  The node kinds and names are exactly what
 * torch.fx.symbolic_trace gives the equivalent nn.Module: applying a Sequential emits one
 * call_module per leaf child, reading a parameter emits one get_attr (on its first read,
 * as fx caches parameter proxies) and reading a buffer one per read, names come from
 * ir_node_new's fx naming.  Constant arithmetic is folded here (so Linear(16, 10**12)
 * reaches the module's size check), with overflow reported, not wrapped.
 *
 * Errors are reported and lowering goes on with the next statement, so one run shows every
 * independent problem; a name whose definition failed is "poisoned" so that its uses stay
 * quiet instead of cascading. */
#include <math.h>
#include <string.h>

#include "fe.h"

typedef enum SymKind {
  SYM_VALUE,  /* a tensor: an input or a local bound to a node */
  SYM_CONST,  /* a local bound to a constant (n = 16) */
  SYM_MODULE, /* a declared module */
  SYM_PARAM,  /* a model-level param or buffer */
  SYM_POISON, /* its definition failed: uses report nothing more */
} SymKind;

typedef struct Sym {
  SymKind kind;
  bool is_input; /* declared with `input` */
  SrcLoc loc;    /* the definition */
  Node *node;    /* SYM_VALUE */
  Value val;     /* SYM_CONST */
  Module *mod;   /* SYM_MODULE */
  Param *param;  /* SYM_PARAM */
} Sym;

/* The result of lowering an expression. */
typedef enum LvKind { LV_ERR, LV_TENSOR, LV_CONST, LV_MODULE } LvKind;
typedef struct LVal {
  LvKind kind;
  Node *node;  /* LV_TENSOR */
  Value val;   /* LV_CONST */
  Module *mod; /* LV_MODULE */
} LVal;

typedef struct Lower {
  Graph *g;
  Arena *a;         /* the AST's arena, for scratch */
  Diag *d;
  StrMap scope;     /* name -> Sym */
  StrMap attrs;     /* parameter qualname -> its get_attr node: fx reads a parameter once */
  bool in_dim;      /* lowering a dimension of a type: an unknown name may be symbolic */
  Status oom;       /* JS_ENOMEM once an allocation failed: stop */
  Node *last_input; /* placeholders stay first, in declaration order */
} Lower;

static const LVal lv_err = {LV_ERR, NULL, {0}, NULL};

static LVal oom(Lower *L) {
  L->oom = JS_ENOMEM;
  return lv_err;
}

static LVal lv_tensor(Node *n) {
  return (LVal){LV_TENSOR, n, {0}, NULL};
}

static LVal lv_const(Value v) {
  return (LVal){LV_CONST, NULL, v, NULL};
}

/* ---- names ---- */

static const char *const value_keywords[] = {"true", "false", "None", "True", "False"};

/* "did you mean" over every name in scope (a big model has thousands, and the right one
 * must not be cut off), then the given extra candidates.  Runs only on errors. */
static const char *closest(Lower *L, const char *word, int form, bool modules, bool keywords) {
  size_t cap = L->scope.cap + 64 + 64 + sizeof value_keywords / sizeof *value_keywords;
  const char **cands = arena_alloc(L->a, sizeof *cands * cap);
  if (!cands) {
    L->oom = JS_ENOMEM;
    return NULL;
  }
  int n = 0;
  for (size_t i = 0; i < L->scope.cap; i++)
    if (L->scope.keys[i]) cands[n++] = L->scope.keys[i];
  if (form) n += ir_op_names(form, cands + n, 64);
  if (modules) n += ir_module_names(cands + n, 64);
  if (keywords)
    for (size_t i = 0; i < sizeof value_keywords / sizeof *value_keywords; i++) cands[n++] = value_keywords[i];
  return diag_closest(word, cands, n);
}

static void did_you_mean(StrBuf *sb, const char *hint) {
  if (hint) sb_printf(sb, " (did you mean '%s'?)", hint);
}

static const char *sym_what(const Sym *s) {
  switch (s->kind) {
  case SYM_MODULE: return "a module";
  case SYM_PARAM: return s->param && s->param->kind == PK_BUFFER ? "a buffer" : "a parameter";
  case SYM_VALUE: return s->is_input ? "an input" : "a value";
  case SYM_CONST: return "a constant";
  default: return "a name";
  }
}

/* Declaring `name` when it may already be taken: inputs, modules and params must be
 * fresh; a local value may be rebound (like Python), but not over a module or parameter. */
static bool check_fresh(Lower *L, const char *name, SrcLoc loc, bool local) {
  Sym *old = strmap_get(&L->scope, name);
  if (!old) return true;
  if (local && (old->kind == SYM_VALUE || old->kind == SYM_CONST || old->kind == SYM_POISON)) return true;
  if (local)
    diag_error(L->d, loc, "cannot assign to '%s': it is %s", name, sym_what(old));
  else
    diag_error(L->d, loc, "redefinition of '%s'", name);
  diag_note(L->d, old->loc, "'%s' was first defined here as %s", name, sym_what(old));
  return false;
}

static Sym *bind(Lower *L, const char *name, SymKind kind, SrcLoc loc) {
  Sym *s = arena_alloc(L->a, sizeof *s);
  if (!s || strmap_put(&L->scope, name, s)) {
    L->oom = JS_ENOMEM;
    return NULL;
  }
  s->kind = kind;
  s->loc = loc;
  return s;
}

/* ---- constants ---- */

static bool is_number(const Value *v) {
  return v->kind == VAL_INT || v->kind == VAL_FLOAT;
}

static double as_double(const Value *v) {
  return v->kind == VAL_INT ? (double)v->u.i : v->u.f;
}

static const char *op_text(int op) {
  switch (op) {
  case '+': return "+";
  case '-': return "-";
  case '*': return "*";
  case '/': return "/";
  case '@': return "@";
  default: return "**";
  }
}

/* Integer power with overflow detection; a negative exponent gives a float (Python). */
static LVal int_pow(Lower *L, int64_t b, int64_t e, SrcLoc loc) {
  if (e < 0) {
    if (b == 0) return diag_error(L->d, loc, "0 cannot be raised to a negative power"), lv_err;
    return lv_const(val_float(pow((double)b, (double)e)));
  }
  int64_t r = 1;
  for (int64_t i = 0; i < e; i++) {
    if (__builtin_mul_overflow(r, b, &r))
      return diag_error(L->d, loc, "integer overflow in constant expression %lld ** %lld", (long long)b,
                        (long long)e),
             lv_err;
    if (r == 0 || r == 1) break; /* 0 and 1 stay put; -1 alternates but never overflows */
    if (r == -1 && b == -1) {
      r = (e - i - 1) % 2 ? 1 : -1;
      break;
    }
  }
  return lv_const(val_int(r));
}

static LVal fold_binary(Lower *L, int op, const Value *x, const Value *y, SrcLoc loc) {
  if (!is_number(x) || !is_number(y))
    return diag_error(L->d, loc, "unsupported operand types for '%s': %s and %s", op_text(op), val_kind_name(x),
                      val_kind_name(y)),
           lv_err;
  if (op == '@') return diag_error(L->d, loc, "'@' (matmul) needs tensor operands"), lv_err;
  if (x->kind == VAL_INT && y->kind == VAL_INT && op != '/') {
    int64_t a = x->u.i, b = y->u.i, r = 0;
    bool ovf = false;
    switch (op) {
    case '+': ovf = __builtin_add_overflow(a, b, &r); break;
    case '-': ovf = __builtin_sub_overflow(a, b, &r); break;
    case '*': ovf = __builtin_mul_overflow(a, b, &r); break;
    default: return int_pow(L, a, b, loc);
    }
    if (ovf)
      return diag_error(L->d, loc, "integer overflow in constant expression %lld %s %lld", (long long)a,
                        op_text(op), (long long)b),
             lv_err;
    return lv_const(val_int(r));
  }
  double a = as_double(x), b = as_double(y), r;
  switch (op) {
  case '+': r = a + b; break;
  case '-': r = a - b; break;
  case '*': r = a * b; break;
  case '/':
    if (b == 0) return diag_error(L->d, loc, "division by zero in constant expression"), lv_err;
    r = a / b;
    break;
  default: r = pow(a, b); break;
  }
  if (!isfinite(r)) return diag_error(L->d, loc, "constant expression overflows a float"), lv_err;
  return lv_const(val_float(r));
}

/* ---- nodes ---- */

/* A node named after `base` (NULL: after its target) with fx's numeric suffixes. */
static Node *new_node(Lower *L, NodeKind op, const char *target, const char *base, SrcLoc loc, int nargs,
                      const Value *args, int nkw, const char *const *kwnames, const Value *kwargs) {
  const char *name = base ? ir_graph_unique_name(L->g, base) : NULL;
  Node *n = base && !name ? NULL : ir_node_new(L->g, op, target, name, NULL, loc);
  if (!n || ir_node_set_args(n, nargs, args, nkw, kwnames, kwargs)) {
    L->oom = JS_ENOMEM;
    return NULL;
  }
  return n;
}

/* Reading a parameter or buffer.  fx's tracer caches the proxy of each nn.Parameter, so a
 * parameter gets one get_attr, at its first read; a buffer is a plain tensor to it and
 * gets a get_attr per use (b, b_1, ...). */
static LVal get_attr(Lower *L, Param *p, SrcLoc loc) {
  if (p->kind == PK_PARAM) {
    Node *n = strmap_get(&L->attrs, p->qualname);
    if (n) return lv_tensor(n);
  }
  Node *n = new_node(L, OP_GET_ATTR, p->qualname, NULL, loc, 0, NULL, 0, NULL, NULL);
  if (!n) return oom(L);
  if (p->kind == PK_PARAM && strmap_put(&L->attrs, p->qualname, n)) return oom(L);
  return lv_tensor(n);
}

/* A value as a node argument: tensors by reference, constants as literals. */
static bool as_arg(Lower *L, LVal v, SrcLoc loc, Value *out) {
  switch (v.kind) {
  case LV_TENSOR: *out = val_node(v.node); return true;
  case LV_CONST: *out = v.val; return true;
  case LV_MODULE:
    diag_error(L->d, loc, "module '%s' used as a value (call it on a tensor: %s(x))", v.mod->path, v.mod->path);
    return false;
  default: return false;
  }
}

/* A call of op `what` (as messages name it), checked against its signature; `base` is the
 * node's name before fx's suffixes when it is not the op's name. */
static LVal call_op(Lower *L, const OpInfo *op, NodeKind kind, const char *what, const char *base, int nargs,
                    const Value *args, int nkw, const char *const *kwnames, const Value *kwargs, SrcLoc loc) {
  Value bound[12];
  Status st = ir_sig_bind(&op->sig, what, nargs, args, nkw, kwnames, kwargs, L->a, bound, L->d, loc);
  if (st == JS_ENOMEM) return oom(L);
  if (st) return lv_err;
  Node *n = new_node(L, kind, op->name, base, loc, nargs, args, nkw, kwnames, kwargs);
  return n ? lv_tensor(n) : lv_err;
}

/* Applies a module to one tensor: a leaf gives one call_module; a Sequential applies its
 * children in order (fx traces through containers). */
static LVal apply_module(Lower *L, Module *m, LVal in, SrcLoc loc) {
  if (m->type != MT_SEQUENTIAL) {
    Value arg = val_node(in.node);
    Node *n = new_node(L, OP_CALL_MODULE, m->path, NULL, loc, 1, &arg, 0, NULL, NULL);
    return n ? lv_tensor(n) : lv_err;
  }
  for (int i = 0; i < m->nchildren && in.kind == LV_TENSOR; i++) in = apply_module(L, m->children[i], in, loc);
  return in;
}

/* ---- expressions ---- */

static LVal expr(Lower *L, const FeExpr *e);

static LVal name_value(Lower *L, const FeExpr *e) {
  Sym *s = strmap_get(&L->scope, e->name);
  if (s) {
    switch (s->kind) {
    case SYM_VALUE: return lv_tensor(s->node);
    case SYM_CONST: return lv_const(s->val);
    case SYM_MODULE: return (LVal){LV_MODULE, NULL, {0}, s->mod};
    case SYM_PARAM: return get_attr(L, s->param, e->loc);
    default: return lv_err;
    }
  }
  if (ir_module_lookup(e->name) != MT_NONE)
    return diag_error(L->d, e->loc, "module class '%s' used as a value (declare it: name = %s(...))", e->name,
                      e->name),
           lv_err;
  if (ir_op_lookup_form(e->name, FORM_FN) != MOP_NONE)
    return diag_error(L->d, e->loc, "function '%s' used as a value (call it: %s(x))", e->name, e->name), lv_err;
  if (L->in_dim)
    return diag_error(L->d, e->loc,
                      "symbolic dimension '%s' cannot be computed with (a dimension is a bare name or an "
                      "integer constant expression)",
                      e->name),
           lv_err;
  StrBuf sb;
  sb_init(&sb);
  did_you_mean(&sb, closest(L, e->name, 0, false, true));
  diag_error(L->d, e->loc, "undefined name '%s'%s", e->name, sb_str(&sb));
  sb_free(&sb);
  return lv_err;
}

/* base.name where base is a module: a child module or one of its parameters. */
static LVal module_attr(Lower *L, Module *m, const char *name, SrcLoc loc) {
  for (int i = 0; i < m->nchildren; i++)
    if (strcmp(m->children[i]->name, name) == 0) return (LVal){LV_MODULE, NULL, {0}, m->children[i]};
  for (int i = 0; i < m->nparams; i++)
    if (strcmp(m->params[i]->name, name) == 0) return get_attr(L, m->params[i], loc);
  const char *cands[64];
  int n = 0;
  for (int i = 0; i < m->nchildren && n < 32; i++) cands[n++] = m->children[i]->name;
  for (int i = 0; i < m->nparams && n < 64; i++) cands[n++] = m->params[i]->name;
  StrBuf sb;
  sb_init(&sb);
  did_you_mean(&sb, diag_closest(name, cands, n));
  diag_error(L->d, loc, "module '%s' (%s) has no submodule or parameter '%s'%s", m->path,
             ir_module_info(m->type)->cls, name, sb_str(&sb));
  sb_free(&sb);
  return lv_err;
}

static LVal attr(Lower *L, const FeExpr *e) {
  LVal base = expr(L, e->lhs);
  switch (base.kind) {
  case LV_MODULE: return module_attr(L, base.mod, e->name, e->loc);
  case LV_TENSOR:
    if (ir_op_lookup_form(e->name, FORM_METHOD) != MOP_NONE)
      return diag_error(L->d, e->loc, "tensor method '%s' must be called: x.%s(...)", e->name, e->name), lv_err;
    return diag_error(L->d, e->loc, "tensors have no attribute '%s'", e->name), lv_err;
  case LV_CONST:
    return diag_error(L->d, e->loc, "a constant (%s) has no attribute '%s'", val_kind_name(&base.val), e->name),
           lv_err;
  default: return lv_err;
  }
}

static LVal binary(Lower *L, const FeExpr *e) {
  LVal x = expr(L, e->lhs);
  if (x.kind == LV_ERR) return x;
  LVal y = expr(L, e->rhs);
  if (y.kind == LV_ERR) return y;
  if (x.kind == LV_MODULE || y.kind == LV_MODULE) {
    Module *m = x.kind == LV_MODULE ? x.mod : y.mod;
    return diag_error(L->d, e->loc, "module '%s' used as a value (call it on a tensor: %s(x))", m->path, m->path),
           lv_err;
  }
  if (x.kind == LV_CONST && y.kind == LV_CONST) return fold_binary(L, e->op, &x.val, &y.val, e->loc);
  /* at least one tensor: the operator becomes its function, as fx records operator.add */
  MaseOp mop;
  switch (e->op) {
  case '+': mop = MOP_ADD; break;
  case '-': mop = MOP_SUB; break;
  case '*': mop = MOP_MUL; break;
  case '/': mop = MOP_DIV; break;
  case '@': mop = MOP_MATMUL; break;
  default:
    return diag_error(L->d, e->loc, "'**' works on constants only (there is no tensor power operator)"), lv_err;
  }
  Value args[2];
  if (!as_arg(L, x, e->lhs->loc, &args[0]) || !as_arg(L, y, e->rhs->loc, &args[1])) return lv_err;
  const OpInfo *op = ir_op_info(mop);
  /* fx records a / b as operator.truediv, so the node is named truediv, truediv_1, ... */
  return call_op(L, op, OP_CALL_FUNCTION, op->name, e->op == '/' ? "truediv" : NULL, 2, args, 0, NULL, NULL,
                 e->loc);
}

static LVal unary(Lower *L, const FeExpr *e) {
  LVal x = expr(L, e->lhs);
  switch (x.kind) {
  case LV_CONST:
    if (!is_number(&x.val))
      return diag_error(L->d, e->loc, "bad operand type for unary '%c': %s", e->op, val_kind_name(&x.val)), lv_err;
    if (e->op == '+') return x;
    if (x.val.kind == VAL_FLOAT) return lv_const(val_float(-x.val.u.f));
    if (x.val.u.i == INT64_MIN) return diag_error(L->d, e->loc, "integer overflow in constant expression"), lv_err;
    return lv_const(val_int(-x.val.u.i));
  case LV_TENSOR: {
    if (e->op == '+') return x;
    Value arg = val_node(x.node);
    return call_op(L, ir_op_info(MOP_NEG), OP_CALL_FUNCTION, "neg", NULL, 1, &arg, 0, NULL, NULL, e->loc);
  }
  case LV_MODULE:
    return diag_error(L->d, e->loc, "module '%s' used as a value (call it on a tensor: %s(x))", x.mod->path,
                      x.mod->path),
           lv_err;
  default: return lv_err;
  }
}

/* Lowers a call's arguments: positional into args, keywords into names/kwargs (scratch
 * arrays in the AST arena).  `extra` slots are left free at the front of args. */
static bool call_args(Lower *L, const FeExpr *e, int extra, Value **args, int *nargs, const char ***names,
                      Value **kwargs, int *nkw) {
  int n = e->args.n;
  *args = arena_alloc(L->a, sizeof(Value) * (size_t)(n + extra + 1));
  *kwargs = arena_alloc(L->a, sizeof(Value) * (size_t)(n + 1));
  *names = arena_alloc(L->a, sizeof(char *) * (size_t)(n + 1));
  if (!*args || !*kwargs || !*names) {
    L->oom = JS_ENOMEM;
    return false;
  }
  *nargs = extra;
  *nkw = 0;
  bool ok = true;
  for (int i = 0; i < n; i++) {
    const FeArg *a = e->args.items[i];
    if (!a->name && *nkw) {
      diag_error(L->d, a->loc, "positional argument follows keyword argument");
      return false;
    }
    LVal v = expr(L, a->value);
    Value val;
    if (v.kind == LV_ERR || !as_arg(L, v, a->value->loc, &val)) {
      ok = false;
      continue;
    }
    if (a->name) {
      (*names)[*nkw] = a->name;
      (*kwargs)[(*nkw)++] = val;
    } else {
      (*args)[(*nargs)++] = val;
    }
  }
  return ok && !L->oom;
}

static LVal call_module(Lower *L, const FeExpr *e, Module *m) {
  Value *args, *kwargs;
  const char **names;
  int nargs, nkw;
  if (!call_args(L, e, 0, &args, &nargs, &names, &kwargs, &nkw)) return lv_err;
  const char *cls = ir_module_info(m->type)->cls;
  if (nkw != 0)
    return diag_error(L->d, e->loc,
                      "module '%s' (%s) takes its tensor as a positional argument: %s(x), not %s(%s=x)", m->path,
                      cls, m->path, m->path, names[0]),
           lv_err;
  if (nargs != 1)
    return diag_error(L->d, e->loc, "module '%s' (%s) takes one tensor argument, got %d", m->path, cls, nargs + nkw),
           lv_err;
  if (args[0].kind != VAL_NODE)
    return diag_error(L->d, e->loc, "module '%s' (%s) must be applied to a tensor, got %s", m->path, cls,
                      val_kind_name(&args[0])),
           lv_err;
  return apply_module(L, m, lv_tensor(args[0].u.node), e->loc);
}

static LVal call_function(Lower *L, const FeExpr *e, const char *name) {
  MaseOp mop = ir_op_lookup_form(name, FORM_FN);
  if (mop == MOP_NONE) {
    if (ir_module_lookup(name) != MT_NONE)
      return diag_error(L->d, e->loc, "module %s(...) must be declared before use: write 'name = %s(...)', then 'name(x)'",
                        name, name),
             lv_err;
    if (ir_op_lookup_form(name, FORM_METHOD) != MOP_NONE)
      return diag_error(L->d, e->loc, "'%s' is a tensor method, not a function: write x.%s(...)", name, name),
             lv_err;
    bool cls = name[0] >= 'A' && name[0] <= 'Z';
    StrBuf sb;
    sb_init(&sb);
    const char *hint = cls ? closest(L, name, 0, true, false) : NULL; /* Relu(): ReLU, not relu */
    did_you_mean(&sb, hint ? hint : closest(L, name, FORM_FN, true, false));
    diag_error(L->d, e->loc, "unknown %s '%s'%s", cls ? "module" : "function", name, sb_str(&sb));
    sb_free(&sb);
    return lv_err;
  }
  Value *args, *kwargs;
  const char **names;
  int nargs, nkw;
  if (!call_args(L, e, 0, &args, &nargs, &names, &kwargs, &nkw)) return lv_err;
  return call_op(L, ir_op_info(mop), OP_CALL_FUNCTION, name, NULL, nargs, args, nkw, names, kwargs, e->loc);
}

static LVal call_method(Lower *L, const FeExpr *e, LVal self) {
  const char *name = e->lhs->name;
  SrcLoc loc = e->lhs->loc; /* the method's name */
  MaseOp mop = ir_op_lookup_form(name, FORM_METHOD);
  if (mop == MOP_NONE) {
    if (ir_op_lookup_form(name, FORM_FN) != MOP_NONE)
      return diag_error(L->d, loc, "'%s' is a function, not a tensor method: write %s(x, ...)", name, name), lv_err;
    const char *cands[64];
    int n = ir_op_names(FORM_METHOD, cands, 64);
    StrBuf sb;
    sb_init(&sb);
    did_you_mean(&sb, diag_closest(name, cands, n));
    diag_error(L->d, loc, "unknown tensor method '%s'%s", name, sb_str(&sb));
    sb_free(&sb);
    return lv_err;
  }
  Value *args, *kwargs;
  const char **names;
  int nargs, nkw;
  if (!call_args(L, e, 1, &args, &nargs, &names, &kwargs, &nkw)) return lv_err;
  args[0] = val_node(self.node);
  char what[80];
  snprintf(what, sizeof what, "Tensor.%s", name);
  return call_op(L, ir_op_info(mop), OP_CALL_METHOD, what, NULL, nargs, args, nkw, names, kwargs, loc);
}

static LVal not_callable(Lower *L, LVal v, const FeExpr *callee) {
  if (v.kind == LV_TENSOR) {
    if (callee->kind == FE_NAME)
      diag_error(L->d, callee->loc, "'%s' is a tensor, not a module or function", callee->name);
    else
      diag_error(L->d, callee->loc, "a tensor is not callable");
  } else if (v.kind == LV_CONST) {
    diag_error(L->d, callee->loc, "a constant (%s) is not callable", val_kind_name(&v.val));
  }
  return lv_err;
}

static LVal call(Lower *L, const FeExpr *e) {
  const FeExpr *callee = e->lhs;
  if (callee->kind == FE_NAME) {
    Sym *s = strmap_get(&L->scope, callee->name);
    if (!s) return call_function(L, e, callee->name);
    if (s->kind == SYM_MODULE) return call_module(L, e, s->mod);
    if (s->kind == SYM_POISON) return lv_err;
    if (s->kind == SYM_PARAM)
      return diag_error(L->d, callee->loc, "'%s' is %s, not a module or function", callee->name, sym_what(s)),
             lv_err;
    return not_callable(L, name_value(L, callee), callee);
  }
  if (callee->kind == FE_ATTR) {
    LVal base = expr(L, callee->lhs);
    if (base.kind == LV_TENSOR) return call_method(L, e, base);
    if (base.kind == LV_MODULE) {
      LVal m = module_attr(L, base.mod, callee->name, callee->loc);
      if (m.kind == LV_MODULE) return call_module(L, e, m.mod);
      return not_callable(L, m, callee);
    }
    if (base.kind == LV_CONST)
      return diag_error(L->d, callee->loc, "a constant (%s) has no method '%s'", val_kind_name(&base.val), callee->name),
             lv_err;
    return lv_err;
  }
  LVal v = expr(L, callee);
  if (v.kind == LV_MODULE) return call_module(L, e, v.mod);
  return not_callable(L, v, callee);
}

static LVal expr(Lower *L, const FeExpr *e) {
  if (L->oom) return lv_err;
  switch (e->kind) {
  case FE_NAME: return name_value(L, e);
  case FE_INT: return lv_const(val_int(e->i));
  case FE_FLOAT: return lv_const(val_float(e->f));
  case FE_STR: return lv_const(val_str(e->s));
  case FE_BOOL: return lv_const(val_bool(e->b));
  case FE_NONE: return lv_const(val_none());
  case FE_BINARY: return binary(L, e);
  case FE_UNARY: return unary(L, e);
  case FE_CALL: return call(L, e);
  case FE_ATTR: return attr(L, e);
  }
  return lv_err;
}

/* ---- declarations ---- */

/* Is e a module constructor, Class(...), with Class not shadowed by a local name? */
static ModuleType ctor_class(Lower *L, const FeExpr *e) {
  if (e->kind != FE_CALL || e->lhs->kind != FE_NAME || strmap_get(&L->scope, e->lhs->name)) return MT_NONE;
  return ir_module_lookup(e->lhs->name);
}

/* Creates module `name` under `parent` from the constructor call e (a Sequential's
 * arguments become its children "0", "1", ...), binding and checking its arguments. */
static Module *declare_module(Lower *L, Module *parent, const char *name, const FeExpr *e) {
  ModuleType t = ctor_class(L, e);
  SrcLoc loc = e->lhs->loc;
  Module *m = ir_module_new(L->g, parent, name, t, loc);
  if (!m) {
    L->oom = JS_ENOMEM;
    return NULL;
  }
  if (t == MT_SEQUENTIAL) {
    Value *names = arena_alloc(L->a, sizeof(Value) * (size_t)(e->args.n + 1));
    if (!names) {
      L->oom = JS_ENOMEM;
      return NULL;
    }
    bool ok = true;
    for (int i = 0; i < e->args.n; i++) {
      const FeArg *a = e->args.items[i];
      if (a->name) {
        diag_error(L->d, a->loc, "Sequential() takes no keyword arguments");
        ok = false;
        continue;
      }
      const FeExpr *v = a->value;
      if (ctor_class(L, v) == MT_NONE && v->kind == FE_CALL && v->lhs->kind == FE_NAME &&
          !strmap_get(&L->scope, v->lhs->name) && ir_op_lookup_form(v->lhs->name, FORM_FN) == MOP_NONE) {
        StrBuf sb; /* Linera(16, 8): a module class misspelt */
        sb_init(&sb);
        did_you_mean(&sb, closest(L, v->lhs->name, 0, true, false));
        diag_error(L->d, v->lhs->loc, "unknown module '%s'%s", v->lhs->name, sb_str(&sb));
        sb_free(&sb);
        ok = false;
        continue;
      } else if (ctor_class(L, a->value) == MT_NONE) {
        diag_error(L->d, a->value->loc,
                   "Sequential() arguments must be module constructors such as Linear(16, 5)");
        ok = false;
        continue;
      }
      char idx[16];
      snprintf(idx, sizeof idx, "%d", m->nchildren);
      Module *c = declare_module(L, m, idx, a->value);
      if (!c) {
        if (L->oom) return NULL;
        ok = false;
        continue;
      }
      names[i] = val_str(c->name);
    }
    if (!ok) return NULL;
    Status st = ir_module_configure(L->g, m, e->args.n, names, 0, NULL, NULL, L->d, loc);
    if (st == JS_ENOMEM) L->oom = JS_ENOMEM;
    return st ? NULL : m;
  }
  /* constructor arguments are constants (folded), never tensors */
  Value *args, *kwargs;
  const char **kwnames;
  int nargs, nkw;
  for (int i = 0; i < e->args.n; i++) {
    const FeArg *a = e->args.items[i];
    if (ctor_class(L, a->value) != MT_NONE) {
      diag_error(L->d, a->value->loc, "%s() does not take a module argument", ir_module_info(t)->cls);
      return NULL;
    }
  }
  if (!call_args(L, e, 0, &args, &nargs, &kwnames, &kwargs, &nkw)) return NULL;
  for (int i = 0; i < nargs + nkw; i++) {
    const Value *v = i < nargs ? &args[i] : &kwargs[i - nargs];
    if (v->kind == VAL_NODE) {
      diag_error(L->d, loc, "%s() arguments must be constants, not tensors", ir_module_info(t)->cls);
      return NULL;
    }
  }
  Status st = ir_module_configure(L->g, m, nargs, args, nkw, kwnames, kwargs, L->d, loc);
  if (st == JS_ENOMEM) L->oom = JS_ENOMEM;
  return st ? NULL : m;
}

/* A constant integer in [lo, hi], from a folded expression. */
static bool const_int(Lower *L, const FeExpr *e, int64_t lo, int64_t hi, const char *what, int64_t *out) {
  LVal v = expr(L, e);
  if (v.kind == LV_ERR) return false;
  if (v.kind != LV_CONST || v.val.kind != VAL_INT) {
    diag_error(L->d, e->loc, "%s must be an integer constant", what);
    return false;
  }
  if (v.val.u.i < lo || v.val.u.i > hi) {
    diag_error(L->d, e->loc, "%s %lld is out of range (%lld to %lld)", what, (long long)v.val.u.i, (long long)lo,
               (long long)hi);
    return false;
  }
  *out = v.val.u.i;
  return true;
}

/* f32[B, 16]: a bare name that is not a constant in scope is a symbolic dimension. */
static bool lower_type(Lower *L, const FeType *ft, bool known, const char *who, TensorType *t) {
  memset(t, 0, sizeof *t);
  if (!ir_dtype_parse(ft->dtype, &t->dtype)) {
    const char *cands[DT_COUNT];
    for (int i = 0; i < DT_COUNT; i++) cands[i] = ir_dtype_name((DType)i);
    StrBuf sb;
    sb_init(&sb);
    did_you_mean(&sb, diag_closest(ft->dtype, cands, DT_COUNT));
    diag_error(L->d, ft->loc, "unknown dtype '%s'%s", ft->dtype, sb_str(&sb));
    sb_free(&sb);
    return false;
  }
  if (ft->dims.n > IR_MAX_RANK) {
    diag_error(L->d, ft->loc, "too many dimensions (%d; the limit is %d)", ft->dims.n, IR_MAX_RANK);
    return false;
  }
  t->rank = ft->dims.n;
  for (int i = 0; i < ft->dims.n; i++) {
    const FeExpr *de = ft->dims.items[i];
    Sym *s = de->kind == FE_NAME ? strmap_get(&L->scope, de->name) : NULL;
    if (s && s->kind != SYM_CONST && s->kind != SYM_POISON) {
      /* f32[x] with x a tensor or module is a slip, not a symbolic dimension */
      diag_error(L->d, de->loc, "'%s' is %s, not a dimension (a dimension is a symbolic name such as B, or an "
                 "integer constant)", de->name, sym_what(s));
      return false;
    }
    if (s && s->kind == SYM_POISON) return false;
    if (de->kind == FE_NAME && !s) {
      if (known) {
        diag_error(L->d, de->loc, "%s needs a known shape, but '%s' is symbolic", who, de->name);
        return false;
      }
      t->dims[i].size = -1;
      if (!(t->dims[i].sym = ir_intern(L->g, de->name))) {
        L->oom = JS_ENOMEM;
        return false;
      }
      continue;
    }
    L->in_dim = true;
    bool ok = const_int(L, de, 0, IR_MAX_DIM, "a dimension", &t->dims[i].size);
    L->in_dim = false;
    if (!ok) return false;
  }
  if (known && ir_type_numel(t) > IR_MAX_NUMEL) {
    diag_error(L->d, ft->loc, "%s has more than %lld elements; refusing to allocate it", who,
               (long long)IR_MAX_NUMEL);
    return false;
  }
  return true;
}

static void input(Lower *L, const FeStmt *s) {
  if (!check_fresh(L, s->name, s->name_loc, false)) return;
  Sym *sym = bind(L, s->name, SYM_POISON, s->name_loc);
  if (!sym) return;
  sym->is_input = true;
  TensorType t;
  if (!lower_type(L, s->type, false, "an input", &t)) return;
  Node *before = L->last_input ? L->last_input->next : L->g->first;
  Node *n = ir_node_new(L->g, OP_PLACEHOLDER, s->name, NULL, before, s->name_loc);
  if (!n) {
    L->oom = JS_ENOMEM;
    return;
  }
  n->has_type = true;
  n->type = t;
  L->last_input = n;
  sym->kind = SYM_VALUE;
  sym->node = n;
}

/* The initialiser of a param or buffer: NAME or NAME(number, ...) from inits.def. */
static bool lower_init(Lower *L, const FeExpr *e, Init *init) {
  memset(init, 0, sizeof *init);
  if (!e) return true; /* zeros */
  const FeExpr *fn = e->kind == FE_CALL ? e->lhs : e;
  if (fn->kind != FE_NAME) {
    diag_error(L->d, e->loc, "an initialiser is a name such as zeros, or a call such as uniform(-0.1, 0.1)");
    return false;
  }
  if (!ir_init_parse(fn->name, &init->kind)) {
    const char *cands[INIT_COUNT];
    for (int i = 0; i < INIT_COUNT; i++) cands[i] = ir_init_name((InitKind)i);
    StrBuf sb;
    sb_init(&sb);
    did_you_mean(&sb, diag_closest(fn->name, cands, INIT_COUNT));
    diag_error(L->d, fn->loc, "unknown initialiser '%s'%s", fn->name, sb_str(&sb));
    sb_free(&sb);
    return false;
  }
  int want = ir_init_nargs(init->kind), got = e->kind == FE_CALL ? e->args.n : 0;
  if (want != got) {
    diag_error(L->d, fn->loc, "initialiser '%s' takes %d argument%s, got %d", fn->name, want, want == 1 ? "" : "s",
               got);
    return false;
  }
  for (int i = 0; i < got; i++) {
    const FeArg *a = e->args.items[i];
    if (a->name) {
      diag_error(L->d, a->loc, "initialiser arguments are positional");
      return false;
    }
    LVal v = expr(L, a->value);
    if (v.kind == LV_ERR) return false;
    if (v.kind != LV_CONST || !is_number(&v.val)) {
      diag_error(L->d, a->value->loc, "initialiser arguments must be numbers");
      return false;
    }
    init->args[i] = as_double(&v.val);
  }
  return true;
}

static void param(Lower *L, const FeStmt *s) {
  ParamKind kind = s->kind == FE_S_PARAM ? PK_PARAM : PK_BUFFER;
  if (!check_fresh(L, s->name, s->name_loc, false)) return;
  Sym *sym = bind(L, s->name, SYM_POISON, s->name_loc);
  if (!sym) return;
  TensorType t;
  Init init;
  char who[300];
  snprintf(who, sizeof who, "%s '%s'", kind == PK_PARAM ? "parameter" : "buffer", s->name);
  if (!lower_type(L, s->type, true, who, &t) || !lower_init(L, s->value, &init)) return;
  Param *p = ir_param_new(L->g, NULL, s->name, kind, &t, init, s->name_loc);
  if (!p) {
    L->oom = JS_ENOMEM;
    return;
  }
  sym->kind = SYM_PARAM;
  sym->param = p;
}

static void assign(Lower *L, const FeStmt *s) {
  bool ctor = ctor_class(L, s->value) != MT_NONE;
  if (!check_fresh(L, s->name, s->name_loc, !ctor)) return;
  Sym *old = strmap_get(&L->scope, s->name);
  if (ctor) {
    Sym *sym = bind(L, s->name, SYM_POISON, s->name_loc);
    if (!sym) return;
    Module *m = declare_module(L, NULL, s->name, s->value);
    if (!m) return;
    sym->kind = SYM_MODULE;
    sym->mod = m;
    return;
  }
  LVal v = expr(L, s->value);
  bool input = old && old->is_input;
  Sym *sym = old ? old : bind(L, s->name, SYM_POISON, s->name_loc);
  if (!sym) return;
  sym->is_input = input;
  sym->kind = SYM_POISON;
  if (v.kind == LV_MODULE) {
    diag_error(L->d, s->value->loc, "module '%s' used as a value (call it on a tensor: %s(x))", v.mod->path,
               v.mod->path);
    return;
  }
  if (v.kind == LV_TENSOR) {
    sym->kind = SYM_VALUE;
    sym->node = v.node;
  } else if (v.kind == LV_CONST) {
    sym->kind = SYM_CONST;
    sym->val = v.val;
  }
}

static bool ret(Lower *L, const FeStmt *s) {
  Value *vals = arena_alloc(L->a, sizeof(Value) * (size_t)(s->values.n + 1));
  if (!vals) {
    L->oom = JS_ENOMEM;
    return false;
  }
  bool ok = true;
  for (int i = 0; i < s->values.n; i++) {
    const FeExpr *e = s->values.items[i];
    LVal v = expr(L, e);
    if (v.kind == LV_TENSOR) {
      vals[i] = val_node(v.node);
      continue;
    }
    ok = false;
    if (v.kind == LV_MODULE)
      diag_error(L->d, e->loc, "module '%s' used as a value (call it on a tensor: %s(x))", v.mod->path, v.mod->path);
    else if (v.kind == LV_CONST)
      diag_error(L->d, e->loc, "a model returns tensors, not a constant (%s)", val_kind_name(&v.val));
  }
  if (!ok) return false;
  /* fx: output's args are (value,), a tuple of values when several are returned */
  Value out = s->values.n == 1 ? vals[0] : (Value){.kind = VAL_TUPLE, .u.seq = {s->values.n, vals}};
  return new_node(L, OP_OUTPUT, "output", NULL, s->loc, 1, &out, 0, NULL, NULL) != NULL;
}

static Graph *lower_model(const FeModel *fm, Arena *a, Diag *d, Status *st) {
  int errs = d->nerrors;
  Lower L = {.a = a, .d = d};
  strmap_init(&L.scope);
  strmap_init(&L.attrs);
  if (!(L.g = ir_graph_new(fm->name))) {
    *st = JS_ENOMEM;
    return NULL;
  }
  L.g->loc = fm->loc;
  L.g->root->loc = fm->loc;
  bool returned = false, unreachable = false;
  for (int i = 0; i < fm->stmts.n && !L.oom; i++) {
    const FeStmt *s = fm->stmts.items[i];
    if (returned) {
      if (!unreachable) diag_error(d, s->loc, "statement after 'return' (a model returns once, at its end)");
      unreachable = true;
      continue;
    }
    switch (s->kind) {
    case FE_S_INPUT: input(&L, s); break;
    case FE_S_PARAM:
    case FE_S_BUFFER: param(&L, s); break;
    case FE_S_ASSIGN: assign(&L, s); break;
    case FE_S_EXPR: expr(&L, s->value); break;
    case FE_S_RETURN:
      ret(&L, s);
      returned = true;
      break;
    }
    if (diag_too_many(d)) break;
  }
  if (!L.oom && !returned && !diag_too_many(d))
    diag_error(d, fm->end, "model '%s' has no 'return' statement", fm->name);
  strmap_free(&L.scope);
  strmap_free(&L.attrs);
  if (L.oom || d->nerrors > errs) {
    ir_graph_free(L.g);
    *st = L.oom ? JS_ENOMEM : JS_ERR;
    return NULL;
  }
  ir_graph_renumber(L.g);
  *st = JS_OK;
  return L.g;
}

Status fe_lower(const FeFile *f, Arena *a, Diag *d, Program **out) {
  *out = NULL;
  Program *prog = ir_program_new();
  if (!prog) return diag_oom(d);
  Status result = JS_OK;
  for (int i = 0; i < f->models.n; i++) {
    const FeModel *fm = f->models.items[i];
    for (int j = 0; j < i; j++) {
      const FeModel *prev = f->models.items[j];
      if (strcmp(prev->name, fm->name) == 0) {
        diag_error(d, fm->loc, "redefinition of model '%s'", fm->name);
        diag_note(d, prev->loc, "model '%s' was first defined here", fm->name);
        result = JS_ERR;
        break;
      }
    }
    Status st;
    Graph *g = lower_model(fm, a, d, &st);
    if (st == JS_ENOMEM) {
      result = JS_ENOMEM;
      break;
    }
    if (!g) {
      result = JS_ERR;
    } else if (ir_program_add(prog, g)) {
      ir_graph_free(g);
      result = JS_ENOMEM;
      break;
    }
    if (diag_too_many(d)) break;
  }
  if (result) {
    ir_program_free(prog);
    return result == JS_ENOMEM ? diag_oom(d) : JS_ERR;
  }
  *out = prog;
  return JS_OK;
}
