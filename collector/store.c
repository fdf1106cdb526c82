/*
 * store.c — the single writer: decoded batches into SQLite, then out to
 * the stream.
 *
 * One thread owns the write connection, its prepared statements and the
 * name caches, so none of them needs a lock. It takes every batch queued
 * since its last pass and writes them in one transaction: a commit (and
 * its fsync) per pass rather than per batch is what makes ingest fast.
 * Only after the commit are the events published to WebSocket clients,
 * so a client never sees an event that a crash could take back.
 *
 * The queue from ingest is bounded: when the disk cannot keep up, ingest
 * waits, ZeroMQ buffers, and finally producers drop and count — memory in
 * the collector stays bounded.
 */
#include <lz4.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"

#define STORE_QUEUE_MAX 128 /* batches waiting for the writer: beyond,
                              ingest waits and ZeroMQ's queue holds them */
/* Batches per transaction. A pass is committed before any of its events
 * reach WebSocket clients (catch-up must find what the stream announced),
 * so a pass's length is latency: 32 batches of 100 events are ~10 ms of
 * writing, and a commit in WAL mode without fsync costs ~0.1 ms. */
#define STORE_PASS_MAX 32

enum {
    ST_TRACE_INSERT, ST_TRACE_FIND, ST_TRACE_UPDATE, ST_TRACE_END,
    ST_TRACE_SUMMARY, ST_AGENT_INSERT, ST_AGENT_FIND, ST_AGENT_TYPE,
    ST_AGENT_COUNT, ST_TYPE_INSERT, ST_TYPE_FIND, ST_EVENT_INSERT, ST_SNAPSHOT_INSERT, ST_PRODUCER_GET,
    ST_PRODUCER_PUT, ST_PRODUCERS_OPEN, ST_METRIC_INSERT, ST_TRACE_CRASH, ST_COUNT
};

static const char *store_sql[ST_COUNT] = {
    [ST_TRACE_INSERT] =
        "INSERT INTO traces(name, session_id, start_time, last_time) "
        "VALUES(?1, ?2, ?3, ?3) ON CONFLICT(name) DO NOTHING",
    [ST_TRACE_FIND] = "SELECT id FROM traces WHERE name = ?1",
    [ST_TRACE_UPDATE] =
        "UPDATE traces SET event_count = event_count + ?2, "
        "error_count = error_count + ?3, last_time = max(last_time, ?4), "
        "start_time = min(start_time, ?5), "
        /* a crash ends a trace in error for good (ST_TRACE_CRASH) */
        "status = iif(status = 'error', 'error', 'active'), "
        "end_time = iif(status = 'error', end_time, NULL) "
        "WHERE id = ?1",
    [ST_TRACE_END] =
        "UPDATE traces SET status = 'completed', end_time = last_time "
        "WHERE id = ?1 AND status != 'error'",
    [ST_TRACE_CRASH] =
        "UPDATE traces SET status = 'error', end_time = last_time WHERE id = ?1",
    [ST_TRACE_SUMMARY] = "SELECT " TRACE_COLUMNS " FROM traces t WHERE t.id = ?1",
    [ST_AGENT_INSERT] = "INSERT INTO agents(trace_id, name) VALUES(?1, ?2) "
                        "ON CONFLICT(trace_id, name) DO NOTHING",
    [ST_AGENT_FIND] = "SELECT id FROM agents WHERE trace_id = ?1 AND name = ?2",
    [ST_AGENT_TYPE] = "UPDATE agents SET type = ?2 WHERE id = ?1",
    [ST_AGENT_COUNT] =
        "UPDATE traces SET agent_count = agent_count + 1 WHERE id = ?1",
    [ST_TYPE_INSERT] = "INSERT INTO event_types(name) VALUES(?1) "
                       "ON CONFLICT(name) DO NOTHING",
    [ST_TYPE_FIND] = "SELECT id FROM event_types WHERE name = ?1",
    [ST_EVENT_INSERT] =
        "INSERT INTO events(trace_id, ts, agent_id, type_id, level, kind, "
        "span_id, parent_id, duration_us, count, message, metadata, "
        "stack_trace) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
    [ST_SNAPSHOT_INSERT] =
        "INSERT INTO snapshots(trace_id, ts, agent_id, state_type, "
        "state_data, raw_size, checksum, size_bytes) "
        "VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
    [ST_PRODUCER_GET] = "SELECT last_seq, received FROM producers WHERE id = ?1",
    [ST_PRODUCER_PUT] =
        "INSERT INTO producers(id, trace_id, first_seen, last_seen, last_seq, "
        "batches, events, dropped_reported, seq_gaps, finished, received, lost_in_transit) "
        "VALUES(?1, ?2, ?3, ?3, ?4, 1, ?5, max(?6, ?11), ?7, ?8, ?9, max(?10, 0)) "
        "ON CONFLICT(id) DO UPDATE SET last_seen = ?3, "
        "last_seq = max(last_seq, ?4), batches = batches + 1, "
        "events = events + ?5, dropped_reported = max(dropped_reported + ?6, ?11), "
        "seq_gaps = seq_gaps + ?7, finished = ?8, received = received + ?9, "
        "lost_in_transit = max(lost_in_transit, ?10)",
    [ST_METRIC_INSERT] =
        "INSERT INTO metrics(ts, metric_type, value, unit, metadata) "
        "VALUES(?1, 'tracing.overhead', coalesce(json_extract(?2, '$.hotPathUs'), 0), "
        "'us', json_set(?2, '$.producer', ?3, '$.trace', ?4))",
    [ST_PRODUCERS_OPEN] =
        "SELECT count(*) FROM producers WHERE trace_id = ?1 AND finished = 0",
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    stream *out;
    smap traces, agents, types; /* name -> id; agents keyed "trace\x1fname" */

    pthread_mutex_t lock; /* guards the queue, stopping, out */
    pthread_cond_t more, room, cmd_done;
    wire_batch *queue[STORE_QUEUE_MAX];
    size_t qhead, qlen;
    store_cmd *cmds; /* REST changes, run by the writer between passes */
    retention keep;  /* under lock; every_s 0 = never */
    int64_t next_retention_ms;
    int stopping;
    pthread_t thread;
    pthread_t checkpointer; /* its own connection; PASSIVE never blocks us */
    char *path;
};

