/* codegen/cudadrv.c — the CUDA driver, opened at run time: a context on device 0, the
 * plans' kernels compiled (cuda.c renders, nvrtc.c compiles, PTX cached on disk), device
 * memory and one-block launches.
 *
 * libcuda.so.1 is opened with dlopen and its entry points looked up by name, so one jscc
 * binary builds and runs where there is no NVIDIA driver and says why --device=cuda is
 * unavailable there.  Nothing includes a CUDA header: the handful of types and entry points
 * used are declared below, from the driver API's documented C ABI (CUresult and CUdevice
 * are ints, CUdeviceptr is a 64-bit integer, the rest are opaque pointers).  Every call
 * goes through one checked wrapper that reports the call, the driver's error name and its
 * error string.
 *
 * The PTX of a kernel is cached under <cache dir>/cuda (CgOptions.kernel_cache, which the
 * runtime resolves with ir_cache_dir: $JSCC_CACHE_DIR, $XDG_CACHE_HOME/jscc or ~/.cache/jscc
 * unless --cache-dir says otherwise), named by a 64-bit FNV-1a hash of the CUDA C, the architecture and
 * CUDA_CACHE_TAG (bump it when nvrtc.c's options change), written atomically (a temporary
 * file renamed into place) so that concurrent runs never read half a file.  A cached file
 * the driver refuses is compiled again and replaced.
 *
 * One thread: the context is made current by cg_cuda_open, on the calling thread. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cuda.h"
#include "plan.h"

/* ---- the driver API's types and entry points (cuda.h of the CUDA toolkit, by value) ---- */

typedef int CUresult;           /* 0: CUDA_SUCCESS */
typedef int CUdevice;
typedef void *CUcontext;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUstream;
typedef unsigned long long CUdeviceptr;

enum {
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
  CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
  CU_JIT_ERROR_LOG_BUFFER = 5,            /* CUjit_option: char * */
  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6, /* CUjit_option: unsigned, passed as the pointer's value */
};
#define CUDA_DEFAULT_SHARED (48 * 1024) /* dynamic shared memory a launch gets without opting in */

/* Where this file's cache entries differ from another build's: the compile options live in
 * nvrtc.c, so a change there bumps this tag. */
#define CUDA_CACHE_TAG "jscc-ptx-1 " JSCC_VERSION

typedef struct CuApi {
  CUresult (*Init)(unsigned flags);
  CUresult (*DriverGetVersion)(int *version);
  CUresult (*DeviceGetCount)(int *count);
  CUresult (*DeviceGet)(CUdevice *dev, int ordinal);
  CUresult (*DeviceGetAttribute)(int *value, int attrib, CUdevice dev);
  CUresult (*DeviceGetName)(char *name, int len, CUdevice dev);
  CUresult (*DevicePrimaryCtxRetain)(CUcontext *ctx, CUdevice dev);
  CUresult (*DevicePrimaryCtxRelease)(CUdevice dev);
  CUresult (*CtxSetCurrent)(CUcontext ctx);
  CUresult (*CtxSynchronize)(void);
  CUresult (*ModuleLoadDataEx)(CUmodule *mod, const void *image, unsigned nopts, int *opts, void **vals);
  CUresult (*ModuleUnload)(CUmodule mod);
  CUresult (*ModuleGetFunction)(CUfunction *fn, CUmodule mod, const char *name);
  CUresult (*FuncSetAttribute)(CUfunction fn, int attrib, int value);
  CUresult (*LaunchKernel)(CUfunction fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                           unsigned bz, unsigned shared, CUstream stream, void **params, void **extra);
  CUresult (*MemAlloc)(CUdeviceptr *dptr, size_t bytes);
  CUresult (*MemFree)(CUdeviceptr dptr);
  CUresult (*MemcpyHtoD)(CUdeviceptr dst, const void *src, size_t bytes);
  CUresult (*MemcpyDtoH)(void *dst, CUdeviceptr src, size_t bytes);
  CUresult (*GetErrorName)(CUresult err, const char **name);
  CUresult (*GetErrorString)(CUresult err, const char **text);
} CuApi;

/* The symbols, in CuApi's order.  The _v2 names are the 64-bit-size entry points the
 * toolkit's cuda.h maps the plain names to; the primary context's release has been _v2 since
 * CUDA 11 (the plain name is the fallback for older drivers). */
