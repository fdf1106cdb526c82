/*
 * params.c — what clients send, parsed by pure functions: the query
 * parameters of every REST endpoint, and the WebSocket URL options and
 * client messages (subscribe filters).
 *
 * No server, connection or database is needed to call them, so the
 * fuzzers (fuzz/) and the unit tests feed them bytes directly, and a
 * value is checked once, in one place, before any query is built. A bad
 * value yields -1 and a message naming the parameter; the caller turns it
 * into a 400 (REST) or an "error" message (WebSocket).
 */
#include <civetweb.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"

static int params_fail(char *err, size_t errlen, const char *msg) {
    if (err && errlen) snprintf(err, errlen, "%s", msg);
    return -1;
}

int params_level(const char *s) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

/* One text parameter, URL-decoded: 1 present, 0 absent, -1 too long or
 * containing a NUL (%00 would otherwise cut the value short and match a
 * different name than the one asked for). */
static int params_text(const char *qs, const char *name, char *buf, size_t cap) {
    if (!qs) return 0;
    int n = mg_get_var(qs, strlen(qs), name, buf, cap);
    if (n == -1) return 0;
    if (n < 0 || strlen(buf) != (size_t)n) return -1;
    return 1;
}

/* A decimal integer, digits only (no sign, blanks or "0x": a value
 * strtoll would half-accept is refused), in [lo, hi]. */
int params_int(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    if (!s || *s < '0' || *s > '9') return -1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9') return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int params_int_var(const char *qs, const char *name, int64_t dflt, int64_t lo,
                          int64_t hi, int64_t *out, char *err, size_t errlen) {
    char buf[32];
    *out = dflt;
    int has = params_text(qs, name, buf, sizeof buf);
    if (has == 0) return 0;
    if (has > 0 && !params_int(buf, lo, hi, out)) return 0;
    if (err && errlen)
        snprintf(err, errlen, "%s must be an integer %" PRId64 "..%" PRId64, name, lo, hi);
    return -1;
}

/* agent, type (trailing '*': prefix), level (minimum), parent (hex). */
static int params_event_filters(const char *qs, api_query *q, char *err, size_t errlen) {
    char level[16], parent[24];
    q->has_agent = params_text(qs, "agent", q->agent, sizeof q->agent);
    q->has_type = params_text(qs, "type", q->type, sizeof q->type);
    int hl = params_text(qs, "level", level, sizeof level);
    int hp = params_text(qs, "parent", parent, sizeof parent);
    if (q->has_agent < 0 || q->has_type < 0 || hl < 0 || hp < 0)
        return params_fail(err, errlen, "a filter value is too long or contains NUL");
    size_t n = q->has_type ? strlen(q->type) : 0;
    if (n && q->type[n - 1] == '*') {
        q->type_prefix = 1;
        q->type[n - 1] = 0;
    }
    if (hl && (q->level = params_level(level)) < 0)
        return params_fail(err, errlen, "level must be debug, info, warn or error");
    if (hp) {
        size_t len = strlen(parent);
        if (!len || len > 16 || strspn(parent, "0123456789abcdefABCDEF") != len)
            return params_fail(err, errlen, "parent must be a hex span id (1..16 digits)");
        q->has_parent = 1;
        q->parent = strtoull(parent, NULL, 16);
    }
    return 0;
}

static int params_traces(const char *qs, api_query *q, char *err, size_t errlen) {
    q->has_status = params_text(qs, "status", q->status, sizeof q->status);
    q->has_session = params_text(qs, "session", q->session, sizeof q->session);
    if (q->has_status < 0 || q->has_session < 0)
        return params_fail(err, errlen, "status or session too long or contains NUL");
    if (params_int_var(qs, "limit", 50, 1, 1000, &q->limit, err, errlen) ||
        params_int_var(qs, "offset", 0, 0, INT32_MAX, &q->offset, err, errlen) ||
        params_int_var(qs, "from", -1, 0, INT64_MAX, &q->from, err, errlen) ||
        params_int_var(qs, "to", -1, 0, INT64_MAX, &q->to, err, errlen))
        return -1;
    if (q->has_status && strcmp(q->status, "active") && strcmp(q->status, "completed") &&
        strcmp(q->status, "error"))
        return params_fail(err, errlen, "status must be active, completed or error");
    return 0;
}

