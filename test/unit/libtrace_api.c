/*
 * libtrace_api.c — the public API of libtrace (trace.h), mostly without a
 * collector: configuration, invalid and disabled init, loss accounting
 * when nothing listens, sampling, spans, too-large events, fork, double
 * init. Two sessions bind a ZeroMQ PULL socket here and decode what the
 * library sends with wire_decode, to check the loss reporting of
 * schema/wire.md end to end.
 *
 * The sessions run in order in one process: libtrace has one global state.
 */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "check.h"
#include "trace.h"
#include "wire.h"

#define NOBODY "tcp://127.0.0.1:1" /* nothing listens on port 1 */

static const char *ENV_VARS[] = {"TRACE_COLLECTOR_URL", "TRACING_ENABLED",
                                 "TRACE_SAMPLING_RATE", "MAX_EVENTS_PER_BATCH",
                                 "FLUSH_INTERVAL_MS",   "TRACE_ID",
                                 "TRACE_SESSION_ID",    "TRACE_RING_KB"};

static void clear_env(void) {
    for (size_t i = 0; i < sizeof ENV_VARS / sizeof ENV_VARS[0]; i++)
        unsetenv(ENV_VARS[i]);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static trace_config cfg_for(const char *url, double rate) {
    trace_config c;
    clear_env();
    trace_config_from_env(&c);
    snprintf(c.collector_url, sizeof c.collector_url, "%s", url);
    c.sampling_rate = rate;
    c.flush_interval_ms = 10;
    c.adaptive = 0;             /* exact counts whatever the machine's load */
    c.overhead_interval_ms = 0; /* libtrace's own reports: test/unit/overhead.c */
    return c;
}

static trace_stats stats(void) {
    trace_stats s;
    trace_get_stats(&s);
    return s;
}

/* every recorded event ends up sent or in one dropped_* counter */
#define CHECK_ACCOUNTED(s)                                                     \
    CHECKF((s).recorded == (s).sent + (s).dropped_ring_full +                  \
                               (s).dropped_transport + (s).dropped_too_large + (s).dropped_invalid, \
           "recorded %llu != sent %llu + full %llu + transport %llu + "        \
           "large %llu",                                                       \
           (unsigned long long)(s).recorded, (unsigned long long)(s).sent,     \
           (unsigned long long)(s).dropped_ring_full,                          \
           (unsigned long long)(s).dropped_transport,                          \
           (unsigned long long)(s).dropped_too_large)

static double timed_shutdown(void) {
    double t0 = now_s();
    trace_shutdown();
    return now_s() - t0;
}

static void emit(const char *agent, const char *type, trace_level level,
                 const char *message, const trace_span *parent) {
    trace_record r = {agent, type, level, message, NULL, NULL, parent, 0};
    trace_emit(&r);
}

/* ---- configuration from the environment ---- */

static void t_config_env(void) {
    trace_config c;
    clear_env();
    trace_config_from_env(&c);
    CHECK(strcmp(c.collector_url, "tcp://127.0.0.1:5555") == 0);
    CHECK(c.enabled == 1);
    CHECK(c.sampling_rate == 0.1);
    CHECK(c.max_events_per_batch == 100);
    CHECK(c.flush_interval_ms == 50);
    CHECK(c.ring_kb == 256);
    CHECK(strncmp(c.trace_id, "swarm-", 6) == 0 && strlen(c.trace_id) > 6);
    CHECK(c.session_id[0] == 0);
    /* generated trace ids differ */
    trace_config c2;
    trace_config_from_env(&c2);
    CHECK(strncmp(c2.trace_id, "swarm-", 6) == 0);

    /* every variable honoured */
    setenv("TRACE_COLLECTOR_URL", "tcp://10.1.2.3:7000", 1);
    setenv("TRACING_ENABLED", "0", 1);
    setenv("TRACE_SAMPLING_RATE", "0.25", 1);
    setenv("MAX_EVENTS_PER_BATCH", "500", 1);
    setenv("FLUSH_INTERVAL_MS", "250", 1);
    setenv("TRACE_ID", "my-trace", 1);
    setenv("TRACE_SESSION_ID", "my-session", 1);
    setenv("TRACE_RING_KB", "1024", 1);
    trace_config_from_env(&c);
    CHECK(strcmp(c.collector_url, "tcp://10.1.2.3:7000") == 0);
    CHECK(c.enabled == 0);
    CHECK(c.sampling_rate == 0.25);
    CHECK(c.max_events_per_batch == 500);
    CHECK(c.flush_interval_ms == 250);
    CHECK(strcmp(c.trace_id, "my-trace") == 0);
    CHECK(strcmp(c.session_id, "my-session") == 0);
    CHECK(c.ring_kb == 1024);

    /* booleans */
    static const char *off[] = {"0", "false", "FALSE", "no", "No", "off", "OFF"};
    static const char *on[] = {"1", "true", "True", "yes", "on", "maybe", "2"};
    for (size_t i = 0; i < sizeof off / sizeof *off; i++) {
        clear_env();
        setenv("TRACING_ENABLED", off[i], 1);
        trace_config_from_env(&c);
        CHECKF(c.enabled == 0, "TRACING_ENABLED=%s", off[i]);
    }
    for (size_t i = 0; i < sizeof on / sizeof *on; i++) {
        clear_env();
        setenv("TRACING_ENABLED", on[i], 1);
        trace_config_from_env(&c);
        CHECKF(c.enabled == 1, "TRACING_ENABLED=%s", on[i]);
    }

    /* edges accepted */
    clear_env();
    setenv("TRACE_SAMPLING_RATE", "0", 1);
    setenv("MAX_EVENTS_PER_BATCH", "1", 1);
    setenv("FLUSH_INTERVAL_MS", "60000", 1);
    setenv("TRACE_RING_KB", "16", 1);
    trace_config_from_env(&c);
    CHECK(c.sampling_rate == 0.0 && c.max_events_per_batch == 1 &&
          c.flush_interval_ms == 60000 && c.ring_kb == 16);
    clear_env();
    setenv("TRACE_SAMPLING_RATE", "1.0", 1);
    setenv("MAX_EVENTS_PER_BATCH", "10000", 1);
    setenv("FLUSH_INTERVAL_MS", "1", 1);
    setenv("TRACE_RING_KB", "65536", 1);
    trace_config_from_env(&c);
    CHECK(c.sampling_rate == 1.0 && c.max_events_per_batch == 10000 &&
          c.flush_interval_ms == 1 && c.ring_kb == 65536);

    /* bad values: reported, default kept */
    static const char *bad_rate[] = {"1.5", "-0.1", "abc", "0.5x", "nan", "inf", " "};
    for (size_t i = 0; i < sizeof bad_rate / sizeof *bad_rate; i++) {
        clear_env();
        setenv("TRACE_SAMPLING_RATE", bad_rate[i], 1);
        trace_config_from_env(&c);
        CHECKF(c.sampling_rate == 0.1, "TRACE_SAMPLING_RATE=%s gave %g", bad_rate[i],
               c.sampling_rate);
    }
    static const struct {
        const char *var, *val;
    } bad_uint[] = {
        {"MAX_EVENTS_PER_BATCH", "0"},     {"MAX_EVENTS_PER_BATCH", "10001"},
        {"MAX_EVENTS_PER_BATCH", "-5"},    {"MAX_EVENTS_PER_BATCH", "12abc"},
        {"MAX_EVENTS_PER_BATCH", "99999999999999999999999"},
        {"MAX_EVENTS_PER_BATCH", " -1"},   {"MAX_EVENTS_PER_BATCH", "1.5"},
        {"FLUSH_INTERVAL_MS", "0"},        {"FLUSH_INTERVAL_MS", "60001"},
        {"FLUSH_INTERVAL_MS", "x"},        {"TRACE_RING_KB", "15"},
        {"TRACE_RING_KB", "65537"},        {"TRACE_RING_KB", "-16"},
        {"TRACE_RING_KB", "4294967312"},   /* 2^32 + 16 */
    };
    for (size_t i = 0; i < sizeof bad_uint / sizeof *bad_uint; i++) {
        clear_env();
        setenv(bad_uint[i].var, bad_uint[i].val, 1);
        trace_config_from_env(&c);
        CHECKF(c.max_events_per_batch == 100 && c.flush_interval_ms == 50 &&
                   c.ring_kb == 256,
               "%s=%s", bad_uint[i].var, bad_uint[i].val);
    }
    /* strings too long for their field: default kept */
    char longv[400];
    memset(longv, 'x', sizeof longv - 1);
    longv[sizeof longv - 1] = 0;
    clear_env();
    setenv("TRACE_COLLECTOR_URL", longv, 1);
    setenv("TRACE_ID", longv, 1);
    setenv("TRACE_SESSION_ID", longv, 1);
    trace_config_from_env(&c);
    CHECK(strcmp(c.collector_url, "tcp://127.0.0.1:5555") == 0);
    CHECK(strncmp(c.trace_id, "swarm-", 6) == 0);
    CHECK(c.session_id[0] == 0);
    /* 127 characters fit a 128-byte field */
    longv[127] = 0;
    setenv("TRACE_ID", longv, 1);
    trace_config_from_env(&c);
    CHECK(strcmp(c.trace_id, longv) == 0);
    /* empty values mean unset */
    clear_env();
    setenv("TRACE_COLLECTOR_URL", "", 1);
    setenv("TRACING_ENABLED", "", 1);
    setenv("TRACE_SAMPLING_RATE", "", 1);
    setenv("TRACE_ID", "", 1);
    trace_config_from_env(&c);
    CHECK(strcmp(c.collector_url, "tcp://127.0.0.1:5555") == 0 && c.enabled == 1 &&
          c.sampling_rate == 0.1 && strncmp(c.trace_id, "swarm-", 6) == 0);
    clear_env();
}

/* ---- trace_init refuses invalid configurations ---- */

static void t_init_invalid(void) {
    trace_config good = cfg_for(NOBODY, 1.0), c;
#define BAD(stmt)                                                              \
    do {                                                                       \
        c = good;                                                              \
        stmt;                                                                  \
        CHECKF(trace_init(&c) == -1, "%s", #stmt);                             \
        CHECK(trace_is_enabled() == 0);                                        \
    } while (0)
    BAD(c.sampling_rate = 2.0);
    BAD(c.sampling_rate = -0.01);
    BAD(c.sampling_rate = NAN);
    BAD(c.collector_url[0] = 0);
    BAD(memset(c.collector_url, 'a', sizeof c.collector_url)); /* unterminated */
    BAD(c.trace_id[0] = 0);
    BAD(memset(c.trace_id, 'a', sizeof c.trace_id));
    BAD(memset(c.session_id, 'a', sizeof c.session_id));
    BAD(c.max_events_per_batch = 0);
    BAD(c.max_events_per_batch = 10001);
    BAD(c.flush_interval_ms = 0);
    BAD(c.flush_interval_ms = 60001);
    BAD(c.ring_kb = 15);
    BAD(c.ring_kb = 65537);
    /* valid config, unusable endpoint */
    BAD(strcpy(c.collector_url, "not-a-zmq-endpoint"));
    BAD(strcpy(c.collector_url, "tcp://"));
    /* nothing was started: the API stays a no-op */
    emit("a", "agent.created", TRACE_INFO, "x", NULL);
    trace_stats s = stats();
    CHECK(s.recorded == 0 && s.sampled_out == 0);
    trace_shutdown(); /* harmless */
}

/* ---- enabled = 0: init succeeds, every call is a no-op ---- */

static void t_disabled(void) {
    trace_config c = cfg_for(NOBODY, 1.0);
    c.enabled = 0;
    CHECK(trace_init(&c) == 0);
    CHECK(trace_is_enabled() == 0);
    emit("agent-1", "agent.created", TRACE_INFO, "x", NULL);
    emit("agent-1", "custom.x", TRACE_ERROR, "x", NULL);
    trace_event("agent-1", "custom.fmt", TRACE_INFO, "n=%d", 5);
    trace_eventm("agent-1", "custom.fmt", TRACE_INFO, "{}", "m");
    trace_error("agent-1", "agent.error", "boom");
    trace_span sp = trace_span_begin("agent-1", "task.run", NULL, "m", NULL);
    CHECK(sp.id == 0);
    trace_span_end(&sp, "agent-1", "task.run", TRACE_INFO, NULL, NULL);
    trace_agent_spawn("a", "coder", NULL);
    trace_agent_start("a");
    trace_agent_stop("a", "done");
    trace_agent_error("a", "m", "stack");
    trace_agent_heartbeat("a");
    trace_task_created("a", "t-1", "d");
    trace_task_assigned("a", "t-1", "b");
    trace_span t = trace_task_start("a", "t-1", NULL);
    CHECK(t.id == 0);
    trace_task_complete(&t, "a", "t-1", "ok");
    trace_task_fail(&t, "a", "t-1", "err");
    trace_message_sent("a", "b", "m-1", "hi");
    trace_message_received("b", "a", "m-1");
    trace_coordination("a", "vote", "{\"x\":1}");
    trace_topology_changed("a", "mesh", NULL);
    trace_metric("a", "latency", 1.5, "ms");
    trace_snapshot("a", "agent_state", "{}");
    trace_stats s = stats();
    CHECK(s.recorded == 0 && s.sampled_out == 0 && s.sent == 0 &&
          s.batches_sent == 0 && s.dropped_ring_full == 0 &&
          s.dropped_transport == 0 && s.dropped_too_large == 0);
    trace_shutdown(); /* nothing to stop */
    CHECK(trace_is_enabled() == 0);
    /* disabled init is not "running": a real init may follow */
}

/* ---- a collector endpoint where nothing listens ---- */

static void *thread_events(void *arg) {
    const char *agent = arg;
    for (int i = 0; i < 1000; i++) emit(agent, "task.progress", TRACE_INFO, "step", NULL);
    return NULL;
}

static void fork_child_checks(int reinit) {
    int ok = trace_is_enabled() == 0;
    emit("child", "agent.created", TRACE_INFO, "ignored", NULL); /* no-op */
    if (reinit) {
        trace_config c = cfg_for(NOBODY, 1.0);
        ok &= trace_init(&c) == 0;
        ok &= trace_is_enabled() == 1;
        for (int i = 0; i < 10; i++) emit("child", "task.progress", TRACE_INFO, "c", NULL);
        trace_shutdown();
        trace_stats s = stats();
        ok &= s.recorded == 10 && s.sent == 0 &&
              s.recorded == s.dropped_transport + s.dropped_ring_full +
                                s.dropped_too_large;
    }
#if defined(__SANITIZE_ADDRESS__)
    /* libtrace deliberately forgets (leaks) the parent's state in the child
     * (trace.c, tr_atfork_child: the flusher's encoder buffers, the
     * parent's rings); LeakSanitizer would report those at exit() and turn
     * the status nonzero, so the ASan build leaves without the leak check */
    _exit(ok ? 0 : 3);
#else
    exit(ok ? 0 : 3);
#endif
}

static void t_no_collector(void) {
    trace_config c = cfg_for(NOBODY, 1.0);
    snprintf(c.trace_id, sizeof c.trace_id, "unit-nobody");
    CHECK(trace_init(&c) == 0);
    CHECK(trace_is_enabled() == 1);
    CHECK(strcmp(trace_current_trace_id(), "unit-nobody") == 0);
    /* a second init while running is refused and changes nothing */
    trace_config other = cfg_for(NOBODY, 0.5);
    CHECK(trace_init(&other) == -1);
    CHECK(trace_init(NULL) == -1);
    CHECK(trace_is_enabled() == 1);
    CHECK(strcmp(trace_current_trace_id(), "unit-nobody") == 0);

    double t0 = now_s();
    for (int i = 0; i < 1000; i++) {
        emit("agent-main", (i % 2) ? "task.progress" : "custom.step", TRACE_INFO,
             "recording without a collector", NULL);
    }
    double dt = now_s() - t0;
    CHECKF(dt < 0.5, "1000 events took %.3f s", dt);
    trace_stats s = stats();
    CHECK(s.recorded == 1000 && s.sampled_out == 0);

    /* other threads, which exit before shutdown (their rings are reaped) */
    pthread_t th[4];
    static const char *names[4] = {"agent-t0", "agent-t1", "agent-t2", "agent-t3"};
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, thread_events, (void *)names[i]);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    sleep_ms(50);
    s = stats();
    CHECKF(s.recorded == 5000, "recorded %llu", (unsigned long long)s.recorded);

    /* fork: the child starts disabled and may exit, or trace on its own */
    /* TSan cannot start threads in a child of a multi-threaded fork, so
     * under TSan the child only checks that it starts disabled */
#if defined(__SANITIZE_THREAD__)
    const int reinits = 1;
#else
    const int reinits = 2;
#endif
    for (int reinit = 0; reinit < reinits; reinit++) {
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) fork_child_checks(reinit);
        int status = -1;
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
        CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "child (reinit %d) status 0x%x", reinit, status);
    }
    CHECK(trace_is_enabled() == 1); /* the parent is unaffected */
    emit("agent-main", "task.after-fork", TRACE_INFO, NULL, NULL);

    double sd = timed_shutdown();
    CHECKF(sd < 3.0, "shutdown took %.2f s", sd);
    CHECK(trace_is_enabled() == 0);
    s = stats();
    CHECKF(s.recorded == 5001, "recorded %llu", (unsigned long long)s.recorded);
    CHECK_ACCOUNTED(s);
    CHECKF(s.sent == 0 && s.batches_sent == 0, "sent %llu in %llu batches",
           (unsigned long long)s.sent, (unsigned long long)s.batches_sent);
    CHECK(s.dropped_transport > 0);
    CHECK(s.dropped_too_large == 0);
    /* after shutdown: calls are no-ops, totals stay readable */
    emit("agent-main", "agent.created", TRACE_INFO, NULL, NULL);
    trace_stats s2 = stats();
    CHECK(s2.recorded == s.recorded && s2.dropped_transport == s.dropped_transport);
    trace_shutdown(); /* twice: harmless */
}

