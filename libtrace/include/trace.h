/*
 * trace.h — libtrace, the agent side of the swarm tracer.
 *
 * This header is the whole public API and its manual. Link with -ltrace
 * (pkg-config --cflags --libs libtrace).
 *
 * MODEL
 *   A process that runs agents calls trace_init() once, then records events
 *   from any thread with the trace_event() macro family or the typed helpers
 *   below (agent lifecycle, tasks, messages, spans, snapshots). An event is
 *   copied into a ring owned by the calling thread and the call returns; a
 *   background flusher thread drains the rings, groups events into batches
 *   (up to max_events_per_batch events or flush_interval_ms, whichever comes
 *   first), LZ4-compresses them and pushes them to the collector over a
 *   ZeroMQ PUSH socket. The calling thread never blocks, never allocates
 *   after its first event, and never waits on the network: when a ring is
 *   full, or the collector is unreachable, events are dropped and counted,
 *   and the count travels in the next batch that does get out, so that loss
 *   is always visible at the collector.
 *
 *   Every process belongs to one trace (a swarm run), named by trace_id.
 *   Several processes that pass the same trace_id contribute to one trace.
 *
 * STRINGS
 *   Every string argument is copied before the call returns, except where a
 *   parameter says "static": those must be string literals (the macros
 *   enforce it at compile time) because the library keeps per-call-site
 *   state keyed by them. Strings are UTF-8. `metadata` arguments are JSON
 *   object texts such as "{\"tokens\":512}"; the collector keeps invalid JSON
 *   as a JSON string rather than losing it.
 *
 * EVENT TYPES
 *   Names follow claude-flow's taxonomy: agent.created|started|stopped|error|
 *   heartbeat, task.created|assigned|started|completed|failed,
 *   message.sent|received, coordination.*, topology.changed, system.*,
 *   custom.*. The type decides the sampling priority:
 *     critical  agent.created, agent.error, any event at TRACE_ERROR  never sampled out
 *     high      other agent.*, task.*, topology.*, snapshots          never sampled out
 *     medium    message.*, coordination.*                            sampled at sampling_rate
 *     low       everything else (custom.*, system.*, debug)          sampled at sampling_rate
 *   Adaptive sampling (on by default): every second the flusher looks at
 *   the process's CPU use; above 80 % of the machine it halves the rate in
 *   force, below 20 % it doubles it back, never above sampling_rate.
 *   Sampling is decided per span: a kept span keeps its children. Message
 *   events are decided by their msg_id, so a kept message.sent keeps its
 *   message.received. Filters (below) drop what a person does not want.
 *
 * THREADS AND FORK
 *   All functions are thread-safe. trace_init()/trace_shutdown() must not
 *   race with each other. After fork() the child starts with tracing
 *   disabled; it may call trace_init() again to trace on its own.
 *
 * TIMESTAMPS
 *   Integer microseconds since the Unix epoch (UTC), everywhere.
 */
#ifndef TRACE_H
#define TRACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRACE_VERSION_MAJOR 0
#define TRACE_VERSION_MINOR 1

/* Severity of an event; the collector and UI filter on it. */
typedef enum trace_level {
    TRACE_DEBUG = 0,
    TRACE_INFO = 1,
    TRACE_WARN = 2,
    TRACE_ERROR = 3
} trace_level;

