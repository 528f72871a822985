/* exp/hwdesigns.c — the report's hardware designs: an emit directory's emit.json (written by
 * `jscc emit`) read into an ExpHwDesign, and the designs' table (spec/sweep.md §5.1).
 *
 * Only what the report shows is kept; the rest of the document is checked for its types where
 * the report would rely on them (the layers, the resource counts), and unknown keys are
 * ignored so that a newer emit.json still reads.  Every error names the file, line and column
 * of the value and the field's path ("'synth.ice40.total.lut': expected a non-negative
 * integer"), through the Diag; nothing here exits. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "exp.h"

static const char *const family_keys[EXP_HW_NFAMILIES] = {"xilinx", "ice40"};
static const char *const family_names[EXP_HW_NFAMILIES] = {"Xilinx", "iCE40"};

const char *exp_hw_family_key(ExpHwFamily f) { return family_keys[f]; }
const char *exp_hw_family_name(ExpHwFamily f) { return family_names[f]; }

/* ==== typed fields with located errors ==== */

/* What a reader needs: where strings go, where errors go, the file for their locations. */
typedef struct Hr {
  Arena *a;              /* owns the design's strings */
  Diag *d;               /* errors */
  const SrcFile *src;    /* emit.json, for line and column */
} Hr;

static Status hr_err(const Hr *r, size_t pos, const char *fmt, ...) JS_PRINTF(3, 4);
static Status hr_err(const Hr *r, size_t pos, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(r->d, DIAG_ERROR, diag_loc_at(r->src, pos), fmt, ap);
  va_end(ap);
  return JS_ERR;
}

/* "path.key" (or key at the top level) for messages; key alone when memory ran out. */
static const char *field(const Hr *r, const char *path, const char *key) {
  const char *f = path ? arena_printf(r->a, "%s.%s", path, key) : key;
  return f ? f : key;
}

static const char *const kind_names[] = {"null", "a boolean", "a number", "a string", "an array", "an object"};

/* obj.key of kind k into *out; absent: NULL when optional, else an error at obj. */
static Status get(const Hr *r, const JVal *obj, const char *path, const char *key, JKind k, bool optional,
                  const JVal **out) {
  *out = json_get(obj, key);
  if (!*out && optional) return JS_OK;
  if (*out && (*out)->kind == k) return JS_OK;
  return hr_err(r, *out ? (*out)->pos : obj->pos, "'%s': expected %s%s", field(r, path, key), kind_names[k],
                *out ? "" : ", found none");
}

/* A string; absent and optional: "". */
static Status get_str(const Hr *r, const JVal *obj, const char *path, const char *key, bool optional, const char **out) {
  const JVal *v;
  Status st = get(r, obj, path, key, J_STR, optional, &v);
  *out = v ? v->str : "";
  return st;
}

static Status get_bool(const Hr *r, const JVal *obj, const char *path, const char *key, bool optional, bool *out) {
  const JVal *v;
  Status st = get(r, obj, path, key, J_BOOL, optional, &v);
  *out = v && v->b;
  return st;
}

/* A non-negative integer; absent and optional: 0. */
static Status get_uint(const Hr *r, const JVal *obj, const char *path, const char *key, bool optional, uint64_t *out) {
  const JVal *v = json_get(obj, key);
  *out = 0;
  if (!v && optional) return JS_OK;
  if (v && json_uint(v, out)) return JS_OK;
  return hr_err(r, v ? v->pos : obj->pos, "'%s': expected a non-negative integer%s", field(r, path, key),
                v ? "" : ", found none");
}

/* A number or null (NAN), absent allowed (NAN); a number must lie in [lo, hi]. */
static Status get_num_or_null(const Hr *r, const JVal *obj, const char *path, const char *key, double lo, double hi,
                              double *out) {
  const JVal *v = json_get(obj, key);
  *out = NAN;
  if (!v || v->kind == J_NULL) return JS_OK;
  if (v->kind != J_NUM) return hr_err(r, v->pos, "'%s': expected a number or null", field(r, path, key));
  if (isnan(*out = json_num(v))) return diag_oom(r->d);
  if (*out >= lo && *out <= hi) return JS_OK;
  if (isinf(hi)) return hr_err(r, v->pos, "'%s': expected a non-negative number, got %.*s", field(r, path, key), (int)v->len, v->str);
  return hr_err(r, v->pos, "'%s': expected a number from %g to %g, got %.*s", field(r, path, key), lo, hi, (int)v->len,
                v->str);
}

