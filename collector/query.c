/*
 * query.c — the read side of the REST API: traces and events with their
 * filters, search, time ranges, snapshots, the agent graph, metrics.
 *
 * Every query is built by appending fixed SQL fragments and binding each
 * request value as a parameter (qb below), so no request byte ever
 * becomes SQL. Parameters are checked first and a bad one is a 400 with a
 * JSON error naming it; an unknown trace or snapshot is a 404.
 */
#include <civetweb.h>
#include <inttypes.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collector.h"

/* ---- a query with bound parameters ---- */

typedef struct qb {
    char sql[2048];
    size_t len;
    int n;
    struct {
        int is_text;
        int64_t i;
        char s[300];
    } p[12];
} qb;

static void qb_sql(qb *q, const char *frag) {
    size_t n = strlen(frag);
    if (q->len + n < sizeof q->sql) {
        memcpy(q->sql + q->len, frag, n + 1);
        q->len += n;
    }
}

static void qb_int(qb *q, const char *frag, int64_t v) {
    if (q->n == 12) return;
    qb_sql(q, frag);
    q->p[q->n].is_text = 0;
    q->p[q->n++].i = v;
}

static void qb_text(qb *q, const char *frag, const char *v) {
    if (q->n == 12) return;
    qb_sql(q, frag);
    q->p[q->n].is_text = 1;
    snprintf(q->p[q->n++].s, sizeof q->p[0].s, "%s", v);
}

/* Append another query's SQL and its parameters, in order. */
static void qb_append(qb *q, const qb *more) {
    qb_sql(q, more->sql);
    for (int i = 0; i < more->n && q->n < 12; i++) q->p[q->n++] = more->p[i];
}

static sqlite3_stmt *qb_prepare(sqlite3 *db, const qb *q) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, q->sql, -1, &st, NULL) != SQLITE_OK) {
        log_msg("error", "query: %s", sqlite3_errmsg(db));
        return NULL;
    }
    for (int i = 0; i < q->n; i++) {
        if (q->p[i].is_text) sqlite3_bind_text(st, i + 1, q->p[i].s, -1, SQLITE_STATIC);
        else sqlite3_bind_int64(st, i + 1, q->p[i].i);
    }
    return st;
}

static int64_t q_scalar(sqlite3 *db, const qb *q) {
    sqlite3_stmt *st = qb_prepare(db, q);
    int64_t v = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return v;
}

/* ---- traces ---- */

/* The request's parameters for this route: 0, or -1 with a 400 sent. */
static int query_params(struct mg_connection *c, int route, api_query *p) {
    char err[160];
    if (!api_parse_query(route, mg_get_request_info(c)->query_string, p, err, sizeof err))
        return 0;
    api_error(c, 400, "%s", err);
    return -1;
}

int query_traces(struct mg_connection *c, sqlite3 *db) {
    api_query p;
    if (query_params(c, API_ROUTE_TRACES, &p)) return 400;
    qb where = {0};
    qb_sql(&where, " WHERE 1");
    if (p.has_status) qb_text(&where, " AND t.status = ?", p.status);
    if (p.has_session) qb_text(&where, " AND t.session_id = ?", p.session);
    if (p.from >= 0) qb_int(&where, " AND t.last_time >= ?", p.from);
    if (p.to >= 0) qb_int(&where, " AND t.start_time <= ?", p.to);

    qb list = {0};
    qb_sql(&list, "SELECT " TRACE_COLUMNS " FROM traces t");
    qb_append(&list, &where);
    qb_int(&list, " ORDER BY t.start_time DESC, t.id DESC LIMIT ?", p.limit);
    qb_int(&list, " OFFSET ?", p.offset);
    qb count = {0};
    qb_sql(&count, "SELECT count(*) FROM traces t");
    qb_append(&count, &where);

    sqlite3_stmt *st = qb_prepare(db, &list);
    if (!st) return api_error(c, 500, "storage error");
    cJSON *body = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(body, "traces");
    while (sqlite3_step(st) == SQLITE_ROW) cJSON_AddItemToArray(arr, json_trace_summary(st));
    sqlite3_finalize(st);
    cJSON_AddNumberToObject(body, "total", (double)q_scalar(db, &count));
    cJSON_AddNumberToObject(body, "limit", (double)p.limit);
    cJSON_AddNumberToObject(body, "offset", (double)p.offset);
    /* The newest committed seq: a client that reads the list, then opens
     * /ws?since=lastSeq, misses nothing committed in between, and can
     * resume from it after a drop even if no event has reached it yet. */
    qb last = {0};
    qb_sql(&last, "SELECT coalesce(max(id), 0) FROM events");
    json_add_int(body, "lastSeq", q_scalar(db, &last));
    return api_reply(c, 200, body);
}

