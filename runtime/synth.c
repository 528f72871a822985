/* runtime/synth.c — being written. */
#include "runtime.h"
