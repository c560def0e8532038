/* SPDX-License-Identifier: MIT */
/* Unit tests of policy.c: the RFC 8461 vectors P01-P35 and M01-M08, byte-exact rendering, round trips, fingerprints. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dname.h"
#include "policy.h"
#include "util.h"

/* ------------------------------------------------------------- P01-P35 */

/* The base body "B" of rfc-notes.md section 7. */
#define B "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n"
#define B_WITH(line) "version: STSv1\nmode: enforce\n" line "max_age: 604800\n"
#define B_MAXAGE(v) "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: " v "\n"
#define B_MX(v) "version: STSv1\nmode: enforce\nmx: " v "\nmax_age: 604800\n"

struct pvec {
	const char *id;
	const char *body;
	size_t len;		/* 0: strlen(body) */
	bool valid;
	/* expectations when valid */
	enum policy_mode mode;
	unsigned long max_age;
	size_t n_mx;
	const char *mx0;
	size_t n_ext;
};

#define V(id, body, mode, age, nmx, mx0, next) { id, body, 0, true, mode, age, nmx, mx0, next }
#define X(id, body) { id, body, 0, false, POLICY_MODE_NONE, 0, 0, NULL, 0 }

static const char name32[] = "abcdefghijklmnopqrstuvwxyz012345";
static const char name33[] = "abcdefghijklmnopqrstuvwxyz0123456";