/* ---- events: the list, search and range share their filters ---- */

#define EVENT_COLUMNS                                                          \
    "SELECT e.id, t.name, a.name, ty.name, e.ts, e.level, e.kind, e.span_id, " \
    "e.parent_id, e.duration_us, e.count, e.message, e.metadata, "             \
    "e.stack_trace FROM events e JOIN traces t ON t.id = e.trace_id "          \
    "JOIN agents a ON a.id = e.agent_id "                                      \
    "JOIN event_types ty ON ty.id = e.type_id "

/* Filters common to every event query, already checked: agent, type (a
 * prefix when it ended in '*'), level (minimum), parent span. */
static void event_filters(const api_query *p, qb *q) {
    if (p->has_agent) qb_text(q, " AND a.name = ?", p->agent);
    if (p->has_type && p->type_prefix) {
        /* a prefix match without LIKE's wildcards: substr compare */
        qb_int(q, " AND substr(ty.name, 1, ?", (int64_t)strlen(p->type));
        qb_text(q, ") = ?", p->type);
    } else if (p->has_type) {
        qb_text(q, " AND ty.name = ?", p->type);
    }
    if (p->level >= 0) qb_int(q, " AND e.level >= ?", p->level);
    if (p->has_parent) qb_int(q, " AND e.parent_id = ?", (int64_t)p->parent);
}

static int events_reply(struct mg_connection *c, sqlite3 *db, qb *q,
                        int64_t total, int64_t limit, int64_t offset) {
    sqlite3_stmt *st = qb_prepare(db, q);
    if (!st) return api_error(c, 500, "storage error");
    cJSON *body = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(body, "events");
    while (sqlite3_step(st) == SQLITE_ROW) {
        event_row r;
        event_row_from_stmt(st, &r);
        cJSON_AddItemToArray(arr, json_event(&r));
    }
    sqlite3_finalize(st);
    if (total >= 0) cJSON_AddNumberToObject(body, "total", (double)total);
    cJSON_AddNumberToObject(body, "limit", (double)limit);
    cJSON_AddNumberToObject(body, "offset", (double)offset);
    return api_reply(c, 200, body);
}

static int64_t trace_id_of(sqlite3 *db, const char *name) {
    qb q = {0};
    qb_text(&q, "SELECT coalesce((SELECT id FROM traces WHERE name = ?), -1)", name);
    return q_scalar(db, &q);
}

int query_events(struct mg_connection *c, sqlite3 *db, const char *trace) {
    api_query p;
    if (query_params(c, API_ROUTE_EVENTS, &p)) return 400;
    int64_t id = trace_id_of(db, trace);
    if (id < 0) return api_error(c, 404, "no trace '%.200s'", trace);
    qb f = {0};
    event_filters(&p, &f);
    qb q = {0};
    qb_int(&q, EVENT_COLUMNS "WHERE e.trace_id = ?", id);
    if (p.after >= 0) qb_int(&q, " AND e.id > ?", p.after);
    qb_append(&q, &f);
    int filtered = f.n > 0;
    if (p.after >= 0) qb_int(&q, " ORDER BY e.id LIMIT ?", p.limit);
    else {
        qb_int(&q, " ORDER BY e.ts, e.id LIMIT ?", p.limit);
        qb_int(&q, " OFFSET ?", p.offset);
    }
    int64_t total = -1;
    if (!filtered) {
        qb t = {0};
        qb_int(&t, "SELECT event_count FROM traces WHERE id = ?", id);
        total = q_scalar(db, &t);
    } else {
        qb t = {0};
        qb_int(&t, "SELECT count(*) FROM events e JOIN agents a ON a.id = e.agent_id "
                   "JOIN event_types ty ON ty.id = e.type_id WHERE e.trace_id = ?", id);
        qb_append(&t, &f);
        total = q_scalar(db, &t);
    }
    return events_reply(c, db, &q, total, p.limit, p.offset);
}

