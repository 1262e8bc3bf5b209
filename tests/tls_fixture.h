/*
 * tls_fixture.h - Redis over TLS for the TLS suite: certificates made by
 * tests/tls_certs.sh (openssl) once per test case in the case's
 * directory, and redis-server started by redis_fixture.c's trs_start_tls
 * with one of them.
 */
#ifndef TC_TLS_FIXTURE_H
#define TC_TLS_FIXTURE_H

#include <stddef.h>

#include "redis_fixture.h"

/* Unchecked fixture: tt_case_setup(), then the certificates in
 * <case dir>/certs; and the reverse. */
void tls_case_setup(void);
void tls_case_teardown(void);
/* Where the certificates are, until tls_case_teardown(). */
const char *tls_dir(void);

/*
 * A TLS redis-server presenting cert (a name of tls_certs.sh: "server",
 * "other", "expired"), with server.key, trusting ca.crt for client
 * certificates, which it asks for as auth_clients says ("optional",
 * "yes"). The test fails when it does not start.
 */
trs *tls_server(const char *cert, const char *auth_clients);
/* The config lines tls_server gives redis-server, into buf. */
void tls_conf(char *buf, size_t n, const char *cert, const char *auth_clients);

/* rediss://127.0.0.1:PORT?tls_ca=<dir>/ca.crt, then "&" and more (NULL:
 * nothing), into buf. */
void tls_url(char *buf, size_t n, const trs *s, const char *more);

#endif
