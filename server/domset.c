/* SPDX-License-Identifier: MIT */
/* domset: the domains one snapshot serves (the main file's, then the tenant files' in force) and the lookup by name. */
#include "domset.h"
#include "tenants.h"
#include "util.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Append D to DS's order. */
static void
add(struct domset *ds, const struct config_domain *d, struct site *site)
{
	ds->sites[ds->n] = site;
	ds->v[ds->n++] = d;
}

/* Fill DS's order from CFG and T. */
static void
fill(struct domset *ds, const struct config *cfg, const struct tenants *t)
{
	for (size_t i = 0; i < cfg->n_domains; i++)
		add(ds, &cfg->domains[i], NULL);
	for (size_t i = 0; t != NULL && i < t->n; i++) {
		const struct tenant_file *f = t->v[i].in_force;

		for (size_t k = 0; f != NULL && k < f->n_domains; k++)
			add(ds, &f->domains[k], f->sites ? &f->sites[k] : NULL);
	}
}

/* DS's order and lookup built whole (pmap_build); a name defined twice keeps its first definition. */
static void
fill_whole(struct domset *ds, const struct config *cfg, const struct tenants *t)
{
	struct pmap_item *items;
	size_t k = 0;

	fill(ds, cfg, t);
	items = xcalloc(ds->n + 1, sizeof(*items));
	for (size_t i = 0; i < ds->n; i++)
		items[i] = (struct pmap_item){ ds->v[i]->name, (void *)(uintptr_t)ds->v[i] };
	if (pmap_build(&ds->by_name, items, ds->n) > 0) {
		/* the later definitions leave the order */
		for (size_t i = 0; i < ds->n; i++)
			if (items[i].value != NULL) {
				ds->v[k] = ds->v[i];
				ds->sites[k++] = ds->sites[i];
			}
		ds->n = k;
	}
	free(items);
}

/* domset_diff's FN for the lookup of DS (ARG): names taken out, then put in. */
static void
apply(const struct config_domain *d, struct site *site, bool came, void *arg)
{
	struct domset *ds = arg;

	(void)site;
	if (!came) {
		if (pmap_get(&ds->by_name, d->name) == d)
			pmap_del(&ds->by_name, d->name);
	} else if (pmap_get(&ds->by_name, d->name) == NULL) {
		pmap_put(&ds->by_name, d->name, (void *)(uintptr_t)d);
	}
}

void
domset_build(struct domset *ds, const struct config *cfg, const struct tenants *t, const struct domset *prev)
{
	static atomic_ullong builds;
	size_t total = cfg->n_domains;

	memset(ds, 0, sizeof(*ds));
	ds->gen = atomic_fetch_add_explicit(&builds, 1, memory_order_relaxed) + 1;
	ds->cfg = cfg;
	ds->tenants = t;
	for (size_t i = 0; t != NULL && i < t->n; i++)
		if (t->v[i].in_force != NULL)
			total += t->v[i].in_force->n_domains;
	ds->v = xcalloc(total + 1, sizeof(*ds->v));
	ds->sites = xcalloc(total + 1, sizeof(*ds->sites));
	if (prev != NULL) {
		pmap_copy(&ds->by_name, &prev->by_name);
		domset_diff(prev, ds, apply, ds);
		fill(ds, cfg, t);
		/* the merge leaves no name defined twice; should one be, the full build decides as always */
		if (ds->by_name.n == ds->n)
			return;
		pmap_clear(&ds->by_name);
		ds->n = 0;
	}
	fill_whole(ds, cfg, t);
}

/* The version of the file named NAME in force in T, or NULL. */
static const struct tenant_file *
in_force(const struct tenants *t, size_t *i, const char *name)
{
	/* both lists are in name order: I walks T's once for all of the caller's names */
	for (; t != NULL && *i < t->n; (*i)++) {
		int c = strcmp(t->v[*i].name, name);

		if (c == 0)
			return t->v[*i].in_force;
		if (c > 0)
			break;
	}
	return NULL;
}

/* FN for every domain of F (CAME as given). */
static void
each_of(const struct tenant_file *f, void (*fn)(const struct config_domain *, struct site *, bool, void *),
    bool came, void *arg)
{
	for (size_t k = 0; f != NULL && k < f->n_domains; k++)
		fn(&f->domains[k], f->sites ? &f->sites[k] : NULL, came, arg);
}

void
domset_diff(const struct domset *prev, const struct domset *ds,
    void (*fn)(const struct config_domain *d, struct site *site, bool came, void *arg), void *arg)
{
	const struct tenants *pt = prev->tenants, *nt = ds->tenants;

	for (int pass = 0; pass < 2; pass++) {
		const struct config *c = pass == 0 ? prev->cfg : ds->cfg;
		const struct tenants *from = pass == 0 ? pt : nt, *other = pass == 0 ? nt : pt;
		size_t j = 0;

		if (prev->cfg != ds->cfg)
			for (size_t i = 0; i < c->n_domains; i++)
				fn(&c->domains[i], NULL, pass == 1, arg);
		for (size_t i = 0; from != NULL && i < from->n; i++) {
			const struct tenant_file *f = from->v[i].in_force;

			if (f != NULL && in_force(other, &j, from->v[i].name) != f)
				each_of(f, fn, pass == 1, arg);
		}
	}
}

const struct config_domain *
domset_find(const struct domset *ds, const char *name)
{
	return pmap_get(&ds->by_name, name);
}

void
domset_clear(struct domset *ds)
{
	free(ds->v);
	free(ds->sites);
	pmap_clear(&ds->by_name);
	memset(ds, 0, sizeof(*ds));
}
