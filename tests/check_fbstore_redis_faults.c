/*
 * check_fbstore_redis_faults.c - feedback records in Redis when things go
 * wrong or get busy: a killed server, a paused one, keys of the wrong
 * type, a server that answers with the wrong type, threads putting and
 * consuming at once, failing allocations, and the put throughput (printed,
 * never asserted). Part of the fbstore_redis suite
 * (check_fbstore_redis.c).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "fbstore_fixture.h"

START_TEST(test_killed_server)
{
    tc__store *st = fr_start(200);
    tc__err err = {""};
    char **ids, **rec;
    size_t n;
    tc__fb_stats s;
    seen e = {0, 0, NULL, 0};
    const char *one = "1700000000000-0000000000000001";
    int64_t t0;
    recs r;
    int rc;

    fr_put_new(st, &r, 3, DAY_MS);
    trs_kill(fr_srv());
    t0 = tc__now_ms();
    ck_assert_int_eq(fr_put(st, &r, 30 * DAY_MS, &err), TC_EUNAVAIL);
    for (size_t i = 0; i < r.n; i++) {
        ck_assert_int_eq(r.items[i].status, TC_EUNAVAIL);
    }
    /* Fast: refused, not waited for (a bound, not a speed test). */
    ck_assert_int_lt(tc__now_ms() - t0, 1000);
    ck_assert_int_eq(tc__fb_redis_ops.count(st, "x", 1, &err), TC_EUNAVAIL);
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_EUNAVAIL);
    ck_assert_uint_eq(s.ncounts, 0);
    /* The breaker is open by now: refused without a try. */
    ck_assert_int_eq(
        tc__fb_redis_ops.consume(st, "c", 5, 1000, &ids, &rec, &n, &err),
        TC_EUNAVAIL);
    ck_assert_ptr_null(ids);
    ck_assert_ptr_nonnull(strstr(err.msg, "circuit open"));
    ck_assert_int_eq(tc__fb_redis_ops.ack(st, &one, 1, &err), TC_EUNAVAIL);
    ck_assert_int_eq(tc__fb_redis_ops.export(st, fr_collect, &e, &err),
                     TC_EUNAVAIL);
    ck_assert_int_eq(tc__fb_redis_ops.trim(st, 1000, NULL, &err), TC_EUNAVAIL);
    /* Back: the records are there once, and a replay is a duplicate. */
    ck_assert_int_eq(trs_restart(fr_srv()), 0);
    for (int i = 0; i < 200; i++) {
        rc = fr_put(st, &r, 30 * DAY_MS, &err);
        if (rc == TC_OK) {
            break;
        }
        tt_sleep_ms(20);
    }
    ck_assert_int_eq(rc, TC_OK);
    ck_assert_int_eq(r.items[0].status, TC_OK); /* a fresh server */
    ck_assert_int_eq(fr_put(st, &r, 30 * DAY_MS, &err), TC_OK);
    ck_assert_int_eq(r.items[0].status, TC_MISS);
    free(e.id);
    fr_recs_free(&r);
}
END_TEST

START_TEST(test_paused_server)
{
    tc__store *st = fr_start(100);
    tc__err err = {""};
    char *ok;
    int64_t t0;
    recs r;

    fr_put_new(st, &r, 3, DAY_MS);
    ok = trs_cmd(fr_srv(), "CLIENT PAUSE 2000 %s", "ALL");
    ck_assert_str_eq(ok, "OK");
    free(ok);
    t0 = tc__now_ms();
    ck_assert_int_eq(fr_put(st, &r, 30 * DAY_MS, &err), TC_ETIMEOUT);
    ck_assert_int_lt(tc__now_ms() - t0, 1000);
    ck_assert_msg(strstr(err.msg, "FEEDBACK PUT") &&
                      strstr(err.msg, "timed out after 100 ms"),
                  "%s", err.msg);
    ck_assert_int_eq(r.items[0].status, TC_ETIMEOUT);
    fr_recs_free(&r);
}
END_TEST

