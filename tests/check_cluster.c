/*
 * check_cluster.c - the Redis Cluster store against a real cluster of six
 * redis-servers (cluster_fixture.c), started once for the suite: the slot
 * of a key as the servers compute it, round trips on every master, hash
 * tags, batches across nodes, a slot migrated under a running client
 * (ASK, then MOVED; a batch across it and every master) and the URL's
 * parsing. The public API on a cluster
 * and a failover are in check_cluster_ops.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "base/cfgparse.h"
#include "check_cluster.h"
#include "store/cluster/cluster.h"

tcl *ccl; /* the suite's cluster */

void ccl_setup(void)
{
    ccl = tcl_start(5000);
}

void ccl_teardown(void)
{
    tcl_stop(ccl);
    ccl = NULL;
}

tc__store *ccl_open(tc__config *cfg, const char *url, int timeout_ms)
{
    tc__store *st = NULL;
    tc__err err = {""};

    ck_assert_msg(ccl != NULL, "the cluster did not start");
    memset(cfg, 0, sizeof(*cfg));
    cfg->store.connect_timeout_ms = timeout_ms;
    cfg->store.command_timeout_ms = timeout_ms;
    cfg->store.pool_size = 4;
    ck_assert_int_eq(tc__config_parse_url(cfg, url ? url : tcl_url(ccl), &err),
                     TC_OK);
    ck_assert_msg(tc__store_open(&st, &cfg->store, NULL, &err) == TC_OK,
                  "open: %s", err.msg);
    return st;
}

void ccl_close(tc__store *st, tc__config *cfg)
{
    st->ops->close(st);
    tc__config_free(cfg);
}

int ccl_put(tc__store *st, const char *key, const char *val)
{
    tc__store_set s = {key, val, strlen(val), 60000, 99};
    int rc = st->ops->mset(st, &s, 1, NULL);

    return rc == TC_OK ? s.status : rc;
}

void ccl_expect(tc__store *st, const char *key, const char *want)
{
    tc__store_get g = {key, NULL, 0, 0, 99};
    tc__err err = {""};

    ck_assert_msg(st->ops->mget(st, &g, 1, &err) == TC_OK, "GET %s: %s", key,
                  err.msg);
    if (!want) {
        ck_assert_msg(g.status == TC_MISS, "GET %s: %d, not a miss (%s)", key,
                      g.status, err.msg);
        return;
    }
    ck_assert_msg(g.status == TC_OK, "GET %s: %d (%s)", key, g.status, err.msg);
    ck_assert_str_eq(g.val, want);
    tc__free(g.val);
}

/* The key's value as node i itself has it ("(nil)" when not there). */
static void node_has(int i, const char *key, const char *want)
{
    char *r = trs_cmd(tcl_node(ccl, i), "GET %s", key);

    ck_assert_ptr_nonnull(r);
    ck_assert_msg(strcmp(r, want) == 0, "node %d: GET %s: %s, not %s", i, key,
                  r, want);
    free(r);
}

START_TEST(test_slot_as_servers)
{
    static const char *const keys[] = {"foo",
                                       "123456789",
                                       "{user1000}.following",
                                       "{user1000}.followers",
                                       "{}x",
                                       "x{}",
                                       "a{b",
                                       "a}b{c}",
                                       "{a}{b}",
                                       "{{a}}",
                                       "tc:intent:0f3e",
                                       "\xff\xfe",
                                       ""};

    ck_assert_ptr_nonnull(ccl);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (!keys[i][0]) {
            ck_assert_uint_eq(tc__cluster_slot(keys[i], 0), 0);
            continue;
        }
        ck_assert_msg((int)tc__cluster_slot(keys[i], strlen(keys[i])) ==
                          tcl_keyslot(ccl, keys[i]),
                      "slot of %s", keys[i]);
    }
    /* A tag is all that counts, and only a non-empty one. */
    ck_assert_uint_eq(tc__cluster_slot("{x}1", 4), tc__cluster_slot("x", 1));
    ck_assert_uint_ne(tc__cluster_slot("{}1", 3), tc__cluster_slot("{}2", 3));
}
END_TEST

