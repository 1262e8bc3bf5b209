/*
 * record.c - a feedback record from its fields to what is
 * stored: strict validation (every rejection names the field and the
 * reason), ids, ISO 8601 timestamps, and the canonical JSON of the record
 * and of a correction's classification. Every input form (the public
 * struct, a JSON object (record_json.c), a CSV row, a spooled line)
 * ends in the one tc__fb_build, so the rules cannot drift apart.
 *
 * An id is the caller's, or a hash of the canonical record: no clock and
 * no randomness, so submitting the same record again, or importing the
 * same file again after a crash, names the same record, and the store
 * keeps it once. Order and retention are the store's business (by when it
 * stored a record), not the id's.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <xxhash.h>

#include "feedback/feedback.h"
#include "base/normalize.h"
#include "classify/result.h"
#include "base/sbuf.h"

/* The id has room for the longest the stores take, and its NUL. */
_Static_assert(TC_FEEDBACK_ID_MAX == TC__FB_ID_LEN + 1,
               "TC_FEEDBACK_ID_MAX is not the store's id length");

const char *tc__fb_type_name(int type)
{
    switch (type) {
    case TC_FEEDBACK_CORRECTION:
        return "correction";
    case TC_FEEDBACK_CONFIRMATION:
        return "confirmation";
    default:
        return "invalid";
    }
}

/* ---- timestamps -------------------------------------------------------- */

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int digits(const char *p, int n, int *out)
{
    *out = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        *out = *out * 10 + (p[i] - '0');
    }
    return 0;
}

/* The latest instant a timestamp may name: 9999-12-31T23:59:59.999Z. */
#define TS_MAX_MS INT64_C(253402300799999)

/*
 * ISO 8601 as RFC 3339 profiles it: YYYY-MM-DDTHH:MM:SS, an optional
 * fraction of 1 to 9 digits (kept to milliseconds, truncated), then Z or
 * +hh:mm / -hh:mm. Each part is range-checked (February 29 only in leap
 * years; no leap second, which epoch milliseconds cannot name), and the
 * instant must fall in 1970..9999 UTC. Writes why into err.
 */
static int parse_ts(const char *s, int64_t *ms, tc__err *err)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, mo, d, hh, mi, ss, frac = 0, oh = 0, om = 0, sign = 0, dim;
    size_t n = strlen(s), i = 19;
    const char *why = NULL;

    if (n < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
        s[7] != '-' || digits(s + 8, 2, &d) || s[10] != 'T' ||
        digits(s + 11, 2, &hh) || s[13] != ':' || digits(s + 14, 2, &mi) ||
        s[16] != ':' || digits(s + 17, 2, &ss)) {
        why = "is not ISO 8601 (YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm))";
    } else if (s[i] == '.') {
        int nd = 0;

        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++) {
            if (nd < 3) {
                frac = frac * 10 + (s[i] - '0');
            }
        }
        if (nd == 0 || nd > 9) {
            why = "has a fraction of second that is not 1 to 9 digits";
        }
        for (; nd < 3; nd++) {
            frac *= 10;
        }
    }
    if (!why) {
        if (i + 1 == n && s[i] == 'Z') {
            sign = 0;
        } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') &&
                   !digits(s + i + 1, 2, &oh) && s[i + 3] == ':' &&
                   !digits(s + i + 4, 2, &om)) {
            sign = s[i] == '+' ? 1 : -1;
        } else {
            why = "does not end in Z or a +hh:mm offset";
        }
    }
    if (!why) {
        dim = mo >= 1 && mo <= 12 ? mdays[mo - 1] : 0;
        if (mo == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) {
            dim = 29;
        }
        if (mo < 1 || mo > 12) {
            why = "has no such month";
        } else if (d < 1 || d > dim) {
            why = "has no such day in its month";
        } else if (hh > 23 || mi > 59 || ss > 59) {
            why = "has no such time of day";
        } else if (oh > 23 || om > 59) {
            why = "has no such UTC offset";
        }
    }
    if (!why) {
        int64_t t = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 +
                    ss - sign * (oh * 3600 + om * 60);

        *ms = t * 1000 + frac;
        if (*ms < 0 || *ms > TS_MAX_MS) {
            why = "is not between 1970 and 9999";
        }
    }
    if (why) {
        return tc__errf(err, TC_EINVAL, "timestamp: \"%.40s\" %s", s, why);
    }
    return TC_OK;
}

