/*
 * nfkc.h - Unicode NFKC with full case folding on code points, by
 * utf8proc, for normalize.c: the code point buffer of a text, canonical
 * ordering and composition, and the one-character forms of the common
 * accented letters.
 */
#ifndef TC_NFKC_H
#define TC_NFKC_H

#include <stddef.h>
#include <stdint.h>

#include <utf8proc.h>

/* utf8proc's options for NFKC with full case folding: accents stay. */
#define TC__NFKC_CASEFOLD                                                      \
    (UTF8PROC_COMPAT | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD | UTF8PROC_STABLE)

/*
 * The code points of a text: on the stack for a text of up to about a
 * thousand bytes (any text tc_classify normalizes in place), on the heap
 * past that. tc__cps_init starts one empty; tc__cps_done frees the heap.
 */
#define TC__CPS_STACK 1088
typedef struct tc__cps {
    int32_t *p;
    size_t n, cap;
    int32_t *heap;
    int32_t stack[TC__CPS_STACK];
} tc__cps;

void tc__cps_init(tc__cps *b);
void tc__cps_done(tc__cps *b);

/* Makes room for need code points in all: TC_OK or TC_ENOMEM. */
int tc__cps_reserve(tc__cps *b, size_t need);

/*
 * Puts b's decomposed code points in canonical order (in linear time,
 * whatever the text: utf8proc's own ordering is a bubble sort) and
 * composes them. Returns TC_OK, or TC_ENOMEM for a run of over 32
 * combining marks that found no room.
 */
int tc__nfkc_compose(tc__cps *b);

/*
 * Whether c (of properties p) can combine with what precedes it: a
 * combining mark, a vowel sign (the few starters that are the second of
 * a canonical composition are all spacing or nonspacing marks), or a
 * Hangul vowel or trailing consonant. Only a text with such a character
 * needs canonical ordering and composition.
 */
int tc__nfkc_combines(int32_t c, const utf8proc_property_t *p);

/*
 * The form of c when it is one character that combines with nothing:
 * TC__FORM_OWN when it is c itself (utf8proc maps nothing), or
 * TC__FORM_COMPOSED when it is a composition ("É" is "é"), right only if
 * no combining character follows; the character is in TC__FORM_CHAR.
 * Without either flag (or 0, for characters outside the table: U+0080 to
 * U+07FF, U+1E00 to U+1FFF, U+3040 to U+30FF), utf8proc has to map it.
 * Any thread.
 */
#define TC__FORM_KNOWN 0x80000000u
#define TC__FORM_OWN 0x40000000u
#define TC__FORM_COMPOSED 0x20000000u
#define TC__FORM_CHAR 0x1FFFFFu
uint32_t tc__nfkc_form(uint32_t c);

#endif
