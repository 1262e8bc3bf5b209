/*
 * feedback.c - submit, stats, consume, ack and export over the store's
 * feedback operations (fbstore.h), and the one path every accepted
 * record takes: replay an earlier spool, store (or, when the store cannot
 * be reached, spool), then set a correction in this process's L1.
 *
 * The store's put writes a correction's override to the L2 in the same
 * transaction as its record, so a record and its override exist together
 * or not at all, and every process sees the correction within the
 * override namespace's L1 TTL. This process's own L1 takes the override
 * before the put is sent (tc__cache_l1_before, as the cache's own writes
 * do), so its next classification of the text sees the correction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "feedback/feedback.h"
#include "base/normalize.h"
#include "base/sbuf.h"

#define CONSUMER_MAX 128
#define DEFAULT_CLAIM_IDLE_MS 60000
#define TOP_PAIRS 20

/* ---- the accept path ---------------------------------------------------- */

/*
 * A correction's override goes into this process's L1 before the store's
 * put is sent, as the cache's own writes do (cache.h, track.c): the
 * invalidation of a write of the same override by another process, from
 * then on, finds it held and checks it, so a later correction made
 * elsewhere never leaves this one in L1. It replaces the absence
 * classify may have remembered, so the correcting process sees its
 * correction at once.
 */
static void l1_before(tc__fb *fb, tc__fb_rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&recs[i].l1w, 0, sizeof(recs[i].l1w));
        if (recs[i].oval) {
            tc__cache_l1_before(fb->cache, &recs[i].l1w, TC__FB_NS,
                                recs[i].norm, recs[i].normlen, recs[i].oval,
                                recs[i].olen);
        }
    }
}

/* How the put went: how (TC__L1W_*) for all, but a duplicate, which the
 * store did nothing with, is removed. */
static void l1_after(tc__fb *fb, tc__fb_rec *recs, size_t n, int how)
{
    for (size_t i = 0; i < n; i++) {
        tc__cache_l1_after(fb->cache, &recs[i].l1w, recs[i].oval, recs[i].olen,
                           recs[i].duplicate ? TC__L1W_UNDO : how);
    }
}

/*
 * Each submitted record is counted once in the metrics, as accepted,
 * spooled or rejected, and for an A/B arm when it names that arm's
 * model; a replay of the spool is not a submission, and a record the
 * store already had (a retry) is not counted again.
 */
static void count_accepted(tc__fb *fb, const tc__fb_rec *recs,
                           const tc__fb_put *items, size_t n, int spooled)
{
    for (size_t i = 0; fb->counts && i < n; i++) {
        if (!spooled && items[i].status != TC_OK) {
            continue;
        }
        tc__fb_counts_add(fb->counts, recs[i].type,
                          spooled ? TC__FB_SPOOLED : TC__FB_ACCEPTED);
        if (recs[i].type == TC_FEEDBACK_CORRECTION) {
            tc__fb_counts_pair_add(fb->counts, recs[i].original,
                                   recs[i].correct);
        }
        if (recs[i].model) {
            int arm = tc__cls_arm_of(fb->cls, recs[i].model);

            if (arm >= 0) {
                tc__cls_count_arm_feedback(fb->cls, (tc__cls_arm)arm,
                                           recs[i].type ==
                                               TC_FEEDBACK_CORRECTION);
            }
        }
    }
}

