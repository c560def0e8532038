/* SPDX-License-Identifier: MIT */
/* dname: domain names, mx patterns and Host/SNI values: syntax, IDN conversion, public suffixes. */
#include "dname.h"
#include "util.h"

#include <idn2.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const psl_ctx_t *psl;
static pthread_once_t psl_once = PTHREAD_ONCE_INIT;

static void
psl_load(void)
{
	/* Debian ships the list as a file (package publicsuffix); fall back to the built-in copy. */
	psl = psl_latest(NULL);
	if (psl == NULL)
		psl = psl_builtin();
}

bool
dname_is_public_suffix(const char *name)
{
	pthread_once(&psl_once, psl_load);
	if (psl == NULL)
		return strchr(name, '.') == NULL;
	return psl_is_public_suffix2(psl, name, PSL_TYPE_ANY) != 0;
}

static bool
is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

bool
dname_is_ldh(const char *s, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > DNAME_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0 || label > 63)
				return false;
			if (s[i - 1] == '-' || s[i - label] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!is_ldh(s[i]))
			return false;
		label++;
	}
	return true;
}

static bool
has_non_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

static size_t
count_labels(const char *s)
{
	size_t n = 1;
	for (; *s; s++)
		if (*s == '.')
			n++;
	return n;
}

/* Explain why S is not LDH syntax, for the error message. */
static void
explain_syntax(const char *s, char *err, size_t errlen)
{
	size_t len = strlen(s), label = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			if (label == 0) {
				snprintf(err, errlen, "'%s' has an empty label", s);
				return;
			}
			if (label > 63) {
				snprintf(err, errlen, "'%s' has a label longer than 63 characters", s);
				return;
			}
			if (s[i - 1] == '-' || s[i - label] == '-') {
				snprintf(err, errlen, "'%s' has a label that begins or ends with '-'", s);
				return;
			}
			label = 0;
			continue;
		}
		if (s[i] == '_') {
			snprintf(err, errlen, "'%s' contains '_', which is not allowed in a host name", s);
			return;
		}
		if (s[i] == ':') {
			snprintf(err, errlen, "'%s' contains ':'; a port or address is not allowed", s);
			return;
		}
		if (s[i] == '*') {
			snprintf(err, errlen, "'%s': a wildcard is allowed only as the whole leftmost label ('*.')", s);
			return;
		}
		if (!is_ldh(s[i])) {
			if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
				snprintf(err, errlen, "'%s' contains a character not allowed in a host name", s);
			else
				snprintf(err, errlen, "'%s' contains '%c', which is not allowed in a host name", s, s[i]);
			return;
		}
		label++;
	}
	if (len > DNAME_MAX)
		snprintf(err, errlen, "'%s' is longer than %d characters", s, DNAME_MAX);
	else
		snprintf(err, errlen, "'%s' is not a valid host name", s);
}

