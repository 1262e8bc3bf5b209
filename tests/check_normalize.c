/*
 * check_normalize.c - text normalization and the tokenizer. Each rule
 * (NFKC with full case folding, typographic punctuation as ASCII, trim,
 * collapse white space, trailing . ! ? , ; :, leading inverted ? !) is
 * shown to apply, and everything that could change a meaning (inner and
 * leading ASCII punctuation, digits, "C++", apostrophes, accents, emoji)
 * to be left alone; invalid UTF-8 and NUL are refused at their offset;
 * a buffer too small is reported, never overrun; normalizing twice
 * changes nothing, for every character and for random texts; and the
 * result agrees with utf8proc's own NFKC with case folding.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "base/internal.h"
#include "base/normalize.h"
#include "suites.h"

/*
 * The normalized form of text[0..len); the caller frees it. Loops of
 * millions call this: it checks with if, since every passing ck_assert
 * writes its place to Check's log.
 */
static char *norm_n(const char *text, size_t len, size_t *outlen)
{
    char *out = NULL;
    size_t n = 99;
    int rc = tc_text_normalize(&out, &n, text, len);

    if (rc != TC_OK || n != strlen(out)) {
        ck_abort_msg("normalize \"%.*s\": %s", (int)len, text,
                     tc_error_name(rc));
    }
    if (outlen) {
        *outlen = n;
    }
    return out;
}

static char *norm(const char *text)
{
    return norm_n(text, strlen(text), NULL);
}

static void expect(const char *text, const char *want)
{
    char *got = norm(text);

    ck_assert_msg(strcmp(got, want) == 0, "\"%s\" -> \"%s\", want \"%s\"", text,
                  got, want);
    tc_free(got);
}

static void expect_same(const char *a, const char *b)
{
    char *x = norm(a), *y = norm(b);

    ck_assert_msg(strcmp(x, y) == 0, "\"%s\" -> \"%s\" but \"%s\" -> \"%s\"", a,
                  x, b, y);
    tc_free(x);
    tc_free(y);
}

static void expect_differ(const char *a, const char *b)
{
    char *x = norm(a), *y = norm(b);

    ck_assert_msg(strcmp(x, y) != 0, "\"%s\" and \"%s\" share \"%s\"", a, b, x);
    tc_free(x);
    tc_free(y);
}

/* Normalizing text[0..n) twice gives what once gives. */
static void check_idempotent(const char *in, size_t n)
{
    char *a, *b;
    size_t la, lb;

    a = norm_n(in, n, &la);
    if (la > tc__normalize_bound(n)) {
        ck_abort_msg("%zu bytes grew to %zu", n, la);
    }
    b = norm_n(a, la, &lb);
    if (la != lb || memcmp(a, b, la) != 0) {
        char hex[3 * 256 + 1];
        size_t i, h = 0;

        for (i = 0; i < n && i < 256; i++) {
            h += (size_t)snprintf(hex + h, sizeof(hex) - h, "%02x ",
                                  (unsigned char)in[i]);
        }
        ck_abort_msg("not idempotent: %s-> \"%s\" -> \"%s\"", hex, a, b);
    }
    tc_free(a);
    tc_free(b);
}

/* A small generator with a fixed seed. */
static uint32_t next_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

static int under_valgrind(void)
{
    return getenv("TC_VALGRIND") != NULL;
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
        out = norm(in);
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
        got = norm(in);
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
    want = norm_n(big, 1800, &n);
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
    out = norm_n(t, len, &outlen);
    ck_assert_uint_eq(outlen, len - 1); /* a space last */
    ck_assert(memcmp(out, "\xc3\xa9\xc3\xa9", 4) == 0);
    check_idempotent(t, len);
    tc_free(out);
    /* "a" and 20000 combining marks of two classes, alternating: sorted
     * stably by class, as utf8proc's own (quadratic) NFKC_Casefold does */
    len = 0;
    t[len++] = 'a';
    for (i = 0; i < n; i++) {
        memcpy(t + len, i % 2 ? "\xcc\x81" : "\xcc\x96", 2); /* 230, 220 */
        len += 2;
    }
    out = norm_n(t, len, &outlen);
    rl = utf8proc_map((const utf8proc_uint8_t *)t, (utf8proc_ssize_t)len, &r,
                      UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD |
                          UTF8PROC_STABLE);
    ck_assert_int_gt(rl, 0);
    ck_assert_uint_eq(outlen, (size_t)rl);
    ck_assert(memcmp(out, r, outlen) == 0);
    free(r);
    check_idempotent(t, len);
    tc_free(out);
    /* a short run among them, on the stack */
    ref = norm("a\xcc\x81\xcc\x96\xcc\x81\xcc\x96");
    ck_assert_str_eq(ref, "\xc3\xa1\xcc\x96\xcc\x96\xcc\x81"
                          "");
    tc_free(ref);
    free(t);
}
END_TEST

