/* types.c — dtypes, tensor types and tagged values, with the text forms the IR printer and
 * parser share. */
#include <string.h>

#include "ir.h"

static const struct {
  const char *name;
  int bytes;
} dtypes[] = {
#define DTYPE(id, name, bytes) {name, bytes},
#include "dtypes.def"
#undef DTYPE
};

const char *ir_dtype_name(DType t) {
  return (unsigned)t < DT_COUNT ? dtypes[t].name : "?";
}

int ir_dtype_bytes(DType t) {
  return (unsigned)t < DT_COUNT ? dtypes[t].bytes : 0;
}

bool ir_dtype_parse(const char *s, DType *out) {
  for (int i = 0; i < DT_COUNT; i++)
    if (strcmp(s, dtypes[i].name) == 0) {
      *out = (DType)i;
      return true;
    }
  return false;
}

bool ir_type_equal(const TensorType *a, const TensorType *b) {
  if (a->dtype != b->dtype || a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++) {
    const Dim *x = &a->dims[i], *y = &b->dims[i];
    if (x->sym || y->sym) {
      if (!x->sym || !y->sym || strcmp(x->sym, y->sym) != 0) return false;
    } else if (x->size != y->size) {
      return false;
    }
  }
  return true;
}

void ir_type_print(StrBuf *sb, const TensorType *t) {
  sb_puts(sb, ir_dtype_name(t->dtype));
  sb_putc(sb, '[');
  for (int i = 0; i < t->rank; i++) {
    if (i) sb_putc(sb, ',');
    if (t->dims[i].sym)
      sb_puts(sb, t->dims[i].sym);
    else
      sb_put_int(sb, t->dims[i].size);
  }
  sb_putc(sb, ']');
}

int64_t ir_type_numel(const TensorType *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) {
    if (t->dims[i].sym) return -1;
    int64_t s = t->dims[i].size;
    if (s < 0) return -1;
    if (s != 0 && n > (IR_MAX_NUMEL + 1) / s) return IR_MAX_NUMEL + 1;
    n *= s;
  }
  return n > IR_MAX_NUMEL ? IR_MAX_NUMEL + 1 : n;
}

Value val_none(void) {
  return (Value){.kind = VAL_NONE};
}
Value val_bool(bool b) {
  return (Value){.kind = VAL_BOOL, .u.b = b};
}
Value val_int(int64_t i) {
  return (Value){.kind = VAL_INT, .u.i = i};
}
Value val_float(double f) {
  return (Value){.kind = VAL_FLOAT, .u.f = f};
}
Value val_str(const char *s) {
  return (Value){.kind = VAL_STR, .u.s = s};
}
Value val_node(struct Node *n) {
  return (Value){.kind = VAL_NODE, .u.node = n};
}
Value val_type(const TensorType *t) {
  return (Value){.kind = VAL_TYPE, .u.type = t};
}

const char *val_kind_name(const Value *v) {
  static const char *const names[] = {"None", "bool", "int", "float", "str", "tensor", "tuple", "list", "dict", "type"};
  return (unsigned)v->kind < sizeof names / sizeof *names ? names[v->kind] : "?";
}

bool val_equal(const Value *a, const Value *b) {
  if (a->kind != b->kind) return false;
  switch (a->kind) {
  case VAL_NONE: return true;
  case VAL_BOOL: return a->u.b == b->u.b;
  case VAL_INT: return a->u.i == b->u.i;
  case VAL_FLOAT: return a->u.f == b->u.f || (a->u.f != a->u.f && b->u.f != b->u.f);
  case VAL_STR: return strcmp(a->u.s, b->u.s) == 0;
  case VAL_NODE: return a->u.node == b->u.node;
  case VAL_TYPE: return ir_type_equal(a->u.type, b->u.type);
  case VAL_TUPLE:
  case VAL_LIST:
    if (a->u.seq.n != b->u.seq.n) return false;
    for (int i = 0; i < a->u.seq.n; i++)
      if (!val_equal(&a->u.seq.items[i], &b->u.seq.items[i])) return false;
    return true;
  case VAL_DICT:
    if (a->u.dict.n != b->u.dict.n) return false;
    for (int i = 0; i < a->u.dict.n; i++)
      if (strcmp(a->u.dict.keys[i], b->u.dict.keys[i]) != 0 ||
          !val_equal(&a->u.dict.vals[i], &b->u.dict.vals[i]))
        return false;
    return true;
  }
  return false;
}

Status val_dict_set(Arena *a, Value *d, const char *key, Value v) {
  if (d->kind != VAL_DICT) *d = (Value){.kind = VAL_DICT};
  for (int i = 0; i < d->u.dict.n; i++)
    if (strcmp(d->u.dict.keys[i], key) == 0) {
      d->u.dict.vals[i] = v;
      return JS_OK;
    }
  int n = d->u.dict.n;
  const char **keys = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
  Value *vals = arena_alloc(a, sizeof(Value) * (size_t)(n + 1));
  if (!keys || !vals) return JS_ENOMEM;
  if (n) {
    memcpy(keys, d->u.dict.keys, sizeof(char *) * (size_t)n);
    memcpy(vals, d->u.dict.vals, sizeof(Value) * (size_t)n);
  }
  keys[n] = key;
  vals[n] = v;
  d->u.dict.keys = keys;
  d->u.dict.vals = vals;
  d->u.dict.n = n + 1;
  return JS_OK;
}

