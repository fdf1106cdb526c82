/*
 * swarm_demo.c — a simulated multi-agent swarm that records itself with
 * libtrace.
 *
 * This is what `make demo` runs in front of someone watching the tracing
 * UI, and what the tests use to produce realistic traffic, so it behaves
 * like a claude-flow swarm rather than like a load generator:
 *
 *   - one coordinator and N-1 typed agents (coder, tester, reviewer, ...),
 *     each on its own thread, because libtrace keeps one ring per thread
 *     and real agents record from their own threads too;
 *   - agents talk only through in-process mailboxes (mutex + condvar), so
 *     every message.sent is matched by a message.received recorded by the
 *     thread that really dequeued the message, with a real latency;
 *   - who talks to whom follows the chosen topology (hierarchical, star,
 *     mesh, ring), so the agent graph the UI draws has the right shape;
 *   - a task is a span with LLM calls and tool calls nested in it; about
 *     15% of attempts fail and are retried, about 3% hit an agent error
 *     with a stack trace; state snapshots feed the UI's time-travel view.
 *
 * Work is simulated with sleeps scaled by --speed. Randomness comes from a
 * per-thread xorshift generator seeded from --seed, so a seed reproduces
 * the same kind of run (thread scheduling still varies the interleaving).
 * Stopping is driven by an atomic flag that the signal handler and the
 * clock set and that every thread polls at least every 50 ms. The last
 * line on stdout is parsed by the tests; keep its format.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "trace.h"

enum {
    MIN_AGENTS = 2,
    MAX_AGENTS = 256,
    DEFAULT_AGENTS = 6,
    MAX_ATTEMPTS = 3,  /* the first try plus two retries */
    MAX_LOAD = 2,      /* queued + running tasks an agent may hold before
                          the coordinator keeps new work back */
    RING_IN_FLIGHT = 16,
    NAME_LEN = 32,
    DESC_LEN = 128,
    TEXT_LEN = 192,
    KEY_LEN = 48,
    MEM_CAP = 12,
    BOARD_CAP = 512,
    RECENT_CAP = 10,
    LIST_CAP = 32,     /* entries per list in a task_state snapshot */
    JSON_DEPTH = 8,
};

#define MSEC 1000u
#define SEC 1000000u
/* The longest any thread blocks: bounds how late it notices a stop. */
#define SLICE_US (50u * MSEC)
#define SNAPSHOT_EVERY_US (2u * SEC)
#define TASK_SNAPSHOT_GAP_US (100u * MSEC)
#define FAIL_RATE 0.15
#define FAULT_RATE 0.03
#define HELP_RATE 0.30
#define LEARN_RATE 0.50

/* ===================================================================== */
/* Stop flag and counters                                                 */
/* ===================================================================== */

/* Written by the signal handler, so it must be a lock-free atomic. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the signal flag must be lock-free");
static atomic_int g_signal;
static atomic_bool g_stop; /* set by the main thread when time is up */

/* Shared tallies: read by the main thread for the progress line. */
static _Atomic uint64_t g_next_task, g_next_msg;
static _Atomic uint64_t g_created, g_done, g_failed, g_retried, g_abandoned;
static _Atomic uint64_t g_steps; /* think/LLM/tool steps: the unit of work */
static _Atomic uint64_t g_agent_cpu_ns; /* the agent threads' CPU, added as each ends */
static _Atomic uint64_t g_compute_iters; /* --tools-compute work done, added as each ends */
static _Thread_local uint64_t tl_compute_iters; /* this agent's, until it ends */
static _Atomic uint64_t g_cancelled, g_sent, g_received, g_faults;
static atomic_int g_running;

static void on_signal(int sig)
{
    atomic_store_explicit(&g_signal, sig, memory_order_relaxed);
}

static bool stopping(void)
{
    return atomic_load_explicit(&g_stop, memory_order_relaxed) ||
           atomic_load_explicit(&g_signal, memory_order_relaxed) != 0;
}

static const char *stop_reason(void)
{
    switch (atomic_load(&g_signal)) {
    case SIGINT: return "interrupted (SIGINT)";
    case SIGTERM: return "terminated (SIGTERM)";
    default: return "swarm finished: duration elapsed";
    }
}

