/* runtime/rng.c — deterministic random numbers: xoshiro256** (Blackman & Vigna) seeded
 * through splitmix64, so one 64-bit seed fixes every stream on every machine. */
#include <math.h>

#include "runtime.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void rt_rng_seed(Rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
  r->have_normal = false;
  r->normal = 0;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rt_rng_u64(Rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double rt_rng_uniform(Rng *r) { return (double)(rt_rng_u64(r) >> 11) * 0x1.0p-53; }

/* Box-Muller: two normals per pair of uniforms; the second is cached. */
double rt_rng_normal(Rng *r) {
  if (r->have_normal) {
    r->have_normal = false;
    return r->normal;
  }
  double u1 = 1.0 - rt_rng_uniform(r); /* (0, 1]: log is finite */
  double u2 = rt_rng_uniform(r);
  double rad = sqrt(-2.0 * log(u1));
  r->normal = rad * sin(2.0 * M_PI * u2);
  r->have_normal = true;
  return rad * cos(2.0 * M_PI * u2);
}

/* Lemire's multiply-shift with rejection: unbiased for every n. */
uint64_t rt_rng_below(Rng *r, uint64_t n) {
  uint64_t x = rt_rng_u64(r);
  __uint128_t m = (__uint128_t)x * n;
  uint64_t l = (uint64_t)m;
  if (l < n) {
    uint64_t t = -n % n;
    while (l < t) {
      x = rt_rng_u64(r);
      m = (__uint128_t)x * n;
      l = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

/* Fisher-Yates from the top, like numpy's shuffle. */
void rt_rng_permutation(Rng *r, int64_t *idx, int64_t n) {
  for (int64_t i = 0; i < n; i++) idx[i] = i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)rt_rng_below(r, (uint64_t)i + 1);
    int64_t t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}
