/*
 * analytics.c - the analytics of feedback (tc_feedback_analytics_json):
 * corrections and confirmations per intent, the confusion matrix of
 * corrections (original -> correct), counts per day over the retention
 * window, the keys of the most corrected texts, and the correction rate
 * per model a record names, and per A/B arm; joined to the answers
 * served per intent and the shadow checks per model that every process
 * counted in the feedback store's tally (classify/served.c), so that an
 * intent's corrections also read as a rate of its classifications.
 *
 * They are computed from the stored records themselves, read one at a
 * time through the store's export, not from counters: every record within
 * its retention is there with its type, intents and timestamp, so no new
 * counter has to be kept in step with purges and expiry. A text is named
 * by its key in the feedback namespace, never by its words.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "base/normalize.h"
#include "report/report.h"

/* The most corrected texts listed. */
#define TOP_TEXTS 10

/* Days of a retention window at most (a year and a bit). */
#define MAX_DAYS 400

/* A day, in seconds. */
#define DAY_S 86400

/* Adds n to the number member name of obj, created at 0. */
static int bump(cJSON *obj, const char *name, double n)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (!v) {
        return cJSON_AddNumberToObject(obj, name, n) ? 0 : -1;
    }
    cJSON_SetNumberValue(v, v->valuedouble + n);
    return 0;
}

/* The member object name of obj, created empty. */
static cJSON *member(cJSON *obj, const char *name)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    return v ? v : cJSON_AddObjectToObject(obj, name);
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The member name of obj with corrections and confirmations at 0. */
static cJSON *counts_member(cJSON *obj, const char *name)
{
    cJSON *d = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (!d && (!(d = cJSON_AddObjectToObject(obj, name)) ||
               !cJSON_AddNumberToObject(d, "corrections", 0) ||
               !cJSON_AddNumberToObject(d, "confirmations", 0))) {
        return NULL;
    }
    return d;
}

/*
 * The corrected texts, counted by key in an open-addressing table (a
 * power of two of slots, at most half full). A store holds about as many
 * distinct texts as records, and a cJSON object finds a member by walking
 * them all, which made counting texts quadratic in the records: seconds
 * for a page at a hundred thousand. The other tallies are bounded by the
 * intents, models and days, and stay cJSON objects.
 */
typedef struct text_count {
    char key[TC_KEY_MAX];
    uint64_t n; /* 0: an empty slot */
} text_count;

typedef struct text_table {
    text_count *slot;
    size_t cap, used;
} text_table;

/* FNV-1a: the keys are hashes already, spelled in hex. */
static size_t key_hash(const char *k)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (; *k; k++) {
        h = (h ^ (unsigned char)*k) * 0x100000001b3ull;
    }
    return (size_t)h;
}

/* The slot of key in t: its own, or the empty one it would take. */
static text_count *slot_of(const text_table *t, const char *key)
{
    size_t i = key_hash(key) & (t->cap - 1);

    while (t->slot[i].n && strcmp(t->slot[i].key, key) != 0) {
        i = (i + 1) & (t->cap - 1);
    }
    return &t->slot[i];
}

/* Twice the slots (64 at first), the counts moved over; -1 out of
 * memory (t unchanged). */
static int table_grow(text_table *t)
{
    size_t cap = t->cap ? 2 * t->cap : 64;
    text_table g = {tc__calloc(cap, sizeof(text_count)), cap, t->used};

    if (!g.slot) {
        return -1;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slot[i].n) {
            *slot_of(&g, t->slot[i].key) = t->slot[i];
        }
    }
    tc__free(t->slot);
    *t = g;
    return 0;
}

/* One more correction of key; -1 out of memory. */
static int table_bump(text_table *t, const char *key)
{
    text_count *c;

    if (2 * (t->used + 1) > t->cap && table_grow(t) != 0) {
        return -1;
    }
    c = slot_of(t, key);
    if (!c->n) {
        snprintf(c->key, sizeof(c->key), "%s", key);
        t->used++;
    }
    c->n++;
    return 0;
}

/* The tallies being made, and what they need. */
typedef struct tally_ctx {
    tc__fb *fb;
    cJSON *intents, *confusion, *days, *models;
    text_table texts;
    uint64_t n; /* records read */
} tally_ctx;

