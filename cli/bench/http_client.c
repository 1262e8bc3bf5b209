/*
 * http_client.c - a small HTTP/1.1 client for `tutorcache loadtest --url`:
 * keep-alive connections over plain sockets (TCP, to loopback unless
 * --allow-remote, or a unix socket), one request at a time per connection,
 * responses framed by Content-Length, chunked encoding or the end of the
 * connection.
 *
 * It is written here rather than taken from libcurl because the load
 * generator must not add its own queueing or connection pooling to the
 * latencies it measures: each thread owns one socket, and every wait is a
 * poll() on it with the request's deadline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bench/http_client.h"

#define MAX_HEADER ((size_t)64 << 10)
#define MAX_RESPONSE ((size_t)16 << 20)

/* ---- the target --------------------------------------------------------- */

static const char not_here[] =
    "load tests may only target this machine: a loopback address "
    "(127.0.0.1, [::1], localhost) or a unix socket; --allow-remote "
    "lets them target another host";

static int set_err(char *err, size_t errlen, const char *what,
                   const char *detail)
{
    snprintf(err, errlen, "%s: %s", what, detail);
    return -1;
}

static int parse_unix(http_target *t, const char *url, const char *endpoint,
                      char *err, size_t errlen)
{
    struct sockaddr_un *sun = (struct sockaddr_un *)&t->addr;
    const char *path = url + 5;

    if (strncmp(path, "//", 2) == 0) {
        path += 2;
    }
    if (!*path) {
        return set_err(err, errlen, url, "no socket path");
    }
    if (strlen(path) >= sizeof(sun->sun_path)) {
        return set_err(err, errlen, url, "socket path too long");
    }
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, path, strlen(path) + 1);
    t->addrlen = (socklen_t)sizeof(*sun);
    snprintf(t->host, sizeof(t->host), "localhost");
    snprintf(t->path, sizeof(t->path), "%s", endpoint);
    snprintf(t->shown, sizeof(t->shown), "unix:%s", path);
    return 0;
}

/*
 * Any HOST, with --allow-remote: a name is looked up (the first address
 * the resolver gives, IPv4 or IPv6), a numeric address taken as it is.
 */
