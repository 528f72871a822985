/* runtime/interp.h — the plain C reference executor (being written). */
#ifndef JSCC_RUNTIME_INTERP_H
#define JSCC_RUNTIME_INTERP_H
#endif
