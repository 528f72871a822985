/* codegen/llvm.c — render a fusion plan as an LLVM module, compile it with ORC LLJIT, run it.
 *
 * The rendered function is `void jscc_step(i8 *args)` (args: a CgArgs).  Each row loop
 * handles `vec` rows per iteration: a row value of n features is n vector registers
 * <vec x float>, one per feature, so every per-row instruction of the plan becomes vector
 * instructions over rows, with the feature loops unrolled (sizes are constants).  Weights
 * are broadcast from the parameter array; accumulators keep one partial sum per lane in
 * scratch and are reduced when the loop ends.  exp and log are inlined polynomials (Cephes'
 * expf/logf), so nothing calls libm inside a loop.  Point operations (batch statistics, the
 * optimizer) are small scalar loops.  The module is optimised with a scalar cleanup
 * pipeline (CG_PIPELINE) for the host CPU and JIT-compiled; with a cache directory the
 * machine code goes through an object file kept on disk and reused by the next run that
 * renders the same module (kcache.c; cg_llvm_jit_build, which intllvm.c shares). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/mman.h>
#include <pthread.h>
#include <time.h>

#include "plan.h"

/* Machine code generation dominates and grows about linearly with the module once nothing is
 * unrolled over a width: on a shared Ice Lake core jsc_big's training step (10145
 * instructions) took 450 ms and the 16-4096-5 MLP's (1230) 70-105 ms, about 25 instructions
 * per ms after 20 ms of fixed cost; the estimate errs on the long side. */
enum { CG_INSTS_PER_MS = 25, CG_FIXED_MS = 20 };
double cg_llvm_expect_ms(size_t n) { return CG_FIXED_MS + (double)n / CG_INSTS_PER_MS; }

#ifdef JSCC_HAVE_LLVM
#include <llvm-c/Analysis.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <limits.h>
#include <llvm/Config/llvm-config.h>

#include "kcache.h"
#include "llvm_jit.h"

struct CgKernel {
  LLVMOrcLLJITRef jit;
  void (*fn)(CgArgs *);
};

enum { A_PARAMS, A_GRADS, A_X, A_Y, A_VALID, A_SCRATCH, A_OPTM, A_OPTV, A_I64, A_LOGITS, A_METRICS, A_N, A_LR, A_STEP,
       A_SEED, A_DSTEP, A_COUNT };

typedef struct Val {
  int n;
  LLVMValueRef *reg;  /* [n] one vector per feature, or NULL */
  LLVMValueRef arr;   /* a stack array [n x <vec x float>], or NULL */
} Val;

typedef struct VecCache {
  LLVMValueRef base;
  int64_t start;
  int len;
  LLVMValueRef vec;
} VecCache;

typedef struct R {
  const CgPlan *p;
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMValueRef fn;
  LLVMTypeRef f32, f64, i1, i32, i64, i8, fp, vf, vi, vb;
  int V;
  LLVMValueRef arg[A_COUNT];
  LLVMValueRef nblk, invn, invnv, h2[1];
  LLVMValueRef row0;          /* i64: first row of the current block */
  LLVMValueRef validv, wrowv, targetv, rowv;
  Val *vals;                  /* [value id] */
  int cur_n;                  /* features of the instruction being rendered */
  VecCache vcache[256];       /* vectors loaded in the current straight-line region (bcast) */
  LLVMValueRef qexp[3];       /* the exponent threshold tables (i32 *), made on first use */
  int nvcache;
  size_t ninst;
  LLVMValueRef tabs;          /* the plan's index tables (i32 *), made on first use */
} R;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* This thread's CPU time: on a shared machine the compile's own cost, which wall time is not. */
static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static LLVMValueRef cf(R *r, double v) { return LLVMConstReal(r->f32, v); }
static LLVMValueRef ci64(R *r, int64_t v) { return LLVMConstInt(r->i64, (unsigned long long)v, 1); }
static LLVMValueRef ci32(R *r, uint32_t v) { return LLVMConstInt(r->i32, v, 0); }

static LLVMValueRef splat(R *r, LLVMValueRef s) {
  LLVMTypeRef t = LLVMTypeOf(s) == r->i32 ? r->vi : r->vf;
  LLVMValueRef u = LLVMBuildInsertElement(r->b, LLVMGetUndef(t), s, ci32(r, 0), "");
  return LLVMBuildShuffleVector(r->b, u, LLVMGetUndef(t), LLVMConstNull(LLVMVectorType(r->i32, (unsigned)r->V)), "");
}
static LLVMValueRef vconst(R *r, double v) { return splat(r, cf(r, v)); }

static LLVMValueRef gep(R *r, LLVMValueRef base, LLVMTypeRef elt, LLVMValueRef idx) {
  return LLVMBuildGEP2(r->b, elt, base, &idx, 1, "");
}
static LLVMValueRef fptr(R *r, LLVMValueRef base, LLVMValueRef idx) { return gep(r, base, r->f32, idx); }
static LLVMValueRef loadf(R *r, LLVMValueRef base, LLVMValueRef idx) {
  return LLVMBuildLoad2(r->b, r->f32, fptr(r, base, idx), "");
}
static void storef(R *r, LLVMValueRef v, LLVMValueRef base, LLVMValueRef idx) {
  LLVMBuildStore(r->b, v, fptr(r, base, idx));
}
static LLVMValueRef loadv(R *r, LLVMValueRef base, LLVMValueRef idx) {
  LLVMValueRef p = LLVMBuildBitCast(r->b, fptr(r, base, idx), LLVMPointerType(r->vf, 0), "");
  LLVMValueRef v = LLVMBuildLoad2(r->b, r->vf, p, "");
  LLVMSetAlignment(v, 4);
  return v;
}
static void storev(R *r, LLVMValueRef v, LLVMValueRef base, LLVMValueRef idx) {
  LLVMValueRef p = LLVMBuildBitCast(r->b, fptr(r, base, idx), LLVMPointerType(r->vf, 0), "");
  LLVMSetAlignment(LLVMBuildStore(r->b, v, p), 4);
}

static LLVMValueRef intrinsic(R *r, const char *name, LLVMTypeRef t, LLVMValueRef *args, int n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef tys[1] = {t};
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(r->mod, id, tys, 1);
  LLVMTypeRef ft = LLVMIntrinsicGetType(r->ctx, id, tys, 1);
  return LLVMBuildCall2(r->b, ft, f, args, (unsigned)n, "");
}
static LLVMValueRef fmuladd(R *r, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  LLVMValueRef v[3] = {a, b, c};
  return intrinsic(r, "llvm.fmuladd", LLVMTypeOf(a), v, 3);
}
static LLVMValueRef vmax(R *r, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef v[2] = {a, b};
  return intrinsic(r, "llvm.maxnum", LLVMTypeOf(a), v, 2);
}
static LLVMValueRef vmin(R *r, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef v[2] = {a, b};
  return intrinsic(r, "llvm.minnum", LLVMTypeOf(a), v, 2);
}
static LLVMValueRef sel_gt0(R *r, LLVMValueRef a, LLVMValueRef t, LLVMValueRef f) {
  LLVMValueRef c = LLVMBuildFCmp(r->b, LLVMRealOGT, a, vconst(r, 0), "");
  return LLVMBuildSelect(r->b, c, t, f, "");
}

/* e^x (Cephes expf): x = k ln2 + f, |f| <= ln2/2, e^f by a degree-6 polynomial, 2^k by
 * building the exponent bits.  The clamp keeps k in the normal range. */
static LLVMValueRef vexp(R *r, LLVMValueRef x) {
  x = vmin(r, vmax(r, x, vconst(r, -87.0)), vconst(r, 88.0));
  LLVMValueRef t = fmuladd(r, x, vconst(r, 1.44269504088896341), vconst(r, 0.5));
  LLVMValueRef k = intrinsic(r, "llvm.floor", r->vf, &t, 1);
  LLVMValueRef f = fmuladd(r, k, vconst(r, -0.693359375), x);
  f = fmuladd(r, k, vconst(r, 2.12194440e-4), f);
  LLVMValueRef y = vconst(r, 1.9875691500e-4);
  static const double c[] = {1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1};
  for (int i = 0; i < 5; i++) y = fmuladd(r, y, f, vconst(r, c[i]));
  LLVMValueRef z = LLVMBuildFMul(r->b, f, f, "");
  y = fmuladd(r, y, z, LLVMBuildFAdd(r->b, f, vconst(r, 1), ""));
  LLVMValueRef ki = LLVMBuildFPToSI(r->b, k, r->vi, "");
  LLVMValueRef bits = LLVMBuildShl(r->b, LLVMBuildAdd(r->b, ki, splat(r, ci32(r, 127)), ""), splat(r, ci32(r, 23)), "");
  return LLVMBuildFMul(r->b, y, LLVMBuildBitCast(r->b, bits, r->vf, ""), "");
}

/* log x for x > 0 (Cephes logf): x = m 2^e with m in [sqrt(1/2), sqrt(2)), log m by a
 * polynomial in f = m - 1. */
static LLVMValueRef vlog(R *r, LLVMValueRef x) {
  LLVMValueRef bits = LLVMBuildBitCast(r->b, x, r->vi, "");
  LLVMValueRef e = LLVMBuildSub(r->b, LLVMBuildAShr(r->b, bits, splat(r, ci32(r, 23)), ""), splat(r, ci32(r, 127)), "");
  LLVMValueRef mb = LLVMBuildOr(r->b, LLVMBuildAnd(r->b, bits, splat(r, ci32(r, 0x007fffff)), ""), splat(r, ci32(r, 0x3f800000)), "");
  LLVMValueRef m = LLVMBuildBitCast(r->b, mb, r->vf, "");
  LLVMValueRef big = LLVMBuildFCmp(r->b, LLVMRealOGT, m, vconst(r, 1.41421356237), "");
  m = LLVMBuildSelect(r->b, big, LLVMBuildFMul(r->b, m, vconst(r, 0.5), ""), m, "");
  e = LLVMBuildAdd(r->b, e, LLVMBuildZExt(r->b, big, r->vi, ""), "");
  LLVMValueRef ef = LLVMBuildSIToFP(r->b, e, r->vf, "");
  LLVMValueRef f = LLVMBuildFSub(r->b, m, vconst(r, 1), "");
  LLVMValueRef z = LLVMBuildFMul(r->b, f, f, "");
  static const double c[] = {-1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
                             -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1};
  LLVMValueRef y = vconst(r, 7.0376836292e-2);
  for (int i = 0; i < 8; i++) y = fmuladd(r, y, f, vconst(r, c[i]));
  y = LLVMBuildFMul(r->b, LLVMBuildFMul(r->b, y, f, ""), z, "");
  y = fmuladd(r, ef, vconst(r, -2.12194440e-4), y);
  y = fmuladd(r, z, vconst(r, -0.5), y);
  LLVMValueRef res = LLVMBuildFAdd(r->b, f, y, "");
  return fmuladd(r, ef, vconst(r, 0.693359375), res);
}

static LLVMValueRef vhash(R *r, LLVMValueRef x) {
  LLVMValueRef s16 = LLVMTypeOf(x) == r->i32 ? ci32(r, 16) : splat(r, ci32(r, 16));
  LLVMValueRef s15 = LLVMTypeOf(x) == r->i32 ? ci32(r, 15) : splat(r, ci32(r, 15));
  LLVMValueRef m1 = LLVMTypeOf(x) == r->i32 ? ci32(r, 0x7feb352dU) : splat(r, ci32(r, 0x7feb352dU));
  LLVMValueRef m2 = LLVMTypeOf(x) == r->i32 ? ci32(r, 0x846ca68bU) : splat(r, ci32(r, 0x846ca68bU));
  x = LLVMBuildXor(r->b, x, LLVMBuildLShr(r->b, x, s16, ""), "");
  x = LLVMBuildMul(r->b, x, m1, "");
  x = LLVMBuildXor(r->b, x, LLVMBuildLShr(r->b, x, s15, ""), "");
  x = LLVMBuildMul(r->b, x, m2, "");
  return LLVMBuildXor(r->b, x, LLVMBuildLShr(r->b, x, s16, ""), "");
}

