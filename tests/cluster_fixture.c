/*
 * cluster_fixture.c - a private Redis Cluster (cluster_fixture.h). The
 * nodes are redis_fixture.c's servers with cluster mode on and a cluster
 * bus port of their own (the default, port + 10000, may not be free or
 * even valid); redis-cli --cluster create joins them, and the fixture
 * reads the topology back with CLUSTER SLOTS, since redis-cli picks which
 * node becomes whose replica.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "cluster_fixture.h"
#include "suites.h"

#define JOIN_WAIT_MS 30000

struct tcl {
    trs *node[TCL_NODES];
    char url[128];
};

/* redis-cli --cluster create over the nodes; 0 when it succeeded. */
static int join(tcl *c)
{
    char addr[TCL_NODES][32];
    const char *argv[TCL_NODES + 8];
    int n = 0, status, fd;
    pid_t pid;

    argv[n++] = "redis-cli";
    argv[n++] = "--cluster";
    argv[n++] = "create";
    for (int i = 0; i < TCL_NODES; i++) {
        snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%d",
                 trs_port(c->node[i]));
        argv[n++] = addr[i];
    }
    argv[n++] = "--cluster-replicas";
    argv[n++] = "1";
    argv[n++] = "--cluster-yes";
    argv[n] = NULL;
    pid = fork();
    if (pid < 0) {
        return -1;
    }
    if (pid == 0) {
        fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, STDIN_FILENO);
            dup2(fd, STDOUT_FILENO);
        }
        execvp("redis-cli", (char *const *)argv);
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int tcl_wait_ok(tcl *c, int wait_ms)
{
    int64_t deadline = tt_now_ms() + wait_ms;

    while (tt_now_ms() < deadline) {
        int ok = 1;

        for (int i = 0; i < TCL_NODES && ok; i++) {
            char *info;

            if (!c->node[i]) {
                continue;
            }
            info = trs_cmd(c->node[i], "CLUSTER INFO");
            ok = info && strstr(info, "cluster_state:ok") != NULL;
            free(info);
        }
        if (ok) {
            return 0;
        }
        tt_sleep_ms(50);
    }
    return -1;
}

static int slot_map(tcl *c, size_t pos, int owner[TCL_SLOTS]);

/* Waits until every slot has a replica in CLUSTER SLOTS: the cluster says
 * ok as soon as the masters serve, before the replicas are known. */
static int wait_replicas(tcl *c, int wait_ms)
{
    int64_t deadline = tt_now_ms() + wait_ms;
    int *owner = malloc(TCL_SLOTS * sizeof(*owner)), all = 0;

    while (owner && !all && tt_now_ms() < deadline) {
        all = slot_map(c, 3, owner) == 0;
        for (int s = 0; all && s < TCL_SLOTS; s++) {
            all = owner[s] >= 0;
        }
        if (!all) {
            tt_sleep_ms(50);
        }
    }
    free(owner);
    return all ? 0 : -1;
}

static tcl *start(int node_timeout_ms, const char *tls_conf)
{
    tcl *c = calloc(1, sizeof(*c));
    int tls_port[TCL_NODES] = {0};
    char conf[20000];

    if (!c) {
        return NULL;
    }
    for (int i = 0; i < TCL_NODES; i++) {
        int n = snprintf(conf, sizeof(conf),
                         "cluster-enabled yes\ncluster-config-file nodes.conf\n"
                         "cluster-node-timeout %d\ncluster-port %d\n",
                         node_timeout_ms, tt_free_port());

        if (tls_conf) {
            tls_port[i] = tt_free_port();
            snprintf(conf + n, sizeof(conf) - (size_t)n,
                     "tls-port %d\ntls-cluster yes\ntls-replication yes\n%s",
                     tls_port[i], tls_conf);
        }
        if (!(c->node[i] = trs_start(conf))) {
            tcl_stop(c);
            return NULL;
        }
    }
    if (join(c) != 0 || tcl_wait_ok(c, JOIN_WAIT_MS) != 0 ||
        wait_replicas(c, JOIN_WAIT_MS) != 0) {
        fprintf(stderr, "cluster fixture: the nodes did not join\n");
        tcl_stop(c);
        return NULL;
    }
    snprintf(c->url, sizeof(c->url),
             "redis%s-cluster://127.0.0.1:%d,127.0.0.1:%d", tls_conf ? "s" : "",
             tls_conf ? tls_port[0] : trs_port(c->node[0]),
             tls_conf ? tls_port[1] : trs_port(c->node[1]));
    return c;
}

tcl *tcl_start(int node_timeout_ms)
{
    return start(node_timeout_ms, NULL);
}

