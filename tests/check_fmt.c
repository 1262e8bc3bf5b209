/*
 * check_fmt.c - tc__fmt_g against the C library: the same text as
 * snprintf's "%.*g" for random doubles (random bit patterns, random
 * scores in 0..1, random precisions), ties and near-ties, the edges (0,
 * -0, denormals, 1e-7, 0.1, 1 - eps, the largest double); at 17 digits
 * strtod reads every double back exactly; the value it reports is
 * strtod's reading of its text; NaN and the infinities are refused.
 * tc__fmt_shortest against the slow search it replaced (the shortest
 * %.*g that reads back), and the 64-bit decimal writers against printf.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fmt.h"
#include "base/sbuf.h"
#include "suites.h"

static uint64_t next(uint64_t *s)
{
    /* xorshift64* */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* x at prec as printf writes it, with the reported value checked too. */
static void agrees(double x, int prec)
{
    char want[64], got[TC__FMT_MAX + 8];
    double v, back;
    size_t n;

    memset(got, 'x', sizeof(got));
    snprintf(want, sizeof(want), "%.*g", prec, x);
    n = tc__fmt_g(got, x, prec, &v);
    ck_assert_msg(n == strlen(want) && strcmp(got, want) == 0,
                  "%a at %d: \"%s\", printf \"%s\"", x, prec, got, want);
    ck_assert_uint_lt(n, TC__FMT_MAX);
    back = strtod(want, NULL);
    ck_assert_msg(memcmp(&v, &back, sizeof(v)) == 0,
                  "%a at %d: value %a, strtod %a", x, prec, v, back);
}

START_TEST(test_edges)
{
    static const double xs[] = {0.0,
                                -0.0,
                                1.0,
                                -1.0,
                                0.1,
                                0.5,
                                1e-7,
                                1e-5,
                                1e-4,
                                0.0001234565,
                                1.0 - DBL_EPSILON,
                                1.0 - DBL_EPSILON / 2,
                                DBL_MIN,
                                DBL_MIN / 3,
                                DBL_TRUE_MIN,
                                -DBL_TRUE_MIN,
                                DBL_MAX,
                                -DBL_MAX,
                                100000.5,
                                100001.5,
                                999999.5,
                                9999995,
                                0.9999995,
                                0.99999949999999994,
                                123456789012345678.0,
                                1e22,
                                1e23,
                                5e-324,
                                2.5,
                                0.125,
                                0.875,
                                1e300,
                                1.5e-300};
    size_t i;
    int prec;

    for (i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
        for (prec = 1; prec <= 17; prec++) {
            agrees(xs[i], prec);
        }
    }
}
END_TEST

START_TEST(test_refused)
{
    char buf[TC__FMT_MAX];
    double v = 1;

    ck_assert_uint_eq(tc__fmt_g(buf, NAN, 6, &v), 0);
    ck_assert_str_eq(buf, "");
    ck_assert(v == 0);
    ck_assert_uint_eq(tc__fmt_g(buf, INFINITY, 6, NULL), 0);
    ck_assert_uint_eq(tc__fmt_g(buf, -INFINITY, 6, NULL), 0);
    ck_assert_uint_eq(tc__fmt_g(buf, 0.5, 0, NULL), 0);
    ck_assert_uint_eq(tc__fmt_g(buf, 0.5, 18, NULL), 0);
    ck_assert_uint_eq(tc__fmt_g(buf, 0.5, 6, NULL), 3);
    ck_assert_str_eq(buf, "0.5");
}
END_TEST

/* Any bit pattern that is a finite double, at every precision now and
 * then; 17 digits read back exactly. */
START_TEST(test_random_bits)
{
    uint64_t s = 0x9e3779b97f4a7c15u;
    int i, rounds = tt_under_valgrind() ? 3000 : 100000;

    for (i = 0; i < rounds; i++) {
        uint64_t b = next(&s);
        double x, back;
        char buf[TC__FMT_MAX];

        memcpy(&x, &b, sizeof(x));
        if (!isfinite(x)) {
            continue;
        }
        agrees(x, 6);
        agrees(x, (int)(b % 17) + 1);
        tc__fmt_g(buf, x, 17, NULL);
        back = strtod(buf, NULL);
        ck_assert_msg(memcmp(&back, &x, sizeof(x)) == 0, "%a: %s", x, buf);
    }
}
END_TEST

/* Scores: uniform in 0..1, small ones, and values a few ulps from a
 * six-digit tie (k + 0.5) / 10^6, where the quick way must hand over. */
START_TEST(test_random_scores)
{
    uint64_t s = 12345;
    int i, rounds = tt_under_valgrind() ? 3000 : 100000;

    for (i = 0; i < rounds; i++) {
        double u = (double)(next(&s) >> 11) * 0x1p-53;
        double tie = ((double)(next(&s) % 1000000) + 0.5) / 1e6;
        int k;

        agrees(u, 6);
        agrees(u * 1e-6, 6);
        for (k = 0; k < 3; k++) {
            tie = nextafter(tie, 0);
        }
        for (k = 0; k < 7; k++) {
            agrees(tie, 6);
            tie = nextafter(tie, 2);
        }
    }
}
END_TEST

/* The spelling tc__fmt_shortest owes x, found the slow way: an integer
 * within 2^53 by %.0f, else the first %.*g that strtod reads back. */
