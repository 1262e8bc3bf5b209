/*
 * check_l1.c - the in-process L1: values round trip byte for byte, TTLs
 * are honoured against explicit clocks, the byte budget holds, SIEVE
 * keeps hot entries, allocation failures leak nothing (threads sharing
 * one L1: check_l1_threads.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "l1_fixture.h"

START_TEST(test_new_args)
{
    tc__l1 *l1 = (tc__l1 *)&l1;

    ck_assert_int_eq(tc__l1_new(&l1, 1024, 3), TC_EINVAL);
    ck_assert_ptr_null(l1);
    ck_assert_int_eq(tc__l1_new(&l1, 0, 4), TC_EINVAL);
    ck_assert_int_eq(tc__l1_new(&l1, 1 << 20, 0), TC_OK);
    ck_assert_ptr_nonnull(l1);
    tc__l1_free(l1);
    tc__l1_free(NULL);
}
END_TEST

START_TEST(test_round_trip)
{
    tc__l1 *l1;
    tc__hash h = hk(42);
    char *v;
    size_t len;
    int64_t ttl;

    ck_assert_int_eq(tc__l1_new(&l1, 1 << 20, 4), TC_OK);
    ck_assert_int_eq(tc__l1_set(l1, &h, "hello", 5, 1000 + 3600000, 1000),
                     TC_OK);
    ck_assert_int_eq(tc__l1_get(l1, &h, 1000, INT64_MIN, &v, &len, &ttl),
                     TC_OK);
    ck_assert_uint_eq(len, 5);
    ck_assert_mem_eq(v, "hello", 6);
    ck_assert_int_eq(ttl, 3600000);
    tc__free(v);
    ck_assert_uint_eq(stats(l1).entries, 1);
    /* A second get returns an independent copy. */
    ck_assert_int_eq(get_str(l1, 42, "hello", 1000), TC_OK);
    tc__l1_free(l1);
}
END_TEST

START_TEST(test_binary)
{
    static const char bin[] = {'a', '\0', 'b', '\0', '\0', (char)0xff, 'c'};
    tc__l1 *l1;
    tc__hash h = hk(7), z = hk(8);
    char *v;
    size_t len;

    ck_assert_int_eq(tc__l1_new(&l1, 1 << 20, 4), TC_OK);
    ck_assert_int_eq(tc__l1_set(l1, &h, bin, sizeof(bin), FAR_FUTURE, 0),
                     TC_OK);
    ck_assert_int_eq(tc__l1_get(l1, &h, 0, INT64_MIN, &v, &len, NULL), TC_OK);
    ck_assert_uint_eq(len, sizeof(bin));
    ck_assert_mem_eq(v, bin, sizeof(bin));
    ck_assert(v[len] == '\0');
    tc__free(v);
    /* An empty value is a hit, not a miss. */
    ck_assert_int_eq(tc__l1_set(l1, &z, NULL, 0, FAR_FUTURE, 0), TC_OK);
    ck_assert_int_eq(tc__l1_get(l1, &z, 0, INT64_MIN, &v, &len, NULL), TC_OK);
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_nonnull(v);
    ck_assert(v[0] == '\0');
    tc__free(v);
    tc__l1_free(l1);
}
END_TEST

START_TEST(test_replace)
{
    tc__l1 *l1, *ref;

    ck_assert_int_eq(tc__l1_new(&l1, 1 << 20, 4), TC_OK);
    ck_assert_int_eq(tc__l1_new(&ref, 1 << 20, 4), TC_OK);
    set_str(l1, 1, "first value, rather long", FAR_FUTURE, 0);
    set_str(l1, 1, "second", 5000, 0);
    ck_assert_int_eq(get_str(l1, 1, "second", 0), TC_OK);
    /* The old entry is gone, not merely shadowed. */
    set_str(ref, 1, "second", 5000, 0);
    ck_assert_uint_eq(stats(l1).entries, 1);
    ck_assert_uint_eq(stats(l1).bytes, stats(ref).bytes);
    /* The replacement's TTL applies, not the old one's. */
    ck_assert_int_eq(get_str(l1, 1, NULL, 5000), TC_MISS);
    tc__l1_free(ref);
    tc__l1_free(l1);
}
END_TEST

