/*
 * normalize.c - the normalized form of a text and its tokens. The rules
 * are deliberately few (trim, collapse white space, simple case folding,
 * drop a trailing run of . ! ? , ; :) so that two texts share a cache
 * entry only when they cannot differ in meaning; the tokenizer splits the
 * normalized text into words and single punctuation characters for the
 * classifier's features.
 */
#include <string.h>

#include "internal.h"
#include "normalize.h"

/*
 * Decodes one UTF-8 character of s[*pos..len), rejecting overlong forms,
 * surrogates and values past U+10FFFF. Returns the code point and
 * advances *pos, or returns UINT32_MAX and leaves *pos alone.
 */
static uint32_t decode(const unsigned char *s, size_t len, size_t *pos)
{
    size_t i = *pos, n, k;
    uint32_t c = s[i];
    unsigned char lo = 0x80, hi = 0xBF;

    if (c < 0x80) {
        *pos = i + 1;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
        c &= 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlong forms */
        hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
        c &= 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF; /* nothing past U+10FFFF */
        c &= 0x07;
    } else {
        return UINT32_MAX;
    }
    if (len - i - 1 < n) {
        return UINT32_MAX;
    }
    for (k = 1; k <= n; k++) {
        unsigned char b = s[i + k];

        if (b < lo || b > hi) {
            return UINT32_MAX;
        }
        lo = 0x80; /* only the second byte has a narrower range */
        hi = 0xBF;
        c = (c << 6) | (b & 0x3F);
    }
    *pos = i + 1 + n;
    return c;
}

