/* SPDX-License-Identifier: MIT */
/* acmegate: the gate's verdict from tables of A, AAAA and CNAME answers, with and without dns.host_target; CAA verdicts; forgotten hosts leave the gate. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acmegate.h"
#include "resolve.h"

#define HOST "mta-sts.x.example"
#define TARGET "mta-sts.provider.example"

/* One answer as a table gives it: a status, one value (address or CNAME target), a chain end, an error. */
struct ans {
	enum resolve_status st;
	const char *value;
	const char *canonical;
	const char *error;
};

#define EXISTS(v) { RESOLVE_EXISTS, v, NULL, NULL }
#define VIA(v, c) { RESOLVE_EXISTS, v, c, NULL }
#define NX { RESOLVE_NXDOMAIN, NULL, NULL, NULL }
#define NXVIA(c) { RESOLVE_NXDOMAIN, NULL, c, NULL }
#define NODATA { RESOLVE_NODATA, NULL, NULL, NULL }
#define FAIL(e) { RESOLVE_FAILED, NULL, NULL, e }

struct row {
	const char *what;
	const char *host;	/* NULL: HOST */
	const char *target;	/* dns.host_target, NULL: none */
	struct ans a, aaaa, cname;
	enum acmegate_result want;
	const char *reason;
};

static const struct row rows[] = {
	{ "an A record", NULL, NULL, EXISTS("192.0.2.1"), NODATA, NODATA, ACMEGATE_PASS, "" },
	{ "an AAAA record only", NULL, NULL, NODATA, EXISTS("2001:db8::1"), NODATA, ACMEGATE_PASS, "" },
	{ "an address through a CNAME chain", NULL, NULL, VIA("192.0.2.1", "lb.example"), NODATA, NODATA,
	    ACMEGATE_PASS, "" },
	{ "NXDOMAIN", NULL, NULL, NX, NX, NODATA, ACMEGATE_WAIT, "NXDOMAIN" },
	{ "the name exists without addresses", NULL, NULL, NODATA, NODATA, NODATA, ACMEGATE_WAIT,
	    "no A or AAAA record" },
	{ "a CNAME to a name that does not exist", NULL, NULL, NXVIA("gone.example"), NXVIA("gone.example"), NODATA,
	    ACMEGATE_WAIT, "NXDOMAIN at the end of its CNAME chain (gone.example)" },
	{ "SERVFAIL for both", NULL, NULL, FAIL("SERVFAIL"), FAIL("SERVFAIL"), NODATA, ACMEGATE_RESOLVER_FAILED,
	    "resolver failed: SERVFAIL" },
	{ "a timeout for A, no AAAA: still open", NULL, NULL, FAIL("timed out after 5.0 s"), NODATA, NODATA,
	    ACMEGATE_RESOLVER_FAILED, "resolver failed: timed out after 5.0 s" },
	{ "NXDOMAIN for A, AAAA failing: open", NULL, NULL, NX, FAIL("REFUSED"), NODATA, ACMEGATE_RESOLVER_FAILED,
	    "resolver failed: REFUSED" },
	{ "AAAA failing, an A record: enough", NULL, NULL, EXISTS("192.0.2.1"), FAIL("SERVFAIL"), NODATA,
	    ACMEGATE_PASS, "" },
	{ "host_target: a CNAME to it", NULL, TARGET, VIA("192.0.2.1", TARGET), NODATA, EXISTS(TARGET),
	    ACMEGATE_PASS, "" },
	{ "host_target: another case and a trailing dot", NULL, "MTA-STS.Provider.Example.", VIA("192.0.2.1", TARGET),
	    NODATA, EXISTS(TARGET), ACMEGATE_PASS, "" },
	{ "host_target: a CNAME to a name of the customer's that ends at it", NULL, TARGET, VIA("192.0.2.1", TARGET),
	    NODATA, EXISTS("alias.x.example"), ACMEGATE_PASS, "" },
	{ "host_target: a CNAME elsewhere", NULL, TARGET, VIA("198.51.100.7", "other.example"), NODATA,
	    EXISTS("other.example"), ACMEGATE_WAIT, "is a CNAME to other.example, not to " TARGET },
	{ "host_target: an A record, not a CNAME", NULL, TARGET, EXISTS("192.0.2.1"), NODATA, NODATA, ACMEGATE_WAIT,
	    "has an address record, not a CNAME to " TARGET },
	{ "host_target: NXDOMAIN comes first", NULL, TARGET, NX, NX, NX, ACMEGATE_WAIT, "NXDOMAIN" },
	{ "host_target: the CNAME look-up failing", NULL, TARGET, EXISTS("192.0.2.1"), NODATA, FAIL("SERVFAIL"),
	    ACMEGATE_RESOLVER_FAILED, "resolver failed: SERVFAIL (CNAME)" },
	{ "host_target: the target's own policy host needs no CNAME", TARGET, TARGET ".", EXISTS("192.0.2.1"), NODATA,
	    NODATA, ACMEGATE_PASS, "" },
};