/* Configuration. Fill it with trace_config_from_env(), change what you
 * need, pass it to trace_init(). trace_init(NULL) does exactly the first
 * step alone. Environment variables (all optional):
 *   TRACE_COLLECTOR_URL   ZeroMQ endpoint        default tcp://127.0.0.1:5555
 *   TRACING_ENABLED       0/false/no/off = off   default on
 *   TRACE_SAMPLING_RATE   0.0 .. 1.0             default 0.1
 *   MAX_EVENTS_PER_BATCH  1 .. 10000             default 100
 *   FLUSH_INTERVAL_MS     1 .. 60000             default 50
 *   TRACE_ID              trace to contribute to default: generated, unique
 *   TRACE_SESSION_ID      session the trace is in default: the trace id
 *   TRACE_RING_KB         per-thread ring size   default 256 (16 .. 65536)
 *   TRACE_ADAPTIVE        0/1: adapt the rate to CPU use      default 1
 *   TRACE_MERGE           0/1: identical consecutive events travel as one
 *                         record with a count (smart merge)   default 1
 *   TRACE_OVERHEAD_INTERVAL_MS  how often libtrace reports its own cost
 *                         as a "system.overhead" event from agent
 *                         "libtrace" (0 = never)              default 5000
 *   TRACE_FILTERS         rules that drop events, ';'-separated, each
 *                         TYPE_PREFIX[@AGENT_PREFIX][>=LEVEL]: events whose
 *                         type (and agent) start with the prefixes are
 *                         dropped unless at LEVEL (debug|info|warn|error)
 *                         or above; without >=LEVEL all are dropped.
 *                         "custom.;message.@coder->=warn" drops custom.*
 *                         and the coders' messages below warn. Critical
 *                         events (agent.created, agent.error) always pass.
 *   TRACE_CRASH_HANDLER   0/1: on SIGSEGV, SIGABRT, SIGBUS, SIGFPE or
 *                         SIGILL, deliver what the rings hold and a final
 *                         "system.crash" event before the process dies
 *                         (see CRASHES below)                 default 1
 *   TRACE_CRASH_FLUSH_MS  how long a crashing thread waits for that
 *                         delivery, 10 .. 10000               default 1000
 *   TRACE_CURVE_SERVER_KEY  the collector's CURVE public key (40 Z85
 *                         characters, from trace-collector --curve-keygen):
 *                         the connection is then encrypted and the
 *                         collector authenticated; unset = plain TCP
 *   TRACE_CURVE_PUBLIC_KEY, TRACE_CURVE_SECRET_KEY  this agent's own CURVE
 *                         keypair (Z85), for a collector that only admits
 *                         listed clients (--curve-allowed-clients); unset =
 *                         a fresh keypair per trace_init()
 * An invalid value is reported on stderr and the default is used. A
 * CURVE key that is not 40 Z85 characters makes trace_init() fail: an
 * agent told to talk securely never falls back to plain text.
 *
 * CRASHES
 *   With the crash handler on, a fatal signal in any thread hands the work
 *   to the flusher thread, which drains every ring, sends the pending
 *   batch plus a "system.crash" event (agent "libtrace", level error,
 *   metadata {"signal":N,"name":"SIGSEGV"}) as the producer's final batch
 *   and waits for ZeroMQ to put it on the wire; the collector then marks
 *   the trace as ended with status "error". The handler itself only sets
 *   a flag and waits (at most TRACE_CRASH_FLUSH_MS) for the flusher: no
 *   allocation, lock or ZeroMQ call runs in signal context. Then it
 *   restores the previous disposition (an application's or a sanitizer's
 *   handler, or the default) and re-raises, so the process still dies of
 *   its signal and dumps core as before. Best effort, by design: if the
 *   crash happened on the flusher thread, or while the crashing thread
 *   held libtrace's registry lock, or corrupted the heap, the wait times
 *   out and only the events of the last unflushed batch (at most
 *   max_events_per_batch, or flush_interval_ms worth) are lost. A process
 *   killed with SIGKILL loses the same at most, with no crash event.
 *   Handlers are installed by trace_init() and the previous ones put back
 *   by trace_shutdown(); install your own after trace_init() to run first.
 *   A program that survives such signals (its handler jumps away) should
 *   set TRACE_CRASH_HANDLER=0: after a crash flush libtrace has sent its
 *   final batch, and later events are dropped and counted as ring-full. */
