/* SPDX-License-Identifier: MIT */
/* acmegate: the DNS gate before an ACME order, which says whether a host's records let the CA reach this server. */
#include "acmegate.h"
#include "hmap.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gate_entry {
	char *host;		/* the map's key */
	char *reason;		/* NULL: it passed or was forgotten, as good as no entry */
};

struct acmegate {
	struct resolver *res;
	struct hmap hosts;	/* host -> struct gate_entry */
	struct gate_entry **v;	/* every entry, to free them */
	size_t n;
	size_t idle;		/* entries without a reason, dropped when they are half of them */
	int retry_absent, retry_failed;
};

static void
verdict(struct acmegate_verdict *v, enum acmegate_result r, const char *fmt, const char *a, const char *b)
{
	v->result = r;
	snprintf(v->reason, sizeof(v->reason), fmt, a, b);
}

/* The first failed answer of A and B, or NULL. */
static const struct resolve_answer *
failed(const struct resolve_answer *a, const struct resolve_answer *b)
{
	if (a != NULL && a->status == RESOLVE_FAILED)
		return a;
	if (b != NULL && b->status == RESOLVE_FAILED)
		return b;
	return NULL;
}

void
acmegate_judge(const char *host, const struct acmegate_lookups *l, const char *host_target,
    struct acmegate_verdict *v)
{
	const struct resolve_answer *a = l->a, *aaaa = l->aaaa, *f;
	const char *chain;
	bool nx;

	v->result = ACMEGATE_PASS;
	v->reason[0] = '\0';
	if (a->status != RESOLVE_EXISTS && aaaa->status != RESOLVE_EXISTS) {
		/* one family failing while the other says nothing leaves the answer open */
		if ((f = failed(a, aaaa)) != NULL) {
			verdict(v, ACMEGATE_RESOLVER_FAILED, "resolver failed: %s%s", f->error, "");
			return;
		}
		nx = a->status == RESOLVE_NXDOMAIN || aaaa->status == RESOLVE_NXDOMAIN;
		chain = a->canonical != NULL ? a->canonical : aaaa->canonical;
		if (chain != NULL)
			verdict(v, ACMEGATE_WAIT, "%s at the end of its CNAME chain (%s)", nx ? "NXDOMAIN" : "no A or AAAA record",
			    chain);
		else
			verdict(v, ACMEGATE_WAIT, "%s%s", nx ? "NXDOMAIN" : "no A or AAAA record", "");
		return;
	}
	/* the target itself (the provider's own policy host) cannot be a CNAME to itself */
	if (host_target == NULL || host_target[0] == '\0' || resolve_name_eq(host, host_target))
		return;
	if (l->cname == NULL || l->cname->status == RESOLVE_FAILED) {
		verdict(v, ACMEGATE_RESOLVER_FAILED, "resolver failed: %s (CNAME)%s",
		    l->cname != NULL ? l->cname->error : "not looked up", "");
		return;
	}
	if (l->cname->status == RESOLVE_EXISTS && l->cname->n > 0) {
		/* its own CNAME, or the end of the chain (through a name of the customer's) */
		if (resolve_name_eq(l->cname->values[0], host_target) ||
		    (a->canonical != NULL && resolve_name_eq(a->canonical, host_target)) ||
		    (aaaa->canonical != NULL && resolve_name_eq(aaaa->canonical, host_target)))
			return;
		verdict(v, ACMEGATE_WAIT, "is a CNAME to %s, not to %s", l->cname->values[0], host_target);
		return;
	}
	verdict(v, ACMEGATE_WAIT, "has an address record, not a CNAME to %s%s", host_target, "");
}

/* The issuer domain name of an issue VALUE (RFC 8659 section 4.2): up to ';', spaces trimmed, into BUF. */
static const char *
issuer(const char *value, char *buf, size_t len)
{
	size_t n;

	while (*value == ' ' || *value == '\t')
		value++;
	n = strcspn(value, ";");
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	snprintf(buf, len, "%.*s", (int)n, value);
	return buf;
}

