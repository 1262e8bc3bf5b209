/*
 * suites.h - the Check suites of the test binary and the helpers they
 * share. check_main.c runs them all; CK_RUN_SUITE=name runs one.
 */
#ifndef TC_TEST_SUITES_H
#define TC_TEST_SUITES_H

#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "tutorcache.h"

Suite *suite_error(void);            /* check_error.c: codes, allocator */
Suite *suite_key(void);              /* check_key.c: hashing, canonical JSON */
void suite_keyspace(Suite *s);       /* check_keyspace.c: the keys in Redis */
Suite *suite_config(void);           /* check_config.c: options, env, file */
void suite_config_values(Suite *s);  /* check_config_values.c: bad values,
                                        namespaces, URLs */
void suite_config_secrets(Suite *s); /* check_config_secrets.c: no URL
                                        secret in messages, masks, logs */
Suite *suite_l1(void);               /* check_l1.c */
void suite_l1_threads(Suite *s);     /* check_l1_threads.c */
Suite *suite_cache_ns(void);         /* check_cache_ns.c: namespace handles */
Suite *suite_store_redis(void);      /* check_store_redis.c */
void suite_store_redis_faults(Suite *s); /* check_store_redis_faults.c */
Suite *suite_store_lmdb(void);           /* check_store_lmdb.c */
Suite *suite_tls(void);             /* check_tls.c: the Redis store over TLS */
Suite *suite_cache(void);           /* check_cache.c: tiers, TTL, loaders */
void suite_cache_ops(Suite *s);     /* check_cache_ops.c: batches, counters */
void suite_cache_failure(Suite *s); /* check_cache_failure.c: degraded */
void suite_cache_timeout(Suite *s); /* check_cache_timeout.c: deadlines */
Suite *suite_cache_full(void);      /* check_cache_full.c: a full store */
Suite *suite_errmsg(void); /* check_errmsg.c: no message says a word twice */
Suite *suite_concurrency(void);    /* check_concurrency.c: threads (tsan) */
Suite *suite_coherence(void);      /* check_coherence.c: L1 across processes */
void suite_coherence_l1(Suite *s); /* check_coherence_l1.c: L1's side */
void suite_coherence_cluster(Suite *s); /* check_coherence_cluster.c */
void suite_coherence_read(Suite *s);  /* check_coherence_read.c: its messages */
Suite *suite_alloc(void);             /* check_alloc.c: failing allocator */
Suite *suite_cli(void);               /* check_cli.c: the built binary */
void suite_cli_ops(Suite *s);         /* check_cli_ops.c: its failures, output,
                                         bench */
Suite *suite_fmt(void);               /* check_fmt.c: doubles as %g text */
Suite *suite_normalize(void);         /* check_normalize.c: normalization */
void suite_normalize_props(Suite *s); /* check_normalize_props.c: over many
                                         texts */
Suite *suite_model(void);             /* check_model.c: training, prediction */
Suite *suite_model_train(void);  /* check_model_train.c: weights, calibration */
Suite *suite_model_file(void);   /* check_model_file.c: the model file */
Suite *suite_model_memory(void); /* check_model_memory.c: corrections */
void suite_model_memory_stress(Suite *s); /* check_model_memory_stress.c:
                                             its threads, failing allocator */
Suite *suite_classify(void);       /* check_classify.c: through the cache */
Suite *suite_classify_ab(void);    /* check_classify_ab.c: A/B rollout */
Suite *suite_classify_hit(void);   /* check_classify_hit.c: the packed L1
                                      form */
Suite *suite_classify_batch(void); /* check_classify_batch.c: a batch's
                                     writes */
Suite *suite_shadow(void); /* check_shadow.c: cached answers checked fresh */
/* check_classify.c: text classified by c, from the source want, or the
 * test fails; the result is the caller's. */