/* A corrected text counted under its key in the feedback namespace; a
 * text that does not normalize, or no such namespace, is not counted. */
static int count_text(tally_ctx *x, const char *text)
{
    char key[TC_KEY_MAX], *norm = NULL;
    size_t nlen = 0;
    int rc = tc__text_normalize(&norm, &nlen, text, strlen(text));

    if (rc == TC_OK &&
        tc__cache_key(key, x->fb->cache, TC__FB_NS, norm, nlen) == TC_OK) {
        rc = table_bump(&x->texts, key);
    }
    tc__free(norm);
    return rc == TC_ENOMEM || rc == -1 ? -1 : 0;
}

/* One record into the tallies; -1 out of memory. */
static int tally(tally_ctx *x, const cJSON *rec)
{
    const char *model = str(rec, "model");
    const char *type = str(rec, "feedback_type");
    const char *orig = str(rec, "original_intent");
    const char *corr = str(rec, "correct_intent");
    const char *ts = str(rec, "timestamp"), *text = str(rec, "text");
    int correction = type && strcmp(type, "correction") == 0;
    const char *kind = correction ? "corrections" : "confirmations";
    char day[11];
    cJSON *d;

    if (!type || !orig) {
        return 0;
    }
    if (!(d = counts_member(x->intents, orig)) || bump(d, kind, 1) != 0) {
        return -1;
    }
    if (model &&
        (!(d = counts_member(x->models, model)) || bump(d, kind, 1) != 0)) {
        return -1;
    }
    if (ts && strlen(ts) >= 10) {
        memcpy(day, ts, 10);
        day[10] = '\0';
        if ((d = cJSON_GetObjectItemCaseSensitive(x->days, day)) &&
            bump(d, kind, 1) != 0) {
            return -1;
        }
    }
    if (!correction || !corr) {
        return 0;
    }
    if (bump(member(x->confusion, orig), corr, 1) != 0) {
        return -1;
    }
    return text ? count_text(x, text) : 0;
}

/* The export's callback: a record that does not parse is skipped. */
static int each(void *ud, const char *id, const char *json, size_t len)
{
    tally_ctx *x = ud;
    cJSON *rec = cJSON_ParseWithLength(json, len);
    int rc = rec ? (tally(x, rec) != 0 ? TC_ENOMEM : TC_OK)
                 : (tc__oom_take() ? TC_ENOMEM : TC_OK);

    (void)id;
    cJSON_Delete(rec);
    x->n++;
    return rc;
}

/* The days of the window, oldest first, each at zero. */
static cJSON *window(int64_t retention_ms)
{
    cJSON *days = cJSON_CreateObject();
    time_t now = (time_t)(tc__wall_ms() / 1000);
    long n = (long)(((double)retention_ms / 1000.0) / DAY_S + 0.999), i;
    char day[16];
    struct tm tm;

    if (n < 1) {
        n = 1;
    }
    if (n > MAX_DAYS) {
        n = MAX_DAYS;
    }
    for (i = n - 1; days && i >= 0; i--) {
        time_t t = now - (time_t)i * DAY_S;
        cJSON *d;

        gmtime_r(&t, &tm);
        strftime(day, sizeof(day), "%Y-%m-%d", &tm);
        if (!(d = cJSON_AddObjectToObject(days, day)) ||
            !cJSON_AddNumberToObject(d, "corrections", 0) ||
            !cJSON_AddNumberToObject(d, "confirmations", 0)) {
            cJSON_Delete(days);
            return NULL;
        }
    }
    return days;
}

/* Whether a is listed before b: more corrections, or as many and the
 * smaller key, so that the list is the same on every run. */
static int before(const text_count *a, const text_count *b)
{
    return a->n > b->n || (a->n == b->n && strcmp(a->key, b->key) < 0);
}

