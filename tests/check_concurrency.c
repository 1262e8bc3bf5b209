/*
 * check_concurrency.c - one tc_cache shared by many threads, as a service
 * uses it: concurrent misses on one key run the loader once (and a failing
 * loader fails every waiter once), a mixed workload on memory:, LMDB and
 * Redis only ever reads values some thread wrote for that key and leaves
 * counters that add up, and error detail stays with its thread. `make
 * tsan` runs this suite alone under ThreadSanitizer.
 *
 * Threads never call ck_assert (Check is not thread-safe): they record
 * what they saw and the main thread judges.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_fixture.h"
#include "redis_fixture.h"
#include "suites.h"
#include "tutorcache.h"

#define NS "ml_model_predictions"

/* ---- stores ------------------------------------------------------------ */

/*
 * A generous command timeout: these tests are about threads, not about a
 * slow server, and a sanitizer can make one call take long.
 */
static tc_cache *conc_open(bk *b)
{
    tc_options o;

    tc_options_init(&o);
    o.command_timeout_ms = 5000;
    o.connect_timeout_ms = 5000;
    return bk_open_with(b, &o, NULL);
}

/* ---- single flight ----------------------------------------------------- */

#define SF_THREADS 16

typedef struct sf_shared {
    tc_cache *h;
    pthread_barrier_t start;
    atomic_int entered; /* threads that are about to call */
    atomic_int calls;
    int fail; /* the loader's return code when non-zero */
    int sleep_ms;
} sf_shared;

typedef struct sf_thread {
    sf_shared *sh;
    pthread_t tid;
    int rc;
    tc_tier tier;
    char *val;
    size_t len;
} sf_thread;

static int sf_loader(void **val, size_t *len, int64_t *ttl_ms, const char *ns,
                     const void *key, size_t keylen, void *ud)
{
    sf_shared *sh = ud;
    static const char answer[] = "{\"intent\":\"loaded once\"}";

    (void)ttl_ms;
    (void)ns;
    (void)key;
    (void)keylen;
    atomic_fetch_add(&sh->calls, 1);
    /*
     * Every thread is concurrent with this load only if it reaches the
     * cache before the load ends: wait until all have entered the call
     * (bounded, in case one cannot), then long enough for them to find
     * the load in progress.
     */
    for (int i = 0; i < 5000 && atomic_load(&sh->entered) < SF_THREADS; i++) {
        tt_sleep_ms(1);
    }
    tt_sleep_ms(sh->sleep_ms);
    if (sh->fail) {
        return sh->fail;
    }
    *val = tc_malloc(sizeof(answer) - 1);
    if (!*val) {
        return TC_ENOMEM;
    }
    memcpy(*val, answer, sizeof(answer) - 1);
    *len = sizeof(answer) - 1;
    return TC_OK;
}

static void *sf_run(void *arg)
{
    sf_thread *t = arg;
    void *v = NULL;

    pthread_barrier_wait(&t->sh->start);
    atomic_fetch_add(&t->sh->entered, 1);
    t->rc = tc_cache_get_or_load(&v, &t->len, &t->tier, t->sh->h, NS,
                                 "one hot key", 11, sf_loader, t->sh);
    t->val = v;
    return NULL;
}

/* The loader's runs so far (a function, for readable assert messages). */
static int sf_calls(sf_shared *sh)
{
    return atomic_load(&sh->calls);
}

/* The state the threads of a round share, on the cache of b (started on
 * store kind k); a loader that fails with fail, unless it is 0. */
static void sf_start(sf_shared *sh, bk *b, int k, int fail)
{
    bk_start(b, k);
    memset(sh, 0, sizeof(*sh));
    sh->h = conc_open(b);
    /* long enough for every entered thread to find the load in progress,
     * even on a loaded machine under a sanitizer */
    sh->sleep_ms = tt_under_valgrind() ? 400 : 200;
    sh->fail = fail;
    atomic_init(&sh->calls, 0);
    atomic_init(&sh->entered, 0);
    ck_assert_int_eq(pthread_barrier_init(&sh->start, NULL, SF_THREADS), 0);
}

static void sf_stop(sf_shared *sh, bk *b)
{
    pthread_barrier_destroy(&sh->start);
    tc_cache_close(sh->h);
    bk_stop(b);
}

