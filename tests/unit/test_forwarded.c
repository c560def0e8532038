/* SPDX-License-Identifier: MIT */
/* Unit tests of forwarded.c: X-Forwarded-For and Forwarded read from the right, past trusted proxies only. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "forwarded.h"

static struct cidr trusted[2];

static void
setup(void)
{
	/* 127.0.0.0/8 and 2001:db8:1::/48, as listen.trusted_proxies */
	memset(trusted, 0, sizeof(trusted));
	trusted[0].family = AF_INET;
	inet_pton(AF_INET, "127.0.0.0", trusted[0].addr);
	trusted[0].prefix = 8;
	trusted[1].family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1::", trusted[1].addr);
	trusted[1].prefix = 48;
}

TestSuite(forwarded, .init = setup);

/* The client X-Forwarded-For lines XFF (NULL-terminated) name, or "" when none is believed. */
static const char *
xff(const char *const *lines, size_t n)
{
	static char out[64];

	if (!forwarded_client(lines, n, NULL, 0, trusted, 2, out, sizeof(out)))
		return "";
	return out;
}

static const char *
fwd(const char *const *lines, size_t n)
{
	static char out[64];

	if (!forwarded_client(NULL, 0, lines, n, trusted, 2, out, sizeof(out)))
		return "";
	return out;
}

Test(forwarded, the_rightmost_untrusted_address_is_the_client)
{
	const char *one[] = { "198.51.100.6" };
	const char *chain[] = { "203.0.113.9, 198.51.100.6, 127.0.0.1" };
	const char *spoof[] = { "192.0.2.66, 198.51.100.6" };

	cr_assert_str_eq(xff(one, 1), "198.51.100.6");
	/* a trusted hop on the right is skipped (issue: this logged 127.0.0.1) */
	cr_assert_str_eq(xff(chain, 1), "198.51.100.6");
	/* what the client put left of the address its proxy appended is never believed */
	cr_assert_str_eq(xff(spoof, 1), "198.51.100.6");
}

Test(forwarded, every_header_line_is_one_list)
{
	/* HAProxy option forwardfor appends a second line after the client's own */
	const char *haproxy[] = { "192.0.2.66", "198.51.100.6" };
	const char *three[] = { "192.0.2.66", "198.51.100.6, 127.0.0.2", " 127.0.0.3 ," };

	cr_assert_str_eq(xff(haproxy, 2), "198.51.100.6");
	cr_assert_str_eq(xff(three, 3), "198.51.100.6");
}

Test(forwarded, all_trusted_gives_the_leftmost)
{
	const char *all[] = { "127.0.0.9, 127.0.0.1" };

	cr_assert_str_eq(xff(all, 1), "127.0.0.9");
}

Test(forwarded, garbage_stops_at_the_last_trusted_hop)
{
	const char *rightmost_bad[] = { "198.51.100.6, not-an-ip" };
	const char *middle_bad[] = { "198.51.100.6, junk, 127.0.0.5" };
	const char *empty[] = { "" };
	const char *commas[] = { " , ,," };

	cr_assert_str_eq(xff(rightmost_bad, 1), "");
	cr_assert_str_eq(xff(middle_bad, 1), "127.0.0.5");
	cr_assert_str_eq(xff(empty, 1), "");
	cr_assert_str_eq(xff(commas, 1), "");
	cr_assert_str_eq(xff(NULL, 0), "");
}

Test(forwarded, ports_brackets_and_ipv6)
{
	const char *v4port[] = { "198.51.100.6:4711" };
	const char *v6[] = { "2001:DB8::7, 2001:db8:1::1" };
	const char *v6port[] = { "[2001:db8::7]:443" };
	const char *mapped[] = { "::ffff:198.51.100.6" };
	const char *trusted_mapped[] = { "198.51.100.6, ::ffff:127.0.0.1" };
	const char *bad[] = { "[2001:db8::7" };

	cr_assert_str_eq(xff(v4port, 1), "198.51.100.6");
	cr_assert_str_eq(xff(v6, 1), "2001:db8::7");
	cr_assert_str_eq(xff(v6port, 1), "2001:db8::7");
	cr_assert_str_eq(xff(mapped, 1), "::ffff:198.51.100.6");
	/* an IPv4 proxy in its mapped form is the same proxy */
	cr_assert_str_eq(xff(trusted_mapped, 1), "198.51.100.6");
	cr_assert_str_eq(xff(bad, 1), "");
}

