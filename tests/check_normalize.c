/*
 * check_normalize.c - text normalization and the tokenizer. Each rule
 * (NFKC with full case folding, typographic punctuation as ASCII, trim,
 * collapse white space, trailing . ! ? , ; :, leading inverted ? !) is
 * shown to apply, and everything that could change a meaning (inner and
 * leading ASCII punctuation, digits, "C++", apostrophes, accents, emoji)
 * to be left alone; invalid UTF-8 and NUL are refused at their offset;
 * a buffer too small is reported, never overrun; normalizing twice
 * changes nothing, for every character and for random texts; and the
 * result agrees with utf8proc's own NFKC with case folding. This file has
 * the rules, invalid input and the tokenizer; check_normalize_props.c the
 * properties over many texts (room, long texts, idempotence, utf8proc,
 * threads, failing allocations).
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "base/internal.h"
#include "base/normalize.h"
#include "normalize_fixture.h"
#include "suites.h"

static void expect(const char *text, const char *want)
{
    char *got = nf_norm(text);

    ck_assert_msg(strcmp(got, want) == 0, "\"%s\" -> \"%s\", want \"%s\"", text,
                  got, want);
    tc_free(got);
}

static void expect_same(const char *a, const char *b)
{
    char *x = nf_norm(a), *y = nf_norm(b);

    ck_assert_msg(strcmp(x, y) == 0, "\"%s\" -> \"%s\" but \"%s\" -> \"%s\"", a,
                  x, b, y);
    tc_free(x);
    tc_free(y);
}

static void expect_differ(const char *a, const char *b)
{
    char *x = nf_norm(a), *y = nf_norm(b);

    ck_assert_msg(strcmp(x, y) != 0, "\"%s\" and \"%s\" share \"%s\"", a, b, x);
    tc_free(x);
    tc_free(y);
}

START_TEST(test_trim_and_collapse)
{
    expect("  hello  ", "hello");
    expect("\t\n hello world \r\n", "hello world");
    expect("a  \t\n\v\f\r  b", "a b");
    expect("", "");
    expect("   ", "");
    expect(" \t\n ", "");
}
END_TEST

/* Every Unicode White_Space character, whether NFKC maps it to a space
 * (U+00A0, U+2000-U+200A, U+202F, U+205F, U+3000) or not (U+0085,
 * U+1680, U+2028, U+2029), is a space; the invisible format characters
 * that are not White_Space are kept. */
