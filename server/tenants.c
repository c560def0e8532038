/* SPDX-License-Identifier: MIT */
/* tenants: the files of domains_dir as the serving snapshot holds them, and the rule that decides which version of each is in force. */
#include "tenants.h"
#include "hmap.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool
tenant_stamp_equal(const struct tenant_stamp *a, const struct tenant_stamp *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtim.tv_sec == b->mtim.tv_sec &&
	    a->mtim.tv_nsec == b->mtim.tv_nsec && a->ctim.tv_sec == b->ctim.tv_sec &&
	    a->ctim.tv_nsec == b->ctim.tv_nsec;
}

struct tenant_file *
tenant_file_new(const char *path, struct config_domain *domains, size_t n)
{
	struct tenant_file *f = xcalloc(1, sizeof(*f));

	atomic_init(&f->refs, 1);
	f->path = xstrdup(path);
	f->domains = domains;
	f->n_domains = n;
	f->sites = xcalloc(n + 1, sizeof(*f->sites));
	for (size_t i = 0; i < n; i++) {
		domains[i].file = f->path;
		site_render(&f->sites[i], &domains[i], true);
	}
	return f;
}

static void (*release_prebuilt)(void *prebuilt);

void
tenants_set_release(void (*release)(void *prebuilt))
{
	release_prebuilt = release;
}

struct tenant_file *
tenant_file_ref(struct tenant_file *f)
{
	if (f != NULL)
		atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
	return f;
}

void
tenant_file_unref(struct tenant_file *f)
{
	if (f == NULL || atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < f->n_domains; i++) {
		struct site *s = &f->sites[i];

		if (s->prebuilt != NULL && release_prebuilt != NULL)
			release_prebuilt(s->prebuilt);
		site_clear(s);
		domain_clear(&f->domains[i]);
	}
	free(f->sites);
	free(f->domains);
	free(f->path);
	free(f);
}

/* One domain of a version being tried, in a list per name (name order). */
struct claim {
	size_t slot;
	const struct config_domain *d;
	struct claim *next;
};

struct merge {
	struct tenants *t;
	struct tenant_file **try;	/* the version tried for each slot, NULL: none */
	bool *trying;			/* still tried this round */
	const struct config *main;
	tenants_serving_fn serving;
	const void *arg;
	struct hmap slot_by_path;	/* path -> slot index + 1 */
};

/*
 * The claims of every version still tried, CLAIMS[0..*N), with a list per
 * name in name order in BY_NAME (free both).
 */
static struct claim *
gather(const struct merge *m, struct hmap *by_name, size_t *n)
{
	struct claim *claims;
	size_t total = 0, at = 0;

	for (size_t i = 0; i < m->t->n; i++)
		if (m->trying[i])
			total += m->try[i]->n_domains;
	claims = xcalloc(total + 1, sizeof(*claims));
	hmap_reserve(by_name, total);
	for (size_t i = 0; i < m->t->n; i++) {
		if (!m->trying[i])
			continue;
		for (size_t k = 0; k < m->try[i]->n_domains; k++) {
			struct claim *c = &claims[at++], *first;

			c->slot = i;
			c->d = &m->try[i]->domains[k];
			/* appended, so each name's list stays in name order */
			if ((first = hmap_put(by_name, c->d->name, c)) != NULL) {
				while (first->next != NULL)
					first = first->next;
				first->next = c;
			}
		}
	}
	*n = at;
	return claims;
}

/*
 * Who keeps NAME whatever the tried versions do: the file serving it now
 * (with its version in force, or with the tried one when that still defines
 * it), else the main file. *WHERE gets that definition. Returns the slot,
 * SIZE_MAX for the main file, SIZE_MAX - 1 for nobody.
 */
