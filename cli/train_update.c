/*
 * train_update.c - `tutorcache train --update MODEL --from-feedback`: the
 * records of the feedback retraining queue, remembered by a model as
 * corrections (tc_model_update), the model saved, and only then the
 * records used acknowledged.
 *
 * The order is the point: a record leaves the queue only once a model
 * that learned it is on disk, so a crash (or a failed save) at any moment
 * before leaves every unsaved record in the queue, to be delivered again
 * after the claim idle time. A long run saves and acknowledges at
 * checkpoints, so that no record stays unacknowledged long enough for
 * another consumer to claim it while this one still works on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "feedback_common.h"
#include "train_update.h"

/* Records per consume call (one store transaction). */
#define CONSUME_BATCH 256
/* Ids per ack call. */
#define ACK_BATCH 1024
/*
 * Save and acknowledge at least this often: a third of the library's
 * default claim idle time (60 s), after which another consumer may take
 * over records this run has not acknowledged; a third of --claim-idle
 * when that is shorter, since it says what the other consumers use.
 */
#define CHECKPOINT_MS 20000

typedef struct update_run {
    tc_cache *h;
    tc_model *m;
    const char *out;
    cli_idset seen; /* every id delivered to this run */
    char **used;    /* applied, not yet acknowledged */
    size_t nused, capused;
    uint64_t updated, skipped;
    int64_t first_unacked_ms; /* when the oldest of used was delivered */
    int64_t checkpoint_ms;    /* how long used records may wait */
    int dirty;                /* the model changed since the last save */
    int progress;             /* print progress (stderr is a terminal) */
} update_run;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The training example of a record: its text and corrected labels under
 * the model's head names. A confirmation's correct_intent is its original
 * intent, so it reinforces the answer. NULL when the record is not an
 * object with a text and a correct intent (after a message), or out of
 * memory; the caller frees with cJSON_free.
 */
static char *example_of(const char *id, const char *record)
{
    cJSON *rec = cJSON_Parse(record), *ex = NULL;
    const cJSON *text, *intent, *cx, *tech;
    char *json = NULL;

    text = cJSON_GetObjectItemCaseSensitive(rec, "text");
    intent = cJSON_GetObjectItemCaseSensitive(rec, "correct_intent");
    if (!cJSON_IsString(text) || !cJSON_IsString(intent)) {
        cli_err("train: feedback %s: not a record with text and "
                "correct_intent",
                id);
        cJSON_Delete(rec);
        return NULL;
    }
    cx = cJSON_GetObjectItemCaseSensitive(rec, "correct_complexity");
    tech = cJSON_GetObjectItemCaseSensitive(rec, "correct_techniques");
    if ((ex = cJSON_CreateObject()) &&
        cJSON_AddStringToObject(ex, "text", text->valuestring) &&
        cJSON_AddStringToObject(ex, "intent", intent->valuestring) &&
        (!cJSON_IsString(cx) ||
         cJSON_AddStringToObject(ex, "complexity", cx->valuestring)) &&
        (!cJSON_IsArray(tech) ||
         cJSON_AddItemToObject(ex, "techniques", cJSON_Duplicate(tech, 1)))) {
        json = cJSON_PrintUnformatted(ex);
    }
    if (!json) {
        cli_err("train: out of memory");
    }
    cJSON_Delete(ex);
    cJSON_Delete(rec);
    return json;
}

/*
 * Makes the rename of the saved model durable: tc_model_save fsyncs the
 * file and renames it into place, and the rename lives in the directory.
 */
static int sync_dir_of(const char *path)
{
    char *copy = strdup(path);
    int fd, rc = 0;

    if (!copy) {
        return -1;
    }
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    /* EINVAL: a file system that cannot sync directories, nothing to do */
    if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL)) {
        rc = -1;
    }
    if (fd >= 0) {
        close(fd);
    }
    free(copy);
    return rc;
}

/* Saves the model and then acknowledges the records it learned. */
static int checkpoint(update_run *u)
{
    size_t i, n;
    int rc;

    if (u->dirty) {
        char fp[TC_FINGERPRINT_LEN + 1];

        rc = tc_model_save(u->m, u->out);
        /* the model's new version in the audit log, saved or not */
        tc_model_fingerprint(fp, u->m);
        tc_audit_record(u->h, "train_update", NULL, fp, rc);
        if (rc != TC_OK) {
            cli_err("train: %s; the %zu records used stay in the queue",
                    cli_why(rc), u->nused);
            return CLI_FAIL;
        }
        if (sync_dir_of(u->out) != 0) {
            cli_err("train: %s: syncing its directory: %s; the %zu records "
                    "used stay in the queue",
                    u->out, strerror(errno), u->nused);
            return CLI_FAIL;
        }
        u->dirty = 0;
    }
    for (i = 0; i < u->nused; i += n) {
        n = u->nused - i < ACK_BATCH ? u->nused - i : ACK_BATCH;
        rc = tc_feedback_ack(u->h, (const char *const *)u->used + i, n);
        if (rc != TC_OK) {
            rc = cli_fail(u->h, rc, "train: acknowledging");
            cli_err("train: the model is saved; %zu records it learned stay "
                    "in the queue and will be learned again",
                    u->nused - i);
            return rc;
        }
    }
    for (i = 0; i < u->nused; i++) {
        free(u->used[i]);
    }
    u->nused = 0;
    return CLI_OK;
}

