/*
 * cmd_feedback_io.c - the bulk feedback subcommands: `feedback import`
 * (a file of records in, rejected lines on stderr, a summary line out)
 * and `feedback export` (every stored record out, or the retraining
 * queue's records for a consumer, acknowledged only once written), and the
 * set of ids that keeps a consumer from printing a record twice.
 *
 * The rule of export --ack is that a record leaves the queue only after
 * it was handed to stdout's reader: each batch is written and flushed,
 * and acknowledged only when the flush succeeded, so a full disk or a
 * closed pipe leaves the records in the queue for the next consumer.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_feedback_io.h"
#include "feedback_common.h"

/* Records per consume call: one store transaction each, a few MB at most
 * (a record is at most ~20 KB). */
#define CONSUME_BATCH 256

/* Rejected lines the library lists (tc_import_report.rejections). */
#define LISTED_REJECTIONS 1000

const char cli_help_feedback_import[] =
    "Usage: tutorcache feedback import [--format jsonl|csv] [--dry-run] "
    "[FILE|-]\n"
    "\n"
    "Submit every record of FILE (- or none: stdin), as JSON Lines (one\n"
    "object per line, the fields of 'feedback submit -') or as CSV with a\n"
    "header row naming the same fields (correct_techniques as a|b|c). The\n"
    "format is detected from the first line unless given. Each rejected\n"
    "line is reported on stderr as 'tutorcache: FILE:LINE: reason' (the\n"
    "first 1000; then how many more), and the other lines are imported all\n"
    "the same. Prints one line:\n"
    "  {\"accepted\":N,\"rejected\":M,\"spooled\":K,\"duplicates\":D,\n"
    "   \"dry_run\":false}\n"
    "where spooled counts the accepted records that wait in the local spool\n"
    "because the store could not be reached, and duplicates the valid records\n"
    "the store held already, which are not stored again. A record's id is its\n"
    "\"id\" field or column, else a hash of its fields (the timestamp only\n"
    "when given), so running an import again, whole or after it was killed,\n"
    "stores each record once: what the first run stored comes back as\n"
    "duplicates (within the retention, 30 days). Progress goes to stderr when\n"
    "stderr is a terminal.\n"
    "\n"
    "Options:\n"
    "  --format jsonl|csv   the input's format (default: detected)\n"
    "  --dry-run            validate only: nothing is stored or counted, and\n"
    "                       any store will do, memory: too\n"
    "  -h, --help           show this help\n"
    "\n"
    "With import, exit code 4 means that some lines were rejected (or the\n"
    "CSV header is bad); 0 that every line was accepted.\n"
    "\n"
    "Example:\n"
    "  tutorcache feedback import --dry-run corrections.csv\n"
    "\n" CLI_FEEDBACK_EXIT_CODES;

const char cli_help_feedback_export[] =
    "Usage: tutorcache feedback export [--consumer NAME [--ack] [--max N]\n"
    "                                  [--claim-idle SEC]]\n"
    "\n"
    "Without --consumer, print every stored record (within its retention),\n"
    "oldest first, as JSON Lines; the retraining queue is not touched.\n"
    "\n"
    "With --consumer, take records from the retraining queue as NAME and\n"
    "print them: first those another consumer took and left unacknowledged\n"
    "for the claim idle time, then new ones, until the queue is empty or N\n"
    "were printed. A record is with one consumer at a time. With --ack each\n"
    "batch is acknowledged once it was written to stdout, and leaves the\n"
    "queue; without it the records stay with NAME, and are delivered again\n"
    "(to any consumer) once the claim idle time has passed.\n"
    "\n"
    "Options:\n"
    "  --consumer NAME    take records from the queue as NAME (1-128 bytes)\n"
    "  --ack              acknowledge the records written\n"
    "  --max N            at most N records (default: all)\n"
    "  --claim-idle SEC   take over records left unacknowledged this long\n"
    "                     (seconds, fractions allowed; default 60)\n"
    "  -h, --help         show this help\n"
    "\n"
    "Example:\n"
    "  tutorcache feedback export --consumer trainer --ack > batch.jsonl\n"
    "\n" CLI_FEEDBACK_EXIT_CODES;

/* ---- import -------------------------------------------------------------- */

/* Progress on a terminal: one line rewritten in place. */
static void on_progress(void *userdata, uint64_t lines)
{
    int *shown = userdata;

    fprintf(stderr, "\rtutorcache: import: %llu lines\033[K",
            (unsigned long long)lines);
    fflush(stderr);
    *shown = 1;
}

