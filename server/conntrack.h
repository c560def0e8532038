/* SPDX-License-Identifier: MIT */
/* conntrack: one listener's connections; per-address and total limits, request and idle deadlines. */
#ifndef MTASTSD_CONNTRACK_H
#define MTASTSD_CONNTRACK_H

#include <stdbool.h>
#include <sys/socket.h>

struct conntrack;
struct conntrack_conn;

struct conntrack_limits {
	unsigned timeout_ms;	/* from accept, or from the last answer, to a complete request */
	unsigned max_total;	/* connections at once, 0 = unlimited */
	unsigned max_per_addr;	/* per client address, 0 = unlimited */
	unsigned evict_after_ms;	/* a full listener closes a connection waiting this long for its request */
};

/* Why connections were closed or refused, for metrics and the log. */
enum conntrack_event {
	CONNTRACK_REFUSED_PER_ADDR,	/* the address had max_per_addr connections open */
	CONNTRACK_REFUSED_FULL,		/* max_total open and none could be evicted */
	CONNTRACK_EVICTED,		/* closed to make room: waited evict_after_ms without a request */
	CONNTRACK_TIMEOUT,		/* no complete request within timeout_ms */
	CONNTRACK_N
};

/* A tracker for one listener (no thread yet); NAME labels its log lines. */
struct conntrack *conntrack_new(const char *name, const struct conntrack_limits *lim);

/* Start the thread that closes connections past their deadline. Returns 0 or -1 (logged). */
int conntrack_start(struct conntrack *ct);

/* Stop the thread and free CT; every connection must have been closed. Accepts NULL. */
void conntrack_free(struct conntrack *ct);

/*
 * A connection FD from SA was accepted. SHARED: it carries many clients (a
 * trusted proxy), so it does not count against its address. Returns the
 * handle, its request deadline armed, or NULL when a limit refuses it: FD is
 * then shut down (its owner closes it), and the refusal counted and logged
 * (one line per reason every 10 s at most). When the listener is full, the
 * connection that has waited longest (at least evict_after_ms) for its
 * request is shut down to make room, unless it is SHARED.
 */
struct conntrack_conn *conntrack_open(struct conntrack *ct, int fd, const struct sockaddr *sa, bool shared);

/* A complete request is being answered: no deadline until conntrack_idle. Accepts NULL. */
void conntrack_busy(struct conntrack_conn *c);

/* The answer was sent: the next request must be complete within timeout_ms. Accepts NULL. */
void conntrack_idle(struct conntrack_conn *c);

/* Whether C was shut down by its deadline or to make room (the peer did not close it). Accepts NULL. */
bool conntrack_was_shut(struct conntrack_conn *c);

/* The connection is closing (before its FD is closed): forget and free C. Accepts NULL. */
void conntrack_close(struct conntrack_conn *c);

/*
 * Shut down every connection whose deadline is at or before NOW_MS (CLOCK_MONOTONIC
 * milliseconds); the thread calls this, tests call it with their own clock.
 */
void conntrack_expire(struct conntrack *ct, long long now_ms);

/* Milliseconds of CLOCK_MONOTONIC, the clock of every deadline. */
long long conntrack_now_ms(void);

/* Events of kind E since start-up, all trackers together. */
unsigned long long conntrack_events(enum conntrack_event e);

/* Count one refusal the HTTP library made itself for a full listener. */
void conntrack_note_library_refusal(void);

#endif
