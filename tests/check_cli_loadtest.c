/*
 * check_cli_loadtest.c - `loadtest` of the built `tutorcache` binary, in
 * process and with --url against a small HTTP server forked here, which
 * also exercises keep-alive, chunked answers and dropped connections; a
 * refused connection and the usage errors. Only counting is checked, never
 * speed. Part of the cli_perf suite (check_cli_perf.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <check.h>
#include <cjson/cJSON.h>

#include "cli_harness.h"
#include "suites.h"

#define ENDPOINT "/api/v1/intents/classify"

static pid_t g_server; /* the HTTP server's pid, or 0 */

static void setup(void)
{
    cli_setup();
    tt_cli.url = "memory:";
}

static void teardown(void)
{
    if (g_server > 0) {
        kill(g_server, SIGKILL);
        waitpid(g_server, NULL, 0);
        g_server = 0;
    }
    cli_teardown();
}

/* ---- loadtest ----------------------------------------------------------- */

/*
 * The summary of a loadtest: the schedule's exact request count, every one
 * sent and answered (minus the expected errors), counts adding up, and
 * ordered latencies. Returns the hits.
 */
static long check_summary(const cJSON *o, long requests, long errors)
{
    long ok = (long)json_num(o, "ok"), hits = (long)json_num(o, "hits");

    ck_assert_int_eq((long)json_num(o, "requests"), requests);
    ck_assert_int_eq((long)json_num(o, "sent"), requests);
    ck_assert_int_eq((long)json_num(o, "unsent"), 0);
    ck_assert_int_eq((long)json_num(o, "errors"), errors);
    ck_assert_int_eq(ok, requests - errors);
    ck_assert(hits >= 0 && hits <= ok);
    /* JSON carries 15 digits: the same number, not the same bits */
    ck_assert_msg(fabs(json_num(o, "hit_rate") -
                       (ok ? (double)hits / (double)ok : 0)) < 1e-9,
                  "hit_rate %.17g for %ld hits of %ld", json_num(o, "hit_rate"),
                  hits, ok);
    /* at most the target: answers over at least the duration */
    ck_assert(json_num(o, "achieved_rps") <= json_num(o, "target_rps"));
    ck_assert(json_num(o, "achieved_rps") > 0 || ok == 0);
    ck_assert(json_num(o, "p50_ms") <= json_num(o, "p95_ms"));
    ck_assert(json_num(o, "p95_ms") <= json_num(o, "p99_ms"));
    ck_assert(json_num(o, "p99_ms") <= json_num(o, "p999_ms"));
    ck_assert(json_num(o, "p999_ms") <= json_num(o, "max_ms"));
    ck_assert(json_num(o, "service_p50_ms") <= json_num(o, "service_p99_ms"));
    ck_assert(ok == 0 || json_num(o, "max_ms") > 0);
    return hits;
}