int tc__fb_ts_ms(const char *s, int64_t *ms, tc__err *err)
{
    return parse_ts(s, ms, err);
}

/* Bytes of a stored timestamp, "2024-03-01T01:00:00.123Z", and its NUL. */
#define TS_TEXT 25

/* v as n decimal digits, zeros in front; the end. */
static char *put_digits(char *o, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + n;
}

/* ms (0..TS_MAX_MS, so four digits of year) as the stored form, by hand:
 * snprintf was a tenth of a submit's instructions. */
static void format_ts(char buf[TS_TEXT], int64_t ms)
{
    int64_t secs = ms / 1000, days = secs / 86400, rem = secs % 86400;
    int y, mo, d;
    char *o = buf;

    civil_from_days(days, &y, &mo, &d);
    o = put_digits(o, y, 4);
    *o++ = '-';
    o = put_digits(o, mo, 2);
    *o++ = '-';
    o = put_digits(o, d, 2);
    *o++ = 'T';
    o = put_digits(o, (int)(rem / 3600), 2);
    *o++ = ':';
    o = put_digits(o, (int)(rem / 60 % 60), 2);
    *o++ = ':';
    o = put_digits(o, (int)(rem % 60), 2);
    *o++ = '.';
    o = put_digits(o, (int)(ms % 1000), 3);
    *o++ = 'Z';
    *o = '\0';
}

/* ---- validation -------------------------------------------------------- */

const char *tc__fb_excerpt(char *buf, size_t n, const char *s)
{
    size_t i, j = 0;

    for (i = 0; s[i] && j + 4 < n; i++) {
        unsigned char c = (unsigned char)s[i];

        buf[j++] = c < 0x20 || c == '"' ? '?' : (char)c;
    }
    if (s[i]) {
        /* cut at a character boundary */
        while (j > 0 && ((unsigned char)buf[j - 1] & 0xC0) == 0x80) {
            j--;
        }
        if (j > 0 && (unsigned char)buf[j - 1] >= 0xC0) {
            j--;
        }
        memcpy(buf + j, "...", 3);
        j += 3;
    }
    buf[j] = '\0';
    return buf;
}

static int blank(const char *s)
{
    for (; *s; s++) {
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') {
            return 0;
        }
    }
    return 1;
}

/* A label-like string: present if required, non-blank, bounded, UTF-8. */
static int check_label(const char *field, const char *s, int required,
                       tc__err *err)
{
    size_t n;

    if (!s) {
        return required ? tc__errf(err, TC_EINVAL, "%s: required", field)
                        : TC_OK;
    }
    n = strlen(s);
    if (blank(s)) {
        return tc__errf(err, TC_EINVAL, "%s: empty", field);
    }
    if (n > TC__FB_LABEL_MAX) {
        return tc__errf(err, TC_EINVAL, "%s: %zu bytes, more than %d", field, n,
                        TC__FB_LABEL_MAX);
    }
    if (!tc__utf8_valid(s, n)) {
        return tc__errf(err, TC_EINVAL, "%s: invalid UTF-8", field);
    }
    return TC_OK;
}

/*
 * The text: length, UTF-8, then non-blank once normalized. *norm holds cap
 * bytes on entry; a normal form longer than that (NFKC can lengthen a
 * text) goes to an allocation that replaces *norm and that the caller
 * frees, whatever the outcome, when *norm is no longer its buffer.
 */
static int check_text(const tc__fb_in *in, char **norm, size_t cap,
                      size_t *normlen, tc__err *err)
{
    size_t bad = 0;
    int rc;

    if (!in->text) {
        return tc__errf(err, TC_EINVAL, "text: required");
    }
    if (in->textlen > TC__FB_TEXT_MAX) {
        return tc__errf(err, TC_EINVAL, "text: %zu bytes, more than %d",
                        in->textlen, TC__FB_TEXT_MAX);
    }
    rc = tc__normalize_into(*norm, cap, normlen, in->text, in->textlen, &bad);
    if (rc == TC_ETOOBIG) {
        /* at most tc__normalize_bound(TC__FB_TEXT_MAX) + 1 bytes */
        cap = *normlen + 1;
        if (!(*norm = tc__malloc(cap))) {
            return tc__errf(err, TC_ENOMEM, "text: out of memory");
        }
        rc = tc__normalize_into(*norm, cap, normlen, in->text, in->textlen,
                                &bad);
    }
    if (rc == TC_EINVAL) {
        return in->text[bad] == '\0'
                   ? tc__errf(err, TC_EINVAL,
                              "text: a NUL character at byte %zu", bad)
                   : tc__errf(err, TC_EINVAL, "text: invalid UTF-8 at byte %zu",
                              bad);
    }
    if (rc != TC_OK) {
        return tc__errf(err, TC_ENOMEM, "text: out of memory");
    }
    if (*normlen == 0) {
        return tc__errf(err, TC_EINVAL, "text: empty");
    }
    return TC_OK;
}

