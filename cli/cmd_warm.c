/*
 * cmd_warm.c - `tutorcache warm [FILE|-]`: fills the cache with the
 * answers to a file of texts (one per line, or JSON Lines with "text" and
 * an optional "count"), so that the first users after a deploy or a model
 * change get cached answers.
 *
 * Each text is normalized first, as classification keys it, and a text
 * whose normalized form was seen before in the run is skipped: four
 * identical lines run the model once. The distinct texts go to
 * tc_classify_batch in batches, so the L2 lookups of a batch share one
 * round trip; the source of each answer says whether it was computed
 * (the model ran and the answer was stored) or already cached.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "feedback_common.h"

#define DEFAULT_BATCH 256
#define MAX_BATCH 10000

/* A line longer than this is not a question; it is rejected whole. */
#define MAX_LINE ((size_t)1 << 20)

const char cli_help_warm[] =
    "Usage: tutorcache warm [options] [FILE|-]\n"
    "\n"
    "Classify every text of FILE (- or none: stdin) through the cache, so\n"
    "that their answers are cached before users ask. A line is a text, or\n"
    "a JSON object {\"text\": ..., \"count\": N} (count, optional, a whole\n"
    "number >= 1, how often the text is asked; it is checked, not yet "
    "used).\n"
    "Texts are keyed as classify keys them (normalized text, the model's\n"
    "fingerprint and --top-k), so warm with the model and --top-k that\n"
    "classify will use. Texts whose normalized forms are equal are\n"
    "classified once. The distinct texts go to the store in batches, their\n"
    "lookups in one round trip per batch.\n"
    "\n"
    "The last line of stdout is one JSON object:\n"
    "  {\"texts\":N,\"computed\":C,\"already_cached\":A,\"rejected\":R,\n"
    "   \"seconds\":S}\n"
    "texts counts the lines read; computed the distinct texts the model\n"
    "answered (and whose answers were stored), already_cached the distinct\n"
    "texts the cache (or a user's correction) answered; rejected the bad\n"
    "lines. A bad line (not UTF-8, empty, a JSON object without a string\n"
    "\"text\" or with a bad \"count\", over 1 MiB) is reported on stderr as\n"
    "'tutorcache: FILE:LINE: reason' (stdin for stdin); the other lines are\n"
    "warmed all the same and the exit code is then 4. Progress goes to\n"
    "stderr when stderr is a terminal.\n"
    "\n"
    "Options:\n"
    "  -m, --model MODEL   the model file; default: TUTORCACHE_MODEL, then\n"
    "                      the config file's \"model\"\n"
    "  -k, --top-k K       labels in \"top\" (1-100, default 3), part of the\n"
    "                      key\n"
    "  --batch N           distinct texts per store round trip (1-10000,\n"
    "                      default 256)\n"
    "  -h, --help          show this help\n"
    "\n"
    "Example:\n"
    "  tutorcache warm --model intents.tcm questions.txt\n"
    "\n"
    "Exit codes:\n"
    "  0  ok: every line was warmed\n"
    "  2  usage (also a FILE that cannot be opened, or a missing model)\n"
    "  3  store unreachable or TLS refused\n"
    "  4  bad input: some lines were rejected, or a damaged model file\n"
    "  5  other, including a failed read of FILE or write to stdout\n";

/* The run: the batch waiting for the store and the counts so far. */
typedef struct warm {
    tc_cache *h;
    tc_classifier *c;
    const char *name; /* FILE, or "stdin", in diagnostics */
    size_t max;       /* batch size */
    size_t n;         /* texts in the batch */
    char **texts;     /* normalized, owned */
    size_t *lens;
    long *where; /* each text's line */
    tc_result **res;
    int *status;
    cli_idset seen; /* normalized texts already in a batch */
    uint64_t lines, computed, cached, rejected;
    off_t size; /* of a regular FILE, for progress; 0 otherwise */
    FILE *in;
    int progress; /* stderr is a terminal */
    int fatal;    /* exit code that ends the run, 0 while none */
} warm;

static void reject(warm *w, long line, const char *why)
{
    fprintf(stderr, "tutorcache: %s:%ld: %s\n", w->name, line, why);
    w->rejected++;
}

static void show_progress(warm *w)
{
    long pos;

    if (!w->progress) {
        return;
    }
    pos = w->size > 0 ? ftell(w->in) : -1;
    if (pos >= 0) {
        fprintf(stderr, "\rtutorcache: warm: %llu lines, %3.0f%%\033[K",
                (unsigned long long)w->lines, 100.0 * (double)pos / w->size);
    } else {
        fprintf(stderr, "\rtutorcache: warm: %llu lines\033[K",
                (unsigned long long)w->lines);
    }
    fflush(stderr);
}

