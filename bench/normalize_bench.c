/*
 * normalize_bench.c - the cost of text normalization, which every
 * classification pays on its cache-hit path. It normalizes two sets of
 * texts many times into a stack buffer, as tc_classify does: the ASCII
 * texts of a JSON Lines file (the SNIPS test set) and a built-in set of
 * non-ASCII texts (accented French, Spanish and German, typographic
 * quotes and dashes, CJK, compatibility characters).
 *
 * Seconds on a shared machine are noise, so bench/normalize.sh runs this
 * under callgrind, once per set (--only), collecting inside run() alone,
 * and divides the instructions by the texts normalized; run alone, it
 * prints nanoseconds per text as a rough guide.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tutorcache.h>

#include "base/normalize.h"
#include "bench_util.h"

const char bench_prog[] = "normalize_bench";

/* Texts a tutoring service sees in other languages and typographies
 * (UTF-8 source). */
static const char *const unicode_texts[] = {
    "¿Cómo invierto una lista en Python?",
    "¡Explíqueme la recursión, por favor!",
    "¿Qué diferencia hay entre una tupla y una lista?",
    "Comment déclarer une variable en JavaScript ?",
    "Qu’est-ce qu’une fonction récursive ?",
    "«\u00a0Hello world\u00a0» en C, étape par étape", /* no-break spaces */
    "Wie sortiere ich eine Liste in Java? Größe und Straße",
    "Was ist der Unterschied zwischen „==“ und „equals“?",
    "ÜBERPRÜFEN SIE DIE FÄLLE – bitte",
    "What’s the difference between “let” and “const”?",
    "I’m stuck — why does my loop never end…",
    "Don’t understand pointers – help!",
    "如何在Python中反转列表？",
    "什么是递归？",
    "Pythonでリストを逆順にする方法は？",
    "파이썬에서 리스트를 뒤집는 방법",
    "Как обратить список в Python?",
    "Πώς αντιστρέφω μια λίστα;",
    "Ｈｏｗ do I ﬁnd the ﬁrst item？",
    "Convert 5\u202fkm to miles − and ½ a ㎏", /* narrow no-break */
    "naïve café résumé señor à la crème brûlée",
    "Café con leche y piña colada",
    "How do I reverse a list’s order?",
    "L’hôpital ou l’école ?",
};

typedef struct textset {
    char **text;
    size_t *len;
    size_t n, bytes;
} textset;

static void add(textset *s, const char *t, size_t len)
{
    s->text = bench_realloc(s->text, s->n + 1, sizeof(*s->text));
    s->len = bench_realloc(s->len, s->n + 1, sizeof(*s->len));
    s->text[s->n] = memcpy(bench_alloc(len + 1, 1), t, len + 1);
    s->len[s->n++] = len;
    s->bytes += len;
}

static int is_ascii(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if ((unsigned char)s[i] >= 0x80) {
            return 0;
        }
    }
    return 1;
}

/* The ASCII texts of a labelled JSON Lines file. */
static void load_ascii(textset *s, const char *path)
{
    bench_dataset d = bench_dataset_load(path, 0);
    size_t i;

    for (i = 0; i < d.n; i++) {
        if (is_ascii(d.ex[i].text, d.ex[i].len)) {
            add(s, d.ex[i].text, d.ex[i].len);
        }
    }
    bench_dataset_free(&d);
}

/*
 * Normalizes every text of s, rounds times, into a stack buffer as
 * tc_classify's prepare_short does. Returns a checksum of the lengths so
 * that the work cannot be optimized away. Kept out of line: callgrind
 * collects inside it alone.
 */
__attribute__((noinline)) static size_t run(const textset *s, int rounds)
{
    char buf[1024];
    size_t sum = 0, i, n;
    int r;

    for (r = 0; r < rounds; r++) {
        for (i = 0; i < s->n; i++) {
            if (tc__normalize_into(buf, sizeof(buf), &n, s->text[i], s->len[i],
                                   NULL) != TC_OK) {
                bench_fail("text %zu refused", i);
            }
            sum += n;
        }
    }
    return sum;
}

int main(int argc, char **argv)
{
    textset a = {NULL, NULL, 0, 0}, u = {NULL, NULL, 0, 0};
    const char *only = "";
    int rounds = 20;
    size_t i, sum = 0;
    double t0, t1, t2;

    while (argc >= 3 && argv[1][0] == '-') {
        if (strcmp(argv[1], "-n") == 0) {
            rounds = atoi(argv[2]);
        } else if (strcmp(argv[1], "--only") == 0) {
            only = argv[2];
        } else {
            break;
        }
        argc -= 2;
        argv += 2;
    }
    if (argc != 2 || rounds <= 0) {
        fprintf(stderr, "Usage: normalize_bench [-n ROUNDS] "
                        "[--only ascii|unicode] TEST.jsonl\n");
        return 2;
    }
    load_ascii(&a, argv[1]);
    for (i = 0; i < sizeof(unicode_texts) / sizeof(unicode_texts[0]); i++) {
        add(&u, unicode_texts[i], strlen(unicode_texts[i]));
    }
    if (a.n == 0) {
        bench_fail("%s: no ASCII texts", argv[1]);
    }
    t0 = bench_now();
    if (strcmp(only, "unicode") != 0) {
        sum += run(&a, rounds);
    }
    t1 = bench_now();
    if (strcmp(only, "ascii") != 0) {
        sum += run(&u, rounds);
    }
    t2 = bench_now();
    printf("ascii texts=%zu bytes=%zu rounds=%d ns_per_text=%.0f\n", a.n,
           a.bytes, rounds, (t1 - t0) * 1e9 / ((double)a.n * rounds));
    printf("unicode texts=%zu bytes=%zu rounds=%d ns_per_text=%.0f\n", u.n,
           u.bytes, rounds, (t2 - t1) * 1e9 / ((double)u.n * rounds));
    printf("checksum=%zu\n", sum);
    for (i = 0; i < a.n; i++) {
        free(a.text[i]);
    }
    for (i = 0; i < u.n; i++) {
        free(u.text[i]);
    }
    free(a.text);
    free(a.len);
    free(u.text);
    free(u.len);
    return 0;
}
