/*
 * fbseal.c - feedback records and overrides sealed for the store when
 * encryption at rest is on (base/seal.c), and opened again on the way
 * out (consume, export). A record is stored as {"id":"ID","sealed":"B64"}:
 * the id stays readable, since the store keys its idempotence by it and
 * it is a hash of the content (keyed, with a key secret), while every
 * text and free-form field is inside the sealed JSON, bound to the
 * record's id. An override is an L2 value like any other, sealed bound
 * to its key, which the cache's sealing store then opens. A record that
 * does not open is handed on marked "unopened" with its sealed bytes,
 * counted and logged, never dropped and never shown in clear.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "feedback/feedback.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
/* The associated data of a record: its role and id. */
#define AD_FMT "tc:fb:record:%s"

static int sealing(const tc__fb *fb)
{
    const tc__keyring *k = tc__cache_keys(fb->cache);

    return k && k->nkeys > 0;
}

/* {"id":" ID ","sealed":" B64 "} */
static const char head[] = "{\"id\":\"", mid[] = "\",\"sealed\":\"",
                  tail[] = "\"}";

/* The record sealed into a new string, or NULL when out of memory. */
static char *seal_record(const tc__keyring *k, const char *id, const char *json,
                         size_t len, size_t *outlen)
{
    char ad[TC__FB_ID_LEN + 32];
    size_t idlen = strlen(id), slen = len + TC__SEAL_OVERHEAD;
    size_t blen = sodium_base64_ENCODED_LEN(slen, B64);
    size_t n = sizeof(head) - 1 + idlen + sizeof(mid) - 1 + blen + sizeof(tail);
    unsigned char *sealed = tc__malloc(slen);
    char *out = tc__malloc(n), *p = out;

    if (!sealed || !out) {
        tc__free(sealed);
        tc__free(out);
        return NULL;
    }
    snprintf(ad, sizeof(ad), AD_FMT, id);
    tc__seal(k, ad, strlen(ad), sealed, json, len);
    p += sprintf(p, "%s%s%s", head, id, mid);
    sodium_bin2base64(p, blen, sealed, slen, B64);
    p += strlen(p);
    memcpy(p, tail, sizeof(tail));
    *outlen = (size_t)(p - out) + sizeof(tail) - 1;
    tc__free(sealed);
    return out;
}

int tc__fb_seal_items(tc__fb *fb, tc__fb_put *items, size_t n, char ***hold,
                      tc__err *err)
{
    const tc__keyring *k = tc__cache_keys(fb->cache);
    char **h;

    *hold = NULL;
    if (!sealing(fb) || n == 0) {
        return TC_OK;
    }
    if (!(h = tc__calloc(2 * n, sizeof(*h)))) {
        return tc__errf(err, TC_ENOMEM, "sealing feedback: out of memory");
    }
    *hold = h;
    for (size_t i = 0; i < n; i++) {
        tc__fb_put *it = &items[i];
        size_t len;

        if (!(h[2 * i] = seal_record(k, it->id, it->json, it->len, &len))) {
            return tc__errf(err, TC_ENOMEM, "sealing feedback: out of memory");
        }
        it->json = h[2 * i];
        it->len = len;
        if (!it->override_val) {
            continue;
        }
        if (!(h[2 * i + 1] =
                  tc__malloc(it->override_len + TC__SEAL_OVERHEAD))) {
            return tc__errf(err, TC_ENOMEM, "sealing feedback: out of memory");
        }
        tc__seal(k, it->override_key, strlen(it->override_key),
                 (unsigned char *)h[2 * i + 1], it->override_val,
                 it->override_len);
        it->override_val = h[2 * i + 1];
        it->override_len += TC__SEAL_OVERHEAD;
    }
    return TC_OK;
}

int tc__fb_seal_rec(tc__fb *fb, const tc__fb_rec *r, char **out, size_t *outlen)
{
    *out = NULL;
    if (!sealing(fb)) {
        return TC_OK;
    }
    *out =
        seal_record(tc__cache_keys(fb->cache), r->id, r->json, r->len, outlen);
    return *out ? TC_OK : TC_ENOMEM;
}

int tc__fb_open_line(tc__fb *fb, const char *line, size_t len, char **out,
                     size_t *outlen)
{
    char id[TC__FB_ID_LEN + 1];
    const char *q;
    size_t n;

    *out = NULL;
    if (len < sizeof(head) - 1 || memcmp(line, head, sizeof(head) - 1) != 0 ||
        !(q = memchr(line + sizeof(head) - 1, '"', len - (sizeof(head) - 1))) ||
        (n = (size_t)(q - line) - (sizeof(head) - 1)) > TC__FB_ID_LEN) {
        return TC_MISS; /* not the sealed form: a record in clear */
    }
    memcpy(id, line + sizeof(head) - 1, n);
    id[n] = '\0';
    return tc__fb_open_stored(fb, id, line, len, out, outlen);
}

