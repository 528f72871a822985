/* runtime/kernels.c — a set of compiled kernels shared by many training runs in one process.
 *
 * A sweep trains many trials of one model at one batch size, differing only in values the
 * kernels take at run time (learning rate, seed, data order).  Their fusion plans and
 * compiled kernels are the same, so the set builds each (graph, options) pair once, under a
 * lock, and every trial borrows it: plans and kernels are read-only once built, and a kernel
 * is a pure function of its CgArgs, so worker threads run one kernel at the same time.
 *
 * A pair the jit refuses is remembered too, with its message, so that a model the jit cannot
 * compile is not tried again by every trial. */
#include <pthread.h>
#include <string.h>

#include "runtime.h"

/* What decides a plan: the graph (shared, read-only, with its parameter layout) and the plan
 * options that change the generated code.  Zeroed before filling, so memcmp compares it. */
typedef struct KsKey {
  const Graph *g;
  int64_t batch;
  int vec;
  CgOptim optim;       /* zero for evaluation plans */
  bool train, want_logits;
  const CgTuning *tuning; /* the caller's (one per process: the command line's) */
} KsKey;

typedef struct KsEntry {
  KsKey key;
  Status st;           /* JS_OK, or why the plan or the compile failed */
  char *why;           /* the failure's diagnostics, replayed to each caller */
  CgPlan *plan;
  CgKernel *kernel;
  double compile_ms;   /* rendering and compiling, once */
  bool cache_hit;      /* the kernel came from the on-disk kernel cache */
} KsEntry;

struct RtKernelSet {
  pthread_mutex_t lock;
  KsEntry *e;
  int n, cap;
};

Status rt_kernel_set_new(RtKernelSet **out, Diag *d) {
  RtKernelSet *ks = ir_calloc(1, sizeof *ks);
  if (!ks) return diag_oom(d);
  pthread_mutex_init(&ks->lock, NULL);
  *out = ks;
  return JS_OK;
}

void rt_kernel_set_free(RtKernelSet *ks) {
  if (!ks) return;
  for (int i = 0; i < ks->n; i++) {
    cg_kernel_free(ks->e[i].kernel);
    cg_plan_free(ks->e[i].plan);
    ir_free(ks->e[i].why);
  }
  ir_free(ks->e);
  pthread_mutex_destroy(&ks->lock);
  ir_free(ks);
}

void rt_kernel_set_forget(RtKernelSet *ks, const Graph *g) {
  if (!ks) return;
  pthread_mutex_lock(&ks->lock);
  int k = 0;
  for (int i = 0; i < ks->n; i++) {
    if (ks->e[i].key.g != g) {
      ks->e[k++] = ks->e[i];
      continue;
    }
    cg_kernel_free(ks->e[i].kernel);
    cg_plan_free(ks->e[i].plan);
    ir_free(ks->e[i].why);
  }
  ks->n = k;
  pthread_mutex_unlock(&ks->lock);
}

static KsKey key_of(const Graph *g, const CgOptions *o) {
  KsKey k;
  memset(&k, 0, sizeof k);
  k.g = g;
  k.batch = o->batch;
  k.vec = o->vec;
  if (o->train) k.optim = o->optim;
  k.train = o->train;
  k.want_logits = o->want_logits;
  k.tuning = o->tuning;
  return k;
}

/* Builds and compiles entry e; a failure's text is kept for the later callers. */
static void ks_build(KsEntry *e, const CgOptions *o) {
  Diag cd;
  diag_init(&cd, NULL);
  CgCompileInfo ci = {0};
  e->st = cg_plan_build(e->key.g, o, &e->plan, &cd);
  if (!e->st) e->st = cg_llvm_compile(e->plan, &e->kernel, NULL, &ci, &cd);
  e->compile_ms = ci.render_ms + ci.compile_ms;
  e->cache_hit = ci.cache_hit;
  if (e->st) e->why = ir_strdup(sb_str(&cd.text));
  diag_free(&cd);
}

/* The entry for key, appended (not built yet) when new; NULL when memory ran out. */
static KsEntry *ks_find(RtKernelSet *ks, const KsKey *key, bool *fresh) {
  *fresh = false;
  for (int i = 0; i < ks->n; i++)
    if (memcmp(&ks->e[i].key, key, sizeof *key) == 0) return &ks->e[i];
  if (ks->n == ks->cap) {
    int cap = ks->cap ? 2 * ks->cap : 8;
    KsEntry *ne = ir_realloc(ks->e, (size_t)cap * sizeof *ne);
    if (!ne) return NULL;
    ks->e = ne;
    ks->cap = cap;
  }
  KsEntry *e = &ks->e[ks->n++];
  memset(e, 0, sizeof *e);
  e->key = *key;
  *fresh = true;
  return e;
}

Status rt_kernel_set_get(RtKernelSet *ks, const Graph *g, const CgOptions *o, const CgPlan **plan,
                         const CgKernel **kernel, double *compile_ms, bool *cache_hit, Diag *d) {
  KsKey key = key_of(g, o);
  pthread_mutex_lock(&ks->lock);
  bool fresh;
  KsEntry *e = ks_find(ks, &key, &fresh);
  if (e && fresh) ks_build(e, o);
  KsEntry got = e ? *e : (KsEntry){0};
  pthread_mutex_unlock(&ks->lock);
  if (!e) return diag_oom(d);
  if (got.st) {
    /* the first line of the stored complaint, without its "error: " prefix */
    const char *msg = got.why ? got.why : "", *p = strstr(msg, "error: ");
    if (p) msg = p + 7;
    return got.st == JS_ENOMEM ? diag_oom(d) : diag_error(d, (SrcLoc){0}, "%.*s", (int)strcspn(msg, "\n"), msg);
  }
  *plan = got.plan;
  *kernel = got.kernel;
  *compile_ms = fresh ? got.compile_ms : 0;
  *cache_hit = got.cache_hit;
  return JS_OK;
}
