/* SPDX-License-Identifier: MIT */
/* httpget: one HTTPS GET as an MTA-STS sender makes it (libcurl; the only module that includes curl.h). */
#include "httpget.h"

#include "util.h"
#include "vec.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sink {
	char *buf;
	size_t len, cap, max;
	bool too_long;
};

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (n > s->max - s->len) {
		/* returning less than N aborts the transfer with CURLE_WRITE_ERROR */
		s->too_long = true;
		return 0;
	}
	VEC_RESERVE(s->buf, s->cap, s->len + n + 1, 4096);
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

int
httpget_init(char *err, size_t errlen)
{
	CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

	if (rc != CURLE_OK) {
		snprintf(err, errlen, "cannot initialise libcurl: %s", curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

void
httpget_cleanup(void)
{
	curl_global_cleanup();
}

int
httpget_fetch(const struct httpget_request *req, struct httpget_response *out, char *err, size_t errlen)
{
	char url[1024], connect_to[600], cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *to = NULL;
	struct sink s = { NULL, 0, 0, req->max_body, false };
	const char *ctype = NULL;
	CURL *h;
	CURLcode rc;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if ((h = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "cannot create a libcurl handle");
		return -1;
	}
	snprintf(url, sizeof(url), "https://%s%s", req->host, req->path);
	/* like curl --connect-to: the URL, Host header and SNI stay HOST, the socket goes to ADDR:PORT */
	if (req->addr != NULL)
		snprintf(connect_to, sizeof(connect_to), strchr(req->addr, ':') != NULL ? "%s:443:[%s]:%u" : "%s:443:%s:%u",
		    req->host, req->addr, req->port);
	else
		snprintf(connect_to, sizeof(connect_to), "%s:443::%u", req->host, req->port);
	if ((to = curl_slist_append(NULL, connect_to)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CONNECT_TO, to);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, req->ca_file);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "mtastsd-verify/" MTASTSD_VERSION);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	rc = curl_easy_perform(h);
	if (s.too_long) {
		snprintf(err, errlen, "the body is longer than %zu bytes", req->max_body);
		goto done;
	}
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", cerr[0] != '\0' ? cerr : curl_easy_strerror(rc));
		goto done;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype) == CURLE_OK && ctype != NULL)
		out->content_type = xstrdup(ctype);
	out->body = s.buf != NULL ? s.buf : xstrdup("");
	out->len = s.len;
	s.buf = NULL;
	ret = 0;
done:
	free(s.buf);
	curl_slist_free_all(to);
	curl_easy_cleanup(h);
	return ret;
}

void
httpget_response_clear(struct httpget_response *r)
{
	if (r == NULL)
		return;
	free(r->content_type);
	free(r->body);
	memset(r, 0, sizeof(*r));
}
