/*
 * raw_store_fixture.c - a store on a test backend without a cache handle
 * (raw_store_fixture.h).
 */
#include <check.h>
#include <string.h>

#include "raw_store_fixture.h"

tc__store *raw_store_open(bk *b, tc__config *cfg)
{
    tc__store *st = NULL;
    tc__err err = {""};

    memset(cfg, 0, sizeof(*cfg));
    cfg->store.connect_timeout_ms = 2000;
    cfg->store.command_timeout_ms = 2000;
    cfg->store.pool_size = 2;
    cfg->store.map_bytes = (size_t)64 << 20;
    ck_assert_int_eq(tc__config_parse_url(cfg, b->url, &err), TC_OK);
    ck_assert_msg(tc__store_open(&st, &cfg->store, NULL, &err) == TC_OK,
                  "open: %s", err.msg);
    return st;
}
