/*
 * fuzz_url.c - store URLs (tc__config_parse_url in lib/base/config_url.c, and
 * the same URL through tc_cache_open's options) from any text.
 *
 * Property: no secret of the URL is echoed. The secrets are the user
 * info, between "://" and the last '@' (the parser cannot know which '@'
 * or '/' a generated password holds, so all of it up to the last '@'
 * counts; for unix:// the last '@' before its path; none when "://" is
 * followed by '/'), and the value of a "password=" parameter of the
 * query; a text with no "://" may be "user:password@host", so there the
 * part after its first ':' up to the last '@' counts. A URL without '@'
 * has no user info; the query is what follows the first '?' after the
 * user info. A failed parse's message must carry none of their
 * text, and a parsed URL's masked form none of the password's.
 *
 * Text is compared in windows of 3 bytes (any longer echo holds one).
 * Only text that a message's arguments bring in is checked: the harness
 * wraps tc__errf (-Wl,--wrap=tc__errf) and renders each conversion of its
 * format apart, since the format's own words ("store URL: port: ...") are
 * the program's, whatever a password spells. A window that also occurs in
 * the URL outside its secrets (a host that shares 3 letters with the
 * password) proves nothing and is skipped. The URL is never connected to:
 * tc_cache_open runs only on URLs that fail to parse.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "tutorcache.h"

#include "fuzz_common.h"

/* ---- what tc__errf formatted ------------------------------------------- */

/* The text each conversion of each message of one parse rendered,
 * pieces separated by NUL bytes, and the last message whole. */
static char echoed[16384];
static size_t echoed_len;
static char last_msg[TC__ERR_MAX];
static int nmsgs;

static void echo(const char *s, size_t n)
{
    if (echoed_len >= sizeof(echoed)) {
        return;
    }
    if (echoed_len + n + 1 > sizeof(echoed)) {
        n = sizeof(echoed) - echoed_len - 1;
    }
    memcpy(echoed + echoed_len, s, n);
    echoed_len += n;
    echoed[echoed_len++] = '\0';
}

/*
 * Renders each conversion of fmt with its argument into `echoed`. The
 * format of each snprintf is a conversion cut from fmt, a format the
 * compiler checked at the tc__errf call.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void record_args(const char *fmt, va_list ap)
{
    char spec[64], piece[TC__ERR_MAX];

    for (const char *p = fmt; *p; p++) {
        size_t k = 0;
        int lng = 0, star[2], nstar = 0, n = -1;

        if (*p != '%') {
            continue;
        }
        spec[k++] = *p++;
        if (*p == '%') {
            continue;
        }
        while (*p && strchr("-+ #0", *p) && k < 40) {
            spec[k++] = *p++;
        }
        for (int part = 0; part < 2; part++) {
            if (part == 1) {
                if (*p != '.') {
                    break;
                }
                spec[k++] = *p++;
            }
            if (*p == '*') {
                star[nstar++] = va_arg(ap, int);
                spec[k++] = *p++;
            }
            while (isdigit((unsigned char)*p) && k < 50) {
                spec[k++] = *p++;
            }
        }
        while (*p && strchr("hlzjtL", *p) && k < 56) {
            /* l, ll, z, j and t are all 64 bits wide here */
            lng |= *p == 'l' || *p == 'z' || *p == 'j' || *p == 't';
            spec[k++] = *p++;
        }
        spec[k++] = *p;
        spec[k] = '\0';
        if (!*p) {
            break;
        }