/* An optional array whose items are all of kind k. */
static Status get_arr_of(const Hr *r, const JVal *obj, const char *path, const char *key, JKind k, const JVal **out) {
  Status st = get(r, obj, path, key, J_ARR, true, out);
  for (int i = 0; !st && *out && i < (*out)->n; i++)
    if ((*out)->items[i].kind != k)
      st = hr_err(r, (*out)->items[i].pos, "'%s[%d]': expected %s", field(r, path, key), i, kind_names[k]);
  return st;
}

/* "path[i]" for messages. */
static const char *item_path(const Hr *r, const char *path, const char *key, int i) {
  const char *f = arena_printf(r->a, "%s[%d]", field(r, path, key), i);
  return f ? f : key;
}

/* ==== the parts of emit.json ==== */

/* obj.key as resource counts (lut, ff, dsp, carry: each required); absent allowed when optional. */
static Status read_res(const Hr *r, const JVal *obj, const char *path, const char *key, bool optional, ExpHwRes *res) {
  const JVal *v;
  *res = (ExpHwRes){0};
  Status st = get(r, obj, path, key, J_OBJ, optional, &v);
  if (st || !v) return st;
  const char *p = field(r, path, key);
  st = get_uint(r, v, p, "lut", false, &res->lut);
  if (!st) st = get_uint(r, v, p, "ff", false, &res->ff);
  if (!st) st = get_uint(r, v, p, "dsp", false, &res->dsp);
  if (!st) st = get_uint(r, v, p, "carry", false, &res->carry);
  res->have = st == JS_OK;
  return st;
}

/* "estimate_xilinx", "estimate_ice40" of obj (optional). */
static Status read_estimates(const Hr *r, const JVal *obj, const char *path, ExpHwRes est[EXP_HW_NFAMILIES]) {
  Status st = JS_OK;
  for (int f = 0; !st && f < EXP_HW_NFAMILIES; f++) {
    const char *key = arena_printf(r->a, "estimate_%s", family_keys[f]);
    st = key ? read_res(r, obj, path, key, true, &est[f]) : diag_oom(r->d);
  }
  return st;
}

/* One of design.layers: its name, counts and per-family numbers are checked, not kept. */
static Status read_layer(const Hr *r, const JVal *v, const char *path) {
  static const char *const counts[] = {"n", "width", "stage", "adders", "adder_bits", "multipliers", "mult_bits", "reg_bits"};
  const char *s;
  uint64_t u;
  ExpHwRes est[EXP_HW_NFAMILIES], syn;
  Status st = get_str(r, v, path, "name", false, &s);
  if (!st) st = get_str(r, v, path, "module", true, &s);
  for (size_t k = 0; !st && k < sizeof counts / sizeof *counts; k++) st = get_uint(r, v, path, counts[k], true, &u);
  if (!st) st = read_estimates(r, v, path, est);
  for (int f = 0; !st && f < EXP_HW_NFAMILIES; f++) st = read_res(r, v, path, family_keys[f], true, &syn);
  return st;
}

static Status read_design(const Hr *r, const JVal *top, ExpHwDesign *h) {
  const JVal *dv, *layers = NULL, *io;
  Status st = get(r, top, NULL, "design", J_OBJ, true, &dv);
  if (st || !dv) return st;
  h->has_design = true;
  st = get_uint(r, dv, "design", "latency_cycles", false, &h->latency_cycles);
  if (!st) st = get(r, dv, "design", "input", J_OBJ, true, &io);
  if (!st) st = get(r, dv, "design", "output", J_OBJ, true, &io);
  if (!st) st = read_estimates(r, dv, "design", h->estimate);
  if (!st) st = get_arr_of(r, dv, "design", "layers", J_OBJ, &layers);
  for (int i = 0; !st && layers && i < layers->n; i++) st = read_layer(r, &layers->items[i], item_path(r, "design", "layers", i));
  h->nlayers = !st && layers ? layers->n : 0;
  return st;
}