/* A counted loop: body(r, i, ud) for i in [0, n); returns with the builder after the loop. */
typedef void (*LoopBody)(R *r, LLVMValueRef i, void *ud);
static void loop(R *r, LLVMValueRef n, LoopBody body, void *ud) {
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(r->b);
  LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(r->ctx, r->fn, "loop");
  LLVMBasicBlockRef bodyb = LLVMAppendBasicBlockInContext(r->ctx, r->fn, "body");
  LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(r->ctx, r->fn, "exit");
  LLVMBuildBr(r->b, head);
  LLVMPositionBuilderAtEnd(r->b, head);
  LLVMValueRef i = LLVMBuildPhi(r->b, r->i64, "i");
  LLVMBuildCondBr(r->b, LLVMBuildICmp(r->b, LLVMIntSLT, i, n, ""), bodyb, exit);
  LLVMPositionBuilderAtEnd(r->b, bodyb);
  r->nvcache = 0; /* values from before the loop would do, but keep it simple: per region */
  body(r, i, ud);
  r->nvcache = 0;
  LLVMValueRef next = LLVMBuildAdd(r->b, i, ci64(r, 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(r->b);
  LLVMBuildBr(r->b, head);
  LLVMValueRef inc[2] = {ci64(r, 0), next};
  LLVMBasicBlockRef from[2] = {pre, latch};
  LLVMAddIncoming(i, inc, from, 2);
  LLVMPositionBuilderAtEnd(r->b, exit);
  r->nvcache = 0;
}

/* Row values: up to REG_MAX features live in registers (one SSA vector per feature, the
 * feature loop unrolled); wider values live in a stack array and the instructions that make
 * them loop over the features, so the module's size (and the compile time) grows with the
 * number of plan instructions, not with the layer widths. */
/* The IR pipeline.  The renderer has already made the decisions O2 would (vectorised over
 * rows, feature loops unrolled or kept), and default<O2> measured slower kernels (it hoists
 * weight broadcasts out of the row loop into spills) and 4-6x longer compiles: jsc_tiny's
 * epoch of kernel time 20.8 ms with O2 against 10.5 ms with this pipeline, jsc_big's
 * 225 ms against 108 ms.  What remains useful is scalar cleanup; machine code generation
 * runs at LLVM's default (O2) level. */
#define CG_PIPELINE "function(sroa,early-cse,instcombine,simplifycfg)"
#define CG_CODEGEN_LEVEL 2
enum { REG_MAX = 16 };
static bool wide(int n) { return n > REG_MAX; }

/* A builder at the top of the function's entry block. */
static LLVMBuilderRef entry_builder(R *r) {
  LLVMBuilderRef eb = LLVMCreateBuilderInContext(r->ctx);
  LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(r->fn);
  LLVMValueRef first = LLVMGetFirstInstruction(entry);
  if (first) LLVMPositionBuilderBefore(eb, first);
  else LLVMPositionBuilderAtEnd(eb, entry);
  return eb;
}
/* A stack array of n vectors in the function's entry block (a fixed frame slot). */
static LLVMValueRef entry_array(R *r, int n) {
  LLVMBuilderRef eb = entry_builder(r);
  LLVMValueRef a = LLVMBuildArrayAlloca(eb, r->vf, ci64(r, n), "");
  LLVMSetAlignment(a, 64);
  LLVMDisposeBuilder(eb);
  return a;
}
/* The scratch block of a value wider than CG_VAL_SCRATCH_MIN, as an array of vectors. */
static LLVMValueRef scratch_array(R *r, int64_t off) {
  LLVMBuilderRef eb = entry_builder(r);
  LLVMValueRef idx = ci64(r, off);
  LLVMValueRef p = LLVMBuildGEP2(eb, r->f32, r->arg[A_SCRATCH], &idx, 1, "");
  p = LLVMBuildBitCast(eb, p, LLVMPointerType(r->vf, 0), "");
  LLVMDisposeBuilder(eb);
  return p;
}
static LLVMValueRef arr_at(R *r, LLVMValueRef arr, LLVMValueRef i) { return gep(r, arr, r->vf, i); }

static bool const_index(LLVMValueRef j, int64_t *out) {
  if (!LLVMIsAConstantInt(j)) return false;
  *out = LLVMConstIntGetSExtValue(j);
  return true;
}

/* Value id's feature j (j an i64, constant or a loop index). */
static LLVMValueRef val_get(R *r, int id, LLVMValueRef j) {
  Val *v = &r->vals[id];
  if (v->n == 1) return v->reg ? v->reg[0] : LLVMBuildLoad2(r->b, r->vf, arr_at(r, v->arr, ci64(r, 0)), "");
  if (v->arr) return LLVMBuildLoad2(r->b, r->vf, arr_at(r, v->arr, j), "");
  int64_t k = 0;
  if (!const_index(j, &k)) { /* cannot happen: a loop runs only over wide values */
    return vconst(r, NAN);
  }
  return v->reg[k];
}
static void val_set(R *r, int id, LLVMValueRef j, LLVMValueRef x) {
  Val *v = &r->vals[id];
  if (v->arr) {
    LLVMBuildStore(r->b, x, arr_at(r, v->arr, j));
    return;
  }
  int64_t k = 0;
  const_index(j, &k);
  v->reg[k] = x;
}
static void new_val_storage(R *r, int id, int n) {
  Val *v = &r->vals[id];
  v->n = n;
  if (wide(n)) v->arr = r->p->voff[id] >= 0 ? scratch_array(r, r->p->voff[id]) : entry_array(r, n);
  else v->reg = ir_calloc((size_t)(n ? n : 1), sizeof(LLVMValueRef));
}

/* Element k of a parameter or stat vector [start, start + len), broadcast to every lane: the
 * vector is loaded once per straight-line region and each element is one shuffle (instead of
 * an address, a load and a splat per element), which keeps the module small. */
static LLVMValueRef bcast(R *r, LLVMValueRef base, int64_t start, int len, int k) {
  LLVMValueRef vec = NULL;
  for (int i = 0; i < r->nvcache; i++)
    if (r->vcache[i].base == base && r->vcache[i].start == start && r->vcache[i].len == len) vec = r->vcache[i].vec;
  if (!vec) {
    LLVMTypeRef vt = LLVMVectorType(r->f32, (unsigned)len);
    LLVMValueRef p = LLVMBuildBitCast(r->b, fptr(r, base, ci64(r, start)), LLVMPointerType(vt, 0), "");
    vec = LLVMBuildLoad2(r->b, vt, p, "");
    LLVMSetAlignment(vec, 4);
    if (r->nvcache < (int)(sizeof r->vcache / sizeof r->vcache[0]))
      r->vcache[r->nvcache++] = (VecCache){base, start, len, vec};
  }
  LLVMValueRef mask[64];
  for (int l = 0; l < r->V; l++) mask[l] = ci32(r, (uint32_t)k);
  return LLVMBuildShuffleVector(r->b, vec, LLVMGetUndef(LLVMTypeOf(vec)), LLVMConstVector(mask, (unsigned)r->V), "");
}

static LLVMValueRef opd(R *r, Opd o, LLVMValueRef j) {
  switch (o.kind) {
  case OPD_VAL: return val_get(r, (int)o.id, j);
  case OPD_PARAM:
  case OPD_STAT: {
    LLVMValueRef base = r->arg[o.kind == OPD_PARAM ? A_PARAMS : A_SCRATCH];
    if (o.scalar) j = ci64(r, 0);
    int64_t k;
    if (!o.scalar && r->cur_n > 1 && const_index(j, &k)) return bcast(r, base, o.id, r->cur_n, (int)k);
    return splat(r, loadf(r, base, LLVMBuildAdd(r->b, j, ci64(r, o.id), "")));
  }
  case OPD_CONST: return vconst(r, o.c);
  case OPD_VALID: return r->validv;
  case OPD_WROW: return r->wrowv;
  case OPD_INVN: return r->invnv;
  case OPD_NONE: break;
  }
  return vconst(r, 0);
}
static LLVMValueRef opdc(R *r, Opd o, int j) { return opd(r, o, ci64(r, j)); }

/* A float constant shaped like v (a vector of rows or one float). */
static LLVMValueRef qconst(R *r, LLVMValueRef like, double c) {
  return LLVMGetTypeKind(LLVMTypeOf(like)) == LLVMVectorTypeKind ? vconst(r, (float)c) : cf(r, (float)c);
}

/* Fixed-point fake quantization (ir/quant.c, MASE's integer quantizer) of x, a vector of rows
 * or one float: clamp(round(x * 2^f), lo, hi) / 2^f with round half to even (llvm.rint in the
 * default rounding mode) or floor.  The clamp is two ordered compares, so NaN stays NaN as
 * torch.clamp keeps it; x * 2^f is exact (a power of two) and saturates through inf. */
static LLVMValueRef quant_int(R *r, LLVMValueRef x, const QFmt *f) {
  LLVMTypeRef t = LLVMTypeOf(x);
  double scale = ldexp(1.0, f->frac_width);
  double lo = f->is_signed ? -ldexp(1.0, f->width - 1) : 0;
  double hi = f->is_signed ? ldexp(1.0, f->width - 1) - 1 : ldexp(1.0, f->width) - 1;
  LLVMValueRef y = LLVMBuildFMul(r->b, x, qconst(r, x, scale), "");
  y = intrinsic(r, f->floor ? "llvm.floor" : "llvm.rint", t, &y, 1);
  LLVMValueRef lov = qconst(r, x, lo), hiv = qconst(r, x, hi);
  y = LLVMBuildSelect(r->b, LLVMBuildFCmp(r->b, LLVMRealOLT, y, lov, ""), lov, y, "");
  y = LLVMBuildSelect(r->b, LLVMBuildFCmp(r->b, LLVMRealOGT, y, hiv, ""), hiv, y, "");
  return LLVMBuildFMul(r->b, y, qconst(r, x, 1.0 / scale), "");
}

/* ---- the other number formats: ir/quant.c's float functions on a vector of rows ----
 *
 * Each step is the reference's, with two changes that provably give the same bits:
 *  - the exponent decisions clamp(ceil|floor|rne(L(v)), lo, hi) come from v's bits and a
 *    per-binade threshold (ir_quant_exp_table, gathered from a constant table), not log2;
 *  - the scalings |x| 2^(M-e) and k 2^(e-M) are done in double with e clamped to
 *    [-300, 300]: every float times 2^s with |s| <= 362 is exact in double, so the mantissa
 *    k = rint(...) is the reference's wherever ldexpf is exact, and where ldexpf is not (a
 *    subnormal product, below 1/2, or an overflow) both give 0 or saturate.  The final
 *    product rounds once to float, as ldexpf and the reference's (float)ldexp do.  Clamping
 *    e to +-300 changes no output: beyond it k is 0 or saturated and 2^(e-M) is 0 or inf in
 *    float alike. */
enum { QE_CAP = 300 };

static LLVMValueRef vci(R *r, int v) { return splat(r, ci32(r, (uint32_t)v)); }
static LLVMTypeRef vdt(R *r) { return LLVMVectorType(r->f64, (unsigned)r->V); }
static LLVMValueRef vcd(R *r, double v) {
  LLVMTypeRef t = vdt(r);
  LLVMValueRef u = LLVMBuildInsertElement(r->b, LLVMGetUndef(t), LLVMConstReal(r->f64, v), ci32(r, 0), "");
  return LLVMBuildShuffleVector(r->b, u, LLVMGetUndef(t), LLVMConstNull(LLVMVectorType(r->i32, (unsigned)r->V)), "");
}
static LLVMValueRef isel(R *r, LLVMIntPredicate p, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(r->b, LLVMBuildICmp(r->b, p, a, b, ""), a, b, "");
}
static LLVMValueRef fsel(R *r, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b, LLVMValueRef t, LLVMValueRef f) {
  return LLVMBuildSelect(r->b, LLVMBuildFCmp(r->b, p, a, b, ""), t, f, "");
}

/* 2^s as doubles, for s (i32 lanes) in [-1022, 1023]: the exponent field built directly. */
static LLVMValueRef pow2d(R *r, LLVMValueRef s) {
  LLVMTypeRef vl = LLVMVectorType(r->i64, (unsigned)r->V);
  LLVMValueRef e = LLVMBuildSExt(r->b, LLVMBuildAdd(r->b, s, vci(r, 1023), ""), vl, "");
  LLVMValueRef u = LLVMBuildInsertElement(r->b, LLVMGetUndef(vl), ci64(r, 52), ci32(r, 0), "");
  u = LLVMBuildShuffleVector(r->b, u, LLVMGetUndef(vl), LLVMConstNull(LLVMVectorType(r->i32, (unsigned)r->V)), "");
  return LLVMBuildBitCast(r->b, LLVMBuildShl(r->b, e, u, ""), vdt(r), "");
}

/* The module's constant threshold table of decision `how` (ir_quant_exp_table), made once. */
static LLVMValueRef qexp_table(R *r, int how) {
  if (r->qexp[how]) return r->qexp[how];
  int32_t thr[IR_QEXP_N];
  ir_quant_exp_table(how, thr);
  LLVMValueRef el[IR_QEXP_N];
  for (int i = 0; i < IR_QEXP_N; i++) el[i] = ci32(r, (uint32_t)thr[i]);
  LLVMTypeRef at = LLVMArrayType(r->i32, IR_QEXP_N);
  static const char *const names[3] = {"jscc_qexp_ceil", "jscc_qexp_floor", "jscc_qexp_rne"};
  LLVMValueRef g = LLVMAddGlobal(r->mod, at, names[how]);
  LLVMSetInitializer(g, LLVMConstArray(r->i32, el, IR_QEXP_N));
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetAlignment(g, 64);
  return r->qexp[how] = LLVMConstBitCast(g, LLVMPointerType(r->i32, 0));
}

static LLVMValueRef gather_i32(R *r, LLVMValueRef base, LLVMValueRef idx) {
  LLVMValueRef ptrs = LLVMBuildGEP2(r->b, r->i32, base, &idx, 1, "");
  LLVMTypeRef tys[2] = {r->vi, LLVMTypeOf(ptrs)};
  unsigned id = LLVMLookupIntrinsicID("llvm.masked.gather", 18);
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(r->mod, id, tys, 2);
  LLVMTypeRef ft = LLVMIntrinsicGetType(r->ctx, id, tys, 2);
  LLVMValueRef ones[64];
  for (int l = 0; l < r->V; l++) ones[l] = LLVMConstInt(r->i1, 1, 0);
  LLVMValueRef args[4] = {ptrs, ci32(r, 4), LLVMConstVector(ones, (unsigned)r->V), LLVMGetUndef(r->vi)};
  return LLVMBuildCall2(r->b, ft, f, args, 4, "");
}

static int qcap(int64_t v) { return (int)(v < -QE_CAP ? -QE_CAP : v > QE_CAP ? QE_CAP : v); }

/* The exponent range [-b, 2^E-1-b] (log: [-b, 2^(w-1)-1-b]), clamped to +-QE_CAP. */
static void qexp_range(const QFmt *f, int *lo, int *hi) {
  int ebits = f->kind == QK_LOG ? f->width - 1 : f->exp_width;
  int64_t top = ebits >= 62 ? INT64_MAX / 2 : ebits <= 0 ? 0 : (INT64_C(1) << ebits) - 1;
  *lo = qcap(-(int64_t)f->exp_bias);
  *hi = qcap(top - f->exp_bias);
}

/* clamp(how(L(v)), lo, hi) for v >= 0, not NaN, as i32 lanes (ir_quant_exp_bits, plus 0 -> lo
 * and inf -> hi as log2's -inf and inf clamp). */
static LLVMValueRef qexp_v(R *r, LLVMValueRef v, int how, LLVMValueRef lo, LLVMValueRef hi) {
  LLVMValueRef small = LLVMBuildFCmp(r->b, LLVMRealOLT, v, vconst(r, 0x1p-126), "");
  LLVMValueRef vs = LLVMBuildSelect(r->b, small, LLVMBuildFMul(r->b, v, vconst(r, 0x1p64), ""), v, "");
  LLVMValueRef bits = LLVMBuildBitCast(r->b, vs, r->vi, "");
  LLVMValueRef E = LLVMBuildSub(r->b, LLVMBuildLShr(r->b, bits, vci(r, 23), ""), vci(r, 127), "");
  E = LLVMBuildSub(r->b, E, LLVMBuildSelect(r->b, small, vci(r, 64), vci(r, 0), ""), "");
  LLVMValueRef m = LLVMBuildAnd(r->b, bits, vci(r, 0x7fffff), "");
  LLVMValueRef idx = LLVMBuildSub(r->b, E, vci(r, IR_QEXP_EMIN), "");
  idx = isel(r, LLVMIntSGT, idx, vci(r, 0));
  idx = isel(r, LLVMIntSLT, idx, vci(r, IR_QEXP_N - 1));
  LLVMValueRef up = LLVMBuildICmp(r->b, LLVMIntSGE, m, gather_i32(r, qexp_table(r, how), idx), "");
  LLVMValueRef e = LLVMBuildAdd(r->b, E, LLVMBuildZExt(r->b, up, r->vi, ""), "");
  e = LLVMBuildSelect(r->b, LLVMBuildICmp(r->b, LLVMIntSGT, e, lo, ""), e, lo, "");
  e = LLVMBuildSelect(r->b, LLVMBuildICmp(r->b, LLVMIntSLT, e, hi, ""), e, hi, "");
  e = LLVMBuildSelect(r->b, LLVMBuildFCmp(r->b, LLVMRealOEQ, v, vconst(r, 0), ""), lo, e, "");
  return LLVMBuildSelect(r->b, LLVMBuildFCmp(r->b, LLVMRealOEQ, v, vconst(r, INFINITY), ""), hi, e, "");
}
static LLVMValueRef qexp(R *r, LLVMValueRef v, int how, int lo, int hi) {
  return qexp_v(r, v, how, vci(r, lo), vci(r, hi));
}

static LLVMValueRef vfabs(R *r, LLVMValueRef x) { return intrinsic(r, "llvm.fabs", LLVMTypeOf(x), &x, 1); }
static LLVMValueRef vrintd(R *r, LLVMValueRef x) { return intrinsic(r, "llvm.rint", LLVMTypeOf(x), &x, 1); }

/* M: the minifloats' w-E-1, block_fp's w-1 (0..31 for the widths qcfg accepts). */
static int qmant(const QFmt *f) {
  int m = f->kind == QK_BLOCK_FP ? f->width - 1 : f->width - f->exp_width - 1;
  return m < 0 ? 0 : m > 62 ? 62 : m;
}

/* The scalings run in float when the mantissa fits a float's (M <= 23; 2^M + k < 2^24 is then
 * exact too) and every shift s the format uses has |s| <= 252: a product by 2^s is then one or
 * two products by normal powers of two of the same sign, the first exact (its result lies
 * between the operand and the final one, which is either in range or, below 2^-126 or at
 * inf, rounds to a mantissa of 0 or saturates, as ldexpf's does), the last rounding once as
 * ldexpf does.  So the float path is the reference's own arithmetic at half the cost of
 * double.  Otherwise in double (exact; see above). */
static bool qfloat_ok(int M, int lo, int hi) {
  return M <= 23 && M + 1 - lo <= 252 && M - 1 - hi >= -252 && hi - M + 1 <= 252 && lo - M >= -252;
}
static LLVMValueRef qc(R *r, bool fl, double v) { return fl ? vconst(r, v) : vcd(r, v); }
/* 2^s as floats, for s (i32 lanes) in [-126, 127]. */
static LLVMValueRef pow2f(R *r, LLVMValueRef s) {
  return LLVMBuildBitCast(r->b, LLVMBuildShl(r->b, LLVMBuildAdd(r->b, s, vci(r, 127), ""), vci(r, 23), ""), r->vf, "");
}

/* min(rint(t), kmax) with the reference's float kmax = fl(2^M - 1) (2^M from M = 25). */
static LLVMValueRef qkmax(R *r, bool fl, LLVMValueRef k, int M) {
  LLVMValueRef kmax = qc(r, fl, (double)(float)(ldexp(1.0, M) - 1));
  return fsel(r, LLVMRealOGT, k, kmax, kmax, k);
}

/* sign(x) * q, then the pass-through of |x| <= fl(1e-8) (x + 0.0) and NaN (x itself). */
static LLVMValueRef qfinish(R *r, LLVMValueRef x, LLVMValueRef ax, LLVMValueRef q, bool pass) {
  q = fsel(r, LLVMRealOLT, x, vconst(r, 0), LLVMBuildFNeg(r->b, q, ""), q);
  if (pass) q = fsel(r, LLVMRealOLE, ax, vconst(r, 1e-8f), LLVMBuildFAdd(r->b, x, vconst(r, 0), ""), q);
  return fsel(r, LLVMRealUNO, x, x, x, q);
}

/* x 2^s in float for |s| <= 252 (s in [smin, smax]): one product when 2^s is a normal float
 * for every s, else 2^(s - s/2) then 2^(s/2) (see qfloat_ok). */
static LLVMValueRef fscale(R *r, LLVMValueRef x, LLVMValueRef s, int smin, int smax) {
  if (smin >= -126 && smax <= 127) return LLVMBuildFMul(r->b, x, pow2f(r, s), "");
  LLVMValueRef h = LLVMBuildSDiv(r->b, s, vci(r, 2), "");
  x = LLVMBuildFMul(r->b, x, pow2f(r, LLVMBuildSub(r->b, s, h, "")), "");
  return LLVMBuildFMul(r->b, x, pow2f(r, h), "");
}
/* k 2^(e-M+d) rounded once to float, from k (float or double lanes) and i32 lanes e in [lo, hi]. */
static LLVMValueRef qscale(R *r, bool fl, LLVMValueRef k, LLVMValueRef e, int M, int d, int lo, int hi) {
  LLVMValueRef s = LLVMBuildAdd(r->b, e, vci(r, d - M), "");
  if (fl) return fscale(r, k, s, lo + d - M, hi + d - M);
  return LLVMBuildFPTrunc(r->b, LLVMBuildFMul(r->b, k, pow2d(r, s), ""), r->vf, "");
}
/* v 2^(M-e+d): in float (as ldexpf) or in double (exact). */
static LLVMValueRef qunscale(R *r, bool fl, LLVMValueRef v, LLVMValueRef e, int M, int d, int lo, int hi) {
  LLVMValueRef s = LLVMBuildSub(r->b, vci(r, M + d), e, "");
  if (fl) return fscale(r, v, s, M + d - hi, M + d - lo);
  return LLVMBuildFMul(r->b, LLVMBuildFPExt(r->b, v, vdt(r), ""), pow2d(r, s), "");
}

/* The exponent bounds of a minifloat or log, as lanes (a per-block bias makes them vary) with
 * the static extremes they stay within (which choose the float or double path). */
typedef struct QB {
  LLVMValueRef lo, hi; /* i32 lanes, within +-QE_CAP */
  int lo_min, hi_max;
} QB;
static QB qb_const(R *r, int lo, int hi) { return (QB){vci(r, lo), vci(r, hi), lo, hi}; }
static LLVMValueRef vcap(R *r, LLVMValueRef v) {
  return isel(r, LLVMIntSLT, isel(r, LLVMIntSGT, v, vci(r, -QE_CAP)), vci(r, QE_CAP));
}

/* minifloat_denorm (ieee false) and minifloat_ieee of x, M mantissa bits (ir/quant.c minifloat_f32). */
static LLVMValueRef quant_mf(R *r, LLVMValueRef x, bool ieee, int M, QB b) {
  bool fl = qfloat_ok(M, b.lo_min, b.hi_max);
  int lo = b.lo_min, hi = b.hi_max; /* the shift ranges of fscale */
  LLVMValueRef ax = vfabs(r, x), vn = LLVMBuildFAdd(r->b, ax, vconst(r, 1e-9f), ""), q;
  if (!ieee) {
    LLVMValueRef e = qexp_v(r, vn, IR_QEXP_CEIL, b.lo, b.hi);
    q = qscale(r, fl, qkmax(r, fl, vrintd(r, qunscale(r, fl, ax, e, M, 0, lo, hi)), M), e, M, 0, lo, hi);
  } else {
    LLVMValueRef e = qexp_v(r, vn, IR_QEXP_FLOOR, b.lo, b.hi);
    /* e == lo: subnormal, no implicit 1 and the mantissa counts 2^(e-M+1) */
    LLVMValueRef qs = qscale(r, fl, qkmax(r, fl, vrintd(r, qunscale(r, fl, ax, e, M, -1, lo, hi)), M), e, M, 1, lo, hi);
    LLVMValueRef k = vrintd(r, LLVMBuildFSub(r->b, qunscale(r, fl, ax, e, M, 0, lo, hi), qc(r, fl, ldexp(1.0, M)), ""));
    k = fsel(r, LLVMRealOLT, k, qc(r, fl, 0), qc(r, fl, 0), qkmax(r, fl, k, M)); /* k < 0 when the nudge crossed 2^e */
    LLVMValueRef qn = qscale(r, fl, LLVMBuildFAdd(r->b, qc(r, fl, ldexp(1.0, M)), k, ""), e, M, 0, lo, hi);
    q = LLVMBuildSelect(r->b, LLVMBuildICmp(r->b, LLVMIntEQ, e, b.lo, ""), qs, qn, "");
  }
  return qfinish(r, x, ax, q, true);
}

static LLVMValueRef quant_minifloat(R *r, LLVMValueRef x, const QFmt *f) {
  int lo, hi;
  qexp_range(f, &lo, &hi);
  return quant_mf(r, x, f->kind == QK_MINIFLOAT_IEEE, qmant(f), qb_const(r, lo, hi));
}

/* log (ir/quant.c log_f32): sign(fl(x + c)) 2^e, e from fl(|x| + c); an exact zero and NaN
 * stay.  c = fl(2^lo * 0.1) (MASE's 2^-b * 0.1), per lane. */
static LLVMValueRef quant_lg(R *r, LLVMValueRef x, QB b, LLVMValueRef c) {
  LLVMValueRef s = LLVMBuildFAdd(r->b, x, c, "");
  LLVMValueRef e = qexp_v(r, LLVMBuildFAdd(r->b, vfabs(r, x), c, ""), IR_QEXP_ROUND, b.lo, b.hi);
  LLVMValueRef p = b.lo_min >= -126 && b.hi_max <= 127 ? pow2f(r, e) : LLVMBuildFPTrunc(r->b, pow2d(r, e), r->vf, "");
  LLVMValueRef q = fsel(r, LLVMRealOGT, s, vconst(r, 0), p, fsel(r, LLVMRealOLT, s, vconst(r, 0), LLVMBuildFNeg(r->b, p, ""), vconst(r, 0)));
  q = fsel(r, LLVMRealOEQ, x, vconst(r, 0), x, q);
  return fsel(r, LLVMRealUNO, x, x, x, q);
}

static LLVMValueRef quant_log(R *r, LLVMValueRef x, const QFmt *f) {
  int lo, hi;
  qexp_range(f, &lo, &hi);
  int64_t b = -(int64_t)f->exp_bias; /* MASE's c = 2^-b * 0.1, as ir/quant.c log_c */
  float c = (float)(ldexp(1.0, (int)(b < -4000 ? -4000 : b > 4000 ? 4000 : b)) * 0.1);
  return quant_lg(r, x, qb_const(r, lo, hi), vconst(r, c));
}

/* block_minifloat and block_log: the block's bias from its largest magnitude m (ir/quant.c
 * block_bias_fmt: an infinite m counts as FLT_MAX; qexp's 0 -> lo is its m = 0), then the
 * per-element format's bounds. */
static QB quant_block_bounds(R *r, LLVMValueRef m, const QFmt *f, LLVMValueRef *c) {
  int top = (1 << f->exp_bias_width) - 1;
  LLVMValueRef b;
  m = fsel(r, LLVMRealOEQ, m, vconst(r, INFINITY), vconst(r, FLT_MAX), m); /* infinities count as FLT_MAX */
  int64_t span;
  if (f->kind == QK_BLOCK_MINIFLOAT) {
    b = qexp(r, m, IR_QEXP_FLOOR, 0, top);
    span = (INT64_C(1) << f->exp_width) - 1;
  } else {
    span = (INT64_C(1) << (f->width - 1)) - 1;
    int t = span > (1 << 20) ? 1 << 20 : (int)span; /* beyond 2^20 the clamp to top decides */
    b = LLVMBuildSub(r->b, vci(r, t), qexp(r, m, IR_QEXP_CEIL, -1000, 1000), "");
    b = isel(r, LLVMIntSLT, isel(r, LLVMIntSGT, b, vci(r, 0)), vci(r, top));
    b = LLVMBuildSelect(r->b, LLVMBuildFCmp(r->b, LLVMRealOEQ, m, vconst(r, 0), ""), vci(r, 0), b, "");
  }
  int64_t hspan = span > INT32_MAX ? INT32_MAX : span;
  /* block_minifloat's bias is at most floor(L(FLT_MAX)) = 128 (fl(log2 FLT_MAX) rounds up to
   * 128), which keeps its exponents in the float path's range */
  int bmax = f->kind == QK_BLOCK_MINIFLOAT && top > 128 ? 128 : top;
  QB q = {vcap(r, LLVMBuildNeg(r->b, b, "")), vcap(r, LLVMBuildSub(r->b, vci(r, (int)hspan), b, "")), qcap(-bmax),
          qcap(span)};
  if (c) c[0] = LLVMBuildFPTrunc(r->b, LLVMBuildFMul(r->b, pow2d(r, q.lo), vcd(r, 0.1), ""), r->vf, "");
  return q;
}

/* binary: x >= 0 ? 1 : (bipolar ? -1 : 0); NaN stays. */
static LLVMValueRef quant_binary(R *r, LLVMValueRef x, const QFmt *f) {
  LLVMValueRef q = fsel(r, LLVMRealOGE, x, vconst(r, 0), vconst(r, 1), vconst(r, f->bipolar ? -1 : 0));
  return fsel(r, LLVMRealUNO, x, x, x, q);
}

/* One block_fp element given its block's exponent e (ir/quant.c bfp_f32). */
static LLVMValueRef quant_bfp1(R *r, LLVMValueRef x, LLVMValueRef e, const QFmt *f) {
  int lo, hi, M = qmant(f);
  qexp_range(f, &lo, &hi);
  bool fl = qfloat_ok(M, lo, hi);
  LLVMValueRef ax = vfabs(r, x), vn = LLVMBuildFAdd(r->b, ax, vconst(r, 1e-9f), "");
  LLVMValueRef q = qscale(r, fl, qkmax(r, fl, vrintd(r, qunscale(r, fl, vn, e, M, 0, lo, hi)), M), e, M, 0, lo, hi);
  return qfinish(r, x, ax, q, true);
}

/* The block exponent of x[j] for j in [s, s+len): clamp(ceil(L(max |x|))), NaN left out. */
static LLVMValueRef quant_bfp_exp(R *r, const Inst *in, int s, int len) {
  int lo, hi;
  qexp_range(&in->qf, &lo, &hi);
  LLVMValueRef m = vconst(r, 0);
  for (int j = s; j < s + len; j++) {
    LLVMValueRef a = vfabs(r, opdc(r, in->a, j));
    m = fsel(r, LLVMRealOGT, a, m, a, m);
  }
  return qexp(r, m, IR_QEXP_CEIL, lo, hi);
}

/* An elementwise quantizer of a vector of rows (block_fp is emit_quant_bfp's). */
static LLVMValueRef quant_ew(R *r, LLVMValueRef x, const QFmt *f) {
  switch (f->kind) {
  case QK_MINIFLOAT_IEEE:
  case QK_MINIFLOAT_DENORM: return quant_minifloat(r, x, f);
  case QK_LOG: return quant_log(r, x, f);
  case QK_BINARY: return quant_binary(r, x, f);
  default: return quant_int(r, x, f);
  }
}

/* One elementwise feature j. */
static LLVMValueRef ew1(R *r, const Inst *in, LLVMValueRef j) {
  LLVMValueRef a = in->a.kind ? opd(r, in->a, j) : NULL, b = in->b.kind ? opd(r, in->b, j) : NULL;
  LLVMValueRef zero = vconst(r, 0);
  LLVMValueRef j32 = LLVMBuildTrunc(r->b, j, r->i32, "");
  switch (in->ew) {
  case EW_ADD: return LLVMBuildFAdd(r->b, a, b, "");
  case EW_SUB: return LLVMBuildFSub(r->b, a, b, "");
  case EW_MUL: return LLVMBuildFMul(r->b, a, b, "");
  case EW_DIV: return LLVMBuildFDiv(r->b, a, b, "");
  case EW_NEG: return LLVMBuildFNeg(r->b, a, "");
  case EW_EXP: return vexp(r, a);
  case EW_LOG: return vlog(r, a);
  case EW_MAX:
  case EW_MIN: {
    /* torch.maximum/minimum: a when a is NaN or wins, else b (so a NaN b gives b) */
    LLVMValueRef win = LLVMBuildFCmp(r->b, in->ew == EW_MAX ? LLVMRealOGT : LLVMRealOLT, a, b, "");
    LLVMValueRef nan = LLVMBuildFCmp(r->b, LLVMRealUNO, a, a, "");
    return LLVMBuildSelect(r->b, LLVMBuildOr(r->b, win, nan, ""), a, b, "");
  }
  case EW_SEL: return sel_gt0(r, a, b, opd(r, in->c3, j));
  case EW_DROPOUT: {
    /* bits = hash(h2 ^ (row * n + j)) with h2 = hash(hash(seed ^ key * golden) ^ step) per step */
    LLVMValueRef h1 = LLVMBuildXor(r->b, LLVMBuildTrunc(r->b, r->arg[A_SEED], r->i32, ""), ci32(r, in->key * 0x9E3779B9U), "");
    h1 = vhash(r, h1);
    LLVMValueRef h2 = vhash(r, LLVMBuildXor(r->b, h1, LLVMBuildTrunc(r->b, r->arg[A_DSTEP], r->i32, ""), ""));
    LLVMValueRef elem = LLVMBuildAdd(r->b, LLVMBuildMul(r->b, r->rowv, splat(r, ci32(r, (uint32_t)in->n)), ""), splat(r, j32), "");
    LLVMValueRef bits = vhash(r, LLVMBuildXor(r->b, splat(r, h2), elem, ""));
    LLVMValueRef u = LLVMBuildFMul(r->b, LLVMBuildUIToFP(r->b, LLVMBuildLShr(r->b, bits, splat(r, ci32(r, 8)), ""), r->vf, ""),
                                   vconst(r, 1.0 / 16777216.0), "");
    LLVMValueRef keep = LLVMBuildFCmp(r->b, LLVMRealOGE, u, vconst(r, in->c), "");
    float scale = in->c >= 1 ? 0.0f : 1.0f / (1.0f - in->c);
    return LLVMBuildSelect(r->b, keep, LLVMBuildFMul(r->b, a, vconst(r, scale), ""), zero, "");
  }
  case EW_ONEHOT: {
    LLVMValueRef c = LLVMBuildICmp(r->b, LLVMIntEQ, r->targetv, splat(r, j32), "");
    return LLVMBuildSelect(r->b, c, vconst(r, 1), zero, "");
  }
  case EW_FMA: return fmuladd(r, a, b, opd(r, in->c3, j));
  case EW_QUANT: return quant_ew(r, a, &in->qf);
  }
  return zero;
}

/* acc lane vector k of accumulator a: scratch + aoff + k * V */
static LLVMValueRef acc_idx(R *r, int a, int64_t k) { return ci64(r, r->p->aoff[a] + k * r->V); }
static LLVMValueRef acc_idxd(R *r, int a, LLVMValueRef k) {
  return LLVMBuildAdd(r->b, ci64(r, r->p->aoff[a]), LLVMBuildMul(r->b, k, ci64(r, r->V), ""), "");
}

/* An accumulator whose lanes would exceed ACC_LANES_MAX floats (4 MB: a 4096 x 16 weight's
 * gradient) keeps one float per element instead of one per lane: the lanes of an outer
 * product's accumulator are all read and written for every block of rows, and 16 x 65536
 * weights' lanes are 67 MB a block, so the step ran at memory speed (300 rows/s).  Each
 * block's contribution is then summed across its lanes (a tree of halvings) before it is
 * added, which sums in another order than the lanes do; it applies only to accumulators far
 * wider than any JSC model's. */
enum { ACC_LANES_MAX = 1 << 20 };
static bool acc_compact(const R *r, int a) {
  const Acc *ac = &r->p->accs[a];
  return !ac->f64 && (int64_t)ac->n * r->V >= ACC_LANES_MAX;
}
/* The sum of v's lanes: halves added until one is left. */
static LLVMValueRef hsum(R *r, LLVMValueRef v) {
  LLVMValueRef m[64];
  for (int w = r->V / 2; w >= 1; w /= 2) {
    for (int l = 0; l < w; l++) m[l] = ci32(r, (uint32_t)l);
    LLVMValueRef lo = LLVMBuildShuffleVector(r->b, v, LLVMGetUndef(LLVMTypeOf(v)), LLVMConstVector(m, (unsigned)w), "");
    for (int l = 0; l < w; l++) m[l] = ci32(r, (uint32_t)(w + l));
    LLVMValueRef hi = LLVMBuildShuffleVector(r->b, v, LLVMGetUndef(LLVMTypeOf(v)), LLVMConstVector(m, (unsigned)w), "");
    v = LLVMBuildFAdd(r->b, lo, hi, "");
  }
  return LLVMBuildExtractElement(r->b, v, ci32(r, 0), "");
}
/* The lane sums of V vectors p[0..V-1] as one vector: lane i = hsum(p[i]), by the same
 * halvings as hsum (so the same bits) done for pairs of vectors at once: a vector holding G
 * groups of g lanes and its neighbour become one vector of 2G groups of g/2 lanes (each
 * group's halves added), until every group is one lane. */
static LLVMValueRef hsum_v(R *r, LLVMValueRef *p) {
  LLVMValueRef cur[64], lo[64], hi[64];
  int n = r->V;
  memcpy(cur, p, sizeof(LLVMValueRef) * (size_t)n);
  for (int g = r->V; n > 1; g /= 2, n /= 2) {
    int G = r->V / g, h = g / 2;
    for (int j = 0; j < 2 * G; j++) /* group j: of the first vector (j < G) or the second */
      for (int t = 0; t < h; t++) {
        int src = (j < G ? 0 : r->V) + (j % G) * g + t;
        lo[j * h + t] = ci32(r, (uint32_t)src);
        hi[j * h + t] = ci32(r, (uint32_t)(src + h));
      }
    for (int i = 0; i < n; i += 2) {
      LLVMValueRef x = LLVMBuildShuffleVector(r->b, cur[i], cur[i + 1], LLVMConstVector(lo, (unsigned)r->V), "");
      LLVMValueRef y = LLVMBuildShuffleVector(r->b, cur[i], cur[i + 1], LLVMConstVector(hi, (unsigned)r->V), "");
      cur[i / 2] = LLVMBuildFAdd(r->b, x, y, "");
    }
  }
  return cur[0];
}

/* Element e (i64) of compact accumulator a += x's lanes. */
static void acc_add_compact(R *r, int a, LLVMValueRef e, LLVMValueRef x) {
  LLVMValueRef at = LLVMBuildAdd(r->b, ci64(r, r->p->aoff[a]), e, "");
  storef(r, LLVMBuildFAdd(r->b, loadf(r, r->arg[A_SCRATCH], at), hsum(r, x), ""), r->arg[A_SCRATCH], at);
}

/* The per-feature work of one instruction, feature j (constant or loop index). */
static void feature(R *r, LLVMValueRef j, void *ud) {
  const Inst *in = ud;
  const CgPlan *p = r->p;
  LLVMValueRef rowj = LLVMBuildAdd(r->b, r->row0, LLVMBuildMul(r->b, j, ci64(r, p->bpad), ""), "");
  switch (in->kind) {
  case I_LOAD:
    val_set(r, in->dst, j, loadv(r, r->arg[A_SCRATCH], LLVMBuildAdd(r->b, rowj, ci64(r, p->boff[in->buf]), "")));
    break;
  case I_LOADX: val_set(r, in->dst, j, loadv(r, r->arg[A_X], rowj)); break;
  case I_STORE: storev(r, opd(r, in->a, j), r->arg[A_SCRATCH], LLVMBuildAdd(r->b, rowj, ci64(r, p->boff[in->buf]), "")); break;
  case I_LOGITS: storev(r, opd(r, in->a, j), r->arg[A_LOGITS], rowj); break;
  case I_EW: val_set(r, in->dst, j, ew1(r, in, j)); break;
  case I_ACC: {
    if (r->p->accs[in->acc].f64) { /* lanes of doubles: [n][V] doubles from aoff */
      LLVMTypeRef vd = LLVMVectorType(r->f64, (unsigned)r->V);
      LLVMValueRef idx = LLVMBuildAdd(r->b, ci64(r, r->p->aoff[in->acc]), LLVMBuildMul(r->b, j, ci64(r, 2 * r->V), ""), "");
      LLVMValueRef pp = LLVMBuildBitCast(r->b, fptr(r, r->arg[A_SCRATCH], idx), LLVMPointerType(vd, 0), "");
      LLVMValueRef old = LLVMBuildLoad2(r->b, vd, pp, "");
      LLVMSetAlignment(old, 8);
      LLVMValueRef sum = LLVMBuildFAdd(r->b, old, LLVMBuildFPExt(r->b, opd(r, in->a, j), vd, ""), "");
      LLVMSetAlignment(LLVMBuildStore(r->b, sum, pp), 8);
      break;
    }
    if (acc_compact(r, in->acc)) {
      acc_add_compact(r, in->acc, j, opd(r, in->a, j));
      break;
    }
    LLVMValueRef idx = acc_idxd(r, in->acc, j);
    storev(r, LLVMBuildFAdd(r->b, loadv(r, r->arg[A_SCRATCH], idx), opd(r, in->a, j), ""), r->arg[A_SCRATCH], idx);
    break;
  }
  case I_AFFINE: { /* output feature o = j */
    int64_t o;
    bool co = const_index(j, &o) && in->n > 1;
    LLVMValueRef WB = r->arg[in->wstat ? A_SCRATCH : A_PARAMS], BB = r->arg[in->bstat ? A_SCRATCH : A_PARAMS];
    LLVMValueRef acc = in->bias < 0 ? vconst(r, 0)
                       : co ? bcast(r, BB, in->bias, in->n, (int)o)
                            : splat(r, loadf(r, BB, LLVMBuildAdd(r->b, j, ci64(r, in->bias), "")));
    LLVMValueRef ob = LLVMBuildMul(r->b, j, ci64(r, in->so), "");
    for (int k = 0; k < in->nb; k++) {
      /* a row of the weight (sk == 1) is one vector load, then a shuffle per weight */
      LLVMValueRef w = co && in->sk == 1 && in->nb > 1
                           ? bcast(r, WB, in->w + o * in->so, in->nb, k)
                           : splat(r, loadf(r, WB, LLVMBuildAdd(r->b, ob, ci64(r, in->w + k * in->sk), "")));
      acc = fmuladd(r, opdc(r, in->a, k), w, acc);
    }
    val_set(r, in->dst, j, acc);
    break;
  }
  case I_OUTER: { /* row o = j of acc[o][k] += a[o] b[k] */
    LLVMValueRef ao = opd(r, in->a, j);
    if (acc_compact(r, in->acc) && in->nb % r->V == 0) { /* V elements at a time */
      LLVMValueRef e0 = LLVMBuildAdd(r->b, LLVMBuildMul(r->b, j, ci64(r, in->nb), ""), ci64(r, p->aoff[in->acc]), "");
      for (int k0 = 0; k0 < in->nb; k0 += r->V) {
        LLVMValueRef prod[64];
        for (int i = 0; i < r->V; i++) prod[i] = LLVMBuildFMul(r->b, ao, opdc(r, in->b, k0 + i), "");
        LLVMValueRef idx = LLVMBuildAdd(r->b, e0, ci64(r, k0), "");
        storev(r, LLVMBuildFAdd(r->b, loadv(r, r->arg[A_SCRATCH], idx), hsum_v(r, prod), ""), r->arg[A_SCRATCH], idx);
      }
      break;
    }
    if (acc_compact(r, in->acc)) {
      LLVMValueRef e0 = LLVMBuildMul(r->b, j, ci64(r, in->nb), "");
      for (int k = 0; k < in->nb; k++)
        acc_add_compact(r, in->acc, LLVMBuildAdd(r->b, e0, ci64(r, k), ""), LLVMBuildFMul(r->b, ao, opdc(r, in->b, k), ""));
      break;
    }
    LLVMValueRef base = LLVMBuildMul(r->b, j, ci64(r, (int64_t)in->nb * r->V), "");
    for (int k = 0; k < in->nb; k++) {
      LLVMValueRef idx = LLVMBuildAdd(r->b, base, acc_idx(r, in->acc, k), "");
      storev(r, fmuladd(r, ao, opdc(r, in->b, k), loadv(r, r->arg[A_SCRATCH], idx)), r->arg[A_SCRATCH], idx);
    }
    break;
  }
  default: break;
  }
}

/* Run `feature` for j in [0, n): unrolled when everything it touches is in registers, else
 * as a loop (an operand in registers with n > 1 features is first spilled to an array). */
static void features(R *r, const Inst *in, int n, bool loop_ok) {
  if (!loop_ok || !wide(n)) {
    for (int j = 0; j < n; j++) feature(r, ci64(r, j), (void *)in);
    return;
  }
  loop(r, ci64(r, n), feature, (void *)in);
}

/* ---- affine maps and outer products over a long inner dimension ----
 * An inner dimension (an affine's input features, an outer product's second factor) of up to
 * K_UNROLL_MAX features is unrolled, with the weights of one output read as one vector; a
 * longer one is a loop, so that the module grows with the plan and not with the widths (a
 * 16-1024-5 MLP unrolled was 2.5 s of machine code generation).  Up to OUT_UNROLL_MAX
 * outputs then go together through one pass over the inner dimension, their sums in stack
 * slots that SROA turns into registers; more outputs are an outer loop.  The sums start
 * from the bias and add k = 0, 1, ... in order, as the unrolled form does, so the results
 * are the same bits. */
enum { K_UNROLL_MAX = 64, OUT_UNROLL_MAX = 16 };

typedef struct KLoop {
  const Inst *in;
  LLVMValueRef o;                     /* the output feature (i64) of a nested loop, or NULL */
  int no;                             /* outputs 0 .. no-1 when o is NULL, else 1 */
  LLVMValueRef slot[OUT_UNROLL_MAX];  /* the running sums (affine) */
} KLoop;

static LLVMValueRef sum_slot(R *r) {
  LLVMBuilderRef eb = entry_builder(r);
  LLVMValueRef a = LLVMBuildAlloca(eb, r->vf, "");
  LLVMSetAlignment(a, 64);
  LLVMDisposeBuilder(eb);
  return a;
}
static LLVMValueRef kl_out(R *r, const KLoop *kl, int i) { return kl->o ? kl->o : ci64(r, i); }

/* sums[o] = fma(a[k], W[w + o*so + k*sk], sums[o]) for the loop's outputs, at feature k. */
static void affine_k_body(R *r, LLVMValueRef k, void *ud) {
  KLoop *kl = ud;
  const Inst *in = kl->in;
  LLVMValueRef WB = r->arg[in->wstat ? A_SCRATCH : A_PARAMS];
  LLVMValueRef ak = opd(r, in->a, k);
  LLVMValueRef kw = LLVMBuildAdd(r->b, LLVMBuildMul(r->b, k, ci64(r, in->sk), ""), ci64(r, in->w), "");
  for (int i = 0; i < kl->no; i++) {
    LLVMValueRef widx = LLVMBuildAdd(r->b, LLVMBuildMul(r->b, kl_out(r, kl, i), ci64(r, in->so), ""), kw, "");
    LLVMValueRef acc = LLVMBuildLoad2(r->b, r->vf, kl->slot[i], "");
    LLVMBuildStore(r->b, fmuladd(r, ak, splat(r, loadf(r, WB, widx)), acc), kl->slot[i]);
  }
}
/* The loop's outputs: bias, the loop over k, the sums into dst. */
static void affine_kloop(R *r, KLoop *kl) {
  const Inst *in = kl->in;
  LLVMValueRef BB = r->arg[in->bstat ? A_SCRATCH : A_PARAMS];
  for (int i = 0; i < kl->no; i++) {
    LLVMValueRef o = kl_out(r, kl, i);
    LLVMValueRef b0 = in->bias < 0 ? vconst(r, 0) : splat(r, loadf(r, BB, LLVMBuildAdd(r->b, o, ci64(r, in->bias), "")));
    LLVMBuildStore(r->b, b0, kl->slot[i]);
  }
  loop(r, ci64(r, in->nb), affine_k_body, kl);
  for (int i = 0; i < kl->no; i++)
    val_set(r, in->dst, kl_out(r, kl, i), LLVMBuildLoad2(r->b, r->vf, kl->slot[i], ""));
}
static void affine_o_body(R *r, LLVMValueRef o, void *ud) {
  KLoop *kl = ud;
  kl->o = o;
  affine_kloop(r, kl);
}
static void emit_affine_kloop(R *r, const Inst *in) {
  KLoop kl = {.in = in, .no = in->n <= OUT_UNROLL_MAX ? in->n : 1};
  for (int i = 0; i < kl.no; i++) kl.slot[i] = sum_slot(r);
  if (in->n <= OUT_UNROLL_MAX) affine_kloop(r, &kl);
  else loop(r, ci64(r, in->n), affine_o_body, &kl);
}

/* acc[o][k] += a[o] * b[k] for the loop's outputs o, at feature k. */
static void outer_k_body(R *r, LLVMValueRef k, void *ud) {
  KLoop *kl = ud;
  const Inst *in = kl->in;
  LLVMValueRef bk = opd(r, in->b, k);
  for (int i = 0; i < kl->no; i++) {
    LLVMValueRef o = kl_out(r, kl, i);
    LLVMValueRef e = LLVMBuildAdd(r->b, LLVMBuildMul(r->b, o, ci64(r, in->nb), ""), k, "");
    if (acc_compact(r, in->acc)) {
      acc_add_compact(r, in->acc, e, LLVMBuildFMul(r->b, opd(r, in->a, o), bk, ""));
      continue;
    }
    LLVMValueRef idx = acc_idxd(r, in->acc, e);
    storev(r, fmuladd(r, opd(r, in->a, o), bk, loadv(r, r->arg[A_SCRATCH], idx)), r->arg[A_SCRATCH], idx);
  }
}
static void outer_o_body(R *r, LLVMValueRef o, void *ud) {
  KLoop *kl = ud;
  kl->o = o;
  loop(r, ci64(r, kl->in->nb), outer_k_body, kl);
}
static void emit_outer_kloop(R *r, const Inst *in) {
  KLoop kl = {.in = in, .no = in->n <= OUT_UNROLL_MAX ? in->n : 1};
  if (in->n <= OUT_UNROLL_MAX) loop(r, ci64(r, in->nb), outer_k_body, &kl);
  else loop(r, ci64(r, in->n), outer_o_body, &kl);
}

/* block_fp of a row value: a shared exponent per block of block_size features (ir/quant.c's
 * blocks along the last dim, a short last block its own), unrolled over the features. */
static void emit_quant_bfp(R *r, const Inst *in) {
  new_val_storage(r, in->dst, in->n);
  const QFmt *f = &in->qf;
  int bs = f->block_size > 0 && f->block_size < in->n ? f->block_size : in->n;
  for (int s = 0; s < in->n; s += bs) {
    int len = s + bs < in->n ? bs : in->n - s;
    if (f->kind == QK_BLOCK_FP) {
      LLVMValueRef e = quant_bfp_exp(r, in, s, len);
      for (int j = s; j < s + len; j++) val_set(r, in->dst, ci64(r, j), quant_bfp1(r, opdc(r, in->a, j), e, f));
      continue;
    }
    LLVMValueRef m = vconst(r, 0), c = NULL; /* block_minifloat, block_log */
    for (int j = s; j < s + len; j++) {
      LLVMValueRef a = vfabs(r, opdc(r, in->a, j));
      m = fsel(r, LLVMRealOGT, a, m, a, m);
    }
    QB b = quant_block_bounds(r, m, f, f->kind == QK_BLOCK_LOG ? &c : NULL);
    for (int j = s; j < s + len; j++) {
      LLVMValueRef x = opdc(r, in->a, j);
      val_set(r, in->dst, ci64(r, j), f->kind == QK_BLOCK_LOG ? quant_lg(r, x, b, c) : quant_mf(r, x, true, qmant(f), b));
    }
  }
}

static void emit_inst(R *r, const Inst *in) {
  r->cur_n = in->n;
  if (in->kind == I_EW && in->ew == EW_QUANT &&
      (in->qf.kind == QK_BLOCK_FP || in->qf.kind == QK_BLOCK_MINIFLOAT || in->qf.kind == QK_BLOCK_LOG)) {
    emit_quant_bfp(r, in);
    return;
  }
  switch (in->kind) {
  case I_LOAD:
  case I_LOADX:
  case I_EW:
    new_val_storage(r, in->dst, in->n);
    features(r, in, in->n, true);
    break;
  case I_STORE:
  case I_LOGITS:
  case I_ACC:
    features(r, in, in->n, true);
    break;
  case I_AFFINE: {
    new_val_storage(r, in->dst, in->n);
    if (in->nb > K_UNROLL_MAX) {
      emit_affine_kloop(r, in);
      break;
    }
    /* the output loops when it is wide or the product is big; the input is read by constant index */
    bool big = in->n * in->nb > 64 && in->n > 1;
    if (big && !r->vals[in->dst].arr) { /* a narrow output computed in a loop goes through an array */
      Val *v = &r->vals[in->dst];
      LLVMValueRef arr = entry_array(r, in->n);
      v->arr = arr;
      loop(r, ci64(r, in->n), feature, (void *)in);
      for (int o = 0; o < in->n; o++) v->reg[o] = LLVMBuildLoad2(r->b, r->vf, arr_at(r, arr, ci64(r, o)), "");
      v->arr = NULL;
    } else if (big) {
      loop(r, ci64(r, in->n), feature, (void *)in);
    } else {
      for (int o = 0; o < in->n; o++) feature(r, ci64(r, o), (void *)in);
    }
    break;
  }
  case I_OUTER: {
    if (in->nb > K_UNROLL_MAX) {
      emit_outer_kloop(r, in);
      break;
    }
    bool big = in->n * in->nb > 64 && in->n > 1;
    const Val *a = &r->vals[in->a.id];
    if (big && a->reg && a->n > 1) { /* index a by the loop: spill it to an array first */
      Inst tmp = *in;
      int id = (int)in->a.id;
      LLVMValueRef arr = entry_array(r, a->n);
      for (int o = 0; o < a->n; o++) LLVMBuildStore(r->b, a->reg[o], arr_at(r, arr, ci64(r, o)));
      LLVMValueRef *saved = r->vals[id].reg;
      r->vals[id].reg = NULL;
      r->vals[id].arr = arr;
      loop(r, ci64(r, in->n), feature, &tmp);
      r->vals[id].arr = NULL;
      r->vals[id].reg = saved;
    } else if (big) {
      loop(r, ci64(r, in->n), feature, (void *)in);
    } else {
      for (int o = 0; o < in->n; o++) feature(r, ci64(r, o), (void *)in);
    }
    break;
  }
  case I_RMAX:
  case I_RSUM: {
    new_val_storage(r, in->dst, 1);
    LLVMValueRef acc = opdc(r, in->a, 0);
    for (int j = 1; j < in->n; j++)
      acc = in->kind == I_RMAX ? vmax(r, acc, opdc(r, in->a, j)) : LLVMBuildFAdd(r->b, acc, opdc(r, in->a, j), "");
    val_set(r, in->dst, ci64(r, 0), acc);
    break;
  }
  case I_PICK: {
    new_val_storage(r, in->dst, 1);
    LLVMValueRef acc = opdc(r, in->a, 0);
    for (int j = 1; j < in->n; j++) {
      LLVMValueRef c = LLVMBuildICmp(r->b, LLVMIntEQ, r->targetv, splat(r, ci32(r, (uint32_t)j)), "");
      acc = LLVMBuildSelect(r->b, c, opdc(r, in->a, j), acc, "");
    }
    val_set(r, in->dst, ci64(r, 0), acc);
    break;
  }
  case I_ARGEQ: {
    new_val_storage(r, in->dst, 1);
    LLVMValueRef best = opdc(r, in->a, 0), idx = splat(r, ci32(r, 0));
    for (int j = 1; j < in->n; j++) {
      LLVMValueRef aj = opdc(r, in->a, j);
      LLVMValueRef gt = LLVMBuildFCmp(r->b, LLVMRealOGT, aj, best, "");
      best = LLVMBuildSelect(r->b, gt, aj, best, "");
      idx = LLVMBuildSelect(r->b, gt, splat(r, ci32(r, (uint32_t)j)), idx, "");
    }
    LLVMValueRef eq = LLVMBuildICmp(r->b, LLVMIntEQ, idx, r->targetv, "");
    val_set(r, in->dst, ci64(r, 0), LLVMBuildSelect(r->b, eq, vconst(r, 1), vconst(r, 0), ""));
    break;
  }
  }
}

static void row_body(R *r, LLVMValueRef blk, void *ud) {
  const Stage *st = ud;
  r->nvcache = 0;
  r->row0 = LLVMBuildMul(r->b, blk, ci64(r, r->V), "");
  r->validv = loadv(r, r->arg[A_VALID], r->row0);
  r->wrowv = LLVMBuildFMul(r->b, r->validv, r->invnv, "");
  LLVMValueRef tp = LLVMBuildBitCast(r->b, gep(r, r->arg[A_Y], r->i32, r->row0), LLVMPointerType(r->vi, 0), "");
  r->targetv = LLVMBuildLoad2(r->b, r->vi, tp, "");
  LLVMSetAlignment(r->targetv, 4);
  LLVMValueRef lanes[64];
  for (int l = 0; l < r->V; l++) lanes[l] = ci32(r, (uint32_t)l);
  r->rowv = LLVMBuildAdd(r->b, splat(r, LLVMBuildTrunc(r->b, r->row0, r->i32, "")), LLVMConstVector(lanes, (unsigned)r->V), "");
  for (int i = 0; i < st->ninsts; i++) emit_inst(r, &st->insts[i]);
}

typedef struct AccRed {
  const Acc *a;
  int id;
} AccRed;
static void acc_reduce_body(R *r, LLVMValueRef k, void *ud) {
  AccRed *ar = ud;
  if (ar->a->f64) { /* the total stays a double: n doubles at the stat offset */
    LLVMTypeRef vd = LLVMVectorType(r->f64, (unsigned)r->V);
    LLVMValueRef idx = LLVMBuildAdd(r->b, ci64(r, r->p->aoff[ar->id]), LLVMBuildMul(r->b, k, ci64(r, 2 * r->V), ""), "");
    LLVMValueRef pp = LLVMBuildBitCast(r->b, fptr(r, r->arg[A_SCRATCH], idx), LLVMPointerType(vd, 0), "");
    LLVMValueRef v = LLVMBuildLoad2(r->b, vd, pp, "");
    LLVMSetAlignment(v, 8);
    LLVMValueRef args[2] = {LLVMConstReal(r->f64, 0), v};
    LLVMValueRef sum = intrinsic(r, "llvm.vector.reduce.fadd", vd, args, 2);
    LLVMValueRef dp = LLVMBuildBitCast(r->b, fptr(r, r->arg[A_SCRATCH], ci64(r, ar->a->off)), LLVMPointerType(r->f64, 0), "");
    LLVMSetAlignment(LLVMBuildStore(r->b, sum, gep(r, dp, r->f64, k)), 8);
    return;
  }
  LLVMValueRef s;
  if (acc_compact(r, ar->id)) {
    s = loadf(r, r->arg[A_SCRATCH], LLVMBuildAdd(r->b, ci64(r, r->p->aoff[ar->id]), k, ""));
  } else {
    LLVMValueRef idx = LLVMBuildAdd(r->b, ci64(r, r->p->aoff[ar->id]), LLVMBuildMul(r->b, k, ci64(r, r->V), ""), "");
    LLVMValueRef args[2] = {cf(r, 0), loadv(r, r->arg[A_SCRATCH], idx)};
    s = intrinsic(r, "llvm.vector.reduce.fadd", r->vf, args, 2);
  }
  LLVMValueRef at = LLVMBuildAdd(r->b, k, ci64(r, ar->a->off), "");
  if (ar->a->dest == ACC_GRAD) storef(r, s, r->arg[A_GRADS], at);
  else if (ar->a->dest == ACC_STAT) storef(r, s, r->arg[A_SCRATCH], at);
  else LLVMBuildStore(r->b, LLVMBuildFPExt(r->b, s, r->f64, ""), gep(r, r->arg[A_METRICS], r->f64, at));
}

static LLVMValueRef dconst(R *r, double v) { return LLVMConstReal(r->f64, v); }
static LLVMValueRef ld64(R *r, LLVMValueRef base, LLVMValueRef idx) {
  return LLVMBuildFPExt(r->b, loadf(r, base, idx), r->f64, "");
}
static void st64(R *r, LLVMValueRef v, LLVMValueRef base, LLVMValueRef idx) {
  storef(r, LLVMBuildFPTrunc(r->b, v, r->f32, ""), base, idx);
}
static LLVMValueRef dsqrt(R *r, LLVMValueRef x) { return intrinsic(r, "llvm.sqrt", r->f64, &x, 1); }

/* BatchNorm statistics and running-stat update for feature j (double precision). */
static void bn_train_body(R *r, LLVMValueRef j, void *ud) {
  const Point *pt = ud;
  LLVMValueRef S = r->arg[A_SCRATCH], P = r->arg[A_PARAMS];
  LLVMValueRef N = LLVMBuildSIToFP(r->b, r->arg[A_N], r->f64, "");
  LLVMValueRef d1 = LLVMBuildBitCast(r->b, fptr(r, S, ci64(r, pt->s1)), LLVMPointerType(r->f64, 0), "");
  LLVMValueRef d2 = LLVMBuildBitCast(r->b, fptr(r, S, ci64(r, pt->s2)), LLVMPointerType(r->f64, 0), "");
  LLVMValueRef m1 = LLVMBuildFDiv(r->b, LLVMBuildLoad2(r->b, r->f64, gep(r, d1, r->f64, j), ""), N, "");
  LLVMValueRef m2 = LLVMBuildFDiv(r->b, LLVMBuildLoad2(r->b, r->f64, gep(r, d2, r->f64, j), ""), N, "");
  LLVMValueRef var = LLVMBuildFSub(r->b, m2, LLVMBuildFMul(r->b, m1, m1, ""), "");
  LLVMValueRef neg = LLVMBuildFCmp(r->b, LLVMRealOLT, var, dconst(r, 0), "");
  var = LLVMBuildSelect(r->b, neg, dconst(r, 0), var, "");
  LLVMValueRef mean = pt->k >= 0 ? LLVMBuildFAdd(r->b, m1, ld64(r, S, LLVMBuildAdd(r->b, j, ci64(r, pt->k), "")), "") : m1;
  st64(r, mean, S, LLVMBuildAdd(r->b, j, ci64(r, pt->mean), ""));
  LLVMValueRef inv = LLVMBuildFDiv(r->b, dconst(r, 1), dsqrt(r, LLVMBuildFAdd(r->b, var, dconst(r, pt->eps), "")), "");
  st64(r, inv, S, LLVMBuildAdd(r->b, j, ci64(r, pt->invstd), ""));
  if (pt->rm < 0) return;
  LLVMValueRef f;
  if (pt->momentum >= 0) f = dconst(r, pt->momentum);
  else { /* cumulative average: 1 / num_batches_tracked (already incremented) */
    LLVMValueRef c = pt->nbt >= 0 ? LLVMBuildLoad2(r->b, r->i64, gep(r, r->arg[A_I64], r->i64, ci64(r, pt->nbt)), "") : ci64(r, 1);
    f = LLVMBuildFDiv(r->b, dconst(r, 1), LLVMBuildSIToFP(r->b, c, r->f64, ""), "");
  }
  LLVMValueRef omf = LLVMBuildFSub(r->b, dconst(r, 1), f, "");
  LLVMValueRef Nm1 = LLVMBuildFSub(r->b, N, dconst(r, 1), "");
  LLVMValueRef one = LLVMBuildFCmp(r->b, LLVMRealOGT, N, dconst(r, 1), "");
  LLVMValueRef unb = LLVMBuildSelect(r->b, one, LLVMBuildFDiv(r->b, LLVMBuildFMul(r->b, var, N, ""), Nm1, ""), var, "");
  LLVMValueRef irm = LLVMBuildAdd(r->b, j, ci64(r, pt->rm), ""), irv = LLVMBuildAdd(r->b, j, ci64(r, pt->rv), "");
  st64(r, LLVMBuildFAdd(r->b, LLVMBuildFMul(r->b, omf, ld64(r, P, irm), ""), LLVMBuildFMul(r->b, f, mean, ""), ""), P, irm);
  st64(r, LLVMBuildFAdd(r->b, LLVMBuildFMul(r->b, omf, ld64(r, P, irv), ""), LLVMBuildFMul(r->b, f, unb, ""), ""), P, irv);
}

static void bn_eval_body(R *r, LLVMValueRef j, void *ud) {
  const Point *pt = ud;
  LLVMValueRef S = r->arg[A_SCRATCH], P = r->arg[A_PARAMS];
  LLVMValueRef rv = pt->rv >= 0 ? ld64(r, P, LLVMBuildAdd(r->b, j, ci64(r, pt->rv), "")) : dconst(r, 1);
  LLVMValueRef rm = pt->rm >= 0 ? ld64(r, P, LLVMBuildAdd(r->b, j, ci64(r, pt->rm), "")) : dconst(r, 0);
  LLVMValueRef w = pt->w >= 0 ? ld64(r, P, LLVMBuildAdd(r->b, j, ci64(r, pt->w), "")) : dconst(r, 1);
  LLVMValueRef bb = pt->b >= 0 ? ld64(r, P, LLVMBuildAdd(r->b, j, ci64(r, pt->b), "")) : dconst(r, 0);
  LLVMValueRef scale = LLVMBuildFDiv(r->b, w, dsqrt(r, LLVMBuildFAdd(r->b, rv, dconst(r, pt->eps), "")), "");
  st64(r, scale, S, LLVMBuildAdd(r->b, j, ci64(r, pt->mean), ""));
  st64(r, LLVMBuildFSub(r->b, bb, LLVMBuildFMul(r->b, rm, scale, ""), ""), S, LLVMBuildAdd(r->b, j, ci64(r, pt->invstd), ""));
}

/* A quantized copy of a parameter (or of a stat vector, in place). */
static void quant_body(R *r, LLVMValueRef j, void *ud) {
  const Point *pt = ud;
  LLVMValueRef v = loadf(r, r->arg[pt->src_stat ? A_SCRATCH : A_PARAMS], LLVMBuildAdd(r->b, j, ci64(r, pt->src), ""));
  storef(r, quant_int(r, v, &pt->qf), r->arg[A_SCRATCH], LLVMBuildAdd(r->b, j, ci64(r, pt->dst), ""));
}

/* A parameter (or stat vector) quantized with a format other than fixed point: a call, once
 * per step, to the C reference itself (ir_quant_tensor: block_fp's blocks along `row`,
 * ternary's whole-tensor statistics), bound into every JIT as an absolute symbol (jit_new),
 * so a cached object links it too.  The format travels as a constant i32 array. */
enum { QF_WORDS = 12 };
static void qfmt_pack(const QFmt *f, int32_t w[QF_WORDS]) {
  int32_t v[QF_WORDS] = {f->kind, f->width, f->frac_width, f->exp_width, f->exp_bias, f->block_size,
                         f->is_signed, f->floor, f->bipolar | f->scaling << 1, f->tstat, f->exp_bias_width, f->block_rows};
  memcpy(w, v, sizeof v);
}
static void jscc_quant_params(const int32_t *w, const float *src, float *dst, int64_t n, int64_t row) {
  QFmt f = {.kind = (QKind)w[0], .width = w[1], .frac_width = w[2], .exp_width = w[3], .exp_bias = w[4],
            .block_size = w[5], .is_signed = w[6], .floor = w[7], .bipolar = w[8] & 1, .scaling = (w[8] >> 1) & 1,
            .tstat = (QTernaryStat)w[9], .exp_bias_width = w[10], .block_rows = w[11]};
  ir_quant_tensor(&f, src, dst, n, row);
}
#define QUANT_PARAMS_SYM "jscc_quant_params"

static void quant_call(R *r, const Point *pt, int64_t from) {
  int32_t w[QF_WORDS];
  qfmt_pack(&pt->qf, w);
  LLVMValueRef el[QF_WORDS];
  for (int i = 0; i < QF_WORDS; i++) el[i] = ci32(r, (uint32_t)w[i]);
  LLVMValueRef g = LLVMAddGlobal(r->mod, LLVMArrayType(r->i32, QF_WORDS), "jscc_qfmt");
  LLVMSetInitializer(g, LLVMConstArray(r->i32, el, QF_WORDS));
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMTypeRef i32p = LLVMPointerType(r->i32, 0);
  LLVMTypeRef at[5] = {i32p, r->fp, r->fp, r->i64, r->i64};
  LLVMTypeRef ft = LLVMFunctionType(LLVMVoidTypeInContext(r->ctx), at, 5, 0);
  LLVMValueRef fn = LLVMGetNamedFunction(r->mod, QUANT_PARAMS_SYM);
  if (!fn) fn = LLVMAddFunction(r->mod, QUANT_PARAMS_SYM, ft);
  LLVMValueRef args[5] = {LLVMConstBitCast(g, i32p), fptr(r, r->arg[pt->src_stat ? A_SCRATCH : A_PARAMS], ci64(r, pt->src + from)),
                          fptr(r, r->arg[A_SCRATCH], ci64(r, pt->dst + from)), ci64(r, pt->n - from),
                          ci64(r, pt->row > 0 ? pt->row : pt->n)};
  LLVMBuildCall2(r->b, ft, fn, args, 5, "");
}

/* A parameter quantized with an elementwise format: vectors of V elements in the kernel's
 * own quantizer (quant_ew), the last n % V elements through quant_call. */
static void quant_vec_body(R *r, LLVMValueRef i, void *ud) {
  const Point *pt = ud;
  LLVMValueRef at = LLVMBuildMul(r->b, i, ci64(r, r->V), "");
  LLVMValueRef v = loadv(r, r->arg[pt->src_stat ? A_SCRATCH : A_PARAMS], LLVMBuildAdd(r->b, at, ci64(r, pt->src), ""));
  storev(r, quant_ew(r, v, &pt->qf), r->arg[A_SCRATCH], LLVMBuildAdd(r->b, at, ci64(r, pt->dst), ""));
}
/* A parameter quantized with a block kind whose blocks are equal runs of bs elements (one-row
 * blocks dividing the row): a loop over blocks, each block up to BLK_VECS vectors loaded with
 * a lane mask, its max |x| (NaN left out) reduced, then the row values' block quantizers. */
enum { BLK_VECS = 4 };
static int64_t quant_block_len(const R *r, const Point *pt) {
  const QFmt *f = &pt->qf;
  if ((f->kind != QK_BLOCK_FP && f->kind != QK_BLOCK_MINIFLOAT && f->kind != QK_BLOCK_LOG) || f->block_rows > 1)
    return 0;
  int64_t row = pt->row > 0 && pt->row <= pt->n ? pt->row : pt->n;
  int64_t bs = f->block_size > 0 && f->block_size < row ? f->block_size : row;
  return pt->n % row == 0 && row % bs == 0 && bs <= BLK_VECS * r->V ? bs : 0;
}
static LLVMValueRef lane_mask(R *r, int64_t live) {
  LLVMValueRef m[64];
  for (int l = 0; l < r->V; l++) m[l] = LLVMConstInt(r->i1, l < live, 0);
  return LLVMConstVector(m, (unsigned)r->V);
}
static LLVMValueRef masked_mem(R *r, bool store, LLVMValueRef base, LLVMValueRef idx, LLVMValueRef mask, LLVMValueRef v) {
  LLVMValueRef p = LLVMBuildBitCast(r->b, fptr(r, base, idx), LLVMPointerType(r->vf, 0), "");
  const char *name = store ? "llvm.masked.store" : "llvm.masked.load";
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef tys[2] = {r->vf, LLVMTypeOf(p)};
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(r->mod, id, tys, 2);
  LLVMTypeRef ft = LLVMIntrinsicGetType(r->ctx, id, tys, 2);
  LLVMValueRef ld[4] = {p, ci32(r, 4), mask, vconst(r, 0)}, st[4] = {v, p, ci32(r, 4), mask};
  return LLVMBuildCall2(r->b, ft, fn, store ? st : ld, 4, "");
}
static void quant_block_body(R *r, LLVMValueRef i, void *ud) {
  const Point *pt = ud;
  const QFmt *f = &pt->qf;
  int64_t bs = quant_block_len(r, pt);
  int nv = (int)((bs + r->V - 1) / r->V);
  LLVMValueRef at = LLVMBuildMul(r->b, i, ci64(r, bs), ""), x[BLK_VECS], mask[BLK_VECS];
  LLVMValueRef m = vconst(r, 0);
  for (int k = 0; k < nv; k++) {
    mask[k] = lane_mask(r, bs - (int64_t)k * r->V);
    LLVMValueRef idx = LLVMBuildAdd(r->b, at, ci64(r, pt->src + (int64_t)k * r->V), "");
    x[k] = masked_mem(r, false, r->arg[pt->src_stat ? A_SCRATCH : A_PARAMS], idx, mask[k], NULL);
    LLVMValueRef a = vfabs(r, x[k]);
    m = fsel(r, LLVMRealOGT, a, m, a, m); /* masked-off lanes are 0 */
  }
  LLVMValueRef red[2] = {m};
  m = splat(r, intrinsic(r, "llvm.vector.reduce.fmax", r->vf, red, 1)); /* no NaN left */
  LLVMValueRef e = NULL, c = NULL;
  QB b = {0};
  if (f->kind == QK_BLOCK_FP) {
    int lo, hi;
    qexp_range(f, &lo, &hi);
    e = qexp(r, m, IR_QEXP_CEIL, lo, hi);
  } else {
    b = quant_block_bounds(r, m, f, f->kind == QK_BLOCK_LOG ? &c : NULL);
  }
  for (int k = 0; k < nv; k++) {
    LLVMValueRef q = f->kind == QK_BLOCK_FP  ? quant_bfp1(r, x[k], e, f)
                     : f->kind == QK_BLOCK_LOG ? quant_lg(r, x[k], b, c)
                                               : quant_mf(r, x[k], true, qmant(f), b);
    masked_mem(r, true, r->arg[A_SCRATCH], LLVMBuildAdd(r->b, at, ci64(r, pt->dst + (int64_t)k * r->V), ""), mask[k], q);
  }
}

static void quant_point(R *r, const Point *pt) {
  int64_t bs = quant_block_len(r, pt);
  if (bs > 0) {
    loop(r, ci64(r, pt->n / bs), quant_block_body, (void *)pt);
    return;
  }
  int64_t nv = ir_qfmt_elementwise(&pt->qf) ? pt->n / r->V : 0;
  if (nv > 0) loop(r, ci64(r, nv), quant_vec_body, (void *)pt);
  if (nv * r->V < pt->n) quant_call(r, pt, nv * r->V);
}

/* A quantized BatchNorm's folded scale and shift from its batch statistics (double). */
static void bn_fold_body(R *r, LLVMValueRef j, void *ud) {
  const Point *pt = ud;
  LLVMValueRef S = r->arg[A_SCRATCH], P = r->arg[A_PARAMS];
  LLVMValueRef w = pt->w >= 0 ? ld64(r, P, LLVMBuildAdd(r->b, j, ci64(r, pt->w), "")) : dconst(r, 1);
  LLVMValueRef bb = pt->b >= 0 ? ld64(r, P, LLVMBuildAdd(r->b, j, ci64(r, pt->b), "")) : dconst(r, 0);
  LLVMValueRef mean = ld64(r, S, LLVMBuildAdd(r->b, j, ci64(r, pt->mean), ""));
  LLVMValueRef invstd = ld64(r, S, LLVMBuildAdd(r->b, j, ci64(r, pt->invstd), ""));
  LLVMValueRef scale = LLVMBuildFMul(r->b, w, invstd, "");
  st64(r, scale, S, LLVMBuildAdd(r->b, j, ci64(r, pt->dst), ""));
  st64(r, LLVMBuildFSub(r->b, bb, LLVMBuildFMul(r->b, mean, scale, ""), ""), S, LLVMBuildAdd(r->b, j, ci64(r, pt->src), ""));
}

/* The plan's index tables as one private constant array, its bytes the host's int32s (the
 * kernel runs where it is compiled), made once per module. */
static LLVMValueRef tabs_global(R *r) {
  if (r->tabs) return r->tabs;
  const CgPlan *p = r->p;
  unsigned bytes = (unsigned)(p->ntabs * (int64_t)sizeof(int32_t));
  LLVMValueRef init = LLVMConstStringInContext(r->ctx, (const char *)p->tabs, bytes, 1);
  LLVMValueRef g = LLVMAddGlobal(r->mod, LLVMTypeOf(init), "jscc_tabs");
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetAlignment(g, 16);
  r->tabs = LLVMConstBitCast(g, LLVMPointerType(r->i32, 0));
  return r->tabs;
}

/* tabs[at + i] as an i64 */
static LLVMValueRef tab_at(R *r, int64_t at, LLVMValueRef i) {
  LLVMValueRef v = LLVMBuildLoad2(r->b, r->i32, gep(r, r->tabs, r->i32, LLVMBuildAdd(r->b, i, ci64(r, at), "")), "");
  return LLVMBuildSExt(r->b, v, r->i64, "");
}

/* PT_GATHER: stat[dst + e] = t >= 0 ? src[src + t] : 0, t = tabs[tab + e] */
static void gather_body(R *r, LLVMValueRef e, void *ud) {
  const Point *pt = ud;
  LLVMValueRef t = tab_at(r, pt->tab, e);
  LLVMValueRef ok = LLVMBuildICmp(r->b, LLVMIntSGE, t, ci64(r, 0), "");
  LLVMValueRef at = LLVMBuildAdd(r->b, LLVMBuildSelect(r->b, ok, t, ci64(r, 0), ""), ci64(r, pt->src), "");
  LLVMValueRef v = loadf(r, r->arg[pt->src_stat ? A_SCRATCH : A_PARAMS], at);
  storef(r, LLVMBuildSelect(r->b, ok, v, cf(r, 0), ""), r->arg[A_SCRATCH], LLVMBuildAdd(r->b, e, ci64(r, pt->dst), ""));
}

/* PT_FOLD, one parameter element i: grads[dst + i] = the sum of its entries, in table order. */
typedef struct FoldCtx {
  const Point *pt;
  LLVMValueRef start, gi; /* the first list position; grads index dst + i */
} FoldCtx;
static void fold_term(R *r, LLVMValueRef k, void *ud) {
  FoldCtx *fc = ud;
  LLVMValueRef e = tab_at(r, fc->pt->tab + fc->pt->n + 1, LLVMBuildAdd(r->b, fc->start, k, ""));
  LLVMValueRef v = loadf(r, r->arg[A_SCRATCH], LLVMBuildAdd(r->b, e, ci64(r, fc->pt->src), ""));
  storef(r, LLVMBuildFAdd(r->b, loadf(r, r->arg[A_GRADS], fc->gi), v, ""), r->arg[A_GRADS], fc->gi);
}
static void fold_body(R *r, LLVMValueRef i, void *ud) {
  FoldCtx fc = {.pt = ud};
  fc.start = tab_at(r, fc.pt->tab, i);
  LLVMValueRef end = tab_at(r, fc.pt->tab, LLVMBuildAdd(r->b, i, ci64(r, 1), ""));
  fc.gi = LLVMBuildAdd(r->b, i, ci64(r, fc.pt->dst), "");
  storef(r, cf(r, 0), r->arg[A_GRADS], fc.gi);
  loop(r, LLVMBuildSub(r->b, end, fc.start, ""), fold_term, &fc);
}

static void copy_body(R *r, LLVMValueRef j, void *ud) {
  const Point *pt = ud;
  storef(r, loadf(r, r->arg[A_PARAMS], LLVMBuildAdd(r->b, j, ci64(r, pt->src), "")), r->arg[A_SCRATCH],
         LLVMBuildAdd(r->b, j, ci64(r, pt->dst), ""));
}

/* The optimizer on one element, the same operations and roundings as PyTorch 1.13's
 * single-tensor loops on a CPU build that fuses multiply-adds (and runtime/optim.c):
 *   AdamW: p *= 1 - lr*wd;  Adam: g = fma(wd, p, g)
 *   m = fma(1-b1, g, m*b1);  v = fma((1-b2)*g, g, v*b2)
 *   p = p + (-lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps)
 *   SGD: g = fma(wd, p, g); buf = first ? g : fma(1-damp, g, buf*mom);
 *        g = nesterov ? fma(mom, buf, g) : buf;  p = fma(-lr, g, p)
 * llvm.fma (not fmuladd): one rounding is required, not allowed. */
typedef struct OptCtx {
  const Point *pt;
  LLVMValueRef lr, step_size, bc2s, decay, first;
} OptCtx;
static LLVMValueRef fma1(R *r, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  LLVMValueRef v[3] = {a, b, c};
  return intrinsic(r, "llvm.fma", LLVMTypeOf(a), v, 3);
}
static void optim_body(R *r, LLVMValueRef j, void *ud) {
  OptCtx *oc = ud;
  const CgOptim *o = &r->p->o.optim;
  LLVMValueRef e = LLVMBuildAdd(r->b, j, ci64(r, oc->pt->off), "");
  LLVMValueRef P = r->arg[A_PARAMS];
  LLVMValueRef p = loadf(r, P, e), g = loadf(r, r->arg[A_GRADS], e);
  if (o->kind == CG_ADAMW && o->weight_decay != 0) p = LLVMBuildFMul(r->b, p, oc->decay, "");
  if (o->kind != CG_ADAMW && o->weight_decay != 0) g = fma1(r, cf(r, o->weight_decay), p, g);
  if (o->kind == CG_SGD) {
    if (o->momentum != 0) {
      LLVMValueRef mb = loadf(r, r->arg[A_OPTM], e);
      LLVMValueRef upd = fma1(r, cf(r, 1 - o->dampening), g, LLVMBuildFMul(r->b, mb, cf(r, o->momentum), ""));
      mb = LLVMBuildSelect(r->b, oc->first, g, upd, "");
      storef(r, mb, r->arg[A_OPTM], e);
      g = o->nesterov ? fma1(r, cf(r, o->momentum), mb, g) : mb;
    }
    p = fma1(r, LLVMBuildFNeg(r->b, LLVMBuildFPTrunc(r->b, oc->lr, r->f32, ""), ""), g, p);
  } else {
    LLVMValueRef m = loadf(r, r->arg[A_OPTM], e), v = loadf(r, r->arg[A_OPTV], e);
    m = fma1(r, cf(r, 1 - o->beta1), g, LLVMBuildFMul(r->b, m, cf(r, o->beta1), ""));
    v = fma1(r, LLVMBuildFMul(r->b, cf(r, 1 - o->beta2), g, ""), g, LLVMBuildFMul(r->b, v, cf(r, o->beta2), ""));
    storef(r, m, r->arg[A_OPTM], e);
    storef(r, v, r->arg[A_OPTV], e);
    LLVMValueRef sv = intrinsic(r, "llvm.sqrt", r->f32, &v, 1);
    LLVMValueRef denom = LLVMBuildFAdd(r->b, LLVMBuildFDiv(r->b, sv, oc->bc2s, ""), cf(r, o->eps), "");
    p = LLVMBuildFAdd(r->b, p, LLVMBuildFDiv(r->b, LLVMBuildFMul(r->b, oc->step_size, m, ""), denom, ""), "");
  }
  storef(r, p, P, e);
}

static LLVMValueRef dpow(R *r, double base, LLVMValueRef e) {
  LLVMValueRef a[2] = {dconst(r, base), e};
  return intrinsic(r, "llvm.pow", r->f64, a, 2);
}

static void render(R *r) {
  const CgPlan *p = r->p;
  LLVMTypeRef i8p = LLVMPointerType(r->i8, 0);
  /* jscc_step(args) unpacks CgArgs and calls the body, whose pointer parameters are noalias:
   * every buffer is a separate allocation, and saying so spares alias analysis (compile
   * time) and lets loads of weights be reused across rows. */
  LLVMTypeRef at[A_COUNT];
  for (int k = 0; k < A_COUNT; k++)
    at[k] = k == A_N || k == A_SEED || k == A_DSTEP ? r->i64 : k == A_LR || k == A_STEP ? r->f64
          : k == A_Y ? LLVMPointerType(r->i32, 0) : k == A_I64 ? LLVMPointerType(r->i64, 0)
          : k == A_METRICS ? LLVMPointerType(r->f64, 0) : r->fp;
  LLVMTypeRef bt = LLVMFunctionType(LLVMVoidTypeInContext(r->ctx), at, A_COUNT, 0);
  LLVMValueRef body = LLVMAddFunction(r->mod, "jscc_step_body", bt);
  LLVMSetLinkage(body, LLVMInternalLinkage);
  unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
  for (int k = 0; k < A_COUNT; k++)
    if (LLVMGetTypeKind(at[k]) == LLVMPointerTypeKind)
      LLVMAddAttributeAtIndex(body, (unsigned)k + 1, LLVMCreateEnumAttribute(r->ctx, noalias, 0));
  LLVMTypeRef ft = LLVMFunctionType(LLVMVoidTypeInContext(r->ctx), &i8p, 1, 0);
  LLVMValueRef outer = LLVMAddFunction(r->mod, "jscc_step", ft);
  LLVMPositionBuilderAtEnd(r->b, LLVMAppendBasicBlockInContext(r->ctx, outer, "entry"));
  LLVMValueRef args = LLVMGetParam(outer, 0), cargs[A_COUNT];
  for (int k = 0; k < A_COUNT; k++) {
    LLVMValueRef ap = gep(r, args, r->i8, ci64(r, 8 * k));
    cargs[k] = LLVMBuildLoad2(r->b, at[k], LLVMBuildBitCast(r->b, ap, LLVMPointerType(at[k], 0), ""), "");
  }
  LLVMBuildCall2(r->b, bt, body, cargs, A_COUNT, "");
  LLVMBuildRetVoid(r->b);
  r->fn = body;
  LLVMPositionBuilderAtEnd(r->b, LLVMAppendBasicBlockInContext(r->ctx, body, "entry"));
  for (int k = 0; k < A_COUNT; k++) r->arg[k] = LLVMGetParam(body, (unsigned)k);
  r->nblk = LLVMBuildSDiv(r->b, LLVMBuildAdd(r->b, r->arg[A_N], ci64(r, r->V - 1), ""), ci64(r, r->V), "");
  r->invn = LLVMBuildFDiv(r->b, cf(r, 1), LLVMBuildSIToFP(r->b, r->arg[A_N], r->f32, ""), "");
  r->invnv = splat(r, r->invn);
  /* num_batches_tracked += 1 for every training-mode BatchNorm */
  for (int s = 0; s < p->nstages; s++)
    for (int i = 0; i < p->stages[s].npre; i++) {
      const Point *pt = &p->stages[s].pre[i];
      if (pt->kind != PT_BN_TRAIN || pt->nbt < 0) continue;
      LLVMValueRef at = gep(r, r->arg[A_I64], r->i64, ci64(r, pt->nbt));
      LLVMBuildStore(r->b, LLVMBuildAdd(r->b, LLVMBuildLoad2(r->b, r->i64, at, ""), ci64(r, 1), ""), at);
    }
  for (int s = 0; s < p->nstages; s++) {
    const Stage *st = &p->stages[s];
    for (int i = 0; i < st->npre; i++) {
      const Point *pt = &st->pre[i];
      if (pt->kind == PT_QUANT && pt->qf.kind != QK_INTEGER) {
        quant_point(r, pt);
        continue;
      }
      if (pt->kind == PT_GATHER) tabs_global(r);
      LoopBody fnb = pt->kind == PT_COPY ? copy_body : pt->kind == PT_BN_TRAIN ? bn_train_body
                     : pt->kind == PT_QUANT ? quant_body : pt->kind == PT_BN_FOLD ? bn_fold_body
                     : pt->kind == PT_GATHER ? gather_body : bn_eval_body;
      loop(r, ci64(r, pt->n), fnb, (void *)pt);
    }
    for (int a = 0; a < p->naccs; a++) /* zero this stage's accumulator lanes */
      if (p->accs[a].stage == s) {
        LLVMValueRef dst = LLVMBuildBitCast(r->b, fptr(r, r->arg[A_SCRATCH], ci64(r, p->aoff[a])), i8p, "");
        int64_t bytes = (int64_t)p->accs[a].n * (acc_compact(r, a) ? 1 : r->V) * (p->accs[a].f64 ? 8 : 4);
        LLVMBuildMemSet(r->b, dst, LLVMConstInt(r->i8, 0, 0), ci64(r, bytes), 4);
      }
    loop(r, r->nblk, row_body, (void *)st);
    for (int a = 0; a < p->naccs; a++)
      if (p->accs[a].stage == s) {
        AccRed ar = {&p->accs[a], a};
        loop(r, ci64(r, p->accs[a].n), acc_reduce_body, &ar);
      }
  }
  if (p->npost) {
    const CgOptim *o = &p->o.optim;
    OptCtx oc = {.lr = r->arg[A_LR]};
    LLVMValueRef bc1 = LLVMBuildFSub(r->b, dconst(r, 1), dpow(r, o->beta1, r->arg[A_STEP]), "");
    LLVMValueRef bc2 = LLVMBuildFSub(r->b, dconst(r, 1), dpow(r, o->beta2, r->arg[A_STEP]), "");
    oc.step_size = LLVMBuildFPTrunc(r->b, LLVMBuildFNeg(r->b, LLVMBuildFDiv(r->b, r->arg[A_LR], bc1, ""), ""), r->f32, "");
    oc.bc2s = LLVMBuildFPTrunc(r->b, dsqrt(r, bc2), r->f32, "");
    oc.decay = LLVMBuildFPTrunc(r->b, LLVMBuildFSub(r->b, dconst(r, 1), LLVMBuildFMul(r->b, r->arg[A_LR], dconst(r, o->weight_decay), ""), ""), r->f32, "");
    oc.first = LLVMBuildFCmp(r->b, LLVMRealOLE, r->arg[A_STEP], dconst(r, 1), "");
    for (int i = 0; i < p->npost; i++) {
      if (p->post[i].kind == PT_FOLD) {
        tabs_global(r);
        loop(r, ci64(r, p->post[i].n), fold_body, (void *)&p->post[i]);
        continue;
      }
      oc.pt = &p->post[i];
      loop(r, ci64(r, p->post[i].n), optim_body, &oc);
    }
  }
  LLVMBuildRetVoid(r->b);
}

Status cg_llvm_err(Diag *d, const char *who, const char *what, LLVMErrorRef e) {
  char *msg = LLVMGetErrorMessage(e);
  Status st = diag_error(d, (SrcLoc){0}, "codegen: %s%s%s failed: %s", who ? who : "", who ? ": " : "", what, msg);
  LLVMDisposeErrorMessage(msg);
  return st;
}

/* ==== from a rendered module to machine code (both renderers) ==== */

/* The host's triple, CPU name and features (LLVM's strings) and its target. */
typedef struct Host {
  char *triple, *cpu, *feat;
  LLVMTargetRef target;
} Host;

static void host_free(Host *h) {
  LLVMDisposeMessage(h->triple), LLVMDisposeMessage(h->cpu), LLVMDisposeMessage(h->feat);
}

static Status host_get(Host *h, Diag *d) {
  h->triple = LLVMGetDefaultTargetTriple(), h->cpu = LLVMGetHostCPUName(), h->feat = LLVMGetHostCPUFeatures();
  char *err = NULL;
  if (!LLVMGetTargetFromTriple(h->triple, &h->target, &err)) return JS_OK;
  Status st = diag_error(d, (SrcLoc){0}, "codegen: no LLVM target for %s: %s", h->triple, err);
  LLVMDisposeMessage(err);
  host_free(h);
  return st;
}

/* A host target machine at level cgl with the JIT's code model, so that an object emitted
 * with it is the one LLJIT would have made from the module. */
static LLVMTargetMachineRef host_tm(const Host *h, int cgl) {
  return LLVMCreateTargetMachine(h->target, h->triple, h->cpu, h->feat, (LLVMCodeGenOptLevel)cgl, LLVMRelocDefault,
                                 LLVMCodeModelJITDefault);
}

Status cg_llvm_set_host(LLVMModuleRef mod, Diag *d) {
  Host h;
  Status st = host_get(&h, d);
  if (st) return st;
  LLVMTargetMachineRef tm = host_tm(&h, LLVMCodeGenLevelDefault);
  LLVMSetTarget(mod, h.triple);
  LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
  LLVMSetModuleDataLayout(mod, td);
  LLVMDisposeTargetData(td);
  LLVMDisposeTargetMachine(tm);
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    if (LLVMCountBasicBlocks(f)) {
      LLVMAddTargetDependentFunctionAttr(f, "target-cpu", h.cpu);
      LLVMAddTargetDependentFunctionAttr(f, "target-features", h.feat);
    }
  host_free(&h);
  return JS_OK;
}

/* A module that does not verify is a renderer's bug; checked only before compiling (a cached
 * object was compiled from a module that verified). */
static Status verify(const CgJitJob *j, LLVMModuleRef mod, Diag *d) {
  char *verr = NULL;
  Status st = JS_OK;
  if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &verr))
    st = diag_error(d, (SrcLoc){0}, "codegen: internal error, the %s does not verify: %s",
                    j->who ? j->who : "generated module", verr);
  LLVMDisposeMessage(verr);
  return st;
}

