/*
 * cluster.c - the Redis Cluster store as the layers above see it: its
 * table of operations and its opening. The slot map is read once at the
 * opening from the URL's nodes; a cluster that does not answer yet is
 * not an error (as a single server that is down is not), the thread that
 * follows the map keeps asking and calls degrade meanwhile.
 * Feedback (cluster_fb.c) keeps its keys under the hash tag {tc:fb}.
 */
#include <stdio.h>
#include <string.h>

#include "store/cluster/cluster.h"
#include "store/fbstore.h"
#include "store/redis/redis_store.h"

/* ---- the store -------------------------------------------------------- */

/*
 * Every master answers PING (bypassing the breakers, as a single
 * server's ping does); the map is read first when it is not known. The
 * first failure is returned, naming its node.
 */
static int cluster_ping(tc__store *s, tc__err *err)
{
    tc__cluster *c = (tc__cluster *)s;
    int m[TC__CLUSTER_MAX_NODES], n, rc = TC_OK;

    n = tc__cmap_masters(c, m, TC__CLUSTER_MAX_NODES);
    if (n == 0) {
        if ((rc = tc__cmap_refresh(c, err)) != TC_OK) {
            return rc;
        }
        n = tc__cmap_masters(c, m, TC__CLUSTER_MAX_NODES);
    }
    for (int i = 0; i < n && rc == TC_OK; i++) {
        rc = tc__redis_ping(c->node[m[i]]->st, err);
    }
    if (rc == TC_EUNAVAIL || rc == TC_ETIMEOUT) {
        tc__cmap_want_refresh(c);
    }
    return rc;
}

/*
 * The cluster's health is its masters': up when each is, the worst of
 * their breakers, their reconnects and errors added up with the calls
 * the cluster itself failed (a slot with no node, a redirect too many).
 */
static void cluster_health(tc__store *s, tc__store_health *out)
{
    static const char *const worse[] = {"closed", "half_open", "open"};
    tc__cluster *c = (tc__cluster *)s;
    int m[TC__CLUSTER_MAX_NODES], n, rank = 0;

    memset(out, 0, sizeof(*out));
    n = tc__cmap_masters(c, m, TC__CLUSTER_MAX_NODES);
    out->up = n > 0;
    out->errors = atomic_load(&c->errors);
    for (int i = 0; i < n; i++) {
        tc__store_health h;

        memset(&h, 0, sizeof(h));
        tc__redis_health(c->node[m[i]]->st, &h);
        out->up &= h.up;
        out->reconnects += h.reconnects;
        out->errors += h.errors;
        for (int r = rank + 1; r < 3; r++) {
            rank = strcmp(h.breaker, worse[r]) == 0 ? r : rank;
        }
    }
    out->breaker = worse[rank];
    out->entries = -1;
    out->bytes = -1;
}

/* Held back only when every master's breaker is open: a dead master
 * stops its own slots, not the cluster. */
static int cluster_resting(tc__store *s)
{
    tc__cluster *c = (tc__cluster *)s;
    int m[TC__CLUSTER_MAX_NODES], n, open = 0;

    n = tc__cmap_masters(c, m, TC__CLUSTER_MAX_NODES);
    for (int i = 0; i < n; i++) {
        tc__store_health h;

        memset(&h, 0, sizeof(h));
        tc__redis_health(c->node[m[i]]->st, &h);
        open += strcmp(h.breaker, "open") == 0;
    }
    return n > 0 && open == n;
}

/*
 * Feedback lives on the master of one slot, and which one changes with a
 * failover or a reshard, so the cluster answers for the worst of its
 * masters.
 */
static int cluster_keeping(tc__store *s, tc__store_keeping *out, tc__err *err)
{
    tc__cluster *c = (tc__cluster *)s;
    int m[TC__CLUSTER_MAX_NODES], n, rc = TC_OK;

    tc__store_keeping_unknown(out);
    if ((n = tc__cmap_masters(c, m, TC__CLUSTER_MAX_NODES)) == 0) {
        return TC_OK;
    }
    for (int i = 0; i < n; i++) {
        tc__store_keeping one;

        if ((rc = tc__redis_keeping(c->node[m[i]]->st, &one, err)) != TC_OK) {
            tc__store_keeping_unknown(out);
            return rc;
        }
        if (i == 0) {
            *out = one;
        } else {
            tc__store_keeping_worse(out, &one);
        }
    }
    return TC_OK;
}

static void cluster_close(tc__store *s)
{
    tc__cluster *c = (tc__cluster *)s;

    if (c) {
        tc__cmap_free(c);
        tc__free(c);
    }
}

static const tc__store_ops cluster_ops = {
    .kind = "redis-cluster",
    .fb = &tc__cluster_fb_ops,
    .fb_tag = TC__FB_TAG,
    .mget = tc__cluster_mget,
    .mset = tc__cluster_mset,
    .del = tc__cluster_del,
    .incr = tc__cluster_incr,
    .ping = cluster_ping,
    .health = cluster_health,
    .resting = cluster_resting,
    .track = tc__cluster_track,
    .untrack = tc__cluster_untrack,
    .keeping = cluster_keeping,
    .pop_add = tc__cluster_pop_add,
    .pop_top = tc__cluster_pop_top,
    .tally_add = tc__cluster_tally_add,
    .tally_read = tc__cluster_tally_read,
    .close = cluster_close,
};

int tc__store_cluster_open(tc__store **out, const tc__store_config *cfg,
                           const tc__logger *log, tc__err *err)
{
    tc__cluster *c;
    tc__err why;
    int rc;

    *out = NULL;
    if (!(c = tc__calloc(1, sizeof(*c)))) {
        return tc__errf(err, TC_ENOMEM, "redis-cluster: out of memory");
    }
    c->base.ops = &cluster_ops;
    c->cfg = cfg;
    c->read_replica = cfg->read_replica;
    if (log) {
        c->log = *log;
    } else {
        c->log.level = TC_LOG_OFF;
    }
    if ((rc = tc__cmap_init(c, err)) != TC_OK) {
        cluster_close(&c->base);
        return rc;
    }
    /* A wrong password is reported by the cache's ping; any failure here
     * leaves the map to the thread that follows it. */
    why.msg[0] = '\0';
    if (tc__cmap_refresh(c, &why) != TC_OK) {
        tc__cmap_want_refresh(c);
    }
    if ((rc = tc__cmap_start(c, err)) != TC_OK) {
        cluster_close(&c->base);
        return rc;
    }
    *out = &c->base;
    return TC_OK;
}
