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
 *        bench-hotpath calls scaling       (the producer-scaling table alone)
 *        bench-hotpath calls ints|string   (one sampled-in row: the pairs
 *                                           bench/lttng/run.sh alternates)
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
 * (each has its own ring: nothing shared to contend on). Each thread times
 * its own loop, and a round's throughput is the sum of the threads' rates:
 * timing the round from outside would add a barrier wake-up (tens of µs in
 * this VM) to two threads' rounds and not to one's.
 *
 * Two clocks. Wall time is what an application sees, but on two cores two
 * busy producers leave no core for the flusher, which drains during the
 * round (it wakes every millisecond at this rate) and so takes its turns on
 * the producers' cores; nor for anything else running on the machine. Each
 * thread's CPU time counts only its own instructions: whether two producers
 * slow each other down (a shared cache line, a lock) is what scaling asks,
 * and that clock answers it whatever else wants the cores. */
#define TP_ROUND 20000 /* per thread: ~1 MB of ring */
#define TP_ROUNDS 202  /* half with one producer, half with two */

typedef struct tp_arg {
    pthread_barrier_t *start, *end;
    int id, rounds;
    uint64_t *wall_ns, *cpu_ns; /* this thread's loop, per round */
} tp_arg;

static uint64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Odd rounds are thread 0's alone, even rounds both threads': one and two
 * producers alternate, so whatever the machine does meanwhile falls on
 * both alike. */
static int tp_runs(int id, int r) { return id == 0 || r % 2 == 0; }

static void *tp_thread(void *p) {
    tp_arg *a = p;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(a->id, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    for (int r = 0; r < a->rounds; r++) {
        pthread_barrier_wait(a->start);
        if (tp_runs(a->id, r)) {
            uint64_t t0 = now_ns(), c0 = thread_cpu_ns();
            for (int i = 0; i < TP_ROUND; i++)
                trace_event("bench", "custom.bench", TRACE_DEBUG, "%d %d", i, r);
            a->cpu_ns[r] = thread_cpu_ns() - c0;
            a->wall_ns[r] = now_ns() - t0;
        }
        pthread_barrier_wait(a->end);
    }
    return NULL;
}

/* The median over the rounds with `nthreads` producers of their summed
 * rates (M events/s). ns[thread][round]. */
static double tp_median(uint64_t *const ns[2], int nthreads, int rounds) {
    double *rate = calloc((size_t)rounds, sizeof *rate);
    int n = 0;
    for (int r = nthreads == 2 ? 0 : 1; r < rounds; r += 2, n++)
        for (int i = 0; i < nthreads; i++) rate[n] += TP_ROUND / ((double)ns[i][r] / 1e3);
    qsort(rate, (size_t)n, sizeof *rate, cmp_double);
    double median = rate[n / 2];
    free(rate);
    return median;
}

/* Throughput with one and two producer threads: [threads-1][0] by wall
 * time, [threads-1][1] by the producers' own CPU time. */
static void throughput(int rounds, double out[2][2]) {
    pthread_barrier_t start, end;
    pthread_barrier_init(&start, NULL, 3);
    pthread_barrier_init(&end, NULL, 3);
    uint64_t *wall[2], *cpu[2];
    pthread_t th[2];
    tp_arg args[2];
    for (int i = 0; i < 2; i++) {
        wall[i] = calloc((size_t)rounds, sizeof **wall);
        cpu[i] = calloc((size_t)rounds, sizeof **cpu);
        args[i] = (tp_arg){&start, &end, i, rounds, wall[i], cpu[i]};
        pthread_create(&th[i], NULL, tp_thread, &args[i]);
    }
    for (int r = 0; r < rounds; r++) {
        wait_drained();
        pthread_barrier_wait(&start);
        pthread_barrier_wait(&end);
    }
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int n = 1; n <= 2; n++) {
        out[n - 1][0] = tp_median(wall, n, rounds);
        out[n - 1][1] = tp_median(cpu, n, rounds);
    }
    for (int i = 0; i < 2; i++) {
        free(wall[i]);
        free(cpu[i]);
    }
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&end);
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
    double tp[2][2];
    throughput(TP_ROUNDS, tp);
    const double *one = tp[0], *two = tp[1];
    wait_drained();
    trace_stats st;
    trace_get_stats(&st);
    trace_shutdown();
    printf("\n| producers (collector down) | M events/s, wall | vs 1 thread | M events/s of producer CPU | vs 1 thread | ring-full drops |\n"
           "|---|---:|---:|---:|---:|---:|\n");
    printf("| 1 thread | %.1f | 1.00x | %.1f | 1.00x | |\n", one[0], one[1]);
    printf("| 2 threads | %.1f | %.2fx | %.1f | %.2fx | %llu |\n", two[0], two[0] / one[0], two[1],
           two[1] / one[1], (unsigned long long)st.dropped_ring_full);
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
    if (argc > 2 && !strcmp(argv[2], "scaling")) { /* that table alone */
        scaling();
        return 0;
    }
    if (argc > 2 && (!strcmp(argv[2], "ints") || !strcmp(argv[2], "string"))) {
        payload p = !strcmp(argv[2], "ints") ? CASE_INTS : CASE_STRING;
        with_config(NULL, p, calls / 2, 1, 1.0, NULL); /* warm-up, as below */
        with_config(p == CASE_INTS ? "sampled in, two integers" : "sampled in, 32-byte string",
                    p, calls, 1, 1.0, NULL);
        return 0;
    }
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
