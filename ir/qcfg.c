/* qcfg.c — quantization configs: MASE's per-op config dicts, decoded and checked, and the
 * config a quantized node carries (Node.quant; spec/quant.md).
 *
 * A config is MASE's: {name="integer", data_in_width=8, data_in_frac_width=4, weight_width=8,
 * ...}.  Keys are <slot>_<field> for the slots data_in, weight, bias, data_out and the fields
 * of the format kind named by `name`:
 *
 *   integer (fixed)        width, frac_width (default width // 2, as MASE; 0..64, above the
 *                          width too, as MASE allows)
 *   minifloat_ieee/denorm  width, exponent_width, exponent_bias (default (2^E - 1) >> 1)
 *   log                    width, exponent_bias (default 2^(width-2) - 1)
 *   block_fp               width, exponent_width, exponent_bias, block_size (default 16)
 *   binary                 stochastic (false only), bipolar (default true)
 *   ternary                scaling_factor (default false), mean | median | max (the threshold
 *                          statistic; mean by default)
 *   block_minifloat        width, exponent_width, exponent_bias_width, block_size (default 16)
 *   block_log              width, exponent_bias_width, block_size (default 16)
 *
 * block_size is a number or MASE's block shape [c] / [r, c] (r rows x c columns, weights
 * and biases only: a data block of several rows would span samples).
 *
 * plus `bypass` (compute in float, keep the config) and `floor` (integer: round toward -inf).
 * A slot is quantized when its width is given (binary and ternary: any of its keys).  linear
 * and conv1d require weight_* as MASE does; the other slots are optional, so weight-only and
 * activation-only configs work (MASE requires data_in_* and, for linear, bias_* in practice;
 * leaving them float is jscc's choice).  "NA" (MASE's
 * None) counts as absent, so a frac_width "NA" takes the default.  Every error names the key.
 */
#include <stdio.h>
#include <string.h>

#include "ir.h"

static const char *const slot_names[QS_COUNT] = {"data_in", "weight", "bias", "data_out"};


bool ir_op_quantizable(MaseOp op) {
  const OpInfo *oi = ir_op_info(op);
  return oi && (oi->props & P_QUANT);
}

bool ir_op_has_qslot(MaseOp op, QSlot s) {
  if (!ir_op_quantizable(op)) return false;
  if (s == QS_WEIGHT || s == QS_BIAS) return op == MOP_LINEAR || op == MOP_CONV1D || op == MOP_BATCH_NORM1D;
  return true;
}

const char *ir_quant_op_name(Arena *a, MaseOp op, QKind k) {
  const OpInfo *oi = ir_op_info(op);
  return arena_printf(a, "%s_%s", oi ? oi->name : "?", ir_qkind_name(k));
}

/* The fields each kind takes, per slot. */
enum { F_WIDTH, F_FRAC, F_EXPW, F_EXPB, F_BLOCK, F_EXPBW, F_STOCH, F_BIPOLAR, F_SCALING, F_MEAN, F_MEDIAN, F_MAX, F_COUNT };
static const char *const field_names[F_COUNT] = {"width",      "frac_width",          "exponent_width", "exponent_bias",
                                                 "block_size", "exponent_bias_width", "stochastic",     "bipolar",
                                                 "scaling_factor", "mean",            "median",         "max"};

static unsigned kind_fields(QKind k) {
  switch (k) {
  case QK_INTEGER: return 1u << F_WIDTH | 1u << F_FRAC;
  case QK_MINIFLOAT_IEEE:
  case QK_MINIFLOAT_DENORM: return 1u << F_WIDTH | 1u << F_EXPW | 1u << F_EXPB;
  case QK_LOG: return 1u << F_WIDTH | 1u << F_EXPB;
  case QK_BLOCK_FP: return 1u << F_WIDTH | 1u << F_EXPW | 1u << F_EXPB | 1u << F_BLOCK;
  /* binary and ternary: MASE's configs also write <slot>_width (1, 2) and <slot>_frac_width
   * (0), which its quantizers never read: accepted, and ignored */
  case QK_BINARY: return 1u << F_WIDTH | 1u << F_FRAC | 1u << F_STOCH | 1u << F_BIPOLAR;
  case QK_TERNARY: return 1u << F_WIDTH | 1u << F_FRAC | 1u << F_SCALING | 1u << F_MEAN | 1u << F_MEDIAN | 1u << F_MAX;
  case QK_BLOCK_MINIFLOAT: return 1u << F_WIDTH | 1u << F_EXPW | 1u << F_EXPBW | 1u << F_BLOCK;
  case QK_BLOCK_LOG: return 1u << F_WIDTH | 1u << F_EXPBW | 1u << F_BLOCK;
  case QK_COUNT: break;
  }
  return 0;
}

typedef struct Dec {
  const char *what;
  Diag *d;
  SrcLoc loc;       /* the config's own location: for errors no single key has */
  MaseOp op;
  QKeyLocFn keyloc; /* where a key of the config was written, or NULL */
  void *ud;
} Dec;

/* Where `key` was written, else the config's location. */
static SrcLoc key_at(const Dec *D, const char *key) {
  SrcLoc l = D->keyloc ? D->keyloc(D->ud, key) : (SrcLoc){0};
  return l.file ? l : D->loc;
}

