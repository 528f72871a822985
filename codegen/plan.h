/* codegen/plan.h — the fusion plan, shared by the renderers (llvm.c; the CUDA renderer).
 *
 * A plan is a list of stages.  A stage is an optional list of point operations (run once:
 * batch statistics, coefficient vectors) followed by a row loop: the same straight-line
 * program applied to every row of the batch.  Values inside a row program are vectors of
 * `n` floats per row (register-resident: the CPU renderer holds `vec` rows per register).
 * A value needed by a later stage is stored to a scratch row buffer [n][bpad] and loaded
 * there; a reduction over the batch (a gradient, a BatchNorm sum) is an accumulator that the
 * row loop adds to and the stage's end reduces.  Stages exist only where the math needs a
 * whole-batch result before the next row can go on (BatchNorm's batch statistics, forward
 * and backward), so a model without training-mode BatchNorm is one pass over the batch.
 * After the last stage come the post operations: the optimizer update and the metrics.
 *
 * Conv1d: a [B, C, L] value is a row of C*L features (channel-major, as PyTorch stores it).
 * A convolution is linear in its input, so it is an I_AFFINE by its Toeplitz matrix
 * T [Cout*Lout][Cin*L] (PT_GATHER spreads the weight into T once per step); its input
 * gradient is the I_AFFINE by T transposed, its weight gradient the I_OUTER of the output
 * gradient and the input (the gradient of T) folded back onto the weight by PT_FOLD.  For the
 * small convolutions of jet-tagging models (T of a few thousand entries) this keeps both
 * renderers' existing, vectorised row instructions; a direct sliding-window instruction
 * would do fewer multiplications by zero on long signals. */
#ifndef JSCC_CODEGEN_PLAN_H
#define JSCC_CODEGEN_PLAN_H

#include "codegen.h"

/* Row values wider than this many features live in scratch (CgPlan.voff), one block of `vec`
 * rows at a time, rather than in the kernel's stack frame: 65536 features of 16 rows are 4 MB,
 * which no thread's stack holds.  Narrower ones stay in registers or a stack array (llvm.c). */
enum { CG_VAL_SCRATCH_MIN = 256 };

/* An operand of an elementwise instruction, read at feature j of the current row. */
typedef enum OpdKind {
  OPD_NONE,
  OPD_VAL,    /* row value `id`; a value of length 1 broadcasts over j */
  OPD_PARAM,  /* params[id + j] (a 1-D parameter or buffer) */
  OPD_STAT,   /* scratch[stat id + j] (a vector a point operation or accumulator wrote) */
  OPD_CONST,  /* c */
  OPD_VALID,  /* valid[row]: 1 for real rows, 0 for padding */
  OPD_WROW,   /* valid[row] / n: a row's weight in a batch mean */
  OPD_INVN,   /* 1 / n */
} OpdKind;

typedef struct Opd {
  OpdKind kind;
  int64_t id;  /* value id, parameter offset or stat offset */
  float c;     /* OPD_CONST */
  bool scalar; /* OPD_PARAM/OPD_STAT: one element, the same for every j */
} Opd;

typedef enum EwOp {
  EW_ADD, EW_SUB, EW_MUL, EW_DIV, EW_NEG, EW_EXP, EW_LOG,
  EW_MAX,         /* max(a, b), NaN when either is NaN (torch.maximum) */
  EW_MIN,         /* min(a, b), likewise */
  EW_SEL,         /* a > 0 ? b : c3 (a NaN selects c3) */
  /* The activations are not instructions: the plan builds them from these primitives with
   * the formulas of ir/ew.def. */
  EW_DROPOUT,     /* a * keep(key, row * n + j) / (1 - c)  */
  EW_ONEHOT,      /* target[row] == j ? 1 : 0 */
  EW_FMA,         /* a * b + c3 (third operand in `c3`) */
  EW_QUANT,       /* the quantizer Inst.qf of a (ir_quant_tensor over the row: elementwise kinds and
                     block_fp, whose blocks run along the row's features) */
} EwOp;

typedef enum InstKind {
  I_LOAD,    /* dst = rows buffer `buf` */
  I_LOADX,   /* dst = the input batch x */
  I_STORE,   /* rows buffer `buf` = a */
  I_EW,      /* dst[j] = ew(a[j], b[j], c3[j]) */
  I_AFFINE,  /* dst[o] = bias[o] + sum_k a[k] * params[w + o*so + k*sk]  (bias < 0: none) */
  I_ACC,     /* acc[j] += a[j] */
  I_OUTER,   /* acc[o * nb + k] += a[o] * b[k] */
  I_RMAX,    /* dst[0] = max_j a[j] */
  I_RSUM,    /* dst[0] = sum_j a[j] */
  I_PICK,    /* dst[0] = a[target[row]] */
  I_ARGEQ,   /* dst[0] = argmax_j a[j] == target[row] (first maximum, as torch.argmax) */
  I_LOGITS,  /* logits[row][j] = a[j] */
} InstKind;