/* Messages to publish once the transaction commits. */
typedef struct pending {
    char **msgs;
    size_t n, cap;
} pending;

static void pending_add(pending *p, char *msg) {
    if (!msg) return;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 16;
        char **nm = realloc(p->msgs, ncap * sizeof *nm);
        if (!nm) {
            free(msg);
            return;
        }
        p->msgs = nm;
        p->cap = ncap;
    }
    p->msgs[p->n++] = msg;
}

static int64_t store_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Run a prepared statement that returns no rows (or ignores them). */
static int store_step(store *s, int which) {
    sqlite3_stmt *st = s->st[which];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        /* every error is counted; the log gets the first few and then a
         * sample, so one systematic fault cannot flood it */
        uint64_t n = atomic_fetch_add(&g_stats.store_errors, 1);
        if (n < 10 || n % 1000 == 0)
            log_msg("error", "store: %s (error #%llu)", sqlite3_errmsg(s->db),
                    (unsigned long long)n + 1);
        return -1;
    }
    return 0;
}

static int64_t store_step_int(store *s, int which, int64_t dflt) {
    sqlite3_stmt *st = s->st[which];
    int64_t v = dflt;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return v;
}

static void bind_str(sqlite3_stmt *st, int i, wire_str s) {
    if (s.p) sqlite3_bind_text(st, i, s.p, (int)s.n, SQLITE_STATIC);
    else sqlite3_bind_null(st, i);
}

/* A summary StreamMessage for trace_start / trace_end. */
static char *store_trace_message(store *s, const char *type, int64_t trace_id,
                                 const char *name) {
    if (!s->out || !stream_has_clients(s->out)) return NULL; /* nobody to tell */
    sqlite3_stmt *st = s->st[ST_TRACE_SUMMARY];
    sqlite3_bind_int64(st, 1, trace_id);
    cJSON *summary = sqlite3_step(st) == SQLITE_ROW ? json_trace_summary(st) : NULL;
    sqlite3_reset(st);
    return json_stream_message(type, name, summary);
}

static int64_t store_trace_id(store *s, const wire_batch *b, pending *pub,
                              char *name) {
    int64_t id;
    if (smap_get(&s->traces, b->trace.p, b->trace.n, &id)) return id;
    int64_t first = b->hdr.event_count ? (int64_t)b->events[0].ts_us : store_now_us();
    sqlite3_stmt *st = s->st[ST_TRACE_INSERT];
    bind_str(st, 1, b->trace);
    bind_str(st, 2, b->session);
    sqlite3_bind_int64(st, 3, first);
    if (store_step(s, ST_TRACE_INSERT)) return -1;
    int created = sqlite3_changes(s->db) > 0;
    bind_str(s->st[ST_TRACE_FIND], 1, b->trace);
    id = store_step_int(s, ST_TRACE_FIND, -1);
    if (id < 0) return -1;
    smap_put(&s->traces, b->trace.p, b->trace.n, id);
    if (created) pending_add(pub, store_trace_message(s, "trace_start", id, name));
    return id;
}

/* Bind the key columns of an agent (trace, name) or an event type (name). */
static void store_bind_name(sqlite3_stmt *st, int64_t trace_id, wire_str name) {
    if (trace_id) {
        sqlite3_bind_int64(st, 1, trace_id);
        bind_str(st, 2, name);
    } else {
        bind_str(st, 1, name);
    }
}

/* The id of a name, from the cache, else from the table (inserting it if
 * new: rows stored before a restart are found, never duplicated). */
