/* SPDX-License-Identifier: MIT */
/* route: the pure request router; which answer a request gets from SNI, Host, method and path. */
#ifndef MTASTSD_ROUTE_H
#define MTASTSD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "snapshot.h"

#define ROUTE_POLICY_PATH "/.well-known/mta-sts.txt"
#define ROUTE_ALLOW "GET, HEAD"

struct route_result {
	unsigned status;		/* 200, 404, 405 or 421 */
	const struct site *site;	/* the policy served (200 only), owned by the snapshot */
	const char *content_type;	/* always "text/plain" */
	const char *allow;		/* ROUTE_ALLOW for 405, else NULL */
	const char *body;		/* the full body as a GET gets it (static or the site's) */
	size_t body_len;		/* its length: the Content-Length, also for HEAD */
	bool send_body;			/* false for HEAD */
};

/*
 * Route one request. SNI is the TLS server name (NULL on plain HTTP), HOST
 * the Host header (NULL when absent), METHOD and PATH as received (path
 * without query). Host and SNI are compared after canonicalisation (case,
 * a trailing dot and the Host's port do not count). Rules, in order:
 *  - SNI and Host both present but naming different hosts: 421;
 *  - the host (Host, else SNI) is not mta-sts.<configured domain>: 404;
 *  - any path but ROUTE_POLICY_PATH: 404;
 *  - GET: 200 with the policy; HEAD: the same without body; else 405.
 * Never a redirect. Pure: no I/O, no allocation.
 */
struct route_result route(const struct snapshot *snap, const char *sni, const char *host,
    const char *method, const char *path);

/*
 * Whether a Connection header VALUE (NULL when absent) asks to close the
 * connection after the response: a "close" token among its comma-separated
 * options, in any case (RFC 9110 section 7.6.1). Pure.
 */
bool route_connection_closes(const char *value);

#endif