/*
 * A model's identity as classify names it: a fingerprint's hex digits or
 * a host model's version. Printable ASCII without spaces, so that it
 * reads the same in JSON, CSV, a metric's label and a terminal.
 */
static int check_model(const char *s, tc__err *err)
{
    char a[48];
    size_t n;

    if (!s) {
        return TC_OK;
    }
    n = strlen(s);
    if (n == 0) {
        return tc__errf(err, TC_EINVAL, "model: empty");
    }
    if (n > TC__FB_MODEL_MAX) {
        return tc__errf(err, TC_EINVAL, "model: %zu bytes, more than %d", n,
                        TC__FB_MODEL_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c < 0x21 || c > 0x7E) {
            return tc__errf(err, TC_EINVAL,
                            "model: \"%s\" has a byte 0x%02X at %zu; a "
                            "model is printable ASCII without spaces (a "
                            "fingerprint or a model's version)",
                            tc__fb_excerpt(a, sizeof(a), s), c, i);
        }
    }
    return TC_OK;
}

/* The fields of in; the text's normal form as check_text() leaves it. */
static int validate(const tc__fb_in *in, char **norm, size_t cap,
                    size_t *normlen, int64_t *ts_ms, tc__err *err)
{
    char a[48];
    int rc;

    if ((rc = check_text(in, norm, cap, normlen, err)) != TC_OK ||
        (rc = check_label("original_intent", in->original, 1, err)) != TC_OK ||
        (rc = check_label("correct_intent", in->correct, 1, err)) != TC_OK) {
        return rc;
    }
    if (!in->has_conf) {
        return tc__errf(err, TC_EINVAL, "original_confidence: required");
    }
    if (!(in->conf >= 0.0 && in->conf <= 1.0)) {
        return tc__errf(err, TC_EINVAL,
                        "original_confidence: %g is not in 0..1", in->conf);
    }
    if ((rc = check_label("correct_complexity", in->complexity, 0, err)) !=
        TC_OK) {
        return rc;
    }
    if (in->ntech > TC__FB_TECH_MAX) {
        return tc__errf(err, TC_EINVAL,
                        "correct_techniques: %zu items, more than %d",
                        in->ntech, TC__FB_TECH_MAX);
    }
    for (size_t i = 0; i < in->ntech; i++) {
        char field[48];

        snprintf(field, sizeof(field), "correct_techniques[%zu]", i);
        if ((rc = check_label(field, in->tech[i], 1, err)) != TC_OK) {
            return rc;
        }
    }
    if ((rc = check_label("user_id", in->user_id, 0, err)) != TC_OK ||
        (rc = check_model(in->model, err)) != TC_OK) {
        return rc;
    }
    if (in->type == 0) {
        return tc__errf(err, TC_EINVAL, "feedback_type: required");
    }
    if (in->type < 0) {
        if (in->type_given) {
            return tc__errf(err, TC_EINVAL,
                            "feedback_type: \"%s\" is not \"correction\" or "
                            "\"confirmation\"",
                            tc__fb_excerpt(a, sizeof(a), in->type_given));
        }
        return tc__errf(err, TC_EINVAL,
                        "feedback_type: %d is not TC_FEEDBACK_CORRECTION or "
                        "TC_FEEDBACK_CONFIRMATION",
                        in->type_num);
    }
    if (in->timestamp && (rc = parse_ts(in->timestamp, ts_ms, err)) != TC_OK) {
        return rc;
    }
    if (in->type == TC_FEEDBACK_CORRECTION &&
        strcmp(in->original, in->correct) == 0) {
        return tc__errf(err, TC_EINVAL,
                        "correct_intent: equals original_intent (\"%s\"); a "
                        "correction must change the intent",
                        tc__fb_excerpt(a, sizeof(a), in->correct));
    }
    if (in->type == TC_FEEDBACK_CONFIRMATION &&
        strcmp(in->original, in->correct) != 0) {
        return tc__errf(err, TC_EINVAL,
                        "correct_intent: differs from original_intent; a "
                        "confirmation repeats it");
    }
    if (in->id && !tc__fb_id_valid(in->id)) {
        return tc__errf(err, TC_EINVAL,
                        "id: \"%s\" is not 1 to %d characters of "
                        "A-Z a-z 0-9 . _ : -",
                        tc__fb_excerpt(a, sizeof(a), in->id), TC__FB_ID_LEN);
    }
    return TC_OK;
}

