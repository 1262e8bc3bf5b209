/*
 * check_popular.c - popularity tracking (track_popular) through the
 * public API on real stores (LMDB, a private Redis, the test cluster):
 * exact counts from single and batched classifications of texts that
 * normalize alike, several handles adding to one table, the table
 * trimmed to popular_size keeping the most counted, an uncounted
 * classifier counting nothing, an A/B candidate's failure answered by
 * control and counted once, counts sent by the handle's thread and at
 * close, texts sealed at rest on Redis, and the failures: tracking off,
 * memory:, bad arguments, a Redis that is down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cache_fixture.h"
#include "raw_store_fixture.h"
#include "store/store.h"
#include "tt_json.h"
#include "suites.h"

static const int pop_kinds[] = {BK_LMDB, BK_REDIS, BK_CLUSTER};

#define TRACK "{\"track_popular\": true}"

/* A host model: every text is a greeting. */
static int greet(char **json, const char *text, size_t len, void *ud)
{
    static const char a[] = "{\"intent\":\"greeting\",\"confidence\":0.9}";

    (void)text;
    (void)len;
    (void)ud;
    *json = tc_malloc(sizeof(a));
    if (!*json) {
        return TC_ENOMEM;
    }
    memcpy(*json, a, sizeof(a));
    return TC_OK;
}

/* A host model that fails every call: an A/B candidate gone wrong. */
static int broken(char **json, const char *text, size_t len, void *ud)
{
    (void)json;
    (void)text;
    (void)len;
    (void)ud;
    return TC_EIO;
}

/* A classifier of greet; with cand, an A/B candidate that answers every
 * text (split 1). */
static tc_classifier *open_with(tc_cache *h, int uncounted,
                                tc_classifier_fn cand)
{
    tc_classifier_options co;
    tc_classifier *c = NULL;

    tc_classifier_options_init(&co);
    co.fn = greet;
    co.fn_version = "greet-1";
    co.uncounted = uncounted;
    if (cand) {
        co.candidate_fn = cand;
        co.candidate_fn_version = "cand-2";
        co.split = 1.0;
    }
    ck_assert_int_eq(tc_classifier_open(&c, h, &co), TC_OK);
    return c;
}

static tc_classifier *open_cls(tc_cache *h, int uncounted)
{
    return open_with(h, uncounted, NULL);
}

static void classify_n(tc_classifier *c, const char *text, int n)
{
    for (int i = 0; i < n; i++) {
        tc_result *r = NULL;

        ck_assert_msg(tc_classify(&r, c, text, strlen(text)) == TC_OK, "%s",
                      tc_errmsg());
        tc_result_free(r);
    }
}

/* The normalized form of text, as the table keeps it (a static buffer). */
static const char *norm(const char *text)
{
    static char buf[4][256];
    static int next;
    char *n = NULL, *out = buf[next++ % 4];
    size_t len = 0;

    ck_assert_int_eq(tc_text_normalize(&n, &len, text, strlen(text)), TC_OK);
    snprintf(out, 256, "%s", n);
    tc_free(n);
    return out;
}

typedef struct top {
    char **texts;
    uint64_t *counts;
    size_t n;
} top;

static void top_of(top *t, tc_cache *h, size_t max)
{
    int rc = tc_popular_top(&t->texts, &t->counts, &t->n, h, max);

    ck_assert_msg(rc == TC_OK, "tc_popular_top: %s: %s", tc_error_name(rc),
                  tc_errmsg());
}

static void top_free(top *t)
{
    tc_popular_free(t->texts, t->counts, t->n);
    memset(t, 0, sizeof(*t));
}

/* Counts of single and batched calls, exact and in order; a second
 * handle adds to the same table, sent when it closes. */
