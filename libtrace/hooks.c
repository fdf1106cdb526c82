/*
 * hooks.c — the swarm integration surface (trace.h: agents, tasks,
 * messages, coordination, topology, metrics, snapshots).
 *
 * Each hook is one event whose arguments travel as a small JSON object in
 * the metadata, with fixed key names the collector and the UI rely on
 * (agentType, spawnedBy, taskId, assignee, to, from, msgId, decision,
 * topology, name, value, unit). The JSON is built in a stack buffer: no
 * allocation, and a value too long for it is cut, never left unescaped.
 */
#include <stdio.h>
#include <string.h>

#include "../wire/wire.h"
#include "internal.h"

typedef struct tr_json {
    char buf[2048];
    size_t len;
    int overflow;
} tr_json;

static void js_raw(tr_json *j, const char *s, size_t n) {
    if (j->len + n + 2 > sizeof j->buf) { /* keep room for "}\0" */
        j->overflow = 1;
        return;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
}

static void js_open(tr_json *j) {
    j->len = 0;
    j->overflow = 0;
    js_raw(j, "{", 1);
}

static void js_key(tr_json *j, const char *key) {
    if (j->len > 1) js_raw(j, ",", 1);
    js_raw(j, "\"", 1);
    js_raw(j, key, strlen(key));
    js_raw(j, "\":", 2);
}

/* A JSON string; stops at the first character that would not fit, so the
 * document always stays well formed. */
static void js_str(tr_json *j, const char *key, const char *v) {
    if (!v) return;
    js_key(j, key);
    js_raw(j, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)v; *p && !j->overflow; p++) {
        char esc[8];
        size_t n;
        if (*p == '"' || *p == '\\') n = (size_t)snprintf(esc, sizeof esc, "\\%c", *p);
        else if (*p == '\n') n = (size_t)snprintf(esc, sizeof esc, "\\n");
        else if (*p < 0x20) n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
        else {
            esc[0] = (char)*p;
            n = 1;
        }
        if (j->len + n + 4 > sizeof j->buf) break;
        js_raw(j, esc, n);
    }
    j->overflow = 0;
    js_raw(j, "\"", 1);
}

static void js_num(tr_json *j, const char *key, double v) {
    char num[64];
    int n = snprintf(num, sizeof num, "%.17g", v);
    if (v != v || v - v != 0) n = snprintf(num, sizeof num, "null"); /* NaN, inf */
    js_key(j, key);
    js_raw(j, num, (size_t)n);
}

/* Splice a caller's JSON object into ours under `key`. */
static void js_obj(tr_json *j, const char *key, const char *json) {
    if (!json || !*json) return;
    js_key(j, key);
    size_t mark = j->len;
    js_raw(j, json, strlen(json));
    if (j->overflow) { /* too big: keep the key, drop the value */
        j->len = mark;
        j->overflow = 0;
        js_raw(j, "null", 4);
    }
}

static const char *js_close(tr_json *j) {
    j->buf[j->len++] = '}';
    j->buf[j->len] = 0;
    return j->buf;
}

static int hk_on(void) { return __atomic_load_n(&trace__on, __ATOMIC_ACQUIRE); }

static void hk_emit(const char *agent, const char *type, trace_level level,
                    const char *message, const char *metadata,
                    const char *stack, const trace_span *parent) {
    trace_record r = {agent, type, level, message, metadata, stack, parent, 0};
    trace_emit(&r);
}

/* Both ends of a message decide by its id, so they are kept together. */
static void hk_emit_message(const char *agent, const char *type,
                            const char *message, const char *metadata,
                            const char *msg_id) {
    trace_record r = {agent, type, TRACE_INFO, message, metadata, NULL, NULL, 0};
    tr_emit(&r, tr_keep_hashed(msg_id, TRACE_INFO));
}

void trace_agent_spawn(const char *agent, const char *agent_type,
                       const char *spawned_by) {
    if (!hk_on()) return;
    tr_json j;
    js_open(&j);
    js_str(&j, "agentType", agent_type);
    js_str(&j, "spawnedBy", spawned_by);
    char msg[256];
    snprintf(msg, sizeof msg, "%s spawned (%s)", agent ? agent : "?",
             agent_type ? agent_type : "agent");
    hk_emit(agent, "agent.created", TRACE_INFO, msg, js_close(&j), NULL, NULL);
}

void trace_agent_start(const char *agent) {
    if (hk_on()) hk_emit(agent, "agent.started", TRACE_INFO, "started", NULL, NULL, NULL);
}

void trace_agent_stop(const char *agent, const char *reason) {
    if (!hk_on()) return;
    tr_json j;
    js_open(&j);
    js_str(&j, "reason", reason);
    hk_emit(agent, "agent.stopped", TRACE_INFO, "stopped", js_close(&j), NULL, NULL);
}

