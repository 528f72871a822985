/* codegen/intprog.h — integer-only inference: a quantized forward graph lowered to an integer
 * program (intprog.c), and that program rendered as an LLVM module and JIT-compiled
 * (intllvm.c).  The plain C executor of the same program is runtime/intexec.c.
 *
 * An integer program is a straight-line program over one row: every value is a vector of
 * integer codes with a binary point (value = code * 2^-frac).  The one float->int step
 * quantizes the input row; the logits are dequantized at the end.  The semantics of every
 * step, and why the result is bit-exact with the fake-quant reference executor, are written
 * at the top of intprog.c.  Like codegen.h, nothing here reads the runtime: parameter values
 * come through a callback. */
#ifndef JSCC_CODEGEN_INTPROG_H
#define JSCC_CODEGEN_INTPROG_H

#include "codegen.h"

/* ==== intprog.c: lowering ==== */

typedef enum IpKind {
  IP_QUANT,   /* dst[j] = clamp(round(x[j] * 2^frac), lo, hi): the float input row to codes */
  IP_MATVEC,  /* dst[o] = B[o] + sum_k a[k] * W[o * nin + k]   (W, B: codes in IntProg.consts) */
  IP_SCALE,   /* dst[j] = a[j] * S[j] + T[j]                 (folded batch_norm1d; a parameter operand of add, sub, mul) */
  IP_REQUANT, /* dst[j] = clamp(shift(a[j], sh), lo, hi): sh > 0 a rounding right shift,
                 sh < 0 a left shift, sh == 0 the clamp alone */
  IP_RELU,    /* dst[j] = max(a[j], 0) */
  IP_ADD,     /* dst[j] = (a[j] << sa) + (b[j] << sb) */
  IP_SUB,     /* dst[j] = (a[j] << sa) - (b[j] << sb) */
  IP_MUL,     /* dst[j] = a[j] * b[j] */
} IpKind;
const char *cg_int_kind_name(IpKind k); /* "quant", "matvec", ... */

/* One value of the row program: n codes at the binary point 2^-frac. */
typedef struct IpVal {
  int n;              /* features */
  int frac;           /* value = code * 2^-frac */
  double lo, hi;      /* worst-case bounds of every code (from the formats and the weight codes);
                         exact integers below 2^53 */
  const Node *node;   /* the node whose result this is, or NULL for a step inside a node */
} IpVal;

/* One step.  Operands are value ids; constants are offsets into IntProg.consts. */
typedef struct IpStep {
  IpKind kind;
  int dst, a, b;      /* b: second operand of add/sub/mul, else -1 */
  const Node *node;   /* the node it belongs to (messages, the dump) */
  int nin;            /* IP_MATVEC: length of a */
  int64_t w, c;       /* IP_MATVEC: W, B; IP_SCALE: S, T (offsets; c -1: no bias) */
  int sh;             /* IP_REQUANT: shift; IP_QUANT: frac */
  int sa, sb;         /* IP_ADD/IP_SUB: left shifts aligning a and b */
  int64_t lo, hi;     /* IP_QUANT/IP_REQUANT: the clamp */
  bool floor;         /* IP_QUANT/IP_REQUANT: round toward -inf instead of half to even */
} IpStep;

/* A node's integer result, for tracing (jscc diff compares them with the reference). */
typedef struct IpNode {
  const Node *node;   /* in graph order */
  int val;            /* its value id */
  int64_t off;        /* its codes' offset in a trace row */
} IpNode;

typedef struct IntProg {
  const char *model;  /* graph name */
  int features;       /* input row length */
  int classes;        /* logits row length */
  IpVal *vals;        /* [nvals] */
  int nvals, capvals;
  IpStep *steps;      /* [nsteps] in order */
  int nsteps, capsteps;
  int64_t *consts;    /* weight, bias, scale and shift codes, already aligned */
  int64_t nconsts, capconsts;
  IpNode *nodes;      /* [nnodes] every node with an integer result, graph order */
  int nnodes, capnodes;
  int64_t trace_width;/* codes per row of a trace: the sum of the traced nodes' features */
  int out;            /* the logits' value id */
  int bits;           /* bits (sign included) of the widest code of the program */
  bool i32;           /* every code, and every intermediate of every step, fits int32 */
  int64_t macs;       /* multiplies per row */
} IntProg;

