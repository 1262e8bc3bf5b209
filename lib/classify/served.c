/*
 * served.c - the answers served and the shadow checks' outcomes, per
 * day, model and intent (served.h). An answer adds one to a slot of
 * its thread's stripe (base/counter.h's stripe): a table of its own per
 * stripe, behind a spin flag that only a flush also takes, so threads
 * never share a line and a count costs no lock call and no allocation
 * once its slot exists. A slot is found by a 64-bit hash of the model
 * identity (the classifier's, served.h) and the intent alone, which an
 * L1 hit and a model's answer read from their packed form (hashed once
 * when packed, from the key's identity; tc__served_bump) and other
 * answers compute; two pairs whose hashes
 * collide would count together, a chance of about one in 2^64 / n^2 for
 * n pairs.
 *
 * The flush (a ticker's thread every second, and at close) moves each
 * stripe's counts into a pending table keyed by day, the UTC day of the
 * flush that took them (at most a second after the answer), and adds
 * that table to the store's tally; the store's failure keeps it for the
 * next flush. memory: has no tally, and the pending table is what the
 * process keeps.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/counter.h"
#include "base/ticker.h"
#include "classify/classifier.h"
#include "classify/served.h"

/* Slots per stripe; a stripe past FULL of them is emptied by the next
 * flush once its counts are taken (a model that learns makes new
 * identities, which would otherwise fill it). */
#define SLOTS 1024
#define FULL (SLOTS * 3 / 4)
#define DAY_MS 86400000LL

typedef struct slot {
    uint64_t h;
    uint64_t n;
    char *model; /* tc__malloc'd: the model identity, NUL, the intent */
    size_t mlen;
    char how; /* 0: a free slot */
} slot;

/* A line each: the members take 24 bytes, with atomic_flag's padding,
 * which the pad once left out (72 bytes, two stripes to a line). */
typedef struct stripe {
    atomic_flag busy;
    size_t used;
    slot *slot; /* SLOTS of them, allocated at the stripe's first count */
    char pad[64 - 3 * sizeof(size_t)];
} stripe;
_Static_assert(sizeof(stripe) == 64, "a stripe is one line");

/* A count waiting for the store, by day. */
typedef struct pend {
    uint64_t h;
    int64_t day; /* days since 1970-01-01 */
    uint64_t n;
    char *model; /* as a slot's */
    size_t mlen;
    char how;
} pend;

struct tc__served {
    stripe stripe[TC__STRIPES];
    tc__cache *cache;
    tc__store *st; /* NULL: memory:, the pending table is kept here */
    int64_t retention_ms;
    pthread_mutex_t fmu; /* the pending table, one flush at a time */
    pend *pend;
    size_t npend, cap; /* cap: a power of two, or 0 */
    int64_t trimmed;   /* the floor day last sent, -1: none yet */
    tc__ticker *tick;
    _Atomic uint64_t dropped; /* counts dropped since the last flush */
    tc__ratelimit rl;
};

/* ---- the caller's path ----------------------------------------------------
 */

/*
 * n bytes folded into h 16 at a time (the last 16 overlapping those
 * before, so that no byte past the end is read): one multiply per 16
 * bytes, since this runs on every answer; done() mixes the high bits
 * down once at the end, as the table is indexed by the low ones.
 */
#define K1 0x9E3779B97F4A7C15ULL
static inline uint64_t fold(uint64_t h, const char *p, size_t n)
{
    uint64_t a = 0, b = 0;
    const char *end;

    h ^= n;
    if (n < 8) {
        for (size_t i = 0; i < n; i++) {
            a = a << 8 | (unsigned char)p[i];
        }
        return (h ^ a) * K1;
    }
    for (end = p + n; n > 16; p += 16, n -= 16) {
        memcpy(&a, p, 8);
        memcpy(&b, p + 8, 8);
        h = ((h ^ a) * K1) ^ b;
    }
    /* 1..16 bytes left, at least 8 read or left in all */
    memcpy(&a, n > 8 ? p : end - 8, 8);
    if (n > 8) {
        memcpy(&b, end - 8, 8);
    }
    return ((h ^ a) * K1) ^ b;
}

