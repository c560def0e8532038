/* SPDX-License-Identifier: MIT */
/* ids: pure assignment of date-based `_mta-sts` ids from the previous state, the configured domains and a clock. */
#include "ids.h"
#include "policy.h"
#include "digest.h"
#include "pool.h"
#include "util.h"
#include "vec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

struct tparts {
	int64_t year;
	unsigned mon, day, hour, min, sec;
};

static void
split_time(int64_t t, struct tparts *p)
{
	int64_t days = t / 86400, rem = t % 86400;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &p->year, &p->mon, &p->day);
	p->hour = (unsigned)(rem / 3600);
	p->min = (unsigned)(rem / 60 % 60);
	p->sec = (unsigned)(rem % 60);
}

int
ids_format(int64_t t, char out[IDS_ID_LEN + 1])
{
	struct tparts p;

	if (t < 0 || t > IDS_TIME_MAX)
		return -1;
	split_time(t, &p);
	snprintf(out, IDS_ID_LEN + 1, "%04u%02u%02u%02u%02u%02u", (unsigned)p.year, p.mon, p.day,
	    p.hour, p.min, p.sec);
	return 0;
}

void
ids_iso8601(int64_t t, char out[21])
{
	struct tparts p;

	if (t < 0)
		t = 0;
	if (t > IDS_TIME_MAX)
		t = IDS_TIME_MAX;
	split_time(t, &p);
	snprintf(out, 21, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)p.year, p.mon, p.day, p.hour,
	    p.min, p.sec);
}

int
ids_parse(const char *id, int64_t *t)
{
	int y;

	if (strlen(id) != IDS_ID_LEN || (y = str_digits(id, 4)) < 1970)
		return -1;
	return utc_from_mdhms(y, id + 4, t);
}

int
ids_now(int64_t *now, char *err, size_t errlen)
{
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	char *end;
	unsigned long long v;

	if (sde == NULL || sde[0] == '\0') {
		*now = (int64_t)time(NULL);
		return 0;
	}
	/* reproducible-builds.org: a malformed value is an error, never ignored */
	if (sde[0] < '0' || sde[0] > '9') {
		snprintf(err, errlen, "SOURCE_DATE_EPOCH '%s' is not a decimal number of seconds", sde);
		return -1;
	}
	errno = 0;
	v = strtoull(sde, &end, 10);
	if (errno != 0 || *end != '\0' || v > (unsigned long long)IDS_TIME_MAX) {
		snprintf(err, errlen, "SOURCE_DATE_EPOCH '%s' is not a decimal number of seconds up to year 9999", sde);
		return -1;
	}
	*now = (int64_t)v;
	return 0;
}

int
ids_check_clock(int64_t now, int64_t real, const struct ids_changes *ch, char *err, size_t errlen)
{
	char when[21], sys[21];
	size_t n = 0;

	if (now <= real + IDS_CLOCK_AHEAD_MAX)
		return 0;
	for (size_t i = 0; ch != NULL && i < ch->n; i++)
		if (ch->c[i].kind == IDS_ADDED || ch->c[i].kind == IDS_CHANGED || ch->c[i].kind == IDS_RETIRED)
			n++;
	if (n == 0)
		return 0;
	ids_iso8601(now, when);
	ids_iso8601(real, sys);
	snprintf(err, errlen, "the clock (%s%s) is more than a day ahead of the system clock (%s): refusing to write "
	    "%zu new id%s from it, which would stay ahead of every later one (at year 9999 no change could be "
	    "published); unset SOURCE_DATE_EPOCH or fix the clock", when,
	    getenv("SOURCE_DATE_EPOCH") && getenv("SOURCE_DATE_EPOCH")[0] ? ", SOURCE_DATE_EPOCH" : "", sys, n,
	    n == 1 ? "" : "s");
	return -1;
}

void
ids_rua_hash(const struct config_domain *d, char out[17])
{
	struct buf b = {0};
	char hex[65];

	if (strlist_len(d->tlsrpt) == 0) {
		strcpy(out, "-");
		return;
	}
	for (size_t i = 0; i < strlist_len(d->tlsrpt); i++)
		buf_printf(&b, "%s\n", d->tlsrpt->v[i]);
	digest_sha256_hex(b.data, b.len, hex);
	memcpy(out, hex, 16);
	out[16] = '\0';
	buf_clear(&b);
}

void
ids_retiring_policy(const struct ids_domain *e, struct config_domain *out)
{
	domain_init(out);
	out->name = xstrdup(e->name);
	out->mode = POLICY_MODE_NONE;
	out->max_age = e->max_age < IDS_RETIRE_MAX_AGE && e->max_age > 0 ? e->max_age : IDS_RETIRE_MAX_AGE;
}

