/*
 * sink.h — the collector's side of the wire, for unit tests: a real
 * ZeroMQ PULL socket on a free loopback port that decodes every batch
 * libtrace sends and hands each event to a callback, until the FINAL
 * batch arrives (or two seconds pass with nothing).
 *
 *   sink s;  sink_open(&s);            s.url is the endpoint to trace to
 *   ... trace_init with s.url, record, trace_shutdown() ...
 *   sink_drain(&s, on_event, &state);  returns the batches decoded
 *   sink_close(&s);
 */
#ifndef TEST_SINK_H
#define TEST_SINK_H

#include <stdio.h>
#include <zmq.h>

#include "trace.h"
#include "wire.h"

typedef struct sink {
    void *ctx, *pull;
    char url[64];
    int rejected; /* batches wire_decode refused */
} sink;

typedef void (*sink_fn)(const wire_batch *b, const wire_event *e, void *arg);

/* Bind at `endpoint` ("tcp://127.0.0.1:*": a free port). */
static inline int sink_open_at(sink *s, const char *endpoint) {
    size_t n = sizeof s->url;
    int hwm = 100000, timeout = 2000;
    s->rejected = 0;
    s->ctx = zmq_ctx_new();
    s->pull = zmq_socket(s->ctx, ZMQ_PULL);
    zmq_setsockopt(s->pull, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s->pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    if (zmq_bind(s->pull, endpoint)) return -1;
    return zmq_getsockopt(s->pull, ZMQ_LAST_ENDPOINT, s->url, &n);
}

static inline int sink_open(sink *s) { return sink_open_at(s, "tcp://127.0.0.1:*"); }

static inline int sink_drain(sink *s, sink_fn fn, void *arg) {
    int batches = 0;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, s->pull, 0) >= 0) {
        wire_batch b;
        char err[128];
        if (wire_decode(zmq_msg_data(&m), zmq_msg_size(&m), &b, err, sizeof err)) {
            s->rejected++;
            continue;
        }
        batches++;
        for (uint32_t i = 0; i < b.hdr.event_count; i++) fn(&b, &b.events[i], arg);
        int final = b.hdr.flags & WIRE_FLAG_FINAL;
        wire_batch_free(&b);
        if (final) break;
    }
    zmq_msg_close(&m);
    return batches;
}

/* A libtrace configuration that traces into this sink and keeps every
 * event: rate 1, no adaptation, no overhead reports of libtrace's own. */
static inline trace_config sink_config(const sink *s) {
    trace_config c;
    trace_config_from_env(&c);
    snprintf(c.collector_url, sizeof c.collector_url, "%s", s->url);
    c.sampling_rate = 1.0;
    c.adaptive = 0;
    c.overhead_interval_ms = 0;
    return c;
}

static inline void sink_close(sink *s) {
    zmq_close(s->pull);
    zmq_ctx_term(s->ctx);
}

#endif
