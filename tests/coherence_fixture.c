/*
 * coherence_fixture.c - the coherence suite's reads, waits and bound
 * (coherence_fixture.h). The waits poll every millisecond and assert that
 * a write was heard, never how fast (bench/coherence.sh measures that).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coherence_fixture.h"

int64_t coh_bound(void)
{
    return tt_under_valgrind() ? BOUND_MS * 20 : BOUND_MS;
}

/* A's answer for key: its value (malloc'd, or NULL on a miss) and tier. */
char *coh_get(tc_cache *h, const char *key, tc_tier *tier)
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
void coh_hold(tc_cache *a, const char *key, const char *want)
{
    tc_tier t = TC_TIER_NONE;

    for (int i = 0; i < 3 && t != TC_TIER_L1; i++) {
        char *v = coh_get(a, key, &t);

        ck_assert_msg(v && strcmp(v, want) == 0, "A holds %s, not %s",
                      v ? v : "(miss)", want);
        free(v);
    }
    ck_assert_int_eq(t, TC_TIER_L1);
}

int64_t coh_stretch(int64_t ms)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    int64_t k = m && atoi(m) > 1 ? atoi(m) : 1;

    return tt_under_valgrind() ? 20 * ms : (k > 8 ? 8 : k) * ms;
}

/* How long coh_until waits: GIVE_UP_MS, 10 times that under valgrind, and
 * CK_TIMEOUT_MULTIPLIER times under the sanitizers (make asan, make tsan
 * set it), whose builds on a loaded machine starve the tracking thread
 * for seconds. A bound on the wait, not on the latency, and kept under
 * half the L1 TTL (60 s), so that an old value's expiry is never taken
 * for an invalidation heard. */
static int64_t give_up_ms(void)
{
    return tt_under_valgrind() ? 10 * GIVE_UP_MS : coh_stretch(GIVE_UP_MS);
}

/*
 * Milliseconds from t0 until A answers want for key (NULL: a miss), or
 * -1 after give_up_ms(). It polls every millisecond, so that a test waits
 * no longer than the invalidation takes.
 */
int64_t coh_until(tc_cache *a, const char *key, const char *want, int64_t t0)
{
    for (;;) {
        char *v = coh_get(a, key, NULL);
        int same = want ? v && strcmp(v, want) == 0 : v == NULL;
        int64_t now = tt_now_ms();

        free(v);
        if (same) {
            return now - t0;
        }
        if (now - t0 > give_up_ms()) {
            return -1;
        }
        tt_sleep_ms(1);
    }
}

void coh_heard_in_time(int64_t took, const char *what)
{
    ck_assert_msg(took >= 0, "%s: A still serves the old answer after %lld ms",
                  what, (long long)give_up_ms());
}

void coh_heard(tc_cache *a, tc_cache *b, const char *key, const char *held,
               const char *val, const char *what)
{
    int64_t t0;

    coh_hold(a, key, held);
    t0 = tt_now_ms();
    SET(b, key, val, TC_TTL_DEFAULT);
    coh_heard_in_time(coh_until(a, key, val, t0), what);
}

/* The number of invalidation connections the server has. */
int coh_trackers(trs *srv)
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

void coh_wait_trackers(trs *srv, int want)
{
    int64_t t0 = tt_now_ms();

    while (coh_trackers(srv) != want) {
        ck_assert_msg(tt_now_ms() - t0 < GIVE_UP_MS,
                      "%d invalidation connections, not %d", coh_trackers(srv),
                      want);
        tt_sleep_ms(5);
    }
}

static int source_of(tc_classifier *c, const char *text)
{
    tc_result *r;
    int src;

    ck_assert_int_eq(tc_classify(&r, c, text, strlen(text)), TC_OK);
    src = r->source;
    tc_result_free(r);
    return src;
}

int64_t coh_correction_seen(tc_cache *a, tc_cache *b)
{
    static const char text[] = TT_LOOP_TEXT;
    const char *rec = TT_LOOP_CORRECTION;
    char id[TC_FEEDBACK_ID_MAX];
    tc_classifier *ca = tt_host_classifier(a);
    int64_t t0, took = -1;

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
    tc_classifier_close(ca);
    return took;
}

tc_cache *coh_open_logged(bk *b)
{
    tc_options o;

    cache_log_reset();
    tc_options_init(&o);
    o.log_fn = cache_log_cb;
    o.log_level = TC_LOG_WARN;
    return bk_open_with(b, &o, NULL);
}
