/*
 * seal.h - encryption at rest and keyed key hashes (libsodium): the keys
 * a handle was given, read once from their files, the sealing and opening
 * of a value bound to its store key, and the keyed hash that replaces
 * XXH3 when a key secret is set.
 *
 * A sealed value is: a version byte (TC__SEAL_VERSION), the 4-byte id of
 * the key that sealed it, a random 24-byte nonce, then the value
 * encrypted by XChaCha20-Poly1305 with its 16-byte tag. The associated
 * data is the value's full store key, so a value copied to another key
 * does not open. The key id picks the key among the current one and the
 * old ones still accepted for reading, so keys rotate without a flush.
 */
#ifndef TC_SEAL_H
#define TC_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/internal.h"

#define TC__SEAL_KEY_BYTES 32
#define TC__SEAL_VERSION 1
/* The current key and up to 8 old ones (encryption_old_key_files). */
#define TC__SEAL_MAX_KEYS 9
#define TC__SEAL_ID_BYTES 4
#define TC__SEAL_NONCE_BYTES 24
#define TC__SEAL_HEAD (1 + TC__SEAL_ID_BYTES + TC__SEAL_NONCE_BYTES)
/* What sealing adds to a value: the head and the tag. */
#define TC__SEAL_OVERHEAD (TC__SEAL_HEAD + 16)

/* The keys of one handle; kept locked in memory, zeroed when freed. */
typedef struct tc__keyring {
    int nkeys; /* 0: sealing off; key[0] seals, every key opens */
    unsigned char key[TC__SEAL_MAX_KEYS][TC__SEAL_KEY_BYTES];
    unsigned char id[TC__SEAL_MAX_KEYS][TC__SEAL_ID_BYTES];
    int has_secret; /* key_secret_file: keyed key hashes */
    unsigned char secret[TC__SEAL_KEY_BYTES];
} tc__keyring;

/*
 * Reads the key files cfg names (encryption_key_file,
 * encryption_old_key_files, key_secret_file) into *out, which is NULL
 * when none is set. A key file holds 32 bytes, raw or as 64 hex digits
 * (a newline after them allowed), and is refused when its mode lets
 * group or others at it. Returns TC_OK; TC_ECONFIG (the file and why in
 * err); TC_ENOMEM.
 */
int tc__keyring_load(tc__keyring **out, const tc__config *cfg, tc__err *err);
void tc__keyring_free(tc__keyring *k);

/*
 * Seals len bytes of in into out (len + TC__SEAL_OVERHEAD bytes), bound
 * to ad (the store key, adlen bytes), with the current key. k must have
 * a key.
 */
void tc__seal(const tc__keyring *k, const void *ad, size_t adlen,
              unsigned char *out, const void *in, size_t len);

/*
 * Opens the sealed value of *len bytes in buf in place: on TC_OK buf
 * holds the value, *len its length, and a NUL follows it. A value that is
 * too short, of another version, sealed by a key not held, damaged or
 * bound to another key is TC_ECORRUPT, and buf's bytes are then undefined.
 */
int tc__seal_open(const tc__keyring *k, const void *ad, size_t adlen,
                  unsigned char *buf, size_t *len);

/*
 * The keyed hash of the key hashes (BLAKE2b keyed with secret, 16 bytes)
 * over a then b, as two 64-bit words read little-endian.
 */
void tc__keyed_hash128(uint64_t *lo, uint64_t *hi, const unsigned char *secret,
                       const void *a, size_t alen, const void *b, size_t blen);

#endif
