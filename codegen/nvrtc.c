/* codegen/nvrtc.c — NVRTC (CUDA C to PTX) opened with dlopen at run time.
 *
 * jscc links nothing from CUDA: the library is looked for on first use (libnvrtc.so.13,
 * .so.12, .so on the loader's path, then under $CUDA_HOME and /usr/local/cuda), and every
 * entry point is resolved with dlsym.  The few NVRTC declarations needed are below (nvrtc.h
 * is not included).  A machine without NVRTC still builds and runs jscc; compiling says why
 * it cannot (cg_nvrtc_available's reason, also the error of cg_nvrtc_compile).
 *
 * Options (always the same, so a cache keyed by the source and the architecture is sound):
 *   --gpu-architecture=compute_<arch>  PTX for that virtual architecture
 *   --std=c++17                        the generated source is C-like C++
 *   --fmad=false                       no contraction of a*b+c: the renderer writes fmaf()
 *                                      exactly where the CPU JIT's module has llvm.fmuladd
 *                                      or llvm.fma, so every other product is rounded as on
 *                                      the CPU (fmad=true would fuse, e.g., BatchNorm's
 *                                      m2 - m1*m1 and change its rounding)
 *   IEEE division and square root are NVRTC's defaults (-prec-div, -prec-sqrt). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda.h"

/* ---- the NVRTC API (nvrtc.h), declared here ---- */
typedef int nvrtcResult; /* NVRTC_SUCCESS = 0 */
typedef struct _nvrtcProgram *nvrtcProgram;

typedef struct Nvrtc {
  void *lib;          /* dlopen handle, NULL when not found */
  char path[512];     /* the library that was loaded */
  char why[2048];     /* why it is unavailable ("" when loaded) */
  nvrtcResult (*create)(nvrtcProgram *, const char *, const char *, int, const char *const *, const char *const *);
  nvrtcResult (*compile)(nvrtcProgram, int, const char *const *);
  nvrtcResult (*ptx_size)(nvrtcProgram, size_t *);
  nvrtcResult (*ptx)(nvrtcProgram, char *);
  nvrtcResult (*log_size)(nvrtcProgram, size_t *);
  nvrtcResult (*log)(nvrtcProgram, char *);
  nvrtcResult (*destroy)(nvrtcProgram *);
  const char *(*errstr)(nvrtcResult);
} Nvrtc;

/* Loaded once per process (the handle is never closed: NVRTC keeps process-wide state). */
static Nvrtc g_nvrtc;
static pthread_once_t g_nvrtc_once = PTHREAD_ONCE_INIT;

static void *try_open(const char *path, Nvrtc *nv) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h) snprintf(nv->path, sizeof nv->path, "%s", path);
  return h;
}

static void nvrtc_load(void) {
  Nvrtc *nv = &g_nvrtc;
  static const char *const names[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"};
  static const char *const dirs[] = {"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"};
  const char *home = getenv("CUDA_HOME");
  char path[512];
  void *h = NULL;
  for (size_t i = 0; !h && i < sizeof names / sizeof *names; i++) h = try_open(names[i], nv);
  for (int sub = 0; !h && home && *home && sub < 2; sub++)
    for (size_t i = 0; !h && i < sizeof names / sizeof *names; i++) {
      snprintf(path, sizeof path, "%s/%s/%s", home, sub ? "targets/x86_64-linux/lib" : "lib64", names[i]);
      h = try_open(path, nv);
    }
  for (size_t k = 0; !h && k < sizeof dirs / sizeof *dirs; k++)
    for (size_t i = 0; !h && i < sizeof names / sizeof *names; i++) {
      snprintf(path, sizeof path, "%s/%s", dirs[k], names[i]);
      h = try_open(path, nv);
    }
  if (!h) {
    const char *e = dlerror();
    snprintf(nv->why, sizeof nv->why,
             "NVRTC not found: looked for libnvrtc.so.13, libnvrtc.so.12 and libnvrtc.so on the library path%s%s and "
             "under /usr/local/cuda (last error: %s)",
             home ? ", under $CUDA_HOME=" : "", home ? home : "", e ? e : "none");
    return;
  }
  struct {
    const char *name;
    void **slot;
  } syms[] = {
    {"nvrtcCreateProgram", (void **)&nv->create},   {"nvrtcCompileProgram", (void **)&nv->compile},
    {"nvrtcGetPTXSize", (void **)&nv->ptx_size},    {"nvrtcGetPTX", (void **)&nv->ptx},
    {"nvrtcGetProgramLogSize", (void **)&nv->log_size}, {"nvrtcGetProgramLog", (void **)&nv->log},
    {"nvrtcDestroyProgram", (void **)&nv->destroy}, {"nvrtcGetErrorString", (void **)&nv->errstr},
  };
  for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
    void *f = dlsym(h, syms[i].name);
    if (!f) {
      snprintf(nv->why, sizeof nv->why, "%.500s has no symbol %s (not NVRTC, or too old)", nv->path, syms[i].name);
      dlclose(h);
      return;
    }
    memcpy(syms[i].slot, &f, sizeof f); /* object to function pointer, as POSIX allows */
  }
  nv->lib = h;
}

