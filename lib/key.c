/*
 * key.c - keys from XXH3-128 and canonical JSON key material. Keys are
 * hashes so that no caller input can forge another entry's key or reach
 * the store's command syntax; the canonical form makes equal JSON objects
 * (in any key order, any number spelling) share one entry.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <xxhash.h>

#include "internal.h"
#include "key.h"

void tc__key_hash(tc__hash *out, const char *prefix, uint64_t gen,
                  const void *key, size_t keylen)
{
    /*
     * Generation 0 (a namespace never invalidated) hashes with the seed of
     * the prefix alone, so another language can compute the key of a
     * fresh namespace from the prefix and the key bytes.
     */
    XXH64_hash_t seed = XXH3_64bits_withSeed(prefix, strlen(prefix), gen);
    XXH128_hash_t h = XXH3_128bits_withSeed(key, keylen, seed);

    out->lo = h.low64;
    out->hi = h.high64;
}

void tc__key_format(char *buf, const char *prefix, const tc__hash *h)
{
    snprintf(buf, TC_KEY_MAX, "tc:%s:%016llx%016llx", prefix,
             (unsigned long long)h->hi, (unsigned long long)h->lo);
}

/* ---- canonical JSON ---------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (n + 1 > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 64;
        char *p;

        while (n + 1 > cap - b->len) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            cap *= 2;
        }
        p = tc__realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void put_json_string(sbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    const unsigned char *run = u;

    sb_put(b, "\"", 1);
    for (; *u; u++) {
        char esc[6] = {'\\', 'u', '0', '0', 0, 0};

        if (*u != '"' && *u != '\\' && *u >= 0x20) {
            continue;
        }
        sb_put(b, (const char *)run, (size_t)(u - run));
        if (*u == '"' || *u == '\\') {
            esc[1] = (char)*u;
            sb_put(b, esc, 2);
        } else {
            esc[4] = hex[*u >> 4];
            esc[5] = hex[*u & 15];
            sb_put(b, esc, 6);
        }
        run = u + 1;
    }
    sb_put(b, (const char *)run, (size_t)(u - run));
    sb_put(b, "\"", 1);
}

/*
 * One spelling per number: integers within 2^53 as integers, others in
 * the shortest %g form that reads back to the same double, and -0 as 0.
 */
static void put_number(sbuf *b, double d)
{
    char tmp[40];
    int prec;

    if (d == 0) {
        d = 0;
    }
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
        snprintf(tmp, sizeof(tmp), "%.0f", d);
        sb_str(b, tmp);
        return;
    }
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d) {
            break;
        }
    }
    sb_str(b, tmp);
}

static int cmp_items(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a;
    const cJSON *y = *(const cJSON *const *)b;

    return strcmp(x->string, y->string);
}

static int put_value(sbuf *b, const cJSON *v, int depth);

static int put_object(sbuf *b, const cJSON *obj, int depth)
{
    const cJSON **items;
    const cJSON *it;
    size_t n = 0, i;
    int rc = TC_OK;

    for (it = obj->child; it; it = it->next) {
        n++;
    }
    items = tc__calloc(n ? n : 1, sizeof(*items));
    if (!items) {
        return TC_ENOMEM;
    }
    n = 0;
    for (it = obj->child; it; it = it->next) {
        items[n++] = it;
    }
    qsort(items, n, sizeof(*items), cmp_items);
    sb_put(b, "{", 1);
    for (i = 0; i < n && rc == TC_OK; i++) {
        if (i > 0 && strcmp(items[i - 1]->string, items[i]->string) == 0) {
            rc = TC_EINVAL; /* a duplicate key has no canonical form */
            break;
        }
        if (i) {
            sb_put(b, ",", 1);
        }
        put_json_string(b, items[i]->string);
        sb_put(b, ":", 1);
        rc = put_value(b, items[i], depth + 1);
    }
    sb_put(b, "}", 1);
    tc__free(items);
    return rc;
}

