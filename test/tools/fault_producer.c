/*
 * fault_producer.c — an agent for the fault tests (test/e2e/faults.test.mjs,
 * test/stress/faults.sh): records numbered events at a steady rate, times
 * every trace_event() call, and can crash on purpose.
 *
 * Events are "custom.fault" from agent "producer" with the message
 * "seq N", N = 1, 2, 3 ..., so a test can tell from the database exactly
 * which events arrived and whether any is missing in the middle.
 *
 * Phases: the test writes "phase NAME" on stdin when the world changes
 * (collector stopped, restarted); the producer then prints the closing
 * phase's figures:
 *   phase NAME calls=N p50_ns=A p99_ns=B max_ns=C rss_kb=R rss_max_kb=M
 * "stop" ends the last phase, calls trace_shutdown() and prints
 *   stats recorded=R sent=S dropped=D ring_full=F transport=T other=O
 * Times are of the trace_event() call alone, read with CLOCK_MONOTONIC
 * around it (the clock read's own cost, printed once as clock_ns=, is in
 * every figure alike, so phases compare). RSS is sampled every 50 ms
 * outside the timed calls.
 *
 * Usage: fault-producer [--rate EVENTS_PER_S] [--progress K]
 *                       [--crash abort|segv --after N] [--max-seconds S]
 *   --progress K   print "recorded N sent S" after every K events (S:
 *                  libtrace's count of events handed to ZeroMQ)
 *   --crash        record N events, print "recorded N", then die of
 *                  SIGABRT (abort()) or SIGSEGV (a write to a read-only page)
 *   --max-seconds  stop as if told to after S seconds (600): a producer
 *                  whose test died does not run on
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "trace.h"

#define FP_BUCKETS 100000 /* 1 ns buckets; longer calls land in the last */

typedef struct fp_phase {
    char name[64];
    uint64_t calls, max_ns, rss_max_kb;
    uint32_t *hist;
} fp_phase;

static uint64_t fp_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t fp_rss_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2) res = 0;
        fclose(f);
    }
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

static uint64_t fp_percentile(const fp_phase *p, double q) {
    if (!p->calls) return 0;
    uint64_t want = (uint64_t)((double)p->calls * q), seen = 0;
    for (uint32_t i = 0; i < FP_BUCKETS; i++) {
        seen += p->hist[i];
        if (seen > want) return i;
    }
    return FP_BUCKETS - 1;
}

static void fp_phase_report(fp_phase *p) {
    uint64_t rss = fp_rss_kb();
    if (rss > p->rss_max_kb) p->rss_max_kb = rss;
    printf("phase %s calls=%llu p50_ns=%llu p99_ns=%llu max_ns=%llu rss_kb=%llu rss_max_kb=%llu\n",
           p->name, (unsigned long long)p->calls,
           (unsigned long long)fp_percentile(p, 0.50),
           (unsigned long long)fp_percentile(p, 0.99), (unsigned long long)p->max_ns,
           (unsigned long long)rss, (unsigned long long)p->rss_max_kb);
    fflush(stdout);
}

static void fp_phase_start(fp_phase *p, const char *name) {
    snprintf(p->name, sizeof p->name, "%.63s", name);
    p->calls = p->max_ns = p->rss_max_kb = 0;
    memset(p->hist, 0, FP_BUCKETS * sizeof *p->hist);
}

/* One command from stdin if a whole line is there: 1 = stop. */
static int fp_command(fp_phase *p) {
    static char line[128];
    static size_t have;
    static int eof;
    struct pollfd pfd = {0, POLLIN, 0};
    if (eof || poll(&pfd, 1, 0) <= 0) return 0;
    ssize_t n = read(0, line + have, sizeof line - 1 - have);
    if (n <= 0) { /* no commands will come: run until --max-seconds */
        eof = 1;
        return 0;
    }
    have += (size_t)n;
    line[have] = 0;
    char *nl;
    while ((nl = strchr(line, '\n'))) {
        *nl = 0;
        int stop = !strcmp(line, "stop");
        if (!strncmp(line, "phase ", 6) || stop) {
            fp_phase_report(p);
            if (stop) return 1;
            fp_phase_start(p, line + 6);
        }
        size_t rest = have - (size_t)(nl + 1 - line);
        memmove(line, nl + 1, rest + 1);
        have = rest;
    }
    if (have == sizeof line - 1) have = 0; /* an absurd line: forget it */
    return 0;
}

