/* fixture.c — see fixture.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "frontend.h"
#include "passes.h"

Status fx_load(FxModel *m, const char *path, const char *text, const char *cfg, bool explicit_inputs, Diag *d) {
  memset(m, 0, sizeof *m);
  m->arena = arena_new();
  SrcFile *src = NULL;
  Status st = text ? ((src = diag_src_from_string(m->arena, path, text, strlen(text))) ? JS_OK : JS_ENOMEM)
                   : diag_read_file(m->arena, path, &src, d);
  if (!st) st = fe_parse(src, &m->prog, d);
  if (!st) m->g = m->prog->graphs[0];
  if (!st) st = pass_run_text("shape", m->g, d);
  if (!st && cfg) {
    /* BatchNorm too: MASE's default leaves it in float, jscc quantizes it where it is named */
    char pipe[2048];
    snprintf(pipe, sizeof pipe, "quantize{by=type, default=%s, batch_norm1d=%s}", cfg, cfg);
    st = pass_run_text(pipe, m->g, d);
    if (!st && explicit_inputs) st = ir_quant_explicit_inputs(m->g, d);
  }
  return st;
}

void fx_unload(FxModel *m) {
  ir_program_free(m->prog);
  arena_free(m->arena);
}

RtState *fx_trained_state(const Graph *g, uint64_t seed) {
  Diag d;
  diag_init(&d, stderr);
  RtState *s = NULL;
  assert_int_equal(rt_state_new(g, &s, &d), JS_OK);
  diag_free(&d);
  Rng rng;
  rt_rng_seed(&rng, seed);
  rt_state_init(s, &rng);
  for (int i = 0; i < g->nparams; i++) {
    const Param *p = g->params[i];
    if (s->off[i] == (size_t)-1) continue;
    float *t = s->data + s->off[i];
    bool bn = p->owner && p->owner->type == MT_BATCHNORM1D;
    for (size_t k = 0; k < s->numel[i]; k++) {
      if (!bn && strcmp(p->name, "weight") == 0) t[k] *= 3.0f;
      else if (bn && strcmp(p->name, "weight") == 0) t[k] = 0.5f + (float)rt_rng_uniform(&rng);
      else if (bn && strcmp(p->name, "bias") == 0) t[k] = (float)rt_rng_normal(&rng) * 0.3f;
      else if (strcmp(p->name, "running_mean") == 0) t[k] = (float)rt_rng_normal(&rng) * 0.5f;
      else if (strcmp(p->name, "running_var") == 0) t[k] = 0.3f + 1.7f * (float)rt_rng_uniform(&rng);
    }
  }
  return s;
}

void fx_fixed_state(RtState *s, const Graph *g) {
  for (int i = 0; i < g->nparams; i++) {
    const Param *p = g->params[i];
    if (s->off[i] == (size_t)-1) continue;
    float *t = s->data + s->off[i];
    bool bn = p->owner && p->owner->type == MT_BATCHNORM1D;
    for (size_t k = 0; k < s->numel[i]; k++) {
      int e = (int)k;
      if (strcmp(p->name, "running_var") == 0) t[k] = 0.5f + (float)(e % 3) / 4;
      else if (strcmp(p->name, "running_mean") == 0) t[k] = (float)((e * 3) % 7 - 3) / 8;
      else if (bn && strcmp(p->name, "weight") == 0) t[k] = 0.5f + (float)(e % 4) / 4;
      else if (strcmp(p->name, "weight") == 0) t[k] = (float)((e * 7 + i * 5) % 17 - 8) / 8;
      else t[k] = (float)((e * 5) % 9 - 4) / 16;
    }
  }
}

const float *fx_state_param(void *ud, const Param *p) { return rt_state_tensor(ud, p->qualname); }
