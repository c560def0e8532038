/* SPDX-License-Identifier: MIT */
/* snapshot: one immutable, refcounted bundle of config, certificates and sites (their responses made on demand); readers take a reference. */
#include "snapshot.h"
#include "ids.h"
#include "log.h"
#include "pool.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *current;

/* Put S in SNAP's host lookup unless a site already holds its host; whether it went in. */
static bool
put_host(struct snapshot *snap, struct site *s)
{
	struct site *first = pmap_put(&snap->by_host, s->host, s);

	if (first == NULL)
		return true;
	/* the config rejects duplicate domains, the merge duplicates across files: stay safe anyway */
	pmap_put(&snap->by_host, first->host, first);
	return false;
}

/* domset_diff's FN for the host lookup of SNAP (ARG): a tenant file's sites taken out, then put in. */
static void
apply(const struct config_domain *d, struct site *site, bool came, void *arg)
{
	struct snapshot *snap = arg;

	(void)d;
	/* the main file's sites are the snapshots' own: snapshot_from takes out the previous one's all */
	if (site == NULL)
		return;
	if (!came) {
		if (pmap_get(&snap->by_host, site->host) == site)
			pmap_del(&snap->by_host, site->host);
	} else {
		put_host(snap, site);
	}
}

/*
 * SNAP's host lookup as a version of PREV's: PREV's own sites (the main
 * file's and the retiring domains') and the sites of tenant file versions
 * no longer in force out, the new ones in. False when the result does not
 * hold every site once (the caller then builds it whole).
 */
static bool
hosts_from(struct snapshot *snap, const struct snapshot *prev)
{
	pmap_copy(&snap->by_host, &prev->by_host);
	for (size_t i = 0; i < prev->n_own; i++)
		if (pmap_get(&snap->by_host, prev->own[i].host) == &prev->own[i])
			pmap_del(&snap->by_host, prev->own[i].host);
	domset_diff(&prev->domains, &snap->domains, apply, snap);
	for (size_t i = 0; i < snap->n_own; i++)
		put_host(snap, &snap->own[i]);
	if (snap->by_host.n == snap->n_sites)
		return true;
	pmap_clear(&snap->by_host);
	return false;
}

/* SNAP's host lookup built whole (pmap_build): a host held twice keeps its first site, and the list loses the second. */
static void
hosts_whole(struct snapshot *snap)
{
	struct pmap_item *items = xcalloc(snap->n_sites + 1, sizeof(*items));
	size_t k = 0;

	for (size_t i = 0; i < snap->n_sites; i++)
		items[i] = (struct pmap_item){ snap->sites[i]->host, snap->sites[i] };
	/* the config rejects duplicate domains, the merge duplicates across files: stay safe anyway */
	if (pmap_build(&snap->by_host, items, snap->n_sites) > 0) {
		for (size_t i = 0; i < snap->n_sites; i++)
			if (items[i].value != NULL)
				snap->sites[k++] = snap->sites[i];
		snap->n_sites = k;
	}
	free(items);
}

/* This many sites to render are rendered on several threads. */
#define PARALLEL_RENDER 20000
#define RENDER_SLICES SNAPSHOT_SLICES

/* The sites snapshot_from renders: slice k of the order starts at order[k] and own[at[k]]. */
struct render {
	struct snapshot *snap;
	const struct domset *ds;
	size_t order[RENDER_SLICES + 1], at[RENDER_SLICES + 1];
};

/* pool_fn: the main file's sites of slice K of the order (struct render ARG), rendered into the snapshot's own. */
static void
render_slice(void *arg, size_t k)
{
	struct render *r = arg;
	struct snapshot *snap = r->snap;
	size_t at = r->at[k];
	struct buf scratch = {0};

	/* each slice its own arena: the threads never share one */
	snap->arenas[k] = arena_new();
	for (size_t i = r->order[k]; i < r->order[k + 1]; i++) {
		if ((snap->sites[i] = r->ds->sites[i]) != NULL)
			continue;
		site_render_in(&snap->own[at], r->ds->v[i], snap->arenas[k], &scratch);
		snap->sites[i] = &snap->own[at++];
	}
	buf_clear(&scratch);
}

/*
 * SNAP's sites in DS's order, the main file's rendered into SNAP's own
 * (N_MAIN of them; a tenant file's were rendered when it was read, so a
 * reload that did not read the file renders nothing); on several threads
 * for a long list.
 */
static void
render_sites(struct snapshot *snap, const struct domset *ds, size_t n_main)
{
	struct render r = { .snap = snap, .ds = ds };
	size_t slices = n_main >= PARALLEL_RENDER ? RENDER_SLICES : 1, k = 1, at = 0;

	/* where each slice starts in the order and in own: one pass over pointers */
	for (size_t i = 0; i < ds->n && k < slices; i++) {
		if (i == ds->n * k / slices) {
			r.order[k] = i;
			r.at[k++] = at;
		}
		at += ds->sites[i] == NULL;
	}
	for (; k <= slices; k++) {
		r.order[k] = ds->n;
		r.at[k] = n_main;
	}
	pool_run_each(slices, slices > 1 ? pool_threads(4) : 1, render_slice, &r);
	snap->n_own = n_main;
}

