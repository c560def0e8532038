/* SPDX-License-Identifier: MIT */
/* Unit tests for verify: the policies chosen for checking and the judgement of fetched answers. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "dsfixture.h"
#include "diag.h"
#include "ids.h"
#include "policy.h"
#include "verify.h"

/* 2026-01-01T00:00:00Z */
#define T0 INT64_C(1767225600)

static struct config *
load(const char *yaml)
{
	struct diag_list dl;
	struct config *cfg;

	diag_init(&dl, "t.yaml");
	cfg = config_load_mem("t.yaml", "/tmp", yaml, strlen(yaml), &dl);
	cr_assert_not_null(cfg, "config does not load (%zu diagnostics)", dl.n);
	diag_clear(&dl);
	return cfg;
}

#define TWO "listen: {https: [], http: [\"127.0.0.1:8080\"]}\n" \
	"domains:\n" \
	"  - {name: example.com, mode: enforce, mx: [mx1.example.com]}\n" \
	"  - {name: example.org, mode: testing, mx: [mail.example.org]}\n"

/* The state a `dns` run on CFG at NOW would write. */
static void
assigned(const struct config *cfg, int64_t now, struct ids_state *st)
{
	const struct config_domain *p[8];
	struct ids_changes ch;

	for (size_t i = 0; i < cfg->n_domains; i++)
		p[i] = &cfg->domains[i];
	cr_assert_eq(ids_assign(&(struct ids_state){ NULL, 0 }, p, cfg->n_domains, now, st, &ch), 0);
	ids_changes_clear(&ch);
}

static void
assert_names(const struct verify_targets *v, const char *const *names, size_t n)
{
	cr_assert_eq(v->n, n, "%zu targets, expected %zu", v->n, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(v->t[i].domain, names[i]);
}

Test(verify_targets, without_state_every_domain_is_new)
{
	struct config *cfg = load(TWO);
	struct verify_targets v;
	char err[256];
	size_t len;
	char *body;

	cr_assert_eq(verify_targets(DS(cfg), &(struct ids_state){ NULL, 0 }, T0, VERIFY_CHANGED, NULL, 0, &v,
	    err, sizeof(err)), 0);
	assert_names(&v, (const char *[]){ "example.com", "example.org" }, 2);
	body = policy_render(config_find_domain(cfg, "example.org"), &len);
	cr_assert_eq(v.t[1].len, len);
	cr_assert(memcmp(v.t[1].body, body, len) == 0);
	cr_assert(!v.t[1].retiring);
	free(body);
	verify_targets_clear(&v);
	config_free(cfg);
}

Test(verify_targets, only_what_the_next_dns_run_publishes)
{
	struct config *before = load(TWO);
	struct config *after = load("listen: {https: [], http: [\"127.0.0.1:8080\"]}\n"
	    "domains:\n"
	    "  - {name: example.com, mode: enforce, mx: [mx1.example.com], tlsrpt: [\"mailto:r@example.com\"]}\n"
	    "  - {name: example.org, mode: enforce, mx: [mail.example.org]}\n"
	    "  - {name: example.net, mode: testing, mx: [mail.example.net]}\n");
	struct ids_state st;
	struct verify_targets v;
	char err[256];

	assigned(before, T0, &st);
	/* example.com: only its TLSRPT changed, same policy: not checked */
	cr_assert_eq(verify_targets(DS(after), &st, T0 + 60, VERIFY_CHANGED, NULL, 0, &v, err, sizeof(err)), 0);
	assert_names(&v, (const char *[]){ "example.net", "example.org" }, 2);
	cr_assert(strstr(v.t[1].body, "mode: enforce\r\n") != NULL);
	verify_targets_clear(&v);
	/* the same config again: nothing */
	cr_assert_eq(verify_targets(DS(before), &st, T0 + 60, VERIFY_CHANGED, NULL, 0, &v, err, sizeof(err)), 0);
	cr_assert_eq(v.n, 0);
	verify_targets_clear(&v);
	ids_state_clear(&st);
	config_free(before);
	config_free(after);
}

Test(verify_targets, a_removed_domain_is_checked_as_retiring)
{
	struct config *before = load(TWO);
	struct config *after = load("listen: {https: [], http: [\"127.0.0.1:8080\"]}\n"
	    "domains:\n"
	    "  - {name: example.com, mode: enforce, mx: [mx1.example.com]}\n");
	const char *none = "version: STSv1\r\nmode: none\r\nmax_age: 86400\r\n";
	struct ids_state st;
	struct verify_targets v;
	char err[256];

	assigned(before, T0, &st);
	cr_assert_eq(verify_targets(DS(after), &st, T0 + 60, VERIFY_CHANGED, NULL, 0, &v, err, sizeof(err)), 0);
	assert_names(&v, (const char *[]){ "example.org" }, 1);
	cr_assert(v.t[0].retiring);
	cr_assert_eq(v.t[0].len, strlen(none));
	cr_assert(memcmp(v.t[0].body, none, v.t[0].len) == 0, "%s", v.t[0].body);
	verify_targets_clear(&v);
	/* --all: the configured one and the retiring one */
	cr_assert_eq(verify_targets(DS(after), &st, T0 + 60, VERIFY_ALL, NULL, 0, &v, err, sizeof(err)), 0);
	assert_names(&v, (const char *[]){ "example.com", "example.org" }, 2);
	verify_targets_clear(&v);
	ids_state_clear(&st);
	config_free(before);
	config_free(after);
}

Test(verify_targets, listed_names)
{
	struct config *cfg = load(TWO);
	char *names[] = { "example.org", "example.com", "example.org" };
	char *unknown[] = { "example.com", "example.edu" };
	struct verify_targets v;
	char err[256] = "";

	cr_assert_eq(verify_targets(DS(cfg), &(struct ids_state){ NULL, 0 }, T0, VERIFY_LISTED, names, 3, &v,
	    err, sizeof(err)), 0);
	assert_names(&v, (const char *[]){ "example.com", "example.org" }, 2);
	verify_targets_clear(&v);
	cr_assert_eq(verify_targets(DS(cfg), &(struct ids_state){ NULL, 0 }, T0, VERIFY_LISTED, unknown, 2, &v,
	    err, sizeof(err)), -1);
	cr_assert_str_eq(err, "unknown domain 'example.edu': neither configured nor retiring");
	cr_assert_eq(v.n, 0);
	cr_assert_null(v.t);
	config_free(cfg);
}

#define WANT "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n"

struct answer_case {
	long status;
	const char *ctype;
	const char *body;
	const char *why;	/* NULL: accepted */
};

static const struct answer_case answers[] = {
	{ 200, "text/plain", WANT, NULL },
	{ 200, "TEXT/PLAIN; charset=us-ascii", WANT, NULL },
	{ 404, "text/plain", WANT, "status 404, expected 200" },
	{ 301, "text/html", "", "status 301, expected 200" },
	{ 200, NULL, WANT, "content type '', expected text/plain" },
	{ 200, "text/plainx", WANT, "content type 'text/plainx', expected text/plain" },
	{ 200, "text/plain", "version: STSv1\r\nmode: testing\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n",
	  "line 2 is 'mode: testing', expected 'mode: enforce'" },
	{ 200, "text/plain", "version: STSv1\nmode: enforce\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n",
	  "line 1 ends in LF, expected CRLF" },
	{ 200, "text/plain", "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\n",
	  "the served policy ends before line 4, expected 'max_age: 604800'" },
	{ 200, "text/plain", WANT "mx: extra\r\n", "the served policy has an extra line 5 'mx: extra'" },
	{ 200, "text/plain", "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmax_age: 604800",
	  "line 4 ends in nothing (the body stops), expected CRLF" },
	{ 200, "text/plain", "version: STSv1\r\nmode: enf\x01rce\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n",
	  "line 2 is 'mode: enf\\x01rce', expected 'mode: enforce'" },
};

Test(verify_answer, table)
{
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		const struct answer_case *c = &answers[i];
		char why[512] = "";
		bool ok = verify_answer(c->status, c->ctype, c->body, strlen(c->body), WANT, strlen(WANT),
		    why, sizeof(why));

		if (c->why == NULL)
			cr_assert(ok, "case %zu refused: %s", i, why);
		else {
			cr_assert(!ok, "case %zu accepted", i);
			cr_assert_str_eq(why, c->why, "case %zu", i);
		}
	}
}

