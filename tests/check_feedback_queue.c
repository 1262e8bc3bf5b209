/*
 * check_feedback_queue.c - what happens to feedback once stored: the
 * retraining queue (consume, ack, claim, a consumer that dies), retention,
 * threads submitting at once, and failing allocations; and, through
 * check_feedback_spool.c, the spool. Part of the feedback suite
 * (check_feedback.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "feedback_fixture.h"

/* ---- the retraining queue -------------------------------------------------
 */

/* The number of the next record submit_n makes: it goes on from test to
 * test, which run in one process under CK_FORK=no (valgrind). */
static int next;

/* n records of their own: "q0", "q1", ... on from the last call's. */
static void submit_n(tc_cache *h, int n)
{
    char json[256];

    for (int i = 0; i < n; i++) {
        snprintf(json, sizeof(json),
                 "{\"text\":\"q%d\",\"original_intent\":\"a\","
                 "\"correct_intent\":\"b\",\"original_confidence\":0.5,"
                 "\"feedback_type\":\"correction\"}",
                 next++);
        ck_assert_int_eq(fb_submit(h, json, NULL), TC_OK);
    }
}

static tc_feedback_batch *consume(tc_cache *h, const char *who, size_t max,
                                  int64_t idle)
{
    tc_feedback_batch *b = NULL;

    ck_assert_msg(tc_feedback_consume(&b, h, who, max, idle) == TC_OK,
                  "consume: %s", tc_errmsg());
    ck_assert_ptr_nonnull(b);
    return b;
}

START_TEST(test_consume_ack_claim)
{
    tc_cache *h = fb_open(NULL);
    tc_feedback_batch *a, *b;
    int first = next;
    char *s;

    submit_n(h, 5);
    a = consume(h, "A", 10, 50);
    ck_assert_uint_eq(a->n, 5);
    for (size_t i = 0; i < a->n; i++) {
        char text[32];

        fb_expect_id(a->ids[i]);
        ck_assert_ptr_nonnull(strstr(a->records[i], a->ids[i]));
        /* in the order they were stored */
        snprintf(text, sizeof(text), "\"text\":\"q%zu\"", first + i);
        ck_assert_ptr_nonnull(strstr(a->records[i], text));
    }
    ck_assert_int_eq(tc_feedback_ack(h, a->ids, 3), TC_OK);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(s, "pending"), 2);
    ck_assert_int_eq(fb_stat_num(s, "queued"), 0);
    ck_assert_int_eq(fb_stat_num(s, "kept"), 5);
    tc_free(s);
    /* within the idle time, nobody else gets A's two */
    b = consume(h, "B", 10, 60000);
    ck_assert_uint_eq(b->n, 0);
    tc_feedback_batch_free(b);
    tt_sleep_ms(80);
    b = consume(h, "B", 10, 50);
    ck_assert_uint_eq(b->n, 2);
    ck_assert_str_eq(b->ids[0], a->ids[3]);
    ck_assert_str_eq(b->ids[1], a->ids[4]);
    ck_assert_str_eq(b->records[0], a->records[3]);
    /* now with B: not with C, nor back with A, within the idle time */
    tc_feedback_batch_free(a);
    a = consume(h, "C", 10, 60000);
    ck_assert_uint_eq(a->n, 0);
    tc_feedback_batch_free(a);
    ck_assert_int_eq(tc_feedback_ack(h, b->ids, b->n), TC_OK);
    ck_assert_int_eq(tc_feedback_ack(h, b->ids, b->n), TC_OK); /* again */
    tc_feedback_batch_free(b);
    tt_sleep_ms(80);
    b = consume(h, "D", 10, 50);
    ck_assert_uint_eq(b->n, 0);
    tc_feedback_batch_free(b);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(s, "pending"), 0);
    ck_assert_int_eq(fb_stat_num(s, "kept"), 5); /* acked records stay */
    tc_free(s);
    /* new records come after */
    submit_n(h, 3);
    b = consume(h, "D", 2, 50);
    ck_assert_uint_eq(b->n, 2);
    tc_feedback_batch_free(b);
    b = consume(h, "D", 2, 60000);
    ck_assert_uint_eq(b->n, 1);
    tc_feedback_batch_free(b);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_consume_args)
{
    tc_cache *h = fb_open(NULL);
    tc_feedback_batch *b = (tc_feedback_batch *)1;
    const char *bad[] = {"not an id"};

    ck_assert_int_eq(tc_feedback_consume(&b, h, "", 1, 0), TC_EINVAL);
    ck_assert_ptr_null(b);
    ck_assert_int_eq(tc_feedback_consume(&b, h, "A", 0, 0), TC_EINVAL);
    ck_assert_int_eq(tc_feedback_consume(&b, h, NULL, 1, 0), TC_EINVAL);
    ck_assert_int_eq(tc_feedback_ack(h, bad, 1), TC_EINVAL);
    ck_assert_str_eq(tc_errmsg(), "ids[0]: not a feedback id");
    ck_assert_int_eq(tc_feedback_ack(h, NULL, 1), TC_EINVAL);
    ck_assert_int_eq(tc_feedback_ack(h, NULL, 0), TC_OK);
    tc_feedback_batch_free(NULL);
    tc_import_report_free(NULL);
    tc_cache_close(h);
}
END_TEST