START_TEST(test_del_and_miss)
{
    tc__l1 *l1;

    ck_assert_int_eq(tc__l1_new(&l1, 1 << 20, 4), TC_OK);
    ck_assert_int_eq(get_str(l1, 5, NULL, 0), TC_MISS);
    set_str(l1, 5, "five", FAR_FUTURE, 0);
    set_str(l1, 6, "six", FAR_FUTURE, 0);
    {
        tc__hash h = hk(5);

        ck_assert_int_eq(tc__l1_del(l1, &h), TC_OK);
        ck_assert_int_eq(tc__l1_del(l1, &h), TC_MISS);
    }
    ck_assert_int_eq(get_str(l1, 5, NULL, 0), TC_MISS);
    ck_assert_int_eq(get_str(l1, 6, "six", 0), TC_OK);
    ck_assert_uint_eq(stats(l1).entries, 1);
    ck_assert_uint_eq(stats(l1).bytes, charge_of(3));
    tc__l1_free(l1);
}
END_TEST

START_TEST(test_ttl)
{
    tc__l1 *l1;
    tc__hash h = hk(9);
    char *v;
    size_t len;
    int64_t ttl;

    ck_assert_int_eq(tc__l1_new(&l1, 1 << 20, 4), TC_OK);
    set_str(l1, 9, "nine", 11000, 1000);
    ck_assert_int_eq(tc__l1_get(l1, &h, 2234, INT64_MIN, &v, &len, &ttl),
                     TC_OK);
    ck_assert_int_eq(ttl, 11000 - 2234);
    tc__free(v);
    ck_assert_int_eq(tc__l1_get(l1, &h, 10999, INT64_MIN, &v, &len, &ttl),
                     TC_OK);
    ck_assert_int_eq(ttl, 1);
    tc__free(v);
    /* Expired at expires_ms exactly; the get removes it. */
    ck_assert_int_eq(get_str(l1, 9, NULL, 11000), TC_MISS);
    ck_assert_uint_eq(stats(l1).expired, 1);
    ck_assert_uint_eq(stats(l1).entries, 0);
    ck_assert_uint_eq(stats(l1).bytes, 0);
    /* Even an earlier clock cannot bring it back. */
    ck_assert_int_eq(get_str(l1, 9, NULL, 0), TC_MISS);
    /* A set that is already expired stores nothing and drops the old. */
    set_str(l1, 9, "nine", FAR_FUTURE, 0);
    set_str(l1, 9, "new nine", 500, 500);
    ck_assert_int_eq(get_str(l1, 9, NULL, 0), TC_MISS);
    ck_assert_uint_eq(stats(l1).entries, 0);
    tc__l1_free(l1);
}
END_TEST

START_TEST(test_budget)
{
    const size_t budget = 64 * 1024;
    tc__l1 *l1;
    char val[101];
    uint64_t i, n = 10000, present = 0;
    tc__l1_stats st;

    memset(val, 'v', 100);
    val[100] = '\0';
    ck_assert_int_eq(tc__l1_new(&l1, budget, 4), TC_OK);
    for (i = 0; i < n; i++) {
        set_str(l1, i, val, FAR_FUTURE, 0);
        if (i % 97 == 0) {
            ck_assert_uint_le(stats(l1).bytes, budget);
        }
    }
    st = stats(l1);
    ck_assert_uint_le(st.bytes, budget);
    ck_assert_uint_gt(st.evictions, 0);
    ck_assert_uint_eq(st.evictions + st.entries, n);
    ck_assert_uint_eq(st.bytes, st.entries * charge_of(100));
    /* Most of the budget is in use, and the newest entries are there. */
    ck_assert_uint_ge(st.bytes, budget - 4 * charge_of(100));
    ck_assert_int_eq(get_str(l1, n - 1, val, 0), TC_OK);
    for (i = 0; i < n; i++) {
        present += get_str(l1, i, val, 0) == TC_OK;
    }
    ck_assert_uint_eq(present, st.entries);
    tc__l1_free(l1);
}
END_TEST

/*
 * The exact SIEVE order: a shard of room for ten entries, key 0 hit, so
 * inserting key 10 evicts key 1 (the oldest unvisited), and key 11 evicts
 * key 2. FIFO or a plain ring would evict key 0 first.
 */
