/*
 * check_cluster_ops.c - the cache's public API on a Redis Cluster: values
 * written by one handle read from L2 by another, batches over every
 * master, reads from replicas; and a failover: a master killed by pid,
 * its replica promoted by the cluster itself, every call answering within
 * its timeout meanwhile and the L2 serving again afterwards. Part of the
 * cluster suite (check_cluster.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_cluster.h"
#include "tutorcache.h"

#define NS "ml_model_predictions"
#define TIMEOUT_MS 250
/* How long one call may take while a master is dead: its timeout, a
 * retry pause and a reconnect, with room for a loaded machine. */
#define CALL_BOUND_MS (4 * TIMEOUT_MS)
#define FAILOVER_WAIT_MS 30000

static tc_cache *open_on(const char *url)
{
    tc_options o;
    tc_cache *h = NULL;

    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = url;
    o.command_timeout_ms = o.connect_timeout_ms = TIMEOUT_MS;
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "open %s: %s", url,
                  tc_errmsg());
    return h;
}

/* key's value through h, and the tier that answered. */
static int get(tc_cache *h, const char *key, char **val, tc_tier *tier)
{
    size_t len = 0;

    *val = NULL;
    return tc_cache_get((void **)val, &len, tier, h, NS, key, strlen(key));
}

START_TEST(test_public_two_handles)
{
    enum { N = 40 };
    tc_cache *a, *b;
    tc_item it[N];
    char keys[N][24], vals[N][24], *v;
    tc_tier tier;

    ck_assert_ptr_nonnull(ccl);
    a = open_on(tcl_url(ccl));
    b = open_on(tcl_url(ccl));
    ck_assert_int_eq(tc_cache_ping(a, NULL), TC_OK);
    ck_assert_int_eq(tc_cache_set(a, NS, "k", 1, "v", 1, 60000), TC_OK);
    ck_assert_int_eq(get(b, "k", &v, &tier), TC_OK);
    ck_assert_int_eq(tier, TC_TIER_L2);
    ck_assert_int_eq(memcmp(v, "v", 1), 0);
    tc_free(v);
    ck_assert_int_eq(tc_cache_del(a, NS, "k", 1), TC_OK);

    memset(it, 0, sizeof(it));
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "key %d", i);
        snprintf(vals[i], sizeof(vals[i]), "val %d", i);
        it[i].key = keys[i];
        it[i].keylen = strlen(keys[i]);
        it[i].val = vals[i];
        it[i].len = strlen(vals[i]);
        it[i].ttl_ms = 60000;
    }
    ck_assert_int_eq(tc_cache_mset(a, NS, it, N), TC_OK);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(it[i].status, TC_OK);
        it[i].val = NULL;
        it[i].len = 0;
    }
    ck_assert_int_eq(tc_cache_mget(b, NS, it, N), TC_OK);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(it[i].status, TC_OK);
        ck_assert_int_eq(it[i].tier, TC_TIER_L2);
        ck_assert_uint_eq(it[i].len, strlen(vals[i]));
        ck_assert_int_eq(memcmp(it[i].val, vals[i], it[i].len), 0);
        tc_free(it[i].val);
    }
    /* a namespace's generation is one key: invalidation works as on a
     * single server */
    ck_assert_int_eq(tc_cache_invalidate(a, NS), TC_OK);
    ck_assert_int_eq(get(a, keys[0], &v, &tier), TC_MISS);
    tc_cache_close(a);
    tc_cache_close(b);
}
END_TEST

/* Reads on replicas: a value written through the masters is read back
 * once replication caught up; READONLY makes the replica serve it. */
START_TEST(test_read_from_replica)
{
    char url[160], *v = NULL;
    tc_cache *w, *r;
    tc_tier tier = TC_TIER_NONE;
    int64_t deadline;
    int rc = TC_MISS;

    ck_assert_ptr_nonnull(ccl);
    snprintf(url, sizeof(url), "%s?read_from=replica", tcl_url(ccl));
    w = open_on(tcl_url(ccl));
    r = open_on(url);
    ck_assert_int_eq(tc_cache_set(w, NS, "rep", 3, "lica", 4, 60000), TC_OK);
    deadline = tt_now_ms() + 5000;
    while (rc != TC_OK && tt_now_ms() < deadline) {
        rc = get(r, "rep", &v, &tier);
        tt_sleep_ms(rc == TC_OK ? 0 : 20);
    }
    ck_assert_int_eq(rc, TC_OK);
    ck_assert_int_eq(tier, TC_TIER_L2);
    ck_assert_int_eq(memcmp(v, "lica", 4), 0);
    tc_free(v);
    tc_cache_close(w);
    tc_cache_close(r);
}
END_TEST

