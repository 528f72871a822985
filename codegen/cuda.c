/* codegen/cuda.c — render a fusion plan (plan.h) as CUDA C for NVRTC: the GPU twin of llvm.c.
 *
 * The generated translation unit has no includes.  It defines JsccDevArgs (cuda.h's layout,
 * field for field), small device helpers (the dropout hash, the fixed-point quantizer, warp
 * sums), JscStep (the buffers and the step's scalars), one __noinline__ function per stage
 * and one for the optimizer (NVRTC optimises, and ptxas allocates registers for, one stage at
 * a time: jsc_trt's ten stages compile in 5 s instead of 12), and one kernel,
 *
 *   extern "C" __global__ void __launch_bounds__(NT) jscc_train(JsccDevArgs a)   (or jscc_eval)
 *
 * launched as ONE block of NT = CG_CUDA_THREADS threads with cg_cuda_shared_bytes(p) bytes of
 * dynamic shared memory (at most 32 KiB: no opt-in needed), or, for a group of trials (the
 * same model and batch size: a learning-rate or seed sweep), as a.ntrials such blocks: block
 * b reads its arguments from a.trials[b] in device memory and runs exactly what a one-block
 * launch of those arguments runs (blocks share only the read-only data; nothing below ever
 * reads blockIdx again).  Any other launch shape, or a.batch outside 1 .. the plan's batch
 * (the row buffers' size), returns at once and changes nothing.  What each block runs:
 *
 *   for step in 0 .. a.nsteps-1:                       (persistent over an epoch's batches)
 *     n = min(batch, nrows - step*batch); rows r < n are perm[first + step*batch + r]
 *     thread 0: num_batches_tracked += 1 for each training-mode BatchNorm (llvm.c: step start)
 *     for each stage (jsc_stage<s>):
 *       point operations: threads stride over the features j; __syncthreads() after each
 *       row tiles r0 = 0, NT, 2NT, ... < n (a uniform trip count, so barriers inside are legal):
 *         thread tid takes row r = r0 + tid; `live` = r < n.  A dead thread (r >= n) runs the
 *         program on zeros (x = 0, label 0, valid 0: the CPU's padding rows), never stores,
 *         and contributes exactly 0 to every accumulator.  valid is 1 for live rows, wrow =
 *         valid/n and invn = 1/n with n the rows of this step, as in llvm.c.
 *         the row program: each plan value is a local float array vK[len]; loops over up to
 *         64 features are unrolled, so the arrays live in registers.  An affine map with more
 *         than 256 weights keeps its output loop (NVRTC takes minutes over thousands of
 *         unrolled weight loads), so its output is a local-memory array.  Row buffers
 *         (I_STORE/I_LOAD) keep the CPU layout, feature-major at scratch[boff + j*bpad + r]:
 *         consecutive threads touch consecutive rows, so every access is coalesced, and
 *         cg_plan_observed's addresses hold on the device too.  A row is always handled by
 *         the same thread, in every stage.
 *       accumulators, by size:
 *         small (an I_ACC of at most 8 floats or 4 doubles: the metrics, a classifier's bias):
 *           each thread sums its own rows in registers over the tiles; at the stage end a
 *           warp-shuffle sum per element, the warps' partials through shared memory, and
 *           thread e adds the NT/32 partials in warp order and writes element e;
 *         staged (every I_OUTER, the wider I_ACCs): at the instruction, chunks of R rows write
 *           their operands (a, then b; zeros for dead rows) to shared memory, row-major with
 *           an odd pitch (no bank conflicts), and after a barrier the block sums the chunk:
 *           with E >= NT elements thread tid owns elements tid + i*NT and adds each row in
 *           order (fmaf, as the CPU's llvm.fmuladd), else G = NT/E groups of E threads take
 *           every G-th row and the G partials are added in group order at the stage end.  A
 *           barrier ends each chunk, so the buffer is reused.
 *         No atomics anywhere: results are deterministic from run to run.
 *       the destinations: ACC_STAT floats (doubles for Acc.f64: n doubles at the stat offset,
 *       as llvm.c stores them), ACC_GRAD into grads, ACC_METRIC: the step's float total
 *       widened to double and added to thread 0's running sum; then __syncthreads().
 *     the optimizer (jsc_optim, training): threads stride over each run of back-to-back
 *       parameters; the operations and roundings of llvm.c's optim_body (fmaf where it has
 *       llvm.fma), the step count a.step0 + step and the learning rate a.lr; __syncthreads().
 *   thread 0: metrics[k] += its sums (once per launch).
 *
 * Barriers (the race review): every point operation ends with one; each thread reads, in the
 * row program, only what earlier points or stages wrote (behind a barrier) and the row
 * buffers of its own rows; staged chunks are write, barrier, read, barrier; the stage end's
 * partials are write, barrier, read (a barrier between groups that reuse the memory); every
 * stage and the optimizer end with one, so the next stage (or step) sees the statistics,
 * gradients and parameters written.  num_batches_tracked is written by thread 0 before stage
 * 0 and read by BatchNorm points of stage 1 or later.
 *
 * Logits (evaluation plans that want them): logits[(step*batch + r) * classes + j], row-major
 * at the row's position in the launch; skipped when a.logits is 0.
 *
 * Differences from llvm.c, all deliberate:
 *   - Sums over rows are added in another order (per thread, shuffles, warps; or row by row
 *     per element), so gradients, BatchNorm statistics and metrics agree with the CPU to
 *     rounding, not bit for bit.
 *   - exp and log are CUDA's expf/logf (within 2 ulp) instead of the inlined Cephes
 *     polynomials; expf does not clamp its argument to [-87, 88] as Cephes does (overflow
 *     gives inf: a sigmoid of -100 is 0, not 6e-39).
 *   - pow(beta, step) in Adam's bias corrections is CUDA's double pow (within 2 ulp of the
 *     correctly rounded value glibc gives); the corrections are then rounded to float, so
 *     the update almost always matches.
 *   Everything else is rounded as on the CPU: multiply-adds are fmaf() exactly where llvm.c
 *   emits llvm.fmuladd or llvm.fma (the affine maps, outer products, EW_FMA, the optimizer)
 *   and NVRTC runs with --fmad=false (nvrtc.c), so no other product is contracted; division
 *   and sqrt are IEEE (NVRTC's defaults); rintf rounds half to even; the clamps and the
 *   ReLU/max selects are ordered compares, so NaN behaves alike; the dropout mask is
 *   rt_dropout_bits bit for bit (key = the node's hash, element = r * len + j with r the row
 *   in the step, stream = (seed, dstep0 + step)).
 *
 * Checked without a GPU: test/codegen/test_cuda.c compiles the generated source as C++
 * against a CPU emulation of the CUDA features it uses (a thread per CUDA thread, a barrier,
 * warp exchanges) and compares launches of several steps with the CPU JIT for every example
 * (training and evaluation, int8, Adam/AdamW/SGD, batch 1000, a partial last step). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cuda.h"
#include "plan.h"

enum {
  NT = CG_CUDA_THREADS,  /* threads of the block */
  NW = NT / 32,          /* warps */
  UNROLL_MAX = 64,       /* values up to this long: loops fully unrolled (registers) */
  AFFINE_UNROLL = 256,   /* an affine map with at most this many weights: both loops unrolled */
  VAL_MAX = 16384,       /* longest row value the renderer accepts (a local array) */
  SMALL_WORDS = 8,       /* an I_ACC of at most this many 4-byte words sums in registers */
  STAGE_BYTES = 32768,   /* shared memory for a staged accumulator's chunk of rows */
  RED_SLOTS = 4096,      /* doubles of shared memory for the stage-end partials */
};

typedef enum AccMethod { AM_NONE, AM_SMALL, AM_STAGED } AccMethod;

/* How one accumulator is summed on the device. */
typedef struct AccLay {
  AccMethod m;
  int E;        /* elements */
  int na, nb;   /* staged operand widths (nb 0 for I_ACC) */
  int wp;       /* staged row pitch in floats (odd) */
  int R;        /* staged rows per chunk */
  int G;        /* staged: groups of rows (1: threads own elements tid + i*NT) */
  int Q;        /* staged with G == 1: elements per thread */
  int slots;    /* doubles of shared memory it needs at the stage end (0: writes directly) */
  int roff;     /* their offset in the reduction group */
  int group;    /* its reduction group within the stage (groups are separated by barriers) */
} AccLay;

typedef struct Cu {
  const CgPlan *p;
  StrBuf *sb;
  Diag *d;
  int ind;             /* indentation level */
  AccLay *al;          /* [naccs] */
  int *defined;        /* [nvals] stage + 1 where the value was defined (0: not yet) */
  size_t shared;       /* bytes of dynamic shared memory */
  int cur_stage;
} Cu;

/* ---- text helpers ---- */

static void line(Cu *c, const char *fmt, ...) JS_PRINTF(2, 3);
static void line(Cu *c, const char *fmt, ...) {
  for (int i = 0; i < c->ind; i++) sb_puts(c->sb, "  ");
  va_list ap;
  va_start(ap, fmt);
  sb_vprintf(c->sb, fmt, ap);
  va_end(ap);
  sb_putc(c->sb, '\n');
}

/* A float literal that reads back to the same float ("0.100000001f", "(-2.0f)"). */
static const char *flit(char *buf, size_t cap, float v) {
  if (isnan(v)) return snprintf(buf, cap, "__int_as_float(0x7fc00000)"), buf;
  if (isinf(v)) return snprintf(buf, cap, "__int_as_float(0x%s)", v > 0 ? "7f800000" : "ff800000"), buf;
  char t[48];
  snprintf(t, sizeof t, "%.9g", (double)v);
  const char *dot = strpbrk(t, ".e") ? "" : ".0";
  snprintf(buf, cap, v < 0 || (v == 0 && signbit(v)) ? "(%s%sf)" : "%s%sf", t, dot);
  return buf;
}

