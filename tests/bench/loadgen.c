/* SPDX-License-Identifier: MIT */
/*
 * loadgen: an HTTPS load generator for policy hosts. Unlike wrk it spreads SNI
 * names over many hosts and never resumes a TLS session, so every connection
 * of the "fresh" mode is a full handshake. One thread, epoll, non-blocking.
 *
 *   loadgen -p PORT [-a ADDR] [-n DOMAINS | -f HOSTFILE] [-m fresh|keepalive]
 *           [-t 1.2|1.3] [-c CONNS] [-d SECONDS] [-r RATE] [-k REQS_PER_CONN]
 *           [-x EXPECTED_BODY_BYTES] [-C CAFILE] [-M] [-o json]
 *
 * Host names are mta-sts.d<i>.example for i in 0..DOMAINS-1 unless -f gives a
 * file with one host per line. -C verifies every server certificate against
 * CAFILE and the host name (a failure counts as a TLS error). -M checks that
 * each body has the line "mx: mail.<domain>" of the host it asked for. With -r the requests start at a fixed rate
 * (open loop) and latency is measured from the scheduled start, so a slow
 * server cannot hide its queueing (no coordinated omission).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum cstate { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_SENDING, C_READING };

struct conn {
	int fd;
	enum cstate st;
	gnutls_session_t tls;
	const char *host;
	char req[512];
	size_t req_len, req_off;
	char resp[8192];
	size_t resp_len;
	int reqs_on_conn;
	double started;		/* when this request was due (fixed rate) or began */
};

static struct {
	struct sockaddr_storage sa;
	socklen_t salen;
	char **hosts;
	size_t n_hosts, next_host;
	bool keepalive, plain, verify, check_mx;
	const char *prio;
	int conns, reqs_per_conn;
	double duration, rate;
	long expect_body;
	gnutls_certificate_credentials_t cred;
	int ep;
	/* results */
	unsigned long ok, errors, bad_status, handshakes, connect_errors, tls_errors;
	double *lat;
	size_t n_lat, cap_lat;
	double t0, next_due;
} g;

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
record_latency(double l)
{
	if (g.n_lat == g.cap_lat) {
		g.cap_lat = g.cap_lat ? g.cap_lat * 2 : 65536;
		g.lat = realloc(g.lat, g.cap_lat * sizeof(double));
		if (g.lat == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	g.lat[g.n_lat++] = l;
}

static void
conn_close(struct conn *c)
{
	if (c->tls) {
		gnutls_deinit(c->tls);
		c->tls = NULL;
	}
	if (c->fd >= 0) {
		epoll_ctl(g.ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	c->st = C_IDLE;
}

static void
want(struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };
	if (epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &e) < 0)
		epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &e);
}

static void
prepare_request(struct conn *c)
{
	c->req_len = (size_t)snprintf(c->req, sizeof(c->req),
	    "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: %s\r\nUser-Agent: loadgen\r\n%s\r\n",
	    c->host, g.keepalive && c->reqs_on_conn + 1 < g.reqs_per_conn ? "" : "Connection: close\r\n");
	c->req_off = 0;
	c->resp_len = 0;
}

static void
conn_start(struct conn *c, double due)
{
	int one = 1;

	c->host = g.hosts[g.next_host++ % g.n_hosts];
	c->reqs_on_conn = 0;
	c->started = due;
	c->fd = socket(g.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		perror("socket");
		exit(1);
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&g.sa, g.salen) < 0 && errno != EINPROGRESS) {
		g.connect_errors++;
		g.errors++;
		close(c->fd);
		c->fd = -1;
		c->st = C_IDLE;
		return;
	}
	c->st = C_CONNECTING;
	want(c, EPOLLOUT);
}

static void
fail(struct conn *c, unsigned long *counter)
{
	(*counter)++;
	g.errors++;
	conn_close(c);
}

static void
begin_tls(struct conn *c)
{
	gnutls_init(&c->tls, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	gnutls_priority_set_direct(c->tls, g.prio, NULL);
	gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, g.cred);
	gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, c->host, strlen(c->host));
	if (g.verify)
		gnutls_session_set_verify_cert(c->tls, c->host, 0);
	gnutls_transport_set_int(c->tls, c->fd);
	c->st = C_HANDSHAKE;
}

/* A complete response: headers plus Content-Length bytes. Returns status, 0 if incomplete. */
static int
response_complete(struct conn *c, long *body_len)
{
	char *hdr_end, *cl;
	int status;
	long len = 0;

	c->resp[c->resp_len] = '\0';
	hdr_end = strstr(c->resp, "\r\n\r\n");
	if (hdr_end == NULL)
		return 0;
	if (sscanf(c->resp, "HTTP/1.%*c %d", &status) != 1)
		return -1;
	cl = strcasestr(c->resp, "\r\ncontent-length:");
	if (cl && cl < hdr_end)
		len = strtol(cl + 17, NULL, 10);
	if ((size_t)(hdr_end + 4 - c->resp) + (size_t)len > c->resp_len)
		return 0;
	*body_len = len;
	return status;
}

