/*
 * cmd_learn.c - `tutorcache feedback learn`: the loop that teaches a
 * model what its users corrected, for cron or an operator. It reads the
 * feedback queue, decides one answer per text (learn_resolve.c), builds
 * a candidate model (the current one with the corrections remembered, or
 * with --data, one trained again on the data and the corrections), checks
 * the candidate against the current model on the current model's
 * reference examples, and only if it is not worse beyond the tolerance
 * swaps it in (the old file kept as MODEL.prev, for --rollback) and
 * acknowledges the records. Each run's outcome is kept in MODEL.learn.json,
 * which `feedback stats --model MODEL` shows.
 *
 * The order is the point, as in train --update: records leave the queue
 * only once a model that learned them is on disk; a refused candidate,
 * a crash or a failed save leaves them all in the queue. A run takes back
 * every record that was handed out before it started and not
 * acknowledged (what an earlier run held, refused or left by crashing),
 * so only one run at a time works on a model: MODEL.learn.lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "learn.h"

#define CONSUME_BATCH 256
#define ACK_BATCH 1024
/* Added to the run's age in the claim threshold, for the rounding of the
 * store's clock: what an earlier run took within this margin of this
 * run's start is not taken back (a run takes far longer to end). */
#define CLAIM_MARGIN_MS 5

const char cli_help_feedback_learn[] =
    "Usage: tutorcache feedback learn [options]\n"
    "       tutorcache feedback learn --rollback [--model MODEL]\n"
    "\n"
    "Teach MODEL the corrections waiting in the feedback queue, check it,\n"
    "and swap it in. One run, for cron:\n"
    "  1. take every record of the queue (consumer \"learn\"), also those\n"
    "     handed out before and not acknowledged: one run at a time per\n"
    "     model (MODEL.learn.lock); do not mix with `feedback export`;\n"
    "  2. cap each user's corrections per window (--user-cap, "
    "--user-window):\n"
    "     the rest are counted as capped and not taught;\n"
    "  3. per text, the intent with the most voters wins (one voice per\n"
    "     user_id; a tie goes to the latest); a correction of an answer\n"
    "     given with --confident confidence or more waits, in the queue,\n"
    "     until --min-votes users agree;\n"
    "  4. build the candidate: MODEL with the winning corrections\n"
    "     remembered (each fixes its text and close paraphrases and leaves\n"
    "     the other answers alone), or with --data, a model trained again\n"
    "     on DATA plus every correction, with MODEL's options;\n"
    "  5. check: on MODEL's reference examples (a sample of its training\n"
    "     data) the candidate's accuracy may fall below MODEL's by at most\n"
    "     --tolerance points, or it is refused, nothing is swapped and the\n"
    "     records stay in the queue (counted as held);\n"
    "  6. swap: the candidate replaces MODEL atomically, the old file kept\n"
    "     as MODEL.prev; then the records are acknowledged.\n"
    "A record that cannot be read (not a feedback record, or sealed by a\n"
    "key this run does not hold) is skipped, said on stderr, and left in\n"
    "the queue.\n"
    "Prints one JSON line: {\"model\", \"mode\", \"records\", \"applied\",\n"
    "\"agreed\", \"overruled\", \"capped\", \"held\", \"skipped\",\n"
    "\"reference_accuracy_before\", \"reference_accuracy_after\",\n"
    "\"corrections_right\", \"refused\", \"reason\", \"fingerprint_before\",\n"
    "\"fingerprint_after\"}. The outcome is also kept in MODEL.learn.json.\n"
    "\n"
    "Options:\n"
    "  -m, --model MODEL    the model (default: TUTORCACHE_MODEL or the\n"
    "                       config file's \"model\")\n"
    "  --data FILE          retrain on FILE (JSON Lines) and the\n"
    "                       corrections instead of remembering them\n"
    "  --tolerance P        accuracy points the references may lose "
    "(default 0.5)\n"
    "  --min-votes N        voters a confident correction needs (default 2;\n"
    "                       1: none wait)\n"
    "  --confident X        what counts as confident (default 0.99)\n"
    "  --user-cap N         corrections taught per user and window "
    "(default\n"
    "                       100; 0: no cap)\n"
    "  --user-window SEC    the window of the cap (default 86400)\n"
    "  --consumer NAME      the queue's consumer (default \"learn\")\n"
    "  --dry-run            decide and check, but swap and acknowledge\n"
    "                       nothing\n"
    "  --rollback           put MODEL.prev back as MODEL (the current one\n"
    "                       becomes MODEL.prev), and do nothing else\n"
    "  -h, --help           show this help\n"
    "\n"
    "Only exit codes 0 and 5 print the JSON line.\n"
    "\n"
    "Examples:\n"
    "  tutorcache feedback learn --model intents.tcm\n"
    "  tutorcache feedback learn --model intents.tcm --data "
    "examples/intents.jsonl\n"
    "  tutorcache feedback learn --model intents.tcm --rollback\n"
    "\n"
    "Exit codes:\n"
    "  0  learned (or nothing to learn)\n"
    "  2  usage, or a model or data file that cannot be opened\n"
    "  3  store unreachable or TLS refused\n"
    "  4  a damaged model file\n"
    "  5  the candidate was refused, another run holds the lock, or another\n"
    "     failure\n";

