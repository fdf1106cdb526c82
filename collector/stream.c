/*
 * stream.c — WebSocket /ws: live fan-out of committed events.
 *
 * The writer hands each StreamMessage (JSON text) to stream_publish(),
 * which only queues it: the writer never waits on a browser. The stream
 * thread fans every message out to the clients, each through its own
 * filter (trace, agent, event type, minimum level: set in the URL or by a
 * {"type":"subscribe"} message) into that client's bounded queue, and
 * hands the clients it fed to a small pool of sender threads. A client
 * whose queue fills (a stalled browser) loses its lowest priority
 * messages first (routine events before trace starts and ends, errors
 * last), counted. A client connecting with ?since=SEQ first gets every
 * stored event after SEQ from SQLite (catch-up); clients drop duplicate
 * seqs, since catch-up and live delivery may overlap.
 *
 * Why a pool and not a thread per client: a thousand viewers with narrow
 * filters each get a message now and then, and a thread each meant ten
 * thousand wake-ups a second at 10 000 events/s: the machine spent its
 * time switching threads and the viewers who take everything waited
 * behind them (p99 ~400 ms). Pool threads take a ready client, write
 * what it has queued, and move on. A write to a browser that stopped
 * reading blocks once its socket buffer is full (civetweb offers no
 * non-blocking write), so the stream thread watches the pool: a sender
 * stuck in one write past SENDER_STUCK_MS is replaced by a new thread,
 * and the extra thread leaves once the pool has enough free ones again.
 * A write that fails (civetweb gives up after request_timeout_ms) marks
 * the client broken: the frame went out torn, so nothing more is sent.
 *
 * Ownership: a ws_msg is shared by every queue it sits in (refcounted); a
 * ws_client belongs to the stream from civetweb's ready callback until its
 * close callback, which unlinks it from the pool (waiting out a sender
 * that is writing to it) before freeing it.
 */
#include <civetweb.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collector.h"

#define STREAM_QUEUE_MAX 4096     /* published, not yet fanned out */
#define CLIENT_QUEUE_MAX 10000    /* per client (the spec's queueSize) */
#define CLIENT_DROP_AT 8000       /* then lowest priority first (dropThreshold) */
#define CLIENT_MAX_BYTES (32u << 20) /* or past this much queued text */
#define CLIENT_BURST 500          /* messages per rate window (burstCapacity) */
#define CLIENT_WINDOW_MS 100      /* the rate window (rateLimitMs) */
#define STREAM_HEARTBEAT_S 10
#define STREAM_CATCHUP_PAGE 500
#define SENDERS 4                 /* pool threads free to write */
#define SENDERS_MAX 256           /* with replacements for stuck ones */
#define SENDER_STUCK_MS 50        /* one write this long: replace the sender */
#define SENDER_TAKE 64            /* messages per turn: fairness between clients */

typedef struct ws_msg {
    _Atomic int refs;
    int prio; /* 1 error ... 5 heartbeat: higher goes first when full */
    size_t len;
    char text[];
} ws_msg;

/* Where a client stands with the sender pool (under the pool lock). */
enum { CLIENT_IDLE, CLIENT_READY, CLIENT_DEFERRED, CLIENT_SENDING };

typedef struct ws_client {
    struct mg_connection *conn;
    pthread_mutex_t lock; /* guards the queue, the filter and the flags */
    ws_msg **q;
    size_t head, len, bytes; /* bytes: of the queued messages' text */
    ws_filter f;
    uint64_t fkey; /* hash of f: clients with equal filters share a result */
    int closing;
    int broken; /* a write failed: the socket carries a torn frame */
    uint64_t dropped;
    /* the pool's: state and links under the pool lock; the rate window
     * only by the one sender that holds the client (CLIENT_SENDING) */
    int state;
    struct ws_client *prev_ready, *next_ready;
    uint64_t window_ms, not_before_ms;
    int sent_in_window;
    struct ws_client *next; /* the stream's list, under the stream lock */
} ws_client;

/* A pool thread. busy_since: when its current write began (0: none),
 * read by the watchdog without the lock. */
typedef struct sender {
    struct sender_pool *pool;
    pthread_t thread;
    _Atomic uint64_t busy_since;
    int done; /* left the pool: to be joined */
    struct sender *next;
} sender;

/* Invariant: a client is in `ready` iff its state is CLIENT_READY, in
 * `deferred` iff CLIENT_DEFERRED; a CLIENT_SENDING client is held by
 * exactly one sender, and nobody else writes to it or changes its state. */
typedef struct client_list {
    ws_client *head, *tail;
} client_list;

typedef struct sender_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;     /* a client is ready, or stopping */
    pthread_cond_t released; /* a client left CLIENT_SENDING */
    client_list ready, deferred;
    sender *senders;
    int threads;  /* started and not done */
    int stopping;
    _Atomic int writing; /* senders inside a write: the watchdog's cue */
} sender_pool;

