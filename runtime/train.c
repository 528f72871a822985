/* runtime/train.c — being written. */
#include "runtime.h"