static int64_t store_intern(store *s, smap *m, const char *key, size_t keylen,
                            int insert_stmt, int find_stmt, int64_t trace_id,
                            wire_str name, int *created) {
    int64_t id;
    *created = 0;
    if (smap_get(m, key, keylen, &id)) return id;
    store_bind_name(s->st[insert_stmt], trace_id, name);
    if (store_step(s, insert_stmt)) return -1;
    *created = sqlite3_changes(s->db) > 0;
    store_bind_name(s->st[find_stmt], trace_id, name);
    id = store_step_int(s, find_stmt, -1);
    if (id >= 0) smap_put(m, key, keylen, id);
    return id;
}

static int64_t store_agent_id(store *s, int64_t trace_id, wire_str name) {
    char key[32 + WIRE_MAX_NAME];
    int n = snprintf(key, sizeof key, "%lld\x1f%.*s", (long long)trace_id,
                     (int)name.n, name.p);
    int created;
    int64_t id = store_intern(s, &s->agents, key, (size_t)n, ST_AGENT_INSERT,
                              ST_AGENT_FIND, trace_id, name, &created);
    if (created) {
        sqlite3_bind_int64(s->st[ST_AGENT_COUNT], 1, trace_id);
        store_step(s, ST_AGENT_COUNT);
    }
    return id;
}

/* agent.created carries the agent's type in its metadata. */
static void store_agent_type(store *s, int64_t agent_id, const wire_event *e) {
    if (!e->metadata.p) return;
    cJSON *m = json_parse_bounded(e->metadata.p, e->metadata.n);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(m, "agentType");
    if (cJSON_IsString(t)) {
        sqlite3_bind_int64(s->st[ST_AGENT_TYPE], 1, agent_id);
        sqlite3_bind_text(s->st[ST_AGENT_TYPE], 2, t->valuestring, -1, SQLITE_TRANSIENT);
        store_step(s, ST_AGENT_TYPE);
    }
    cJSON_Delete(m);
}

static int store_snapshot(store *s, int64_t trace_id, int64_t agent_id,
                          const wire_event *e) {
    int bound = LZ4_compressBound((int)e->metadata.n);
    char *z = malloc((size_t)bound);
    if (!z) return -1;
    int zn = LZ4_compress_default(e->metadata.p, z, (int)e->metadata.n, bound);
    sqlite3_stmt *st = s->st[ST_SNAPSHOT_INSERT];
    sqlite3_bind_int64(st, 1, trace_id);
    sqlite3_bind_int64(st, 2, (int64_t)e->ts_us);
    sqlite3_bind_int64(st, 3, agent_id);
    bind_str(st, 4, e->type);
    sqlite3_bind_blob(st, 5, z, zn > 0 ? zn : 0, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, e->metadata.n);
    sqlite3_bind_int64(st, 7, (int64_t)e->aux);
    sqlite3_bind_int64(st, 8, zn);
    int rc = zn > 0 ? store_step(s, ST_SNAPSHOT_INSERT) : -1;
    free(z);
    if (!rc) atomic_fetch_add(&g_stats.snapshots_stored, 1);
    return rc;
}

/* libtrace's own cost report (selfmon.c) is a metric, not a swarm event. */
static int store_is_overhead(const wire_event *e) {
    return e->agent.n == 8 && !memcmp(e->agent.p, "libtrace", 8) &&
           e->type.n == 15 && !memcmp(e->type.p, "system.overhead", 15) &&
           e->metadata.p;
}

/* libtrace's last word from a process dying of a signal (crash.c). */
static int store_is_crash(const wire_event *e) {
    return e->agent.n == 8 && !memcmp(e->agent.p, "libtrace", 8) &&
           e->type.n == 12 && !memcmp(e->type.p, "system.crash", 12);
}

/* What a system.overhead report (selfmon.c) says of loss, as totals:
 * sent, the events libtrace had put in batches ZeroMQ accepted before the
 * batch that carries the report; dropped, every event it had dropped so
 * far. Header deltas alone miss the drops reported by a batch that was
 * then lost in transit; the totals do not. -1: not in the report. */
typedef struct store_report {
    int64_t sent, dropped;
} store_report;

static int64_t store_json_count(const cJSON *o, const char *name) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 ? (int64_t)v->valuedouble : -1;
}

static void store_read_report(const wire_event *e, store_report *r) {
    cJSON *m = json_parse_bounded(e->metadata.p, e->metadata.n);
    r->sent = store_json_count(m, "sent");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(m, "dropped");
    static const char *const why[] = {"ringFull", "transport", "tooLarge", "invalid"};
    r->dropped = cJSON_IsObject(d) ? 0 : -1;
    for (size_t i = 0; i < sizeof why / sizeof *why && r->dropped >= 0; i++) {
        int64_t n = store_json_count(d, why[i]);
        r->dropped = n < 0 ? -1 : r->dropped + n;
    }
    cJSON_Delete(m);
}

