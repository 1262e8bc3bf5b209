/*
 * analytics.c - the analytics of feedback (tc_feedback_analytics_json):
 * corrections and confirmations per intent, the confusion matrix of
 * corrections (original -> correct), counts per day over the retention
 * window, the keys of the most corrected texts, and the correction rate
 * per model a record names, and per A/B arm.
 *
 * They are computed from the stored records themselves, read one at a
 * time through the store's export, not from counters: every record within
 * its retention is there with its type, intents and timestamp, so no new
 * counter has to be kept in step with purges and expiry. A text is named
 * by its key in the feedback namespace, never by its words.
 */
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

/* The tallies being made, and what they need. */
typedef struct tally_ctx {
    tc__fb *fb;
    cJSON *intents, *confusion, *days, *texts, *models;
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
        rc = bump(x->texts, key, 1);
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

/* texts ({key: count}) as the TOP_TEXTS most corrected, most first. */
static cJSON *top_texts(const cJSON *texts)
{
    int i, k, n = cJSON_GetArraySize(texts);
    char *taken = tc__calloc((size_t)n + 1, 1);
    cJSON *out = taken ? cJSON_CreateArray() : NULL;
    const cJSON *t, *best;

    for (k = 0; out && k < TOP_TEXTS && k < n; k++) {
        cJSON *o;
        int at = -1;

        best = NULL;
        for (i = 0, t = texts->child; t; t = t->next, i++) {
            if (!taken[i] &&
                (!best || t->valuedouble > best->valuedouble ||
                 (t->valuedouble == best->valuedouble &&
                  strcmp(t->string, best->string) < 0))) {
                best = t;
                at = i;
            }
        }
        taken[at] = 1;
        if (!(o = cJSON_CreateObject()) ||
            !cJSON_AddStringToObject(o, "key", best->string) ||
            !cJSON_AddNumberToObject(o, "corrections", best->valuedouble)) {
            cJSON_Delete(o);
            cJSON_Delete(out);
            out = NULL;
            break;
        }
        cJSON_AddItemToArray(out, o);
    }
    tc__free(taken);
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

/* Adds "correction_rate" to counts, null when it has no record. */
static int add_rate(cJSON *counts)
{
    double corr = num_of(counts, "corrections");
    double all = corr + num_of(counts, "confirmations");

    return (all > 0
                ? cJSON_AddNumberToObject(counts, "correction_rate", corr / all)
                : cJSON_AddNullToObject(counts, "correction_rate"))
               ? 0
               : -1;
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
                     const tc_report_options *o)
{
    const char *const arm[2] = {o->control_model, o->candidate_model};
    tally_ctx x = {fb, NULL, NULL, NULL, NULL, NULL, 0};
    cJSON *a = cJSON_CreateObject(), *top;
    int rc;

    *out = NULL;
    x.texts = cJSON_CreateObject();
    x.models = cJSON_CreateObject();
    x.intents = a ? cJSON_AddObjectToObject(a, "intents") : NULL;
    x.confusion = a ? cJSON_AddObjectToObject(a, "confusion") : NULL;
    x.days = window(tc__cache_config(h)->fb_retention_ms);
    if (!x.intents || !x.confusion || !x.days || !x.texts || !x.models) {
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
    if (!(top = top_texts(x.texts)) ||
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
    if (finish_models(a, cJSON_GetObjectItemCaseSensitive(a, "models"),
                      arm) != 0) {
        rc = tc__fail(TC_ENOMEM, "out of memory");
        goto done;
    }
    *out = a;
    a = NULL;
done:
    if (nrec) {
        *nrec = x.n;
    }
    cJSON_Delete(x.days);
    cJSON_Delete(x.texts);
    cJSON_Delete(x.models);
    cJSON_Delete(a);
    return rc;
}
