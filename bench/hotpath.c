/*
 * hotpath.c — nanoseconds per trace_event() call, as an agent pays them.
 *
 * Each case times batches of calls with CLOCK_MONOTONIC and reports the
 * per-call p50 and p99 over many batches (a batch of 64 calls amortises
 * the clock read itself). A collector must be listening at
 * TRACE_COLLECTOR_URL for the sampled-in case to measure the real path,
 * since events are then really drained and sent, not only dropped.
 *
 * Usage: bench-hotpath [calls-per-case]   (prints a Markdown table)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "trace.h"

#define BATCH 64

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef enum { CASE_INTS, CASE_STRING } payload;

/* Wait until the flusher has taken everything recorded so far, so that
 * the next round measures the hot path with room in the ring. */
static void wait_drained(void) {
    for (int i = 0; i < 20000; i++) {
        trace_stats st;
        trace_get_stats(&st);
        if (st.sent + st.dropped_ring_full + st.dropped_transport +
                st.dropped_too_large + st.dropped_invalid >= st.recorded)
            return;
        struct timespec d = {0, 500000};
        nanosleep(&d, NULL);
    }
}

#define ROUND 50000 /* calls between drains: fits the 32 MB ring */

static void run_case(const char *name, payload p, long calls) {
    long batches = calls / BATCH;
    double *per_call = malloc((size_t)batches * sizeof *per_call);
    const char *s32 = "abcdefghijklmnopqrstuvwxyz012345";
    for (long b = 0; b < batches; b++) {
        if (b % (ROUND / BATCH) == 0) wait_drained();
        uint64_t t0 = now_ns();
        for (int i = 0; i < BATCH; i++) {
            if (p == CASE_INTS)
                trace_event("bench", "custom.bench", TRACE_DEBUG, "%d %d", i, (int)b);
            else
                trace_event("bench", "custom.bench", TRACE_DEBUG, "%s", s32);
        }
        per_call[b] = (double)(now_ns() - t0) / BATCH;
    }
    qsort(per_call, (size_t)batches, sizeof *per_call, cmp_double);
    wait_drained();
    trace_stats st;
    trace_get_stats(&st);
    printf("| %-34s | %8.1f | %8.1f | %10llu |\n", name, per_call[batches / 2],
           per_call[batches * 99 / 100],
           (unsigned long long)(st.dropped_ring_full + st.dropped_transport));
    free(per_call);
}

/* Pin the measuring thread (not the flusher) to BENCH_CPU: the two vCPUs
 * of this VM differ by ~1.4x, so a comparison must use the same one. */
static void pin_from_env(void) {
    const char *cpu = getenv("BENCH_CPU");
    if (!cpu || !*cpu) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(atoi(cpu), &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set))
        fprintf(stderr, "bench: cannot pin to CPU %s\n", cpu);
}

static void with_config(const char *name, payload p, long calls, int enabled,
                        double rate) {
    trace_config cfg;
    trace_config_from_env(&cfg);
    cfg.enabled = enabled;
    cfg.sampling_rate = rate;
    cfg.ring_kb = 32768;
    if (trace_init(&cfg)) { /* the flusher starts here, before pinning */
        fprintf(stderr, "bench: trace_init failed\n");
        exit(1);
    }
    struct timespec connect = {0, 200000000}; /* let ZeroMQ connect first */
    nanosleep(&connect, NULL);
    pin_from_env();
    run_case(name, p, calls);
    trace_shutdown();
}

int main(int argc, char **argv) {
    long calls = argc > 1 ? atol(argv[1]) : 2000000;
    if (calls < BATCH * 100) calls = BATCH * 100;
    printf("| case | p50 ns/call | p99 ns/call | dropped |\n");
    printf("|---|---:|---:|---:|\n");
    with_config("sampled in, two integers", CASE_INTS, calls, 1, 1.0);
    with_config("sampled in, 32-byte string", CASE_STRING, calls, 1, 1.0);
    with_config("sampled out (rate 0)", CASE_INTS, calls, 1, 0.0);
    with_config("tracing disabled", CASE_INTS, calls, 0, 1.0);
    return 0;
}
