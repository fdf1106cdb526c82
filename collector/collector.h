/*
 * collector.h — the pieces of trace-collector and how they connect.
 *
 * Data path: ingest.c (ZeroMQ PULL, wire_decode) → store.c (one writer
 * thread, batched SQLite transactions) → stream.c (WebSocket fan-out).
 * api.c answers REST from read-only connections (db.c), independent of the
 * writer thanks to WAL. Each piece is an opaque struct with a prefix.
 */
#ifndef COLLECTOR_H
#define COLLECTOR_H

#include <stdatomic.h>
#include <stdint.h>

#include <cJSON.h>
#include <sqlite3.h>

#include "../wire/wire.h"

/* Counters every part adds to; read by /healthz and the status line. */
typedef struct coll_stats {
    _Atomic uint64_t batches_in, events_in, bytes_in;
    _Atomic uint64_t batches_rejected;
    _Atomic uint64_t events_stored, snapshots_stored;
    _Atomic uint64_t events_dropped_reported, seq_gaps;
    _Atomic uint64_t store_errors;
    _Atomic uint64_t ws_clients, ws_messages_sent;
    _Atomic uint64_t ws_sender_threads, ws_stuck_writes; /* the stream's pool */
    _Atomic uint64_t retention_deleted;
    _Atomic uint64_t http_rejected; /* refused by civetweb: bad request, too large, ... */
} coll_stats;

extern coll_stats g_stats;

/* smap.c: string -> int64, single-threaded */
typedef struct smap {
    char **keys;
    size_t *lens;
    int64_t *vals;
    size_t cap, count;
} smap;
void smap_init(smap *m);
void smap_free(smap *m);
void smap_clear(smap *m);
int smap_get(const smap *m, const char *k, size_t n, int64_t *val);
int smap_put(smap *m, const char *k, size_t n, int64_t val);

