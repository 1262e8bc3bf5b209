/*
 * normalize.c - the normalized form of a text and its tokens. The rules
 * are deliberately few (NFKC and full case folding by utf8proc, typographic
 * quotes and dashes as ASCII, trim and collapse white space, drop a
 * trailing run of . ! ? , ; : and a leading run of inverted ? !) so that
 * two texts share a cache entry only when they cannot differ in meaning;
 * the tokenizer splits the normalized text into words and single
 * punctuation characters for the classifier's features.
 *
 * Normalization is on the cache-hit path of every classification, so it
 * takes the cheapest way a text allows. An ASCII text, most of them, never
 * reaches utf8proc: a table lookup per byte does it. Another is mapped in
 * one pass, character by character, into code points on the stack, most
 * accented letters by a table filled from utf8proc on first use; only a
 * text with combining characters is decomposed whole, put in canonical
 * order and composed again. The heap serves texts of more than about a
 * thousand bytes.
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/internal.h"
#include "base/nfkc.h"
#include "base/normalize.h"

/*
 * Decodes one UTF-8 character of s[*pos..len), rejecting overlong forms,
 * surrogates and values past U+10FFFF. Returns the code point and
 * advances *pos, or returns UINT32_MAX and leaves *pos alone.
 */
static inline uint32_t decode(const unsigned char *s, size_t len, size_t *pos)
{
    size_t i = *pos, left = len - i;
    uint32_t c = s[i], b1, b2, b3;

    if (c < 0x80) {
        *pos = i + 1;
        return c;
    }
    if (c < 0xC2 || left < 2 || ((b1 = s[i + 1]) & 0xC0) != 0x80) {
        return UINT32_MAX;
    }
    if (c < 0xE0) {
        *pos = i + 2;
        return ((c & 0x1F) << 6) | (b1 & 0x3F);
    }
    if (left < 3 || ((b2 = s[i + 2]) & 0xC0) != 0x80) {
        return UINT32_MAX;
    }
    if (c < 0xF0) {
        c = ((c & 0x0F) << 12) | ((b1 & 0x3F) << 6) | (b2 & 0x3F);
        if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF)) {
            return UINT32_MAX; /* overlong, or a surrogate */
        }
        *pos = i + 3;
        return c;
    }
    if (c > 0xF4 || left < 4 || ((b3 = s[i + 3]) & 0xC0) != 0x80) {
        return UINT32_MAX;
    }
    c = ((c & 0x07) << 18) | ((b1 & 0x3F) << 12) | ((b2 & 0x3F) << 6) |
        (b3 & 0x3F);
    if (c < 0x10000 || c > 0x10FFFF) {
        return UINT32_MAX; /* overlong, or past U+10FFFF */
    }
    *pos = i + 4;
    return c;
}