static void bump(_Atomic uint64_t *counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

static uint64_t tally(_Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

/* CPU accounting for bench/swarm_overhead.sh, in both builds alike: the
 * agents' own threads, and (traced) libtrace's threads, which do nothing
 * but tracing. Measured in here, so no poller outside disturbs the runs
 * it measures. An agent thread adds its CPU and its computation done as
 * it ends: the agents share no counter while they work. */
static void account_agent_thread(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    atomic_fetch_add(&g_agent_cpu_ns,
                     (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    atomic_fetch_add(&g_compute_iters, tl_compute_iters);
}

/* libtrace's flusher and ZeroMQ's threads, read from /proc before
 * trace_shutdown() ends them (the last batch is not counted). */
static uint64_t tracing_threads_cpu_ns(void)
{
    uint64_t total = 0;
    DIR *dir = opendir("/proc/self/task");
    if (!dir)
        return 0;
    for (struct dirent *d; (d = readdir(dir));) {
        if (d->d_name[0] == '.')
            continue;
        char path[300], comm[32] = "";
        unsigned long long ns = 0;
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", d->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        bool ours = fgets(comm, sizeof comm, f) &&
                    (!strncmp(comm, "trace-flusher", 13) || !strncmp(comm, "ZMQbg/", 6));
        fclose(f);
        snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", d->d_name);
        if (ours && (f = fopen(path, "r"))) {
            if (fscanf(f, "%llu", &ns) == 1)
                total += ns;
            fclose(f);
        }
    }
    closedir(dir);
    return total;
}

/* ===================================================================== */
/* Time, randomness, strings                                              */
/* ===================================================================== */

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec / 1000u;
}

static void sleep_us(uint64_t us)
{
    struct timespec ts = {.tv_sec = (time_t)(us / SEC),
                          .tv_nsec = (long)(us % SEC) * 1000L};
    nanosleep(&ts, NULL); /* EINTR is fine: callers re-check the clock */
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* xorshift64*: tiny, fast, good enough for a demo, and per thread so no
 * generator state is shared. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return n ? (uint32_t)((rng_next(s) >> 32) % n) : 0;
}

static int rng_range(uint64_t *s, int lo, int hi)
{
    return lo + (int)rng_below(s, (uint32_t)(hi - lo + 1));
}

static bool rng_chance(uint64_t *s, double p)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53 < p;
}

static void copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Copies the part of src before the first of `stop` characters. */
static void copy_prefix(char *dst, size_t size, const char *src,
                        const char *stop)
{
    size_t n = strcspn(src, stop);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void task_id(char *out, size_t size, uint32_t id)
{
    snprintf(out, size, "t-%" PRIu32, id);
}

/* ===================================================================== */
/* JSON builder: every metadata and snapshot text goes through it, so     */
/* strings are always escaped and commas always right.                    */
/* ===================================================================== */

typedef struct jbuf {
    char *buf;
    size_t len, cap;
    bool failed;
    bool after_key;
    int depth;
    int count[JSON_DEPTH];
} jbuf;

static void jb_init(jbuf *j) { memset(j, 0, sizeof *j); }

static void jb_free(jbuf *j)
{
    free(j->buf);
    jb_init(j);
}

static void jb_putn(jbuf *j, const char *s, size_t n)
{
    if (j->failed)
        return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap : 256;
        while (cap < j->len + n + 1)
            cap *= 2;
        char *p = realloc(j->buf, cap);
        if (!p) {
            j->failed = true;
            return;
        }
        j->buf = p;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

static void jb_putc(jbuf *j, char c) { jb_putn(j, &c, 1); }

static void jb_quote(jbuf *j, const char *s)
{
    jb_putc(j, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char u[8];
        const char *esc = NULL;
        switch (*p) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (*p < 0x20) {
                snprintf(u, sizeof u, "\\u%04x", (unsigned)*p);
                esc = u;
            }
        }
        if (esc)
            jb_putn(j, esc, strlen(esc));
        else
            jb_putc(j, (char)*p);
    }
    jb_putc(j, '"');
}

/* Writes the comma a new value needs, unless it follows its key. */
static void jb_sep(jbuf *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0 && j->count[j->depth - 1]++ > 0)
        jb_putc(j, ',');
}

static void jb_open(jbuf *j, char c)
{
    jb_sep(j);
    jb_putc(j, c);
    if (j->depth >= JSON_DEPTH) {
        j->failed = true;
        return;
    }
    j->count[j->depth++] = 0;
}

static void jb_close(jbuf *j, char c)
{
    if (j->depth > 0)
        j->depth--;
    jb_putc(j, c);
}

static void jb_key(jbuf *j, const char *key)
{
    jb_sep(j);
    jb_quote(j, key);
    jb_putc(j, ':');
    j->after_key = true;
}

static void jb_str(jbuf *j, const char *s)
{
    jb_sep(j);
    if (s)
        jb_quote(j, s);
    else
        jb_putn(j, "null", 4);
}

static void jb_int(jbuf *j, long long v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", v);
    jb_sep(j);
    jb_putn(j, num, (size_t)n);
}

static void jb_kstr(jbuf *j, const char *key, const char *s)
{
    jb_key(j, key);
    jb_str(j, s);
}

static void jb_kint(jbuf *j, const char *key, long long v)
{
    jb_key(j, key);
    jb_int(j, v);
}

/* A failed build degrades to an empty object rather than invalid JSON. */
static const char *jb_text(const jbuf *j)
{
    return (j->failed || !j->buf) ? "{}" : j->buf;
}

/* ===================================================================== */
/* What agents work on: types, subjects, templates                        */
/* ===================================================================== */

typedef enum kind {
    K_COORDINATOR,
    K_CODER,
    K_TESTER,
    K_REVIEWER,
    K_RESEARCHER,
    K_ANALYST,
    K_ARCHITECT,
    K_OPTIMIZER,
    K_DOCUMENTER,
    K_COUNT
} kind;
#define K_NONE K_COUNT

/* Templates may use {s} (subject), {slug} (its short name) and {n} (a
 * number: the PR of a chain of work, or a count). */
typedef struct kind_info {
    const char *name;
    kind next; /* who naturally picks up the work after a success */
    int weight; /* how often the coordinator starts new work of this kind */
    const char *tasks[4];
    const char *tools[4];
    const char *result;
    const char *failures[3];
    const char *facts[2][2]; /* memory key suffix, value */
    const char *question;
} kind_info;

static const kind_info KINDS[K_COUNT] = {
    [K_COORDINATOR] = {.name = "coordinator", .next = K_NONE},
    [K_CODER] = {
        .name = "coder", .next = K_TESTER, .weight = 4,
        .tasks = {"implement {s}", "fix crash on empty input in {s}",
                  "refactor {s} for testability",
                  "add input validation to {s}"},
        .tools = {"read_file src/{slug}/{slug}.c",
                  "edit_file src/{slug}/{slug}.c", "bash: make -j8 {slug}",
                  "grep -rn TODO src/{slug}/"},
        .result = "{n} files changed, build green",
        .failures = {"build failed: 3 compile errors in src/{slug}/{slug}.c",
                     "merge conflict in src/{slug}/{slug}.h",
                     "linker error: undefined reference to '{slug}_init'"},
        .facts = {{"entrypoint", "src/{slug}/{slug}.c"},
                  {"conventions", "errors are returned as negative errno"}},
        .question = "where is the error-handling convention for {s} written down?",
    },
    [K_TESTER] = {
        .name = "tester", .next = K_REVIEWER, .weight = 2,
        .tasks = {"write tests for {s}", "fix flaky integration test in {s}",
                  "run regression suite against {s}",
                  "add fuzz targets for {s}"},
        .tools = {"read_file tests/test_{slug}.py",
                  "write_file tests/test_{slug}.py",
                  "bash: pytest tests/test_{slug}.py -q",
                  "bash: ctest -R {slug} --output-on-failure"},
        .result = "{n} tests passed",
        .failures = {"2 of 48 tests failed in tests/test_{slug}.py",
                     "test run timed out after 300 s",
                     "fixture 'db' not found for the {s} tests"},
        .facts = {{"test-command", "pytest tests/test_{slug}.py -q"},
                  {"flaky", "timing-dependent tests; use a fake clock"}},
        .question = "which fixtures do the {s} tests need?",
    },
    [K_REVIEWER] = {
        .name = "reviewer", .next = K_NONE, .weight = 1,
        .tasks = {"review PR #{n}: {s}", "security review of {s}",
                  "review API changes in {s}",
                  "review PR #{n} (follow-up on {s})"},
        .tools = {"bash: gh pr diff {n}", "read_file src/{slug}/{slug}.c",
                  "bash: gh pr checks {n}",
                  "bash: git log --oneline -- src/{slug}"},
        .result = "approved with {n} minor comments",
        .failures = {"changes requested: missing error handling in {s}",
                     "changes requested: no tests for the new code path",
                     "CI is red on the PR, cannot approve"},
        .facts = {{"review-focus", "error paths and input validation"},
                  {"owner", "team-platform owns {s}"}},
        .question = "is the public API of {s} frozen for this release?",
    },
    [K_RESEARCHER] = {
        .name = "researcher", .next = K_ARCHITECT, .weight = 2,
        .tasks = {"research best practices for {s}",
                  "survey open-source libraries for {s}",
                  "collect requirements for {s}",
                  "compare designs used elsewhere for {s}"},
        .tools = {"web_search \"{s} best practices\"",
                  "fetch https://docs.example.com/{slug}",
                  "read_file docs/{slug}.md", "memory_search {slug}"},
        .result = "summarized {n} sources",
        .failures = {"no reliable sources found on {s}",
                     "fetch failed: 503 from docs.example.com",
                     "search quota exhausted"},
        .facts = {{"reference", "docs/{slug}.md and the RFC notes in the wiki"},
                  {"prior-art", "two OSS projects model {s} as a state machine"}},
        .question = "has anyone benchmarked alternatives for {s}?",
    },
    [K_ANALYST] = {
        .name = "analyst", .next = K_OPTIMIZER, .weight = 2,
        .tasks = {"analyze error rates in {s}", "profile latency of {s}",
                  "estimate load on {s} for next quarter",
                  "find the slowest queries in {s}"},
        .tools = {"sql: SELECT percentile(latency_ms, 99) FROM requests WHERE svc = '{slug}'",
                  "bash: perf record -g ./bench_{slug}",
                  "read_file dashboards/{slug}.json",
                  "notebook: plot latency histogram for {slug}"},
        .result = "report ready: p99 {n} ms",
        .failures = {"metrics for {s} missing before last Tuesday",
                     "query timed out on the warehouse",
                     "sample too small to be significant"},
        .facts = {{"p99-latency", "{n} ms at peak"},
                  {"error-budget", "{s} burns 30% of its monthly budget"}},
        .question = "what traffic do you expect on {s} at peak?",
    },
    [K_ARCHITECT] = {
        .name = "architect", .next = K_CODER, .weight = 2,
        .tasks = {"design interfaces for {s}", "write ADR for {s}",
                  "plan migration of {s}", "split {s} into modules"},
        .tools = {"read_file docs/adr/README.md",
                  "write_file docs/adr/{n}-{slug}.md",
                  "diagram: components of {s}",
                  "grep -rn include src/{slug}/"},
        .result = "design accepted: {n} interfaces",
        .failures = {"design rejected: circular dependency with storage",
                     "requirements for {s} still ambiguous",
                     "proposal conflicts with ADR 12"},
        .facts = {{"boundary", "{s} reaches storage only through a repository"},
                  {"adr", "docs/adr/{n}-{slug}.md"}},
        .question = "may {s} depend on the storage layer directly?",
    },
    [K_OPTIMIZER] = {
        .name = "optimizer", .next = K_TESTER, .weight = 1,
        .tasks = {"optimize hot path in {s}", "reduce memory use of {s}",
                  "add caching to {s}", "remove lock contention in {s}"},
        .tools = {"bash: perf stat ./bench_{slug}",
                  "bash: valgrind --tool=massif ./bench_{slug}",
                  "edit_file src/{slug}/hot_path.c", "bash: make bench"},
        .result = "hot path {n}% faster",
        .failures = {"no measurable speedup (+0.4%, within noise)",
                     "optimization broke 3 tests in {s}",
                     "benchmark unstable: stddev 18%"},
        .facts = {{"hot-path", "lookups in {s} take 38% of CPU"},
                  {"cache", "an LRU with {n} entries fits the working set"}},
        .question = "which benchmark should I trust for {s}?",
    },
    [K_DOCUMENTER] = {
        .name = "documenter", .next = K_REVIEWER, .weight = 1,
        .tasks = {"document {s} API", "write usage guide for {s}",
                  "update changelog for {s}", "add examples for {s}"},
        .tools = {"read_file src/{slug}/{slug}.h", "write_file docs/{slug}.md",
                  "bash: mkdocs build --strict", "edit_file CHANGELOG.md"},
        .result = "{n} sections written",
        .failures = {"mkdocs build failed: broken link to {slug}.md",
                     "API of {s} changed while documenting",
                     "style check failed: 4 passive-voice warnings"},
        .facts = {{"docs", "docs/{slug}.md"},
                  {"audience", "plugin authors new to {s}"}},
        .question = "who reads the {s} docs, operators or developers?",
    },
};

/* The first agents get a mix where coders hand to testers and testers to
 * reviewers; larger swarms then cycle through every type. */
static const kind FIRST_KINDS[] = {K_CODER,   K_TESTER,     K_REVIEWER,
                                   K_CODER,   K_RESEARCHER, K_TESTER,
                                   K_ARCHITECT, K_ANALYST,  K_OPTIMIZER,
                                   K_DOCUMENTER};
static const kind CYCLE_KINDS[] = {K_CODER,   K_TESTER,    K_REVIEWER,
                                   K_RESEARCHER, K_ANALYST, K_ARCHITECT,
                                   K_OPTIMIZER, K_DOCUMENTER};

typedef struct subject {
    const char *text, *slug;
} subject;

static const subject SUBJECTS[] = {
    {"parser for config files", "config"},
    {"auth module", "auth"},
    {"rate limiter", "ratelimit"},
    {"payment webhook handler", "webhooks"},
    {"search indexer", "search"},
    {"CLI argument handling", "cli"},
    {"session cache", "session"},
    {"metrics exporter", "metrics"},
    {"database migrations", "migrations"},
    {"websocket gateway", "gateway"},
    {"retry policy", "retry"},
    {"file upload service", "uploads"},
};
#define N_SUBJECTS (sizeof SUBJECTS / sizeof SUBJECTS[0])

/* Node-style traces, because claude-flow agents run on Node. */
static const char *const FAULTS[] = {
    "TypeError: Cannot read properties of undefined (reading 'choices')\n"
    "    at parseCompletion (/opt/claude-flow/src/api/claude-client.ts:214:31)\n"
    "    at ClaudeClient.complete (/opt/claude-flow/src/api/claude-client.ts:167:12)\n"
    "    at async AgentExecutor.runStep (/opt/claude-flow/src/agents/executor.ts:148:7)\n"
    "    at async TaskRunner.execute (/opt/claude-flow/src/swarm/task-runner.ts:87:5)",

    "Error: socket hang up\n"
    "    at connResetException (node:internal/errors:720:14)\n"
    "    at TLSSocket.socketOnEnd (node:_http_client:524:23)\n"
    "    at TLSSocket.emit (node:events:531:35)\n"
    "    at ClaudeClient.stream (/opt/claude-flow/src/api/claude-client.ts:301:9)\n"
    "    at async AgentExecutor.runStep (/opt/claude-flow/src/agents/executor.ts:148:7)",

    "Error: ENOENT: no such file or directory, open 'src/{slug}/{slug}.c'\n"
    "    at Object.openSync (node:fs:573:18)\n"
    "    at Object.readFileSync (node:fs:452:35)\n"
    "    at ReadFileTool.invoke (/opt/claude-flow/src/tools/read-file.ts:41:22)\n"
    "    at ToolRegistry.call (/opt/claude-flow/src/tools/registry.ts:96:18)\n"
    "    at async AgentExecutor.runTool (/opt/claude-flow/src/agents/executor.ts:203:14)",

    "RangeError: Maximum call stack size exceeded\n"
    "    at JSON.stringify (<anonymous>)\n"
    "    at MemoryStore.set (/opt/claude-flow/src/memory/store.ts:77:28)\n"
    "    at AgentExecutor.remember (/opt/claude-flow/src/agents/executor.ts:251:22)\n"
    "    at async AgentExecutor.runStep (/opt/claude-flow/src/agents/executor.ts:161:9)",

    "ToolTimeoutError: bash exceeded 120000 ms\n"
    "    at Timeout._onTimeout (/opt/claude-flow/src/tools/bash.ts:88:16)\n"
    "    at listOnTimeout (node:internal/timers:573:17)\n"
    "    at process.processTimers (node:internal/timers:514:7)",
};
#define N_FAULTS (sizeof FAULTS / sizeof FAULTS[0])

static void expand(char *out, size_t size, const char *tmpl, const subject *s,
                   int n)
{
    char num[16];
    size_t len = 0;
    snprintf(num, sizeof num, "%d", n);
    for (const char *p = tmpl; *p && len + 1 < size;) {
        const char *sub = NULL;
        size_t skip = 0;
        if (strncmp(p, "{slug}", 6) == 0) {
            sub = s->slug;
            skip = 6;
        } else if (strncmp(p, "{s}", 3) == 0) {
            sub = s->text;
            skip = 3;
        } else if (strncmp(p, "{n}", 3) == 0) {
            sub = num;
            skip = 3;
        }
        if (!sub) {
            out[len++] = *p++;
            continue;
        }
        for (; *sub && len + 1 < size; sub++)
            out[len++] = *sub;
        p += skip;
    }
    out[len] = '\0';
}

/* ===================================================================== */
/* Tasks and messages                                                     */
/* ===================================================================== */

typedef struct task {
    uint32_t id;
    uint32_t parent_id; /* the task whose success led to this one, or 0 */
    kind kind;
    int subject;
    int number; /* PR / ADR number shared along a chain of follow-ups */
    int attempt;
    char desc[DESC_LEN];
} task;

typedef enum msg_kind {
    MSG_ASSIGN,      /* do this task */
    MSG_RESULT,      /* a task finished (ok) or an attempt failed */
    MSG_HANDOFF,     /* star: follow-up work for a peer, via the hub */
    MSG_HELP_REQUEST,
    MSG_HELP_REPLY
} msg_kind;

typedef struct message {
    struct message *next;
    msg_kind kind;
    int from;     /* last hop; set by agent_send */
    int reporter; /* RESULT: the agent that did the work */
    int target;   /* HANDOFF: the peer the work is meant for */
    int avoid;    /* queued ASSIGN: the agent that just failed it */
    bool ok;
    char id[24];
    task task;
    char text[TEXT_LEN]; /* result, error, question or tip */
    char key[KEY_LEN];   /* HELP_REPLY: memory key the tip belongs under */
} message;

static message *message_new(msg_kind k)
{
    message *m = calloc(1, sizeof *m);
    if (m) {
        m->kind = k;
        m->reporter = m->target = m->avoid = -1;
    }
    return m;
}

typedef struct msgq {
    message *head, *tail;
    int len;
} msgq;

static void msgq_push(msgq *q, message *m)
{
    m->next = NULL;
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->len++;
}

static message *msgq_pop(msgq *q)
{
    message *m = q->head;
    if (m) {
        q->head = m->next;
        if (!q->head)
            q->tail = NULL;
        q->len--;
        m->next = NULL;
    }
    return m;
}

static void free_list(message *m)
{
    while (m) {
        message *next = m->next;
        free(m);
        m = next;
    }
}

/* ===================================================================== */
/* Mailboxes                                                              */
/* ===================================================================== */

typedef struct mailbox {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    msgq q;
    bool closed; /* the owner has stopped: posts are refused */
} mailbox;

static int mailbox_init(mailbox *mb)
{
    pthread_condattr_t attr;
    memset(mb, 0, sizeof *mb);
    if (pthread_mutex_init(&mb->mu, NULL) != 0)
        return -1;
    if (pthread_condattr_init(&attr) != 0) {
        pthread_mutex_destroy(&mb->mu);
        return -1;
    }
    /* Monotonic, so a wall-clock jump cannot stretch a wait. */
    int rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(&mb->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_destroy(&mb->mu);
        return -1;
    }
    return 0;
}

static void mailbox_destroy(mailbox *mb)
{
    free_list(mb->q.head);
    pthread_cond_destroy(&mb->cv);
    pthread_mutex_destroy(&mb->mu);
}

/* Queues m unless the mailbox is closed. message.sent is recorded under
 * the lock so that it always precedes the receiver's message.received,
 * and is not recorded at all for a message nobody will ever take. */
static bool mailbox_post(mailbox *mb, message *m, const char *from,
                         const char *to, const char *summary)
{
    pthread_mutex_lock(&mb->mu);
    bool open = !mb->closed;
    if (open) {
        trace_message_sent(from, to, m->id, summary);
        msgq_push(&mb->q, m);
        pthread_cond_signal(&mb->cv);
    }
    pthread_mutex_unlock(&mb->mu);
    return open;
}

static void deadline_after(struct timespec *ts, uint64_t us)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(us / SEC);
    ts->tv_nsec += (long)(us % SEC) * 1000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static message *mailbox_take(mailbox *mb, uint64_t timeout_us)
{
    struct timespec until;
    deadline_after(&until, timeout_us);
    pthread_mutex_lock(&mb->mu);
    while (!mb->q.head && !mb->closed) {
        if (pthread_cond_timedwait(&mb->cv, &mb->mu, &until) == ETIMEDOUT)
            break;
    }
    message *m = msgq_pop(&mb->q);
    pthread_mutex_unlock(&mb->mu);
    return m;
}

/* Refuses further posts and hands back whatever is still queued. */
static message *mailbox_close(mailbox *mb)
{
    pthread_mutex_lock(&mb->mu);
    mb->closed = true;
    message *rest = mb->q.head;
    mb->q = (msgq){0};
    pthread_mutex_unlock(&mb->mu);
    return rest;
}

/* ===================================================================== */
/* Agent memory: what an agent has learned, for memory_state snapshots    */
/* ===================================================================== */

typedef struct memory {
    struct {
        char key[KEY_LEN];
        char value[TEXT_LEN];
        uint64_t stamp;
    } e[MEM_CAP];
    int len;
    uint64_t clock;
} memory;

/* Small on purpose: when full, the oldest fact is forgotten. */
static void memory_put(memory *m, const char *key, const char *value)
{
    int slot = -1;
    for (int i = 0; i < m->len && slot < 0; i++)
        if (strcmp(m->e[i].key, key) == 0)
            slot = i;
    if (slot < 0 && m->len < MEM_CAP)
        slot = m->len++;
    if (slot < 0) {
        slot = 0;
        for (int i = 1; i < m->len; i++)
            if (m->e[i].stamp < m->e[slot].stamp)
                slot = i;
    }
    copy_str(m->e[slot].key, sizeof m->e[slot].key, key);
    copy_str(m->e[slot].value, sizeof m->e[slot].value, value);
    m->e[slot].stamp = ++m->clock;
}

/* ===================================================================== */
/* Task board: the swarm's shared view of every task, for load decisions */
/* and the coordinator's task_state snapshots                             */
/* ===================================================================== */

typedef enum tstatus {
    TS_FREE,
    TS_PENDING,
    TS_ASSIGNED,
    TS_RUNNING,
    TS_RETRYING, /* an attempt failed; another one will follow */
    TS_DONE,
    TS_FAILED,
    TS_CANCELLED,
    TS_COUNT
} tstatus;

static const char *const TS_NAMES[TS_COUNT] = {
    "free", "pending", "assigned", "running", "retrying",
    "done", "failed", "cancelled"};

static bool ts_active(tstatus s) { return s >= TS_PENDING && s <= TS_RETRYING; }

typedef struct board_entry {
    uint32_t id; /* 0: free slot */
    tstatus st;
    kind kind;
    int assignee; /* -1: nobody */
    int attempt;
    uint64_t seq; /* last change, to recycle the oldest finished entry */
    char desc[DESC_LEN];
} board_entry;

typedef struct board {
    pthread_mutex_t mu;
    board_entry e[BOARD_CAP];
    uint64_t seq;
    uint32_t done_ids[RECENT_CAP], failed_ids[RECENT_CAP];
    uint64_t done_n, failed_n, created;
} board;

static board_entry *board_find(board *b, uint32_t id)
{
    for (int i = 0; i < BOARD_CAP; i++)
        if (b->e[i].id == id)
            return &b->e[i];
    return NULL;
}

/* A free slot, else the oldest finished entry; NULL if all are active,
 * in which case the task simply goes untracked. */
static board_entry *board_slot(board *b)
{
    board_entry *old = NULL;
    for (int i = 0; i < BOARD_CAP; i++) {
        board_entry *e = &b->e[i];
        if (e->id == 0)
            return e;
        if (!ts_active(e->st) && (!old || e->seq < old->seq))
            old = e;
    }
    return old;
}

static void board_add(board *b, const task *t)
{
    pthread_mutex_lock(&b->mu);
    board_entry *e = board_slot(b);
    if (e) {
        e->id = t->id;
        e->st = TS_PENDING;
        e->kind = t->kind;
        e->assignee = -1;
        e->attempt = t->attempt;
        e->seq = ++b->seq;
        copy_str(e->desc, sizeof e->desc, t->desc);
    }
    b->created++;
    pthread_mutex_unlock(&b->mu);
}

static void board_set(board *b, uint32_t id, tstatus st, int assignee,
                      int attempt)
{
    pthread_mutex_lock(&b->mu);
    board_entry *e = board_find(b, id);
    if (e) {
        e->st = st;
        e->assignee = assignee;
        e->attempt = attempt;
        e->seq = ++b->seq;
    }
    if (st == TS_DONE)
        b->done_ids[b->done_n++ % RECENT_CAP] = id;
    else if (st == TS_FAILED)
        b->failed_ids[b->failed_n++ % RECENT_CAP] = id;
    pthread_mutex_unlock(&b->mu);
}

/* Tasks each agent holds (queued with it or running), indexed by agent. */
static void board_loads(board *b, int *loads, int n)
{
    memset(loads, 0, (size_t)n * sizeof *loads);
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < BOARD_CAP; i++) {
        const board_entry *e = &b->e[i];
        bool held = e->st == TS_ASSIGNED || e->st == TS_RUNNING;
        if (e->id && held && e->assignee >= 0 && e->assignee < n)
            loads[e->assignee]++;
    }
    pthread_mutex_unlock(&b->mu);
}

static void board_tally(board *b, int counts[TS_COUNT])
{
    memset(counts, 0, TS_COUNT * sizeof counts[0]);
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < BOARD_CAP; i++)
        if (b->e[i].id)
            counts[b->e[i].st]++;
    pthread_mutex_unlock(&b->mu);
}