static void shortest_agrees(double x)
{
    char want[64], got[TC__FMT_MAX + 8];
    size_t n;
    int prec;

    if (x == floor(x) && fabs(x) < 0x1p53) {
        snprintf(want, sizeof(want), "%.0f", x == 0 ? 0.0 : x);
    } else {
        for (prec = 1; prec <= 17; prec++) {
            snprintf(want, sizeof(want), "%.*g", prec, x);
            if (strtod(want, NULL) == x) {
                break;
            }
        }
    }
    memset(got, 'x', sizeof(got));
    n = tc__fmt_shortest(got, x);
    ck_assert_msg(n == strlen(want) && strcmp(got, want) == 0,
                  "%a: \"%s\", expected \"%s\"", x, got, want);
    ck_assert_msg(strtod(got, NULL) == x, "%a: %s reads back otherwise", x,
                  got);
}

/* Shortest round trip: the edges, integers on both sides of 2^53, random
 * bit patterns, scores and short decimals; NaN and infinities refused. */
START_TEST(test_shortest)
{
    static const double xs[] = {
        0.0,          -0.0,       1.0,        -1.0,       0.1,
        0.3,          1e-7,       42.0,       -7.0,       0.5,
        0.1 + 0.2,    1.0 / 3,    2.0 / 3,    0x1p53 - 1, 0x1p53,
        -0x1p53,      0x1p53 + 2, 1e22,       1e23,       DBL_MAX,
        DBL_TRUE_MIN, DBL_MIN,    123456.789, 0.000123,   1e-300};
    uint64_t s = 77;
    char buf[TC__FMT_MAX];
    size_t i;
    int rounds = tt_under_valgrind() ? 2000 : 50000;

    for (i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
        shortest_agrees(xs[i]);
    }
    for (i = 0; i < (size_t)rounds; i++) {
        uint64_t b = next(&s);
        double x;

        memcpy(&x, &b, sizeof(x));
        if (isfinite(x)) {
            shortest_agrees(x);
        }
        shortest_agrees((double)(next(&s) >> 11) * 0x1p-53);
        shortest_agrees((double)(next(&s) % 100000) / 1000.0);
        shortest_agrees((double)(int64_t)(next(&s) >> 10) * (b & 1 ? -1 : 1));
    }
    ck_assert_uint_eq(tc__fmt_shortest(buf, NAN), 0);
    ck_assert_str_eq(buf, "");
    ck_assert_uint_eq(tc__fmt_shortest(buf, -INFINITY), 0);
}
END_TEST

/* Integers at every precision: the exact shortcut for an integer times
 * a power of ten agrees with printf. */
START_TEST(test_integers_g)
{
    uint64_t s = 99;
    int i, rounds = tt_under_valgrind() ? 500 : 20000;

    for (i = 0; i < rounds; i++) {
        double x = (double)(next(&s) >> (11 + next(&s) % 50));

        agrees(x, (int)(next(&s) % 17) + 1);
        agrees(-x, 6);
    }
}
END_TEST

/* 64-bit integers in decimal, against printf, the extremes included. */
START_TEST(test_decimal)
{
    static const int64_t xs[] = {
        0, 1, -1, 9, 10, -10, INT64_MAX, INT64_MIN, INT64_MIN + 1, 1000000007};
    char want[32], got[TC__FMT_INT_MAX];
    uint64_t s = 5;
    size_t i;

    for (i = 0; i < sizeof(xs) / sizeof(xs[0]) + 10000; i++) {
        int64_t v = i < sizeof(xs) / sizeof(xs[0])
                        ? xs[i]
                        : (int64_t)(next(&s) >> (next(&s) % 64));
        uint64_t u = next(&s) >> (next(&s) % 64);

        if (i % 2 && v != INT64_MIN) {
            v = -v;
        }
        snprintf(want, sizeof(want), "%lld", (long long)v);
        ck_assert_uint_eq(tc__fmt_i64(got, v), strlen(want));
        ck_assert_str_eq(got, want);
        snprintf(want, sizeof(want), "%llu", (unsigned long long)u);
        ck_assert_uint_eq(tc__fmt_u64(got, u), strlen(want));
        ck_assert_str_eq(got, want);
    }
    ck_assert_uint_eq(tc__fmt_u64(got, UINT64_MAX), 20);
    ck_assert_str_eq(got, "18446744073709551615");
}
END_TEST

/* The string buffer's printf: short and long outputs alike appended in
 * full (a long one once took the buffer for out of memory). */
START_TEST(test_sb_printf)
{
    char word[600];
    tc__sb b = {0};

    memset(word, 'w', sizeof(word) - 1);
    word[sizeof(word) - 1] = '\0';
    tc__sb_printf(&b, "<%d>", 42);
    tc__sb_printf(&b, "[%s|%d]", word, 7);
    tc__sb_printf(&b, "<%d>", 43);
    ck_assert_int_eq(b.oom, 0);
    ck_assert_uint_eq(b.len, 4 + 1 + 599 + 3 + 4);
    ck_assert_uint_eq(strlen(b.p), b.len);
    ck_assert_int_eq(strncmp(b.p, "<42>[ww", 7), 0);
    ck_assert_str_eq(b.p + b.len - 8, "w|7]<43>");
    tc__free(b.p);
}
END_TEST

Suite *suite_fmt(void)
{
    Suite *s = suite_create("fmt");
    TCase *tc = tcase_create("g");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_edges);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_random_bits);
    tcase_add_test(tc, test_random_scores);
    tcase_add_test(tc, test_shortest);
    tcase_add_test(tc, test_integers_g);
    tcase_add_test(tc, test_decimal);
    tcase_add_test(tc, test_sb_printf);
    suite_add_tcase(s, tc);
    return s;
}
