/*
 * redis_fb.c - feedback records in Redis (fbstore.h), in the shapes the
 * design names: a stream trimmed by age (tc:fb:stream), the consumer
 * group "retrain" on it as the retraining queue, a hash of counters
 * (tc:fb:counts) and one key per record, tc:fb:seen:<id>, which makes a
 * put idempotent by id and maps the record's id to its stream entry's id
 * (what XACK needs) for as long as the record is kept. The prefix is the
 * store's: "tc:fb:" on a single server, "{tc:fb}:" on a cluster, where
 * the hash tag keeps every key a script names in one slot.
 *
 * Every write is one of the Lua scripts of lua/ (redis_script.c); a put
 * sends one script call per SCRIPT_BATCH records, all pipelined in one
 * round trip. Counting and export are plain commands. Everything runs on
 * the Redis store's pool, timeouts and breaker (tc__redis_run).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "store/fbstore.h"
#include "store/redis/redis_store.h"

#define GROUP "retrain"
/* The longest key prefix with its longest fixed key ("counts", "stream"). */
#define KEY_MAX 64
/*
 * Records per script call of a put. A call per record pays the script's
 * entry (arguments, type checks, counters) per record; one call for a
 * whole put holds the server for the whole batch. Server time per record
 * here (INFO commandstats), with the put throughput of client and server
 * on one CPU: 1 per call 14.0 us (62 k records/s), 16 8.7 us (101 k), 64
 * 7.9 us (110 k), 256 7.9 us (115 k), 1024 8.0 us (110 k). 256 keeps each
 * call near 2 ms, so that other clients never wait longer for the server.
 */
#define SCRIPT_BATCH 256
#define CONSUME_MAX 10000 /* records per consume: bounds a script's run */
#define PAGE 1000         /* entries per XRANGE of an export */
/* The longest record type ("correction", "confirmation") with room. */
#define TYPE_MAX 32
/* ARGV of put.lua per record: id, JSON, counter, pair counter, override
 * value, override TTL. */
#define PUT_ARGS 6
/* stats.lua's reply: kept, pending and queued, then the counters' names
 * and values. */
#define STATS_HEAD 3
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static _Atomic size_t script_batch = SCRIPT_BATCH;

void tc__fb_redis_set_script_batch(size_t records)
{
    atomic_store(&script_batch, records ? records : SCRIPT_BATCH);
}

/* ---- helpers ------------------------------------------------------------ */

/* One bulk string of up to four pieces (NULL: none), with no copy made
 * beforehand: counter names and seen keys. */
static void req_cat(tc__req *q, const char *a, const char *b, const char *c,
                    const char *d)
{
    const char *p[] = {a, b, c, d};
    size_t len[NELEM(p)], total = 0;

    for (size_t i = 0; i < NELEM(p); i++) {
        len[i] = p[i] ? strlen(p[i]) : 0;
        total += len[i];
    }
    tc__req_len(q, '$', total);
    for (size_t i = 0; i < NELEM(p); i++) {
        tc__req_put(q, p[i] ? p[i] : "", len[i]);
    }
    tc__req_put(q, "\r\n", 2);
}

/* The stream's and the counters' names under prefix pfx. */
typedef struct fb_keys {
    char stream[KEY_MAX], counts[KEY_MAX];
} fb_keys;

/* pfx then name into out (KEY_MAX bytes), cut to fit as snprintf would;
 * by hand, since this runs on every submit. */
static void key_cat(char *out, const char *pfx, const char *name)
{
    size_t p = strlen(pfx), n = strlen(name);

    p = p < KEY_MAX - 1 ? p : KEY_MAX - 1;
    n = n < KEY_MAX - 1 - p ? n : KEY_MAX - 1 - p;
    memcpy(out, pfx, p);
    memcpy(out + p, name, n);
    out[p + n] = '\0';
}

static void keys_of(fb_keys *k, const char *pfx)
{
    key_cat(k->stream, pfx, "stream");
    key_cat(k->counts, pfx, "counts");
}

/* ---- put ---------------------------------------------------------------- */