static bool
known_tag(const char *tag)
{
	return strcmp(tag, "issue") == 0 || strcmp(tag, "issuewild") == 0 || strcmp(tag, "iodef") == 0;
}

bool
acmegate_caa_judge(const char *const *names, const struct resolve_answer *sets, size_t nsets,
    const char *const *ids, size_t nids, char *warn, size_t len)
{
	const struct resolve_answer *set = NULL;
	const char *at = NULL;
	struct buf allowed = { 0 };
	bool any_issue = false, ok = false;
	char b[256];

	warn[0] = '\0';
	if (nids == 0)
		return false;
	for (size_t i = 0; i < nsets && set == NULL; i++) {
		if (sets[i].status == RESOLVE_FAILED)
			return false;
		if (sets[i].status == RESOLVE_EXISTS && sets[i].n > 0) {
			set = &sets[i];
			at = names[i];
		}
	}
	if (set == NULL)
		return false;
	for (size_t i = 0; i < set->n; i++) {
		const struct resolve_caa *c = &set->caa[i];

		if ((c->flags & 128) && !known_tag(c->tag)) {
			snprintf(warn, len, "CAA at %s has a critical property '%s' the CA may not know: it may refuse", at,
			    c->tag);
			buf_clear(&allowed);
			return true;
		}
		if (strcmp(c->tag, "issue") != 0)
			continue;
		any_issue = true;
		issuer(c->value, b, sizeof(b));
		if (b[0] != '\0')
			buf_printf(&allowed, "%s%s", allowed.len > 0 ? ", " : "", b);
		for (size_t k = 0; k < nids && b[0] != '\0'; k++)
			ok = ok || resolve_name_eq(b, ids[k]);
	}
	if (any_issue && !ok) {
		struct buf mine = { 0 };

		for (size_t k = 0; k < nids; k++)
			buf_printf(&mine, "%s%s", k > 0 ? ", " : "", ids[k]);
		snprintf(warn, len, "CAA at %s allows %s, not this CA (%s): it will refuse", at,
		    allowed.len > 0 ? allowed.data : "no CA", mine.data);
		buf_clear(&mine);
	}
	buf_clear(&allowed);
	return warn[0] != '\0';
}

bool
acmegate_caa(struct acmegate *g, const char *host, const char *const *ids, size_t nids, char *warn, size_t len)
{
	struct resolve_query q[ACMEGATE_CAA_LEVELS];
	const char *names[ACMEGATE_CAA_LEVELS];
	struct resolve_answer sets[ACMEGATE_CAA_LEVELS];
	size_t n = 0;
	bool forbids;

	warn[0] = '\0';
	if (nids == 0)
		return false;
	/* HOST, then each parent but the root: all asked at once */
	for (const char *p = host; p != NULL && *p != '\0' && n < ACMEGATE_CAA_LEVELS; n++) {
		q[n] = (struct resolve_query){ .name = p, .type = RESOLVE_CAA };
		names[n] = p;
		p = strchr(p, '.');
		p = p != NULL ? p + 1 : NULL;
	}
	resolve_run(g->res, q, n, ACMEGATE_TIMEOUT_MS);
	for (size_t i = 0; i < n; i++)
		sets[i] = q[i].answer;
	forbids = acmegate_caa_judge(names, sets, n, ids, nids, warn, len);
	for (size_t i = 0; i < n; i++)
		resolve_answer_clear(&sets[i]);
	return forbids;
}

