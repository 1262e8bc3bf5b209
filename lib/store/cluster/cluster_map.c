/*
 * cluster_map.c - which node serves which slot. The map is read with
 * CLUSTER SLOTS from any node that answers and kept as two arrays of
 * node indexes (master, and replica for reads), swapped in whole under a
 * write lock; routing takes the read lock for two array reads. Each node
 * is a single-server Redis store (redis_pool.c) with its own pool,
 * timeouts and breaker.
 *
 * A redirect (MOVED) updates one slot at once; anything that says the
 * topology changed (a node unreachable, CLUSTERDOWN) asks a thread of the
 * store to re-read the whole map, so the call that met the failure
 * answers within its timeout instead of waiting for other nodes. The
 * thread re-reads at most every REFRESH_GAP_MS while asked, which is how
 * a failover is followed: the map names the dead master until its
 * replica is promoted, then the promoted one.
 *
 * The map also keeps which nodes reads go to (c->readers): when a node
 * joins them (a promoted replica, a MOVED to a new master, a node added)
 * the L1 tracking (cluster_track.c) is told at once, and again after the
 * refresher's next read, when it starts hearing that node's writes.
 */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/cluster/cluster.h"
#include "store/redis/redis_store.h"

/* The least time between two reads of the map by the refresher: a
 * failover takes a second or more, and a dead node should not be asked
 * for a map hundreds of times meanwhile. */
#define REFRESH_GAP_MS 100
#define NS_PER_MS 1000000L
#define NS_PER_S 1000000000L
/* CLUSTER SLOTS: an entry is start, end, then the master and each
 * replica as [host, port, id, ...]. */
#define SLOTS_NODES 2

/* The table of the node stores: nothing calls it, the cluster calls the
 * node stores' functions directly. */
static const tc__store_ops node_ops = {.kind = "redis"};

/* A new node store on host:port with the URL's user, password and
 * timeouts; no connection yet. */
static tc__cnode *node_new(tc__cluster *c, const char *host, size_t hlen,
                           int port)
{
    tc__store_config nc = *c->cfg;
    tc__cnode *nd = tc__calloc(1, sizeof(*nd));
    tc__err err;

    if (!nd || !(nd->host = tc__strndup(host, hlen))) {
        tc__free(nd);
        return NULL;
    }
    nc.kind = TC__STORE_REDIS;
    nc.host = nd->host;
    nc.port = port;
    nc.unix_path = NULL;
    nc.url_masked = NULL; /* messages name the node: redis://host:port */
    nc.seeds = NULL;
    nc.nseeds = 0;
    nd->port = port;
    if (tc__redis_new(&nd->st, &node_ops, &nc, &c->log, &err) != TC_OK) {
        tc__free(nd->host);
        tc__free(nd);
        return NULL;
    }
    return nd;
}

/* With c->mu held for writing: node host:port, added when new. */
static int node_locked(tc__cluster *c, const char *host, size_t hlen, int port)
{
    for (int i = 0; i < c->nnodes; i++) {
        const tc__cnode *nd = c->node[i];

        if (nd->port == port && strlen(nd->host) == hlen &&
            memcmp(nd->host, host, hlen) == 0) {
            return i;
        }
    }
    if (c->nnodes == TC__CLUSTER_MAX_NODES ||
        !(c->node[c->nnodes] = node_new(c, host, hlen, port))) {
        return -1;
    }
    return c->nnodes++;
}

int tc__cmap_node(tc__cluster *c, const char *host, size_t hlen, int port)
{
    int i;

    pthread_rwlock_wrlock(&c->mu);
    i = node_locked(c, host, hlen, port);
    pthread_rwlock_unlock(&c->mu);
    return i;
}

int tc__cmap_route(tc__cluster *c, unsigned slot, int read)
{
    int i;

    pthread_rwlock_rdlock(&c->mu);
    i = c->master[slot];
    if (read && c->read_replica && c->replica[slot] >= 0) {
        i = c->replica[slot];
    }
    pthread_rwlock_unlock(&c->mu);
    return i;
}

