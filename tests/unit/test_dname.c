/* SPDX-License-Identifier: MIT */
/* Unit tests of dname.c: normalisation of domains and mx patterns, public suffixes, Host/SNI canonicalisation. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "dname.h"

struct nvec {
	const char *in;
	enum dname_kind kind;
	const char *out;	/* NULL: must fail */
	const char *err;	/* substring of the message when failing */
};

#define L63 "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij" "abc"

static const struct nvec nvecs[] = {
	/* domains */
	{ "example.com", DNAME_DOMAIN, "example.com", NULL },
	{ "Example.COM", DNAME_DOMAIN, "example.com", NULL },
	{ "example.com.", DNAME_DOMAIN, "example.com", NULL },
	{ "EXAMPLE.com.", DNAME_DOMAIN, "example.com", NULL },
	{ "b\xc3\xbc" "cher.example", DNAME_DOMAIN, "xn--bcher-kva.example", NULL },
	{ "B\xc3\x9c" "CHER.example", DNAME_DOMAIN, "xn--bcher-kva.example", NULL },
	{ "xn--bcher-kva.example", DNAME_DOMAIN, "xn--bcher-kva.example", NULL },
	{ "XN--BCHER-KVA.EXAMPLE", DNAME_DOMAIN, "xn--bcher-kva.example", NULL },
	{ "mail.example.co.uk", DNAME_DOMAIN, "mail.example.co.uk", NULL },
	{ "example.co.uk", DNAME_DOMAIN, "example.co.uk", NULL },
	{ "1example.com", DNAME_DOMAIN, "1example.com", NULL },
	{ L63 ".example.com", DNAME_DOMAIN, L63 ".example.com", NULL },
	{ "a-b.example.com", DNAME_DOMAIN, "a-b.example.com", NULL },
	{ "co.uk", DNAME_DOMAIN, NULL, "public suffix" },
	{ "CO.UK.", DNAME_DOMAIN, NULL, "public suffix" },
	{ "com", DNAME_DOMAIN, NULL, "two labels" },
	{ "localhost", DNAME_DOMAIN, NULL, "two labels" },
	{ "", DNAME_DOMAIN, NULL, "empty" },
	{ ".", DNAME_DOMAIN, NULL, "empty" },
	{ "example..com", DNAME_DOMAIN, NULL, "empty label" },
	{ ".example.com", DNAME_DOMAIN, NULL, "empty label" },
	{ "example.com..", DNAME_DOMAIN, NULL, "empty label" },
	{ "ex_ample.com", DNAME_DOMAIN, NULL, "'_'" },
	{ "example.com:443", DNAME_DOMAIN, NULL, "port" },
	{ "exa mple.com", DNAME_DOMAIN, NULL, "' '" },
	{ "-example.com", DNAME_DOMAIN, NULL, "'-'" },
	{ "example-.com", DNAME_DOMAIN, NULL, "'-'" },
	{ L63 "x.example.com", DNAME_DOMAIN, NULL, "63" },
	{ "*.example.com", DNAME_DOMAIN, NULL, "wildcard" },
	{ "exa/mple.com", DNAME_DOMAIN, NULL, "'/'" },
	{ "xn--zz-invalid.example", DNAME_DOMAIN, NULL, "internationalised" },
	/* mx patterns */
	{ "mx1.example.com", DNAME_MX_PATTERN, "mx1.example.com", NULL },
	{ "MX1.Example.com.", DNAME_MX_PATTERN, "mx1.example.com", NULL },
	{ "*.example.com", DNAME_MX_PATTERN, "*.example.com", NULL },
	{ "*.Example.COM.", DNAME_MX_PATTERN, "*.example.com", NULL },
	{ "*.b\xc3\xbc" "cher.example", DNAME_MX_PATTERN, "*.xn--bcher-kva.example", NULL },
	{ "*.example.co.uk", DNAME_MX_PATTERN, "*.example.co.uk", NULL },
	/* an mx host may sit directly under a public suffix owner, only wildcards over one are refused */
	{ "mx.co.uk", DNAME_MX_PATTERN, "mx.co.uk", NULL },
	{ "*.com", DNAME_MX_PATTERN, NULL, "public suffix" },
	{ "*.co.uk", DNAME_MX_PATTERN, NULL, "public suffix" },
	{ "*.*.example.com", DNAME_MX_PATTERN, NULL, "wildcard" },
	{ "mail*.example.com", DNAME_MX_PATTERN, NULL, "wildcard" },
	{ "*mail.example.com", DNAME_MX_PATTERN, NULL, "wildcard" },
	{ "*example.com", DNAME_MX_PATTERN, NULL, "wildcard" },
	{ "*", DNAME_MX_PATTERN, NULL, "wildcard" },
	{ "mail.*.example.com", DNAME_MX_PATTERN, NULL, "wildcard" },
	{ "mail.example.com:25", DNAME_MX_PATTERN, NULL, "port" },
	{ "mx_1.example.com", DNAME_MX_PATTERN, NULL, "'_'" },
	{ "[192.0.2.1]", DNAME_MX_PATTERN, NULL, "" },
	{ "mx", DNAME_MX_PATTERN, NULL, "two labels" },
	{ "192.0.2.25", DNAME_MX_PATTERN, NULL, "numeric label" },
	{ "192.0.2.25", DNAME_DOMAIN, NULL, "numeric label" },
	{ "mx.123", DNAME_MX_PATTERN, NULL, "numeric label" },
	{ "123.example.com", DNAME_MX_PATTERN, "123.example.com", NULL },
	/* hosts */
	{ "MTA-STS.Provider.Example.", DNAME_HOST, "mta-sts.provider.example", NULL },
	{ "host_name.example", DNAME_HOST, NULL, "'_'" },
};

