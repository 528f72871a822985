/* fuzz_lzf.c — libFuzzer target for the LZF decompressor (rt_lzf_decompress, runtime/hdf5.c).
 *
 * The first two input bytes choose an output capacity, the rest is the compressed stream.
 * Checked for every input:
 *   - it never writes past cap: the output buffer has a guard zone after cap that must stay
 *     as filled (ASan's redzone catches anything further);
 *   - the result is monotonic in cap: decompressing into a buffer large enough for any
 *     stream (88 bytes per input byte, a 3-byte reference giving 264) gives R bytes, and a
 *     cap c gives R with the same bytes when c >= R, 0 when c < R;
 *   - a round trip: the stream bytes, taken as plain data and compressed by the small LZF
 *     compressor below (liblzf's format: literal runs of 1..32 bytes, references of 3..264
 *     bytes at most 8192 back), decompress to themselves.  jscc has no compressor of its
 *     own (it only reads h5py's files), so this one is the fuzzer's, written from the
 *     format comment in hdf5.c; it is greedy and finds matches through a small hash table. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime.h"

enum { GUARD = 64, GUARD_BYTE = 0xA5, MAX_EXPAND = 88 };

static void fail(const char *what, size_t cap, size_t got, size_t want) {
  fprintf(stderr, "fuzz_lzf: %s (cap %zu, got %zu, expected %zu)\n", what, cap, got, want);
  abort();
}

/* Decompress into a fresh buffer of cap bytes followed by the guard zone; *out is owned by
 * the caller. */
static size_t run(const uint8_t *in, size_t n, size_t cap, uint8_t **out) {
  uint8_t *buf = malloc(cap + GUARD);
  if (!buf) abort();
  memset(buf, GUARD_BYTE, cap + GUARD);
  size_t got = rt_lzf_decompress(in, n, buf, cap);
  if (got > cap) fail("returned more than cap", cap, got, cap);
  for (size_t i = 0; i < GUARD; i++)
    if (buf[cap + i] != GUARD_BYTE) fail("wrote past cap", cap, got, cap);
  *out = buf;
  return got;
}

/* in[n] -> out (capacity n + n / 32 + 1, the worst case of all literals); the stream size. */
static size_t lzf_compress(const uint8_t *in, size_t n, uint8_t *out) {
  enum { HBITS = 12, MAXOFF = 8192, MAXREF = 264 };
  size_t table[1 << HBITS];
  memset(table, 0xff, sizeof table); /* SIZE_MAX: empty */
  size_t ip = 0, op = 0, lit = 0;    /* lit: bytes of the open literal run, from ip - lit */
#define FLUSH()                                                   \
  do {                                                            \
    if (lit) {                                                    \
      out[op++] = (uint8_t)(lit - 1);                             \
      memcpy(out + op, in + ip - lit, lit);                       \
      op += lit;                                                  \
      lit = 0;                                                    \
    }                                                             \
  } while (0)
  while (ip < n) {
    size_t len = 0, ref = 0;
    if (ip + 3 <= n) {
      uint32_t h = ((uint32_t)in[ip] << 16 | (uint32_t)in[ip + 1] << 8 | in[ip + 2]) * 2654435761u >> (32 - HBITS);
      ref = table[h];
      table[h] = ip;
      if (ref != SIZE_MAX && ip - ref <= MAXOFF) {
        size_t max = n - ip < MAXREF ? n - ip : MAXREF;
        while (len < max && in[ref + len] == in[ip + len]) len++;
      }
    }
    if (len >= 3) {
      FLUSH();
      size_t off = ip - ref - 1, l = len - 2;
      if (l < 7) {
        out[op++] = (uint8_t)(l << 5 | off >> 8);
      } else {
        out[op++] = (uint8_t)(7 << 5 | off >> 8);
        out[op++] = (uint8_t)(l - 7);
      }
      out[op++] = (uint8_t)(off & 0xff);
      ip += len;
    } else {
      ip++;
      if (++lit == 32) FLUSH();
    }
  }
  FLUSH();
#undef FLUSH
  return op;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t cap = (size_t)(data[0] | data[1] << 8) % 8193; /* 0..8192 */
  const uint8_t *in = data + 2;
  size_t n = size - 2;

  uint8_t *ref, *got;
  size_t big = n * MAX_EXPAND + 1;
  size_t r = run(in, n, big, &ref);
  size_t g = run(in, n, cap, &got);
  if (cap >= r) {
    if (g != r || memcmp(got, ref, r) != 0) fail("a smaller cap that fits changed the result", cap, g, r);
  } else if (g != 0) {
    fail("a stream that does not fit was not refused", cap, g, 0);
  }
  /* Exactly the size it needs, and one byte less. */
  if (r > 0) {
    free(got);
    g = run(in, n, r, &got);
    if (g != r || memcmp(got, ref, r) != 0) fail("cap equal to the output size failed", r, g, r);
    free(got);
    g = run(in, n, r - 1, &got);
    if (g != 0) fail("cap one short was not refused", r - 1, g, 0);
  }
  free(got);
  free(ref);

  /* Round trip of the same bytes as plain data. */
  uint8_t *z = malloc(n + n / 32 + 1);
  if (!z) abort();
  size_t zn = lzf_compress(in, n, z);
  uint8_t *back;
  size_t bn = run(z, zn, n, &back);
  if (bn != n || memcmp(back, in, n) != 0) fail("compress -> decompress does not round-trip", n, bn, n);
  free(back);
  free(z);
  return 0;
}
