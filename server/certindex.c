/* SPDX-License-Identifier: MIT */
/* certindex: the SAN name index of a store, and the choice of the pair that serves a name at a given time. */
#include "certstore_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
certindex_add(struct certstore *cs, size_t idx)
{
	struct cert *c = cs->certs[idx];

	for (size_t i = 0; i < c->n_names; i++) {
		struct entry *e = hmap_get(&cs->index, c->names[i]);

		if (e == NULL) {
			e = xcalloc(1, sizeof(*e));
			e->first = (long)idx;
			e->n = 1;
			hmap_put(&cs->index, c->names[i], e);
			VEC_PUSH(cs->entry_list, cs->n_entries, cs->cap_entries, e);
			continue;
		}
		/* one name, several pairs: rare (a renewal beside the old one, EC and RSA), so grown one by one */
		e->more = xreallocarray(e->more, e->n, sizeof(*e->more));
		e->more[e->n++ - 1] = (long)idx;
	}
}


void
certindex_clear(struct certstore *cs)
{
	for (size_t i = 0; i < cs->n_entries; i++) {
		free(cs->entry_list[i]->more);
		free(cs->entry_list[i]);
	}
	free(cs->entry_list);
	cs->entry_list = NULL;
	cs->n_entries = cs->cap_entries = 0;
	hmap_clear(&cs->index);
}

/* RFC 5280 4.1.2.5: the validity period includes both of its ends. */
static bool
valid_at(const struct cert *c, time_t now)
{
	return c->not_before <= now && now <= c->not_after;
}

/*
 * Of the pairs under E whose key is KIND, that are valid at NOW and come
 * from ACME's folder or not as ACME says, the one expiring last (the first
 * found on a tie), or -1.
 */
static long
best_of(const struct certstore *cs, const struct entry *e, enum certstore_key kind, time_t now, bool acme)
{
	long best = -1;

	for (size_t i = 0; e != NULL && i < e->n; i++) {
		long at = i == 0 ? e->first : e->more[i - 1];
		const struct cert *c = cs->certs[at];

		/* a chain GnuTLS refused at its first handshake is passed over from then on */
		if (c->kind == kind && c->acme == acme && valid_at(c, now) && !atomic_load_explicit(&c->failed, memory_order_relaxed) &&
		    (best < 0 || c->not_after > cs->certs[best]->not_after))
			best = at;
	}
	return best;
}

/* The index entries for HOST itself and for the wildcard standing for its first label (either NULL). */
static void
entries(const struct certstore *cs, const char *host, const struct entry **exact, const struct entry **wild)
{
	const char *dot;
	char name[300];

	*exact = *wild = NULL;
	if (cs == NULL)
		return;
	*exact = hmap_get(&cs->index, host);
	/* a wildcard stands for exactly one label, and never for the whole name */
	if ((dot = strchr(host, '.')) != NULL && dot != host && strchr(dot + 1, '.') != NULL &&
	    (size_t)snprintf(name, sizeof(name), "*%s", dot) < sizeof(name))
		*wild = hmap_get(&cs->index, name);
}

/*
 * The choice itself, the one place it is made (handshakes, `check`, what a
 * snapshot counts as served): of the pairs valid at NOW, for HOST, in order
 * of preference: exact EC, exact RSA, wildcard EC, wildcard RSA, each the
 * one of its kind expiring last, from tls.certs, or only when tls.certs has
 * none, from ACME's folder. The handshake then takes the first its
 * client accepts.
 */
void
certindex_candidates(const struct certstore *cs, const char *host, time_t now, long out[4])
{
	const struct entry *exact, *wild;

	entries(cs, host, &exact, &wild);
	/* the operator's certificates first: ACME's serve a host only where none of them does */
	for (int acme = 0; acme < 2; acme++) {
		out[0] = best_of(cs, exact, CERTSTORE_KEY_EC, now, acme);
		out[1] = best_of(cs, exact, CERTSTORE_KEY_RSA, now, acme);
		out[2] = best_of(cs, wild, CERTSTORE_KEY_EC, now, acme);
		out[3] = best_of(cs, wild, CERTSTORE_KEY_RSA, now, acme);
		if (out[0] >= 0 || out[1] >= 0 || out[2] >= 0 || out[3] >= 0)
			return;
	}
}

long
certstore_lookup_at(const struct certstore *cs, const char *host, enum certstore_key want, time_t now)
{
	long cand[4];

	certindex_candidates(cs, host, now, cand);
	for (int i = 0; i < 4; i++)
		if (cand[i] >= 0 && (want == CERTSTORE_KEY_ANY || cs->certs[cand[i]]->kind == want))
			return cand[i];
	return -1;
}

long
certstore_lookup(const struct certstore *cs, const char *host, enum certstore_key want)
{
	return certstore_lookup_at(cs, host, want, time(NULL));
}

bool
certstore_covers(const struct certstore *cs, const char *host, time_t now)
{
	return certstore_lookup_at(cs, host, CERTSTORE_KEY_ANY, now) >= 0;
}

time_t
certstore_next_change(const struct certstore *cs, time_t now)
{
	time_t next = 0;

	for (size_t i = 0; cs != NULL && i < cs->n; i++) {
		const struct cert *c = cs->certs[i];
		/* a pair enters validity at not_before and leaves it the second after not_after */
		time_t t = c->not_before > now ? c->not_before : c->not_after >= now ? c->not_after + 1 : 0;

		if (t > 0 && (next == 0 || t < next))
			next = t;
	}
	return next;
}

void
certstore_explain(const struct certstore *cs, const char *dir, const char *host, time_t now, char *buf, size_t len)
{
	const struct entry *e[2];
	const struct cert *late = NULL;

	entries(cs, host, &e[0], &e[1]);
	/* of the pairs covering HOST at any time, the one expiring last says best why none serves now */
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; e[k] != NULL && i < e[k]->n; i++) {
			const struct cert *c = cs->certs[i == 0 ? e[k]->first : e[k]->more[i - 1]];

			if (late == NULL || c->not_after > late->not_after)
				late = c;
		}
	if (late == NULL) {
		snprintf(buf, len, "no certificate under '%s' covers '%s'", dir ? dir : "", host);
	} else {
		char when[32];
		bool early = late->not_before > now;

		certstore_utc_when(early ? late->not_before : late->not_after, when);
		if (early || late->not_after < now)
			snprintf(buf, len, "no certificate valid now covers '%s' ('%s' %s %s)", host, late->path,
			    early ? "is not valid before" : "expired on", when);
		else
			snprintf(buf, len, "no usable certificate covers '%s' ('%s' cannot be used)", host, late->path);
	}
}
