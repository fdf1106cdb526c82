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

#include "measure.h"

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

static void run_case(const char *name, payload p, long calls) { /* name NULL: warm-up */
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
    if (name)
        printf("| %-34s | %8.1f | %8.1f | %10llu | %10llu |\n", name, per_call[batches / 2],
           per_call[batches * 99 / 100], (unsigned long long)st.dropped_ring_full,
           (unsigned long long)st.dropped_transport);
    free(per_call);
}

/* ---- throughput with 1 and 2 producer threads ----
 * Each round every thread records TP_ROUND events between two barriers; the
 * flusher drains between rounds, so this measures how producers scale
 * (each has its own ring: nothing shared to contend on). */
#define TP_ROUND 20000 /* per thread: two threads' rounds stay under ZeroMQ's HWM */

typedef struct tp_arg {
    pthread_barrier_t *start, *end;
    int id, rounds;
    uint64_t *round_ns; /* thread 0 writes the round times */
} tp_arg;

static void *tp_thread(void *p) {
    tp_arg *a = p;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(a->id, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    for (int r = 0; r < a->rounds; r++) {
        pthread_barrier_wait(a->start);
        uint64_t t0 = now_ns();
        for (int i = 0; i < TP_ROUND; i++)
            trace_event("bench", "custom.bench", TRACE_DEBUG, "%d %d", i, r);
        pthread_barrier_wait(a->end);
        if (a->id == 0) a->round_ns[r] = now_ns() - t0;
    }
    return NULL;
}

/* Median events per second (millions) with n producer threads. */
static double throughput(int nthreads, int rounds) {
    pthread_barrier_t start, end;
    pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
    pthread_barrier_init(&end, NULL, (unsigned)nthreads + 1);
    uint64_t *ns = calloc((size_t)rounds, sizeof *ns);
    pthread_t th[2];
    tp_arg args[2];
    for (int i = 0; i < nthreads; i++) {
        args[i] = (tp_arg){&start, &end, i, rounds, ns};
        pthread_create(&th[i], NULL, tp_thread, &args[i]);
    }
    for (int r = 0; r < rounds; r++) {
        wait_drained();
        pthread_barrier_wait(&start);
        pthread_barrier_wait(&end);
    }
    for (int i = 0; i < nthreads; i++) pthread_join(th[i], NULL);
    double *rate = malloc((size_t)rounds * sizeof *rate);
    for (int r = 0; r < rounds; r++) rate[r] = (double)nthreads * TP_ROUND / ((double)ns[r] / 1e3);
    qsort(rate, (size_t)rounds, sizeof *rate, cmp_double);
    double median = rate[rounds / 2];
    free(rate);
    free(ns);
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&end);
    return median;
}

/* Against an endpoint where nothing listens: the flusher still drains and
 * encodes every event, but no collector competes for the two cores. */
static void scaling(void) {
    trace_config cfg;
    trace_config_from_env(&cfg);
    snprintf(cfg.collector_url, sizeof cfg.collector_url, "tcp://127.0.0.1:1");
    cfg.sampling_rate = 1.0;
    cfg.ring_kb = 32768;
    cfg.adaptive = 0;
    if (trace_init(&cfg)) exit(1);
    struct timespec connect = {0, 200000000};
    nanosleep(&connect, NULL);
    double one = throughput(1, 15), two = throughput(2, 15);
    wait_drained();
    trace_stats st;
    trace_get_stats(&st);
    trace_shutdown();
    printf("\n| producers (collector down) | M events/s | vs 1 thread | ring-full drops |\n"
           "|---|---:|---:|---:|\n");
    printf("| 1 thread | %.1f | 1.00x | |\n", one);
    printf("| 2 threads | %.1f | %.2fx | %llu |\n", two, two / one,
           (unsigned long long)st.dropped_ring_full);
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
                        double rate, const char *url) {
    trace_config cfg;
    trace_config_from_env(&cfg);
    if (url) snprintf(cfg.collector_url, sizeof cfg.collector_url, "%s", url);
    cfg.enabled = enabled;
    cfg.sampling_rate = rate;
    cfg.ring_kb = 32768;
    cfg.adaptive = 0; /* measure the configured rate, not the adapted one */
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
    /* ring full: the hot path had no room; transport: the collector took
     * the events slower than this loop makes them (ZeroMQ's queue full) */
    printf("| case | p50 ns/call | p99 ns/call | dropped: ring full | dropped: transport |\n");
    printf("|---|---:|---:|---:|---:|\n");
    /* a first, unreported pass: page cache, CPU frequency, the collector's
     * first inserts; whatever runs first otherwise pays for it */
    with_config(NULL, CASE_INTS, calls / 2, 1, 1.0, NULL);
    with_config("sampled in, two integers", CASE_INTS, calls, 1, 1.0, NULL);
    with_config("sampled in, 32-byte string", CASE_STRING, calls, 1, 1.0, NULL);
    with_config("sampled out (rate 0)", CASE_INTS, calls, 1, 0.0, NULL);
    with_config("tracing disabled", CASE_INTS, calls, 0, 1.0, NULL);
    /* nothing listens there: every batch is dropped (and counted) by the
     * flusher, and the hot path must not notice */
    with_config("collector down, two integers", CASE_INTS, calls, 1, 1.0,
                "tcp://127.0.0.1:1");
    scaling();
    return 0;
}