START_TEST(test_pop_counts)
{
    static const char *const batch[] = {"What is a closure?",
                                        "what is a closure?",
                                        "  WHAT IS A CLOSURE?  ", "Hi"};
    size_t lens[4];
    tc_result *res[4];
    int status[4];
    tc_cache *h, *h2;
    tc_classifier *c, *c2;
    top t;
    bk b;

    bk_start(&b, pop_kinds[_i]);
    h = bk_open_with(&b, NULL, TRACK);
    c = open_cls(h, 0);
    classify_n(c, "How do I sort a list?", 3);
    classify_n(c, "how do I sort a list?", 2);
    classify_n(c, "Explain recursion", 1);
    for (int i = 0; i < 4; i++) {
        lens[i] = strlen(batch[i]);
    }
    ck_assert_int_eq(tc_classify_batch(res, status, c, batch, lens, 4), TC_OK);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(status[i], TC_OK);
        tc_result_free(res[i]);
    }
    ck_assert_int_eq(tc_popular_flush(h), TC_OK);

    top_of(&t, h, 10);
    ck_assert_uint_eq(t.n, 4);
    ck_assert_str_eq(t.texts[0], norm("How do I sort a list?"));
    ck_assert_uint_eq(t.counts[0], 5);
    ck_assert_str_eq(t.texts[1], norm("What is a closure?"));
    ck_assert_uint_eq(t.counts[1], 3);
    ck_assert_uint_eq(t.counts[2], 1);
    ck_assert_uint_eq(t.counts[3], 1);
    top_free(&t);
    top_of(&t, h, 1);
    ck_assert_uint_eq(t.n, 1);
    top_free(&t);

    /* another handle (another process's view): counts add up */
    h2 = bk_open_with(&b, NULL, TRACK);
    c2 = open_cls(h2, 0);
    classify_n(c2, "Explain recursion!", 9);
    tc_classifier_close(c2);
    tc_cache_close(h2); /* sends its counts */
    top_of(&t, h, 1);
    ck_assert_uint_eq(t.n, 1);
    ck_assert_str_eq(t.texts[0], norm("Explain recursion"));
    ck_assert_uint_eq(t.counts[0], 10);
    top_free(&t);

    tc_classifier_close(c);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* popular_size 10: 30 texts counted 1..30 times leave the 10 most. */