static int board_active(board *b)
{
    int c[TS_COUNT];
    board_tally(b, c);
    return c[TS_PENDING] + c[TS_ASSIGNED] + c[TS_RUNNING] + c[TS_RETRYING];
}

/* ===================================================================== */
/* The swarm                                                              */
/* ===================================================================== */

typedef enum topology {
    TOPO_HIERARCHICAL,
    TOPO_MESH,
    TOPO_RING,
    TOPO_STAR
} topology;

static const char *const TOPO_NAMES[] = {"hierarchical", "mesh", "ring",
                                         "star"};

typedef struct options {
    int agents;
    double duration; /* seconds; 0 = until a signal */
    topology topo;
    uint64_t seed;
    double speed;
    bool quiet;
    bool tools_compute; /* tool steps use the CPU instead of sleeping */
} options;

typedef struct swarm swarm;
typedef struct agent agent;

struct agent {
    swarm *sw;
    int index; /* 0 is the coordinator */
    kind kind;
    char name[NAME_LEN];
    mailbox mbox;
    atomic_bool alive; /* may be given work */
    pthread_t thread;  /* coordinator thread only */
    bool started;      /* coordinator thread only */
    void (*on_message)(agent *, message *);
    void (*on_period)(agent *);
    /* Below: touched only by the agent's own thread. */
    uint64_t rng;
    const char *status;
    const task *current;
    int done, failed, errors;
    msgq backlog; /* tasks accepted but not started (coordinator: pending) */
    memory mem;
    uint64_t next_heartbeat, next_snapshot;
};

/* State only the coordinator thread touches. */
typedef struct coord {
    agent *self;
    swarm *sw;
    uint64_t next_create;
    uint64_t next_task_snapshot;
    bool dirty;    /* the board changed since the last task_state */
    int in_flight; /* ring: pipelines not back yet */
    int ok_by[MAX_AGENTS], bad_by[MAX_AGENTS];
} coord;

struct swarm {
    options opt;
    int n;
    agent *agents;
    bool present[K_COUNT];
    uint64_t heartbeat_us;
    board board;
    coord coord;
};

/* Work durations are given at speed 1. */
static uint64_t scaled(const swarm *sw, int ms)
{
    double us = (double)ms * MSEC / sw->opt.speed;
    return us < 1.0 ? 1 : (uint64_t)us;
}

static uint64_t scaled_range(agent *a, int lo_ms, int hi_ms)
{
    return scaled(a->sw, rng_range(&a->rng, lo_ms, hi_ms));
}

static bool is_alive(const agent *a)
{
    return atomic_load_explicit(&a->alive, memory_order_relaxed);
}

/* ===================================================================== */
/* Snapshots                                                              */
/* ===================================================================== */

static void snapshot_agent(agent *a)
{
    jbuf j;
    char id[16];
    jb_init(&j);
    jb_open(&j, '{');
    jb_kstr(&j, "agent", a->name);
    jb_kstr(&j, "type", KINDS[a->kind].name);
    jb_kstr(&j, "status", a->status);
    jb_key(&j, "currentTask");
    if (a->current) {
        task_id(id, sizeof id, a->current->id);
        jb_open(&j, '{');
        jb_kstr(&j, "id", id);
        jb_kstr(&j, "description", a->current->desc);
        jb_kint(&j, "attempt", a->current->attempt);
        jb_close(&j, '}');
    } else {
        jb_str(&j, NULL);
    }
    jb_kint(&j, "queued", a->backlog.len);
    /* the work waiting behind the current task, oldest first */
    jb_key(&j, "queue");
    jb_open(&j, '[');
    int listed = 0;
    for (const message *m = a->backlog.head; m && listed < LIST_CAP; m = m->next, listed++) {
        task_id(id, sizeof id, m->task.id);
        jb_str(&j, id);
    }
    jb_close(&j, ']');
    jb_kint(&j, "tasksDone", a->done);
    jb_kint(&j, "tasksFailed", a->failed);
    jb_kint(&j, "errors", a->errors);
    jb_kstr(&j, "topology", TOPO_NAMES[a->sw->opt.topo]);
    jb_close(&j, '}');
    trace_snapshot(a->name, "agent_state", jb_text(&j));
    jb_free(&j);
}

static void snapshot_memory(agent *a)
{
    jbuf j;
    jb_init(&j);
    jb_open(&j, '{');
    jb_kstr(&j, "agent", a->name);
    jb_key(&j, "entries");
    jb_open(&j, '{');
    for (int i = 0; i < a->mem.len; i++)
        jb_kstr(&j, a->mem.e[i].key, a->mem.e[i].value);
    jb_close(&j, '}');
    jb_kint(&j, "capacity", MEM_CAP);
    jb_close(&j, '}');
    trace_snapshot(a->name, "memory_state", jb_text(&j));
    jb_free(&j);
}

static int cmp_entry_id(const void *x, const void *y)
{
    uint32_t a = (*(const board_entry *const *)x)->id;
    uint32_t b = (*(const board_entry *const *)y)->id;
    return (a > b) - (a < b);
}

static void json_task_entry(jbuf *j, const swarm *sw, const board_entry *e)
{
    char id[16];
    task_id(id, sizeof id, e->id);
    jb_open(j, '{');
    jb_kstr(j, "id", id);
    jb_kstr(j, "status", TS_NAMES[e->st]);
    jb_kstr(j, "kind", KINDS[e->kind].name);
    jb_kstr(j, "assignee", e->assignee >= 0 ? sw->agents[e->assignee].name
                                            : NULL);
    jb_kint(j, "attempt", e->attempt);
    jb_kstr(j, "description", e->desc);
    jb_close(j, '}');
}

