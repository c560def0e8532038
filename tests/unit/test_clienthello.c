/* SPDX-License-Identifier: MIT */
/* Unit tests of clienthello.c: cipher suites, key share groups and ALPN protocols read from ClientHello bodies, cut or not. */
#include <criterion/criterion.h>

#include <string.h>

#include "clienthello.h"

/* A ClientHello body: version, random, a session id, SUITES, null compression, then EXTS. */
static size_t
hello(unsigned char *out, const unsigned char *suites, size_t n_suites, const unsigned char *exts, size_t n_exts)
{
	size_t n = 0;

	out[n++] = 3;
	out[n++] = 3;
	memset(out + n, 0xab, 32);
	n += 32;
	out[n++] = 32;			/* legacy_session_id */
	memset(out + n, 0xcd, 32);
	n += 32;
	out[n++] = (unsigned char)(n_suites >> 8);
	out[n++] = (unsigned char)n_suites;
	memcpy(out + n, suites, n_suites);
	n += n_suites;
	out[n++] = 1;
	out[n++] = 0;
	if (exts != NULL) {
		out[n++] = (unsigned char)(n_exts >> 8);
		out[n++] = (unsigned char)n_exts;
		memcpy(out + n, exts, n_exts);
		n += n_exts;
	}
	return n;
}

static const unsigned char tls13[] = { 0x13, 0x01, 0x13, 0x02 };
static const unsigned char rsa12[] = { 0xc0, 0x2f, 0xc0, 0x30 };
static const unsigned char ec12[] = { 0xc0, 0x2b };

/* server_name (ignored), then key_share: P-256 (65 bytes), X25519 (32 bytes) as OpenSSL -groups sends them */
static size_t
shares(unsigned char *out, const unsigned *groups, size_t n_groups)
{
	size_t n = 0, list = 0;

	memcpy(out, "\x00\x00\x00\x05\x00\x03\x00\x00\x01", 9);	/* an extension before */
	n = 9;
	for (size_t i = 0; i < n_groups; i++)
		list += 4 + (groups[i] == 0x17 ? 65 : 32);
	out[n++] = 0;
	out[n++] = 51;
	out[n++] = (unsigned char)((list + 2) >> 8);
	out[n++] = (unsigned char)(list + 2);
	out[n++] = (unsigned char)(list >> 8);
	out[n++] = (unsigned char)list;
	for (size_t i = 0; i < n_groups; i++) {
		size_t k = groups[i] == 0x17 ? 65 : 32;

		out[n++] = (unsigned char)(groups[i] >> 8);
		out[n++] = (unsigned char)groups[i];
		out[n++] = 0;
		out[n++] = (unsigned char)k;
		memset(out + n, 4, k);
		n += k;
	}
	return n;
}

Test(clienthello, suites_by_key_type)
{
	unsigned char m[512];
	struct clienthello ch;
	size_t n;

	n = hello(m, rsa12, sizeof(rsa12), NULL, 0);
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect(ch.suites_rsa && !ch.suites_ec);
	n = hello(m, ec12, sizeof(ec12), NULL, 0);
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect(ch.suites_ec && !ch.suites_rsa);
	n = hello(m, tls13, sizeof(tls13), NULL, 0);
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect(ch.suites_ec && ch.suites_rsa);
	cr_expect(!ch.share_x25519 && !ch.share_p256 && !ch.share_p384, "no extensions, no shares");
}

Test(clienthello, key_shares)
{
	static const unsigned p256[] = { 0x17 }, both[] = { 0x17, 0x1d }, p384x[] = { 0x18 };
	unsigned char m[1024], e[512];
	struct clienthello ch;
	size_t n;

	n = hello(m, tls13, sizeof(tls13), e, shares(e, p256, 1));
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect(ch.share_p256 && !ch.share_x25519 && !ch.share_p384);
	n = hello(m, tls13, sizeof(tls13), e, shares(e, both, 2));
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect(ch.share_p256 && ch.share_x25519);
	/* a P-384 entry with a 32-byte key is still a P-384 share as far as the group goes */
	n = hello(m, tls13, sizeof(tls13), e, shares(e, p384x, 1));
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect(ch.share_p384 && !ch.share_p256);
}

