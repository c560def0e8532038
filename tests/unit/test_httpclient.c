/* SPDX-License-Identifier: MIT */
/* httpclient and httpget: GET, HEAD and POST against a local TLS server (headers, body, limits, CA), Link and Retry-After parsing. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "gencert.h"
#include "httpclient.h"
#include "httpget.h"
#include "util.h"

static struct MHD_Daemon *daemon_;
static unsigned port;
static char ca_path[] = "/tmp/test_httpclient.XXXXXX";
static char *cert_pem, *key_pem;

struct upload {
	struct buf body;
};

static enum MHD_Result
handler(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
    const char *data, size_t *size, void **req_cls)
{
	struct upload *u = *req_cls;
	struct MHD_Response *r;
	struct buf out = { 0 };
	const char *ct, *accept;
	enum MHD_Result ret;
	unsigned status = 200;

	(void)cls;
	(void)version;
	if (u == NULL) {
		*req_cls = xcalloc(1, sizeof(*u));
		return MHD_YES;
	}
	if (*size != 0) {
		buf_append(&u->body, data, *size);
		*size = 0;
		return MHD_YES;
	}
	ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
	if (strcmp(url, "/big") == 0) {
		size_t i;

		for (i = 0; i < 2000; i++)
			buf_puts(&out, "x");
	} else {
		buf_printf(&out, "%s|%s|%s|%s", method, ct != NULL ? ct : "-", accept != NULL ? accept : "-",
		    u->body.data != NULL ? u->body.data : "");
		status = strcmp(method, "POST") == 0 ? 201 : 200;
	}
	r = MHD_create_response_from_buffer(out.len, out.data != NULL ? out.data : (char *)"", MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Replay-Nonce", "nonce-1");
	MHD_add_response_header(r, "Location", "https://localhost/acct/7");
	MHD_add_response_header(r, "Retry-After", "7");
	MHD_add_response_header(r, "Link", "<https://elsewhere.example/alt>;rel=\"alternate\"");
	MHD_add_response_header(r, "Link", "</dir>;rel=\"index\", <../issuer/1> ; rel=\"up\"");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	buf_clear(&out);
	return ret;
}

static void
completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *req_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (u != NULL) {
		buf_clear(&u->body);
		free(u);
	}
	*req_cls = NULL;
}

static void
setup(void)
{
	static const char *const names[] = { "localhost" };
	struct gencert g = { .key = GENCERT_P256, .dns = names, .n_dns = 1, .version = 3, .ca = false,
		.not_after = time(NULL) + 86400 };
	gnutls_datum_t cert, key, pkcs8;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	char err[256];
	FILE *f;
	int fd;

	cr_assert_eq(httpget_init(err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(gencert_make(&g, &cert, &key, &pkcs8), 0);
	cert_pem = gencert_pem("CERTIFICATE", &cert);
	key_pem = gencert_pem("EC PRIVATE KEY", &key);
	gnutls_free(cert.data);
	gnutls_free(key.data);
	gnutls_free(pkcs8.data);
	cr_assert_geq(fd = mkstemp(ca_path), 0);
	cr_assert_not_null(f = fdopen(fd, "w"));
	fputs(cert_pem, f);
	fclose(f);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	daemon_ = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS, 0, NULL, NULL, handler, NULL,
	    MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	cr_assert_not_null(daemon_);
	port = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void
teardown(void)
{
	MHD_stop_daemon(daemon_);
	unlink(ca_path);
	free(cert_pem);
	free(key_pem);
	httpget_cleanup();
}

/* every request goes to 127.0.0.1: localhost may name ::1 first, where nothing listens */
static int
call(struct httpclient_request *req, const char *path, struct httpclient_response *res, char *err, size_t errlen)
{
	char url[256];

	snprintf(url, sizeof(url), "https://localhost:%u%s", port, path);
	req->url = url;
	if (req->ca_file == NULL)
		req->ca_file = ca_path;
	return httpclient_request(req, res, err, errlen);
}

