/* SPDX-License-Identifier: MIT */
/* Unit tests of conntrack.c: per-address and total limits, eviction, deadlines; socketpairs, no network. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conntrack.h"

/* A connected pair: [0] is the server's end handed to conntrack, [1] the client's. */
struct pair {
	int fd[2];
};

static struct pair
pair_new(void)
{
	struct pair p;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p.fd), 0);
	fcntl(p.fd[1], F_SETFL, O_NONBLOCK);
	return p;
}

/* Whether the server's end was shut down: the client reads the end of the stream. */
static bool
was_shut(struct pair p)
{
	char c;

	return recv(p.fd[1], &c, 1, 0) == 0;
}

static void
pair_free(struct pair p)
{
	close(p.fd[0]);
	close(p.fd[1]);
}

static struct sockaddr_in
v4(const char *ip)
{
	struct sockaddr_in sa = { 0 };

	sa.sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sa.sin_addr);
	return sa;
}

#define SA(x) ((const struct sockaddr *)&(x))

Test(conntrack, per_address_limit_spares_other_addresses_and_shared_peers)
{
	struct conntrack_limits lim = { 60000, 0, 2, 1000 };
	struct conntrack *ct = conntrack_new("test", &lim);
	struct sockaddr_in a = v4("192.0.2.1"), b = v4("192.0.2.2");
	struct sockaddr_in6 mapped = { 0 };
	struct pair p[7];
	struct conntrack_conn *c[7];
	unsigned long long refused = conntrack_events(CONNTRACK_REFUSED_PER_ADDR);

	mapped.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:192.0.2.1", &mapped.sin6_addr);
	for (int i = 0; i < 7; i++)
		p[i] = pair_new();
	c[0] = conntrack_open(ct, p[0].fd[0], SA(a), false);
	c[1] = conntrack_open(ct, p[1].fd[0], SA(a), false);
	/* the same client on a dual-stack socket is the same address */
	c[2] = conntrack_open(ct, p[2].fd[0], SA(mapped), false);
	c[3] = conntrack_open(ct, p[3].fd[0], SA(b), false);
	/* a balancer's connections carry many clients: never limited per address */
	c[4] = conntrack_open(ct, p[4].fd[0], SA(a), true);
	c[5] = conntrack_open(ct, p[5].fd[0], SA(a), true);
	cr_assert(c[0] && c[1] && c[3] && c[4] && c[5]);
	cr_assert_null(c[2]);
	cr_assert(was_shut(p[2]));
	cr_assert_not(was_shut(p[0]));
	cr_assert_eq(conntrack_events(CONNTRACK_REFUSED_PER_ADDR), refused + 1);
	/* a closed connection frees its place */
	conntrack_close(c[0]);
	c[6] = conntrack_open(ct, p[6].fd[0], SA(a), false);
	cr_assert_not_null(c[6]);
	for (int i = 1; i < 7; i++)
		conntrack_close(c[i]);
	for (int i = 0; i < 7; i++)
		pair_free(p[i]);
	conntrack_free(ct);
}

Test(conntrack, deadlines_cover_the_request_and_each_idle_wait)
{
	struct conntrack_limits lim = { 1000, 0, 0, 1000 };
	struct conntrack *ct = conntrack_new("test", &lim);
	struct sockaddr_in a = v4("192.0.2.1");
	struct pair slow = pair_new(), busy = pair_new();
	long long t0 = conntrack_now_ms();
	struct conntrack_conn *cs = conntrack_open(ct, slow.fd[0], SA(a), false);
	struct conntrack_conn *cb = conntrack_open(ct, busy.fd[0], SA(a), true);
	unsigned long long timeouts = conntrack_events(CONNTRACK_TIMEOUT);

	conntrack_busy(cb);
	conntrack_expire(ct, t0 + 500);
	cr_assert_not(was_shut(slow));
	/* one deadline from accept, whatever arrives meanwhile; a request being answered has none */
	conntrack_expire(ct, t0 + 60000);
	cr_assert(was_shut(slow));
	cr_assert_not(was_shut(busy));
	cr_assert_eq(conntrack_events(CONNTRACK_TIMEOUT), timeouts + 1);
	/* after the answer, the next request has the timeout again, from now */
	conntrack_idle(cb);
	conntrack_expire(ct, conntrack_now_ms() + 500);
	cr_assert_not(was_shut(busy));
	conntrack_expire(ct, conntrack_now_ms() + 1000);
	cr_assert(was_shut(busy));
	/* a connection already shut down is not armed again */
	conntrack_idle(cs);
	conntrack_expire(ct, conntrack_now_ms() + 60000);
	cr_assert_eq(conntrack_events(CONNTRACK_TIMEOUT), timeouts + 2);
	conntrack_close(cs);
	conntrack_close(cb);
	pair_free(slow);
	pair_free(busy);
	conntrack_free(ct);
}

Test(conntrack, a_full_listener_evicts_the_longest_wait_but_never_a_balancer)
{
	struct conntrack_limits lim = { 60000, 3, 0, 0 };
	struct conntrack *ct = conntrack_new("test", &lim);
	struct sockaddr_in a = v4("192.0.2.1"), b = v4("192.0.2.2");
	struct pair lb = pair_new(), old = pair_new(), answering = pair_new(), fresh = pair_new(), more = pair_new();
	struct conntrack_conn *clb = conntrack_open(ct, lb.fd[0], SA(a), true);
	struct conntrack_conn *cold = conntrack_open(ct, old.fd[0], SA(a), false);
	struct conntrack_conn *cans = conntrack_open(ct, answering.fd[0], SA(a), false);
	unsigned long long evicted = conntrack_events(CONNTRACK_EVICTED), full = conntrack_events(CONNTRACK_REFUSED_FULL);

	conntrack_busy(cans);
	/* full: the balancer's connection is older, but the oldest client waiting for its request goes */
	struct conntrack_conn *cfresh = conntrack_open(ct, fresh.fd[0], SA(b), false);
	cr_assert_not_null(cfresh);
	cr_assert(was_shut(old));
	cr_assert_not(was_shut(lb));
	cr_assert_not(was_shut(answering));
	cr_assert_eq(conntrack_events(CONNTRACK_EVICTED), evicted + 1);
	conntrack_close(cold);
	/* only the balancer waits now: nothing may be evicted, the newcomer is refused */
	conntrack_busy(cfresh);
	cr_assert_null(conntrack_open(ct, more.fd[0], SA(b), false));
	cr_assert(was_shut(more));
	cr_assert_not(was_shut(lb));
	cr_assert_eq(conntrack_events(CONNTRACK_REFUSED_FULL), full + 1);
	conntrack_close(cfresh);
	conntrack_close(clb);
	conntrack_close(cans);
	pair_free(lb);
	pair_free(old);
	pair_free(answering);
	pair_free(fresh);
	pair_free(more);
	conntrack_free(ct);
}
