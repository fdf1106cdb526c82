/*
 * api.c — HTTP: the REST API of schema/api.md, the built UI, /healthz.
 *
 * civetweb runs the listener and a pool of worker threads; each request
 * borrows a read-only SQLite connection from db_pool, so REST queries run
 * beside the writer (WAL) without slowing ingest. Every value from a
 * request reaches SQL only as a bound parameter. Errors are JSON bodies
 * with the status that names the problem, never a crash or an HTML page.
 * Static files come from civetweb's own document_root handling, which
 * refuses paths that leave the directory.
 */
#include <civetweb.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "collector.h"

struct api {
    struct mg_context *ctx;
    db_pool *pool;
    const char *token;
    store *st; /* where changes go: the writer owns every write */
};

/* ---- replies ---- */

static const char *api_reason(int status) {
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

int api_reply(struct mg_connection *c, int status, cJSON *body) {
    char *text = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    const char *out = text ? text : "{\"error\":{\"status\":500,\"message\":\"out of memory\"}}";
    if (!text) status = 500;
    mg_printf(c,
              "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
              "Content-Length: %zu\r\nCache-Control: no-store\r\n%s\r\n",
              status, api_reason(status), strlen(out),
              status == 401 ? "WWW-Authenticate: Bearer\r\n" : "");
    mg_write(c, out, strlen(out));
    free(text);
    return status;
}

int api_error(struct mg_connection *c, int status, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *body = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(body, "error");
    cJSON_AddNumberToObject(err, "status", status);
    cJSON_AddStringToObject(err, "message", msg);
    return api_reply(c, status, body);
}

/* civetweb's own refusals (a bad request line, headers too large, a
 * request that timed out, a file not in the UI) get the same JSON error
 * body as ours, not its HTML page; they are counted, and logged at
 * debug level, since a flood of them must not flood the log. */
static int api_http_error(struct mg_connection *c, int status, const char *msg) {
    if (status < 400) return 1; /* not an error: civetweb's default */
    atomic_fetch_add(&g_stats.http_rejected, 1);
    log_msg("debug", "http: %d %s", status, msg ? msg : "");
    char body[320];
    cJSON *b = cJSON_CreateObject();
    cJSON *err = cJSON_AddObjectToObject(b, "error");
    cJSON_AddNumberToObject(err, "status", status);
    cJSON_AddStringToObject(err, "message", msg && *msg ? msg : mg_get_response_code_text(c, status));
    if (!cJSON_PrintPreallocated(b, body, sizeof body, 0))
        snprintf(body, sizeof body, "{\"error\":{\"status\":%d,\"message\":\"\"}}", status);
    cJSON_Delete(b);
    mg_printf(c,
              "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
              "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
              status, mg_get_response_code_text(c, status), strlen(body));
    mg_write(c, body, strlen(body));
    return 0;
}

/* ---- auth ---- */

/* Constant-time: the time taken does not depend on where a guess differs. */
static int api_token_equal(const char *given, const char *token) {
    size_t gl = strlen(given), tl = strlen(token);
    unsigned char diff = (unsigned char)(gl != tl);
    for (size_t i = 0; i < tl; i++)
        diff |= (unsigned char)(token[i] ^ (i < gl ? given[i] : 0));
    return diff == 0;
}

int auth_token_ok(const struct mg_connection *conn, const char *token) {
    if (!token || !*token) return 1;
    const char *h = mg_get_header(conn, "Authorization");
    if (h && !strncmp(h, "Bearer ", 7)) return api_token_equal(h + 7, token);
    const struct mg_request_info *ri = mg_get_request_info(conn);
    char given[256];
    if (ri->query_string &&
        mg_get_var(ri->query_string, strlen(ri->query_string), "token", given,
                   sizeof given) >= 0)
        return api_token_equal(given, token);
    return 0;
}

/* ---- queries ---- */

void event_row_from_stmt(sqlite3_stmt *st, event_row *r) {
    memset(r, 0, sizeof *r);
    r->seq = sqlite3_column_int64(st, 0);
    r->trace = (const char *)sqlite3_column_text(st, 1);
    r->agent = (const char *)sqlite3_column_text(st, 2);
    r->type = (const char *)sqlite3_column_text(st, 3);
    r->ts = sqlite3_column_int64(st, 4);
    r->level = sqlite3_column_int(st, 5);
    r->kind = sqlite3_column_int(st, 6);
    r->has_span = sqlite3_column_type(st, 7) != SQLITE_NULL;
    r->span_id = sqlite3_column_int64(st, 7);
    r->has_parent = sqlite3_column_type(st, 8) != SQLITE_NULL;
    r->parent_id = sqlite3_column_int64(st, 8);
    r->has_duration = sqlite3_column_type(st, 9) != SQLITE_NULL;
    r->duration_us = sqlite3_column_int64(st, 9);
    r->count = sqlite3_column_int64(st, 10);
    r->message = (const char *)sqlite3_column_text(st, 11);
    r->metadata = (const char *)sqlite3_column_text(st, 12);
    r->stack = (const char *)sqlite3_column_text(st, 13);
}

#define EVENT_SELECT                                                           \
    "SELECT e.id, t.name, a.name, ty.name, e.ts, e.level, e.kind, e.span_id, " \
    "e.parent_id, e.duration_us, e.count, e.message, e.metadata, "             \
    "e.stack_trace FROM events e JOIN traces t ON t.id = e.trace_id "          \
    "JOIN agents a ON a.id = e.agent_id "                                      \
    "JOIN event_types ty ON ty.id = e.type_id "

static sqlite3_stmt *api_prepare(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_msg("error", "api: %s", sqlite3_errmsg(db));
        return NULL;
    }
    return st;
}

