/* runtime/optim.c — being written. */
#include "runtime.h"