/* Lists the active entries whose status makes them "pending" (not with an
 * agent yet) or not, oldest task first, at most LIST_CAP of them. */
static void json_task_list(jbuf *j, const swarm *sw, board_entry **sorted,
                           int n, bool pending)
{
    int shown = 0, more = 0;
    jb_open(j, '[');
    for (int i = 0; i < n; i++) {
        bool is_pending = sorted[i]->st == TS_PENDING ||
                          sorted[i]->st == TS_RETRYING;
        if (is_pending != pending)
            continue;
        if (shown++ < LIST_CAP)
            json_task_entry(j, sw, sorted[i]);
        else
            more++;
    }
    jb_close(j, ']');
    if (more)
        jb_kint(j, pending ? "pendingNotShown" : "assignedNotShown", more);
}

static void json_recent(jbuf *j, const uint32_t *ids, uint64_t n)
{
    char id[16];
    uint64_t first = n > RECENT_CAP ? n - RECENT_CAP : 0;
    jb_open(j, '[');
    for (uint64_t i = first; i < n; i++) {
        task_id(id, sizeof id, ids[i % RECENT_CAP]);
        jb_str(j, id);
    }
    jb_close(j, ']');
}

static void board_json(board *b, const swarm *sw, jbuf *j)
{
    board_entry *sorted[BOARD_CAP];
    int n = 0;
    pthread_mutex_lock(&b->mu);
    for (int i = 0; i < BOARD_CAP; i++)
        if (b->e[i].id && ts_active(b->e[i].st))
            sorted[n++] = &b->e[i];
    qsort(sorted, (size_t)n, sizeof sorted[0], cmp_entry_id);
    jb_open(j, '{');
    jb_key(j, "pending");
    json_task_list(j, sw, sorted, n, true);
    jb_key(j, "assigned");
    json_task_list(j, sw, sorted, n, false);
    jb_key(j, "done");
    json_recent(j, b->done_ids, b->done_n);
    jb_key(j, "failed");
    json_recent(j, b->failed_ids, b->failed_n);
    jb_key(j, "totals");
    jb_open(j, '{');
    jb_kint(j, "created", (long long)b->created);
    jb_kint(j, "active", n);
    jb_kint(j, "done", (long long)b->done_n);
    jb_kint(j, "failed", (long long)b->failed_n);
    jb_kint(j, "retried", (long long)tally(&g_retried));
    jb_close(j, '}');
    jb_close(j, '}');
    pthread_mutex_unlock(&b->mu);
}

static void set_status(agent *a, const char *status)
{
    if (a->status != status && strcmp(a->status, status) != 0) {
        a->status = status;
        snapshot_agent(a);
    }
}

/* ===================================================================== */
/* Messaging and the agent's wait loop                                    */
/* ===================================================================== */

/* Takes ownership of m whether or not the post succeeds. */
static bool agent_send(agent *from, int to, message *m, const char *summary)
{
    agent *dst = &from->sw->agents[to];
    m->from = from->index;
    snprintf(m->id, sizeof m->id, "m-%" PRIu64,
             atomic_fetch_add(&g_next_msg, 1) + 1);
    if (!mailbox_post(&dst->mbox, m, from->name, dst->name, summary)) {
        free(m);
        return false;
    }
    bump(&g_sent);
    return true;
}

static message *agent_receive(agent *a, uint64_t timeout_us)
{
    message *m = mailbox_take(&a->mbox, timeout_us);
    if (m) {
        bump(&g_received);
        trace_message_received(a->name, a->sw->agents[m->from].name, m->id);
    }
    return m;
}

/* Heartbeats and periodic snapshots come from here, so a busy agent keeps
 * sending them like a real one with a timer would. */
static void agent_tick(agent *a)
{
    uint64_t now = now_us();
    if (now >= a->next_heartbeat) {
        trace_agent_heartbeat(a->name);
        a->next_heartbeat = now + a->sw->heartbeat_us;
    }
    if (now >= a->next_snapshot) {
        a->next_snapshot = now + SNAPSHOT_EVERY_US;
        a->on_period(a);
    }
}

static void agent_poll(agent *a, uint64_t wait_us)
{
    agent_tick(a);
    message *m = agent_receive(a, wait_us);
    if (m)
        a->on_message(a, m);
}

/* Simulated work: the agent stays responsive (answers mail, heartbeats)
 * while it "thinks". False if the swarm is stopping. */
static bool agent_busy_for(agent *a, uint64_t us)
{
    uint64_t deadline = now_us() + us;
    for (;;) {
        if (stopping())
            return false;
        uint64_t now = now_us();
        if (now >= deadline)
            return true;
        uint64_t left = deadline - now;
        agent_poll(a, left < SLICE_US ? left : SLICE_US);
    }
}

/* A tool that runs on this machine (a build, a test suite): real CPU work
 * sized by the step's duration, mail still answered between chunks. The
 * amount of work is fixed (about the duration at ~1 ns an iteration), not
 * a wall-clock deadline, so that CPU taken by anything else — tracing —
 * shows as extra CPU time rather than as less work done: what
 * bench/swarm_overhead.sh measures. */
#define COMPUTE_ITERS_PER_US 1000u
#define COMPUTE_CHUNK 50000u
static bool agent_compute_for(agent *a, uint64_t us)
{
    static _Thread_local uint64_t sink;
    uint64_t left = us * COMPUTE_ITERS_PER_US, h = 1469598103934665603ull;
    while (left) {
        if (stopping())
            return false;
        uint64_t n = left < COMPUTE_CHUNK ? left : COMPUTE_CHUNK;
        for (uint64_t i = 0; i < n; i++) /* FNV-1a: a multiply chain */
            h = (h ^ i) * 1099511628211ull;
        left -= n;
        tl_compute_iters += n;
        agent_poll(a, 0);
    }
    sink += h;
    return true;
}

/* Mail that arrives after the agent stopped is still taken out, so every
 * message.sent has its message.received; the work in it is cancelled. */
static void drain_mailbox(agent *a)
{
    message *m = mailbox_close(&a->mbox);
    while (m) {
        message *next = m->next;
        char id[16];
        bump(&g_received);
        trace_message_received(a->name, a->sw->agents[m->from].name, m->id);
        if (m->kind == MSG_ASSIGN || m->kind == MSG_HANDOFF) {
            task_id(id, sizeof id, m->task.id);
            board_set(&a->sw->board, m->task.id, TS_CANCELLED, -1,
                      m->task.attempt);
            bump(&g_cancelled);
            trace_debug(a->name, "custom.inbox",
                        "dropping %s from %s: shutting down", id,
                        a->sw->agents[m->from].name);
        }
        free(m);
        m = next;
    }
}

static void cancel_backlog(agent *a)
{
    message *m;
    while ((m = msgq_pop(&a->backlog))) {
        board_set(&a->sw->board, m->task.id, TS_CANCELLED, -1,
                  m->task.attempt);
        bump(&g_cancelled);
        free(m);
    }
}

/* ===================================================================== */
/* Creating and routing tasks                                             */
/* ===================================================================== */

static void fill_task(task *t, kind k, int subj, int number,
                      uint32_t parent, uint64_t *rng)
{
    memset(t, 0, sizeof *t);
    t->id = (uint32_t)(atomic_fetch_add(&g_next_task, 1) + 1);
    t->parent_id = parent;
    t->kind = k;
    t->subject = subj;
    t->number = number;
    t->attempt = 1;
    expand(t->desc, sizeof t->desc, KINDS[k].tasks[rng_below(rng, 4)],
           &SUBJECTS[subj], number);
}

static void publish_task(agent *creator, const task *t)
{
    char id[16];
    task_id(id, sizeof id, t->id);
    trace_task_created(creator->name, id, t->desc);
    board_add(&creator->sw->board, t);
    bump(&g_created);
}

/* The next piece of work on the same subject (tests after code, review
 * after tests), created by whoever the topology makes responsible. */
static bool make_followup(agent *creator, const task *done, kind next,
                          task *out)
{
    if (next == K_NONE || !creator->sw->present[next])
        return false;
    fill_task(out, next, done->subject, done->number, done->id,
              &creator->rng);
    publish_task(creator, out);
    return true;
}

/* Least-loaded live agent of kind k, ties broken at random, skipping
 * `avoid` when anyone else qualifies; -1 if nobody has room under
 * `limit` (0: no limit). */
static int pick_agent(swarm *sw, kind k, int avoid, const int *loads,
                      int limit, uint64_t *rng)
{
    for (int pass = 0; pass < 2; pass++) {
        int best = -1, ties = 0;
        for (int i = 1; i < sw->n; i++) {
            if (sw->agents[i].kind != k || !is_alive(&sw->agents[i]))
                continue;
            if ((pass == 0 && i == avoid) || (limit > 0 && loads[i] >= limit))
                continue;
            if (best < 0 || loads[i] < loads[best]) {
                best = i;
                ties = 1;
            } else if (loads[i] == loads[best] &&
                       rng_below(rng, (uint32_t)++ties) == 0) {
                best = i;
            }
        }
        if (best >= 0 || avoid < 0)
            return best;
    }
    return -1;
}

/* Records an assignment and sends the task; takes ownership of m. */
static void assign_task(agent *by, int to, message *m)
{
    char id[16], summary[TEXT_LEN];
    task_id(id, sizeof id, m->task.id);
    board_set(&by->sw->board, m->task.id, TS_ASSIGNED, to, m->task.attempt);
    trace_task_assigned(by->name, id, by->sw->agents[to].name);
    snprintf(summary, sizeof summary, "assign %s: %s", id, m->task.desc);
    m->kind = MSG_ASSIGN;
    m->avoid = -1;
    agent_send(by, to, m, summary);
}

static int ring_next(const agent *a) { return (a->index + 1) % a->sw->n; }

static void handoff_meta(jbuf *j, const agent *from, const task *done,
                         const task *next, int to)
{
    char id[16], parent[16];
    task_id(id, sizeof id, next->id);
    task_id(parent, sizeof parent, done->id);
    jb_open(j, '{');
    jb_kstr(j, "taskId", id);
    jb_kstr(j, "after", parent);
    jb_kstr(j, "from", from->name);
    jb_kstr(j, "to", to >= 0 ? from->sw->agents[to].name : NULL);
    jb_kstr(j, "topology", TOPO_NAMES[from->sw->opt.topo]);
    jb_close(j, '}');
}

/* ===================================================================== */
/* Worker agents                                                          */
/* ===================================================================== */

typedef enum outcome { OUT_DONE, OUT_FAILED, OUT_CANCELLED } outcome;

static const subject *subj_of(const task *t) { return &SUBJECTS[t->subject]; }

static void why_failed(agent *a, const task *t, char *why, size_t len)
{
    const char *tmpl = KINDS[a->kind].failures[rng_below(&a->rng, 3)];
    expand(why, len, tmpl, subj_of(t), t->number);
}

static void emit_child(agent *a, const trace_span *span, const char *type_lit,
                       trace_level level, const char *msg, const char *meta,
                       uint64_t duration_us)
{
    trace_record r = {.agent = a->name,
                      .type = type_lit,
                      .level = level,
                      .message = msg,
                      .metadata = meta,
                      .parent = span,
                      .duration_us = duration_us};
    trace_emit(&r);
}

static outcome step_think(agent *a, const task *t, const trace_span *span,
                          int steps)
{
    char id[16], msg[DESC_LEN + 16];
    jbuf j;
    task_id(id, sizeof id, t->id);
    snprintf(msg, sizeof msg, "planning: %s", t->desc);
    jb_init(&j);
    jb_open(&j, '{');
    jb_kstr(&j, "taskId", id);
    jb_kint(&j, "attempt", t->attempt);
    jb_kint(&j, "maxAttempts", MAX_ATTEMPTS);
    jb_kint(&j, "plannedSteps", steps);
    jb_close(&j, '}');
    emit_child(a, span, "custom.thinking", TRACE_INFO, msg, jb_text(&j), 0);
    if (t->attempt > 1) {
        snprintf(msg, sizeof msg, "retrying %s: attempt %d of %d", id,
                 t->attempt, MAX_ATTEMPTS);
        emit_child(a, span, "custom.retry", TRACE_WARN, msg, jb_text(&j), 0);
    }
    jb_free(&j);
    return agent_busy_for(a, scaled_range(a, 20, 80)) ? OUT_DONE
                                                      : OUT_CANCELLED;
}

