/*
 * suites.h - the Check suites of the test binary and the helpers they
 * share. check_main.c runs them all; CK_RUN_SUITE=name runs one.
 */
#ifndef TC_TEST_SUITES_H
#define TC_TEST_SUITES_H

#include <check.h>

Suite *suite_error(void);       /* check_error.c: codes, allocator */
Suite *suite_key(void);         /* check_key.c: hashing, canonical JSON */
Suite *suite_config(void);      /* check_config.c: options, env, file */
Suite *suite_l1(void);          /* check_l1.c */
Suite *suite_store_redis(void); /* check_store_redis.c */
Suite *suite_store_lmdb(void);  /* check_store_lmdb.c */
Suite *suite_cache(void);       /* check_cache.c: tiers, TTL, degraded */
Suite *suite_concurrency(void); /* check_concurrency.c: threads (tsan) */
Suite *suite_alloc(void);       /* check_alloc.c: failing allocator */
Suite *suite_cli(void);         /* check_cli.c: the built binary */
Suite *suite_normalize(void);   /* check_normalize.c: normalization */
Suite *suite_model(void);       /* check_model.c: training, prediction */
Suite *suite_model_train(void); /* check_model_train.c: weights, calibration */
Suite *suite_model_file(void);  /* check_model_file.c: the model file */
Suite *suite_model_memory(void); /* check_model_memory.c: corrections */
void suite_model_memory_stress(Suite *s); /* check_model_memory_stress.c:
                                             its threads, failing allocator */
Suite *suite_classify(void);    /* check_classify.c: through the cache */
Suite *suite_cli_classify(void); /* check_cli_classify.c: classify commands */
Suite *suite_metrics(void);     /* check_metrics.c: Prometheus exposition */
Suite *suite_log(void);         /* check_log.c: JSON log lines */
Suite *suite_feedback(void);    /* check_feedback.c: feedback on LMDB */
Suite *suite_cli_perf(void);    /* check_cli_perf.c: bench classify, loadtest */
Suite *suite_cli_feedback(void); /* check_cli_feedback.c: feedback commands */
Suite *suite_cli_learn(void);   /* check_cli_learn.c: feedback learn */
Suite *suite_fbstore_redis(void); /* check_fbstore_redis.c: feedback in Redis */
Suite *suite_feedback_redis(void); /* check_feedback_redis.c: through the API */
Suite *suite_service(void);     /* check_service.c: the example HTTP service */
void suite_service_ops(Suite *s); /* check_service_ops.c: its options,
                                     environment, logs, unit file */
void suite_service_abuse(Suite *s); /* check_service_abuse.c: its limits
                                       and deadlines on clients */

/* A fresh private directory under $TMPDIR; the caller frees the string
 * and removes the tree with tt_rmtree(). */
char *tt_mkdtemp(void);
void tt_rmtree(const char *path);

/* The build directory ($TC_BUILD, default "build"). */
const char *tt_build_dir(void);

/*
 * The counting allocator (tt_alloc.c). tt_alloc_install() resets the
 * counters and routes the library's allocations through it: attempt n
 * fails (and every later one with rest), 0 never; tt_alloc_restore()
 * gives the library back the C library's functions. While paused, the
 * test's own allocations through the library never fail. live counts
 * the blocks outstanding; injected says whether a failure happened.
 */
void tt_alloc_install(long n, int rest);
void tt_alloc_restore(void);
void tt_alloc_pause(int on);
long tt_alloc_live(void);
int tt_alloc_injected(void);

/*
 * Runs seq(ctx) with allocation n failing, for n = 1, 2, ... until a run
 * sees no failure. Each run must return TC_ENOMEM with a message when an
 * allocation failed (TC_OK otherwise) and leave no block allocated; what
 * names the sequence in failures. Returns the number of runs.
 */
#define TT_ALLOC_MAX_RUNS 100000
long tt_alloc_fail_each(int (*seq)(void *ctx), void *ctx, const char *what);

#endif