static const struct pvec pvecs[] = {
	V("P01", "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n",
	    POLICY_MODE_ENFORCE, 604800, 1, "mail.example.com", 0),
	V("P02", B, POLICY_MODE_ENFORCE, 604800, 1, "mail.example.com", 0),
	V("P03", "version: STSv1\r\nmode: enforce\nmx: mail.example.com\r\nmax_age: 604800",
	    POLICY_MODE_ENFORCE, 604800, 1, "mail.example.com", 0),
	V("P04", "max_age: 86400\nmx: mx1.example.net\nmode: testing\nversion: STSv1\n",
	    POLICY_MODE_TESTING, 86400, 1, "mx1.example.net", 0),
	V("P05", "version:STSv1\nmode:\tenforce\nmx:mail.example.com\nmax_age:86400\n",
	    POLICY_MODE_ENFORCE, 86400, 1, "mail.example.com", 0),
	V("P06", "version: STSv1 \t\nmode: enforce  \nmx: mail.example.com\nmax_age: 86400\n",
	    POLICY_MODE_ENFORCE, 86400, 1, "mail.example.com", 0),
	X("P07", " version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n"),
	X("P07b", "version: STSv1\n\tmode: enforce\nmx: mail.example.com\nmax_age: 604800\n"),
	X("P08", "version: STSv1\n\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n"),
	X("P09", B "\n"),
	X("P09b", "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n\r\n"),
	X("P10", "version: STSv1\rmode: enforce\rmx: mail.example.com\rmax_age: 604800\r"),
	X("P10b", "version: STSv1\nmode: enforce\rmx: mail.example.com\nmax_age: 604800\n"),
	X("P11", "version : STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n"),
	X("P12", "Version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n"),
	X("P13", "version: STSv1\nmode: Enforce\nmx: mail.example.com\nmax_age: 604800\n"),
	X("P14", "version: STSv2\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n"),
	V("P15", "version: STSv1\nmode: none\nmax_age: 86400\n", POLICY_MODE_NONE, 86400, 0, NULL, 0),
	X("P16", "version: STSv1\nmode: enforce\nmax_age: 86400\n"),
	X("P17", "version: STSv1\nmode: testing\nmax_age: 86400\n"),
	V("P18", B_MAXAGE("31557600"), POLICY_MODE_ENFORCE, 31557600, 1, "mail.example.com", 0),
	X("P19", B_MAXAGE("31557601")),
	X("P20", B_MAXAGE("12345678901")),
	/* grammar-valid: the parser accepts it (policy.h caps only above 31557600); the loader refuses to emit it */
	V("P21", B_MAXAGE("0"), POLICY_MODE_ENFORCE, 0, 1, "mail.example.com", 0),
	X("P22a", B_MAXAGE("-1")),
	X("P22b", B_MAXAGE("+86400")),
	X("P22c", B_MAXAGE("86400s")),
	X("P22d", B_MAXAGE("1e5")),
	X("P22e", B_MAXAGE("")),
	X("P22f", B_MAXAGE("86 400")),
	V("P23", B_MAXAGE("0000604800"), POLICY_MODE_ENFORCE, 604800, 1, "mail.example.com", 0),
	V("P24", "version: STSv1\nmode: testing\nmode: enforce\nmx: mail.example.com\nmax_age: 86400\n",
	    POLICY_MODE_TESTING, 86400, 1, "mail.example.com", 0),
	V("P24b", B_MAXAGE("86400") "max_age: 1\n", POLICY_MODE_ENFORCE, 86400, 1, "mail.example.com", 0),
	V("P25", B "foo_bar: some value\n", POLICY_MODE_ENFORCE, 604800, 1, "mail.example.com", 1),
	X("P26", B "_foo: x\n"),
	X("P27a", B "abcdefghijklmnopqrstuvwxyz0123456: x\n"),
	V("P27b", B "abcdefghijklmnopqrstuvwxyz012345: x\n", POLICY_MODE_ENFORCE, 604800, 1,
	    "mail.example.com", 1),
	X("P28", B "foo:\n"),
	X("P28b", B "foo:   \n"),
	X("P29", "\xEF\xBB\xBF" B),
	X("P30", B_MX("mail.example.com.")),
	X("P31a", B_MX("*.*.example.com")),
	X("P31b", B_MX("mail*.example.com")),
	X("P31c", B_MX("*example.com")),
	X("P31d", B_MX("*")),
	X("P32a", B_MX("mail.b\xc3\xbc" "cher.example")),
	V("P32b", B_MX("mail.xn--bcher-kva.example"), POLICY_MODE_ENFORCE, 604800, 1,
	    "mail.xn--bcher-kva.example", 0),
	X("P33a", B_MX("mx_1.example.com")),
	X("P33b", B_MX("-mx.example.com")),
	X("P33c", B_MX("mx-.example.com")),
	X("P33d", B_MX("mail.example.com:25")),
	X("P34", B_MX("mail.example.com, mx2.example.com")),
	/* grammar-valid: the parser accepts it; the loader refuses a wildcard over a public suffix */
	V("P35", B_MX("*.com"), POLICY_MODE_ENFORCE, 604800, 1, "*.com", 0),
	/* beyond the table: extension values may carry UTF-8 but no control characters */
	V("EXT-utf8", B "note: gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln\n", POLICY_MODE_ENFORCE, 604800, 1,
	    "mail.example.com", 1),
	X("EXT-bad-utf8", B "note: \xc3\n"),
	X("EXT-tab", B "note: a\tb\n"),
	X("EMPTY", ""),
	X("NO-VERSION", "mode: enforce\nmx: mail.example.com\nmax_age: 604800\n"),
	X("NO-MODE", "version: STSv1\nmx: mail.example.com\nmax_age: 604800\n"),
	X("NO-MAXAGE", "version: STSv1\nmode: enforce\nmx: mail.example.com\n"),
	X("NO-COLON", B "garbage\n"),
};

