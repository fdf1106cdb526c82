/*
 * rest_query.c — libFuzzer target: the query parameters of every REST
 * endpoint (api_parse_query in collector/params.c), i.e. everything in
 * a URL after '?' that reaches SQL as a bound value.
 *
 * Input: one byte choosing the route, then the query string. A success
 * must leave every value inside the range the endpoint documents (those
 * become LIMIT/OFFSET and bound parameters); a refusal must say why.
 */
#include <stdlib.h>
#include <string.h>

#include "collector.h"

static void fz_check_text(const char *s, size_t cap) {
    if (strnlen(s, cap) == cap) abort(); /* not terminated */
}

static void fz_check(int route, const api_query *q) {
    int64_t max_limit = route == API_ROUTE_TRACES || route == API_ROUTE_SEARCH ? 1000
                        : route == API_ROUTE_COLUMNS                       ? COLUMNS_MAX_ROWS
                                                                           : 10000;
    int has_limit = route != API_ROUTE_OVERHEAD;
    if (has_limit && (q->limit < 1 || q->limit > max_limit)) abort();
    if (q->offset < 0 || q->offset > INT32_MAX) abort();
    if (q->from < -1 || q->to < -1 || q->after < -1 || q->before < -1) abort();
    if ((route == API_ROUTE_RANGE || route == API_ROUTE_COLUMNS) && (q->from < 0 || q->to < q->from))
        abort();
    if (q->level < -1 || q->level > 3) abort();
    if (route == API_ROUTE_SEARCH && !q->q[0]) abort();
    if (q->has_status && strcmp(q->status, "active") && strcmp(q->status, "completed") &&
        strcmp(q->status, "error"))
        abort();
    fz_check_text(q->status, sizeof q->status);
    fz_check_text(q->session, sizeof q->session);
    fz_check_text(q->agent, sizeof q->agent);
    fz_check_text(q->type, sizeof q->type);
    fz_check_text(q->trace, sizeof q->trace);
    fz_check_text(q->q, sizeof q->q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int route = data[0] % API_ROUTE_COUNT;
    /* civetweb hands handlers a NUL-terminated query string */
    char *qs = malloc(size);
    if (!qs) return 0;
    memcpy(qs, data + 1, size - 1);
    qs[size - 1] = 0;
    api_query q;
    char err[160] = "";
    if (api_parse_query(route, qs, &q, err, sizeof err) == 0) fz_check(route, &q);
    else if (!err[0]) abort();
    free(qs);
    return 0;
}
