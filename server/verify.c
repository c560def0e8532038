/* SPDX-License-Identifier: MIT */
/* verify: which policies `mtastsd verify` checks and how a fetched answer is judged against them (pure). */
#include "verify.h"

#include "policy.h"
#include "util.h"
#include "vec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void
add_target(struct verify_targets *v, const struct config_domain *d, bool retiring)
{
	struct verify_target *t;

	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->t[i].domain, d->name) == 0)
			return;	/* a name listed twice is checked once */
	VEC_RESERVE(v->t, v->cap, v->n + 1, 16);
	t = &v->t[v->n++];
	t->domain = xstrdup(d->name);
	t->body = policy_render(d, &t->len);
	t->retiring = retiring;
}

/* The retiring policy of the state entry E, as `serve` renders it. */
static void
add_retiring(struct verify_targets *v, const struct ids_domain *e)
{
	struct config_domain none;

	ids_retiring_policy(e, &none);
	add_target(v, &none, true);
	domain_clear(&none);
}

static int
by_domain(const void *a, const void *b)
{
	return strcmp(((const struct verify_target *)a)->domain, ((const struct verify_target *)b)->domain);
}

int
verify_targets(const struct domset *ds, const struct ids_state *old, int64_t now,
    enum verify_select sel, char *const *names, size_t n, struct verify_targets *out,
    char *err, size_t errlen)
{
	struct ids_state st;
	struct ids_changes ch;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	/* what the next `dns` run will record, never written: verify only reads the state */
	if (ids_assign(old, ds->v, ds->n, now, &st, &ch) < 0) {
		snprintf(err, errlen, "the clock is past the last id a date can express (year 9999)");
		return -1;
	}

	switch (sel) {
	case VERIFY_CHANGED:
		for (size_t i = 0; i < ch.n; i++) {
			const struct config_domain *d = domset_find(ds, ch.c[i].name);
			const struct ids_domain *e = ids_find(&st, ch.c[i].name);

			if ((ch.c[i].kind == IDS_ADDED || ch.c[i].kind == IDS_CHANGED) && d != NULL)
				add_target(out, d, false);
			else if (ch.c[i].kind == IDS_RETIRED && e != NULL && e->retiring)
				add_retiring(out, e);
			/* IDS_RUA changes no policy; IDS_EXPIRED is no longer served */
		}
		break;
	case VERIFY_ALL:
		for (size_t i = 0; i < ds->n; i++)
			add_target(out, ds->v[i], false);
		for (size_t i = 0; i < st.n; i++)
			if (st.d[i].retiring)
				add_retiring(out, &st.d[i]);
		break;
	case VERIFY_LISTED:
		for (size_t i = 0; i < n; i++) {
			const struct config_domain *d = domset_find(ds, names[i]);
			const struct ids_domain *e = ids_find(&st, names[i]);

			if (d != NULL)
				add_target(out, d, false);
			else if (e != NULL && e->retiring)
				add_retiring(out, e);
			else {
				snprintf(err, errlen, "unknown domain '%s': neither configured nor retiring", names[i]);
				verify_targets_clear(out);
				goto done;
			}
		}
		break;
	}
	if (out->n > 1)
		qsort(out->t, out->n, sizeof(*out->t), by_domain);
	rc = 0;
done:
	ids_state_clear(&st);
	ids_changes_clear(&ch);
	return rc;
}

void
verify_targets_clear(struct verify_targets *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++) {
		free(v->t[i].domain);
		free(v->t[i].body);
	}
	free(v->t);
	memset(v, 0, sizeof(*v));
}

/* LINE (LEN bytes, its CRLF or LF not included) quoted into OUT, non-printable bytes as \xHH. */
static void
quote_line(const char *line, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen == 0)
		return;
	for (size_t i = 0; i < len && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

/* The line of S (LEN bytes) that starts at *POS, with its end kept; advances *POS. */
static size_t
next_line(const char *s, size_t len, size_t *pos)
{
	size_t start = *pos;
	const char *nl = memchr(s + start, '\n', len - start);
	size_t end = nl != NULL ? (size_t)(nl - s) + 1 : len;

	*pos = end;
	return end - start;
}

/* Length of LINE (LEN bytes) without its CRLF or LF. */
static size_t
content_len(const char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	return len;
}

static const char *
line_end(const char *line, size_t len)
{
	if (len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n')
		return "CRLF";
	if (len >= 1 && line[len - 1] == '\n')
		return "LF";
	return "nothing (the body stops)";
}

bool
verify_answer(long status, const char *ctype, const char *body, size_t blen,
    const char *want, size_t wlen, char *why, size_t whylen)
{
	char got_q[160], want_q[160];
	size_t bpos = 0, wpos = 0, tl;

	if (status != 200) {
		snprintf(why, whylen, "status %ld, expected 200", status);
		return false;
	}
	tl = strlen("text/plain");
	if (ctype == NULL || strncasecmp(ctype, "text/plain", tl) != 0 ||
	    (ctype[tl] != '\0' && ctype[tl] != ';' && ctype[tl] != ' ')) {
		quote_line(ctype != NULL ? ctype : "", ctype != NULL ? strlen(ctype) : 0, got_q, sizeof(got_q));
		snprintf(why, whylen, "content type '%s', expected text/plain", got_q);
		return false;
	}
	if (blen == wlen && memcmp(body, want, wlen) == 0)
		return true;
	/* the first line that differs, ends of line included: CRLF against LF counts */
	for (unsigned line = 1;; line++) {
		size_t bs = bpos, ws = wpos;
		size_t bl = bpos < blen ? next_line(body, blen, &bpos) : 0;
		size_t wl = wpos < wlen ? next_line(want, wlen, &wpos) : 0;

		size_t bc, wc;

		if (bl == wl && memcmp(body + bs, want + ws, bl) == 0)
			continue;
		/* the lines without their CRLF or LF, which are compared apart */
		bc = content_len(body + bs, bl);
		wc = content_len(want + ws, wl);
		quote_line(body + bs, bc, got_q, sizeof(got_q));
		quote_line(want + ws, wc, want_q, sizeof(want_q));
		if (bl != 0 && wl != 0 && bc == wc && memcmp(body + bs, want + ws, bc) == 0)
			snprintf(why, whylen, "line %u ends in %s, expected %s", line, line_end(body + bs, bl),
			    line_end(want + ws, wl));
		else if (bl == 0)
			snprintf(why, whylen, "the served policy ends before line %u, expected '%s'", line, want_q);
		else if (wl == 0)
			snprintf(why, whylen, "the served policy has an extra line %u '%s'", line, got_q);
		else
			snprintf(why, whylen, "line %u is '%s', expected '%s'", line, got_q, want_q);
		return false;
	}
}

int
verify_parse_hostport(const char *s, unsigned defport, char *host, size_t hostlen, unsigned *port)
{
	const char *h = s, *colon;
	size_t hl;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':'))
			return -1;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon)
			return -1;	/* an IPv6 address needs brackets to carry a port */
		hl = colon != NULL ? (size_t)(colon - s) : strlen(s);
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = defport;
	if (colon != NULL) {
		char *end;
		unsigned long p;

		if (!isdigit((unsigned char)colon[1]))
			return -1;
		p = strtoul(colon + 1, &end, 10);
		if (*end != '\0' || p == 0 || p > 65535)
			return -1;
		*port = (unsigned)p;
	}
	return 0;
}
