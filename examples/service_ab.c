/*
 * service_ab.c - which model answered a text, remembered so that a
 * feedback record that does not say ("model" absent) can be charged to
 * the model whose answer it corrects, the control's or, in an A/B
 * rollout (--candidate), the candidate's.
 *
 * A fixed table of SVC_SERVED_SLOTS entries, indexed by a hash of the
 * normalized text and the user_id the classify request gave: memory is
 * bounded whatever the traffic, and a newer answer overwrites an older
 * one in its slot, so the service forgets answers it served long ago (or
 * before a restart) and then leaves "model" empty rather than guess.
 * Only the hash is kept, never the text. The table is striped by locks so
 * that request threads seldom wait on each other.
 */
#include <stdlib.h>
#include <string.h>

#include "service.h"

/* The seed and prime of 64-bit FNV-1a. */
#define FNV_SEED 0xcbf29ce484222325u
#define FNV_PRIME 0x100000001b3u

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
    }
    return h;
}

/* The key of (text, user): 0 when the text does not normalize. A 0xff
 * byte, which UTF-8 never holds, separates the two. */
static uint64_t served_key(const char *text, size_t len, const char *user)
{
    char *norm = NULL;
    size_t nlen = 0;
    uint64_t h;

    if (tc_text_normalize(&norm, &nlen, text, len) != TC_OK) {
        return 0;
    }
    h = fnv(FNV_SEED, norm, nlen);
    tc_free(norm);
    if (user) {
        h = fnv(fnv(h, "\xff", 1), user, strlen(user));
    }
    return h ? h : 1;
}

int svc_served_init(svc *s)
{
    svc_served *t = &s->served;

    t->slots = calloc(SVC_SERVED_SLOTS, sizeof(*t->slots));
    if (!t->slots) {
        return -1;
    }
    for (int i = 0; i < SVC_SERVED_LOCKS; i++) {
        pthread_mutex_init(&t->mu[i], NULL);
    }
    return 0;
}

void svc_served_free(svc *s)
{
    svc_served *t = &s->served;

    if (t->slots) {
        for (int i = 0; i < SVC_SERVED_LOCKS; i++) {
            pthread_mutex_destroy(&t->mu[i]);
        }
        free(t->slots);
        t->slots = NULL;
    }
}

void svc_served_note(svc *s, const char *text, size_t len, const char *user,
                     const tc_result *res)
{
    svc_served *t = &s->served;
    size_t mlen = res->model ? strlen(res->model) : 0;
    uint64_t key;
    size_t i;

    /* a correction's override answers for no model */
    if (!t->slots || res->source == TC_SOURCE_FEEDBACK || mlen == 0 ||
        mlen > TC_FINGERPRINT_LEN || !(key = served_key(text, len, user))) {
        return;
    }
    i = key % SVC_SERVED_SLOTS;
    pthread_mutex_lock(&t->mu[i % SVC_SERVED_LOCKS]);
    t->slots[i].key = key;
    memcpy(t->slots[i].model, res->model, mlen + 1);
    pthread_mutex_unlock(&t->mu[i % SVC_SERVED_LOCKS]);
}

/* The model remembered for key into out; 0 when there is none. */
static int served_get(svc_served *t, uint64_t key, char *out)
{
    size_t i = key % SVC_SERVED_SLOTS;
    int found;

    pthread_mutex_lock(&t->mu[i % SVC_SERVED_LOCKS]);
    found = key && t->slots[i].key == key;
    if (found) {
        memcpy(out, t->slots[i].model, sizeof(t->slots[i].model));
    }
    pthread_mutex_unlock(&t->mu[i % SVC_SERVED_LOCKS]);
    return found;
}

int svc_served_model(svc *s, const char *text, const char *user, char *out)
{
    size_t len = strlen(text);

    if (!s->served.slots) {
        return 0;
    }
    /* the answer given to this user, else the one given without a user */
    return (user && served_get(&s->served, served_key(text, len, user), out)) ||
           served_get(&s->served, served_key(text, len, NULL), out);
}
