/*
 * check_coherence_l1.c - the L1's side of coherence, one step at a time
 * on one thread: a fill whose slot was invalidated after it read its
 * sequence stores nothing, an entry present when the invalidation comes
 * is reported held and dropped unless the L2 value matches, a process's
 * own write survives the check of its own invalidation, a raced fill's
 * value is served only once its own check confirms it, and a re-formed
 * value never brings back an entry that was dropped or replaced.
 */
#include <stdint.h>
#include <string.h>

#include "base/internal.h"
#include "cache/l1.h"
#include "suites.h"

#define FAR INT64_C(1000000000000)

/* One L1 of one shard per test, made and freed by the fixture. */
static tc__l1 *l1;

static void setup(void)
{
    ck_assert_int_eq(tc__l1_new(&l1, 1024 * 1024, 1), TC_OK);
}

static void teardown(void)
{
    tc__l1_free(l1);
    l1 = NULL;
}

/* Whether the L1 holds exactly s for k (the public reader's view). */
static int holds(const tc__hash *k, const char *s)
{
    return tc__l1_holds(l1, k, s, strlen(s), 0);
}

static int absent(const tc__hash *k)
{
    char *v = NULL;
    size_t len;
    int64_t left;
    int rc = tc__l1_get(l1, k, 0, INT64_MIN, &v, &len, &left);

    tc__free(v);
    return rc == TC_MISS;
}

START_TEST(test_fill_after_invalidation_refused)
{
    tc__hash k = {1, 8}, other = {2, 15};
    uint64_t seq = tc__l1_seq(l1, &k);

    /* the read went out, then a write's invalidation was handled */
    ck_assert_int_eq(tc__l1_invalidate(l1, &k), 0);
    ck_assert_int_eq(tc__l1_fill(l1, &k, "old", 3, FAR, 0, seq, 0),
                     TC__L1_RACED);
    ck_assert(absent(&k));
    /* an absence too */
    ck_assert_int_eq(tc__l1_fill(l1, &k, NULL, 0, FAR, 0, seq, 1),
                     TC__L1_RACED);
    ck_assert(absent(&k));
    /* a fill that read its sequence after it is stored */
    seq = tc__l1_seq(l1, &k);
    ck_assert_int_eq(tc__l1_fill(l1, &k, "new", 3, FAR, 0, seq, 0), TC_OK);
    ck_assert(holds(&k, "new"));
    /* everything invalidated (a lost tracking connection): every slot */
    seq = tc__l1_seq(l1, &other);
    tc__l1_invalidate_all(l1);
    ck_assert(absent(&k));
    ck_assert_int_eq(tc__l1_fill(l1, &other, "old", 3, FAR, 0, seq, 0),
                     TC__L1_RACED);
    ck_assert(absent(&other));
}
END_TEST

START_TEST(test_held_entry_checked)
{
    tc__hash k = {3, 22};
    uint64_t seq = tc__l1_seq(l1, &k);

    /* the fill came first: the invalidation finds it and the check,
     * reading the L2 after the write, drops it */
    ck_assert_int_eq(tc__l1_fill(l1, &k, "old", 3, FAR, 0, seq, 0), TC_OK);
    ck_assert_int_eq(tc__l1_invalidate(l1, &k), 1);
    tc__l1_drop_unless(l1, &k, "new", 3);
    ck_assert(absent(&k));
    /* a failed check read drops it too */
    ck_assert_int_eq(tc__l1_set(l1, &k, "v", 1, FAR, 0), TC_OK);
    ck_assert_int_eq(tc__l1_invalidate(l1, &k), 1);
    tc__l1_drop_unless(l1, &k, NULL, 0);
    ck_assert(absent(&k));
    /* a prefix of the value is another value */
    ck_assert_int_eq(tc__l1_set(l1, &k, "v12", 3, FAR, 0), TC_OK);
    tc__l1_drop_unless(l1, &k, "v1", 2);
    ck_assert(absent(&k));
    /* a remembered absence goes at the invalidation itself */
    ck_assert_int_eq(tc__l1_set_neg(l1, &k, FAR, 0), TC_OK);
    ck_assert_int_eq(tc__l1_invalidate(l1, &k), 0);
    ck_assert(absent(&k));
}
END_TEST

START_TEST(test_own_write_kept)
{
    tc__hash k = {4, 29};
    static const char packed[] = "{\"a\":1}\0bin";

    /* stored before the L2 write; its own invalidation is checked
     * against the L2, which holds the same */
    ck_assert_int_eq(tc__l1_set(l1, &k, "mine", 4, FAR, 0), TC_OK);
    ck_assert_int_eq(tc__l1_invalidate(l1, &k), 1);
    tc__l1_drop_unless(l1, &k, "mine", 4);
    ck_assert(holds(&k, "mine"));
    /* a value kept with its packed form beside it matches its L2 part */
    ck_assert_int_eq(tc__l1_set(l1, &k, packed, sizeof(packed) - 1, FAR, 0),
                     TC_OK);
    tc__l1_drop_unless(l1, &k, "{\"a\":1}", 7);
    ck_assert(tc__l1_holds(l1, &k, packed, sizeof(packed) - 1, 0));
    /* an entry past its expiry, or an absence, holds nothing */
    ck_assert_int_eq(tc__l1_set(l1, &k, "mine", 4, 10, 0), TC_OK);
    ck_assert(!tc__l1_holds(l1, &k, "mine", 4, 10));
    ck_assert_int_eq(tc__l1_set_neg(l1, &k, FAR, 0), TC_OK);
    ck_assert(!tc__l1_holds(l1, &k, "", 0, 0));
}
END_TEST