static int put_value(sbuf *b, const cJSON *v, int depth)
{
    const cJSON *it;

    if (depth > 64) {
        return TC_EINVAL;
    }
    if (cJSON_IsObject(v)) {
        return put_object(b, v, depth);
    }
    if (cJSON_IsArray(v)) {
        int rc = TC_OK;

        sb_put(b, "[", 1);
        for (it = v->child; it && rc == TC_OK; it = it->next) {
            if (it != v->child) {
                sb_put(b, ",", 1);
            }
            rc = put_value(b, it, depth + 1);
        }
        sb_put(b, "]", 1);
        return rc;
    }
    if (cJSON_IsString(v)) {
        put_json_string(b, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        if (!isfinite(v->valuedouble)) {
            return TC_EINVAL; /* 1e400, or a bucket that overflowed */
        }
        put_number(b, v->valuedouble);
    } else if (cJSON_IsTrue(v)) {
        sb_str(b, "true");
    } else if (cJSON_IsFalse(v)) {
        sb_str(b, "false");
    } else {
        sb_str(b, "null");
    }
    return TC_OK;
}

/*
 * Whether a JSON string in s has an escaped NUL (\u0000). cJSON's strings
 * end at a NUL, so "a\u0000b" would read as "a": two different objects
 * would share one canonical form.
 */
static int has_nul_escape(const char *s)
{
    int in = 0;

    for (; *s; s++) {
        if (!in) {
            in = *s == '"';
        } else if (*s == '"') {
            in = 0;
        } else if (*s == '\\') {
            if (s[1] == 'u' && strncmp(s + 2, "0000", 4) == 0) {
                return 1;
            }
            if (s[1]) {
                s++; /* the escaped character */
            }
        }
    }
    return 0;
}

TC_API int tc_key_canonical(char **out, const char *json,
                            const char *const *bucket_fields,
                            const double *bucket_sizes, size_t nbuckets)
{
    cJSON *root;
    sbuf b = {NULL, 0, 0, 0};
    size_t i;
    int rc;

    if (out) {
        *out = NULL;
    }
    tc__clear(NULL);
    if (!out || !json || (nbuckets && (!bucket_fields || !bucket_sizes))) {
        return tc__fail(NULL, TC_EINVAL, "NULL argument");
    }
    if (has_nul_escape(json)) {
        return tc__fail(NULL, TC_EINVAL, "a string holds \\u0000");
    }
    tc__oom_take();
    /* one object and nothing after it but white space */
    root = cJSON_ParseWithOpts(json, NULL, 1);
    if (!root) {
        if (tc__oom_take()) {
            return tc__fail(NULL, TC_ENOMEM, "out of memory");
        }
        return tc__fail(NULL, TC_EINVAL, "not valid JSON");
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return tc__fail(NULL, TC_EINVAL, "not a JSON object");
    }
    for (i = 0; i < nbuckets; i++) {
        cJSON *f = cJSON_GetObjectItemCaseSensitive(root, bucket_fields[i]);
        double size = bucket_sizes[i];

        if (!(size > 0) || !isfinite(size)) {
            cJSON_Delete(root);
            return tc__fail(NULL, TC_EINVAL, "bucket size of %s: not > 0",
                            bucket_fields[i]);
        }
        if (!f) {
            continue; /* an absent field is part of the key as absent */
        }
        if (!cJSON_IsNumber(f)) {
            cJSON_Delete(root);
            return tc__fail(NULL, TC_EINVAL, "field %s: not a number",
                            bucket_fields[i]);
        }
        cJSON_SetNumberValue(f, floor(f->valuedouble / size) * size);
    }
    rc = put_value(&b, root, 0);
    cJSON_Delete(root);
    if (rc == TC_OK && b.oom) {
        rc = TC_ENOMEM;
    }
    if (rc != TC_OK) {
        tc__free(b.p);
        return tc__fail(NULL, rc, "%s",
                        rc == TC_ENOMEM ? "out of memory"
                                        : "duplicate key, number out of range "
                                          "or nesting too deep");
    }
    *out = b.p;
    return TC_OK;
}