struct snapshot *
snapshot_from(struct snapshot_parts *p)
{
	struct snapshot *snap = xcalloc(1, sizeof(*snap));
	const struct domset *ds = &snap->domains;
	const struct snapshot *prev = p->prev;
	size_t n_main = 0;

	atomic_init(&snap->refs, 1);
	snap->cfg = p->cfg;
	snap->tenants = p->tenants;
	snap->domains = p->domains;
	snap->certs = p->certs;
	snap->loaded_at = time(NULL);
	/* RFC 8461 section 8.3: removed domains keep answering, as mode none, until senders' caches expire */
	snap->retiring = p->retiring;
	snap->n_retiring = p->n_retiring;
	memset(p, 0, sizeof(*p));
	for (size_t i = 0; i < ds->n; i++)
		n_main += ds->sites[i] == NULL;
	snap->own = xcalloc(n_main + snap->n_retiring + 1, sizeof(*snap->own));
	snap->sites = xcalloc(ds->n + snap->n_retiring + 1, sizeof(*snap->sites));
	render_sites(snap, ds, n_main);
	for (size_t i = 0; i < snap->n_retiring; i++) {
		site_render(&snap->own[snap->n_own], &snap->retiring[i], false);
		snap->own[snap->n_own].retiring = true;
		snap->sites[ds->n + i] = &snap->own[snap->n_own++];
	}
	snap->n_sites = ds->n + snap->n_retiring;
	if (prev != NULL && hosts_from(snap, prev))
		return snap;
	hosts_whole(snap);
	return snap;
}

void
snapshot_parts_clear(struct snapshot_parts *p)
{
	ids_retiring_free(p->retiring, p->n_retiring);
	certstore_free(p->certs);
	domset_clear(&p->domains);
	tenants_free(p->tenants);
	config_free(p->cfg);
	memset(p, 0, sizeof(*p));
}

int
snapshot_load_certs(const struct config *cfg, struct certstore **certs, struct diag_list *dl)
{
	struct snapshot *prev;
	size_t errors;
	char *acme;

	*certs = NULL;
	/* behind a balancer that terminates TLS there may be no certificate folder at all */
	if (cfg->n_https == 0)
		return 0;
	errors = dl->errors;
	/* what the serving snapshot read and has not changed on disk is taken over, not read again */
	prev = snapshot_current();
	/* ACME's issued pairs (acme.storage/certs) load like tls.certs's, below them in precedence */
	acme = cfg->acme ? xstrcat(cfg->acme->storage, "/certs", NULL) : NULL;
	*certs = certstore_reload_acme(cfg->tls_certs, acme, prev ? prev->certs : NULL, dl);
	free(acme);
	snapshot_unref(prev);
	if (*certs == NULL || dl->errors > errors) {
		certstore_free(*certs);
		*certs = NULL;
		return -1;
	}
	return 0;
}

enum snapshot_serving
snapshot_site_serving(const struct snapshot *snap, const struct site *site, time_t now)
{
	if (snap->cfg->n_https > 0 && certstore_covers(snap->certs, site->host, now))
		return SNAPSHOT_SERVED;
	if (snap->cfg->n_http > 0)
		return snap->cfg->n_https > 0 ? SNAPSHOT_HTTP_ONLY : SNAPSHOT_SERVED;
	return SNAPSHOT_UNSERVED;
}

size_t
snapshot_unserved(const struct snapshot *snap, time_t now, const char ***names)
{
	size_t n = 0;

	*names = xcalloc(snap->n_sites + 1, sizeof(**names));
	for (size_t i = 0; i < snap->n_sites; i++) {
		const struct site *s = snap->sites[i];

		if (!s->retiring && snapshot_site_serving(snap, s, now) == SNAPSHOT_UNSERVED)
			(*names)[n++] = s->domain->name;
	}
	return n;
}

const struct site *
snapshot_site(const struct snapshot *snap, const char *host)
{
	return snap ? pmap_get(&snap->by_host, host) : NULL;
}

struct snapshot *
snapshot_ref(struct snapshot *snap)
{
	if (snap != NULL)
		atomic_fetch_add_explicit(&snap->refs, 1, memory_order_relaxed);
	return snap;
}

void
snapshot_unref(struct snapshot *snap)
{
	if (snap == NULL || atomic_fetch_sub_explicit(&snap->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (snap->release != NULL)
		snap->release(snap);
	for (size_t i = 0; i < snap->n_own; i++)
		site_clear(&snap->own[i]);
	for (size_t k = 0; k < RENDER_SLICES; k++)
		arena_free(snap->arenas[k]);
	free(snap->own);
	free(snap->sites);
	ids_retiring_free(snap->retiring, snap->n_retiring);
	pmap_clear(&snap->by_host);
	certstore_free(snap->certs);
	domset_clear(&snap->domains);
	tenants_free(snap->tenants);
	config_free(snap->cfg);
	free(snap);
	/*
	 * No malloc_trim here: the last reference may be a connection's, and a
	 * trim of a million domains' heap would stall its request. The reload
	 * thread trims after each publication (reload_publish), which follows
	 * the publish that drops the serving reference.
	 */
}

struct snapshot *
snapshot_current(void)
{
	struct snapshot *snap;

	/* the lock makes "read pointer, take reference" atomic against a publish dropping the old one */
	pthread_mutex_lock(&current_lock);
	snap = snapshot_ref(current);
	pthread_mutex_unlock(&current_lock);
	return snap;
}

void
snapshot_publish(struct snapshot *snap)
{
	struct snapshot *old;

	pthread_mutex_lock(&current_lock);
	old = current;
	current = snap;
	pthread_mutex_unlock(&current_lock);
	snapshot_unref(old);
}
