/*
 * suite.h - what the halves of bench/suite (the tool in suite.c, the
 * scoring in suite_score.c, the text vectors and clustering in
 * suite_cluster.c) share beyond bench_util.h: the per-class PRNG states,
 * the scoring command, and the clustering that splits a class into
 * sub-intents.
 */
#ifndef TC_BENCH_SUITE_H
#define TC_BENCH_SUITE_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a of s[0..len): the vocabulary's hash, and the per-class PRNG
 * states derived from a name. */
uint64_t suite_hash(const char *s, size_t len);

/* `suite score`, in suite_score.c; argv[0] is "score". */
int suite_score(int argc, char **argv);

/* TF-IDF vectors of a list of texts; see suite_cluster.c. */
typedef struct suite_vectors suite_vectors;

/*
 * Vectorizes texts[0..n): the vocabulary and the document frequencies
 * come from the first nfit texts only; words of later texts outside that
 * vocabulary are ignored. Each vector is L2-normalized (a text with no
 * known word is the zero vector). Free with suite_vectors_free.
 */
suite_vectors *suite_vectors_make(const char *const *texts, size_t n,
                                  size_t nfit);
void suite_vectors_free(suite_vectors *v);

/* The cosine of the normalized means of the vectors a[0..na) and
 * b[0..nb): how alike two classes are. */
double suite_class_cosine(const suite_vectors *v, const size_t *a, size_t na,
                          const size_t *b, size_t nb);

/*
 * Splits one class: spherical k-means (k-means++ seeding from *rng, at
 * most a fixed number of Lloyd iterations) of the vectors fit[0..nfit)
 * into at most k clusters, then clusters below minsize members merged
 * into their nearest until none is left (or one cluster remains).
 * fit_out[i] receives the cluster of fit[i], numbered 0.. in the order of
 * their first member; other_out[j] that of the nearest centroid to
 * other[j] (ties: the larger cluster). Returns the number of clusters.
 */
size_t suite_cluster(const suite_vectors *v, const size_t *fit, size_t nfit,
                     const size_t *other, size_t nother, size_t k,
                     size_t minsize, uint64_t *rng, size_t *fit_out,
                     size_t *other_out);

#endif
