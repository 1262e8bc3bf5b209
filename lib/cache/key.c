/*
 * key.c - keys from XXH3-128 (or, with a key secret, keyed BLAKE2b) and
 * canonical JSON key material. Keys are hashes so that no caller input
 * can forge another entry's key or reach the store's command syntax; the
 * canonical form makes equal JSON objects (in any key order, any number
 * spelling) share one entry. XXH3 is the fast default, but anyone can
 * compute it: a reader of the store could confirm a guessed question by
 * its key. A keyed hash, whose key the store never sees, cannot.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <xxhash.h>

#include "base/bytes.h"
#include "base/internal.h"
#include "base/seal.h"
#include "cache/key.h"
#include "base/sbuf.h"

void tc__key_hash(tc__hash *out, const char *prefix, uint64_t gen,
                  const void *key, size_t keylen, const unsigned char *secret)
{
    if (secret) {
        /* the prefix with its NUL, then the generation: no two
         * (prefix, generation) pairs hash the same bytes */
        unsigned char pg[TC_KEY_MAX + 8];
        size_t n = strlen(prefix) + 1;

        if (n > TC_KEY_MAX) {
            n = TC_KEY_MAX; /* prefixes are at most 32 bytes (config.c) */
        }
        memcpy(pg, prefix, n);
        tc__put_le64(pg + n, gen);
        tc__keyed_hash128(&out->lo, &out->hi, secret, pg, n + 8, key, keylen);
        return;
    }
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
    /* by hand: snprintf was 40 % of the instructions of an L2 get */
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(prefix);
    char *p = buf;
    int i;

    if (n > TC_KEY_MAX - 38) {
        n = TC_KEY_MAX - 38; /* prefixes are at most 32 bytes (config.c) */
    }
    memcpy(p, "tc:", 3);
    p += 3;
    memcpy(p, prefix, n);
    p += n;
    *p++ = ':';
    for (i = 60; i >= 0; i -= 4) {
        *p++ = hex[(h->hi >> i) & 15];
    }
    for (i = 60; i >= 0; i -= 4) {
        *p++ = hex[(h->lo >> i) & 15];
    }
    *p = '\0';
}

/* ---- canonical JSON ---------------------------------------------------- */

static int cmp_items(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a;
    const cJSON *y = *(const cJSON *const *)b;

    return strcmp(x->string, y->string);
}

static int put_value(tc__sb *b, const cJSON *v, int depth);

static int put_object(tc__sb *b, const cJSON *obj, int depth)
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
    tc__sb_put(b, "{", 1);
    for (i = 0; i < n && rc == TC_OK; i++) {
        if (i > 0 && strcmp(items[i - 1]->string, items[i]->string) == 0) {
            rc = TC_EINVAL; /* a duplicate key has no canonical form */
            break;
        }
        if (i) {
            tc__sb_put(b, ",", 1);
        }
        tc__sb_json_string(b, items[i]->string);
        tc__sb_put(b, ":", 1);
        rc = put_value(b, items[i], depth + 1);
    }
    tc__sb_put(b, "}", 1);
    tc__free(items);
    return rc;
}

static int put_value(tc__sb *b, const cJSON *v, int depth)
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

        tc__sb_put(b, "[", 1);
        for (it = v->child; it && rc == TC_OK; it = it->next) {
            if (it != v->child) {
                tc__sb_put(b, ",", 1);
            }
            rc = put_value(b, it, depth + 1);
        }
        tc__sb_put(b, "]", 1);
        return rc;
    }
    if (cJSON_IsString(v)) {
        tc__sb_json_string(b, v->valuestring);
    } else if (cJSON_IsNumber(v)) {
        if (!isfinite(v->valuedouble)) {
            return TC_EINVAL; /* 1e400, or a bucket that overflowed */
        }
        tc__sb_json_number(b, v->valuedouble);
    } else if (cJSON_IsTrue(v)) {
        tc__sb_str(b, "true");
    } else if (cJSON_IsFalse(v)) {
        tc__sb_str(b, "false");
    } else {
        tc__sb_str(b, "null");
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

/* ---- bucketing --------------------------------------------------------- */

/*
 * The decimals of size as it is written shortest (0.1: 1, 0.25: 2, 7: 0,
 * 1e-3: 3), or -1 when that is more than BUCKET_DECIMALS_MAX.
 */
#define BUCKET_DECIMALS_MAX 30

static int size_decimals(double size)
{
    char tmp[40];
    int prec, d = -1;

    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, size);
        if (strtod(tmp, NULL) == size) {
            /* prec - 1 digits after the point, times 10^exp */
            d = prec - 1 - atoi(strchr(tmp, 'e') + 1);
            d = d < 0 ? 0 : d;
            break;
        }
    }
    return d <= BUCKET_DECIMALS_MAX ? d : -1;
}

