/*
 * wire_roundtrip.c — every batch the encoder produces decodes back to
 * exactly what went in (schema/wire.md).
 */
#include <lz4.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "wire.h"

/* ---- helpers ---- */

static wire_str S(const char *s) { return (wire_str){s, (uint32_t)strlen(s)}; }
static const wire_str ABSENT = {NULL, 0};

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static int str_eq(wire_str a, wire_str b) {
    if (!a.p || !b.p) return !a.p && !b.p;
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static int event_eq(const wire_event *a, const wire_event *b) {
    uint32_t ca = a->count ? a->count : 1; /* the encoder turns 0 into 1 */
    return a->ts_us == b->ts_us && a->span_id == b->span_id &&
           a->parent_id == b->parent_id && a->duration_us == b->duration_us &&
           a->aux == b->aux && ca == b->count && a->level == b->level &&
           a->kind == b->kind && str_eq(a->agent, b->agent) &&
           str_eq(a->type, b->type) && str_eq(a->message, b->message) &&
           str_eq(a->metadata, b->metadata) && str_eq(a->stack, b->stack);
}

static wire_event basic_event(uint64_t ts) {
    wire_event e;
    memset(&e, 0, sizeof e);
    e.ts_us = ts;
    e.count = 1;
    e.level = 1;
    e.kind = WIRE_KIND_EVENT;
    e.agent = S("coder-1");
    e.type = S("task.completed");
    return e;
}

#define TS0 1764280000000000ull

/* Encode evs[0..n) under trace/session with the given header fields,
 * decode, compare everything. Returns the message length (0 on failure);
 * *flags_out gets the decoded flags. The decoded batch is left in *out
 * (caller frees) when out != NULL. */
static size_t roundtrip(const wire_event *evs, uint32_t n, wire_str trace,
                        wire_str session, const wire_header *hin,
                        wire_batch *out) {
    wire_encoder enc;
    wire_encoder_init(&enc);
    size_t result = 0;
    CHECK(wire_encoder_begin(&enc, trace, session) == 0);
    for (uint32_t i = 0; i < n; i++) {
        int rc = wire_encoder_add(&enc, &evs[i]);
        CHECKF(rc == 0, "add event %u", i);
    }
    CHECK(wire_encoder_count(&enc) == n);
    wire_header h = *hin;
    const uint8_t *msg = NULL;
    size_t len = 0;
    CHECK(wire_encoder_finish(&enc, &h, &msg, &len) == 0);
    CHECK(msg != NULL && len >= WIRE_HEADER_SIZE);
    /* the header the encoder filled in */
    CHECK(h.magic == WIRE_MAGIC && h.version == WIRE_VERSION);
    CHECK(h.event_count == n);
    CHECK(len == WIRE_HEADER_SIZE + (size_t)h.payload_size);
    if (h.flags & WIRE_FLAG_LZ4) CHECK(h.payload_size < h.raw_size);
    else CHECK(h.payload_size == h.raw_size);
    CHECK((h.flags & WIRE_FLAG_FINAL) == (hin->flags & WIRE_FLAG_FINAL));

    /* decode from an exact-size heap copy so ASan sees any overread */
    uint8_t *copy = malloc(len);
    memcpy(copy, msg, len);
    wire_batch b;
    char err[160] = "";
    int rc = wire_decode(copy, len, &b, err, sizeof err);
    CHECKF(rc == 0, "decode: %s", err);
    if (rc == 0) {
        CHECK(b.hdr.magic == WIRE_MAGIC && b.hdr.version == WIRE_VERSION);
        CHECK(b.hdr.flags == h.flags);
        CHECK(b.hdr.producer_id == hin->producer_id);
        CHECK(b.hdr.sequence == hin->sequence);
        CHECK(b.hdr.event_count == n);
        CHECK(b.hdr.raw_size == h.raw_size);
        CHECK(b.hdr.payload_size == h.payload_size);
        CHECK(b.hdr.dropped_ring_full == hin->dropped_ring_full);
        CHECK(b.hdr.dropped_transport == hin->dropped_transport);
        CHECK(b.hdr.dropped_other == hin->dropped_other);
        CHECK(str_eq(b.trace, trace));
        CHECK(str_eq(b.session, session));
        CHECK(b.repaired_strings == 0);
        uint32_t bad = 0;
        for (uint32_t i = 0; i < n; i++)
            if (!event_eq(&evs[i], &b.events[i])) {
                if (!bad) CHECKF(0, "event %u differs after decode", i);
                bad++;
            }
        CHECKF(bad == 0, "%u events differ", bad);
        result = len;
        if (out) *out = b;
        else wire_batch_free(&b);
    }
    free(copy);
    wire_encoder_free(&enc);
    return result;
}

static wire_header hdr_with(uint64_t producer, uint64_t seq, uint16_t flags) {
    wire_header h;
    memset(&h, 0, sizeof h);
    h.producer_id = producer;
    h.sequence = seq;
    h.flags = flags;
    return h;
}

/* ---- tests ---- */

static void t_empty_batch(void) {
    wire_header h = hdr_with(0x1234567890abcdefull, 1, 0);
    wire_batch b;
    size_t len = roundtrip(NULL, 0, S("swarm-1"), S("sess-1"), &h, &b);
    CHECK(len > 0);
    if (!len) return;
    CHECK(!(b.hdr.flags & WIRE_FLAG_LZ4));
    /* 2 strings, trace idx 0, session idx 1, no events */
    CHECK(get32(b.raw) == 2);
    CHECK(b.hdr.raw_size == 8 + (4 + 7) + (4 + 6) + 8);
    CHECK(get32(b.raw + 8 + 11 + 10) == 0 && get32(b.raw + 8 + 11 + 10 + 4) == 1);
    wire_batch_free(&b);
}

static void t_same_trace_and_session(void) {
    /* the session usually defaults to the trace id: stored once */
    wire_header h = hdr_with(7, 3, 0);
    wire_batch b;
    size_t len = roundtrip(NULL, 0, S("swarm-x"), S("swarm-x"), &h, &b);
    CHECK(len > 0);
    if (!len) return;
    CHECK(get32(b.raw) == 1);
    CHECK(b.trace.p == b.session.p);
    wire_batch_free(&b);
}

static void t_one_event_every_field(void) {
    wire_event e;
    memset(&e, 0, sizeof e);
    e.ts_us = TS0 + 123456;
    e.span_id = 0x0102030405060708ull;
    e.parent_id = 0x1112131415161718ull;
    e.duration_us = 987654321;
    e.aux = 0xFEDCBA9876543210ull;
    e.count = 42;
    e.level = 3;
    e.kind = WIRE_KIND_SPAN_END;
    e.agent = S("reviewer-7");
    e.type = S("task.failed");
    e.message = S("tests failed: 3 of 120");
    e.metadata = S("{\"taskId\":\"t-12\",\"error\":\"assert\"}");
    e.stack = S("#0 main at x.c:1\n#1 start");
    wire_header h = hdr_with(UINT64_MAX, UINT64_MAX, 0);
    h.dropped_ring_full = 1;
    h.dropped_transport = 2;
    h.dropped_other = 3;
    wire_batch b;
    size_t len = roundtrip(&e, 1, S("swarm-a"), S("session-a"), &h, &b);
    CHECK(len > 0);
    if (!len) return;
    CHECK(!(b.hdr.flags & WIRE_FLAG_LZ4));
    CHECK(b.events[0].count == 42);
    CHECK(b.events[0].kind == WIRE_KIND_SPAN_END);
    CHECK(b.events[0].message.n == strlen("tests failed: 3 of 120"));
    wire_batch_free(&b);
}

static void t_absent_and_empty(void) {
    wire_event e[4];
    for (int i = 0; i < 4; i++) e[i] = basic_event(TS0 + (uint64_t)i);
    /* 0: all optional strings absent */
    e[0].message = e[0].metadata = e[0].stack = ABSENT;
    /* 1: empty message, absent metadata, empty stack */
    e[1].message = S("");
    e[1].stack = S("");
    /* 2: only metadata */
    e[2].metadata = S("{}");
    /* 3: count 0 is sent as 1 */
    e[3].count = 0;
    e[3].message = S("x");
    wire_header h = hdr_with(99, 5, 0);
    wire_batch b;
    size_t len = roundtrip(e, 4, S("t"), S("s"), &h, &b);
    CHECK(len > 0);
    if (!len) return;
    CHECK(b.events[0].message.p == NULL && b.events[0].metadata.p == NULL &&
          b.events[0].stack.p == NULL);
    CHECK(b.events[1].message.p != NULL && b.events[1].message.n == 0);
    CHECK(b.events[1].metadata.p == NULL);
    CHECK(b.events[1].stack.p != NULL && b.events[1].stack.n == 0);
    CHECK(b.events[2].message.p == NULL && b.events[2].metadata.n == 2);
    CHECK(b.events[3].count == 1);
    /* the empty string is interned once for both uses */
    CHECK(b.events[1].message.p == b.events[1].stack.p);
    wire_batch_free(&b);
}

static void t_all_kinds_levels(void) {
    wire_event e[8];
    const char *state = "{\"mood\":\"busy\",\"queue\":[1,2,3]}";
    for (int i = 0; i < 8; i++) {
        e[i] = basic_event(TS0 + (uint64_t)i);
        e[i].level = (uint8_t)(i % 4);
    }
    e[1].kind = WIRE_KIND_SPAN_BEGIN;
    e[1].span_id = 77;
    e[2].kind = WIRE_KIND_SPAN_END;
    e[2].span_id = 77;
    e[2].duration_us = 1500;
    e[3].kind = WIRE_KIND_SNAPSHOT;
    e[3].type = S("agent_state");
    e[3].metadata = S(state);
    e[3].aux = wire_checksum(state, strlen(state));
    e[4].parent_id = 77;
    /* timestamps and durations at the edges of the accepted range */
    e[5].ts_us = WIRE_MIN_TS_US;
    e[6].ts_us = WIRE_MAX_TS_US;
    e[6].duration_us = WIRE_MAX_TS_US;
    e[7].count = UINT32_MAX;
    wire_header h = hdr_with(1, 1, 0);
    CHECK(roundtrip(e, 8, S("t"), S("s"), &h, NULL) > 0);
}

static void t_nine_uncompressed_ten_compressed(void) {
    wire_event e[WIRE_LZ4_MIN_EVENTS];
    for (int i = 0; i < WIRE_LZ4_MIN_EVENTS; i++) {
        e[i] = basic_event(TS0 + (uint64_t)i * 1000);
        e[i].message = S("the same compressible message, again and again");
    }
    wire_header h = hdr_with(5, 10, 0);
    wire_batch b;
    size_t len = roundtrip(e, WIRE_LZ4_MIN_EVENTS - 1, S("t"), S("s"), &h, &b);
    CHECK(len > 0);
    if (len) {
        CHECK(!(b.hdr.flags & WIRE_FLAG_LZ4));
        CHECK(b.hdr.payload_size == b.hdr.raw_size);
        wire_batch_free(&b);
    }
    len = roundtrip(e, WIRE_LZ4_MIN_EVENTS, S("t"), S("s"), &h, &b);
    CHECK(len > 0);
    if (len) {
        CHECK(b.hdr.flags & WIRE_FLAG_LZ4);
        CHECK(b.hdr.payload_size < b.hdr.raw_size);
        CHECK(b.hdr.event_count == WIRE_LZ4_MIN_EVENTS);
        wire_batch_free(&b);
    }
}

static void t_lz4_only_if_smaller(void) {
    /* 12 events (enough for LZ4) with large random printable-ASCII
     * strings, which LZ4 can hardly shrink */
    enum { N = 12, L = 2000 };
    static char buf[N][L + 1];
    uint64_t x = 88172645463325252ull;
    wire_event e[N];
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < L; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i][k] = (char)(33 + (x >> 40) % 94);
        }
        buf[i][L] = 0;
        e[i] = basic_event(TS0 + (uint64_t)i);
        e[i].metadata = S(buf[i]);
    }
    wire_header h = hdr_with(5, 11, 0);
    wire_batch b;
    size_t len = roundtrip(e, N, S("t"), S("s"), &h, &b);
    CHECK(len > 0);
    if (!len) return;
    /* whichever the encoder chose, the rule holds */
    if (b.hdr.flags & WIRE_FLAG_LZ4) CHECK(b.hdr.payload_size < b.hdr.raw_size);
    else CHECK(b.hdr.payload_size == b.hdr.raw_size);
    /* and the choice matches what LZ4 achieves on this raw payload */
    int bound = LZ4_compressBound((int)b.hdr.raw_size);
    char *tmp = malloc((size_t)bound);
    int c = LZ4_compress_default((const char *)b.raw, tmp, (int)b.hdr.raw_size, bound);
    CHECK(c > 0);
    if ((uint32_t)c >= b.hdr.raw_size) CHECK(!(b.hdr.flags & WIRE_FLAG_LZ4));
    else CHECK(b.hdr.flags & WIRE_FLAG_LZ4);
    free(tmp);
    wire_batch_free(&b);
}

