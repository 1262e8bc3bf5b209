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
 * round trip and the answers it computed are stored in one more; the
 * source of each answer says whether it was computed (the model ran and
 * the answer was stored) or already cached.
 *
 * With --popular N the texts are the N most requested ones of the
 * store's popularity table (track_popular, tc_popular_top) instead of a
 * file, so that a new model's cache is filled before traffic moves to it.
 * Warming never counts as a request: its classifier is uncounted.
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

#include "answerer.h"
#include "batch.h"
#include "cli.h"
#include "exec_backend.h"
#include "feedback_common.h"

#define DEFAULT_BATCH 256
/* --popular's bound: the largest popularity table (popular_size). */
#define MAX_POPULAR 1000000

/* A line longer than this is not a question; it is rejected whole. */
#define MAX_LINE ((size_t)1 << 20)

const char cli_help_warm[] =
    "Usage: tutorcache warm [options] [FILE|-]\n"
    "       tutorcache warm --popular N [options]\n"
    "\n"
    "Classify every text of FILE (- or none: stdin) through the cache, so\n"
    "that their answers are cached before users ask. A line is a text, or\n"
    "a JSON object {\"text\": ..., \"count\": N} (count, optional, a whole\n"
    "number >= 1, how often the text is asked: checked, and otherwise\n"
    "ignored, since one classification caches a text however often it is\n"
    "asked).\n"
    "Texts are keyed as classify keys them (normalized text, the model's\n"
    "fingerprint and --top-k), so warm with the model and --top-k that\n"
    "classify will use. Texts whose normalized forms are equal are\n"
    "classified once. The distinct texts go to the store in batches: a\n"
    "batch's lookups share one round trip, and the answers it computed are\n"
    "stored in one more.\n"
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
    "--popular N warms the N most requested texts instead of a FILE: those\n"
    "the store's popularity table counted (track_popular on where traffic\n"
    "is classified; see tutorcache(1), cache warming), most first, so that\n"
    "after a model change the new model's answers are cached before\n"
    "traffic moves to it. texts then counts the texts the table gave.\n"
    "With track_popular off the run stops with exit 2 and says so. Warming\n"
    "itself is never counted as a request.\n"
    "\n"
    "Options:\n"
    "  -m, --model MODEL        the model file; default: TUTORCACHE_MODEL,\n"
    "                           then the config file's \"model\"\n"
    "  --backend exec:COMMAND   warm the answers of COMMAND instead (as\n"
    "                           classify --backend; same cache keys)\n"
    "  --backend-version V      COMMAND's version, part of the key (default:\n"
    "                           exec:COMMAND); as classify uses it\n"
    "  --backend-timeout SEC    how long one answer may take (default 5)\n"
    "  --popular N              the N (1-1000000) most requested texts\n"
    "  -k, --top-k K            labels in \"top\" (1-100, default 3), part\n"
    "                           of the key\n"
    "  --batch N                distinct texts per store round trip\n"
    "                           (1-10000, default 256)\n"
    "  -h, --help               show this help\n"
    "\n"
    "Examples:\n"
    "  tutorcache warm --model intents.tcm questions.txt\n"
    "  tutorcache warm --popular 1000 --model new.tcm\n"
    "\n"
    "Exit codes:\n"
    "  0  ok: every line was warmed\n"
    "  2  usage (also a FILE that cannot be opened, a missing model, or\n"
    "     --popular with track_popular off)\n"
    "  3  store unreachable or TLS refused\n"
    "  4  bad input: some lines were rejected, or a damaged model file\n"
    "  5  other, including a failed read of FILE or write to stdout\n";

/* The run: the batch waiting for the store and the counts so far. */
typedef struct warm {
    tc_cache *h;
    tc_classifier *c;
    exec_backend *backend; /* the answerer's, borrowed; NULL for a model */
    const char *name;      /* FILE, "stdin" or "popular", in diagnostics */
    cli_batch b;           /* texts normalized, owned; b.at: each one's line */
    size_t n;              /* texts in the batch */
    cli_idset seen;        /* normalized texts already in a batch */
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
    pos = w->size > 0 && w->in ? ftell(w->in) : -1;
    if (pos >= 0) {
        fprintf(stderr, "\rtutorcache: warm: %llu lines, %3.0f%%\033[K",
                (unsigned long long)w->lines, 100.0 * (double)pos / w->size);
    } else {
        fprintf(stderr, "\rtutorcache: warm: %llu lines\033[K",
                (unsigned long long)w->lines);
    }
    fflush(stderr);
}

/* Why text i of the batch failed: the backend's reason when it has one. */
static void failed(warm *w, size_t i)
{
    char why[512];

    why[0] = '\0';
    if (w->b.status[i] == TC_ELOADER && w->backend) {
        /* the backend was given the normalized text, which we hold */
        exec_backend_error(w->backend, w->b.texts[i], w->b.lens[i], why,
                           sizeof(why));
    }
    reject(w, (long)w->b.at[i],
           why[0]                         ? why
           : w->b.status[i] == TC_ELOADER ? "the classifier failed"
                                          : tc_strerror(w->b.status[i]));
    if (w->b.status[i] != TC_EINVAL && w->b.status[i] != TC_ELOADER) {
        w->fatal = CLI_FAIL; /* out of memory: not the text's fault */
    }
}

