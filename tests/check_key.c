/*
 * check_key.c - L2 keys and canonical JSON key material. A key is
 * "tc:<prefix>:<32 hex>" of XXH3-128, computable by another language from
 * the prefix and the key bytes; namespaces and generations separate keys;
 * tc_key_canonical gives one spelling per JSON object and rejects what
 * has none.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <xxhash.h>

#include "base/internal.h"
#include "suites.h"

/* The key another language computes for a never-invalidated namespace. */
static void reference_key(char *buf, const char *prefix, const void *key,
                          size_t keylen)
{
    XXH64_hash_t seed = XXH3_64bits_withSeed(prefix, strlen(prefix), 0);
    XXH128_hash_t x = XXH3_128bits_withSeed(key, keylen, seed);

    snprintf(buf, TC_KEY_MAX, "tc:%s:%016llx%016llx", prefix,
             (unsigned long long)x.high64, (unsigned long long)x.low64);
}

static void assert_key_form(const char *k, const char *prefix)
{
    size_t np = strlen(prefix), i;

    ck_assert_msg(strncmp(k, "tc:", 3) == 0 &&
                      strncmp(k + 3, prefix, np) == 0 && k[3 + np] == ':',
                  "key %s does not start with tc:%s:", k, prefix);
    ck_assert_uint_eq(strlen(k), 3 + np + 1 + 32);
    for (i = 3 + np + 1; k[i]; i++) {
        ck_assert_msg((k[i] >= '0' && k[i] <= '9') ||
                          (k[i] >= 'a' && k[i] <= 'f'),
                      "key %s: '%c' is not a lowercase hex digit", k, k[i]);
    }
}

/* The key of (ns, key[0..keylen)) on h in k, which must be made. */
static void key_ok(char k[TC_KEY_MAX], tc_cache *h, const char *ns,
                   const void *key, size_t keylen)
{
    ck_assert_int_eq(tc_cache_key(k, TC_KEY_MAX, h, ns, key, keylen), TC_OK);
}

/* The 32 hex digits of a key. */
static const char *hex_of(const char *k)
{
    return strrchr(k, ':') + 1;
}

/* ---- tc_cache_key ------------------------------------------------------ */

START_TEST(test_key_format)
{
    static const char *ns[][2] = {{"ml_model_predictions", "ml_pred"},
                                  {"student_profiles", "profile"},
                                  {"adaptive_paths", "path"},
                                  {"diagnostic_results", "diag"},
                                  {"intents", "intent"}};
    tc_cache *h = tt_open_memory(0);
    char k[TC_KEY_MAX], k2[TC_KEY_MAX], want[TC_KEY_MAX];
    size_t i;

    for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        key_ok(k, h, ns[i][0], "hello", 5);
        assert_key_form(k, ns[i][1]);
        reference_key(want, ns[i][1], "hello", 5);
        ck_assert_str_eq(k, want);
        /* stable: the same input, the same key */
        key_ok(k2, h, ns[i][0], "hello", 5);
        ck_assert_str_eq(k, k2);
    }
    /* an empty key is a key */
    key_ok(k, h, "intents", NULL, 0);
    reference_key(want, "intent", "", 0);
    ck_assert_str_eq(k, want);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_key_bytes_matter)
{
    tc_cache *h = tt_open_memory(0);
    char a[TC_KEY_MAX], b[TC_KEY_MAX];

    /* every byte counts, NULs included, and so does the length */
    key_ok(a, h, "intents", "a\0b", 3);
    key_ok(b, h, "intents", "a\0c", 3);
    ck_assert_str_ne(a, b);
    key_ok(a, h, "intents", "ab", 2);
    key_ok(b, h, "intents", "abc", 2);
    ck_assert_str_eq(a, b);
    key_ok(b, h, "intents", "abc", 3);
    ck_assert_str_ne(a, b);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_key_stable_across_handles)
{
    tc_cache *h1 = tt_open_memory(0), *h2 = tt_open_memory(0);
    char a[TC_KEY_MAX], b[TC_KEY_MAX];

    key_ok(a, h1, "adaptive_paths", "p", 1);
    key_ok(b, h2, "adaptive_paths", "p", 1);
    ck_assert_str_eq(a, b);
    tc_cache_close(h1);
    tc_cache_close(h2);
}
END_TEST

