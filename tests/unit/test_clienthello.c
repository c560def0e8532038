/* SPDX-License-Identifier: MIT */
/* Unit tests of clienthello.c: cipher suites and key share groups read from ClientHello bodies, cut or not. */
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
