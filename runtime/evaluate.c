/* runtime/evaluate.c — one model's forward pass for the commands that evaluate (jscc test,
 * jscc diff): which output is evaluated, and the JIT's fake-quant evaluation kernel run on a
 * block of rows.
 *
 * A model may return several tensors (a tuple or list, or a dict such as a training graph's).
 * The evaluating commands score one of them: rt_select_output makes the chosen one the
 * graph's only output and removes what only the others needed (dce), so every executor
 * (reference, JIT, integer) sees an ordinary one-output model.  The outputs are named by the
 * node each returns (a dict's by its keys), as the IR text prints them. */
#include <string.h>

#include "passes.h"
#include "runtime.h"

#define MAX_OUTPUTS 64

/* The outputs of g's result r: names and values, at most cap. */
static int list_outputs(const Value *r, const char **names, const Value **vals, int cap) {
  if (r->kind == VAL_DICT) {
    int n = r->u.dict.n < cap ? r->u.dict.n : cap;
    for (int i = 0; i < n; i++) names[i] = r->u.dict.keys[i], vals[i] = &r->u.dict.vals[i];
    return n;
  }
  if (r->kind == VAL_TUPLE || r->kind == VAL_LIST) {
    int n = 0;
    for (int i = 0; i < r->u.seq.n && n < cap; i++)
      if (r->u.seq.items[i].kind == VAL_NODE) names[n] = r->u.seq.items[i].u.node->name, vals[n++] = &r->u.seq.items[i];
    return n;
  }
  if (r->kind == VAL_NODE) {
    names[0] = r->u.node->name, vals[0] = r;
    return 1;
  }
  return 0;
}

/* "a, b, c" into buf. */
static void join_names(char *buf, size_t cap, const char *const *names, int n) {
  size_t at = 0;
  buf[0] = 0;
  for (int i = 0; i < n && at < cap; i++) {
    int w = snprintf(buf + at, cap - at, "%s'%s'", i ? ", " : "", names[i]);
    if (w < 0) break;
    at += (size_t)w;
  }
}

Status rt_select_output(Graph *g, const char *want, FILE *log, Diag *d) {
  Node *out = ir_graph_output(g);
  if (!out || out->nargs != 1) return diag_error(d, g->loc, "model %s has no output", g->name);
  const char *names[MAX_OUTPUTS];
  const Value *vals[MAX_OUTPUTS];
  int n = list_outputs(&out->args[0], names, vals, MAX_OUTPUTS);
  if (n == 0) return diag_error(d, out->loc, "model %s returns no tensor to evaluate", g->name);
  char list[1024];
  join_names(list, sizeof list, names, n);
  int k = 0;
  if (want) {
    while (k < n && strcmp(names[k], want) != 0) k++;
    if (k == n)
      return diag_error(d, out->loc, "--output %s: model %s has no output '%s' (its output%s: %s)", want, g->name, want,
                        n == 1 ? "" : "s", list);
  } else if (n > 1 && log) {
    fprintf(log, "note: model %s has %d outputs (%s); evaluating the first, '%s' (choose another with --output NAME)\n",
            g->name, n, list, names[0]);
  }
  if (vals[k]->kind != VAL_NODE)
    return diag_error(d, out->loc, "output '%s' of model %s is not a tensor; choose another with --output NAME (%s)",
                      names[k], g->name, list);
  if (n == 1 && out->args[0].kind == VAL_NODE) return JS_OK;
  Node *chosen = vals[k]->u.node;
  Value v = val_node(chosen);
  if (ir_node_set_args(out, 1, &v, 0, NULL, NULL)) return diag_oom(d);
  out->type = chosen->type;
  out->has_type = chosen->has_type;
  return pass_run_text("dce", g, d);
}

/* The first line of a probe's complaint, without its "file:line:col: error: " prefix. */
static void first_line(const Diag *probe, char *why, size_t cap) {
  const char *msg = sb_str(&probe->text), *p = strstr(msg, "error: ");
  if (p) msg = p + 7;
  snprintf(why, cap, "%.*s", (int)strcspn(msg, "\n"), msg);
}

/* Runs kernel k of plan on rows x [rows][F] (row-major), logits into z [rows][C]. */
static Status run_eval_kernel(const CgPlan *plan, const CgKernel *k, RtState *s, const float *x, int64_t rows, float *z,
                              Diag *probe) {
  int64_t bp = cg_plan_bpad(plan);
  int F = cg_plan_features(plan), C = cg_plan_classes(plan);
  float *xf = ir_calloc((size_t)(F * bp), sizeof(float)), *valid = ir_calloc((size_t)bp, sizeof(float));
  float *scratch = ir_calloc(cg_plan_scratch_floats(plan) + 16, sizeof(float)), *lg = ir_calloc((size_t)(C * bp), sizeof(float));
  int32_t *y = ir_calloc((size_t)bp, sizeof(int32_t));
  Status st = JS_OK;
  if (!xf || !valid || !y || !scratch || !lg) {
    st = diag_oom(probe);
  } else {
    for (int64_t i = 0; i < rows; i++) {
      valid[i] = 1;
      for (int f = 0; f < F; f++) xf[f * bp + i] = x[i * F + f];
    }
    double metrics[2] = {0, 0};
    CgArgs a = {.params = s->data, .grads = s->grad, .x = xf, .y = y, .valid = valid, .scratch = scratch,
                .i64 = s->i64, .logits = lg, .metrics = metrics, .n = rows};
    cg_kernel_run(k, &a);
    for (int64_t i = 0; i < rows; i++)
      for (int c = 0; c < C; c++) z[i * C + c] = lg[c * bp + i];
  }
  ir_free(xf), ir_free(valid), ir_free(y), ir_free(scratch), ir_free(lg);
  return st;
}

Status rt_jit_eval_logits(const Graph *g, RtState *s, const float *x, int64_t rows, float *z, char *why, size_t cap) {
  Diag probe;
  diag_init(&probe, NULL);
  CgOptions o = {.batch = rows, .param_off = s->off, .train = false, .want_logits = true};
  CgPlan *plan = NULL;
  CgKernel *k = NULL;
  Status st = cg_llvm_available() ? JS_OK : diag_error(&probe, (SrcLoc){0}, "jscc was built without LLVM");
  if (!st) st = cg_plan_build(g, &o, &plan, &probe);
  if (!st) st = cg_llvm_compile(plan, &k, NULL, NULL, &probe);
  if (!st) st = run_eval_kernel(plan, k, s, x, rows, z, &probe);
  if (st) first_line(&probe, why, cap);
  cg_kernel_free(k);
  cg_plan_free(plan);
  diag_free(&probe);
  return st;
}