START_TEST(test_pop_trim)
{
    char text[64];
    tc_cache *h;
    tc_classifier *c;
    top t;
    bk b;

    bk_start(&b, pop_kinds[_i]);
    h = bk_open_with(&b, NULL,
                     "{\"track_popular\": true, \"popular_size\": 10}");
    c = open_cls(h, 0);
    for (int i = 1; i <= 30; i++) {
        snprintf(text, sizeof(text), "question number %d", i);
        classify_n(c, text, i);
    }
    ck_assert_int_eq(tc_popular_flush(h), TC_OK);
    top_of(&t, h, 100);
    ck_assert_uint_eq(t.n, 10);
    for (size_t i = 0; i < t.n; i++) {
        snprintf(text, sizeof(text), "question number %d", 30 - (int)i);
        ck_assert_str_eq(t.texts[i], text);
        ck_assert_uint_eq(t.counts[i], 30 - i);
    }
    top_free(&t);
    tc_classifier_close(c);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* An uncounted classifier (warming) counts nothing; the handle's thread
 * sends a counted one's without a flush. */
START_TEST(test_pop_uncounted_and_thread)
{
    tc_cache *h;
    tc_classifier *c, *u;
    top t = {0};
    bk b;

    bk_start(&b, BK_LMDB);
    h = bk_open_with(&b, NULL, TRACK);
    u = open_cls(h, 1);
    classify_n(u, "warming is not demand", 4);
    ck_assert_int_eq(tc_popular_flush(h), TC_OK);
    top_of(&t, h, 10);
    ck_assert_uint_eq(t.n, 0);
    top_free(&t);

    c = open_cls(h, 0);
    classify_n(c, "asked for real", 2);
    /* sent within a second; a generous bound on a loaded machine */
    for (int i = 0; i < 300 && t.n == 0; i++) {
        top_free(&t);
        usleep(100 * 1000);
        top_of(&t, h, 10);
    }
    ck_assert_uint_eq(t.n, 1);
    ck_assert_str_eq(t.texts[0], "asked for real");
    ck_assert_uint_eq(t.counts[0], 2);
    top_free(&t);
    tc_classifier_close(u);
    tc_classifier_close(c);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* Adds ids[i] counted counts[i], n of them, with keep. */
static void pop_add(tc__store *s, char (*ids)[16], const uint64_t *counts,
                    size_t n, size_t keep)
{
    tc__pop_add *it = calloc(n, sizeof(*it));
    tc__err err = {""};

    ck_assert_ptr_nonnull(it);
    for (size_t i = 0; i < n; i++) {
        it[i] = (tc__pop_add){ids[i], ids[i], strlen(ids[i]), counts[i]};
    }
    ck_assert_msg(s->ops->pop_add(s, it, n, keep, &err) == TC_OK, "%s",
                  err.msg);
    free(it);
}

/* Most counted first, then the larger id: the order the trim keeps. */
static int rank_cmp(const void *a, const void *b)
{
    const tc__pop_top *x = a, *y = b;

    if (x->count != y->count) {
        return x->count > y->count ? -1 : 1;
    }
    return strcmp(y->id, x->id);
}

/*
 * Every store keeps and ranks the same ids: the most counted, ties going
 * to the larger ids (Redis' sorted set order), whatever order they were
 * added in; a top read shorter than the table is sorted the same way.
 * LMDB, which has no sorted set, selects them with a heap, not a sort of
 * the table.
 */
START_TEST(test_pop_ties)
{
    enum { N = 3000, KEEP = 1000 };
    char(*ids)[16] = calloc(N, 16);
    uint64_t *counts = calloc(N, sizeof(*counts)), seed = 7;
    tc__pop_top *got_top = NULL, *want = calloc(N, sizeof(*want));
    tc__config cfg;
    tc__store *s;
    tc__err err = {""};
    size_t got = 0;
    bk b;

    ck_assert(ids && counts && want);
    /* 30 ids, added last first: every third counted 50, the others 7, so
     * the cut at 15 falls among the sevens */
    for (int i = 0; i < 30; i++) {
        snprintf(ids[i], 16, "tc:pop:%02d", 29 - i);
        counts[i] = (29 - i) % 3 == 0 ? 50 : 7;
    }
    bk_start(&b, pop_kinds[_i]);
    s = raw_store_open(&b, &cfg);
    pop_add(s, ids, counts, 30, 15);
    ck_assert_int_eq(s->ops->pop_top(s, 100, &got_top, &got, &err), TC_OK);
    ck_assert_uint_eq(got, 15);
    for (size_t i = 0; i < 10; i++) {
        snprintf(ids[0], 16, "tc:pop:%02zu", 27 - 3 * i);
        ck_assert_str_eq(got_top[i].id, ids[0]);
        ck_assert_uint_eq(got_top[i].count, 50);
    }
    for (size_t i = 10; i < 15; i++) {
        static const int sevens[] = {29, 28, 26, 25, 23};

        snprintf(ids[0], 16, "tc:pop:%02d", sevens[i - 10]);
        ck_assert_str_eq(got_top[i].id, ids[0]);
        ck_assert_uint_eq(got_top[i].count, 7);
    }
    tc__pop_top_free(got_top, got);
    ck_assert_int_eq(s->ops->pop_top(s, 3, &got_top, &got, &err), TC_OK);
    ck_assert_uint_eq(got, 3);
    ck_assert_str_eq(got_top[2].id, "tc:pop:21");
    tc__pop_top_free(got_top, got);
    s->ops->close(s);
    tc__config_free(&cfg);
    bk_stop(&b);

    /* N ids of four counts, added in an order unlike theirs: the KEEP
     * first of a sort of them are kept */
    bk_start(&b, pop_kinds[_i]);
    s = raw_store_open(&b, &cfg);
    for (size_t i = 0; i < N; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        snprintf(ids[i], 16, "tc:pop:%05zu", i * 7919 % N);
        counts[i] = 1 + (seed >> 33) % 4;
        want[i] = (tc__pop_top){ids[i], NULL, 0, counts[i]};
    }
    qsort(want, N, sizeof(*want), rank_cmp);
    /* the cut falls inside a tie: the test means what it says */
    ck_assert_uint_eq(want[KEEP - 1].count, want[KEEP].count);
    pop_add(s, ids, counts, N, KEEP);
    ck_assert_int_eq(s->ops->pop_top(s, N, &got_top, &got, &err), TC_OK);
    ck_assert_uint_eq(got, KEEP);
    for (size_t i = 0; i < KEEP; i++) {
        ck_assert_str_eq(got_top[i].id, want[i].id);
        ck_assert_uint_eq(got_top[i].count, want[i].count);
    }
    tc__pop_top_free(got_top, got);
    free(want);
    s->ops->close(s);
    tc__config_free(&cfg);
    bk_stop(&b);
    free(ids);
    free(counts);
}
END_TEST

/*
 * One request, one count, whichever arm answered: a candidate that fails
 * falls back to control, singly and in a batch, and the text still
 * counts once per request; a candidate that answers counts once too.
 */
START_TEST(test_pop_ab_fallback_once)
{
    static const char *const batch[] = {"Which arm answers?", "Another one"};
    size_t lens[2] = {strlen(batch[0]), strlen(batch[1])};
    tc_result *res[2], *r = NULL;
    int status[2];
    tc_cache *h;
    tc_classifier *c, *ok;
    top t;
    bk b;

    bk_start(&b, pop_kinds[_i]);
    h = bk_open_with(&b, NULL, TRACK);
    c = open_with(h, 0, broken);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tc_classify(&r, c, batch[0], lens[0]), TC_OK);
        ck_assert_str_eq(r->arm, "control"); /* the candidate failed */
        tc_result_free(r);
    }
    ck_assert_int_eq(tc_classify_batch(res, status, c, batch, lens, 2), TC_OK);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(status[i], TC_OK);
        ck_assert_str_eq(res[i]->arm, "control");
        tc_result_free(res[i]);
    }
    ok = open_with(h, 0, greet);
    ck_assert_int_eq(tc_classify(&r, ok, batch[1], lens[1]), TC_OK);
    ck_assert_str_eq(r->arm, "candidate");
    tc_result_free(r);
    ck_assert_int_eq(tc_popular_flush(h), TC_OK);

    top_of(&t, h, 10);
    ck_assert_uint_eq(t.n, 2);
    ck_assert_str_eq(t.texts[0], norm(batch[0]));
    ck_assert_uint_eq(t.counts[0], 4);
    ck_assert_str_eq(t.texts[1], norm(batch[1]));
    ck_assert_uint_eq(t.counts[1], 2);
    top_free(&t);
    tc_classifier_close(c);
    tc_classifier_close(ok);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* With encryption at rest the store never holds a text in clear. */
