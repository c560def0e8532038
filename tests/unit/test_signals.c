/* SPDX-License-Identifier: MIT */
/* Unit tests of signals.c: the set serve takes over, what each signal does, and its name. */
#include <criterion/criterion.h>

#include <signal.h>

#include "signals.h"

Test(signals, set_takes_every_signal_people_send)
{
	static const int taken[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM,
		SIGPROF, SIGWINCH, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGIO, SIGPWR, SIGXCPU, SIGXFSZ };
	sigset_t set;

	signals_serve_set(&set);
	for (size_t i = 0; i < sizeof(taken) / sizeof(taken[0]); i++)
		cr_expect_eq(sigismember(&set, taken[i]), 1, "signal %d is not taken over", taken[i]);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		cr_expect_eq(sigismember(&set, s), 1, "real-time signal %d is not taken over", s);
}

Test(signals, set_leaves_faults_and_kernel_signals_alone)
{
	static const int left[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS, SIGCHLD, SIGURG,
		SIGPIPE, SIGKILL, SIGSTOP };
	sigset_t set;

	signals_serve_set(&set);
	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++)
		cr_expect_eq(sigismember(&set, left[i]), 0, "signal %d must not be blocked", left[i]);
}

Test(signals, actions)
{
	cr_expect_eq(signals_action(SIGHUP), SIGNALS_RELOAD);
	cr_expect_eq(signals_action(SIGTERM), SIGNALS_STOP);
	cr_expect_eq(signals_action(SIGINT), SIGNALS_STOP);
	cr_expect_eq(signals_action(SIGQUIT), SIGNALS_STOP);
	cr_expect_eq(signals_action(SIGUSR1), SIGNALS_IGNORE);
	cr_expect_eq(signals_action(SIGUSR2), SIGNALS_IGNORE);
	cr_expect_eq(signals_action(SIGTSTP), SIGNALS_IGNORE);
	cr_expect_eq(signals_action(SIGRTMIN), SIGNALS_IGNORE);
}

Test(signals, names)
{
	char b[32];

	cr_expect_str_eq(signals_name(SIGUSR1, b, sizeof(b)), "SIGUSR1");
	cr_expect_str_eq(signals_name(SIGHUP, b, sizeof(b)), "SIGHUP");
	cr_expect_str_eq(signals_name(SIGIO, b, sizeof(b)), "SIGIO");
	cr_expect_str_eq(signals_name(SIGRTMIN, b, sizeof(b)), "SIGRTMIN");
	cr_expect_str_eq(signals_name(SIGRTMIN + 3, b, sizeof(b)), "SIGRTMIN+3");
	cr_expect_str_eq(signals_name(SIGRTMAX, b, sizeof(b)), "SIGRTMAX");
}
