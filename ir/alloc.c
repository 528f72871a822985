/* alloc.c — the one allocation hook.
 *
 * Everything jscc allocates goes through here, so a test can install a hook that fails the
 * Nth allocation and check that every caller reports the failure instead of crashing.  The
 * hook is process-wide, like Lua's lua_Alloc is per state: jscc has no other global state. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static AllocHook hook;
static void *hook_ctx;

void ir_set_alloc_hook(AllocHook h, void *ctx) {
  hook = h;
  hook_ctx = ctx;
}

void *ir_malloc(size_t size) {
  if (size == 0) size = 1;
  return hook ? hook(hook_ctx, NULL, size) : malloc(size);
}

void *ir_calloc(size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  if (!hook) return calloc(n ? n : 1, size ? size : 1); /* fresh mappings need no memset */
  void *p = ir_malloc(n * size);
  if (p) memset(p, 0, n * size > 0 ? n * size : 1);
  return p;
}

void *ir_realloc(void *ptr, size_t size) {
  if (size == 0) size = 1;
  return hook ? hook(hook_ctx, ptr, size) : realloc(ptr, size);
}

void ir_free(void *ptr) {
  if (!ptr) return;
  if (hook)
    hook(hook_ctx, ptr, 0);
  else
    free(ptr);
}

char *ir_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = ir_malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}
