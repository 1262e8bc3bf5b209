/*
 * check_l1_threads.c - threads share one L1: readers, writers and
 * deleters of the same keys never see a torn or foreign value, and the
 * byte budget's accounting adds up after them (suite l1, case l1_threads).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "l1_fixture.h"

#define TH_THREADS 4
#define TH_KEYS 256

static atomic_long th_bad; /* unexpected codes or wrong values */
static tc__l1 *th_l1;
static long th_iters;

/* A value names its key and is as long as its first byte says. */
static size_t th_make(char *buf, uint64_t key, unsigned salt)
{
    size_t len = 16 + (salt * 37 + key) % 300;

    memset(buf, 'a' + (int)(key % 26), len);
    snprintf(buf, 16, "%06llu:%03zu", (unsigned long long)key, len);
    buf[10] = '|';
    return len;
}

static int th_valid(const char *v, size_t len, uint64_t key)
{
    char head[16];

    snprintf(head, sizeof(head), "%06llu:%03zu", (unsigned long long)key, len);
    return len >= 16 && memcmp(v, head, 10) == 0 && v[10] == '|' &&
           v[len - 1] == 'a' + (int)(key % 26) && v[len] == '\0';
}

static void *th_run(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg * 2654435761u + 1;
    char buf[400], *v;
    size_t len;
    long i;

    for (i = 0; i < th_iters; i++) {
        uint64_t k;
        tc__hash h;
        unsigned op;
        int rc;

        seed = seed * 1103515245u + 12345u;
        k = (seed >> 8) % TH_KEYS;
        op = (seed >> 20) % 10;
        h = hk(k);
        if (op < 2) {
            /* into a buffer shorter than some values: both outcomes */
            char small[200];
            int64_t left;

            rc = tc__l1_read(th_l1, &h, i, INT64_MIN, small, sizeof(small),
                             NULL, &len, &left);
            if ((rc == TC_OK && !th_valid(small, len, k)) ||
                (rc == TC_ETOOBIG && len < sizeof(small)) ||
                (rc != TC_OK && rc != TC_ETOOBIG && rc != TC_MISS)) {
                atomic_fetch_add(&th_bad, 1);
            }
        } else if (op < 5) {
            rc = tc__l1_get(th_l1, &h, i, INT64_MIN, &v, &len, NULL);
            if (rc == TC_OK) {
                if (!th_valid(v, len, k)) {
                    atomic_fetch_add(&th_bad, 1);
                }
                tc__free(v);
            } else if (rc != TC_MISS) {
                atomic_fetch_add(&th_bad, 1);
            }
        } else if (op < 9) {
            len = th_make(buf, k, seed >> 4);
            /* Some entries expire within the run, most do not. */
            rc = tc__l1_set(th_l1, &h, buf, len, op == 8 ? i + 50 : FAR_FUTURE,
                            i);
            if (rc != TC_OK) {
                atomic_fetch_add(&th_bad, 1);
            }
        } else {
            rc = tc__l1_del(th_l1, &h);
            if (rc != TC_OK && rc != TC_MISS) {
                atomic_fetch_add(&th_bad, 1);
            }
        }
        if (i % 1000 == 0) {
            tc__l1_stats st;

            tc__l1_stats_get(th_l1, &st);
            if (st.bytes > 32 * 1024) {
                atomic_fetch_add(&th_bad, 1);
            }
        }
    }
    return NULL;
}

START_TEST(test_threads)
{
    pthread_t t[TH_THREADS];
    uintptr_t i;
    uint64_t k, live = 0, bytes = 0, base = charge_of(0);
    tc__l1_stats st;

    /* Small enough that eviction runs all the time. */
    ck_assert_int_eq(tc__l1_new(&th_l1, 32 * 1024, 4), TC_OK);
    atomic_store(&th_bad, 0);
    th_iters = tt_under_valgrind() ? 5000 : 50000;
    for (i = 0; i < TH_THREADS; i++) {
        ck_assert_int_eq(pthread_create(&t[i], NULL, th_run, (void *)i), 0);
    }
    for (i = 0; i < TH_THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    ck_assert_int_eq(atomic_load(&th_bad), 0);
    st = stats(th_l1);
    ck_assert_uint_le(st.bytes, 32 * 1024);
    ck_assert_uint_gt(st.evictions, 0);
    /* What the stats say is what the table holds, byte for byte. */
    for (k = 0; k < TH_KEYS; k++) {
        tc__hash h = hk(k);
        char *v;
        size_t len;

        if (tc__l1_get(th_l1, &h, -1, INT64_MIN, &v, &len, NULL) == TC_OK) {
            ck_assert(th_valid(v, len, k));
            live++;
            bytes += base + len;
            tc__free(v);
        }
    }
    ck_assert_uint_eq(st.entries, live);
    ck_assert_uint_eq(st.bytes, bytes);
    tc__l1_free(th_l1);
    th_l1 = NULL;
}
END_TEST

void suite_l1_threads(Suite *s)
{
    TCase *th = tcase_create("l1_threads");

    tcase_set_timeout(th, 300);
    tcase_add_test(th, test_threads);
    suite_add_tcase(s, th);
}
