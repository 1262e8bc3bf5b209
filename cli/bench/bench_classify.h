/*
 * bench_classify.h - `tutorcache bench classify`: classification through
 * the cache, cold, warm, mixed and on threads. cmd_bench.c parses the
 * command line of both subjects and hands this one its options.
 */
#ifndef TC_CLI_BENCH_CLASSIFY_H
#define TC_CLI_BENCH_CLASSIFY_H

#include "cli.h"

/* The default of --requests, and its bound (texts are made in advance). */
#define BENCH_CLASSIFY_REQUESTS 5000
#define BENCH_CLASSIFY_MAX_REQUESTS 1000000LL

/* The default of --hit-ratio. */
#define BENCH_CLASSIFY_HIT_RATIO 0.8

typedef struct bench_classify_opts {
    const char *model;   /* --model, or NULL */
    const char *backend; /* the COMMAND of --backend exec:COMMAND, or NULL */
    const char *texts;   /* --texts FILE, or NULL: built-in texts */
    int threads;         /* of the _threadsN runs; 1: none */
    long long requests;  /* classifications per scenario */
    double hit_ratio;    /* share of repeated texts in `mixed` */
    int json;            /* JSON Lines instead of a table */
    int progress;        /* scenario names on stderr (a terminal) */
} bench_classify_opts;

/* Runs the scenarios and prints their results; returns the exit code. */
int bench_classify_run(cli_ctx *ctx, const bench_classify_opts *o);

#endif /* TC_CLI_BENCH_CLASSIFY_H */
