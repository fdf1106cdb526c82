/*
 * wire_inject.c — a hostile producer for the collector's tests: sends a
 * valid batch, then one malformed batch of each kind the decoder must
 * refuse, then another valid batch, to the ZeroMQ endpoint given. Prints
 * "bad=N good_events=M" so the test knows what to expect.
 *
 * Usage: wire-inject ENDPOINT
 */
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "wire.h"

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* A valid batch of n events from producer 42 with this sequence number. */
static size_t valid_batch(wire_encoder *enc, uint64_t seq, int n, uint8_t *out, size_t cap) {
    wire_encoder_begin(enc, (wire_str){"inject", 6}, (wire_str){"inject", 6});
    for (int i = 0; i < n; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "valid %llu/%d", (unsigned long long)seq, i);
        wire_event e = {0};
        e.ts_us = now_us();
        e.count = 1;
        e.level = 1;
        e.agent = (wire_str){"injector", 8};
        e.type = (wire_str){"custom.inject", 13};
        e.message = (wire_str){msg, (uint32_t)len};
        wire_encoder_add(enc, &e);
    }
    wire_header h = {0};
    h.producer_id = 42;
    h.sequence = seq;
    const uint8_t *msg;
    size_t len;
    if (wire_encoder_finish(enc, &h, &msg, &len) || len > cap) exit(1);
    memcpy(out, msg, len);
    return len;
}

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: wire-inject ENDPOINT\n");
        return 2;
    }
    void *ctx = zmq_ctx_new(), *push = zmq_socket(ctx, ZMQ_PUSH);
    int linger = 5000;
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(push, argv[1])) return 1;
    wire_encoder enc;
    wire_encoder_init(&enc);
    static uint8_t good[65536], bad[65536];
    int nbad = 0;
    size_t len = valid_batch(&enc, 1, 5, good, sizeof good);
    zmq_send(push, good, len, 0);

    /* truncated: only part of the header */
    zmq_send(push, good, 20, 0), nbad++;
    /* truncated: the header and half the payload */
    zmq_send(push, good, WIRE_HEADER_SIZE + (len - WIRE_HEADER_SIZE) / 2, 0), nbad++;
    /* bad magic */
    memcpy(bad, good, len), bad[0] ^= 0xFF, zmq_send(push, bad, len, 0), nbad++;
    /* wrong version */
    memcpy(bad, good, len), bad[4] = 99, zmq_send(push, bad, len, 0), nbad++;
    /* absurd event count */
    memcpy(bad, good, len), put32(bad + 24, 4000000000u), zmq_send(push, bad, len, 0), nbad++;
    /* LZ4 that decompresses past its stated bound */
    {
        static char raw[8192];
        memset(raw, 'A', sizeof raw);
        int zn = LZ4_compress_default(raw, (char *)bad + WIRE_HEADER_SIZE, sizeof raw,
                                      (int)(sizeof bad - WIRE_HEADER_SIZE));
        wire_header h = {WIRE_MAGIC, WIRE_VERSION, WIRE_FLAG_LZ4, 42, 99, 1, 100,
                         (uint32_t)zn, 0, 0, 0};
        wire_header_write(bad, &h);
        zmq_send(push, bad, WIRE_HEADER_SIZE + (size_t)zn, 0), nbad++;
    }
    /* garbage, and an empty message */
    for (size_t i = 0; i < 1000; i++) bad[i] = (uint8_t)(i * 131 + 7);
    zmq_send(push, bad, 1000, 0), nbad++;
    zmq_send(push, "", 0, 0), nbad++;
    /* a multi-part message (ours are single-part) */
    zmq_send(push, good, len, ZMQ_SNDMORE);
    zmq_send(push, good, len, 0), nbad++;

    len = valid_batch(&enc, 2, 5, good, sizeof good);
    zmq_send(push, good, len, 0);
    printf("bad=%d good_events=%d\n", nbad, 10);
    wire_encoder_free(&enc);
    zmq_close(push);
    zmq_ctx_term(ctx);
    return 0;
}
