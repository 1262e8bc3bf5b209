/*
 * check_normalize.c - text normalization and the tokenizer. Each rule
 * (trim, collapse white space, case folding, trailing . ! ? , ; :) is
 * shown to apply, and everything that could change a meaning (inner
 * punctuation, digits, "C++", apostrophes, accents, emoji) to be left
 * alone; invalid UTF-8 is refused; normalizing twice changes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "normalize.h"
#include "suites.h"

/* The normalized form of a C string; the caller frees it. */
static char *norm(const char *text)
{
    char *out = NULL;
    size_t len = 99;
    int rc = tc_text_normalize(&out, &len, text, strlen(text));

    ck_assert_msg(rc == TC_OK, "normalize \"%s\": %s", text, tc_error_name(rc));
    ck_assert_uint_eq(len, strlen(out));
    return out;
}

static void expect(const char *text, const char *want)
{
    char *got = norm(text);

    ck_assert_msg(strcmp(got, want) == 0, "\"%s\" -> \"%s\", want \"%s\"", text,
                  got, want);
    tc_free(got);
}

static void expect_differ(const char *a, const char *b)
{
    char *x = norm(a), *y = norm(b);

    ck_assert_msg(strcmp(x, y) != 0, "\"%s\" and \"%s\" share \"%s\"", a, b, x);
    tc_free(x);
    tc_free(y);
}

START_TEST(test_trim_and_collapse)
{
    expect("  hello  ", "hello");
    expect("\t\n hello world \r\n", "hello world");
    expect("a  \t\n\v\f\r  b", "a b");
    expect("a\xc2\xa0"
           "b",
           "a b"); /* U+00A0 */
    expect("a\xe2\x80\x83\xe2\x80\xaf"
           "b",
           "a b"); /* U+2003 U+202F */
    expect("\xe3\x80\x80"
           "a\xe3\x80\x80",
           "a"); /* U+3000 */
    expect("a\xc2\x85"
           "b\xe2\x80\xa8"
           "c",
           "a b c"); /* U+0085 U+2028 */
    expect("", "");
    expect("   ", "");
}
END_TEST

START_TEST(test_case_fold)
{
    expect("HeLLo WORLD", "hello world");
    expect("\xc3\x80\xc3\x89\xc3\x8e\xc3\x98\xc3\x9e",
           "\xc3\xa0\xc3\xa9\xc3\xae\xc3\xb8\xc3\xbe"); /* ÀÉÎØÞ */
    expect("\xc3\x97", "\xc3\x97");                     /* × is not a letter */
    expect("\xc5\xb8", "\xc3\xbf");                     /* Ÿ -> ÿ */
    expect("\xc4\x80\xc4\xb9\xc5\xbd", "\xc4\x81\xc4\xba\xc5\xbe"); /* ĀĹŽ */
    expect("\xc5\xbf", "s");                                        /* long s */
    expect("stra\xc3\x9f"
           "e",
           "stra\xc3\x9f"
           "e");                                    /* ß stays */
    expect("\xe1\xba\x9e", "\xc3\x9f");             /* capital ẞ -> ß */
    expect("\xc7\x84\xc7\x85", "\xc7\x86\xc7\x86"); /* Ǆǅ -> ǆǆ */
    expect("\xce\xa3\xce\x91\xce\xa3", "\xcf\x83\xce\xb1\xcf\x83"); /* ΣΑΣ */
    expect("\xcf\x82", "\xcf\x83");                 /* final sigma folds */
    expect("\xce\x86\xce\x8f", "\xce\xac\xcf\x8e"); /* Ά Ώ */
    expect("\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2",
           "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"); /* ПРИВЕТ */
    expect("\xd0\x81\xd0\x84", "\xd1\x91\xd1\x94");             /* Ё Є */
    expect("\xd2\x90", "\xd2\x91");                             /* Ґ */
    expect("\xe2\x84\xaa", "k");            /* kelvin sign */
    expect("\xef\xbc\xa1", "\xef\xbd\x81"); /* fullwidth A */
    /* no simple folding: kept rather than guessed */
    expect("\xc4\xb0stanbul", "\xc4\xb0stanbul");
}
END_TEST

START_TEST(test_trailing_punctuation)
{
    expect("How do I sort a list?", "how do i sort a list");
    expect("hello!!!", "hello");
    expect("hello?!?", "hello");
    expect("wait...", "wait");
    expect("hello ? ! .", "hello");
    expect("first, second;", "first, second");
    expect("note:", "note");
    expect("a,;:", "a");
    /* only the run at the end, and never the whole text */
    expect("?", "?");
    expect("...", "...");
    expect(" ?! ", "?!");
}
END_TEST

