/* SPDX-License-Identifier: MIT */
/* dnsrecords: turns a config and its DNS state into the records zone renders. */
#include "dnsrecords.h"
#include "util.h"

#include <stdlib.h>

struct zone_domain *
dnsrecords_domains(const struct domset *ds, const struct ids_state *st, int64_t now, size_t *n)
{
	struct zone_domain *zd = xcalloc(st->n, sizeof(*zd));
	size_t k = 0;

	for (size_t i = 0; i < ds->n; i++) {
		const struct config_domain *d = ds->v[i];
		const struct ids_domain *e = ids_find(st, d->name);
		if (e == NULL)
			continue;	/* cannot happen: every configured domain has an entry */
		zd[k].name = d->name;
		zd[k].line = d->line;
		zd[k].col = d->col;
		zd[k].id = e->id;
		zd[k].fp = e->fp;
		zd[k].rua = strlist_items(d->tlsrpt);
		zd[k].n_rua = strlist_len(d->tlsrpt);
		zd[k].delete_tlsrpt = ids_tlsrpt_to_delete(e, now);
		ids_parse(e->id, &zd[k].changed);
		k++;
	}
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
