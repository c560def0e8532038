/* SPDX-License-Identifier: MIT */
/* signals: which signals `serve` takes over and what each one does, so none can end it unseen. */
#ifndef MTASTSD_SIGNALS_H
#define MTASTSD_SIGNALS_H

#include <signal.h>
#include <stddef.h>

enum signals_action {
	SIGNALS_RELOAD,		/* SIGHUP */
	SIGNALS_STOP,		/* SIGTERM, SIGINT, SIGQUIT: finish in-flight requests, exit 0 */
	SIGNALS_IGNORE		/* every other signal in the set: logged and ignored */
};

/*
 * Fill SET with every signal `serve` reads from its signalfd: all of them
 * but the faults a program raises on itself (SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL, SIGABRT, SIGTRAP, SIGSYS), SIGCHLD and SIGURG (ignored by
 * default, sent by the kernel, not by people), SIGPIPE (ignored: a client
 * that went away) and SIGKILL/SIGSTOP (which nothing can catch). Blocked in
 * every thread, none of them can stop or suspend the server: SIGUSR1 from
 * logrotate, SIGALRM, SIGTSTP from a terminal, a real-time signal.
 */
void signals_serve_set(sigset_t *set);

/* What `serve` does with SIGNO, one of the set above. */
enum signals_action signals_action(int signo);

/* The name of SIGNO as administrators write it ("SIGUSR1", "SIGRTMIN+3"), in BUF of LEN bytes. */
const char *signals_name(int signo, char *buf, size_t len);

#endif
