/* sig.c — call signatures: the parameter lists in ops.def and modules.def, and binding a
 * call's positional and keyword arguments to them (Python's rules, with type checks).
 *
 * signature := "" | param ("," param)*
 * param     := ["*"] name ":" type ["?"] ["=" default]
 * default   := None | true | false | integer | float | 'string'
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static const char *const type_names[] = {"tensor", "int", "float", "number", "bool",
                                         "str", "any", "module", "tensor_or_number"};

const char *ir_sig_type_name(SigType t) {
  return type_names[t];
}

static const char *skip_ws(const char *p) {
  while (*p == ' ') p++;
  return p;
}

/* Copies [p, p+n) into a static string pool; signatures are parsed once per process per table
 * entry and live as long as the tables. */
static const char *intern_const(const char *p, size_t n) {
  static char pool[8192];
  static size_t used;
  for (size_t i = 0; i + n < used; i += strlen(pool + i) + 1)
    if (strncmp(pool + i, p, n) == 0 && pool[i + n] == 0) return pool + i;
  if (used + n + 1 > sizeof pool) return NULL;
  char *s = pool + used;
  memcpy(s, p, n);
  s[n] = 0;
  used += n + 1;
  return s;
}

bool ir_sig_parse(const char *text, Sig *out) {
  memset(out, 0, sizeof *out);
  const char *p = skip_ws(text);
  while (*p) {
    if (out->n == (int)(sizeof out->params / sizeof out->params[0])) return false;
    SigParam *sp = &out->params[out->n++];
    if (*p == '*') {
      sp->varargs = true;
      p++;
    }
    const char *name = p;
    while (isalnum((unsigned char)*p) || *p == '_') p++;
    if (p == name || *p != ':') return false;
    if (!(sp->name = intern_const(name, (size_t)(p - name)))) return false;
    const char *ty = ++p;
    while (isalnum((unsigned char)*p) || *p == '_') p++;
    int t;
    for (t = 0; t < (int)(sizeof type_names / sizeof *type_names); t++)
      if (strlen(type_names[t]) == (size_t)(p - ty) && strncmp(ty, type_names[t], (size_t)(p - ty)) == 0) break;
    if (t == (int)(sizeof type_names / sizeof *type_names)) return false;
    sp->type = (SigType)t;
    if (*p == '?') {
      sp->optional = true;
      p++;
    }
    if (*p == '=') {
      const char *d = ++p;
      while (*p && *p != ',') p++;
      size_t n = (size_t)(p - d);
      sp->has_default = true;
      if (n >= 2 && d[0] == '\'' && d[n - 1] == '\'') { /* a string: the table's text outlives every value */
        char *str = strndup(d + 1, n - 2);
        if (!str) return false;
        sp->def = val_str(str);
      } else if (n == 4 && strncmp(d, "None", 4) == 0) {
        sp->def = val_none();
      } else if (n == 4 && strncmp(d, "true", 4) == 0) {
        sp->def = val_bool(true);
      } else if (n == 5 && strncmp(d, "false", 5) == 0) {
        sp->def = val_bool(false);
      } else {
        char buf[32];
        if (n >= sizeof buf) return false;
        memcpy(buf, d, n);
        buf[n] = 0;
        char *end;
        if (strpbrk(buf, ".e")) {
          sp->def = val_float(strtod(buf, &end));
        } else {
          sp->def = val_int(strtoll(buf, &end, 10));
        }
        if (*end) return false;
      }
    }
    p = skip_ws(p);
    if (*p == ',') p = skip_ws(p + 1);
    else if (*p) return false;
  }
  return true;
}


/* Checks (and, int to float, converts) one argument against its parameter's type. */
static bool type_ok(const SigParam *sp, Value *v) {
  if (v->kind == VAL_NONE) return sp->optional || sp->type == ST_ANY;
  switch (sp->type) {
  case ST_TENSOR: return v->kind == VAL_NODE;
  case ST_INT: return v->kind == VAL_INT;
  case ST_FLOAT:
    if (v->kind == VAL_INT) *v = val_float((double)v->u.i);
    return v->kind == VAL_FLOAT;
  case ST_NUMBER: return v->kind == VAL_INT || v->kind == VAL_FLOAT;
  case ST_BOOL: return v->kind == VAL_BOOL;
  case ST_STR: return v->kind == VAL_STR;
  case ST_ANY: return true;
  case ST_MODULE: return v->kind == VAL_STR;
  case ST_TENSOR_OR_NUMBER: return v->kind == VAL_NODE || v->kind == VAL_INT || v->kind == VAL_FLOAT;
  }
  return false;
}