/*
 * With c->mu held for writing: the nodes reads go to now, kept in
 * c->readers; returns those that were not readers before. A scan of the
 * slots, which only a new map or a redirect pays for.
 */
static uint64_t new_readers_locked(tc__cluster *c)
{
    uint64_t now = 0, gained;

    for (unsigned s = 0; s < TC__CLUSTER_SLOTS; s++) {
        int i = c->read_replica && c->replica[s] >= 0 ? c->replica[s]
                                                      : c->master[s];

        if (i >= 0) {
            now |= UINT64_C(1) << i;
        }
    }
    gained = now & ~c->readers;
    c->readers = now;
    return gained;
}

/* A node became a reader: who follows hears it at once (and drops what
 * L1 holds), and the refresher, asked for a new map, calls it again to
 * track the node. Nobody following (no tracking, or not yet): nothing. */
static void readers_gained(tc__cluster *c)
{
    int following;

    pthread_rwlock_rdlock(&c->fmu);
    following = c->follow != NULL;
    if (following) {
        c->follow(c->follow_ud, 1);
    }
    pthread_rwlock_unlock(&c->fmu);
    if (following) {
        tc__cmap_want_refresh(c);
    }
}

void tc__cmap_moved(tc__cluster *c, unsigned slot, int node)
{
    uint64_t gained;

    pthread_rwlock_wrlock(&c->mu);
    c->master[slot] = (int16_t)node;
    c->replica[slot] = -1;
    gained = new_readers_locked(c);
    pthread_rwlock_unlock(&c->mu);
    atomic_fetch_add(&c->redirects, 1);
    if (gained) {
        readers_gained(c);
    }
}

uint64_t tc__cmap_readers(tc__cluster *c)
{
    uint64_t r;

    pthread_rwlock_rdlock(&c->mu);
    r = c->readers;
    pthread_rwlock_unlock(&c->mu);
    return r;
}

void tc__cmap_follow(tc__cluster *c, void (*fn)(void *ud, int gained), void *ud)
{
    pthread_rwlock_wrlock(&c->fmu);
    c->follow = fn;
    c->follow_ud = ud;
    pthread_rwlock_unlock(&c->fmu);
}

int tc__cmap_masters(tc__cluster *c, int *out, int max)
{
    unsigned char seen[TC__CLUSTER_MAX_NODES] = {0};
    int n = 0;

    pthread_rwlock_rdlock(&c->mu);
    for (unsigned s = 0; s < TC__CLUSTER_SLOTS && n < max; s++) {
        int i = c->master[s];

        if (i >= 0 && !seen[i]) {
            seen[i] = 1;
            out[n++] = i;
        }
    }
    pthread_rwlock_unlock(&c->mu);
    return n;
}

/* ---- reading the map --------------------------------------------------- */

/* A map being read: the node that answered (its host stands in for an
 * empty one in the reply) and the new arrays. */
typedef struct newmap {
    tc__cluster *c;
    const tc__cnode *from;
    int16_t master[TC__CLUSTER_SLOTS];
    int16_t replica[TC__CLUSTER_SLOTS];
} newmap;

/* The node of a [host, port, ...] element, added when new; -1 when the
 * element is not one or the table is full. */
static int entry_node(newmap *m, const tc__rrep *e)
{
    const tc__rrep *h = tc__rrep_at(e, 0), *p = tc__rrep_at(e, 1);
    const char *host;
    size_t hlen;

    if (!h || !p || h->type != REDIS_REPLY_STRING ||
        p->type != REDIS_REPLY_INTEGER || p->integer <= 0 ||
        p->integer > 65535) {
        return -1;
    }
    host = h->str;
    hlen = h->len;
    if (hlen == 0 || (hlen == 1 && host[0] == '?')) {
        host = m->from->host; /* "I do not know my address": the asked */
        hlen = strlen(host);
    }
    return node_locked(m->c, host, hlen, (int)p->integer);
}

/* Installs the map of a CLUSTER SLOTS reply; TC_EPROTO for a reply of
 * another shape, which changes nothing. */
