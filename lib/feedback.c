/*
 * feedback.c - the public feedback API: submit, stats, consume, ack and
 * export over the store's feedback operations (fbstore.h), and the one
 * path every accepted record takes: replay an earlier spool, store (or,
 * when the store cannot be reached, spool), then set a correction in this
 * process's L1.
 *
 * A correction's override is written twice, on purpose. The store's put
 * writes it to L2 in the same transaction as the record, so a record and
 * its override exist together or not at all, and every process sees the
 * correction as soon as the record is stored. tc_cache_set() then writes
 * the same bytes to L2 again and to this process's L1, the only public
 * way into L1; the second L2 write is harmless, and it makes this
 * process's own next classification of the text see the correction at
 * once, where other processes see it within the namespace's L1 TTL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "feedback.h"
#include "normalize.h"
#include "sbuf.h"

#define CONSUMER_MAX 128
#define DEFAULT_CLAIM_IDLE_MS 60000
#define TOP_PAIRS 20

/* ---- the fault hook (tests only) ---------------------------------------- */

static _Atomic(tc_cache *) fault_h;
static _Atomic int fault_n;

void tc__feedback_set_fault(tc_cache *h, int n)
{
    atomic_store(&fault_n, n);
    atomic_store(&fault_h, n ? h : NULL);
}

static int fault_take(tc_cache *h)
{
    int n;

    if (atomic_load_explicit(&fault_h, memory_order_relaxed) != h) {
        return 0;
    }
    n = atomic_load(&fault_n);
    while (n != 0) {
        if (n < 0) {
            return 1;
        }
        if (atomic_compare_exchange_weak(&fault_n, &n, n - 1)) {
            return 1;
        }
    }
    return 0;
}

/* ---- helpers shared with fbstore implementations ----------------------- */

void tc__fb_strings_free(char **v, size_t n)
{
    if (!v) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        tc__free(v[i]);
    }
    tc__free(v);
}

void tc__fb_stats_release(tc__fb_stats *st)
{
    if (!st) {
        return;
    }
    for (size_t i = 0; i < st->ncounts; i++) {
        tc__free(st->counts[i].name);
    }
    tc__free(st->counts);
    st->counts = NULL;
    st->ncounts = 0;
}

/* ---- the accept path ---------------------------------------------------- */

int tc__fb_unreachable(int rc)
{
    return rc == TC_EUNAVAIL || rc == TC_ETIMEOUT;
}

int tc__fb_store(tc_cache *h, const tc__fb_ops **ops, tc__store **s)
{
    const tc__config *cfg = tc__cache_config(h);

    *ops = NULL;
    *s = tc__cache_store(h);
    if (cfg->kind == TC__STORE_LMDB && *s) {
        *ops = &tc__fb_lmdb_ops;
        return TC_OK;
    }
    if (cfg->kind == TC__STORE_REDIS && *s) {
        *ops = &tc__fb_redis_ops;
        return TC_OK;
    }
    return tc__fail(h, TC_EINVAL,
                    "feedback needs a durable store (redis:// or lmdb://), "
                    "not memory:");
}

static int64_t override_ttl(tc_cache *h)
{
    const tc__config *cfg = tc__cache_config(h);

    for (size_t i = 0; i < cfg->nns; i++) {
        if (strcmp(cfg->ns[i].name, TC__FB_NS) == 0) {
            return cfg->ns[i].ttl_ms;
        }
    }
    return 86400000; /* unreachable: tc__fb_build needed the namespace */
}

int tc__fb_put_recs(tc_cache *h, const tc__fb_ops *ops, tc__store *s,
                    tc__fb_rec *recs, size_t n, tc__fb_put *items, tc__err *err)
{
    int64_t ttl = override_ttl(h);
    int rc;

    for (size_t i = 0; i < n; i++) {
        tc__fb_put *it = &items[i];

        memset(it, 0, sizeof(*it));
        it->id = recs[i].id;
        it->json = recs[i].json;
        it->len = recs[i].len;
        it->type = tc__fb_type_name(recs[i].type);
        it->original = recs[i].original;
        it->correct = recs[i].correct;
        if (recs[i].oval) {
            it->override_key = recs[i].okey;
            it->override_val = recs[i].oval;
            it->override_len = recs[i].olen;
            it->override_ttl_ms = ttl;
        }
    }
    if (fault_take(h)) {
        rc = tc__errf(err, TC_EUNAVAIL,
                      "feedback store unreachable (fault injected by "
                      "tc__feedback_set_fault)");
    } else {
        rc = ops->put(s, items, n, tc__cache_config(h)->fb_retention_ms, err);
    }
    tc__cache_l2_state(h, rc);
    for (size_t i = 0; rc == TC_OK && i < n; i++) {
        if (items[i].status < 0) {
            rc = items[i].status; /* a record the store refused alone */
        }
    }
    return rc;
}