/*
 * A consumer process takes 3 records and dies without acknowledging
 * them: nobody gets them within the idle time, another consumer does
 * after it. The child reports the ids it took through a pipe.
 */
START_TEST(test_consumer_dies)
{
    tc_cache *h = fb_open(NULL);
    tc_feedback_batch *b;
    char ids[3][TC_FEEDBACK_ID_MAX];
    int fds[2], status;
    pid_t pid;

    submit_n(h, 5);
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char url[600];
        tc_options o;
        tc_cache *c = NULL;
        tc_feedback_batch *cb = NULL;
        char out[3][TC_FEEDBACK_ID_MAX];

        memset(out, 0, sizeof(out));
        close(fds[0]);
        snprintf(url, sizeof(url), "%s", fb_url());
        tc_options_init(&o);
        o.store_url = url;
        o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
        o.lmdb_map_bytes = (size_t)64 << 20;
        if (tc_cache_open(&c, &o) == TC_OK &&
            tc_feedback_consume(&cb, c, "doomed", 3, 0) == TC_OK &&
            cb->n == 3) {
            for (int i = 0; i < 3; i++) {
                snprintf(out[i], sizeof(out[i]), "%s", cb->ids[i]);
            }
        }
        /* killed: no ack, no close */
        _exit(write(fds[1], out, sizeof(out)) == (ssize_t)sizeof(out) ? 0 : 1);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], ids, sizeof(ids)), (ssize_t)sizeof(ids));
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    for (int i = 0; i < 3; i++) {
        fb_expect_id(ids[i]);
    }
    /* the two the child did not take, and nothing of the child's */
    b = consume(h, "survivor", 10, 60000);
    ck_assert_uint_eq(b->n, 2);
    for (size_t i = 0; i < b->n; i++) {
        for (int k = 0; k < 3; k++) {
            ck_assert_str_ne(b->ids[i], ids[k]);
        }
    }
    ck_assert_int_eq(tc_feedback_ack(h, b->ids, b->n), TC_OK);
    tc_feedback_batch_free(b);
    tt_sleep_ms(80);
    b = consume(h, "survivor", 10, 50);
    ck_assert_uint_eq(b->n, 3);
    for (int k = 0; k < 3; k++) {
        int found = 0;

        for (size_t i = 0; i < b->n; i++) {
            found += strcmp(b->ids[i], ids[k]) == 0;
        }
        ck_assert_msg(found == 1, "%s claimed %d times", ids[k], found);
    }
    ck_assert_int_eq(tc_feedback_ack(h, b->ids, b->n), TC_OK);
    tc_feedback_batch_free(b);
    tc_cache_close(h);
}
END_TEST

/* ---- retention --------------------------------------------------------------
 */

START_TEST(test_retention)
{
    /* 2 s: each half of the test must run within the retention, which
     * a sanitized build on a loaded machine did not always do in 0.5 s */
    tc_cache *h = fb_open("{\"feedback_retention\": 2}");
    tc_feedback_batch *b;
    char id[TC_FEEDBACK_ID_MAX], **lines, *s;
    size_t n;

    submit_n(h, 3);
    b = consume(h, "A", 1, 0); /* one of them pending */
    ck_assert_uint_eq(b->n, 1);
    tc_feedback_batch_free(b);
    ck_assert_uint_eq(fb_export_count(h), 3);
    tt_sleep_ms(2200);
    /* nothing put since: reading trims all the same */
    ck_assert_uint_eq(fb_export_count(h), 0);
    ck_assert_int_eq(fb_submit(h, fb_base_json, id), TC_OK);
    n = fb_export_all(h, &lines);
    ck_assert_uint_eq(n, 1);
    ck_assert_ptr_nonnull(strstr(lines[0], id));
    fb_free_lines(lines, n);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(s, "kept"), 1);
    ck_assert_int_eq(fb_stat_num(s, "pending"), 0);
    ck_assert_int_eq(fb_stat_num(s, "queued"), 1);
    ck_assert_int_eq(fb_stat_num(s, "correction"), 4); /* counts stay */
    tc_free(s);
    b = consume(h, "A", 10, 1);
    ck_assert_uint_eq(b->n, 1);
    ck_assert_str_eq(b->ids[0], id);
    tc_feedback_batch_free(b);
    tc_cache_close(h);
}
END_TEST

