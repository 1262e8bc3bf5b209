/*
 * purge.c - erasure: the records that match a filter (a user, a time, a
 * text) removed from the store, with their queue entries and the ids that
 * de-duplicate them, and the overrides their corrections set made right.
 *
 * Stores know records by id only, so the matching is done here, over an
 * export of every record, and the store erases the ids (fbstore.h's
 * purge). An override belongs to a text, not to a record: several users'
 * corrections of one text share it. So an override a purged correction
 * set is recomputed from the corrections that remain, the latest one
 * stored whose time (its timestamp plus the namespace's TTL) has not run
 * out, for the time it has left, and deleted when none remains.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "base/normalize.h"
#include "feedback/feedback.h"

/* An override a purged correction set: its text's normal form, and the
 * classification of the latest remaining correction, if any. */
typedef struct affected {
    char okey[TC_KEY_MAX];
    char *norm;
    size_t normlen;
    char *oval; /* NULL: none remains, the override goes */
    size_t olen;
    int64_t ttl_ms;
} affected;

typedef struct purge_ctx {
    tc__fb *fb;
    const tc__fb_filter *f;
    char *norm; /* the filter's text, normalized */
    size_t normlen;
    int64_t before_ms;
    int64_t now_ms;
    char **ids; /* matched */
    size_t nids, capids;
    affected *aff;
    size_t naff, capaff;
    int pass; /* 1: match, 2: recompute */
    int rc;   /* a failure of the callback (TC_ENOMEM) */
    tc__err *err;
} purge_ctx;

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    void *p;
    size_t c = *cap ? *cap * 2 : 16;

    if (n < *cap) {
        return TC_OK;
    }
    if (!(p = tc__realloc(*v, c * size))) {
        return TC_ENOMEM;
    }
    *v = p;
    *cap = c;
    return TC_OK;
}

static affected *find_aff(purge_ctx *x, const char *okey)
{
    for (size_t i = 0; i < x->naff; i++) {
        if (strcmp(x->aff[i].okey, okey) == 0) {
            return &x->aff[i];
        }
    }
    return NULL;
}

/* Whether a record matches every filter given; -1: out of memory. Read
 * from its fields alone, so that a record that no longer validates (a
 * rule of a later version) is erased all the same. */
static int matches(const purge_ctx *x, const tc__fb_in *in, int has_ts,
                   int64_t ts)
{
    char *norm = NULL;
    size_t len = 0;
    int same;

    if (x->f->user_id &&
        (!in->user_id || strcmp(in->user_id, x->f->user_id) != 0)) {
        return 0;
    }
    if (x->f->before && !(has_ts && ts < x->before_ms)) {
        return 0;
    }
    if (!x->f->text) {
        return 1;
    }
    if (!in->text) {
        return 0;
    }
    switch (tc__text_normalize(&norm, &len, in->text, in->textlen)) {
    case TC_OK:
        break;
    case TC_ENOMEM:
        return -1;
    default:
        return 0;
    }
    same = len == x->normlen && memcmp(norm, x->norm, len) == 0;
    tc__free(norm);
    return same;
}

/* Pass 1: a matching record's id; r (NULL when the record did not build)
 * names the override it set. */
static int match_one(purge_ctx *x, const char *id, const tc__fb_rec *r)
{
    affected *a;

    if (grow((void **)&x->ids, &x->capids, x->nids, sizeof(char *)) != TC_OK ||
        !(x->ids[x->nids] = tc__strdup(id))) {
        return TC_ENOMEM;
    }
    x->nids++;
    if (!r || !r->oval || find_aff(x, r->okey)) {
        return TC_OK;
    }
    if (grow((void **)&x->aff, &x->capaff, x->naff, sizeof(*a)) != TC_OK) {
        return TC_ENOMEM;
    }
    a = &x->aff[x->naff];
    memset(a, 0, sizeof(*a));
    memcpy(a->okey, r->okey, sizeof(a->okey));
    if (!(a->norm = tc__memdup0(r->norm, r->normlen))) {
        return TC_ENOMEM;
    }
    a->normlen = r->normlen;
    x->naff++;
    return TC_OK;
}

/* Pass 2: a remaining correction of an affected text whose override
 * would still live; the later one stored wins, as it did when put. */
static int recompute_one(purge_ctx *x, const tc__fb_rec *r, int64_t ts)
{
    affected *a;
    int64_t left = ts + x->fb->override_ttl_ms - x->now_ms;
    char *v;

    if (!r->oval || left <= 0 || !(a = find_aff(x, r->okey))) {
        return TC_OK;
    }
    if (!(v = tc__memdup0(r->oval, r->olen))) {
        return TC_ENOMEM;
    }
    tc__free(a->oval);
    a->oval = v;
    a->olen = r->olen;
    a->ttl_ms = left;
    return TC_OK;
}