START_TEST(test_sieve_order)
{
    const size_t room = 10;
    tc__l1 *l1;
    uint64_t i;

    ck_assert_int_eq(tc__l1_new(&l1, room * charge_of(3), 1), TC_OK);
    for (i = 0; i < room; i++) {
        set_str(l1, i, "abc", FAR_FUTURE, 0);
    }
    ck_assert_uint_eq(stats(l1).entries, room);
    ck_assert_uint_eq(stats(l1).evictions, 0);
    ck_assert_int_eq(get_str(l1, 0, "abc", 0), TC_OK);
    set_str(l1, 10, "abc", FAR_FUTURE, 0);
    ck_assert_uint_eq(stats(l1).evictions, 1);
    ck_assert_int_eq(get_str(l1, 1, NULL, 0), TC_MISS);
    ck_assert_int_eq(get_str(l1, 0, "abc", 0), TC_OK);
    set_str(l1, 11, "abc", FAR_FUTURE, 0);
    ck_assert_int_eq(get_str(l1, 2, NULL, 0), TC_MISS);
    ck_assert_int_eq(get_str(l1, 0, "abc", 0), TC_OK);
    ck_assert_int_eq(get_str(l1, 10, "abc", 0), TC_OK);
    ck_assert_uint_eq(stats(l1).entries, room);
    tc__l1_free(l1);
}
END_TEST

/* A stream of one-hit keys must not push out a small, often-read set. */
START_TEST(test_sieve_keeps_hot)
{
    const uint64_t hot = 8, room = 100, stream = 5000;
    tc__l1 *l1;
    uint64_t i, j, early = 0;
    char val[41];

    memset(val, 'x', 40);
    val[40] = '\0';
    ck_assert_int_eq(tc__l1_new(&l1, room * charge_of(40), 1), TC_OK);
    for (i = 0; i < hot; i++) {
        set_str(l1, 1000000 + i, val, FAR_FUTURE, 0);
    }
    for (i = 0; i < stream; i++) {
        set_str(l1, i, val, FAR_FUTURE, 0);
        if (i % 10 == 0) {
            for (j = 0; j < hot; j++) {
                ck_assert_int_eq(get_str(l1, 1000000 + j, val, 0), TC_OK);
            }
        }
    }
    ck_assert_uint_ge(stats(l1).evictions, stream - room);
    for (j = 0; j < hot; j++) {
        ck_assert_int_eq(get_str(l1, 1000000 + j, val, 0), TC_OK);
    }
    for (i = 0; i < stream / 2; i++) {
        early += get_str(l1, i, NULL, 0) == TC_OK;
    }
    ck_assert_uint_eq(early, 0);
    tc__l1_free(l1);
}
END_TEST

/*
 * Expired entries go before live ones, visited or not: with every entry
 * hit, plain SIEVE would evict key 0; here the expired key 5 goes.
 */
START_TEST(test_expired_evicted_first)
{
    const size_t room = 10;
    tc__l1 *l1;
    uint64_t i;

    ck_assert_int_eq(tc__l1_new(&l1, room * charge_of(3), 1), TC_OK);
    for (i = 0; i < room; i++) {
        set_str(l1, i, "abc", i == 5 ? 50 : FAR_FUTURE, 0);
        ck_assert_int_eq(get_str(l1, i, "abc", 0), TC_OK);
    }
    set_str(l1, 10, "abc", FAR_FUTURE, 100);
    ck_assert_uint_eq(stats(l1).expired, 1);
    ck_assert_uint_eq(stats(l1).evictions, 0);
    ck_assert_int_eq(get_str(l1, 0, "abc", 100), TC_OK);
    ck_assert_int_eq(get_str(l1, 5, NULL, 0), TC_MISS);
    ck_assert_uint_eq(stats(l1).entries, room);
    tc__l1_free(l1);
}
END_TEST