/* The TOP_TEXTS most corrected texts of t, most first. */
static cJSON *top_texts(const text_table *t)
{
    const text_count *top[TOP_TEXTS];
    size_t ntop = 0, i, k;
    cJSON *out = cJSON_CreateArray();

    for (k = 0; out && k < t->cap; k++) {
        const text_count *c = &t->slot[k];

        if (!c->n || (ntop == TOP_TEXTS && !before(c, top[ntop - 1]))) {
            continue;
        }
        i = ntop < TOP_TEXTS ? ntop++ : TOP_TEXTS - 1;
        for (; i > 0 && before(c, top[i - 1]); i--) {
            top[i] = top[i - 1];
        }
        top[i] = c;
    }
    for (i = 0; out && i < ntop; i++) {
        cJSON *o = cJSON_CreateObject();

        if (!o || !cJSON_AddStringToObject(o, "key", top[i]->key) ||
            !cJSON_AddNumberToObject(o, "corrections", (double)top[i]->n) ||
            !cJSON_AddItemToArray(out, o)) {
            cJSON_Delete(o);
            cJSON_Delete(out);
            out = NULL;
        }
    }
    return out;
}

/* The arm whose model is model: 0 control, 1 candidate, -1 neither. A
 * record naming a host model "fn:VERSION" is the model VERSION. */
static int arm_of(const char *const arm[2], const char *model)
{
    const char *bare = strncmp(model, "fn:", 3) == 0 ? model + 3 : model;

    for (int i = 0; i < 2; i++) {
        if (arm[i] && arm[i][0] && strcmp(arm[i], bare) == 0) {
            return i;
        }
    }
    return -1;
}

static double num_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* A rate, part / whole, as name of obj; null when nothing was counted
 * under whole. */
static int add_ratio(cJSON *obj, const char *name, double part, double whole)
{
    return (whole > 0 ? cJSON_AddNumberToObject(obj, name, part / whole)
                      : cJSON_AddNullToObject(obj, name))
               ? 0
               : -1;
}

/* Adds "correction_rate" to counts, null when it has no record. */
static int add_rate(cJSON *counts)
{
    double corr = num_of(counts, "corrections");

    return add_ratio(counts, "correction_rate", corr,
                     corr + num_of(counts, "confirmations"));
}

/* Each model's rate and arm, then "arms" for the arms named. */
static int finish_models(cJSON *a, cJSON *models, const char *const arm[2])
{
    static const char *const names[2] = {"control", "candidate"};
    cJSON *arms = cJSON_AddObjectToObject(a, "arms"), *m;

    if (!arms) {
        return -1;
    }
    cJSON_ArrayForEach(m, models)
    {
        int i = arm_of(arm, m->string);

        if (add_rate(m) != 0 ||
            (i >= 0 && !cJSON_AddStringToObject(m, "arm", names[i]))) {
            return -1;
        }
    }
    for (int i = 0; i < 2; i++) {
        cJSON *o;
        double corr = 0, conf = 0;

        if (!arm[i] || !arm[i][0]) {
            continue;
        }
        cJSON_ArrayForEach(m, models)
        {
            if (arm_of(arm, m->string) == i) {
                corr += num_of(m, "corrections");
                conf += num_of(m, "confirmations");
            }
        }
        if (!(o = cJSON_AddObjectToObject(arms, names[i])) ||
            !cJSON_AddStringToObject(o, "model", arm[i]) ||
            !cJSON_AddNumberToObject(o, "corrections", corr) ||
            !cJSON_AddNumberToObject(o, "confirmations", conf) ||
            add_rate(o) != 0) {
            return -1;
        }
    }
    return 0;
}

/*
 * The answers served, as every process counted them in the feedback
 * store's tally (classify/served.c; s, this handle's, flushed first),
 * joined to the records' tallies of a: each intent's "classifications"
 * (every model's answers of that intent over the window) and
 * "correction_rate", its corrections / classifications; and "shadow",
 * per model, its shadow checks with their disagreement rate. An intent
 * answered but never corrected nor confirmed gets its member too, at
 * zero records (a rate of 0 is what it has, not an absence). A rate
 * passes 1 when records are about answers the tally does not hold
 * (imported, from a process that does not count or keeps its counts in
 * memory:, or older than the counts kept): then the intent says so,
 * "corrections_exceed_classifications", so that no reader takes it for
 * a share.
 */
