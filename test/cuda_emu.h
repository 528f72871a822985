/* test/cuda_emu.h — the generated CUDA kernels run on the CPU, for tests without a GPU: the
 * source (codegen/cuda.c) compiled as C++ (the host's c++, or $CXX) against a shim that maps
 * each thread of a block to a pthread, __syncthreads to a barrier and warp shuffles to an
 * exchange through memory; a launch of several blocks runs them one after another (blocks
 * share no writable memory).  Shared by test/codegen/test_cuda.c (the kernels against the CPU
 * JIT) and test/runtime/test_device_emu.c (the GPU engine over an emulated driver).  Include
 * after cmocka.h. */
#ifndef JSCC_TEST_CUDA_EMU_H
#define JSCC_TEST_CUDA_EMU_H
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda.h"

static const char EMU_SHIM[] =
    "#include <math.h>\n"
    "#include <string.h>\n"
    "#include <pthread.h>\n"
    "#define __global__\n"
    "#define __device__\n"
    "#define __forceinline__ inline\n"
    "#define __noinline__ __attribute__((noinline))\n"
    "#define __launch_bounds__(x)\n"
    "#define __restrict__ __restrict\n"
    "#define __shared__\n"
    "struct Dim3 { unsigned x, y, z; };\n"
    "static thread_local Dim3 threadIdx;\n"
    "static Dim3 blockIdx, blockDim = {NTHREADS, 1, 1}, gridDim = {1, 1, 1};\n"
    "static pthread_barrier_t bar, wbar[NTHREADS / 32];\n"
    "static double xbuf[NTHREADS];\n"
    "static void __syncthreads() { pthread_barrier_wait(&bar); }\n"
    "template <class T> static T shfl(T v, int o) {\n"
    "  int t = threadIdx.x;\n"
    "  xbuf[t] = (double)v;\n"
    "  pthread_barrier_wait(&wbar[t / 32]);\n"
    "  T r = (T)xbuf[(t & ~31) | ((t & 31) ^ o)];\n"
    "  pthread_barrier_wait(&wbar[t / 32]);\n"
    "  return r;\n"
    "}\n"
    "static float __shfl_xor_sync(unsigned, float v, int o) { return shfl(v, o); }\n"
    "static double __shfl_xor_sync(unsigned, double v, int o) { return shfl(v, o); }\n"
    "static float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }\n"
    "static unsigned __float_as_uint(float f) { unsigned u; memcpy(&u, &f, 4); return u; }\n"
    "static long long __double_as_longlong(double d) { long long u; memcpy(&u, &d, 8); return u; }\n"
    "static double __longlong_as_double(long long u) { double d; memcpy(&d, &u, 8); return d; }\n"
    "#include \"kernel.cu\"\n"
    "double sd[1 << 16];\n"
    "struct Job { JsccDevArgs a; int tid; };\n"
    "static void *thr(void *p) {\n"
    "  Job *j = (Job *)p;\n"
    "  threadIdx.x = (unsigned)j->tid, threadIdx.y = threadIdx.z = 0;\n"
    "  KERNEL(j->a);\n"
    "  return 0;\n"
    "}\n"
    "/* a grid of `blocks` blocks, one after another (blocks never share writable memory) */\n"
    "extern \"C\" int emu_run(const void *args, unsigned blocks) {\n"
    "  static Job jobs[NTHREADS];\n"
    "  pthread_t th[NTHREADS];\n"
    "  pthread_attr_t at;\n"
    "  pthread_attr_init(&at);\n"
    "  pthread_attr_setstacksize(&at, 4 << 20);\n"
    "  pthread_barrier_init(&bar, 0, NTHREADS);\n"
    "  for (int w = 0; w < NTHREADS / 32; w++) pthread_barrier_init(&wbar[w], 0, 32);\n"
    "  gridDim.x = blocks;\n"
    "  for (unsigned b = 0; b < blocks; b++) {\n"
    "    blockIdx.x = b, blockIdx.y = blockIdx.z = 0;\n"
    "    memset(sd, 0xff, sizeof sd); /* a block sees no shared memory of the one before */\n"
    "    for (int t = 0; t < NTHREADS; t++) {\n"
    "      memcpy(&jobs[t].a, args, sizeof(JsccDevArgs));\n"
    "      jobs[t].tid = t;\n"
    "      if (pthread_create(&th[t], &at, thr, &jobs[t])) return -1;\n"
    "    }\n"
    "    for (int t = 0; t < NTHREADS; t++) pthread_join(th[t], 0);\n"
    "  }\n"
    "  pthread_barrier_destroy(&bar);\n"
    "  for (int w = 0; w < NTHREADS / 32; w++) pthread_barrier_destroy(&wbar[w]);\n"
    "  return 0;\n"
    "}\n";

static const char *emu_cxx(void) {
  const char *c = getenv("CXX");
  return c && *c ? c : "c++";
}

/* Whether a C++ compiler runs; why not, in `why`. */
static bool emu_have_cxx(char *why, size_t cap) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s --version >/dev/null 2>&1", emu_cxx());
  if (system(cmd) == 0) return true;
  snprintf(why, cap, "no C++ compiler (%s; set CXX)", emu_cxx());
  return false;
}

static void emu_write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* The source compiled into a shared object with the shim, in directory `dir`; returns its
 * emu_run(args, blocks) (args: the kernel's JsccDevArgs; blocks: the launch's gridDim). */
typedef int (*EmuRun)(const void *args, unsigned blocks);
static EmuRun emu_build(const char *src, bool train, const char *dir, void **so) {
  char path[600], cmd[2048];
  snprintf(path, 600, "%s/kernel.cu", dir);
  emu_write_file(path, src);
  snprintf(path, 600, "%s/emu.cpp", dir);
  emu_write_file(path, EMU_SHIM);
  snprintf(cmd, sizeof cmd,
           "%s -std=c++17 -O1 -ffp-contract=off -w -fPIC -shared -DNTHREADS=%d -DKERNEL=%s -o %s/emu.so %s/emu.cpp -lpthread",
           emu_cxx(), CG_CUDA_THREADS, train ? "jscc_train" : "jscc_eval", dir, dir);
  if (system(cmd) != 0) fail_msg("the emulation did not compile: %s", cmd);
  snprintf(path, 600, "%s/emu.so", dir);
  *so = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!*so) fail_msg("dlopen %s: %s", path, dlerror());
  EmuRun run;
  void *f = dlsym(*so, "emu_run");
  assert_non_null(f);
  memcpy(&run, &f, sizeof run);
  return run;
}

#endif
