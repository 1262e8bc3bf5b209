/*
 * check_store_lmdb.c - the LMDB store on a real environment in a fresh
 * temp directory per test: values, TTLs, the expiry sweep, counters,
 * several handles and processes on one directory, a full map and
 * directories that cannot be used.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/store.h"
#include "suites.h"

#define MiB ((size_t)1 << 20)

/*
 * Made by the unchecked fixture, in the runner process, so teardown
 * removes it even when the test failed in its forked child.
 */
static char *tdir;
static const tc__logger quiet = {
    .fn = NULL, .level = TC_LOG_OFF, .interval_ms = 1000};

static void setup(void)
{
    tdir = tt_mkdtemp();
}

static void teardown(void)
{
    tt_rmtree(tdir);
    free(tdir);
    tdir = NULL;
}

/* tdir/name, in a static buffer. */
static const char *path(const char *name)
{
    static char buf[512];

    ck_assert_ptr_nonnull(tdir);
    snprintf(buf, sizeof(buf), "%s/%s", tdir, name);
    return buf;
}

static int open_at(tc__store **s, const char *dir, size_t map, tc__err *err)
{
    tc__store_config cfg;

    memset(&cfg, 0, sizeof(cfg));
    cfg.dir = (char *)dir;
    cfg.map_bytes = map;
    cfg.url_masked = "lmdb://test";
    return tc__store_lmdb_open(s, &cfg, &quiet, err);
}

static tc__store *open_ok(const char *dir, size_t map)
{
    tc__store *s = NULL;
    tc__err err = {""};
    int rc = open_at(&s, dir, map, &err);

    ck_assert_msg(rc == TC_OK, "open %s: %s (%s)", dir, tc_error_name(rc),
                  err.msg);
    ck_assert_ptr_nonnull(s);
    return s;
}

static int set1(tc__store *s, const char *key, const void *val, size_t len,
                int64_t ttl_ms)
{
    tc__store_set it = {key, val, len, ttl_ms, 12345};
    tc__err err = {""};
    int rc = s->ops->mset(s, &it, 1, &err);

    return rc != TC_OK ? rc : it.status;
}

/* The item's status; *val is the caller's (tc__free). */
static int get1(tc__store *s, const char *key, char **val, size_t *len,
                int64_t *ttl)
{
    tc__store_get it = {key, (char *)"stale", 99, 99, 12345};
    tc__err err = {""};
    int rc = s->ops->mget(s, &it, 1, &err);

    *val = it.val;
    *len = it.len;
    *ttl = it.ttl_ms;
    return rc != TC_OK ? rc : it.status;
}

static int64_t entries(tc__store *s)
{
    tc__store_health h;

    s->ops->health(s, &h);
    ck_assert_int_eq(h.up, 1);
    return h.entries;
}

/* Asserts key holds exactly the given text. */
static void expect_value(tc__store *s, const char *key, const char *want)
{
    char *v;
    size_t n;
    int64_t ttl;

    ck_assert_int_eq(get1(s, key, &v, &n, &ttl), TC_OK);
    ck_assert_uint_eq(n, strlen(want));
    ck_assert_mem_eq(v, want, n);
    tc__free(v);
}

static void expect_miss(tc__store *s, const char *key)
{
    char *v;
    size_t n;
    int64_t ttl;

    ck_assert_int_eq(get1(s, key, &v, &n, &ttl), TC_MISS);
    ck_assert_ptr_null(v);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(ttl, -1);
}

