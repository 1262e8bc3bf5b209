/*
 * lmdb_env.c - the LMDB environment under the store: its directory made
 * when missing, opened once per directory and process and shared by the
 * handles through a registry (lmdb_store.h says why), its cache and
 * feedback databases opened with it, and what every file of the store
 * needs of it: a transaction begun, an LMDB code turned into a TC_E*.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/lmdb/lmdb_store.h"

/*
 * Every concurrent read transaction of every process on the host takes a
 * slot; a full table turns reads into errors. A slot costs 64 bytes of
 * lock file and nothing at run time (LMDB scans only the used ones).
 */
#define MAX_READERS 510
/* data and expiry, the six of feedback, and room to grow. */
#define MAX_DBS 12
/* The environment is the user's own cache: only they may read it. */
#define DIR_MODE 0700
#define FILE_MODE 0600

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static tc__lmdb_env *registry;

/* ---- errors and transactions ----------------------------------------- */

int tc__lmdb_error(const tc__lmdb_env *e, tc__err *err, int rc, const char *op,
                   const char *what)
{
    if (rc == MDB_MAP_FULL) {
        return tc__errf(err, TC_EFULL,
                        "%s %s: the LMDB map of %s is full (map size %zu "
                        "bytes); entries expire to make room, or raise "
                        "lmdb_map_bytes",
                        op, what, e->dir, e->map_bytes);
    }
    if (rc == MDB_MAP_RESIZED) {
        return tc__errf(err, TC_EIO,
                        "%s %s: another process grew the LMDB map of %s "
                        "beyond this one's %zu bytes; use one lmdb_map_bytes "
                        "for every process",
                        op, what, e->dir, e->map_bytes);
    }
    if (rc == ENOMEM) {
        return tc__errf(err, TC_ENOMEM, "%s %s: out of memory", op, what);
    }
    return tc__errf(err, TC_EIO, "%s %s: LMDB %s: %s", op, what, e->dir,
                    mdb_strerror(rc));
}

/*
 * A full reader table is usually the doing of crashed processes, whose
 * slots only mdb_reader_check() frees; try that once.
 */
int tc__lmdb_begin(tc__lmdb_env *e, unsigned flags, MDB_txn **txn)
{
    int dead = 0;
    int rc;

    rc = mdb_txn_begin(e->env, NULL, flags, txn);
    if (rc == MDB_READERS_FULL && mdb_reader_check(e->env, &dead) == 0 &&
        dead > 0) {
        rc = mdb_txn_begin(e->env, NULL, flags, txn);
    }
    return rc;
}

/* ---- open ------------------------------------------------------------ */

