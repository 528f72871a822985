/* fuzz_ir.c — libFuzzer target for the IR text parser: any input must give a Program or
 * diagnostics, never a crash, hang, leak or sanitizer report; what parses must verify and
 * round-trip. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
  Arena *a = arena_new();
  SrcFile *f = a ? diag_src_from_string(a, "fuzz.ir", (const char *)data, size) : NULL;
  Diag d;
  diag_init(&d, NULL);
  Program *p = NULL;
  if (f && ir_parse(f, &p, &d) == JS_OK) fuzz_check_program(p);
  ir_program_free(p);
  diag_free(&d);
  arena_free(a);
  return 0;
}