static inline uint64_t done(uint64_t h)
{
    h ^= h >> 32;
    h *= K1;
    return h ^ h >> 29;
}

/* Fills a free slot (the stripe's flag held); 0, or -1 without memory. */
static int slot_fill(slot *e, uint64_t h, const char *model, size_t mlen,
                     const char *intent, size_t ilen, char how)
{
    /* a field longer than a store takes would stay pending for ever */
    if (mlen + ilen + 32 >= TC__TALLY_FIELD_MAX ||
        !(e->model = tc__malloc(mlen + ilen + 2))) {
        return -1;
    }
    memcpy(e->model, model, mlen);
    e->model[mlen] = '\0';
    memcpy(e->model + mlen + 1, intent, ilen + 1);
    e->mlen = mlen;
    e->h = h;
    e->n = 1;
    e->how = how;
    return 0;
}

uint64_t tc__served_hash(const char *model, size_t mlen, const char *intent,
                         size_t ilen)
{
    return done(fold(fold(0, model, mlen) * K1, intent, ilen));
}

void tc__served_count(tc__served *s, const char *model, size_t mlen,
                      const char *intent, char how)
{
    if (s) {
        tc__served_count_h(s,
                           tc__served_hash(model, mlen, intent, strlen(intent)),
                           model, mlen, intent, how);
    }
}

/* A count, the stripe's flag held (released here): the stripe's table
 * made when it has none, the pair added when it is new. */
static void count_new(tc__served *s, stripe *p, uint64_t h, const char *model,
                      size_t mlen, const char *intent, char how)
{
    size_t i;

    if (!p->slot && !(p->slot = tc__calloc(SLOTS, sizeof(*p->slot)))) {
        goto drop;
    }
    for (i = h & (SLOTS - 1); p->slot[i].how; i = (i + 1) & (SLOTS - 1)) {
        if (p->slot[i].h == h) {
            p->slot[i].n++;
            atomic_flag_clear_explicit(&p->busy, memory_order_release);
            return;
        }
    }
    if (p->used >= FULL ||
        slot_fill(&p->slot[i], h, model,
                  mlen == TC__SERVED_NUL ? strlen(model) : mlen, intent,
                  strlen(intent), how) != 0) {
        goto drop;
    }
    p->used++;
    atomic_flag_clear_explicit(&p->busy, memory_order_release);
    return;
drop:
    atomic_flag_clear_explicit(&p->busy, memory_order_release);
    atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
}

/* The stripe of this thread, its flag taken. */
static inline stripe *stripe_take(tc__served *s)
{
    unsigned sn = tc__stripe_mine;
    stripe *p;

    if (sn >= TC__STRIPES) {
        sn = tc__stripe_take();
    }
    p = &s->stripe[sn];
    while (atomic_flag_test_and_set_explicit(&p->busy, memory_order_acquire)) {
    }
    return p;
}

/* tc__served_bump's for a thread with no stripe yet: apart, so that the
 * common path saves no register for a call */
static __attribute__((noinline)) int bump_first(tc__served *s, uint64_t h)
{
    tc__stripe_take();
    return tc__served_bump(s, h);
}

int tc__served_bump(tc__served *s, uint64_t h)
{
    unsigned sn = tc__stripe_mine;
    stripe *p;

    if (sn >= TC__STRIPES) {
        return bump_first(s, h);
    }
    p = &s->stripe[sn];
    while (atomic_flag_test_and_set_explicit(&p->busy, memory_order_acquire)) {
    }
    if (p->slot) {
        for (size_t i = h & (SLOTS - 1); p->slot[i].how;
             i = (i + 1) & (SLOTS - 1)) {
            if (p->slot[i].h == h) {
                p->slot[i].n++;
                atomic_flag_clear_explicit(&p->busy, memory_order_release);
                return 1;
            }
        }
    }
    atomic_flag_clear_explicit(&p->busy, memory_order_release);
    return 0;
}

void tc__served_count_h(tc__served *s, uint64_t h, const char *model,
                        size_t mlen, const char *intent, char how)
{
    if (s) {
        h += TC__SERVED_HOW(how);
        count_new(s, stripe_take(s), h, model, mlen, intent, how);
    }
}

