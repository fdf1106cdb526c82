/*
 * main.c — trace-collector: options, start-up order, signals, status line.
 *
 * Start-up goes downstream first (store, HTTP, stream, then ingest), so by
 * the time the ready line is printed every stage that a batch will pass
 * through is running. Shutdown goes the other way: stop receiving, let the
 * writer commit what it has, stop streaming, stop HTTP. Signals are
 * blocked in every thread and taken synchronously here with sigtimedwait,
 * so no handler runs async-signal-unsafe code.
 */
#include <civetweb.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "collector.h"

#ifndef TRACE_DEFAULT_UI_DIR
#define TRACE_DEFAULT_UI_DIR ""
#endif

coll_stats g_stats;

typedef struct options {
    const char *ingest, *listen, *db, *ui, *token;
    const char *curve_key_file, *curve_clients_file;
    retention keep;
    int max_clients;
} options;

static void usage(FILE *out) {
    fprintf(out,
            "usage: trace-collector [options]\n"
            "  --ingest ENDPOINT  ZeroMQ endpoint to bind (PULL)     [$TRACE_INGEST, tcp://127.0.0.1:5555]\n"
            "                     tcp://127.0.0.1:* picks a free port\n"
            "  --listen HOST:PORT HTTP + WebSocket address           [$TRACE_LISTEN, 127.0.0.1:8080]\n"
            "                     port 0 picks a free port\n"
            "  --db PATH          SQLite database file               [$TRACE_DB, traces.db]\n"
            "  --ui DIR           built UI to serve at /             [$TRACE_UI_DIR, %s]\n"
            "  --token T          require 'Authorization: Bearer T'  [$TRACE_TOKEN, none]\n"
            "                     (WebSocket: also ?token=T)\n"
            "  --retain-completed D  keep completed traces D   [$TRACE_RETAIN_COMPLETED, 7d]\n"
            "  --retain-error D      keep error traces D       [$TRACE_RETAIN_ERROR, 30d]\n"
            "  --retain-debug D      keep debug events D       [$TRACE_RETAIN_DEBUG, 1d]\n"
            "  --retain-snapshots D  keep snapshots D          [$TRACE_RETAIN_SNAPSHOTS, 3d]\n"
            "  --retention-every D   how often to enforce it   [$TRACE_RETENTION_EVERY, 10m]\n"
            "                     D: a number with s, m, h or d (0 = keep forever / never)\n"
            "  --log-level L      error, warn, info or debug     [$TRACE_LOG_LEVEL, info]\n"
            "  --max-clients N    WebSocket connections at once  [$TRACE_MAX_CLIENTS, 1000]\n"
            "  --curve-secret-key-file F  encrypt ingest with CURVE; F holds the\n"
            "                     collector's secret key                [$TRACE_CURVE_SECRET_KEY_FILE, none]\n"
            "  --curve-allowed-clients F  with CURVE, admit only the client public\n"
            "                     keys listed in F, one per line         [$TRACE_CURVE_ALLOWED_CLIENTS, none]\n"
            "                     (without it: any agent that has the collector's\n"
            "                     public key in TRACE_CURVE_SERVER_KEY)\n"
            "  --curve-keygen     print a new keypair (public-key / secret-key lines:\n"
            "                     a key file for the collector, or an agent's\n"
            "                     TRACE_CURVE_PUBLIC_KEY / TRACE_CURVE_SECRET_KEY) and exit\n"
            "  --quiet            no periodic status line\n"
            "  --help             this text\n"
            "When ready, prints one line on stdout:\n"
            "  trace-collector ready http=HOST:PORT ingest=ENDPOINT\n",
            *TRACE_DEFAULT_UI_DIR ? TRACE_DEFAULT_UI_DIR : "none");
}

static int curve_keygen(void) {
    char pub[41], sec[41];
    if (zmq_curve_keypair(pub, sec)) {
        fprintf(stderr, "trace-collector: no CURVE in this libzmq: %s\n", zmq_strerror(zmq_errno()));
        return 1;
    }
    printf("# CURVE keypair (Z85). Keep the secret-key line secret.\n"
           "public-key %s\nsecret-key %s\n", pub, sec);
    return 0;
}

