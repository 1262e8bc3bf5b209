/*
 * cluster_fixture.h - a private Redis Cluster on loopback: six
 * redis-servers (redis_fixture.c: each its own temp dir, free port and
 * cluster bus port), joined by redis-cli --cluster create into three
 * masters with a replica each, and waited on until every node says
 * cluster_state:ok. A suite starts one in its unchecked fixture (the
 * servers then outlive the forked tests) and stops it by pid.
 */
#ifndef TC_TEST_CLUSTER_FIXTURE_H
#define TC_TEST_CLUSTER_FIXTURE_H

#include "redis_fixture.h"

#define TCL_NODES 6
#define TCL_SLOTS 16384

typedef struct tcl tcl;

/* Starts and joins the cluster (node_timeout_ms: how soon a dead master
 * is failed over); NULL, with the reason on stderr, when it cannot. */
tcl *tcl_start(int node_timeout_ms);
/* The same with every node also serving TLS (its tls-port, and the
 * cluster bus and replication over TLS): tls_conf names the certificate
 * files (tls_fixture.h's tls_conf). The nodes keep their plain ports,
 * which trs_port and the fixture's own calls use; tcl_url is then
 * rediss-cluster:// on the TLS ports. */
tcl *tcl_start_tls(int node_timeout_ms, const char *tls_conf);
void tcl_stop(tcl *c);

/* redis-cluster://127.0.0.1:P,127.0.0.1:Q, the first two nodes. */
const char *tcl_url(const tcl *c);
/* Node i (0..TCL_NODES-1), for trs_cmd, trs_port and trs_kill. */
trs *tcl_node(tcl *c, int i);
/* The node serving slot as a master says it now (CLUSTER SLOTS asked of
 * a live node), and its first replica; -1 when none. */
int tcl_master_of(tcl *c, unsigned slot);
int tcl_replica_of(tcl *c, unsigned slot);
/* The first key "<prefix><n>" whose slot node i serves as master; ""
 * for a node that serves none (a replica). */
void tcl_key_on(tcl *c, int node, const char *prefix, char *out, size_t size);
/* The slot of a key, as the cluster computes it (CLUSTER KEYSLOT). */
int tcl_keyslot(tcl *c, const char *key);
/* Waits until every live node says cluster_state:ok; 0, or -1 after
 * wait_ms. */
int tcl_wait_ok(tcl *c, int wait_ms);

#endif
