/*
 * check_normalize_props.c - properties of normalization over many texts: a
 * room too small is reported and never overrun, long texts, the ASCII
 * paths agree with the general one, normalizing twice changes nothing (for
 * every character and for random texts), the result agrees with
 * utf8proc's NFKC with case folding, threads at once, and a failing
 * allocator. Part of the normalize suite (check_normalize.c).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "base/internal.h"
#include "base/normalize.h"
#include "normalize_fixture.h"
#include "suites.h"

/* A small generator with a fixed seed. */
static uint32_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

/*
 * The contract of tc__normalize_into: a room too small is TC_ETOOBIG with
 * the exact length needed, an empty dst, and nothing written past cap;
 * that length plus one always works; the form may outgrow the text.
 */
static void check_room(const char *text, size_t len, const char *want)
{
    size_t wl = strlen(want), cap, n, bad;
    char *dst = malloc(wl + 16);
    int rc;

    ck_assert_ptr_nonnull(dst);
    rc = tc__normalize_into(NULL, 0, &n, text, len, &bad);
    ck_assert_int_eq(rc, TC_ETOOBIG);
    ck_assert_uint_eq(n, wl);
    for (cap = 1; cap <= wl + 8;
         cap = cap < 40 || cap + 3 > wl ? cap + 1 : wl - 2) {
        memset(dst, '#', wl + 16);
        rc = tc__normalize_into(dst, cap, &n, text, len, &bad);
        if (cap <= wl) {
            ck_assert_msg(rc == TC_ETOOBIG, "\"%s\" in %zu: %s", want, cap,
                          tc_error_name(rc));
            ck_assert_uint_eq(n, wl);
            ck_assert_int_eq(dst[0], '\0');
        } else {
            ck_assert_msg(rc == TC_OK, "\"%s\" in %zu: %s", want, cap,
                          tc_error_name(rc));
            ck_assert_uint_eq(n, wl);
            ck_assert(memcmp(dst, want, wl + 1) == 0);
        }
        /* nothing past the room it was given */
        for (n = cap; n < wl + 16; n++) {
            ck_assert_msg(dst[n] == '#', "\"%s\" in %zu: byte %zu written",
                          want, cap, n);
        }
    }
    free(dst);
}

START_TEST(test_room)
{
    char big[600 * 3 + 1];
    char *want;
    size_t i, n;

    check_room("\xc2\xbd", 2,
               "1\xe2\x81\x84"
               "2"); /* 2 -> 5 */
    check_room("\xef\xb7\xba", 3,
               "\xd8\xb5\xd9\x84\xd9\x89 \xd8\xa7\xd9\x84"
               "\xd9\x84\xd9\x87 \xd8\xb9\xd9\x84\xd9\x8a"
               "\xd9\x87 \xd9\x88\xd8\xb3\xd9\x84\xd9\x85");
    check_room("\xe3\x8e\x8f", 3, "kg");
    /* ASCII, when the room is not the text's length + 1 */
    check_room("  Hello   World!!!  ", 20, "hello world");
    check_room("Hi", 2, "hi");
    check_room("", 0, "");
    check_room("   ", 3, "");
    /* the trailing and leading runs cut before the length is told */
    check_room("\xc2\xbfQu\xc3\xa9?!", 8, "qu\xc3\xa9");
    check_room("\xe2\x80\x9cQuoted\xe2\x80\x9d", 12, "\"quoted\"");
    check_room("cafe\xcc\x81!", 7, "caf\xc3\xa9");
    /* 600 U+FDFA: 1800 bytes in, 600 * 33 + 599 spaces out, over the stack
     * buffers of the library and tc_text_normalize's first guess */
    for (i = 0; i < 600; i++) {
        memcpy(big + 3 * i, "\xef\xb7\xba", 3);
    }
    want = nf_norm_n(big, 1800, &n);
    ck_assert_uint_eq(n, 600 * 33);
    ck_assert_uint_le(n, tc__normalize_bound(1800));
    ck_assert(memcmp(want, "\xd8\xb5\xd9\x84\xd9\x89 ", 7) == 0);
    check_room(big, 1800, want);
    tc_free(want);
}
END_TEST