/* ---- building ----------------------------------------------------------- */

void tc__fb_rec_free(tc__fb_rec *r)
{
    if (r) {
        tc__free(r->block);
        tc__free(r->oval);
        r->block = r->oval = NULL;
    }
}

/* A correction's classification, in the canonical form of result.h. */
static int encode_override(tc__fb_rec *r, const tc__fb_in *in)
{
    tc_label_score top = {in->correct, 1.0};
    tc__head_out heads[2];
    size_t nh = 0;

    if (in->complexity) {
        heads[nh].name = "complexity";
        heads[nh].multi = 0;
        heads[nh].n = 1;
        heads[nh].labels = &in->complexity;
        nh++;
    }
    if (in->has_tech) {
        heads[nh].name = "techniques";
        heads[nh].multi = 1;
        heads[nh].n = in->ntech;
        heads[nh].labels = in->tech;
        nh++;
    }
    return tc__result_encode(&r->oval, &r->olen, in->correct, 1.0, &top, 1,
                             heads, nh, "feedback");
}

/*
 * The canonical fields but the id, from "text" on, with the timestamp
 * when one was given: what a derived id hashes. The receipt time, which
 * differs from one submission of a record to the next, stays out.
 */
static void write_fields(tc__sb *b, const tc__fb_in *in, const char *ts)
{
    tc__sb_str(b, "\"text\":");
    tc__sb_json_string(b, in->text);
    tc__sb_str(b, ",\"original_intent\":");
    tc__sb_json_string(b, in->original);
    tc__sb_str(b, ",\"correct_intent\":");
    tc__sb_json_string(b, in->correct);
    tc__sb_str(b, ",\"original_confidence\":");
    tc__sb_json_number(b, in->conf);
    if (in->complexity) {
        tc__sb_str(b, ",\"correct_complexity\":");
        tc__sb_json_string(b, in->complexity);
    }
    if (in->has_tech) {
        tc__sb_str(b, ",\"correct_techniques\":[");
        for (size_t i = 0; i < in->ntech; i++) {
            if (i) {
                tc__sb_str(b, ",");
            }
            tc__sb_json_string(b, in->tech[i]);
        }
        tc__sb_str(b, "]");
    }
    if (in->user_id) {
        tc__sb_str(b, ",\"user_id\":");
        tc__sb_json_string(b, in->user_id);
    }
    if (in->model) {
        tc__sb_str(b, ",\"model\":");
        tc__sb_json_string(b, in->model);
    }
    tc__sb_str(b, ",\"feedback_type\":\"");
    tc__sb_str(b, tc__fb_type_name(in->type));
    tc__sb_str(b, "\"");
    if (ts) {
        tc__sb_str(b, ",\"timestamp\":\"");
        tc__sb_str(b, ts);
        tc__sb_str(b, "\"");
    }
}

/* Bytes of a derived id: the XXH3-128 of the fields in hex. */
#define DERIVED_ID_LEN 32

/*
 * The record is written once, into the block it is stored from: the id's
 * place is kept at the front and filled in when the fields after it are
 * written, since a derived id is their hash. The block is sized from the
 * inputs beforehand, so that it is seldom grown.
 */