static const char *pick_model(agent *a)
{
    uint32_t r = rng_below(&a->rng, 10);
    bool deep = a->kind == K_ARCHITECT || a->kind == K_REVIEWER;
    if (r < 2)
        return "claude-3-5-haiku";
    if (r < (deep ? 6u : 3u))
        return "claude-opus-4";
    return "claude-sonnet-4";
}

/* reply < 0: the call is only starting. */
static void llm_meta(jbuf *j, const char *model, const task *t, int prompt,
                     int reply, int latency_ms)
{
    char id[16];
    task_id(id, sizeof id, t->id);
    jb_open(j, '{');
    jb_kstr(j, "model", model);
    jb_kint(j, "tokens", reply >= 0 ? prompt + reply : prompt);
    jb_kint(j, "promptTokens", prompt);
    if (reply >= 0) {
        jb_kint(j, "completionTokens", reply);
        jb_kint(j, "latencyMs", latency_ms);
    }
    jb_kstr(j, "taskId", id);
    jb_close(j, '}');
}

static outcome step_llm(agent *a, const task *t, const trace_span *span,
                        bool fail, char *why, size_t why_len)
{
    const char *model = pick_model(a);
    int prompt = rng_range(&a->rng, 600, 6000);
    int reply = rng_range(&a->rng, 80, 1500);
    char msg[TEXT_LEN + 32];
    jbuf j;

    jb_init(&j);
    llm_meta(&j, model, t, prompt, -1, 0); /* no reply yet */
    snprintf(msg, sizeof msg, "prompting %s with %d tokens", model, prompt);
    trace_span call = trace_span_begin(a->name, "custom.llm_call", span, msg,
                                       jb_text(&j));
    jb_free(&j);

    uint64_t t0 = now_us();
    if (!agent_busy_for(a, scaled_range(a, 80, 400))) {
        trace_span_end(&call, a->name, "custom.llm_call", TRACE_WARN,
                       "cancelled: swarm shutting down", NULL);
        return OUT_CANCELLED;
    }
    int ms = (int)((now_us() - t0) / MSEC);
    if (fail) {
        why_failed(a, t, why, why_len);
        snprintf(msg, sizeof msg, "cannot proceed: %s", why);
    } else {
        snprintf(msg, sizeof msg, "%s replied: %d tokens in %d ms", model,
                 reply, ms);
    }
    llm_meta(&j, model, t, prompt, reply, ms);
    trace_span_end(&call, a->name, "custom.llm_call",
                   fail ? TRACE_WARN : TRACE_INFO, msg, jb_text(&j));
    jb_free(&j);
    trace_metric(a->name, "llm.tokens", prompt + reply, "tokens");
    trace_metric(a->name, "llm.latency", ms, "ms");
    return fail ? OUT_FAILED : OUT_DONE;
}

static outcome step_tool(agent *a, const task *t, const trace_span *span,
                         bool fail, char *why, size_t why_len)
{
    char cmd[TEXT_LEN], tool[32], id[16], msg[TEXT_LEN + 16];
    const char *tmpl = KINDS[a->kind].tools[rng_below(&a->rng, 4)];
    expand(cmd, sizeof cmd, tmpl, subj_of(t), t->number);
    copy_prefix(tool, sizeof tool, cmd, ": ");
    task_id(id, sizeof id, t->id);

    uint64_t t0 = now_us(), dur = scaled_range(a, 50, 250);
    if (!(a->sw->opt.tools_compute ? agent_compute_for(a, dur)
                                   : agent_busy_for(a, dur)))
        return OUT_CANCELLED;
    uint64_t took = now_us() - t0;
    if (fail)
        why_failed(a, t, why, why_len);

    jbuf j;
    jb_init(&j);
    jb_open(&j, '{');
    jb_kstr(&j, "tool", tool);
    jb_kstr(&j, "command", cmd);
    jb_kint(&j, "exitCode", fail ? 1 : 0);
    jb_kint(&j, "durationMs", (long long)(took / MSEC));
    if (fail)
        jb_kstr(&j, "stderr", why);
    jb_kstr(&j, "taskId", id);
    jb_close(&j, '}');
    snprintf(msg, sizeof msg, "%s (exit %d)", cmd, fail ? 1 : 0);
    emit_child(a, span, "custom.tool_call", fail ? TRACE_WARN : TRACE_DEBUG,
               msg, jb_text(&j), took);
    jb_free(&j);
    return fail ? OUT_FAILED : OUT_DONE;
}

/* An agent-level error (not just a failed attempt): the executor crashes,
 * the agent shows as "error" while it restarts, and the attempt fails. */
static outcome step_fault(agent *a, const task *t, char *why, size_t why_len)
{
    char stack[1024], msg[TEXT_LEN - 16]; /* room for "agent error: " */
    expand(stack, sizeof stack, FAULTS[rng_below(&a->rng, N_FAULTS)],
           subj_of(t), t->number);
    copy_prefix(msg, sizeof msg, stack, "\n");
    trace_agent_error(a->name, msg, stack);
    a->errors++;
    bump(&g_faults);
    set_status(a, "error");
    bool ok = agent_busy_for(a, scaled_range(a, 150, 400));
    if (ok) {
        trace_warn(a->name, "custom.recovery",
                   "executor restarted after: %s", msg);
        set_status(a, "busy");
    }
    snprintf(why, why_len, "agent error: %s", msg);
    return ok ? OUT_FAILED : OUT_CANCELLED;
}

/* Mesh only: peers ask each other questions while they work. The answer
 * arrives asynchronously and lands in the asker's memory. */
static void maybe_ask_for_help(agent *a, const task *t)
{
    swarm *sw = a->sw;
    if (sw->opt.topo != TOPO_MESH || sw->n < 3 ||
        !rng_chance(&a->rng, HELP_RATE))
        return;
    int peer = rng_range(&a->rng, 1, sw->n - 2);
    if (peer >= a->index)
        peer++;
    if (!is_alive(&sw->agents[peer]))
        return;
    message *m = message_new(MSG_HELP_REQUEST);
    if (!m)
        return;
    char summary[TEXT_LEN + 16];
    m->task = *t;
    expand(m->text, sizeof m->text, KINDS[a->kind].question, subj_of(t),
           t->number);
    snprintf(summary, sizeof summary, "question: %s", m->text);
    agent_send(a, peer, m, summary);
}

static outcome work_steps(agent *a, const task *t, const trace_span *span,
                          char *why, size_t why_len)
{
    int steps = rng_range(&a->rng, 3, 5);
    int fail_at = rng_chance(&a->rng, FAIL_RATE)
                      ? rng_range(&a->rng, 1, steps - 1) : -1;
    int fault_at = rng_chance(&a->rng, FAULT_RATE)
                       ? rng_range(&a->rng, 1, steps - 1) : -1;
    outcome o = step_think(a, t, span, steps);
    bump(&g_steps);
    for (int i = 1; i < steps && o == OUT_DONE; i++) {
        bump(&g_steps);
        if (i == 1)
            maybe_ask_for_help(a, t);
        if (i == fault_at)
            o = step_fault(a, t, why, why_len);
        else if (i % 2)
            o = step_llm(a, t, span, i == fail_at, why, why_len);
        else
            o = step_tool(a, t, span, i == fail_at, why, why_len);
    }
    return o;
}

static void begin_work(agent *a, const task *t)
{
    board_set(&a->sw->board, t->id, TS_RUNNING, a->index, t->attempt);
    atomic_fetch_add(&g_running, 1);
    a->current = t;
    a->status = "busy";
    snapshot_agent(a);
}

static void end_work(agent *a, const task *t, outcome o)
{
    tstatus st = TS_CANCELLED;
    switch (o) {
    case OUT_DONE:
        st = TS_DONE;
        a->done++;
        bump(&g_done);
        break;
    case OUT_FAILED:
        st = t->attempt < MAX_ATTEMPTS ? TS_RETRYING : TS_FAILED;
        a->failed++;
        bump(&g_failed);
        break;
    case OUT_CANCELLED:
        bump(&g_cancelled);
        break;
    }
    board_set(&a->sw->board, t->id, st, a->index, t->attempt);
    atomic_fetch_sub(&g_running, 1);
    a->current = NULL;
    a->status = "idle";
    snapshot_agent(a);
}

static void close_task_span(agent *a, const task *t, const trace_span *span,
                            outcome o, const char *why, char *result,
                            size_t result_len, uint64_t took_us)
{
    char id[16], err[TEXT_LEN + 32];
    task_id(id, sizeof id, t->id);
    switch (o) {
    case OUT_DONE:
        expand(result, result_len, KINDS[a->kind].result, subj_of(t),
               rng_range(&a->rng, 2, 60));
        trace_task_complete(span, a->name, id, result);
        break;
    case OUT_FAILED:
        snprintf(err, sizeof err, "%s (attempt %d/%d)", why, t->attempt,
                 MAX_ATTEMPTS);
        trace_task_fail(span, a->name, id, err);
        break;
    case OUT_CANCELLED:
        trace_task_fail(span, a->name, id, "cancelled: swarm shutting down");
        return;
    }
    trace_metric(a->name, "task.duration", (double)took_us / MSEC, "ms");
}

static outcome run_attempt(agent *a, const task *t, char *why, size_t why_len,
                           char *result, size_t result_len)
{
    char id[16];
    task_id(id, sizeof id, t->id);
    begin_work(a, t);
    uint64_t t0 = now_us();
    trace_span span = trace_task_start(a->name, id, NULL);
    outcome o = work_steps(a, t, &span, why, why_len);
    close_task_span(a, t, &span, o, why, result, result_len, now_us() - t0);
    end_work(a, t, o);
    return o;
}

static void learn(agent *a, const task *t)
{
    if (!rng_chance(&a->rng, LEARN_RATE))
        return;
    const kind_info *ki = &KINDS[a->kind];
    int f = (int)rng_below(&a->rng, 2);
    char key[KEY_LEN], value[TEXT_LEN];
    snprintf(key, sizeof key, "%s.%s", subj_of(t)->slug, ki->facts[f][0]);
    expand(value, sizeof value, ki->facts[f][1], subj_of(t), t->number);
    memory_put(&a->mem, key, value);
    snapshot_memory(a);
}

static void report(agent *a, const task *t, bool ok, const char *text)
{
    int to = a->sw->opt.topo == TOPO_RING ? ring_next(a) : 0;
    message *m = message_new(MSG_RESULT);
    if (!m)
        return;
    char id[16], summary[TEXT_LEN + 64];
    task_id(id, sizeof id, t->id);
    m->task = *t;
    m->ok = ok;
    m->reporter = a->index;
    copy_str(m->text, sizeof m->text, text);
    if (ok)
        snprintf(summary, sizeof summary, "done %s: %s", id, text);
    else
        snprintf(summary, sizeof summary, "failed %s (attempt %d/%d): %s", id,
                 t->attempt, MAX_ATTEMPTS, text);
    agent_send(a, to, m, summary);
}

/* Ring: a stage's output becomes the next agent's task. */
static void ring_pass_on(agent *a, const task *t, const char *result)
{
    swarm *sw = a->sw;
    int to = ring_next(a);
    if (to == 0) {
        report(a, t, true, result);
        return;
    }
    message *m = message_new(MSG_ASSIGN);
    if (!m)
        return;
    if (!make_followup(a, t, sw->agents[to].kind, &m->task)) {
        free(m);
        return;
    }
    char id[16], decision[TEXT_LEN];
    jbuf j;
    task_id(id, sizeof id, m->task.id);
    snprintf(decision, sizeof decision, "pass %s to %s (next in ring)", id,
             sw->agents[to].name);
    jb_init(&j);
    handoff_meta(&j, a, t, &m->task, to);
    trace_coordination(a->name, decision, jb_text(&j));
    jb_free(&j);
    assign_task(a, to, m);
}

/* Mesh: the follow-up goes straight to a peer; star: to the hub, which
 * relays it, because in a star workers only talk to the hub. */
