/* strmap.c — open-addressing hash map with linear probing, string keys.
 *
 * Name lookups (nodes, modules, parameters) must stay O(1) so that a 100k-node graph parses,
 * verifies and prints in well under a second. */
#include <string.h>

#include "ir.h"

/* A deleted slot keeps probing chains intact. */
static const char tombstone[] = "";

uint64_t ir_hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

void strmap_init(StrMap *m) {
  memset(m, 0, sizeof *m);
}

void strmap_free(StrMap *m) {
  ir_free(m->keys);
  ir_free(m->vals);
  ir_free(m->hashes);
  strmap_init(m);
}

static size_t find_slot(const StrMap *m, const char *key, uint32_t h, bool *found) {
  size_t mask = m->cap - 1, i = h & mask, tomb = SIZE_MAX;
  for (;;) {
    const char *k = m->keys[i];
    if (!k) {
      *found = false;
      return tomb != SIZE_MAX ? tomb : i;
    }
    if (k == tombstone) {
      if (tomb == SIZE_MAX) tomb = i;
    } else if (m->hashes[i] == h && strcmp(k, key) == 0) {
      *found = true;
      return i;
    }
    i = (i + 1) & mask;
  }
}

void *strmap_get(const StrMap *m, const char *key) {
  if (!m->cap) return NULL;
  bool found;
  size_t i = find_slot(m, key, (uint32_t)ir_hash_str(key), &found);
  return found ? m->vals[i] : NULL;
}

static Status grow(StrMap *m) {
  size_t cap = m->cap ? m->cap * 2 : 16;
  const char **keys = ir_calloc(cap, sizeof *keys);
  void **vals = ir_calloc(cap, sizeof *vals);
  uint32_t *hashes = ir_calloc(cap, sizeof *hashes);
  if (!keys || !vals || !hashes) {
    ir_free(keys);
    ir_free(vals);
    ir_free(hashes);
    return JS_ENOMEM;
  }
  StrMap n = {keys, vals, hashes, cap, 0};
  for (size_t i = 0; i < m->cap; i++) {
    if (m->keys[i] && m->keys[i] != tombstone) {
      /* every key is distinct: the first empty slot on its probe path is its place */
      size_t j = m->hashes[i] & (cap - 1);
      while (n.keys[j]) j = (j + 1) & (cap - 1);
      n.keys[j] = m->keys[i];
      n.vals[j] = m->vals[i];
      n.hashes[j] = m->hashes[i];
      n.len++;
    }
  }
  strmap_free(m);
  *m = n;
  return JS_OK;
}

Status strmap_put(StrMap *m, const char *key, void *val) {
  /* Counting tombstones in len keeps the load factor honest after deletions. */
  if ((m->len + 1) * 4 > m->cap * 3) {
    Status st = grow(m);
    if (st) return st;
  }
  bool found;
  uint32_t h = (uint32_t)ir_hash_str(key);
  size_t i = find_slot(m, key, h, &found);
  if (!found) {
    if (!m->keys[i]) m->len++;
    m->keys[i] = key;
    m->hashes[i] = h;
  }
  m->vals[i] = val;
  return JS_OK;
}

bool strmap_del(StrMap *m, const char *key) {
  if (!m->cap) return false;
  bool found;
  size_t i = find_slot(m, key, (uint32_t)ir_hash_str(key), &found);
  if (!found) return false;
  m->keys[i] = tombstone;
  m->vals[i] = NULL;
  return true;
}
