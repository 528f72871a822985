/* codegen/intllvm.c — render an integer program (intprog.h) as an LLVM module, compile it with
 * ORC LLJIT, run it.
 *
 * The rendered function is `void jscc_int(i8 *args)` (args: an IpArgs).  It loops over blocks
 * of `vec` rows; inside a block every value of the program is one integer vector per feature
 * (lane i = row i of the block), so every step is straight-line vector code: the row program
 * of intprog.c with the feature loops unrolled and every weight, bias, shift and clamp a
 * constant (a zero weight costs nothing, a weight of one no multiply).  Lanes are 32-bit when
 * the lowering proved every code and intermediate fits (IntProg.i32), else 64-bit; either way
 * the arithmetic is the C executor's exactly (runtime/intexec.c):
 *   quant    fpext to double, * 2^f, rint (half to even) or floor, clamp, NaN -> 0, fptosi;
 *   requant  the same rounding right shift (a + 2^(sh-1) - 1 + lsb(a >> sh)) >> sh, or a
 *            left shift guarded by compares (no shift of a value that would leave the range);
 *   logits   sitofp to double, * 2^-frac, fptrunc to float.
 * The input rows are read row-major (scalar loads gathered into lanes) and the logits (and,
 * for a traced kernel, every node's codes as int64) stored back row-major.  The IR pipeline
 * is llvm.c's scalar cleanup; machine code for the host CPU through ORC LLJIT. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "intprog.h"

#ifdef JSCC_HAVE_LLVM
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "llvm_jit.h"

#define IP_PIPELINE "function(sroa,early-cse,instcombine,simplifycfg)"

struct IpKernel {
  LLVMOrcLLJITRef jit;  /* owns the machine code */
  void (*fn)(IpArgs *); /* jscc_int */
  int vec;              /* rows per block */
};

typedef struct R {
  const IntProg *p;                           /* the program rendered */
  bool trace;                                 /* store every traced node's codes */
  int V;                                      /* rows per block: lanes of every vector */
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;                           /* the current position */
  LLVMValueRef fn;                            /* jscc_int */
  LLVMTypeRef i1, i8, i32, i64, f32, f64, it; /* it: the lane integer type */
  LLVMTypeRef vt, vd, vf, v64;                /* <V x it>, <V x double>, <V x float>, <V x i64> */
  LLVMValueRef x, logits, tr, n;              /* the arguments */
  LLVMValueRef row0;                          /* i64: first row of the block */
  LLVMValueRef tblock;                        /* traced kernels: this block's trace, [tw][V] i64 */
  LLVMBuilderRef eb;                          /* positioned in the entry block: allocas */
  LLVMValueRef **reg;                         /* [nvals][n] vectors of the current block */
} R;

static LLVMValueRef ci64(R *r, int64_t v) { return LLVMConstInt(r->i64, (unsigned long long)v, 1); }
static LLVMValueRef ci32(R *r, int64_t v) { return LLVMConstInt(r->i32, (unsigned long long)v, 1); }

/* A lane constant: v splatted over <V x it> (v must fit it). */
static LLVMValueRef vint(R *r, int64_t v) {
  LLVMValueRef s = LLVMConstInt(r->it, (unsigned long long)v, 1), e[64];
  for (int i = 0; i < r->V; i++) e[i] = s;
  return LLVMConstVector(e, (unsigned)r->V);
}
static LLVMValueRef vdbl(R *r, double v) {
  LLVMValueRef s = LLVMConstReal(r->f64, v), e[64];
  for (int i = 0; i < r->V; i++) e[i] = s;
  return LLVMConstVector(e, (unsigned)r->V);
}

/* The lane type's range: clamp constants beyond it are the range's ends (every code fits). */
static int64_t fit(R *r, int64_t v) {
  if (r->it == r->i64) return v;
  return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
}

