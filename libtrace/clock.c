/*
 * clock.c — timestamps: cheap ticks on the hot path, epoch µs later.
 *
 * Producers stamp events with tr_ticks(): the TSC where the CPU says it is
 * invariant (cpuid 0x80000007 EDX bit 8: constant rate, never stops), else
 * CLOCK_REALTIME in nanoseconds. Converting ticks to microseconds since
 * the epoch happens on the flusher thread, against an anchor pair
 * (ticks, realtime) that the flusher refreshes, so wall-clock steps and
 * TSC rate errors never accumulate. The flusher's own deadlines use
 * CLOCK_MONOTONIC. Detected, never assumed: on a machine without an
 * invariant TSC everything still works, a little slower.
 */
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "internal.h"

int tr_tsc; /* set once by tr_clock_init(); read by tr_ticks() */

uint64_t tr_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int tr_tsc_invariant(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000007) return 0;
    __cpuid(0x80000007, a, b, c, d);
    return (d >> 8) & 1;
#else
    return 0;
#endif
}

/* The anchor: realtime ns at tick t0, and the rate between them. */
static struct {
    uint64_t t0, ns0;
    double ns_per_tick;
    uint64_t taken_ms;
} tr_anchor;

/* A (ticks, realtime) pair taken as close together as we can. */
static void tr_sample(uint64_t *ticks, uint64_t *ns) {
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 3; i++) { /* keep the tightest of three reads */
        uint64_t a = tr_ticks(), n = tr_realtime_ns(), b = tr_ticks();
        if (b - a < best) {
            best = b - a;
            *ticks = a + (b - a) / 2;
            *ns = n;
        }
    }
}

void tr_clock_init(void) {
    tr_tsc = tr_tsc_invariant();
    tr_sample(&tr_anchor.t0, &tr_anchor.ns0);
    tr_anchor.ns_per_tick = 1.0;
    tr_anchor.taken_ms = tr_mono_ms();
    if (tr_tsc) { /* a first rate over 2 ms; the flusher refines it */
        struct timespec d = {0, 2000000};
        nanosleep(&d, NULL);
        tr_clock_refresh(1);
    }
}

/* Flusher only: re-anchor about once a second (or now if forced). */
void tr_clock_refresh(int force) {
    uint64_t now = tr_mono_ms();
    if (!tr_tsc || (!force && now - tr_anchor.taken_ms < 1000)) return;
    uint64_t t1, ns1;
    tr_sample(&t1, &ns1);
    if (t1 > tr_anchor.t0 && ns1 > tr_anchor.ns0)
        tr_anchor.ns_per_tick = (double)(ns1 - tr_anchor.ns0) / (double)(t1 - tr_anchor.t0);
    tr_anchor.t0 = t1;
    tr_anchor.ns0 = ns1;
    tr_anchor.taken_ms = now;
}

/* Flusher only: ticks → µs since the epoch. */
uint64_t tr_ticks_to_us(uint64_t t) {
    double delta = ((double)(int64_t)(t - tr_anchor.t0)) * tr_anchor.ns_per_tick;
    return (uint64_t)((double)tr_anchor.ns0 + delta) / 1000u;
}

/* Flusher only: a tick interval in µs. */
uint64_t tr_ticks_span_us(uint64_t from, uint64_t to) {
    return to > from ? (uint64_t)((double)(to - from) * tr_anchor.ns_per_tick / 1000.0) : 0;
}

uint64_t tr_now_us(void) { return tr_realtime_ns() / 1000u; }

uint64_t tr_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
