/*
 * redis.c - the Redis store as the layers above see it: its table of
 * operations and its opening. The table is what makes a tc__store a
 * Redis one, so the files below trust the kind they are handed.
 */
#include <string.h>

#include "store/fbstore.h"
#include "store/redis/redis_store.h"

/* Whether the circuit breaker holds calls back now. */
static int redis_resting(tc__store *base)
{
    tc__store_health hl;

    memset(&hl, 0, sizeof(hl));
    tc__redis_health(base, &hl);
    return hl.breaker && strcmp(hl.breaker, "open") == 0;
}

static const tc__store_ops redis_ops = {
    .kind = "redis",
    .fb = &tc__fb_redis_ops,
    .mget = tc__redis_mget,
    .mset = tc__redis_mset,
    .del = tc__redis_del,
    .incr = tc__redis_incr,
    .ping = tc__redis_ping,
    .health = tc__redis_health,
    .resting = redis_resting,
    .track = tc__redis_track,
    .untrack = tc__redis_untrack,
    .keeping = tc__redis_keeping,
    .pop_add = tc__redis_pop_add,
    .pop_top = tc__redis_pop_top,
    .tally_add = tc__redis_tally_add,
    .tally_read = tc__redis_tally_read,
    .close = tc__redis_close,
};

/*
 * Opens no connection: the pool connects on first use, so a server that
 * is down is not an error here (the store degrades and recovers by
 * itself). The cache's open pings, to report a wrong password at once.
 */
int tc__store_redis_open(tc__store **out, const tc__store_config *cfg,
                         const tc__logger *log, tc__err *err)
{
    *out = NULL;
    return tc__redis_new(out, &redis_ops, cfg, log, err);
}
