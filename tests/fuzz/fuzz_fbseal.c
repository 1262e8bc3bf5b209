/*
 * fuzz_fbseal.c - sealed feedback records as the store and the spool hand
 * them back (lib/feedback/fbseal.c: tc__fb_open_line, tc__fb_open_stored
 * and the sealed form's parser behind them), on a memory: store with an
 * encryption key.
 *
 * The first byte picks what the rest is:
 *  - even: a stored line, given to tc__fb_open_line as read from a spool
 *    file. Properties: a line not in the sealed form is TC_MISS with
 *    nothing handed out; one that opens is TC_OK with a NUL-terminated
 *    record; one that is in the sealed form but does not open is
 *    TC_ECORRUPT and handed out whole, marked "unopened", never dropped
 *    and never shortened.
 *  - odd: a record's JSON, sealed under an id made from the next bytes
 *    and opened again: it comes back byte for byte; with one character of
 *    its sealed part changed it does not open (TC_ECORRUPT, marked).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/handle.h"
#include "tutorcache.h"

#include "fuzz_common.h"

static const char mark[] = "\"unopened\":true,";

/* A handle whose feedback is sealed: a key file and a config naming it,
 * both 0600 in the harness's directory, made on the first call. */
static tc__fb *sealing_fb(void)
{
    static tc_cache *h;
    char key[512], conf[512], body[700];
    tc_options opt;
    int fd;

    if (h) {
        return h->fb;
    }
    snprintf(key, sizeof(key), "%s/fbseal.key", fz_tmpdir());
    snprintf(conf, sizeof(conf), "%s/fbseal.json", fz_tmpdir());
    snprintf(body, sizeof(body), "{\"encryption_key_file\": \"%s\"}", key);
    fd = open(key, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FZ_CHECK(fd >= 0 && write(fd,
                              "0123456789abcdef0123456789abcdef"
                              "0123456789abcdef0123456789abcdef",
                              64) == 64,
             "key file %s", key);
    close(fd);
    fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FZ_CHECK(fd >= 0 && write(fd, body, strlen(body)) == (ssize_t)strlen(body),
             "config file %s", conf);
    close(fd);
    tc_options_init(&opt);
    opt.flags = TC_OPT_NO_ENV | TC_OPT_NO_METRICS;
    opt.store_url = "memory:";
    opt.config_path = conf;
    FZ_CHECK(tc_cache_open(&h, &opt) == TC_OK, "open: %s", tc_errmsg());
    return h->fb;
}

/* What tc__fb_open_* handed out for a line of len bytes, checked against
 * the properties above. */
static void check_opened(const char *line, size_t len, int rc, const char *out,
                         size_t outlen)
{
    if (rc == TC_MISS) {
        FZ_CHECK(out == NULL, "a record in clear handed out a copy");
        return;
    }
    FZ_CHECK(out != NULL && out[outlen] == '\0', "rc %d, no record", rc);
    if (rc == TC_ECORRUPT) {
        const char *at = strstr(out, mark);

        FZ_CHECK(outlen == len + sizeof(mark) - 1 && at != NULL,
                 "unopened record of %zu bytes from %zu", outlen, len);
        FZ_CHECK(memcmp(out, line, (size_t)(at - out)) == 0 &&
                     memcmp(at + sizeof(mark) - 1, line + (at - out),
                            len - (size_t)(at - out)) == 0,
                 "the unopened record is not the stored one, marked");
        return;
    }
    FZ_CHECK(rc == TC_OK, "rc %d", rc);
}

static void stored_line(tc__fb *fb, const char *line, size_t len)
{
    char *out;
    size_t outlen = 0;
    int rc = tc__fb_open_line(fb, line, len, &out, &outlen);

    check_opened(line, len, rc, out, outlen);
    tc__free(out);
}

static void round_trip(tc__fb *fb, const uint8_t *data, size_t size)
{
    static const char idchars[] = "abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-";
    tc__fb_rec r;
    char *sealed, *out;
    size_t idlen = size ? 1 + data[0] % TC__FB_ID_LEN : 1, slen, outlen, at;
    int rc;

    memset(&r, 0, sizeof(r));
    for (size_t i = 0; i < idlen; i++) {
        r.id[i] =
            idchars[(i + 1 < size ? data[i + 1] : i) % (sizeof(idchars) - 1)];
    }
    r.json = (const char *)data;
    r.len = size;
    FZ_CHECK(tc__fb_seal_rec(fb, &r, &sealed, &slen) == TC_OK && sealed,
             "sealing %zu bytes", size);
    rc = tc__fb_open_line(fb, sealed, slen, &out, &outlen);
    FZ_CHECK(rc == TC_OK && outlen == size && memcmp(out, data, size) == 0,
             "rc %d: %zu bytes sealed came back as %zu", rc, size, outlen);
    tc__free(out);

    /* one character of the sealed part changed, not the last (whose low
     * bits base64 may leave unused) */
    at = strlen("{\"id\":\"\",\"sealed\":\"") + idlen;
    if (slen > at + 3) {
        at += (size ? data[size - 1] : 0) % (slen - at - 3);
        sealed[at] = sealed[at] == 'A' ? 'B' : 'A';
        rc = tc__fb_open_line(fb, sealed, slen, &out, &outlen);
        FZ_CHECK(rc == TC_ECORRUPT, "rc %d for a changed sealed part", rc);
        check_opened(sealed, slen, rc, out, outlen);
        tc__free(out);
    }
    tc__free(sealed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tc__fb *fb = sealing_fb();
    char *line;

    if (size == 0) {
        return 0;
    }
    if (data[0] % 2 == 1) {
        round_trip(fb, data + 1, size - 1);
        return 0;
    }
    line = fz_strdup(data + 1, size - 1);
    stored_line(fb, line, size - 1);
    free(line);
    return 0;
}
