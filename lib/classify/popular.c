/*
 * popular.c - popularity tracking (track_popular). A classification
 * counts its normalized text in a table of this process (one hash and
 * one mutex: no round trip on the caller's path); a thread of the
 * handle's own sends the table to the store's popularity table every
 * TC__POP_FLUSH_MS, or sooner once TC__POP_FLUSH_AT distinct texts wait,
 * and at close. A crash loses what was counted since the last send: at
 * most about a second of requests.
 *
 * The store keeps each text under an id, the namespace-style key of the
 * normalized text ("tc:pop:<hex>", keyed BLAKE2b with a key secret, as
 * every other key), and, with encryption at rest, the text sealed bound
 * to that id, as any stored value is: the store never holds a text in
 * clear when the cache does not.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/ticker.h"
#include "cache/key.h"
#include "classify/classifier.h"
#include "classify/popular.h"

/* Slots of the table in process: twice the most texts it takes. */
#define SLOTS (4 * TC__POP_FLUSH_AT)
#define MAX_WAITING (2 * TC__POP_FLUSH_AT)
#define ID_LEN TC_KEY_MAX

typedef struct pending {
    tc__hash h;
    uint64_t count; /* 0: a free slot */
    char *text;     /* the normalized text, tc__malloc'd */
    size_t len;
} pending;

typedef struct table {
    pending slot[SLOTS];
    size_t used;
} table;

struct tc__popular {
    tc__cache *cache;
    tc__store *st;
    const tc__keyring *keys;
    size_t keep;
    pthread_mutex_t mu;    /* cur */
    table *cur;            /* counting */
    table *spare;          /* being sent, under fmu */
    pthread_mutex_t fmu;   /* one send at a time */
    tc__ticker *tick;      /* sends every TC__POP_FLUSH_MS, or when poked */
    _Atomic uint64_t lost; /* counts lost since the last send */
    tc__ratelimit rl;
};

static void table_clear(table *t)
{
    for (size_t i = 0; i < SLOTS; i++) {
        tc__free(t->slot[i].text);
    }
    memset(t, 0, sizeof(*t));
}

static void pop_hash(const tc__popular *p, tc__hash *h, const char *norm,
                     size_t len)
{
    tc__key_hash(h, "pop", 0, norm, len,
                 p->keys && p->keys->has_secret ? p->keys->secret : NULL);
}

void tc__popular_count(tc__popular *p, const char *norm, size_t len)
{
    tc__hash h;
    size_t i;
    table *t;

    if (!p) {
        return;
    }
    pop_hash(p, &h, norm, len);
    pthread_mutex_lock(&p->mu);
    t = p->cur;
    for (i = (size_t)h.lo & (SLOTS - 1); t->slot[i].count;
         i = (i + 1) & (SLOTS - 1)) {
        if (t->slot[i].h.lo == h.lo && t->slot[i].h.hi == h.hi) {
            t->slot[i].count++;
            pthread_mutex_unlock(&p->mu);
            return;
        }
    }
    if (t->used >= MAX_WAITING || !(t->slot[i].text = tc__malloc(len + 1))) {
        /* the thread is behind (a slow store): not counted, logged at
         * the next send */
        pthread_mutex_unlock(&p->mu);
        atomic_fetch_add(&p->lost, 1);
        return;
    }
    memcpy(t->slot[i].text, norm, len);
    t->slot[i].text[len] = '\0';
    t->slot[i].len = len;
    t->slot[i].h = h;
    t->slot[i].count = 1;
    if (++t->used == TC__POP_FLUSH_AT) {
        tc__ticker_poke(p->tick);
    }
    pthread_mutex_unlock(&p->mu);
}