/* Runs SF_THREADS concurrent get_or_load calls on one key. */
static void sf_round(sf_shared *sh, sf_thread *th)
{
    atomic_store(&sh->entered, 0);
    for (int i = 0; i < SF_THREADS; i++) {
        memset(&th[i], 0, sizeof(th[i]));
        th[i].sh = sh;
        ck_assert_int_eq(pthread_create(&th[i].tid, NULL, sf_run, &th[i]), 0);
    }
    for (int i = 0; i < SF_THREADS; i++) {
        ck_assert_int_eq(pthread_join(th[i].tid, NULL), 0);
    }
}

START_TEST(test_single_flight)
{
    static const char answer[] = "{\"intent\":\"loaded once\"}";
    sf_thread th[SF_THREADS];
    sf_shared sh;
    tc_ns_stats s;
    bk b;

    sf_start(&sh, &b, main_kinds[_i], 0);

    sf_round(&sh, th);
    ck_assert_int_eq(sf_calls(&sh), 1);
    for (int i = 0; i < SF_THREADS; i++) {
        ck_assert_msg(th[i].rc == TC_OK, "thread %d: %s", i,
                      tc_error_name(th[i].rc));
        ck_assert_msg(th[i].tier == TC_TIER_LOADER, "thread %d: tier %s", i,
                      tc_tier_name(th[i].tier));
        ck_assert_uint_eq(th[i].len, sizeof(answer) - 1);
        ck_assert_str_eq(th[i].val, answer);
        tc_free(th[i].val);
    }
    ck_assert_int_eq(tc_cache_stats(&s, sh.h, NS), TC_OK);
    ck_assert_uint_eq(s.loads, 1);
    ck_assert_uint_eq(s.sets, 1);
    ck_assert_uint_eq(s.misses, SF_THREADS);
    ck_assert_uint_eq(s.l2_errors, 0);

    /* the value is cached now: the next round never calls the loader */
    sf_round(&sh, th);
    ck_assert_int_eq(sf_calls(&sh), 1);
    for (int i = 0; i < SF_THREADS; i++) {
        ck_assert_int_eq(th[i].rc, TC_OK);
        ck_assert_int_eq(th[i].tier, TC_TIER_L1);
        ck_assert_str_eq(th[i].val, answer);
        tc_free(th[i].val);
    }
    sf_stop(&sh, &b);
}
END_TEST

/* A failing load fails each of its waiters once, and caches nothing. */
START_TEST(test_single_flight_failure)
{
    sf_thread th[SF_THREADS];
    sf_shared sh;
    void *v = NULL;
    size_t len = 0;
    bk b;

    sf_start(&sh, &b, main_kinds[_i], TC_EUNAVAIL);
    sf_round(&sh, th);
    ck_assert_int_eq(sf_calls(&sh), 1);
    for (int i = 0; i < SF_THREADS; i++) {
        ck_assert_msg(th[i].rc == TC_ELOADER, "thread %d: %s", i,
                      tc_error_name(th[i].rc));
        ck_assert_ptr_null(th[i].val);
        ck_assert_uint_eq(th[i].len, 0);
        ck_assert_int_eq(th[i].tier, TC_TIER_NONE);
    }
    ck_assert_int_eq(tc_cache_get(&v, &len, NULL, sh.h, NS, "one hot key", 11),
                     TC_MISS);
    /* the next round loads again, once */
    sh.fail = 0;
    sf_round(&sh, th);
    ck_assert_int_eq(sf_calls(&sh), 2);
    for (int i = 0; i < SF_THREADS; i++) {
        ck_assert_int_eq(th[i].rc, TC_OK);
        tc_free(th[i].val);
    }
    sf_stop(&sh, &b);
}
END_TEST

/* ---- stress ------------------------------------------------------------ */

#define ST_THREADS 6
#define ST_KEYS 24
#define ST_LOADER_ID ST_THREADS /* the writer id of loaded values */

/*
 * A value says which key it belongs to, who wrote it and when, then pads
 * to a length that depends on all three with a byte that does too: a
 * value of another key, a torn value or a mix of two writes cannot pass
 * st_valid().
 */
static size_t st_value(char *buf, size_t cap, int k, int w, int n)
{
    int off = snprintf(buf, cap, "k=%02d;w=%02d;n=%06d;", k, w, n);
    size_t pad = (size_t)((k * 7 + w * 13 + n * 3) % 150);

    if (off < 0 || (size_t)off + pad + 1 > cap) {
        return 0;
    }
    memset(buf + off, 'a' + (k + w + n) % 26, pad);
    buf[off + pad] = '\0';
    return (size_t)off + pad;
}

