/*
 * cluster_tables.c - the tables a Redis Cluster keeps in one slot each,
 * the popularity table (redis_pop.c's scripts, keys under the hash tag
 * {pop}) and the tally (redis_tally.c's, {tally}): each operation runs
 * the single server's on the master of its key's slot. A redirect
 * (MOVED, or CLUSTERDOWN during a failover) means the node ran nothing:
 * the map is read again and the call runs once more on the master it
 * names.
 */
#include <string.h>

#include "store/cluster/cluster.h"
#include "store/redis/redis_store.h"

/* The master of key's slot, the map read first when it has none or
 * fresh is set; NULL with the failure in err and *rc. */
static tc__store *slot_master(tc__cluster *c, const char *key, int fresh,
                              int *rc, tc__err *err)
{
    unsigned slot = tc__cluster_slot(key, strlen(key));
    int node = fresh ? -1 : tc__cmap_route(c, slot, 0);

    *rc = TC_OK;
    if (node < 0 && (*rc = tc__cmap_refresh(c, err)) == TC_OK &&
        (node = tc__cmap_route(c, slot, 0)) < 0) {
        *rc = tc__errf(err, TC_EUNAVAIL,
                       "%s: no node serves slot %u (the cluster's map is "
                       "not known yet)",
                       key, slot);
    }
    return node < 0 ? NULL : c->node[node]->st;
}

/* Whether err is a redirect or a cluster's refusal: the node ran nothing. */
static int moved(const tc__err *err)
{
    return strstr(err->msg, "MOVED ") || strstr(err->msg, "CLUSTERDOWN");
}

/* One operation of the single server's, its arguments in the call. */
typedef struct table_call {
    int (*run)(tc__store *node, const struct table_call *tc, tc__err *err);
    const tc__pop_add *items;
    size_t n, keep;
    tc__pop_top **top;
    size_t *got;
    const tc__tally *tally;
    const char *floor;
    tc__tally **read;
} table_call;

/* Runs the call on the master of key's slot, once more on a fresh map's
 * after a redirect. */
static int on_master(tc__store *s, const char *key, const table_call *tc,
                     tc__err *err)
{
    tc__cluster *c = (tc__cluster *)s;
    tc__store *st;
    int rc = TC_OK;

    for (int fresh = 0; fresh < 2; fresh++) {
        if (!(st = slot_master(c, key, fresh, &rc, err))) {
            break;
        }
        rc = tc->run(st, tc, err);
        if (rc == TC_OK || !moved(err)) {
            break;
        }
    }
    if (rc == TC_EUNAVAIL || rc == TC_ETIMEOUT) {
        tc__cmap_want_refresh(c);
    }
    return rc;
}

static int pop_add(tc__store *node, const table_call *tc, tc__err *err)
{
    return tc__redis_pop_add(node, tc->items, tc->n, tc->keep, err);
}

static int pop_top(tc__store *node, const table_call *tc, tc__err *err)
{
    return tc__redis_pop_top(node, tc->n, tc->top, tc->got, err);
}

static int tally_add(tc__store *node, const table_call *tc, tc__err *err)
{
    return tc__redis_tally_add(node, tc->tally, tc->n, tc->floor, err);
}

static int tally_read(tc__store *node, const table_call *tc, tc__err *err)
{
    return tc__redis_tally_read(node, tc->read, tc->got, err);
}

int tc__cluster_pop_add(tc__store *s, const tc__pop_add *items, size_t n,
                        size_t keep, tc__err *err)
{
    table_call tc = {.run = pop_add, .items = items, .n = n, .keep = keep};

    return on_master(s, TC__POP_RANK_KEY, &tc, err);
}

int tc__cluster_pop_top(tc__store *s, size_t n, tc__pop_top **out, size_t *got,
                        tc__err *err)
{
    table_call tc = {.run = pop_top, .n = n, .top = out, .got = got};

    *out = NULL;
    *got = 0;
    return on_master(s, TC__POP_RANK_KEY, &tc, err);
}

int tc__cluster_tally_add(tc__store *s, const tc__tally *items, size_t n,
                          const char *floor, tc__err *err)
{
    table_call tc = {.run = tally_add, .tally = items, .n = n, .floor = floor};

    return on_master(s, TC__TALLY_KEY, &tc, err);
}

int tc__cluster_tally_read(tc__store *s, tc__tally **out, size_t *n,
                           tc__err *err)
{
    table_call tc = {.run = tally_read, .read = out, .got = n};

    *out = NULL;
    *n = 0;
    return on_master(s, TC__TALLY_KEY, &tc, err);
}