static int resolve_host(http_target *t, const char *host, int port, char *err,
                        size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char inner[256], portstr[8];
    size_t n = strlen(host);
    int rc;

    if (host[0] == '[') {
        if (n < 3 || host[n - 1] != ']' || n - 2 >= sizeof(inner)) {
            return set_err(err, errlen, host, "not an IPv6 address");
        }
        memcpy(inner, host + 1, n - 2);
        inner[n - 2] = '\0';
    } else {
        snprintf(inner, sizeof(inner), "%s", host);
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = host[0] == '[' ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = host[0] == '[' ? AI_NUMERICHOST : 0;
    snprintf(portstr, sizeof(portstr), "%d", port);
    if ((rc = getaddrinfo(inner, portstr, &hints, &res)) != 0) {
        return set_err(err, errlen, host, gai_strerror(rc));
    }
    if (res->ai_addrlen > sizeof(t->addr)) {
        freeaddrinfo(res);
        return set_err(err, errlen, host, "an address too long");
    }
    memcpy(&t->addr, res->ai_addr, res->ai_addrlen);
    t->addrlen = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* HOST of the URL, which must name this machine, into t->addr. */
static int parse_host(http_target *t, const char *host, int port,
                      int allow_remote, char *err, size_t errlen)
{
    struct sockaddr_in *in4 = (struct sockaddr_in *)&t->addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t->addr;
    char inner[64];
    size_t n = strlen(host);

    if (host[0] == '[') {
        if (n < 3 || host[n - 1] != ']' || n - 2 >= sizeof(inner)) {
            return set_err(err, errlen, host, "not an IPv6 address");
        }
        memcpy(inner, host + 1, n - 2);
        inner[n - 2] = '\0';
        if (inet_pton(AF_INET6, inner, &in6->sin6_addr) != 1) {
            return set_err(err, errlen, host, "not an IPv6 address");
        }
        if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) {
            return allow_remote ? resolve_host(t, host, port, err, errlen)
                                : set_err(err, errlen, host, not_here);
        }
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        t->addrlen = (socklen_t)sizeof(*in6);
        return 0;
    }
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    t->addrlen = (socklen_t)sizeof(*in4);
    /* no lookup: a name other than localhost could lead anywhere */
    if (strcasecmp(host, "localhost") == 0) {
        in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return 0;
    }
    if (inet_pton(AF_INET, host, &in4->sin_addr) != 1 ||
        (ntohl(in4->sin_addr.s_addr) >> 24) != 127) {
        return allow_remote ? resolve_host(t, host, port, err, errlen)
                            : set_err(err, errlen, host, not_here);
    }
    return 0;
}

int http_target_parse(http_target *t, const char *url, const char *endpoint,
                      int allow_remote, char *err, size_t errlen)
{
    char host[256];
    const char *auth, *end, *colon, *path;
    size_t hlen, plen, elen = strlen(endpoint);
    long port = 80;

    memset(t, 0, sizeof(*t));
    if (strncmp(url, "unix:", 5) == 0) {
        return parse_unix(t, url, endpoint, err, errlen);
    }
    if (strncasecmp(url, "https://", 8) == 0) {
        return set_err(err, errlen, url,
                       "https is not supported (the service is plain HTTP "
                       "on this machine)");
    }
    if (strncasecmp(url, "http://", 7) != 0) {
        return set_err(err, errlen, url,
                       "not http://HOST:PORT or unix:/PATH/TO/SOCKET");
    }
    auth = url + 7;
    end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (size_t)(end - auth))) {
        return set_err(err, errlen, url, "a user name is not supported");
    }
    if (*end == '?' || strchr(end, '?')) {
        return set_err(err, errlen, url, "a query string is not supported");
    }
    /* the port follows the last ':' outside an IPv6 address's brackets */
    colon = NULL;
    if (auth < end && auth[0] == '[') {
        const char *rb = memchr(auth, ']', (size_t)(end - auth));

        if (rb && rb + 1 < end && rb[1] == ':') {
            colon = rb + 1;
        }
    } else {
        colon = memchr(auth, ':', (size_t)(end - auth));
    }
    hlen = (size_t)((colon ? colon : end) - auth);
    if (hlen == 0 || hlen >= sizeof(host)) {
        return set_err(err, errlen, url, "no host");
    }
    memcpy(host, auth, hlen);
    host[hlen] = '\0';
    if (colon) {
        char *pe;

        errno = 0;
        port = strtol(colon + 1, &pe, 10);
        if (colon + 1 == end || pe != end || errno || port < 1 ||
            port > 65535) {
            return set_err(err, errlen, url, "not a port number (1-65535)");
        }
    }
    if (parse_host(t, host, (int)port, allow_remote, err, errlen) != 0) {
        return -1;
    }
    snprintf(t->host, sizeof(t->host), "%.*s", (int)(end - auth), auth);
    path = end;
    plen = strcspn(path, "#");
    while (plen > 0 && path[plen - 1] == '/') {
        plen--;
    }
    if (plen + elen >= sizeof(t->path)) {
        return set_err(err, errlen, url, "path too long");
    }
    if (plen >= elen && memcmp(path + plen - elen, endpoint, elen) == 0) {
        snprintf(t->path, sizeof(t->path), "%.*s", (int)plen, path);
    } else {
        snprintf(t->path, sizeof(t->path), "%.*s%s", (int)plen, path, endpoint);
    }
    snprintf(t->shown, sizeof(t->shown), "http://%s%s", t->host, t->path);
    return 0;
}

/* ---- a connection ------------------------------------------------------- */

