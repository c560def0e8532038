/* SPDX-License-Identifier: MIT */
/* zone: renders the `_mta-sts` and `_smtp._tls` records as a BIND snippet, JSON or an nsupdate script; pure string code. */
#include "zone.h"
#include "json.h"
#include "ids.h"
#include "pool.h"
#include "util.h"
#include "vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* A TXT character-string holds at most 255 bytes (RFC 1035 section 3.3). */
#define TXT_CHUNK 255
#define NAME_MAX_OCTETS 253

enum rtype { RT_TXT, RT_CNAME };

struct record {
	char *owner;		/* absolute, with trailing dot */
	enum rtype type;
	char *data;		/* TXT: the unsplit value; CNAME: absolute target */
};

struct recset {
	struct record r[3];
	size_t n;
	char *unfit;		/* why its records cannot be written (a name too long), or NULL */
	/* names this domain owns, for nsupdate deletes: {owner, type} */
	struct record del[3];
	size_t n_del;
};

char *
zone_sts_value(const char *id)
{
	return xstrcat("v=STSv1; id=", id, ";", NULL);
}

char *
zone_tlsrpt_value(const char *const *rua, size_t n)
{
	struct buf b = {0};

	buf_puts(&b, "v=TLSRPTv1; rua=");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_puts(&b, ",");
		buf_puts(&b, rua[i]);
	}
	return b.data;
}

/* VALUE as TXT rdata appended to B: quoted character-strings of at most 255 bytes. */
static void
txt_rdata(struct buf *b, const char *value)
{
	size_t len = strlen(value);

	if (len == 0)
		buf_puts(b, "\"\"");
	for (size_t off = 0; off < len; off += TXT_CHUNK) {
		size_t end = off + TXT_CHUNK < len ? off + TXT_CHUNK : len, run = off;

		if (off > 0)
			buf_puts(b, " ");
		buf_puts(b, "\"");
		for (size_t i = off; i < end; i++) {
			unsigned char c = (unsigned char)value[i];

			if (c != '"' && c != '\\' && c >= 0x20 && c < 0x7f)
				continue;
			/* the plain bytes before it in one piece */
			buf_append(b, value + run, i - run);
			run = i + 1;
			if (c == '"' || c == '\\')
				buf_printf(b, "\\%c", c);
			else
				buf_printf(b, "\\%03u", c);
		}
		buf_append(b, value + run, end - run);
		buf_puts(b, "\"");
	}
}

char *
zone_txt_rdata(const char *value)
{
	struct buf b = {0};

	txt_rdata(&b, value);
	return b.data;
}

/*
 * Everything zone renders is ASCII (names are A-labels, the config refuses
 * non-ASCII tlsrpt URIs); were a string not UTF-8, it is written as null
 * rather than as a guess.
 */
static void
json_str(struct buf *b, const char *s, size_t len)
{
	if (json_string(b, s, len) < 0)
		buf_puts(b, "null");
}

static void
add_rec(struct recset *rs, char *owner, enum rtype type, char *data)
{
	rs->r[rs->n].owner = owner;
	rs->r[rs->n].type = type;
	rs->r[rs->n].data = data;
	rs->n++;
}

static void
add_del(struct recset *rs, const char *owner, enum rtype type)
{
	rs->del[rs->n_del].owner = xstrdup(owner);
	rs->del[rs->n_del].type = type;
	rs->del[rs->n_del].data = NULL;
	rs->n_del++;
}

static void
recset_clear(struct recset *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->r[i].owner);
		free(rs->r[i].data);
	}
	for (size_t i = 0; i < rs->n_del; i++)
		free(rs->del[i].owner);
	free(rs->unfit);
	memset(rs, 0, sizeof(*rs));
}

/*
 * The records of one domain on side P->side; ID NULL for expired domains
 * (records then only deleted). The TLSRPT name is deleted (nsupdate) only
 * where a record is written or DEL_TLS says mtastsd published one before:
 * never a record published by other means.
 */
