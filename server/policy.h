/* SPDX-License-Identifier: MIT */
/* policy: renders a domain's MTA-STS policy body, parses bodies (RFC 8461 section 3.2) and fingerprints their meaning. */
#ifndef MTASTSD_POLICY_H
#define MTASTSD_POLICY_H

#include <stdbool.h>
#include <stddef.h>

struct config_domain;

enum policy_mode { POLICY_MODE_NONE, POLICY_MODE_TESTING, POLICY_MODE_ENFORCE };

/* The longest max_age a policy may give (RFC 8461 section 3.2: 31557600 seconds, a year). */
#define POLICY_MAX_AGE_MAX 31557600UL

/* Longest accepted policy body; senders may refuse more than 64 KiB (RFC 8461 section 3.3). */
#define POLICY_MAX_BODY 65536

/* A parsed policy. */
struct policy {
	enum policy_mode mode;
	unsigned long max_age;
	char **mx;
	size_t n_mx;
	size_t n_extensions;	/* unknown fields seen (and ignored) */
};

/*
 * The exact body served for D: "version: STSv1", "mode: M", one "mx: P" per
 * pattern in config order, "max_age: N", every line ending in CRLF.
 * Returns a NUL-terminated buffer owned by the caller; *LEN gets its length.
 */
char *policy_render(const struct config_domain *d, size_t *len);

struct buf;
/* policy_render's body appended to B. */
void policy_render_buf(const struct config_domain *d, struct buf *b);

/*
 * Parse BUF (LEN bytes) by the grammar of RFC 8461 section 3.2: LF or CRLF
 * line ends, no blank lines or leading space, case-sensitive names and values,
 * unknown fields ignored, the first of duplicate non-mx fields wins, mx
 * required unless mode is none, max_age at most 31557600. A known field with
 * an invalid value makes the whole policy invalid (as strict senders do).
 * Returns 0 and fills OUT (release with policy_clear), or -1 with a message such
 * as "line 2: ..." in ERR and OUT untouched.
 */
int policy_parse(const char *buf, size_t len, struct policy *out, char *err, size_t errlen);

/* Free P's patterns (not P); P is left {0}, ready for policy_parse. */
void policy_clear(struct policy *p);

/* "enforce", "testing" or "none": MODE as a policy body writes it. */
const char *policy_mode_name(enum policy_mode mode);

/* True when any mx pattern of P matches HOST (RFC 8461 section 4.1). */
bool policy_mx_match(const struct policy *p, const char *host);

/*
 * A fingerprint of the policy's meaning (version, mode, max_age and the set of
 * mx patterns, so the order of mx lines does not count): 64 lower-case hex
 * digits and a NUL written into OUT.
 */
void policy_fingerprint(const struct config_domain *d, char out[65]);

#endif