struct http_conn {
    const http_target *t;
    int fd;
    int timeout_ms;
    char *req; /* the request being sent */
    size_t reqcap;
    char *buf; /* the response as received */
    size_t len, cap;
    char *body; /* a chunked response's body, decoded */
    size_t bodylen, bodycap;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

http_conn *http_conn_new(const http_target *t, int timeout_ms)
{
    http_conn *c = calloc(1, sizeof(*c));

    if (c) {
        c->t = t;
        c->fd = -1;
        c->timeout_ms = timeout_ms;
    }
    return c;
}

static void conn_close(http_conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

void http_conn_free(http_conn *c)
{
    if (c) {
        conn_close(c);
        free(c->req);
        free(c->buf);
        free(c->body);
        free(c);
    }
}

/* Waits for events on the socket until the deadline; 1, 0 on timeout. */
static int wait_for(const http_conn *c, short events, int64_t deadline)
{
    struct pollfd p = {c->fd, events, 0};
    int64_t left;
    int n;

    for (;;) {
        left = deadline - now_ms();
        if (left <= 0) {
            return 0;
        }
        n = poll(&p, 1, (int)left);
        if (n > 0) {
            return 1;
        }
        if (n < 0 && errno != EINTR) {
            return 0;
        }
    }
}

static int fail(char *err, size_t errlen, const http_conn *c, const char *what,
                const char *why, int code)
{
    snprintf(err, errlen, "%s %s: %s", what, c->t->shown, why);
    return code;
}

static int conn_open(http_conn *c, int64_t deadline, char *err, size_t errlen)
{
    const http_target *t = c->t;
    int one = 1, soerr = 0;
    socklen_t sl = sizeof(soerr);

    c->fd = socket(t->addr.ss_family,
                   SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        return fail(err, errlen, c, "connect", strerror(errno), HTTP_ECONNECT);
    }
    if (t->addr.ss_family != AF_UNIX) {
        /* a request goes out in one write, but replies to it must not
         * wait for a delayed ACK either */
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (connect(c->fd, (const struct sockaddr *)&t->addr, t->addrlen) != 0) {
        if (errno != EINPROGRESS) {
            soerr = errno;
        } else if (!wait_for(c, POLLOUT, deadline)) {
            soerr = ETIMEDOUT;
        } else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0) {
            soerr = errno;
        }
    }
    if (soerr) {
        conn_close(c);
        return fail(err, errlen, c, "connect", strerror(soerr), HTTP_ECONNECT);
    }
    return 0;
}

static int send_all(http_conn *c, const char *p, size_t n, int64_t deadline)
{
    ssize_t k;

    while (n > 0) {
        k = send(c->fd, p, n, MSG_NOSIGNAL);
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        } else if (k < 0 && errno == EINTR) {
            continue;
        } else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_for(c, POLLOUT, deadline)) {
                errno = ETIMEDOUT;
                return -1;
            }
        } else {
            return -1;
        }
    }
    return 0;
}

/* Reads more of the response: >0 bytes, 0 at the end, -1 with errno. */
static int recv_more(http_conn *c, int64_t deadline)
{
    ssize_t k;

    if (c->cap - c->len < 4096 + 1) {
        size_t cap = c->cap ? c->cap * 2 : 16384;
        char *nb;

        if (cap > MAX_RESPONSE + 1) {
            errno = EFBIG;
            return -1;
        }
        if (!(nb = realloc(c->buf, cap))) {
            errno = ENOMEM;
            return -1;
        }
        c->buf = nb;
        c->cap = cap;
    }
    for (;;) {
        k = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
        if (k >= 0) {
            c->len += (size_t)k;
            c->buf[c->len] = '\0';
            return (int)(k > 0);
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return -1;
        }
        if (!wait_for(c, POLLIN, deadline)) {
            errno = ETIMEDOUT;
            return -1;
        }
    }
}

/* ---- the response ------------------------------------------------------- */

typedef struct head {
    int status;
    size_t end; /* offset of the body */
    long long length;
    int chunked, close;
} head;