/* Lower-case, drop one trailing dot, convert IDN: the part common to every kind. */
static int
to_alabels(const char *in, char **out, char *err, size_t errlen)
{
	char *s = xstrdup(in);
	size_t len = strlen(s);

	if (len > 0 && s[len - 1] == '.')
		s[--len] = '\0';
	if (len == 0) {
		snprintf(err, errlen, "empty host name");
		free(s);
		return -1;
	}
	/* fold ASCII case first so "XN--" and "xN--" A-labels are validated like "xn--" */
	str_lower(s);
	if (has_non_ascii(s) || strstr(s, "xn--") != NULL) {
		char *a = NULL;
		int rc = idn2_lookup_u8((const uint8_t *)s, (uint8_t **)&a,
		    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		if (rc != IDN2_OK) {
			snprintf(err, errlen, "'%s' is not a valid internationalised name: %s",
			    in, idn2_strerror(rc));
			free(s);
			return -1;
		}
		free(s);
		s = xstrdup(a);
		idn2_free(a);
	}
	str_lower(s);
	*out = s;
	return 0;
}

/* An all-digit last label means an IPv4 literal ("192.0.2.1"): no top-level domain is numeric. */
static bool
last_label_numeric(const char *s, size_t len)
{
	size_t i = len;

	while (i > 0 && s[i - 1] != '.') {
		if (s[i - 1] < '0' || s[i - 1] > '9')
			return false;
		i--;
	}
	return i < len;
}

int
dname_normalize(const char *in, enum dname_kind kind, char **out, char *err, size_t errlen)
{
	const char *body = in;
	bool wildcard = false;
	char *name = NULL;

	*out = NULL;
	if (kind == DNAME_MX_PATTERN && in[0] == '*') {
		if (in[1] != '.') {
			snprintf(err, errlen, "'%s': a wildcard is allowed only as the whole leftmost label ('*.')", in);
			return -1;
		}
		wildcard = true;
		body = in + 2;
	}
	if (strchr(body, '*') != NULL) {
		if (kind == DNAME_MX_PATTERN)
			snprintf(err, errlen, "'%s': a wildcard is allowed only as the whole leftmost label ('*.')", in);
		else
			snprintf(err, errlen, "'%s': a wildcard is not allowed here (only in mx patterns)", in);
		return -1;
	}
	if (strchr(body, ':') != NULL || strchr(body, '_') != NULL || strchr(body, ' ') != NULL) {
		explain_syntax(body, err, errlen);
		return -1;
	}
	if (to_alabels(body, &name, err, errlen) < 0)
		return -1;
	if (!dname_is_ldh(name, strlen(name))) {
		explain_syntax(name, err, errlen);
		free(name);
		return -1;
	}
	if (kind == DNAME_DOMAIN && strlen(name) > DNAME_MAX_DOMAIN) {
		snprintf(err, errlen, "'%s' is too long: '_smtp._tls.' + name must fit in %d characters",
		    in, DNAME_MAX);
		free(name);
		return -1;
	}
	/* "*.com" has two labels but covers a public suffix: say that, not "needs two labels" */
	if (count_labels(name) < 2 && !(wildcard && dname_is_public_suffix(name))) {
		snprintf(err, errlen, "'%s' is not a fully qualified name (it needs at least two labels)", in);
		free(name);
		return -1;
	}
	if (last_label_numeric(name, strlen(name))) {
		snprintf(err, errlen, "'%s' ends in a numeric label: an IP address is not a host name", in);
		free(name);
		return -1;
	}
	if ((kind == DNAME_DOMAIN || wildcard) && dname_is_public_suffix(name)) {
		if (wildcard)
			snprintf(err, errlen, "'%s': a wildcard over the public suffix '%s' matches hosts of unrelated owners",
			    in, name);
		else
			snprintf(err, errlen, "'%s' is a public suffix, not a mail domain", in);
		free(name);
		return -1;
	}
	if (wildcard) {
		char *w = xasprintf("*.%s", name);
		free(name);
		name = w;
		if (strlen(name) > DNAME_MAX) {
			snprintf(err, errlen, "'%s' is longer than %d characters", in, DNAME_MAX);
			free(name);
			return -1;
		}
	}
	*out = name;
	return 0;
}

int
dname_canon_host(const char *in, size_t len, bool allow_port, char *out, size_t outlen)
{
	size_t n = len;

	if (allow_port) {
		/* strip ":digits" from the end; a bracketed IPv6 literal is never a routable name */
		for (size_t i = len; i > 0; i--) {
			char c = in[i - 1];
			if (c == ':') {
				if (i == len || len - i > 5)
					return -1;
				n = i - 1;
				break;
			}
			if (c < '0' || c > '9')
				break;
		}
	}
	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n == 0 || n > DNAME_MAX || n + 1 > outlen)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[i] = c;
	}
	out[n] = '\0';
	if (!dname_is_ldh(out, n) || last_label_numeric(out, n))
		return -1;
	return (int)n;
}

bool
dname_mx_match(const char *pattern, const char *host)
{
	char *alabels = NULL, err[256];
	const char *h = host;
	size_t hl, pl;
	bool match;

	/* a host given in U-labels is compared in its A-label form (RFC 6125 section 6.4.2) */
	if (has_non_ascii(host)) {
		if (to_alabels(host, &alabels, err, sizeof(err)) < 0)
			return false;
		h = alabels;
	}
	hl = strlen(h);
	if (hl > 0 && h[hl - 1] == '.')
		hl--;
	if (pattern[0] == '*' && pattern[1] == '.') {
		const char *dot = memchr(h, '.', hl);
		/* the wildcard stands for exactly one non-empty leftmost label */
		if (dot == NULL || dot == h) {
			free(alabels);
			return false;
		}
		hl -= (size_t)(dot - h);
		h = dot;
		pattern++;
	}
	pl = strlen(pattern);
	match = pl == hl && str_eq_ci(pattern, h, pl);
	free(alabels);
	return match;
}