/* ---- the pending table (under fmu) ----------------------------------------
 */

static int64_t today(void)
{
    return tc__wall_ms() / DAY_MS;
}

/* The first day of the retention window. */
static int64_t floor_day(const tc__served *s)
{
    return (tc__wall_ms() - s->retention_ms) / DAY_MS;
}

static void day_text(char out[9], int64_t day)
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;

    if (!gmtime_r(&t, &tm) || strftime(out, 9, "%Y%m%d", &tm) != 8) {
        memcpy(out, "00000000", 9);
    }
}

static size_t pend_index(const tc__served *s, uint64_t h, int64_t day)
{
    size_t i = (size_t)(h ^ (uint64_t)day * 0x9E3779B97F4A7C15ULL);

    for (i &= s->cap - 1; s->pend[i].how; i = (i + 1) & (s->cap - 1)) {
        if (s->pend[i].h == h && s->pend[i].day == day) {
            break;
        }
    }
    return i;
}

/* Twice the slots (or the first 256); -1 without memory. */
static int pend_grow(tc__served *s)
{
    size_t old = s->cap, cap = old ? old * 2 : 256;
    pend *was = s->pend, *now = tc__calloc(cap, sizeof(*now));

    if (!now) {
        return -1;
    }
    s->pend = now;
    s->cap = cap;
    for (size_t i = 0; i < old; i++) {
        if (was[i].how) {
            s->pend[pend_index(s, was[i].h, was[i].day)] = was[i];
        }
    }
    tc__free(was);
    return 0;
}

/* Adds n of a slot's pair to day's count; 0, or -1 when it cannot be
 * kept (no memory, or TC__SERVED_MAX_PENDING pairs wait). */
static int pend_add(tc__served *s, const slot *e, int64_t day, uint64_t n)
{
    size_t i, len;
    pend *p;

    if (s->cap && s->pend[i = pend_index(s, e->h, day)].how) {
        s->pend[i].n += n;
        return 0;
    }
    if ((s->npend + 1) * 2 > s->cap &&
        (s->npend >= TC__SERVED_MAX_PENDING || pend_grow(s) != 0)) {
        return -1;
    }
    p = &s->pend[pend_index(s, e->h, day)];
    len = e->mlen + 1 + strlen(e->model + e->mlen + 1) + 1;
    if (!(p->model = tc__malloc(len))) {
        return -1;
    }
    memcpy(p->model, e->model, len);
    p->mlen = e->mlen;
    p->h = e->h;
    p->day = day;
    p->how = e->how;
    p->n = n;
    s->npend++;
    return 0;
}

/* Empties the pending table, but for the counts of the days from keep
 * on (keep 0: none is kept), which stay in a table of the same size. */
static void pend_clear(tc__served *s, int64_t keep)
{
    pend *was = s->pend;
    size_t cap = s->cap;

    s->npend = 0;
    s->pend = keep > 0 && cap ? tc__calloc(cap, sizeof(*s->pend)) : NULL;
    s->cap = s->pend ? cap : 0;
    for (size_t i = 0; i < cap; i++) {
        if (s->pend && was[i].how && was[i].day >= keep) {
            s->pend[pend_index(s, was[i].h, was[i].day)] = was[i];
            s->npend++;
            continue;
        }
        if (was[i].how && keep > 0 && was[i].day >= keep) {
            /* no memory for the table that keeps them */
            atomic_fetch_add_explicit(&s->dropped, was[i].n,
                                      memory_order_relaxed);
        }
        tc__free(was[i].model);
    }
    tc__free(was);
}

/* Moves every stripe's counts into the pending table as day's. */
static void take_stripes(tc__served *s, int64_t day)
{
    for (size_t k = 0; k < TC__STRIPES; k++) {
        stripe *p = &s->stripe[k];

        while (
            atomic_flag_test_and_set_explicit(&p->busy, memory_order_acquire)) {
        }
        for (size_t i = 0; p->slot && i < SLOTS; i++) {
            slot *e = &p->slot[i];

            if (e->how && e->n && pend_add(s, e, day, e->n) != 0) {
                atomic_fetch_add_explicit(&s->dropped, e->n,
                                          memory_order_relaxed);
            }
            e->n = 0;
        }
        if (p->used >= FULL / 2) {
            for (size_t i = 0; i < SLOTS; i++) {
                tc__free(p->slot[i].model);
            }
            memset(p->slot, 0, SLOTS * sizeof(*p->slot));
            p->used = 0;
        }
        atomic_flag_clear_explicit(&p->busy, memory_order_release);
    }
}

