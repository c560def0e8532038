/* SPDX-License-Identifier: MIT */
/*
 * loadgen: an HTTPS load generator for policy hosts. Unlike wrk it spreads SNI
 * names over many hosts and never resumes a TLS session, so every connection
 * of the "fresh" mode is a full handshake. One thread, epoll, non-blocking.
 *
 *   loadgen -p PORT [-a ADDR] [-n DOMAINS | -f HOSTFILE] [-m fresh|keepalive|plain|flight]
 *           [-t 1.2|1.3] [-c CONNS] [-d SECONDS] [-r RATE] [-k REQS_PER_CONN]
 *           [-x EXPECTED_BODY_BYTES] [-C CAFILE] [-M] [-o json]
 *
 * Host names are mta-sts.d<i>.example for i in 0..DOMAINS-1 unless -f gives a
 * file with one host per line. -C verifies every server certificate against
 * CAFILE and the host name (a failure counts as a TLS error). -M checks that
 * each body has the line "mx: mail.<domain>" of the host it asked for. With -r the requests start at a fixed rate
 * (open loop) and latency is measured from the scheduled start, so a slow
 * server cannot hide its queueing (no coordinated omission).
 *
 * -m flight measures the server's side of fresh TLS 1.3 handshakes with a
 * client that costs almost nothing: each connection sends a ClientHello
 * built in advance (one per host, its key share reused), reads the
 * server's whole first flight (ServerHello to Finished: the server has made
 * its key share, the shared secret and the certificate signature by then)
 * by counting TLS records without decrypting them, and closes. The number
 * of records is learnt from one real handshake first. It exists to show how
 * the server scales over cores when the load generator has to share them:
 * a full client handshake costs the client more than the server.
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

enum cstate { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_SENDING, C_READING, C_HELLO, C_FLIGHT };

struct conn {
	int fd;
	bool in_epoll;		/* fd was added to the epoll set */
	enum cstate st;
	gnutls_session_t tls;
	const char *host;
	char req[512];
	size_t req_len, req_off;
	char resp[8192];
	size_t resp_len;
	int reqs_on_conn;
	double started;		/* when this request was due (fixed rate) or began */
	size_t host_idx;
	size_t hello_off;	/* flight mode: ClientHello bytes sent */
	unsigned char hdr[5];	/* flight mode: the record header being read */
	size_t hdr_have, rec_left;
	unsigned records;	/* flight mode: whole records received */
};

struct hello {
	unsigned char *data;
	size_t len;
};

static struct {
	struct sockaddr_storage sa;
	socklen_t salen;
	char **hosts;
	size_t n_hosts, next_host;
	bool keepalive, plain, verify, check_mx, flight;
	struct hello *hellos;	/* flight mode: a ClientHello per host */
	unsigned flight_records;	/* flight mode: records in the server's first flight */
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
		close(c->fd);	/* which takes it out of the epoll set too */
		c->fd = -1;
		c->in_epoll = false;
	}
	c->st = C_IDLE;
}