static void store_overhead(store *s, const wire_batch *b, const char *trace,
                           const wire_event *e) {
    char producer[20];
    snprintf(producer, sizeof producer, "%016llx", (unsigned long long)b->hdr.producer_id);
    sqlite3_stmt *st = s->st[ST_METRIC_INSERT];
    sqlite3_bind_int64(st, 1, (int64_t)e->ts_us);
    bind_str(st, 2, e->metadata);
    sqlite3_bind_text(st, 3, producer, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, trace, -1, SQLITE_TRANSIENT);
    store_step(s, ST_METRIC_INSERT);
}

static void bind_opt_int(sqlite3_stmt *st, int i, int present, int64_t v) {
    if (present) sqlite3_bind_int64(st, i, v);
    else sqlite3_bind_null(st, i);
}

/* NUL-terminated copy for the stream's JSON (wire strings are not). */
static char *dupz(wire_str s) {
    if (!s.p) return NULL;
    char *c = malloc(s.n + 1);
    if (c) {
        memcpy(c, s.p, s.n);
        c[s.n] = 0;
    }
    return c;
}

static jw_span store_span(wire_str v) {
    return (jw_span){v.p, v.n};
}

/* One event of a trace_event message, written as json_event() shapes it. */
static void store_event_text(jw *w, const wire_event *e, int64_t seq,
                             const char *trace) {
    event_text t = {
        .seq = seq, .ts = (int64_t)e->ts_us, .span_id = (int64_t)e->span_id,
        .parent_id = (int64_t)e->parent_id, .duration_us = (int64_t)e->duration_us,
        .count = e->count, .level = e->level, .kind = e->kind,
        .has_span = e->span_id != 0, .has_parent = e->parent_id != 0,
        .has_duration = e->kind == WIRE_KIND_SPAN_END || e->duration_us != 0,
        .trace = trace, .agent = store_span(e->agent), .type = store_span(e->type),
        .message = store_span(e->message), .metadata = store_span(e->metadata),
        .stack = store_span(e->stack)};
    json_write_event(w, &t);
}

static int64_t store_event(store *s, int64_t trace_id, int64_t agent_id,
                           int64_t type_id, const wire_event *e) {
    sqlite3_stmt *st = s->st[ST_EVENT_INSERT];
    sqlite3_bind_int64(st, 1, trace_id);
    sqlite3_bind_int64(st, 2, (int64_t)e->ts_us);
    sqlite3_bind_int64(st, 3, agent_id);
    sqlite3_bind_int64(st, 4, type_id);
    sqlite3_bind_int(st, 5, e->level);
    sqlite3_bind_int(st, 6, e->kind);
    bind_opt_int(st, 7, e->span_id != 0, (int64_t)e->span_id);
    bind_opt_int(st, 8, e->parent_id != 0, (int64_t)e->parent_id);
    bind_opt_int(st, 9, e->kind == WIRE_KIND_SPAN_END || e->duration_us,
                 (int64_t)e->duration_us);
    bind_opt_int(st, 10, e->count > 1, e->count);
    bind_str(st, 11, e->message);
    bind_str(st, 12, e->metadata);
    bind_str(st, 13, e->stack);
    if (store_step(s, ST_EVENT_INSERT)) return -1;
    return sqlite3_last_insert_rowid(s->db);
}

/* Sequence bookkeeping per producer: gaps are batches that never came. */
static void store_producer(store *s, const wire_batch *b, int64_t trace_id,
                           uint64_t stored, uint64_t received, const store_report *rep) {
    int64_t reported_sent = rep->sent;
    const wire_header *h = &b->hdr;
    sqlite3_stmt *get = s->st[ST_PRODUCER_GET];
    sqlite3_bind_int64(get, 1, (int64_t)h->producer_id);
    int64_t last = 0, received_before = 0;
    if (sqlite3_step(get) == SQLITE_ROW) {
        last = sqlite3_column_int64(get, 0);
        received_before = sqlite3_column_int64(get, 1);
    }
    sqlite3_reset(get);
    sqlite3_clear_bindings(get);
    /* the producer had sent reported_sent events before this batch; what
     * of them never came was lost on the way (batches are in order) */
    int64_t lost = reported_sent >= 0 ? reported_sent - received_before : -1;
    uint64_t gaps = (int64_t)h->sequence > last + 1 ? h->sequence - (uint64_t)last - 1 : 0;
    if ((int64_t)h->sequence <= last)
        log_msg("warn", "producer %016llx: batch %llu again or out of order",
                (unsigned long long)h->producer_id, (unsigned long long)h->sequence);
    uint64_t dropped = (uint64_t)h->dropped_ring_full + h->dropped_transport +
                       h->dropped_other;
    sqlite3_stmt *st = s->st[ST_PRODUCER_PUT];
    sqlite3_bind_int64(st, 1, (int64_t)h->producer_id);
    sqlite3_bind_int64(st, 2, trace_id);
    sqlite3_bind_int64(st, 3, store_now_us());
    sqlite3_bind_int64(st, 4, (int64_t)h->sequence);
    sqlite3_bind_int64(st, 5, (int64_t)stored);
    sqlite3_bind_int64(st, 6, (int64_t)dropped);
    sqlite3_bind_int64(st, 7, (int64_t)gaps);
    sqlite3_bind_int(st, 8, (h->flags & WIRE_FLAG_FINAL) != 0);
    sqlite3_bind_int64(st, 9, (int64_t)received);
    sqlite3_bind_int64(st, 10, lost);
    sqlite3_bind_int64(st, 11, rep->dropped);
    store_step(s, ST_PRODUCER_PUT);
    if (lost > 0 && (gaps || (h->flags & WIRE_FLAG_FINAL)))
        log_msg("warn", "producer %016llx: %lld event(s) sent but never received so far",
                (unsigned long long)h->producer_id, (long long)lost);
    atomic_fetch_add(&g_stats.events_dropped_reported, dropped);
    atomic_fetch_add(&g_stats.seq_gaps, gaps);
    if (gaps)
        log_msg("warn", "producer %016llx: %llu batch(es) missing before %llu",
                (unsigned long long)h->producer_id, (unsigned long long)gaps,
                (unsigned long long)h->sequence);
}