tc_result *cl_classify_ok(tc_classifier *c, const char *text, tc_source want);
Suite *suite_cli_classify(void); /* check_cli_classify.c: classify commands */
Suite *suite_cli_warm(void);     /* check_cli_warm.c: warm */
Suite *suite_popular(void);      /* check_popular.c: track_popular */
Suite *suite_served(void);       /* check_served.c: count_intents */
Suite *suite_service_warm(void); /* check_service_warm.c: POST warm, the
                                    stats' cache configuration */
void suite_cli_train(Suite *s);  /* check_cli_train.c: train, model info,
                                    eval */
Suite *suite_metrics(void);      /* check_metrics.c: Prometheus exposition */
Suite *suite_log(void);          /* check_log.c: JSON log lines */
Suite *suite_feedback(void);     /* check_feedback.c: feedback on LMDB */
Suite *suite_report(void); /* check_report.c: feedback analytics, report */
void suite_feedback_ids(Suite *su);    /* check_feedback_ids.c */
void suite_feedback_import(Suite *su); /* check_feedback_import.c */
void suite_feedback_model(Suite *su);  /* check_feedback_model.c */
void suite_feedback_queue(Suite *su);  /* check_feedback_queue.c: queue,
                                          retention, threads */
void suite_feedback_spool(Suite *su);  /* check_feedback_spool.c */
Suite *suite_cli_perf(void);           /* check_cli_perf.c: bench classify */
Suite *suite_bench_scripts(void);  /* check_bench_scripts.c: bench scripts */
void suite_cli_loadtest(Suite *s); /* check_cli_loadtest.c: loadtest */
Suite *suite_cli_feedback(void);   /* check_cli_feedback.c: feedback commands */
void suite_cli_fb_analytics(Suite *s);  /* check_cli_fb_analytics.c */
void suite_cli_served(Suite *s);        /* check_cli_served.c */
void suite_cli_feedback_io(Suite *s);   /* check_cli_feedback_io.c: import,
                                           export */
void suite_cli_feedback_kill(Suite *s); /* check_cli_feedback_kill.c */
void suite_cli_audit(Suite *s);         /* check_cli_audit.c: audit log, purge,
                                           password_file */
Suite *suite_cli_learn(void);           /* check_cli_learn.c: feedback learn */
Suite *suite_fbstore_redis(void); /* check_fbstore_redis.c: feedback in Redis */
void suite_fbstore_redis_faults(Suite *s); /* check_fbstore_redis_faults.c */
Suite *suite_feedback_redis(void); /* check_feedback_redis.c: through the API */
void suite_feedback_store(Suite *s); /* check_feedback_store.c: feedback's
                                        own store, eviction warnings */
Suite *suite_cluster(void);          /* check_cluster.c: Redis Cluster */
void suite_cluster_url(Suite *s);    /* check_cluster_url.c: its URLs */
void suite_cluster_ops(Suite *s);    /* check_cluster_ops.c: the API on it,
                                        failover */
Suite *suite_service(void); /* check_service.c: the example HTTP service */
Suite *suite_seal(void);    /* check_seal.c: encryption at rest, keyed keys */
void suite_service_ops(Suite *s);    /* check_service_ops.c: its options,
                                        environment, logs, unit file */
void suite_service_abuse(Suite *s);  /* check_service_abuse.c: its limits
                                        and deadlines on clients */
void suite_service_ab(Suite *s);     /* check_service_ab.c: --candidate,
                                        arms, feedback's model */
void suite_service_audit(Suite *s);  /* check_service_audit.c: X-Actor,
                                        DELETE feedback, SIGHUP */
void suite_service_report(Suite *s); /* check_service_report.c: GET
                                        feedback/report */

/* A fresh private directory under $TMPDIR; the caller frees the string
 * and removes the tree with tt_rmtree(). */
char *tt_mkdtemp(void);
void tt_rmtree(const char *path);

/*
 * A test case's directory, made and removed by the parent process (pass
 * these two as an unchecked fixture), and a test's own directory inside
 * it: a forked test that fails exits without its checked teardown, and
 * what it left goes with the case's directory. Outside such a case
 * tt_test_dir() falls back to tt_mkdtemp(). The caller frees the test's
 * path and removes it with tt_rmtree().
 */
