/*
 * wire_reject.c — the decoder refuses every malformed batch with a reason,
 * never crashes and never leaks (run it under ASan), and repairs invalid
 * UTF-8 instead of refusing it.
 *
 * Malformed inputs are made by taking a valid uncompressed encoding and
 * patching bytes at the offsets schema/wire.md documents; LZ4 cases
 * compress a patched raw payload here and fix the header.
 */
#include <lz4.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wire.h"

/* ---- byte helpers ---- */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static uint64_t get64(const uint8_t *p) {
    return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}
static wire_str S(const char *s) { return (wire_str){s, (uint32_t)strlen(s)}; }

/* header field offsets (schema/wire.md) */
enum {
    H_MAGIC = 0, H_VERSION = 4, H_FLAGS = 6, H_PRODUCER = 8, H_SEQUENCE = 16,
    H_EVENTS = 24, H_RAW = 28, H_PAYLOAD = 32, P = WIRE_HEADER_SIZE
};
/* event record field offsets */
enum {
    E_TS = 0, E_SPAN = 8, E_PARENT = 16, E_DURATION = 24, E_AUX = 32,
    E_AGENT = 40, E_TYPE = 44, E_MESSAGE = 48, E_METADATA = 52, E_STACK = 56,
    E_COUNT = 60, E_LEVEL = 64, E_KIND = 65, E_RESERVED = 66
};

typedef struct msgbuf {
    uint8_t *p;
    size_t len;
} msgbuf;

/* noinline: keeps GCC from guessing a 1-byte object and warning about
 * the patches that follow (-Wstringop-overflow false positives) */
__attribute__((noinline)) static msgbuf mb_copy(const uint8_t *p, size_t len) {
    msgbuf m = {malloc(len ? len : 1), len};
    if (len) memcpy(m.p, p, len);
    return m;
}
__attribute__((noinline)) static void mb_resize(msgbuf *m, size_t len) {
    m->p = realloc(m->p, len ? len : 1);
    if (len > m->len) memset(m->p + m->len, 0, len - m->len);
    m->len = len;
}
/* uncompressed message: make raw_size and payload_size match the bytes */
static void mb_fix_sizes(msgbuf *m) {
    put32(m->p + H_RAW, (uint32_t)(m->len - P));
    put32(m->p + H_PAYLOAD, (uint32_t)(m->len - P));
}
/* offsets inside an uncompressed message */
static size_t strtab_bytes(const msgbuf *m) { return get32(m->p + P + 4); }
static size_t off_trace_idx(const msgbuf *m) { return P + 8 + strtab_bytes(m); }
static size_t off_event(const msgbuf *m, uint32_t i) {
    return off_trace_idx(m) + 8 + (size_t)i * WIRE_EVENT_SIZE;
}
static uint32_t nstrings(const msgbuf *m) { return get32(m->p + P); }
/* index of string s in the table, and the offset of its first byte */
static uint32_t str_index(const msgbuf *m, const char *s, size_t *data_off) {
    size_t off = P + 8;
    size_t n = strlen(s);
    for (uint32_t i = 0; i < nstrings(m); i++) {
        uint32_t len = get32(m->p + off);
        if (len == n && memcmp(m->p + off + 4, s, n) == 0) {
            if (data_off) *data_off = off + 4;
            return i;
        }
        off += 4 + len;
    }
    return WIRE_NONE;
}

/* ---- the valid batches everything starts from ---- */

#define TS0 1764280000000000ull
static const char *STATE = "{\"status\":\"busy\",\"queue\":[\"t-1\",\"t-2\"]}";

static wire_event ev(uint64_t ts, const char *agent, const char *type) {
    wire_event e;
    memset(&e, 0, sizeof e);
    e.ts_us = ts;
    e.count = 1;
    e.level = 1;
    e.agent = S(agent);
    e.type = S(type);
    return e;
}

