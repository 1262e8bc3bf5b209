/*
 * http_client.h - the HTTP/1.1 client of `tutorcache loadtest --url`: one
 * keep-alive connection per thread to a service on this machine (a
 * loopback address or a unix socket), POST requests with a JSON body.
 * Load tests target this machine unless asked otherwise (--allow-remote),
 * so other hosts are refused when the URL is parsed, before any name is
 * looked up.
 */
#ifndef TC_CLI_HTTP_CLIENT_H
#define TC_CLI_HTTP_CLIENT_H

#include <stddef.h>
#include <sys/socket.h>

/* Where requests go, parsed once and shared by the connections. */
typedef struct http_target {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host[300];   /* the Host header */
    char path[2048];  /* the request target */
    char shown[2400]; /* what messages name: the URL, with the path */
} http_target;

/*
 * Parses url: http://HOST[:PORT][/PATH] with HOST localhost, an IPv4
 * address in 127.0.0.0/8 or [::1]; or unix:/PATH/TO/SOCKET (also
 * unix:///...). The request target is PATH + endpoint, unless PATH
 * already ends with endpoint. allow_remote: any HOST, a name looked up
 * with getaddrinfo() (the first address). Returns 0, or -1 with a message
 * in err (https, another host without allow_remote, a name that does not
 * resolve, a bad port, a URL that does not parse).
 */
int http_target_parse(http_target *t, const char *url, const char *endpoint,
                      int allow_remote, char *err, size_t errlen);

typedef struct http_conn http_conn;

/* A connection, not yet connected (the first request connects); NULL
 * when out of memory. timeout_ms bounds each request, connect included. */
http_conn *http_conn_new(const http_target *t, int timeout_ms);
void http_conn_free(http_conn *c); /* NULL is accepted */

/* What a failed request is. */
enum {
    HTTP_ECONNECT = -1, /* no connection could be made */
    HTTP_EIO = -2       /* the exchange failed, timed out or was garbled */
};

/*
 * POSTs body (len bytes, Content-Type: application/json) and waits for
 * the whole response. Returns the HTTP status, with the body in *resp and
 * its length in *resplen (borrowed until the next call on c), or
 * HTTP_ECONNECT or HTTP_EIO with a message in err. A connection the
 * server closed while idle is reopened and the request sent again, once.
 * Thread safety: one thread per connection.
 */
int http_conn_post(http_conn *c, const char *body, size_t len,
                   const char **resp, size_t *resplen, char *err,
                   size_t errlen);

#endif /* TC_CLI_HTTP_CLIENT_H */
