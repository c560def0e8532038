/* SPDX-License-Identifier: MIT */
/* dnsrecords: turns a config and its DNS state into the records zone renders. */
#include "dnsrecords.h"
#include "pool.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct finds {
	const struct domset *ds;
	const struct ids_state *st;
	int64_t now;
	struct zone_domain *zd;	/* entry I is ds->v[I]'s (name NULL: not in the state) */
};

/* pool_slice_fn: the entries of the configured domains [FROM, TO) of the struct finds ARG. */
static void
find_slice(void *arg, size_t k, size_t from, size_t to)
{
	struct finds *f = arg;

	(void)k;
	for (size_t i = from; i < to; i++) {
		const struct config_domain *d = f->ds->v[i];
		const struct ids_domain *e = ids_find(f->st, d->name);
		struct zone_domain *z = &f->zd[i];

		if (e == NULL)
			continue;	/* cannot happen: every configured domain has an entry */
		z->name = d->name;
		z->line = d->line;
		z->col = d->col;
		z->id = e->id;
		z->fp = e->fp;
		z->rua = strlist_items(d->tlsrpt);
		z->n_rua = strlist_len(d->tlsrpt);
		z->delete_tlsrpt = ids_tlsrpt_to_delete(e, f->now);
		ids_parse(e->id, &z->changed);
	}
}

struct zone_domain *
dnsrecords_domains(const struct domset *ds, const struct ids_state *st, int64_t now, size_t *n)
{
	/* the state holds every configured domain and the retiring ones */
	struct zone_domain *zd = xcalloc(st->n > ds->n ? st->n : ds->n, sizeof(*zd));
	struct finds f = { ds, st, now, zd };
	size_t k = 0;

	/* on several threads for a large set */
	pool_run_slices(ds->n, find_slice, &f);
	for (size_t i = 0; i < ds->n; i++)
		if (zd[i].name != NULL)
			zd[k++] = zd[i];
	/* the slots the retiring entries take are as calloc left them */
	memset(zd + k, 0, (ds->n - k) * sizeof(*zd));
	for (size_t i = 0; i < st->n; i++) {
		const struct ids_domain *e = &st->d[i];
		if (!e->retiring)
			continue;
		zd[k].name = e->name;
		zd[k].id = e->id;
		zd[k].fp = e->fp;
		zd[k].retiring = true;
		zd[k].deletable_at = ids_deletable_at(e);
		zd[k].delete_tlsrpt = ids_tlsrpt_to_delete(e, now);
		ids_parse(e->id, &zd[k].changed);
		k++;
	}
	*n = k;
	return zd;
}

const char **
dnsrecords_expired(const struct ids_state *st, int64_t now, bool **tls, size_t *n)
{
	const char **names = xcalloc(st->n + 1, sizeof(*names));

	*tls = xcalloc(st->n + 1, sizeof(**tls));
	*n = 0;
	for (size_t i = 0; i < st->n; i++)
		if (st->d[i].expired) {
			(*tls)[*n] = ids_tlsrpt_to_delete(&st->d[i], now);
			names[(*n)++] = st->d[i].name;
		}
	return names;
}

char *
dnsrecords_render_domains(const struct config *cfg, const struct zone_domain *zd, size_t n, const char **expired,
    const bool *expired_tls, size_t n_expired, enum zone_side side, enum zone_format fmt,
    struct diag_list *problems, char *err, size_t errlen)
{
	struct zone_params p = {0};

	p.side = side;
	p.ttl = cfg->dns_ttl;
	p.host_target = cfg->dns_host_target;
	p.delegate_zone = cfg->dns_delegate_zone;
	p.source = cfg->path;
	p.expired = expired;
	p.expired_tlsrpt = expired_tls;
	p.n_expired = n_expired;
	p.problems = problems;
	return zone_render(&p, zd, n, fmt, err, errlen);
}

char *
dnsrecords_render(const struct config *cfg, const struct domset *ds, const struct ids_state *st, int64_t now, enum zone_side side,
    enum zone_format fmt, struct diag_list *problems, char *err, size_t errlen)
{
	struct zone_domain *zd;
	const char **expired;
	bool *expired_tls;
	size_t n, n_expired;
	char *out;

	expired = dnsrecords_expired(st, now, &expired_tls, &n_expired);
	zd = dnsrecords_domains(ds, st, now, &n);
	out = dnsrecords_render_domains(cfg, zd, n, expired, expired_tls, n_expired, side, fmt, problems, err, errlen);
	free(zd);
	free(expired);
	free(expired_tls);
	return out;
}
