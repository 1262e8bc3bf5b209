/*
 * check_coherence_cluster.c - L1 kept coherent across handles on a Redis
 * Cluster: handle A holds a value in L1 and handle B sets, deletes or
 * corrects it, with keys on each of the three masters, and A serves the
 * new answer within the bound of 50 ms (a correction: check_coherence.c,
 * on this suite's cluster too); one master's invalidation
 * connections killed, A serves nothing it held and hears that master
 * again; a master killed and failed over, A serves no old value after
 * the cluster and its handles have followed; tracking=off tracks on no
 * node. The fill race runs on the cluster too (check_coherence.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_fixture.h"
#include "coherence_fixture.h"

#define MASTERS 3
#define TIMEOUT_MS 250
#define FAILOVER_WAIT_MS 30000

static tcl *cl; /* the case's cluster: the failover case has its own */

static void cl_setup(void)
{
    cl = tcl_start(1000);
}

static void cl_teardown(void)
{
    tcl_stop(cl);
    cl = NULL;
}

/* A store on the case's cluster (extra: URL parameters, or ""), every
 * master's keys flushed. */
static void cl_start(bk *b, const char *extra)
{
    ck_assert_msg(cl != NULL, "the cluster did not start");
    memset(b, 0, sizeof(*b));
    b->kind = BK_CLUSTER;
    b->tmp = tt_mkdtemp();
    ck_assert_ptr_nonnull(b->tmp);
    snprintf(b->url, sizeof(b->url), "%s%s", tcl_url(cl), extra);
    for (int i = 0; i < TCL_NODES; i++) {
        if (tcl_node(cl, i)) {
            free(trs_cmd(tcl_node(cl, i), "FLUSHALL"));
        }
    }
}

static tc_cache *cl_open(bk *b, const char *cfg_json)
{
    tc_options o;

    tc_options_init(&o);
    o.command_timeout_ms = o.connect_timeout_ms = TIMEOUT_MS;
    return bk_open_with(b, &o, cfg_json);
}

/* The three masters, as the nodes serving the first slot of each third. */
static void masters(int m[MASTERS])
{
    for (int i = 0; i < MASTERS; i++) {
        m[i] = tcl_master_of(cl, (unsigned)(i * TCL_SLOTS / MASTERS + 1));
        ck_assert_int_ge(m[i], 0);
    }
    ck_assert(m[0] != m[1] && m[1] != m[2] && m[0] != m[2]);
}

/* A caller key "<prefix><n>" whose L2 key node serves as master. */
static void key_on(tc_cache *h, int node, const char *prefix, char *out,
                   size_t size)
{
    char l2[TC_KEY_MAX];

    for (int i = 0; i < 10000; i++) {
        int slot;

        snprintf(out, size, "%s%d", prefix, i);
        ck_assert_int_eq(tc_cache_key(l2, sizeof(l2), h, NS, out, strlen(out)),
                         TC_OK);
        slot = tcl_keyslot(cl, l2);
        ck_assert_int_ge(slot, 0);
        if (tcl_master_of(cl, (unsigned)slot) == node) {
            return;
        }
    }
    ck_abort_msg("no key on node %d", node);
}

/* Every node's invalidation connections added up. */
static int all_trackers(void)
{
    int n = 0;

    for (int i = 0; i < TCL_NODES; i++) {
        n += tcl_node(cl, i) ? coh_trackers(tcl_node(cl, i)) : 0;
    }
    return n;
}

START_TEST(test_every_master)
{
    char keys[MASTERS][32], what[64];
    int m[MASTERS];
    tc_cache *a, *b;
    int64_t t0;
    bk s;

    cl_start(&s, "");
    masters(m);
    a = cl_open(&s, NULL);
    b = cl_open(&s, NULL);
    for (int i = 0; i < MASTERS; i++) {
        /* one invalidation connection per handle on each master */
        coh_wait_trackers(tcl_node(cl, m[i]), 2);
        key_on(a, m[i], "k", keys[i], sizeof(keys[i]));
    }
    for (int i = 0; i < MASTERS; i++) {
        SET(b, keys[i], "v1", TC_TTL_DEFAULT);
        snprintf(what, sizeof(what), "set on master %d", m[i]);
        coh_heard(a, b, keys[i], "v1", "v2", what);

        coh_hold(a, keys[i], "v2");
        t0 = tt_now_ms();
        ck_assert_int_eq(tc_cache_del(b, NS, keys[i], strlen(keys[i])), TC_OK);
        snprintf(what, sizeof(what), "del on master %d", m[i]);
        coh_heard_in_time(coh_until(a, keys[i], NULL, t0), what);
    }
    /* the namespace's generation is one key, on one master */
    SET(b, keys[0], "v3", TC_TTL_DEFAULT);
    coh_hold(a, keys[0], "v3");
    t0 = tt_now_ms();
    ck_assert_int_eq(tc_cache_invalidate(b, NS), TC_OK);
    coh_heard_in_time(coh_until(a, keys[0], NULL, t0), "invalidate");
    /* A's own writes stay in its L1 on every master */
    for (int i = 0; i < MASTERS; i++) {
        SET(a, keys[i], "mine", TC_TTL_DEFAULT);
    }
    tt_sleep_ms(coh_bound());
    for (int i = 0; i < MASTERS; i++) {
        HIT(a, keys[i], "mine", TC_TIER_L1);
    }
    tc_cache_close(b);
    tc_cache_close(a);
    ck_assert_int_eq(all_trackers(), 0); /* closing stops each */
    bk_stop(&s);
}
END_TEST

