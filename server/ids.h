/* SPDX-License-Identifier: MIT */
/* ids: pure assignment of date-based `_mta-sts` ids from the previous state, the configured domains and a clock. */
#ifndef MTASTSD_IDS_H
#define MTASTSD_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "domset.h"

/* An id is YYYYMMDDHHMMSS (UTC): 14 digits and a NUL. */
#define IDS_ID_LEN 14
/* Latest time an id can express: 9999-12-31T23:59:59Z. */
#define IDS_TIME_MAX INT64_C(253402300799)
/* max_age of the mode-none policy served while a domain retires (RFC 8461 section 8.3: "small, e.g. one day"). */
#define IDS_RETIRE_MAX_AGE 86400UL
/*
 * How long an entry whose retirement is over is kept (status expired) before
 * it is forgotten: during this time every `dns` output and the zone keep
 * saying its records may be deleted, and nsupdate scripts keep deleting
 * them, so one run (a bind run, say) cannot use the deletion up.
 */
#define IDS_EXPIRED_GRACE (INT64_C(30) * 86400)

/* What the state remembers about one domain. */
struct ids_domain {
	char *name;			/* normalised domain name */
	char id[IDS_ID_LEN + 1];	/* current id, the UTC time of the last policy change */
	char fp[65];			/* policy_fingerprint() of the policy the id stands for */
	unsigned long max_age;		/* largest max_age the domain was ever published with */
	char rua[17];			/* short hash of the TLSRPT rua list, "-" for none, "" unknown */
	/*
	 * When a TLSRPT record mtastsd published was withdrawn (rua list emptied,
	 * or the domain retired), as an id; "" when none is owed. nsupdate scripts
	 * delete _smtp._tls only then, never a record mtastsd did not publish.
	 */
	char tlsrpt_del[IDS_ID_LEN + 1];
	bool retiring;			/* removed from the config, served as mode none */
	bool expired;			/* retirement over: not served, records to delete (never with retiring) */
};

/* A whole state: entries sorted by name, names unique. */
struct ids_state {
	struct ids_domain *d;
	size_t n;
};

enum ids_change_kind {
	IDS_ADDED,	/* new domain: first id */
	IDS_CHANGED,	/* policy changed: new id */
	IDS_RUA,	/* only the TLSRPT record changed: same id */
	IDS_RETIRED,	/* removed from the config: now served as mode none with a new id */
	IDS_EXPIRED	/* retirement over: records to delete; the entry is kept IDS_EXPIRED_GRACE more */
};

struct ids_change {
	char *name;
	enum ids_change_kind kind;
};

struct ids_changes {
	struct ids_change *c;	/* sorted by name */
	size_t n;
};

/*
 * The pure core of `dns`: from OLD (may be empty), the configured domains
 * DOMAINS[0..N) (any order, names unique) and the clock NOW (seconds since the
 * epoch), compute the new state into OUT and the list of domains whose
 * records changed into CHANGES (both owned by the caller; free with
 * ids_state_clear / ids_changes_clear; CHANGES may be NULL).
 *
 * A domain keeps its id while its fingerprint is unchanged. A changed policy
 * gets the id of NOW, moved forward to one second past the domain's previous
 * id when NOW is not later (same second, clock moved backwards), so an id is
 * never reused. A domain missing from DOMAINS retires: it gets a new id and the
 * mode-none fingerprint; once its largest max_age has passed since that id it
 * expires (IDS_EXPIRED: kept with status expired, no longer served), and it
 * is dropped, silently, IDS_EXPIRED_GRACE later. Returns 0, or -1 when an id would pass year 9999 (OUT and
 * CHANGES are then empty).
 */
int ids_assign(const struct ids_state *old, const struct config_domain *const *domains, size_t n,
    int64_t now, struct ids_state *out, struct ids_changes *changes);

/* The entry for NAME in S, or NULL. */
const struct ids_domain *ids_find(const struct ids_state *s, const char *name);

/*
 * The policy served for a retiring entry E: mode none, max_age
 * min(IDS_RETIRE_MAX_AGE, E->max_age), no mx, no rua. OUT is built afresh
 * and owned by the caller (free with domain_clear).
 */
void ids_retiring_policy(const struct ids_domain *e, struct config_domain *out);