START_TEST(test_wrong_type)
{
    tc__store *st = fr_start(0);
    tc__store_health h;
    tc__err err = {""};
    tc__fb_stats s;
    char *ok;
    recs r;

    ok = trs_cmd(fr_srv(), "SET tc:fb:stream %s", "not a stream");
    ck_assert_str_eq(ok, "OK");
    free(ok);
    fr_recs_make(&r, 2, 0, DAY_MS);
    /* The records' failure, not the call's: the store answered. */
    ck_assert_int_eq(fr_put(st, &r, 30 * DAY_MS, &err), TC_OK);
    ck_assert_int_eq(r.items[0].status, TC_EPROTO);
    ck_assert_int_eq(r.items[1].status, TC_EPROTO);
    ck_assert_ptr_nonnull(strstr(err.msg, "WRONGTYPE"));
    st->ops->health(st, &h);
    ck_assert_uint_eq(h.errors, 2); /* the items, not the call */
    ck_assert_str_eq(h.breaker, "closed");
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_EPROTO);
    fr_recs_free(&r);
}
END_TEST

/* ---- threads ---------------------------------------------------------- */

#define NTHREADS 4
#define PER_THREAD 200

typedef struct worker {
    tc__store *st;
    recs r;
    int rc;
    char name[16];
    char **ids[64];
    size_t n[64], rounds;
} worker;

/* Puts its records in small batches, one by one the first time (the
 * scripts' digests are learnt by racing threads). */
static void *put_main(void *arg)
{
    worker *w = arg;
    tc__err err = {""};

    for (size_t from = 0; from < w->r.n && w->rc == TC_OK; from += 25) {
        w->rc = tc__fb_redis_ops.put(w->st, w->r.items + from,
                                     from == 0 ? 1 : 25, 30 * DAY_MS, &err);
        if (from == 0 && w->rc == TC_OK) {
            w->rc = tc__fb_redis_ops.put(w->st, w->r.items + 1, 24, 30 * DAY_MS,
                                         &err);
        }
    }
    return NULL;
}