START_TEST(test_roundtrip_binary)
{
    unsigned char bin[1000];
    struct stat st;
    tc__store *s;
    char *v;
    size_t n;
    int64_t ttl;

    for (size_t i = 0; i < sizeof(bin); i++) {
        bin[i] = (unsigned char)(i * 7 + 3);
    }
    bin[10] = 0;
    bin[11] = 0xff;
    /* mkdir -p with mode 0700. */
    s = open_ok(path("a/b/db"), 16 * MiB);
    ck_assert_int_eq(stat(path("a/b/db"), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);
    ck_assert_str_eq(s->ops->kind, "lmdb");

    ck_assert_int_eq(set1(s, "tc:t:bin", bin, sizeof(bin), 60000), TC_OK);
    ck_assert_int_eq(get1(s, "tc:t:bin", &v, &n, &ttl), TC_OK);
    ck_assert_uint_eq(n, sizeof(bin));
    ck_assert_mem_eq(v, bin, sizeof(bin));
    ck_assert_int_eq(v[n], '\0');
    ck_assert_int_gt(ttl, 0);
    ck_assert_int_le(ttl, 60000);
    tc__free(v);

    /* An empty value is a hit, not a miss. */
    ck_assert_int_eq(set1(s, "tc:t:empty", "", 0, 60000), TC_OK);
    ck_assert_int_eq(get1(s, "tc:t:empty", &v, &n, &ttl), TC_OK);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(n, 0);
    tc__free(v);
    s->ops->close(s);

    /* It persists across a close and a reopen. */
    s = open_ok(path("a/b/db"), 16 * MiB);
    ck_assert_int_eq(get1(s, "tc:t:bin", &v, &n, &ttl), TC_OK);
    ck_assert_uint_eq(n, sizeof(bin));
    ck_assert_mem_eq(v, bin, sizeof(bin));
    tc__free(v);
    s->ops->close(s);
}
END_TEST

START_TEST(test_miss)
{
    tc__store *s = open_ok(path("db"), 16 * MiB);

    expect_miss(s, "tc:t:nothing");
    ck_assert_int_eq(set1(s, "tc:t:other", "x", 1, 60000), TC_OK);
    expect_miss(s, "tc:t:nothing");
    s->ops->close(s);
}
END_TEST

START_TEST(test_ttl_expiry)
{
    tc__store *s = open_ok(path("db"), 16 * MiB);

    ck_assert_int_eq(set1(s, "tc:t:short", "v", 1, 50), TC_OK);
    ck_assert_int_eq(set1(s, "tc:t:long", "w", 1, 60000), TC_OK);
    expect_value(s, "tc:t:short", "v");
    tt_sleep_ms(80);
    expect_miss(s, "tc:t:short");
    expect_value(s, "tc:t:long", "w");
    /* Deleting an expired entry reports that nothing was there. */
    ck_assert_int_eq(s->ops->del(s, "tc:t:short", NULL), TC_MISS);
    s->ops->close(s);
}
END_TEST

START_TEST(test_ttl_remaining)
{
    tc__store *s = open_ok(path("db"), 16 * MiB);
    int64_t ttl, c;
    char *v;
    size_t n;

    ck_assert_int_eq(set1(s, "tc:t:k", "v", 1, 60000), TC_OK);
    ck_assert_int_eq(get1(s, "tc:t:k", &v, &n, &ttl), TC_OK);
    tc__free(v);
    /* A generous margin: no wall-clock assertion beyond "about a minute". */
    ck_assert_int_gt(ttl, 50000);
    ck_assert_int_le(ttl, 60000);

    ck_assert_int_eq(s->ops->incr(s, "tc:t:gen", &c, NULL), TC_OK);
    ck_assert_int_eq(get1(s, "tc:t:gen", &v, &n, &ttl), TC_OK);
    tc__free(v);
    ck_assert_int_eq(ttl, -1);
    s->ops->close(s);
}
END_TEST

START_TEST(test_overwrite)
{
    tc__store *s = open_ok(path("db"), 16 * MiB);
    int64_t later = tc__wall_ms() + 10 * 60 * 1000;
    uint64_t removed = 99;
    int64_t ttl;
    char *v;
    size_t n;

    /* A short TTL replaced by a long one: the old expiry must not bite. */
    ck_assert_int_eq(set1(s, "tc:t:a", "first", 5, 1000), TC_OK);
    ck_assert_int_eq(set1(s, "tc:t:a", "second", 6, 3600 * 1000), TC_OK);
    expect_value(s, "tc:t:a", "second");
    ck_assert_int_eq(get1(s, "tc:t:a", &v, &n, &ttl), TC_OK);
    tc__free(v);
    ck_assert_int_gt(ttl, 1000);
    /* Sweeping as of ten minutes from now finds no stale index entry. */
    ck_assert_int_eq(tc__store_lmdb_sweep(s, later, &removed, NULL), TC_OK);
    ck_assert_uint_eq(removed, 0);
    expect_value(s, "tc:t:a", "second");

    /* A long TTL replaced by a short one: the new expiry rules. */
    ck_assert_int_eq(set1(s, "tc:t:b", "first", 5, 3600 * 1000), TC_OK);
    ck_assert_int_eq(set1(s, "tc:t:b", "2nd", 3, 1000), TC_OK);
    expect_value(s, "tc:t:b", "2nd");
    ck_assert_int_eq(tc__store_lmdb_sweep(s, later, &removed, NULL), TC_OK);
    ck_assert_uint_eq(removed, 1);
    expect_miss(s, "tc:t:b");
    expect_value(s, "tc:t:a", "second");
    ck_assert_int_eq(entries(s), 1);
    s->ops->close(s);
}
END_TEST

START_TEST(test_del)
{
    tc__store *s = open_ok(path("db"), 16 * MiB);
    uint64_t removed = 99;
    tc__err err = {""};

    ck_assert_int_eq(set1(s, "tc:t:d", "v", 1, 60000), TC_OK);
    ck_assert_int_eq(s->ops->del(s, "tc:t:d", &err), TC_OK);
    expect_miss(s, "tc:t:d");
    ck_assert_int_eq(s->ops->del(s, "tc:t:d", &err), TC_MISS);
    ck_assert_int_eq(s->ops->del(s, "tc:t:never", &err), TC_MISS);
    /* The index entry went with it. */
    ck_assert_int_eq(
        tc__store_lmdb_sweep(s, tc__wall_ms() + 120000, &removed, NULL), TC_OK);
    ck_assert_uint_eq(removed, 0);
    ck_assert_int_eq(entries(s), 0);
    s->ops->close(s);
}
END_TEST

START_TEST(test_incr)
{
    tc__store *s = open_ok(path("db"), 16 * MiB);
    tc__err err = {""};
    int64_t c = 99;

    ck_assert_int_eq(s->ops->incr(s, "tc:t:n", &c, &err), TC_OK);
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(s->ops->incr(s, "tc:t:n", &c, &err), TC_OK);
    ck_assert_int_eq(c, 2);
    expect_value(s, "tc:t:n", "2");

    ck_assert_int_eq(set1(s, "tc:t:neg", "-5", 2, 60000), TC_OK);
    ck_assert_int_eq(s->ops->incr(s, "tc:t:neg", &c, &err), TC_OK);
    ck_assert_int_eq(c, -4);

    ck_assert_int_eq(set1(s, "tc:t:txt", "12a", 3, 60000), TC_OK);
    c = 99;
    ck_assert_int_eq(s->ops->incr(s, "tc:t:txt", &c, &err), TC_EPROTO);
    ck_assert_int_eq(c, 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "tc:t:txt"));
    expect_value(s, "tc:t:txt", "12a");

    ck_assert_int_eq(set1(s, "tc:t:max", "9223372036854775807", 19, 60000),
                     TC_OK);
    ck_assert_int_eq(s->ops->incr(s, "tc:t:max", &c, &err), TC_EPROTO);
    expect_value(s, "tc:t:max", "9223372036854775807");

    /* An expired value counts as absent, whatever it held. */
    ck_assert_int_eq(set1(s, "tc:t:old", "junk", 4, 20), TC_OK);
    tt_sleep_ms(40);
    ck_assert_int_eq(s->ops->incr(s, "tc:t:old", &c, &err), TC_OK);
    ck_assert_int_eq(c, 1);
    s->ops->close(s);
}
END_TEST

