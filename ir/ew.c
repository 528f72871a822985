/* ew.c — the elementwise formulas of ew.def: parsed once into straight-line programs over
 * primitives, looked up by op and bound arguments, and evaluated in double.
 *
 * A program is a list of steps, each a primitive applied to operands that are the inputs
 * (x, y, g), constants, the op's parameters or earlier steps; its value is its last step's.
 * The macros (sigmoid, tanh) expand while parsing, so every reader sees primitives only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

typedef struct EwRow {
  MaseOp op;
  const char *variant;
  char saved;
  const char *fwd, *bwd;
} EwRow;

static const EwRow rows[] = {
#define EW(id, var, sv, f, b) {MOP_##id, var, sv, f, b},
#include "ew.def"
#undef EW
};
enum { NROWS = sizeof rows / sizeof rows[0] };

static EwDef defs[NROWS];
static bool parsed_ok[NROWS];

static const char *const prim_names[EWP_COUNT] = {"add", "sub", "mul", "div", "neg", "exp", "log",
                                                   "erf", "max", "min", "sel"};
static const int prim_arity[EWP_COUNT] = {2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 3};

/* The macros: a formula over `u`. */
static const struct {
  const char *name, *body;
} macros[] = {
    {"sigmoid", "(div 1 (add 1 (exp (neg u))))"},
    {"tanh", "(sub 1 (div 2 (add (exp (mul u 2)) 1)))"},
};

const char *ir_ew_prim_name(EwPrim p) {
  return (unsigned)p < EWP_COUNT ? prim_names[p] : "?";
}

int ir_ew_prim_arity(EwPrim p) {
  return (unsigned)p < EWP_COUNT ? prim_arity[p] : 0;
}

/* The parser's state: the text, the program being built and the op's signature. */
typedef struct EP {
  const char *s;
  EwProg *p;
  const Sig *sig;
  EwDef *def;
  bool has_u;
  EwOpd u; /* a macro's argument while its body is parsed */
} EP;

static void skip_ws(EP *e) {
  while (*e->s == ' ') e->s++;
}

/* atom := number | x | y | g | u | parameter name */
static bool parse_atom(EP *e, EwOpd *out) {
  const char *st = e->s;
  while (*e->s && *e->s != ' ' && *e->s != '(' && *e->s != ')') e->s++;
  size_t n = (size_t)(e->s - st);
  if (n == 0) return false;
  char *end;
  double v = strtod(st, &end);
  if (end == e->s) {
    *out = (EwOpd){.src = EWS_CONST, .c = v};
    return true;
  }
  if (n == 1 && (*st == 'x' || *st == 'y' || *st == 'g')) {
    *out = (EwOpd){.src = *st == 'x' ? EWS_X : *st == 'y' ? EWS_Y : EWS_G};
    return true;
  }
  if (n == 1 && *st == 'u' && e->has_u) {
    *out = e->u;
    return true;
  }
  for (int i = 1; i < e->sig->n; i++)
    if (strlen(e->sig->params[i].name) == n && memcmp(e->sig->params[i].name, st, n) == 0) {
      *out = (EwOpd){.src = EWS_PARAM, .i = i};
      return true;
    }
  return false;
}

static bool parse_expr(EP *e, EwOpd *out);

/* A macro's body with u bound to `arg`. */
static bool expand(EP *e, const char *body, EwOpd arg, EwOpd *out) {
  EP m = *e;
  m.s = body;
  m.has_u = true;
  m.u = arg;
  return parse_expr(&m, out);
}

/* expr := atom | '(' name expr... ')' */
static bool parse_expr(EP *e, EwOpd *out) {
  skip_ws(e);
  if (*e->s != '(') return parse_atom(e, out);
  e->s++;
  const char *st = e->s;
  while (*e->s && *e->s != ' ' && *e->s != ')') e->s++;
  size_t n = (size_t)(e->s - st);
  EwOpd a[3];
  int na = 0;
  for (skip_ws(e); *e->s && *e->s != ')'; skip_ws(e)) {
    if (na == 3 || !parse_expr(e, &a[na++])) return false;
  }
  if (*e->s != ')') return false;
  e->s++;
  for (size_t k = 0; k < sizeof macros / sizeof macros[0]; k++)
    if (strlen(macros[k].name) == n && memcmp(macros[k].name, st, n) == 0) return na == 1 && expand(e, macros[k].body, a[0], out);
  for (int k = 0; k < EWP_COUNT; k++) {
    if (strlen(prim_names[k]) != n || memcmp(prim_names[k], st, n) != 0) continue;
    if (na != prim_arity[k] || e->p->n == IR_EW_MAX_STEPS) return false;
    EwStep *s = &e->p->steps[e->p->n];
    *s = (EwStep){.prim = (EwPrim)k};
    for (int i = 0; i < na; i++) s->a[i] = a[i];
    *out = (EwOpd){.src = EWS_STEP, .i = e->p->n++};
    return true;
  }
  return false;
}

