/*
 * stream.c — WebSocket /ws: live fan-out of committed events.
 *
 * The writer hands each StreamMessage (already JSON) to stream_publish(),
 * which only queues it: the writer never waits on a browser. One stream
 * thread sends queued messages to every client, and a heartbeat every
 * 10 s. A client connecting with ?since=SEQ first gets every stored event
 * after SEQ from SQLite (catch-up), so a reconnect leaves no gap; clients
 * drop duplicate seqs, since catch-up and live delivery may overlap.
 *
 * Ownership: a message string belongs to the queue until the stream thread
 * has sent it to every client and frees it.
 */
#include <civetweb.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"

#define STREAM_QUEUE_MAX 4096
#define STREAM_HEARTBEAT_S 10
#define STREAM_CATCHUP_PAGE 500

typedef struct ws_client {
    struct mg_connection *conn;
    struct ws_client *next;
} ws_client;

struct stream {
    db_pool *pool;
    const char *token;
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t more;
    ws_client *clients;
    char *queue[STREAM_QUEUE_MAX];
    size_t qhead, qlen;
    uint64_t dropped; /* messages dropped because the queue was full */
    int stopping;
    pthread_t thread;
};

int stream_has_clients(stream *s) {
    pthread_mutex_lock(&s->lock);
    int any = s->clients != NULL;
    pthread_mutex_unlock(&s->lock);
    return any;
}

void stream_publish(stream *s, char *json) {
    pthread_mutex_lock(&s->lock);
    if (s->qlen == STREAM_QUEUE_MAX) { /* oldest goes: live view wants now */
        free(s->queue[s->qhead]);
        s->qhead = (s->qhead + 1) % STREAM_QUEUE_MAX;
        s->qlen--;
        s->dropped++;
    }
    s->queue[(s->qhead + s->qlen) % STREAM_QUEUE_MAX] = json;
    s->qlen++;
    pthread_cond_signal(&s->more);
    pthread_mutex_unlock(&s->lock);
}

static void stream_send_all(stream *s, const char *msg) {
    size_t len = strlen(msg);
    pthread_mutex_lock(&s->lock);
    for (ws_client *c = s->clients; c; c = c->next)
        if (mg_websocket_write(c->conn, MG_WEBSOCKET_OPCODE_TEXT, msg, len) > 0)
            atomic_fetch_add(&g_stats.ws_messages_sent, 1);
    pthread_mutex_unlock(&s->lock);
}

static void *stream_main(void *arg) {
    stream *s = arg;
    time_t next_beat = time(NULL) + STREAM_HEARTBEAT_S;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (!s->qlen && !s->stopping && time(NULL) < next_beat) {
            struct timespec until = {next_beat, 0};
            pthread_cond_timedwait(&s->more, &s->lock, &until);
        }
        if (s->stopping) {
            pthread_mutex_unlock(&s->lock);
            break;
        }
        char *msg = NULL;
        if (s->qlen) {
            msg = s->queue[s->qhead];
            s->qhead = (s->qhead + 1) % STREAM_QUEUE_MAX;
            s->qlen--;
        }
        pthread_mutex_unlock(&s->lock);
        if (!msg && time(NULL) >= next_beat) {
            msg = json_stream_message("heartbeat", NULL, NULL);
            next_beat = time(NULL) + STREAM_HEARTBEAT_S;
        }
        if (msg) stream_send_all(s, msg);
        free(msg);
    }
    return NULL;
}

/* ---- civetweb callbacks ---- */

static int stream_on_connect(const struct mg_connection *conn, void *cb) {
    stream *s = cb;
    if (!auth_token_ok(conn, s->token)) {
        log_msg("warn", "ws: connection refused: missing or wrong token");
        return 1; /* civetweb answers and closes */
    }
    return 0;
}

static const char *catchup_sql =
    "SELECT e.id, t.name, a.name, ty.name, e.ts, e.level, e.kind, e.span_id, "
    "e.parent_id, e.duration_us, e.count, e.message, e.metadata, e.stack_trace "
    "FROM events e JOIN traces t ON t.id = e.trace_id "
    "JOIN agents a ON a.id = e.agent_id JOIN event_types ty ON ty.id = e.type_id "
    "WHERE e.id > ?1 ORDER BY e.id LIMIT ?2";

static void stream_flush_page(struct mg_connection *conn, cJSON *events,
                              const char *trace, int64_t last_seq) {
    cJSON *payload = cJSON_CreateObject();
    cJSON_AddItemToObject(payload, "events", events);
    cJSON_AddStringToObject(payload, "batchId", "catch-up");
    cJSON_AddNumberToObject(payload, "sequenceNumber", (double)last_seq);
    char *msg = json_stream_message("trace_event", trace, payload);
    if (msg) mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_TEXT, msg, strlen(msg));
    free(msg);
}

