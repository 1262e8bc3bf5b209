/*
 * seal_store.c - encryption at rest, as a store over the store: every
 * value the cache writes to the L2 passes its mset and every value it
 * reads its mget, whichever file of the cache does it (a get, a batch, a
 * fill, a coherence re-read), so sealing has one home and no store knows
 * of it. A value is sealed bound to its full key (base/seal.c); one that
 * does not open is a miss, counted and logged at most once per interval,
 * never an error and never its bytes. L1 keeps plaintext: it is this
 * process's memory. A namespace's generation ("tc:<prefix>:gen", an
 * integer the store's incr keeps) is no value and stays as it is.
 */
#include <string.h>

#include "cache/tiers.h"

typedef struct seal_store {
    tc__store base; /* ops: this file's table */
    tc__store_ops ops;
    tc__store *inner;
    const tc__keyring *keys;
    const tc__logger *log;
    tc__ratelimit rl;
    _Atomic uint64_t *failures; /* the cache's (tc__cache_seal_failures) */
} seal_store;

static seal_store *of(tc__store *s)
{
    return (seal_store *)s;
}

/* Whether key names a namespace's generation, which is not sealed. */
static int is_gen(const char *key)
{
    size_t n = strlen(key);

    return n > 4 && memcmp(key + n - 4, ":gen", 4) == 0;
}

static void open_failed(seal_store *ss, const char *key)
{
    const char *fields[] = {"key", key, "reason",
                            "sealed value does not open (damaged, moved to "
                            "another key, or sealed by a key not held)",
                            NULL};

    atomic_fetch_add_explicit(ss->failures, 1, memory_order_relaxed);
    tc__log_limited(ss->log, &ss->rl, TC_LOG_WARN, "l2_decrypt_failed", fields);
}

static int seal_mget(tc__store *s, tc__store_get *items, size_t n, tc__err *err)
{
    seal_store *ss = of(s);
    int rc = ss->inner->ops->mget(ss->inner, items, n, err);

    for (size_t i = 0; rc == TC_OK && i < n; i++) {
        tc__store_get *it = &items[i];

        if (it->status != TC_OK || is_gen(it->key)) {
            continue;
        }
        if (tc__seal_open(ss->keys, it->key, strlen(it->key),
                          (unsigned char *)it->val, &it->len) != TC_OK) {
            open_failed(ss, it->key);
            tc__free(it->val);
            it->val = NULL;
            it->len = 0;
            it->status = TC_MISS;
        }
    }
    return rc;
}

static int seal_mset(tc__store *s, tc__store_set *items, size_t n, tc__err *err)
{
    seal_store *ss = of(s);
    tc__store_set *sealed;
    unsigned char *p;
    size_t total = 0;
    int rc;

    for (size_t i = 0; i < n; i++) {
        if (items[i].len > SIZE_MAX / 2 - total - TC__SEAL_OVERHEAD) {
            return tc__errf(err, TC_ETOOBIG, "values of the batch too large");
        }
        total += items[i].len + TC__SEAL_OVERHEAD;
    }
    sealed = tc__malloc(n * sizeof(*sealed) + (total ? total : 1));
    if (!sealed) {
        return tc__errf(err, TC_ENOMEM, "sealing: out of memory");
    }
    p = (unsigned char *)(sealed + n);
    for (size_t i = 0; i < n; i++) {
        sealed[i] = items[i];
        if (!items[i].key) {
            continue; /* refused by the store's own check */
        }
        tc__seal(ss->keys, items[i].key, strlen(items[i].key), p,
                 items[i].val ? items[i].val : "", items[i].len);
        sealed[i].val = p;
        sealed[i].len = items[i].len + TC__SEAL_OVERHEAD;
        p += sealed[i].len;
    }
    rc = ss->inner->ops->mset(ss->inner, sealed, n, err);
    for (size_t i = 0; i < n; i++) {
        items[i].status = sealed[i].status;
    }
    tc__free(sealed); /* cipher text only: nothing to wipe */
    return rc;
}

/* ---- the rest goes through untouched ----------------------------------- */

static int seal_del(tc__store *s, const char *key, tc__err *err)
{
    return of(s)->inner->ops->del(of(s)->inner, key, err);
}

static int seal_incr(tc__store *s, const char *key, int64_t *out, tc__err *err)
{
    return of(s)->inner->ops->incr(of(s)->inner, key, out, err);
}

static int seal_ping(tc__store *s, tc__err *err)
{
    return of(s)->inner->ops->ping(of(s)->inner, err);
}

static void seal_health(tc__store *s, tc__store_health *out)
{
    of(s)->inner->ops->health(of(s)->inner, out);
}

static int seal_resting(tc__store *s)
{
    return of(s)->inner->ops->resting(of(s)->inner);
}

static int seal_track(tc__store *s, const tc__track_spec *spec, void **out,
                      tc__err *err)
{
    return of(s)->inner->ops->track(of(s)->inner, spec, out, err);
}

static void seal_close(tc__store *s)
{
    if (s) {
        of(s)->inner->ops->close(of(s)->inner);
        tc__free(s);
    }
}

int tc__seal_store_wrap(tc__store **out, tc__store *inner,
                        const tc__keyring *keys, const tc__logger *log,
                        _Atomic uint64_t *failures)
{
    seal_store *ss = tc__calloc(1, sizeof(*ss));

    *out = inner;
    if (!ss) {
        return TC_ENOMEM;
    }
    ss->ops = *inner->ops; /* kind, fb, fb_tag and untrack as they are */
    ss->ops.mget = seal_mget;
    ss->ops.mset = seal_mset;
    ss->ops.del = seal_del;
    ss->ops.incr = seal_incr;
    ss->ops.ping = seal_ping;
    ss->ops.health = seal_health;
    ss->ops.resting = seal_resting;
    ss->ops.track = inner->ops->track ? seal_track : NULL;
    ss->ops.close = seal_close;
    ss->base.ops = &ss->ops;
    ss->inner = inner;
    ss->keys = keys;
    ss->log = log;
    ss->failures = failures;
    *out = &ss->base;
    return TC_OK;
}
