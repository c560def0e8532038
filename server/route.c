/* SPDX-License-Identifier: MIT */
/* route: the pure request router; which answer a request gets from SNI, Host, method and path. */
#include "route.h"
#include "acmechal.h"
#include "dname.h"
#include "util.h"

#include <string.h>

#define BODY(s) s, sizeof(s) - 1

const struct route_answer route_answers[ROUTE_N_ANSWERS] = {
	{ 200, "OK", BODY("ok\n"), false, false },
	/* a malformed request may have desynchronised the stream */
	{ 400, "Bad Request", BODY("bad request\n"), false, true },
	{ 404, "Not Found", BODY("not found\n"), false, false },
	{ 405, "Method Not Allowed", BODY("method not allowed\n"), true, false },
	/* the client should retry on a connection whose SNI names the host it wants */
	{ 421, "Misdirected Request", BODY("misdirected request: the Host header does not match the TLS server name\n"),
	    false, true },
};

const struct route_answer *
route_answer(unsigned status)
{
	for (size_t i = 0; i < ROUTE_N_ANSWERS; i++)
		if (route_answers[i].status == status)
			return &route_answers[i];
	return NULL;
}

/* The result of BODY[0..LEN) with STATUS; HEAD: the same without sending the body. */
static struct route_result
result(unsigned status, const char *body, size_t len, bool head)
{
	struct route_result r = { status, NULL, "text/plain", NULL, body, len, !head, false, NULL, 0 };

	return r;
}

