/*
 * check_coherence.c - L1 kept coherent across processes on a real Redis
 * (client-side caching): handle A holds a value in L1 and handle B (or
 * another process) sets, deletes, invalidates the namespace or corrects
 * it, and A serves the new answer within the bound of 50 ms; the
 * invalidation connection killed, A serves nothing it held and hears
 * writes again; fills racing with writes never leave an old value; and
 * with tracking=off the L1 TTL alone bounds what A serves.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cache_fixture.h"

/* The bound of the issue, stretched under valgrind only. */
#define BOUND_MS 50
/* How long a poll goes on before it gives up, to tell slow from never. */
#define GIVE_UP_MS 3000

static int64_t bound(void)
{
    return tt_under_valgrind() ? BOUND_MS * 20 : BOUND_MS;
}

/* A's answer for key: its value (malloc'd, or NULL on a miss) and tier. */
static char *get(tc_cache *h, const char *key, tc_tier *tier)
{
    void *v = NULL;
    size_t len = 0;
    tc_tier t = TC_TIER_NONE;
    char *out = NULL;
    int rc = tc_cache_get(&v, &len, &t, h, NS, key, strlen(key));

    ck_assert_msg(rc == TC_OK || rc == TC_MISS, "get %s: %s: %s", key,
                  tc_error_name(rc), tc_errmsg());
    if (rc == TC_OK) {
        out = strdup((char *)v);
        tc_free(v);
    }
    if (tier) {
        *tier = t;
    }
    return out;
}

/* Makes A hold key in L1 with want (read until it answers from L1). */
static void hold(tc_cache *a, const char *key, const char *want)
{
    tc_tier t = TC_TIER_NONE;

    for (int i = 0; i < 3 && t != TC_TIER_L1; i++) {
        char *v = get(a, key, &t);

        ck_assert_msg(v && strcmp(v, want) == 0, "A holds %s, not %s",
                      v ? v : "(miss)", want);
        free(v);
    }
    ck_assert_int_eq(t, TC_TIER_L1);
}

/*
 * Milliseconds from t0 until A answers want for key (NULL: a miss), or
 * -1 after GIVE_UP_MS. It polls every millisecond: the bound is what is
 * measured, not a sleep.
 */
static int64_t until(tc_cache *a, const char *key, const char *want,
                     int64_t t0)
{
    for (;;) {
        char *v = get(a, key, NULL);
        int same = want ? v && strcmp(v, want) == 0 : v == NULL;
        int64_t now = tt_now_ms();

        free(v);
        if (same) {
            return now - t0;
        }
        if (now - t0 > (tt_under_valgrind() ? 20 * GIVE_UP_MS : GIVE_UP_MS)) {
            return -1;
        }
        tt_sleep_ms(1);
    }
}

static void within_bound(int64_t took, const char *what)
{
    ck_assert_msg(took >= 0, "%s: A still serves the old answer after %d ms",
                  what, GIVE_UP_MS);
    ck_assert_msg(took <= bound(), "%s: A served the new answer after %lld ms "
                  "(bound %lld ms)", what, (long long)took,
                  (long long)bound());
}

START_TEST(test_set_del_invalidate_seen)
{
    tc_cache *a, *b;
    int64_t t0;
    bk s;

    bk_start(&s, _i == 0 ? BK_REDIS : BK_UNIX);
    a = bk_open(&s);
    b = bk_open(&s);
    SET(b, "q", "v1", TC_TTL_DEFAULT);
    hold(a, "q", "v1");

    t0 = tt_now_ms();
    SET(b, "q", "v2", TC_TTL_DEFAULT);
    within_bound(until(a, "q", "v2", t0), "set");

    hold(a, "q", "v2");
    t0 = tt_now_ms();
    ck_assert_int_eq(tc_cache_del(b, NS, "q", 1), TC_OK);
    within_bound(until(a, "q", NULL, t0), "del");

    SET(b, "q", "v3", TC_TTL_DEFAULT);
    hold(a, "q", "v3");
    t0 = tt_now_ms();
    ck_assert_int_eq(tc_cache_invalidate(b, NS), TC_OK);
    within_bound(until(a, "q", NULL, t0), "invalidate");

    /* A's own writes stay in its L1 though their invalidation comes back */
    SET(a, "mine", "m", TC_TTL_DEFAULT);
    tt_sleep_ms(20);
    HIT(a, "mine", "m", TC_TIER_L1);
    /* written again at once: the late check of one write may cost the
     * next its L1 copy, never its value */
    for (int i = 0; i < 20; i++) {
        char v[16];

        snprintf(v, sizeof(v), "m%d", i);
        SET(a, "mine", v, TC_TTL_DEFAULT);
    }
    tt_sleep_ms(bound());
    hold(a, "mine", "m19");
    tc_cache_close(b);
    tc_cache_close(a);
    bk_stop(&s);
}
END_TEST

