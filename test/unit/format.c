/*
 * format.c (test) — deferred printf formatting: tr_format() against libc's
 * snprintf for every conversion the macros can carry, and trace_event()
 * end to end (arguments captured on the hot path, formatted by the
 * flusher, decoded from a real ZeroMQ socket).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "internal.h"
#include "trace.h"
#include "sink.h"
#include "wire.h"

static uint64_t wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static tr_farg I(long long v) { tr_farg a = {TRACE__T_I, {.i = v}, NULL}; return a; }
static tr_farg U(unsigned long long v) { tr_farg a = {TRACE__T_U, {.u = v}, NULL}; return a; }
static tr_farg D(double v) { tr_farg a = {TRACE__T_D, {.d = v}, NULL}; return a; }
static tr_farg S(const char *v) { tr_farg a = {TRACE__T_S, {0}, v}; return a; }

#define SAME(expect, fmt, ...)                                                 \
    do {                                                                       \
        char got[512];                                                         \
        tr_farg args[] = {__VA_ARGS__};                                        \
        tr_format(got, sizeof got, fmt, args, sizeof args / sizeof *args);     \
        CHECKF(strcmp(got, expect) == 0, "format \"%s\": got \"%s\" want \"%s\"", \
               fmt, got, expect);                                              \
    } while (0)

static void t_conversions(void) {
    char want[512];
    snprintf(want, sizeof want, "%d|%5d|%-5d|%05d|%+d", -42, 7, 7, 7, 7);
    SAME(want, "%d|%5d|%-5d|%05d|%+d", I(-42), I(7), I(7), I(7), I(7));
    snprintf(want, sizeof want, "%u %x %X %o %#x", 42u, 255u, 255u, 8u, 255u);
    SAME(want, "%u %x %X %o %#x", U(42), U(255), U(255), U(8), U(255));
    snprintf(want, sizeof want, "%lld %llu", -9000000000LL, 18000000000000000000ULL);
    SAME(want, "%lld %llu", I(-9000000000LL), U(18000000000000000000ULL));
    snprintf(want, sizeof want, "%.3f %e %g %8.2f", 3.14159, 1e10, 0.5, 2.5);
    SAME(want, "%.3f %e %g %8.2f", D(3.14159), D(1e10), D(0.5), D(2.5));
    snprintf(want, sizeof want, "[%s] [%10s] [%-4s] [%.2s]", "abc", "r", "l", "xyz");
    SAME(want, "[%s] [%10s] [%-4s] [%.2s]", S("abc"), S("r"), S("l"), S("xyz"));
    snprintf(want, sizeof want, "%c%c 100%%", 'o', 'k');
    SAME(want, "%c%c 100%%", I('o'), I('k'));
    snprintf(want, sizeof want, "%*d|%.*f", 6, 42, 2, 1.23456);
    SAME(want, "%*d|%.*f", I(6), I(42), I(2), D(1.23456));
    SAME("plain text", "plain text", I(0));
}

static void t_mismatches_are_safe(void) {
    SAME("n=(?)", "n=%s", I(5));        /* %s given an integer */
    SAME("v=3", "v=%d", D(3.9));        /* %d given a double */
    SAME("x=(null)", "x=%s", S(NULL));
    char got[64];
    tr_format(got, sizeof got, "a=%d b=%d", (tr_farg[]){I(1)}, 1);
    CHECK(strcmp(got, "a=1 b=0") == 0); /* a missing argument reads as 0 */
    tr_format(got, sizeof got, "%n%d", (tr_farg[]){I(1), I(2)}, 2);
    CHECK(strcmp(got, "2") == 0);       /* %n is skipped, never written */
    tr_format(got, sizeof got, "trailing %", NULL, 0);
    CHECK(strncmp(got, "trailing ", 9) == 0);
    char tiny[8];
    tr_format(tiny, sizeof tiny, "%s", (tr_farg[]){S("0123456789")}, 1);
    CHECK(strcmp(tiny, "0123456") == 0); /* cut, terminated */
}

typedef struct e2e {
    uint64_t before, after;
    int got, seen_big, spans;
} e2e;

