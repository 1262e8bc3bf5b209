/*
 * corrections.h - what the two halves of bench/corrections share beyond
 * bench_util.h: the measuring in corrections.c, and in corrections_data.c
 * the paraphrases made by dropping and swapping words.
 */
#ifndef TC_BENCH_CORRECTIONS_H
#define TC_BENCH_CORRECTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "bench_util.h"

/*
 * Two variants of each text dev[idx[k]], k < n, of three words or more:
 * one word dropped, then two adjacent words swapped (so the variants
 * alternate, the dropped word first), with the text's gold intent. The
 * positions come from a state derived from the seed and k, so a text has
 * the same variants however many follow it.
 */
bench_dataset corr_word_variants(const bench_dataset *dev, const size_t *idx,
                                 size_t n, uint64_t seed);

#endif