static int api_trace(struct mg_connection *c, sqlite3 *db, const char *name) {
    sqlite3_stmt *st = api_prepare(db, "SELECT " TRACE_COLUMNS ", t.id FROM traces t "
                                       "WHERE t.name = ?1");
    if (!st) return api_error(c, 500, "storage error");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return api_error(c, 404, "no trace '%.200s'", name);
    }
    cJSON *body = json_trace_summary(st);
    int64_t id = sqlite3_column_int64(st, 9);
    sqlite3_finalize(st);

    cJSON *agents = cJSON_AddArrayToObject(body, "agents");
    st = api_prepare(db, "SELECT a.name, a.type, (SELECT count(*) FROM events e "
                         "WHERE e.agent_id = a.id) FROM agents a "
                         "WHERE a.trace_id = ?1 ORDER BY a.id");
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            cJSON *a = cJSON_CreateObject();
            cJSON_AddStringToObject(a, "id", (const char *)sqlite3_column_text(st, 0));
            if (sqlite3_column_type(st, 1) == SQLITE_NULL) cJSON_AddNullToObject(a, "type");
            else cJSON_AddStringToObject(a, "type", (const char *)sqlite3_column_text(st, 1));
            cJSON_AddNumberToObject(a, "eventCount", (double)sqlite3_column_int64(st, 2));
            cJSON_AddItemToArray(agents, a);
        }
        sqlite3_finalize(st);
    }
    /* loss is part of the answer, never hidden */
    st = api_prepare(db, "SELECT count(*), coalesce(sum(dropped_reported), 0), "
                         "coalesce(sum(seq_gaps), 0) FROM producers WHERE trace_id = ?1");
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            cJSON *loss = cJSON_AddObjectToObject(body, "loss");
            cJSON_AddNumberToObject(loss, "producers", (double)sqlite3_column_int64(st, 0));
            cJSON_AddNumberToObject(loss, "droppedReported", (double)sqlite3_column_int64(st, 1));
            cJSON_AddNumberToObject(loss, "missingBatches", (double)sqlite3_column_int64(st, 2));
        }
        sqlite3_finalize(st);
    }
    return api_reply(c, 200, body);
}

static int api_healthz(struct mg_connection *c) {
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "status", "ok");
    cJSON_AddNumberToObject(b, "batchesIn", (double)atomic_load(&g_stats.batches_in));
    cJSON_AddNumberToObject(b, "batchesRejected", (double)atomic_load(&g_stats.batches_rejected));
    cJSON_AddNumberToObject(b, "eventsIn", (double)atomic_load(&g_stats.events_in));
    cJSON_AddNumberToObject(b, "eventsStored", (double)atomic_load(&g_stats.events_stored));
    cJSON_AddNumberToObject(b, "snapshotsStored", (double)atomic_load(&g_stats.snapshots_stored));
    cJSON_AddNumberToObject(b, "eventsDroppedReported", (double)atomic_load(&g_stats.events_dropped_reported));
    cJSON_AddNumberToObject(b, "missingBatches", (double)atomic_load(&g_stats.seq_gaps));
    cJSON_AddNumberToObject(b, "storeErrors", (double)atomic_load(&g_stats.store_errors));
    cJSON_AddNumberToObject(b, "wsClients", (double)atomic_load(&g_stats.ws_clients));
    cJSON_AddNumberToObject(b, "wsSenderThreads", (double)atomic_load(&g_stats.ws_sender_threads));
    cJSON_AddNumberToObject(b, "wsStuckWrites", (double)atomic_load(&g_stats.ws_stuck_writes));
    cJSON_AddNumberToObject(b, "retentionDeleted", (double)atomic_load(&g_stats.retention_deleted));
    cJSON_AddNumberToObject(b, "httpRejected", (double)atomic_load(&g_stats.http_rejected));
    return api_reply(c, 200, b);
}