static void e2e_event(const wire_batch *b, const wire_event *e, void *arg) {
    static const char *want[] = {"ints -1 2 3", "mix lit/mutable 2.2 1 (nil)", "no args",
                                 "nine 123456789", "with metadata"};
    e2e *x = arg;
    (void)b;
    /* ticks became epoch microseconds within the run */
    CHECKF(e->ts_us >= x->before && e->ts_us <= x->after, "ts %llu not in [%llu, %llu]",
           (unsigned long long)e->ts_us, (unsigned long long)x->before,
           (unsigned long long)x->after);
    if (e->kind == WIRE_KIND_SPAN_END) {
        CHECKF(e->duration_us >= 29000 && e->duration_us < 500000,
               "span of a 30 ms sleep lasted %llu us", (unsigned long long)e->duration_us);
        x->spans++;
    }
    if (e->kind != WIRE_KIND_EVENT) return;
    CHECK(e->type.n == 10 && memcmp(e->type.p, "custom.fmt", 10) == 0);
    if (e->message.n > 4 && !memcmp(e->message.p, "big ", 4)) {
        x->seen_big = 1; /* string arguments are cut at TR_MAX_STR_ARG */
        CHECK(e->message.n == 4 + TR_MAX_STR_ARG);
        return;
    }
    CHECKF(x->got < 5 && e->message.n == strlen(want[x->got]) &&
               !memcmp(e->message.p, want[x->got], e->message.n),
           "event %d: \"%.*s\"", x->got, (int)e->message.n, e->message.p);
    if (x->got == 4)
        CHECK(e->metadata.n == 7 && !memcmp(e->metadata.p, "{\"k\":1}", 7) &&
              e->level == TRACE_WARN);
    x->got++;
}

/* trace_event() through the real library and a real socket. */
static void t_end_to_end(void) {
    sink k;
    CHECK(sink_open(&k) == 0);
    trace_config c = sink_config(&k);
    uint64_t before = wall_us();
    CHECK(trace_init(&c) == 0);
    char big[3000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = 0;
    enum color { RED, GREEN };
    enum color g = GREEN;
    void *ptr = NULL;
    char mutable_str[] = "mutable";
    trace_event("agent-1", "custom.fmt", TRACE_INFO, "ints %d %u %lld", -1, 2u, 3LL);
    trace_event("agent-1", "custom.fmt", TRACE_INFO, "mix %s/%s %.1f %d %p", "lit", mutable_str, 2.25, g, ptr);
    trace_event("agent-1", "custom.fmt", TRACE_INFO, "no args");
    trace_event("agent-1", "custom.fmt", TRACE_INFO, "nine %d%d%d%d%d%d%d%d%d", 1, 2, 3, 4, 5, 6, 7, 8, 9);
    trace_eventm("agent-1", "custom.fmt", TRACE_WARN, "{\"k\":1}", "with %s", "metadata");
    trace_event("agent-1", "custom.fmt", TRACE_INFO, "big %s", big);
    trace_span sp = trace_span_begin("agent-1", "custom.span", NULL, NULL, NULL);
    struct timespec d = {0, 30000000};
    nanosleep(&d, NULL);
    trace_span_end(&sp, "agent-1", "custom.span", TRACE_INFO, NULL, NULL);
    trace_shutdown();
    uint64_t after = wall_us();
    e2e x = {before, after, 0, 0, 0};
    sink_drain(&k, e2e_event, &x);
    sink_close(&k);
    CHECK(x.got == 5);
    CHECK(x.seen_big);
    CHECK(x.spans == 1);
}

/* Smart merge: identical consecutive events travel as one record with a
 * count; anything different starts a new record. */
typedef struct records {
    uint32_t *counts;
    int n;
} records;

static void record_count(const wire_batch *b, const wire_event *e, void *arg) {
    records *r = arg;
    (void)b;
    if (r->n < 100) r->counts[r->n++] = e->count;
}

static void merge_run(int merge, uint32_t *counts, int *nrec) {
    sink k;
    CHECK(sink_open(&k) == 0);
    trace_config c = sink_config(&k);
    c.merge = merge;
    c.max_events_per_batch = 1000;
    CHECK(trace_init(&c) == 0);
    for (int i = 0; i < 50; i++) trace_event("a", "custom.rep", TRACE_INFO, "same %d", 1);
    trace_event("a", "custom.rep", TRACE_INFO, "same %d", 2);
    for (int i = 0; i < 10; i++) trace_event("a", "custom.rep", TRACE_INFO, "same %d", 1);
    trace_shutdown();
    trace_stats s;
    trace_get_stats(&s);
    CHECK(s.recorded == 61 && s.sent == 61);
    records r = {counts, 0};
    sink_drain(&k, record_count, &r);
    sink_close(&k);
    *nrec = r.n;
}

static void t_merge(void) {
    uint32_t counts[100];
    int n;
    merge_run(1, counts, &n);
    CHECKF(n == 3 && counts[0] == 50 && counts[1] == 1 && counts[2] == 10,
           "%d records, counts %u %u %u", n, counts[0], counts[1], counts[2]);
    merge_run(0, counts, &n);
    CHECKF(n == 61 && counts[0] == 1, "%d records without merging", n);
}

int main(void) {
    check_run("smart merge", t_merge);
    check_run("conversions", t_conversions);
    check_run("mismatches are safe", t_mismatches_are_safe);
    check_run("end to end", t_end_to_end);
    return check_main("format");
}
