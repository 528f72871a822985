/* fuzz_search.c — libFuzzer target for what jscc search reads: a search config (MASE's
 * [search] tables through exp_search_read, then the space over examples/jsc_tiny.jsc,
 * found through FUZZ_MODEL) and a search journal (exp_search_replay against a fixed space).
 * An input starting with '{' is a journal, anything else a config.  Any input gives a
 * search or one located error, never a crash, hang, leak or sanitizer report.  What reads
 * must hold up: a trial's quantize step parses as a pipeline, and its TOML parses as a
 * config with a [passes.quantize] table.  FUZZ_VERBOSE=1 prints the diagnostics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "exp.h"
#include "frontend.h"

static void die(const char *what, const char *text) {
  fprintf(stderr, "fuzz_search: %s\n%s\n", what, text ? text : "");
  abort();
}

static const char fixed[] =
    "[search.search_space]\nsetup.by = \"name\"\n"
    "[search.search_space.seed.default.config]\nname = [\"integer\"]\ndata_in_width = [4, 8]\n"
    "data_in_frac_width = [2, 3]\nweight_width = [2, 4, 8]\nweight_frac_width = [1]\n"
    "[search.strategy.setup]\nn_trials = 12\n"
    "[search.strategy.sw_runner.basic_train]\nmax_epochs = 9\n[search.strategy.asha]\n";

static Graph *g_model;
static Program *g_prog;

static void load_model(void) {
  Arena *a = arena_new();
  SrcFile *src;
  Diag d;
  diag_init(&d, stderr);
  if (!a || diag_read_file(a, FUZZ_MODEL, &src, &d) || fe_parse(src, &g_prog, &d)) die("cannot load FUZZ_MODEL", NULL);
  g_model = g_prog->graphs[0];
  if (pass_run_text("shape", g_model, &d)) die("cannot shape FUZZ_MODEL", NULL);
  diag_free(&d);
  arena_free(a);
}

static SrcLoc loc_of(void *ud, const char *path) { return fe_config_loc(ud, path); }

/* A config's search and space, or NULL. */
static ExpSearch *search_of(const char *text, size_t n, FeConfig **cfg, Diag *d) {
  SrcFile src = {"s.toml", text, n};
  ExpSearch *s = NULL;
  *cfg = NULL;
  if (fe_config_parse(&src, cfg, d) || exp_search_new(&s, d)) return NULL;
  if (exp_search_read(s, fe_config_root(*cfg), loc_of, *cfg, d) || exp_search_space(s, g_model, d)) {
    exp_search_free(s);
    return NULL;
  }
  return s;
}

static const Value *get(const Value *dict, const char *key) {
  for (int i = 0; dict && dict->kind == VAL_DICT && i < dict->u.dict.n; i++)
    if (strcmp(dict->u.dict.keys[i], key) == 0) return &dict->u.dict.vals[i];
  return NULL;
}

static bool cfg_has_quantize(const Value *root) { return get(get(root, "passes"), "quantize") != NULL; }

/* The first and the last choice of every parameter: steps and TOML that read back. */
static void check(const ExpSearch *s) {
  int *x = calloc((size_t)s->nparams + 1, sizeof *x);
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < s->nparams; i++) x[i] = pass ? s->params[i].n - 1 : 0;
    StrBuf sb;
    sb_init(&sb);
    exp_search_passes(s, x, &sb);
    Diag d;
    diag_init(&d, NULL);
    Pipeline *pl = NULL;
    if (!sb.oom && pass_pipeline_parse(sb_str(&sb), &pl, &d) == JS_ERR) die("a trial's step does not parse", sb_str(&sb));
    pass_pipeline_free(pl);
    sb_clear(&sb);
    exp_search_toml(s, x, "fuzz", &sb);
    FeConfig *c = NULL;
    SrcFile src = {"front.toml", sb_str(&sb), sb.len};
    if (!sb.oom && fe_config_parse(&src, &c, &d) == JS_ERR) die("a trial's TOML does not parse", sb_str(&sb));
    if (c && !cfg_has_quantize(fe_config_root(c))) die("a trial's TOML has no [passes.quantize]", sb_str(&sb));
    fe_config_free(c);
    diag_free(&d);
    sb_free(&sb);
  }
  free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_model) load_model();
  Diag d;
  diag_init(&d, getenv("FUZZ_VERBOSE") ? stderr : NULL);
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0;
  FeConfig *cfg;
  if (size && text[0] == '{') {
    ExpSearch *s = search_of(fixed, sizeof fixed - 1, &cfg, &d);
    if (!s) die("the fixed config does not read", sb_str(&d.text));
    SrcFile src = {"journal.jsonl", text, size};
    int n = 0;
    if (exp_search_replay(s, &src, &n, &d) == JS_OK && (n < 0 || n > s->n_trials)) die("replayed trials out of range", NULL);
    exp_search_free(s);
  } else {
    ExpSearch *s = search_of(text, size, &cfg, &d);
    if (s) check(s);
    exp_search_free(s);
  }
  fe_config_free(cfg);
  free(text);
  diag_free(&d);
  return 0;
}