START_TEST(test_pop_sealed)
{
    char cfg[1024], key[600], other[600], *reply;
    tc_cache *h;
    tc_classifier *c;
    top t;
    bk b;

    bk_start(&b, BK_REDIS);
    snprintf(key, sizeof(key), "%s/key", b.tmp);
    snprintf(other, sizeof(other), "%s/other", b.tmp);
    tt_write_file(key,
                  "000102030405060708090a0b0c0d0e0f"
                  "101112131415161718191a1b1c1d1e1f\n",
                  0600);
    tt_write_file(other,
                  "ff0102030405060708090a0b0c0d0e0f"
                  "101112131415161718191a1b1c1d1e1f\n",
                  0600);
    snprintf(cfg, sizeof(cfg),
             "{\"track_popular\": true, \"encryption_key_file\": \"%s\"}", key);
    h = bk_open_with(&b, NULL, cfg);
    c = open_cls(h, 0);
    classify_n(c, "my private question", 2);
    ck_assert_int_eq(tc_popular_flush(h), TC_OK);
    reply = trs_cmd(b.srv, "HGETALL %s", "tc:{pop}:text");
    ck_assert_ptr_nonnull(reply);
    ck_assert_ptr_nonnull(strstr(reply, "tc:pop:"));
    ck_assert_msg(!strstr(reply, "private"), "in clear: %s", reply);
    free(reply);
    top_of(&t, h, 5);
    ck_assert_uint_eq(t.n, 1);
    ck_assert_str_eq(t.texts[0], "my private question");
    ck_assert_uint_eq(t.counts[0], 2);
    top_free(&t);
    tc_classifier_close(c);
    tc_cache_close(h);

    /* another key opens nothing: the text is left out, not shown */
    snprintf(cfg, sizeof(cfg),
             "{\"track_popular\": true, \"encryption_key_file\": \"%s\"}",
             other);
    h = bk_open_with(&b, NULL, cfg);
    top_of(&t, h, 5);
    ck_assert_uint_eq(t.n, 0);
    top_free(&t);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

/* Tracking off, memory:, bad arguments: refused, and saying why. */
START_TEST(test_pop_refused)
{
    char **texts = (char **)&texts;
    uint64_t *counts = (uint64_t *)&counts;
    size_t n = 7;
    tc_cache *h;
    bk b;

    bk_start(&b, BK_LMDB);
    h = bk_open(&b);
    ck_assert_int_eq(tc_popular_top(&texts, &counts, &n, h, 10), TC_ECONFIG);
    ck_assert_ptr_null(texts);
    ck_assert_ptr_null(counts);
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "track_popular is off"));
    ck_assert_int_eq(tc_popular_flush(h), TC_OK); /* nothing to send */
    tc_cache_close(h);

    h = bk_open_with(&b, NULL, TRACK);
    ck_assert_int_eq(tc_popular_top(&texts, &counts, &n, h, 0), TC_EINVAL);
    ck_assert_int_eq(tc_popular_top(NULL, &counts, &n, h, 1), TC_EINVAL);
    ck_assert_int_eq(tc_popular_top(&texts, &counts, &n, NULL, 1), TC_EINVAL);
    tc_cache_close(h);
    bk_stop(&b);

    bk_start(&b, BK_MEMORY);
    h = bk_open_with(&b, NULL, TRACK);
    ck_assert_int_eq(tc_popular_top(&texts, &counts, &n, h, 10), TC_ECONFIG);
    ck_assert_ptr_nonnull(strstr(tc_errmsg(), "keeps no popularity"));
    tc_cache_close(h);
    bk_stop(&b);
    tc_popular_free(NULL, NULL, 0);
}
END_TEST

