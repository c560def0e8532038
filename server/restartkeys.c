/* SPDX-License-Identifier: MIT */
/* restartkeys: the configuration keys that serve binds at start-up, which only a restart applies. */
#include "restartkeys.h"
#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/*
 * Everything else reloads: serve reads it from the published snapshot at
 * each use (trusted_proxies and log.access per request, dns.* at each
 * publication, domains and certificates at each reload, the watched folders
 * set up again after it). A listener's proxy_protocol and proxy_from are
 * part of the listener, bound with its socket.
 */

static bool
same_listener(const struct config_listener *a, const struct config_listener *b)
{
	return a->salen == b->salen && memcmp(&a->sa, &b->sa, a->salen) == 0 &&
	    a->proxy_protocol == b->proxy_protocol && a->n_proxy_from == b->n_proxy_from &&
	    (a->n_proxy_from == 0 ||
	    memcmp(a->proxy_from, b->proxy_from, a->n_proxy_from * sizeof(*a->proxy_from)) == 0);
}

static bool
same_listeners(const struct config_listener *a, size_t na, const struct config_listener *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!same_listener(&a[i], &b[i]))
			return false;
	return true;
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
same_https(const struct config *a, const struct config *b)
{
	return same_listeners(a->https, a->n_https, b->https, b->n_https);
}

static bool
same_http(const struct config *a, const struct config *b)
{
	return same_listeners(a->http, a->n_http, b->http, b->n_http);
}

static bool
same_admin(const struct config *a, const struct config *b)
{
	return (a->admin == NULL) == (b->admin == NULL) && (a->admin == NULL || same_listener(a->admin, b->admin));
}

/* connection_timeout, max_connections, max_connections_per_ip, max_header_size: MHD's options at start */
static bool
same_limits(const struct config *a, const struct config *b)
{
	return memcmp(&a->limits, &b->limits, sizeof(a->limits)) == 0;
}

/* privileges are dropped once, after binding */
static bool
same_identity(const struct config *a, const struct config *b)
{
	return same_str(a->user, b->user) && same_str(a->group, b->group);
}

static bool
same_certs_dir(const struct config *a, const struct config *b)
{
	return same_str(a->tls_certs, b->tls_certs);
}

static const struct restartkey {
	const char *name;	/* as the warning, /healthz and mtastsd_restart_pending name it */
	bool (*same)(const struct config *running, const struct config *cfg);
	unsigned only_with;	/* flags the key needs a restart under (0: always) */
} keys[] = {
	{ "listen.https", same_https, 0 },
	{ "listen.http", same_http, 0 },
	{ "listen.admin", same_admin, 0 },
	{ "limits", same_limits, 0 },
	{ "user/group", same_identity, 0 },
	{ "tls.certs", same_certs_dir, RESTARTKEYS_READER_LOCKED },
};

size_t
restartkeys_diff(const struct config *running, const struct config *cfg, unsigned flags, char *out, size_t len)
{
	struct buf b = {0};
	size_t n;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if ((keys[i].only_with & flags) != keys[i].only_with || keys[i].same(running, cfg))
			continue;
		buf_puts(&b, ", ");
		buf_puts(&b, keys[i].name);
	}
	n = b.len > 2 ? b.len - 2 : 0;
	if (len > 0)
		snprintf(out, len, "%s", n ? b.data + 2 : "");
	buf_free(&b);
	return n;
}
