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

#include "coherence_fixture.h"

START_TEST(test_set_del_invalidate_seen)
{
    tc_cache *a, *b;
    int64_t t0;
    bk s;

    bk_start(&s, _i == 0 ? BK_REDIS : BK_UNIX);
    a = bk_open(&s);
    b = bk_open(&s);
    SET(b, "q", "v1", TC_TTL_DEFAULT);
    coh_hold(a, "q", "v1");

    t0 = tt_now_ms();
    SET(b, "q", "v2", TC_TTL_DEFAULT);
    coh_heard_in_time(coh_until(a, "q", "v2", t0), "set");

    coh_hold(a, "q", "v2");
    t0 = tt_now_ms();
    ck_assert_int_eq(tc_cache_del(b, NS, "q", 1), TC_OK);
    coh_heard_in_time(coh_until(a, "q", NULL, t0), "del");

    SET(b, "q", "v3", TC_TTL_DEFAULT);
    coh_hold(a, "q", "v3");
    t0 = tt_now_ms();
    ck_assert_int_eq(tc_cache_invalidate(b, NS), TC_OK);
    coh_heard_in_time(coh_until(a, "q", NULL, t0), "invalidate");

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
    tt_sleep_ms(coh_bound());
    coh_hold(a, "mine", "m19");
    tc_cache_close(b);
    tc_cache_close(a);
    bk_stop(&s);
}
END_TEST

START_TEST(test_correction_seen)
{
    char cfg[200];
    tc_cache *a, *b;
    bk s;

    /* on a cluster, the override lives on the master of {tc:fb} */
    bk_start(&s, _i == 0 ? BK_REDIS : BK_CLUSTER);
    snprintf(cfg, sizeof(cfg), "{\"spool_dir\":\"%s/spool\"}", s.tmp);
    a = bk_open_with(&s, NULL, cfg);
    b = bk_open_with(&s, NULL, cfg);
    coh_heard_in_time(coh_correction_seen(a, b), "correction");
    tc_cache_close(b);
    tc_cache_close(a);
    bk_stop(&s);
}
END_TEST

START_TEST(test_connection_killed)
{
    tc_tier t;
    tc_cache *a, *b;
    char *v;
    bk s;

    bk_start(&s, BK_REDIS);
    /* A logs: the loss is said with what the connection said */
    a = coh_open_logged(&s);
    b = bk_open(&s);
    coh_wait_trackers(s.srv, 2);
    SET(b, "k", "old", TC_TTL_DEFAULT);
    coh_hold(a, "k", "old");
    /* every tracking connection, A's among them */
    free(trs_cmd(s.srv, "CLIENT KILL TYPE pubsub"));
    /* a write while nobody listens: A must not keep serving "old" */
    SET(b, "k", "new", TC_TTL_DEFAULT);
    coh_wait_trackers(s.srv, 2);
    v = coh_get(a, "k", &t);
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
    coh_heard(a, b, "k", "new", "newer", "set after reconnect");
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
    ck_assert_int_eq(coh_trackers(s.srv), 0);
    SET(b, "k", "old", TC_TTL_DEFAULT);
    coh_hold(a, "k", "old");
    SET(b, "k", "new", TC_TTL_DEFAULT);
    tt_sleep_ms(coh_bound() * 2);
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
    snprintf(url, sizeof(url), "redis://app:pw@127.0.0.1:%d", trs_port(s.srv));
    snprintf(s.url, sizeof(s.url), "%s", url);
    a = coh_open_logged(&s);
    b = bk_open(&s);
    {
        cJSON *line = cache_log_find("l1_tracking_unavailable");

        ck_assert_msg(line != NULL, "no warning: %s", cache_log_text());
        cJSON_Delete(line);
    }
    /* the handle works, with the L1 TTL as the bound */
    SET(b, "k", "old", TC_TTL_DEFAULT);
    coh_hold(a, "k", "old");
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
    coh_hold(a, "p", "parent");
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
    took = coh_until(a, "p", "child", t0);
    coh_heard_in_time(took, "the child's set");
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
        if (tc_cache_get(&v, &len, NULL, r->a, NS, key, strlen(key)) == TC_OK) {
            tc_free(v);
        }
    }
    return NULL;
}

/*
 * A race handle: its command timeout stretched as the sanitizers and
 * valgrind stretch time, since a write that times out is kept in its
 * writer's L1 only (tc_cache_set still returns TC_OK), and A could then
 * never hear of it.
 */
static tc_cache *race_open(bk *s)
{
    tc_options o;

    tc_options_init(&o);
    o.command_timeout_ms = (int)coh_stretch(250);
    return bk_open_with(s, &o, NULL);
}

/* One server, and a cluster: its keys spread over the three masters,
 * each heard on a connection and a thread of its own. */
static const int race_kinds[] = {BK_REDIS, BK_CLUSTER};

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

    bk_start(&r->s, race_kinds[_i]);
    r->have_s = 1;
    r->a = race_open(&r->s);
    r->b = race_open(&r->s);
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
        /* the premise: every write reached Redis (a set the L2 did not
         * take returns TC_OK and lives in its writer's L1 only) */
        ck_assert_msg(cache_stats_num(r->b, "l2", "errors") == 0,
                      "burst %d: B's writes did not all reach Redis", u);
        for (int k = 0; k < RACE_KEYS; k++) {
            int last = RACE_KEYS * (RACE_WRITES - 1) + k;

            snprintf(key, sizeof(key), "r%d", k);
            snprintf(val, sizeof(val), "v%d.%d", u, last);
            ck_assert_msg(coh_until(r->a, key, val, tt_now_ms()) >= 0,
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
    tcase_add_unchecked_fixture(tc, bk_cluster_setup, bk_cluster_teardown);
    tcase_add_loop_test(tc, test_correction_seen, 0, 2);
    tcase_add_test(tc, test_connection_killed);
    tcase_add_test(tc, test_tracking_off_keeps_ttl);
    tcase_add_test(tc, test_tracking_refused);
    tcase_add_test(tc, test_other_process);
    suite_add_tcase(s, tc);
    tcase_set_timeout(race_tc, 120);
    tcase_add_unchecked_fixture(race_tc, bk_cluster_setup, bk_cluster_teardown);
    tcase_add_checked_fixture(race_tc, NULL, race_teardown);
    tcase_add_loop_test(race_tc, test_fill_race, 0, 2);
    suite_add_tcase(s, race_tc);
    suite_coherence_l1(s);
    suite_coherence_cluster(s);
    suite_coherence_read(s);
    return s;
}
