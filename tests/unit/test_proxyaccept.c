/* SPDX-License-Identifier: MIT */
/* The PROXY acceptor on loopback: headers consumed exactly, bad and slow headers closed, sources checked. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "diag.h"
#include "proxyaccept.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char got_addr[64];
static char got_data[64];
static int handed;

static void
on_conn(void *arg, int fd, const struct sockaddr *sa, socklen_t salen)
{
	char ip[INET6_ADDRSTRLEN];
	ssize_t n;
	(void)arg;
	(void)salen;
	inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
	struct pollfd pfd = { fd, POLLIN, 0 };
	poll(&pfd, 1, 2000);
	n = read(fd, got_data, sizeof(got_data) - 1);
	pthread_mutex_lock(&mu);
	snprintf(got_addr, sizeof(got_addr), "%s:%u", ip, ntohs(((const struct sockaddr_in *)sa)->sin_port));
	got_data[n > 0 ? n : 0] = '\0';
	handed++;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	close(fd);
}

static int
free_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	getsockname(fd, (struct sockaddr *)&sin, &l);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static struct config *
load(const char *yaml)
{
	struct diag_list dl;
	struct config *cfg;
	diag_init(&dl, "t.yaml");
	cfg = config_load_mem("t.yaml", ".", yaml, strlen(yaml), &dl);
	cr_assert_not_null(cfg, "config rejected (%zu errors)", dl.errors);
	diag_clear(&dl);
	return cfg;
}

static int
connect_to(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	return fd;
}

/* Wait until the server closes FD; true when it did within MS. */
static bool
closed_within(int fd, int ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char b[64];
	if (poll(&pfd, 1, ms) != 1)
		return false;
	return read(fd, b, sizeof(b)) <= 0;
}

Test(proxyaccept, cidr_matching)
{
	struct cidr c[2] = { { AF_INET, { 10, 0, 0, 0 }, 8 }, { AF_INET6, { 0x20, 0x01, 0x0d, 0xb8 }, 32 } };
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };

	inet_pton(AF_INET, "10.200.3.4", &in.sin_addr);
	cr_expect(proxyaccept_allowed(c, 2, (struct sockaddr *)&in));
	inet_pton(AF_INET, "11.0.0.1", &in.sin_addr);
	cr_expect(!proxyaccept_allowed(c, 2, (struct sockaddr *)&in));
	cr_expect(proxyaccept_allowed(c, 0, (struct sockaddr *)&in), "no list: any source");
	inet_pton(AF_INET6, "2001:db8:ffff::1", &in6.sin6_addr);
	cr_expect(proxyaccept_allowed(c, 2, (struct sockaddr *)&in6));
	inet_pton(AF_INET6, "2001:db9::1", &in6.sin6_addr);
	cr_expect(!proxyaccept_allowed(c, 2, (struct sockaddr *)&in6));
	inet_pton(AF_INET6, "::ffff:10.1.2.3", &in6.sin6_addr);
	cr_expect(proxyaccept_allowed(c, 2, (struct sockaddr *)&in6), "v4-mapped IPv6 matches the IPv4 block");
	struct cidr odd = { AF_INET, { 192, 168, 1, 128 }, 25 };
	inet_pton(AF_INET, "192.168.1.200", &in.sin_addr);
	cr_expect(proxyaccept_allowed(&odd, 1, (struct sockaddr *)&in));
	inet_pton(AF_INET, "192.168.1.100", &in.sin_addr);
	cr_expect(!proxyaccept_allowed(&odd, 1, (struct sockaddr *)&in));
}

Test(proxyaccept, headers_on_loopback)
{
	int port = free_port(), fd;
	char yaml[512];
	struct config *cfg;
	struct proxyaccept *pa;
	unsigned long long invalid0 = proxyaccept_rejected(PROXYACCEPT_INVALID);
	unsigned long long timeout0 = proxyaccept_rejected(PROXYACCEPT_TIMEOUT);

	snprintf(yaml, sizeof(yaml),
	    "listen: {https: [{address: '127.0.0.1:%d', proxy_protocol: true, proxy_from: [127.0.0.0/8]}], admin: ''}\n"
	    "domains: [{name: example.com, mx: [mail.example.com]}]\n", port);
	cfg = load(yaml);
	pa = proxyaccept_new(400);
	cr_assert_not_null(pa);
	cr_assert_eq(proxyaccept_listen(pa, &cfg->https[0], on_conn, NULL), 0);
	cr_assert_eq(proxyaccept_start(pa), 0);

	/* a v1 header split over two writes: consumed exactly, the client's bytes passed on */
	fd = connect_to(port);
	cr_assert(write(fd, "PROXY TCP4 192.0.2.7 198.51", 27) == 27);
	usleep(50000);
	cr_assert(write(fd, ".100.1 56324 443\r\nhello", 23) == 23);
	pthread_mutex_lock(&mu);
	while (handed < 1)
		pthread_cond_wait(&cv, &mu);
	cr_expect_str_eq(got_addr, "192.0.2.7:56324");
	cr_expect_str_eq(got_data, "hello");
	pthread_mutex_unlock(&mu);
	close(fd);

	/* garbage instead of a header: closed at once, counted */
	fd = connect_to(port);
	cr_assert(write(fd, "\x16\x03\x01\x02\x00", 5) == 5);
	cr_expect(closed_within(fd, 1000));
	close(fd);
	cr_expect_eq(proxyaccept_rejected(PROXYACCEPT_INVALID), invalid0 + 1);

	/* a header that never completes: closed after the timeout, counted */
	fd = connect_to(port);
	cr_assert(write(fd, "PROXY TCP4 ", 11) == 11);
	cr_expect(!closed_within(fd, 150), "closed before the timeout");
	cr_expect(closed_within(fd, 2000), "not closed after the timeout");
	close(fd);
	cr_expect_eq(proxyaccept_rejected(PROXYACCEPT_TIMEOUT), timeout0 + 1);
	cr_expect_eq(handed, 1);

	proxyaccept_free(pa);
	config_free(cfg);
}

Test(proxyaccept, source_not_allowed)
{
	int port = free_port(), fd;
	char yaml[512];
	struct config *cfg;
	struct proxyaccept *pa;
	unsigned long long src0 = proxyaccept_rejected(PROXYACCEPT_SOURCE);

	snprintf(yaml, sizeof(yaml),
	    "listen: {https: [{address: '127.0.0.1:%d', proxy_protocol: true, proxy_from: [10.0.0.0/8]}], admin: ''}\n"
	    "domains: [{name: example.com, mx: [mail.example.com]}]\n", port);
	cfg = load(yaml);
	pa = proxyaccept_new(2000);
	cr_assert_eq(proxyaccept_listen(pa, &cfg->https[0], on_conn, NULL), 0);
	cr_assert_eq(proxyaccept_start(pa), 0);
	fd = connect_to(port);
	cr_expect(closed_within(fd, 1000), "a source outside proxy_from was not closed");
	close(fd);
	cr_expect_eq(proxyaccept_rejected(PROXYACCEPT_SOURCE), src0 + 1);
	proxyaccept_free(pa);
	config_free(cfg);
}