static size_t encode(char *d, uint32_t c)
{
    if (c < 0x80) {
        d[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        d[0] = (char)(0xC0 | (c >> 6));
        d[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        d[0] = (char)(0xE0 | (c >> 12));
        d[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        d[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (c >> 18));
    d[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    d[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

uint32_t tc__utf8_next(const char *s, size_t *pos)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = *pos;
    uint32_t c = u[i];

    if (c < 0x80) {
        *pos = i + 1;
        return c;
    }
    if (c < 0xE0) {
        *pos = i + 2;
        return ((c & 0x1F) << 6) | (u[i + 1] & 0x3F);
    }
    if (c < 0xF0) {
        *pos = i + 3;
        return ((c & 0x0F) << 12) | ((uint32_t)(u[i + 1] & 0x3F) << 6) |
               (u[i + 2] & 0x3F);
    }
    *pos = i + 4;
    return ((c & 0x07) << 18) | ((uint32_t)(u[i + 1] & 0x3F) << 12) |
           ((uint32_t)(u[i + 2] & 0x3F) << 6) | (u[i + 3] & 0x3F);
}

int tc__utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t pos = 0;

    while (pos < len) {
        uint32_t c = decode(u, len, &pos);

        if (c == UINT32_MAX || c == 0) {
            return 0;
        }
    }
    return 1;
}

/* Unicode White_Space. */
static int is_space(uint32_t c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Capitals whose lowercase letter is the next code point. */
static int even_pair(uint32_t c, uint32_t lo, uint32_t hi)
{
    return c >= lo && c <= hi && (c & 1) == (lo & 1);
}

/*
 * Simple case folding (Unicode CaseFolding.txt, status C and S) of the
 * Latin, Greek and Cyrillic letters; other scripts are left as they are.
 * Every mapping goes to a character that folds to itself, so folding is
 * idempotent, and to one of no more UTF-8 bytes, so the normalized form
 * fits in its input's buffer. U+0130 (capital I with dot) has no simple
 * folding and is kept.
 */
static uint32_t fold(uint32_t c)
{
    if (c < 0x80) {
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    }
    if (c < 0x100) {
        if (c == 0xB5) {
            return 0x3BC; /* micro sign -> mu */
        }
        return c >= 0xC0 && c <= 0xDE && c != 0xD7 ? c + 32 : c;
    }
    if (c < 0x180) {
        if (c == 0x178) {
            return 0xFF;
        }
        if (c == 0x17F) {
            return 's'; /* long s */
        }
        if (even_pair(c, 0x100, 0x12E) || even_pair(c, 0x132, 0x136) ||
            even_pair(c, 0x139, 0x147) || even_pair(c, 0x14A, 0x176) ||
            even_pair(c, 0x179, 0x17D)) {
            return c + 1;
        }
        return c;
    }
    if (c < 0x250) {
        switch (c) {
        case 0x1C4:
        case 0x1C5:
            return 0x1C6;
        case 0x1C7:
        case 0x1C8:
            return 0x1C9;
        case 0x1CA:
        case 0x1CB:
            return 0x1CC;
        case 0x1F1:
        case 0x1F2:
            return 0x1F3;
        case 0x1F4:
            return 0x1F5;
        default:
            break;
        }
        if (even_pair(c, 0x1CD, 0x1DB) || even_pair(c, 0x1DE, 0x1EE) ||
            even_pair(c, 0x1F8, 0x21E) || even_pair(c, 0x222, 0x232) ||
            even_pair(c, 0x246, 0x24E)) {
            return c + 1;
        }
        return c;
    }
    if (c >= 0x370 && c < 0x400) {
        static const uint16_t from[] = {
            0x370, 0x372, 0x376, 0x37F, 0x386, 0x38C, 0x38E, 0x38F,
            0x3C2, 0x3CF, 0x3D0, 0x3D1, 0x3D5, 0x3D6, 0x3F0, 0x3F1,
            0x3F4, 0x3F5, 0x3F7, 0x3F9, 0x3FA, 0x3FD, 0x3FE, 0x3FF};
        static const uint16_t to[] = {0x371, 0x373, 0x377, 0x3F3, 0x3AC, 0x3CC,
                                      0x3CD, 0x3CE, 0x3C3, 0x3D7, 0x3B2, 0x3B8,
                                      0x3C6, 0x3C0, 0x3BA, 0x3C1, 0x3B8, 0x3B5,
                                      0x3F8, 0x3F2, 0x3FB, 0x37B, 0x37C, 0x37D};
        size_t i;

        if (c >= 0x388 && c <= 0x38A) {
            return c + 37;
        }
        if ((c >= 0x391 && c <= 0x3A1) || (c >= 0x3A3 && c <= 0x3AB)) {
            return c + 32;
        }
        if (even_pair(c, 0x3D8, 0x3EE)) {
            return c + 1;
        }
        for (i = 0; i < sizeof(from) / sizeof(from[0]); i++) {
            if (c == from[i]) {
                return to[i];
            }
        }
        return c;
    }
    if (c >= 0x400 && c < 0x530) {
        if (c < 0x410) {
            return c + 80;
        }
        if (c < 0x430) {
            return c + 32;
        }
        if (c == 0x4C0) {
            return 0x4CF;
        }
        if (even_pair(c, 0x460, 0x480) || even_pair(c, 0x48A, 0x4BE) ||
            even_pair(c, 0x4C1, 0x4CD) || even_pair(c, 0x4D0, 0x52E)) {
            return c + 1;
        }
        return c;
    }
    if (c >= 0x1E00 && c < 0x1F00) {
        if (c == 0x1E9E) {
            return 0xDF; /* capital sharp s */
        }
        if (even_pair(c, 0x1E00, 0x1E94) || even_pair(c, 0x1EA0, 0x1EFE)) {
            return c + 1;
        }
        return c;
    }
    switch (c) {
    case 0x2126:
        return 0x3C9; /* ohm sign -> omega */
    case 0x212A:
        return 'k'; /* kelvin sign */
    case 0x212B:
        return 0xE5; /* angstrom sign */
    default:
        break;
    }
    return c >= 0xFF21 && c <= 0xFF3A ? c + 32 : c; /* fullwidth A-Z */
}

/* The characters a trailing run of which is dropped; all ASCII. */
static int is_trailing_punct(char c)
{
    return c == '.' || c == '!' || c == '?' || c == ',' || c == ';' || c == ':';
}

int tc__normalize_into(char *dst, size_t *dstlen, const char *text, size_t len,
                       size_t *bad_at)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t pos = 0, n = 0, keep;
    int space = 0;

    *dstlen = 0;
    dst[0] = '\0';
    while (pos < len) {
        size_t at = pos;
        uint32_t c;

        /* ASCII, most of any text, skips the decoder and the fold table */
        if (u[pos] - 1u < 0x7Fu) {
            unsigned char a = u[pos++];

            if (a == ' ' || (a >= '\t' && a <= '\r')) {
                space = n > 0;
                continue;
            }
            if (space) {
                dst[n++] = ' ';
                space = 0;
            }
            dst[n++] = (char)(a >= 'A' && a <= 'Z' ? a + 32 : a);
            continue;
        }
        c = decode(u, len, &pos);

        if (c == UINT32_MAX || c == 0) {
            /* NUL is refused too: no C string could carry the text. */
            if (bad_at) {
                *bad_at = at;
            }
            return TC_EINVAL;
        }
        if (is_space(c)) {
            space = n > 0;
            continue;
        }
        if (space) {
            dst[n++] = ' ';
            space = 0;
        }
        n += encode(dst + n, fold(c));
    }
    /*
     * Drop the trailing run of . ! ? , ; : (with spaces among them), but
     * never the whole text: "?" alone stays "?", since nothing would be
     * left to carry its meaning.
     */
    keep = n;
    while (keep > 0 &&
           (is_trailing_punct(dst[keep - 1]) || dst[keep - 1] == ' ')) {
        keep--;
    }
    if (keep > 0) {
        n = keep;
    }
    dst[n] = '\0';
    *dstlen = n;
    return TC_OK;
}

/*
 * Punctuation for the tokenizer: ASCII punctuation and the common Unicode
 * quotes, dashes and marks, so "what's" and "what’s" tokenize alike.
 */
static int is_punct(uint32_t c)
{
    if (c < 0x80) {
        return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
               (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
    }
    return c == 0xA1 || c == 0xAB || c == 0xBB || c == 0xBF ||
           (c >= 0x2010 && c <= 0x2027) || (c >= 0x3001 && c <= 0x3003);
}

int tc__token_next(const char *s, size_t len, size_t *pos, size_t *start,
                   size_t *toklen)
{
    size_t i = *pos, at;
    uint32_t c;

    while (i < len && s[i] == ' ') {
        i++;
    }
    if (i >= len) {
        *pos = len;
        return 0;
    }
    at = i;
    c = tc__utf8_next(s, &i);
    if (!is_punct(c)) {
        while (i < len && s[i] != ' ') {
            size_t j = i;

            if (is_punct(tc__utf8_next(s, &j))) {
                break;
            }
            i = j;
        }
    }
    *start = at;
    *toklen = i - at;
    *pos = i;
    return 1;
}

TC_API int tc_text_normalize(char **out, size_t *outlen, const char *text,
                             size_t len)
{
    char *buf;
    size_t n, bad;
    int rc;

    if (out) {
        *out = NULL;
    }
    if (outlen) {
        *outlen = 0;
    }
    tc__clear(NULL);
    if (!out || (!text && len)) {
        return tc__fail(NULL, TC_EINVAL, "NULL argument");
    }
    if (len == SIZE_MAX) {
        return tc__fail(NULL, TC_EINVAL, "text too long");
    }
    buf = tc__malloc(len + 1);
    if (!buf) {
        return tc__fail(NULL, TC_ENOMEM, "out of memory");
    }
    rc = tc__normalize_into(buf, &n, text ? text : "", len, &bad);
    if (rc != TC_OK) {
        tc__free(buf);
        return tc__fail(NULL, rc, "byte %zu: %s", bad,
                        text[bad] ? "invalid UTF-8" : "NUL character");
    }
    *out = buf;
    if (outlen) {
        *outlen = n;
    }
    return TC_OK;
}