static SrcLoc slot_key_at(const Dec *D, const char *slot, const char *field) {
  char key[64];
  snprintf(key, sizeof key, "%s_%s", slot, field);
  return key_at(D, key);
}

static const Value *get(const Value *cfg, const char *key) {
  for (int i = 0; i < cfg->u.dict.n; i++)
    if (strcmp(cfg->u.dict.keys[i], key) == 0) {
      const Value *v = &cfg->u.dict.vals[i];
      if (v->kind == VAL_NONE || (v->kind == VAL_STR && strcmp(v->u.s, "NA") == 0)) return NULL;
      return v;
    }
  return NULL;
}

/* An integer-valued key (a float with an integral value is accepted: TOML "8.0"). */
static Status get_int(Dec *D, const Value *cfg, const char *key, bool *present, int64_t *out) {
  const Value *v = get(cfg, key);
  *present = v != NULL;
  if (!v) return JS_OK;
  if (v->kind == VAL_INT) {
    *out = v->u.i;
    return JS_OK;
  }
  if (v->kind == VAL_FLOAT && v->u.f == (double)(int64_t)v->u.f) {
    *out = (int64_t)v->u.f;
    return JS_OK;
  }
  return diag_error(D->d, key_at(D, key), "%s: %s must be an integer, got %s", D->what, key, val_kind_name(v));
}

/* block_size: an integer, or MASE's block shape [c] or [r, c] (r rows x c columns; *rows = r,
 * 0 for a scalar). */
static Status get_block(Dec *D, const Value *cfg, const char *key, bool *present, int64_t *out, int64_t *rows) {
  const Value *v = get(cfg, key);
  *rows = 0;
  if (!v || (v->kind != VAL_LIST && v->kind != VAL_TUPLE)) return get_int(D, cfg, key, present, out);
  *present = true;
  int n = v->u.seq.n;
  const Value *it = v->u.seq.items;
  for (int i = 0; i < n; i++)
    if (it[i].kind != VAL_INT) n = 0;
  if (n < 1 || n > 2)
    return diag_error(D->d, key_at(D, key), "%s: %s must be an integer or a block shape [rows, columns] of integers", D->what, key);
  *out = it[n - 1].u.i;
  if (n == 2) *rows = it[0].u.i;
  return JS_OK;
}

/* The rows of a block shape: 1..65536, and 1 for activations (a row kernel's block lies
 * within one sample). */
static Status check_block_rows(Dec *D, const char *sn, QSlot s, int64_t rows, QFmt *f) {
  if (rows == 0) return JS_OK;
  if (rows < 1 || rows > 65536)
    return diag_error(D->d, slot_key_at(D, sn, "block_size"), "%s: %s_block_size: %lld rows is not in 1..65536", D->what, sn, (long long)rows);
  if (rows > 1 && (s == QS_DATA_IN || s == QS_DATA_OUT))
    return diag_error(D->d, slot_key_at(D, sn, "block_size"), "%s: %s_block_size: a block of %lld rows would span samples; blocks of %s take one "
                      "row ([1, %d]: within each sample's features)", D->what, sn, (long long)rows, sn, f->block_size);
  f->block_rows = rows > 1 ? (int)rows : 0;
  return JS_OK;
}

static Status get_bool(Dec *D, const Value *cfg, const char *key, bool *present, bool *out) {
  const Value *v = get(cfg, key);
  *present = v != NULL;
  if (!v) return JS_OK;
  if (v->kind == VAL_BOOL) {
    *out = v->u.b;
    return JS_OK;
  }
  return diag_error(D->d, key_at(D, key), "%s: %s must be true or false, got %s", D->what, key, val_kind_name(v));
}

/* binary's stochastic and bipolar: true/false, or MASE's 0/1 ("0 represent 'false' to make
 * sure generate toml file array is homogeneous", configs/tests/quantize/binary.toml). */
static Status get_flag(Dec *D, const Value *cfg, const char *key, bool *present, bool *out) {
  const Value *v = get(cfg, key);
  if (v && v->kind == VAL_INT && (v->u.i == 0 || v->u.i == 1)) {
    *present = true;
    *out = v->u.i == 1;
    return JS_OK;
  }
  return get_bool(D, cfg, key, present, out);
}

/* ternary's mean, median, max: MASE's value of that statistic, or "NA" to take it from the
 * profile; jscc computes it from the tensor itself, so true (choose it) or "NA" (absent). */
static Status get_stat(Dec *D, const Value *cfg, const char *key, bool *present, bool *out) {
  const Value *v = get(cfg, key);
  if (v && (v->kind == VAL_INT || v->kind == VAL_FLOAT))
    return diag_error(D->d, key_at(D, key), "%s: %s: a fixed value of the statistic is not supported: jscc "
                      "computes it from the weights (write \"NA\", or true to choose this statistic)", D->what, key);
  return get_bool(D, cfg, key, present, out);
}