int tc__fb_accept(tc__fb *fb, tc__fb_rec *recs, size_t n, size_t *spooled,
                  size_t *dups, tc__err *err)
{
    tc__fb_put one, *items = &one;
    tc__err serr;
    int rc = TC_OK;

    *spooled = 0;
    *dups = 0;
    if (n == 0) {
        return TC_OK;
    }
    if (n > 1 && !(items = tc__calloc(n, sizeof(*items)))) {
        return tc__errf(err, TC_ENOMEM, "feedback: out of memory");
    }
    l1_before(fb, recs, n);
    /*
     * Records this process spooled go first, so that they keep their
     * order ahead of these; while the store is still down, these join
     * them in the spool.
     */
    if (tc__spool_pending()) {
        rc = tc__spool_replay(fb, 1, err);
        rc = tc__fb_unreachable(rc) ? rc : TC_OK;
    }
    if (rc == TC_OK && fb->store->ops->resting(fb->store)) {
        rc = tc__errf(err, TC_EUNAVAIL,
                      "feedback store unreachable (circuit breaker open)");
    }
    if (rc == TC_OK) {
        rc = tc__fb_put_recs(fb, recs, n, items, err);
    }
    if (tc__fb_unreachable(rc)) {
        serr.msg[0] = '\0';
        if (tc__spool_append(fb, recs, n, &serr) != TC_OK) {
            tc__err why = *err;

            rc = tc__errf(err, TC_EIO, "%s; and the spool failed: %s", why.msg,
                          serr.msg);
            l1_after(fb, recs, n, TC__L1W_UNDO);
            goto done;
        }
        {
            const char *fields[] = {"detail", err->msg, "spool",
                                    fb->cfg->spool_dir, NULL};

            tc__log_limited(fb->log, &fb->spool_rl, TC_LOG_WARN,
                            "feedback_spooled", fields);
        }
        *spooled = n;
        rc = TC_OK;
    } else if (rc != TC_OK) {
        l1_after(fb, recs, n, TC__L1W_UNDO);
        goto done;
    } else {
        /* A duplicate changes nothing: the store did nothing with it. */
        for (size_t i = 0; i < n; i++) {
            recs[i].duplicate = items[i].status == TC_MISS;
            *dups += (size_t)recs[i].duplicate;
        }
    }
    if (*spooled == 0 && tc__spool_pending()) {
        /* The store is back, and something was spooled meanwhile. */
        serr.msg[0] = '\0';
        tc__spool_replay(fb, 1, &serr);
    }
    count_accepted(fb, recs, items, n, *spooled > 0);
    l1_after(fb, recs, n, *spooled > 0 ? TC__L1W_KEEP : TC__L1W_WROTE);
done:
    if (items != &one) {
        tc__free(items);
    }
    return rc;
}

/* The start of every call: the spool, when one waits (rate-limited). */
static void replay_if_due(tc__fb *fb)
{
    tc__err err;

    err.msg[0] = '\0';
    tc__spool_replay(fb, 0, &err);
}

/* ---- submit ------------------------------------------------------------ */

static void in_from_struct(tc__fb_in *in, const tc_feedback *r)
{
    memset(in, 0, sizeof(*in));
    in->text = r->text;
    in->textlen = r->text ? strlen(r->text) : 0;
    in->original = r->original_intent;
    in->correct = r->correct_intent;
    in->has_conf = 1;
    in->conf = r->original_confidence;
    in->complexity = r->correct_complexity;
    if (r->correct_techniques) {
        in->has_tech = 1;
        in->ntech = r->ncorrect_techniques;
        for (size_t i = 0; i < in->ntech && i < TC__FB_TECH_MAX; i++) {
            in->tech[i] = r->correct_techniques[i];
        }
    }
    in->user_id = r->user_id;
    in->model = r->model;
    if (r->type == TC_FEEDBACK_CORRECTION ||
        r->type == TC_FEEDBACK_CONFIRMATION) {
        in->type = (int)r->type;
    } else {
        in->type = -1;
        in->type_num = (int)r->type;
    }
    in->timestamp = r->timestamp;
    in->id = r->id;
}

/* Builds and accepts one record; *in was read from any form. */
static int submit_in(char *id, int *outcome, tc__fb *fb, const tc__fb_in *in,
                     int parse_rc, tc__err *err)
{
    tc__fb_rec rec;
    size_t spooled, dups;
    int rc = parse_rc;

    if (rc == TC_OK) {
        rc = tc__fb_build(&rec, fb, in, err);
    }
    if (rc == TC_EINVAL) {
        tc__fb_count_rejected(fb, in->type, 1);
    }
    if (rc != TC_OK) {
        return tc__fail(rc, "%s", err->msg);
    }
    rc = tc__fb_accept(fb, &rec, 1, &spooled, &dups, err);
    if (rc == TC_OK) {
        memcpy(id, rec.id, sizeof(rec.id));
        if (outcome) {
            *outcome = spooled ? TC_FEEDBACK_SPOOLED
                       : dups  ? TC_FEEDBACK_DUPLICATE
                               : TC_FEEDBACK_STORED;
        }
    }
    tc__fb_rec_free(&rec);
    return rc == TC_OK ? TC_OK : tc__fail(rc, "%s", err->msg);
}

