/*
 * check_keyspace.c - every key the library writes to Redis is
 * tc:<prefix>:..., where prefix is a namespace's or one the configuration
 * reserves (TC__RESERVED_PREFIXES): so refusing those prefixes keeps a
 * namespace's entries out of the library's own keys, and a key family
 * added without reserving its prefix fails here. Part of the key suite.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include <tutorcache.h>

#include "base/cfgparse.h"
#include "redis_fixture.h"
#include "suites.h"

#define RECORD                                                                 \
    "{\"text\": \"How many seconds are in a week?\", \"original_intent\": "    \
    "\"study_planning\", \"correct_intent\": \"math_help\", "                  \
    "\"original_confidence\": 0.9, \"feedback_type\": \"correction\"}"

/* Whether prefix is one of the namespaces' of the handle's configuration. */
static int ns_prefix(const cJSON *cfg, const char *prefix, size_t n)
{
    const cJSON *ns;

    cJSON_ArrayForEach(ns, cJSON_GetObjectItem(cfg, "namespaces"))
    {
        const cJSON *p = cJSON_GetObjectItem(ns, "prefix");

        if (cJSON_IsString(p) && strlen(p->valuestring) == n &&
            strncmp(p->valuestring, prefix, n) == 0) {
            return 1;
        }
    }
    return 0;
}

START_TEST(test_keys_under_known_prefixes)
{
    trs *srv = trs_start(NULL);
    char id[TC_FEEDBACK_ID_MAX + 1], *cfgtext = NULL, *keys, *k, *save = NULL;
    tc_feedback_batch *b = NULL;
    tc_options o;
    tc_cache *h = NULL;
    cJSON *cfg;
    int nkeys = 0;

    ck_assert_ptr_nonnull(srv);
    tc_options_init(&o);
    o.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    o.store_url = trs_url(srv);
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "%s", tc_errmsg());
    /* what writes keys: entries, an invalidation, feedback and its queue */
    ck_assert_int_eq(tc_cache_set(h, "intents", "k", 1, "v", 1, 0), TC_OK);
    ck_assert_int_eq(tc_cache_invalidate(h, "intents"), TC_OK);
    ck_assert_int_eq(tc_cache_set(h, "intents", "k", 1, "v", 1, 0), TC_OK);
    ck_assert_msg(
        tc_feedback_submit_json(id, NULL, h, RECORD, strlen(RECORD)) == TC_OK,
        "%s", tc_errmsg());
    ck_assert_int_eq(tc_feedback_consume(&b, h, "c1", 10, 0), TC_OK);
    ck_assert_uint_eq(b->n, 1);
    ck_assert_int_eq(tc_feedback_ack(h, b->ids, b->n), TC_OK);
    tc_feedback_batch_free(b);
    ck_assert_int_eq(tc_cache_config_json(&cfgtext, h), TC_OK);
    cfg = cJSON_Parse(cfgtext);
    ck_assert_ptr_nonnull(cfg);

    /* KEYS answers one name per line through the fixture */
    keys = trs_cmd(srv, "EVAL %s 0",
                   "return table.concat(redis.call('KEYS', '*'), '\\n')");
    ck_assert_ptr_nonnull(keys);
    for (k = strtok_r(keys, "\n", &save); k; k = strtok_r(NULL, "\n", &save)) {
        const char *p = k + 3, *e = strchr(p, ':');
        char prefix[64];

        ck_assert_msg(strncmp(k, "tc:", 3) == 0 && e && e - p < 64,
                      "key %s is not tc:<prefix>:...", k);
        memcpy(prefix, p, (size_t)(e - p));
        prefix[e - p] = '\0';
        ck_assert_msg(ns_prefix(cfg, p, (size_t)(e - p)) ||
                          tc__cfg_prefix_reserved(prefix),
                      "key %s: prefix %s is neither a namespace's nor "
                      "reserved (%s)",
                      k, prefix, TC__RESERVED_PREFIXES);
        nkeys++;
    }
    /* an entry, a generation and the feedback's keys at least */
    ck_assert_int_ge(nkeys, 4);
    free(keys);
    cJSON_Delete(cfg);
    tc_free(cfgtext);
    tc_cache_close(h);
    trs_stop(srv);
}
END_TEST

void suite_keyspace(Suite *s)
{
    TCase *tc = tcase_create("keyspace");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_keys_under_known_prefixes);
    suite_add_tcase(s, tc);
}