struct stream {
    db_pool *pool;
    const char *token;
    int max_clients;
    _Atomic int nclients; /* counted at connect, so the limit holds early */
    _Atomic int listed;   /* clients in the list: the writer asks, lock-free */
    /* Two locks, so the writer never waits for a fan-out: `lock` guards
     * only the publish queue (the writer's side), `clients_lock` the
     * client list the fan-out walks (a thousand filters take a while). */
    pthread_mutex_t lock;
    pthread_cond_t more;
    pthread_mutex_t clients_lock;
    ws_client *clients;
    char *queue[STREAM_QUEUE_MAX];
    size_t qhead, qlen;
    uint64_t dropped; /* published messages dropped: fan-out fell behind */
    int stopping;
    pthread_t thread;
    sender_pool senders;
};

/* ---- messages ---- */

static ws_msg *msg_new(const char *text, size_t len, int prio) {
    ws_msg *m = malloc(sizeof *m + len + 1);
    if (!m) return NULL;
    atomic_init(&m->refs, 1);
    m->prio = prio;
    m->len = len;
    memcpy(m->text, text, len + 1);
    return m;
}

static void msg_unref(ws_msg *m) {
    if (m && atomic_fetch_sub(&m->refs, 1) == 1) free(m);
}

/* json_stream_message() writes "type" first, so no parse is needed. */
static int msg_priority(const char *text) {
    if (!strncmp(text, "{\"type\":\"error\"", 15)) return 1;
    if (!strncmp(text, "{\"type\":\"trace_event\"", 21))
        return strstr(text, "\"level\":\"error\"") ? 1 : 4;
    if (!strncmp(text, "{\"type\":\"heartbeat\"", 19)) return 5;
    return 2; /* trace_start, trace_end */
}

/* ---- filters ---- */

static int filter_all(const ws_filter *f) {
    return !f->trace[0] && !f->agent[0] && !f->type[0] && f->min_level <= 0;
}

static int filter_event(const ws_filter *f, const cJSON *e) {
    const char *agent = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "agentId"));
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "eventType"));
    const char *level = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "level"));
    if (f->agent[0] && (!agent || strcmp(agent, f->agent))) return 0;
    if (f->type[0] && (!type || (f->type_prefix ? strncmp(type, f->type, strlen(f->type))
                                                : strcmp(type, f->type))))
        return 0;
    if (f->min_level > 0 && (!level || params_level(level) < f->min_level)) return 0;
    return 1;
}

/* What the fan-out learns of a message once, for every client's filter:
 * parsed on the first filter that needs it, then each event's agent, type
 * and level, so a thousand filters cost string compares, not a thousand
 * walks of the JSON (that walk, under load, made the fan-out fall
 * seconds behind). */
typedef struct fan_msg {
    ws_msg *m;
    int tried;
    cJSON *parsed;
    const char *trace, *type;
    const cJSON *payload;
    int n;
    const cJSON **ev;
    const char **agent, **etype;
    int *level;
} fan_msg;

static int fan_prepare(fan_msg *fm) {
    if (fm->tried) return fm->parsed != NULL;
    fm->tried = 1;
    fm->parsed = cJSON_Parse(fm->m->text); /* ours: nesting bounded at ingest */
    if (!fm->parsed) return 0;
    fm->trace = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(fm->parsed, "traceId"));
    fm->type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(fm->parsed, "type"));
    fm->payload = cJSON_GetObjectItemCaseSensitive(fm->parsed, "payload");
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(fm->payload, "events");
    int n = cJSON_GetArraySize(events);
    fm->ev = calloc((size_t)(n ? n : 1), sizeof *fm->ev + 2 * sizeof(char *) + sizeof(int));
    if (!fm->ev) return 1; /* n stays 0: no event passes a narrow filter */
    fm->agent = (const char **)(fm->ev + n);
    fm->etype = fm->agent + n;
    fm->level = (int *)(fm->etype + n);
    const cJSON *e;
    cJSON_ArrayForEach(e, events) {
        const char *level = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "level"));
        fm->ev[fm->n] = e;
        fm->agent[fm->n] = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "agentId"));
        fm->etype[fm->n] = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "eventType"));
        fm->level[fm->n++] = level ? params_level(level) : -1;
    }
    return 1;
}

static void fan_free(fan_msg *fm) {
    cJSON_Delete(fm->parsed);
    free(fm->ev);
}

static int fan_event_passes(const ws_filter *f, const fan_msg *fm, int i) {
    const char *agent = fm->agent[i], *type = fm->etype[i];
    if (f->agent[0] && (!agent || strcmp(agent, f->agent))) return 0;
    if (f->type[0] && (!type || (f->type_prefix ? strncmp(type, f->type, strlen(f->type))
                                                : strcmp(type, f->type))))
        return 0;
    return f->min_level <= 0 || fm->level[i] >= f->min_level;
}