void trace_agent_error(const char *agent, const char *message,
                       const char *stack_trace) {
    if (hk_on())
        hk_emit(agent, "agent.error", TRACE_ERROR, message, NULL, stack_trace, NULL);
}

void trace_agent_heartbeat(const char *agent) {
    if (hk_on()) hk_emit(agent, "agent.heartbeat", TRACE_DEBUG, NULL, NULL, NULL, NULL);
}

void trace_task_created(const char *agent, const char *task_id,
                        const char *description) {
    if (!hk_on()) return;
    tr_json j;
    js_open(&j);
    js_str(&j, "taskId", task_id);
    hk_emit(agent, "task.created", TRACE_INFO, description, js_close(&j), NULL, NULL);
}

void trace_task_assigned(const char *agent, const char *task_id,
                         const char *assignee) {
    if (!hk_on()) return;
    tr_json j;
    js_open(&j);
    js_str(&j, "taskId", task_id);
    js_str(&j, "assignee", assignee);
    char msg[256];
    snprintf(msg, sizeof msg, "%s -> %s", task_id ? task_id : "?",
             assignee ? assignee : "?");
    hk_emit(agent, "task.assigned", TRACE_INFO, msg, js_close(&j), NULL, NULL);
}

trace_span trace_task_start(const char *agent, const char *task_id,
                            const trace_span *parent) {
    trace_span none = {0, 0, 1};
    if (!hk_on()) return none;
    tr_json j;
    js_open(&j);
    js_str(&j, "taskId", task_id);
    return trace_span_begin(agent, "task.started", parent, task_id, js_close(&j));
}

static void hk_task_end(const trace_span *task, const char *agent,
                        const char *task_id, const char *type,
                        trace_level level, const char *key, const char *text) {
    if (!hk_on()) return;
    tr_json j;
    js_open(&j);
    js_str(&j, "taskId", task_id);
    js_str(&j, key, text);
    trace_span_end(task, agent, type, level, task_id, js_close(&j));
}

void trace_task_complete(const trace_span *task, const char *agent,
                         const char *task_id, const char *result) {
    hk_task_end(task, agent, task_id, "task.completed", TRACE_INFO, "result", result);
}

void trace_task_fail(const trace_span *task, const char *agent,
                     const char *task_id, const char *error) {
    hk_task_end(task, agent, task_id, "task.failed", TRACE_WARN, "error", error);
}

void trace_message_sent(const char *from, const char *to, const char *msg_id,
                        const char *summary) {
    if (!hk_on()) return;
    tr_json j;
    js_open(&j);
    js_str(&j, "to", to);
    js_str(&j, "msgId", msg_id);
    hk_emit_message(from, "message.sent", summary, js_close(&j), msg_id);
}

void trace_message_received(const char *to, const char *from,
                            const char *msg_id) {
    if (!hk_on()) return;
    tr_json j;
    js_open(&j);
    js_str(&j, "from", from);
    js_str(&j, "msgId", msg_id);
    hk_emit_message(to, "message.received", NULL, js_close(&j), msg_id);
}

void trace_coordination(const char *agent, const char *decision,
                        const char *metadata) {
    if (!hk_on()) return;
    tr_json j;
    js_open(&j);
    js_str(&j, "decision", decision);
    js_obj(&j, "details", metadata);
    hk_emit(agent, "coordination.decision", TRACE_INFO, decision, js_close(&j),
            NULL, NULL);
}

void trace_topology_changed(const char *agent, const char *topology,
                            const char *metadata) {
    if (!hk_on()) return;
    tr_json j;
    js_open(&j);
    js_str(&j, "topology", topology);
    js_obj(&j, "details", metadata);
    hk_emit(agent, "topology.changed", TRACE_INFO, topology, js_close(&j), NULL,
            NULL);
}

void trace_metric(const char *agent, const char *name, double value,
                  const char *unit) {
    if (!hk_on()) return;
    tr_json j;
    js_open(&j);
    js_str(&j, "name", name);
    js_num(&j, "value", value);
    js_str(&j, "unit", unit);
    hk_emit(agent, "system.metric", TRACE_DEBUG, name, js_close(&j), NULL, NULL);
}

void trace_snapshot(const char *agent, const char *state_type,
                    const char *state_json) {
    if (!hk_on() || !agent || !state_type || !state_json) return;
    const char *str[RING_NSTR] = {agent, state_type, NULL, state_json, NULL};
    tr_record(WIRE_KIND_SNAPSHOT, TRACE_INFO, 0, 0, 0,
              wire_checksum(state_json, strlen(state_json)), str, 0);
}
