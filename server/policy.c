/* SPDX-License-Identifier: MIT */
/* policy: renders a domain's MTA-STS policy body, parses bodies (RFC 8461 section 3.2) and fingerprints their meaning. */
#include "policy.h"
#include "dname.h"
#include "domain.h"
#include "digest.h"
#include "util.h"
#include "vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decimal digits of X into BUF (at least 21 bytes); returns the string. */
static const char *
ulong_str(unsigned long x, char buf[21])
{
	char *p = buf + 20;

	*p = '\0';
	do
		*--p = (char)('0' + x % 10);
	while ((x /= 10) != 0);
	return p;
}

/* Plain appends rather than printf: renderers and fingerprints run once per domain, for 100,000s of domains. */
char *
policy_render(const struct config_domain *d, size_t *len)
{
	struct buf b = {0};

	policy_render_buf(d, &b);
	if (len)
		*len = b.len;
	return b.data;
}

void
policy_render_buf(const struct config_domain *d, struct buf *b)
{
	char num[21];

	buf_puts(b, "version: STSv1\r\nmode: ");
	buf_puts(b, policy_mode_name(d->mode));
	buf_puts(b, "\r\n");
	for (size_t i = 0; i < strlist_len(d->mx); i++) {
		buf_puts(b, "mx: ");
		buf_puts(b, d->mx->v[i]);
		buf_puts(b, "\r\n");
	}
	buf_puts(b, "max_age: ");
	buf_puts(b, ulong_str(d->max_age, num));
	buf_puts(b, "\r\n");
}

static bool
is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Length of the well-formed UTF-8 multi-byte sequence at P (max N bytes), or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned cp;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates and values above U+10FFFF are not UTF-8 */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* ext-value = vchar [ *( SP / vchar ) vchar ], vchar including UTF-8 (trailing WSP already removed). */
static bool
valid_ext_value(const unsigned char *v, size_t n)
{
	if (n == 0 || v[0] == ' ')
		return false;
	for (size_t i = 0; i < n;) {
		if (v[i] >= 0x21 && v[i] <= 0x7e) {
			i++;
		} else if (v[i] == ' ') {
			i++;
		} else {
			size_t l = utf8_seq(v + i, n - i);
			if (l == 0)
				return false;
			i += l;
		}
	}
	return true;
}

static bool
valid_ext_name(const unsigned char *s, size_t n)
{
	if (n == 0 || n > 32 || !(is_alpha(s[0]) || is_digit(s[0])))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return false;
	return true;
}