static int st_valid(const char *v, size_t len, int k)
{
    char want[256];
    int kk = -1, w = -1, n = -1, off = -1;

    if (!v || v[len] != '\0' ||
        sscanf(v, "k=%d;w=%d;n=%d;%n", &kk, &w, &n, &off) != 3 || off < 0) {
        return 0;
    }
    if (kk != k || w < 0 || w > ST_LOADER_ID || n < 0) {
        return 0;
    }
    return st_value(want, sizeof(want), k, w, n) == len &&
           memcmp(want, v, len) == 0;
}

#define ST_KEY_MAX 24

static void st_key(char buf[ST_KEY_MAX], int k)
{
    snprintf(buf, ST_KEY_MAX, "stress-%02d", k);
}

typedef struct st_shared {
    tc_cache *h;
    int iters;
    pthread_barrier_t start;
    atomic_int loads; /* loader runs; also the n of loaded values */
} st_shared;

typedef struct st_thread {
    st_shared *sh;
    pthread_t tid;
    int id;
    uint64_t rng;
    /* operations done */
    uint64_t gets, mget_items, gols, sets, mset_items, dels, invalidates;
    /* the first thing that went wrong, "" if nothing */
    char err[256];
} st_thread;

static int st_loader(void **val, size_t *len, int64_t *ttl_ms, const char *ns,
                     const void *key, size_t keylen, void *ud)
{
    st_shared *sh = ud;
    char buf[256];
    int k;

    (void)ttl_ms;
    (void)ns;
    if (keylen != 9 || sscanf((const char *)key + 7, "%2d", &k) != 1) {
        return TC_EINVAL;
    }
    *len = st_value(buf, sizeof(buf), k, ST_LOADER_ID,
                    atomic_fetch_add(&sh->loads, 1));
    *val = tc_malloc(*len + 1);
    if (!*val) {
        return TC_ENOMEM;
    }
    memcpy(*val, buf, *len + 1);
    return TC_OK;
}

static uint64_t st_rand(st_thread *t)
{
    t->rng ^= t->rng << 13;
    t->rng ^= t->rng >> 7;
    t->rng ^= t->rng << 17;
    return t->rng;
}

#define ST_FAIL(t, ...)                                                        \
    do {                                                                       \
        if (!(t)->err[0]) {                                                    \
            snprintf((t)->err, sizeof((t)->err), __VA_ARGS__);                 \
        }                                                                      \
    } while (0)

/* A read: a miss, or a value that passes st_valid for key k. */
static void st_check_read(st_thread *t, const char *op, int rc, int k,
                          const char *v, size_t len, const char *msg)
{
    if (rc == TC_MISS) {
        return;
    }
    if (rc != TC_OK) {
        ST_FAIL(t, "%s key %d: %s: %s", op, k, tc_error_name(rc), msg);
    } else if (!st_valid(v, len, k)) {
        ST_FAIL(t, "%s key %d read \"%.*s\" (%zu bytes)", op, k,
                (int)(len > 40 ? 40 : len), v ? v : "", len);
    }
}

