/*
 * ui_trace.c — a swarm-shaped trace of exactly N events, for the UI bench
 * (bench/ui_bench.mjs). The example swarm's volume depends on timing; the
 * bench needs a known count, so this producer plays a fixed script through
 * libtrace instead: a coordinator hands tasks to AGENTS workers by message,
 * each task is a span with an LLM-call span and a tool call nested in it,
 * a thought and, now and then, a warning; the result goes back by message.
 * Agent snapshots are recorded as they change, like the swarm's. The events
 * are paced over SECONDS so the trace has a realistic time extent.
 *
 * Usage: bench-ui_trace N AGENTS SECONDS   (TRACE_COLLECTOR_URL set)
 * Prints "ui-trace: trace=ID events=N sent=S dropped=D".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "trace.h"

enum { EVENTS_PER_TASK = 10, MAX_AGENTS = 64 };

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_us(uint64_t us) {
    struct timespec d = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
    nanosleep(&d, NULL);
}

/* Holds the producer back to `rate` events per second on average. */
static void pace(uint64_t t0, long done, double rate) {
    uint64_t due = t0 + (uint64_t)((double)done / rate * 1e6);
    uint64_t now = now_us();
    if (due > now + 200) sleep_us(due - now);
}

static void snapshot(const char *agent, const char *status, long task, int done) {
    char json[256];
    if (task >= 0)
        snprintf(json, sizeof json,
                 "{\"agent\":\"%s\",\"status\":\"%s\",\"currentTask\":{\"id\":\"t-%ld\"},"
                 "\"queued\":0,\"tasksDone\":%d,\"tasksFailed\":0,\"errors\":0}",
                 agent, status, task, done);
    else
        snprintf(json, sizeof json,
                 "{\"agent\":\"%s\",\"status\":\"%s\",\"currentTask\":null,"
                 "\"queued\":0,\"tasksDone\":%d,\"tasksFailed\":0,\"errors\":0}",
                 agent, status, done);
    trace_snapshot(agent, "agent_state", json);
}

/* One task of one worker: exactly EVENTS_PER_TASK events. */
static void one_task(const char *worker, long task, int *done) {
    char tid[24], m1[24], m2[24];
    snprintf(tid, sizeof tid, "t-%ld", task);
    snprintf(m1, sizeof m1, "m-%ld-a", task);
    snprintf(m2, sizeof m2, "m-%ld-r", task);
    trace_message_sent("coordinator", worker, m1, tid);           /* 1 */
    trace_message_received(worker, "coordinator", m1);            /* 2 */
    snapshot(worker, "busy", task, *done);
    trace_span span = trace_task_start(worker, tid, NULL);         /* 3 */
    trace_info(worker, "custom.thinking", "planning %s", tid);    /* 4 */
    trace_span llm = trace_span_begin(worker, "custom.llm_call", &span, "prompt", NULL); /* 5 */
    trace_span_end(&llm, worker, "custom.llm_call", TRACE_INFO, "reply", NULL);        /* 6 */
    uint64_t tool0 = now_us();
    sleep_us(50);
    trace_record tool = {.agent = worker, .type = "custom.tool_call",
                         .level = task % 13 == 0 ? TRACE_WARN : TRACE_DEBUG,
                         .message = "bash: make", .parent = &span,
                         .duration_us = now_us() - tool0};
    trace_emit(&tool);                                             /* 7 */
    trace_task_complete(&span, worker, tid, "ok");                 /* 8 */
    ++*done;
    snapshot(worker, "idle", -1, *done);
    trace_message_sent(worker, "coordinator", m2, "done");         /* 9 */
    trace_message_received("coordinator", worker, m2);             /* 10 */
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: bench-ui_trace N AGENTS SECONDS\n");
        return 2;
    }
    long n = atol(argv[1]);
    int agents = atoi(argv[2]);
    double seconds = atof(argv[3]);
    if (n < 1 || agents < 1 || agents > MAX_AGENTS || seconds <= 0) return 2;
    trace_config cfg;
    trace_config_from_env(&cfg);
    cfg.sampling_rate = 1.0;
    cfg.adaptive = 0;
    cfg.ring_kb = 65536;
    cfg.overhead_interval_ms = 0;
    if (trace_init(&cfg)) return 1;

    char names[MAX_AGENTS][16];
    int done[MAX_AGENTS] = {0};
    long emitted = 0;
    trace_agent_spawn("coordinator", "coordinator", NULL);
    trace_agent_start("coordinator");
    emitted += 2;
    for (int a = 0; a < agents; a++) {
        snprintf(names[a], sizeof names[a], "worker-%02d", a + 1);
        trace_agent_spawn(names[a], "coder", "coordinator");
        trace_agent_start(names[a]);
        snapshot(names[a], "idle", -1, 0);
        emitted += 2;
    }
    double rate = (double)n / seconds;
    uint64_t t0 = now_us();
    long task = 0;
    /* whole tasks while they fit, leaving room for each worker's stop */
    while (emitted + EVENTS_PER_TASK + agents <= n) {
        if (task % 50 == 0) { /* the coordinator's state, now and then, as the swarm's */
            char json[128];
            snprintf(json, sizeof json,
                     "{\"agent\":\"coordinator\",\"status\":\"busy\",\"tasksAssigned\":%ld}", task);
            trace_snapshot("coordinator", "agent_state", json);
        }
        one_task(names[task % agents], task, &done[task % agents]);
        emitted += EVENTS_PER_TASK;
        task++;
        pace(t0, emitted, rate);
    }
    while (emitted + agents < n) {
        trace_debug("coordinator", "custom.tick", "tick %ld", emitted);
        emitted++;
    }
    for (int a = 0; a < agents && emitted < n; a++, emitted++)
        trace_agent_stop(names[a], "script finished");
    char trace[128];
    snprintf(trace, sizeof trace, "%s", trace_current_trace_id());
    trace_shutdown();
    trace_stats st;
    trace_get_stats(&st);
    printf("ui-trace: trace=%s events=%ld sent=%" PRIu64 " dropped=%" PRIu64 "\n",
           trace, emitted, (uint64_t)st.sent,
           (uint64_t)(st.dropped_ring_full + st.dropped_transport));
    return 0;
}