void tc__fb_seal_release(char **hold, size_t n)
{
    for (size_t i = 0; hold && i < 2 * n; i++) {
        tc__free(hold[i]);
    }
    tc__free(hold);
}

/* Where the sealed part of a stored record of this id starts, or NULL
 * when the record is not in the sealed form. */
static const char *sealed_part(const char *id, const char *json, size_t len)
{
    size_t idlen = strlen(id);
    size_t pre = sizeof(head) - 1 + idlen + sizeof(mid) - 1;

    if (len < pre + sizeof(tail) - 1 ||
        memcmp(json, head, sizeof(head) - 1) != 0 ||
        memcmp(json + sizeof(head) - 1, id, idlen) != 0 ||
        memcmp(json + sizeof(head) - 1 + idlen, mid, sizeof(mid) - 1) != 0 ||
        memcmp(json + len - (sizeof(tail) - 1), tail, sizeof(tail) - 1) != 0) {
        return NULL;
    }
    return json + pre;
}

/* The record opened into *out (tc__malloc'd), or TC_ECORRUPT. */
static int open_record(const tc__keyring *k, const char *id, const char *b64,
                       size_t b64len, char **out, size_t *outlen)
{
    char ad[TC__FB_ID_LEN + 32];
    unsigned char *buf = tc__malloc(b64len + 1);
    size_t len = 0;

    *out = NULL;
    if (!buf) {
        return TC_ENOMEM;
    }
    snprintf(ad, sizeof(ad), AD_FMT, id);
    if (!k || k->nkeys == 0 ||
        sodium_base642bin(buf, b64len, b64, b64len, NULL, &len, NULL, B64) !=
            0 ||
        tc__seal_open(k, ad, strlen(ad), buf, &len) != TC_OK) {
        tc__free(buf);
        return TC_ECORRUPT;
    }
    *out = (char *)buf;
    *outlen = len;
    return TC_OK;
}

/* The stored record marked {"id":"ID","unopened":true,"sealed":...}. */
static char *mark_unopened(const char *id, const char *json, size_t len,
                           size_t *outlen)
{
    static const char mark[] = "\"unopened\":true,";
    size_t at = sizeof(head) - 1 + strlen(id) + 2; /* after "ID", */
    char *out = tc__malloc(len + sizeof(mark));

    if (out) {
        memcpy(out, json, at);
        memcpy(out + at, mark, sizeof(mark) - 1);
        memcpy(out + at + sizeof(mark) - 1, json + at, len - at);
        *outlen = len + sizeof(mark) - 1;
        out[*outlen] = '\0';
    }
    return out;
}

int tc__fb_open_stored(tc__fb *fb, const char *id, const char *json, size_t len,
                       char **out, size_t *outlen)
{
    const char *b64 = sealed_part(id, json, len);
    int rc;

    *out = NULL;
    *outlen = 0;
    if (!b64) {
        return TC_MISS; /* stored in clear (before sealing was on) */
    }
    rc = open_record(tc__cache_keys(fb->cache), id, b64,
                     (size_t)(json + len - (sizeof(tail) - 1) - b64), out,
                     outlen);
    if (rc == TC_ECORRUPT) {
        const char *fields[] = {"id", id, "reason",
                                "sealed feedback record does not open "
                                "(damaged, or sealed by a key not held)",
                                NULL};

        tc__cache_seal_failed(fb->cache, TC__SEAL_FEEDBACK);
        tc__log_limited(fb->log, &fb->seal_rl, TC_LOG_WARN,
                        "feedback_decrypt_failed", fields);
        *out = mark_unopened(id, json, len, outlen);
        return *out ? TC_ECORRUPT : TC_ENOMEM;
    }
    return rc;
}

int tc__fb_open_each(void *ud, const char *id, const char *json, size_t len)
{
    tc__fb_opener *op = ud;
    char *opened;
    size_t n;
    int rc = tc__fb_open_stored(op->fb, id, json, len, &opened, &n);

    if (rc == TC_MISS) {
        return op->each(op->ud, id, json, len);
    }
    if (rc == TC_ENOMEM) {
        return TC_ENOMEM;
    }
    rc = op->each(op->ud, id, opened, n);
    tc__free(opened);
    return rc;
}

int tc__fb_open_records(tc__fb *fb, char **ids, char **recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *opened;
        size_t len;
        int rc = tc__fb_open_stored(fb, ids[i], recs[i], strlen(recs[i]),
                                    &opened, &len);

        if (rc == TC_ENOMEM) {
            return TC_ENOMEM;
        }
        if (opened) {
            tc__free(recs[i]);
            recs[i] = opened;
        }
    }
    return TC_OK;
}
