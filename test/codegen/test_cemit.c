/* test_cemit.c — the C99 emission (codegen/cemit.c) against the C integer executor, bit for bit.
 *
 * For jsc_tiny, jsc_big and hls4ml_jsc at int8, int4, the mixed set that rounds by floor and
 * int24 (64-bit codes), a functional model with add, sub and mul (and a set whose data_out
 * makes the next data_in a saturating left shift), and a hand-built program with every step
 * kind: random trained-like weights, a few hundred standardised synthetic JSC rows and rows of
 * special inputs (NaN, infinities, ties, -0), then the unit is compiled with the system C
 * compiler under -std=c99 -Wall -Wextra -pedantic -Werror and
 *   - the driver (cg_c_driver) reads the rows' input codes; every `o` line, and every `t` line
 *     of a traced sample, == rt_int_run's codes;
 *   - a small main calling PREFIX_infer on the float rows gives rt_int_run's logits, bit for bit.
 * Also: a golden rendering of jsc_tiny int8 with fixed weights (test/golden/jsc_tiny.int8.c;
 * JSCC_UPDATE_GOLDEN=1 rewrites it), the driver's errors on malformed input, the refusals
 * (a prefix that is not an identifier, an input quantized twice differently), and a control:
 * a corrupted weight is caught.  Skipped when there is no `cc`.  JSCC_KEEP_CEMIT=1 keeps the
 * scratch directory (/tmp/jscc_cemit_*) with the last rendering, its driver and their inputs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "frontend.h"
#include "hdl.h"
#include "passes.h"
#include "runtime.h"
#include "fixture.h"

typedef struct FmtSet {
  const char *name;
  const char *cfg; /* the quantize pass's default config */
} FmtSet;

static const FmtSet sets[] = {
    {"int8", "{name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, weight_frac_width=4, "
             "bias_width=8, bias_frac_width=4}"},
    {"int4", "{name=integer, data_in_width=4, data_in_frac_width=2, weight_width=4, weight_frac_width=2, "
             "bias_width=4, bias_frac_width=2}"},
    {"mixed-floor", "{name=integer, floor=true, data_in_width=8, data_in_frac_width=3, weight_width=6, "
                    "weight_frac_width=5, bias_width=12, bias_frac_width=10}"},
    {"int24", "{name=integer, data_in_width=24, data_in_frac_width=12, weight_width=20, weight_frac_width=16, "
              "bias_width=20, bias_frac_width=16}"}, /* 64-bit codes */
    /* data_out at 2^-2, the next data_in at 2^-4: a saturating left shift */
    {"lshift", "{name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, weight_frac_width=4, "
               "bias_width=8, bias_frac_width=4, data_out_width=6, data_out_frac_width=2}"},
};

enum { ROWS = 300, SPECIAL = 24, TRACED = 7 };

static RtDataset data;     /* standardised synthetic JSC rows */
static char dir[64];       /* the scratch directory */
static bool have_cc;

static int setup(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, stderr);
  RtDataOpts o;
  rt_data_opts_default(&o);
  o.synth_n = 3000;
  o.no_cache = true;
  Status st = rt_data_load(&o, &data, &d);
  diag_free(&d);
  strcpy(dir, "/tmp/jscc_cemit_XXXXXX");
  have_cc = system("cc --version >/dev/null 2>&1") == 0;
  return st == JS_OK && mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  rt_data_free(&data);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return getenv("JSCC_KEEP_CEMIT") || system(cmd) == 0 ? 0 : -1;
}

/* ---- files and the compiler ---- */

static void write_text(const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  assert_int_equal(fclose(f), 0);
}