/* The part search and range share: the trace (404 if unknown), the
 * event SELECT for it with the caller's clause, the common filters, the
 * order and limit. Returns 0 with q ready, or the status already sent. */
static int events_in_trace(struct mg_connection *c, sqlite3 *db, const char *trace,
                           const qb *clause, const api_query *p, qb *q) {
    int64_t id = trace_id_of(db, trace);
    if (id < 0) return api_error(c, 404, "no trace '%.200s'", trace);
    qb f = {0};
    event_filters(p, &f);
    qb_int(q, EVENT_COLUMNS "WHERE e.trace_id = ?", id);
    qb_append(q, clause);
    qb_append(q, &f);
    qb_int(q, " ORDER BY e.ts, e.id LIMIT ?", p->limit);
    return 0;
}

/* Search message and metadata text within one trace's rows: the scan is
 * bounded by the trace, and ingest pays nothing (no FTS trigger). */
int query_search(struct mg_connection *c, sqlite3 *db, const char *trace) {
    api_query p;
    if (query_params(c, API_ROUTE_SEARCH, &p)) return 400;
    qb text = {0}, q = {0};
    /* instr() is a plain substring test: no wildcard in q means anything */
    qb_text(&text, " AND (instr(e.message, ?) > 0", p.q);
    qb_text(&text, " OR instr(e.metadata, ?) > 0)", p.q);
    int status = events_in_trace(c, db, trace, &text, &p, &q);
    return status ? status : events_reply(c, db, &q, -1, p.limit, 0);
}

int query_range(struct mg_connection *c, sqlite3 *db, const char *trace) {
    api_query p;
    if (query_params(c, API_ROUTE_RANGE, &p)) return 400;
    qb span = {0}, q = {0};
    qb_int(&span, " AND e.ts >= ?", p.from);
    qb_int(&span, " AND e.ts <= ?", p.to);
    int status = events_in_trace(c, db, trace, &span, &p, &q);
    return status ? status : events_reply(c, db, &q, -1, p.limit, 0);
}

/* ---- snapshots ---- */

static void hex64(cJSON *o, const char *key, int64_t v) {
    char buf[24];
    snprintf(buf, sizeof buf, "%016" PRIx64, (uint64_t)v);
    cJSON_AddStringToObject(o, key, buf);
}

int query_snapshots(struct mg_connection *c, sqlite3 *db, const char *trace) {
    api_query p;
    if (query_params(c, API_ROUTE_SNAPSHOTS, &p)) return 400;
    int64_t id = trace_id_of(db, trace);
    if (id < 0) return api_error(c, 404, "no trace '%.200s'", trace);
    qb q = {0};
    qb_int(&q, "SELECT s.id, a.name, s.state_type, s.ts, s.size_bytes, s.raw_size, "
               "s.checksum FROM snapshots s JOIN agents a ON a.id = s.agent_id "
               "WHERE s.trace_id = ?", id);
    if (p.has_agent) qb_text(&q, " AND a.name = ?", p.agent);
    if (p.has_type) qb_text(&q, " AND s.state_type = ?", p.type);
    if (p.before >= 0) qb_int(&q, " AND s.ts <= ?", p.before);
    /* from: the next page of a long list (its first timestamp, inclusive) */
    if (p.from >= 0) qb_int(&q, " AND s.ts >= ?", p.from);
    qb_int(&q, " ORDER BY s.ts, s.id LIMIT ?", p.limit);
    sqlite3_stmt *st = qb_prepare(db, &q);
    if (!st) return api_error(c, 500, "storage error");
    cJSON *body = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(body, "snapshots");
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *s = cJSON_CreateObject();
        char sid[24];
        snprintf(sid, sizeof sid, "%lld", (long long)sqlite3_column_int64(st, 0));
        cJSON_AddStringToObject(s, "id", sid);
        cJSON_AddStringToObject(s, "traceId", trace);
        cJSON_AddStringToObject(s, "agentId", (const char *)sqlite3_column_text(st, 1));
        cJSON_AddStringToObject(s, "stateType", (const char *)sqlite3_column_text(st, 2));
        cJSON_AddNumberToObject(s, "timestamp", (double)sqlite3_column_int64(st, 3));
        cJSON_AddNumberToObject(s, "sizeBytes", (double)sqlite3_column_int64(st, 4));
        cJSON_AddNumberToObject(s, "rawSize", (double)sqlite3_column_int64(st, 5));
        hex64(s, "checksum", sqlite3_column_int64(st, 6));
        cJSON_AddItemToArray(arr, s);
    }
    sqlite3_finalize(st);
    return api_reply(c, 200, body);
}

