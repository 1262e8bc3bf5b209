/*
 * learn.h - `tutorcache feedback learn`, in two files: learn_resolve.c
 * decides what the records of the feedback queue ask of the model (one
 * answer per text, after the per-user cap and the vote), and cmd_learn.c
 * builds the new model, checks it, swaps it in and acknowledges the
 * records.
 */
#ifndef TC_CLI_LEARN_H
#define TC_CLI_LEARN_H

#include <stddef.h>
#include <stdint.h>

#include "feedback_common.h"

/* `tutorcache feedback learn` (cmd_learn.c), run by the feedback group
 * with argv[0] "learn"; its help; and what it kept of its runs on model
 * (MODEL.learn.json): totals and the last run's summary, NULL when it never
 * ran. */
int cli_feedback_learn(cli_ctx *ctx, int argc, char **argv);
extern const char cli_help_feedback_learn[];
cJSON *cli_learn_stats(const char *model);

/* What became of a record. */
typedef enum learn_fate {
    LEARN_APPLIED = 0, /* its text's answer is taught (it won the vote) */
    LEARN_AGREED,      /* it voted with the winner, or confirmed */
    LEARN_OVERRULED,   /* it lost the vote on its text */
    LEARN_CAPPED,      /* its user's share of the window was used up */
    LEARN_HELD,        /* waits for more votes: left in the queue */
    LEARN_SKIPPED,     /* unusable (a label the model lacks, a bad record):
                          left in the queue, for a retrain to take */
    LEARN_NFATES
} learn_fate;

/* One record of the queue, as resolution sees it. */
typedef struct learn_rec {
    char *id;
    cJSON *rec;         /* the record */
    char *norm;         /* its normalized text */
    const char *user;   /* user_id, or NULL */
    const char *intent; /* correct_intent */
    int correction;     /* a correction (else a confirmation) */
    double confidence;  /* original_confidence */
    int64_t ts_ms;      /* its timestamp, ms since the epoch */
    learn_fate fate;
} learn_rec;

/* The rules of resolution (the command's options). */
typedef struct learn_rules {
    long user_cap; /* corrections per user and window; 0: no cap */
    int64_t user_window_ms;
    int min_votes;    /* voters a confident correction needs */
    double confident; /* the original confidence that makes one so */
} learn_rules;

/*
 * A user's count of corrections in the current window, kept between runs
 * in the state file so that a window spans runs.
 */
typedef struct learn_user {
    char *user;
    int64_t window; /* ts_ms / user_window_ms */
    long count;
} learn_user;

typedef struct learn_users {
    learn_user *v;
    size_t n, cap;
} learn_users;

/* The count of user in window (0 when unknown), and its increment; -1
 * when out of memory. */
long learn_users_count(const learn_users *u, const char *user, int64_t window);
int learn_users_add(learn_users *u, const char *user, int64_t window);
/* A copy of src in dst (empty before); -1 when out of memory. */
int learn_users_clone(learn_users *dst, const learn_users *src);
void learn_users_free(learn_users *u);

/*
 * Parses a record delivered by the queue into r (which takes id and the
 * parsed record). Returns 0, or -1 when out of memory; a record that is
 * not usable gets the fate LEARN_SKIPPED after a message.
 */
int learn_rec_parse(learn_rec *r, const char *id, const char *record);
void learn_rec_free(learn_rec *r);

/*
 * Decides the fate of every record: oldest first, each user's
 * corrections past the cap of its window are capped (users holds the
 * counts of what earlier runs taught, and this run's corrections are
 * added to it as they are let through); then per normalized
 * text, the intent with the most voters wins (a user voting once, with
 * their latest record; records without user_id each count as a voter;
 * a tie goes to the intent of the latest record), and a winner that a
 * correction made with original_confidence >= confident supports is held
 * while it has fewer than min_votes voters. winners[i] receives, for
 * each text whose correction is to be taught, the record that carries it
 * (the latest of the winning intent); *nwinners their count.
 * Returns 0, or -1 when out of memory.
 */
int learn_resolve(learn_rec *r, size_t n, const learn_rules *rules,
                  learn_users *users, learn_rec **winners, size_t *nwinners);

typedef struct learn_opts {
    const char *model;
    const char *data;
    const char *consumer;
    double tolerance; /* points */
    learn_rules rules;
    int dry_run, rollback;
} learn_opts;

typedef struct learn_run {
    cli_ctx *ctx;
    const learn_opts *o;
    char *model; /* its path */
    tc_cache *h;
    tc_model *cur, *cand;
    learn_rec *recs;
    size_t n, cap;
    learn_rec **winners;
    size_t nwinners;
    long fates[LEARN_NFATES];
    double acc_before, acc_after, right;
    const char *reason;
    char why[512];
    learn_users users; /* what earlier runs taught, per user and window */
    cJSON *state;      /* MODEL.learn.json */
    int lock;          /* MODEL.learn.lock, held for the run; -1: none */
} learn_run;

/* ---- learn_model.c ---------------------------------------------------- */

/* "MODEL" + suffix, malloc'd; NULL when out of memory. */
char *learn_beside(const char *model, const char *suffix);

/* Winners the current model answers already become agreements. */
void learn_drop_agreed(learn_run *u);

/* Builds u->cand; returns a cli_exit code after a message. */
int learn_build(learn_run *u);

/* Measures u->cand against u->cur on u->cur's references (u->acc_*,
 * u->right); sets u->reason when the candidate is refused. */
int learn_check(learn_run *u);

/* MODEL becomes the candidate, the old file kept as MODEL.prev. */
int learn_swap_in(learn_run *u);

/* MODEL.prev and MODEL trade places (--rollback). */
int learn_rollback(const char *model);

/* The training example of a record: text and the corrected labels under
 * the model's head names; malloc'd JSON, or NULL when out of memory. */
char *learn_example(const learn_rec *r);

#endif
