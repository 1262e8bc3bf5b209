/*
 * seal.c - the keys of encryption at rest and of keyed key hashes, read
 * from files whose mode keeps them private, and the sealing, opening and
 * keyed hashing built on libsodium's XChaCha20-Poly1305 and BLAKE2b.
 * XChaCha's 24-byte nonce is drawn at random for every value: with no
 * counter to keep across processes, random nonces of that size never
 * meet in practice.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "base/bytes.h"
#include "base/seal.h"

/* What a key file may hold: 32 raw bytes, or 64 hex digits and a newline. */
#define KEY_FILE_MAX 128

/* Reads one 32-byte key from path, refusing a file others may read. */
static int read_key(unsigned char *key, const char *what, const char *path,
                    tc__err *err)
{
    unsigned char buf[KEY_FILE_MAX + 1];
    struct stat sb;
    ssize_t got;
    size_t n = 0, hexlen;
    int fd, rc = TC_OK;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return tc__errf(err, TC_ECONFIG, "%s %s: %s", what, path,
                        strerror(errno));
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return tc__errf(err, TC_ECONFIG, "%s %s: not a regular file", what,
                        path);
    }
    if (sb.st_mode & 077) {
        close(fd);
        return tc__errf(err, TC_ECONFIG,
                        "%s %s: mode %04o lets group or others read it; "
                        "refused (chmod 600 it)",
                        what, path, (unsigned)(sb.st_mode & 07777));
    }
    while (n < sizeof(buf) && (got = read(fd, buf + n, sizeof(buf) - n)) != 0) {
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            rc = tc__errf(err, TC_ECONFIG, "%s %s: %s", what, path,
                          strerror(errno));
            break;
        }
        n += (size_t)got;
    }
    close(fd);
    hexlen = n;
    while (hexlen > 0 && (buf[hexlen - 1] == '\n' || buf[hexlen - 1] == '\r')) {
        hexlen--;
    }
    if (rc == TC_OK && n == TC__SEAL_KEY_BYTES) {
        memcpy(key, buf, TC__SEAL_KEY_BYTES);
    } else if (rc == TC_OK && hexlen == 2 * TC__SEAL_KEY_BYTES &&
               sodium_hex2bin(key, TC__SEAL_KEY_BYTES, (const char *)buf,
                              hexlen, NULL, NULL, NULL) == 0) {
        /* 64 hex digits */
    } else if (rc == TC_OK) {
        rc = tc__errf(err, TC_ECONFIG,
                      "%s %s: not a key (32 random bytes, or 64 hex "
                      "digits: head -c 32 /dev/urandom > FILE)",
                      what, path);
    }
    sodium_memzero(buf, sizeof(buf));
    return rc;
}

/* A key's id: the first bytes of its unkeyed BLAKE2b, which says which
 * key sealed a value and nothing of the key. */
static void key_id(unsigned char *id, const unsigned char *key)
{
    static const char tag[] = "tutorcache key id";
    unsigned char h[16];
    crypto_generichash_state st;

    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, (const unsigned char *)tag, sizeof(tag));
    crypto_generichash_update(&st, key, TC__SEAL_KEY_BYTES);
    crypto_generichash_final(&st, h, sizeof(h));
    memcpy(id, h, TC__SEAL_ID_BYTES);
}