static const char *env_or(const char *name, const char *dflt) {
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

/* "90", "30s", "10m", "12h", "7d" → seconds; -1 if malformed. */
static int64_t parse_duration(const char *v) {
    char *end;
    long long n = strtoll(v, &end, 10);
    if (end == v || n < 0) return -1;
    int64_t unit = !*end ? 1 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60
                 : !strcmp(end, "h") ? 3600 : !strcmp(end, "d") ? 86400 : -1;
    if (unit < 0 || n > INT64_MAX / 86400 / 1000000) return -1;
    return n * unit;
}

static int parse_retention(options *o, int argc, char **argv) {
    static const struct { const char *flag, *env, *dflt; size_t field; } r[] = {
        {"--retain-completed", "TRACE_RETAIN_COMPLETED", "7d", offsetof(retention, completed_s)},
        {"--retain-error", "TRACE_RETAIN_ERROR", "30d", offsetof(retention, error_s)},
        {"--retain-debug", "TRACE_RETAIN_DEBUG", "1d", offsetof(retention, debug_s)},
        {"--retain-snapshots", "TRACE_RETAIN_SNAPSHOTS", "3d", offsetof(retention, snapshots_s)},
        {"--retention-every", "TRACE_RETENTION_EVERY", "10m", offsetof(retention, every_s)},
    };
    for (size_t i = 0; i < sizeof r / sizeof *r; i++) {
        const char *v = env_or(r[i].env, r[i].dflt);
        for (int a = 1; a + 1 < argc; a++)
            if (!strcmp(argv[a], r[i].flag)) v = argv[a + 1];
        int64_t d = parse_duration(v);
        if (d < 0) {
            fprintf(stderr, "trace-collector: %s '%s' is not a duration (e.g. 30s, 10m, 12h, 7d)\n",
                    r[i].flag, v);
            return -1;
        }
        *(int64_t *)((char *)&o->keep + r[i].field) = d;
    }
    return 0;
}

static int is_retention_flag(const char *a) {
    return !strncmp(a, "--retain-", 9) || !strcmp(a, "--retention-every");
}

static int parse_options(int argc, char **argv, options *o) {
    const char *log_level = env_or("TRACE_LOG_LEVEL", "info");
    const char *max_clients = env_or("TRACE_MAX_CLIENTS", "1000");
    o->ingest = env_or("TRACE_INGEST", "tcp://127.0.0.1:5555");
    o->listen = env_or("TRACE_LISTEN", "127.0.0.1:8080");
    o->db = env_or("TRACE_DB", "traces.db");
    o->ui = env_or("TRACE_UI_DIR", TRACE_DEFAULT_UI_DIR);
    o->token = env_or("TRACE_TOKEN", NULL);
    o->curve_key_file = env_or("TRACE_CURVE_SECRET_KEY_FILE", NULL);
    o->curve_clients_file = env_or("TRACE_CURVE_ALLOWED_CLIENTS", NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = !strcmp(a, "--ingest") ? &o->ingest
                           : !strcmp(a, "--listen") ? &o->listen
                           : !strcmp(a, "--db")     ? &o->db
                           : !strcmp(a, "--ui")     ? &o->ui
                           : !strcmp(a, "--token")  ? &o->token
                           : !strcmp(a, "--curve-secret-key-file") ? &o->curve_key_file
                           : !strcmp(a, "--curve-allowed-clients") ? &o->curve_clients_file
                                                    : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--curve-keygen")) {
            exit(curve_keygen());
        } else if (!strcmp(a, "--quiet")) {
            g_quiet = 1;
        } else if (!strcmp(a, "--log-level") && i + 1 < argc) {
            log_level = argv[++i];
        } else if (!strcmp(a, "--max-clients") && i + 1 < argc) {
            max_clients = argv[++i];
        } else if (is_retention_flag(a) && i + 1 < argc) {
            i++; /* parse_retention() reads them */
        } else if (dst && i + 1 < argc) {
            *dst = argv[++i];
        } else {
            fprintf(stderr, "trace-collector: %s '%s'\n",
                    dst ? "missing value for" : "unknown option", a);
            usage(stderr);
            return -1;
        }
    }
    if (o->token && !*o->token) o->token = NULL;
    char *end;
    long mc = strtol(max_clients, &end, 10);
    if (*end || mc < 1 || mc > 10000) {
        fprintf(stderr, "trace-collector: --max-clients must be 1..10000, got '%s'\n", max_clients);
        return -1;
    }
    o->max_clients = (int)mc;
    g_log_level = log_rank(log_level);
    if (g_log_level < 0) {
        fprintf(stderr, "trace-collector: --log-level must be error, warn, info or debug, got '%s'\n",
                log_level);
        return -1;
    }
    if (parse_retention(o, argc, argv)) return -1;
    if (!strchr(o->listen, ':')) {
        fprintf(stderr, "trace-collector: --listen must be HOST:PORT, got '%s'\n", o->listen);
        return -1;
    }
    if (o->ui && *o->ui && access(o->ui, R_OK | X_OK)) {
        if (!strcmp(o->ui, TRACE_DEFAULT_UI_DIR)) { /* not installed: fine */
            o->ui = NULL;
            return 0;
        }
        fprintf(stderr, "trace-collector: UI directory '%s' is not readable; "
                        "serving the API only\n", o->ui);
        o->ui = NULL;
    }
    return 0;
}