static void
check_pvec(const struct pvec *v)
{
	struct policy p;
	char err[256] = "";
	size_t len = v->len ? v->len : strlen(v->body);
	int rc;

	memset(&p, 0xa5, sizeof(p));
	rc = policy_parse(v->body, len, &p, err, sizeof(err));
	if (!v->valid) {
		cr_expect_eq(rc, -1, "%s: expected INVALID, parser accepted it", v->id);
		cr_expect_neq(err[0], '\0', "%s: no error message", v->id);
		return;
	}
	cr_assert_eq(rc, 0, "%s: expected VALID, parser said: %s", v->id, err);
	cr_expect_eq(p.mode, v->mode, "%s: mode %d, expected %d", v->id, p.mode, v->mode);
	cr_expect_eq(p.max_age, v->max_age, "%s: max_age %lu, expected %lu", v->id, p.max_age, v->max_age);
	cr_expect_eq(p.n_mx, v->n_mx, "%s: %zu mx, expected %zu", v->id, p.n_mx, v->n_mx);
	if (v->mx0 && p.n_mx > 0)
		cr_expect_str_eq(p.mx[0], v->mx0, "%s: mx[0]", v->id);
	cr_expect_eq(p.n_extensions, v->n_ext, "%s: %zu extensions, expected %zu", v->id, p.n_extensions,
	    v->n_ext);
	policy_clear(&p);
}

Test(policy_vectors, p01_p35)
{
	cr_assert_eq(strlen(name32), 32);
	cr_assert_eq(strlen(name33), 33);
	for (size_t i = 0; i < sizeof(pvecs) / sizeof(pvecs[0]); i++)
		check_pvec(&pvecs[i]);
}

Test(policy_vectors, nul_length_counts)
{
	/* an embedded NUL is part of the body: the full length is parsed, not up to the NUL */
	static const char body[] = "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 6048\0" "00\n";
	struct policy p;
	char err[256];

	cr_expect_eq(policy_parse(body, sizeof(body) - 1, &p, err, sizeof(err)), -1);
}

