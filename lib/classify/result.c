/*
 * result.c - classifications as JSON. One canonical form is written to
 * the cache (intent first, then confidence, top, the other heads, model;
 * encode.c writes it), and a small parser made for that form turns a
 * cached value into a
 * tc_result in one allocation without a general JSON tree: a cache hit
 * is the hot path, and a tree plus a reprint would cost more than the
 * lookup itself. Values in any other shape go through cJSON once and are
 * re-encoded canonically (encode.c).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify/result.h"
#include "base/sbuf.h"

#define MAX_ITEMS 1024 /* labels in top, or in one multi-label head */

/* ---- the canonical parser ---------------------------------------------- */

/*
 * The parser writes as it reads: strings unescaped into the result's
 * block, labels and techniques into arrays sized from the text's length.
 */
typedef struct scan {
    const char *p, *end, *start;
    char *strs, *strs_end; /* where the next string goes, and the limit */
    size_t ntop, ntech;
    tc_label_score *top;
    size_t cap_top;
    const char **tech;
    size_t cap_tech;
    const char *intent, *complexity, *model;
    double confidence;
    int have_conf;
    size_t intent_end; /* offset just after the intent member */
    size_t close;      /* offset of the final '}' */
} scan;

static void ws(scan *s)
{
    while (s->p < s->end &&
           (*s->p == ' ' || *s->p == '\n' || *s->p == '\t' || *s->p == '\r')) {
        s->p++;
    }
}

