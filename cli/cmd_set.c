/*
 * cmd_set.c - `tutorcache set NS KEY VALUE [--ttl SECONDS]`. VALUE `-`
 * reads the whole of stdin, bytes unchanged. Unlike the library, which
 * keeps a value in L1 when the L2 is down, the command reports that case
 * as a failure: its L1 dies with the process, so the value was not stored.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The library's limit (Redis' proto-max-bulk-len); one byte more is read
 * from stdin to tell "too large" from "exactly the limit". */
#define MAX_VALUE ((size_t)512 << 20)

/* A TTL as large as the config file accepts: about 31 years. */
#define MAX_TTL_S 1e9

const char cli_help_set[] =
    "Usage: tutorcache set [options] NS KEY VALUE\n"
    "\n"
    "Store VALUE under KEY in namespace NS, in the L2 and then the L1.\n"
    "VALUE - reads the whole of stdin, any bytes. A value that starts with\n"
    "'-' goes after --: tutorcache set NS KEY -- -5.\n"
    "\n"
    "Options:\n"
    "  --ttl SECONDS   time to live, > 0, fractions allowed (0.5); default:\n"
    "                  the namespace's TTL\n"
    "  -h, --help      show this help\n"
    "\n"
    "Examples:\n"
    "  tutorcache set student_profiles user:42 '{\"level\":3}' --ttl 600\n"
    "  curl -s \"$URL\" | tutorcache set ml_model_predictions req:7 -\n"
    "\n"
    "Exit codes:\n"
    "  0  stored\n"
    "  2  usage (a bad --ttl too)\n"
    "  3  the store is unreachable or refused TLS; nothing was stored\n"
    "  4  unknown namespace or a value over 512 MiB\n"
    "  5  other\n";

/* --ttl: seconds, > 0, fractional; 0 on success. */
static int parse_ttl(const cli_ctx *ctx, const char *s, int64_t *ttl_ms)
{
    double v;

    if (cli_parse_number(s, &v) != 0) {
        return cli_usage(ctx, "--ttl: \"%s\" is not a number of seconds", s);
    }
    if (v <= 0 || v > MAX_TTL_S) {
        return cli_usage(ctx,
                         "--ttl: %s is not in (0, %.0f] seconds; leave it "
                         "out for the namespace's TTL",
                         s, MAX_TTL_S);
    }
    *ttl_ms = (int64_t)llround(v * 1000.0);
    if (*ttl_ms < 1) {
        return cli_usage(ctx, "--ttl: %s is below one millisecond", s);
    }
    return CLI_OK;
}

/* The namespace's count of writes that missed the L2, or -1. */
static int64_t degraded_count(tc_cache *h, const char *ns)
{
    tc_ns_stats st;

    return tc_cache_stats(&st, h, ns) == TC_OK ? (int64_t)st.degraded : -1;
}

/* Whether the L2 is up, as the handle last saw it: 1, 0, or -1 unknown. */
static int l2_up(tc_cache *h)
{
    char *js = NULL;
    cJSON *root, *up;
    int r = -1;

    if (tc_cache_stats_json(&js, h) != TC_OK) {
        return -1;
    }
    root = cJSON_Parse(js);
    up = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "l2"), "up");
    if (cJSON_IsBool(up)) {
        r = cJSON_IsTrue(up);
    }
    cJSON_Delete(root);
    tc_free(js);
    return r;
}

int cli_cmd_set(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longs[] = {{"ttl", required_argument, NULL, 'T'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int64_t ttl_ms = TC_TTL_DEFAULT, before;
    const char *ns, *key, *arg;
    char *input = NULL;
    const void *val;
    tc_cache *h = NULL;
    size_t len;
    int opt, rc;

    while ((opt = cli_getopt(ctx, argc, argv, "h", longs)) != -1) {
        switch (opt) {
        case 'T':
            if ((rc = parse_ttl(ctx, optarg, &ttl_ms)) != CLI_OK) {
                return rc;
            }
            break;
        case 'h':
            return cli_help(ctx);
        default:
            return CLI_USAGE;
        }
    }
    if ((rc = cli_want_args(ctx, argc - optind, 3, "NS KEY VALUE")) != CLI_OK) {
        return rc;
    }
    ns = argv[optind];
    key = argv[optind + 1];
    arg = argv[optind + 2];
    if (strcmp(arg, "-") == 0) {
        if (cli_read_all(stdin, MAX_VALUE, &input, &len) != 0) {
            if (errno == EFBIG) {
                cli_err("set: the value on stdin is over 512 MiB");
                return CLI_BADINPUT;
            }
            cli_err("set: reading stdin: %s", strerror(errno));
            return CLI_FAIL;
        }
        val = input;
    } else {
        val = arg;
        len = strlen(arg);
    }
    if ((rc = cli_open(ctx, &h)) != CLI_OK) {
        free(input);
        return rc;
    }
    before = degraded_count(h, ns);
    rc = tc_cache_set(h, ns, key, strlen(key), val, len, ttl_ms);
    if (rc != TC_OK) {
        rc = cli_fail(h, rc, "set");
    } else if (degraded_count(h, ns) > before) {
        /*
         * The library kept the value in L1 only, which this process is
         * about to drop: for a one-shot command that is not stored.
         */
        if (l2_up(h) == 0) {
            cli_err("set: the store is unreachable; the value was not "
                    "stored");
        } else {
            cli_err("set: the store refused the value (full, too big, or "
                    "permission denied: the warning says which); it was "
                    "not stored");
        }
        rc = CLI_UNAVAIL;
    } else {
        rc = CLI_OK;
    }
    tc_cache_close(h);
    free(input);
    return rc;
}
