/* SPDX-License-Identifier: MIT */
/* route: the pure request router; which answer a request gets from SNI, Host, method and path. */
#ifndef MTASTSD_ROUTE_H
#define MTASTSD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "snapshot.h"

#define ROUTE_POLICY_PATH "/.well-known/mta-sts.txt"
#define ROUTE_HEALTH_PATH "/healthz"
/* RFC 8555 section 8.3: http-01 answers live below this path, one token per name */
#define ROUTE_ACME_PREFIX "/.well-known/acme-challenge/"
#define ROUTE_ALLOW "GET, HEAD"

/*
 * An answer that is the same for every configuration: the health check's
 * 200 "ok" and the errors 400, 404, 405 and 421. Everything that answers
 * with one of these statuses sends this body (Content-Type text/plain).
 */
struct route_answer {
	unsigned status;
	const char *reason;	/* the status line's reason phrase (RFC 9110 section 15) */
	const char *body;	/* ends in "\n" */
	size_t body_len;
	bool allow;		/* sent with Allow: ROUTE_ALLOW (405) */
	bool close;		/* the connection closes after it (400, 421) */
};

#define ROUTE_N_ANSWERS 5
/* Every fixed answer, ascending by status. */
extern const struct route_answer route_answers[ROUTE_N_ANSWERS];

/* The fixed answer with STATUS (200: the health check's), a member of route_answers; NULL when none. Pure. */
const struct route_answer *route_answer(unsigned status);

/* One request as received; nothing in it is decoded or trimmed yet. */
struct route_request {
	const char *sni;	/* the TLS server name, NULL on plain HTTP */
	const char *host;	/* the Host header, NULL when absent */
	size_t n_host;		/* Host header lines in the request (a second one is an error) */
	const char *method;
	const char *target;	/* the request-target as sent, percent-encoding included */
	bool http10;		/* an HTTP/1.0 request, which may omit Host */
};

struct route_result {
	unsigned status;		/* 200, 400, 404, 405 or 421 */
	const struct site *site;	/* the policy served (200 only), owned by the snapshot */
	const char *content_type;	/* always "text/plain" (an http-01 answer's is the HTTP layer's) */
	const char *allow;		/* ROUTE_ALLOW for 405, else NULL */
	const char *body;		/* the full body as a GET gets it (route_answer's or the site's) */
	size_t body_len;		/* its length: the Content-Length, also for HEAD */
	bool send_body;			/* false for HEAD */
	bool health;			/* a balancer's health check (200, body "ok") */
	/*
	 * An http-01 challenge (200 only; body NULL): the token, a pointer into
	 * the request's target (not NUL-terminated), whose answer the HTTP
	 * layer reads (acmechal_http01), answering 404 when no such challenge
	 * is pending. NULL otherwise.
	 */
	const char *acme_token;
	size_t acme_token_len;
};

/*
 * Route one request REQ. Host and SNI are compared after canonicalisation
 * (case, a trailing dot and the Host's port do not count). Rules, in order:
 *  - malformed (RFC 9112 section 3.2): two Host lines, no Host in HTTP/1.1,
 *    a Host that is no `uri-host [":" port]` (an empty port included), a
 *    target that is neither origin-form nor an http(s) absolute-form with a
 *    host, bad percent-encoding or bytes a URI cannot hold: 400;
 *  - an absolute-form target names the host by its authority (its Host
 *    header is then ignored, RFC 9112 section 3.2.2), else the Host does;
 *  - SNI and that host both present but naming different hosts: 421;
 *  - the host (else SNI, HTTP/1.0 only) is not mta-sts.<configured domain>: 404;
 *  - a path other than ROUTE_POLICY_PATH once percent-encoded unreserved
 *    characters are decoded (RFC 3986 section 6.2.2; an encoded NUL, `/` or
 *    `?` stays encoded and never matches); the query does not count: 404;
 *  - GET: 200 with the policy; HEAD: the same without body; else 405.
 * Two exceptions on plain HTTP (no SNI), checked before the host counts:
 *  - ACME http-01 (RFC 8555 section 8.3), for any host:
 *    ROUTE_ACME_PREFIX (normalised as above) followed by a token that
 *    acmechal_token_ok accepts (1 to 256 base64url characters) as sent (the query
 *    ignored) is 200 with `acme_token` set (GET, HEAD; else 405); any
 *    other rest of the path (empty, too long, an escape or another
 *    character, a further '/') is 404, decided here, so the HTTP layer
 *    looks no file up for it;
 *  - for balancers that check the traffic port, ROUTE_HEALTH_PATH for a
 *    host that is no policy host (a backend address, or no Host in
 *    HTTP/1.0) is a health check: 200 "ok" (GET, HEAD; else 405), with
 *    `health` set.
 * Never a redirect. Pure: no I/O, no allocation.
 */
struct route_result route(const struct snapshot *snap, const struct route_request *req);

/* The 400 answer to REQ, for a request the HTTP layer found malformed itself. Pure. */
struct route_result route_bad_request(const struct route_request *req);

/*
 * Whether a Connection header VALUE (NULL when absent) asks to close the
 * connection after the response: a "close" token among its comma-separated
 * options, in any case (RFC 9110 section 7.6.1). Pure.
 */
bool route_connection_closes(const char *value);

#endif
