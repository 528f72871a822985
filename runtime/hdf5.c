/* runtime/hdf5.c — being written. */
#include "runtime.h"
