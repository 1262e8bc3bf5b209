/*
 * fuzz_service.c - request bodies of the example intent service
 * (examples/service_api.c: the body check every POST shares, then the
 * classify and feedback endpoints) from any bytes.
 *
 * The service's files are linked as they are, without intent_service.c
 * (its main): service_api.c, service_http.c and service_util.c. Their
 * libmicrohttpd calls are real except two, wrapped at link time
 * (-Wl,--wrap): creating a response also keeps a copy of its body, and
 * queueing it records the status instead of sending it on a connection,
 * which the harness does not have. Each body goes to POST /classify
 * (a model trained at start-up, caching off, so every answer comes from
 * the model and none depends on an earlier input) and to POST /feedback
 * (the memory: store, so a body that passes the check is answered 503
 * without storing anything; the record parser has its own harnesses),
 * and to POST /warm (its texts classified with caching off; "popular"
 * refused, since memory: keeps no popularity).
 *
 * Properties: each request is answered once, with 200, 400 or (feedback
 * on memory:) 503; the answer is a JSON object in valid UTF-8, an error
 * names itself in "error", a classification has "intent" and
 * "confidence"; and a body the shared check refuses gets the same error
 * and detail from both endpoints, as service_api.c promises.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "service.h"

#include "fuzz_common.h"

/* ---- the two wrapped libmicrohttpd calls ------------------------------- */

static char *sent;
static size_t sent_len;
static unsigned sent_status;
static int nqueued;

struct MHD_Response *__real_MHD_create_response_from_buffer_with_free_callback(
    size_t size, void *buffer, MHD_ContentReaderFreeCallback crfc);
struct MHD_Response *__wrap_MHD_create_response_from_buffer_with_free_callback(
    size_t size, void *buffer, MHD_ContentReaderFreeCallback crfc);
enum MHD_Result __wrap_MHD_queue_response(struct MHD_Connection *connection,
                                          unsigned int status_code,
                                          struct MHD_Response *response);

struct MHD_Response *__wrap_MHD_create_response_from_buffer_with_free_callback(
    size_t size, void *buffer, MHD_ContentReaderFreeCallback crfc)
{
    free(sent);
    sent = fz_strdup(buffer, size);
    sent_len = size;
    return __real_MHD_create_response_from_buffer_with_free_callback(
        size, buffer, crfc);
}

enum MHD_Result __wrap_MHD_queue_response(struct MHD_Connection *connection,
                                          unsigned int status_code,
                                          struct MHD_Response *response)
{
    (void)connection;
    (void)response;
    sent_status = status_code;
    nqueued++;
    return MHD_YES;
}

/* ---- the service ------------------------------------------------------- */

static const char training[] =
    "{\"text\": \"how do I reverse a list in python\", \"intent\": "
    "\"code_generation\", \"complexity\": \"beginner\", \"techniques\": "
    "[\"python\"]}\n"
    "{\"text\": \"write a function that sorts numbers\", \"intent\": "
    "\"code_generation\", \"complexity\": \"beginner\", \"techniques\": "
    "[\"sorting\"]}\n"
    "{\"text\": \"why does my program crash with a segfault\", \"intent\": "
    "\"debugging\", \"complexity\": \"intermediate\", \"techniques\": "
    "[\"c\"]}\n"
    "{\"text\": \"fix this null pointer exception\", \"intent\": "
    "\"debugging\", \"complexity\": \"intermediate\", \"techniques\": "
    "[\"java\"]}\n"
    "{\"text\": \"explain what a closure is\", \"intent\": \"concept\", "
    "\"complexity\": \"advanced\", \"techniques\": []}\n"
    "{\"text\": \"what is recursion\", \"intent\": \"concept\", "
    "\"complexity\": \"beginner\", \"techniques\": []}\n";

static svc service;

static void start(void)
{
    static char path[512];
    tc_options opt;
    tc_train_options to;
    tc_classifier_options co;
    tc_model *m = NULL;

    memset(&service, 0, sizeof(service));
    service.level = TC_LOG_OFF;
    tc_options_init(&opt);
    opt.flags = TC_OPT_NO_ENV | TC_OPT_NO_CONFIG;
    opt.store_url = "memory:";
    opt.enable_caching = 0;
    tc_train_options_init(&to);
    to.buckets = 512;
    to.dim = 8;
    to.epochs = 5;
    to.threads = 1;
    /* the service loads its model from a file, as it does in production */
    snprintf(path, sizeof(path), "%s/service.tcm", fz_tmpdir());
    if (tc_cache_open(&service.cache, &opt) != TC_OK ||
        tc_model_train(&m, training, sizeof(training) - 1, &to) != TC_OK ||
        tc_model_save(m, path) != TC_OK) {
        fprintf(stderr, "service harness: %s\n", tc_errmsg());
        abort();
    }
    tc_model_free(m);
    tc_classifier_options_init(&co);
    if (svc_model_load(&service, path) != TC_OK ||
        svc_model_open(&service, &co) != TC_OK) {
        fprintf(stderr, "service harness: %s\n", tc_errmsg());
        abort();
    }
}