/* A shell command in the scratch directory; its exit status. */
static int sh(const char *fmt, ...) {
  char cmd[1024], full[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  snprintf(full, sizeof full, "cd '%s' && %s", dir, cmd);
  int r = system(full);
  return r == -1 ? -1 : WIFEXITED(r) ? WEXITSTATUS(r) : 128;
}

#define CFLAGS "cc -std=c99 -O2 -Wall -Wextra -pedantic -Werror"

/* PREFIX_infer on float rows (hex floats in, the logits' bit patterns out). */
static const char float_main[] =
    "#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
    "void jsc_infer(const float x[IN], float y[OUT]);\n"
    "int main(int argc, char **argv) {\n"
    "  FILE *in = argc == 3 ? fopen(argv[1], \"r\") : NULL, *out = argc == 3 ? fopen(argv[2], \"w\") : NULL;\n"
    "  float x[IN], y[OUT];\n  char tok[64];\n  int j = 0;\n"
    "  if (!in || !out) return 2;\n"
    "  while (fscanf(in, \"%63s\", tok) == 1) {\n"
    "    x[j++] = strtof(tok, NULL);\n"
    "    if (j < IN) continue;\n"
    "    jsc_infer(x, y);\n"
    "    for (j = 0; j < OUT; j++) {\n"
    "      uint32_t b;\n      memcpy(&b, &y[j], sizeof b);\n      fprintf(out, \"%08lx \", (unsigned long)b);\n"
    "    }\n"
    "    fputc('\\n', out);\n    j = 0;\n"
    "  }\n"
    "  fclose(in);\n  return fclose(out) != 0 || j != 0;\n"
    "}\n";

/* The rows: ROWS of the test split, then SPECIAL rows of special values mixed with normal ones. */
static float *rows_of(int F) {
  float *x = malloc(sizeof(float) * (size_t)((ROWS + SPECIAL) * F));
  assert_true(F == RT_JSC_FEATURES && data.test.n >= ROWS);
  memcpy(x, data.test.x, sizeof(float) * (size_t)(ROWS * F));
  const float special[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 0.03125f, -0.03125f, 0.09375f, -0.09375f,
                           2.5f / 16, -2.5f / 16, -0.0f, 7.96875f, -8.03125f, 1e-40f, 255.5f / 16, 0.5f, -1.5f};
  Rng rng;
  rt_rng_seed(&rng, 8);
  for (int i = ROWS * F; i < (ROWS + SPECIAL) * F; i++)
    x[i] = i % 3 ? special[rt_rng_below(&rng, sizeof special / sizeof *special)] : (float)rt_rng_normal(&rng);
  return x;
}

/* ---- comparing ---- */

/* Mismatches between the driver's trace.txt and rt_int_run's codes; prints the first few. */
static int64_t compare_trace(const IntProg *p, const int64_t *trace, int64_t rows, const char *text) {
  int kout = -1;
  for (int k = 0; k < p->nnodes; k++)
    if (p->nodes[k].val == p->out) kout = k;
  assert_true(kout >= 0);
  int64_t bad = 0, olines = 0, tlines = 0;
  for (const char *l = text; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0)) {
    char *e;
    bool o = *l == 'o';
    long layer = o ? kout : strtol(l + 1, &e, 10), s = strtol(o ? l + 1 : e, &e, 10);
    if ((*l != 'o' && *l != 't') || layer < 0 || layer >= p->nnodes || s < 0 || s >= rows || (!o && s != TRACED)) {
      printf("  unexpected line: %.*s\n", (int)strcspn(l, "\n"), l);
      bad++;
      continue;
    }
    olines += o, tlines += !o;
    const IpNode *nd = &p->nodes[layer];
    for (int j = 0; j < p->vals[nd->val].n; j++) {
      int64_t want = trace[s * p->trace_width + nd->off + j], got = strtoll(e, &e, 10);
      if (got != want && bad++ < 3)
        printf("  %c line: layer %ld sample %ld element %d: C unit %lld, executor %lld\n", *l, layer, s, j, (long long)got,
               (long long)want);
    }
    if (strspn(e, " ") != strcspn(e, "\n") && bad++ < 3) printf("  trailing text on line: %.*s\n", (int)strcspn(l, "\n"), l);
  }
  if (olines != rows || tlines != p->nnodes) {
    printf("  %lld o lines and %lld t lines, expected %lld and %d\n", (long long)olines, (long long)tlines, (long long)rows,
           p->nnodes);
    bad++;
  }
  return bad;
}

