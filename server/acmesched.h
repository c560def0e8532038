/* SPDX-License-Identifier: MIT */
/* acmesched: when to renew, retry and order ACME certificates, as pure functions of the time and random values passed in. */
#ifndef MTASTSD_ACMESCHED_H
#define MTASTSD_ACMESCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Nothing here reads the clock, the network, a file or a random source:
 * callers pass NOW (seconds since the epoch) and, where a choice is
 * randomised, a value in [0,1) (acmesched_random gives one from a seeded
 * state), so every schedule can be replayed in a test.
 */

/*
 * The ARI certificate identifier (RFC 9773 section 4.1) of the certificate
 * whose Authority Key Identifier's keyIdentifier is AKI[0..AKI_LEN) and whose
 * serial number's DER content bytes (a leading zero kept where the encoding
 * has one) are SERIAL[0..SERIAL_LEN): base64url(AKI) "." base64url(SERIAL),
 * without padding. Owned by the caller; NULL when either part is empty.
 */
char *acmesched_ari_id_raw(const void *aki, size_t aki_len, const void *serial, size_t serial_len);
/*
 * The same for the certificate CERT[0..LEN), DER, or PEM text (its first
 * CERTIFICATE block), read with GnuTLS. NULL with a message in ERR when it
 * is not a certificate, has no Authority Key Identifier with a keyIdentifier
 * (as self-signed certificates often do) or an empty serial.
 */
char *acmesched_ari_id(const void *cert, size_t len, char *err, size_t errlen);

#endif
