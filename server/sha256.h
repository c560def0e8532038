/* SPDX-License-Identifier: MIT */
/* sha256: FIPS 180-4 SHA-256, for fingerprints of policy meaning (not for secrets). */
#ifndef MTASTSD_SHA256_H
#define MTASTSD_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char block[64];
	size_t fill;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, unsigned char out[32]);
/* Hex digest of DATA: 64 lower-case hex digits and a NUL. */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
