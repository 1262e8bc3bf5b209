/*
 * service_model.c - the model the example service answers with, and its
 * reload: a thread stat()s the model file every --reload-interval seconds
 * (and at once on SIGHUP) and, when the file is another one, loads it,
 * opens its classifier and swaps both in, so that what `tutorcache
 * feedback learn` taught the model is served without a restart.
 *
 * The swap is guarded by a pthread rwlock, chosen over reference counts
 * because it is obviously correct: a request holds the read side while it
 * uses the classifier, and the swap takes the write side for two pointer
 * stores. The slow part, loading and checking the file, runs before the
 * lock is taken; the old model is freed after it is released, when no
 * request can hold it any more.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "service.h"

static const char *const reload_names[SVC_NRELOADS] = {"ok", "failed"};

/* The identity the watcher compares: a rename over the path gives
 * another inode, a write in place another size or mtime. */
static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int svc_model_load(svc *s, const char *path)
{
    svc_model *m = &s->model;
    pthread_rwlockattr_t ra;
    pthread_condattr_t ca;
    int rc;

    m->path = path;
    /* glibc's rwlocks prefer readers by default, so under steady load
     * the swap could wait for ever; preferring the writer lets it in
     * once the requests in flight are done. No request takes the read
     * side twice, which this kind of lock would not allow. (With default
     * attributes these calls cannot fail on Linux.) */
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&m->lock, &ra);
    pthread_rwlockattr_destroy(&ra);
    pthread_mutex_init(&m->mu, NULL);
    /* The ticks run on the monotonic clock: setting the wall clock must
     * neither stop the watcher nor make it spin. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    m->inited = 1;

    /* The identity is taken before the file is read: a file replaced
     * during the load is then another one at the first check. */
    if (stat(path, &m->seen) != 0) {
        memset(&m->seen, 0, sizeof(m->seen));
    }
    if ((rc = tc_model_load(&m->model, path)) != TC_OK) {
        return rc;
    }
    m->seen_ok = 1;
    tc_model_fingerprint(m->fp, m->model);
    return TC_OK;
}

int svc_model_open(svc *s, const tc_classifier_options *co)
{
    svc_model *m = &s->model;

    m->co = *co;
    m->co.model = m->model;
    return tc_classifier_open(&m->clf, s->cache, &m->co);
}

/* A reload that did not happen: counted, and logged as a warning naming
 * the file, why, and the model that goes on serving. */
static void reload_failed(svc *s, const char *trigger, const char *reason)
{
    svc_model *m = &s->model;
    svc_buf f = {0};

    svc_buf_str(&f, ",\"path\":");
    svc_buf_jstr(&f, m->path);
    svc_buf_str(&f, ",\"reason\":");
    svc_buf_jstr(&f, reason);
    svc_buf_printf(&f, ",\"model\":\"%s\",\"trigger\":\"%s\"", m->fp, trigger);
    if (!f.oom) {
        svc_log(s, TC_LOG_WARN, "model_reload_failed", f.p);
    }
    svc_buf_free(&f);
    /* Counted once logged, so that whoever sees the count finds the
     * line. */
    atomic_fetch_add_explicit(&m->reloads[SVC_RELOAD_FAILED], 1,
                              memory_order_relaxed);
}

/* The file holds the model already serving (touched, or put back). */
static void reload_unchanged(svc *s, const char *trigger)
{
    svc_buf f = {0};

    svc_buf_str(&f, ",\"path\":");
    svc_buf_jstr(&f, s->model.path);
    svc_buf_printf(&f, ",\"model\":\"%s\",\"trigger\":\"%s\"", s->model.fp,
                   trigger);
    if (!f.oom) {
        svc_log(s, TC_LOG_INFO, "model_unchanged", f.p);
    }
    svc_buf_free(&f);
}

/*
 * One check of the file. Only a file other than the one last tried is
 * loaded, so a damaged file is tried once, not at every tick, and tried
 * again when it changes; a poke (SIGHUP) also retries a file whose load
 * failed, and logs a line whatever it finds. A missing file (between the
 * steps of a swap, or deleted) keeps the model serving and is warned
 * about once until it is back.
 */