Test(clienthello, cut_short_anywhere)
{
	static const unsigned both[] = { 0x17, 0x1d };
	unsigned char m[1024], e[512];
	struct clienthello ch;
	size_t n = hello(m, tls13, sizeof(tls13), e, shares(e, both, 2)), suites_end = 35 + 32 + 2 + sizeof(tls13);

	for (size_t len = 0; len < n; len++) {
		int rc = clienthello_read(m, len, &ch);

		if (len < suites_end)
			cr_expect_eq(rc, -1, "cut at %zu: before the suites end", len);
		else
			cr_expect_eq(rc, 0, "cut at %zu: the suites were read", len);
		/* a cut key_share is no share list at all */
		cr_expect(!ch.share_x25519 && !ch.share_p256, "cut at %zu gave shares", len);
	}
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect(ch.share_x25519 && ch.share_p256);
}

Test(clienthello, malformed_share_lists_give_none)
{
	static const unsigned both[] = { 0x17, 0x1d };
	unsigned char m[1024], e[512];
	struct clienthello ch;
	size_t ne = shares(e, both, 2), n;

	e[9 + 4 + 1] ^= 1;		/* the client_shares length no longer matches the extension */
	n = hello(m, tls13, sizeof(tls13), e, ne);
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect(!ch.share_x25519 && !ch.share_p256);
	e[9 + 4 + 1] ^= 1;
	e[9 + 6 + 3] = 0xff;		/* the first entry's key length runs past the list */
	n = hello(m, tls13, sizeof(tls13), e, ne);
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect(!ch.share_x25519 && !ch.share_p256);
}

/* An ALPN extension (RFC 7301) offering NAMES, then a key_share for X25519; into OUT, returns its size. */
static size_t
alpn_ext(unsigned char *out, const char *const *names, size_t n_names)
{
	static const unsigned x25519[] = { 0x1d };
	size_t n = 0, list = 0;

	for (size_t i = 0; i < n_names; i++)
		list += 1 + strlen(names[i]);
	out[n++] = 0;
	out[n++] = 16;
	out[n++] = (unsigned char)((list + 2) >> 8);
	out[n++] = (unsigned char)(list + 2);
	out[n++] = (unsigned char)(list >> 8);
	out[n++] = (unsigned char)list;
	for (size_t i = 0; i < n_names; i++) {
		size_t len = strlen(names[i]);

		out[n++] = (unsigned char)len;
		memcpy(out + n, names[i], len);
		n += len;
	}
	return n + shares(out + n, x25519, 1);
}

/* Every protocol CH offers, as "a,b,c" into BUF. */
static const char *
alpn_list(const struct clienthello *ch, char *buf, size_t size)
{
	const unsigned char *name;
	size_t pos = 0, len, at = 0;

	buf[0] = '\0';
	while (clienthello_alpn_next(ch, &pos, &name, &len)) {
		cr_assert_lt(at + len + 2, size);
		if (at > 0)
			buf[at++] = ',';
		memcpy(buf + at, name, len);
		at += len;
		buf[at] = '\0';
	}
	return buf;
}