/* One snapshot, decompressed; its checksum is verified on the way out. */
int query_snapshot(struct mg_connection *c, sqlite3 *db, const char *sid) {
    char *end;
    long long id = strtoll(sid, &end, 10);
    if (!*sid || *end || id <= 0) return api_error(c, 400, "snapshot id must be a positive integer");
    qb q = {0};
    qb_int(&q, "SELECT t.name, a.name, s.state_type, s.ts, s.state_data, s.raw_size, "
               "s.checksum FROM snapshots s JOIN traces t ON t.id = s.trace_id "
               "JOIN agents a ON a.id = s.agent_id WHERE s.id = ?", id);
    sqlite3_stmt *st = qb_prepare(db, &q);
    if (!st) return api_error(c, 500, "storage error");
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return api_error(c, 404, "no snapshot %lld", id);
    }
    int64_t raw = sqlite3_column_int64(st, 5);
    const char *z = sqlite3_column_blob(st, 4);
    int zn = sqlite3_column_bytes(st, 4);
    char *json = raw >= 0 && raw <= (int64_t)WIRE_MAX_STRING ? malloc((size_t)raw + 1) : NULL;
    int got = json ? LZ4_decompress_safe(z, json, zn, (int)raw) : -1;
    if (got != raw || wire_checksum(json, (size_t)raw) != (uint64_t)sqlite3_column_int64(st, 6)) {
        sqlite3_finalize(st);
        free(json);
        return api_error(c, 500, "snapshot %lld is damaged (checksum mismatch)", id);
    }
    json[raw] = 0;
    cJSON *body = cJSON_CreateObject();
    char idbuf[24];
    snprintf(idbuf, sizeof idbuf, "%lld", id);
    cJSON_AddStringToObject(body, "id", idbuf);
    cJSON_AddStringToObject(body, "traceId", (const char *)sqlite3_column_text(st, 0));
    cJSON_AddStringToObject(body, "agentId", (const char *)sqlite3_column_text(st, 1));
    cJSON_AddStringToObject(body, "stateType", (const char *)sqlite3_column_text(st, 2));
    cJSON_AddNumberToObject(body, "timestamp", (double)sqlite3_column_int64(st, 3));
    hex64(body, "checksum", sqlite3_column_int64(st, 6));
    cJSON *state = json_parse_bounded(json, (size_t)raw);
    cJSON_AddItemToObject(body, "state", state ? state : cJSON_CreateString(json));
    sqlite3_finalize(st);
    free(json);
    return api_reply(c, 200, body);
}

/* ---- the agent graph ---- */

