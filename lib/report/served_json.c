/*
 * served_json.c - the answers served per model and intent, and the
 * shadow checks' outcomes per model, over the feedback retention window
 * (tc_classify_counts_json): the store's tally (classify/served.c)
 * summed over its days. Fields of another form, and days before the
 * window that a flush has not trimmed yet, are left out.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "report/report.h"

/* Adds n to obj's number name (0 first). */
static void add(cJSON *obj, const char *name, double n)
{
    cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (!it) {
        cJSON_AddNumberToObject(obj, name, n);
    } else {
        cJSON_SetNumberValue(it, it->valuedouble + n);
    }
}

/* obj's object name, made empty when it has none. */
static cJSON *member(cJSON *obj, const char *name)
{
    cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

    return it ? it : cJSON_AddObjectToObject(obj, name);
}

/* A new per-intent object: every count at 0, so that readers find them. */
static cJSON *answers(cJSON *obj, const char *name)
{
    cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

    if (!it && (it = cJSON_AddObjectToObject(obj, name))) {
        add(it, "classifications", 0);
        add(it, "hits", 0);
        add(it, "misses", 0);
        add(it, "feedback", 0);
    }
    return it;
}

static void count_answer(cJSON *obj, char how, double n)
{
    add(obj, "classifications", n);
    add(obj,
        how == TC__SERVED_HIT    ? "hits"
        : how == TC__SERVED_MISS ? "misses"
                                 : "feedback",
        n);
}

static cJSON *model_of(cJSON *models, const char *name)
{
    cJSON *m = cJSON_GetObjectItemCaseSensitive(models, name), *sh;

    if (!m && (m = answers(models, name))) {
        cJSON_AddObjectToObject(m, "intents");
        if ((sh = cJSON_AddObjectToObject(m, "shadow"))) {
            add(sh, "checks", 0);
            add(sh, "agree", 0);
            add(sh, "disagree", 0);
        }
    }
    return m;
}

/* One field of the tally into the tree. */
static void take(cJSON *models, cJSON *intents, const tc__served_field *f,
                 double n)
{
    char name[TC__TALLY_FIELD_MAX];
    cJSON *m, *sh;

    memcpy(name, f->model, f->mlen);
    name[f->mlen] = '\0';
    if (!(m = model_of(models, name))) {
        return;
    }
    if (f->how == TC__SERVED_AGREE || f->how == TC__SERVED_DISAGREE) {
        sh = member(m, "shadow");
        add(sh, "checks", n);
        add(sh, f->how == TC__SERVED_AGREE ? "agree" : "disagree", n);
        return;
    }
    if (f->how != TC__SERVED_HIT && f->how != TC__SERVED_MISS &&
        f->how != TC__SERVED_FEEDBACK) {
        return;
    }
    count_answer(m, f->how, n);
    count_answer(answers(member(m, "intents"), f->intent), f->how, n);
    count_answer(answers(intents, f->intent), f->how, n);
}

/* obj's number name; 0 when it has none (an allocation that failed,
 * which the rendering then reports). */
static double num(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsNumber(it) ? it->valuedouble : 0;
}

/* Each model's shadow "rate": disagree / checks, null without checks. */
static void rates(cJSON *models)
{
    cJSON *m;

    cJSON_ArrayForEach(m, models)
    {
        cJSON *sh = cJSON_GetObjectItemCaseSensitive(m, "shadow");
        double checks = num(sh, "checks"), dis = num(sh, "disagree");

        if (checks > 0) {
            cJSON_AddNumberToObject(sh, "rate", dis / checks);
        } else {
            cJSON_AddNullToObject(sh, "rate");
        }
    }
}

int tc__served_tree(cJSON **out, tc__served *s, tc__cache *fbcache)
{
    tc__tally *t = NULL;
    size_t n = 0;
    char floor[9], since[11];
    cJSON *root, *models, *intents;
    int rc;

    *out = NULL;
    if ((rc = tc__served_read(&t, &n, floor, s, fbcache)) != TC_OK) {
        return rc;
    }
    tc__oom_take();
    root = cJSON_CreateObject();
    memcpy(since, floor, 4);
    since[4] = '-';
    memcpy(since + 5, floor + 4, 2);
    since[7] = '-';
    memcpy(since + 8, floor + 6, 2);
    since[10] = '\0';
    cJSON_AddStringToObject(root, "since", since);
    cJSON_AddBoolToObject(root, "counting", s != NULL);
    models = cJSON_AddObjectToObject(root, "models");
    intents = cJSON_AddObjectToObject(root, "intents");
    for (size_t i = 0; models && intents && i < n; i++) {
        tc__served_field f;

        if (tc__served_parse(&f, t[i].field) == 0 &&
            memcmp(f.day, floor, 8) >= 0) {
            take(models, intents, &f, (double)t[i].count);
        }
    }
    tc__tally_free(t, n);
    if (models) {
        rates(models);
    }
    if (tc__oom_take() || !root) {
        cJSON_Delete(root);
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    *out = root;
    return TC_OK;
}

int tc__served_json(char **out, tc__served *s, tc__cache *fbcache)
{
    cJSON *root = NULL;
    int rc = tc__served_tree(&root, s, fbcache);

    *out = NULL;
    return rc != TC_OK ? rc : tc__report_render(out, root);
}
