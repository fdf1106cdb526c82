/*
 * db.c — SQLite connections: the writer (schema, WAL) and a pool of
 * read-only connections for the HTTP threads.
 *
 * WAL lets readers run beside the single writer without blocking it, which
 * is why REST queries never slow ingest. The schema text is linked into the
 * binary (schema_sql.S) so the collector is one file plus its database.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"

extern const char schema_sql[];

static int db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
    snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

void db_configure_library(void) {
    /* Memory statistics take a process-wide mutex on every SQLite malloc and
     * free: 6 % of the collector's CPU at 100 K events/s, for numbers
     * nobody reads (the storage metrics come from the file, not the heap). */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* Columns added to schema.sql after databases were made: CREATE TABLE IF
 * NOT EXISTS leaves an old table as it was, so add what it lacks. */
static int db_migrate(sqlite3 *db, char *err, size_t errlen) {
    static const char *const add[][2] = {
        {"received", "ALTER TABLE producers ADD COLUMN received INTEGER NOT NULL DEFAULT 0"},
        {"lost_in_transit", "ALTER TABLE producers ADD COLUMN lost_in_transit INTEGER NOT NULL DEFAULT 0"},
    };
    for (size_t i = 0; i < sizeof add / sizeof *add; i++) {
        sqlite3_stmt *st = NULL;
        int have = 0;
        if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info('producers') WHERE name = ?1",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, add[i][0], -1, SQLITE_STATIC);
            have = sqlite3_step(st) == SQLITE_ROW;
        }
        sqlite3_finalize(st);
        if (!have && db_exec(db, add[i][1], err, errlen)) return -1;
    }
    return 0;
}

sqlite3 *db_open_writer(const char *path, char *err, size_t errlen) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 5000);
    /* synchronous=NORMAL in WAL: a crash never corrupts the file; at worst
     * the last transactions before a power loss are rolled back */
    /* wal_autocheckpoint=0: checkpoints (and their fsync) run on their own
     * thread (store.c), so the writer never stalls on one */
    if (db_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                    "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-8192;"
                    "PRAGMA wal_autocheckpoint=0;",
                err, errlen) ||
        db_exec(db, schema_sql, err, errlen) || db_migrate(db, err, errlen)) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

sqlite3 *db_open_reader(const char *path) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 2000);
    return db;
}

struct db_pool {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    sqlite3 **free_dbs;
    int nfree, size;
};

db_pool *db_pool_create(const char *path, int size) {
    db_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->free_dbs = calloc((size_t)size, sizeof *p->free_dbs);
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->freed, NULL);
    p->size = size;
    for (int i = 0; p->free_dbs && i < size; i++) {
        sqlite3 *db = db_open_reader(path);
        if (!db) break;
        p->free_dbs[p->nfree++] = db;
    }
    if (p->nfree != size) {
        db_pool_destroy(p);
        return NULL;
    }
    return p;
}

sqlite3 *db_pool_get(db_pool *p) {
    pthread_mutex_lock(&p->lock);
    while (p->nfree == 0) pthread_cond_wait(&p->freed, &p->lock);
    sqlite3 *db = p->free_dbs[--p->nfree];
    pthread_mutex_unlock(&p->lock);
    return db;
}

void db_pool_put(db_pool *p, sqlite3 *db) {
    pthread_mutex_lock(&p->lock);
    p->free_dbs[p->nfree++] = db;
    pthread_cond_signal(&p->freed);
    pthread_mutex_unlock(&p->lock);
}

void db_pool_destroy(db_pool *p) {
    if (!p) return;
    for (int i = 0; i < p->nfree; i++) sqlite3_close(p->free_dbs[i]);
    free(p->free_dbs);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->freed);
    free(p);
}