int cli_feedback_import(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longs[] = {
        {"format", required_argument, NULL, 'f'},
        {"dry-run", no_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    tc_import_format format = TC_IMPORT_AUTO;
    tc_import_progress_fn progress = NULL;
    tc_import_report *rep = NULL;
    const char *path = NULL, *name;
    tc_cache *h = NULL;
    FILE *in = NULL;
    int opt, rc, dry_run = 0, shown = 0;
    size_t i;

    while ((opt = cli_getopt(ctx, argc, argv, "h", longs)) != -1) {
        switch (opt) {
        case 'f':
            if (strcmp(optarg, "jsonl") == 0) {
                format = TC_IMPORT_JSONL;
            } else if (strcmp(optarg, "csv") == 0) {
                format = TC_IMPORT_CSV;
            } else {
                return cli_usage(ctx,
                                 "import: --format: \"%s\" is not jsonl or "
                                 "csv",
                                 optarg);
            }
            break;
        case 'n':
            dry_run = 1;
            break;
        case 'h':
            return cli_feedback_help(cli_help_feedback_import);
        default:
            return CLI_USAGE;
        }
    }
    if (argc - optind > 1) {
        return cli_usage(ctx, "import: one FILE at a time, got %d",
                         argc - optind);
    }
    if (argc - optind == 1) {
        path = argv[optind];
    }
    name = path && strcmp(path, "-") != 0 ? path : "stdin";
    if ((rc = cli_open_input(path, &in)) != CLI_OK) {
        return rc;
    }
    if ((rc = cli_feedback_open(ctx, &h, dry_run)) != CLI_OK) {
        goto done;
    }
    if (isatty(STDERR_FILENO)) {
        progress = on_progress;
    }
    rc = tc_feedback_import(&rep, h, in, format, dry_run, progress, &shown);
    if (shown) {
        fputc('\n', stderr); /* leave the progress line behind */
    }
    if (rc != TC_OK) {
        /* a failed read of the input is ours, not the store's */
        int read_failed = rc == TC_EIO && ferror(in);

        rc = cli_fail(h, rc, name);
        rc = read_failed ? CLI_FAIL : rc;
        goto done;
    }
    for (i = 0; i < rep->nrejections; i++) {
        fprintf(stderr, "tutorcache: %s:%llu: %s\n", name,
                (unsigned long long)rep->rejections[i].line,
                rep->rejections[i].reason);
    }
    if (rep->rejected > rep->nrejections) {
        cli_err("%s: %llu more rejected lines not listed (only the first %d "
                "are)",
                name, (unsigned long long)(rep->rejected - rep->nrejections),
                LISTED_REJECTIONS);
    }
    printf("{\"accepted\":%llu,\"rejected\":%llu,\"spooled\":%llu,"
           "\"duplicates\":%llu,\"dry_run\":%s}\n",
           (unsigned long long)rep->accepted, (unsigned long long)rep->rejected,
           (unsigned long long)rep->spooled,
           (unsigned long long)rep->duplicates, dry_run ? "true" : "false");
    rc = rep->rejected > 0 ? CLI_BADINPUT : CLI_OK;
done:
    tc_import_report_free(rep);
    tc_cache_close(h);
    if (in && in != stdin) {
        fclose(in);
    }
    return rc;
}

/* ---- export -------------------------------------------------------------- */

typedef struct export_args {
    const char *consumer;
    int ack;
    uint64_t max;          /* 0: no limit */
    int64_t claim_idle_ms; /* 0: the library's default */
} export_args;

/*
 * Writes a batch's records not yet printed by this run, then flushes.
 * printed[] receives the ids written. Returns the number written, or -1
 * when stdout failed (nothing of the batch may then be acknowledged).
 */
static long write_batch(const tc_feedback_batch *b, cli_idset *seen,
                        uint64_t room, const char **printed, int ack)
{
    long n = 0;
    size_t i;
    int added;

    for (i = 0; i < b->n && (uint64_t)n < room; i++) {
        if ((added = cli_idset_add(seen, b->ids[i])) < 0) {
            cli_err("feedback export: out of memory");
            return -1;
        }
        if (added == 0) {
            continue; /* our own record, back after the claim idle time */
        }
        if (fputs(b->records[i], stdout) == EOF || putchar('\n') == EOF) {
            break;
        }
        printed[n++] = b->ids[i];
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_err("feedback export: writing stdout: %s%s", strerror(errno),
                ack ? "; the batch was not acknowledged: its records return "
                      "to the queue after the claim idle time"
                    : "");
        return -1;
    }
    return n;
}

static int export_queue(tc_cache *h, const export_args *a)
{
    tc_feedback_batch *b = NULL;
    const char **printed = NULL;
    cli_idset seen = {NULL, 0, 0};
    uint64_t total = 0, want;
    long n;
    int rc = CLI_OK, lrc;

    if (!(printed = malloc(CONSUME_BATCH * sizeof(*printed)))) {
        cli_err("feedback export: out of memory");
        return CLI_FAIL;
    }
    while (a->max == 0 || total < a->max) {
        want = a->max == 0 || a->max - total > CONSUME_BATCH ? CONSUME_BATCH
                                                             : a->max - total;
        lrc = tc_feedback_consume(&b, h, a->consumer, (size_t)want,
                                  a->claim_idle_ms);
        if (lrc != TC_OK) {
            rc = cli_fail(h, lrc, "feedback export");
            break;
        }
        if (b->n == 0) {
            break;
        }
        if ((n = write_batch(b, &seen, a->max ? a->max - total : UINT64_MAX,
                             printed, a->ack)) < 0) {
            rc = CLI_FAIL;
            break;
        }
        total += (uint64_t)n;
        if (a->ack && n > 0 &&
            (lrc = tc_feedback_ack(h, printed, (size_t)n)) != TC_OK) {
            rc = cli_fail(h, lrc, "feedback export: acknowledging");
            cli_err("feedback export: the last %ld records printed stay in "
                    "the queue",
                    n);
            break;
        }
        /*
         * A batch of records all printed before means that ours came back
         * (without --ack, after the claim idle time) ahead of anything
         * new, which the queue delivers after them: the run is over.
         */
        if (n == 0) {
            break;
        }
        tc_feedback_batch_free(b);
        b = NULL;
    }
    tc_feedback_batch_free(b);
    cli_idset_free(&seen);
    free(printed);
    return rc;
}

int cli_feedback_export(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longs[] = {
        {"consumer", required_argument, NULL, 'c'},
        {"ack", no_argument, NULL, 'a'},
        {"max", required_argument, NULL, 'm'},
        {"claim-idle", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    export_args a = {NULL, 0, 0, 0};
    const char *queue_only = NULL;
    tc_cache *h = NULL;
    long long v;
    double secs;
    int opt, rc;

    while ((opt = cli_getopt(ctx, argc, argv, "h", longs)) != -1) {
        switch (opt) {
        case 'c':
            a.consumer = optarg;
            break;
        case 'a':
            a.ack = 1;
            queue_only = "--ack";
            break;
        case 'm':
            if (cli_parse_int(optarg, 1, INT64_MAX, &v) != 0) {
                return cli_usage(ctx,
                                 "export: --max: \"%s\" is not a positive "
                                 "whole number",
                                 optarg);
            }
            a.max = (uint64_t)v;
            queue_only = "--max";
            break;
        case 'i':
            /* 0 would mean "the default" to the library: not a choice */
            if (cli_parse_number(optarg, &secs) != 0 || secs < 0.001 ||
                secs > 1e6) {
                return cli_usage(ctx,
                                 "export: --claim-idle: \"%s\" is not a "
                                 "number of seconds (0.001-1000000)",
                                 optarg);
            }
            a.claim_idle_ms = (int64_t)llround(secs * 1000.0);
            queue_only = "--claim-idle";
            break;
        case 'h':
            return cli_feedback_help(cli_help_feedback_export);
        default:
            return CLI_USAGE;
        }
    }
    if (argc - optind != 0) {
        return cli_usage(ctx, "export: takes no arguments");
    }
    if (queue_only && !a.consumer) {
        return cli_usage(ctx, "export: %s needs --consumer NAME", queue_only);
    }
    if ((rc = cli_feedback_open(ctx, &h, 0)) != CLI_OK) {
        return rc;
    }
    if (a.consumer) {
        rc = export_queue(h, &a);
    } else if ((rc = tc_feedback_export(h, stdout, NULL)) != TC_OK) {
        rc = cli_fail(h, rc, "feedback export");
        /* the library's TC_EIO here is a failed write to stdout */
        rc = rc == CLI_UNAVAIL && ferror(stdout) ? CLI_FAIL : rc;
    }
    tc_cache_close(h);
    return rc;
}
