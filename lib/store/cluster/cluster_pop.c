/*
 * cluster_pop.c - the popularity table on a Redis Cluster: redis_pop.c's
 * scripts, whose two keys share the hash tag {pop}, run on the master of
 * that slot. A redirect (MOVED, or CLUSTERDOWN during a failover) means
 * the node ran nothing: the map is read again and the call runs once
 * more on the master it names.
 */
#include <string.h>

#include "store/cluster/cluster.h"
#include "store/redis/redis_store.h"

/* The master of the table's slot, the map read first when it has none or
 * fresh is set; NULL with the failure in err and *rc. */
static tc__store *pop_node(tc__cluster *c, int fresh, int *rc, tc__err *err)
{
    unsigned slot =
        tc__cluster_slot(TC__POP_RANK_KEY, sizeof(TC__POP_RANK_KEY) - 1);
    int node = fresh ? -1 : tc__cmap_route(c, slot, 0);

    *rc = TC_OK;
    if (node < 0 && (*rc = tc__cmap_refresh(c, err)) == TC_OK &&
        (node = tc__cmap_route(c, slot, 0)) < 0) {
        *rc = tc__errf(err, TC_EUNAVAIL,
                       "popular: no node serves slot %u (the cluster's map "
                       "is not known yet)",
                       slot);
    }
    return node < 0 ? NULL : c->node[node]->st;
}

/* Whether err is a redirect or a cluster's refusal: the node ran nothing. */
static int moved(const tc__err *err)
{
    return strstr(err->msg, "MOVED ") || strstr(err->msg, "CLUSTERDOWN");
}

/* One operation of redis_pop.c, its arguments in ud. */
typedef struct pop_call {
    const tc__pop_add *items;
    size_t n, keep;
    tc__pop_top **out;
    size_t *got;
} pop_call;

/* Runs the call on the slot's master, once more on a fresh map's after a
 * redirect. */
static int run(tc__store *s, const pop_call *pc, tc__err *err)
{
    tc__cluster *c = (tc__cluster *)s;
    tc__store *st;
    int rc = TC_OK;

    for (int fresh = 0; fresh < 2; fresh++) {
        if (!(st = pop_node(c, fresh, &rc, err))) {
            break;
        }
        rc = pc->out ? tc__redis_pop_top(st, pc->n, pc->out, pc->got, err)
                     : tc__redis_pop_add(st, pc->items, pc->n, pc->keep, err);
        if (rc == TC_OK || !moved(err)) {
            break;
        }
    }
    if (rc == TC_EUNAVAIL || rc == TC_ETIMEOUT) {
        tc__cmap_want_refresh(c);
    }
    return rc;
}

int tc__cluster_pop_add(tc__store *s, const tc__pop_add *items, size_t n,
                        size_t keep, tc__err *err)
{
    pop_call pc = {items, n, keep, NULL, NULL};

    return run(s, &pc, err);
}

int tc__cluster_pop_top(tc__store *s, size_t n, tc__pop_top **out,
                        size_t *got, tc__err *err)
{
    pop_call pc = {NULL, n, 0, out, got};

    *out = NULL;
    *got = 0;
    return run(s, &pc, err);
}