/* events: 0 instant (empty message), 1 span begin, 2 snapshot, 3 span end */
static msgbuf encode(uint32_t nevents_extra, const wire_event *override,
                     wire_str trace, wire_str session) {
    wire_encoder enc;
    wire_encoder_init(&enc);
    wire_encoder_begin(&enc, trace, session);
    wire_event e[4];
    e[0] = ev(TS0, "agent-1", "task.started");
    e[0].message = S("");
    e[0].metadata = S("{\"a\":1}");
    e[1] = ev(TS0 + 1, "agent-1", "custom.span");
    e[1].kind = WIRE_KIND_SPAN_BEGIN;
    e[1].span_id = 5;
    e[1].message = S("hello");
    e[2] = ev(TS0 + 2, "agent-2", "agent_state");
    e[2].kind = WIRE_KIND_SNAPSHOT;
    e[2].metadata = S(STATE);
    e[2].aux = wire_checksum(STATE, strlen(STATE));
    e[3] = ev(TS0 + 3, "agent-1", "custom.span");
    e[3].kind = WIRE_KIND_SPAN_END;
    e[3].span_id = 5;
    e[3].duration_us = 100;
    e[3].stack = S("#0 frame");
    for (int i = 0; i < 4; i++) CHECK(wire_encoder_add(&enc, &e[i]) == 0);
    for (uint32_t i = 0; i < nevents_extra; i++) {
        wire_event x = ev(TS0 + 10 + i, "agent-3", "message.sent");
        x.message = S("a compressible message text, repeated");
        CHECK(wire_encoder_add(&enc, &x) == 0);
    }
    if (override) CHECK(wire_encoder_add(&enc, override) == 0);
    wire_header h;
    memset(&h, 0, sizeof h);
    h.producer_id = 0x1122334455667788ull;
    h.sequence = 9;
    const uint8_t *msg;
    size_t len;
    CHECK(wire_encoder_finish(&enc, &h, &msg, &len) == 0);
    msgbuf m = mb_copy(msg, len);
    wire_encoder_free(&enc);
    return m;
}

static msgbuf valid_raw(void) {
    msgbuf m = encode(0, NULL, S("trace-1"), S("sess-1"));
    CHECK(!(get32(m.p + H_FLAGS) & WIRE_FLAG_LZ4));
    return m;
}

/* Re-wrap an uncompressed message's payload as one LZ4 block, with
 * raw_size = the real size + raw_delta. */
static msgbuf to_lz4(const msgbuf *m, int64_t raw_delta) {
    int raw = (int)(m->len - P);
    int bound = LZ4_compressBound(raw);
    msgbuf o = {malloc(P + (size_t)bound), 0};
    memcpy(o.p, m->p, P);
    int c = LZ4_compress_default((const char *)m->p + P, (char *)o.p + P, raw, bound);
    CHECK(c > 0);
    o.len = P + (size_t)c;
    put16(o.p + H_FLAGS, (uint16_t)(get32(m->p + H_FLAGS) | WIRE_FLAG_LZ4));
    put32(o.p + H_RAW, (uint32_t)((int64_t)raw + raw_delta));
    put32(o.p + H_PAYLOAD, (uint32_t)c);
    return o;
}

/* ---- expectations ---- */

static int decode_copy(const uint8_t *p, size_t len, wire_batch *b, char *err,
                       size_t errlen) {
    /* an exact-size heap copy: ASan reports any read past the end */
    msgbuf c = mb_copy(p, len);
    int rc = wire_decode(c.p, len, b, err, errlen);
    free(c.p);
    return rc;
}

#define REJECT(m, why) expect_reject((m).p, (m).len, why, __LINE__)
static void expect_reject(const uint8_t *p, size_t len, const char *why, int line) {
    wire_batch b;
    char err[200];
    memset(err, 0, sizeof err);
    int rc = decode_copy(p, len, &b, err, sizeof err);
    CHECKF(rc == -1, "line %d: accepted, expected '%s'", line, why);
    CHECKF(err[0] != 0, "line %d: empty reason", line);
    CHECKF(!why || strstr(err, why), "line %d: reason '%s', expected '%s'", line,
           err, why);
    CHECKF(b.events == NULL && b.raw == NULL, "line %d: buffers left", line);
    if (rc == 0) wire_batch_free(&b);
    /* the same without an error buffer */
    rc = decode_copy(p, len, &b, NULL, 0);
    CHECK(rc == -1);
    if (rc == 0) wire_batch_free(&b);
}