Status val_copy(Arena *a, const Value *src, Value *dst) {
  *dst = *src;
  switch (src->kind) {
  case VAL_STR:
    if (!(dst->u.s = arena_strdup(a, src->u.s))) return JS_ENOMEM;
    return JS_OK;
  case VAL_TYPE: {
    TensorType *t = arena_alloc(a, sizeof *t);
    if (!t) return JS_ENOMEM;
    *t = *src->u.type;
    for (int i = 0; i < t->rank; i++)
      if (t->dims[i].sym && !(t->dims[i].sym = arena_strdup(a, t->dims[i].sym))) return JS_ENOMEM;
    dst->u.type = t;
    return JS_OK;
  }
  case VAL_TUPLE:
  case VAL_LIST: {
    int n = src->u.seq.n;
    Value *items = arena_alloc(a, sizeof(Value) * (size_t)(n ? n : 1));
    if (!items) return JS_ENOMEM;
    for (int i = 0; i < n; i++)
      if (val_copy(a, &src->u.seq.items[i], &items[i])) return JS_ENOMEM;
    dst->u.seq.items = items;
    return JS_OK;
  }
  case VAL_DICT: {
    int n = src->u.dict.n;
    const char **keys = arena_alloc(a, sizeof(char *) * (size_t)(n ? n : 1));
    Value *vals = arena_alloc(a, sizeof(Value) * (size_t)(n ? n : 1));
    if (!keys || !vals) return JS_ENOMEM;
    for (int i = 0; i < n; i++) {
      if (!(keys[i] = arena_strdup(a, src->u.dict.keys[i]))) return JS_ENOMEM;
      if (val_copy(a, &src->u.dict.vals[i], &vals[i])) return JS_ENOMEM;
    }
    dst->u.dict.keys = keys;
    dst->u.dict.vals = vals;
    return JS_OK;
  }
  default: return JS_OK;
  }
}

static void print_seq(StrBuf *sb, const Value *v, bool py) {
  bool tuple = v->kind == VAL_TUPLE;
  sb_putc(sb, tuple ? '(' : '[');
  for (int i = 0; i < v->u.seq.n; i++) {
    if (i) sb_puts(sb, ", ");
    if (py)
      val_print_py(sb, &v->u.seq.items[i]);
    else
      val_print(sb, &v->u.seq.items[i]);
  }
  if (tuple && v->u.seq.n == 1) sb_putc(sb, ',');
  sb_putc(sb, tuple ? ')' : ']');
}

void val_print(StrBuf *sb, const Value *v) {
  switch (v->kind) {
  case VAL_NONE: sb_puts(sb, "None"); break;
  case VAL_BOOL: sb_puts(sb, v->u.b ? "true" : "false"); break;
  case VAL_INT: sb_put_int(sb, v->u.i); break;
  case VAL_FLOAT: sb_put_float(sb, v->u.f); break;
  case VAL_STR: sb_put_quoted(sb, v->u.s); break;
  case VAL_NODE:
    sb_putc(sb, '%');
    sb_puts(sb, v->u.node->name);
    break;
  case VAL_TYPE: ir_type_print(sb, v->u.type); break;
  case VAL_TUPLE:
  case VAL_LIST: print_seq(sb, v, false); break;
  case VAL_DICT:
    sb_putc(sb, '{');
    for (int i = 0; i < v->u.dict.n; i++) {
      if (i) sb_puts(sb, ", ");
      /* A key that is not an identifier is quoted, so the text parses back. */
      const char *k = v->u.dict.keys[i];
      bool ident = (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_';
      for (const char *c = k; *c && ident; c++)
        ident = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_';
      if (ident)
        sb_puts(sb, k);
      else
        sb_put_quoted(sb, k);
      sb_putc(sb, '=');
      val_print(sb, &v->u.dict.vals[i]);
    }
    sb_putc(sb, '}');
    break;
  }
}

void val_print_py(StrBuf *sb, const Value *v) {
  switch (v->kind) {
  case VAL_BOOL: sb_puts(sb, v->u.b ? "True" : "False"); break;
  case VAL_STR: sb_printf(sb, "'%s'", v->u.s); break;
  case VAL_NODE: sb_puts(sb, v->u.node->name); break;
  case VAL_TUPLE:
  case VAL_LIST: print_seq(sb, v, true); break;
  case VAL_DICT:
    sb_putc(sb, '{');
    for (int i = 0; i < v->u.dict.n; i++) {
      if (i) sb_puts(sb, ", ");
      sb_printf(sb, "'%s': ", v->u.dict.keys[i]);
      val_print_py(sb, &v->u.dict.vals[i]);
    }
    sb_putc(sb, '}');
    break;
  default: val_print(sb, v);
  }
}
