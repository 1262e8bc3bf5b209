/*
 * key.h - L2 keys: "tc:<prefix>:<32 hex digits of XXH3-128>" of the
 * namespace-scoped key material, or of keyed BLAKE2b-128 with a key
 * secret (key_secret_file): the same length and form either way.
 */
#ifndef TC_KEY_H
#define TC_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "cache/l1.h"

/*
 * Hashes key material for a namespace prefix and generation. The prefix
 * and generation pick the seed, so the same bytes in two namespaces, or in
 * two generations of one namespace, give unrelated hashes. secret (32
 * bytes, the keyring's) makes it keyed BLAKE2b; NULL: XXH3.
 */
void tc__key_hash(tc__hash *out, const char *prefix, uint64_t gen,
                  const void *key, size_t keylen, const unsigned char *secret);

/* Writes "tc:<prefix>:<hex>" into buf (TC_KEY_MAX bytes). */
void tc__key_format(char *buf, const char *prefix, const tc__hash *h);

/* tc_key_canonical; the door has checked the pointers. */
int tc__key_canonical(char **out, const char *json,
                      const char *const *bucket_fields,
                      const double *bucket_sizes, size_t nbuckets);

#endif