static void hand_to_peer(agent *a, const task *t)
{
    swarm *sw = a->sw;
    kind next = KINDS[t->kind].next;
    if (next == K_NONE || !sw->present[next])
        return;
    int loads[MAX_AGENTS];
    board_loads(&sw->board, loads, sw->n);
    int to = pick_agent(sw, next, a->index, loads, 0, &a->rng);
    if (to < 0)
        return;
    message *m = message_new(MSG_ASSIGN);
    if (!m)
        return;
    if (!make_followup(a, t, next, &m->task)) {
        free(m);
        return;
    }
    char id[16], text[TEXT_LEN + 48];
    task_id(id, sizeof id, m->task.id);
    if (sw->opt.topo == TOPO_STAR) {
        m->kind = MSG_HANDOFF;
        m->target = to;
        snprintf(text, sizeof text, "handoff %s for %s: %s", id,
                 sw->agents[to].name, m->task.desc);
        agent_send(a, 0, m, text);
        return;
    }
    jbuf j;
    snprintf(text, sizeof text, "hand %s to %s directly (load %d)", id,
             sw->agents[to].name, loads[to]);
    jb_init(&j);
    handoff_meta(&j, a, t, &m->task, to);
    trace_coordination(a->name, text, jb_text(&j));
    jb_free(&j);
    assign_task(a, to, m);
}

static void after_success(agent *a, const task *t, const char *result)
{
    learn(a, t);
    switch (a->sw->opt.topo) {
    case TOPO_RING:
        ring_pass_on(a, t, result);
        break;
    case TOPO_HIERARCHICAL:
        report(a, t, true, result); /* the coordinator plans follow-ups */
        break;
    case TOPO_STAR:
    case TOPO_MESH:
        report(a, t, true, result);
        hand_to_peer(a, t);
        break;
    }
}

/* Ring agents cannot reach the coordinator except through the ring, so
 * they retry on their own; a final failure still travels to it. */
static bool retry_locally(agent *a, task *t, const char *why)
{
    char id[16], decision[TEXT_LEN];
    jbuf j;
    task_id(id, sizeof id, t->id);
    t->attempt++;
    snprintf(decision, sizeof decision, "retry %s locally (attempt %d/%d)",
             id, t->attempt, MAX_ATTEMPTS);
    jb_init(&j);
    jb_open(&j, '{');
    jb_kstr(&j, "taskId", id);
    jb_kstr(&j, "decision", "retry");
    jb_kint(&j, "attempt", t->attempt);
    jb_kint(&j, "maxAttempts", MAX_ATTEMPTS);
    jb_kstr(&j, "error", why);
    jb_close(&j, '}');
    trace_coordination(a->name, decision, jb_text(&j));
    jb_free(&j);
    bump(&g_retried);
    return agent_busy_for(a, scaled_range(a, 100, 300)); /* back off */
}

static void give_up_locally(agent *a, const task *t, const char *why)
{
    char id[16], decision[TEXT_LEN];
    task_id(id, sizeof id, t->id);
    snprintf(decision, sizeof decision, "give up on %s after %d attempts", id,
             t->attempt);
    trace_coordination(a->name, decision, NULL);
    trace_warn(a->name, "custom.escalation", "%s needs a human: %s", id, why);
    bump(&g_abandoned);
}

static void work_on(agent *a, message *m)
{
    task t = m->task;
    char why[TEXT_LEN] = "", result[TEXT_LEN] = "";
    free(m);
    for (;;) {
        outcome o = run_attempt(a, &t, why, sizeof why, result, sizeof result);
        if (o == OUT_CANCELLED)
            return;
        if (o == OUT_DONE) {
            after_success(a, &t, result);
            return;
        }
        bool ring = a->sw->opt.topo == TOPO_RING;
        if (ring && t.attempt < MAX_ATTEMPTS) {
            if (!retry_locally(a, &t, why))
                return;
            continue;
        }
        if (ring)
            give_up_locally(a, &t, why);
        report(a, &t, false, why);
        return;
    }
}

static void answer_help(agent *a, const message *q)
{
    const kind_info *ki = &KINDS[a->kind];
    message *r = message_new(MSG_HELP_REPLY);
    if (!r || !ki->facts[0][0]) {
        free(r);
        return;
    }
    int f = (int)rng_below(&a->rng, 2);
    char summary[KEY_LEN + TEXT_LEN + 16];
    r->task = q->task;
    snprintf(r->key, sizeof r->key, "%s.%s", subj_of(&q->task)->slug,
             ki->facts[f][0]);
    expand(r->text, sizeof r->text, ki->facts[f][1], subj_of(&q->task),
           q->task.number);
    snprintf(summary, sizeof summary, "answer: %s = %s", r->key, r->text);
    agent_send(a, q->from, r, summary);
}

static void learn_from_peer(agent *a, const message *m)
{
    memory_put(&a->mem, m->key, m->text);
    snapshot_memory(a);
    trace_info(a->name, "custom.learned", "learned from %s: %s = %s",
               a->sw->agents[m->from].name, m->key, m->text);
}

/* Ring: results for the coordinator travel on around the ring. */
static void forward_result(agent *a, message *m)
{
    char id[16], summary[TEXT_LEN];
    task_id(id, sizeof id, m->task.id);
    snprintf(summary, sizeof summary, "forward result of %s from %s", id,
             a->sw->agents[m->reporter].name);
    agent_send(a, ring_next(a), m, summary);
}

static void worker_on_message(agent *a, message *m)
{
    char id[16];
    switch (m->kind) {
    case MSG_ASSIGN:
        msgq_push(&a->backlog, m);
        task_id(id, sizeof id, m->task.id);
        trace_debug(a->name, "custom.inbox", "queued %s (%d waiting)", id,
                    a->backlog.len);
        snapshot_agent(a); /* the queue changed: time-travel shows it */
        return;
    case MSG_RESULT:
        if (a->sw->opt.topo == TOPO_RING && m->reporter >= 0) {
            forward_result(a, m);
            return;
        }
        break;
    case MSG_HELP_REQUEST:
        answer_help(a, m);
        break;
    case MSG_HELP_REPLY:
        learn_from_peer(a, m);
        break;
    case MSG_HANDOFF:
        break;
    }
    free(m);
}

static void worker_on_period(agent *a) { snapshot_agent(a); }

static void *worker_main(void *arg)
{
    agent *a = arg;
    uint64_t now = now_us();
    a->next_heartbeat = now + a->sw->heartbeat_us;
    a->next_snapshot = now + SNAPSHOT_EVERY_US;
    trace_agent_start(a->name);
    snapshot_agent(a);
    snapshot_memory(a);
    trace_debug(a->name, "custom.ready", "%s ready, waiting for work",
                KINDS[a->kind].name);
    while (!stopping()) {
        message *m = msgq_pop(&a->backlog);
        if (m)
            work_on(a, m);
        else
            agent_poll(a, SLICE_US);
    }
    atomic_store(&a->alive, false);
    cancel_backlog(a);
    drain_mailbox(a);
    set_status(a, "stopped");
    trace_agent_stop(a->name, stop_reason());
    account_agent_thread();
    return NULL;
}

/* ===================================================================== */
/* The coordinator                                                        */
/* ===================================================================== */

static void coord_snapshots(coord *c, bool force)
{
    uint64_t now = now_us();
    if (!force && (!c->dirty || now < c->next_task_snapshot))
        return;
    c->dirty = false;
    c->next_task_snapshot = now + TASK_SNAPSHOT_GAP_US;
    jbuf j;
    jb_init(&j);
    board_json(&c->sw->board, c->sw, &j);
    trace_snapshot(c->self->name, "task_state", jb_text(&j));
    jb_free(&j);
    snapshot_memory(c->self);
}

static void coord_on_period(agent *a)
{
    snapshot_agent(a);
    coord_snapshots(&a->sw->coord, true);
}

static void announce_topology(swarm *sw)
{
    const char *topo = TOPO_NAMES[sw->opt.topo];
    char seed[24];
    jbuf j;
    snprintf(seed, sizeof seed, "%" PRIu64, sw->opt.seed);
    jb_init(&j);
    jb_open(&j, '{');
    jb_kstr(&j, "topology", topo);
    jb_kstr(&j, "coordinator", sw->agents[0].name);
    jb_key(&j, "agents");
    jb_open(&j, '[');
    for (int i = 0; i < sw->n; i++)
        jb_str(&j, sw->agents[i].name);
    jb_close(&j, ']');
    jb_key(&j, "agentTypes");
    jb_open(&j, '{');
    for (int i = 0; i < sw->n; i++)
        jb_kstr(&j, sw->agents[i].name, KINDS[sw->agents[i].kind].name);
    jb_close(&j, '}');
    jb_kstr(&j, "seed", seed); /* a string: JSON numbers lose 64-bit ints */
    jb_close(&j, '}');
    trace_topology_changed(sw->agents[0].name, topo, jb_text(&j));
    jb_free(&j);
}

static void spawn_workers(coord *c)
{
    swarm *sw = c->sw;
    for (int i = 1; i < sw->n; i++) {
        agent *w = &sw->agents[i];
        trace_agent_spawn(w->name, KINDS[w->kind].name, c->self->name);
        atomic_store(&w->alive, true);
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc == 0) {
            w->started = true;
            continue;
        }
        atomic_store(&w->alive, false);
        free_list(mailbox_close(&w->mbox));
        char msg[TEXT_LEN];
        snprintf(msg, sizeof msg, "could not start %s: pthread_create error %d",
                 w->name, rc);
        trace_agent_error(c->self->name, msg, NULL);
    }
}

static kind pick_root_kind(coord *c)
{
    swarm *sw = c->sw;
    int total = 0;
    for (int k = 0; k < K_COUNT; k++)
        total += sw->present[k] ? KINDS[k].weight : 0;
    int r = rng_range(&c->self->rng, 0, total - 1);
    for (int k = 0; k < K_COUNT; k++) {
        int w = sw->present[k] ? KINDS[k].weight : 0;
        if (r < w)
            return (kind)k;
        r -= w;
    }
    return sw->agents[1].kind;
}

static message *coord_new_task(coord *c, kind k)
{
    message *m = message_new(MSG_ASSIGN);
    if (!m)
        return NULL;
    uint64_t *rng = &c->self->rng;
    fill_task(&m->task, k, (int)rng_below(rng, N_SUBJECTS),
              rng_range(rng, 10, 499), 0, rng);
    publish_task(c->self, &m->task);
    c->dirty = true;
    return m;
}

/* New work waits in the coordinator's queue until an agent has room. */
static void coord_create_work(coord *c)
{
    swarm *sw = c->sw;
    int workers = sw->n - 1;
    if (c->self->backlog.len >= 2 + workers / 8 ||
        board_active(&sw->board) >= 2 * workers)
        return;
    message *m = coord_new_task(c, pick_root_kind(c));
    if (!m)
        return;
    char id[16];
    task_id(id, sizeof id, m->task.id);
    msgq_push(&c->self->backlog, m);
    trace_debug(c->self->name, "custom.planning",
                "queued %s for a %s (%d waiting)", id,
                KINDS[m->task.kind].name, c->self->backlog.len);
}

/* Ring: the coordinator only reaches its successor, so new work enters
 * the ring there and comes back as a result from the last agent. */
static void coord_start_pipeline(coord *c)
{
    swarm *sw = c->sw;
    int limit = sw->n - 1 < RING_IN_FLIGHT ? sw->n - 1 : RING_IN_FLIGHT;
    int loads[MAX_AGENTS];
    board_loads(&sw->board, loads, sw->n);
    if (c->in_flight >= limit || loads[1] >= MAX_LOAD ||
        !is_alive(&sw->agents[1]))
        return;
    message *m = coord_new_task(c, sw->agents[1].kind);
    if (!m)
        return;
    char id[16], decision[TEXT_LEN];
    jbuf j;
    task_id(id, sizeof id, m->task.id);
    snprintf(decision, sizeof decision,
             "start pipeline %s at %s (ring successor)", id,
             sw->agents[1].name);
    jb_init(&j);
    jb_open(&j, '{');
    jb_kstr(&j, "taskId", id);
    jb_kstr(&j, "assignee", sw->agents[1].name);
    jb_kstr(&j, "topology", "ring");
    jb_kint(&j, "inFlight", c->in_flight + 1);
    jb_kint(&j, "ringSize", sw->n);
    jb_close(&j, '}');
    trace_coordination(c->self->name, decision, jb_text(&j));
    jb_free(&j);
    c->in_flight++;
    assign_task(c->self, 1, m);
}