static const Nvrtc *nvrtc(void) {
  pthread_once(&g_nvrtc_once, nvrtc_load);
  return &g_nvrtc;
}

bool cg_nvrtc_available(char *why, size_t cap) {
  const Nvrtc *nv = nvrtc();
  if (why && cap) snprintf(why, cap, "%s", nv->lib ? "" : nv->why);
  return nv->lib != NULL;
}

/* A failed NVRTC call: the call, NVRTC's own error string and, when given, the log. */
static Status nv_error(Diag *d, const Nvrtc *nv, const char *call, nvrtcResult r, const char *log) {
  const char *es = nv->errstr ? nv->errstr(r) : NULL;
  if (log && *log)
    return diag_error(d, (SrcLoc){0}, "codegen: NVRTC %s failed: %s (%d); compile log:\n%s", call, es ? es : "?", r, log);
  return diag_error(d, (SrcLoc){0}, "codegen: NVRTC %s failed: %s (%d)", call, es ? es : "?", r);
}

Status cg_nvrtc_compile(const char *src, int arch, StrBuf *ptx, Diag *d) {
  const Nvrtc *nv = nvrtc();
  if (!nv->lib) return diag_error(d, (SrcLoc){0}, "codegen: cannot compile CUDA: %s", nv->why);
  if (arch < 10 || arch > 1000) return diag_error(d, (SrcLoc){0}, "codegen: compute capability %d is not one NVRTC knows", arch);
  char archopt[64];
  snprintf(archopt, sizeof archopt, "--gpu-architecture=compute_%d", arch);
  const char *opts[] = {archopt, "--std=c++17", "--fmad=false"};
  nvrtcProgram prog = NULL;
  nvrtcResult r = nv->create(&prog, src, "jscc_kernel.cu", 0, NULL, NULL);
  if (r) return nv_error(d, nv, "nvrtcCreateProgram", r, NULL);
  nvrtcResult rc = nv->compile(prog, (int)(sizeof opts / sizeof *opts), opts);
  Status st = JS_OK;
  if (rc) {
    size_t n = 0;
    char *log = NULL;
    if (nv->log_size(prog, &n) == 0 && n > 0 && (log = ir_malloc(n + 1))) {
      if (nv->log(prog, log)) log[0] = 0;
      log[n] = 0;
    }
    st = nv_error(d, nv, "nvrtcCompileProgram", rc, log ? log : "(no log)");
    ir_free(log);
  } else {
    size_t n = 0;
    if ((r = nv->ptx_size(prog, &n))) {
      st = nv_error(d, nv, "nvrtcGetPTXSize", r, NULL);
    } else {
      char *buf = ir_malloc(n + 1);
      if (!buf) st = diag_oom(d);
      else if ((r = nv->ptx(prog, buf))) st = nv_error(d, nv, "nvrtcGetPTX", r, NULL);
      else {
        buf[n] = 0;
        sb_puts(ptx, buf); /* n counts the terminating NUL */
        if (ptx->oom) st = diag_oom(d);
      }
      ir_free(buf);
    }
  }
  nv->destroy(&prog);
  return st;
}