/* R's answer as resolve fills one in (malloc'd values, freed by resolve_answer_clear). */
static void
make(struct resolve_answer *a, const struct ans *r)
{
	memset(a, 0, sizeof(*a));
	a->status = r->st;
	a->rcode = r->st == RESOLVE_NXDOMAIN ? 3 : r->st == RESOLVE_FAILED ? 2 : 0;
	if (r->value != NULL) {
		a->values = calloc(1, sizeof(*a->values));
		a->values[0] = strdup(r->value);
		a->n = 1;
	}
	if (r->canonical != NULL)
		a->canonical = strdup(r->canonical);
	if (r->error != NULL)
		snprintf(a->error, sizeof(a->error), "%s", r->error);
}

Test(acmegate, judge_table)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct resolve_answer a, aaaa, cname;
		struct acmegate_lookups l = { &a, &aaaa, r->target != NULL ? &cname : NULL };
		struct acmegate_verdict v;

		make(&a, &r->a);
		make(&aaaa, &r->aaaa);
		make(&cname, &r->cname);
		memset(&v, 0x5a, sizeof(v));
		acmegate_judge(r->host != NULL ? r->host : HOST, &l, r->target, &v);
		cr_expect_eq(v.result, r->want, "%s: result %d, want %d (%s)", r->what, v.result, r->want, v.reason);
		cr_expect_str_eq(v.reason, r->reason, "%s", r->what);
		resolve_answer_clear(&a);
		resolve_answer_clear(&aaaa);
		resolve_answer_clear(&cname);
	}
}

/* host_target set but the CNAME never looked up: not a pass by default */
Test(acmegate, judge_target_without_cname_lookup)
{
	struct resolve_answer a, aaaa;
	struct ans ra = EXISTS("192.0.2.1"), rn = NODATA;
	struct acmegate_lookups l = { &a, &aaaa, NULL };
	struct acmegate_verdict v;

	make(&a, &ra);
	make(&aaaa, &rn);
	acmegate_judge(HOST, &l, TARGET, &v);
	cr_expect_eq(v.result, ACMEGATE_RESOLVER_FAILED);
	resolve_answer_clear(&a);
	resolve_answer_clear(&aaaa);
}

Test(acmegate, names_compare_without_case_or_trailing_dot)
{
	cr_expect(resolve_name_eq("Host.Example.", "host.example"));
	cr_expect(resolve_name_eq("host.example", "HOST.EXAMPLE."));
	cr_expect(!resolve_name_eq("host.example", "host.example.com"));
	cr_expect(!resolve_name_eq("host.example..", "host.example"));
	cr_expect(!resolve_name_eq("a.host.example", "host.example"));
}

/* One CAA record of a table. */
struct caa_rec {
	unsigned flags;
	const char *tag, *value;
};

