/*
 * answerer.c - the model-or-backend options of classify, warm and the
 * benchmarks, and opening what they name into a classifier's options.
 * One copy, so every command reads and checks them alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answerer.h"

/* --backend-timeout's range, in seconds. */
#define TIMEOUT_MIN_S 0.001
#define TIMEOUT_MAX_S 3600
/* --top-k's bound: labels a result may list. */
#define TOP_K_MAX 100

void cli_answerer_init(cli_answerer *a, size_t batch)
{
    memset(a, 0, sizeof(*a));
    a->timeout_ms = EXEC_BACKEND_TIMEOUT_MS;
    a->batch = batch;
}

int cli_answerer_option(const cli_ctx *ctx, int opt, cli_answerer *a)
{
    long long v;
    double d;
    int rc;

    switch (opt) {
    case 'm':
        a->model = optarg;
        return CLI_OK;
    case CLI_OPT_BACKEND:
        return cli_parse_backend(ctx, optarg, &a->backend);
    case 'k':
        if ((rc = cli_opt_int(ctx, "--top-k", optarg, 1, TOP_K_MAX, &v)) ==
            CLI_OK) {
            a->top_k = (int)v;
        }
        return rc;
    case CLI_OPT_BATCH:
        if ((rc = cli_opt_int(ctx, "--batch", optarg, 1, CLI_BATCH_MAX, &v)) ==
            CLI_OK) {
            a->batch = (size_t)v;
        }
        return rc;
    case CLI_OPT_BACKEND_VERSION:
        if (!*optarg || strlen(optarg) > EXEC_BACKEND_VERSION_MAX) {
            return cli_usage(ctx, "--backend-version: 1 to %d bytes, please",
                             EXEC_BACKEND_VERSION_MAX);
        }
        a->version = optarg;
        return CLI_OK;
    case CLI_OPT_BACKEND_TIMEOUT:
        if (cli_parse_number(optarg, &d) != 0 || d < TIMEOUT_MIN_S ||
            d > TIMEOUT_MAX_S) {
            return cli_usage(ctx,
                             "--backend-timeout: \"%s\" is not a number of "
                             "seconds in 0.001-3600",
                             optarg);
        }
        a->timeout_ms = (int)(d * 1000 + 0.5);
        return CLI_OK;
    default:
        return cli_opt_default(ctx, opt);
    }
}

int cli_answerer_check(const cli_ctx *ctx, const cli_answerer *a)
{
    if (a->model && a->backend) {
        return cli_usage(ctx, "--model and --backend: one or the other");
    }
    if (a->version && !a->backend) {
        return cli_usage(ctx, "--backend-version goes with --backend");
    }
    return CLI_OK;
}

int cli_answerer_open(cli_answerer *a, tc_cache *h, const char *who,
                      tc_classifier_options *co)
{
    char errbuf[512];
    int rc;

    co->top_k = a->top_k;
    if (!a->backend) {
        if ((rc = cli_model_path(h, a->model, who, "use --backend exec:COMMAND",
                                 &a->model_path)) != CLI_OK ||
            (rc = cli_model_load(a->model_path, &a->m)) != CLI_OK) {
            return rc;
        }
        co->model = a->m;
        return CLI_OK;
    }
    if (exec_backend_open(&a->be, a->backend, a->timeout_ms, errbuf,
                          sizeof(errbuf)) != 0) {
        cli_err("%s: %s", who, errbuf);
        return CLI_FAIL;
    }
    if (a->version) {
        snprintf(a->version_buf, sizeof(a->version_buf), "%s", a->version);
    } else {
        exec_backend_version(a->version_buf, sizeof(a->version_buf),
                             a->backend);
    }
    co->fn = exec_backend_classify;
    co->fn_userdata = a->be;
    co->fn_version = a->version_buf;
    return CLI_OK;
}

void cli_answerer_close(cli_answerer *a)
{
    /* the backend's child is asked to exit, then reaped */
    exec_backend_close(a->be);
    a->be = NULL;
    tc_model_free(a->m);
    a->m = NULL;
    free(a->model_path);
    a->model_path = NULL;
}