/* Classifies the batch, counts where each answer came from, empties it. */
static void flush(warm *w)
{
    size_t i;
    int rc;

    if (w->n == 0) {
        return;
    }
    rc = tc_classify_batch(w->res, w->status, w->c,
                           (const char *const *)w->texts, w->lens, w->n);
    if (rc != TC_OK) {
        w->fatal = cli_fail(w->h, rc, "warm");
        if (w->fatal == CLI_OK || w->fatal == CLI_BADINPUT) {
            w->fatal = CLI_FAIL;
        }
    }
    for (i = 0; i < w->n; i++) {
        if (rc != TC_OK) {
            /* nothing was attempted */
        } else if (w->status[i] == TC_OK) {
            if (w->res[i]->source == TC_SOURCE_MODEL) {
                w->computed++;
            } else {
                w->cached++;
            }
        } else if (w->status[i] == TC_EINVAL) {
            reject(w, w->where[i], tc_strerror(w->status[i]));
        } else {
            reject(w, w->where[i], tc_strerror(w->status[i]));
            w->fatal = CLI_FAIL;
        }
        tc_result_free(w->res[i]);
        w->res[i] = NULL;
        free(w->texts[i]);
        w->texts[i] = NULL;
    }
    w->n = 0;
    show_progress(w);
}

/* Takes a text (len bytes) of line `where` into the batch, unless its
 * normalized form was seen before; a bad text is rejected. */
static void add(warm *w, const char *text, size_t len, long where)
{
    char *norm = NULL;
    size_t nlen = 0;
    int rc = tc_text_normalize(&norm, &nlen, text, len);

    if (rc == TC_EINVAL) {
        reject(w, where,
               memchr(text, '\0', len) ? "a NUL character"
                                       : "not valid UTF-8");
        return;
    }
    if (rc != TC_OK || (rc = cli_idset_add(&w->seen, norm)) < 0) {
        tc_free(norm);
        cli_err("warm: out of memory");
        w->fatal = CLI_FAIL;
        return;
    }
    if (nlen == 0) {
        reject(w, where, "empty text");
    } else if (rc == 1) {
        w->texts[w->n] = strdup(norm);
        if (!w->texts[w->n]) {
            cli_err("warm: out of memory");
            w->fatal = CLI_FAIL;
        } else {
            w->lens[w->n] = nlen;
            w->where[w->n] = where;
            if (++w->n == w->max) {
                flush(w);
            }
        }
    }
    tc_free(norm);
}

/* A JSON line: {"text": ..., "count": N}. */
static void add_json(warm *w, const char *line, size_t len, long where)
{
    cJSON *root = cJSON_ParseWithLength(line, len), *text, *count;

    if (!root || !cJSON_IsObject(root)) {
        reject(w, where,
               root ? "not a JSON object"
                    : "a line starting with { is not valid JSON");
    } else if (!cJSON_IsString(text = cJSON_GetObjectItemCaseSensitive(
                                   root, "text"))) {
        reject(w, where, "\"text\": missing or not a string");
    } else if ((count = cJSON_GetObjectItemCaseSensitive(root, "count")) &&
               (!cJSON_IsNumber(count) || count->valuedouble < 1 ||
                count->valuedouble > 1e15 ||
                floor(count->valuedouble) != count->valuedouble)) {
        reject(w, where, "\"count\": not a whole number >= 1");
    } else {
        add(w, text->valuestring, strlen(text->valuestring), where);
    }
    cJSON_Delete(root);
}

static void add_line(warm *w, const char *line, size_t len, long where)
{
    size_t json = cli_line_json(line, &len);

    if (json < len) {
        add_json(w, line + json, len - json, where);
    } else {
        add(w, line, len, where);
    }
}

static void read_input(warm *w)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;

    while (!w->fatal && (got = getline(&line, &cap, w->in)) >= 0) {
        size_t len = (size_t)got;

        w->lines++;
        if (len > 0 && line[len - 1] == '\n') {
            len--;
        }
        if (len > MAX_LINE) {
            reject(w, (long)w->lines, "line longer than 1 MiB");
        } else {
            add_line(w, line, len, (long)w->lines);
        }
    }
    free(line);
    if (!w->fatal && ferror(w->in)) {
        cli_err("warm: reading %s: %s", w->name, strerror(errno));
        w->fatal = CLI_FAIL;
    }
    if (!w->fatal) {
        flush(w);
    }
}

/* ---- the command --------------------------------------------------------- */