static void t_dedup_5000(void) {
    enum { N = 5000, AGENTS = 40, TYPES = 12, MSGS = 300 };
    static char agents[AGENTS][32], types[TYPES][32], msgs[MSGS][64];
    for (int i = 0; i < AGENTS; i++) snprintf(agents[i], 32, "agent-%02d", i);
    for (int i = 0; i < TYPES; i++) snprintf(types[i], 32, "custom.type%d", i);
    for (int i = 0; i < MSGS; i++)
        snprintf(msgs[i], 64, "message number %d with some padding text", i);
    const char *meta = "{\"tokens\":512,\"model\":\"some-model-name\"}";
    wire_event *e = calloc(N, sizeof *e);
    size_t naive = 0;
    for (int i = 0; i < N; i++) {
        e[i] = basic_event(TS0 + (uint64_t)i);
        e[i].agent = S(agents[i % AGENTS]);
        e[i].type = S(types[(i / 3) % TYPES]);
        e[i].message = S(msgs[(i * 7) % MSGS]);
        e[i].metadata = S(meta);
        if (i % 100 == 0) e[i].stack = S("#0 frame");
        naive += 4 + e[i].agent.n + 4 + e[i].type.n + 4 + e[i].message.n + 4 +
                 e[i].metadata.n + (e[i].stack.p ? 4 + e[i].stack.n : 0);
    }
    naive += 8 + 8 + (size_t)N * WIRE_EVENT_SIZE;
    wire_header h = hdr_with(3, 2, 0);
    wire_batch b;
    size_t len = roundtrip(e, N, S("swarm-dedup"), S("sess"), &h, &b);
    CHECK(len > 0);
    if (len) {
        /* distinct strings: trace, session, agents, types, messages,
         * metadata, stack */
        uint32_t distinct = 2 + AGENTS + TYPES + MSGS + 1 + 1;
        CHECKF(get32(b.raw) == distinct, "%u strings, expected %u",
               get32(b.raw), distinct);
        size_t strings_bytes = get32(b.raw + 4);
        CHECK(b.hdr.raw_size == 8 + strings_bytes + 8 + (size_t)N * WIRE_EVENT_SIZE);
        CHECKF(strings_bytes * 20 < naive - 16 - (size_t)N * WIRE_EVENT_SIZE,
               "string table %zu bytes vs naive %zu", strings_bytes, naive);
        CHECK(b.hdr.raw_size < naive);
        CHECK(b.hdr.flags & WIRE_FLAG_LZ4);
        CHECKF(b.hdr.payload_size * 4 < naive, "payload %u vs naive %zu",
               b.hdr.payload_size, naive);
        /* equal strings decode to the same bytes of the table */
        CHECK(b.events[0].agent.p == b.events[AGENTS].agent.p);
        CHECK(b.events[0].metadata.p == b.events[N - 1].metadata.p);
        wire_batch_free(&b);
    }
    free(e);
}

