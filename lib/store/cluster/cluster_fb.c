/*
 * cluster_fb.c - feedback on a Redis Cluster: the single server's
 * feedback operations (redis_fb.c) with every key under the hash tag
 * {tc:fb}, run on the master of that one slot. The cache puts the
 * override namespace's keys under the same tag, so put.lua writes a
 * record, its counters and its override in one slot, as one script.
 *
 * A slot that moved answers MOVED (or CLUSTERDOWN while a failover
 * runs): the map is read again at once and the operation runs once more
 * on the master it names. That is safe for each operation: a node that
 * redirects ran nothing, a put retries only the records that failed, and
 * an export goes on after the last stream entry it read.
 * While the slot itself migrates, an ASK is not followed (a script would
 * need ASKING on the same connection): the call fails with the server's
 * message, as a single server's call that could not run.
 */
#include <string.h>

#include "store/cluster/cluster.h"
#include "store/redis/redis_store.h"

#define PFX TC__FB_CLUSTER_KEYS

/* Whether a failure's detail is the cluster's redirect or refusal. */
static int redirected(const tc__err *err)
{
    return strstr(err->msg, "MOVED ") || strstr(err->msg, "ASK ") ||
           strstr(err->msg, "CLUSTERDOWN");
}

/*
 * The node of the feedback slot; the map is read first when it has none
 * (again: fresh), as after a redirect. Returns the node's store, or NULL
 * with the failure in err and *rc.
 */
static tc__store *fb_node(tc__cluster *c, int fresh, int *rc, tc__err *err)
{
    unsigned slot = tc__cluster_slot(PFX, strlen(PFX));
    int node = fresh ? -1 : tc__cmap_route(c, slot, 0);

    if (node < 0) {
        if ((*rc = tc__cmap_refresh(c, err)) != TC_OK) {
            return NULL;
        }
        node = tc__cmap_route(c, slot, 0);
    }
    if (node < 0) {
        *rc = tc__errf(err, TC_EUNAVAIL,
                       "feedback: no node serves slot %u (the cluster's "
                       "map is not known yet)",
                       slot);
        return NULL;
    }
    *rc = TC_OK;
    return c->node[node]->st;
}

/* Asks for a new map after a failure that may mean a failover. */
static int settle(tc__cluster *c, int rc)
{
    if (rc == TC_EUNAVAIL || rc == TC_ETIMEOUT) {
        tc__cmap_want_refresh(c);
    }
    return rc;
}

/* The records of a put that failed on a redirect, run once more. */
static int put_again(tc__cluster *c, tc__fb_put *items, size_t n,
                     int64_t retention_ms, tc__err *err)
{
    tc__fb_put *again;
    size_t *at, m = 0;
    tc__store *st;
    int rc;

    if (!(st = fb_node(c, 1, &rc, err))) {
        return rc;
    }
    again = tc__calloc(n, sizeof(*again));
    at = tc__calloc(n, sizeof(*at));
    if (!again || !at) {
        tc__free(again);
        tc__free(at);
        return tc__errf(err, TC_ENOMEM, "feedback put: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (items[i].status < 0 && items[i].status != TC_EINVAL) {
            at[m] = i;
            again[m++] = items[i];
        }
    }
    rc = tc__rfb_put(st, PFX, again, m, retention_ms, err);
    for (size_t j = 0; j < m; j++) {
        items[at[j]].status = again[j].status;
    }
    tc__free(again);
    tc__free(at);
    return rc;
}

static int fb_put(tc__store *s, tc__fb_put *items, size_t n,
                  int64_t retention_ms, tc__err *err)
{
    tc__cluster *c = (tc__cluster *)s;
    tc__store *st;
    int rc;

    if (!(st = fb_node(c, 0, &rc, err))) {
        for (size_t i = 0; i < n; i++) {
            items[i].status = rc;
        }
        return rc;
    }
    rc = tc__rfb_put(st, PFX, items, n, retention_ms, err);
    if (redirected(err)) {
        rc = put_again(c, items, n, retention_ms, err);
    }
    return settle(c, rc);
}

/* Runs one operation (the line of each wrapper below), and once more on
 * a fresh map's master after a redirect. */
#define RUN(call)                                                              \
    do {                                                                       \
        tc__cluster *c = (tc__cluster *)s;                                     \
        tc__store *st;                                                         \
        int rc;                                                                \
        for (int fresh = 0; fresh < 2; fresh++) {                              \
            if (!(st = fb_node(c, fresh, &rc, err))) {                         \
                break;                                                         \
            }                                                                  \
            rc = (call);                                                       \
            if (rc == TC_OK || !redirected(err)) {                             \
                break;                                                         \
            }                                                                  \
        }                                                                      \
        return settle(c, rc);                                                  \
    } while (0)

static int fb_trim(tc__store *s, int64_t retention_ms, uint64_t *removed,
                   tc__err *err)
{
    RUN(tc__rfb_trim(st, PFX, retention_ms, removed, err));
}

static int fb_count(tc__store *s, const char *name, uint64_t n, tc__err *err)
{
    RUN(tc__rfb_count(st, PFX, name, n, err));
}

static int fb_consume(tc__store *s, const char *consumer, size_t max,
                      int64_t claim_idle_ms, char ***ids, char ***records,
                      size_t *n, tc__err *err)
{
    *ids = *records = NULL;
    *n = 0;
    RUN(tc__rfb_consume(st, PFX, consumer, max, claim_idle_ms, ids, records, n,
                        err));
}

static int fb_ack(tc__store *s, const char *const *ids, size_t n, tc__err *err)
{
    RUN(tc__rfb_ack(st, PFX, ids, n, err));
}

static int fb_stats(tc__store *s, tc__fb_stats *out, tc__err *err)
{
    memset(out, 0, sizeof(*out));
    RUN(tc__rfb_stats(st, PFX, out, err));
}

static int fb_export(tc__store *s,
                     int (*each)(void *ud, const char *id, const char *json,
                                 size_t len),
                     void *ud, tc__err *err)
{
    /* a retry goes on after the last entry read: a slot that moved
     * between two pages hands no record to each() twice */
    char after[TC__RFB_AFTER_MAX] = "";

    RUN(tc__rfb_export(st, PFX, after, each, ud, err));
}

static int fb_purge(tc__store *s, const char *const *ids, size_t n,
                    uint64_t *removed, tc__err *err)
{
    RUN(tc__rfb_purge(st, PFX, ids, n, removed, err));
}

const tc__fb_ops tc__cluster_fb_ops = {
    .put = fb_put,
    .trim = fb_trim,
    .count = fb_count,
    .consume = fb_consume,
    .ack = fb_ack,
    .stats = fb_stats,
    .export = fb_export,
    .purge = fb_purge,
};