/* synth.<family>: total (required), part, fmax_mhz and latency_ns (number or null), seconds. */
static Status read_synth_family(const Hr *r, const JVal *sv, ExpHwFamily f, ExpHwSynth *out) {
  const JVal *v;
  const char *path = arena_printf(r->a, "synth.%s", family_keys[f]);
  *out = (ExpHwSynth){.part = "", .fmax_mhz = NAN, .latency_ns = NAN, .seconds = NAN};
  Status st = path ? get(r, sv, "synth", family_keys[f], J_OBJ, true, &v) : diag_oom(r->d);
  if (st || !v) return st;
  out->ran = true;
  st = read_res(r, v, path, "total", false, &out->total);
  if (!st) st = get_str(r, v, path, "part", true, &out->part);
  if (!st) st = get_num_or_null(r, v, path, "fmax_mhz", 0, INFINITY, &out->fmax_mhz);
  if (!st) st = get_num_or_null(r, v, path, "latency_ns", 0, INFINITY, &out->latency_ns);
  if (!st) st = get_num_or_null(r, v, path, "seconds", 0, INFINITY, &out->seconds);
  return st;
}

static Status read_synth(const Hr *r, const JVal *top, ExpHwDesign *h) {
  const JVal *sv;
  Status st = get(r, top, NULL, "synth", J_OBJ, true, &sv);
  for (int f = 0; f < EXP_HW_NFAMILIES; f++) h->synth[f] = (ExpHwSynth){.part = "", .fmax_mhz = NAN, .latency_ns = NAN, .seconds = NAN};
  for (int f = 0; !st && sv && f < EXP_HW_NFAMILIES; f++) st = read_synth_family(r, sv, (ExpHwFamily)f, &h->synth[f]);
  return st;
}

/* verify[i]: sim and ran required; agree, samples, mismatches, why optional. */
static Status read_verify_item(const Hr *r, const JVal *v, const char *path, ExpHwVerify *out) {
  Status st = get_str(r, v, path, "sim", false, &out->sim);
  if (!st) st = get_bool(r, v, path, "ran", false, &out->ran);
  if (!st) st = get_bool(r, v, path, "agree", true, &out->agree);
  if (!st) st = get_uint(r, v, path, "samples", true, &out->samples);
  if (!st) st = get_uint(r, v, path, "mismatches", true, &out->mismatches);
  if (!st) st = get_str(r, v, path, "why", true, &out->why);
  if (!st && out->mismatches > out->samples)
    st = hr_err(r, json_get(v, "mismatches")->pos, "'%s.mismatches': %llu is more than the %llu samples", path,
                (unsigned long long)out->mismatches, (unsigned long long)out->samples);
  return st;
}

static Status read_verify(const Hr *r, const JVal *top, ExpHwDesign *h) {
  const JVal *vs;
  Status st = get_arr_of(r, top, NULL, "verify", J_OBJ, &vs);
  if (st || !vs) return st;
  if (!(h->verify = arena_alloc(r->a, (size_t)(vs->n + 1) * sizeof *h->verify))) return diag_oom(r->d);
  for (int i = 0; !st && i < vs->n; i++) st = read_verify_item(r, &vs->items[i], item_path(r, NULL, "verify", i), &h->verify[i]);
  h->nverify = st ? 0 : vs->n;
  return st;
}

/* The top level: model and top required; checkpoint, targets, test_rows, test_accuracy,
 * program optional. */
static Status read_top(const Hr *r, const JVal *top, ExpHwDesign *h) {
  const JVal *v;
  uint64_t u;
  if (top->kind != J_OBJ) return hr_err(r, top->pos, "expected an object (emit.json's top level)");
  Status st = get_str(r, top, NULL, "model", false, &h->model);
  if (!st) st = get_str(r, top, NULL, "top", false, &h->top);
  if (!st) st = get_str(r, top, NULL, "checkpoint", true, &h->checkpoint);
  if (!st) st = get_arr_of(r, top, NULL, "targets", J_STR, &v);
  if (!st) st = get_uint(r, top, NULL, "test_rows", true, &u);
  if (!st) st = get_num_or_null(r, top, NULL, "test_accuracy", 0, 1, &h->test_accuracy);
  if (!st) st = get(r, top, NULL, "program", J_OBJ, true, &v);
  if (!st) st = read_design(r, top, h);
  if (!st) st = read_synth(r, top, h);
  if (!st) st = read_verify(r, top, h);
  return st;
}