/* Agent status from its latest lifecycle or task event. */
static const char *graph_node_sql =
    "SELECT a.name, a.type, "
    " (SELECT ty.name FROM events e JOIN event_types ty ON ty.id = e.type_id"
    "   WHERE e.agent_id = a.id AND ty.name IN ('agent.started', 'agent.stopped',"
    "   'agent.error', 'task.started', 'task.completed', 'task.failed')"
    "   ORDER BY e.ts DESC, e.id DESC LIMIT 1),"
    " (SELECT count(*) FROM events e WHERE e.agent_id = a.id),"
    " (SELECT count(*) FROM events e WHERE e.agent_id = a.id AND e.level = 3),"
    " (SELECT count(*) FROM events e JOIN event_types ty ON ty.id = e.type_id"
    "   WHERE e.agent_id = a.id AND ty.name = 'task.completed'),"
    " (SELECT count(*) FROM events e JOIN event_types ty ON ty.id = e.type_id"
    "   WHERE e.agent_id = a.id AND ty.name = 'task.failed')"
    " FROM agents a WHERE a.trace_id = ?1 ORDER BY a.id";

/* Links: messages paired by msgId (communication, with latency),
 * assignments (coordination), spawns (dependency). */
static const char *graph_link_sql =
    "WITH ev AS (SELECT a.name AS agent, ty.name AS type, e.ts, e.metadata"
    "   FROM events e JOIN agents a ON a.id = e.agent_id"
    "   JOIN event_types ty ON ty.id = e.type_id WHERE e.trace_id = ?1"
    "   AND ty.name IN ('message.sent', 'message.received', 'task.assigned',"
    "   'agent.created')),"
    " sent AS (SELECT agent AS src, json_extract(metadata, '$.to') AS dst,"
    "   json_extract(metadata, '$.msgId') AS mid, ts FROM ev"
    "   WHERE type = 'message.sent' AND json_valid(metadata)),"
    " recv AS (SELECT json_extract(metadata, '$.msgId') AS mid, min(ts) AS ts FROM ev"
    "   WHERE type = 'message.received' AND json_valid(metadata) GROUP BY 1)"
    " SELECT s.src, s.dst, 'communication', count(*),"
    "   avg(CASE WHEN r.ts IS NOT NULL THEN r.ts - s.ts END), count(r.ts)"
    "   FROM sent s LEFT JOIN recv r ON r.mid = s.mid"
    "   WHERE s.dst IS NOT NULL GROUP BY 1, 2"
    " UNION ALL"
    " SELECT agent, json_extract(metadata, '$.assignee'), 'coordination', count(*),"
    "   NULL, 0 FROM ev WHERE type = 'task.assigned' AND json_valid(metadata)"
    "   AND json_extract(metadata, '$.assignee') IS NOT NULL GROUP BY 1, 2"
    " UNION ALL"
    " SELECT json_extract(metadata, '$.spawnedBy'), agent, 'dependency', count(*),"
    "   NULL, 0 FROM ev WHERE type = 'agent.created' AND json_valid(metadata)"
    "   AND json_extract(metadata, '$.spawnedBy') IS NOT NULL GROUP BY 1, 2";

static const char *graph_status(const char *last) {
    if (!last) return "idle";
    if (!strcmp(last, "agent.error")) return "error";
    if (!strcmp(last, "task.started")) return "busy";
    if (!strcmp(last, "agent.stopped")) return "idle";
    return "active";
}

