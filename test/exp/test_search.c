/* test_search.c — jscc search's pieces without training (spec/search.md): MASE's [search]
 * tables read (defaults, objectives sorted by name, QAT and ASHA keys), errors located at the
 * key, the space built from jsc_tiny's graph (by name and by type, "NA" nodes and keys of
 * slots an op lacks left out), a trial's quantize step and TOML, the objectives, ASHA's
 * rungs, the front (last rung only) and the hypervolume. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <math.h>

#include "config.h"
#include "exp.h"
#include "frontend.h"

static SrcLoc loc_of(void *ud, const char *path) { return fe_config_loc(ud, path); }

static const char base[] =
    "seed = 42\n"
    "[search.search_space]\n"
    "name = \"graph/quantize/mixed_precision_ptq\"\n"
    "[search.search_space.setup]\n"
    "by = \"name\"\n"
    "[search.search_space.seed.default.config]\n"
    "name = [\"integer\"]\n"
    "data_in_width = [4, 8]\n"
    "data_in_frac_width = [\"NA\", 3]\n"
    "weight_width = [2, 4, 8]\n"
    "weight_frac_width = [1]\n"
    "[search.search_space.seed.seq_blocks_3.config]\n"
    "name = [\"NA\"]\n"
    "[search.strategy]\n"
    "name = \"optuna\"\n"
    "[search.strategy.setup]\n"
    "n_trials = 7\n"
    "sampler = \"nsgaii\"\n"
    "[search.strategy.metrics]\n"
    "average_bitwidth.scale = 0.2\n"
    "average_bitwidth.direction = \"minimize\"\n"
    "accuracy.direction = \"maximize\"\n";

/* The config text read into a new search; NULL (and the message in msg) when refused. */
static ExpSearch *read_text(const char *text, FeConfig **cfg, char *msg, size_t cap) {
  SrcFile src = {"s.toml", text, strlen(text)};
  Diag d;
  diag_init(&d, NULL);
  ExpSearch *s = NULL;
  assert_int_equal(fe_config_parse(&src, cfg, &d), JS_OK);
  assert_int_equal(exp_search_new(&s, &d), JS_OK);
  Status st = exp_search_read(s, fe_config_root(*cfg), loc_of, *cfg, &d);
  if (msg) snprintf(msg, cap, "%s", sb_str(&d.text));
  diag_free(&d);
  if (st) exp_search_free(s), s = NULL;
  return s;
}

static Program *tiny(Graph **g) {
  Arena *a = arena_new();
  SrcFile *src;
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(diag_read_file(a, "examples/jsc_tiny.jsc", &src, &d), JS_OK);
  Program *p;
  assert_int_equal(fe_parse(src, &p, &d), JS_OK);
  *g = p->graphs[0];
  assert_int_equal(pass_run_text("shape", *g, &d), JS_OK);
  diag_free(&d);
  arena_free(a);
  return p;
}

static void test_read(void **state) {
  (void)state;
  FeConfig *cfg;
  ExpSearch *s = read_text(base, &cfg, NULL, 0);
  assert_non_null(s);
  assert_int_equal(s->sampler, EXP_SAMPLER_NSGAII);
  assert_int_equal(s->n_trials, 7);
  assert_int_equal(s->jobs, 1);
  assert_int_equal(s->scoring, EXP_SCORE_PTQ);
  assert_true(s->by_name);
  /* sorted by name, as MASE sorts the directions */
  assert_int_equal(s->nobj, 2);
  assert_int_equal(s->obj[0].metric, EXP_M_ACCURACY);
  assert_true(s->obj[0].maximize && s->obj[0].scale == 1.0);
  assert_int_equal(s->obj[1].metric, EXP_M_AVERAGE_BITWIDTH);
  assert_true(!s->obj[1].maximize && s->obj[1].scale == 0.2);
  exp_search_free(s);
  fe_config_free(cfg);
}

