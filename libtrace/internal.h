/*
 * internal.h — what libtrace's files share and nobody else sees.
 *
 * The whole library state is one struct, `tr`, so it is obvious what is
 * global. Fields written only by trace_init() are read by producers after
 * an acquire load of trace__on, which trace_init() sets with a release
 * store last: that pairing is what makes the plain reads safe.
 */
#ifndef TRACE_INTERNAL_H
#define TRACE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ring.h"
#include "trace.h"

enum tr_priority { TR_LOW = 0, TR_MEDIUM = 1, TR_HIGH = 2, TR_CRITICAL = 3,
                   TR_INVALID = 4 /* a call site whose type the wire refuses */ };

/* Thread-locals of the hot path use the initial-exec model: a direct
 * offset from the thread pointer instead of a __tls_get_addr call. */
#define TR_TLS __attribute__((tls_model("initial-exec"))) _Thread_local

/* The per-ring counters, in this order, in tr_stats_sum()'s output. */
enum tr_counter { TR_RECORDED, TR_SAMPLED_OUT, TR_DROPPED_FULL, TR_DROPPED_LARGE,
                  TR_DROPPED_INVALID, TR_NCOUNTERS };

typedef struct tracer {
    trace_config cfg;
    uint64_t producer_id;
    _Atomic unsigned gen;      /* bumped by every trace_init() */

    pthread_mutex_t reg_lock; /* guards rings (list links) and folded */
    ring *rings;
    uint64_t folded[TR_NCOUNTERS]; /* counters of rings already freed */

    pthread_t flusher;
    int flusher_running;
    _Atomic int stopping;
    void *zctx, *zsock;
    _Atomic uint64_t sent, batches, dropped_transport; /* flusher writes */
    _Atomic uint64_t span_seq;
    double cpu_share; /* flusher: the process's CPU use, last second */
    /* crash.c: a handler publishes the signal, the flusher answers */
    _Atomic int crash_sig, crash_done, flusher_tid;
} tracer;

extern tracer tr;

/* trace.c */
/* The calling thread's ring, created on its first event; NULL if it
 * cannot be. The check is inline: every recorded event starts with it. */
extern TR_TLS ring *tr_tl_ring;
ring *tr_thread_ring_slow(void);
static inline ring *tr_thread_ring(void) {
    ring *r = tr_tl_ring;
    if (__builtin_expect(r && r->gen == atomic_load_explicit(&tr.gen, memory_order_relaxed), 1))
        return r;
    return tr_thread_ring_slow();
}
void tr_emit(const trace_record *rec, int decision); /* -1: decide */
void tr_record(int kind, trace_level level, uint64_t span_id,
               uint64_t parent_id, uint64_t duration, uint64_t aux,
               const char *const str[RING_NSTR], uint64_t ticks);
uint64_t tr_new_span_id(void);
void tr_stats_sum(uint64_t out[TR_NCOUNTERS]); /* under reg_lock */
void tr_fold_ring(const ring *r);           /* under reg_lock */

/* clock.c */
extern int tr_tsc;
uint64_t tr_realtime_ns(void);
/* Hot path: TSC or realtime ns. Inline: a call would cost as much as the
 * rdtsc it wraps. */
static inline uint64_t tr_ticks(void) {
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_expect(tr_tsc, 1)) return __builtin_ia32_rdtsc();
#endif
    return tr_realtime_ns();
}
void tr_clock_init(void);
void tr_clock_refresh(int force);             /* flusher only */
uint64_t tr_ticks_to_us(uint64_t ticks);      /* flusher only */
uint64_t tr_ticks_span_us(uint64_t from, uint64_t to); /* flusher only */
uint64_t tr_now_us(void);
uint64_t tr_mono_ms(void);

#define TR_MAX_ARGS 9       /* trace_event() arguments after the format */
#define TR_MAX_STR_ARG 1024 /* longer string arguments are cut */

/* format.c: a trace_event() argument as stored, strings resolved */
typedef struct tr_farg {
    uint64_t tag;
    union {
        long long i;
        unsigned long long u;
        double d;
        const void *p;
    } v;
    const char *s; /* TRACE__T_S: NUL-terminated copy, or NULL */
} tr_farg;
size_t tr_format(char *buf, size_t cap, const char *fmt, const tr_farg *args,
                 unsigned nargs);

/* sampler.c */
int tr_priority_of(const char *type);
int tr_site_word(const char *type); /* a call site's priority word */
int tr_keep(int priority, trace_level level);
int tr_keep_hashed(const char *key, trace_level level);
int tr_filters_set(const char *spec); /* -1: invalid, reported */
int tr_filtered(const char *type, const char *agent, trace_level level);
void tr_sampler_init(double base_rate);
void tr_rate_set(double rate);
double tr_rate_in_force(void);
void tr_sampler_adapt(double cpu_share);
void tr_sampler_tick(void); /* flusher only */
void tr_rng_seed(void); /* this thread's draws */

/* selfmon.c */
void tr_selfmon_init(void);
int tr_selfmon_due(char *buf, size_t cap, int force); /* flusher only */

/* crash.c */
void tr_crash_install(void);
void tr_crash_uninstall(void);
const char *tr_crash_signame(int sig);

/* flusher.c */
int tr_flusher_start(void);
void tr_flusher_stop(void);

#endif
