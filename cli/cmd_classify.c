/*
 * cmd_classify.c - `tutorcache classify [TEXT...]`: texts from the
 * arguments, else one per line of stdin (plain text, or a JSON object with
 * "text" and an optional "id"), classified through the cache by the
 * built-in model or an external command, one JSON result per line.
 *
 * Lines are gathered into batches so that the L2 lookups of a batch share
 * one round trip (tc_classify_batch), but a batch is also sent as soon as
 * no more input is waiting, so that a program that writes one line and
 * waits for its answer is never left hanging. A bad line costs only
 * itself: it is reported with its line number and the run goes on.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answerer.h"
#include "batch.h"
#include "cli.h"
#include "classify_candidate.h"
#include "exec_backend.h"

#define DEFAULT_BATCH 64

/* A line longer than this is not a question; it is skipped whole. */
#define MAX_LINE ((size_t)1 << 20)

const char cli_help_classify[] =
    "Usage: tutorcache classify [options] [TEXT...]\n"
    "\n"
    "Classify each TEXT, or without any, each line of stdin: a line is a "
    "text,\n"
    "or a JSON object {\"text\": ..., \"id\": ...} whose id (any JSON value) "
    "is\n"
    "echoed first in its result. One JSON object per line comes out:\n"
    "  {\"intent\", \"confidence\", \"top\": [{\"label\", \"score\"}],\n"
    "   \"complexity\", \"techniques\" (when the model has them), \"model\",\n"
    "   \"source\": model|l1|l2|feedback, \"latency_us\"}\n"
    "A confidence below --threshold gives the intent \"unknown\", the scores\n"
    "still shown. Answers are cached in the \"intents\" namespace (TTL\n"
    "CACHE_TTL, default 1 h) under the normalized text and the model's\n"
    "fingerprint, so a new model never gets an old model's answers;\n"
    "ENABLE_CACHING=false classifies without the cache.\n"
    "\n"
    "A bad line (not UTF-8, empty, a JSON object without \"text\", over 1 "
    "MiB,\n"
    "or one the backend failed) is reported on stderr as\n"
    "'tutorcache: stdin:LINE: reason'; the other lines are classified and "
    "the\n"
    "exit code is then 4.\n"
    "\n"
    "Options:\n"
    "  -m, --model MODEL        the model file; default: TUTORCACHE_MODEL, "
    "then\n"
    "                           the config file's \"model\"\n"
    "  --backend exec:COMMAND   classify with COMMAND instead, run once by\n"
    "                           /bin/sh and kept running: it reads one line\n"
    "                           {\"text\": \"...\"} at a time and answers one "
    "line\n"
    "                           {\"intent\": \"...\", \"confidence\": 0.9, ...}"
    "; it\n"
    "                           is restarted if it exits\n"
    "  --backend-version V      the version of COMMAND's model, part of the\n"
    "                           cache key (default: exec:COMMAND); change it\n"
    "                           when the model behind COMMAND changes\n"
    "  --backend-timeout SEC    how long one answer may take before COMMAND\n"
    "                           is killed and restarted (default 5)\n"
    "  -k, --top-k K            labels in \"top\" (1-100, default 3)\n"
    "  -t, --threshold T        confidence below which the intent is\n"
    "                           \"unknown\" (0-1, default 0)\n"
    "  --candidate MODEL        an A/B rollout: MODEL (a model file, or\n"
    "                           exec:COMMAND with the version exec:COMMAND)\n"
    "                           answers the share --split of the texts,\n"
    "                           chosen by a hash of the normalized text (the\n"
    "                           same text, the same arm); each answer names\n"
    "                           its \"arm\": control|candidate. A text the\n"
    "                           candidate fails is answered by the model\n"
    "                           (counted in intent_ab_fallbacks_total)\n"
    "  --split X                the candidate's share, 0-1 (default 0.1)\n"
    "  --shadow-rate X          share of cache hits (0-1, default 0) checked\n"
    "                           again by the model in the background; a\n"
    "                           changed answer is logged (shadow_disagree)\n"
    "                           and replaces the cached one (for later runs)\n"
    "  --format json|table      default: json (a table is for people)\n"
    "  --batch N                lines per cache round trip (1-10000, default\n"
    "                           64)\n"
    "  -h, --help               show this help\n"
    "\n"
    "Examples:\n"
    "  tutorcache classify --model intents.tcm \"How do I reverse a list in "
    "Python?\"\n"
    "  tutorcache classify < questions.txt | jq -r .intent\n"
    "  echo '{\"id\": 7, \"text\": \"fix my segfault\"}' | tutorcache "
    "classify\n"
    "  tutorcache classify --backend 'exec:python3 examples/my_model.py' "
    "--backend-version v3\n"
    "  tutorcache classify --model old.tcm --candidate new.tcm --split 0.1 "
    "< q.txt\n"
    "\n"
    "Exit codes:\n"
    "  0  ok\n"
    "  2  usage, no model, or a model file that cannot be opened\n"
    "  3  store unusable (also: TLS refused)\n"
    "  4  some texts were rejected, or a damaged model file\n"
    "  5  other\n";