/* A double literal that reads back to the same double. */
static const char *dlit(char *buf, size_t cap, double v) {
  char t[48];
  snprintf(t, sizeof t, "%.17g", v);
  const char *dot = strpbrk(t, ".e") ? "" : ".0";
  snprintf(buf, cap, v < 0 ? "(%s%s)" : "%s%s", t, dot);
  return buf;
}

static const char *const pragma_unroll = "#pragma unroll";

/* "#pragma unroll" before a loop of `n` iterations when it is to be unrolled. */
static void unroll(Cu *c, int n) {
  if (n <= UNROLL_MAX) line(c, "%s", pragma_unroll);
}

/* ---- layout: how every accumulator is summed, and the shared memory it takes ---- */

static Status cu_layout(Cu *c) {
  const CgPlan *p = c->p;
  for (int a = 0; a < p->naccs; a++) c->al[a] = (AccLay){.m = AM_NONE, .E = p->accs[a].n};
  for (int s = 0; s < p->nstages; s++) {
    const Stage *st = &p->stages[s];
    for (int i = 0; i < st->ninsts; i++) {
      const Inst *in = &st->insts[i];
      if (in->kind != I_ACC && in->kind != I_OUTER) continue;
      if (in->acc < 0 || in->acc >= p->naccs)
        return diag_error(c->d, (SrcLoc){0}, "codegen: CUDA: stage %d adds to accumulator %d, which the plan does not have", s, in->acc);
      const Acc *A = &p->accs[in->acc];
      AccLay *L = &c->al[in->acc];
      int E = in->kind == I_OUTER ? in->n * in->nb : in->n;
      if (E != A->n || A->stage != s)
        return diag_error(c->d, (SrcLoc){0}, "codegen: CUDA: accumulator acc%d (x%d, stage %d) is added to as x%d in stage %d",
                          in->acc, A->n, A->stage, E, s);
      if (L->m != AM_NONE)
        return diag_error(c->d, (SrcLoc){0},
                          "codegen: CUDA: accumulator acc%d is added to by more than one instruction; the CUDA renderer "
                          "sums each accumulator from one", in->acc);
      if (A->dest == ACC_METRIC && (A->off < 0 || A->off > 1 || A->n != 1))
        return diag_error(c->d, (SrcLoc){0}, "codegen: CUDA: accumulator acc%d writes %d metrics from metrics[%lld]; the "
                          "CUDA renderer sums metric 0 or 1, one element", in->acc, A->n, (long long)A->off);
      bool small = in->kind == I_ACC && E * (A->f64 ? 2 : 1) <= SMALL_WORDS;
      if (small) {
        L->m = AM_SMALL;
        L->slots = NW * E;
        continue;
      }
      L->m = AM_STAGED;
      L->na = in->n;
      L->nb = in->kind == I_OUTER ? in->nb : 0;
      int w = L->na + L->nb;
      L->wp = w | 1;
      if ((size_t)L->wp * 4 > STAGE_BYTES)
        return diag_error(c->d, (SrcLoc){0},
                          "codegen: CUDA: accumulator acc%d (%s of %d x %d in stage %d) needs %d floats of each row in shared "
                          "memory; the CUDA renderer stages at most %d (a layer that wide runs on --device=cpu)",
                          in->acc, in->kind == I_OUTER ? "an outer product" : "a sum", L->na, in->kind == I_OUTER ? L->nb : 1,
                          s, w, STAGE_BYTES / 4 - 1);
      int R = NT;
      while (R > 1 && (size_t)R * (size_t)L->wp * 4 > STAGE_BYTES) R /= 2;
      L->R = R;
      L->G = E >= NT ? 1 : NT / E;
      L->Q = L->G == 1 ? (E + NT - 1) / NT : 1;
      L->slots = L->G > 1 ? L->G * E : 0;
      size_t bytes = (size_t)R * (size_t)L->wp * 4;
      if (bytes > c->shared) c->shared = bytes;
    }
  }
  /* reduction groups per stage: consecutive accumulators whose slots fit RED_SLOTS */
  for (int s = 0; s < p->nstages; s++) {
    int group = 0, used = 0;
    for (int a = 0; a < p->naccs; a++) {
      AccLay *L = &c->al[a];
      if (p->accs[a].stage != s) continue;
      if (L->m == AM_NONE) { /* nothing adds to it: a small accumulator that stays zero */
        if (p->accs[a].n * (p->accs[a].f64 ? 2 : 1) > SMALL_WORDS)
          return diag_error(c->d, (SrcLoc){0}, "codegen: CUDA: accumulator acc%d has no instruction adding to it", a);
        L->m = AM_SMALL;
        L->slots = NW * L->E;
      }
      if (!L->slots) continue;
      if (used + L->slots > RED_SLOTS) group++, used = 0;
      L->group = group;
      L->roff = used;
      used += L->slots;
      if ((size_t)used * 8 > c->shared) c->shared = (size_t)used * 8;
    }
  }
  return JS_OK;
}

static Status cu_init(Cu *c, const CgPlan *p, StrBuf *sb, Diag *d) {
  memset(c, 0, sizeof *c);
  c->p = p;
  c->sb = sb;
  c->d = d;
  c->al = ir_calloc((size_t)p->naccs + 1, sizeof(AccLay));
  c->defined = ir_calloc((size_t)p->nvals + 1, sizeof(int));
  if (!c->al || !c->defined) return diag_oom(d);
  return cu_layout(c);
}

static void cu_free(Cu *c) {
  ir_free(c->al);
  ir_free(c->defined);
}

size_t cg_cuda_shared_bytes(const CgPlan *p) {
  Diag quiet;
  diag_init(&quiet, NULL);
  Cu c;
  size_t bytes = cu_init(&c, p, NULL, &quiet) ? 0 : c.shared;
  cu_free(&c);
  diag_free(&quiet);
  return bytes;
}

/* ---- operands and instructions ---- */

/* Operand o at feature index expression j ("j", "k", "0"). */
static const char *opd(Cu *c, Opd o, const char *j, char *buf, size_t cap) {
  switch (o.kind) {
  case OPD_VAL:
    snprintf(buf, cap, "v%lld[%s]", (long long)o.id, c->p->vlen[o.id] == 1 ? "0" : j);
    break;
  case OPD_PARAM:
  case OPD_STAT:
    if (o.scalar || strcmp(j, "0") == 0) snprintf(buf, cap, "%s[%lld]", o.kind == OPD_PARAM ? "P" : "S", (long long)o.id);
    else snprintf(buf, cap, "%s[%lld + %s]", o.kind == OPD_PARAM ? "P" : "S", (long long)o.id, j);
    break;
  case OPD_CONST: flit(buf, cap, o.c); break;
  case OPD_VALID: snprintf(buf, cap, "valid"); break;
  case OPD_WROW: snprintf(buf, cap, "wrow"); break;
  case OPD_INVN: snprintf(buf, cap, "invn"); break;
  case OPD_NONE: snprintf(buf, cap, "0.0f"); break;
  }
  return buf;
}

/* Checks that value operands are defined earlier in this stage with a usable length. */
static Status check_opd(Cu *c, Opd o, int n) {
  if (o.kind != OPD_VAL) return JS_OK;
  const CgPlan *p = c->p;
  if (o.id < 0 || o.id >= p->nvals || c->defined[o.id] != c->cur_stage + 1)
    return diag_error(c->d, (SrcLoc){0}, "codegen: CUDA: stage %d reads v%lld before the stage computes it (a plan bug)",
                      c->cur_stage, (long long)o.id);
  int len = p->vlen[o.id];
  if (len != 1 && len < n)
    return diag_error(c->d, (SrcLoc){0}, "codegen: CUDA: stage %d reads %d features of v%lld, which has %d", c->cur_stage, n,
                      (long long)o.id, len);
  return JS_OK;
}

/* Arguments of jsc_qint for an integer format (llvm.c's quant_int). */
static Status qargs(Cu *c, const QFmt *f, char *buf, size_t cap) {
  if (f->kind != QK_INTEGER)
    return diag_error(c->d, (SrcLoc){0},
                      "codegen: CUDA: the %s number format has no CUDA quantizer (fixed point only); use --device=cpu or "
                      "--engine=ref", ir_qkind_name(f->kind));
  double scale = ldexp(1.0, f->frac_width);
  double lo = f->is_signed ? -ldexp(1.0, f->width - 1) : 0;
  double hi = f->is_signed ? ldexp(1.0, f->width - 1) - 1 : ldexp(1.0, f->width) - 1;
  char a[48], b[48], d[48], e[48];
  snprintf(buf, cap, "%s, %s, %s, %s, %d", flit(a, sizeof a, (float)scale), flit(b, sizeof b, (float)lo),
           flit(d, sizeof d, (float)hi), flit(e, sizeof e, (float)(1.0 / scale)), f->floor ? 1 : 0);
  return JS_OK;
}

/* ---- number formats other than fixed point (ir/quant.c's float functions) ----
 *
 * Device functions, emitted only when the plan uses such a format: the exponent decisions
 * from a float's bits and the per-binade thresholds (ir_quant_exp_table, as llvm.c), the
 * scalings by exact ldexp in double, one rounding to float at the end; ternary's statistics
 * and block_fp's blocks of a parameter as ir_quant_tensor computes them (one thread per
 * block; ternary on thread 0). */
