/* SPDX-License-Identifier: MIT */
/* certcheck: the certificate part of `check`: each served site judged by the pairs its handshakes present. */
#include "certcheck.h"
#include "certstore.h"
#include "util.h"

#include <stdlib.h>

#define EXPIRY_WARN_DAYS 21

/* A warning when pair I, which serves HOST, expires within EXPIRY_WARN_DAYS of NOW. */
static void
warn_expiry(const struct certstore *cs, long i, const char *host, const struct config_domain *d, time_t now,
    struct diag_list *dl)
{
	time_t na = certstore_cert_not_after(cs, (size_t)i);
	char when[32];
	struct tm tm;

	if (na - now >= (time_t)EXPIRY_WARN_DAYS * 86400)
		return;
	gmtime_r(&na, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
	diag_add_in(dl, d->file, DIAG_WARNING, d->line, d->col, "the certificate for '%s' ('%s') expires in %lld days (%s)", host,
	    certstore_cert_path(cs, (size_t)i), (long long)((na - now) / 86400), when);
}

void
certcheck_sites(const struct snapshot *snap, time_t now, struct diag_list *dl)
{
	const struct certstore *cs = snap->certs;
	size_t n = certstore_count(cs);
	bool *used = xcalloc(n + 1, sizeof(*used));

	for (size_t i = 0; i < snap->n_sites; i++) {
		const struct site *s = &snap->sites[i];
		enum snapshot_serving v = snapshot_site_serving(snap, s, now);
		const char *what = domset_find(&snap->domains, s->domain->name) == s->domain ? "domain" :
		    "retiring domain";
		const struct config_domain *d = s->domain;
		long ec, rsa;
		char why[1024];

		if (snap->cfg->n_https == 0)
			continue;
		ec = certstore_lookup_at(cs, s->host, CERTSTORE_KEY_EC, now);
		rsa = certstore_lookup_at(cs, s->host, CERTSTORE_KEY_RSA, now);
		if (ec >= 0) {
			used[ec] = true;
			warn_expiry(cs, ec, s->host, d, now, dl);
		}
		if (rsa >= 0) {
			used[rsa] = true;
			warn_expiry(cs, rsa, s->host, d, now, dl);
		}
		if (v == SNAPSHOT_SERVED)
			continue;
		certstore_explain(cs, snap->cfg->tls_certs, s->host, now, why, sizeof(why));
		if (v == SNAPSHOT_HTTP_ONLY)
			diag_add_in(dl, d->file, DIAG_WARNING, d->line, d->col, "%s '%s' is served over plain HTTP only: %s", what,
			    s->domain->name, why);
		else
			diag_add_in(dl, d->file, DIAG_UNSERVED, d->line, d->col, "%s '%s': %s", what, s->domain->name, why);
	}
	for (size_t i = 0; i < n; i++) {
		/* one not valid now has its own warning already */
		if (used[i] || certstore_cert_n_names(cs, i) == 0 || certstore_cert_not_after(cs, i) < now ||
		    certstore_cert_not_before(cs, i) > now)
			continue;
		diag_add(dl, DIAG_WARNING, 0, 0, "certificate '%s' is not used by any configured or retiring domain",
		    certstore_cert_path(cs, i));
	}
	free(used);
}
