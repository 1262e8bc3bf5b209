/*
 * cfgparse.c - the pieces the configuration's readers share: numbers and
 * booleans as text, strings replaced, percent-encoding (cfgparse.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/cfgparse.h"

int tc__cfg_oom(tc__err *err)
{
    return tc__errf(err, TC_ENOMEM, "out of memory");
}

int tc__cfg_set_str(char **dst, const char *src, tc__err *err)
{
    char *c = NULL;

    if (src && !(c = tc__strdup(src))) {
        return tc__cfg_oom(err);
    }
    tc__free(*dst);
    *dst = c;
    return TC_OK;
}

/* Whole decimal integer in [min, max], nothing else on the line. */
int tc__cfg_parse_long(const char *s, long long min, long long max,
                       long long *out)
{
    char *end;
    long long v;

    if (!s || !*s || isspace((unsigned char)*s)) {
        return -1;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

int tc__cfg_parse_bool(const char *s, int *out)
{
    static const char *yes[] = {"1", "true", "yes", "on"};
    static const char *no[] = {"0", "false", "no", "off"};
    size_t i;

    for (i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

int tc__cfg_prefix_reserved(const char *prefix)
{
    const char *p = TC__RESERVED_PREFIXES;
    size_t n = strlen(prefix);

    /* the list is words separated by ", " */
    while (*p) {
        size_t k = strcspn(p, ",");

        if (k == n && strncmp(p, prefix, n) == 0) {
            return 1;
        }
        p += k;
        p += strspn(p, ", ");
    }
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A percent-decoded copy of s[0..n); NULL on a bad escape (%00 too: a C
 * string would end there) or no memory. */
char *tc__cfg_pct_decode(const char *s, size_t n, int *bad)
{
    char *out = tc__malloc(n + 1);
    size_t i, j = 0;

    *bad = 0;
    if (!out) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0 ||
                (s[i + 1] == '0' && s[i + 2] == '0')) {
                tc__free(out);
                *bad = 1;
                return NULL;
            }
            out[j++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

char *tc__cfg_pct_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = n <= SIZE_MAX / 3 - 1 ? tc__malloc(n * 3 + 1) : NULL;
    char *o = out;

    if (!out) {
        return NULL;
    }
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (isalnum(c) || strchr("-._~", c)) {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* redis:// built from REDIS_HOST, REDIS_PORT, REDIS_DB, REDIS_PASSWORD */