static ws_msg *msg_shared(ws_msg *m) {
    atomic_fetch_add(&m->refs, 1);
    return m;
}

/* The part of a message this client wants: the shared message, a new
 * filtered one, or NULL. */
static ws_msg *filter_message(const ws_filter *f, fan_msg *fm) {
    if (filter_all(f)) return msg_shared(fm->m);
    if (!fan_prepare(fm)) return NULL;
    if (f->trace[0] && fm->trace && strcmp(fm->trace, f->trace)) return NULL;
    if (!fm->type || strcmp(fm->type, "trace_event") ||
        (!f->agent[0] && !f->type[0] && f->min_level <= 0))
        return msg_shared(fm->m);
    cJSON *kept = NULL;
    double last = 0;
    for (int i = 0; i < fm->n; i++) {
        if (!fan_event_passes(f, fm, i)) continue;
        if (!kept) kept = cJSON_CreateArray();
        cJSON_AddItemToArray(kept, cJSON_Duplicate(fm->ev[i], 1));
        last = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(fm->ev[i], "seq"));
    }
    if (!kept) return NULL;
    cJSON *np = cJSON_CreateObject();
    cJSON_AddItemToObject(np, "events", kept);
    cJSON *bid = cJSON_GetObjectItemCaseSensitive(fm->payload, "batchId");
    cJSON_AddStringToObject(np, "batchId", cJSON_IsString(bid) ? bid->valuestring : "");
    json_add_int(np, "sequenceNumber", (int64_t)last);
    char *text = json_stream_message("trace_event", fm->trace, np);
    ws_msg *out = text ? msg_new(text, strlen(text), msg_priority(text)) : NULL;
    free(text);
    return out;
}

/* ---- a client's queue and sender ---- */

/* Drop one queued message less important than m (the oldest of the
 * lowest priority); 0 if there is none. Under c->lock. */
static int client_drop_below(ws_client *c, const ws_msg *m) {
    size_t victim = SIZE_MAX;
    int worst = m->prio;
    for (size_t i = 0; i < c->len; i++) {
        ws_msg *q = c->q[(c->head + i) % CLIENT_QUEUE_MAX];
        if (q->prio > worst) {
            worst = q->prio;
            victim = i;
        }
    }
    if (victim == SIZE_MAX) return 0;
    size_t at = (c->head + victim) % CLIENT_QUEUE_MAX;
    c->bytes -= c->q[at]->len;
    msg_unref(c->q[at]);
    for (size_t i = victim; i + 1 < c->len; i++) /* close the gap */
        c->q[(c->head + i) % CLIENT_QUEUE_MAX] = c->q[(c->head + i + 1) % CLIENT_QUEUE_MAX];
    c->len--;
    c->dropped++;
    return 1;
}

/* Past the drop threshold, or the byte budget, less important messages
 * go first (or the new one, if nothing queued is less important). The
 * byte budget matters for clients that take everything: 8000 batches of
 * 100 events are ~250 MB a stalled browser would otherwise pin. Under
 * c->lock. */
static void client_push(ws_client *c, ws_msg *m) {
    while (c->len && (c->len >= CLIENT_DROP_AT || c->bytes + m->len > CLIENT_MAX_BYTES)) {
        if (!client_drop_below(c, m)) {
            c->dropped++;
            msg_unref(m);
            return;
        }
    }
    c->q[(c->head + c->len) % CLIENT_QUEUE_MAX] = m;
    c->len++;
    c->bytes += m->len;
}

static uint64_t stream_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A CLOCK_REALTIME deadline `ms` from now, for pthread_cond_timedwait. */
static struct timespec stream_deadline_in(long ms) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* ---- the sender pool ---- */

static void list_append(client_list *l, ws_client *c) {
    c->next_ready = NULL;
    c->prev_ready = l->tail;
    if (l->tail) l->tail->next_ready = c;
    else l->head = c;
    l->tail = c;
}

static void list_remove(client_list *l, ws_client *c) {
    if (c->prev_ready) c->prev_ready->next_ready = c->next_ready;
    else l->head = c->next_ready;
    if (c->next_ready) c->next_ready->prev_ready = c->prev_ready;
    else l->tail = c->prev_ready;
    c->prev_ready = c->next_ready = NULL;
}

/* A client with something queued goes to the pool, unless a sender
 * already has it or it waits there. Under the pool lock. */
static void pool_schedule_locked(sender_pool *p, ws_client *c) {
    if (c->state != CLIENT_IDLE) return;
    c->state = CLIENT_READY;
    list_append(&p->ready, c);
    pthread_cond_signal(&p->work);
}

/* Rate-limited clients whose window has come round go back to ready;
 * returns ms until the next one is due (-1: none waits). Under the lock. */