/* Long texts: past the stack buffer, long runs of combining marks (put
 * in order in linear time), a long text that only grows. */
START_TEST(test_long_texts)
{
    size_t n = 20000, i, len = 0, outlen;
    char *t = malloc(4 * n + 16), *out, *ref;
    utf8proc_uint8_t *r = NULL;
    utf8proc_ssize_t rl;

    ck_assert_ptr_nonnull(t);
    /* 20000 É, spaces among them */
    for (i = 0; i < n; i++) {
        memcpy(t + len, i % 10 == 9 ? " " : "\xc3\x89", i % 10 == 9 ? 1 : 2);
        len += i % 10 == 9 ? 1 : 2;
    }
    out = nf_norm_n(t, len, &outlen);
    ck_assert_uint_eq(outlen, len - 1); /* a space last */
    ck_assert(memcmp(out, "\xc3\xa9\xc3\xa9", 4) == 0);
    nf_check_idempotent(t, len);
    tc_free(out);
    /* "a" and 20000 combining marks of two classes, alternating: sorted
     * stably by class, as utf8proc's own (quadratic) NFKC_Casefold does */
    len = 0;
    t[len++] = 'a';
    for (i = 0; i < n; i++) {
        memcpy(t + len, i % 2 ? "\xcc\x81" : "\xcc\x96", 2); /* 230, 220 */
        len += 2;
    }
    out = nf_norm_n(t, len, &outlen);
    rl = utf8proc_map((const utf8proc_uint8_t *)t, (utf8proc_ssize_t)len, &r,
                      UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |
                          UTF8PROC_STABLE);
    ck_assert_int_gt(rl, 0);
    ck_assert_uint_eq(outlen, (size_t)rl);
    ck_assert(memcmp(out, r, outlen) == 0);
    free(r);
    nf_check_idempotent(t, len);
    tc_free(out);
    /* a short run among them, on the stack */
    ref = nf_norm("a\xcc\x81\xcc\x96\xcc\x81\xcc\x96");
    ck_assert_str_eq(ref, "\xc3\xa1\xcc\x96\xcc\x96\xcc\x81"
                          "");
    tc_free(ref);
    free(t);
}
END_TEST

/* The ASCII way and the Unicode way agree on ASCII texts: a room of the
 * exact length sends a text that shrinks the Unicode way. Every other
 * text is mostly letters and single spaces, with the bytes around A-Z
 * and a-z and a control, the words the ASCII way takes eight at once. */
START_TEST(test_ascii_ways_agree)
{
    static const char alphabet[] = " \t\n.!?,;:'\"-+()aAbBzZ09";
    static const char words[] = "  aAbBkKqQzZyY09@[`{~\x7f\x01"
                                "eEtTsS.,";
    uint64_t s = 99;
    int round, rounds = tt_under_valgrind() ? 2000 : 50000;

    for (round = 0; round < rounds; round++) {
        const char *abc = round % 2 ? words : alphabet;
        size_t nabc = round % 2 ? sizeof(words) - 1 : sizeof(alphabet) - 1;
        char in[64], a[65], b[65];
        size_t n = next_rand(&s) % (round % 2 ? 64 : 40), i, la, lb;

        for (i = 0; i < n; i++) {
            in[i] = abc[next_rand(&s) % nabc];
        }
        if (tc__normalize_into(a, sizeof(a), &la, in, n, NULL) != TC_OK) {
            ck_abort_msg("\"%.*s\" refused", (int)n, in);
        }
        if (la >= n) {
            continue; /* no room smaller than n + 1 would do */
        }
        if (tc__normalize_into(b, la + 1, &lb, in, n, NULL) != TC_OK ||
            la != lb || memcmp(a, b, la + 1) != 0) {
            ck_abort_msg("\"%.*s\": \"%s\" vs \"%s\"", (int)n, in, a, b);
        }
    }
}
END_TEST

/* Every character, alone, between letters, after a letter it may
 * combine with and before a combining mark, folds to a fixed point
 * within the bound; no character decomposes past the library's limits. */