tcl *tcl_start_tls(int node_timeout_ms, const char *tls_conf)
{
    return start(node_timeout_ms, tls_conf);
}

void tcl_stop(tcl *c)
{
    if (!c) {
        return;
    }
    for (int i = 0; i < TCL_NODES; i++) {
        trs_stop(c->node[i]);
    }
    free(c);
}

const char *tcl_url(const tcl *c)
{
    return c->url;
}

trs *tcl_node(tcl *c, int i)
{
    return c->node[i];
}

static int node_of_port(tcl *c, long long port)
{
    for (int i = 0; i < TCL_NODES; i++) {
        if (c->node[i] && trs_port(c->node[i]) == port) {
            return i;
        }
    }
    return -1;
}

/* CLUSTER SLOTS asked of the first live node: for each slot, the node
 * at position pos of its entry (2: the master, 3: its first replica), or
 * -1. Returns 0, or -1 when no node answered. */
static int slot_map(tcl *c, size_t pos, int owner[TCL_SLOTS])
{
    for (int s = 0; s < TCL_SLOTS; s++) {
        owner[s] = -1;
    }
    for (int i = 0; i < TCL_NODES; i++) {
        struct timeval tv = {2, 0};
        redisContext *rc;
        redisReply *r;
        int answered = 0;

        if (!c->node[i]) {
            continue;
        }
        rc = redisConnectWithTimeout("127.0.0.1", trs_port(c->node[i]), tv);
        r = rc && !rc->err ? redisCommand(rc, "CLUSTER SLOTS") : NULL;
        for (size_t e = 0; r && r->type == REDIS_REPLY_ARRAY && e < r->elements;
             e++) {
            redisReply *en = r->element[e];

            answered = 1;
            for (long long s = en->element[0]->integer;
                 en->elements > pos && s <= en->element[1]->integer; s++) {
                owner[s] =
                    node_of_port(c, en->element[pos]->element[1]->integer);
            }
        }
        if (r) {
            freeReplyObject(r);
        }
        redisFree(rc);
        if (answered) {
            return 0;
        }
    }
    return -1;
}

static int slot_node(tcl *c, unsigned slot, size_t pos)
{
    int *owner = malloc(TCL_SLOTS * sizeof(*owner)), i = -1;

    if (owner && slot < TCL_SLOTS && slot_map(c, pos, owner) == 0) {
        i = owner[slot];
    }
    free(owner);
    return i;
}

int tcl_master_of(tcl *c, unsigned slot)
{
    return slot_node(c, slot, 2);
}

int tcl_replica_of(tcl *c, unsigned slot)
{
    return slot_node(c, slot, 3);
}

int tcl_keyslot(tcl *c, const char *key)
{
    for (int i = 0; i < TCL_NODES; i++) {
        char *r =
            c->node[i] ? trs_cmd(c->node[i], "CLUSTER KEYSLOT %s", key) : NULL;

        if (r) {
            int s = atoi(r);

            free(r);
            return s;
        }
    }
    return -1;
}

/* The first "<prefix><n>" whose slot node serves, the slots asked of one
 * connection; a replica serves none, and gets "". */
void tcl_key_on(tcl *c, int node, const char *prefix, char *out, size_t size)
{
    int *owner = malloc(TCL_SLOTS * sizeof(*owner)), any = 0;
    struct timeval tv = {2, 0};
    redisContext *rc = NULL;

    out[0] = '\0';
    if (!owner || slot_map(c, 2, owner) != 0) {
        free(owner);
        return;
    }
    for (int s = 0; s < TCL_SLOTS; s++) {
        any |= owner[s] == node;
    }
    for (int i = 0; any && !rc && i < TCL_NODES; i++) {
        rc = c->node[i] ? redisConnectWithTimeout("127.0.0.1",
                                                  trs_port(c->node[i]), tv)
                        : NULL;
        if (rc && rc->err) {
            redisFree(rc);
            rc = NULL;
        }
    }
    for (int n = 0; rc && n < 1000000; n++) {
        redisReply *r;
        int slot;

        snprintf(out, size, "%s%d", prefix, n);
        r = redisCommand(rc, "CLUSTER KEYSLOT %s", out);
        slot = r && r->type == REDIS_REPLY_INTEGER ? (int)r->integer : -1;
        if (r) {
            freeReplyObject(r);
        }
        if (slot >= 0 && owner[slot] == node) {
            break;
        }
        out[0] = slot < 0 ? '\0' : out[0];
        if (slot < 0) {
            break;
        }
    }
    redisFree(rc);
    free(owner);
}