static LLVMValueRef intrinsic(R *r, const char *name, LLVMTypeRef t, LLVMValueRef *args, int n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef tys[1] = {t};
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(r->mod, id, tys, 1);
  LLVMTypeRef ft = LLVMIntrinsicGetType(r->ctx, id, tys, 1);
  return LLVMBuildCall2(r->b, ft, f, args, (unsigned)n, "");
}
static LLVMValueRef smax(R *r, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef v[2] = {a, b};
  return intrinsic(r, "llvm.smax", LLVMTypeOf(a), v, 2);
}
static LLVMValueRef smin(R *r, LLVMValueRef a, LLVMValueRef b) {
  LLVMValueRef v[2] = {a, b};
  return intrinsic(r, "llvm.smin", LLVMTypeOf(a), v, 2);
}
static LLVMValueRef clampv(R *r, LLVMValueRef a, int64_t lo, int64_t hi) {
  return smin(r, smax(r, a, vint(r, fit(r, lo))), vint(r, fit(r, hi)));
}

static LLVMValueRef gep(R *r, LLVMTypeRef elt, LLVMValueRef base, LLVMValueRef idx) {
  return LLVMBuildGEP2(r->b, elt, base, &idx, 1, "");
}

/* x[(row0 + i) * F + j] for the V lanes i. */
static LLVMValueRef load_feature(R *r, int j) {
  const IntProg *p = r->p;
  LLVMValueRef v = LLVMGetUndef(r->vf);
  for (int i = 0; i < r->V; i++) {
    LLVMValueRef idx = LLVMBuildAdd(r->b, LLVMBuildMul(r->b, LLVMBuildAdd(r->b, r->row0, ci64(r, i), ""), ci64(r, p->features), ""),
                                    ci64(r, j), "");
    LLVMValueRef s = LLVMBuildLoad2(r->b, r->f32, gep(r, r->f32, r->x, idx), "");
    v = LLVMBuildInsertElement(r->b, v, s, ci32(r, i), "");
  }
  return v;
}

/* base[(row0 + i) * stride + j] = lane i of v. */
static void store_lanes(R *r, LLVMTypeRef elt, LLVMValueRef base, int64_t stride, int64_t j, LLVMValueRef v) {
  for (int i = 0; i < r->V; i++) {
    LLVMValueRef idx = LLVMBuildAdd(r->b, LLVMBuildMul(r->b, LLVMBuildAdd(r->b, r->row0, ci64(r, i), ""), ci64(r, stride), ""),
                                    ci64(r, j), "");
    LLVMBuildStore(r->b, LLVMBuildExtractElement(r->b, v, ci32(r, i), ""), gep(r, elt, base, idx));
  }
}

/* round(a / 2^sh) half to even, or floor; sh > 0. */
static LLVMValueRef rshift(R *r, LLVMValueRef a, int sh, bool floor_) {
  LLVMValueRef q = LLVMBuildAShr(r->b, a, vint(r, sh), "");
  if (floor_) return q;
  LLVMValueRef t = LLVMBuildAdd(r->b, a, vint(r, (INT64_C(1) << (sh - 1)) - 1), "");
  t = LLVMBuildAdd(r->b, t, LLVMBuildAnd(r->b, q, vint(r, 1), ""), "");
  return LLVMBuildAShr(r->b, t, vint(r, sh), "");
}

/* clamp(a << k) without shifting values that leave [lo, hi]. */
static LLVMValueRef lshift_clamp(R *r, LLVMValueRef a, int k, int64_t lo, int64_t hi) {
  int64_t m = INT64_C(1) << k;
  int64_t hmax = hi >= 0 ? hi / m : -((-hi + m - 1) / m), lmin = lo >= 0 ? (lo + m - 1) / m : -((-lo) / m);
  LLVMValueRef y = LLVMBuildShl(r->b, a, vint(r, k), "");
  y = LLVMBuildSelect(r->b, LLVMBuildICmp(r->b, LLVMIntSGT, a, vint(r, fit(r, hmax)), ""), vint(r, fit(r, hi)), y, "");
  return LLVMBuildSelect(r->b, LLVMBuildICmp(r->b, LLVMIntSLT, a, vint(r, fit(r, lmin)), ""), vint(r, fit(r, lo)), y, "");
}

static LLVMValueRef vmul_const(R *r, LLVMValueRef a, int64_t w) {
  if (w == 1) return a;
  if (w == -1) return LLVMBuildNeg(r->b, a, "");
  return LLVMBuildMul(r->b, a, vint(r, w), "");
}