typedef struct trace_config {
    char collector_url[256];
    char trace_id[128];
    char session_id[128];
    int enabled;              /* 0 = every call is a no-op */
    double sampling_rate;     /* for medium and low priority events */
    unsigned max_events_per_batch;
    unsigned flush_interval_ms;
    unsigned ring_kb;         /* bytes of ring per producing thread / 1024 */
    int adaptive;             /* adapt the sampling rate to CPU use */
    unsigned overhead_interval_ms; /* system.overhead events; 0 = none */
    int merge;                /* send repeats of an identical event as one
                                 record with a count */
    char filters[512];        /* TRACE_FILTERS syntax; "" = none */
    int crash_handler;        /* flush on a fatal signal (CRASHES) */
    unsigned crash_flush_ms;  /* the crashing thread waits this long */
    char curve_server_key[41]; /* Z85; "" = no CURVE (plain TCP) */
    char curve_public_key[41]; /* this agent's keypair; "" = ephemeral */
    char curve_secret_key[41];
} trace_config;

/* Fill *cfg with defaults overridden by the environment. */
void trace_config_from_env(trace_config *cfg);

/* Start tracing. cfg NULL: trace_config_from_env(). Returns 0 on success,
 * -1 if the configuration is invalid or the transport cannot be set up
 * (tracing then stays disabled and every call stays a cheap no-op). Calling
 * it twice without trace_shutdown() in between returns -1. */
int trace_init(const trace_config *cfg);

/* Deliver every pending event (waiting at most about two seconds for the
 * collector to take them), send the final batch, stop the flusher and
 * release everything. Events recorded after it starts are dropped. */
void trace_shutdown(void);

/* Nonzero between a successful trace_init() and trace_shutdown(). */
int trace_is_enabled(void);

/* The trace id this process records into (valid after trace_init()). */
const char *trace_current_trace_id(void);

/* Counters since trace_init(); every recorded event ends up in exactly one
 * of sent, sampled_out or one of the dropped_* counters (pending ones once
 * trace_shutdown() has returned). */
typedef struct trace_stats {
    uint64_t recorded;          /* calls that were not sampled out */
    uint64_t sampled_out;       /* calls discarded by the sampler, by design */
    uint64_t sent;              /* events handed to the transport */
    uint64_t batches_sent;
    uint64_t dropped_ring_full; /* producer outran the flusher */
    uint64_t dropped_transport; /* collector unreachable or too slow */
    uint64_t dropped_too_large; /* one event larger than the ring allows */
    uint64_t dropped_invalid;   /* empty or over-long (> 256 bytes) agent or
                                   type name, or an unknown level */
} trace_stats;
void trace_get_stats(trace_stats *out);

/* ---------------------------------------------------------------------
 * Spans: an operation with a duration. trace_span_begin() records the
 * begin event and returns a handle; pass &span as `parent` to nest events
 * and spans under it, and end it with trace_span_end(). Sampling is
 * decided once for the whole span: a kept span keeps all its children,
 * and the children of a span that was sampled out are dropped with it, so
 * no stored event names a parent that was not stored. The handle is a
 * plain value; copy it freely, end it once.
 * ------------------------------------------------------------------- */
typedef struct trace_span {
    uint64_t id;        /* 0: sampled out or tracing off */
    uint64_t start;     /* the library's clock; opaque */
    int dropped;        /* nonzero: children are dropped too */
} trace_span;

trace_span trace_span_begin(const char *agent, const char *type,
                            const trace_span *parent, const char *message,
                            const char *metadata);
void trace_span_end(const trace_span *span, const char *agent,
                    const char *type, trace_level level,
                    const char *message, const char *metadata);

/* ---------------------------------------------------------------------
 * The general event call. All fields but agent and type are optional
 * (zero / NULL). Returns nothing: an event that cannot be recorded is
 * counted, never reported to the caller.
 * ------------------------------------------------------------------- */
