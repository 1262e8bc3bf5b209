/*
 * cluster_track.c - L1 coherence on a Redis Cluster: the single server's
 * invalidation connection (redis_track.c) on every node that reads go
 * to, each with its own thread, following the slot map. A write is
 * heard from the node that ran it, so every node serving a slot's reads
 * must be heard; the masters, or with read_from=replica the replicas
 * read, which hear their masters' writes through replication and so
 * never tell of a write a read of them would not see.
 *
 * Why a connection that asks and listens per node, and not tracking
 * redirected from each pooled data connection: broadcast tracking
 * follows prefixes, not the keys a connection read, so the one
 * connection per node hears every write under them, and the pools stay
 * as they are (no command more per connection, nothing to redo when one
 * is replaced). Why a thread per node, not one polling them all: each
 * node's connection is then the single server's, with its own loss,
 * PING and reconnection, already argued for (cache/track.c) and tested;
 * one loop over several would have to interleave as many of those
 * states, and the threads cost nothing but a stack while they wait.
 *
 * The rule of the single server holds per node: its connection lost,
 * every L1 entry is dropped, and again when it is back. A node that
 * becomes a reader (a failover's promoted replica, a MOVED to a new
 * master, a node added) was not heard until now: the map tells this
 * file at once (gained), which drops L1, and after the refresher's read
 * of the map (sync) a connection to the node is made and L1 dropped
 * again, since what was filled from it in between was not vouched for.
 * A node that stops being a reader is no longer listened to.
 *
 * The fill/invalidate race (cache/track.c) needs no more here: its
 * argument rests only on a write W's invalidation being handled after W
 * ran, and on a read sent after that seeing W or later. A write of key k
 * is heard from the node that ran it (or, reading replicas, from the
 * replica once it has it), and a read sent after goes to that node, or,
 * the map having moved on, is redirected to the slot's owner now, which
 * has W too: migrated with the key, or replicated before a promotion. A
 * write an asynchronous failover lost is lost for every reader, and an
 * L1 copy then agrees with the L2 as it is. The cache's callback runs
 * on several nodes' threads at once, which it allows: each key is
 * settled under its L1 shard's lock, the generations are atomics.
 */
#include <string.h>

#include "store/cluster/cluster.h"
#include "store/redis/redis_store.h"

typedef struct tc__ctrack {
    tc__cluster *c;
    tc__track_spec spec; /* the cache's */
    /* each node's: node_heard, then the cache; its prefixes are copies,
     * since a node may join long after the cache's were freed */
    tc__track_spec node_spec;
    char **prefixes;
    /* Held by a sync: the opening's and the refresher's may meet. */
    pthread_mutex_t mu;
    /* Each node's tracker (redis_track.c); NULL: none. Changed by sync,
     * and by untrack once no sync can run. */
    void *node[TC__CLUSTER_MAX_NODES];
    /* Nodes that refused tracking (an ACL without CLIENT): warned once,
     * asked again at the next sync. */
    uint64_t refused;
} tc__ctrack;

static void ct_free(tc__ctrack *ct)
{
    for (size_t i = 0; ct->prefixes && i < ct->spec.nprefixes; i++) {
        tc__free(ct->prefixes[i]);
    }
    tc__free(ct->prefixes);
    pthread_mutex_destroy(&ct->mu);
    tc__free(ct);
}

static void drop_all(tc__ctrack *ct)
{
    ct->spec.invalidate(ct->spec.ud, NULL, 0);
}

/*
 * A node's invalidations, handed to the cache; a node's connection lost
 * or back also asks for a new map, since a master that went away may be
 * failing over, and its replica is then found before any call needs it.
 */
static void node_heard(void *ud, const char *const *keys, size_t n)
{
    tc__ctrack *ct = ud;

    ct->spec.invalidate(ct->spec.ud, keys, n);
    if (!keys) {
        tc__cmap_want_refresh(ct->c);
    }
}

static void warn_refused(tc__ctrack *ct, int i, const char *detail)
{
    const char *f[] = {"node", ct->c->node[i]->host, "detail", detail, NULL};

    tc__log(&ct->c->log, TC_LOG_WARN, "l1_tracking_unavailable", f);
}