static void test_read_qat(void **state) {
  (void)state;
  char text[4096];
  snprintf(text, sizeof text, "%s[search.strategy.sw_runner.basic_train]\nmax_epochs = 6\nlearning_rate = 0.01\n"
           "optimizer = \"sgd\"\nlr_scheduler = \"cosine\"\n[search.strategy.asha]\neta = 2\n", base);
  FeConfig *cfg;
  ExpSearch *s = read_text(text, &cfg, NULL, 0);
  assert_non_null(s);
  assert_int_equal(s->scoring, EXP_SCORE_QAT);
  assert_int_equal(s->epochs, 6);
  assert_true(s->lr == 0.01);
  assert_int_equal(s->optimizer, OPTIM_SGD);
  assert_int_equal(s->sched, SCHED_COSINE);
  assert_true(s->asha);
  assert_int_equal(s->eta, 2);
  assert_int_equal(s->min_epochs, 1);
  int64_t e[EXP_SEARCH_MAX_RUNGS];
  assert_int_equal(exp_search_rungs(s, e), 4); /* 1, 2, 4, then 6 */
  assert_int_equal(e[0], 1);
  assert_int_equal(e[2], 4);
  assert_int_equal(e[3], 6);
  exp_search_free(s);
  fe_config_free(cfg);
}

/* src with its first `from` replaced by `to`. */
static void subst(char *out, size_t cap, const char *src, const char *from, const char *to) {
  const char *at = strstr(src, from);
  assert_non_null(at);
  snprintf(out, cap, "%.*s%s%s", (int)(at - src), src, to, at + strlen(from));
}

/* A bad config: the message, located at its key. */
static void refused(const char *from, const char *to, const char *want) {
  char text[4096], msg[1024];
  subst(text, sizeof text, base, from, to);
  FeConfig *cfg;
  ExpSearch *s = read_text(text, &cfg, msg, sizeof msg);
  if (s || !strstr(msg, want)) fail_msg("wanted '%s', got '%s'", want, msg);
  fe_config_free(cfg);
}

static void test_errors(void **state) {
  (void)state;
  refused("sampler = \"nsgaii\"", "sampler = \"qmc\"",
          "s.toml:18:1: error: search.strategy.setup.sampler: 'qmc' is not a jscc sampler (random, tpe, nsgaii, grid); "
          "MASE's Optuna has it, jscc does not");
  refused("n_trials = 7", "n_trials = 0", "s.toml:17:1: error: search.strategy.setup.n_trials: expected a whole number from 1");
  refused("n_trials = 7", "n_trils = 7", "s.toml:17:1: error: search.strategy.setup: unknown key 'n_trils' (did you mean 'n_trials'?)");
  refused("by = \"name\"", "by = \"op\"", "s.toml:5:1: error: search.search_space.setup.by: 'op' is not \"name\" or \"type\"");
  refused("by = \"name\"\n", "", "search.search_space.setup.by is missing");
  refused("accuracy.direction = \"maximize\"", "accuracy.direction = \"max\"", "'max' is not a direction");
  refused("accuracy.direction", "acc.direction", "unknown metric 'acc'");
  refused("name = \"optuna\"", "name = \"rl\"", "MASE's 'rl' strategy is not available in jscc");
  refused("name = \"graph/quantize/mixed_precision_ptq\"", "name = \"graph/tensorrt\"",
          "MASE's search space 'graph/tensorrt' is not available in jscc");
  refused("[search.strategy.setup]\n", "[search.strategy.setup]\nsum_scaled_metrics = true\n",
          "sum_scaled_metrics = true needs direction");
}

static void test_space(void **state) {
  (void)state;
  FeConfig *cfg;
  Graph *g;
  Program *p = tiny(&g);
  ExpSearch *s = read_text(base, &cfg, NULL, 0);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(exp_search_space(s, g, &d), JS_OK);
  /* seq_blocks_1 (relu): name, data_in x2; seq_blocks_2 (linear): name, data_in x2, weight x2;
   * seq_blocks_3 (relu, "NA"): left out; seq_blocks_0 (batch_norm1d): not MASE's */
  assert_int_equal(s->nnodes, 2);
  assert_int_equal(s->nparams, 3 + 5);
  assert_string_equal(s->params[0].key, "seq_blocks_1/config/name");
  assert_string_equal(s->params[3].key, "seq_blocks_2/config/name");
  assert_string_equal(s->params[6].key, "seq_blocks_2/config/weight_width");
  assert_true(s->params[6].ordered);
  assert_false(s->params[2].ordered); /* ["NA", 3] */
  assert_int_equal(exp_search_size(s), 2 * 2 * 2 * 2 * 3);
  int x[8] = {0, 1, 1, 0, 0, 0, 2, 0};
  StrBuf sb;
  sb_init(&sb);
  exp_search_passes(s, x, &sb);
  assert_string_equal(sb_str(&sb), "quantize{by=name, default={name=NA}, seq_blocks_1={name=\"integer\", data_in_width=8, "
                      "data_in_frac_width=3}, seq_blocks_2={name=\"integer\", data_in_width=4, weight_width=8, "
                      "weight_frac_width=1}}");
  sb_clear(&sb);
  exp_search_toml(s, x, "c", &sb);
  assert_string_equal(sb_str(&sb), "# c\n[passes.quantize]\nby = \"name\"\n\n[passes.quantize.default.config]\nname = \"NA\"\n"
                      "\n[passes.quantize.seq_blocks_1.config]\nname = \"integer\"\ndata_in_width = 8\ndata_in_frac_width = 3\n"
                      "\n[passes.quantize.seq_blocks_2.config]\nname = \"integer\"\ndata_in_width = 4\nweight_width = 8\n"
                      "weight_frac_width = 1\n");
  /* the step parses and quantizes the graph */
  Pipeline *pl;
  exp_search_passes(s, x, (sb_clear(&sb), &sb));
  assert_int_equal(pass_pipeline_parse(sb_str(&sb), &pl, &d), JS_OK);
  pass_pipeline_free(pl);
  sb_free(&sb);
  diag_free(&d);
  exp_search_free(s);
  fe_config_free(cfg);
  ir_program_free(p);
}

