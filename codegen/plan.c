/* codegen/plan.c — being written. */
#include "ir.h"