START_TEST(test_oversized)
{
    const size_t budget = 64 * 1024;
    tc__l1 *l1;
    tc__hash h = hk(3);
    char *big = malloc(budget);

    ck_assert_ptr_nonnull(big);
    memset(big, 'b', budget);
    ck_assert_int_eq(tc__l1_new(&l1, budget, 1), TC_OK);
    set_str(l1, 1, "small", FAR_FUTURE, 0);
    /* Bigger than the shard: not stored, nothing evicted, still TC_OK. */
    ck_assert_int_eq(tc__l1_set(l1, &h, big, budget, FAR_FUTURE, 0), TC_OK);
    ck_assert_int_eq(get_str(l1, 3, NULL, 0), TC_MISS);
    /* A quarter of the shard is above the one-eighth admission limit. */
    ck_assert_int_eq(tc__l1_set(l1, &h, big, budget / 4, FAR_FUTURE, 0), TC_OK);
    ck_assert_int_eq(get_str(l1, 3, NULL, 0), TC_MISS);
    ck_assert_int_eq(get_str(l1, 1, "small", 0), TC_OK);
    ck_assert_uint_eq(stats(l1).entries, 1);
    ck_assert_uint_eq(stats(l1).evictions, 0);
    /* A sixteenth is admitted. */
    ck_assert_int_eq(tc__l1_set(l1, &h, big, budget / 16, FAR_FUTURE, 0),
                     TC_OK);
    ck_assert_int_eq(get_str(l1, 3, NULL, 0), TC_OK);
    /* An oversized rewrite drops the old value rather than keep it. */
    ck_assert_int_eq(tc__l1_set(l1, &h, big, budget, FAR_FUTURE, 0), TC_OK);
    ck_assert_int_eq(get_str(l1, 3, NULL, 0), TC_MISS);
    ck_assert_uint_eq(stats(l1).entries, 1);
    ck_assert(!tc__l1_stores_nothing(l1));
    tc__l1_free(l1);
    /* an L1 too small for any entry stores nothing, refusing nothing */
    ck_assert_int_eq(tc__l1_new(&l1, 1, 1), TC_OK);
    ck_assert(tc__l1_stores_nothing(l1));
    ck_assert_int_eq(tc__l1_set(l1, &h, "v", 1, FAR_FUTURE, 0), TC_OK);
    ck_assert_uint_eq(stats(l1).entries, 0);
    tc__l1_free(l1);
    free(big);
}
END_TEST

START_TEST(test_clear)
{
    tc__l1 *l1;
    uint64_t i;
    tc__l1_stats st;

    ck_assert_int_eq(tc__l1_new(&l1, 1 << 20, 4), TC_OK);
    for (i = 0; i < 500; i++) {
        set_str(l1, i, "value", FAR_FUTURE, 0);
    }
    ck_assert_uint_eq(stats(l1).entries, 500);
    tc__l1_clear(l1);
    st = stats(l1);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.bytes, 0);
    for (i = 0; i < 500; i++) {
        ck_assert_int_eq(get_str(l1, i, NULL, 0), TC_MISS);
    }
    /* Usable afterwards. */
    set_str(l1, 7, "again", FAR_FUTURE, 0);
    ck_assert_int_eq(get_str(l1, 7, "again", 0), TC_OK);
    ck_assert_uint_eq(stats(l1).entries, 1);
    tc__l1_free(l1);
}
END_TEST

/* ---- failing allocator ------------------------------------------------ */

/*
 * The suites' counting allocator (tt_alloc.c) fails the n-th allocation
 * of the sequence, for every n until a run sees no failure.
 */

#define FA_KEYS 200

/* new, sets (through two table growths), replaces, gets, dels, clear. */
static void fa_sequence(void)
{
    tc__l1 *l1;
    char val[64], *v;
    size_t len;
    uint64_t i, live = 0;
    int rc;

    rc = tc__l1_new(&l1, 1 << 20, 1);
    if (rc == TC_ENOMEM) {
        ck_assert_ptr_null(l1);
        return;
    }
    ck_assert_int_eq(rc, TC_OK);
    for (i = 0; i < FA_KEYS; i++) {
        tc__hash h = hk(i);

        snprintf(val, sizeof(val), "value-%llu", (unsigned long long)i);
        rc = tc__l1_set(l1, &h, val, strlen(val), FAR_FUTURE, 0);
        ck_assert(rc == TC_OK || rc == TC_ENOMEM);
    }
    for (i = 0; i < FA_KEYS; i += 3) {
        tc__hash h = hk(i);

        rc = tc__l1_set(l1, &h, "re", 2, FAR_FUTURE, 0);
        ck_assert(rc == TC_OK || rc == TC_ENOMEM);
    }
    for (i = 0; i < FA_KEYS; i += 2) {
        tc__hash h = hk(i);

        rc = tc__l1_get(l1, &h, 0, INT64_MIN, &v, &len, NULL);
        ck_assert(rc == TC_OK || rc == TC_MISS || rc == TC_ENOMEM);
        if (rc == TC_OK) {
            ck_assert(v[len] == '\0');
        } else {
            ck_assert_ptr_null(v);
        }
        tc__free(v);
    }
    for (i = 0; i < FA_KEYS; i += 5) {
        tc__hash h = hk(i);

        rc = tc__l1_del(l1, &h);
        ck_assert(rc == TC_OK || rc == TC_MISS);
    }
    /* With failures off, the table must still agree with itself. */
    tt_alloc_pause(1);
    for (i = 0; i < FA_KEYS; i++) {
        tc__hash h = hk(i);

        rc = tc__l1_get(l1, &h, 0, INT64_MIN, &v, &len, NULL);
        ck_assert(rc == TC_OK || rc == TC_MISS);
        if (rc == TC_OK) {
            live++;
            snprintf(val, sizeof(val), "value-%llu", (unsigned long long)i);
            ck_assert(strcmp(v, i % 3 == 0 ? "re" : val) == 0);
            ck_assert(i % 5 != 0);
        }
        tc__free(v);
    }
    ck_assert_uint_eq(stats(l1).entries, live);
    tc__l1_clear(l1);
    ck_assert_uint_eq(stats(l1).entries, 0);
    tc__l1_free(l1);
}