/* Case-insensitive "name:" at line p; the value, blanks skipped, or NULL. */
static const char *header_value(const char *p, const char *name)
{
    size_t n = strlen(name);

    if (strncasecmp(p, name, n) != 0 || p[n] != ':') {
        return NULL;
    }
    for (p += n + 1; *p == ' ' || *p == '\t'; p++) {
    }
    return p;
}

/* Parses the status line and headers of buf[0..end). 0, or -1. */
static int parse_head(const char *buf, size_t end, head *h)
{
    const char *p = buf, *v, *nl;
    int minor;

    memset(h, 0, sizeof(*h));
    h->end = end;
    h->length = -1;
    if (sscanf(p, "HTTP/1.%1d %3d", &minor, &h->status) != 2 ||
        h->status < 100) {
        return -1;
    }
    h->close = minor == 0; /* HTTP/1.0 closes unless it says keep-alive */
    while ((nl = strstr(p, "\r\n")) && (size_t)(nl - buf) + 2 < end) {
        p = nl + 2;
        if ((v = header_value(p, "Content-Length"))) {
            h->length = strtoll(v, NULL, 10);
            if (h->length < 0) {
                return -1;
            }
        } else if ((v = header_value(p, "Transfer-Encoding"))) {
            nl = strstr(v, "\r\n");
            h->chunked = memmem(v, (size_t)(nl - v), "chunked", 7) != NULL;
        } else if ((v = header_value(p, "Connection"))) {
            if (strncasecmp(v, "close", 5) == 0) {
                h->close = 1;
            } else if (strncasecmp(v, "keep-alive", 10) == 0) {
                h->close = 0;
            }
        }
    }
    return 0;
}

/*
 * Decodes the chunked body that starts at c->buf + from into c->body,
 * reading as needed. 0, or -1 with errno (EPROTO: garbled).
 */
static int read_chunked(http_conn *c, size_t from, int64_t deadline)
{
    size_t pos = from, size;
    char *nl, *end;
    int k;

    c->bodylen = 0;
    for (;;) {
        while (!(nl = memmem(c->buf + pos, c->len - pos, "\r\n", 2))) {
            if ((k = recv_more(c, deadline)) <= 0) {
                errno = k == 0 ? EPROTO : errno;
                return -1;
            }
        }
        errno = 0;
        size = (size_t)strtoull(c->buf + pos, &end, 16);
        if (end == c->buf + pos || errno || size > MAX_RESPONSE) {
            errno = EPROTO;
            return -1;
        }
        pos = (size_t)(nl - c->buf) + 2;
        if (size == 0) {
            /* trailers, if any, end with an empty line */
            while (
                !(c->len - pos >= 2 && memcmp(c->buf + pos, "\r\n", 2) == 0) &&
                !memmem(c->buf + pos, c->len - pos, "\r\n\r\n", 4)) {
                if ((k = recv_more(c, deadline)) <= 0) {
                    errno = k == 0 ? EPROTO : errno;
                    return -1;
                }
            }
            return 0;
        }
        while (c->len - pos < size + 2) {
            if ((k = recv_more(c, deadline)) <= 0) {
                errno = k == 0 ? EPROTO : errno;
                return -1;
            }
        }
        if (c->bodycap - c->bodylen < size + 1) {
            size_t cap = 2 * c->bodycap + size + 1;
            char *nb = realloc(c->body, cap);

            if (!nb) {
                errno = ENOMEM;
                return -1;
            }
            c->body = nb;
            c->bodycap = cap;
        }
        memcpy(c->body + c->bodylen, c->buf + pos, size);
        c->bodylen += size;
        c->body[c->bodylen] = '\0';
        pos += size + 2;
    }
}

/*
 * Reads one response. Returns the status, or -1 with errno; *got says
 * whether any byte came (a connection closed before that was idle).
 */