size_t tc__utf8_encode(char *d, uint32_t c)
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
static inline int is_space(uint32_t c)
{
    return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* The characters a trailing run of which is dropped (all ASCII). */
static int is_trailing_punct(uint32_t c)
{
    return c == '.' || c == '!' || c == '?' || c == ',' || c == ';' || c == ':';
}

/* The characters a leading run of which is dropped: inverted ? and !. */
static int is_leading_punct(uint32_t c)
{
    return c == 0xBF || c == 0xA1;
}

/*
 * Typographic quotes, apostrophes and dashes as the ASCII that keyboards
 * type for them, applied after NFKC. NFKC has by then turned U+2011 into
 * U+2010, U+2026 into "...", U+2033 (double prime) into two U+2032 and the
 * fullwidth forms into ASCII, so those need no entry. Guillemets are the
 * quotation marks of French, Spanish, German and Russian text and fold
 * like the English ones.
 */
static inline uint32_t fold_punct(uint32_t c)
{
    if (c < 0xAB || (c > 0xBB && c < 0x2010) || c > 0x2212) {
        return c;
    }
    switch (c) {
    case 0x2018: /* left single quotation mark */
    case 0x2019: /* right single quotation mark, the apostrophe */
    case 0x201A: /* single low-9 quotation mark */
    case 0x201B: /* single high-reversed-9 quotation mark */
    case 0x2032: /* prime */
    case 0x2039: /* single left-pointing angle quotation mark */
    case 0x203A: /* single right-pointing angle quotation mark */
        return '\'';
    case 0xAB:   /* left-pointing double angle quotation mark */
    case 0xBB:   /* right-pointing double angle quotation mark */
    case 0x201C: /* left double quotation mark */
    case 0x201D: /* right double quotation mark */
    case 0x201E: /* double low-9 quotation mark */
    case 0x201F: /* double high-reversed-9 quotation mark */
        return '"';
    case 0x2010: /* hyphen */
    case 0x2012: /* figure dash */
    case 0x2013: /* en dash */
    case 0x2014: /* em dash */
    case 0x2015: /* horizontal bar */
    case 0x2212: /* minus sign */
        return '-';
    default:
        return c;
    }
}

/*
 * ASCII's normal form, byte by byte: the lowercase letter, or the byte
 * itself, or 0 for white space, NUL and the bytes of longer characters,
 * which the callers tell apart.
 */
#define LOWER(c)                                                               \
    ((c) == 0 || (c) >= 0x80 || (c) == ' ' || ((c) >= '\t' && (c) <= '\r') ? 0 \
     : (c) >= 'A' && (c) <= 'Z' ? (c) | 0x20                                   \
                                : (c))
#define LOWER4(c) LOWER(c), LOWER((c) + 1), LOWER((c) + 2), LOWER((c) + 3)
#define LOWER16(c) LOWER4(c), LOWER4((c) + 4), LOWER4((c) + 8), LOWER4((c) + 12)
#define LOWER64(c)                                                             \
    LOWER16(c), LOWER16((c) + 16), LOWER16((c) + 32), LOWER16((c) + 48)

static const unsigned char ascii_lower[256] = {LOWER64(0), LOWER64(64),
                                               LOWER64(128), LOWER64(192)};

/* ---- ASCII ----------------------------------------------------------- */

/*
 * Most texts are ASCII, where NFKC and case folding come down to A-Z, so
 * a table lookup per byte does it and utf8proc is never called. Writes
 * the form of u[0..len) to dst, which holds len + 1 bytes (the form of an
 * ASCII text is never longer). A run of white space becomes one space at
 * once; the trailing space and the trailing run of . ! ? , ; : are cut at
 * the end. Returns TC_OK; TC_EINVAL for a NUL (at *bad_at); or, at the
 * first byte past ASCII, NOT_ASCII with *stop at it and dst[0..*dstlen)
 * the form of the text before it, a space last for a pending one.
 */
#define NOT_ASCII 1
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS (ONES * 0x80)
#define LOWS (ONES * 0x7F)

/* 0x80 in each byte of w that is zero, nothing elsewhere (exact, unlike
 * the shorter test of whether there is one). */
static inline uint64_t zero_bytes(uint64_t w)
{
    return ~(((w & LOWS) + LOWS) | w | LOWS);
}

/*
 * Eight bytes at once, when they need nothing but A-Z lowered: printable
 * ASCII (no control, so no white space but ' ' and no NUL), no two spaces
 * in a row, none first after a space or at the start. Returns 0 when the
 * word needs the byte loop. Most of a typed text goes this way, which
 * makes its normalization a third of the byte loop's instructions.
 */
static inline int ascii_word(char *dst, size_t n, const unsigned char *u)
{
    uint64_t w, sp, low, up;

    memcpy(&w, u, 8);
    /* a byte past ASCII, or one below ' ' */
    if (((w | ~((w & LOWS) + ONES * (0x80 - ' '))) & HIGHS) != 0) {
        return 0;
    }
    sp = zero_bytes(w ^ (ONES * ' '));
    if ((sp & (sp >> 8)) || ((sp & 0x80) && (n == 0 || dst[n - 1] == ' '))) {
        return 0;
    }
    low = w; /* no high bit: the sums below carry into no other byte */
    up = (low + ONES * (0x80 - 'A')) & ~(low + ONES * (0x80 - 'Z' - 1)) & HIGHS;
    w |= up >> 2;
    memcpy(dst + n, &w, 8);
    return 1;
}

#if defined(__SSE2__)
/*
 * ascii_word for sixteen bytes at once, with SSE2 (every x86-64 has it):
 * the same tests and the same lowering, in about a third of the
 * instructions per byte. Signed compares: a byte past ASCII is negative,
 * so "below ' '" catches it too, as the test of ascii_word does.
 */
static inline int ascii_word16(char *dst, size_t n, const unsigned char *u)
{
    __m128i w = _mm_loadu_si128((const __m128i *)(const void *)u);
    __m128i up;
    unsigned sp;

    if (_mm_movemask_epi8(_mm_cmplt_epi8(w, _mm_set1_epi8(' '))) != 0) {
        return 0;
    }
    sp = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(w, _mm_set1_epi8(' ')));
    if ((sp & (sp >> 1)) || ((sp & 1) && (n == 0 || dst[n - 1] == ' '))) {
        return 0;
    }
    up = _mm_and_si128(_mm_cmpgt_epi8(w, _mm_set1_epi8('A' - 1)),
                       _mm_cmplt_epi8(w, _mm_set1_epi8('Z' + 1)));
    w = _mm_or_si128(w, _mm_and_si128(up, _mm_set1_epi8(0x20)));
    _mm_storeu_si128((__m128i *)(void *)(dst + n), w);
    return 1;
}
#define WIDE 16
#else
#define ascii_word16 ascii_word
#define WIDE 8
#endif