static const char *const qprelude =
    "/* clamp(ceil|floor|rne(fl(log2 v)), lo, hi) for v >= 0 from v's bits (ir/quant.c, ir_quant_exp_bits) */\n"
    "static __device__ int jsc_qexp(float v, int how, int lo, int hi) {\n"
    "  if (v == 0.0f) return lo;\n"
    "  if (v > 3.40282347e38f) return hi;\n"
    "  int sh = 0;\n"
    "  if (v < 1.17549435e-38f) v *= 18446744073709551616.0f, sh = 64;\n"
    "  const unsigned u = __float_as_uint(v);\n"
    "  const int E = (int)(u >> 23) - 127 - sh, i = E + 149;\n"
    "  const int e = E + ((int)(u & 0x7fffffu) >= jsc_qthr[how][i < 0 ? 0 : i > 276 ? 276 : i]);\n"
    "  return e < lo ? lo : e > hi ? hi : e;\n"
    "}\n"
    "/* minifloat_denorm (ieee = 0) and minifloat_ieee: M mantissa bits, exponents [lo, hi] */\n"
    "static __device__ float jsc_qmf(float x, int ieee, int M, int lo, int hi, double kmax) {\n"
    "  if (x != x) return x;\n"
    "  const float v = fabsf(x);\n"
    "  if (v <= 9.99999994e-09f) return x + 0.0f; /* MASE's pass-through; -0.0 gives +0.0 */\n"
    "  const float vn = v + 9.99999972e-10f;\n"
    "  double q;\n"
    "  if (!ieee) {\n"
    "    const int e = jsc_qexp(vn, 0, lo, hi);\n"
    "    double k = rint(ldexp((double)v, M - e));\n"
    "    q = ldexp(k > kmax ? kmax : k, e - M);\n"
    "  } else {\n"
    "    const int e = jsc_qexp(vn, 1, lo, hi);\n"
    "    if (e == lo) {\n"
    "      const double k = rint(ldexp((double)v, M - 1 - e));\n"
    "      q = ldexp(k > kmax ? kmax : k, e - M + 1);\n"
    "    } else {\n"
    "      double k = rint(ldexp((double)v, M - e) - ldexp(1.0, M));\n"
    "      k = k < 0.0 ? 0.0 : k > kmax ? kmax : k;\n"
    "      q = ldexp(ldexp(1.0, M) + k, e - M);\n"
    "    }\n"
    "  }\n"
    "  const float r = (float)q;\n"
    "  return x < 0.0f ? -r : r;\n"
    "}\n"
    "/* log: sign(fl(x + c)) 2^e with e = rne(fl(log2 fl(|x| + c))); 0 and NaN stay */\n"
    "static __device__ float jsc_qlog(float x, float c, int lo, int hi) {\n"
    "  if (x != x || x == 0.0f) return x;\n"
    "  const float s = x + c, p = (float)ldexp(1.0, jsc_qexp(fabsf(x) + c, 2, lo, hi));\n"
    "  return s > 0.0f ? p : s < 0.0f ? -p : 0.0f;\n"
    "}\n"
    "/* binary: x >= 0 ? 1 : neg (-1 bipolar, else 0); NaN stays */\n"
    "static __device__ __forceinline__ float jsc_qbin(float x, float neg) { return x != x ? x : x >= 0.0f ? 1.0f : neg; }\n"
    "/* one block_fp element, given its block's exponent e */\n"
    "static __device__ float jsc_qbfp1(float x, int e, int M, double kmax) {\n"
    "  if (x != x) return x;\n"
    "  const float v = fabsf(x);\n"
    "  if (v <= 9.99999994e-09f) return x + 0.0f;\n"
    "  const double k = rint(ldexp((double)(v + 9.99999972e-10f), M - e));\n"
    "  const float r = (float)ldexp(k > kmax ? kmax : k, e - M);\n"
    "  return x < 0.0f ? -r : r;\n"
    "}\n"
    "/* a block of rows runs of len elements, stride apart: the exponent of its largest |x| (NaN left out) */\n"
    "static __device__ float jsc_qbmax(const float *x, int len, int rows, int stride) {\n"
    "  float m = 0.0f;\n"
    "  for (int r = 0; r < rows; r++)\n"
    "    for (int i = r * stride; i < r * stride + len; i++) m = fabsf(x[i]) > m ? fabsf(x[i]) : m;\n"
    "  return m;\n"
    "}\n"
    "static __device__ void jsc_qbfp(float *y, const float *x, int len, int rows, int stride, int M, int lo, int hi, double kmax) {\n"
    "  const int e = jsc_qexp(jsc_qbmax(x, len, rows, stride), 0, lo, hi);\n"
    "  for (int r = 0; r < rows; r++)\n"
    "    for (int i = r * stride; i < r * stride + len; i++) y[i] = jsc_qbfp1(x[i], e, M, kmax);\n"
    "}\n"
    "";
static const char *const qprelude_tern =
    "/* ternary over n elements (stat 0 mean, 1 median, 2 max of |x|), in double, NaN left out */\n"
    "static __device__ void jsc_qtern(float *y, const float *x, int n, int stat, int scaled) {\n"
    "  long long cnt = 0;\n"
    "  double sum = 0.0, mx = 0.0, t = 0.0, a = 1.0;\n"
    "  for (int i = 0; i < n; i++) {\n"
    "    const double v = fabs((double)x[i]);\n"
    "    if (v != v) continue;\n"
    "    cnt++, sum += v;\n"
    "    if (v > mx) mx = v;\n"
    "  }\n"
    "  if (cnt > 0 && stat == 1) { /* the lower median: bisect on the bit patterns of |x| */\n"
    "    const long long k = (cnt - 1) / 2;\n"
    "    unsigned long long lo = 0, hi = 0x7ff0000000000000ull;\n"
    "    while (lo < hi) {\n"
    "      const unsigned long long mid = lo + (hi - lo) / 2;\n"
    "      long long at = 0;\n"
    "      for (int i = 0; i < n; i++) {\n"
    "        const double v = fabs((double)x[i]);\n"
    "        if (v == v && (unsigned long long)__double_as_longlong(v) <= mid) at++;\n"
    "      }\n"
    "      if (at > k) hi = mid;\n"
    "      else lo = mid + 1;\n"
    "    }\n"
    "    t = 0.75 * __longlong_as_double((long long)lo);\n"
    "  } else if (cnt > 0) {\n"
    "    t = stat == 2 ? 0.05 * mx : 0.75 * (sum / (double)cnt);\n"
    "  }\n"
    "  if (scaled) {\n"
    "    long long kept = 0;\n"
    "    double ks = 0.0;\n"
    "    for (int i = 0; i < n; i++) {\n"
    "      const double v = fabs((double)x[i]);\n"
    "      if (v > t) kept++, ks += v;\n"
    "    }\n"
    "    a = kept ? ks / (double)kept : 0.0;\n"
    "  }\n"
    "  for (int i = 0; i < n; i++) {\n"
    "    const double v = (double)x[i];\n"
    "    y[i] = v != v ? x[i] : (float)(v > t ? a : v < -t ? -a : 0.0);\n"
    "  }\n"
    "}\n";

static const char *const qprelude_blk =
    "static __device__ __forceinline__ int jsc_qcap(int v) { return v < -300 ? -300 : v > 300 ? 300 : v; }\n"
    "/* block_minifloat: bias b = clamp(floor(fl(log2 max|x|)), 0, top), then minifloat_ieee[w, E, b] */\n"
    "static __device__ void jsc_qbm(float *y, const float *x, int len, int rows, int stride, int M, int span, int top,\n"
    "                               double kmax) {\n"
    "  float m = jsc_qbmax(x, len, rows, stride);\n"
    "  if (m > 3.40282347e38f) m = 3.40282347e38f; /* infinities count as FLT_MAX */\n"
    "  const int b = jsc_qexp(m, 1, 0, top), lo = jsc_qcap(-b), hi = jsc_qcap(span - b);\n"
    "  for (int r = 0; r < rows; r++)\n"
    "    for (int i = r * stride; i < r * stride + len; i++) y[i] = jsc_qmf(x[i], 1, M, lo, hi, kmax);\n"
    "}\n"
    "/* block_log: bias b = clamp(2^(w-1) - 1 - ceil(fl(log2 max|x|)), 0, top) (0 for a max of 0),\n"
    " * then log[w, b]; t is 2^(w-1) - 1 capped at 2^20, span 2^(w-1) - 1 */\n"
    "static __device__ void jsc_qbl(float *y, const float *x, int len, int rows, int stride, int t, int span, int top) {\n"
    "  float m = jsc_qbmax(x, len, rows, stride);\n"
    "  if (m > 3.40282347e38f) m = 3.40282347e38f; /* infinities count as FLT_MAX */\n"
    "  int b = t - jsc_qexp(m, 0, -1000, 1000);\n"
    "  b = b < 0 ? 0 : b > top ? top : b;\n"
    "  if (m == 0.0f) b = 0;\n"
    "  const int lo = jsc_qcap(-b), hi = jsc_qcap(span - b);\n"
    "  const float c = (float)(ldexp(1.0, lo) * 0.1);\n"
    "  for (int r = 0; r < rows; r++)\n"
    "    for (int i = r * stride; i < r * stride + len; i++) y[i] = jsc_qlog(x[i], c, lo, hi);\n"
    "}\n";

static bool plan_has_qformats(const CgPlan *p) {
  for (int s = 0; s < p->nstages; s++) {
    for (int i = 0; i < p->stages[s].npre; i++)
      if (p->stages[s].pre[i].kind == PT_QUANT && p->stages[s].pre[i].qf.kind != QK_INTEGER) return true;
    for (int i = 0; i < p->stages[s].ninsts; i++)
      if (p->stages[s].insts[i].kind == I_EW && p->stages[s].insts[i].ew == EW_QUANT &&
          p->stages[s].insts[i].qf.kind != QK_INTEGER)
        return true;
  }
  return false;
}

