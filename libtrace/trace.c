/*
 * trace.c — libtrace's life cycle and the producer side of the hot path.
 *
 * trace_init() reads the configuration, opens the ZeroMQ socket and starts
 * the flusher; the record functions copy an event into the calling
 * thread's ring (registered on its first event) and return. Nothing here
 * takes a lock or allocates after a thread's first event. The flusher
 * (flusher.c) owns everything downstream of the rings.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "../wire/wire.h"
#include "internal.h"

tracer tr = {.reg_lock = PTHREAD_MUTEX_INITIALIZER};
int trace__on;

TR_TLS ring *tr_tl_ring;
static pthread_key_t tr_ring_key;
static pthread_once_t tr_once = PTHREAD_ONCE_INIT;

/* ---- configuration ---- */

static void tr_env_str(const char *name, char *dst, size_t cap) {
    const char *v = getenv(name);
    if (!v || !*v) return;
    if (strlen(v) >= cap) {
        fprintf(stderr, "libtrace: %s is too long; using the default\n", name);
        return;
    }
    memcpy(dst, v, strlen(v) + 1);
}

static void tr_env_uint(const char *name, unsigned *dst, unsigned lo,
                        unsigned hi) {
    const char *v = getenv(name);
    if (!v || !*v) return;
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || *end || n < lo || n > hi || v[0] == '-')
        fprintf(stderr, "libtrace: %s=%s is not an integer in %u..%u; using %u\n",
                name, v, lo, hi, *dst);
    else
        *dst = (unsigned)n;
}

static int tr_env_bool(const char *name, int dflt) {
    const char *v = getenv(name);
    if (!v || !*v) return dflt;
    if (!strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "no") ||
        !strcasecmp(v, "off"))
        return 0;
    if (!strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
        !strcasecmp(v, "on"))
        return 1;
    fprintf(stderr, "libtrace: %s=%s is not a boolean; using %s\n", name, v,
            dflt ? "on" : "off");
    return dflt;
}

static void tr_default_trace_id(char *dst, size_t cap) {
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, 0) != sizeof r) r = (uint32_t)tr_now_us();
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(dst, cap, "swarm-%04d%02d%02d-%02d%02d%02d-%06x",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, r & 0xFFFFFF);
}

void trace_config_from_env(trace_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    strcpy(cfg->collector_url, "tcp://127.0.0.1:5555");
    cfg->sampling_rate = 0.1;
    cfg->max_events_per_batch = 100;
    cfg->flush_interval_ms = 50;
    cfg->ring_kb = 256;
    tr_env_str("TRACE_COLLECTOR_URL", cfg->collector_url,
               sizeof cfg->collector_url);
    cfg->enabled = tr_env_bool("TRACING_ENABLED", 1);
    const char *sr = getenv("TRACE_SAMPLING_RATE");
    if (sr && *sr) {
        char *end;
        double d = strtod(sr, &end);
        if (*end || !(d >= 0.0 && d <= 1.0))
            fprintf(stderr, "libtrace: TRACE_SAMPLING_RATE=%s is not in "
                            "0..1; using %.2f\n", sr, cfg->sampling_rate);
        else
            cfg->sampling_rate = d;
    }
    tr_env_uint("MAX_EVENTS_PER_BATCH", &cfg->max_events_per_batch, 1, 10000);
    tr_env_uint("FLUSH_INTERVAL_MS", &cfg->flush_interval_ms, 1, 60000);
    tr_env_uint("TRACE_RING_KB", &cfg->ring_kb, 16, 65536);
    cfg->adaptive = tr_env_bool("TRACE_ADAPTIVE", 1);
    cfg->overhead_interval_ms = 5000;
    cfg->merge = tr_env_bool("TRACE_MERGE", 1);
    tr_env_uint("TRACE_OVERHEAD_INTERVAL_MS", &cfg->overhead_interval_ms, 0, 3600000);
    tr_env_str("TRACE_FILTERS", cfg->filters, sizeof cfg->filters);
    tr_default_trace_id(cfg->trace_id, sizeof cfg->trace_id);
    tr_env_str("TRACE_ID", cfg->trace_id, sizeof cfg->trace_id);
    tr_env_str("TRACE_SESSION_ID", cfg->session_id, sizeof cfg->session_id);
    cfg->crash_handler = tr_env_bool("TRACE_CRASH_HANDLER", 1);
    cfg->crash_flush_ms = 1000;
    tr_env_uint("TRACE_CRASH_FLUSH_MS", &cfg->crash_flush_ms, 10, 10000);
    tr_env_str("TRACE_CURVE_SERVER_KEY", cfg->curve_server_key, sizeof cfg->curve_server_key);
    tr_env_str("TRACE_CURVE_PUBLIC_KEY", cfg->curve_public_key, sizeof cfg->curve_public_key);
    tr_env_str("TRACE_CURVE_SECRET_KEY", cfg->curve_secret_key, sizeof cfg->curve_secret_key);
}