static void fp_crash(const char *how) {
    if (!strcmp(how, "abort")) abort();
    /* a write to a read-only page: a real fault raised by the CPU, which
     * UBSan's null check cannot turn into an orderly exit first */
    volatile int *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ro != MAP_FAILED) *ro = 1;
    raise(SIGSEGV);
}

int main(int argc, char **argv) {
    double rate = 2000;
    uint64_t progress = 0, after = 0, max_s = 600;
    const char *crash = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--rate")) rate = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--progress")) progress = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--crash")) crash = argv[i + 1];
        else if (!strcmp(argv[i], "--after")) after = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--max-seconds")) max_s = strtoull(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "fault-producer: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (crash && strcmp(crash, "abort") && strcmp(crash, "segv")) {
        fprintf(stderr, "fault-producer: --crash abort|segv\n");
        return 2;
    }
    fp_phase p;
    /* allocated and touched before tracing starts: the histogram is not
     * libtrace's memory */
    p.hist = calloc(FP_BUCKETS, sizeof *p.hist);
    if (!p.hist) return 1;
    fp_phase_start(&p, "start");

    uint64_t c0 = fp_now_ns();
    for (int i = 0; i < 1000; i++) (void)fp_now_ns();
    printf("clock_ns=%.1f\n", (double)(fp_now_ns() - c0) / 1001.0);

    if (trace_init(NULL)) {
        fprintf(stderr, "fault-producer: trace_init failed\n");
        return 1;
    }
    printf("trace=%s\n", trace_current_trace_id());
    fflush(stdout);
    trace_agent_spawn("producer", "coder", NULL);

    uint64_t start = fp_now_ns(), next_rss = start, seq = 0;
    double period_ns = rate > 0 ? 1e9 / rate : 0;
    for (;;) {
        seq++;
        uint64_t t0 = fp_now_ns();
        trace_event("producer", "custom.fault", TRACE_INFO, "seq %llu", (unsigned long long)seq);
        uint64_t t1 = fp_now_ns(), ns = t1 - t0;
        p.hist[ns < FP_BUCKETS ? ns : FP_BUCKETS - 1]++;
        p.calls++;
        if (ns > p.max_ns) p.max_ns = ns;

        if (progress && seq % progress == 0) {
            /* what libtrace had handed to ZeroMQ by now: all of it must
             * survive a kill -9 of this process */
            trace_stats st;
            trace_get_stats(&st);
            printf("recorded %llu sent %llu\n", (unsigned long long)seq,
                   (unsigned long long)st.sent);
            fflush(stdout);
        }
        if (crash && seq == after) {
            printf("recorded %llu\n", (unsigned long long)seq);
            fflush(stdout);
            fp_crash(crash);
        }
        if (t1 >= next_rss) {
            uint64_t rss = fp_rss_kb();
            if (rss > p.rss_max_kb) p.rss_max_kb = rss;
            next_rss = t1 + 50000000;
        }
        if ((seq & 63) == 0 && (fp_command(&p) || t1 - start > max_s * 1000000000u)) break;
        if (period_ns > 0) {
            uint64_t due = start + (uint64_t)((double)seq * period_ns);
            uint64_t now = fp_now_ns();
            if (due > now + 100000) { /* sleep in slices of at least 0.1 ms */
                struct timespec d = {0, (long)(due - now)};
                if (d.tv_nsec >= 1000000000L) d = (struct timespec){1, 0};
                nanosleep(&d, NULL);
            }
        }
    }
    trace_shutdown();
    trace_stats s;
    trace_get_stats(&s);
    printf("stats recorded=%llu sent=%llu dropped=%llu ring_full=%llu transport=%llu other=%llu\n",
           (unsigned long long)s.recorded, (unsigned long long)s.sent,
           (unsigned long long)(s.dropped_ring_full + s.dropped_transport +
                                s.dropped_too_large + s.dropped_invalid),
           (unsigned long long)s.dropped_ring_full, (unsigned long long)s.dropped_transport,
           (unsigned long long)(s.dropped_too_large + s.dropped_invalid));
    free(p.hist);
    return 0;
}
