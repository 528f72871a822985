/* runtime/ckpt.c — being written. */
#include "runtime.h"
