/*
 * learn_model.c - the model side of `tutorcache feedback learn`: the
 * candidate (the current model with the winning corrections remembered,
 * or one trained again on the data and every correction), its check
 * against the current model on the current model's reference examples,
 * and the swap that keeps the old file beside the new one.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "learn.h"

char *learn_beside(const char *model, const char *suffix)
{
    size_t n = strlen(model) + strlen(suffix) + 1;
    char *p = malloc(n);

    if (p) {
        snprintf(p, n, "%s%s", model, suffix);
    }
    return p;
}

/* ---- the candidate ----------------------------------------------------- */

/* The top intent of text under m, or NULL (malloc'd). */
static char *top_intent(const tc_model *m, const char *text)
{
    tc_prediction *p = NULL;
    char *s = NULL;

    if (tc_model_predict(&p, m, text, strlen(text), 1) == TC_OK &&
        p->nheads > 0 && p->heads[0].n > 0) {
        s = strdup(p->heads[0].labels[0].label);
    }
    tc_prediction_free(p);
    return s;
}

/* Whether intent is m's top intent for text. */
static int answers(const tc_model *m, const char *text, const char *intent)
{
    char *got = top_intent(m, text);
    int right = got && strcmp(got, intent) == 0;

    free(got);
    return right;
}

/*
 * Judges the example on the line at p (to its newline or the end; *len
 * is its length): whether m answers its intent (1) or not (0); -1 when
 * the line is no example with a string text and intent.
 */
static int judge_line(const tc_model *m, const char *p, size_t *len)
{
    const char *nl = strchr(p, '\n');
    const cJSON *t, *i;
    cJSON *ex;
    int right = -1;

    *len = nl ? (size_t)(nl - p) : strlen(p);
    ex = cJSON_ParseWithLength(p, *len);
    t = cJSON_GetObjectItemCaseSensitive(ex, "text");
    i = cJSON_GetObjectItemCaseSensitive(ex, "intent");
    if (cJSON_IsString(t) && cJSON_IsString(i)) {
        right = answers(m, t->valuestring, i->valuestring);
    }
    cJSON_Delete(ex);
    return right;
}

/* Winners the current model answers already become agreements. */
void learn_drop_agreed(learn_run *u)
{
    size_t i, k = 0;

    for (i = 0; i < u->nwinners; i++) {
        const cJSON *t =
            cJSON_GetObjectItemCaseSensitive(u->winners[i]->rec, "text");

        if (answers(u->cur, t->valuestring, u->winners[i]->intent)) {
            u->winners[i]->fate = LEARN_AGREED;
        } else {
            u->winners[k++] = u->winners[i];
        }
    }
    u->nwinners = k;
}

/* Appends s and a newline to the buffer *b (len, cap); -1 out of memory. */
static int append(char **b, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);

    if (*len + n + 2 > *cap) {
        size_t c = (*len + n + 2) * 2;
        char *g = realloc(*b, c);

        if (!g) {
            return -1;
        }
        *b = g;
        *cap = c;
    }
    memcpy(*b + *len, s, n);
    (*b)[*len + n] = '\n';
    *len += n + 1;
    (*b)[*len] = '\0';
    return 0;
}

/* The winners as JSON Lines of the training format; NULL out of memory. */
static char *winners_jsonl(const learn_run *u)
{
    char *b = calloc(1, 1), *ex;
    size_t len = 0, cap = 1, i;

    for (i = 0; b && i < u->nwinners; i++) {
        if (!(ex = learn_example(u->winners[i])) ||
            append(&b, &len, &cap, ex) != 0) {
            free(b);
            b = NULL;
        }
        cJSON_free(ex);
    }
    return b;
}

/* Train options like the current model's (from its info). */
static void options_of(const tc_model *m, tc_train_options *o, char **oos)
{
    char *text = NULL;
    cJSON *info = NULL, *hp, *x;

    tc_train_options_init(o);
    *oos = NULL;
    if (tc_model_info_json(&text, m) != TC_OK || !(info = cJSON_Parse(text))) {
        tc_free(text);
        return;
    }
    hp = cJSON_GetObjectItemCaseSensitive(info, "hyperparameters");
#define TAKE(field, name, type)                                                \
    if (cJSON_IsNumber(x = cJSON_GetObjectItemCaseSensitive(hp, name))) {      \
        o->field = (type)x->valuedouble;                                       \
    }
    TAKE(epochs, "epochs", int)
    TAKE(lr, "lr", double)
    TAKE(dim, "dim", int)
    TAKE(buckets, "buckets", uint32_t)
    TAKE(word_ngrams, "word_ngrams", int)
    TAKE(minn, "minn", int)
    TAKE(maxn, "maxn", int)
    TAKE(seed, "seed", uint64_t)
#undef TAKE
    if (cJSON_IsString(
            x = cJSON_GetObjectItemCaseSensitive(info, "oos_label"))) {
        *oos = strdup(x->valuestring);
        o->oos_label = *oos;
    }
    cJSON_Delete(info);
    tc_free(text);
}