static void assignment_meta(jbuf *j, const swarm *sw, const task *t,
                            int chosen, int avoid, const int *loads)
{
    char id[16];
    task_id(id, sizeof id, t->id);
    jb_open(j, '{');
    jb_kstr(j, "taskId", id);
    jb_kstr(j, "kind", KINDS[t->kind].name);
    jb_kstr(j, "assignee", sw->agents[chosen].name);
    jb_kstr(j, "strategy", "least-loaded");
    jb_kint(j, "attempt", t->attempt);
    jb_kint(j, "maxAttempts", MAX_ATTEMPTS);
    if (avoid > 0)
        jb_kstr(j, "previousAssignee", sw->agents[avoid].name);
    jb_key(j, "candidates");
    jb_open(j, '[');
    for (int i = 1; i < sw->n; i++) {
        if (sw->agents[i].kind != t->kind)
            continue;
        jb_open(j, '{');
        jb_kstr(j, "agent", sw->agents[i].name);
        jb_kint(j, "load", loads[i]);
        jb_kstr(j, "state", is_alive(&sw->agents[i]) ? "up" : "down");
        jb_close(j, '}');
    }
    jb_close(j, ']');
    jb_close(j, '}');
}

/* Takes ownership of m when it returns true. */
static bool coord_assign(coord *c, message *m, int *loads)
{
    swarm *sw = c->sw;
    const task *t = &m->task;
    int who = pick_agent(sw, t->kind, m->avoid, loads, MAX_LOAD,
                         &c->self->rng);
    if (who < 0)
        return false;
    char id[16], decision[TEXT_LEN];
    task_id(id, sizeof id, t->id);
    if (t->attempt > 1)
        snprintf(decision, sizeof decision, "reassign %s to %s (attempt %d/%d)",
                 id, sw->agents[who].name, t->attempt, MAX_ATTEMPTS);
    else
        snprintf(decision, sizeof decision, "assign %s to %s (least loaded %s)",
                 id, sw->agents[who].name, KINDS[t->kind].name);
    jbuf j;
    jb_init(&j);
    assignment_meta(&j, sw, t, who, m->avoid, loads);
    trace_coordination(c->self->name, decision, jb_text(&j));
    jb_free(&j);
    loads[who]++;
    assign_task(c->self, who, m);
    return true;
}

static void coord_assign_pending(coord *c)
{
    agent *self = c->self;
    if (self->backlog.len == 0)
        return;
    int loads[MAX_AGENTS];
    msgq keep = {0};
    message *m;
    board_loads(&c->sw->board, loads, c->sw->n);
    while ((m = msgq_pop(&self->backlog))) {
        if (coord_assign(c, m, loads))
            c->dirty = true;
        else
            msgq_push(&keep, m);
    }
    self->backlog = keep;
}

/* Hierarchical: the coordinator decides what follows a success. */
static void coord_follow_up(coord *c, const task *t)
{
    message *f = message_new(MSG_ASSIGN);
    if (!f)
        return;
    if (!make_followup(c->self, t, KINDS[t->kind].next, &f->task)) {
        free(f);
        return;
    }
    char id[16], next[16];
    task_id(id, sizeof id, t->id);
    task_id(next, sizeof next, f->task.id);
    trace_info(c->self->name, "custom.planning", "%s done; follow-up %s: %s",
               id, next, f->task.desc);
    msgq_push(&c->self->backlog, f);
}

static void retry_meta(jbuf *j, const swarm *sw, const message *m,
                       const char *decision)
{
    char id[16];
    task_id(id, sizeof id, m->task.id);
    jb_open(j, '{');
    jb_kstr(j, "taskId", id);
    jb_kstr(j, "decision", decision);
    jb_kint(j, "attempt", m->task.attempt);
    jb_kint(j, "maxAttempts", MAX_ATTEMPTS);
    jb_kstr(j, "failedOn", sw->agents[m->reporter].name);
    jb_kstr(j, "error", m->text);
    jb_close(j, '}');
}

/* Queues the failed task again, preferably for someone else; keeps m. */
static void coord_retry(coord *c, message *m)
{
    swarm *sw = c->sw;
    char id[16], decision[TEXT_LEN];
    jbuf j;
    task_id(id, sizeof id, m->task.id);
    m->task.attempt++;
    snprintf(decision, sizeof decision, "retry %s (attempt %d/%d) after %s failed",
             id, m->task.attempt, MAX_ATTEMPTS, sw->agents[m->reporter].name);
    jb_init(&j);
    retry_meta(&j, sw, m, "retry");
    trace_coordination(c->self->name, decision, jb_text(&j));
    jb_free(&j);
    trace_warn(c->self->name, "custom.retry", "%s failed on %s: %s", id,
               sw->agents[m->reporter].name, m->text);
    board_set(&sw->board, m->task.id, TS_PENDING, -1, m->task.attempt);
    bump(&g_retried);
    m->kind = MSG_ASSIGN;
    m->avoid = m->reporter;
    msgq_push(&c->self->backlog, m);
}

static void coord_abandon(coord *c, const message *m)
{
    char id[16], decision[TEXT_LEN];
    jbuf j;
    task_id(id, sizeof id, m->task.id);
    snprintf(decision, sizeof decision, "give up on %s after %d attempts", id,
             m->task.attempt);
    jb_init(&j);
    retry_meta(&j, c->sw, m, "abandon");
    trace_coordination(c->self->name, decision, jb_text(&j));
    jb_free(&j);
    trace_warn(c->self->name, "custom.escalation", "%s needs a human: %s", id,
               m->text);
    bump(&g_abandoned);
}

static void coord_note_reliability(coord *c, int who, bool ok)
{
    if (who < 1 || who >= c->sw->n)
        return;
    if (ok)
        c->ok_by[who]++;
    else
        c->bad_by[who]++;
    char key[KEY_LEN], value[64];
    snprintf(key, sizeof key, "reliability.%s", c->sw->agents[who].name);
    snprintf(value, sizeof value, "%d done, %d failed", c->ok_by[who],
             c->bad_by[who]);
    memory_put(&c->self->mem, key, value);
}

static void coord_on_result(coord *c, message *m)
{
    agent *self = c->self;
    coord_note_reliability(c, m->reporter, m->ok);
    if (m->ok)
        self->done++;
    else
        self->failed++;
    if (c->sw->opt.topo == TOPO_RING) {
        if (c->in_flight > 0)
            c->in_flight--; /* the agent already retried or gave up */
    } else if (m->ok) {
        if (c->sw->opt.topo == TOPO_HIERARCHICAL)
            coord_follow_up(c, &m->task);
    } else if (m->task.attempt < MAX_ATTEMPTS) {
        coord_retry(c, m);
        return;
    } else {
        coord_abandon(c, m);
    }
    free(m);
}

/* Star: workers address follow-ups to a peer, but only the hub talks to
 * everyone, so it relays them. */
static void coord_relay(coord *c, message *m)
{
    swarm *sw = c->sw;
    int to = m->target;
    if (to < 1 || to >= sw->n || !is_alive(&sw->agents[to])) {
        int loads[MAX_AGENTS];
        board_loads(&sw->board, loads, sw->n);
        to = pick_agent(sw, m->task.kind, -1, loads, 0, &c->self->rng);
    }
    if (to < 0) {
        board_set(&sw->board, m->task.id, TS_CANCELLED, -1, m->task.attempt);
        bump(&g_cancelled);
        free(m);
        return;
    }
    char id[16], decision[TEXT_LEN];
    jbuf j;
    task_id(id, sizeof id, m->task.id);
    snprintf(decision, sizeof decision, "relay %s from %s to %s", id,
             sw->agents[m->from].name, sw->agents[to].name);
    jb_init(&j);
    jb_open(&j, '{');
    jb_kstr(&j, "taskId", id);
    jb_kstr(&j, "from", sw->agents[m->from].name);
    jb_kstr(&j, "to", sw->agents[to].name);
    jb_kstr(&j, "via", c->self->name);
    jb_kstr(&j, "topology", "star");
    jb_close(&j, '}');
    trace_coordination(c->self->name, decision, jb_text(&j));
    jb_free(&j);
    assign_task(c->self, to, m);
}

static void coord_on_message(agent *a, message *m)
{
    coord *c = &a->sw->coord;
    switch (m->kind) {
    case MSG_RESULT:
        coord_on_result(c, m);
        break;
    case MSG_HANDOFF:
        coord_relay(c, m);
        break;
    case MSG_ASSIGN:
    case MSG_HELP_REQUEST:
    case MSG_HELP_REPLY:
        free(m);
        break;
    }
    c->dirty = true;
    coord_assign_pending(c); /* a result usually frees room for more */
}

/* A big swarm needs work at a faster pace, or most of it would idle. */
static uint64_t create_interval(coord *c)
{
    uint64_t us = scaled_range(c->self, 150, 600);
    int workers = c->sw->n - 1;
    return workers > 5 ? us * 5 / (uint64_t)workers + 1 : us;
}

static void coord_plan(coord *c)
{
    swarm *sw = c->sw;
    uint64_t now = now_us();
    if (now >= c->next_create) {
        if (sw->opt.topo == TOPO_RING)
            coord_start_pipeline(c);
        else
            coord_create_work(c);
        c->next_create = now + create_interval(c);
    }
    coord_assign_pending(c);
    set_status(c->self, board_active(&sw->board) > 0 ? "busy" : "idle");
    coord_snapshots(c, false);
}

static uint64_t coord_wait(const coord *c)
{
    uint64_t now = now_us();
    uint64_t wait = c->next_create > now ? c->next_create - now : 0;
    if (wait < MSEC)
        wait = MSEC;
    return wait < SLICE_US ? wait : SLICE_US;
}

static void coord_shutdown(coord *c)
{
    agent *self = c->self;
    drain_mailbox(self);
    cancel_backlog(self);
    for (int i = 1; i < c->sw->n; i++)
        if (c->sw->agents[i].started)
            pthread_join(c->sw->agents[i].thread, NULL);
    set_status(self, "stopped");
    coord_snapshots(c, true);
    trace_agent_stop(self->name, stop_reason());
}

static void *coordinator_main(void *arg)
{
    coord *c = arg;
    agent *self = c->self;
    swarm *sw = c->sw;
    uint64_t now = now_us();
    self->next_heartbeat = now + sw->heartbeat_us;
    self->next_snapshot = now + SNAPSHOT_EVERY_US;
    c->next_create = now;
    trace_agent_spawn(self->name, KINDS[K_COORDINATOR].name, NULL);
    trace_agent_start(self->name);
    announce_topology(sw);
    snapshot_agent(self);
    snapshot_memory(self);
    spawn_workers(c);
    trace_info(self->name, "custom.planning",
               "swarm of %d agents up, %s topology", sw->n,
               TOPO_NAMES[sw->opt.topo]);
    while (!stopping()) {
        coord_plan(c);
        agent_poll(self, coord_wait(c));
    }
    coord_shutdown(c);
    account_agent_thread();
    return NULL;
}

/* ===================================================================== */
/* Setup                                                                  */
/* ===================================================================== */

static kind worker_kind(int i)
{
    size_t first = sizeof FIRST_KINDS / sizeof FIRST_KINDS[0];
    size_t cycle = sizeof CYCLE_KINDS / sizeof CYCLE_KINDS[0];
    size_t k = (size_t)(i - 1);
    return k < first ? FIRST_KINDS[k] : CYCLE_KINDS[(k - first) % cycle];
}

static int agent_init(swarm *sw, int i, int *per_kind)
{
    agent *a = &sw->agents[i];
    uint64_t seed = sw->opt.seed ^ ((uint64_t)(i + 1) * 0xD1B54A32D192ED03ull);
    a->sw = sw;
    a->index = i;
    a->kind = i == 0 ? K_COORDINATOR : worker_kind(i);
    if (i == 0)
        snprintf(a->name, sizeof a->name, "coordinator");
    else
        snprintf(a->name, sizeof a->name, "%s-%d", KINDS[a->kind].name,
                 ++per_kind[a->kind]);
    a->rng = splitmix64(&seed) | 1; /* xorshift must not start at 0 */
    a->status = "idle";
    a->on_message = i == 0 ? coord_on_message : worker_on_message;
    a->on_period = i == 0 ? coord_on_period : worker_on_period;
    atomic_init(&a->alive, i == 0);
    sw->present[a->kind] = true;
    return mailbox_init(&a->mbox);
}

