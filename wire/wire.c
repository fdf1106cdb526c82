/*
 * wire.c — encode and validate batches (format: wire.h, schema/wire.md).
 *
 * Every integer is written byte by byte in little-endian order, never by
 * casting structs onto buffers, so the format is independent of compiler
 * padding and host byte order, and the decoder never reads unaligned or
 * out of bounds whatever the input. The decoder trusts nothing: every
 * count, size and index is checked against the bytes actually present
 * before it is used.
 */
#include "wire.h"

#include <lz4.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- little-endian helpers ---- */

static void wire_put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void wire_put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void wire_put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint16_t wire_get16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}
static uint32_t wire_get32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static uint64_t wire_get64(const uint8_t *p) {
    return (uint64_t)wire_get32(p) | ((uint64_t)wire_get32(p + 4) << 32);
}

uint64_t wire_checksum(const void *data, size_t len) {
    const uint8_t *p = data;
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int wire_fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Grow *buf so that it holds at least need bytes. */
static int wire_reserve(uint8_t **buf, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap : 4096;
    while (ncap < need) ncap *= 2;
    uint8_t *nb = realloc(*buf, ncap);
    if (!nb) return -1;
    *buf = nb;
    *cap = ncap;
    return 0;
}

/* ---- header ---- */

void wire_header_write(uint8_t o[WIRE_HEADER_SIZE], const wire_header *h) {
    wire_put32(o + 0, h->magic);
    wire_put16(o + 4, h->version);
    wire_put16(o + 6, h->flags);
    wire_put64(o + 8, h->producer_id);
    wire_put64(o + 16, h->sequence);
    wire_put32(o + 24, h->event_count);
    wire_put32(o + 28, h->raw_size);
    wire_put32(o + 32, h->payload_size);
    wire_put32(o + 36, h->dropped_ring_full);
    wire_put32(o + 40, h->dropped_transport);
    wire_put32(o + 44, h->dropped_other);
}

int wire_header_parse(const void *msg, size_t len, wire_header *h, char *err,
                      size_t errlen) {
    const uint8_t *p = msg;
    if (len < WIRE_HEADER_SIZE)
        return wire_fail(err, errlen, "truncated header (%zu bytes)", len);
    h->magic = wire_get32(p);
    h->version = wire_get16(p + 4);
    h->flags = wire_get16(p + 6);
    h->producer_id = wire_get64(p + 8);
    h->sequence = wire_get64(p + 16);
    h->event_count = wire_get32(p + 24);
    h->raw_size = wire_get32(p + 28);
    h->payload_size = wire_get32(p + 32);
    h->dropped_ring_full = wire_get32(p + 36);
    h->dropped_transport = wire_get32(p + 40);
    h->dropped_other = wire_get32(p + 44);
    if (h->magic != WIRE_MAGIC)
        return wire_fail(err, errlen, "bad magic 0x%08x", h->magic);
    if (h->version != WIRE_VERSION)
        return wire_fail(err, errlen, "unsupported version %u", h->version);
    if (h->flags & ~WIRE_FLAGS_KNOWN)
        return wire_fail(err, errlen, "unknown flags 0x%04x", h->flags);
    if (h->producer_id == 0) return wire_fail(err, errlen, "producer id 0");
    if (h->sequence == 0) return wire_fail(err, errlen, "sequence 0");
    if (h->event_count > WIRE_MAX_EVENTS)
        return wire_fail(err, errlen, "event count %u over limit",
                         h->event_count);
    if (h->raw_size > WIRE_MAX_RAW)
        return wire_fail(err, errlen, "raw size %u over limit", h->raw_size);
    if ((size_t)h->payload_size != len - WIRE_HEADER_SIZE)
        return wire_fail(err, errlen, "payload size %u but %zu bytes follow",
                         h->payload_size, len - WIRE_HEADER_SIZE);
    if (!(h->flags & WIRE_FLAG_LZ4) && h->payload_size != h->raw_size)
        return wire_fail(err, errlen, "uncompressed payload size mismatch");
    return 0;
}

/* ---- encoder ---- */

void wire_encoder_init(wire_encoder *enc) { memset(enc, 0, sizeof *enc); }

void wire_encoder_free(wire_encoder *enc) {
    free(enc->strings);
    free(enc->events);
    free(enc->slots);
    free(enc->offsets);
    free(enc->out);
    free(enc->raw);
    LZ4_freeStream(enc->lz4);
    memset(enc, 0, sizeof *enc);
}

/* The string table's hash, eight bytes a step: every string of every
 * event passes through it on the flusher thread, and snapshots and
 * metadata run to hundreds of bytes (FNV-1a, a byte a step, was the
 * flusher's largest cost per event). Local to the encoder: nothing on the
 * wire depends on it. */
static uint32_t wire_hash(const char *p, uint32_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n, w;
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 29;
    }
    w = 0;
    if (n > i) memcpy(&w, p + i, n - i);
    h = (h ^ w) * 0x94d049bb133111ebull;
    h ^= h >> 32;
    return (uint32_t)h;
}

