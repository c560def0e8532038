/* SPDX-License-Identifier: MIT */
/* acmestatus: each policy host's ACME state as a command sees it, from acme.storage's state file read as it is. */
#include "acmestatus.h"
#include "acmestore.h"
#include "resolve.h"
#include "snapshot.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Hosts looked up at once, each slice within the gate's timeout: a resolver that answers
 * slowly (a few ms a query) then still answers each query in time, where 256 at once
 * turned most of them into timeouts.
 */
#define GATE_SLICE 64

/* V[0..N) all RESOLVER_FAILED, "resolver failed: " and WHY (cut to fit: the reason is one line). */
static void
gate_failed(struct acmegate_verdict *v, size_t n, const char *why)
{
	for (size_t i = 0; i < n; i++) {
		v[i].result = ACMEGATE_RESOLVER_FAILED;
		snprintf(v[i].reason, sizeof(v[i].reason), "resolver failed: %.280s", why);
	}
}

void
acmestatus_gate_dns(void *ctx, const char *const *hosts, size_t n, const char *host_target,
    struct acmegate_verdict *v)
{
	bool target = host_target != NULL && host_target[0] != '\0';
	size_t per = target ? 3 : 2;
	struct resolve_query *q = xcalloc(GATE_SLICE * 3, sizeof(*q));
	struct resolver *r;
	char err[512] = "", silent[256] = "";

	(void)ctx;
	/* ERR may also be a warning with a resolver (no resolv.conf: 127.0.0.1 asked), the look-ups go on */
	if ((r = resolver_new("/etc/resolv.conf", "/etc/hosts", err, sizeof(err))) == NULL) {
		gate_failed(v, n, err);
		free(q);
		return;
	}
	for (size_t off = 0; off < n; off += GATE_SLICE) {
		size_t m = n - off < GATE_SLICE ? n - off : GATE_SLICE, replied = 0;

		if (silent[0] != '\0') {
			/* offline: each further slice would wait out the timeout too (a minute per 768 hosts) */
			gate_failed(v + off, n - off, silent);
			break;
		}
		for (size_t i = 0; i < m; i++) {
			q[i * per] = (struct resolve_query){ .name = hosts[off + i], .type = RESOLVE_A };
			q[i * per + 1] = (struct resolve_query){ .name = hosts[off + i], .type = RESOLVE_AAAA };
			if (target)
				q[i * per + 2] = (struct resolve_query){ .name = hosts[off + i], .type = RESOLVE_CNAME };
		}
		resolve_run(r, q, m * per, ACMEGATE_TIMEOUT_MS);
		for (size_t i = 0; i < m * per; i++)
			replied += q[i].answer.rcode != -1;
		if (replied == 0)
			snprintf(silent, sizeof(silent), "not looked up: none of the %zu look-ups before got a reply (%s)",
			    m * per, q[0].answer.error);
		for (size_t i = 0; i < m; i++) {
			struct acmegate_lookups l = { &q[i * per].answer, &q[i * per + 1].answer,
			    target ? &q[i * per + 2].answer : NULL };

			acmegate_judge(hosts[off + i], &l, host_target, &v[off + i]);
		}
		for (size_t i = 0; i < m * per; i++)
			resolve_answer_clear(&q[i].answer);
	}
	resolver_free(r);
	free(q);
}

int
acmestatus_load(struct acmestatus *as, const struct snapshot *snap, int64_t now, acmestatus_gate gate,
    void *ctx, struct diag_list *dl)
{
	const struct config_acme *a = snap->cfg->acme;
	struct acmestore *store;
	char err[1024];
	size_t *due = NULL, ndue;

	memset(as, 0, sizeof(*as));
	/* the orderer plans nothing then (acmeorder's pass): nothing is ACME's */
	if (a == NULL || snap->cfg->n_https == 0)
		return 0;
	if ((store = acmestore_open_read(a->storage, err, sizeof(err))) == NULL) {
		diag_add(dl, DIAG_ERROR, 0, 0, "%s", err);
		return -1;
	}
	if (acmestore_state_load(store, &as->states, &as->n_states, dl) < 0) {
		acmestore_free(store);
		return -1;
	}
	acmestore_free(store);
	as->active = true;
	acmeplan_sites(snap, now, &as->sites, &as->n_sites);
	acmeplan_make(&as->plan, as->sites, as->n_sites, as->states, as->n_states, NULL, 0, now);
	if (gate == NULL || (ndue = acmeplan_due(&as->plan, &due)) == 0) {
		free(due);
		return 0;
	}
	{
		const char **hosts = xcalloc(ndue, sizeof(*hosts));
		struct acmegate_verdict *v = xcalloc(ndue, sizeof(*v));

		for (size_t i = 0; i < ndue; i++)
			hosts[i] = as->plan.v[due[i]].host;
		gate(ctx, hosts, ndue, snap->cfg->dns_host_target, v);
		size_t *of = xcalloc(as->plan.n + 1, sizeof(*of));	/* plan position -> verdict + 1 */

		for (size_t i = 0; i < ndue; i++)
			of[due[i]] = i + 1;
		as->dns = xcalloc(ndue, sizeof(*as->dns));
		as->reasons = xcalloc(ndue, sizeof(*as->reasons));
		/* in the plan's order, by host, for acmestatus_dns_reason's bsearch */
		for (size_t pos = 0; pos < as->plan.n; pos++) {
			size_t i = of[pos];

			if (i-- == 0 || v[i].result == ACMEGATE_PASS)
				continue;
			/* the orderer's wait ends when it looks again; here only "waiting" matters */
			as->dns[as->n_dns] = (struct acmeplan_dnswait){ hosts[i], now + 1 };
			as->reasons[as->n_dns++] = xstrdup(v[i].reason);
		}
		free(of);
		free(v);
		free(hosts);
	}
	free(due);
	if (as->n_dns > 0) {
		/* the same pure decision again, now with the gate's answers */
		acmeplan_clear(&as->plan);
		acmeplan_make(&as->plan, as->sites, as->n_sites, as->states, as->n_states, as->dns, as->n_dns, now);
	}
	return 0;
}

static int
by_host(const void *key, const void *elem)
{
	return strcmp(key, ((const struct acmeplan_host *)elem)->host);
}

const struct acmeplan_host *
acmestatus_host(const struct acmestatus *as, const char *host)
{
	if (as->plan.n == 0)
		return NULL;
	return bsearch(host, as->plan.v, as->plan.n, sizeof(*as->plan.v), by_host);
}

static int
by_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct acmeplan_dnswait *)elem)->name);
}

const char *
acmestatus_dns_reason(const struct acmestatus *as, const char *host)
{
	const struct acmeplan_dnswait *w = as->n_dns ? bsearch(host, as->dns, as->n_dns, sizeof(*as->dns), by_name) :
	    NULL;

	return w != NULL ? as->reasons[w - as->dns] : NULL;
}

void
acmestatus_clear(struct acmestatus *as)
{
	acmeplan_clear(&as->plan);
	for (size_t i = 0; i < as->n_dns; i++)
		free(as->reasons[i]);
	free(as->reasons);
	free(as->dns);
	free(as->sites);
	for (size_t i = 0; i < as->n_states; i++)
		acmesched_state_clear(&as->states[i]);
	free(as->states);
	memset(as, 0, sizeof(*as));
}
