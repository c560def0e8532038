/* SPDX-License-Identifier: MIT */
/* digest: SHA-256 from GnuTLS, for fingerprints of policy meaning (not for secrets). */
#include "digest.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

struct digest {
	gnutls_hash_hd_t hd;
};

/* GnuTLS fails a digest only when out of memory (or SHA-256 is off in FIPS mode, which it never is). */
static void
fail(const char *what, int rc)
{
	fprintf(stderr, "mtastsd: %s: %s\n", what, gnutls_strerror(rc));
	abort();
}

struct digest *
digest_sha256_new(void)
{
	struct digest *d = xcalloc(1, sizeof(*d));
	int rc;

	if ((rc = gnutls_hash_init(&d->hd, GNUTLS_DIG_SHA256)) < 0)
		fail("SHA-256", rc);
	return d;
}

void
digest_update(struct digest *d, const void *data, size_t len)
{
	int rc;

	if (len > 0 && (rc = gnutls_hash(d->hd, data, len)) < 0)
		fail("SHA-256", rc);
}

void
digest_final(struct digest *d, unsigned char out[DIGEST_SHA256_LEN])
{
	/* gnutls_hash_output also resets the state for the next message */
	gnutls_hash_output(d->hd, out);
}

void
digest_free(struct digest *d)
{
	if (d == NULL)
		return;
	gnutls_hash_deinit(d->hd, NULL);
	free(d);
}

void
digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN])
{
	int rc;

	/* an empty buffer may have no storage at all */
	if ((rc = gnutls_hash_fast(GNUTLS_DIG_SHA256, len > 0 ? data : "", len, out)) < 0)
		fail("SHA-256", rc);
}

void
digest_sha256_hex(const void *data, size_t len, char out[2 * DIGEST_SHA256_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[DIGEST_SHA256_LEN];

	digest_sha256(data, len, d);
	for (size_t i = 0; i < DIGEST_SHA256_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * DIGEST_SHA256_LEN] = '\0';
}
