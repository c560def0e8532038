/* SPDX-License-Identifier: MIT */
/* forwarded: the client address that X-Forwarded-For or Forwarded (RFC 7239) headers from trusted proxies name. */
#include "forwarded.h"
#include "cidr.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

struct span {
	const char *p;
	size_t n;
};

static bool
ows(char c)
{
	return c == ' ' || c == '\t';
}

static struct span
trim(const char *p, size_t n)
{
	while (n > 0 && ows(*p)) {
		p++;
		n--;
	}
	while (n > 0 && ows(p[n - 1]))
		n--;
	return (struct span){ p, n };
}

/*
 * Parse "192.0.2.1", "192.0.2.1:80", "2001:db8::1", "[2001:db8::1]" or
 * "[2001:db8::1]:80" (optionally quoted) into SS.
 */
static bool
parse_addr(struct span s, struct sockaddr_storage *ss)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *p = s.p;
	size_t n = s.n;

	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	if (n > 0 && p[0] == '[') {
		const char *e = memchr(p, ']', n);

		if (e == NULL || (e + 1 != p + n && e[1] != ':'))
			return false;
		n = (size_t)(e - p - 1);
		p++;
	} else {
		const char *colon = memchr(p, ':', n);

		/* IPv4 with a port: one colon, after a dot ("::ffff:192.0.2.1" is IPv6) */
		if (colon != NULL && memchr(colon + 1, ':', n - (size_t)(colon - p) - 1) == NULL &&
		    memchr(p, '.', (size_t)(colon - p)) != NULL)
			n = (size_t)(colon - p);
	}
	if (n == 0 || n >= sizeof(ip))
		return false;
	memcpy(ip, p, n);
	ip[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		return true;
	}
	return false;
}

/* The value of the for= parameter of one Forwarded element (pairs split at ';'). */
static struct span
forwarded_for(struct span el)
{
	const char *p = el.p, *end = el.p + el.n;

	while (p < end) {
		size_t n = 0;
		bool quoted = false;
		struct span pair;

		while (p + n < end && (quoted || p[n] != ';')) {
			/* a quoted-pair (RFC 9110 section 5.6.4) is one character, an escaped quote included */
			if (quoted && p[n] == '\\' && p + n + 1 < end)
				n++;
			else if (p[n] == '"')
				quoted = !quoted;
			n++;
		}
		pair = trim(p, n);
		if (pair.n > 4 && str_eq_ci(pair.p, "for=", 4))
			return trim(pair.p + 4, pair.n - 4);
		p += n + 1;
	}
	return (struct span){ NULL, 0 };
}

/*
 * Walk one header's elements from the right, as described in forwarded.h.
 * Returns 1 with *CLIENT set, 0 when nothing can be believed, -1 when the
 * header is absent.
 */
static int
walk(const char *const *lines, size_t n_lines, bool is_forwarded, const struct cidr *trusted,
    size_t n_trusted, struct sockaddr_storage *client)
{
	struct span hops[FORWARDED_MAX_HOPS];
	size_t n_hops = 0, first = 0;
	bool found = false;

	if (n_lines == 0)
		return -1;
	/* the elements of every line, left to right; only the rightmost FORWARDED_MAX_HOPS are kept */
	for (size_t l = 0; l < n_lines; l++) {
		const char *p = lines[l];

		while (p != NULL && *p != '\0') {
			size_t n = 0;
			bool quoted = false;
			struct span el;

			while (p[n] != '\0' && (quoted || p[n] != ',')) {
				if (quoted && p[n] == '\\' && p[n + 1] != '\0')
					n++;
				else if (p[n] == '"')
					quoted = !quoted;
				n++;
			}
			el = trim(p, n);
			/*
			 * A quote left open swallowed what a proxy appended after it on
			 * the same line: the element is garbage, and the walk ends there.
			 */
			if (quoted && el.n > 0)
				el.p = NULL;
			/* empty list elements are allowed and do not count (RFC 9110 section 5.6.1) */
			if (el.n > 0) {
				hops[(first + n_hops) % FORWARDED_MAX_HOPS] = el;
				if (n_hops < FORWARDED_MAX_HOPS)
					n_hops++;
				else
					first = (first + 1) % FORWARDED_MAX_HOPS;
			}
			p += n + (p[n] == ',');
		}
	}
	for (size_t i = n_hops; i > 0; i--) {
		struct span el = hops[(first + i - 1) % FORWARDED_MAX_HOPS];
		struct sockaddr_storage ss;

		if (is_forwarded && el.p != NULL)
			el = forwarded_for(el);
		if (el.p == NULL || !parse_addr(el, &ss))
			break;
		*client = ss;
		found = true;
		if (!cidr_match(trusted, n_trusted, (const struct sockaddr *)&ss))
			break;
	}
	return found ? 1 : 0;
}

static bool
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr, &((const struct sockaddr_in *)b)->sin_addr,
		    4) == 0;
	return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &((const struct sockaddr_in6 *)b)->sin6_addr,
	    16) == 0;
}

void
forwarded_keep(const char **lines, size_t *n, size_t max, const char *value)
{
	if (max == 0)
		return;
	if (*n == max) {
		memmove(lines, lines + 1, (max - 1) * sizeof(*lines));
		(*n)--;
	}
	lines[(*n)++] = value;
}

bool
forwarded_client(const char *const *xff, size_t n_xff, const char *const *fwd, size_t n_fwd,
    const struct cidr *trusted, size_t n_trusted, char *out, size_t outlen)
{
	struct sockaddr_storage a, b;
	int ra = walk(xff, n_xff, false, trusted, n_trusted, &a);
	int rb = walk(fwd, n_fwd, true, trusted, n_trusted, &b);

	if (ra == 0 || rb == 0 || (ra < 0 && rb < 0))
		return false;
	if (ra > 0 && rb > 0 && !same_addr(&a, &b))
		return false;
	if (ra < 0)
		a = b;
	if (a.ss_family == AF_INET)
		return inet_ntop(AF_INET, &((struct sockaddr_in *)&a)->sin_addr, out, (socklen_t)outlen) != NULL;
	return inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a)->sin6_addr, out, (socklen_t)outlen) != NULL;
}
