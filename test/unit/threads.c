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

#include "check.h"
#include "internal.h"
#include "trace.h"
#include "sink.h"
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

typedef struct arrivals {
    int next[THREADS];
    int order_ok;
    long total;
} arrivals;

static void on_event(const wire_batch *b, const wire_event *e, void *arg) {
    arrivals *a = arg;
    (void)b;
    int w = e->agent.n > 7 ? atoi(e->agent.p + 7) : -1;
    char num[16];
    snprintf(num, sizeof num, "%.*s", (int)e->message.n, e->message.p);
    if (w < 0 || w >= THREADS || atoi(num) != a->next[w]) a->order_ok = 0;
    else a->next[w]++;
    a->total += e->count;
}

static void t_many_producers(void) {
    sink k;
    CHECK(sink_open(&k) == 0);
    trace_config c = sink_config(&k);
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

    arrivals a = {{0}, 1, 0};
    sink_drain(&k, on_event, &a);
    sink_close(&k);
    CHECKF(a.total == THREADS * PER_THREAD, "%ld of %d events arrived", a.total,
           THREADS * PER_THREAD);
    CHECK(a.order_ok);
}

int main(void) {
    check_run("many producers", t_many_producers);
    return check_main("threads");
}
