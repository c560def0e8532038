/* SPDX-License-Identifier: MIT */
/* acmeplan: what the ACME orderer should do for each policy host, decided from the snapshot, the per-name state and the time. */
#include "acmeplan.h"
#include "certstore.h"
#include "hmap.h"
#include "snapshot.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

const char *
acmeplan_state_name(enum acmeplan_state s)
{
	switch (s) {
	case ACMEPLAN_UNMANAGED:
		return "not_managed";
	case ACMEPLAN_BACKOFF:
		return "backoff";
	case ACMEPLAN_WAITING_DNS:
		return "waiting_dns";
	case ACMEPLAN_VALID:
		return "valid";
	case ACMEPLAN_DUE:
		return "due";
	}
	return "?";
}

static int
by_host(const void *a, const void *b)
{
	return strcmp(((const struct acmeplan_host *)a)->host, ((const struct acmeplan_host *)b)->host);
}

/* One host's decision, in the order acmeplan.h gives. */
static void
decide(struct acmeplan_host *h, const struct acmeplan_site *s, const struct acmeplan_dnswait *dw, int64_t now)
{
	const struct acmesched_state *st = h->st;

	if (!s->acme || s->operator_cert) {
		h->state = ACMEPLAN_UNMANAGED;
		h->why = s->acme ? ACMEPLAN_WHY_OPERATOR : ACMEPLAN_WHY_ACME_OFF;
	} else if (st != NULL && st->failures > 0 && st->next_attempt > now) {
		h->state = ACMEPLAN_BACKOFF;
		h->at = st->next_attempt;
	} else if (dw != NULL && dw->until > now) {
		h->state = ACMEPLAN_WAITING_DNS;
		h->at = dw->until;
	} else if (st != NULL && st->not_after > now && st->next_renewal > now) {
		h->state = ACMEPLAN_VALID;
		h->at = st->next_renewal;
	} else {
		h->state = ACMEPLAN_DUE;
	}
}

void
acmeplan_make(struct acmeplan *plan, const struct acmeplan_site *sites, size_t nsites,
    const struct acmesched_state *states, size_t nstates, const struct acmeplan_dnswait *dns, size_t ndns,
    int64_t now)
{
	struct hmap seen = {0}, st = {0}, dw = {0};

	memset(plan, 0, sizeof(*plan));
	plan->v = xcalloc(nsites + 1, sizeof(*plan->v));
	hmap_reserve(&seen, nsites);
	hmap_reserve(&st, nstates);
	for (size_t i = 0; i < nstates; i++)
		if (states[i].name != NULL && hmap_get(&st, states[i].name) == NULL)
			hmap_put(&st, states[i].name, (void *)(uintptr_t)&states[i]);
	for (size_t i = 0; i < ndns; i++)
		if (hmap_get(&dw, dns[i].name) == NULL)
			hmap_put(&dw, dns[i].name, (void *)(uintptr_t)&dns[i]);
	for (size_t i = 0; i < nsites; i++) {
		const struct acmeplan_site *s = &sites[i];
		struct acmeplan_host *h = &plan->v[plan->n];

		if (hmap_get(&seen, s->host) != NULL)
			continue;
		hmap_put(&seen, s->host, (void *)(uintptr_t)s);
		h->host = s->host;
		h->any_cert = s->any_cert;
		h->st = hmap_get(&st, s->host);
		decide(h, s, hmap_get(&dw, s->host), now);
		plan->count[h->state]++;
		plan->without_cert += !s->any_cert;
		plan->n++;
	}
	qsort(plan->v, plan->n, sizeof(*plan->v), by_host);
	hmap_clear(&seen);
	hmap_clear(&st);
	hmap_clear(&dw);
}

void
acmeplan_sites(const struct snapshot *snap, int64_t now, struct acmeplan_site **out, size_t *n)
{
	*out = xcalloc(snap->n_sites + 1, sizeof(**out));
	*n = snap->n_sites;
	for (size_t i = 0; i < snap->n_sites; i++) {
		const struct site *site = snap->sites[i];
		struct acmeplan_site *s = &(*out)[i];
		/* the store prefers tls.certs's pairs: ACME's is chosen only where the operator has none */
		long at = snap->cfg->n_https > 0 ? certstore_lookup_at(snap->certs, site->host, CERTSTORE_KEY_ANY,
		    (time_t)now) : -1;

		s->host = site->host;
		s->acme = site->domain->acme;
		s->any_cert = at >= 0;
		s->operator_cert = at >= 0 && !certstore_cert_acme(snap->certs, (size_t)at);
	}
}

/* A due host as acmeplan_due sorts it: qsort has no context argument, so what it compares is copied in. */
struct due {
	const char *host;
	bool any_cert;
	int64_t not_after;
	size_t pos;
};

/* The ones without a certificate first, then by expiry, then by name. */
static int
by_urgency(const void *a, const void *b)
{
	const struct due *x = a, *y = b;

	if (x->any_cert != y->any_cert)
		return x->any_cert ? 1 : -1;
	if (x->not_after != y->not_after)
		return x->not_after < y->not_after ? -1 : 1;
	return strcmp(x->host, y->host);
}

size_t
acmeplan_due(const struct acmeplan *plan, size_t **idx)
{
	struct due *d = xcalloc(plan->n + 1, sizeof(*d));
	size_t n = 0;

	for (size_t i = 0; i < plan->n; i++) {
		const struct acmeplan_host *h = &plan->v[i];

		if (h->state == ACMEPLAN_DUE)
			d[n++] = (struct due){ h->host, h->any_cert, h->st ? h->st->not_after : 0, i };
	}
	qsort(d, n, sizeof(*d), by_urgency);
	*idx = xcalloc(n + 1, sizeof(**idx));
	for (size_t i = 0; i < n; i++)
		(*idx)[i] = d[i].pos;
	free(d);
	return n;
}

void
acmeplan_clear(struct acmeplan *plan)
{
	free(plan->v);
	memset(plan, 0, sizeof(*plan));
}
