/*
 * cmd_ping.c - `tutorcache ping`: one round trip to the L2, bypassing the
 * circuit breaker, with the store's kind, masked URL and latency. The
 * record is printed whether or not the store answered, so a monitor reads
 * one format; the exit code (3 when down) is what scripts test.
 */
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

const char cli_help_ping[] =
    "Usage: tutorcache ping [options]\n"
    "\n"
    "Check that the store answers (PING for Redis, a read transaction for\n"
    "LMDB, nothing for memory:) and print its kind, URL (password masked),\n"
    "whether it is up and the round-trip time in microseconds.\n"
    "\n" CLI_HELP_FORMAT_OPTIONS "\n"
    "Example:\n"
    "  tutorcache --store redis://cache:6379 --timeout 100 ping\n"
    "\n"
    "Exit codes:\n"
    "  0  up\n"
    "  2  usage or configuration\n"
    "  3  unreachable (down, timed out, refused the login, or TLS failed:\n"
    "     unknown CA, certificate expired, name mismatch)\n"
    "  5  other\n";

int cli_cmd_ping(cli_ctx *ctx, int argc, char **argv)
{
    cli_format fmt = CLI_FORMAT_AUTO;
    cJSON *cfg = NULL, *out = NULL, *store;
    tc_cache *h = NULL;
    char detail[512];
    int64_t us = 0;
    int rc, prc;

    if ((rc = cli_open_format_only(ctx, argc, argv, &fmt, &h)) != CLI_OK ||
        !h) {
        return rc;
    }
    prc = tc_cache_ping(h, &us);
    snprintf(detail, sizeof(detail), "%s", prc == TC_OK ? "" : tc_errmsg());
    if (!(cfg = cli_config_tree(h))) {
        rc = CLI_FAIL;
        goto done;
    }
    store = cJSON_GetObjectItemCaseSensitive(cfg, "store");
    out = cJSON_CreateObject();
    if (!out ||
        !cJSON_AddStringToObject(
            out, "store", cJSON_IsString(store) ? store->valuestring : "?") ||
        !cJSON_AddStringToObject(out, "kind", tc_cache_store_kind(h)) ||
        !cJSON_AddBoolToObject(out, "up", prc == TC_OK) ||
        !cJSON_AddNumberToObject(out, "latency_us", (double)us) ||
        (prc != TC_OK &&
         (!cJSON_AddStringToObject(out, "error", tc_error_name(prc)) ||
          !cJSON_AddStringToObject(out, "detail", detail)))) {
        cli_err("ping: out of memory");
        rc = CLI_FAIL;
        goto done;
    }
    if (cli_format_resolve(fmt) == CLI_FORMAT_JSON) {
        rc = cli_print_json_line(stdout, out) == 0 ? CLI_OK : CLI_FAIL;
    } else {
        cli_print_table(stdout, out);
        rc = CLI_OK;
    }
    if (prc != TC_OK) {
        cli_err("ping: %s", detail[0] ? detail : tc_strerror(prc));
        rc = cli_exit_for(prc);
    }
done:
    cJSON_Delete(out);
    cJSON_Delete(cfg);
    tc_cache_close(h);
    return rc;
}
