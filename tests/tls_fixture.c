/*
 * tls_fixture.c - certificates and TLS servers for the TLS suite
 * (tls_fixture.h). The certificates are made at test time, so that none
 * in the tree expires and the expired one is expired by construction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "suites.h"
#include "tls_fixture.h"

static char g_dir[4096];

void tls_case_setup(void)
{
    char cmd[8400];

    tt_case_setup();
    snprintf(g_dir, sizeof(g_dir), "%s/certs", tt_case_dir());
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && tests/tls_certs.sh '%s'",
             g_dir, g_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "tls fixture: %s failed\n", cmd);
        g_dir[0] = '\0';
    }
}

void tls_case_teardown(void)
{
    g_dir[0] = '\0';
    tt_case_teardown();
}

const char *tls_dir(void)
{
    ck_assert_msg(g_dir[0] != '\0', "no certificates (tests/tls_certs.sh)");
    return g_dir;
}

void tls_conf(char *buf, size_t n, const char *cert, const char *auth_clients)
{
    const char *d = tls_dir();

    snprintf(buf, n,
             "tls-cert-file %s/%s.crt\ntls-key-file %s/server.key\n"
             "tls-ca-cert-file %s/ca.crt\ntls-auth-clients %s\n",
             d, cert, d, d, auth_clients);
}

trs *tls_server(const char *cert, const char *auth_clients)
{
    char conf[16384];
    trs *s;

    tls_conf(conf, sizeof(conf), cert, auth_clients);
    s = trs_start_tls(conf);
    ck_assert_msg(s != NULL, "redis-server with TLS did not start");
    return s;
}

void tls_url(char *buf, size_t n, const trs *s, const char *more)
{
    snprintf(buf, n, "%s?tls_ca=%s/ca.crt%s%s", trs_url(s), tls_dir(),
             more ? "&" : "", more ? more : "");
}
