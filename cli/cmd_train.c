/*
 * cmd_train.c - `tutorcache train DATA.jsonl -o MODEL`: trains the
 * built-in classifier and saves it. The options map one to one onto
 * tc_train_options; anything the library refuses is reported in its own
 * words, which name the line and field at fault. The result is one JSON
 * line on stdout, so a script can keep the fingerprint; progress goes to
 * stderr only when a person is watching it. `train --update MODEL
 * --from-feedback` (corrections from the feedback queue) shares the
 * command line and is carried out by train_update.c.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "train_update.h"

/* Training data read from stdin is held in memory; a bound keeps a wrong
 * pipe from eating the machine. */
#define MAX_STDIN_DATA ((size_t)2 << 30)

const char cli_help_train[] =
    "Usage: tutorcache train [options] -o MODEL [DATA.jsonl]\n"
    "       tutorcache train --update MODEL --from-feedback [-o OUT]\n"
    "                        [--consumer NAME] [--claim-idle SEC]\n"
    "\n"
    "Train the built-in classifier on DATA.jsonl (- or none: stdin) and save\n"
    "it to MODEL. Each line is one example, such as\n"
    "  {\"text\": \"How do I reverse a list?\", \"intent\": "
    "\"code_generation\",\n"
    "   \"complexity\": \"beginner\", \"techniques\": [\"python\"]}\n"
    "\"intent\" is required; every other string field is a single-label "
    "head,\n"
    "every array of strings a multi-label head. A malformed line stops the\n"
    "training with a message naming the line and field.\n"
    "\n"
    "Prints one JSON line: the model file, the examples, the labels of each\n"
    "head, the fingerprint, the file's size and the training time. Progress\n"
    "goes to stderr when stderr is a terminal. The model is written to a\n"
    "temporary file, read back and checked, and only then renamed to MODEL:\n"
    "a training that diverged, or a file that cannot be read back, fails\n"
    "and leaves MODEL as it was.\n"
    "\n"
    "Options (unset: the library's defaults, see 'tutorcache model info'):\n"
    "  -o, --output MODEL   the model file to write (required)\n"
    "  --epochs N           passes over the data (1-10000)\n"
    "  --lr X               learning rate (0-100, exclusive of 0)\n"
    "  --dim N              width of the hidden layer (1-1024)\n"
    "  --buckets N          hashed feature rows (1-67108864)\n"
    "  --ngrams N           longest word n-gram (1-8)\n"
    "  --minn N, --maxn N   character n-gram lengths (0-16; 0 turns them "
    "off)\n"
    "  --seed N             random seed (a positive whole number)\n"
    "  --threads N          training threads (1-1024; default 1). One\n"
    "                       thread gives the same model, byte for byte, on\n"
    "                       every run; more are faster but share the\n"
    "                       weights without locks, so each run differs\n"
    "  --oos-label NAME     examples whose intent is NAME are out of scope:\n"
    "                       they teach the model what to refuse, and\n"
    "                       'classify' answers \"unknown\" where the model\n"
    "                       gives that label\n"
    "  -h, --help           show this help\n"
    "\n"
    "--update MODEL --from-feedback has MODEL remember the records of the\n"
    "feedback retraining queue instead: each record's text with its correct\n"
    "intent, complexity and techniques becomes a correction (see\n"
    "tc_model_update: it fixes that text and its close paraphrases and\n"
    "changes no other answer; a confirmation agrees with the answer). The\n"
    "model is saved to OUT (default: MODEL, replaced atomically), and only\n"
    "then are the records used acknowledged, so a failed run leaves them in\n"
    "the queue. A record with a label the model was not trained with is\n"
    "skipped, named on stderr and left in the queue. Prints {\"model\",\n"
    "\"updated\", \"skipped\", \"fingerprint_before\", "
    "\"fingerprint_after\"}.\n"
    "'tutorcache feedback learn' does the same with votes, caps and a check\n"
    "of the new model before it is swapped in, and can retrain instead.\n"
    "  --update MODEL       the model file to update\n"
    "  --from-feedback      learn from the feedback queue (required with\n"
    "                       --update)\n"
    "  -o, --output OUT     where to save the updated model\n"
    "  --consumer NAME      the queue's consumer name (default \"train\")\n"
    "  --claim-idle SEC     also take records another run left\n"
    "                       unacknowledged this long (default 60)\n"
    "\n"
    "Examples:\n"
    "  tutorcache train examples/intents.jsonl -o intents.tcm\n"
    "  tutorcache train --update intents.tcm --from-feedback\n"
    "\n"
    "Exit codes:\n"
    "  0  trained and saved\n"
    "  2  usage or a data file that cannot be opened; with --update also a "
    "model\n"
    "     file that cannot be opened\n"
    "  3  with --update: store unreachable or TLS refused\n"
    "  4  data the library refused (the message names the line); with "
    "--update\n"
    "     also a damaged model file\n"
    "  5  other, including a training that diverged and a model file that "
    "cannot\n"
    "     be written or read back\n";

