/* SPDX-License-Identifier: MIT */
/* acmestatus: each policy host's ACME state as a command sees it, from acme.storage's state file read as it is. */
#ifndef MTASTSD_ACMESTATUS_H
#define MTASTSD_ACMESTATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acmegate.h"
#include "acmeplan.h"
#include "acmesched.h"
#include "diag.h"

struct snapshot;

/*
 * What `certs` and `check` show of ACME is what the orderer of a running
 * `serve` decides: acmeplan_make over the snapshot's sites, with the state
 * file of acme.storage (read, never made or written: acmestore_open_read)
 * and the orderer's DNS gate (acmegate) asked again here for every host the
 * plan says is due (the orderer keeps its answers in memory only).
 */

/*
 * The DNS gate: its verdict on each of HOSTS[0..N) into V[0..N), with
 * HOST_TARGET (dns.host_target; NULL: none); CTX as given to acmestatus_load.
 */
typedef void (*acmestatus_gate)(void *ctx, const char *const *hosts, size_t n, const char *host_target,
    struct acmegate_verdict *v);

/*
 * The orderer's gate (acmegate): A and AAAA, and CNAME with a host_target,
 * of the hosts looked up at once (in slices, each within
 * ACMEGATE_TIMEOUT_MS) by a resolver on /etc/resolv.conf and /etc/hosts,
 * each judged by acmegate_judge. When no resolver can be made every host is
 * RESOLVER_FAILED with its message; when no look-up of a slice got a reply
 * (timed out: offline, say) the hosts after it are RESOLVER_FAILED without
 * a look-up, so it takes ACMEGATE_TIMEOUT_MS at most then. CTX is unused.
 */
void acmestatus_gate_dns(void *ctx, const char *const *hosts, size_t n, const char *host_target,
    struct acmegate_verdict *v);

struct acmestatus {
	bool active;			/* an orderer would plan: an acme section and an HTTPS listener */
	struct acmesched_state *states;	/* the state file's names (owned) */
	size_t n_states;
	struct acmeplan_site *sites;	/* the snapshot's sites (owned array, hosts borrowed from it) */
	size_t n_sites;
	struct acmeplan_dnswait *dns;	/* due hosts the gate did not pass (owned array, names borrowed) */
	char **reasons;			/* why, for each of DNS (owned) */
	size_t n_dns;
	struct acmeplan plan;		/* every host; empty when not ACTIVE */
};

/*
 * Decide for every site of SNAP (which must outlive AS) at NOW. Without an
 * acme section or an HTTPS listener nothing is ACME's (no orderer runs):
 * 0 with AS->active false and an empty plan. Otherwise the state file is
 * read (a missing one is no state), and the hosts acmeplan says are DUE are
 * passed to GATE (NULL: no gate, due stays due) in one call; one it does
 * not pass (WAIT or RESOLVER_FAILED) is WAITING_DNS, as the orderer would
 * have it. Returns 0, or -1 when the state file cannot be
 * read or is broken, with its errors in DL (initialised by the caller)
 * and AS empty. Clear with acmestatus_clear in either case.
 */
int acmestatus_load(struct acmestatus *as, const struct snapshot *snap, int64_t now, acmestatus_gate gate,
    void *ctx, struct diag_list *dl);

/* The decision for HOST (lower case), or NULL when AS has none (not active, or no such site). */
const struct acmeplan_host *acmestatus_host(const struct acmestatus *as, const char *host);

/* Why the gate keeps HOST waiting ("NXDOMAIN", ...: acmegate's reasons), or NULL when it does not. Borrowed from AS. */
const char *acmestatus_dns_reason(const struct acmestatus *as, const char *host);

/* Free what AS holds; it is left empty. */
void acmestatus_clear(struct acmestatus *as);

#endif