int64_t
ids_deletable_at(const struct ids_domain *e)
{
	int64_t t = 0;

	if (ids_parse(e->id, &t) < 0)
		return IDS_TIME_MAX;
	return t + (int64_t)e->max_age;
}

int64_t
ids_forget_at(const struct ids_domain *e)
{
	int64_t t = ids_deletable_at(e);

	return t > IDS_TIME_MAX - IDS_EXPIRED_GRACE ? IDS_TIME_MAX : t + IDS_EXPIRED_GRACE;
}

bool
ids_tlsrpt_to_delete(const struct ids_domain *e, int64_t now)
{
	int64_t t;

	if (e->tlsrpt_del[0] == '\0' || ids_parse(e->tlsrpt_del, &t) < 0)
		return false;
	return e->expired || now < t + IDS_EXPIRED_GRACE;
}

/* A TLSRPT record of OLD (rua hash, or "-"/"" when none or unknown) withdrawn at NOW: remember it in E. */
static void
tlsrpt_withdrawn(const struct ids_domain *old, int64_t now, struct ids_domain *e)
{
	if (old->rua[0] != '\0' && strcmp(old->rua, "-") != 0 && ids_format(now, e->tlsrpt_del) < 0)
		e->tlsrpt_del[0] = '\0';
}

const struct ids_domain *
ids_find(const struct ids_state *s, const char *name)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, s->d[mid].name);
		if (c == 0)
			return &s->d[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *
ids_change_name(enum ids_change_kind kind)
{
	switch (kind) {
	case IDS_ADDED: return "added";
	case IDS_CHANGED: return "changed";
	case IDS_RUA: return "tlsrpt";
	case IDS_RETIRED: return "retired";
	case IDS_EXPIRED: return "expired";
	}
	return "?";
}

static int
cmp_domain_ptr(const void *a, const void *b)
{
	const struct config_domain *x = *(const struct config_domain *const *)a;
	const struct config_domain *y = *(const struct config_domain *const *)b;
	return strcmp(x->name, y->name);
}

/* The id for a change at NOW of a domain whose previous id is PREV (NULL for none). */
static int
next_id(const char *prev, int64_t now, char out[IDS_ID_LEN + 1])
{
	int64_t t = now, last;

	if (prev != NULL && ids_parse(prev, &last) == 0 && t <= last)
		t = last + 1;
	return ids_format(t, out);
}

static void
push_change(struct ids_changes *c, size_t *cap, const char *name, enum ids_change_kind kind)
{
	if (c == NULL)
		return;
	VEC_RESERVE(c->c, *cap, c->n + 1, 16);
	c->c[c->n].name = xstrdup(name);
	c->c[c->n].kind = kind;
	c->n++;
}

/* Entry for a configured domain D, given its previous entry OLD (NULL when new). */
static int
assign_active(const struct config_domain *d, const struct ids_domain *old, int64_t now,
    struct ids_domain *e, enum ids_change_kind *kind, bool *changed)
{
	e->name = xstrdup(d->name);
	policy_fingerprint(d, e->fp);
	ids_rua_hash(d, e->rua);
	e->max_age = d->max_age;
	*changed = false;
	if (old == NULL) {
		*kind = IDS_ADDED;
		*changed = true;
		return next_id(NULL, now, e->id);
	}
	if (old->max_age > e->max_age)
		e->max_age = old->max_age;
	/* a withdrawn TLSRPT record is owed a delete for a while; a new rua list replaces it anyway */
	if (strcmp(e->rua, "-") == 0) {
		memcpy(e->tlsrpt_del, old->tlsrpt_del, sizeof(e->tlsrpt_del));
		tlsrpt_withdrawn(old, now, e);
		if (!ids_tlsrpt_to_delete(e, now))
			e->tlsrpt_del[0] = '\0';
	}
	if (strcmp(old->fp, e->fp) != 0) {
		*kind = IDS_CHANGED;
		*changed = true;
		return next_id(old->id, now, e->id);
	}
	memcpy(e->id, old->id, sizeof(e->id));
	/* an unknown rua hash (upgraded state) is learnt silently */
	if (old->rua[0] != '\0' && strcmp(old->rua, e->rua) != 0) {
		*kind = IDS_RUA;
		*changed = true;
	}
	return 0;
}

bool
ids_retiring_at(const struct ids_domain *old, int64_t now)
{
	/* the cases of assign_retiring: expired stays over, retiring lasts until deletable, active starts now */
	if (old->expired)
		return false;
	if (old->retiring)
		return now < ids_deletable_at(old);
	return true;
}

/* Entry for OLD, a domain no longer configured. Returns 1 when it is dropped. */
static int
assign_retiring(const struct ids_domain *old, int64_t now, struct ids_domain *e,
    enum ids_change_kind *kind, bool *changed)
{
	struct config_domain none;

	*changed = false;
	if (old->expired) {
		/* the grace period in which every output still asks for the deletion */
		if (now >= ids_forget_at(old))
			return 1;
		*e = *old;
		e->name = xstrdup(old->name);
		return 0;
	}
	if (old->retiring) {
		*e = *old;
		e->name = xstrdup(old->name);
		if (now >= ids_deletable_at(old)) {
			e->retiring = false;
			e->expired = true;
			*kind = IDS_EXPIRED;
			*changed = true;
		}
		return 0;
	}
	*e = *old;
	e->name = xstrdup(old->name);
	e->retiring = true;
	tlsrpt_withdrawn(old, now, e);
	strcpy(e->rua, "-");
	ids_retiring_policy(old, &none);
	policy_fingerprint(&none, e->fp);
	domain_clear(&none);
	*kind = IDS_RETIRED;
	*changed = true;
	return next_id(old->id, now, e->id);
}

/* One entry of the new state: the configured domain, the previous entry (either may be NULL), and its outcome. */
struct slot {
	const struct config_domain *d;
	const struct ids_domain *old;
	enum ids_change_kind kind;
	bool changed;
	int rc;		/* assign_*'s: 0 kept, 1 dropped, -1 failed */
};

struct assign {
	struct slot *slots;
	struct ids_domain *e;	/* entry I is slot I's */
	size_t n;
	int64_t now;
};

/* pool_slice_fn: the entries [FROM, TO) of the struct assign ARG, each from its slot alone. */
static void
assign_slice(void *arg, size_t k, size_t from, size_t to)
{
	struct assign *a = arg;

	(void)k;
	for (size_t i = from; i < to; i++) {
		struct slot *sl = &a->slots[i];

		sl->rc = sl->d != NULL ? assign_active(sl->d, sl->old, a->now, &a->e[i], &sl->kind, &sl->changed) :
		    assign_retiring(sl->old, a->now, &a->e[i], &sl->kind, &sl->changed);
	}
}

int
ids_assign(const struct ids_state *old, const struct config_domain *const *domains, size_t n,
    int64_t now, struct ids_state *out, struct ids_changes *changes)
{
	const struct config_domain **sorted = xcalloc(n + 1, sizeof(*sorted));
	struct assign a = { .now = now };
	size_t i = 0, j = 0, ccap = 0;
	static const struct ids_state empty;

	if (old == NULL)
		old = &empty;
	memset(out, 0, sizeof(*out));
	if (changes != NULL)
		memset(changes, 0, sizeof(*changes));
	memcpy(sorted, domains, n * sizeof(*sorted));
	pool_sort(sorted, n, sizeof(*sorted), cmp_domain_ptr, n >= POOL_SLICE_MIN ? pool_threads(4) : 1);

	/* the merge of the two name-sorted lists: which entries the new state has, in order */
	a.slots = xcalloc(n + old->n + 1, sizeof(*a.slots));
	while (i < n || j < old->n) {
		int c = i == n ? 1 : j == old->n ? -1 : strcmp(sorted[i]->name, old->d[j].name);
		struct slot *sl = &a.slots[a.n++];

		if (c <= 0)
			sl->d = sorted[i++];
		if (c >= 0)
			sl->old = &old->d[j++];
	}
	free(sorted);
	/* each entry depends on its slot alone: fingerprints and ids on several threads for a long list */
	a.e = xcalloc(a.n + 1, sizeof(*a.e));
	pool_run_slices(a.n, assign_slice, &a);

	/* then in order: the changes listed, the dropped entries left out; one failure fails the whole */
	for (size_t k = 0; k < a.n; k++)
		if (a.slots[k].rc < 0)
			goto fail;
	out->d = a.e;
	for (size_t k = 0; k < a.n; k++) {
		const struct slot *sl = &a.slots[k];

		if (sl->changed)
			push_change(changes, &ccap, a.e[k].name ? a.e[k].name : sl->old->name, sl->kind);
		/* in place: out->n <= k */
		if (sl->rc == 0)
			out->d[out->n++] = a.e[k];
	}
	free(a.slots);
	return 0;
fail:
	for (size_t k = 0; k < a.n; k++)
		free(a.e[k].name);
	free(a.e);
	free(a.slots);
	return -1;
}

void
ids_state_clear(struct ids_state *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->d[i].name);
	free(s->d);
	s->d = NULL;
	s->n = 0;
}