/* A CAA answer: ST, with the records of RECS up to a NULL tag. */
static void
make_caa(struct resolve_answer *a, enum resolve_status st, const struct caa_rec *recs)
{
	memset(a, 0, sizeof(*a));
	a->status = st;
	for (size_t i = 0; recs != NULL && recs[i].tag != NULL; i++) {
		a->caa = realloc(a->caa, (a->n + 1) * sizeof(*a->caa));
		a->caa[a->n].flags = recs[i].flags;
		a->caa[a->n].tag = strdup(recs[i].tag);
		a->caa[a->n].value = strdup(recs[i].value);
		a->n++;
	}
}

struct caa_row {
	const char *what;
	enum resolve_status st[3];		/* mta-sts.x.example, x.example, example */
	struct caa_rec recs[3][3];		/* the records of each level with EXISTS */
	bool forbids;
	const char *warn;			/* a part of the warning expected */
};

#define NOREC { { 0, NULL, NULL } }
static const struct caa_row caa_rows[] = {
	{ "no CAA anywhere", { RESOLVE_NODATA, RESOLVE_NODATA, RESOLVE_NXDOMAIN }, { NOREC, NOREC, NOREC }, false, "" },
	{ "the domain names the CA", { RESOLVE_NODATA, RESOLVE_EXISTS, RESOLVE_NODATA },
	    { NOREC, { { 0, "issue", "letsencrypt.org" }, { 0, NULL, NULL } }, NOREC }, false, "" },
	{ "the domain names the CA with parameters, in another case", { RESOLVE_NODATA, RESOLVE_EXISTS, RESOLVE_NODATA },
	    { NOREC, { { 0, "issue", " LetsEncrypt.org ; validationmethods=http-01" }, { 0, NULL, NULL } }, NOREC },
	    false, "" },
	{ "the domain names another CA only", { RESOLVE_NODATA, RESOLVE_EXISTS, RESOLVE_NODATA },
	    { NOREC, { { 0, "issue", "sectigo.com" }, { 0, "issue", "pki.goog" }, { 0, NULL, NULL } }, NOREC }, true,
	    "CAA at x.example allows sectigo.com, pki.goog, not this CA (letsencrypt.org): it will refuse" },
	{ "the closest set wins: the host allows the CA, its domain does not",
	    { RESOLVE_EXISTS, RESOLVE_EXISTS, RESOLVE_NODATA },
	    { { { 0, "issue", "letsencrypt.org" }, { 0, NULL, NULL } }, { { 0, "issue", "sectigo.com" }, { 0, NULL, NULL } },
		NOREC },
	    false, "" },
	{ "issue \";\": no CA at all", { RESOLVE_EXISTS, RESOLVE_NODATA, RESOLVE_NODATA },
	    { { { 0, "issue", ";" }, { 0, NULL, NULL } }, NOREC, NOREC }, true,
	    "CAA at mta-sts.x.example allows no CA, not this CA" },
	{ "only iodef and issuewild: issue is not restricted", { RESOLVE_NODATA, RESOLVE_EXISTS, RESOLVE_NODATA },
	    { NOREC, { { 0, "iodef", "mailto:sec@x.example" }, { 0, "issuewild", "sectigo.com" }, { 0, NULL, NULL } }, NOREC },
	    false, "" },
	{ "a critical property unknown", { RESOLVE_NODATA, RESOLVE_NODATA, RESOLVE_EXISTS },
	    { NOREC, NOREC, { { 0, "issue", "letsencrypt.org" }, { 128, "tbs", "x" }, { 0, NULL, NULL } } }, true,
	    "CAA at example has a critical property 'tbs'" },
	{ "a failed look-up before the relevant set: nothing said", { RESOLVE_FAILED, RESOLVE_EXISTS, RESOLVE_NODATA },
	    { NOREC, { { 0, "issue", "sectigo.com" }, { 0, NULL, NULL } }, NOREC }, false, "" },
};

