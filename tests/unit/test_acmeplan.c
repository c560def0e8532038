/* SPDX-License-Identifier: MIT */
/* acmeplan: each host's decision from tables of sites, states, DNS waits and times; the order of due names; sites from a snapshot. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acmeplan.h"
#include "acmesched.h"
#include "config.h"
#include "diag.h"
#include "domset.h"
#include "snapshot.h"

#define NOW ((int64_t)1800000000)

/* One host's inputs and the decision expected. */
struct row {
	const char *what;
	bool acme, operator_cert, any_cert;
	bool has_state;
	unsigned failures;
	int64_t next_attempt, not_after, next_renewal;	/* relative to NOW; 0 is none */
	int64_t dns_until;				/* relative to NOW; 0: no DNS wait */
	enum acmeplan_state want;
	enum acmeplan_why why;
	int64_t at;					/* relative to NOW; 0 when none */
};

static const struct row rows[] = {
	{ "acme false", false, false, false, false, 0, 0, 0, 0, 0, ACMEPLAN_UNMANAGED, ACMEPLAN_WHY_ACME_OFF, 0 },
	{ "acme false, even with a due state", false, false, false, true, 0, 0, -10, -10, 0, ACMEPLAN_UNMANAGED,
	    ACMEPLAN_WHY_ACME_OFF, 0 },
	{ "operator certificate", true, true, true, false, 0, 0, 0, 0, 0, ACMEPLAN_UNMANAGED, ACMEPLAN_WHY_OPERATOR, 0 },
	{ "operator certificate beats an expired ACME one", true, true, true, true, 0, 0, -5, -50, 0,
	    ACMEPLAN_UNMANAGED, ACMEPLAN_WHY_OPERATOR, 0 },
	{ "operator certificate beats a backoff", true, true, true, true, 3, 600, 0, 0, 0, ACMEPLAN_UNMANAGED,
	    ACMEPLAN_WHY_OPERATOR, 0 },
	{ "new name", true, false, false, false, 0, 0, 0, 0, 0, ACMEPLAN_DUE, ACMEPLAN_WHY_NONE, 0 },
	{ "issued, renewal ahead", true, false, true, true, 0, 0, 86400 * 60, 86400 * 30, 0, ACMEPLAN_VALID,
	    ACMEPLAN_WHY_NONE, 86400 * 30 },
	{ "renewal time came", true, false, true, true, 0, 0, 86400 * 20, 0, 0, ACMEPLAN_DUE, ACMEPLAN_WHY_NONE, 0 },
	{ "renewal time passed", true, false, true, true, 0, 0, 86400 * 20, -3600, 0, ACMEPLAN_DUE, ACMEPLAN_WHY_NONE,
	    0 },
	{ "expired", true, false, false, true, 0, 0, -1, 86400, 0, ACMEPLAN_DUE, ACMEPLAN_WHY_NONE, 0 },
	{ "failed, retry ahead", true, false, false, true, 2, 600, 0, 0, 0, ACMEPLAN_BACKOFF, ACMEPLAN_WHY_NONE, 600 },
	{ "failed renewal, retry ahead, certificate still valid", true, false, true, true, 1, 60, 86400 * 5, -10, 0,
	    ACMEPLAN_BACKOFF, ACMEPLAN_WHY_NONE, 60 },
	{ "failed, retry time came", true, false, false, true, 4, 0, 0, 0, 0, ACMEPLAN_DUE, ACMEPLAN_WHY_NONE, 0 },
	{ "backoff beats a DNS wait", true, false, false, true, 1, 600, 0, 0, 300, ACMEPLAN_BACKOFF, ACMEPLAN_WHY_NONE,
	    600 },
	{ "DNS did not resolve", true, false, false, false, 0, 0, 0, 0, 300, ACMEPLAN_WAITING_DNS, ACMEPLAN_WHY_NONE,
	    300 },
	{ "DNS wait over", true, false, false, false, 0, 0, 0, 0, -1, ACMEPLAN_DUE, ACMEPLAN_WHY_NONE, 0 },
	{ "DNS wait ends now", true, false, false, false, 0, 0, 0, 0, -0, ACMEPLAN_DUE, ACMEPLAN_WHY_NONE, 0 },
	{ "DNS wait beats valid", true, false, true, true, 0, 0, 86400 * 60, 86400 * 30, 300, ACMEPLAN_WAITING_DNS,
	    ACMEPLAN_WHY_NONE, 300 },
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static char names[NROWS][64];

Test(acmeplan, table)
{
	struct acmeplan_site sites[NROWS];
	struct acmesched_state states[NROWS];
	struct acmeplan_dnswait dns[NROWS];
	size_t nstates = 0, ndns = 0, count[ACMEPLAN_DUE + 1] = {0}, without = 0;
	struct acmeplan plan;

	/* listed backwards: the plan is sorted by host whatever the input order */
	for (size_t k = 0; k < NROWS; k++) {
		size_t i = NROWS - 1 - k;
		const struct row *r = &rows[i];

		snprintf(names[i], sizeof(names[i]), "mta-sts.d%02zu.example", i);
		sites[k] = (struct acmeplan_site){ names[i], r->acme, r->operator_cert, r->any_cert };
		if (r->has_state)
			states[nstates++] = (struct acmesched_state){ names[i], r->failures,
			    r->next_attempt ? NOW + r->next_attempt : 0, r->not_after ? NOW + r->not_after : 0,
			    r->next_renewal ? NOW + r->next_renewal : NOW, NULL, 0, 0 };
		if (r->dns_until != 0 || strstr(r->what, "ends now") != NULL)
			dns[ndns++] = (struct acmeplan_dnswait){ names[i], NOW + r->dns_until };
		count[r->want]++;
		without += !r->any_cert;
	}
	acmeplan_make(&plan, sites, NROWS, states, nstates, dns, ndns, NOW);
	cr_assert_eq(plan.n, NROWS);
	for (size_t i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];
		const struct acmeplan_host *h = &plan.v[i];

		cr_assert_str_eq(h->host, names[i], "sorted: %s at %zu", h->host, i);
		cr_expect_eq(h->state, r->want, "%s: %s, want %s", r->what, acmeplan_state_name(h->state),
		    acmeplan_state_name(r->want));
		cr_expect_eq(h->why, r->why, "%s: why %d", r->what, h->why);
		cr_expect_eq(h->at, r->at ? NOW + r->at : 0, "%s: at %lld", r->what, (long long)(h->at - NOW));
		cr_expect_eq(h->st != NULL, r->has_state, "%s", r->what);
	}
	for (int s = 0; s <= ACMEPLAN_DUE; s++)
		cr_expect_eq(plan.count[s], count[s], "count of %s", acmeplan_state_name((enum acmeplan_state)s));
	cr_expect_eq(plan.without_cert, without);
	acmeplan_clear(&plan);
	cr_assert_eq(plan.n, 0);
}