typedef struct trace_record {
    const char *agent;        /* who did it, e.g. "coder-2" */
    const char *type;         /* taxonomy name, e.g. "task.completed" */
    trace_level level;
    const char *message;      /* human-readable line */
    const char *metadata;     /* JSON object text */
    const char *stack_trace;  /* for errors */
    const trace_span *parent; /* enclosing span, or NULL */
    uint64_t duration_us;     /* for events that measured something */
} trace_record;
void trace_emit(const trace_record *rec);

/* printf-style events. `type` and the format are static (string
 * literals: the compiler checks it). Up to 9 arguments: integers, enums,
 * floating point, strings (char *, copied) and void * (for %p). The call
 * stores the raw arguments and returns; the flusher thread formats the
 * message later, so a kept event costs a few copies, not a vsnprintf, and
 * the arguments are evaluated only while tracing is on. The compiler
 * checks format and arguments as for printf (%n is never honoured).
 *   trace_event(agent, "custom.cache", TRACE_DEBUG, "hit %d/%d", h, n);
 *   trace_eventm(agent, "custom.llm", TRACE_INFO, "{\"tokens\":812}", "reply");
 */
#define trace_event(agent, type, level, ...)                                   \
    trace__EVENT(agent, type, level, NULL, __VA_ARGS__)
#define trace_eventm(agent, type, level, metadata, ...)                        \
    trace__EVENT(agent, type, level, metadata, __VA_ARGS__)
#define trace_debug(agent, type, ...) trace_event(agent, type, TRACE_DEBUG, __VA_ARGS__)
#define trace_info(agent, type, ...)  trace_event(agent, type, TRACE_INFO, __VA_ARGS__)
#define trace_warn(agent, type, ...)  trace_event(agent, type, TRACE_WARN, __VA_ARGS__)
#define trace_error(agent, type, ...) trace_event(agent, type, TRACE_ERROR, __VA_ARGS__)

/* ---------------------------------------------------------------------
 * The swarm integration surface (claude-flow's hooks). Each records one
 * event of the named type with the arguments in its metadata, so the
 * collector can build the agent graph and the UI can replay state.
 * ------------------------------------------------------------------- */

/* agent.created: `agent_type` is coordinator, researcher, coder, tester,
 * reviewer, ...; `spawned_by` the creating agent or NULL. */
void trace_agent_spawn(const char *agent, const char *agent_type,
                       const char *spawned_by);
/* agent.started / agent.stopped */
void trace_agent_start(const char *agent);
void trace_agent_stop(const char *agent, const char *reason);
/* agent.error at TRACE_ERROR; stack_trace may be NULL. */
void trace_agent_error(const char *agent, const char *message,
                       const char *stack_trace);
/* agent.heartbeat */
void trace_agent_heartbeat(const char *agent);

/* task.created by `agent`; task.assigned from `agent` to `assignee`. */
void trace_task_created(const char *agent, const char *task_id,
                        const char *description);
void trace_task_assigned(const char *agent, const char *task_id,
                         const char *assignee);
/* task.started opens a span; task.completed / task.failed close it. */
trace_span trace_task_start(const char *agent, const char *task_id,
                            const trace_span *parent);
void trace_task_complete(const trace_span *task, const char *agent,
                         const char *task_id, const char *result);
void trace_task_fail(const trace_span *task, const char *agent,
                     const char *task_id, const char *error);

/* message.sent by `from`, message.received by `to`; the same msg_id on
 * both lets the collector pair them into a link with its latency. */
void trace_message_sent(const char *from, const char *to,
                        const char *msg_id, const char *summary);
void trace_message_received(const char *to, const char *from,
                            const char *msg_id);

/* coordination.decision; metadata is an optional JSON object. */
void trace_coordination(const char *agent, const char *decision,
                        const char *metadata);
/* topology.changed: hierarchical, mesh, ring or star. */
void trace_topology_changed(const char *agent, const char *topology,
                            const char *metadata);
/* system.metric: a named number with its unit. */
void trace_metric(const char *agent, const char *name, double value,
                  const char *unit);