static void
build(const struct zone_params *p, const char *name, const char *id, const char *const *rua,
    size_t n_rua, bool del_tls, struct recset *rs)
{
	bool tls_rec = id != NULL && n_rua > 0;

	const char *z = p->delegate_zone;
	char *sts, *tls, *host = xstrcat("mta-sts.", name, ".", NULL);

	memset(rs, 0, sizeof(*rs));
	if (p->side == ZONE_CUSTOMER) {
		sts = xstrcat("_mta-sts.", name, ".", NULL);
		tls = xstrcat("_smtp._tls.", name, ".", NULL);
		if (id != NULL)
			add_rec(rs, xstrdup(sts), RT_CNAME, xstrcat("_mta-sts.", name, ".", z, ".", NULL));
		add_del(rs, sts, RT_CNAME);
		if (tls_rec)
			add_rec(rs, xstrdup(tls), RT_CNAME, xstrcat("_smtp._tls.", name, ".", z, ".", NULL));
		if (tls_rec || del_tls)
			add_del(rs, tls, RT_CNAME);
	} else {
		if (p->side == ZONE_PROVIDER) {
			sts = xstrcat("_mta-sts.", name, ".", z, ".", NULL);
			tls = xstrcat("_smtp._tls.", name, ".", z, ".", NULL);
		} else {
			sts = xstrcat("_mta-sts.", name, ".", NULL);
			tls = xstrcat("_smtp._tls.", name, ".", NULL);
		}
		if (id != NULL)
			add_rec(rs, xstrdup(sts), RT_TXT, zone_sts_value(id));
		add_del(rs, sts, RT_TXT);
		if (tls_rec)
			add_rec(rs, xstrdup(tls), RT_TXT, zone_tlsrpt_value(rua, n_rua));
		if (tls_rec || del_tls)
			add_del(rs, tls, RT_TXT);
	}
	/*
	 * The policy host lives in the customer's zone; with delegation it is part
	 * of the customer side. Never for the domain whose policy host is
	 * host_target itself (a provider hosting its own domain): that would be a
	 * CNAME to itself, a loop that also stops the zone loading next to the
	 * host's A record.
	 */
	if (p->host_target != NULL && p->side != ZONE_PROVIDER && !zone_is_host_target(p, name)) {
		if (id != NULL)
			add_rec(rs, xstrdup(host), RT_CNAME, xstrcat(p->host_target, ".", NULL));
		add_del(rs, host, RT_CNAME);
	}
	free(sts);
	free(tls);
	free(host);
}

bool
zone_policy_host_unknown(const struct zone_params *p)
{
	return p->side == ZONE_CUSTOMER && p->host_target == NULL;
}

bool
zone_is_host_target(const struct zone_params *p, const char *name)
{
	const char *t = p->host_target;

	return t != NULL && strncmp(t, "mta-sts.", 8) == 0 && strcmp(t + 8, name) == 0;
}

/* The reason a name of RS is longer than 253 octets (owned by the caller), or NULL when all fit. */
static char *
names_unfit(const struct recset *rs)
{
	for (size_t i = 0; i < rs->n_del; i++)
		if (strlen(rs->del[i].owner) - 1 > NAME_MAX_OCTETS)
			return xasprintf("record name '%s' is %zu octets, longer than %d", rs->del[i].owner,
			    strlen(rs->del[i].owner) - 1, NAME_MAX_OCTETS);
	for (size_t i = 0; i < rs->n; i++)
		if (strlen(rs->r[i].owner) - 1 > NAME_MAX_OCTETS)
			return xasprintf("record name '%s' is %zu octets, longer than %d", rs->r[i].owner,
			    strlen(rs->r[i].owner) - 1, NAME_MAX_OCTETS);
	/* a CNAME target is a name too: with delegation it is longer than the owner */
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].type == RT_CNAME && strlen(rs->r[i].data) - 1 > NAME_MAX_OCTETS)
			return xasprintf("CNAME target '%s' of '%s' is %zu octets, longer than %d", rs->r[i].data,
			    rs->r[i].owner, strlen(rs->r[i].data) - 1, NAME_MAX_OCTETS);
	return NULL;
}