static void run_free(learn_run *u);

/* A step, logged at info through the CLI's logger. */
static void step(const learn_run *u, const char *event, const char *detail)
{
    const tc_options *o = &u->ctx->opt;
    cJSON *line;
    char *text;

    if (!o->log_fn || o->log_level > TC_LOG_INFO) {
        return;
    }
    line = cJSON_CreateObject();
    if (line && cJSON_AddNumberToObject(line, "time", (double)time(NULL)) &&
        cJSON_AddStringToObject(line, "level", "info") &&
        cJSON_AddStringToObject(line, "event", event) &&
        cJSON_AddStringToObject(line, "detail", detail) &&
        (text = cJSON_PrintUnformatted(line))) {
        o->log_fn(o->log_userdata, TC_LOG_INFO, text);
        cJSON_free(text);
    }
    cJSON_Delete(line);
}

/* ---- the state file ---------------------------------------------------- */

static void state_load(learn_run *u)
{
    char *path = learn_beside(u->model, ".learn.json"), *text = NULL;
    size_t len = 0;
    FILE *fp = path ? fopen(path, "rb") : NULL;
    const cJSON *users, *it;

    if (fp && cli_read_all(fp, (size_t)1 << 26, &text, &len) == 0) {
        u->state = cJSON_ParseWithLength(text, len);
    }
    if (fp) {
        fclose(fp);
    }
    free(text);
    free(path);
    if (!cJSON_IsObject(u->state)) {
        cJSON_Delete(u->state);
        u->state = cJSON_CreateObject();
    }
    users = cJSON_GetObjectItemCaseSensitive(u->state, "users");
    cJSON_ArrayForEach(it, users)
    {
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(it, "window");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "count");
        long k;

        for (k = 0;
             cJSON_IsNumber(w) && cJSON_IsNumber(c) && k < (long)c->valuedouble;
             k++) {
            learn_users_add(&u->users, it->string, (int64_t)w->valuedouble);
        }
    }
}

/* Adds n to the state's counter name. */
static void bump(cJSON *o, const char *name, double n)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(o, name);

    if (cJSON_IsNumber(c)) {
        cJSON_SetNumberValue(c, c->valuedouble + n);
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(o, name);
        cJSON_AddNumberToObject(o, name, n);
    }
}

/* Writes the state: totals, the last run's summary, and the users'
 * windows still open (a newer window resets a user's count). */