/* Mismatches between float_main's logits bits and rt_int_run's. */
static int64_t compare_logits(const IntProg *p, const float *logits, int64_t rows, const char *text) {
  int64_t bad = 0, i = 0;
  for (char *e = (char *)text; i < rows * p->classes; i++) {
    char *s = e;
    uint32_t got = (uint32_t)strtoul(s, &e, 16), want;
    memcpy(&want, &logits[i], sizeof want);
    if (e == s) return bad + rows * p->classes - i;
    if (got != want && bad++ < 3)
      printf("  logits row %lld class %lld: C unit %08lx, executor %08lx\n", (long long)(i / p->classes),
             (long long)(i % p->classes), (unsigned long)got, (unsigned long)want);
  }
  return bad;
}

/* The input codes, one row a line, as the program's IP_QUANT makes them. */
static void write_codes(const IntProg *p, const float *x, int64_t rows) {
  const IpStep *q = &p->steps[0];
  assert_int_equal(q->kind, IP_QUANT);
  StrBuf sb;
  sb_init(&sb);
  for (int64_t r = 0; r < rows; r++) {
    for (int j = 0; j < p->features; j++)
      sb_printf(&sb, "%s%lld", j ? " " : "",
                (long long)rt_int_quant_in((double)x[r * p->features + j], q->sh, q->lo, q->hi, q->floor));
    sb_putc(&sb, '\n');
  }
  write_text("inputs.txt", sb_str(&sb));
  sb_clear(&sb);
  for (int64_t i = 0; i < rows * p->features; i++) sb_printf(&sb, "%a%c", (double)x[i], (i + 1) % p->features ? ' ' : '\n');
  write_text("floats.txt", sb_str(&sb));
  sb_free(&sb);
}

/* Render p, compile it with the driver and float_main, run both on x; the mismatches. */
static int64_t check_prog(const IntProg *p, const char *label, const float *x, int64_t rows) {
  Diag d;
  diag_init(&d, stderr);
  StrBuf unit, drv;
  sb_init(&unit);
  sb_init(&drv);
  if (cg_c_render(p, "jsc", &unit, &d)) fail_msg("%s: %s", label, sb_str(&d.text));
  cg_c_driver(&drv, p, "jsc");
  write_text("unit.c", sb_str(&unit));
  write_text("driver.c", sb_str(&drv));
  write_text("fmain.c", float_main);
  write_codes(p, x, rows);
  if (sh(CFLAGS " -c unit.c && " CFLAGS " driver.c unit.o -o drv -lm && " CFLAGS " -DIN=%d -DOUT=%d fmain.c unit.o -o fm -lm",
         p->features, p->classes))
    fail_msg("%s: the generated C does not compile cleanly (%s/unit.c)", label, dir);
  if (sh("./drv inputs.txt trace.txt %d && ./fm floats.txt logits.txt", TRACED)) fail_msg("%s: a generated program failed", label);

  float *logits = malloc(sizeof(float) * (size_t)(rows * p->classes));
  int64_t *trace = malloc(sizeof(int64_t) * (size_t)(rows * p->trace_width));
  assert_int_equal(rt_int_run(p, x, rows, logits, trace, &d), JS_OK);
  char path[256];
  snprintf(path, sizeof path, "%s/trace.txt", dir);
  char *tt = tl_read(path, NULL);
  snprintf(path, sizeof path, "%s/logits.txt", dir);
  char *lt = tl_read(path, NULL);
  assert_true(tt && lt);
  int64_t bad = compare_trace(p, trace, rows, tt), badl = compare_logits(p, logits, rows, lt);
  int kinds[8] = {0};
  for (int i = 0; i < p->nsteps; i++) kinds[p->steps[i].kind]++;
  printf("%-28s %4lld rows %2d layers, %d-bit codes, steps q%d mv%d sc%d rq%d relu%d add%d sub%d mul%d: codes %s, "
         "logits %s\n", label, (long long)rows, p->nnodes, p->bits, kinds[0], kinds[1], kinds[2], kinds[3], kinds[4],
         kinds[5], kinds[6], kinds[7], bad ? "DIFFER" : "exact", badl ? "DIFFER" : "exact");
  free(tt);
  free(lt);
  free(logits);
  free(trace);
  sb_free(&unit);
  sb_free(&drv);
  diag_free(&d);
  return bad + badl;
}