TestSuite(httpclient_net, .init = setup, .fini = teardown);

Test(httpclient_net, post_sends_body_and_type_and_reads_the_headers)
{
	static const char jws[] = "{\"protected\":\"e30\",\"payload\":\"\",\"signature\":\"x\"}";
	struct httpclient_request req = { .method = HTTPCLIENT_POST, .content_type = "application/jose+json",
		.body = jws, .body_len = strlen(jws), .accept = "application/json" };
	struct httpclient_response res;
	char err[512] = "", want[512], base[128];

	cr_assert_eq(call(&req, "/acme/new-acct", &res, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(res.status, 201);
	snprintf(want, sizeof(want), "POST|application/jose+json|application/json|%s", jws);
	cr_assert_str_eq(res.body, want);
	cr_assert_eq(res.len, strlen(want));
	cr_assert_str_eq(res.content_type, "application/json");
	cr_assert_str_eq(res.replay_nonce, "nonce-1");
	cr_assert_str_eq(res.location, "https://localhost/acct/7");
	cr_assert_str_eq(res.retry_after, "7");
	/* the second Link header carries both; relative targets are resolved against the request's URL */
	snprintf(base, sizeof(base), "https://localhost:%u", port);
	snprintf(want, sizeof(want), "%s/dir", base);
	cr_assert_str_eq(res.link_index, want);
	snprintf(want, sizeof(want), "%s/issuer/1", base);
	cr_assert_str_eq(res.link_up, want);
	httpclient_response_clear(&res);
	cr_assert_null(res.body);
}

Test(httpclient_net, head_has_headers_and_no_body)
{
	struct httpclient_request req = { .method = HTTPCLIENT_HEAD };
	struct httpclient_response res;
	char err[512] = "";

	cr_assert_eq(call(&req, "/acme/new-nonce", &res, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(res.status, 200);
	cr_assert_str_eq(res.replay_nonce, "nonce-1");
	cr_assert_str_eq(res.body, "");
	cr_assert_eq(res.len, 0);
	httpclient_response_clear(&res);
}

Test(httpclient_net, get_and_empty_post)
{
	struct httpclient_request req = { .method = HTTPCLIENT_GET };
	struct httpclient_response res;
	char err[512] = "";

	cr_assert_eq(call(&req, "/dir", &res, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(res.body, "GET|-|*/*|");
	httpclient_response_clear(&res);
	req = (struct httpclient_request){ .method = HTTPCLIENT_POST, .content_type = "application/jose+json" };
	cr_assert_eq(call(&req, "/x", &res, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(res.body, "POST|application/jose+json|*/*|");
	httpclient_response_clear(&res);
}

/* a session: one connection for every request, each from libcurl's defaults (no NOBODY left from the HEAD) */
Test(httpclient_net, session_reuses_one_connection)
{
	static const char jws[] = "{\"payload\":\"\"}";
	struct httpclient *hc = httpclient_new();
	struct httpclient_request req;
	struct httpclient_response res;
	char err[512] = "", url[256];
	int i;

	snprintf(url, sizeof(url), "https://localhost:%u/x", port);
	for (i = 0; i < 3; i++) {
		req = (struct httpclient_request){ .method = HTTPCLIENT_POST, .url = url, .ca_file = ca_path,
			.content_type = "application/jose+json", .body = jws, .body_len = strlen(jws) };
		cr_assert_eq(httpclient_send(hc, &req, &res, err, sizeof(err)), 0, "%s", err);
		cr_expect_str_eq(res.body, "POST|application/jose+json|*/*|{\"payload\":\"\"}");
		httpclient_response_clear(&res);
		req = (struct httpclient_request){ .method = HTTPCLIENT_HEAD, .url = url, .ca_file = ca_path };
		cr_assert_eq(httpclient_send(hc, &req, &res, err, sizeof(err)), 0, "%s", err);
		cr_expect_str_eq(res.body, "");
		httpclient_response_clear(&res);
		req = (struct httpclient_request){ .method = HTTPCLIENT_GET, .url = url, .ca_file = ca_path };
		cr_assert_eq(httpclient_send(hc, &req, &res, err, sizeof(err)), 0, "%s", err);
		cr_expect_str_eq(res.body, "GET|-|*/*|");
		httpclient_response_clear(&res);
	}
	cr_expect_eq(httpclient_connections(hc), 1, "9 requests over %u connections", httpclient_connections(hc));
	req = (struct httpclient_request){ .method = HTTPCLIENT_GET, .url = "http://localhost/" };
	cr_expect_eq(httpclient_send(hc, &req, &res, err, sizeof(err)), -1);
	httpclient_free(hc);
}

Test(httpclient_net, body_over_the_limit_fails)
{
	struct httpclient_request req = { .method = HTTPCLIENT_GET, .max_body = 1000 };
	struct httpclient_response res;
	char err[512] = "";

	char want[128];

	cr_assert_eq(call(&req, "/big", &res, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "the body of https://localhost:%u/big is longer than 1000 bytes", port);
	cr_assert_str_eq(err, want);
	cr_assert_null(res.body);
	req.max_body = 2000;
	cr_assert_eq(call(&req, "/big", &res, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(res.len, 2000);
	httpclient_response_clear(&res);
}

Test(httpclient_net, wrong_ca_and_plain_http_fail)
{
	struct httpclient_request req = { .method = HTTPCLIENT_GET, .ca_file = "/dev/null" };
	struct httpclient_response res;
	char err[512] = "", url[128];

	cr_assert_eq(call(&req, "/dir", &res, err, sizeof(err)), -1);
	cr_assert(strstr(err, "https://localhost:") != NULL, "%s", err);
	snprintf(url, sizeof(url), "http://localhost:%u/dir", port);
	req = (struct httpclient_request){ .method = HTTPCLIENT_GET, .url = url };
	cr_assert_eq(httpclient_request(&req, &res, err, sizeof(err)), -1);
	cr_assert(strstr(err, "is not an https:// URL") != NULL, "%s", err);
}

/* httpget: the sender's GET, to HOST's name at 127.0.0.1:PORT, through the same transfer */
static int
fetch(const char *path, const char *ca_file, size_t max_body, struct httpget_response *res, char *err, size_t errlen)
{
	struct httpget_request req = { .host = "localhost", .path = path, .addr = "127.0.0.1", .port = port,
		.ca_file = ca_file, .timeout_ms = 10000, .max_body = max_body };

	return httpget_fetch(&req, res, err, errlen);
}

Test(httpclient_net, httpget_reads_status_type_and_body)
{
	struct httpget_response res;
	char err[512] = "";

	cr_assert_eq(fetch("/dir", ca_path, 1000, &res, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(res.status, 200);
	cr_expect_str_eq(res.content_type, "application/json");
	cr_expect_str_eq(res.body, "GET|-|*/*|");
	cr_expect_eq(res.len, strlen("GET|-|*/*|"));
	httpget_response_clear(&res);
	cr_expect_null(res.body);
}

Test(httpclient_net, httpget_body_over_the_limit_and_wrong_ca_fail)
{
	struct httpget_response res;
	char err[512] = "";

	cr_assert_eq(fetch("/big", ca_path, 1999, &res, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "the body is longer than 1999 bytes");
	cr_expect_null(res.body);
	cr_expect_null(res.content_type);
	cr_assert_eq(fetch("/big", ca_path, 2000, &res, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(res.len, 2000);
	cr_expect_eq(strlen(res.body), 2000);
	httpget_response_clear(&res);

	cr_assert_eq(fetch("/dir", "/dev/null", 1000, &res, err, sizeof(err)), -1);
	cr_expect_neq(err[0], '\0');
	cr_expect_null(strstr(err, "https://"), "httpget's messages do not name the URL: %s", err);
	cr_expect_null(res.body);
}

Test(httpclient, link_find)
{
	static const struct {
		const char *v, *rel, *want;
	} v[] = {
		{ "<https://ca/dir>;rel=\"index\"", "index", "https://ca/dir" },
		{ "<https://ca/dir>;rel=\"index\"", "up", NULL },
		{ "<https://ca/a>;rel=\"alternate\", <https://ca/up>; rel=up", "up", "https://ca/up" },
		{ "<https://ca/x> ; title=\"a,b;c\" ; REL=\"next UP\"", "up", "https://ca/x" },
		{ "<https://ca/x>;rel=\"upper\"", "up", NULL },
		{ "https://ca/x;rel=up", "up", NULL },
		{ "<https://ca/x;rel=up", "up", NULL },
		{ "<https://ca/x>;rel=\"up", "up", NULL },
		{ "", "up", NULL },
	};
	size_t i;
	char *got;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		got = httpclient_link_find(v[i].v, v[i].rel);
		if (v[i].want == NULL)
			cr_expect_null(got, "%zu: '%s' gave '%s'", i, v[i].v, got);
		else
			cr_expect(got != NULL && strcmp(got, v[i].want) == 0, "%zu: '%s' gave '%s'", i, v[i].v,
			    got != NULL ? got : "(null)");
		free(got);
	}
}

Test(httpclient, retry_after_both_forms)
{
	/* 1994-11-06T08:49:37Z */
	const time_t d = 784111777, cap = 86400;
	static const struct {
		const char *v;
		long long now_off;	/* NOW = d + this */
		int rc;
		long long want_off;	/* *OUT = d + this */
	} v[] = {
		{ "120", 0, 0, 120 },
		{ " 0 ", 0, 0, 0 },
		{ "999999999999999999999999", 0, 0, 86400 },	/* capped, no overflow */
		{ "Sun, 06 Nov 1994 08:49:37 GMT", -60, 0, 0 },
		{ "Sunday, 06-Nov-94 08:49:37 GMT", -60, 0, 0 },
		{ "Sun Nov  6 08:49:37 1994", -60, 0, 0 },
		{ "Sun, 06 Nov 1994 08:49:37 GMT", 60, 0, 60 },		/* in the past: now */
		{ "Mon, 07 Nov 1994 08:49:37 GMT", -86400 * 2, 0, -86400 },	/* capped at now + a day */
		{ "Tue, 29 Feb 2000 00:00:00 GMT", 0, 0, 86400 },	/* far ahead: capped */
		{ "-5", 0, -1, 0 },
		{ "12s", 0, -1, 0 },
		{ "", 0, -1, 0 },
		{ "Sun, 06 Nov 1994 08:49:37 UTC", 0, -1, 0 },
		{ "Sun, 31 Nov 1994 08:49:37 GMT", 0, -1, 0 },
		{ "Sun, 29 Feb 1900 08:49:37 GMT", 0, -1, 0 },
		{ "Sun, 06 Nov 1994 24:49:37 GMT", 0, -1, 0 },
		{ "sun, 06 nov 1994 08:49:37 GMT", 0, -1, 0 },
	};
	size_t i;
	time_t got;
	int rc;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		time_t now = d + (time_t)v[i].now_off;

		got = 0;
		rc = httpclient_retry_after(v[i].v, now, cap, &got);
		cr_expect_eq(rc, v[i].rc, "%zu: '%s' rc %d", i, v[i].v, rc);
		if (rc == 0 && v[i].rc == 0)
			cr_expect_eq((long long)got, (long long)d + v[i].want_off, "%zu: '%s' gave %lld", i, v[i].v,
			    (long long)got - (long long)d);
	}
	/* 2000-02-29 is a date: exactly */
	cr_assert_eq(httpclient_retry_after("Tue, 29 Feb 2000 00:00:00 GMT", 0, (time_t)1 << 40, &got), 0);
	cr_assert_eq((long long)got, 951782400LL);
}
