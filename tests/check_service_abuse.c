/*
 * check_service_abuse.c - the example service's bounds on abusive
 * clients: a slowloris flood of half-open connections from one address
 * must not keep another client waiting, connections that trickle their
 * headers or body are closed at their deadlines however busy they look,
 * and all of it is logged in a few lines. The attacking connections are
 * raw non-blocking sockets of this process; the well-behaved client
 * comes from another loopback address (127.0.0.2: on Linux all of
 * 127.0.0.0/8 is the loopback), as a second client would. Part of the
 * "service" suite (check_service.c); service_fixture.h runs the service.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <check.h>
#include <cjson/cJSON.h>

#include "service_fixture.h"
#include "suites.h"

/* The numbers: more half-open connections than libmicrohttpd's
 * default of 1020 slots, and the service's default per-address limit. */
#define ATTACK 1200
#define PER_IP 64

/* The other client's address. */
#define GOOD_SRC "127.0.0.2"

/* ---- raw connections ----------------------------------------------------- */

/* A TCP connection to the service, from src (NULL: the default source,
 * 127.0.0.1), non-blocking when nb; -1 when it cannot be made. */
static int dial(const char *src, int nb)
{
    struct sockaddr_in sa;
    struct timeval tv = {sv_slow_ms(30000) / 1000, 0};
    int fd = socket(AF_INET,
                    SOCK_STREAM | SOCK_CLOEXEC | (nb ? SOCK_NONBLOCK : 0), 0);

    if (fd < 0) {
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    if (src) {
        ck_assert_int_eq(inet_pton(AF_INET, src, &sa.sin_addr), 1);
        ck_assert_msg(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
                      "bind %s: %s", src, strerror(errno));
    }
    /* A blocking client gives up after the hang bound, not never. */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    ck_assert_int_eq(inet_pton(AF_INET, sv_host, &sa.sin_addr), 1);
    sa.sin_port = htons((uint16_t)sv_port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
        !(nb && errno == EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* What the server did to a connection: 0 nothing yet, 1 closed it
 * (end of stream or reset), 2 sent bytes (a response). */
static int peer_state(int fd)
{
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

    if (n > 0) {
        return 2;
    }
    if (n == 0) {
        return 1;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : 1;
}

/* Sends the byte c: 1 sent, 0 not now (still connecting), -1 the
 * connection is gone. */
static int send1(int fd, char c)
{
    if (send(fd, &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
        return 1;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN ||
                   errno == EINTR
               ? 0
               : -1;
}

/* Sends byte k of a request whose headers never end: a request line,
 * then one header whose value goes on and on. As send1(). */
static int trickle(int fd, size_t k)
{
    static const char head[] = "POST " SV_CLASSIFY " HTTP/1.1\r\n"
                               "Host: 127.0.0.1\r\nX-Slow: ";

    return send1(fd, k < sizeof(head) - 1 ? head[k] : 'a');
}

/*
 * One whole request from src with "Connection: close", read to its end:
 * returns the status, the body in out (NUL-terminated, cut to cap) and
 * the milliseconds from connect to the last byte in *ms.
 */
static int request(const char *src, const char *method, const char *path,
                   const char *body, char *out, size_t cap, int64_t *ms)
{
    char head[512], *resp, *p;
    size_t len = 0, rcap = 256 * 1024;
    int64_t t0 = sv_now_ms();
    int fd, code = 0;
    ssize_t n;

    fd = dial(src, 0);
    ck_assert_msg(fd >= 0, "connect from %s: %s", src, strerror(errno));
    snprintf(head, sizeof(head),
             "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
             method, path, sv_host, body ? strlen(body) : 0);
    ck_assert_int_eq(send(fd, head, strlen(head), MSG_NOSIGNAL),
                     (ssize_t)strlen(head));
    if (body) {
        ck_assert_int_eq(send(fd, body, strlen(body), MSG_NOSIGNAL),
                         (ssize_t)strlen(body));
    }
    resp = malloc(rcap + 1);
    ck_assert_ptr_nonnull(resp);
    while ((n = recv(fd, resp + len, rcap - len, 0)) > 0) {
        len += (size_t)n;
        ck_assert_uint_lt(len, rcap);
    }
    *ms = sv_now_ms() - t0;
    close(fd);
    resp[len] = '\0';
    sscanf(resp, "HTTP/1.%*d %d", &code);
    p = strstr(resp, "\r\n\r\n");
    snprintf(out, cap, "%s", p ? p + 4 : "");
    ck_assert_msg(code != 0, "%s %s from %s: no answer in %lld ms (%s): %s",
                  method, path, src, (long long)*ms,
                  n < 0 ? strerror(errno) : "closed", resp);
    free(resp);
    return code;
}

/* ---- descriptors --------------------------------------------------------- */

static struct rlimit g_saved_nofile;
static int g_nofile_raised;

/* Raises this process's soft descriptor limit to need; 0 when it could
 * (or needed not), -1 when the hard limit is lower. */
static int raise_nofile(rlim_t need)
{
    struct rlimit rl;

    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    g_saved_nofile = rl;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
            return -1;
        }
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            return -1;
        }
        g_nofile_raised = 1;
    }
    return 0;
}

static void restore_nofile(void)
{
    if (g_nofile_raised) {
        setrlimit(RLIMIT_NOFILE, &g_saved_nofile);
        g_nofile_raised = 0;
    }
}

/* ---- the service's side -------------------------------------------------- */

/* The service's /metrics, asked from GOOD_SRC (the flooding address
 * may be at its limit); the caller frees it. */
static char *metrics_text(void)
{
    size_t cap = 256 * 1024;
    char *text = malloc(cap);
    int64_t ms;

    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(request(GOOD_SRC, "GET", "/metrics", NULL, text, cap, &ms),
                     200);
    return text;
}

static double dropped(const char *text, const char *reason)
{
    char series[128];

    snprintf(series, sizeof(series),
             "intent_service_http_connections_dropped_total{reason=\"%s\"}",
             reason);
    return sv_metric(text, series);
}

/* Waits until the service holds no connection but the one asking. */
static void expect_all_closed(void)
{
    int64_t deadline = sv_now_ms() + sv_slow_ms(10000);
    double open;
    char *text;

    for (;;) {
        text = metrics_text();
        open = sv_metric(text, "intent_service_http_connections");
        free(text);
        if (open == 1) {
            return;
        }
        ck_assert_msg(sv_now_ms() < deadline,
                      "%g connections still open on the service", open);
        sv_sleep_ms(50);
    }
}

/* The service's log lines, summed: the "connections_dropped" lines and
 * their counts, the "http_server" lines, and all lines but the access
 * lines. */
typedef struct log_sum {
    int dropped_lines, server_lines, other_lines, unanswered;
    double limit, header, body;
} log_sum;

static void sum_log(log_sum *s)
{
    char *log = sv_slurp(sv_errlog, NULL), *line, *save = NULL;
    const char *ev;
    cJSON *o;

    memset(s, 0, sizeof(*s));
    ck_assert_ptr_nonnull(log);
    for (line = strtok_r(log, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        o = cJSON_Parse(line);
        ck_assert_msg(cJSON_IsObject(o), "not a JSON line: %s", line);
        ev = json_str(o, "event");
        if (strcmp(ev, "http_request") == 0) {
            s->unanswered += json_num(o, "status") == 0;
        } else {
            s->other_lines++;
        }
        if (strcmp(ev, "connections_dropped") == 0) {
            s->dropped_lines++;
            s->limit += json_num(o, "limit");
            s->header += json_num(o, "header_deadline");
            s->body += json_num(o, "body_deadline");
        } else if (strcmp(ev, "http_server") == 0) {
            s->server_lines++;
        }
        cJSON_Delete(o);
    }
    free(log);
}

/* ---- tests --------------------------------------------------------------- */

/*
 * Slowloris: 1,200 connections from one address, each sending its
 * headers a byte at a time, more than libmicrohttpd's default slots. The
 * per-address limit turns all but 64 away at once, the header deadline
 * closes those 64 although they are never idle, and meanwhile a request
 * from another address is answered within 1 s (before these bounds it
 * waited for the idle timeout, about 30 s). The drops are logged as a
 * count per interval, not a line each, and nothing is left open.
 */
START_TEST(test_slowloris)
{
    static int fds[ATTACK];
    static size_t sent[ATTACK];
    static char state[ATTACK]; /* 0 open, 1 closed by the server */
    char out[4096], body[256], *text;
    int64_t t0, deadline, ms, next_good;
    int i, closed = 0, started = 0, good = 0;
    double open, limit, header;
    log_sum ls;

    if (raise_nofile(ATTACK + 256) != 0) {
        fprintf(stderr,
                "check_service: test_slowloris skipped: the descriptor "
                "limit (hard %llu) is under the %d this test needs; "
                "raise it (ulimit -Hn) to run it\n",
                (unsigned long long)g_saved_nofile.rlim_max, ATTACK + 256);
        return;
    }
    memset(sent, 0, sizeof(sent));
    memset(state, 0, sizeof(state));
    sv_start(sv_lmdb_url(), "--header-timeout", "2", "--log-interval", "1",
             NULL);
    cJSON_Delete(sv_classify(SV_TEXT_A));
    snprintf(body, sizeof(body), "{\"text\": \"%s\"}", SV_TEXT_B);

    t0 = sv_now_ms();
    for (i = 0; i < ATTACK; i++) {
        fds[i] = dial(NULL, 1);
        ck_assert_msg(fds[i] >= 0, "connection %d: %s", i, strerror(errno));
    }
    /* Rounds of one byte per open connection, every 250 ms, until the
     * service has closed every one. */
    deadline = sv_now_ms() + sv_slow_ms(20000);
    next_good = 0;
    while (closed < ATTACK || good < 2) {
        ck_assert_msg(sv_now_ms() < deadline,
                      "%d of %d trickling connections still open after "
                      "%lld ms",
                      ATTACK - closed, ATTACK, (long long)(sv_now_ms() - t0));
        for (i = 0; i < ATTACK; i++) {
            int st, sr = 0;

            if (state[i]) {
                continue;
            }
            st = peer_state(fds[i]);
            ck_assert_msg(st != 2, "connection %d got an answer", i);
            if (st == 0 && (sr = trickle(fds[i], sent[i])) > 0) {
                started += sent[i]++ == 0;
            }
            if (st == 1 || (st == 0 && sr < 0)) {
                state[i] = 1;
                started += sent[i] == 0; /* refused before a byte */
                closed++;
            }
        }
        /* Once the flood has reached the service (all sent, most turned
         * away), and again a second later: the other client's classify,
         * timed. */
        if (started == ATTACK && closed >= ATTACK - PER_IP && good < 2 &&
            sv_now_ms() >= next_good) {
            ck_assert_int_eq(request(GOOD_SRC, "POST", SV_CLASSIFY, body, out,
                                     sizeof(out), &ms),
                             200);
            ck_assert_msg(strstr(out, "\"intent\"") != NULL, "%s", out);
            ck_assert_msg(ms < sv_slow_ms(1000),
                          "classify took %lld ms under the flood (at most "
                          "1000 expected)",
                          (long long)ms);
            if (good++ == 0) {
                /* While the flood holds its slots: no more than its
                 * limit of them, and the rest were turned away. Besides
                 * them, the other client's two connections: this one
                 * and the classify's, which the service may not have
                 * cleaned up yet. */
                text = metrics_text();
                open = sv_metric(text, "intent_service_http_connections");
                limit = dropped(text, "limit");
                free(text);
                ck_assert_msg(open >= 1 && open <= PER_IP + 2,
                              "%g connections open (per-address limit %d)",
                              open, PER_IP);
                ck_assert_msg(limit >= 1, "no connection refused");
            }
            next_good = sv_now_ms() + 1000;
        }
        sv_sleep_ms(250);
    }
    ck_assert_int_eq(good, 2);
    for (i = 0; i < ATTACK; i++) {
        close(fds[i]);
    }
    restore_nofile();

    /* Every attacking connection was refused or cut off by the service
     * itself, and none is left. */
    expect_all_closed();
    text = metrics_text();
    limit = dropped(text, "limit");
    header = dropped(text, "header_deadline");
    free(text);
    ck_assert_msg(limit + header == ATTACK && limit > 0 && header > 0,
                  "refused %g, cut off at the header deadline %g", limit,
                  header);
    /* The last interval's line is written at the latest at the stop. */
    sv_stop(SIGTERM);
    ms = sv_now_ms() - t0;
    sum_log(&ls);
    ck_assert_msg(ls.limit == limit && ls.header == header,
                  "logged %g refused, %g cut off; counted %g, %g", ls.limit,
                  ls.header, limit, header);
    /* One line per 1 s interval at most (a partial one at each end),
     * plus the one at the stop. */
    ck_assert_msg(ls.dropped_lines >= 1 && ls.dropped_lines <= ms / 1000 + 2,
                  "%d connections_dropped lines in %lld ms", ls.dropped_lines,
                  (long long)ms);
    ck_assert_msg(ls.server_lines <= 4 && ls.other_lines <= 20,
                  "%d server lines, %d lines besides the access lines:\n%s",
                  ls.server_lines, ls.other_lines, sv_errlog_text());
}
END_TEST

/*
 * The deadlines, each on a connection that keeps sending, so an idle
 * timeout would never fire: headers a byte every 200 ms (closed at the
 * header deadline), a body a byte every 200 ms (closed at the body
 * deadline, counted from the headers' end), and a kept-alive connection
 * idle after its answer (closed at the header deadline, counted apart
 * and not logged as a drop). None gets an answer; the service still
 * answers others; the drops are counted and logged, the cut-off request
 * with no access line of its own.
 */
START_TEST(test_deadlines)
{
    static const char body_head[] =
        "POST " SV_CLASSIFY " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n";
    static const char keep_req[] =
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    enum { HEADERS, BODY, KEEP, N };
    int fds[N], i, open_n = N, keep_answered = 0;
    int64_t start[N], took[N] = {0}, deadline;
    size_t sent[N] = {0};
    char *text;
    log_sum ls;

    sv_start(sv_lmdb_url(), "--header-timeout", "1", "--body-timeout", "2",
             "--log-interval", "1", NULL);
    for (i = 0; i < N; i++) {
        fds[i] = dial(NULL, 0);
        ck_assert_int_ge(fds[i], 0);
    }
    ck_assert_int_eq(send(fds[BODY], body_head, strlen(body_head), 0),
                     (ssize_t)strlen(body_head));
    ck_assert_int_eq(send(fds[KEEP], keep_req, strlen(keep_req), 0),
                     (ssize_t)strlen(keep_req));
    for (i = 0; i < N; i++) {
        start[i] = sv_now_ms();
    }
    deadline = sv_now_ms() + sv_slow_ms(15000);
    while (open_n) {
        ck_assert_msg(sv_now_ms() < deadline, "%d connections not closed",
                      open_n);
        for (i = 0; i < N; i++) {
            int st;

            if (took[i]) {
                continue;
            }
            st = peer_state(fds[i]);
            if (st == 2 && i == KEEP && !keep_answered) {
                /* its one answer (a small /health fits one read); the
                 * idle wait for the next request starts now */
                keep_answered = 1;
                start[i] = sv_now_ms();
                continue;
            }
            ck_assert_msg(st != 2, "connection %d got an answer", i);
            if (st == 0 && i != KEEP) {
                int sr = i == HEADERS ? trickle(fds[i], sent[i])
                                      : send1(fds[i], ' ');

                sent[i] += sr > 0;
                st = sr < 0; /* a reset: closed */
            }
            if (st == 1) {
                took[i] = sv_now_ms() - start[i];
                open_n--;
            }
        }
        sv_sleep_ms(200);
    }
    ck_assert(keep_answered);
    /* Not before their deadlines (1 s, 2 s, 1 s), less a tick. */
    ck_assert_msg(took[HEADERS] >= 800 && took[BODY] >= 1800 &&
                      took[KEEP] >= 800,
                  "closed after %lld, %lld, %lld ms", (long long)took[HEADERS],
                  (long long)took[BODY], (long long)took[KEEP]);
    for (i = 0; i < N; i++) {
        close(fds[i]);
    }
    cJSON_Delete(sv_classify(SV_TEXT_A));

    expect_all_closed();
    text = metrics_text();
    ck_assert_int_eq((int)dropped(text, "header_deadline"), 1);
    ck_assert_int_eq((int)dropped(text, "body_deadline"), 1);
    ck_assert_int_eq((int)dropped(text, "keepalive_idle"), 1);
    ck_assert_int_eq((int)dropped(text, "limit"), 0);
    free(text);
    sv_stop(SIGTERM);
    sum_log(&ls);
    ck_assert_msg(ls.header == 1 && ls.body == 1 && ls.limit == 0,
                  "logged: %g header, %g body, %g limit:\n%s", ls.header,
                  ls.body, ls.limit, sv_errlog_text());
    ck_assert_msg(ls.unanswered == 0,
                  "an access line for the cut-off "
                  "request:\n%s",
                  sv_errlog_text());
}
END_TEST

void suite_service_abuse(Suite *s)
{
    TCase *tc = tcase_create("abuse");

    tcase_add_unchecked_fixture(tc, sv_case_setup, sv_case_teardown);
    tcase_add_checked_fixture(tc, sv_setup, sv_teardown);
    tcase_set_timeout(tc, sv_valgrind_on() ? 1200 : 120);
    tcase_add_test(tc, test_slowloris);
    tcase_add_test(tc, test_deadlines);
    suite_add_tcase(s, tc);
}