/* One model with one format set; the number of its saturating left shifts. */
static int check_model(const char *path, const char *text, const FmtSet *fs) {
  Diag d;
  diag_init(&d, stderr);
  FxModel m;
  if (fx_load(&m, path, text, fs->cfg, false, &d)) fail_msg("%s %s: %s", path, fs->name, sb_str(&d.text));
  RtState *s = fx_trained_state(m.g, 11);
  IntProg *p = NULL;
  if (cg_int_lower(m.g, fx_state_param, s, &p, &d)) fail_msg("%s %s: %s", path, fs->name, sb_str(&d.text));
  float *x = rows_of(p->features);
  char label[128];
  snprintf(label, sizeof label, "%s %s", m.g->name, fs->name);
  assert_int_equal(check_prog(p, label, x, ROWS + SPECIAL), 0);
  int lshifts = 0;
  for (int i = 0; i < p->nsteps; i++) lshifts += p->steps[i].kind == IP_REQUANT && p->steps[i].sh < 0;
  free(x);
  cg_int_free(p);
  rt_state_free(s);
  fx_unload(&m);
  diag_free(&d);
  return lshifts;
}

static void test_examples(void **state) {
  (void)state;
  if (!have_cc) {
    printf("skipped: no C compiler (cc) to build the generated C\n");
    skip();
  }
  const char *models[] = {"examples/jsc_tiny.jsc", "examples/jsc_big.jsc", "examples/hls4ml_jsc.jsc"};
  for (size_t i = 0; i < sizeof models / sizeof *models; i++)
    for (size_t k = 0; k < 4; k++) check_model(models[i], NULL, &sets[k]);
}

/* add, sub and mul of quantized tensors (aligned points), x read by two linears (one input),
 * and data_out making a left shift. */
static void test_functional(void **state) {
  (void)state;
  if (!have_cc) {
    printf("skipped: no C compiler (cc) to build the generated C\n");
    skip();
  }
  const char *text = "model F {\n"
                     "  input x: f32[B, 16]\n"
                     "  param w: f32[8, 16] = uniform(-0.5, 0.5)\n"
                     "  param b: f32[8] = uniform(-0.25, 0.25)\n"
                     "  fc = Linear(16, 8)\n"
                     "  head = Linear(8, 5)\n"
                     "  drop = Dropout(0.3)\n"
                     "  h = relu(linear(x, w, b))\n"
                     "  g = drop(fc(x)).relu()\n"
                     "  y = h + g\n"
                     "  z = y - h\n"
                     "  return head(z * y)\n"
                     "}\n";
  check_model("functional.jsc", text, &sets[0]);
  check_model("functional.jsc", text, &sets[2]);
  assert_true(check_model("functional.jsc", text, &sets[4]) > 0);
}

/* ---- a hand-built program with every step kind ---- */

typedef struct Build {
  IntProg p;
  IpVal vals[16];
  IpStep steps[16];
  IpNode nodes[16];
  int64_t consts[64];
  Node names[16];
} Build;

static int add_val(Build *b, int n, int frac, double lo, double hi) {
  b->vals[b->p.nvals] = (IpVal){.n = n, .frac = frac, .lo = lo, .hi = hi};
  return b->p.nvals++;
}

/* A step computing a new value, traced as a layer of its own called `name`. */
static IpStep *add_step(Build *b, IpKind k, const char *name, int a, int n, int frac, double lo, double hi) {
  int v = add_val(b, n, frac, lo, hi);
  Node *nd = &b->names[b->p.nsteps];
  nd->name = name;
  nd->target = name;
  IpStep *s = &b->steps[b->p.nsteps++];
  *s = (IpStep){.kind = k, .dst = v, .a = a, .b = -1, .node = nd, .w = -1, .c = -1};
  b->nodes[b->p.nnodes++] = (IpNode){.node = nd, .val = v, .off = b->p.trace_width};
  b->p.trace_width += n;
  return s;
}