/* The IR pipeline, with a target machine at the default level (the passes only ask it
 * about costs). */
static Status optimise(const CgJitJob *j, const Host *h, LLVMModuleRef mod, Diag *d) {
  LLVMTargetMachineRef tm = host_tm(h, LLVMCodeGenLevelDefault);
  LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
  if (!j->unroll_slp) {
    LLVMPassBuilderOptionsSetLoopUnrolling(po, 0);
    LLVMPassBuilderOptionsSetSLPVectorization(po, 0);
  }
  LLVMErrorRef e = LLVMRunPasses(mod, j->pipeline, tm, po);
  LLVMDisposePassBuilderOptions(po);
  LLVMDisposeTargetMachine(tm);
  return e ? cg_llvm_err(d, j->who, "optimising the module", e) : JS_OK;
}

/* A fresh LLJIT compiling for the host at level cgl; memset and pow resolve to the
 * process's. */
static Status jit_new(const Host *h, int cgl, const char *who, LLVMOrcLLJITRef *jit, Diag *d) {
  *jit = NULL;
  /* the builder owns the target machine, the JIT the builder (even when creating fails) */
  LLVMOrcJITTargetMachineBuilderRef jtmb = LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(host_tm(h, cgl));
  LLVMOrcLLJITBuilderRef jb = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(jb, jtmb);
  LLVMErrorRef e;
  if ((e = LLVMOrcCreateLLJIT(jit, jb))) return cg_llvm_err(d, who, "creating the JIT", e);
  LLVMOrcDefinitionGeneratorRef gen;
  if ((e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(*jit), NULL, NULL))) {
    LLVMOrcDisposeLLJIT(*jit);
    *jit = NULL;
    return cg_llvm_err(d, who, "resolving process symbols", e);
  }
  LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(*jit), gen);
  /* the parameter quantizer the kernels call (quant_call), whether or not the executable
   * exports its symbols */
  LLVMJITCSymbolMapPair qp = {LLVMOrcLLJITMangleAndIntern(*jit, QUANT_PARAMS_SYM),
                              {(LLVMOrcExecutorAddress)(uintptr_t)jscc_quant_params,
                               {LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable, 0}}};
  if ((e = LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(*jit), LLVMOrcAbsoluteSymbols(&qp, 1)))) {
    LLVMOrcDisposeLLJIT(*jit);
    *jit = NULL;
    return cg_llvm_err(d, who, "binding the parameter quantizer", e);
  }
  return JS_OK;
}