static int ascii_into(char *dst, size_t *dstlen, size_t *stop,
                      const unsigned char *u, size_t len, size_t *bad_at)
{
    size_t i, n = 0, keep;

    for (i = 0; i < len; i++) {
        unsigned char c, l;

        /* dst + n has room for WIDE: n <= i, and dst holds len + 1 bytes */
        while (i + WIDE <= len && ascii_word16(dst, n, u + i)) {
            i += WIDE;
            n += WIDE;
        }
        while (i + 8 <= len && ascii_word(dst, n, u + i)) {
            i += 8;
            n += 8;
        }
        if (i == len) {
            break;
        }
        c = u[i];
        l = ascii_lower[c];

        if (l) {
            dst[n++] = (char)l;
        } else if (c == ' ' || (c >= '\t' && c <= '\r')) {
            if (n > 0 && dst[n - 1] != ' ') {
                dst[n++] = ' ';
            }
        } else if (c == 0) {
            *bad_at = i;
            return TC_EINVAL;
        } else {
            *stop = i;
            *dstlen = n;
            return NOT_ASCII;
        }
    }
    if (n > 0 && dst[n - 1] == ' ') {
        n--;
    }
    /* the trailing run of punctuation, but never the whole text */
    for (keep = n;
         keep > 0 && (is_trailing_punct((unsigned char)dst[keep - 1]) ||
                      dst[keep - 1] == ' ');
         keep--) {
    }
    if (keep > 0) {
        n = keep;
    }
    dst[n] = '\0';
    *dstlen = n;
    return TC_OK;
}

/* ---- Unicode ---------------------------------------------------------- */

#define MAX_DECOMPOSITION TC__NORMALIZE_MAX_DECOMPOSITION
#define MAX_GROWTH TC__NORMALIZE_GROWTH

/*
 * Appends c, a character of NFKC form, to p[0..*n) by the rules after
 * NFKC: typographic punctuation folded, a run of white space one space,
 * none first (*space marks one pending). p has room for two more.
 */
static inline void put(int32_t *p, size_t *n, int *space, uint32_t c)
{
    if (c < 0x80) {
        c = ascii_lower[c];
        if (c == 0) { /* white space: NUL never comes here */
            *space = *n > 0;
            return;
        }
    } else {
        c = fold_punct(c);
        if (is_space(c)) {
            *space = *n > 0;
            return;
        }
    }
    if (*space) {
        p[(*n)++] = ' ';
        *space = 0;
    }
    p[(*n)++] = (int32_t)c;
}

/*
 * The common way for a text that is not all ASCII, in one pass from
 * u[pos] on, after b holds the form of u[0..pos) (space pending in
 * *space): each character mapped to its NFKC case-folded form (ASCII by
 * ascii_lower, most letters with accents by tc__nfkc_form, characters
 * utf8proc leaves alone as they are, the rest by utf8proc_decompose_char)
 * and put in b at once. Returns TC_OK; TC_EINVAL (at *bad_at); TC_ENOMEM;
 * or COMBINING at a character that combines with what precedes it, which
 * needs the long way.
 */
