/*
 * crash.c — libtrace's crash path (libtrace/crash.c) and its CURVE
 * configuration. A forked child traces into a real PULL socket from
 * several threads and then dies of SIGABRT or of a real SIGSEGV on a
 * thread of its own; the parent decodes what arrived: every event the
 * child recorded, then a final batch with the system.crash event, and
 * the child still died of its own signal. Runs under ASan and TSan too
 * (the handler and the flusher meet only through atomics).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "check.h"
#include "sink.h"
#include "trace.h"
#include "wire.h"

#define THREADS 3
#define PER_THREAD 2000

typedef struct seen {
    int events, crash_events, crash_level, final_batches;
    char crash_meta[128];
} seen;

static void on_event(const wire_batch *b, const wire_event *e, void *arg) {
    seen *s = arg;
    if (e->type.n == 12 && !memcmp(e->type.p, "system.crash", 12)) {
        s->crash_events++;
        s->crash_level = e->level;
        snprintf(s->crash_meta, sizeof s->crash_meta, "%.*s", (int)e->metadata.n,
                 e->metadata.p ? e->metadata.p : "");
    } else if (e->type.n == 11 && !memcmp(e->type.p, "custom.unit", 11)) {
        s->events++;
    }
    if (b->hdr.flags & WIRE_FLAG_FINAL && e == &b->events[b->hdr.event_count - 1])
        s->final_batches++;
}

static void *producer(void *arg) {
    (void)arg;
    for (int i = 0; i < PER_THREAD; i++)
        trace_event("unit", "custom.unit", TRACE_INFO, "event %d", i);
    return NULL;
}

static void *segv_thread(void *arg) {
    (void)arg;
    volatile int *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *ro = 1; /* a real fault, on a thread that is not main */
    return NULL;
}

/* A free loopback port, found without ZeroMQ: the parent must have no
 * threads when it forks (TSan cannot start threads in the child of a
 * multi-threaded parent), so the sink's context is made after the fork. */
static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &n) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

/* The child: trace from THREADS threads, then die the way asked. */
static void child(const char *url, int how) {
    struct timespec wait = {0, 300000000}; /* the parent binds meanwhile */
    nanosleep(&wait, NULL);
    sink k;
    snprintf(k.url, sizeof k.url, "%s", url);
    trace_config c = sink_config(&k);
    c.crash_handler = 1;
    c.crash_flush_ms = 3000; /* sanitizers are slow; a missed flush still fails */
    if (trace_init(&c)) _exit(90);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, producer, NULL);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    if (how == SIGABRT) abort();
    pthread_t s;
    pthread_create(&s, NULL, segv_thread, NULL);
    pthread_join(s, NULL);
    _exit(91); /* not reached */
}

static void test_dies_of(int how) {
    int port = free_port();
    CHECK(port > 0);
    char url[64];
    snprintf(url, sizeof url, "tcp://127.0.0.1:%d", port);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) child(url, how);
    sink k;
    CHECK(sink_open_at(&k, url) == 0);
    seen s = {0};
    sink_drain(&k, on_event, &s);
    int status = 0;
    waitpid(pid, &status, 0);
    sink_close(&k);
    CHECKF(s.events == THREADS * PER_THREAD, "%d of %d events arrived", s.events, THREADS * PER_THREAD);
    CHECKF(s.crash_events == 1, "%d crash events", s.crash_events);
    CHECK(s.crash_level == TRACE_ERROR);
    CHECKF(strstr(s.crash_meta, how == SIGABRT ? "\"SIGABRT\"" : "\"SIGSEGV\"") != NULL, "%s", s.crash_meta);
    CHECK(s.final_batches == 1);
    /* ASan reports a SEGV itself and exits 1 (abort_on_error: SIGABRT);
     * either way the child did not carry on */
    CHECKF(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) < 90),
           "child status %#x", status);
    if (WIFSIGNALED(status) && !getenv("ASAN_OPTIONS"))
        CHECKF(WTERMSIG(status) == how, "died of %d, not %d", WTERMSIG(status), how);
}

static void test_abort(void) { test_dies_of(SIGABRT); }
static void test_segv(void) { test_dies_of(SIGSEGV); }

static void *handler_of(int sig) {
    struct sigaction sa;
    sigaction(sig, NULL, &sa);
    return (sa.sa_flags & SA_SIGINFO) ? (void *)sa.sa_sigaction : (void *)sa.sa_handler;
}

/* Installed by trace_init, the previous handler back after shutdown; not
 * installed at all when turned off. */
static void test_install(void) {
    sink k;
    CHECK(sink_open(&k) == 0);
    void *before = handler_of(SIGSEGV);
    trace_config c = sink_config(&k);
    c.crash_handler = 0;
    CHECK(trace_init(&c) == 0);
    CHECK(handler_of(SIGSEGV) == before);
    trace_shutdown();
    c.crash_handler = 1;
    CHECK(trace_init(&c) == 0);
    CHECK(handler_of(SIGSEGV) != before);
    CHECK(handler_of(SIGABRT) != handler_of(SIGTERM));
    trace_shutdown();
    CHECK(handler_of(SIGSEGV) == before);
    sink_close(&k);
}

/* A CURVE key that is not one makes trace_init fail: no silent fallback
 * to plain text. */
static void test_curve_config(void) {
    sink k;
    CHECK(sink_open(&k) == 0);
    char pub[41], sec[41];
    CHECK(zmq_curve_keypair(pub, sec) == 0);
    trace_config c = sink_config(&k);
    snprintf(c.curve_server_key, sizeof c.curve_server_key, "%s", "not-a-key");
    CHECK(trace_init(&c) == -1);
    c = sink_config(&k);
    memcpy(c.curve_server_key, pub, sizeof pub);
    memcpy(c.curve_public_key, pub, sizeof pub); /* without its secret */
    CHECK(trace_init(&c) == -1);
    c = sink_config(&k);
    memcpy(c.curve_public_key, pub, sizeof pub); /* a keypair, no server key */
    memcpy(c.curve_secret_key, sec, sizeof sec);
    CHECK(trace_init(&c) == -1);
    c = sink_config(&k);
    memcpy(c.curve_server_key, pub, sizeof pub);
    CHECK(trace_init(&c) == 0); /* an ephemeral client keypair */
    trace_shutdown();
    sink_close(&k);
}

int main(void) {
    check_run("handler installed and removed", test_install);
    check_run("CURVE configuration", test_curve_config);
    check_run("abort() delivers everything and a crash event", test_abort);
    check_run("SIGSEGV on a thread delivers everything and a crash event", test_segv);
    return check_main("crash");
}