START_TEST(test_reform_only_same_value)
{
    tc__hash k = {5, 36};
    static const char packed[] = "json\0bin";
    char *v = NULL;
    size_t len;
    int64_t left;

    ck_assert_int_eq(tc__l1_set(l1, &k, "json", 4, 5000, 0), TC_OK);
    ck_assert_int_eq(tc__l1_reform(l1, &k, packed, sizeof(packed) - 1, 100),
                     TC_OK);
    ck_assert(tc__l1_holds(l1, &k, packed, sizeof(packed) - 1, 100));
    /* the expiry is the replaced entry's */
    ck_assert_int_eq(tc__l1_get(l1, &k, 100, INT64_MIN, &v, &len, &left),
                     TC_OK);
    tc__free(v);
    ck_assert_int_eq(left, 4900);
    /* replaced by another answer since the caller read it: kept */
    ck_assert_int_eq(tc__l1_set(l1, &k, "other", 5, FAR, 0), TC_OK);
    ck_assert_int_eq(tc__l1_reform(l1, &k, packed, sizeof(packed) - 1, 0),
                     TC_MISS);
    ck_assert(holds(&k, "other"));
    /* dropped by an invalidation since: not brought back */
    ck_assert_int_eq(tc__l1_del(l1, &k), TC_OK);
    ck_assert_int_eq(tc__l1_reform(l1, &k, packed, sizeof(packed) - 1, 0),
                     TC_MISS);
    ck_assert(absent(&k));
    /* an absence is not re-formed */
    ck_assert_int_eq(tc__l1_set_neg(l1, &k, FAR, 0), TC_OK);
    ck_assert_int_eq(tc__l1_reform(l1, &k, "", 0, 0), TC_MISS);
}
END_TEST

START_TEST(test_unchecked_until_confirmed)
{
    tc__hash k = {6, 43};
    uint64_t mine, theirs;

    /* a raced fill's value is served by no read until its check */
    ck_assert_int_eq(tc__l1_set_unchecked(l1, &k, "v", 1, FAR, 0, &mine),
                     TC_OK);
    ck_assert(absent(&k));
    ck_assert(!holds(&k, "v"));
    tc__l1_confirm(l1, &k, mine, "v", 1);
    ck_assert(holds(&k, "v"));
    /* a check that read another value, or failed, removes it */
    ck_assert_int_eq(tc__l1_set_unchecked(l1, &k, "v", 1, FAR, 0, &mine),
                     TC_OK);
    tc__l1_confirm(l1, &k, mine, "w", 1);
    ck_assert(absent(&k));
    ck_assert_int_eq(tc__l1_set_unchecked(l1, &k, "v", 1, FAR, 0, &mine),
                     TC_OK);
    tc__l1_confirm(l1, &k, mine, NULL, 0);
    ck_assert(absent(&k));
    /* an entry another check stored in its place is not confirmed by
     * this one, whose read may be older than that store */
    ck_assert_int_eq(tc__l1_set_unchecked(l1, &k, "v", 1, FAR, 0, &mine),
                     TC_OK);
    ck_assert_int_eq(tc__l1_set_unchecked(l1, &k, "old", 3, FAR, 0, &theirs),
                     TC_OK);
    ck_assert_uint_ne(mine, theirs);
    tc__l1_confirm(l1, &k, mine, "old", 3);
    ck_assert(absent(&k));
    tc__l1_confirm(l1, &k, theirs, "old", 3);
    ck_assert(holds(&k, "old"));
    /* nor a checked value that replaced it */
    ck_assert_int_eq(tc__l1_set_unchecked(l1, &k, "v", 1, FAR, 0, &mine),
                     TC_OK);
    ck_assert_int_eq(tc__l1_set(l1, &k, "new", 3, FAR, 0), TC_OK);
    tc__l1_confirm(l1, &k, mine, NULL, 0);
    ck_assert(holds(&k, "new"));
    /* an invalidation finds it held, and its check drops it unless same */
    ck_assert_int_eq(tc__l1_set_unchecked(l1, &k, "v", 1, FAR, 0, &mine),
                     TC_OK);
    ck_assert_int_eq(tc__l1_invalidate(l1, &k), 1);
    tc__l1_drop_unless(l1, &k, "w", 1);
    tc__l1_confirm(l1, &k, mine, "v", 1);
    ck_assert(absent(&k));
}
END_TEST

void suite_coherence_l1(Suite *s)
{
    TCase *tc = tcase_create("l1");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_fill_after_invalidation_refused);
    tcase_add_test(tc, test_held_entry_checked);
    tcase_add_test(tc, test_own_write_kept);
    tcase_add_test(tc, test_reform_only_same_value);
    tcase_add_test(tc, test_unchecked_until_confirmed);
    suite_add_tcase(s, tc);
}