static int source_of(tc_classifier *c, const char *text)
{
    tc_result *r;
    int src;

    ck_assert_int_eq(tc_classify(&r, c, text, strlen(text)), TC_OK);
    src = r->source;
    tc_result_free(r);
    return src;
}

START_TEST(test_correction_seen)
{
    static const char text[] = TT_LOOP_TEXT;
    const char *rec = TT_LOOP_CORRECTION;
    char cfg[200], id[TC_FEEDBACK_ID_MAX];
    tc_classifier *ca;
    tc_cache *a, *b;
    int64_t t0, took = -1;
    bk s;

    bk_start(&s, BK_REDIS);
    snprintf(cfg, sizeof(cfg), "{\"spool_dir\":\"%s/spool\"}", s.tmp);
    a = bk_open_with(&s, NULL, cfg);
    b = bk_open_with(&s, NULL, cfg);
    ca = tt_host_classifier(a);
    /* A remembers, in L1, that the text has no correction */
    ck_assert_int_ne(source_of(ca, text), TC_SOURCE_FEEDBACK);
    ck_assert_int_ne(source_of(ca, text), TC_SOURCE_FEEDBACK);

    t0 = tt_now_ms();
    ck_assert_int_eq(tc_feedback_submit_json(id, NULL, b, rec, strlen(rec)),
                     TC_OK);
    while (tt_now_ms() - t0 <= GIVE_UP_MS) {
        if (source_of(ca, text) == TC_SOURCE_FEEDBACK) {
            took = tt_now_ms() - t0;
            break;
        }
        tt_sleep_ms(1);
    }
    within_bound(took, "correction");
    tc_classifier_close(ca);
    tc_cache_close(b);
    tc_cache_close(a);
    bk_stop(&s);
}
END_TEST

/* The number of invalidation connections the server has. */
static int trackers(trs *srv)
{
    char *list = trs_cmd(srv, "CLIENT LIST");
    int n = 0;

    ck_assert_ptr_nonnull(list);
    for (char *p = list; (p = strstr(p, "name=tutorcache-track")); p++) {
        n++;
    }
    free(list);
    return n;
}

static void wait_trackers(trs *srv, int want)
{
    int64_t t0 = tt_now_ms();

    while (trackers(srv) != want) {
        ck_assert_msg(tt_now_ms() - t0 < GIVE_UP_MS,
                      "%d invalidation connections, not %d", trackers(srv),
                      want);
        tt_sleep_ms(5);
    }
}

START_TEST(test_connection_killed)
{
    tc_tier t;
    tc_cache *a, *b;
    char *v;
    int64_t t0;
    bk s;

    bk_start(&s, BK_REDIS);
    cache_log_reset();
    {
        /* A logs: the loss is said with what the connection said */
        tc_options o;

        tc_options_init(&o);
        o.log_fn = cache_log_cb;
        o.log_level = TC_LOG_WARN;
        a = bk_open_with(&s, &o, NULL);
    }
    b = bk_open(&s);
    wait_trackers(s.srv, 2);
    SET(b, "k", "old", TC_TTL_DEFAULT);
    hold(a, "k", "old");
    /* every tracking connection, A's among them */
    free(trs_cmd(s.srv, "CLIENT KILL TYPE pubsub"));
    /* a write while nobody listens: A must not keep serving "old" */
    SET(b, "k", "new", TC_TTL_DEFAULT);
    wait_trackers(s.srv, 2);
    v = get(a, "k", &t);
    ck_assert_str_eq(v, "new");
    ck_assert_int_eq(t, TC_TIER_L2); /* L1 was dropped */
    free(v);
    {
        cJSON *line = cache_log_find("l1_tracking_lost");
        const cJSON *d = line ? cJSON_GetObjectItem(line, "detail") : NULL;

        ck_assert_msg(cJSON_IsString(d) && d->valuestring[0],
                      "no l1_tracking_lost with a detail: %s",
                      cache_log_text());
        cJSON_Delete(line);
    }
    /* and A hears writes again */
    hold(a, "k", "new");
    t0 = tt_now_ms();
    SET(b, "k", "newer", TC_TTL_DEFAULT);
    within_bound(until(a, "k", "newer", t0), "set after reconnect");
    tc_cache_close(b);
    tc_cache_close(a);
    bk_stop(&s);
}
END_TEST