int tc__fb_submit(char *id, int *outcome, tc__fb *fb, const tc_feedback *r)
{
    tc__fb_in in;
    tc__err err;
    int rc;

    if ((rc = tc__fb_ready(fb)) != TC_OK) {
        return rc;
    }
    replay_if_due(fb);
    err.msg[0] = '\0';
    in_from_struct(&in, r);
    if (r->ncorrect_techniques > 0 && !r->correct_techniques) {
        rc =
            tc__errf(&err, TC_EINVAL, "correct_techniques: NULL with %zu items",
                     r->ncorrect_techniques);
    }
    return submit_in(id, outcome, fb, &in, rc, &err);
}

int tc__fb_submit_json(char *id, int *outcome, tc__fb *fb, const char *json,
                       size_t len)
{
    tc__fb_in in;
    tc__err err;
    void *tree = NULL;
    int rc;

    if ((rc = tc__fb_ready(fb)) != TC_OK) {
        return rc;
    }
    replay_if_due(fb);
    err.msg[0] = '\0';
    rc = tc__fb_parse_json(&in, &tree, json, len, 0, &err);
    rc = submit_in(id, outcome, fb, &in, rc, &err);
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

/* Where the records are kept and whether they may be lost there. */
static void keeping_render(tc__sb *b, tc__fb *fb)
{
    char text[TC__FB_RISK_TEXT];
    tc__store_keeping k;

    tc__fb_risk(fb, &k);
    tc__sb_str(b, ",\"store\":{\"kind\":");
    tc__sb_json_string(b, tc__cache_store_kind(fb->cache));
    tc__sb_str(b, ",\"maxmemory_policy\":");
    tc__sb_json_string(b, k.policy);
    tc__sb_str(b, ",\"persistence\":");
    tc__sb_json_string(b, k.persistence);
    tc__sb_printf(b, ",\"at_risk\":[%s%s%s]}",
                  k.evictable == 1 ? "\"evictable\"" : "",
                  k.evictable == 1 && k.persistent == 0 ? "," : "",
                  k.persistent == 0 ? "\"not_persistent\"" : "");
    if (tc__fb_risk_text(&k, text, sizeof(text))[0]) {
        tc__sb_str(b, ",\"warning\":");
        tc__sb_json_string(b, text);
    }
}

static int stats_render(char **out, tc__fb *fb, const tc__fb_stats *st,
                        uint64_t spooled)
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
    tc__sb_printf(&b, ",\"spooled\":%llu", (unsigned long long)spooled);
    keeping_render(&b, fb);
    tc__sb_str(&b, "}");
    tc__free(pairs);
    if (b.oom) {
        tc__free(b.p);
        return TC_ENOMEM;
    }
    *out = b.p;
    return TC_OK;
}

/* Records past their retention go before anything is read back. */
static int trim(tc__fb *fb, tc__err *err)
{
    int rc = fb->ops->trim(fb->store, fb->cfg->fb_retention_ms, NULL, err);

    tc__cache_l2_state(fb->cache, rc);
    return rc;
}

/* Every call but submit starts alike: a store that keeps feedback, the
 * spool replayed when one waits, old records trimmed. */
int tc__fb_start(tc__fb *fb, tc__err *err)
{
    int rc;

    if ((rc = tc__fb_ready(fb)) != TC_OK) {
        return rc;
    }
    replay_if_due(fb);
    err->msg[0] = '\0';
    if ((rc = trim(fb, err)) != TC_OK) {
        return tc__fail(rc, "%s", err->msg);
    }
    return TC_OK;
}

int tc__fb_stats_json(char **out, tc__fb *fb)
{
    tc__fb_stats st;
    tc__err err;
    uint64_t spooled = 0;
    int rc;

    memset(&st, 0, sizeof(st));
    if ((rc = tc__fb_start(fb, &err)) != TC_OK) {
        return rc;
    }
    rc = fb->ops->stats(fb->store, &st, &err);
    tc__cache_l2_state(fb->cache, rc);
    if (rc != TC_OK) {
        return tc__fail(rc, "%s", err.msg);
    }
    if (tc__spool_lines(fb, &spooled, &err) != TC_OK) {
        spooled = 0; /* an unreadable spool is logged by replay */
    }
    tc__fb_risk_check(fb); /* asked again when it had not answered */
    rc = stats_render(out, fb, &st, spooled);
    tc__fb_stats_release(&st);
    return rc == TC_OK ? TC_OK : tc__fail(rc, "feedback stats: out of memory");
}

