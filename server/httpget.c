/* SPDX-License-Identifier: MIT */
/* httpget: one HTTPS GET as an MTA-STS sender makes it (libcurl). */
#include "httpget.h"
#include "httpget_int.h"

#include "util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	struct httpget_sink s = { .max = req->max_body };
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
	httpget_easy_setup(h, req->ca_file, req->timeout_ms, "mtastsd-verify/" MTASTSD_VERSION, cerr, &s);
	rc = curl_easy_perform(h);
	ret = httpget_easy_result(h, rc, NULL, cerr, &s, &out->status, &out->content_type, &out->body, &out->len, err,
	    errlen);
done:
	buf_clear(&s.body);
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