START_TEST(test_mget16)
{
    tc__store *s = open_ok(path("db"), 16 * MiB);
    tc__store_set sets[16];
    tc__store_get gets[16];
    char keys[16][32], vals[16][32];
    tc__err err = {""};

    for (int i = 0; i < 16; i++) {
        snprintf(keys[i], sizeof(keys[i]), "tc:t:%02d", i);
        snprintf(vals[i], sizeof(vals[i]), "value %d", i * i);
        sets[i] =
            (tc__store_set){keys[i], vals[i], strlen(vals[i]), 60000, 12345};
    }
    ck_assert_int_eq(s->ops->mset(s, sets, 16, &err), TC_OK);
    for (int i = 0; i < 16; i++) {
        ck_assert_int_eq(sets[i].status, TC_OK);
    }
    ck_assert_int_eq(s->ops->del(s, keys[3], &err), TC_OK);
    ck_assert_int_eq(s->ops->del(s, keys[12], &err), TC_OK);

    for (int i = 0; i < 16; i++) {
        gets[i] = (tc__store_get){keys[i], NULL, 99, 99, 12345};
    }
    ck_assert_int_eq(s->ops->mget(s, gets, 16, &err), TC_OK);
    for (int i = 0; i < 16; i++) {
        if (i == 3 || i == 12) {
            ck_assert_int_eq(gets[i].status, TC_MISS);
            ck_assert_ptr_null(gets[i].val);
            continue;
        }
        ck_assert_int_eq(gets[i].status, TC_OK);
        ck_assert_uint_eq(gets[i].len, strlen(vals[i]));
        ck_assert_str_eq(gets[i].val, vals[i]);
        ck_assert_int_gt(gets[i].ttl_ms, 0);
        tc__free(gets[i].val);
    }
    s->ops->close(s);
}
END_TEST