/* ---- sampling ---- */

static void t_sampling_zero(void) {
    trace_config c = cfg_for(NOBODY, 0.0);
    CHECK(trace_init(&c) == 0);
    trace_stats a = stats(), b;
#define DELTA(field) (b.field - a.field)
#define STEP(block, want_rec, want_out)                                        \
    do {                                                                       \
        a = stats();                                                           \
        block;                                                                 \
        b = stats();                                                           \
        CHECKF(DELTA(recorded) == (want_rec) && DELTA(sampled_out) == (want_out), \
               "%s: recorded +%llu sampled_out +%llu", #block,                 \
               (unsigned long long)DELTA(recorded),                            \
               (unsigned long long)DELTA(sampled_out));                        \
    } while (0)

    /* low and medium priority: all sampled out */
    STEP(for (int i = 0; i < 1000; i++) emit("a", "custom.x", TRACE_INFO, "m", NULL),
         0, 1000);
    STEP(for (int i = 0; i < 100; i++) emit("a", "custom.y", TRACE_WARN, "m", NULL), 0, 100);
    STEP(for (int i = 0; i < 100; i++) emit("a", "message.sent", TRACE_INFO, NULL, NULL),
         0, 100);
    STEP(for (int i = 0; i < 100; i++) emit("a", "system.metric", TRACE_DEBUG, NULL, NULL),
         0, 100);
    STEP(for (int i = 0; i < 100; i++) trace_event("a", "custom.macro", TRACE_INFO, "i=%d", i),
         0, 100);
    STEP(trace_message_sent("a", "b", "m-1", "hi"), 0, 1);
    STEP(trace_coordination("a", "vote", NULL), 0, 1);
    STEP(trace_metric("a", "lat", 2.0, "ms"), 0, 1);
    /* critical and high priority: always kept */
    STEP(for (int i = 0; i < 100; i++) emit("a", "agent.created", TRACE_INFO, NULL, NULL),
         100, 0);
    STEP(for (int i = 0; i < 100; i++) emit("a", "task.started", TRACE_INFO, NULL, NULL),
         100, 0);
    STEP(for (int i = 0; i < 100; i++) emit("a", "task.anything", TRACE_DEBUG, NULL, NULL),
         100, 0);
    STEP(emit("a", "agent.error", TRACE_WARN, NULL, NULL), 1, 0);
    STEP(emit("a", "topology.changed", TRACE_INFO, NULL, NULL), 1, 0);
    /* TRACE_ERROR level: kept whatever the type */
    STEP(for (int i = 0; i < 100; i++) emit("a", "custom.boom", TRACE_ERROR, "e", NULL),
         100, 0);
    STEP(emit("a", "message.failed", TRACE_ERROR, NULL, NULL), 1, 0);
    STEP(trace_error("a", "custom.macro-error", "boom %d", 1), 1, 0);
    /* hooks of high priority */
    STEP(trace_agent_spawn("a", "coder", NULL), 1, 0);
    STEP(trace_task_created("a", "t-1", "d"), 1, 0);
    STEP(trace_snapshot("a", "agent_state", "{\"s\":1}"), 1, 0);

    /* a span sampled out drops its children, whatever their type */
    trace_span dropped;
    STEP(dropped = trace_span_begin("a", "custom.x", NULL, NULL, NULL), 0, 1);
    CHECK(dropped.id == 0 && dropped.dropped);
    STEP(emit("a", "custom.child", TRACE_INFO, NULL, &dropped), 0, 1);
    STEP(emit("a", "task.child", TRACE_INFO, NULL, &dropped), 0, 1);
    trace_span nested;
    STEP(nested = trace_span_begin("a", "task.sub", &dropped, NULL, NULL), 0, 1);
    CHECK(nested.id == 0 && nested.dropped);
    STEP(trace_span_end(&nested, "a", "task.sub", TRACE_INFO, NULL, NULL), 0, 1);
    STEP(trace_span_end(&dropped, "a", "custom.x", TRACE_INFO, NULL, NULL), 0, 1);

    /* a kept span keeps its children even at rate 0 */
    trace_span kept;
    STEP(kept = trace_span_begin("a", "task.run", NULL, NULL, NULL), 1, 0);
    CHECK(kept.id != 0 && !kept.dropped);
    STEP(for (int i = 0; i < 50; i++) emit("a", "custom.child", TRACE_DEBUG, NULL, &kept),
         50, 0);
    STEP(emit("a", "message.sent", TRACE_INFO, NULL, &kept), 1, 0);
    trace_span sub;
    STEP(sub = trace_span_begin("a", "custom.sub", &kept, NULL, NULL), 1, 0);
    CHECK(sub.id != 0 && sub.id != kept.id && !sub.dropped);
    STEP(emit("a", "custom.grandchild", TRACE_INFO, NULL, &sub), 1, 0);
    STEP(trace_span_end(&sub, "a", "custom.sub", TRACE_INFO, NULL, NULL), 1, 0);
    STEP(trace_span_end(&kept, "a", "task.run", TRACE_INFO, NULL, NULL), 1, 0);
    trace_span task;
    STEP(task = trace_task_start("a", "t-9", NULL), 1, 0);
    STEP(trace_task_complete(&task, "a", "t-9", "ok"), 1, 0);

    double sd = timed_shutdown();
    CHECKF(sd < 3.0, "shutdown took %.2f s", sd);
    b = stats();
    CHECK_ACCOUNTED(b);
    CHECK(b.sent == 0);
}