int tc__keyring_load(tc__keyring **out, const tc__config *cfg, tc__err *err)
{
    tc__keyring *k;
    int rc = TC_OK;

    *out = NULL;
    if (!cfg->enc_key_file && !cfg->key_secret_file) {
        if (cfg->nenc_old) {
            return tc__errf(err, TC_ECONFIG,
                            "encryption_old_key_files without "
                            "encryption_key_file");
        }
        return TC_OK;
    }
    if (sodium_init() < 0) {
        return tc__errf(err, TC_EINTERNAL, "libsodium failed to start");
    }
    if (cfg->nenc_old + 1 > TC__SEAL_MAX_KEYS) {
        return tc__errf(err, TC_ECONFIG,
                        "encryption_old_key_files: at most %d files",
                        TC__SEAL_MAX_KEYS - 1);
    }
    if (!(k = tc__calloc(1, sizeof(*k)))) {
        return tc__errf(err, TC_ENOMEM, "out of memory");
    }
    sodium_mlock(k, sizeof(*k)); /* best effort: kept out of swap */
    if (cfg->enc_key_file) {
        rc = read_key(k->key[0], "encryption_key_file", cfg->enc_key_file, err);
        for (size_t i = 0; rc == TC_OK && i < cfg->nenc_old; i++) {
            rc = read_key(k->key[i + 1], "encryption_old_key_files",
                          cfg->enc_old[i], err);
        }
        k->nkeys = rc == TC_OK ? (int)cfg->nenc_old + 1 : 0;
    } else if (cfg->nenc_old) {
        rc = tc__errf(err, TC_ECONFIG,
                      "encryption_old_key_files without encryption_key_file");
    }
    for (int i = 0; i < k->nkeys; i++) {
        key_id(k->id[i], k->key[i]);
    }
    if (rc == TC_OK && cfg->key_secret_file) {
        rc = read_key(k->secret, "key_secret_file", cfg->key_secret_file, err);
        k->has_secret = rc == TC_OK;
    }
    if (rc != TC_OK) {
        tc__keyring_free(k);
        return rc;
    }
    *out = k;
    return TC_OK;
}

void tc__keyring_free(tc__keyring *k)
{
    if (k) {
        sodium_munlock(k, sizeof(*k)); /* zeroes it too */
        sodium_memzero(k, sizeof(*k));
        tc__free(k);
    }
}

void tc__seal(const tc__keyring *k, const void *ad, size_t adlen,
              unsigned char *out, const void *in, size_t len)
{
    unsigned char *nonce = out + 1 + TC__SEAL_ID_BYTES;

    out[0] = TC__SEAL_VERSION;
    memcpy(out + 1, k->id[0], TC__SEAL_ID_BYTES);
    randombytes_buf(nonce, TC__SEAL_NONCE_BYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        out + TC__SEAL_HEAD, NULL, in, len, ad, adlen, NULL, nonce, k->key[0]);
}

int tc__seal_open(const tc__keyring *k, const void *ad, size_t adlen,
                  unsigned char *buf, size_t *len)
{
    unsigned char nonce[TC__SEAL_NONCE_BYTES];
    size_t clen;
    int i;

    if (*len < TC__SEAL_OVERHEAD || buf[0] != TC__SEAL_VERSION) {
        return TC_ECORRUPT;
    }
    clen = *len - TC__SEAL_HEAD;
    for (i = 0; i < k->nkeys; i++) {
        if (memcmp(buf + 1, k->id[i], TC__SEAL_ID_BYTES) == 0) {
            break;
        }
    }
    if (i == k->nkeys) {
        return TC_ECORRUPT; /* sealed by a key this handle does not hold */
    }
    /* The cipher text to the front, then decrypted where it is (libsodium
     * decrypts in place when message and cipher text are one buffer). */
    memcpy(nonce, buf + 1 + TC__SEAL_ID_BYTES, sizeof(nonce));
    memmove(buf, buf + TC__SEAL_HEAD, clen);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            buf, NULL, NULL, buf, clen, ad, adlen, nonce, k->key[i]) != 0) {
        return TC_ECORRUPT;
    }
    *len = clen - crypto_aead_xchacha20poly1305_ietf_ABYTES;
    buf[*len] = '\0';
    return TC_OK;
}

void tc__keyed_hash128(uint64_t *lo, uint64_t *hi, const unsigned char *secret,
                       const void *a, size_t alen, const void *b, size_t blen)
{
    crypto_generichash_state st;
    unsigned char h[16];

    crypto_generichash_init(&st, secret, TC__SEAL_KEY_BYTES, sizeof(h));
    crypto_generichash_update(&st, a, alen);
    crypto_generichash_update(&st, b, blen);
    crypto_generichash_final(&st, h, sizeof(h));
    *lo = tc__get_le64(h);
    *hi = tc__get_le64(h + 8);
}
