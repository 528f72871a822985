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

/* "codegen: <who>: <what> failed: <LLVM's message>" (consumes e). */
Status cg_llvm_err(Diag *d, const char *who, const char *what, LLVMErrorRef e);
/* Adds mod (owned from here on, with tsc) to jit and looks `sym` up, which compiles the
 * module; on failure jit is disposed of and the error reported. */
Status cg_llvm_jit_add(LLVMOrcLLJITRef jit, LLVMModuleRef mod, LLVMOrcThreadSafeContextRef tsc, const char *sym,
                       LLVMOrcExecutorAddress *addr, const char *who, Diag *d);

#endif