#define COMBINING 2
static int decompose_fast(tc__cps *b, int *space, const unsigned char *u,
                          size_t len, size_t pos, size_t *bad_at)
{
    int32_t *o, d[MAX_DECOMPOSITION];
    size_t n, k;
    int sp = *space, rc = TC_OK;

    /* Room for the rest: an ASCII byte puts at most itself and a space
     * pending from a byte before; a longer character is checked alone. */
    if (tc__cps_reserve(b, b->n + (len - pos) + 1) != TC_OK) {
        return TC_ENOMEM;
    }
    o = b->p;
    n = b->n;
    while (pos < len) {
        size_t at = pos;
        uint32_t c = u[pos], f;
        const utf8proc_property_t *p;
        utf8proc_ssize_t r;
        int boundclass;

        if (c < 0x80) {
            unsigned char l = ascii_lower[c];

            pos++;
            if (l) {
                if (sp) {
                    o[n++] = ' ';
                    sp = 0;
                }
                o[n++] = l;
            } else if (c != 0) {
                sp = n > 0;
            } else {
                *bad_at = at;
                rc = TC_EINVAL;
                break;
            }
            continue;
        }
        c = decode(u, len, &pos);
        if (c == UINT32_MAX) {
            *bad_at = at;
            rc = TC_EINVAL;
            break;
        }
        if (b->cap - n < 2 * MAX_DECOMPOSITION + (len - pos) + 1) {
            b->n = n;
            rc =
                tc__cps_reserve(b, n + 2 * MAX_DECOMPOSITION + (len - pos) + 1);
            if (rc != TC_OK) {
                break;
            }
            o = b->p;
        }
        f = tc__nfkc_form(c);
        if (f & (TC__FORM_OWN | TC__FORM_COMPOSED)) {
            put(o, &n, &sp, f & TC__FORM_CHAR);
            continue;
        }
        p = utf8proc_get_property((int32_t)c);
        if (tc__nfkc_combines((int32_t)c, p)) {
            rc = COMBINING;
            break;
        }
        if (p->decomp_seqindex == UINT16_MAX &&
            p->casefold_seqindex == UINT16_MAX) {
            /* no mapping, and the Hangul syllables, which utf8proc would
             * split into letters and compose again */
            put(o, &n, &sp, c);
            continue;
        }
        boundclass = UTF8PROC_BOUNDCLASS_START;
        r = utf8proc_decompose_char((int32_t)c, d, MAX_DECOMPOSITION,
                                    TC__NFKC_CASEFOLD, &boundclass);
        if (r < 1 || r > MAX_DECOMPOSITION) {
            rc = TC_EINTERNAL;
            break;
        }
        for (k = 0; k < (size_t)r; k++) {
            if (d[k] >= 0x300 &&
                tc__nfkc_combines(d[k], utf8proc_get_property(d[k]))) {
                rc = COMBINING;
                break;
            }
        }
        for (k = 0; rc == TC_OK && k < (size_t)r; k++) {
            put(o, &n, &sp, (uint32_t)d[k]);
        }
        if (rc != TC_OK) {
            break;
        }
    }
    b->n = n;
    *space = sp;
    return rc;
}

/*
 * The long way, for a text with combining characters: each character
 * decomposed by utf8proc (ASCII by hand), the whole put in canonical
 * order and composed, then the rules after NFKC applied in place.
 */
static int decompose_full(tc__cps *b, const unsigned char *u, size_t len,
                          size_t *bad_at)
{
    size_t pos = 0, r, n;
    int space = 0, rc;

    b->n = 0;
    while (pos < len) {
        size_t at = pos;
        uint32_t c = u[pos];
        utf8proc_ssize_t k;
        int boundclass = UTF8PROC_BOUNDCLASS_START;

        if (tc__cps_reserve(b, b->n + MAX_DECOMPOSITION) != TC_OK) {
            return TC_ENOMEM;
        }
        if (c - 1u < 0x7Fu) {
            b->p[b->n++] = (int32_t)(c - 'A' < 26u ? c + 32 : c);
            pos++;
            continue;
        }
        c = decode(u, len, &pos);
        if (c == UINT32_MAX || c == 0) {
            *bad_at = at;
            return TC_EINVAL;
        }
        k = utf8proc_decompose_char((int32_t)c, b->p + b->n, MAX_DECOMPOSITION,
                                    TC__NFKC_CASEFOLD, &boundclass);
        if (k < 1 || k > MAX_DECOMPOSITION) {
            return TC_EINTERNAL;
        }
        b->n += (size_t)k;
    }
    if ((rc = tc__nfkc_compose(b)) != TC_OK) {
        return rc;
    }
    /* in place: put() writes no more than it has read */
    n = b->n;
    b->n = 0;
    for (r = 0; r < n; r++) {
        put(b->p, &b->n, &space, (uint32_t)b->p[r]);
    }
    return TC_OK;
}

/*
 * Cuts b's code points to the normal form (the trailing run of . ! ? , ;
 * : and the leading run of inverted ? and !, each unless nothing else
 * would be left; spaces among them go too) and writes it to dst if it
 * fits in cap bytes with its NUL.
 */
