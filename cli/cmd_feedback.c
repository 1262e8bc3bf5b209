/*
 * cmd_feedback.c - `tutorcache feedback SUBCOMMAND`: the group's help and
 * dispatch, and its two small subcommands, submit (one record, from
 * options or a JSON object on stdin) and stats (the library's counts, as
 * JSON or a table). The bulk subcommands, import and export, are in
 * cmd_feedback_io.c.
 *
 * The record's rules belong to the library: the CLI checks only what its
 * own options need (a number where a number is due, the required options
 * present) and passes everything else through, so that a record is
 * refused with the same words whichever way it arrives.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arm_models.h"
#include "cmd_feedback.h"
#include "cmd_feedback_io.h"
#include "feedback_common.h"
#include "feedback_report.h"
#include "learn.h"

/* A record on stdin is one JSON object; the library's limits (10,000
 * bytes of text, 32 techniques) keep a real one far below this. */
#define MAX_STDIN_RECORD ((size_t)1 << 20)

/* ---- help ---------------------------------------------------------------- */

/* The group's help: what feedback is, and each subcommand in two lines. */
const char cli_help_feedback[] =
    "Usage: tutorcache feedback SUBCOMMAND [options] [args]\n"
    "\n"
    "Users' corrections and confirmations of classifications. An accepted\n"
    "record is stored (30 days; config \"feedback_retention\"), counted and\n"
    "queued for learning ('tutorcache feedback learn', or export them and\n"
    "train again).\n"
    "A correction also overrides the cached answer of its text in every\n"
    "process sharing the store: classify answers with the corrected intent\n"
    "and source \"feedback\" for 24 h (config "
    "namespaces.intent_feedback.ttl).\n"
    "Feedback needs a durable store (lmdb:// or redis://); while it cannot\n"
    "be reached, records wait in a local spool and are stored later.\n"
    "A record's id is its \"id\" (1 to 64 of A-Z a-z 0-9 . _ : -) or a hash "
    "of\n"
    "its fields (the timestamp only when given); the store keeps one record\n"
    "per id for its 30 days, so a record submitted again, or an import run\n"
    "again after it was killed, is stored once and reported as a duplicate.\n"
    "\n"
    "Subcommands ('tutorcache feedback SUBCOMMAND --help' for their "
    "options):\n"
    "  submit --text T --original I --correct J --confidence C [options]\n"
    "  submit -\n"
    "      submit one record (options, or a JSON object on stdin)\n"
    "  import [--format jsonl|csv] [--dry-run] FILE|-\n"
    "      submit JSON Lines or CSV records; rejected lines on stderr\n"
    "  stats [--json | --format json|table] [--model MODEL]\n"
    "        [--candidate MODEL]\n"
    "      counts by type, top correction pairs, queue lengths, the\n"
    "      correction rate per model and A/B arm; as JSON also analytics\n"
    "      per intent, per day, a confusion matrix\n"
    "  export [--consumer NAME [--ack] [--max N] [--claim-idle SEC]]\n"
    "      stored records, or records of the retraining queue, as JSON "
    "Lines\n"
    "  learn [--model MODEL] [--data FILE] [--dry-run] [--rollback]\n"
    "      teach the model the queue's corrections, check it, swap it in\n"
    "  purge [--user-id ID] [--before TIME] [--text TEXT]\n"
    "      erase matching records, their queue entries and overrides\n"
    "  report [-o FILE] [--model MODEL] [--candidate MODEL]\n"
    "      the feedback analytics as one self-contained HTML page\n"
    "\n"
    "Examples:\n"
    "  tutorcache feedback submit --text \"Explain recursion\" \\\n"
    "      --original code_generation --correct explanation "
    "--confidence 0.62\n"
    "  tutorcache feedback import corrections.csv\n"
    "  tutorcache feedback export --consumer trainer --ack > batch.jsonl\n"
    "  tutorcache feedback learn --model intents.tcm\n"
    "\n" CLI_FEEDBACK_EXIT_CODES;