START_TEST(test_unicode_spaces)
{
    static const unsigned spaces[] = {
        0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x20,   0x85,   0xA0,   0x1680,
        0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
        0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000};
    size_t i;

    for (i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++) {
        char in[32], *out;
        size_t n = 0;

        n += tc__utf8_encode(in + n, spaces[i]);
        in[n++] = 'a';
        n += tc__utf8_encode(in + n, spaces[i]);
        n += tc__utf8_encode(in + n, spaces[i]);
        in[n++] = 'b';
        n += tc__utf8_encode(in + n, spaces[i]);
        in[n] = '\0';
        out = nf_norm(in);
        ck_assert_msg(strcmp(out, "a b") == 0, "U+%04X: \"%s\"", spaces[i],
                      out);
        tc_free(out);
    }
    /* a mix of them is one space */
    expect("a\xc2\xa0\xe2\x80\x83\xe3\x80\x80\xe2\x80\xa8\t b", "a b");
    /* zero width space, joiner and non-joiner, word joiner, BOM, Mongolian
     * vowel separator: not White_Space, kept */
    expect("a\xe2\x80\x8b"
           "b",
           "a\xe2\x80\x8b"
           "b");
    expect("a\xe2\x80\x8c"
           "b\xe2\x80\x8d"
           "c",
           "a\xe2\x80\x8c"
           "b\xe2\x80\x8d"
           "c");
    expect("a\xe2\x81\xa0"
           "b\xef\xbb\xbf"
           "c",
           "a\xe2\x81\xa0"
           "b\xef\xbb\xbf"
           "c");
    expect("a\xe1\xa0\x8e"
           "b",
           "a\xe1\xa0\x8e"
           "b");
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
    /* full case folding: ß and ẞ are ss, so are "STRASSE" and "Straße" */
    expect("stra\xc3\x9f"
           "e",
           "strasse");
    expect("\xe1\xba\x9e", "ss");
    expect_same("STRASSE", "Stra\xc3\x9f"
                           "e");
    expect_same("GROSS", "gro\xc3\x9f");
    /* Ǆ ǅ ǆ: NFKC spells the digraph out, then it folds */
    expect("\xc7\x84\xc7\x85\xc7\x86", "d\xc5\xbe"
                                       "d\xc5\xbe"
                                       "d\xc5\xbe");
    /* Greek: capital and final sigma both fold to σ */
    expect("\xce\xa3\xce\x91\xce\xa3", "\xcf\x83\xce\xb1\xcf\x83"); /* ΣΑΣ */
    expect("\xcf\x82", "\xcf\x83");
    expect_same("\xce\x9f\xce\x94\xce\x9f\xce\xa3",  /* ΟΔΟΣ */
                "\xce\xbf\xce\xb4\xce\xbf\xcf\x82"); /* οδος */
    expect("\xce\x86\xce\x8f", "\xce\xac\xcf\x8e");  /* Ά Ώ */
    /* ΐ folds to ΐ and composes back to itself */
    expect("\xce\x90", "\xce\x90");
    expect("\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2",
           "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"); /* ПРИВЕТ */
    expect("\xd0\x81\xd0\x84", "\xd1\x91\xd1\x94");             /* Ё Є */
    expect("\xd2\x90", "\xd2\x91");                             /* Ґ */
    /* the signs that are letters in disguise */
    expect("\xe2\x84\xaa", "k");          /* kelvin sign */
    expect_same("5 \xe2\x84\xaa", "5 K"); /* 5 K */
    expect("\xe2\x84\xa6", "\xcf\x89");   /* ohm sign -> ω */
    expect("\xe2\x84\xab", "\xc3\xa5");   /* angstrom sign -> å */
    expect("\xc2\xb5", "\xce\xbc");       /* micro sign -> μ */
    expect("\xc5\x89", "\xca\xbc"
                       "n"); /* ŉ -> ʼn */
    /* Turkish İ folds to i and a combining dot above: not plain i */
    expect("\xc4\xb0stanbul", "i\xcc\x87stanbul");
    expect_differ("\xc4\xb0stanbul", "istanbul");
    expect("\xc4\xb1", "\xc4\xb1"); /* dotless ı stays */
    /* fullwidth letters are their ASCII letters */
    expect("\xef\xbc\xa1\xef\xbd\x82", "ab");
}
END_TEST

/* NFKC: compatibility characters become the characters they stand for,
 * canonical equivalents become one, accents stay. */
