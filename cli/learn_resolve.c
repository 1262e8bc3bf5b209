/*
 * learn_resolve.c - what the records of the feedback queue ask of the
 * model, decided before anything is taught: each user's corrections are
 * capped per window (a prankster teaching every text one intent teaches
 * at most the cap), then the records of one text vote, one voice per
 * user, and only the winning answer is taught; a confident answer that
 * users overturn waits for enough of them to agree. Pure bookkeeping
 * over the records; the model is not touched here.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "learn.h"

/* ---- users and their windows -------------------------------------------- */

static learn_user *user_find(const learn_users *u, const char *user)
{
    size_t i;

    for (i = 0; i < u->n; i++) {
        if (strcmp(u->v[i].user, user) == 0) {
            return &u->v[i];
        }
    }
    return NULL;
}

long learn_users_count(const learn_users *u, const char *user, int64_t window)
{
    const learn_user *x = user_find(u, user);

    return x && x->window == window ? x->count : 0;
}

int learn_users_add(learn_users *u, const char *user, int64_t window)
{
    learn_user *x = user_find(u, user);

    if (!x) {
        if (u->n == u->cap) {
            size_t cap = u->cap ? u->cap * 2 : 16;
            learn_user *v = realloc(u->v, cap * sizeof(*v));

            if (!v) {
                return -1;
            }
            u->v = v;
            u->cap = cap;
        }
        x = &u->v[u->n];
        if (!(x->user = strdup(user))) {
            return -1;
        }
        x->window = window;
        x->count = 0;
        u->n++;
    }
    if (x->window != window) { /* a new window starts from zero */
        x->window = window;
        x->count = 0;
    }
    x->count++;
    return 0;
}

int learn_users_clone(learn_users *dst, const learn_users *src)
{
    size_t i;

    memset(dst, 0, sizeof(*dst));
    if (src->n == 0) {
        return 0;
    }
    if (!(dst->v = calloc(src->n, sizeof(*dst->v)))) {
        return -1;
    }
    dst->cap = src->n;
    for (i = 0; i < src->n; i++, dst->n++) {
        dst->v[i] = src->v[i];
        if (!(dst->v[i].user = strdup(src->v[i].user))) {
            learn_users_free(dst);
            return -1;
        }
    }
    return 0;
}

void learn_users_free(learn_users *u)
{
    size_t i;

    for (i = 0; i < u->n; i++) {
        free(u->v[i].user);
    }
    free(u->v);
    memset(u, 0, sizeof(*u));
}

/* ---- records ------------------------------------------------------------- */

/* The stored form of a timestamp, "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC), in ms
 * since the epoch; -1 when it is not that. */
static int64_t parse_ts(const char *s)
{
    struct tm tm;
    int ms = 0, n = 0;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms,
               &n) != 7 ||
        s[n] != '\0') {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

int learn_rec_parse(learn_rec *r, const char *id, const char *record)
{
    const cJSON *text, *intent, *type, *conf, *user, *ts;
    size_t len;

    memset(r, 0, sizeof(*r));
    r->fate = LEARN_SKIPPED;
    if (!(r->id = strdup(id))) {
        return -1;
    }
    if (!(r->rec = cJSON_Parse(record))) {
        cli_err("learn: feedback %s: not a JSON object; skipped", id);
        return 0;
    }
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r->rec, "unopened"))) {
        cli_err("learn: feedback %s: sealed by a key this run does not "
                "hold; skipped and left in the queue (name that key in "
                "encryption_old_key_files)",
                id);
        return 0;
    }
    text = cJSON_GetObjectItemCaseSensitive(r->rec, "text");
    intent = cJSON_GetObjectItemCaseSensitive(r->rec, "correct_intent");
    type = cJSON_GetObjectItemCaseSensitive(r->rec, "feedback_type");
    conf = cJSON_GetObjectItemCaseSensitive(r->rec, "original_confidence");
    user = cJSON_GetObjectItemCaseSensitive(r->rec, "user_id");
    ts = cJSON_GetObjectItemCaseSensitive(r->rec, "timestamp");
    if (!cJSON_IsString(text) || !cJSON_IsString(intent) ||
        !cJSON_IsString(type) || !cJSON_IsNumber(conf) || !cJSON_IsString(ts) ||
        (r->ts_ms = parse_ts(ts->valuestring)) < 0) {
        cli_err("learn: feedback %s: not a stored feedback record; skipped",
                id);
        return 0;
    }
    if (tc_text_normalize(&r->norm, &len, text->valuestring,
                          strlen(text->valuestring)) != TC_OK) {
        if (!r->norm) {
            cli_err("learn: feedback %s: text: not valid UTF-8; skipped", id);
        }
        return 0;
    }
    r->intent = intent->valuestring;
    r->user = cJSON_IsString(user) ? user->valuestring : NULL;
    r->correction = strcmp(type->valuestring, "correction") == 0;
    r->confidence = conf->valuedouble;
    r->fate = LEARN_AGREED; /* until resolution says otherwise */
    return 0;
}

void learn_rec_free(learn_rec *r)
{
    free(r->id);
    cJSON_Delete(r->rec);
    tc_free(r->norm);
    memset(r, 0, sizeof(*r));
}