/* Adds mod (owned from here on, with tsc) to jit and looks `sym` up, which compiles it. */
static Status jit_add_module(LLVMOrcLLJITRef jit, LLVMModuleRef mod, LLVMOrcThreadSafeContextRef tsc, const char *sym,
                             LLVMOrcExecutorAddress *addr, const char *who, Diag *d) {
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc);
  LLVMOrcDisposeThreadSafeContext(tsc);
  LLVMErrorRef e;
  if ((e = LLVMOrcLLJITAddLLVMIRModule(jit, LLVMOrcLLJITGetMainJITDylib(jit), tsm))) {
    LLVMOrcDisposeThreadSafeModule(tsm);
    return cg_llvm_err(d, who, "adding the module", e);
  }
  if ((e = LLVMOrcLLJITLookup(jit, addr, sym))) return cg_llvm_err(d, who, "compiling the module", e);
  return JS_OK;
}

/* Adds an object file (owned from here on) to jit and looks `sym` up, which links it. */
static Status jit_add_object(LLVMOrcLLJITRef jit, LLVMMemoryBufferRef obj, const char *sym,
                             LLVMOrcExecutorAddress *addr, const char *who, Diag *d) {
  LLVMErrorRef e;
  if ((e = LLVMOrcLLJITAddObjectFile(jit, LLVMOrcLLJITGetMainJITDylib(jit), obj)))
    return cg_llvm_err(d, who, "adding the object file", e);
  if ((e = LLVMOrcLLJITLookup(jit, addr, sym))) return cg_llvm_err(d, who, "linking the object file", e);
  return JS_OK;
}

