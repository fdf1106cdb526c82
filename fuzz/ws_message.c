/*
 * ws_message.c — libFuzzer target: what a WebSocket client controls,
 * the /ws URL options (filter, since) and the text messages it sends
 * ({"type":"subscribe","filter":{...}}), parsed by ws_parse_url and
 * ws_parse_message in collector/params.c.
 *
 * Input: one byte; even: the rest is a client text frame (not
 * NUL-terminated, as civetweb delivers it); odd: the rest is the URL's
 * query string. A success must leave a filter the fan-out can use.
 *
 * Frames are parsed on a thread with a stack as small as civetweb's
 * workers get: on the fuzzer's 8 MB main stack, JSON nested 1000 deep
 * parses fine, while in the collector it overflowed a worker's stack
 * (found by test/e2e/hostile.test.mjs; now refused past JSON_MAX_DEPTH).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"

static void fz_check_filter(const ws_filter *f) {
    if (strnlen(f->trace, sizeof f->trace) == sizeof f->trace ||
        strnlen(f->agent, sizeof f->agent) == sizeof f->agent ||
        strnlen(f->type, sizeof f->type) == sizeof f->type)
        abort();
    if (f->min_level < 0 || f->min_level > 3) abort();
    if (f->type_prefix != 0 && f->type_prefix != 1) abort();
}

#define FZ_WORKER_STACK (96 * 1024)

struct fz_frame {
    const char *p;
    size_t n;
    ws_filter f;
    const char *why;
    int rc;
};

/* One worker thread for the whole run (a thread per input would cost
 * more than the parse): the fuzzer hands it a frame and waits. */
static pthread_mutex_t fz_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fz_cond = PTHREAD_COND_INITIALIZER;
static struct fz_frame *fz_job;
static int fz_done;

static void *fz_worker(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&fz_lock);
        while (!fz_job) pthread_cond_wait(&fz_cond, &fz_lock);
        struct fz_frame *fr = fz_job;
        pthread_mutex_unlock(&fz_lock);
        fr->rc = ws_parse_message(fr->p, fr->n, &fr->f, &fr->why);
        pthread_mutex_lock(&fz_lock);
        fz_job = NULL;
        fz_done = 1;
        pthread_cond_broadcast(&fz_cond);
        pthread_mutex_unlock(&fz_lock);
    }
    return NULL;
}

static int fz_on_small_stack(struct fz_frame *fr) {
    static int started;
    if (!started) {
        pthread_attr_t attr;
        pthread_t th;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, FZ_WORKER_STACK);
        if (pthread_create(&th, &attr, fz_worker, NULL)) abort();
        pthread_attr_destroy(&attr);
        started = 1;
    }
    pthread_mutex_lock(&fz_lock);
    fz_done = 0;
    fz_job = fr;
    pthread_cond_broadcast(&fz_cond);
    while (!fz_done) pthread_cond_wait(&fz_cond, &fz_lock);
    pthread_mutex_unlock(&fz_lock);
    return fr->rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    ws_filter f;
    const char *why = NULL;
    size_t n = size - 1;
    /* a frame gets exactly n bytes, so ASan sees a read past its end */
    char *buf = malloc(data[0] & 1 ? n + 1 : n ? n : 1);
    if (!buf) return 0;
    memcpy(buf, data + 1, n);
    int rc;
    if (data[0] & 1) {
        buf[n] = 0;
        int64_t since;
        rc = ws_parse_url(buf, &f, &since, &why);
        if (rc == 0 && since < -1) abort();
    } else {
        struct fz_frame fr = {.p = buf, .n = n};
        rc = fz_on_small_stack(&fr);
        f = fr.f;
        why = fr.why;
    }
    if (rc == 0) fz_check_filter(&f);
    else if (!why || !*why) abort();
    free(buf);
    return 0;
}
