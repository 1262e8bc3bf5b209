/*
 * feedback_fixture.c - the feedback suite's fixture and common calls (see
 * feedback_fixture.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cache_fixture.h"
#include "feedback_fixture.h"

static char *tdir;              /* the test's */
static const char *cluster_url; /* the case on the cluster: its URL */
static char *state_was;         /* XDG_STATE_HOME before the case */
static char spool[700];         /* the spool of the handle last opened */

/*
 * A network store's spool lies under XDG_STATE_HOME (config_spool.c):
 * the test's dir stands in for it, so that a case never writes the
 * state of the user running the suite, nor replays what another run
 * left there.
 */
void fb_setup(void)
{
    const char *was = getenv("XDG_STATE_HOME");

    tdir = tt_mkdtemp();
    ck_assert_ptr_nonnull(tdir);
    state_was = was ? strdup(was) : NULL;
    ck_assert_int_eq(setenv("XDG_STATE_HOME", fb_path("state"), 1), 0);
}

static void fb_setup_cluster(void)
{
    fb_setup();
    cluster_url = bk_cluster_fresh();
}

int fb_on_cluster(void)
{
    return cluster_url != NULL;
}

void fb_teardown(void)
{
    tt_rmtree(tdir);
    free(tdir);
    tdir = NULL;
    if (state_was) {
        setenv("XDG_STATE_HOME", state_was, 1);
    } else {
        unsetenv("XDG_STATE_HOME");
    }
    free(state_was);
    state_was = NULL;
    cluster_url = NULL;
    spool[0] = '\0';
}

const char *fb_dir(void)
{
    return tdir;
}

static void add_case(Suite *su, const char *name, const TTest *test,
                     void (*setup)(void))
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, setup, fb_teardown);
    tcase_set_timeout(tc, 120); /* room for valgrind */
    tcase_add_test(tc, test);
    suite_add_tcase(su, tc);
    if (setup == fb_setup_cluster) {
        tcase_add_unchecked_fixture(tc, bk_cluster_setup, bk_cluster_teardown);
    }
}

void fb_add(Suite *su, const char *name, const TTest *test)
{
    static char names[64][80]; /* a case keeps its name's pointer */
    static int used;
    char *cl;

    if (used == 64) {
        fprintf(stderr, "fb_add: more than 64 cases\n");
        abort();
    }
    cl = names[used++];
    snprintf(cl, sizeof(names[0]), "%s_cluster", name);
    add_case(su, name, test, fb_setup);
    add_case(su, cl, test, fb_setup_cluster);
}

void fb_add_lmdb(Suite *su, const char *name, const TTest *test)
{
    add_case(su, name, test, fb_setup);
}

void fb_add_cluster(Suite *su, const char *name, const TTest *test)
{
    add_case(su, name, test, fb_setup_cluster);
}

const char *fb_url(void)
{
    static char url[600];

    if (cluster_url) {
        return cluster_url;
    }
    snprintf(url, sizeof(url), "lmdb://%s/db", tdir);
    return url;
}

void fb_expect_stats(const char *s, const char *head)
{
    char want[2048];

    snprintf(want, sizeof(want), "%s%s}", head, fb_store_json());
    ck_assert_str_eq(s, want);
}

const char *fb_store_json(void)
{
    return cluster_url ? "\"store\":{\"kind\":\"redis-cluster\","
                         "\"maxmemory_policy\":\"noeviction\","
                         "\"persistence\":\"rdb\",\"at_risk\":[]}"
                       : FB_LMDB_STORE;
}

const char *fb_path(const char *name)
{
    static char buf[8][600];
    static int next;
    char *p = buf[next++ % 8];

    snprintf(p, 600, "%s/%s", tdir, name);
    return p;
}

/* A handle on url; config_json, when given, is its file. */
tc_cache *fb_open_url(const char *url, const char *config_json)
{
    tc_options o;
    tc_cache *h = NULL;

    tc_options_init(&o);
    o.store_url = url;
    o.flags = TC_OPT_NO_ENV | (config_json ? 0 : TC_OPT_NO_CONFIG);
    o.lmdb_map_bytes = (size_t)64 << 20;
    if (cluster_url && strcmp(url, cluster_url) == 0) {
        /* generous: a put of a 1024-record batch can take longer than the
         * default 250 ms on a loaded machine, and would be spooled */
        o.command_timeout_ms = 2000;
    }
    if (config_json) {
        tt_write_file(fb_path("config.json"), config_json, 0644);
        o.config_path = fb_path("config.json");
    }
    ck_assert_msg(tc_cache_open(&h, &o) == TC_OK, "open: %s", tc_errmsg());
    snprintf(spool, sizeof(spool), "%s",
             h->fb->cfg->spool_dir ? h->fb->cfg->spool_dir : "");
    return h;
}

