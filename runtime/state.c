/* runtime/state.c — a model's parameters, buffers and gradients.
 *
 * Every f32 tensor of the graph lives in one 64-byte-aligned buffer, packed in state_dict
 * order (g->params) with no gaps, so an optimizer can sweep [0, total) once; the gradients
 * sit in a second buffer of the same layout (STYLE.md 5).  i64 scalar
 * buffers (BatchNorm's num_batches_tracked) live in s->i64.
 *
 * rt_state_init reproduces PyTorch 1.13's torch.nn.init in distribution (not bit for bit:
 * our Rng is not PyTorch's Mersenne Twister), drawing tensor after tensor in state_dict order
 * and element after element in row-major order, so a seed fixes every value. */
#include <math.h>
#include <string.h>

#include "runtime.h"

#define STATE_ALIGN 64                          /* bytes */
#define STATE_ALIGN_F (STATE_ALIGN / sizeof(float)) /* floats */

/* RtState plus what its owner needs to free it: the unaligned allocations. */
typedef struct StateImpl {
  RtState s;    /* first member: an RtState * is a StateImpl * */
  void *raw;    /* ir_malloc'd block holding data and grad */
} StateImpl;

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

Status rt_state_new(const Graph *g, RtState **out, Diag *d) {
  *out = NULL;
  int n = g->nparams;
  /* The layout first: element offsets of every f32 tensor, with overflow checks. */
  size_t total = 0;
  for (int i = 0; i < n; i++) {
    const Param *p = g->params[i];
    int64_t numel = ir_type_numel(&p->type);
    if (numel < 0 || numel > IR_MAX_NUMEL)
      return diag_error(d, p->loc, "%s: cannot allocate a tensor of unknown or absurd size", p->qualname);
    if (p->type.dtype == DT_I64) {
      if (numel != 1)
        return diag_error(d, p->loc, "%s: i64 buffers must be scalars, got %lld elements", p->qualname,
                          (long long)numel);
      continue;
    }
    if (p->type.dtype != DT_F32)
      return diag_error(d, p->loc, "%s: the runtime holds f32 and i64 tensors, not %s", p->qualname,
                        ir_dtype_name(p->type.dtype));
    total += (size_t)numel;
    if (total > (SIZE_MAX / 2 - STATE_ALIGN) / sizeof(float) / 2)
      return diag_error(d, g->loc, "model %s: parameters too large to allocate", g->name);
  }
  size_t cap = round_up(total, STATE_ALIGN_F); /* floats per buffer */
  StateImpl *im = ir_calloc(1, sizeof *im);
  if (!im) return diag_oom(d);
  RtState *s = &im->s;
  s->g = g;
  s->n = n;
  s->total = total;
  size_t nn = (size_t)(n ? n : 1);
  s->off = ir_malloc(nn * sizeof *s->off);
  s->numel = ir_malloc(nn * sizeof *s->numel);
  s->i64 = ir_calloc(nn, sizeof *s->i64);
  im->raw = ir_malloc(2 * cap * sizeof(float) + STATE_ALIGN);
  if (!s->off || !s->numel || !s->i64 || !im->raw) {
    rt_state_free(s);
    return diag_oom(d);
  }
  uintptr_t base = ((uintptr_t)im->raw + STATE_ALIGN - 1) & ~(uintptr_t)(STATE_ALIGN - 1);
  s->data = (float *)base;
  s->grad = s->data + cap;
  memset(s->data, 0, 2 * cap * sizeof(float));
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    const Param *p = g->params[i];
    s->numel[i] = (size_t)ir_type_numel(&p->type);
    if (p->type.dtype == DT_I64) {
      s->off[i] = (size_t)-1;
      continue;
    }
    s->off[i] = at;
    at += s->numel[i];
  }
  *out = s;
  return JS_OK;
}

void rt_state_free(RtState *s) {
  if (!s) return;
  StateImpl *im = (StateImpl *)s;
  ir_free(im->raw);
  ir_free(s->off);
  ir_free(s->numel);
  ir_free(s->i64);
  ir_free(im);
}