/* Consumes and acknowledges until the queue is empty. */
static void *consume_main(void *arg)
{
    worker *w = arg;
    tc__err err = {""};
    char **recs_;
    size_t idle = 0;

    while (w->rc == TC_OK && w->rounds < 64 && idle < 3) {
        size_t k = w->rounds;

        w->rc = tc__fb_redis_ops.consume(w->st, w->name, 37, 60000, &w->ids[k],
                                         &recs_, &w->n[k], &err);
        if (w->rc != TC_OK) {
            break;
        }
        tc__fb_strings_free(recs_, w->n[k]);
        w->rc = tc__fb_redis_ops.ack(w->st, (const char *const *)w->ids[k],
                                     w->n[k], &err);
        idle = w->n[k] == 0 ? idle + 1 : 0;
        w->rounds++;
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_threads)
{
    tc__store *st = fr_start(0);
    worker w[NTHREADS];
    pthread_t th[NTHREADS];
    char **all = calloc(NTHREADS * PER_THREAD, sizeof(char *));
    size_t nall = 0;
    tc__err err = {""};
    tc__fb_stats s;

    ck_assert_ptr_nonnull(all);
    memset(w, 0, sizeof(w));
    for (int i = 0; i < NTHREADS; i++) {
        w[i].st = st;
        fr_recs_make(&w[i].r, PER_THREAD, 0, DAY_MS);
        snprintf(w[i].name, sizeof(w[i].name), "c%d", i);
        ck_assert_int_eq(pthread_create(&th[i], NULL, put_main, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].rc, TC_OK);
    }
    ck_assert_int_eq(fr_cmd_int("XLEN %s", "tc:fb:stream"),
                     NTHREADS * PER_THREAD);
    for (int i = 0; i < NTHREADS; i++) {
        ck_assert_int_eq(pthread_create(&th[i], NULL, consume_main, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].rc, TC_OK);
        for (size_t k = 0; k < w[i].rounds; k++) {
            for (size_t j = 0; j < w[i].n[k]; j++) {
                all[nall++] = w[i].ids[k][j];
            }
        }
    }
    /* Every record delivered once, to one consumer. */
    ck_assert_uint_eq(nall, NTHREADS * PER_THREAD);
    qsort(all, nall, sizeof(*all), cmp_str);
    for (size_t i = 1; i < nall; i++) {
        ck_assert_str_ne(all[i - 1], all[i]);
    }
    ck_assert_int_eq(tc__fb_redis_ops.stats(st, &s, &err), TC_OK);
    ck_assert_uint_eq(s.pending + s.queued, 0);
    ck_assert_uint_eq(fr_count_of(&s, "correction:accepted"),
                      NTHREADS * PER_THREAD / 2);
    tc__fb_stats_release(&s);
    for (int i = 0; i < NTHREADS; i++) {
        for (size_t k = 0; k < w[i].rounds; k++) {
            tc__fb_strings_free(w[i].ids[k], w[i].n[k]);
        }
        fr_recs_free(&w[i].r);
    }
    free(all);
}
END_TEST

/* ---- a server that answers with the wrong type ------------------------ */

typedef struct fake_peer {
    int lfd, stop;
    pthread_t th;
} fake_peer;

/*
 * Answers SCRIPT LOAD with a digest and anything else (EVALSHA) with an
 * integer: a well-formed reply of a type no script of the store returns.
 */
static void *fake_main(void *arg)
{
    fake_peer *f = arg;
    struct pollfd p = {-1, POLLIN, 0};
    static const char sha[] = "$40\r\n"
                              "0123456789012345678901234567890123456789\r\n";
    char buf[65536];
    int fd = accept(f->lfd, NULL, NULL);
    ssize_t got;

    p.fd = fd;
    while (fd >= 0 && poll(&p, 1, 3000) == 1 &&
           (got = read(fd, buf, sizeof(buf) - 1)) > 0) {
        buf[got] = '\0';
        if (strstr(buf, "SCRIPT")) {
            for (char *q = buf; (q = strstr(q, "LOAD")) != NULL; q += 4) {
                if (write(fd, sha, sizeof(sha) - 1) < 0) {
                    break;
                }
            }
        } else if (write(fd, ":5\r\n", 4) < 0) {
            break;
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    return NULL;
}

START_TEST(test_wrong_reply)
{
    fake_peer f = {-1, 0, 0};
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    tc__err err = {""};
    tc__store *st;
    recs r;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f.lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(f.lfd, 0);
    ck_assert_int_eq(bind(f.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(f.lfd, 1), 0);
    ck_assert_int_eq(getsockname(f.lfd, (struct sockaddr *)&sa, &len), 0);
    ck_assert_int_eq(pthread_create(&f.th, NULL, fake_main, &f), 0);
    st = fr_open_port(ntohs(sa.sin_port), 1000);
    fr_recs_make(&r, 2, 0, DAY_MS);
    ck_assert_int_eq(fr_put(st, &r, 30 * DAY_MS, &err), TC_EPROTO);
    ck_assert_msg(strstr(err.msg, "unexpected reply"), "%s", err.msg);
    ck_assert_int_eq(r.items[0].status, TC_EPROTO);
    fr_close();
    pthread_join(f.th, NULL);
    close(f.lfd);
    fr_recs_free(&r);
}
END_TEST

/* ---- failing allocations ---------------------------------------------- */

static int ok_or_nomem(int rc)
{
    return rc == TC_OK || rc == TC_ENOMEM;
}

/*
 * Every operation with the n-th allocation failing, for every n until a
 * run needs fewer: each returns TC_OK or TC_ENOMEM and leaks nothing.
 * Records accumulate across runs (puts of the same ids are duplicates).
 */
START_TEST(test_enomem)
{
    tc__store *st = fr_start(0);
    seen e = {0, 0, NULL, 0};
    int done = 0;
    long n;
    recs r;

    fr_recs_make(&r, 40, 0, DAY_MS);
    for (n = 1; !done && n < 2000; n++) {
        tc__err err = {""};
        char **ids = NULL, **rec = NULL;
        size_t k = 0;
        tc__fb_stats fs;
        uint64_t removed;

        free(trs_cmd(fr_srv(), "SCRIPT FLUSH")); /* the EVAL path too */
        tt_alloc_install(n, 0);
        ck_assert(ok_or_nomem(fr_put(st, &r, 30 * DAY_MS, &err)));
        ck_assert(ok_or_nomem(tc__fb_redis_ops.count(st, "x", 1, &err)));
        ck_assert(ok_or_nomem(tc__fb_redis_ops.stats(st, &fs, &err)));
        tc__fb_stats_release(&fs);
        ck_assert(ok_or_nomem(
            tc__fb_redis_ops.consume(st, "c", 5, 1, &ids, &rec, &k, &err)));
        ck_assert(ok_or_nomem(
            tc__fb_redis_ops.ack(st, (const char *const *)ids, k, &err)));
        fr_batch_free(ids, rec, k);
        ck_assert(
            ok_or_nomem(tc__fb_redis_ops.trim(st, DAY_MS, &removed, &err)));
        e.n = 0;
        ck_assert(
            ok_or_nomem(tc__fb_redis_ops.export(st, fr_collect, &e, &err)));
        tt_alloc_restore();
        done = !tt_alloc_injected();
        ck_assert_msg(tt_alloc_live() == 0,
                      "allocation %ld failing: %ld blocks leaked", n,
                      tt_alloc_live());
    }
    ck_assert_msg(done, "never ran without a failure");
    ck_assert_int_eq(fr_cmd_int("XLEN %s", "tc:fb:stream"), 40);
    free(e.id);
    fr_recs_free(&r);
}
END_TEST

/* ---- throughput --------------------------------------------------------- */

/*
 * 10,000 records in puts of 1024 (TC__FB_BATCH, as an import sends them),
 * for several numbers of records per script call. Printed, not asserted.
 */
START_TEST(test_put_throughput)
{
    static const size_t batches[] = {1, 16, 64, 256, 1024};
    tc__store *st = fr_start(5000);
    tc__err err = {""};

    for (size_t b = 0; b < sizeof(batches) / sizeof(batches[0]); b++) {
        int64_t t0, us;
        recs r;

        ck_assert_int_eq(fr_cmd_int("FLUSHALL%s", ""), 0);
        tc__fb_redis_set_script_batch(batches[b]);
        fr_recs_make(&r, 10000, 0, DAY_MS);
        t0 = tc__now_us();
        for (size_t from = 0; from < r.n; from += 1024) {
            size_t m = r.n - from < 1024 ? r.n - from : 1024;

            ck_assert_int_eq(
                tc__fb_redis_ops.put(st, r.items + from, m, 30 * DAY_MS, &err),
                TC_OK);
        }
        us = tc__now_us() - t0;
        ck_assert_int_eq(fr_cmd_int("XLEN %s", "tc:fb:stream"), 10000);
        printf("fbstore_redis: put 10000 records, %4zu per script call: "
               "%.0f records/s\n",
               batches[b], 10000.0 * 1e6 / (double)(us > 0 ? us : 1));
        fr_recs_free(&r);
    }
    fflush(stdout);
}
END_TEST

void suite_fbstore_redis_faults(Suite *s)
{
    TCase *tc = tcase_create("fbstore_redis_faults");

    tcase_add_checked_fixture(tc, fr_setup, fr_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_killed_server);
    tcase_add_test(tc, test_paused_server);
    tcase_add_test(tc, test_wrong_type);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_enomem);
    tcase_add_test(tc, test_wrong_reply);
    tcase_add_test(tc, test_put_throughput);
    suite_add_tcase(s, tc);
}