START_TEST(test_tracking_off_keeps_ttl)
{
    tc_cache *a, *b;
    char url[256];
    bk s;

    bk_start(&s, BK_REDIS);
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", trs_port(s.srv));
    snprintf(s.url, sizeof(s.url), "%s?tracking=off", url);
    a = bk_open(&s);
    b = bk_open(&s);
    ck_assert_int_eq(trackers(s.srv), 0);
    SET(b, "k", "old", TC_TTL_DEFAULT);
    hold(a, "k", "old");
    SET(b, "k", "new", TC_TTL_DEFAULT);
    tt_sleep_ms(bound() * 2);
    /* nothing told A: its L1 copy lives out its TTL */
    HIT(a, "k", "old", TC_TIER_L1);
    tc_cache_close(b);
    tc_cache_close(a);
    /* a bad value is refused, naming the parameter */
    snprintf(s.url, sizeof(s.url), "%s?tracking=maybe", url);
    {
        tc_options o;
        tc_cache *h = NULL;

        tc_options_init(&o);
        o.flags |= TC_OPT_NO_ENV;
        o.store_url = s.url;
        ck_assert_int_eq(tc_cache_open(&h, &o), TC_ECONFIG);
        ck_assert_ptr_null(h);
        ck_assert_ptr_nonnull(strstr(tc_errmsg(), "tracking"));
    }
    bk_stop(&s);
}
END_TEST

START_TEST(test_tracking_refused)
{
    tc_cache *a, *b;
    char url[256];
    bk s;

    /* a user that may not run CLIENT: as a server older than 6 */
    bk_start(&s, BK_REDIS);
    free(trs_cmd(s.srv, "ACL SETUSER app on >pw ~* &* +@all -client"));
    snprintf(url, sizeof(url), "redis://app:pw@127.0.0.1:%d",
             trs_port(s.srv));
    snprintf(s.url, sizeof(s.url), "%s", url);
    cache_log_reset();
    {
        tc_options o;

        tc_options_init(&o);
        o.log_fn = cache_log_cb;
        o.log_level = TC_LOG_WARN;
        a = bk_open_with(&s, &o, NULL);
    }
    b = bk_open(&s);
    {
        cJSON *line = cache_log_find("l1_tracking_unavailable");

        ck_assert_msg(line != NULL, "no warning: %s", cache_log_text());
        cJSON_Delete(line);
    }
    /* the handle works, with the L1 TTL as the bound */
    SET(b, "k", "old", TC_TTL_DEFAULT);
    hold(a, "k", "old");
    SET(b, "k", "new", TC_TTL_DEFAULT);
    HIT(a, "k", "old", TC_TIER_L1);
    tc_cache_close(b);
    tc_cache_close(a);
    bk_stop(&s);
}
END_TEST

/* Another process, for honesty: the real CLI, run by its own exec (a
 * child that only forked would share this process's threads' locks). */
START_TEST(test_other_process)
{
    tc_cache *a;
    int64_t t0, took;
    int status;
    pid_t pid;
    bk s;

    bk_start(&s, BK_REDIS);
    a = bk_open(&s);
    SET(a, "p", "parent", TC_TTL_DEFAULT);
    hold(a, "p", "parent");
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        char bin[4096];

        snprintf(bin, sizeof(bin), "%s/tutorcache", tt_build_dir());
        execl(bin, "tutorcache", "--store", s.url, "set", NS, "p", "child",
              (char *)NULL);
        _exit(127);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the child failed to set");
    /* from the child's exit, its write done: the time a process takes to
     * start (long under a sanitizer) is not the invalidation's */
    t0 = tt_now_ms();
    took = until(a, "p", "child", t0);
    ck_assert_msg(took >= 0, "A never saw the child's write");
    ck_assert_msg(took <= bound() * 2, "A saw the child's write after %lld ms",
                  (long long)took);
    tc_cache_close(a);
    bk_stop(&s);
}
END_TEST

