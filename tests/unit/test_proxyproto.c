/* SPDX-License-Identifier: MIT */
/* PROXY protocol v1/v2 parser: valid headers, every prefix of them, and malformed ones. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proxyproto.h"

static void
expect_addr(const struct proxy_info *pi, const char *addr, unsigned port)
{
	char buf[INET6_ADDRSTRLEN];
	if (pi->src.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)&pi->src;
		inet_ntop(AF_INET, &s->sin_addr, buf, sizeof(buf));
		cr_expect_eq(ntohs(s->sin_port), port);
	} else {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&pi->src;
		cr_assert_eq(pi->src.ss_family, AF_INET6);
		inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof(buf));
		cr_expect_eq(ntohs(s->sin6_port), port);
	}
	cr_expect_str_eq(buf, addr);
}

/* Every strict prefix of a valid header is NEED_MORE; the whole is OK. */
static void
parse_ok(const unsigned char *h, size_t hl, size_t trailing, struct proxy_info *pi)
{
	for (size_t i = 0; i < hl; i++)
		cr_expect_eq(proxy_parse(h, i, pi, NULL), PROXY_NEED_MORE, "prefix of %zu bytes", i);
	cr_assert_eq(proxy_parse(h, hl + trailing, pi, NULL), PROXY_OK);
	cr_expect_eq(pi->header_len, hl);
}

Test(proxyproto, v1_tcp4)
{
	const char *h = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n\x16\x03\x01";
	struct proxy_info pi;
	parse_ok((const unsigned char *)h, strlen(h) - 3, 3, &pi);
	cr_expect_eq(pi.version, 1);
	cr_expect(!pi.local);
	expect_addr(&pi, "192.0.2.7", 56324);
}

Test(proxyproto, v1_tcp6_and_unknown)
{
	const char *h = "PROXY TCP6 2001:db8::1 2001:db8::2 65535 443\r\n";
	const char *u = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
	struct proxy_info pi;
	parse_ok((const unsigned char *)h, strlen(h), 0, &pi);
	expect_addr(&pi, "2001:db8::1", 65535);
	parse_ok((const unsigned char *)u, strlen(u), 0, &pi);
	cr_expect(pi.local);
	cr_expect_eq(proxy_parse((const unsigned char *)"PROXY UNKNOWN\r\n", 15, &pi, NULL), PROXY_OK);
}

Test(proxyproto, v1_invalid)
{
	static const char *bad[] = {
		"PROXY TCP4 192.0.2.7 198.51.100.1 56324 65536\r\n",	/* port out of range */
		"PROXY TCP4 192.0.2.7 198.51.100.1 056324 443\r\n",	/* leading zero */
		"PROXY TCP4 192.0.2.7  198.51.100.1 1 443\r\n",		/* two spaces */
		"PROXY TCP4 2001:db8::1 198.51.100.1 1 443\r\n",	/* IPv6 as TCP4 */
		"PROXY TCP4 192.0.2.300 198.51.100.1 1 443\r\n",	/* bad address */
		"PROXY TCP5 192.0.2.7 198.51.100.1 1 443\r\n",		/* unknown protocol */
		"PROXY TCP4 192.0.2.7 198.51.100.1 1\r\n",		/* missing field */
		"PROXY TCP4 192.0.2.7 198.51.100.1 1 443\n",		/* LF only */
		"PROXY TCP4 192.0.2.7 198.51.100.1 1 443\rX",		/* CR without LF */
		"proxy TCP4 192.0.2.7 198.51.100.1 1 443\r\n",		/* case */
		"GET / HTTP/1.1\r\n",					/* no header at all */
		"\x16\x03\x01\x02\x00\x01",				/* a ClientHello */
		"PROXY TCP4 192.0.2.7\x01 198.51.100.1 1 443\r\n",	/* control byte */
	};
	struct proxy_info pi;
	const char *why = NULL;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(proxy_parse((const unsigned char *)bad[i], strlen(bad[i]), &pi, &why), PROXY_INVALID,
		    "accepted: %s", bad[i]);
		cr_expect(why != NULL && why[0] != '\0');
	}
	/* 107 bytes without CRLF: too long, not "need more" */
	char lng[200] = "PROXY UNKNOWN ";
	memset(lng + 14, 'a', 150);
	cr_expect_eq(proxy_parse((unsigned char *)lng, 164, &pi, NULL), PROXY_INVALID);
}

/* The spec's 107 bytes include the CRLF: its worst case, UNKNOWN with two full IPv6 addresses. */
Test(proxyproto, v1_limit_counts_the_crlf)
{
	const char *worst = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	char over[120];
	struct proxy_info pi;
	const char *why = NULL;

	cr_assert_eq(strlen(worst), 107);
	parse_ok((const unsigned char *)worst, 107, 0, &pi);
	cr_expect(pi.local);
	/* one byte more: the CR at index 106, 108 bytes with the LF */
	snprintf(over, sizeof(over), "%.105s5\r\n", worst);
	cr_assert_eq(strlen(over), 108);
	cr_expect_eq(proxy_parse((const unsigned char *)over, 108, &pi, &why), PROXY_INVALID);
	cr_expect(why != NULL && strstr(why, "107") != NULL, "why: %s", why ? why : "(null)");
	/* refused as soon as 106 bytes without a CR are in: no CRLF can end it in time */
	cr_expect_eq(proxy_parse((const unsigned char *)over, 106, &pi, NULL), PROXY_INVALID);
	cr_expect_eq(proxy_parse((const unsigned char *)over, 105, &pi, NULL), PROXY_NEED_MORE);
}