START_TEST(test_every_master)
{
    tc__config cfg;
    tc__store *st = ccl_open(&cfg, NULL, 1000);
    int masters = 0;
    char key[64], val[32];
    int64_t n = 0;

    for (int i = 0; i < TCL_NODES; i++) {
        tcl_key_on(ccl, i, "tc:t:every:", key, sizeof(key));
        if (!key[0]) {
            continue; /* a replica: it serves no slot */
        }
        masters++;
        snprintf(val, sizeof(val), "on node %d", i);
        ck_assert_int_eq(ccl_put(st, key, val), TC_OK);
        ccl_expect(st, key, val);
        node_has(i, key, val);
        ck_assert_int_eq(st->ops->del(st, key, NULL), TC_OK);
        ck_assert_int_eq(st->ops->del(st, key, NULL), TC_MISS);
        ccl_expect(st, key, NULL);
        ck_assert_int_eq(st->ops->incr(st, key, &n, NULL), TC_OK);
        ck_assert_int_eq(st->ops->incr(st, key, &n, NULL), TC_OK);
        ck_assert_int_eq(n, 2);
        node_has(i, key, "2");
    }
    ck_assert_int_eq(masters, 3);
    ck_assert_int_eq(st->ops->ping(st, NULL), TC_OK);
    ck_assert_str_eq(st->ops->kind, "redis-cluster");
    ccl_close(st, &cfg);
}
END_TEST

START_TEST(test_hash_tags)
{
    static const char *const keys[] = {"{tc}:fb:a", "{tc}:fb:b", "x{tc}y"};
    tc__config cfg;
    tc__store *st = ccl_open(&cfg, NULL, 1000);
    int slot = tcl_keyslot(ccl, "tc"),
        node = tcl_master_of(ccl, (unsigned)slot);

    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq(tcl_keyslot(ccl, keys[i]), slot);
        ck_assert_int_eq(ccl_put(st, keys[i], keys[i]), TC_OK);
        node_has(node, keys[i], keys[i]);
    }
    ccl_close(st, &cfg);
}
END_TEST

START_TEST(test_batches_across_nodes)
{
    enum { N = 60 };
    tc__config cfg;
    tc__store *st = ccl_open(&cfg, NULL, 1000);
    char keys[N][32], vals[N][32];
    tc__store_set s[N];
    tc__store_get g[N + 1];
    int on[TCL_NODES] = {0};

    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "tc:t:batch:%d", i);
        snprintf(vals[i], sizeof(vals[i]), "value %d", i);
        s[i] = (tc__store_set){keys[i], vals[i], strlen(vals[i]), 60000, 99};
        g[i] = (tc__store_get){keys[i], NULL, 0, 0, 99};
        on[tcl_master_of(ccl, (unsigned)tcl_keyslot(ccl, keys[i]))]++;
    }
    g[N] = (tc__store_get){"tc:t:batch:absent", NULL, 0, 0, 99};
    ck_assert_int_eq(st->ops->mset(st, s, N, NULL), TC_OK);
    ck_assert_int_eq(st->ops->mget(st, g, N + 1, NULL), TC_OK);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(s[i].status, TC_OK);
        ck_assert_int_eq(g[i].status, TC_OK);
        ck_assert_str_eq(g[i].val, vals[i]);
        ck_assert_int_gt(g[i].ttl_ms, 0);
        tc__free(g[i].val);
    }
    ck_assert_int_eq(g[N].status, TC_MISS);
    /* the keys really were spread over the three masters */
    for (int i = 0, masters = 0; i < TCL_NODES; i++) {
        masters += on[i] > 0;
        if (i == TCL_NODES - 1) {
            ck_assert_int_eq(masters, 3);
        }
    }
    ccl_close(st, &cfg);
}
END_TEST