int query_graph(struct mg_connection *c, sqlite3 *db, const char *trace) {
    int64_t id = trace_id_of(db, trace);
    if (id < 0) return api_error(c, 404, "no trace '%.200s'", trace);
    sqlite3_stmt *st = NULL, *lk = NULL;
    if (sqlite3_prepare_v2(db, graph_node_sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, graph_link_sql, -1, &lk, NULL) != SQLITE_OK) {
        log_msg("error", "graph: %s", sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return api_error(c, 500, "storage error");
    }
    cJSON *body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "traceId", trace);
    cJSON *nodes = cJSON_AddArrayToObject(body, "nodes");
    sqlite3_bind_int64(st, 1, id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        cJSON *n = cJSON_CreateObject();
        const char *name = (const char *)sqlite3_column_text(st, 0);
        cJSON_AddStringToObject(n, "id", name);
        cJSON_AddStringToObject(n, "name", name);
        if (sqlite3_column_type(st, 1) == SQLITE_NULL) cJSON_AddNullToObject(n, "type");
        else cJSON_AddStringToObject(n, "type", (const char *)sqlite3_column_text(st, 1));
        const char *last = (const char *)sqlite3_column_text(st, 2);
        cJSON_AddStringToObject(n, "status", graph_status(last));
        cJSON_AddBoolToObject(n, "stopped", last && !strcmp(last, "agent.stopped"));
        cJSON *m = cJSON_AddObjectToObject(n, "metrics");
        cJSON_AddNumberToObject(m, "eventCount", (double)sqlite3_column_int64(st, 3));
        cJSON_AddNumberToObject(m, "errorCount", (double)sqlite3_column_int64(st, 4));
        cJSON_AddNumberToObject(m, "tasksCompleted", (double)sqlite3_column_int64(st, 5));
        cJSON_AddNumberToObject(m, "tasksFailed", (double)sqlite3_column_int64(st, 6));
        cJSON_AddItemToArray(nodes, n);
    }
    cJSON *links = cJSON_AddArrayToObject(body, "links");
    sqlite3_bind_int64(lk, 1, id);
    while (sqlite3_step(lk) == SQLITE_ROW) {
        if (sqlite3_column_type(lk, 0) != SQLITE_TEXT || sqlite3_column_type(lk, 1) != SQLITE_TEXT)
            continue;
        cJSON *l = cJSON_CreateObject();
        cJSON_AddStringToObject(l, "source", (const char *)sqlite3_column_text(lk, 0));
        cJSON_AddStringToObject(l, "target", (const char *)sqlite3_column_text(lk, 1));
        cJSON_AddStringToObject(l, "type", (const char *)sqlite3_column_text(lk, 2));
        int64_t count = sqlite3_column_int64(lk, 3);
        cJSON_AddNumberToObject(l, "messageCount", (double)count);
        if (sqlite3_column_type(lk, 4) == SQLITE_NULL) cJSON_AddNullToObject(l, "latency");
        else cJSON_AddNumberToObject(l, "latency", (double)(int64_t)sqlite3_column_double(lk, 4));
        if (!strcmp((const char *)sqlite3_column_text(lk, 2), "communication"))
            cJSON_AddNumberToObject(l, "delivered", (double)sqlite3_column_int64(lk, 5));
        /* strength: log-ish weight for the renderer, 1 for a single message */
        cJSON_AddNumberToObject(l, "strength", (double)(count < 1 ? 1 : count));
        cJSON_AddItemToArray(links, l);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(lk);
    return api_reply(c, 200, body);
}

/* ---- metrics ---- */

int query_overhead(struct mg_connection *c, sqlite3 *db) {
    api_query p;
    if (query_params(c, API_ROUTE_OVERHEAD, &p)) return 400;
    qb q = {0};
    qb_sql(&q, "SELECT count(*), coalesce(sum(json_extract(metadata, '$.flusherCpuUs')), 0),"
               " coalesce(sum(json_extract(metadata, '$.hotPathUs')), 0),"
               " coalesce(sum(json_extract(metadata, '$.recorded')), 0),"
               " coalesce(sum(json_extract(metadata, '$.sampledOut')), 0),"
               " coalesce(sum(json_extract(metadata, '$.intervalMs')), 0),"
               " coalesce(avg(json_extract(metadata, '$.hotPathNsPerEvent')), 0),"
               " coalesce(max(json_extract(metadata, '$.ringFill')), 0)"
               " FROM metrics WHERE metric_type = 'tracing.overhead'");
    if (p.has_trace) qb_text(&q, " AND json_extract(metadata, '$.trace') = ?", p.trace);
    sqlite3_stmt *st = qb_prepare(db, &q);
    if (!st) return api_error(c, 500, "storage error");
    cJSON *body = cJSON_CreateObject();
    if (sqlite3_step(st) == SQLITE_ROW) {
        cJSON_AddNumberToObject(body, "reports", (double)sqlite3_column_int64(st, 0));
        cJSON_AddNumberToObject(body, "flusherCpuUs", sqlite3_column_double(st, 1));
        cJSON_AddNumberToObject(body, "hotPathUs", sqlite3_column_double(st, 2));
        cJSON_AddNumberToObject(body, "eventsRecorded", sqlite3_column_double(st, 3));
        cJSON_AddNumberToObject(body, "eventsSampledOut", sqlite3_column_double(st, 4));
        double wall_us = sqlite3_column_double(st, 5) * 1000.0;
        cJSON_AddNumberToObject(body, "observedUs", wall_us);
        cJSON_AddNumberToObject(body, "cpuShareOfOneCore",
                                wall_us > 0 ? (sqlite3_column_double(st, 1) + sqlite3_column_double(st, 2)) / wall_us : 0);
        cJSON_AddNumberToObject(body, "hotPathNsPerEvent", sqlite3_column_double(st, 6));
        cJSON_AddNumberToObject(body, "maxRingFill", sqlite3_column_double(st, 7));
    }
    sqlite3_finalize(st);
    /* the latest report of each producer, as sent */
    qb l = {0};
    qb_sql(&l, "SELECT m.metadata FROM metrics m WHERE m.metric_type = 'tracing.overhead'");
    if (p.has_trace) qb_text(&l, " AND json_extract(m.metadata, '$.trace') = ?", p.trace);
    qb_sql(&l, " AND m.id IN (SELECT max(id) FROM metrics WHERE metric_type = 'tracing.overhead'"
               " GROUP BY json_extract(metadata, '$.producer'))");
    st = qb_prepare(db, &l);
    cJSON *latest = cJSON_AddArrayToObject(body, "latest");
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        cJSON *m = text ? json_parse_bounded(text, strlen(text)) : NULL;
        if (m) cJSON_AddItemToArray(latest, m);
    }
    sqlite3_finalize(st);
    cJSON *loss = cJSON_AddObjectToObject(body, "loss");
    qb prod = {0};
    qb_sql(&prod, "SELECT coalesce(sum(dropped_reported), 0) FROM producers");
    cJSON_AddNumberToObject(loss, "droppedReported", (double)q_scalar(db, &prod));
    qb g = {0};
    qb_sql(&g, "SELECT coalesce(sum(seq_gaps), 0) FROM producers");
    cJSON_AddNumberToObject(loss, "missingBatches", (double)q_scalar(db, &g));
    return api_reply(c, 200, body);
}