/* A private constant array of n lane integers. */
static LLVMValueRef const_array(R *r, const int64_t *v, int64_t n) {
  LLVMValueRef *e = ir_malloc(sizeof(LLVMValueRef) * (size_t)(n ? n : 1));
  if (!e) return NULL;
  for (int64_t i = 0; i < n; i++) e[i] = LLVMConstInt(r->it, (unsigned long long)v[i], 1);
  LLVMTypeRef at = LLVMArrayType(r->it, (unsigned)n);
  LLVMValueRef g = LLVMAddGlobal(r->mod, at, "");
  LLVMSetInitializer(g, LLVMConstArray(r->it, e, (unsigned)n));
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  ir_free(e);
  return LLVMBuildBitCast(r->b, g, LLVMPointerType(r->it, 0), "");
}

static LLVMValueRef splat(R *r, LLVMValueRef s) {
  LLVMValueRef u = LLVMBuildInsertElement(r->b, LLVMGetUndef(r->vt), s, ci32(r, 0), "");
  return LLVMBuildShuffleVector(r->b, u, LLVMGetUndef(r->vt), LLVMConstNull(LLVMVectorType(r->i32, (unsigned)r->V)), "");
}

/* A wide matvec as a loop over its outputs: each iteration is the K multiply-adds of one
 * output with its weights read from a constant array, so the module grows with K, not O*K
 * (compile time).  The outputs go through a stack array and are loaded back as values. */
static bool matvec_loop(R *r, const IpStep *s, LLVMValueRef *y, LLVMValueRef *a) {
  const IntProg *p = r->p;
  int O = p->vals[s->dst].n, K = s->nin;
  LLVMValueRef W = const_array(r, p->consts + s->w, (int64_t)O * K);
  LLVMValueRef B = s->c >= 0 ? const_array(r, p->consts + s->c, O) : NULL;
  if (!W || (s->c >= 0 && !B)) return false;
  LLVMValueRef arr = LLVMBuildArrayAlloca(r->eb, r->vt, ci64(r, O), "");
  LLVMSetAlignment(arr, 64);
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(r->b);
  LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(r->ctx, r->fn, "mv");
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(r->ctx, r->fn, "mvbody");
  LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(r->ctx, r->fn, "mvexit");
  LLVMBuildBr(r->b, head);
  LLVMPositionBuilderAtEnd(r->b, head);
  LLVMValueRef o = LLVMBuildPhi(r->b, r->i64, "o");
  LLVMBuildCondBr(r->b, LLVMBuildICmp(r->b, LLVMIntSLT, o, ci64(r, O), ""), body, exit);
  LLVMPositionBuilderAtEnd(r->b, body);
  LLVMValueRef acc = B ? splat(r, LLVMBuildLoad2(r->b, r->it, gep(r, r->it, B, o), "")) : vint(r, 0);
  LLVMValueRef row = LLVMBuildMul(r->b, o, ci64(r, K), "");
  for (int k = 0; k < K; k++) {
    LLVMValueRef w = LLVMBuildLoad2(r->b, r->it, gep(r, r->it, W, LLVMBuildAdd(r->b, row, ci64(r, k), "")), "");
    acc = LLVMBuildAdd(r->b, acc, LLVMBuildMul(r->b, a[k], splat(r, w), ""), "");
  }
  LLVMBuildStore(r->b, acc, gep(r, r->vt, arr, o));
  LLVMValueRef next = LLVMBuildAdd(r->b, o, ci64(r, 1), "");
  LLVMBuildBr(r->b, head);
  LLVMValueRef inc[2] = {ci64(r, 0), next};
  LLVMBasicBlockRef from[2] = {pre, body};
  LLVMAddIncoming(o, inc, from, 2);
  LLVMPositionBuilderAtEnd(r->b, exit);
  for (int j = 0; j < O; j++) y[j] = LLVMBuildLoad2(r->b, r->vt, gep(r, r->vt, arr, ci64(r, j)), "");
  return true;
}

/* matvecs with more multiply-adds than this become loops over their outputs */
enum { UNROLL_MAX = 256 };

