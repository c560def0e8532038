/* SPDX-License-Identifier: MIT */
/* conntrack: one listener's connections; per-address and total limits, request and idle deadlines. */
#include "conntrack.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_BUCKETS 4096
#define LOG_EVERY_MS 10000
/* eviction looks at this many of the oldest waiting connections at most */
#define EVICT_SCAN 64

/* One client address with open connections. */
struct addr_count {
	unsigned char key[17];		/* family byte, then the IPv4 or IPv6 address */
	unsigned n;
	struct addr_count *next;
};

struct conntrack_conn {
	struct conntrack *ct;
	int fd;
	unsigned char key[17];		/* the client address, as in struct addr_count */
	struct addr_count *addr;	/* NULL when shared (not limited per address) */
	bool armed, shut;
	long long deadline_ms, waiting_since_ms;
	struct conntrack_conn *prev, *next;	/* the deadline list while armed */
};

struct conntrack {
	char *name;
	struct conntrack_limits lim;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool running, stop;
	size_t n_open;
	struct addr_count *buckets[N_BUCKETS];
	/* armed connections: every deadline is now + timeout, so arming order is deadline order */
	struct conntrack_conn *head, *tail;
	long long last_log_ms[CONNTRACK_N];
	unsigned long long unlogged[CONNTRACK_N];
};

static atomic_ullong events[CONNTRACK_N];

unsigned long long
conntrack_events(enum conntrack_event e)
{
	return e < CONNTRACK_N ? atomic_load(&events[e]) : 0;
}

void
conntrack_note_library_refusal(void)
{
	static atomic_llong last = -LOG_EVERY_MS;
	static atomic_ullong unlogged;
	long long now = conntrack_now_ms(), then = atomic_load(&last);

	atomic_fetch_add(&events[CONNTRACK_REFUSED_FULL], 1);
	if (now - then < LOG_EVERY_MS || !atomic_compare_exchange_strong(&last, &then, now)) {
		atomic_fetch_add(&unlogged, 1);
		return;
	}
	log_warnx("connection refused: the HTTP library's own connection limit reached more_since_last=%llu",
	    atomic_exchange(&unlogged, 0));
}

long long
conntrack_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct conntrack *
conntrack_new(const char *name, const struct conntrack_limits *lim)
{
	struct conntrack *ct = xcalloc(1, sizeof(*ct));
	pthread_condattr_t ca;

	ct->name = xstrdup(name);
	ct->lim = *lim;
	pthread_mutex_init(&ct->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ct->cv, &ca);
	pthread_condattr_destroy(&ca);
	for (int i = 0; i < CONNTRACK_N; i++)
		ct->last_log_ms[i] = -LOG_EVERY_MS;
	return ct;
}

static void *
run(void *arg)
{
	struct conntrack *ct = arg;

	pthread_mutex_lock(&ct->mu);
	while (!ct->stop) {
		if (ct->head == NULL) {
			pthread_cond_wait(&ct->cv, &ct->mu);
		} else {
			long long d = ct->head->deadline_ms;
			struct timespec ts = { (time_t)(d / 1000), (long)(d % 1000) * 1000000 };

			pthread_cond_timedwait(&ct->cv, &ct->mu, &ts);
		}
		pthread_mutex_unlock(&ct->mu);
		conntrack_expire(ct, conntrack_now_ms());
		pthread_mutex_lock(&ct->mu);
	}
	pthread_mutex_unlock(&ct->mu);
	return NULL;
}

int
conntrack_start(struct conntrack *ct)
{
	if (pthread_create(&ct->thread, NULL, run, ct) != 0) {
		log_warnx("%s: cannot start the connection deadline thread for '%s'", __func__, ct->name);
		return -1;
	}
	ct->running = true;
	return 0;
}

void
conntrack_free(struct conntrack *ct)
{
	if (ct == NULL)
		return;
	if (ct->running) {
		pthread_mutex_lock(&ct->mu);
		ct->stop = true;
		pthread_cond_signal(&ct->cv);
		pthread_mutex_unlock(&ct->mu);
		pthread_join(ct->thread, NULL);
	}
	for (size_t i = 0; i < N_BUCKETS; i++)
		while (ct->buckets[i] != NULL) {
			struct addr_count *a = ct->buckets[i];

			ct->buckets[i] = a->next;
			free(a);
		}
	pthread_cond_destroy(&ct->cv);
	pthread_mutex_destroy(&ct->mu);
	free(ct->name);
	free(ct);
}

static size_t
bucket_of(const unsigned char key[17])
{
	/* FNV-1a */
	uint64_t h = 1469598103934665603ULL;

	for (int i = 0; i < 17; i++)
		h = (h ^ key[i]) * 1099511628211ULL;
	return (size_t)(h % N_BUCKETS);
}