static int expect_accept(const msgbuf *m, wire_batch *b, int line) {
    char err[200] = "";
    int rc = decode_copy(m->p, m->len, b, err, sizeof err);
    CHECKF(rc == 0, "line %d: rejected: %s", line, err);
    return rc == 0;
}

/* ---- tests ---- */

static void t_valid_baseline(void) {
    msgbuf m = valid_raw();
    wire_batch b;
    if (expect_accept(&m, &b, __LINE__)) {
        CHECK(b.hdr.event_count == 4);
        CHECK(b.repaired_strings == 0);
        wire_batch_free(&b);
    }
    /* the helpers agree with the layout */
    CHECK(m.len == off_event(&m, 4));
    CHECK(get32(m.p + H_EVENTS) == 4);
    CHECK(str_index(&m, "trace-1", NULL) == get32(m.p + off_trace_idx(&m)));
    CHECK(str_index(&m, "sess-1", NULL) == get32(m.p + off_trace_idx(&m) + 4));
    CHECK(get64(m.p + off_event(&m, 1) + E_SPAN) == 5);
    msgbuf z = to_lz4(&m, 0);
    if (expect_accept(&z, &b, __LINE__)) wire_batch_free(&b);
    free(z.p);
    free(m.p);
}

static void t_truncations(void) {
    msgbuf m = valid_raw();
    for (size_t l = 0; l < m.len; l++) expect_reject(m.p, l, NULL, __LINE__);
    msgbuf z = encode(20, NULL, S("trace-1"), S("sess-1"));
    CHECK(get32(z.p + H_FLAGS) & WIRE_FLAG_LZ4);
    for (size_t l = 0; l < z.len; l++) expect_reject(z.p, l, NULL, __LINE__);
    free(z.p);
    free(m.p);
}

static void t_header(void) {
    msgbuf m = valid_raw(), x;
#define PATCH(stmt, why)                                                       \
    do {                                                                       \
        x = mb_copy(m.p, m.len);                                               \
        stmt;                                                                  \
        REJECT(x, why);                                                        \
        free(x.p);                                                             \
    } while (0)
    PATCH(x.p[H_MAGIC] ^= 1, "magic");
    PATCH(put32(x.p + H_MAGIC, 0), "magic");
    PATCH(put16(x.p + H_VERSION, 0), "version");
    PATCH(put16(x.p + H_VERSION, 2), "version");
    PATCH(put16(x.p + H_VERSION, 0x0100), "version");
    PATCH(put16(x.p + H_FLAGS, 0x0004), "flags");
    PATCH(put16(x.p + H_FLAGS, 0x8000), "flags");
    PATCH(put16(x.p + H_FLAGS, 0xFFFF), "flags");
    PATCH(put64(x.p + H_PRODUCER, 0), "producer id 0");
    PATCH(put64(x.p + H_SEQUENCE, 0), "sequence 0");
    PATCH(put32(x.p + H_EVENTS, WIRE_MAX_EVENTS + 1), "over limit");
    PATCH(put32(x.p + H_EVENTS, 0xFFFFFFFFu), "over limit");
    PATCH(put32(x.p + H_RAW, WIRE_MAX_RAW + 1), "raw size");
    PATCH((put16(x.p + H_FLAGS, WIRE_FLAG_LZ4), put32(x.p + H_RAW, 0xFFFFFFFFu)),
          "raw size");
    /* payload_size disagrees with the bytes present */
    PATCH(put32(x.p + H_PAYLOAD, get32(x.p + H_PAYLOAD) + 1), "payload size");
    PATCH(put32(x.p + H_PAYLOAD, get32(x.p + H_PAYLOAD) - 1), "payload size");
    PATCH(put32(x.p + H_PAYLOAD, 0), "payload size");
    PATCH(mb_resize(&x, x.len + 1), "payload size");
    /* uncompressed: raw_size must equal payload_size */
    PATCH(put32(x.p + H_RAW, get32(x.p + H_RAW) + 1), "mismatch");
    PATCH(put32(x.p + H_RAW, get32(x.p + H_RAW) - 1), "mismatch");
    /* a header alone with nothing after it */
    PATCH((mb_resize(&x, P), mb_fix_sizes(&x)), "payload too short");
    PATCH((mb_resize(&x, P + 7), mb_fix_sizes(&x)), "payload too short");
    free(m.p);
}

