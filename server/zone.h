/* SPDX-License-Identifier: MIT */
/* zone: renders the `_mta-sts` and `_smtp._tls` records as a BIND snippet, JSON or an nsupdate script; pure string code. */
#ifndef MTASTSD_ZONE_H
#define MTASTSD_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* ZONE_PROBLEMS renders nothing: only the domains whose records cannot be written are reported (check). */
enum zone_format { ZONE_BIND, ZONE_JSON, ZONE_NSUPDATE, ZONE_PROBLEMS };

/*
 * Which records: DIRECT when the domains' own zones hold everything; with a
 * delegate zone, PROVIDER (the TXT records under the provider's zone) or
 * CUSTOMER (the CNAMEs each customer publishes once).
 */
enum zone_side { ZONE_DIRECT, ZONE_PROVIDER, ZONE_CUSTOMER };

/* One domain, as the records need it. Every pointer is borrowed. */
struct zone_domain {
	const char *name;		/* normalised, no trailing dot */
	const char *id;			/* YYYYMMDDHHMMSS */
	const char *fp;			/* policy fingerprint (JSON only) */
	const char *const *rua;		/* TLSRPT rua URIs; none: no _smtp._tls record */
	size_t n_rua;
	int64_t changed;		/* time the id stands for */
	bool retiring;			/* served as mode none until DELETABLE_AT */
	bool delete_tlsrpt;		/* no rua now, but a TLSRPT record mtastsd published is to be deleted */
	int line, col;			/* the domain's position in the config (0: none), for problems */
	int64_t deletable_at;
};

struct zone_params {
	enum zone_side side;
	unsigned long ttl;
	const char *host_target;	/* CNAME target of mta-sts.<domain>, or NULL */
	const char *delegate_zone;	/* provider zone, or NULL (then side is DIRECT) */
	const char *source;		/* config path named in the header, or NULL */
	const char *const *expired;	/* domains whose retirement just ended: records to delete */
	const bool *expired_tlsrpt;	/* per expired domain: it had a TLSRPT record to delete (NULL: none had) */
	size_t n_expired;
	struct diag_list *problems;	/* where a domain whose records cannot be written is reported, or NULL */
};

/*
 * Render the records of DOMAINS[0..N) (in the given order) in FORMAT.
 * A domain one of whose names (owner or CNAME target) would exceed 253
 * octets, as with a long name under dns.delegate_zone, fails alone: its
 * records are left out (a comment, or "error" in JSON, says why; nsupdate
 * touches nothing of it) and it is added to P->problems as DIAG_UNSERVED at
 * its position. Returns a NUL-terminated string owned by the caller (ERR is
 * kept for failures of the whole output; there are none today).
 */
char *zone_render(const struct zone_params *p, const struct zone_domain *domains, size_t n,
    enum zone_format format, char *err, size_t errlen);

/*
 * Whether the customer side of P cannot name the target of each
 * mta-sts.<domain> (dns.delegate_zone without dns.host_target): the output
 * then says, per domain, what the customer must add, and why it is not
 * written (ZONE_NO_HOST_TARGET).
 */
bool zone_policy_host_unknown(const struct zone_params *p);
#define ZONE_NO_HOST_TARGET "no dns.host_target: each customer must also point mta-sts.<domain> at the server " \
	"of the policies (A/AAAA, or a CNAME to its host); set dns.host_target to that host to have the CNAMEs " \
	"written here"

/*
 * Whether P's host_target is mta-sts.NAME itself: the policy host of NAME
 * then gets no CNAME (it would point at itself).
 */
bool zone_is_host_target(const struct zone_params *p, const char *name);

/*
 * The TXT RDATA of VALUE in presentation format: split into quoted
 * character-strings of at most 255 bytes each, with '"' and '\' escaped and
 * bytes outside printable ASCII written as \DDD. Owned by the caller.
 */
char *zone_txt_rdata(const char *value);

/* One RRset a domain's records occupy: VALUE NULL when it is only to be deleted. */
struct zone_rrset {
	char *owner;			/* absolute, trailing dot */
	bool cname;			/* CNAME, else TXT */
	char *value;			/* TXT: the unsplit text; CNAME: absolute target; or NULL */
};
#define ZONE_MAX_RRSETS 3

/*
 * The RRsets of domain D on side P->side, as zone_render writes them (D->id
 * NULL: a domain whose retirement is over, every RRset only deleted), in
 * OUT[0..return). Strings owned by the caller: release with zone_rrsets_clear.
 * A domain one of whose names is longer than 253 octets gets none (zone_render
 * reports it).
 */
size_t zone_rrsets(const struct zone_params *p, const struct zone_domain *d, struct zone_rrset out[ZONE_MAX_RRSETS]);
/* Free the strings of R[0..N) (not the array); each entry is left with NULL strings. */
void zone_rrsets_clear(struct zone_rrset *r, size_t n);

/* The record values: "v=STSv1; id=ID;" and "v=TLSRPTv1; rua=U1,U2" (owned by the caller). */
char *zone_sts_value(const char *id);
char *zone_tlsrpt_value(const char *const *rua, size_t n);

/*
 * Append to OUT (space-separated) every domain whose records differ between
 * the zones OLD and NEW (bind format from zone_render; either may be NULL):
 * a comment "; NAME: ..." starts NAME's block, the record lines after it
 * belong to it. Pure.
 */
struct buf;
void zone_changed_domains(const char *old, const char *new, struct buf *out);

#endif