/* A formula into a program; its value becomes a step of its own when it is a bare operand
 * (max(x, x) is x), so every program ends in the step that holds its value. */
static bool parse_prog(const char *text, const Sig *sig, EwDef *def, EwProg *p) {
  EP e = {.s = text, .p = p, .sig = sig, .def = def};
  EwOpd r;
  p->n = 0;
  if (!parse_expr(&e, &r)) return false;
  skip_ws(&e);
  if (*e.s) return false;
  if (r.src != EWS_STEP) {
    if (p->n == IR_EW_MAX_STEPS) return false;
    p->steps[p->n++] = (EwStep){.prim = EWP_MAX, .a = {r, r}};
  }
  return true;
}

static void init_defs(void) {
  static bool done;
  if (done) return;
  for (int i = 0; i < NROWS; i++) {
    const OpInfo *oi = ir_op_info(rows[i].op);
    EwDef *d = &defs[i];
    *d = (EwDef){.op = rows[i].op, .saved_y = rows[i].saved == 'y'};
    const char *eq = strchr(rows[i].variant, '=');
    if (eq) {
      size_t n = (size_t)(eq - rows[i].variant);
      for (int k = 0; k < oi->sig.n; k++)
        if (strlen(oi->sig.params[k].name) == n && memcmp(oi->sig.params[k].name, rows[i].variant, n) == 0) d->variant_param = k;
      d->variant_value = eq + 1;
    }
    parsed_ok[i] = (!eq || d->variant_param > 0) && parse_prog(rows[i].fwd, &oi->sig, d, &d->fwd) &&
                   parse_prog(rows[i].bwd, &oi->sig, d, &d->bwd);
  }
  done = true;
}

bool ir_ew_check_table(const char **bad) {
  init_defs();
  for (int i = 0; i < NROWS; i++)
    if (!parsed_ok[i]) {
      *bad = rows[i].fwd;
      return false;
    }
  return true;
}

const EwDef *ir_ew_find(MaseOp op, const Value *bound) {
  init_defs();
  for (int i = 0; i < NROWS; i++) {
    const EwDef *d = &defs[i];
    if (d->op != op || !parsed_ok[i]) continue;
    if (!d->variant_value) return d;
    const Value *v = bound ? &bound[d->variant_param] : NULL;
    if (v && v->kind == VAL_STR && strcmp(v->u.s, d->variant_value) == 0) return d;
  }
  return NULL;
}

const EwDef *ir_ew_def(int i) {
  init_defs();
  return i >= 0 && i < NROWS && parsed_ok[i] ? &defs[i] : NULL;
}

bool ir_ew_has(MaseOp op) {
  init_defs();
  for (int i = 0; i < NROWS; i++)
    if (defs[i].op == op) return true;
  return false;
}

void ir_ew_params(const EwDef *d, const Value *bound, double *params) {
  const OpInfo *oi = ir_op_info(d->op);
  for (int i = 0; i < oi->sig.n && i < IR_EW_MAX_PARAMS; i++) {
    const Value *v = &bound[i];
    params[i] = v->kind == VAL_FLOAT ? v->u.f : v->kind == VAL_INT ? (double)v->u.i : v->kind == VAL_BOOL ? v->u.b : 0;
  }
}

/* torch.maximum / torch.minimum: NaN when either operand is NaN. */
static double nan_max(double a, double b) {
  return a != a ? a : b != b ? b : a > b ? a : b;
}
static double nan_min(double a, double b) {
  return a != a ? a : b != b ? b : a < b ? a : b;
}

double ir_ew_apply(EwPrim p, double a, double b, double c) {
  switch (p) {
  case EWP_ADD: return a + b;
  case EWP_SUB: return a - b;
  case EWP_MUL: return a * b;
  case EWP_DIV: return a / b;
  case EWP_NEG: return -a;
  case EWP_EXP: return exp(a);
  case EWP_LOG: return log(a);
  case EWP_ERF: return erf(a);
  case EWP_MAX: return nan_max(a, b);
  case EWP_MIN: return nan_min(a, b);
  case EWP_SEL: return a > 0 ? b : c;
  case EWP_COUNT: break;
  }
  return NAN;
}

static double opd_val(const EwOpd *o, const double *st, double x, double y, double g, const double *params) {
  switch (o->src) {
  case EWS_STEP: return st[o->i];
  case EWS_X: return x;
  case EWS_Y: return y;
  case EWS_G: return g;
  case EWS_CONST: return o->c;
  case EWS_PARAM: return params[o->i];
  }
  return NAN;
}

double ir_ew_eval(const EwProg *p, double x, double y, double g, const double *params) {
  double st[IR_EW_MAX_STEPS];
  for (int i = 0; i < p->n; i++) {
    const EwStep *s = &p->steps[i];
    double v[3] = {0, 0, 0};
    for (int k = 0; k < prim_arity[s->prim]; k++) v[k] = opd_val(&s->a[k], st, x, y, g, params);
    st[i] = ir_ew_apply(s->prim, v[0], v[1], v[2]);
  }
  return p->n ? st[p->n - 1] : NAN;
}