static void t_lz4(void) {
    msgbuf m = valid_raw(), x;
    /* a block that decompresses beyond raw_size */
    x = to_lz4(&m, -1);
    REJECT(x, "LZ4");
    free(x.p);
    x = to_lz4(&m, -(int64_t)(m.len - P) / 2);
    REJECT(x, "LZ4");
    free(x.p);
    /* ... or to less than raw_size */
    x = to_lz4(&m, +1);
    REJECT(x, "LZ4");
    free(x.p);
    x = to_lz4(&m, 4096);
    REJECT(x, "LZ4");
    free(x.p);
    /* raw_size 0 */
    x = to_lz4(&m, -(int64_t)(m.len - P));
    REJECT(x, NULL);
    free(x.p);
    /* garbage blocks */
    uint8_t garbage[300];
    uint64_t r = 0x9E3779B97F4A7C15ull;
    for (int k = 0; k < 50; k++) {
        for (size_t i = 0; i < sizeof garbage; i++) {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            garbage[i] = (uint8_t)(r >> 24);
        }
        if (k == 0) memset(garbage, 0xFF, sizeof garbage); /* endless lengths */
        if (k == 1) memset(garbage, 0x00, sizeof garbage);
        size_t glen = 1 + (size_t)k * 5;
        x = mb_copy(m.p, P);
        mb_resize(&x, P + glen);
        memcpy(x.p + P, garbage, glen);
        put16(x.p + H_FLAGS, WIRE_FLAG_LZ4);
        put32(x.p + H_PAYLOAD, (uint32_t)glen);
        put32(x.p + H_RAW, 1000);
        REJECT(x, NULL);
        free(x.p);
    }
    /* a valid block whose content is invalid: checked after decompression */
    x = mb_copy(m.p, m.len);
    x.p[off_event(&x, 2) + E_LEVEL] = 9;
    msgbuf z = to_lz4(&x, 0);
    REJECT(z, "level");
    free(z.p);
    free(x.p);
    x = mb_copy(m.p, m.len);
    put32(x.p + P + 4, (uint32_t)(x.len - P)); /* string table overruns */
    z = to_lz4(&x, 0);
    REJECT(z, "overruns payload");
    free(z.p);
    free(x.p);
    x = mb_copy(m.p, m.len);
    put32(x.p + H_EVENTS, 5);
    z = to_lz4(&x, 0);
    REJECT(z, "events need");
    free(z.p);
    free(x.p);
    free(m.p);
}