/* ---- changes: stop, delete, add a snapshot (run by the writer) ---- */

#define API_MAX_BODY (1u << 20)

/* The request body, NUL-terminated, or NULL with a 400/413 sent. */
static char *api_body(struct mg_connection *c) {
    const struct mg_request_info *ri = mg_get_request_info(c);
    if (ri->content_length < 0) {
        api_error(c, 400, "a JSON body with Content-Length is required");
        return NULL;
    }
    if (ri->content_length > (long long)API_MAX_BODY) {
        api_error(c, 400, "body larger than %u bytes", API_MAX_BODY);
        return NULL;
    }
    size_t len = (size_t)ri->content_length, got = 0;
    char *buf = malloc(len + 1);
    while (buf && got < len) {
        int n = mg_read(c, buf + got, len - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    if (!buf || got != len) {
        free(buf);
        api_error(c, 400, "body shorter than its Content-Length");
        return NULL;
    }
    buf[len] = 0;
    return buf;
}

static int api_command_reply(struct mg_connection *c, int status, const char *trace) {
    if (status == 404) return api_error(c, 404, "no trace '%.200s'", trace);
    if (status >= 500) return api_error(c, status, "the store could not do it");
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "id", trace);
    cJSON_AddStringToObject(b, "result", "ok");
    return api_reply(c, status, b);
}

static int api_stop_trace(struct mg_connection *c, api *a, const char *trace) {
    store_cmd cmd = {.type = STORE_CMD_STOP};
    snprintf(cmd.trace, sizeof cmd.trace, "%s", trace);
    return api_command_reply(c, store_command(a->st, &cmd), trace);
}

static int api_delete_trace(struct mg_connection *c, api *a, const char *trace) {
    store_cmd cmd = {.type = STORE_CMD_DELETE};
    snprintf(cmd.trace, sizeof cmd.trace, "%s", trace);
    return api_command_reply(c, store_command(a->st, &cmd), trace);
}

/* POST /api/traces/:id/snapshots {"agentId", "stateType", "state", "timestamp"?} */
static int api_add_snapshot(struct mg_connection *c, api *a, const char *trace) {
    char *body = api_body(c);
    if (!body) return 400;
    cJSON *j = json_parse_bounded(body, strlen(body));
    free(body);
    const cJSON *agent = cJSON_GetObjectItemCaseSensitive(j, "agentId");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "stateType");
    const cJSON *state = cJSON_GetObjectItemCaseSensitive(j, "state");
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(j, "timestamp");
    const char *why = !j ? "body is not JSON (or nested deeper than 128)"
                      : !cJSON_IsString(agent) || !*agent->valuestring ||
                              strlen(agent->valuestring) > WIRE_MAX_NAME
                          ? "agentId must be a string of 1..256 bytes"
                      : !cJSON_IsString(type) || !*type->valuestring || strlen(type->valuestring) > 64
                          ? "stateType must be a string of 1..64 bytes"
                      : !state ? "state is required"
                      : ts && (!cJSON_IsNumber(ts) || ts->valuedouble < (double)WIRE_MIN_TS_US ||
                               ts->valuedouble > (double)WIRE_MAX_TS_US)
                          ? "timestamp must be microseconds since the epoch"
                          : NULL;
    if (why) {
        cJSON_Delete(j);
        return api_error(c, 400, "%s", why);
    }
    store_cmd cmd = {.type = STORE_CMD_SNAPSHOT};
    snprintf(cmd.trace, sizeof cmd.trace, "%s", trace);
    snprintf(cmd.agent, sizeof cmd.agent, "%s", agent->valuestring);
    snprintf(cmd.state_type, sizeof cmd.state_type, "%s", type->valuestring);
    char *json = cJSON_PrintUnformatted(state);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    cmd.ts = ts ? (int64_t)ts->valuedouble : (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
    cmd.json = json;
    int status = json ? store_command(a->st, &cmd) : 500;
    free(json);
    cJSON_Delete(j);
    if (status != 201) return api_command_reply(c, status, trace);
    cJSON *b = cJSON_CreateObject();
    char id[24], sum[24];
    snprintf(id, sizeof id, "%lld", (long long)cmd.result_id);
    snprintf(sum, sizeof sum, "%016llx", (unsigned long long)cmd.checksum);
    cJSON_AddStringToObject(b, "id", id);
    cJSON_AddStringToObject(b, "traceId", trace);
    cJSON_AddStringToObject(b, "agentId", cmd.agent);
    cJSON_AddStringToObject(b, "stateType", cmd.state_type);
    cJSON_AddNumberToObject(b, "timestamp", (double)cmd.ts);
    cJSON_AddStringToObject(b, "checksum", sum);
    return api_reply(c, 201, b);
}

/* Route /api/...: traces, their events (list, search, range), snapshots,
 * graph; snapshots by id; metrics. */
static int api_route(struct mg_connection *c, sqlite3 *db, const char *path) {
    if (!strcmp(path, "/api/traces") || !strcmp(path, "/api/traces/"))
        return query_traces(c, db);
    if (!strcmp(path, "/api/metrics/overhead")) return query_overhead(c, db);
    if (!strcmp(path, "/api/metrics/storage")) return query_storage(c, db);
    const char *snap = "/api/snapshots/";
    if (!strncmp(path, snap, strlen(snap))) return query_snapshot(c, db, path + strlen(snap));
    const char *prefix = "/api/traces/";
    if (strncmp(path, prefix, strlen(prefix)))
        return api_error(c, 404, "no such endpoint");
    char id[WIRE_MAX_NAME + 1];
    const char *p = path + strlen(prefix), *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || n > WIRE_MAX_NAME) return api_error(c, 404, "no such trace");
    memcpy(id, p, n);
    id[n] = 0;
    if (!slash || !slash[1]) return api_trace(c, db, id);
    if (!strcmp(slash, "/events")) return query_events(c, db, id);
    if (!strcmp(slash, "/events/search")) return query_search(c, db, id);
    if (!strcmp(slash, "/events/range")) return query_range(c, db, id);
    if (!strcmp(slash, "/events/columns")) return query_columns(c, db, id);
    if (!strcmp(slash, "/snapshots")) return query_snapshots(c, db, id);
    if (!strcmp(slash, "/graph")) return query_graph(c, db, id);
    return api_error(c, 404, "no such endpoint");
}

