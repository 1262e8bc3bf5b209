/*
 * cmd_config.c - `tutorcache config`: the effective configuration after
 * options, environment, config file and defaults, with where the store
 * came from. The library masks the password; this command never sees it.
 */
#include <stdio.h>

#include "cli.h"

const char cli_help_config[] =
    "Usage: tutorcache config [options]\n"
    "\n"
    "Print the effective configuration: the store URL (password shown as\n"
    "***) and where it came from (option, TUTORCACHE_URL, REDIS_HOST, config\n"
    "file, default), the config file read, timeouts, sizes, and every\n"
    "namespace with its key prefix, TTL and L1 TTL in seconds.\n"
    "\n" CLI_HELP_FORMAT_OPTIONS "\n"
    "Example:\n"
    "  tutorcache --config /etc/tutorcache.json config --format table\n"
    "\n"
    "Exit codes:\n"
    "  0  ok\n"
    "  2  usage or configuration (the message names the field)\n"
    "  3  store unusable (also: TLS refused)\n"
    "  5  other\n";

int cli_cmd_config(cli_ctx *ctx, int argc, char **argv)
{
    cli_format fmt = CLI_FORMAT_AUTO;
    tc_cache *h = NULL;
    cJSON *root;
    int rc;

    if ((rc = cli_open_format_only(ctx, argc, argv, &fmt, &h)) != CLI_OK ||
        !h) {
        return rc;
    }
    if (!(root = cli_config_tree(h))) {
        rc = CLI_FAIL;
    } else if (cli_format_resolve(fmt) == CLI_FORMAT_JSON) {
        rc = cli_print_json_line(stdout, root) == 0 ? CLI_OK : CLI_FAIL;
    } else {
        cli_print_table(stdout, root);
        rc = CLI_OK;
    }
    cJSON_Delete(root);
    tc_cache_close(h);
    return rc;
}
