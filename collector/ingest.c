/*
 * ingest.c — ZeroMQ PULL → validation → the store's queue.
 *
 * One thread receives every batch, validates it completely (wire_decode)
 * and hands the decoded batch to the writer. A bad batch is logged with
 * its reason and counted, and the loop goes on: one producer's garbage
 * never stops another's good data. Polling with a timeout lets the
 * thread notice shutdown; every message already received is submitted.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "collector.h"

#define INGEST_MAX_MSG (WIRE_HEADER_SIZE + (WIRE_MAX_RAW + WIRE_MAX_RAW / 255 + 16))

struct ingest {
    void *ctx, *sock;
    store *st;
    _Atomic int stopping;
    pthread_t thread;
    /* CURVE with a list of clients: a ZAP handler (RFC 27) answers
     * libzmq's question "may this key connect?" on its own thread */
    void *zap;
    pthread_t zap_thread;
    int zap_running;
    uint8_t (*allowed)[32];
    size_t nallowed;
    uint64_t refused; /* ZAP thread only */
};

/* ---- CURVE keys ----
 * A key file holds "secret-key Z85" (and may hold "public-key Z85": it is
 * checked against the secret), as trace-collector --curve-keygen writes
 * it. The allowed-clients file lists one client public key per line,
 * either bare or as "public-key Z85"; a line starting with '#' is a
 * comment (a key may contain '#': only whole lines are comments). */

static int ingest_z85_ok(const char *k) {
    uint8_t raw[32];
    return strlen(k) == 40 && zmq_z85_decode(raw, k) != NULL;
}

/* The Z85 key on a line: after `label` if the line starts with it, else
 * the first word when bare_ok. "" if none. */
static void ingest_key_on_line(const char *line, const char *label, int bare_ok,
                               char out[41]) {
    out[0] = 0;
    while (*line == ' ' || *line == '\t') line++;
    if (*line == '#' || !*line) return;
    size_t ll = strlen(label);
    if (!strncmp(line, label, ll) && (line[ll] == ' ' || line[ll] == '\t'))
        line += ll + 1;
    else if (!bare_ok || !strncmp(line, "secret-key", 10) || !strncmp(line, "public-key", 10))
        return;
    /* only blanks separate: '#' and '=' are Z85 digits */
    while (*line == ' ' || *line == '\t') line++;
    size_t n = strcspn(line, " \t\r\n");
    if (n == 40) {
        memcpy(out, line, 40);
        out[40] = 0;
    }
}

int ingest_curve_load(ingest_curve *c, const char *secret_file,
                      const char *allowed_file, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    if (!secret_file || !*secret_file) {
        if (allowed_file && *allowed_file) {
            snprintf(err, errlen, "--curve-allowed-clients needs --curve-secret-key-file");
            return -1;
        }
        return 0;
    }
    FILE *f = fopen(secret_file, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read CURVE key file '%s'", secret_file);
        return -1;
    }
    char line[512], key[41], pub[41] = "";
    while (fgets(line, sizeof line, f)) {
        ingest_key_on_line(line, "secret-key", 1, key);
        if (key[0] && !c->secret_key[0]) memcpy(c->secret_key, key, sizeof key);
        ingest_key_on_line(line, "public-key", 0, key);
        if (key[0]) memcpy(pub, key, sizeof key);
    }
    fclose(f);
    char derived[41];
    if (!ingest_z85_ok(c->secret_key) || zmq_curve_public(derived, c->secret_key)) {
        snprintf(err, errlen, "'%s' holds no 40-character Z85 secret key "
                              "(trace-collector --curve-keygen writes one)", secret_file);
        c->secret_key[0] = 0;
        return -1;
    }
    if (pub[0] && strcmp(pub, derived)) {
        snprintf(err, errlen, "'%s': its public-key is not the secret key's", secret_file);
        return -1;
    }
    if (!allowed_file || !*allowed_file) return 0;
    f = fopen(allowed_file, "r");
    if (!f) {
        snprintf(err, errlen, "cannot read CURVE client list '%s'", allowed_file);
        return -1;
    }
    size_t cap = 0;
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        ingest_key_on_line(line, "public-key", 1, key);
        if (!key[0]) {
            const char *p = line + strspn(line, " \t\r\n");
            if (*p && *p != '#') {
                snprintf(err, errlen, "%s:%d: not a 40-character Z85 public key", allowed_file, lineno);
                fclose(f);
                ingest_curve_free(c);
                return -1;
            }
            continue;
        }
        if (!ingest_z85_ok(key)) {
            snprintf(err, errlen, "%s:%d: not a Z85 key", allowed_file, lineno);
            fclose(f);
            ingest_curve_free(c);
            return -1;
        }
        if (c->nallowed == cap) {
            cap = cap ? cap * 2 : 16;
            char(*n)[41] = realloc(c->allowed, cap * sizeof *n);
            if (!n) {
                fclose(f);
                ingest_curve_free(c);
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            c->allowed = n;
        }
        memcpy(c->allowed[c->nallowed++], key, 41);
    }
    fclose(f);
    if (!c->nallowed) {
        /* an empty list would admit nobody: surely not what was meant */
        snprintf(err, errlen, "'%s' lists no client key", allowed_file);
        ingest_curve_free(c);
        return -1;
    }
    return 0;
}