/* Reads the keys of slot s for kind into has/val/bval; *any: one of them is given. */
static Status read_slot(Dec *D, const Value *cfg, unsigned fields, const char *sn, bool *has, int64_t *val, bool *bval,
                        bool *any, int64_t *brows) {
  char key[64];
  *any = false;
  for (int f = 0; f < F_COUNT; f++) {
    if (!(fields & (1u << f))) continue;
    snprintf(key, sizeof key, "%s_%s", sn, field_names[f]);
    Status st = f == F_STOCH || f == F_BIPOLAR              ? get_flag(D, cfg, key, &has[f], &bval[f])
                : f == F_MEAN || f == F_MEDIAN || f == F_MAX ? get_stat(D, cfg, key, &has[f], &bval[f])
                : f >= F_STOCH                               ? get_bool(D, cfg, key, &has[f], &bval[f])
                : f == F_BLOCK                               ? get_block(D, cfg, key, &has[f], &val[f], brows)
                                                             : get_int(D, cfg, key, &has[f], &val[f]);
    if (st) return st;
    *any |= has[f];
  }
  return JS_OK;
}

/* block_minifloat and block_log (MASE's keys): width, exponent_width (block_minifloat),
 * exponent_bias_width (required: MASE has no default), block_size (default 16). */
static Status decode_block_bias(Dec *D, QKind kind, const char *sn, const int64_t *val, const bool *has, QFmt *f) {
  int64_t w = val[F_WIDTH];
  if (w < 2 || w > 32)
    return diag_error(D->d, slot_key_at(D, sn, "width"), "%s: %s_width: %lld is not a width for %s (2..32)", D->what, sn, (long long)w,
                      ir_qkind_name(kind));
  f->width = (int)w;
  if (kind == QK_BLOCK_MINIFLOAT) {
    if (!has[F_EXPW]) return diag_error(D->d, D->loc, "%s: missing key '%s_exponent_width'", D->what, sn);
    int64_t e = val[F_EXPW], emax = w - 1 > 16 ? 16 : w - 1;
    if (e < 1 || e > emax)
      return diag_error(D->d, slot_key_at(D, sn, "exponent_width"), "%s: %s_exponent_width: %lld is not in 1..%lld for %s_width %lld", D->what, sn,
                        (long long)e, (long long)emax, sn, (long long)w);
    f->exp_width = (int)e;
  }
  if (!has[F_EXPBW]) return diag_error(D->d, D->loc, "%s: missing key '%s_exponent_bias_width'", D->what, sn);
  int64_t bw = val[F_EXPBW];
  if (bw < 1 || bw > 16)
    return diag_error(D->d, slot_key_at(D, sn, "exponent_bias_width"), "%s: %s_exponent_bias_width: %lld is not in 1..16", D->what, sn, (long long)bw);
  f->exp_bias_width = (int)bw;
  int64_t bs = has[F_BLOCK] ? val[F_BLOCK] : 16;
  if (bs < 1 || bs > 65536)
    return diag_error(D->d, slot_key_at(D, sn, "block_size"), "%s: %s_block_size: %lld is not in 1..65536", D->what, sn, (long long)bs);
  f->block_size = (int)bs;
  return JS_OK;
}