START_TEST(test_idempotent_every_character)
{
    static const unsigned before[] = {'X', 'a', 0x1100, 0xAC00, 0x0B47};
    static const unsigned after[] = {'Y',    0x0301, 0x0345, 0x1161,
                                     0x11A8, 0x3099, 0x0B3E};
    unsigned c, step = tt_under_valgrind() ? 97 : 1;

    for (c = 1; c < 0x110000; c += step) {
        utf8proc_int32_t d[64];
        int bc = UTF8PROC_BOUNDCLASS_START;
        utf8proc_ssize_t r;
        char in[32];
        size_t n, i, bytes = 0, k;

        if (c >= 0xD800 && c <= 0xDFFF) {
            continue;
        }
        /* the limits normalize.h states */
        r = utf8proc_decompose_char((utf8proc_int32_t)c, d, 64,
                                    UTF8PROC_COMPAT | UTF8PROC_COMPOSE |
                                        UTF8PROC_CASEFOLD | UTF8PROC_STABLE,
                                    &bc);
        if (r < 1 || r > TC__NORMALIZE_MAX_DECOMPOSITION) {
            ck_abort_msg("U+%04X: %d code points", c, (int)r);
        }
        for (k = 0; k < (size_t)r; k++) {
            bytes += tc__utf8_encode(in, (unsigned)d[k]);
        }
        n = tc__utf8_encode(in, c);
        if (bytes > tc__normalize_bound(n)) {
            ck_abort_msg("U+%04X: %zu bytes", c, bytes);
        }
        nf_check_idempotent(in, n);
        for (i = 0; i < sizeof(before) / sizeof(before[0]); i++) {
            n = tc__utf8_encode(in, before[i]);
            n += tc__utf8_encode(in + n, c);
            n += tc__utf8_encode(in + n, 'Y');
            nf_check_idempotent(in, n);
        }
        for (i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
            n = tc__utf8_encode(in, 'X');
            n += tc__utf8_encode(in + n, c);
            n += tc__utf8_encode(in + n, after[i]);
            nf_check_idempotent(in, n);
        }
    }
}
END_TEST

/* Random texts from an adversarial mix: spaces of every kind,
 * punctuation, letters that fold or expand, combining marks, Hangul
 * letters, ligatures, fullwidth forms, typographic punctuation, inverted
 * marks (a fixed seed): idempotent, within the bound, trimmed. */
START_TEST(test_idempotent_random)
{
    static const unsigned parts[] = {
        ' ',    ' ',    '\t',   '\n',   0xA0,    0x2003, 0x3000, 0x2028, 0x85,
        '.',    '!',    '?',    ',',    ';',     ':',    '\'',   '"',    '-',
        '+',    'A',    'b',    'Z',    'i',     'I',    's',    'S',    'k',
        '0',    '9',    0xC9,   0x17F,  0x3A3,   0x3C2,  0x3C3,  0x416,  0x1E9E,
        0xDF,   0x130,  0x131,  0x212A, 0x2126,  0x212B, 0xB5,   0x149,  0x1C5,
        0x390,  0x1F0,  0x1FB3, 0x301,  0x300,   0x308,  0x327,  0x323,  0x345,
        0x307,  0x338,  0x1100, 0x1161, 0x11A8,  0x11A7, 0xAC00, 0xD55C, 0x3066,
        0x3099, 0xFB01, 0xFF21, 0xFF1F, 0x338F,  0xBD,   0xB2,   0xFDFA, 0x2019,
        0x2018, 0x201C, 0x201D, 0xAB,   0xBB,    0x2013, 0x2014, 0x2212, 0x2026,
        0x2033, 0xB4,   0xBF,   0xA1,   0x1F355, 0x4F60, 0x200B, 0x0B47, 0x0B3E,
        0xF73,  0x344,  0x1D15E};
    uint64_t s = 12345;
    int round, rounds = tt_under_valgrind() ? 5000 : 200000;

    for (round = 0; round < rounds; round++) {
        char in[256], *a;
        size_t n = 0, la;
        int k, parts_n = (int)(next_rand(&s) % 20);

        for (k = 0; k < parts_n; k++) {
            n += tc__utf8_encode(
                in + n,
                parts[next_rand(&s) % (sizeof(parts) / sizeof(parts[0]))]);
        }
        nf_check_idempotent(in, n);
        a = nf_norm_n(in, n, &la);
        /* no leading or trailing space, no double space */
        if ((la > 0 && (a[0] == ' ' || a[la - 1] == ' ')) || strstr(a, "  ")) {
            ck_abort_msg("\"%.*s\" -> \"%s\"", (int)n, in, a);
        }
        tc_free(a);
    }
}
END_TEST