/* Whether the store's circuit breaker is open (Redis): no call is made. */
static int breaker_open(tc_cache *h, tc__store *s)
{
    tc__store_health hl;

    if (tc__cache_config(h)->kind != TC__STORE_REDIS) {
        return 0; /* LMDB has no breaker, and its health costs a read */
    }
    memset(&hl, 0, sizeof(hl));
    s->ops->health(s, &hl);
    return hl.breaker && strcmp(hl.breaker, "open") == 0;
}

/* Sets accepted corrections in L1 (and, again, in L2): see the top. */
/*
 * The store's put wrote each override to the L2 with its record; this
 * process's L1 takes it now, replacing the absence classify may have
 * remembered, so the correcting process sees its correction at once.
 */
static void set_l1(tc_cache *h, const tc__fb_rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (recs[i].oval) {
            tc__cache_l1_set(h, TC__FB_NS, recs[i].norm, recs[i].normlen,
                             recs[i].oval, recs[i].olen);
        }
    }
}

/* Metric types: 0 correction, 1 confirmation, 2 invalid. */
static int metric_type(int type)
{
    return type == TC_FEEDBACK_CORRECTION     ? 0
           : type == TC_FEEDBACK_CONFIRMATION ? 1
                                              : 2;
}

/*
 * Each submitted record is counted once in the metrics, as accepted,
 * spooled or rejected; a replay of the spool is not a submission, and a
 * record the store already had (a retry) is not counted again.
 */
static void count_accepted(tc_cache *h, const tc__fb_rec *recs,
                           const tc__fb_put *items, size_t n, int spooled)
{
    tc__metrics *m = tc__cache_metrics(h);

    for (size_t i = 0; m && i < n; i++) {
        if (!spooled && items[i].status != TC_OK) {
            continue;
        }
        tc__metrics_feedback(m, metric_type(recs[i].type),
                             spooled ? TC__FB_SPOOLED : TC__FB_ACCEPTED);
        if (recs[i].type == TC_FEEDBACK_CORRECTION) {
            tc__metrics_correction(m, recs[i].original, recs[i].correct);
        }
    }
}

static tc__ratelimit spool_rl;

int tc__fb_accept(tc_cache *h, const tc__fb_ops *ops, tc__store *s,
                  tc__fb_rec *recs, size_t n, size_t *spooled, tc__err *err)
{
    tc__fb_put one, *items = &one;
    tc__err serr;
    int rc = TC_OK;

    *spooled = 0;
    if (n == 0) {
        return TC_OK;
    }
    if (n > 1 && !(items = tc__calloc(n, sizeof(*items)))) {
        return tc__errf(err, TC_ENOMEM, "feedback: out of memory");
    }
    /*
     * Records this process spooled go first, so that they keep their
     * order ahead of these; while the store is still down, these join
     * them in the spool.
     */
    if (tc__spool_pending()) {
        rc = tc__spool_replay(h, ops, s, 1, err);
        rc = tc__fb_unreachable(rc) ? rc : TC_OK;
    }
    if (rc == TC_OK && breaker_open(h, s)) {
        rc = tc__errf(err, TC_EUNAVAIL,
                      "feedback store unreachable (circuit breaker open)");
    }
    if (rc == TC_OK) {
        rc = tc__fb_put_recs(h, ops, s, recs, n, items, err);
    }
    if (tc__fb_unreachable(rc)) {
        serr.msg[0] = '\0';
        if (tc__spool_append(h, recs, n, &serr) != TC_OK) {
            tc__err why = *err;

            rc = tc__errf(err, TC_EIO, "%s; and the spool failed: %s", why.msg,
                          serr.msg);
            goto done;
        }
        {
            const char *fields[] = {"detail", err->msg, "spool",
                                    tc__cache_config(h)->spool_dir, NULL};

            tc__log_limited(tc__cache_logger(h), &spool_rl, TC_LOG_WARN,
                            "feedback_spooled", fields);
        }
        *spooled = n;
        rc = TC_OK;
    } else if (rc != TC_OK) {
        goto done;
    } else if (tc__spool_pending()) {
        /* The store is back, and something was spooled meanwhile. */
        serr.msg[0] = '\0';
        tc__spool_replay(h, ops, s, 1, &serr);
    }
    count_accepted(h, recs, items, n, *spooled > 0);
    set_l1(h, recs, n);
done:
    if (items != &one) {
        tc__free(items);
    }
    return rc;
}

