/* SPDX-License-Identifier: MIT */
/* route: the pure request router; which answer a request gets from SNI, Host, method and path. */
#include "route.h"
#include "dname.h"
#include "util.h"

#include <string.h>

static const char body_404[] = "not found\n";
static const char body_405[] = "method not allowed\n";
static const char body_421[] = "misdirected request: the Host header does not match the TLS server name\n";

static struct route_result
fixed(unsigned status, const char *body, size_t len, bool head)
{
	struct route_result r = { status, NULL, "text/plain", NULL, body, len, !head };

	if (status == 405)
		r.allow = ROUTE_ALLOW;
	return r;
}

struct route_result
route(const struct snapshot *snap, const char *sni, const char *host, const char *method,
    const char *path)
{
	char sni_c[DNAME_MAX + 2], host_c[DNAME_MAX + 2];
	int sni_ok = -1, host_ok = -1;
	const char *name;
	const struct site *site;
	bool head = method != NULL && strcmp(method, "HEAD") == 0;
	struct route_result r;

	if (sni != NULL)
		sni_ok = dname_canon_host(sni, strlen(sni), false, sni_c, sizeof(sni_c));
	if (host != NULL)
		host_ok = dname_canon_host(host, strlen(host), true, host_c, sizeof(host_c));

	/* an SNI that is no host name cannot have passed the handshake; it does not count */
	if (sni_ok >= 0 && host != NULL && (host_ok < 0 || strcmp(sni_c, host_c) != 0))
		return fixed(421, body_421, sizeof(body_421) - 1, head);
	if (host != NULL)
		name = host_ok < 0 ? NULL : host_c;
	else
		name = sni_ok < 0 ? NULL : sni_c;	/* HTTP/1.0 without Host: the SNI names the site */
	if (name == NULL || (site = snapshot_site(snap, name)) == NULL)
		return fixed(404, body_404, sizeof(body_404) - 1, head);
	if (path == NULL || strcmp(path, ROUTE_POLICY_PATH) != 0)
		return fixed(404, body_404, sizeof(body_404) - 1, head);
	if (method == NULL || (!head && strcmp(method, "GET") != 0))
		return fixed(405, body_405, sizeof(body_405) - 1, head);
	r = fixed(200, site->body, site->body_len, head);
	r.site = site;
	return r;
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
