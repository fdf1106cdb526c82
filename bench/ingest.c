/*
 * ingest.c — how fast the collector stores, next to what SQLite alone can.
 *
 *   bench-ingest collector ENDPOINT DB PID  push 10 000 traces x 100 events
 *       (LZ4 batches of 100, as libtrace sends them) to a running collector
 *       and time it until every row is committed in DB; then report bytes
 *       on disk per event and the collector's peak RSS (from /proc/PID).
 *   bench-ingest bare DB SCHEMA          the same rows straight into the
 *       same schema with prepared statements and 25 000-row transactions:
 *       the storage ceiling.
 *
 * Both print one Markdown row; bench/run.sh runs them side by side.
 * Rows carry a four-word message, as the measurements did.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "wire.h"

enum { TRACES = 10000, PER_TRACE = 100, AGENTS = 5 };

static const char *types[] = {"task.started", "task.completed", "message.sent",
                              "message.received", "custom.thinking"};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Row i of trace t: the same in both modes. */
static void row(int t, int i, char *agent, size_t acap, const char **type, char *msg,
                size_t mcap, int *level) {
    snprintf(agent, acap, "agent-%d", i % AGENTS);
    *type = types[i % 5];
    snprintf(msg, mcap, "step %d of %d", i, t);
    *level = i % 17 == 0 ? 2 : 1;
}

