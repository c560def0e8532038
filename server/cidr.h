/* SPDX-License-Identifier: MIT */
/* cidr: IP address blocks as trusted_proxies and proxy_from write them, read from text and matched against peers. */
#ifndef MTASTSD_CIDR_H
#define MTASTSD_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* One block: the first PREFIX bits of ADDR (4 bytes for AF_INET, 16 for AF_INET6). */
struct cidr {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

/*
 * Parse "ADDR" or "ADDR/PREFIX" (IPv4 or IPv6; a bare address is a /32 or
 * /128) into OUT. Returns 0, or -1 with a message naming S in ERR (as
 * config diagnostics print it) and OUT zeroed.
 */
int cidr_parse(const char *s, struct cidr *out, char *err, size_t errlen);

/* Both blocks of "any": 0.0.0.0/0 and ::/0, into OUT[0] and OUT[1]. */
void cidr_any(struct cidr out[2]);

/*
 * True when SA (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts as
 * the IPv4 address, as a dual-stack socket reports IPv4 peers) falls in one
 * of the N blocks of LIST. An empty list matches nothing; any other family
 * matches nothing. Pure: no I/O, no allocation.
 */
bool cidr_match(const struct cidr *list, size_t n, const struct sockaddr *sa);

#endif