/* Replay stored events after `since`, grouped by trace in commit order. */
static void stream_catch_up(stream *s, struct mg_connection *conn, int64_t since) {
    sqlite3 *db = db_pool_get(s->pool);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, catchup_sql, -1, &st, NULL) != SQLITE_OK) {
        db_pool_put(s->pool, db);
        return;
    }
    for (int more = 1; more;) {
        sqlite3_bind_int64(st, 1, since);
        sqlite3_bind_int(st, 2, STREAM_CATCHUP_PAGE);
        cJSON *events = NULL;
        char trace[WIRE_MAX_NAME + 1] = "";
        int rows = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            event_row r;
            event_row_from_stmt(st, &r);
            if (events && strcmp(trace, r.trace)) {
                stream_flush_page(conn, events, trace, since);
                events = NULL;
            }
            if (!events) {
                events = cJSON_CreateArray();
                snprintf(trace, sizeof trace, "%s", r.trace);
            }
            cJSON_AddItemToArray(events, json_event(&r));
            since = r.seq;
            rows++;
        }
        if (events) stream_flush_page(conn, events, trace, since);
        sqlite3_reset(st);
        more = rows == STREAM_CATCHUP_PAGE;
    }
    sqlite3_finalize(st);
    db_pool_put(s->pool, db);
}

static void stream_on_ready(struct mg_connection *conn, void *cb) {
    stream *s = cb;
    ws_client *c = calloc(1, sizeof *c);
    if (!c) return;
    c->conn = conn;
    mg_set_user_connection_data(conn, c);
    const struct mg_request_info *ri = mg_get_request_info(conn);
    char since[32];
    int64_t since_seq = -1;
    if (ri->query_string &&
        mg_get_var(ri->query_string, strlen(ri->query_string), "since", since,
                   sizeof since) > 0) {
        char *end;
        long long v = strtoll(since, &end, 10);
        if (*end || v < 0) {
            cJSON *err = cJSON_CreateObject();
            cJSON_AddStringToObject(err, "message",
                                    "since must be a non-negative integer");
            char *msg = json_stream_message("error", NULL, err);
            mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_TEXT, msg, strlen(msg));
            free(msg);
        } else {
            since_seq = v;
        }
    }
    /* join the live stream first, then replay: nothing falls between */
    pthread_mutex_lock(&s->lock);
    c->next = s->clients;
    s->clients = c;
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_add(&g_stats.ws_clients, 1);
    if (since_seq >= 0) stream_catch_up(s, conn, since_seq);
}

static int stream_on_data(struct mg_connection *conn, int bits, char *data,
                          size_t len, void *cb) {
    (void)cb;
    int opcode = bits & 0x0F;
    if (opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE) {
        /* civetweb does not answer a close frame itself */
        mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, data, len);
        return 0;
    }
    if (opcode == MG_WEBSOCKET_OPCODE_PING)
        mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_PONG, data, len);
    return 1;
}

static void stream_on_close(const struct mg_connection *conn, void *cb) {
    stream *s = cb;
    ws_client *c = mg_get_user_connection_data(conn);
    if (!c) return;
    pthread_mutex_lock(&s->lock);
    for (ws_client **pp = &s->clients; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_sub(&g_stats.ws_clients, 1);
    free(c);
}

stream *stream_create(struct mg_context *ctx, db_pool *pool, const char *token) {
    stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->pool = pool;
    s->token = token;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&s->more, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->thread, NULL, stream_main, s)) {
        free(s);
        return NULL;
    }
    mg_set_websocket_handler(ctx, "/ws", stream_on_connect, stream_on_ready,
                             stream_on_data, stream_on_close, s);
    return s;
}

/* Stop sending: call before mg_stop(), so no write races a closing
 * connection. */
void stream_stop(stream *s) {
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    int was = s->stopping;
    s->stopping = 1;
    pthread_cond_signal(&s->more);
    pthread_mutex_unlock(&s->lock);
    if (!was) pthread_join(s->thread, NULL);
}

/* Free everything; call after mg_stop(), so no callback can run. */
void stream_destroy(stream *s) {
    if (!s) return;
    stream_stop(s);
    for (size_t i = 0; i < s->qlen; i++)
        free(s->queue[(s->qhead + i) % STREAM_QUEUE_MAX]);
    for (ws_client *c = s->clients, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->more);
    free(s);
}