/* The id of node i (CLUSTER MYID); the caller frees it. */
int ccl_other_master(int node)
{
    int other = -1;

    for (int i = 0; i < TCL_NODES && other < 0; i++) {
        char key[32];

        tcl_key_on(ccl, i, "x", key, sizeof(key));
        other = i != node && key[0] ? i : -1;
    }
    ck_assert_int_ge(other, 0);
    return other;
}

static char *node_id(int i)
{
    char *id = trs_cmd(tcl_node(ccl, i), "CLUSTER MYID");

    ck_assert_ptr_nonnull(id);
    return id;
}

static void say_ok(int i, char *reply)
{
    ck_assert_msg(reply && strcmp(reply, "OK") == 0, "node %d: %s", i,
                  reply ? reply : "(no reply)");
    free(reply);
}

/*
 * Batches over the slot half moved and every master, each node's part
 * sent before any is read: an mset then an mget of the slot's keys (the
 * moved ones through ASK) and a key on each master, every one answered.
 * Values are the keys themselves.
 */
static void batch_across(tc__store *st, char keys[6][32])
{
    tc__store_get g[6 + TCL_NODES];
    tc__store_set s[6 + TCL_NODES];
    char other[TCL_NODES][32];
    size_t n = 0;

    for (int i = 0; i < 6 + TCL_NODES; i++) {
        const char *k = i < 6 ? keys[i] : other[i - 6];

        if (i >= 6) {
            tcl_key_on(ccl, i - 6, "tc:t:across:", other[i - 6], 32);
            if (!k[0]) {
                continue; /* a replica */
            }
        }
        s[n] = (tc__store_set){k, k, strlen(k), 60000, 99};
        g[n++] = (tc__store_get){k, NULL, 0, 0, 99};
    }
    ck_assert_uint_eq(n, 9);
    ck_assert_int_eq(st->ops->mset(st, s, n, NULL), TC_OK);
    ck_assert_int_eq(st->ops->mget(st, g, n, NULL), TC_OK);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(s[i].status == TC_OK && g[i].status == TC_OK,
                      "%s: set %d, get %d", g[i].key, s[i].status, g[i].status);
        ck_assert_str_eq(g[i].val, g[i].key);
        tc__free(g[i].val);
    }
}

/*
 * A slot moved from one master to another while the store runs: keys
 * already moved are answered through ASK, the rest by the old owner;
 * once the slot is the new owner's, MOVED teaches the store the new map.
 * No call fails on the way.
 */