char *learn_example(const learn_rec *r)
{
    const cJSON *cx =
        cJSON_GetObjectItemCaseSensitive(r->rec, "correct_complexity");
    const cJSON *tech =
        cJSON_GetObjectItemCaseSensitive(r->rec, "correct_techniques");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(r->rec, "text");
    cJSON *ex = cJSON_CreateObject();
    char *json = NULL;

    if (ex && cJSON_AddStringToObject(ex, "text", text->valuestring) &&
        cJSON_AddStringToObject(ex, "intent", r->intent) &&
        (!cJSON_IsString(cx) ||
         cJSON_AddStringToObject(ex, "complexity", cx->valuestring)) &&
        (!cJSON_IsArray(tech) ||
         cJSON_AddItemToObject(ex, "techniques", cJSON_Duplicate(tech, 1)))) {
        json = cJSON_PrintUnformatted(ex);
    }
    cJSON_Delete(ex);
    return json;
}

/* ---- resolution ---------------------------------------------------------- */

static int by_time(const void *a, const void *b)
{
    const learn_rec *x = *(learn_rec *const *)a, *y = *(learn_rec *const *)b;
    int c;

    if (x->ts_ms != y->ts_ms) {
        return x->ts_ms < y->ts_ms ? -1 : 1;
    }
    c = strcmp(x->id, y->id); /* a fixed order for equal times */
    return c;
}

/* Records grouped by normalized text, oldest first within a text. */
static int by_text(const void *a, const void *b)
{
    const learn_rec *x = *(learn_rec *const *)a, *y = *(learn_rec *const *)b;
    int c = strcmp(x->norm, y->norm);

    return c ? c : by_time(a, b);
}

/* Whether record i of g[0..n) is its user's latest in the group. */
static int latest_of_user(learn_rec **g, size_t n, size_t i)
{
    size_t j;

    if (!g[i]->user) {
        return 1; /* anonymous: a voter of its own */
    }
    for (j = i + 1; j < n; j++) {
        if (g[j]->user && strcmp(g[j]->user, g[i]->user) == 0) {
            return 0;
        }
    }
    return 1;
}

/* Votes on one text's records g[0..n) (oldest first): sets their fates,
 * and returns the winner's latest record when it is to be taught. */
static learn_rec *vote(learn_rec **g, size_t n, const learn_rules *rules)
{
    const char *win = NULL;
    long best = -1;
    size_t i, j;
    int confident = 0;

    /* the newest intents first, so that a tie keeps the latest one */
    for (i = n; i-- > 0;) {
        long votes = 0;

        if (g[i]->fate == LEARN_CAPPED || (win && !strcmp(g[i]->intent, win))) {
            continue;
        }
        for (j = 0; j < n; j++) {
            votes += g[j]->fate != LEARN_CAPPED &&
                     strcmp(g[j]->intent, g[i]->intent) == 0 &&
                     latest_of_user(g, n, j);
        }
        if (votes > best) {
            best = votes;
            win = g[i]->intent;
        }
    }
    if (!win) {
        return NULL; /* every record capped */
    }
    for (i = 0; i < n; i++) {
        if (g[i]->fate == LEARN_CAPPED) {
            continue;
        }
        if (strcmp(g[i]->intent, win) != 0) {
            g[i]->fate = LEARN_OVERRULED;
        } else if (g[i]->correction && g[i]->confidence >= rules->confident) {
            confident = 1;
        }
    }
    if (confident && best < rules->min_votes) {
        for (i = 0; i < n; i++) {
            if (g[i]->fate != LEARN_CAPPED) {
                g[i]->fate = LEARN_HELD;
            }
        }
        return NULL;
    }
    for (i = n; i-- > 0;) {
        if (g[i]->fate == LEARN_AGREED && strcmp(g[i]->intent, win) == 0) {
            g[i]->fate = LEARN_APPLIED;
            return g[i];
        }
    }
    return NULL;
}

int learn_resolve(learn_rec *r, size_t n, const learn_rules *rules,
                  learn_users *users, learn_rec **winners, size_t *nwinners)
{
    learn_rec **p = calloc(n ? n : 1, sizeof(*p));
    size_t i, j, m = 0;

    *nwinners = 0;
    if (!p) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (r[i].fate == LEARN_AGREED) { /* parsed and usable */
            p[m++] = &r[i];
        }
    }
    qsort(p, m, sizeof(*p), by_time);
    for (i = 0; rules->user_cap > 0 && i < m; i++) {
        int64_t w = p[i]->ts_ms / rules->user_window_ms;

        if (!p[i]->user || !p[i]->correction) {
            continue;
        }
        if (learn_users_count(users, p[i]->user, w) >= rules->user_cap) {
            p[i]->fate = LEARN_CAPPED;
        } else if (learn_users_add(users, p[i]->user, w) != 0) {
            free(p);
            return -1;
        }
    }
    qsort(p, m, sizeof(*p), by_text);
    for (i = 0; i < m; i = j) {
        learn_rec *w;

        for (j = i + 1; j < m && strcmp(p[j]->norm, p[i]->norm) == 0; j++) {
        }
        if ((w = vote(p + i, j - i, rules))) {
            winners[(*nwinners)++] = w;
        }
    }
    free(p);
    return 0;
}
