/* runtime/interp.c — being written. */
#include "runtime.h"