/* Does the body carry "mx: mail.<domain>" for the host "mta-sts.<domain>" it was asked for? */
static bool
body_names_host(const struct conn *c)
{
	char want[300];
	const char *body = strstr(c->resp, "\r\n\r\n");

	if (body == NULL || strncmp(c->host, "mta-sts.", 8) != 0)
		return false;
	snprintf(want, sizeof(want), "\r\nmx: mail.%s\r\n", c->host + 8);
	return strstr(body, want) != NULL;
}

static void
finish_request(struct conn *c, int status, long body_len)
{
	double t = now();

	if (status != 200 || (g.expect_body >= 0 && body_len != g.expect_body) ||
	    (g.check_mx && !body_names_host(c))) {
		g.bad_status++;
		g.errors++;
	} else {
		g.ok++;
		record_latency(t - c->started);
	}
	c->reqs_on_conn++;
	if (g.keepalive && c->reqs_on_conn < g.reqs_per_conn && status == 200) {
		c->started = t;
		prepare_request(c);
		c->st = C_SENDING;
		want(c, EPOLLOUT);
		return;
	}
	conn_close(c);
}

static void
step(struct conn *c)
{
	for (;;) {
		switch (c->st) {
		case C_IDLE:
			return;
		case C_CONNECTING: {
			int err = 0;
			socklen_t l = sizeof(err);
			getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
			if (err) {
				fail(c, &g.connect_errors);
				return;
			}
			prepare_request(c);
			if (g.plain) {
				c->st = C_SENDING;
				continue;
			}
			begin_tls(c);
			continue;
		}
		case C_HANDSHAKE: {
			int r = gnutls_handshake(c->tls);
			if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
				want(c, gnutls_record_get_direction(c->tls) ? EPOLLOUT : EPOLLIN);
				return;
			}
			if (r < 0) {
				fail(c, &g.tls_errors);
				return;
			}
			g.handshakes++;
			c->st = C_SENDING;
			continue;
		}
		case C_SENDING: {
			ssize_t n;
			if (g.plain)
				n = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
			else
				n = gnutls_record_send(c->tls, c->req + c->req_off, c->req_len - c->req_off);
			if (n == GNUTLS_E_AGAIN || (g.plain && n < 0 && errno == EAGAIN)) {
				want(c, EPOLLOUT);
				return;
			}
			if (n < 0) {
				fail(c, &g.tls_errors);
				return;
			}
			c->req_off += (size_t)n;
			if (c->req_off == c->req_len) {
				c->st = C_READING;
				want(c, EPOLLIN);
			}
			continue;
		}
		case C_READING: {
			ssize_t n;
			long body_len = 0;
			int status;
			if (g.plain)
				n = recv(c->fd, c->resp + c->resp_len, sizeof(c->resp) - 1 - c->resp_len, 0);
			else
				n = gnutls_record_recv(c->tls, c->resp + c->resp_len, sizeof(c->resp) - 1 - c->resp_len);
			if (n == GNUTLS_E_AGAIN || (g.plain && n < 0 && errno == EAGAIN)) {
				/* GnuTLS may hold a whole record already decrypted */
				if (!g.plain && gnutls_record_check_pending(c->tls) > 0)
					continue;
				want(c, EPOLLIN);
				return;
			}
			if (n <= 0) {
				fail(c, n == 0 ? &g.bad_status : &g.tls_errors);
				return;
			}
			c->resp_len += (size_t)n;
			status = response_complete(c, &body_len);
			if (status == 0 && c->resp_len < sizeof(c->resp) - 1)
				continue;
			finish_request(c, status, body_len);
			return;
		}
		}
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
pct(double p)
{
	if (g.n_lat == 0)
		return 0;
	size_t i = (size_t)(p * (double)(g.n_lat - 1) + 0.5);
	return g.lat[i];
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen -p PORT [-a ADDR] [-n DOMAINS | -f HOSTFILE] [-m fresh|keepalive|plain]\n"
	    "               [-t 1.2|1.3] [-c CONNS] [-d SECONDS] [-r RATE] [-k REQS_PER_CONN]\n"
	    "               [-x BODY_BYTES] [-C CAFILE] [-M]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *addr = "127.0.0.1", *hostfile = NULL, *cafile = NULL, *tls = "1.3", *mode = "fresh";
	long port = 0, ndomains = 1;
	int o;

	g.conns = 16;
	g.duration = 5;
	g.reqs_per_conn = 100;
	g.expect_body = -1;
	while ((o = getopt(argc, argv, "a:p:n:f:m:t:c:d:r:k:x:C:M")) != -1) {
		switch (o) {
		case 'a': addr = optarg; break;
		case 'p': port = strtol(optarg, NULL, 10); break;
		case 'n': ndomains = strtol(optarg, NULL, 10); break;
		case 'f': hostfile = optarg; break;
		case 'm': mode = optarg; break;
		case 't': tls = optarg; break;
		case 'c': g.conns = atoi(optarg); break;
		case 'd': g.duration = atof(optarg); break;
		case 'r': g.rate = atof(optarg); break;
		case 'k': g.reqs_per_conn = atoi(optarg); break;
		case 'x': g.expect_body = strtol(optarg, NULL, 10); break;
		case 'C': cafile = optarg; break;
		case 'M': g.check_mx = true; break;
		default: usage();
		}
	}
	if (port <= 0 || port > 65535 || g.conns <= 0 || ndomains <= 0)
		usage();
	g.keepalive = strcmp(mode, "keepalive") == 0;
	g.plain = strcmp(mode, "plain") == 0;
	if (!g.keepalive)
		g.reqs_per_conn = 1;
	if (g.plain) {
		g.keepalive = true;	/* plain HTTP measures keep-alive GETs */
		g.reqs_per_conn = g.reqs_per_conn > 1 ? g.reqs_per_conn : 100;
	}
	if (strcmp(tls, "1.2") == 0)
		g.prio = "NORMAL:-VERS-ALL:+VERS-TLS1.2";
	else if (strcmp(tls, "1.3") == 0)
		g.prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3";
	else
		usage();

	memset(&g.sa, 0, sizeof(g.sa));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&g.sa;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, addr, &s6->sin6_addr) != 1)
			usage();
		g.salen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&g.sa;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, addr, &s4->sin_addr) != 1)
			usage();
		g.salen = sizeof(*s4);
	}

	if (hostfile) {
		FILE *f = fopen(hostfile, "r");
		char line[512];
		if (f == NULL) {
			perror(hostfile);
			return 1;
		}
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\r\n")] = '\0';
			if (line[0] == '\0')
				continue;
			g.hosts = realloc(g.hosts, (g.n_hosts + 1) * sizeof(char *));
			g.hosts[g.n_hosts++] = strdup(line);
		}
		fclose(f);
	} else {
		g.hosts = calloc((size_t)ndomains, sizeof(char *));
		for (long i = 0; i < ndomains; i++) {
			if (asprintf(&g.hosts[i], "mta-sts.d%ld.example", i) < 0)
				return 1;
		}
		g.n_hosts = (size_t)ndomains;
	}
	if (g.n_hosts == 0 || g.hosts == NULL)
		usage();

	gnutls_global_init();
	gnutls_certificate_allocate_credentials(&g.cred);
	if (cafile && gnutls_certificate_set_x509_trust_file(g.cred, cafile, GNUTLS_X509_FMT_PEM) <= 0) {
		fprintf(stderr, "loadgen: cannot read CA file %s\n", cafile);
		return 1;
	}
	g.verify = cafile != NULL;
	g.ep = epoll_create1(EPOLL_CLOEXEC);

	struct conn *conns = calloc((size_t)g.conns, sizeof(*conns));
	for (int i = 0; i < g.conns; i++)
		conns[i].fd = -1;
	/* SIGINT or SIGTERM ends the run early; the results so far are still printed */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	g.t0 = now();
	g.next_due = g.t0;
	double end = g.t0 + g.duration;
	struct epoll_event evs[256];

	for (;;) {
		double t = now();
		if (t >= end || stop)
			break;
		/* start new connections: as many as idle slots (closed loop) or as are due (fixed rate) */
		for (int i = 0; i < g.conns; i++) {
			if (conns[i].st != C_IDLE)
				continue;
			if (g.rate > 0) {
				if (g.next_due > t)
					break;
				conn_start(&conns[i], g.next_due);
				g.next_due += 1.0 / g.rate;
			} else {
				conn_start(&conns[i], t);
			}
		}
		int timeout = 100;
		if (g.rate > 0) {
			double wait = (g.next_due - now()) * 1000;
			timeout = wait < 0 ? 0 : wait > 100 ? 100 : (int)wait + 1;
		}
		int n = epoll_wait(g.ep, evs, 256, timeout);
		for (int i = 0; i < n; i++)
			step(evs[i].data.ptr);
	}
	double elapsed = now() - g.t0;
	for (int i = 0; i < g.conns; i++)
		if (conns[i].st != C_IDLE)
			conn_close(&conns[i]);

	qsort(g.lat, g.n_lat, sizeof(double), cmp_double);
	printf("{\"requests\": %lu, \"errors\": %lu, \"bad_status\": %lu, \"tls_errors\": %lu, "
	    "\"connect_errors\": %lu, \"handshakes\": %lu, \"seconds\": %.3f, \"rps\": %.1f, "
	    "\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f}\n",
	    g.ok, g.errors, g.bad_status, g.tls_errors, g.connect_errors, g.handshakes, elapsed,
	    (double)g.ok / elapsed, pct(0.50) * 1000, pct(0.99) * 1000,
	    g.n_lat ? g.lat[g.n_lat - 1] * 1000 : 0.0);
	for (size_t i = 0; i < g.n_hosts; i++)
		free(g.hosts[i]);
	free(g.hosts);
	free(g.lat);
	free(conns);
	gnutls_certificate_free_credentials(g.cred);
	gnutls_global_deinit();
	close(g.ep);
	return g.ok > 0 ? 0 : 1;
}