/* The items of a send: ids, and texts sealed when encryption is on. */
static int build(tc__popular *p, const table *t, tc__pop_add *items,
                 char (*ids)[ID_LEN], unsigned char **sealed)
{
    size_t n = 0;

    for (size_t i = 0; i < SLOTS; i++) {
        const pending *e = &t->slot[i];
        tc__pop_add *it = &items[n];

        if (!e->count) {
            continue;
        }
        tc__key_format(ids[n], "pop", &e->h);
        it->id = ids[n];
        it->count = e->count;
        it->text = e->text;
        it->len = e->len;
        if (p->keys && p->keys->nkeys > 0) {
            if (!(sealed[n] = tc__malloc(e->len + TC__SEAL_OVERHEAD))) {
                return -1;
            }
            tc__seal(p->keys, it->id, strlen(it->id), sealed[n], e->text,
                     e->len);
            it->text = sealed[n];
            it->len = e->len + TC__SEAL_OVERHEAD;
        }
        n++;
    }
    return (int)n;
}

/* Says, once per send, how many requests were not counted since the
 * last one because too many texts waited (a store slower than the
 * traffic). */
static void lost_since(tc__popular *p)
{
    uint64_t n = atomic_exchange(&p->lost, 0);
    char text[24];
    const char *f[] = {"#not_counted", text, NULL};

    if (n > 0) {
        snprintf(text, sizeof(text), "%llu", (unsigned long long)n);
        tc__log(tc__cache_logger(p->cache), TC_LOG_WARN, "popular_not_counted",
                f);
    }
}

/* Sends the counts of table t (under fmu) and empties it. */
static int send_table(tc__popular *p, table *t)
{
    tc__pop_add *items = NULL;
    char(*ids)[ID_LEN] = NULL;
    unsigned char **sealed = NULL;
    uint64_t total = 0;
    tc__err err;
    int n = 0, rc = TC_OK;

    err.msg[0] = '\0';
    lost_since(p);
    if (t->used == 0) {
        return TC_OK;
    }
    for (size_t i = 0; i < SLOTS; i++) {
        total += t->slot[i].count;
    }
    items = tc__calloc(t->used, sizeof(*items));
    ids = tc__calloc(t->used, sizeof(*ids));
    sealed = tc__calloc(t->used, sizeof(*sealed));
    if (!items || !ids || !sealed ||
        (n = build(p, t, items, ids, sealed)) < 0) {
        rc = tc__errf(&err, TC_ENOMEM, "popular: out of memory");
    } else {
        rc = p->st->ops->pop_add(p->st, items, (size_t)n, p->keep, &err);
    }
    if (rc != TC_OK) {
        char lost[24];
        const char *f[] = {"error", err.msg, "#lost", lost, NULL};

        snprintf(lost, sizeof(lost), "%llu", (unsigned long long)total);
        tc__log_limited(tc__cache_logger(p->cache), &p->rl, TC_LOG_WARN,
                        "popular_flush_failed", f);
        tc__fail(rc, "%s", err.msg);
    }
    for (size_t i = 0; sealed && i < t->used; i++) {
        tc__free(sealed[i]);
    }
    tc__free(sealed);
    tc__free(ids);
    tc__free(items);
    table_clear(t);
    return rc;
}

int tc__popular_flush(tc__popular *p)
{
    table *t;
    int rc;

    if (!p) {
        return TC_OK;
    }
    pthread_mutex_lock(&p->fmu);
    pthread_mutex_lock(&p->mu);
    t = p->cur;
    p->cur = p->spare;
    p->spare = t;
    pthread_mutex_unlock(&p->mu);
    rc = send_table(p, t);
    pthread_mutex_unlock(&p->fmu);
    return rc;
}

/* The ticker's run: a failure is logged and counted by the send. */
static void flush_tick(void *arg)
{
    tc__popular_flush(arg);
}

static void pop_free(tc__popular *p)
{
    if (p->cur) {
        table_clear(p->cur);
    }
    if (p->spare) {
        table_clear(p->spare);
    }
    tc__free(p->cur);
    tc__free(p->spare);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->fmu);
    tc__free(p);
}