void tc__fb_count_rejected(tc_cache *h, const tc__fb_ops *ops, tc__store *s,
                           int type, uint64_t n)
{
    char name[32];
    tc__err err;

    if (n == 0 || !ops) {
        return;
    }
    for (uint64_t i = 0; tc__cache_metrics(h) && i < n; i++) {
        tc__metrics_feedback(tc__cache_metrics(h), metric_type(type),
                             TC__FB_REJECTED);
    }
    snprintf(name, sizeof(name), "%s:rejected", tc__fb_type_name(type));
    err.msg[0] = '\0';
    tc__cache_l2_state(h, ops->count(s, name, n, &err));
}

/* The start of every call: the spool, when one waits (rate-limited). */
static void replay_if_due(tc_cache *h, const tc__fb_ops *ops, tc__store *s)
{
    tc__err err;

    err.msg[0] = '\0';
    tc__spool_replay(h, ops, s, 0, &err);
}

/* ---- submit ------------------------------------------------------------ */

static void in_from_struct(tc__fb_in *in, const tc_feedback *fb)
{
    memset(in, 0, sizeof(*in));
    in->text = fb->text;
    in->textlen = fb->text ? strlen(fb->text) : 0;
    in->original = fb->original_intent;
    in->correct = fb->correct_intent;
    in->has_conf = 1;
    in->conf = fb->original_confidence;
    in->complexity = fb->correct_complexity;
    if (fb->correct_techniques) {
        in->has_tech = 1;
        in->ntech = fb->ncorrect_techniques;
        for (size_t i = 0; i < in->ntech && i < TC__FB_TECH_MAX; i++) {
            in->tech[i] = fb->correct_techniques[i];
        }
    }
    in->user_id = fb->user_id;
    if (fb->type == TC_FEEDBACK_CORRECTION ||
        fb->type == TC_FEEDBACK_CONFIRMATION) {
        in->type = (int)fb->type;
    } else {
        in->type = -1;
        in->type_num = (int)fb->type;
    }
    in->timestamp = fb->timestamp;
}

/* Builds and accepts one record; *in was read from any form. */
static int submit_in(char *id, int *spooled_out, tc_cache *h,
                     const tc__fb_ops *ops, tc__store *s, const tc__fb_in *in,
                     int parse_rc, tc__err *err)
{
    tc__fb_rec rec;
    size_t spooled;
    int rc = parse_rc;

    if (rc == TC_OK) {
        rc = tc__fb_build(&rec, h, in, err);
    }
    if (rc == TC_EINVAL) {
        tc__fb_count_rejected(h, ops, s, in->type, 1);
    }
    if (rc != TC_OK) {
        return tc__fail(h, rc, "%s", err->msg);
    }
    rc = tc__fb_accept(h, ops, s, &rec, 1, &spooled, err);
    if (rc == TC_OK) {
        memcpy(id, rec.id, sizeof(rec.id));
        if (spooled_out) {
            *spooled_out = spooled > 0;
        }
    }
    tc__fb_rec_free(&rec);
    if (rc != TC_OK) {
        return tc__fail(h, rc, "%s", err->msg);
    }
    tc__clear(h);
    return TC_OK;
}