/* Leave out every record of RS (it cannot be written whole), remembering WHY. */
static void
recset_unfit(struct recset *rs, char *why)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->r[i].owner);
		free(rs->r[i].data);
	}
	for (size_t i = 0; i < rs->n_del; i++)
		free(rs->del[i].owner);
	rs->n = rs->n_del = 0;
	rs->unfit = why;
}

size_t
zone_rrsets(const struct zone_params *p, const struct zone_domain *d, struct zone_rrset out[ZONE_MAX_RRSETS])
{
	struct recset rs;
	size_t n = 0;
	char *why;

	build(p, d->name, d->id, d->rua, d->n_rua, d->delete_tlsrpt, &rs);
	if ((why = names_unfit(&rs)) != NULL) {
		/* a name over 253 octets: nothing of this domain can be sent (zone_render reports it) */
		free(why);
		recset_clear(&rs);
		return 0;
	}
	/* every name the domain owns is deleted first; the record of that name, when there is one, is its value */
	for (size_t i = 0; i < rs.n_del && n < ZONE_MAX_RRSETS; i++, n++) {
		out[n].owner = xstrdup(rs.del[i].owner);
		out[n].cname = rs.del[i].type == RT_CNAME;
		out[n].value = NULL;
		for (size_t k = 0; k < rs.n; k++)
			if (rs.r[k].type == rs.del[i].type && strcmp(rs.r[k].owner, rs.del[i].owner) == 0)
				out[n].value = xstrdup(rs.r[k].data);
	}
	recset_clear(&rs);
	return n;
}

void
zone_rrsets_clear(struct zone_rrset *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].owner);
		free(r[i].value);
		r[i].owner = r[i].value = NULL;
	}
}

static void
rec_line(struct buf *b, const char *prefix, const struct record *r, unsigned long ttl)
{
	/* a line per record, a million of them at a provider's size: no printf */
	buf_puts(b, prefix);
	buf_puts(b, r->owner);
	buf_puts(b, " ");
	buf_putu(b, ttl);
	if (r->type == RT_TXT) {
		buf_puts(b, " IN TXT ");
		txt_rdata(b, r->data);
	} else {
		buf_puts(b, " IN CNAME ");
		buf_puts(b, r->data);
	}
	buf_puts(b, "\n");
}

static const char *
side_name(enum zone_side s)
{
	return s == ZONE_PROVIDER ? "provider" : s == ZONE_CUSTOMER ? "customer" : "direct";
}

static void
header(struct buf *b, const struct zone_params *p, size_t n, const char *what)
{
	buf_printf(b, "; %s for MTA-STS (RFC 8461) and TLSRPT (RFC 8460)\n", what);
	buf_printf(b, "; generated by mtastsd %s%s%s; regenerate, do not edit\n",
	    MTASTSD_VERSION, p->source ? " from " : "", p->source ? p->source : "");
	buf_printf(b, "; %zu domain%s, ttl %lu", n, n == 1 ? "" : "s", p->ttl);
	if (p->side == ZONE_PROVIDER)
		buf_printf(b, "; provider side: records under the zone %s.", p->delegate_zone);
	else if (p->side == ZONE_CUSTOMER)
		buf_printf(b, "; customer side: each domain publishes these once, in its own zone");
	buf_puts(b, "\n");
	if (zone_policy_host_unknown(p))
		buf_printf(b, "; %s\n", ZONE_NO_HOST_TARGET);
}

static void
domain_comment(struct buf *b, const struct zone_domain *d)
{
	char when[21];

	ids_iso8601(d->changed, when);
	if (d->retiring) {
		char del[21];
		ids_iso8601(d->deletable_at, del);
		buf_printf(b, "; %s: retiring (removed from the configuration, served as mode: none since %s);"
		    " its records may be deleted from %s\n", d->name, when, del);
	} else {
		buf_puts(b, "; ");
		buf_puts(b, d->name);
		buf_puts(b, ": policy last changed ");
		buf_puts(b, when);
		buf_puts(b, "\n");
	}
}

