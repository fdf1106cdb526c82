/*
 * columns.c — GET /api/traces/:id/events/columns: every event of a trace in
 * one compact, column-oriented JSON reply, for the UI's timeline.
 *
 * The paged /events endpoint spends most of its time building one cJSON
 * object per event and most of its bytes repeating key names, agent names
 * and null fields; a timeline of 100 000 events would need ten such pages
 * and tens of megabytes. Here each column is one JSON array written
 * straight into its own growing buffer while the rows stream out of
 * SQLite, agent and event-type names are sent once and referenced by
 * index, and only what a timeline draws is included (no message text, no
 * metadata except the msgId that pairs message.sent with message.received,
 * as the graph query pairs them). The full event stays one REST call away.
 *
 * Span ids and msgIds are only ever compared, so they are sent as small
 * dense numbers (in order of first appearance) instead of 16-digit hex and
 * strings: the reply is half the size, and the browser pairs and nests
 * with integer arrays instead of string maps.
 */
#include <civetweb.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"

/* Text is built with jw.c (a growing buffer; a failed allocation sticks). */

/* Before the i-th element of an array column. */
static void sb_sep(jw *b, int64_t i) {
    if (i) jw_raw(b, ",", 1);
}

/* ---- names sent once, referenced by index ---- */

typedef struct dict {
    int64_t *ids; /* ascending, as SELECT ... ORDER BY id returns them */
    size_t n;
    jw json; /* the names as a JSON array */
} dict;

static int dict_load(dict *d, sqlite3 *db, const char *sql, int64_t bind) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) return -1;
    if (bind >= 0) sqlite3_bind_int64(st, 1, bind);
    size_t cap = 0;
    jw_lit(&d->json, "[");
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (d->n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *ids = realloc(d->ids, cap * sizeof *ids);
            if (!ids) {
                sqlite3_finalize(st);
                return -1;
            }
            d->ids = ids;
        }
        sb_sep(&d->json, (int64_t)d->n);
        d->ids[d->n++] = sqlite3_column_int64(st, 0);
        const unsigned char *name = sqlite3_column_text(st, 1);
        const char *text = name ? (const char *)name : "";
        jw_str(&d->json, text, strlen(text));
    }
    sqlite3_finalize(st);
    jw_lit(&d->json, "]");
    return d->json.oom ? -1 : 0;
}

static int64_t dict_index(const dict *d, int64_t id) {
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->ids[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < d->n && d->ids[lo] == id ? (int64_t)lo : -1;
}

static void dict_free(dict *d) {
    free(d->ids);
    free(d->json.p);
}

/* ---- dense numbers for span ids and msgIds ---- */

typedef struct numbering {
    smap map;
    int64_t next;
    int failed;
} numbering;

/* The number of key, given on first sight. */
static int64_t number_of(numbering *nb, const char *key, size_t len) {
    int64_t v;
    if (smap_get(&nb->map, key, len, &v)) return v;
    v = nb->next++;
    if (smap_put(&nb->map, key, len, v)) nb->failed = 1;
    return v;
}

/* A span id column value: its number, or -1 for NULL. */
static int64_t span_number(numbering *nb, sqlite3_stmt *st, int col) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return -1;
    int64_t id = sqlite3_column_int64(st, col);
    return number_of(nb, (const char *)&id, sizeof id);
}

/* ---- the columns ---- */

enum { C_SEQ, C_TS, C_AGENT, C_TYPE, C_LEVEL, C_KIND, C_SPAN, C_PARENT, C_DUR, C_MSG, C_COUNT };
static const char *const column_names[C_COUNT] = {
    "seq", "ts", "agent", "type", "level", "kind", "span", "parent", "duration", "msg"};

static const char *columns_sql =
    "SELECT e.id, e.ts, e.agent_id, e.type_id, e.level, e.kind, e.span_id,"
    " e.parent_id, e.duration_us,"
    " CASE WHEN ty.name IN ('message.sent', 'message.received') AND json_valid(e.metadata)"
    "  THEN json_extract(e.metadata, '$.msgId') END"
    " FROM events e JOIN event_types ty ON ty.id = e.type_id"
    " WHERE e.trace_id = ?1 AND e.ts >= ?2 AND e.ts <= ?3"
    " ORDER BY e.ts, e.id LIMIT ?4";

typedef struct row_ctx {
    jw *col;
    const dict *agents, *types;
    numbering spans, msgs;
} row_ctx;

