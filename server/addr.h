/* SPDX-License-Identifier: MIT */
/* addr: numeric socket addresses as listeners and dns.update.server write them ("IPV4:PORT", "[IPV6]:PORT"). */
#ifndef MTASTSD_ADDR_H
#define MTASTSD_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/*
 * Parse "IPV4:PORT" or "[IPV6]:PORT" (numeric only, port 1..65535) into SS
 * and *LEN. Returns 0, or -1 with a message naming S in ERR (as config
 * diagnostics print it); SS is zeroed first in every case.
 */
int addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *err, size_t errlen);

/* The port of SS (AF_INET or AF_INET6), in host order. */
unsigned addr_port(const struct sockaddr_storage *ss);

/* True when SS is 0.0.0.0 or [::]: every local address of its family. */
bool addr_is_wildcard(const struct sockaddr_storage *ss);

#endif