static void
render_bind(struct buf *b, const struct zone_params *p, const struct zone_domain *d,
    const struct recset *rs, size_t n)
{
	header(b, p, n, "DNS records");
	for (size_t i = 0; i < n; i++) {
		buf_puts(b, ";\n");
		domain_comment(b, &d[i]);
		if (rs[i].unfit != NULL)
			buf_printf(b, "; records of %s not published: %s\n", d[i].name, rs[i].unfit);

		else if (p->side != ZONE_PROVIDER && zone_is_host_target(p, d[i].name))
			buf_printf(b, "; mta-sts.%s is dns.host_target itself: give it A/AAAA records, no CNAME\n",
			    d[i].name);
		for (size_t k = 0; k < rs[i].n; k++)
			rec_line(b, "", &rs[i].r[k], p->ttl);
		if (rs[i].unfit == NULL && zone_policy_host_unknown(p))
			buf_printf(b, "; for mta-sts.%s. add A/AAAA records (or a CNAME) pointing at the server of the"
			    " policies: mtastsd does not know it\n", d[i].name);
	}
	for (size_t i = 0; i < p->n_expired; i++)
		buf_printf(b, ";\n; %s: retirement over: its records are no longer published, delete them\n",
		    p->expired[i]);
}

static void
render_nsupdate(struct buf *b, const struct zone_params *p, const struct zone_domain *d,
    const struct recset *rs, size_t n, const struct recset *ex)
{
	header(b, p, n, "nsupdate (RFC 2136) script replacing the records");
	buf_puts(b, "; run as: nsupdate -k KEYFILE FILE (add \"server HOST [PORT]\" first when needed)\n");
	buf_puts(b, "; one update (and send) per domain, each finding its own zone (add no \"zone\" line);\n"
	    "; nsupdate stops at the first refused send: feed it one domain at a time, e.g.\n"
	    ";   csplit -s -z -f domain. FILE '/^send$/+1' '{*}'\n"
	    ";   for f in domain.*; do (echo server HOST; cat $f) | nsupdate -k KEYFILE || echo \"failed: $f\"; done\n");
	for (size_t i = 0; i < n + p->n_expired; i++) {
		const struct recset *r = i < n ? &rs[i] : &ex[i - n];
		if (r->unfit != NULL) {
			/* nothing to send: an update that cannot be written whole is not sent in part */
			buf_printf(b, "; records of %s not published: %s\n", i < n ? d[i].name : p->expired[i - n], r->unfit);
			continue;
		}
		if (i < n)
			domain_comment(b, &d[i]);
		else
			buf_printf(b, "; %s: retirement over: records deleted\n", p->expired[i - n]);
		for (size_t k = 0; k < r->n_del; k++)
			buf_printf(b, "update delete %s %s\n", r->del[k].owner,
			    r->del[k].type == RT_TXT ? "TXT" : "CNAME");
		for (size_t k = 0; k < r->n; k++)
			rec_line(b, "update add ", &r->r[k], p->ttl);
		buf_puts(b, "send\n");
	}
}