#define FZ_RENDER(v)                                                           \
    (nstar == 2   ? snprintf(piece, sizeof(piece), spec, star[0], star[1], v)  \
     : nstar == 1 ? snprintf(piece, sizeof(piece), spec, star[0], v)           \
                  : snprintf(piece, sizeof(piece), spec, v))
        switch (*p) {
        case 'd':
        case 'i':
            n = lng ? FZ_RENDER(va_arg(ap, long long))
                    : FZ_RENDER(va_arg(ap, int));
            break;
        case 'u':
        case 'x':
        case 'X':
        case 'o':
            n = lng ? FZ_RENDER(va_arg(ap, unsigned long long))
                    : FZ_RENDER(va_arg(ap, unsigned));
            break;
        case 'c':
            n = FZ_RENDER(va_arg(ap, int));
            break;
        case 's':
            n = FZ_RENDER(va_arg(ap, const char *));
            break;
        case 'p':
            n = FZ_RENDER(va_arg(ap, void *));
            break;
        case 'f':
        case 'F':
        case 'e':
        case 'E':
        case 'g':
        case 'G':
        case 'a':
        case 'A':
            n = FZ_RENDER(va_arg(ap, double));
            break;
        default:
            fz_fail(__FILE__, __LINE__, "conversion", "%%%c in \"%s\"", *p,
                    fmt);
        }
#undef FZ_RENDER
        if (n > 0) {
            echo(piece, strlen(piece));
        }
    }
}
#pragma GCC diagnostic pop

int __real_tc__errf(tc__err *err, int code, const char *fmt, ...);
int __wrap_tc__errf(tc__err *err, int code, const char *fmt, ...)
    TC__PRINTF(3, 4);

int __wrap_tc__errf(tc__err *err, int code, const char *fmt, ...)
{
    va_list ap, aq;

    va_start(ap, fmt);
    va_copy(aq, ap);
    vsnprintf(last_msg, sizeof(last_msg), fmt, aq);
    va_end(aq);
    record_args(fmt, ap);
    va_end(ap);
    nmsgs++;
    return __real_tc__errf(err, code, "%s", last_msg);
}

/* ---- the URL's secrets ------------------------------------------------- */

/*
 * Bytes of the URL that are secret (1) or not (0). A URL whose "://" is
 * followed by '/' (lmdb:///dir, unix:///sock) has an empty authority: no
 * user info, whatever '@' its path holds. unix:// is the one scheme whose
 * path comes right after its authority, so there the user info can only
 * end before the first '/'.
 */
static void mark_secrets(const char *url, size_t n, unsigned char *sec)
{
    const char *sep = strstr(url, "://"), *q;
    const char *at = NULL, *from;
    int unix_url = strncmp(url, "unix://", 7) == 0;

    memset(sec, 0, n);
    from = sep ? sep + 3 : url;
    for (const char *p = from; *p && !(unix_url && *p == '/'); p++) {
        if (*p == '@') {
            at = p;
        }
    }
    if (at && sep && *from != '/') {
        memset(sec + (from - url), 1, (size_t)(at - from));
    } else if (at && !sep) {
        const char *colon = memchr(url, ':', (size_t)(at - url));

        if (colon) {
            memset(sec + (colon + 1 - url), 1, (size_t)(at - colon - 1));
        }
    }
    /* "password=" starting a parameter of the query, which follows the
     * authority: a '?' in the user info (secret as a whole, up to the
     * last '@') starts none */
    q = strchr(at && sep && *from != '/' ? at : url, '?');
    for (; q && (q = strstr(q, "password=")); q += 9) {
        size_t v = (size_t)(q + 9 - url), e = v;

        if (q[-1] != '?' && q[-1] != '&') {
            continue;
        }
        while (e < n && url[e] != '&') {
            e++;
        }
        memset(sec + v, 1, e - v);
    }
}

/* The password alone: the user info after its first ':' and the
 * "password=" values; the user name may be shown. */
static void mark_password(const char *url, size_t n, unsigned char *sec,
                          unsigned char *pw)
{
    const char *sep = strstr(url, "://");
    size_t i = sep ? (size_t)(sep + 3 - url) : 0;

    memcpy(pw, sec, n);
    /* in the user info (a run that starts right after "://"), the part
     * up to its first ':' is the user name */
    if (sep && i < n && sec[i]) {
        while (i < n && sec[i] && url[i] != ':') {
            pw[i++] = 0;
        }
        if (i < n && url[i] == ':') {
            pw[i] = 0;
        }
    }
}

