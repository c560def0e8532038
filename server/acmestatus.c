/* SPDX-License-Identifier: MIT */
/* acmestatus: each policy host's ACME state as a command sees it, from acme.storage's state file read as it is. */
#include "acmestatus.h"
#include "acmestore.h"
#include "pool.h"
#include "snapshot.h"
#include "util.h"

#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* lookups wait on the network, not the CPU: more threads than cores */
#define LOOKUP_THREADS 16

bool
acmestatus_resolves(void *ctx, const char *host)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rc;

	(void)ctx;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (res != NULL)
		freeaddrinfo(res);
	return rc == 0;
}

struct gate {
	const struct acmeplan *plan;
	const size_t *due;
	bool *resolved;
	acmestatus_resolver resolve;
	void *ctx;
};

static void
ask(void *arg, size_t i)
{
	struct gate *g = arg;

	g->resolved[i] = g->resolve(g->ctx, g->plan->v[g->due[i]].host);
}

int
acmestatus_load(struct acmestatus *as, const struct snapshot *snap, int64_t now, acmestatus_resolver resolve,
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
	if (resolve == NULL || (ndue = acmeplan_due(&as->plan, &due)) == 0) {
		free(due);
		return 0;
	}
	{
		struct gate g = { &as->plan, due, xcalloc(ndue, sizeof(bool)), resolve, ctx };

		pool_run(ndue, LOOKUP_THREADS, ask, &g);
		as->dns = xcalloc(ndue, sizeof(*as->dns));
		for (size_t i = 0; i < ndue; i++)
			if (!g.resolved[i])
				/* the orderer's wait ends when it looks again; here only "waiting" matters */
				as->dns[as->n_dns++] = (struct acmeplan_dnswait){ as->plan.v[due[i]].host, now + 1 };
		free(g.resolved);
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

void
acmestatus_clear(struct acmestatus *as)
{
	acmeplan_clear(&as->plan);
	free(as->dns);
	free(as->sites);
	for (size_t i = 0; i < as->n_states; i++)
		acmesched_state_clear(&as->states[i]);
	free(as->states);
	memset(as, 0, sizeof(*as));
}
