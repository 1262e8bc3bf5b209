/*
 * bytes.h - 64-bit integers in a fixed byte order, for what the library
 * writes into files and stores: little-endian where only a reader of the
 * value cares, big-endian where the bytes are compared (an LMDB key sorts
 * by its bytes, so a big-endian number sorts as a number). Byte by byte,
 * so alignment and the host's own order never matter.
 */
#ifndef TC_BYTES_H
#define TC_BYTES_H

#include <stdint.h>

/* The size of each encoding below. */
#define TC__U64_BYTES 8

static inline void tc__put_le64(void *dst, uint64_t v)
{
    unsigned char *p = dst;

    for (int i = 0; i < TC__U64_BYTES; i++) {
        p[i] = (unsigned char)(v >> (8 * i));
    }
}

static inline uint64_t tc__get_le64(const void *src)
{
    const unsigned char *p = src;
    uint64_t v = 0;

    for (int i = TC__U64_BYTES - 1; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

static inline void tc__put_be64(void *dst, uint64_t v)
{
    unsigned char *p = dst;

    for (int i = 0; i < TC__U64_BYTES; i++) {
        p[i] = (unsigned char)(v >> (56 - 8 * i));
    }
}

static inline uint64_t tc__get_be64(const void *src)
{
    const unsigned char *p = src;
    uint64_t v = 0;

    for (int i = 0; i < TC__U64_BYTES; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

#endif /* TC_BYTES_H */
