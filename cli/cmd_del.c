/*
 * cmd_del.c - `tutorcache del NS KEY`: removes a key from both tiers.
 * It exits 1 when nothing was there, so `del` and `get` agree on what "no
 * result" means, and 3 when the L2 could not be reached, since the L2
 * copy may then still be there for other processes.
 */
#include <string.h>

#include "cli.h"

const char cli_help_del[] =
    "Usage: tutorcache del [options] NS KEY\n"
    "\n"
    "Delete KEY of namespace NS from the L1 and the L2.\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help\n"
    "\n"
    "Example:\n"
    "  tutorcache del adaptive_paths student:42\n"
    "\n"
    "Exit codes:\n"
    "  0  deleted\n"
    "  1  nothing was there\n"
    "  2  usage\n"
    "  3  the store is unreachable or refused TLS (the value may remain)\n"
    "  4  unknown namespace\n"
    "  5  other\n";

int cli_cmd_del(cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longs[] = {{"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    const char *ns, *key;
    tc_cache *h = NULL;
    int opt, rc;

    while ((opt = cli_getopt(ctx, argc, argv, "h", longs)) != -1) {
        if (opt == 'h') {
            return cli_help(ctx);
        }
        return CLI_USAGE;
    }
    if ((rc = cli_open_key(ctx, argc, argv, &h, &ns, &key)) != CLI_OK) {
        return rc;
    }
    rc = tc_cache_del(h, ns, key, strlen(key));
    if (rc == TC_OK) {
        rc = CLI_OK;
    } else if (rc == TC_MISS) {
        rc = CLI_MISS;
    } else {
        rc = cli_fail(h, rc, "del");
    }
    tc_cache_close(h);
    return rc;
}