START_TEST(test_what_must_not_change)
{
    /* inner punctuation and digits */
    expect("e.g. this, that; or: those", "e.g. this, that; or: those");
    expect("Pi is 3.14159", "pi is 3.14159");
    expect("version 2.0.1 vs 2.0.10", "version 2.0.1 vs 2.0.10");
    expect("-5 degrees", "-5 degrees");
    /* other trailing punctuation is meaning */
    expect("I am happy :)", "i am happy :)");
    expect("say \"hi\"", "say \"hi\"");
    expect("(see above)", "(see above)");
    expect("what is x'", "what is x'");
    /* leading punctuation */
    expect("?why", "?why");
    expect("...and then", "...and then");
    /* words that punctuation or accents tell apart */
    expect("C++", "c++");
    expect("C#", "c#");
    expect("don't stop", "don't stop");
    expect("caf\xc3\xa9", "caf\xc3\xa9");
    /* emoji and other scripts pass through */
    expect("I \xe2\x9d\xa4\xef\xb8\x8f pizza \xf0\x9f\x8d\x95",
           "i \xe2\x9d\xa4\xef\xb8\x8f pizza \xf0\x9f\x8d\x95");
    expect("\xe4\xbd\xa0\xe5\xa5\xbd", "\xe4\xbd\xa0\xe5\xa5\xbd");
    expect_differ("C++", "C");
    expect_differ("C#", "C");
    expect_differ("don't", "dont");
    expect_differ("cafe", "caf\xc3\xa9");
    expect_differ("3.14", "314");
    expect_differ("a-b", "a b");
    expect_differ("I \xf0\x9f\x91\x8d", "I \xf0\x9f\x91\x8e");
}
END_TEST

START_TEST(test_invalid_utf8)
{
    static const char *bad[] = {
        "\xff",             /* never valid */
        "abc\x80",          /* lone continuation byte */
        "\xc0\x80",         /* overlong NUL */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xed\xbf\xbf",     /* surrogate U+DFFF */
        "\xe2\x82",         /* truncated */
        "x \xf0\x9f\x8d",   /* truncated at the end */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xf5\x80\x80\x80", /* never valid lead byte */
        "\xc3\x28",         /* bad continuation */
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = (char *)1;
        size_t len = 7;

        ck_assert_msg(tc_text_normalize(&out, &len, bad[i], strlen(bad[i])) ==
                          TC_EINVAL,
                      "case %zu accepted", i);
        ck_assert_ptr_null(out);
        ck_assert_uint_eq(len, 0);
        ck_assert_uint_eq(tc__utf8_valid(bad[i], strlen(bad[i])), 0);
    }
    /* a NUL inside the given length is refused as well */
    {
        char *out = NULL;

        ck_assert_int_eq(tc_text_normalize(&out, NULL, "a\0b", 3), TC_EINVAL);
        ck_assert_ptr_null(out);
    }
    /* the edges of the valid ranges are accepted */
    expect("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80"
           "\xf4\x8f\xbf\xbf",
           "\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80"
           "\xf4\x8f\xbf\xbf");
}
END_TEST

START_TEST(test_arguments)
{
    char *out = (char *)1;
    size_t len = 5;

    ck_assert_int_eq(tc_text_normalize(NULL, NULL, "a", 1), TC_EINVAL);
    ck_assert_int_eq(tc_text_normalize(&out, &len, NULL, 3), TC_EINVAL);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(tc_text_normalize(&out, NULL, NULL, 0), TC_OK);
    ck_assert_str_eq(out, "");
    tc_free(out);
    /* only len bytes are read */
    ck_assert_int_eq(tc_text_normalize(&out, &len, "ABCDEF", 3), TC_OK);
    ck_assert_str_eq(out, "abc");
    ck_assert_uint_eq(len, 3);
    tc_free(out);
}
END_TEST

/* Every character, alone and between letters, folds to a fixed point of
 * no more bytes: normalizing twice changes nothing. */