Test(verify_answer, a_body_with_a_nul_byte_differs)
{
	const char body[] = "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmax_age: 604800\r\n\0";
	char why[512];

	cr_assert(!verify_answer(200, "text/plain", body, sizeof(body) - 1, WANT, strlen(WANT), why, sizeof(why)));
	cr_assert_str_eq(why, "the served policy has an extra line 5 '\\x00'");
}

struct hp_case {
	const char *in;
	int rc;
	const char *host;
	unsigned port;
};

static const struct hp_case hostports[] = {
	{ "mtastsd.default.svc:8443", 0, "mtastsd.default.svc", 8443 },
	{ "mtastsd", 0, "mtastsd", 443 },
	{ "127.0.0.1:4443", 0, "127.0.0.1", 4443 },
	{ "[::1]:4443", 0, "::1", 4443 },
	{ "[2001:db8::1]", 0, "2001:db8::1", 443 },
	{ "::1", -1, NULL, 0 },
	{ "host:", -1, NULL, 0 },
	{ ":443", -1, NULL, 0 },
	{ "host:0", -1, NULL, 0 },
	{ "host:65536", -1, NULL, 0 },
	{ "host:+1", -1, NULL, 0 },
	{ "host:44x", -1, NULL, 0 },
	{ "[::1", -1, NULL, 0 },
	{ "[::1]x", -1, NULL, 0 },
	{ "", -1, NULL, 0 },
};

Test(verify_parse_hostport, table)
{
	for (size_t i = 0; i < sizeof(hostports) / sizeof(hostports[0]); i++) {
		const struct hp_case *c = &hostports[i];
		char host[64];
		unsigned port = 0;

		cr_assert_eq(verify_parse_hostport(c->in, 443, host, sizeof(host), &port), c->rc, "'%s'", c->in);
		if (c->rc == 0) {
			cr_assert_str_eq(host, c->host, "'%s'", c->in);
			cr_assert_eq(port, c->port, "'%s'", c->in);
		}
	}
}