/* The optimised module's machine code as an object file, made by a target machine with the
 * JIT's settings. */
static Status emit_object(const CgJitJob *j, const Host *h, LLVMModuleRef mod, LLVMMemoryBufferRef *obj, Diag *d) {
  LLVMTargetMachineRef tm = host_tm(h, j->codegen_level);
  char *err = NULL;
  LLVMBool bad = LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &err, obj);
  LLVMDisposeTargetMachine(tm);
  if (!bad) return JS_OK;
  Status st = diag_error(d, (SrcLoc){0}, "codegen: %s%semitting the object file failed: %s", j->who ? j->who : "",
                         j->who ? ": " : "", err ? err : "?");
  LLVMDisposeMessage(err);
  return st;
}

/* The cache key of mod, which is about to be optimised (kcache.c).  The module goes in as
 * bitcode: as complete as its text and five times faster to make (12 ms for jsc_big's 650 KB
 * of text, which would have been most of a cache hit). */
static void module_key(const CgJitJob *j, const Host *h, LLVMModuleRef mod, uint8_t key[32]) {
  LLVMMemoryBufferRef bc = LLVMWriteBitcodeToMemoryBuffer(mod);
  CgKeyParts k = {.module = LLVMGetBufferStart(bc), .module_bytes = LLVMGetBufferSize(bc), .pipeline = j->pipeline,
                  .unroll_slp = j->unroll_slp, .codegen_level = j->codegen_level, .triple = h->triple, .cpu = h->cpu,
                  .features = h->feat, .llvm_version = LLVM_VERSION_STRING};
  cg_kcache_key(&k, key);
  LLVMDisposeMemoryBuffer(bc);
}

