/* SPDX-License-Identifier: MIT */
/* domset: the domains one snapshot serves (the main file's, then the tenant files' in force) and the lookup by name. */
#include "domset.h"
#include "tenants.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void
add(struct domset *ds, const struct config_domain *d, struct tenant_site *site)
{
	if (hmap_put(&ds->by_name, d->name, (void *)(uintptr_t)d) == NULL) {
		ds->sites[ds->n] = site;
		ds->v[ds->n++] = d;
	}
}

void
domset_build(struct domset *ds, const struct config *cfg, const struct tenants *t)
{
	size_t total = cfg->n_domains;

	memset(ds, 0, sizeof(*ds));
	for (size_t i = 0; t != NULL && i < t->n; i++)
		if (t->v[i].in_force != NULL)
			total += t->v[i].in_force->n_domains;
	ds->v = xcalloc(total + 1, sizeof(*ds->v));
	ds->sites = xcalloc(total + 1, sizeof(*ds->sites));
	hmap_reserve(&ds->by_name, total);
	for (size_t i = 0; i < cfg->n_domains; i++)
		add(ds, &cfg->domains[i], NULL);
	for (size_t i = 0; t != NULL && i < t->n; i++) {
		const struct tenant_file *f = t->v[i].in_force;

		for (size_t k = 0; f != NULL && k < f->n_domains; k++)
			add(ds, &f->domains[k], f->sites ? &f->sites[k] : NULL);
	}
}

const struct config_domain *
domset_find(const struct domset *ds, const char *name)
{
	return hmap_get(&ds->by_name, name);
}

void
domset_clear(struct domset *ds)
{
	free(ds->v);
	free(ds->sites);
	hmap_clear(&ds->by_name);
	memset(ds, 0, sizeof(*ds));
}