static int wire_encoder_rehash(wire_encoder *enc, uint32_t nslots) {
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots) return -1;
    for (uint32_t i = 0; i < enc->nstrings; i++) {
        const uint8_t *s = enc->strings + enc->offsets[i];
        uint32_t n = wire_get32(s);
        uint32_t h = wire_hash((const char *)s + 4, n) & (nslots - 1);
        while (slots[h]) h = (h + 1) & (nslots - 1);
        slots[h] = i + 1;
    }
    free(enc->slots);
    enc->slots = slots;
    enc->nslots = nslots;
    return 0;
}

/* Index of s in this batch's string table, adding it if new. */
static int wire_encoder_intern(wire_encoder *enc, wire_str s, uint32_t *idx) {
    if (!s.p) {
        *idx = WIRE_NONE;
        return 0;
    }
    if (s.n > WIRE_MAX_STRING) return -1;
    if ((enc->nstrings + 1) * 2 > enc->nslots &&
        wire_encoder_rehash(enc, enc->nslots ? enc->nslots * 2 : 256))
        return -1;
    uint32_t mask = enc->nslots - 1;
    uint32_t h = wire_hash(s.p, s.n) & mask;
    for (; enc->slots[h]; h = (h + 1) & mask) {
        const uint8_t *e = enc->strings + enc->offsets[enc->slots[h] - 1];
        if (wire_get32(e) == s.n && memcmp(e + 4, s.p, s.n) == 0) {
            *idx = enc->slots[h] - 1;
            return 0;
        }
    }
    if (enc->nstrings == enc->offsets_cap) {
        uint32_t ncap = enc->offsets_cap ? enc->offsets_cap * 2 : 256;
        uint32_t *no = realloc(enc->offsets, ncap * sizeof *no);
        if (!no) return -1;
        enc->offsets = no;
        enc->offsets_cap = ncap;
    }
    if (wire_reserve(&enc->strings, &enc->strings_cap,
                     enc->strings_len + 4 + s.n))
        return -1;
    enc->offsets[enc->nstrings] = (uint32_t)enc->strings_len;
    wire_put32(enc->strings + enc->strings_len, s.n);
    if (s.n) memcpy(enc->strings + enc->strings_len + 4, s.p, s.n);
    enc->strings_len += 4 + s.n;
    enc->slots[h] = ++enc->nstrings;
    *idx = enc->nstrings - 1;
    return 0;
}

int wire_encoder_begin(wire_encoder *enc, wire_str trace, wire_str session) {
    enc->strings_len = 0;
    enc->events_len = 0;
    enc->nstrings = 0;
    enc->nevents = 0;
    enc->represented = 0;
    if (enc->slots) memset(enc->slots, 0, enc->nslots * sizeof *enc->slots);
    if (wire_encoder_intern(enc, trace, &enc->trace_idx) ||
        wire_encoder_intern(enc, session, &enc->session_idx))
        return -1;
    return 0;
}

/* Smart merge: an instant event identical to the record just before it
 * (same agent, type, level and strings; no span, parent, duration) only
 * raises that record's count. The record keeps the first timestamp. */
static int wire_encoder_merge(wire_encoder *enc, const wire_event *ev,
                              const uint32_t idx[5]) {
    if (!enc->nevents || ev->kind != WIRE_KIND_EVENT || ev->span_id ||
        ev->parent_id || ev->duration_us || ev->aux)
        return 0;
    uint8_t *last = enc->events + enc->events_len - WIRE_EVENT_SIZE;
    if (last[65] != WIRE_KIND_EVENT || last[64] != ev->level ||
        wire_get64(last + 8) || wire_get64(last + 16) || wire_get64(last + 24) ||
        wire_get64(last + 32))
        return 0;
    for (int i = 0; i < 5; i++)
        if (wire_get32(last + 40 + 4 * i) != idx[i]) return 0;
    uint64_t count = (uint64_t)wire_get32(last + 60) + (ev->count ? ev->count : 1);
    if (count > UINT32_MAX) return 0;
    wire_put32(last + 60, (uint32_t)count);
    return 1;
}