START_TEST(test_loadtest_in_process)
{
    const char *m = cli_model();
    how h = {0};
    lines ls;
    long hits;
    run r;

    cli(&r, &h, "loadtest", "--rps", "200", "--duration", "1", "--model", m,
        "--json");
    expect(&r, 0, NULL, NULL);
    expect_diagnostics(&r);
    lines_parse(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    ck_assert_str_eq(json_str(ls.v[0], "target"), "in-process");
    ck_assert_double_eq(json_num(ls.v[0], "target_rps"), 200);
    ck_assert_double_eq(json_num(ls.v[0], "duration_s"), 1);
    ck_assert_int_eq((int)json_num(ls.v[0], "threads"), 8);
    hits = check_summary(ls.v[0], 200, 0);
    /* 160 requests repeat an earlier text; one still being classified
     * when its repeat is due would be a miss */
    ck_assert_msg(hits >= 120 && hits <= 160, "hits %ld", hits);
    lines_run_free(&ls, &r);

    /* the table, a fractional rate, one thread, no repeats */
    cli(&r, &h, "loadtest", "--rps", "12.5", "--duration", "0.8", "--model", m,
        "--threads", "1", "--hit-ratio", "0");
    expect(&r, 0, NULL, NULL);
    expect_out_has(&r, "\nrequests ", "\np999_ms ", "\nhits            0\n",
                   "\nrequests        10\n", NULL);
    run_free(&r);
}
END_TEST

/* ---- a small HTTP server ------------------------------------------------ */

enum {
    SRV_CHUNKED = 1, /* odd answers chunked */
    SRV_CLOSE = 2,   /* every 5th answer says Connection: close */
    SRV_DROP = 4,    /* every 7th answer's connection closed silently */
    SRV_500 = 8      /* every 10th request answered 500 */
};

typedef struct sconn {
    int fd;
    char buf[65536];
    size_t len;
} sconn;

static int write_all(int fd, const char *p, size_t n)
{
    ssize_t k;

    while (n > 0) {
        k = write(fd, p, n);
        if (k <= 0 && errno != EINTR) {
            return -1;
        }
        if (k > 0) {
            p += k;
            n -= (size_t)k;
        }
    }
    return 0;
}

/*
 * Answers one request if a whole one is buffered: 1 done (the connection
 * goes on), 0 not yet, -1 close the connection. A text seen before is
 * answered "source": "l1", a new one "model".
 */
static int answer(sconn *c, unsigned flags, long *served, char **seen,
                  size_t *nseen)
{
    char head[512], out[1024], body[256];
    char *end = memmem(c->buf, c->len, "\r\n\r\n", 4), *cl, *line_end;
    size_t hlen, blen, n, i;
    int status = 200, hit = 0, close_after = 0, chunked;
    cJSON *req, *text;

    if (!end) {
        return 0;
    }
    hlen = (size_t)(end - c->buf) + 4;
    c->buf[hlen - 1] = '\0';
    cl = strcasestr(c->buf, "\r\nContent-Length:");
    blen = cl ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
    c->buf[hlen - 1] = '\n';
    if (c->len < hlen + blen) {
        return 0;
    }
    ++*served;
    line_end = memchr(c->buf, '\r', hlen);
    if (!line_end || strncmp(c->buf, "POST " ENDPOINT " HTTP/1.1",
                             (size_t)(line_end - c->buf)) != 0) {
        status = 404;
    }
    req = cJSON_ParseWithLength(c->buf + hlen, blen);
    text = cJSON_GetObjectItemCaseSensitive(req, "text");
    if (!cJSON_IsString(text)) {
        status = 400;
    } else {
        for (i = 0; i < *nseen && !hit; i++) {
            hit = strcmp(seen[i], text->valuestring) == 0;
        }
        if (!hit && *nseen < 4096) {
            seen[(*nseen)++] = strdup(text->valuestring);
        }
    }
    cJSON_Delete(req);
    if ((flags & SRV_500) && *served % 10 == 0) {
        status = 500;
    }
    snprintf(body, sizeof(body),
             "{\"intent\":\"debugging\",\"confidence\":0.9,\"source\":\"%s\"}",
             status == 200 ? (hit ? "l1" : "model") : "none");
    chunked = (flags & SRV_CHUNKED) && *served % 2;
    close_after = (flags & SRV_CLOSE) && *served % 5 == 0;
    snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\n%s%s\r\n", status,
             close_after ? "Connection: close\r\n" : "",
             chunked ? "Transfer-Encoding: chunked\r\n" : "");
    if (!chunked) {
        snprintf(head + strlen(head) - 2, sizeof(head) - strlen(head) + 2,
                 "Content-Length: %zu\r\n\r\n", strlen(body));
        n = (size_t)snprintf(out, sizeof(out), "%s%s", head, body);
    } else {
        size_t half = strlen(body) / 2;

        n = (size_t)snprintf(
            out, sizeof(out), "%s%zx\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n", head,
            half, (int)half, body, strlen(body) - half, body + half);
    }
    /* the whole answer in one write, as a real server corks it */
    if (write_all(c->fd, out, n) != 0 || close_after ||
        ((flags & SRV_DROP) && *served % 7 == 0)) {
        return -1;
    }
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
    c->len -= hlen + blen;
    return 1;
}

/* The server's loop, in the forked child: never returns. */
static void serve(int lfd, unsigned flags)
{
    static sconn conns[64];
    static char *seen[4096];
    struct pollfd fds[65];
    size_t nseen = 0;
    long served = 0;
    int i, k;

    for (i = 0; i < 64; i++) {
        conns[i].fd = -1;
    }
    for (;;) {
        fds[0].fd = lfd;
        fds[0].events = POLLIN;
        for (i = 0; i < 64; i++) {
            fds[i + 1].fd = conns[i].fd;
            fds[i + 1].events = POLLIN;
        }
        if (poll(fds, 65, -1) < 0) {
            continue;
        }
        if (fds[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL);

            for (i = 0; fd >= 0 && i < 64 && conns[i].fd >= 0; i++) {
            }
            if (fd >= 0 && i < 64) {
                conns[i].fd = fd;
                conns[i].len = 0;
            } else if (fd >= 0) {
                close(fd);
            }
        }
        for (i = 0; i < 64; i++) {
            sconn *c = &conns[i];
            ssize_t got;

            if (c->fd < 0 || !(fds[i + 1].revents & (POLLIN | POLLHUP))) {
                continue;
            }
            got = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len - 1);
            if (got <= 0) {
                close(c->fd);
                c->fd = -1;
                continue;
            }
            c->len += (size_t)got;
            while ((k = answer(c, flags, &served, seen, &nseen)) > 0) {
            }
            if (k < 0 || c->len >= sizeof(c->buf) - 1) {
                close(c->fd);
                c->fd = -1;
            }
        }
    }
}