static int params_events(const char *qs, api_query *q, char *err, size_t errlen) {
    if (params_int_var(qs, "limit", 100, 1, 10000, &q->limit, err, errlen) ||
        params_int_var(qs, "offset", 0, 0, INT32_MAX, &q->offset, err, errlen) ||
        params_int_var(qs, "after", -1, 0, INT64_MAX, &q->after, err, errlen))
        return -1;
    return params_event_filters(qs, q, err, errlen);
}

static int params_search(const char *qs, api_query *q, char *err, size_t errlen) {
    int has = params_text(qs, "q", q->q, sizeof q->q);
    if (has <= 0 || !q->q[0]) return params_fail(err, errlen, "q (1..255 bytes) is required");
    if (params_int_var(qs, "limit", 100, 1, 1000, &q->limit, err, errlen)) return -1;
    return params_event_filters(qs, q, err, errlen);
}

static int params_range(const char *qs, api_query *q, char *err, size_t errlen) {
    if (params_int_var(qs, "from", -1, 0, INT64_MAX, &q->from, err, errlen) ||
        params_int_var(qs, "to", -1, 0, INT64_MAX, &q->to, err, errlen) ||
        params_int_var(qs, "limit", 1000, 1, 10000, &q->limit, err, errlen))
        return -1;
    if (q->from < 0 || q->to < 0) return params_fail(err, errlen, "from and to (µs) are required");
    if (q->to < q->from) return params_fail(err, errlen, "to must not be before from");
    return params_event_filters(qs, q, err, errlen);
}

static int params_snapshots(const char *qs, api_query *q, char *err, size_t errlen) {
    q->has_agent = params_text(qs, "agent", q->agent, sizeof q->agent);
    q->has_type = params_text(qs, "type", q->type, 64);
    if (q->has_agent < 0 || q->has_type < 0)
        return params_fail(err, errlen, "agent or type too long or contains NUL");
    return params_int_var(qs, "before", -1, 0, INT64_MAX, &q->before, err, errlen) ||
                   params_int_var(qs, "from", -1, 0, INT64_MAX, &q->from, err, errlen) ||
                   params_int_var(qs, "limit", 1000, 1, 10000, &q->limit, err, errlen)
               ? -1
               : 0;
}

static int params_overhead(const char *qs, api_query *q, char *err, size_t errlen) {
    q->has_trace = params_text(qs, "trace", q->trace, sizeof q->trace);
    return q->has_trace < 0 ? params_fail(err, errlen, "trace too long or contains NUL") : 0;
}

/* events/columns: the whole trace unless narrowed */
static int params_columns(const char *qs, api_query *q, char *err, size_t errlen) {
    if (params_int_var(qs, "from", 0, 0, INT64_MAX, &q->from, err, errlen) ||
        params_int_var(qs, "to", INT64_MAX, 0, INT64_MAX, &q->to, err, errlen) ||
        params_int_var(qs, "limit", COLUMNS_MAX_ROWS, 1, COLUMNS_MAX_ROWS, &q->limit, err, errlen))
        return -1;
    return q->to < q->from ? params_fail(err, errlen, "to must not be before from") : 0;
}

int api_parse_query(int route, const char *qs, api_query *q, char *err, size_t errlen) {
    memset(q, 0, sizeof *q);
    q->level = -1;
    q->from = q->to = q->after = q->before = -1;
    switch (route) {
    case API_ROUTE_TRACES: return params_traces(qs, q, err, errlen);
    case API_ROUTE_EVENTS: return params_events(qs, q, err, errlen);
    case API_ROUTE_SEARCH: return params_search(qs, q, err, errlen);
    case API_ROUTE_RANGE: return params_range(qs, q, err, errlen);
    case API_ROUTE_SNAPSHOTS: return params_snapshots(qs, q, err, errlen);
    case API_ROUTE_OVERHEAD: return params_overhead(qs, q, err, errlen);
    case API_ROUTE_COLUMNS: return params_columns(qs, q, err, errlen);
    default: return params_fail(err, errlen, "no such endpoint");
    }
}