Test(forwarded, forwarded_header_rfc7239)
{
	const char *simple[] = { "for=198.51.100.6" };
	const char *ci[] = { "For=198.51.100.6;Proto=https", "FOR=127.0.0.1" };
	const char *quoted[] = { "for=\"[2001:db8::7]:4711\";by=127.0.0.1, for=127.0.0.2" };
	const char *spoof[] = { "for=192.0.2.66, for=198.51.100.6;proto=http" };
	const char *unknown[] = { "for=198.51.100.6, for=unknown, for=127.0.0.1" };
	const char *hidden[] = { "for=_hidden" };
	const char *no_for[] = { "by=127.0.0.1;proto=https" };
	const char *quoted_comma[] = { "for=198.51.100.6;ext=\"a,b\"" };

	cr_assert_str_eq(fwd(simple, 1), "198.51.100.6");
	cr_assert_str_eq(fwd(ci, 2), "198.51.100.6");
	cr_assert_str_eq(fwd(quoted, 1), "2001:db8::7");
	cr_assert_str_eq(fwd(spoof, 1), "198.51.100.6");
	cr_assert_str_eq(fwd(unknown, 1), "127.0.0.1");
	cr_assert_str_eq(fwd(hidden, 1), "");
	cr_assert_str_eq(fwd(no_for, 1), "");
	cr_assert_str_eq(fwd(quoted_comma, 1), "198.51.100.6");
}

Test(forwarded, both_headers_must_agree)
{
	const char *x[] = { "198.51.100.6" };
	const char *f_same[] = { "for=198.51.100.6" };
	const char *f_other[] = { "for=192.0.2.66" };
	char out[64];

	cr_assert(forwarded_client(x, 1, f_same, 1, trusted, 2, out, sizeof(out)));
	cr_assert_str_eq(out, "198.51.100.6");
	/* the balancer writes one of them; the client may have written the other */
	cr_assert_not(forwarded_client(x, 1, f_other, 1, trusted, 2, out, sizeof(out)));
}

Test(forwarded, no_trusted_list_trusts_nobody_beyond_the_peer)
{
	const char *chain[] = { "198.51.100.6, 127.0.0.1" };
	char out[64];

	cr_assert(forwarded_client(chain, 1, NULL, 0, trusted, 0, out, sizeof(out)));
	cr_assert_str_eq(out, "127.0.0.1");
}

Test(forwarded, only_the_rightmost_hops_are_read)
{
	char line[FORWARDED_MAX_HOPS * 16 + 64], *p = line;
	const char *lines[1] = { line };

	/* an untrusted address far left, then more trusted hops than are read */
	p += sprintf(p, "198.51.100.6");
	for (int i = 0; i < FORWARDED_MAX_HOPS + 4; i++)
		p += sprintf(p, ", 127.0.0.%d", i % 250 + 1);
	cr_assert_str_eq(xff(lines, 1), "127.0.0.5");
}

Test(forwarded, an_unclosed_quote_does_not_hide_what_a_proxy_appended)
{
	/* the client opens a quote; its balancer appends ", for=198.51.100.6" to the same line */
	const char *l1[] = { "for=192.0.2.66;x=\"a, for=198.51.100.6" };
	const char *l2[] = { "192.0.2.66, \"a, 198.51.100.6" };

	cr_expect_str_neq(fwd(l1, 1), "192.0.2.66", "the address the client chose is never believed");
	cr_expect_str_eq(fwd(l1, 1), "", "the swallowed element is garbage: nothing beyond it is believed");
	cr_expect_str_eq(xff(l2, 1), "");
}

Test(forwarded, an_escaped_quote_stays_inside_its_value)
{
	const char *l[] = { "for=198.51.100.7;ext=\"a\\\"b,c\"" };
	const char *two[] = { "for=192.0.2.9", "for=198.51.100.7;ext=\"x\\\"\";proto=http" };

	cr_expect_str_eq(fwd(l, 1), "198.51.100.7", "one element: the comma is inside the quoted value");
	cr_expect_str_eq(fwd(two, 2), "198.51.100.7");
}

Test(forwarded, the_rightmost_lines_are_kept)
{
	const char *lines[4];
	size_t n = 0;
	const char *in[] = { "c1", "c2", "c3", "c4", "c5", "proxy" };

	for (size_t i = 0; i < 6; i++)
		forwarded_keep(lines, &n, 4, in[i]);
	cr_assert_eq(n, 4);
	cr_expect_str_eq(lines[0], "c3");
	cr_expect_str_eq(lines[3], "proxy", "the line the proxy appended last is never pushed out");
	/* twenty client lines, then the trusted proxy's: the proxy's view wins, not the client's */
	{
		const char *kept[16];
		size_t k = 0;

		for (int i = 0; i < 20; i++)
			forwarded_keep(kept, &k, 16, "192.0.2.66");
		forwarded_keep(kept, &k, 16, "198.51.100.6");
		cr_expect_str_eq(xff(kept, k), "198.51.100.6");
	}
}