static const char help_submit[] =
    "Usage: tutorcache feedback submit --text T --original I --correct J\n"
    "                                  --confidence C [options]\n"
    "       tutorcache feedback submit -\n"
    "\n"
    "Submit one record, given by the options or as one JSON object on stdin\n"
    "(-) with the library's field names: text, original_intent,\n"
    "correct_intent, original_confidence, feedback_type, and optionally\n"
    "correct_complexity, correct_techniques, user_id, model, timestamp, id\n"
    "(an unknown field is refused).\n"
    "Prints {\"id\":\"...\",\"status\":\"accepted\"};\n"
    "\"spooled\" when the store could not be reached and the record waits in\n"
    "the local spool, to be stored later; \"duplicate\" when the store holds\n"
    "the record's id already, and nothing was stored or counted again. The\n"
    "id is the record's \"id\" (1 to 64 of A-Z a-z 0-9 . _ : -) or else a "
    "hash\n"
    "of its fields (the timestamp only when given): the same record submitted\n"
    "twice within the retention (30 days) is kept once. A record the library\n"
    "refuses is reported naming the field and the reason, and the exit code\n"
    "is 4.\n"
    "\n"
    "Options:\n"
    "  --text T           the text that was classified (required)\n"
    "  --original I       the intent it was given (required)\n"
    "  --correct J        the right intent (required)\n"
    "  --confidence C     the original intent's confidence, 0..1 (required)\n"
    "  --type TYPE        correction or confirmation (default: correction\n"
    "                     when J differs from I, else confirmation)\n"
    "  --complexity X     the right complexity\n"
    "  --techniques A,B   the right techniques, separated by commas\n"
    "  --user U, --user-id U  who gave the feedback (user_id)\n"
    "  --timestamp TIME   when, in ISO 8601 such as 2024-03-01T09:30:00Z\n"
    "                     (default: now)\n"
    "  --model FP         the model whose answer this is about: the answer's\n"
    "                     \"model\" (a fingerprint, or a host model's\n"
    "                     version; 1 to 127 of printable ASCII, no spaces),\n"
    "                     so that 'feedback stats' can say which model\n"
    "                     users correct less\n"
    "  -h, --help         show this help\n"
    "\n"
    "Example:\n"
    "  tutorcache feedback submit --text \"Explain recursion\" \\\n"
    "      --original code_generation --correct explanation "
    "--confidence 0.62\n"
    "\n" CLI_FEEDBACK_EXIT_CODES;

static const char help_stats[] =
    "Usage: tutorcache feedback stats [--json | --format json|table]\n"
    "                                 [--model MODEL] [--candidate MODEL]\n"
    "\n"
    "Counts of the store: records accepted and rejected, by type; the top\n"
    "20 correction pairs (original -> correct), most frequent first; records\n"
    "kept (within their retention), pending (delivered to a consumer and\n"
    "not yet acknowledged), queued (never delivered), and spooled (waiting\n"
    "in this host's spool for the store). With a model (--model, or\n"
    "TUTORCACHE_MODEL, or the config file's \"model\") that 'feedback\n"
    "learn' has run on, also \"learn\": its runs, refusals, corrections\n"
    "applied, capped and overruled, and the last run's summary.\n"
    "\n"
    "\"store\" says where the records are kept and how that server keeps\n"
    "keys (maxmemory_policy, persistence). When it may evict them\n"
    "(allkeys-*) or loses them on restart (neither AOF nor save points),\n"
    "\"at_risk\" names why and a warning on stderr says how to avoid it:\n"
    "maxmemory-policy volatile-lru or noeviction, appendonly yes, or a\n"
    "store of feedback's own (--feedback-store, TUTORCACHE_FEEDBACK_STORE,\n"
    "the config file's feedback_store).\n"
    "\n"
    "As JSON, also \"analytics\", from the stored records: per intent\n"
    "answered, its corrections and confirmations (\"intents\"); the\n"
    "confusion matrix of corrections, original -> correct -> count\n"
    "(\"confusion\"); corrections and confirmations per UTC day of the\n"
    "retention window, oldest first, zeros included (\"per_day\"); and the\n"
    "10 most corrected texts, by their key in the intent_feedback\n"
    "namespace, never their words (\"most_corrected\").\n"
    "Beside each intent, its \"classifications\": the answers of that\n"
    "intent every process served over the retention window (hits, misses\n"
    "and corrections' answers, counted unless count_intents is off), and\n"
    "its \"correction_rate\", corrections / classifications, null when\n"
    "none was counted; an intent answered that no record names is listed\n"
    "too, at rate 0. \"corrections_exceed_classifications\" is true when\n"
    "an intent has more corrections than answers counted (its rate then\n"
    "passes 1: records about answers no counting process served, such as\n"
    "imported ones). And per model its shadow checks (\"shadow\":\n"
    "checks, agree, disagree, rate = disagree / checks, null without\n"
    "checks).\n"
    "\n"
    "Per model (\"models\", and a table after the counts): the records that\n"
    "name the model they are about (their \"model\", the answer's\n"
    "fingerprint or host version), its corrections, confirmations and\n"
    "correction rate, corrections / (corrections + confirmations): the\n"
    "model users correct less has the lower rate. The A/B arms (\"arms\"):\n"
    "control is the model (--model, TUTORCACHE_MODEL, the config's\n"
    "\"model\"), candidate the one --candidate names, by fingerprint (or\n"
    "exec:COMMAND's version), each with its rate; records without a model\n"
    "count for none.\n"
    "\n"
    "Options:\n"
    "  -m, --model MODEL     the model whose learning to show; control arm\n"
    "  --candidate MODEL     an A/B rollout's candidate (a model file or\n"
    "                        exec:COMMAND), to name its arm\n"
    "  --json                the same as --format json\n"
    "  --format json|table   default: table on a terminal, JSON otherwise\n"
    "  -h, --help            show this help\n"
    "\n" CLI_FEEDBACK_EXIT_CODES;