/*
 * One line waiting in a batch. A line already found bad waits too, with
 * its reason, so that the diagnostics come out in the order of the input.
 */
typedef struct item {
    char *text; /* owned; NUL-terminated; NULL for a bad line */
    size_t len;
    char *id;          /* the id as JSON text, owned, or NULL */
    long where;        /* line or argument number */
    const char *error; /* why a bad line is bad (a static string) */
} item;

typedef struct job {
    tc_cache *h;
    tc_classifier *c;
    exec_backend *backend; /* the answerer's, borrowed; NULL for a model */
    cli_format fmt;
    const char *origin; /* "stdin" or "argument" */
    item *batch;
    size_t n, max;
    cli_batch b; /* the texts sent; b.at: each line's slot in them */
    long rejected;
    int fatal;  /* an exit code that ends the run, or 0 */
    int headed; /* the table's header is out */
} job;

/* ---- reporting ---------------------------------------------------------- */

static void reject(job *j, long where, const char *why)
{
    if (strcmp(j->origin, "stdin") == 0) {
        cli_err("stdin:%ld: %s", where, why);
    } else {
        cli_err("classify: argument %ld: %s", where, why);
    }
    j->rejected++;
}

/* Why the library refused a text (TC_EINVAL), in the user's words. */
static const char *invalid_reason(const item *it)
{
    char *norm = NULL;
    size_t nlen = 0;
    int rc;

    if (it->len == 0) {
        return "empty text";
    }
    if (memchr(it->text, '\0', it->len)) {
        return "text contains a NUL character";
    }
    rc = tc_text_normalize(&norm, &nlen, it->text, it->len);
    tc_free(norm);
    if (rc == TC_EINVAL) {
        return "text is not valid UTF-8";
    }
    if (rc == TC_OK && nlen == 0) {
        return "empty text (only white space)";
    }
    return "text refused by the classifier";
}

/* Why the classifier failed a text (TC_ELOADER). */
static void loader_reason(job *j, const item *it, char *buf, size_t n)
{
    char *norm = NULL;
    size_t nlen = 0;

    buf[0] = '\0';
    if (j->backend &&
        tc_text_normalize(&norm, &nlen, it->text, it->len) == TC_OK) {
        /* the backend was given the normalized text: that is its key */
        exec_backend_error(j->backend, norm, nlen, buf, n);
    }
    tc_free(norm);
    if (!buf[0]) {
        snprintf(buf, n, "the classifier failed");
    }
}

/* ---- output ------------------------------------------------------------- */

/* At most max bytes of s, cut on a character boundary, controls as ' '. */
static void print_clipped(const char *s, size_t len, size_t max)
{
    size_t n = len, i;

    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--;
        }
    }
    for (i = 0; i < n; i++) {
        putchar((unsigned char)s[i] < 0x20 ? ' ' : s[i]);
    }
    if (n < len) {
        fputs("...", stdout);
    }
}

static void print_row(job *j, const item *it, const tc_result *r)
{
    if (!j->headed) {
        printf("%-22s %10s  %-12s  %-8s  %s\n", "intent", "confidence",
               "complexity", "source", "text");
        j->headed = 1;
    }
    printf("%-22s %10.3f  %-12s  %-8s  ", r->intent, r->confidence,
           r->complexity ? r->complexity : "-", tc_source_name(r->source));
    if (it->id) {
        printf("[%s] ", it->id);
    }
    print_clipped(it->text, it->len, 60);
    putchar('\n');
}

static void print_result(job *j, const item *it, const tc_result *r)
{
    if (j->fmt == CLI_FORMAT_TABLE) {
        print_row(j, it, r);
    } else if (it->id && r->json[0] == '{' && r->json[1] != '}') {
        /* the id first, spliced in: no second parse of the result */
        printf("{\"id\":%s,%s\n", it->id, r->json + 1);
    } else {
        puts(r->json);
    }
}