/* log.c */
void log_msg(const char *level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
extern int g_quiet;
extern int g_log_level; /* log_rank() of the most detailed level written */
int log_rank(const char *level); /* error 0, warn 1, info 2, debug 3; -1 */

/* db.c: connections with the collector's pragmas and schema */
/* Process-wide SQLite settings; call before any other sqlite3_* call. */
void db_configure_library(void);
sqlite3 *db_open_writer(const char *path, char *err, size_t errlen);
sqlite3 *db_open_reader(const char *path);
typedef struct db_pool db_pool;
db_pool *db_pool_create(const char *path, int size);
sqlite3 *db_pool_get(db_pool *p);   /* blocks until one is free */
void db_pool_put(db_pool *p, sqlite3 *db);
void db_pool_destroy(db_pool *p);

/* json.c: the shapes of api.md, shared by REST and the stream */
typedef struct event_row {
    int64_t seq, ts, span_id, parent_id, duration_us, count;
    int level, kind, has_span, has_parent, has_duration;
    const char *trace, *agent, *type, *message, *metadata, *stack;
} event_row;
cJSON *json_event(const event_row *e);
cJSON *json_trace_summary(sqlite3_stmt *st); /* columns: see TRACE_COLUMNS */
#define TRACE_COLUMNS                                                        \
    "t.name, t.session_id, t.start_time, t.end_time, t.last_time, t.status, " \
    "t.agent_count, t.event_count, t.error_count"
const char *json_level_name(int level);
const char *json_kind_name(int kind); /* span_begin, span_end or event */

/* jw.c: JSON text straight into a buffer, for the stream's hot path */
typedef struct jw {
    char *p; /* NUL-terminated; the caller frees it (or takes it) */
    size_t n, cap;
    int oom;
} jw;
void jw_raw(jw *w, const char *s, size_t n);
void jw_lit(jw *w, const char *s);
void jw_int(jw *w, int64_t v);
void jw_str(jw *w, const char *s, size_t n); /* quoted, escaped, UTF-8 repaired */
void jw_key(jw *w, const char *key);          /* "key": */
int jw_valid_json(const char *s, size_t n);
size_t jw_utf8_len(const unsigned char *s, size_t n);
void jw_free(jw *w);
/* An event as json_event() shapes it, with counted strings (p NULL: none),
 * so the writer can take them straight from a decoded batch. */
typedef struct jw_span {
    const char *p;
    size_t n;
} jw_span;
typedef struct event_text {
    int64_t seq, ts, span_id, parent_id, duration_us, count;
    int level, kind, has_span, has_parent, has_duration;
    const char *trace;
    jw_span agent, type, message, metadata, stack;
} event_text;
void json_write_event(jw *w, const event_text *e);
/* {"type":T,"timestamp":now,"traceId":trace|null,"payload": — the caller
 * writes the payload object and the closing brace */
void json_write_stream_head(jw *w, const char *type, const char *trace);
void json_add_int(cJSON *o, const char *key, int64_t v);
char *json_stream_message(const char *type, const char *trace, cJSON *payload);

/* stream.c */
typedef struct stream stream;
struct mg_context;
struct mg_connection;
stream *stream_create(struct mg_context *ctx, db_pool *pool, const char *token,
                      int max_clients);
int stream_has_clients(stream *s);
/* Takes ownership of json (malloc'd). */
void stream_publish(stream *s, char *json);
void stream_stop(stream *s);
void stream_destroy(stream *s);
void event_row_from_stmt(sqlite3_stmt *st, event_row *r); /* api.c column order */
int auth_token_ok(const struct mg_connection *conn, const char *token);

/* store.c */
typedef struct store store;
store *store_open(const char *path, stream *out, char *err, size_t errlen);
/* Takes ownership of *b (freed with wire_batch_free + free). */
void store_submit(store *st, wire_batch *b);
void store_set_stream(store *st, stream *out);
/* A change asked for over REST, run by the writer; blocks until done and
 * returns the HTTP status (200/201, 404 unknown trace, 500, 503). */
enum { STORE_CMD_STOP, STORE_CMD_DELETE, STORE_CMD_SNAPSHOT };
typedef struct store_cmd {
    int type;
    char trace[WIRE_MAX_NAME + 1];
    char agent[WIRE_MAX_NAME + 1], state_type[65]; /* snapshot */
    const char *json;                               /* snapshot state */
    int64_t ts;
    int status, done;
    int64_t result_id;
    uint64_t checksum;
    struct store_cmd *next;
} store_cmd;
int store_command(store *st, store_cmd *c);
/* What is kept, in seconds (0 = forever), and how often the writer
 * enforces it. The spec's defaults: completed traces 7 d, traces that
 * ended in error 30 d, debug events 1 d, snapshots 3 d. */
typedef struct retention {
    int64_t completed_s, error_s, debug_s, snapshots_s, every_s;
} retention;
void store_set_retention(store *st, const retention *r);
void store_close(store *st); /* commits everything submitted */

/* ingest.c */
typedef struct ingest ingest;
/* CURVE on the ingest socket (NULL or secret_key[0] == 0: plain TCP).
 * allowed: client public keys (Z85), nallowed 0 = any client that
 * completes the handshake, i.e. knows the server's public key. */
typedef struct ingest_curve {
    char secret_key[41];
    char (*allowed)[41];
    size_t nallowed;
} ingest_curve;
int ingest_curve_load(ingest_curve *c, const char *secret_file,
                      const char *allowed_file, char *err, size_t errlen);
void ingest_curve_free(ingest_curve *c);
ingest *ingest_start(const char *endpoint, const ingest_curve *curve, store *st, char *bound,
                     size_t boundlen, char *err, size_t errlen);
void ingest_stop(ingest *in); /* everything received is submitted */

/* api.c: helpers the handlers share */
int api_reply(struct mg_connection *c, int status, cJSON *body); /* takes body */
int api_error(struct mg_connection *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* params.c: request parameters and WebSocket messages, parsed without a
 * server (so fuzzers and unit tests can call them). */
enum { API_ROUTE_TRACES, API_ROUTE_EVENTS, API_ROUTE_SEARCH, API_ROUTE_RANGE,
       API_ROUTE_SNAPSHOTS, API_ROUTE_OVERHEAD, API_ROUTE_COLUMNS, API_ROUTE_COUNT };
#define COLUMNS_MAX_ROWS 1000000 /* events/columns: rows in one answer */
typedef struct api_query {
    int64_t limit, offset, from, to, after, before; /* -1: absent (from..before) */
    int has_status, has_session, has_agent, has_type, has_trace, has_parent;
    int type_prefix; /* type ended in '*', now removed */
    int level;       /* minimum level 0..3, -1: any */
    uint64_t parent;
    char status[16], session[WIRE_MAX_NAME + 1], agent[WIRE_MAX_NAME + 1],
        type[WIRE_MAX_NAME + 1], trace[WIRE_MAX_NAME + 1], q[256];
} api_query;
/* 0, or -1 with the reason (for a 400) in err. qs may be NULL. */
int api_parse_query(int route, const char *qs, api_query *q, char *err, size_t errlen);
int params_int(const char *s, int64_t lo, int64_t hi, int64_t *out);
int params_level(const char *s); /* debug 0 .. error 3, -1 unknown */

/* JSON a client or producer sent, parsed only if it nests at most
 * JSON_MAX_DEPTH deep (cJSON recurses per level; worker stacks are small).
 * NULL: not JSON, or too deep. */
#define JSON_MAX_DEPTH 128
int json_depth_ok(const char *p, size_t n, int max);
cJSON *json_parse_bounded(const char *p, size_t n);

typedef struct ws_filter {
    char trace[WIRE_MAX_NAME + 1], agent[WIRE_MAX_NAME + 1], type[WIRE_MAX_NAME + 1];
    int type_prefix; /* type ended in '*' */
    int min_level;
} ws_filter;
int ws_filter_set(ws_filter *f, const char *key, const char *v);
/* /ws?trace=&agent=&type=&level=&since=: 0, or -1 with a reason. */
int ws_parse_url(const char *qs, ws_filter *f, int64_t *since, const char **why);
/* {"type":"subscribe","filter":{...}}: 0 with *f the new filter, or -1. */
int ws_parse_message(const char *data, size_t len, ws_filter *f, const char **why);

/* query.c: the read-only endpoints */
int query_traces(struct mg_connection *c, sqlite3 *db);
int query_events(struct mg_connection *c, sqlite3 *db, const char *trace);
int query_search(struct mg_connection *c, sqlite3 *db, const char *trace);
int query_range(struct mg_connection *c, sqlite3 *db, const char *trace);
/* columns.c: every event of a trace as compact columns, for the timeline */
int query_columns(struct mg_connection *c, sqlite3 *db, const char *trace);
int query_snapshots(struct mg_connection *c, sqlite3 *db, const char *trace);
int query_snapshot(struct mg_connection *c, sqlite3 *db, const char *id);
int query_graph(struct mg_connection *c, sqlite3 *db, const char *trace);
int query_overhead(struct mg_connection *c, sqlite3 *db);
int query_storage(struct mg_connection *c, sqlite3 *db);

/* api.c */
typedef struct api api;
api *api_start(const char *listen, const char *ui_dir, const char *token,
               const char *db_path, int max_clients, char *bound, size_t boundlen,
               char *err, size_t errlen);
struct mg_context *api_context(api *a);
void api_set_store(api *a, store *st);
db_pool *api_pool(api *a);
void api_stop(api *a);

#endif