Test(acmeplan, same_input_same_plan_and_duplicates_once)
{
	struct acmeplan_site sites[] = {
		{ "mta-sts.b.example", true, false, false },
		{ "mta-sts.a.example", true, false, false },
		{ "mta-sts.b.example", false, false, false },	/* listed again: the first entry counts */
	};
	struct acmeplan p1, p2;

	acmeplan_make(&p1, sites, 3, NULL, 0, NULL, 0, NOW);
	acmeplan_make(&p2, sites, 3, NULL, 0, NULL, 0, NOW);
	cr_assert_eq(p1.n, 2);
	cr_assert_str_eq(p1.v[0].host, "mta-sts.a.example");
	cr_assert_str_eq(p1.v[1].host, "mta-sts.b.example");
	cr_assert_eq(p1.v[1].state, ACMEPLAN_DUE);
	cr_assert_eq(p1.count[ACMEPLAN_DUE], 2);
	cr_assert_eq(p2.n, p1.n);
	for (size_t i = 0; i < p1.n; i++) {
		cr_assert_str_eq(p1.v[i].host, p2.v[i].host);
		cr_assert_eq(p1.v[i].state, p2.v[i].state);
	}
	acmeplan_clear(&p1);
	acmeplan_clear(&p2);
}

Test(acmeplan, due_order_new_names_first_then_earliest_expiry)
{
	struct acmeplan_site sites[] = {
		{ "mta-sts.z-renew-late.example", true, false, true },
		{ "mta-sts.b-new.example", true, false, false },
		{ "mta-sts.y-renew-soon.example", true, false, true },
		{ "mta-sts.a-new.example", true, false, false },
		{ "mta-sts.m-valid.example", true, false, true },
		{ "mta-sts.c-off.example", false, false, false },
	};
	struct acmesched_state st[] = {
		{ "mta-sts.z-renew-late.example", 0, 0, NOW + 86400 * 20, NOW - 1, NULL, 0, 0 },
		{ "mta-sts.y-renew-soon.example", 0, 0, NOW + 86400 * 10, NOW - 1, NULL, 0, 0 },
		{ "mta-sts.m-valid.example", 0, 0, NOW + 86400 * 60, NOW + 86400, NULL, 0, 0 },
	};
	static const char *const want[] = { "mta-sts.a-new.example", "mta-sts.b-new.example",
		"mta-sts.y-renew-soon.example", "mta-sts.z-renew-late.example" };
	struct acmeplan plan;
	size_t *idx, n;

	acmeplan_make(&plan, sites, 6, st, 3, NULL, 0, NOW);
	n = acmeplan_due(&plan, &idx);
	cr_assert_eq(n, 4);
	for (size_t i = 0; i < n; i++)
		cr_expect_str_eq(plan.v[idx[i]].host, want[i], "due %zu: %s", i, plan.v[idx[i]].host);
	free(idx);
	cr_assert_eq(plan.without_cert, 3);
	acmeplan_clear(&plan);
}

