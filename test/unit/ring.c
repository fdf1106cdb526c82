/*
 * ring.c — the per-thread SPSC byte ring (libtrace/ring.h): empty, full,
 * wrap-around with PAD records, record strings, and one producer thread
 * against one consumer thread (run this one under TSan too).
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ring.h"

/* a record of `size` bytes (multiple of 8, >= sizeof(ring_rec)) whose
 * string area is filled with a pattern derived from seq */
static void fill(ring_rec *r, uint32_t size, uint64_t seq) {
    r->size = size;
    r->kind = (uint8_t)(seq % 4);
    r->level = (uint8_t)(seq % 3);
    r->flags = 0;
    r->ticks = seq;
    r->span_id = seq * 3;
    r->parent_id = ~seq;
    r->duration = seq ^ 0x5555;
    r->aux = seq + 1;
    uint32_t body = size - (uint32_t)sizeof(ring_rec);
    r->len[0] = body;
    for (int i = 1; i < RING_NSTR; i++) r->len[i] = RING_ABSENT;
    r->extra = 0;
    uint8_t *p = (uint8_t *)(r + 1);
    for (uint32_t i = 0; i < body; i++) p[i] = (uint8_t)(seq * 31 + i);
}

/* 1 if rec is intact for seq */
static int intact(const ring_rec *r, uint64_t seq) {
    if (r->kind != seq % 4 || r->level != seq % 3 || r->ticks != seq ||
        r->span_id != seq * 3 || r->parent_id != ~seq ||
        r->duration != (seq ^ 0x5555) || r->aux != seq + 1)
        return 0;
    uint32_t body = r->size - (uint32_t)sizeof(ring_rec);
    if (r->len[0] != body) return 0;
    const uint8_t *p = (const uint8_t *)ring_rec_str(r, 0);
    if (p != (const uint8_t *)(r + 1)) return 0;
    for (uint32_t i = 0; i < body; i++)
        if (p[i] != (uint8_t)(seq * 31 + i)) return 0;
    return 1;
}

static int push(ring *r, uint32_t size, uint64_t seq) {
    ring_rec *rec = ring_reserve(r, size);
    if (!rec) return 0;
    fill(rec, size, seq);
    ring_commit(r, size);
    return 1;
}

static void t_layout(void) {
    CHECK(sizeof(ring_rec) % 8 == 0);
    CHECK(sizeof(ring_rec) == 72);
    ring *r = ring_create(4096, 7);
    CHECK(r != NULL);
    if (!r) return;
    CHECK(r->cap == 4096 && r->max_record == 1024 && r->gen == 7);
    CHECK(((uintptr_t)r->buf & 63) == 0);
    CHECK(atomic_load(&r->refs) == 2);
    ring_unref(r);
    ring_unref(r); /* the second reference frees it (ASan: no leak) */
}

static void t_empty(void) {
    ring *r = ring_create(4096, 0);
    CHECK(ring_peek(r) == NULL);
    CHECK(ring_empty(r));
    CHECK(ring_peek(r) == NULL); /* still, and nothing moved */
    CHECK(atomic_load(&r->tail) == 0 && atomic_load(&r->head) == 0);
    /* a reservation that is never committed publishes nothing */
    CHECK(ring_reserve(r, 128) != NULL);
    CHECK(ring_peek(r) == NULL && ring_empty(r));
    ring_unref(r);
    ring_unref(r);
}

static void t_full_drain_refill(void) {
    const uint64_t cap = 4096;
    ring *r = ring_create(cap, 0);
    for (int round = 0; round < 3; round++) {
        uint64_t n = 0;
        while (push(r, 128, n)) n++;
        CHECKF(n == cap / 128, "round %d: %llu records fit", round,
               (unsigned long long)n);
        CHECK(!ring_empty(r));
        /* full stays full, even for the smallest record */
        CHECK(ring_reserve(r, 8) == NULL);
        CHECK(ring_reserve(r, 128) == NULL);
        uint64_t got = 0;
        const ring_rec *rec;
        while ((rec = ring_peek(r))) {
            CHECKF(intact(rec, got), "round %d record %llu", round,
                   (unsigned long long)got);
            ring_release(r, rec);
            got++;
        }
        CHECK(got == n);
        CHECK(ring_empty(r));
    }
    /* a record bigger than the whole ring never fits */
    CHECK(ring_reserve(r, (uint32_t)cap + 8) == NULL);
    /* exactly the whole ring does, when empty and at the start of the buffer
     * (head is at a multiple of cap here: 3 rounds of exactly cap bytes) */
    CHECK(push(r, (uint32_t)cap, 99));
    CHECK(ring_reserve(r, 8) == NULL);
    const ring_rec *rec = ring_peek(r);
    CHECK(rec && intact(rec, 99));
    if (rec) ring_release(r, rec);
    CHECK(ring_empty(r));
    /* one slot freed in the middle of a full ring is usable again */
    uint64_t n = 0;
    while (push(r, 256, n)) n++;
    CHECK(n == cap / 256);
    rec = ring_peek(r);
    ring_release(r, rec);
    CHECK(push(r, 256, n));
    CHECK(!push(r, 8, n + 1));
    for (uint64_t k = 1; k <= n; k++) {
        rec = ring_peek(r);
        CHECK(rec && intact(rec, k));
        if (rec) ring_release(r, rec);
    }
    CHECK(ring_peek(r) == NULL);
    ring_unref(r);
    ring_unref(r);
}