/* A Z85 CURVE key: exactly 40 characters that decode to 32 bytes. */
static int tr_z85_key_ok(const char *k) {
    uint8_t raw[32];
    return strnlen(k, 41) == 40 && zmq_z85_decode(raw, k) != NULL;
}

static int tr_config_check(const trace_config *c) {
    const char *why = NULL;
    if (!memchr(c->collector_url, 0, sizeof c->collector_url) ||
        !c->collector_url[0])
        why = "collector_url is empty or not terminated";
    else if (!memchr(c->trace_id, 0, sizeof c->trace_id) || !c->trace_id[0])
        why = "trace_id is empty or not terminated";
    else if (!memchr(c->session_id, 0, sizeof c->session_id))
        why = "session_id is not terminated";
    else if (!(c->sampling_rate >= 0.0 && c->sampling_rate <= 1.0))
        why = "sampling_rate must be in 0..1";
    else if (c->max_events_per_batch < 1 || c->max_events_per_batch > 10000)
        why = "max_events_per_batch must be in 1..10000";
    else if (c->flush_interval_ms < 1 || c->flush_interval_ms > 60000)
        why = "flush_interval_ms must be in 1..60000";
    else if (c->ring_kb < 16 || c->ring_kb > 65536)
        why = "ring_kb must be in 16..65536";
    else if (c->overhead_interval_ms > 3600000)
        why = "overhead_interval_ms must be at most 3600000";
    else if (!memchr(c->filters, 0, sizeof c->filters))
        why = "filters is not terminated";
    else if (c->crash_flush_ms > 10000)
        why = "crash_flush_ms must be at most 10000 (0: the default)";
    else if (!memchr(c->curve_server_key, 0, sizeof c->curve_server_key) ||
             !memchr(c->curve_public_key, 0, sizeof c->curve_public_key) ||
             !memchr(c->curve_secret_key, 0, sizeof c->curve_secret_key))
        why = "a CURVE key is not terminated";
    else if (c->curve_server_key[0] && !tr_z85_key_ok(c->curve_server_key))
        why = "curve_server_key (TRACE_CURVE_SERVER_KEY) is not a 40-character Z85 key";
    else if (!c->curve_public_key[0] != !c->curve_secret_key[0])
        why = "curve_public_key and curve_secret_key go together";
    else if (c->curve_public_key[0] && (!tr_z85_key_ok(c->curve_public_key) ||
                                        !tr_z85_key_ok(c->curve_secret_key)))
        why = "curve_public_key / curve_secret_key are not 40-character Z85 keys";
    else if (c->curve_public_key[0] && !c->curve_server_key[0])
        why = "a CURVE client keypair needs curve_server_key";
    if (why) fprintf(stderr, "libtrace: invalid configuration: %s\n", why);
    return why ? -1 : 0;
}

/* ---- threads and fork ---- */

static void tr_thread_exit(void *p) {
    ring *r = p;
    /* this thread's TLS goes away after us: keep what it counted */
    pthread_mutex_lock(&tr.reg_lock);
    if (r->tl_sampled_out) {
        atomic_fetch_add(&r->sampled_out,
                         __atomic_load_n(r->tl_sampled_out, __ATOMIC_RELAXED));
        r->tl_sampled_out = NULL;
    }
    pthread_mutex_unlock(&tr.reg_lock);
    atomic_store_explicit(&r->orphaned, 1, memory_order_release);
    ring_unref(r);
}

/* The forked child has none of the parent's threads: no flusher, no
 * ZeroMQ I/O thread. It starts disabled and forgets (leaks) the parent's
 * state rather than touch locks or sockets that may be mid-use. */
