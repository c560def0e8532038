/* SPDX-License-Identifier: MIT */
/* acmestatus: each policy host's ACME state as a command sees it, from acme.storage's state file read as it is. */
#ifndef MTASTSD_ACMESTATUS_H
#define MTASTSD_ACMESTATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acmeplan.h"
#include "acmesched.h"
#include "diag.h"

struct snapshot;

/*
 * What `certs` and `check` show of ACME is what the orderer of a running
 * `serve` decides: acmeplan_make over the snapshot's sites, with the state
 * file of acme.storage (read, never made or written: acmestore_open_read)
 * and the orderer's DNS gate asked again here for every host the plan says
 * is due (the orderer keeps its answers in memory only).
 */

/* Does HOST resolve? The DNS gate; CTX as given to acmestatus_load. */
typedef bool (*acmestatus_resolver)(void *ctx, const char *host);

/* The gate the orderer uses: getaddrinfo with the system's resolvers (/etc/resolv.conf, /etc/hosts). */
bool acmestatus_resolves(void *ctx, const char *host);

struct acmestatus {
	bool active;			/* an orderer would plan: an acme section and an HTTPS listener */
	struct acmesched_state *states;	/* the state file's names (owned) */
	size_t n_states;
	struct acmeplan_site *sites;	/* the snapshot's sites (owned array, hosts borrowed from it) */
	size_t n_sites;
	struct acmeplan_dnswait *dns;	/* due hosts that did not resolve (owned array, names borrowed) */
	size_t n_dns;
	struct acmeplan plan;		/* every host; empty when not ACTIVE */
};

/*
 * Decide for every site of SNAP (which must outlive AS) at NOW. Without an
 * acme section or an HTTPS listener nothing is ACME's (no orderer runs):
 * 0 with AS->active false and an empty plan. Otherwise the state file is
 * read (a missing one is no state), and each host acmeplan says is DUE is
 * passed to RESOLVE (NULL: no gate, due stays due; the calls may run on
 * several threads at once); one that does not resolve is WAITING_DNS, as
 * the orderer would have it. Returns 0, or -1 when the state file cannot be
 * read or is broken, with its errors in DL (initialised by the caller)
 * and AS empty. Clear with acmestatus_clear in either case.
 */
int acmestatus_load(struct acmestatus *as, const struct snapshot *snap, int64_t now, acmestatus_resolver resolve,
    void *ctx, struct diag_list *dl);

/* The decision for HOST (lower case), or NULL when AS has none (not active, or no such site). */
const struct acmeplan_host *acmestatus_host(const struct acmestatus *as, const char *host);

/* Free what AS holds; it is left empty. */
void acmestatus_clear(struct acmestatus *as);

#endif