static long pool_release_deferred(sender_pool *p, uint64_t now) {
    long next = -1;
    for (ws_client *c = p->deferred.head, *n; c; c = n) {
        n = c->next_ready;
        if (c->not_before_ms <= now) {
            list_remove(&p->deferred, c);
            c->state = CLIENT_READY;
            list_append(&p->ready, c);
        } else if (next < 0 || (long)(c->not_before_ms - now) < next) {
            next = (long)(c->not_before_ms - now);
        }
    }
    return next;
}

/* Senders not inside a long write: the ones free to take work. */
static int pool_free_senders(sender_pool *p, uint64_t now) {
    int n = 0;
    for (sender *t = p->senders; t; t = t->next) {
        uint64_t since = atomic_load(&t->busy_since);
        if (!t->done && (!since || now - since < SENDER_STUCK_MS)) n++;
    }
    return n;
}

/* The next client to serve, marked CLIENT_SENDING; NULL when the pool
 * stops or this thread is one too many. Under the lock. */
static ws_client *pool_take(sender_pool *p, sender *self) {
    for (;;) {
        if (p->stopping) return NULL;
        uint64_t now = stream_now_ms();
        long wait_ms = pool_release_deferred(p, now);
        if (p->threads > SENDERS && pool_free_senders(p, now) > SENDERS) {
            self->done = 1; /* a replacement's stuck sender came back */
            p->threads--;
            atomic_fetch_sub(&g_stats.ws_sender_threads, 1);
            return NULL;
        }
        ws_client *c = p->ready.head;
        if (c) {
            list_remove(&p->ready, c);
            c->state = CLIENT_SENDING;
            if (p->ready.head) pthread_cond_signal(&p->work); /* more: wake a peer */
            return c;
        }
        if (wait_ms < 0) {
            pthread_cond_wait(&p->work, &p->lock);
        } else {
            struct timespec until = stream_deadline_in(wait_ms);
            pthread_cond_timedwait(&p->work, &p->lock, &until);
        }
    }
}

/* How many of c's messages this turn may send: the spec's rate limit (a
 * burst per window) and SENDER_TAKE for fairness. 0: wait for the next
 * window, c->not_before_ms says when. Only c's sender calls this. */
static size_t client_budget(ws_client *c, uint64_t now) {
    if (now - c->window_ms >= CLIENT_WINDOW_MS) {
        c->window_ms = now;
        c->sent_in_window = 0;
    }
    int left = CLIENT_BURST - c->sent_in_window;
    if (left <= 0) {
        c->not_before_ms = c->window_ms + CLIENT_WINDOW_MS;
        return 0;
    }
    return left < SENDER_TAKE ? (size_t)left : SENDER_TAKE;
}

/* Take up to `n` of c's queued messages; a closing or broken client's
 * queue is emptied instead (the broken one's counted as dropped). */
static size_t client_take(ws_client *c, ws_msg **out, size_t n) {
    size_t k = 0;
    pthread_mutex_lock(&c->lock);
    if (c->closing || c->broken) {
        if (c->broken) c->dropped += c->len;
        n = 0;
        while (c->len) {
            msg_unref(c->q[c->head]);
            c->head = (c->head + 1) % CLIENT_QUEUE_MAX;
            c->len--;
        }
        c->bytes = 0;
    }
    for (; k < n && c->len; k++) {
        out[k] = c->q[c->head];
        c->head = (c->head + 1) % CLIENT_QUEUE_MAX;
        c->len--;
        c->bytes -= out[k]->len;
    }
    pthread_mutex_unlock(&c->lock);
    return k;
}

/* Write the messages in order; a failed or short write breaks the client. */
static void client_write(sender_pool *p, sender *self, ws_client *c, ws_msg **m, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int ok = 0;
        if (!c->broken) {
            atomic_fetch_add(&p->writing, 1);
            atomic_store(&self->busy_since, stream_now_ms());
            ok = mg_websocket_write(c->conn, MG_WEBSOCKET_OPCODE_TEXT, m[i]->text, m[i]->len) ==
                 (int)m[i]->len;
            atomic_store(&self->busy_since, 0);
            atomic_fetch_sub(&p->writing, 1);
            if (ok) {
                atomic_fetch_add(&g_stats.ws_messages_sent, 1);
            } else {
                pthread_mutex_lock(&c->lock);
                c->broken = 1;
                pthread_mutex_unlock(&c->lock);
                log_msg("warn", "ws: a write to a client failed or timed out: sending it nothing more");
            }
        }
        if (!ok) {
            pthread_mutex_lock(&c->lock);
            c->dropped++;
            pthread_mutex_unlock(&c->lock);
        }
        msg_unref(m[i]);
    }
}

