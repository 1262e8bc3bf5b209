/*
 * cmd_get.c - `tutorcache get NS KEY`: prints a value exactly as stored.
 * The value is written with fwrite, so any bytes (NULs included) come out
 * unchanged; a miss prints nothing and exits 1, like grep finding nothing.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char cli_help_get[] =
    "Usage: tutorcache get [options] NS KEY\n"
    "\n"
    "Print the value stored under KEY in namespace NS, byte for byte, and a\n"
    "newline. A miss prints nothing and exits 1. An unreachable store does\n"
    "not fail a get: it is a miss (exit 1), with a warning in the logs on\n"
    "stderr. KEY is any string; it is hashed, never sent to the store as is.\n"
    "\n"
    "Options:\n"
    "  -n, --no-newline   print the value without the newline after it\n"
    "  -t, --tier         also say on stderr which tier answered, as\n"
    "                     \"tutorcache: tier: l2\" (or miss; a new process\n"
    "                     has an empty L1, so l1 is rare)\n"
    "  -h, --help         show this help\n"
    "\n"
    "Example:\n"
    "  tutorcache get student_profiles user:42 | jq .level\n"
    "\n"
    "Exit codes:\n"
    "  0  found\n"
    "  1  miss (also: the store is unreachable)\n"
    "  2  usage\n"
    "  4  unknown namespace\n"
    "  5  other\n";

int cli_cmd_get(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longs[] = {
        {"no-newline", no_argument, NULL, 'n'},
        {"tier", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int newline = 1, show_tier = 0, opt, rc;
    tc_tier tier = TC_TIER_NONE;
    tc_cache *h = NULL;
    const char *ns, *key;
    void *val = NULL;
    size_t len = 0;

    while ((opt = cli_getopt(ctx, argc, argv, "nth", longs)) != -1) {
        switch (opt) {
        case 'n':
            newline = 0;
            break;
        case 't':
            show_tier = 1;
            break;
        case 'h':
            return cli_help(ctx);
        default:
            return CLI_USAGE;
        }
    }
    if ((rc = cli_open_key(ctx, argc, argv, &h, &ns, &key)) != CLI_OK) {
        return rc;
    }
    rc = tc_cache_get(&val, &len, &tier, h, ns, key, strlen(key));
    if (rc == TC_OK) {
        if (show_tier) {
            cli_err("tier: %s", tc_tier_name(tier));
        }
        if (fwrite(val, 1, len, stdout) != len ||
            (newline && putchar('\n') == EOF)) {
            /* main() reports the write error and exits 5 */
            rc = CLI_FAIL;
        } else {
            rc = CLI_OK;
        }
        tc_free(val);
    } else if (rc == TC_MISS) {
        if (show_tier) {
            cli_err("tier: %s", tc_tier_name(TC_TIER_NONE));
        }
        rc = CLI_MISS;
    } else {
        rc = cli_fail(h, rc, "get");
    }
    tc_cache_close(h);
    return rc;
}
