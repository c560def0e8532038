/* SPDX-License-Identifier: MIT */
/* snapshot: one immutable, refcounted bundle of config, certificates and prebuilt responses; readers take a reference. */
#ifndef MTASTSD_SNAPSHOT_H
#define MTASTSD_SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "certstore.h"
#include "config.h"
#include "hmap.h"

/* One served host: mta-sts.<domain> and its policy body, rendered once. */
struct site {
	char *host;			/* "mta-sts.<domain>" */
	const struct config_domain *domain;
	char *body;			/* exactly policy_render() */
	size_t body_len;
	void *prebuilt;			/* the HTTP layer's ready response, or NULL */
};

struct snapshot {
	atomic_uint refs;
	struct config *cfg;
	struct certstore *certs;
	struct site *sites;		/* config order, then the retiring domains */
	size_t n_sites;
	struct config_domain *retiring;	/* removed domains still served as mode none (ids_retiring) */
	size_t n_retiring;
	struct hmap by_host;		/* site->host -> struct site * */
	time_t loaded_at;
	/* set by the HTTP layer when it prebuilt responses; called once before the snapshot is freed */
	void (*release)(struct snapshot *snap);
};

/*
 * The certificate store for CFG's tls.certs, read for a new snapshot: what
 * the serving snapshot read and has not changed on disk is taken over, not
 * read again. Returns 0 with *CERTS (owned by the caller; NULL when CFG has
 * no HTTPS listener, so no folder is needed), or -1 when anything added an
 * error to DL (initialised by the caller; *CERTS then NULL).
 */
int snapshot_load_certs(const struct config *cfg, struct certstore **certs, struct diag_list *dl);

/*
 * A snapshot with one reference (owned by the caller) of CFG and CERTS (may
 * be NULL) and every site's body: CFG's domains, then RETIRING[0..N_RETIRING)
 * (the removed domains still served as mode none, from ids_retiring; may be
 * NULL with 0). Ownership of all three passes to the snapshot. Does no I/O:
 * the caller reads the state the retiring list comes from.
 */
struct snapshot *snapshot_from(struct config *cfg, struct certstore *certs, struct config_domain *retiring,
    size_t n_retiring);

/* How a site is reachable: what `serve` does with it, `check` judges, and DNS publishing waits for. */
enum snapshot_serving {
	SNAPSHOT_SERVED,		/* on every listener */
	SNAPSHOT_HTTP_ONLY,		/* no certificate covers it, but a plain-HTTP listener serves it */
	SNAPSHOT_UNSERVED		/* no listener can: no certificate valid at the time covers it, no plain HTTP */
};

/*
 * The one decision of what is served: SITE of SNAP at NOW, from the
 * listeners and certstore_lookup_at (the choice every handshake makes at
 * its own clock). Pure.
 */
enum snapshot_serving snapshot_site_serving(const struct snapshot *snap, const struct site *site, time_t now);

/*
 * The configured domains of SNAP that are SNAPSHOT_UNSERVED at NOW: their
 * names (borrowed from SNAP) in a malloc'd array (*NAMES, free it), and how
 * many. Retiring domains are not listed: they are in no configuration.
 */
size_t snapshot_unserved(const struct snapshot *snap, time_t now, const char ***names);

/* The site for HOST (canonical: lower case, no port, no trailing dot), or NULL. */
const struct site *snapshot_site(const struct snapshot *snap, const char *host);

struct snapshot *snapshot_ref(struct snapshot *snap);
/* Drop a reference; the last one frees everything. Accepts NULL. */
void snapshot_unref(struct snapshot *snap);

/*
 * The published snapshot. snapshot_current returns a new reference (the
 * caller must snapshot_unref it), or NULL before the first publish.
 * snapshot_publish takes over the caller's reference to SNAP and drops the
 * one held on the previous snapshot (in-flight users keep theirs).
 */
struct snapshot *snapshot_current(void);
void snapshot_publish(struct snapshot *snap);

#endif