/* After a turn: back to ready if more is queued (behind the others), to
 * deferred if over its rate, else idle. Under the pool lock, so a message
 * queued meanwhile either is seen here or schedules the client itself. */
static void pool_return_locked(sender_pool *p, ws_client *c, int over_rate) {
    pthread_mutex_lock(&c->lock);
    int more = c->len && !c->closing && !c->broken;
    pthread_mutex_unlock(&c->lock);
    if (more && over_rate) {
        c->state = CLIENT_DEFERRED;
        list_append(&p->deferred, c);
        pthread_cond_signal(&p->work); /* someone must time the window */
    } else if (more) {
        c->state = CLIENT_READY;
        list_append(&p->ready, c);
        pthread_cond_signal(&p->work);
    } else {
        c->state = CLIENT_IDLE;
    }
    pthread_cond_broadcast(&p->released);
}

static void *sender_main(void *arg) {
    sender *self = arg;
    sender_pool *p = self->pool;
    pthread_mutex_lock(&p->lock);
    for (ws_client *c; (c = pool_take(p, self));) {
        pthread_mutex_unlock(&p->lock);
        ws_msg *batch[SENDER_TAKE];
        size_t budget = client_budget(c, stream_now_ms());
        size_t n = client_take(c, batch, budget);
        c->sent_in_window += (int)n;
        client_write(p, self, c, batch, n);
        pthread_mutex_lock(&p->lock);
        pool_return_locked(p, c, budget == 0);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Under the pool lock. */
static int pool_add_sender(sender_pool *p) {
    sender *t = calloc(1, sizeof *t);
    if (!t) return -1;
    t->pool = p;
    t->next = p->senders;
    p->senders = t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int rc = pthread_create(&t->thread, &attr, sender_main, t);
    pthread_attr_destroy(&attr);
    if (rc) {
        p->senders = t->next;
        free(t);
        return -1;
    }
    p->threads++;
    atomic_fetch_add(&g_stats.ws_sender_threads, 1);
    return 0;
}

/* The watchdog, run by the stream thread: replace senders stuck in a
 * write, and join the ones that left. */
static void pool_check(sender_pool *p) {
    pthread_mutex_lock(&p->lock);
    for (sender **pp = &p->senders; *pp;) {
        sender *t = *pp;
        if (t->done) {
            *pp = t->next;
            pthread_join(t->thread, NULL); /* it has left pool_take: returns at once */
            free(t);
        } else {
            pp = &t->next;
        }
    }
    if (!p->stopping && p->threads < SENDERS_MAX &&
        pool_free_senders(p, stream_now_ms()) < SENDERS) {
        if (pool_add_sender(p)) log_msg("warn", "ws: cannot start a sender thread");
        else atomic_fetch_add(&g_stats.ws_stuck_writes, 1);
    }
    pthread_mutex_unlock(&p->lock);
}

static int pool_start(sender_pool *p) {
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->released, NULL);
    pthread_mutex_lock(&p->lock);
    int rc = 0;
    for (int i = 0; i < SENDERS && !rc; i++) rc = pool_add_sender(p);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

/* Take c out of the pool for good: after this no sender holds it or will.
 * c must already be off the stream's client list (nobody schedules it). */
static void pool_forget(sender_pool *p, ws_client *c) {
    pthread_mutex_lock(&p->lock);
    while (c->state == CLIENT_SENDING) pthread_cond_wait(&p->released, &p->lock);
    if (c->state == CLIENT_READY) list_remove(&p->ready, c);
    if (c->state == CLIENT_DEFERRED) list_remove(&p->deferred, c);
    c->state = CLIENT_IDLE;
    pthread_mutex_unlock(&p->lock);
}

/* After mg_stop(): no connection is left to write to. */
static void pool_stop(sender_pool *p) {
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (sender *t = p->senders, *n; t; t = n) {
        n = t->next;
        pthread_join(t->thread, NULL);
        free(t);
    }
    p->senders = NULL;
    atomic_store(&g_stats.ws_sender_threads, 0);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->released);
}

/* ---- fan-out ---- */

int stream_has_clients(stream *s) { return atomic_load(&s->listed) > 0; }

void stream_publish(stream *s, char *json) {
    pthread_mutex_lock(&s->lock);
    if (s->qlen == STREAM_QUEUE_MAX) { /* oldest goes: live view wants now */
        free(s->queue[s->qhead]);
        s->qhead = (s->qhead + 1) % STREAM_QUEUE_MAX;
        s->qlen--;
        s->dropped++;
    }
    s->queue[(s->qhead + s->qlen) % STREAM_QUEUE_MAX] = json;
    s->qlen++;
    pthread_cond_signal(&s->more);
    pthread_mutex_unlock(&s->lock);
}

/* Results of this fan-out by filter: the 500 viewers of "errors only"
 * share one filtered message instead of building 500 equal ones.
 * Direct-mapped by the filter's hash; a collision just evicts. (Filters
 * compare bytewise: the parsers zero them before filling them in.) */
#define FAN_MEMO 64
typedef struct fan_memo {
    int used;
    uint64_t key;
    ws_filter f;
    ws_msg *out; /* NULL: this filter wants nothing of the message */
} fan_memo;

static ws_msg *fan_filtered(fan_memo *memo, const ws_client *c, fan_msg *fm) {
    if (filter_all(&c->f)) return msg_shared(fm->m);
    fan_memo *e = &memo[c->fkey % FAN_MEMO];
    if (e->used && e->key == c->fkey && !memcmp(&e->f, &c->f, sizeof c->f))
        return e->out ? msg_shared(e->out) : NULL;
    ws_msg *out = filter_message(&c->f, fm);
    if (e->used) msg_unref(e->out);
    e->used = 1;
    e->key = c->fkey;
    e->f = c->f;
    e->out = out ? msg_shared(out) : NULL;
    return out;
}

/* Hand the fed clients to the pool, one lock for many. Under the
 * clients lock, which keeps them alive. */
static void fan_schedule(sender_pool *p, ws_client **fed, size_t n) {
    if (!n) return;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < n; i++) pool_schedule_locked(p, fed[i]);
    pthread_mutex_unlock(&p->lock);
}

