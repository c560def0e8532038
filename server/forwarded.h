/* SPDX-License-Identifier: MIT */
/* forwarded: the client address that X-Forwarded-For or Forwarded (RFC 7239) headers from trusted proxies name. */
#ifndef MTASTSD_FORWARDED_H
#define MTASTSD_FORWARDED_H

#include <stdbool.h>
#include <stddef.h>

#include "cidr.h"

/* At most this many addresses are read, from the right; further left ones are never reached. */
#define FORWARDED_MAX_HOPS 64

/*
 * The client a request came from, as its proxies report it. XFF holds every
 * X-Forwarded-For header line of the request in order (N_XFF of them), FWD
 * every Forwarded line (N_FWD); the lines of one header are one list, as
 * RFC 9110 section 5.3 has it. The peer that sent the request is a trusted
 * proxy (the caller checks). Each list is read from the right: addresses in
 * TRUSTED (N_TRUSTED blocks; none trusts nobody) are proxies that appended
 * the address to their left, and the first address that is not one is the
 * client (nginx's realip with real_ip_recursive on). An entry that is not an
 * IP address (a Forwarded "unknown" or obfuscated node, garbage) ends the
 * walk: the client is then the last trusted address read, never what lies
 * beyond. A list of trusted addresses only yields its leftmost. IPv4 and
 * [IPv6] with a port are accepted; Forwarded parameter names are
 * case-insensitive (RFC 7239 section 4). When both headers are present, they
 * must name the same client, or neither is believed (a client could append to
 * the header its balancer does not write).
 * Writes the client, in the canonical text form, into OUT (OUTLEN bytes) and
 * returns true; false when no address can be believed (the caller then logs
 * the peer). Pure: no I/O, no allocation.
 */
/*
 * Keep VALUE (a header line, borrowed) as the last of LINES[0..*N), at most
 * MAX of them: past MAX the leftmost goes. The lines a client sends come
 * first, those its proxies add last, so the rightmost are the ones to keep.
 */
void forwarded_keep(const char **lines, size_t *n, size_t max, const char *value);

bool forwarded_client(const char *const *xff, size_t n_xff, const char *const *fwd, size_t n_fwd,
    const struct cidr *trusted, size_t n_trusted, char *out, size_t outlen);

#endif
