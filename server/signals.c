/* SPDX-License-Identifier: MIT */
/* signals: which signals `serve` takes over and what each one does, so none can end it unseen. */
#define _GNU_SOURCE	/* sigabbrev_np */
#include "signals.h"

#include <stdio.h>
#include <string.h>

/* raised by the program on itself, sent by the kernel as a matter of course, or uncatchable */
static const int not_taken[] = {
	SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS, SIGCHLD, SIGURG, SIGPIPE, SIGKILL, SIGSTOP,
};

void
signals_serve_set(sigset_t *set)
{
	/* glibc leaves out the two real-time signals it uses itself (thread cancel, setxid) */
	sigfillset(set);
	for (size_t i = 0; i < sizeof(not_taken) / sizeof(not_taken[0]); i++)
		sigdelset(set, not_taken[i]);
}

enum signals_action
signals_action(int signo)
{
	switch (signo) {
	case SIGHUP:
		return SIGNALS_RELOAD;
	case SIGTERM:
	case SIGINT:
	case SIGQUIT:
		return SIGNALS_STOP;
	default:
		return SIGNALS_IGNORE;
	}
}

const char *
signals_name(int signo, char *buf, size_t len)
{
	const char *abbrev = signo >= SIGRTMIN && signo <= SIGRTMAX ? NULL : sigabbrev_np(signo);

	if (signo == SIGIO)
		snprintf(buf, len, "SIGIO");	/* glibc's name is its synonym POLL */
	else if (abbrev != NULL)
		snprintf(buf, len, "SIG%s", abbrev);
	else if (signo == SIGRTMIN)
		snprintf(buf, len, "SIGRTMIN");
	else if (signo == SIGRTMAX)
		snprintf(buf, len, "SIGRTMAX");
	else if (signo > SIGRTMIN && signo < SIGRTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", signo - SIGRTMIN);
	else
		snprintf(buf, len, "signal %d", signo);
	return buf;
}