static void stream_fan_out(stream *s, const char *text) {
    ws_msg *m = msg_new(text, strlen(text), msg_priority(text));
    if (!m) return;
    fan_msg fm = {.m = m};
    static fan_memo memo[FAN_MEMO]; /* only the stream thread fans out */
    ws_client *fed[256];
    size_t nfed = 0;
    pthread_mutex_lock(&s->clients_lock);
    for (ws_client *c = s->clients; c; c = c->next) {
        pthread_mutex_lock(&c->lock);
        ws_msg *mine = fan_filtered(memo, c, &fm);
        if (mine) client_push(c, mine);
        pthread_mutex_unlock(&c->lock);
        if (!mine) continue;
        fed[nfed++] = c;
        if (nfed == sizeof fed / sizeof *fed) {
            fan_schedule(&s->senders, fed, nfed);
            nfed = 0;
        }
    }
    fan_schedule(&s->senders, fed, nfed);
    pthread_mutex_unlock(&s->clients_lock);
    for (int i = 0; i < FAN_MEMO; i++) {
        if (memo[i].used) msg_unref(memo[i].out);
        memo[i].used = 0;
    }
    fan_free(&fm);
    msg_unref(m);
}

static void *stream_main(void *arg) {
    stream *s = arg;
    time_t next_beat = time(NULL) + STREAM_HEARTBEAT_S;
    for (;;) {
        pool_check(&s->senders);
        pthread_mutex_lock(&s->lock);
        while (!s->qlen && !s->stopping && time(NULL) < next_beat) {
            struct timespec until = {next_beat, 0};
            if (atomic_load(&s->senders.writing)) /* come back to watch it */
                until = stream_deadline_in(SENDER_STUCK_MS);
            if (pthread_cond_timedwait(&s->more, &s->lock, &until)) break;
        }
        if (s->stopping) {
            pthread_mutex_unlock(&s->lock);
            break;
        }
        char *msg = NULL;
        if (s->qlen) {
            msg = s->queue[s->qhead];
            s->qhead = (s->qhead + 1) % STREAM_QUEUE_MAX;
            s->qlen--;
        }
        pthread_mutex_unlock(&s->lock);
        if (!msg && time(NULL) >= next_beat) {
            msg = json_stream_message("heartbeat", NULL, NULL);
            next_beat = time(NULL) + STREAM_HEARTBEAT_S;
        }
        if (msg) stream_fan_out(s, msg);
        free(msg);
    }
    return NULL;
}

/* ---- catch-up ---- */

static const char *catchup_sql =
    "SELECT e.id, t.name, a.name, ty.name, e.ts, e.level, e.kind, e.span_id, "
    "e.parent_id, e.duration_us, e.count, e.message, e.metadata, e.stack_trace "
    "FROM events e JOIN traces t ON t.id = e.trace_id "
    "JOIN agents a ON a.id = e.agent_id JOIN event_types ty ON ty.id = e.type_id "
    "WHERE e.id > ?1 ORDER BY e.id LIMIT ?2";

static void stream_send_now(struct mg_connection *conn, char *msg) {
    if (msg) mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_TEXT, msg, strlen(msg));
    free(msg);
}

static void stream_flush_page(struct mg_connection *conn, cJSON *events,
                              const char *trace, int64_t last_seq) {
    cJSON *payload = cJSON_CreateObject();
    cJSON_AddItemToObject(payload, "events", events);
    cJSON_AddStringToObject(payload, "batchId", "catch-up");
    json_add_int(payload, "sequenceNumber", last_seq);
    stream_send_now(conn, json_stream_message("trace_event", trace, payload));
}