START_TEST(test_nfkc)
{
    /* ligatures */
    expect("\xef\xac\x81nd the \xef\xac\x81rst", "find the first"); /* ﬁ */
    expect("\xef\xac\x80 \xef\xac\x83 \xef\xac\x86", "ff ffi st");
    /* fullwidth forms */
    expect("\xef\xbc\xa8\xef\xbd\x8f\xef\xbd\x97\xef\xbc\x9f", "how");
    expect_same("\xef\xbc\xa8\xef\xbd\x85\xef\xbd\x8c\xef\xbd\x8c\xef\xbd"
                "\x8f",
                "hello");
    /* superscripts, subscripts, circled and roman numerals, units */
    expect("x\xc2\xb2 H\xe2\x82\x82O \xc2\xb9\xc2\xb2\xc2\xb3", "x2 h2o 123");
    expect("\xe2\x91\xa0 \xe2\x85\xab", "1 xii"); /* ① Ⅻ */
    expect("5 \xe3\x8e\x8f", "5 kg");             /* ㎏ */
    expect("\xe2\x84\x83", "\xc2\xb0"
                           "c"); /* ℃ -> °c */
    /* ½ is 1, FRACTION SLASH, 2 */
    expect("\xc2\xbd", "1\xe2\x81\x84"
                       "2");
    /* … is three dots, and as such a trailing run */
    expect("wait\xe2\x80\xa6", "wait");
    expect("a\xe2\x80\xa6"
           "b",
           "a...b");
    /* canonical equivalents: e + combining acute is é */
    expect("cafe\xcc\x81", "caf\xc3\xa9");
    expect_same("CAFE\xcc\x81", "caf\xc3\xa9");
    /* marks put in canonical order: q + dot below + dot above, either way */
    expect_same("q\xcc\x87\xcc\xa3", "q\xcc\xa3\xcc\x87");
    /* Hangul letters compose into their syllable */
    expect("\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", "\xed\x95\x9c"); /* 한 */
    expect("\xed\x95\x98\xe1\x86\xab", "\xed\x95\x9c"); /* 하 + ᆫ */
    /* U+11A7 is no trailing consonant: kept, even where composition runs
     * (utf8proc before 2.11.2 would drop it) */
    expect("\xea\xb0\x80\xe1\x86\xa7"
           "e\xcc\x81",
           "\xea\xb0\x80\xe1\x86\xa7\xc3\xa9");
    /* kana with a combining voiced mark is the voiced kana */
    expect("\xe3\x81\xa6\xe3\x82\x99", "\xe3\x81\xa7"); /* て + ゙ -> で */
    /* U+FDFA: 3 bytes, 18 code points, 33 bytes */
    expect("\xef\xb7\xba", "\xd8\xb5\xd9\x84\xd9\x89 \xd8\xa7\xd9\x84\xd9\x84"
                           "\xd9\x87 \xd8\xb9\xd9\x84\xd9\x8a\xd9\x87 \xd9\x88"
                           "\xd8\xb3\xd9\x84\xd9\x85");
    /* accents are meaning: no stripping */
    expect_differ("r\xc3\xa9sum\xc3\xa9", "resume");
    expect_differ("pi\xc3\xb1"
                  "a",
                  "pina");
    expect_differ("a\xc3\xb1o", "ano");
    expect("r\xc3\xa9sum\xc3\xa9", "r\xc3\xa9sum\xc3\xa9");
}
END_TEST