/* ---- the fill/invalidate race ----------------------------------------- */

#define RACE_KEYS 8
#define RACE_BURSTS 40
#define RACE_WRITES 10 /* of each key per burst */
#define RACE_READERS 3

typedef struct race {
    tc_cache *a, *b;
    _Atomic int stop;
    pthread_t th[RACE_READERS];
    int started; /* readers running */
    bk s;
    int have_s;
} race;

/* The case's state, so that its teardown stops the readers and closes
 * what the test opened even when an assertion left the test early: a
 * reader still running would go on allocating in the tests after it. */
static race the_race;

static void race_teardown(void)
{
    race *r = &the_race;

    atomic_store(&r->stop, 1);
    for (int i = 0; i < r->started; i++) {
        pthread_join(r->th[i], NULL);
    }
    r->started = 0;
    if (r->b) {
        tc_cache_close(r->b);
    }
    if (r->a) {
        tc_cache_close(r->a);
    }
    r->a = r->b = NULL;
    if (r->have_s) {
        bk_stop(&r->s);
        r->have_s = 0;
    }
}

static void *reader(void *arg)
{
    race *r = arg;
    char key[16];
    unsigned n = 0;

    while (!atomic_load(&r->stop)) {
        void *v = NULL;
        size_t len;

        snprintf(key, sizeof(key), "r%u", n++ % RACE_KEYS);
        if (tc_cache_get(&v, &len, NULL, r->a, NS, key, strlen(key)) ==
            TC_OK) {
            tc_free(v);
        }
    }
    return NULL;
}

/*
 * A's readers fill L1 while B rewrites the keys in bursts; after each
 * burst, every key A holds must come to B's last value: an old value
 * filled after the invalidation of the write that replaced it would stay
 * for the L1 TTL (60 s), and nothing would tell A.
 */
START_TEST(test_fill_race)
{
    race *r = &the_race;
    char key[16], val[32];
    int bursts = tt_under_valgrind() ? RACE_BURSTS / 10 : RACE_BURSTS;

    bk_start(&r->s, BK_REDIS);
    r->have_s = 1;
    r->a = bk_open(&r->s);
    r->b = bk_open(&r->s);
    atomic_store(&r->stop, 0);
    while (r->started < RACE_READERS) {
        ck_assert_int_eq(pthread_create(&r->th[r->started], NULL, reader, r),
                         0);
        r->started++;
    }
    for (int u = 0; u < bursts; u++) {
        for (int i = 0; i < RACE_KEYS * RACE_WRITES; i++) {
            /* A writes too, now and then: its own invalidations come
             * back, and B's next write must still reach it */
            tc_cache *w = i % 7 == 3 ? r->a : r->b;

            snprintf(key, sizeof(key), "r%d", i % RACE_KEYS);
            snprintf(val, sizeof(val), "v%d.%d", u, i);
            ck_assert_int_eq(
                tc_cache_set(w, NS, key, strlen(key), val, strlen(val), 0),
                TC_OK);
        }
        for (int k = 0; k < RACE_KEYS; k++) {
            int last = RACE_KEYS * (RACE_WRITES - 1) + k;

            snprintf(key, sizeof(key), "r%d", k);
            snprintf(val, sizeof(val), "v%d.%d", u, last);
            ck_assert_msg(until(r->a, key, val, tt_now_ms()) >= 0,
                          "burst %d: A kept an old value of %s", u, key);
        }
    }
    /* the readers, handles and server: race_teardown */
}
END_TEST

Suite *suite_coherence(void)
{
    Suite *s = suite_create("coherence");
    TCase *tc = tcase_create("across_handles");
    TCase *race_tc = tcase_create("race");

    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_set_del_invalidate_seen, 0, 2);
    tcase_add_test(tc, test_correction_seen);
    tcase_add_test(tc, test_connection_killed);
    tcase_add_test(tc, test_tracking_off_keeps_ttl);
    tcase_add_test(tc, test_tracking_refused);
    tcase_add_test(tc, test_other_process);
    suite_add_tcase(s, tc);
    tcase_set_timeout(race_tc, 120);
    tcase_add_checked_fixture(race_tc, NULL, race_teardown);
    tcase_add_test(race_tc, test_fill_race);
    suite_add_tcase(s, race_tc);
    suite_coherence_l1(s);
    return s;
}