/* The ASCII way and the Unicode way agree on ASCII texts: a room of the
 * exact length sends a text that shrinks the Unicode way. */
START_TEST(test_ascii_ways_agree)
{
    static const char alphabet[] = " \t\n.!?,;:'\"-+()aAbBzZ09";
    uint64_t s = 99;
    int round, rounds = under_valgrind() ? 2000 : 50000;

    for (round = 0; round < rounds; round++) {
        char in[64], a[65], b[65];
        size_t n = next_rand(&s) % 40, i, la, lb;

        for (i = 0; i < n; i++) {
            in[i] = alphabet[next_rand(&s) % (sizeof(alphabet) - 1)];
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
    unsigned c, step = under_valgrind() ? 97 : 1;

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
        check_idempotent(in, n);
        for (i = 0; i < sizeof(before) / sizeof(before[0]); i++) {
            n = tc__utf8_encode(in, before[i]);
            n += tc__utf8_encode(in + n, c);
            n += tc__utf8_encode(in + n, 'Y');
            check_idempotent(in, n);
        }
        for (i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
            n = tc__utf8_encode(in, 'X');
            n += tc__utf8_encode(in + n, c);
            n += tc__utf8_encode(in + n, after[i]);
            check_idempotent(in, n);
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
    int round, rounds = under_valgrind() ? 5000 : 200000;

    for (round = 0; round < rounds; round++) {
        char in[256], *a;
        size_t n = 0, la;
        int k, parts_n = (int)(next_rand(&s) % 20);

        for (k = 0; k < parts_n; k++) {
            n += tc__utf8_encode(
                in + n,
                parts[next_rand(&s) % (sizeof(parts) / sizeof(parts[0]))]);
        }
        check_idempotent(in, n);
        a = norm_n(in, n, &la);
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
    int round, rounds = under_valgrind() ? 5000 : 300000, compared = 0;

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
            a = norm_n(in, n, &la);
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

/* An allocator that fails from the n-th call on, and counts. */
static long alloc_left;
static long alloc_live;

static void *failing_malloc(size_t n)
{
    void *p;

    if (alloc_left-- <= 0) {
        return NULL;
    }
    p = malloc(n);
    alloc_live += p != NULL;
    return p;
}

static void *failing_realloc(void *p, size_t n)
{
    if (alloc_left-- <= 0) {
        return NULL;
    }
    if (!p) {
        alloc_live++;
    }
    return realloc(p, n);
}

static void counting_free(void *p)
{
    alloc_live -= p != NULL;
    free(p);
}

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
    tc_set_allocator(failing_malloc, failing_realloc, counting_free);
    for (fail = 0; fail < 8; fail++) {
        int rc;

        alloc_left = fail;
        alloc_live = 0;
        rc = tc__normalize_into(dst, 4 * n + 8, &outlen, t, len, NULL);
        ck_assert_msg(rc == TC_OK || rc == TC_ENOMEM, "%ld: %s", fail,
                      tc_error_name(rc));
        ck_assert_int_eq(alloc_live, 0);
        alloc_left = fail;
        out = NULL;
        rc = tc_text_normalize(&out, &outlen, t, len);
        ck_assert_msg(rc == TC_OK || rc == TC_ENOMEM, "%ld: %s", fail,
                      tc_error_name(rc));
        ck_assert_int_eq(alloc_live, rc == TC_OK ? 1 : 0);
        ck_assert(rc == TC_OK ? out != NULL : out == NULL);
        tc_free(out);
    }
    /* a short text, accents, marks and all: no allocation */
    alloc_left = 0;
    ck_assert_int_eq(tc__normalize_into(dst, 64, &outlen,
                                        "\xc2\xbf"
                                        "Cafe\xcc\x81 \xef\xac\x81n?",
                                        14, NULL),
                     TC_OK);
    ck_assert_str_eq(dst, "caf\xc3\xa9 fin");
    tc_set_allocator(NULL, NULL, NULL);
    free(t);
    free(dst);
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
    tcase_add_test(tc, test_room);
    tcase_add_test(tc, test_long_texts);
    tcase_add_test(tc, test_ascii_ways_agree);
    tcase_add_test(tc, test_idempotent_every_character);
    tcase_add_test(tc, test_idempotent_random);
    tcase_add_test(tc, test_agrees_with_utf8proc);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_out_of_memory);
    tcase_add_test(tc, test_tokens);
    suite_add_tcase(s, tc);
    return s;
}
