/* SPDX-License-Identifier: MIT */
/* httpclient: one HTTPS request (GET, HEAD or POST) to a URL, as an API client such as ACME makes it (libcurl). */
#include "httpclient.h"
#include "httpget_int.h"

#include "util.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_CONNECT_MS 10000L
#define DEFAULT_MAX_BODY (1024 * 1024)

/* the value of the last response's header NAME (its instance I), or NULL */
static const char *
header(CURL *h, const char *name, size_t i, size_t *amount)
{
	struct curl_header *hd;

	if (curl_easy_header(h, name, i, CURLH_HEADER, -1, &hd) != CURLHE_OK)
		return NULL;
	if (amount != NULL)
		*amount = hd->amount;
	return hd->value;
}

static char *
header_dup(CURL *h, const char *name)
{
	const char *v = header(h, name, 0, NULL);

	return v != NULL ? xstrdup(v) : NULL;
}

/* TARGET resolved against BASE (RFC 3986 section 5), owned by the caller; NULL when it cannot be */
static char *
resolve(const char *base, const char *target)
{
	CURLU *u = curl_url();
	char *s = NULL, *ret = NULL;

	if (u == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, target, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) {
		ret = xstrdup(s);
		curl_free(s);
	}
	curl_url_cleanup(u);
	return ret;
}

/* the first rel=REL target among every Link header of the response, resolved against URL */
static char *
link_of(CURL *h, const char *url, const char *rel)
{
	size_t i, amount = 1;
	const char *v;
	char *t, *abs;

	for (i = 0; i < amount; i++) {
		if ((v = header(h, "Link", i, &amount)) == NULL)
			return NULL;
		if ((t = httpclient_link_find(v, rel)) != NULL) {
			abs = resolve(url, t);
			free(t);
			return abs;
		}
	}
	return NULL;
}

/* the header line NAME VALUE (NAME with its ": ") appended to *HDRS: 0, or -1 when libcurl is out of memory */
static int
add_header(struct curl_slist **hdrs, const char *name, const char *value)
{
	char *line = xstrcat(name, value, (char *)NULL);
	struct curl_slist *l = curl_slist_append(*hdrs, line);

	free(line);
	if (l == NULL)
		return -1;
	*hdrs = l;
	return 0;
}

struct httpclient {
	CURL *h;	/* made at the first request; reset (its connections kept) before each next one */
	unsigned connects;	/* new connections made so far */
};

struct httpclient *
httpclient_new(void)
{
	return xcalloc(1, sizeof(struct httpclient));
}

void
httpclient_free(struct httpclient *hc)
{
	if (hc == NULL)
		return;
	if (hc->h != NULL)
		curl_easy_cleanup(hc->h);
	free(hc);
}

/* REQ on the fresh or reset handle H (its URL already checked) */
static int
request_on(CURL *h, const struct httpclient_request *req, struct httpclient_response *out, char *err,
    size_t errlen)
{
	char cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	struct httpget_sink s = { .max = req->max_body != 0 ? req->max_body : DEFAULT_MAX_BODY };
	CURLcode rc;
	int ret = -1;

	/* "Expect:" with no value: no "Expect: 100-continue" round trip before a POST body */
	if ((req->method == HTTPCLIENT_POST && req->content_type != NULL &&
		add_header(&hdrs, "Content-Type: ", req->content_type) < 0) ||
	    (req->accept != NULL && add_header(&hdrs, "Accept: ", req->accept) < 0) ||
	    (req->method == HTTPCLIENT_POST && add_header(&hdrs, "Expect:", "") < 0)) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	httpget_easy_setup(h, req->ca_file, req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS,
	    req->user_agent != NULL ? req->user_agent : "mtastsd/" MTASTSD_VERSION, cerr, &s);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
	    req->connect_timeout_ms > 0 ? req->connect_timeout_ms : DEFAULT_CONNECT_MS);
	if (hdrs != NULL)
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	switch (req->method) {
	case HTTPCLIENT_GET:
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		break;
	case HTTPCLIENT_HEAD:
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
		break;
	case HTTPCLIENT_POST:
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
		break;
	}
	rc = curl_easy_perform(h);
	if (httpget_easy_result(h, rc, req->url, cerr, &s, &out->status, &out->content_type, &out->body, &out->len, err,
		errlen) < 0)
		goto done;
	out->location = header_dup(h, "Location");
	out->replay_nonce = header_dup(h, "Replay-Nonce");
	out->retry_after = header_dup(h, "Retry-After");
	out->link_up = link_of(h, req->url, "up");
	out->link_index = link_of(h, req->url, "index");
	ret = 0;
