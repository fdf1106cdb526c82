/*
 * check.h — the few lines of test harness every unit test shares.
 *
 *   CHECK(cond)            counts a pass, or prints file:line and the
 *                          condition to stderr and counts a failure
 *   CHECKF(cond, fmt, ...) the same with a printf-style explanation
 *   check_run("name", fn)  runs one test function and names it on failure
 *   return check_main("prog");  prints the one summary line
 *                          "prog: N passed, M failed" on stdout and
 *                          gives the exit status (nonzero if M > 0)
 *
 * Header-only: each test program includes it once.
 */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H

#include <stdarg.h>
#include <stdio.h>

static int check_passed, check_failed;
static const char *check_current = "";

static void check_fail_(const char *file, int line, const char *expr,
                        const char *fmt, ...) {
    check_failed++;
    fprintf(stderr, "FAIL %s:%d [%s] %s", file, line, check_current, expr);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        fputs(" -- ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    fflush(stderr);
}

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (cond) check_passed++;                                              \
        else check_fail_(__FILE__, __LINE__, #cond, NULL);                     \
    } while (0)

#define CHECKF(cond, ...)                                                      \
    do {                                                                       \
        if (cond) check_passed++;                                              \
        else check_fail_(__FILE__, __LINE__, #cond, __VA_ARGS__);              \
    } while (0)

static inline void check_run(const char *name, void (*fn)(void)) {
    const char *prev = check_current;
    check_current = name;
    int before = check_failed;
    fn();
    if (check_failed != before)
        fprintf(stderr, "  -> %s: %d failure(s)\n", name, check_failed - before);
    check_current = prev;
}

static inline int check_main(const char *name) {
    fflush(stderr);
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    fflush(stdout);
    return check_failed ? 1 : 0;
}

#endif