static int each(void *ud, const char *id, const char *json, size_t len)
{
    purge_ctx *x = ud;
    tc__fb_in in;
    tc__fb_rec r;
    void *tree = NULL;
    int64_t ts = 0;
    int has_ts = 0, m = 0, built = 0;
    tc__err why;
    int rc;

    memset(&r, 0, sizeof(r));
    rc = tc__fb_parse_json(&in, &tree, json, len, 0, &why);
    if (rc == TC_OK) {
        has_ts = in.timestamp && tc__fb_ts_ms(in.timestamp, &ts, &why) == 0;
        if (x->pass == 1 && (m = matches(x, &in, has_ts, ts)) < 0) {
            rc = TC_ENOMEM;
        }
    }
    if (rc == TC_OK && (m || x->pass == 2) &&
        in.type == TC_FEEDBACK_CORRECTION) {
        in.id = id;
        rc = tc__fb_build(&r, x->fb, &in, &why);
        built = rc == TC_OK;
        rc = rc == TC_ENOMEM || rc == TC_ENONS ? rc : TC_OK;
    }
    if (rc == TC_OK && m) {
        rc = match_one(x, id, built ? &r : NULL);
    } else if (rc == TC_OK && built && x->pass == 2 && has_ts) {
        rc = recompute_one(x, &r, ts);
    }
    if (built) {
        tc__fb_rec_free(&r);
    }
    cJSON_Delete(tree);
    if (rc == TC_ENOMEM || rc == TC_ENONS) {
        x->rc = tc__errf(x->err, rc, "feedback purge: %s",
                         rc == TC_ENOMEM ? "out of memory" : why.msg);
        return x->rc;
    }
    return 0; /* a record that cannot be read is no one's to erase */
}

/* The overrides made right: rewritten from what remains, or deleted. */
static int fix_overrides(purge_ctx *x)
{
    int rc = TC_OK;

    for (size_t i = 0; i < x->naff && rc == TC_OK; i++) {
        affected *a = &x->aff[i];

        if (a->oval) {
            rc = tc__cache_set(x->fb->cache, TC__FB_NS, a->norm, a->normlen,
                               a->oval, a->olen, a->ttl_ms);
        } else {
            rc = tc__cache_del(x->fb->cache, TC__FB_NS, a->norm, a->normlen);
            rc = rc == TC_MISS ? TC_OK : rc;
        }
    }
    return rc;
}

static int setup(purge_ctx *x, tc__err *err)
{
    int rc;

    if (!x->f->user_id && !x->f->before && !x->f->text) {
        return tc__fail(TC_EINVAL, "feedback purge: no filter (user_id, "
                                   "before or text): refusing to erase "
                                   "every record");
    }
    if (x->f->before &&
        (rc = tc__fb_ts_ms(x->f->before, &x->before_ms, err)) != TC_OK) {
        return tc__fail(rc, "before: %s", err->msg);
    }
    if (x->f->text &&
        (rc = tc__text_normalize(&x->norm, &x->normlen, x->f->text,
                                 strlen(x->f->text))) != TC_OK) {
        return tc__fail(rc, "text: not valid UTF-8 text");
    }
    return TC_OK;
}

int tc__fb_purge(uint64_t *removed, tc__fb *fb, const tc__fb_filter *f)
{
    purge_ctx x;
    /* sealed records are matched on what they hold, opened first */
    tc__fb_opener op = {fb, each, &x};
    tc__err err;
    int rc;

    memset(&x, 0, sizeof(x));
    x.fb = fb;
    x.f = f;
    x.err = &err;
    err.msg[0] = '\0';
    if ((rc = setup(&x, &err)) != TC_OK ||
        (rc = tc__fb_start(fb, &err)) != TC_OK) {
        goto done;
    }
    /* records this process spooled would come back with the next replay */
    if ((rc = tc__spool_replay(fb, 1, &err)) != TC_OK) {
        rc = tc__fail(rc,
                      "feedback purge: the spool could not be "
                      "replayed first: %s",
                      err.msg);
        goto done;
    }
    x.pass = 1;
    rc = fb->ops->export(fb->store, tc__fb_open_each, &op, &err);
    if (rc == TC_OK && x.nids > 0) {
        rc = fb->ops->purge(fb->store, (const char *const *)x.ids, x.nids,
                            removed, &err);
    }
    if (rc == TC_OK && x.naff > 0) {
        x.pass = 2;
        x.now_ms = tc__wall_ms();
        rc = fb->ops->export(fb->store, tc__fb_open_each, &op, &err);
    }
    tc__cache_l2_state(fb->cache, rc);
    if (rc != TC_OK) {
        rc = tc__fail(rc, "%s", err.msg);
        goto done;
    }
    rc = fix_overrides(&x);
done:
    tc__fb_strings_free(x.ids, x.nids);
    for (size_t i = 0; i < x.naff; i++) {
        tc__free(x.aff[i].norm);
        tc__free(x.aff[i].oval);
    }
    tc__free(x.aff);
    tc__free(x.norm);
    return rc;
}
