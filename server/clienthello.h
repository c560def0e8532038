/* SPDX-License-Identifier: MIT */
/* clienthello: what the TLS handshake glue needs from a ClientHello (suites, key shares); pure. */
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
};

/*
 * Read MSG, a ClientHello body (from legacy_version on, without the
 * four-byte handshake header), into *CH. Returns 0 when the cipher suites
 * were read (the extensions are optional: a key_share that is cut short
 * or malformed gives no shares), -1 when MSG ends before them (*CH is
 * then all false).
 */
int clienthello_read(const unsigned char *msg, size_t len, struct clienthello *ch);

#endif
