/*
 * nfkc.c - Unicode NFKC with full case folding on code points, by
 * utf8proc: the buffer the code points of a text live in, canonical
 * ordering and composition, and a table of one-character forms that
 * spares most accented letters the round trip through utf8proc's
 * decomposition and composition. normalize.c maps texts with these and
 * applies its own rules on top.
 */
#include <stdatomic.h>
#include <string.h>

#include "base/internal.h"
#include "base/nfkc.h"
#include "base/normalize.h"

void tc__cps_init(tc__cps *b)
{
    b->p = b->stack;
    b->n = 0;
    b->cap = TC__CPS_STACK;
    b->heap = NULL;
}

void tc__cps_done(tc__cps *b)
{
    tc__free(b->heap);
    b->heap = NULL;
}

int tc__cps_reserve(tc__cps *b, size_t need)
{
    size_t cap = b->cap;
    int32_t *p;

    if (need <= cap) {
        return TC_OK;
    }
    if (need > SIZE_MAX / sizeof(int32_t)) {
        return TC_ENOMEM;
    }
    cap =
        cap > SIZE_MAX / sizeof(int32_t) / 2 || 2 * cap < need ? need : 2 * cap;
    p = tc__malloc(cap * sizeof(int32_t));
    if (!p) {
        return TC_ENOMEM;
    }
    memcpy(p, b->p, b->n * sizeof(int32_t));
    tc__free(b->heap);
    b->heap = p;
    b->p = p;
    b->cap = cap;
    return TC_OK;
}

/* The canonical combining class; below U+0300 every character has 0. */
static int ccc(int32_t c)
{
    return c < 0x300 ? 0 : utf8proc_get_property(c)->combining_class;
}

/*
 * Sorts a[0..n), a run of combining marks, by combining class, keeping
 * the order of equal classes (the canonical ordering of Unicode). Short
 * runs, all that real text has, by insertion; a long one, which only a
 * crafted text has, by counting into tmp, so that no text costs
 * quadratic time (utf8proc's own ordering is a bubble sort).
 */
#define SHORT_RUN 32
static void sort_long_run(int32_t *a, size_t n, int32_t *tmp)
{
    size_t i, start[257] = {0};

    for (i = 0; i < n; i++) {
        start[ccc(a[i]) + 1]++;
    }
    for (i = 1; i < 257; i++) {
        start[i] += start[i - 1];
    }
    for (i = 0; i < n; i++) {
        tmp[start[ccc(a[i])]++] = a[i];
    }
    memcpy(a, tmp, n * sizeof(int32_t));
}

static void sort_run(int32_t *a, size_t n)
{
    unsigned char k[SHORT_RUN];
    size_t i, j;

    for (i = 0; i < n; i++) {
        int32_t c = a[i];
        unsigned char kc = (unsigned char)ccc(c);

        for (j = i; j > 0 && k[j - 1] > kc; j--) {
            a[j] = a[j - 1];
            k[j] = k[j - 1];
        }
        a[j] = c;
        k[j] = kc;
    }
}

/* Puts every run of combining marks of b in canonical order. */
static int reorder(tc__cps *b)
{
    size_t i = 0, j;

    while (i < b->n) {
        if (ccc(b->p[i]) == 0) {
            i++;
            continue;
        }
        for (j = i + 1; j < b->n && ccc(b->p[j]) != 0; j++) {
        }
        if (j - i <= SHORT_RUN) {
            sort_run(b->p + i, j - i);
        } else {
            if (tc__cps_reserve(b, b->n + (j - i)) != TC_OK) {
                return TC_ENOMEM;
            }
            sort_long_run(b->p + i, j - i, b->p + b->n);
        }
        i = j;
    }
    return TC_OK;
}

/*
 * Canonical composition by utf8proc, a stretch between two U+11A7 at a
 * time: utf8proc before 2.11.2 takes that jamo, which is no trailing
 * consonant, for one and drops it after a two-letter Hangul syllable. It
 * composes with nothing, so the stretches are independent.
 */