/* ---- batches ------------------------------------------------------------ */

static void items_free(job *j)
{
    size_t i;

    for (i = 0; i < j->n; i++) {
        free(j->batch[i].text);
        free(j->batch[i].id);
        memset(&j->batch[i], 0, sizeof(j->batch[i]));
    }
    j->n = 0;
}

/* Classifies the batch, prints its results in input order, empties it. */
static void flush(job *j)
{
    char why[512];
    size_t i, k, nsent = 0;
    int rc;

    if (j->n == 0 || j->fatal) {
        items_free(j);
        return;
    }
    for (i = 0; i < j->n; i++) {
        if (j->batch[i].text) {
            j->b.texts[nsent] = j->batch[i].text;
            j->b.lens[nsent] = j->batch[i].len;
            j->b.at[i] = nsent++;
        }
    }
    if (j->backend) {
        exec_backend_forget(j->backend);
    }
    rc = tc_classify_batch(j->b.res, j->b.status, j->c, j->b.texts, j->b.lens,
                           nsent);
    if (rc != TC_OK) {
        j->fatal = cli_fail(j->h, rc, "classify");
        if (j->fatal == CLI_OK || j->fatal == CLI_BADINPUT) {
            j->fatal = CLI_FAIL;
        }
        items_free(j);
        return;
    }
    for (i = 0; i < j->n; i++) {
        const item *it = &j->batch[i];

        if (!it->text) {
            reject(j, it->where, it->error);
            continue;
        }
        k = j->b.at[i];
        switch (j->b.status[k]) {
        case TC_OK:
            print_result(j, it, j->b.res[k]);
            break;
        case TC_EINVAL:
            reject(j, it->where, invalid_reason(it));
            break;
        case TC_ELOADER:
            loader_reason(j, it, why, sizeof(why));
            reject(j, it->where, why);
            break;
        default:
            /* out of memory: not the text's fault, and not going away */
            snprintf(why, sizeof(why), "%s", tc_strerror(j->b.status[k]));
            reject(j, it->where, why);
            j->fatal = CLI_FAIL;
            break;
        }
        tc_result_free(j->b.res[k]);
        j->b.res[k] = NULL;
    }
    items_free(j);
    /*
     * Each batch goes out at once: a program reading our answers line by
     * line must not wait for a buffer to fill. A reader that went away
     * (EPIPE; SIGPIPE may be ignored) ends the run; main() reports it.
     */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        j->fatal = CLI_FAIL;
    }
}

/*
 * Takes text (len bytes, copied) and id (owned) into the batch; a NULL
 * text is a bad line and `error` says why.
 */
static void add(job *j, const char *text, size_t len, char *id, long where,
                const char *error)
{
    item *it = &j->batch[j->n];

    if (text && !(it->text = malloc(len + 1))) {
        free(id);
        cli_err("classify: out of memory");
        j->fatal = CLI_FAIL;
        return;
    }
    if (text) {
        memcpy(it->text, text, len);
        it->text[len] = '\0';
    }
    it->len = len;
    it->id = id;
    it->where = where;
    it->error = error;
    if (++j->n == j->max) {
        flush(j);
    }
}

/* A JSON line: {"text": ..., "id": ...}. */
static void add_json(job *j, const char *line, size_t len, long where)
{
    cJSON *root = cJSON_ParseWithLength(line, len), *text, *id;
    char *idtext = NULL;

    if (!root || !cJSON_IsObject(root)) {
        add(j, NULL, 0, NULL, where,
            root ? "not a JSON object"
                 : "a line starting with { is not valid JSON");
        cJSON_Delete(root);
        return;
    }
    text = cJSON_GetObjectItemCaseSensitive(root, "text");
    id = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (!cJSON_IsString(text)) {
        add(j, NULL, 0, NULL, where, "\"text\": missing or not a string");
        cJSON_Delete(root);
        return;
    }
    if (id) {
        /* copied: items own plain malloc'd strings, whatever cJSON uses */
        char *printed = cJSON_PrintUnformatted(id);

        idtext = printed ? strdup(printed) : NULL;
        cJSON_free(printed);
        if (!idtext) {
            cli_err("classify: out of memory");
            j->fatal = CLI_FAIL;
            cJSON_Delete(root);
            return;
        }
    }
    add(j, text->valuestring, strlen(text->valuestring), idtext, where, NULL);
    cJSON_Delete(root);
}

