/*
 * check_service_ops.c - the example service as an operator meets it: its
 * log lines, its exit codes and option checks, HOST and PORT from the
 * environment (options beat them), cache_demo's usage text, and the
 * systemd unit (checked by systemd-analyze where it is installed). Part
 * of the "service" suite (check_service.c); service_fixture.h runs it.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <check.h>
#include <cjson/cJSON.h>

#include "service_fixture.h"
#include "suites.h"

#define UNIT_FILE "examples/intent_service.service"

/*
 * stderr holds only JSON lines: the service's, the library's, and one
 * access line per request.
 */
START_TEST(test_logs)
{
    char *log, *line, *save = NULL;
    int access = 0, listening = 0, stopped = 0;
    cJSON *o;
    sv_resp r;

    sv_start(sv_lmdb_url(), NULL);
    cJSON_Delete(sv_classify(SV_TEXT_A));
    sv_http(&r, "GET", "/nope?x=1", NULL);
    sv_resp_free(&r);
    sv_stop(SIGINT);
    log = sv_slurp(sv_errlog, NULL);
    ck_assert_ptr_nonnull(log);
    for (line = strtok_r(log, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        o = cJSON_Parse(line);
        ck_assert_msg(cJSON_IsObject(o), "not a JSON line: %s", line);
        json_str(o, "time");
        json_str(o, "level");
        if (strcmp(json_str(o, "event"), "http_request") == 0) {
            json_num(o, "latency_us");
            json_str(o, "remote");
            if (strcmp(json_str(o, "path"), SV_CLASSIFY) == 0) {
                ck_assert_str_eq(json_str(o, "method"), "POST");
                ck_assert_int_eq((int)json_num(o, "status"), 200);
                access++;
            } else if (strcmp(json_str(o, "path"), "/nope") == 0) {
                ck_assert_int_eq((int)json_num(o, "status"), 404);
                ck_assert_str_eq(json_str(o, "error"), "not_found");
                access++;
            }
        } else if (strcmp(json_str(o, "event"), "listening") == 0) {
            listening++;
        } else if (strcmp(json_str(o, "event"), "stopped") == 0) {
            stopped++;
        }
        cJSON_Delete(o);
    }
    free(log);
    ck_assert_int_eq(access, 2);
    ck_assert_int_eq(listening, 1);
    ck_assert_int_eq(stopped, 1);
}
END_TEST

#define EXPECT_EXIT(want, part, ...)                                           \
    do {                                                                       \
        char *args_[] = {__VA_ARGS__, NULL}, *err_;                            \
        int code_ = sv_exit_code(args_, &err_);                                \
                                                                               \
        ck_assert_msg(code_ == (want), "exit %d, expected %d: %s", code_,      \
                      (want), err_);                                           \
        ck_assert_msg(strstr(err_, (part)) != NULL, "\"%s\" not in: %s",       \
                      (part), err_);                                           \
        free(err_);                                                            \
    } while (0)

/* Usage errors exit 2, a bad model 4, a bad store 3, a busy port 5; the
 * bounds on clients are checked like the other options. */
START_TEST(test_exit_codes)
{
    char damaged[SV_PATH_LEN], afile[SV_PATH_LEN], url[SV_PATH_LEN + 16],
        port[16];

    EXPECT_EXIT(0, "Usage: intent_service", "--help");
    EXPECT_EXIT(2, "--port is required", "--model", sv_model);
    EXPECT_EXIT(2, "--model is required", "--port", "0");
    EXPECT_EXIT(2, "--port", "--port", "http", "--model", sv_model);
    EXPECT_EXIT(2, "--port", "--port", "70000", "--model", sv_model);
    EXPECT_EXIT(2, "--threshold", "--port", "0", "--model", sv_model,
                "--threshold", "1.5");
    EXPECT_EXIT(2, "--bogus", "--port", "0", "--model", sv_model, "--bogus");
    EXPECT_EXIT(2, "unexpected", "--port", "0", "--model", sv_model, "extra");
    EXPECT_EXIT(2, "--host", "--port", "0", "--model", sv_model, "--host",
                "localhost.invalid");
    EXPECT_EXIT(2, "--max-connections", "--port", "0", "--model", sv_model,
                "--max-connections", "0");
    EXPECT_EXIT(2, "less than", "--port", "0", "--model", sv_model, "--threads",
                "4", "--max-connections", "3");
    EXPECT_EXIT(2, "--max-per-ip", "--port", "0", "--model", sv_model,
                "--max-per-ip", "-1");
    EXPECT_EXIT(2, "--header-timeout", "--port", "0", "--model", sv_model,
                "--header-timeout", "0");
    EXPECT_EXIT(2, "--body-timeout", "--port", "0", "--model", sv_model,
                "--body-timeout", "5s");
    EXPECT_EXIT(2, "--log-interval", "--port", "0", "--model", sv_model,
                "--log-interval", "");

    snprintf(damaged, sizeof(damaged), "%s/damaged.tcm", sv_tmp);
    sv_spit(damaged, "TCMODEL not really", 18);
    EXPECT_EXIT(4, "--model", "--port", "0", "--model", damaged, "--store",
                "memory:");
    EXPECT_EXIT(4, "--model", "--port", "0", "--model", "/nonexistent.tcm",
                "--store", "memory:");

    EXPECT_EXIT(3, "store", "--port", "0", "--model", sv_model, "--store",
                "ftp://example.com");
    snprintf(afile, sizeof(afile), "%s/afile", sv_tmp);
    sv_spit(afile, "x", 1);
    snprintf(url, sizeof(url), "lmdb://%s/db", afile);
    EXPECT_EXIT(3, "store", "--port", "0", "--model", sv_model, "--store", url);

    sv_start(sv_lmdb_url(), NULL);
    snprintf(port, sizeof(port), "%d", sv_port);
    EXPECT_EXIT(5, "cannot listen", "--port", port, "--model", sv_model,
                "--store", "memory:");
    sv_stop(SIGTERM);
}
END_TEST

/* A string field of the service's "listening" line (in buf). */
static const char *listening(const char *name, char *buf, size_t cap)
{
    char *log = sv_slurp(sv_errlog, NULL), *p, *eol;
    const cJSON *f;
    cJSON *o;

    ck_assert_ptr_nonnull(log);
    p = strstr(log, "\"event\":\"listening\"");
    ck_assert_msg(p != NULL, "no listening line: %s", log);
    while (p > log && p[-1] != '\n') {
        p--;
    }
    if ((eol = strchr(p, '\n'))) {
        *eol = '\0';
    }
    o = cJSON_Parse(p);
    f = cJSON_GetObjectItemCaseSensitive(o, name);
    ck_assert_msg(cJSON_IsString(f), "%s not in: %s", name, p);
    snprintf(buf, cap, "%s", f->valuestring);
    cJSON_Delete(o);
    free(log);
    return buf;
}

/* A loopback socket listening on a port of its own: a port the service
 * cannot take. Returns the descriptor; *port gets the port. */
static int busy_port(int *port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/*
 * HOST and PORT from the environment are where the service listens when
 * no option says otherwise; --host and --port beat them; a PORT or HOST
 * that is no port or address is a usage error that names the variable.
 */
START_TEST(test_env_host_port)
{
    char env[64], host[64];
    char *args[] = {"--model", sv_model, "--store", (char *)sv_lmdb_url(),
                    NULL};
    char *opts[] = {"--model", sv_model,    "--store", (char *)sv_lmdb_url(),
                    "--host",  "127.0.0.1", "--port",  "0",
                    NULL};
    int port, busy;

    port = sv_closed_port();
    snprintf(env, sizeof(env), "PORT=%d", port);
    sv_env_add(env);
    sv_env_add("HOST=127.0.0.2"); /* loopback too, on Linux */
    sv_start_argv("127.0.0.2", args);
    ck_assert_int_eq(sv_port, port);
    ck_assert_str_eq(listening("host", host, sizeof(host)), "127.0.0.2");
    cJSON_Delete(sv_classify(SV_TEXT_A));
    sv_stop(SIGTERM);

    /* PORT names a port in use and HOST another address: the service
     * could not start with them, so it listening proves the options
     * won. */
    busy = busy_port(&port);
    sv_env_reset();
    snprintf(env, sizeof(env), "PORT=%d", port);
    sv_env_add(env);
    sv_env_add("HOST=127.0.0.2");
    sv_start_argv("127.0.0.1", opts);
    close(busy);
    ck_assert_int_ne(sv_port, port);
    ck_assert_str_eq(listening("host", host, sizeof(host)), "127.0.0.1");
    cJSON_Delete(sv_classify(SV_TEXT_A));
    sv_stop(SIGTERM);

    sv_env_reset();
    EXPECT_EXIT(2, "--port is required (or PORT)", "--model", sv_model);
    sv_env_add("PORT=http");
    EXPECT_EXIT(2, "PORT=http", "--model", sv_model);
    sv_env_reset();
    sv_env_add("PORT=0");
    sv_env_add("HOST=tutor.example");
    EXPECT_EXIT(2, "HOST=tutor.example", "--model", sv_model);
}
END_TEST

/* The examples' programs are built side by side: cache_demo beside the
 * service binary ($TC_CACHE_DEMO if set); NULL when it is not there (a
 * build of the service alone, as `make asan` makes). */
static const char *cache_demo_bin(char *buf, size_t cap)
{
    const char *env = getenv("TC_CACHE_DEMO");
    const char *slash = strrchr(sv_bin, '/');

    if (env && *env) {
        snprintf(buf, cap, "%s", env);
    } else if (slash) {
        snprintf(buf, cap, "%.*s/cache_demo", (int)(slash - sv_bin), sv_bin);
    } else {
        snprintf(buf, cap, "./cache_demo");
    }
    return access(buf, X_OK) == 0 ? buf : NULL;
}

/* cache_demo answers -h and --help with its usage on stdout and exit 0
 * (it once took "--help" for a store URL), and refuses other options. */
START_TEST(test_cache_demo_help)
{
    static const char *const helps[] = {"--help", "-h"};
    char bin[SV_PATH_LEN], outf[SV_PATH_LEN], errf[SV_PATH_LEN];
    char *out, *err;
    size_t i;

    if (!cache_demo_bin(bin, sizeof(bin))) {
        fprintf(stderr,
                "check_service: cache_demo not built beside %s; "
                "`make examples` builds it (test skipped)\n",
                sv_bin);
        return;
    }
    snprintf(outf, sizeof(outf), "%s/demo.out", sv_tmp);
    snprintf(errf, sizeof(errf), "%s/demo.err", sv_tmp);
    for (i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
        char *argv[] = {bin, (char *)helps[i], NULL};

        ck_assert_int_eq(sv_run(argv, NULL, outf, errf, sv_slow_ms(10000)), 0);
        out = sv_slurp(outf, NULL);
        err = sv_slurp(errf, NULL);
        ck_assert_msg(out && strncmp(out, "Usage: cache_demo", 17) == 0,
                      "%s: %s", helps[i], out ? out : "");
        ck_assert_ptr_nonnull(strstr(out, "Exit codes"));
        ck_assert_msg(err && !*err, "stderr: %s", err ? err : "");
        free(out);
        free(err);
    }
    {
        char *argv[] = {bin, "--store", NULL};

        ck_assert_int_eq(sv_run(argv, NULL, outf, errf, sv_slow_ms(10000)), 2);
        err = sv_slurp(errf, NULL);
        ck_assert_msg(err && strstr(err, "--help"), "%s", err ? err : "");
        free(err);
    }
    {
        char *argv[] = {bin, "memory:", NULL};

        ck_assert_int_eq(sv_run(argv, NULL, outf, errf, sv_slow_ms(30000)), 0);
        out = sv_slurp(outf, NULL);
        ck_assert_msg(out && strstr(out, "store memory"), "%s", out ? out : "");
        free(out);
    }
}
END_TEST

/*
 * The systemd unit keeps its hardening, and systemd-analyze verify finds
 * nothing to say about it (with ExecStart pointed at the built binary,
 * since verify checks that it exists); without systemd-analyze that part
 * is skipped, with a message.
 */
START_TEST(test_systemd_unit)
{
    static const char *const must[] = {
        "\nExecStart=/",
        "\nDynamicUser=yes",
        "\nStateDirectory=",
        "\nProtectSystem=strict",
        "\nEnvironmentFile=-",
        "\nRestart=on-failure",
        "\nNoNewPrivileges=yes",
        "\nEnvironment=TUTORCACHE_URL=lmdb://%S/",
        "\nEnvironment=PORT=",
        "\nEnvironment=TUTORCACHE_MODEL=",
        "\nExecReload=/bin/kill -HUP"};
    char unit[SV_PATH_LEN], outf[SV_PATH_LEN], bin[PATH_MAX];
    char *text, *fixed, *p, *eol, *out, *line, *save = NULL;
    size_t i, len;
    int code;

    text = sv_slurp(UNIT_FILE, &len);
    ck_assert_msg(text != NULL, "%s: %s", UNIT_FILE, strerror(errno));
    for (i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
        ck_assert_msg(strstr(text, must[i]) != NULL, "%s: no \"%s\"", UNIT_FILE,
                      must[i] + 1);
    }
    ck_assert_ptr_nonnull(realpath(sv_bin, bin));
    p = strstr(text, "\nExecStart=") + 1;
    eol = strchr(p, '\n');
    ck_assert_ptr_nonnull(eol);
    fixed = malloc(len + strlen(bin) + 16);
    ck_assert_ptr_nonnull(fixed);
    snprintf(fixed, len + strlen(bin) + 16, "%.*sExecStart=%s%s",
             (int)(p - text), text, bin, eol);
    snprintf(unit, sizeof(unit), "%s/intent_service.service", sv_tmp);
    sv_spit(unit, fixed, strlen(fixed));
    free(fixed);
    free(text);

    snprintf(outf, sizeof(outf), "%s/verify.out", sv_tmp);
    {
        char *argv[] = {"systemd-analyze", "verify", "--man=no", unit, NULL};

        code = sv_run(argv, NULL, outf, outf, sv_slow_ms(60000));
    }
    if (code == 127) {
        fprintf(stderr, "check_service: systemd-analyze not installed; "
                        "the unit was not verified (test skipped)\n");
        return;
    }
    out = sv_slurp(outf, NULL);
    ck_assert_ptr_nonnull(out);
    ck_assert_msg(code == 0, "systemd-analyze verify: exit %d: %s", code, out);
    /* Warnings (an unknown key, a bad value) still exit 0. Lines about
     * other units (the host's own) are not this test's business. */
    for (line = strtok_r(out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        ck_assert_msg(!strstr(line, "intent_service.service"),
                      "systemd-analyze verify: %s", line);
    }
    free(out);
}
END_TEST

void suite_service_ops(Suite *s)
{
    TCase *tc = tcase_create("ops");

    tcase_add_unchecked_fixture(tc, sv_case_setup, sv_case_teardown);
    tcase_add_checked_fixture(tc, sv_setup, sv_teardown);
    tcase_set_timeout(tc, sv_valgrind_on() ? 1200 : 120);
    tcase_add_test(tc, test_logs);
    tcase_add_test(tc, test_exit_codes);
    tcase_add_test(tc, test_env_host_port);
    tcase_add_test(tc, test_cache_demo_help);
    tcase_add_test(tc, test_systemd_unit);
    suite_add_tcase(s, tc);
    /* The model file's reload, a case of its own in the same suite. */
    suite_service_reload(s);
}