/*
 * Starts the server on a free loopback port (unix_path NULL) or on a unix
 * socket; returns the port (0 for a socket). Teardown kills it by pid.
 */
static int server_start(unsigned flags, const char *unix_path)
{
    struct sockaddr_in in4;
    struct sockaddr_un un;
    socklen_t sl = sizeof(in4);
    int lfd, port = 0;

    if (unix_path) {
        lfd = socket(AF_UNIX, SOCK_STREAM, 0);
        memset(&un, 0, sizeof(un));
        un.sun_family = AF_UNIX;
        snprintf(un.sun_path, sizeof(un.sun_path), "%s", unix_path);
        ck_assert_int_eq(bind(lfd, (struct sockaddr *)&un, sizeof(un)), 0);
    } else {
        lfd = socket(AF_INET, SOCK_STREAM, 0);
        memset(&in4, 0, sizeof(in4));
        in4.sin_family = AF_INET;
        in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ck_assert_int_eq(bind(lfd, (struct sockaddr *)&in4, sizeof(in4)), 0);
        ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&in4, &sl), 0);
        port = ntohs(in4.sin_port);
    }
    ck_assert_int_eq(listen(lfd, 64), 0);
    g_server = fork();
    ck_assert_int_ge(g_server, 0);
    if (g_server == 0) {
        signal(SIGPIPE, SIG_IGN);
        serve(lfd, flags);
        _exit(0);
    }
    close(lfd);
    return port;
}

/*
 * Against the server: keep-alive connections, chunked and plain answers,
 * connections the server closes with and without notice (the request is
 * sent again on a new one), and no error in the end.
 */
START_TEST(test_loadtest_http)
{
    char url[128], want[160];
    how h = {0};
    lines ls;
    long hits;
    run r;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d",
             server_start(SRV_CHUNKED | SRV_CLOSE | SRV_DROP, NULL));
    cli(&r, &h, "loadtest", "--rps", "200", "--duration", "1", "--threads", "4",
        "--url", url, "--json");
    expect(&r, 0, NULL, NULL);
    expect_diagnostics(&r);
    lines_parse(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    snprintf(want, sizeof(want), "%s%s", url, ENDPOINT);
    ck_assert_str_eq(json_str(ls.v[0], "target"), want);
    hits = check_summary(ls.v[0], 200, 0);
    /* the server says l1 for a text it saw: the repeats of the stream */
    ck_assert_msg(hits >= 120 && hits <= 160, "hits %ld", hits);
    lines_run_free(&ls, &r);
}
END_TEST

START_TEST(test_loadtest_http_unix)
{
    char path[4200], url[4300];
    how h = {0};
    lines ls;
    run r;

    snprintf(path, sizeof(path), "%s/service.sock", cli_home());
    server_start(SRV_CHUNKED, path);
    snprintf(url, sizeof(url), "unix:%s", path);
    cli(&r, &h, "loadtest", "--rps", "100", "--duration", "0.5", "--url", url,
        "--hit-ratio", "0", "--json");
    expect_lines(&ls, &r, 0, NULL, 1);
    ck_assert_int_eq(check_summary(ls.v[0], 50, 0), 0);
    lines_run_free(&ls, &r);
}
END_TEST

/* Errors are counted and the run still reports: exit 5 after the summary. */
START_TEST(test_loadtest_http_errors)
{
    char url[128];
    how h = {0};
    lines ls;
    run r;

    snprintf(url, sizeof(url), "http://localhost:%d/",
             server_start(SRV_500, NULL));
    cli(&r, &h, "loadtest", "--rps", "100", "--duration", "1", "--threads", "2",
        "--url", url, "--json");
    expect(&r, 5, NULL, "10 of 100 requests failed");
    ck_assert_ptr_nonnull(strstr(r.err, "HTTP 500"));
    lines_parse(&ls, r.out);
    ck_assert_uint_eq(ls.n, 1);
    check_summary(ls.v[0], 100, 10);
    lines_run_free(&ls, &r);
}
END_TEST