static int lit(scan *s, char c)
{
    if (s->p < s->end && *s->p == c) { /* the canonical form: no spaces */
        s->p++;
        return 1;
    }
    ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

static int hex4(const char *p, unsigned *v)
{
    int i;

    *v = 0;
    for (i = 0; i < 4; i++) {
        char c = p[i];

        *v <<= 4;
        if (c >= '0' && c <= '9') {
            *v |= (unsigned)(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            *v |= (unsigned)(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            *v |= (unsigned)(c - 'A' + 10);
        } else {
            return -1;
        }
    }
    return 0;
}

/* Appends one byte to dst (or counts it); a key goes to a fixed buffer. */
static int emit(char *dst, size_t cap, size_t *n, unsigned char c)
{
    if (dst) {
        if (*n + 1 >= cap) {
            return -1;
        }
        dst[*n] = (char)c;
    }
    (*n)++;
    return 0;
}

/* Bytes a JSON string holds as they are: not '"', '\\' or a control. */
static const unsigned char plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/*
 * A JSON string into dst (cap bytes, NUL-terminated), or only measured when
 * dst is NULL; *n receives its length. \u0000 is refused: results are C
 * strings.
 */
static int string(scan *s, char *dst, size_t cap, size_t *n)
{
    *n = 0;
    if (!lit(s, '"')) {
        return -1;
    }
    while (s->p < s->end && *s->p != '"') {
        const char *run = s->p;
        unsigned char c;
        unsigned cp, lo;

        /* a run of plain bytes is copied at once: labels rarely escape */
        while (s->p < s->end && plain[(unsigned char)*s->p]) {
            s->p++;
        }
        if (s->p > run) {
            size_t k = (size_t)(s->p - run);

            if (dst) {
                if (*n + k >= cap) {
                    return -1;
                }
                memcpy(dst + *n, run, k);
            }
            *n += k;
            continue;
        }
        c = (unsigned char)*s->p++;
        if (c < 0x20) {
            return -1;
        }
        if (s->p >= s->end) {
            return -1;
        }
        c = (unsigned char)*s->p++;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            break;
        case 'b':
            c = '\b';
            break;
        case 'f':
            c = '\f';
            break;
        case 'n':
            c = '\n';
            break;
        case 'r':
            c = '\r';
            break;
        case 't':
            c = '\t';
            break;
        case 'u':
            if (s->end - s->p < 4 || hex4(s->p, &cp) != 0 || cp == 0) {
                return -1;
            }
            s->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00) {
                if (s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' ||
                    hex4(s->p + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF) {
                    return -1;
                }
                s->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                return -1;
            }
            if (cp < 0x80) {
                c = (unsigned char)cp;
                break;
            }
            if (cp < 0x800) {
                if (emit(dst, cap, n, (unsigned char)(0xC0 | (cp >> 6)))) {
                    return -1;
                }
            } else {
                if (cp < 0x10000) {
                    if (emit(dst, cap, n, (unsigned char)(0xE0 | (cp >> 12)))) {
                        return -1;
                    }
                } else {
                    if (emit(dst, cap, n, (unsigned char)(0xF0 | (cp >> 18))) ||
                        emit(dst, cap, n,
                             (unsigned char)(0x80 | ((cp >> 12) & 63)))) {
                        return -1;
                    }
                }
                if (emit(dst, cap, n,
                         (unsigned char)(0x80 | ((cp >> 6) & 63)))) {
                    return -1;
                }
            }
            c = (unsigned char)(0x80 | (cp & 63));
            break;
        default:
            return -1;
        }
        if (emit(dst, cap, n, c) != 0) {
            return -1;
        }
    }
    if (s->p >= s->end) {
        return -1;
    }
    s->p++;
    if (dst) {
        dst[*n] = '\0';
    }
    return 0;
}

/* A string value, unescaped into the result's block. */
static int value_string(scan *s, const char **out)
{
    size_t n;

    if (string(s, s->strs, s->strs_end - s->strs, &n) != 0) {
        return -1;
    }
    *out = s->strs;
    s->strs += n + 1;
    return 0;
}

static int is_num_char(char c)
{
    return (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' ||
           c == 'e' || c == 'E';
}

/*
 * A number. Up to 15 digits with a power of ten within 10^+-22 (nearly
 * all the encoder writes) is mantissa * or / 10^k: both exact doubles, so
 * one correctly rounded operation gives strtod's answer. Anything else goes
 * through strtod.
 */
static int number(scan *s, double *d)
{
    /* powers of ten up to 1e22 are exact doubles */
    static const double pow10[] = {
        1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    char tmp[40];
    size_t n = 0;
    char *end;

    ws(s);
    {
        const char *q = s->p;
        uint64_t mant = 0;
        int digits = 0, frac = 0, dot = 0, e = 0, eneg = 0, k;

        while (q < s->end &&
               ((*q >= '0' && *q <= '9') || (*q == '.' && !dot))) {
            if (*q == '.') {
                dot = 1;
            } else {
                mant = mant * 10 + (uint64_t)(*q - '0');
                digits++;
                frac += dot;
            }
            q++;
        }
        if (q < s->end && (*q == 'e' || *q == 'E') && digits) {
            q++;
            if (q < s->end && (*q == '-' || *q == '+')) {
                eneg = *q++ == '-';
            }
            while (q < s->end && *q >= '0' && *q <= '9' && e < 100) {
                e = e * 10 + (*q++ - '0');
            }
        }
        k = (eneg ? -e : e) - frac;
        if (digits > 0 && digits <= 15 && q > s->p && q[-1] != '.' &&
            q[-1] != 'e' && q[-1] != 'E' && q[-1] != '-' && q[-1] != '+' &&
            k >= -22 && k <= 22 && (q == s->end || !is_num_char(*q))) {
            *d = k < 0 ? (double)mant / pow10[-k] : (double)mant * pow10[k];
            s->p = q;
            return 0;
        }
    }
    while (s->p + n < s->end && n < sizeof(tmp) - 1 && is_num_char(s->p[n])) {
        tmp[n] = s->p[n];
        n++;
    }
    if (n == 0) {
        return -1;
    }
    tmp[n] = '\0';
    *d = strtod(tmp, &end);
    if (*end != '\0' || !isfinite(*d)) {
        return -1;
    }
    s->p += n;
    return 0;
}

/*
 * Reads a member's key and the ':' after it; *k and *n receive the key,
 * in place when it is plain (the canonical form's keys always are), else
 * unescaped into buf (cap bytes).
 */
static int member_key(scan *s, char *buf, size_t cap, const char **k, size_t *n)
{
    const char *q = s->p + 1, *e = s->end;

    if (s->p < e && *s->p == '"') {
        while (q < e && plain[(unsigned char)*q]) {
            q++;
        }
        if (q + 1 < e && *q == '"' && q[1] == ':') {
            *k = s->p + 1;
            *n = (size_t)(q - *k);
            s->p = q + 2;
            return 0;
        }
    }
    *k = buf;
    return string(s, buf, cap, n) == 0 && lit(s, ':') ? 0 : -1;
}

/* Whether the key (k, n) is the string literal str. */
#define KEY_IS(k, n, str) ((n) == sizeof(str) - 1 && memcmp(k, str, n) == 0)

/* "top": [{"label": "...", "score": N}, ...] */
static int top_array(scan *s)
{
    size_t i = 0;

    if (!lit(s, '[')) {
        return -1;
    }
    if (lit(s, ']')) {
        return 0;
    }
    do {
        const char *label = NULL;
        double score = -1;
        int have_label = 0;

        if (!lit(s, '{') || i >= MAX_ITEMS) {
            return -1;
        }
        do {
            char buf[8];
            const char *key;
            size_t n;

            if (member_key(s, buf, sizeof(buf), &key, &n) != 0) {
                return -1;
            }
            if (KEY_IS(key, n, "label")) {
                if (value_string(s, &label) != 0) {
                    return -1;
                }
                have_label = 1;
            } else if (KEY_IS(key, n, "score")) {
                if (number(s, &score) != 0) {
                    return -1;
                }
            } else {
                return -1;
            }
        } while (lit(s, ','));
        if (!lit(s, '}') || !have_label || score < 0) {
            return -1;
        }
        if (i >= s->cap_top) {
            return -1;
        }
        s->top[i].label = label;
        s->top[i].score = score;
        i++;
    } while (lit(s, ','));
    s->ntop = i;
    return lit(s, ']') ? 0 : -1;
}

/* A head: a string, or an array of strings. techniques are kept. */
static int head(scan *s, const char *key, size_t n)
{
    const char *v;
    size_t i = 0;
    int is_tech = KEY_IS(key, n, "techniques");

    ws(s);
    if (s->p < s->end && *s->p == '"') {
        if (value_string(s, &v) != 0) {
            return -1;
        }
        if (KEY_IS(key, n, "complexity")) {
            s->complexity = v;
        }
        return 0;
    }
    if (!lit(s, '[')) {
        return -1;
    }
    if (lit(s, ']')) {
        return 0;
    }
    do {
        if (value_string(s, &v) != 0 || i >= MAX_ITEMS) {
            return -1;
        }
        if (is_tech) {
            if (i >= s->cap_tech) {
                return -1;
            }
            s->tech[i] = v;
        }
        i++;
    } while (lit(s, ','));
    if (is_tech) {
        s->ntech = i;
    }
    return lit(s, ']') ? 0 : -1;
}

/* Members that may appear once; a repeat would break the two passes. */
enum {
    SEEN_CONF = 1,
    SEEN_TOP = 2,
    SEEN_MODEL = 4,
    SEEN_TECH = 8,
    SEEN_COMPLEXITY = 16
};

static int once(unsigned *seen, unsigned bit)
{
    if (*seen & bit) {
        return -1;
    }
    *seen |= bit;
    return 0;
}

static int scan_object(scan *s)
{
    int first = 1, have_intent = 0;
    unsigned seen = 0;

    if (!lit(s, '{')) {
        return -1;
    }
    do {
        char buf[64];
        const char *key;
        size_t n;

        if (member_key(s, buf, sizeof(buf), &key, &n) != 0) {
            return -1;
        }
        if (KEY_IS(key, n, "intent")) {
            if (!first || value_string(s, &s->intent) != 0) {
                return -1; /* intent must come first, for the threshold */
            }
            have_intent = 1;
            s->intent_end = (size_t)(s->p - s->start);
        } else if (KEY_IS(key, n, "confidence")) {
            if (once(&seen, SEEN_CONF) != 0 || number(s, &s->confidence) != 0 ||
                s->confidence < 0 || s->confidence > 1) {
                return -1;
            }
            s->have_conf = 1;
        } else if (KEY_IS(key, n, "top")) {
            if (once(&seen, SEEN_TOP) != 0 || top_array(s) != 0) {
                return -1;
            }
        } else if (KEY_IS(key, n, "model")) {
            if (once(&seen, SEEN_MODEL) != 0 ||
                value_string(s, &s->model) != 0) {
                return -1;
            }
        } else if (KEY_IS(key, n, "source") || KEY_IS(key, n, "latency_us")) {
            return -1; /* per answer, never cached */
        } else if ((KEY_IS(key, n, "techniques") &&
                    once(&seen, SEEN_TECH) != 0) ||
                   (KEY_IS(key, n, "complexity") &&
                    once(&seen, SEEN_COMPLEXITY) != 0) ||
                   head(s, key, n) != 0) {
            return -1;
        }
        first = 0;
    } while (lit(s, ','));
    ws(s);
    s->close = (size_t)(s->p - s->start);
    if (!lit(s, '}')) {
        return -1;
    }
    ws(s);
    return have_intent && s->have_conf && s->p == s->end ? 0 : -1;
}

int tc__result_decode(tc_result **out, const char *json, size_t len,
                      tc_source source, double threshold, int64_t t0_us)
{
    size_t intent_end, close;

    return tc__result_decode_at(out, &intent_end, &close, json, len, source,
                                threshold, t0_us);
}

int tc__result_decode_at(tc_result **out, size_t *intent_end, size_t *close,
                         const char *json, size_t len, tc_source source,
                         double threshold, int64_t t0_us)
{
    scan s;
    tc_result *r;
    char *block, *outjson;
    size_t head, body, size, maxtop, maxtech;
    int below;

    *out = NULL;
    if (len > ((size_t)1 << 24)) {
        return TC_EPROTO; /* no classification is that large */
    }
    /*
     * One pass, into one block sized from the text's length: unescaped
     * strings are never longer than their JSON, a "top" entry takes at
     * least 22 bytes of JSON and a technique at least 3, and the output
     * is at most the input plus "unknown", source and latency.
     */
    maxtop = len / 22 + 1;
    maxtech = len / 3 + 1;
    size = sizeof(*r) + maxtop * sizeof(tc_label_score) +
           maxtech * sizeof(char *) + (len + 1) + (len + 20) +
           TC__RESULT_TAIL_MAX;
    if (!(block = tc__malloc(size))) {
        return TC_ENOMEM;
    }
    r = (tc_result *)block;
    memset(&s, 0, sizeof(s));
    memset(r, 0, sizeof(*r));
    s.p = s.start = json;
    s.end = json + len;
    s.top = (tc_label_score *)(block + sizeof(*r));
    s.cap_top = maxtop;
    s.tech = (const char **)(s.top + maxtop);
    s.cap_tech = maxtech;
    s.strs = (char *)(s.tech + maxtech);
    s.strs_end = s.strs + len + 1;
    outjson = s.strs_end;
    if (scan_object(&s) != 0) {
        tc__free(block);
        return TC_EPROTO;
    }
    below = s.confidence < threshold;
    /* the output JSON: the value with "unknown" spliced in when below
     * the threshold, and source and latency appended */
    head = below ? strlen("{\"intent\":\"" TC__UNKNOWN_INTENT "\"") : 0;
    body = below ? s.close - s.intent_end : s.close;
    r->confidence = s.confidence;
    r->intent = below ? TC__UNKNOWN_INTENT : s.intent;
    r->top = s.top;
    r->ntop = s.ntop;
    r->complexity = s.complexity;
    r->techniques = s.tech;
    r->ntechniques = s.ntech;
    r->model = s.model ? s.model : "";
    r->source = source;
    r->latency_us = tc__now_us() - t0_us;
    if (below) {
        memcpy(outjson, "{\"intent\":\"" TC__UNKNOWN_INTENT "\"", head);
        memcpy(outjson + head, json + s.intent_end, body);
    } else {
        memcpy(outjson, json, body);
    }
    tc__result_tail(outjson + head + body, source, r->latency_us);
    r->json = outjson;
    *out = r;
    *intent_end = s.intent_end;
    *close = s.close;
    return TC_OK;
}

char *tc__result_tail(char *o, tc_source source, int64_t latency_us)
{
    /* by hand: this runs on every cache hit */
    const char *src = tc__source_name(source);
    size_t n = strlen(src);
    char digits[24];
    uint64_t v = latency_us > 0 ? (uint64_t)latency_us : 0;
    int k = 0;

    do {
        digits[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(o, ",\"source\":\"", 11);
    o += 11;
    memcpy(o, src, n);
    o += n;
    memcpy(o, "\",\"latency_us\":", 15);
    o += 15;
    while (k) {
        *o++ = digits[--k];
    }
    *o++ = '}';
    *o = '\0';
    return o;
}

const char *tc__source_name(tc_source source)
{
    switch (source) {
    case TC_SOURCE_L1:
        return "l1";
    case TC_SOURCE_L2:
        return "l2";
    case TC_SOURCE_FEEDBACK:
        return "feedback";
    default:
        return "model";
    }
}
