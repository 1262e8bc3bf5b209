/*
 * fmt.h - doubles as decimal text without printf: the same characters as
 * printf's "%.*g", correctly rounded, for the numbers the library writes
 * on its hot paths (the scores of a classification, a feedback record's
 * confidence, the integers of a Redis request).
 */
#ifndef TC_FMT_H
#define TC_FMT_H

#include <stddef.h>
#include <stdint.h>

/* Room for any output of tc__fmt_g, its NUL included:
 * "-1.2345678901234567e-308". */
#define TC__FMT_MAX 32

/*
 * Writes x with prec significant digits (1-17) into buf (TC__FMT_MAX
 * bytes) exactly as snprintf(buf, TC__FMT_MAX, "%.*g", prec, x) does in
 * the C locale: rounded to nearest, ties to even on the exact binary
 * value; trailing zeros dropped; an exponent below -4 or from prec on
 * written as e-05 / e+17; -0 as "-0". With prec 17, strtod reads every
 * double back exactly. *value (may be NULL) receives the double the
 * digits denote, strtod's reading of buf, computed without reading the
 * text in the common case. Returns the length, or 0 for NaN, an infinity
 * or a prec out of range (buf then holds "").
 */
size_t tc__fmt_g(char *buf, double x, int prec, double *value);

/*
 * Writes x as JSON writes a number (TC__FMT_MAX bytes with the NUL): an
 * integer within 2^53 with all its digits and no point ("42", "-7"; -0
 * as "0"), anything else in the fewest significant digits that read back
 * to x (the %.*g of the smallest such precision), so that a double goes
 * to text and back unchanged. Returns the length, or 0 for NaN or an
 * infinity (buf then holds "").
 */
size_t tc__fmt_shortest(char *buf, double x);

/* Room for the decimal digits of any 64-bit integer, sign and NUL. */
#define TC__FMT_INT_MAX 21

/* v in decimal into buf (TC__FMT_INT_MAX bytes), NUL-terminated; returns
 * the length. */
size_t tc__fmt_u64(char *buf, uint64_t v);
size_t tc__fmt_i64(char *buf, int64_t v);

#endif