static void t_wrap_with_pad(void) {
    const uint64_t cap = 4096;
    ring *r = ring_create(cap, 0);
    /* sizes that do not divide the capacity, so records keep landing
     * across the end; 72 + 8k up to max_record */
    static const uint32_t sizes[] = {72, 200, 1024, 80, 136, 520, 88, 1000, 72, 968};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    uint64_t wseq = 0, rseq = 0, pads = 0, full = 0, bad = 0;
    uint64_t bytes_written = 0;
    while (rseq < 20000) {
        /* write until full, noting PADs */
        for (;;) {
            uint32_t size = sizes[(wseq * 7 + wseq / 3) % NS];
            uint64_t head = atomic_load(&r->head);
            uint64_t pos = head & (cap - 1);
            ring_rec *rec = ring_reserve(r, size);
            if (!rec) {
                full++;
                break;
            }
            if (cap - pos < size) {
                /* did not fit before the end: a PAD fills the rest and the
                 * record starts at the beginning of the buffer */
                pads++;
                CHECK((uint8_t *)rec == r->buf);
                const ring_rec *pad = (const ring_rec *)(r->buf + pos);
                CHECK(pad->kind == RING_PAD && pad->size == cap - pos);
                CHECK(r->reserve_head == head + (cap - pos));
            } else {
                CHECK((uint8_t *)rec == r->buf + pos);
            }
            fill(rec, size, wseq);
            ring_commit(r, size);
            bytes_written += size;
            wseq++;
        }
        /* drain a varying part, checking contents (PADs never show) */
        uint64_t take = 1 + (rseq * 13) % 9;
        const ring_rec *rec;
        while (take-- && (rec = ring_peek(r))) {
            if (rec->kind == RING_PAD || !intact(rec, rseq)) bad++;
            CHECK((((uintptr_t)rec - (uintptr_t)r->buf) & 7) == 0);
            ring_release(r, rec);
            rseq++;
        }
    }
    const ring_rec *rec;
    while ((rec = ring_peek(r))) {
        if (!intact(rec, rseq)) bad++;
        ring_release(r, rec);
        rseq++;
    }
    CHECKF(bad == 0, "%llu damaged records", (unsigned long long)bad);
    CHECK(rseq == wseq);
    CHECK(ring_empty(r));
    CHECKF(pads > 100, "%llu PADs", (unsigned long long)pads);
    CHECKF(bytes_written / cap > 1000, "%llu wraps", (unsigned long long)(bytes_written / cap));
    CHECK(full > 0);

    /* the smallest PAD: 8 bytes left before the end */
    ring *s = ring_create(1024, 0);
    CHECK(push(s, 1016, 1)); /* head at 1016 */
    rec = ring_peek(s);
    ring_release(s, rec);
    CHECK(push(s, 72, 2)); /* 8 bytes before the end: PAD(8) + 72 */
    CHECK(atomic_load(&s->head) == 1024 + 72);
    rec = ring_peek(s);
    CHECK(rec && (const uint8_t *)rec == s->buf && intact(rec, 2));
    if (rec) ring_release(s, rec);
    CHECK(ring_empty(s));
    /* a record that fits exactly up to the end needs no PAD */
    CHECK(push(s, 1024 - 72, 3));
    CHECK(atomic_load(&s->head) == 1024 + 72 + 952);
    CHECK(push(s, 72, 4)); /* starts at 0 again, no PAD */
    rec = ring_peek(s);
    CHECK(rec && intact(rec, 3));
    ring_release(s, rec);
    rec = ring_peek(s);
    CHECK(rec && (const uint8_t *)rec == s->buf && intact(rec, 4));
    ring_release(s, rec);
    ring_unref(s);
    ring_unref(s);
    ring_unref(r);
    ring_unref(r);
}