Test(acmegate, caa_table)
{
	const char *names[] = { "mta-sts.x.example", "x.example", "example" };
	const char *ids[] = { "letsencrypt.org" };

	for (size_t i = 0; i < sizeof(caa_rows) / sizeof(caa_rows[0]); i++) {
		const struct caa_row *r = &caa_rows[i];
		struct resolve_answer sets[3];
		char warn[320];
		bool got;

		for (size_t k = 0; k < 3; k++)
			make_caa(&sets[k], r->st[k], r->st[k] == RESOLVE_EXISTS ? r->recs[k] : NULL);
		got = acmegate_caa_judge(names, sets, 3, ids, 1, warn, sizeof(warn));
		cr_expect_eq(got, r->forbids, "%s: %s", r->what, warn);
		if (r->warn[0] == '\0')
			cr_expect_str_empty(warn, "%s", r->what);
		else
			cr_expect(strstr(warn, r->warn) != NULL, "%s: '%s' lacks '%s'", r->what, warn, r->warn);
		/* without the CA's identities nothing can be said */
		cr_expect(!acmegate_caa_judge(names, sets, 3, ids, 0, warn, sizeof(warn)), "%s", r->what);
		for (size_t k = 0; k < 3; k++)
			resolve_answer_clear(&sets[k]);
	}
}

/* A gate on the system's resolver: RFC 6761's .invalid is NXDOMAIN without asking a name server, offline too. */
static struct acmegate *
gate(void)
{
	char err[256] = "";
	struct acmegate *g = acmegate_new(err, sizeof(err));

	cr_assert_not_null(g, "%s", err);
	return g;
}

Test(acmegate, forgotten_hosts_leave_the_gate)
{
	struct acmegate *g = gate();
	struct acmegate_verdict v;
	char host[64];
	bool changed;

	for (int i = 0; i < 20; i++) {
		snprintf(host, sizeof(host), "mta-sts.n%d.invalid", i);
		cr_assert_eq(acmegate_check(g, host, NULL, &v, &changed), ACMEGATE_RETRY_ABSENT, "%s", v.reason);
		cr_expect(changed);
		cr_expect_str_eq(acmegate_reason(g, host), "NXDOMAIN");
	}
	cr_expect_eq(acmegate_size(g), 20);
	/* a pruned name: its reason goes at once, a name the gate never saw is no error */
	acmegate_forget(g, "mta-sts.n0.invalid");
	cr_expect_null(acmegate_reason(g, "mta-sts.n0.invalid"));
	acmegate_forget(g, "never.looked.up.invalid");
	for (int i = 1; i < 19; i++) {
		snprintf(host, sizeof(host), "mta-sts.n%d.invalid", i);
		acmegate_forget(g, host);
		cr_expect_null(acmegate_reason(g, host));
	}
	/* ... and its entry with it: the gate is the size of the hosts that still wait */
	cr_expect_eq(acmegate_size(g), 1);
	cr_expect_str_eq(acmegate_reason(g, "mta-sts.n19.invalid"), "NXDOMAIN");
	/* a forgotten host configured again is news again */
	acmegate_check(g, "mta-sts.n3.invalid", NULL, &v, &changed);
	cr_expect(changed);
	cr_expect_str_eq(acmegate_reason(g, "mta-sts.n3.invalid"), "NXDOMAIN");
	cr_expect_eq(acmegate_size(g), 2);
	acmegate_check(g, "mta-sts.n3.invalid", NULL, &v, &changed);
	cr_expect(!changed, "the same reason again is no news");
	acmegate_free(g);
}

Test(acmegate, a_forgotten_host_that_waits_again_keeps_its_entry)
{
	const char *hosts[] = { "a.invalid", "b.invalid", "c.invalid", "d.invalid" };
	struct acmegate *g = gate();
	struct acmegate_verdict v;
	bool changed;

	for (size_t i = 0; i < 4; i++)
		acmegate_check(g, hosts[i], NULL, &v, &changed);
	acmegate_forget(g, "a.invalid");
	acmegate_check(g, "a.invalid", NULL, &v, &changed);
	cr_expect(changed);
	/* three of four idle: swept, and the one waiting again is kept */
	for (size_t i = 1; i < 4; i++)
		acmegate_forget(g, hosts[i]);
	cr_expect_eq(acmegate_size(g), 1);
	cr_expect_str_eq(acmegate_reason(g, "a.invalid"), "NXDOMAIN");
	acmegate_free(g);
}
