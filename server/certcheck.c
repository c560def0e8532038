/* SPDX-License-Identifier: MIT */
/* certcheck: the certificate part of `check`: each served site judged by the pairs its handshakes present. */
#include "certcheck.h"
#include "acmestatus.h"
#include "certstore.h"
#include "certsview.h"
#include "ids.h"
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

/*
 * SITE (WHAT its domain is: "domain", "retiring domain") has no pair valid
 * now; H is its ACME decision. True when that was said here: its
 * certificate is on its way from ACME, a warning, not a tenant left out.
 */
static bool
waits_for_acme(const struct site *site, const char *what, const struct acmeplan_host *h, const char *dns_reason,
    struct diag_list *dl)
{
	const struct config_domain *d = site->domain;
	enum certsview_acme st = h != NULL ? certsview_acme_state(h->state) : CERTSVIEW_ACME_UNMANAGED;
	const char *err = h != NULL && h->st != NULL && h->st->last_error != NULL ? h->st->last_error : NULL;
	char at[21];

	switch (st) {
	case CERTSVIEW_ACME_UNMANAGED:
		return false;
	case CERTSVIEW_ACME_VALID:
		/* the orderer orders nothing before the renewal time: no certificate is coming */
		ids_iso8601(h->at, at);
		diag_add_in(dl, d->file, DIAG_UNSERVED, d->line, d->col, "%s '%s': no certificate covers '%s', but the "
		    "ACME state says it is valid until its renewal at %s, so none is ordered before then (the pair "
		    "under acme.storage/certs is gone?): remove its line from the ACME state to order it now", what,
		    d->name, site->host, at);
		return true;
	case CERTSVIEW_ACME_ORDERING:
		diag_add_in(dl, d->file, DIAG_WARNING, d->line, d->col, "%s '%s' waits for its certificate from ACME "
		    "(ordering: serve's orderer orders '%s' as pacing allows)%s%s", what, d->name, site->host,
		    err ? "; the last attempt failed: " : "", err ? err : "");
		return true;
	case CERTSVIEW_ACME_WAITING_DNS:
		diag_add_in(dl, d->file, DIAG_WARNING, d->line, d->col, "%s '%s' waits for its certificate from ACME "
		    "(waiting_dns: '%s': %s; it is ordered once its DNS records are in place)", what, d->name,
		    site->host, dns_reason ? dns_reason : "does not resolve");
		return true;
	case CERTSVIEW_ACME_BACKOFF:
		ids_iso8601(h->at, at);
		diag_add_in(dl, d->file, DIAG_WARNING, d->line, d->col, "%s '%s' waits for its certificate from ACME "
		    "(backoff: %u failed order%s, next attempt at %s): %s", what, d->name, h->st ? h->st->failures : 0,
		    h->st && h->st->failures == 1 ? "" : "s", at, err ? err : "the CA gave no detail");
		return true;
	}
	return false;
}

void
certcheck_sites(const struct snapshot *snap, time_t now, const struct acmestatus *as, struct diag_list *dl)
{
	const struct certstore *cs = snap->certs;
	size_t n = certstore_count(cs);
	bool *used = xcalloc(n + 1, sizeof(*used));

	/* without an HTTPS listener no site needs a certificate (snap->certs is NULL then) */
	for (size_t i = 0; snap->cfg->n_https > 0 && i < snap->n_sites; i++) {
		const struct site *s = snap->sites[i];
		enum snapshot_serving v;
		/* the site says so: a lookup of every name took 0.6 s of check at a million domains */
		const char *what = s->retiring ? "retiring domain" : "domain";
		const struct config_domain *d = s->domain;
		long ec, rsa;
		char why[1024];

		v = snapshot_site_serving(snap, s, now);
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
		if (as != NULL && waits_for_acme(s, what, acmestatus_host(as, s->host), acmestatus_dns_reason(as, s->host), dl))
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