START_TEST(test_master_connection_killed)
{
    char key[32], other[32], *v;
    int m[MASTERS];
    tc_cache *a, *b;
    tc_tier t;
    trs *node;
    bk s;

    cl_start(&s, "");
    masters(m);
    node = tcl_node(cl, m[1]);
    a = cl_open(&s, NULL);
    b = cl_open(&s, NULL);
    coh_wait_trackers(node, 2);
    key_on(a, m[1], "killed", key, sizeof(key));
    key_on(a, m[2], "other", other, sizeof(other));
    SET(b, key, "old", TC_TTL_DEFAULT);
    SET(b, other, "old", TC_TTL_DEFAULT);
    coh_hold(a, key, "old");
    coh_hold(a, other, "old");
    /* the invalidation connections of one master, A's among them */
    free(trs_cmd(node, "CLIENT KILL TYPE pubsub"));
    /* a write while A does not listen to that master */
    SET(b, key, "new", TC_TTL_DEFAULT);
    coh_wait_trackers(node, 2);
    v = coh_get(a, key, &t);
    ck_assert_str_eq(v, "new");
    ck_assert_int_eq(t, TC_TIER_L2); /* L1 was dropped */
    free(v);
    /* all of it: the rule is the single server's */
    v = coh_get(a, other, &t);
    ck_assert_str_eq(v, "old");
    ck_assert_int_eq(t, TC_TIER_L2);
    free(v);
    /* and A hears that master again */
    coh_heard(a, b, key, "new", "newer", "set after reconnect");
    tc_cache_close(b);
    tc_cache_close(a);
    bk_stop(&s);
}
END_TEST

/* Reads from replicas: the replicas are the ones heard, each telling of
 * a write once it has it, so A's read after the news finds the new
 * value there. */
START_TEST(test_read_from_replica)
{
    char key[32];
    int m[MASTERS], replica;
    tc_cache *a, *b;
    bk s, w;

    cl_start(&s, "?read_from=replica");
    masters(m);
    replica = tcl_replica_of(cl, 1);
    ck_assert_int_ge(replica, 0);
    w = s;
    snprintf(w.url, sizeof(w.url), "%s", tcl_url(cl));
    a = cl_open(&s, NULL);
    b = cl_open(&w, NULL);
    /* A's connection on the replica, B's on the master */
    coh_wait_trackers(tcl_node(cl, replica), 1);
    key_on(a, tcl_master_of(cl, 1), "rep", key, sizeof(key));
    SET(b, key, "v1", TC_TTL_DEFAULT);
    ck_assert_msg(coh_until(a, key, "v1", tt_now_ms()) >= 0,
                  "the replica never had v1");
    coh_heard(a, b, key, "v1", "v2", "set read from a replica");
    tc_cache_close(b);
    tc_cache_close(a);
    bk_stop(&s);
}
END_TEST

START_TEST(test_tracking_off)
{
    char key[32];
    int m[MASTERS];
    tc_cache *a, *b;
    bk s;

    cl_start(&s, "?tracking=off");
    masters(m);
    a = cl_open(&s, NULL);
    b = cl_open(&s, NULL);
    ck_assert_int_eq(all_trackers(), 0);
    key_on(a, m[0], "off", key, sizeof(key));
    SET(b, key, "old", TC_TTL_DEFAULT);
    coh_hold(a, key, "old");
    SET(b, key, "new", TC_TTL_DEFAULT);
    tt_sleep_ms(coh_bound() * 2);
    /* nothing told A: its L1 copy lives out its TTL */
    HIT(a, key, "old", TC_TIER_L1);
    ck_assert_int_eq(all_trackers(), 0);
    tc_cache_close(b);
    tc_cache_close(a);
    bk_stop(&s);
}
END_TEST

