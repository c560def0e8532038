/* SPDX-License-Identifier: MIT */
/* proxyaccept: accepts connections on PROXY-protocol listeners, reads and checks the header, hands them on. */
#ifndef MTASTSD_PROXYACCEPT_H
#define MTASTSD_PROXYACCEPT_H

#include <stddef.h>
#include <sys/socket.h>

#include "config.h"

struct proxyaccept;

/*
 * Called (on the acceptor thread) with a connected socket whose PROXY header has
 * been consumed, and the client's real address (the peer's own for LOCAL/UNKNOWN
 * headers). The callee owns FD from then on. ARG is the listener's argument.
 */
typedef void (*proxyaccept_fn)(void *arg, int fd, const struct sockaddr *sa, socklen_t salen);

/* Why connections were refused, for metrics. */
enum proxyaccept_reject {
	PROXYACCEPT_SOURCE,	/* the peer is not in proxy_from */
	PROXYACCEPT_INVALID,	/* a malformed header, or none */
	PROXYACCEPT_TIMEOUT,	/* the header did not arrive in time */
	PROXYACCEPT_OVERLOAD,	/* too many connections waiting for their header */
	PROXYACCEPT_N
};

/* Create an acceptor (no thread yet). TIMEOUT_MS bounds the wait for a header. */
struct proxyaccept *proxyaccept_new(unsigned timeout_ms);

/*
 * Bind and listen on CL's address; connections that pass are given to FN(ARG, ...).
 * Returns 0, or -1 (logged) when the address cannot be bound.
 */
int proxyaccept_listen(struct proxyaccept *pa, const struct config_listener *cl, proxyaccept_fn fn, void *arg);

/* Start the acceptor thread. Returns 0 or -1 (logged). */
int proxyaccept_start(struct proxyaccept *pa);

/* Stop accepting, close the listening sockets and the connections still waiting; free PA. Accepts NULL. */
void proxyaccept_free(struct proxyaccept *pa);

/* Connections refused for REASON since start-up (all acceptors). */
unsigned long long proxyaccept_rejected(enum proxyaccept_reject reason);

/* True when SA may send PROXY headers: it falls in one of the N blocks of CIDRS (cidr_match), or N == 0. */
int proxyaccept_allowed(const struct cidr *cidrs, size_t n, const struct sockaddr *sa);

#endif