START_TEST(test_key_namespaces_differ)
{
    tc_cache *h = tt_open_memory(0);
    char a[TC_KEY_MAX], b[TC_KEY_MAX];

    key_ok(a, h, "intents", "same", 4);
    key_ok(b, h, "student_profiles", "same", 4);
    /* not only the prefix: the hashes differ too */
    ck_assert_str_ne(hex_of(a), hex_of(b));
    tc_cache_close(h);
}
END_TEST

START_TEST(test_key_invalidate)
{
    tc_cache *h = tt_open_memory(0);
    char a[TC_KEY_MAX], b[TC_KEY_MAX], c[TC_KEY_MAX], o1[TC_KEY_MAX],
        o2[TC_KEY_MAX];
    void *v = NULL;
    size_t len = 0;

    key_ok(a, h, "intents", "k", 1);
    key_ok(o1, h, "diagnostic_results", "k", 1);
    ck_assert_int_eq(tc_cache_set(h, "intents", "k", 1, "v", 1, 0), TC_OK);
    ck_assert_int_eq(tc_cache_invalidate(h, "intents"), TC_OK);
    key_ok(b, h, "intents", "k", 1);
    assert_key_form(b, "intent");
    ck_assert_str_ne(a, b);
    /* the old entry is unreachable */
    ck_assert_int_eq(tc_cache_get(&v, &len, NULL, h, "intents", "k", 1),
                     TC_MISS);
    /* each invalidation gives a new key */
    ck_assert_int_eq(tc_cache_invalidate(h, "intents"), TC_OK);
    key_ok(c, h, "intents", "k", 1);
    ck_assert_str_ne(c, a);
    ck_assert_str_ne(c, b);
    /* other namespaces keep theirs */
    key_ok(o2, h, "diagnostic_results", "k", 1);
    ck_assert_str_eq(o1, o2);
    ck_assert_int_eq(tc_cache_invalidate(h, "no_such_ns"), TC_ENONS);
    tc_cache_close(h);
}
END_TEST

START_TEST(test_key_bad_args)
{
    tc_cache *h = tt_open_memory(0);
    char k[TC_KEY_MAX];

    ck_assert_int_eq(tc_cache_key(k, TC_KEY_MAX - 1, h, "intents", "k", 1),
                     TC_EINVAL);
    ck_assert_int_eq(tc_cache_key(NULL, TC_KEY_MAX, h, "intents", "k", 1),
                     TC_EINVAL);
    ck_assert_int_eq(tc_cache_key(k, sizeof(k), h, "no_such_ns", "k", 1),
                     TC_ENONS);
    ck_assert_int_eq(tc_cache_key(k, sizeof(k), h, NULL, "k", 1), TC_EINVAL);
    ck_assert_int_eq(tc_cache_key(k, sizeof(k), h, "intents", NULL, 1),
                     TC_EINVAL);
    ck_assert_int_eq(tc_cache_key(k, sizeof(k), NULL, "intents", "k", 1),
                     TC_EINVAL);
    tc_cache_close(h);
}
END_TEST

/* ---- tc_key_canonical ------------------------------------------------- */

/* Canonical form of json with at most one bucket; must succeed. */
static char *canon1(const char *json, const char *field, double size)
{
    const char *const fields[] = {field};
    const double sizes[] = {size};
    char *out = NULL;
    int rc = tc_key_canonical(&out, json, fields, sizes, field ? 1 : 0);

    ck_assert_msg(rc == TC_OK, "tc_key_canonical(%s) = %s", json,
                  tc_error_name(rc));
    ck_assert_ptr_nonnull(out);
    return out;
}

static void assert_canon(const char *json, const char *want)
{
    char *out = canon1(json, NULL, 0);

    ck_assert_msg(strcmp(out, want) == 0, "%s -> %s, want %s", json, out, want);
    tc_free(out);
}

static void assert_rejected(const char *json, const char *field, double size)
{
    const char *const fields[] = {field};
    const double sizes[] = {size};
    char *out = (char *)"stale";
    int rc = tc_key_canonical(&out, json, fields, sizes, field ? 1 : 0);

    ck_assert_msg(rc == TC_EINVAL, "tc_key_canonical(%s) = %s, want TC_EINVAL",
                  json, tc_error_name(rc));
    ck_assert_ptr_null(out);
}