/* The fixed answer with STATUS (one of route_answers). */
static struct route_result
fixed(unsigned status, bool head)
{
	const struct route_answer *a = route_answer(status);
	struct route_result r = result(status, a->body, a->body_len, head);

	r.allow = a->allow ? ROUTE_ALLOW : NULL;
	return r;
}

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_unreserved(char c)
{
	return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool
is_sub_delim(char c)
{
	return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

/*
 * Check that S[0..LEN) is `uri-host [":" port]` (RFC 9110 section 7.2, RFC
 * 3986 section 3.2.2) and set NAME/NAME_LEN to the host without its port.
 * The port, when there is a colon, is 1 to 5 digits: an empty one is refused
 * (URI normalisers drop an empty port with its colon; no client sends one).
 */
static bool
parse_authority(const char *s, size_t len, const char **name, size_t *name_len)
{
	size_t i = 0;

	if (len > 0 && s[0] == '[') {
		/* an IP literal: never one of our hosts, but a valid Host */
		for (i = 1; i < len && s[i] != ']'; i++)
			if (!is_unreserved(s[i]) && !is_sub_delim(s[i]) && s[i] != ':')
				return false;
		if (i == len)
			return false;
		i++;
	} else {
		for (; i < len && s[i] != ':'; i++) {
			if (s[i] == '%' && i + 2 < len && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0)
				i += 2;
			else if (!is_unreserved(s[i]) && !is_sub_delim(s[i]))
				return false;
		}
	}
	*name = s;
	*name_len = i;
	if (i == len)
		return true;
	if (s[i] != ':' || len - i - 1 < 1 || len - i - 1 > 5)
		return false;
	for (i++; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* A Host field value: the authority between optional whitespace (RFC 9110 section 5.5). */
static bool
parse_host(const char *v, const char **name, size_t *name_len)
{
	size_t len;

	while (*v == ' ' || *v == '\t')
		v++;
	len = strlen(v);
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	return parse_authority(v, len, name, name_len);
}

/*
 * Compare the path P (up to a '?' or its end) with WANT after RFC 3986
 * section 6.2.2 normalisation: escapes of unreserved characters decoded,
 * every other escape kept. Returns 1 equal, 0 different, -1 when P holds a
 * byte no path may hold or a broken escape (the whole path is checked).
 */
static int
path_is(const char *p, const char *want)
{
	size_t w = 0;
	bool same = true;

	for (; *p != '\0' && *p != '?'; p++) {
		char c = *p;

		if (c == '%') {
			int h = hex_digit(p[1]), l = h < 0 ? -1 : hex_digit(p[2]);

			if (l < 0)
				return -1;
			c = (char)(h * 16 + l);
			p += 2;
			if (!is_unreserved(c)) {
				/* an escape that stays one cannot match a path without '%' */
				same = false;
				continue;
			}
		} else if (!is_unreserved(c) && !is_sub_delim(c) && c != ':' && c != '@' && c != '/') {
			return -1;
		}
		if (same && want[w] == c)
			w++;
		else
			same = false;
	}
	return same && want[w] == '\0';
}

/*
 * The rest of the path P (which path_is accepted) after a start that equals
 * WANT under the same normalisation, or NULL when it does not start so.
 */
static const char *
path_after(const char *p, const char *want)
{
	for (; *want != '\0'; want++) {
		char c = *p;

		if (c == '\0' || c == '?')
			return NULL;
		if (c == '%') {
			c = (char)(hex_digit(p[1]) * 16 + hex_digit(p[2]));
			if (!is_unreserved(c))
				return NULL;
			p += 3;
		} else {
			p++;
		}
		if (c != *want)
			return NULL;
	}
	return p;
}

/* An http-01 challenge request for the token at REST (up to the query): 200 with the token, 404 or 405. */
static struct route_result
acme_http01(const char *rest, const char *method, bool head)
{
	size_t len = strcspn(rest, "?");
	struct route_result r;

	if (!acmechal_token_ok(rest, len))
		return fixed(404, head);
	if (method == NULL || (!head && strcmp(method, "GET") != 0))
		return fixed(405, head);
	r = result(200, NULL, 0, head);
	r.acme_token = rest;
	r.acme_token_len = len;
	return r;
}

/*
 * Split an absolute-form target "http://authority/path" into its host and
 * path; false for any other scheme, a userinfo or an empty host.
 */
static bool
parse_absolute(const char *t, const char **name, size_t *name_len, const char **path)
{
	size_t skip, n;

	if (strlen(t) > 7 && str_eq_ci(t, "http://", 7))
		skip = 7;
	else if (strlen(t) > 8 && str_eq_ci(t, "https://", 8))
		skip = 8;
	else
		return false;
	t += skip;
	n = strcspn(t, "/?#");
	if (n == 0 || memchr(t, '@', n) != NULL || !parse_authority(t, n, name, name_len) || *name_len == 0)
		return false;
	*path = t + n;
	return true;
}

struct route_result
route(const struct snapshot *snap, const struct route_request *req)
{
	char sni_c[DNAME_MAX + 2], host_c[DNAME_MAX + 2];
	int sni_ok = -1, host_ok = -1;
	const char *name = NULL, *path = req->target, *rest;
	size_t name_len = 0;
	bool has_host = false;
	const struct site *site;
	bool head = req->method != NULL && strcmp(req->method, "HEAD") == 0;
	struct route_result r;
	int match;

	/* RFC 9112 section 3.2: 400 for a missing, repeated or invalid Host */
	if (req->n_host > 1 || (req->host == NULL && !req->http10))
		return fixed(400, head);
	if (req->host != NULL) {
		if (!parse_host(req->host, &name, &name_len))
			return fixed(400, head);
		has_host = true;
	}
	if (path == NULL || path[0] == '\0')
		return fixed(400, head);
	if (path[0] != '/' && strcmp(path, "*") != 0) {
		/* absolute-form: the target's authority names the host, the Host header does not count */
		if (!parse_absolute(req->target, &name, &name_len, &path))
			return fixed(400, head);
		has_host = true;
	}
	if ((match = path_is(path, ROUTE_POLICY_PATH)) < 0)
		return fixed(400, head);
	/* plain HTTP: the CA validates http-01 under whatever name it orders, ours or not yet ours */
	if (req->sni == NULL && !match && (rest = path_after(path, ROUTE_ACME_PREFIX)) != NULL)
		return acme_http01(rest, req->method, head);

	if (req->sni != NULL)
		sni_ok = dname_canon_host(req->sni, strlen(req->sni), false, sni_c, sizeof(sni_c));
	if (has_host)
		host_ok = dname_canon_host(name, name_len, false, host_c, sizeof(host_c));

	/* an SNI that is no host name cannot have passed the handshake; it does not count */
	if (sni_ok >= 0 && has_host && (host_ok < 0 || strcmp(sni_c, host_c) != 0))
		return fixed(421, head);
	if (has_host)
		name = host_ok < 0 ? NULL : host_c;
	else
		name = sni_ok < 0 ? NULL : sni_c;	/* HTTP/1.0 without Host: the SNI names the site */
	if (name == NULL || (site = snapshot_site(snap, name)) == NULL) {
		/* a policy host never has this path; a balancer checking a backend address does */
		if (req->sni == NULL && path_is(path, ROUTE_HEALTH_PATH) == 1) {
			if (req->method == NULL || (!head && strcmp(req->method, "GET") != 0))
				return fixed(405, head);
			r = fixed(200, head);
			r.health = true;
			return r;
		}
		return fixed(404, head);
	}
	if (!match)
		return fixed(404, head);
	if (req->method == NULL || (!head && strcmp(req->method, "GET") != 0))
		return fixed(405, head);
	r = result(200, site->body, site->body_len, head);
	r.site = site;
	return r;
}

struct route_result
route_bad_request(const struct route_request *req)
{
	return fixed(400, req->method != NULL && strcmp(req->method, "HEAD") == 0);
}

bool
route_connection_closes(const char *value)
{
	for (const char *p = value; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, ",");
		const char *b = p, *e = p + n;

		/* one comma-separated option, without the whitespace around it */
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e - b == 5 && str_eq_ci(b, "close", 5))
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}
