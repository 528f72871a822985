/* verify.c — the `verify` pass: ir_verify (fx's lint) as a pipeline step, so a pipeline can
 * check the graph at any point ("dce,verify"). */
#include "passes.h"

Status pass_verify(Graph *g, const PassArgs *args, PassContext *ctx) {
  return ir_verify(g, ctx->diag);
}