static void tr_atfork_child(void) {
    __atomic_store_n(&trace__on, 0, __ATOMIC_RELAXED);
    pthread_mutex_init(&tr.reg_lock, NULL);
    tr.rings = NULL;
    tr.flusher_running = 0;
    tr.zctx = tr.zsock = NULL;
    atomic_fetch_add(&tr.gen, 1);
}

static void tr_once_init(void) {
    pthread_key_create(&tr_ring_key, tr_thread_exit);
    pthread_atfork(NULL, NULL, tr_atfork_child);
}

static uint64_t tr_ring_bytes(void) {
    uint64_t want = (uint64_t)tr.cfg.ring_kb * 1024, cap = 16384;
    while (cap < want) cap <<= 1;
    return cap;
}

/* tr_thread_ring() found no ring of this generation for the thread. */
ring *tr_thread_ring_slow(void) {
    unsigned gen = atomic_load_explicit(&tr.gen, memory_order_relaxed);
    ring *r = tr_tl_ring;
    if (r) ring_unref(r); /* a previous trace_init()'s ring */
    tr_tl_ring = NULL;
    pthread_setspecific(tr_ring_key, NULL);
    r = ring_create(tr_ring_bytes(), gen);
    if (!r) return NULL;
    tr_rng_seed();
    __atomic_store_n(&trace__tl_sampled_out, 0, __ATOMIC_RELAXED);
    r->tl_sampled_out = &trace__tl_sampled_out;
    pthread_mutex_lock(&tr.reg_lock);
    r->next = tr.rings;
    tr.rings = r;
    pthread_mutex_unlock(&tr.reg_lock);
    pthread_setspecific(tr_ring_key, r);
    tr_tl_ring = r;
    return r;
}

/* ---- the record path ---- */

/* Reserve a record of `size` bytes (header included, 8-aligned) and fill
 * the header; NULL, counted, when the ring is full. */
static inline __attribute__((always_inline)) ring_rec *
tr_rec_begin(ring *r, uint64_t size, int kind,
           trace_level level, uint64_t ticks) {
    if (size > r->max_record) {
        ring_count(&r->dropped_large);
        return NULL;
    }
    ring_rec *rec = ring_reserve(r, (uint32_t)size);
    if (!rec) {
        ring_count(&r->dropped_full);
        return NULL;
    }
    rec->size = (uint32_t)size;
    rec->kind = (uint8_t)kind;
    rec->level = (uint8_t)level;
    rec->flags = 0;
    rec->ticks = ticks ? ticks : tr_ticks();
    rec->span_id = rec->parent_id = rec->duration = rec->aux = 0;
    rec->extra = 0;
    return rec;
}

/* Copy the strings after the header (and after `extra` bytes). */
static inline __attribute__((always_inline)) void
tr_rec_strings(ring_rec *rec, const char *const str[RING_NSTR],
               const uint32_t len[RING_NSTR]) {
    char *p = (char *)(rec + 1) + rec->extra;
    for (int i = 0; i < RING_NSTR; i++) {
        rec->len[i] = len[i];
        if (len[i] != RING_ABSENT) {
            memcpy(p, str[i], len[i]);
            p += len[i];
        }
    }
}

/* String lengths and the bytes they need; -1 if agent or type is not a
 * name the wire accepts (counted: such an event would sink its batch). */
static int tr_measure(ring *r, const char *const str[RING_NSTR],
                      uint32_t len[RING_NSTR], uint64_t *bytes,
                      trace_level level) {
    *bytes = 0;
    for (int i = 0; i < RING_NSTR; i++) {
        len[i] = str[i] ? (uint32_t)strnlen(str[i], r->max_record) : RING_ABSENT;
        if (str[i]) *bytes += len[i];
    }
    if ((str[0] && (len[0] == 0 || len[0] > WIRE_MAX_NAME)) ||
        (str[1] && (len[1] == 0 || len[1] > WIRE_MAX_NAME)) ||
        (unsigned)level > TRACE_ERROR) {
        ring_count(&r->dropped_invalid);
        return -1;
    }
    return 0;
}

