/*
 * cmd_stats.c - `tutorcache stats`: the cache's counters and the store's
 * health, as the library renders them (tc_cache_stats_json). JSON for
 * programs, a table for people; the counters are those of this process,
 * so a fresh one shows mostly the L1 and the store's state.
 */
#include <stdio.h>

#include "cli.h"

const char cli_help_stats[] =
    "Usage: tutorcache stats [options]\n"
    "\n"
    "Print the L1's size, the L2's kind and health (up, circuit breaker,\n"
    "reconnects, errors, and entries and bytes where the store knows them)\n"
    "and the counters of every namespace (hits per tier, misses, sets,\n"
    "deletes, L2 errors, degraded answers), and \"shadow\": the checks of\n"
    "cached answers against fresh ones (classify --shadow-rate) and the\n"
    "share that disagreed.\n"
    "\n"
    "The counters are this process's own: they start at zero with each\n"
    "process and are not kept in the store, so 'tutorcache stats' from a\n"
    "shell counts only what this one run did (mostly nothing) beside the\n"
    "store's health and size. A long-running host keeps its own: read the\n"
    "example service's at its GET /metrics (Prometheus text), another\n"
    "host's through tc_cache_stats_json() or tc_metrics_render().\n"
    "\n" CLI_HELP_FORMAT_OPTIONS "\n"
    "Example:\n"
    "  tutorcache stats | jq .l2\n"
    "\n"
    "Exit codes:\n"
    "  0  ok\n"
    "  2  usage or configuration\n"
    "  3  store unusable (also: TLS refused)\n"
    "  5  other\n";

/* Prints the library's JSON or a table of it; returns an exit code. */
static int print_json_text(const char *text, cli_format fmt)
{
    cJSON *root;

    if (cli_format_resolve(fmt) == CLI_FORMAT_JSON) {
        /* the library's text is already one line of valid JSON */
        fputs(text, stdout);
        fputc('\n', stdout);
        return CLI_OK;
    }
    if (!(root = cJSON_Parse(text))) {
        cli_err("the library's JSON does not parse");
        return CLI_FAIL;
    }
    cli_print_table(stdout, root);
    cJSON_Delete(root);
    return CLI_OK;
}

int cli_cmd_stats(cli_ctx *ctx, int argc, char **argv)
{
    cli_format fmt = CLI_FORMAT_AUTO;
    tc_cache *h = NULL;
    char *text = NULL;
    int rc;

    if ((rc = cli_open_format_only(ctx, argc, argv, &fmt, &h)) != CLI_OK ||
        !h) {
        return rc;
    }
    if ((rc = tc_cache_stats_json(&text, h)) != TC_OK) {
        rc = cli_fail(h, rc, "stats");
    } else {
        rc = print_json_text(text, fmt);
    }
    tc_free(text);
    tc_cache_close(h);
    return rc;
}