bool
ids_state_equal(const struct ids_state *a, const struct ids_state *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct ids_domain *x = &a->d[i], *y = &b->d[i];

		if (strcmp(x->name, y->name) != 0 || strcmp(x->id, y->id) != 0 || strcmp(x->fp, y->fp) != 0 ||
		    x->max_age != y->max_age || strcmp(x->rua, y->rua) != 0 || strcmp(x->tlsrpt_del, y->tlsrpt_del) != 0 ||
		    x->retiring != y->retiring || x->expired != y->expired)
			return false;
	}
	return true;
}

void
ids_changes_clear(struct ids_changes *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n; i++)
		free(c->c[i].name);
	free(c->c);
	c->c = NULL;
	c->n = 0;
}

/* A state entry not configured in DS whose retirement lasts at NOW. */
static bool
still_retiring(const struct ids_domain *e, const struct domset *ds, int64_t now)
{
	return domset_find(ds, e->name) == NULL && ids_retiring_at(e, now);
}

/* ids_retiring's look: slice K of ST's entries, the indices of those still retiring into S[K]. */
struct look {
	const struct ids_state *st;
	const struct domset *ds;
	int64_t now;
	struct {
		size_t *idx, n, cap;
	} s[POOL_SLICES];
};

static void
look_slice(void *arg, size_t k, size_t from, size_t to)
{
	struct look *l = arg;

	for (size_t i = from; i < to; i++)
		if (still_retiring(&l->st->d[i], l->ds, l->now))
			VEC_PUSH(l->s[k].idx, l->s[k].n, l->s[k].cap, i);
}

