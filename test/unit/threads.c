/*
 * threads.c (test) — many producer threads at once through the real
 * library and a real socket: every event arrives, each thread's events in
 * the order it recorded them, and the rings of threads that exited are
 * reclaimed once drained (their last events still delivered). Runs under
 * ThreadSanitizer too.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "check.h"
#include "internal.h"
#include "trace.h"
#include "wire.h"

enum { THREADS = 8, PER_THREAD = 5000 };

static void *producer(void *arg) {
    long id = (long)arg;
    char agent[16];
    snprintf(agent, sizeof agent, "worker-%ld", id);
    for (int i = 0; i < PER_THREAD; i++) {
        trace_event(agent, "custom.work", TRACE_INFO, "%d", i);
        if (i % 500 == 0) { /* give the flusher a chance: no ring-full drops */
            struct timespec d = {0, 2000000};
            nanosleep(&d, NULL);
        }
    }
    return NULL; /* the ring is orphaned here, with events still in it */
}

static int registry_size(void) {
    int n = 0;
    pthread_mutex_lock(&tr.reg_lock);
    for (ring *r = tr.rings; r; r = r->next) n++;
    pthread_mutex_unlock(&tr.reg_lock);
    return n;
}

static void t_many_producers(void) {
    void *ctx = zmq_ctx_new(), *pull = zmq_socket(ctx, ZMQ_PULL);
    char url[64];
    size_t n = sizeof url;
    int hwm = 100000;
    zmq_setsockopt(pull, ZMQ_RCVHWM, &hwm, sizeof hwm);
    CHECK(zmq_bind(pull, "tcp://127.0.0.1:*") == 0);
    zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, url, &n);
    trace_config c;
    trace_config_from_env(&c);
    snprintf(c.collector_url, sizeof c.collector_url, "%s", url);
    c.sampling_rate = 1.0;
    c.adaptive = 0;
    c.overhead_interval_ms = 0;
    c.ring_kb = 4096;
    CHECK(trace_init(&c) == 0);
    struct timespec settle = {0, 100000000};
    nanosleep(&settle, NULL); /* connected before the first batch */

    pthread_t th[THREADS];
    for (long i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, producer, (void *)i);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    /* exited threads' rings: drained, then unlinked by the flusher */
    int left = -1;
    for (int i = 0; i < 200 && left != 0; i++) {
        nanosleep(&settle, NULL);
        left = registry_size();
    }
    CHECKF(left == 0, "%d rings of exited threads still registered", left);
    trace_shutdown();
    trace_stats s;
    trace_get_stats(&s);
    CHECKF(s.recorded == THREADS * PER_THREAD && s.sent == s.recorded,
           "recorded %llu sent %llu full %llu transport %llu",
           (unsigned long long)s.recorded, (unsigned long long)s.sent,
           (unsigned long long)s.dropped_ring_full, (unsigned long long)s.dropped_transport);

    static int next[THREADS];
    int order_ok = 1;
    long total = 0;
    int timeout = 3000;
    zmq_setsockopt(pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, pull, 0) >= 0) {
        wire_batch b;
        char err[128];
        if (wire_decode(zmq_msg_data(&m), zmq_msg_size(&m), &b, err, sizeof err)) break;
        for (uint32_t i = 0; i < b.hdr.event_count; i++) {
            const wire_event *e = &b.events[i];
            int w = e->agent.n > 7 ? atoi(e->agent.p + 7) : -1;
            char num[16];
            snprintf(num, sizeof num, "%.*s", (int)e->message.n, e->message.p);
            if (w < 0 || w >= THREADS || atoi(num) != next[w]) order_ok = 0;
            else next[w]++;
            total += e->count;
        }
        int final = b.hdr.flags & WIRE_FLAG_FINAL;
        wire_batch_free(&b);
        if (final) break;
    }
    zmq_msg_close(&m);
    CHECKF(total == THREADS * PER_THREAD, "%ld of %d events arrived", total,
           THREADS * PER_THREAD);
    CHECK(order_ok);
    zmq_close(pull);
    zmq_ctx_term(ctx);
}

int main(void) {
    check_run("many producers", t_many_producers);
    return check_main("threads");
}