static int install(newmap *m, const tc__rrep *r, tc__err *err)
{
    tc__cluster *c = m->c;
    uint64_t gained = 0;
    int rc = TC_OK;

    memset(m->master, 0xff, sizeof(m->master));
    memset(m->replica, 0xff, sizeof(m->replica));
    pthread_rwlock_wrlock(&c->mu);
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const tc__rrep *e = tc__rrep_at(r, i);
        const tc__rrep *lo = tc__rrep_at(e, 0), *hi = tc__rrep_at(e, 1);
        int mi, ri = -1;

        if (!lo || !hi || lo->integer < 0 || hi->integer < lo->integer ||
            hi->integer >= TC__CLUSTER_SLOTS ||
            (mi = entry_node(m, tc__rrep_at(e, SLOTS_NODES))) < 0) {
            rc = tc__errf(err, TC_EPROTO,
                          "CLUSTER SLOTS on %s:%d: an entry that is not a "
                          "slot range and its master, or too many nodes",
                          m->from->host, m->from->port);
            break;
        }
        /* The first replica that is a node at all; only kept (and given
         * a pool) when reads may go to replicas. */
        for (size_t j = SLOTS_NODES + 1;
             c->read_replica && ri < 0 && j < e->elements; j++) {
            ri = entry_node(m, tc__rrep_at(e, j));
        }
        for (long long s = lo->integer; s <= hi->integer; s++) {
            m->master[s] = (int16_t)mi;
            m->replica[s] = (int16_t)ri;
        }
    }
    if (rc == TC_OK && r->type != REDIS_REPLY_ARRAY) {
        rc = tc__errf(err, TC_EPROTO, "CLUSTER SLOTS on %s:%d: not an array",
                      m->from->host, m->from->port);
    }
    if (rc == TC_OK) {
        memcpy(c->master, m->master, sizeof(c->master));
        memcpy(c->replica, m->replica, sizeof(c->replica));
        gained = new_readers_locked(c);
    }
    pthread_rwlock_unlock(&c->mu);
    if (gained) {
        readers_gained(c);
    }
    return rc;
}

static int read_slots(tc__rcall *cl, tc__rsink *k, void *ud)
{
    const tc__rrep *r = &k->slot[0];

    if (r->type == REDIS_REPLY_ERROR) {
        return tc__redis_error_reply(cl, r);
    }
    return install(ud, r, tc__redis_call_err(cl));
}

/* CLUSTER SLOTS on node i, its map installed. */
static int ask_node(tc__cluster *c, newmap *m, int i, tc__err *err)
{
    tc__rrep r;
    tc__rsink k;
    tc__req q;
    int rc;

    m->from = c->node[i];
    tc__sink_init(&k, &r, 1, 1);
    tc__req_init(&q);
    tc__req_cmd1(&q, "CLUSTER", "SLOTS");
    rc = tc__redis_run(c->node[i]->st, TC__REDIS_IDEMPOTENT, "CLUSTER SLOTS",
                       NULL, 0, &q, &k, read_slots, m, err);
    tc__sink_clear(&k);
    tc__req_free(&q);
    return rc;
}

int tc__cmap_refresh(tc__cluster *c, tc__err *err)
{
    int order[TC__CLUSTER_MAX_NODES], n, rc = TC_EUNAVAIL;
    newmap *m = tc__malloc(sizeof(*m));

    if (!m) {
        return tc__errf(err, TC_ENOMEM, "cluster: out of memory");
    }
    m->c = c;
    /* The masters first (they know the map best), then every node: the
     * seeds, and the replicas of a map that has them. */
    n = tc__cmap_masters(c, order, TC__CLUSTER_MAX_NODES);
    pthread_rwlock_rdlock(&c->mu);
    for (int i = 0; i < c->nnodes && n < TC__CLUSTER_MAX_NODES; i++) {
        int dup = 0;

        for (int j = 0; j < n; j++) {
            dup |= order[j] == i;
        }
        if (!dup) {
            order[n++] = i;
        }
    }
    pthread_rwlock_unlock(&c->mu);
    tc__errf(err, TC_EUNAVAIL, "cluster: no node to ask for the slot map");
    for (int i = 0; i < n; i++) {
        rc = ask_node(c, m, order[i], err);
        if (rc == TC_OK || rc == TC_ENOMEM) {
            break;
        }
    }
    tc__free(m);
    if (rc == TC_OK) {
        atomic_fetch_add(&c->refreshes, 1);
    }
    return rc;
}