static void status_line(void) {
    static uint64_t last_in;
    static time_t last_t;
    time_t now = time(NULL);
    uint64_t in = atomic_load(&g_stats.events_in);
    double rate = last_t ? (double)(in - last_in) / (double)(now - last_t ? now - last_t : 1) : 0;
    last_in = in;
    last_t = now;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    log_msg("info", "status: %.0f events/s in, %llu stored, %llu dropped by "
                    "producers, %llu batches missing, %llu rejected, %llu ws clients, "
                    "rss %ld MB",
            rate, (unsigned long long)atomic_load(&g_stats.events_stored),
            (unsigned long long)atomic_load(&g_stats.events_dropped_reported),
            (unsigned long long)atomic_load(&g_stats.seq_gaps),
            (unsigned long long)atomic_load(&g_stats.batches_rejected),
            (unsigned long long)atomic_load(&g_stats.ws_clients), ru.ru_maxrss / 1024);
}

int main(int argc, char **argv) {
    options o;
    if (parse_options(argc, argv, &o)) return 2;

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by every thread */
    signal(SIGPIPE, SIG_IGN);
    db_configure_library();
    mg_init_library(MG_FEATURES_WEBSOCKET);

    char err[512] = "", http[128] = "", ingest_ep[256] = "";
    int rc = 1;
    ingest_curve curve;
    if (ingest_curve_load(&curve, o.curve_key_file, o.curve_clients_file, err, sizeof err)) {
        fprintf(stderr, "trace-collector: %s\n", err);
        return 2;
    }
    store *st = store_open(o.db, NULL, err, sizeof err);
    api *a = st ? api_start(o.listen, o.ui, o.token, o.db, o.max_clients, http, sizeof http, err, sizeof err) : NULL;
    stream *sm = a ? stream_create(api_context(a), api_pool(a), o.token, o.max_clients) : NULL;
    if (sm) store_set_stream(st, sm);
    if (a) api_set_store(a, st);
    if (st) store_set_retention(st, &o.keep);
    ingest *in = sm ? ingest_start(o.ingest, &curve, st, ingest_ep, sizeof ingest_ep, err, sizeof err) : NULL;
    if (!in) {
        fprintf(stderr, "trace-collector: %s\n", *err ? err : "start-up failed");
        goto out;
    }
    printf("trace-collector ready http=%s ingest=%s\n", http, ingest_ep);
    fflush(stdout);
    log_msg("info", "db=%s ui=%s auth=%s ingest=%s", o.db, o.ui && *o.ui ? o.ui : "(none)",
            o.token ? "token" : "none",
            !curve.secret_key[0] ? "plain"
            : curve.nallowed     ? "curve, listed clients only"
                                 : "curve, any client with the server key");

    for (;;) {
        struct timespec every = {5, 0};
        int sig = sigtimedwait(&sigs, NULL, &every);
        if (sig == SIGINT || sig == SIGTERM) {
            log_msg("info", "signal %d: flushing and stopping", sig);
            break;
        }
        if (!g_quiet) status_line();
    }
    rc = 0;
out:
    ingest_stop(in);
    store_close(st); /* commits everything ingest submitted */
    stream_stop(sm);
    api_stop(a);
    stream_destroy(sm);
    mg_exit_library();
    ingest_curve_free(&curve);
    if (rc == 0)
        log_msg("info", "stopped: %llu events stored",
                (unsigned long long)atomic_load(&g_stats.events_stored));
    return rc;
}
