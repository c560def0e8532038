/* SPDX-License-Identifier: MIT */
/* certstore: the public face of the certificate family: a store built from tls.certs, freed, and asked about its pairs. */
#include "certstore_int.h"
#include "pool.h"

#include <stdlib.h>
#include <string.h>

/* T as "YYYY-MM-DD HH:MM:SSZ" into WHEN. */
void
certstore_utc_when(time_t t, char when[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}

static struct certstore *
certstore_new(void)
{
	struct certstore *cs = xcalloc(1, sizeof(*cs));

	pthread_mutex_init(&cs->lock, NULL);
	return cs;
}

struct certstore *
certstore_load(const char *dir, struct diag_list *dl)
{
	return certstore_reload(dir, NULL, dl);
}

struct certstore *
certstore_reload(const char *dir, const struct certstore *prev, struct diag_list *dl)
{
	return certstore_reload_acme(dir, NULL, prev, dl);
}

/* Whether PATH lies under the folder DIR (NULL: none). */
static bool
under(const char *path, const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n > 0 && strncmp(path, dir, n) == 0 && path[n] == '/';
}

struct certstore *
certstore_reload_acme(const char *dir, const char *acme_dir, const struct certstore *prev, struct diag_list *dl)
{
	struct filelist fl = { .prev = prev };
	struct certstore *cs;
	struct pairs ps = { NULL, prev, NULL, 0, 0 };
	/* reading and parsing 100,000 pairs is most of a large start-up; both split over the cores */
	unsigned threads = pool_threads(4);
	size_t n_broken = 0;

	if (certscan_list(&fl, dir, acme_dir, threads, dl, &n_broken) < 0)
		return NULL;
	cs = certstore_new();
	cs->n_broken = n_broken;
	ps.cs = cs;
	certscan_pair(&fl, &ps);
	pool_run(ps.n, threads, certload_one, &ps);
	for (size_t i = 0; i < ps.n; i++) {
		struct pair *p = &ps.v[i];

		/* a pair that did not load is a problem for its own names only: everything else still serves */
		cs->n_broken += (p->c == NULL || p->kept) && p->dl.unserved > 0;
		diag_take(dl, &p->dl);
		diag_clear(&p->dl);
		if (p->c != NULL) {
			/* a new pair is seen by no other thread yet; a reused or kept one has its flag */
			if (!p->reused && !p->kept)
				p->c->acme = under(p->c->path, acme_dir);
			VEC_PUSH(cs->certs, cs->n, cs->cap, p->c);
			p->cf->cert = p->c;
			p->cf->broken = p->kept;
		}
		cs->n_reused += p->reused;
	}
	free(ps.v);
	certscan_leftovers(&fl, dl);
	certscan_remember(cs, &fl);
	certscan_clear(&fl);

	for (size_t i = 0; i < cs->n; i++)
		certindex_add(cs, i);
	return cs;
}

void
certstore_free(struct certstore *cs)
{
	if (cs == NULL)
		return;
	certindex_clear(cs);
	for (size_t i = 0; i < cs->n; i++)
		certload_cert_unref(cs->certs[i]);
	free(cs->certs);
	for (size_t i = 0; i < cs->n_inters; i++)
		certload_inter_unref(cs->inter_list[i]);
	free(cs->inter_list);
	hmap_clear(&cs->inters);
	hmap_clear(&cs->files);
	for (size_t i = 0; i < cs->n_dirs; i++)
		dirlist_free(cs->dirs[i]);
	free(cs->dirs);
	hmap_clear(&cs->dirs_by_path);
	for (size_t i = 0; i < cs->n_filerecs; i++)
		free(cs->filerecs[i].path);
	free(cs->filerecs);
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}

size_t
certstore_count(const struct certstore *cs)
{
	return cs ? cs->n : 0;
}

size_t
certstore_count_broken(const struct certstore *cs)
{
	return cs ? cs->n_broken : 0;
}

size_t
certstore_count_reused(const struct certstore *cs)
{
	return cs ? cs->n_reused : 0;
}

size_t
certstore_count_folders_reused(const struct certstore *cs)
{
	return cs ? cs->n_dirs_reused : 0;
}

size_t
certstore_count_folders(const struct certstore *cs)
{
	return cs ? cs->n_dirs : 0;
}

const char *
certstore_folder(const struct certstore *cs, size_t i)
{
	return cs->dirs[i]->path;
}

const char *
certstore_cert_path(const struct certstore *cs, size_t i)
{
	return cs->certs[i]->path;
}

const char *
certstore_key_path(const struct certstore *cs, size_t i)
{
	return cs->certs[i]->key_path;
}

time_t
certstore_cert_not_before(const struct certstore *cs, size_t i)
{
	return cs->certs[i]->not_before;
}

time_t
certstore_cert_not_after(const struct certstore *cs, size_t i)
{
	return cs->certs[i]->not_after;
}

bool
certstore_cert_acme(const struct certstore *cs, size_t i)
{
	return cs->certs[i]->acme;
}

enum certstore_key
certstore_cert_key(const struct certstore *cs, size_t i)
{
	return cs->certs[i]->kind;
}

size_t
certstore_cert_n_names(const struct certstore *cs, size_t i)
{
	return cs->certs[i]->n_names;
}

const char *
certstore_cert_name(const struct certstore *cs, size_t i, size_t j)
{
	return cs->certs[i]->names[j];
}

void
certstore_check_chains(struct certstore *cs, struct diag_list *dl)
{
	/* serve builds GnuTLS's form of a chain on its first handshake; check builds them all now */
	for (size_t i = 0; cs != NULL && i < cs->n; i++)
		if (certload_chain(cs->certs[i], dl) == NULL)
			cs->n_broken++;
}

