/* SPDX-License-Identifier: MIT */
/* httpget: one HTTPS GET as an MTA-STS sender makes it (libcurl). */
#ifndef MTASTSD_HTTPGET_H
#define MTASTSD_HTTPGET_H

#include <stddef.h>

struct httpget_request {
	const char *host;	/* URL host, SNI name and certificate name, e.g. "mta-sts.example.com" */
	const char *path;	/* e.g. "/.well-known/mta-sts.txt" */
	const char *addr;	/* numeric address to connect to, or NULL: HOST through DNS */
	unsigned port;		/* port to connect to; the URL keeps the default 443, as senders send it */
	const char *ca_file;	/* PEM bundle to verify against, or NULL: the system's */
	long timeout_ms;	/* whole transfer, connection included */
	size_t max_body;	/* a longer body fails the fetch */
};

struct httpget_response {
	long status;
	char *content_type;	/* NULL when absent */
	char *body;		/* LEN bytes and a NUL */
	size_t len;
};

/* Set libcurl up once per process, before any thread; 0 or -1 with a message in ERR. */
int httpget_init(char *err, size_t errlen);
void httpget_cleanup(void);

/*
 * GET https://HOST/PATH, TLS 1.2 or later with the certificate verified for
 * HOST, redirects not followed (senders must not follow them). Returns 0 with
 * OUT filled (owned by the caller, release with httpget_response_clear) for any
 * HTTP status, or -1 with a message in ERR (resolution, connection, TLS,
 * timeout, body over MAX_BODY); OUT is then empty.
 */
int httpget_fetch(const struct httpget_request *req, struct httpget_response *out,
    char *err, size_t errlen);

/* Free R's strings (not R); R is left {0}. NULL is accepted. */
void httpget_response_clear(struct httpget_response *r);

#endif
