/*
 * ws_message.c — libFuzzer target: what a WebSocket client controls,
 * the /ws URL options (filter, since) and the text messages it sends
 * ({"type":"subscribe","filter":{...}}), parsed by ws_parse_url and
 * ws_parse_message in collector/params.c.
 *
 * Input: one byte; even: the rest is a client text frame (not
 * NUL-terminated, as civetweb delivers it); odd: the rest is the URL's
 * query string. A success must leave a filter the fan-out can use.
 */
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
        rc = ws_parse_message(buf, n, &f, &why);
    }
    if (rc == 0) fz_check_filter(&f);
    else if (!why || !*why) abort();
    free(buf);
    return 0;
}
