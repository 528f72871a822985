/* test_verify.c — hw_verify (hw/verify.c): an emitted design checked against the integer
 * executor.  jsc_tiny at int8 with trained-like weights, rendered with one register stage:
 *   - as rendered, it agrees on every row in Icarus and in the C compiler;
 *   - with one layer's output bus off by one (the Verilog edited after rendering), the check
 *     fails, counts the rows that differ and names that layer as the first that differs, with
 *     the element and both codes; with the C's output off by one after the last layer, every
 *     row differs and the message names the output element;
 *   - the trace reader refuses what is not a trace line, naming the file and line.
 * The simulations skip (with a message) where iverilog or cc is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../codegen/fixture.h"
#include "hw.h"

enum { ROWS = 120 };

static const char *const int8 = "{name=integer, data_in_width=8, data_in_frac_width=4, weight_width=8, "
                                "weight_frac_width=4, bias_width=8, bias_frac_width=4}";

typedef struct Fx {
  FxModel m;
  RtState *s;
  IntProg *p;
  CgHwDesign *h;
  float x[ROWS * 16];
  char dir[64];
} Fx;

static int setup(void **state) {
  Fx *f = calloc(1, sizeof *f);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(fx_load(&f->m, "examples/jsc_tiny.jsc", NULL, int8, true, &d), JS_OK);
  f->s = fx_trained_state(f->m.g, 11);
  assert_int_equal(cg_int_lower(f->m.g, fx_state_param, f->s, &f->p, &d), JS_OK);
  CgHwOpts o = {.top = "tiny", .pipeline = 1};
  assert_int_equal(cg_verilog_render(f->p, &o, &f->h, &d), JS_OK);
  uint64_t r = 12345; /* rows spread over the input format's range and past it */
  for (int i = 0; i < ROWS * 16; i++) {
    r = r * 6364136223846793005u + 1442695040888963407u;
    f->x[i] = (float)((double)(r >> 11) / 9007199254740992.0 * 20.0 - 10.0);
  }
  strcpy(f->dir, "/tmp/jscc_verify_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  diag_free(&d);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  Fx *f = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", f->dir);
  cg_hw_design_free(f->h);
  cg_int_free(f->p);
  rt_state_free(f->s);
  fx_unload(&f->m);
  free(f);
  return 0;
}

