/* SPDX-License-Identifier: MIT */
/* acmestatus: the state file read as it is, the DNS gate asked for due hosts only, and nothing made in the storage. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "acmestatus.h"
#include "certstore.h"
#include "config.h"
#include "diag.h"
#include "domset.h"
#include "snapshot.h"
#include "tmpfixture.h"
#include "util.h"

TMP_FIXTURE("/tmp/test_acmestatus.XXXXXX")

#define NOW ((int64_t)1800000000)	/* 2027-01-15T08:00:00Z */

/* A snapshot of five domains with an acme section on STORAGE (under tmpdir) and an empty tls.certs. */
static struct snapshot *
snap_with(const char *storage, bool https)
{
	char *yaml = xasprintf(
	    "listen: {https: [%s], http: [\"127.0.0.1:8080\"]}\n"
	    "tls: {certs: certs}\n"
	    "dns: {state: s/state}\n"
	    "acme: {agree_terms: true, storage: %s}\n"
	    "defaults: {mx: [mx.example.net]}\n"
	    "domains:\n"
	    "  - {name: off.example, acme: false}\n"
	    "  - valid.example\n"
	    "  - backoff.example\n"
	    "  - new.example\n"
	    "  - nodns.example\n", https ? "\"127.0.0.1:8443\"" : "", storage);
	char *certs = xasprintf("%s/certs", tmpdir);
	struct diag_list dl;
	struct snapshot_parts p = {0};

	cr_assert_eq(mkdir(certs, 0755), 0);
	diag_init(&dl, "t.yaml");
	p.cfg = config_load_mem("t.yaml", tmpdir, yaml, strlen(yaml), &dl);
	cr_assert_not_null(p.cfg, "config: %s", dl.n ? dl.items[0].msg : "");
	domset_build(&p.domains, p.cfg, NULL, NULL);
	if (https)
		cr_assert_not_null(p.certs = certstore_load(p.cfg->tls_certs, &dl));
	diag_clear(&dl);
	free(certs);
	free(yaml);
	return snapshot_from(&p);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s", path);
	fputs(text, f);
	fclose(f);
}

static char asked[256];

/* Only mta-sts.nodns.example does not resolve; every name asked is noted. */
static void
stub_gate(void *ctx, const char *const *hosts, size_t n, const char *host_target, struct acmegate_verdict *v)
{
	cr_expect_null(host_target);
	for (size_t i = 0; i < n; i++) {
		strncat(asked, hosts[i], sizeof(asked) - strlen(asked) - 2);
		strcat(asked, " ");
		(*(int *)ctx)++;
		v[i].result = strcmp(hosts[i], "mta-sts.nodns.example") == 0 ? ACMEGATE_WAIT : ACMEGATE_PASS;
		snprintf(v[i].reason, sizeof(v[i].reason), "%s", v[i].result == ACMEGATE_WAIT ? "NXDOMAIN" : "");
	}
}

static const struct acmeplan_host *
host(const struct acmestatus *as, const char *name)
{
	const struct acmeplan_host *h = acmestatus_host(as, name);

	cr_assert_not_null(h, "%s", name);
	return h;
}