START_TEST(test_slot_migration)
{
    tc__config cfg;
    tc__store *st = ccl_open(&cfg, NULL, 1000);
    tc__cluster *c = (tc__cluster *)st;
    char keys[6][32], *src_id, *dst_id;
    int slot = tcl_keyslot(ccl, "mig"), src, dst;
    uint64_t redirects;

    src = tcl_master_of(ccl, (unsigned)slot);
    ck_assert_int_ge(src, 0);
    dst = ccl_other_master(src);
    for (int i = 0; i < 6; i++) {
        snprintf(keys[i], sizeof(keys[i]), "tc:{mig}:%d", i);
        ck_assert_int_eq(ccl_put(st, keys[i], keys[i]), TC_OK);
    }
    src_id = node_id(src);
    dst_id = node_id(dst);
    say_ok(dst, trs_cmd(tcl_node(ccl, dst), "CLUSTER SETSLOT %d IMPORTING %s",
                        slot, src_id));
    say_ok(src, trs_cmd(tcl_node(ccl, src), "CLUSTER SETSLOT %d MIGRATING %s",
                        slot, dst_id));
    say_ok(src, trs_cmd(tcl_node(ccl, src),
                        "MIGRATE 127.0.0.1 %d %s 0 5000 KEYS %s %s %s",
                        trs_port(tcl_node(ccl, dst)), "", keys[0], keys[1],
                        keys[2]));
    {
        char *r = trs_cmd(tcl_node(ccl, src), "GET %s", keys[0]);

        /* the old owner sends a client that is not ours elsewhere */
        ck_assert_msg(r && strncmp(r, "ASK ", 4) == 0, "src: %s", r);
        free(r);
    }
    say_ok(dst, trs_cmd(tcl_node(ccl, dst), "ASKING"));

    /* half moved: ASK for the moved keys, the old owner for the others,
     * new keys of the slot go where ASK sends them */
    for (int i = 0; i < 6; i++) {
        ccl_expect(st, keys[i], keys[i]);
    }
    batch_across(st, keys);
    ck_assert_int_eq(ccl_put(st, "tc:{mig}:new", "new"), TC_OK);
    ccl_expect(st, "tc:{mig}:new", "new");
    ck_assert_int_eq(st->ops->del(st, keys[0], NULL), TC_OK);
    ck_assert_int_eq(ccl_put(st, keys[0], keys[0]), TC_OK);
    ck_assert_int_eq(
        tc__cmap_route(c, (unsigned)slot, 0),
        tc__cmap_node(c, "127.0.0.1", 9, trs_port(tcl_node(ccl, src))));

    /* the rest moved, and the slot given to its new owner everywhere */
    say_ok(src, trs_cmd(tcl_node(ccl, src),
                        "MIGRATE 127.0.0.1 %d %s 0 5000 KEYS %s %s %s",
                        trs_port(tcl_node(ccl, dst)), "", keys[3], keys[4],
                        keys[5]));
    for (int i = 0; i < TCL_NODES; i++) {
        char *r = trs_cmd(tcl_node(ccl, i), "CLUSTER SETSLOT %d NODE %s", slot,
                          dst_id);

        free(r); /* replicas may refuse; the masters matter */
    }
    redirects = atomic_load(&c->redirects);
    for (int i = 0; i < 6; i++) {
        ccl_expect(st, keys[i], keys[i]);
    }
    ck_assert_uint_gt(atomic_load(&c->redirects), redirects);
    ck_assert_int_eq(
        tc__cmap_route(c, (unsigned)slot, 0),
        tc__cmap_node(c, "127.0.0.1", 9, trs_port(tcl_node(ccl, dst))));
    ck_assert_int_eq(tcl_wait_ok(ccl, 10000), 0);
    free(src_id);
    free(dst_id);
    ccl_close(st, &cfg);
}
END_TEST

/* No node to be found: the store opens, calls fail at once and say so. */
START_TEST(test_unreachable)
{
    char url[96];
    tc__config cfg;
    tc__store *st;
    tc__store_get g = {"tc:t:x", NULL, 0, 0, 99};
    tc__err err = {""};

    snprintf(url, sizeof(url), "redis-cluster://127.0.0.1:%d", tt_free_port());
    st = ccl_open(&cfg, url, 200);
    ck_assert_int_eq(st->ops->mget(st, &g, 1, &err), TC_EUNAVAIL);
    ck_assert_int_eq(g.status, TC_EUNAVAIL);
    ck_assert_ptr_nonnull(strstr(err.msg, "no node serves slot"));
    ck_assert_int_eq(st->ops->ping(st, &err), TC_EUNAVAIL);
    ccl_close(st, &cfg);
}
END_TEST

Suite *suite_cluster(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("cluster");

    tcase_add_unchecked_fixture(tc, ccl_setup, ccl_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_slot_as_servers);
    tcase_add_test(tc, test_every_master);
    tcase_add_test(tc, test_hash_tags);
    tcase_add_test(tc, test_batches_across_nodes);
    tcase_add_test(tc, test_slot_migration);
    tcase_add_test(tc, test_unreachable);
    suite_add_tcase(s, tc);
    suite_cluster_url(s);
    suite_cluster_ops(s);
    return s;
}
