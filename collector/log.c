/*
 * log.c — one line per message on stderr, with a UTC timestamp and level,
 * so the collector's output can be read by people and grepped by tests.
 * stdout is reserved for the ready line that scripts wait for.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "collector.h"

int g_quiet;
int g_log_level = 2; /* messages up to this rank are written: info */

/* error 0, warn 1, info 2, debug 3; unknown names count as info */
int log_rank(const char *level) {
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(level, names[i])) return i;
    return -1;
}

void log_msg(const char *level, const char *fmt, ...) {
    int rank = log_rank(level);
    if ((rank < 0 ? 2 : rank) > g_log_level) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s\n",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
            tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level, line);
}
