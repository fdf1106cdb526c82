/*
 * tp.h — LTTng-UST 2.13 tracepoint provider `swarm_bench`, used only by
 * bench_lttng.c to measure LTTng's hot path next to our trace_event().
 * Two events mirror hotpath.c's payloads: two integers, one 32-byte string.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER swarm_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./tp.h"

#if !defined(SWARM_BENCH_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define SWARM_BENCH_TP_H

#include <lttng/tracepoint.h>

LTTNG_UST_TRACEPOINT_EVENT(swarm_bench, two_ints,
    LTTNG_UST_TP_ARGS(int, a, int, b),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_integer(int, a, a)
        lttng_ust_field_integer(int, b, b)))

LTTNG_UST_TRACEPOINT_EVENT(swarm_bench, str32,
    LTTNG_UST_TP_ARGS(const char *, s),
    LTTNG_UST_TP_FIELDS(
        lttng_ust_field_string(s, s)))

#endif /* SWARM_BENCH_TP_H */

#include <lttng/tracepoint-event.h>
