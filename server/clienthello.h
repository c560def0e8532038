/* SPDX-License-Identifier: MIT */
/* clienthello: what the TLS handshake glue needs from a ClientHello (suites, key shares, ALPN); pure. */
#ifndef MTASTSD_CLIENTHELLO_H
#define MTASTSD_CLIENTHELLO_H

#include <stdbool.h>
#include <stddef.h>

struct clienthello {
	bool suites_ec;		/* a suite usable with an EC certificate (any TLS 1.3 suite, ECDHE-ECDSA) */
	bool suites_rsa;	/* a suite usable with an RSA certificate (any TLS 1.3 suite, ECDHE-RSA) */
	bool share_x25519;	/* key_share entries sent, by group */
	bool share_p256;
	bool share_p384;
	/*
	 * The application_layer_protocol_negotiation extension's
	 * ProtocolNameList (RFC 7301 3.1) without its length: a pointer into
	 * the MSG given to clienthello_read, valid as long as MSG is; NULL (and
	 * 0) when the client sent none or sent one that is malformed. Read it
	 * with clienthello_alpn_next.
	 */
	const unsigned char *alpn;
	size_t alpn_len;
};

/*
 * Read MSG, a ClientHello body (from legacy_version on, without the
 * four-byte handshake header), into *CH. Returns 0 when the cipher suites
 * were read (the extensions are optional: a key_share that is cut short
 * or malformed gives no shares), -1 when MSG ends before them (*CH is
 * then all false).
 */
int clienthello_read(const unsigned char *msg, size_t len, struct clienthello *ch);

/*
 * The ALPN protocols CH offers, in the client's order: start with *POS = 0;
 * each call sets *NAME (into the ClientHello, not NUL-terminated) and *LEN
 * (1 to 255) to the next one and returns true, or returns false after the
 * last. A malformed list was already rejected by clienthello_read, so every
 * name of a list read is returned.
 */
bool clienthello_alpn_next(const struct clienthello *ch, size_t *pos, const unsigned char **name, size_t *len);
/* Whether CH offers the ALPN protocol PROTO (compared byte for byte, e.g. "acme-tls/1" for RFC 8737). */
bool clienthello_offers_alpn(const struct clienthello *ch, const char *proto);

#endif