static bool
name_is(const unsigned char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* mx value: [ "*." ] Domain, ASCII LDH only (RFC 5321 section 4.1.2). */
static bool
valid_mx(const unsigned char *v, size_t n)
{
	if (n >= 2 && v[0] == '*' && v[1] == '.') {
		v += 2;
		n -= 2;
	}
	return dname_is_ldh((const char *)v, n);
}

int
policy_parse(const char *buf, size_t len, struct policy *out, char *err, size_t errlen)
{
	const unsigned char *p = (const unsigned char *)buf, *end = p + len;
	struct policy pol = {0};
	size_t cap_mx = 0;
	bool have_version = false, have_mode = false, have_max_age = false;
	int lineno = 0;

	if (len > POLICY_MAX_BODY) {
		snprintf(err, errlen, "policy is larger than %d bytes", POLICY_MAX_BODY);
		return -1;
	}
	if (len == 0) {
		snprintf(err, errlen, "policy is empty");
		return -1;
	}
	while (p < end) {
		const unsigned char *nl = memchr(p, '\n', (size_t)(end - p));
		const unsigned char *le = nl ? nl : end, *colon, *v, *ve;
		size_t nlen;

		lineno++;
		if (le > p && le[-1] == '\r' && nl != NULL)
			le--;	/* CRLF; a CR without LF stays and is rejected below */
		if (le == p) {
			snprintf(err, errlen, "line %d: empty line", lineno);
			goto fail;
		}
		if (is_wsp(*p)) {
			snprintf(err, errlen, "line %d: leading white space", lineno);
			goto fail;
		}
		colon = memchr(p, ':', (size_t)(le - p));
		if (colon == NULL) {
			snprintf(err, errlen, "line %d: no ':' after the field name", lineno);
			goto fail;
		}
		nlen = (size_t)(colon - p);
		if (!valid_ext_name(p, nlen)) {
			snprintf(err, errlen, "line %d: invalid field name", lineno);
			goto fail;
		}
		v = colon + 1;
		while (v < le && is_wsp(*v))
			v++;
		ve = le;
		while (ve > v && is_wsp(ve[-1]))
			ve--;
		for (const unsigned char *q = v; q < ve; q++)
			if (*q < 0x20 || *q == 0x7f) {
				snprintf(err, errlen, "line %d: control character in value", lineno);
				goto fail;
			}

		if (name_is(p, nlen, "version")) {
			if (!have_version) {
				if (!name_is(v, (size_t)(ve - v), "STSv1")) {
					snprintf(err, errlen, "line %d: version must be STSv1", lineno);
					goto fail;
				}
				have_version = true;
			}
		} else if (name_is(p, nlen, "mode")) {
			if (!have_mode) {
				size_t vl = (size_t)(ve - v);
				if (name_is(v, vl, "enforce"))
					pol.mode = POLICY_MODE_ENFORCE;
				else if (name_is(v, vl, "testing"))
					pol.mode = POLICY_MODE_TESTING;
				else if (name_is(v, vl, "none"))
					pol.mode = POLICY_MODE_NONE;
				else {
					snprintf(err, errlen, "line %d: mode must be enforce, testing or none", lineno);
					goto fail;
				}
				have_mode = true;
			}
		} else if (name_is(p, nlen, "max_age")) {
			if (!have_max_age) {
				unsigned long long x = 0;
				size_t vl = (size_t)(ve - v);
				if (vl == 0 || vl > 10) {
					snprintf(err, errlen, "line %d: max_age must be 1 to 10 digits", lineno);
					goto fail;
				}
				for (size_t i = 0; i < vl; i++) {
					if (!is_digit(v[i])) {
						snprintf(err, errlen, "line %d: max_age must be digits only", lineno);
						goto fail;
					}
					x = x * 10 + (unsigned)(v[i] - '0');
				}
				if (x > POLICY_MAX_AGE_MAX) {
					snprintf(err, errlen, "line %d: max_age %llu is above 31557600", lineno, x);
					goto fail;
				}
				pol.max_age = (unsigned long)x;
				have_max_age = true;
			}
		} else if (name_is(p, nlen, "mx")) {
			size_t vl = (size_t)(ve - v);
			if (!valid_mx(v, vl)) {
				snprintf(err, errlen, "line %d: invalid mx pattern", lineno);
				goto fail;
			}
			VEC_PUSH(pol.mx, pol.n_mx, cap_mx, xstrndup((const char *)v, vl));
		} else {
			if (!valid_ext_value(v, (size_t)(ve - v))) {
				snprintf(err, errlen, "line %d: invalid extension value", lineno);
				goto fail;
			}
			pol.n_extensions++;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (!have_version) {
		snprintf(err, errlen, "no version field");
		goto fail;
	}
	if (!have_mode) {
		snprintf(err, errlen, "no mode field");
		goto fail;
	}
	if (!have_max_age) {
		snprintf(err, errlen, "no max_age field");
		goto fail;
	}
	if (pol.mode != POLICY_MODE_NONE && pol.n_mx == 0) {
		snprintf(err, errlen, "mode %s needs at least one mx field", policy_mode_name(pol.mode));
		goto fail;
	}
	*out = pol;
	return 0;
fail:
	policy_clear(&pol);
	return -1;
}

void
policy_clear(struct policy *p)
{
	for (size_t i = 0; i < p->n_mx; i++)
		free(p->mx[i]);
	free(p->mx);
	memset(p, 0, sizeof(*p));
}

bool
policy_mx_match(const struct policy *p, const char *host)
{
	for (size_t i = 0; i < p->n_mx; i++)
		if (dname_mx_match(p->mx[i], host))
			return true;
	return false;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The hashed text is "STSv1\nmode=M\nmax_age=N\n" then "mx=P\n" per pattern in
 * byte order. State files store these fingerprints: the text must not change.
 */
void
policy_fingerprint(const struct config_domain *d, char out[65])
{
	struct buf b = {0};
	size_t n_mx = strlist_len(d->mx);
	const char *small[16], **mx = n_mx <= 16 ? small : xcalloc(n_mx, sizeof(char *));
	char num[21];

	memcpy(mx, strlist_items(d->mx), n_mx * sizeof(char *));
	qsort(mx, n_mx, sizeof(char *), cmp_str);
	buf_puts(&b, "STSv1\nmode=");
	buf_puts(&b, policy_mode_name(d->mode));
	buf_puts(&b, "\nmax_age=");
	buf_puts(&b, ulong_str(d->max_age, num));
	buf_puts(&b, "\n");
	for (size_t i = 0; i < n_mx; i++) {
		buf_puts(&b, "mx=");
		buf_puts(&b, mx[i]);
		buf_puts(&b, "\n");
	}
	digest_sha256_hex(b.data, b.len, out);
	if (mx != small)
		free(mx);
	buf_clear(&b);
}

const char *
policy_mode_name(enum policy_mode mode)
{
	switch (mode) {
	case POLICY_MODE_ENFORCE:
		return "enforce";
	case POLICY_MODE_TESTING:
		return "testing";
	default:
		return "none";
	}
}