/*
 * Runs fn(arg) in a child process and returns its result, or -1 when the
 * child died first. The result travels through a pipe, not the exit
 * status, which valgrind replaces when it finds leaks in the child (the
 * parent's environment, which a child must not close).
 */
static int in_child(int (*fn)(const void *), const void *arg)
{
    int fds[2], r = -1, status;
    pid_t pid;

    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        r = fn(arg);
        _exit(write(fds[1], &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
    }
    close(fds[1]);
    if (read(fds[0], &r, sizeof(r)) != (ssize_t)sizeof(r)) {
        r = -1;
    }
    close(fds[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return r;
}

/*
 * 1 when a lock is held on byte 0 of dir/lock.mdb, which LMDB holds
 * shared while any handle of a process has the environment open; 0 when
 * not; 2 when the probe failed. Run in a child: a process never conflicts
 * with its own locks.
 */
static int probe_lock(const void *dir)
{
    char lock[600];
    struct flock fl;
    int fd;

    snprintf(lock, sizeof(lock), "%s/lock.mdb", (const char *)dir);
    fd = open(lock, O_RDWR);
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    if (fd < 0 || fcntl(fd, F_GETLK, &fl) != 0) {
        return 2;
    }
    return fl.l_type != F_UNLCK;
}

static int lmdb_lock_held(const char *dir)
{
    int r = in_child(probe_lock, dir);

    ck_assert_msg(r == 0 || r == 1, "lock probe failed (%d)", r);
    return r;
}

START_TEST(test_two_handles)
{
    const char *dir = path("db");
    tc__store *a = open_ok(dir, 16 * MiB);
    tc__store *b = open_ok(dir, 16 * MiB);
    int64_t c;

    ck_assert_int_eq(set1(a, "tc:t:from_a", "A", 1, 60000), TC_OK);
    expect_value(b, "tc:t:from_a", "A");
    ck_assert_int_eq(set1(b, "tc:t:from_b", "B", 1, 60000), TC_OK);
    expect_value(a, "tc:t:from_b", "B");
    ck_assert_int_eq(a->ops->incr(a, "tc:t:n", &c, NULL), TC_OK);
    ck_assert_int_eq(b->ops->incr(b, "tc:t:n", &c, NULL), TC_OK);
    ck_assert_int_eq(c, 2);
    ck_assert(lmdb_lock_held(dir));
    /*
     * Closing one handle leaves the other working, and keeps the locks
     * that tell other processes this one is alive: an environment opened
     * twice in one process would drop them with the first close.
     */
    a->ops->close(a);
    ck_assert(lmdb_lock_held(dir));
    expect_value(b, "tc:t:from_a", "A");
    ck_assert_int_eq(set1(b, "tc:t:after", "C", 1, 60000), TC_OK);
    ck_assert_int_eq(b->ops->ping(b, NULL), TC_OK);
    b->ops->close(b);
    ck_assert(!lmdb_lock_held(dir));
}
END_TEST

/*
 * The child of test_fork, which reports by its result rather than by
 * Check assertions. It closes the handle it inherited, which must leave
 * the parent's environment alone, and opens its own, as a separate
 * process would. Returns 0, or where it failed.
 */
static int child_writes(const void *inherited)
{
    tc__store *s = NULL;
    int64_t c = 0;
    int rc;

    ((tc__store *)inherited)->ops->close((tc__store *)inherited);
    if (open_at(&s, path("db"), 16 * MiB, NULL) != TC_OK) {
        return 10;
    }
    rc = set1(s, "tc:t:child", "from the child", 14, 60000);
    if (rc == TC_OK) {
        rc = s->ops->incr(s, "tc:t:n", &c, NULL);
    }
    s->ops->close(s);
    return rc != TC_OK ? 11 : c != 2 ? 12 : 0;
}

START_TEST(test_fork)
{
    tc__store *s = open_ok(path("db"), 16 * MiB);
    int64_t c;

    ck_assert_int_eq(s->ops->incr(s, "tc:t:n", &c, NULL), TC_OK);
    expect_miss(s, "tc:t:child");
    ck_assert_int_eq(in_child(child_writes, s), 0);
    /* The parent's environment, opened before, sees the child's writes. */
    expect_value(s, "tc:t:child", "from the child");
    ck_assert_int_eq(s->ops->incr(s, "tc:t:n", &c, NULL), TC_OK);
    ck_assert_int_eq(c, 3);
    s->ops->close(s);
}
END_TEST

START_TEST(test_sweep)
{
    tc__store *s = open_ok(path("db"), 16 * MiB);
    uint64_t removed = 99;
    tc__store_health h;
    char key[32];
    int64_t c;

    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "tc:t:soon%d", i);
        ck_assert_int_eq(set1(s, key, "x", 1, 30000), TC_OK);
    }
    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof(key), "tc:t:late%d", i);
        ck_assert_int_eq(set1(s, key, "y", 1, 3600 * 1000), TC_OK);
    }
    ck_assert_int_eq(s->ops->incr(s, "tc:t:n", &c, NULL), TC_OK);
    ck_assert_int_eq(entries(s), 16);

    /* Nothing has expired yet. */
    ck_assert_int_eq(tc__store_lmdb_sweep(s, 0, &removed, NULL), TC_OK);
    ck_assert_uint_eq(removed, 0);
    ck_assert_int_eq(entries(s), 16);

    /* As of a minute from now the 30 s entries are gone, and only they. */
    ck_assert_int_eq(
        tc__store_lmdb_sweep(s, tc__wall_ms() + 60000, &removed, NULL), TC_OK);
    ck_assert_uint_eq(removed, 10);
    ck_assert_int_eq(entries(s), 6);
    /* Deleted, not merely expired: their TTL has not run out yet. */
    expect_miss(s, "tc:t:soon0");
    expect_miss(s, "tc:t:soon9");
    expect_value(s, "tc:t:late4", "y");
    expect_value(s, "tc:t:n", "1");
    s->ops->health(s, &h);
    ck_assert_str_eq(h.breaker, "closed");
    ck_assert_int_gt(h.bytes, 0);
    s->ops->close(s);
}
END_TEST