/* Replay stored events after `since` that pass the filter, grouped by
 * trace in commit order. */
static void stream_catch_up(stream *s, struct mg_connection *conn,
                            const ws_filter *f, int64_t since) {
    sqlite3 *db = db_pool_get(s->pool);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, catchup_sql, -1, &st, NULL) != SQLITE_OK) {
        db_pool_put(s->pool, db);
        return;
    }
    for (int more = 1; more;) {
        sqlite3_bind_int64(st, 1, since);
        sqlite3_bind_int(st, 2, STREAM_CATCHUP_PAGE);
        cJSON *events = NULL;
        char trace[WIRE_MAX_NAME + 1] = "";
        int rows = 0;
        int64_t last = since;
        while (sqlite3_step(st) == SQLITE_ROW) {
            event_row r;
            event_row_from_stmt(st, &r);
            since = r.seq;
            rows++;
            if (f->trace[0] && strcmp(r.trace, f->trace)) continue;
            cJSON *e = json_event(&r);
            if (!filter_event(f, e)) {
                cJSON_Delete(e);
                continue;
            }
            if (events && strcmp(trace, r.trace)) {
                stream_flush_page(conn, events, trace, last);
                events = NULL;
            }
            if (!events) {
                events = cJSON_CreateArray();
                snprintf(trace, sizeof trace, "%s", r.trace);
            }
            cJSON_AddItemToArray(events, e);
            last = r.seq;
        }
        if (events) stream_flush_page(conn, events, trace, last);
        sqlite3_reset(st);
        more = rows == STREAM_CATCHUP_PAGE;
    }
    sqlite3_finalize(st);
    db_pool_put(s->pool, db);
}

/* ---- civetweb callbacks ---- */

static char counted_not_ready; /* user data between connect and ready */

static int stream_on_connect(const struct mg_connection *conn, void *cb) {
    stream *s = cb;
    /* civetweb closes a refused upgrade without a word: the client gets
     * the same JSON error a REST request would (the cast: civetweb hands
     * this callback a const connection that is still ours to write to) */
    struct mg_connection *out = (struct mg_connection *)(uintptr_t)conn;
    if (!auth_token_ok(conn, s->token)) {
        log_msg("warn", "ws: connection refused: missing or wrong token");
        api_error(out, 401, "missing or wrong token");
        return 1;
    }
    if (atomic_fetch_add(&s->nclients, 1) >= s->max_clients) {
        atomic_fetch_sub(&s->nclients, 1);
        log_msg("warn", "ws: connection refused: %d clients already", s->max_clients);
        api_error(out, 503, "%d WebSocket clients already", s->max_clients);
        return 1;
    }
    /* counted: the close callback gives the place back, whatever happens
     * between here and the ready callback */
    mg_set_user_connection_data(conn, &counted_not_ready);
    return 0;
}

static char *stream_error(const char *why) {
    cJSON *err = cJSON_CreateObject();
    cJSON_AddStringToObject(err, "message", why);
    return json_stream_message("error", NULL, err);
}

static void stream_on_ready(struct mg_connection *conn, void *cb) {
    stream *s = cb;
    ws_client *c = calloc(1, sizeof *c);
    if (c) c->q = calloc(CLIENT_QUEUE_MAX, sizeof *c->q);
    if (!c || !c->q) {
        if (c) free(c);
        return; /* still counted_not_ready: the close callback uncounts */
    }
    c->conn = conn;
    pthread_mutex_init(&c->lock, NULL);
    const char *why = NULL;
    int64_t since = -1;
    if (ws_parse_url(mg_get_request_info(conn)->query_string, &c->f, &since, &why))
        stream_send_now(conn, stream_error(why));
    c->fkey = wire_checksum(&c->f, sizeof c->f);
    mg_set_user_connection_data(conn, c);
    /* join the live stream first, then replay: nothing falls between */
    pthread_mutex_lock(&s->clients_lock);
    c->next = s->clients;
    s->clients = c;
    atomic_fetch_add(&s->listed, 1);
    pthread_mutex_unlock(&s->clients_lock);
    atomic_fetch_add(&g_stats.ws_clients, 1);
    if (since >= 0) stream_catch_up(s, conn, &c->f, since);
}

/* {"type":"subscribe","filter":{"traceId":..,"agentId":..,"eventType":..,"minLevel":..}}
 * replaces the client's filter; anything else gets an error message. */