Test(dname, normalize_table)
{
	for (size_t i = 0; i < sizeof(nvecs) / sizeof(nvecs[0]); i++) {
		const struct nvec *v = &nvecs[i];
		char err[512] = "", *out = (char *)"untouched";
		int rc = dname_normalize(v->in, v->kind, &out, err, sizeof(err));

		if (v->out) {
			cr_expect_eq(rc, 0, "'%s' (kind %d) refused: %s", v->in, v->kind, err);
			if (rc == 0)
				cr_expect_str_eq(out, v->out, "'%s'", v->in);
			if (rc == 0)
				free(out);
		} else {
			cr_expect_eq(rc, -1, "'%s' (kind %d) accepted as '%s'", v->in, v->kind, rc == 0 ? out : "");
			if (rc == 0) {
				free(out);
				continue;
			}
			cr_expect_null(out, "'%s': *out not NULL on failure", v->in);
			cr_expect(strstr(err, v->err) != NULL, "'%s': message '%s' lacks '%s'", v->in, err, v->err);
			cr_expect_neq(err[0], '\0');
		}
	}
}

Test(dname, domain_length_limit)
{
	/* DNAME_MAX_DOMAIN: "_smtp._tls." + name must fit in 253 octets */
	char name[300], *out, err[512];
	size_t len = 0;

	while (len + 10 <= DNAME_MAX_DOMAIN - 4) {	/* labels of 9 characters */
		memcpy(name + len, "abcdefghi.", 10);
		len += 10;
	}
	/* pad to exactly DNAME_MAX_DOMAIN with a final "com"-like label */
	while (len < DNAME_MAX_DOMAIN - 3)
		name[len++] = 'x';
	memcpy(name + len, "com", 4);
	len += 3;
	cr_assert_eq(strlen(name), DNAME_MAX_DOMAIN);
	cr_assert_eq(dname_normalize(name, DNAME_DOMAIN, &out, err, sizeof(err)), 0, "%s", err);
	free(out);
	/* one more character is too long for a domain, still fine as a host */
	memmove(name + 1, name, len + 1);
	name[0] = 'y';
	cr_expect_eq(dname_normalize(name, DNAME_DOMAIN, &out, err, sizeof(err)), -1);
	cr_expect(strstr(err, "too long") != NULL, "%s", err);
	cr_assert_eq(dname_normalize(name, DNAME_HOST, &out, err, sizeof(err)), 0, "%s", err);
	free(out);
}

Test(dname, public_suffix)
{
	cr_expect(dname_is_public_suffix("com"));
	cr_expect(dname_is_public_suffix("co.uk"));
	cr_expect(dname_is_public_suffix("uk"));
	cr_expect(dname_is_public_suffix("xn--p1ai"));	/* .рф */
	cr_expect_not(dname_is_public_suffix("example.com"));
	cr_expect_not(dname_is_public_suffix("example.co.uk"));
	cr_expect_not(dname_is_public_suffix("mail.example.com"));
	cr_expect_not(dname_is_public_suffix("xn--bcher-kva.example"));
}

Test(dname, idn_wildcard_over_public_suffix)
{
	char *out = NULL, err[512];

	/* "*.рф" becomes "*.xn--p1ai" and is a wildcard over a public suffix */
	cr_expect_eq(dname_normalize("*.\xd1\x80\xd1\x84", DNAME_MX_PATTERN, &out, err, sizeof(err)), -1);
	cr_expect(strstr(err, "public suffix") != NULL, "%s", err);
	free(out);
}