static void check(svc *s, int poked)
{
    svc_model *m = &s->model;
    const char *trigger = poked ? "sighup" : "interval";
    char fp[TC_FINGERPRINT_LEN + 1], old_fp[TC_FINGERPRINT_LEN + 1];
    char why[160], ebuf[128];
    tc_classifier_options co;
    tc_classifier *clf = NULL, *old_clf;
    tc_model *model = NULL, *old_model;
    struct stat st;
    int64_t t0;
    svc_buf f = {0};

    if (stat(m->path, &st) != 0) {
        int e = errno;

        if (poked || e != m->stat_err) {
            m->stat_err = e;
            snprintf(why, sizeof(why), "stat: %s",
                     strerror_r(e, ebuf, sizeof(ebuf)));
            reload_failed(s, trigger, why);
        }
        return;
    }
    m->stat_err = 0;
    if (same_file(&st, &m->seen) && (m->seen_ok || !poked)) {
        if (poked) {
            reload_unchanged(s, trigger);
        }
        return;
    }
    m->seen = st;
    m->seen_ok = 0;

    t0 = svc_now_us();
    if (tc_model_load(&model, m->path) != TC_OK) {
        reload_failed(s, trigger, tc_errmsg());
        return;
    }
    tc_model_fingerprint(fp, model);
    if (strcmp(fp, m->fp) == 0) {
        m->seen_ok = 1;
        tc_model_free(model);
        reload_unchanged(s, trigger);
        return;
    }
    co = m->co;
    co.model = model;
    if (tc_classifier_open(&clf, s->cache, &co) != TC_OK) {
        reload_failed(s, trigger, tc_errmsg());
        tc_model_free(model);
        return;
    }
    m->seen_ok = 1;

    /* The swap: waits for the requests using the old classifier, and
     * the ones that come next use the new one. Counted inside, so that
     * whoever sees the new fingerprint sees the count. */
    pthread_rwlock_wrlock(&m->lock);
    old_clf = m->clf;
    old_model = m->model;
    memcpy(old_fp, m->fp, sizeof(old_fp));
    m->clf = clf;
    m->model = model;
    memcpy(m->fp, fp, sizeof(m->fp));
    m->reloaded_ms = svc_wall_ms();
    atomic_fetch_add_explicit(&m->reloads[SVC_RELOAD_OK], 1,
                              memory_order_relaxed);
    pthread_rwlock_unlock(&m->lock);
    tc_classifier_close(old_clf);
    tc_model_free(old_model);
    /* the classifier's open wrote model_load; the swap is the service's */
    tc_audit_record(s->cache, "model_swap", co.ns, fp, TC_OK);

    svc_buf_str(&f, ",\"path\":");
    svc_buf_jstr(&f, m->path);
    svc_buf_printf(&f,
                   ",\"old_model\":\"%s\",\"new_model\":\"%s\","
                   "\"trigger\":\"%s\",\"load_ms\":%" PRId64,
                   old_fp, fp, trigger, (svc_now_us() - t0) / 1000);
    if (!f.oom) {
        svc_log(s, TC_LOG_INFO, "model_reloaded", f.p);
    }
    svc_buf_free(&f);
}

/* The watcher's next tick, interval_s from now on the monotonic clock. */
static void next_tick(struct timespec *due, int interval_s)
{
    clock_gettime(CLOCK_MONOTONIC, due);
    due->tv_sec += interval_s;
}

static void *watch_main(void *arg)
{
    svc *s = arg;
    svc_model *m = &s->model;
    struct timespec due;
    int poked, rc;

    pthread_mutex_lock(&m->mu);
    next_tick(&due, m->interval_s);
    while (!m->stop) {
        if (!m->poked) {
            rc = m->interval_s > 0
                     ? pthread_cond_timedwait(&m->cv, &m->mu, &due)
                     : pthread_cond_wait(&m->cv, &m->mu);
            if (rc != ETIMEDOUT) {
                continue; /* stopped, poked, or woken for nothing */
            }
        }
        poked = m->poked;
        m->poked = 0;
        /* Unlocked, so that a poke or the stop is never kept waiting
         * by a load. */
        pthread_mutex_unlock(&m->mu);
        check(s, poked);
        pthread_mutex_lock(&m->mu);
        next_tick(&due, m->interval_s);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

int svc_model_watch(svc *s, int interval_s)
{
    svc_model *m = &s->model;
    int rc;

    m->interval_s = interval_s;
    if ((rc = pthread_create(&m->thread, NULL, watch_main, s)) != 0) {
        return rc;
    }
    m->started = 1;
    return 0;
}

void svc_model_poke(svc *s)
{
    svc_model *m = &s->model;

    if (!m->started) {
        return;
    }
    pthread_mutex_lock(&m->mu);
    m->poked = 1;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

void svc_model_close(svc *s)
{
    svc_model *m = &s->model;

    if (m->started) {
        pthread_mutex_lock(&m->mu);
        m->stop = 1;
        pthread_cond_signal(&m->cv);
        pthread_mutex_unlock(&m->mu);
        pthread_join(m->thread, NULL);
        m->started = 0;
    }
    tc_classifier_close(m->clf);
    tc_model_free(m->model);
    m->clf = NULL;
    m->model = NULL;
    if (m->inited) {
        pthread_cond_destroy(&m->cv);
        pthread_mutex_destroy(&m->mu);
        pthread_rwlock_destroy(&m->lock);
        m->inited = 0;
    }
}

/* Both series always, so that a rate over them starts at the start. */
void svc_model_metrics(const svc *s, svc_buf *b)
{
    size_t i;

    svc_buf_str(b, "# HELP intent_service_model_reloads_total Model files "
                   "swapped in (ok) or refused (failed: missing, unreadable "
                   "or damaged; the model serving was kept).\n"
                   "# TYPE intent_service_model_reloads_total counter\n");
    for (i = 0; i < SVC_NRELOADS; i++) {
        svc_buf_printf(
            b,
            "intent_service_model_reloads_total{result=\"%s\"} %" PRIu64 "\n",
            reload_names[i],
            atomic_load_explicit(&s->model.reloads[i], memory_order_relaxed));
    }
}
