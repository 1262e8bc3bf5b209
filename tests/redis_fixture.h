/*
 * redis_fixture.h - a private redis-server for one test case: its own
 * temp dir, a free loopback port and a unix socket, no persistence, killed
 * by its own pid (and by the kernel if the test process dies first).
 */
#ifndef TC_REDIS_FIXTURE_H
#define TC_REDIS_FIXTURE_H

typedef struct trs trs;

/*
 * Starts redis-server with the given extra config lines (may be NULL, e.g.
 * "requirepass s3cret\n") and waits until it answers PING. Returns NULL
 * and prints why on stderr when it cannot start.
 */
trs *trs_start(const char *extra_conf);
/*
 * The same serving TLS instead of plain TCP (port 0, tls-port on the
 * loopback port): extra_conf must name its tls-cert-file, tls-key-file
 * and tls-ca-cert-file (tls_fixture.c does). trs_url() is then
 * rediss://127.0.0.1:PORT; the unix socket stays plain.
 */
trs *trs_start_tls(const char *extra_conf);
/* redis://127.0.0.1:PORT (no password) and unix:///dir/redis.sock */
const char *trs_url(const trs *s);
const char *trs_unix_url(const trs *s);
int trs_port(const trs *s);
/* SIGKILL and reap; the server is down until trs_restart(). */
void trs_kill(trs *s);
/* Starts it again on the same port and socket; 0 on success. */
int trs_restart(trs *s);
/*
 * Runs one command on a fresh connection (hiredis, format as
 * redisCommand) and returns the reply as text (an integer as decimal,
 * nil as "(nil)", an error as "ERR ..."), malloc'd; NULL when it cannot
 * connect.
 */
char *trs_cmd(trs *s, const char *fmt, ...);
/* Stops the server and removes its directory; NULL is accepted. */
void trs_stop(trs *s);

#endif