/* mkdir -p: missing components are created with mode DIR_MODE. */
static int mkdirs(const char *dir, tc__err *err)
{
    struct stat st;
    char *p, *c;
    char saved;

    p = tc__strdup(dir);
    if (!p) {
        return tc__errf(err, TC_ENOMEM, "lmdb %s: out of memory", dir);
    }
    for (c = p + 1;; c++) {
        if (*c != '/' && *c != '\0') {
            continue;
        }
        saved = *c;
        *c = '\0';
        if (mkdir(p, DIR_MODE) != 0 && errno != EEXIST) {
            int rc = saved == '\0'
                         ? tc__errf(err, TC_EIO,
                                    "lmdb: cannot create directory %s: %s", dir,
                                    strerror(errno))
                         : tc__errf(err, TC_EIO,
                                    "lmdb: cannot create directory %s "
                                    "(for %s): %s",
                                    p, dir, strerror(errno));
            tc__free(p);
            return rc;
        }
        *c = saved;
        if (saved == '\0') {
            break;
        }
    }
    tc__free(p);
    if (stat(dir, &st) != 0) {
        return tc__errf(err, TC_EIO, "lmdb: cannot use directory %s: %s", dir,
                        strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return tc__errf(err, TC_EIO, "lmdb: %s: %s", dir, strerror(ENOTDIR));
    }
    return TC_OK;
}

static void env_free(tc__lmdb_env *e)
{
    if (e->env) {
        mdb_env_close(e->env);
    }
    tc__free(e->dir);
    tc__free(e);
}

/*
 * The cache's databases and feedback's, opened once per environment: a
 * DBI handle opened in one transaction is only usable by others after it
 * commits, and opening feedback's later, lazily, would race between
 * threads.
 */
static int open_dbs(tc__lmdb_env *e)
{
    static const char *const names[] = {
        "data",        "expiry",  "fb_records", "fb_queue", "fb_pending",
        "fb_counters", "fb_meta", "fb_order",   "popular",  "tally",
    };
    MDB_dbi *const dbis[] = {
        &e->data,   &e->index,   &e->fb.rec,   &e->fb.queue, &e->fb.pend,
        &e->fb.cnt, &e->fb.meta, &e->fb.order, &e->pop,      &e->tally,
    };
    MDB_txn *txn = NULL;
    int rc;

    rc = mdb_txn_begin(e->env, NULL, 0, &txn);
    for (size_t i = 0; rc == 0 && i < sizeof(names) / sizeof(names[0]); i++) {
        rc = mdb_dbi_open(txn, names[i], MDB_CREATE, dbis[i]);
    }
    if (rc == 0) {
        return mdb_txn_commit(txn);
    }
    if (txn) {
        mdb_txn_abort(txn);
    }
    return rc;
}

/*
 * Sync policy: MDB_NOSYNC. Commits do not fsync: LMDB keeps atomicity,
 * consistency and isolation (it writes pages in order, without
 * MDB_WRITEMAP), and a crashed process loses nothing, since its writes are
 * in the page cache. Only an OS crash or power loss can undo the last
 * transactions. A cache can afford that, and an fsync per write would
 * cost more than the lookup it saves. Closing the last handle syncs;
 * feedback, which cannot afford it, syncs each put (lmdb_fb.c).
 */
static int env_open(tc__lmdb_env **out, const tc__store_config *cfg,
                    const struct stat *st, const tc__logger *log, tc__err *err)
{
    MDB_envinfo info;
    tc__lmdb_env *e;
    int dead = 0;
    int rc;

    *out = NULL;
    e = tc__calloc(1, sizeof(*e));
    if (!e || !(e->dir = tc__strdup(cfg->dir))) {
        tc__free(e);
        return tc__errf(err, TC_ENOMEM, "lmdb %s: out of memory", cfg->dir);
    }
    e->dev = st->st_dev;
    e->ino = st->st_ino;
    e->pid = getpid();
    e->refs = 1;
    atomic_flag_clear(&e->sweeping);
    atomic_store(&e->last_sweep_ms, tc__now_ms());
    rc = mdb_env_create(&e->env);
    if (rc != 0) {
        e->env = NULL;
        env_free(e);
        return tc__errf(err, rc == ENOMEM ? TC_ENOMEM : TC_EIO, "lmdb %s: %s",
                        cfg->dir, mdb_strerror(rc));
    }
    e->map_bytes = cfg->map_bytes ? cfg->map_bytes : TC__DEFAULT_MAP_BYTES;
    if ((rc = mdb_env_set_maxreaders(e->env, MAX_READERS)) != 0 ||
        (rc = mdb_env_set_maxdbs(e->env, MAX_DBS)) != 0 ||
        (rc = mdb_env_set_mapsize(e->env, e->map_bytes)) != 0) {
        goto fail;
    }
    /* MDB_NOTLS: a read transaction may begin on one pool thread and the
     * slot is released at abort, not pinned to the thread. */
    rc = mdb_env_open(e->env, cfg->dir, MDB_NOTLS | MDB_NOSYNC, FILE_MODE);
    if (rc != 0) {
        rc = tc__errf(err, rc == ENOMEM ? TC_ENOMEM : TC_EIO,
                      "lmdb: cannot open an environment in %s: %s", cfg->dir,
                      mdb_strerror(rc));
        env_free(e);
        return rc;
    }
    /* Reader slots of crashed processes would pin old pages forever. */
    if (mdb_reader_check(e->env, &dead) == 0 && dead > 0 && log) {
        char n[24];
        const char *fields[] = {"dir", cfg->dir, "#readers", n, NULL};

        snprintf(n, sizeof(n), "%d", dead);
        tc__log(log, TC_LOG_INFO, "lmdb_stale_readers_cleared", fields);
    }
    if (mdb_env_info(e->env, &info) == 0) {
        /* LMDB grows the map to fit a larger existing file. */
        e->map_bytes = info.me_mapsize;
    }
    e->max_key = (size_t)mdb_env_get_maxkeysize(e->env);
    e->max_key =
        (e->max_key < TC__LMDB_KEY_MAX ? e->max_key : TC__LMDB_KEY_MAX) -
        TC__LMDB_HDR;
    rc = open_dbs(e);
    if (rc != 0) {
        goto fail;
    }
    *out = e;
    return TC_OK;

fail:
    rc = tc__lmdb_error(e, err, rc, "OPEN", cfg->dir);
    env_free(e);
    return rc;
}

int tc__lmdb_env_get(tc__lmdb_env **out, const tc__store_config *cfg,
                     const tc__logger *log, tc__err *err)
{
    struct stat st;
    tc__lmdb_env *e;
    int rc;

    *out = NULL;
    rc = mkdirs(cfg->dir, err);
    if (rc != TC_OK) {
        return rc;
    }
    if (stat(cfg->dir, &st) != 0) {
        return tc__errf(err, TC_EIO, "lmdb: cannot use directory %s: %s",
                        cfg->dir, strerror(errno));
    }
    pthread_mutex_lock(&registry_mu);
    for (e = registry; e; e = e->next) {
        if (e->dev == st.st_dev && e->ino == st.st_ino && e->pid == getpid()) {
            break;
        }
    }
    if (e) {
        e->refs++;
    } else {
        rc = env_open(&e, cfg, &st, log, err);
        if (rc == TC_OK) {
            e->next = registry;
            registry = e;
        }
    }
    pthread_mutex_unlock(&registry_mu);
    *out = e;
    return rc;
}

void tc__lmdb_env_put(tc__lmdb_env *e)
{
    pthread_mutex_lock(&registry_mu);
    /*
     * In a forked child the environment is the parent's: closing it would
     * clear the parent's reader slots, so it is left alone.
     */
    if (e->pid == getpid() && --e->refs == 0) {
        for (tc__lmdb_env **pp = &registry; *pp; pp = &(*pp)->next) {
            if (*pp == e) {
                *pp = e->next;
                break;
            }
        }
        /* Commits skip fsync (MDB_NOSYNC); make a closed store durable. */
        mdb_env_sync(e->env, 1);
        mdb_env_close(e->env);
        tc__free(e->dir);
        tc__free(e);
    }
    pthread_mutex_unlock(&registry_mu);
}