/* Where no rule of its own applies (no white space, no punctuation it
 * folds or cuts), the form is utf8proc's NFKC with case folding of the
 * text: random letters and the marks that compose with them. */
static int rules_apply(const utf8proc_uint8_t *s, size_t n)
{
    utf8proc_ssize_t i = 0;

    while ((size_t)i < n) {
        utf8proc_int32_t c;

        i += utf8proc_iterate(s + i, (utf8proc_ssize_t)n - i, &c);
        if (c < 0x80 ? strchr(" \t\n\v\f\r.!?,;:", (int)c) != NULL
                     : (c == 0x85 || c == 0xA0 || c == 0x1680 ||
                        (c >= 0x2000 && c <= 0x203A) || c == 0x205F ||
                        c == 0x3000 || c == 0xAB || c == 0xBB || c == 0xBF ||
                        c == 0xA1 || c == 0x2212 || c == 0x11A7)) {
            return 1;
        }
    }
    return 0;
}

START_TEST(test_agrees_with_utf8proc)
{
    static unsigned first[4096], second[2048];
    size_t nf = 0, ns = 0;
    uint64_t s = 7;
    unsigned c;
    int round, rounds = tt_under_valgrind() ? 5000 : 300000, compared = 0;

    /* letters that decompose or fold, and what combines */
    for (c = 0x80; c < 0x30000 && (nf < 4096 || ns < 2048); c++) {
        const utf8proc_property_t *p = utf8proc_get_property((int32_t)c);

        if (p->combining_class != 0 || (c >= 0x1161 && c <= 0x11C2) ||
            p->category == UTF8PROC_CATEGORY_MC) {
            if (ns < 2048) {
                second[ns++] = c;
            }
        } else if ((p->decomp_seqindex != UINT16_MAX ||
                    p->casefold_seqindex != UINT16_MAX ||
                    (c >= 0xAC00 && c < 0xD7A4 && c % 7 == 0)) &&
                   nf < 4096 && (c < 0x3400 || c % 3 == 0)) {
            first[nf++] = c;
        }
    }
    for (round = 0; round < rounds; round++) {
        char in[128], *a;
        utf8proc_uint8_t *r = NULL;
        utf8proc_ssize_t rl;
        size_t n = 0, la;
        int k, parts_n = 1 + (int)(next_rand(&s) % 8);

        for (k = 0; k < parts_n; k++) {
            uint32_t x = next_rand(&s);

            n += tc__utf8_encode(in + n, x % 3 == 0   ? 'A' + x % 26
                                         : x % 3 == 1 ? first[(x >> 4) % nf]
                                                      : second[(x >> 4) % ns]);
        }
        rl = utf8proc_map((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)n, &r,
                          UTF8PROC_COMPAT | UTF8PROC_COMPOSE |
                              UTF8PROC_CASEFOLD | UTF8PROC_STABLE);
        if (rl < 0) {
            ck_abort_msg("utf8proc_map: %s", utf8proc_errmsg(rl));
        }
        if (!rules_apply(r, (size_t)rl) &&
            !rules_apply((const utf8proc_uint8_t *)in, n)) {
            a = nf_norm_n(in, n, &la);
            if (la != (size_t)rl || memcmp(a, r, la) != 0) {
                ck_abort_msg("\"%.*s\" -> \"%s\", utf8proc \"%s\"", (int)n, in,
                             a, r);
            }
            tc_free(a);
            compared++;
        }
        free(r);
    }
    ck_assert_int_gt(compared, rounds / 2);
}
END_TEST

