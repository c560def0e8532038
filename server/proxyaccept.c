/* SPDX-License-Identifier: MIT */
/* proxyaccept: accepts connections on PROXY-protocol listeners, reads and checks the header, hands them on. */
#define _GNU_SOURCE	/* accept4 */
#include "proxyaccept.h"
#include "cidr.h"
#include "log.h"
#include "proxyproto.h"
#include "util.h"
#include "vec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* Connections waiting for their header at once; more are refused rather than queued. */
#define PENDING_MAX 4096

struct plistener {
	int fd;
	const struct config_listener *cl;	/* borrowed from the config that started the server */
	proxyaccept_fn fn;
	void *arg;
};

struct pending {
	int fd;
	struct plistener *l;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	long long deadline_ms;
	struct pending *prev, *next;	/* in arrival order: the oldest expires first */
};

struct proxyaccept {
	int ep, stopfd;
	unsigned timeout_ms;
	struct plistener *ls;
	size_t n_ls, cap_ls;
	struct pending *head, *tail;
	size_t n_pending;
	pthread_t thread;
	bool running;
	long long overload_logged_ms;	/* the last log line about PENDING_MAX */
	unsigned long long overload_unlogged;
};

static atomic_ullong rejected[PROXYACCEPT_N];

unsigned long long
proxyaccept_rejected(enum proxyaccept_reject reason)
{
	return atomic_load(&rejected[reason]);
}

static long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
proxyaccept_allowed(const struct cidr *cidrs, size_t n, const struct sockaddr *sa)
{
	return n == 0 || cidr_match(cidrs, n, sa);
}

struct proxyaccept *
proxyaccept_new(unsigned timeout_ms)
{
	struct proxyaccept *pa = xcalloc(1, sizeof(*pa));

	pa->timeout_ms = timeout_ms ? timeout_ms : 5000;
	pa->overload_logged_ms = -10000;
	pa->ep = epoll_create1(EPOLL_CLOEXEC);
	pa->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (pa->ep < 0 || pa->stopfd < 0) {
		log_warn("proxyaccept: cannot create epoll");
		if (pa->ep >= 0)
			close(pa->ep);
		if (pa->stopfd >= 0)
			close(pa->stopfd);
		free(pa);
		return NULL;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(pa->ep, EPOLL_CTL_ADD, pa->stopfd, &ev);
	return pa;
}

int
proxyaccept_listen(struct proxyaccept *pa, const struct config_listener *cl, proxyaccept_fn fn, void *arg)
{
	int fd, one = 1;

	fd = socket(cl->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("%s: socket", cl->address);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (cl->sa.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&cl->sa, cl->salen) < 0 || listen(fd, 1024) < 0) {
		log_warn("cannot listen on %s", cl->address);
		close(fd);
		return -1;
	}
	VEC_RESERVE(pa->ls, pa->cap_ls, pa->n_ls + 1, 4);
	pa->ls[pa->n_ls] = (struct plistener){ fd, cl, fn, arg };
	pa->n_ls++;
	return 0;
}

static void
pending_unlink(struct proxyaccept *pa, struct pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		pa->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		pa->tail = p->prev;
	pa->n_pending--;
}

static void
pending_drop(struct proxyaccept *pa, struct pending *p, enum proxyaccept_reject why)
{
	/* counted before the close, so whoever sees the close also sees the count */
	atomic_fetch_add(&rejected[why], 1);
	pending_unlink(pa, p);
	epoll_ctl(pa->ep, EPOLL_CTL_DEL, p->fd, NULL);
	close(p->fd);
	free(p);
}

static void
accept_all(struct proxyaccept *pa, struct plistener *l)
{
	for (;;) {
		struct pending *p;
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
				log_warn("%s: accept", l->cl->address);
			return;
		}
		if (!proxyaccept_allowed(l->cl->proxy_from, l->cl->n_proxy_from, (struct sockaddr *)&peer)) {
			atomic_fetch_add(&rejected[PROXYACCEPT_SOURCE], 1);
			close(fd);
			continue;
		}
		if (pa->n_pending >= PENDING_MAX) {
			long long now = now_ms();

			atomic_fetch_add(&rejected[PROXYACCEPT_OVERLOAD], 1);
			close(fd);
			/* a refusal by a limit is logged, once every 10 s at most */
			if (now - pa->overload_logged_ms >= 10000) {
				log_warnx("proxy: connection refused: %d connections already wait for their PROXY header on "
				    "'%s' more_since_last=%llu", PENDING_MAX, l->cl->address, pa->overload_unlogged);
				pa->overload_logged_ms = now;
				pa->overload_unlogged = 0;
			} else {
				pa->overload_unlogged++;
			}
			continue;
		}
		p = xcalloc(1, sizeof(*p));
		p->fd = fd;
		p->l = l;
		p->peer = peer;
		p->peerlen = plen;
		p->deadline_ms = now_ms() + pa->timeout_ms;
		p->prev = pa->tail;
		if (pa->tail)
			pa->tail->next = p;
		else
			pa->head = p;
		pa->tail = p;
		pa->n_pending++;
		/* edge-triggered: peeked bytes stay in the socket, so a level trigger would spin */
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = p };
		epoll_ctl(pa->ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

/* Data arrived on a pending connection: a whole header hands it on, a bad one closes it. */
static void
read_header(struct proxyaccept *pa, struct pending *p, uint32_t events)
{
	unsigned char buf[PROXY_MAX_HEADER];
	struct proxy_info info;
	const char *why = NULL;
	enum proxy_result r;
	ssize_t n;

	/* peek, so that not a byte of the client's own stream (its ClientHello) is consumed */
	n = recv(p->fd, buf, sizeof(buf), MSG_PEEK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		pending_drop(pa, p, PROXYACCEPT_INVALID);
		return;
	}
	r = proxy_parse(buf, (size_t)n, &info, &why);
	if (r == PROXY_NEED_MORE) {
		/* a peer that hung up will never complete its header */
		if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
			pending_drop(pa, p, PROXYACCEPT_INVALID);
		return;
	}
	if (r == PROXY_INVALID) {
		char peer[INET6_ADDRSTRLEN] = "?";
		if (p->peer.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&p->peer)->sin_addr, peer, sizeof(peer));
		else if (p->peer.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&p->peer)->sin6_addr, peer, sizeof(peer));
		log_debug("proxy: closing connection from %s on %s: %s", peer, p->l->cl->address, why);
		pending_drop(pa, p, PROXYACCEPT_INVALID);
		return;
	}
	/* consume exactly the header; the rest stays for the TLS or HTTP layer */
	if (recv(p->fd, buf, info.header_len, 0) != (ssize_t)info.header_len) {
		pending_drop(pa, p, PROXYACCEPT_INVALID);
		return;
	}
	pending_unlink(pa, p);
	epoll_ctl(pa->ep, EPOLL_CTL_DEL, p->fd, NULL);
	if (info.local)
		p->l->fn(p->l->arg, p->fd, (struct sockaddr *)&p->peer, p->peerlen);
	else
		p->l->fn(p->l->arg, p->fd, (struct sockaddr *)&info.src, info.srclen);
	free(p);
}