/* Remembers, in m, the corrections of lines its weights still get wrong. */
static int remember_wrong(tc_model *m, const char *lines)
{
    const char *p = lines;
    char *keep = calloc(1, 1);
    size_t len = 0, cap = 1, n;
    int rc = TC_OK;

    while (keep && *p && rc == TC_OK) {
        if (judge_line(m, p, &n) == 0) {
            char *line = strndup(p, n);

            rc = line && append(&keep, &len, &cap, line) == 0 ? TC_OK
                                                              : TC_ENOMEM;
            free(line);
        }
        p += n + (p[n] == '\n');
    }
    if (!keep) {
        return TC_ENOMEM;
    }
    if (rc == TC_OK && len > 0) {
        rc = tc_model_update(m, keep);
        if (rc != TC_OK) {
            cli_err("learn: remembering the corrections: %s", cli_why(rc));
        }
    }
    free(keep);
    return rc;
}

/* The current model trained again on --data, its corrections and the
 * winners, with its own options. */
static int retrain(learn_run *u, const char *wins)
{
    char *old = NULL, *data = NULL, *all = NULL, *oos = NULL;
    size_t dlen = 0, olen, wlen = strlen(wins);
    tc_train_options o;
    FILE *fp = fopen(u->o->data, "rb");
    int rc;

    if (!fp) {
        cli_err("learn: %s: %s", u->o->data, strerror(errno));
        return CLI_USAGE;
    }
    rc = cli_read_all(fp, (size_t)2 << 30, &data, &dlen);
    fclose(fp);
    if (rc != 0 || tc_model_corrections_json(&old, u->cur) != TC_OK) {
        free(data);
        cli_err("learn: %s: %s", u->o->data,
                rc ? strerror(errno) : "no memory");
        return CLI_FAIL;
    }
    olen = strlen(old);
    if ((all = malloc(dlen + olen + wlen + 2))) {
        memcpy(all, data, dlen);
        all[dlen] = '\n';
        memcpy(all + dlen + 1, old, olen);
        memcpy(all + dlen + 1 + olen, wins, wlen + 1);
    }
    options_of(u->cur, &o, &oos);
    rc = all ? tc_model_train(&u->cand, all, dlen + olen + wlen + 1, &o)
             : TC_ENOMEM;
    if (rc != TC_OK) {
        cli_err("learn: retraining on %s: %s", u->o->data, cli_why(rc));
    } else {
        /* what the new weights still get wrong, they remember */
        rc = remember_wrong(u->cand, old);
        rc = rc == TC_OK ? remember_wrong(u->cand, wins) : rc;
    }
    free(data);
    free(all);
    free(oos);
    tc_free(old);
    return rc == TC_OK ? CLI_OK : rc == TC_EINVAL ? CLI_BADINPUT : CLI_FAIL;
}

/*
 * The winners remembered one at a time, when together they were refused:
 * one the model cannot take (a label it was not trained with) is skipped,
 * named on stderr and left in the queue for a retrain (--data).
 */
static int one_by_one(learn_run *u)
{
    char *ex;
    size_t i, k = 0;
    int rc;

    for (i = 0; i < u->nwinners; i++) {
        if (!(ex = learn_example(u->winners[i]))) {
            cli_err("learn: out of memory");
            return CLI_FAIL;
        }
        rc = tc_model_update(u->cand, ex);
        cJSON_free(ex);
        if (rc == TC_EINVAL) {
            cli_err("learn: feedback %s: %s; left in the queue (a retrain "
                    "with --data can learn it)",
                    u->winners[i]->id, cli_why(rc));
            u->winners[i]->fate = LEARN_SKIPPED;
        } else if (rc != TC_OK) {
            cli_err("learn: %s", cli_why(rc));
            return CLI_FAIL;
        } else {
            u->winners[k++] = u->winners[i];
        }
    }
    u->nwinners = k;
    return CLI_OK;
}

/* The candidate: the current model with the winners remembered, or a
 * retrained one. */