/* A snapshot of an agent's state for time-travel. state_type is
 * "agent_state", "memory_state" or "task_state"; state_json a JSON value.
 * A checksum of the state is sent with it and checked by the collector. */
void trace_snapshot(const char *agent, const char *state_type,
                    const char *state_json);

/* ---- private: used by the macros above; not part of the API. ---- */
typedef struct trace__site {
    const char *type;
    const char *fmt;
    int priority; /* -1 until first use */
} trace__site;
extern int trace__on;

/* The sampling decision, inline at the call site, so a sampled-out call
 * costs a few instructions and no function call. Set by trace_init()
 * before trace__on. The per-thread state lives in libtrace (initial-exec
 * TLS: a fixed offset from the thread pointer). */
extern int trace__sample_all;     /* rate in force is 1 */
extern unsigned trace__threshold; /* else keep when a 32-bit draw is below it */
extern int trace__site_gen;       /* site priorities older than this are stale */
#if defined(__GNUC__)
#define trace__TLS __thread __attribute__((tls_model("initial-exec")))
#else
#define trace__TLS _Thread_local
#endif
extern trace__TLS unsigned long long trace__tl_rng;         /* 0: not seeded yet */
extern trace__TLS unsigned long long trace__tl_sampled_out; /* read by the library */

/* A site's priority word: (generation << 4) | flags << 3 | priority.
 * Priorities 0 (low) and 1 (medium) of the current generation, with no
 * filter on the site, are sampled here; anything else (-1: not resolved
 * yet) goes to the library, which decides there. */
static inline int trace__keep(const int *site_priority, trace_level level) {
    int p = __atomic_load_n(site_priority, __ATOMIC_RELAXED);
    unsigned long long x = trace__tl_rng;
    if (p < 0 || (p & 15) > 1 || (p >> 4) != __atomic_load_n(&trace__site_gen, __ATOMIC_RELAXED) ||
        level == TRACE_ERROR || __atomic_load_n(&trace__sample_all, __ATOMIC_RELAXED) || !x)
        return 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    trace__tl_rng = x;
    if ((unsigned)(x >> 32) < __atomic_load_n(&trace__threshold, __ATOMIC_RELAXED)) return 1;
    /* single writer: a plain store the library may read at any time */
    __atomic_store_n(&trace__tl_sampled_out, trace__tl_sampled_out + 1,
                     __ATOMIC_RELAXED);
    return 0;
}

/* One captured argument: a tag and a 64-bit value. */
enum { TRACE__T_END, TRACE__T_I, TRACE__T_U, TRACE__T_D, TRACE__T_S, TRACE__T_P };
typedef struct trace__arg {
    unsigned long long tag;
    union {
        long long i;
        unsigned long long u;
        double d;
        const char *s;
        const void *p;
    } v;
} trace__arg;
static inline trace__arg trace__arg_i(long long v) { trace__arg a; a.tag = TRACE__T_I; a.v.i = v; return a; }
static inline trace__arg trace__arg_u(unsigned long long v) { trace__arg a; a.tag = TRACE__T_U; a.v.u = v; return a; }
static inline trace__arg trace__arg_d(double v) { trace__arg a; a.tag = TRACE__T_D; a.v.d = v; return a; }
static inline trace__arg trace__arg_s(const char *v) { trace__arg a; a.tag = TRACE__T_S; a.v.s = v; return a; }
static inline trace__arg trace__arg_p(const void *v) { trace__arg a; a.tag = TRACE__T_P; a.v.p = v; return a; }
static inline trace__arg trace__arg_end(void) { trace__arg a; a.tag = TRACE__T_END; a.v.u = 0; return a; }

void trace__emitf(trace__site *site, const char *agent, trace_level level,
                  const char *metadata, const trace__arg *args);