static void t_string_table(void) {
    msgbuf m = valid_raw(), x;
    uint32_t n = nstrings(&m);
    uint32_t bytes = (uint32_t)strtab_bytes(&m);
    CHECK(n == 12);
    /* count cannot fit in the table bytes */
    PATCH(put32(x.p + P, bytes / 4 + 1), "impossible");
    PATCH(put32(x.p + P, 0xFFFFFFFFu), "impossible");
    /* one more string than there is: the next runs into the end */
    PATCH(put32(x.p + P, n + 1), "string 12 truncated");
    /* one fewer: stray bytes are left */
    PATCH(put32(x.p + P, n - 1), "stray bytes");
    PATCH(put32(x.p + P, 0), "stray bytes");
    /* table bytes beyond the payload */
    PATCH(put32(x.p + P + 4, (uint32_t)(x.len - P - 8) + 1), "overruns payload");
    PATCH(put32(x.p + P + 4, 0xFFFFFFFFu), "overruns payload");
    PATCH(put32(x.p + P + 4, 0xFFFFFFF8u), "overruns payload");
    /* table bytes short of the strings: the last one overruns */
    PATCH(put32(x.p + P + 4, bytes - 1), "overruns");
    /* a string length that overruns the table */
    PATCH(put32(x.p + P + 8, 0xFFFFFFF0u), "overruns");
    PATCH(put32(x.p + P + 8, bytes), "overruns");
    PATCH(put32(x.p + P + 8, get32(x.p + P + 8) + 1), "string");
    /* a string containing NUL */
    size_t at;
    str_index(&m, "hello", &at);
    PATCH(x.p[at + 2] = 0, "contains NUL");
    str_index(&m, "agent-1", &at);
    PATCH(x.p[at] = 0, "contains NUL");
    /* table leaves no room for trace/session indexes */
    PATCH((mb_resize(&x, off_trace_idx(&m) + 4), mb_fix_sizes(&x),
           put32(x.p + H_EVENTS, 0)),
          "trace/session missing");
    /* a string longer than WIRE_MAX_STRING even though the bytes are there */
    {
        uint32_t big = WIRE_MAX_STRING + 1;
        x = mb_copy(m.p, P);
        mb_resize(&x, P + 8 + 4 + 1 + 4 + 1 + 4 + big + 8);
        uint8_t *q = x.p + P;
        put32(q, 3);
        put32(q + 4, 4 + 1 + 4 + 1 + 4 + big);
        put32(q + 8, 1);
        q[12] = 't';
        put32(q + 13, 1);
        q[17] = 's';
        put32(q + 18, big);
        memset(q + 22, 'x', big);
        put32(q + 22 + big, 0);
        put32(q + 26 + big, 1);
        put32(x.p + H_EVENTS, 0);
        mb_fix_sizes(&x);
        REJECT(x, "string 2 length");
        /* and the same at exactly the limit is fine */
        put32(q + 4, 4 + 1 + 4 + 1 + 4 + big - 1);
        put32(q + 18, big - 1);
        memmove(q + 22 + big - 1, q + 22 + big, 8);
        mb_resize(&x, x.len - 1);
        mb_fix_sizes(&x);
        wire_batch b;
        if (expect_accept(&x, &b, __LINE__)) wire_batch_free(&b);
        free(x.p);
    }
    free(m.p);
}

static void t_indexes(void) {
    msgbuf m = valid_raw(), x;
    uint32_t n = nstrings(&m);
    uint32_t empty = str_index(&m, "", NULL);
    CHECK(empty != WIRE_NONE);
    size_t e0 = off_event(&m, 0), e3 = off_event(&m, 3), t = off_trace_idx(&m);
    /* out of range, for every string field */
    int fields[5] = {E_AGENT, E_TYPE, E_MESSAGE, E_METADATA, E_STACK};
    for (int f = 0; f < 5; f++) {
        PATCH(put32(x.p + e0 + (size_t)fields[f], n), "bad string index");
        PATCH(put32(x.p + e3 + (size_t)fields[f], 0x7FFFFFFFu), "bad string index");
        PATCH(put32(x.p + e3 + (size_t)fields[f], WIRE_NONE - 1), "bad string index");
    }
    /* required agent and type: absent or empty */
    PATCH(put32(x.p + e0 + E_AGENT, WIRE_NONE), "bad string index");
    PATCH(put32(x.p + e0 + E_TYPE, WIRE_NONE), "bad string index");
    PATCH(put32(x.p + e3 + E_AGENT, empty), "bad string index");
    PATCH(put32(x.p + e3 + E_TYPE, empty), "bad string index");
    /* batch trace and session: out of range, absent, empty */
    PATCH(put32(x.p + t, n), "trace/session index");
    PATCH(put32(x.p + t + 4, n), "trace/session index");
    PATCH(put32(x.p + t, WIRE_NONE), "trace/session index");
    PATCH(put32(x.p + t + 4, WIRE_NONE), "trace/session index");
    PATCH(put32(x.p + t, empty), "trace/session index");
    PATCH(put32(x.p + t + 4, empty), "trace/session index");
    /* optional strings may be absent or empty: accepted */
    x = mb_copy(m.p, m.len);
    put32(x.p + e3 + E_STACK, WIRE_NONE);
    put32(x.p + e3 + E_MESSAGE, empty);
    put32(x.p + e0 + E_METADATA, WIRE_NONE);
    wire_batch b;
    if (expect_accept(&x, &b, __LINE__)) {
        CHECK(b.events[3].stack.p == NULL && b.events[3].message.p != NULL &&
              b.events[3].message.n == 0);
        wire_batch_free(&b);
    }
    free(x.p);
    free(m.p);
}