typedef struct put_ctx {
    const char *pfx;
    fb_keys k;
    tc__fb_put *items;
    size_t *idx; /* the valid items, in order */
    size_t nvalid, batch;
    int64_t now, retention;
    tc__err *err;
} put_ctx;

static int bad_item(const tc__fb_put *it)
{
    return !tc__fb_id_valid(it->id) || !it->json || !it->len || !it->type ||
           !*it->type || strlen(it->type) > TYPE_MAX ||
           (it->override_key &&
            (!it->override_val || it->override_ttl_ms <= 0));
}

static void build_put(tc__req *q, const tc__scall *sc, size_t c)
{
    const put_ctx *x = sc->ud;
    /* the stream and the counters; now and the retention */
    size_t from = c * x->batch, to = from + x->batch, nkeys = 2, nargs = 2;

    to = to < x->nvalid ? to : x->nvalid;
    for (size_t j = from; j < to; j++) {
        nkeys += x->items[x->idx[j]].override_key ? 2 : 1;
        nargs += PUT_ARGS;
    }
    tc__scall_head(q, sc, 1 + nkeys + nargs);
    tc__req_i64(q, (int64_t)nkeys);
    tc__req_str(q, x->k.stream);
    tc__req_str(q, x->k.counts);
    for (size_t j = from; j < to; j++) {
        const tc__fb_put *it = &x->items[x->idx[j]];

        req_cat(q, x->pfx, "seen:", it->id, NULL);
        if (it->override_key) {
            tc__req_str(q, it->override_key);
        }
    }
    tc__req_i64(q, x->now);
    tc__req_i64(q, x->retention > 0 ? x->retention : 0);
    for (size_t j = from; j < to; j++) {
        const tc__fb_put *it = &x->items[x->idx[j]];
        int pair =
            strcmp(it->type, "correction") == 0 && it->original && it->correct;

        tc__req_str(q, it->id);
        tc__req_bulk(q, it->json, it->len);
        req_cat(q, it->type, ":accepted", NULL, NULL);
        if (pair) {
            req_cat(q, "pair:", it->original, "\x1f", it->correct);
        } else {
            tc__req_bulk(q, "", 0);
        }
        if (it->override_key) {
            tc__req_bulk(q, it->override_val, it->override_len);
            tc__req_i64(q, it->override_ttl_ms);
        } else {
            tc__req_bulk(q, "", 0);
            tc__req_str(q, "0");
        }
    }
}

/*
 * A call's reply: 1 (stored) or 0 (a duplicate) per record. An error
 * reply that is not about reaching the server (OOM, WRONGTYPE) is its
 * records' failure alone: fbstore.h wants the call to fail as a whole
 * only when the store cannot be reached.
 */
static int take_put(tc__rcall *cl, tc__rrep *r, tc__scall *sc, size_t c)
{
    const put_ctx *x = sc->ud;
    size_t from = c * x->batch, to = from + x->batch;
    int code;

    to = to < x->nvalid ? to : x->nvalid;
    if (r->type == REDIS_REPLY_ERROR) {
        code = tc__resp_error_code(r->str);
        if (code == TC_EUNAVAIL || code == TC_EAUTH) {
            return tc__redis_error_reply(cl, r);
        }
        code = tc__errf(x->err, code, "FEEDBACK PUT %s: %s",
                        x->items[x->idx[from]].id, r->str);
        for (size_t j = from; j < to; j++) {
            x->items[x->idx[j]].status = code;
            tc__redis_item_failed(cl);
        }
        return TC_OK;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != to - from) {
        return tc__redis_bad_reply(cl, r);
    }
    for (size_t j = from; j < to; j++) {
        const tc__rrep *e = &r->element[j - from];

        if (e->type != REDIS_REPLY_INTEGER) {
            return tc__redis_bad_reply(cl, e);
        }
        x->items[x->idx[j]].status = e->integer ? TC_OK : TC_MISS;
    }
    return TC_OK;
}