/* The threshold tables and the device functions above. */
static void emit_qprelude(Cu *c) {
  static const char *const how[3] = {"ceil", "floor", "rne"};
  line(c, "static __device__ const int jsc_qthr[3][%d] = { /* per binade E = %d.., ir_quant_exp_table */", IR_QEXP_N,
       IR_QEXP_EMIN);
  for (int h = 0; h < 3; h++) {
    int32_t thr[IR_QEXP_N];
    ir_quant_exp_table(h, thr);
    line(c, "  { /* %s */", how[h]);
    for (int i = 0; i < IR_QEXP_N; i += 12) {
      sb_puts(c->sb, "   ");
      for (int k = i; k < i + 12 && k < IR_QEXP_N; k++) sb_printf(c->sb, " %d,", (int)thr[k]);
      sb_putc(c->sb, '\n');
    }
    line(c, "  },");
  }
  line(c, "};");
  sb_puts(c->sb, qprelude);
  sb_puts(c->sb, qprelude_tern);
  sb_puts(c->sb, qprelude_blk);
}

/* The exponent range of a format, clamped to +-300 (llvm.c's qexp_range: no output changes). */
static void qrange(const QFmt *f, int *lo, int *hi) {
  int ebits = f->kind == QK_LOG ? f->width - 1 : f->exp_width;
  int64_t top = ebits >= 62 ? INT64_MAX / 2 : ebits <= 0 ? 0 : (INT64_C(1) << ebits) - 1;
  int64_t l = -(int64_t)f->exp_bias, h = top - f->exp_bias;
  *lo = (int)(l < -300 ? -300 : l > 300 ? 300 : l);
  *hi = (int)(h < -300 ? -300 : h > 300 ? 300 : h);
}
static int qm(const QFmt *f) {
  int m = f->kind == QK_BLOCK_FP ? f->width - 1 : f->width - f->exp_width - 1;
  return m < 0 ? 0 : m > 62 ? 62 : m;
}
static double qkmaxv(const QFmt *f) { return (double)(float)(ldexp(1.0, qm(f)) - 1); }

/* The call quantizing a block (rs: "rows, stride" of its runs of len) from x into y (in place
 * allowed) with a block format. */
static void qblock_call(char *out, size_t cap, const QFmt *f, const char *y, const char *x, const char *len, const char *rs) {
  char k[48];
  int lo, hi;
  qrange(f, &lo, &hi);
  int top = (1 << f->exp_bias_width) - 1;
  if (f->kind == QK_BLOCK_MINIFLOAT) {
    snprintf(out, cap, "jsc_qbm(%s, %s, %s, %s, %d, %d, %d, %s)", y, x, len, rs, qm(f), (1 << f->exp_width) - 1, top,
             dlit(k, sizeof k, qkmaxv(f)));
  } else if (f->kind == QK_BLOCK_LOG) {
    int64_t span = (INT64_C(1) << (f->width - 1)) - 1;
    snprintf(out, cap, "jsc_qbl(%s, %s, %s, %s, %d, %lld, %d)", y, x, len, rs, span > (1 << 20) ? 1 << 20 : (int)span,
             (long long)span, top);
  } else {
    snprintf(out, cap, "jsc_qbfp(%s, %s, %s, %s, %d, %d, %d, %s)", y, x, len, rs, qm(f), lo, hi, dlit(k, sizeof k, qkmaxv(f)));
  }
}

/* The expression quantizing x with an elementwise format f. */
static Status qexpr(Cu *c, const QFmt *f, const char *x, char *out, size_t cap) {
  char a[48], b[48];
  int lo, hi;
  qrange(f, &lo, &hi);
  switch (f->kind) {
  case QK_INTEGER: {
    char q[160];
    Status st = qargs(c, f, q, sizeof q);
    if (!st) snprintf(out, cap, "jsc_qint(%s, %s)", x, q);
    return st;
  }
  case QK_MINIFLOAT_IEEE:
  case QK_MINIFLOAT_DENORM:
    snprintf(out, cap, "jsc_qmf(%s, %d, %d, %d, %d, %s)", x, f->kind == QK_MINIFLOAT_IEEE, qm(f), lo, hi,
             dlit(a, sizeof a, qkmaxv(f)));
    return JS_OK;
  case QK_LOG: {
    int64_t l = -(int64_t)f->exp_bias;
    float cc = (float)(ldexp(1.0, (int)(l < -4000 ? -4000 : l > 4000 ? 4000 : l)) * 0.1); /* ir/quant.c log_c */
    snprintf(out, cap, "jsc_qlog(%s, %s, %d, %d)", x, flit(b, sizeof b, cc), lo, hi);
    return JS_OK;
  }
  case QK_BINARY:
    snprintf(out, cap, "jsc_qbin(%s, %s)", x, f->bipolar ? "(-1.0f)" : "0.0f");
    return JS_OK;
  default:
    return diag_error(c->d, (SrcLoc){0}, "codegen: CUDA: the %s number format quantizes a row value (a plan bug)",
                      ir_qkind_name(f->kind));
  }
}

/* The expression of elementwise instruction `in` at feature j. */
static Status ew_expr(Cu *c, const Inst *in, char *out, size_t cap) {
  char A[96], B[96], C[96], k[48];
  opd(c, in->a, "j", A, sizeof A);
  opd(c, in->b, "j", B, sizeof B);
  opd(c, in->c3, "j", C, sizeof C);
  flit(k, sizeof k, in->c);
  switch (in->ew) {
  case EW_ADD: snprintf(out, cap, "%s + %s", A, B); break;
  case EW_SUB: snprintf(out, cap, "%s - %s", A, B); break;
  case EW_MUL: snprintf(out, cap, "%s * %s", A, B); break;
  case EW_DIV: snprintf(out, cap, "%s / %s", A, B); break;
  case EW_NEG: snprintf(out, cap, "-%s", A); break;
  case EW_EXP: snprintf(out, cap, "expf(%s)", A); break;
  case EW_LOG: snprintf(out, cap, "logf(%s)", A); break;
  /* torch.maximum/minimum: NaN when either operand is NaN (fmaxf would drop it) */
  case EW_MAX: snprintf(out, cap, "(%s > %s || %s != %s) ? %s : %s", A, B, A, A, A, B); break;
  case EW_MIN: snprintf(out, cap, "(%s < %s || %s != %s) ? %s : %s", A, B, A, A, A, B); break;
  case EW_SEL: snprintf(out, cap, "%s > 0.0f ? %s : %s", A, B, C); break;
  case EW_DROPOUT: {
    char sc[48];
    flit(sc, sizeof sc, in->c >= 1 ? 0.0f : 1.0f / (1.0f - in->c));
    snprintf(out, cap, "jsc_keep(dh%d, (unsigned)r * %uu + (unsigned)j, %s) ? %s * %s : 0.0f", in->dst, (unsigned)in->n, k, A, sc);
    break;
  }
  case EW_ONEHOT: snprintf(out, cap, "tgt == j ? 1.0f : 0.0f"); break;
  case EW_FMA: snprintf(out, cap, "fmaf(%s, %s, %s)", A, B, C); break;
  case EW_QUANT: {
    Status st = qexpr(c, &in->qf, A, out, cap);
    if (st) return st;
    break;
  }
  default: return diag_error(c->d, (SrcLoc){0}, "codegen: CUDA: elementwise operation %d has no CUDA form", (int)in->ew);
  }
  return JS_OK;
}

static void define(Cu *c, int v, int n) {
  line(c, "float v%d[%d];", v, n);
  c->defined[v] = c->cur_stage + 1;
}

/* Where accumulator a's element `e` (an expression) gets total `t`. */
static void acc_dest(Cu *c, int a, const char *e, const char *t) {
  const Acc *A = &c->p->accs[a];
  switch (A->dest) {
  case ACC_STAT:
    if (A->f64) line(c, "((double *)(S + %lld))[%s] = %s;", (long long)A->off, e, t);
    else line(c, "S[%lld + %s] = %s;", (long long)A->off, e, t);
    break;
  case ACC_GRAD: line(c, "G[%lld + %s] = (float)%s;", (long long)A->off, e, t); break;
  case ACC_METRIC: line(c, "k.met[%lld] += (double)%s;", (long long)A->off, t); break; /* E == 1 */
  }
}

