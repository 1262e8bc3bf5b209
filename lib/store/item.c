/*
 * item.c - the checks every store's mget and mset make of their items
 * before sending them. It sits below every store and calls nothing of them.
 */
#include "store/store.h"

int tc__store_set_check(const tc__store_set *it, size_t i, tc__err *err)
{
    if (!it->key || (!it->val && it->len) || it->ttl_ms <= 0) {
        return tc__errf(err, TC_EINVAL,
                        "mset: item %zu: no key, no value or a ttl_ms <= 0", i);
    }
    return TC_OK;
}

void tc__store_get_clear(tc__store_get *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        items[i].val = NULL;
        items[i].len = 0;
        items[i].ttl_ms = -1;
        items[i].status = TC_MISS;
    }
}

int tc__store_get_check(tc__store_get *items, size_t n, tc__err *err)
{
    tc__store_get_clear(items, n);
    for (size_t i = 0; i < n; i++) {
        if (!items[i].key) {
            return tc__errf(err, TC_EINVAL, "mget: item %zu has no key", i);
        }
    }
    return TC_OK;
}
