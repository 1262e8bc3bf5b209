/*
 * risk.c - whether the feedback store may lose what it is given. A Redis
 * that evicts keys without a TTL (maxmemory-policy allkeys-*) drops the
 * feedback stream and its counters once the cache fills it; one with
 * neither AOF nor save points drops everything on a restart. Both go
 * unnoticed until the corrections are wanted, so the store is asked when
 * the handle opens (again later, while it had not answered), the risk is
 * said once in the log, and feedback stats, the handle's stats and the
 * metrics carry it. So is a spool that no store will replay.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "feedback/feedback.h"

#define ADVICE                                                                 \
    "keep feedback apart (feedback_store, TUTORCACHE_FEEDBACK_STORE or "       \
    "--feedback-store) on a Redis that does not evict, a cluster or LMDB"

void tc__fb_risk_check(tc__fb *fb)
{
    tc__store_keeping k;
    tc__err err;
    char text[TC__FB_RISK_TEXT];
    int rc, say;

    if (!fb->store || !fb->store->ops->keeping) {
        return; /* memory: keeps nothing; LMDB keeps all on disk */
    }
    pthread_mutex_lock(&fb->risk_mu);
    if (fb->keep_known) {
        pthread_mutex_unlock(&fb->risk_mu);
        return;
    }
    pthread_mutex_unlock(&fb->risk_mu);
    if (fb->store->ops->resting(fb->store)) {
        return; /* down: no wait now, asked again by the next stats */
    }
    err.msg[0] = '\0';
    if ((rc = fb->store->ops->keeping(fb->store, &k, &err)) != TC_OK) {
        return; /* down: asked again by the next stats */
    }
    pthread_mutex_lock(&fb->risk_mu);
    say = !fb->keep_known;
    fb->keep = k;
    fb->keep_known = 1;
    pthread_mutex_unlock(&fb->risk_mu);
    if (say && tc__fb_risk_text(&k, text, sizeof(text))[0]) {
        const char *fields[] = {"detail",
                                text,
                                "maxmemory_policy",
                                k.policy,
                                "persistence",
                                k.persistence,
                                "store",
                                fb->cfg->store.url_masked,
                                NULL};

        tc__log(fb->log, TC_LOG_WARN, "feedback_at_risk", fields);
    }
}

void tc__fb_risk(tc__fb *fb, tc__store_keeping *out)
{
    if (!fb->store) {
        tc__store_keeping_unknown(out);
        return;
    }
    if (!fb->store->ops->keeping) {
        /* on disk, synchronously, and never evicted */
        out->evictable = 0;
        out->persistent = 1;
        snprintf(out->policy, sizeof(out->policy), "none");
        snprintf(out->persistence, sizeof(out->persistence), "disk");
        return;
    }
    pthread_mutex_lock(&fb->risk_mu);
    if (fb->keep_known) {
        *out = fb->keep;
    } else {
        tc__store_keeping_unknown(out);
    }
    pthread_mutex_unlock(&fb->risk_mu);
}

const char *tc__fb_risk_text(const tc__store_keeping *k, char *buf, size_t n)
{
    if (k->evictable == 1 && k->persistent == 0) {
        snprintf(buf, n,
                 "feedback may be evicted and lost on restart: the Redis "
                 "server's maxmemory-policy is %s, which drops keys without "
                 "a TTL when memory is full, and it has neither AOF nor "
                 "save points; set maxmemory-policy volatile-lru or "
                 "noeviction and appendonly yes, or " ADVICE,
                 k->policy);
    } else if (k->evictable == 1) {
        snprintf(buf, n,
                 "feedback may be evicted: the Redis server's "
                 "maxmemory-policy is %s, which drops keys without a TTL "
                 "when memory is full; set maxmemory-policy volatile-lru "
                 "or noeviction, or " ADVICE,
                 k->policy);
    } else if (k->persistent == 0) {
        snprintf(buf, n,
                 "feedback may be lost on restart: the Redis server has "
                 "neither AOF nor save points; set appendonly yes (or "
                 "save points), or " ADVICE);
    } else {
        buf[0] = '\0';
    }
    return buf;
}

/*
 * Until each store had a spool of its own (config_spool.c), every Redis
 * store's default spool was <state>/tutorcache/spool itself, the parent
 * of the directories it has now. Lines left there were spooled for a
 * store no one can name, so nothing replays them; a handle whose spool
 * is one of those directories says so once, when it opens, rather than
 * leave them unseen.
 */
void tc__fb_risk_orphans(tc__fb *fb)
{
    const char *dir = fb->cfg->spool_dir, *slash;
    char path[4096];
    struct stat st;

    if (!fb->cfg->spool_default || !dir ||
        fb->cfg->store.kind == TC__STORE_LMDB || !(slash = strrchr(dir, '/')) ||
        snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - dir), dir,
                 TC__SPOOL_NAME) >= (int)sizeof(path) ||
        stat(path, &st) != 0 || st.st_size == 0) {
        return;
    }
    {
        const char *fields[] = {
            "spool", path, "detail",
            "feedback spooled by an earlier version for a Redis store it "
            "does not name: nothing replays it; store it with tutorcache "
            "--store URL feedback import on the store it was meant for, "
            "then empty the file",
            NULL};

        tc__log(fb->log, TC_LOG_WARN, "feedback_spool_orphaned", fields);
    }
}