static void t_pad_needs_room(void) {
    /* a record that does not fit before the end needs PAD + record bytes
     * free; it is refused when the space at the start of the buffer is
     * too small, and then nothing is written */
    ring *r = ring_create(1024, 0);
    CHECK(push(r, 512, 0));
    CHECK(push(r, 256, 1)); /* head 768 */
    const ring_rec *rec = ring_peek(r);
    ring_release(r, rec); /* tail 512: 256 free at the end, 512 at the start */
    CHECK(ring_reserve(r, 520) == NULL);
    CHECK(atomic_load(&r->head) == 768);
    CHECK(push(r, 512, 2)); /* PAD(256) + 512 at the start: exactly full */
    CHECK(atomic_load(&r->head) == 768 + 256 + 512);
    CHECK(!push(r, 8, 3));
    rec = ring_peek(r);
    CHECK(rec && intact(rec, 1));
    if (rec) ring_release(r, rec);
    rec = ring_peek(r); /* the PAD is skipped */
    CHECK(rec && (const uint8_t *)rec == r->buf && intact(rec, 2));
    if (rec) ring_release(r, rec);
    CHECK(ring_empty(r));
    CHECK(ring_peek(r) == NULL);
    ring_unref(r);
    ring_unref(r);
}

static void t_rec_str(void) {
    ring *r = ring_create(4096, 0);
    const char *agent = "agent-7", *type = "task.started", *stack = "#0 f";
    uint32_t size = (uint32_t)(sizeof(ring_rec) + 7 + 12 + 0 + 4);
    size = (size + 7) & ~7u;
    ring_rec *rec = ring_reserve(r, size);
    CHECK(rec != NULL);
    if (!rec) return;
    memset(rec, 0, size);
    rec->size = size;
    rec->len[0] = 7;
    rec->len[1] = 12;
    rec->len[2] = RING_ABSENT; /* message absent */
    rec->len[3] = 0;           /* metadata present and empty */
    rec->len[4] = 4;
    char *p = (char *)(rec + 1);
    memcpy(p, agent, 7);
    memcpy(p + 7, type, 12);
    memcpy(p + 19, stack, 4);
    ring_commit(r, size);
    const ring_rec *got = ring_peek(r);
    CHECK(got != NULL);
    if (got) {
        const char *s0 = ring_rec_str(got, 0), *s1 = ring_rec_str(got, 1),
                   *s2 = ring_rec_str(got, 2), *s3 = ring_rec_str(got, 3),
                   *s4 = ring_rec_str(got, 4);
        CHECK(s0 == (const char *)(got + 1) && memcmp(s0, agent, 7) == 0);
        CHECK(s1 == s0 + 7 && memcmp(s1, type, 12) == 0);
        CHECK(s2 == NULL);
        CHECK(s3 != NULL && s3 == s1 + 12);
        CHECK(s4 == s3 && memcmp(s4, stack, 4) == 0);
        ring_release(r, got);
    }
    /* all absent */
    rec = ring_reserve(r, sizeof(ring_rec));
    CHECK(rec != NULL);
    if (!rec) return;
    memset(rec, 0, sizeof *rec);
    rec->size = sizeof(ring_rec);
    for (int i = 0; i < RING_NSTR; i++) rec->len[i] = RING_ABSENT;
    ring_commit(r, sizeof(ring_rec));
    got = ring_peek(r);
    CHECK(got != NULL);
    if (got) {
        for (int i = 0; i < RING_NSTR; i++) CHECK(ring_rec_str(got, i) == NULL);
        ring_release(r, got);
    }
    CHECK(ring_empty(r));
    ring_unref(r);
    ring_unref(r);
}

static void t_count(void) {
    ring *r = ring_create(4096, 0);
    for (int i = 0; i < 1000; i++) ring_count(&r->dropped_full);
    CHECK(atomic_load(&r->dropped_full) == 1000);
    ring_unref(r);
    ring_unref(r);
}

/* ---- one producer thread, one consumer thread ---- */

#define THREAD_RECORDS 2000000ull