static Status decode_slot(Dec *D, const Value *cfg, QKind kind, QSlot s, QCfg *q, bool floor_) {
  unsigned fields = kind_fields(kind);
  const char *sn = slot_names[s];
  int64_t val[F_COUNT] = {0}, brows = 0;
  bool has[F_COUNT] = {0}, any = false;
  bool bval[F_COUNT] = {0};
  /* MASE's binary and ternary layers quantize the weight only (linearBinary, linearTernary,
   * ReLUBinary/ReLUTernary pass x and bias through): keys of the other slots are accepted
   * and ignored, unread, as MASE leaves them */
  bool weight_only = kind == QK_BINARY || kind == QK_TERNARY;
  if (weight_only && s != QS_WEIGHT) return JS_OK;
  Status rs = read_slot(D, cfg, fields, sn, has, val, bval, &any, &brows);
  if (rs) return rs;
  bool present = (fields & (1u << F_WIDTH)) && !weight_only ? has[F_WIDTH] : any;
  if (!present) {
    if (any) {
      for (int f = 0; f < F_COUNT; f++)
        if (has[f])
          return diag_error(D->d, slot_key_at(D, sn, field_names[f]),
                            "%s: %s_%s is given but %s_width is not", D->what, sn, field_names[f], sn);
    }
    return JS_OK;
  }
  int first = 0;
  while (first < F_COUNT - 1 && !has[first]) first++;
  if (!ir_op_has_qslot(D->op, s)) {
    const OpInfo *oi = ir_op_info(D->op);
    return diag_error(D->d, slot_key_at(D, sn, field_names[first]),
                      "%s: %s has no %s: the %s_* keys do not apply", D->what, oi ? oi->name : "?", sn,
                      sn);
  }
  QFmt *f = &q->fmt[s];
  memset(f, 0, sizeof *f);
  f->kind = kind;
  f->is_signed = true;
  if (kind == QK_INTEGER) {
    int64_t w = val[F_WIDTH];
    if (w < 1 || w > 32)
      return diag_error(D->d, slot_key_at(D, sn, "width"),
                        "%s: %s_width: %lld is not a width (1..32)", D->what, sn, (long long)w);
    /* MASE takes any frac_width; above the width the range is below 1 (fixed[4,6]: steps of
     * 2^-6 up to 7/64).  64 keeps 2^-f a normal float, so every executor agrees. */
    int64_t fr = has[F_FRAC] ? val[F_FRAC] : w / 2;
    if (fr < 0 || fr > 64)
      return diag_error(D->d, slot_key_at(D, sn, "frac_width"), "%s: %s_frac_width: %lld is out of range (0..64)",
                        D->what, sn, (long long)fr);
    f->width = (int)w;
    f->frac_width = (int)fr;
    f->floor = floor_;
    /* MASE's ReLUInteger quantizes its input with the unsigned range */
    if (s == QS_DATA_IN && D->op == MOP_RELU) f->is_signed = false;
  } else if (kind == QK_MINIFLOAT_IEEE || kind == QK_MINIFLOAT_DENORM || kind == QK_BLOCK_FP || kind == QK_LOG) {
    int64_t w = val[F_WIDTH];
    if (w < 2 || w > 32)
      return diag_error(D->d, slot_key_at(D, sn, "width"),
                        "%s: %s_width: %lld is not a width for %s (2..32)", D->what, sn, (long long)w,
                        ir_qkind_name(kind));
    f->width = (int)w;
    int64_t e = 0;
    if (kind != QK_LOG) {
      if (!has[F_EXPW]) return diag_error(D->d, slot_key_at(D, sn, "width"),
                                          "%s: missing key '%s_exponent_width'", D->what, sn);
      e = val[F_EXPW];
      int64_t emax = kind == QK_BLOCK_FP ? 16 : w - 1;
      if (e < 1 || e > emax || e > 16)
        return diag_error(D->d, slot_key_at(D, sn, "exponent_width"),
                          "%s: %s_exponent_width: %lld is not in 1..%lld for %s_width %lld", D->what, sn,
                          (long long)e, (long long)(emax > 16 ? 16 : emax), sn, (long long)w);
      f->exp_width = (int)e;
    }
    int64_t defb = kind == QK_LOG ? ((int64_t)1 << (w - 2)) - 1 : (((int64_t)1 << e) - 1) >> 1;
    int64_t b = has[F_EXPB] ? val[F_EXPB] : defb;
    if (b < -(1 << 20) || b > (1 << 20))
      return diag_error(D->d, slot_key_at(D, sn, "exponent_bias"),
                        "%s: %s_exponent_bias: %lld is out of range", D->what, sn, (long long)b);
    f->exp_bias = (int)b;
    if (kind == QK_BLOCK_FP) {
      int64_t bs = has[F_BLOCK] ? val[F_BLOCK] : 16;
      if (bs < 1 || bs > 65536)
        return diag_error(D->d, slot_key_at(D, sn, "block_size"),
                          "%s: %s_block_size: %lld is not in 1..65536", D->what, sn, (long long)bs);
      f->block_size = (int)bs;
      Status st = check_block_rows(D, sn, s, brows, f);
      if (st) return st;
    }
  } else if (kind == QK_BLOCK_MINIFLOAT || kind == QK_BLOCK_LOG) {
    Status st = decode_block_bias(D, kind, sn, val, has, f);
    if (!st) st = check_block_rows(D, sn, s, brows, f);
    if (st) return st;
  } else if (kind == QK_BINARY) {
    f->width = 1;
    f->bipolar = has[F_BIPOLAR] ? bval[F_BIPOLAR] : true;
    if (has[F_STOCH] && bval[F_STOCH])
      return diag_error(D->d, slot_key_at(D, sn, "stochastic"),
                        "%s: %s_stochastic: stochastic binarization is not supported (it would make runs "
                        "irreproducible); use false", D->what, sn);
  } else if (kind == QK_TERNARY) {
    f->width = 2;
    f->scaling = has[F_SCALING] && bval[F_SCALING];
    int nstat = (has[F_MEAN] && bval[F_MEAN]) + (has[F_MEDIAN] && bval[F_MEDIAN]) + (has[F_MAX] && bval[F_MAX]);
    if (nstat > 1)
      return diag_error(D->d, slot_key_at(D, sn, field_names[first]),
                        "%s: %s: choose one of %s_mean, %s_median, %s_max", D->what, sn, sn, sn, sn);
    f->tstat = has[F_MEDIAN] && bval[F_MEDIAN] ? QT_MEDIAN : has[F_MAX] && bval[F_MAX] ? QT_MAX : QT_MEAN;
  }
  q->has[s] = true;
  return JS_OK;
}

/* Every key a config for this kind and op may hold, for "unknown key" and "did you mean". */
static int valid_keys(MaseOp op, QKind kind, char keys[][40], int cap) {
  int n = 0;
  /* binary_training: MASE's binary configs write it; only binary_residual reads it */
  const char *fixed[] = {"name", "bypass", "floor", "binary_training"};
  int nfixed = kind == QK_BINARY ? 4 : 3;
  for (int i = 0; i < nfixed && n < cap; i++) snprintf(keys[n++], 40, "%s", fixed[i]);
  unsigned fields = kind_fields(kind);
  for (int s = 0; s < QS_COUNT; s++) {
    if (!ir_op_has_qslot(op, (QSlot)s)) continue;
    for (int f = 0; f < F_COUNT && n < cap; f++)
      if (fields & (1u << f)) snprintf(keys[n++], 40, "%s_%s", slot_names[s], field_names[f]);
  }
  return n;
}

