/* codegen/kcache.h — the on-disk cache of compiled CPU kernels (kcache.c), internal to
 * codegen/: llvm.c keys, reads and writes it for both LLVM renderers. */
#ifndef JSCC_CODEGEN_KCACHE_H
#define JSCC_CODEGEN_KCACHE_H

#include "ir.h"

/* Everything that decides a kernel's machine code (kcache.c says why each is there). */
typedef struct CgKeyParts {
  const void *module;       /* the module before optimisation, with its triple and attributes, as */
  size_t module_bytes;      /* bitcode */
  const char *pipeline;     /* the IR pass pipeline */
  bool unroll_slp;          /* the pass builder's loop unrolling and SLP vectorisation */
  int codegen_level;        /* machine code generation level, 0-3 */
  const char *triple, *cpu, *features; /* the target machine */
  const char *llvm_version; /* LLVM_VERSION_STRING */
} CgKeyParts;
void cg_kcache_key(const CgKeyParts *k, uint8_t key[32]);
/* <dir>/kernels/<64 hex digits>.o; false when it does not fit. */
bool cg_kcache_path(const char *dir, const uint8_t key[32], char *buf, size_t cap);
/* The object stored for key (*obj ir_malloc'd, the caller frees it); false for a missing,
 * unreadable, truncated, corrupted or foreign file. */
bool cg_kcache_read(const char *path, const uint8_t key[32], void **obj, size_t *len);
/* Stores obj for key atomically; a failure is a warning in d, never an error. */
void cg_kcache_write(const char *dir, const uint8_t key[32], const void *obj, size_t len, Diag *d);

#endif
