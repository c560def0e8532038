/* SPDX-License-Identifier: MIT */
/* httpget_int: the libcurl transfer that httpget and httpclient share (TLS rules, body sink, result), private to the family. */
#ifndef MTASTSD_HTTPGET_INT_H
#define MTASTSD_HTTPGET_INT_H

#include "util.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Where a transfer's body goes: at most MAX bytes, NUL-terminated. */
struct httpget_sink {
	struct buf body;
	size_t max;
	bool too_long;	/* the body went past MAX: the transfer was stopped */
};

/* libcurl's write callback into a struct httpget_sink */
static inline size_t
httpget_sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct httpget_sink *s = arg;
	size_t n = size * nmemb;

	if (n > s->max - s->body.len) {
		/* returning less than N aborts the transfer with CURLE_WRITE_ERROR */
		s->too_long = true;
		return 0;
	}
	buf_append(&s->body, data, n);
	return n;
}

/*
 * The options every request of the family sets on H: https only, TLS 1.2 or
 * later with the peer's certificate and name verified (against CA_FILE, or
 * the system's when NULL), redirects not followed, the whole transfer within
 * TIMEOUT_MS, no signals, USER_AGENT, libcurl's message in CERR (of
 * CURL_ERROR_SIZE bytes) and the body into S.
 */
static inline void
httpget_easy_setup(CURL *h, const char *ca_file, long timeout_ms, const char *user_agent, char *cerr,
    struct httpget_sink *s)
{
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, user_agent);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, httpget_sink_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
}

/*
 * The outcome of curl_easy_perform on H, which returned RC. 0 with *STATUS,
 * *CONTENT_TYPE (owned by the caller, NULL when absent), and the body taken
 * from S into *BODY (owned by the caller, "" when there was none) and *LEN.
 * -1 with ERR for a body past S's bound or a failed transfer (CERR, else
 * libcurl's name of RC); the messages start with "URL: " (or name "the body
 * of URL") when URL is not NULL; S's body is then still the caller's to
 * clear (buf_clear, harmless after a success too).
 */
static inline int
httpget_easy_result(CURL *h, CURLcode rc, const char *url, const char *cerr, struct httpget_sink *s, long *status,
    char **content_type, char **body, size_t *len, char *err, size_t errlen)
{
	const char *ctype = NULL;

	if (s->too_long) {
		snprintf(err, errlen, "the body%s%s is longer than %zu bytes", url != NULL ? " of " : "",
		    url != NULL ? url : "", s->max);
		return -1;
	}
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s%s%s", url != NULL ? url : "", url != NULL ? ": " : "",
		    cerr[0] != '\0' ? cerr : curl_easy_strerror(rc));
		return -1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype != NULL)
		*content_type = xstrdup(ctype);
	*body = s->body.data != NULL ? s->body.data : xstrdup("");
	*len = s->body.len;
	s->body = (struct buf){ 0 };
	return 0;
}

#endif