TC_API int tc_feedback_submit(char *id, int *spooled, tc_cache *h,
                              const tc_feedback *fb)
{
    const tc__fb_ops *ops;
    tc__store *s;
    tc__fb_in in;
    tc__err err;
    int rc;

    if (id) {
        id[0] = '\0';
    }
    if (spooled) {
        *spooled = 0;
    }
    tc__clear(h);
    if (!h) {
        return TC_EINVAL;
    }
    if (!id || !fb) {
        return tc__fail(h, TC_EINVAL, "id or fb is NULL");
    }
    if ((rc = tc__fb_store(h, &ops, &s)) != TC_OK) {
        return rc;
    }
    replay_if_due(h, ops, s);
    err.msg[0] = '\0';
    in_from_struct(&in, fb);
    if (fb->ncorrect_techniques > 0 && !fb->correct_techniques) {
        rc =
            tc__errf(&err, TC_EINVAL, "correct_techniques: NULL with %zu items",
                     fb->ncorrect_techniques);
    }
    return submit_in(id, spooled, h, ops, s, &in, rc, &err);
}

TC_API int tc_feedback_submit_json(char *id, int *spooled, tc_cache *h,
                                   const char *json, size_t len)
{
    const tc__fb_ops *ops;
    tc__store *s;
    tc__fb_in in;
    tc__err err;
    void *tree = NULL;
    int rc;

    if (id) {
        id[0] = '\0';
    }
    if (spooled) {
        *spooled = 0;
    }
    tc__clear(h);
    if (!h) {
        return TC_EINVAL;
    }
    if (!id || !json) {
        return tc__fail(h, TC_EINVAL, "id or json is NULL");
    }
    if ((rc = tc__fb_store(h, &ops, &s)) != TC_OK) {
        return rc;
    }
    replay_if_due(h, ops, s);
    err.msg[0] = '\0';
    rc = tc__fb_parse_json(&in, &tree, json, len, 0, &err);
    rc = submit_in(id, spooled, h, ops, s, &in, rc, &err);
    cJSON_Delete(tree);
    return rc;
}

/* ---- stats --------------------------------------------------------------- */

typedef struct pair {
    const char *orig, *correct; /* into the counter names */
    size_t olen;
    uint64_t n;
} pair;

static int pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    int c;

    if (x->n != y->n) {
        return x->n > y->n ? -1 : 1;
    }
    c = strncmp(x->orig, y->orig, x->olen < y->olen ? x->olen : y->olen);
    if (c == 0 && x->olen != y->olen) {
        c = x->olen < y->olen ? -1 : 1;
    }
    return c ? c : strcmp(x->correct, y->correct);
}

static uint64_t counter(const tc__fb_stats *st, const char *name)
{
    for (size_t i = 0; i < st->ncounts; i++) {
        if (strcmp(st->counts[i].name, name) == 0) {
            return st->counts[i].value;
        }
    }
    return 0;
}

static int stats_render(char **out, const tc__fb_stats *st, uint64_t spooled)
{
    static const char *const types[] = {"correction", "confirmation",
                                        "invalid"};
    tc__sb b = {NULL, 0, 0, 0};
    pair *pairs = NULL;
    size_t np = 0;
    char name[48];

    if (st->ncounts && !(pairs = tc__calloc(st->ncounts, sizeof(*pairs)))) {
        return TC_ENOMEM;
    }
    for (size_t i = 0; i < st->ncounts; i++) {
        const char *nm = st->counts[i].name;
        const char *sep;

        if (strncmp(nm, "pair:", 5) != 0 || !(sep = strchr(nm + 5, '\x1f'))) {
            continue;
        }
        pairs[np].orig = nm + 5;
        pairs[np].olen = (size_t)(sep - (nm + 5));
        pairs[np].correct = sep + 1;
        pairs[np].n = st->counts[i].value;
        np++;
    }
    if (np > 1) {
        qsort(pairs, np, sizeof(*pairs), pair_cmp);
    }
    tc__sb_str(&b, "{\"accepted\":{");
    for (int t = 0; t < 2; t++) {
        snprintf(name, sizeof(name), "%s:accepted", types[t]);
        tc__sb_printf(&b, "%s\"%s\":%llu", t ? "," : "", types[t],
                      (unsigned long long)counter(st, name));
    }
    tc__sb_str(&b, "},\"rejected\":{");
    for (int t = 0; t < 3; t++) {
        snprintf(name, sizeof(name), "%s:rejected", types[t]);
        tc__sb_printf(&b, "%s\"%s\":%llu", t ? "," : "", types[t],
                      (unsigned long long)counter(st, name));
    }
    tc__sb_str(&b, "},\"pairs\":[");
    for (size_t i = 0; i < np && i < TOP_PAIRS; i++) {
        char *o = tc__memdup0(pairs[i].orig, pairs[i].olen);

        if (!o) {
            b.oom = 1;
            break;
        }
        tc__sb_str(&b, i ? ",{\"original\":" : "{\"original\":");
        tc__sb_json_string(&b, o);
        tc__sb_str(&b, ",\"correct\":");
        tc__sb_json_string(&b, pairs[i].correct);
        tc__sb_printf(&b, ",\"count\":%llu}", (unsigned long long)pairs[i].n);
        tc__free(o);
    }
    tc__sb_printf(&b, "],\"kept\":%llu", (unsigned long long)st->kept);
    tc__sb_printf(&b, ",\"pending\":%llu", (unsigned long long)st->pending);
    tc__sb_printf(&b, ",\"queued\":%llu", (unsigned long long)st->queued);
    tc__sb_printf(&b, ",\"spooled\":%llu}", (unsigned long long)spooled);
    tc__free(pairs);
    if (b.oom) {
        tc__free(b.p);
        return TC_ENOMEM;
    }
    *out = b.p;
    return TC_OK;
}