/* ---- failover ---------------------------------------------------------- */

static tcl *fcl; /* a cluster of its own: the test kills one of its nodes */

static void fcl_setup(void)
{
    fcl = tcl_start(1000);
}

static void fcl_teardown(void)
{
    tcl_stop(fcl);
    fcl = NULL;
}

/* Caller keys "failover:<n>" whose L2 keys the node master serves, so
 * that each call of the test goes to the master that is killed. */
static void keys_on(tc_cache *h, int master, char (*keys)[32], int n)
{
    char l2[TC_KEY_MAX];
    int *owner = malloc(TCL_SLOTS * sizeof(*owner));

    ck_assert_ptr_nonnull(owner);
    for (int s = 0; s < TCL_SLOTS; s++) {
        owner[s] = -1;
    }
    for (int i = 0, k = 0; k < n; i++) {
        int slot;

        snprintf(keys[k], sizeof(keys[k]), "failover:%d", i);
        ck_assert_int_eq(
            tc_cache_key(l2, sizeof(l2), h, NS, keys[k], strlen(keys[k])),
            TC_OK);
        slot = tcl_keyslot(fcl, l2);
        ck_assert_int_ge(slot, 0);
        if (owner[slot] < 0) {
            owner[slot] = tcl_master_of(fcl, (unsigned)slot);
        }
        k += owner[slot] == master;
    }
    free(owner);
}

START_TEST(test_failover)
{
    enum { NKEYS = 200 };
    static char keys[NKEYS][32];
    tc_cache *h, *probe;
    tc_tier tier = TC_TIER_NONE;
    char *v;
    int master, replica, rc = TC_EUNAVAIL, calls = 0, degraded = 0;
    int64_t t0, took, worst = 0, deadline;

    ck_assert_msg(fcl != NULL, "the cluster did not start");
    master = tcl_master_of(fcl, 0);
    replica = tcl_replica_of(fcl, 0);
    ck_assert_int_ge(master, 0);
    ck_assert_int_ge(replica, 0);
    h = open_on(tcl_url(fcl));
    keys_on(h, master, keys, NKEYS);
    ck_assert_int_eq(
        tc_cache_set(h, NS, keys[0], strlen(keys[0]), "before", 6, 60000),
        TC_OK);

    trs_kill(tcl_node(fcl, master));
    /* Until the replica is promoted, calls degrade but answer in time. */
    deadline = tt_now_ms() + FAILOVER_WAIT_MS;
    while (tt_now_ms() < deadline && calls < NKEYS) {
        const char *k = keys[calls++];

        t0 = tt_now_ms();
        ck_assert_int_eq(tc_cache_set(h, NS, k, strlen(k), "after", 5, 60000),
                         TC_OK);
        probe = open_on(tcl_url(fcl)); /* a fresh L1: the answer is L2's */
        rc = get(probe, k, &v, &tier);
        took = tt_now_ms() - t0;
        worst = took > worst ? took : worst;
        ck_assert_msg(took <= 2 * CALL_BOUND_MS + 500,
                      "a set and a get took %lld ms", (long long)took);
        tc_cache_close(probe);
        if (rc == TC_OK) {
            tc_free(v);
        }
        if (rc == TC_OK && tier == TC_TIER_L2) {
            break;
        }
        degraded++;
        tt_sleep_ms(50);
    }
    ck_assert_msg(rc == TC_OK && tier == TC_TIER_L2,
                  "the L2 did not serve again after %d calls (%s)", calls,
                  tc_errmsg());
    ck_assert_int_gt(degraded, 0); /* the master really was gone */
    ck_assert_int_eq(tcl_master_of(fcl, 0), replica);
    fprintf(stderr, "failover: %d calls, %d degraded, worst %lld ms\n", calls,
            degraded, (long long)worst);
    tc_cache_close(h);
}
END_TEST

void suite_cluster_ops(Suite *s)
{
    TCase *tc = tcase_create("cluster_ops");
    TCase *fo = tcase_create("cluster_failover");

    tcase_add_unchecked_fixture(tc, ccl_setup, ccl_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_public_two_handles);
    tcase_add_test(tc, test_read_from_replica);
    cluster_fb_tests(tc);
    suite_add_tcase(s, tc);

    tcase_add_unchecked_fixture(fo, fcl_setup, fcl_teardown);
    tcase_set_timeout(fo, 180);
    tcase_add_test(fo, test_failover);
    suite_add_tcase(s, fo);
}
