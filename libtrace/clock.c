/*
 * clock.c — timestamps for events and timers for the flusher.
 *
 * Events carry wall-clock microseconds since the Unix epoch because that
 * is what every other component stores and shows; the flusher's own
 * deadlines use the monotonic clock so a wall-clock step cannot stall it.
 */
#include <time.h>

#include "internal.h"

uint64_t tr_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t tr_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