START_TEST(test_idempotent_every_character)
{
    unsigned c;

    for (c = 1; c < 0x30000; c++) {
        char in[16], *a, *b;
        size_t n = 0, la, lb;

        if (c >= 0xD800 && c <= 0xDFFF) {
            continue;
        }
        in[n++] = 'X';
        if (c < 0x80) {
            in[n++] = (char)c;
        } else if (c < 0x800) {
            in[n++] = (char)(0xC0 | (c >> 6));
            in[n++] = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            in[n++] = (char)(0xE0 | (c >> 12));
            in[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
            in[n++] = (char)(0x80 | (c & 0x3F));
        } else {
            in[n++] = (char)(0xF0 | (c >> 18));
            in[n++] = (char)(0x80 | ((c >> 12) & 0x3F));
            in[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
            in[n++] = (char)(0x80 | (c & 0x3F));
        }
        in[n++] = 'Y';
        ck_assert_int_eq(tc_text_normalize(&a, &la, in, n), TC_OK);
        ck_assert_msg(la <= n, "U+%04X grew", c);
        ck_assert_int_eq(tc_text_normalize(&b, &lb, a, la), TC_OK);
        ck_assert_msg(la == lb && memcmp(a, b, la) == 0,
                      "U+%04X: not idempotent", c);
        tc_free(a);
        tc_free(b);
    }
}
END_TEST

/* Random texts from a mix of spaces, punctuation, letters of several
 * scripts and emoji (a fixed seed): idempotent, never longer. */
START_TEST(test_idempotent_random)
{
    static const char *parts[] = {" ",
                                  "  ",
                                  "\t",
                                  "\n",
                                  "\xc2\xa0",
                                  ".",
                                  "!",
                                  "?",
                                  ",",
                                  ";",
                                  ":",
                                  "'",
                                  "-",
                                  "+",
                                  "A",
                                  "b",
                                  "Z",
                                  "0",
                                  "9",
                                  "\xc3\x89",
                                  "\xc5\xbf",
                                  "\xce\xa3",
                                  "\xcf\x82",
                                  "\xd0\x96",
                                  "\xe1\xba\x9e",
                                  "\xe2\x84\xaa",
                                  "\xf0\x9f\x8d\x95",
                                  "\xe4\xbd\xa0",
                                  "\xc7\x85",
                                  "\xe2\x80\x83"};
    uint64_t s = 12345;
    int round;

    for (round = 0; round < 20000; round++) {
        char in[256], *a, *b;
        size_t n = 0, la, lb;
        int k, parts_n;

        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        parts_n = (int)((s >> 33) % 24);
        for (k = 0; k < parts_n; k++) {
            const char *p;

            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            p = parts[(s >> 33) % (sizeof(parts) / sizeof(parts[0]))];
            memcpy(in + n, p, strlen(p));
            n += strlen(p);
        }
        ck_assert_int_eq(tc_text_normalize(&a, &la, in, n), TC_OK);
        ck_assert_uint_le(la, n);
        ck_assert_int_eq(tc_text_normalize(&b, &lb, a, la), TC_OK);
        ck_assert_msg(la == lb && memcmp(a, b, la) == 0,
                      "not idempotent: \"%.*s\" -> \"%s\" -> \"%s\"", (int)n,
                      in, a, b);
        /* no leading or trailing space, no double space */
        ck_assert(la == 0 || (a[0] != ' ' && a[la - 1] != ' '));
        ck_assert_ptr_null(strstr(a, "  "));
        tc_free(a);
        tc_free(b);
    }
}
END_TEST

/* The tokens of text (normalized first), joined by '|'. */
static void expect_tokens(const char *text, const char *want)
{
    char *n = norm(text), got[512];
    size_t pos = 0, st, tl, g = 0;

    got[0] = '\0';
    while (tc__token_next(n, strlen(n), &pos, &st, &tl)) {
        if (g) {
            got[g++] = '|';
        }
        memcpy(got + g, n + st, tl);
        g += tl;
        got[g] = '\0';
    }
    ck_assert_msg(strcmp(got, want) == 0, "\"%s\" -> [%s], want [%s]", text,
                  got, want);
    tc_free(n);
}

START_TEST(test_tokens)
{
    expect_tokens("How do I sort a list?", "how|do|i|sort|a|list");
    expect_tokens("Don't stop", "don|'|t|stop");
    expect_tokens("What\xe2\x80\x99s up", "what|\xe2\x80\x99|s|up");
    expect_tokens("C++ vs C#", "c|+|+|vs|c|#");
    expect_tokens("pi = 3.14", "pi|=|3|.|14");
    expect_tokens("(hello), world", "(|hello|)|,|world");
    expect_tokens("\xf0\x9f\x8d\x95pizza caf\xc3\xa9",
                  "\xf0\x9f\x8d\x95pizza|caf\xc3\xa9");
    expect_tokens("\xc2\xbfQu\xc3\xa9 tal?", "\xc2\xbf|qu\xc3\xa9|tal");
    expect_tokens("", "");
    expect_tokens("?", "?");
}
END_TEST

Suite *suite_normalize(void)
{
    Suite *s = suite_create("normalize");
    TCase *tc = tcase_create("normalize");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_trim_and_collapse);
    tcase_add_test(tc, test_case_fold);
    tcase_add_test(tc, test_trailing_punctuation);
    tcase_add_test(tc, test_what_must_not_change);
    tcase_add_test(tc, test_invalid_utf8);
    tcase_add_test(tc, test_arguments);
    tcase_add_test(tc, test_idempotent_every_character);
    tcase_add_test(tc, test_idempotent_random);
    tcase_add_test(tc, test_tokens);
    suite_add_tcase(s, tc);
    return s;
}