START_TEST(test_canon_sorted_compact)
{
    assert_canon("{ \"b\" : 1 ,\n\t\"a\" : [ 1 , 2 ] , \"c\" : { } }",
                 "{\"a\":[1,2],\"b\":1,\"c\":{}}");
    assert_canon("{}", "{}");
    assert_canon("  {\"z\":true,\"y\":false,\"x\":null}  ",
                 "{\"x\":null,\"y\":false,\"z\":true}");
    /* byte order, so upper case sorts before lower case */
    assert_canon("{\"b\":1,\"B\":2,\"a\":3,\"aa\":4}",
                 "{\"B\":2,\"a\":3,\"aa\":4,\"b\":1}");
    /* arrays keep their order */
    assert_canon("{\"a\":[3,1,2]}", "{\"a\":[3,1,2]}");
}
END_TEST

START_TEST(test_canon_bucket_example)
{
    char *x = canon1("{\"b\":1,\"a\":37}", "a", 10);
    char *y = canon1("{\"a\":31,\"b\":1}", "a", 10);

    ck_assert_str_eq(x, "{\"a\":30,\"b\":1}");
    ck_assert_str_eq(x, y);
    tc_free(x);
    tc_free(y);
}
END_TEST

START_TEST(test_canon_buckets)
{
    const char *const fields[] = {"pct", "score"};
    const double sizes[] = {10, 0.5};
    char *out = NULL, *s;

    ck_assert_int_eq(tc_key_canonical(&out,
                                      "{\"score\":3.7,\"pct\":99,\"x\":99}",
                                      fields, sizes, 2),
                     TC_OK);
    ck_assert_str_eq(out, "{\"pct\":90,\"score\":3.5,\"x\":99}");
    tc_free(out);
    /* rounding down, for negative values too */
    s = canon1("{\"a\":-7}", "a", 10);
    ck_assert_str_eq(s, "{\"a\":-10}");
    tc_free(s);
    s = canon1("{\"a\":-0.0001}", "a", 1);
    ck_assert_str_eq(s, "{\"a\":-1}");
    tc_free(s);
    s = canon1("{\"a\":9.99}", "a", 10);
    ck_assert_str_eq(s, "{\"a\":0}");
    tc_free(s);
    /* an absent bucket field is simply absent */
    s = canon1("{\"b\":1}", "a", 10);
    ck_assert_str_eq(s, "{\"b\":1}");
    tc_free(s);
    /* bucketing is for top-level fields only */
    s = canon1("{\"n\":{\"a\":37}}", "a", 10);
    ck_assert_str_eq(s, "{\"n\":{\"a\":37}}");
    tc_free(s);
}
END_TEST

START_TEST(test_canon_numbers)
{
    static const char *ones[] = {"{\"x\":1}",     "{\"x\":1.0}",
                                 "{\"x\":1e0}",   "{\"x\":10E-1}",
                                 "{\"x\":0.1e1}", "{\"x\":1.000000000000000}"};
    static const char *zeros[] = {"{\"x\":0}", "{\"x\":-0}", "{\"x\":-0.0}",
                                  "{\"x\":0e5}", "{\"x\":-0e-3}"};
    size_t i;

    for (i = 0; i < sizeof(ones) / sizeof(ones[0]); i++) {
        assert_canon(ones[i], "{\"x\":1}");
    }
    for (i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++) {
        assert_canon(zeros[i], "{\"x\":0}");
    }
    assert_canon("{\"x\":-42}", "{\"x\":-42}");
    assert_canon("{\"x\":0.1}", "{\"x\":0.1}");
    assert_canon("{\"x\":1.5}", "{\"x\":1.5}");
    assert_canon("{\"x\":0.30000000000000004}", "{\"x\":0.30000000000000004}");
    assert_canon("{\"x\":12345678901234}", "{\"x\":12345678901234}");
    /* beyond 2^53, integers too have one spelling */
    {
        char *a = canon1("{\"x\":1e20}", NULL, 0);
        char *b = canon1("{\"x\":100000000000000000000}", NULL, 0);
        char *c = canon1("{\"x\":1.0E+20}", NULL, 0);

        ck_assert_str_eq(a, b);
        ck_assert_str_eq(a, c);
        tc_free(a);
        tc_free(b);
        tc_free(c);
    }
}
END_TEST