/* The trace name in /api/traces/NAME[/rest], or NULL; *rest is set. */
static const char *api_trace_part(const char *path, char *id, size_t cap, const char **rest) {
    const char *prefix = "/api/traces/";
    if (strncmp(path, prefix, strlen(prefix))) return NULL;
    const char *p = path + strlen(prefix), *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || n >= cap) return NULL;
    memcpy(id, p, n);
    id[n] = 0;
    *rest = slash ? slash : "";
    return id;
}

/* POST and DELETE: the three changes the API allows. */
static int api_change(struct mg_connection *c, api *a, const struct mg_request_info *ri) {
    char id[WIRE_MAX_NAME + 1];
    const char *rest;
    int post = !strcmp(ri->request_method, "POST");
    int del = !strcmp(ri->request_method, "DELETE");
    if (api_trace_part(ri->local_uri, id, sizeof id, &rest)) {
        if (post && !strcmp(rest, "/stop")) return api_stop_trace(c, a, id);
        if (post && !strcmp(rest, "/snapshots")) return api_add_snapshot(c, a, id);
        if (del && (!*rest || !strcmp(rest, "/"))) return api_delete_trace(c, a, id);
    }
    return api_error(c, 405, "%.16s is not supported on %.100s", ri->request_method,
                     ri->local_uri);
}

static int api_handler(struct mg_connection *c, void *cb) {
    api *a = cb;
    const struct mg_request_info *ri = mg_get_request_info(c);
    if (!auth_token_ok(c, a->token))
        return api_error(c, 401, "missing or wrong token");
    if (strcmp(ri->request_method, "GET")) return api_change(c, a, ri);
    if (!strcmp(ri->local_uri, "/healthz")) return api_healthz(c);
    sqlite3 *db = db_pool_get(a->pool);
    int status = api_route(c, db, ri->local_uri);
    db_pool_put(a->pool, db);
    return status;
}

#define API_REST_THREADS 64