static void
render_json(struct buf *b, const struct zone_params *p, const struct zone_domain *d,
    const struct recset *rs, size_t n)
{
	buf_printf(b, "{\n  \"generator\": \"mtastsd %s\",\n  \"side\": \"%s\",\n  \"ttl\": %lu,\n",
	    MTASTSD_VERSION, side_name(p->side), p->ttl);
	if (zone_policy_host_unknown(p)) {
		buf_puts(b, "  \"policy_host\": null,\n  \"warnings\": [");
		json_str(b, ZONE_NO_HOST_TARGET, strlen(ZONE_NO_HOST_TARGET));
		buf_puts(b, "],\n");
	}
	buf_puts(b, "  \"domains\": [");
	for (size_t i = 0; i < n; i++) {
		char when[21];

		ids_iso8601(d[i].changed, when);
		buf_puts(b, i ? ",\n    {" : "\n    {");
		buf_puts(b, "\"name\": ");
		json_str(b, d[i].name, strlen(d[i].name));
		buf_printf(b, ", \"id\": \"%s\", \"changed\": \"%s\", \"fingerprint\": \"%s\", \"status\": \"%s\"",
		    d[i].id, when, d[i].fp ? d[i].fp : "", d[i].retiring ? "retiring" : "active");
		if (d[i].retiring) {
			char del[21];
			ids_iso8601(d[i].deletable_at, del);
			buf_printf(b, ", \"deletable_from\": \"%s\"", del);
		}
		if (rs[i].unfit != NULL) {
			buf_puts(b, ", \"error\": ");
			json_str(b, rs[i].unfit, strlen(rs[i].unfit));
		}
		buf_puts(b, ",\n     \"records\": [");
		for (size_t k = 0; k < rs[i].n; k++) {
			const struct record *r = &rs[i].r[k];
			buf_puts(b, k ? ",\n       {" : "\n       {");
			buf_puts(b, "\"name\": ");
			json_str(b, r->owner, strlen(r->owner));
			buf_printf(b, ", \"type\": \"%s\", \"ttl\": %lu, ", r->type == RT_TXT ? "TXT" : "CNAME", p->ttl);
			if (r->type == RT_TXT) {
				size_t len = strlen(r->data);
				buf_puts(b, "\"strings\": [");
				for (size_t off = 0; off < len || off == 0; off += TXT_CHUNK) {
					size_t end = off + TXT_CHUNK < len ? off + TXT_CHUNK : len;
					if (off > 0)
						buf_puts(b, ", ");
					json_str(b, r->data + off, end - off);
					if (len == 0)
						break;
				}
				buf_puts(b, "]}");
			} else {
				buf_puts(b, "\"target\": ");
				json_str(b, r->data, strlen(r->data));
				buf_puts(b, "}");
			}
		}
		buf_puts(b, rs[i].n ? "\n     ]}" : "]}");
	}
	buf_puts(b, n ? "\n  ],\n" : "],\n");
	buf_puts(b, "  \"expired\": [");
	for (size_t i = 0; i < p->n_expired; i++) {
		if (i > 0)
			buf_puts(b, ", ");
		json_str(b, p->expired[i], strlen(p->expired[i]));
	}
	buf_puts(b, "]\n}\n");
}

struct builds {
	const struct zone_params *p;
	const struct zone_domain *d;
	struct recset *rs;
	struct diag_list problems[POOL_SLICES];	/* slice K's, taken in order into p->problems */
};

/* pool_slice_fn: the record sets [FROM, TO) of the struct builds ARG; a name too long is a problem of slice K. */
static void
build_slice(void *arg, size_t k, size_t from, size_t to)
{
	struct builds *bs = arg;
	const struct zone_params *p = bs->p;
	char *why;

	for (size_t i = from; i < to; i++) {
		const struct zone_domain *d = &bs->d[i];

		build(p, d->name, d->id, d->rua, d->n_rua, d->delete_tlsrpt, &bs->rs[i]);
		if ((why = names_unfit(&bs->rs[i])) != NULL) {
			recset_unfit(&bs->rs[i], why);
			if (p->problems != NULL)
				diag_add(&bs->problems[k], DIAG_UNSERVED, d->line, d->col,
				    "domain '%s': its DNS records cannot be written: %s%s%s%s", d->name, why,
				    p->delegate_zone ? " (under dns.delegate_zone '" : "",
				    p->delegate_zone ? p->delegate_zone : "", p->delegate_zone ? "')" : "");
		}
	}
}

char *
zone_render(const struct zone_params *p, const struct zone_domain *domains, size_t n,
    enum zone_format format, char *err, size_t errlen)
{
	struct recset *rs = xcalloc(n, sizeof(*rs)), *ex = xcalloc(p->n_expired, sizeof(*ex));
	struct builds bs = { .p = p, .d = domains, .rs = rs };
	struct buf b = {0};
	size_t slices;
	char *why;

