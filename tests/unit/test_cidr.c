/* SPDX-License-Identifier: MIT */
/* Unit tests of cidr and addr: blocks and socket addresses read from config text, and who matches a block. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "addr.h"
#include "cidr.h"
#include "config.h"
#include "forwarded.h"
#include "proxyaccept.h"

static struct sockaddr_storage
ip(const char *s)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, s, &((struct sockaddr_in *)&ss)->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else if (inet_pton(AF_INET6, s, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1)
		ss.ss_family = AF_INET6;
	else
		cr_assert_fail("bad test address '%s'", s);
	return ss;
}

static bool
in(const struct cidr *list, size_t n, const char *addr)
{
	struct sockaddr_storage ss = ip(addr);

	return cidr_match(list, n, (const struct sockaddr *)&ss);
}

Test(cidr, parse)
{
	static const struct { const char *s; int family; unsigned prefix; const char *err; } cases[] = {
		{ "10.0.0.0/8", AF_INET, 8, NULL },
		{ "192.0.2.7", AF_INET, 32, NULL },
		{ "2001:db8::/32", AF_INET6, 32, NULL },
		{ "::1", AF_INET6, 128, NULL },
		{ "0.0.0.0/0", AF_INET, 0, NULL },
		{ "10.0.0.0/33", 0, 0, "'10.0.0.0/33' has an invalid prefix length" },
		{ "::/129", 0, 0, "'::/129' has an invalid prefix length" },
		{ "10.0.0.0/", 0, 0, "'10.0.0.0/' has an invalid prefix length" },
		{ "10.0.0.0/-1", 0, 0, "'10.0.0.0/-1' has an invalid prefix length" },
		{ "10.0.0.0/8x", 0, 0, "'10.0.0.0/8x' has an invalid prefix length" },
		{ "10.0.0/8", 0, 0, "'10.0.0/8' is not an address or CIDR block" },
		{ "/8", 0, 0, "'/8' is not an address or CIDR block" },
		{ "", 0, 0, "'' is not an address or CIDR block" },
		{ "example.com", 0, 0, "'example.com' is not an address or CIDR block" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cidr c;
		char err[128] = "";
		int rc = cidr_parse(cases[i].s, &c, err, sizeof(err));

		if (cases[i].err == NULL) {
			cr_expect_eq(rc, 0, "%s: %s", cases[i].s, err);
			cr_expect_eq(c.family, cases[i].family, "%s", cases[i].s);
			cr_expect_eq(c.prefix, cases[i].prefix, "%s", cases[i].s);
		} else {
			cr_expect_eq(rc, -1, "%s", cases[i].s);
			cr_expect_str_eq(err, cases[i].err);
			cr_expect_eq(c.family, 0, "%s: zeroed on failure", cases[i].s);
		}
	}
}

Test(cidr, match)
{
	struct cidr c[3];
	char err[128];

	cr_assert_eq(cidr_parse("10.0.0.0/8", &c[0], err, sizeof(err)), 0);
	cr_assert_eq(cidr_parse("2001:db8::/32", &c[1], err, sizeof(err)), 0);
	cr_assert_eq(cidr_parse("192.168.1.128/25", &c[2], err, sizeof(err)), 0);
	cr_expect(in(c, 3, "10.200.3.4"));
	cr_expect(!in(c, 3, "11.0.0.1"));
	cr_expect(in(c, 3, "2001:db8:ffff::1"));
	cr_expect(!in(c, 3, "2001:db9::1"));
	cr_expect(in(c, 3, "::ffff:10.1.2.3"), "an IPv4-mapped IPv6 peer matches the IPv4 block");
	cr_expect(!in(c, 3, "::ffff:11.1.2.3"));
	cr_expect(!in(c, 1, "::a00:1"), "an IPv4-compatible address is IPv6, not mapped");
	cr_expect(in(c, 3, "192.168.1.200"), "a prefix that is not a whole byte");
	cr_expect(!in(c, 3, "192.168.1.100"));
	cr_expect(!in(c, 0, "10.0.0.1"), "an empty list matches nothing");
	struct sockaddr un = { .sa_family = AF_UNIX };
	cr_expect(!cidr_match(c, 3, &un), "other families match nothing");
}

Test(cidr, any_is_every_address)
{
	struct cidr any[2];

	cidr_any(any);
	cr_expect(in(any, 2, "0.0.0.0"));
	cr_expect(in(any, 2, "255.255.255.255"));
	cr_expect(in(any, 2, "::"));
	cr_expect(in(any, 2, "ffff::1"));
	cr_expect(!in(any, 1, "::1"), "the first block is IPv4 only");
}

/* trusted_proxies and proxy_from, read by the same parser, are judged by the same matcher. */
Test(cidr, trusted_proxies_and_proxy_from_agree)
{
	static const char yaml[] = "listen:\n"
	    "  https: []\n"
	    "  http: [{address: \"127.0.0.1:8080\", proxy_protocol: true, proxy_from: [10.0.0.0/8, \"2001:db8::/32\"]}]\n"
	    "  trusted_proxies: [10.0.0.0/8, \"2001:db8::/32\"]\n"
	    "domains: [{name: example.com, mode: none}]\n";
	static const char *const peers[] = { "10.1.2.3", "::ffff:10.9.9.9", "2001:db8::5", "11.0.0.1",
		"2001:db9::1", "192.0.2.1" };
	struct diag_list dl;
	struct config *cfg;

	diag_init(&dl, "t.yaml");
	cfg = config_load_mem("t.yaml", "/srv", yaml, strlen(yaml), &dl);
	cr_assert_not_null(cfg);
	cr_assert_eq(cfg->n_http, 1);
	for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
		struct sockaddr_storage ss = ip(peers[i]);
		const struct sockaddr *sa = (const struct sockaddr *)&ss;
		bool trusted = cidr_match(cfg->trusted_proxies, cfg->n_trusted_proxies, sa);
		const char *line[1] = { "198.51.100.1" };
		char text[INET6_ADDRSTRLEN], client[64];

		cr_expect_eq(trusted, i < 3, "%s", peers[i]);
		cr_expect_eq(proxyaccept_allowed(cfg->http[0].proxy_from, cfg->http[0].n_proxy_from, sa), trusted,
		    "%s: proxy_from judges as trusted_proxies does", peers[i]);
		/* a trusted hop in X-Forwarded-For is walked past, an untrusted one is the client */
		inet_ntop(ss.ss_family, ss.ss_family == AF_INET ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr, text, sizeof(text));
		const char *two[2] = { line[0], text };
		cr_assert(forwarded_client(two, 2, NULL, 0, cfg->trusted_proxies, cfg->n_trusted_proxies, client,
		    sizeof(client)));
		cr_expect_str_eq(client, trusted ? "198.51.100.1" : text, "%s", peers[i]);
	}
	config_free(cfg);
	diag_clear(&dl);
}