static int64_t file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) ? 0 : (int64_t)sb.st_size;
}

int query_storage(struct mg_connection *c, sqlite3 *db) {
    const char *path = sqlite3_db_filename(db, "main");
    char wal[4200];
    snprintf(wal, sizeof wal, "%s-wal", path ? path : "");
    cJSON *body = cJSON_CreateObject();
    int64_t db_bytes = path ? file_size(path) : 0;
    cJSON_AddNumberToObject(body, "dbBytes", (double)db_bytes);
    cJSON_AddNumberToObject(body, "walBytes", (double)file_size(wal));
    static const char *tables[] = {"traces", "agents", "event_types", "events",
                                   "snapshots", "producers", "metrics"};
    cJSON *rows = cJSON_AddObjectToObject(body, "rows");
    int64_t events = 0;
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        qb q = {0};
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", tables[i]); /* fixed names */
        qb_sql(&q, sql);
        int64_t n = q_scalar(db, &q);
        if (!strcmp(tables[i], "events")) events = n;
        cJSON_AddNumberToObject(rows, tables[i], (double)n);
    }
    qb s = {0};
    qb_sql(&s, "SELECT coalesce(sum(size_bytes), 0), coalesce(sum(raw_size), 0) FROM snapshots");
    sqlite3_stmt *st = qb_prepare(db, &s);
    if (st && sqlite3_step(st) == SQLITE_ROW) {
        cJSON_AddNumberToObject(body, "snapshotBytesStored", (double)sqlite3_column_int64(st, 0));
        cJSON_AddNumberToObject(body, "snapshotBytesRaw", (double)sqlite3_column_int64(st, 1));
    }
    sqlite3_finalize(st);
    cJSON_AddNumberToObject(body, "bytesPerEvent", events ? (double)db_bytes / (double)events : 0);
    return api_reply(c, 200, body);
}