Status ir_qcfg_decode(MaseOp op, const Value *cfg, const char *what, QCfg *out, bool *skip, Diag *d, SrcLoc loc) {
  return ir_qcfg_decode_at(op, cfg, what, out, skip, d, loc, NULL, NULL);
}

Status ir_qcfg_decode_at(MaseOp op, const Value *cfg, const char *what, QCfg *out, bool *skip, Diag *d, SrcLoc loc,
                         QKeyLocFn keyloc, void *ud) {
  Dec D = {.what = what ? what : "quantize", .d = d, .loc = loc, .op = op, .keyloc = keyloc, .ud = ud};
  memset(out, 0, sizeof *out);
  *skip = false;
  if (!cfg || cfg->kind == VAL_NONE || (cfg->kind == VAL_STR && strcmp(cfg->u.s, "NA") == 0)) {
    *skip = true;
    return JS_OK;
  }
  if (cfg->kind != VAL_DICT)
    return diag_error(d, loc, "%s: a config must be a dict such as {name=\"integer\", data_in_width=8, ...}, got %s",
                      D.what, val_kind_name(cfg));
  const Value *name = NULL;
  for (int i = 0; i < cfg->u.dict.n; i++)
    if (strcmp(cfg->u.dict.keys[i], "name") == 0) name = &cfg->u.dict.vals[i];
  if (!name) return diag_error(d, loc, "%s: missing key 'name' (integer, fixed, minifloat_ieee, minifloat_denorm, log, "
                               "block_fp, binary, ternary, block_minifloat, block_log, or \"NA\" to skip)", D.what);
  if (name->kind == VAL_NONE || (name->kind == VAL_STR && strcmp(name->u.s, "NA") == 0)) {
    *skip = true;
    return JS_OK;
  }
  if (name->kind != VAL_STR)
    return diag_error(d, key_at(&D, "name"), "%s: name must be a string, got %s", D.what, val_kind_name(name));
  QKind kind;
  if (!ir_qkind_parse(name->u.s, &kind)) {
    const char *c[QK_COUNT + 1];
    for (int k = 0; k < QK_COUNT; k++) c[k] = ir_qkind_name((QKind)k);
    c[QK_COUNT] = "fixed";
    const char *h = diag_closest(name->u.s, c, QK_COUNT + 1);
    return diag_error(d, key_at(&D, "name"),
                      "%s: name: unknown number format '%s'%s%s%s (integer, fixed, minifloat_ieee, minifloat_denorm, "
                      "log, block_fp, binary, ternary, block_minifloat, block_log)", D.what, name->u.s,
                      h ? " (did you mean '" : "", h ? h : "", h ? "'?)" : "");
  }
  if (!ir_op_quantizable(op)) {
    const OpInfo *oi = ir_op_info(op);
    const char *names[MOP_COUNT];
    StrBuf list;
    sb_init(&list);
    ir_names_list(&list, names, ir_op_names_with(P_QUANT, names, MOP_COUNT));
    Status es = diag_error(d, loc, "%s: %s cannot be quantized (quantizable: %s)", D.what, oi ? oi->name : "this node",
                           sb_str(&list));
    sb_free(&list);
    return es;
  }
  /* unknown keys first: a misspelt width is the likeliest mistake */
  char keys[64][40];
  int nk = valid_keys(op, kind, keys, 64);
  for (int i = 0; i < cfg->u.dict.n; i++) {
    const char *k = cfg->u.dict.keys[i];
    bool ok = false;
    for (int j = 0; j < nk && !ok; j++) ok = strcmp(keys[j], k) == 0;
    if (ok) continue;
    const char *cand[64];
    for (int j = 0; j < nk; j++) cand[j] = keys[j];
    const char *h = diag_closest(k, cand, nk);
    /* a key of another slot or kind gets a more precise message */
    for (int s = 0; s < QS_COUNT; s++) {
      size_t sl = strlen(slot_names[s]);
      if (strncmp(k, slot_names[s], sl) == 0 && k[sl] == '_' && !ir_op_has_qslot(op, (QSlot)s)) {
        const OpInfo *oi = ir_op_info(op);
        return diag_error(d, key_at(&D, k), "%s: '%s': %s has no %s", D.what, k, oi ? oi->name : "?", slot_names[s]);
      }
    }
    return diag_error(d, key_at(&D, k), "%s: unknown key '%s' for name=\"%s\"%s%s%s", D.what, k, ir_qkind_name(kind),
                      h ? " (did you mean '" : "", h ? h : "", h ? "'?)" : "");
  }
  bool has, floor_ = false, bypass = false;
  Status st;
  if ((st = get_bool(&D, cfg, "floor", &has, &floor_)) || (st = get_bool(&D, cfg, "bypass", &has, &bypass))) return st;
  if (floor_ && kind != QK_INTEGER)
    return diag_error(d, key_at(&D, "floor"),
                      "%s: floor applies to integer formats only, not %s", D.what, ir_qkind_name(kind));
  out->kind = kind;
  out->bypass = bypass;
  for (int s = 0; s < QS_COUNT; s++)
    if ((st = decode_slot(&D, cfg, kind, (QSlot)s, out, floor_))) return st;
  if ((op == MOP_LINEAR || op == MOP_CONV1D) && !out->has[QS_WEIGHT]) {
    const char *miss = kind == QK_BINARY || kind == QK_TERNARY ? "weight_*" : "weight_width";
    return diag_error(d, loc, "%s: missing key '%s'", D.what, miss);
  }
  return JS_OK;
}