int learn_build(learn_run *u)
{
    char *wins = winners_jsonl(u);
    int rc = CLI_OK;

    if (!wins) {
        cli_err("learn: out of memory");
        return CLI_FAIL;
    }
    if (u->o->data) {
        rc = retrain(u, wins);
    } else if ((rc = cli_model_load(u->model, &u->cand)) == CLI_OK &&
               u->nwinners > 0 && tc_model_update(u->cand, wins) != TC_OK) {
        rc = one_by_one(u);
    }
    free(wins);
    return rc;
}

/* Accuracy of m on JSON Lines of {"text", "intent"}; NaN when empty. */
static double accuracy(const tc_model *m, const char *lines, size_t *n)
{
    const char *p = lines;
    size_t right = 0, len;
    int r;

    *n = 0;
    while (*p) {
        if ((r = judge_line(m, p, &len)) >= 0) {
            right += (size_t)r;
            (*n)++;
        }
        p += len + (p[len] == '\n');
    }
    return *n ? (double)right / (double)*n : NAN;
}

/* Measures the candidate against the current model; sets u->reason when
 * it is refused. */
int learn_check(learn_run *u)
{
    char *refs = NULL, *wins = winners_jsonl(u);
    size_t n, nw;

    if (!wins || tc_model_references_json(&refs, u->cur) != TC_OK) {
        free(wins);
        cli_err("learn: out of memory");
        return CLI_FAIL;
    }
    u->acc_before = accuracy(u->cur, refs, &n);
    u->acc_after = accuracy(u->cand, refs, &n);
    u->right = accuracy(u->cand, wins, &nw);
    if (n > 0 && u->acc_after < u->acc_before - u->o->tolerance / 100) {
        snprintf(u->why, sizeof(u->why),
                 "on its %zu reference examples the candidate is right %.2f%% "
                 "of the time, the current model %.2f%%: more than %g points "
                 "worse",
                 n, 100 * u->acc_after, 100 * u->acc_before, u->o->tolerance);
        u->reason = u->why;
    }
    tc_free(refs);
    free(wins);
    return CLI_OK;
}

/* ---- the swap ----------------------------------------------------- */

/* MODEL becomes the candidate; the old MODEL stays as MODEL.prev. A hard
 * link keeps MODEL in place at every instant. */
int learn_swap_in(learn_run *u)
{
    char *prev = learn_beside(u->model, ".prev"),
         *next = learn_beside(u->model, ".next");
    int rc = CLI_FAIL;

    if (!prev || !next) {
        cli_err("learn: out of memory");
    } else if (cli_model_save_checked(u->cand, next) == 0) {
        unlink(prev);
        if (link(u->model, prev) != 0) {
            cli_err("learn: %s: %s", prev, strerror(errno));
        } else if (rename(next, u->model) != 0) {
            cli_err("learn: %s: %s", u->model, strerror(errno));
        } else {
            rc = CLI_OK;
        }
        unlink(next);
    }
    free(prev);
    free(next);
    return rc;
}

/* MODEL.prev and MODEL trade places. */
int learn_rollback(const char *model)
{
    char *prev = learn_beside(model, ".prev"),
         *tmp = learn_beside(model, ".swap");
    char fp_now[TC_FINGERPRINT_LEN + 1], fp_prev[TC_FINGERPRINT_LEN + 1];
    tc_model *a = NULL, *b = NULL;
    cJSON *out = NULL;
    int rc = CLI_FAIL;

    if (!prev || !tmp) {
        cli_err("learn: out of memory");
    } else if (access(prev, F_OK) != 0) {
        cli_err("learn: --rollback: nothing to roll back to (%s: %s)", prev,
                strerror(errno));
        rc = CLI_USAGE;
    } else if ((rc = cli_model_load(prev, &b)) == CLI_OK &&
               (rc = cli_model_load(model, &a)) == CLI_OK) {
        tc_model_fingerprint(fp_now, a);
        tc_model_fingerprint(fp_prev, b);
        unlink(tmp);
        if (link(model, tmp) != 0 || rename(prev, model) != 0 ||
            rename(tmp, prev) != 0) {
            cli_err("learn: --rollback: %s", strerror(errno));
            rc = CLI_FAIL;
        } else if (!(out = cJSON_CreateObject()) ||
                   !cJSON_AddStringToObject(out, "model", model) ||
                   !cJSON_AddStringToObject(out, "fingerprint", fp_prev) ||
                   !cJSON_AddStringToObject(out, "previous", fp_now) ||
                   cli_print_json_line(stdout, out) != 0) {
            rc = CLI_FAIL;
        }
    }
    cJSON_Delete(out);
    tc_model_free(a);
    tc_model_free(b);
    free(prev);
    free(tmp);
    return rc;
}