static void store_batch(store *s, const wire_batch *b, pending *pub) {
    char *trace = dupz(b->trace);
    if (!trace) return;
    int64_t trace_id = store_trace_id(s, b, pub, trace);
    if (trace_id < 0) {
        free(trace);
        return;
    }
    int live = s->out && stream_has_clients(s->out);
    jw msg = {0}; /* the trace_event message, begun at the first event */
    int64_t errors = 0, max_ts = 0, min_ts = INT64_MAX, last_seq = 0;
    uint64_t stored = 0, represented = 0; /* rows; events with merged repeats */
    uint64_t received = 0;     /* the producer's events, stored or not */
    store_report report = {-1, -1}; /* libtrace's own totals, if the batch has them */
    int crashed = 0;
    for (uint32_t i = 0; i < b->hdr.event_count; i++) {
        const wire_event *e = &b->events[i];
        if (store_is_overhead(e)) {
            store_overhead(s, b, trace, e);
            if (report.sent < 0) store_read_report(e, &report);
            continue;
        }
        int is_crash = store_is_crash(e);
        if (!is_crash) received += e->count ? e->count : 1;
        int64_t agent_id = store_agent_id(s, trace_id, e->agent);
        if (agent_id < 0) continue;
        if ((int64_t)e->ts_us > max_ts) max_ts = (int64_t)e->ts_us;
        if ((int64_t)e->ts_us < min_ts) min_ts = (int64_t)e->ts_us;
        if (e->kind == WIRE_KIND_SNAPSHOT) {
            store_snapshot(s, trace_id, agent_id, e);
            continue;
        }

        int created;
        int64_t type_id = store_intern(s, &s->types, e->type.p, e->type.n,
                                       ST_TYPE_INSERT, ST_TYPE_FIND, 0, e->type,
                                       &created);
        if (type_id < 0) continue;
        if (e->type.n == 13 && !memcmp(e->type.p, "agent.created", 13))
            store_agent_type(s, agent_id, e);
        if (is_crash) crashed = 1;
        int64_t seq = store_event(s, trace_id, agent_id, type_id, e);
        if (seq < 0) continue;
        stored++;
        represented += e->count;
        last_seq = seq;
        if (e->level == 3) errors++;
        if (live) {
            if (!msg.n) {
                json_write_stream_head(&msg, "trace_event", trace);
                jw_lit(&msg, "{\"events\":[");
            } else {
                jw_lit(&msg, ",");
            }
            store_event_text(&msg, e, seq, trace);
        }
    }
    sqlite3_stmt *st = s->st[ST_TRACE_UPDATE];
    sqlite3_bind_int64(st, 1, trace_id);
    sqlite3_bind_int64(st, 2, (int64_t)stored);
    sqlite3_bind_int64(st, 3, errors);
    sqlite3_bind_int64(st, 4, max_ts ? max_ts : 0);
    sqlite3_bind_int64(st, 5, min_ts != INT64_MAX ? min_ts : INT64_MAX);
    store_step(s, ST_TRACE_UPDATE);
    store_producer(s, b, trace_id, represented, received, &report);
    atomic_fetch_add(&g_stats.events_stored, stored);
    if (crashed) {
        sqlite3_bind_int64(s->st[ST_TRACE_CRASH], 1, trace_id);
        store_step(s, ST_TRACE_CRASH);
        log_msg("warn", "trace %s: producer %016llx crashed; trace status error", trace,
                (unsigned long long)b->hdr.producer_id);
        pending_add(pub, store_trace_message(s, "trace_end", trace_id, trace));
    }

    if (msg.n && !msg.oom) {
        char tail[96];
        int n = snprintf(tail, sizeof tail,
                         "],\"batchId\":\"%016llx-%llu\",\"sequenceNumber\":%lld}}",
                         (unsigned long long)b->hdr.producer_id,
                         (unsigned long long)b->hdr.sequence, (long long)last_seq);
        jw_raw(&msg, tail, (size_t)n);
    }
    if (msg.n && !msg.oom) pending_add(pub, msg.p); /* pub owns it now */
    else jw_free(&msg);
    if ((b->hdr.flags & WIRE_FLAG_FINAL) && !crashed) {
        sqlite3_bind_int64(s->st[ST_PRODUCERS_OPEN], 1, trace_id);
        if (store_step_int(s, ST_PRODUCERS_OPEN, 1) == 0) {
            sqlite3_bind_int64(s->st[ST_TRACE_END], 1, trace_id);
            store_step(s, ST_TRACE_END);
            pending_add(pub, store_trace_message(s, "trace_end", trace_id, trace));
        }
    }
    free(trace);
}

