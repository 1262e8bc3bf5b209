/*
 * coherence_fixture.h - what the coherence suite's files
 * (check_coherence.c, check_coherence_cluster.c) share: reads through a
 * handle with the tier that answered, a value made to sit in L1, the time
 * until a handle serves a new answer, the bound of 50 ms it is held to,
 * and the invalidation connections a server has.
 */
#ifndef TC_TEST_COHERENCE_FIXTURE_H
#define TC_TEST_COHERENCE_FIXTURE_H

#include <stdint.h>

#include "cache_fixture.h"

/* A pause long enough for an invalidation to arrive on an idle machine,
 * stretched under valgrind; used to wait, never asserted (how fast
 * invalidations arrive is measured by bench/coherence.sh). */
#define BOUND_MS 50
/* How long a poll goes on before it gives up, to tell slow from never. */
#define GIVE_UP_MS 3000

int64_t coh_bound(void);
/* ms stretched as time is under valgrind (20 times) and the sanitizers
 * (CK_TIMEOUT_MULTIPLIER, at most 8). */
int64_t coh_stretch(int64_t ms);
/* h's answer for key in NS: its value (malloc'd, or NULL on a miss) and
 * tier (may be NULL). */
char *coh_get(tc_cache *h, const char *key, tc_tier *tier);
/* Makes h hold key in L1 with want (read until it answers from L1). */
void coh_hold(tc_cache *h, const char *key, const char *want);
/* Milliseconds from t0 until h answers want for key (NULL: a miss), or
 * -1 after GIVE_UP_MS; polled every millisecond. */
int64_t coh_until(tc_cache *h, const char *key, const char *want, int64_t t0);
/* Fails the test unless took says the write was heard (took >= 0): before
 * the poll gave up, which is well within the L1 TTL (60 s), so the new
 * answer came from an invalidation, not from the old one expiring. */
void coh_heard_in_time(int64_t took, const char *what);
/* a made to hold key as held in L1, then b's write of val served by a
 * before the poll gives up (what names the write in a failure). */
void coh_heard(tc_cache *a, tc_cache *b, const char *key, const char *held,
               const char *val, const char *what);
/* A remembers in L1 that TT_LOOP_TEXT has no correction, B submits one
 * (TT_LOOP_CORRECTION): the milliseconds until A's classifier answers
 * from feedback, or -1 after GIVE_UP_MS. */
int64_t coh_correction_seen(tc_cache *a, tc_cache *b);
/* A handle on b whose warnings go to the cache log (cache_fixture.h),
 * emptied first. */
tc_cache *coh_open_logged(bk *b);
/* The invalidation connections srv has; and a wait (GIVE_UP_MS at most)
 * until it has want of them. */
int coh_trackers(trs *srv);
void coh_wait_trackers(trs *srv, int want);

#endif
