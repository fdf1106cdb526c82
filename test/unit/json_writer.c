/*
 * json_writer.c — the stream's JSON writer (collector/jw.c) against the
 * cJSON shapes REST serves (collector/json.c): the same event must come out
 * as the same object both ways, every output must parse, and text that is
 * not valid UTF-8 or not valid JSON must never reach a client as such.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "collector.h"

/* globals the collector's modules expect from main.c */
coll_stats g_stats;

static event_text text_of(const event_row *r) {
#define SPAN(s) ((jw_span){(s), (s) ? strlen(s) : 0})
    return (event_text){
        .seq = r->seq, .ts = r->ts, .span_id = r->span_id, .parent_id = r->parent_id,
        .duration_us = r->duration_us, .count = r->count, .level = r->level,
        .kind = r->kind, .has_span = r->has_span, .has_parent = r->has_parent,
        .has_duration = r->has_duration, .trace = r->trace, .agent = SPAN(r->agent),
        .type = SPAN(r->type), .message = SPAN(r->message),
        .metadata = SPAN(r->metadata), .stack = SPAN(r->stack)};
#undef SPAN
}

/* Both ways, parsed back: equal objects, and the writer's text parses. */
static void same_both_ways(const char *what, const event_row *r) {
    cJSON *tree = json_event(r);
    /* through text: json_event's integers are raw members, not numbers */
    char *ws = cJSON_PrintUnformatted(tree);
    cJSON *want = cJSON_Parse(ws);
    cJSON_Delete(tree);
    jw w = {0};
    event_text t = text_of(r);
    json_write_event(&w, &t);
    cJSON *got = cJSON_Parse(w.p);
    CHECKF(got != NULL, "%s: writer output does not parse: %s", what, w.p);
    CHECKF(got && cJSON_Compare(want, got, 1), "%s:\n  cJSON %s\n  writer %s", what,
           ws, w.p);
    free(ws);
    cJSON_Delete(want);
    cJSON_Delete(got);
    jw_free(&w);
}

static event_row base(void) {
    return (event_row){.seq = 4711, .ts = 1764280000123456, .level = 1, .kind = 0,
                       .count = 1, .trace = "swarm-1", .agent = "coder-1",
                       .type = "task.completed"};
}

static void t_same_shapes(void) {
    event_row r = base();
    same_both_ways("minimal", &r);
    r.message = "task t-12 done";
    r.metadata = "{\"taskId\":\"t-12\",\"n\":[1,2.5e3,-0.1,true,false,null]}";
    r.has_span = 1, r.span_id = 0x9f3a000000000012;
    r.has_parent = 1, r.parent_id = 3;
    r.has_duration = 1, r.duration_us = 125000;
    r.kind = 2, r.count = 7, r.level = 3;
    r.stack = "at main (a.c:1)\n\tat start";
    same_both_ways("every field", &r);
    r.metadata = "not json {";
    same_both_ways("metadata that is not JSON becomes a string", &r);
    r.metadata = "{}trailing";
    same_both_ways("metadata with trailing bytes becomes a string", &r);
    r.metadata = "  [1, {\"a\": \"b\\u00e9\\n\"}]  ";
    same_both_ways("metadata with whitespace and escapes", &r);
    r.message = "quote \" backslash \\ controls \x01\x1f tab\t é ✓ 𝄞";
    r.agent = "agent/with\"quote";
    same_both_ways("escaping", &r);
    r.kind = 1;
    same_both_ways("span begin", &r);
}

static void t_bad_utf8_repaired(void) {
    const char bad[] = "ok \xff \xc3( \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf end \xe2\x82";
    jw w = {0};
    jw_str(&w, bad, sizeof bad - 1);
    cJSON *j = cJSON_Parse(w.p);
    CHECK(j && cJSON_IsString(j));
    int valid = 1;
    for (size_t i = 0; i < w.n;) {
        size_t len = jw_utf8_len((const unsigned char *)w.p + i, w.n - i);
        if (!len) valid = 0, len = 1;
        i += len;
    }
    CHECKF(valid, "writer output is not UTF-8: %s", w.p);
    CHECKF(strstr(w.p, "ok \\ufffd \\ufffd(") && strstr(w.p, " end \\ufffd\\ufffd\""),
           "got %s", w.p);
    cJSON_Delete(j);
    jw_free(&w);
    /* metadata with a bad byte is not embedded raw */
    CHECK(!jw_valid_json("{\"a\":\"\xff\"}", 8));
}

static void t_validator(void) {
    const char *good[] = {"{}", "[]", "0", "-0.5e+10", "\"s\"", "true", "null",
                          " {\"a\" : [ 1 , {} ] } ", "\"\\u00e9\\/\"", "[[[[1]]]]"};
    const char *bad[] = {"", "{", "{\"a\"}", "{\"a\":}", "[1,]", "01", "1.", "-",
                         "tru", "\"\\x\"", "\"\\u12\"", "\"a\nb\"", "{} {}", "{'a':1}",
                         "[1 2]", "\"unterminated"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECKF(jw_valid_json(good[i], strlen(good[i])), "refused %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECKF(!jw_valid_json(bad[i], strlen(bad[i])), "accepted %s", bad[i]);
    char deep[300];
    memset(deep, '[', 129);
    memset(deep + 129, ']', 129);
    CHECKF(!jw_valid_json(deep, 258), "129 levels of nesting accepted");
    CHECKF(jw_valid_json(deep + 1, 256), "128 levels of nesting refused");
    /* counted, not NUL-terminated: the bytes after n are not read */
    CHECK(jw_valid_json("{}xyz", 2));
}

static void t_stream_head(void) {
    jw w = {0};
    json_write_stream_head(&w, "trace_event", "t\"1");
    jw_lit(&w, "{\"events\":[]}}");
    cJSON *j = cJSON_Parse(w.p);
    CHECKF(j, "does not parse: %s", w.p);
    cJSON *ts = cJSON_GetObjectItem(j, "timestamp");
    CHECK(cJSON_IsNumber(ts) && ts->valuedouble > 1.7e15);
    CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(j, "traceId")), "t\"1"));
    CHECK(cJSON_IsObject(cJSON_GetObjectItem(j, "payload")));
    cJSON_Delete(j);
    jw_free(&w);
}

static void t_integers(void) {
    const int64_t v[] = {0, 7, -1, 10, -10, 1764280000123456, INT64_MAX, INT64_MIN};
    const char *want[] = {"0", "7", "-1", "10", "-10", "1764280000123456",
                          "9223372036854775807", "-9223372036854775808"};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        jw w = {0};
        jw_int(&w, v[i]);
        CHECKF(w.p && !strcmp(w.p, want[i]), "%s written as %s", want[i], w.p ? w.p : "(null)");
        jw_free(&w);
    }
}

int main(void) {
    check_run("integers", t_integers);
    check_run("same shapes as json_event", t_same_shapes);
    check_run("bad UTF-8 repaired", t_bad_utf8_repaired);
    check_run("validator", t_validator);
    check_run("stream head", t_stream_head);
    return check_main("json_writer");
}
