/*
 * audit.c - the audit trail at the doors: the handle's trail opens with
 * it (config "audit_log"), and each door that changes state writes its
 * line once the layer below has answered, so a line holds the outcome.
 * Lines are written here, at the doors, rather than in the layers: a
 * door knows the operation the caller asked for (one mset, one purge),
 * while below it an operation is many store calls, and a classification's
 * own cache writes are no caller's operation. Batches: a line per key of
 * an mset (each has its own outcome), a line per call of an import,
 * export, ack or purge, with its count.
 */
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

#include "api/handle.h"
#include "base/seal.h"

#define OP_MAX 32

int tc__audit_start(tc_cache *h)
{
    const tc__config *cfg = tc__cache_config(h->core);
    tc__err err;
    int rc;

    if (!cfg->audit_log) {
        return TC_OK;
    }
    err.msg[0] = '\0';
    rc = tc__audit_open(&h->audit, cfg->audit_log, cfg->audit_reads,
                        tc__cache_logger(h->core), &err);
    return rc == TC_OK ? TC_OK : tc__fail(rc, "%s", err.msg);
}

void tc__audit_op(tc_cache *h, const char *op, const char *ns, const char *key,
                  int64_t count, int rc)
{
    tc__audit_ev ev = {op, ns, key, NULL, count, rc};

    tc__audit_write(h->audit, &ev);
}

void tc__audit_key(tc_cache *h, const char *op, const char *ns, const void *key,
                   size_t keylen, int rc)
{
    char k[TC_KEY_MAX];
    tc__err saved;

    if (!h->audit) {
        return;
    }
    /* the key's hashed form, computed without touching the caller's
     * detail of the operation (an unknown namespace has none) */
    snprintf(saved.msg, sizeof(saved.msg), "%s", tc__errmsg());
    if (tc__cache_key(k, h->core, ns, key, keylen) != TC_OK) {
        k[0] = '\0';
    }
    if (saved.msg[0]) {
        tc__fail(rc, "%s", saved.msg);
    } else {
        tc__clear();
    }
    tc__audit_op(h, op, ns, k[0] ? k : NULL, -1, rc);
}

void tc__audit_user(tc_cache *h, const char *op, const char *user_id,
                    const char *detail, int64_t count, int rc)
{
    char k[40];
    tc__audit_ev ev = {op, NULL, NULL, detail, count, rc};

    if (!h->audit) {
        return;
    }
    if (user_id) {
        /* a pseudonym: the trail names whose records went, not who; keyed
         * when keys are (key_secret_file), so that a reader of the trail
         * cannot confirm a guessed id either */
        const tc__keyring *kr = tc__cache_keys(h->core);
        uint64_t lo = 0, hi = 0;

        if (kr && kr->has_secret) {
            tc__keyed_hash128(&lo, &hi, kr->secret, "tc:audit:user", 13,
                              user_id, strlen(user_id));
        } else {
            lo = XXH3_64bits(user_id, strlen(user_id));
        }
        snprintf(k, sizeof(k), "user:%016llx", (unsigned long long)lo);
        ev.key = k;
    }
    tc__audit_write(h->audit, &ev);
}

TC_API void tc_audit_actor(const char *actor)
{
    tc__audit_actor(actor);
}

TC_API void tc_audit_reopen(void)
{
    tc__audit_reopen();
}

TC_API int tc_audit_record(tc_cache *h, const char *op, const char *ns,
                           const char *key, int outcome)
{
    size_t n;

    tc__clear();
    if (!h || !op) {
        return tc__fail(TC_EINVAL, "the handle or op is NULL");
    }
    n = strlen(op);
    if (n == 0 || n > OP_MAX ||
        strspn(op, "abcdefghijklmnopqrstuvwxyz_") != n) {
        return tc__fail(TC_EINVAL, "op: 1-%d characters of a-z and _", OP_MAX);
    }
    tc__audit_op(h, op, ns, key, -1, outcome);
    return TC_OK;
}