static void add_line(job *j, char *line, size_t len, long where)
{
    size_t json = cli_line_json(line, &len);

    if (json < len) {
        add_json(j, line + json, len - json, where);
    } else {
        add(j, line, len, NULL, where, NULL);
    }
}

/* ---- stdin -------------------------------------------------------------- */

/* Lines of fd 0, read with read(2) so that we can tell whether more input
 * is already waiting (stdio would hide that). */
typedef struct reader {
    char *buf;
    size_t off, len, cap;
    int eof;
    int skipping; /* inside a line longer than MAX_LINE */
} reader;

/* Whether a whole line (or the last, unterminated one) is buffered. */
static int reader_buffered(const reader *r)
{
    return memchr(r->buf + r->off, '\n', r->len - r->off) != NULL ||
           (r->eof && r->off < r->len);
}

static int input_waiting(void)
{
    struct pollfd p = {STDIN_FILENO, POLLIN, 0};

    return poll(&p, 1, 0) != 0;
}

/*
 * The next line, NUL-terminated and without its newline, valid until the
 * next call. Returns 1, 0 at the end, -1 on a read error. *toolong says
 * the line was over MAX_LINE (its text is then not given).
 */
static int reader_line(reader *r, char **line, size_t *len, int *toolong)
{
    char *nl;
    ssize_t got;

    *toolong = 0;
    for (;;) {
        nl = memchr(r->buf + r->off, '\n', r->len - r->off);
        if (nl || (r->eof && r->off < r->len)) {
            size_t end = nl ? (size_t)(nl - r->buf) : r->len;

            *line = r->buf + r->off;
            *len = end - r->off;
            r->buf[end] = '\0';
            r->off = nl ? end + 1 : end;
            if (r->skipping) {
                r->skipping = 0;
                *toolong = 1;
            }
            return 1;
        }
        if (r->eof) {
            if (r->skipping) {
                r->skipping = 0;
                *toolong = 1;
                *line = r->buf;
                *len = 0;
                return 1;
            }
            return 0;
        }
        if (r->len - r->off >= MAX_LINE) {
            /* too long: keep reading to its end, keeping nothing */
            r->skipping = 1;
            r->off = r->len;
        }
        memmove(r->buf, r->buf + r->off, r->len - r->off);
        r->len -= r->off;
        r->off = 0;
        if (r->cap - r->len < 65536 + 1) {
            size_t cap = r->len + 65536 + 1 > r->cap * 2 ? r->len + 65536 + 1
                                                         : r->cap * 2;
            char *nb = realloc(r->buf, cap);

            if (!nb) {
                errno = ENOMEM;
                return -1;
            }
            r->buf = nb;
            r->cap = cap;
        }
        got = read(STDIN_FILENO, r->buf + r->len, r->cap - r->len - 1);
        if (got > 0) {
            r->len += (size_t)got;
        } else if (got == 0) {
            r->eof = 1;
        } else if (errno != EINTR) {
            return -1;
        }
    }
}

static void classify_stdin(job *j)
{
    reader r = {0};
    char *line;
    size_t len;
    long lineno = 0;
    int toolong, got;

    if (!(r.buf = malloc(65536 + 1))) {
        cli_err("classify: out of memory");
        j->fatal = CLI_FAIL;
        return;
    }
    r.cap = 65536 + 1;
    while (!j->fatal) {
        /* nothing more to read right now: answer what we have */
        if (j->n > 0 && !reader_buffered(&r) && !input_waiting()) {
            flush(j);
            continue;
        }
        got = reader_line(&r, &line, &len, &toolong);
        if (got == 0) {
            break;
        }
        if (got < 0) {
            cli_err("classify: reading stdin: %s", strerror(errno));
            j->fatal = CLI_FAIL;
            break;
        }
        lineno++;
        if (toolong) {
            add(j, NULL, 0, NULL, lineno, "line longer than 1 MiB");
        } else {
            add_line(j, line, len, lineno);
        }
    }
    flush(j);
    free(r.buf);
}

/* ---- the classifier ----------------------------------------------------- */

typedef struct opts {
    cli_answerer a; /* --model or --backend and its two, --top-k, --batch */
    const char *candidate; /* a model file, or exec:COMMAND */
    double split;          /* < 0: not given */
    double shadow_rate;
    double threshold;
    cli_format fmt;
} opts;

enum { OPT_FORMAT = 256, OPT_CANDIDATE, OPT_SPLIT, OPT_SHADOW_RATE };

