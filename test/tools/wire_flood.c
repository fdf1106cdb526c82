/*
 * wire_flood.c — producers for the hostile-client and load tests, built
 * on the real wire encoder (not libtrace: these need exact control of
 * what is sent and when).
 *
 *   wire-flood garbage ENDPOINT N   N random messages (0..64 KiB, fixed
 *       seed), one message over the collector's size limit (ZeroMQ drops
 *       that peer), then from a fresh socket a valid batch of 10 events
 *       in trace "hostile-after". Prints "garbage=N good_events=10".
 *   wire-flood load ENDPOINT RATE SECONDS TRACE
 *       RATE events/s for SECONDS in batches of 100, timestamped when
 *       sent (the load test measures delivery latency from them); 1000
 *       agents "agent-0".."agent-999" (event k from agent k % 1000), and
 *       event k an error when k % 997 == 0 (about 0.1 %, spread over
 *       the agents): narrow subscribers see a trickle, wide ones all.
 *       Prints "sent=N seconds=S".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "wire.h"

#define FLOOD_BATCH 100

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void *flood_socket(void *ctx, const char *endpoint) {
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    int linger = 10000, hwm = 100000;
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(push, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (zmq_connect(push, endpoint)) {
        fprintf(stderr, "wire-flood: cannot connect %s\n", endpoint);
        exit(1);
    }
    return push;
}

/* A batch of n events of trace `trace` numbered from `first`. */
static void flood_batch(void *push, wire_encoder *enc, const char *trace, uint64_t seq,
                        uint64_t first, int n) {
    wire_encoder_begin(enc, (wire_str){trace, (uint32_t)strlen(trace)}, (wire_str){"flood", 5});
    uint64_t ts = now_us();
    for (int i = 0; i < n; i++) {
        uint64_t k = first + (uint64_t)i;
        char agent[16], msg[32];
        int an = snprintf(agent, sizeof agent, "agent-%llu", (unsigned long long)(k % 1000));
        int mn = snprintf(msg, sizeof msg, "load %llu", (unsigned long long)k);
        wire_event e = {0};
        e.ts_us = ts;
        e.count = 1;
        e.level = k % 997 == 0 ? 3 : 1;
        e.agent = (wire_str){agent, (uint32_t)an};
        const char *type = k % 997 == 0 ? "agent.error" : "custom.load";
        e.type = (wire_str){type, (uint32_t)strlen(type)};
        e.message = (wire_str){msg, (uint32_t)mn};
        wire_encoder_add(enc, &e);
    }
    wire_header h = {0};
    h.producer_id = 0xf100d;
    h.sequence = seq;
    const uint8_t *out;
    size_t len;
    if (wire_encoder_finish(enc, &h, &out, &len)) exit(1);
    zmq_send(push, out, len, 0);
}

static int flood_garbage(void *ctx, const char *endpoint, int n) {
    void *push = flood_socket(ctx, endpoint);
    static uint8_t buf[65536];
    srand(20261128);
    for (int i = 0; i < n; i++) {
        size_t len = (size_t)rand() % sizeof buf;
        for (size_t k = 0; k < len; k++) buf[k] = (uint8_t)rand();
        if (i % 3 == 0 && len >= 8) memcpy(buf, "SWTR\x01\x00", 6); /* near-valid */
        zmq_send(push, buf, len, 0);
    }
    zmq_close(push);
    /* over ZMQ_MAXMSGSIZE: the collector's ZeroMQ drops this peer */
    void *big = flood_socket(ctx, endpoint);
    size_t huge = 20u << 20;
    uint8_t *p = calloc(1, huge);
    if (p) zmq_send(big, p, huge, 0);
    free(p);
    zmq_close(big);
    void *good = flood_socket(ctx, endpoint);
    wire_encoder enc;
    wire_encoder_init(&enc);
    flood_batch(good, &enc, "hostile-after", 1, 0, 10);
    wire_encoder_free(&enc);
    zmq_close(good);
    printf("garbage=%d good_events=10\n", n);
    return 0;
}

static int flood_load(void *ctx, const char *endpoint, long rate, double secs,
                      const char *trace) {
    void *push = flood_socket(ctx, endpoint);
    wire_encoder enc;
    wire_encoder_init(&enc);
    uint64_t start = now_us(), sent = 0, seq = 0;
    uint64_t total = (uint64_t)((double)rate * secs);
    while (sent < total) {
        /* keep to the schedule: send what is due, then sleep to the next */
        uint64_t due = (uint64_t)((double)(now_us() - start) * (double)rate / 1e6);
        while (sent < due && sent < total) {
            int n = total - sent < FLOOD_BATCH ? (int)(total - sent) : FLOOD_BATCH;
            flood_batch(push, &enc, trace, ++seq, sent, n);
            sent += (uint64_t)n;
        }
        struct timespec d = {0, 2 * 1000000L};
        nanosleep(&d, NULL);
    }
    double took = (double)(now_us() - start) / 1e6;
    wire_encoder_free(&enc);
    zmq_close(push);
    printf("sent=%llu seconds=%.2f\n", (unsigned long long)sent, took);
    return 0;
}

int main(int argc, char **argv) {
    void *ctx = zmq_ctx_new();
    int rc = 2;
    if (argc == 4 && !strcmp(argv[1], "garbage")) rc = flood_garbage(ctx, argv[2], atoi(argv[3]));
    else if (argc == 6 && !strcmp(argv[1], "load"))
        rc = flood_load(ctx, argv[2], atol(argv[3]), atof(argv[4]), argv[5]);
    else fprintf(stderr, "usage: wire-flood garbage ENDPOINT N | load ENDPOINT RATE SECONDS TRACE\n");
    zmq_ctx_term(ctx);
    return rc;
}
