/*
 * normalize_fixture.c - the normalize suite's helpers (see
 * normalize_fixture.h).
 */

#include <stdio.h>
#include <string.h>

#include <check.h>

#include "base/normalize.h"
#include "normalize_fixture.h"
#include "suites.h"
#include "tutorcache.h"

char *nf_norm_n(const char *text, size_t len, size_t *outlen)
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

char *nf_norm(const char *text)
{
    return nf_norm_n(text, strlen(text), NULL);
}

void nf_check_idempotent(const char *in, size_t n)
{
    char *a, *b;
    size_t la, lb;

    a = nf_norm_n(in, n, &la);
    if (la > tc__normalize_bound(n)) {
        ck_abort_msg("%zu bytes grew to %zu", n, la);
    }
    b = nf_norm_n(a, la, &lb);
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
