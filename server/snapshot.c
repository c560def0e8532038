/* SPDX-License-Identifier: MIT */
/* snapshot: one immutable, refcounted bundle of config, certificates and prebuilt responses; readers take a reference. */
#include "snapshot.h"
#include "ids.h"
#include "log.h"
#include "policy.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot *current;

struct snapshot *
snapshot_from(struct snapshot_parts *p)
{
	struct snapshot *snap = xcalloc(1, sizeof(*snap));
	const struct domset *ds = &snap->domains;

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
	snap->sites = xcalloc(ds->n + snap->n_retiring + 1, sizeof(*snap->sites));
	hmap_reserve(&snap->by_host, ds->n + snap->n_retiring);
	for (size_t i = 0; i < ds->n + snap->n_retiring; i++) {
		struct site *s = &snap->sites[snap->n_sites];

		s->domain = i < ds->n ? ds->v[i] : &snap->retiring[i - ds->n];
		s->shared = i < ds->n ? ds->sites[i] : NULL;
		if (s->shared != NULL) {
			/* rendered when its tenant file was read: a reload that did not read the file renders nothing */
			s->host = s->shared->host;
			s->body = s->shared->body;
			s->body_len = s->shared->body_len;
		} else {
			s->host = xstrcat("mta-sts.", s->domain->name, NULL);
			s->body = policy_render(s->domain, &s->body_len);
		}
		if (hmap_put(&snap->by_host, s->host, s) != NULL) {
			/* the config rejects duplicate domains; stay safe anyway */
			if (s->shared == NULL) {
				free(s->host);
				free(s->body);
			}
			memset(s, 0, sizeof(*s));
			continue;
		}
		snap->n_sites++;
	}
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
		const struct site *s = &snap->sites[i];

		if (domset_find(&snap->domains, s->domain->name) == s->domain &&
		    snapshot_site_serving(snap, s, now) == SNAPSHOT_UNSERVED)
			(*names)[n++] = s->domain->name;
	}
	return n;
}

const struct site *
snapshot_site(const struct snapshot *snap, const char *host)
{
	return snap ? hmap_get(&snap->by_host, host) : NULL;
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
	for (size_t i = 0; i < snap->n_sites; i++) {
		if (snap->sites[i].shared != NULL)
			continue;
		free(snap->sites[i].host);
		free(snap->sites[i].body);
	}
	free(snap->sites);
	ids_retiring_free(snap->retiring, snap->n_retiring);
	hmap_clear(&snap->by_host);
	certstore_free(snap->certs);
	domset_clear(&snap->domains);
	tenants_free(snap->tenants);
	config_free(snap->cfg);
	free(snap);
	/* the last reference may be a connection's, in any thread, after the reload has returned */
	mem_give_back();
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