/* A Redis that is down: the read fails as unreachable, a flush's counts
 * are lost and said so; back up, counting goes on. */
START_TEST(test_pop_store_down)
{
    char **texts = NULL;
    uint64_t *counts = NULL;
    size_t n = 0;
    tc_cache *h;
    tc_classifier *c;
    top t;
    bk b;
    int rc;
    cJSON *line;

    bk_start(&b, BK_REDIS);
    h = bk_open_logged(&b, TRACK);
    c = open_cls(h, 0);
    classify_n(c, "before the crash", 1);
    ck_assert_int_eq(tc_popular_flush(h), TC_OK);
    trs_kill(b.srv);
    classify_n(c, "during the crash", 3);
    /* this flush fails, unless the handle's thread sent (and failed)
     * first: either way the log says so, with the counts lost */
    rc = tc_popular_flush(h);
    ck_assert_msg(rc == TC_OK || rc == TC_EUNAVAIL || rc == TC_ETIMEOUT, "%s",
                  tc_error_name(rc));
    if (rc != TC_OK) {
        ck_assert_ptr_nonnull(strstr(tc_errmsg(), "POPULAR ADD"));
    }
    line = cache_log_find("popular_flush_failed");
    ck_assert_msg(line, "no popular_flush_failed in %s", cache_log_text());
    ck_assert(json_num(line, "lost") >= 1 && json_num(line, "lost") <= 3);
    cJSON_Delete(line);
    rc = tc_popular_top(&texts, &counts, &n, h, 10);
    ck_assert_msg(rc == TC_EUNAVAIL || rc == TC_ETIMEOUT, "%s",
                  tc_error_name(rc));
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(trs_restart(b.srv), 0);
    /* the breaker may hold calls back for a moment after the restart */
    for (int i = 0; i < 100; i++) {
        classify_n(c, "after the crash", 1);
        if (tc_popular_flush(h) == TC_OK) {
            break;
        }
        usleep(100 * 1000);
    }
    top_of(&t, h, 10);
    /* what came after is there; what the failed flush held is not */
    rc = 0;
    for (size_t i = 0; i < t.n; i++) {
        ck_assert_str_ne(t.texts[i], "during the crash");
        rc += strcmp(t.texts[i], "after the crash") == 0;
    }
    ck_assert_int_eq(rc, 1);
    top_free(&t);
    tc_classifier_close(c);
    tc_cache_close(h);
    bk_stop(&b);
}
END_TEST

Suite *suite_popular(void)
{
    Suite *s = suite_create("popular");
    TCase *tc = tcase_create("popular");
    int nk = (int)(sizeof(pop_kinds) / sizeof(pop_kinds[0]));

    tcase_add_unchecked_fixture(tc, bk_cluster_setup, bk_cluster_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_pop_counts, 0, nk);
    tcase_add_loop_test(tc, test_pop_trim, 0, nk);
    tcase_add_loop_test(tc, test_pop_ab_fallback_once, 0, nk);
    tcase_add_loop_test(tc, test_pop_ties, 0, nk);
    tcase_add_test(tc, test_pop_uncounted_and_thread);
    tcase_add_test(tc, test_pop_sealed);
    tcase_add_test(tc, test_pop_refused);
    tcase_add_test(tc, test_pop_store_down);
    suite_add_tcase(s, tc);
    return s;
}
