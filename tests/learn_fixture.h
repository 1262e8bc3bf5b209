/*
 * learn_fixture.h - what the `feedback learn` suite (check_cli_learn.c)
 * stands on: the example model, trained once per case; per test, a temp
 * dir with its own copy of the model and a store (LMDB in that dir, or a
 * private Redis); and the steps of the loop as a user takes them through
 * the built binary (import records, learn, read the model's answers back),
 * each failing the test on anything it did not expect.
 */
#ifndef TC_TEST_LEARN_FIXTURE_H
#define TC_TEST_LEARN_FIXTURE_H

#include <stddef.h>
#include <stdio.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_harness.h"
#include "redis_fixture.h"

#define LF_TRAIN_DATA CLI_TRAIN_DATA
#define LF_CORRECTIONS "examples/corrections.jsonl" /* 9 records */

/* The stores every loop test runs on; a loop test's _i is one of these. */
enum { LF_LMDB, LF_REDIS, LF_NSTORES };

/* Check fixtures: the case's model dir; the test's dir and store. */
void lf_case_setup(void);
void lf_case_teardown(void);
void lf_setup(void);
void lf_teardown(void);

/* Makes every later run of the test use store kind k (LMDB by default);
 * LF_REDIS starts the test's server, which lf_redis() returns. */
void lf_use_store(int k);
trs *lf_redis(void);

/* The test's model file (not there until lf_model_copy() or a train),
 * and that path with a suffix (".prev"), in a buffer of its own. */
const char *lf_model(void);
const char *lf_beside(const char *suffix);

/* The test's model has fingerprint fp, and its ".prev" prev_fp unless
 * that is NULL. */
void lf_expect_fingerprints(const char *fp, const char *prev_fp);

/* The test's model becomes a copy of the example model. */
void lf_model_copy(void);

/* The test's model's own answers (classify without the cache) to n
 * texts: their intents. */
void lf_answers(const char *const *texts, size_t n, char out[][32]);

/* The k-th (0 or 1) of three intents of the example model that is not
 * intent: a correction of an answer the model did not give. */
const char *lf_other(const char *intent, int k);

/* Feedback records written as JSON Lines, for one `feedback import`. */
typedef struct lf_batch {
    FILE *fp;
    char *text;
    size_t len;
    int n;
} lf_batch;

void lf_batch_start(lf_batch *b);

/*
 * Adds a correction, or a confirmation when correct is original; the
 * strings are put in the JSON as they are (none needs escaping). user
 * NULL is anonymous; sec >= 0 stamps it sec seconds into a fixed hour,
 * else the store stamps it when it arrives.
 */
void lf_add(lf_batch *b, const char *text, const char *original,
            const char *correct, double conf, const char *user, int sec);

/* Imports the batch (and ends it), or a file of n records; every record
 * must be accepted. */
void lf_import(lf_batch *b);
void lf_import_file(const char *path, int n);

/* `feedback stats --json`, with the test's model when with_model. */
cJSON *lf_stats(int with_model);

/* Records not acknowledged: delivered and pending, or still queued. */
long lf_unacked(void);

/*
 * Runs `feedback learn --model MODEL` with more arguments (a NULL-ended
 * list), checks the exit code and stderr as expect() does, and returns
 * the JSON summary it printed; the caller deletes it.
 */
cJSON *lf_learn(int code, const char *err_part, ...);

/* The summary's counts as "R records: A applied, G agreed, O overruled,
 * C capped, H held, S skipped", in a static buffer; lf_expect_fates is a
 * macro so that a failure names the test's line. */
const char *lf_fates(const cJSON *sum);
#define lf_expect_fates(sum, want) ck_assert_str_eq(lf_fates(sum), (want))

#endif
