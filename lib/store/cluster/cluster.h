/*
 * cluster.h - what the files of the Redis Cluster store share; only they
 * include it. From the bottom up, each file calling only those before it:
 *
 *   cluster_slot.c  CRC16 and the slot of a key, {hash tags} honoured
 *   cluster_map.c   the nodes (a Redis store each, redis_pool.c: its own
 *                   pool, timeouts and breaker), the slot map read with
 *                   CLUSTER SLOTS, and the thread that re-reads it
 *   cluster_call.c  the cache's operations: keys split by node, each
 *                   node's commands pipelined, MOVED, ASK, TRYAGAIN and
 *                   CLUSTERDOWN answered
 *   cluster_fb.c    feedback: redis_fb.c's operations, keys under the hash
 *                   tag {tc:fb}, on the master of that slot
 *   cluster_tables.c the popularity table and the tally: redis_pop.c's
 *                   and redis_tally.c's scripts on the master of the slot
 *                   of their hash tag ({pop}, {tally})
 *   cluster_track.c L1 coherence: redis_track.c's invalidation connection
 *                   on every node reads go to, following the map
 *   cluster.c       the table of operations and the opening
 *
 * The nodes are single-server Redis stores, so a node that dies trips its
 * own breaker only: the other masters' slots keep being served.
 */
#ifndef TC_STORE_CLUSTER_H
#define TC_STORE_CLUSTER_H

#include <pthread.h>
#include <stdint.h>

#include "store/store.h"

#define TC__CLUSTER_SLOTS 16384
/* Nodes a store keeps a pool for: masters, the replicas read from, seeds
 * and nodes named by redirects. Never removed before the store closes, so
 * an index stays valid without a lock. */
#define TC__CLUSTER_MAX_NODES 64

/* ---- cluster_slot.c ---------------------------------------------------- */

/* The slot of a key: CRC16 (XMODEM) of the key, or of the text between
 * its first '{' and the next '}' when that is not empty, modulo 16384. */
unsigned tc__cluster_slot(const char *key, size_t len);

/* ---- cluster_map.c ----------------------------------------------------- */

typedef struct tc__cnode {
    char *host;
    int port;
    tc__store *st; /* a Redis store on this node (redis_pool.c) */
} tc__cnode;

typedef struct tc__cluster {
    tc__store base;
    const tc__store_config *cfg;
    tc__logger log;
    int read_replica;
    /* Guards the slot map and nnodes; held briefly, never during I/O. */
    pthread_rwlock_t mu;
    tc__cnode *node[TC__CLUSTER_MAX_NODES];
    int nnodes;
    int16_t master[TC__CLUSTER_SLOTS];  /* node index; -1: unknown */
    int16_t replica[TC__CLUSTER_SLOTS]; /* for reads; -1: none */
    /* The nodes reads go to (tc__cmap_route with read set) over all the
     * slots, one bit per node index (TC__CLUSTER_MAX_NODES is 64). */
    uint64_t readers;
    /*
     * Who follows the readers (cluster_track.c), called through a pointer
     * since it sits above this file: with gained 1, from the thread that
     * changed the map, when a node became a reader; with gained 0, from
     * the refresher after each read of the map. The read lock of fmu is
     * held during a call; the write lock clears the pointer.
     */
    pthread_rwlock_t fmu;
    void (*follow)(void *ud, int gained);
    void *follow_ud;
    /* The refresher: a thread that re-reads the map when asked. */
    pthread_mutex_t rmu;
    pthread_cond_t rcv;
    int want, stop, started;
    pthread_t thread;
    _Atomic uint64_t refreshes, redirects, errors;
} tc__cluster;

/*
 * The nodes of cfg's URL (no connection opened) and an empty map.
 * Returns TC_OK; TC_ENOMEM; TC_EINVAL. tc__cmap_free closes every node
 * (stopping the refresher first) and accepts a half-made map.
 */
int tc__cmap_init(tc__cluster *c, tc__err *err);
void tc__cmap_free(tc__cluster *c);
/* Starts the refresher thread; TC_OK or TC_ENOMEM. */
int tc__cmap_start(tc__cluster *c, tc__err *err);

/*
 * Reads the slot map with CLUSTER SLOTS from the first node that answers
 * (the known masters, then the seeds) and installs it. Returns TC_OK, or
 * the last node's failure (TC_EUNAVAIL, TC_ETIMEOUT, TC_EAUTH...).
 */
int tc__cmap_refresh(tc__cluster *c, tc__err *err);
/* Asks the refresher for a new map (a node failed, or the cluster said
 * it is down); returns at once. */
void tc__cmap_want_refresh(tc__cluster *c);

/* The index of the node host:port, added when new; -1 when the table is
 * full or out of memory. */
int tc__cmap_node(tc__cluster *c, const char *host, size_t hlen, int port);
/* The node serving slot (a replica for a read when the URL asks for
 * one); -1 when the map has no node for it. */
int tc__cmap_route(tc__cluster *c, unsigned slot, int read);
/* MOVED: slot is now node's (the master, and no replica until the next
 * refresh says which). */
void tc__cmap_moved(tc__cluster *c, unsigned slot, int node);
/* The masters as the map has them, each once: up to max indexes in out;
 * returns how many. */
int tc__cmap_masters(tc__cluster *c, int *out, int max);
/* The nodes reads go to, as a mask of node indexes (c->readers). */
uint64_t tc__cmap_readers(tc__cluster *c);
/* Sets (fn NULL: clears) who follows the readers; the clearing returns
 * once no call of the old one is running. */
void tc__cmap_follow(tc__cluster *c, void (*fn)(void *ud, int gained),
                     void *ud);

/* ---- cluster_call.c ---------------------------------------------------- */

int tc__cluster_mget(tc__store *s, tc__store_get *items, size_t n,
                     tc__err *err);
int tc__cluster_mset(tc__store *s, tc__store_set *items, size_t n,
                     tc__err *err);
int tc__cluster_del(tc__store *s, const char *key, tc__err *err);
int tc__cluster_incr(tc__store *s, const char *key, int64_t *out, tc__err *err);

/* ---- cluster_tables.c -------------------------------------------------- */

/* The popularity table's and the tally's operations (store.h). */
int tc__cluster_pop_add(tc__store *s, const tc__pop_add *items, size_t n,
                        size_t keep, tc__err *err);
int tc__cluster_pop_top(tc__store *s, size_t n, tc__pop_top **out, size_t *got,
                        tc__err *err);
int tc__cluster_tally_add(tc__store *s, const tc__tally *items, size_t n,
                          const char *floor, tc__err *err);
int tc__cluster_tally_read(tc__store *s, tc__tally **out, size_t *n,
                           tc__err *err);

/* ---- cluster_fb.c ------------------------------------------------------ */

extern const struct tc__fb_ops tc__cluster_fb_ops;

/* ---- cluster_track.c --------------------------------------------------- */

/* The store's track and untrack (store.h). */
int tc__cluster_track(tc__store *s, const tc__track_spec *spec, void **out,
                      tc__err *err);
void tc__cluster_untrack(void *t);

#endif /* TC_STORE_CLUSTER_H */