static size_t
addr_key(const struct sockaddr *sa, unsigned char key[17])
{
	memset(key, 0, 17);
	if (sa->sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const unsigned char *a = (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		/* an IPv4 client on a dual-stack socket is the same client */
		if (memcmp(a, v4mapped, 12) == 0) {
			key[0] = 4;
			memcpy(key + 1, a + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a, 16);
		}
	}
	return bucket_of(key);
}

static void
addr_text(const unsigned char key[17], char *out, size_t len)
{
	if ((key[0] != 4 && key[0] != 6) ||
	    inet_ntop(key[0] == 4 ? AF_INET : AF_INET6, key + 1, out, (socklen_t)len) == NULL)
		snprintf(out, len, "-");
}

/* One line per reason every LOG_EVERY_MS at most; the ones in between are counted in it. Under the lock. */
static void
note(struct conntrack *ct, enum conntrack_event e, const unsigned char key[17], long long now)
{
	static const char *const what[CONNTRACK_N] = {
		"connection refused: per-address limit reached",
		"connection refused: listener full, no connection to evict",
		"connection closed to make room: no request after waiting",
		"connection closed: no complete request within connection_timeout",
	};
	char ip[INET6_ADDRSTRLEN];

	atomic_fetch_add(&events[e], 1);
	if (now - ct->last_log_ms[e] < LOG_EVERY_MS) {
		ct->unlogged[e]++;
		return;
	}
	addr_text(key, ip, sizeof(ip));
	log_warnx("%s listener=%s client=%s max_connections=%u max_connections_per_ip=%u more_since_last=%llu", what[e],
	    ct->name, ip, ct->lim.max_total, ct->lim.max_per_addr, ct->unlogged[e]);
	ct->last_log_ms[e] = now;
	ct->unlogged[e] = 0;
}

static void
arm(struct conntrack_conn *c, long long now)
{
	struct conntrack *ct = c->ct;

	if (c->armed || c->shut)
		return;
	c->armed = true;
	c->waiting_since_ms = now;
	c->deadline_ms = now + ct->lim.timeout_ms;
	c->next = NULL;
	c->prev = ct->tail;
	if (ct->tail != NULL)
		ct->tail->next = c;
	else {
		ct->head = c;
		pthread_cond_signal(&ct->cv);
	}
	ct->tail = c;
}

static void
disarm(struct conntrack_conn *c)
{
	struct conntrack *ct = c->ct;

	if (!c->armed)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ct->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		ct->tail = c->prev;
	c->prev = c->next = NULL;
	c->armed = false;
}

/* Shut a tracked connection down; libmicrohttpd then sees the end of the stream and closes it. */
static void
shut(struct conntrack_conn *c)
{
	disarm(c);
	c->shut = true;
	shutdown(c->fd, SHUT_RDWR);
}

struct conntrack_conn *
conntrack_open(struct conntrack *ct, int fd, const struct sockaddr *sa, bool shared)
{
	unsigned char key[17];
	size_t b = addr_key(sa, key);
	long long now = conntrack_now_ms();
	struct addr_count *a = NULL;
	struct conntrack_conn *c;

	pthread_mutex_lock(&ct->mu);
	if (!shared) {
		for (a = ct->buckets[b]; a != NULL && memcmp(a->key, key, sizeof(key)) != 0; a = a->next)
			;
		if (a != NULL && ct->lim.max_per_addr > 0 && a->n >= ct->lim.max_per_addr) {
			note(ct, CONNTRACK_REFUSED_PER_ADDR, key, now);
			pthread_mutex_unlock(&ct->mu);
			shutdown(fd, SHUT_RDWR);
			return NULL;
		}
	}
	if (ct->lim.max_total > 0 && ct->n_open >= ct->lim.max_total) {
		struct conntrack_conn *v = ct->head;

		/* the longest wait for a request first; balancers' connections are left alone */
		for (int i = 0; v != NULL && i < EVICT_SCAN; v = v->next, i++)
			if (v->addr != NULL && now - v->waiting_since_ms >= (long long)ct->lim.evict_after_ms)
				break;
		if (v == NULL || now - v->waiting_since_ms < (long long)ct->lim.evict_after_ms || v->addr == NULL) {
			note(ct, CONNTRACK_REFUSED_FULL, key, now);
			pthread_mutex_unlock(&ct->mu);
			shutdown(fd, SHUT_RDWR);
			return NULL;
		}
		note(ct, CONNTRACK_EVICTED, v->key, now);
		shut(v);
	}
	if (!shared && a == NULL) {
		a = xcalloc(1, sizeof(*a));
		memcpy(a->key, key, sizeof(key));
		a->next = ct->buckets[b];
		ct->buckets[b] = a;
	}
	c = xcalloc(1, sizeof(*c));
	c->ct = ct;
	c->fd = fd;
	memcpy(c->key, key, sizeof(key));
	c->addr = a;
	if (a != NULL)
		a->n++;
	ct->n_open++;
	arm(c, now);
	pthread_mutex_unlock(&ct->mu);
	return c;
}

void
conntrack_busy(struct conntrack_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->ct->mu);
	disarm(c);
	pthread_mutex_unlock(&c->ct->mu);
}

void
conntrack_idle(struct conntrack_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->ct->mu);
	arm(c, conntrack_now_ms());
	pthread_mutex_unlock(&c->ct->mu);
}

bool
conntrack_was_shut(struct conntrack_conn *c)
{
	bool shut;

	if (c == NULL)
		return false;
	pthread_mutex_lock(&c->ct->mu);
	shut = c->shut;
	pthread_mutex_unlock(&c->ct->mu);
	return shut;
}

void
conntrack_close(struct conntrack_conn *c)
{
	struct conntrack *ct;

	if (c == NULL)
		return;
	ct = c->ct;
	pthread_mutex_lock(&ct->mu);
	disarm(c);
	ct->n_open--;
	if (c->addr != NULL && --c->addr->n == 0) {
		struct addr_count **pp = &ct->buckets[bucket_of(c->addr->key)];

		while (*pp != c->addr)
			pp = &(*pp)->next;
		*pp = c->addr->next;
		free(c->addr);
	}
	pthread_mutex_unlock(&ct->mu);
	free(c);
}

void
conntrack_expire(struct conntrack *ct, long long now_ms)
{
	pthread_mutex_lock(&ct->mu);
	while (ct->head != NULL && ct->head->deadline_ms <= now_ms) {
		struct conntrack_conn *c = ct->head;

		note(ct, CONNTRACK_TIMEOUT, c->key, now_ms);
		shut(c);
	}
	pthread_mutex_unlock(&ct->mu);
}