/* The cached object for key, linked into a fresh JIT; false, with nothing left behind, on a
 * miss or an object the JIT refuses (both then compile and replace the file). */
static bool load_cached(const CgJitJob *j, const Host *h, const char *path, const uint8_t key[32], CgJitResult *out) {
  void *bytes;
  size_t len;
  if (!cg_kcache_read(path, key, &bytes, &len)) return false;
  LLVMMemoryBufferRef obj = LLVMCreateMemoryBufferWithMemoryRangeCopy(bytes, len, path);
  ir_free(bytes);
  Diag quiet;
  diag_init(&quiet, NULL);
  LLVMOrcLLJITRef jit;
  bool ok = jit_new(h, j->codegen_level, j->who, &jit, &quiet) == JS_OK;
  if (!ok) LLVMDisposeMemoryBuffer(obj);
  if (ok && jit_add_object(jit, obj, j->sym, &out->addr, j->who, &quiet)) {
    LLVMOrcDisposeLLJIT(jit);
    ok = false;
  }
  diag_free(&quiet);
  if (ok) out->jit = jit, out->cache_hit = true;
  return ok;
}

/* Compiles into jit: through an object file stored in the cache when there is one, so that
 * a hit runs the very object a miss ran; else straight from the module.  Consumes mod, tsc
 * and (on failure) jit. */