static void *st_run(void *arg)
{
    st_thread *t = arg;
    tc_cache *h = t->sh->h;
    char keys[4][ST_KEY_MAX], vals[4][256];
    tc_item it[4];
    void *v;
    size_t len;
    tc_tier tier;
    int rc;

    pthread_barrier_wait(&t->sh->start);
    for (int i = 0; i < t->sh->iters && !t->err[0]; i++) {
        uint64_t r = st_rand(t);
        int k = (int)((r >> 8) % ST_KEYS);
        int op = (int)(r % 100);

        st_key(keys[0], k);
        if (op < 30) {
            v = NULL;
            rc = tc_cache_get(&v, &len, &tier, h, NS, keys[0], 9);
            st_check_read(t, "get", rc, k, v, len, tc_errmsg());
            tc_free(v);
            t->gets++;
        } else if (op < 50) {
            len = st_value(vals[0], sizeof(vals[0]), k, t->id, i);
            rc = tc_cache_set(h, NS, keys[0], 9, vals[0], len, TC_TTL_DEFAULT);
            if (rc != TC_OK) {
                ST_FAIL(t, "set key %d: %s: %s", k, tc_error_name(rc),
                        tc_errmsg());
            }
            t->sets++;
        } else if (op < 58) {
            rc = tc_cache_del(h, NS, keys[0], 9);
            if (rc != TC_OK && rc != TC_MISS) {
                ST_FAIL(t, "del key %d: %s: %s", k, tc_error_name(rc),
                        tc_errmsg());
            }
            t->dels++;
        } else if (op < 72) {
            memset(it, 0, sizeof(it));
            for (int j = 0; j < 4; j++) {
                st_key(keys[j], (k + j) % ST_KEYS);
                it[j].key = keys[j];
                it[j].keylen = 9;
            }
            rc = tc_cache_mget(h, NS, it, 4);
            for (int j = 0; j < 4; j++) {
                if (rc != TC_OK) {
                    ST_FAIL(t, "mget: %s: %s", tc_error_name(rc), tc_errmsg());
                } else {
                    st_check_read(t, "mget", it[j].status, (k + j) % ST_KEYS,
                                  it[j].val, it[j].len, "(item)");
                }
                tc_free(it[j].val);
            }
            t->mget_items += 4;
        } else if (op < 90) {
            v = NULL;
            rc = tc_cache_get_or_load(&v, &len, &tier, h, NS, keys[0], 9,
                                      st_loader, t->sh);
            if (rc == TC_MISS) {
                ST_FAIL(t, "get_or_load key %d: a miss", k);
            }
            st_check_read(t, "get_or_load", rc, k, v, len, tc_errmsg());
            tc_free(v);
            t->gols++;
        } else if (op < 97) {
            memset(it, 0, sizeof(it));
            for (int j = 0; j < 4; j++) {
                st_key(keys[j], (k + j) % ST_KEYS);
                it[j].key = keys[j];
                it[j].keylen = 9;
                it[j].len = st_value(vals[j], sizeof(vals[j]),
                                     (k + j) % ST_KEYS, t->id, i);
                it[j].val = vals[j];
            }
            rc = tc_cache_mset(h, NS, it, 4);
            for (int j = 0; j < 4; j++) {
                if (rc != TC_OK || it[j].status != TC_OK) {
                    ST_FAIL(t, "mset: %s, item %d: %s: %s", tc_error_name(rc),
                            j, tc_error_name(it[j].status), tc_errmsg());
                }
            }
            t->mset_items += 4;
        } else {
            rc = tc_cache_invalidate(h, NS);
            if (rc != TC_OK) {
                ST_FAIL(t, "invalidate: %s: %s", tc_error_name(rc),
                        tc_errmsg());
            }
            t->invalidates++;
        }
    }
    return NULL;
}

/* Iterations per thread: enough to interleave, few enough for TSan. */
static const int st_iters[BK_COUNT] = {[BK_MEMORY] = 20000,
                                       [BK_LMDB] = 4000,
                                       [BK_REDIS] = 2000,
                                       [BK_CLUSTER] = 1000};

START_TEST(test_stress)
{
    st_thread th[ST_THREADS];
    uint64_t gets = 0, mget_items = 0, gols = 0, sets = 0, mset_items = 0;
    uint64_t dels = 0, lookups, answered;
    char key[ST_KEY_MAX], val[256];
    st_shared sh;
    tc_ns_stats s;
    int loads;
    bk b;

    bk_start(&b, main_kinds[_i]);
    memset(&sh, 0, sizeof(sh));
    sh.h = conc_open(&b);
    sh.iters = tt_under_valgrind() ? st_iters[b.kind] / 5 : st_iters[b.kind];
    atomic_init(&sh.loads, 0);
    ck_assert_int_eq(pthread_barrier_init(&sh.start, NULL, ST_THREADS), 0);
    for (int i = 0; i < ST_THREADS; i++) {
        memset(&th[i], 0, sizeof(th[i]));
        th[i].sh = &sh;
        th[i].id = i;
        th[i].rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
        ck_assert_int_eq(pthread_create(&th[i].tid, NULL, st_run, &th[i]), 0);
    }
    for (int i = 0; i < ST_THREADS; i++) {
        ck_assert_int_eq(pthread_join(th[i].tid, NULL), 0);
    }
    for (int i = 0; i < ST_THREADS; i++) {
        ck_assert_msg(th[i].err[0] == '\0', "thread %d on %s: %s", i,
                      bk_name[b.kind], th[i].err);
        gets += th[i].gets;
        mget_items += th[i].mget_items;
        gols += th[i].gols;
        sets += th[i].sets;
        mset_items += th[i].mset_items;
        dels += th[i].dels;
    }
    loads = atomic_load(&sh.loads);

    /*
     * Counters add up: every lookup counted once as an L1 hit, an L2 hit
     * or a miss (a get_or_load that missed may count once more when it
     * finds the value another thread's load just left in L1); every
     * stored value counted as a set; nothing failed.
     */
    ck_assert_int_eq(tc_cache_stats(&s, sh.h, NS), TC_OK);
    lookups = gets + mget_items + gols;
    answered = s.l1_hits + s.l2_hits + s.misses;
    ck_assert_msg(answered >= lookups && answered <= lookups + gols,
                  "%llu hits and misses for %llu lookups (%llu loads)",
                  (unsigned long long)answered, (unsigned long long)lookups,
                  (unsigned long long)gols);
    ck_assert_uint_eq(s.loads, (uint64_t)loads);
    ck_assert_uint_le(s.loads, gols);
    ck_assert_uint_eq(s.sets, sets + mset_items + (uint64_t)loads);
    ck_assert_uint_eq(s.dels, dels);
    ck_assert_uint_eq(s.l2_errors, 0);
    ck_assert_uint_eq(s.degraded, 0);
    ck_assert_uint_gt(s.l1_hits, 0);

    /* quiet again: every key round-trips exactly */
    for (int k = 0; k < ST_KEYS; k++) {
        void *v = NULL;
        size_t len, vlen;
        tc_tier tier;

        st_key(key, k);
        vlen = st_value(val, sizeof(val), k, 0, 999999);
        ck_assert_int_eq(tc_cache_set(sh.h, NS, key, 9, val, vlen, 0), TC_OK);
        ck_assert_int_eq(tc_cache_get(&v, &len, &tier, sh.h, NS, key, 9),
                         TC_OK);
        ck_assert_int_eq(tier, TC_TIER_L1);
        ck_assert_uint_eq(len, vlen);
        ck_assert_str_eq((char *)v, val);
        tc_free(v);
    }
    pthread_barrier_destroy(&sh.start);
    tc_cache_close(sh.h);
    bk_stop(&b);
}
END_TEST