/* ---- the refresher ----------------------------------------------------- */

void tc__cmap_want_refresh(tc__cluster *c)
{
    pthread_mutex_lock(&c->rmu);
    if (!c->want) {
        c->want = 1;
        pthread_cond_signal(&c->rcv);
    }
    pthread_mutex_unlock(&c->rmu);
}

/* Now plus ms on the monotonic clock of c->rcv. */
static struct timespec after_ms(int64_t ms)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * NS_PER_MS;
    if (t.tv_nsec >= NS_PER_S) {
        t.tv_sec++;
        t.tv_nsec -= NS_PER_S;
    }
    return t;
}

/*
 * Waits to be asked, reads the map, then rests REFRESH_GAP_MS (still
 * stoppable) before it may read again. A read that fails asks again, so
 * that a cluster that was unreachable is found once it answers.
 */
static void *refresher(void *arg)
{
    tc__cluster *c = arg;
    struct timespec until;
    tc__err err;
    int rc;

    pthread_mutex_lock(&c->rmu);
    while (!c->stop) {
        if (!c->want) {
            pthread_cond_wait(&c->rcv, &c->rmu);
            continue;
        }
        c->want = 0;
        pthread_mutex_unlock(&c->rmu);
        err.msg[0] = '\0';
        rc = tc__cmap_refresh(c, &err);
        /* the readers' trackers follow the map just read */
        pthread_rwlock_rdlock(&c->fmu);
        if (c->follow) {
            c->follow(c->follow_ud, 0);
        }
        pthread_rwlock_unlock(&c->fmu);
        pthread_mutex_lock(&c->rmu);
        c->want |= rc != TC_OK;
        until = after_ms(REFRESH_GAP_MS);
        while (!c->stop &&
               pthread_cond_timedwait(&c->rcv, &c->rmu, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&c->rmu);
    return NULL;
}

int tc__cmap_init(tc__cluster *c, tc__err *err)
{
    pthread_condattr_t ca;

    memset(c->master, 0xff, sizeof(c->master));
    memset(c->replica, 0xff, sizeof(c->replica));
    pthread_rwlock_init(&c->mu, NULL);
    pthread_rwlock_init(&c->fmu, NULL);
    pthread_mutex_init(&c->rmu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->rcv, &ca);
    pthread_condattr_destroy(&ca);
    for (size_t i = 0; i < c->cfg->nseeds; i++) {
        const tc__seed *sd = &c->cfg->seeds[i];

        if (tc__cmap_node(c, sd->host, strlen(sd->host), sd->port) < 0) {
            return tc__errf(err, TC_ENOMEM, "cluster: out of memory");
        }
    }
    if (c->nnodes == 0) {
        return tc__errf(err, TC_EINVAL, "cluster: no node in the URL");
    }
    return TC_OK;
}

int tc__cmap_start(tc__cluster *c, tc__err *err)
{
    if (pthread_create(&c->thread, NULL, refresher, c) != 0) {
        return tc__errf(err, TC_ENOMEM,
                        "cluster: cannot start the thread "
                        "that follows the slot map");
    }
    c->started = 1;
    return TC_OK;
}

void tc__cmap_free(tc__cluster *c)
{
    if (c->started) {
        pthread_mutex_lock(&c->rmu);
        c->stop = 1;
        pthread_cond_signal(&c->rcv);
        pthread_mutex_unlock(&c->rmu);
        pthread_join(c->thread, NULL);
        c->started = 0;
    }
    for (int i = 0; i < c->nnodes; i++) {
        tc__redis_close(c->node[i]->st);
        tc__free(c->node[i]->host);
        tc__free(c->node[i]);
    }
    c->nnodes = 0;
    pthread_rwlock_destroy(&c->mu);
    pthread_rwlock_destroy(&c->fmu);
    pthread_mutex_destroy(&c->rmu);
    pthread_cond_destroy(&c->rcv);
}
