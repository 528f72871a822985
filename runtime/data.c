/* runtime/data.c — being written. */
#include "runtime.h"