static void stream_on_text(ws_client *c, struct mg_connection *conn, const char *data,
                           size_t len) {
    ws_filter f;
    const char *why;
    if (ws_parse_message(data, len, &f, &why)) {
        stream_send_now(conn, stream_error(why));
        return;
    }
    pthread_mutex_lock(&c->lock);
    c->f = f;
    c->fkey = wire_checksum(&f, sizeof f);
    pthread_mutex_unlock(&c->lock);
    cJSON *ack = cJSON_CreateObject();
    cJSON_AddStringToObject(ack, "traceId", f.trace);
    cJSON_AddStringToObject(ack, "agentId", f.agent);
    cJSON_AddStringToObject(ack, "eventType", f.type);
    cJSON_AddNumberToObject(ack, "minLevel", f.min_level);
    stream_send_now(conn, json_stream_message("subscribed", NULL, ack));
}

static int stream_on_data(struct mg_connection *conn, int bits, char *data,
                          size_t len, void *cb) {
    (void)cb;
    int opcode = bits & 0x0F;
    if (opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE) {
        /* civetweb does not answer a close frame itself */
        mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, data, len);
        return 0;
    }
    if (opcode == MG_WEBSOCKET_OPCODE_PING)
        mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_PONG, data, len);
    if (opcode > MG_WEBSOCKET_OPCODE_PONG ||
        (opcode > MG_WEBSOCKET_OPCODE_BINARY && opcode < MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)) {
        /* a reserved opcode: RFC 6455 says fail the connection (1002) */
        static const char protocol_error[] = {0x03, (char)0xEA, 'b', 'a', 'd', ' ', 'o', 'p'};
        mg_websocket_write(conn, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, protocol_error,
                           sizeof protocol_error);
        return 0;
    }
    if (opcode == MG_WEBSOCKET_OPCODE_CONTINUATION) {
        stream_send_now(conn, stream_error("fragmented messages are not understood"));
        return 1;
    }
    ws_client *c = mg_get_user_connection_data(conn);
    if (opcode == MG_WEBSOCKET_OPCODE_TEXT && c && (void *)c != (void *)&counted_not_ready)
        stream_on_text(c, conn, data, len);
    else if (opcode == MG_WEBSOCKET_OPCODE_BINARY) /* silence would look like success */
        stream_send_now(conn, stream_error("binary frames are not understood: send JSON text"));
    return 1;
}

/* c is off the client list already. */
static void client_free(stream *s, ws_client *c) {
    pthread_mutex_lock(&c->lock);
    c->closing = 1;
    pthread_mutex_unlock(&c->lock);
    pool_forget(&s->senders, c);
    for (size_t i = 0; i < c->len; i++) msg_unref(c->q[(c->head + i) % CLIENT_QUEUE_MAX]);
    if (c->dropped)
        log_msg("warn", "ws: a slow client lost %llu message(s)", (unsigned long long)c->dropped);
    pthread_mutex_destroy(&c->lock);
    free(c->q);
    free(c);
}

static void stream_on_close(const struct mg_connection *conn, void *cb) {
    stream *s = cb;
    void *data = mg_get_user_connection_data(conn);
    if (!data) return; /* refused at connect: never counted */
    atomic_fetch_sub(&s->nclients, 1);
    if (data == &counted_not_ready) return;
    ws_client *c = data;
    pthread_mutex_lock(&s->clients_lock);
    for (ws_client **pp = &s->clients; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            atomic_fetch_sub(&s->listed, 1);
            break;
        }
    pthread_mutex_unlock(&s->clients_lock);
    atomic_fetch_sub(&g_stats.ws_clients, 1);
    client_free(s, c);
}

stream *stream_create(struct mg_context *ctx, db_pool *pool, const char *token,
                      int max_clients) {
    stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->pool = pool;
    s->token = token;
    s->max_clients = max_clients;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->clients_lock, NULL);
    pthread_cond_init(&s->more, NULL);
    if (pool_start(&s->senders)) {
        pool_stop(&s->senders);
        free(s);
        return NULL;
    }
    if (pthread_create(&s->thread, NULL, stream_main, s)) {
        pool_stop(&s->senders);
        free(s);
        return NULL;
    }
    mg_set_websocket_handler(ctx, "/ws", stream_on_connect, stream_on_ready,
                             stream_on_data, stream_on_close, s);
    return s;
}

/* Stop the fan-out: call before mg_stop(). */
void stream_stop(stream *s) {
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    int was = s->stopping;
    s->stopping = 1;
    pthread_cond_signal(&s->more);
    pthread_mutex_unlock(&s->lock);
    if (!was) pthread_join(s->thread, NULL);
}

/* Free everything; call after mg_stop(), so no callback can run. */
void stream_destroy(stream *s) {
    if (!s) return;
    stream_stop(s);
    for (size_t i = 0; i < s->qlen; i++)
        free(s->queue[(s->qhead + i) % STREAM_QUEUE_MAX]);
    for (ws_client *c = s->clients, *n; c; c = n) {
        n = c->next;
        client_free(s, c);
    }
    pool_stop(&s->senders);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->clients_lock);
    pthread_cond_destroy(&s->more);
    free(s);
}