/* Progress on a terminal: one line rewritten in place. */
typedef struct progress {
    pthread_mutex_t mu; /* the library may call from its threads */
    int shown;          /* percent last printed, -1 for none */
} progress;

static void on_progress(void *userdata, double fraction, double loss)
{
    progress *p = userdata;
    int pct = (int)(fraction * 100.0 + 0.5);

    pct = pct < 0 ? 0 : pct > 100 ? 100 : pct;
    pthread_mutex_lock(&p->mu);
    /* whole percents only: a redraw per example would cost more than it */
    if (pct != p->shown) {
        fprintf(stderr, "\rtutorcache: train: %3d%%  loss %.4f\033[K", pct,
                loss);
        fflush(stderr);
        p->shown = pct;
    }
    pthread_mutex_unlock(&p->mu);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) +
           (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Lines with something other than white space: the examples, once the
 * library has accepted every line. */
static long count_examples(const char *p, size_t n)
{
    long count = 0;
    int blank = 1;
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] == '\n') {
            count += !blank;
            blank = 1;
        } else if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') {
            blank = 0;
        }
    }
    return count + !blank;
}

static long count_file_examples(const char *path)
{
    char *buf = NULL;
    size_t len = 0;
    long n = -1;
    FILE *fp = fopen(path, "rb");

    if (fp && cli_read_all(fp, SIZE_MAX / 2, &buf, &len) == 0) {
        n = count_examples(buf, len);
    }
    if (fp) {
        fclose(fp);
    }
    free(buf);
    return n;
}

/*
 * The summary line: {"model", "examples", "labels": {head: count},
 * "fingerprint", "file_bytes", "seconds"}.
 */
static int print_summary(const tc_model *m, const char *path, long examples,
                         double seconds)
{
    char fp[TC_FINGERPRINT_LEN + 1];
    char *info = NULL;
    cJSON *root = NULL, *in = NULL, *labels, *h;
    struct stat st;
    int rc = CLI_FAIL;

    tc_model_fingerprint(fp, m);
    if (tc_model_info_json(&info, m) != TC_OK || !(in = cJSON_Parse(info)) ||
        !(root = cJSON_CreateObject())) {
        cli_err("train: out of memory");
        goto done;
    }
    cJSON_AddStringToObject(root, "model", path);
    if (examples >= 0) {
        cJSON_AddNumberToObject(root, "examples", (double)examples);
    }
    labels = cJSON_AddObjectToObject(root, "labels");
    cJSON_ArrayForEach(h, cJSON_GetObjectItemCaseSensitive(in, "heads"))
    {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(h, "name");

        if (cJSON_IsString(name)) {
            cJSON_AddNumberToObject(
                labels, name->valuestring,
                cJSON_GetArraySize(
                    cJSON_GetObjectItemCaseSensitive(h, "labels")));
        }
    }
    cJSON_AddStringToObject(root, "fingerprint", fp);
    if (stat(path, &st) == 0) {
        cJSON_AddNumberToObject(root, "file_bytes", (double)st.st_size);
    }
    /* milliseconds are all the precision a training time needs */
    cJSON_AddNumberToObject(
        root, "seconds", (double)(long long)(seconds * 1000.0 + 0.5) / 1000.0);
    rc = cli_print_json_line(stdout, root) == 0 ? CLI_OK : CLI_FAIL;
done:
    cJSON_Delete(root);
    cJSON_Delete(in);
    tc_free(info);
    return rc;
}

enum {
    OPT_EPOCHS = 256,
    OPT_LR,
    OPT_DIM,
    OPT_BUCKETS,
    OPT_NGRAMS,
    OPT_MINN,
    OPT_MAXN,
    OPT_SEED,
    OPT_THREADS,
    OPT_OOS_LABEL,
    OPT_UPDATE,
    OPT_FROM_FEEDBACK,
    OPT_CONSUMER,
    OPT_CLAIM_IDLE
};

