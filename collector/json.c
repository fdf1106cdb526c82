/*
 * json.c — the JSON shapes of schema/api.md, built with cJSON.
 *
 * REST and the WebSocket stream both describe events through json_event()
 * so a client sees the same object whichever way it arrived. Stored
 * metadata that is not valid JSON is shown as a JSON string: the original
 * bytes are never lost, and clients can always parse the result.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"

/* An integer member. cJSON stores numbers as doubles and prints them with
 * "%1.15g" followed by a parse-back check, which dominates the cost of
 * streaming events; our values are integers (µs timestamps fit a double
 * exactly, but need not go through one), so they are written directly. */
void json_add_int(cJSON *o, const char *key, int64_t v) {
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    cJSON_AddRawToObject(o, key, buf);
}

const char *json_kind_name(int kind) {
    return kind == 1 ? "span_begin" : kind == 2 ? "span_end" : "event";
}

const char *json_level_name(int level) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    return level >= 0 && level <= 3 ? names[level] : "info";
}

static void json_hex(cJSON *o, const char *key, int present, int64_t v) {
    if (!present) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    char buf[24];
    snprintf(buf, sizeof buf, "%016" PRIx64, (uint64_t)v);
    cJSON_AddStringToObject(o, key, buf);
}

static void json_opt_str(cJSON *o, const char *key, const char *v) {
    if (v) cJSON_AddStringToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

cJSON *json_event(const event_row *e) {
    cJSON *o = cJSON_CreateObject();
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, e->seq);
    cJSON_AddStringToObject(o, "id", id);
    json_add_int(o, "seq", (int64_t)e->seq);
    cJSON_AddStringToObject(o, "traceId", e->trace);
    cJSON_AddStringToObject(o, "agentId", e->agent);
    cJSON_AddStringToObject(o, "eventType", e->type);
    json_add_int(o, "timestamp", (int64_t)e->ts);
    cJSON_AddStringToObject(o, "level", json_level_name(e->level));
    json_opt_str(o, "message", e->message);
    /* the same test as json_write_event, so REST and the stream agree on
     * what counts as JSON metadata */
    /* valid, and so at most JSON_MAX_DEPTH deep: safe to hand to cJSON */
    size_t mlen = e->metadata ? strlen(e->metadata) : 0;
    cJSON *meta = e->metadata && jw_valid_json(e->metadata, mlen)
                      ? cJSON_ParseWithLength(e->metadata, mlen) : NULL;
    if (!meta && e->metadata) meta = cJSON_CreateString(e->metadata);
    if (!meta) meta = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "metadata", meta);
    json_hex(o, "spanId", e->has_span, e->span_id);
    json_hex(o, "parentId", e->has_parent, e->parent_id);
    if (e->has_duration) json_add_int(o, "duration", (int64_t)e->duration_us);
    else cJSON_AddNullToObject(o, "duration");
    json_add_int(o, "count", (int64_t)(e->count ? e->count : 1));
    cJSON_AddStringToObject(o, "kind", json_kind_name(e->kind));
    json_opt_str(o, "stackTrace", e->stack);
    return o;
}

static void jw_hex(jw *w, const char *key, int present, int64_t v) {
    jw_key(w, key);
    if (!present) {
        jw_lit(w, "null,");
        return;
    }
    char buf[24];
    int n = snprintf(buf, sizeof buf, "\"%016" PRIx64 "\",", (uint64_t)v);
    jw_raw(w, buf, (size_t)n);
}

static void jw_opt_str(jw *w, const char *key, jw_span v) {
    jw_key(w, key);
    if (v.p) jw_str(w, v.p, v.n);
    else jw_lit(w, "null");
}

