/*
 * item.c - the check every store's mset makes of an item before sending
 * it. It sits below every store and calls nothing of them.
 */
#include "store/store.h"

int tc__store_set_check(const tc__store_set *it, size_t i, tc__err *err)
{
    if (!it->key || (!it->val && it->len) || it->ttl_ms <= 0) {
        return tc__errf(err, TC_EINVAL,
                        "mset: item %zu: no key, no value or a ttl_ms <= 0",
                        i);
    }
    return TC_OK;
}
