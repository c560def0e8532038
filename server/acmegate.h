/* SPDX-License-Identifier: MIT */
/* acmegate: the DNS gate before an ACME order, which says whether a host's records let the CA reach this server. */
#ifndef MTASTSD_ACMEGATE_H
#define MTASTSD_ACMEGATE_H

#include <stdbool.h>
#include <stddef.h>

#include "resolve.h"

/*
 * The CA connects to the name it validates: an order for a name that does
 * not resolve, or that points elsewhere, only spends the CA's failed
 * authorizations (5 per name and hour at Let's Encrypt). The gate looks the
 * name up first and says why it is not ready; the orderer keeps the name
 * waiting (acmeplan's WAITING_DNS) until the next look-up.
 */

/* The look-up intervals: what the owner must fix is asked again after ABSENT, a failing resolver after FAILED. */
#define ACMEGATE_RETRY_ABSENT 300
#define ACMEGATE_RETRY_FAILED 60
/* each look-up (A, AAAA and CNAME at once) gets this long */
#define ACMEGATE_TIMEOUT_MS 5000

enum acmegate_result {
	ACMEGATE_PASS,		/* order it */
	ACMEGATE_WAIT,		/* the name's records are not there yet, or point elsewhere */
	ACMEGATE_RESOLVER_FAILED	/* no answer (SERVFAIL, timeout): not the name's fault */
};

struct acmegate_verdict {
	enum acmegate_result result;
	char reason[320];	/* WAIT, RESOLVER_FAILED: one line, e.g. "NXDOMAIN"; "" for PASS */
};

/* What the gate looked up of a host: A and AAAA always, CNAME when a host_target is set (else NULL). */
struct acmegate_lookups {
	const struct resolve_answer *a, *aaaa, *cname;
};

/*
 * Pure: the verdict on HOST from its look-ups L, with HOST_TARGET
 * (dns.host_target; NULL: none). HOST must have an address (A or AAAA, also
 * through a CNAME chain); with HOST_TARGET it must also be a CNAME to it
 * (its own CNAME or the end of the chain; names compared without case or
 * trailing dot), but for HOST_TARGET itself. A failed look-up that leaves
 * the answer open is RESOLVER_FAILED; anything else that is missing WAIT.
 * Reasons: "NXDOMAIN", "no A or AAAA record", "NXDOMAIN at the end of its
 * CNAME chain (T)", "is a CNAME to X, not to T", "has an address record, not
 * a CNAME to T", "resolver failed: SERVFAIL" (or the resolver's error).
 */
void acmegate_judge(const char *host, const struct acmegate_lookups *l, const char *host_target,
    struct acmegate_verdict *v);

/* CAA: at most this many names looked at, HOST and its parents (RFC 8659 climbs to the TLD) */
#define ACMEGATE_CAA_LEVELS 8

/*
 * Pure: whether the CAA records of HOST keep a CA known as IDS[0..NIDS)
 * (the directory's caaIdentities) from issuing for it. SETS[i] is the CAA
 * answer of NAMES[i], HOST first, then each parent up to the TLD; the first
 * set with records is the relevant one (RFC 8659 section 3). It forbids
 * when it has issue properties and none names one of IDS (an empty issue
 * value, ";", names none), or when it has a critical property other than
 * issue, issuewild and iodef. Returns true with one line in WARN, e.g.
 * "CAA at x.example allows letsencrypt.org, not this CA (pebble.example)".
 * False, WARN "", when nothing forbids, when no set exists, when a look-up
 * failed before the relevant set (unknown: nothing said) or when NIDS is 0.
 */
bool acmegate_caa_judge(const char *const *names, const struct resolve_answer *sets, size_t nsets,
    const char *const *ids, size_t nids, char *warn, size_t len);

struct acmegate;

/*
 * A gate with a resolver of its own on /etc/resolv.conf and /etc/hosts (see
 * resolver_new), for one thread. NULL with a message in ERR when the
 * resolver cannot be set up; a warning in ERR (ERR[0] != 0) otherwise.
 * MTASTSD_TEST_DNS_RETRY=SECONDS in the environment (tests only) replaces
 * ACMEGATE_RETRY_ABSENT, and a fifth of it ACMEGATE_RETRY_FAILED.
 */
struct acmegate *acmegate_new(char *err, size_t errlen);
void acmegate_free(struct acmegate *g);

/*
 * Look HOST up and judge it (acmegate_judge) into *V. *CHANGED says whether
 * the verdict is news: HOST starts waiting, its reason changed, or it passes
 * after waiting. The gate keeps each host's reason (acmegate_reason).
 * Returns the seconds until HOST should be looked up again (0: it passed).
 */
int acmegate_check(struct acmegate *g, const char *host, const char *host_target, struct acmegate_verdict *v,
    bool *changed);

/*
 * Look up the CAA records of HOST and its parents and judge them
 * (acmegate_caa_judge) for a CA known as IDS[0..NIDS). Returns whether
 * they forbid it, with one line in WARN. Nothing is looked up when NIDS is 0.
 */
bool acmegate_caa(struct acmegate *g, const char *host, const char *const *ids, size_t nids, char *warn, size_t len);

/* Why HOST waits, as its last look-up said; NULL when it passed, was forgotten or never looked up. Borrowed from G. */
const char *acmegate_reason(const struct acmegate *g, const char *host);

/*
 * Forget HOST (a name no longer configured): its reason goes, and the
 * next acmegate_check of it is news again. Nothing happens for a host G
 * does not know.
 */
void acmegate_forget(struct acmegate *g, const char *host);

/*
 * How many hosts G keeps an entry for: each waiting host, and at most as
 * many that passed or were forgotten since (their entries are dropped in
 * one sweep when they are half), so the gate stays the size of the hosts
 * that wait, not of every host it ever looked up.
 */
size_t acmegate_size(const struct acmegate *g);

#endif