/* ---- submit -------------------------------------------------------------- */

/*
 * Splits "a, b,c" at commas into v (items trimmed of spaces, in place).
 * Returns the number of items, or -1 when there are more than max.
 */
static int split_techniques(char *s, const char **v, int max)
{
    int n = 0;
    char *p = s, *comma, *end;

    for (;;) {
        comma = strchr(p, ',');
        end = comma ? comma : p + strlen(p);
        while (*p == ' ') {
            p++;
        }
        while (end > p && end[-1] == ' ') {
            end--;
        }
        if (n == max) {
            return -1;
        }
        /* an empty item is passed on: the library names it and refuses */
        v[n++] = p;
        if (!comma) {
            *end = '\0';
            return n;
        }
        *end = '\0';
        p = comma + 1;
    }
}

enum {
    OPT_TEXT = 256,
    OPT_ORIGINAL,
    OPT_CORRECT,
    OPT_CONFIDENCE,
    OPT_TYPE,
    OPT_COMPLEXITY,
    OPT_TECHNIQUES,
    OPT_USER,
    OPT_TIMESTAMP,
    OPT_MODEL
};

/*
 * The record from the command line. Techniques beyond the library's 32
 * are kept (up to a bound of our own) so that the library, not the CLI,
 * says what is wrong with them.
 */
#define MAX_TECHNIQUES 64

typedef struct submit_args {
    tc_feedback fb;
    const char *tech[MAX_TECHNIQUES];
    const char *type; /* --type as given, or NULL */
    int has_conf;
    int from_stdin;
} submit_args;