tc_cache *fb_open(const char *config_json)
{
    return fb_open_url(fb_url(), config_json);
}

const char fb_base_json[] =
    "{" FB_BASE_FIELDS ",\"feedback_type\":\"correction\"}";

int fb_submit(tc_cache *h, const char *json, char *id)
{
    char tmp[TC_FEEDBACK_ID_MAX];

    return tc_feedback_submit_json(id ? id : tmp, NULL, h, json, strlen(json));
}

int fb_submit_new(tc_cache *h, const char *json, char *id)
{
    static int n;
    char tmp[TC_FEEDBACK_ID_MAX], *rec;
    size_t len = strlen(json);
    int rc;

    if (len < 2 || json[len - 1] != '}') {
        return fb_submit(h, json, id); /* not an object: to be rejected */
    }
    rec = malloc(len + 32);
    ck_assert_ptr_nonnull(rec);
    len = (size_t)snprintf(rec, len + 32, "%.*s,\"id\":\"r%d\"}",
                           (int)(len - 1), json, ++n);
    rc = tc_feedback_submit_json(id ? id : tmp, NULL, h, rec, len);
    free(rec);
    return rc;
}

void fb_expect_id(const char *id)
{
    ck_assert_msg(tc__fb_id_valid(id), "bad id \"%s\"", id);
}

/* Every exported record, as lines (the caller frees each and the array). */
size_t fb_export_all(tc_cache *h, char ***lines)
{
    FILE *f = tmpfile();
    char *line = NULL;
    size_t cap = 0, n = 0;
    uint64_t count = 0;
    ssize_t k;
    int rc;

    ck_assert_ptr_nonnull(f);
    rc = tc_feedback_export(h, f, &count);
    ck_assert_msg(rc == TC_OK, "export: %s", tc_errmsg());
    rewind(f);
    *lines = NULL;
    while ((k = getline(&line, &cap, f)) > 0) {
        *lines = realloc(*lines, (n + 1) * sizeof(**lines));
        ck_assert_ptr_nonnull(*lines);
        ck_assert_int_eq(line[k - 1], '\n');
        line[k - 1] = '\0';
        (*lines)[n++] = strdup(line);
    }
    free(line);
    fclose(f);
    ck_assert_uint_eq(count, n);
    return n;
}

void fb_free_lines(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(lines[i]);
    }
    free(lines);
}

size_t fb_export_count(tc_cache *h)
{
    char **lines;
    size_t n = fb_export_all(h, &lines);

    fb_free_lines(lines, n);
    return n;
}

char *fb_stats(tc_cache *h)
{
    char *s = NULL;

    ck_assert_msg(tc_feedback_stats_json(&s, h) == TC_OK, "stats: %s",
                  tc_errmsg());
    return s;
}

/* The number after "key": in a fb_stats object (first occurrence). */
long long fb_stat_num(const char *json, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = strstr(json, pat);
    ck_assert_msg(p != NULL, "no %s in %s", key, json);
    return atoll(p + strlen(pat));
}

tc_import_report *fb_import_text(tc_cache *h, const char *text,
                                 tc_import_format fmt, int dry)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    tc_import_report *r = NULL;
    int rc;

    ck_assert_ptr_nonnull(f);
    rc = tc_feedback_import(&r, h, f, fmt, dry, NULL, NULL);
    fclose(f);
    ck_assert_msg(rc == TC_OK, "import: %s", tc_errmsg());
    return r;
}

char *fb_spool_file(const char *name)
{
    static char buf[800];

    if (spool[0]) {
        snprintf(buf, sizeof(buf), "%s/%s", spool, name);
    } else {
        snprintf(buf, sizeof(buf), "%s/db/spool/%s", tdir, name);
    }
    return buf;
}

/* The whole content of a file ("" when absent); the caller frees it. */
char *fb_slurp(const char *p)
{
    FILE *f = fopen(p, "r");
    char *s;
    long n;

    if (!f) {
        return strdup("");
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    s = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(fread(s, 1, (size_t)n, f), n);
    s[n] = '\0';
    fclose(f);
    return s;
}

void fb_record(tc_feedback *fb, const char *text, const char *original,
               const char *correct, double confidence)
{
    memset(fb, 0, sizeof(*fb));
    fb->text = text;
    fb->original_intent = original;
    fb->correct_intent = correct;
    fb->original_confidence = confidence;
}