/* Typographic quotes, apostrophes and dashes are their ASCII. */
START_TEST(test_typographic_punctuation)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"\xe2\x80\x98", "'"},            /* ‘ */
        {"\xe2\x80\x99", "'"},            /* ’ */
        {"\xe2\x80\x9a", "'"},            /* ‚ */
        {"\xe2\x80\x9b", "'"},            /* ‛ */
        {"\xe2\x80\xb2", "'"},            /* ′ */
        {"\xe2\x80\xb9", "'"},            /* ‹ */
        {"\xe2\x80\xba", "'"},            /* › */
        {"\xe2\x80\x9c", "\""},           /* “ */
        {"\xe2\x80\x9d", "\""},           /* ” */
        {"\xe2\x80\x9e", "\""},           /* „ */
        {"\xe2\x80\x9f", "\""},           /* ‟ */
        {"\xc2\xab", "\""},               /* « */
        {"\xc2\xbb", "\""},               /* » */
        {"\xe2\x80\xb3", "''"},           /* ″: NFKC makes it ′′ first */
        {"\xe2\x80\xb4", "'''"},          /* ‴ */
        {"\xe2\x80\x90", "-"},            /* ‐ */
        {"\xe2\x80\x91", "-"},            /* ‑ (NFKC: ‐) */
        {"\xe2\x80\x92", "-"},            /* ‒ */
        {"\xe2\x80\x93", "-"},            /* – */
        {"\xe2\x80\x94", "-"},            /* — */
        {"\xe2\x80\x95", "-"},            /* ― */
        {"\xe2\x88\x92", "-"},            /* − */
        {"\xef\xb9\x98", "-"},            /* small em dash (NFKC: —) */
        {"\xef\xbc\x87", "'"},            /* fullwidth apostrophe (NFKC) */
        {"\xef\xbc\x82", "\""},           /* fullwidth quotation mark (NFKC) */
        {"\xe2\x80\xa6", "..."},          /* … (NFKC) */
        {"\xe2\x80\xa5", ".."},           /* ‥ (NFKC) */
        {"\xca\xbc", "\xca\xbc"},         /* ʼ, a letter: kept */
        {"\xe2\x80\xb5", "\xe2\x80\xb5"}, /* ‵ reversed prime: kept */
        {"\xe2\xb8\xba", "\xe2\xb8\xba"}, /* ⸺ two-em dash: kept */
        {"`", "`"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char in[64], want[64], *got;

        /* between letters, where no rule on the ends applies */
        snprintf(in, sizeof(in), "a%sb", cases[i].in);
        snprintf(want, sizeof(want), "a%sb", cases[i].want);
        got = nf_norm(in);
        ck_assert_msg(strcmp(got, want) == 0, "case %zu: \"%s\" -> \"%s\"", i,
                      in, got);
        tc_free(got);
    }
    expect_same("How do I reverse a list\xe2\x80\x99s order",
                "how do I reverse a list's order");
    expect_same("What\xe2\x80\x99s the difference between \xe2\x80\x9c"
                "let\xe2\x80\x9d and \xe2\x80\x9c"
                "const\xe2\x80\x9d?",
                "what's the difference between \"let\" and \"const\"");
    expect_same("\xc2\xab Bonjour \xc2\xbb", "\" bonjour \"");
    expect_same("2010\xe2\x80\x93"
                "2020",
                "2010-2020");
    expect_same("a \xe2\x80\x94 b", "a - b");
    expect_same("\xe2\x88\x92"
                "5 degrees",
                "-5 degrees");
    /* the acute accent U+00B4 is no apostrophe: NFKC makes it a space and
     * a combining acute, kept apart from "it's" */
    expect("it\xc2\xb4s", "it \xcc\x81s");
    expect_differ("it\xc2\xb4s", "it's");
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
    /* fullwidth ones are ASCII by then */
    expect("\xe4\xbb\x80\xe4\xb9\x88\xef\xbc\x9f",
           "\xe4\xbb\x80\xe4\xb9\x88"); /* 什么？ */
}
END_TEST

/* A leading run of ¿ and ¡ goes, like the trailing run of ? and !; in
 * the middle they stay, and leading ASCII punctuation is meaning. */