static void t_sampling_half(void) {
    trace_config c = cfg_for(NOBODY, 0.5);
    CHECK(trace_init(&c) == 0);
    trace_stats a = stats();
    enum { N = 100000 };
    for (int i = 0; i < N; i++)
        emit("a", (i & 1) ? "message.sent" : "message.received", TRACE_INFO, NULL, NULL);
    trace_stats b = stats();
    uint64_t kept = b.recorded - a.recorded, out = b.sampled_out - a.sampled_out;
    CHECK(kept + out == N);
    CHECKF(kept >= N * 48 / 100 && kept <= N * 52 / 100, "kept %llu of %d",
           (unsigned long long)kept, N);
    /* high priority unaffected by the rate */
    a = stats();
    for (int i = 0; i < 1000; i++) emit("a", "task.progress", TRACE_INFO, NULL, NULL);
    b = stats();
    CHECK(b.recorded - a.recorded == 1000 && b.sampled_out == a.sampled_out);
    /* spans at 0.5: about half are kept, and each decision covers the
     * whole span */
    int spans_kept = 0, children_ok = 1;
    for (int i = 0; i < 2000; i++) {
        trace_span s = trace_span_begin("a", "custom.op", NULL, NULL, NULL);
        a = stats();
        for (int k = 0; k < 3; k++) emit("a", "custom.part", TRACE_INFO, NULL, &s);
        b = stats();
        if (s.id) {
            spans_kept++;
            children_ok &= b.recorded - a.recorded == 3;
        } else {
            children_ok &= b.sampled_out - a.sampled_out == 3;
        }
        trace_span_end(&s, "a", "custom.op", TRACE_INFO, NULL, NULL);
    }
    CHECK(children_ok);
    CHECKF(spans_kept > 800 && spans_kept < 1200, "%d of 2000 spans kept", spans_kept);
    double sd = timed_shutdown();
    CHECKF(sd < 3.0, "shutdown took %.2f s", sd);
    b = stats();
    CHECK_ACCOUNTED(b);
    CHECK(b.sent == 0);
}

