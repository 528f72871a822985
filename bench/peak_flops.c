/* bench/peak_flops.c — one core's measured single-precision peak, for the training
 * benchmark's "% of peak" column (bench/train_bench.sh).
 *
 * 24 independent chains of fused multiply-adds on the widest vectors this compiler targets
 * (built with -march=native: 16 floats with AVX-512, 8 with AVX2+FMA, else 4 without FMA).
 * 24 chains cover an FMA latency of 4 cycles on up to 6 FMA pipes (the loop needs latency x
 * pipes chains in flight to saturate them), so the loop runs at the core's FMA throughput.
 * One FMA is 2 flops per lane.  Prints "GFLOPS LANES ISA": the best of 7 timed runs of about
 * 0.2 s each, on the calling thread only. */
#include <stdio.h>
#include <time.h>

#if defined(__AVX512F__)
#include <immintrin.h>
typedef __m512 V;
#define LANES 16
#define ISA "avx512"
#define SET1(x) _mm512_set1_ps(x)
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define ADD(a, b) _mm512_add_ps(a, b)
static float hsum(V v) { return _mm512_reduce_add_ps(v); }
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
typedef __m256 V;
#define LANES 8
#define ISA "avx2+fma"
#define SET1(x) _mm256_set1_ps(x)
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define ADD(a, b) _mm256_add_ps(a, b)
static float hsum(V v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#else
/* a portable fallback: gcc's vector extension, 4 lanes, multiply then add */
typedef float V __attribute__((vector_size(16)));
#define LANES 4
#define ISA "generic"
#define SET1(x) ((V){x, x, x, x})
#define FMA(a, b, c) ((a) * (b) + (c))
#define ADD(a, b) ((a) + (b))
static float hsum(V v) { return v[0] + v[1] + v[2] + v[3]; }
#endif

#define CHAINS 24

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* acc[k] = acc[k] * a + b, iters times for each of the CHAINS accumulators; a and b are
 * chosen so the values stay finite (a < 1: acc converges to b / (1 - a)). */
static float run(long iters, float a0, float b0) {
  V acc[CHAINS];
  V a = SET1(a0), b = SET1(b0);
  for (int k = 0; k < CHAINS; k++) acc[k] = SET1((float)k);
  for (long i = 0; i < iters; i++) {
#pragma GCC unroll 24
    for (int k = 0; k < CHAINS; k++) acc[k] = FMA(acc[k], a, b);
  }
  V s = acc[0];
  for (int k = 1; k < CHAINS; k++) s = ADD(s, acc[k]);
  return hsum(s);
}

int main(void) {
  /* volatile inputs: the compiler cannot fold the loop away */
  volatile float a0 = 0.999999f, b0 = 1e-6f;
  long iters = 1 << 16;
  double t;
  /* calibrate: about 0.2 s per timed run */
  for (;;) {
    double t0 = now_s();
    volatile float sink = run(iters, a0, b0);
    (void)sink;
    t = now_s() - t0;
    if (t > 0.05) break;
    iters *= 2;
  }
  iters = (long)((double)iters * 0.2 / t) + 1;
  double best = 0;
  for (int r = 0; r < 7; r++) {
    double t0 = now_s();
    volatile float sink = run(iters, a0, b0);
    (void)sink;
    double dt = now_s() - t0;
    double gf = 2.0 * LANES * CHAINS * (double)iters / dt / 1e9;
    if (gf > best) best = gf;
  }
  printf("%.1f %d %s\n", best, LANES, ISA);
  return 0;
}