static void t_utf8_text(void) {
    wire_event e = basic_event(TS0);
    e.agent = S("agent-\xc3\xa9\xe4\xb8\x96");                /* é 世 */
    e.message = S("rocket \xf0\x9f\x9a\x80 done \xe2\x9c\x93"); /* 🚀 ✓ */
    e.metadata = S("{\"k\":\"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\"}");
    e.stack = S("\xef\xbf\xbd \xf4\x8f\xbf\xbf"); /* U+FFFD, U+10FFFF */
    wire_header h = hdr_with(4, 4, 0);
    wire_batch b;
    size_t len = roundtrip(&e, 1, S("tr\xc3\xa4" "ce"), S("s"), &h, &b);
    CHECK(len > 0);
    if (len) {
        CHECK(b.repaired_strings == 0);
        wire_batch_free(&b);
    }
}

static void t_final_flag_and_drops(void) {
    wire_event e[20];
    for (int i = 0; i < 20; i++) e[i] = basic_event(TS0 + (uint64_t)i);
    /* FINAL alone, FINAL with LZ4, and an empty FINAL batch reporting loss */
    wire_header h = hdr_with(0xabcdef, 17, WIRE_FLAG_FINAL);
    h.dropped_ring_full = 1000;
    h.dropped_transport = UINT32_MAX;
    h.dropped_other = 7;
    wire_batch b;
    size_t len = roundtrip(e, 3, S("t"), S("s"), &h, &b);
    CHECK(len > 0);
    if (len) {
        CHECK(b.hdr.flags == WIRE_FLAG_FINAL);
        wire_batch_free(&b);
    }
    len = roundtrip(e, 20, S("t"), S("s"), &h, &b);
    CHECK(len > 0);
    if (len) {
        CHECK(b.hdr.flags == (WIRE_FLAG_FINAL | WIRE_FLAG_LZ4));
        wire_batch_free(&b);
    }
    len = roundtrip(NULL, 0, S("t"), S("s"), &h, &b);
    CHECK(len > 0);
    if (len) {
        CHECK(b.hdr.flags == WIRE_FLAG_FINAL && b.hdr.event_count == 0);
        CHECK(b.hdr.dropped_transport == UINT32_MAX);
        wire_batch_free(&b);
    }
    /* a stale LZ4 bit from the caller is cleared when not compressing */
    h = hdr_with(1, 1, WIRE_FLAG_LZ4);
    len = roundtrip(e, 1, S("t"), S("s"), &h, &b);
    CHECK(len > 0);
    if (len) {
        CHECK(b.hdr.flags == 0);
        wire_batch_free(&b);
    }
}