static int join_served(cJSON *a, tc__served *s, tc__fb *fb)
{
    cJSON *served = NULL, *it, *m, *shadow;
    cJSON *intents = cJSON_GetObjectItemCaseSensitive(a, "intents");
    const cJSON *answers;
    int rc = tc__served_tree(&served, s, fb->cache), bad = 0;

    if (rc != TC_OK) {
        return rc;
    }
    answers = cJSON_GetObjectItemCaseSensitive(served, "intents");
    cJSON_ArrayForEach(it, answers)
    {
        if (!counts_member(intents, it->string)) {
            bad = 1;
        }
    }
    cJSON_ArrayForEach(it, intents)
    {
        double n = num_of(cJSON_GetObjectItemCaseSensitive(answers, it->string),
                          "classifications");
        double corr = num_of(it, "corrections");

        if (!cJSON_AddNumberToObject(it, "classifications", n) ||
            add_ratio(it, "correction_rate", corr, n) ||
            !cJSON_AddBoolToObject(it, "corrections_exceed_classifications",
                                   corr > n)) {
            bad = 1;
        }
    }
    shadow = cJSON_AddObjectToObject(a, "shadow");
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(served, "models"))
    {
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(m, "shadow");
        cJSON *one = shadow ? cJSON_AddObjectToObject(shadow, m->string) : NULL;

        if (!one ||
            !cJSON_AddNumberToObject(one, "checks", num_of(sh, "checks")) ||
            !cJSON_AddNumberToObject(one, "agree", num_of(sh, "agree")) ||
            !cJSON_AddNumberToObject(one, "disagree", num_of(sh, "disagree")) ||
            add_ratio(one, "rate", num_of(sh, "disagree"),
                      num_of(sh, "checks"))) {
            bad = 1;
            break;
        }
    }
    cJSON_Delete(served);
    return bad || !shadow ? tc__fail(TC_ENOMEM, "out of memory") : TC_OK;
}

/* Reads every record through the store's export into x's tallies. */
static int read_records(tally_ctx *x)
{
    tc__fb_opener op = {x->fb, each, x};
    tc__err err;
    int rc;

    err.msg[0] = '\0';
    if ((rc = tc__fb_start(x->fb, &err)) != TC_OK) {
        return rc;
    }
    rc = x->fb->ops->export(x->fb->store, tc__fb_open_each, &op, &err);
    tc__cache_l2_state(x->fb->cache, rc);
    if (rc == TC_ENOMEM) {
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    if (rc != TC_OK) {
        return tc__fail(rc, "reading the feedback records: %s", err.msg);
    }
    return TC_OK;
}

int tc__fb_analytics(cJSON **out, uint64_t *nrec, tc__cache *h, tc__fb *fb,
                     tc__served *served, const tc_report_options *o)
{
    const char *const arm[2] = {o->control_model, o->candidate_model};
    tally_ctx x = {fb, NULL, NULL, NULL, NULL, {NULL, 0, 0}, 0};
    cJSON *a = cJSON_CreateObject(), *top;
    int rc;

    *out = NULL;
    x.models = cJSON_CreateObject();
    x.intents = a ? cJSON_AddObjectToObject(a, "intents") : NULL;
    x.confusion = a ? cJSON_AddObjectToObject(a, "confusion") : NULL;
    x.days = window(tc__cache_config(h)->fb_retention_ms);
    if (!x.intents || !x.confusion || !x.days || !x.models) {
        rc = tc__fail(TC_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = read_records(&x)) != TC_OK) {
        goto done;
    }
    /* each tree is a's once added, else still ours to delete */
    if (!cJSON_AddItemToObject(a, "per_day", x.days)) {
        rc = tc__fail(TC_ENOMEM, "out of memory");
        goto done;
    }
    x.days = NULL;
    if (!(top = top_texts(&x.texts)) ||
        !cJSON_AddItemToObject(a, "most_corrected", top)) {
        cJSON_Delete(top);
        rc = tc__fail(TC_ENOMEM, "out of memory");
        goto done;
    }
    if (!cJSON_AddItemToObject(a, "models", x.models)) {
        rc = tc__fail(TC_ENOMEM, "out of memory");
        goto done;
    }
    x.models = NULL;
    if (finish_models(a, cJSON_GetObjectItemCaseSensitive(a, "models"), arm) !=
        0) {
        rc = tc__fail(TC_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = join_served(a, served, fb)) != TC_OK) {
        goto done;
    }
    *out = a;
    a = NULL;
done:
    if (nrec) {
        *nrec = x.n;
    }
    cJSON_Delete(x.days);
    tc__free(x.texts.slot);
    cJSON_Delete(x.models);
    cJSON_Delete(a);
    return rc;
}