static void swarm_free(swarm *sw, int initialised)
{
    for (int i = 0; i < initialised; i++) {
        free_list(sw->agents[i].backlog.head);
        mailbox_destroy(&sw->agents[i].mbox);
    }
    pthread_mutex_destroy(&sw->board.mu);
    free(sw->agents);
    free(sw);
}

static swarm *swarm_new(const options *opt)
{
    swarm *sw = calloc(1, sizeof *sw);
    if (!sw)
        return NULL;
    sw->opt = *opt;
    sw->n = opt->agents;
    double hb = (double)SEC / opt->speed;
    sw->heartbeat_us = hb < 100.0 * MSEC ? 100u * MSEC
                       : hb > 5.0 * SEC  ? 5u * SEC
                                         : (uint64_t)hb;
    sw->agents = calloc((size_t)sw->n, sizeof *sw->agents);
    if (!sw->agents || pthread_mutex_init(&sw->board.mu, NULL) != 0) {
        free(sw->agents);
        free(sw);
        return NULL;
    }
    int per_kind[K_COUNT] = {0};
    for (int i = 0; i < sw->n; i++) {
        if (agent_init(sw, i, per_kind) != 0) {
            swarm_free(sw, i);
            return NULL;
        }
    }
    sw->coord.self = &sw->agents[0];
    sw->coord.sw = sw;
    return sw;
}

/* ===================================================================== */
/* Command line                                                           */
/* ===================================================================== */

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: swarm-demo [--agents N] [--duration SECONDS]\n"
        "                  [--topology hierarchical|mesh|ring|star]\n"
        "                  [--seed S] [--speed X] [--tools-compute] [--quiet]\n"
        "\n"
        "Runs a simulated multi-agent swarm (a coordinator plus N-1 agents,\n"
        "one thread each) and records everything it does with libtrace.\n"
        "\n"
        "  --agents N          agents including the coordinator, %d..%d (default %d)\n"
        "  --duration SECONDS  how long to run; 0 = until SIGINT/SIGTERM (default 10)\n"
        "  --topology T        hierarchical, mesh, ring or star (default hierarchical)\n"
        "  --seed S            seed for a reproducible run (default: from the clock)\n"
        "  --speed X           pace of work, 0.01..1000; e.g. 20 for tests (default 1)\n"
        "  --tools-compute     tool steps (builds, tests) use the CPU for their\n"
        "                      duration, as local tools do; LLM steps stay waits\n"
        "  --quiet             no progress lines on stderr\n"
        "  --help              show this help\n"
        "\n"
        "Tracing is configured by the environment (TRACE_COLLECTOR_URL,\n"
        "TRACE_ID, TRACE_SAMPLING_RATE, ...). The last line on stdout is\n"
        "  swarm-demo: trace=ID agents=N recorded=R sent=S sampled_out=O dropped=D\n"
        "             steps=W (work steps done: think, LLM and tool calls)\n"
        "             agent_cpu_us=A tracing_cpu_us=T (CPU of the agents'\n"
        "             threads, and of libtrace's and ZeroMQ's threads)\n"
        "             compute_us=C (--tools-compute work done, in the\n"
        "             microseconds it is sized by)\n",
        MIN_AGENTS, MAX_AGENTS, DEFAULT_AGENTS);
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    fputs("swarm-demo: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'swarm-demo --help' for more information.\n", stderr);
    return 2;
}

static bool parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return false; /* the negated test also rejects NaN */
    *out = v;
    return true;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9') /* strtoull would accept "-1" and " 1" */
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = (uint64_t)v;
    return true;
}

static bool parse_topology(const char *s, topology *out)
{
    for (size_t i = 0; i < sizeof TOPO_NAMES / sizeof TOPO_NAMES[0]; i++) {
        if (strcmp(s, TOPO_NAMES[i]) == 0) {
            *out = (topology)i;
            return true;
        }
    }
    return false;
}

static uint64_t seed_from_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
                 ((uint64_t)getpid() << 32);
    return splitmix64(&x);
}

static int option_error(int c, const char *arg)
{
    switch (c) {
    case 'a':
        return bad_usage("--agents must be a whole number from %d to %d, not '%s'",
                         MIN_AGENTS, MAX_AGENTS, arg);
    case 'd':
        return bad_usage("--duration must be a number of seconds >= 0, not '%s'",
                         arg);
    case 't':
        return bad_usage("--topology must be hierarchical, mesh, ring or star, "
                         "not '%s'", arg);
    case 's':
        return bad_usage("--seed must be a non-negative 64-bit integer, not '%s'",
                         arg);
    default:
        return bad_usage("--speed must be a number from 0.01 to 1000, not '%s'",
                         arg);
    }
}

static bool apply_option(int c, const char *arg, options *o)
{
    switch (c) {
    case 'a': return parse_int(arg, MIN_AGENTS, MAX_AGENTS, &o->agents);
    case 'd': return parse_double(arg, 0.0, 1e7, &o->duration);
    case 't': return parse_topology(arg, &o->topo);
    case 's': return parse_u64(arg, &o->seed);
    case 'x': return parse_double(arg, 0.01, 1000.0, &o->speed);
    default: return false;
    }
}

/* Returns -1 to go on, or the exit status. */
static int parse_options(int argc, char **argv, options *o)
{
    static const struct option longopts[] = {
        {"agents", required_argument, NULL, 'a'},
        {"duration", required_argument, NULL, 'd'},
        {"topology", required_argument, NULL, 't'},
        {"seed", required_argument, NULL, 's'},
        {"speed", required_argument, NULL, 'x'},
        {"tools-compute", no_argument, NULL, 'c'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool seeded = false;
    int c;
    *o = (options){.agents = DEFAULT_AGENTS, .duration = 10.0,
                   .topo = TOPO_HIERARCHICAL, .speed = 1.0};
    opterr = 0; /* our own messages, and exit status 2 */
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        const char *opt = argv[optind - 1];
        switch (c) {
        case 'h':
            usage(stdout);
            return 0;
        case 'q':
            o->quiet = true;
            break;
        case 'c':
            o->tools_compute = true;
            break;
        case ':':
            return bad_usage("option '%s' needs a value", opt);
        case '?':
            if (optopt == 'q' || optopt == 'h')
                return bad_usage("option '%s' takes no value", opt);
            if (strncmp(opt, "--", 2) == 0 || !optopt)
                return bad_usage("unknown option '%s'", opt);
            return bad_usage("unknown option '-%c'", optopt);
        default:
            if (!apply_option(c, optarg, o))
                return option_error(c, optarg);
            seeded |= c == 's';
        }
    }
    if (optind < argc)
        return bad_usage("unexpected argument '%s'", argv[optind]);
    if (!seeded)
        o->seed = seed_from_clock();
    return -1;
}

/* ===================================================================== */
/* Main                                                                   */
/* ===================================================================== */

static int install_signal_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    return 0;
}

static void report_progress(swarm *sw, uint64_t elapsed_us)
{
    int c[TS_COUNT];
    board_tally(&sw->board, c);
    fprintf(stderr,
            "swarm-demo: [%5.1fs] tasks %" PRIu64 " done, %" PRIu64
            " failed (%" PRIu64 " retried, %" PRIu64 " abandoned), %d running,"
            " %d waiting | messages %" PRIu64 " sent, %" PRIu64
            " received | agent errors %" PRIu64 "\n",
            (double)elapsed_us / SEC, tally(&g_done), tally(&g_failed),
            tally(&g_retried), tally(&g_abandoned), atomic_load(&g_running),
            c[TS_PENDING] + c[TS_RETRYING] + c[TS_ASSIGNED], tally(&g_sent),
            tally(&g_received), tally(&g_faults));
}

/* The main thread only keeps time; the swarm runs on its own threads. */
static uint64_t run_clock(swarm *sw)
{
    uint64_t start = now_us();
    uint64_t end = sw->opt.duration > 0
                       ? start + (uint64_t)(sw->opt.duration * SEC)
                       : UINT64_MAX;
    uint64_t next_report = start + SEC;
    while (atomic_load(&g_signal) == 0) {
        uint64_t now = now_us();
        if (now >= end)
            break;
        if (!sw->opt.quiet && now >= next_report) {
            report_progress(sw, now - start);
            next_report += SEC;
        }
        uint64_t nap = 20u * MSEC;
        sleep_us(end - now < nap ? end - now : nap);
    }
    atomic_store(&g_stop, true);
    return now_us() - start;
}

static void announce(const options *o)
{
    char duration[32];
    if (o->duration > 0)
        snprintf(duration, sizeof duration, "for %g s", o->duration);
    else
        snprintf(duration, sizeof duration, "until interrupted");
    fprintf(stderr,
            "swarm-demo: %d agents, %s topology, seed %" PRIu64
            ", speed %g, running %s\n",
            o->agents, TOPO_NAMES[o->topo], o->seed, o->speed, duration);
}

static void summarize(const options *o, uint64_t ran_us, const trace_stats *st)
{
    if (o->quiet)
        return;
    fprintf(stderr,
            "swarm-demo: stopped after %.1f s (%s): %" PRIu64 " tasks created, %"
            PRIu64 " done, %"
            PRIu64 " failed attempts, %" PRIu64 " abandoned, %" PRIu64
            " cancelled, %" PRIu64 " messages, %" PRIu64 " agent errors\n",
            (double)ran_us / SEC, stop_reason(), tally(&g_created), tally(&g_done),
            tally(&g_failed), tally(&g_abandoned), tally(&g_cancelled),
            tally(&g_sent), tally(&g_faults));
    fprintf(stderr,
            "swarm-demo: events recorded %" PRIu64 ", sent %" PRIu64
            " in %" PRIu64 " batches, sampled out %" PRIu64
            ", dropped %" PRIu64 " (ring full) + %" PRIu64 " (transport) + %"
            PRIu64 " (too large)\n",
            st->recorded, st->sent, st->batches_sent, st->sampled_out,
            st->dropped_ring_full, st->dropped_transport,
            st->dropped_too_large);
}

int main(int argc, char **argv)
{
    options opt;
    int rc = parse_options(argc, argv, &opt);
    if (rc >= 0)
        return rc;
    if (install_signal_handlers() != 0) {
        perror("swarm-demo: sigaction");
        return 1;
    }
    bool tracing = trace_init(NULL) == 0;
    if (!tracing)
        fprintf(stderr, "swarm-demo: warning: trace_init failed; "
                        "running with tracing off\n");
    swarm *sw = swarm_new(&opt);
    pthread_t coordinator;
    if (!sw || pthread_create(&coordinator, NULL, coordinator_main,
                              &sw->coord) != 0) {
        fprintf(stderr, "swarm-demo: cannot set up the swarm\n");
        if (sw)
            swarm_free(sw, sw->n);
        if (tracing)
            trace_shutdown();
        return 1;
    }
    if (!opt.quiet)
        announce(&opt);
    uint64_t ran_us = run_clock(sw);
    pthread_join(coordinator, NULL);

    /* The id may not outlive trace_shutdown(); the stats do. */
    char trace_id[256];
    const char *id = trace_current_trace_id();
    copy_str(trace_id, sizeof trace_id, id && *id ? id : "none");
    uint64_t tracing_cpu_ns = tracing_threads_cpu_ns();
    if (tracing)
        trace_shutdown();
    trace_stats st;
    memset(&st, 0, sizeof st);
    trace_get_stats(&st);

    summarize(&opt, ran_us, &st);
    printf("swarm-demo: trace=%s agents=%d recorded=%" PRIu64 " sent=%" PRIu64
           " sampled_out=%" PRIu64 " dropped=%" PRIu64 " steps=%" PRIu64
           " agent_cpu_us=%" PRIu64 " tracing_cpu_us=%" PRIu64
           " compute_us=%" PRIu64 " batches=%" PRIu64 "\n",
           trace_id, opt.agents, st.recorded, st.sent, st.sampled_out,
           st.dropped_ring_full + st.dropped_transport + st.dropped_too_large +
               st.dropped_invalid,
           tally(&g_steps), tally(&g_agent_cpu_ns) / 1000, tracing_cpu_ns / 1000,
           tally(&g_compute_iters) / COMPUTE_ITERS_PER_US, st.batches_sent);
    fflush(stdout);
    swarm_free(sw, sw->n);
    return 0;
}