/* ---- an event larger than the ring allows ---- */

static void t_too_large(void) {
    trace_config c = cfg_for(NOBODY, 1.0);
    c.ring_kb = 16; /* max record: 16 KiB / 4 */
    CHECK(trace_init(&c) == 0);
    static char meta[8 * 1024 + 1];
    memset(meta, 'm', sizeof meta - 1);
    meta[0] = '"';
    meta[sizeof meta - 2] = '"';
    trace_record r = {"agent-big", "custom.big", TRACE_INFO, "big", meta, NULL, NULL, 0};
    trace_stats a = stats();
    trace_emit(&r);
    trace_stats b = stats();
    CHECK(b.recorded - a.recorded == 1);
    CHECK(b.dropped_too_large - a.dropped_too_large == 1);
    /* the same through the other string fields and the hooks */
    trace_record r2 = {"agent-big", "custom.big", TRACE_INFO, meta, NULL, NULL, NULL, 0};
    trace_emit(&r2);
    trace_record r3 = {"agent-big", "custom.big", TRACE_ERROR, NULL, NULL, meta, NULL, 0};
    trace_emit(&r3);
    trace_snapshot("agent-big", "agent_state", meta);
    b = stats();
    CHECK(b.dropped_too_large - a.dropped_too_large == 4);
    /* just under the limit is fine: 72-byte header + strings <= 4096 */
    static char fits[4096 - 72 - 9 - 10 + 1];
    memset(fits, 'f', sizeof fits - 1);
    fits[sizeof fits - 1] = 0;
    trace_record r4 = {"agent-big", "custom.fit", TRACE_INFO, NULL, fits, NULL, NULL, 0};
    a = stats();
    trace_emit(&r4);
    b = stats();
    CHECK(b.recorded - a.recorded == 1 && b.dropped_too_large == a.dropped_too_large);
    double sd = timed_shutdown();
    CHECKF(sd < 3.0, "shutdown took %.2f s", sd);
    b = stats();
    CHECK(b.dropped_too_large == 4);
    CHECK_ACCOUNTED(b);
    CHECK(b.sent == 0);
}