static bool render_step(R *r, const IpStep *s) {
  const IntProg *p = r->p;
  const int64_t *K = p->consts;
  int n = p->vals[s->dst].n;
  LLVMValueRef *y = r->reg[s->dst], *a = s->a >= 0 ? r->reg[s->a] : NULL, *b = s->b >= 0 ? r->reg[s->b] : NULL;
  if (s->kind == IP_MATVEC && (int64_t)n * s->nin > UNROLL_MAX) return matvec_loop(r, s, y, a);
  for (int j = 0; j < n; j++) {
    LLVMValueRef v = NULL;
    switch (s->kind) {
    case IP_QUANT: {
      LLVMValueRef xf = LLVMBuildFPExt(r->b, load_feature(r, j), r->vd, "");
      LLVMValueRef t = LLVMBuildFMul(r->b, xf, vdbl(r, ldexp(1, s->sh)), "");
      t = intrinsic(r, s->floor ? "llvm.floor" : "llvm.rint", r->vd, &t, 1);
      LLVMValueRef mm[2] = {t, vdbl(r, (double)s->lo)};
      t = intrinsic(r, "llvm.maxnum", r->vd, mm, 2);
      mm[0] = t;
      mm[1] = vdbl(r, (double)s->hi);
      t = intrinsic(r, "llvm.minnum", r->vd, mm, 2);
      LLVMValueRef nan = LLVMBuildFCmp(r->b, LLVMRealUNO, xf, xf, "");
      t = LLVMBuildSelect(r->b, nan, vdbl(r, 0), t, "");
      v = LLVMBuildFPToSI(r->b, t, r->vt, "");
      break;
    }
    case IP_MATVEC: {
      v = vint(r, s->c >= 0 ? K[s->c + j] : 0);
      const int64_t *w = K + s->w + (int64_t)j * s->nin;
      for (int k = 0; k < s->nin; k++)
        if (w[k]) v = LLVMBuildAdd(r->b, v, vmul_const(r, a[k], w[k]), "");
      break;
    }
    case IP_SCALE:
      v = LLVMBuildAdd(r->b, vmul_const(r, a[j], K[s->w + j]), vint(r, K[s->c + j]), "");
      break;
    case IP_REQUANT:
      if (s->sh > 0) v = clampv(r, rshift(r, a[j], s->sh, s->floor), s->lo, s->hi);
      else if (s->sh < 0) v = lshift_clamp(r, a[j], -s->sh, s->lo, s->hi);
      else v = clampv(r, a[j], s->lo, s->hi);
      break;
    case IP_RELU: v = smax(r, a[j], vint(r, 0)); break;
    case IP_ADD:
    case IP_SUB: {
      LLVMValueRef x = s->sa ? LLVMBuildShl(r->b, a[j], vint(r, s->sa), "") : a[j];
      LLVMValueRef z = s->sb ? LLVMBuildShl(r->b, b[j], vint(r, s->sb), "") : b[j];
      v = s->kind == IP_ADD ? LLVMBuildAdd(r->b, x, z, "") : LLVMBuildSub(r->b, x, z, "");
      break;
    }
    case IP_MUL: v = LLVMBuildMul(r->b, a[j], b[j], ""); break;
    }
    y[j] = v;
  }
  return true;
}

static bool render_block(R *r) {
  const IntProg *p = r->p;
  for (int i = 0; i < p->nsteps; i++)
    if (!render_step(r, &p->steps[i])) return false;
  const IpVal *ov = &p->vals[p->out];
  for (int j = 0; j < ov->n; j++) {
    LLVMValueRef d = LLVMBuildSIToFP(r->b, r->reg[p->out][j], r->vd, "");
    d = LLVMBuildFMul(r->b, d, vdbl(r, ldexp(1, -ov->frac)), "");
    store_lanes(r, r->f32, r->logits, p->classes, j, LLVMBuildFPTrunc(r->b, d, r->vf, ""));
  }
  if (!r->trace) return true;
  /* the block's trace, feature-major: one vector store per traced feature */
  for (int k = 0; k < p->nnodes; k++) {
    const IpNode *nd = &p->nodes[k];
    for (int j = 0; j < p->vals[nd->val].n; j++) {
      LLVMValueRef c = r->reg[nd->val][j];
      if (r->it != r->i64) c = LLVMBuildSExt(r->b, c, r->v64, "");
      LLVMValueRef at = gep(r, r->i64, r->tblock, ci64(r, (nd->off + j) * r->V));
      LLVMValueRef st = LLVMBuildStore(r->b, c, LLVMBuildBitCast(r->b, at, LLVMPointerType(r->v64, 0), ""));
      LLVMSetAlignment(st, 8);
    }
  }
  return true;
}