int wire_encoder_add(wire_encoder *enc, const wire_event *ev) {
    uint32_t idx[5];
    size_t mark_strings = enc->strings_len;
    uint32_t mark_n = enc->nstrings;
    if (enc->nevents >= WIRE_MAX_EVENTS) return -1;
    if (wire_encoder_intern(enc, ev->agent, &idx[0]) ||
        wire_encoder_intern(enc, ev->type, &idx[1]) ||
        wire_encoder_intern(enc, ev->message, &idx[2]) ||
        wire_encoder_intern(enc, ev->metadata, &idx[3]) ||
        wire_encoder_intern(enc, ev->stack, &idx[4]) ||
        8 + enc->strings_len + 8 + (enc->nevents + 1) * (size_t)WIRE_EVENT_SIZE >
            WIRE_MAX_RAW ||
        wire_reserve(&enc->events, &enc->events_cap,
                     enc->events_len + WIRE_EVENT_SIZE)) {
        /* forget the strings this event added, so the batch stays valid */
        enc->strings_len = mark_strings;
        enc->nstrings = mark_n;
        wire_encoder_rehash(enc, enc->nslots);
        return -1;
    }
    enc->represented += ev->count ? ev->count : 1;
    if (enc->merge && wire_encoder_merge(enc, ev, idx)) return 0;
    uint8_t *r = enc->events + enc->events_len;
    wire_put64(r + 0, ev->ts_us);
    wire_put64(r + 8, ev->span_id);
    wire_put64(r + 16, ev->parent_id);
    wire_put64(r + 24, ev->duration_us);
    wire_put64(r + 32, ev->aux);
    for (int i = 0; i < 5; i++) wire_put32(r + 40 + 4 * i, idx[i]);
    wire_put32(r + 60, ev->count ? ev->count : 1);
    r[64] = ev->level;
    r[65] = ev->kind;
    memset(r + 66, 0, WIRE_EVENT_SIZE - 66);
    enc->events_len += WIRE_EVENT_SIZE;
    enc->nevents++;
    return 0;
}

int wire_encoder_finish(wire_encoder *enc, wire_header *hdr,
                        const uint8_t **msg, size_t *len) {
    /* raw payload: string count, strings bytes, strings, trace idx,
     * session idx, events */
    size_t raw_len = 8 + enc->strings_len + 8 + enc->events_len;
    if (raw_len > WIRE_MAX_RAW) return -1;
    if (wire_reserve(&enc->raw, &enc->raw_cap, raw_len)) return -1;
    uint8_t *p = enc->raw;
    wire_put32(p, enc->nstrings);
    wire_put32(p + 4, (uint32_t)enc->strings_len);
    if (enc->strings_len) memcpy(p + 8, enc->strings, enc->strings_len);
    p += 8 + enc->strings_len;
    wire_put32(p, enc->trace_idx);
    wire_put32(p + 4, enc->session_idx);
    if (enc->events_len) memcpy(p + 8, enc->events, enc->events_len);

    int compress = enc->nevents >= WIRE_LZ4_MIN_EVENTS;
    size_t bound = compress ? (size_t)LZ4_compressBound((int)raw_len) : raw_len;
    if (wire_reserve(&enc->out, &enc->out_cap, WIRE_HEADER_SIZE + bound))
        return -1;
    size_t payload = raw_len;
    if (compress && !enc->lz4 && !(enc->lz4 = LZ4_createStream())) compress = 0;
    if (compress) {
        /* one state for every batch, reset the cheap way: LZ4_compress_default
         * clears a fresh 16 KB state each call. Without a dictionary the
         * block stands alone, as the wire requires. */
        LZ4_resetStream_fast(enc->lz4);
        int c = LZ4_compress_fast_continue(enc->lz4, (const char *)enc->raw,
                                           (char *)enc->out + WIRE_HEADER_SIZE,
                                           (int)raw_len, (int)bound, 1);
        if (c <= 0 || (size_t)c >= raw_len) compress = 0;
        else payload = (size_t)c;
    }
    if (!compress) memcpy(enc->out + WIRE_HEADER_SIZE, enc->raw, raw_len);
    hdr->magic = WIRE_MAGIC;
    hdr->version = WIRE_VERSION;
    hdr->flags = (uint16_t)((hdr->flags & ~WIRE_FLAG_LZ4) |
                            (compress ? WIRE_FLAG_LZ4 : 0));
    hdr->event_count = enc->nevents;
    hdr->raw_size = (uint32_t)raw_len;
    hdr->payload_size = (uint32_t)payload;
    wire_header_write(enc->out, hdr);
    *msg = enc->out;
    *len = WIRE_HEADER_SIZE + payload;
    return 0;
}