static size_t
keeper(const struct merge *m, const char *name, const struct claim *claims, const struct config_domain **where)
{
	const struct config_domain *sd = m->serving ? m->serving(m->arg, name) : NULL;
	void *p;

	if (sd != NULL && sd->file != NULL && (p = hmap_get(&m->slot_by_path, sd->file)) != NULL) {
		size_t j = (size_t)(uintptr_t)p - 1;

		if (!m->trying[j] && m->t->v[j].in_force != NULL) {
			*where = sd;
			return j;
		}
		for (const struct claim *c = claims; c != NULL; c = c->next)
			if (c->slot == j) {
				*where = c->d;
				return j;
			}
	}
	if ((*where = config_find_domain(m->main, name)) != NULL)
		return SIZE_MAX;
	return SIZE_MAX - 1;
}

/* Refuse the version tried for slot I, which defines D as WHERE does too (WHY): its last good version stays in force. */
static void
refuse(struct merge *m, size_t i, const struct config_domain *d, const struct config_domain *where, const char *why)
{
	struct tenant_slot *s = &m->t->v[i];

	diag_add(&s->why, DIAG_ERROR, d->line, d->col, "domain '%s' is also defined at %s:%d:%d, which %s: this file "
	    "is refused (%s)", d->name, where->file ? where->file : "?", where->line, where->col, why,
	    s->in_force ? "its last good version stays in force" : "none of its domains are served");
	if (!m->trying[i])
		return;	/* another of its names, reported too */
	m->trying[i] = false;
	s->pending = m->try[i];
	m->try[i] = NULL;
	s->refused = true;
}

/* Refuse every tried version that defines a name a keeper keeps. Returns true when it refused one. */
static bool
refuse_to_keepers(struct merge *m)
{
	struct hmap by_name = {0};
	size_t n;
	struct claim *claims = gather(m, &by_name, &n);
	bool refused = false;

	/* every tried version is judged against the same claims; a refused one has all its conflicts reported */
	for (size_t k = 0; k < n; k++) {
		struct claim *c = &claims[k];
		const struct config_domain *where;
		size_t w;

		w = keeper(m, c->d->name, hmap_get(&by_name, c->d->name), &where);
		if (w == c->slot || w == SIZE_MAX - 1)
			continue;
		refuse(m, c->slot, c->d, where, w == SIZE_MAX ? "is the main configuration's" : "is serving");
		refused = true;
	}
	hmap_clear(&by_name);
	free(claims);
	return refused;
}

/*
 * Between tried versions, the first in name order keeps a name: a version
 * is taken when none of its names is taken already. Returns true when it
 * refused one.
 */
static bool
refuse_in_name_order(struct merge *m)
{
	struct hmap taken = {0};
	bool refused = false;

	for (size_t i = 0; i < m->t->n; i++) {
		const struct tenant_file *f = m->try[i];
		size_t k;

		if (!m->trying[i])
			continue;
		bool lost = false;

		for (k = 0; k < f->n_domains; k++) {
			const struct config_domain *where = hmap_get(&taken, f->domains[k].name);

			if (where != NULL) {
				refuse(m, i, &f->domains[k], where, "comes first in name order");
				lost = refused = true;
			}
		}
		if (!lost)
			for (k = 0; k < f->n_domains; k++)
				hmap_put(&taken, f->domains[k].name, (void *)(uintptr_t)&f->domains[k]);
	}
	hmap_clear(&taken);
	return refused;
}

/* Whether slot J, as merged, defines NAME (which its version in force served). */
static bool
slot_defines(const struct merge *m, size_t j, const char *name)
{
	const struct tenant_file *f = m->trying[j] ? m->try[j] : m->t->v[j].in_force;

	for (size_t k = 0; f != NULL && k < f->n_domains; k++)
		if (strcmp(f->domains[k].name, name) == 0)
			return true;
	return false;
}