/* A staged accumulator's instruction: the chunk loop (see the top of the file). */
static void emit_staged(Cu *c, const Inst *in) {
  const AccLay *L = &c->al[in->acc];
  const Acc *A = &c->p->accs[in->acc];
  const char *T = A->f64 ? "double" : "float";
  char x[96];
  if (in->kind == I_OUTER)
    line(c, "/* outer acc%d += v%lld (x) v%lld: %d sums, staged %d rows a chunk, pitch %d, %d group%s */", in->acc,
         (long long)in->a.id, (long long)in->b.id, L->E, L->R, L->wp, L->G, L->G == 1 ? "" : "s");
  else
    line(c, "/* acc acc%d += v%lld: %d sums, staged %d rows a chunk, pitch %d, %d group%s */", in->acc, (long long)in->a.id, L->E,
         L->R, L->wp, L->G, L->G == 1 ? "" : "s");
  line(c, "for (int c0 = 0; c0 < NT; c0 += %d) {", L->R);
  c->ind++;
  line(c, "const int qn = n - r0 - c0 < %d ? n - r0 - c0 : %d;", L->R, L->R);
  line(c, "if (qn <= 0) break;");
  line(c, "if (tid >= c0 && tid < c0 + %d) {", L->R);
  c->ind++;
  line(c, "float *w = sf + (tid - c0) * %d;", L->wp);
  unroll(c, L->na);
  line(c, "for (int j = 0; j < %d; j++) w[j] = live ? %s : 0.0f;", L->na, opd(c, in->a, "j", x, sizeof x));
  if (L->nb) {
    unroll(c, L->nb);
    line(c, "for (int j = 0; j < %d; j++) w[%d + j] = live ? %s : 0.0f;", L->nb, L->na, opd(c, in->b, "j", x, sizeof x));
  }
  c->ind--;
  line(c, "}");
  line(c, "__syncthreads();");
  char body[160]; /* one row's contribution to element e (o, k) */
  if (in->kind == I_OUTER) snprintf(body, sizeof body, "t = fmaf(sf[q * %d + o], sf[q * %d + %d + k], t);", L->wp, L->wp, L->na);
  else snprintf(body, sizeof body, "t += %ssf[q * %d + e];", A->f64 ? "(double)" : "", L->wp);
  if (L->G == 1) {
    line(c, "%s", pragma_unroll);
    line(c, "for (int i = 0; i < %d; i++) {", L->Q);
    c->ind++;
    line(c, "const int e = tid + i * NT;");
    line(c, "if (e < %d) {", L->E);
    c->ind++;
    if (in->kind == I_OUTER) line(c, "const int o = e / %d, k = e - o * %d;", L->nb, L->nb);
    line(c, "%s t = acc%d[i];", T, in->acc);
    line(c, "for (int q = 0; q < qn; q++) %s", body);
    line(c, "acc%d[i] = t;", in->acc);
    c->ind--;
    line(c, "}");
    c->ind--;
    line(c, "}");
  } else {
    line(c, "if (tid < %d) {", L->G * L->E);
    c->ind++;
    line(c, "const int e = tid %% %d;", L->E);
    if (in->kind == I_OUTER) line(c, "const int o = e / %d, k = e - o * %d;", L->nb, L->nb);
    line(c, "%s t = acc%d[0];", T, in->acc);
    line(c, "for (int q = tid / %d; q < qn; q += %d) %s", L->E, L->G, body);
    line(c, "acc%d[0] = t;", in->acc);
    c->ind--;
    line(c, "}");
  }
  line(c, "__syncthreads();");
  c->ind--;
  line(c, "}");
}

/* block_fp of a row value: a shared exponent per block of block_size features. */
static void emit_quant_bfp(Cu *c, const Inst *in) {
  char A[96], k[48];
  int lo, hi, n = in->n, bs = in->qf.block_size > 0 && in->qf.block_size < in->n ? in->qf.block_size : in->n;
  qrange(&in->qf, &lo, &hi);
  define(c, in->dst, n);
  line(c, "for (int b0 = 0; b0 < %d; b0 += %d) { /* block_fp: blocks of %d features */", n, bs, bs);
  c->ind++;
  line(c, "const int b1 = b0 + %d < %d ? b0 + %d : %d;", bs, n, bs, n);
  line(c, "float m = 0.0f;");
  line(c, "for (int j = b0; j < b1; j++) m = fabsf(%s) > m ? fabsf(%s) : m;", opd(c, in->a, "j", A, sizeof A), A);
  line(c, "const int e = jsc_qexp(m, 0, %d, %d);", lo, hi);
  line(c, "for (int j = b0; j < b1; j++) v%d[j] = jsc_qbfp1(%s, e, %d, %s);", in->dst, A, qm(&in->qf),
       dlit(k, sizeof k, qkmaxv(&in->qf)));
  c->ind--;
  line(c, "}");
}

/* block_minifloat or block_log of a row value: the features copied, then each block of
 * block_size quantized in place. */
static void emit_quant_bias_blocks(Cu *c, const Inst *in) {
  char A[96], call[256];
  int n = in->n, bs = in->qf.block_size > 0 && in->qf.block_size < n ? in->qf.block_size : n;
  define(c, in->dst, n);
  unroll(c, n);
  line(c, "for (int j = 0; j < %d; j++) v%d[j] = %s;", n, in->dst, opd(c, in->a, "j", A, sizeof A));
  char y[32], len[64];
  snprintf(y, sizeof y, "v%d + b0", in->dst);
  snprintf(len, sizeof len, "b0 + %d < %d ? %d : %d - b0", bs, n, bs, n);
  qblock_call(call, sizeof call, &in->qf, y, y, len, "1, 0");
  line(c, "for (int b0 = 0; b0 < %d; b0 += %d) %s; /* %s: blocks of %d features */", n, bs, call, ir_qkind_name(in->qf.kind), bs);
}

static Status emit_inst(Cu *c, const Inst *in) {
  const CgPlan *p = c->p;
  char A[96], B[96], E[640];
  Status st;
  if ((st = check_opd(c, in->a, in->kind == I_AFFINE ? in->nb : in->n)) ||
      (st = check_opd(c, in->b, in->kind == I_OUTER ? in->nb : in->n)) || (st = check_opd(c, in->c3, in->n)))
    return st;
  bool has_dst = in->kind != I_STORE && in->kind != I_ACC && in->kind != I_OUTER && in->kind != I_LOGITS;
  if (has_dst && (in->dst < 0 || in->dst >= p->nvals))
    return diag_error(c->d, (SrcLoc){0}, "codegen: CUDA: stage %d defines v%d, which the plan does not have", c->cur_stage, in->dst);
  if ((in->kind == I_LOAD || in->kind == I_STORE) && (in->buf < 0 || in->buf >= p->nbufs))
    return diag_error(c->d, (SrcLoc){0}, "codegen: CUDA: stage %d uses row buffer %d, which the plan does not have", c->cur_stage,
                      in->buf);
  if (in->n < 1 || in->n > VAL_MAX || (in->kind == I_AFFINE && (in->nb < 1 || in->nb > VAL_MAX)))
    return diag_error(c->d, (SrcLoc){0},
                      "codegen: CUDA: a row value of %d features in stage %d; the CUDA renderer keeps a row's values in "
                      "registers and local memory, at most %d features each", in->kind == I_AFFINE && in->nb > in->n ? in->nb : in->n,
                      c->cur_stage, VAL_MAX);
  switch (in->kind) {
  case I_LOAD:
    define(c, in->dst, in->n);
    unroll(c, in->n);
    line(c, "for (int j = 0; j < %d; j++) v%d[j] = live ? S[%lld + j * %lld + r] : 0.0f;", in->n, in->dst,
         (long long)p->boff[in->buf], (long long)p->bpad);
    break;
  case I_LOADX:
    define(c, in->dst, in->n);
    unroll(c, in->n);
    line(c, "for (int j = 0; j < %d; j++) v%d[j] = live ? X[row * %d + j] : 0.0f;", in->n, in->dst, p->features);
    break;
  case I_STORE:
    line(c, "if (live) {");
    c->ind++;
    unroll(c, in->n);
    line(c, "for (int j = 0; j < %d; j++) S[%lld + j * %lld + r] = %s;", in->n, (long long)p->boff[in->buf], (long long)p->bpad,
         opd(c, in->a, "j", A, sizeof A));
    c->ind--;
    line(c, "}");
    break;
  case I_LOGITS:
    line(c, "if (live && LG) {");
    c->ind++;
    unroll(c, in->n);
    line(c, "for (int j = 0; j < %d; j++) LG[(base + r) * %d + j] = %s;", in->n, p->classes, opd(c, in->a, "j", A, sizeof A));
    c->ind--;
    line(c, "}");
    break;
  case I_EW:
    if (in->ew == EW_QUANT && in->qf.kind == QK_BLOCK_FP) {
      emit_quant_bfp(c, in);
      break;
    }
    if (in->ew == EW_QUANT && (in->qf.kind == QK_BLOCK_MINIFLOAT || in->qf.kind == QK_BLOCK_LOG)) {
      emit_quant_bias_blocks(c, in);
      break;
    }
    if ((st = ew_expr(c, in, E, sizeof E))) return st;
    if (in->ew == EW_DROPOUT) {
      uint32_t km = in->key * 0x9E3779B9U;
      line(c, "const unsigned dh%d = jsc_hash(jsc_hash(seed ^ 0x%08xu) ^ dstep); /* dropout key %u */", in->dst, km, in->key);
    }
    define(c, in->dst, in->n);
    unroll(c, in->n);
    line(c, "for (int j = 0; j < %d; j++) v%d[j] = %s;", in->n, in->dst, E);
    break;
  case I_AFFINE: {
    const char *WB = in->wstat ? "S" : "P", *BB = in->bstat ? "S" : "P";
    define(c, in->dst, in->n);
    /* the output loop stays a loop unless the product is small: NVRTC's optimiser takes
     * minutes over thousands of unrolled weight loads (hls4ml_jsc: 100 s against 3 s) */
    line(c, "%s", (int64_t)in->n * in->nb <= AFFINE_UNROLL ? pragma_unroll : "#pragma unroll 1");
    line(c, "for (int o = 0; o < %d; o++) {", in->n);
    c->ind++;
    if (in->bias < 0) line(c, "float t = 0.0f;");
    else line(c, "float t = %s[%lld + o];", BB, (long long)in->bias);
    unroll(c, in->nb);
    line(c, "for (int k = 0; k < %d; k++) t = fmaf(%s, %s[%lld + o * %lld + k * %lld], t);", in->nb, opd(c, in->a, "k", A, sizeof A),
         WB, (long long)in->w, (long long)in->so, (long long)in->sk);
    line(c, "v%d[o] = t;", in->dst);
    c->ind--;
    line(c, "}");
    break;
  }
  case I_ACC:
  case I_OUTER: {
    const AccLay *L = &c->al[in->acc];
    if (L->m == AM_STAGED) {
      emit_staged(c, in);
      break;
    }
    line(c, "if (live) {");
    c->ind++;
    unroll(c, in->n);
    line(c, "for (int j = 0; j < %d; j++) acc%d[j] += %s%s;", in->n, in->acc, p->accs[in->acc].f64 ? "(double)" : "",
         opd(c, in->a, "j", A, sizeof A));
    c->ind--;
    line(c, "}");
    break;
  }
  case I_RMAX:
  case I_RSUM:
    define(c, in->dst, 1);
    line(c, "{");
    c->ind++;
    line(c, "float t = %s;", opd(c, in->a, "0", A, sizeof A));
    unroll(c, in->n);
    if (in->kind == I_RMAX) line(c, "for (int j = 1; j < %d; j++) t = fmaxf(t, %s);", in->n, opd(c, in->a, "j", B, sizeof B));
    else line(c, "for (int j = 1; j < %d; j++) t += %s;", in->n, opd(c, in->a, "j", B, sizeof B));
    line(c, "v%d[0] = t;", in->dst);
    c->ind--;
    line(c, "}");
    break;
  case I_PICK:
    define(c, in->dst, 1);
    line(c, "{");
    c->ind++;
    line(c, "float t = %s;", opd(c, in->a, "0", A, sizeof A));
    unroll(c, in->n);
    line(c, "for (int j = 1; j < %d; j++) t = tgt == j ? %s : t;", in->n, opd(c, in->a, "j", B, sizeof B));
    line(c, "v%d[0] = t;", in->dst);
    c->ind--;
    line(c, "}");
    break;
  case I_ARGEQ:
    define(c, in->dst, 1);
    line(c, "{");
    c->ind++;
    line(c, "float best = %s;", opd(c, in->a, "0", A, sizeof A));
    line(c, "int at = 0;");
    unroll(c, in->n);
    line(c, "for (int j = 1; j < %d; j++) {", in->n);
    c->ind++;
    line(c, "const float x = %s;", opd(c, in->a, "j", B, sizeof B));
    line(c, "if (x > best) best = x, at = j;");
    c->ind--;
    line(c, "}");
    line(c, "v%d[0] = at == tgt ? 1.0f : 0.0f;", in->dst);
    c->ind--;
    line(c, "}");
    break;
  default: return diag_error(c->d, (SrcLoc){0}, "codegen: CUDA: instruction kind %d has no CUDA form", (int)in->kind);
  }
  return JS_OK;
}

