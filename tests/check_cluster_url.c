/*
 * check_cluster_url.c - redis-cluster:// URLs: the nodes, the user info
 * and the option read, and every bad URL refused with a message that
 * names what is wrong and never shows the password. Part of the cluster
 * suite (check_cluster.c); needs no server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_cluster.h"

START_TEST(test_url_nodes)
{
    tc__config c;
    tc__err err = {""};

    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(
        tc__config_parse_url(
            &c,
            "redis-cluster://alice:s%40cret@10.0.0.1:7000,[::1]:7001,"
            "cache-3?read_from=replica",
            &err),
        TC_OK);
    ck_assert_int_eq(c.store.kind, TC__STORE_CLUSTER);
    ck_assert_uint_eq(c.store.nseeds, 3);
    ck_assert_str_eq(c.store.seeds[0].host, "10.0.0.1");
    ck_assert_int_eq(c.store.seeds[0].port, 7000);
    ck_assert_str_eq(c.store.seeds[1].host, "::1");
    ck_assert_int_eq(c.store.seeds[1].port, 7001);
    ck_assert_str_eq(c.store.seeds[2].host, "cache-3");
    ck_assert_int_eq(c.store.seeds[2].port, 6379);
    ck_assert_str_eq(c.store.host, "10.0.0.1");
    ck_assert_int_eq(c.store.port, 7000);
    ck_assert_str_eq(c.store.user, "alice");
    ck_assert_str_eq(c.store.password, "s@cret");
    ck_assert_int_eq(c.store.read_replica, 1);
    ck_assert_ptr_null(strstr(c.store.url_masked, "cret"));
    ck_assert_str_eq(c.store.url_masked,
                     "redis-cluster://alice:***@10.0.0.1:7000,[::1]:7001,"
                     "cache-3?read_from=replica");

    /* parsing again starts afresh */
    ck_assert_int_eq(
        tc__config_parse_url(&c, "redis-cluster://h:1?read_from=master", &err),
        TC_OK);
    ck_assert_uint_eq(c.store.nseeds, 1);
    ck_assert_int_eq(c.store.read_replica, 0);
    ck_assert_ptr_null(c.store.password);
    ck_assert_int_eq(tc__config_parse_url(&c, "redis://h:1", &err), TC_OK);
    ck_assert_uint_eq(c.store.nseeds, 0);
    ck_assert_ptr_null(c.store.seeds);
    tc__config_free(&c);
}
END_TEST

START_TEST(test_url_bad)
{
    static const struct {
        const char *url, *says;
    } bad[] = {
        {"redis-cluster://", "no node"},
        {"redis-cluster://u:hunter2@", "no node"},
        {"redis-cluster://u:hunter2@h:7000,,h:7001", "an empty node"},
        {"redis-cluster://u:hunter2@h:7000,", "an empty node"},
        {"redis-cluster://u:hunter2@h:0", "h:0: 0 is not a port"},
        {"redis-cluster://u:hunter2@h:70000", "not a port (1-65535)"},
        {"redis-cluster://u:hunter2@h:", "not a port"},
        {"redis-cluster://u:hunter2@:7000", "has no host"},
        {"redis-cluster://u:hunter2@[::1:7000", "bad IPv6 address"},
        {"redis-cluster://u:hunter2@h:7000/2", "database 0 only"},
        {"redis-cluster://u:hunter2@h:7000?read_from=any", "any is neither"},
        {"redis-cluster://u:hunter2@h:7000?db=1", "unknown option db=1"},
        {"redis-cluster://u:hunter%zz@h:7000", "bad %-escape in the password"},
        {"redis-cluster://h1,h2,h3,h4,h5,h6,h7,h8,h9,h10,h11,h12,h13,h14,h15,"
         "h16,h17,h18,h19,h20,h21,h22,h23,h24,h25,h26,h27,h28,h29,h30,h31,h32,"
         "h33",
         "33 nodes, at most 32"},
    };
    tc__config c;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tc__err err = {""};

        memset(&c, 0, sizeof(c));
        ck_assert_msg(tc__config_parse_url(&c, bad[i].url, &err) == TC_ECONFIG,
                      "%s was accepted", bad[i].url);
        ck_assert_msg(strstr(err.msg, bad[i].says) != NULL,
                      "%s: \"%s\" does not say \"%s\"", bad[i].url, err.msg,
                      bad[i].says);
        ck_assert_msg(strstr(err.msg, "hunter") == NULL,
                      "%s: the message shows the password: %s", bad[i].url,
                      err.msg);
        tc__config_free(&c);
    }
}
END_TEST

/* Through the public door: the store kind, and feedback's stats on a
 * cluster that does not answer failing as on a single server that is
 * down, with a message. */
START_TEST(test_url_public)
{
    char url[96];
    tc_options o;
    tc_cache *h = NULL;
    char *stats = NULL;
    int rc;

    snprintf(url, sizeof(url), "redis-cluster://127.0.0.1:%d", tt_free_port());
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = url;
    o.command_timeout_ms = o.connect_timeout_ms = 100;
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_OK);
    ck_assert_str_eq(tc_cache_store_kind(h), "redis-cluster");
    rc = tc_feedback_stats_json(&stats, h);
    ck_assert_msg(rc == TC_EUNAVAIL || rc == TC_ETIMEOUT, "stats: %d", rc);
    ck_assert_ptr_null(stats);
    ck_assert_str_ne(tc_errmsg(), "");
    tc_cache_close(h);

    o.store_url = "redis-cluster://u:hunter2@127.0.0.1:7000/3";
    ck_assert_int_eq(tc_cache_open(&h, &o), TC_ECONFIG);
    ck_assert_ptr_null(h);
    ck_assert_ptr_null(strstr(tc_errmsg(), "hunter2"));
}
END_TEST

void suite_cluster_url(Suite *s)
{
    TCase *tc = tcase_create("cluster_url");

    tcase_add_test(tc, test_url_nodes);
    tcase_add_test(tc, test_url_bad);
    tcase_add_test(tc, test_url_public);
    suite_add_tcase(s, tc);
}