static void store_pass(store *s, wire_batch **batches, size_t n) {
    pending pub = {0};
    int ok = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    for (size_t i = 0; i < n; i++) store_batch(s, batches[i], &pub);
    if (ok && sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        log_msg("error", "store: commit failed: %s", sqlite3_errmsg(s->db));
        atomic_fetch_add(&g_stats.store_errors, 1);
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        /* the caches may name rows that were rolled back */
        smap_clear(&s->traces);
        smap_clear(&s->agents);
        smap_clear(&s->types);
        for (size_t i = 0; i < pub.n; i++) free(pub.msgs[i]);
        pub.n = 0;
    }
    for (size_t i = 0; i < pub.n; i++) {
        pthread_mutex_lock(&s->lock);
        stream *out = s->out;
        pthread_mutex_unlock(&s->lock);
        if (out) stream_publish(out, pub.msgs[i]);
        else free(pub.msgs[i]);
    }
    free(pub.msgs);
}

/* ---- changes asked for over REST ----
 * They run on the writer thread like everything that writes, so the name
 * caches stay true: a deleted trace leaves the caches with it. */

static int store_exec_sql(store *s, const char *sql, int64_t id) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static int64_t store_find_trace(store *s, const char *name) {
    sqlite3_stmt *st = s->st[ST_TRACE_FIND];
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    return store_step_int(s, ST_TRACE_FIND, -1);
}

static void store_cmd_stop(store *s, store_cmd *c, pending *pub) {
    int64_t id = store_find_trace(s, c->trace);
    if (id < 0) {
        c->status = 404;
        return;
    }
    c->status = store_exec_sql(s, "UPDATE traces SET status = 'completed', end_time = last_time "
                                  "WHERE id = ?1 AND status = 'active'", id) ? 500 : 200;
    if (c->status == 200) pending_add(pub, store_trace_message(s, "trace_end", id, c->trace));
}

/* Delete the traces listed in the temp table `doomed` and everything
 * they own; DELETE over REST and retention both end here. Returns the
 * traces deleted, or -1. The caches forget them with everything else. */
static int64_t store_delete_doomed(store *s) {
    static const char *sql[] = {
        "DELETE FROM events WHERE trace_id IN (SELECT id FROM doomed)",
        "DELETE FROM snapshots WHERE trace_id IN (SELECT id FROM doomed)",
        "DELETE FROM agents WHERE trace_id IN (SELECT id FROM doomed)",
        "DELETE FROM producers WHERE trace_id IN (SELECT id FROM doomed)",
        "DELETE FROM traces WHERE id IN (SELECT id FROM doomed)"};
    int64_t n = 0;
    for (size_t i = 0; i < sizeof sql / sizeof *sql; i++) {
        if (sqlite3_exec(s->db, sql[i], NULL, NULL, NULL) != SQLITE_OK) {
            log_msg("error", "store: %s", sqlite3_errmsg(s->db));
            return -1;
        }
        n = sqlite3_changes(s->db); /* the last statement counts traces */
    }
    if (n) {
        smap_clear(&s->traces);
        smap_clear(&s->agents);
    }
    return n;
}

static void store_cmd_delete(store *s, store_cmd *c) {
    int64_t id = store_find_trace(s, c->trace);
    if (id < 0) {
        c->status = 404;
        return;
    }
    sqlite3_exec(s->db, "DELETE FROM doomed", NULL, NULL, NULL);
    c->status = store_exec_sql(s, "INSERT INTO doomed VALUES(?1)", id) == 0 &&
                        store_delete_doomed(s) == 1
                    ? 200
                    : 500;
}

static void store_cmd_snapshot(store *s, store_cmd *c) {
    int64_t id = store_find_trace(s, c->trace);
    if (id < 0) {
        c->status = 404;
        return;
    }
    wire_str agent = {c->agent, (uint32_t)strlen(c->agent)};
    int64_t agent_id = store_agent_id(s, id, agent);
    wire_event e = {0};
    e.ts_us = (uint64_t)c->ts;
    e.type = (wire_str){c->state_type, (uint32_t)strlen(c->state_type)};
    e.metadata = (wire_str){c->json, (uint32_t)strlen(c->json)};
    e.aux = wire_checksum(c->json, strlen(c->json));
    c->status = agent_id >= 0 && store_snapshot(s, id, agent_id, &e) == 0 ? 201 : 500;
    c->result_id = sqlite3_last_insert_rowid(s->db);
    c->checksum = e.aux;
}

