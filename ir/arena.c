/* arena.c — bump allocation in chained blocks.
 *
 * A Graph (and an AST) allocates every node, string and array from one arena and frees them
 * all at once, so no pointer inside a graph has an owner of its own. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "ir.h"

typedef struct Block {
  struct Block *next; /* the previously filled block */
  size_t size;        /* usable bytes in data */
  size_t used;        /* bytes handed out */
  _Alignas(16) unsigned char data[];
} Block;

struct Arena {
  Block *head;  /* the block being filled */
  size_t total; /* bytes handed out, for memory reports */
};

#define ARENA_BLOCK (64 * 1024)

Arena *arena_new(void) {
  return ir_calloc(1, sizeof(Arena));
}

void arena_free(Arena *a) {
  if (!a) return;
  for (Block *b = a->head, *next; b; b = next) {
    next = b->next;
    ir_free(b);
  }
  ir_free(a);
}

void *arena_alloc(Arena *a, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (size == 0) size = 16;
  Block *b = a->head;
  if (!b || b->size - b->used < size) {
    /* Large requests get a block of their own, placed behind the current one so the
     * current block keeps filling. */
    /* Blocks grow with the arena (an eighth of what it holds, up to 8 MiB), so a big graph
     * takes few large, already-zero mappings. */
    size_t grow = a->total / 8;
    size_t base = grow < ARENA_BLOCK ? ARENA_BLOCK : grow > (8u << 20) ? (8u << 20) : grow;
    size_t bsize = size > base / 4 ? size : base;
    if (bsize > SIZE_MAX - sizeof(Block)) return NULL;
    Block *nb = ir_calloc(1, sizeof(Block) + bsize);
    if (!nb) return NULL;
#ifdef MADV_HUGEPAGE
    /* Big graphs fill megabytes of arena: transparent huge pages make that a few page faults
     * instead of thousands (the aligned interior of the block only; advice, may be ignored). */
    if (bsize >= (4u << 20)) {
      uintptr_t lo = ((uintptr_t)nb + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1);
      uintptr_t hi = ((uintptr_t)nb + sizeof(Block) + bsize) & ~(uintptr_t)((2u << 20) - 1);
      if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
    }
#endif
    nb->size = bsize;
    nb->used = 0;
    if (b && bsize != base) {
      nb->next = b->next;
      b->next = nb;
    } else {
      nb->next = b;
      a->head = nb;
    }
    b = nb;
  }
  void *p = b->data + b->used;
  b->used += size;
  a->total += size;
  return p; /* zero: blocks come from calloc and are never reused */
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  if (!p) return NULL;
  memcpy(p, s, n);
  p[n] = 0;
  return p;
}

char *arena_strdup(Arena *a, const char *s) {
  return arena_strndup(a, s, strlen(s));
}

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = n < 0 ? NULL : arena_alloc(a, (size_t)n + 1);
  if (p) vsnprintf(p, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  return p;
}

char *arena_join(Arena *a, const char *x, char sep, const char *y) {
  size_t nx = strlen(x), ny = strlen(y);
  char *p = arena_alloc(a, nx + ny + 2);
  if (!p) return NULL;
  memcpy(p, x, nx);
  p[nx] = sep;
  memcpy(p + nx + 1, y, ny + 1);
  return p;
}

size_t arena_bytes(const Arena *a) {
  return a->total;
}
