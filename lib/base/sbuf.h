/*
 * sbuf.h - a growable string buffer and the JSON writing the library
 * needs (canonical keys, classification results). A failed allocation is
 * remembered in `oom` and later writes do nothing, so callers check once.
 */
#ifndef TC_SBUF_H
#define TC_SBUF_H

#include <stddef.h>

#include "base/internal.h"

typedef struct tc__sb {
    char *p; /* NUL-terminated once anything was written */
    size_t len, cap;
    int oom;
} tc__sb;

void tc__sb_put(tc__sb *b, const char *s, size_t n);
void tc__sb_str(tc__sb *b, const char *s);
void tc__sb_printf(tc__sb *b, const char *fmt, ...) TC__PRINTF(2, 3);
/* s as a JSON string: quotes, backslashes and control bytes escaped,
 * other bytes (UTF-8) as they are. */
void tc__sb_json_string(tc__sb *b, const char *s);
/* The same at o, which has room for TC__JSON_ROOM(strlen(s)) bytes;
 * returns the end (no NUL written). */
#define TC__JSON_ROOM(n) (6 * (n) + 2)
char *tc__json_put_string(char *o, const char *s);
/* d in one spelling: integers within 2^53 as integers, else the shortest
 * %g that reads back to d; -0 as 0. d must be finite. */
void tc__sb_json_number(tc__sb *b, double d);

#endif
