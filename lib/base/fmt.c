/*
 * fmt.c - "%.*g" without printf. The digits are the double times a power
 * of ten, rounded: one multiplication or division by an exact power of
 * ten (up to 1e22) decides them whenever the product is not within a few
 * units in the last place of a halfway point, which is nearly always.
 * Otherwise (a tie or nearly, a power past 1e22, 16 or 17 digits) exact
 * integer arithmetic on the double's binary value decides: the printf of
 * glibc rounds that value, not an approximation of it.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/fmt.h"

/* Powers of ten up to 1e22 are exact doubles. */
static const double pow10_exact[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const uint64_t pow10_int[] = {1ULL,
                                     10ULL,
                                     100ULL,
                                     1000ULL,
                                     10000ULL,
                                     100000ULL,
                                     1000000ULL,
                                     10000000ULL,
                                     100000000ULL,
                                     1000000000ULL,
                                     10000000000ULL,
                                     100000000000ULL,
                                     1000000000000ULL,
                                     10000000000000ULL,
                                     100000000000000ULL,
                                     1000000000000000ULL,
                                     10000000000000000ULL,
                                     100000000000000000ULL};

/* ---- exact comparisons ------------------------------------------------- */

/*
 * Unsigned integers of up to 40 32-bit limbs, least significant first:
 * the largest a comparison needs is a 53-bit mantissa times 5^341 (for
 * the smallest denormal at 17 digits), under 850 bits.
 */
#define LIMBS 40
typedef struct big {
    uint32_t w[LIMBS];
    int n;
} big;

static void big_set(big *b, uint64_t v)
{
    b->n = 0;
    while (v) {
        b->w[b->n++] = (uint32_t)v;
        v >>= 32;
    }
}

static void big_mul(big *b, uint32_t m)
{
    uint64_t carry = 0;
    int i;

    for (i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->w[i] * m + carry;

        b->w[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry) {
        b->w[b->n++] = (uint32_t)carry;
    }
}

static void big_mul_pow5(big *b, int e)
{
    static const uint32_t p5[] = {
        1,     5,      25,      125,     625,      3125,      15625,
        78125, 390625, 1953125, 9765625, 48828125, 244140625, 1220703125};

    while (e >= 13) {
        big_mul(b, p5[13]);
        e -= 13;
    }
    if (e > 0) {
        big_mul(b, p5[e]);
    }
}

static void big_shl(big *b, int s)
{
    int limbs = s / 32, bits = s % 32, i;

    if (b->n == 0) {
        return;
    }
    if (bits) {
        uint32_t carry = 0;

        for (i = 0; i < b->n; i++) {
            uint32_t v = b->w[i];

            b->w[i] = (v << bits) | carry;
            carry = v >> (32 - bits);
        }
        if (carry) {
            b->w[b->n++] = carry;
        }
    }
    if (limbs) {
        memmove(b->w + limbs, b->w, (size_t)b->n * sizeof(b->w[0]));
        memset(b->w, 0, (size_t)limbs * sizeof(b->w[0]));
        b->n += limbs;
    }
}

static int big_cmp(const big *a, const big *b)
{
    int i;

    if (a->n != b->n) {
        return a->n < b->n ? -1 : 1;
    }
    for (i = a->n - 1; i >= 0; i--) {
        if (a->w[i] != b->w[i]) {
            return a->w[i] < b->w[i] ? -1 : 1;
        }
    }
    return 0;
}

/* The sign of 2 m 2^q 10^s - k: whether twice the scaled value is below,
 * at or above the integer k. */
static int cmp_twice(uint64_t m, int q, int s, uint64_t k)
{
    big l, r;
    int t = q + s + 1;

    big_set(&l, m);
    big_set(&r, k);
    if (s >= 0) {
        big_mul_pow5(&l, s);
    } else {
        big_mul_pow5(&r, -s);
    }
    if (t >= 0) {
        big_shl(&l, t);
    } else {
        big_shl(&r, -t);
    }
    return big_cmp(&l, &r);
}

/* ---- the digits --------------------------------------------------------- */

/* "00" to "99", for writing digits two at a time. */
static const char pairs[] =
    "00010203040506070809101112131415161718192021222324"
    "25262728293031323334353637383940414243444546474849"
    "50515253545556575859606162636465666768697071727374"
    "75767778798081828384858687888990919293949596979899";

/* x * 10^s, approximately (a few roundings when s is past 22). */
static double scale(double x, int s)
{
    while (s > 22) {
        x *= 1e22;
        s -= 22;
    }
    while (s < -22) {
        x /= 1e22;
        s += 22;
    }
    return s >= 0 ? x * pow10_exact[s] : x / pow10_exact[-s];
}

/*
 * round(x 10^s), ties to even, for x > 0 = m 2^q: first from the double
 * product when that is certain, else exactly. Also the floor, so that the
 * caller can tell a wrong exponent (floor outside the digits' range) from
 * a round up to the next power of ten.
 */
static uint64_t digits(double x, uint64_t m, int q, int s, int prec,
                       uint64_t *floor_out)
{
    double y = scale(x, s);
    uint64_t f;
    int c;

    /* 0 < x <= y < 2^53 by then, so the cast is defined and is floor(x)
     * (which gcc expands to some 28 instructions without SSE4.1) */
    if (s >= 0 && s <= 22 && y < 0x1p53 && x == (double)(int64_t)x) {
        /* an integer times an exact power of ten, below 2^53: the
         * product is exact (1.0 at six digits is the common case) */
        *floor_out = (uint64_t)y;
        return (uint64_t)y;
    }
    if (prec <= 15 && s >= -22 && s <= 22 && y < 1e16) {
        double fl = (double)(uint64_t)y, frac = y - fl;

        /* y is within half an ulp of the exact product (y <= 2^53: its
         * fraction is exact), so both the floor and the rounding are
         * certain unless y is that close to an integer or a tie */
        if (fabs(frac - 0.5) > y * 0x1p-51 && frac > y * 0x1p-51 &&
            1 - frac > y * 0x1p-51) {
            *floor_out = (uint64_t)fl;
            return (uint64_t)fl + (frac > 0.5);
        }
    }
    /* near a tie, or past the double's reach: decide exactly */
    f = y < 1.8e19 ? (uint64_t)y : UINT64_C(18000000000000000000);
    while (f > 0 && cmp_twice(m, q, s, 2 * f) < 0) {
        f--;
    }
    while (cmp_twice(m, q, s, 2 * f + 2) >= 0) {
        f++;
    }
    *floor_out = f;
    c = cmp_twice(m, q, s, 2 * f + 1);
    return c > 0 ? f + 1 : c < 0 ? f : f + (f & 1);
}

/* The double n 10^e denotes, as strtod reads text, its spelling. */
static double value_of(uint64_t n, int e, const char *text)
{
    if (n < (UINT64_C(1) << 53) && e >= -22 && e <= 22) {
        /* both exact: one correctly rounded operation */
        return e >= 0 ? (double)n * pow10_exact[e]
                      : (double)n / pow10_exact[-e];
    }
    return fabs(strtod(text, NULL));
}

size_t tc__fmt_g(char *buf, double x, int prec, double *value)
{
    char d[20], *o = buf;
    uint64_t m, n = 0, fl, v;
    int q, e10, s, i, nd, tries;
    int neg = signbit(x) != 0;

    buf[0] = '\0';
    if (value) {
        *value = 0;
    }
    if (!isfinite(x) || prec < 1 || prec > 17) {
        return 0;
    }
    if (neg) {
        *o++ = '-';
        x = -x;
    }
    if (x == 0) {
        *o++ = '0';
        *o = '\0';
        if (value) {
            *value = neg ? -0.0 : 0.0;
        }
        return (size_t)(o - buf);
    }
    {
        /* x = m 2^q from its bits; a denormal's m has leading zeros */
        uint64_t bits;
        int be, e2;

        memcpy(&bits, &x, sizeof(bits));
        be = (int)(bits >> 52);
        m = bits & ((UINT64_C(1) << 52) - 1);
        if (be) {
            m |= UINT64_C(1) << 52;
            q = be - 1075;
        } else {
            q = -1074;
        }
        /* x < 2^e2, and an estimate of floor(log10 x) from it (78913 /
         * 2^18 is log10 2 rounded down), corrected below */
        e2 = q + 64 - __builtin_clzll(m);
        e10 = e2 - 1 >= 0 ? ((e2 - 1) * 78913) >> 18
                          : -(((1 - e2) * 78913 + (1 << 18) - 1) >> 18);
    }
    for (tries = 0; tries < 4; tries++) {
        s = prec - 1 - e10;
        n = digits(x, m, q, s, prec, &fl);
        if (fl >= pow10_int[prec]) {
            e10++;
        } else if (fl < pow10_int[prec - 1]) {
            e10--;
        } else {
            break;
        }
    }
    if (n == pow10_int[prec]) {
        n = pow10_int[prec - 1]; /* 9.99...5 rounded up */
        e10++;
    }
    /* the digits without their trailing zeros: n = v 10^(prec - nd) */
    for (nd = prec; nd > 1 && n % 10 == 0; nd--) {
        n /= 10;
    }
    v = n;
    /* two digits a division: a score has six, and this ran per digit */
    for (i = nd; i >= 2; i -= 2) {
        memcpy(d + i - 2, pairs + n % 100 * 2, 2);
        n /= 100;
    }
    if (i) {
        d[0] = (char)('0' + n);
    }
    if (e10 < -4 || e10 >= prec) {
        /* d.ddde+XX */
        int ex = e10 < 0 ? -e10 : e10;

        *o++ = d[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, d + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        *o++ = 'e';
        *o++ = e10 < 0 ? '-' : '+';
        if (ex >= 100) {
            *o++ = (char)('0' + ex / 100);
        }
        *o++ = (char)('0' + ex / 10 % 10);
        *o++ = (char)('0' + ex % 10);
    } else if (e10 >= 0) {
        /* ddd.ddd: the point after e10 + 1 digits, if any follow (the
         * integer part keeps its zeros) */
        int k = nd < e10 + 1 ? nd : e10 + 1;

        memcpy(o, d, (size_t)k);
        o += k;
        for (; k < e10 + 1; k++) {
            *o++ = '0';
        }
        if (nd > e10 + 1) {
            *o++ = '.';
            memcpy(o, d + e10 + 1, (size_t)(nd - e10 - 1));
            o += nd - e10 - 1;
        }
    } else {
        /* 0.000ddd */
        *o++ = '0';
        *o++ = '.';
        for (i = -1; i > e10; i--) {
            *o++ = '0';
        }
        memcpy(o, d, (size_t)nd);
        o += nd;
    }
    *o = '\0';
    if (value) {
        *value = value_of(v, e10 - (nd - 1), buf);
        if (neg) {
            *value = -*value;
        }
    }
    return (size_t)(o - buf);
}

size_t tc__fmt_u64(char *buf, uint64_t v)
{
    size_t n = 1, i;

    /* counted first, so that the digits go straight to buf: most numbers
     * written are a few digits (RESP lengths, ids, counts) */
    for (uint64_t t = v; t >= 10; t /= 10) {
        n++;
    }
    buf[n] = '\0';
    for (i = n; i-- > 0; v /= 10) {
        buf[i] = (char)('0' + v % 10);
    }
    return n;
}

size_t tc__fmt_i64(char *buf, int64_t v)
{
    if (v >= 0) {
        return tc__fmt_u64(buf, (uint64_t)v);
    }
    /* the magnitude computed unsigned: -INT64_MIN overflows int64_t */
    buf[0] = '-';
    return 1 + tc__fmt_u64(buf + 1, 0 - (uint64_t)v);
}

/*
 * The shortest precision that reads back is searched upwards to six
 * digits, where nearly every number the library writes (a confidence, a
 * size) ends, then by bisection: a precision that reads back makes every
 * larger one read back too, since the nearest p + 1 digit number is no
 * farther from x than the nearest p digit one.
 */
size_t tc__fmt_shortest(char *buf, double x)
{
    char tmp[TC__FMT_MAX];
    double back;
    size_t n;
    int lo, hi, p;

    buf[0] = '\0';
    if (!isfinite(x)) {
        return 0;
    }
    if (x == floor(x) && fabs(x) < 0x1p53) {
        return tc__fmt_i64(buf, (int64_t)x); /* -0 becomes "0" */
    }
    for (p = 1; p <= 6; p++) {
        n = tc__fmt_g(buf, x, p, &back);
        if (back == x) {
            return n;
        }
    }
    lo = 7;
    hi = 17; /* 17 digits always read back */
    while (lo < hi) {
        p = lo + (hi - lo) / 2;
        tc__fmt_g(tmp, x, p, &back);
        if (back == x) {
            hi = p;
        } else {
            lo = p + 1;
        }
    }
    return tc__fmt_g(buf, x, lo, NULL);
}
