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

/*
 * The next value in [0,1) of the splitmix64 sequence whose state is *STATE
 * (any seed; advanced by one step). For the randomised choices below where
 * a caller wants a reproducible sequence; not for anything secret.
 */
double acmesched_random(uint64_t *state);

/* An ARI suggested renewal window (RFC 9773 section 4.2), seconds since the epoch. */
struct acmesched_window {
	int64_t start, end;
};

/*
 * When to renew the certificate valid from NOT_BEFORE through NOT_AFTER
 * (inclusive, as RFC 5280 counts: its lifetime is NOT_AFTER - NOT_BEFORE + 1
 * seconds), at NOW, with R in [0,1) (anything else counts as 0).
 *
 * With an ARI window (ARI not NULL, start < end): start + R * (end - start),
 * as RFC 9773 recommends, but no later than NOT_AFTER. A window whose end
 * has passed means now. A window with end <= start is invalid (RFC 9773:
 * treated as no answer) and is ignored.
 * Without a valid window, Let's Encrypt's fallback: when a third of the
 * lifetime remains, or half of it for a lifetime under 10 days, made
 * earlier by up to a tenth of that remaining time by R so that names issued
 * together do not all come back at the same second.
 *
 * The result is never before NOW: NOW means "renew now". A certificate whose
 * NOT_AFTER is not after NOT_BEFORE is renewed now. Times more than 2^40
 * seconds from the epoch are not dates: such a certificate is renewed now,
 * such a window ignored.
 */
int64_t acmesched_renew_at(int64_t not_before, int64_t not_after, const struct acmesched_window *ari,
    double r, int64_t now);

#endif