/* ---- failover ---------------------------------------------------------- */

/* Whether a fresh handle (an empty L1) reads want for key from the L2. */
static int l2_holds(bk *s, const char *key, const char *want)
{
    tc_options o;
    tc_cache *p;
    tc_tier t = TC_TIER_NONE;
    char *v;
    int same;

    tc_options_init(&o);
    o.command_timeout_ms = o.connect_timeout_ms = TIMEOUT_MS;
    o.store_url = s->url;
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    ck_assert_int_eq(tc_cache_open(&p, &o), TC_OK);
    v = coh_get(p, key, &t);
    same = v && strcmp(v, want) == 0 && t == TC_TIER_L2;
    free(v);
    tc_cache_close(p);
    return same;
}

/*
 * A master killed: its replica is promoted, the handles' maps follow,
 * and from the moment B's write is in the promoted master A never
 * answers the old value once it answered the new, and serves the new
 * one as soon as it tracks the new master; a later write is heard
 * within the bound. A reads all along, so it may fill the old value
 * from the promoted replica before B's write: that is what its
 * tracking of the new master must catch.
 */
START_TEST(test_failover)
{
    char key[32], *v;
    int master, replica, slot, saw_new = 0;
    char l2[TC_KEY_MAX];
    tc_cache *a, *b;
    int64_t deadline, t0;
    bk s;

    cl_start(&s, "");
    a = cl_open(&s, NULL);
    b = cl_open(&s, NULL);
    master = tcl_master_of(cl, 1);
    replica = tcl_replica_of(cl, 1);
    ck_assert_int_ge(replica, 0);
    key_on(a, master, "fo", key, sizeof(key));
    ck_assert_int_eq(tc_cache_key(l2, sizeof(l2), a, NS, key, strlen(key)),
                     TC_OK);
    slot = tcl_keyslot(cl, l2);
    SET(b, key, "old", TC_TTL_DEFAULT);
    coh_hold(a, key, "old");

    trs_kill(tcl_node(cl, master));
    deadline = tt_now_ms() + FAILOVER_WAIT_MS;
    for (;;) {
        ck_assert_msg(tt_now_ms() < deadline, "no failover after %d ms",
                      FAILOVER_WAIT_MS);
        free(coh_get(a, key, NULL)); /* A fills what it can meanwhile */
        SET(b, key, "new", TC_TTL_DEFAULT);
        if (tcl_master_of(cl, (unsigned)slot) == replica &&
            l2_holds(&s, key, "new")) {
            break;
        }
        tt_sleep_ms(20);
    }
    /* B's write is in the promoted master: A comes to it and stays */
    t0 = tt_now_ms();
    while (tt_now_ms() - t0 < GIVE_UP_MS) {
        v = coh_get(a, key, NULL);
        if (v && strcmp(v, "new") == 0) {
            saw_new = 1;
        } else {
            ck_assert_msg(!saw_new, "A served %s after it served the new value",
                          v ? v : "(miss)");
        }
        free(v);
        if (saw_new && coh_trackers(tcl_node(cl, replica)) == 2) {
            break;
        }
        tt_sleep_ms(1);
    }
    ck_assert_msg(saw_new,
                  "A still serves the old value %d ms after the "
                  "failover",
                  GIVE_UP_MS);
    coh_wait_trackers(tcl_node(cl, replica), 2);
    fprintf(stderr, "failover: A served the new value after %lld ms\n",
            (long long)(tt_now_ms() - t0));
    /* both track the promoted master: a write is heard within the bound */
    coh_heard(a, b, key, "new", "newer", "set after failover");
    tc_cache_close(b);
    tc_cache_close(a);
    bk_stop(&s);
}
END_TEST

void suite_coherence_cluster(Suite *s)
{
    TCase *tc = tcase_create("cluster");
    TCase *fo = tcase_create("cluster_failover");

    tcase_add_unchecked_fixture(tc, cl_setup, cl_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_every_master);
    tcase_add_test(tc, test_master_connection_killed);
    tcase_add_test(tc, test_read_from_replica);
    tcase_add_test(tc, test_tracking_off);
    suite_add_tcase(s, tc);

    tcase_add_unchecked_fixture(fo, cl_setup, cl_teardown);
    tcase_set_timeout(fo, 180);
    tcase_add_test(fo, test_failover);
    suite_add_tcase(s, fo);
}