/* json_event() as text; test/unit/json_writer.c keeps the two equal. */
void json_write_event(jw *w, const event_text *e) {
    jw_lit(w, "{\"id\":\"");
    jw_int(w, e->seq);
    jw_lit(w, "\",\"seq\":");
    jw_int(w, e->seq);
    jw_lit(w, ",\"traceId\":");
    jw_str(w, e->trace, strlen(e->trace));
    jw_lit(w, ",\"agentId\":");
    jw_str(w, e->agent.p ? e->agent.p : "", e->agent.n);
    jw_lit(w, ",\"eventType\":");
    jw_str(w, e->type.p ? e->type.p : "", e->type.n);
    jw_lit(w, ",\"timestamp\":");
    jw_int(w, e->ts);
    jw_lit(w, ",\"level\":\"");
    jw_lit(w, json_level_name(e->level));
    jw_lit(w, "\",");
    jw_opt_str(w, "message", e->message);
    jw_lit(w, ",\"metadata\":");
    if (!e->metadata.p) jw_lit(w, "{}");
    else if (jw_valid_json(e->metadata.p, e->metadata.n)) jw_raw(w, e->metadata.p, e->metadata.n);
    else jw_str(w, e->metadata.p, e->metadata.n);
    jw_lit(w, ",");
    jw_hex(w, "spanId", e->has_span, e->span_id);
    jw_hex(w, "parentId", e->has_parent, e->parent_id);
    jw_lit(w, "\"duration\":");
    if (e->has_duration) jw_int(w, e->duration_us);
    else jw_lit(w, "null");
    jw_lit(w, ",\"count\":");
    jw_int(w, e->count ? e->count : 1);
    jw_lit(w, ",\"kind\":\"");
    jw_lit(w, json_kind_name(e->kind));
    jw_lit(w, "\",");
    jw_opt_str(w, "stackTrace", e->stack);
    jw_lit(w, "}");
}

void json_write_stream_head(jw *w, const char *type, const char *trace) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    jw_lit(w, "{\"type\":");
    jw_str(w, type, strlen(type));
    jw_lit(w, ",\"timestamp\":");
    jw_int(w, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    jw_lit(w, ",\"traceId\":");
    if (trace) jw_str(w, trace, strlen(trace));
    else jw_lit(w, "null");
    jw_lit(w, ",\"payload\":");
}

static void json_col_int_or_null(cJSON *o, const char *key, sqlite3_stmt *st,
                                 int col) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) cJSON_AddNullToObject(o, key);
    else json_add_int(o, key, (int64_t)sqlite3_column_int64(st, col));
}

cJSON *json_trace_summary(sqlite3_stmt *st) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", (const char *)sqlite3_column_text(st, 0));
    cJSON_AddStringToObject(o, "sessionId", (const char *)sqlite3_column_text(st, 1));
    json_add_int(o, "startTime", (int64_t)sqlite3_column_int64(st, 2));
    json_col_int_or_null(o, "endTime", st, 3);
    json_add_int(o, "lastTime", (int64_t)sqlite3_column_int64(st, 4));
    cJSON_AddStringToObject(o, "status", (const char *)sqlite3_column_text(st, 5));
    json_add_int(o, "agentCount", (int64_t)sqlite3_column_int64(st, 6));
    json_add_int(o, "eventCount", (int64_t)sqlite3_column_int64(st, 7));
    json_add_int(o, "errorCount", (int64_t)sqlite3_column_int64(st, 8));
    if (sqlite3_column_type(st, 3) == SQLITE_NULL)
        cJSON_AddNullToObject(o, "durationUs");
    else
        json_add_int(o, "durationUs", (int64_t)(sqlite3_column_int64(st, 3) -
                                                          sqlite3_column_int64(st, 2)));
    return o;
}

/* A StreamMessage (api.md) as a malloc'd string; takes payload. */
char *json_stream_message(const char *type, const char *trace, cJSON *payload) {
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "type", type);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_add_int(m, "timestamp", (int64_t)((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000));
    if (trace) cJSON_AddStringToObject(m, "traceId", trace);
    else cJSON_AddNullToObject(m, "traceId");
    cJSON_AddItemToObject(m, "payload", payload ? payload : cJSON_CreateObject());
    char *s = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    return s;
}
