/*
 * normalize.h - text normalization and the tokenizer that the cache keys
 * of classifications and the built-in classifier share, so that a text
 * the model sees and the key it is cached under always agree.
 */
#ifndef TC_NORMALIZE_H
#define TC_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Normalizes text[0..len) into dst (see tc_text_normalize for the rules).
 * dst: cap bytes; may be NULL when cap is 0, to learn the length.
 * *dstlen receives the length without the NUL; with TC_ETOOBIG, the
 * length the normal form needs (call again with *dstlen + 1 bytes).
 * The normal form can be longer than its input (NFKC turns "½" into
 * "1⁄2"), never longer than tc__normalize_bound(len); an ASCII text's is
 * never longer than len. bad_at (may be NULL) receives the byte offset of
 * the first invalid UTF-8 sequence or NUL character, with TC_EINVAL.
 * Returns TC_OK (dst NUL-terminated); TC_EINVAL; TC_ETOOBIG (dst holds an
 * empty string when cap > 0); TC_ENOMEM, when a text of more than about a
 * thousand bytes, not all ASCII, could not get its working space: shorter
 * ones and ASCII texts allocate nothing. Any thread.
 */
int tc__normalize_into(char *dst, size_t cap, size_t *dstlen, const char *text,
                       size_t len, size_t *bad_at);

/*
 * The most bytes (NUL not counted) the normal form of len bytes of text
 * can take, or SIZE_MAX when that does not fit a size_t.
 */
size_t tc__normalize_bound(size_t len);

/* tc_text_normalize into a tc__malloc'd copy, for any length: the door
 * has checked out and text (NULL only with len 0). */
int tc__text_normalize(char **out, size_t *outlen, const char *text,
                       size_t len);

/*
 * What the bound rests on, for utf8proc 2.8 (Unicode 15): NFKC with case
 * folding turns one character into at most 18 code points and at most 11
 * times its UTF-8 bytes (U+FDFA does both: 3 bytes, 18 code points, 33
 * bytes). check_normalize.c checks them against every code point of the
 * utf8proc it runs with.
 */
#define TC__NORMALIZE_MAX_DECOMPOSITION 18
#define TC__NORMALIZE_GROWTH 11

/*
 * The tokens of a normalized text: words (maximal runs of characters that
 * are neither a space nor punctuation) and punctuation characters, one
 * token each, so "don't" is "don" "'" "t" and "c++" is "c" "+" "+".
 * Finds the next token at or after *pos; sets *start and *toklen and
 * advances *pos past it. Returns 1, or 0 when no token is left. s must
 * be valid UTF-8 (the output of tc__normalize_into).
 */
int tc__token_next(const char *s, size_t len, size_t *pos, size_t *start,
                   size_t *toklen);

/*
 * Decodes the UTF-8 character at s[*pos] (valid input only) and advances
 * *pos; the character n-grams of the classifier count code points.
 */
uint32_t tc__utf8_next(const char *s, size_t *pos);

/* Writes the UTF-8 of code point c (at most U+10FFFF) at d, which has
 * room for 4 bytes; returns its length. */
size_t tc__utf8_encode(char *d, uint32_t c);

/* Whether s[0..len) is valid UTF-8 without NUL characters. */
int tc__utf8_valid(const char *s, size_t len);

#endif
