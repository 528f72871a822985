/* fuzz_common.h — the property both fuzz targets check after a successful parse: every graph
 * verifies, and its IR text parses back to the same text (print -> parse -> print). */
#ifndef JSCC_FUZZ_COMMON_H
#define JSCC_FUZZ_COMMON_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static void fuzz_check_program(const Program *p) {
  Diag d;
  diag_init(&d, NULL);
  for (int i = 0; i < p->ngraphs; i++)
    if (ir_verify(p->graphs[i], &d) != JS_OK) {
      fprintf(stderr, "a parsed graph fails ir_verify:\n%s", sb_str(&d.text));
      abort();
    }
  StrBuf a, b;
  sb_init(&a);
  sb_init(&b);
  ir_print_program(&a, p);
  Arena *ar = arena_new();
  SrcFile *f = ar ? diag_src_from_string(ar, "roundtrip.ir", sb_str(&a), a.len) : NULL;
  Program *q = NULL;
  if (f && !a.oom) {
    if (ir_parse(f, &q, &d) != JS_OK) {
      fprintf(stderr, "printed IR does not parse back:\n%s\n%s", sb_str(&d.text), sb_str(&a));
      abort();
    }
    ir_print_program(&b, q);
    if (strcmp(sb_str(&a), sb_str(&b)) != 0) {
      fprintf(stderr, "print -> parse -> print differs:\n%s\n----\n%s", sb_str(&a), sb_str(&b));
      abort();
    }
  }
  ir_program_free(q);
  arena_free(ar);
  sb_free(&a);
  sb_free(&b);
  diag_free(&d);
}
#endif