static void
want(struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	/* the load generator's system calls are CPU the server does not get on a shared core */
	epoll_ctl(g.ep, c->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e);
	c->in_epoll = true;
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

static void step(struct conn *c);

static void
conn_start(struct conn *c, double due)
{
	int one = 1;

	c->host_idx = g.next_host++ % g.n_hosts;
	c->host = g.hosts[c->host_idx];
	c->reqs_on_conn = 0;
	c->started = due;
	c->fd = socket(g.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		perror("socket");
		exit(1);
	}
	if (!g.flight)	/* one ClientHello: nothing to coalesce */
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&g.sa, g.salen) < 0 && errno != EINPROGRESS) {
		g.connect_errors++;
		g.errors++;
		close(c->fd);
		c->fd = -1;
		c->st = C_IDLE;
		return;
	}
	if (g.flight) {
		/*
		 * Over loopback the TCP handshake is usually over when connect
		 * returns: send the ClientHello at once, and wait for writability
		 * only if it is not (one epoll_ctl and one wake-up less per connection).
		 */
		c->hello_off = 0;
		c->hdr_have = c->rec_left = 0;
		c->records = 0;
		c->st = C_HELLO;
		step(c);
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

/* Flight mode: count whole TLS records in P[0..N) without reading them; -1 on an alert. */
static int
count_records(struct conn *c, const unsigned char *p, size_t n)
{
	while (n > 0) {
		if (c->rec_left > 0) {
			size_t k = n < c->rec_left ? n : c->rec_left;

			c->rec_left -= k;
			p += k;
			n -= k;
			if (c->rec_left == 0)
				c->records++;
			continue;
		}
		c->hdr[c->hdr_have++] = *p++;
		n--;
		if (c->hdr_have == 5) {
			if (c->hdr[0] == 0x15)
				return -1;
			c->rec_left = ((size_t)c->hdr[3] << 8) | c->hdr[4];
			c->hdr_have = 0;
			if (c->rec_left == 0)
				c->records++;
		}
	}
	return 0;
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
			if (g.flight) {
				c->hello_off = 0;
				c->hdr_have = c->rec_left = 0;
				c->records = 0;
				c->st = C_HELLO;
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
		case C_HELLO: {
			const struct hello *h = &g.hellos[c->host_idx];
			ssize_t n = send(c->fd, h->data + c->hello_off, h->len - c->hello_off, MSG_NOSIGNAL);

			if (n < 0 && errno == EAGAIN) {
				want(c, EPOLLOUT);
				return;
			}
			if (n < 0) {
				/* the first send is where a refused connection shows */
				fail(c, c->hello_off == 0 ? &g.connect_errors : &g.tls_errors);
				return;
			}
			c->hello_off += (size_t)n;
			if (c->hello_off == h->len) {
				c->st = C_FLIGHT;
				want(c, EPOLLIN);
			}
			continue;
		}
		case C_FLIGHT: {
			ssize_t n = recv(c->fd, c->resp, sizeof(c->resp), 0);

			if (n < 0 && errno == EAGAIN) {
				want(c, EPOLLIN);
				return;
			}
			if (n <= 0 || count_records(c, (unsigned char *)c->resp, (size_t)n) < 0) {
				fail(c, &g.tls_errors);
				return;
			}
			if (c->records >= g.flight_records) {
				/* a reset, not a FIN: no TIME_WAIT, less kernel work on the cores being measured */
				struct linger lg = { 1, 0 };

				setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
				g.handshakes++;
				g.ok++;
				record_latency(now() - c->started);
				conn_close(c);
				return;
			}
			continue;
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

/* ---- flight mode set-up ---- */

struct capture {
	gnutls_session_t s;
	unsigned char buf[4096];
	size_t len;
	int fd;
	struct conn counter;	/* only its record counting fields */
};

static ssize_t
capture_push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
	struct capture *cap = p;

	if (cap->fd >= 0)
		return send(cap->fd, data, len, MSG_NOSIGNAL);
	if (len > sizeof(cap->buf) - cap->len) {
		gnutls_transport_set_errno(cap->s, ENOBUFS);
		return -1;
	}
	memcpy(cap->buf + cap->len, data, len);
	cap->len += len;
	return (ssize_t)len;
}

static ssize_t
capture_pull(gnutls_transport_ptr_t p, void *data, size_t len)
{
	struct capture *cap = p;
	ssize_t n;

	if (cap->fd < 0) {
		gnutls_transport_set_errno(cap->s, EAGAIN);
		return -1;
	}
	n = recv(cap->fd, data, len, 0);
	if (n > 0)
		count_records(&cap->counter, data, (size_t)n);
	return n;
}

/* A client session for HOST whose transport is CAP. */
static gnutls_session_t
capture_session(struct capture *cap, const char *host)
{
	gnutls_session_t s;

	gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
	gnutls_priority_set_direct(s, g.prio, NULL);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, g.cred);
	gnutls_server_name_set(s, GNUTLS_NAME_DNS, host, strlen(host));
	gnutls_transport_set_ptr(s, cap);
	gnutls_transport_set_push_function(s, capture_push);
	gnutls_transport_set_pull_function(s, capture_pull);
	cap->s = s;
	return s;
}

/* Flight mode: a ClientHello per host, and the server's first flight counted in records once. */
static void
flight_setup(void)
{
	struct capture cap;
	gnutls_session_t s;
	int r;

	g.hellos = calloc(g.n_hosts, sizeof(*g.hellos));
	for (size_t i = 0; i < g.n_hosts; i++) {
		memset(&cap, 0, sizeof(cap));
		cap.fd = -1;
		s = capture_session(&cap, g.hosts[i]);
		r = gnutls_handshake(s);
		if (r != GNUTLS_E_AGAIN || cap.len == 0) {
			fprintf(stderr, "loadgen: cannot build a ClientHello: %s\n", gnutls_strerror(r));
			exit(1);
		}
		g.hellos[i].data = malloc(cap.len);
		memcpy(g.hellos[i].data, cap.buf, cap.len);
		g.hellos[i].len = cap.len;
		gnutls_deinit(s);
	}
	/* one real handshake: how many records the server sends before the client's Finished */
	memset(&cap, 0, sizeof(cap));
	cap.fd = socket(g.sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cap.fd < 0 || connect(cap.fd, (struct sockaddr *)&g.sa, g.salen) < 0) {
		perror("loadgen: connect");
		exit(1);
	}
	s = capture_session(&cap, g.hosts[0]);
	do
		r = gnutls_handshake(s);
	while (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED);
	if (r < 0 || cap.counter.records == 0 || cap.counter.rec_left != 0) {
		fprintf(stderr, "loadgen: the calibration handshake failed: %s\n", gnutls_strerror(r));
		exit(1);
	}
	g.flight_records = cap.counter.records;
	gnutls_bye(s, GNUTLS_SHUT_WR);
	gnutls_deinit(s);
	close(cap.fd);
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen -p PORT [-a ADDR] [-n DOMAINS | -f HOSTFILE] [-m fresh|keepalive|plain|flight]\n"
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
	g.flight = strcmp(mode, "flight") == 0;
	if (g.flight && strcmp(tls, "1.3") != 0)
		usage();	/* a TLS 1.2 server flight ends in plaintext; only 1.3 is measured */
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
	if (g.flight)
		flight_setup();
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
	for (size_t i = 0; i < g.n_hosts; i++) {
		free(g.hosts[i]);
		if (g.hellos)
			free(g.hellos[i].data);
	}
	free(g.hellos);
	free(g.hosts);
	free(g.lat);
	free(conns);
	gnutls_certificate_free_credentials(g.cred);
	gnutls_global_deinit();
	close(g.ep);
	return g.ok > 0 ? 0 : 1;
}