/* The output reads back as JSON with the same numbers. */
START_TEST(test_canon_numbers_round_trip)
{
    static const double vals[] = {0.1,
                                  1.0 / 3,
                                  2.5e-8,
                                  6.02214076e23,
                                  -1.5e-300,
                                  1e300,
                                  123.456,
                                  4503599627370497.0,
                                  9007199254740993.0};
    size_t i;

    for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char json[64];
        char *out;
        cJSON *v;

        snprintf(json, sizeof(json), "{\"x\":%.17g}", vals[i]);
        out = canon1(json, NULL, 0);
        v = cJSON_Parse(out);
        ck_assert_msg(v != NULL, "%s -> %s is not JSON", json, out);
        ck_assert_msg(cJSON_GetObjectItem(v, "x")->valuedouble ==
                          strtod(json + 5, NULL),
                      "%s -> %s changed the number", json, out);
        cJSON_Delete(v);
        tc_free(out);
    }
}
END_TEST

START_TEST(test_canon_nested_sorted)
{
    assert_canon("{\"z\":{\"y\":1,\"x\":{\"b\":2,\"a\":1}},"
                 "\"a\":[{\"d\":1,\"c\":2},[{\"f\":0,\"e\":1}]]}",
                 "{\"a\":[{\"c\":2,\"d\":1},[{\"e\":1,\"f\":0}]],"
                 "\"z\":{\"x\":{\"a\":1,\"b\":2},\"y\":1}}");
}
END_TEST

START_TEST(test_canon_strings)
{
    char *out, *out2;
    cJSON *v;

    /* quotes and backslashes escaped; slash unescaped */
    assert_canon("{\"q\":\"say \\\"hi\\\" \\\\ a\\/b\"}",
                 "{\"q\":\"say \\\"hi\\\" \\\\ a/b\"}");
    /* control characters have one spelling, \u00XX */
    assert_canon("{\"c\":\"a\\nb\\tc\\u0001\"}",
                 "{\"c\":\"a\\u000ab\\u0009c\\u0001\"}");
    assert_canon("{\"c\":\"\\u000a\"}", "{\"c\":\"\\u000a\"}");
    /* UTF-8 is kept as bytes, and \u escapes become the same bytes */
    assert_canon("{\"u\":\"caf\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80\"}",
                 "{\"u\":\"caf\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80\"}");
    assert_canon("{\"u\":\"caf\\u00e9 \\u65e5\\ud83d\\ude00\"}",
                 "{\"u\":\"caf\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80\"}");
    /* keys are escaped like values */
    assert_canon("{\"k\\\"\\n\":1}", "{\"k\\\"\\u000a\":1}");

    /* and the result reads back to the same string */
    out = canon1("{\"s\":\"\\\"\\\\\\b\\f\\n\\r\\t\\u001f\xc3\xa9\"}", NULL, 0);
    ck_assert_ptr_null(strpbrk(out, "\b\f\n\r\t\x1f"));
    v = cJSON_Parse(out);
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(cJSON_GetObjectItem(v, "s")->valuestring,
                     "\"\\\b\f\n\r\t\x1f\xc3\xa9");
    cJSON_Delete(v);
    /* canonical of canonical is itself */
    out2 = canon1(out, NULL, 0);
    ck_assert_str_eq(out, out2);
    tc_free(out);
    tc_free(out2);
}
END_TEST

/*
 * An escaped NUL cannot be kept by the JSON parser's C strings; the objects
 * below differ, so they must not share a canonical form (or a cache entry).
 */