static const struct {
  const char *name, *fallback;
} cu_symbols[] = {
    {"cuInit", NULL},
    {"cuDriverGetVersion", NULL},
    {"cuDeviceGetCount", NULL},
    {"cuDeviceGet", NULL},
    {"cuDeviceGetAttribute", NULL},
    {"cuDeviceGetName", NULL},
    {"cuDevicePrimaryCtxRetain", NULL},
    {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"},
    {"cuCtxSetCurrent", NULL},
    {"cuCtxSynchronize", NULL},
    {"cuModuleLoadDataEx", NULL},
    {"cuModuleUnload", NULL},
    {"cuModuleGetFunction", NULL},
    {"cuFuncSetAttribute", NULL},
    {"cuLaunchKernel", NULL},
    {"cuMemAlloc_v2", NULL},
    {"cuMemFree_v2", NULL},
    {"cuMemcpyHtoD_v2", NULL},
    {"cuMemcpyDtoH_v2", NULL},
    {"cuGetErrorName", NULL},
    {"cuGetErrorString", NULL},
};
_Static_assert(sizeof(CuApi) == sizeof cu_symbols / sizeof *cu_symbols * sizeof(void (*)(void)),
               "one symbol per CuApi entry, in order");

struct CgCuda {
  void *lib;            /* dlopen handle of libcuda.so.1 */
  CuApi api;            /* its entry points */
  CUdevice dev;         /* device 0 */
  CUcontext ctx;        /* the device's primary context (retained) */
  bool ctx_retained;    /* release it on close */
  int arch;             /* compute capability, 10 * major + minor */
  int smem_optin;       /* dynamic shared memory a block may opt in to */
  int driver_version;   /* 13000 for CUDA 13.0 */
  char name[256];       /* "NVIDIA H100 80GB HBM3" */
};

struct CgCudaKernel {
  CgCuda *c;            /* the context it was loaded into */
  CUmodule module;
  CUfunction fn;        /* jscc_train or jscc_eval */
  unsigned shared;      /* dynamic shared memory per launch, bytes */
  const char *entry;    /* the kernel's name, for errors */
};

/* A failed call, reported as "CUDA driver: CALL: text (CUDA_ERROR_NAME)" and then the log, if
 * any; `what` says which call and on what ("cuMemAlloc_v2 (4096 bytes)"). */
static Status cu_fail_log(const CgCuda *c, CUresult r, Diag *d, const char *what, const char *log) {
  const char *name = NULL, *text = NULL;
  if (c->api.GetErrorName && c->api.GetErrorName(r, &name) != 0) name = NULL;
  if (c->api.GetErrorString && c->api.GetErrorString(r, &text) != 0) text = NULL;
  const char *sep = log && *log ? "; log:\n" : "";
  if (!log) log = "";
  if (name && text) return diag_error(d, (SrcLoc){0}, "CUDA driver: %s: %s (%s)%s%s", what, text, name, sep, log);
  return diag_error(d, (SrcLoc){0}, "CUDA driver: %s: error %d%s%s", what, r, sep, log);
}

static Status cu_fail(const CgCuda *c, CUresult r, Diag *d, const char *what) { return cu_fail_log(c, r, d, what, NULL); }

#define CU_CHECK(c, call, d, ...)                                  \
  do {                                                             \
    CUresult r_ = (call);                                          \
    if (r_ != 0) {                                                 \
      char what_[160];                                             \
      snprintf(what_, sizeof what_, __VA_ARGS__);                  \
      return cu_fail((c), r_, (d), what_);                         \
    }                                                              \
  } while (0)

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

/* ==== the context ==== */

Status cg_cuda_open(CgCuda **out, Diag *d) {
  *out = NULL;
  SrcLoc none = {0};
  dlerror();
  void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    if (!why || strstr(why, "No such file") || strstr(why, "cannot open shared object"))
      return diag_error(d, none, "libcuda.so.1 not found (no NVIDIA driver on this machine)");
    return diag_error(d, none, "cannot load libcuda.so.1: %s", why);
  }
  CgCuda *c = ir_calloc(1, sizeof *c);
  if (!c) {
    dlclose(lib);
    return diag_oom(d);
  }
  c->lib = lib;
  for (size_t i = 0; i < sizeof cu_symbols / sizeof *cu_symbols; i++) {
    void *f = dlsym(lib, cu_symbols[i].name);
    if (!f && cu_symbols[i].fallback) f = dlsym(lib, cu_symbols[i].fallback);
    if (!f) {
      cg_cuda_close(c);
      return diag_error(d, none, "libcuda.so.1 has no %s: the NVIDIA driver is too old", cu_symbols[i].name);
    }
    /* object pointer to function pointer, as POSIX allows */
    memcpy((char *)&c->api + i * sizeof(void (*)(void)), &f, sizeof f);
  }
  Status st = JS_OK;
  int count = 0, major = 0, minor = 0;
  CUresult r;
  if ((r = c->api.Init(0)) != 0) {
    st = cu_fail(c, r, d, "cuInit");
  } else if ((r = c->api.DeviceGetCount(&count)) != 0) {
    st = cu_fail(c, r, d, "cuDeviceGetCount");
  } else if (count < 1) {
    st = diag_error(d, none, "the NVIDIA driver sees no CUDA device");
  } else if ((r = c->api.DeviceGet(&c->dev, 0)) != 0) {
    st = cu_fail(c, r, d, "cuDeviceGet (device 0)");
  } else if ((r = c->api.DeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, c->dev)) != 0 ||
             (r = c->api.DeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, c->dev)) != 0) {
    st = cu_fail(c, r, d, "cuDeviceGetAttribute (compute capability)");
  } else if ((r = c->api.DeviceGetAttribute(&c->smem_optin, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                                            c->dev)) != 0) {
    st = cu_fail(c, r, d, "cuDeviceGetAttribute (shared memory per block)");
  } else if ((r = c->api.DeviceGetName(c->name, (int)sizeof c->name - 1, c->dev)) != 0) {
    st = cu_fail(c, r, d, "cuDeviceGetName");
  } else if ((r = c->api.DevicePrimaryCtxRetain(&c->ctx, c->dev)) != 0) {
    st = cu_fail(c, r, d, "cuDevicePrimaryCtxRetain");
  } else {
    c->ctx_retained = true;
    if ((r = c->api.CtxSetCurrent(c->ctx)) != 0) st = cu_fail(c, r, d, "cuCtxSetCurrent");
  }
  if (st) {
    cg_cuda_close(c);
    return st;
  }
  c->api.DriverGetVersion(&c->driver_version);
  c->arch = 10 * major + minor;
  *out = c;
  return JS_OK;
}

