/*
 * check_classify_batch.c - what a batch of classifications writes: the
 * answers the model computed go to the store together, after the
 * batch's lookups (classify/classify.c, cache/batch.c). Each must reach
 * the L2, under the namespace's TTL; none may be written for a text that
 * a correction answers; and a store that is down still gets every text
 * answered, from L1 for the degraded cap. On Redis, LMDB and the cluster.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_fixture.h"
#include "cluster_fixture.h"
#include "suites.h"
#include "tutorcache.h"

/* The correction's text first, then three texts the model answers. */
static const char *const texts[] = {
    "Why does my loop never end?", "What is a closure?",
    "How do I sort a list?", "Explain recursion"};
#define NTEXTS 4

/* The classifications' TTL, in the config: not the default hour. */
static char cfg[128];
static int64_t ttl_ms;

static void set_ttl(void)
{
    ttl_ms = T(4000);
    snprintf(cfg, sizeof(cfg), "{\"namespaces\":{\"intents\":{\"ttl\":%.3f}}}",
             (double)ttl_ms / 1000);
}

/* Classifies the texts in one batch through c; each must succeed, the
 * first from source first, the others from source rest. */
static void batch_expect(tc_classifier *c, tc_source first, tc_source rest)
{
    size_t lens[NTEXTS];
    tc_result *out[NTEXTS];
    int st[NTEXTS], i;

    for (i = 0; i < NTEXTS; i++) {
        lens[i] = strlen(texts[i]);
    }
    ck_assert_int_eq(tc_classify_batch(out, st, c, texts, lens, NTEXTS), TC_OK);
    for (i = 0; i < NTEXTS; i++) {
        tc_source want = i == 0 ? first : rest;

        ck_assert_int_eq(st[i], TC_OK);
        ck_assert_msg(out[i]->source == want, "\"%s\": source %s, wanted %s",
                      texts[i], tc_source_name(out[i]->source),
                      tc_source_name(want));
        ck_assert_str_eq(out[i]->intent, want == TC_SOURCE_FEEDBACK
                                             ? "debugging"
                                             : "explanation");
        tc_result_free(out[i]);
    }
}

/* text classified by a new handle on b's store, as by another process:
 * from source want. */
static void fresh_expect(bk *b, const char *text, tc_source want)
{
    tc_cache *h = bk_open_with(b, NULL, cfg);
    tc_classifier *c = tt_host_classifier(h);

    tc_result_free(cl_classify_ok(c, text, want));
    tc_classifier_close(c);
    tc_cache_close(h);
}

/* The PTTLs of the classifications' keys in the L2, one a line: on the
 * cluster, each key (which a master and its replica both list) asked of
 * the master that serves it. */
static char *intent_pttls(const bk *b)
{
    char *keys, *k, *save = NULL, *all = calloc(1, 1);
    size_t used = 0;

    ck_assert_ptr_nonnull(all);
    keys = b->srv ? trs_cmd(b->srv, "KEYS tc:intent:*")
                  : bk_cluster_cmd("KEYS %s", "tc:intent:*");
    ck_assert_ptr_nonnull(keys);
    for (k = strtok_r(keys, "\n", &save); k; k = strtok_r(NULL, "\n", &save)) {
        char *p;

        if (strstr(save ? save : "", k)) {
            continue; /* listed again further on */
        }
        p = b->srv ? trs_cmd(b->srv, "PTTL %s", k)
                   : bk_cluster_cmd("PTTL %s", k);
        ck_assert_ptr_nonnull(p);
        all = realloc(all, used + strlen(p) + 2);
        ck_assert_ptr_nonnull(all);
        used += (size_t)sprintf(all + used, "%s%s", p,
                                p[0] && p[strlen(p) - 1] == '\n' ? "" : "\n");
        free(p);
    }
    free(keys);
    return all;
}

/*
 * The three answers computed are written (a second handle, as another
 * process, finds each in the L2, and the stats count three sets), under
 * the namespace's TTL (on Redis and the cluster every key's PTTL is at
 * most that; on every store they are gone once it has passed), and no
 * answer is written for the corrected text (once its correction is
 * deleted, a new handle computes it, rather than find one in the L2).
 */
