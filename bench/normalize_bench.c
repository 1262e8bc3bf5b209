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
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include <tutorcache.h>

#include "base/normalize.h"

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
    char **tt = realloc(s->text, (s->n + 1) * sizeof(*tt));
    size_t *ll = realloc(s->len, (s->n + 1) * sizeof(*ll));

    if (!tt || !ll) {
        fprintf(stderr, "normalize_bench: out of memory\n");
        exit(1);
    }
    s->text = tt;
    s->len = ll;
    s->text[s->n] = malloc(len + 1);
    if (!s->text[s->n]) {
        fprintf(stderr, "normalize_bench: out of memory\n");
        exit(1);
    }
    memcpy(s->text[s->n], t, len + 1);
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

/* The ASCII "text" fields of a JSON Lines file. */
static void load_ascii(textset *s, const char *path)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    if (!f) {
        fprintf(stderr, "normalize_bench: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        cJSON *root = cJSON_ParseWithLength(line, (size_t)len);
        cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "text");

        if (cJSON_IsString(t) &&
            is_ascii(t->valuestring, strlen(t->valuestring))) {
            add(s, t->valuestring, strlen(t->valuestring));
        }
        cJSON_Delete(root);
    }
    free(line);
    fclose(f);
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
                fprintf(stderr, "normalize_bench: text %zu refused\n", i);
                exit(1);
            }
            sum += n;
        }
    }
    return sum;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
        fprintf(stderr, "normalize_bench: %s: no ASCII texts\n", argv[1]);
        return 1;
    }
    t0 = now();
    if (strcmp(only, "unicode") != 0) {
        sum += run(&a, rounds);
    }
    t1 = now();
    if (strcmp(only, "ascii") != 0) {
        sum += run(&u, rounds);
    }
    t2 = now();
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
