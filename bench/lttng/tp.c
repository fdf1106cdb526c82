/*
 * tp.c — expands tp.h into the probe code of the `swarm_bench` provider
 * (compiled once, linked statically into bench-lttng).
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#include "tp.h"