/* ---- per-thread error detail ------------------------------------------ */

#define EM_THREADS 4
#define EM_ITERS 500

typedef struct em_thread {
    tc_cache *h;
    pthread_t tid;
    int id;
    pthread_barrier_t *start;
    char err[256];
} em_thread;

/*
 * Even threads fail (an unknown namespace) and odd ones succeed, on one
 * handle at once: each must see its own call's message, never another's.
 */
static void *em_run(void *arg)
{
    em_thread *t = arg;
    char ns[32];
    int rc;

    snprintf(ns, sizeof(ns), "no_such_ns_%d", t->id);
    pthread_barrier_wait(t->start);
    for (int i = 0; i < EM_ITERS && !t->err[0]; i++) {
        const char *m;

        if (t->id % 2 == 0) {
            rc = tc_cache_set(t->h, ns, "k", 1, "v", 1, 0);
            m = tc_errmsg();
            if (rc != TC_ENONS || !strstr(m, ns)) {
                ST_FAIL(t, "failing call: %s, message \"%s\"",
                        tc_error_name(rc), m);
            }
        } else {
            rc = tc_cache_set(t->h, NS, "k", 1, "v", 1, 0);
            m = tc_errmsg();
            if (rc != TC_OK || m[0] != '\0') {
                ST_FAIL(t, "good call: %s, message \"%s\"", tc_error_name(rc),
                        m);
            }
        }
    }
    return NULL;
}

START_TEST(test_errmsg_per_thread)
{
    em_thread th[EM_THREADS];
    pthread_barrier_t start;
    bk b;

    bk_start(&b, BK_MEMORY);
    ck_assert_int_eq(pthread_barrier_init(&start, NULL, EM_THREADS), 0);
    th[0].h = conc_open(&b);
    for (int i = 0; i < EM_THREADS; i++) {
        th[i].h = th[0].h;
        th[i].id = i;
        th[i].start = &start;
        th[i].err[0] = '\0';
        ck_assert_int_eq(pthread_create(&th[i].tid, NULL, em_run, &th[i]), 0);
    }
    for (int i = 0; i < EM_THREADS; i++) {
        ck_assert_int_eq(pthread_join(th[i].tid, NULL), 0);
    }
    for (int i = 0; i < EM_THREADS; i++) {
        ck_assert_msg(th[i].err[0] == '\0', "thread %d: %s", i, th[i].err);
    }
    pthread_barrier_destroy(&start);
    tc_cache_close(th[0].h);
    bk_stop(&b);
}
END_TEST

Suite *suite_concurrency(void)
{
    Suite *s = suite_create("concurrency");
    TCase *tc = tcase_create("concurrency");

    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, bk_cluster_setup, bk_cluster_teardown);
    tcase_add_loop_test(tc, test_single_flight, 0, NMAIN);
    tcase_add_loop_test(tc, test_single_flight_failure, 0, NMAIN);
    tcase_add_loop_test(tc, test_stress, 0, NMAIN);
    tcase_add_test(tc, test_errmsg_per_thread);
    suite_add_tcase(s, tc);
    return s;
}