/* What --update needs besides -o; model NULL: a training run. */
typedef struct update_opts {
    const char *model;
    const char *consumer;  /* NULL: "train" */
    int64_t claim_idle_ms; /* 0: the library's default */
    int from_feedback;
    const char *training_opt; /* the first training-only option given */
} update_opts;

/* One integer option into *out, or a usage error naming it. */
static int int_opt(const cli_ctx *ctx, const char *name, const char *s,
                   long long min, long long max, long long *out)
{
    if (cli_parse_int(s, min, max, out) != 0) {
        return cli_usage(ctx, "--%s: \"%s\" is not a whole number in %lld-%lld",
                         name, s, min, max);
    }
    return CLI_OK;
}

/* The command line of --update, once parsed. */
static int check_update(const cli_ctx *ctx, int argc, char **argv,
                        const update_opts *up)
{
    if (!up->from_feedback) {
        return cli_usage(ctx, "--update MODEL needs --from-feedback (the "
                              "only source of updates)");
    }
    if (up->training_opt) {
        return cli_usage(ctx,
                         "--%s is an option of training, not of --update "
                         "(the model keeps its own)",
                         up->training_opt);
    }
    if (argc - optind > 0) {
        return cli_usage(ctx,
                         "--update takes no DATA file: it learns from "
                         "the feedback queue (got \"%s\")",
                         argv[optind]);
    }
    if (up->consumer && up->consumer[0] == '\0') {
        return cli_usage(ctx, "--consumer: an empty name");
    }
    return CLI_OK;
}