START_TEST(test_canon_nul_escape)
{
    static const char *pairs[][2] = {
        {"{\"s\":\"a\\u0000b\"}", "{\"s\":\"a\\u0000c\"}"},
        {"{\"s\":\"a\\u0000b\"}", "{\"s\":\"a\"}"},
        {"{\"k\\u0000x\":1}", "{\"k\\u0000y\":1}"}};
    size_t i;
    char *s;

    for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        char *a = NULL, *b = NULL;
        int ra = tc_key_canonical(&a, pairs[i][0], NULL, NULL, 0);
        int rb = tc_key_canonical(&b, pairs[i][1], NULL, NULL, 0);

        ck_assert(ra == TC_OK || ra == TC_EINVAL);
        ck_assert(rb == TC_OK || rb == TC_EINVAL);
        ck_assert_msg(!(ra == TC_OK && rb == TC_OK && strcmp(a, b) == 0),
                      "%s and %s both give %s", pairs[i][0], pairs[i][1], a);
        tc_free(a);
        tc_free(b);
    }
    /* an escaped backslash before "u0000" is no NUL */
    s = canon1("{\"s\":\"a\\\\u0000b\"}", NULL, 0);
    ck_assert_str_eq(s, "{\"s\":\"a\\\\u0000b\"}");
    tc_free(s);
}
END_TEST

START_TEST(test_canon_duplicates)
{
    assert_rejected("{\"a\":1,\"a\":1}", NULL, 0);
    assert_rejected("{\"a\":1,\"b\":2,\"a\":3}", NULL, 0);
    assert_rejected("{\"x\":{\"k\":1,\"k\":2}}", NULL, 0);
    assert_rejected("{\"x\":[{\"k\":1,\"k\":2}]}", NULL, 0);
    assert_rejected("{\"a\":37,\"a\":31}", "a", 10);
}
END_TEST

START_TEST(test_canon_not_object)
{
    static const char *bad[] = {
        "",           " ",       "[1,2]", "\"s\"",      "1",
        "null",       "true",    "{",     "{\"a\":}",   "{\"a\"}",
        "{\"a\":1,}", "{'a':1}", "{a:1}", "{\"a\":NaN}"};
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_rejected(bad[i], NULL, 0);
    }
}
END_TEST

START_TEST(test_canon_trailing_garbage)
{
    /* One object and nothing else, or it is not JSON. */
    assert_rejected("{\"a\":1} garbage", NULL, 0);
    assert_rejected("{\"a\":1}{\"b\":2}", NULL, 0);
    assert_rejected("{\"a\":1}]", NULL, 0);
    /* trailing white space is fine */
    assert_canon("{\"a\":1} \n\t", "{\"a\":1}");
}
END_TEST

START_TEST(test_canon_bad_buckets)
{
    const char *const fields[] = {"a"};
    const double sizes[] = {10};
    char *out = (char *)"stale";

    assert_rejected("{\"a\":\"37\"}", "a", 10);
    assert_rejected("{\"a\":null}", "a", 10);
    assert_rejected("{\"a\":[37]}", "a", 10);
    assert_rejected("{\"a\":{\"v\":37}}", "a", 10);
    assert_rejected("{\"a\":true}", "a", 10);
    assert_rejected("{\"a\":37}", "a", 0);
    assert_rejected("{\"a\":37}", "a", -10);
    assert_rejected("{\"a\":37}", "a", NAN);
    assert_rejected("{\"a\":37}", "a", INFINITY);
    /* a bad size is rejected even when the field is absent */
    assert_rejected("{\"b\":37}", "a", 0);
    /* NULL arguments */
    ck_assert_int_eq(tc_key_canonical(NULL, "{}", NULL, NULL, 0), TC_EINVAL);
    ck_assert_int_eq(tc_key_canonical(&out, NULL, NULL, NULL, 0), TC_EINVAL);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(tc_key_canonical(&out, "{\"a\":1}", NULL, sizes, 1),
                     TC_EINVAL);
    ck_assert_int_eq(tc_key_canonical(&out, "{\"a\":1}", fields, NULL, 1),
                     TC_EINVAL);
}
END_TEST

/* The number of field "a" in a canonical form. */
static double canon_a(const char *canon)
{
    cJSON *v = cJSON_Parse(canon);
    const cJSON *a = cJSON_GetObjectItem(v, "a");
    double d;

    ck_assert_msg(cJSON_IsNumber(a), "%s has no number a", canon);
    d = a->valuedouble;
    cJSON_Delete(v);
    return d;
}

/* The cases: a multiple of a size not exact in binary is its own
 * bucket, written as it is written in decimal. */