/* One request; the answer is left in sent/sent_status. */
static void request(enum svc_route route, const uint8_t *data, size_t size)
{
    svc_req r;
    enum MHD_Result ret;
    cJSON *root, *err;

    memset(&r, 0, sizeof(r));
    r.route = route;
    r.keep_body = 1;
    snprintf(r.method, sizeof(r.method), "POST");
    if (size) {
        svc_buf_put(&r.body, data, size);
    }
    nqueued = 0;
    ret = svc_serve(&service, NULL, &r);
    FZ_CHECK(ret == MHD_YES && nqueued == 1 && r.status == sent_status,
             "route %d: %d responses queued (ret %d)", (int)route, nqueued,
             (int)ret);
    FZ_CHECK(sent_status == 200 || sent_status == 400 ||
                 (route == SVC_FEEDBACK && sent_status == 503),
             "route %d: status %u: %s", (int)route, sent_status, sent);
    FZ_CHECK(svc_utf8_valid(sent, sent_len) == sent_len,
             "the answer is not valid UTF-8: %s", sent);
    /* with a length, cJSON wants the terminating NUL inside it */
    root = cJSON_ParseWithLengthOpts(sent, sent_len + 1, NULL, 1);
    FZ_CHECK(cJSON_IsObject(root), "the answer is not a JSON object: %s", sent);
    err = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (sent_status == 200 && route == SVC_WARM) {
        FZ_CHECK(!err &&
                     cJSON_IsNumber(
                         cJSON_GetObjectItemCaseSensitive(root, "texts")) &&
                     cJSON_IsNumber(
                         cJSON_GetObjectItemCaseSensitive(root, "computed")),
                 "a warm summary without texts or computed: %s", sent);
    } else if (sent_status == 200) {
        FZ_CHECK(!err &&
                     cJSON_IsString(
                         cJSON_GetObjectItemCaseSensitive(root, "intent")) &&
                     cJSON_IsNumber(
                         cJSON_GetObjectItemCaseSensitive(root, "confidence")),
                 "a classification without intent or confidence: %s", sent);
    } else {
        FZ_CHECK(cJSON_IsString(err) && err->valuestring[0],
                 "an error answer without \"error\": %s", sent);
    }
    cJSON_Delete(root);
    svc_buf_free(&r.body);
}

/* Whether an answer is the refusal of the body check that both POST
 * endpoints share. */
static int body_refused(unsigned status, const char *json)
{
    return status == 400 &&
           (strstr(json, "{\"error\":\"bad_json\"") == json ||
            strstr(json, "{\"error\":\"invalid_utf8\"") == json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *classify;
    unsigned classify_status;

    if (!service.cache) {
        start();
    }
    if (size > SVC_MAX_BODY) {
        return 0; /* refused before svc_serve, by its length */
    }
    request(SVC_CLASSIFY, data, size);
    classify = fz_strdup((const uint8_t *)sent, sent_len);
    classify_status = sent_status;
    request(SVC_FEEDBACK, data, size);
    if (body_refused(classify_status, classify)) {
        FZ_CHECK(sent_status == 400 && strcmp(sent, classify) == 0,
                 "the same body, two answers:\n  classify: %s\n  feedback: "
                 "%u %s",
                 classify, sent_status, sent);
    } else {
        FZ_CHECK(sent_status == 503,
                 "classify took the body, feedback answers %u %s", sent_status,
                 sent);
    }
    free(sent);
    sent = NULL;
    request(SVC_WARM, data, size);
    if (body_refused(classify_status, classify)) {
        FZ_CHECK(sent_status == 400 && strcmp(sent, classify) == 0,
                 "the same body, two answers:\n  classify: %s\n  warm: %u %s",
                 classify, sent_status, sent);
    }
    free(classify);
    free(sent);
    sent = NULL;
    return 0;
}
