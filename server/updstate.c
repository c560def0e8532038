/* SPDX-License-Identifier: MIT */
/* updstate: what RFC 2136 publishing remembers per domain (STATE.update): last result, records applied, backoff. */
#include "updstate.h"
#include "dnsstate.h"
#include "digest.h"
#include "util.h"
#include "vec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct updstate_entry *)a)->name, ((const struct updstate_entry *)b)->name);
}

static bool
is_hash(const char *s)
{
	if (strcmp(s, "-") == 0)
		return true;
	if (strlen(s) != UPDSTATE_HASH_LEN)
		return false;
	for (size_t i = 0; i < UPDSTATE_HASH_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool
parse_i64(const char *s, int64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = (int64_t)strtoll(s, &end, 10);
	return errno == 0 && *end == '\0';
}

/* One "domain ..." line (tokens after the keyword, modified in place). */
static int
parse_domain(char *rest, struct updstate_entry *e, char *err, size_t errlen)
{
	char *save = NULL, *name = strtok_r(rest, " ", &save);
	unsigned seen = 0;

	memset(e, 0, sizeof(*e));
	if (name == NULL) {
		snprintf(err, errlen, "a domain line without a name");
		return -1;
	}
	e->name = xstrdup(name);
	strcpy(e->sent, "-");
	strcpy(e->tried, "-");
	for (char *t = strtok_r(NULL, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
		char *v = strchr(t, '=');
		int64_t x;

		if (v == NULL)
			goto bad;
		*v++ = '\0';
		if (strcmp(t, "zone") == 0) {
			free(e->zone);
			e->zone = strcmp(v, "-") == 0 ? NULL : xstrdup(v);
			seen |= 1;
		} else if ((strcmp(t, "sent") == 0 || strcmp(t, "tried") == 0) && is_hash(v)) {
			strcpy(t[0] == 's' ? e->sent : e->tried, v);
			seen |= t[0] == 's' ? 2 : 4;
		} else if (strcmp(t, "result") == 0 && strlen(v) < sizeof(e->result)) {
			strcpy(e->result, strcmp(v, "-") == 0 ? "" : v);
			seen |= 8;
		} else if (strcmp(t, "fails") == 0 && parse_i64(v, &x) && x <= 1000000) {
			e->fails = (unsigned)x;
			seen |= 16;
		} else if (strcmp(t, "next") == 0 && parse_i64(v, &x)) {
			e->next = x;
			seen |= 32;
		} else if (strcmp(t, "at") == 0 && parse_i64(v, &x)) {
			e->at = x;
			seen |= 64;
		} else {
			goto bad;
		}
		continue;
bad:
		snprintf(err, errlen, "domain '%s': unreadable field '%s'", e->name, t);
		return -1;
	}
	if (seen != 127) {
		snprintf(err, errlen, "domain '%s': fields missing", e->name);
		return -1;
	}
	return 0;
}

int
updstate_parse(const char *text, struct updstate *out, char *err, size_t errlen)
{
	char *copy = xstrdup(text), *save = NULL, msg[256];
	size_t lineno = 0;
	bool header = false, ended = false;
	long long end_n = -1;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		line[strcspn(line, "\r")] = '\0';
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (ended) {
			snprintf(msg, sizeof(msg), "text after the end line");
			goto bad;
		}
		if (!header) {
			if (strcmp(line, "mtastsd-update 1") != 0) {
				snprintf(msg, sizeof(msg), "not an mtastsd update state (version 1)");
				goto bad;
			}
			header = true;
		} else if (strncmp(line, "domain ", 7) == 0) {
			VEC_RESERVE(out->e, out->cap, out->n + 1, 16);
			if (parse_domain(line + 7, &out->e[out->n], msg, sizeof(msg)) < 0) {
				out->n++;
				goto bad;
			}
			out->n++;
		} else if (strncmp(line, "end ", 4) == 0 && sscanf(line + 4, "%lld", &end_n) == 1) {
			ended = true;
		} else {
			snprintf(msg, sizeof(msg), "unknown line");
			goto bad;
		}
	}
	if (!ended || end_n != (long long)out->n) {
		snprintf(err, errlen, "cut short (no end line, or one that does not count %zu domains)", out->n);
		goto done;
	}
	if (out->n > 1)
		qsort(out->e, out->n, sizeof(*out->e), cmp_entry);
	for (size_t i = 1; i < out->n; i++)
		if (strcmp(out->e[i].name, out->e[i - 1].name) == 0) {
			snprintf(err, errlen, "domain '%s' listed twice", out->e[i].name);
			goto done;
		}
	rc = 0;
	goto done;
bad:
	snprintf(err, errlen, "line %zu: %s", lineno, msg);
done:
	free(copy);
	if (rc < 0)
		updstate_clear(out);
	return rc;
}

char *
updstate_format(const struct updstate *s)
{
	struct buf b = {0};

	buf_puts(&b, "mtastsd-update 1\n# written by mtastsd: what RFC 2136 publishing last did per domain\n");
	for (size_t i = 0; i < s->n; i++) {
		const struct updstate_entry *e = &s->e[i];
		buf_printf(&b, "domain %s zone=%s sent=%s tried=%s result=%s fails=%u next=%" PRId64
		    " at=%" PRId64 "\n", e->name, e->zone ? e->zone : "-", e->sent, e->tried,
		    e->result[0] ? e->result : "-", e->fails, e->next, e->at);
	}
	buf_printf(&b, "end %zu\n", s->n);
	return b.data;
}

int
updstate_load(const char *path, struct updstate *out, char *err, size_t errlen)
{
	char *text = NULL, msg[512];
	int rc;

	memset(out, 0, sizeof(*out));
	if (read_file(path, &text, NULL) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	if ((rc = updstate_parse(text, out, msg, sizeof(msg))) < 0)
		snprintf(err, errlen, "'%s' is damaged: %s", path, msg);
	free(text);
	return rc;
}

int
updstate_save(const char *path, const struct updstate *s, char *err, size_t errlen)
{
	char *text = updstate_format(s);
	int rc = dnsstate_write_atomic(path, text, strlen(text), 0644, err, errlen);

	free(text);
	return rc;
}

struct updstate_entry *
updstate_find(const struct updstate *s, const char *name)
{
	struct updstate_entry key = { .name = (char *)(uintptr_t)name };

	return s->n ? bsearch(&key, s->e, s->n, sizeof(*s->e), cmp_entry) : NULL;
}

struct updstate_entry *
updstate_get(struct updstate *s, const char *name)
{
	struct updstate_entry *e = updstate_find(s, name);
	size_t at = 0;

	if (e != NULL)
		return e;
	/* sorted insertion: the callers walk names in sorted order, so this is mostly an append */
	while (at < s->n && strcmp(s->e[s->n - 1 - at].name, name) > 0)
		at++;
	at = s->n - at;
	VEC_RESERVE(s->e, s->cap, s->n + 1, 16);
	memmove(&s->e[at + 1], &s->e[at], (s->n - at) * sizeof(*s->e));
	s->n++;
	e = &s->e[at];
	memset(e, 0, sizeof(*e));
	e->name = xstrdup(name);
	strcpy(e->sent, "-");
	strcpy(e->tried, "-");
	return e;
}

int64_t
updstate_backoff(unsigned fails, unsigned long retry, unsigned long max)
{
	int64_t w = (int64_t)retry;

	for (unsigned i = 1; i < fails && w < (int64_t)max; i++)
		w *= 2;
	return w < (int64_t)max ? w : (int64_t)max;
}

void
updstate_hash(const void *p, size_t n, char out[UPDSTATE_HASH_LEN + 1])
{
	char hex[65];

	digest_sha256_hex(p, n, hex);
	memcpy(out, hex, UPDSTATE_HASH_LEN);
	out[UPDSTATE_HASH_LEN] = '\0';
}

void
updstate_clear(struct updstate *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->e[i].name);
		free(s->e[i].zone);
	}
	free(s->e);
	memset(s, 0, sizeof(*s));
}
