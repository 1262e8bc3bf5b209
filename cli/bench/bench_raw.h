/*
 * bench_raw.h - the raw hiredis peers of `tutorcache bench cache`: where
 * they connect (the store's own URL, password included) and one call of
 * each raw scenario. Only bench_raw.c includes hiredis, so the rest of
 * the bench sees none of its types.
 */
#ifndef TC_BENCH_RAW_H
#define TC_BENCH_RAW_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "cli.h"

/* Where the raw loops connect: the store's URL, password and all. */
typedef struct bench_target {
    char *host; /* NULL with path */
    int port;
    char *path;
    char *user;
    char *password;
    int db;
} bench_target;

/*
 * Finds the store's real URL where the library found it (cfg is the
 * tc_cache_config_json tree, whose URL has its password masked).
 * Returns 0, or -1 with a message in err.
 */
int bench_target_resolve(bench_target *t, const cli_ctx *ctx, const cJSON *cfg,
                         char *err, size_t errlen);
void bench_target_free(bench_target *t);

/* One plain hiredis connection, owned by one thread. */
typedef struct bench_raw bench_raw;

/* Connects (AUTH, SELECT as the URL says); NULL with a message in err. */
bench_raw *bench_raw_connect(const bench_target *t, int connect_ms,
                             int command_ms, char *err, size_t errlen);
void bench_raw_close(bench_raw *c);

/*
 * One call of a raw scenario on keys[0..n): with n 1 and pttl 0 a plain
 * redisCommand GET (raw_get); otherwise a pipeline of n GETs (raw_pipe16),
 * each followed by a PTTL of its key when pttl is set (raw_get_pttl,
 * raw_pipe16_pttl: the protocol work the library does). Returns the
 * number of replies that were not as expected (a GET not of value_bytes,
 * a PTTL that is not a TTL), or -1 with a message in err when the run
 * cannot go on (connection lost, an error reply).
 */
int bench_raw_call(bench_raw *c, const char *const *keys, size_t n, int pttl,
                   size_t value_bytes, char *err, size_t errlen);

#endif /* TC_BENCH_RAW_H */
