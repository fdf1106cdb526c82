/*
 * flusher.c — the one background thread between the rings and the wire.
 *
 * It polls every ring every few milliseconds (producers never signal it:
 * a wake-up would cost them a syscall), encodes what it finds into a
 * batch, and sends the batch when it holds max_events_per_batch events or
 * its first event is flush_interval_ms old. Sends never block while the
 * process runs: a batch ZeroMQ cannot queue is dropped and counted, and
 * every count travels in the header of the next batch that gets out. Only
 * trace_shutdown() waits, for a bounded time, to deliver the last events.
 *
 * The ZeroMQ socket and the encoder belong to this thread alone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "../wire/wire.h"
#include "internal.h"

#define TR_SHUTDOWN_BUDGET_MS 2000
#define TR_FILL_RATE_TAU_MS 100.0

typedef struct flusher {
    wire_encoder enc;
    /* when the current batch's first event was recorded (not drained): the
     * 50 ms promise is about an event's age, however long it sat in a ring */
    uint64_t batch_started_ms;
    uint64_t last_send_ms;
    /* events drained per ms, two ways: rate_per_ms rises at once with a
     * burst and bounds the sleep so no ring fills; fill_rate_per_ms is the
     * mean over about TR_FILL_RATE_TAU_MS and predicts when the open batch
     * will be full, so a burst met by chance does not cut the next sleeps
     * short (each wake-up costs the process a context switch) */
    double rate_per_ms;
    double fill_rate_per_ms;
    uint64_t sequence;         /* of the last batch sent */
    /* drops already reported in a header: full, transport, too large */
    uint64_t reported[3];
    int final_phase;
    uint64_t deadline_ms; /* of the final phase */
    char msg[4096];       /* a formatted message, until encoded */
    uint32_t selfmon_events; /* in the current batch: not the producers' */
} flusher;

static void fl_begin(flusher *f) {
    const char *t = tr.cfg.trace_id, *s = tr.cfg.session_id;
    wire_encoder_begin(&f->enc, (wire_str){t, (uint32_t)strlen(t)},
                       (wire_str){s, (uint32_t)strlen(s)});
}

