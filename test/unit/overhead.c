/*
 * overhead.c (test) — libtrace reports its own cost: system.overhead
 * events from agent "libtrace" arrive periodically and at shutdown with
 * every field, and they are not counted as the producers' events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "trace.h"
#include "sink.h"
#include "wire.h"

static const char *fields[] = {"\"intervalMs\":", "\"flusherCpuUs\":", "\"flusherCpuShare\":",
                               "\"processCpuShare\":", "\"hotPathNsPerEvent\":", "\"hotPathUs\":",
                               "\"recorded\":", "\"sampledOut\":", "\"sent\":", "\"ringFull\":",
                               "\"transport\":", "\"tooLarge\":", "\"invalid\":", "\"ringFill\":",
                               "\"rings\":", "\"rate\":"};

static double field(const char *json, size_t n, const char *key) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%.*s", (int)n, json);
    const char *p = strstr(buf, key);
    return p ? atof(p + strlen(key)) : -1;
}

typedef struct tally {
    int reports, work;
    double recorded_total;
} tally;

static void count_event(const wire_batch *b, const wire_event *e, void *arg) {
    tally *t = arg;
    (void)b;
    if (e->agent.n != 8 || memcmp(e->agent.p, "libtrace", 8)) {
        t->work++;
        return;
    }
    CHECK(e->type.n == 15 && !memcmp(e->type.p, "system.overhead", 15));
    for (size_t k = 0; k < sizeof fields / sizeof *fields; k++)
        CHECKF(e->metadata.n && memmem(e->metadata.p, e->metadata.n, fields[k],
                                       strlen(fields[k])),
               "report lacks %s", fields[k]);
    CHECK(field(e->metadata.p, e->metadata.n, "\"hotPathNsPerEvent\":") > 0);
    CHECK(field(e->metadata.p, e->metadata.n, "\"rings\":") >= 0);
    t->recorded_total += field(e->metadata.p, e->metadata.n, "\"recorded\":");
    t->reports++;
}

static void t_reports(void) {
    sink k;
    CHECK(sink_open(&k) == 0);
    trace_config c = sink_config(&k);
    c.overhead_interval_ms = 100;
    CHECK(trace_init(&c) == 0);
    for (int i = 0; i < 700; i++) { /* 700 ms of work */
        trace_event("worker", "custom.step", TRACE_INFO, "step %d", i);
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
    }
    trace_shutdown();
    trace_stats s;
    trace_get_stats(&s);
    CHECK(s.recorded == 700 && s.sent == 700); /* reports are not counted */

    tally t = {0, 0, 0};
    sink_drain(&k, count_event, &t);
    sink_close(&k);
    CHECK(t.work == 700);
    CHECKF(t.reports >= 4, "%d reports in 700 ms at 100 ms intervals", t.reports);
    /* the intervals' counts add up to everything recorded */
    CHECKF(t.recorded_total == 700, "reports count %.0f recorded events", t.recorded_total);
}

int main(void) {
    check_run("reports", t_reports);
    return check_main("overhead");
}