Test(addr, parse)
{
	static const struct { const char *s; int family; unsigned port; const char *err; } cases[] = {
		{ "0.0.0.0:8443", AF_INET, 8443, NULL },
		{ "[::1]:53", AF_INET6, 53, NULL },
		{ "127.0.0.1:65535", AF_INET, 65535, NULL },
		{ "127.0.0.1:0", 0, 0, "address '127.0.0.1:0' has an invalid port (1..65535)" },
		{ "127.0.0.1:65536", 0, 0, "address '127.0.0.1:65536' has an invalid port (1..65535)" },
		{ "127.0.0.1", 0, 0, "address '127.0.0.1' must be IPV4:PORT or [IPV6]:PORT" },
		{ "::1:80", 0, 0, "address '::1:80' must be IPV4:PORT or [IPV6]:PORT" },
		{ "[::1]", 0, 0, "address '[::1]' must be IPV4:PORT or [IPV6]:PORT" },
		{ "[10.0.0.1]:80", 0, 0, "address '[10.0.0.1]:80': '10.0.0.1' is not an IPv6 address" },
		{ "localhost:80", 0, 0,
		    "address 'localhost:80': 'localhost' is not an IPv4 address (write IPv6 as [ADDR]:PORT)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss;
		socklen_t len = 0;
		char err[160] = "";
		int rc = addr_parse(cases[i].s, &ss, &len, err, sizeof(err));

		if (cases[i].err == NULL) {
			cr_expect_eq(rc, 0, "%s: %s", cases[i].s, err);
			cr_expect_eq(ss.ss_family, cases[i].family, "%s", cases[i].s);
			cr_expect_eq(addr_port(&ss), cases[i].port, "%s", cases[i].s);
			cr_expect_eq(len, cases[i].family == AF_INET ? sizeof(struct sockaddr_in) :
			    sizeof(struct sockaddr_in6), "%s", cases[i].s);
		} else {
			cr_expect_eq(rc, -1, "%s", cases[i].s);
			cr_expect_str_eq(err, cases[i].err);
		}
	}
}

Test(addr, wildcard)
{
	static const struct { const char *s; bool wild; } cases[] = {
		{ "0.0.0.0:1", true }, { "[::]:1", true }, { "127.0.0.1:1", false }, { "[::1]:1", false },
		{ "[::ffff:0.0.0.0]:1", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		char err[128];

		cr_assert_eq(addr_parse(cases[i].s, &ss, &len, err, sizeof(err)), 0, "%s", cases[i].s);
		cr_expect_eq(addr_is_wildcard(&ss), cases[i].wild, "%s", cases[i].s);
	}
}