/* ---- the normalized dict ---- */


typedef struct VB {
  Arena *a;
  const char **keys;
  Value *vals;
  int n, cap;
  bool oom;
} VB;

static void vput(VB *b, const char *key, Value v) {
  if (b->n >= b->cap) {
    b->oom = true;
    return;
  }
  b->keys[b->n] = key;
  b->vals[b->n++] = v;
}

static void vput_slot(VB *b, QSlot s, const char *field, Value v) {
  const char *k = arena_printf(b->a, "%s_%s", slot_names[s], field);
  if (!k) b->oom = true;
  else vput(b, k, v);
}

/* block_size as the config writes it: an integer, or [rows, columns] for a 2-d block. */
static Value block_value(VB *b, const QFmt *f) {
  if (f->block_rows <= 1) return val_int(f->block_size);
  Value *it = arena_alloc(b->a, sizeof(Value) * 2);
  if (!it) {
    b->oom = true;
    return val_none();
  }
  it[0] = val_int(f->block_rows);
  it[1] = val_int(f->block_size);
  return (Value){.kind = VAL_LIST, .u.seq = {2, it}};
}

Status ir_qcfg_to_value(Arena *a, MaseOp op, const QCfg *q, Value *out) {
  VB b = {.a = a, .cap = 48};
  b.keys = arena_alloc(a, sizeof(char *) * (size_t)b.cap);
  b.vals = arena_alloc(a, sizeof(Value) * (size_t)b.cap);
  if (!b.keys || !b.vals) return JS_ENOMEM;
  vput(&b, "name", val_str(ir_qkind_name(q->kind)));
  bool floor_ = false;
  for (int s = 0; s < QS_COUNT; s++) {
    if (!q->has[s] || !ir_op_has_qslot(op, (QSlot)s)) continue;
    const QFmt *f = &q->fmt[s];
    switch (q->kind) {
    case QK_INTEGER:
      vput_slot(&b, (QSlot)s, "width", val_int(f->width));
      vput_slot(&b, (QSlot)s, "frac_width", val_int(f->frac_width));
      floor_ |= f->floor;
      break;
    case QK_MINIFLOAT_IEEE:
    case QK_MINIFLOAT_DENORM:
    case QK_BLOCK_FP:
      vput_slot(&b, (QSlot)s, "width", val_int(f->width));
      vput_slot(&b, (QSlot)s, "exponent_width", val_int(f->exp_width));
      vput_slot(&b, (QSlot)s, "exponent_bias", val_int(f->exp_bias));
      if (q->kind == QK_BLOCK_FP) vput_slot(&b, (QSlot)s, "block_size", block_value(&b, f));
      break;
    case QK_LOG:
      vput_slot(&b, (QSlot)s, "width", val_int(f->width));
      vput_slot(&b, (QSlot)s, "exponent_bias", val_int(f->exp_bias));
      break;
    case QK_BINARY:
      vput_slot(&b, (QSlot)s, "stochastic", val_bool(false));
      vput_slot(&b, (QSlot)s, "bipolar", val_bool(f->bipolar));
      break;
    case QK_TERNARY:
      vput_slot(&b, (QSlot)s, "scaling_factor", val_bool(f->scaling));
      vput_slot(&b, (QSlot)s, f->tstat == QT_MEDIAN ? "median" : f->tstat == QT_MAX ? "max" : "mean", val_bool(true));
      break;
    case QK_BLOCK_MINIFLOAT:
    case QK_BLOCK_LOG:
      vput_slot(&b, (QSlot)s, "width", val_int(f->width));
      if (q->kind == QK_BLOCK_MINIFLOAT) vput_slot(&b, (QSlot)s, "exponent_width", val_int(f->exp_width));
      vput_slot(&b, (QSlot)s, "exponent_bias_width", val_int(f->exp_bias_width));
      vput_slot(&b, (QSlot)s, "block_size", block_value(&b, f));
      break;
    case QK_COUNT: break;
    }
  }
  if (floor_) vput(&b, "floor", val_bool(true));
  if (q->bypass) vput(&b, "bypass", val_bool(true));
  if (b.oom) return JS_ENOMEM;
  *out = (Value){.kind = VAL_DICT, .u.dict = {b.n, b.keys, b.vals}};
  return JS_OK;
}

Status ir_node_set_quant(Node *n, const Value *cfg, const char *what, Diag *d) {
  QCfg q;
  bool skip;
  Status st = ir_qcfg_decode(n->mop, cfg, what, &q, &skip, d, n->loc);
  if (st) return st;
  if (skip) {
    n->quant = val_none();
    return JS_OK;
  }
  Arena *tmp = arena_new();
  Value v;
  if (!tmp || ir_qcfg_to_value(tmp, n->mop, &q, &v) || val_copy(n->graph->arena, &v, &n->quant)) {
    if (tmp) arena_free(tmp);
    return diag_oom(d);
  }
  arena_free(tmp);
  return JS_OK;
}

