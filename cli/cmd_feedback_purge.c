/*
 * cmd_feedback_purge.c - `tutorcache feedback purge`: erasure of a user's
 * feedback (or of records older than a time, or of one text) before its
 * retention ends, through tc_feedback_purge. The filters are the
 * library's; the command only insists on one, so that a typo cannot
 * erase everything.
 */
#include <stdio.h>

#include <cjson/cJSON.h>

#include "cmd_feedback.h"
#include "feedback_common.h"

const char cli_help_feedback_purge[] =
    "Usage: tutorcache feedback purge [--user-id ID] [--before TIME]\n"
    "                                 [--text TEXT] [--format json|table]\n"
    "\n"
    "Erase the stored records that match every filter given (at least one):\n"
    "  --user-id ID   the records of this user_id\n"
    "  --before TIME  records whose timestamp is earlier (ISO 8601, e.g.\n"
    "                 2026-11-01T00:00:00Z)\n"
    "  --text TEXT    records of this text (compared once normalized)\n"
    "Each record leaves the store (Redis stream, Redis Cluster {tc:fb}\n"
    "keys, or LMDB), the retraining queue and the de-duplication set. An\n"
    "override a purged correction set is recomputed from the corrections of\n"
    "its text that remain (the latest whose 24 h have not run out), or\n"
    "deleted when none remains. Counters stay: they name no one.\n"
    "Prints how many records went ({\"removed\": N}); running it again\n"
    "prints 0. Audited (feedback_purge) when an audit log is set, with a\n"
    "hash of the user id, never the id or the text.\n"
    "\n"
    "Example:\n"
    "  tutorcache --actor dpo@school feedback purge --user-id student-42\n"
    "\n" CLI_FEEDBACK_EXIT_CODES;

int cli_feedback_purge(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longs[] = {
        {"user-id", required_argument, NULL, 'u'},
        {"before", required_argument, NULL, 'b'},
        {"text", required_argument, NULL, 't'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *user = NULL, *before = NULL, *text = NULL;
    cli_format fmt = CLI_FORMAT_AUTO;
    tc_cache *h = NULL;
    uint64_t removed = 0;
    cJSON *root;
    int opt, rc;

    while ((opt = cli_getopt(ctx, argc, argv, "h", longs)) != -1) {
        switch (opt) {
        case 'u':
            user = optarg;
            break;
        case 'b':
            before = optarg;
            break;
        case 't':
            text = optarg;
            break;
        case 'f':
            if ((rc = cli_parse_format(ctx, optarg, &fmt)) != CLI_OK) {
                return rc;
            }
            break;
        case 'h':
            return cli_feedback_help(cli_help_feedback_purge);
        default:
            return CLI_USAGE;
        }
    }
    if (argc - optind != 0) {
        return cli_usage(ctx, "purge: takes no arguments");
    }
    if (!user && !before && !text) {
        return cli_usage(ctx, "purge: give --user-id, --before or --text "
                              "(nothing is erased without a filter)");
    }
    if ((rc = cli_feedback_open(ctx, &h, 0)) != CLI_OK) {
        return rc;
    }
    rc = tc_feedback_purge(&removed, h, user, before, text);
    if (rc != TC_OK) {
        rc = cli_fail(h, rc, "feedback purge");
        tc_cache_close(h);
        return rc;
    }
    tc_cache_close(h);
    if (!(root = cJSON_CreateObject()) ||
        !cJSON_AddNumberToObject(root, "removed", (double)removed)) {
        cJSON_Delete(root);
        cli_err("feedback purge: out of memory");
        return CLI_FAIL;
    }
    if (cli_format_resolve(fmt) == CLI_FORMAT_JSON) {
        rc = cli_print_json_line(stdout, root) == 0 ? CLI_OK : CLI_FAIL;
    } else {
        cli_print_table(stdout, root);
        rc = CLI_OK;
    }
    cJSON_Delete(root);
    return rc;
}