START_TEST(test_batch_written)
{
    int kind = shared_kinds[_i];
    char id[TC_FEEDBACK_ID_MAX];
    tc_classifier *c, *c2;
    tc_cache *h, *h2;
    tc_ns_stats s;
    int64_t wrote;
    bk b;

    set_ttl();
    bk_start(&b, kind);
    h = bk_open_with(&b, NULL, cfg);
    c = tt_host_classifier(h);
    ck_assert_int_eq(tc_feedback_submit_json(id, NULL, h, TT_LOOP_CORRECTION,
                                             strlen(TT_LOOP_CORRECTION)),
                     TC_OK);
    batch_expect(c, TC_SOURCE_FEEDBACK, TC_SOURCE_MODEL);
    wrote = tt_now_ms();
    ck_assert_int_eq(tc_cache_stats(&s, h, "intents"), TC_OK);
    ck_assert_uint_eq(s.sets, NTEXTS - 1);
    ck_assert_uint_eq(s.degraded, 0);
    tt_expect_loop_corrected(c);

    h2 = bk_open_with(&b, NULL, cfg);
    c2 = tt_host_classifier(h2);
    batch_expect(c2, TC_SOURCE_FEEDBACK, TC_SOURCE_L2);
    tc_classifier_close(c2);
    tc_cache_close(h2);
    if (kind != BK_LMDB) {
        char *p = intent_pttls(&b), *line, *save = NULL;
        int n = 0;

        for (line = strtok_r(p, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save), n++) {
            long long ms = atoll(line);

            ck_assert_msg(ms > 0 && ms <= ttl_ms, "PTTL %s, TTL %lld", line,
                          (long long)ttl_ms);
        }
        free(p);
        ck_assert_int_eq(n, NTEXTS - 1);
    }

    /* the correction gone, its text is the model's to answer */
    ck_assert_int_eq(
        tc_cache_del(h, "intent_feedback", TT_LOOP_TEXT, strlen(TT_LOOP_TEXT)),
        TC_OK);
    fresh_expect(&b, texts[0], TC_SOURCE_MODEL);

    tt_sleep_ms(wrote + ttl_ms + T(500) - tt_now_ms());
    fresh_expect(&b, texts[1], TC_SOURCE_MODEL);
    tc_classifier_close(c);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/*
 * Redis down: the batch still answers every text, keeps the answers in
 * L1 (the degraded cap), counts each write as degraded and the failed
 * write call as an L2 error; once Redis is back, nothing of it is there.
 */
START_TEST(test_batch_store_down)
{
    tc_classifier *c;
    tc_cache *h;
    tc_ns_stats s;
    bk b;

    set_ttl();
    bk_start(&b, BK_REDIS);
    h = bk_open_logged(&b, cfg);
    c = tt_host_classifier(h);
    trs_kill(b.srv);
    batch_expect(c, TC_SOURCE_MODEL, TC_SOURCE_MODEL);
    ck_assert_int_eq(tc_cache_stats(&s, h, "intents"), TC_OK);
    ck_assert_uint_eq(s.sets, NTEXTS);
    ck_assert_uint_ge(s.degraded, NTEXTS);
    ck_assert_uint_ge(s.l2_errors, 1);
    tc_result_free(cl_classify_ok(c, texts[2], TC_SOURCE_L1));

    ck_assert_int_eq(trs_restart(b.srv), 0);
    fresh_expect(&b, texts[2], TC_SOURCE_MODEL);
    tc_classifier_close(c);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

Suite *suite_classify_batch(void)
{
    Suite *s = suite_create("classify_batch");
    TCase *tc = tcase_create("classify_batch");

    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, bk_cluster_setup, bk_cluster_teardown);
    tcase_add_loop_test(tc, test_batch_written, 0, NSHARED);
    tcase_add_test(tc, test_batch_store_down);
    suite_add_tcase(s, tc);
    return s;
}