/*
 * A socket may deliver a header in any split, and the parser sees what has arrived so far:
 * once a prefix is refused, every longer read of the same bytes is refused too (the spec:
 * abort as soon as possible), never left waiting for more.
 */
static void
refused_from(const char *h, size_t bad)
{
	size_t n = strlen(h);
	struct proxy_info pi;

	for (size_t i = 0; i <= n; i++)
		cr_expect_eq(proxy_parse((const unsigned char *)h, i, &pi, NULL),
		    i <= bad ? PROXY_NEED_MORE : PROXY_INVALID, "%zu of %zu bytes of \"%s\"", i, n, h);
}

Test(proxyproto, v1_split_does_not_change_the_answer)
{
	refused_from("PROXY UNKNOWN a\x15z\r", 15);			/* control byte, then a CR */
	refused_from("PROXY UNKNOWN a\x15z\r\n", 15);
	refused_from("PROXY TCP4 192.0.2.7\x7f 198.51.100.1 1 443\r", 20);	/* DEL */
	refused_from("PROXY TCP4 192.0.2.7 198.51.100.1 1 443\n\r", 39);	/* LF before the CR */
	refused_from("PROXY TCP4 192.0.2.7 198.51.100.1 1 443\r\r", 40);	/* CR without LF */
}

/* "PROXY UNKNOWN": the receiver must ignore anything before the CRLF (fields or not). */
Test(proxyproto, v1_unknown_ignores_the_rest_of_the_line)
{
	static const char *ok[] = {
		"PROXY UNKNOWN a b c d e f g h\r\n",
		"PROXY UNKNOWN  two  spaces \r\n",
		"PROXY UNKNOWN \r\n",
	};
	struct proxy_info pi;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		parse_ok((const unsigned char *)ok[i], strlen(ok[i]), 0, &pi);
		cr_expect(pi.local, "%s", ok[i]);
	}
	cr_expect_eq(proxy_parse((const unsigned char *)"PROXY UNKNOWNX\r\n", 16, &pi, NULL), PROXY_INVALID);
	cr_expect_eq(proxy_parse((const unsigned char *)"PROXY UNKNOWN\x01\r\n", 16, &pi, NULL), PROXY_INVALID);
}

static size_t
v2(unsigned char *out, unsigned vercmd, unsigned fam, const unsigned char *addr, size_t alen)
{
	memcpy(out, PROXY_V2_SIG, PROXY_V2_SIG_LEN);
	out[12] = (unsigned char)vercmd;
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(alen >> 8);
	out[15] = (unsigned char)alen;
	memcpy(out + 16, addr, alen);
	return 16 + alen;
}

Test(proxyproto, v2_tcp4_tcp6_local)
{
	unsigned char b[1200], a[64] = { 203, 0, 113, 9, 198, 51, 100, 1, 0x1f, 0x90, 0x01, 0xbb };
	struct proxy_info pi;
	size_t n;

	n = v2(b, 0x21, 0x11, a, 12);
	parse_ok(b, n, 0, &pi);
	cr_expect_eq(pi.version, 2);
	expect_addr(&pi, "203.0.113.9", 8080);
	/* TLVs after the addresses are skipped with them */
	memcpy(a + 12, "\x04\x00\x03xyz", 6);
	n = v2(b, 0x21, 0x11, a, 18);
	parse_ok(b, n, 0, &pi);
	expect_addr(&pi, "203.0.113.9", 8080);

	unsigned char a6[36] = { 0x20, 0x01, 0x0d, 0xb8 };
	a6[15] = 5;
	a6[32] = 0x30;
	a6[33] = 0x39;
	n = v2(b, 0x21, 0x21, a6, 36);
	parse_ok(b, n, 0, &pi);
	expect_addr(&pi, "2001:db8::5", 12345);

	n = v2(b, 0x20, 0x00, a, 0);	/* LOCAL */
	parse_ok(b, n, 0, &pi);
	cr_expect(pi.local);
	n = v2(b, 0x21, 0x00, a, 0);	/* PROXY with UNSPEC */
	parse_ok(b, n, 0, &pi);
	cr_expect(pi.local);
}

Test(proxyproto, v2_invalid)
{
	unsigned char b[1200], a[1100] = { 0 };
	struct proxy_info pi;
	size_t n;

	n = v2(b, 0x11, 0x11, a, 12);	/* version 1 in a v2 header */
	cr_expect_eq(proxy_parse(b, n, &pi, NULL), PROXY_INVALID);
	n = v2(b, 0x22, 0x11, a, 12);	/* command 2 */
	cr_expect_eq(proxy_parse(b, n, &pi, NULL), PROXY_INVALID);
	n = v2(b, 0x21, 0x12, a, 12);	/* UDP */
	cr_expect_eq(proxy_parse(b, n, &pi, NULL), PROXY_INVALID);
	n = v2(b, 0x21, 0x11, a, 8);	/* short IPv4 block */
	cr_expect_eq(proxy_parse(b, n, &pi, NULL), PROXY_INVALID);
	n = v2(b, 0x21, 0x21, a, 20);	/* short IPv6 block */
	cr_expect_eq(proxy_parse(b, n, &pi, NULL), PROXY_INVALID);
	n = v2(b, 0x21, 0x11, a, 1100);	/* oversized */
	cr_expect_eq(proxy_parse(b, 16, &pi, NULL), PROXY_INVALID);
	(void)n;
	b[5] ^= 1;			/* damaged signature */
	cr_expect_eq(proxy_parse(b, 16, &pi, NULL), PROXY_INVALID);
}