	(void)err;
	(void)errlen;
	for (size_t k = 0; k < POOL_SLICES; k++)
		diag_init(&bs.problems[k], p->problems ? p->problems->file : NULL);
	/* on several threads for a long zone */
	slices = pool_run_slices(n, build_slice, &bs);
	for (size_t k = 0; k < POOL_SLICES; k++) {
		if (p->problems != NULL && k < slices)
			diag_take(p->problems, &bs.problems[k]);
		diag_clear(&bs.problems[k]);
	}
	for (size_t i = 0; i < p->n_expired; i++) {
		build(p, p->expired[i], NULL, NULL, 0, p->expired_tlsrpt != NULL && p->expired_tlsrpt[i], &ex[i]);
		if ((why = names_unfit(&ex[i])) != NULL)
			recset_unfit(&ex[i], why);
	}
	switch (format) {
	case ZONE_BIND:
		render_bind(&b, p, domains, rs, n);
		break;
	case ZONE_NSUPDATE:
		render_nsupdate(&b, p, domains, rs, n, ex);
		break;
	case ZONE_JSON:
		render_json(&b, p, domains, rs, n);
		break;
	case ZONE_PROBLEMS:
		/* check: a million lines written only to be freed took a third of its DNS checks */
		break;
	}
	for (size_t i = 0; i < n; i++)
		recset_clear(&rs[i]);
	for (size_t i = 0; i < p->n_expired; i++)
		recset_clear(&ex[i]);
	free(rs);
	free(ex);
	if (b.data == NULL)
		buf_puts(&b, "");
	return b.data;
}

/* One domain's record lines in a zone written by zone_render. */
struct block {
	char *name;
	struct buf recs;
};

static int
cmp_block(const void *a, const void *b)
{
	return strcmp(((const struct block *)a)->name, ((const struct block *)b)->name);
}

/*
 * Split TEXT (bind format from zone_render, may be NULL) into per-domain
 * blocks: a comment "; NAME: ..." starts NAME's block and the record lines
 * after it belong to it. Returns the blocks sorted by name.
 */
static struct block *
zone_blocks(const char *text, size_t *n)
{
	struct block *b = NULL;
	size_t cap = 0;
	ssize_t cur = -1;

	*n = 0;
	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (len > 2 && p[0] == ';' && p[1] == ' ') {
			size_t k = 2;
			while (k < len && (p[k] == '.' || p[k] == '-' || (p[k] >= 'a' && p[k] <= 'z') ||
			    (p[k] >= '0' && p[k] <= '9')))
				k++;
			if (k > 2 && k + 1 < len && p[k] == ':' && p[k + 1] == ' ') {
				VEC_RESERVE(b, cap, *n + 1, 16);
				b[*n].name = xstrndup(p + 2, k - 2);
				memset(&b[*n].recs, 0, sizeof(b[*n].recs));
				cur = (ssize_t)(*n)++;
			}
		} else if (len > 0 && p[0] != ';' && cur >= 0) {
			buf_append(&b[cur].recs, p, len + (nl != NULL));
		}
		p = nl ? nl + 1 : NULL;
	}
	if (*n > 1)
		qsort(b, *n, sizeof(*b), cmp_block);
	return b;
}

static void
blocks_free(struct block *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(b[i].name);
		buf_clear(&b[i].recs);
	}
	free(b);
}

void
zone_changed_domains(const char *old, const char *new, struct buf *out)
{
	size_t na, nb, i = 0, j = 0;
	struct block *a = zone_blocks(old, &na), *b = zone_blocks(new, &nb);

	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(a[i].name, b[j].name);
		const char *x = c <= 0 && a[i].recs.data ? a[i].recs.data : "";
		const char *y = c >= 0 && b[j].recs.data ? b[j].recs.data : "";
		const char *name = c <= 0 ? a[i].name : b[j].name;

		if (strcmp(x, y) != 0)
			buf_printf(out, "%s%s", out->len ? " " : "", name);
		if (c <= 0)
			i++;
		if (c >= 0)
			j++;
	}
	blocks_free(a, na);
	blocks_free(b, nb);
}
