/*
 * format.c — printf formatting, done late, on the flusher thread.
 *
 * trace_event() stores its format (a string literal) and its arguments as
 * tagged 64-bit values; this file turns them into the message. It walks
 * the format itself and hands each conversion to snprintf with a value of
 * the type that conversion expects, converting when the tag differs, so a
 * mismatched or missing argument prints something sensible and never
 * reads memory it should not. %n is never honoured.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

typedef struct fmt_out {
    char *buf;
    size_t cap, len;
} fmt_out;

static void fmt_put(fmt_out *o, const char *s, size_t n) {
    if (o->len + 1 >= o->cap) return;
    size_t room = o->cap - 1 - o->len;
    if (n > room) n = room;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = 0;
}

static long long fmt_as_int(const tr_farg *a) {
    switch (a->tag) {
    case TRACE__T_I: return a->v.i;
    case TRACE__T_U: return (long long)a->v.u;
    case TRACE__T_D: return (long long)a->v.d;
    default: return 0;
    }
}

static double fmt_as_double(const tr_farg *a) {
    switch (a->tag) {
    case TRACE__T_I: return (double)a->v.i;
    case TRACE__T_U: return (double)a->v.u;
    case TRACE__T_D: return a->v.d;
    default: return 0;
    }
}

/* One conversion: spec is "%[flags][width][.prec]" without length or
 * conversion letter; conv the conversion letter. */
static void fmt_one(fmt_out *o, char *spec, size_t speclen, char conv,
                    const tr_farg *a) {
    char tmp[TR_MAX_STR_ARG + 64]; /* a whole string argument fits */
    int n = 0;
    switch (conv) {
    case 'd': case 'i': case 'c':
        spec[speclen++] = conv == 'c' ? 'c' : 'l';
        if (conv != 'c') spec[speclen++] = 'l', spec[speclen++] = 'd';
        spec[speclen] = 0;
        n = conv == 'c' ? snprintf(tmp, sizeof tmp, spec, (int)fmt_as_int(a))
                        : snprintf(tmp, sizeof tmp, spec, fmt_as_int(a));
        break;
    case 'u': case 'x': case 'X': case 'o':
        spec[speclen++] = 'l';
        spec[speclen++] = 'l';
        spec[speclen++] = conv;
        spec[speclen] = 0;
        n = snprintf(tmp, sizeof tmp, spec, (unsigned long long)fmt_as_int(a));
        break;
    case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case 'a': case 'A':
        spec[speclen++] = conv;
        spec[speclen] = 0;
        n = snprintf(tmp, sizeof tmp, spec, fmt_as_double(a));
        break;
    case 's':
        spec[speclen++] = 's';
        spec[speclen] = 0;
        n = snprintf(tmp, sizeof tmp, spec,
                     a->tag == TRACE__T_S ? (a->s ? a->s : "(null)") : "(?)");
        break;
    case 'p':
        n = snprintf(tmp, sizeof tmp, "%p", a->tag == TRACE__T_P ? a->v.p : NULL);
        break;
    default: /* unknown conversion: show it as written */
        fmt_put(o, spec, speclen);
        fmt_put(o, &conv, 1);
        return;
    }
    if (n > 0) fmt_put(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

size_t tr_format(char *buf, size_t cap, const char *fmt, const tr_farg *args,
                 unsigned nargs) {
    fmt_out o = {buf, cap, 0};
    static const tr_farg missing = {TRACE__T_END, {0}, NULL};
    unsigned next = 0;
    if (cap) buf[0] = 0;
    for (const char *p = fmt; *p;) {
        const char *pct = strchr(p, '%');
        if (!pct) {
            fmt_put(&o, p, strlen(p));
            break;
        }
        fmt_put(&o, p, (size_t)(pct - p));
        p = pct + 1;
        if (*p == '%') {
            fmt_put(&o, "%", 1);
            p++;
            continue;
        }
        char spec[64];
        size_t sl = 0;
        spec[sl++] = '%';
        /* flags, width, precision; '*' takes an argument as printf does */
        while (*p && strchr("-+ #0123456789.*", *p) && sl < 40) {
            if (*p == '*') {
                const tr_farg *a = next < nargs ? &args[next++] : &missing;
                sl += (size_t)snprintf(spec + sl, sizeof spec - sl, "%d",
                                       (int)(fmt_as_int(a) % 1000));
            } else {
                spec[sl++] = *p;
            }
            p++;
        }
        while (*p && strchr("hljztL", *p)) p++; /* we pick the length */
        if (!*p) break;
        char conv = *p++;
        if (conv == 'n') {
            if (next < nargs) next++;
            continue;
        }
        fmt_one(&o, spec, sl, conv, next < nargs ? &args[next++] : &missing);
    }
    return o.len;
}