/* ==== the directory ==== */

bool exp_hw_is_emit_dir(const char *dir) {
  char p[4200];
  struct stat st;
  int n = snprintf(p, sizeof p, "%s/emit.json", dir);
  return n > 0 && (size_t)n < sizeof p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

Status exp_hw_read(Arena *a, const char *dir, ExpHwDesign *out, Diag *d) {
  size_t n = strlen(dir);
  char *path = arena_printf(a, "%s%semit.json", dir, n && dir[n - 1] == '/' ? "" : "/");
  SrcFile *f;
  *out = (ExpHwDesign){.dir = dir, .model = "", .top = "", .checkpoint = "", .test_accuracy = NAN};
  if (!path) return diag_oom(d);
  Status st = diag_read_file(a, path, &f, d);
  if (st) return st;
  Hr r = {a, d, f};
  JVal v;
  JsonError e;
  if (!json_parse(a, f->text, f->len, "emit.json", &v, &e))
    return e.oom ? diag_oom(d) : hr_err(&r, e.pos, "%s", e.msg);
  return read_top(&r, &v, out);
}

bool exp_hw_luts(const ExpHwDesign *h, double *luts, bool *estimated) {
  const ExpHwSynth *s = &h->synth[EXP_HW_XILINX];
  *estimated = !s->ran;
  *luts = NAN;
  if (s->ran) *luts = (double)s->total.lut;
  else if (h->estimate[EXP_HW_XILINX].have) *luts = (double)h->estimate[EXP_HW_XILINX].lut;
  return s->ran || h->estimate[EXP_HW_XILINX].have;
}

/* ==== the table ==== */

/* The simulators named in any design's verify, in order of first appearance, into sims[]
 * (room for every entry); returns how many. */
static int hw_sims(const ExpHwDesign *h, int n, const char **sims) {
  int ns = 0;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < h[i].nverify; k++) {
      int j = 0;
      while (j < ns && strcmp(sims[j], h[i].verify[k].sim)) j++;
      if (j == ns) sims[ns++] = h[i].verify[k].sim;
    }
  return ns;
}

static void hw_head(StrBuf *sb, const char *const *sims, int ns) {
  sb_puts(sb, "<table class=\"hw\">\n<tr><th class=\"l\" rowspan=\"2\">directory</th><th class=\"l\" rowspan=\"2\">model</th>"
              "<th class=\"l\" rowspan=\"2\">top</th><th rowspan=\"2\">test accuracy</th><th rowspan=\"2\">latency (cycles)</th>");
  for (int f = 0; f < EXP_HW_NFAMILIES; f++)
    sb_printf(sb, "<th colspan=\"%d\">%s</th>", f == EXP_HW_ICE40 ? 7 : 4, family_names[f]);
  if (ns == 0) sb_puts(sb, "<th class=\"l\" rowspan=\"2\">verification</th>");
  else sb_printf(sb, "<th colspan=\"%d\">verification</th>", ns);
  sb_puts(sb, "</tr>\n<tr>");
  for (int f = 0; f < EXP_HW_NFAMILIES; f++)
    sb_puts(sb, "<th>LUT</th><th>FF</th><th>DSP</th><th>carry</th>");
  sb_puts(sb, "<th class=\"l\">part</th><th>Fmax (MHz)</th><th>latency (ns)</th>");
  for (int j = 0; j < ns; j++) sb_puts(sb, "<th class=\"l\">"), sb_put_html(sb, sims[j]), sb_puts(sb, "</th>");
  sb_puts(sb, "</tr>\n");
}

