/*
 * keeping.c - what a store says of how it keeps keys (tc__store_keeping),
 * shared by the stores: the "nothing known" value, and the worse of two,
 * which a cluster folds over its masters since a record lives on one of
 * them and any of them may be the one that evicts.
 */
#include <stdio.h>
#include <string.h>

#include "store/store.h"

void tc__store_keeping_unknown(tc__store_keeping *k)
{
    k->evictable = -1;
    k->persistent = -1;
    snprintf(k->policy, sizeof(k->policy), "unknown");
    snprintf(k->persistence, sizeof(k->persistence), "unknown");
}

/* How bad a flag is: known bad, then unknown, then known good. */
static int rank(int flag, int bad)
{
    return flag == bad ? 2 : flag == -1 ? 1 : 0;
}

/* The names follow the flag that won. */
void tc__store_keeping_worse(tc__store_keeping *acc,
                             const tc__store_keeping *one)
{
    if (rank(one->evictable, 1) > rank(acc->evictable, 1)) {
        acc->evictable = one->evictable;
        memcpy(acc->policy, one->policy, sizeof(acc->policy));
    }
    if (rank(one->persistent, 0) > rank(acc->persistent, 0)) {
        acc->persistent = one->persistent;
        memcpy(acc->persistence, one->persistence, sizeof(acc->persistence));
    }
}
