/*
 * crash.c — the last events of a process that dies of a fatal signal.
 *
 * The choice, and why: a signal handler may only call async-signal-safe
 * functions, and zmq_send(), malloc() and pthread_mutex_lock() are none of
 * them; draining rings and encoding a batch in the handler would run them
 * on a thread that may have been interrupted inside any of them (a
 * malloc() of its own, the registry lock). A pre-opened pipe or raw
 * socket would keep the handler safe but needs a second, unauthenticated
 * path into the collector. So the handler does nothing but publish the
 * signal number in an atomic and wait on the clock: the flusher thread,
 * which is not interrupted and owns the ZeroMQ socket, sees the flag,
 * drains the rings, sends the final batch with a "system.crash" event and
 * closes the socket with a linger so the bytes reach the wire, then sets
 * crash_done. The handler gives up after crash_flush_ms whatever happened
 * (the flusher may itself be the thread that crashed, or be stuck behind
 * a lock the crashed thread held), then puts the previous disposition
 * back and re-raises, so the process dies of its signal as it would
 * have: a sanitizer's or the application's handler still runs, and core
 * dumps still happen. Only atomics, clock_gettime(), nanosleep(),
 * sigaction(), raise() and syscall(SYS_gettid) run in signal context.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static const int tr_crash_sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
#define TR_NCRASH (sizeof tr_crash_sigs / sizeof *tr_crash_sigs)
static struct sigaction tr_crash_prev[TR_NCRASH];
static int tr_crash_installed;
static _Atomic int tr_crash_entered; /* a flush was asked for */

static int tr_crash_index(int sig) {
    for (unsigned i = 0; i < TR_NCRASH; i++)
        if (tr_crash_sigs[i] == sig) return (int)i;
    return -1;
}

static uint64_t tr_crash_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void tr_crash_handler(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    int saved_errno = errno;
    int idx = tr_crash_index(sig);
    int self_tid = (int)syscall(SYS_gettid);
    /* the first fatal signal starts the flush; a second thread dying
     * meanwhile waits for the same flush rather than end the process
     * under it */
    if (tr.flusher_running && self_tid != atomic_load(&tr.flusher_tid)) {
        if (!atomic_exchange(&tr_crash_entered, 1)) atomic_store(&tr.crash_sig, sig);
        uint64_t deadline = tr_crash_now_ms() + tr.cfg.crash_flush_ms;
        struct timespec tick = {0, 1000000};
        while (!atomic_load(&tr.crash_done) && tr_crash_now_ms() < deadline)
            nanosleep(&tick, NULL);
    }
    /* Hand the signal on as if we had never been here. A fault raised by
     * the CPU (si_code > 0) simply happens again when we return, now to
     * the previous disposition; a sent one (abort(), kill) is re-raised
     * and delivered when this handler returns. */
    if (idx >= 0) sigaction(sig, &tr_crash_prev[idx], NULL);
    if (!si || si->si_code <= 0 || sig == SIGABRT) raise(sig);
    errno = saved_errno;
}

void tr_crash_install(void) {
    if (tr_crash_installed) return;
    atomic_store(&tr.crash_sig, 0);
    atomic_store(&tr.crash_done, 0);
    atomic_store(&tr_crash_entered, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = tr_crash_handler;
    /* SA_ONSTACK: a thread with an alternate stack (sigaltstack) survives
     * a stack overflow long enough to hand over */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (unsigned i = 0; i < TR_NCRASH; i++)
        sigaction(tr_crash_sigs[i], &sa, &tr_crash_prev[i]);
    tr_crash_installed = 1;
}

void tr_crash_uninstall(void) {
    if (!tr_crash_installed) return;
    /* put back only what is still ours: the application may have
     * installed a handler of its own since */
    for (unsigned i = 0; i < TR_NCRASH; i++) {
        struct sigaction cur;
        if (sigaction(tr_crash_sigs[i], NULL, &cur) == 0 &&
            (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == tr_crash_handler)
            sigaction(tr_crash_sigs[i], &tr_crash_prev[i], NULL);
    }
    tr_crash_installed = 0;
}

const char *tr_crash_signame(int sig) {
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    default: return "signal";
    }
}
