/*
 * measure.h — the one way the hot-path benchmarks time a call, shared by
 * bench/hotpath.c (libtrace) and bench/lttng/bench_lttng.c (LTTng-UST) so
 * the two columns of `make bench` are measured identically: BATCH calls
 * timed together with CLOCK_MONOTONIC (amortising the clock read), the
 * per-call times of all batches sorted for p50 and p99.
 */
#ifndef BENCH_MEASURE_H
#define BENCH_MEASURE_H

#include <stdint.h>
#include <time.h>

#define BATCH 64

typedef enum { CASE_INTS, CASE_STRING } payload;

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* for qsort() of per-call times */
static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