static int parse_options(cli_ctx *ctx, int argc, char **argv, opts *o)
{
    static const struct option longs[] = {
        CLI_ANSWERER_LONGS_ALL,
        {"threshold", required_argument, NULL, 't'},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"candidate", required_argument, NULL, OPT_CANDIDATE},
        {"split", required_argument, NULL, OPT_SPLIT},
        {"shadow-rate", required_argument, NULL, OPT_SHADOW_RATE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt, rc;

    while ((opt = cli_getopt(ctx, argc, argv, "m:k:t:h", longs)) != -1) {
        switch (opt) {
        case 't':
            if ((rc = cli_opt_share(ctx, "--threshold", optarg,
                                    &o->threshold)) != CLI_OK) {
                return rc;
            }
            break;
        case OPT_FORMAT:
            if ((rc = cli_parse_format(ctx, optarg, &o->fmt)) != CLI_OK) {
                return rc;
            }
            break;
        case OPT_CANDIDATE:
            if (!*optarg) {
                return cli_usage(ctx, "--candidate: a model file or "
                                      "exec:COMMAND, please");
            }
            o->candidate = optarg;
            break;
        case OPT_SPLIT:
            if ((rc = cli_opt_share(ctx, "--split", optarg, &o->split)) !=
                CLI_OK) {
                return rc;
            }
            break;
        case OPT_SHADOW_RATE:
            if ((rc = cli_opt_share(ctx, "--shadow-rate", optarg,
                                    &o->shadow_rate)) != CLI_OK) {
                return rc;
            }
            break;
        default:
            if ((rc = cli_answerer_option(ctx, opt, &o->a)) != CLI_OK) {
                return rc;
            }
            break;
        }
    }
    if (o->split >= 0 && !o->candidate) {
        return cli_usage(ctx, "--split goes with --candidate");
    }
    return cli_answerer_check(ctx, &o->a);
}

static int job_alloc(job *j, size_t max)
{
    j->max = max;
    j->batch = calloc(max, sizeof(*j->batch));
    return cli_batch_alloc(&j->b, max) == 0 && j->batch ? 0 : -1;
}

static void job_free(job *j)
{
    items_free(j);
    free(j->batch);
    cli_batch_free(&j->b);
}

int cli_cmd_classify(cli_ctx *ctx, int argc, char **argv)
{
    opts o = {{0}, NULL, -1, 0, 0, CLI_FORMAT_JSON};
    tc_classifier_options co;
    candidate cand = {NULL, NULL, ""};
    job j;
    int rc, i;

    memset(&j, 0, sizeof(j));
    cli_answerer_init(&o.a, DEFAULT_BATCH);
    if ((rc = parse_options(ctx, argc, argv, &o)) != CLI_OK) {
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    }
    if (job_alloc(&j, o.a.batch) != 0) {
        job_free(&j);
        cli_err("classify: out of memory");
        return CLI_FAIL;
    }
    if ((rc = cli_open(ctx, &j.h)) != CLI_OK) {
        job_free(&j);
        return rc;
    }
    tc_classifier_options_init(&co);
    co.threshold = o.threshold;
    co.shadow_rate = o.shadow_rate;
    if ((rc = cli_answerer_open(&o.a, j.h, "classify", &co)) != CLI_OK) {
        goto done;
    }
    j.backend = o.a.be;
    if (o.candidate && (rc = candidate_open(
                            &cand, &co, o.candidate, o.a.timeout_ms,
                            o.split < 0 ? DEFAULT_SPLIT : o.split)) != CLI_OK) {
        goto done;
    }
    if ((rc = tc_classifier_open(&j.c, j.h, &co)) != TC_OK) {
        rc = cli_fail(j.h, rc, "classify");
        goto done;
    }
    j.fmt = o.fmt;
    if (optind < argc) {
        j.origin = "argument";
        for (i = optind; i < argc && !j.fatal; i++) {
            add(&j, argv[i], strlen(argv[i]), NULL, i - optind + 1, NULL);
        }
        flush(&j);
    } else {
        j.origin = "stdin";
        classify_stdin(&j);
    }
    rc = j.fatal ? j.fatal : j.rejected ? CLI_BADINPUT : CLI_OK;
done:
    job_free(&j);
    tc_classifier_close(j.c);
    cli_answerer_close(&o.a);
    /* the candidate's child too */
    exec_backend_close(cand.backend);
    tc_model_free(cand.model);
    tc_cache_close(j.h);
    return rc;
}
