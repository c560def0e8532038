/* SPDX-License-Identifier: MIT */
/* dname: domain names, mx patterns and Host/SNI values: syntax, IDN conversion, public suffixes. */
#ifndef MTASTSD_DNAME_H
#define MTASTSD_DNAME_H

#include <stdbool.h>
#include <stddef.h>

/* Longest normalised domain we accept: "_smtp._tls." + name must stay within 253 octets. */
#define DNAME_MAX_DOMAIN 242
#define DNAME_MAX 253

enum dname_kind {
	DNAME_DOMAIN,		/* a policy domain: host name, at least two labels, not a public suffix */
	DNAME_MX_PATTERN,	/* an mx pattern: host name, or "*." + a name that is not a public suffix */
	DNAME_HOST		/* a fully qualified host name (for example dns.host_target) */
};

/*
 * Normalise IN into its canonical form: ASCII lower case, no trailing dot,
 * U-labels converted to A-labels (UTS #46, non-transitional). A name whose
 * last label is all digits (an IPv4 address) is refused. On success
 * returns 0 and *OUT (owned by the caller). On failure returns -1 and writes a
 * message (lower case, no final period) into ERR.
 */
int dname_normalize(const char *in, enum dname_kind kind, char **out, char *err, size_t errlen);

/* True when NAME (normalised) is itself a public suffix, such as "com" or "co.uk". */
bool dname_is_public_suffix(const char *name);

/* True when S is an RFC 5321 Domain (LDH labels, 1..63 octets each, no trailing dot). */
bool dname_is_ldh(const char *s, size_t len);

/*
 * Canonicalise a Host header or SNI value of LEN bytes for routing: strips a
 * ":port" suffix (when ALLOW_PORT) and one trailing dot, lower-cases ASCII.
 * Returns the length written into OUT (NUL-terminated), or -1 when the value
 * is not a valid host name (IP literals, bytes outside LDH, too long, empty).
 */
int dname_canon_host(const char *in, size_t len, bool allow_port, char *out, size_t outlen);

/* RFC 8461 section 4.1 matching: does PATTERN (normalised) cover HOST (any case, trailing dot allowed)? */
bool dname_mx_match(const char *pattern, const char *host);

#endif