static void store_run_cmds(store *s, store_cmd *list) {
    pending pub = {0};
    sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
    for (store_cmd *c = list; c; c = c->next) {
        if (c->type == STORE_CMD_STOP) store_cmd_stop(s, c, &pub);
        else if (c->type == STORE_CMD_DELETE) store_cmd_delete(s, c);
        else store_cmd_snapshot(s, c);
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        smap_clear(&s->traces);
        smap_clear(&s->agents);
        for (store_cmd *c = list; c; c = c->next) c->status = 500;
        for (size_t i = 0; i < pub.n; i++) free(pub.msgs[i]);
        pub.n = 0;
    }
    for (size_t i = 0; i < pub.n; i++) {
        if (s->out) stream_publish(s->out, pub.msgs[i]);
        else free(pub.msgs[i]);
    }
    free(pub.msgs);
    pthread_mutex_lock(&s->lock);
    for (store_cmd *c = list; c; c = c->next) c->done = 1;
    pthread_cond_broadcast(&s->cmd_done);
    pthread_mutex_unlock(&s->lock);
}

int store_command(store *s, store_cmd *c) {
    c->done = 0;
    c->status = 500;
    pthread_mutex_lock(&s->lock);
    if (s->stopping) {
        pthread_mutex_unlock(&s->lock);
        return 503;
    }
    c->next = s->cmds;
    s->cmds = c;
    pthread_cond_signal(&s->more);
    while (!c->done) pthread_cond_wait(&s->cmd_done, &s->lock);
    pthread_mutex_unlock(&s->lock);
    return c->status;
}

/* ---- retention: run by the writer every keep.every_s, never per insert ---- */

static int64_t store_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void store_set_retention(store *s, const retention *r) {
    pthread_mutex_lock(&s->lock);
    s->keep = *r;
    s->next_retention_ms = r->every_s ? store_mono_ms() + r->every_s * 1000 : 0;
    pthread_cond_signal(&s->more);
    pthread_mutex_unlock(&s->lock);
}

static int64_t store_exec_count(store *s, const char *sql, int64_t cutoff) {
    if (store_exec_sql(s, sql, cutoff)) {
        log_msg("error", "retention: %s", sqlite3_errmsg(s->db));
        return 0;
    }
    return sqlite3_changes(s->db);
}

static void store_retention(store *s, const retention *k) {
    int64_t now = store_now_us(), n[4] = {0};
    sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
    /* whole traces first: completed ones, then those that ended in error */
    sqlite3_exec(s->db, "DELETE FROM doomed", NULL, NULL, NULL);
    if (k->completed_s)
        store_exec_sql(s, "INSERT INTO doomed SELECT id FROM traces WHERE status = 'completed' "
                          "AND end_time < ?1", now - k->completed_s * 1000000);
    if (k->error_s)
        store_exec_sql(s, "INSERT OR IGNORE INTO doomed SELECT id FROM traces WHERE status = 'error' "
                          "AND coalesce(end_time, last_time) < ?1", now - k->error_s * 1000000);
    n[0] = store_delete_doomed(s);
    if (n[0] < 0) n[0] = 0;
    if (k->debug_s) {
        n[1] = store_exec_count(s, "DELETE FROM events WHERE level = 0 AND ts < ?1",
                                now - k->debug_s * 1000000);
        if (n[1])
            sqlite3_exec(s->db, "UPDATE traces SET event_count = (SELECT count(*) FROM events e "
                                "WHERE e.trace_id = traces.id)", NULL, NULL, NULL);
    }
    if (k->snapshots_s)
        n[2] = store_exec_count(s, "DELETE FROM snapshots WHERE ts < ?1",
                                now - k->snapshots_s * 1000000);
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        smap_clear(&s->traces);
        smap_clear(&s->agents);
        return;
    }
    atomic_fetch_add(&g_stats.retention_deleted, (uint64_t)(n[0] + n[1] + n[2]));
    if (n[0] + n[1] + n[2])
        log_msg("info", "retention: removed %lld trace(s), %lld debug event(s), %lld snapshot(s)",
                (long long)n[0], (long long)n[1], (long long)n[2]);
}