/* torch.nn.init._calculate_fan_in_and_fan_out's fan_in: size(1) times the receptive field
 * (the product of the dims after the second), i.e. the product of every dim after the first.
 * PyTorch refuses tensors of rank < 2; we take the empty product, 1. */
static double fan_in(const TensorType *t) {
  double f = 1;
  for (int i = 1; i < t->rank; i++) f *= (double)t->dims[i].size;
  return f;
}

/* One tensor's initialiser.  The float conversions happen where PyTorch's happen: the bounds
 * are Python floats (doubles), the tensor stores float32. */
static void init_f32(float *x, size_t n, const Param *p, Rng *rng) {
  const Init *in = &p->init;
  switch (in->kind) {
  case INIT_ZEROS: for (size_t i = 0; i < n; i++) x[i] = 0; break;
  case INIT_ONES: for (size_t i = 0; i < n; i++) x[i] = 1; break;
  case INIT_CONSTANT: for (size_t i = 0; i < n; i++) x[i] = (float)in->args[0]; break;
  case INIT_UNIFORM: {
    /* uniform_(a, b): a + (b - a) * U[0, 1) */
    double a = in->args[0], b = in->args[1];
    for (size_t i = 0; i < n; i++) x[i] = (float)(a + (b - a) * rt_rng_uniform(rng));
    break;
  }
  case INIT_NORMAL: {
    double mean = in->args[0], std = in->args[1];
    for (size_t i = 0; i < n; i++) x[i] = (float)(mean + std * rt_rng_normal(rng));
    break;
  }
  case INIT_KAIMING_UNIFORM: {
    /* kaiming_uniform_(a, mode='fan_in', nonlinearity='leaky_relu'):
     *   gain = sqrt(2 / (1 + a^2)), std = gain / sqrt(fan_in), bound = sqrt(3) * std,
     *   U(-bound, bound). */
    double a = in->args[0];
    double gain = sqrt(2.0 / (1 + a * a));
    double std = gain / sqrt(fan_in(&p->type));
    double bound = sqrt(3.0) * std;
    for (size_t i = 0; i < n; i++) x[i] = (float)(-bound + 2 * bound * rt_rng_uniform(rng));
    break;
  }
  case INIT_COUNT: break;
  }
}

void rt_state_init(RtState *s, Rng *rng) {
  for (int i = 0; i < s->n; i++) {
    const Param *p = s->g->params[i];
    if (s->off[i] == (size_t)-1) {
      const Init *in = &p->init;
      s->i64[i] = in->kind == INIT_ONES ? 1 : in->kind == INIT_CONSTANT ? (int64_t)in->args[0] : 0;
      continue;
    }
    init_f32(s->data + s->off[i], s->numel[i], p, rng);
    memset(s->grad + s->off[i], 0, s->numel[i] * sizeof(float));
  }
}

int rt_state_index(const RtState *s, const char *qualname) {
  for (int i = 0; i < s->n; i++)
    if (strcmp(s->g->params[i]->qualname, qualname) == 0) return i;
  return -1;
}

float *rt_state_tensor(const RtState *s, const char *qualname) {
  int i = rt_state_index(s, qualname);
  return i < 0 || s->off[i] == (size_t)-1 ? NULL : s->data + s->off[i];
}

Status rt_state_copy(RtState *dst, const RtState *src) {
  if (dst->n != src->n || dst->total != src->total) return JS_EUSAGE;
  for (int i = 0; i < src->n; i++)
    if (dst->off[i] != src->off[i] || dst->numel[i] != src->numel[i]) return JS_EUSAGE;
  size_t cap = round_up(src->total, STATE_ALIGN_F);
  memcpy(dst->data, src->data, cap * sizeof(float));
  memcpy(dst->grad, src->grad, cap * sizeof(float));
  memcpy(dst->i64, src->i64, (size_t)src->n * sizeof *src->i64);
  return JS_OK;
}

void rt_state_trainable_mask(const RtState *s, uint8_t *mask) {
  memset(mask, 0, s->total);
  for (int i = 0; i < s->n; i++)
    if (s->off[i] != (size_t)-1 && s->g->params[i]->kind == PK_PARAM)
      memset(mask + s->off[i], 1, s->numel[i]);
}
