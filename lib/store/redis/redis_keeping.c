/*
 * redis_keeping.c - how the server keeps keys: its maxmemory-policy and
 * its persistence, asked with CONFIG GET (three commands, one round
 * trip). A server that refuses CONFIG (an ACL, or the command renamed,
 * as managed services do) is asked with INFO, which tells the policy and
 * whether AOF is on but not the save points: a server without AOF is
 * then "unknown", never guessed safe.
 */
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "store/redis/redis_store.h"

/* The value of a CONFIG GET reply, [name, value]; NULL for an error
 * reply (refused, renamed) or an empty array (no such parameter). */
static const char *config_value(const tc__rrep *r)
{
    const tc__rrep *v = tc__rrep_at(r, 1);

    return v && v->type == REDIS_REPLY_STRING ? v->str : NULL;
}

/* The value of "name:value\r\n" in an INFO reply (n bytes long), or NULL. */
static const char *info_field(const tc__rrep *r, const char *name, size_t *n)
{
    size_t len = strlen(name);
    const char *p;

    if (r->type != REDIS_REPLY_STRING) {
        return NULL;
    }
    for (p = r->str; *p; p++) {
        if (strncmp(p, name, len) == 0 && p[len] == ':') {
            *n = strcspn(p + len + 1, "\r\n");
            return p + len + 1;
        }
        if (!(p = strchr(p, '\n'))) {
            break;
        }
    }
    return NULL;
}

static void set_policy(tc__store_keeping *k, const char *policy, size_t n)
{
    snprintf(k->policy, sizeof(k->policy), "%.*s", (int)n, policy);
    /* volatile-* and noeviction never take a key without a TTL */
    k->evictable = strncmp(k->policy, "allkeys-", 8) == 0;
}

/* aof and save: 1 on, 0 off, -1 not known. */
static void set_persistence(tc__store_keeping *k, int aof, int save)
{
    const char *name = "unknown";

    k->persistent = aof == 1 || save == 1 ? 1 : aof == 0 && save == 0 ? 0 : -1;
    if (aof == 1 && save == 1) {
        name = "aof+rdb";
    } else if (aof == 1) {
        name = "aof";
    } else if (save == 1) {
        name = "rdb";
    } else if (k->persistent == 0) {
        name = "none";
    }
    snprintf(k->persistence, sizeof(k->persistence), "%s", name);
}

/* Runs argc-word commands cmds[0..n) in one round trip into k. */
static int ask(tc__store *s, const char *const *cmds, int argc, size_t n,
               tc__rsink *k, tc__err *err)
{
    tc__req q;
    int rc;

    tc__req_init(&q);
    for (size_t i = 0; i < n; i++) {
        tc__req_argv(&q, argc, cmds + i * (size_t)argc);
    }
    /* error replies are read here, not by the pool: a refused CONFIG is
     * an answer, not a failure of the server */
    rc = tc__redis_run(s, TC__REDIS_IDEMPOTENT, cmds[0], cmds[argc - 1], n, &q,
                       k, NULL, NULL, err);
    tc__req_free(&q);
    return rc;
}

int tc__redis_keeping(tc__store *s, tc__store_keeping *out, tc__err *err)
{
    static const char *const config[] = {"CONFIG", "GET", "maxmemory-policy",
                                         "CONFIG", "GET", "appendonly",
                                         "CONFIG", "GET", "save"};
    static const char *const info[] = {"INFO", "memory", "INFO", "persistence"};
    tc__rrep stack[3];
    tc__rsink k = {NULL, 0, 0, 0};
    const char *v;
    int aof = -1, save = -1, rc;
    size_t n;

    tc__store_keeping_unknown(out);
    if (tc__sink_init(&k, stack, 3, 1) != 0) {
        return tc__errf(err, TC_ENOMEM, "CONFIG GET: out of memory");
    }
    if ((rc = ask(s, config, 3, 3, &k, err)) != TC_OK) {
        tc__sink_free(&k, stack);
        return rc;
    }
    if ((v = config_value(&k.slot[0]))) {
        set_policy(out, v, strlen(v));
    }
    if ((v = config_value(&k.slot[1]))) {
        aof = strcmp(v, "yes") == 0;
    }
    if ((v = config_value(&k.slot[2]))) {
        save = v[0] != '\0';
    }
    tc__sink_clear(&k);
    k.nested = 0;
    k.n = 2;
    if ((out->evictable < 0 || aof < 0) &&
        ask(s, info, 2, 2, &k, err) == TC_OK) {
        if (out->evictable < 0 &&
            (v = info_field(&k.slot[0], "maxmemory_policy", &n))) {
            set_policy(out, v, n);
        }
        if (aof < 0 && (v = info_field(&k.slot[1], "aof_enabled", &n))) {
            aof = n == 1 && v[0] == '1';
        }
    }
    set_persistence(out, aof, save);
    tc__sink_free(&k, stack);
    err->msg[0] = '\0'; /* what could not be learnt is said as "unknown" */
    return TC_OK;
}