/* The sweep that writes trigger, without calling the sweep directly. */
START_TEST(test_sweep_from_writes)
{
    tc__store *s = open_ok(path("db"), 64 * MiB);
    char key[32];

    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof(key), "tc:t:soon%d", i);
        ck_assert_int_eq(set1(s, key, "x", 1, 50), TC_OK);
    }
    tt_sleep_ms(80);
    /* Expired entries stay in the DB until a sweep. */
    ck_assert_int_eq(entries(s), 10);
    for (int i = 0; i < 995; i++) {
        snprintf(key, sizeof(key), "tc:t:late%d", i);
        ck_assert_int_eq(set1(s, key, "y", 1, 3600 * 1000), TC_OK);
    }
    ck_assert_int_eq(entries(s), 995);
    s->ops->close(s);
}
END_TEST

START_TEST(test_full_map)
{
    /* Small, yet above what LMDB needs for its meta pages and two DBs. */
    const size_t map = 256 * 1024;
    tc__store *s = open_ok(path("db"), map);
    tc__store_set batch[64];
    char keys[64][32], mapstr[32], val[1024];
    static char big[8192];
    tc__err err = {""};
    char key[32];
    int i, rc = TC_OK;

    memset(val, 'v', sizeof(val));
    memset(big, 'b', sizeof(big));
    /* 64 values of 8 KiB in one call overflow the map: none is written. */
    for (i = 0; i < 64; i++) {
        snprintf(keys[i], sizeof(keys[i]), "tc:t:batch%d", i);
        batch[i] = (tc__store_set){keys[i], big, sizeof(big), 60000, 0};
    }
    ck_assert_int_eq(s->ops->mset(s, batch, 64, &err), TC_EFULL);
    ck_assert_int_eq(batch[0].status, TC_EFULL);
    expect_miss(s, "tc:t:batch0");
    expect_miss(s, "tc:t:batch1");
    ck_assert_int_eq(entries(s), 0);

    /* Then single writes until the map is full. */
    for (i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "tc:t:k%d", i);
        rc = set1(s, key, val, sizeof(val), 60000);
        if (rc != TC_OK) {
            break;
        }
    }
    ck_assert_int_eq(rc, TC_EFULL);
    ck_assert_int_gt(i, 10);
    {
        tc__store_set it = {key, val, sizeof(val), 60000, 0};

        ck_assert_int_eq(s->ops->mset(s, &it, 1, &err), TC_EFULL);
    }
    snprintf(mapstr, sizeof(mapstr), "%zu", map);
    ck_assert_msg(strstr(err.msg, tdir) != NULL, "no dir in: %s", err.msg);
    ck_assert_msg(strstr(err.msg, mapstr) != NULL, "no size in: %s", err.msg);
    expect_miss(s, key);
    /* Everything written before is intact. */
    ck_assert_int_eq(entries(s), i);
    for (int j = 0; j < i; j++) {
        char *v;
        size_t n;
        int64_t ttl;

        snprintf(key, sizeof(key), "tc:t:k%d", j);
        ck_assert_int_eq(get1(s, key, &v, &n, &ttl), TC_OK);
        ck_assert_uint_eq(n, sizeof(val));
        ck_assert_mem_eq(v, val, n);
        tc__free(v);
    }
    /* Deleting makes room again. */
    ck_assert_int_eq(s->ops->del(s, "tc:t:k0", &err), TC_OK);
    ck_assert_int_eq(set1(s, "tc:t:small", "s", 1, 60000), TC_OK);
    s->ops->close(s);
}
END_TEST