START_TEST(test_failing_allocator)
{
    long n;
    int completed = 0;

    for (n = 1; n < 100000 && !completed; n++) {
        tt_alloc_install(n, 0);
        fa_sequence();
        tt_alloc_restore();
        ck_assert_msg(tt_alloc_live() == 0,
                      "%ld blocks leaked with allocation %ld failing",
                      tt_alloc_live(), n);
        completed = !tt_alloc_injected();
    }
    /* Every allocation point was made to fail, then a clean run. */
    ck_assert(completed);
    ck_assert_int_gt(n, FA_KEYS);
}
END_TEST

/* tc__l1_read: into a buffer (exact fit, short, none), or a copy. */
START_TEST(test_read_into)
{
    tc__l1 *l1;
    tc__hash h = hk(3), n = hk(4);
    char buf[8], *copy = NULL;
    size_t len;
    int64_t left;

    ck_assert_int_eq(tc__l1_new(&l1, 1 << 20, 1), TC_OK);
    ck_assert_int_eq(tc__l1_set(l1, &h, "abcdefg", 7, 1000, 0), TC_OK);
    memset(buf, 'x', sizeof(buf));
    ck_assert_int_eq(
        tc__l1_read(l1, &h, 10, INT64_MIN, buf, 8, NULL, &len, &left), TC_OK);
    ck_assert_str_eq(buf, "abcdefg");
    ck_assert_uint_eq(len, 7);
    ck_assert_int_eq(left, 990);
    memset(buf, 'x', sizeof(buf));
    ck_assert_int_eq(
        tc__l1_read(l1, &h, 10, INT64_MIN, buf, 7, NULL, &len, &left),
        TC_ETOOBIG);
    ck_assert_uint_eq(len, 7);
    ck_assert_int_eq(buf[0], 'x');
    ck_assert_int_eq(
        tc__l1_read(l1, &h, 10, INT64_MIN, NULL, 0, NULL, &len, &left),
        TC_ETOOBIG);
    /* too short for the buffer, so into a copy */
    ck_assert_int_eq(
        tc__l1_read(l1, &h, 10, INT64_MIN, buf, 7, &copy, &len, &left), TC_OK);
    ck_assert_str_eq(copy, "abcdefg");
    tc__free(copy);
    /* expired, too old for the caller, absent, a remembered absence */
    ck_assert_int_eq(tc__l1_read(l1, &h, 10, 5, buf, 8, NULL, &len, &left),
                     TC_MISS);
    ck_assert_int_eq(
        tc__l1_read(l1, &n, 10, INT64_MIN, buf, 8, NULL, &len, &left), TC_MISS);
    ck_assert_int_eq(tc__l1_set_neg(l1, &n, 1000, 0), TC_OK);
    ck_assert_int_eq(
        tc__l1_read(l1, &n, 10, INT64_MIN, buf, 8, NULL, &len, &left),
        TC__L1_NEGATIVE);
    ck_assert_int_eq(
        tc__l1_read(l1, &h, 1000, INT64_MIN, buf, 8, NULL, &len, &left),
        TC_MISS);
    ck_assert_uint_eq(stats(l1).expired, 1); /* the read removed it */
    ck_assert_uint_eq(stats(l1).entries, 1);
    tc__l1_free(l1);
}
END_TEST

/* tc__l1_use callbacks: the value copied into arg (8 bytes), or refused. */
static int copy_value(const char *val, size_t len, void *arg)
{
    if (len >= 8) {
        return TC_ETOOBIG;
    }
    memcpy(arg, val, len + 1);
    return TC_OK;
}

static int refuse_value(const char *val, size_t len, void *arg)
{
    (void)val;
    (void)len;
    (void)arg;
    return TC_ETOOBIG;
}

/* The absence epoch moves when a remembered absence leaves (replaced,
 * removed, invalidated, cleared), not for values; a note stays on its
 * value until the entry is replaced. */