static int read_response(http_conn *c, int64_t deadline, const char **resp,
                         size_t *resplen, int *got)
{
    head h;
    char *e;
    int k;

    c->len = 0;
    *got = 0;
    for (;;) {
        while (!c->buf || !(e = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
            if (c->len > MAX_HEADER) {
                errno = EFBIG;
                return -1;
            }
            if ((k = recv_more(c, deadline)) <= 0) {
                errno = k == 0 ? (*got ? EPROTO : ECONNRESET) : errno;
                return -1;
            }
            *got = 1;
        }
        if (parse_head(c->buf, (size_t)(e - c->buf) + 4, &h) != 0) {
            errno = EPROTO;
            return -1;
        }
        if (h.status >= 200) {
            break;
        }
        /* an interim response (100 Continue): the real one follows */
        memmove(c->buf, c->buf + h.end, c->len - h.end);
        c->len -= h.end;
        c->buf[c->len] = '\0';
    }
    if (h.status == 204 || h.status == 304) {
        h.length = 0;
    }
    if (h.chunked) {
        if (read_chunked(c, h.end, deadline) != 0) {
            return -1;
        }
        *resp = c->body ? c->body : "";
        *resplen = c->bodylen;
    } else {
        if (h.length > (long long)MAX_RESPONSE) {
            errno = EFBIG;
            return -1;
        }
        while (h.length >= 0 ? c->len - h.end < (size_t)h.length : 1) {
            if ((k = recv_more(c, deadline)) < 0) {
                return -1;
            }
            if (k == 0) {
                if (h.length >= 0) {
                    errno = EPROTO;
                    return -1;
                }
                h.close = 1; /* the body ran to the end of the connection */
                break;
            }
        }
        *resp = c->buf + h.end;
        *resplen = h.length >= 0 ? (size_t)h.length : c->len - h.end;
    }
    if (h.close) {
        conn_close(c);
    }
    return h.status;
}

int http_conn_post(http_conn *c, const char *body, size_t len,
                   const char **resp, size_t *resplen, char *err, size_t errlen)
{
    int64_t deadline = now_ms() + c->timeout_ms;
    size_t head_max = strlen(c->t->path) + strlen(c->t->host) + 200;
    int attempt, reused, rc, got, n;

    *resp = NULL;
    *resplen = 0;
    if (c->reqcap < head_max + len) {
        char *nr = realloc(c->req, head_max + len);

        if (!nr) {
            return fail(err, errlen, c, "POST", strerror(ENOMEM), HTTP_EIO);
        }
        c->req = nr;
        c->reqcap = head_max + len;
    }
    n = snprintf(c->req, head_max,
                 "POST %s HTTP/1.1\r\nHost: %s\r\n"
                 "Content-Type: application/json\r\n"
                 "Content-Length: %zu\r\n\r\n",
                 c->t->path, c->t->host, len);
    memcpy(c->req + n, body, len);
    for (attempt = 0; attempt < 2; attempt++) {
        reused = c->fd >= 0;
        if (!reused && (rc = conn_open(c, deadline, err, errlen)) != 0) {
            return rc;
        }
        if (send_all(c, c->req, (size_t)n + len, deadline) != 0) {
            rc = errno;
            conn_close(c);
            if (reused && rc != ETIMEDOUT) {
                continue;
            }
            return fail(err, errlen, c, "POST", strerror(rc), HTTP_EIO);
        }
        rc = read_response(c, deadline, resp, resplen, &got);
        if (rc >= 0) {
            return rc;
        }
        rc = errno;
        conn_close(c);
        /* a keep-alive connection the server dropped while it was idle:
         * nothing of this request was answered, so send it again */
        if (reused && !got && rc != ETIMEDOUT) {
            continue;
        }
        return fail(err, errlen, c, "POST",
                    rc == EPROTO ? "malformed HTTP response" : strerror(rc),
                    HTTP_EIO);
    }
    return fail(err, errlen, c, "POST", "connection closed", HTTP_EIO);
}