void tr_record(int kind, trace_level level, uint64_t span_id,
               uint64_t parent_id, uint64_t duration, uint64_t aux,
               const char *const str[RING_NSTR], uint64_t ticks) {
    ring *r = tr_thread_ring();
    if (!r) return;
    ring_count(&r->recorded);
    uint32_t len[RING_NSTR];
    uint64_t bytes;
    if (tr_measure(r, str, len, &bytes, level)) return;
    uint64_t size = (sizeof(ring_rec) + bytes + 7) & ~(uint64_t)7;
    ring_rec *rec = tr_rec_begin(r, size, kind, level, ticks);
    if (!rec) return;
    rec->span_id = span_id;
    rec->parent_id = parent_id;
    rec->duration = duration;
    rec->aux = aux;
    tr_rec_strings(rec, str, len);
    ring_commit(r, (uint32_t)size);
}


/* The hot path of trace_event(): raw arguments into the ring; the flusher
 * formats them (format.c). */
void trace__emitf(trace__site *site, const char *agent, trace_level level,
                  const char *metadata, const trace__arg *args) {
    int word = __atomic_load_n(&site->priority, __ATOMIC_RELAXED);
    /* trace__keep() decided already unless the site was not resolved for
     * this generation, carries a filter, or the thread was new */
    int fresh = word >= 0 && (word >> 4) == trace__site_gen;
    if (!fresh) {
        word = tr_site_word(site->type);
        __atomic_store_n(&site->priority, word, __ATOMIC_RELAXED);
    }
    int prio = word & 7, flagged = (word >> 3) & 1;
    int decided = fresh && !flagged && trace__tl_rng != 0;
    ring *r = tr_thread_ring();
    if (!r) return;
    if ((flagged && agent && tr_filtered(site->type, agent, level)) ||
        (!decided && !tr_keep(prio, level))) {
        ring_count(&r->sampled_out);
        return;
    }
    ring_count(&r->recorded);
    /* the site's type was checked once, when its priority was resolved */
    size_t alen = agent ? strnlen(agent, WIRE_MAX_NAME + 1) : 0;
    if (prio == TR_INVALID || alen == 0 || alen > WIRE_MAX_NAME ||
        (unsigned)level > TRACE_ERROR) {
        ring_count(&r->dropped_invalid);
        return;
    }
    const char *str[RING_NSTR] = {agent, NULL, NULL, metadata, NULL};
    uint32_t len[RING_NSTR] = {(uint32_t)alen, RING_ABSENT, RING_ABSENT,
                               metadata ? (uint32_t)strnlen(metadata, r->max_record)
                                        : RING_ABSENT,
                               RING_ABSENT};
    uint32_t slen[TR_MAX_ARGS];
    uint64_t strbytes = 0;
    unsigned n = 0;
    for (; n < TR_MAX_ARGS && args[n].tag != TRACE__T_END; n++) {
        if (args[n].tag != TRACE__T_S) continue;
        slen[n] = args[n].v.s ? (uint32_t)strnlen(args[n].v.s, TR_MAX_STR_ARG) : UINT32_MAX;
        if (args[n].v.s) strbytes += slen[n];
    }
    uint32_t extra = (uint32_t)((sizeof(ring_deferred) + n * 16u + strbytes + 7) & ~7u);
    uint64_t size = (sizeof(ring_rec) + extra + len[0] +
                     (len[3] != RING_ABSENT ? len[3] : 0) + 7) & ~(uint64_t)7;
    ring_rec *rec = tr_rec_begin(r, size, WIRE_KIND_EVENT, level, 0);
    if (!rec) return;
    rec->flags = RING_DEFERRED;
    rec->extra = extra;
    ring_deferred *d = (ring_deferred *)(rec + 1);
    d->type = site->type;
    d->fmt = site->fmt;
    d->nargs = n;
    d->strbytes = (uint32_t)strbytes;
    char *sp = (char *)&d->args[n];
    for (unsigned i = 0; i < n; i++) {
        d->args[i].tag = args[i].tag;
        if (args[i].tag != TRACE__T_S) {
            d->args[i].val = args[i].v.u;
        } else if (slen[i] == UINT32_MAX) {
            d->args[i].val = UINT64_MAX;
        } else {
            d->args[i].val = slen[i];
            memcpy(sp, args[i].v.s, slen[i]);
            sp += slen[i];
        }
    }
    tr_rec_strings(rec, str, len);
    ring_commit(r, (uint32_t)size);
}

static int tr_on(void) { return __atomic_load_n(&trace__on, __ATOMIC_ACQUIRE); }

static void tr_count_sampled_out(void) {
    ring *r = tr_thread_ring();
    if (r) ring_count(&r->sampled_out);
}