static void t_event_fields(void) {
    msgbuf m = valid_raw(), x;
    for (uint32_t i = 0; i < 4; i++) {
        size_t e = off_event(&m, i);
        PATCH(x.p[e + E_LEVEL] = 4, "level");
        PATCH(x.p[e + E_LEVEL] = 255, "level");
        PATCH(x.p[e + E_KIND] = 4, "kind");
        PATCH(x.p[e + E_KIND] = 255, "kind");
        PATCH(put32(x.p + e + E_COUNT, 0), "count 0");
        PATCH(put64(x.p + e + E_TS, 0), "timestamp");
        PATCH(put64(x.p + e + E_TS, WIRE_MIN_TS_US - 1), "timestamp");
        PATCH(put64(x.p + e + E_TS, WIRE_MAX_TS_US + 1), "timestamp");
        PATCH(put64(x.p + e + E_TS, UINT64_MAX), "timestamp");
        PATCH(put64(x.p + e + E_DURATION, WIRE_MAX_TS_US + 1), "duration");
        PATCH(x.p[e + E_RESERVED] = 1, "reserved");
        PATCH(x.p[e + E_RESERVED + 1] = 0x80, "reserved");
        PATCH(x.p[e + E_RESERVED + 2] = 1, "reserved");
        PATCH(x.p[e + E_RESERVED + 5] = 1, "reserved");
        /* the error names the event */
        char which[32];
        snprintf(which, sizeof which, "event %u", i);
        PATCH(x.p[e + E_LEVEL] = 7, which);
    }
    /* spans without an id */
    PATCH(put64(x.p + off_event(&m, 1) + E_SPAN, 0), "span without id");
    PATCH(put64(x.p + off_event(&m, 3) + E_SPAN, 0), "span without id");
    PATCH((put64(x.p + off_event(&m, 0) + E_SPAN, 0), x.p[off_event(&m, 0) + E_KIND] = 1),
          "span without id");
    /* snapshot checksum: wrong, or no metadata to check */
    size_t s = off_event(&m, 2);
    PATCH(put64(x.p + s + E_AUX, get64(x.p + s + E_AUX) + 1), "checksum");
    PATCH(put64(x.p + s + E_AUX, 0), "checksum");
    PATCH(put32(x.p + s + E_METADATA, WIRE_NONE), "checksum");
    PATCH(put32(x.p + s + E_METADATA, str_index(&m, "{\"a\":1}", NULL)), "checksum");
    /* an event turned into a snapshot without a matching aux */
    PATCH(x.p[off_event(&m, 0) + E_KIND] = WIRE_KIND_SNAPSHOT, "checksum");
    /* a state byte changed after the checksum was taken */
    size_t at;
    str_index(&m, STATE, &at);
    PATCH(x.p[at + 3] ^= 0x01, "checksum");
    free(m.p);
}