START_TEST(test_leading_inverted)
{
    expect("\xc2\xbfQu\xc3\xa9 tal?", "qu\xc3\xa9 tal");
    expect("\xc2\xa1Hola!", "hola");
    expect("\xc2\xa1\xc2\xbfQu\xc3\xa9?!", "qu\xc3\xa9");
    expect("  \xc2\xbf \xc2\xa1 hola  ", "hola");
    expect_same("\xc2\xbfHow do I reverse a list?", "how do I reverse a list");
    /* in the middle: kept */
    expect("hola \xc2\xbfqu\xc3\xa9 tal?", "hola \xc2\xbfqu\xc3\xa9 tal");
    expect("s\xc3\xad, \xc2\xa1"
           "claro!",
           "s\xc3\xad, \xc2\xa1"
           "claro");
    /* never the whole text */
    expect("\xc2\xbf", "\xc2\xbf");
    expect("\xc2\xbf\xc2\xa1", "\xc2\xbf\xc2\xa1");
    expect("\xc2\xbf?", "\xc2\xbf");
    expect("\xc2\xa1!", "\xc2\xa1");
    expect("\xc2\xbf ? ", "\xc2\xbf");
    /* leading ASCII punctuation stays */
    expect("-5 degrees", "-5 degrees");
    expect("(a) first", "(a) first");
    expect("?why", "?why");
    expect("...and then", "...and then");
    expect("\xc2\xbf-5?", "-5");
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
    /* words that punctuation or accents tell apart */
    expect("C++", "c++");
    expect("C#", "c#");
    expect("don't stop", "don't stop");
    expect("caf\xc3\xa9", "caf\xc3\xa9");
    /* emoji and other scripts pass through */
    expect("I \xe2\x9d\xa4\xef\xb8\x8f pizza \xf0\x9f\x8d\x95",
           "i \xe2\x9d\xa4\xef\xb8\x8f pizza \xf0\x9f\x8d\x95");
    expect("\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd", "\xf0\x9f\x91\x8d\xf0\x9f\x8f"
                                               "\xbd"); /* skin tone */
    expect("\xe4\xbd\xa0\xe5\xa5\xbd", "\xe4\xbd\xa0\xe5\xa5\xbd");
    expect("\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4",
           "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4"); /* 한국어 */
    /* control characters other than white space are kept */
    expect("a\x01"
           "b\x7f",
           "a\x01"
           "b\x7f");
    expect_differ("C++", "C");
    expect_differ("C#", "C");
    expect_differ("don't", "dont");
    expect_differ("cafe", "caf\xc3\xa9");
    expect_differ("3.14", "314");
    expect_differ("a-b", "a b");
    expect_differ("I \xf0\x9f\x91\x8d", "I \xf0\x9f\x91\x8e");
}
END_TEST

/* A bad byte or a NUL is TC_EINVAL with its offset, whichever way the
 * text goes (ASCII, accented, combining marks, a long text). */
