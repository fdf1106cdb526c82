/*
 * smap.c — a string → int64 hash map (open addressing, linear probing).
 *
 * The store interns trace, agent and event-type names into integer ids;
 * asking SQLite for each of them on every event would cost more than the
 * insert itself, so the writer keeps them here. Owned by one thread.
 */
#include <stdlib.h>
#include <string.h>

#include "collector.h"

static uint64_t smap_hash(const char *k, size_t n) {
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)k[i]) * 1099511628211ull;
    return h;
}

void smap_init(smap *m) { memset(m, 0, sizeof *m); }

void smap_free(smap *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->lens);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

int smap_get(const smap *m, const char *k, size_t n, int64_t *val) {
    if (!m->cap) return 0;
    for (size_t i = smap_hash(k, n) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i]) return 0;
        if (m->lens[i] == n && memcmp(m->keys[i], k, n) == 0) {
            *val = m->vals[i];
            return 1;
        }
    }
}

static int smap_grow(smap *m) {
    smap bigger = {0};
    bigger.cap = m->cap ? m->cap * 2 : 64;
    bigger.keys = calloc(bigger.cap, sizeof *bigger.keys);
    bigger.lens = calloc(bigger.cap, sizeof *bigger.lens);
    bigger.vals = calloc(bigger.cap, sizeof *bigger.vals);
    if (!bigger.keys || !bigger.lens || !bigger.vals) {
        free(bigger.keys);
        free(bigger.lens);
        free(bigger.vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = smap_hash(m->keys[i], m->lens[i]) & (bigger.cap - 1);
        while (bigger.keys[j]) j = (j + 1) & (bigger.cap - 1);
        bigger.keys[j] = m->keys[i];
        bigger.lens[j] = m->lens[i];
        bigger.vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->lens);
    free(m->vals);
    bigger.count = m->count;
    *m = bigger;
    return 0;
}

int smap_put(smap *m, const char *k, size_t n, int64_t val) {
    if ((m->count + 1) * 2 > m->cap && smap_grow(m)) return -1;
    size_t i = smap_hash(k, n) & (m->cap - 1);
    for (; m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (m->lens[i] == n && memcmp(m->keys[i], k, n) == 0) {
            m->vals[i] = val;
            return 0;
        }
    char *copy = malloc(n + 1);
    if (!copy) return -1;
    memcpy(copy, k, n);
    copy[n] = 0;
    m->keys[i] = copy;
    m->lens[i] = n;
    m->vals[i] = val;
    m->count++;
    return 0;
}

void smap_clear(smap *m) {
    smap_free(m);
}
