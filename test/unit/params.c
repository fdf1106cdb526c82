/*
 * params.c — the collector's parsers of client input (collector/params.c):
 * REST query parameters, WebSocket URL options and subscribe messages,
 * and the JSON depth bound. Includes the regression input of the one
 * crash the hostile-client tests found: a subscribe message nesting 1000
 * arrays overflowed a civetweb worker's stack inside cJSON.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "collector.h"

/* civetweb's workers run on small stacks; parse on one no bigger */
#define SMALL_STACK (96 * 1024)

static int parse_rc;
static void *parse_deep(void *arg) {
    const char *msg = arg;
    ws_filter f;
    const char *why;
    parse_rc = ws_parse_message(msg, strlen(msg), &f, &why);
    return NULL;
}

static char *nested(const char *prefix, int depth, const char *suffix) {
    size_t n = strlen(prefix);
    char *s = malloc(n + 2 * (size_t)depth + strlen(suffix) + 1);
    memcpy(s, prefix, n);
    memset(s + n, '[', (size_t)depth);
    memset(s + n + depth, ']', (size_t)depth);
    strcpy(s + n + 2 * (size_t)depth, suffix);
    return s;
}

static void t_deep_nesting_regression(void) {
    /* the minimized crashing input: {"type":"subscribe","filter": + 1000 x [ ] + } */
    char *msg = nested("{\"type\":\"subscribe\",\"filter\":", 1000, "}");
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, SMALL_STACK);
    pthread_t th;
    parse_rc = 0;
    CHECK(pthread_create(&th, &attr, parse_deep, msg) == 0);
    pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
    CHECK(parse_rc == -1);
    free(msg);
}

static void t_json_depth(void) {
    char *ok = nested("", JSON_MAX_DEPTH, "");
    char *deep = nested("", JSON_MAX_DEPTH + 1, "");
    cJSON *j = json_parse_bounded(ok, strlen(ok));
    CHECK(j != NULL);
    cJSON_Delete(j);
    CHECK(json_parse_bounded(deep, strlen(deep)) == NULL);
    /* brackets inside strings are text, escaped quotes do not end them */
    CHECK(json_depth_ok("[\"[[[[[\\\"[[[[\"]", 16, 1));
    CHECK(!json_depth_ok("[[", 2, 1));
    free(ok);
    free(deep);
}

static int parse(int route, const char *qs, api_query *q) {
    char err[160];
    return api_parse_query(route, qs, q, err, sizeof err);
}

static void t_rest_params(void) {
    api_query q;
    CHECK(parse(API_ROUTE_TRACES, NULL, &q) == 0 && q.limit == 50 && q.from == -1);
    CHECK(parse(API_ROUTE_TRACES, "limit=1000&status=error", &q) == 0 && q.limit == 1000);
    CHECK(parse(API_ROUTE_TRACES, "limit=1001", &q) == -1);
    CHECK(parse(API_ROUTE_TRACES, "limit=0", &q) == -1);
    CHECK(parse(API_ROUTE_TRACES, "limit=%205", &q) == -1);
    CHECK(parse(API_ROUTE_TRACES, "limit=+5", &q) == -1);
    CHECK(parse(API_ROUTE_TRACES, "offset=-1", &q) == -1);
    CHECK(parse(API_ROUTE_TRACES, "from=99999999999999999999", &q) == -1);
    CHECK(parse(API_ROUTE_TRACES, "status=running", &q) == -1);
    CHECK(parse(API_ROUTE_TRACES, "session=a%00b", &q) == -1);
    CHECK(parse(API_ROUTE_EVENTS, "type=task.*&level=warn&parent=9f3a", &q) == 0 &&
          q.type_prefix && !strcmp(q.type, "task.") && q.level == 2 && q.parent == 0x9f3a);
    CHECK(parse(API_ROUTE_EVENTS, "parent=0x12", &q) == -1);
    CHECK(parse(API_ROUTE_EVENTS, "parent=12345678901234567", &q) == -1);
    CHECK(parse(API_ROUTE_EVENTS, "level=loud", &q) == -1);
    CHECK(parse(API_ROUTE_EVENTS, "agent=%27%20OR%201%3D1--", &q) == 0 && !strcmp(q.agent, "' OR 1=1--"));
    CHECK(parse(API_ROUTE_SEARCH, "limit=5", &q) == -1);
    CHECK(parse(API_ROUTE_SEARCH, "q=done", &q) == 0 && !strcmp(q.q, "done"));
    CHECK(parse(API_ROUTE_RANGE, "from=10&to=5", &q) == -1);
    CHECK(parse(API_ROUTE_RANGE, "from=5", &q) == -1);
    CHECK(parse(API_ROUTE_RANGE, "from=5&to=10", &q) == 0 && q.limit == 1000);
    CHECK(parse(API_ROUTE_SNAPSHOTS, "before=5&limit=10000", &q) == 0 && q.before == 5);
    CHECK(parse(API_ROUTE_OVERHEAD, "trace=swarm", &q) == 0 && q.has_trace);
    CHECK(parse(API_ROUTE_COUNT, "", &q) == -1);
}

static void t_ws(void) {
    ws_filter f;
    const char *why;
    int64_t since;
    CHECK(ws_parse_url("trace=t&agent=a&type=task.*&level=error&since=7", &f, &since, &why) == 0 &&
          since == 7 && f.type_prefix && f.min_level == 3 && !strcmp(f.agent, "a"));
    CHECK(ws_parse_url("since=-1", &f, &since, &why) == -1 && since == -1);
    CHECK(ws_parse_url("level=loud", &f, &since, &why) == -1);
    CHECK(ws_parse_url(NULL, &f, &since, &why) == 0 && since == -1);
    const char *sub = "{\"type\":\"subscribe\",\"filter\":{\"agentId\":\"coder-1\",\"minLevel\":\"warn\"}}";
    CHECK(ws_parse_message(sub, strlen(sub), &f, &why) == 0 && f.min_level == 2 && !strcmp(f.agent, "coder-1"));
    const char *num = "{\"type\":\"subscribe\",\"filter\":{\"agentId\":5}}";
    CHECK(ws_parse_message(num, strlen(num), &f, &why) == -1 && !f.agent[0]);
    CHECK(ws_parse_message("{\"type\":\"subscribe\"", 19, &f, &why) == -1);
    CHECK(ws_parse_message("{\"type\":\"ping\"}", 15, &f, &why) == -1);
}

int main(void) {
    check_run("deep nesting regression", t_deep_nesting_regression);
    check_run("json depth", t_json_depth);
    check_run("rest params", t_rest_params);
    check_run("ws", t_ws);
    return check_main("params");
}
