/*
 * check_main.c - runs every suite (or the one named by CK_RUN_SUITE, a
 * Check built-in) and exits non-zero when any test failed.
 */
#include <stdio.h>
#include <stdlib.h>

#include "suites.h"

int main(void)
{
    SRunner *sr;
    int failed;

    sr = srunner_create(suite_error());
    srunner_add_suite(sr, suite_key());
    srunner_add_suite(sr, suite_fmt());
    srunner_add_suite(sr, suite_config());
    srunner_add_suite(sr, suite_l1());
    srunner_add_suite(sr, suite_cache_ns());
    srunner_add_suite(sr, suite_store_lmdb());
    srunner_add_suite(sr, suite_store_redis());
    srunner_add_suite(sr, suite_tls());
    srunner_add_suite(sr, suite_cache());
    srunner_add_suite(sr, suite_cache_full());
    srunner_add_suite(sr, suite_errmsg());
    srunner_add_suite(sr, suite_concurrency());
    srunner_add_suite(sr, suite_coherence());
    srunner_add_suite(sr, suite_alloc());
    srunner_add_suite(sr, suite_cli());
    srunner_add_suite(sr, suite_normalize());
    srunner_add_suite(sr, suite_model());
    srunner_add_suite(sr, suite_model_train());
    srunner_add_suite(sr, suite_model_file());
    srunner_add_suite(sr, suite_model_memory());
    srunner_add_suite(sr, suite_classify());
    srunner_add_suite(sr, suite_classify_ab());
    srunner_add_suite(sr, suite_classify_hit());
    srunner_add_suite(sr, suite_classify_batch());
    srunner_add_suite(sr, suite_shadow());
    srunner_add_suite(sr, suite_cli_classify());
    srunner_add_suite(sr, suite_cli_warm());
    srunner_add_suite(sr, suite_popular());
    srunner_add_suite(sr, suite_served());
    srunner_add_suite(sr, suite_service_warm());
    srunner_add_suite(sr, suite_metrics());
    srunner_add_suite(sr, suite_log());
    srunner_add_suite(sr, suite_feedback());
    srunner_add_suite(sr, suite_report());
    srunner_add_suite(sr, suite_cli_perf());
    srunner_add_suite(sr, suite_bench_scripts());
    srunner_add_suite(sr, suite_cli_feedback());
    srunner_add_suite(sr, suite_cli_learn());
    srunner_add_suite(sr, suite_fbstore_redis());
    srunner_add_suite(sr, suite_feedback_redis());
    srunner_add_suite(sr, suite_cluster());
    srunner_add_suite(sr, suite_service());
    srunner_add_suite(sr, suite_seal());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
