/*
 * latency_producer.c — events at a steady rate, for bench/latency.mjs:
 * RATE events per second for SECONDS seconds through libtrace (sampling
 * rate 1), paced against the monotonic clock so the rate holds on
 * average without bursts larger than one millisecond's worth.
 *
 * Usage: bench-latency_producer RATE SECONDS   (TRACE_COLLECTOR_URL set)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "trace.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    double rate = atof(argv[1]), seconds = atof(argv[2]);
    trace_config cfg;
    trace_config_from_env(&cfg);
    cfg.sampling_rate = 1.0;
    cfg.adaptive = 0;
    cfg.ring_kb = 16384;
    if (trace_init(&cfg)) return 1;
    struct timespec settle = {0, 300000000};
    nanosleep(&settle, NULL);
    double t0 = now_s();
    long n = 0, total = (long)(rate * seconds);
    while (n < total) {
        long due = (long)((now_s() - t0) * rate);
        for (; n < due && n < total; n++)
            trace_event("producer", "custom.tick", TRACE_INFO, "tick %ld", n);
        struct timespec d = {0, 200000};
        nanosleep(&d, NULL);
    }
    trace_shutdown();
    trace_stats st;
    trace_get_stats(&st);
    printf("sent=%llu dropped=%llu\n", (unsigned long long)st.sent,
           (unsigned long long)(st.dropped_ring_full + st.dropped_transport));
    return 0;
}