/* Sites from a real snapshot: configured domains with their acme flag; without HTTPS no certificate covers any. */
Test(acmeplan, sites_from_snapshot)
{
	static const char yaml[] =
	    "listen: {http: [\"127.0.0.1:8080\"]}\n"
	    "dns: {state: s/state, zone: s/zone}\n"
	    "acme: {agree_terms: true, storage: s/acme, challenges: [http-01]}\n"
	    "defaults: {mx: [mx.example.net]}\n"
	    "domains:\n"
	    "  - b.example\n"
	    "  - {name: a.example, acme: false}\n";
	struct diag_list dl;
	struct snapshot_parts p = {0};
	struct snapshot *snap;
	struct acmeplan_site *sites;
	struct acmeplan plan;
	size_t n;

	diag_init(&dl, "t.yaml");
	p.cfg = config_load_mem("t.yaml", "/nonexistent", yaml, strlen(yaml), &dl);
	cr_assert_not_null(p.cfg, "config: %s", dl.n ? dl.items[0].msg : "");
	domset_build(&p.domains, p.cfg, NULL, NULL);
	snap = snapshot_from(&p);
	acmeplan_sites(snap, NOW, &sites, &n);
	cr_assert_eq(n, 2);
	acmeplan_make(&plan, sites, n, NULL, 0, NULL, 0, NOW);
	cr_assert_str_eq(plan.v[0].host, "mta-sts.a.example");
	cr_assert_eq(plan.v[0].state, ACMEPLAN_UNMANAGED);
	cr_assert_eq(plan.v[0].why, ACMEPLAN_WHY_ACME_OFF);
	cr_assert_str_eq(plan.v[1].host, "mta-sts.b.example");
	cr_assert_eq(plan.v[1].state, ACMEPLAN_DUE);
	cr_assert_eq(plan.without_cert, 2);
	acmeplan_clear(&plan);
	free(sites);
	snapshot_unref(snap);
	diag_clear(&dl);
}