static void compose(tc__cps *b)
{
    size_t r = 0, w = 0;

    while (r < b->n) {
        size_t e = r;
        utf8proc_ssize_t n;

        while (e < b->n && b->p[e] != 0x11A7) {
            e++;
        }
        n = utf8proc_normalize_utf32(b->p + r, (utf8proc_ssize_t)(e - r),
                                     UTF8PROC_COMPOSE | UTF8PROC_STABLE);
        memmove(b->p + w, b->p + r, (size_t)n * sizeof(int32_t));
        w += (size_t)n;
        if (e < b->n) {
            b->p[w++] = b->p[e++];
        }
        r = e;
    }
    b->n = w;
}

int tc__nfkc_compose(tc__cps *b)
{
    int rc = reorder(b);

    if (rc == TC_OK) {
        compose(b);
    }
    return rc;
}

int tc__nfkc_combines(int32_t c, const utf8proc_property_t *p)
{
    return p->combining_class != 0 || p->category == UTF8PROC_CATEGORY_MN ||
           p->category == UTF8PROC_CATEGORY_MC ||
           p->category == UTF8PROC_CATEGORY_ME ||
           (c >= 0x1161 && c <= 0x1175) || (c >= 0x11A8 && c <= 0x11C2);
}

/*
 * The forms of U+0080 to U+07FF (Latin, Greek, Cyrillic, Armenian,
 * Hebrew, Arabic), U+1E00 to U+1FFF (Vietnamese, polytonic Greek) and
 * U+3040 to U+30FF (kana), filled from utf8proc on first use. Threads
 * that race store the same value, and a relaxed load sees either it or 0.
 */
static _Atomic uint32_t form_table[0x800 + 0x200 + 0xC0];

static uint32_t compute_form(int32_t c)
{
    const utf8proc_property_t *p = utf8proc_get_property(c);
    int boundclass = UTF8PROC_BOUNDCLASS_START;
    utf8proc_ssize_t n;
    tc__cps d;

    if (p->decomp_seqindex == UINT16_MAX &&
        p->casefold_seqindex == UINT16_MAX) {
        return tc__nfkc_combines(c, p)
                   ? TC__FORM_KNOWN
                   : TC__FORM_KNOWN | TC__FORM_OWN | (uint32_t)c;
    }
    tc__cps_init(&d);
    n = utf8proc_decompose_char(c, d.p, TC__NORMALIZE_MAX_DECOMPOSITION,
                                TC__NFKC_CASEFOLD, &boundclass);
    if (n < 1 || n > TC__NORMALIZE_MAX_DECOMPOSITION ||
        tc__nfkc_combines(d.p[0], utf8proc_get_property(d.p[0]))) {
        return TC__FORM_KNOWN;
    }
    d.n = (size_t)n;
    if (tc__nfkc_compose(&d) != TC_OK || d.n != 1 ||
        tc__nfkc_combines(d.p[0], utf8proc_get_property(d.p[0]))) {
        tc__cps_done(&d); /* nothing to free: no run is that long */
        return TC__FORM_KNOWN;
    }
    return TC__FORM_KNOWN | TC__FORM_COMPOSED | (uint32_t)d.p[0];
}

uint32_t tc__nfkc_form(uint32_t c)
{
    _Atomic uint32_t *slot;
    uint32_t f;

    if (c < 0x800) {
        slot = &form_table[c];
    } else if (c >= 0x1E00 && c < 0x2000) {
        slot = &form_table[0x800 + (c - 0x1E00)];
    } else if (c >= 0x3040 && c < 0x3100) {
        slot = &form_table[0xA00 + (c - 0x3040)];
    } else {
        return 0;
    }
    f = atomic_load_explicit(slot, memory_order_relaxed);
    if (f == 0) {
        f = compute_form((int32_t)c);
        atomic_store_explicit(slot, f, memory_order_relaxed);
    }
    return f;
}