static void put_row(row_ctx *x, int64_t i, sqlite3_stmt *st) {
    jw *col = x->col;
    for (int k = 0; k < C_COUNT; k++) sb_sep(&col[k], i);
    jw_int(&col[C_SEQ], sqlite3_column_int64(st, 0));
    jw_int(&col[C_TS], sqlite3_column_int64(st, 1));
    jw_int(&col[C_AGENT], dict_index(x->agents, sqlite3_column_int64(st, 2)));
    jw_int(&col[C_TYPE], dict_index(x->types, sqlite3_column_int64(st, 3)));
    jw_int(&col[C_LEVEL], sqlite3_column_int(st, 4));
    jw_int(&col[C_KIND], sqlite3_column_int(st, 5));
    jw_int(&col[C_SPAN], span_number(&x->spans, st, 6));
    jw_int(&col[C_PARENT], span_number(&x->spans, st, 7));
    if (sqlite3_column_type(st, 8) == SQLITE_NULL) jw_lit(&col[C_DUR], "null");
    else jw_int(&col[C_DUR], sqlite3_column_int64(st, 8));
    const char *msg = (const char *)sqlite3_column_text(st, 9);
    jw_int(&col[C_MSG], msg ? number_of(&x->msgs, msg, strlen(msg)) : -1);
}

/* Streams the rows into the column buffers; the row count or -1. */
static int64_t read_rows(sqlite3 *db, int64_t trace, int64_t from, int64_t to,
                         int64_t limit, row_ctx *x) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, columns_sql, -1, &st, NULL) != SQLITE_OK) {
        log_msg("error", "columns: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, trace);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    sqlite3_bind_int64(st, 4, limit);
    int64_t n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) put_row(x, n++, st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE && !x->spans.failed && !x->msgs.failed ? n : -1;
}

static int send_body(struct mg_connection *c, const char *trace, int64_t n, int64_t total,
                     const dict *agents, const dict *types, const row_ctx *x) {
    const jw *col = x->col;
    jw head = {0};
    jw_lit(&head, "{\"traceId\":");
    jw_str(&head, trace, strlen(trace));
    jw_lit(&head, ",\"count\":");
    jw_int(&head, n);
    jw_lit(&head, ",\"total\":");
    jw_int(&head, total);
    jw_lit(&head, ",\"spanCount\":");
    jw_int(&head, x->spans.next);
    jw_lit(&head, ",\"msgCount\":");
    jw_int(&head, x->msgs.next);
    jw_lit(&head, ",\"agents\":");
    jw_raw(&head, agents->json.p, agents->json.n);
    jw_lit(&head, ",\"types\":");
    jw_raw(&head, types->json.p, types->json.n);
    size_t length = head.n + 1; /* the closing brace */
    for (int k = 0; k < C_COUNT; k++) length += strlen(column_names[k]) + 6 + col[k].n;
    int failed = head.oom;
    for (int k = 0; k < C_COUNT; k++) failed |= col[k].oom;
    if (failed) {
        free(head.p);
        return api_error(c, 500, "out of memory");
    }
    mg_printf(c,
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
              "Content-Length: %zu\r\nCache-Control: no-store\r\n\r\n",
              length);
    mg_write(c, head.p, head.n);
    free(head.p);
    for (int k = 0; k < C_COUNT; k++) {
        char key[32];
        int kl = snprintf(key, sizeof key, ",\"%s\":[", column_names[k]);
        mg_write(c, key, (size_t)kl);
        mg_write(c, col[k].p ? col[k].p : "", col[k].n);
        mg_write(c, "]", 1);
    }
    mg_write(c, "}", 1);
    return 200;
}

int query_columns(struct mg_connection *c, sqlite3 *db, const char *trace) {
    api_query p;
    char err[160];
    if (api_parse_query(API_ROUTE_COLUMNS, mg_get_request_info(c)->query_string, &p, err,
                        sizeof err))
        return api_error(c, 400, "%s", err);
    int64_t from = p.from, to = p.to, limit = p.limit;
    sqlite3_stmt *st = NULL;
    int64_t id = -1, total = 0;
    if (sqlite3_prepare_v2(db, "SELECT id, event_count FROM traces WHERE name = ?1", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, trace, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            id = sqlite3_column_int64(st, 0);
            total = sqlite3_column_int64(st, 1);
        }
    }
    sqlite3_finalize(st);
    if (id < 0) return api_error(c, 404, "no trace '%.200s'", trace);

    /* one read transaction, so the names and the rows agree while ingest goes on */
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    dict agents = {0}, types = {0};
    jw col[C_COUNT];
    memset(col, 0, sizeof col);
    row_ctx x = {.col = col, .agents = &agents, .types = &types};
    smap_init(&x.spans.map);
    smap_init(&x.msgs.map);
    int64_t n = -1;
    if (!dict_load(&agents, db, "SELECT id, name FROM agents WHERE trace_id = ?1 ORDER BY id", id) &&
        !dict_load(&types, db, "SELECT id, name FROM event_types ORDER BY id", -1))
        n = read_rows(db, id, from, to, limit, &x);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    int status = n < 0 ? api_error(c, 500, "storage error")
                       : send_body(c, trace, n, total, &agents, &types, &x);
    dict_free(&agents);
    dict_free(&types);
    smap_free(&x.spans.map);
    smap_free(&x.msgs.map);
    for (int k = 0; k < C_COUNT; k++) free(col[k].p);
    return status;
}