/* ---- a receiver in this process: what libtrace puts on the wire ---- */

typedef struct rx {
    void *ctx, *sock;
    char url[256];
    wire_batch *b;
    size_t n, cap;
    int rejected;
    char first_reject[200];
} rx;

/* An endpoint with a free port, not bound by anyone (yet). */
static void free_endpoint(char *url, size_t cap) {
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_PULL);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    CHECK(zmq_bind(s, "tcp://127.0.0.1:*") == 0);
    size_t n = cap;
    zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, url, &n);
    zmq_close(s);
    zmq_ctx_term(ctx);
}

static int rx_bind(rx *r, const char *endpoint) {
    memset(r, 0, sizeof *r);
    r->ctx = zmq_ctx_new();
    r->sock = zmq_socket(r->ctx, ZMQ_PULL);
    int hwm = 100000, linger = 0;
    zmq_setsockopt(r->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(r->sock, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(r->sock, endpoint)) return -1;
    size_t n = sizeof r->url;
    zmq_getsockopt(r->sock, ZMQ_LAST_ENDPOINT, r->url, &n);
    return 0;
}

/* Receive until a FINAL batch arrived and nothing more comes for a while;
 * decode each batch (rejections are counted). */
static void rx_collect(rx *r) {
    int timeout = 300, final_seen = 0;
    zmq_setsockopt(r->sock, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    double deadline = now_s() + 10;
    while (now_s() < deadline) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, r->sock, 0) < 0) {
            zmq_msg_close(&m);
            if (final_seen) break;
            continue;
        }
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 64;
            r->b = realloc(r->b, r->cap * sizeof *r->b);
        }
        char err[200] = "";
        wire_batch *b = &r->b[r->n];
        if (wire_decode(zmq_msg_data(&m), zmq_msg_size(&m), b, err, sizeof err) == 0) {
            r->n++;
            if (b->hdr.flags & WIRE_FLAG_FINAL) final_seen = 1;
        } else {
            if (!r->rejected++) snprintf(r->first_reject, sizeof r->first_reject, "%s", err);
            fprintf(stderr, "receiver: batch rejected: %s\n", err);
            /* still look at the header for sequence bookkeeping */
            wire_header h;
            if (wire_header_parse(zmq_msg_data(&m), zmq_msg_size(&m), &h, NULL, 0) == 0 &&
                (h.flags & WIRE_FLAG_FINAL))
                final_seen = 1;
        }
        zmq_msg_close(&m);
    }
    CHECK(final_seen);
}