/* ---- consume and ack ---------------------------------------------------- */

typedef struct batch {
    tc_feedback_batch pub; /* first: the caller's pointer is this */
    char **ids, **recs;
} batch;

void tc__fb_batch_free(tc_feedback_batch *b)
{
    batch *x = (batch *)b;

    if (!x) {
        return;
    }
    tc__fb_strings_free(x->ids, x->pub.n);
    tc__fb_strings_free(x->recs, x->pub.n);
    tc__free(x);
}

int tc__fb_consume(tc_feedback_batch **out, tc__fb *fb, const char *consumer,
                   size_t max, int64_t claim_idle_ms)
{
    tc__err err;
    batch *b;
    char **ids = NULL, **recs = NULL;
    size_t n = 0, clen = strlen(consumer);
    int rc;

    if (clen == 0 || clen > CONSUMER_MAX || !tc__utf8_valid(consumer, clen)) {
        return tc__fail(TC_EINVAL,
                        "consumer: not a name of 1 to %d bytes of UTF-8",
                        CONSUMER_MAX);
    }
    if (max == 0) {
        return tc__fail(TC_EINVAL, "max: 0");
    }
    if ((rc = tc__fb_start(fb, &err)) != TC_OK) {
        return rc;
    }
    if (!(b = tc__calloc(1, sizeof(*b)))) {
        return tc__fail(TC_ENOMEM, "feedback consume: out of memory");
    }
    rc = fb->ops->consume(fb->store, consumer, max,
                          claim_idle_ms > 0 ? claim_idle_ms
                                            : DEFAULT_CLAIM_IDLE_MS,
                          &ids, &recs, &n, &err);
    tc__cache_l2_state(fb->cache, rc);
    if (rc == TC_OK && tc__fb_open_records(fb, ids, recs, n) != TC_OK) {
        rc = tc__errf(&err, TC_ENOMEM, "feedback consume: out of memory");
        tc__fb_strings_free(ids, n);
        tc__fb_strings_free(recs, n);
    }
    if (rc != TC_OK) {
        tc__free(b);
        return tc__fail(rc, "%s", err.msg);
    }
    b->ids = ids;
    b->recs = recs;
    b->pub.n = n;
    b->pub.ids = (const char *const *)ids;
    b->pub.records = (const char *const *)recs;
    *out = &b->pub;
    return TC_OK;
}

int tc__fb_ack(tc__fb *fb, const char *const *ids, size_t n)
{
    tc__err err;
    int rc;

    for (size_t i = 0; i < n; i++) {
        if (!tc__fb_id_valid(ids[i])) {
            return tc__fail(TC_EINVAL, "ids[%zu]: not a feedback id", i);
        }
    }
    if ((rc = tc__fb_ready(fb)) != TC_OK) {
        return rc;
    }
    replay_if_due(fb);
    if (n == 0) {
        return TC_OK;
    }
    err.msg[0] = '\0';
    rc = fb->ops->ack(fb->store, ids, n, &err);
    tc__cache_l2_state(fb->cache, rc);
    return rc == TC_OK ? TC_OK : tc__fail(rc, "%s", err.msg);
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

int tc__fb_export(tc__fb *fb, FILE *out, uint64_t *count)
{
    export_ctx x = {out, 0, 0};
    tc__fb_opener op = {fb, export_one, &x};
    tc__err err;
    int rc;

    if ((rc = tc__fb_start(fb, &err)) != TC_OK) {
        return rc;
    }
    errno = 0;
    rc = fb->ops->export(fb->store, tc__fb_open_each, &op, &err);
    if (count) {
        *count = x.n;
    }
    if (rc == TC_EIO && x.err) {
        return tc__fail(TC_EIO, "writing the export after %llu records: %s",
                        (unsigned long long)x.n, strerror(x.err));
    }
    tc__cache_l2_state(fb->cache, rc);
    if (rc != TC_OK) {
        return tc__fail(rc, "%s", err.msg);
    }
    if (fflush(out) != 0) {
        return tc__fail(TC_EIO, "writing the export: %s", strerror(errno));
    }
    return TC_OK;
}
