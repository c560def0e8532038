/* SPDX-License-Identifier: MIT */
/* certsview: the rows of `mtastsd certs`, one per policy host, and their JSON and table forms. */
#ifndef MTASTSD_CERTSVIEW_H
#define MTASTSD_CERTSVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "acmeplan.h"
#include "util.h"

struct snapshot;
struct acmestatus;

/* Where the certificate a host is served with now comes from. */
enum certsview_source {
	CERTSVIEW_NONE,		/* none: no pair valid now covers it */
	CERTSVIEW_FILE,		/* a pair under tls.certs */
	CERTSVIEW_ACME		/* a pair under acme.storage/certs */
};

/*
 * A host's ACME state as `certs` names it (design.md), from acmeplan's:
 * VALID "valid"; DUE "ordering" (a new name or a renewal whose time came:
 * the orderer orders it as soon as its pacing lets it); WAITING_DNS
 * "waiting_dns"; BACKOFF "backoff"; UNMANAGED is no ACME state at all.
 */
enum certsview_acme {
	CERTSVIEW_ACME_UNMANAGED,
	CERTSVIEW_ACME_VALID,
	CERTSVIEW_ACME_ORDERING,
	CERTSVIEW_ACME_WAITING_DNS,
	CERTSVIEW_ACME_BACKOFF
};

/* S as certs shows it. */
enum certsview_acme certsview_acme_state(enum acmeplan_state s);
/* The JSON name of S ("valid", "ordering", "waiting_dns", "backoff"), or NULL for UNMANAGED. */
const char *certsview_acme_name(enum certsview_acme s);

/* One policy host. Strings are borrowed (from the snapshot, its store, the ACME state); NAMES is owned. */
struct certsview_row {
	const char *host;		/* "mta-sts.<domain>" */
	const char *domain;
	bool needs_cert;		/* an HTTPS listener serves it (false: plain HTTP only, no certificate wanted) */
	enum certsview_source source;
	const char *file;		/* the certificate's file, NULL with CERTSVIEW_NONE */
	int64_t not_after;		/* 0 with CERTSVIEW_NONE */
	const char **names;		/* the certificate's SAN DNS names (owned array) */
	size_t n_names;
	enum certsview_acme acme;	/* the rest only when not UNMANAGED */
	int64_t next_renewal;		/* 0: none */
	int64_t retry_at;		/* BACKOFF: no attempt before this; else 0 */
	const char *last_error;		/* the CA's detail of the last failure, or NULL */
};

/*
 * Set R's ACME fields from the plan's decision H (NULL or UNMANAGED: not
 * ACME's): the state mapped by certsview_acme_state; next_renewal from the
 * persisted state (0 when none); retry_at the plan's time for BACKOFF only
 * (a DNS wait has no time a separate process could know); last_error the
 * persisted one.
 */
void certsview_acme_fill(struct certsview_row *r, const struct acmeplan_host *h);

/*
 * The rows of every site of SNAP (configured and retiring domains), each
 * with the pair a handshake accepting any key type gets at NOW
 * (certstore_lookup_at; none without an HTTPS listener) and its decision
 * in AS (NULL: no ACME), sorted by host. Returns the malloc'd array (*N
 * rows; free with certsview_rows_free), borrowing from SNAP and AS.
 */
struct certsview_row *certsview_rows(const struct snapshot *snap, const struct acmestatus *as, time_t now,
    size_t *n);
void certsview_rows_free(struct certsview_row *v, size_t n);

/*
 * R is served without a certificate and none is on its way: it needs one,
 * has none valid now, and is not ACME's, or its last order failed
 * (BACKOFF), or the state calls it VALID (issued: nothing is ordered before
 * its renewal time). What makes `certs` exit 1; ordering and waiting_dns
 * do not.
 */
bool certsview_row_missing(const struct certsview_row *r);

/*
 * Append V[0..N) to B as design.md's JSON, one host per line:
 * {"hosts": [{"host", "domain", "source", "file", "not_after", "names",
 * "acme": null | {"state", "next_renewal", "retry_at", "last_error"}}]},
 * times RFC 3339 UTC, null for none (a string that is not UTF-8 too).
 */
void certsview_json(const struct certsview_row *v, size_t n, struct buf *b);
/*
 * Append V[0..N) to B as a table: a header line, then one line per host,
 * columns aligned with spaces, "-" for none; NAMES shows the first name and
 * "+N" for the others, LAST_ERROR (the last column) has control
 * characters as spaces.
 */
void certsview_table(const struct certsview_row *v, size_t n, struct buf *b);

#endif