static int submit_parse(cli_ctx *ctx, int argc, char **argv, submit_args *a)
{
    static const struct option longs[] = {
        {"text", required_argument, NULL, OPT_TEXT},
        {"original", required_argument, NULL, OPT_ORIGINAL},
        {"correct", required_argument, NULL, OPT_CORRECT},
        {"confidence", required_argument, NULL, OPT_CONFIDENCE},
        {"type", required_argument, NULL, OPT_TYPE},
        {"complexity", required_argument, NULL, OPT_COMPLEXITY},
        {"techniques", required_argument, NULL, OPT_TECHNIQUES},
        {"user", required_argument, NULL, OPT_USER},
        {"user-id", required_argument, NULL, OPT_USER}, /* as purge says */
        {"timestamp", required_argument, NULL, OPT_TIMESTAMP},
        {"model", required_argument, NULL, OPT_MODEL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt, n, given = 0;

    while ((opt = cli_getopt(ctx, argc, argv, "h", longs)) != -1) {
        given += opt != 'h';
        switch (opt) {
        case OPT_TEXT:
            a->fb.text = optarg;
            break;
        case OPT_ORIGINAL:
            a->fb.original_intent = optarg;
            break;
        case OPT_CORRECT:
            a->fb.correct_intent = optarg;
            break;
        case OPT_CONFIDENCE:
            if (cli_parse_number(optarg, &a->fb.original_confidence) != 0) {
                return cli_usage(ctx,
                                 "submit: --confidence: \"%s\" is not a "
                                 "number",
                                 optarg);
            }
            a->has_conf = 1;
            break;
        case OPT_TYPE:
            if (strcmp(optarg, "correction") != 0 &&
                strcmp(optarg, "confirmation") != 0) {
                return cli_usage(ctx,
                                 "submit: --type: \"%s\" is not correction "
                                 "or confirmation",
                                 optarg);
            }
            a->type = optarg;
            break;
        case OPT_COMPLEXITY:
            a->fb.correct_complexity = optarg;
            break;
        case OPT_TECHNIQUES:
            n = split_techniques(optarg, a->tech, MAX_TECHNIQUES);
            if (n < 0) {
                return cli_usage(ctx, "submit: --techniques: more than %d",
                                 MAX_TECHNIQUES);
            }
            a->fb.correct_techniques = a->tech;
            a->fb.ncorrect_techniques = (size_t)n;
            break;
        case OPT_USER:
            a->fb.user_id = optarg;
            break;
        case OPT_TIMESTAMP:
            a->fb.timestamp = optarg;
            break;
        case OPT_MODEL:
            a->fb.model = optarg;
            break;
        case 'h':
            cli_feedback_help(help_submit);
            return CLI_HELP_SHOWN;
        default:
            return CLI_USAGE;
        }
    }
    if (argc - optind == 1 && strcmp(argv[optind], "-") == 0) {
        if (given) {
            return cli_usage(ctx, "submit: a record from stdin (-) takes no "
                                  "record options");
        }
        a->from_stdin = 1;
        return CLI_OK;
    }
    if (argc - optind > 0) {
        return cli_usage(ctx,
                         "submit: unexpected argument \"%s\" (the text "
                         "goes in --text; - reads a JSON record)",
                         argv[optind]);
    }
    if (!a->fb.text || !a->fb.original_intent || !a->fb.correct_intent ||
        !a->has_conf) {
        return cli_usage(ctx, "submit: --%s is required",
                         !a->fb.text              ? "text"
                         : !a->fb.original_intent ? "original"
                         : !a->fb.correct_intent  ? "correct"
                                                  : "confidence");
    }
    if (a->type) {
        a->fb.type = strcmp(a->type, "correction") == 0
                         ? TC_FEEDBACK_CORRECTION
                         : TC_FEEDBACK_CONFIRMATION;
    } else {
        a->fb.type = strcmp(a->fb.original_intent, a->fb.correct_intent) != 0
                         ? TC_FEEDBACK_CORRECTION
                         : TC_FEEDBACK_CONFIRMATION;
    }
    return CLI_OK;
}

static int cmd_submit(cli_ctx *ctx, int argc, char **argv)
{
    char id[TC_FEEDBACK_ID_MAX], *json = NULL;
    submit_args a;
    int outcome = TC_FEEDBACK_STORED;
    tc_cache *h = NULL;
    size_t len = 0;
    int rc;

    memset(&a, 0, sizeof(a));
    if ((rc = submit_parse(ctx, argc, argv, &a)) != CLI_OK) {
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    }
    if (a.from_stdin &&
        cli_read_all(stdin, MAX_STDIN_RECORD, &json, &len) != 0) {
        cli_err("feedback submit: reading stdin: %s", strerror(errno));
        return errno == EFBIG ? CLI_BADINPUT : CLI_FAIL;
    }
    if ((rc = cli_feedback_open(ctx, &h, 0)) != CLI_OK) {
        free(json);
        return rc;
    }
    if (a.from_stdin) {
        rc = tc_feedback_submit_json(id, &outcome, h, json, len);
    } else {
        rc = tc_feedback_submit(id, &outcome, h, &a.fb);
    }
    free(json);
    if (rc != TC_OK) {
        /* the library's message names the field: it is the whole story */
        rc = cli_fail(h, rc, NULL);
        tc_cache_close(h);
        return rc;
    }
    printf("{\"id\":\"%s\",\"status\":\"%s\"}\n", id,
           outcome == TC_FEEDBACK_SPOOLED     ? "spooled"
           : outcome == TC_FEEDBACK_DUPLICATE ? "duplicate"
                                              : "accepted");
    tc_cache_close(h);
    return CLI_OK;
}

/* ---- stats --------------------------------------------------------------- */

/* The pairs as a table: original, correct, count. */
static void print_pairs(const cJSON *pairs)
{
    const cJSON *p;
    int wo = (int)strlen("original"), wc = (int)strlen("correct"), n;

    cJSON_ArrayForEach(p, pairs)
    {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(p, "original");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(p, "correct");

        if (cJSON_IsString(o) && (n = (int)strlen(o->valuestring)) > wo) {
            wo = n;
        }
        if (cJSON_IsString(c) && (n = (int)strlen(c->valuestring)) > wc) {
            wc = n;
        }
    }
    printf("\n%-*s  %-*s  %s\n", wo, "original", wc, "correct", "count");
    cJSON_ArrayForEach(p, pairs)
    {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(p, "original");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(p, "correct");
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(p, "count");

        printf("%-*s  %-*s  %5.0f\n", wo,
               cJSON_IsString(o) ? o->valuestring : "?", wc,
               cJSON_IsString(c) ? c->valuestring : "?",
               cJSON_IsNumber(k) ? k->valuedouble : 0.0);
    }
}

/* The models as a table: model, arm, corrections, confirmations, rate. */
static void print_models(const cJSON *models)
{
    const cJSON *m;
    int wm = (int)strlen("model");

    cJSON_ArrayForEach(m, models)
    {
        if ((int)strlen(m->string) > wm) {
            wm = (int)strlen(m->string);
        }
    }
    printf("\n%-*s  %-9s  %11s  %13s  %s\n", wm, "model", "arm", "corrections",
           "confirmations", "correction_rate");
    cJSON_ArrayForEach(m, models)
    {
        const cJSON *arm = cJSON_GetObjectItemCaseSensitive(m, "arm");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "correction_rate");
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "corrections");
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(m, "confirmations");

        printf("%-*s  %-9s  %11.0f  %13.0f  ", wm, m->string,
               cJSON_IsString(arm) ? arm->valuestring : "-",
               cJSON_IsNumber(c) ? c->valuedouble : 0.0,
               cJSON_IsNumber(k) ? k->valuedouble : 0.0);
        if (cJSON_IsNumber(r)) {
            printf("%.3f\n", r->valuedouble);
        } else {
            printf("-\n");
        }
    }
}

