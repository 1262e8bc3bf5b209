/*
 * open.c - the opening and closing of a cache: its configuration, L1,
 * store and counters, and the tracking of other processes' writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cfgparse.h"
#include "base/deadline.h"
#include "cache/tiers.h"
#include "store/fbstore.h"

/* Degraded-mode warnings: at most one line per kind in this interval. */
#define LOG_INTERVAL_MS 10000

/*
 * On a store whose feedback keys carry a hash tag (a cluster), the
 * override namespace's keys carry it too ("tc:{tc:fb}:<hex>"), so that
 * the feedback script that writes a correction's record writes its
 * override in the same slot. Done before any key is made: the prefix is
 * hashed into every key of the namespace.
 */
static int tag_overrides(tc__cache *h, tc__err *err)
{
    const char *tag = h->store ? h->store->ops->fb_tag : NULL;
    char prefix[64];

    for (size_t i = 0; tag && i < h->nns; i++) {
        if (strcmp(h->cfg.ns[i].name, TC__FB_OVERRIDE_NS) == 0) {
            snprintf(prefix, sizeof(prefix), "{%s}", tag);
            return tc__cfg_set_str(&h->cfg.ns[i].prefix, prefix, err);
        }
    }
    return TC_OK;
}

/*
 * Without an L2, a key without an entry in L1 is absent, and classify
 * notes that a text has no correction (ns.c's notes) to skip the lookup
 * on its next hit. A value stored in the overrides' namespace ends such
 * an absence, and so does one of a namespace with the same prefix (the
 * same keys); a value of any other namespace cannot, so only theirs void
 * the notes: a stream of new answers leaves every hit's note standing.
 */
static void mark_absence_ends(tc__cache *h)
{
    const char *fix = NULL;

    for (size_t i = 0; i < h->nns; i++) {
        if (strcmp(h->cfg.ns[i].name, TC__FB_OVERRIDE_NS) == 0) {
            fix = h->cfg.ns[i].prefix;
        }
    }
    for (size_t i = 0; fix && i < h->nns; i++) {
        h->ns[i].ends_absences = strcmp(h->ns[i].def->prefix, fix) == 0;
    }
}

/* tc__cache_open, or with fb tc__cache_open_fb. */
static int open_as(tc__cache **out, const tc_options *opt, int fb)
{
    tc__cache *h;
    tc__err err;
    size_t i;
    int rc;

    err.msg[0] = '\0';
    *out = NULL;
    if (!(h = tc__calloc(1, sizeof(*h)))) {
        return tc__fail(TC_ENOMEM, "out of memory");
    }
    if (pthread_mutex_init(&h->fl_mu, NULL) != 0) {
        tc__free(h);
        return tc__fail(TC_ENOMEM, "pthread_mutex_init failed");
    }
    if (pthread_cond_init(&h->fl_cv, NULL) != 0) {
        pthread_mutex_destroy(&h->fl_mu);
        tc__free(h);
        return tc__fail(TC_ENOMEM, "pthread_cond_init failed");
    }
    if (opt) {
        h->log.fn = opt->log_fn;
        h->log.userdata = opt->log_userdata;
        h->log.level = opt->log_level;
        h->log.log_texts = opt->log_texts;
    } else {
        h->log.level = TC_LOG_WARN;
    }
    h->log.interval_ms = LOG_INTERVAL_MS;
    if ((rc = tc__config_load(&h->cfg, opt, &err)) != TC_OK ||
        (fb && (rc = tc__config_use_fb_store(&h->cfg, &err)) != TC_OK)) {
        goto fail;
    }
    h->nns = h->cfg.nns;
    h->ns_bytes = h->nns * sizeof(*h->ns);
    if (!(h->ns = tc__calloc(h->nns, sizeof(*h->ns)))) {
        rc = tc__errf(&err, TC_ENOMEM, "out of memory");
        goto fail;
    }
    for (i = 0; i < h->nns; i++) {
        tc__nsrt *n = &h->ns[i];

        n->def = &h->cfg.ns[i];
        /* so that the first use reads the generation from L2 */
        atomic_store(&n->gen_seen_ms, INT64_MIN / 2);
        if (tc__counters_init(&n->cnt, C_COUNT) != TC_OK) {
            rc = tc__errf(&err, TC_ENOMEM, "out of memory");
            goto fail;
        }
    }
    if (tc__counters_init(&h->wr, TC__WRITE_NREASONS) != TC_OK) {
        rc = tc__errf(&err, TC_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = tc__l1_new(&h->l1, h->cfg.l1_max_bytes, 0)) != TC_OK) {
        tc__errf(&err, rc, "L1: %s", tc__strerror(rc));
        goto fail;
    }
    if ((rc = tc__keyring_load(&h->keys, &h->cfg, &err)) != TC_OK) {
        goto fail;
    }
    for (i = 0; h->keys && h->keys->has_secret && i < h->nns; i++) {
        h->ns[i].ksec = h->keys->secret;
    }
    if ((rc = tc__store_open(&h->store, &h->cfg.store, &h->log, &err)) !=
        TC_OK) {
        goto fail;
    }
    h->l2raw = h->store;
    h->opened_ms = tc__now_ms();
    if (!h->store) {
        mark_absence_ends(h);
    }
    if (h->store && h->keys && h->keys->nkeys &&
        (rc = tc__seal_store_wrap(&h->store, h->l2raw, h->keys, &h->log,
                                  &h->seal_failures[TC__SEAL_L2])) != TC_OK) {
        tc__errf(&err, rc, "out of memory");
        goto fail;
    }
    if ((rc = tag_overrides(h, &err)) != TC_OK) {
        goto fail;
    }
    /* A server that is down is not an error (the cache degrades and
     * recovers by itself), but a wrong password, or a certificate that
     * does not verify, is a mistake best reported now. */
    if (h->store) {
        /* one deadline: the connect, AUTH, SELECT and the PING */
        int outer = tc__deadline_enter();

        rc = h->store->ops->ping(h->store, &err);
        tc__deadline_leave(outer);
    }
    if (h->store && (rc == TC_EAUTH || rc == TC_ETLS)) {
        goto fail;
    }
    if (h->store) {
        tc__cache_l2_state(h, rc);
    }
    tc__cache_track_start(h);
    *out = h;
    return TC_OK;
fail:
    tc__cache_close(h);
    return tc__fail(rc, "%s", err.msg);
}

int tc__cache_open(tc__cache **out, const tc_options *opt)
{
    return open_as(out, opt, 0);
}

int tc__cache_open_fb(tc__cache **out, const tc_options *opt)
{
    return open_as(out, opt, 1);
}

void tc__cache_close(tc__cache *h)
{
    size_t i;

    if (!h) {
        return;
    }
    tc__cache_track_stop(h);
    if (h->store) {
        h->store->ops->close(h->store);
    }
    tc__keyring_free(h->keys);
    tc__l1_free(h->l1);
    tc__counters_free(&h->wr);
    for (i = 0; h->ns && i < h->nns; i++) {
        tc__counters_free(&h->ns[i].cnt);
    }
    tc__free(h->ns);
    tc__config_free(&h->cfg);
    pthread_cond_destroy(&h->fl_cv);
    pthread_mutex_destroy(&h->fl_mu);
    tc__free(h);
}