done:
	buf_clear(&s.body);
	/* the handle outlives the request in a session: it must not keep pointers into it */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(hdrs);
	return ret;
}

static bool
url_ok(const struct httpclient_request *req, struct httpclient_response *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (req->url == NULL || !str_has_prefix_ci(req->url, "https://")) {
		snprintf(err, errlen, "'%.200s' is not an https:// URL", req->url != NULL ? req->url : "");
		return false;
	}
	return true;
}

int
httpclient_request(const struct httpclient_request *req, struct httpclient_response *out, char *err,
    size_t errlen)
{
	CURL *h;
	int ret;

	if (!url_ok(req, out, err, errlen))
		return -1;
	if ((h = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "cannot create a libcurl handle");
		return -1;
	}
	ret = request_on(h, req, out, err, errlen);
	curl_easy_cleanup(h);
	return ret;
}

int
httpclient_send(struct httpclient *hc, const struct httpclient_request *req, struct httpclient_response *out,
    char *err, size_t errlen)
{
	long n = 0;
	int ret;

	if (!url_ok(req, out, err, errlen))
		return -1;
	if (hc->h != NULL)
		curl_easy_reset(hc->h);
	else if ((hc->h = curl_easy_init()) == NULL) {
		snprintf(err, errlen, "cannot create a libcurl handle");
		return -1;
	}
	ret = request_on(hc->h, req, out, err, errlen);
	if (curl_easy_getinfo(hc->h, CURLINFO_NUM_CONNECTS, &n) == CURLE_OK && n > 0)
		hc->connects += (unsigned)n;
	return ret;
}

unsigned
httpclient_connections(const struct httpclient *hc)
{
	return hc->connects;
}