static Status compile_into(const CgJitJob *j, const Host *h, const uint8_t *key, LLVMOrcLLJITRef jit,
                           LLVMModuleRef mod, LLVMOrcThreadSafeContextRef tsc, LLVMOrcExecutorAddress *addr, Diag *d) {
  Status st;
  if (!key) {
    st = jit_add_module(jit, mod, tsc, j->sym, addr, j->who, d);
  } else {
    LLVMMemoryBufferRef obj = NULL;
    st = emit_object(j, h, mod, &obj, d);
    LLVMDisposeModule(mod);
    LLVMOrcDisposeThreadSafeContext(tsc);
    if (!st) {
      cg_kcache_write(j->cache_dir, key, LLVMGetBufferStart(obj), LLVMGetBufferSize(obj), d);
      st = jit_add_object(jit, obj, j->sym, addr, j->who, d);
    }
  }
  if (st) LLVMOrcDisposeLLJIT(jit);
  return st;
}

Status cg_llvm_jit_build(const CgJitJob *j, LLVMModuleRef mod, LLVMOrcThreadSafeContextRef tsc, CgJitResult *out,
                         Diag *d) {
  memset(out, 0, sizeof *out);
  Host h;
  Status st = host_get(&h, d);
  if (st) {
    LLVMDisposeModule(mod);
    LLVMOrcDisposeThreadSafeContext(tsc);
    return st;
  }
  double t0 = now_ms();
  uint8_t key[32];
  char path[PATH_MAX + 96];
  bool cache = j->cache_dir && *j->cache_dir;
  if (cache) module_key(j, &h, mod, key);
  cache = cache && cg_kcache_path(j->cache_dir, key, path, sizeof path);
  /* --dump-llvm wants the optimised module, which a cached object does not have */
  if (cache && !j->llvm_text && load_cached(j, &h, path, key, out)) {
    LLVMDisposeModule(mod);
    LLVMOrcDisposeThreadSafeContext(tsc);
    host_free(&h);
    out->codegen_ms = now_ms() - t0;
    return JS_OK;
  }
  if (j->before_compile) j->before_compile(j->before_ud);
  st = verify(j, mod, d);
  if (!st) st = optimise(j, &h, mod, d);
  if (!st && j->llvm_text) {
    char *s = LLVMPrintModuleToString(mod);
    sb_puts(j->llvm_text, s);
    LLVMDisposeMessage(s);
  }
  double t1 = now_ms();
  LLVMOrcLLJITRef jit = NULL;
  if (!st) st = jit_new(&h, j->codegen_level, j->who, &jit, d);
  double t2 = now_ms();
  if (st) {
    LLVMDisposeModule(mod);
    LLVMOrcDisposeThreadSafeContext(tsc);
  } else if (!(st = compile_into(j, &h, cache ? key : NULL, jit, mod, tsc, &out->addr, d))) {
    out->jit = jit;
  }
  host_free(&h);
  out->passes_ms = t1 - t0, out->jit_ms = t2 - t1, out->codegen_ms = now_ms() - t2;
  return st;
}