/* ---- decoder ---- */

/* Replace every byte that is not part of valid UTF-8 by '?', in place,
 * so stored text is always valid JSON-able UTF-8 and no event is lost to
 * one bad byte. Returns the number of bytes replaced. */
static uint32_t wire_repair_utf8(uint8_t *s, uint32_t n) {
    uint32_t fixed = 0;
    for (uint32_t i = 0; i < n;) {
        uint8_t c = s[i];
        uint32_t need;
        uint32_t min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            need = 1;
            min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            need = 2;
            min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            need = 3;
            min = 0x10000;
        } else {
            s[i++] = '?';
            fixed++;
            continue;
        }
        uint32_t cp = c & (0x3F >> need);
        uint32_t k = 1;
        for (; k <= need && i + k < n && (s[i + k] & 0xC0) == 0x80; k++)
            cp = (cp << 6) | (s[i + k] & 0x3F);
        if (k != need + 1 || cp < min || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            s[i++] = '?';
            fixed++;
            continue;
        }
        i += need + 1;
    }
    return fixed;
}

typedef struct wire_strtab {
    wire_str *s;
    uint32_t n;
} wire_strtab;

static int wire_lookup(const wire_strtab *t, uint32_t idx, int required,
                       wire_str *out) {
    if (idx == WIRE_NONE) {
        out->p = NULL;
        out->n = 0;
        return required ? -1 : 0;
    }
    if (idx >= t->n) return -1;
    *out = t->s[idx];
    return required && out->n == 0 ? -1 : 0;
}

/* Parse the string table at raw[0..]; strings are checked for NUL bytes
 * (they become C strings later) and repaired to valid UTF-8. */
static int wire_decode_strings(uint8_t *raw, uint32_t raw_size,
                               wire_strtab *t, uint32_t *consumed,
                               uint32_t *repaired, char *err, size_t errlen) {
    if (raw_size < 8) return wire_fail(err, errlen, "payload too short");
    uint32_t count = wire_get32(raw), bytes = wire_get32(raw + 4);
    if (bytes > raw_size - 8)
        return wire_fail(err, errlen, "string table overruns payload");
    if (count > bytes / 4)
        return wire_fail(err, errlen, "string count %u impossible", count);
    t->s = calloc(count ? count : 1, sizeof *t->s);
    if (!t->s) return wire_fail(err, errlen, "out of memory");
    t->n = count;
    uint32_t off = 8, end = 8 + bytes;
    for (uint32_t i = 0; i < count; i++) {
        if (end - off < 4) return wire_fail(err, errlen, "string %u truncated", i);
        uint32_t n = wire_get32(raw + off);
        off += 4;
        if (n > end - off || n > WIRE_MAX_STRING)
            return wire_fail(err, errlen, "string %u length %u overruns", i, n);
        if (memchr(raw + off, 0, n))
            return wire_fail(err, errlen, "string %u contains NUL", i);
        *repaired += wire_repair_utf8(raw + off, n);
        t->s[i].p = (const char *)raw + off;
        t->s[i].n = n;
        off += n;
    }
    if (off != end)
        return wire_fail(err, errlen, "string table has %u stray bytes",
                         end - off);
    *consumed = end;
    return 0;
}

