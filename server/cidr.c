/* SPDX-License-Identifier: MIT */
/* cidr: IP address blocks as trusted_proxies and proxy_from write them, read from text and matched against peers. */
#include "cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cidr_parse(const char *s, struct cidr *out, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(s, '/');
	size_t hl = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	char *end;

	memset(out, 0, sizeof(*out));
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(err, errlen, "'%s' is not an address or CIDR block", s);
		return -1;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, out->addr) == 1) {
		out->family = AF_INET;
		out->prefix = 32;
	} else if (inet_pton(AF_INET6, host, out->addr) == 1) {
		out->family = AF_INET6;
		out->prefix = 128;
	} else {
		snprintf(err, errlen, "'%s' is not an address or CIDR block", s);
		memset(out, 0, sizeof(*out));
		return -1;
	}
	if (slash) {
		errno = 0;
		prefix = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || errno || prefix > out->prefix) {
			snprintf(err, errlen, "'%s' has an invalid prefix length", s);
			memset(out, 0, sizeof(*out));
			return -1;
		}
		out->prefix = (unsigned)prefix;
	}
	return 0;
}

void
cidr_any(struct cidr out[2])
{
	memset(out, 0, 2 * sizeof(*out));
	out[0].family = AF_INET;
	out[1].family = AF_INET6;
}

bool
cidr_match(const struct cidr *list, size_t n, const struct sockaddr *sa)
{
	static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const unsigned char *a;
	int family = sa->sa_family;

	if (family == AF_INET) {
		a = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		a = (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
		/* an IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d */
		if (memcmp(a, v4mapped, 12) == 0) {
			a += 12;
			family = AF_INET;
		}
	} else {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned bits = list[i].prefix, full = bits / 8, rest = bits % 8;

		if (list[i].family != family)
			continue;
		if (memcmp(list[i].addr, a, full) != 0)
			continue;
		if (rest && ((list[i].addr[full] ^ a[full]) & (0xff << (8 - rest))) != 0)
			continue;
		return true;
	}
	return false;
}