static const char *host_cpu_str;
const char *cg_host_cpu(void) {
  static char buf[128];
  if (!host_cpu_str) {
    char *name = LLVMGetHostCPUName();
    char *feat = LLVMGetHostCPUFeatures();
    snprintf(buf, sizeof buf, "%s (%s)", name, strstr(feat, "+avx512f") ? "avx512" : strstr(feat, "+avx2") ? "avx2" : "sse");
    LLVMDisposeMessage(name);
    LLVMDisposeMessage(feat);
    host_cpu_str = buf;
  }
  return host_cpu_str;
}

bool cg_llvm_available(void) { return true; }

void cg_llvm_trim(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return;
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char perms[8];
    int at = 0;
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &at) < 3 || !at) continue;
    /* only the shared library's text: never written, never relocated (PIC) */
    if (strcmp(perms, "r-xp") == 0 && strstr(line + at, "libLLVM")) madvise((void *)lo, hi - lo, MADV_DONTNEED);
  }
  fclose(f);
#ifdef __GLIBC__
  malloc_trim(0); /* and the heap the compiler freed */
#endif
}

int cg_host_vec(void) {
  char *feat = LLVMGetHostCPUFeatures();
  int v = strstr(feat, "+avx512f") ? 16 : 8;
  LLVMDisposeMessage(feat);
  return v;
}

static void llvm_init_once(void) {
  LLVMInitializeNativeTarget();
  LLVMInitializeNativeAsmPrinter();
}

void cg_llvm_init(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, llvm_init_once);
}

static void tell_compile(void *ud) {
  const CgPlan *p = ((R *)ud)->p;
  CgCompileEstimate e = {.train = p->o.train, .ir_instructions = ((R *)ud)->ninst,
                         .expect_ms = cg_llvm_expect_ms(((R *)ud)->ninst)};
  p->o.on_compile(p->o.on_compile_ud, &e);
}

Status cg_llvm_compile(const CgPlan *p, CgKernel **out, StrBuf *llvm_text, CgCompileInfo *info, Diag *d) {
  *out = NULL;
  cg_llvm_init();
  double t0 = now_ms(), c0 = cpu_ms();
  R r = {.p = p, .V = p->vec};
  LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
  r.ctx = LLVMOrcThreadSafeContextGetContext(tsc);
  r.mod = LLVMModuleCreateWithNameInContext(p->model, r.ctx);
  r.b = LLVMCreateBuilderInContext(r.ctx);
  r.f32 = LLVMFloatTypeInContext(r.ctx);
  r.f64 = LLVMDoubleTypeInContext(r.ctx);
  r.i1 = LLVMInt1TypeInContext(r.ctx);
  r.i8 = LLVMInt8TypeInContext(r.ctx);
  r.i32 = LLVMInt32TypeInContext(r.ctx);
  r.i64 = LLVMInt64TypeInContext(r.ctx);
  r.fp = LLVMPointerType(r.f32, 0);
  r.vf = LLVMVectorType(r.f32, (unsigned)r.V);
  r.vi = LLVMVectorType(r.i32, (unsigned)r.V);
  r.vals = ir_calloc((size_t)p->nvals + 1, sizeof(Val));
  Status st = JS_OK;
  if (!r.vals) {
    st = diag_oom(d);
    goto fail_ctx;
  }
  render(&r);
  for (int i = 0; i < p->nvals; i++) ir_free(r.vals[i].reg);
  ir_free(r.vals);
  r.vals = NULL;
  LLVMDisposeBuilder(r.b);
  size_t ninst = 0;
  for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(r.fn); bb; bb = LLVMGetNextBasicBlock(bb))
    for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in)) ninst++;
  r.ninst = ninst;
  double t1 = now_ms();

  if ((st = cg_llvm_set_host(r.mod, d))) goto fail_mod;
  /* The tuning may replace the pipeline (a new-pass-manager string) and the code generation
   * level (0-3), for experiments.  For a default<O2> experiment: no unrolling (the wide
   * feature loops stay loops on purpose) and no SLP (the code is vectorised over rows
   * already). */
  const CgTuning tu = p->o.tuning ? *p->o.tuning : CG_TUNING_DEFAULT;
  CgJitJob job = {.pipeline = tu.llvm_passes ? tu.llvm_passes : CG_PIPELINE,
                  .unroll_slp = false,
                  .codegen_level = tu.llvm_codegen_level >= 0 ? tu.llvm_codegen_level : CG_CODEGEN_LEVEL,
                  .sym = "jscc_step", .cache_dir = p->o.kernel_cache, .llvm_text = llvm_text,
                  .before_compile = p->o.on_compile ? tell_compile : NULL, .before_ud = &r};
  CgJitResult jr;
  if ((st = cg_llvm_jit_build(&job, r.mod, tsc, &jr, d))) return st;
  CgKernel *k = ir_malloc(sizeof *k);
  if (!k) {
    LLVMOrcDisposeLLJIT(jr.jit);
    return diag_oom(d);
  }
  k->jit = jr.jit;
  k->fn = (void (*)(CgArgs *))(uintptr_t)jr.addr;
  if (info) {
    info->render_ms = t1 - t0;
    info->compile_ms = now_ms() - t1;
    info->ir_instructions = ninst;
    info->cache_hit = jr.cache_hit;
  }
  if (tu.llvm_timing)
    fprintf(stderr, "llvm: render %.1f, passes %.1f, jit create %.1f, codegen %.1f ms (cpu %.1f ms), %zu instructions%s\n",
            t1 - t0, jr.passes_ms, jr.jit_ms, jr.codegen_ms, cpu_ms() - c0, ninst,
            jr.cache_hit ? " (from the kernel cache)" : "");
  *out = k;
  return JS_OK;
fail_mod:
  LLVMDisposeModule(r.mod);
fail_ctx:
  if (r.vals) {
    for (int i = 0; i < p->nvals; i++) ir_free(r.vals[i].reg);
    ir_free(r.vals);
  }
  LLVMOrcDisposeThreadSafeContext(tsc);
  return st;
}

void cg_kernel_run(const CgKernel *k, CgArgs *a) { k->fn(a); }

void cg_kernel_free(CgKernel *k) {
  if (!k) return;
  LLVMOrcDisposeLLJIT(k->jit);
  ir_free(k);
}

#else /* no LLVM */

struct CgKernel {
  int unused;
};
bool cg_llvm_available(void) { return false; }
const char *cg_host_cpu(void) { return "unknown (built without LLVM)"; }
int cg_host_vec(void) { return 8; }
Status cg_llvm_compile(const CgPlan *p, CgKernel **out, StrBuf *llvm_text, CgCompileInfo *info, Diag *d) {
  (void)p, (void)llvm_text, (void)info;
  *out = NULL;
  return diag_error(d, (SrcLoc){0}, "codegen: jscc was built without LLVM (meson -Dllvm=disabled); use --engine=ref");
}
void cg_kernel_run(const CgKernel *k, CgArgs *a) { (void)k, (void)a; }
void cg_kernel_free(CgKernel *k) { (void)k; }
void cg_llvm_trim(void) {}

#endif