void cg_cuda_close(CgCuda *c) {
  if (!c) return;
  if (c->ctx_retained) {
    c->api.CtxSetCurrent(NULL);
    c->api.DevicePrimaryCtxRelease(c->dev);
  }
  if (c->lib) dlclose(c->lib);
  ir_free(c);
}

int cg_cuda_arch(const CgCuda *c) { return c->arch; }
const char *cg_cuda_device_name(const CgCuda *c) { return c->name; }

/* ==== the PTX cache ==== */

static uint64_t fnv1a(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

/* The key: the source, the architecture and the tag, each followed by a NUL so that no two
 * different triples run together into the same bytes. */
static uint64_t ptx_key(const char *src, int arch) {
  char a[32];
  int n = snprintf(a, sizeof a, "sm_%d", arch);
  uint64_t h = 0xcbf29ce484222325ULL;
  h = fnv1a(h, src, strlen(src) + 1);
  h = fnv1a(h, a, (size_t)n + 1);
  return fnv1a(h, CUDA_CACHE_TAG, sizeof CUDA_CACHE_TAG);
}

/* <the plan's kernel_cache>/cuda; false when there is no cache directory. */
static bool ptx_cache_dir(const CgPlan *p, char *buf, size_t cap) {
  if (!p->o.kernel_cache || !*p->o.kernel_cache) return false;
  int n = snprintf(buf, cap, "%s/cuda", p->o.kernel_cache);
  return n > 0 && (size_t)n < cap;
}

/* The first line of every cache file names its key, so that a file of another key (copied,
 * renamed) is never loaded as this one. */
static void key_line(char *buf, size_t cap, uint64_t key) {
  snprintf(buf, cap, "// jscc ptx cache %016llx\n", (unsigned long long)key);
}

/* A cached PTX for `key` into ptx (NUL-terminated); false when there is none or it is not
 * one of ours. */
static bool cache_read(const char *path, uint64_t key, StrBuf *ptx) {
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) sb_putn(ptx, buf, n);
  bool ok = !ferror(f) && !ptx->oom;
  fclose(f);
  char want[64];
  key_line(want, sizeof want, key);
  ok = ok && ptx->len > strlen(want) && strncmp(sb_str(ptx), want, strlen(want)) == 0 &&
       memchr(sb_str(ptx), 0, ptx->len) == NULL;
  if (!ok) sb_clear(ptx);
  return ok;
}