static void rx_close(rx *r) {
    for (size_t i = 0; i < r->n; i++) wire_batch_free(&r->b[i]);
    free(r->b);
    zmq_close(r->sock);
    zmq_ctx_term(r->ctx);
}

static int wstr_is(wire_str s, const char *c) {
    return s.p && s.n == strlen(c) && memcmp(s.p, c, s.n) == 0;
}

/* The loss reporting of schema/wire.md, end to end: batches that cannot be
 * sent consume no sequence number, their events are reported as
 * dropped_transport in the next batch that gets out, and the reported
 * deltas add up to the library's own totals. */
static void t_live_receiver(void) {
    char url[256] = "";
    free_endpoint(url, sizeof url);
    CHECK(strncmp(url, "tcp://127.0.0.1:", 16) == 0);
    trace_config c = cfg_for(url, 1.0);
    c.ring_kb = 16;
    c.max_events_per_batch = 50;
    snprintf(c.trace_id, sizeof c.trace_id, "unit-live");
    snprintf(c.session_id, sizeof c.session_id, "unit-session");
    CHECK(trace_init(&c) == 0);

    /* phase 1: nobody listens yet; these batches are dropped */
    for (int i = 0; i < 200; i++) emit("agent-1", "task.progress", TRACE_INFO, "p1", NULL);
    sleep_ms(100);
    trace_stats s1 = stats();
    CHECKF(s1.dropped_transport > 0, "phase 1 transport drops %llu",
           (unsigned long long)s1.dropped_transport);
    CHECK(s1.sent == 0);

    /* phase 2: the collector appears on the same port */
    rx r;
    CHECK(rx_bind(&r, url) == 0);
    sleep_ms(600); /* ZeroMQ reconnects every 100 ms */
    const char *state = "{\"status\":\"busy\"}";
    trace_span sp = trace_span_begin("agent-2", "task.started", NULL, "t-1", NULL);
    trace_snapshot("agent-2", "agent_state", state);
    static char big[8 * 1024];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = 0;
    trace_record tl = {"agent-2", "custom.big", TRACE_INFO, NULL, big, NULL, NULL, 0};
    trace_emit(&tl); /* too large for a 16 KiB ring */
    for (int i = 0; i < 400; i++) {
        char msg[32];
        snprintf(msg, sizeof msg, "p2-%d", i);
        emit("agent-2", "custom.step", TRACE_INFO, msg, &sp);
        if (i % 20 == 19) sleep_ms(2);
    }
    trace_agent_error("agent-2", "failed once", "#0 main\n#1 start");
    trace_span_end(&sp, "agent-2", "task.completed", TRACE_INFO, "done", NULL);
    sleep_ms(100);
    double sd = timed_shutdown();
    CHECKF(sd < 3.0, "shutdown took %.2f s", sd);
    trace_stats s = stats();
    rx_collect(&r);

    CHECKF(r.rejected == 0, "%d batches rejected, first: %s", r.rejected, r.first_reject);
    CHECK(r.n > 0);
    uint64_t events = 0, full = 0, transport = 0, other = 0, producer = 0;
    int seq_ok = 1, final_ok = 1, names_ok = 1;
    int span_begin = 0, span_end = 0, snapshot = 0, error = 0, children = 0, order_ok = 1;
    int last_p2 = -1;
    for (size_t i = 0; i < r.n; i++) {
        const wire_batch *b = &r.b[i];
        if (i == 0) producer = b->hdr.producer_id;
        CHECK(b->hdr.producer_id == producer && producer != 0);
        if (b->hdr.sequence != i + 1) seq_ok = 0;
        if (!!(b->hdr.flags & WIRE_FLAG_FINAL) != (i == r.n - 1)) final_ok = 0;
        if (!wstr_is(b->trace, "unit-live") || !wstr_is(b->session, "unit-session"))
            names_ok = 0;
        for (uint32_t k = 0; k < b->hdr.event_count; k++)
            events += b->events[k].count; /* merged repeats included */
        full += b->hdr.dropped_ring_full;
        transport += b->hdr.dropped_transport;
        other += b->hdr.dropped_other;
        for (uint32_t k = 0; k < b->hdr.event_count; k++) {
            const wire_event *e = &b->events[k];
            if (e->kind == WIRE_KIND_SPAN_BEGIN && e->span_id == sp.id &&
                wstr_is(e->type, "task.started"))
                span_begin++;
            if (e->kind == WIRE_KIND_SPAN_END && e->span_id == sp.id &&
                wstr_is(e->type, "task.completed"))
                span_end++;
            if (e->kind == WIRE_KIND_SNAPSHOT && wstr_is(e->type, "agent_state") &&
                wstr_is(e->metadata, state))
                snapshot++;
            if (wstr_is(e->type, "agent.error") && e->level == TRACE_ERROR &&
                wstr_is(e->stack, "#0 main\n#1 start") && wstr_is(e->message, "failed once"))
                error++;
            if (wstr_is(e->type, "custom.step")) {
                if (e->parent_id == sp.id) children++;
                int n = -1;
                if (e->message.p && e->message.n < 16) {
                    char tmp[16];
                    memcpy(tmp, e->message.p, e->message.n);
                    tmp[e->message.n] = 0;
                    sscanf(tmp, "p2-%d", &n);
                }
                if (n <= last_p2) order_ok = 0;
                last_p2 = n;
            }
        }
    }
    CHECK(seq_ok);   /* 1, 2, 3 ... with no gap for the dropped batches */
    CHECK(final_ok); /* FINAL on the last batch only */
    CHECK(names_ok);
    CHECKF(events == s.sent, "received %llu events, libtrace sent %llu",
           (unsigned long long)events, (unsigned long long)s.sent);
    CHECK(r.n == s.batches_sent);
    CHECKF(full == s.dropped_ring_full, "reported full %llu, counted %llu",
           (unsigned long long)full, (unsigned long long)s.dropped_ring_full);
    CHECKF(transport == s.dropped_transport, "reported transport %llu, counted %llu",
           (unsigned long long)transport, (unsigned long long)s.dropped_transport);
    CHECKF(other == s.dropped_too_large, "reported other %llu, counted too large %llu",
           (unsigned long long)other, (unsigned long long)s.dropped_too_large);
    CHECK(s.dropped_transport >= s1.dropped_transport);
    CHECK(s.dropped_too_large == 1);
    CHECK_ACCOUNTED(s);
    CHECK(s.recorded == 200 + 1 + 1 + 1 + 400 + 1 + 1);
    CHECK(span_begin == 1 && span_end == 1);
    CHECK(snapshot == 1);
    CHECK(error == 1);
    CHECK(order_ok);
    CHECK(children > 0);
    fprintf(stderr,
            "live: %zu batches, %llu events sent, dropped: %llu full, %llu transport, "
            "%llu too large\n",
            r.n, (unsigned long long)s.sent, (unsigned long long)s.dropped_ring_full,
            (unsigned long long)s.dropped_transport,
            (unsigned long long)s.dropped_too_large);
    rx_close(&r);
}