static void t_name_lengths(void) {
    char n257[WIRE_MAX_NAME + 2], n256[WIRE_MAX_NAME + 1];
    memset(n257, 'a', WIRE_MAX_NAME + 1);
    n257[WIRE_MAX_NAME + 1] = 0;
    memcpy(n256, n257, WIRE_MAX_NAME);
    n256[WIRE_MAX_NAME] = 0;
    /* the encoder does not police names: the decoder does */
    wire_event e = ev(TS0 + 50, n257, "custom.x");
    msgbuf x = encode(0, &e, S("trace-1"), S("sess-1"));
    REJECT(x, "agent or type name too long");
    free(x.p);
    e = ev(TS0 + 50, "agent", n257);
    x = encode(0, &e, S("trace-1"), S("sess-1"));
    REJECT(x, "agent or type name too long");
    free(x.p);
    /* agent 257 in an LZ4 batch */
    e = ev(TS0 + 50, n257, "custom.x");
    x = encode(20, &e, S("trace-1"), S("sess-1"));
    CHECK(get32(x.p + H_FLAGS) & WIRE_FLAG_LZ4);
    REJECT(x, "too long");
    free(x.p);
    x = encode(0, NULL, S(n257), S("sess-1"));
    REJECT(x, "trace or session name too long");
    free(x.p);
    x = encode(0, NULL, S("trace-1"), S(n257));
    REJECT(x, "trace or session name too long");
    free(x.p);
    /* 256 is allowed everywhere */
    e = ev(TS0 + 50, n256, n256);
    x = encode(0, &e, S(n256), S(n256));
    wire_batch b;
    if (expect_accept(&x, &b, __LINE__)) wire_batch_free(&b);
    free(x.p);
}

static void t_event_bytes(void) {
    msgbuf m = valid_raw(), x;
    PATCH(put32(x.p + H_EVENTS, 5), "events need");
    PATCH(put32(x.p + H_EVENTS, 3), "events need");
    PATCH(put32(x.p + H_EVENTS, 0), "events need");
    PATCH(put32(x.p + H_EVENTS, WIRE_MAX_EVENTS), "events need");
    /* bytes added or removed, sizes kept consistent */
    PATCH((mb_resize(&x, x.len + 8), mb_fix_sizes(&x)), "events need");
    PATCH((mb_resize(&x, x.len + WIRE_EVENT_SIZE - 1), mb_fix_sizes(&x)), "events need");
    PATCH((mb_resize(&x, x.len - 1), mb_fix_sizes(&x)), "events need");
    PATCH((mb_resize(&x, x.len - WIRE_EVENT_SIZE), mb_fix_sizes(&x)), "events need");
    /* one whole event removed and the count fixed: accepted */
    x = mb_copy(m.p, m.len);
    mb_resize(&x, x.len - WIRE_EVENT_SIZE);
    mb_fix_sizes(&x);
    put32(x.p + H_EVENTS, 3);
    wire_batch b;
    if (expect_accept(&x, &b, __LINE__)) wire_batch_free(&b);
    free(x.p);
    free(m.p);
}