void tt_case_setup(void);
void tt_case_teardown(void);
const char *tt_case_dir(void);
char *tt_test_dir(void);

/* The build directory ($TC_BUILD, default "build"). */
const char *tt_build_dir(void);

/* Whether the suites run under valgrind (make valgrind sets TC_VALGRIND),
 * where time-bound tests stretch their windows and shrink their loops. */
int tt_under_valgrind(void);

/* Milliseconds of a monotonic clock, and a sleep of ms milliseconds that
 * a signal does not cut short. */
int64_t tt_now_ms(void);
/* How a host classifier of the tests hands back its answer: *json a
 * tc_malloc'd copy of answer; TC_OK, or TC_ENOMEM. */
int tt_host_reply(char **json, const char *answer);

/* A host classifier (tc_classifier_options.fn) that answers every text
 * with the JSON of its fn_userdata (a const char *, a result as a host
 * model gives it); TC_ENOMEM when the copy cannot be allocated. */
int tt_host_answer(char **json, const char *text, size_t len, void *ud);

/* A host classifier that answers every text
 * {"intent":"explanation","confidence":0.7}. */
int tt_host_explains(char **json, const char *text, size_t len, void *ud);

/* A classifier on c whose model is tt_host_explains (fn_version "v1"):
 * "explanation" unless feedback corrects it. The test fails, with
 * tc_errmsg(), when it cannot open. */
tc_classifier *tt_host_classifier(tc_cache *c);

/* A correction of TT_LOOP_TEXT from tt_host_explains' "explanation" to
 * "debugging"; tt_expect_loop_corrected asserts c answers TT_LOOP_TEXT
 * with it, from feedback. */
#define TT_LOOP_TEXT "why does my loop never end"
#define TT_LOOP_CORRECTION                                                     \
    "{\"text\":\"Why does my loop never end?\",\"original_intent\":"           \
    "\"explanation\",\"correct_intent\":\"debugging\","                        \
    "\"original_confidence\":0.7,\"feedback_type\":\"correction\"}"
void tt_expect_loop_corrected(tc_classifier *c);
void tt_sleep_ms(int64_t ms);

/* Writes text to path (created or truncated) with the permission bits
 * mode; the test fails when it cannot. */
void tt_write_file(const char *path, const char *text, int mode);

/* The newlines in a string, and in a file (which must be there). */
size_t tt_count_lines(const char *s);
long tt_file_lines(const char *path);
/* The occurrences of needle (not empty) in hay, not overlapping. */
int tt_count_of(const char *hay, const char *needle);

/* Copies the file from, or its first n bytes, to the file to (created or
 * truncated); the test fails when it cannot. */
void tt_copy_file(const char *from, const char *to);
void tt_copy_head(const char *from, const char *to, long n);

/* A loopback TCP port the kernel just handed out for port 0 and that was
 * released again: nothing listens there (until another process takes
 * it). -1 when no socket could be bound. */
int tt_free_port(void);

/* Where the value of one series ("name{labels}") starts in a Prometheus
 * text (the library's or the service's), NULL when it is absent. */
const char *tt_metric_at(const char *text, const char *series);

/* A cache on memory: that neither the environment nor a config file can
 * change, with TC_OPT_* flags added; the test fails when it does not
 * open. The caller closes it. */
tc_cache *tt_open_memory(unsigned flags);

/*
 * The counting allocator (tt_alloc.c). tt_alloc_install() resets the
 * counters and routes the library's allocations through it: attempt n
 * fails (and every later one with rest), 0 never; tt_alloc_restore()
 * gives the library back the C library's functions. While paused, the
 * test's own allocations through the library never fail (nor count as
 * attempts). calls counts the attempts since the install, live the blocks
 * outstanding; injected says whether a failure happened.
 */
void tt_alloc_install(long n, int rest);
void tt_alloc_restore(void);
void tt_alloc_pause(int on);
long tt_alloc_calls(void);
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