Test(clienthello, alpn_protocols_in_the_clients_order)
{
	static const char *const acme[] = { "acme-tls/1" }, *const web[] = { "h2", "http/1.1" },
	    *const both[] = { "h2", "acme-tls/1", "http/1.1" };
	unsigned char m[1024], e[512];
	struct clienthello ch;
	char list[256];
	size_t n;

	n = hello(m, tls13, sizeof(tls13), e, alpn_ext(e, acme, 1));
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect_str_eq(alpn_list(&ch, list, sizeof(list)), "acme-tls/1");
	cr_expect(clienthello_offers_alpn(&ch, "acme-tls/1"));
	cr_expect(ch.share_x25519, "the extension after ALPN is still read");
	n = hello(m, tls13, sizeof(tls13), e, alpn_ext(e, web, 2));
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect_str_eq(alpn_list(&ch, list, sizeof(list)), "h2,http/1.1");
	cr_expect_not(clienthello_offers_alpn(&ch, "acme-tls/1"));
	cr_expect(clienthello_offers_alpn(&ch, "http/1.1"));
	cr_expect_not(clienthello_offers_alpn(&ch, "http/1"), "a prefix is another protocol");
	cr_expect_not(clienthello_offers_alpn(&ch, "h2c"), "so is a longer name");
	n = hello(m, tls13, sizeof(tls13), e, alpn_ext(e, both, 3));
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect_str_eq(alpn_list(&ch, list, sizeof(list)), "h2,acme-tls/1,http/1.1");
	cr_expect(clienthello_offers_alpn(&ch, "acme-tls/1"));
	/* the pointers are into the message itself */
	cr_expect(ch.alpn > m && ch.alpn + ch.alpn_len <= m + n);
}

Test(clienthello, no_alpn_extension_offers_nothing)
{
	unsigned char m[1024], e[512];
	static const unsigned x25519[] = { 0x1d };
	struct clienthello ch;
	char list[64];
	size_t n;

	n = hello(m, tls13, sizeof(tls13), NULL, 0);
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect_null(ch.alpn);
	cr_expect_str_eq(alpn_list(&ch, list, sizeof(list)), "");
	n = hello(m, tls13, sizeof(tls13), e, shares(e, x25519, 1));
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect_null(ch.alpn);
	cr_expect_not(clienthello_offers_alpn(&ch, "acme-tls/1"));
}

Test(clienthello, malformed_alpn_lists_offer_nothing)
{
	static const char *const two[] = { "h2", "acme-tls/1" };
	unsigned char m[1024], e[512], x[512];
	struct clienthello ch;
	size_t ne = alpn_ext(e, two, 2), n;
	/* e: 0 16 | extension length 16 | list length 14 | 2 'h2' | 10 'acme-tls/1' | key_share... */
	static const struct { size_t at; unsigned char value; const char *why; } cases[] = {
		{ 5, 13, "the list length is shorter than the extension" },
		{ 5, 3, "the list length is shorter than the extension, on a name boundary" },
		{ 5, 15, "the list length is longer than the extension" },
		{ 6, 0, "an empty protocol name" },
		{ 6, 14, "the first name runs past the list" },
		{ 9, 11, "the last name runs past the list" },
		{ 9, 9, "the last name ends before the list" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(x, e, ne);
		x[cases[i].at] = cases[i].value;
		n = hello(m, tls13, sizeof(tls13), x, ne);
		cr_assert_eq(clienthello_read(m, n, &ch), 0, "%s", cases[i].why);
		cr_expect_null(ch.alpn, "%s", cases[i].why);
		cr_expect_not(clienthello_offers_alpn(&ch, "h2"), "%s", cases[i].why);
		cr_expect(ch.share_x25519, "%s: the other extensions are still read", cases[i].why);
	}
	/* an empty list (length 0) is malformed too (RFC 7301: at least one name) */
	memcpy(x, "\x00\x10\x00\x02\x00\x00", 6);
	n = hello(m, tls13, sizeof(tls13), x, 6);
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect_null(ch.alpn);
}

Test(clienthello, alpn_cut_short_anywhere_offers_nothing)
{
	static const char *const two[] = { "h2", "acme-tls/1" };
	unsigned char m[1024], e[512];
	struct clienthello ch;
	size_t n = hello(m, tls13, sizeof(tls13), e, alpn_ext(e, two, 2));

	for (size_t len = 0; len < n; len++) {
		clienthello_read(m, len, &ch);
		cr_expect_null(ch.alpn, "cut at %zu offers protocols", len);
	}
	cr_assert_eq(clienthello_read(m, n, &ch), 0);
	cr_expect(clienthello_offers_alpn(&ch, "acme-tls/1"));
}