int tc__rfb_put(tc__store *s, const char *pfx, tc__fb_put *items, size_t n,
                int64_t retention_ms, tc__err *err)
{
    put_ctx x = {.pfx = pfx,
                 .items = items,
                 .batch = atomic_load(&script_batch),
                 .now = tc__wall_ms(),
                 .retention = retention_ms,
                 .err = err};
    tc__scall sc = {.which = TC__SCRIPT_PUT,
                    .build = build_put,
                    .take = take_put,
                    .ud = &x};
    int rc = TC_OK;

    if (n == 0) {
        return TC_OK;
    }
    keys_of(&x.k, pfx);
    if (!(x.idx = tc__calloc(n, sizeof(*x.idx)))) {
        return tc__errf(err, TC_ENOMEM, "FEEDBACK PUT: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        items[i].status = TC_OK;
        if (bad_item(&items[i])) {
            items[i].status = tc__errf(
                err, TC_EINVAL, "FEEDBACK PUT: item %zu is incomplete", i);
        } else {
            x.idx[x.nvalid++] = i;
        }
    }
    if (x.nvalid > 0) {
        sc.ncalls = (x.nvalid + x.batch - 1) / x.batch;
        sc.wait_replicas = tc__redis_fb_wait(s, &sc.wait_ms);
        /* Idempotent: a put sent twice stores nothing twice. */
        rc = tc__scall_run(s, &sc, TC__REDIS_IDEMPOTENT, items[x.idx[0]].id,
                           x.nvalid, err);
    }
    if (rc == TC_OK && sc.acked < sc.wait_replicas) {
        /*
         * Stored on the primary, not yet on enough replicas: a failover
         * now would lose it. Said as a timeout, so the caller spools the
         * records; the replay stores nothing twice (ids) and waits again.
         */
        rc = tc__errf(err, TC_ETIMEOUT,
                      "FEEDBACK PUT: WAIT: %lld of %d replicas had the "
                      "records within %d ms (feedback_wait_replicas)",
                      sc.acked, sc.wait_replicas, sc.wait_ms);
    }
    for (size_t j = 0; j < x.nvalid && rc != TC_OK; j++) {
        items[x.idx[j]].status = rc;
    }
    tc__free(x.idx);
    return rc;
}

/* ---- trim, count -------------------------------------------------------- */

static void build_words(tc__req *q, const tc__scall *sc, size_t i)
{
    (void)i;
    tc__scall_head(q, sc, 1 + sc->nwords);
    tc__req_i64(q, (int64_t)sc->nkeys);
    for (size_t j = 0; j < sc->nwords; j++) {
        tc__req_str(q, sc->words[j]);
    }
}

static int take_int(tc__rcall *cl, tc__rrep *r, tc__scall *sc, size_t i)
{
    int rc = tc__redis_reply_is(cl, r, REDIS_REPLY_INTEGER);

    (void)i;
    if (rc == TC_OK) {
        sc->value = r->integer;
    }
    return rc;
}

int tc__rfb_trim(tc__store *s, const char *pfx, int64_t retention_ms,
                 uint64_t *removed, tc__err *err)
{
    char cut[24];
    fb_keys k;
    const char *w[] = {k.stream, cut, GROUP};
    tc__scall sc = {.which = TC__SCRIPT_TRIM,
                    .ncalls = 1,
                    .build = build_words,
                    .take = take_int,
                    .words = w,
                    .nwords = NELEM(w),
                    .nkeys = 1};
    int64_t now = tc__wall_ms();
    int rc;

    if (removed) {
        *removed = 0;
    }
    if (retention_ms <= 0 || retention_ms >= now) {
        return TC_OK;
    }
    keys_of(&k, pfx);
    snprintf(cut, sizeof(cut), "%lld", (long long)(now - retention_ms));
    rc = tc__scall_run(s, &sc, TC__REDIS_IDEMPOTENT, k.stream, 1, err);
    if (rc == TC_OK && removed) {
        *removed = sc.value > 0 ? (uint64_t)sc.value : 0;
    }
    return rc;
}

/* The reply of HINCRBY: the counter's new value, unused. */
static int read_int(tc__rcall *cl, tc__rsink *k, void *ud)
{
    (void)ud;
    return tc__redis_reply_is(cl, &k->slot[0], REDIS_REPLY_INTEGER);
}

int tc__rfb_count(tc__store *s, const char *pfx, const char *name, uint64_t n,
                  tc__err *err)
{
    tc__rrep stack[TC__REP_STACK];
    fb_keys keys;
    tc__rsink k;
    tc__req q;
    int rc;

    if (!name || !*name || n > INT64_MAX) {
        return tc__errf(err, TC_EINVAL, "FEEDBACK COUNT: no name, or %llu",
                        (unsigned long long)n);
    }
    keys_of(&keys, pfx);
    tc__req_init(&q);
    tc__req_len(&q, '*', 4); /* HINCRBY key field n */
    tc__req_str(&q, "HINCRBY");
    tc__req_str(&q, keys.counts);
    tc__req_str(&q, name);
    tc__req_i64(&q, (int64_t)n);
    tc__sink_init(&k, stack, 1, 0);
    /* Not idempotent: sent twice, it would count twice. */
    rc = tc__redis_run(s, 0, "HINCRBY", keys.counts, 1, &q, &k, read_int, NULL,
                       err);
    tc__sink_free(&k, stack);
    tc__req_free(&q);
    return rc;
}

/* ---- consume, ack ------------------------------------------------------- */

typedef struct consume_ctx {
    fb_keys k;
    const char *consumer;
    char cmax[24], cidle[24];
    char **ids, **recs;
    size_t n;
} consume_ctx;

static void build_consume(tc__req *q, const tc__scall *sc, size_t i)
{
    const consume_ctx *x = sc->ud;
    const char *w[] = {x->k.stream, GROUP, x->consumer, x->cmax, x->cidle};

    (void)i;
    tc__scall_head(q, sc, 1 + NELEM(w));
    tc__req_str(q, "1"); /* one key: the stream */
    for (size_t j = 0; j < NELEM(w); j++) {
        tc__req_str(q, w[j]);
    }
}

/* The strings are taken from the reply as they are (no copy). */
static int take_consume(tc__rcall *cl, tc__rrep *r, tc__scall *sc, size_t i)
{
    consume_ctx *x = sc->ud;
    int rc = tc__redis_reply_is(cl, r, REDIS_REPLY_ARRAY);
    size_t m;

    (void)i;
    if (rc != TC_OK || r->elements % 2 != 0) {
        return rc != TC_OK ? rc : tc__redis_bad_reply(cl, r);
    }
    for (size_t j = 0; j < r->elements; j++) {
        if (r->element[j].type != REDIS_REPLY_STRING) {
            return tc__redis_bad_reply(cl, &r->element[j]);
        }
    }
    if ((m = r->elements / 2) == 0) {
        return TC_OK;
    }
    x->ids = tc__calloc(m, sizeof(char *));
    x->recs = tc__calloc(m, sizeof(char *));
    if (!x->ids || !x->recs) {
        return tc__errf(tc__redis_call_err(cl), TC_ENOMEM, "%s: out of memory",
                        tc__redis_label(cl));
    }
    for (size_t j = 0; j < m; j++) {
        x->ids[j] = r->element[2 * j].str;
        x->recs[j] = r->element[2 * j + 1].str;
        r->element[2 * j].str = r->element[2 * j + 1].str = NULL;
    }
    x->n = m;
    return TC_OK;
}

int tc__rfb_consume(tc__store *s, const char *pfx, const char *consumer,
                    size_t max, int64_t claim_idle_ms, char ***ids,
                    char ***records, size_t *n, tc__err *err)
{
    consume_ctx x = {.consumer = consumer};
    tc__scall sc = {.which = TC__SCRIPT_CONSUME,
                    .ncalls = 1,
                    .build = build_consume,
                    .take = take_consume,
                    .ud = &x};
    int rc;

    *ids = *records = NULL;
    *n = 0;
    if (!consumer || !*consumer || max == 0) {
        return tc__errf(err, TC_EINVAL, "FEEDBACK CONSUME: no consumer");
    }
    keys_of(&x.k, pfx);
    snprintf(x.cmax, sizeof(x.cmax), "%zu",
             max < CONSUME_MAX ? max : CONSUME_MAX);
    snprintf(x.cidle, sizeof(x.cidle), "%lld",
             (long long)(claim_idle_ms > 0 ? claim_idle_ms : 0));
    /* Not idempotent: sent twice, the first answer's records would wait,
     * pending, for claim_idle_ms before anyone got them. */
    rc = tc__scall_run(s, &sc, 0, consumer, 1, err);
    if (rc != TC_OK) {
        tc__fb_strings_free(x.ids, x.n);
        tc__fb_strings_free(x.recs, x.n);
        return rc;
    }
    *ids = x.ids;
    *records = x.recs;
    *n = x.n;
    return TC_OK;
}

typedef struct ack_ctx {
    const char *pfx;
    fb_keys k;
    const char *const *ids;
    size_t n, nkeys; /* ids that may be records' are sent */
} ack_ctx;

static void build_ack(tc__req *q, const tc__scall *sc, size_t i)
{
    const ack_ctx *x = sc->ud;

    (void)i;
    tc__scall_head(q, sc, 1 + 1 + x->nkeys + 1);
    tc__req_i64(q, (int64_t)(1 + x->nkeys));
    tc__req_str(q, x->k.stream);
    for (size_t j = 0; j < x->n; j++) {
        if (tc__fb_id_valid(x->ids[j])) {
            req_cat(q, x->pfx, "seen:", x->ids[j], NULL);
        }
    }
    tc__req_str(q, GROUP);
}

/* A script over the records' seen keys (ack.lua, purge.lua); *value is
 * its answer, 0 when no id could name a record. */
static int seen_script(tc__store *s, int which, const char *pfx,
                       const char *const *ids, size_t n, int64_t *value,
                       tc__err *err)
{
    ack_ctx x = {.pfx = pfx, .ids = ids, .n = n};
    tc__scall sc = {.which = which,
                    .ncalls = 1,
                    .build = build_ack,
                    .take = take_int,
                    .ud = &x};
    int rc;

    *value = 0;
    for (size_t i = 0; i < n; i++) {
        /* not ours: acknowledged or erased already */
        x.nkeys += tc__fb_id_valid(ids[i]);
    }
    if (x.nkeys == 0) {
        return TC_OK;
    }
    keys_of(&x.k, pfx);
    rc = tc__scall_run(s, &sc, TC__REDIS_IDEMPOTENT, ids[0], n, err);
    *value = sc.value;
    return rc;
}

int tc__rfb_ack(tc__store *s, const char *pfx, const char *const *ids, size_t n,
                tc__err *err)
{
    int64_t acked;

    return seen_script(s, TC__SCRIPT_ACK, pfx, ids, n, &acked, err);
}

int tc__rfb_purge(tc__store *s, const char *pfx, const char *const *ids,
                  size_t n, uint64_t *removed, tc__err *err)
{
    int64_t v;
    int rc = seen_script(s, TC__SCRIPT_PURGE, pfx, ids, n, &v, err);

    if (removed) {
        *removed = rc == TC_OK && v > 0 ? (uint64_t)v : 0;
    }
    return rc;
}

/* ---- stats -------------------------------------------------------------- */

static int take_stats(tc__rcall *cl, tc__rrep *r, tc__scall *sc, size_t i)
{
    tc__fb_stats *out = sc->ud;
    int rc = tc__redis_reply_is(cl, r, REDIS_REPLY_ARRAY);
    size_t m;

    (void)i;
    if (rc != TC_OK) {
        return rc;
    }
    if (r->elements < STATS_HEAD || (r->elements - STATS_HEAD) % 2 != 0) {
        return tc__redis_bad_reply(cl, r);
    }
    for (size_t j = 0; j < r->elements; j++) {
        if (r->element[j].type !=
                (j < STATS_HEAD ? REDIS_REPLY_INTEGER : REDIS_REPLY_STRING) ||
            (j < STATS_HEAD && r->element[j].integer < 0)) {
            return tc__redis_bad_reply(cl, &r->element[j]);
        }
    }
    out->kept = (uint64_t)r->element[0].integer;
    out->pending = (uint64_t)r->element[1].integer;
    out->queued = (uint64_t)r->element[2].integer;
    if ((m = (r->elements - STATS_HEAD) / 2) == 0) {
        return TC_OK;
    }
    if (!(out->counts = tc__calloc(m, sizeof(*out->counts)))) {
        return tc__errf(tc__redis_call_err(cl), TC_ENOMEM, "%s: out of memory",
                        tc__redis_label(cl));
    }
    for (size_t j = 0; j < m; j++) {
        tc__rrep *name = &r->element[STATS_HEAD + 2 * j];
        const char *val = r->element[STATS_HEAD + 2 * j + 1].str;
        char *end;

        out->counts[j].value = strtoull(val, &end, 10);
        if (end == val || *end != '\0') {
            return tc__errf(tc__redis_call_err(cl), TC_EPROTO,
                            "%s: counter %s is \"%s\", not a number",
                            tc__redis_label(cl), name->str, val);
        }
        out->counts[j].name = name->str;
        name->str = NULL;
        out->ncounts++;
    }
    return TC_OK;
}

int tc__rfb_stats(tc__store *s, const char *pfx, tc__fb_stats *out,
                  tc__err *err)
{
    fb_keys k;
    const char *w[] = {k.stream, k.counts, GROUP};
    tc__scall sc = {.which = TC__SCRIPT_STATS,
                    .ncalls = 1,
                    .build = build_words,
                    .take = take_stats,
                    .ud = out,
                    .words = w,
                    .nwords = NELEM(w),
                    .nkeys = 2};
    int rc;

    memset(out, 0, sizeof(*out));
    keys_of(&k, pfx);
    rc = tc__scall_run(s, &sc, TC__REDIS_IDEMPOTENT, k.stream, 1, err);
    if (rc != TC_OK) {
        tc__fb_stats_release(out);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

/* ---- export ------------------------------------------------------------- */

/* A page of XRANGE: entries of [id, [field, value, ...]]. */
static int read_page(tc__rcall *cl, tc__rsink *k, void *ud)
{
    const tc__rrep *r = &k->slot[0];
    int rc = tc__redis_reply_is(cl, r, REDIS_REPLY_ARRAY);

    (void)ud;
    if (rc != TC_OK) {
        return rc;
    }
    for (size_t i = 0; i < r->elements; i++) {
        const tc__rrep *e = &r->element[i], *id = tc__rrep_at(e, 0),
                       *f = tc__rrep_at(e, 1);

        if (!id || id->type != REDIS_REPLY_STRING || !f ||
            f->type != REDIS_REPLY_ARRAY) {
            return tc__redis_bad_reply(cl, e);
        }
    }
    return TC_OK;
}

/* The record of an entry: its "id" and "r" fields, or 0 (not ours). */
static int entry_record(const tc__rrep *e, const tc__rrep **id,
                        const tc__rrep **rec)
{
    const tc__rrep *f = tc__rrep_at(e, 1);

    *id = *rec = NULL;
    for (size_t j = 0; j + 1 < f->elements; j += 2) {
        const tc__rrep *name = &f->element[j], *v = &f->element[j + 1];

        if (name->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) {
            continue;
        }
        if (strcmp(name->str, "id") == 0) {
            *id = v;
        } else if (strcmp(name->str, "r") == 0) {
            *rec = v;
        }
    }
    return *id && *rec;
}

/*
 * Pages of PAGE entries, each its own round trip, so that an export of a
 * month of records holds neither a connection nor the server for long;
 * each() runs between pages, with no connection held. Entry ids only
 * grow, so a record stored during the export is either in it or not,
 * never twice; after, the last entry read, is where a retry resumes.
 *
 * Records come in the order they were stored: a stream only appends, as
 * LMDB's "fb_order" does.
 */
int tc__rfb_export(tc__store *s, const char *pfx, char *after,
                   int (*each)(void *ud, const char *id, const char *json,
                               size_t len),
                   void *ud, tc__err *err)
{
    char start[TC__RFB_AFTER_MAX + 1] = "-", page[16];
    fb_keys keys;
    const char *argv[] = {"XRANGE", keys.stream, start, "+", "COUNT", page};
    tc__rrep stack[TC__REP_STACK];
    tc__rsink k;
    int rc, stop = 0;
    size_t got;

    keys_of(&keys, pfx);
    snprintf(page, sizeof(page), "%d", PAGE);
    if (after[0]) {
        snprintf(start, sizeof(start), "(%s", after);
    }
    do {
        tc__req q;
        const tc__rrep *r;

        tc__req_init(&q);
        tc__req_argv(&q, (int)NELEM(argv), argv);
        tc__sink_init(&k, stack, 1, 1);
        rc = tc__redis_run(s, TC__REDIS_IDEMPOTENT, "XRANGE", keys.stream, 1,
                           &q, &k, read_page, NULL, err);
        tc__req_free(&q);
        r = &k.slot[0];
        got = rc == TC_OK ? r->elements : 0;
        for (size_t i = 0; i < got && !stop; i++) {
            const tc__rrep *id, *rec;

            if (entry_record(&r->element[i], &id, &rec)) {
                stop = each(ud, id->str, rec->str, rec->len);
            }
        }
        if (got > 0) {
            snprintf(after, TC__RFB_AFTER_MAX, "%s",
                     r->element[got - 1].element[0].str);
            snprintf(start, sizeof(start), "(%s", after);
        }
        tc__sink_free(&k, stack);
    } while (rc == TC_OK && !stop && got == PAGE);
    return stop ? stop : rc;
}

/* ---- a single server's keys ---------------------------------------------- */

static int rfb_put(tc__store *s, tc__fb_put *items, size_t n,
                   int64_t retention_ms, tc__err *err)
{
    return tc__rfb_put(s, TC__FB_KEYS, items, n, retention_ms, err);
}

static int rfb_trim(tc__store *s, int64_t retention_ms, uint64_t *removed,
                    tc__err *err)
{
    return tc__rfb_trim(s, TC__FB_KEYS, retention_ms, removed, err);
}

static int rfb_count(tc__store *s, const char *name, uint64_t n, tc__err *err)
{
    return tc__rfb_count(s, TC__FB_KEYS, name, n, err);
}

static int rfb_consume(tc__store *s, const char *consumer, size_t max,
                       int64_t claim_idle_ms, char ***ids, char ***records,
                       size_t *n, tc__err *err)
{
    return tc__rfb_consume(s, TC__FB_KEYS, consumer, max, claim_idle_ms, ids,
                           records, n, err);
}

static int rfb_ack(tc__store *s, const char *const *ids, size_t n, tc__err *err)
{
    return tc__rfb_ack(s, TC__FB_KEYS, ids, n, err);
}

static int rfb_stats(tc__store *s, tc__fb_stats *out, tc__err *err)
{
    return tc__rfb_stats(s, TC__FB_KEYS, out, err);
}

static int rfb_export(tc__store *s,
                      int (*each)(void *ud, const char *id, const char *json,
                                  size_t len),
                      void *ud, tc__err *err)
{
    char after[TC__RFB_AFTER_MAX] = "";

    return tc__rfb_export(s, TC__FB_KEYS, after, each, ud, err);
}

static int rfb_purge(tc__store *s, const char *const *ids, size_t n,
                     uint64_t *removed, tc__err *err)
{
    return tc__rfb_purge(s, TC__FB_KEYS, ids, n, removed, err);
}

const tc__fb_ops tc__fb_redis_ops = {
    .put = rfb_put,
    .trim = rfb_trim,
    .count = rfb_count,
    .consume = rfb_consume,
    .ack = rfb_ack,
    .stats = rfb_stats,
    .export = rfb_export,
    .purge = rfb_purge,
};