/* The pending table as tally fields, *n of them (tc__tally_free). */
static int pend_fields(tc__tally **out, size_t *n, const tc__served *s)
{
    tc__tally *t = NULL;
    size_t m = 0;

    *out = NULL;
    *n = 0;
    if (s->npend && !(t = tc__calloc(s->npend, sizeof(*t)))) {
        return TC_ENOMEM;
    }
    for (size_t i = 0; i < s->cap; i++) {
        const pend *e = &s->pend[i];
        const char *intent;
        char day[9];
        size_t len;

        if (!e->how || !e->n) {
            continue; /* an empty slot: no model to point into */
        }
        intent = e->model + e->mlen + 1;
        day_text(day, e->day);
        len = 8 + 3 + 21 + 1 + e->mlen + strlen(intent) + 1;
        if (!(t[m].field = tc__malloc(len))) {
            tc__tally_free(t, m);
            return TC_ENOMEM;
        }
        snprintf(t[m].field, len, "%s:%c:%zu:%s%s", day, e->how, e->mlen,
                 e->model, intent);
        t[m++].count = e->n;
    }
    *out = t;
    *n = m;
    return TC_OK;
}

/* ---- the flush --------------------------------------------------------------
 */

static void log_dropped(tc__served *s)
{
    uint64_t n = atomic_exchange(&s->dropped, 0);
    char text[24];
    const char *f[] = {"#not_counted", text, NULL};

    if (n > 0) {
        snprintf(text, sizeof(text), "%llu", (unsigned long long)n);
        tc__log(tc__cache_logger(s->cache), TC_LOG_WARN, "served_not_counted",
                f);
    }
}

/* The flush, fmu held. */
static int flush_locked(tc__served *s)
{
    int64_t floor = floor_day(s);
    tc__tally *t = NULL;
    char fl[9];
    size_t n = 0;
    tc__err err;
    int rc;

    take_stripes(s, today());
    log_dropped(s);
    if (!s->st) {
        pend_clear(s, floor > 0 ? floor : 1); /* memory: keeps the window */
        return TC_OK;
    }
    if (s->npend == 0) {
        /* nothing counted, nothing sent: the trim of old days rides on
         * the next flush that has counts, so that a handle that answers
         * nothing never calls the store from the ticker (whose call
         * would find a store down for a caller who made no L2 call) */
        return TC_OK;
    }
    if ((rc = pend_fields(&t, &n, s)) != TC_OK) {
        return tc__fail(rc, "served: out of memory");
    }
    day_text(fl, floor);
    err.msg[0] = '\0';
    rc = s->st->ops->tally_add(s->st, t, n, s->trimmed == floor ? NULL : fl,
                               &err);
    tc__tally_free(t, n);
    if (rc != TC_OK) {
        const char *f[] = {"error", err.msg, NULL};

        tc__log_limited(tc__cache_logger(s->cache), &s->rl, TC_LOG_WARN,
                        "served_flush_failed", f);
        tc__cache_l2_state(s->cache, rc);
        return tc__fail(rc, "%s", err.msg);
    }
    s->trimmed = floor;
    pend_clear(s, 0);
    return TC_OK;
}

int tc__served_flush(tc__served *s)
{
    int rc;

    if (!s) {
        return TC_OK;
    }
    pthread_mutex_lock(&s->fmu);
    rc = flush_locked(s);
    pthread_mutex_unlock(&s->fmu);
    return rc;
}

static void flush_tick(void *arg)
{
    tc__served_flush(arg);
}

/* ---- life -------------------------------------------------------------------
 */

