/* SPDX-License-Identifier: MIT */
/* httpclient: one HTTPS request (GET, HEAD or POST) to a URL, as an API client such as ACME makes it (libcurl). */
#ifndef MTASTSD_HTTPCLIENT_H
#define MTASTSD_HTTPCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/*
 * httpget_init must have been called once per process before any request
 * (it sets libcurl up for both modules of the family).
 */

enum httpclient_method { HTTPCLIENT_GET, HTTPCLIENT_HEAD, HTTPCLIENT_POST };

struct httpclient_request {
	enum httpclient_method method;
	const char *url;		/* https:// only; anything else fails before connecting */
	const char *content_type;	/* of BODY for POST, e.g. "application/jose+json"; NULL: none sent */
	const char *body;		/* POST: BODY_LEN bytes (NULL with 0 sends an empty body) */
	size_t body_len;
	const char *accept;		/* Accept header, or NULL: libcurl's default (any type) */
	const char *ca_file;		/* PEM bundle to verify against, or NULL: the system's */
	long timeout_ms;		/* whole transfer, connection included; 0: 30 s */
	long connect_timeout_ms;	/* connection and TLS handshake; 0: 10 s */
	size_t max_body;		/* a longer body fails the request; 0: 1 MiB */
	const char *user_agent;		/* NULL: "mtastsd/VERSION" */
};

/* What a response said, for any status. Strings are NULL when the header was absent. */
struct httpclient_response {
	long status;
	char *content_type;
	char *location;
	char *replay_nonce;
	char *retry_after;	/* the raw value: see httpclient_retry_after */
	char *link_up;		/* target of the first Link with rel="up", relative ones resolved against the URL */
	char *link_index;	/* same for rel="index" */
	char *body;		/* LEN bytes and a NUL ("" for HEAD) */
	size_t len;
};

/*
 * Make the request REQ. Redirects are not followed; TLS 1.2 or later with
 * the certificate verified for the URL's host. Returns 0 with OUT filled
 * (owned by the caller: httpclient_response_clear) for any HTTP status, or
 * -1 with a message in ERR (bad URL, resolution, connection, TLS, timeout,
 * body over MAX_BODY); OUT is then empty.
 */
int httpclient_request(const struct httpclient_request *req, struct httpclient_response *out,
    char *err, size_t errlen);

/*
 * A session: requests made one after another through one libcurl handle,
 * so that a connection to the same host (and its TLS session, with the CA
 * store read once) is kept and reused; each request starts from libcurl's
 * defaults all the same (curl_easy_reset). One thread at a time.
 */
struct httpclient;

struct httpclient *httpclient_new(void);
/* Close HC's connections and free it; NULL is accepted. */
void httpclient_free(struct httpclient *hc);
/* As httpclient_request, on HC's handle. */
int httpclient_send(struct httpclient *hc, const struct httpclient_request *req, struct httpclient_response *out,
    char *err, size_t errlen);
/* How many connections HC has opened so far (a reused one is not counted again). */
unsigned httpclient_connections(const struct httpclient *hc);

/* Free R's strings (not R); R is left {0}. NULL is accepted. */
void httpclient_response_clear(struct httpclient_response *r);

/*
 * The target of the first link with relation REL (compared without case,
 * one of a space-separated list) in the Link header value V (RFC 8288:
 * `<uri>; rel="up", <uri2>;rel=index`), owned by the caller, or NULL when
 * there is none or V is malformed before it. The target is returned as
 * written, without the angle brackets.
 */
char *httpclient_link_find(const char *v, const char *rel);

/*
 * The time a Retry-After value V names (RFC 9110 section 10.2.3): either
 * delta-seconds (digits only; NOW plus them, at most CAP seconds ahead) or
 * an HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms),
 * capped likewise at NOW + CAP; a date in the past gives NOW. Returns 0 and
 * *OUT, or -1 when V is neither form (white space around V is ignored).
 */
int httpclient_retry_after(const char *v, time_t now, time_t cap, time_t *out);

#endif