static void t_limits(void) {
    /* names exactly WIRE_MAX_NAME bytes, a metadata string of exactly
     * WIRE_MAX_STRING bytes */
    char name[WIRE_MAX_NAME + 1];
    memset(name, 'n', WIRE_MAX_NAME);
    name[WIRE_MAX_NAME] = 0;
    char *big = malloc(WIRE_MAX_STRING + 2);
    for (uint32_t i = 0; i < WIRE_MAX_STRING + 1; i++) big[i] = (char)('a' + i % 26);
    big[WIRE_MAX_STRING + 1] = 0;
    wire_event e[2];
    e[0] = basic_event(TS0);
    e[0].agent = S(name);
    e[0].type = (wire_str){name, WIRE_MAX_NAME};
    e[0].metadata = (wire_str){big, WIRE_MAX_STRING};
    e[1] = basic_event(TS0 + 1);
    e[1].message = (wire_str){big + 1, WIRE_MAX_STRING - 1};
    wire_header h = hdr_with(1, 1, 0);
    CHECK(roundtrip(e, 2, S(name), S(name), &h, NULL) > 0);

    /* one byte over WIRE_MAX_STRING: the encoder refuses the event and the
     * batch stays valid */
    wire_encoder enc;
    wire_encoder_init(&enc);
    CHECK(wire_encoder_begin(&enc, S("t"), S("s")) == 0);
    wire_event ok = basic_event(TS0);
    CHECK(wire_encoder_add(&enc, &ok) == 0);
    wire_event over = basic_event(TS0 + 1);
    over.agent = S("agent-only-in-the-refused-event");
    over.metadata = (wire_str){big, WIRE_MAX_STRING + 1};
    CHECK(wire_encoder_add(&enc, &over) == -1);
    CHECK(wire_encoder_count(&enc) == 1);
    CHECK(wire_encoder_add(&enc, &ok) == 0);
    const uint8_t *msg;
    size_t len;
    wire_header hh = hdr_with(1, 1, 0);
    CHECK(wire_encoder_finish(&enc, &hh, &msg, &len) == 0);
    wire_batch b;
    char err[160] = "";
    int rc = wire_decode(msg, len, &b, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK(b.hdr.event_count == 2);
        CHECK(get32(b.raw) == 4); /* t, s, coder-1, task.completed */
        wire_batch_free(&b);
    }

    /* fill a batch to WIRE_MAX_RAW with distinct 1 MiB strings: the event
     * that would cross the limit is refused, its strings are forgotten,
     * and everything before it still decodes */
    CHECK(wire_encoder_begin(&enc, S("t"), S("s")) == 0);
    int added = 0;
    for (int i = 0; i < 20; i++) {
        big[0] = (char)('A' + i);
        wire_event e2 = basic_event(TS0 + (uint64_t)i);
        e2.metadata = (wire_str){big, WIRE_MAX_STRING};
        if (wire_encoder_add(&enc, &e2)) break;
        added++;
    }
    CHECKF(added == 15, "added %d events of 1 MiB before the limit", added);
    wire_event small = basic_event(TS0 + 100);
    small.message = S("fits after a refusal");
    CHECK(wire_encoder_add(&enc, &small) == 0);
    hh = hdr_with(1, 2, 0);
    CHECK(wire_encoder_finish(&enc, &hh, &msg, &len) == 0);
    CHECK(hh.raw_size <= WIRE_MAX_RAW);
    rc = wire_decode(msg, len, &b, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    if (rc == 0) {
        CHECK(b.hdr.event_count == (uint32_t)added + 1);
        CHECK(get32(b.raw) == 2 + 2 + (uint32_t)added + 1);
        CHECK(b.events[added].message.n == strlen("fits after a refusal"));
        CHECK(b.events[0].metadata.n == WIRE_MAX_STRING &&
              b.events[0].metadata.p[0] == 'A');
        CHECK(b.events[added - 1].metadata.p[0] == 'A' + added - 1);
        wire_batch_free(&b);
    }
    wire_encoder_free(&enc);
    free(big);
}

static void t_encoder_reuse(void) {
    /* begin forgets the previous batch: strings and events */
    wire_encoder enc;
    wire_encoder_init(&enc);
    wire_batch b;
    char err[160];
    const uint8_t *msg;
    size_t len;
    for (int round = 0; round < 3; round++) {
        CHECK(wire_encoder_begin(&enc, S("trace"), S("session")) == 0);
        CHECK(wire_encoder_count(&enc) == 0);
        int n = round == 1 ? 600 : 3; /* grow the hash table in round 1 */
        for (int i = 0; i < n; i++) {
            char a[32];
            snprintf(a, sizeof a, "r%d-agent-%d", round, i);
            wire_event e = basic_event(TS0 + (uint64_t)i);
            e.agent = S(a);
            CHECK(wire_encoder_add(&enc, &e) == 0);
        }
        wire_header h = hdr_with(9, (uint64_t)round + 1, 0);
        CHECK(wire_encoder_finish(&enc, &h, &msg, &len) == 0);
        int rc = wire_decode(msg, len, &b, err, sizeof err);
        CHECKF(rc == 0, "%s", err);
        if (rc) continue;
        CHECK(b.hdr.event_count == (uint32_t)n);
        CHECK(get32(b.raw) == 2 + 1 + (uint32_t)n);
        char want[32];
        snprintf(want, sizeof want, "r%d-agent-%d", round, n - 1);
        CHECK(str_eq(b.events[n - 1].agent, S(want)));
        wire_batch_free(&b);
    }
    wire_encoder_free(&enc);
}

/* The encoder keeps one LZ4 state from batch to batch: each compressed
 * batch must still decode on its own, even when it repeats the previous
 * one word for word (a block that leant on the batch before would not). */
static void t_lz4_batches_stand_alone(void) {
    wire_encoder enc;
    wire_encoder_init(&enc);
    const uint8_t *msg;
    size_t len;
    char err[160];
    for (int round = 0; round < 4; round++) {
        CHECK(wire_encoder_begin(&enc, S("trace"), S("session")) == 0);
        for (int i = 0; i < 50; i++) {
            char meta[200];
            snprintf(meta, sizeof meta,
                     "{\"agent\":\"coder-%d\",\"status\":\"busy\",\"queue\":[\"t-%d\"]}",
                     i % 4, i);
            wire_event e = basic_event(TS0 + (uint64_t)i);
            e.metadata = S(meta);
            CHECK(wire_encoder_add(&enc, &e) == 0);
        }
        wire_header h = hdr_with(9, (uint64_t)round + 1, 0);
        CHECK(wire_encoder_finish(&enc, &h, &msg, &len) == 0);
        CHECK(h.flags & WIRE_FLAG_LZ4);
        /* decoded from a copy, so nothing of the encoder's memory helps */
        uint8_t *copy = malloc(len);
        CHECK(copy != NULL);
        if (!copy) break;
        memcpy(copy, msg, len);
        wire_batch b;
        int rc = wire_decode(copy, len, &b, err, sizeof err);
        CHECKF(rc == 0, "batch %d: %s", round, err);
        if (!rc) {
            CHECK(b.hdr.event_count == 50);
            CHECK(str_eq(b.events[49].metadata,
                         S("{\"agent\":\"coder-1\",\"status\":\"busy\",\"queue\":[\"t-49\"]}")));
            wire_batch_free(&b);
        }
        free(copy);
    }
    wire_encoder_free(&enc);
}

static void t_header_write_parse(void) {
    wire_header h = {WIRE_MAGIC, WIRE_VERSION, WIRE_FLAG_FINAL, 0x0807060504030201ull,
                     0x100, 0, 0, 0, 11, 12, 13};
    uint8_t o[WIRE_HEADER_SIZE];
    wire_header_write(o, &h);
    /* little-endian at the documented offsets */
    CHECK(o[0] == 'S' && o[1] == 'W' && o[2] == 'T' && o[3] == 'R');
    CHECK(o[4] == 1 && o[5] == 0 && o[6] == 2 && o[7] == 0);
    CHECK(o[8] == 1 && o[15] == 8);
    CHECK(o[17] == 1 && o[16] == 0);
    CHECK(o[36] == 11 && o[40] == 12 && o[44] == 13);
    wire_header p;
    char err[100];
    CHECK(wire_header_parse(o, sizeof o, &p, err, sizeof err) == 0);
    CHECK(memcmp(&p, &h, sizeof h) == 0);
    /* FNV-1a 64 reference values */
    CHECK(wire_checksum("", 0) == 0xcbf29ce484222325ull);
    CHECK(wire_checksum("a", 1) == 0xaf63dc4c8601ec8cull);
    CHECK(wire_checksum("foobar", 6) == 0x85944171f73967e8ull);
}

int main(void) {
    check_run("empty batch", t_empty_batch);
    check_run("same trace and session", t_same_trace_and_session);
    check_run("one event, every field", t_one_event_every_field);
    check_run("absent and empty strings", t_absent_and_empty);
    check_run("all kinds and levels", t_all_kinds_levels);
    check_run("9 raw, 10 LZ4", t_nine_uncompressed_ten_compressed);
    check_run("LZ4 only if smaller", t_lz4_only_if_smaller);
    check_run("5000 events dedup", t_dedup_5000);
    check_run("UTF-8 text", t_utf8_text);
    check_run("FINAL and drops", t_final_flag_and_drops);
    check_run("limits", t_limits);
    check_run("encoder reuse", t_encoder_reuse);
    check_run("LZ4 batches stand alone", t_lz4_batches_stand_alone);
    check_run("header write/parse", t_header_write_parse);
    return check_main("wire_roundtrip");
}
