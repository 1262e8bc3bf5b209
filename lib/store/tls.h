/*
 * tls.h - TLS over the store's own sockets (tls.c), with OpenSSL: a
 * context per server (its CA, client certificate and the name to verify)
 * and one session per connection, whose reads and writes wait with poll
 * within the caller's deadline. The Redis wire (redis/resp.c) is its
 * user; nothing here knows RESP.
 */
#ifndef TC_TLS_H
#define TC_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/config.h"

typedef struct tc__tls_ctx tc__tls_ctx;
typedef struct tc__tls tc__tls;

/*
 * The settings of cfg (on) for connections to host: the CA (or the
 * system's), the client certificate and key, and the name the server's
 * certificate must carry (cfg->server_name, else host; an IP address is
 * matched against the certificate's IP addresses). Verification is on
 * unless cfg->insecure. where names the server in messages.
 * Returns TC_OK; TC_ETLS (a file that cannot be read or does not hold
 * what it should, named); TC_ENOMEM.
 */
int tc__tls_ctx_new(tc__tls_ctx **out, const tc__tls_config *cfg,
                    const char *host, const char *where, tc__err *err);
void tc__tls_ctx_free(tc__tls_ctx *x);

/*
 * The handshake on fd, a connected socket, which it makes non-blocking
 * for good: every later wait is a poll. It ends by until_ms (tc__now_ms()
 * clock); a timeout names budget_ms. label names the call.
 * Returns TC_OK; TC_ETLS (the certificate rejected, saying why: unknown
 * CA, expired, name mismatch; or the handshake failed); TC_ETIMEOUT;
 * TC_EUNAVAIL (the connection lost); TC_ENOMEM.
 */
int tc__tls_open(tc__tls **out, const tc__tls_ctx *x, int fd, const char *label,
                 int64_t until_ms, int budget_ms, tc__err *err);
void tc__tls_close(tc__tls *t);

/*
 * Reads up to n bytes, waiting until until_ms at most. Returns the count,
 * 0 when the server closed the connection, or -1 with errno: EAGAIN (no
 * data by until_ms), EPROTO (a TLS failure, tc__tls_why says which), or
 * the socket's error.
 */
ssize_t tc__tls_read(tc__tls *t, void *buf, size_t n, int64_t until_ms);
/* Writes all n bytes, each wait at most wait_ms. Returns 0 or an errno
 * as tc__tls_read's. */
int tc__tls_write(tc__tls *t, const void *buf, size_t n, int wait_ms);
/* Bytes already decrypted, which a poll of the socket does not see. */
int tc__tls_pending(const tc__tls *t);
/* What the last EPROTO was ("" when none). */
const char *tc__tls_why(const tc__tls *t);

#endif /* TC_TLS_H */