/* Nothing listening: every request an error, exit 3 (unreachable). */
START_TEST(test_loadtest_refused)
{
    int port = tt_free_port();
    char url[128];
    how h = {0};
    lines ls;
    run r;

    ck_assert_int_gt(port, 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    cli(&r, &h, "loadtest", "--rps", "50", "--duration", "0.4", "--url", url,
        "--json");
    expect_lines(&ls, &r, 3, "Connection refused", 1);
    check_summary(ls.v[0], 20, 20);
    ck_assert_double_eq(json_num(ls.v[0], "achieved_rps"), 0);
    lines_run_free(&ls, &r);
}
END_TEST

/*
 * Another host only with --allow-remote. 0.0.0.0 is no loopback address,
 * so it is refused without the flag (naming the flag, before anything is
 * sent); Linux connects to it on this machine, so with the flag the run
 * reaches the test's own server and nothing leaves the host.
 */
START_TEST(test_loadtest_allow_remote)
{
    char url[128];
    how h = {0};
    lines ls;
    run r;

    snprintf(url, sizeof(url), "http://0.0.0.0:%d", server_start(0, NULL));
    cli(&r, &h, "loadtest", "--rps", "50", "--duration", "0.4", "--url", url,
        "--json");
    expect_diag(&r, 2, "--allow-remote");
    ck_assert_ptr_nonnull(strstr(r.err, "may only target this machine"));
    run_free(&r);

    cli(&r, &h, "loadtest", "--rps", "50", "--duration", "0.4", "--url", url,
        "--allow-remote", "--json");
    expect_lines(&ls, &r, 0, NULL, 1);
    check_summary(ls.v[0], 20, 0);
    lines_run_free(&ls, &r);

    cli_check_diag(&h, 2, "--allow-remote goes with --url", "loadtest", "--rps",
                   "50", "--duration", "0.4", "--allow-remote");
}
END_TEST

START_TEST(test_loadtest_usage)
{
    char m[4200];
    const char *const cases[][12] = {
        {"loadtest", NULL},
        {"loadtest", "--rps", "10", NULL},
        {"loadtest", "--duration", "1", NULL},
        {"loadtest", "--rps", "0", "--duration", "1", NULL},
        {"loadtest", "--rps", "-5", "--duration", "1", NULL},
        {"loadtest", "--rps", "fast", "--duration", "1", NULL},
        {"loadtest", "--rps", "10", "--duration", "0", NULL},
        {"loadtest", "--rps", "10", "--duration", "3601", NULL},
        {"loadtest", "--rps", "1000000", "--duration", "3600", NULL},
        {"loadtest", "--rps", "0.1", "--duration", "1", NULL},
        {"loadtest", "--rps", "10", "--duration", "1", "--threads", "0", NULL},
        {"loadtest", "--rps", "10", "--duration", "1", "--hit-ratio", "2",
         NULL},
        {"loadtest", "--rps", "10", "--duration", "1", "extra", NULL},
        {"loadtest", "--rps", "10", "--duration", "1", "--model", m,
         "--backend", "exec:cat", NULL},
        {"loadtest", "--rps", "10", "--duration", "1", "--model", m, "--url",
         "http://127.0.0.1:1", NULL},
        {"loadtest", "--rps", "10", "--duration", "1", NULL},
    };
    static const char *const urls[] = {
        "http://10.0.0.1:8080",   "http://192.168.1.1",
        "http://example.com:80",  "http://127.0.0.1.example.com",
        "https://127.0.0.1:8443", "ftp://127.0.0.1",
        "http://[::2]:80",        "http://127.0.0.1:0",
        "http://127.0.0.1:70000", "http://user@127.0.0.1:80",
        "127.0.0.1:8080",         "http://:80"};
    how h = {0};
    size_t i;
    run r;

    snprintf(m, sizeof(m), "%s", cli_model());
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        expect_usage(&h, cases[i], i);
    }
    for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
        cli(&r, &h, "loadtest", "--rps", "10", "--duration", "1", "--url",
            urls[i]);
        ck_assert_msg(r.code == 2 && r.outlen == 0 &&
                          strstr(r.err, "tutorcache: loadtest: --url: "),
                      "%s: exit %d, stdout \"%s\", stderr %s", urls[i], r.code,
                      r.out, r.err);
        run_free(&r);
    }
    cli_check(&h, 2, "", "may only target this machine", "loadtest", "--rps",
              "10", "--duration", "1", "--url", "http://10.1.2.3:80");
    cli_check(&h, 2, "", "no model", "loadtest", "--rps", "10", "--duration",
              "1");
}
END_TEST

void suite_cli_loadtest(Suite *s)
{
    TCase *tc = tcase_create("cli_loadtest");

    tcase_add_unchecked_fixture(tc, tt_case_setup, tt_case_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_loadtest_in_process);
    tcase_add_test(tc, test_loadtest_http);
    tcase_add_test(tc, test_loadtest_http_unix);
    tcase_add_test(tc, test_loadtest_http_errors);
    tcase_add_test(tc, test_loadtest_refused);
    tcase_add_test(tc, test_loadtest_allow_remote);
    tcase_add_test(tc, test_loadtest_usage);
    suite_add_tcase(s, tc);
}
