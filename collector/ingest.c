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
};

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

ingest *ingest_start(const char *endpoint, store *st, char *bound,
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
    if (in->sock) zmq_close(in->sock);
    if (in->ctx) zmq_ctx_term(in->ctx);
    free(in);
    return NULL;
}

void ingest_stop(ingest *in) {
    if (!in) return;
    atomic_store(&in->stopping, 1);
    pthread_join(in->thread, NULL);
    zmq_close(in->sock);
    zmq_ctx_term(in->ctx);
    free(in);
}