/* Span ids: high bits from the producer keep the ids of different
 * processes of one trace apart; each thread takes ids from a block of
 * its own, so a span costs a shared atomic only once per 4096. */
#define TR_SPAN_BLOCK 4096
static TR_TLS uint64_t tr_span_next, tr_span_end;
static TR_TLS unsigned tr_span_gen;

uint64_t tr_new_span_id(void) {
    unsigned gen = atomic_load_explicit(&tr.gen, memory_order_relaxed);
    if (tr_span_next == tr_span_end || tr_span_gen != gen) {
        tr_span_next = atomic_fetch_add_explicit(&tr.span_seq, TR_SPAN_BLOCK,
                                                 memory_order_relaxed) + 1;
        tr_span_end = tr_span_next + TR_SPAN_BLOCK;
        tr_span_gen = gen;
    }
    return ((tr.producer_id & 0xFFFFFF) << 40) | (tr_span_next++ & 0xFFFFFFFFFFull);
}

/* Decide for an event under `parent`: filters first, then children
 * follow their span, everything else its priority. */
static int tr_decide(const trace_span *parent, const char *type,
                     const char *agent, trace_level level) {
    if (tr_filtered(type, agent, level)) return 0;
    if (parent && parent->dropped) return 0;
    if (parent && parent->id) return 1;
    return tr_keep(tr_priority_of(type), level);
}

void tr_emit(const trace_record *rec, int decision) {
    if (!tr_on() || !rec || !rec->agent || !rec->type) return;
    if (decision < 0) decision = tr_decide(rec->parent, rec->type, rec->agent, rec->level);
    else if (decision && tr_filtered(rec->type, rec->agent, rec->level)) decision = 0;
    if (!decision) {
        tr_count_sampled_out();
        return;
    }
    const char *str[RING_NSTR] = {rec->agent, rec->type, rec->message,
                                  rec->metadata, rec->stack_trace};
    tr_record(WIRE_KIND_EVENT, rec->level, 0, rec->parent ? rec->parent->id : 0,
              rec->duration_us, 0, str, 0);
}

void trace_emit(const trace_record *rec) { tr_emit(rec, -1); }

trace_span trace_span_begin(const char *agent, const char *type,
                            const trace_span *parent, const char *message,
                            const char *metadata) {
    trace_span s = {0, 0, 1};
    if (!tr_on() || !agent || !type) return s;
    if (!tr_decide(parent, type, agent, TRACE_INFO)) {
        tr_count_sampled_out();
        return s;
    }
    s.id = tr_new_span_id();
    s.start = tr_ticks();
    s.dropped = 0;
    const char *str[RING_NSTR] = {agent, type, message, metadata, NULL};
    tr_record(WIRE_KIND_SPAN_BEGIN, TRACE_INFO, s.id, parent ? parent->id : 0, 0, 0, str,
              s.start);
    return s;
}

void trace_span_end(const trace_span *span, const char *agent,
                    const char *type, trace_level level, const char *message,
                    const char *metadata) {
    if (!tr_on() || !span || !agent || !type) return;
    if (!span->id) { /* the span was sampled out: its end goes with it */
        tr_count_sampled_out();
        return;
    }
    const char *str[RING_NSTR] = {agent, type, message, metadata, NULL};
    /* the flusher turns the begin's ticks into the duration */
    tr_record(WIRE_KIND_SPAN_END, level, span->id, 0, span->start, 0, str, 0);
}

/* ---- life cycle ---- */

static uint64_t tr_random_id(void) {
    uint64_t id = 0;
    while (id == 0)
        if (getrandom(&id, sizeof id, 0) != sizeof id)
            id = tr_now_us() ^ ((uint64_t)getpid() << 32);
    return id;
}

/* Wait (at most `ms`) for the first ZeroMQ handshake with the collector,
 * so the first batches of a process that starts tracing at once are not
 * dropped for want of a connection that was a millisecond away. Start-up
 * only; when nobody listens it costs `ms`, once. */