/* The table of one-character forms fills as threads read it. */
static void *normalize_many(void *arg)
{
    static const char *texts[] = {
        "\xc3\x89t\xc3\xa9 \xc3\xa0 Z\xc3\xbcrich \xe2\x80\x94 na\xc3\xafve",
        "\xce\x9a\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xad\xcf\x81\xce\xb1",
        "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, \xd0\x81\xd0\xb6",
        "Vi\xe1\xbb\x87t Nam \xe3\x81\xa7\xe3\x81\x99"};
    static const char *want[] = {
        "\xc3\xa9t\xc3\xa9 \xc3\xa0 z\xc3\xbcrich - na\xc3\xafve",
        "\xce\xba\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xad\xcf\x81\xce\xb1",
        "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82, \xd1\x91\xd0\xb6",
        "vi\xe1\xbb\x87t nam \xe3\x81\xa7\xe3\x81\x99"};
    int i, bad = 0;

    (void)arg;
    for (i = 0; i < 2000; i++) {
        char dst[128];
        size_t n, k = (size_t)i % 4;

        if (tc__normalize_into(dst, sizeof(dst), &n, texts[k], strlen(texts[k]),
                               NULL) != TC_OK ||
            strcmp(dst, want[k]) != 0) {
            bad++;
        }
    }
    return (void *)(intptr_t)bad;
}

START_TEST(test_threads)
{
    pthread_t th[4];
    void *bad;
    int i;

    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_create(&th[i], NULL, normalize_many, NULL), 0);
    }
    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(th[i], &bad), 0);
        ck_assert_ptr_null(bad);
    }
}
END_TEST

/* A long text not all ASCII needs the heap: each allocation failing is
 * TC_ENOMEM and leaks nothing; short ones allocate nothing at all. */
START_TEST(test_out_of_memory)
{
    size_t n = 3000, len = 0, i, outlen;
    char *t = malloc(4 * n + 8), *dst = malloc(4 * n + 8), *out;
    long fail;

    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(dst);
    for (i = 0; i < n; i++) {
        memcpy(t + len, i % 2 ? "a\xcc\x81" : "\xc3\x89", i % 2 ? 3 : 2);
        len += i % 2 ? 3 : 2;
    }
    /* the first `fail` allocations succeed, every later one fails */
    for (fail = 0; fail < 8; fail++) {
        int rc;

        tt_alloc_install(fail + 1, 1);
        rc = tc__normalize_into(dst, 4 * n + 8, &outlen, t, len, NULL);
        ck_assert_msg(rc == TC_OK || rc == TC_ENOMEM, "%ld: %s", fail,
                      tc_error_name(rc));
        ck_assert_int_eq(tt_alloc_live(), 0);
        tt_alloc_install(fail + 1, 1);
        out = NULL;
        rc = tc_text_normalize(&out, &outlen, t, len);
        ck_assert_msg(rc == TC_OK || rc == TC_ENOMEM, "%ld: %s", fail,
                      tc_error_name(rc));
        ck_assert_int_eq(tt_alloc_live(), rc == TC_OK ? 1 : 0);
        ck_assert(rc == TC_OK ? out != NULL : out == NULL);
        tc_free(out);
    }
    /* a short text, accents, marks and all: no allocation */
    tt_alloc_install(1, 1);
    ck_assert_int_eq(tc__normalize_into(dst, 64, &outlen,
                                        "\xc2\xbf"
                                        "Cafe\xcc\x81 \xef\xac\x81n?",
                                        14, NULL),
                     TC_OK);
    ck_assert_str_eq(dst, "caf\xc3\xa9 fin");
    tt_alloc_restore();
    free(t);
    free(dst);
}
END_TEST

void suite_normalize_props(Suite *s)
{
    TCase *tc = tcase_create("normalize_props");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_room);
    tcase_add_test(tc, test_long_texts);
    tcase_add_test(tc, test_ascii_ways_agree);
    tcase_add_test(tc, test_idempotent_every_character);
    tcase_add_test(tc, test_idempotent_random);
    tcase_add_test(tc, test_agrees_with_utf8proc);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_out_of_memory);
    suite_add_tcase(s, tc);
}