bool ir_node_qcfg(const Node *n, QCfg *q) {
  memset(q, 0, sizeof *q);
  if (n->quant.kind != VAL_DICT) return false;
  Diag d;
  diag_init(&d, NULL);
  bool skip;
  Status st = ir_qcfg_decode(n->mop, &n->quant, "quant", q, &skip, &d, n->loc);
  diag_free(&d);
  if (st || skip) {
    memset(q, 0, sizeof *q);
    return false;
  }
  return !q->bypass;
}

/* ---- a QFmt as the quantize op's `format` argument ---- */

Status ir_qfmt_to_value(Arena *a, const QFmt *f, Value *out) {
  VB b = {.a = a, .cap = 8};
  b.keys = arena_alloc(a, sizeof(char *) * (size_t)b.cap);
  b.vals = arena_alloc(a, sizeof(Value) * (size_t)b.cap);
  if (!b.keys || !b.vals) return JS_ENOMEM;
  vput(&b, "kind", val_str(ir_qkind_name(f->kind)));
  switch (f->kind) {
  case QK_INTEGER:
    vput(&b, "width", val_int(f->width));
    vput(&b, "frac_width", val_int(f->frac_width));
    vput(&b, "signed", val_bool(f->is_signed));
    vput(&b, "floor", val_bool(f->floor));
    break;
  case QK_MINIFLOAT_IEEE:
  case QK_MINIFLOAT_DENORM:
  case QK_BLOCK_FP:
    vput(&b, "width", val_int(f->width));
    vput(&b, "exponent_width", val_int(f->exp_width));
    vput(&b, "exponent_bias", val_int(f->exp_bias));
    if (f->kind == QK_BLOCK_FP) vput(&b, "block_size", block_value(&b, f));
    break;
  case QK_LOG:
    vput(&b, "width", val_int(f->width));
    vput(&b, "exponent_bias", val_int(f->exp_bias));
    break;
  case QK_BINARY: vput(&b, "bipolar", val_bool(f->bipolar)); break;
  case QK_TERNARY:
    vput(&b, "scaling", val_bool(f->scaling));
    vput(&b, "stat", val_str(f->tstat == QT_MEDIAN ? "median" : f->tstat == QT_MAX ? "max" : "mean"));
    break;
  case QK_BLOCK_MINIFLOAT:
  case QK_BLOCK_LOG:
    vput(&b, "width", val_int(f->width));
    if (f->kind == QK_BLOCK_MINIFLOAT) vput(&b, "exponent_width", val_int(f->exp_width));
    vput(&b, "exponent_bias_width", val_int(f->exp_bias_width));
    vput(&b, "block_size", block_value(&b, f));
    break;
  case QK_COUNT: break;
  }
  if (b.oom) return JS_ENOMEM;
  *out = (Value){.kind = VAL_DICT, .u.dict = {b.n, b.keys, b.vals}};
  return JS_OK;
}