static int wire_decode_event(const uint8_t *r, const wire_strtab *t,
                             wire_event *ev, uint32_t i, char *err,
                             size_t errlen) {
    ev->ts_us = wire_get64(r);
    ev->span_id = wire_get64(r + 8);
    ev->parent_id = wire_get64(r + 16);
    ev->duration_us = wire_get64(r + 24);
    ev->aux = wire_get64(r + 32);
    ev->count = wire_get32(r + 60);
    ev->level = r[64];
    ev->kind = r[65];
    if (ev->ts_us < WIRE_MIN_TS_US || ev->ts_us > WIRE_MAX_TS_US)
        return wire_fail(err, errlen, "event %u timestamp %llu out of range",
                         i, (unsigned long long)ev->ts_us);
    if (ev->level > 3)
        return wire_fail(err, errlen, "event %u level %u", i, ev->level);
    if (ev->kind > WIRE_KIND_MAX)
        return wire_fail(err, errlen, "event %u kind %u", i, ev->kind);
    if (ev->count == 0)
        return wire_fail(err, errlen, "event %u count 0", i);
    if (ev->duration_us > WIRE_MAX_TS_US)
        return wire_fail(err, errlen, "event %u duration out of range", i);
    if ((ev->kind == WIRE_KIND_SPAN_BEGIN || ev->kind == WIRE_KIND_SPAN_END) &&
        ev->span_id == 0)
        return wire_fail(err, errlen, "event %u: span without id", i);
    if (wire_get16(r + 66) != 0 || wire_get32(r + 68) != 0)
        return wire_fail(err, errlen, "event %u reserved bytes set", i);
    if (wire_lookup(t, wire_get32(r + 40), 1, &ev->agent) ||
        wire_lookup(t, wire_get32(r + 44), 1, &ev->type) ||
        wire_lookup(t, wire_get32(r + 48), 0, &ev->message) ||
        wire_lookup(t, wire_get32(r + 52), 0, &ev->metadata) ||
        wire_lookup(t, wire_get32(r + 56), 0, &ev->stack))
        return wire_fail(err, errlen, "event %u has a bad string index", i);
    if (ev->agent.n > WIRE_MAX_NAME || ev->type.n > WIRE_MAX_NAME)
        return wire_fail(err, errlen, "event %u agent or type name too long", i);
    if (ev->kind == WIRE_KIND_SNAPSHOT &&
        (!ev->metadata.p ||
         wire_checksum(ev->metadata.p, ev->metadata.n) != ev->aux))
        return wire_fail(err, errlen, "event %u snapshot checksum mismatch", i);
    return 0;
}

int wire_decode(const void *msg, size_t len, wire_batch *out, char *err,
                size_t errlen) {
    memset(out, 0, sizeof *out);
    wire_strtab t = {0};
    if (wire_header_parse(msg, len, &out->hdr, err, errlen)) return -1;
    const wire_header *h = &out->hdr;
    out->raw = malloc(h->raw_size ? h->raw_size : 1);
    if (!out->raw) return wire_fail(err, errlen, "out of memory");
    const char *payload = (const char *)msg + WIRE_HEADER_SIZE;
    if (h->flags & WIRE_FLAG_LZ4) {
        /* decompress_safe never writes past raw_size; a block that wants
         * more, or yields less, is rejected */
        int got = LZ4_decompress_safe(payload, (char *)out->raw,
                                      (int)h->payload_size, (int)h->raw_size);
        if (got < 0 || (uint32_t)got != h->raw_size) {
            wire_fail(err, errlen, "LZ4 payload invalid or not %u bytes",
                      h->raw_size);
            goto fail;
        }
    } else if (h->raw_size) {
        memcpy(out->raw, payload, h->raw_size);
    }

    uint32_t off = 0;
    if (wire_decode_strings(out->raw, h->raw_size, &t, &off,
                            &out->repaired_strings, err, errlen))
        goto fail;
    if (h->raw_size - off < 8) {
        wire_fail(err, errlen, "batch trace/session missing");
        goto fail;
    }
    if (wire_lookup(&t, wire_get32(out->raw + off), 1, &out->trace) ||
        wire_lookup(&t, wire_get32(out->raw + off + 4), 1, &out->session)) {
        wire_fail(err, errlen, "batch trace/session index invalid");
        goto fail;
    }
    if (out->trace.n > WIRE_MAX_NAME || out->session.n > WIRE_MAX_NAME) {
        wire_fail(err, errlen, "trace or session name too long");
        goto fail;
    }
    off += 8;
    if ((uint64_t)(h->raw_size - off) !=
        (uint64_t)h->event_count * WIRE_EVENT_SIZE) {
        wire_fail(err, errlen, "%u events need %llu bytes, %u present",
                  h->event_count,
                  (unsigned long long)h->event_count * WIRE_EVENT_SIZE,
                  h->raw_size - off);
        goto fail;
    }
    out->events = calloc(h->event_count ? h->event_count : 1,
                         sizeof *out->events);
    if (!out->events) {
        wire_fail(err, errlen, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < h->event_count; i++)
        if (wire_decode_event(out->raw + off + (size_t)i * WIRE_EVENT_SIZE, &t,
                              &out->events[i], i, err, errlen))
            goto fail;
    free(t.s);
    return 0;
fail:
    free(t.s);
    wire_batch_free(out);
    return -1;
}

void wire_batch_free(wire_batch *b) {
    free(b->events);
    free(b->raw);
    b->events = NULL;
    b->raw = NULL;
}
