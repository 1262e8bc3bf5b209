/*
 * normalize_fixture.h - what the normalize suite's files
 * (check_normalize.c, check_normalize_props.c) share: the normalized form
 * of a text, and the check that normalizing twice changes nothing. Loops
 * of millions call these: they check with if, since every passing
 * ck_assert writes its place to Check's log.
 */
#ifndef TC_TEST_NORMALIZE_FIXTURE_H
#define TC_TEST_NORMALIZE_FIXTURE_H

#include <stddef.h>

/* The normalized form of text[0..len) (of a C string); the caller frees
 * it with tc_free(). outlen may be NULL. */
char *nf_norm_n(const char *text, size_t len, size_t *outlen);
char *nf_norm(const char *text);

/* Normalizing text[0..n) twice gives what once gives, within the bound. */
void nf_check_idempotent(const char *in, size_t n);

#endif