static void list_params(StrBuf *sb, const Sig *sig) {
  for (int i = 0; i < sig->n; i++) {
    if (i) sb_puts(sb, ", ");
    if (sig->params[i].varargs) sb_putc(sb, '*');
    sb_puts(sb, sig->params[i].name);
  }
}

Status ir_sig_bind(const Sig *sig, const char *what, int nargs, const Value *args, int nkw,
                   const char *const *kwnames, const Value *kwargs, Arena *a, Value *bound,
                   Diag *d, SrcLoc loc) {
  bool set[12] = {0};
  int varg = -1, npos = 0;
  for (int i = 0; i < sig->n; i++) {
    if (sig->params[i].varargs) {
      varg = i;
      break;
    }
    npos++;
  }
  if (nargs > npos && varg < 0) {
    StrBuf sb;
    sb_init(&sb);
    list_params(&sb, sig);
    Status st = diag_error(d, loc, "%s() takes at most %d positional argument%s (%s), got %d", what,
                           npos, npos == 1 ? "" : "s", sig->n ? sb_str(&sb) : "none", nargs);
    sb_free(&sb);
    return st;
  }
  for (int i = 0; i < nargs && i < npos; i++) {
    bound[i] = args[i];
    set[i] = true;
  }
  if (varg >= 0) {
    int n = nargs > npos ? nargs - npos : 0;
    Value *items = arena_alloc(a, sizeof(Value) * (size_t)(n ? n : 1));
    if (!items) return diag_oom(d);
    for (int i = 0; i < n; i++) {
      items[i] = args[npos + i];
      if (!type_ok(&sig->params[varg], &items[i]))
        return diag_error(d, loc, "%s(): argument %d of '*%s' must be %s, got %s", what, npos + i + 1,
                          sig->params[varg].name, ir_sig_type_name(sig->params[varg].type),
                          val_kind_name(&args[npos + i]));
    }
    bound[varg] = (Value){.kind = VAL_TUPLE, .u.seq = {n, items}};
    set[varg] = true;
  }
  for (int k = 0; k < nkw; k++) {
    int i;
    for (i = 0; i < sig->n; i++)
      if (!sig->params[i].varargs && strcmp(sig->params[i].name, kwnames[k]) == 0) break;
    if (i == sig->n) {
      const char *cands[12];
      for (int j = 0; j < sig->n; j++) cands[j] = sig->params[j].varargs ? NULL : sig->params[j].name;
      const char *hint = diag_closest(kwnames[k], cands, sig->n);
      if (hint)
        return diag_error(d, loc, "%s() got an unknown keyword argument '%s' (did you mean '%s'?)", what,
                          kwnames[k], hint);
      StrBuf sb;
      sb_init(&sb);
      list_params(&sb, sig);
      Status st = diag_error(d, loc, "%s() got an unknown keyword argument '%s' (it takes: %s)", what,
                             kwnames[k], sig->n ? sb_str(&sb) : "no arguments");
      sb_free(&sb);
      return st;
    }
    if (set[i]) return diag_error(d, loc, "%s() got argument '%s' twice", what, kwnames[k]);
    bound[i] = kwargs[k];
    set[i] = true;
  }
  for (int i = 0; i < sig->n; i++) {
    const SigParam *sp = &sig->params[i];
    if (!set[i]) {
      if (!sp->has_default) return diag_error(d, loc, "%s() is missing argument '%s'", what, sp->name);
      bound[i] = sp->def;
      continue;
    }
    if (sp->varargs) continue;
    Value orig = bound[i];
    if (!type_ok(sp, &bound[i]))
      return diag_error(d, loc, "%s(): argument '%s' must be %s%s, got %s", what, sp->name,
                        ir_sig_type_name(sp->type), sp->optional ? " or None" : "", val_kind_name(&orig));
  }
  return JS_OK;
}
