/* SPDX-License-Identifier: MIT */
/* dnspush: publishes the records by RFC 2136 (dns.update) from a thread of its own: one UPDATE per domain, each with its own result and backoff. */
#ifndef MTASTSD_DNSPUSH_H
#define MTASTSD_DNSPUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dnsupdate.h"
#include "updstate.h"
#include "zone.h"

/* One domain's update: the RRsets to replace and a hash of what they become. */
struct dnspush_item {
	char *name;				/* the domain */
	char *base;				/* where its records live: NAME, or NAME.DELEGATE_ZONE */
	char *zone;				/* the zone configured (absolute), or NULL (dnspush_zone) */
	bool removed;				/* retiring or expired: in no config any more */
	char *zone_guess;			/* removed: the deepest zone configured for another domain that holds BASE, or NULL */
	struct zone_rrset rr[ZONE_MAX_RRSETS];
	size_t n;
	char hash[UPDSTATE_HASH_LEN + 1];	/* of the server, TTL and the records after the update */
};

/*
 * The items for DOMAINS[0..N) (ZONES[i]: the zone configured for it, or
 * NULL; ZONES may be NULL) and for EXPIRED[0..N_EXPIRED) (their records only
 * deleted; EXPIRED_TLS[i]: with the TLSRPT name) as P renders them, sorted by
 * name, for the server SERVER (part of each hash). Returns the array (free
 * with dnspush_items_free) of *N_OUT items. Pure.
 */
struct dnspush_item *dnspush_items(const struct zone_params *p, const char *server, const struct zone_domain *domains,
    const char *const *zones, size_t n, const char *const *expired, const bool *expired_tls, size_t n_expired,
    size_t *n_out);
void dnspush_items_free(struct dnspush_item *it, size_t n);

/*
 * The zone IT's update goes to, from its entry E (NULL: never tried): the
 * configured one; for a removed domain (retiring or expired), the zone its
 * records were last sent to (E->zone), so that a delegation moved since
 * cannot send its deletion to another zone, or to none; NULL: to be found by
 * an SOA query (for a removed domain, IT->zone_guess when that finds none).
 * Borrowed from IT or E. Pure.
 */
const char *dnspush_zone(const struct dnspush_item *it, const struct updstate_entry *e);

/* Where and how one update is sent. */
struct dnspush_target {
	struct sockaddr_storage sa;	/* the server */
	socklen_t salen;
	const struct tsigkey *key;	/* NULL: unsigned */
	unsigned timeout_ms;		/* per try */
	unsigned long ttl;		/* of the records added */
	int stop_fd;			/* readable: give up at once (dnsupdate_exchange); -1 none */
};

/*
 * Send IT's update to T (E: its entry, or NULL): find its zone
 * (dnspush_zone, else an SOA query), build and sign the UPDATE, send it and
 * judge the answer. *ZONE: the zone used, or NULL when none was found (owned
 * by the caller). DNSUPDATE_LOCAL when the message could not be built or
 * signed (nothing sent). DETAIL says more when the result is not NOERROR.
 */
enum dnsupdate_result dnspush_send(const struct dnspush_target *t, const struct dnspush_item *it,
    const struct updstate_entry *e, char **zone, char *detail, size_t dlen);

/*
 * A retry time E->next further than RETRY_MAX after NOW (the clock stepped
 * backwards since it was set) brought back to NOW + RETRY_MAX. Returns
 * whether E changed (E NULL: false).
 */
bool dnspush_clamp(struct updstate_entry *e, int64_t now, unsigned long retry_max);

/* What one pass decides for an item, from its entry E (NULL: never tried) at NOW. */
enum dnspush_action {
	DNSPUSH_DONE,	/* the server already has these records */
	DNSPUSH_WAIT,	/* these records failed; their next try is later (E->next) */
	DNSPUSH_SEND
};
enum dnspush_action dnspush_decide(const struct dnspush_item *it, const struct updstate_entry *e, int64_t now);

/*
 * Record in E the result R of sending IT at NOW (ZONE: the zone used, or
 * NULL): on NOERROR the records count as sent and the failures are
 * forgotten; otherwise no records count as sent any more (an answer lost
 * after the server applied the update leaves its records unknown), one
 * more failure, and the same records wait updstate_backoff(fails, RETRY,
 * RETRY_MAX) before the next try.
 */
void dnspush_record(struct updstate_entry *e, const struct dnspush_item *it, int r, const char *zone, int64_t now,
    unsigned long retry, unsigned long retry_max);

/*
 * The reload publish hook's part: hand CFG's dns.update and the items to
 * the sender thread (started on the first call) and return at once. The
 * sender takes the new items before its next domain, sends every item that is
 * due, records each result in STATE.update, and wakes up again when the
 * next failed domain is due. Does nothing without dns.update, except
 * stopping the sending of an earlier config.
 */
void dnspush_submit(const struct config *cfg, struct dnspush_item *items, size_t n);

/* Stop the sender (an exchange under way is cut short, not recorded) and free what it holds. */
void dnspush_stop(void);

#endif
