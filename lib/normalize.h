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
 * Normalizes text[0..len) into dst, which must hold len + 1 bytes: the
 * normalized form is never longer than its input (every case folding used
 * maps a character to one of no more UTF-8 bytes). *dstlen receives the
 * length; dst is NUL-terminated. Returns TC_OK, or TC_EINVAL for invalid
 * UTF-8 or a NUL character; *bad_at then receives the byte offset at
 * fault (bad_at may be NULL). Allocates nothing.
 */
int tc__normalize_into(char *dst, size_t *dstlen, const char *text, size_t len,
                       size_t *bad_at);

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

/* Whether s[0..len) is valid UTF-8 without NUL characters. */
int tc__utf8_valid(const char *s, size_t len);

#endif
