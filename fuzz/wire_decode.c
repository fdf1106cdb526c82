/*
 * wire_decode.c — libFuzzer target: the collector's batch decoder
 * (header validation, LZ4, string table, events), the code every byte
 * from the ZeroMQ port goes through first.
 *
 * Input: one mode byte, then
 *   mode 0: a whole message, as it would arrive on the socket;
 *   mode 1: u16 event count + a payload, sent uncompressed under a
 *           header that is valid for it;
 *   mode 2: the same, LZ4-compressed by us first.
 * Modes 1 and 2 exist because random bytes almost never get past the
 * header: wrapping them lets the fuzzer spend its time in the string
 * table, the events and the decompressor. After a successful decode the
 * batch must satisfy what store.c relies on; anything else aborts.
 */
#include <lz4.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static void fz_check_str(const wire_batch *b, wire_str s, int required) {
    if (!s.p) {
        if (required) abort();
        return;
    }
    const char *lo = (const char *)b->raw, *hi = lo + b->hdr.raw_size;
    if (s.p < lo || s.p + s.n > hi || memchr(s.p, 0, s.n)) abort();
    if (required && (s.n == 0 || s.n > WIRE_MAX_NAME)) abort();
}

static void fz_check_batch(const wire_batch *b) {
    fz_check_str(b, b->trace, 1);
    fz_check_str(b, b->session, 1);
    for (uint32_t i = 0; i < b->hdr.event_count; i++) {
        const wire_event *e = &b->events[i];
        if (e->level > 3 || e->kind > WIRE_KIND_MAX || e->count == 0) abort();
        if (e->ts_us < WIRE_MIN_TS_US || e->ts_us > WIRE_MAX_TS_US) abort();
        fz_check_str(b, e->agent, 1);
        fz_check_str(b, e->type, 1);
        fz_check_str(b, e->message, 0);
        fz_check_str(b, e->metadata, 0);
        fz_check_str(b, e->stack, 0);
    }
}

static void fz_decode(const uint8_t *msg, size_t len) {
    wire_batch b;
    char err[160];
    err[0] = 0;
    if (wire_decode(msg, len, &b, err, sizeof err) == 0) {
        fz_check_batch(&b);
        wire_batch_free(&b);
    } else if (!err[0]) {
        abort(); /* every refusal names its reason */
    }
}

/* Put a valid header in front of payload (compressed if lz4). */
static void fz_wrapped(const uint8_t *data, size_t size, int lz4) {
    if (size < 2 || size - 2 > WIRE_MAX_RAW) return;
    uint32_t count = (uint32_t)data[0] | (uint32_t)data[1] << 8;
    const uint8_t *raw = data + 2;
    size_t raw_n = size - 2;
    size_t cap = lz4 ? (size_t)LZ4_compressBound((int)raw_n) : raw_n;
    uint8_t *msg = malloc(WIRE_HEADER_SIZE + cap + 1);
    if (!msg) return;
    size_t pay = raw_n;
    if (lz4)
        pay = (size_t)LZ4_compress_default((const char *)raw, (char *)msg + WIRE_HEADER_SIZE,
                                           (int)raw_n, (int)cap);
    else
        memcpy(msg + WIRE_HEADER_SIZE, raw, raw_n);
    wire_header h = {.magic = WIRE_MAGIC, .version = WIRE_VERSION,
                     .flags = lz4 ? WIRE_FLAG_LZ4 : 0, .producer_id = 7, .sequence = 1,
                     .event_count = count, .raw_size = (uint32_t)raw_n,
                     .payload_size = (uint32_t)pay};
    wire_header_write(msg, &h);
    fz_decode(msg, WIRE_HEADER_SIZE + pay);
    free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    switch (data[0] % 3) {
    case 0: {
        /* a copy of exactly len bytes, so ASan sees any read past it */
        uint8_t *msg = malloc(size - 1 ? size - 1 : 1);
        if (!msg) return 0;
        memcpy(msg, data + 1, size - 1);
        fz_decode(msg, size - 1);
        free(msg);
        break;
    }
    case 1: fz_wrapped(data + 1, size - 1, 0); break;
    default: fz_wrapped(data + 1, size - 1, 1); break;
    }
    return 0;
}