static void *
run(void *arg)
{
	struct proxyaccept *pa = arg;
	struct epoll_event evs[64];

	for (;;) {
		long long now = now_ms();
		int timeout = -1;

		while (pa->head && pa->head->deadline_ms <= now)
			pending_drop(pa, pa->head, PROXYACCEPT_TIMEOUT);
		if (pa->head)
			timeout = (int)(pa->head->deadline_ms - now);
		int n = epoll_wait(pa->ep, evs, 64, timeout);
		for (int i = 0; i < n; i++) {
			void *ptr = evs[i].data.ptr;
			if (ptr == NULL)
				return NULL;	/* stop */
			if (ptr >= (void *)pa->ls && ptr < (void *)(pa->ls + pa->n_ls))
				accept_all(pa, ptr);
			else
				read_header(pa, ptr, evs[i].events);
		}
	}
}

int
proxyaccept_start(struct proxyaccept *pa)
{
	for (size_t i = 0; i < pa->n_ls; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &pa->ls[i] };
		epoll_ctl(pa->ep, EPOLL_CTL_ADD, pa->ls[i].fd, &ev);
	}
	if (pthread_create(&pa->thread, NULL, run, pa) != 0) {
		log_warnx("proxyaccept: cannot start its thread");
		return -1;
	}
	pa->running = true;
	return 0;
}

void
proxyaccept_free(struct proxyaccept *pa)
{
	uint64_t one = 1;

	if (pa == NULL)
		return;
	if (pa->running) {
		ssize_t w = write(pa->stopfd, &one, sizeof(one));
		(void)w;
		pthread_join(pa->thread, NULL);
	}
	while (pa->head) {
		struct pending *p = pa->head;
		pending_unlink(pa, p);
		close(p->fd);
		free(p);
	}
	for (size_t i = 0; i < pa->n_ls; i++)
		close(pa->ls[i].fd);
	free(pa->ls);
	close(pa->stopfd);
	close(pa->ep);
	free(pa);
}
