/* codegen/llvm.c — being written. */
#include "ir.h"