/* Records past their retention go before anything is read back. */
static int trim(tc_cache *h, const tc__fb_ops *ops, tc__store *s, tc__err *err)
{
    int rc = ops->trim(s, tc__cache_config(h)->fb_retention_ms, NULL, err);

    tc__cache_l2_state(h, rc);
    return rc;
}

TC_API int tc_feedback_stats_json(char **out, tc_cache *h)
{
    const tc__fb_ops *ops;
    tc__fb_stats st;
    tc__store *s;
    tc__err err;
    uint64_t spooled = 0;
    int rc;

    if (out) {
        *out = NULL;
    }
    tc__clear(h);
    if (!h) {
        return TC_EINVAL;
    }
    if (!out) {
        return tc__fail(h, TC_EINVAL, "out is NULL");
    }
    if ((rc = tc__fb_store(h, &ops, &s)) != TC_OK) {
        return rc;
    }
    replay_if_due(h, ops, s);
    err.msg[0] = '\0';
    memset(&st, 0, sizeof(st));
    if ((rc = trim(h, ops, s, &err)) != TC_OK) {
        return tc__fail(h, rc, "%s", err.msg);
    }
    rc = ops->stats(s, &st, &err);
    tc__cache_l2_state(h, rc);
    if (rc != TC_OK) {
        return tc__fail(h, rc, "%s", err.msg);
    }
    if (tc__spool_lines(h, &spooled, &err) != TC_OK) {
        spooled = 0; /* an unreadable spool is logged by replay */
    }
    rc = stats_render(out, &st, spooled);
    tc__fb_stats_release(&st);
    if (rc != TC_OK) {
        return tc__fail(h, rc, "feedback stats: out of memory");
    }
    tc__clear(h);
    return TC_OK;
}

/* ---- consume and ack ---------------------------------------------------- */

typedef struct batch {
    tc_feedback_batch pub; /* first: the caller's pointer is this */
    char **ids, **recs;
} batch;

TC_API void tc_feedback_batch_free(tc_feedback_batch *b)
{
    batch *x = (batch *)b;

    if (!x) {
        return;
    }
    tc__fb_strings_free(x->ids, x->pub.n);
    tc__fb_strings_free(x->recs, x->pub.n);
    tc__free(x);
}