/*
 * The bound of bucket k: k * size, written with the size's decimals when
 * it has few (43 * 0.1 is 4.300000000000001; the bound is 4.3). Rounding
 * is monotone at each step, so the bounds never decrease with k.
 */
static double bucket_bound(double k, double size, int decimals)
{
    char tmp[DBL_MAX_10_EXP + BUCKET_DECIMALS_MAX + 8];
    double b = k * size;

    if (decimals < 0 || !isfinite(b)) {
        return b;
    }
    snprintf(tmp, sizeof(tmp), "%.*f", decimals, b);
    return strtod(tmp, NULL);
}

/*
 * The bound of the bucket of width size that holds x: the last k whose
 * bound is at most x. floor(x / size) alone is not enough: 0.1 is not
 * exact in binary, so 4.3 / 0.1 is 42.99999999999999 and 4.3 would fall in
 * the bucket of 4.2. So k is stepped until bound(k) <= x < bound(k + 1),
 * with the bounds as they are written. Bucketing is then a fixed point:
 * a bound is the last bound at most itself, so it is its own bound.
 */
static double bucket_floor(double x, double size)
{
    double q = x / size, k;
    int d;

    if (!isfinite(q)) {
        return q; /* refused by put_value */
    }
    if (fabs(q) >= 1 / DBL_EPSILON) {
        return x; /* a bucket narrower than x's ULP: x is its own bound */
    }
    d = size_decimals(size);
    k = floor(q);
    while (bucket_bound(k, size, d) > x) {
        k--;
    }
    while (bucket_bound(k + 1, size, d) <= x) {
        k++;
    }
    return bucket_bound(k, size, d);
}

int tc__key_canonical(char **out, const char *json,
                      const char *const *bucket_fields,
                      const double *bucket_sizes, size_t nbuckets)
{
    cJSON *root;
    tc__sb b = {NULL, 0, 0, 0};
    size_t i;
    int rc;

    if (has_nul_escape(json)) {
        return tc__fail(TC_EINVAL, "a string holds \\u0000");
    }
    tc__oom_take();
    /* one object and nothing after it but white space */
    root = cJSON_ParseWithOpts(json, NULL, 1);
    if (!root) {
        if (tc__oom_take()) {
            return tc__fail(TC_ENOMEM, "out of memory");
        }
        return tc__fail(TC_EINVAL, "not valid JSON");
    }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return tc__fail(TC_EINVAL, "not a JSON object");
    }
    for (i = 0; i < nbuckets; i++) {
        cJSON *f = cJSON_GetObjectItemCaseSensitive(root, bucket_fields[i]);
        double size = bucket_sizes[i];

        if (!(size > 0) || !isfinite(size)) {
            cJSON_Delete(root);
            return tc__fail(TC_EINVAL, "bucket size of %s: not > 0",
                            bucket_fields[i]);
        }
        if (!f) {
            continue; /* an absent field is part of the key as absent */
        }
        if (!cJSON_IsNumber(f)) {
            cJSON_Delete(root);
            return tc__fail(TC_EINVAL, "field %s: not a number",
                            bucket_fields[i]);
        }
        cJSON_SetNumberValue(f, bucket_floor(f->valuedouble, size));
    }
    rc = put_value(&b, root, 0);
    cJSON_Delete(root);
    if (rc == TC_OK && b.oom) {
        rc = TC_ENOMEM;
    }
    if (rc != TC_OK) {
        tc__free(b.p);
        return tc__fail(rc, "%s",
                        rc == TC_ENOMEM ? "out of memory"
                                        : "duplicate key, number out of range "
                                          "or nesting too deep");
    }
    *out = b.p;
    return TC_OK;
}