/* Classifies the batch, counts where each answer came from, empties it. */
static void flush(warm *w)
{
    size_t i;
    int rc;

    if (w->n == 0) {
        return;
    }
    if (w->backend) {
        exec_backend_forget(w->backend);
    }
    rc = tc_classify_batch(w->b.res, w->b.status, w->c, w->b.texts, w->b.lens,
                           w->n);
    if (rc != TC_OK) {
        w->fatal = cli_fail(w->h, rc, "warm");
        if (w->fatal == CLI_OK || w->fatal == CLI_BADINPUT) {
            w->fatal = CLI_FAIL;
        }
    }
    for (i = 0; i < w->n; i++) {
        if (rc != TC_OK) {
            /* nothing was attempted */
        } else if (w->b.status[i] == TC_OK) {
            if (w->b.res[i]->source == TC_SOURCE_MODEL) {
                w->computed++;
            } else {
                w->cached++;
            }
        } else {
            failed(w, i);
        }
        tc_result_free(w->b.res[i]);
        w->b.res[i] = NULL;
        free((char *)w->b.texts[i]);
        w->b.texts[i] = NULL;
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
               memchr(text, '\0', len) ? "a NUL character" : "not valid UTF-8");
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
        w->b.texts[w->n] = strdup(norm);
        if (!w->b.texts[w->n]) {
            cli_err("warm: out of memory");
            w->fatal = CLI_FAIL;
        } else {
            w->b.lens[w->n] = nlen;
            w->b.at[w->n] = (size_t)where;
            if (++w->n == w->b.max) {
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
    } else if (!cJSON_IsString(
                   text = cJSON_GetObjectItemCaseSensitive(root, "text"))) {
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

/* ---- --popular ----------------------------------------------------------- */

/* The n most requested texts of the store, each a "line" (its rank). */
static void read_popular(warm *w, size_t n)
{
    char **texts = NULL;
    uint64_t *counts = NULL;
    size_t got = 0, i;
    int rc;

    /* the store's table, as the counting processes last sent it */
    rc = tc_popular_top(&texts, &counts, &got, w->h, n);
    if (rc != TC_OK) {
        w->fatal = cli_fail(w->h, rc, "warm --popular");
        if (w->fatal == CLI_OK || w->fatal == CLI_BADINPUT) {
            w->fatal = CLI_FAIL;
        }
        return;
    }
    for (i = 0; i < got && !w->fatal; i++) {
        w->lines++;
        add(w, texts[i], strlen(texts[i]), (long)(i + 1));
    }
    tc_popular_free(texts, counts, got);
    if (!w->fatal) {
        flush(w);
    }
}

/* ---- the command --------------------------------------------------------- */

typedef struct opts {
    cli_answerer a; /* --model or --backend and its two, --top-k, --batch */
    size_t popular; /* 0: not asked */
} opts;

enum { OPT_POPULAR = 256 };

static int parse_options(cli_ctx *ctx, int argc, char **argv, opts *o)
{
    static const struct option longs[] = {
        CLI_ANSWERER_LONGS_ALL,
        {"popular", required_argument, NULL, OPT_POPULAR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    long long v;
    int opt, rc;

    while ((opt = cli_getopt(ctx, argc, argv, "m:k:h", longs)) != -1) {
        switch (opt) {
        case OPT_POPULAR:
            if (cli_parse_int(optarg, 1, MAX_POPULAR, &v) != 0) {
                return cli_usage(ctx,
                                 "--popular: \"%s\" is not a number of "
                                 "texts in 1-%d",
                                 optarg, MAX_POPULAR);
            }
            o->popular = (size_t)v;
            break;
        default:
            if ((rc = cli_answerer_option(ctx, opt, &o->a)) != CLI_OK) {
                return rc;
            }
            break;
        }
    }
    if (argc - optind > 1) {
        return cli_usage(ctx, "one FILE at a time, got %d", argc - optind);
    }
    if (o->popular && argc - optind > 0) {
        return cli_usage(ctx, "--popular or a FILE, not both");
    }
    return cli_answerer_check(ctx, &o->a);
}

static void warm_free(warm *w)
{
    size_t i;

    for (i = 0; w->b.texts && i < w->n; i++) {
        free((char *)w->b.texts[i]);
    }
    cli_batch_free(&w->b);
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
    opts o = {{0}, 0};
    tc_classifier_options co;
    const char *path = NULL;
    struct stat st;
    double start;
    warm w;
    int rc;

    memset(&w, 0, sizeof(w));
    cli_answerer_init(&o.a, DEFAULT_BATCH);
    if ((rc = parse_options(ctx, argc, argv, &o)) != CLI_OK) {
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    }
    start = now_seconds();
    if (optind < argc) {
        path = argv[optind];
    }
    w.name = o.popular                        ? "popular"
             : path && strcmp(path, "-") != 0 ? path
                                              : "stdin";
    if (!o.popular && (rc = cli_open_input(path, &w.in)) != CLI_OK) {
        return rc;
    }
    if (w.in && fstat(fileno(w.in), &st) == 0 && S_ISREG(st.st_mode)) {
        w.size = st.st_size;
    }
    w.progress = isatty(STDERR_FILENO);
    if (cli_batch_alloc(&w.b, o.a.batch) != 0) {
        cli_err("warm: out of memory");
        rc = CLI_FAIL;
        goto done;
    }
    if ((rc = cli_open(ctx, &w.h)) != CLI_OK) {
        goto done;
    }
    tc_classifier_options_init(&co);
    co.uncounted = 1; /* warming asks; it does not make texts popular */
    if ((rc = cli_answerer_open(&o.a, w.h, "warm", &co)) != CLI_OK) {
        goto done;
    }
    w.backend = o.a.be;
    if ((rc = tc_classifier_open(&w.c, w.h, &co)) != TC_OK) {
        rc = cli_fail(w.h, rc, "warm");
        goto done;
    }
    if (o.popular) {
        read_popular(&w, o.popular);
    } else {
        read_input(&w);
    }
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
    cli_answerer_close(&o.a);
    tc_cache_close(w.h);
    if (w.in && w.in != stdin) {
        fclose(w.in);
    }
    return rc;
}