/* A family's four counts: synthesis's, else the estimate in italics marked ~, else empty. */
static void hw_res_cells(StrBuf *sb, const ExpHwDesign *h, ExpHwFamily f) {
  const ExpHwRes *r = h->synth[f].ran ? &h->synth[f].total : &h->estimate[f];
  const char *td = h->synth[f].ran ? "<td>" : "<td class=\"est\">~";
  if (!r->have) {
    sb_puts(sb, "<td></td><td></td><td></td><td></td>");
    return;
  }
  uint64_t v[] = {r->lut, r->ff, r->dsp, r->carry};
  for (int k = 0; k < 4; k++) sb_printf(sb, "%s%llu</td>", td, (unsigned long long)v[k]);
}

/* A number to `prec` places, empty when none (NAN; or 0 when `positive`: hw_synth's "not
 * placed"). */
static void hw_num_cell(StrBuf *sb, double v, int prec, bool positive) {
  if (isnan(v) || (positive && v <= 0)) sb_puts(sb, "<td></td>");
  else sb_printf(sb, "<td>%.*f</td>", prec, v);
}

/* "agree, 2000 samples", "differs: 3 of 2000 samples (why)", "not run: why". */
static void hw_verify_cell(StrBuf *sb, const ExpHwDesign *h, const char *sim) {
  const ExpHwVerify *v = NULL;
  for (int k = 0; k < h->nverify && !v; k++)
    if (!sim || strcmp(h->verify[k].sim, sim) == 0) v = &h->verify[k];
  if (v && v->ran && v->agree) sb_printf(sb, "<td class=\"l ok\">agree, %llu samples", (unsigned long long)v->samples);
  else if (v && v->ran)
    sb_printf(sb, "<td class=\"l failed\">differs: %llu of %llu samples", (unsigned long long)v->mismatches,
              (unsigned long long)v->samples);
  else sb_puts(sb, "<td class=\"l pending\">not run");
  if (v && !(v->ran && v->agree) && v->why[0]) sb_puts(sb, v->ran ? " (" : ": "), sb_put_html(sb, v->why);
  sb_puts(sb, v && v->ran && !v->agree && v->why[0] ? ")</td>" : "</td>");
}

static void hw_row(StrBuf *sb, const ExpHwDesign *h, const char *const *sims, int ns) {
  sb_puts(sb, "<tr><td class=\"l\"><code>");
  sb_put_html(sb, h->dir);
  sb_puts(sb, "</code></td><td class=\"l\">");
  sb_put_html(sb, h->model);
  sb_puts(sb, "</td><td class=\"l\">");
  sb_put_html(sb, h->top);
  sb_puts(sb, "</td>");
  hw_num_cell(sb, h->test_accuracy, 4, false);
  if (h->has_design) sb_printf(sb, "<td>%llu</td>", (unsigned long long)h->latency_cycles);
  else sb_puts(sb, "<td>C only</td>");
  for (int f = 0; f < EXP_HW_NFAMILIES; f++) hw_res_cells(sb, h, (ExpHwFamily)f);
  sb_puts(sb, "<td class=\"l\">"), sb_put_html(sb, h->synth[EXP_HW_ICE40].part), sb_puts(sb, "</td>");
  hw_num_cell(sb, h->synth[EXP_HW_ICE40].fmax_mhz, 1, true);
  hw_num_cell(sb, h->synth[EXP_HW_ICE40].latency_ns, 1, true);
  for (int j = 0; j < (ns ? ns : 1); j++) hw_verify_cell(sb, h, ns ? sims[j] : NULL);
  sb_puts(sb, "</tr>\n");
}

void exp_hw_table_html(StrBuf *sb, const ExpHwDesign *h, int n) {
  int cap = 1;
  for (int i = 0; i < n; i++) cap += h[i].nverify;
  const char **sims = ir_malloc((size_t)cap * sizeof *sims);
  if (!sims) {
    sb->oom = true;
    return;
  }
  int ns = hw_sims(h, n, sims);
  sb_puts(sb, "<div class=\"wide\">\n");
  hw_head(sb, sims, ns);
  for (int i = 0; i < n; i++) hw_row(sb, &h[i], sims, ns);
  sb_puts(sb, "</table>\n</div>\n");
  ir_free(sims);
}