/* ---- JSON from clients ---- */

/* Whether the [ and { in p[0..n) nest at most max deep (strings
 * skipped). cJSON recurses once per level, and civetweb's workers run on
 * small stacks: 1000 levels (cJSON's own limit) overflowed one and
 * crashed the collector. Deeper than max is refused before parsing. */
int json_depth_ok(const char *p, size_t n, int max) {
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (in_str) {
            if (ch == '\\') i++;
            else if (ch == '"') in_str = 0;
        } else if (ch == '"') {
            in_str = 1;
        } else if (ch == '[' || ch == '{') {
            if (++depth > max) return 0;
        } else if (ch == ']' || ch == '}') {
            depth--;
        }
    }
    return 1;
}

cJSON *json_parse_bounded(const char *p, size_t n) {
    return p && json_depth_ok(p, n, JSON_MAX_DEPTH) ? cJSON_ParseWithLength(p, n) : NULL;
}

/* ---- WebSocket ---- */

/* Set one filter field; -1 if the value is not acceptable. Unknown keys
 * are ignored, so a newer UI can send fields an older collector lacks. */
int ws_filter_set(ws_filter *f, const char *key, const char *v) {
    size_t n = strlen(v);
    if (n > WIRE_MAX_NAME) return -1;
    if (!strcmp(key, "trace") || !strcmp(key, "traceId")) {
        memcpy(f->trace, v, n + 1);
    } else if (!strcmp(key, "agent") || !strcmp(key, "agentId")) {
        memcpy(f->agent, v, n + 1);
    } else if (!strcmp(key, "type") || !strcmp(key, "eventType")) {
        f->type_prefix = n && v[n - 1] == '*';
        n -= (size_t)f->type_prefix;
        memcpy(f->type, v, n);
        f->type[n] = 0;
    } else if (!strcmp(key, "level") || !strcmp(key, "minLevel")) {
        f->min_level = params_level(v);
        if (f->min_level < 0) return -1;
    }
    return 0;
}

int ws_parse_url(const char *qs, ws_filter *f, int64_t *since, const char **why) {
    static const char *keys[] = {"trace", "agent", "type", "level"};
    char v[WIRE_MAX_NAME + 2];
    memset(f, 0, sizeof *f);
    *since = -1;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        int has = params_text(qs, keys[i], v, sizeof v);
        if (has < 0 || (has > 0 && ws_filter_set(f, keys[i], v))) {
            *why = "bad filter in the URL (trace, agent, type, level=debug|info|warn|error)";
            return -1;
        }
    }
    int has = params_text(qs, "since", v, sizeof v);
    if (has < 0 || (has > 0 && params_int(v, 0, INT64_MAX, since))) {
        *since = -1;
        *why = "since must be a non-negative integer";
        return -1;
    }
    return 0;
}

int ws_parse_message(const char *data, size_t len, ws_filter *f, const char **why) {
    cJSON *j = json_parse_bounded(data, len);
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "type"));
    const cJSON *filter = cJSON_GetObjectItemCaseSensitive(j, "filter");
    memset(f, 0, sizeof *f);
    *why = !j ? "not JSON (or nested deeper than 128)"
           : !type || strcmp(type, "subscribe") ? "unknown message type (want subscribe)"
           : filter && !cJSON_IsObject(filter) ? "filter must be an object"
                                               : NULL;
    const cJSON *item;
    const cJSON *fields = *why ? NULL : filter;
    cJSON_ArrayForEach(item, fields) {
        if (!item->string || !cJSON_IsString(item) ||
            ws_filter_set(f, item->string, item->valuestring)) {
            *why = "filter values: traceId, agentId, eventType (trailing * = prefix), "
                   "minLevel (debug|info|warn|error), as strings";
            break;
        }
    }
    cJSON_Delete(j);
    if (*why) memset(f, 0, sizeof *f);
    return *why ? -1 : 0;
}