Test(acmestatus, states_and_the_dns_gate, .init = setup, .fini = teardown)
{
	char *storage = xasprintf("%s/acme", tmpdir), *state = xasprintf("%s/state", storage);
	struct snapshot *snap;
	struct acmestatus as;
	struct diag_list dl;
	int calls = 0;

	cr_assert_eq(mkdir(storage, 0755), 0);
	{
		/* the state as the orderer writes it */
		struct acmesched_state v[] = {
			{ .name = "mta-sts.valid.example", .not_after = 1803859200, .next_renewal = 1801267200 },
			{ .name = "mta-sts.backoff.example", .failures = 3, .next_attempt = NOW + 3600,
			    .last_error = "server said no" },
		};
		struct buf b = {0};

		buf_puts(&b, ACMESCHED_STATE_HEADER "\n");
		for (size_t i = 0; i < 2; i++)
			acmesched_state_format(&v[i], &b);
		write_file(state, b.data);
		buf_clear(&b);
	}
	snap = snap_with(storage, true);
	diag_init(&dl, state);
	asked[0] = '\0';
	cr_assert_eq(acmestatus_load(&as, snap, NOW, stub_gate, &calls, &dl), 0);
	cr_assert(as.active);
	cr_expect_eq(as.n_states, 2);
	cr_expect_eq(host(&as, "mta-sts.off.example")->state, ACMEPLAN_UNMANAGED);
	cr_expect_eq(host(&as, "mta-sts.valid.example")->state, ACMEPLAN_VALID);
	cr_expect_eq(host(&as, "mta-sts.valid.example")->at, (int64_t)1801267200);
	cr_expect_eq(host(&as, "mta-sts.backoff.example")->state, ACMEPLAN_BACKOFF);
	cr_expect_str_eq(host(&as, "mta-sts.backoff.example")->st->last_error, "server said no");
	cr_expect_eq(host(&as, "mta-sts.new.example")->state, ACMEPLAN_DUE);
	cr_expect_eq(host(&as, "mta-sts.nodns.example")->state, ACMEPLAN_WAITING_DNS);
	cr_expect_null(acmestatus_host(&as, "mta-sts.other.example"));
	cr_expect_str_eq(acmestatus_dns_reason(&as, "mta-sts.nodns.example"), "NXDOMAIN");
	cr_expect_null(acmestatus_dns_reason(&as, "mta-sts.new.example"));
	/* the gate is the orderer's: asked for the due hosts only */
	cr_expect_eq(calls, 2, "asked: %s", asked);
	cr_expect_not_null(strstr(asked, "mta-sts.new.example "));
	cr_expect_not_null(strstr(asked, "mta-sts.nodns.example "));
	acmestatus_clear(&as);
	cr_expect_eq(as.plan.n, 0);
	diag_clear(&dl);
	snapshot_unref(snap);
	free(state);
	free(storage);
}

/* A storage that does not exist yet: no state, every managed host due, and nothing made. */
Test(acmestatus, missing_storage_is_made_by_nobody, .init = setup, .fini = teardown)
{
	char *storage = xasprintf("%s/acme", tmpdir);
	struct snapshot *snap = snap_with(storage, true);
	struct acmestatus as;
	struct diag_list dl;
	struct stat st;

	diag_init(&dl, "state");
	cr_assert_eq(acmestatus_load(&as, snap, NOW, NULL, NULL, &dl), 0);
	cr_expect_eq(as.n_states, 0);
	cr_expect_eq(as.plan.count[ACMEPLAN_DUE], 4, "no gate: due stays due");
	cr_expect_eq(stat(storage, &st), -1, "a reader makes no folder");
	acmestatus_clear(&as);
	diag_clear(&dl);
	snapshot_unref(snap);
	free(storage);
}

/* A broken state file is an error at its line, never read as no state. */
Test(acmestatus, broken_state, .init = setup, .fini = teardown)
{
	char *storage = xasprintf("%s/acme", tmpdir), *state = xasprintf("%s/state", storage);
	struct snapshot *snap;
	struct acmestatus as;
	struct diag_list dl;

	cr_assert_eq(mkdir(storage, 0755), 0);
	write_file(state, ACMESCHED_STATE_HEADER "\nmta-sts.valid.example\tx\n");
	snap = snap_with(storage, true);
	diag_init(&dl, state);
	cr_assert_eq(acmestatus_load(&as, snap, NOW, NULL, NULL, &dl), -1);
	cr_assert_geq(dl.errors, 1);
	cr_expect_eq(dl.items[0].line, 2);
	cr_expect_eq(as.plan.n, 0);
	acmestatus_clear(&as);
	diag_clear(&dl);
	snapshot_unref(snap);
	free(state);
	free(storage);
}

/* Without an HTTPS listener no orderer plans: nothing is ACME's, the state is not even read. */
Test(acmestatus, no_https_no_acme, .init = setup, .fini = teardown)
{
	char *storage = xasprintf("%s/acme", tmpdir), *state = xasprintf("%s/state", storage);
	struct snapshot *snap;
	struct acmestatus as;
	struct diag_list dl;

	cr_assert_eq(mkdir(storage, 0755), 0);
	write_file(state, "broken\n");
	snap = snap_with(storage, false);
	diag_init(&dl, state);
	cr_assert_eq(acmestatus_load(&as, snap, NOW, NULL, NULL, &dl), 0);
	cr_expect(!as.active);
	cr_expect_null(acmestatus_host(&as, "mta-sts.new.example"));
	acmestatus_clear(&as);
	diag_clear(&dl);
	snapshot_unref(snap);
	free(state);
	free(storage);
}