int tc__fb_build(tc__fb_rec *r, tc__fb *fb, const tc__fb_in *in, tc__err *err)
{
    static const char hex[] = "0123456789abcdef";
    char normbuf[TC__FB_TEXT_MAX + 1], ts[TS_TEXT], *norm = normbuf;
    size_t normlen = 0, o_off, c_off, n_off, m_off = 0, id_off, f_off, idlen,
           olen, clen, mlen = in->model ? strlen(in->model) : 0;
    int64_t ts_ms = -1;
    tc__sb b = {NULL, 0, 0, 0};
    int rc;

    memset(r, 0, sizeof(*r));
    rc = validate(in, &norm, sizeof(normbuf), &normlen, &ts_ms, err);
    if (rc == TC_OK) {
        r->type = in->type;
    }
    if (rc != TC_OK || !fb) { /* !fb: validation only */
        if (norm != normbuf) {
            tc__free(norm);
        }
        return rc;
    }
    idlen = in->id ? strlen(in->id) : DERIVED_ID_LEN; /* valid: <= 64 */
    olen = strlen(in->original);
    clen = strlen(in->correct);
    /* the fields' names and the id's place; the strings' bytes, twice
     * for the labels (in the JSON and after it), escapes not counted */
    b.cap = 256 + idlen + strlen(in->text) + normlen + 2 * (olen + clen) +
            (in->user_id ? strlen(in->user_id) : 0) + 2 * mlen;
    if (!(b.p = tc__malloc(b.cap))) {
        b.cap = 0;
        b.oom = 1;
    }
    tc__sb_str(&b, "{\"id\":\"");
    id_off = b.len;
    /* a derived id's place is held by zeros until the hash is known */
    tc__sb_put(&b, in->id ? in->id : "00000000000000000000000000000000", idlen);
    tc__sb_str(&b, "\",");
    f_off = b.len;
    if (ts_ms >= 0) {
        format_ts(ts, ts_ms);
    }
    write_fields(&b, in, ts_ms >= 0 ? ts : NULL);
    if (!b.oom) {
        if (!in->id) {
            const tc__keyring *k = tc__cache_keys(fb->cache);
            XXH128_hash_t h;

            if (k && k->has_secret) {
                /* keyed, like the cache's keys: an id confirms no guess */
                tc__keyed_hash128(&h.low64, &h.high64, k->secret, "tc:fb:id", 8,
                                  b.p + f_off, b.len - f_off);
            } else {
                h = XXH3_128bits(b.p + f_off, b.len - f_off);
            }
            for (int i = 0; i < 16; i++) {
                b.p[id_off + i] = hex[(h.high64 >> (60 - 4 * i)) & 15];
                b.p[id_off + 16 + i] = hex[(h.low64 >> (60 - 4 * i)) & 15];
            }
        }
        memcpy(r->id, b.p + id_off, idlen);
        r->id[idlen] = '\0';
    }
    if (ts_ms < 0) {
        /* The time of receipt: stored, but no part of the id. */
        format_ts(ts, tc__wall_ms());
        tc__sb_str(&b, ",\"timestamp\":\"");
        tc__sb_put(&b, ts, TS_TEXT - 1);
        tc__sb_str(&b, "\"");
    }
    tc__sb_put(&b, "}", 1);
    r->len = b.len;
    o_off = b.len + 1;
    tc__sb_put(&b, "", 1);
    tc__sb_put(&b, in->original, olen);
    c_off = b.len + 1;
    tc__sb_put(&b, "", 1);
    tc__sb_put(&b, in->correct, clen);
    n_off = b.len + 1;
    tc__sb_put(&b, "", 1);
    tc__sb_put(&b, norm, normlen);
    if (in->model) {
        m_off = b.len + 1;
        tc__sb_put(&b, "", 1);
        tc__sb_put(&b, in->model, mlen);
    }
    tc__sb_put(&b, "", 1);
    if (norm != normbuf) {
        tc__free(norm);
    }
    if (b.oom) {
        tc__free(b.p);
        return tc__errf(err, TC_ENOMEM, "feedback record: out of memory");
    }
    r->block = b.p;
    r->json = b.p;
    r->original = b.p + o_off;
    r->correct = b.p + c_off;
    r->norm = b.p + n_off;
    r->normlen = normlen;
    r->model = in->model ? b.p + m_off : NULL;
    if (in->type != TC_FEEDBACK_CORRECTION) {
        return TC_OK;
    }
    rc = tc__cache_key(r->okey, fb->cache, TC__FB_NS, r->norm, r->normlen);
    if (rc != TC_OK) {
        tc__fb_rec_free(r);
        return tc__errf(err, rc, "override key: %s", tc__errmsg());
    }
    if (encode_override(r, in) != TC_OK) {
        tc__fb_rec_free(r);
        return tc__errf(err, TC_ENOMEM, "feedback override: out of memory");
    }
    return TC_OK;
}