static int parse_options(cli_ctx *ctx, int argc, char **argv,
                         tc_train_options *o, const char **output,
                         update_opts *up)
{
    static const struct option longs[] = {
        {"output", required_argument, NULL, 'o'},
        {"epochs", required_argument, NULL, OPT_EPOCHS},
        {"lr", required_argument, NULL, OPT_LR},
        {"dim", required_argument, NULL, OPT_DIM},
        {"buckets", required_argument, NULL, OPT_BUCKETS},
        {"ngrams", required_argument, NULL, OPT_NGRAMS},
        {"minn", required_argument, NULL, OPT_MINN},
        {"maxn", required_argument, NULL, OPT_MAXN},
        {"seed", required_argument, NULL, OPT_SEED},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"oos-label", required_argument, NULL, OPT_OOS_LABEL},
        {"update", required_argument, NULL, OPT_UPDATE},
        {"from-feedback", no_argument, NULL, OPT_FROM_FEEDBACK},
        {"consumer", required_argument, NULL, OPT_CONSUMER},
        {"claim-idle", required_argument, NULL, OPT_CLAIM_IDLE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    long long v = 0;
    double secs;
    int opt, rc = CLI_OK;
    size_t i;

    while ((opt = cli_getopt(ctx, argc, argv, "o:h", longs)) != -1) {
        for (i = 0; !up->training_opt && opt >= OPT_EPOCHS &&
                    opt <= OPT_OOS_LABEL && longs[i].name;
             i++) {
            /* its name, for the message of --update */
            up->training_opt = longs[i].val == opt ? longs[i].name : NULL;
        }
        switch (opt) {
        case 'o':
            *output = optarg;
            break;
        case OPT_EPOCHS:
            rc = int_opt(ctx, "epochs", optarg, 1, 10000, &v);
            o->epochs = (int)v;
            break;
        case OPT_LR:
            if (cli_parse_number(optarg, &o->lr) != 0 || o->lr <= 0 ||
                o->lr > 100) {
                rc = cli_usage(ctx, "--lr: \"%s\" is not a number in (0, 100]",
                               optarg);
            }
            break;
        case OPT_DIM:
            rc = int_opt(ctx, "dim", optarg, 1, 1024, &v);
            o->dim = (int)v;
            break;
        case OPT_BUCKETS:
            rc = int_opt(ctx, "buckets", optarg, 1, 1LL << 26, &v);
            o->buckets = (uint32_t)v;
            break;
        case OPT_NGRAMS:
            rc = int_opt(ctx, "ngrams", optarg, 1, 8, &v);
            o->word_ngrams = (int)v;
            break;
        case OPT_MINN:
            rc = int_opt(ctx, "minn", optarg, 0, 16, &v);
            o->minn = (int)v;
            break;
        case OPT_MAXN:
            rc = int_opt(ctx, "maxn", optarg, 0, 16, &v);
            o->maxn = (int)v;
            break;
        case OPT_SEED:
            /* 0 means "the default seed" to the library: not a choice */
            rc = int_opt(ctx, "seed", optarg, 1, INT64_MAX, &v);
            o->seed = (uint64_t)v;
            break;
        case OPT_THREADS:
            rc = int_opt(ctx, "threads", optarg, 1, 1024, &v);
            o->threads = (int)v;
            break;
        case OPT_OOS_LABEL:
            if (optarg[0] == '\0') {
                return cli_usage(ctx, "--oos-label: an empty name");
            }
            o->oos_label = optarg;
            break;
        case OPT_UPDATE:
            up->model = optarg;
            break;
        case OPT_FROM_FEEDBACK:
            up->from_feedback = 1;
            break;
        case OPT_CONSUMER:
            up->consumer = optarg;
            break;
        case OPT_CLAIM_IDLE:
            /* 0 would mean "the default" to the library: not a choice */
            if (cli_parse_number(optarg, &secs) != 0 || secs < 0.001 ||
                secs > 1e6) {
                return cli_usage(ctx,
                                 "--claim-idle: \"%s\" is not a number of "
                                 "seconds (0.001-1000000)",
                                 optarg);
            }
            up->claim_idle_ms = (int64_t)llround(secs * 1000.0);
            break;
        default:
            return cli_opt_default(ctx, opt);
        }
        if (rc != CLI_OK) {
            return rc;
        }
    }
    if (up->model) {
        return check_update(ctx, argc, argv, up);
    }
    if (up->from_feedback || up->consumer || up->claim_idle_ms) {
        return cli_usage(ctx, "%s goes with --update MODEL",
                         up->from_feedback ? "--from-feedback"
                         : up->consumer    ? "--consumer"
                                           : "--claim-idle");
    }
    if (o->minn > 0 && o->maxn > 0 && o->minn > o->maxn) {
        return cli_usage(ctx, "--minn %d is above --maxn %d", o->minn, o->maxn);
    }
    if (!*output) {
        return cli_usage(ctx, "-o MODEL is required: where to save the model");
    }
    if (argc - optind > 1) {
        return cli_usage(ctx, "expected one DATA file, got %d", argc - optind);
    }
    return CLI_OK;
}

/* The exit code of a failed training, after its message. */
static int train_failed(int rc, const char *data)
{
    char why[512];
    struct stat st;

    snprintf(why, sizeof(why), "%s", cli_why(rc));
    if (rc == TC_EIO && data &&
        (stat(data, &st) != 0 || access(data, R_OK) != 0)) {
        cli_err("%s: %s", data, strerror(errno));
        return CLI_USAGE;
    }
    cli_err("train: %s", why);
    if (rc == TC_EINVAL) {
        return CLI_BADINPUT;
    }
    return CLI_FAIL;
}

int cli_cmd_train(cli_ctx *ctx, int argc, char **argv)
{
    tc_train_options o;
    const char *output = NULL, *data = NULL;
    char *input = NULL;
    progress prog = {PTHREAD_MUTEX_INITIALIZER, -1};
    update_opts up = {NULL, NULL, 0, 0, NULL};
    struct timespec t0;
    tc_model *m = NULL;
    size_t len = 0;
    long examples;
    double secs;
    int rc;

    tc_train_options_init(&o);
    if ((rc = parse_options(ctx, argc, argv, &o, &output, &up)) != CLI_OK) {
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    }
    if (up.model) {
        return cli_train_update(ctx, up.model, output,
                                up.consumer ? up.consumer : "train",
                                up.claim_idle_ms);
    }
    if (argc - optind == 1 && strcmp(argv[optind], "-") != 0) {
        data = argv[optind];
    }
    if (isatty(STDERR_FILENO)) {
        o.progress = on_progress;
        o.progress_userdata = &prog;
    }
    if (data) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = tc_model_train_file(&m, data, &o);
    } else {
        if (cli_read_all(stdin, MAX_STDIN_DATA, &input, &len) != 0) {
            cli_err("train: reading stdin: %s", strerror(errno));
            return errno == EFBIG ? CLI_BADINPUT : CLI_FAIL;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = tc_model_train(&m, input, len, &o);
    }
    secs = seconds_since(&t0);
    if (prog.shown >= 0) {
        /* leave the progress line behind a newline, not under our output */
        fputc('\n', stderr);
    }
    if (rc != TC_OK) {
        free(input);
        return train_failed(rc, data);
    }
    if (cli_model_save_checked(m, output) != 0) {
        tc_model_free(m);
        free(input);
        return CLI_FAIL;
    }
    examples = data ? count_file_examples(data) : count_examples(input, len);
    free(input);
    rc = print_summary(m, output, examples, secs);
    tc_model_free(m);
    return rc;
}
