/*
 * config_fixture.h - what the config suite's files (check_config.c,
 * check_config_values.c) share: every variable the library reads cleared
 * for each test and restored after it, a test dir with its own HOME and
 * XDG_CACHE_HOME, a loopback port where nothing listens, and handles
 * opened and their resolved configuration read back.
 */
#ifndef TC_TEST_CONFIG_FIXTURE_H
#define TC_TEST_CONFIG_FIXTURE_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "cli_harness.h" /* json_str(), json_num() */
#include "suites.h"
#include "tutorcache.h"

/* A checked fixture; the case runs tt_case_setup() and tt_case_teardown()
 * as its unchecked one, so that a failed test leaves nothing behind. */
void cfg_setup(void);
void cfg_teardown(void);

/* The test's dir; HOME and XDG_CACHE_HOME, inside it; a loopback port
 * where nothing listens (Redis URLs there open degraded). */
const char *cfg_dir(void);
extern char cfg_xdg[512], cfg_home[512];
extern int cfg_dead;

/* Options that keep Redis calls short. */
void cfg_opts(tc_options *o, unsigned flags, const char *url);

/* A handle opened with o (the test fails otherwise). */
tc_cache *cfg_open(const tc_options *o);

/* The handle's tc_cache_config_json(), as text (tc_free it) and parsed
 * (cJSON_Delete it). */
char *cfg_text(tc_cache *h);
cJSON *cfg_json(tc_cache *h);

/* Namespace ns of a parsed configuration, and its ttl. */
const cJSON *cfg_ns(const cJSON *j, const char *ns);
double cfg_ns_ttl(const cJSON *j, const char *ns);

/* The store URL, its source and its kind of a handle opened with o. */
void cfg_assert_store(const tc_options *o, const char *url, const char *source,
                      const char *kind);

/* The ttl of the namespace "intents" of a handle opened with o. */
double cfg_intents_ttl(const tc_options *o);

/* Writes a file in the test's dir; returns its path (valid for the next
 * three calls). */
const char *cfg_write(const char *name, const char *text);

int cfg_is_dir(const char *p);

/* A loader that answers "loaded" and counts its calls in cfg_loads. */
extern int cfg_loads;
int cfg_count_loader(void **val, size_t *len, int64_t *ttl_ms, const char *ns,
                     const void *key, size_t keylen, void *ud);

#endif
