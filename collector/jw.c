/*
 * jw.c — a JSON text writer for the live stream's hot path.
 *
 * At 100 K events/s, building a cJSON tree per event and printing it was
 * more than half of the collector's CPU (a malloc per member, a strlen per
 * key, a parse and re-print of every event's metadata). The stream writes
 * the same shapes as json.c straight into one growing buffer instead; a
 * unit test (test/unit/json_writer.c) holds the two to identical objects.
 *
 * Strings are escaped as RFC 8259 requires, and bytes that are not valid
 * UTF-8 become U+FFFD: a WebSocket text frame must be UTF-8, and browsers
 * drop the connection on one that is not, so one bad byte in one event
 * must not cut every viewer off.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"

/* Invariant: w->p, when not NULL, holds w->n bytes plus a NUL at p[n];
 * after an allocation failure w->oom is set and every call is a no-op. */
static int jw_reserve(jw *w, size_t more) {
    if (w->oom) return -1;
    if (w->n + more + 1 <= w->cap) return 0;
    size_t cap = w->cap ? w->cap : 1024;
    while (cap < w->n + more + 1) cap *= 2;
    char *p = realloc(w->p, cap);
    if (!p) {
        w->oom = 1;
        return -1;
    }
    w->p = p;
    w->cap = cap;
    return 0;
}

void jw_raw(jw *w, const char *s, size_t n) {
    if (jw_reserve(w, n)) return;
    memcpy(w->p + w->n, s, n);
    w->n += n;
    w->p[w->n] = 0;
}

void jw_lit(jw *w, const char *s) { jw_raw(w, s, strlen(s)); }

/* Integers are most of what the stream and events/columns write: by hand,
 * not through printf. */
void jw_int(jw *w, int64_t v) {
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) tmp[sizeof tmp - 1 - n++] = '-';
    jw_raw(w, tmp + sizeof tmp - n, n);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none:
 * no overlongs, no surrogates, nothing above U+10FFFF. */
size_t jw_utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, min = 0x10000;
    else return 0;
    if (len > n) return 0;
    unsigned cp = c & (0x3F >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

void jw_str(jw *w, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    /* worst case: every byte becomes a 6-byte escape */
    if (jw_reserve(w, n * 6 + 2)) return;
    char *o = w->p + w->n;
    *o++ = '"';
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        if (c >= 0x80) {
            size_t len = jw_utf8_len(u + i, n - i);
            if (len) {
                memcpy(o, u + i, len);
                o += len;
                i += len;
            } else {
                memcpy(o, "\\ufffd", 6);
                o += 6;
                i++;
            }
            continue;
        }
        i++;
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        } else if (c >= 0x20) {
            *o++ = (char)c;
        } else if (c == '\n') {
            *o++ = '\\', *o++ = 'n';
        } else if (c == '\t') {
            *o++ = '\\', *o++ = 't';
        } else if (c == '\r') {
            *o++ = '\\', *o++ = 'r';
        } else {
            o += snprintf(o, 7, "\\u%04x", c);
        }
    }
    *o++ = '"';
    w->n = (size_t)(o - w->p);
    w->p[w->n] = 0;
}

void jw_key(jw *w, const char *key) {
    jw_str(w, key, strlen(key));
    jw_raw(w, ":", 1);
}

/* ---- validation: may metadata be embedded as it is? ---- */

typedef struct jv {
    const unsigned char *p, *end;
    int depth;
} jv;

static void jv_ws(jv *v) {
    while (v->p < v->end &&
           (*v->p == ' ' || *v->p == '\t' || *v->p == '\n' || *v->p == '\r'))
        v->p++;
}

static int jv_value(jv *v);

static int jv_string(jv *v) {
    v->p++; /* the opening quote */
    while (v->p < v->end) {
        unsigned c = *v->p;
        if (c == '"') {
            v->p++;
            return 0;
        }
        if (c < 0x20) return -1;
        if (c == '\\') {
            if (++v->p >= v->end) return -1;
            c = *v->p++;
            if (c == 'u') {
                for (int i = 0; i < 4; i++, v->p++)
                    if (v->p >= v->end || !strchr("0123456789abcdefABCDEF", *v->p) || !*v->p)
                        return -1;
            } else if (!strchr("\"\\/bfnrt", (int)c) || !c) {
                return -1;
            }
            continue;
        }
        size_t len = jw_utf8_len(v->p, (size_t)(v->end - v->p));
        if (!len) return -1;
        v->p += len;
    }
    return -1;
}

static int jv_digits(jv *v) {
    const unsigned char *start = v->p;
    while (v->p < v->end && *v->p >= '0' && *v->p <= '9') v->p++;
    return v->p > start ? 0 : -1;
}

static int jv_number(jv *v) {
    if (*v->p == '-') v->p++;
    if (v->p < v->end && *v->p == '0') v->p++;
    else if (jv_digits(v)) return -1;
    if (v->p < v->end && *v->p == '.') {
        v->p++;
        if (jv_digits(v)) return -1;
    }
    if (v->p < v->end && (*v->p == 'e' || *v->p == 'E')) {
        v->p++;
        if (v->p < v->end && (*v->p == '+' || *v->p == '-')) v->p++;
        if (jv_digits(v)) return -1;
    }
    return 0;
}

static int jv_word(jv *v, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(v->end - v->p) < n || memcmp(v->p, w, n)) return -1;
    v->p += n;
    return 0;
}

static int jv_container(jv *v, char close) {
    if (++v->depth > JSON_MAX_DEPTH) return -1; /* json_parse_bounded's limit */
    v->p++;
    jv_ws(v);
    if (v->p < v->end && *v->p == close) {
        v->p++;
        v->depth--;
        return 0;
    }
    for (;;) {
        jv_ws(v);
        if (close == '}') {
            if (v->p >= v->end || *v->p != '"' || jv_string(v)) return -1;
            jv_ws(v);
            if (v->p >= v->end || *v->p++ != ':') return -1;
        }
        if (jv_value(v)) return -1;
        jv_ws(v);
        if (v->p >= v->end) return -1;
        char c = (char)*v->p++;
        if (c == close) break;
        if (c != ',') return -1;
    }
    v->depth--;
    return 0;
}

static int jv_value(jv *v) {
    jv_ws(v);
    if (v->p >= v->end) return -1;
    switch (*v->p) {
    case '{': return jv_container(v, '}');
    case '[': return jv_container(v, ']');
    case '"': return jv_string(v);
    case 't': return jv_word(v, "true");
    case 'f': return jv_word(v, "false");
    case 'n': return jv_word(v, "null");
    default: return (*v->p == '-' || (*v->p >= '0' && *v->p <= '9')) ? jv_number(v) : -1;
    }
}

int jw_valid_json(const char *s, size_t n) {
    jv v = {(const unsigned char *)s, (const unsigned char *)s + n, 0};
    if (jv_value(&v)) return 0;
    jv_ws(&v);
    return v.p == v.end;
}

void jw_free(jw *w) {
    free(w->p);
    memset(w, 0, sizeof *w);
}