/*
 * Whether OLD, an entry of the previous state whose domain is no longer
 * configured, is served as retiring at NOW: what ids_assign would mark it,
 * without assigning the whole state (a reload needs only this).
 */
bool ids_retiring_at(const struct ids_domain *old, int64_t now);

/* Time from which a retiring entry's records may be deleted: the time of its id plus its largest max_age. */
int64_t ids_deletable_at(const struct ids_domain *e);
/* Time at which an expired entry is dropped from the state: ids_deletable_at plus IDS_EXPIRED_GRACE. */
int64_t ids_forget_at(const struct ids_domain *e);

/*
 * Whether the _smtp._tls record of E is to be deleted at NOW: mtastsd
 * published one that was withdrawn (E->tlsrpt_del) less than
 * IDS_EXPIRED_GRACE ago, or the entry is expired (its records all go).
 */
bool ids_tlsrpt_to_delete(const struct ids_domain *e, int64_t now);

/* Format T as an id into OUT; -1 when T is outside 1970..9999. */
int ids_format(int64_t t, char out[IDS_ID_LEN + 1]);
/* Parse an id; -1 when ID is not 14 digits naming a valid UTC date and time. */
int ids_parse(const char *id, int64_t *t);
/* T as "YYYY-MM-DDTHH:MM:SSZ" into OUT (21 bytes). */
void ids_iso8601(int64_t t, char out[21]);

/* The short hash of a domain's rua list stored in the state ("-" for none). */
void ids_rua_hash(const struct config_domain *d, char out[17]);

/*
 * The clock: SOURCE_DATE_EPOCH (decimal seconds) when set, else the real
 * time. Returns 0, or -1 with a message in ERR when SOURCE_DATE_EPOCH is
 * malformed.
 */
int ids_now(int64_t *now, char *err, size_t errlen);

/*
 * Whether the ids of CH may be written at the clock NOW when the system
 * clock says REAL: a new id (added, changed, retired) from a clock more than
 * IDS_CLOCK_AHEAD_MAX ahead (SOURCE_DATE_EPOCH in the future) would stay
 * ahead of every later id. Simulating time without writing ids (expiry) is
 * fine. Returns 0, or -1 with the reason in ERR.
 */
int ids_check_clock(int64_t now, int64_t real, const struct ids_changes *ch, char *err, size_t errlen);
#define IDS_CLOCK_AHEAD_MAX INT64_C(86400)

const char *ids_change_name(enum ids_change_kind kind);

/* Free S's entries (not S); S is left {0}, the empty state. NULL is accepted. */
void ids_state_clear(struct ids_state *s);
/* Whether A and B hold the same entries (what dnsstate_format would write of them is the same). Pure. */
bool ids_state_equal(const struct ids_state *a, const struct ids_state *b);
/* Free C's entries (not C); C is left {0}. NULL is accepted. */
void ids_changes_clear(struct ids_changes *c);

/*
 * The entries of ST no longer in CFG that must still be served, as mode
 * none, at NOW (RFC 8461 section 8.3; ids_retiring_at), so a domain removed
 * by this very reload is included: their retiring policies
 * (ids_retiring_policy) in *OUT, in ST's order (owned by the caller; free
 * with ids_retiring_free), and how many. Pure.
 */
size_t ids_retiring(const struct ids_state *st, const struct domset *ds, int64_t now, struct config_domain **out);

/*
 * ids_retiring when ST was assigned for the set PREV (every entry it does
 * not flag retiring or expired is one of PREV's domains), FLAGGED[0..N) the
 * indices of the entries it flags (ids_flagged): only those and PREV's
 * domains that DS no longer holds (domset_diff) are looked at, so a reload
 * that changed one tenant file costs what that file holds. Same result.
 */
size_t ids_retiring_since(const struct ids_state *st, const size_t *flagged, size_t n, const struct domset *prev,
    const struct domset *ds, int64_t now, struct config_domain **out);

/* The indices of ST's entries flagged retiring or expired, in a malloc'd array (*OUT), and how many. */
size_t ids_flagged(const struct ids_state *st, size_t **out);
/* Free a list from ids_retiring (or N entries built by ids_retiring_policy). Accepts NULL. */
void ids_retiring_free(struct config_domain *d, size_t n);

#endif
