/*
 * wire.h — the batch format between libtrace and trace-collector.
 *
 * One module, compiled into both sides, so the encoder and the validating
 * decoder can never drift apart. schema/wire.md is the prose description;
 * this file and wire.c are the normative one.
 *
 * A batch is one ZeroMQ message: a fixed 48-byte little-endian header, then
 * the payload (LZ4 block-compressed when WIRE_FLAG_LZ4 is set). The payload
 * carries its own string table, so every batch can be understood alone: a
 * collector that restarts mid-stream loses no context.
 */
#ifndef WIRE_H
#define WIRE_H

#include <stddef.h>
#include <stdint.h>

#define WIRE_MAGIC 0x52545753u /* "SWTR" read little-endian */
#define WIRE_VERSION 1
#define WIRE_HEADER_SIZE 48
#define WIRE_EVENT_SIZE 72

#define WIRE_FLAG_LZ4 0x0001u   /* payload is one LZ4 block */
#define WIRE_FLAG_FINAL 0x0002u /* producer is shutting down: last batch */
#define WIRE_FLAGS_KNOWN (WIRE_FLAG_LZ4 | WIRE_FLAG_FINAL)

#define WIRE_NONE 0xFFFFFFFFu /* string index meaning "absent" */

/* Limits the decoder enforces; the encoder stays inside them. */
#define WIRE_MAX_RAW (16u << 20)     /* uncompressed payload bytes */
#define WIRE_MAX_EVENTS 100000u
#define WIRE_MAX_STRING (1u << 20)
#define WIRE_MAX_NAME 256 /* agent and event-type names */
#define WIRE_MIN_TS_US 946684800000000ull  /* 2000-01-01 */
#define WIRE_MAX_TS_US 4102444800000000ull /* 2100-01-01 */
#define WIRE_LZ4_MIN_EVENTS 10 /* smaller batches are not worth compressing */

enum wire_kind {
    WIRE_KIND_EVENT = 0,      /* an instant event */
    WIRE_KIND_SPAN_BEGIN = 1, /* span_id opens */
    WIRE_KIND_SPAN_END = 2,   /* span_id closes; duration_us set */
    WIRE_KIND_SNAPSHOT = 3,   /* type = state type, metadata = state JSON,
                                 aux = wire_checksum(state) */
    WIRE_KIND_MAX = 3
};

typedef struct wire_str {
    const char *p; /* not NUL-terminated on the decode side */
    uint32_t n;
} wire_str;

typedef struct wire_event {
    uint64_t ts_us;
    uint64_t span_id;   /* 0: none */
    uint64_t parent_id; /* 0: none */
    uint64_t duration_us;
    uint64_t aux;
    uint32_t count; /* identical events merged into this record, >= 1 */
    uint8_t level;  /* trace_level, 0..3 */
    uint8_t kind;   /* enum wire_kind */
    wire_str agent, type; /* required, non-empty */
    wire_str message, metadata, stack; /* p == NULL: absent */
} wire_event;

typedef struct wire_header {
    uint32_t magic;
    uint16_t version;
    uint16_t flags;
    uint64_t producer_id; /* random per trace_init(), nonzero */
    uint64_t sequence;    /* 1, 2, 3 ... per producer */
    uint32_t event_count;
    uint32_t raw_size;     /* payload bytes after decompression */
    uint32_t payload_size; /* payload bytes on the wire */
    uint32_t dropped_ring_full; /* events lost since the previous batch */
    uint32_t dropped_transport;
    uint32_t dropped_other;
} wire_header;

/* ---- encoding (libtrace) ---- */

typedef struct wire_encoder {
    uint8_t *strings; size_t strings_len, strings_cap;
    uint8_t *events; size_t events_len, events_cap;
    uint32_t nstrings, nevents;
    uint32_t trace_idx, session_idx;
    int merge;               /* fold repeats into the previous record's count */
    uint64_t represented;    /* events in this batch, merged ones included */
    /* open-addressing table of string indexes + 1, so a batch carries each
     * distinct string once */
    uint32_t *slots; uint32_t nslots;
    uint32_t *offsets; uint32_t offsets_cap; /* string i starts here */
    uint8_t *out; size_t out_cap;            /* the finished message */
    uint8_t *raw; size_t raw_cap;
    void *lz4; /* LZ4_stream_t, kept from batch to batch */
} wire_encoder;

void wire_encoder_init(wire_encoder *enc);
void wire_encoder_free(wire_encoder *enc);
/* Start a new batch for this trace/session; forgets previous events. */
int wire_encoder_begin(wire_encoder *enc, wire_str trace, wire_str session);
/* Append one event; -1 on allocation failure or limits exceeded. */
int wire_encoder_add(wire_encoder *enc, const wire_event *ev);
static inline uint32_t wire_encoder_count(const wire_encoder *enc) {
    return enc->nevents; /* records */
}
static inline uint64_t wire_encoder_events(const wire_encoder *enc) {
    return enc->represented; /* events, merged repeats included */
}
/* Finish the batch: fills in event_count, sizes and the LZ4 flag of *hdr
 * (caller sets producer_id, sequence, dropped_*, FINAL). The message stays
 * owned by the encoder until the next begin. */
int wire_encoder_finish(wire_encoder *enc, wire_header *hdr,
                        const uint8_t **msg, size_t *len);

/* ---- decoding (collector) ---- */

typedef struct wire_batch {
    wire_header hdr;
    wire_str trace, session;
    wire_event *events; /* hdr.event_count of them, strings point into raw */
    uint8_t *raw;
    uint32_t repaired_strings; /* invalid UTF-8 bytes replaced by '?' */
} wire_batch;

/* Validate and decode one message. 0 on success; -1 with a reason in err
 * (never a crash, whatever the bytes). On success free with
 * wire_batch_free(). */
int wire_decode(const void *msg, size_t len, wire_batch *out, char *err,
                size_t errlen);
void wire_batch_free(wire_batch *b);

/* Header alone: magic, version, flags and size checks. */
int wire_header_parse(const void *msg, size_t len, wire_header *hdr,
                      char *err, size_t errlen);
void wire_header_write(uint8_t out[WIRE_HEADER_SIZE], const wire_header *h);

/* 64-bit FNV-1a, the snapshot checksum both sides compute. */
uint64_t wire_checksum(const void *data, size_t len);

#endif