#define TR_CONNECT_WAIT_MS 250
static void tr_wait_connected(void *monitor, int ms) {
    zmq_pollitem_t item = {monitor, 0, ZMQ_POLLIN, 0};
    uint64_t deadline = tr_mono_ms() + (uint64_t)ms;
    for (uint64_t now = tr_mono_ms(); now < deadline; now = tr_mono_ms()) {
        if (zmq_poll(&item, 1, (long)(deadline - now)) <= 0) continue;
        zmq_msg_t m;
        zmq_msg_init(&m);
        int n = zmq_msg_recv(&m, monitor, 0);
        uint16_t event = 0;
        if (n >= 2) memcpy(&event, zmq_msg_data(&m), sizeof event);
        int more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        while (more) { /* the address frame */
            zmq_msg_init(&m);
            zmq_msg_recv(&m, monitor, 0);
            more = zmq_msg_more(&m);
            zmq_msg_close(&m);
        }
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) return;
    }
}

/* CURVE client options, before connect. Without a keypair of its own the
 * agent makes one per trace_init(): enough for a collector that admits any
 * client knowing its key, and nothing secret to store. */
static int tr_transport_curve(void *sock) {
    const trace_config *c = &tr.cfg;
    if (!c->curve_server_key[0]) return 0;
    char pub[41], sec[41];
    if (c->curve_public_key[0]) {
        memcpy(pub, c->curve_public_key, sizeof pub);
        memcpy(sec, c->curve_secret_key, sizeof sec);
    } else if (zmq_curve_keypair(pub, sec)) {
        return -1;
    }
    int rc = zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, c->curve_server_key, 40) ||
             zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, 40) ||
             zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, 40);
    memset(sec, 0, sizeof sec);
    return rc ? -1 : 0;
}

