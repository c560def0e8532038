/* SPDX-License-Identifier: MIT */
/* domset: the domains one snapshot serves (the main file's, then the tenant files' in force) and the lookup by name. */
#ifndef MTASTSD_DOMSET_H
#define MTASTSD_DOMSET_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "pmap.h"
#include "site.h"

struct tenants;

/*
 * Every configured domain of one snapshot, borrowed from the config and
 * the tenant files in force (which must outlive it): the main file's in
 * its order, then each tenant file's in name order, each in file order.
 * The order is what `dns`, `check` and the zone list them in.
 */
struct domset {
	const struct config_domain **v;
	struct site **sites;		/* V[i]'s site when a tenant file holds it, else NULL */
	size_t n;
	struct pmap by_name;		/* name -> const struct config_domain * */
	unsigned long long gen;		/* this build's number, unique in the process (never 0) */
	const struct config *cfg;	/* what it was built from (borrowed) */
	const struct tenants *tenants;
};

/*
 * DS from CFG's domains and, when T is not NULL, the files of T in force. A
 * name defined twice keeps its first definition (the merge of tenants has
 * already refused files that would define one twice).
 *
 * PREV, when not NULL, is the serving snapshot's set (its config and
 * tenants still alive): the lookup then starts as a version of PREV's and
 * only the main file's domains and those of the files whose version in
 * force changed are taken out and put in, so a reload that read one tenant
 * file costs what that file holds, not what every file holds.
 */
void domset_build(struct domset *ds, const struct config *cfg, const struct tenants *t, const struct domset *prev);

/*
 * What changed from PREV to DS: FN is called with CAME false for every
 * domain of PREV that DS does not hold from the same place (the main
 * file's, whose config is read again at every reload, and those of tenant
 * file versions no longer in force), then with CAME true for every domain
 * of DS that PREV does not hold so. SITE is the tenant file's site, or NULL
 * for the main file's domains.
 */
void domset_diff(const struct domset *prev, const struct domset *ds,
    void (*fn)(const struct config_domain *d, struct site *site, bool came, void *arg), void *arg);

/* The domain named NAME (normalised form), or NULL. */
const struct config_domain *domset_find(const struct domset *ds, const char *name);

/* Free DS's arrays (not the domains); DS is left empty, ready to build again. */
void domset_clear(struct domset *ds);

#endif