/* Written to a temporary file and renamed (sb_write_file); a failure is a warning: the
 * kernel still runs, the next run compiles again. */
static void cache_write(const char *dir, const char *path, uint64_t key, const StrBuf *ptx, Diag *d) {
  StrBuf file;
  sb_init(&file);
  char line[64];
  key_line(line, sizeof line, key);
  sb_puts(&file, line);
  sb_putn(&file, sb_str(ptx), ptx->len);
  if (!ir_mkdir_p(dir, 0755))
    diag_warning(d, (SrcLoc){0}, "cannot create the PTX cache directory %s: %s", dir, strerror(errno));
  else if (sb_write_file(&file, path) != JS_OK)
    diag_warning(d, (SrcLoc){0}, "cannot write the PTX cache file %s: %s", path, strerror(errno));
  sb_free(&file);
}

/* ==== kernels ==== */

void cg_cuda_kernel_free(CgCudaKernel *k) {
  if (!k) return;
  if (k->module) k->c->api.ModuleUnload(k->module);
  ir_free(k);
}

/* The module from PTX text (the driver compiles it for the device; its log goes into the
 * error) and its one kernel. */
static Status load_kernel(CgCuda *c, CgCudaKernel *k, const StrBuf *ptx, Diag *d) {
  char log[4096] = "";
  int opts[2] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *vals[2] = {log, (void *)(uintptr_t)(sizeof log - 1)};
  CUresult r = c->api.ModuleLoadDataEx(&k->module, sb_str(ptx), 2, opts, vals);
  if (r) {
    log[sizeof log - 1] = 0;
    char what[128];
    snprintf(what, sizeof what, "cuModuleLoadDataEx (the %s kernel's PTX, sm_%d)", k->entry, c->arch);
    k->module = NULL;
    return cu_fail_log(c, r, d, what, log);
  }
  CU_CHECK(c, c->api.ModuleGetFunction(&k->fn, k->module, k->entry), d, "cuModuleGetFunction (%s)", k->entry);
  return JS_OK;
}

Status cg_cuda_compile(CgCuda *c, const CgPlan *p, CgCudaKernel **out, double *compile_ms, Diag *d) {
  *out = NULL;
  double t0 = now_ms();
  size_t shared = cg_cuda_shared_bytes(p);
  size_t limit = c->smem_optin > CUDA_DEFAULT_SHARED ? (size_t)c->smem_optin : CUDA_DEFAULT_SHARED;
  if (shared > limit)
    return diag_error(d, (SrcLoc){0},
                      "model %s: the %s kernel needs %zu bytes of shared memory, the device gives a block %zu",
                      p->model ? p->model : "?", p->o.train ? "training" : "evaluation", shared, limit);
  CgCudaKernel *k = ir_calloc(1, sizeof *k);
  if (!k) return diag_oom(d);
  k->c = c;
  k->entry = p->o.train ? "jscc_train" : "jscc_eval";
  k->shared = (unsigned)shared;

  StrBuf src, ptx;
  sb_init(&src);
  sb_init(&ptx);
  Status st = cg_cuda_render(p, &src, d);
  if (!st && src.oom) st = diag_oom(d);
  char dir[PATH_MAX], path[PATH_MAX + 64];
  bool use_cache = !st && ptx_cache_dir(p, dir, sizeof dir);
  uint64_t key = st ? 0 : ptx_key(sb_str(&src), c->arch);
  if (use_cache) {
    int n = snprintf(path, sizeof path, "%s/%016llx-sm_%d.ptx", dir, (unsigned long long)key, c->arch);
    use_cache = n > 0 && (size_t)n < sizeof path;
  }
  bool cached = use_cache && cache_read(path, key, &ptx);
  if (!st && cached) {
    /* A cached file the driver refuses (a newer NVRTC's PTX after a driver downgrade, say)
     * is compiled again, quietly. */
    Diag quiet;
    diag_init(&quiet, NULL);
    if (load_kernel(c, k, &ptx, &quiet)) {
      if (k->module) c->api.ModuleUnload(k->module);
      k->module = NULL;
      cached = false;
      sb_clear(&ptx);
    }
    diag_free(&quiet);
  }
  if (!st && !cached) {
    st = cg_nvrtc_compile(sb_str(&src), c->arch, &ptx, d);
    if (!st && ptx.oom) st = diag_oom(d);
    if (!st) st = load_kernel(c, k, &ptx, d);
    if (!st && use_cache) cache_write(dir, path, key, &ptx, d);
  }
  if (!st && shared > CUDA_DEFAULT_SHARED) {
    CUresult r = c->api.FuncSetAttribute(k->fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, (int)shared);
    if (r) {
      char what[128];
      snprintf(what, sizeof what, "cuFuncSetAttribute (%s: %zu bytes of dynamic shared memory)", k->entry, shared);
      st = cu_fail(c, r, d, what);
    }
  }
  sb_free(&src);
  sb_free(&ptx);
  if (st) {
    cg_cuda_kernel_free(k);
    return st;
  }
  if (compile_ms) *compile_ms = now_ms() - t0;
  *out = k;
  return JS_OK;
}