START_TEST(test_canon_bucket_multiples)
{
    static const struct {
        const char *json, *want;
        double size;
    } cases[] = {
        {"{\"a\":4.35}", "{\"a\":4.3}", 0.1},
        {"{\"a\":4.3}", "{\"a\":4.3}", 0.1},
        {"{\"a\":8.1}", "{\"a\":8.1}", 0.1},
        {"{\"a\":0.3}", "{\"a\":0.3}", 0.1},
        {"{\"a\":0.7}", "{\"a\":0.7}", 0.1},
        {"{\"a\":-4.3}", "{\"a\":-4.3}", 0.1},
        {"{\"a\":-4.35}", "{\"a\":-4.4}", 0.1},
        {"{\"a\":0.15}", "{\"a\":0.15}", 0.05},
        {"{\"a\":0.9}", "{\"a\":0.9}", 0.3},
        {"{\"a\":0.899}", "{\"a\":0.6}", 0.3},
        {"{\"a\":0.007}", "{\"a\":0.007}", 1e-3},
        {"{\"a\":20}", "{\"a\":14}", 7},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = canon1(cases[i].json, "a", cases[i].size);

        ck_assert_msg(strcmp(out, cases[i].want) == 0,
                      "%s by %g -> %s, want %s", cases[i].json, cases[i].size,
                      out, cases[i].want);
        tc_free(out);
    }
}
END_TEST

/* A deterministic generator, so that a failure can be replayed. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/*
 * Property: bucketing is a fixed point (the canonical form of a canonical
 * form is itself), the bound is at most the value and less than a size
 * below it, and a multiple written in decimal is its own bound. Random
 * values of every magnitude and sign, and multiples, for sizes that are
 * and are not exact in binary.
 */
START_TEST(test_canon_bucket_fixed_point)
{
    static const struct {
        double size;
        int dec; /* its decimals */
    } sizes[] = {{0.1, 1}, {0.05, 2}, {0.3, 1}, {1e-3, 3},
                 {7, 0},   {0.25, 2}, {2.5, 1}, {1e-6, 6}};
    size_t si, i;

    for (si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
        double size = sizes[si].size;
        int dec = sizes[si].dec;

        for (i = 0; i < 600; i++) {
            char json[96], *once, *twice;
            double x, b;

            if (i % 2) {
                /* a multiple, written with the size's decimals */
                long long k = (long long)(rnd() % 2000001) - 1000000;

                snprintf(json, sizeof(json), "{\"a\":%.*f}", dec,
                         (double)k * size);
            } else {
                /* any value, 1e-9 to 1e12 in size */
                double mag = pow(10, (double)(rnd() % 22) - 9);
                double v = (double)(rnd() >> 11) / 9007199254740992.0 * mag;

                snprintf(json, sizeof(json), "{\"a\":%.17g}",
                         rnd() & 1 ? -v : v);
            }
            once = canon1(json, "a", size);
            twice = canon1(once, "a", size);
            ck_assert_msg(strcmp(once, twice) == 0,
                          "by %g: %s -> %s -> %s: not a fixed point", size,
                          json, once, twice);
            x = canon_a(json);
            b = canon_a(once);
            ck_assert_msg(b <= x + fabs(x) * 1e-15 && x - b < size * (1 + 1e-9),
                          "by %g: %s -> %s: not its bucket", size, json, once);
            if (i % 2) {
                ck_assert_msg(b == x, "by %g: the multiple %s -> %s", size,
                              json, once);
            }
            tc_free(once);
            tc_free(twice);
        }
    }
}
END_TEST

/*
 * Numbers a double cannot hold (1e400), or a bucket so fine, or a value so
 * large, that the quotient overflows: the answer is TC_EINVAL or JSON, never
 * "inf".
 */
START_TEST(test_canon_number_extremes)
{
    static const struct {
        const char *json;
        double size; /* 0: no bucket */
    } cases[] = {{"{\"a\":1e400}", 0},
                 {"{\"a\":-1e400}", 0},
                 {"{\"a\":1e308}", 0.5},
                 {"{\"a\":-1e308}", 0.25},
                 {"{\"a\":1}", 1e-320}};
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *const fields[] = {"a"};
        char *out = NULL;
        int rc = tc_key_canonical(&out, cases[i].json, fields, &cases[i].size,
                                  cases[i].size > 0 ? 1 : 0);

        ck_assert_msg(rc == TC_OK || rc == TC_EINVAL, "%s: %s", cases[i].json,
                      tc_error_name(rc));
        if (rc == TC_OK) {
            /* whatever it is, it is JSON with a finite number in it */
            cJSON *v = cJSON_Parse(out);
            const cJSON *a;

            ck_assert_msg(v != NULL, "%s with bucket %g -> %s is not JSON",
                          cases[i].json, cases[i].size, out);
            a = cJSON_GetObjectItem(v, "a");
            ck_assert(cJSON_IsNumber(a) && isfinite(a->valuedouble));
            cJSON_Delete(v);
        }
        tc_free(out);
    }
}
END_TEST