static void test_space_by_type(void **state) {
  (void)state;
  char text[4096], text2[4096], msg[1024];
  subst(text2, sizeof text2, base, "by = \"name\"", "by = \"type\"");
  subst(text, sizeof text, text2, "seq_blocks_3.config", "relu.config");
  FeConfig *cfg;
  Graph *g;
  Program *p = tiny(&g);
  ExpSearch *s = read_text(text, &cfg, msg, sizeof msg);
  assert_non_null(s);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(exp_search_space(s, g, &d), JS_OK);
  assert_int_equal(s->nnodes, 1); /* both relus take the "relu" entry: NA */
  assert_string_equal(s->nodes[0].name, "seq_blocks_2");
  assert_string_equal(s->nodes[0].seed, "default");
  diag_free(&d);
  exp_search_free(s);
  fe_config_free(cfg);
  /* an entry that names nothing in the model */
  snprintf(text, sizeof text, "%s[search.search_space.seed.seq_blocks_7.config]\nname = [\"integer\"]\n", base);
  s = read_text(text, &cfg, NULL, 0);
  diag_init(&d, NULL);
  assert_int_equal(exp_search_space(s, g, &d), JS_ERR);
  assert_non_null(strstr(sb_str(&d.text), "s.toml:23:"));
  assert_non_null(strstr(sb_str(&d.text), "search.search_space.seed.seq_blocks_7: the model has no node 'seq_blocks_7'"));
  diag_free(&d);
  exp_search_free(s);
  fe_config_free(cfg);
  ir_program_free(p);
}

static void test_objectives(void **state) {
  (void)state;
  FeConfig *cfg;
  ExpSearch *s = read_text(base, &cfg, NULL, 0);
  double m[EXP_NMETRICS] = {[EXP_M_ACCURACY] = 0.7, [EXP_M_AVERAGE_BITWIDTH] = 4};
  assert_int_equal(exp_search_nobj(s), 2);
  assert_true(exp_search_objective(s, 0, m) == -0.7);
  assert_true(fabs(exp_search_objective(s, 1, m) - 0.8) < 1e-15);
  s->sum_scaled = true, s->sum_maximize = true;
  assert_int_equal(exp_search_nobj(s), 1);
  assert_true(fabs(exp_search_objective(s, 0, m) - -(0.7 + 0.8)) < 1e-15);
  exp_search_free(s);
  fe_config_free(cfg);
}

/* Three trials: two on the front at the last rung, one stopped early by ASHA. */
static void test_front_and_hypervolume(void **state) {
  (void)state;
  FeConfig *cfg;
  ExpSearch *s = read_text(base, &cfg, NULL, 0);
  s->scoring = EXP_SCORE_QAT, s->asha = true, s->epochs = 3, s->min_epochs = 1, s->eta = 3;
  ExpSearchTrial t[4];
  memset(t, 0, sizeof t);
  double acc[] = {0.7, 0.6, 0.9, 0.5}, bits[] = {8, 2, 1, 4};
  int rung[] = {1, 1, 0, 1};
  for (int i = 0; i < 4; i++) {
    for (int m = 0; m < EXP_NMETRICS; m++) t[i].metric[m] = NAN;
    t[i].id = i, t[i].status = EXP_OK, t[i].rung = rung[i];
    t[i].metric[EXP_M_ACCURACY] = acc[i], t[i].metric[EXP_M_AVERAGE_BITWIDTH] = bits[i];
  }
  bool on[4];
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(exp_search_front(s, t, 4, on, &d), JS_OK);
  assert_true(on[0] && on[1] && !on[2] && !on[3]); /* 2 stopped early; 3 dominated by 1 */
  /* (acc 0.7, 8 bits), (0.6, 2 bits) from (0, 32): 0.6 * 30 + 0.1 * 24 */
  const double *mv[4] = {t[0].metric, t[1].metric, t[2].metric, t[3].metric};
  bool ok[4] = {1, 1, 1, 1};
  ExpMetric obj[2] = {EXP_M_ACCURACY, EXP_M_AVERAGE_BITWIDTH};
  bool mx[2] = {true, false};
  double ref[EXP_NMETRICS] = {[EXP_M_ACCURACY] = 0.75, [EXP_M_AVERAGE_BITWIDTH] = 32};
  assert_true(fabs(exp_search_hypervolume(2, obj, mx, mv, ok, on, 4, ref) - (0.6 * 30 + 0.1 * 24)) < 1e-12);
  diag_free(&d);
  exp_search_free(s);
  fe_config_free(cfg);
}