static int64_t add_consts(Build *b, const int64_t *c, int n) {
  memcpy(b->consts + b->p.nconsts, c, sizeof(int64_t) * (size_t)n);
  b->p.nconsts += n;
  return b->p.nconsts - n;
}

static double rq(double v, int sh, bool floor_, double lo, double hi) {
  v = sh <= 0 ? ldexp(v, -sh) : floor_ ? floor(ldexp(v, -sh)) : nearbyint(ldexp(v, -sh));
  return fmax(lo, fmin(hi, v));
}

static void requant(Build *b, const char *name, int a, int sh, bool floor_, int64_t lo, int64_t hi) {
  const IpVal *av = &b->vals[a];
  IpStep *s = add_step(b, IP_REQUANT, name, a, av->n, av->frac - sh, rq(av->lo, sh, floor_, (double)lo, (double)hi),
                       rq(av->hi, sh, floor_, (double)lo, (double)hi));
  s->sh = sh;
  s->floor = floor_;
  s->lo = lo;
  s->hi = hi;
}

/* q(floor) -> fc -> requant >>4 -> relu -> bn -> << 2 (saturating) -> clamp -> add, sub, mul
 * -> requant >> 7 floor; the bounds worked out by hand from the codes. */
static void build_all_kinds(Build *b) {
  memset(b, 0, sizeof *b);
  b->p = (IntProg){.model = "AllKinds", .features = 4, .classes = 3, .vals = b->vals, .steps = b->steps,
                   .nodes = b->nodes, .consts = b->consts};
  IpStep *q = add_step(b, IP_QUANT, "q", -1, 4, 3, -32, 31);
  *q = (IpStep){.kind = IP_QUANT, .dst = q->dst, .a = -1, .b = -1, .node = q->node, .w = -1, .c = -1, .sh = 3, .lo = -32,
                .hi = 31, .floor = true};
  const int64_t W[12] = {7, -16, 3, 15, -9, 11, 0, -4, 13, 5, -12, 2}, B[3] = {40, -200, 3};
  /* every partial sum within 32 * (|W| row sums 41, 24, 32) + |B|: +-1352 */
  IpStep *fc = add_step(b, IP_MATVEC, "fc", q->dst, 3, 7, -(41 * 32 + 40), 41 * 32 + 40);
  fc->nin = 4;
  fc->w = add_consts(b, W, 12);
  fc->c = add_consts(b, B, 3);
  b->p.macs = 12;
  requant(b, "rq", fc->dst, 4, false, -64, 63);
  int v2 = b->p.nvals - 1;
  IpStep *r = add_step(b, IP_RELU, "relu", v2, 3, 3, 0, 63);
  const int64_t S[3] = {21, -30, 9}, T[3] = {-500, 64, 1000};
  IpStep *sc = add_step(b, IP_SCALE, "bn", r->dst, 3, 6, -30 * 63 - 500, 21 * 63 + 1000);
  sc->w = add_consts(b, S, 3);
  sc->c = add_consts(b, T, 3);
  requant(b, "lsh", sc->dst, -2, false, -512, 511);
  requant(b, "clip", b->p.nvals - 1, 0, false, -100, 100);
  int v6 = b->p.nvals - 1;
  IpStep *ad = add_step(b, IP_ADD, "add", v6, 3, 8, -100 - 64 * 32, 100 + 63 * 32);
  ad->b = v2;
  ad->sb = 5;
  IpStep *su = add_step(b, IP_SUB, "sub", ad->dst, 3, 8, -2148 - 100, 2116 + 100);
  su->b = v6;
  IpStep *mu = add_step(b, IP_MUL, "mul", su->dst, 3, 16, -2248.0 * 100, 2248.0 * 100);
  mu->b = v6;
  requant(b, "out", mu->dst, 7, true, -2048, 2047);
  b->p.out = b->p.nvals - 1;
  b->p.bits = 19;
  b->p.i32 = true;
}