/* The main file's domains served from a tenant file that keeps them: errors in MAIN_DL. */
static int
check_main(struct merge *m, struct diag_list *main_dl)
{
	int rc = 0;

	for (size_t i = 0; i < m->main->n_domains; i++) {
		const struct config_domain *md = &m->main->domains[i];
		const struct config_domain *sd = m->serving(m->arg, md->name);
		void *j;

		if (sd == NULL || sd->file == NULL || (j = hmap_get(&m->slot_by_path, sd->file)) == NULL)
			continue;
		if (!slot_defines(m, (size_t)(uintptr_t)j - 1, md->name))
			continue;
		diag_add(main_dl, DIAG_ERROR, md->line, md->col,
		    "domain '%s' is served from %s:%d:%d: remove it from one of the two files", md->name, sd->file,
		    sd->line, sd->col);
		rc = -1;
	}
	return rc;
}

int
tenants_merge(const struct tenants *prev, const struct config *main, bool main_read, struct tenant_input *in,
    size_t n, tenants_serving_fn serving, const void *serving_arg, struct tenants **out, struct diag_list *main_dl)
{
	struct merge m = { .main = main, .serving = serving, .arg = serving_arg };
	struct tenants *t = xcalloc(1, sizeof(*t));
	int rc = 0;

	t->v = xcalloc(n + 1, sizeof(*t->v));
	t->n = n;
	m.t = t;
	m.try = xcalloc(n + 1, sizeof(*m.try));
	m.trying = xcalloc(n + 1, sizeof(*m.trying));
	for (size_t i = 0; i < n; i++) {
		struct tenant_slot *s = &t->v[i];
		const struct tenant_slot *p = prev ? tenants_find(prev, in[i].name) : NULL;

		s->name = xstrdup(in[i].name);
		s->path = xstrdup(in[i].path);
		s->seen = in[i].stamp;
		diag_init(&s->why, in[i].path);
		s->in_force = p ? tenant_file_ref(p->in_force) : NULL;
		hmap_put(&m.slot_by_path, s->path, (void *)(uintptr_t)(i + 1));
		switch (in[i].found) {
		case TENANT_UNCHANGED:
			if (p != NULL && p->pending != NULL) {
				/* refused for a name defined elsewhere: judged again */
				m.try[i] = tenant_file_ref(p->pending);
			} else if (p != NULL && p->refused) {
				s->refused = true;
				for (size_t k = 0; k < p->why.n; k++)
					diag_add(&s->why, p->why.items[k].level, p->why.items[k].line, p->why.items[k].col,
					    "%s", p->why.items[k].msg);
			}
			break;
		case TENANT_VALID:
			m.try[i] = in[i].file;
			in[i].file = NULL;
			break;
		case TENANT_INVALID:
			s->refused = true;
			diag_take(&s->why, &in[i].errors);
			diag_add(&s->why, DIAG_ERROR, 0, 0, "this file is refused (%s)",
			    s->in_force ? "its last good version stays in force" : "none of its domains are served");
			break;
		}
		diag_clear(&in[i].errors);
		m.trying[i] = m.try[i] != NULL;
	}
	/* refusals only grow, and a refused file falls back to what it serves: this ends */
	do {
		while (refuse_to_keepers(&m))
			;
	} while (refuse_in_name_order(&m));
	if (main_read && serving != NULL)
		rc = check_main(&m, main_dl);
	for (size_t i = 0; i < n; i++) {
		struct tenant_slot *s = &t->v[i];

		if (m.trying[i]) {
			tenant_file_unref(s->in_force);
			s->in_force = m.try[i];
			s->refused = false;
		}
		if (s->refused)
			t->n_refused++;
		diag_sort(&s->why);
	}
	hmap_clear(&m.slot_by_path);
	free(m.try);
	free(m.trying);
	if (rc < 0) {
		tenants_free(t);
		t = NULL;
	}
	*out = t;
	return rc;
}

const struct tenant_slot *
tenants_find(const struct tenants *t, const char *name)
{
	size_t lo = 0, hi = t ? t->n : 0;

	/* slots are in name order (strcmp, as the folder listing sorts) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(t->v[mid].name, name);

		if (c == 0)
			return &t->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void
tenants_free(struct tenants *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].path);
		tenant_file_unref(t->v[i].in_force);
		tenant_file_unref(t->v[i].pending);
		diag_clear(&t->v[i].why);
	}
	free(t->v);
	free(t);
}