int tc__popular_open(tc__popular **out, tc__cache *cache)
{
    const tc__config *cfg = tc__cache_config(cache);
    tc__store *st = tc__cache_store(cache);
    tc__popular *p;
    int rc;

    *out = NULL;
    if (!cfg->track_popular) {
        return TC_OK;
    }
    if (!st || !st->ops->pop_add) {
        const char *f[] = {"store", tc__cache_store_kind(cache), NULL};

        tc__log(tc__cache_logger(cache), TC_LOG_WARN, "popular_unsupported", f);
        return TC_OK;
    }
    if (!(p = tc__calloc(1, sizeof(*p)))) {
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->fmu, NULL);
    p->cache = cache;
    p->st = st;
    p->keys = tc__cache_keys(cache);
    p->keep = cfg->popular_size;
    p->cur = tc__calloc(1, sizeof(*p->cur));
    p->spare = tc__calloc(1, sizeof(*p->spare));
    if (!p->cur || !p->spare) {
        pop_free(p);
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    if ((rc = tc__ticker_start(&p->tick, TC__POP_FLUSH_MS, flush_tick, p)) !=
        TC_OK) {
        pop_free(p);
        return rc; /* TC_ENOMEM or TC_EINTERNAL, recorded */
    }
    *out = p;
    return TC_OK;
}

void tc__popular_close(tc__popular *p)
{
    if (!p) {
        return;
    }
    tc__ticker_stop(p->tick);
    /* the last counts; a failure is logged, close goes on */
    tc__popular_flush(p);
    pop_free(p);
}

void tc__popular_attach(tc_classifier *c, tc__popular *p)
{
    for (; c; c = c->cand) {
        c->pop = p;
    }
}

void tc__popular_free(char **texts, uint64_t *counts, size_t n)
{
    for (size_t i = 0; texts && i < n; i++) {
        tc__free(texts[i]);
    }
    tc__free(texts);
    tc__free(counts);
}

int tc__popular_top(char ***texts, uint64_t **counts, size_t *n,
                    tc__cache *cache, size_t max)
{
    const tc__keyring *keys = tc__cache_keys(cache);
    tc__store *st = tc__cache_store(cache);
    tc__pop_top *top = NULL;
    size_t got = 0, k = 0;
    tc__err err;
    int rc;

    *texts = NULL;
    *counts = NULL;
    *n = 0;
    if (!tc__cache_config(cache)->track_popular) {
        return tc__fail(TC_ECONFIG,
                        "track_popular is off: no texts are counted (set "
                        "\"track_popular\": true or "
                        "TUTORCACHE_TRACK_POPULAR=true where the traffic "
                        "is classified)");
    }
    if (!st || !st->ops->pop_top) {
        return tc__fail(TC_ECONFIG,
                        "track_popular: the store %s keeps no popularity "
                        "(use redis or lmdb)",
                        tc__cache_store_kind(cache));
    }
    err.msg[0] = '\0';
    if ((rc = st->ops->pop_top(st, max, &top, &got, &err)) != TC_OK) {
        tc__cache_l2_state(cache, rc);
        return tc__fail(rc, "%s", err.msg);
    }
    if (got > 0 && (!(*texts = tc__calloc(got, sizeof(**texts))) ||
                    !(*counts = tc__calloc(got, sizeof(**counts))))) {
        tc__pop_top_free(top, got);
        tc__popular_free(*texts, *counts, 0);
        *texts = NULL;
        *counts = NULL;
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < got; i++) {
        if (keys && keys->nkeys > 0 &&
            tc__seal_open(keys, top[i].id, strlen(top[i].id),
                          (unsigned char *)top[i].text, &top[i].len) != TC_OK) {
            tc__cache_seal_failed(cache, TC__SEAL_L2);
            continue;
        }
        (*texts)[k] = top[i].text;
        (*counts)[k++] = top[i].count;
        top[i].text = NULL;
    }
    tc__pop_top_free(top, got);
    *n = k;
    return TC_OK;
}
