/* SPDX-License-Identifier: MIT */
/* domset: the domains one snapshot serves (the main file's, then the tenant files' in force) and the lookup by name. */
#ifndef MTASTSD_DOMSET_H
#define MTASTSD_DOMSET_H

#include <stddef.h>

#include "config.h"
#include "hmap.h"

struct tenants;
struct tenant_site;

/*
 * Every configured domain of one snapshot, borrowed from the config and
 * the tenant files in force (which must outlive it): the main file's in
 * its order, then each tenant file's in name order, each in file order.
 * The order is what `dns`, `check` and the zone list them in.
 */
struct domset {
	const struct config_domain **v;
	struct tenant_site **sites;	/* V[i]'s rendered site when a tenant file holds it, else NULL */
	size_t n;
	struct hmap by_name;		/* name -> const struct config_domain * */
};

/*
 * DS from CFG's domains and, when T is not NULL, the files of T in force. A
 * name defined twice keeps its first definition (the merge of tenants has
 * already refused files that would define one twice).
 */
void domset_build(struct domset *ds, const struct config *cfg, const struct tenants *t);

/* The domain named NAME (normalised form), or NULL. */
const struct config_domain *domset_find(const struct domset *ds, const char *name);

/* Free DS's arrays (not the domains); DS is left empty, ready to build again. */
void domset_clear(struct domset *ds);

#endif
