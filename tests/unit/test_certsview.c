/* SPDX-License-Identifier: MIT */
/* certsview: acmeplan's states as `certs` names them, the rows' JSON and table forms, and when a host counts as missing. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acmeplan.h"
#include "acmesched.h"
#include "certsview.h"
#include "util.h"

#define NOW ((int64_t)1800000000)	/* 2027-01-15T08:00:00Z */

Test(certsview, state_names)
{
	static const struct {
		enum acmeplan_state in;
		const char *want;
	} t[] = {
		{ ACMEPLAN_UNMANAGED, NULL },
		{ ACMEPLAN_VALID, "valid" },
		{ ACMEPLAN_DUE, "ordering" },
		{ ACMEPLAN_WAITING_DNS, "waiting_dns" },
		{ ACMEPLAN_BACKOFF, "backoff" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *got = certsview_acme_name(certsview_acme_state(t[i].in));

		if (t[i].want == NULL)
			cr_expect_null(got, "%s", acmeplan_state_name(t[i].in));
		else
			cr_expect_str_eq(got, t[i].want, "%s", acmeplan_state_name(t[i].in));
	}
}

/* The ACME fields of a row from acmeplan's own decision over persisted states. */
Test(certsview, acme_fields_from_the_plan)
{
	struct acmesched_state st[] = {
		{ .name = "mta-sts.valid.example", .not_after = NOW + 60 * 86400, .next_renewal = NOW + 30 * 86400 },
		{ .name = "mta-sts.backoff.example", .failures = 2, .next_attempt = NOW + 600,
		    .last_error = "urn:ietf:params:acme:error:rejectedIdentifier: no" },
		{ .name = "mta-sts.renew.example", .not_after = NOW + 20 * 86400, .next_renewal = NOW - 3600 },
		{ .name = "mta-sts.retry.example", .failures = 1, .next_attempt = NOW - 5,
		    .last_error = "connection refused" },
	};
	const struct acmeplan_site sites[] = {
		{ "mta-sts.valid.example", true, false, true },
		{ "mta-sts.backoff.example", true, false, false },
		{ "mta-sts.renew.example", true, false, true },
		{ "mta-sts.retry.example", true, false, false },
		{ "mta-sts.new.example", true, false, false },
		{ "mta-sts.dns.example", true, false, false },
		{ "mta-sts.off.example", false, false, false },
		{ "mta-sts.operator.example", true, true, true },
	};
	const struct acmeplan_dnswait dw[] = { { "mta-sts.dns.example", NOW + 1 } };
	static const struct {
		const char *host;
		enum certsview_acme acme;
		int64_t next_renewal, retry_at;
		const char *last_error;
	} want[] = {
		{ "mta-sts.backoff.example", CERTSVIEW_ACME_BACKOFF, 0, NOW + 600,
		    "urn:ietf:params:acme:error:rejectedIdentifier: no" },
		{ "mta-sts.dns.example", CERTSVIEW_ACME_WAITING_DNS, 0, 0, NULL },
		{ "mta-sts.new.example", CERTSVIEW_ACME_ORDERING, 0, 0, NULL },
		{ "mta-sts.off.example", CERTSVIEW_ACME_UNMANAGED, 0, 0, NULL },
		{ "mta-sts.operator.example", CERTSVIEW_ACME_UNMANAGED, 0, 0, NULL },
		{ "mta-sts.renew.example", CERTSVIEW_ACME_ORDERING, NOW - 3600, 0, NULL },
		{ "mta-sts.retry.example", CERTSVIEW_ACME_ORDERING, 0, 0, "connection refused" },
		{ "mta-sts.valid.example", CERTSVIEW_ACME_VALID, NOW + 30 * 86400, 0, NULL },
	};
	struct acmeplan plan;

	acmeplan_make(&plan, sites, sizeof(sites) / sizeof(sites[0]), st, sizeof(st) / sizeof(st[0]), dw, 1, NOW);
	cr_assert_eq(plan.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < plan.n; i++) {
		struct certsview_row r = { .host = plan.v[i].host };

		cr_assert_str_eq(plan.v[i].host, want[i].host);
		certsview_acme_fill(&r, &plan.v[i]);
		cr_expect_eq(r.acme, want[i].acme, "%s", want[i].host);
		cr_expect_eq(r.next_renewal, want[i].next_renewal, "%s", want[i].host);
		cr_expect_eq(r.retry_at, want[i].retry_at, "%s", want[i].host);
		if (want[i].last_error == NULL)
			cr_expect_null(r.last_error, "%s", want[i].host);
		else
			cr_expect_str_eq(r.last_error, want[i].last_error, "%s", want[i].host);
	}
	acmeplan_clear(&plan);
	{
		struct certsview_row r = { .acme = CERTSVIEW_ACME_VALID, .next_renewal = 5, .retry_at = 6 };

		certsview_acme_fill(&r, NULL);
		cr_expect_eq(r.acme, CERTSVIEW_ACME_UNMANAGED);
		cr_expect_eq(r.next_renewal, 0);
		cr_expect_eq(r.retry_at, 0);
	}
}

Test(certsview, missing)
{
	static const struct {
		bool needs_cert;
		enum certsview_source source;
		enum certsview_acme acme;
		bool want;
	} t[] = {
		{ true, CERTSVIEW_NONE, CERTSVIEW_ACME_UNMANAGED, true },
		{ true, CERTSVIEW_NONE, CERTSVIEW_ACME_BACKOFF, true },
		{ true, CERTSVIEW_NONE, CERTSVIEW_ACME_ORDERING, false },
		{ true, CERTSVIEW_NONE, CERTSVIEW_ACME_WAITING_DNS, false },
		{ true, CERTSVIEW_NONE, CERTSVIEW_ACME_VALID, true },
		{ true, CERTSVIEW_ACME, CERTSVIEW_ACME_VALID, false },
		{ true, CERTSVIEW_FILE, CERTSVIEW_ACME_UNMANAGED, false },
		{ true, CERTSVIEW_ACME, CERTSVIEW_ACME_BACKOFF, false },
		{ false, CERTSVIEW_NONE, CERTSVIEW_ACME_UNMANAGED, false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct certsview_row r = { .host = "h", .needs_cert = t[i].needs_cert, .source = t[i].source,
		    .acme = t[i].acme };

		cr_expect_eq(certsview_row_missing(&r), t[i].want, "row %zu", i);
	}
}

static const char *names_a[] = { "mta-sts.a.example", "a.example", "www.a.example" };

static const struct certsview_row sample[] = {
	{ "mta-sts.a.example", "a.example", true, CERTSVIEW_FILE, "certs/a.crt", 1798675200, names_a, 3,
	    CERTSVIEW_ACME_UNMANAGED, 0, 0, NULL },
	{ "mta-sts.b.example", "b.example", true, CERTSVIEW_ACME, "acme/certs/mta-sts.b.example.crt", 1803859200,
	    NULL, 0, CERTSVIEW_ACME_VALID, 1801267200, 0, NULL },
	{ "mta-sts.c.example", "c.example", true, CERTSVIEW_NONE, NULL, 0, NULL, 0, CERTSVIEW_ACME_BACKOFF, 0,
	    1800000600, "rate \"limited\"\nretry later" },
};

Test(certsview, json)
{
	struct buf b = {0};

	certsview_json(sample, 3, &b);
	cr_expect_str_eq(b.data,
	    "{\"hosts\": [\n"
	    "  {\"host\": \"mta-sts.a.example\", \"domain\": \"a.example\", \"source\": \"file\", \"file\": \"certs/a.crt\", "
	    "\"not_after\": \"2026-12-31T00:00:00Z\", \"names\": [\"mta-sts.a.example\", \"a.example\", \"www.a.example\"], "
	    "\"acme\": null},\n"
	    "  {\"host\": \"mta-sts.b.example\", \"domain\": \"b.example\", \"source\": \"acme\", "
	    "\"file\": \"acme/certs/mta-sts.b.example.crt\", \"not_after\": \"2027-03-01T00:00:00Z\", \"names\": [], "
	    "\"acme\": {\"state\": \"valid\", \"next_renewal\": \"2027-01-30T00:00:00Z\", \"retry_at\": null, "
	    "\"last_error\": null}},\n"
	    "  {\"host\": \"mta-sts.c.example\", \"domain\": \"c.example\", \"source\": \"none\", \"file\": null, "
	    "\"not_after\": null, \"names\": [], \"acme\": {\"state\": \"backoff\", \"next_renewal\": null, "
	    "\"retry_at\": \"2027-01-15T08:10:00Z\", \"last_error\": \"rate \\\"limited\\\"\\u000aretry later\"}}\n"
	    "]}\n");
	buf_clear(&b);
	certsview_json(NULL, 0, &b);
	cr_expect_str_eq(b.data, "{\"hosts\": []}\n");
	buf_clear(&b);
	{
		/* a path that is not UTF-8 cannot be a JSON string: null, never a broken document */
		struct certsview_row r = sample[0];

		r.file = "certs/\xff.crt";
		certsview_json(&r, 1, &b);
		cr_expect_not_null(strstr(b.data, "\"file\": null"), "%s", b.data);
		buf_clear(&b);
	}
}

Test(certsview, table)
{
	struct buf b = {0};
	char *lines[5] = {0}, *save = NULL, *p;
	size_t n = 0, col;

	certsview_table(sample, 3, &b);
	for (p = strtok_r(b.data, "\n", &save); p != NULL && n < 5; p = strtok_r(NULL, "\n", &save))
		lines[n++] = p;
	cr_assert_eq(n, 4, "a header and one line per host");
	cr_expect(strncmp(lines[0], "HOST ", 5) == 0, "%s", lines[0]);
	/* aligned: each column starts at the same offset on every line */
	col = (size_t)(strstr(lines[0], "NOT_AFTER") - lines[0]);
	cr_expect_eq(strstr(lines[1], "2026-12-31T00:00:00Z") - lines[1], (long)col);
	cr_expect_eq(strstr(lines[3], " -  ") + 1 - lines[3], (long)col, "%s", lines[3]);
	col = (size_t)(strstr(lines[0], "ACME") - lines[0]);
	cr_expect_eq(strstr(lines[2], "valid") - lines[2], (long)col);
	cr_expect_eq(strstr(lines[3], "backoff") - lines[3], (long)col);
	col = (size_t)(strstr(lines[0], "RETRY_AT") - lines[0]);
	cr_expect_eq(strstr(lines[3], "2027-01-15T08:10:00Z") - lines[3], (long)col);
	cr_expect_not_null(strstr(lines[1], "mta-sts.a.example +2"), "names shortened: %s", lines[1]);
	cr_expect_not_null(strstr(lines[1], "certs/a.crt"));
	/* the CA's text stays on its host's line */
	cr_expect_not_null(strstr(lines[3], "rate \"limited\" retry later"), "%s", lines[3]);
	buf_clear(&b);
}