/* Every WebSocket client and REST request holds a descriptor, beside
 * SQLite's and ZeroMQ's: with the usual soft limit of 1024, the 1000th
 * viewer would fail to connect. Raise the soft limit toward the hard
 * one; if even that is too low, say so rather than fail mysteriously. */
static void api_raise_nofile(int max_clients) {
    struct rlimit rl;
    rlim_t want = (rlim_t)max_clients + API_REST_THREADS + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want) return;
    rlim_t cur = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl)) rl.rlim_cur = cur;
    if (rl.rlim_cur < want)
        log_msg("warn", "open files limited to %llu: fewer than %d WebSocket clients fit",
                (unsigned long long)rl.rlim_cur, max_clients);
}

api *api_start(const char *listen, const char *ui_dir, const char *token,
               const char *db_path, int max_clients, char *bound, size_t boundlen,
               char *err, size_t errlen) {
    api *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    api_raise_nofile(max_clients);
    a->token = token;
    a->pool = db_pool_create(db_path, 8);
    if (!a->pool) {
        snprintf(err, errlen, "cannot open %s for reading", db_path);
        free(a);
        return NULL;
    }
    const char *opts[32];
    int k = 0;
    opts[k++] = "listening_ports";
    opts[k++] = listen;
    /* civetweb keeps a worker thread for every open WebSocket: room for
     * max_clients of them plus the REST requests */
    char threads[16];
    snprintf(threads, sizeof threads, "%d", max_clients + API_REST_THREADS);
    opts[k++] = "num_threads";
    opts[k++] = threads;
    /* a burst of connections (every viewer reconnecting after a restart)
     * is accepted at once and handed to the idle workers: with civetweb's
     * defaults (backlog 200, 20 queued) the rest waited for SYN retries,
     * seconds each, before their own request timeout even began */
    opts[k++] = "listen_backlog";
    opts[k++] = threads;
    opts[k++] = "connection_queue";
    opts[k++] = threads;
    opts[k++] = "max_request_size"; /* per worker: headers only, bodies are read */
    opts[k++] = "8192";
    opts[k++] = "enable_directory_listing";
    opts[k++] = "no";
    opts[k++] = "request_timeout_ms";
    opts[k++] = "10000";
    /* every reply carries Content-Length, so connections can be reused;
     * without this civetweb closes them while clients expect keep-alive */
    opts[k++] = "enable_keep_alive";
    opts[k++] = "yes";
    /* longer than clients keep an idle connection (Node's fetch: 4 s):
     * civetweb's 500 ms default closed connections just as clients
     * reused them, failing their next request */
    opts[k++] = "keep_alive_timeout_ms";
    opts[k++] = "10000";
    /* civetweb writes a WebSocket frame's header and its payload in two
     * sends: with Nagle on, the payload could wait for the header's
     * (delayed) ACK */
    opts[k++] = "tcp_nodelay";
    opts[k++] = "1";
    opts[k++] = "websocket_timeout_ms";
    opts[k++] = "86400000"; /* viewers may idle for hours */
    if (ui_dir && *ui_dir) {
        opts[k++] = "document_root";
        opts[k++] = ui_dir;
    }
    opts[k] = NULL;
    struct mg_callbacks cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.http_error = api_http_error;
    a->ctx = mg_start(&cbs, a, opts);
    if (!a->ctx) {
        snprintf(err, errlen, "cannot listen on %s", listen);
        db_pool_destroy(a->pool);
        free(a);
        return NULL;
    }
    mg_set_request_handler(a->ctx, "/api", api_handler, a);
    mg_set_request_handler(a->ctx, "/healthz$", api_handler, a);
    struct mg_server_port port;
    if (mg_get_server_ports(a->ctx, 1, &port) < 1) {
        snprintf(err, errlen, "no listening port");
        api_stop(a);
        return NULL;
    }
    char host[64];
    snprintf(host, sizeof host, "%s", listen);
    char *colon = strrchr(host, ':');
    if (colon) *colon = 0;
    else snprintf(host, sizeof host, "0.0.0.0");
    snprintf(bound, boundlen, "%s:%d", host, port.port);
    return a;
}

struct mg_context *api_context(api *a) { return a->ctx; }
void api_set_store(api *a, store *st) { a->st = st; }
db_pool *api_pool(api *a) { return a->pool; }

void api_stop(api *a) {
    if (!a) return;
    if (a->ctx) mg_stop(a->ctx);
    db_pool_destroy(a->pool);
    free(a);
}