typedef struct spsc {
    ring *r;
    int drop_when_full; /* 0: retry (no loss); 1: drop and count, like libtrace */
    uint64_t full_rejections, dropped, written;
    _Atomic int producer_done;
    /* consumer results */
    uint64_t received, out_of_order, damaged, last_seq;
} spsc;

static uint32_t size_for(uint64_t seq) {
    return (uint32_t)sizeof(ring_rec) + 8 * (uint32_t)(seq % 23);
}

static void *producer(void *arg) {
    spsc *s = arg;
    for (uint64_t seq = 1; seq <= THREAD_RECORDS; seq++) {
        uint32_t size = size_for(seq);
        for (;;) {
            ring_rec *rec = ring_reserve(s->r, size);
            if (rec) {
                fill(rec, size, seq);
                ring_commit(s->r, size);
                s->written++;
                break;
            }
            s->full_rejections++;
            if (s->drop_when_full) {
                s->dropped++;
                break;
            }
            sched_yield();
        }
        /* the dropping producer pauses now and then, so the consumer gets
         * a share even on one CPU and both full and non-full paths run */
        if (s->drop_when_full && seq % 64 == 0) sched_yield();
    }
    atomic_store_explicit(&s->producer_done, 1, memory_order_release);
    return NULL;
}

static void *consumer(void *arg) {
    spsc *s = arg;
    uint64_t expect = 1;
    unsigned idle = 0;
    for (;;) {
        const ring_rec *rec = ring_peek(s->r);
        if (!rec) {
            if (atomic_load_explicit(&s->producer_done, memory_order_acquire) &&
                ring_empty(s->r))
                break;
            if (++idle % 256 == 0) sched_yield(); /* spin a little first */
            continue;
        }
        uint64_t seq = rec->ticks;
        if (s->drop_when_full ? seq < expect : seq != expect) s->out_of_order++;
        if (rec->size != size_for(seq) || !intact(rec, seq)) s->damaged++;
        expect = seq + 1;
        s->last_seq = seq;
        s->received++;
        ring_release(s->r, rec);
    }
    return NULL;
}

static void run_spsc(spsc *s, uint64_t cap) {
    s->r = ring_create(cap, 0);
    pthread_t p, c;
    CHECK(pthread_create(&c, NULL, consumer, s) == 0);
    CHECK(pthread_create(&p, NULL, producer, s) == 0);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    ring_unref(s->r);
    ring_unref(s->r);
}

static void t_threads_no_loss(void) {
    spsc s;
    memset(&s, 0, sizeof s);
    run_spsc(&s, 1u << 16);
    CHECKF(s.received == THREAD_RECORDS, "received %llu",
           (unsigned long long)s.received);
    CHECK(s.written == THREAD_RECORDS);
    CHECKF(s.out_of_order == 0, "%llu out of order", (unsigned long long)s.out_of_order);
    CHECKF(s.damaged == 0, "%llu damaged", (unsigned long long)s.damaged);
    CHECK(s.last_seq == THREAD_RECORDS);
    fprintf(stderr, "ring: retrying producer: %llu full-rejections over %llu records\n",
            (unsigned long long)s.full_rejections, (unsigned long long)THREAD_RECORDS);
}

static void t_threads_drop_when_full(void) {
    /* a small ring so it does fill: what is not dropped arrives in order
     * and whole, and nothing is lost without being counted */
    spsc s;
    memset(&s, 0, sizeof s);
    s.drop_when_full = 1;
    run_spsc(&s, 4096);
    CHECK(s.received + s.dropped == THREAD_RECORDS);
    CHECK(s.received == s.written);
    CHECK(s.full_rejections == s.dropped);
    CHECK(s.received > 0);
    CHECKF(s.out_of_order == 0, "%llu out of order", (unsigned long long)s.out_of_order);
    CHECKF(s.damaged == 0, "%llu damaged", (unsigned long long)s.damaged);
    fprintf(stderr, "ring: dropping producer: %llu of %llu dropped when full\n",
            (unsigned long long)s.dropped, (unsigned long long)THREAD_RECORDS);
}

int main(void) {
    check_run("layout", t_layout);
    check_run("empty", t_empty);
    check_run("full, drain, refill", t_full_drain_refill);
    check_run("wrap with PAD", t_wrap_with_pad);
    check_run("PAD needs room", t_pad_needs_room);
    check_run("record strings", t_rec_str);
    check_run("counter", t_count);
    check_run("two threads, no loss", t_threads_no_loss);
    check_run("two threads, drop when full", t_threads_drop_when_full);
    return check_main("ring");
}