static void *store_main(void *arg) {
    store *s = arg;
    wire_batch *batch[STORE_PASS_MAX];
    for (;;) {
        pthread_mutex_lock(&s->lock);
        while (!s->qlen && !s->cmds && !s->stopping &&
               !(s->next_retention_ms && store_mono_ms() >= s->next_retention_ms)) {
            if (!s->next_retention_ms) {
                pthread_cond_wait(&s->more, &s->lock);
            } else {
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += 1; /* re-check the retention clock each second */
                pthread_cond_timedwait(&s->more, &s->lock, &until);
            }
        }
        if (s->next_retention_ms && store_mono_ms() >= s->next_retention_ms && !s->stopping) {
            retention k = s->keep;
            s->next_retention_ms = store_mono_ms() + k.every_s * 1000;
            pthread_mutex_unlock(&s->lock);
            store_retention(s, &k);
            continue;
        }
        store_cmd *cmds = s->cmds;
        s->cmds = NULL;
        if (cmds) {
            pthread_mutex_unlock(&s->lock);
            store_run_cmds(s, cmds);
            continue;
        }
        if (!s->qlen && s->stopping) {
            pthread_mutex_unlock(&s->lock);
            break;
        }
        size_t n = 0;
        while (s->qlen && n < STORE_PASS_MAX) {
            batch[n++] = s->queue[s->qhead];
            s->qhead = (s->qhead + 1) % STORE_QUEUE_MAX;
            s->qlen--;
        }
        pthread_cond_broadcast(&s->room);
        pthread_mutex_unlock(&s->lock);
        store_pass(s, batch, n);
        for (size_t i = 0; i < n; i++) {
            wire_batch_free(batch[i]);
            free(batch[i]);
        }
    }
    return NULL;
}

/* Checkpoint the WAL every 200 ms from a separate connection. PASSIVE
 * copies what it can without waiting on the writer, so a checkpoint's
 * fsync lands here and not in the middle of an ingest transaction. */
static void *store_checkpointer(void *arg) {
    store *s = arg;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(s->path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    /* a connection learns that the file is in WAL mode on its first read;
     * until then sqlite3_wal_checkpoint_v2() returns OK and copies nothing,
     * and the WAL grows without bound (812 MB in a 20-kill stress run) */
    sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    for (;;) {
        pthread_mutex_lock(&s->lock);
        int stop = s->stopping;
        pthread_mutex_unlock(&s->lock);
        if (stop) break;
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        struct timespec d = {0, 200000000};
        nanosleep(&d, NULL);
    }
    sqlite3_close(db);
    return NULL;
}

store *store_open(const char *path, stream *out, char *err, size_t errlen) {
    store *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->db = db_open_writer(path, err, errlen);
    /* the writer's scratch list of traces to delete (store_delete_doomed) */
    if (s->db && sqlite3_exec(s->db, "CREATE TEMP TABLE doomed(id INTEGER PRIMARY KEY)",
                              NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "temp table: %s", sqlite3_errmsg(s->db));
        sqlite3_close(s->db);
        s->db = NULL;
    }
    if (!s->db) {
        free(s);
        return NULL;
    }
    for (int i = 0; i < ST_COUNT; i++)
        if (sqlite3_prepare_v3(s->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &s->st[i], NULL) != SQLITE_OK) {
            snprintf(err, errlen, "prepare: %s", sqlite3_errmsg(s->db));
            for (int k = 0; k < i; k++) sqlite3_finalize(s->st[k]);
            sqlite3_close(s->db);
            free(s);
            return NULL;
        }
    s->out = out;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->more, NULL);
    pthread_cond_init(&s->room, NULL);
    pthread_cond_init(&s->cmd_done, NULL);
    s->path = strdup(path);
    if (!s->path || pthread_create(&s->checkpointer, NULL, store_checkpointer, s)) {
        snprintf(err, errlen, "cannot start the checkpoint thread");
        for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
        sqlite3_close(s->db);
        free(s->path);
        free(s);
        return NULL;
    }
    if (pthread_create(&s->thread, NULL, store_main, s)) {
        snprintf(err, errlen, "cannot start the writer thread");
        pthread_mutex_lock(&s->lock);
        s->stopping = 1;
        pthread_mutex_unlock(&s->lock);
        pthread_join(s->checkpointer, NULL);
        for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
        sqlite3_close(s->db);
        free(s->path);
        free(s);
        return NULL;
    }
    return s;
}

void store_set_stream(store *s, stream *out) {
    pthread_mutex_lock(&s->lock);
    s->out = out;
    pthread_mutex_unlock(&s->lock);
}

void store_submit(store *s, wire_batch *b) {
    pthread_mutex_lock(&s->lock);
    while (s->qlen == STORE_QUEUE_MAX) pthread_cond_wait(&s->room, &s->lock);
    s->queue[(s->qhead + s->qlen) % STORE_QUEUE_MAX] = b;
    s->qlen++;
    pthread_cond_signal(&s->more);
    pthread_mutex_unlock(&s->lock);
}

void store_close(store *s) {
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->more);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_join(s->checkpointer, NULL);
    free(s->path);
    for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
    sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    sqlite3_close(s->db);
    smap_free(&s->traces);
    smap_free(&s->agents);
    smap_free(&s->types);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->more);
    pthread_cond_destroy(&s->room);
    pthread_cond_destroy(&s->cmd_done);
    free(s);
}
