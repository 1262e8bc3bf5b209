/*
 * feedback_counts.c - the answers served per intent and the shadow
 * checks per model, read from the store (tc_classify_counts_json), set
 * beside the analytics of the stored records, so that an intent's
 * corrections read as a rate of the answers of that intent.
 */
#include <stdlib.h>
#include <string.h>

#include "feedback_counts.h"

static double num(const cJSON *obj, const char *name)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsNumber(it) ? it->valuedouble : 0;
}

/* A rate, or null when nothing was counted under it. */
static void add_rate(cJSON *obj, const char *name, double part, double whole)
{
    if (whole > 0) {
        cJSON_AddNumberToObject(obj, name, part / whole);
    } else {
        cJSON_AddNullToObject(obj, name);
    }
}

int cli_feedback_counts_join(tc_cache *h, cJSON *analytics)
{
    char *text = NULL;
    cJSON *counts, *intents, *served, *models, *m, *it, *shadow;
    int rc = tc_classify_counts_json(&text, h);

    if (rc != TC_OK) {
        return cli_fail(h, rc, "feedback stats: the answers served");
    }
    counts = cJSON_Parse(text);
    tc_free(text);
    if (!counts) {
        cli_err("feedback stats: the library's counts do not parse");
        return CLI_FAIL;
    }
    intents = cJSON_GetObjectItemCaseSensitive(analytics, "intents");
    served = cJSON_GetObjectItemCaseSensitive(counts, "intents");
    cJSON_ArrayForEach(it, intents)
    {
        double n = num(cJSON_GetObjectItemCaseSensitive(served, it->string),
                       "classifications");

        cJSON_AddNumberToObject(it, "classifications", n);
        add_rate(it, "correction_rate", num(it, "corrections"), n);
    }
    shadow = cJSON_AddObjectToObject(analytics, "shadow");
    models = cJSON_GetObjectItemCaseSensitive(counts, "models");
    cJSON_ArrayForEach(m, models)
    {
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(m, "shadow");
        cJSON *one = cJSON_AddObjectToObject(shadow, m->string);

        if (!one) {
            break;
        }
        cJSON_AddNumberToObject(one, "checks", num(sh, "checks"));
        cJSON_AddNumberToObject(one, "agree", num(sh, "agree"));
        cJSON_AddNumberToObject(one, "disagree", num(sh, "disagree"));
        add_rate(one, "rate", num(sh, "disagree"), num(sh, "checks"));
    }
    cJSON_Delete(counts);
    if (!shadow) {
        cli_err("feedback stats: out of memory");
        return CLI_FAIL;
    }
    return CLI_OK;
}