Test(dname, is_ldh)
{
	cr_expect(dname_is_ldh("example.com", 11));
	cr_expect(dname_is_ldh("a", 1));
	cr_expect(dname_is_ldh(L63, 63));
	cr_expect_not(dname_is_ldh(L63 "x", 64));
	cr_expect_not(dname_is_ldh("", 0));
	cr_expect_not(dname_is_ldh("example.com.", 12));
	cr_expect_not(dname_is_ldh("-a.com", 6));
	cr_expect_not(dname_is_ldh("a-.com", 6));
	cr_expect_not(dname_is_ldh("a_b.com", 7));
	cr_expect_not(dname_is_ldh("*.com", 5));
	/* the length is honoured: a valid prefix of an invalid string */
	cr_expect(dname_is_ldh("example.com:25", 11));
	cr_expect_not(dname_is_ldh("example.com:25", 14));
}

struct hvec {
	const char *in;
	bool allow_port;
	const char *out;	/* NULL: -1 */
};

static const struct hvec hvecs[] = {
	{ "mta-sts.example.com", true, "mta-sts.example.com" },
	{ "MTA-STS.Example.COM", true, "mta-sts.example.com" },
	{ "mta-sts.example.com.", true, "mta-sts.example.com" },
	{ "mta-sts.example.com:443", true, "mta-sts.example.com" },
	{ "mta-sts.example.com.:443", true, "mta-sts.example.com" },
	{ "MTA-STS.EXAMPLE.COM.:8443", true, "mta-sts.example.com" },
	{ "mta-sts.example.com:443", false, NULL },	/* SNI never has a port */
	{ "mta-sts.example.com.", false, "mta-sts.example.com" },
	{ "mta-sts.example.com:", true, NULL },
	{ "mta-sts.example.com:44x", true, NULL },
	{ "mta-sts.example.com:1234567", true, NULL },
	{ "[::1]", true, NULL },
	{ "[::1]:443", true, NULL },
	{ "::1", true, NULL },
	{ "[2001:db8::1]:8443", true, NULL },
	{ "192.0.2.1", true, NULL },
	{ "192.0.2.1:443", true, NULL },
	{ "mta-sts.b\xc3\xbc" "cher.example", true, NULL },
	{ "mta-sts.xn--bcher-kva.example", true, "mta-sts.xn--bcher-kva.example" },
	{ "", true, NULL },
	{ ".", true, NULL },
	{ ":443", true, NULL },
	{ "mta-sts..example.com", true, NULL },
	{ "mta-sts.example.com..", true, NULL },
	{ "mta_sts.example.com", true, NULL },
	{ "mta-sts.example.com/x", true, NULL },
	{ "mta-sts.example.com extra", true, NULL },
	{ "user@mta-sts.example.com", true, NULL },
};

Test(dname, canon_host_table)
{
	for (size_t i = 0; i < sizeof(hvecs) / sizeof(hvecs[0]); i++) {
		const struct hvec *v = &hvecs[i];
		char out[DNAME_MAX + 1];
		int n;

		memset(out, 'Z', sizeof(out));
		n = dname_canon_host(v->in, strlen(v->in), v->allow_port, out, sizeof(out));
		if (v->out) {
			cr_expect_eq(n, (int)strlen(v->out), "'%s' (port %d): returned %d", v->in, v->allow_port, n);
			if (n >= 0)
				cr_expect_str_eq(out, v->out, "'%s'", v->in);
		} else {
			cr_expect_eq(n, -1, "'%s' (port %d): accepted as '%.*s'", v->in, v->allow_port,
			    n > 0 ? n : 0, out);
		}
	}
}

Test(dname, canon_host_lengths)
{
	char in[400], out[DNAME_MAX + 1];
	size_t len;

	/* 253 octets is the longest name (63.63.63.61); 254 is refused, with or without a port */
	memset(in, 'a', DNAME_MAX);
	in[63] = in[127] = in[191] = '.';
	len = DNAME_MAX;
	in[len] = '\0';
	cr_assert_eq(len, DNAME_MAX);
	cr_expect_eq(dname_canon_host(in, len, true, out, sizeof(out)), DNAME_MAX);
	cr_expect_eq(dname_canon_host(in, len, false, out, sizeof(out)), DNAME_MAX);
	memcpy(in + len, ".:443", 6);
	cr_expect_eq(dname_canon_host(in, len + 5, true, out, sizeof(out)), DNAME_MAX);
	in[len] = 'a';
	in[len + 1] = '\0';
	cr_expect_eq(dname_canon_host(in, len + 1, true, out, sizeof(out)), -1);
	/* the output buffer is respected */
	cr_expect_eq(dname_canon_host("mta-sts.example.com", 19, true, out, 19), -1);
	cr_expect_eq(dname_canon_host("mta-sts.example.com", 19, true, out, 20), 19);
	/* only LEN bytes are read: no NUL needed, and an embedded NUL is refused */
	cr_expect_eq(dname_canon_host("mta-sts.example.comXYZ", 19, true, out, sizeof(out)), 19);
	cr_expect_str_eq(out, "mta-sts.example.com");
	cr_expect_eq(dname_canon_host("mta-sts\0example.com", 19, true, out, sizeof(out)), -1);
}
