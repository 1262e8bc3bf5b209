/*
 * l1_fixture.h - what the L1's suites share (check_l1.c, check_l1_threads.c):
 * weak deterministic keys, string sets and gets with their checks, and
 * what one entry is charged.
 */
#ifndef TT_L1_FIXTURE_H
#define TT_L1_FIXTURE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "cache/l1.h"
#include "suites.h"

#define FAR_FUTURE INT64_C(1000000000000)

/* Distinct, deterministic keys; the L1 must cope with such weak ones. */
static inline tc__hash hk(uint64_t i)
{
    tc__hash h;

    h.lo = i;
    h.hi = i * 7 + 1;
    return h;
}

static inline void set_str(tc__l1 *l1, uint64_t k, const char *s,
                           int64_t expires, int64_t now)
{
    tc__hash h = hk(k);

    ck_assert_int_eq(tc__l1_set(l1, &h, s, strlen(s), expires, now), TC_OK);
}

/* TC_OK or TC_MISS; on a hit, checks the value against want (if any). */
static inline int get_str(tc__l1 *l1, uint64_t k, const char *want, int64_t now)
{
    tc__hash h = hk(k);
    char *v = (char *)&h; /* must be reset to NULL */
    size_t len = 99;
    int64_t ttl = -5;
    int rc = tc__l1_get(l1, &h, now, INT64_MIN, &v, &len, &ttl);

    if (rc == TC_MISS) {
        ck_assert_ptr_null(v);
        ck_assert_uint_eq(len, 0);
        ck_assert_int_eq(ttl, 0);
        return rc;
    }
    ck_assert_int_eq(rc, TC_OK);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_gt(ttl, 0);
    ck_assert(v[len] == '\0');
    if (want) {
        ck_assert_uint_eq(len, strlen(want));
        ck_assert_str_eq(v, want);
    }
    tc__free(v);
    return rc;
}

static inline tc__l1_stats stats(tc__l1 *l1)
{
    tc__l1_stats st;

    tc__l1_stats_get(l1, &st);
    return st;
}

/* What one entry of len bytes is charged, measured, not assumed. */
static inline uint64_t charge_of(size_t len)
{
    tc__l1 *l1;
    tc__hash h = hk(1);
    char *buf = calloc(1, len + 1);
    uint64_t bytes;

    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(tc__l1_new(&l1, 64 * 1024 * 1024, 1), TC_OK);
    ck_assert_int_eq(tc__l1_set(l1, &h, buf, len, FAR_FUTURE, 0), TC_OK);
    bytes = stats(l1).bytes;
    ck_assert_uint_eq(stats(l1).entries, 1);
    ck_assert_uint_gt(bytes, len);
    tc__l1_free(l1);
    free(buf);
    return bytes;
}

#endif
