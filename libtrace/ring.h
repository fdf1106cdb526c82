/*
 * ring.h — one single-producer/single-consumer byte ring per thread.
 *
 * The producing thread is the only writer of `head`, the flusher the only
 * writer of `tail`; each sits on its own cache line so the two sides never
 * write the same line. Records are variable-length and 8-byte aligned; a
 * record that would straddle the end of the buffer is preceded by a PAD
 * record that fills the rest, so every record is contiguous and the
 * flusher can encode straight from ring memory without a copy.
 *
 * Ownership: a ring is referenced by its thread (until the thread exits or
 * sees a new library generation) and by the registry (until the flusher
 * unlinks it or trace_shutdown() clears the registry). The last reference
 * frees it, so a thread that raced with shutdown writes into live memory.
 */
#ifndef RING_H
#define RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define RING_PAD 0xFF /* record kind that only fills space */

/* A record as laid out in ring memory, followed by its strings. */
typedef struct ring_rec {
    uint32_t size; /* whole record incl. strings, multiple of 8 */
    uint8_t kind;  /* wire kind or RING_PAD */
    uint8_t level;
    uint16_t flags;  /* RING_DEFERRED */
    uint64_t ticks;  /* tr_ticks() when recorded */
    uint64_t span_id, parent_id;
    uint64_t duration; /* µs; for SPAN_END the begin's ticks instead */
    uint64_t aux;
    uint32_t len[5]; /* agent, type, message, metadata, stack; RING_ABSENT */
    uint32_t extra;  /* bytes between this header and the strings */
} ring_rec;

/* A trace_event() record: its message is still a format and arguments,
 * in a ring_deferred block of rec->extra bytes after the header; type and
 * fmt point to string literals, string arguments follow the args. */
#define RING_DEFERRED 0x1
typedef struct ring_deferred {
    const char *type, *fmt;
    uint32_t nargs, strbytes;
    struct {
        uint64_t tag, val; /* strings: val is the length, or UINT64_MAX for NULL */
    } args[];
} ring_deferred;
#define RING_ABSENT 0xFFFFFFFFu
#define RING_NSTR 5

typedef struct ring {
    _Alignas(64) _Atomic uint64_t head; /* producer */
    uint64_t tail_cache;                /* producer's last view of tail */
    uint64_t reserve_head;              /* producer: head after PAD */
    /* producer-written counters, read by the flusher for stats */
    _Atomic uint64_t recorded, sampled_out, dropped_full, dropped_large,
        dropped_invalid;
    _Alignas(64) _Atomic uint64_t tail; /* consumer */
    _Alignas(64) uint8_t *buf;
    uint64_t cap; /* power of two */
    uint32_t max_record;
    /* the thread's trace__tl_sampled_out (calls sampled out inline, in
     * trace.h); NULL once the thread has exited. Under the registry lock. */
    unsigned long long *tl_sampled_out;
    _Atomic int refs;
    _Atomic int orphaned; /* the thread has exited */
    unsigned gen;         /* library generation it belongs to */
    struct ring *next;    /* registry list, under the registry lock */
} ring;

ring *ring_create(uint64_t cap, unsigned gen);
void ring_unref(ring *r);

/* Producer: space for `size` bytes (a multiple of 8), or NULL when full.
 * Inline, like ring_commit(): they are most of the hot path. */
static inline void *ring_reserve(ring *r, uint32_t size) {
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t pos = head & (r->cap - 1);
    uint64_t contig = r->cap - pos;
    uint64_t need = contig < size ? contig + size : size;
    if (head + need - r->tail_cache > r->cap) {
        r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (head + need - r->tail_cache > r->cap) return NULL;
    }
    if (contig < size) {
        /* contig >= 8: every record size and the capacity are multiples
         * of 8, so a PAD header always fits */
        ring_rec *pad = (ring_rec *)(r->buf + pos);
        pad->size = (uint32_t)contig;
        pad->kind = RING_PAD;
        head += contig;
        pos = 0;
    }
    r->reserve_head = head;
    return r->buf + pos;
}

/* Producer: publish the record reserved last. */
static inline void ring_commit(ring *r, uint32_t size) {
    atomic_store_explicit(&r->head, r->reserve_head + size,
                          memory_order_release);
}

/* Consumer: the next record, or NULL when empty. PAD records are skipped.
 * The record stays valid until ring_release(). */
const ring_rec *ring_peek(ring *r);
void ring_release(ring *r, const ring_rec *rec);
int ring_empty(ring *r);

/* Strings of a record, in order: agent, type, message, metadata, stack. */
const char *ring_rec_str(const ring_rec *rec, int which);

static inline void ring_count(_Atomic uint64_t *c) {
    /* single writer: a plain load and store, no locked instruction */
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

#endif
