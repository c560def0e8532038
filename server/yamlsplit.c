/* SPDX-License-Identifier: MIT */
/* yamlsplit: where a long block list under one top-level key can be cut into pieces read apart. */
#include "yamlsplit.h"

#include <stdbool.h>
#include <string.h>

/* The line at P (LEN bytes, no newline) without a trailing CR. */
static size_t
trim_cr(const char *p, size_t len)
{
	return len > 0 && p[len - 1] == '\r' ? len - 1 : len;
}

/* "KEY:" at column 0, then only spaces or a comment. */
static bool
is_key_line(const char *p, size_t len, const char *key, size_t klen)
{
	size_t i;

	len = trim_cr(p, len);
	if (len < klen + 1 || memcmp(p, key, klen) != 0 || p[klen] != ':')
		return false;
	for (i = klen + 1; i < len && p[i] == ' '; i++)
		;
	return i == len || (p[i] == '#' && i > klen + 1);
}

/* The number of leading spaces of a line, and whether nothing but a comment follows them. */
static size_t
indent_of(const char *p, size_t len, bool *blank)
{
	size_t i;

	len = trim_cr(p, len);
	for (i = 0; i < len && p[i] == ' '; i++)
		;
	*blank = i == len || p[i] == '#';
	return i;
}

/* A list entry at column IND: "-" then a space or the end of the line. */
static bool
is_entry(const char *p, size_t len, size_t ind)
{
	len = trim_cr(p, len);
	return ind < len && p[ind] == '-' && (ind + 1 == len || p[ind + 1] == ' ');
}

size_t
yamlsplit_find(const char *data, size_t len, const char *key, size_t want, struct yamlsplit *s)
{
	size_t klen = strlen(key), pos = 0, ind = 0, next_target = 0, n = 0;
	bool found = false, started = false;
	int line = 1;

	memset(s, 0, sizeof(*s));
	if (want > YAMLSPLIT_MAX)
		want = YAMLSPLIT_MAX;
	if (want < 2)
		return 0;
	while (pos < len) {
		const char *p = data + pos, *nl = memchr(p, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - p) : len - pos, li;
		bool blank;

		if (!found) {
			if (is_key_line(p, ll, key, klen)) {
				found = true;
				s->key_line = line;
			}
		} else if ((li = indent_of(p, ll, &blank)), blank) {
			/* blank and comment lines belong to whatever surrounds them */
		} else if (!started) {
			if (!is_entry(p, ll, li))
				return 0;
			started = true;
			ind = li;
			s->indent = (int)li;
			s->cut[0].off = pos;
			s->cut[0].line = line;
			n = 1;
			next_target = pos + (len - pos) / want;
		} else if (li < ind || (li == ind && !is_entry(p, ll, li))) {
			break;
		} else if (li == ind && pos >= next_target && n < want) {
			s->cut[n].off = pos;
			s->cut[n].line = line;
			n++;
			next_target = s->cut[0].off + (len - s->cut[0].off) / want * n;
		}
		pos = nl ? pos + ll + 1 : len;
		line++;
	}
	if (!started || n < 2)
		return 0;
	/* the end: the first line after the list (or the end of DATA) */
	s->cut[n].off = pos;
	s->cut[n].line = line;
	s->n = n;
	return n;
}
