/* SPDX-License-Identifier: MIT */
/* restartkeys: the configuration keys that serve binds at start-up, which only a restart applies. */
#include "restartkeys.h"
#include "util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/*
 * Everything else reloads: serve reads it from the published snapshot at
 * each use (trusted_proxies and log.access per request, dns.* at each
 * publication, domains and certificates at each reload, the watched folders
 * set up again after it). A listener's proxy_protocol and proxy_from are
 * part of the listener, bound with its socket.
 *
 * Of acme, the storage folder and order are bound at start-up: the
 * orderer takes order.lock in the storage for the process's life (a
 * second orderer on it is refused), and the challenge responders and the
 * issued pairs are read from that folder. Adding or removing the section
 * changes both. The rest (directory, email, agree_terms, challenges,
 * ca_file, eab, pacing, and every domain's acme) is read from the
 * snapshot at each order and reloads.
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

static const char *
acme_storage(const struct config *c)
{
	return c->acme ? c->acme->storage : NULL;
}

static bool
same_acme_storage(const struct config *a, const struct config *b)
{
	return same_str(acme_storage(a), acme_storage(b));
}

/* no acme section orders nothing */
static bool
same_acme_order(const struct config *a, const struct config *b)
{
	return (a->acme != NULL && a->acme->order) == (b->acme != NULL && b->acme->order);
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
	{ "acme.storage", same_acme_storage, 0 },
	{ "acme.order", same_acme_order, 0 },
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
	buf_clear(&b);
	return n;
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void
copy_listener(struct config_listener *to, const struct config_listener *from)
{
	*to = *from;
	to->address = dup_or_null(from->address);
	to->proxy_from = NULL;
	if (from->n_proxy_from > 0) {
		to->proxy_from = xcalloc(from->n_proxy_from, sizeof(*to->proxy_from));
		memcpy(to->proxy_from, from->proxy_from, from->n_proxy_from * sizeof(*to->proxy_from));
	}
}

static struct config_listener *
copy_listeners(const struct config_listener *from, size_t n)
{
	struct config_listener *to = xcalloc(n ? n : 1, sizeof(*to));

	for (size_t i = 0; i < n; i++)
		copy_listener(&to[i], &from[i]);
	return to;
}

struct config *
restartkeys_copy(const struct config *cfg)
{
	struct config *k = xcalloc(1, sizeof(*k));

	domain_init(&k->defaults);
	k->path = dup_or_null(cfg->path);
	k->dir = dup_or_null(cfg->dir);
	k->https = copy_listeners(cfg->https, cfg->n_https);
	k->n_https = cfg->n_https;
	k->http = copy_listeners(cfg->http, cfg->n_http);
	k->n_http = cfg->n_http;
	if (cfg->admin != NULL) {
		k->admin = xcalloc(1, sizeof(*k->admin));
		copy_listener(k->admin, cfg->admin);
	}
	k->limits = cfg->limits;
	k->user = dup_or_null(cfg->user);
	k->group = dup_or_null(cfg->group);
	k->user_line = cfg->user_line;
	k->user_col = cfg->user_col;
	k->group_line = cfg->group_line;
	k->group_col = cfg->group_col;
	k->tls_certs = dup_or_null(cfg->tls_certs);
	if (cfg->acme != NULL) {
		k->acme = xcalloc(1, sizeof(*k->acme));
		k->acme->storage = dup_or_null(cfg->acme->storage);
		k->acme->order = cfg->acme->order;
		k->acme->line = cfg->acme->line;
		k->acme->col = cfg->acme->col;
	}
	return k;
}