static void served_free(tc__served *s)
{
    for (size_t k = 0; k < TC__STRIPES; k++) {
        for (size_t i = 0; s->stripe[k].slot && i < SLOTS; i++) {
            tc__free(s->stripe[k].slot[i].model);
        }
        tc__free(s->stripe[k].slot);
    }
    for (size_t i = 0; i < s->cap; i++) {
        tc__free(s->pend[i].model);
    }
    tc__free(s->pend);
    pthread_mutex_destroy(&s->fmu);
    tc__free(s);
}

int tc__served_open(tc__served **out, tc__cache *fbcache)
{
    const tc__config *cfg = tc__cache_config(fbcache);
    tc__store *st = tc__cache_store(fbcache);
    tc__served *s;
    int rc;

    *out = NULL;
    if (!cfg->count_intents) {
        return TC_OK;
    }
    if (!(s = tc__calloc(1, sizeof(*s)))) {
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < TC__STRIPES; k++) {
        atomic_flag_clear(&s->stripe[k].busy);
    }
    pthread_mutex_init(&s->fmu, NULL);
    s->cache = fbcache;
    s->st = st && st->ops->tally_add ? st : NULL;
    s->retention_ms = cfg->fb_retention_ms;
    s->trimmed = -1;
    if (s->st && (rc = tc__ticker_start(&s->tick, TC__SERVED_FLUSH_MS,
                                        flush_tick, s)) != TC_OK) {
        served_free(s);
        return rc; /* TC_ENOMEM or TC_EINTERNAL, recorded */
    }
    *out = s;
    return TC_OK;
}

void tc__served_close(tc__served *s)
{
    if (!s) {
        return;
    }
    tc__ticker_stop(s->tick);
    if (s->st && tc__served_flush(s) != TC_OK) {
        uint64_t lost = 0;
        char text[24];
        const char *f[] = {"#lost", text, NULL};

        for (size_t i = 0; i < s->cap; i++) {
            lost += s->pend[i].n;
        }
        snprintf(text, sizeof(text), "%llu", (unsigned long long)lost);
        tc__log(tc__cache_logger(s->cache), TC_LOG_WARN, "served_lost", f);
    }
    served_free(s);
}

void tc__served_attach(tc_classifier *c, tc__served *s)
{
    for (; c; c = c->cand) {
        c->served = s;
    }
}

/* ---- reading ----------------------------------------------------------------
 */

int tc__served_read(tc__tally **out, size_t *n, char floor[9], tc__served *s,
                    tc__cache *fbcache)
{
    const tc__config *cfg = tc__cache_config(fbcache);
    tc__store *st = tc__cache_store(fbcache);
    tc__err err;
    int rc = TC_OK;

    *out = NULL;
    *n = 0;
    day_text(floor, (tc__wall_ms() - cfg->fb_retention_ms) / DAY_MS);
    if (s) {
        pthread_mutex_lock(&s->fmu);
        rc = flush_locked(s);
        if (rc == TC_OK && !s->st) {
            rc = pend_fields(out, n, s);
            rc = rc == TC_ENOMEM ? tc__fail(rc, "out of memory") : rc;
        }
        pthread_mutex_unlock(&s->fmu);
        if (rc != TC_OK || !s->st) {
            return rc;
        }
    }
    if (!st || !st->ops->tally_read) {
        return TC_OK;
    }
    err.msg[0] = '\0';
    if ((rc = st->ops->tally_read(st, out, n, &err)) != TC_OK) {
        tc__cache_l2_state(fbcache, rc);
        return tc__fail(rc, "%s", err.msg);
    }
    return TC_OK;
}

int tc__served_parse(tc__served_field *f, const char *field)
{
    const char *p = field;
    size_t mlen = 0;

    for (int i = 0; i < 8; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
    }
    if (p[8] != ':' || !p[9] || p[10] != ':') {
        return -1;
    }
    f->day = p;
    f->how = p[9];
    for (p += 11; *p >= '0' && *p <= '9' && mlen < TC__TALLY_FIELD_MAX; p++) {
        mlen = mlen * 10 + (size_t)(*p - '0');
    }
    if (*p != ':' || strnlen(p + 1, mlen) < mlen) {
        return -1;
    }
    f->model = p + 1;
    f->mlen = mlen;
    f->intent = p + 1 + mlen;
    return 0;
}
