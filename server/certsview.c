/* SPDX-License-Identifier: MIT */
/* certsview: the rows of `mtastsd certs`, one per policy host, and their JSON and table forms. */
#include "certsview.h"
#include "acmestatus.h"
#include "certstore.h"
#include "ids.h"
#include "json.h"
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

enum certsview_acme
certsview_acme_state(enum acmeplan_state s)
{
	switch (s) {
	case ACMEPLAN_UNMANAGED:
		return CERTSVIEW_ACME_UNMANAGED;
	case ACMEPLAN_VALID:
		return CERTSVIEW_ACME_VALID;
	case ACMEPLAN_DUE:
		return CERTSVIEW_ACME_ORDERING;
	case ACMEPLAN_WAITING_DNS:
		return CERTSVIEW_ACME_WAITING_DNS;
	case ACMEPLAN_BACKOFF:
		return CERTSVIEW_ACME_BACKOFF;
	}
	return CERTSVIEW_ACME_UNMANAGED;
}

const char *
certsview_acme_name(enum certsview_acme s)
{
	switch (s) {
	case CERTSVIEW_ACME_UNMANAGED:
		return NULL;
	case CERTSVIEW_ACME_VALID:
		return "valid";
	case CERTSVIEW_ACME_ORDERING:
		return "ordering";
	case CERTSVIEW_ACME_WAITING_DNS:
		return "waiting_dns";
	case CERTSVIEW_ACME_BACKOFF:
		return "backoff";
	}
	return NULL;
}

void
certsview_acme_fill(struct certsview_row *r, const struct acmeplan_host *h)
{
	r->acme = h != NULL ? certsview_acme_state(h->state) : CERTSVIEW_ACME_UNMANAGED;
	r->next_renewal = 0;
	r->retry_at = 0;
	r->last_error = NULL;
	if (r->acme == CERTSVIEW_ACME_UNMANAGED)
		return;
	if (h->st != NULL) {
		r->next_renewal = h->st->next_renewal > 0 ? h->st->next_renewal : 0;
		r->last_error = h->st->last_error;
	}
	if (r->acme == CERTSVIEW_ACME_BACKOFF)
		r->retry_at = h->at;
}

static int
by_host(const void *a, const void *b)
{
	return strcmp(((const struct certsview_row *)a)->host, ((const struct certsview_row *)b)->host);
}

struct certsview_row *
certsview_rows(const struct snapshot *snap, const struct acmestatus *as, time_t now, size_t *n)
{
	struct certsview_row *v = xcalloc(snap->n_sites + 1, sizeof(*v));
	const struct certstore *cs = snap->certs;
	bool https = snap->cfg->n_https > 0 && cs != NULL;

	for (size_t i = 0; i < snap->n_sites; i++) {
		const struct site *s = snap->sites[i];
		struct certsview_row *r = &v[i];
		long at = https ? certstore_lookup_at(cs, s->host, CERTSTORE_KEY_ANY, now) : -1;

		r->host = s->host;
		r->domain = s->domain->name;
		r->needs_cert = snap->cfg->n_https > 0;
		if (at >= 0) {
			size_t k = (size_t)at;

			r->source = certstore_cert_acme(cs, k) ? CERTSVIEW_ACME : CERTSVIEW_FILE;
			r->file = certstore_cert_path(cs, k);
			r->not_after = (int64_t)certstore_cert_not_after(cs, k);
			r->n_names = certstore_cert_n_names(cs, k);
			r->names = xcalloc(r->n_names + 1, sizeof(*r->names));
			for (size_t j = 0; j < r->n_names; j++)
				r->names[j] = certstore_cert_name(cs, k, j);
		}
		certsview_acme_fill(r, as != NULL ? acmestatus_host(as, s->host) : NULL);
	}
	qsort(v, snap->n_sites, sizeof(*v), by_host);
	*n = snap->n_sites;
	return v;
}

void
certsview_rows_free(struct certsview_row *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i].names);
	free(v);
}

bool
certsview_row_missing(const struct certsview_row *r)
{
	/* VALID without a pair: the state says issued, so nothing is ordered before the renewal time */
	return r->needs_cert && r->source == CERTSVIEW_NONE && (r->acme == CERTSVIEW_ACME_UNMANAGED ||
	    r->acme == CERTSVIEW_ACME_BACKOFF || r->acme == CERTSVIEW_ACME_VALID);
}

static const char *
source_name(enum certsview_source s)
{
	return s == CERTSVIEW_FILE ? "file" : s == CERTSVIEW_ACME ? "acme" : "none";
}

