/* SPDX-License-Identifier: MIT */
/* gencert: certificates and keys of chosen shapes made with GnuTLS at test time (none are kept in the repository). */
#ifndef MTASTSD_GENCERT_H
#define MTASTSD_GENCERT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <gnutls/gnutls.h>

enum gencert_key { GENCERT_P256, GENCERT_P384, GENCERT_P521, GENCERT_RSA2048, GENCERT_ED25519 };

struct gencert {
	enum gencert_key key;
	const char *const *dns;		/* SAN dNSNames, in order */
	size_t n_dns;
	bool other_sans;		/* an IP address, an e-mail address and a URI among the names */
	bool ca;			/* basicConstraints cA */
	int version;			/* 3, or 1 (no extensions at all) */
	time_t not_after;
};

/*
 * A self-signed certificate shaped by G, as DER in *CERT, and its key as
 * DER: *KEY in the key's own format (SEC1 for EC, PKCS#1 for RSA; PKCS#8
 * for Ed25519), *PKCS8 as PKCS#8. Free each with gnutls_free(x.data).
 * Returns 0, or -1 (and prints why).
 */
int gencert_make(const struct gencert *g, gnutls_datum_t *cert, gnutls_datum_t *key, gnutls_datum_t *pkcs8);

/* PEM text for DER under LABEL ("CERTIFICATE", "EC PRIVATE KEY", ...), malloc'd. */
char *gencert_pem(const char *label, const gnutls_datum_t *der);

#endif