/* Reads a parameter's or buffer's float values (ir_type_numel of them, row-major), or NULL
 * when it has none loaded (the lowering then reports the parameter). */
typedef const float *(*IpParamFn)(void *ud, const Param *p);

/* Lower g (shaped, forward, evaluation semantics: running statistics, dropout the identity)
 * to an integer program.  Refused, with an error naming the node and the reason: a node
 * between the input and the logits that is not quantized with integer formats (a linear or
 * batch_norm1d without weight and bias formats, the first node without data_in), an op the
 * integer datapath has no exact form for (sigmoid, tanh, softmax, conv1d, matmul, div...),
 * a tensor that is not [B, features], a view or reshape that changes the shape, a parameter
 * anywhere but as an operand of add, sub or mul, a program whose worst-case codes need more
 * than 62 bits. */
Status cg_int_lower(const Graph *g, IpParamFn param, void *ud, IntProg **out, Diag *d);
void cg_int_free(IntProg *p);
/* The program, for people (one line per step with its value's point and bounds). */
void cg_int_print(StrBuf *sb, const IntProg *p);
/* Bits, sign included, of a signed integer type holding every code in [lo, hi]. */
int cg_int_bits(double lo, double hi);

/* One step on one row in int64 (the reference semantics the renderers reproduce): the
 * rounding right shift, half to even or floor, for sh > 0. */
static inline int64_t cg_int_rshift(int64_t a, int sh, bool floor) {
  if (sh <= 0) return a;
  if (sh > 62) sh = 62; /* |a| < 2^61 (cg_int_lower's bound): the result is 0 or -1 either way */
  int64_t q = a >= 0 ? a >> sh : ~(~a >> sh); /* floor(a / 2^sh), without relying on >> of negatives */
  if (floor) return q;
  /* half to even: floor((a + 2^(sh-1) - 1 + lsb(q)) / 2^sh) */
  int64_t t = a + (INT64_C(1) << (sh - 1)) - 1 + (q & 1);
  return t >= 0 ? t >> sh : ~(~t >> sh);
}

/* ==== intllvm.c: render, compile, run (CPU) ==== */

/* The arguments of one call of a compiled program.  n must be a multiple of
 * cg_int_kernel_vec (the runtime pads the last block). */
typedef struct IpArgs {
  const float *x;     /* [n][features] row-major */
  float *logits;      /* [n][classes] row-major */
  int64_t *trace;     /* [n / vec][trace_width][vec] every traced node's codes, feature-major per
                         block of vec rows (one vector store per feature); only for a kernel
                         compiled with trace, else ignored (RtIntExec gives them row-major) */
  int64_t n;          /* rows */
} IpArgs;

typedef struct IpKernel IpKernel;
/* Render p as an LLVM module (vector code over `vec` rows, one vector per feature, 32-bit
 * lanes when p->i32 else 64-bit, constants baked in; a matvec of more than 256 multiply-adds
 * is a loop over its outputs reading a constant weight array), optimise and compile it with
 * ORC LLJIT.
 * trace: also store every traced node's codes.  cache_dir: the jscc cache directory, where the
 * compiled kernel is kept (llvm_jit.h, kcache.c), or NULL.  tuning: its vec pins the rows per
 * block (NULL: the host's).  llvm_text receives the optimised module.
 * Fails with a message when jscc was built without LLVM. */
Status cg_int_compile(const IntProg *p, bool trace, const char *cache_dir, const CgTuning *tuning, IpKernel **out,
                      StrBuf *llvm_text, Diag *d);
void cg_int_kernel_run(const IpKernel *k, IpArgs *a);
int cg_int_kernel_vec(const IpKernel *k); /* rows per block */
void cg_int_kernel_free(IpKernel *k);

#endif