static void
json_str(struct buf *b, const char *s)
{
	if (s == NULL || json_string(b, s, strlen(s)) < 0)
		buf_puts(b, "null");
}

static void
json_time(struct buf *b, int64_t t)
{
	char when[21];

	if (t <= 0) {
		buf_puts(b, "null");
		return;
	}
	ids_iso8601(t, when);
	buf_printf(b, "\"%s\"", when);
}

void
certsview_json(const struct certsview_row *v, size_t n, struct buf *b)
{
	buf_puts(b, "{\"hosts\": [");
	for (size_t i = 0; i < n; i++) {
		const struct certsview_row *r = &v[i];

		buf_puts(b, i ? ",\n  {\"host\": " : "\n  {\"host\": ");
		json_str(b, r->host);
		buf_puts(b, ", \"domain\": ");
		json_str(b, r->domain);
		buf_printf(b, ", \"source\": \"%s\", \"file\": ", source_name(r->source));
		json_str(b, r->file);
		buf_puts(b, ", \"not_after\": ");
		json_time(b, r->not_after);
		buf_puts(b, ", \"names\": [");
		for (size_t j = 0; j < r->n_names; j++) {
			if (j > 0)
				buf_puts(b, ", ");
			json_str(b, r->names[j]);
		}
		buf_puts(b, "], \"acme\": ");
		if (r->acme == CERTSVIEW_ACME_UNMANAGED) {
			buf_puts(b, "null}");
			continue;
		}
		buf_printf(b, "{\"state\": \"%s\", \"next_renewal\": ", certsview_acme_name(r->acme));
		json_time(b, r->next_renewal);
		buf_puts(b, ", \"retry_at\": ");
		json_time(b, r->retry_at);
		buf_puts(b, ", \"last_error\": ");
		json_str(b, r->last_error);
		buf_puts(b, "}}");
	}
	buf_puts(b, n ? "\n]}\n" : "]}\n");
}

enum { C_HOST, C_SOURCE, C_NOT_AFTER, C_ACME, C_RENEWAL, C_RETRY, C_NAMES, C_FILE, C_ERROR, NCOLS };

static const char *const heads[NCOLS] = {
	"HOST", "SOURCE", "NOT_AFTER", "ACME", "NEXT_RENEWAL", "RETRY_AT", "NAMES", "FILE", "LAST_ERROR"
};

static char *
cell_time(int64_t t)
{
	char when[21];

	if (t <= 0)
		return xstrdup("-");
	ids_iso8601(t, when);
	return xstrdup(when);
}

/* The cells of R (each malloc'd). */
static void
cells(const struct certsview_row *r, char *c[NCOLS])
{
	const char *acme = certsview_acme_name(r->acme);

	c[C_HOST] = xstrdup(r->host);
	c[C_SOURCE] = xstrdup(source_name(r->source));
	c[C_NOT_AFTER] = cell_time(r->not_after);
	c[C_ACME] = xstrdup(acme ? acme : "-");
	c[C_RENEWAL] = cell_time(r->next_renewal);
	c[C_RETRY] = cell_time(r->retry_at);
	if (r->n_names == 0)
		c[C_NAMES] = xstrdup("-");
	else if (r->n_names == 1)
		c[C_NAMES] = xstrdup(r->names[0]);
	else
		c[C_NAMES] = xasprintf("%s +%zu", r->names[0], r->n_names - 1);
	c[C_FILE] = xstrdup(r->file ? r->file : "-");
	c[C_ERROR] = xstrdup(r->last_error && r->last_error[0] ? r->last_error : "-");
	/* one host per line, whatever the CA wrote */
	for (char *p = c[C_ERROR]; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

void
certsview_table(const struct certsview_row *v, size_t n, struct buf *b)
{
	char **c = xcalloc((n + 1) * NCOLS, sizeof(*c));
	size_t w[NCOLS];

	for (int k = 0; k < NCOLS; k++) {
		c[k] = xstrdup(heads[k]);
		w[k] = strlen(heads[k]);
	}
	for (size_t i = 0; i < n; i++) {
		cells(&v[i], &c[(i + 1) * NCOLS]);
		for (int k = 0; k < NCOLS; k++) {
			size_t l = strlen(c[(i + 1) * NCOLS + k]);

			w[k] = l > w[k] ? l : w[k];
		}
	}
	for (size_t i = 0; i <= n; i++) {
		for (int k = 0; k < NCOLS; k++) {
			const char *s = c[i * NCOLS + k];

			if (k == NCOLS - 1)
				buf_printf(b, "%s\n", s);
			else
				buf_printf(b, "%-*s  ", (int)w[k], s);
			free(c[i * NCOLS + k]);
		}
	}
	free(c);
}