typedef struct opts {
    const char *model;
    int top_k;
    size_t batch;
} opts;

enum { OPT_BATCH = 256 };

static int parse_options(cli_ctx *ctx, int argc, char **argv, opts *o)
{
    static const struct option longs[] = {
        {"model", required_argument, NULL, 'm'},
        {"top-k", required_argument, NULL, 'k'},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    long long v;
    int opt;

    while ((opt = cli_getopt(ctx, argc, argv, "m:k:h", longs)) != -1) {
        switch (opt) {
        case 'm':
            o->model = optarg;
            break;
        case 'k':
            if (cli_parse_int(optarg, 1, 100, &v) != 0) {
                return cli_usage(ctx, "--top-k: \"%s\" is not in 1-100",
                                 optarg);
            }
            o->top_k = (int)v;
            break;
        case OPT_BATCH:
            if (cli_parse_int(optarg, 1, MAX_BATCH, &v) != 0) {
                return cli_usage(ctx, "--batch: \"%s\" is not in 1-%d", optarg,
                                 MAX_BATCH);
            }
            o->batch = (size_t)v;
            break;
        default:
            return cli_opt_default(ctx, opt);
        }
    }
    if (argc - optind > 1) {
        return cli_usage(ctx, "one FILE at a time, got %d", argc - optind);
    }
    return CLI_OK;
}

static int warm_alloc(warm *w, size_t max)
{
    w->max = max;
    w->texts = calloc(max, sizeof(*w->texts));
    w->lens = calloc(max, sizeof(*w->lens));
    w->where = calloc(max, sizeof(*w->where));
    w->res = calloc(max, sizeof(*w->res));
    w->status = calloc(max, sizeof(*w->status));
    return w->texts && w->lens && w->where && w->res && w->status ? 0 : -1;
}

static void warm_free(warm *w)
{
    size_t i;

    for (i = 0; w->texts && i < w->n; i++) {
        free(w->texts[i]);
    }
    free(w->texts);
    free(w->lens);
    free(w->where);
    free(w->res);
    free(w->status);
    cli_idset_free(&w->seen);
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cli_cmd_warm(cli_ctx *ctx, int argc, char **argv)
{
    opts o = {NULL, 0, DEFAULT_BATCH};
    tc_classifier_options co;
    const char *path = NULL;
    char *model_path = NULL;
    tc_model *m = NULL;
    struct stat st;
    double start;
    warm w;
    int rc;

    memset(&w, 0, sizeof(w));
    if ((rc = parse_options(ctx, argc, argv, &o)) != CLI_OK) {
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    }
    start = now_seconds();
    if (optind < argc) {
        path = argv[optind];
    }
    w.name = path && strcmp(path, "-") != 0 ? path : "stdin";
    if ((rc = cli_open_input(path, &w.in)) != CLI_OK) {
        return rc;
    }
    if (fstat(fileno(w.in), &st) == 0 && S_ISREG(st.st_mode)) {
        w.size = st.st_size;
    }
    w.progress = isatty(STDERR_FILENO);
    if (warm_alloc(&w, o.batch) != 0) {
        cli_err("warm: out of memory");
        rc = CLI_FAIL;
        goto done;
    }
    if ((rc = cli_open(ctx, &w.h)) != CLI_OK ||
        (rc = cli_model_path(w.h, o.model, "warm", NULL, &model_path)) !=
            CLI_OK ||
        (rc = cli_model_load(model_path, &m)) != CLI_OK) {
        goto done;
    }
    tc_classifier_options_init(&co);
    co.model = m;
    co.top_k = o.top_k;
    if ((rc = tc_classifier_open(&w.c, w.h, &co)) != TC_OK) {
        rc = cli_fail(w.h, rc, "warm");
        goto done;
    }
    read_input(&w);
    if (w.progress && w.lines > 0) {
        fputc('\n', stderr); /* leave the progress line behind */
    }
    if (w.fatal) {
        rc = w.fatal;
        goto done;
    }
    printf("{\"texts\":%llu,\"computed\":%llu,\"already_cached\":%llu,"
           "\"rejected\":%llu,\"seconds\":%.3f}\n",
           (unsigned long long)w.lines, (unsigned long long)w.computed,
           (unsigned long long)w.cached, (unsigned long long)w.rejected,
           now_seconds() - start);
    rc = w.rejected > 0 ? CLI_BADINPUT : CLI_OK;
done:
    warm_free(&w);
    tc_classifier_close(w.c);
    tc_model_free(m);
    free(model_path);
    tc_cache_close(w.h);
    if (w.in && w.in != stdin) {
        fclose(w.in);
    }
    return rc;
}