START_TEST(test_absences_and_notes)
{
    tc__l1 *l1;
    tc__hash a = hk(1), v = hk(2);
    uint64_t e, note = 7;
    size_t len;
    int64_t left;
    char buf[8];

    ck_assert_int_eq(tc__l1_new(&l1, 1 << 20, 1), TC_OK);
    ck_assert_int_eq(tc__l1_set_neg(l1, &a, 1000, 0), TC_OK);
    e = tc__l1_absence_epoch(l1);
    ck_assert_int_eq(
        tc__l1_read(l1, &a, 10, INT64_MIN, buf, 8, NULL, &len, &left),
        TC__L1_NEGATIVE);
    ck_assert_int_eq(left, 990); /* the absence's time left */
    set_str(l1, 2, "v", 1000, 0);
    tc__l1_note(l1, &a, 5); /* an absence takes no note */
    tc__l1_note(l1, &v, 42);
    ck_assert_uint_eq(tc__l1_absence_epoch(l1), e);
    ck_assert_int_eq(tc__l1_use(l1, &v, 10, INT64_MIN, copy_value, buf, &note),
                     TC_OK);
    ck_assert_str_eq(buf, "v");
    ck_assert_uint_eq(note, 42);
    set_str(l1, 2, "w", 1000, 0); /* a new value, no note */
    ck_assert_int_eq(tc__l1_use(l1, &v, 10, INT64_MIN, copy_value, buf, &note),
                     TC_OK);
    ck_assert_str_eq(buf, "w");
    ck_assert_uint_eq(note, 0);
    /* a callback's refusal is the call's, and leaves the note alone */
    note = 7;
    ck_assert_int_eq(
        tc__l1_use(l1, &v, 10, INT64_MIN, refuse_value, buf, &note),
        TC_ETOOBIG);
    ck_assert_uint_eq(note, 7);
    ck_assert_uint_eq(tc__l1_absence_epoch(l1), e);
    set_str(l1, 1, "x", 1000, 0); /* the absence replaced */
    ck_assert_uint_gt(tc__l1_absence_epoch(l1), e);
    e = tc__l1_absence_epoch(l1);
    ck_assert_int_eq(tc__l1_set_neg(l1, &a, 1000, 0), TC_OK); /* kept out */
    ck_assert_int_eq(tc__l1_del(l1, &a), TC_OK);
    ck_assert_uint_eq(tc__l1_absence_epoch(l1), e); /* a value removed */
    ck_assert_int_eq(tc__l1_set_neg(l1, &a, 1000, 0), TC_OK);
    ck_assert_int_eq(tc__l1_invalidate(l1, &a), 0);
    ck_assert_uint_gt(tc__l1_absence_epoch(l1), e);
    e = tc__l1_absence_epoch(l1);
    tc__l1_clear(l1);
    ck_assert_uint_gt(tc__l1_absence_epoch(l1), e);
    /* a value stored ends no remembered absence: where one ends an
     * absence of no entry (no L2), the cache moves the epoch itself */
    e = tc__l1_absence_epoch(l1);
    set_str(l1, 3, "y", 1000, 0);
    ck_assert_uint_eq(tc__l1_absence_epoch(l1), e);
    tc__l1_absence_bump(l1);
    ck_assert_uint_gt(tc__l1_absence_epoch(l1), e);
    tc__l1_free(l1);
}
END_TEST

Suite *suite_l1(void)
{
    Suite *s = suite_create("l1");
    TCase *tc = tcase_create("l1");
    TCase *fa = tcase_create("l1_alloc");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_new_args);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_binary);
    tcase_add_test(tc, test_replace);
    tcase_add_test(tc, test_del_and_miss);
    tcase_add_test(tc, test_ttl);
    tcase_add_test(tc, test_budget);
    tcase_add_test(tc, test_sieve_order);
    tcase_add_test(tc, test_sieve_keeps_hot);
    tcase_add_test(tc, test_expired_evicted_first);
    tcase_add_test(tc, test_oversized);
    tcase_add_test(tc, test_clear);
    tcase_add_test(tc, test_read_into);
    tcase_add_test(tc, test_absences_and_notes);
    suite_add_tcase(s, tc);

    tcase_set_timeout(fa, 120);
    /* runs even when a test failed mid-way: later tests get malloc back */
    tcase_add_checked_fixture(fa, NULL, tt_alloc_restore);
    tcase_add_test(fa, test_failing_allocator);
    suite_add_tcase(s, fa);

    suite_l1_threads(s);
    return s;
}
