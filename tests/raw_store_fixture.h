/*
 * raw_store_fixture.h - a store opened on a test backend's URL without a
 * cache handle, for suites that check what a store itself keeps (its
 * tables' order and trims) under the cache's feet.
 */
#ifndef TC_TEST_RAW_STORE_FIXTURE_H
#define TC_TEST_RAW_STORE_FIXTURE_H

#include "base/config.h"
#include "cache_fixture.h"
#include "store/store.h"

/* b's store, opened from its URL with 2 s timeouts and a pool of two;
 * cfg receives the parsed configuration, freed by the caller
 * (tc__config_free) after the store's close. Fails the test on error. */
tc__store *raw_store_open(bk *b, tc__config *cfg);

#endif