void ingest_curve_free(ingest_curve *c) {
    free(c->allowed);
    c->allowed = NULL;
    c->nallowed = 0;
    memset(c->secret_key, 0, sizeof c->secret_key);
}

/* One ZAP request: frames version, request id, domain, address, routing
 * id, mechanism, then the client's 32-byte public key for CURVE. */
static void ingest_zap_one(ingest *in) {
    zmq_msg_t f[8];
    int n = 0, more = 1;
    while (more && n < 8) {
        zmq_msg_init(&f[n]);
        if (zmq_msg_recv(&f[n], in->zap, 0) < 0) {
            zmq_msg_close(&f[n]);
            break;
        }
        more = zmq_msg_more(&f[n]);
        n++;
    }
    while (more) { /* more frames than RFC 27 has: drain them */
        zmq_msg_t x;
        zmq_msg_init(&x);
        if (zmq_msg_recv(&x, in->zap, 0) < 0) more = 0;
        else more = zmq_msg_more(&x);
        zmq_msg_close(&x);
    }
    int ok = 0;
    char who[41] = "?";
    if (n >= 7 && zmq_msg_size(&f[5]) == 5 && !memcmp(zmq_msg_data(&f[5]), "CURVE", 5) &&
        zmq_msg_size(&f[6]) == 32) {
        const uint8_t *key = zmq_msg_data(&f[6]);
        zmq_z85_encode(who, key, 32);
        for (size_t i = 0; i < in->nallowed && !ok; i++)
            ok = !memcmp(in->allowed[i], key, 32);
    }
    if (n >= 2) {
        const char *code = ok ? "200" : "400", *text = ok ? "OK" : "client key not allowed";
        zmq_send(in->zap, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(in->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
        zmq_send(in->zap, code, 3, ZMQ_SNDMORE);
        zmq_send(in->zap, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(in->zap, "", 0, ZMQ_SNDMORE); /* user id */
        zmq_send(in->zap, "", 0, 0);           /* metadata */
    }
    if (!ok) {
        /* a refused agent retries every 100 ms: log the first few and then
         * a sample, so one misconfigured agent cannot flood the log */
        uint64_t n = ++in->refused;
        if (n <= 10 || n % 1000 == 0)
            log_msg("warn", "ingest: refused a CURVE client whose key is not allowed (%s; refusal #%llu)",
                    who, (unsigned long long)n);
    } else {
        log_msg("debug", "ingest: CURVE client %s admitted", who);
    }
    for (int i = 0; i < n; i++) zmq_msg_close(&f[i]);
}

static void *ingest_zap_main(void *arg) {
    ingest *in = arg;
    zmq_pollitem_t item = {in->zap, 0, ZMQ_POLLIN, 0};
    while (!atomic_load(&in->stopping)) {
        if (zmq_poll(&item, 1, 100) > 0) ingest_zap_one(in);
    }
    return NULL;
}

/* Make the bound socket a CURVE server; start the ZAP handler first when
 * only listed clients may connect (it must exist before any handshake). */
static int ingest_curve_setup(ingest *in, const ingest_curve *c) {
    if (!c || !c->secret_key[0]) return 0;
    int server = 1;
    if (c->nallowed) {
        in->allowed = calloc(c->nallowed, sizeof *in->allowed);
        if (!in->allowed) return -1;
        for (size_t i = 0; i < c->nallowed; i++) zmq_z85_decode(in->allowed[i], c->allowed[i]);
        in->nallowed = c->nallowed;
        in->zap = zmq_socket(in->ctx, ZMQ_REP);
        int linger = 0;
        if (!in->zap || zmq_setsockopt(in->zap, ZMQ_LINGER, &linger, sizeof linger) ||
            zmq_bind(in->zap, "inproc://zeromq.zap.01"))
            return -1;
        if (pthread_create(&in->zap_thread, NULL, ingest_zap_main, in)) return -1;
        in->zap_running = 1;
        if (zmq_setsockopt(in->sock, ZMQ_ZAP_DOMAIN, "trace-ingest", 12)) return -1;
    }
    return zmq_setsockopt(in->sock, ZMQ_CURVE_SERVER, &server, sizeof server) ||
                   zmq_setsockopt(in->sock, ZMQ_CURVE_SECRETKEY, c->secret_key, 40)
               ? -1
               : 0;
}

static void ingest_one(ingest *in, zmq_msg_t *msg) {
    size_t len = zmq_msg_size(msg);
    atomic_fetch_add(&g_stats.bytes_in, len);
    wire_batch *b = malloc(sizeof *b);
    char err[160];
    if (!b) return;
    if (wire_decode(zmq_msg_data(msg), len, b, err, sizeof err)) {
        atomic_fetch_add(&g_stats.batches_rejected, 1);
        log_msg("warn", "ingest: rejected batch of %zu bytes: %s", len, err);
        free(b);
        return;
    }
    atomic_fetch_add(&g_stats.batches_in, 1);
    atomic_fetch_add(&g_stats.events_in, b->hdr.event_count);
    store_submit(in->st, b);
}

static void *ingest_main(void *arg) {
    ingest *in = arg;
    zmq_pollitem_t item = {in->sock, 0, ZMQ_POLLIN, 0};
    for (;;) {
        int stopping = atomic_load(&in->stopping);
        /* once stopping, take only what is already queued, then leave */
        int rc = zmq_poll(&item, 1, stopping ? 0 : 100);
        if (rc < 0) continue; /* EINTR */
        if (rc == 0) {
            if (stopping) break;
            continue;
        }
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, in->sock, ZMQ_DONTWAIT) >= 0) {
            if (zmq_msg_more(&msg)) { /* our batches are single-part */
                atomic_fetch_add(&g_stats.batches_rejected, 1);
                log_msg("warn", "ingest: rejected a multi-part message");
                while (zmq_msg_more(&msg) &&
                       zmq_msg_recv(&msg, in->sock, ZMQ_DONTWAIT) >= 0) {
                }
            } else {
                ingest_one(in, &msg);
            }
        }
        zmq_msg_close(&msg);
    }
    return NULL;
}

static void ingest_zap_stop(ingest *in) {
    if (in->zap_running) pthread_join(in->zap_thread, NULL);
    in->zap_running = 0;
    if (in->zap) zmq_close(in->zap);
    in->zap = NULL;
    free(in->allowed);
    in->allowed = NULL;
}

ingest *ingest_start(const char *endpoint, const ingest_curve *curve, store *st, char *bound,
                     size_t boundlen, char *err, size_t errlen) {
    ingest *in = calloc(1, sizeof *in);
    if (!in) return NULL;
    in->st = st;
    in->ctx = zmq_ctx_new();
    in->sock = in->ctx ? zmq_socket(in->ctx, ZMQ_PULL) : NULL;
    /* bigger than any valid batch gets dropped by ZeroMQ itself */
    int64_t maxmsg = INGEST_MAX_MSG;
    /* bounded memory: past this many queued batches producers see
     * back-pressure (libtrace then drops and counts) */
    int hwm = 1000, linger = 0;
    if (in->sock && ingest_curve_setup(in, curve)) {
        snprintf(err, errlen, "cannot set up CURVE on '%s': %s", endpoint,
                 zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (!in->sock ||
        zmq_setsockopt(in->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) ||
        zmq_setsockopt(in->sock, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
        zmq_setsockopt(in->sock, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_bind(in->sock, endpoint)) {
        snprintf(err, errlen, "cannot bind ingest endpoint '%s': %s", endpoint,
                 zmq_strerror(zmq_errno()));
        goto fail;
    }
    size_t n = boundlen;
    if (zmq_getsockopt(in->sock, ZMQ_LAST_ENDPOINT, bound, &n)) {
        snprintf(err, errlen, "ZMQ_LAST_ENDPOINT: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (pthread_create(&in->thread, NULL, ingest_main, in)) {
        snprintf(err, errlen, "cannot start the ingest thread");
        goto fail;
    }
    return in;
fail:
    atomic_store(&in->stopping, 1);
    ingest_zap_stop(in);
    if (in->sock) zmq_close(in->sock);
    if (in->ctx) zmq_ctx_term(in->ctx);
    free(in);
    return NULL;
}

void ingest_stop(ingest *in) {
    if (!in) return;
    atomic_store(&in->stopping, 1);
    pthread_join(in->thread, NULL);
    ingest_zap_stop(in);
    zmq_close(in->sock);
    zmq_ctx_term(in->ctx);
    free(in);
}