/* ---- point operations (threads stride over features) ---- */

/* A parameter quantized with block_fp, block_minifloat or block_log (a thread per block,
 * blocks along each run of `row`) or ternary (thread 0 over the whole tensor); in place when
 * src is dst. */
static void emit_quant_blocks(Cu *c, const Point *pt) {
  const char *src = pt->src_stat ? "S" : "P";
  if (pt->qf.kind == QK_TERNARY) {
    line(c, "if (tid == 0) jsc_qtern(S + %lld, %s + %lld, %d, %d, %d); /* ternary[%s] */", (long long)pt->dst, src,
         (long long)pt->src, pt->n, (int)pt->qf.tstat, pt->qf.scaling ? 1 : 0,
         pt->qf.tstat == QT_MEDIAN ? "median" : pt->qf.tstat == QT_MAX ? "max" : "mean");
    return;
  }
  int64_t row = pt->row > 0 && pt->row < pt->n && pt->n % pt->row == 0 ? pt->row : pt->n;
  int64_t bs = pt->qf.block_size > 0 && pt->qf.block_size < row ? pt->qf.block_size : row;
  int64_t rows = pt->n / row, br = pt->qf.block_rows <= 1 ? 1 : pt->qf.block_rows < rows ? pt->qf.block_rows : rows;
  int64_t bpr = (row + bs - 1) / bs, nbr = (rows + br - 1) / br;
  line(c, "for (int b = tid; b < %lld; b += NT) { /* %s: %lld blocks of %lld x %lld in %lld rows of %lld */",
       (long long)(nbr * bpr), ir_qkind_name(pt->qf.kind), (long long)(nbr * bpr), (long long)br, (long long)bs,
       (long long)rows, (long long)row);
  c->ind++;
  line(c, "const long long q0 = (long long)(b / %lld) * %lld, c0 = (long long)(b %% %lld) * %lld, r0 = q0 * %lld;",
       (long long)bpr, (long long)br, (long long)bpr, (long long)bs, (long long)row);
  line(c, "const long long len = %lld - c0 < %lld ? %lld - c0 : %lld, nr = %lld - q0 < %lld ? %lld - q0 : %lld;",
       (long long)row, (long long)bs, (long long)row, (long long)bs, (long long)rows, (long long)br, (long long)rows,
       (long long)br);
  char yb[64], xb[64], rs[48], call[320];
  snprintf(yb, sizeof yb, "S + %lld + r0 + c0", (long long)pt->dst);
  snprintf(xb, sizeof xb, "%s + %lld + r0 + c0", src, (long long)pt->src);
  snprintf(rs, sizeof rs, "(int)nr, %lld", (long long)row);
  qblock_call(call, sizeof call, &pt->qf, yb, xb, "(int)len", rs);
  line(c, "%s;", call);
  c->ind--;
  line(c, "}");
}

static Status emit_point(Cu *c, const Point *pt) {
  char x[64], y[64], q[400];
  Status st;
  if (pt->kind == PT_QUANT && !ir_qfmt_elementwise(&pt->qf)) {
    emit_quant_blocks(c, pt);
    return JS_OK;
  }
  line(c, "for (int j = tid; j < %d; j += NT) {", pt->n);
  c->ind++;
  switch (pt->kind) {
  case PT_COPY:
    line(c, "S[%lld + j] = P[%lld + j]; /* copy */", (long long)pt->dst, (long long)pt->src);
    break;
  case PT_BN_TRAIN:
    line(c, "/* BatchNorm batch statistics (double), running statistics */");
    line(c, "const double N = (double)n;");
    line(c, "const double m1 = ((const double *)(S + %lld))[j] / N;", (long long)pt->s1);
    line(c, "const double m2 = ((const double *)(S + %lld))[j] / N;", (long long)pt->s2);
    line(c, "double var = m2 - m1 * m1;");
    line(c, "if (var < 0.0) var = 0.0;");
    if (pt->k >= 0) line(c, "const double mean = m1 + (double)S[%lld + j];", (long long)pt->k);
    else line(c, "const double mean = m1;");
    line(c, "S[%lld + j] = (float)mean;", (long long)pt->mean);
    line(c, "S[%lld + j] = (float)(1.0 / sqrt(var + %s));", (long long)pt->invstd, dlit(x, sizeof x, pt->eps));
    if (pt->rm >= 0) {
      if (pt->momentum >= 0) line(c, "const double f = %s;", dlit(x, sizeof x, pt->momentum));
      else if (pt->nbt >= 0) line(c, "const double f = 1.0 / (double)I64[%d];", pt->nbt);
      else line(c, "const double f = 1.0;");
      line(c, "const double unb = N > 1.0 ? var * N / (N - 1.0) : var;");
      line(c, "P[%lld + j] = (float)((1.0 - f) * (double)P[%lld + j] + f * mean);", (long long)pt->rm, (long long)pt->rm);
      line(c, "P[%lld + j] = (float)((1.0 - f) * (double)P[%lld + j] + f * unb);", (long long)pt->rv, (long long)pt->rv);
    }
    break;
  case PT_BN_EVAL:
    line(c, "/* BatchNorm from running statistics: scale, shift */");
    line(c, "const double rv = %s, rm = %s;", pt->rv >= 0 ? (snprintf(x, sizeof x, "(double)P[%lld + j]", (long long)pt->rv), x) : "1.0",
         pt->rm >= 0 ? (snprintf(y, sizeof y, "(double)P[%lld + j]", (long long)pt->rm), y) : "0.0");
    line(c, "const double w = %s, b = %s;", pt->w >= 0 ? (snprintf(x, sizeof x, "(double)P[%lld + j]", (long long)pt->w), x) : "1.0",
         pt->b >= 0 ? (snprintf(y, sizeof y, "(double)P[%lld + j]", (long long)pt->b), y) : "0.0");
    line(c, "const double scale = w / sqrt(rv + %s);", dlit(x, sizeof x, pt->eps));
    line(c, "S[%lld + j] = (float)scale;", (long long)pt->mean);
    line(c, "S[%lld + j] = (float)(b - rm * scale);", (long long)pt->invstd);
    break;
  case PT_QUANT:
    snprintf(y, sizeof y, "%s[%lld + j]", pt->src_stat ? "S" : "P", (long long)pt->src);
    if ((st = qexpr(c, &pt->qf, y, q, sizeof q))) return st;
    line(c, "S[%lld + j] = %s; /* quantized copy */", (long long)pt->dst, q);
    break;
  case PT_GATHER:
    line(c, "const int t = jsc_tabs[%lld + j]; /* gather: a Toeplitz matrix or a repeated bias */", (long long)pt->tab);
    line(c, "S[%lld + j] = t >= 0 ? %s[%lld + t] : 0.0f;", (long long)pt->dst, pt->src_stat ? "S" : "P", (long long)pt->src);
    break;
  case PT_FOLD:
    line(c, "float s = 0.0f; /* fold: a Toeplitz matrix's gradient onto its weight, in table order */");
    line(c, "for (int q = jsc_tabs[%lld + j]; q < jsc_tabs[%lld + j + 1]; q++) s += S[%lld + jsc_tabs[%lld + q]];",
         (long long)pt->tab, (long long)pt->tab, (long long)pt->src, (long long)(pt->tab + pt->n + 1));
    line(c, "G[%lld + j] = s;", (long long)pt->dst);
    break;
  case PT_BN_FOLD:
    line(c, "/* folded BatchNorm from batch statistics (double) */");
    line(c, "const double w = %s, b = %s;", pt->w >= 0 ? (snprintf(x, sizeof x, "(double)P[%lld + j]", (long long)pt->w), x) : "1.0",
         pt->b >= 0 ? (snprintf(y, sizeof y, "(double)P[%lld + j]", (long long)pt->b), y) : "0.0");
    line(c, "const double scale = w * (double)S[%lld + j];", (long long)pt->invstd);
    line(c, "S[%lld + j] = (float)scale;", (long long)pt->dst);
    line(c, "S[%lld + j] = (float)(b - (double)S[%lld + j] * scale);", (long long)pt->src, (long long)pt->mean);
    break;
  case PT_OPTIM: {
    const CgOptim *o = &c->p->o.optim;
    line(c, "const int x = %lld + j;", (long long)pt->off);
    line(c, "float p = P[x], g = G[x];");
    if (o->kind == CG_ADAMW && o->weight_decay != 0) line(c, "p = p * decay;");
    if (o->kind != CG_ADAMW && o->weight_decay != 0) line(c, "g = fmaf(%s, p, g);", flit(x, sizeof x, (float)o->weight_decay));
    if (o->kind == CG_SGD) {
      if (o->momentum != 0) {
        line(c, "float mb = OM[x];");
        line(c, "const float upd = fmaf(%s, g, mb * %s);", flit(x, sizeof x, (float)(1 - o->dampening)),
             flit(y, sizeof y, (float)o->momentum));
        line(c, "mb = first_step ? g : upd;");
        line(c, "OM[x] = mb;");
        if (o->nesterov) line(c, "g = fmaf(%s, mb, g);", flit(x, sizeof x, (float)o->momentum));
        else line(c, "g = mb;");
      }
      line(c, "p = fmaf(nlr, g, p);");
    } else {
      line(c, "float m = OM[x], v = OV[x];");
      line(c, "m = fmaf(%s, g, m * %s);", flit(x, sizeof x, (float)(1 - o->beta1)), flit(y, sizeof y, (float)o->beta1));
      line(c, "v = fmaf(%s * g, g, v * %s);", flit(x, sizeof x, (float)(1 - o->beta2)), flit(y, sizeof y, (float)o->beta2));
      line(c, "OM[x] = m;");
      line(c, "OV[x] = v;");
      line(c, "const float denom = sqrtf(v) / bc2s + %s;", flit(x, sizeof x, (float)o->eps));
      line(c, "p = p + step_size * m / denom;");
    }
    line(c, "P[x] = p;");
    break;
  }
  default:
    return diag_error(c->d, (SrcLoc){0}, "codegen: CUDA: point operation %d has no CUDA form", (int)pt->kind);
  }
  c->ind--;
  line(c, "}");
  return JS_OK;
}