static int tr_transport_open(void) {
    tr.zctx = zmq_ctx_new();
    if (!tr.zctx) return -1;
    tr.zsock = zmq_socket(tr.zctx, ZMQ_PUSH);
    /* IMMEDIATE: with no live connection a send fails at once and is
     * counted as a transport drop, instead of queueing into a pipe that a
     * collector may never drain */
    int hwm = 1000, linger = 0, immediate = 1;
    char monitor_url[64];
    snprintf(monitor_url, sizeof monitor_url, "inproc://libtrace-monitor-%llx",
             (unsigned long long)tr.producer_id);
    void *monitor = NULL;
    if (tr.zsock && zmq_socket_monitor(tr.zsock, monitor_url, ZMQ_EVENT_HANDSHAKE_SUCCEEDED) == 0) {
        monitor = zmq_socket(tr.zctx, ZMQ_PAIR);
        if (monitor && zmq_connect(monitor, monitor_url)) {
            zmq_close(monitor);
            monitor = NULL;
        }
    }
    if (!tr.zsock || tr_transport_curve(tr.zsock) ||
        zmq_setsockopt(tr.zsock, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(tr.zsock, ZMQ_IMMEDIATE, &immediate, sizeof immediate) ||
        zmq_setsockopt(tr.zsock, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_connect(tr.zsock, tr.cfg.collector_url)) {
        if (monitor) zmq_close(monitor);
        fprintf(stderr, "libtrace: cannot use collector endpoint '%s': %s\n",
                tr.cfg.collector_url, zmq_strerror(zmq_errno()));
        if (tr.zsock) zmq_close(tr.zsock);
        zmq_ctx_term(tr.zctx);
        tr.zsock = tr.zctx = NULL;
        return -1;
    }
    if (monitor) {
        tr_wait_connected(monitor, TR_CONNECT_WAIT_MS);
        zmq_socket_monitor(tr.zsock, NULL, 0);
        zmq_close(monitor);
    }
    return 0;
}

int trace_init(const trace_config *cfg) {
    pthread_once(&tr_once, tr_once_init);
    if (tr.flusher_running) {
        fprintf(stderr, "libtrace: trace_init called twice\n");
        return -1;
    }
    trace_config c;
    if (cfg) c = *cfg;
    else trace_config_from_env(&c);
    if (tr_config_check(&c)) return -1;
    if (!c.session_id[0]) memcpy(c.session_id, c.trace_id, sizeof c.session_id);
    if (!c.crash_flush_ms) c.crash_flush_ms = 1000;
    tr.cfg = c;
    /* counters run from this call, whether or not tracing is on */
    atomic_store(&tr.sent, 0);
    atomic_store(&tr.batches, 0);
    atomic_store(&tr.dropped_transport, 0);
    atomic_store(&tr.stopping, 0);
    memset(tr.folded, 0, sizeof tr.folded);
    if (!c.enabled) return 0;
    tr.producer_id = tr_random_id();
    if (tr_filters_set(c.filters)) return -1;
    tr_sampler_init(c.sampling_rate);
    /* every call site re-resolves its priority against these filters */
    __atomic_fetch_add(&trace__site_gen, 1, __ATOMIC_RELAXED);
    tr_clock_init();
    tr_selfmon_init();
    atomic_fetch_add(&tr.gen, 1);
    if (tr_transport_open()) return -1;
    if (tr_flusher_start()) {
        zmq_close(tr.zsock);
        zmq_ctx_term(tr.zctx);
        tr.zsock = tr.zctx = NULL;
        return -1;
    }
    if (c.crash_handler) tr_crash_install();
    __atomic_store_n(&trace__on, 1, __ATOMIC_RELEASE);
    return 0;
}

void trace_shutdown(void) {
    if (!tr.flusher_running) return;
    __atomic_store_n(&trace__on, 0, __ATOMIC_RELEASE);
    tr_crash_uninstall();
    tr_flusher_stop(); /* drains every ring and sends the final batch */
    /* let ZeroMQ finish transmitting what the flusher queued, boundedly */
    int linger = 2000;
    if (tr.zsock) { /* NULL: a crash flush (crash.c) closed it already */
        zmq_setsockopt(tr.zsock, ZMQ_LINGER, &linger, sizeof linger);
        zmq_close(tr.zsock);
        zmq_ctx_term(tr.zctx);
    }
    tr.zsock = tr.zctx = NULL;
    /* keep the totals readable by trace_get_stats() after shutdown */
    pthread_mutex_lock(&tr.reg_lock);
    for (ring *r = tr.rings, *next; r; r = next) {
        next = r->next;
        tr_fold_ring(r);
        ring_unref(r);
    }
    tr.rings = NULL;
    pthread_mutex_unlock(&tr.reg_lock);
}

int trace_is_enabled(void) { return tr_on(); }

const char *trace_current_trace_id(void) { return tr.cfg.trace_id; }

static void tr_ring_counters(const ring *r, uint64_t c[TR_NCOUNTERS]) {
    c[TR_RECORDED] = atomic_load_explicit(&r->recorded, memory_order_relaxed);
    c[TR_SAMPLED_OUT] = atomic_load_explicit(&r->sampled_out, memory_order_relaxed) +
                        (r->tl_sampled_out ? __atomic_load_n(r->tl_sampled_out, __ATOMIC_RELAXED) : 0);
    c[TR_DROPPED_FULL] = atomic_load_explicit(&r->dropped_full, memory_order_relaxed);
    c[TR_DROPPED_LARGE] = atomic_load_explicit(&r->dropped_large, memory_order_relaxed);
    c[TR_DROPPED_INVALID] = atomic_load_explicit(&r->dropped_invalid, memory_order_relaxed);
}

/* Keep a ring's counts once the ring itself is freed. */
void tr_fold_ring(const ring *r) {
    uint64_t c[TR_NCOUNTERS];
    tr_ring_counters(r, c);
    for (int i = 0; i < TR_NCOUNTERS; i++) tr.folded[i] += c[i];
}

void tr_stats_sum(uint64_t out[TR_NCOUNTERS]) {
    for (int i = 0; i < TR_NCOUNTERS; i++) out[i] = tr.folded[i];
    for (ring *r = tr.rings; r; r = r->next) {
        uint64_t c[TR_NCOUNTERS];
        tr_ring_counters(r, c);
        for (int i = 0; i < TR_NCOUNTERS; i++) out[i] += c[i];
    }
}

void trace_get_stats(trace_stats *out) {
    uint64_t s[TR_NCOUNTERS];
    pthread_mutex_lock(&tr.reg_lock);
    tr_stats_sum(s);
    pthread_mutex_unlock(&tr.reg_lock);
    memset(out, 0, sizeof *out);
    out->recorded = s[TR_RECORDED];
    out->sampled_out = s[TR_SAMPLED_OUT];
    out->dropped_ring_full = s[TR_DROPPED_FULL];
    out->dropped_too_large = s[TR_DROPPED_LARGE];
    out->dropped_invalid = s[TR_DROPPED_INVALID];
    out->sent = atomic_load(&tr.sent);
    out->batches_sent = atomic_load(&tr.batches);
    out->dropped_transport = atomic_load(&tr.dropped_transport);
}
