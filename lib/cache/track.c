/*
 * track.c - L1 kept coherent with the writes of other processes: the
 * store tells the cache which L2 keys changed (store.h, track), and each
 * becomes the L1 entry it names, since an L2 key "tc:<prefix>:<hex>"
 * spells the very hash the L1 is keyed by (key.c). A namespace's
 * generation key "tc:<prefix>:gen" makes its generation be read again.
 *
 * Why no old value stays in L1, whatever the scheduling. Redis sends a
 * write's invalidation on the tracking connection after it ran the write,
 * and the reply to a read on the data connection; the two sockets are
 * read by different threads, in no guaranteed order. So the argument
 * rests only on this: the invalidation of a write W of key k is handled
 * here (on_invalidate) after W ran, and a read sent after that handling
 * sees W or a later write. An L1 entry of k gets there in one of two
 * ways, and each is covered:
 *
 *  - A fill with a value v read from the L2 (cache.c, batch.c). It read
 *    its slot's sequence before it sent the read, and the L1 stores v,
 *    under the shard's lock, only if the sequence has not moved. Let W be
 *    any write of k that v does not include, so W ran after the read:
 *    W's handling comes after the sequence was read. If it moves the
 *    sequence (tc__l1_invalidate, under the same lock) before the store,
 *    the store is refused; if after, the entry is there, it is "held",
 *    and check_held reads k again (after W, so W's value or a later one)
 *    and drops the entry unless it holds that value.
 *  - A refused fill (tc__cache_keep_checked): v is stored unchecked,
 *    which every read takes for a miss, then k is read again and the
 *    entry served from then on only if that read returned v; otherwise,
 *    or when the read fails, it is removed. A write handled before that
 *    store ran before the read, which shows it; one handled after finds
 *    the entry held, as above. Only the entry this store made is
 *    confirmed (a stamp): one another thread stored in its place came
 *    after this read was sent, and waits for its own. So no reader is
 *    ever served v after the
 *    invalidation of a write v does not include. (It used to read again
 *    as a fill and, racing a second time, store v where readers saw it
 *    and trust a third read to remove it; when that read failed, such as
 *    when the call's deadline was spent by then, as under valgrind, the
 *    old value stayed for the whole L1 TTL.)
 *  - A write of this process (tc__cache_store_split, batch.c, and a
 *    feedback override, tc__cache_l1_before/after), stored in
 *    L1 before its L2 write is sent. Any write W' of k handled after that
 *    store finds the entry held and checks it against the L2, whether W'
 *    ran before ours or after; a W' handled before the store ran before
 *    ours. The invalidation of our own write finds the entry held too,
 *    and the check keeps it while the L2 still holds it. After the write
 *    returns (tc__cache_wrote), nothing more is needed when L1 still holds
 *    the value; else (a check dropped it, as the late check of an earlier
 *    write of k does when its read came before ours ran, or a fill of
 *    this process replaced it) it is stored as a fill whose sequence was
 *    read before the first store, which is the first case with our write
 *    as the read, and when that fill is refused, as the second. So a
 *    process's own write stays in its L1 unless a write of the key by
 *    another process came between, a read of the L2 failed, or the check
 *    of an earlier write of the key by this process read the L2 before
 *    ours ran and its answer came after tc__cache_wrote (writes of one
 *    key in quick succession); and the usual write costs its caller no
 *    round trip more than without tracking (the check of its
 *    invalidation is one GET on the tracking thread).
 *
 * A check whose read fails drops what it checks, and a lost or new
 * tracking connection moves every sequence and empties the L1 (writes
 * made while nobody listened were not heard).
 */
#include <stdlib.h>
#include <string.h>

#include "cache/tiers.h"

#define GEN_SUFFIX "gen"
/* Hex digits of an L2 key's hash (key.c: hi then lo, 16 each). */
#define HASH_HEX 32

