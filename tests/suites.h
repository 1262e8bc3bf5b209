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
Suite *suite_model(void);       /* check_model.c: the classifier */
Suite *suite_classify(void);    /* check_classify.c: through the cache */
Suite *suite_cli_classify(void); /* check_cli_classify.c: classify commands */
Suite *suite_metrics(void);     /* check_metrics.c: Prometheus exposition */
Suite *suite_log(void);         /* check_log.c: JSON log lines */
Suite *suite_feedback(void);    /* check_feedback.c: feedback on LMDB */
Suite *suite_cli_perf(void);    /* check_cli_perf.c: bench classify, loadtest */
Suite *suite_cli_feedback(void); /* check_cli_feedback.c: feedback commands */
Suite *suite_fbstore_redis(void); /* check_fbstore_redis.c: feedback in Redis */
Suite *suite_feedback_redis(void); /* check_feedback_redis.c: through the API */
Suite *suite_service(void);     /* check_service.c: the example HTTP service */

/* A fresh private directory under $TMPDIR; the caller frees the string
 * and removes the tree with tt_rmtree(). */
char *tt_mkdtemp(void);
void tt_rmtree(const char *path);

/* The build directory ($TC_BUILD, default "build"). */
const char *tt_build_dir(void);

#endif
