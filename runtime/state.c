/* runtime/state.c — being written. */
#include "runtime.h"
