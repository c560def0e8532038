/* SPDX-License-Identifier: MIT */
/*
 * certparse: the parts of a certificate mtastsd indexes it by (SAN DNS
 * names, expiry, CA flag, public key), read from PEM and DER without a
 * library. Pure and bounded. It reads one common shape only (X.509 v3 in
 * strict DER, named-curve EC or RSA keys) and says "not mine" to anything
 * else, so the caller can hand that to the TLS library instead; what it
 * does accept, the TLS library reads the same way (tests/fuzz/fuzz_cert.c
 * checks that against GnuTLS).
 */
#ifndef MTASTSD_CERTPARSE_H
#define MTASTSD_CERTPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

enum certparse_pk { CERTPARSE_PK_OTHER, CERTPARSE_PK_RSA, CERTPARSE_PK_EC };
enum certparse_curve { CERTPARSE_CURVE_NONE, CERTPARSE_CURVE_P256, CERTPARSE_CURVE_P384, CERTPARSE_CURVE_P521 };

struct certparse_info {
	time_t not_before, not_after;		/* validity, inclusive both ends (RFC 5280 4.1.2.5) */
	bool is_ca;				/* basicConstraints cA is TRUE */
	enum certparse_pk pk;
	enum certparse_curve curve;		/* for CERTPARSE_PK_EC */
	const unsigned char *pub;		/* EC: the point (04 X Y); RSA: the modulus (no leading zero) */
	size_t pub_len;
	const unsigned char *exp;		/* RSA: the public exponent */
	size_t exp_len;
	const unsigned char *san;		/* the SAN extension's GeneralNames contents, or NULL */
	size_t san_len;
	unsigned key_usage;			/* keyUsage bits as GnuTLS numbers them (first byte | second << 8), 0 without */
};

/*
 * Read the certificate DER[0..LEN). Returns 0 and fills CI (pointers into
 * DER) when it is in the shape this module reads: a v3 certificate in DER,
 * the same signature algorithm inside and outside, UTCTime or
 * GeneralizedTime validity to the second, no extension twice, SAN dNSNames
 * of printable ASCII no longer than 253 bytes. Returns -1 for anything
 * else, which is not necessarily invalid.
 */
int certparse_cert(const unsigned char *der, size_t len, struct certparse_info *ci);

/* What an EC private key says of its public half. */
struct certparse_key {
	enum certparse_pk pk;			/* CERTPARSE_PK_EC */
	enum certparse_curve curve;
	const unsigned char *pub;		/* the point (04 X Y) */
	size_t pub_len;
};

/*
 * Read the unencrypted private key DER[0..LEN): a named-curve EC key in
 * PKCS#8 or SEC1 (EC PRIVATE KEY) that carries its public point. Returns 0
 * and fills K (pointers into DER), or -1 for anything else. Nothing checks
 * that the public half belongs to the private one (GnuTLS does not either).
 * RSA keys are not read: GnuTLS checks their arithmetic when it imports
 * them, which a parser cannot do without big numbers.
 */
int certparse_key(const unsigned char *der, size_t len, struct certparse_key *k);

/* Key K is the one for the certificate CI: both EC, same curve and point. */
bool certparse_key_matches(const struct certparse_info *ci, const struct certparse_key *k);

/*
 * The dNSNames of CI's SAN in order, empty ones skipped: start with *POS = 0;
 * each call returns true with NAME (not NUL-terminated) and LEN, false at the end.
 */
bool certparse_next_dns(const struct certparse_info *ci, size_t *pos, const char **name, size_t *len);

/*
 * The next PEM block of TEXT[0..LEN) from *POS on: its label (NUL-terminated
 * into LABEL of LABEL_SIZE bytes) and its body decoded into a malloc'd DER
 * buffer (*DER, *DER_LEN; free it). Returns 1 with *POS past the block, 0
 * when no block follows, -1 when a block is malformed or has headers
 * (RFC 1421 "Proc-Type:" and the like) or its label is too long.
 */
int certparse_pem_next(const char *text, size_t len, size_t *pos, char *label, size_t label_size,
    unsigned char **der, size_t *der_len);

/* Big-endian unsigned integers A[0..NA) and B[0..NB) are equal; leading zero bytes do not count. */
bool certparse_uint_eq(const unsigned char *a, size_t na, const unsigned char *b, size_t nb);


#endif