/* Remembers a record the model learned, for the next checkpoint. */
static int keep_used(update_run *u, const char *id)
{
    if (u->nused == u->capused) {
        size_t cap = u->capused ? u->capused * 2 : 256;
        char **v = realloc(u->used, cap * sizeof(*v));

        if (!v) {
            return -1;
        }
        u->used = v;
        u->capused = cap;
    }
    if (!(u->used[u->nused] = strdup(id))) {
        return -1;
    }
    u->nused++;
    return 0;
}

/* Teaches the model one record. CLI_OK also when it was skipped. */
static int learn(update_run *u, const char *id, const char *record)
{
    char *ex;
    int rc;

    if (!(ex = example_of(id, record))) {
        u->skipped++;
        return CLI_OK;
    }
    rc = tc_model_update(u->m, ex);
    cJSON_free(ex);
    if (rc == TC_EINVAL) {
        /* a label the model was not trained with: a full retrain's job */
        cli_err("train: feedback %s: %s; skipped (left in the queue)", id,
                cli_why(rc));
        u->skipped++;
        return CLI_OK;
    }
    if (rc != TC_OK) {
        cli_err("train: feedback %s: %s", id, cli_why(rc));
        return CLI_FAIL;
    }
    if (keep_used(u, id) != 0) {
        cli_err("train: out of memory");
        return CLI_FAIL;
    }
    u->updated++;
    u->dirty = 1;
    return CLI_OK;
}

/*
 * Takes and learns the queue's records until it is empty, or until a
 * batch brings back only records this run has seen: skipped ones (never
 * acknowledged), or used ones not yet acknowledged, claimed again after
 * the claim idle time. The queue delivers those ahead of new records, so
 * nothing new would follow them.
 */
static int drain(update_run *u, const char *consumer, int64_t claim_idle_ms)
{
    tc_feedback_batch *b = NULL;
    int rc = CLI_OK, lrc, added;
    size_t i, fresh = 1;

    while (rc == CLI_OK && fresh > 0) {
        lrc = tc_feedback_consume(&b, u->h, consumer, CONSUME_BATCH,
                                  claim_idle_ms);
        if (lrc != TC_OK) {
            return cli_fail(u->h, lrc, "train: feedback");
        }
        if (b->n == 0) {
            tc_feedback_batch_free(b);
            break;
        }
        if (u->nused == 0) {
            u->first_unacked_ms = now_ms();
        }
        for (i = 0, fresh = 0; rc == CLI_OK && i < b->n; i++) {
            if ((added = cli_idset_add(&u->seen, b->ids[i])) < 0) {
                cli_err("train: out of memory");
                rc = CLI_FAIL;
            } else if (added == 1) {
                fresh++;
                rc = learn(u, b->ids[i], b->records[i]);
            }
        }
        tc_feedback_batch_free(b);
        b = NULL;
        if (u->progress) {
            fprintf(stderr, "\rtutorcache: train: %llu records\033[K",
                    (unsigned long long)(u->updated + u->skipped));
            fflush(stderr);
        }
        if (rc == CLI_OK && u->nused > 0 &&
            now_ms() - u->first_unacked_ms >= u->checkpoint_ms) {
            rc = checkpoint(u);
        }
    }
    if (u->progress && u->updated + u->skipped > 0) {
        fputc('\n', stderr);
    }
    return rc;
}

int cli_train_update(cli_ctx *ctx, const char *model, const char *out,
                     const char *consumer, int64_t claim_idle_ms)
{
    char before[TC_FINGERPRINT_LEN + 1], after[TC_FINGERPRINT_LEN + 1];
    update_run u;
    cJSON *sum;
    size_t i;
    int rc;

    memset(&u, 0, sizeof(u));
    u.out = out ? out : model;
    u.progress = isatty(STDERR_FILENO);
    u.checkpoint_ms = claim_idle_ms > 0 && claim_idle_ms / 3 < CHECKPOINT_MS
                          ? claim_idle_ms / 3
                          : CHECKPOINT_MS;
    if ((rc = cli_model_load(model, &u.m)) != CLI_OK) {
        return rc;
    }
    tc_model_fingerprint(before, u.m);
    if ((rc = cli_feedback_open(ctx, &u.h, 0)) != CLI_OK) {
        tc_model_free(u.m);
        return rc;
    }
    /* a new OUT is written even when nothing changed: the caller asked
     * for it; MODEL itself is rewritten only when it learned something */
    u.dirty = u.out != model && strcmp(u.out, model) != 0;
    rc = drain(&u, consumer, claim_idle_ms);
    if (rc == CLI_OK) {
        rc = checkpoint(&u);
    }
    if (rc == CLI_OK) {
        tc_model_fingerprint(after, u.m);
        if ((sum = cJSON_CreateObject()) &&
            cJSON_AddStringToObject(sum, "model", u.out) &&
            cJSON_AddNumberToObject(sum, "updated", (double)u.updated) &&
            cJSON_AddNumberToObject(sum, "skipped", (double)u.skipped) &&
            cJSON_AddStringToObject(sum, "fingerprint_before", before) &&
            cJSON_AddStringToObject(sum, "fingerprint_after", after)) {
            rc = cli_print_json_line(stdout, sum) == 0 ? CLI_OK : CLI_FAIL;
        } else {
            cli_err("train: out of memory");
            rc = CLI_FAIL;
        }
        cJSON_Delete(sum);
    }
    for (i = 0; i < u.nused; i++) {
        free(u.used[i]);
    }
    free(u.used);
    cli_idset_free(&u.seen);
    tc_cache_close(u.h);
    tc_model_free(u.m);
    return rc;
}
