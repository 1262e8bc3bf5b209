/*
 * tls.c - TLS over the store's own sockets (tls.h). OpenSSL does the
 * protocol; the bytes go through a BIO of our own that sends with
 * MSG_NOSIGNAL (OpenSSL's socket BIO writes with write(2), whose SIGPIPE
 * would kill the host when a server goes away), and the socket is
 * non-blocking so that every wait is a poll bounded by the caller's
 * deadline: the handshake by the connect timeout, a read or a write by
 * the command timeout, as over plain TCP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/deadline.h"
#include "store/tls.h"

#define WHY_MAX 200

struct tc__tls_ctx {
    SSL_CTX *ctx;
    char *name; /* verified: tls_server_name, else the host */
    int is_ip, insecure;
    char *where;
};

/* Allocated with malloc, as the connection it belongs to (resp.c). */
struct tc__tls {
    SSL *ssl;
    int fd;
    char why[WHY_MAX];
};

/* ---- the BIO: send(MSG_NOSIGNAL) and recv on the socket ------------------ */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_fd(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int bio_write(BIO *b, const char *buf, int n)
{
    ssize_t w;

    BIO_clear_retry_flags(b);
    do {
        w = send(bio_fd(b), buf, (size_t)n, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        BIO_set_retry_write(b);
    }
    return (int)w;
}

static int bio_read(BIO *b, char *buf, int n)
{
    ssize_t r;

    BIO_clear_retry_flags(b);
    do {
        r = recv(bio_fd(b), buf, (size_t)n, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        BIO_set_retry_read(b);
    }
    return (int)r;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0; /* nothing is buffered here */
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void bio_init_once(void)
{
    BIO_METHOD *m =
        BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tc-socket");

    if (m && BIO_meth_set_write(m, bio_write) &&
        BIO_meth_set_read(m, bio_read) && BIO_meth_set_ctrl(m, bio_ctrl) &&
        BIO_meth_set_create(m, bio_create)) {
        bio_method = m;
    } else if (m) {
        BIO_meth_free(m);
    }
}

/* ---- errors -------------------------------------------------------------- */

/* OpenSSL's first queued error as text into why; the queue emptied. */
static void ssl_why(char *why, size_t n, const char *dflt)
{
    unsigned long e = ERR_get_error();

    if (e) {
        ERR_error_string_n(e, why, n);
    } else {
        snprintf(why, n, "%s", dflt);
    }
    ERR_clear_error();
}

/*
 * After a failed SSL call: 0 to try again once the socket is ready
 * (within until_ms), else the errno of the failure, with t->why for a
 * TLS one; ENOTCONN stands for a clean close.
 */
static int io_wait(tc__tls *t, int r, int64_t until_ms)
{
    int e = SSL_get_error(t->ssl, r), eno = errno;

    switch (e) {
    case SSL_ERROR_WANT_READ:
        return tc__wait_fd(t->fd, POLLIN, until_ms);
    case SSL_ERROR_WANT_WRITE:
        return tc__wait_fd(t->fd, POLLOUT, until_ms);
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        return ENOTCONN;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        return eno ? eno : ECONNRESET;
    default:
        ssl_why(t->why, sizeof(t->why), "TLS failure");
        return EPROTO;
    }
}

/* ---- the context ----------------------------------------------------------
 */

static int ctx_fail(tc__tls_ctx *x, const char *what, const char *file,
                    tc__err *err)
{
    char why[WHY_MAX];

    ssl_why(why, sizeof(why), "unreadable");
    tc__tls_ctx_free(x);
    return tc__errf(err, TC_ETLS, "TLS: %s %s: %s", what, file, why);
}

int tc__tls_ctx_new(tc__tls_ctx **out, const tc__tls_config *cfg,
                    const char *host, const char *where, tc__err *err)
{
    const char *name = cfg->server_name ? cfg->server_name : host;
    unsigned char ip[16];
    tc__tls_ctx *x;

    *out = NULL;
    pthread_once(&bio_once, bio_init_once);
    if (!bio_method || !(x = tc__calloc(1, sizeof(*x)))) {
        return tc__errf(err, TC_ENOMEM, "TLS: out of memory");
    }
    ERR_clear_error();
    if (!(x->name = tc__strdup(name ? name : "")) ||
        !(x->where = tc__strdup(where)) ||
        !(x->ctx = SSL_CTX_new(TLS_client_method()))) {
        tc__tls_ctx_free(x);
        return tc__errf(err, TC_ENOMEM, "TLS: out of memory");
    }
    x->is_ip = inet_pton(AF_INET, x->name, ip) == 1 ||
               inet_pton(AF_INET6, x->name, ip) == 1;
    x->insecure = cfg->insecure > 0;
    SSL_CTX_set_min_proto_version(x->ctx, TLS1_2_VERSION);
    /* A server that closes without a close_notify (Redis on CLIENT KILL)
     * is a closed connection, not a protocol error. */
    SSL_CTX_set_options(x->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(x->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_verify(x->ctx, x->insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                       NULL);
    if (cfg->ca ? SSL_CTX_load_verify_locations(x->ctx, cfg->ca, NULL) != 1
                : SSL_CTX_set_default_verify_paths(x->ctx) != 1) {
        return ctx_fail(x, "tls_ca", cfg->ca ? cfg->ca : "(system)", err);
    }
    if (cfg->cert &&
        SSL_CTX_use_certificate_chain_file(x->ctx, cfg->cert) != 1) {
        return ctx_fail(x, "tls_cert", cfg->cert, err);
    }
    if (cfg->key &&
        SSL_CTX_use_PrivateKey_file(x->ctx, cfg->key, SSL_FILETYPE_PEM) != 1) {
        return ctx_fail(x, "tls_key", cfg->key, err);
    }
    if (cfg->cert && cfg->key && SSL_CTX_check_private_key(x->ctx) != 1) {
        return ctx_fail(x, "tls_key", cfg->key, err);
    }
    *out = x;
    return TC_OK;
}

void tc__tls_ctx_free(tc__tls_ctx *x)
{
    if (!x) {
        return;
    }
    SSL_CTX_free(x->ctx);
    tc__free(x->name);
    tc__free(x->where);
    tc__free(x);
}

/* ---- a session ------------------------------------------------------------
 */

/* What a rejected certificate means, in words an operator acts on. */
static const char *verify_cause(long v)
{
    switch (v) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
        return "unknown CA";
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return "certificate expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return "certificate not yet valid";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return "name mismatch";
    default:
        return "certificate rejected";
    }
}

static int open_fail(tc__tls *t, const tc__tls_ctx *x, int eno,
                     const char *label, int budget_ms, tc__err *err)
{
    long v = SSL_get_verify_result(t->ssl);
    int rc;

    if (eno == EAGAIN) {
        rc = tc__errf(err, TC_ETIMEOUT,
                      "%s: connect to %s: TLS handshake timed out after %d ms",
                      label, x->where, budget_ms);
    } else if (eno == EPROTO && v != X509_V_OK) {
        rc = tc__errf(err, TC_ETLS,
                      "%s: connect to %s: TLS: %s (%s; expected name %s)",
                      label, x->where, verify_cause(v),
                      X509_verify_cert_error_string(v), x->name);
    } else if (eno == EPROTO) {
        rc = tc__errf(err, TC_ETLS, "%s: connect to %s: TLS handshake: %s",
                      label, x->where, t->why);
    } else {
        rc = tc__errf(err, TC_EUNAVAIL, "%s: connect to %s: TLS handshake: %s",
                      label, x->where,
                      eno == ENOTCONN ? "closed by the server" : strerror(eno));
    }
    tc__tls_close(t);
    return rc;
}

/* The name the certificate must carry, and SNI for a host name. */
static int set_name(SSL *ssl, const tc__tls_ctx *x)
{
    if (x->insecure || !*x->name) {
        return 1;
    }
    if (x->is_ip) {
        return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), x->name);
    }
    return SSL_set_tlsext_host_name(ssl, x->name) == 1 &&
           SSL_set1_host(ssl, x->name) == 1;
}

int tc__tls_open(tc__tls **out, const tc__tls_ctx *x, int fd, const char *label,
                 int64_t until_ms, int budget_ms, tc__err *err)
{
    tc__tls *t;
    BIO *b;
    int fl, r, eno;

    *out = NULL;
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        return tc__errf(err, TC_EUNAVAIL, "%s: connect to %s: %s", label,
                        x->where, strerror(errno));
    }
    if (!(t = calloc(1, sizeof(*t)))) {
        return tc__errf(err, TC_ENOMEM, "%s: TLS: out of memory", label);
    }
    t->fd = fd;
    ERR_clear_error();
    if (!(t->ssl = SSL_new(x->ctx)) || !(b = BIO_new(bio_method))) {
        tc__tls_close(t);
        return tc__errf(err, TC_ENOMEM, "%s: TLS: out of memory", label);
    }
    BIO_set_data(b, (void *)(intptr_t)fd);
    SSL_set_bio(t->ssl, b, b);
    if (!set_name(t->ssl, x)) {
        tc__tls_close(t);
        return tc__errf(err, TC_ENOMEM, "%s: TLS: out of memory", label);
    }
    for (;;) {
        ERR_clear_error();
        if ((r = SSL_connect(t->ssl)) == 1) {
            break;
        }
        if ((eno = io_wait(t, r, until_ms)) != 0) {
            return open_fail(t, x, eno, label, budget_ms, err);
        }
    }
    *out = t;
    return TC_OK;
}

void tc__tls_close(tc__tls *t)
{
    if (!t) {
        return;
    }
    SSL_free(t->ssl); /* no close_notify: the socket closes next anyway */
    free(t);
}

ssize_t tc__tls_read(tc__tls *t, void *buf, size_t n, int64_t until_ms)
{
    int r, eno;

    for (;;) {
        ERR_clear_error();
        r = SSL_read(t->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
        if (r > 0) {
            return r;
        }
        if ((eno = io_wait(t, r, until_ms)) == ENOTCONN) {
            return 0;
        }
        if (eno != 0) {
            errno = eno;
            return -1;
        }
    }
}

int tc__tls_write(tc__tls *t, const void *buf, size_t n, int wait_ms)
{
    const char *p = buf;
    int r, eno, chunk;

    while (n > 0) {
        chunk = n > INT_MAX ? INT_MAX : (int)n;
        ERR_clear_error();
        r = SSL_write(t->ssl, p, chunk);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            continue;
        }
        eno = io_wait(t, r, tc__now_ms() + wait_ms);
        if (eno != 0) {
            return eno == ENOTCONN ? EPIPE : eno;
        }
    }
    return 0;
}

int tc__tls_pending(const tc__tls *t)
{
    return SSL_pending(t->ssl);
}

const char *tc__tls_why(const tc__tls *t)
{
    return t->why;
}
