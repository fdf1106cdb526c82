/*
 * sampler.c — which events are kept: priorities, sampling, filters, and
 * the adaptive rate.
 *
 * Priorities come from the event type (trace.h lists them): lifecycle,
 * task and error events are what a person needs to understand a swarm, so
 * they are never sampled out; chatty message and debug events are kept at
 * the rate in force. The draw is a per-thread xorshift, so sampling costs
 * no shared write and no syscall, and for trace_event() it runs inline at
 * the call site (trace.h, trace__keep) from the per-site priority word
 * resolved here once per site and generation. Filters are the user's own
 * rules; a site whose type a rule could match is flagged, so only those
 * sites pay for checking them. The adaptive rate is recomputed by the
 * flusher once a second from the process's CPU use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../wire/wire.h"
#include "internal.h"

/* Shared with the inline decision in trace.h (trace__keep). */
int trace__sample_all;
unsigned trace__threshold;
int trace__site_gen;
__thread __attribute__((tls_model("initial-exec"))) unsigned long long trace__tl_rng;
__thread __attribute__((tls_model("initial-exec"))) unsigned long long trace__tl_sampled_out;

/* ---- priorities ---- */

static int tr_has_prefix(const char *s, const char *prefix) {
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

int tr_priority_of(const char *type) {
    size_t n = strnlen(type, WIRE_MAX_NAME + 1);
    if (n == 0 || n > WIRE_MAX_NAME) return TR_INVALID;
    if (!strcmp(type, "agent.created") || !strcmp(type, "agent.error"))
        return TR_CRITICAL;
    if (tr_has_prefix(type, "agent.") || tr_has_prefix(type, "task.") ||
        tr_has_prefix(type, "topology.") || tr_has_prefix(type, "snapshot."))
        return TR_HIGH;
    if (tr_has_prefix(type, "message.") || tr_has_prefix(type, "coordination."))
        return TR_MEDIUM;
    return TR_LOW;
}

/* ---- filters ---- */

#define TR_MAX_FILTERS 16

typedef struct tr_filter {
    char type[64], agent[64];
    int min_level; /* events below are dropped; 4 = all */
} tr_filter;

static tr_filter tr_filters[TR_MAX_FILTERS]; /* written by trace_init only */
static int tr_nfilters;

static int tr_level_named(const char *s, size_t n) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strlen(names[i]) == n && !strncmp(s, names[i], n)) return i;
    return -1;
}

/* Parse one TYPE_PREFIX[@AGENT_PREFIX][>=LEVEL]. */
static int tr_filter_parse_one(const char *s, size_t n, tr_filter *f) {
    memset(f, 0, sizeof *f);
    f->min_level = 4;
    const char *end = s + n, *ge = NULL;
    for (const char *p = s; p + 1 < end; p++)
        if (p[0] == '>' && p[1] == '=') ge = p;
    if (ge) {
        f->min_level = tr_level_named(ge + 2, (size_t)(end - ge - 2));
        if (f->min_level < 0) return -1;
        end = ge;
    }
    const char *at = memchr(s, '@', (size_t)(end - s));
    const char *type_end = at ? at : end;
    if (type_end - s >= (long)sizeof f->type) return -1;
    memcpy(f->type, s, (size_t)(type_end - s));
    if (at) {
        if (end - at - 1 >= (long)sizeof f->agent) return -1;
        memcpy(f->agent, at + 1, (size_t)(end - at - 1));
    }
    return f->type[0] || f->agent[0] ? 0 : -1;
}

int tr_filters_set(const char *spec) {
    tr_nfilters = 0;
    for (const char *p = spec; p && *p;) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        if (n) {
            if (tr_nfilters == TR_MAX_FILTERS ||
                tr_filter_parse_one(p, n, &tr_filters[tr_nfilters])) {
                fprintf(stderr, "libtrace: invalid filter '%.*s' (want "
                                "TYPE_PREFIX[@AGENT_PREFIX][>=LEVEL], at most %d)\n",
                        (int)n, p, TR_MAX_FILTERS);
                tr_nfilters = 0;
                return -1;
            }
            tr_nfilters++;
        }
        p = semi ? semi + 1 : NULL;
    }
    return 0;
}