static bool render(R *r) {
  LLVMTypeRef i8p = LLVMPointerType(r->i8, 0);
  LLVMTypeRef ft = LLVMFunctionType(LLVMVoidTypeInContext(r->ctx), &i8p, 1, 0);
  r->fn = LLVMAddFunction(r->mod, "jscc_int", ft);
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(r->ctx, r->fn, "entry");
  LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(r->ctx, r->fn, "loop");
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(r->ctx, r->fn, "body");
  LLVMBasicBlockRef exit = LLVMAppendBasicBlockInContext(r->ctx, r->fn, "exit");
  LLVMPositionBuilderAtEnd(r->b, entry);
  /* IpArgs: x, logits, trace (pointers), n (i64), each 8 bytes */
  LLVMValueRef args = LLVMGetParam(r->fn, 0), f[4];
  LLVMTypeRef ty[4] = {LLVMPointerType(r->f32, 0), LLVMPointerType(r->f32, 0), LLVMPointerType(r->i64, 0), r->i64};
  for (int k = 0; k < 4; k++) {
    LLVMValueRef at = gep(r, r->i8, args, ci64(r, 8 * k));
    f[k] = LLVMBuildLoad2(r->b, ty[k], LLVMBuildBitCast(r->b, at, LLVMPointerType(ty[k], 0), ""), "");
  }
  r->x = f[0], r->logits = f[1], r->tr = f[2], r->n = f[3];
  r->eb = LLVMCreateBuilderInContext(r->ctx);
  LLVMPositionBuilderBefore(r->eb, LLVMGetFirstInstruction(entry));
  LLVMBuildBr(r->b, head);
  LLVMPositionBuilderAtEnd(r->b, head);
  LLVMValueRef row = LLVMBuildPhi(r->b, r->i64, "row");
  LLVMBuildCondBr(r->b, LLVMBuildICmp(r->b, LLVMIntSLT, row, r->n, ""), body, exit);
  LLVMPositionBuilderAtEnd(r->b, body);
  r->row0 = row;
  /* traced: block b's codes at trace[b * trace_width * V], [trace_width][V] */
  r->tblock = gep(r, r->i64, r->tr, LLVMBuildMul(r->b, row, ci64(r, r->p->trace_width), ""));
  bool ok = render_block(r);
  LLVMValueRef next = LLVMBuildAdd(r->b, row, ci64(r, r->V), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(r->b);
  LLVMBuildBr(r->b, head);
  LLVMValueRef inc[2] = {ci64(r, 0), next};
  LLVMBasicBlockRef from[2] = {entry, latch};
  LLVMAddIncoming(row, inc, from, 2);
  LLVMPositionBuilderAtEnd(r->b, exit);
  LLVMBuildRetVoid(r->b);
  LLVMDisposeBuilder(r->eb);
  return ok;
}

Status cg_int_compile(const IntProg *p, bool trace, const char *cache_dir, const CgTuning *tuning, IpKernel **out,
                      StrBuf *llvm_text, Diag *d) {
  *out = NULL;
  cg_llvm_init();
  R r = {.p = p, .trace = trace, .V = cg_host_vec()};
  int tvec = tuning ? tuning->vec : 0; /* as plan.c: a pinned vector width, for experiments */
  if (tvec == 4 || tvec == 8 || tvec == 16 || tvec == 32) r.V = tvec;
  LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
  r.ctx = LLVMOrcThreadSafeContextGetContext(tsc);
  r.mod = LLVMModuleCreateWithNameInContext(p->model, r.ctx);
  r.b = LLVMCreateBuilderInContext(r.ctx);
  r.i1 = LLVMInt1TypeInContext(r.ctx);
  r.i8 = LLVMInt8TypeInContext(r.ctx);
  r.i32 = LLVMInt32TypeInContext(r.ctx);
  r.i64 = LLVMInt64TypeInContext(r.ctx);
  r.f32 = LLVMFloatTypeInContext(r.ctx);
  r.f64 = LLVMDoubleTypeInContext(r.ctx);
  r.it = p->i32 ? r.i32 : r.i64;
  r.vt = LLVMVectorType(r.it, (unsigned)r.V);
  r.vd = LLVMVectorType(r.f64, (unsigned)r.V);
  r.vf = LLVMVectorType(r.f32, (unsigned)r.V);
  r.v64 = LLVMVectorType(r.i64, (unsigned)r.V);
  Status st = JS_OK;
  r.reg = ir_calloc((size_t)p->nvals + 1, sizeof(LLVMValueRef *));
  for (int i = 0; r.reg && i < p->nvals; i++)
    if (!(r.reg[i] = ir_calloc((size_t)p->vals[i].n, sizeof(LLVMValueRef)))) {
      for (int k = 0; k < i; k++) ir_free(r.reg[k]);
      ir_free(r.reg);
      r.reg = NULL;
    }
  if (!r.reg) {
    LLVMDisposeBuilder(r.b);
    LLVMDisposeModule(r.mod);
    LLVMOrcDisposeThreadSafeContext(tsc);
    return diag_oom(d);
  }
  bool rendered = render(&r);
  for (int i = 0; i < p->nvals; i++) ir_free(r.reg[i]);
  ir_free(r.reg);
  LLVMDisposeBuilder(r.b);
  if (!rendered) {
    LLVMDisposeModule(r.mod);
    LLVMOrcDisposeThreadSafeContext(tsc);
    return diag_oom(d);
  }

  if ((st = cg_llvm_set_host(r.mod, d))) {
    LLVMDisposeModule(r.mod);
    LLVMOrcDisposeThreadSafeContext(tsc);
    return st;
  }
  /* machine code for the host CPU at LLVM's default (O2) level */
  CgJitJob job = {.pipeline = IP_PIPELINE, .unroll_slp = true, .codegen_level = LLVMCodeGenLevelDefault,
                  .sym = "jscc_int", .who = "integer kernel", .cache_dir = cache_dir, .llvm_text = llvm_text};
  CgJitResult jr;
  if ((st = cg_llvm_jit_build(&job, r.mod, tsc, &jr, d))) return st;
  IpKernel *k = ir_malloc(sizeof *k);
  if (!k) {
    LLVMOrcDisposeLLJIT(jr.jit);
    return diag_oom(d);
  }
  k->jit = jr.jit;
  k->fn = (void (*)(IpArgs *))(uintptr_t)jr.addr;
  k->vec = r.V;
  *out = k;
  return JS_OK;
}

void cg_int_kernel_run(const IpKernel *k, IpArgs *a) { k->fn(a); }
int cg_int_kernel_vec(const IpKernel *k) { return k->vec; }

void cg_int_kernel_free(IpKernel *k) {
  if (!k) return;
  LLVMOrcDisposeLLJIT(k->jit);
  ir_free(k);
}

#else /* no LLVM */

struct IpKernel {
  int unused;
};
Status cg_int_compile(const IntProg *p, bool trace, const char *cache_dir, const CgTuning *tuning, IpKernel **out,
                      StrBuf *llvm_text, Diag *d) {
  (void)p, (void)trace, (void)cache_dir, (void)tuning, (void)llvm_text;
  *out = NULL;
  return diag_error(d, (SrcLoc){0},
                    "codegen: the integer JIT needs LLVM and jscc was built without it (meson -Dllvm=disabled); the plain C "
                    "integer executor still runs");
}
void cg_int_kernel_run(const IpKernel *k, IpArgs *a) { (void)k, (void)a; }
int cg_int_kernel_vec(const IpKernel *k) { (void)k; return 1; }
void cg_int_kernel_free(IpKernel *k) { (void)k; }

#endif