/* ---- a stage ---- */

static const char *acc_type(const Acc *A) { return A->f64 ? "double" : "float"; }

/* The stage-end sums of stage s: staged accumulators with G == 1 write their elements, the
 * others go through shared memory in groups. */
static void emit_stage_end(Cu *c, int s) {
  const CgPlan *p = c->p;
  int ngroups = 0;
  for (int a = 0; a < p->naccs; a++) {
    const AccLay *L = &c->al[a];
    if (p->accs[a].stage != s) continue;
    if (L->slots && L->group + 1 > ngroups) ngroups = L->group + 1;
    if (L->m != AM_STAGED || L->G != 1) continue;
    line(c, "%s", pragma_unroll);
    line(c, "for (int i = 0; i < %d; i++) {", L->Q);
    c->ind++;
    line(c, "const int e = tid + i * NT;");
    line(c, "if (e < %d) {", L->E);
    c->ind++;
    char t[32];
    snprintf(t, sizeof t, "acc%d[i]", a);
    acc_dest(c, a, "e", t);
    c->ind--;
    line(c, "}");
    c->ind--;
    line(c, "}");
  }
  for (int g = 0; g < ngroups; g++) {
    if (g > 0) line(c, "__syncthreads(); /* the partials' shared memory is reused */");
    for (int a = 0; a < p->naccs; a++) {
      const AccLay *L = &c->al[a];
      if (p->accs[a].stage != s || !L->slots || L->group != g) continue;
      const Acc *A = &p->accs[a];
      if (L->m == AM_SMALL) {
        line(c, "%s", pragma_unroll);
        line(c, "for (int e = 0; e < %d; e++) {", L->E);
        c->ind++;
        line(c, "const %s t = jsc_wsum(acc%d[e]);", acc_type(A), a);
        line(c, "if ((tid & 31) == 0) sd[%d + (tid >> 5) * %d + e] = t;", L->roff, L->E);
        c->ind--;
        line(c, "}");
      } else {
        line(c, "if (tid < %d) sd[%d + tid] = acc%d[0];", L->G * L->E, L->roff, a);
      }
    }
    line(c, "__syncthreads();");
    for (int a = 0; a < p->naccs; a++) {
      const AccLay *L = &c->al[a];
      if (p->accs[a].stage != s || !L->slots || L->group != g) continue;
      const Acc *A = &p->accs[a];
      int parts = L->m == AM_SMALL ? NW : L->G;
      line(c, "if (tid < %d) { /* acc%d: %d partials in order */", L->E, a, parts);
      c->ind++;
      line(c, "%s t = (%s)sd[%d + tid];", acc_type(A), acc_type(A), L->roff);
      line(c, "for (int w = 1; w < %d; w++) t += (%s)sd[%d + w * %d + tid];", parts, acc_type(A), L->roff, L->E);
      acc_dest(c, a, "tid", "t");
      c->ind--;
      line(c, "}");
    }
  }
}

/* The locals every stage function starts with (unused ones cost nothing). */
static void emit_unpack(Cu *c) {
  line(c, "float *P = k.P, *G = k.G, *S = k.S, *LG = k.LG, *OM = k.OM, *OV = k.OV;");
  line(c, "long long *I64 = k.I64;");
  line(c, "const float *__restrict__ X = k.X;");
  line(c, "const int *__restrict__ Y = k.Y;");
  line(c, "const long long *__restrict__ PERM = k.PERM;");
  line(c, "float *sf = (float *)sd;");
  line(c, "const int tid = k.tid, n = k.n;");
  line(c, "const long long first = k.first, base = k.base;");
  line(c, "const float invn = k.invn;");
  line(c, "const unsigned seed = k.seed, dstep = k.dstep;");
  line(c, "(void)P, (void)G, (void)S, (void)LG, (void)OM, (void)OV, (void)I64, (void)X, (void)Y, (void)PERM, (void)sf;");
  line(c, "(void)tid, (void)n, (void)first, (void)base, (void)invn, (void)seed, (void)dstep;");
}

/* Stage s as a function of its own: NVRTC optimises (and ptxas allocates) one stage at a
 * time, which keeps compile times in seconds for the ten-stage models. */
static Status emit_stage(Cu *c, int s) {
  const CgPlan *p = c->p;
  const Stage *st = &p->stages[s];
  Status rc;
  c->cur_stage = s;
  line(c, "/* ---- stage %d ---- */", s);
  line(c, "static __device__ __noinline__ void jsc_stage%d(const JscStep &k) {", s);
  c->ind++;
  emit_unpack(c);
  for (int i = 0; i < st->npre; i++) {
    if ((rc = emit_point(c, &st->pre[i]))) return rc;
    line(c, "__syncthreads();");
  }
  bool accs = false;
  for (int a = 0; a < p->naccs; a++) accs |= p->accs[a].stage == s;
  if (st->ninsts || accs) {
    for (int a = 0; a < p->naccs; a++) {
      if (p->accs[a].stage != s) continue;
      const AccLay *L = &c->al[a];
      int len = L->m == AM_SMALL ? L->E : L->Q;
      line(c, "%s acc%d[%d]; /* -> %s[%lld] x%d, %s */", acc_type(&p->accs[a]), a, len,
           p->accs[a].dest == ACC_GRAD ? "grad" : p->accs[a].dest == ACC_STAT ? "stat" : "metric", (long long)p->accs[a].off,
           p->accs[a].n, L->m == AM_SMALL ? "per-thread rows, summed at the stage end" : "staged");
      line(c, "%s", pragma_unroll);
      line(c, "for (int i = 0; i < %d; i++) acc%d[i] = 0;", len, a);
    }
    line(c, "for (int r0 = 0; r0 < n; r0 += NT) {");
    c->ind++;
    line(c, "const int r = r0 + tid;");
    line(c, "const bool live = r < n;");
    line(c, "const long long row = live ? PERM[first + base + r] : 0;");
    line(c, "const int tgt = live ? Y[row] : 0;");
    line(c, "const float valid = live ? 1.0f : 0.0f, wrow = valid * invn;");
    line(c, "(void)row, (void)tgt, (void)wrow;");
    for (int i = 0; i < st->ninsts; i++)
      if ((rc = emit_inst(c, &st->insts[i]))) return rc;
    c->ind--;
    line(c, "}");
    emit_stage_end(c, s);
    line(c, "__syncthreads();");
  }
  c->ind--;
  line(c, "}");
  line(c, "%s", "");
  return JS_OK;
}