/* Trimming by puts alone: old records go as new ones arrive. */
START_TEST(test_retention_by_put)
{
    tc_cache *h = fb_open("{\"feedback_retention\": 0.2}");
    tc__store *st = tc__cache_store(h->core);
    tc__fb_stats fs;
    tc__err err;

    submit_n(h, 10);
    tt_sleep_ms(300);
    submit_n(h, 1);
    ck_assert_int_eq(tc__fb_lmdb_ops.stats(st, &fs, &err), TC_OK);
    ck_assert_uint_eq(fs.kept, 1);
    ck_assert_uint_eq(fs.queued, 1);
    tc__fb_stats_release(&fs);
    tc_cache_close(h);
}
END_TEST

/* ---- threads and allocation failures ------------------------------------- */

typedef struct worker {
    tc_cache *h;
    int id;
    int fails;
    char ids[100][TC_FEEDBACK_ID_MAX];
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char json[256];

    for (int i = 0; i < 100; i++) {
        snprintf(json, sizeof(json),
                 "{\"text\":\"t%d-%d\",\"original_intent\":\"a\","
                 "\"correct_intent\":\"b\",\"original_confidence\":0.5,"
                 "\"feedback_type\":\"correction\"}",
                 w->id, i);
        if (tc_feedback_submit_json(w->ids[i], NULL, w->h, json,
                                    strlen(json)) != TC_OK) {
            w->fails++;
        }
    }
    return NULL;
}

START_TEST(test_threads)
{
    tc_cache *h = fb_open(NULL);
    pthread_t th[4];
    worker *w = calloc(4, sizeof(*w));
    char *s;

    ck_assert_ptr_nonnull(w);
    for (int i = 0; i < 4; i++) {
        w[i].h = h;
        w[i].id = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].fails, 0);
    }
    ck_assert_uint_eq(fb_export_count(h), 400);
    s = fb_stats(h);
    ck_assert_int_eq(fb_stat_num(s, "correction"), 400);
    tc_free(s);
    free(w);
    tc_cache_close(h);
}
END_TEST

static int ok_or_nomem(int rc)
{
    return rc == TC_OK || rc == TC_ENOMEM;
}

/*
 * The n-th allocation of a sequence of feedback calls fails, for every n
 * until a run completes: each call returns its result or TC_ENOMEM, and
 * nothing is left allocated once the handle is closed.
 */
START_TEST(test_alloc_failures)
{
    static const char csv[] =
        "text,original_intent,correct_intent,original_confidence,"
        "feedback_type,correct_techniques\n\"a, b\",x,y,0.5,correction,p|q\n"
        "c,x,x,0.5,confirmation,\n";
    long n;
    int done = 0;

    for (n = 1; !done && n < 5000; n++) {
        tc_cache *h = NULL;
        char id[TC_FEEDBACK_ID_MAX], *s = NULL;
        tc_import_report *r = NULL;
        tc_feedback_batch *b = NULL;
        FILE *f;
        uint64_t cnt;
        int rc;

        /* the suites' counting allocator (tt_alloc.c): opening and
         * closing the handle never fail, the calls between do */
        tt_alloc_install(n, 0);
        tt_alloc_pause(1);
        h = fb_open(NULL);
        tt_alloc_pause(0);
        ck_assert(ok_or_nomem(fb_submit(h, fb_base_json, id)));
        rc = fb_submit(h, "{\"text\":1}", id);
        ck_assert(rc == TC_EINVAL || rc == TC_ENOMEM);
        f = fmemopen((void *)csv, strlen(csv), "r");
        ck_assert(ok_or_nomem(
            tc_feedback_import(&r, h, f, TC_IMPORT_AUTO, 0, NULL, NULL)));
        fclose(f);
        tc_import_report_free(r);
        ck_assert(ok_or_nomem(tc_feedback_stats_json(&s, h)));
        tc_free(s);
        ck_assert(ok_or_nomem(tc_feedback_consume(&b, h, "A", 10, 0)));
        if (b && b->n > 0) {
            ck_assert(ok_or_nomem(tc_feedback_ack(h, b->ids, b->n)));
        }
        tc_feedback_batch_free(b);
        f = tmpfile();
        ck_assert(ok_or_nomem(tc_feedback_export(h, f, &cnt)));
        fclose(f);
        done = !tt_alloc_injected();
        tt_alloc_pause(1);
        tc_cache_close(h);
        ck_assert_msg(tt_alloc_live() == 0,
                      "failing allocation %ld: %ld blocks leaked", n,
                      tt_alloc_live());
        tt_alloc_restore();
        tt_rmtree(fb_path("db"));
    }
    ck_assert_msg(done, "never ran without a failure");
}
END_TEST

void suite_feedback_queue(Suite *su)
{
    fb_add(su, "consume_ack_claim", test_consume_ack_claim);
    fb_add(su, "consume_args", test_consume_args);
    fb_add(su, "consumer_dies", test_consumer_dies);
    fb_add(su, "retention", test_retention);
    /* LMDB only: it reads the LMDB store's own stats (tc__fb_lmdb_ops) */
    fb_add_lmdb(su, "retention_by_put", test_retention_by_put);
    suite_feedback_spool(su);
    fb_add(su, "threads", test_threads);
    fb_add(su, "alloc_failures", test_alloc_failures);
}
