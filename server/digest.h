/* SPDX-License-Identifier: MIT */
/* digest: SHA-256 from GnuTLS, for fingerprints of policy meaning (not for secrets). */
#ifndef MTASTSD_DIGEST_H
#define MTASTSD_DIGEST_H

#include <stddef.h>

#define DIGEST_SHA256_LEN 32

/* A SHA-256 fed in pieces. */
struct digest;

/* A new SHA-256 of nothing yet. Aborts when GnuTLS cannot make one (out of memory). */
struct digest *digest_sha256_new(void);
/* Feed the LEN bytes at DATA to D. */
void digest_update(struct digest *d, const void *data, size_t len);
/* The digest of everything fed to D into OUT; D then starts again from nothing. */
void digest_final(struct digest *d, unsigned char out[DIGEST_SHA256_LEN]);
/* Free D; NULL is accepted. */
void digest_free(struct digest *d);

/* SHA-256 of the LEN bytes at DATA into OUT. Aborts when GnuTLS cannot compute it. */
void digest_sha256(const void *data, size_t len, unsigned char out[DIGEST_SHA256_LEN]);
/* The same as 64 lower-case hex digits and a NUL. */
void digest_sha256_hex(const void *data, size_t len, char out[2 * DIGEST_SHA256_LEN + 1]);

#endif