struct acmegate *
acmegate_new(char *err, size_t errlen)
{
	struct acmegate *g;
	struct resolver *r = resolver_new("/etc/resolv.conf", "/etc/hosts", err, errlen);
	const char *hook = getenv("MTASTSD_TEST_DNS_RETRY");

	if (r == NULL)
		return NULL;
	g = xcalloc(1, sizeof(*g));
	g->res = r;
	g->retry_absent = ACMEGATE_RETRY_ABSENT;
	g->retry_failed = ACMEGATE_RETRY_FAILED;
	if (hook != NULL && hook[0] != '\0') {
		char *end;
		long s = strtol(hook, &end, 10);

		/* tests only: a whole number of seconds, 1..ACMEGATE_RETRY_ABSENT; anything else is ignored */
		if (*end == '\0' && s >= 1 && s <= ACMEGATE_RETRY_ABSENT) {
			g->retry_absent = (int)s;
			g->retry_failed = s >= 5 ? (int)s / 5 : 1;
		}
	}
	return g;
}

static void
entry_free(struct gate_entry *e)
{
	free(e->host);
	free(e->reason);
	free(e);
}

/* Mark E idle (no reason); once half the entries are, drop them: the map has no removal, so it is built anew. */
static void
idle(struct acmegate *g, struct gate_entry *e)
{
	size_t w = 0;

	if (e->reason == NULL)
		return;
	free(e->reason);
	e->reason = NULL;
	if (++g->idle * 2 <= g->n)
		return;
	hmap_clear(&g->hosts);
	hmap_reserve(&g->hosts, g->n - g->idle);
	for (size_t i = 0; i < g->n; i++) {
		if (g->v[i]->reason == NULL) {
			entry_free(g->v[i]);
			continue;
		}
		hmap_put(&g->hosts, g->v[i]->host, g->v[i]);
		g->v[w++] = g->v[i];
	}
	g->n = w;
	g->idle = 0;
}

void
acmegate_free(struct acmegate *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n; i++)
		entry_free(g->v[i]);
	free(g->v);
	hmap_clear(&g->hosts);
	resolver_free(g->res);
	free(g);
}

int
acmegate_check(struct acmegate *g, const char *host, const char *host_target, struct acmegate_verdict *v,
    bool *changed)
{
	bool target = host_target != NULL && host_target[0] != '\0';
	struct resolve_query q[3] = {
		{ .name = host, .type = RESOLVE_A },
		{ .name = host, .type = RESOLVE_AAAA },
		{ .name = host, .type = RESOLVE_CNAME },
	};
	struct acmegate_lookups l = { &q[0].answer, &q[1].answer, target ? &q[2].answer : NULL };
	struct gate_entry *e;

	resolve_run(g->res, q, target ? 3 : 2, ACMEGATE_TIMEOUT_MS);
	acmegate_judge(host, &l, host_target, v);
	for (size_t i = 0; i < (target ? 3u : 2u); i++)
		resolve_answer_clear(&q[i].answer);

	e = hmap_get(&g->hosts, host);
	if (v->result == ACMEGATE_PASS) {
		*changed = e != NULL && e->reason != NULL;
		if (e != NULL)
			idle(g, e);
		return 0;
	}
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		e->host = xstrdup(host);
		hmap_put(&g->hosts, e->host, e);
		g->v = xreallocarray(g->v, g->n + 1, sizeof(*g->v));
		g->v[g->n++] = e;
	} else if (e->reason == NULL)
		g->idle--;	/* waits again */
	*changed = e->reason == NULL || strcmp(e->reason, v->reason) != 0;
	if (*changed) {
		free(e->reason);
		e->reason = xstrdup(v->reason);
	}
	return v->result == ACMEGATE_RESOLVER_FAILED ? g->retry_failed : g->retry_absent;
}

const char *
acmegate_reason(const struct acmegate *g, const char *host)
{
	const struct gate_entry *e = hmap_get(&g->hosts, host);

	return e != NULL ? e->reason : NULL;
}

void
acmegate_forget(struct acmegate *g, const char *host)
{
	struct gate_entry *e = hmap_get(&g->hosts, host);

	if (e != NULL)
		idle(g, e);
}

size_t
acmegate_size(const struct acmegate *g)
{
	return g->n;
}