/* One bad call must not cost other events: every batch libtrace sends has
 * to pass the collector's decoder. Each bad call goes into a batch of its
 * own with 20 good events. */
static void t_bad_event_isolated(void) {
    rx r;
    CHECK(rx_bind(&r, "tcp://127.0.0.1:*") == 0);
    trace_config c = cfg_for(r.url, 1.0);
    c.max_events_per_batch = 1000;
    c.flush_interval_ms = 20;
    CHECK(trace_init(&c) == 0);
    sleep_ms(300);
    char long_name[300];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 20; i++) emit("good", "task.progress", TRACE_INFO, "ok", NULL);
        switch (round) {
        case 0: emit("", "task.progress", TRACE_INFO, "empty agent", NULL); break;
        case 1: emit("bad", "", TRACE_INFO, "empty type", NULL); break;
        case 2: emit(long_name, "task.progress", TRACE_INFO, "300-byte agent", NULL); break;
        case 3: emit("bad", "task.progress", (trace_level)7, "level 7", NULL); break;
        default: break; /* control round */
        }
        sleep_ms(150); /* past flush_interval_ms: the batch goes out */
    }
    trace_shutdown();
    trace_stats s = stats();
    rx_collect(&r);
    uint64_t good = 0;
    for (size_t i = 0; i < r.n; i++)
        for (uint32_t k = 0; k < r.b[i].hdr.event_count; k++)
            if (wstr_is(r.b[i].events[k].agent, "good")) good += r.b[i].events[k].count; /* merged repeats included */
    CHECKF(r.rejected == 0,
           "%d batch(es) rejected by wire_decode, first: %s -- libtrace sent events "
           "that the wire format forbids",
           r.rejected, r.first_reject);
    CHECKF(good == 100, "%llu of 100 good events arrived (libtrace counts %llu sent)",
           (unsigned long long)good, (unsigned long long)s.sent);
    CHECKF(s.dropped_invalid == 4, "%llu invalid events counted, want 4",
           (unsigned long long)s.dropped_invalid);
    CHECK(s.sent == 100);
    CHECK_ACCOUNTED(s);
    rx_close(&r);
}

/* trace_get_stats: "Counters since trace_init()" — also for a disabled
 * init after an earlier session. */