/*
 * The first secret window of url (marked in sec) that occurs in text, or
 * -1. Windows that also occur in the URL outside the secrets are skipped.
 */
static long leaked(const char *url, size_t n, const unsigned char *sec,
                   const char *text, size_t tlen)
{
    char *outside = fz_strdup((const uint8_t *)url, n);
    long found = -1;

    for (size_t i = 0; i < n; i++) {
        if (sec[i]) {
            outside[i] = '\0';
        }
    }
    for (size_t i = 0; found < 0 && i + 3 <= n; i++) {
        if (!sec[i] || !sec[i + 1] || !sec[i + 2]) {
            continue;
        }
        if (memmem(outside, n, url + i, 3)) {
            continue;
        }
        if (memmem(text, tlen, url + i, 3)) {
            found = (long)i;
        }
    }
    free(outside);
    return found;
}

static void check_message(const char *url, size_t n, const unsigned char *sec,
                          const char *msg, const char *how)
{
    long at;

    FZ_CHECK(msg[0], "%s: a failure with no message", how);
    if (strcmp(msg, last_msg) != 0) {
        /* a message tc__errf did not write: all of it counts */
        at = leaked(url, n, sec, msg, strlen(msg));
    } else {
        at = leaked(url, n, sec, echoed, echoed_len);
    }
    FZ_CHECK(at < 0,
             "%s echoes \"%.3s\" (URL byte %ld, secret)\n"
             "  URL:     %s\n  message: %s",
             how, url + (at < 0 ? 0 : at), at, url, msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url;
    unsigned char *sec, *pw;
    tc__config cfg;
    tc__err err;
    size_t n;
    int rc;

    if (memchr(data, '\0', size)) {
        return 0; /* a C string ends there: the rest is never seen */
    }
    url = fz_strdup(data, size);
    n = size;
    sec = malloc(n + 1);
    pw = malloc(n + 1);
    if (!sec || !pw) {
        abort();
    }
    mark_secrets(url, n, sec);
    mark_password(url, n, sec, pw);

    memset(&cfg, 0, sizeof(cfg));
    err.msg[0] = '\0';
    echoed_len = 0;
    nmsgs = 0;
    last_msg[0] = '\0';
    rc = tc__config_parse_url(&cfg, url, &err);
    FZ_CHECK(rc == TC_OK || rc == TC_ECONFIG, "rc %d: %s", rc, err.msg);
    if (rc == TC_OK) {
        FZ_CHECK(nmsgs == 0, "success after a message: %s", last_msg);
        FZ_CHECK(cfg.url && strcmp(cfg.url, url) == 0 && cfg.store.url_masked,
                 "url or url_masked not set");
        /* the mask's own "***" is the program's text: a password holding
         * "*@h" next to "***@host" proves nothing */
        size_t mlen = strlen(cfg.store.url_masked);
        char *shown = fz_strdup((const uint8_t *)cfg.store.url_masked, mlen);
        long at;

        for (char *m = shown; (m = strstr(m, "***")); m += 3) {
            memset(m, '\0', 3);
        }
        at = leaked(url, n, pw, shown, mlen);
        free(shown);
        FZ_CHECK(at < 0,
                 "the masked URL shows \"%.3s\" of the password\n"
                 "  URL:    %s\n  masked: %s",
                 url + (at < 0 ? 0 : at), url, cfg.store.url_masked);
    } else {
        tc_options opt;
        tc_cache *h = NULL;

        check_message(url, n, sec, err.msg, "tc__config_parse_url");

        tc_options_init(&opt);
        opt.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG | TC_OPT_NO_METRICS;
        opt.store_url = url;
        echoed_len = 0;
        last_msg[0] = '\0';
        rc = tc_cache_open(&h, &opt);
        FZ_CHECK(rc == TC_ECONFIG && !h,
                 "tc_cache_open: rc %d on a URL that does not parse", rc);
        check_message(url, n, sec, tc_errmsg(), "tc_cache_open");
    }
    tc__config_free(&cfg);
    free(sec);
    free(pw);
    free(url);
    return 0;
}
