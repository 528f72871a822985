/* codegen/llvm_jit.h — what the two LLVM renderers share (llvm.c defines it; intllvm.c uses
 * it).  Internal to codegen/: it includes the LLVM-C headers, which ir/ and the public
 * codegen.h never do. */
#ifndef JSCC_CODEGEN_LLVM_JIT_H
#define JSCC_CODEGEN_LLVM_JIT_H

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>

#include "ir.h"

/* The host's target and assembly printer, registered once per process (thread-safe): every
 * renderer calls it before building a module. */
void cg_llvm_init(void);
/* "codegen: <who>: <what> failed: <LLVM's message>" (consumes e). */
Status cg_llvm_err(Diag *d, const char *who, const char *what, LLVMErrorRef e);
/* Sets the host's triple and data layout on mod, and its CPU and features on every defined
 * function, so that the module's text says what it is compiled for (and so keys the cache). */
Status cg_llvm_set_host(LLVMModuleRef mod, Diag *d);

/* How a rendered module becomes a kernel. */
typedef struct CgJitJob {
  const char *pipeline;     /* the IR pipeline (a new-pass-manager string) */
  bool unroll_slp;          /* keep the pass builder's loop unrolling and SLP defaults (false: both off) */
  int codegen_level;        /* machine code generation level, 0-3 */
  const char *sym;          /* the entry point to look up */
  const char *who;          /* for messages: NULL or "integer kernel" */
  const char *cache_dir;    /* the jscc cache directory (objects under kernels/); NULL: no disk cache */
  StrBuf *llvm_text;        /* receives the optimised module, or NULL; set, the cache is written but
                               not read (a cached object has no module) */
  void (*before_compile)(void *ud); /* called when a compile starts (a cache miss), or NULL */
  void *before_ud;
} CgJitJob;

typedef struct CgJitResult {
  LLVMOrcLLJITRef jit;              /* owns the kernel's code */
  LLVMOrcExecutorAddress addr;      /* of job.sym */
  bool cache_hit;                   /* linked from the disk cache: nothing was compiled */
  double passes_ms, jit_ms, codegen_ms; /* phases, for CgTuning.llvm_timing: the key and the IR passes,
                                           creating the JIT, machine code (a hit: the key and the load
                                           are all in codegen_ms) */
} CgJitResult;

/* Verifies, optimises and compiles mod (owned from here on, with tsc) with ORC LLJIT, or, with a
 * cache directory, links the object a previous run stored for the same key (kcache.c) and
 * on a miss compiles through an object file that it stores.  A cache that cannot be read
 * is a miss, one that cannot be written a warning in d. */
Status cg_llvm_jit_build(const CgJitJob *j, LLVMModuleRef mod, LLVMOrcThreadSafeContextRef tsc, CgJitResult *out,
                         Diag *d);

#endif