static void t_stats_after_disabled_reinit(void) {
    trace_config c = cfg_for(NOBODY, 1.0);
    c.enabled = 0;
    CHECK(trace_init(&c) == 0);
    trace_stats s = stats();
    CHECKF(s.recorded == 0 && s.sent == 0 && s.dropped_transport == 0 &&
               s.dropped_too_large == 0 && s.batches_sent == 0,
           "after trace_init(enabled=0): recorded %llu, dropped_transport %llu "
           "(left from the previous session)",
           (unsigned long long)s.recorded, (unsigned long long)s.dropped_transport);
    trace_shutdown();
}

/* The flusher's voluntary context switches so far (0: not found). */
static long flusher_wakeups(void) {
    char path[300], buf[4096];
    DIR *d = opendir("/proc/self/task");
    if (!d) return 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        int named = fgets(buf, sizeof buf, f) && !strncmp(buf, "trace-flusher", 13);
        fclose(f);
        if (!named) continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/status", de->d_name);
        long n = 0;
        if ((f = fopen(path, "r"))) {
            while (fgets(buf, sizeof buf, f))
                if (sscanf(buf, "voluntary_ctxt_switches: %ld", &n) == 1) break;
            fclose(f);
        }
        closedir(d);
        return n;
    }
    closedir(d);
    return 0;
}

/* A session for counting the flusher's wake-ups: a receiver, tracing to
 * it with every event kept, connected; returns the wake-ups so far. */
static long wakeups_begin(rx *r, unsigned flush_interval_ms) {
    CHECK(rx_bind(r, "tcp://127.0.0.1:*") == 0);
    trace_config c = cfg_for(r->url, 1.0);
    c.flush_interval_ms = flush_interval_ms;
    c.max_events_per_batch = 100;
    c.merge = 0;
    CHECK(trace_init(&c) == 0);
    sleep_ms(300); /* connected */
    long before = flusher_wakeups();
    CHECK(before > 0);
    return before;
}

/* End it: the wake-ups since `before` into *woke; the events received. */
static uint64_t wakeups_end(rx *r, long before, long *woke) {
    *woke = flusher_wakeups() - before;
    trace_shutdown();
    rx_collect(r);
    uint64_t got = 0;
    for (size_t i = 0; i < r->n; i++) got += r->b[i].hdr.event_count;
    return got;
}

/* A steady trickle is batched by time, not by poll: the flusher sleeps
 * until the open batch is due instead of waking every few ms (each wake-up
 * is CPU the traced process pays for), and still sends every event. */
static void t_trickle_few_wakeups(void) {
    rx r;
    long before = wakeups_begin(&r, 100), woke;
    for (int i = 0; i < 400; i++) { /* 400 events a second for a second */
        emit("trickle", "task.progress", TRACE_INFO, "step", NULL);
        nanosleep(&(struct timespec){0, 2500000L}, NULL);
    }
    uint64_t got = wakeups_end(&r, before, &woke);
    /* one wake-up per batch window (10 s), a few more as the rate settles;
     * polling every 10 ms would be 100 */
    CHECKF(woke > 0 && woke <= 30, "flusher woke %ld times in 1 s", woke);
    CHECKF(got == 400, "%llu of 400 events arrived", (unsigned long long)got);
    CHECKF(r.n >= 8 && r.n <= 20, "%zu batches for 1 s at a 100 ms interval", r.n);
    rx_close(&r);
}

/* Bursts, as a swarm records: an agent's step is a handful of events at
 * once, then nothing for a while. Here 2.5 events/ms on average, in bursts
 * of 1-19 events 0-8 ms apart; with 100-event batches one is full about
 * every 40 ms, so about 25 wake-ups a second do. The rate the flusher
 * sizes its sleeps by must not jump with each burst it happens to wake
 * into: that woke it 65-90 times a second here, 2-3 times per batch. */
static void t_bursts_few_wakeups(void) {
    rx r;
    long before = wakeups_begin(&r, 50), woke;
    uint32_t x = 12345; /* a fixed seed */
    uint64_t emitted = 0;
    for (int i = 0; i < 250; i++) { /* about 1 s */
        x = x * 1103515245u + 12345u;
        int n = 1 + (int)((x >> 16) % 19);
        emitted += (uint64_t)n;
        for (int k = 0; k < n; k++)
            emit("burst", "task.progress", TRACE_INFO, "step", NULL);
        x = x * 1103515245u + 12345u;
        nanosleep(&(struct timespec){0, (long)((x >> 16) % 8001) * 1000L}, NULL);
    }
    uint64_t got = wakeups_end(&r, before, &woke);
    CHECKF(got == emitted, "%llu of %llu events arrived", (unsigned long long)got,
           (unsigned long long)emitted);
    /* 25 batches' worth, and slack for a loaded machine */
    CHECKF(woke > 0 && woke <= 45, "flusher woke %ld times in 1 s for %zu batches", woke, r.n);
    /* no more batches than the full ones and those the interval closes */
    CHECKF(r.n <= 40, "%zu batches for %llu events", r.n, (unsigned long long)emitted);
    rx_close(&r);
}

int main(void) {
    check_run("config from env", t_config_env);
    check_run("init invalid", t_init_invalid);
    check_run("disabled", t_disabled); /* before any enabled session */
    check_run("no collector", t_no_collector);
    check_run("sampling 0", t_sampling_zero);
    check_run("sampling 0.5", t_sampling_half);
    check_run("too large", t_too_large);
    check_run("live receiver", t_live_receiver);
    check_run("bad event isolated", t_bad_event_isolated);
    check_run("trickle: few wake-ups", t_trickle_few_wakeups);
    check_run("bursts: few wake-ups", t_bursts_few_wakeups);
    check_run("stats after disabled reinit", t_stats_after_disabled_reinit);
    return check_main("libtrace_api");
}
