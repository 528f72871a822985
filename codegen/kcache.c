/* codegen/kcache.c — the on-disk cache of compiled CPU kernels (object files).
 *
 * A second `jscc train` of the same model, or the next run of a sweep, renders the same LLVM
 * module; compiling it again costs 50-300 ms per kernel.  So the object file LLVM made is
 * kept under <cache dir>/kernels/<key>.o and the next run links it into a fresh LLJIT
 * instead.  The key is a SHA-256 of everything that decides the machine code (kcache_key
 * says why each part is there), so a stale or foreign object is never run; the file carries
 * its own key, its length and a SHA-256 of the object, so a truncated, corrupted or renamed
 * file is a miss (compiled again and replaced), never a crash.  Files are written to a
 * temporary name and renamed (sb_write_file), so concurrent runs never read half a file; a
 * file that cannot be written is a warning: the kernel still runs, the next run compiles.
 *
 * No LLVM here: llvm.c computes the parts and does the compiling and linking. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "kcache.h"

/* A new file layout or new compile settings that the key's parts do not show (the relocation
 * and code models, the pass builder options, how the object is emitted) bump this. */
#define KCACHE_TAG "jscc-kernel-1 " JSCC_VERSION
#define KCACHE_MAGIC "JSCCKOBJ"
/* Kernels are a few hundred KB; anything far larger is not one of ours. */
#define KCACHE_MAX_OBJECT ((uint64_t)1 << 30)

typedef struct KHeader {
  char magic[8];            /* KCACHE_MAGIC */
  uint32_t header_bytes;    /* sizeof(KHeader): another layout is another format */
  uint32_t reserved;        /* 0 */
  uint8_t key[32];          /* the key the file was written for: a copied or renamed file is a miss */
  uint64_t object_bytes;    /* the object file that follows the header (the file's length - header) */
  uint8_t object_sha[32];   /* SHA-256 of the object: catches corruption the length does not */
} KHeader;

/* Each part with its length first, so that no two different lists of parts hash the same
 * bytes ("ab","c" against "a","bc"). */
static void put_part(IrSha256 *s, const char *part) {
  uint64_t n = part ? strlen(part) : UINT64_MAX; /* NULL differs from "" */
  ir_sha256_update(s, &n, sizeof n);
  if (part) ir_sha256_update(s, part, (size_t)n);
}

void cg_kcache_key(const CgKeyParts *k, uint8_t key[32]) {
  IrSha256 s;
  ir_sha256_init(&s);
  char num[64];
  /* The module before optimisation: the plan (sizes, offsets, the optimizer's constants) and
   * the renderer's choices (vector width, unrolling), so everything the model decides. */
  uint64_t n = k->module_bytes;
  ir_sha256_update(&s, &n, sizeof n);
  ir_sha256_update(&s, k->module, k->module_bytes);
  /* The IR pipeline and its pass builder options: the same module optimised otherwise is
   * other code. */
  put_part(&s, k->pipeline);
  snprintf(num, sizeof num, "unroll_slp=%d codegen_level=%d", (int)k->unroll_slp, k->codegen_level);
  /* The code generation level changes instruction selection and scheduling. */
  put_part(&s, num);
  /* The target: the triple, the CPU and its features pick the instructions (an AVX-512
   * kernel must not run on an AVX2 machine sharing the cache directory, say over NFS). */
  put_part(&s, k->triple);
  put_part(&s, k->cpu);
  put_part(&s, k->features);
  /* Another LLVM makes other code from the same text, and its objects are linked by that
   * LLVM's JIT. */
  put_part(&s, k->llvm_version);
  /* This build's renderer-independent settings (KCACHE_TAG, with the jscc version). */
  put_part(&s, KCACHE_TAG);
  ir_sha256_final(&s, key);
}

bool cg_kcache_path(const char *dir, const uint8_t key[32], char *buf, size_t cap) {
  char hex[65];
  ir_hex(hex, key, 32);
  int n = snprintf(buf, cap, "%s/kernels/%s.o", dir, hex);
  return n > 0 && (size_t)n < cap;
}

/* The header and the object of an open file; false for anything that is not exactly the
 * file cg_kcache_write makes for this key. */
static bool read_checked(FILE *f, const uint8_t key[32], void **obj, size_t *len) {
  struct stat sb;
  KHeader h;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size <= sizeof h) return false;
  if (fread(&h, sizeof h, 1, f) != 1) return false;
  if (memcmp(h.magic, KCACHE_MAGIC, 8) != 0 || h.header_bytes != sizeof h || h.reserved != 0 ||
      memcmp(h.key, key, 32) != 0 || h.object_bytes != (uint64_t)sb.st_size - sizeof h ||
      h.object_bytes > KCACHE_MAX_OBJECT)
    return false;
  void *p = ir_malloc((size_t)h.object_bytes);
  if (!p) return false;
  uint8_t sha[32];
  if (fread(p, 1, (size_t)h.object_bytes, f) != h.object_bytes ||
      (ir_sha256(p, (size_t)h.object_bytes, sha), memcmp(sha, h.object_sha, 32) != 0)) {
    ir_free(p);
    return false;
  }
  *obj = p;
  *len = (size_t)h.object_bytes;
  return true;
}

bool cg_kcache_read(const char *path, const uint8_t key[32], void **obj, size_t *len) {
  *obj = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  bool ok = read_checked(f, key, obj, len);
  fclose(f);
  return ok;
}

void cg_kcache_write(const char *dir, const uint8_t key[32], const void *obj, size_t len, Diag *d) {
  char sub[PATH_MAX], path[PATH_MAX + 96];
  int n = snprintf(sub, sizeof sub, "%s/kernels", dir);
  if (n <= 0 || (size_t)n >= sizeof sub || !cg_kcache_path(dir, key, path, sizeof path)) {
    diag_warning(d, (SrcLoc){0}, "kernel cache: the directory name %s is too long", dir);
    return;
  }
  KHeader h = {.header_bytes = sizeof h, .object_bytes = len};
  memcpy(h.magic, KCACHE_MAGIC, 8);
  memcpy(h.key, key, 32);
  ir_sha256(obj, len, h.object_sha);
  StrBuf file;
  sb_init(&file);
  sb_putn(&file, (const char *)&h, sizeof h);
  sb_putn(&file, obj, len);
  if (!ir_mkdir_p(sub, 0755))
    diag_warning(d, (SrcLoc){0}, "kernel cache: cannot create %s: %s", sub, strerror(errno));
  else if (sb_write_file(&file, path) != JS_OK)
    diag_warning(d, (SrcLoc){0}, "kernel cache: cannot write %s: %s", path, file.oom ? "out of memory" : strerror(errno));
  sb_free(&file);
}
