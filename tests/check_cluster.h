/*
 * check_cluster.h - what the cluster suite's files (check_cluster.c,
 * check_cluster_url.c, check_cluster_ops.c, check_cluster_fb.c) share: the
 * suite's cluster, started once by the unchecked fixture, and stores opened on
 * it.
 */
#ifndef TC_TEST_CHECK_CLUSTER_H
#define TC_TEST_CHECK_CLUSTER_H

#include "base/config.h"
#include "cluster_fixture.h"
#include "store/store.h"
#include "suites.h"

extern tcl *ccl;
void ccl_setup(void);
void ccl_teardown(void);

/* A cluster store on url (NULL: the suite's cluster) with both timeouts
 * timeout_ms; closed with its configuration by ccl_close. */
tc__store *ccl_open(tc__config *cfg, const char *url, int timeout_ms);
void ccl_close(tc__store *st, tc__config *cfg);

/* A master of the suite's cluster other than node (one serving slots). */
int ccl_other_master(int node);

/* One key set (60 s); and a key's value checked (want NULL: a miss). */
int ccl_put(tc__store *st, const char *key, const char *val);
void ccl_expect(tc__store *st, const char *key, const char *want);

/* The feedback tests (check_cluster_fb.c), added to a case whose
 * fixture starts the cluster. */
void cluster_fb_tests(TCase *tc);

#endif