static void write_text(const Fx *f, const char *name, const char *text) {
  char path[128];
  snprintf(path, sizeof path, "%s/%s", f->dir, name);
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

/* The design's text with the first output assignment of `module` made one larger. */
static char *with_fault(const char *v, const char *module) {
  char head[160];
  snprintf(head, sizeof head, "module %s (", module);
  const char *m = strstr(v, head), *a = m ? strstr(m, "  assign y[") : NULL, *semi = a ? strchr(a, ';') : NULL;
  assert_non_null(semi);
  size_t at = (size_t)(semi - v), n = strlen(v);
  char *out = malloc(n + 16);
  memcpy(out, v, at);
  strcpy(out + at, " + 2'sd1");
  strcat(out + at, v + at);
  return out;
}

/* The layer whose name is `name`, as the design numbers them. */
static int layer_of(const CgHwDesign *h, const char *name) {
  for (int k = 0; k < h->nlayers; k++)
    if (strcmp(h->layers[k].name, name) == 0) return k;
  fail_msg("no layer %s", name);
  return -1;
}

static bool have(HwTool t) {
  if (hw_tool_path(t)) return true;
  printf("%s is not installed: skipped\n", hw_tool_name(t));
  return false;
}

static void verify(Fx *f, HwSim sim, HwVerifyResult *r) {
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(hw_verify(f->p, f->h, "tiny", sim, f->dir, f->x, ROWS, r, &d), JS_OK);
  assert_true(r->ran);
  diag_free(&d);
}

static void test_agree(void **state) {
  Fx *f = *state;
  HwVerifyResult r;
  if (have(HW_IVERILOG) && have(HW_VVP)) {
    write_text(f, "tiny.v", sb_str(&f->h->verilog));
    verify(f, HW_SIM_ICARUS, &r);
    assert_true(r.agree);
    assert_int_equal(r.samples, ROWS);
    assert_int_equal(r.mismatches, 0);
  }
  if (have(HW_CC)) {
    StrBuf c;
    sb_init(&c);
    Diag d;
    diag_init(&d, stderr);
    assert_int_equal(cg_c_render(f->p, "tiny", &c, &d), JS_OK);
    write_text(f, "tiny.c", sb_str(&c));
    verify(f, HW_SIM_C, &r);
    assert_true(r.agree);
    sb_free(&c);
    diag_free(&d);
  }
}

static void test_fault_verilog(void **state) {
  Fx *f = *state;
  if (!have(HW_IVERILOG) || !have(HW_VVP)) return;
  int k = layer_of(f->h, "seq_blocks_0"); /* the folded BatchNorm: every row passes it */
  char *bad = with_fault(sb_str(&f->h->verilog), f->h->layers[k].module);
  write_text(f, "tiny.v", bad);
  free(bad);
  HwVerifyResult r;
  verify(f, HW_SIM_ICARUS, &r);
  assert_false(r.agree);
  assert_true(r.mismatches > 0 && r.mismatches <= ROWS);
  printf("%s\n", r.why);
  assert_non_null(strstr(r.why, "first difference at layer seq_blocks_0, element 0: design "));
  /* the design's code is the executor's plus one */
  long long got, want;
  const char *p = strstr(r.why, "design ");
  assert_int_equal(sscanf(p, "design %lld, integer executor %lld", &got, &want), 2);
  assert_int_equal(got, want + 1);
}

static void test_fault_c(void **state) {
  Fx *f = *state;
  if (!have(HW_CC)) return;
  StrBuf c;
  sb_init(&c);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(cg_c_render(f->p, "tiny", &c, &d), JS_OK);
  /* the output one larger than the last layer's codes (`y[j] = vN[j];` becomes `... + 1;`): every
   * layer agrees, so the message names the output element */
  const char *text = sb_str(&c), *y = strstr(text, "y[j] = v");
  assert_non_null(y);
  const char *semi = strchr(y, ';');
  size_t at = (size_t)(semi - text);
  char *bad = malloc(c.len + 8);
  memcpy(bad, text, at);
  strcpy(bad + at, " + 1");
  strcat(bad + at, text + at);
  write_text(f, "tiny.c", bad);
  free(bad);
  HwVerifyResult r;
  verify(f, HW_SIM_C, &r);
  assert_false(r.agree);
  assert_int_equal(r.mismatches, ROWS);
  printf("%s\n", r.why);
  assert_non_null(strstr(r.why, "sample 0: output element 0: design "));
  sb_free(&c);
  diag_free(&d);
}

static Status count_line(void *ud, const HwTraceLine *l, Diag *d) {
  (*(int *)ud)++;
  return JS_OK;
}

static void test_trace_reader(void **state) {
  (void)state;
  Diag d;
  diag_init(&d, NULL);
  int n = 0;
  const char *good = "o 0 1 -2 3\n\nt 4 0 -9223372036854775808 9223372036854775807\r\n";
  assert_int_equal(hw_trace_parse(good, strlen(good), "trace.txt", count_line, &n, &d), JS_OK);
  assert_int_equal(n, 2);
  static const char *const bad[] = {"x 0 1\n", "o -1 2\n", "t -3 0 1\n", "o 0 1 2x\n", "o 0 9223372036854775808\n",
                                    "t 1\n", "o\n"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    sb_clear(&d.text);
    char text[64];
    snprintf(text, sizeof text, "o 0 5\n%s", bad[i]);
    assert_int_equal(hw_trace_parse(text, strlen(text), "trace.txt", count_line, &n, &d), JS_ERR);
    assert_non_null(strstr(sb_str(&d.text), "trace.txt:2: not a line of the trace"));
  }
  diag_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_agree),
      cmocka_unit_test(test_fault_verilog),
      cmocka_unit_test(test_fault_c),
      cmocka_unit_test(test_trace_reader),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