Status ir_qfmt_from_value(const Value *v, QFmt *out, Diag *d, SrcLoc loc) {
  memset(out, 0, sizeof *out);
  if (!v || v->kind != VAL_DICT) return diag_error(d, loc, "quantize: format must be a dict such as {kind=\"integer\", width=8, frac_width=4}");
  const Value *kv = get(v, "kind");
  if (!kv || kv->kind != VAL_STR || !ir_qkind_parse(kv->u.s, &out->kind))
    return diag_error(d, loc, "quantize: format needs kind= one of integer, minifloat_ieee, minifloat_denorm, log, block_fp, binary, ternary, block_minifloat, block_log");
  out->is_signed = true;
  out->bipolar = true;
  for (int i = 0; i < v->u.dict.n; i++) {
    const char *k = v->u.dict.keys[i];
    const Value *x = &v->u.dict.vals[i];
    if (strcmp(k, "block_size") == 0 && x->kind == VAL_LIST && x->u.seq.n == 2 && x->u.seq.items[0].kind == VAL_INT &&
        x->u.seq.items[1].kind == VAL_INT && x->u.seq.items[0].u.i > 1 && x->u.seq.items[0].u.i <= 65536) {
      out->block_rows = (int)x->u.seq.items[0].u.i;
      x = &x->u.seq.items[1];
    }
    int *ip = strcmp(k, "width") == 0            ? &out->width
              : strcmp(k, "frac_width") == 0     ? &out->frac_width
              : strcmp(k, "exponent_width") == 0 ? &out->exp_width
              : strcmp(k, "exponent_bias") == 0  ? &out->exp_bias
              : strcmp(k, "block_size") == 0     ? &out->block_size
              : strcmp(k, "exponent_bias_width") == 0 ? &out->exp_bias_width
                                                 : NULL;
    bool *bp = strcmp(k, "signed") == 0 ? &out->is_signed : strcmp(k, "floor") == 0 ? &out->floor
               : strcmp(k, "bipolar") == 0 ? &out->bipolar : strcmp(k, "scaling") == 0 ? &out->scaling : NULL;
    if (ip) {
      if (x->kind != VAL_INT || x->u.i < -(1 << 20) || x->u.i > (1 << 20))
        return diag_error(d, loc, "quantize: format %s must be a small integer", k);
      *ip = (int)x->u.i;
    } else if (bp) {
      if (x->kind != VAL_BOOL) return diag_error(d, loc, "quantize: format %s must be true or false", k);
      *bp = x->u.b;
    } else if (strcmp(k, "stat") == 0) {
      if (x->kind != VAL_STR) return diag_error(d, loc, "quantize: format stat must be mean, median or max");
      if (strcmp(x->u.s, "mean") == 0) out->tstat = QT_MEAN;
      else if (strcmp(x->u.s, "median") == 0) out->tstat = QT_MEDIAN;
      else if (strcmp(x->u.s, "max") == 0) out->tstat = QT_MAX;
      else return diag_error(d, loc, "quantize: format stat must be mean, median or max, got '%s'", x->u.s);
    } else if (strcmp(k, "kind") != 0) {
      return diag_error(d, loc, "quantize: format has an unknown key '%s'", k);
    }
  }
  switch (out->kind) {
  case QK_INTEGER:
    if (out->width < 1 || out->width > 32 || out->frac_width < 0 || out->frac_width > 64)
      return diag_error(d, loc, "quantize: integer format needs 1 <= width <= 32 and 0 <= frac_width <= 64");
    break;
  case QK_MINIFLOAT_IEEE:
  case QK_MINIFLOAT_DENORM:
    if (out->width < 2 || out->width > 32 || out->exp_width < 1 || out->exp_width > out->width - 1 || out->exp_width > 16)
      return diag_error(d, loc, "quantize: minifloat format needs 2 <= width <= 32 and 1 <= exponent_width < width");
    break;
  case QK_BLOCK_FP:
    if (out->width < 2 || out->width > 32 || out->exp_width < 1 || out->exp_width > 16 || out->block_size < 1)
      return diag_error(d, loc, "quantize: block_fp format needs width 2..32, exponent_width 1..16, block_size >= 1");
    break;
  case QK_LOG:
    if (out->width < 2 || out->width > 32) return diag_error(d, loc, "quantize: log format needs width 2..32");
    break;
  case QK_BINARY: out->width = 1; break;
  case QK_TERNARY: out->width = 2; break;
  case QK_BLOCK_MINIFLOAT:
  case QK_BLOCK_LOG:
    if (out->width < 2 || out->width > 32 || out->exp_bias_width < 1 || out->exp_bias_width > 16 || out->block_size < 1 ||
        (out->kind == QK_BLOCK_MINIFLOAT && (out->exp_width < 1 || out->exp_width > out->width - 1 || out->exp_width > 16)))
      return diag_error(d, loc, "quantize: %s format needs width 2..32, exponent_bias_width 1..16, block_size >= 1%s",
                        ir_qkind_name(out->kind), out->kind == QK_BLOCK_MINIFLOAT ? " and 1 <= exponent_width < width" : "");
    break;
  case QK_COUNT: break;
  }
  return JS_OK;
}

/* ---- explicit input quantizers ---- */
Status ir_quant_explicit_inputs(Graph *g, Diag *d) {
  Arena *a = g->arena;
  for (Node *n = g->first; n; n = n->next) {
    QCfg q;
    if (!ir_node_qcfg(n, &q) || !q.has[QS_DATA_IN]) continue;
    Value f;
    if (ir_qfmt_to_value(a, &q.fmt[QS_DATA_IN], &f)) return diag_oom(d);
    Value *args = arena_alloc(a, sizeof(Value) * (size_t)(n->nargs + 1));
    Value *kw = arena_alloc(a, sizeof(Value) * (size_t)(n->nkwargs + 1));
    if (!args || !kw) return diag_oom(d);
    /* data operands: a module call's input; a function's `input` and `other` */
    int ndata = n->op == OP_CALL_MODULE ? 1 : (n->mop == MOP_ADD || n->mop == MOP_SUB || n->mop == MOP_MUL || n->mop == MOP_MATMUL) ? 2 : 1;
    for (int i = 0; i < n->nargs + n->nkwargs; i++) {
      bool is_kw = i >= n->nargs;
      const Value *v = is_kw ? &n->kwargs[i - n->nargs] : &n->args[i];
      Value *dst = is_kw ? &kw[i - n->nargs] : &args[i];
      *dst = *v;
      bool data = is_kw ? strcmp(n->kwnames[i - n->nargs], "input") == 0 || strcmp(n->kwnames[i - n->nargs], "other") == 0
                        : i < ndata;
      if (!data || v->kind != VAL_NODE) continue;
      Node *qn = ir_node_new(g, OP_CALL_FUNCTION, "quantize", NULL, n, n->loc);
      Value qa[2] = {*v, f};
      if (!qn || ir_node_set_args(qn, 2, qa, 0, NULL, NULL)) return diag_oom(d);
      qn->type = v->u.node->type;
      qn->has_type = v->u.node->has_type;
      *dst = val_node(qn);
    }
    if (ir_node_set_args(n, n->nargs, args, n->nkwargs, n->kwnames, kw)) return diag_oom(d);
    q.has[QS_DATA_IN] = false;
    Value nv;
    if (ir_qcfg_to_value(a, n->mop, &q, &nv)) return diag_oom(d);
    n->quant = nv;
  }
  return JS_OK;
}


bool ir_qcfg_key_valid(MaseOp op, QKind kind, const char *key) {
  char keys[64][40];
  int n = valid_keys(op, kind, keys, 64);
  for (int i = 0; i < n; i++)
    if (strcmp(keys[i], key) == 0) return true;
  return false;
}
