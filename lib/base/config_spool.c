/*
 * config_spool.c - where feedback is spooled when no spool_dir is given:
 * a directory of the store's own. Any process whose store is the same
 * replays a spool (spool.c), so a spool shared by two stores would put
 * one store's records into the other: a record spooled while a staging
 * Redis was down would be stored by the next process of the same user
 * on the production cluster. LMDB's spool lies beside its directory; a
 * network store's lies under $XDG_STATE_HOME (~/.local/state), since it
 * is state to keep, not cache to lose, in a directory named after the
 * store's address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "base/cfgparse.h"
#include "base/sbuf.h"

/* s and its NUL: fields end where the next begins, so that no two
 * addresses read the same. */
static void put(tc__sb *b, const char *s)
{
    tc__sb_put(b, s, strlen(s) + 1);
}

static int by_seed(const void *a, const void *b)
{
    const tc__seed *x = a, *y = b;
    int c = strcmp(x->host, y->host);

    return c ? c : (x->port > y->port) - (x->port < y->port);
}

/*
 * What names a network store, whatever else its URL says (user,
 * password, TLS, timeouts, tracking): its kind, then a server's host and
 * port or socket and its database, or a cluster's seed nodes in any
 * order, since any of them leads to the same cluster. Fields are
 * NUL-separated.
 */
static int store_identity(const tc__store_config *st, const char *kind,
                          tc__sb *b)
{
    char num[24];

    put(b, kind);
    if (st->kind == TC__STORE_CLUSTER) {
        tc__seed *s = tc__calloc(st->nseeds, sizeof(*s));

        if (!s) {
            return TC_ENOMEM;
        }
        memcpy(s, st->seeds, st->nseeds * sizeof(*s));
        qsort(s, st->nseeds, sizeof(*s), by_seed);
        for (size_t i = 0; i < st->nseeds; i++) {
            snprintf(num, sizeof(num), "%d", s[i].port);
            put(b, s[i].host);
            put(b, num);
        }
        tc__free(s);
    } else if (st->unix_path) {
        put(b, st->unix_path);
    } else {
        snprintf(num, sizeof(num), "%d", st->port);
        put(b, st->host ? st->host : "");
        put(b, num);
    }
    if (st->kind != TC__STORE_CLUSTER) {
        snprintf(num, sizeof(num), "%d", st->db);
        put(b, num);
    }
    return b->oom ? TC_ENOMEM : TC_OK;
}

int tc__cfg_default_spool(tc__config *cfg, tc__err *err)
{
    const tc__store_config *st = &cfg->store;
    const char *state = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    const char *kind = st->kind == TC__STORE_CLUSTER ? "redis-cluster"
                       : st->unix_path               ? "unix"
                                                     : "redis";
    const char *root, *sub;
    unsigned long long h;
    tc__sb id = {NULL, 0, 0, 0};
    size_t n;

    tc__free(cfg->spool_dir);
    cfg->spool_dir = NULL;
    if (st->kind == TC__STORE_MEMORY) {
        return TC_OK; /* feedback is refused there: nothing to spool */
    }
    if (st->kind == TC__STORE_LMDB) {
        n = strlen(st->dir) + sizeof("/spool");
        if (!(cfg->spool_dir = tc__malloc(n))) {
            return tc__cfg_oom(err);
        }
        snprintf(cfg->spool_dir, n, "%s/spool", st->dir);
        return TC_OK;
    }
    if (state && state[0] == '/') {
        root = state;
        sub = "";
    } else if (home && home[0] == '/') {
        root = home;
        sub = "/.local/state";
    } else {
        return TC_OK; /* no home: no spool, and feedback fails when down */
    }
    if (store_identity(st, kind, &id) != TC_OK) {
        tc__free(id.p);
        return tc__cfg_oom(err);
    }
    h = (unsigned long long)XXH3_64bits(id.p, id.len);
    tc__free(id.p);
    n = strlen(root) + strlen(sub) + 96;
    if (!(cfg->spool_dir = tc__malloc(n))) {
        return tc__cfg_oom(err);
    }
    snprintf(cfg->spool_dir, n, "%s%s/tutorcache/spool/%s-%016llx", root, sub,
             kind, h);
    return TC_OK;
}