TC_API int tc_feedback_consume(tc_feedback_batch **out, tc_cache *h,
                               const char *consumer, size_t max,
                               int64_t claim_idle_ms)
{
    const tc__fb_ops *ops;
    tc__store *s;
    tc__err err;
    batch *b;
    char **ids = NULL, **recs = NULL;
    size_t n = 0, clen;
    int rc;

    if (out) {
        *out = NULL;
    }
    tc__clear(h);
    if (!h) {
        return TC_EINVAL;
    }
    if (!out || !consumer) {
        return tc__fail(h, TC_EINVAL, "out or consumer is NULL");
    }
    clen = strlen(consumer);
    if (clen == 0 || clen > CONSUMER_MAX || !tc__utf8_valid(consumer, clen)) {
        return tc__fail(h, TC_EINVAL,
                        "consumer: not a name of 1 to %d bytes of UTF-8",
                        CONSUMER_MAX);
    }
    if (max == 0) {
        return tc__fail(h, TC_EINVAL, "max: 0");
    }
    if ((rc = tc__fb_store(h, &ops, &s)) != TC_OK) {
        return rc;
    }
    replay_if_due(h, ops, s);
    err.msg[0] = '\0';
    if ((rc = trim(h, ops, s, &err)) != TC_OK) {
        return tc__fail(h, rc, "%s", err.msg);
    }
    if (!(b = tc__calloc(1, sizeof(*b)))) {
        return tc__fail(h, TC_ENOMEM, "feedback consume: out of memory");
    }
    rc = ops->consume(s, consumer, max,
                      claim_idle_ms > 0 ? claim_idle_ms : DEFAULT_CLAIM_IDLE_MS,
                      &ids, &recs, &n, &err);
    tc__cache_l2_state(h, rc);
    if (rc != TC_OK) {
        tc__free(b);
        return tc__fail(h, rc, "%s", err.msg);
    }
    b->ids = ids;
    b->recs = recs;
    b->pub.n = n;
    b->pub.ids = (const char *const *)ids;
    b->pub.records = (const char *const *)recs;
    *out = &b->pub;
    return TC_OK;
}

TC_API int tc_feedback_ack(tc_cache *h, const char *const *ids, size_t n)
{
    const tc__fb_ops *ops;
    tc__store *s;
    tc__err err;
    int rc;

    tc__clear(h);
    if (!h) {
        return TC_EINVAL;
    }
    if (!ids && n > 0) {
        return tc__fail(h, TC_EINVAL, "ids is NULL with n %zu", n);
    }
    for (size_t i = 0; i < n; i++) {
        if (!tc__fb_id_valid(ids[i])) {
            return tc__fail(h, TC_EINVAL, "ids[%zu]: not a feedback id", i);
        }
    }
    if ((rc = tc__fb_store(h, &ops, &s)) != TC_OK) {
        return rc;
    }
    replay_if_due(h, ops, s);
    if (n == 0) {
        return TC_OK;
    }
    err.msg[0] = '\0';
    rc = ops->ack(s, ids, n, &err);
    tc__cache_l2_state(h, rc);
    if (rc != TC_OK) {
        return tc__fail(h, rc, "%s", err.msg);
    }
    return TC_OK;
}

/* ---- export ------------------------------------------------------------- */

typedef struct export_ctx {
    FILE *f;
    uint64_t n;
    int err; /* errno of a failed write */
} export_ctx;

static int export_one(void *ud, const char *id, const char *json, size_t len)
{
    export_ctx *x = ud;

    (void)id;
    if (fwrite(json, 1, len, x->f) != len || putc('\n', x->f) == EOF) {
        x->err = errno ? errno : EIO;
        return TC_EIO;
    }
    x->n++;
    return 0;
}

TC_API int tc_feedback_export(tc_cache *h, FILE *out, uint64_t *count)
{
    const tc__fb_ops *ops;
    export_ctx x = {out, 0, 0};
    tc__store *s;
    tc__err err;
    int rc;

    if (count) {
        *count = 0;
    }
    tc__clear(h);
    if (!h) {
        return TC_EINVAL;
    }
    if (!out) {
        return tc__fail(h, TC_EINVAL, "out is NULL");
    }
    if ((rc = tc__fb_store(h, &ops, &s)) != TC_OK) {
        return rc;
    }
    replay_if_due(h, ops, s);
    err.msg[0] = '\0';
    if ((rc = trim(h, ops, s, &err)) != TC_OK) {
        return tc__fail(h, rc, "%s", err.msg);
    }
    errno = 0;
    rc = ops->export(s, export_one, &x, &err);
    if (count) {
        *count = x.n;
    }
    if (rc == TC_EIO && x.err) {
        return tc__fail(h, TC_EIO, "writing the export after %llu records: %s",
                        (unsigned long long)x.n, strerror(x.err));
    }
    tc__cache_l2_state(h, rc);
    if (rc != TC_OK) {
        return tc__fail(h, rc, "%s", err.msg);
    }
    if (fflush(out) != 0) {
        return tc__fail(h, TC_EIO, "writing the export: %s", strerror(errno));
    }
    return TC_OK;
}