static void test_all_kinds(void **state) {
  (void)state;
  if (!have_cc) {
    printf("skipped: no C compiler (cc) to build the generated C\n");
    skip();
  }
  Build *b = malloc(sizeof *b);
  build_all_kinds(b);
  enum { F = 4, N = 500 };
  float x[N * F];
  Rng rng;
  rt_rng_seed(&rng, 3);
  for (int i = 0; i < N * F; i++) x[i] = (float)(rt_rng_normal(&rng) * 3.0);
  x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = -0.0f, x[4] = -4.0625f, x[5] = 3.9375f;
  assert_int_equal(check_prog(&b->p, "hand-built: every kind", x, N), 0);
  free(b);
}

/* A corrupted weight renders a unit that differs from the executor (the comparison can fail). */
static void test_control(void **state) {
  (void)state;
  if (!have_cc) {
    printf("skipped: no C compiler (cc) to build the generated C\n");
    skip();
  }
  Build *b = malloc(sizeof *b), *good = malloc(sizeof *good);
  build_all_kinds(b);
  build_all_kinds(good);
  b->consts[0] += 1; /* the unit's weight; the executor runs the original */
  Diag d;
  diag_init(&d, stderr);
  StrBuf unit;
  sb_init(&unit);
  assert_int_equal(cg_c_render(&b->p, "jsc", &unit, &d), JS_OK);
  StrBuf ok;
  sb_init(&ok);
  assert_int_equal(cg_c_render(&good->p, "jsc", &ok, &d), JS_OK);
  assert_string_not_equal(sb_str(&unit), sb_str(&ok));
  write_text("unit.c", sb_str(&unit));
  sb_clear(&ok);
  cg_c_driver(&ok, &good->p, "jsc");
  write_text("driver.c", sb_str(&ok));
  enum { F = 4, N = 64 };
  float x[N * F];
  for (int i = 0; i < N * F; i++) x[i] = (float)(i % 9 - 4) * 0.75f;
  write_codes(&good->p, x, N);
  assert_int_equal(sh(CFLAGS " -c unit.c && " CFLAGS " driver.c unit.o -o drv -lm && ./drv inputs.txt trace.txt %d", TRACED), 0);
  int64_t *trace = malloc(sizeof(int64_t) * (size_t)(N * good->p.trace_width));
  float logits[N * 3];
  assert_int_equal(rt_int_run(&good->p, x, N, logits, trace, &d), JS_OK);
  char path[256];
  snprintf(path, sizeof path, "%s/trace.txt", dir);
  char *tt = tl_read(path, NULL);
  printf("control (a weight code off by one, expected to differ):\n");
  assert_true(compare_trace(&good->p, trace, N, tt) > 0);
  free(tt);
  free(trace);
  sb_free(&unit);
  sb_free(&ok);
  diag_free(&d);
  free(b);
  free(good);
}

/* ---- the driver's errors ---- */

static void driver_refuses(const char *input, const char *args, const char *want) {
  write_text("bad.txt", input);
  assert_int_not_equal(sh("./drv %s 2>err.txt", args), 0);
  char path[256];
  snprintf(path, sizeof path, "%s/err.txt", dir);
  char *err = tl_read(path, NULL);
  if (!err || !strstr(err, want)) fail_msg("driver on '%s' (%s): expected '%s' in: %s", input, args, want, err ? err : "");
  free(err);
}