size_t
ids_retiring(const struct ids_state *st, const struct domset *ds, int64_t now, struct config_domain **out)
{
	struct look l = { .st = st, .ds = ds, .now = now };
	size_t n = 0, at = 0, slices;

	/* only the entries no longer configured matter: no ids are assigned for the others; one look each */
	slices = pool_run_slices(st->n, look_slice, &l);
	for (size_t k = 0; k < slices; k++)
		n += l.s[k].n;
	*out = xcalloc(n + 1, sizeof(**out));
	for (size_t k = 0; k < slices; k++) {
		for (size_t i = 0; i < l.s[k].n; i++)
			ids_retiring_policy(&st->d[l.s[k].idx[i]], &(*out)[at++]);
		free(l.s[k].idx);
	}
	return n;
}

size_t
ids_flagged(const struct ids_state *st, size_t **out)
{
	size_t n = 0;

	*out = xcalloc(st->n + 1, sizeof(**out));
	for (size_t i = 0; i < st->n; i++)
		if (st->d[i].retiring || st->d[i].expired)
			(*out)[n++] = i;
	return n;
}

/* What ids_retiring_since gathers: indices into ST of the entries that retire. */
struct since {
	const struct ids_state *st;
	const struct domset *ds;
	int64_t now;
	size_t *idx, n, cap;
};

/* domset_diff's FN: a domain PREV held and DS does not (CAME false). */
static void
gone(const struct config_domain *d, struct site *site, bool came, void *arg)
{
	struct since *s = arg;
	const struct ids_domain *e;
	size_t i;

	(void)site;
	/* the flagged ones are looked at already; a name in no file now is in neither set */
	if (came || (e = ids_find(s->st, d->name)) == NULL || e->retiring || e->expired ||
	    !still_retiring(e, s->ds, s->now))
		return;
	i = (size_t)(e - s->st->d);
	VEC_PUSH(s->idx, s->n, s->cap, i);
}

static int
by_index(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

size_t
ids_retiring_since(const struct ids_state *st, const size_t *flagged, size_t n, const struct domset *prev,
    const struct domset *ds, int64_t now, struct config_domain **out)
{
	struct since s = { .st = st, .ds = ds, .now = now };
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (still_retiring(&st->d[flagged[i]], ds, now))
			VEC_PUSH(s.idx, s.n, s.cap, flagged[i]);
	domset_diff(prev, ds, gone, &s);
	/* ST's order, as ids_retiring gives them; a name two removed versions held is there once */
	if (s.n > 0)
		qsort(s.idx, s.n, sizeof(*s.idx), by_index);
	*out = xcalloc(s.n + 1, sizeof(**out));
	for (size_t i = 0; i < s.n; i++)
		if (i == 0 || s.idx[i] != s.idx[i - 1])
			ids_retiring_policy(&st->d[s.idx[i]], &(*out)[k++]);
	free(s.idx);
	return k;
}

void
ids_retiring_free(struct config_domain *d, size_t n)
{
	for (size_t i = 0; i < n && d != NULL; i++)
		domain_clear(&d[i]);
	free(d);
}