/* never called: lets the compiler check format against arguments */
static inline void trace__check_format(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static inline void trace__check_format(const char *fmt, ...) { (void)fmt; }

#ifndef __cplusplus
#define trace__A(x)                                                            \
    _Generic((x),                                                              \
        _Bool: trace__arg_u, unsigned char: trace__arg_u,                      \
        unsigned short: trace__arg_u, unsigned int: trace__arg_u,              \
        unsigned long: trace__arg_u, unsigned long long: trace__arg_u,         \
        float: trace__arg_d, double: trace__arg_d, long double: trace__arg_d,  \
        char *: trace__arg_s, const char *: trace__arg_s,                      \
        void *: trace__arg_p, const void *: trace__arg_p,                      \
        default: trace__arg_i)(x)
#endif

#define trace__CAT(a, b) trace__CAT_(a, b)
#define trace__CAT_(a, b) a##b
#define trace__FMT(...) trace__FMT_(__VA_ARGS__, _)
#define trace__FMT_(f, ...) f
#define trace__NARGS(...) trace__NARGS_(__VA_ARGS__, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, _)
#define trace__NARGS_(f, a1, a2, a3, a4, a5, a6, a7, a8, a9, n, ...) n
#define trace__ARGV(...) trace__CAT(trace__ARGV_, trace__NARGS(__VA_ARGS__))(__VA_ARGS__)
#define trace__ARGV_0(f)
#define trace__ARGV_1(f, a) trace__A(a),
#define trace__ARGV_2(f, a, b) trace__A(a), trace__A(b),
#define trace__ARGV_3(f, a, b, c) trace__ARGV_2(f, a, b) trace__A(c),
#define trace__ARGV_4(f, a, b, c, d) trace__ARGV_3(f, a, b, c) trace__A(d),
#define trace__ARGV_5(f, a, b, c, d, e) trace__ARGV_4(f, a, b, c, d) trace__A(e),
#define trace__ARGV_6(f, a, b, c, d, e, g) trace__ARGV_5(f, a, b, c, d, e) trace__A(g),
#define trace__ARGV_7(f, a, b, c, d, e, g, h) trace__ARGV_6(f, a, b, c, d, e, g) trace__A(h),
#define trace__ARGV_8(f, a, b, c, d, e, g, h, i) trace__ARGV_7(f, a, b, c, d, e, g, h) trace__A(i),
#define trace__ARGV_9(f, a, b, c, d, e, g, h, i, j) trace__ARGV_8(f, a, b, c, d, e, g, h, i) trace__A(j),

#define trace__EVENT(agent, type, level, metadata, ...)                        \
    do {                                                                       \
        static trace__site trace__s = {"" type "",                             \
                                       "" trace__FMT(__VA_ARGS__) "", -1};     \
        if (__atomic_load_n(&trace__on, __ATOMIC_ACQUIRE) &&                   \
            trace__keep(&trace__s.priority, (level))) {                        \
            const trace__arg trace__a[] = {trace__ARGV(__VA_ARGS__)            \
                                               trace__arg_end()};              \
            trace__emitf(&trace__s, (agent), (level), (metadata), trace__a);   \
        }                                                                      \
        if (0) trace__check_format(__VA_ARGS__);                               \
    } while (0)

/* ---------------------------------------------------------------------
 * Compiled out: build with -DTRACE_DISABLE and every call above becomes
 * nothing (arguments are not evaluated, formats are still checked), and
 * the program needs no libtrace at all. This is the "tracing compiled
 * out" baseline the overhead benchmark compares against.
 * ------------------------------------------------------------------- */
#ifdef TRACE_DISABLE
/* Arguments still pass through an empty inline function, so variables
 * used only for tracing raise no warnings; the compiler drops the call. */
static inline void trace__nop(int unused, ...) { (void)unused; }
static inline trace_span trace__no_span(int unused, ...) {
    trace_span s = {0, 0, 1};
    (void)unused;
    return s;
}
static inline void trace__no_stats(trace_stats *out) {
    trace_stats zero = {0, 0, 0, 0, 0, 0, 0, 0};
    *out = zero;
}
#undef trace__EVENT
#define trace__EVENT(agent, type, level, metadata, ...)                        \
    do {                                                                       \
        trace__nop(0, (agent), (level), (metadata));                          \
        if (0) trace__check_format(__VA_ARGS__);                               \
    } while (0)
#define trace_config_from_env(cfg) trace__nop(0, (cfg))
#define trace_init(cfg) (trace__nop(0, (cfg)), 0)
#define trace_shutdown() ((void)0)
#define trace_is_enabled() 0
#define trace_current_trace_id() "disabled"
#define trace_get_stats(out) trace__no_stats(out)
#define trace_span_begin(...) trace__no_span(0, __VA_ARGS__)
#define trace_span_end(...) trace__nop(0, __VA_ARGS__)
#define trace_emit(...) trace__nop(0, __VA_ARGS__)
#define trace_agent_spawn(...) trace__nop(0, __VA_ARGS__)
#define trace_agent_start(...) trace__nop(0, __VA_ARGS__)
#define trace_agent_stop(...) trace__nop(0, __VA_ARGS__)
#define trace_agent_error(...) trace__nop(0, __VA_ARGS__)
#define trace_agent_heartbeat(...) trace__nop(0, __VA_ARGS__)
#define trace_task_created(...) trace__nop(0, __VA_ARGS__)
#define trace_task_assigned(...) trace__nop(0, __VA_ARGS__)
#define trace_task_start(...) trace__no_span(0, __VA_ARGS__)
#define trace_task_complete(...) trace__nop(0, __VA_ARGS__)
#define trace_task_fail(...) trace__nop(0, __VA_ARGS__)
#define trace_message_sent(...) trace__nop(0, __VA_ARGS__)
#define trace_message_received(...) trace__nop(0, __VA_ARGS__)
#define trace_coordination(...) trace__nop(0, __VA_ARGS__)
#define trace_topology_changed(...) trace__nop(0, __VA_ARGS__)
#define trace_metric(...) trace__nop(0, __VA_ARGS__)
#define trace_snapshot(...) trace__nop(0, __VA_ARGS__)
#endif

#ifdef __cplusplus
}
/* C++ has no _Generic: overloads pick the tag instead. */
inline trace__arg trace__A(bool v) { return trace__arg_u(v); }
inline trace__arg trace__A(char v) { return trace__arg_i(v); }
inline trace__arg trace__A(signed char v) { return trace__arg_i(v); }
inline trace__arg trace__A(unsigned char v) { return trace__arg_u(v); }
inline trace__arg trace__A(short v) { return trace__arg_i(v); }
inline trace__arg trace__A(unsigned short v) { return trace__arg_u(v); }
inline trace__arg trace__A(int v) { return trace__arg_i(v); }
inline trace__arg trace__A(unsigned v) { return trace__arg_u(v); }
inline trace__arg trace__A(long v) { return trace__arg_i(v); }
inline trace__arg trace__A(unsigned long v) { return trace__arg_u(v); }
inline trace__arg trace__A(long long v) { return trace__arg_i(v); }
inline trace__arg trace__A(unsigned long long v) { return trace__arg_u(v); }
inline trace__arg trace__A(float v) { return trace__arg_d(v); }
inline trace__arg trace__A(double v) { return trace__arg_d(v); }
inline trace__arg trace__A(long double v) { return trace__arg_d((double)v); }
inline trace__arg trace__A(const char *v) { return trace__arg_s(v); }
inline trace__arg trace__A(char *v) { return trace__arg_s(v); }
inline trace__arg trace__A(const void *v) { return trace__arg_p(v); }
inline trace__arg trace__A(void *v) { return trace__arg_p(v); }
template <typename E> inline trace__arg trace__A(E v) { return trace__arg_i((long long)v); }
#endif
#endif /* TRACE_H */