static void test_driver_errors(void **state) {
  (void)state;
  if (!have_cc) {
    printf("skipped: no C compiler (cc) to build the generated C\n");
    skip();
  }
  Build *b = malloc(sizeof *b);
  build_all_kinds(b);
  Diag d;
  diag_init(&d, stderr);
  StrBuf unit, drv;
  sb_init(&unit);
  sb_init(&drv);
  assert_int_equal(cg_c_render(&b->p, "jsc", &unit, &d), JS_OK);
  cg_c_driver(&drv, &b->p, "jsc");
  write_text("unit.c", sb_str(&unit));
  write_text("driver.c", sb_str(&drv));
  assert_int_equal(sh(CFLAGS " -c unit.c && " CFLAGS " driver.c unit.o -o drv -lm"), 0);
  driver_refuses("1 2 3 4\n1 2 3\n", "bad.txt out.txt", "bad.txt:2: 3 input codes, expected 4");
  driver_refuses("1 2 3 4 5\n", "bad.txt out.txt", "bad.txt:1: more than 4 input codes");
  driver_refuses("1 2 x3 4\n", "bad.txt out.txt", "bad.txt:1: code 3: 'x3' is not a decimal integer");
  driver_refuses("1 2 3.5 4\n", "bad.txt out.txt", "'3.5' is not a decimal integer");
  driver_refuses("1 2 3 40\n", "bad.txt out.txt", "code 4: 40 is outside the input's range [-32, 31]");
  driver_refuses("1 2 3 99999999999999999999\n", "bad.txt out.txt", "outside the input's range");
  driver_refuses("1 2 3 4\n", "bad.txt out.txt 1", "no sample 1 to trace: 1 samples");
  driver_refuses("1 2 3 4\n", "bad.txt out.txt -1", "is not a sample number");
  driver_refuses("1 2 3 4\n", "missing.txt out.txt", "cannot read missing.txt");
  driver_refuses("", "bad.txt", "usage:");
  /* blank lines are no samples; a line without its newline is one */
  write_text("ok.txt", "\n1 2 3 4\n  \n-32 31 0 -1");
  assert_int_equal(sh("./drv ok.txt out.txt 1"), 0);
  char path[256];
  snprintf(path, sizeof path, "%s/out.txt", dir);
  char *out = tl_read(path, NULL);
  assert_non_null(out);
  assert_non_null(strstr(out, "o 0 "));
  assert_non_null(strstr(out, "\no 1 "));
  assert_non_null(strstr(out, "\nt 10 1 "));
  assert_null(strstr(out, "t 0 0"));
  free(out);
  sb_free(&unit);
  sb_free(&drv);
  diag_free(&d);
  free(b);
}

/* ---- refusals and the golden file ---- */

static void test_refusals(void **state) {
  (void)state;
  Build *b = malloc(sizeof *b);
  build_all_kinds(b);
  Diag d;
  diag_init(&d, NULL);
  StrBuf sb;
  sb_init(&sb);
  const char *bad[] = {"", "1abc", "a-b", "jsc tiny", "\xc3\xa9t\xc3\xa9", NULL};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    sb_clear(&d.text);
    assert_int_equal(cg_c_render(&b->p, bad[i], &sb, &d), JS_ERR);
    assert_non_null(strstr(sb_str(&d.text), "is not a C identifier"));
  }
  /* a second quantization of the input, one bit finer */
  b->steps[b->p.nsteps] = b->steps[0];
  b->steps[b->p.nsteps].sh = 4;
  b->p.nsteps++;
  sb_clear(&d.text);
  assert_int_equal(cg_c_render(&b->p, "ok_1", &sb, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "quantizes its input twice with different formats"));
  sb_free(&sb);
  diag_free(&d);
  free(b);
}

static void test_golden(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, stderr);
  FxModel m;
  assert_int_equal(fx_load(&m, "examples/jsc_tiny.jsc", NULL, sets[0].cfg, false, &d), JS_OK);
  RtState *s = NULL;
  assert_int_equal(rt_state_new(m.g, &s, &d), JS_OK);
  fx_fixed_state(s, m.g);
  IntProg *p = NULL;
  assert_int_equal(cg_int_lower(m.g, fx_state_param, s, &p, &d), JS_OK);
  StrBuf sb;
  sb_init(&sb);
  assert_int_equal(cg_c_render(p, "jsc_tiny", &sb, &d), JS_OK);
  tl_check_golden("jsc_tiny.int8.c", sb_str(&sb));
  sb_free(&sb);
  cg_int_free(p);
  rt_state_free(s);
  fx_unload(&m);
  diag_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden),     cmocka_unit_test(test_refusals),      cmocka_unit_test(test_all_kinds),
      cmocka_unit_test(test_control),    cmocka_unit_test(test_driver_errors), cmocka_unit_test(test_examples),
      cmocka_unit_test(test_functional),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