/*
 * The library's warning that the store may evict the records or lose
 * them on restart, and how to avoid it: on stderr, whatever the format,
 * since a person must see it and a script's JSON keeps it too.
 */
static void warn_at_risk(const cJSON *root)
{
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(root, "warning");

    if (cJSON_IsString(w)) {
        fprintf(stderr, "tutorcache: warning: %s\n", w->valuestring);
    }
}

/* The library's analytics of h's records, naming am's arms, as a tree;
 * CLI_OK, or the exit code after a message. */
static int analytics_of(tc_cache *h, const cli_arm_models *am, cJSON **out)
{
    tc_report_options o;
    char *text = NULL;
    int rc;

    cli_arm_models_options(&o, am);
    if ((rc = tc_feedback_analytics_json(&text, h, &o)) != TC_OK) {
        return cli_fail(h, rc, "feedback stats");
    }
    *out = cJSON_Parse(text);
    tc_free(text);
    if (!*out) {
        cli_err("feedback stats: out of memory");
        return CLI_FAIL;
    }
    return CLI_OK;
}

static int cmd_stats(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longs[] = {
        {"format", required_argument, NULL, 'f'},
        {"json", no_argument, NULL, 'j'},
        {"model", required_argument, NULL, 'm'},
        {"candidate", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    cli_format fmt = CLI_FORMAT_AUTO;
    tc_cache *h = NULL;
    char *text = NULL, *model = NULL;
    const char *given = NULL, *cand = NULL;
    cJSON *root, *pairs, *learn = NULL, *cfg, *m, *store, *analytics = NULL;
    cJSON *models;
    cli_arm_models am;
    int opt, rc;

    while ((opt = cli_getopt(ctx, argc, argv, "m:h", longs)) != -1) {
        switch (opt) {
        case 'm':
            given = optarg;
            break;
        case 'c':
            cand = optarg;
            break;
        case 'f':
            if ((rc = cli_parse_format(ctx, optarg, &fmt)) != CLI_OK) {
                return rc;
            }
            break;
        case 'j':
            fmt = CLI_FORMAT_JSON;
            break;
        case 'h':
            return cli_feedback_help(help_stats);
        default:
            return CLI_USAGE;
        }
    }
    if (argc - optind != 0) {
        return cli_usage(ctx, "stats: takes no arguments");
    }
    if ((rc = cli_feedback_open(ctx, &h, 0)) != CLI_OK) {
        return rc;
    }
    if ((rc = tc_feedback_stats_json(&text, h)) != TC_OK) {
        rc = cli_fail(h, rc, "feedback stats");
        tc_cache_close(h);
        return rc;
    }
    /* the model's learning, when there is a model and it has learned */
    model = given ? strdup(given) : NULL;
    if ((cfg = cli_config_tree(h))) {
        m = cJSON_GetObjectItemCaseSensitive(cfg, "model");
        if (!given && cJSON_IsString(m) && *m->valuestring) {
            model = strdup(m->valuestring);
        }
        cJSON_Delete(cfg);
    }
    if ((rc = cli_arm_models_open(&am, h, given, cand)) != CLI_OK ||
        (rc = analytics_of(h, &am, &analytics)) != CLI_OK) {
        cJSON_Delete(analytics);
        free(model);
        tc_free(text);
        tc_cache_close(h);
        return rc;
    }
    tc_cache_close(h);
    learn = model ? cli_learn_stats(model) : NULL;
    free(model);
    root = cJSON_Parse(text);
    tc_free(text);
    if (!root) {
        cJSON_Delete(learn);
        cJSON_Delete(analytics);
        cli_err("feedback stats: the library's JSON does not parse");
        return CLI_FAIL;
    }
    if (learn) {
        cJSON_AddItemToObject(root, "learn", learn);
    }
    if (analytics) {
        cJSON_AddItemToObject(root, "analytics", analytics);
    }
    warn_at_risk(root);
    if (cli_format_resolve(fmt) == CLI_FORMAT_JSON) {
        rc = cli_print_json_line(stdout, root) == 0 ? CLI_OK : CLI_FAIL;
        cJSON_Delete(root);
        return rc;
    }
    /* the counts as name/value lines, then the pairs as their own table */
    models = cJSON_DetachItemFromObjectCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "analytics"), "models");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "analytics");
    pairs = cJSON_DetachItemFromObjectCaseSensitive(root, "pairs");
    learn = cJSON_DetachItemFromObjectCaseSensitive(root, "learn");
    store = cJSON_DetachItemFromObjectCaseSensitive(root, "store");
    cJSON_DeleteItemFromObjectCaseSensitive(root, "warning");
    cli_print_table(stdout, root);
    if (store) {
        cJSON_DeleteItemFromObjectCaseSensitive(store, "at_risk");
        printf("\nstore\n");
        cli_print_table(stdout, store);
        cJSON_Delete(store);
    }
    if (learn) {
        cJSON *last = cJSON_DetachItemFromObjectCaseSensitive(learn, "last");

        printf("\nlearn\n");
        cli_print_table(stdout, learn);
        if (last) {
            printf("\nlast learn run\n");
            cli_print_table(stdout, last);
        }
        cJSON_Delete(last);
        cJSON_Delete(learn);
    }
    if (cJSON_GetArraySize(pairs) > 0) {
        print_pairs(pairs);
    }
    if (cJSON_GetArraySize(models) > 0) {
        print_models(models);
    }
    cJSON_Delete(models);
    cJSON_Delete(pairs);
    cJSON_Delete(root);
    return CLI_OK;
}

/* ---- the group ----------------------------------------------------------- */

static const struct {
    const char *name;
    int (*run)(cli_ctx *ctx, int argc, char **argv);
} subcommands[] = {
    {"submit", cmd_submit},         {"import", cli_feedback_import},
    {"stats", cmd_stats},           {"export", cli_feedback_export},
    {"learn", cli_feedback_learn},  {"purge", cli_feedback_purge},
    {"report", cli_feedback_report}};

int cli_cmd_feedback(cli_ctx *ctx, int argc, char **argv)
{
    size_t i;

    if (argc < 2) {
        return cli_usage(ctx, "expected a subcommand: submit, import, "
                              "stats, export, learn, purge or report");
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        return cli_help(ctx);
    }
    for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
        if (strcmp(argv[1], subcommands[i].name) == 0) {
            /* the subcommand parses its options from scratch */
            optind = 0;
            return subcommands[i].run(ctx, argc - 1, argv + 1);
        }
    }
    return cli_usage(ctx,
                     "unknown subcommand \"%s\" (submit, import, stats, "
                     "export, learn, purge, report)",
                     argv[1]);
}
