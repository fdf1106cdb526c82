/*
 * sampler.c — which events are kept.
 *
 * Priorities come from the event type (trace.h lists them): lifecycle,
 * task and error events are what a person needs to understand a swarm, so
 * they are never sampled out; chatty message and debug events are kept at
 * sampling_rate. The random draw is a per-thread xorshift, so sampling
 * costs no shared write and no syscall.
 */
#include <string.h>

#include "../wire/wire.h"
#include "internal.h"

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

/* Shared with the inline decision in trace.h (trace__keep). */
int trace__sample_all;
unsigned trace__threshold;
__thread __attribute__((tls_model("initial-exec"))) unsigned long long trace__tl_rng;
__thread __attribute__((tls_model("initial-exec"))) unsigned long long trace__tl_sampled_out;

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

int tr_keep(int priority, trace_level level) {
    if (priority >= TR_HIGH || level == TRACE_ERROR || trace__sample_all) return 1;
    if (!trace__threshold) return 0;
    return tr_rng_next() < trace__threshold;
}