static void state_save(learn_run *u, const cJSON *summary)
{
    char *path = learn_beside(u->model, ".learn.json"), *tmp, *text;
    int64_t now_w =
        (int64_t)time(NULL) * 1000 /
        (u->o->rules.user_window_ms ? u->o->rules.user_window_ms : 1);
    cJSON *users = cJSON_CreateObject();
    size_t i;
    FILE *fp;

    for (i = 0; users && i < u->users.n; i++) {
        cJSON *x;

        if (u->users.v[i].window < now_w - 1) {
            continue; /* a window long closed */
        }
        if ((x = cJSON_AddObjectToObject(users, u->users.v[i].user))) {
            cJSON_AddNumberToObject(x, "window", (double)u->users.v[i].window);
            cJSON_AddNumberToObject(x, "count", (double)u->users.v[i].count);
        }
    }
    cJSON_DeleteItemFromObjectCaseSensitive(u->state, "users");
    cJSON_AddItemToObject(u->state, "users", users);
    cJSON_DeleteItemFromObjectCaseSensitive(u->state, "last");
    cJSON_AddItemToObject(u->state, "last", cJSON_Duplicate(summary, 1));
    bump(u->state, "runs", 1);
    bump(u->state, "refused", u->reason ? 1 : 0);
    bump(u->state, "applied", u->reason ? 0 : (double)u->fates[LEARN_APPLIED]);
    bump(u->state, "capped", (double)u->fates[LEARN_CAPPED]);
    bump(u->state, "overruled", (double)u->fates[LEARN_OVERRULED]);
    tmp = path ? learn_beside(path, ".tmp") : NULL;
    text = cJSON_Print(u->state);
    if (tmp && text && (fp = fopen(tmp, "w"))) {
        int ok = fputs(text, fp) >= 0 && fputc('\n', fp) != EOF;

        ok = fclose(fp) == 0 && ok;
        if (!ok || rename(tmp, path) != 0) {
            cli_err("learn: %s: %s", path, strerror(errno));
            unlink(tmp);
        }
    } else if (path) {
        cli_err("learn: %s: cannot write the state file", path);
    }
    cJSON_free(text);
    free(tmp);
    free(path);
}

cJSON *cli_learn_stats(const char *model)
{
    learn_opts o = {model, NULL, "learn", 0, {0, 1, 1, 1}, 0, 0};
    learn_run u;
    cJSON *out = NULL, *it;

    memset(&u, 0, sizeof(u));
    u.o = &o;
    if (!(u.model = strdup(model))) {
        return NULL;
    }
    state_load(&u);
    if (cJSON_GetObjectItemCaseSensitive(u.state, "runs")) {
        out = cJSON_CreateObject();
        cJSON_ArrayForEach(it, u.state)
        {
            if (out && strcmp(it->string, "users") != 0) {
                cJSON_AddItemToObject(out, it->string, cJSON_Duplicate(it, 1));
            }
        }
    }
    run_free(&u);
    return out;
}

/* ---- the queue --------------------------------------------------------- */

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Takes every record of the queue, until a batch brings nothing new: the
 * new ones, and those handed out before this run started and never
 * acknowledged. The claim threshold is the run's age, so a record this
 * run was given is not claimed again, and one an earlier run left
 * pending (held, refused, a crash) is.
 */
static int take_all(learn_run *u)
{
    cli_idset seen = {NULL, 0, 0};
    tc_feedback_batch *b = NULL;
    int64_t t0 = mono_ms();
    size_t i, fresh = 1;
    int rc = CLI_OK, lrc, added;

    while (rc == CLI_OK && fresh > 0) {
        lrc = tc_feedback_consume(&b, u->h, u->o->consumer, CONSUME_BATCH,
                                  mono_ms() - t0 + CLAIM_MARGIN_MS);
        if (lrc != TC_OK) {
            rc = cli_fail(u->h, lrc, "learn: feedback");
            break;
        }
        for (i = 0, fresh = 0; rc == CLI_OK && i < b->n; i++) {
            if ((added = cli_idset_add(&seen, b->ids[i])) < 0) {
                rc = CLI_FAIL;
            } else if (added == 1) {
                fresh++;
                if (u->n == u->cap) {
                    size_t cap = u->cap ? u->cap * 2 : 256;
                    learn_rec *v = realloc(u->recs, cap * sizeof(*v));

                    if (!v) {
                        rc = CLI_FAIL;
                        break;
                    }
                    u->recs = v;
                    u->cap = cap;
                }
                if (learn_rec_parse(&u->recs[u->n], b->ids[i], b->records[i]) !=
                    0) {
                    rc = CLI_FAIL;
                }
                u->n++;
            }
        }
        tc_feedback_batch_free(b);
        b = NULL;
    }
    cli_idset_free(&seen);
    if (rc == CLI_FAIL) {
        cli_err("learn: out of memory");
    }
    return rc;
}

