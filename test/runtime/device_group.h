/* test/runtime/device_group.h — the GPU engine's groups of trials (runtime/device.h) against
 * the same trials each alone; shared by test_device.c (on a GPU) and test_device_emu.c (over
 * the emulated driver, without one).  Include after cmocka.h and runtime.h. */
#ifndef JSCC_TEST_DEVICE_GROUP_H
#define JSCC_TEST_DEVICE_GROUP_H
#include <stdlib.h>
#include <string.h>

enum { GT = 3 }; /* trials of the group test */

/* Trial b's model (its own initialisation) and zeroed Adam state. */
static void group_trial(const Graph *train, int b, RtState **s, OptimState *o) {
  Diag d;
  diag_init(&d, stderr);
  assert_int_equal(rt_state_new(train, s, &d), JS_OK);
  assert_int_equal(rt_optim_state_new(OPTIM_ADAM, (*s)->total, o, &d), JS_OK);
  diag_free(&d);
  Rng rng;
  rt_rng_seed(&rng, 100 + (uint64_t)b);
  rt_state_init(*s, &rng);
}

/* Trial b of the group against the same trial trained alone: the same kernel block for
 * block, so equal to the bit. */
static void group_same(const RtState *g, const OptimState *go, const RtState *a, const OptimState *ao) {
  assert_memory_equal(g->data, a->data, g->total * sizeof(float));
  assert_memory_equal(g->i64, a->i64, (size_t)g->n * sizeof(int64_t));
  assert_memory_equal(go->m, ao->m, g->total * sizeof(float));
  assert_memory_equal(go->v, ao->v, g->total * sizeof(float));
  assert_int_equal(go->step, ao->step);
}

/* 3 trials of the training graph `train` (learning rates 1e-3, 3e-3, 1e-2; seeds 1, 2, 3;
 * their own initialisations; trials 0 and 1 share a row order, trial 2 has its own) for 2
 * epochs as one group, each trial also alone: models, optimizer states and metrics equal to
 * the bit, then the group's evaluation against each trial's. */
static void device_group_check(const Graph *train, const RtDataset *dset) {
  OptimConfig oc;
  rt_optim_default(&oc, OPTIM_ADAM);
  RtState *gs[GT], *as[GT];
  OptimState go[GT], ao[GT], *gop[GT];
  RtDev *grp = NULL, *alone[GT];
  uint64_t seeds[GT] = {1, 2, 3};
  double lr[GT] = {1e-3, 3e-3, 1e-2}, gm[GT][2] = {{0}}, am[GT][2] = {{0}};
  Diag d;
  diag_init(&d, stderr);
  for (int b = 0; b < GT; b++) {
    group_trial(train, b, &gs[b], &go[b]);
    group_trial(train, b, &as[b], &ao[b]);
    gop[b] = &go[b];
    RtDevConfig c = {.train = train, .eval = train, .s = as[b], .oc = &oc, .batch = 256, .seed = seeds[b]};
    assert_int_equal(rt_dev_open(&c, &alone[b], &d), JS_OK);
  }
  RtDevConfig c = {.train = train, .eval = train, .s = gs[0], .oc = &oc, .batch = 256, .seeds = seeds};
  assert_int_equal(rt_dev_open_group(&c, GT, &grp, &d), JS_OK);
  assert_int_equal(rt_dev_trials(grp), GT);
  char what[256];
  rt_dev_describe(grp, what, sizeof what);
  printf("group: %s\n", what);
  int64_t n = dset->train.n, *o1 = malloc((size_t)n * sizeof *o1), *o2 = malloc((size_t)n * sizeof *o2);
  const int64_t *orders[GT] = {o1, o1, o2};
  for (int e = 0; e < 2; e++) {
    Rng r;
    rt_rng_seed(&r, 10 + (uint64_t)e), rt_rng_permutation(&r, o1, n);
    rt_rng_seed(&r, 20 + (uint64_t)e), rt_rng_permutation(&r, o2, n);
    assert_int_equal(rt_dev_train_epoch_group(grp, gs, gop, &dset->train, orders, n, n - 7, lr, gm, &d), JS_OK);
    for (int b = 0; b < GT; b++)
      assert_int_equal(rt_dev_train_epoch(alone[b], as[b], &ao[b], &dset->train, orders[b], n, n - 7, lr[b], am[b], &d), JS_OK);
  }
  for (int b = 0; b < GT; b++) {
    printf("trial %d (lr %g): loss %.8f correct %.0f, alone %.8f %.0f\n", b, lr[b], gm[b][0], gm[b][1], am[b][0], am[b][1]);
    group_same(gs[b], &go[b], as[b], &ao[b]);
    assert_true(gm[b][0] == am[b][0] && gm[b][1] == am[b][1]);
  }
  assert_true(memcmp(gs[0]->data, gs[1]->data, gs[0]->total * sizeof(float)) != 0); /* the trials differ */
  /* evaluation: the group's logits are each trial's */
  double gl[GT], al;
  const float *glog[GT], *alog;
  int64_t steps[GT];
  for (int b = 0; b < GT; b++) steps[b] = go[b].step;
  assert_int_equal(rt_dev_eval_group(grp, (const RtState *const *)gs, &dset->val, steps, gl, glog, &d), JS_OK);
  for (int b = 0; b < GT; b++) {
    assert_int_equal(rt_dev_eval(alone[b], as[b], &dset->val, ao[b].step, &al, &alog, &d), JS_OK);
    assert_true(gl[b] == al);
    assert_memory_equal(glog[b], alog, (size_t)dset->val.n * RT_JSC_CLASSES * sizeof(float));
  }
  /* the one-trial calls refuse a group */
  Diag q;
  diag_init(&q, NULL);
  double m1[2] = {0, 0};
  assert_int_equal(rt_dev_train_epoch(grp, gs[0], &go[0], &dset->train, o1, n, n, 1e-3, m1, &q), JS_ERR);
  assert_non_null(strstr(sb_str(&q.text), "group"));
  diag_free(&q);
  for (int b = 0; b < GT; b++) {
    rt_dev_close(alone[b]);
    rt_state_free(gs[b]), rt_state_free(as[b]);
    rt_optim_state_free(&go[b]), rt_optim_state_free(&ao[b]);
  }
  rt_dev_close(grp);
  free(o1), free(o2);
  diag_free(&d);
}

#endif
