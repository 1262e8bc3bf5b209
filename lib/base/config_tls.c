/*
 * config_tls.c - the TLS settings of a rediss:// or rediss-cluster://
 * store: tls_ca, tls_cert, tls_key, tls_server_name and tls_insecure,
 * from the URL's query, the config file and TUTORCACHE_TLS_*.
 *
 * The URL is parsed again whenever a stronger source names one, which
 * empties the store's settings; so the file's and the environment's are
 * kept apart (tc__config.tls) and fill, once the URL is final, what its
 * own query left unset: the most specific setting wins, as for a URL's
 * password over REDIS_PASSWORD.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/cfgparse.h"

/* A setting: its name after "tls_", and where it goes (NULL: insecure). */
typedef struct tls_field {
    const char *name;
    size_t off;
} tls_field;

#define TLS_STR(f) offsetof(tc__tls_config, f)
static const tls_field fields[] = {
    {"ca", TLS_STR(ca)},   {"cert", TLS_STR(cert)},
    {"key", TLS_STR(key)}, {"server_name", TLS_STR(server_name)},
    {"insecure", 0},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static char **field_str(tc__tls_config *t, const tls_field *f)
{
    return (char **)(void *)((char *)t + f->off);
}

/* The field "tls_<name>" names, by the n bytes of name; NULL when none. */
static const tls_field *find_field(const char *name, size_t n)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        if (strlen(fields[i].name) == n &&
            memcmp(fields[i].name, name, n) == 0) {
            return &fields[i];
        }
    }
    return NULL;
}

void tc__cfg_tls_clear(tc__tls_config *t)
{
    for (size_t i = 0; i < NFIELDS; i++) {
        if (fields[i].off) {
            tc__free(*field_str(t, &fields[i]));
        }
    }
    memset(t, 0, sizeof(*t));
    t->insecure = -1;
}

/* A string setting: a path or a name, neither empty. */
static int set_field(tc__tls_config *t, const tls_field *f, const char *v,
                     const char *src, tc__err *err)
{
    int on;

    if (!f->off) {
        if (tc__cfg_parse_bool(v, &on) != 0) {
            return tc__errf(err, TC_ECONFIG, "%s: tls_insecure: not 0 or 1",
                            src);
        }
        t->insecure = on;
        return TC_OK;
    }
    if (!*v) {
        return tc__errf(err, TC_ECONFIG, "%s: tls_%s: empty", src, f->name);
    }
    return tc__cfg_set_str(field_str(t, f), v, err);
}

int tc__cfg_tls_param(tc__config *cfg, const char *k, size_t klen, tc__err *err)
{
    const char *eq = memchr(k, '=', klen);
    const tls_field *f;
    char *v;
    int bad = 0, rc;

    if (klen < 4 || strncmp(k, "tls_", 4) != 0 || !eq ||
        !(f = find_field(k + 4, (size_t)(eq - k - 4)))) {
        return 0;
    }
    if (!cfg->store.tls.on) {
        return tc__errf(err, TC_ECONFIG,
                        "store URL: tls_%s: only with rediss:// or "
                        "rediss-cluster://",
                        f->name);
    }
    if (!(v = tc__cfg_pct_decode(eq + 1, klen - (size_t)(eq + 1 - k), &bad))) {
        return bad ? tc__errf(err, TC_ECONFIG,
                              "store URL: tls_%s: bad %%-escape", f->name)
                   : tc__cfg_oom(err);
    }
    rc = set_field(&cfg->store.tls, f, v, "store URL", err);
    tc__free(v);
    return rc == TC_OK ? 1 : rc;
}

int tc__cfg_tls_file(tc__config *cfg, const char *k, const void *json,
                     const char *path, tc__err *err)
{
    const cJSON *j = json;
    const tls_field *f;
    int rc;

    if (strncmp(k, "tls_", 4) != 0 || !(f = find_field(k + 4, strlen(k + 4)))) {
        return 0;
    }
    if (!f->off) {
        if (!cJSON_IsBool(j)) {
            return tc__errf(err, TC_ECONFIG,
                            "%s: tls_insecure: not true or false", path);
        }
        cfg->tls.insecure = cJSON_IsTrue(j);
        return 1;
    }
    if (!cJSON_IsString(j)) {
        return tc__errf(err, TC_ECONFIG, "%s: %s: not a string", path, k);
    }
    rc = set_field(&cfg->tls, f, j->valuestring, path, err);
    return rc == TC_OK ? 1 : rc;
}

int tc__cfg_tls_env(tc__config *cfg, tc__err *err)
{
    static const char *const names[NFIELDS] = {
        "TUTORCACHE_TLS_CA", "TUTORCACHE_TLS_CERT", "TUTORCACHE_TLS_KEY",
        "TUTORCACHE_TLS_SERVER_NAME", "TUTORCACHE_TLS_INSECURE"};
    const char *v;
    int rc;

    for (size_t i = 0; i < NFIELDS; i++) {
        if ((v = getenv(names[i])) && *v &&
            (rc = set_field(&cfg->tls, &fields[i], v, names[i], err)) !=
                TC_OK) {
            return rc;
        }
    }
    return TC_OK;
}

int tc__cfg_tls_finish(tc__config *cfg, tc__err *err)
{
    tc__tls_config *t = &cfg->store.tls;
    int rc;

    if (!t->on) {
        return TC_OK; /* the file's and environment's are for rediss:// */
    }
    for (size_t i = 0; i < NFIELDS; i++) {
        const tls_field *f = &fields[i];

        if (f->off && !*field_str(t, f) && *field_str(&cfg->tls, f) &&
            (rc = tc__cfg_set_str(field_str(t, f), *field_str(&cfg->tls, f),
                                  err)) != TC_OK) {
            return rc;
        }
    }
    if (t->insecure < 0) {
        t->insecure = cfg->tls.insecure > 0;
    }
    if (!t->cert != !t->key) {
        return tc__errf(err, TC_ECONFIG,
                        "tls_cert and tls_key: one without the other (a "
                        "client certificate needs its key)");
    }
    return TC_OK;
}