static int64_t count_rows(const char *db) {
    sqlite3 *h;
    int64_t n = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(h, "SELECT count(*) FROM events", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(h);
    return n;
}

static long peak_rss_kb(const char *pid) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%s/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

static int64_t file_size(const char *p) {
    struct stat sb;
    return stat(p, &sb) ? 0 : (int64_t)sb.st_size;
}

static int bench_collector(const char *endpoint, const char *db, const char *pid) {
    void *ctx = zmq_ctx_new(), *push = zmq_socket(ctx, ZMQ_PUSH);
    int hwm = 100000;
    zmq_setsockopt(push, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (zmq_connect(push, endpoint)) return 1;
    struct timespec settle = {0, 200000000};
    nanosleep(&settle, NULL);
    wire_encoder enc;
    wire_encoder_init(&enc);
    uint64_t producer = 0x5EED0000ull ^ (uint64_t)getpid(), ts = wall_us();
    double t0 = now_s();
    for (int t = 0; t < TRACES; t++) {
        char trace[32];
        int tn = snprintf(trace, sizeof trace, "bench-%05d", t);
        wire_encoder_begin(&enc, (wire_str){trace, (uint32_t)tn}, (wire_str){"bench", 5});
        for (int i = 0; i < PER_TRACE; i++) {
            char agent[32], msg[64];
            const char *type;
            int level;
            row(t, i, agent, sizeof agent, &type, msg, sizeof msg, &level);
            wire_event e = {0};
            e.ts_us = ts++;
            e.count = 1;
            e.level = (uint8_t)level;
            e.agent = (wire_str){agent, (uint32_t)strlen(agent)};
            e.type = (wire_str){type, (uint32_t)strlen(type)};
            e.message = (wire_str){msg, (uint32_t)strlen(msg)};
            wire_encoder_add(&enc, &e);
        }
        wire_header h = {0};
        h.producer_id = producer + (uint64_t)t; /* a producer per trace */
        h.sequence = 1;
        h.flags = WIRE_FLAG_FINAL;
        const uint8_t *m;
        size_t len;
        wire_encoder_finish(&enc, &h, &m, &len);
        zmq_send(push, m, len, 0);
    }
    double sent = now_s();
    int64_t want = (int64_t)TRACES * PER_TRACE, got = 0;
    while ((got = count_rows(db)) < want && now_s() - t0 < 600) {
        struct timespec d = {0, 20000000};
        nanosleep(&d, NULL);
    }
    double t1 = now_s();
    printf("| collector: ZeroMQ PUSH -> committed rows | %lld | %.0f | (pushed in %.2f s) |\n",
           (long long)got, (double)got / (t1 - t0), sent - t0);
    char wal[4200];
    snprintf(wal, sizeof wal, "%s-wal", db);
    printf("| collector: bytes on disk per event (db + wal) | %.1f | | |\n",
           (double)(file_size(db) + file_size(wal)) / (double)(got ? got : 1));
    printf("| collector: peak RSS after %d traces x %d events | %.1f MB | | |\n", TRACES,
           PER_TRACE, (double)peak_rss_kb(pid) / 1024.0);
    wire_encoder_free(&enc);
    zmq_close(push);
    zmq_ctx_term(ctx);
    return got == want ? 0 : 1;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

static int bench_bare(const char *db, const char *schema_path) {
    sqlite3 *h;
    char *schema = slurp(schema_path);
    if (!schema || sqlite3_open(db, &h) != SQLITE_OK) return 1;
    sqlite3_exec(h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL);
    if (sqlite3_exec(h, schema, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "schema: %s\n", sqlite3_errmsg(h));
        return 1;
    }
    sqlite3_stmt *tr, *ag, *ev;
    sqlite3_prepare_v2(h, "INSERT INTO traces(name, session_id, start_time, last_time) "
                          "VALUES(?1, 'bench', ?2, ?2)", -1, &tr, NULL);
    sqlite3_prepare_v2(h, "INSERT INTO agents(trace_id, name) VALUES(?1, ?2)", -1, &ag, NULL);
    sqlite3_prepare_v2(h, "INSERT INTO events(trace_id, ts, agent_id, type_id, level, kind, "
                          "message) VALUES(?1, ?2, ?3, ?4, ?5, 0, ?6)", -1, &ev, NULL);
    for (int i = 0; i < 5; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "INSERT INTO event_types(name) VALUES('%s')", types[i]);
        sqlite3_exec(h, sql, NULL, NULL, NULL);
    }
    uint64_t ts = wall_us();
    double t0 = now_s();
    int64_t rows = 0;
    sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
    for (int t = 0; t < TRACES; t++) {
        char trace[32];
        snprintf(trace, sizeof trace, "bench-%05d", t);
        sqlite3_bind_text(tr, 1, trace, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(tr, 2, (int64_t)ts);
        sqlite3_step(tr);
        sqlite3_reset(tr);
        int64_t trace_id = sqlite3_last_insert_rowid(h);
        int64_t agent_ids[AGENTS];
        for (int a = 0; a < AGENTS; a++) {
            char agent[32];
            snprintf(agent, sizeof agent, "agent-%d", a);
            sqlite3_bind_int64(ag, 1, trace_id);
            sqlite3_bind_text(ag, 2, agent, -1, SQLITE_TRANSIENT);
            sqlite3_step(ag);
            sqlite3_reset(ag);
            agent_ids[a] = sqlite3_last_insert_rowid(h);
        }
        for (int i = 0; i < PER_TRACE; i++) {
            char agent[32], msg[64];
            const char *type;
            int level;
            row(t, i, agent, sizeof agent, &type, msg, sizeof msg, &level);
            sqlite3_bind_int64(ev, 1, trace_id);
            sqlite3_bind_int64(ev, 2, (int64_t)ts++);
            sqlite3_bind_int64(ev, 3, agent_ids[i % AGENTS]);
            sqlite3_bind_int64(ev, 4, i % 5 + 1);
            sqlite3_bind_int(ev, 5, level);
            sqlite3_bind_text(ev, 6, msg, -1, SQLITE_TRANSIENT);
            sqlite3_step(ev);
            sqlite3_reset(ev);
            if (++rows % 25000 == 0) {
                sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
                sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
            }
        }
    }
    sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    double t1 = now_s();
    printf("| bare SQLite: same rows, same schema | %lld | %.0f | |\n", (long long)rows,
           (double)rows / (t1 - t0));
    sqlite3_finalize(tr);
    sqlite3_finalize(ag);
    sqlite3_finalize(ev);
    sqlite3_close(h);
    free(schema);
    return 0;
}

int main(int argc, char **argv) {
    /* the same library setting as the collector (db_configure_library), so
     * the two sides of the comparison differ only in what the collector adds */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (argc == 5 && !strcmp(argv[1], "collector")) return bench_collector(argv[2], argv[3], argv[4]);
    if (argc == 4 && !strcmp(argv[1], "bare")) return bench_bare(argv[2], argv[3]);
    fprintf(stderr, "usage: bench-ingest collector ENDPOINT DB PID | bare DB SCHEMA\n");
    return 2;
}