/* ==== memory and launches ==== */

/* A zero-byte request still gets an address (the kernels take every pointer). */
Status cg_cuda_alloc(CgCuda *c, size_t bytes, uint64_t *dptr, Diag *d) {
  CUdeviceptr p = 0;
  CU_CHECK(c, c->api.MemAlloc(&p, bytes ? bytes : 16), d, "cuMemAlloc_v2 (%zu bytes)", bytes);
  *dptr = (uint64_t)p;
  return JS_OK;
}

void cg_cuda_free(CgCuda *c, uint64_t dptr) {
  if (c && dptr) c->api.MemFree((CUdeviceptr)dptr);
}

Status cg_cuda_upload(CgCuda *c, uint64_t dst, const void *src, size_t bytes, Diag *d) {
  if (!bytes) return JS_OK;
  CU_CHECK(c, c->api.MemcpyHtoD((CUdeviceptr)dst, src, bytes), d, "cuMemcpyHtoD_v2 (%zu bytes)", bytes);
  return JS_OK;
}

Status cg_cuda_download(CgCuda *c, void *dst, uint64_t src, size_t bytes, Diag *d) {
  if (!bytes) return JS_OK;
  CU_CHECK(c, c->api.MemcpyDtoH(dst, (CUdeviceptr)src, bytes), d, "cuMemcpyDtoH_v2 (%zu bytes)", bytes);
  return JS_OK;
}

/* One block of CG_CUDA_THREADS threads per trial (one, or a->ntrials for a group); the
 * argument struct is the kernel's one parameter, by value (kernelParams[0] points at it, the
 * driver copies sizeof(JsccDevArgs) bytes).  Synchronous: a fault inside the kernel is
 * reported by cuCtxSynchronize. */
Status cg_cuda_launch(CgCuda *c, const CgCudaKernel *k, const JsccDevArgs *a, Diag *d) {
  void *params[1] = {(void *)a};
  unsigned blocks = a->trials ? (unsigned)a->ntrials : 1;
  CU_CHECK(c, c->api.LaunchKernel(k->fn, blocks, 1, 1, CG_CUDA_THREADS, 1, 1, k->shared, NULL, params, NULL), d,
           "cuLaunchKernel (%s, %u block%s of %u threads, %u bytes of shared memory)", k->entry, blocks,
           blocks == 1 ? "" : "s", (unsigned)CG_CUDA_THREADS, k->shared);
  CU_CHECK(c, c->api.CtxSynchronize(), d, "cuCtxSynchronize (after %s: %u trial%s, %lld steps of %lld rows)", k->entry,
           blocks, blocks == 1 ? "" : "s", (long long)a->nsteps, (long long)a->batch);
  return JS_OK;
}