typedef struct Inst {
  InstKind kind;
  EwOp ew;        /* I_EW */
  int dst;        /* value id (I_LOAD/I_LOADX/I_EW/I_AFFINE/I_RMAX/I_RSUM/I_PICK/I_ARGEQ) */
  int n;          /* length of dst (or of a for I_ACC/I_STORE/I_OUTER's first factor) */
  Opd a, b, c3;   /* operands */
  int buf;        /* I_LOAD/I_STORE: row buffer id */
  int acc;        /* I_ACC/I_OUTER: accumulator id */
  int nb;         /* I_OUTER: length of b; I_AFFINE: length of a */
  int64_t w, so, sk, bias; /* I_AFFINE */
  float c;        /* EW_DROPOUT p */
  uint32_t key;   /* EW_DROPOUT: the forward node's stream */
  bool wstat, bstat; /* I_AFFINE: weights / bias read from scratch (a quantized copy), not params */
  QFmt qf;        /* EW_QUANT */
} Inst;

/* Point operations (once per step, between row loops). */
typedef enum PointKind {
  PT_COPY,        /* stat[dst .. +n] = params[src .. +n] */
  PT_BN_TRAIN,    /* from sums of (x - K) and (x - K)^2 (stats s1, s2 hold doubles; K = stat k): mean, invstd
                     into stats dst_mean / dst_invstd; running stats updated with momentum */
  PT_BN_EVAL,     /* scale = w * rsqrt(rv + eps), shift = b - rm * scale into stats */
  PT_OPTIM,       /* the optimizer on params[off .. +n] with grads[off .. +n] */
  PT_QUANT,       /* stat[dst .. +n] = Q_qf(params or stat (src_stat) [src .. +n]) */
  PT_BN_FOLD,     /* stat scale[j] = w[j] * invstd[j], shift[j] = b[j] - mean[j] * scale[j] (dst: scale,
                     src: shift; w, b parameter offsets or -1) */
  PT_GATHER,      /* stat[dst + e] = t >= 0 ? (stat if src_stat else params)[src + t] : 0 with t = tabs[tab + e],
                     e < n: a Conv1d weight spread into its Toeplitz matrix, a bias repeated along the length */
  PT_FOLD,        /* grads[dst + i] = sum_{k = tabs[tab + i]}^{tabs[tab + i + 1] - 1} stat[src + tabs[tab + n + 1 + k]],
                     i < n (the sums in a fixed order): the transpose of a gather, folding a Toeplitz matrix's
                     gradient back onto the weight (before the optimizer) */
} PointKind;

typedef struct Point {
  PointKind kind;
  int n;
  int64_t dst, src;          /* PT_COPY */
  int64_t s1, s2, k;         /* PT_BN_TRAIN: stat offsets */
  int64_t mean, invstd;      /* PT_BN_TRAIN: outputs; PT_BN_EVAL: scale, shift */
  int64_t w, b, rm, rv;      /* parameter offsets (-1: none) */
  int nbt;                   /* PT_BN_TRAIN: param index of num_batches_tracked (-1: none) */
  double eps, momentum;      /* momentum < 0: None (cumulative average) */
  int64_t off;               /* PT_OPTIM */
  bool src_stat;             /* PT_QUANT: src is a stat offset */
  QFmt qf;                   /* PT_QUANT */
  int64_t row;               /* PT_QUANT: the source's last dim (block_fp's blocks run along it) */
  int64_t tab;               /* PT_GATHER/PT_FOLD: offset of its index table in CgPlan.tabs */
} Point;

/* Where an accumulator's total goes when its stage ends. */
typedef enum AccDest { ACC_STAT, ACC_GRAD, ACC_METRIC } AccDest;
typedef struct Acc {
  int n;
  bool f64;        /* lanes and total in double (BatchNorm's sums: the variance is a difference
                      of two of them, so float accumulation would cancel); the total is stored
                      as n doubles at a stat offset */
  AccDest dest;
  int64_t off;     /* stat offset, grad offset or metric index */
  int stage;
} Acc;

typedef struct Stage {
  Point *pre;     /* run before the row loop */
  int npre, cappre;
  Inst *insts;    /* the row program */
  int ninsts, capinsts;
} Stage;

struct CgPlan {
  CgOptions o;
  int vec;               /* rows per vector */
  int64_t bpad;          /* batch rounded up to vec */
  int features;          /* input row length */
  int classes;           /* logits row length */
  Stage *stages;
  int nstages;
  Point *post;           /* after the last stage: optimizer */
  int npost, cappost;
  Acc *accs;
  int naccs, capaccs;
  int *vlen;             /* [nvals] length of each row value */
  int nvals, capvals;
  int *blen;             /* [nbufs] length of each row buffer */
  int64_t *boff;         /* [nbufs] scratch offset of each row buffer */
  int nbufs, capbufs;
  int64_t *aoff;         /* [naccs] scratch offset of each accumulator's lanes (n * vec floats) */
  int64_t *voff;         /* [nvals] scratch offset of a row value wider than CG_VAL_SCRATCH_MIN (its n
                            vectors of the current block of vec rows), else -1 */
  int64_t nstat;         /* stat floats (scratch offsets 0 .. nstat) */
  size_t scratch;        /* total scratch floats */
  int64_t flops_row;     /* arithmetic per row */
  int nparams;           /* graph parameters (i64 array length) */
  int *obs_buf;          /* [o.nobserve] row buffer of each observed node (-2: the input x) */
  int *obs_len;          /* [o.nobserve] its features */
  int32_t *tabs;         /* [ntabs] the index tables of PT_GATHER / PT_FOLD (constants of the kernel) */
  int64_t ntabs, captabs;
  const char *model;     /* graph name */
};

#endif