START_TEST(test_invalid_utf8)
{
    static const char *bad[] = {
        "\xff",             /* never valid */
        "abc\x80",          /* lone continuation byte */
        "\xc0\x80",         /* overlong NUL */
        "\xc1\xbf",         /* overlong */
        "\xe0\x80\xaf",     /* overlong */
        "\xf0\x80\x80\xaf", /* overlong */
        "\xed\xa0\x80",     /* surrogate U+D800 */
        "\xed\xbf\xbf",     /* surrogate U+DFFF */
        "\xe2\x82",         /* truncated */
        "x \xf0\x9f\x8d",   /* truncated at the end */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xf5\x80\x80\x80", /* never valid lead byte */
        "\xc3\x28",         /* bad continuation */
        "\xe2\x28\xa1",     /* bad continuation */
        "\xf0\x9f\x28\x95", /* bad continuation */
    };
    static const struct {
        const char *text;
        size_t len, at;
    } where[] = {
        {"abc\x80", 4, 3},
        {"x \xf0\x9f\x8d", 5, 2},
        {"a\0b", 3, 1},
        {"\0", 1, 0},
        {"\xc3\xa9\xff", 3, 2},                  /* after é */
        {"\xc3\xa9\0", 3, 2},                    /* NUL after é */
        {"e\xcc\x81 x \xff", 7, 6},              /* after a combining mark */
        {"e\xcc\x81\0", 4, 3},                   /* NUL after one */
        {"\xc2\xbf\xe2\x80\x99 \xe2\x82", 8, 6}, /* after ¿’ */
        {"ab\xef\xb7\xba\xc0", 6, 5},            /* after U+FDFA */
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
    for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
        char dst[64];
        size_t n = 5, at = 99, cap;

        /* a room of len + 1 (the ASCII way first) and a small one */
        for (cap = where[i].len + 1; cap > 0; cap = cap > 2 ? 2 : 0) {
            ck_assert_int_eq(tc__normalize_into(dst, cap, &n, where[i].text,
                                                where[i].len, &at),
                             TC_EINVAL);
            ck_assert_msg(at == where[i].at, "case %zu: at %zu, want %zu", i,
                          at, where[i].at);
            ck_assert_uint_eq(n, 0);
            ck_assert_int_eq(dst[0], '\0');
        }
        /* bad_at may be NULL */
        ck_assert_int_eq(tc__normalize_into(dst, sizeof(dst), &n, where[i].text,
                                            where[i].len, NULL),
                         TC_EINVAL);
    }
    /* a NUL inside the given length is refused as well */
    {
        char *out = NULL;

        ck_assert_int_eq(tc_text_normalize(&out, NULL, "a\0b", 3), TC_EINVAL);
        ck_assert_ptr_null(out);
    }
    /* a long text goes the heap way: the offset still counts */
    {
        size_t n = 5000, at = 0, len;
        char *t = malloc(2 * n + 2), *dst = malloc(2 * n + 2);

        ck_assert_ptr_nonnull(t);
        ck_assert_ptr_nonnull(dst);
        for (len = 0; len < 2 * n; len += 2) {
            memcpy(t + len, "\xc3\x89", 2); /* É */
        }
        t[len++] = (char)0xff;
        ck_assert_int_eq(tc__normalize_into(dst, 2 * n + 2, &n, t, len, &at),
                         TC_EINVAL);
        ck_assert_uint_eq(at, len - 1);
        free(t);
        free(dst);
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
    ck_assert_int_eq(tc_text_normalize(&out, &len, "\xc3\x89\xc3\x89X", 2),
                     TC_OK);
    ck_assert_str_eq(out, "\xc3\xa9");
    tc_free(out);
    ck_assert_uint_eq(tc__normalize_bound(0), 0);
    ck_assert_uint_eq(tc__normalize_bound(3), 33);
    ck_assert_uint_eq(tc__normalize_bound(SIZE_MAX / 2), SIZE_MAX);
}
END_TEST

/* The tokens of text (normalized first), joined by '|'. */
static void expect_tokens(const char *text, const char *want)
{
    char *n = nf_norm(text), got[512];
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
    expect_tokens("What\xe2\x80\x99s up", "what|'|s|up");
    expect_tokens("C++ vs C#", "c|+|+|vs|c|#");
    expect_tokens("pi = 3.14", "pi|=|3|.|14");
    expect_tokens("(hello), world", "(|hello|)|,|world");
    expect_tokens("\xf0\x9f\x8d\x95pizza caf\xc3\xa9",
                  "\xf0\x9f\x8d\x95pizza|caf\xc3\xa9");
    expect_tokens("\xc2\xbfQu\xc3\xa9 tal?", "qu\xc3\xa9|tal");
    expect_tokens("s\xc3\xad, \xc2\xa1"
                  "claro!",
                  "s\xc3\xad|,|\xc2\xa1|claro");
    expect_tokens("\xc2\xab"
                  "Bonjour\xc2\xbb",
                  "\"|bonjour|\"");
    expect_tokens("\xef\xac\x81nd", "find");
    expect_tokens("", "");
    expect_tokens("?", "?");
}
END_TEST

Suite *suite_normalize(void)
{
    Suite *s = suite_create("normalize");
    TCase *tc = tcase_create("normalize");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_trim_and_collapse);
    tcase_add_test(tc, test_unicode_spaces);
    tcase_add_test(tc, test_case_fold);
    tcase_add_test(tc, test_nfkc);
    tcase_add_test(tc, test_typographic_punctuation);
    tcase_add_test(tc, test_trailing_punctuation);
    tcase_add_test(tc, test_leading_inverted);
    tcase_add_test(tc, test_what_must_not_change);
    tcase_add_test(tc, test_invalid_utf8);
    tcase_add_test(tc, test_arguments);
    tcase_add_test(tc, test_tokens);
    suite_add_tcase(s, tc);
    suite_normalize_props(s);
    return s;
}