/*
 * Tracks every reader not tracked yet, then stops the trackers of nodes
 * that are readers no more. Returns TC_OK, or the first failure of a
 * node that cannot track (TC_EPROTO: refused; TC_EAUTH; TC_ENOMEM),
 * logged when warn is set (the opening's failure is the cache's to log).
 */
static int sync_readers(tc__ctrack *ct, int warn, tc__err *err)
{
    uint64_t want;
    int started = 0, rc = TC_OK;

    pthread_mutex_lock(&ct->mu);
    want = tc__cmap_readers(ct->c);
    for (int i = 0; i < TC__CLUSTER_MAX_NODES; i++) {
        tc__err why;
        int r;

        if (!(want >> i & 1) || ct->node[i]) {
            continue;
        }
        why.msg[0] = '\0';
        r = tc__redis_track(ct->c->node[i]->st, &ct->node_spec, &ct->node[i],
                            &why);
        if (r == TC_OK) {
            started = 1;
            ct->refused &= ~(UINT64_C(1) << i);
            continue;
        }
        if (warn && !(ct->refused >> i & 1)) {
            warn_refused(ct, i, why.msg);
        }
        ct->refused |= UINT64_C(1) << i;
        if (rc == TC_OK) {
            rc = r;
            *err = why;
        }
    }
    if (started) {
        drop_all(ct); /* what a new node wrote before was not heard */
    }
    for (int i = 0; i < TC__CLUSTER_MAX_NODES; i++) {
        if (!(want >> i & 1) && ct->node[i]) {
            tc__redis_untrack(ct->node[i]);
            ct->node[i] = NULL;
        }
    }
    pthread_mutex_unlock(&ct->mu);
    return rc;
}

/* The map's callback (tc__cmap_follow). */
static void follow(void *ud, int gained)
{
    tc__ctrack *ct = ud;
    tc__err err;

    if (gained) {
        drop_all(ct);
        return;
    }
    err.msg[0] = '\0';
    sync_readers(ct, 1, &err);
}

/*
 * The nodes the map names now are tracked before this returns; a map not
 * read yet (a cluster not answering) is followed once it is. A node that
 * refuses fails the call, as a single server that refuses does, so that
 * the cache says the L1 is bound by its TTL.
 */
int tc__cluster_track(tc__store *s, const tc__track_spec *spec, void **out,
                      tc__err *err)
{
    tc__cluster *c = (tc__cluster *)s;
    tc__ctrack *ct;
    int rc;

    *out = NULL;
    if (!(ct = tc__calloc(1, sizeof(*ct)))) {
        return tc__errf(err, TC_ENOMEM, "CLIENT TRACKING: out of memory");
    }
    ct->c = c;
    ct->spec = *spec;
    pthread_mutex_init(&ct->mu, NULL);
    ct->prefixes = tc__calloc(spec->nprefixes + 1, sizeof(char *));
    for (size_t i = 0; ct->prefixes && i < spec->nprefixes; i++) {
        if (!(ct->prefixes[i] = tc__strdup(spec->prefixes[i]))) {
            ct_free(ct);
            return tc__errf(err, TC_ENOMEM, "CLIENT TRACKING: out of memory");
        }
    }
    if (!ct->prefixes) {
        ct_free(ct);
        return tc__errf(err, TC_ENOMEM, "CLIENT TRACKING: out of memory");
    }
    ct->spec.prefixes = (const char *const *)ct->prefixes;
    ct->node_spec = ct->spec;
    ct->node_spec.invalidate = node_heard;
    ct->node_spec.ud = ct;
    /* following first: a node that joins the readers meanwhile is synced
     * by the refresher, which the map asks for it */
    tc__cmap_follow(c, follow, ct);
    pthread_rwlock_rdlock(&c->fmu);
    rc = sync_readers(ct, 0, err);
    pthread_rwlock_unlock(&c->fmu);
    if (rc != TC_OK) {
        tc__cluster_untrack(ct);
        return rc;
    }
    *out = ct;
    return TC_OK;
}

void tc__cluster_untrack(void *t)
{
    tc__ctrack *ct = t;

    if (!ct) {
        return;
    }
    tc__cmap_follow(ct->c, NULL, NULL); /* no sync runs after this */
    for (int i = 0; i < TC__CLUSTER_MAX_NODES; i++) {
        tc__redis_untrack(ct->node[i]);
    }
    ct_free(ct);
}