/* The optimizer over every parameter (llvm.c's render: the bias corrections in double). */
static Status emit_optim(Cu *c) {
  const CgPlan *p = c->p;
  const CgOptim *o = &p->o.optim;
  char x[64], y[64];
  Status st;
  line(c, "/* ---- the optimizer (llvm.c's optim_body) ---- */");
  line(c, "static __device__ __noinline__ void jsc_optim(const JscStep &k) {");
  c->ind++;
  emit_unpack(c);
  line(c, "const double stepc = k.stepc;");
  if (o->kind == CG_SGD) {
    line(c, "const float nlr = -(float)k.lr;");
    if (o->momentum != 0) line(c, "const bool first_step = stepc <= 1.0;");
  } else {
    line(c, "const double bc1 = 1.0 - pow(%s, stepc), bc2 = 1.0 - pow(%s, stepc);", dlit(x, sizeof x, o->beta1),
         dlit(y, sizeof y, o->beta2));
    line(c, "const float step_size = (float)(-(k.lr / bc1)), bc2s = (float)sqrt(bc2);");
  }
  if (o->kind == CG_ADAMW && o->weight_decay != 0)
    line(c, "const float decay = (float)(1.0 - k.lr * %s);", dlit(x, sizeof x, o->weight_decay));
  /* one loop per run of parameters that lie back to back (each update is elementwise) */
  for (int i = 0; i < p->npost;) {
    Point run = p->post[i++];
    if (run.kind == PT_OPTIM)
      while (i < p->npost && p->post[i].kind == PT_OPTIM && p->post[i].off == run.off + run.n && run.n + p->post[i].n > run.n)
        run.n += p->post[i++].n;
    if ((st = emit_point(c, &run))) return st;
  }
  line(c, "__syncthreads();");
  c->ind--;
  line(c, "}");
  line(c, "%s", "");
  return JS_OK;
}

/* ---- the translation unit ---- */

static const char *const prelude =
    "typedef struct JsccDevArgs {\n"
    "  unsigned long long params, grads, opt_m, opt_v, i64, scratch, data_x, data_y, perm, metrics, logits;\n"
    "  long long first, nrows, batch, nsteps;\n"
    "  double lr, step0;\n"
    "  unsigned long long seed, dstep0;\n"
    "  unsigned long long trials; /* a group launch: block b runs ((const JsccDevArgs *)trials)[b] */\n"
    "  long long ntrials;\n"
    "} JsccDevArgs;\n"
    "\n"
    "/* runtime/runtime.h's rt_hash32 (lowbias32) and rt_dropout_keep */\n"
    "static __device__ __forceinline__ unsigned jsc_hash(unsigned x) {\n"
    "  x ^= x >> 16; x *= 0x7feb352du; x ^= x >> 15; x *= 0x846ca68bu; x ^= x >> 16;\n"
    "  return x;\n"
    "}\n"
    "static __device__ __forceinline__ bool jsc_keep(unsigned h, unsigned elem, float p) {\n"
    "  return (float)(jsc_hash(h ^ elem) >> 8) * (1.0f / 16777216.0f) >= p;\n"
    "}\n"
    "/* fixed point: clamp(round(x * 2^f), lo, hi) / 2^f; ordered compares keep NaN */\n"
    "static __device__ __forceinline__ float jsc_qint(float x, float s, float lo, float hi, float is, int fl) {\n"
    "  float y = x * s;\n"
    "  y = fl ? floorf(y) : rintf(y);\n"
    "  y = y < lo ? lo : y;\n"
    "  y = y > hi ? hi : y;\n"
    "  return y * is;\n"
    "}\n"
    "static __device__ __forceinline__ float jsc_wsum(float v) {\n"
    "  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);\n"
    "  return v;\n"
    "}\n"
    "static __device__ __forceinline__ double jsc_wsum(double v) {\n"
    "  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);\n"
    "  return v;\n"
    "}\n"
    "\n"
    "/* What the stage functions read: the kernel's buffers and the step's scalars. */\n"
    "typedef struct JscStep {\n"
    "  float *P, *G, *S, *LG, *OM, *OV;  /* params, grads, scratch, logits, optimizer state */\n"
    "  long long *I64;                   /* num_batches_tracked */\n"
    "  const float *X;                   /* [nrows][features] */\n"
    "  const int *Y;                     /* [nrows] */\n"
    "  const long long *PERM;            /* row order */\n"
    "  long long first, base;            /* rows r < n of the step are PERM[first + base + r] */\n"
    "  int tid, n;                       /* this thread, rows in the step */\n"
    "  float invn;                       /* 1 / n */\n"
    "  unsigned seed, dstep;             /* dropout stream */\n"
    "  double stepc, lr;                 /* the optimizer's step count and learning rate */\n"
    "  double *met;                      /* [2] thread 0's metric sums */\n"
    "} JscStep;\n"
    "extern __shared__ double sd[];      /* staged rows (as float) and stage-end partials */\n";

/* The plan's index tables (PT_GATHER, PT_FOLD) as one constant array. */
static void emit_tabs(Cu *c) {
  const CgPlan *p = c->p;
  line(c, "static __device__ const int jsc_tabs[%lld] = { /* plan.h: PT_GATHER / PT_FOLD index tables */",
       (long long)p->ntabs);
  for (int64_t i = 0; i < p->ntabs; i += 16) {
    sb_puts(c->sb, "  ");
    for (int64_t k = i; k < i + 16 && k < p->ntabs; k++) sb_printf(c->sb, "%d,", (int)p->tabs[k]);
    sb_putc(c->sb, '\n');
  }
  line(c, "};");
}

static Status render(Cu *c) {
  const CgPlan *p = c->p;
  const char *kname = p->o.train ? "jscc_train" : "jscc_eval";
  int passes = p->nstages;
  Status st;
  line(c, "/* %s: %s step of %s, batch %lld (row buffers padded to %lld), %d pass%s over the batch, %zu bytes of shared",
       kname, p->o.train ? "training" : "evaluation", p->model ? p->model : "?", (long long)p->o.batch, (long long)p->bpad, passes,
       passes == 1 ? "" : "es", c->shared);
  line(c, " * memory.  Generated by jscc's codegen/cuda.c from the fusion plan (see the comment there); do not edit. */");
  line(c, "#define NT %d", NT);
  sb_puts(c->sb, prelude);
  if (plan_has_qformats(p)) emit_qprelude(c);
  if (p->ntabs) emit_tabs(c);
  line(c, "%s", "");
  for (int s = 0; s < p->nstages; s++)
    if ((st = emit_stage(c, s))) return st;
  if (p->npost && (st = emit_optim(c))) return st;
  line(c, "extern \"C\" __global__ void __launch_bounds__(NT) %s(JsccDevArgs in) {", kname);
  c->ind++;
  line(c, "/* another launch shape, or steps longer than the row buffers: do nothing */");
  line(c, "if (blockDim.x != NT || blockDim.y != 1 || blockDim.z != 1 || gridDim.y * gridDim.z != 1) return;");
  line(c, "if (gridDim.x != (in.trials ? (unsigned long long)in.ntrials : 1ull)) return;");
  line(c, "/* one trial, or trial blockIdx.x of a group (its own buffers, order, lr, seed) */");
  line(c, "const JsccDevArgs a = in.trials ? ((const JsccDevArgs *)in.trials)[blockIdx.x] : in;");
  line(c, "if (a.batch < 1 || a.batch > %lld) return;", (long long)p->o.batch);
  line(c, "double met[2] = {0.0, 0.0}; /* thread 0: sums of per-row losses, correct predictions */");
  line(c, "JscStep k;");
  line(c, "k.P = (float *)a.params, k.G = (float *)a.grads, k.S = (float *)a.scratch, k.LG = (float *)a.logits;");
  line(c, "k.OM = (float *)a.opt_m, k.OV = (float *)a.opt_v, k.I64 = (long long *)a.i64;");
  line(c, "k.X = (const float *)a.data_x, k.Y = (const int *)a.data_y, k.PERM = (const long long *)a.perm;");
  line(c, "k.first = a.first, k.tid = threadIdx.x, k.seed = (unsigned)a.seed, k.lr = a.lr, k.met = met;");
  line(c, "for (long long step = 0; step < a.nsteps; step++) {");
  c->ind++;
  line(c, "k.base = step * a.batch; /* the step's first row, relative to a.first */");
  line(c, "k.n = (int)(a.nrows - k.base < a.batch ? a.nrows - k.base : a.batch);");
  line(c, "if (k.n < 1) break; /* nsteps beyond the rows */");
  line(c, "k.invn = 1.0f / (float)k.n;");
  line(c, "k.dstep = (unsigned)(a.dstep0 + (unsigned long long)step);");
  line(c, "k.stepc = a.step0 + (double)step;");
  bool nbt = false;
  for (int s = 0; s < p->nstages; s++)
    for (int i = 0; i < p->stages[s].npre; i++) nbt |= p->stages[s].pre[i].kind == PT_BN_TRAIN && p->stages[s].pre[i].nbt >= 0;
  if (nbt) {
    line(c, "if (k.tid == 0) { /* num_batches_tracked += 1 (read by later stages, after their barriers) */");
    c->ind++;
    for (int s = 0; s < p->nstages; s++)
      for (int i = 0; i < p->stages[s].npre; i++)
        if (p->stages[s].pre[i].kind == PT_BN_TRAIN && p->stages[s].pre[i].nbt >= 0)
          line(c, "k.I64[%d] += 1;", p->stages[s].pre[i].nbt);
    c->ind--;
    line(c, "}");
  }
  for (int s = 0; s < p->nstages; s++) line(c, "jsc_stage%d(k);", s);
  if (p->npost) line(c, "jsc_optim(k);");
  c->ind--;
  line(c, "}");
  bool m0 = false, m1 = false;
  for (int a = 0; a < p->naccs; a++)
    if (p->accs[a].dest == ACC_METRIC) m0 |= p->accs[a].off == 0, m1 |= p->accs[a].off == 1;
  if (m0 || m1) {
    line(c, "if (k.tid == 0) {");
    c->ind++;
    if (m0) line(c, "((double *)a.metrics)[0] += met[0];");
    if (m1) line(c, "((double *)a.metrics)[1] += met[1];");
    c->ind--;
    line(c, "}");
  }
  c->ind--;
  line(c, "}");
  return JS_OK;
}

Status cg_cuda_render(const CgPlan *p, StrBuf *src, Diag *d) {
  Cu c;
  Status st = cu_init(&c, p, src, d);
  if (!st) st = render(&c);
  cu_free(&c);
  if (!st && src->oom) st = diag_oom(d);
  return st;
}
