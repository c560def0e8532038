/* SPDX-License-Identifier: MIT */
/* snapshot: one immutable, refcounted bundle of config, certificates and sites (their responses made on demand); readers take a reference. */
#ifndef MTASTSD_SNAPSHOT_H
#define MTASTSD_SNAPSHOT_H

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "certstore.h"
#include "config.h"
#include "domset.h"
#include "pmap.h"
#include "site.h"
#include "tenants.h"

/* The slices a snapshot's own sites are rendered in, each into its own arena. */
#define SNAPSHOT_SLICES 16

struct snapshot {
	atomic_uint refs;
	struct config *cfg;
	struct tenants *tenants;	/* domains_dir's files (NULL: no domains_dir) */
	struct domset domains;		/* the configured domains: CFG's, then the tenant files' in force */
	struct certstore *certs;
	struct site **sites;		/* DOMAINS' order, then the retiring domains */
	size_t n_sites;
	struct site *own;		/* the sites of the main file's and the retiring domains: this snapshot's */
	size_t n_own;
	struct arena *arenas[SNAPSHOT_SLICES];	/* the hosts and bodies of OWN, one arena per slice rendered */
	struct config_domain *retiring;	/* removed domains still served as mode none (ids_retiring) */
	size_t n_retiring;
	struct pmap by_host;		/* site->host -> struct site * */
	time_t loaded_at;
	/* set by the HTTP layer: releases the responses its requests made; called once before the snapshot is freed */
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

/* What a snapshot is made of; snapshot_from takes over every part. */
struct snapshot_parts {
	struct config *cfg;
	struct tenants *tenants;	/* CFG's domains_dir's files as merged; NULL: none */
	struct domset domains;		/* domset_build of CFG and TENANTS */
	struct certstore *certs;	/* NULL: no HTTPS listener */
	struct config_domain *retiring;	/* removed domains still served as mode none (ids_retiring of DOMAINS) */
	size_t n_retiring;
	/*
	 * The serving snapshot the parts were read beside (borrowed; alive for
	 * snapshot_from), when DOMAINS was built from its set (domset_build's
	 * PREV): the host lookup then starts as a version of its lookup too.
	 */
	const struct snapshot *prev;
};

/*
 * A snapshot with one reference (owned by the caller) of P's parts (P is
 * left empty) and every site's body: the configured domains (P->domains),
 * then the retiring ones. Does no I/O: the caller reads the state the
 * retiring list comes from.
 */
struct snapshot *snapshot_from(struct snapshot_parts *p);

/* Free every part P holds (for a snapshot that is not made after all); P is left empty. */
void snapshot_parts_clear(struct snapshot_parts *p);

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