START_TEST(test_canon_deep)
{
    size_t depth = 20000, i;
    char *deep = malloc(depth * 6 + 16), *p = deep, *out = NULL;

    /* deep nesting is refused, not a stack overflow */
    for (i = 0; i < depth; i++) {
        memcpy(p, "{\"a\":", 5);
        p += 5;
    }
    *p++ = '1';
    memset(p, '}', depth);
    p[depth] = '\0';
    ck_assert_int_eq(tc_key_canonical(&out, deep, NULL, NULL, 0), TC_EINVAL);
    ck_assert_ptr_null(out);
    /* moderate nesting is fine */
    p = deep;
    for (i = 0; i < 32; i++) {
        memcpy(p, "{\"a\":", 5);
        p += 5;
    }
    *p++ = '1';
    memset(p, '}', 32);
    p[32] = '\0';
    ck_assert_int_eq(tc_key_canonical(&out, deep, NULL, NULL, 0), TC_OK);
    ck_assert_str_eq(out, deep);
    tc_free(out);
    free(deep);
}
END_TEST

/* Canonical material works as a key: equal objects hit one entry. */
START_TEST(test_canon_as_cache_key)
{
    tc_cache *h = tt_open_memory(0);
    char *k1 =
        canon1("{\"student\":\"s1\",\"completion\":37}", "completion", 10);
    char *k2 = canon1("{ \"completion\" : 31.5 , \"student\" : \"s1\" }",
                      "completion", 10);
    void *v = NULL;
    size_t len = 0;
    tc_tier tier;

    ck_assert_int_eq(
        tc_cache_set(h, "adaptive_paths", k1, strlen(k1), "path-A", 6, 0),
        TC_OK);
    ck_assert_int_eq(
        tc_cache_get(&v, &len, &tier, h, "adaptive_paths", k2, strlen(k2)),
        TC_OK);
    ck_assert_uint_eq(len, 6);
    ck_assert_str_eq(v, "path-A");
    tc_free(v);
    tc_free(k1);
    tc_free(k2);
    tc_cache_close(h);
}
END_TEST

Suite *suite_key(void)
{
    Suite *s = suite_create("key");
    TCase *tc = tcase_create("cache_key");

    tcase_add_test(tc, test_key_format);
    tcase_add_test(tc, test_key_bytes_matter);
    tcase_add_test(tc, test_key_stable_across_handles);
    tcase_add_test(tc, test_key_namespaces_differ);
    tcase_add_test(tc, test_key_invalidate);
    tcase_add_test(tc, test_key_bad_args);
    suite_add_tcase(s, tc);

    tc = tcase_create("canonical");
    tcase_add_test(tc, test_canon_sorted_compact);
    tcase_add_test(tc, test_canon_bucket_example);
    tcase_add_test(tc, test_canon_buckets);
    tcase_add_test(tc, test_canon_bucket_multiples);
    tcase_add_test(tc, test_canon_bucket_fixed_point);
    tcase_add_test(tc, test_canon_numbers);
    tcase_add_test(tc, test_canon_numbers_round_trip);
    tcase_add_test(tc, test_canon_nested_sorted);
    tcase_add_test(tc, test_canon_strings);
    tcase_add_test(tc, test_canon_nul_escape);
    tcase_add_test(tc, test_canon_duplicates);
    tcase_add_test(tc, test_canon_not_object);
    tcase_add_test(tc, test_canon_trailing_garbage);
    tcase_add_test(tc, test_canon_bad_buckets);
    tcase_add_test(tc, test_canon_number_extremes);
    tcase_add_test(tc, test_canon_deep);
    tcase_add_test(tc, test_canon_as_cache_key);
    suite_add_tcase(s, tc);
    suite_keyspace(s);
    return s;
}
