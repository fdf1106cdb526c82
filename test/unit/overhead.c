/*
 * overhead.c (test) — libtrace reports its own cost: system.overhead
 * events from agent "libtrace" arrive periodically and at shutdown with
 * every field, and they are not counted as the producers' events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "check.h"
#include "trace.h"
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

static void t_reports(void) {
    void *ctx = zmq_ctx_new(), *pull = zmq_socket(ctx, ZMQ_PULL);
    char url[64];
    size_t n = sizeof url;
    CHECK(zmq_bind(pull, "tcp://127.0.0.1:*") == 0);
    zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, url, &n);
    trace_config c;
    trace_config_from_env(&c);
    snprintf(c.collector_url, sizeof c.collector_url, "%s", url);
    c.sampling_rate = 1.0;
    c.adaptive = 0;
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

    int reports = 0, work = 0;
    double recorded_total = 0;
    int timeout = 2000;
    zmq_setsockopt(pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, pull, 0) >= 0) {
        wire_batch b;
        char err[128];
        if (wire_decode(zmq_msg_data(&m), zmq_msg_size(&m), &b, err, sizeof err)) break;
        for (uint32_t i = 0; i < b.hdr.event_count; i++) {
            const wire_event *e = &b.events[i];
            if (e->agent.n == 8 && !memcmp(e->agent.p, "libtrace", 8)) {
                CHECK(e->type.n == 15 && !memcmp(e->type.p, "system.overhead", 15));
                for (size_t k = 0; k < sizeof fields / sizeof *fields; k++)
                    CHECKF(e->metadata.n && memmem(e->metadata.p, e->metadata.n, fields[k],
                                                   strlen(fields[k])),
                           "report lacks %s", fields[k]);
                CHECK(field(e->metadata.p, e->metadata.n, "\"hotPathNsPerEvent\":") > 0);
                CHECK(field(e->metadata.p, e->metadata.n, "\"rings\":") >= 0);
                recorded_total += field(e->metadata.p, e->metadata.n, "\"recorded\":");
                reports++;
            } else {
                work++;
            }
        }
        int final = b.hdr.flags & WIRE_FLAG_FINAL;
        wire_batch_free(&b);
        if (final) break;
    }
    zmq_msg_close(&m);
    CHECK(work == 700);
    CHECKF(reports >= 4, "%d reports in 700 ms at 100 ms intervals", reports);
    /* the intervals' counts add up to everything recorded */
    CHECKF(recorded_total == 700, "reports count %.0f recorded events", recorded_total);
    zmq_close(pull);
    zmq_ctx_term(ctx);
}

int main(void) {
    check_run("reports", t_reports);
    return check_main("overhead");
}