START_TEST(test_unusable_dir)
{
    tc__store *s = (tc__store *)&s;
    char file[512], under[600];
    tc__err err = {""};
    int fd;

    /* A path under a regular file fails for root too. */
    snprintf(file, sizeof(file), "%s", path("file"));
    fd = open(file, O_CREAT | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(under, sizeof(under), "%s/sub", file);
    ck_assert_int_eq(open_at(&s, under, MiB, &err), TC_EIO);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.msg, under) != NULL, "no path in: %s", err.msg);
    ck_assert_msg(strstr(err.msg, strerror(ENOTDIR)) != NULL, "%s", err.msg);

    /* The file itself is no directory either. */
    err.msg[0] = '\0';
    ck_assert_int_eq(open_at(&s, file, MiB, &err), TC_EIO);
    ck_assert_msg(strstr(err.msg, file) != NULL, "no path in: %s", err.msg);

    /* Permissions are enforced only for other users than root. */
    if (geteuid() != 0) {
        const char *ro = path("ro");

        ck_assert_int_eq(mkdir(ro, 0500), 0);
        err.msg[0] = '\0';
        ck_assert_int_eq(open_at(&s, ro, MiB, &err), TC_EIO);
        ck_assert_msg(strstr(err.msg, ro) != NULL, "no path in: %s", err.msg);
        ck_assert_msg(strstr(err.msg, strerror(EACCES)) != NULL, "%s", err.msg);
    }

    err.msg[0] = '\0';
    ck_assert_int_eq(open_at(&s, "", MiB, &err), TC_EINVAL);
}
END_TEST