/* Acknowledges the records whose fate is settled: all but the held and
 * the skipped. */
static int ack_settled(learn_run *u)
{
    const char *ids[ACK_BATCH];
    size_t i, k = 0;
    int rc;

    for (i = 0; i <= u->n; i++) {
        if (i < u->n && u->recs[i].fate != LEARN_HELD &&
            u->recs[i].fate != LEARN_SKIPPED) {
            ids[k++] = u->recs[i].id;
        }
        if (k > 0 && (k == ACK_BATCH || i == u->n)) {
            if ((rc = tc_feedback_ack(u->h, ids, k)) != TC_OK) {
                rc = cli_fail(u->h, rc, "learn: acknowledging");
                cli_err("learn: the new model is in place; the records it "
                        "learned stay in the queue and will be seen again");
                return rc;
            }
            k = 0;
        }
    }
    return CLI_OK;
}

/* ---- the command -------------------------------------------------- */

static cJSON *summary(const learn_run *u)
{
    static const char *const names[LEARN_NFATES] = {
        "applied", "agreed", "overruled", "capped", "held", "skipped"};
    char before[TC_FINGERPRINT_LEN + 1], after[TC_FINGERPRINT_LEN + 1];
    cJSON *s = cJSON_CreateObject();
    int f;

    tc_model_fingerprint(before, u->cur);
    tc_model_fingerprint(after, u->reason || !u->cand ? u->cur : u->cand);
    if (!s) {
        return NULL;
    }
    cJSON_AddStringToObject(s, "model", u->model);
    cJSON_AddStringToObject(s, "mode", u->o->data ? "retrain" : "remember");
    cJSON_AddNumberToObject(s, "time", (double)time(NULL));
    cJSON_AddNumberToObject(s, "records", (double)u->n);
    for (f = 0; f < LEARN_NFATES; f++) {
        cJSON_AddNumberToObject(s, names[f], (double)u->fates[f]);
    }
#define NUM(name, v)                                                           \
    (isnan(v) ? cJSON_AddNullToObject(s, name)                                 \
              : cJSON_AddNumberToObject(s, name, round((v)*1e6) / 1e6))
    NUM("reference_accuracy_before", u->acc_before);
    NUM("reference_accuracy_after", u->acc_after);
    NUM("corrections_right", u->right);
#undef NUM
    cJSON_AddBoolToObject(s, "refused", u->reason != NULL);
    if (u->reason) {
        cJSON_AddStringToObject(s, "reason", u->reason);
    }
    cJSON_AddBoolToObject(s, "dry_run", u->o->dry_run);
    cJSON_AddStringToObject(s, "fingerprint_before", before);
    cJSON_AddStringToObject(s, "fingerprint_after", after);
    return s;
}

