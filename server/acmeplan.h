/* SPDX-License-Identifier: MIT */
/* acmeplan: what the ACME orderer should do for each policy host, decided from the snapshot, the per-name state and the time. */
#ifndef MTASTSD_ACMEPLAN_H
#define MTASTSD_ACMEPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acmesched.h"

struct snapshot;

/*
 * Pure: no clock, no file, no network. The orderer passes the time, the
 * state it read from storage and what its DNS gate last said; the plan is
 * the same for the same input, and sorted by host.
 */

/* What a policy host needs, in the order the checks are made. */
enum acmeplan_state {
	ACMEPLAN_UNMANAGED,	/* not ACME's: the domain says acme: false, or the operator's certificate covers it */
	ACMEPLAN_BACKOFF,	/* the last attempt failed: nothing before AT (the state's next_attempt) */
	ACMEPLAN_WAITING_DNS,	/* its host did not resolve: looked up again at AT */
	ACMEPLAN_VALID,		/* issued, nothing to do before AT (the state's next_renewal) */
	ACMEPLAN_DUE		/* order now (a new name, a renewal whose time came, a retry whose time came) */
};

/* Why a host is ACMEPLAN_UNMANAGED. */
enum acmeplan_why {
	ACMEPLAN_WHY_NONE,		/* managed */
	ACMEPLAN_WHY_ACME_OFF,		/* its domain has acme: false */
	ACMEPLAN_WHY_OPERATOR		/* a certificate from tls.certs covers it now: it always wins */
};

/* The name of S for logs and metric labels: "not_managed", "backoff", "waiting_dns", "valid", "due". */
const char *acmeplan_state_name(enum acmeplan_state s);

/* One policy host as the snapshot gives it. */
struct acmeplan_site {
	const char *host;		/* "mta-sts.<domain>", lower case (borrowed) */
	bool acme;			/* its domain's acme flag */
	bool operator_cert;		/* a pair from tls.certs covers it now */
	bool any_cert;			/* some pair (tls.certs or ACME storage) covers it now */
};

/* What the DNS gate said of a name: it did not resolve, ask again at UNTIL. */
struct acmeplan_dnswait {
	const char *name;		/* borrowed */
	int64_t until;
};

/* The decision for one host. */
struct acmeplan_host {
	const char *host;		/* borrowed from the input site */
	enum acmeplan_state state;
	enum acmeplan_why why;
	int64_t at;			/* BACKOFF, WAITING_DNS, VALID: when that ends; 0 otherwise */
	bool any_cert;			/* as the input said */
	const struct acmesched_state *st;	/* its persisted state (borrowed), or NULL: none yet */
};

/* A plan: every host once, sorted by host (bytewise). Free with acmeplan_free. */
struct acmeplan {
	struct acmeplan_host *v;
	size_t n;
	size_t count[ACMEPLAN_DUE + 1];	/* hosts per state */
	size_t without_cert;		/* hosts no pair covers now, whatever their state */
};

/*
 * Decide for each of SITES[0..NSITES) (a host listed twice counts once, the
 * first entry winning) at NOW, with the persisted states STATES[0..NSTATES)
 * (any order; one per name, matched on the host) and the DNS gate's
 * answers DNS[0..NDNS) (NULL with 0: none). In order: acme false or an
 * operator certificate: UNMANAGED; failures > 0 and next_attempt > NOW:
 * BACKOFF; a DNS wait whose UNTIL > NOW: WAITING_DNS; not_after > NOW and
 * next_renewal > NOW: VALID; else DUE. The plan borrows every string and
 * state from the input, which must outlive it.
 */
void acmeplan_make(struct acmeplan *plan, const struct acmeplan_site *sites, size_t nsites,
    const struct acmesched_state *states, size_t nstates, const struct acmeplan_dnswait *dns, size_t ndns,
    int64_t now);

/*
 * The sites of SNAP (configured and retiring domains) for acmeplan_make,
 * judged at NOW: the certificate coverage read from its store (the operator's
 * certificates are those not from ACME storage). *OUT (malloc'd, *N
 * entries; free it) borrows the hosts from SNAP.
 */
void acmeplan_sites(const struct snapshot *snap, int64_t now, struct acmeplan_site **out, size_t *n);

/*
 * The DUE hosts of PLAN in the order to order them: hosts without any
 * certificate first (they serve nothing over HTTPS), then renewals, the
 * one whose certificate expires first first; ties by host. Positions in
 * PLAN->v into *IDX (malloc'd; free it); returns how many.
 */
size_t acmeplan_due(const struct acmeplan *plan, size_t **idx);

/* Free what PLAN holds (not the strings it borrows); PLAN is left empty, ready for acmeplan_make. */
void acmeplan_clear(struct acmeplan *plan);

#endif