START_TEST(test_key_limits)
{
    tc__store *s = open_ok(path("db"), 16 * MiB);
    char key[600];
    tc__err err = {""};
    char *v;
    size_t n;
    int64_t ttl, c;

    /* 503 bytes: LMDB's 511 less the 8 the expiry index prefixes. */
    memset(key, 'k', sizeof(key));
    key[503] = '\0';
    ck_assert_int_eq(set1(s, key, "v", 1, 60000), TC_OK);
    expect_value(s, key, "v");
    key[503] = 'k';
    key[504] = '\0';
    ck_assert_int_eq(set1(s, key, "v", 1, 60000), TC_ETOOBIG);
    key[599] = '\0';
    ck_assert_int_eq(set1(s, key, "v", 1, 60000), TC_ETOOBIG);
    ck_assert_int_eq(get1(s, key, &v, &n, &ttl), TC_ETOOBIG);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(s->ops->del(s, key, &err), TC_ETOOBIG);
    ck_assert_int_eq(s->ops->incr(s, key, &c, &err), TC_ETOOBIG);
    ck_assert_int_eq(set1(s, "", "v", 1, 60000), TC_EINVAL);
    ck_assert_int_eq(set1(s, "tc:t:ttl", "v", 1, 0), TC_EINVAL);
    ck_assert_int_eq(entries(s), 1);
    s->ops->close(s);
}
END_TEST

START_TEST(test_ping_health)
{
    tc__store *s = open_ok(path("db"), 16 * MiB);
    tc__store_health h;

    ck_assert_int_eq(s->ops->ping(s, NULL), TC_OK);
    s->ops->health(s, &h);
    ck_assert_int_eq(h.up, 1);
    ck_assert_str_eq(h.breaker, "closed");
    ck_assert_int_eq(h.entries, 0);
    ck_assert_int_eq(set1(s, "tc:t:a", "v", 1, 60000), TC_OK);
    ck_assert_int_eq(entries(s), 1);
    s->ops->close(s);
}
END_TEST

static void add(Suite *su, const char *name, const TTest *test)
{
    TCase *tc = tcase_create(name);

    tcase_add_unchecked_fixture(tc, setup, teardown);
    /* Room for valgrind; nothing here takes more than a fraction. */
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test);
    suite_add_tcase(su, tc);
}

Suite *suite_store_lmdb(void)
{
    Suite *su = suite_create("store_lmdb");

    add(su, "roundtrip_binary", test_roundtrip_binary);
    add(su, "miss", test_miss);
    add(su, "ttl_expiry", test_ttl_expiry);
    add(su, "ttl_remaining", test_ttl_remaining);
    add(su, "overwrite", test_overwrite);
    add(su, "del", test_del);
    add(su, "incr", test_incr);
    add(su, "mget16", test_mget16);
    add(su, "two_handles", test_two_handles);
    add(su, "fork", test_fork);
    add(su, "sweep", test_sweep);
    add(su, "sweep_from_writes", test_sweep_from_writes);
    add(su, "full_map", test_full_map);
    add(su, "unusable_dir", test_unusable_dir);
    add(su, "key_limits", test_key_limits);
    add(su, "ping_health", test_ping_health);
    return su;
}