/* The journal replayed as --resume replays it; a line that does not fit the space is
 * refused, naming it. */
static void test_replay(void **state) {
  (void)state;
  char text[4096];
  snprintf(text, sizeof text, "%s[search.strategy.sw_runner.basic_train]\nmax_epochs = 3\n[search.strategy.asha]\n", base);
  FeConfig *cfg;
  Graph *g;
  Program *p = tiny(&g);
  ExpSearch *s = read_text(text, &cfg, NULL, 0);
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(exp_search_space(s, g, &d), JS_OK);
  diag_free(&d);
  const char *good = "{\"ev\":\"sample\",\"trial\":0,\"x\":[0,1,1,0,0,0,2,0]}\n{\"ev\":\"run\",\"trial\":0,\"rung\":1}\n"
                     "{\"ev\":\"sample\",\"trial\":1,\"x\":[0,0,0,0,1,1,1,0]}\n{\"ev\":\"sample\",\"tri";
  SrcFile src = {"journal.jsonl", good, strlen(good)};
  int n = -1;
  diag_init(&d, stderr);
  assert_int_equal(exp_search_replay(s, &src, &n, &d), JS_OK); /* the torn last line is not an event */
  assert_int_equal(n, 2);
  diag_free(&d);
  const char *bad[][2] = {
      {"{\"ev\":\"sample\",\"trial\":0,\"x\":[0,1]}\n", "journal.jsonl:1: a sample's choices do not fit the search space"},
      {"{\"ev\":\"sample\",\"trial\":0,\"x\":[0,1,1,0,0,0,3,0]}\n", "journal.jsonl:1: a sample's choice is outside"},
      {"{\"ev\":\"sample\",\"trial\":1,\"x\":[0,1,1,0,0,0,2,0]}\n", "journal.jsonl:1: a sample event out of order"},
      {"{\"ev\":\"run\",\"trial\":0,\"rung\":0}\n", "journal.jsonl:1: a run event without a sampled trial"},
      {"{\"ev\":\"sample\",\"trial\":0,\"x\":[0,1,1,0,0,0,2,0]}\n{\"ev\":\"score\",\"trial\":0,\"rung\":2}\n",
       "journal.jsonl:2: a score event without its trial, rung"},
      {"{\"ev\":\"end\",\"trial\":0}\n", "journal.jsonl:1: an unknown event"},
      {"[1]\n", "journal.jsonl:1:"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    FeConfig *cfg2;
    ExpSearch *s2 = read_text(text, &cfg2, NULL, 0);
    diag_init(&d, NULL);
    assert_int_equal(exp_search_space(s2, g, &d), JS_OK);
    SrcFile b = {"journal.jsonl", bad[i][0], strlen(bad[i][0])};
    assert_int_not_equal(exp_search_replay(s2, &b, &n, &d), JS_OK);
    if (!strstr(sb_str(&d.text), bad[i][1])) fail_msg("wanted '%s', got '%s'", bad[i][1], sb_str(&d.text));
    diag_free(&d);
    exp_search_free(s2);
    fe_config_free(cfg2);
  }
  exp_search_free(s);
  fe_config_free(cfg);
  ir_program_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read),         cmocka_unit_test(test_read_qat),
      cmocka_unit_test(test_errors),       cmocka_unit_test(test_space),
      cmocka_unit_test(test_space_by_type), cmocka_unit_test(test_objectives),
      cmocka_unit_test(test_front_and_hypervolume), cmocka_unit_test(test_replay),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