static void t_utf8_repair(void) {
    static const struct {
        const char *bytes; /* replaces "hello" (5 bytes) */
        const char *want;
        uint32_t repaired;
    } cases[] = {
        {"h\xffllo", "h?llo", 1},
        {"\xc0\x80llo", "??llo", 2},         /* overlong NUL */
        {"\xe0\x80\x80lo", "???lo", 3},      /* overlong 3-byte */
        {"\xed\xa0\x80lo", "???lo", 3},      /* surrogate */
        {"\xf4\x90\x80\x80o", "????o", 4},   /* above U+10FFFF */
        {"hell\xc3", "hell?", 1},            /* truncated at the end */
        {"h\xe2\x82o!", "h??o!", 2},         /* truncated in the middle */
        {"\x80\xbf\xfe\xf8!", "\?\?\?\?!", 4},   /* stray continuation, bad leads */
        {"h\xc3\xa9lo", "h\xc3\xa9lo", 0},   /* valid: é */
        {"\xf0\x9f\x9a\x80o", "\xf0\x9f\x9a\x80o", 0}, /* valid: rocket */
    };
    msgbuf m = valid_raw();
    size_t at;
    CHECK(str_index(&m, "hello", &at) != WIRE_NONE);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        msgbuf x = mb_copy(m.p, m.len);
        memcpy(x.p + at, cases[k].bytes, 5);
        wire_batch b;
        if (!expect_accept(&x, &b, __LINE__)) {
            free(x.p);
            continue;
        }
        CHECKF(b.repaired_strings == cases[k].repaired, "case %zu: %u repaired", k,
               b.repaired_strings);
        CHECKF(b.events[1].message.n == 5 &&
                   memcmp(b.events[1].message.p, cases[k].want, 5) == 0,
               "case %zu: %.5s", k, b.events[1].message.p);
        wire_batch_free(&b);
        free(x.p);
    }
    /* in a required name too */
    str_index(&m, "agent-2", &at);
    msgbuf x = mb_copy(m.p, m.len);
    x.p[at + 5] = (char)0xC1;
    wire_batch b;
    if (expect_accept(&x, &b, __LINE__)) {
        CHECK(b.repaired_strings == 1);
        CHECK(b.events[2].agent.n == 7 && memcmp(b.events[2].agent.p, "agent?2", 7) == 0);
        wire_batch_free(&b);
    }
    free(x.p);
    /* and through LZ4 */
    x = mb_copy(m.p, m.len);
    str_index(&m, "hello", &at);
    x.p[at] = (char)0xFF;
    msgbuf z = to_lz4(&x, 0);
    if (expect_accept(&z, &b, __LINE__)) {
        CHECK(b.repaired_strings == 1);
        CHECK(b.events[1].message.p[0] == '?');
        wire_batch_free(&b);
    }
    free(z.p);
    free(x.p);
    free(m.p);
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)((rng >> 32) % n);
}

static void t_random_flips(void) {
    msgbuf base[2] = {valid_raw(), encode(30, NULL, S("trace-1"), S("sess-1"))};
    CHECK(get32(base[1].p + H_FLAGS) & WIRE_FLAG_LZ4);
    int accepted = 0, rejected = 0, bad = 0;
    for (int it = 0; it < 2000; it++) {
        const msgbuf *src = &base[it & 1];
        msgbuf x = mb_copy(src->p, src->len);
        int flips = 1 + (int)rnd(6);
        for (int k = 0; k < flips; k++) {
            /* half the time aim past the header, where fewer checks are
             * cheap and the interesting parsing happens */
            size_t pos = (it & 2) ? P + rnd((uint32_t)(x.len - P)) : rnd((uint32_t)x.len);
            x.p[pos] ^= (uint8_t)(1 + rnd(255));
        }
        if (it % 7 == 0) x.len -= rnd((uint32_t)(x.len / 4)); /* and cut */
        wire_batch b;
        char err[200] = "";
        int rc = decode_copy(x.p, x.len, &b, err, sizeof err);
        if (rc == 0) {
            accepted++;
            /* whatever was accepted obeys the rules */
            for (uint32_t i = 0; i < b.hdr.event_count; i++) {
                const wire_event *e = &b.events[i];
                if (e->level > 3 || e->kind > 3 || !e->count || !e->agent.n ||
                    !e->type.n || e->agent.n > WIRE_MAX_NAME ||
                    e->ts_us < WIRE_MIN_TS_US || e->ts_us > WIRE_MAX_TS_US)
                    bad++;
            }
            wire_batch_free(&b);
        } else {
            rejected++;
            if (!err[0]) bad++;
        }
        free(x.p);
    }
    CHECKF(bad == 0, "%d rule violations", bad);
    CHECK(accepted + rejected == 2000);
    CHECKF(rejected > 1000, "%d rejected", rejected);
    free(base[0].p);
    free(base[1].p);
}

int main(void) {
    check_run("valid baseline", t_valid_baseline);
    check_run("truncations", t_truncations);
    check_run("header", t_header);
    check_run("lz4", t_lz4);
    check_run("string table", t_string_table);
    check_run("indexes", t_indexes);
    check_run("event fields", t_event_fields);
    check_run("name lengths", t_name_lengths);
    check_run("event bytes", t_event_bytes);
    check_run("utf8 repair", t_utf8_repair);
    check_run("random flips", t_random_flips);
    return check_main("wire_reject");
}
