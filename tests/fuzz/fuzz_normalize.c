/*
 * fuzz_normalize.c - text normalization (lib/base/normalize.c) on any bytes.
 *
 * Properties: a text is refused (TC_EINVAL) exactly when it is not valid
 * UTF-8 or holds a NUL, and the offset it names ends a valid prefix. An
 * accepted text's normal form is valid UTF-8, no longer than
 * tc__normalize_bound() of the text (nor than the text itself when that
 * is ASCII), the same through tc_text_normalize() and through a buffer
 * one byte too small (TC_ETOOBIG with the length it needs), and a fixed
 * point: normalizing it again changes nothing. Its tokens are non-empty,
 * in order, and only single spaces lie between them.
 */
#include <stdlib.h>
#include <string.h>

#include "base/normalize.h"
#include "tutorcache.h"

#include "fuzz_common.h"

static int is_ascii(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x80) {
            return 0;
        }
    }
    return 1;
}

static void check_tokens(const char *s, size_t n)
{
    size_t pos = 0, prev_end = 0, start, len;

    while (tc__token_next(s, n, &pos, &start, &len)) {
        FZ_CHECK(len > 0 && start >= prev_end && start + len <= n &&
                     pos == start + len,
                 "token at %zu+%zu after %zu in %zu bytes", start, len,
                 prev_end, n);
        for (size_t i = prev_end; i < start; i++) {
            FZ_CHECK(s[i] == ' ', "byte %zu between tokens is %#x", i,
                     (unsigned char)s[i]);
        }
        FZ_CHECK(!memchr(s + start, ' ', len), "a space inside a token");
        prev_end = start + len;
    }
    FZ_CHECK(pos == n, "the tokenizer stopped at %zu of %zu", pos, n);
    for (size_t i = prev_end; i < n; i++) {
        FZ_CHECK(s[i] == ' ', "byte %zu after the last token is %#x", i,
                 (unsigned char)s[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t n = 0, n2 = 0, bad = 0, publen = 0;
    size_t cap = tc__normalize_bound(size) + 1;
    char *out, *again, *pub = NULL;
    int rc, rc2;

    if (size > 65536) {
        return 0; /* the bound times the text would be a large buffer */
    }
    out = malloc(cap);
    again = malloc(cap);
    if (!out || !again) {
        abort();
    }
    rc = tc__normalize_into(out, cap, &n, text, size, &bad);
    FZ_CHECK(rc == TC_OK || rc == TC_EINVAL, "rc %d", rc);
    FZ_CHECK((rc == TC_OK) == tc__utf8_valid(text, size),
             "rc %d but valid UTF-8 without NUL is %d", rc,
             tc__utf8_valid(text, size));
    if (rc == TC_EINVAL) {
        FZ_CHECK(bad < size && tc__utf8_valid(text, bad),
                 "bad_at %zu of %zu does not end a valid prefix", bad, size);
        FZ_CHECK(out[0] == '\0', "a refused text left output");
        FZ_CHECK(tc_text_normalize(&pub, &publen, text, size) == TC_EINVAL,
                 "the public call accepts what the internal one refused");
        goto done;
    }
    FZ_CHECK(n <= tc__normalize_bound(size), "%zu bytes from %zu", n, size);
    FZ_CHECK(!is_ascii(data, size) || n <= size,
             "an ASCII text of %zu bytes grew to %zu", size, n);
    FZ_CHECK(out[n] == '\0' && strlen(out) == n, "not NUL-terminated at %zu",
             n);
    FZ_CHECK(tc__utf8_valid(out, n), "the normal form is not valid UTF-8");

    /* a buffer one byte short asks for what it needs */
    rc2 = tc__normalize_into(again, n, &n2, text, size, NULL);
    FZ_CHECK(rc2 == TC_ETOOBIG && n2 == n,
             "cap %zu: rc %d, length %zu (want TC_ETOOBIG, %zu)", n, rc2, n2,
             n);
    FZ_CHECK(n == 0 || again[0] == '\0', "TC_ETOOBIG left output");

    /* the public door gives the same form */
    FZ_CHECK(tc_text_normalize(&pub, &publen, text, size) == TC_OK,
             "tc_text_normalize refused what tc__normalize_into accepted");
    FZ_CHECK(publen == n && memcmp(pub, out, n + 1) == 0,
             "tc_text_normalize differs (%zu bytes, want %zu)", publen, n);

    /* idempotence */
    rc2 = tc__normalize_into(again, cap, &n2, out, n, NULL);
    FZ_CHECK(rc2 == TC_OK, "the normal form is refused (rc %d)", rc2);
    FZ_CHECK(n2 == n && memcmp(again, out, n) == 0,
             "not idempotent: %zu bytes \"%.*s\" became %zu \"%.*s\"", n,
             (int)n, out, n2, (int)n2, again);

    check_tokens(out, n);
done:
    tc_free(pub);
    free(out);
    free(again);
    return 0;
}