void
httpclient_response_clear(struct httpclient_response *r)
{
	if (r == NULL)
		return;
	free(r->content_type);
	free(r->location);
	free(r->replay_nonce);
	free(r->retry_after);
	free(r->link_up);
	free(r->link_index);
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* REL among the space-separated relation types of S[0..N) */
static bool
rel_has(const char *s, size_t n, const char *rel)
{
	size_t rl = strlen(rel), i = 0, j;

	while (i < n) {
		while (i < n && s[i] == ' ')
			i++;
		j = i;
		while (j < n && s[j] != ' ')
			j++;
		if (j - i == rl && str_eq_ci(s + i, rel, rl))
			return true;
		i = j;
	}
	return false;
}

char *
httpclient_link_find(const char *v, const char *rel)
{
	const char *p = v, *t, *te, *name, *val;
	size_t nlen, vlen;
	bool match;

	for (;;) {
		p = skip_ws(p);
		if (*p == '\0' || *p != '<')
			return NULL;
		t = p + 1;
		if ((te = strchr(t, '>')) == NULL)
			return NULL;
		p = te + 1;
		match = false;
		/* parameters: ; name[=token|"quoted"] */
		for (;;) {
			p = skip_ws(p);
			if (*p != ';')
				break;
			p = skip_ws(p + 1);
			name = p;
			while (*p != '\0' && *p != '=' && *p != ';' && *p != ',' && *p != ' ' && *p != '\t')
				p++;
			nlen = (size_t)(p - name);
			p = skip_ws(p);
			val = NULL;
			vlen = 0;
			if (*p == '=') {
				p = skip_ws(p + 1);
				if (*p == '"') {
					val = ++p;
					while (*p != '\0' && *p != '"') {
						if (*p == '\\' && p[1] != '\0')
							p++;
						p++;
					}
					if (*p != '"')
						return NULL;
					vlen = (size_t)(p - val);
					p++;
				} else {
					val = p;
					while (*p != '\0' && *p != ';' && *p != ',' && *p != ' ' && *p != '\t')
						p++;
					vlen = (size_t)(p - val);
				}
			}
			if (nlen == 3 && str_eq_ci(name, "rel", 3) && val != NULL && rel_has(val, vlen, rel))
				match = true;
		}
		if (match)
			return xstrndup(t, (size_t)(te - t));
		if (*p == ',')
			p++;
		else if (*p != '\0')
			return NULL;
	}
}

static const char *const MONTHS[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const DAYS[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const LONG_DAYS[7] = {
	"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
};

static int
month_of(const char *s)
{
	int i;

	for (i = 0; i < 12; i++)
		if (strncmp(s, MONTHS[i], 3) == 0)
			return i + 1;
	return -1;
}

/* a day name of LIST (case-sensitive, as RFC 9110 writes them) at *P, then advance past it */
static bool
day_name(const char **p, const char *const *list)
{
	size_t i, n;

	for (i = 0; i < 7; i++) {
		n = strlen(list[i]);
		if (strncmp(*p, list[i], n) == 0) {
			*p += n;
			return true;
		}
	}
	return false;
}

/* "hh:mm:ss" at P into seconds of the day */
static int
hms(const char *p, int64_t *secs)
{
	int h, m, s;

	if (p[2] != ':' || p[5] != ':')
		return -1;
	h = str_digits(p, 2);
	m = str_digits(p + 3, 2);
	s = str_digits(p + 6, 2);
	if (h < 0 || m < 0 || s < 0 || h > 23 || m > 59 || s > 60)
		return -1;
	*secs = h * 3600 + m * 60 + (s == 60 ? 59 : s);
	return 0;
}

static bool
date_valid(int64_t y, int mon, int d)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (mon < 1 || mon > 12 || d < 1 || d > mdays[mon - 1])
		return false;
	return !(mon == 2 && d == 29 && !leap);
}

/* the three HTTP-date forms of RFC 9110 section 5.6.7 in S[0..N): 0 and *OUT, else -1 */
static int
http_date(const char *s, size_t n, int64_t *out)
{
	const char *p = s;
	int64_t y, secs;
	int mon, d;

	if (day_name(&p, DAYS) && *p == ',' && n == 29) {
		/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
		if (p[1] != ' ' || p[4] != ' ' || p[8] != ' ' || p[13] != ' ' || strncmp(p + 22, " GMT", 4) != 0)
			return -1;
		d = str_digits(p + 2, 2);
		mon = month_of(p + 5);
		y = str_digits(p + 9, 4);
		if (hms(p + 14, &secs) < 0)
			return -1;
	} else if (p = s, day_name(&p, LONG_DAYS) && *p == ',' && n == (size_t)(p - s) + 24) {
		/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT; a two-digit year 00-69 is 20xx, 70-99 is 19xx */
		if (p[1] != ' ' || p[4] != '-' || p[8] != '-' || p[11] != ' ' || strncmp(p + 20, " GMT", 4) != 0)
			return -1;
		d = str_digits(p + 2, 2);
		mon = month_of(p + 5);
		if ((y = str_digits(p + 9, 2)) < 0)
			return -1;
		y += y < 70 ? 2000 : 1900;
		if (hms(p + 12, &secs) < 0)
			return -1;
	} else if (p = s, day_name(&p, DAYS) && *p == ' ' && n == 24) {
		/* asctime: Sun Nov  6 08:49:37 1994 */
		if (p[4] != ' ' || p[7] != ' ' || p[16] != ' ')
			return -1;
		mon = month_of(p + 1);
		d = p[5] == ' ' ? str_digits(p + 6, 1) : str_digits(p + 5, 2);
		y = str_digits(p + 17, 4);
		if (hms(p + 8, &secs) < 0)
			return -1;
	} else
		return -1;
	if (d < 0 || y < 0 || !date_valid(y, mon, d))
		return -1;
	*out = days_from_civil(y, (unsigned)mon, (unsigned)d) * 86400 + secs;
	return 0;
}

int
httpclient_retry_after(const char *v, time_t now, time_t cap, time_t *out)
{
	const char *s = skip_ws(v), *e;
	int64_t t, delta = 0;
	size_t n, i;

	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	n = (size_t)(e - s);
	if (n == 0)
		return -1;
	if (s[0] >= '0' && s[0] <= '9') {
		for (i = 0; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -1;
			if (delta < INT64_MAX / 10)
				delta = delta * 10 + (s[i] - '0');
		}
		t = delta > (int64_t)cap ? (int64_t)now + cap : (int64_t)now + delta;
	} else {
		if (http_date(s, n, &t) < 0)
			return -1;
		if (t < (int64_t)now)
			t = now;
		if (t > (int64_t)now + cap)
			t = (int64_t)now + cap;
	}
	*out = (time_t)t;
	return 0;
}
