/*
 * selfmon.c — libtrace measures what it costs and says so.
 *
 * Every overhead_interval_ms the flusher adds one "system.overhead" event
 * (agent "libtrace") to the stream: its own CPU time, the process's CPU
 * share, an estimate of the time producers spent in the hot path, drops by
 * reason, how full the fullest ring is and the sampling rate in force. The
 * collector keeps them like any event, so the overhead of tracing is a
 * number a person can look up, not a claim. The hot-path estimate is the
 * events recorded times a per-event cost measured once at start-up on a
 * private ring with the same writes the hot path does.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static struct {
    double ns_per_event;
    uint64_t last_ms, last_flusher_ns;
    uint64_t last[TR_NCOUNTERS];
} sm;

static uint64_t sm_now_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Time the hot path's writes: a clock read, a reservation, a 150-byte
 * record, a commit. */
static double sm_calibrate(void) {
    ring *r = ring_create(1 << 16, 0);
    if (!r) return 0;
    char payload[150];
    memset(payload, 'x', sizeof payload);
    uint64_t t0 = sm_now_ns(CLOCK_MONOTONIC);
    enum { N = 2000 };
    for (int i = 0; i < N; i++) {
        ring_rec *rec = ring_reserve(r, 152);
        if (!rec) { /* drain, as the flusher would */
            const ring_rec *x;
            while ((x = ring_peek(r))) ring_release(r, x);
            rec = ring_reserve(r, 152);
        }
        memcpy(rec, payload, sizeof payload);
        rec->size = 152;
        rec->kind = 0;
        rec->ticks = tr_ticks();
        ring_commit(r, 152);
    }
    double ns = (double)(sm_now_ns(CLOCK_MONOTONIC) - t0) / N;
    ring_unref(r);
    ring_unref(r);
    return ns;
}

void tr_selfmon_init(void) {
    memset(&sm, 0, sizeof sm);
    sm.ns_per_event = sm_calibrate();
    sm.last_ms = tr_mono_ms();
}

/* The fullest ring, as a fraction of its capacity. */
static double sm_ring_fill(int *nrings) {
    double worst = 0;
    *nrings = 0;
    pthread_mutex_lock(&tr.reg_lock);
    for (ring *r = tr.rings; r; r = r->next) {
        uint64_t used = atomic_load_explicit(&r->head, memory_order_relaxed) -
                        atomic_load_explicit(&r->tail, memory_order_relaxed);
        double f = (double)used / (double)r->cap;
        if (f > worst) worst = f;
        (*nrings)++;
    }
    pthread_mutex_unlock(&tr.reg_lock);
    return worst;
}

/* Flusher only: the metadata of a system.overhead event into buf when one
 * is due (returns 1), else 0. */
int tr_selfmon_due(char *buf, size_t cap, int force) {
    uint64_t now = tr_mono_ms();
    unsigned every = tr.cfg.overhead_interval_ms;
    if (!every || (!force && now - sm.last_ms < every) || now == sm.last_ms) return 0;
    uint64_t flusher_ns = sm_now_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t c[TR_NCOUNTERS];
    pthread_mutex_lock(&tr.reg_lock);
    tr_stats_sum(c);
    pthread_mutex_unlock(&tr.reg_lock);
    int nrings;
    double fill = sm_ring_fill(&nrings);
    double wall_us = (double)(now - sm.last_ms) * 1000.0;
    double flusher_us = (double)(flusher_ns - sm.last_flusher_ns) / 1000.0;
    uint64_t recorded = c[TR_RECORDED] - sm.last[TR_RECORDED];
    double hot_us = (double)recorded * sm.ns_per_event / 1000.0;
    snprintf(buf, cap,
             "{\"intervalMs\":%llu,\"flusherCpuUs\":%.0f,\"flusherCpuShare\":%.4f,"
             "\"processCpuShare\":%.4f,\"hotPathNsPerEvent\":%.1f,\"hotPathUs\":%.0f,"
             "\"recorded\":%llu,\"sampledOut\":%llu,\"sent\":%llu,"
             "\"dropped\":{\"ringFull\":%llu,\"transport\":%llu,\"tooLarge\":%llu,"
             "\"invalid\":%llu},\"ringFill\":%.4f,\"rings\":%d,\"rate\":%.6f}",
             (unsigned long long)(now - sm.last_ms), flusher_us, flusher_us / wall_us,
             tr.cpu_share, sm.ns_per_event, hot_us, (unsigned long long)recorded,
             (unsigned long long)(c[TR_SAMPLED_OUT] - sm.last[TR_SAMPLED_OUT]),
             (unsigned long long)atomic_load(&tr.sent),
             (unsigned long long)c[TR_DROPPED_FULL],
             (unsigned long long)atomic_load(&tr.dropped_transport),
             (unsigned long long)c[TR_DROPPED_LARGE],
             (unsigned long long)c[TR_DROPPED_INVALID], fill, nrings,
             tr_rate_in_force());
    sm.last_ms = now;
    sm.last_flusher_ns = flusher_ns;
    memcpy(sm.last, c, sizeof c);
    return 1;
}