static int parse(cli_ctx *ctx, int argc, char **argv, learn_opts *o)
{
    enum {
        O_DATA = 256,
        O_TOL,
        O_VOTES,
        O_CONF,
        O_CAP,
        O_WIN,
        O_CONS,
        O_DRY,
        O_ROLL
    };
    static const struct option longs[] = {
        {"model", required_argument, NULL, 'm'},
        {"data", required_argument, NULL, O_DATA},
        {"tolerance", required_argument, NULL, O_TOL},
        {"min-votes", required_argument, NULL, O_VOTES},
        {"confident", required_argument, NULL, O_CONF},
        {"user-cap", required_argument, NULL, O_CAP},
        {"user-window", required_argument, NULL, O_WIN},
        {"consumer", required_argument, NULL, O_CONS},
        {"dry-run", no_argument, NULL, O_DRY},
        {"rollback", no_argument, NULL, O_ROLL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    long long v;
    double d;
    int opt;

    while ((opt = cli_getopt(ctx, argc, argv, "m:h", longs)) != -1) {
        switch (opt) {
        case 'm':
            o->model = optarg;
            break;
        case O_DATA:
            o->data = optarg;
            break;
        case O_TOL:
            if (cli_parse_number(optarg, &d) != 0 || d < 0 || d > 100) {
                return cli_usage(ctx,
                                 "--tolerance: \"%s\" is not a number "
                                 "of points in 0-100",
                                 optarg);
            }
            o->tolerance = d;
            break;
        case O_VOTES:
            if (cli_parse_int(optarg, 1, 1000000, &v) != 0) {
                return cli_usage(ctx,
                                 "--min-votes: \"%s\" is not a whole "
                                 "number in 1-1000000",
                                 optarg);
            }
            o->rules.min_votes = (int)v;
            break;
        case O_CONF:
            if (cli_parse_number(optarg, &d) != 0 || d < 0 || d > 1) {
                return cli_usage(ctx, "--confident: \"%s\" is not in 0..1",
                                 optarg);
            }
            o->rules.confident = d;
            break;
        case O_CAP:
            if (cli_parse_int(optarg, 0, 1000000000, &v) != 0) {
                return cli_usage(ctx,
                                 "--user-cap: \"%s\" is not a whole "
                                 "number in 0-1000000000",
                                 optarg);
            }
            o->rules.user_cap = (long)v;
            break;
        case O_WIN:
            if (cli_parse_number(optarg, &d) != 0 || d < 1 || d > 1e9) {
                return cli_usage(ctx,
                                 "--user-window: \"%s\" is not a "
                                 "number of seconds (1-1e9)",
                                 optarg);
            }
            o->rules.user_window_ms = (int64_t)llround(d * 1000);
            break;
        case O_CONS:
            if (!*optarg) {
                return cli_usage(ctx, "--consumer: an empty name");
            }
            o->consumer = optarg;
            break;
        case O_DRY:
            o->dry_run = 1;
            break;
        case O_ROLL:
            o->rollback = 1;
            break;
        case 'h':
            cli_feedback_help(cli_help_feedback_learn);
            return CLI_HELP_SHOWN;
        default:
            return CLI_USAGE;
        }
    }
    if (argc - optind > 0) {
        return cli_usage(ctx, "learn: takes no arguments (got \"%s\")",
                         argv[optind]);
    }
    if (o->rollback && (o->data || o->dry_run)) {
        return cli_usage(ctx, "--rollback goes with --model only");
    }
    return CLI_OK;
}

static void run_free(learn_run *u)
{
    size_t i;

    for (i = 0; i < u->n; i++) {
        learn_rec_free(&u->recs[i]);
    }
    free(u->recs);
    free(u->winners);
    free(u->model);
    learn_users_free(&u->users);
    cJSON_Delete(u->state);
    tc_model_free(u->cur);
    tc_model_free(u->cand);
    tc_cache_close(u->h);
    if (u->lock >= 0) {
        close(u->lock); /* and with it the lock */
    }
}

/* One run per model at a time: an exclusive lock on MODEL.learn.lock. */
static int take_lock(learn_run *u)
{
    char *path = learn_beside(u->model, ".learn.lock");

    if (!path) {
        cli_err("learn: out of memory");
        return CLI_FAIL;
    }
    u->lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (u->lock < 0 && errno == ENOENT) {
        free(path); /* no such directory: the model's load says so */
        return CLI_OK;
    }
    if (u->lock < 0) {
        cli_err("learn: %s: %s", path, strerror(errno));
        free(path);
        return CLI_FAIL;
    }
    if (flock(u->lock, LOCK_EX | LOCK_NB) != 0) {
        cli_err("learn: %s: %s", path,
                errno == EWOULDBLOCK ? "another learn runs on this model"
                                     : strerror(errno));
        free(path);
        return CLI_FAIL;
    }
    free(path);
    return CLI_OK;
}

/* The corrections this run taught count against their users' caps in
 * later runs; what it held, refused or overruled does not. */
static int count_taught(learn_run *u)
{
    size_t i;

    for (i = 0; i < u->n; i++) {
        const learn_rec *r = &u->recs[i];

        if ((r->fate == LEARN_APPLIED || r->fate == LEARN_AGREED) &&
            r->correction && r->user &&
            learn_users_add(&u->users, r->user,
                            r->ts_ms / u->o->rules.user_window_ms) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Decides, builds, checks and (unless refused or a dry run) swaps. */
static int learn_once(learn_run *u)
{
    learn_users run_users;
    size_t i;
    int rc;

    u->winners = calloc(u->n ? u->n : 1, sizeof(*u->winners));
    if (!u->winners || learn_users_clone(&run_users, &u->users) != 0) {
        cli_err("learn: out of memory");
        return CLI_FAIL;
    }
    rc = learn_resolve(u->recs, u->n, &u->o->rules, &run_users, u->winners,
                       &u->nwinners);
    learn_users_free(&run_users);
    if (rc != 0) {
        cli_err("learn: out of memory");
        return CLI_FAIL;
    }
    learn_drop_agreed(u);
    step(u, "learn.resolve", "one answer per text decided");
    rc = learn_build(u);
    if (rc == CLI_OK) {
        step(u, "learn.check", "candidate against the references");
        rc = learn_check(u);
    }
    for (i = 0; u->reason && i < u->n; i++) {
        /* refused: what it would have taught waits in the queue */
        if (u->recs[i].fate == LEARN_APPLIED ||
            u->recs[i].fate == LEARN_AGREED) {
            u->recs[i].fate = LEARN_HELD;
        }
    }
    for (i = 0; i < u->n; i++) {
        u->fates[u->recs[i].fate]++;
    }
    if (rc != CLI_OK || u->reason || u->o->dry_run) {
        return rc;
    }
    step(u, "learn.swap", u->model);
    if ((u->nwinners > 0 || u->o->data) && (rc = learn_swap_in(u)) != CLI_OK) {
        return rc;
    }
    if (count_taught(u) != 0) {
        cli_err("learn: out of memory");
        return CLI_FAIL;
    }
    step(u, "learn.ack", "settled records acknowledged");
    return ack_settled(u);
}

int cli_feedback_learn(cli_ctx *ctx, int argc, char **argv)
{
    learn_opts o = {NULL, NULL, "learn", 0.5, {100, 86400000, 2, 0.99}, 0, 0};
    learn_run u;
    cJSON *sum;
    int rc;

    if ((rc = parse(ctx, argc, argv, &o)) != CLI_OK) {
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    }
    memset(&u, 0, sizeof(u));
    u.ctx = ctx;
    u.o = &o;
    u.lock = -1;
    u.acc_before = u.acc_after = u.right = NAN;
    if (o.data && access(o.data, R_OK) != 0) {
        cli_err("learn: --data %s: %s", o.data, strerror(errno));
        return CLI_USAGE;
    }
    if ((rc = cli_feedback_open(ctx, &u.h, 0)) != CLI_OK ||
        (rc = cli_model_path(u.h, o.model, "learn", NULL, &u.model)) !=
            CLI_OK ||
        (rc = take_lock(&u)) != CLI_OK) {
        run_free(&u);
        return rc;
    }
    if (o.rollback) {
        rc = learn_rollback(u.model);
        run_free(&u);
        return rc;
    }
    if ((rc = cli_model_load(u.model, &u.cur)) != CLI_OK) {
        run_free(&u);
        return rc;
    }
    state_load(&u);
    step(&u, "learn.take", u.model);
    if ((rc = take_all(&u)) == CLI_OK) {
        rc = learn_once(&u);
    }
    if (rc != CLI_OK) {
        run_free(&u); /* the records stay in the queue; nothing on stdout */
        return rc;
    }
    if (u.reason) {
        cli_err("learn: refused: %s; the records stay in the queue", u.reason);
        rc = CLI_FAIL;
    }
    if ((sum = summary(&u))) {
        if (!o.dry_run) {
            state_save(&u, sum);
        }
        if (cli_print_json_line(stdout, sum) != 0 && rc == CLI_OK) {
            rc = CLI_FAIL;
        }
    } else {
        cli_err("learn: out of memory");
        rc = CLI_FAIL;
    }
    cJSON_Delete(sum);
    run_free(&u);
    return rc;
}