static int tr_filter_may_match(const char *type) {
    for (int i = 0; i < tr_nfilters; i++)
        if (tr_has_prefix(type, tr_filters[i].type)) return 1;
    return 0;
}

int tr_filtered(const char *type, const char *agent, trace_level level) {
    if (!strcmp(type, "agent.created") || !strcmp(type, "agent.error")) return 0;
    for (int i = 0; i < tr_nfilters; i++) {
        const tr_filter *f = &tr_filters[i];
        if (tr_has_prefix(type, f->type) && tr_has_prefix(agent, f->agent) &&
            (int)level < f->min_level)
            return 1;
    }
    return 0;
}

/* The priority word of a call site (trace.h describes it). */
int tr_site_word(const char *type) {
    int prio = tr_priority_of(type);
    int flagged = prio != TR_INVALID && tr_filter_may_match(type);
    return (__atomic_load_n(&trace__site_gen, __ATOMIC_RELAXED) << 4) |
           (flagged << 3) | prio;
}

/* ---- sampling ---- */

void tr_rng_seed(void) {
    uint64_t x = (uint64_t)(uintptr_t)&trace__tl_rng ^ tr_ticks() ^ 0x9E3779B97F4A7C15ull;
    trace__tl_rng = x ? x : 1;
}

static uint32_t tr_rng_next(void) {
    if (!trace__tl_rng) tr_rng_seed();
    uint64_t x = trace__tl_rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    trace__tl_rng = x;
    return (uint32_t)(x >> 32);
}

static int tr_draw_below(uint32_t draw) {
    if (__atomic_load_n(&trace__sample_all, __ATOMIC_RELAXED)) return 1;
    return draw < __atomic_load_n(&trace__threshold, __ATOMIC_RELAXED);
}

int tr_keep(int priority, trace_level level) {
    if (priority >= TR_HIGH || level == TRACE_ERROR) return 1;
    return tr_draw_below(tr_rng_next());
}

/* The same decision from a hash: both ends of a message, recorded by two
 * threads or processes, draw the same number and agree. */
int tr_keep_hashed(const char *key, trace_level level) {
    if (level == TRACE_ERROR || !key) return tr_keep(TR_MEDIUM, level);
    /* FNV-1a mixes short, similar ids poorly: finish with splitmix64 */
    uint64_t h = wire_checksum(key, strlen(key));
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    h ^= h >> 31;
    return tr_draw_below((uint32_t)(h >> 32));
}

/* ---- adaptive rate ---- */

static double tr_base_rate, tr_rate;

void tr_rate_set(double rate) {
    tr_rate = rate;
    __atomic_store_n(&trace__threshold, (unsigned)(rate * 4294967295.0), __ATOMIC_RELAXED);
    __atomic_store_n(&trace__sample_all, rate >= 1.0, __ATOMIC_RELAXED);
}

void tr_sampler_init(double base_rate) {
    tr_base_rate = base_rate;
    tr_rate_set(base_rate);
}

double tr_rate_in_force(void) { return tr_rate; }

/* cpu: the process's share of the whole machine over the last period. */
void tr_sampler_adapt(double cpu) {
    if (cpu > 0.8 && tr_rate > 1e-4) tr_rate_set(tr_rate / 2);
    else if (cpu < 0.2 && tr_rate < tr_base_rate)
        tr_rate_set(tr_rate * 2 > tr_base_rate ? tr_base_rate : tr_rate * 2);
}

/* Flusher only: once a second, measure and adapt. */
void tr_sampler_tick(void) {
    static uint64_t last_ms, last_cpu_ns;
    uint64_t now = tr_mono_ms();
    if (last_ms && now - last_ms < 1000) return; /* the CPU clock is a syscall */
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    uint64_t cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (last_ms && now - last_ms >= 1000) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        double share = (double)(cpu_ns - last_cpu_ns) / 1e6 /
                       (double)(now - last_ms) / (double)(ncpu > 0 ? ncpu : 1);
        if (tr.cfg.adaptive) tr_sampler_adapt(share);
        tr.cpu_share = share;
    }
    last_ms = now;
    last_cpu_ns = cpu_ns;
}
