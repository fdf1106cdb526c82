/*
 * bench_lttng.c — nanoseconds per lttng_ust_tracepoint() call, measured
 * exactly like bench/hotpath.c (batches of 64 calls timed with
 * CLOCK_MONOTONIC, per-call p50/p99 over batches) so that the two tables
 * can be read side by side. Which case runs is chosen by argv[2] because
 * the session (enabled or not) is set up outside, by run.sh; the "lost"
 * column is printed as n/a and filled in by run.sh from `lttng list`.
 *
 * Usage: bench-lttng [calls] [ints|string|disabled]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LTTNG_UST_TRACEPOINT_DEFINE
#include "tp.h"

#include "../measure.h"

static void run_case(const char *name, payload p, long calls) {
    long batches = calls / BATCH;
    double *per_call = malloc((size_t)batches * sizeof *per_call);
    const char *s32 = "abcdefghijklmnopqrstuvwxyz012345";
    for (long b = 0; b < batches; b++) {
        uint64_t t0 = now_ns();
        for (int i = 0; i < BATCH; i++) {
            if (p == CASE_INTS)
                lttng_ust_tracepoint(swarm_bench, two_ints, i, (int)b);
            else
                lttng_ust_tracepoint(swarm_bench, str32, s32);
        }
        per_call[b] = (double)(now_ns() - t0) / BATCH;
    }
    qsort(per_call, (size_t)batches, sizeof *per_call, cmp_double);
    printf("| %-34s | %8.1f | %8.1f | %10s |\n", name, per_call[batches / 2],
           per_call[batches * 99 / 100], "n/a");
    free(per_call);
}

int main(int argc, char **argv) {
    long calls = argc > 1 ? atol(argv[1]) : 2000000;
    const char *which = argc > 2 ? argv[2] : "ints";
    if (calls < BATCH * 100) calls = BATCH * 100;
    if (!strcmp(which, "ints"))
        run_case("LTTng sampled in, two integers", CASE_INTS, calls);
    else if (!strcmp(which, "string"))
        run_case("LTTng sampled in, 32-byte string", CASE_STRING, calls);
    else if (!strcmp(which, "disabled"))
        run_case("LTTng tracepoint disabled (no session)", CASE_INTS, calls);
    else {
        fprintf(stderr, "usage: %s [calls] [ints|string|disabled]\n", argv[0]);
        return 2;
    }
    return 0;
}