Test(policy_vectors, several_mx_kept_in_order)
{
	static const char body[] = "version: STSv1\r\nmode: testing\r\nmx: b.example.com\r\nmx: *.a.example.com\r\n"
	    "mx: c.example.com\r\nmax_age: 86400\r\n";
	struct policy p;
	char err[256];

	cr_assert_eq(policy_parse(body, strlen(body), &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.n_mx, 3);
	cr_expect_str_eq(p.mx[0], "b.example.com");
	cr_expect_str_eq(p.mx[1], "*.a.example.com");
	cr_expect_str_eq(p.mx[2], "c.example.com");
	policy_clear(&p);
}

/* policy_clear leaves P as {0} (not just its patterns freed), and P parses again without a leak. */
Test(policy_vectors, clear_leaves_it_empty_and_reusable)
{
	static const char first[] = "version: STSv1\nmode: enforce\nmx: a.example.com\nmx: b.example.com\n"
	    "max_age: 86400\nx-extra: 1\n";
	static const char second[] = "version: STSv1\nmode: testing\nmx: c.example.com\nmax_age: 600\n";
	struct policy p;
	char err[256];

	cr_assert_eq(policy_parse(first, strlen(first), &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.n_extensions, 1);
	policy_clear(&p);
	cr_expect_null(p.mx);
	cr_expect_eq(p.n_mx, 0);
	cr_expect_eq(p.mode, POLICY_MODE_NONE);
	cr_expect_eq(p.max_age, 0);
	cr_expect_eq(p.n_extensions, 0);
	policy_clear(&p);	/* a second clear is harmless */
	cr_assert_eq(policy_parse(second, strlen(second), &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(p.n_mx, 1);
	cr_expect_str_eq(p.mx[0], "c.example.com");
	cr_expect_eq(p.max_age, 600);
	cr_expect_eq(p.n_extensions, 0);
	policy_clear(&p);
}

Test(policy_vectors, size_limit)
{
	/* a body over 64 KiB is refused even when every line is valid */
	size_t cap = POLICY_MAX_BODY + 4096, len = 0;
	char *body = malloc(cap);

	len += (size_t)sprintf(body + len, "version: STSv1\nmode: enforce\nmax_age: 86400\n");
	while (len < POLICY_MAX_BODY + 10)
		len += (size_t)sprintf(body + len, "mx: mx%zu.example.com\n", len);
	struct policy p;
	char err[256];
	cr_expect_eq(policy_parse(body, len, &p, err, sizeof(err)), -1);
	/* and the same shape under the limit is fine */
	len = 0;
	len += (size_t)sprintf(body + len, "version: STSv1\nmode: enforce\nmax_age: 86400\n");
	while (len < POLICY_MAX_BODY - 100)
		len += (size_t)sprintf(body + len, "mx: mx%zu.example.com\n", len);
	cr_expect_eq(policy_parse(body, len, &p, err, sizeof(err)), 0, "%s", err);
	policy_clear(&p);
	free(body);
}

/* P21 and P35 are accepted by the parser, but the loader must refuse to emit them. */
static size_t
load_errors(const char *yaml, char *first, size_t firstlen)
{
	struct diag_list dl;
	struct config *cfg;
	size_t errors;

	diag_init(&dl, "t.yaml");
	cfg = config_load_mem("t.yaml", "/tmp", yaml, strlen(yaml), &dl);
	errors = dl.errors;
	first[0] = '\0';
	for (size_t i = 0; i < dl.n; i++)
		if (dl.items[i].level == DIAG_ERROR) {
			diag_format(&dl, i, first, firstlen);
			break;
		}
	cr_expect(errors == 0 ? cfg != NULL : cfg == NULL);
	config_free(cfg);
	diag_clear(&dl);
	return errors;
}

Test(policy_vectors, loader_refuses_p21_and_p35)
{
	char first[512];

	cr_assert_eq(load_errors("domains:\n  - name: example.com\n    mx: [mail.example.com]\n    max_age: 0\n",
	    first, sizeof(first)), 1);
	cr_expect_str_eq(first, "t.yaml:4:14: 'max_age' is out of range (1..31557600): 0");
	cr_assert_eq(load_errors("domains:\n  - name: example.com\n    mx: [\"*.com\"]\n", first, sizeof(first)), 1);
	cr_expect(strstr(first, "t.yaml:3:10: invalid mx: '*.com'") == first, "%s", first);
	/* control: the same file with sane values loads */
	cr_expect_eq(load_errors("domains:\n  - name: example.com\n    mx: [\"*.example.com\"]\n    max_age: 86400\n",
	    first, sizeof(first)), 0, "%s", first);
}

/* ------------------------------------------------------------- M01-M08 */

struct mvec {
	const char *id, *pattern, *host;
	bool match;
};

static const struct mvec mvecs[] = {
	{ "M01", "mail.example.com", "mail.example.com", true },
	{ "M02", "mail.example.com", "MAIL.Example.COM", true },
	{ "M03", "*.example.com", "mx1.example.com", true },
	{ "M04", "*.example.com", "example.com", false },
	{ "M05", "*.example.com", "foo.bar.example.com", false },
	{ "M06", "example.com", "mail.example.com", false },
	{ "M07", "mail.example.com", "mail.example.com.", true },
	{ "M08", "*.xn--bcher-kva.example", "mx.b\xc3\xbc" "cher.example", true },
	/* around the table */
	{ "M03b", "*.example.com", "MX1.EXAMPLE.COM.", true },
	{ "M04b", "*.example.com", ".example.com", false },
	{ "M06b", "mail.example.com", "mail.example.co", false },
	{ "M06c", "mail.example.com", "xmail.example.com", false },
	{ "M06d", "mail.example.com", "mail.example.com.au", false },
	{ "M08b", "mx.xn--bcher-kva.example", "MX.XN--BCHER-KVA.EXAMPLE", true },
	{ "M08c", "mx.xn--bcher-kva.example", "mx.bucher.example", false },
	{ "M09", "*.example.com", "mx1.example.net", false },
	{ "M10", "*.example.com", "", false },
};

Test(policy_match, m01_m08_dname)
{
	for (size_t i = 0; i < sizeof(mvecs) / sizeof(mvecs[0]); i++) {
		const struct mvec *v = &mvecs[i];
		cr_expect_eq(dname_mx_match(v->pattern, v->host), v->match, "%s: '%s' vs '%s': expected %s",
		    v->id, v->pattern, v->host, v->match ? "MATCH" : "NO MATCH");
	}
}

Test(policy_match, m01_m08_through_a_parsed_policy)
{
	/* the same vectors, with the pattern coming out of a parsed body */
	for (size_t i = 0; i < sizeof(mvecs) / sizeof(mvecs[0]); i++) {
		const struct mvec *v = &mvecs[i];
		char body[512], err[256];
		struct policy p;

		snprintf(body, sizeof(body), "version: STSv1\r\nmode: enforce\r\nmx: %s\r\nmax_age: 86400\r\n",
		    v->pattern);
		cr_assert_eq(policy_parse(body, strlen(body), &p, err, sizeof(err)), 0, "%s: %s", v->id, err);
		cr_expect_eq(policy_mx_match(&p, v->host), v->match, "%s: policy_mx_match('%s')", v->id, v->host);
		policy_clear(&p);
	}
}

Test(policy_match, any_of_several_patterns)
{
	static const char body[] = "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.backup.example.net\n"
	    "max_age: 86400\n";
	struct policy p;
	char err[256];

	cr_assert_eq(policy_parse(body, strlen(body), &p, err, sizeof(err)), 0, "%s", err);
	cr_expect(policy_mx_match(&p, "mx1.example.com"));
	cr_expect(policy_mx_match(&p, "b7.backup.example.net"));
	cr_expect_not(policy_mx_match(&p, "mx2.example.com"));
	cr_expect_not(policy_mx_match(&p, "backup.example.net"));
	policy_clear(&p);

	/* mode none without mx matches nothing */
	{
		static const char none[] = "version: STSv1\nmode: none\nmax_age: 1\n";
		cr_assert_eq(policy_parse(none, strlen(none), &p, err, sizeof(err)), 0, "%s", err);
	}
	cr_expect_not(policy_mx_match(&p, "mx1.example.com"));
	policy_clear(&p);
}

/* ------------------------------------------------------------- rendering */

struct rvec {
	const char *name;
	enum policy_mode mode;
	unsigned long max_age;
	const char *mx[4];
	const char *expect;
};

static const struct rvec rvecs[] = {
	{ "example.com", POLICY_MODE_ENFORCE, 604800,
	    { "mx1.example.com", "*.mail.example.net", "mx2.example.com", NULL },
	    "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.mail.example.net\r\n"
	    "mx: mx2.example.com\r\nmax_age: 604800\r\n" },
	{ "example.org", POLICY_MODE_TESTING, 86400, { "mail.example.org", NULL },
	    "version: STSv1\r\nmode: testing\r\nmx: mail.example.org\r\nmax_age: 86400\r\n" },
	{ "example.net", POLICY_MODE_NONE, 86400, { NULL },
	    "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n" },
	{ "example.edu", POLICY_MODE_NONE, 31557600, { "mx.example.edu", NULL },
	    "version: STSv1\r\nmode: none\r\nmx: mx.example.edu\r\nmax_age: 31557600\r\n" },
	{ "xn--bcher-kva.example", POLICY_MODE_ENFORCE, 1, { "mx.xn--bcher-kva.example", NULL },
	    "version: STSv1\r\nmode: enforce\r\nmx: mx.xn--bcher-kva.example\r\nmax_age: 1\r\n" },
};

static struct config_domain
mkdomain(const struct rvec *v)
{
	struct config_domain d;

	domain_init(&d);
	d.name = xstrdup(v->name);
	d.mode = v->mode;
	d.max_age = v->max_age;
	for (size_t i = 0; v->mx[i]; i++)
		strlist_push(&d.mx, xstrdup(v->mx[i]));
	return d;
}

Test(policy_render, byte_exact)
{
	for (size_t i = 0; i < sizeof(rvecs) / sizeof(rvecs[0]); i++) {
		struct config_domain d = mkdomain(&rvecs[i]);
		size_t len = 12345;
		char *body = policy_render(&d, &len);

		cr_assert_not_null(body);
		cr_expect_eq(len, strlen(rvecs[i].expect), "%s: length %zu", d.name, len);
		cr_expect_eq(memcmp(body, rvecs[i].expect, strlen(rvecs[i].expect) + 1), 0,
		    "%s: got\n%s", d.name, body);
		for (size_t j = 0; j < len; j++) {
			unsigned char c = (unsigned char)body[j];
			cr_expect(c < 0x80, "%s: non-ASCII byte at %zu", d.name, j);
			if (c == '\n')
				cr_expect(j > 0 && body[j - 1] == '\r', "%s: bare LF at %zu", d.name, j);
			if (c == '\r')
				cr_expect(j + 1 < len && body[j + 1] == '\n', "%s: bare CR at %zu", d.name, j);
		}
		free(body);
		domain_clear(&d);
	}
}

Test(policy_render, round_trip)
{
	for (size_t i = 0; i < sizeof(rvecs) / sizeof(rvecs[0]); i++) {
		struct config_domain d = mkdomain(&rvecs[i]);
		size_t len;
		char *body = policy_render(&d, &len), err[256];
		struct policy p;

		cr_assert_eq(policy_parse(body, len, &p, err, sizeof(err)), 0, "%s: %s", d.name, err);
		cr_expect_eq(p.mode, d.mode, "%s", d.name);
		cr_expect_eq(p.max_age, d.max_age, "%s", d.name);
		cr_assert_eq(p.n_mx, strlist_len(d.mx), "%s", d.name);
		for (size_t j = 0; j < strlist_len(d.mx); j++)
			cr_expect_str_eq(p.mx[j], d.mx->v[j], "%s: mx %zu", d.name, j);
		cr_expect_eq(p.n_extensions, 0);
		policy_clear(&p);
		free(body);
		domain_clear(&d);
	}
}

Test(policy_render, from_loaded_config_round_trips)
{
	/* every domain of config/example.yaml: rendered body parses back to the same meaning */
	struct diag_list dl;
	struct config *cfg;

	diag_init(&dl, "example.yaml");
	cfg = config_load(SOURCE_ROOT "/config/example.yaml", &dl);
	cr_assert_not_null(cfg);
	cr_assert_gt(cfg->n_domains, 0);
	for (size_t i = 0; i < cfg->n_domains; i++) {
		const struct config_domain *d = &cfg->domains[i];
		size_t len;
		char *body = policy_render(d, &len), err[256];
		struct policy p;

		cr_assert_eq(strncmp(body, "version: STSv1\r\nmode: ", 22), 0);
		cr_assert_eq(policy_parse(body, len, &p, err, sizeof(err)), 0, "%s: %s", d->name, err);
		cr_expect_eq(p.mode, d->mode);
		cr_expect_eq(p.max_age, d->max_age);
		cr_assert_eq(p.n_mx, strlist_len(d->mx));
		for (size_t j = 0; j < strlist_len(d->mx); j++)
			cr_expect_str_eq(p.mx[j], d->mx->v[j]);
		policy_clear(&p);
		free(body);
	}
	config_free(cfg);
	diag_clear(&dl);
}

/* ------------------------------------------------------------- fingerprints */

static void
fp(enum policy_mode mode, unsigned long max_age, const char *const *mx, size_t n, char out[65])
{
	struct config_domain d;

	domain_init(&d);
	d.name = xstrdup("example.com");
	d.mode = mode;
	d.max_age = max_age;
	for (size_t i = 0; i < n; i++)
		strlist_push(&d.mx, xstrdup(mx[i]));
	policy_fingerprint(&d, out);
	domain_clear(&d);
}

Test(policy_fingerprint, order_and_changes)
{
	static const char *const ab[] = { "a.example.com", "*.b.example.com", "c.example.com" };
	static const char *const ba[] = { "c.example.com", "a.example.com", "*.b.example.com" };
	static const char *const a2[] = { "a.example.com", "*.b.example.com" };
	static const char *const ad[] = { "a.example.com", "*.b.example.com", "d.example.com" };
	char f1[65], f2[65], f3[65];

	fp(POLICY_MODE_ENFORCE, 604800, ab, 3, f1);
	cr_expect_eq(strlen(f1), 64);
	for (size_t i = 0; i < 64; i++)
		cr_expect((f1[i] >= '0' && f1[i] <= '9') || (f1[i] >= 'a' && f1[i] <= 'f'), "%s", f1);

	fp(POLICY_MODE_ENFORCE, 604800, ab, 3, f2);
	cr_expect_str_eq(f1, f2, "not deterministic");
	fp(POLICY_MODE_ENFORCE, 604800, ba, 3, f2);
	cr_expect_str_eq(f1, f2, "mx order changed the fingerprint");

	fp(POLICY_MODE_TESTING, 604800, ab, 3, f3);
	cr_expect_str_neq(f1, f3, "mode change not seen");
	fp(POLICY_MODE_ENFORCE, 604801, ab, 3, f3);
	cr_expect_str_neq(f1, f3, "max_age change not seen");
	fp(POLICY_MODE_ENFORCE, 604800, a2, 2, f3);
	cr_expect_str_neq(f1, f3, "removed mx not seen");
	fp(POLICY_MODE_ENFORCE, 604800, ad, 3, f3);
	cr_expect_str_neq(f1, f3, "replaced mx not seen");

	/* mode none with and without mx are different policies */
	fp(POLICY_MODE_NONE, 86400, NULL, 0, f2);
	fp(POLICY_MODE_NONE, 86400, ab, 1, f3);
	cr_expect_str_neq(f2, f3);
}

Test(policy_fingerprint, pinned_values)
{
	/*
	 * State files keep fingerprints across versions, so the hashed text is
	 * fixed: sha256("STSv1\nmode=enforce\nmax_age=604800\nmx=*.b.example.com\n
	 * mx=a.example.com\nmx=c.example.com\n"), computed with sha256sum.
	 */
	static const char *const mx[] = { "c.example.com", "a.example.com", "*.b.example.com" };
	char f[65];

	fp(POLICY_MODE_ENFORCE, 604800, mx, 3, f);
	cr_expect_str_eq(f, "2d1aac297dba8ef67714706df4cd6cc4222359a1b725346149fcee75e7572d41");
	fp(POLICY_MODE_NONE, 86400, NULL, 0, f);
	cr_expect_str_eq(f, "db81097f5f79350c5e77e82a26befb6fa7aef14a5b265596119fa1a8e3a2c728");
}

Test(policy_fingerprint, many_mx)
{
	/* more patterns than fit the small on-stack sort buffer: order still does not count */
	char *fw[40], *bw[40], f1[65], f2[65];

	for (int i = 0; i < 40; i++) {
		char name[32];
		snprintf(name, sizeof(name), "mx%02d.example.com", i);
		fw[i] = strdup(name);
		bw[39 - i] = fw[i];
	}
	fp(POLICY_MODE_ENFORCE, 86400, (const char *const *)fw, 40, f1);
	fp(POLICY_MODE_ENFORCE, 86400, (const char *const *)bw, 40, f2);
	cr_expect_str_eq(f1, f2);
	fp(POLICY_MODE_ENFORCE, 86400, (const char *const *)fw, 39, f2);
	cr_expect_str_neq(f1, f2);
	for (int i = 0; i < 40; i++)
		free(fw[i]);
}

Test(policy_fingerprint, unambiguous_fields)
{
	/* splitting or joining mx values must not collide: {"a.b", "c.d"} vs {"a.bc.d"}-like cases */
	static const char *const two[] = { "a.example.com", "b.example.com" };
	static const char *const one[] = { "a.example.comb.example.com" };
	char f1[65], f2[65];

	fp(POLICY_MODE_ENFORCE, 86400, two, 2, f1);
	fp(POLICY_MODE_ENFORCE, 86400, one, 1, f2);
	cr_expect_str_neq(f1, f2);
	/* max_age 1 + mx vs max_age 11: digits must not run into the next field */
	fp(POLICY_MODE_ENFORCE, 1, two, 2, f1);
	fp(POLICY_MODE_ENFORCE, 11, two, 2, f2);
	cr_expect_str_neq(f1, f2);
}