static int write_out(char *dst, size_t cap, size_t *dstlen, const tc__cps *b)
{
    size_t from = 0, to = b->n, i, n = 0;

    while (to > 0 &&
           (is_trailing_punct((uint32_t)b->p[to - 1]) || b->p[to - 1] == ' ')) {
        to--;
    }
    if (to == 0) {
        to = b->n;
    }
    while (from < to &&
           (is_leading_punct((uint32_t)b->p[from]) || b->p[from] == ' ')) {
        from++;
    }
    if (from == to) {
        from = 0;
    }
    if ((to - from) >= cap / 4) { /* it might not fit: count first */
        for (i = from; i < to; i++) {
            uint32_t c = (uint32_t)b->p[i];

            n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        }
        if (n >= cap) {
            *dstlen = n;
            return TC_ETOOBIG;
        }
    }
    for (i = from, n = 0; i < to; i++) {
        uint32_t c = (uint32_t)b->p[i];

        if (c < 0x80) {
            dst[n++] = (char)c;
        } else {
            n += tc__utf8_encode(dst + n, c);
        }
    }
    dst[n] = '\0';
    *dstlen = n;
    return TC_OK;
}

/*
 * The normal form of a text that is not all ASCII. The form of its ASCII
 * start, dst[0..done), is taken over from ascii_into().
 */
static int unicode_into(char *dst, size_t cap, size_t *dstlen, size_t done,
                        size_t stop, const unsigned char *u, size_t len,
                        size_t *bad_at)
{
    tc__cps b;
    size_t i;
    int space = 0, rc;

    tc__cps_init(&b);
    if (done > 0 && dst[done - 1] == ' ') {
        done--;
        space = 1;
    }
    rc = tc__cps_reserve(&b, done);
    if (rc == TC_OK) {
        for (i = 0; i < done; i++) {
            b.p[i] = (unsigned char)dst[i];
        }
        b.n = done;
        rc = decompose_fast(&b, &space, u, len, stop, bad_at);
    }
    if (rc == COMBINING) {
        rc = decompose_full(&b, u, len, bad_at);
    }
    if (rc == TC_OK) {
        rc = write_out(dst, cap, dstlen, &b);
    }
    tc__cps_done(&b);
    return rc;
}

size_t tc__normalize_bound(size_t len)
{
    return len > (SIZE_MAX - 1) / MAX_GROWTH ? SIZE_MAX : len * MAX_GROWTH;
}

int tc__normalize_into(char *dst, size_t cap, size_t *dstlen, const char *text,
                       size_t len, size_t *bad_at)
{
    const unsigned char *u = (const unsigned char *)text;
    size_t bad = 0, done = 0, stop = 0;
    int rc = NOT_ASCII;

    *dstlen = 0;
    if (cap > 0) {
        dst[0] = '\0';
    }
    if (cap > len) {
        rc = ascii_into(dst, &done, &stop, u, len, &bad);
        if (rc == TC_OK) {
            *dstlen = done;
        }
    }
    if (rc == NOT_ASCII) {
        rc = unicode_into(dst, cap, dstlen, done, stop, u, len, &bad);
    }
    if (rc != TC_OK && cap > 0) {
        dst[0] = '\0';
    }
    if (bad_at) {
        *bad_at = bad;
    }
    return rc;
}

/*
 * Punctuation for the tokenizer: ASCII punctuation and the common Unicode
 * quotes, dashes and marks. Normalization has made most of the latter
 * ASCII; those it keeps (¿ and ¡ within a text, ‵, †, •) are tokens of
 * their own all the same.
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

int tc__text_normalize(char **out, size_t *outlen, const char *text, size_t len)
{
    const char *t = text ? text : "";
    char *buf;
    size_t n, bad;
    int rc;

    if (len == SIZE_MAX) {
        return tc__fail(TC_EINVAL, "text too long");
    }
    /* Room for the input's length fits nearly every text; one that NFKC
     * lengthens past it is normalized again into the length it said. */
    buf = tc__malloc(len + 1);
    if (!buf) {
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    rc = tc__normalize_into(buf, len + 1, &n, t, len, &bad);
    if (rc == TC_ETOOBIG) {
        tc__free(buf);
        buf = n < SIZE_MAX ? tc__malloc(n + 1) : NULL;
        if (!buf) {
            return tc__fail(TC_ENOMEM, "out of memory");
        }
        rc = tc__normalize_into(buf, n + 1, &n, t, len, &bad);
    }
    if (rc != TC_OK) {
        tc__free(buf);
    }
    if (rc == TC_EINVAL) {
        return tc__fail(rc, "byte %zu: %s", bad,
                        t[bad] ? "invalid UTF-8" : "NUL character");
    }
    if (rc == TC_ENOMEM) {
        return tc__fail(rc, "out of memory");
    }
    if (rc != TC_OK) { /* the second call has the room the first asked */
        return tc__fail(TC_EINTERNAL, "normal form of %zu bytes", n);
    }
    *out = buf;
    if (outlen) {
        *outlen = n;
    }
    return TC_OK;
}
