/*
 * feedback_analytics.c - what `feedback stats --json` adds to the
 * library's counters: corrections and confirmations per intent, the
 * confusion matrix of corrections (original -> correct), counts per day
 * over the retention window, the keys of the most corrected texts, and
 * the correction rate per model a record names, and per A/B arm.
 *
 * They are computed from the stored records themselves (tc_feedback_export
 * into a temporary file, read back a line at a time), not from counters:
 * every record within its retention is there with its type, intents and
 * timestamp, so no new counter has to be kept in step with purges and
 * expiry. A text is named by its key in the feedback namespace, never by
 * its words.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec_backend.h"
#include "feedback_analytics.h"

/* The most corrected texts listed. */
#define TOP_TEXTS 10

/* Days of a retention window at most (a year and a bit). */
#define MAX_DAYS 400

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

static double num_of(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

    return cJSON_IsNumber(v) ? v->valuedouble : 0;
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

/* One record into the tallies; -1 out of memory. */
static int tally(tc_cache *h, const cJSON *rec, cJSON *intents,
                 cJSON *confusion, cJSON *days, cJSON *texts, cJSON *models)
{
    const char *model = str(rec, "model");
    const char *type = str(rec, "feedback_type");
    const char *orig = str(rec, "original_intent");
    const char *corr = str(rec, "correct_intent");
    const char *ts = str(rec, "timestamp"), *text = str(rec, "text");
    int correction = type && strcmp(type, "correction") == 0;
    const char *kind = correction ? "corrections" : "confirmations";
    char day[11], key[TC_KEY_MAX], *norm = NULL;
    size_t nlen = 0;
    cJSON *d;

    if (!type || !orig) {
        return 0;
    }
    if (!(d = counts_member(intents, orig)) || bump(d, kind, 1) != 0) {
        return -1;
    }
    if (model && (!(d = counts_member(models, model)) || bump(d, kind, 1))) {
        return -1;
    }
    if (ts && strlen(ts) >= 10) {
        memcpy(day, ts, 10);
        day[10] = '\0';
        if ((d = cJSON_GetObjectItemCaseSensitive(days, day)) &&
            bump(d, kind, 1) != 0) {
            return -1;
        }
    }
    if (!correction || !corr) {
        return 0;
    }
    if (bump(member(confusion, orig), corr, 1) != 0) {
        return -1;
    }
    if (text && tc_text_normalize(&norm, &nlen, text, strlen(text)) == TC_OK &&
        tc_cache_key(key, sizeof(key), h, "intent_feedback", norm, nlen) ==
            TC_OK &&
        bump(texts, key, 1) != 0) {
        tc_free(norm);
        return -1;
    }
    tc_free(norm);
    return 0;
}

/* The days of the window, oldest first, each at zero. */
static cJSON *window(double retention_s)
{
    cJSON *days = cJSON_CreateObject();
    time_t now = time(NULL);
    long n = (long)(retention_s / 86400.0 + 0.999), i;
    char day[16];
    struct tm tm;

    if (n < 1) {
        n = 1;
    }
    if (n > MAX_DAYS) {
        n = MAX_DAYS;
    }
    for (i = n - 1; days && i >= 0; i--) {
        time_t t = now - (time_t)i * 86400;
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
    cJSON *out = cJSON_CreateArray();
    const cJSON *t, *best;
    char *taken = calloc((size_t)cJSON_GetArraySize(texts) + 1, 1);
    int i, k, n = cJSON_GetArraySize(texts);

    for (k = 0; out && taken && k < TOP_TEXTS && k < n; k++) {
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
    if (!taken) {
        cJSON_Delete(out);
        out = NULL;
    }
    free(taken);
    return out;
}

/* The retention of feedback records, in seconds, from the configuration. */
static double retention_seconds(tc_cache *h)
{
    cJSON *cfg = cli_config_tree(h);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(cfg, "feedback_retention");
    double s = cJSON_IsNumber(r) ? r->valuedouble : 30 * 86400.0;

    cJSON_Delete(cfg);
    return s;
}

/* The arm am knows model as: 0 control, 1 candidate, -1 neither. */
static int arm_of(const cli_arm_models *am, const char *model)
{
    const char *bare = strncmp(model, "fn:", 3) == 0 ? model + 3 : model;

    for (int i = 0; am && i < 2; i++) {
        if (am->id[i][0] && strcmp(am->id[i], bare) == 0) {
            return i;
        }
    }
    return -1;
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

/* Each model's rate and arm, then "arms" for the arms am knows. */
static int finish_models(cJSON *a, cJSON *models, const cli_arm_models *am)
{
    static const char *const names[2] = {"control", "candidate"};
    cJSON *arms = cJSON_AddObjectToObject(a, "arms"), *m;

    if (!arms) {
        return -1;
    }
    cJSON_ArrayForEach(m, models)
    {
        int arm = arm_of(am, m->string);

        if (add_rate(m) != 0 ||
            (arm >= 0 && !cJSON_AddStringToObject(m, "arm", names[arm]))) {
            return -1;
        }
    }
    for (int i = 0; am && i < 2; i++) {
        cJSON *o;
        double corr = 0, conf = 0;

        if (!am->id[i][0]) {
            continue;
        }
        cJSON_ArrayForEach(m, models)
        {
            if (arm_of(am, m->string) == i) {
                corr += num_of(m, "corrections");
                conf += num_of(m, "confirmations");
            }
        }
        if (!(o = cJSON_AddObjectToObject(arms, names[i])) ||
            !cJSON_AddStringToObject(o, "model", am->id[i]) ||
            !cJSON_AddNumberToObject(o, "corrections", corr) ||
            !cJSON_AddNumberToObject(o, "confirmations", conf) ||
            add_rate(o) != 0) {
            return -1;
        }
    }
    return 0;
}

/* A model file's fingerprint into id (128 bytes), or exec:'s version. */
static int arm_id(char *id, const char *spec, int quiet)
{
    const char *cmd = exec_backend_command(spec);
    tc_model *m = NULL;
    int rc;

    if (cmd) {
        exec_backend_version(id, 128, cmd);
        return CLI_OK;
    }
    rc = quiet ? (tc_model_load(&m, spec) == TC_OK ? CLI_OK : CLI_FAIL)
               : cli_model_load(spec, &m);
    if (rc == CLI_OK) {
        tc_model_fingerprint(id, m);
    }
    tc_model_free(m);
    return quiet ? CLI_OK : rc;
}

int cli_arm_models_open(cli_arm_models *am, tc_cache *h, const char *control,
                        const char *candidate)
{
    cJSON *cfg = NULL;
    const cJSON *m;
    int rc = CLI_OK;

    memset(am, 0, sizeof(*am));
    if (control) {
        rc = arm_id(am->id[0], control, 0);
    } else if ((cfg = cli_config_tree(h)) &&
               cJSON_IsString(
                   m = cJSON_GetObjectItemCaseSensitive(cfg, "model")) &&
               *m->valuestring) {
        arm_id(am->id[0], m->valuestring, 1);
    }
    cJSON_Delete(cfg);
    if (rc == CLI_OK && candidate) {
        rc = arm_id(am->id[1], candidate, 0);
    }
    return rc;
}

int cli_feedback_analytics(tc_cache *h, const cli_arm_models *am, cJSON **out)
{
    cJSON *a = cJSON_CreateObject(), *texts = cJSON_CreateObject(), *rec;
    cJSON *models = cJSON_CreateObject();
    cJSON *intents, *confusion, *days, *top;
    FILE *tmp = tmpfile();
    char *line = NULL;
    size_t cap = 0;
    int rc;

    *out = NULL;
    intents = a ? cJSON_AddObjectToObject(a, "intents") : NULL;
    confusion = a ? cJSON_AddObjectToObject(a, "confusion") : NULL;
    days = window(retention_seconds(h));
    if (!tmp || !intents || !confusion || !days || !texts || !models) {
        cli_err("feedback stats: %s", tmp ? "out of memory"
                                          : "no temporary file");
        rc = CLI_FAIL;
        goto done;
    }
    if ((rc = tc_feedback_export(h, tmp, NULL)) != TC_OK) {
        rc = cli_fail(h, rc, "feedback stats");
        goto done;
    }
    rewind(tmp);
    rc = CLI_OK;
    while (rc == CLI_OK && getline(&line, &cap, tmp) >= 0) {
        if ((rec = cJSON_Parse(line)) &&
            tally(h, rec, intents, confusion, days, texts, models) != 0) {
            cli_err("feedback stats: out of memory");
            rc = CLI_FAIL;
        }
        cJSON_Delete(rec);
    }
    if (rc == CLI_OK) {
        top = top_texts(texts);
        cJSON_AddItemToObject(a, "per_day", days);
        days = NULL;
        if (!top) {
            cli_err("feedback stats: out of memory");
            rc = CLI_FAIL;
            goto done;
        }
        cJSON_AddItemToObject(a, "most_corrected", top);
        cJSON_AddItemToObject(a, "models", models);
        if (finish_models(a, models, am) != 0) {
            models = NULL;
            cli_err("feedback stats: out of memory");
            rc = CLI_FAIL;
            goto done;
        }
        models = NULL;
        *out = a;
        a = NULL;
    }
done:
    free(line);
    if (tmp) {
        fclose(tmp);
    }
    cJSON_Delete(days);
    cJSON_Delete(texts);
    cJSON_Delete(models);
    cJSON_Delete(a);
    return rc;
}
