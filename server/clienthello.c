/* SPDX-License-Identifier: MIT */
/* clienthello: what the TLS handshake glue needs from a ClientHello (suites, key shares, ALPN); pure. */
#include "clienthello.h"

#include <string.h>

#define EXT_ALPN 16
#define EXT_KEY_SHARE 51
#define GROUP_SECP256R1 0x0017
#define GROUP_SECP384R1 0x0018
#define GROUP_X25519 0x001d

static unsigned
u16(const unsigned char *p)
{
	return ((unsigned)p[0] << 8) | p[1];
}

/* The groups of a key_share extension's client_shares (RFC 8446 4.2.8); a malformed list gives none. */
static void
read_shares(const unsigned char *p, size_t len, struct clienthello *ch)
{
	bool x25519 = false, p256 = false, p384 = false;
	size_t n;

	if (len < 2 || (n = u16(p)) != len - 2)
		return;
	p += 2;
	while (n > 0) {
		unsigned group, klen;

		if (n < 4 || (klen = u16(p + 2)) == 0 || klen > n - 4)
			return;
		group = u16(p);
		if (group == GROUP_X25519)
			x25519 = true;
		else if (group == GROUP_SECP256R1)
			p256 = true;
		else if (group == GROUP_SECP384R1)
			p384 = true;
		p += 4 + klen;
		n -= 4 + klen;
	}
	ch->share_x25519 = x25519;
	ch->share_p256 = p256;
	ch->share_p384 = p384;
}

/* An ALPN extension's protocol_name_list (RFC 7301 3.1): a non-empty list of names of 1 to 255 bytes, or none. */
static void
read_alpn(const unsigned char *p, size_t len, struct clienthello *ch)
{
	size_t n;

	ch->alpn = NULL;
	ch->alpn_len = 0;
	if (len < 2 || (n = u16(p)) != len - 2 || n == 0)
		return;
	for (size_t i = 0; i < n; i += 1 + (size_t)p[2 + i])
		if (p[2 + i] == 0 || p[2 + i] > n - i - 1)
			return;
	ch->alpn = p + 2;
	ch->alpn_len = n;
}

bool
clienthello_alpn_next(const struct clienthello *ch, size_t *pos, const unsigned char **name, size_t *len)
{
	if (ch->alpn == NULL || *pos >= ch->alpn_len)
		return false;
	*len = ch->alpn[*pos];
	*name = ch->alpn + *pos + 1;
	*pos += 1 + *len;
	return true;
}

bool
clienthello_offers_alpn(const struct clienthello *ch, const char *proto)
{
	size_t pos = 0, len, want = strlen(proto);
	const unsigned char *name;

	while (clienthello_alpn_next(ch, &pos, &name, &len))
		if (len == want && memcmp(name, proto, len) == 0)
			return true;
	return false;
}

int
clienthello_read(const unsigned char *msg, size_t len, struct clienthello *ch)
{
	const unsigned char *p = msg, *end = msg + len;
	size_t n;

	memset(ch, 0, sizeof(*ch));
	if (len < 35)
		return -1;
	p += 34;			/* legacy_version, random */
	n = *p++;			/* legacy_session_id */
	if ((size_t)(end - p) < n + 2)
		return -1;
	p += n;
	n = u16(p);
	p += 2;
	if ((size_t)(end - p) < n)
		return -1;
	for (size_t i = 0; i + 1 < n; i += 2) {
		unsigned cs = u16(p + i);

		if ((cs >> 8) == 0x13)
			ch->suites_ec = ch->suites_rsa = true;
		else if (cs == 0xC02B || cs == 0xC02C || cs == 0xCCA9)
			ch->suites_ec = true;
		else if (cs == 0xC02F || cs == 0xC030 || cs == 0xCCA8)
			ch->suites_rsa = true;
	}
	p += n;
	/* legacy_compression_methods, then the extensions if any */
	if (p >= end || (size_t)(end - p) < (size_t)*p + 1)
		return 0;
	p += 1 + *p;
	if ((size_t)(end - p) < 2 || (n = u16(p)) > (size_t)(end - p) - 2)
		return 0;
	p += 2;
	end = p + n;
	while ((size_t)(end - p) >= 4) {
		unsigned type = u16(p);
		size_t elen = u16(p + 2);

		p += 4;
		if (elen > (size_t)(end - p))
			return 0;
		if (type == EXT_KEY_SHARE)
			read_shares(p, elen, ch);
		else if (type == EXT_ALPN)
			read_alpn(p, elen, ch);
		p += elen;
	}
	return 0;
}