static int hex_word(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    for (int i = 0; i < HASH_HEX / 2; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                                            : 16u;

        if (d > 15) {
            return -1;
        }
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* The namespace whose prefix is p (n bytes), or NULL. */
static tc__nsrt *ns_of_prefix(tc__cache *h, const char *p, size_t n)
{
    for (size_t i = 0; i < h->nns; i++) {
        const char *q = h->ns[i].def->prefix;

        if (strlen(q) == n && memcmp(q, p, n) == 0) {
            return &h->ns[i];
        }
    }
    return NULL;
}

/* The generation changed elsewhere: the next call reads it, and a read
 * under way when it changed reads again (tc__cache_gen). */
static void gen_changed(tc__nsrt *ns)
{
    atomic_fetch_add(&ns->gen_inval, 1);
    atomic_store(&ns->gen_seen_ms, INT64_MIN / 2);
}

/*
 * Reads again the keys whose entries L1 holds, and drops each entry that
 * does not hold what the L2 now has; a failed read drops them all.
 */
static void check_held(tc__cache *h, tc__hash *held, const char *const *keys,
                       size_t n)
{
    tc__store_get gets[64];
    tc__err err;
    int rc;

    memset(gets, 0, sizeof(gets));
    for (size_t i = 0; i < n; i++) {
        gets[i].key = keys[i];
    }
    err.msg[0] = '\0';
    rc = h->store->ops->mget(h->store, gets, n, &err);
    for (size_t i = 0; i < n; i++) {
        int same = rc == TC_OK && gets[i].status == TC_OK;

        tc__l1_drop_unless(h->l1, &held[i], same ? gets[i].val : NULL,
                           same ? gets[i].len : 0);
    }
    if (rc == TC_OK) {
        tc__store_get_release(gets, n);
    }
}

/* The store's callback (tc__track_spec), on the store's thread. */
static void on_invalidate(void *ud, const char *const *keys, size_t n)
{
    tc__cache *h = ud;
    const char *hkeys[64];
    tc__hash held[64];
    size_t nheld = 0;

    if (!keys) {
        tc__l1_invalidate_all(h->l1);
        for (size_t i = 0; i < h->nns; i++) {
            gen_changed(&h->ns[i]);
        }
        return;
    }
    for (size_t i = 0; i < n && i < 64; i++) {
        const char *k = keys[i], *colon = strrchr(k, ':');
        tc__nsrt *ns;
        tc__hash hk;

        if (strncmp(k, "tc:", 3) != 0 || !colon || colon < k + 3) {
            continue;
        }
        if (strcmp(colon + 1, GEN_SUFFIX) == 0) {
            ns = ns_of_prefix(h, k + 3, (size_t)(colon - k - 3));
            if (ns) {
                gen_changed(ns);
            }
        } else if (strlen(colon + 1) == HASH_HEX &&
                   hex_word(colon + 1, &hk.hi) == 0 &&
                   hex_word(colon + 1 + HASH_HEX / 2, &hk.lo) == 0 &&
                   tc__l1_invalidate(h->l1, &hk)) {
            held[nheld] = hk;
            hkeys[nheld++] = k;
        }
    }
    if (nheld) {
        check_held(h, held, hkeys, nheld);
    }
}

/* Reads ns's key hk from the L2 into it (release it after); TC_OK or the
 * store's failure. */
static int get_one(tc__cache *h, tc__nsrt *ns, const tc__hash *hk,
                   char key[TC_KEY_MAX], tc__store_get *it)
{
    tc__err err;

    tc__key_format(key, ns->def->prefix, hk);
    memset(it, 0, sizeof(*it));
    it->key = key;
    err.msg[0] = '\0';
    return h->store->ops->mget(h->store, it, 1, &err);
}

void tc__cache_wrote(tc__cache *h, tc__nsrt *ns, const tc__hash *hk,
                     const void *val, size_t len, int64_t exp, int64_t now,
                     uint64_t seq)
{
    if (tc__l1_holds(h->l1, hk, val, len, now)) {
        return; /* the value stored before the write, checked if need be */
    }
    if (tc__l1_fill(h->l1, hk, val, len, exp, now, seq, 0) != TC__L1_RACED) {
        return;
    }
    tc__cache_keep_checked(h, ns, hk, val, len, exp, now);
}

void tc__cache_keep_checked(tc__cache *h, tc__nsrt *ns, const tc__hash *hk,
                            const void *val, size_t len, int64_t exp,
                            int64_t now)
{
    char key[TC_KEY_MAX];
    tc__store_get it;
    uint64_t stamp;
    int same;

    if (tc__l1_set_unchecked(h->l1, hk, val, len, exp, now, &stamp) != TC_OK) {
        return;
    }
    same = get_one(h, ns, hk, key, &it) == TC_OK && it.status == TC_OK;
    tc__l1_confirm(h->l1, hk, stamp, same ? it.val : NULL, same ? it.len : 0);
    tc__store_get_release(&it, 1);
}

/* Whether prefix p is covered by another of the n (Redis refuses two
 * prefixes of which one starts the other); the first of equals stays. */
static int covered(char **p, size_t n, size_t i)
{
    for (size_t j = 0; j < n; j++) {
        size_t lj = strlen(p[j]);

        if (j != i && strncmp(p[i], p[j], lj) == 0 &&
            (strlen(p[i]) > lj || j < i)) {
            return 1;
        }
    }
    return 0;
}

void tc__cache_track_start(tc__cache *h)
{
    tc__track_spec spec;
    char **all, **kept;
    size_t n = 0, i;
    tc__err err;
    int rc;

    if (!h->store || !h->store->ops->track || !h->cfg.store.tracking ||
        !h->cfg.enable_caching) {
        return;
    }
    all = tc__calloc(h->nns + 1, sizeof(*all));
    kept = tc__calloc(h->nns + 1, sizeof(*kept));
    for (i = 0; all && kept && i < h->nns; i++) {
        size_t len = strlen(h->ns[i].def->prefix) + 5;

        if (!(all[i] = tc__malloc(len))) {
            break;
        }
        memcpy(all[i], "tc:", 3);
        memcpy(all[i] + 3, h->ns[i].def->prefix, len - 5);
        memcpy(all[i] + len - 2, ":", 2);
    }
    err.msg[0] = '\0';
    if (!all || !kept || i < h->nns) {
        rc = tc__errf(&err, TC_ENOMEM, "out of memory");
    } else {
        for (i = 0; i < h->nns; i++) {
            if (!covered(all, h->nns, i)) {
                kept[n++] = all[i];
            }
        }
        spec.prefixes = (const char *const *)kept;
        spec.nprefixes = n;
        spec.invalidate = on_invalidate;
        spec.ud = h;
        rc = h->store->ops->track(h->store, &spec, &h->tracker, &err);
    }
    for (i = 0; all && i < h->nns; i++) {
        tc__free(all[i]);
    }
    tc__free(all);
    tc__free(kept);
    if (rc != TC_OK) {
        /* not a failure of the open: L1 entries stay bound by l1_ttl */
        const char *f[] = {"store", h->cfg.store.url_masked, "detail", err.msg,
                           NULL};

        tc__log(&h->log, TC_LOG_WARN, "l1_tracking_unavailable", f);
    }
}

void tc__cache_track_stop(tc__cache *h)
{
    if (h->tracker) {
        h->store->ops->untrack(h->tracker);
        h->tracker = NULL;
    }
}