static uint32_t fl_delta(uint64_t total, uint64_t reported) {
    uint64_t d = total - reported;
    return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static int fl_send(flusher *f, const uint8_t *msg, size_t len) {
    if (!f->final_phase) return zmq_send(tr.zsock, msg, len, ZMQ_DONTWAIT);
    /* shutdown: wait, but only for what is left of the budget */
    uint64_t now = tr_mono_ms();
    int timeout = now >= f->deadline_ms ? 0 : (int)(f->deadline_ms - now);
    zmq_setsockopt(tr.zsock, ZMQ_SNDTIMEO, &timeout, sizeof timeout);
    return zmq_send(tr.zsock, msg, len, 0);
}

/* Events lost so far, by the header's three reasons: ring full,
 * transport, other (too large or invalid). */
static void fl_drop_totals(uint64_t out[3]) {
    uint64_t s[TR_NCOUNTERS];
    pthread_mutex_lock(&tr.reg_lock);
    tr_stats_sum(s);
    pthread_mutex_unlock(&tr.reg_lock);
    out[0] = s[TR_DROPPED_FULL];
    out[1] = atomic_load(&tr.dropped_transport);
    out[2] = s[TR_DROPPED_LARGE] + s[TR_DROPPED_INVALID];
}

/* Send the current batch (possibly empty, to report drops or finality). */
static void fl_flush(flusher *f, int final) {
    uint64_t total[3];
    fl_drop_totals(total);
    wire_header h = {0};
    h.producer_id = tr.producer_id;
    h.sequence = f->sequence + 1;
    h.flags = final ? WIRE_FLAG_FINAL : 0;
    h.dropped_ring_full = fl_delta(total[0], f->reported[0]);
    h.dropped_transport = fl_delta(total[1], f->reported[1]);
    h.dropped_other = fl_delta(total[2], f->reported[2]);
    /* the producers' events; libtrace's own reports are not theirs to count */
    uint64_t n = wire_encoder_events(&f->enc) - f->selfmon_events;
    const uint8_t *msg;
    size_t len;
    if (wire_encoder_finish(&f->enc, &h, &msg, &len) == 0 &&
        fl_send(f, msg, len) >= 0) {
        f->sequence++;
        f->reported[0] += h.dropped_ring_full;
        f->reported[1] += h.dropped_transport;
        f->reported[2] += h.dropped_other;
        atomic_fetch_add(&tr.sent, n);
        atomic_fetch_add(&tr.batches, 1);
    } else {
        /* the sequence number is reused, so the collector sees no gap for
         * a batch that never left: the loss is reported as a count */
        atomic_fetch_add(&tr.dropped_transport, n);
    }
    f->last_send_ms = tr_mono_ms();
    f->batch_started_ms = 0;
    f->selfmon_events = 0;
    fl_begin(f);
}

/* The monotonic ms at which an event stamped ts_us was recorded. */
static uint64_t fl_recorded_ms(uint64_t ts_us) {
    uint64_t now_ms = tr_mono_ms(), now_us = tr_now_us();
    uint64_t age_ms = now_us > ts_us ? (now_us - ts_us) / 1000 : 0;
    return age_ms < now_ms ? now_ms - age_ms : 1;
}

/* Format a deferred record's message into f->msg (format.c). */
static wire_str fl_format(flusher *f, const ring_rec *rec, wire_str *type) {
    const ring_deferred *d = (const ring_deferred *)(rec + 1);
    tr_farg args[TR_MAX_ARGS];
    char strs[TR_MAX_ARGS][TR_MAX_STR_ARG + 1];
    const char *sp = (const char *)&d->args[d->nargs];
    unsigned n = d->nargs < TR_MAX_ARGS ? d->nargs : TR_MAX_ARGS;
    for (unsigned i = 0; i < n; i++) {
        args[i].tag = d->args[i].tag;
        args[i].v.u = d->args[i].val;
        args[i].s = NULL;
        if (d->args[i].tag == TRACE__T_S && d->args[i].val != UINT64_MAX) {
            size_t len = (size_t)d->args[i].val;
            size_t keep = len < sizeof strs[i] ? len : sizeof strs[i] - 1;
            memcpy(strs[i], sp, keep);
            strs[i][keep] = 0;
            args[i].s = strs[i];
            sp += len;
        }
    }
    *type = (wire_str){d->type, (uint32_t)strlen(d->type)};
    size_t len = tr_format(f->msg, sizeof f->msg, d->fmt, args, n);
    return (wire_str){f->msg, (uint32_t)len};
}

static void fl_add(flusher *f, const ring_rec *rec) {
    wire_event ev = {0};
    wire_str *str[RING_NSTR] = {&ev.agent, &ev.type, &ev.message,
                                &ev.metadata, &ev.stack};
    for (int i = 0; i < RING_NSTR; i++) {
        const char *p = ring_rec_str(rec, i);
        *str[i] = (wire_str){p, p ? rec->len[i] : 0};
    }
    if (rec->flags & RING_DEFERRED) ev.message = fl_format(f, rec, &ev.type);
    ev.ts_us = tr_ticks_to_us(rec->ticks);
    ev.span_id = rec->span_id;
    ev.parent_id = rec->parent_id;
    ev.duration_us = rec->kind == WIRE_KIND_SPAN_END
                         ? tr_ticks_span_us(rec->duration, rec->ticks)
                         : rec->duration;
    ev.aux = rec->aux;
    ev.count = 1;
    ev.level = rec->level;
    ev.kind = rec->kind;
    if (wire_encoder_add(&f->enc, &ev)) {
        /* the batch is at its byte limit: send it and retry once (a
         * record always fits an empty batch: ring.c caps its size) */
        fl_flush(f, 0);
        if (wire_encoder_add(&f->enc, &ev)) {
            atomic_fetch_add(&tr.dropped_transport, 1);
            return;
        }
    }
    if (!f->batch_started_ms) f->batch_started_ms = fl_recorded_ms(ev.ts_us);
    if (wire_encoder_count(&f->enc) >= tr.cfg.max_events_per_batch)
        fl_flush(f, 0);
}

/* An event of libtrace's own (agent "libtrace") straight into the batch;
 * counted apart from the producers' events. */
static void fl_own_event(flusher *f, const char *type, const char *message,
                         const char *metadata, trace_level level) {
    wire_event ev = {0};
    ev.agent = (wire_str){"libtrace", 8};
    ev.type = (wire_str){type, (uint32_t)strlen(type)};
    ev.message = (wire_str){message, (uint32_t)strlen(message)};
    ev.metadata = (wire_str){metadata, (uint32_t)strlen(metadata)};
    ev.ts_us = tr_now_us();
    ev.count = 1;
    ev.level = level;
    if (wire_encoder_add(&f->enc, &ev) == 0) {
        f->selfmon_events++;
        if (!f->batch_started_ms) f->batch_started_ms = tr_mono_ms();
    }
}

/* A system.overhead event (selfmon.c) when one is due. */
static void fl_overhead(flusher *f, int force) {
    char meta[768];
    if (tr_selfmon_due(meta, sizeof meta, force))
        fl_own_event(f, "system.overhead", "tracing overhead", meta, TRACE_DEBUG);
}

/* Drain every ring; free rings whose thread has exited and that are empty.
 * Returns the number of events taken. */
static uint64_t fl_drain(flusher *f) {
    uint64_t taken = 0;
    pthread_mutex_lock(&tr.reg_lock);
    ring *r = tr.rings;
    pthread_mutex_unlock(&tr.reg_lock);
    /* Only this thread unlinks, and registration only prepends, so the
     * list from r onwards is stable without the lock. */
    for (; r; r = r->next) {
        const ring_rec *rec;
        while ((rec = ring_peek(r))) {
            fl_add(f, rec);
            ring_release(r, rec);
            taken++;
        }
    }
    /* reap: an orphaned ring seen empty after the orphan flag is final */
    pthread_mutex_lock(&tr.reg_lock);
    for (ring **pp = &tr.rings; *pp;) {
        ring *x = *pp;
        if (atomic_load_explicit(&x->orphaned, memory_order_acquire) &&
            ring_empty(x)) {
            *pp = x->next;
            tr_fold_ring(x);
            ring_unref(x);
        } else {
            pp = &x->next;
        }
    }
    pthread_mutex_unlock(&tr.reg_lock);
    return taken;
}

static uint64_t fl_unreported(const flusher *f) {
    uint64_t total[3];
    fl_drop_totals(total);
    return (total[0] - f->reported[0]) + (total[1] - f->reported[1]) +
           (total[2] - f->reported[2]);
}

static void fl_sleep_ms(unsigned ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* How long to sleep before the next drain. Every wake-up costs the process
 * a context switch (tens of µs on a VM), so sleep as long as the batching
 * promises allow: until the open batch is due, until the observed event rate
 * would fill a batch, and never so long that a ring could get half full. */
static unsigned fl_next_sleep_ms(const flusher *f, uint64_t now) {
    unsigned interval = tr.cfg.flush_interval_ms;
    double sleep = interval;
    if (f->batch_started_ms) {
        uint64_t age = now - f->batch_started_ms;
        sleep = age >= interval ? 0 : (double)(interval - age);
    }
    if (f->fill_rate_per_ms > 0.001) {
        uint32_t pending = wire_encoder_count(&f->enc);
        uint32_t room = tr.cfg.max_events_per_batch > pending
                            ? tr.cfg.max_events_per_batch - pending : 1;
        /* half again the mean time to fill it: events come in bursts, so
         * waking at the mean finds the batch short half the time, and a
         * second wake-up follows a few ms later; a late wake-up only sends
         * a full batch somewhat older, never later than its deadline */
        double to_batch = 1.5 * room / f->fill_rate_per_ms;
        if (to_batch < sleep) sleep = to_batch;
    }
    if (f->rate_per_ms > 0.001) {
        /* a ring record is at least 64 bytes; all the rate in one ring */
        double to_half = (double)tr.cfg.ring_kb * 1024 / 64 / 2 / f->rate_per_ms;
        if (to_half < sleep) sleep = to_half;
    }
    return sleep < 1 ? 1 : (unsigned)sleep;
}

static void fl_observe_rate(flusher *f, uint64_t taken, uint64_t since_ms) {
    double now_rate = (double)taken / (double)(since_ms ? since_ms : 1);
    /* rise at once (a burst must not overrun a ring), decay slowly */
    f->rate_per_ms = now_rate > f->rate_per_ms
                         ? now_rate
                         : 0.7 * f->rate_per_ms + 0.3 * now_rate;
    /* weighted by the time it covers: a 2 ms glimpse of a burst moves the
     * mean by 2 %, a 100 ms stretch by half */
    double w = (double)since_ms / ((double)since_ms + TR_FILL_RATE_TAU_MS);
    f->fill_rate_per_ms += w * (now_rate - f->fill_rate_per_ms);
}

/* A thread is dying of a fatal signal (crash.c): everything the rings
 * hold and a system.crash event go out as the final batch, and the socket
 * is closed with a linger so ZeroMQ writes them before the process dies.
 * This runs on the flusher thread, never in the handler. */
static void fl_crash(flusher *f, int sig) {
    uint64_t budget = tr.cfg.crash_flush_ms;
    f->final_phase = 1;
    f->deadline_ms = tr_mono_ms() + budget / 2;
    fl_drain(f);
    fl_overhead(f, 1); /* its "sent" lets the collector count what went missing */
    char meta[96];
    snprintf(meta, sizeof meta, "{\"signal\":%d,\"name\":\"%s\",\"pid\":%ld}", sig,
             tr_crash_signame(sig), (long)getpid());
    char msg[64];
    snprintf(msg, sizeof msg, "process crashed: %s", tr_crash_signame(sig));
    fl_own_event(f, "system.crash", msg, meta, TRACE_ERROR);
    fl_flush(f, 1);
    uint64_t now = tr_mono_ms(), end = f->deadline_ms + budget / 4;
    int linger = now >= end ? 0 : (int)(end - now);
    zmq_setsockopt(tr.zsock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(tr.zsock);
    zmq_ctx_term(tr.zctx); /* returns once the batch is written or linger ends */
    tr.zsock = tr.zctx = NULL;
    atomic_store(&tr.crash_done, 1);
}

static void *fl_main(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "trace-flusher"); /* for top, perf, gdb */
    atomic_store(&tr.flusher_tid, (int)syscall(SYS_gettid));
    flusher f;
    memset(&f, 0, sizeof f);
    wire_encoder_init(&f.enc);
    f.enc.merge = tr.cfg.merge;
    fl_begin(&f);
    unsigned interval = tr.cfg.flush_interval_ms;
    f.last_send_ms = tr_mono_ms();
    uint64_t last_drain = f.last_send_ms;
    while (!atomic_load(&tr.stopping)) {
        int sig = atomic_load(&tr.crash_sig);
        if (sig) {
            fl_crash(&f, sig);
            /* the process is about to die; nobody joins us */
            return NULL;
        }
        tr_clock_refresh(0);
        tr_sampler_tick();
        fl_overhead(&f, 0);
        uint64_t taken = fl_drain(&f);
        uint64_t now = tr_mono_ms();
        fl_observe_rate(&f, taken, now - last_drain);
        last_drain = now;
        if (f.batch_started_ms && now - f.batch_started_ms >= interval)
            fl_flush(&f, 0);
        else if (!f.batch_started_ms && now - f.last_send_ms >= interval &&
                 fl_unreported(&f))
            fl_flush(&f, 0); /* an empty batch that only reports drops */
        fl_sleep_ms(fl_next_sleep_ms(&f, tr_mono_ms()));
    }
    /* shutdown: producers are off; take what is left, then the final batch */
    f.final_phase = 1;
    f.deadline_ms = tr_mono_ms() + TR_SHUTDOWN_BUDGET_MS;
    fl_drain(&f);
    fl_overhead(&f, 1);
    fl_flush(&f, 1);
    wire_encoder_free(&f.enc);
    return NULL;
}

int tr_flusher_start(void) {
    if (pthread_create(&tr.flusher, NULL, fl_main, NULL)) return -1;
    tr.flusher_running = 1;
    return 0;
}

void tr_flusher_stop(void) {
    atomic_store(&tr.stopping, 1);
    pthread_join(tr.flusher, NULL);
    tr.flusher_running = 0;
}
