/* SPDX-License-Identifier: MIT */
/* config: loads the YAML configuration into plain data, validates it and reports every problem with its position. */
#include "config.h"
#include "acmejws.h"
#include "acmesched.h"
#include "acmestore.h"
#include "addr.h"
#include "cidr.h"
#include "dname.h"
#include "pool.h"
#include "tsigkey.h"
#include "util.h"
#include "vec.h"
#include "yamltree.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>	/* only for the node types, YAML_*_NODE */

struct ctx {
	struct ytree *t;
	struct diag_list *dl;
	struct config *cfg;		/* the main file being read; NULL for a tenant file */
	const struct config *base;	/* what domains inherit from (defaults, dns): CFG, or the main file's */
	const char *file;		/* the file being read, as each domain's `file` names it */
	struct config_domain *out;	/* parse_domains: the valid entries, in order */
	size_t n_out;
	struct hmap names;		/* parse_domains: name -> index in out + 1, when every entry was kept */
	/* an error in defaults is reported there once, not again by every domain inheriting it */
	bool defaults_mode_bad, defaults_mx_bad;
	/* where dns.state, dns.zone and domains_dir were written (0 when not) */
	int state_line, state_col, zone_line, zone_col, dir_line, dir_col;
	/* acme: the section was not a mapping (its later checks are skipped); where storage and challenges were written */
	bool acme_bad;
	char *acme_storage_as_written;
	int acme_storage_line, acme_storage_col, acme_challenges_line, acme_challenges_col;
};

/* Which per-domain fields a mapping set explicitly (the rest are inherited). */
struct fields_set {
	bool mode, max_age, mx, tlsrpt, name, acme;
};

#define LINE(n) ((n)->line)
#define COL(n) ((n)->col)
#define POS(n) LINE(n), COL(n)

#define ERR(c, n, ...) diag_add((c)->dl, DIAG_ERROR, POS(n), __VA_ARGS__)
#define WARN(c, n, ...) diag_add((c)->dl, DIAG_WARNING, POS(n), __VA_ARGS__)

/* The yamltree accessors under the short names the parsers below use. */
static struct ynode *
node(struct ctx *c, uint32_t i)
{
	return ytree_node(c->t, i);
}

static struct ynode *
kid(struct ctx *c, const struct ynode *n, size_t i)
{
	return ytree_kid(c->t, n, i);
}

#define sval(n) ytree_sval(n)
#define is_plain(n) ytree_is_plain(n)
#define is_null(n) ytree_is_null(n)
#define type_name(n) ytree_type_name(n)

/* A string value: any scalar (a number is taken as its text), not a list or mapping. */
static const char *
get_str(struct ctx *c, struct ynode *n, const char *key)
{
	if (n->type != YAML_SCALAR_NODE) {
		ERR(c, n, "'%s' must be a string, not %s", key, type_name(n));
		return NULL;
	}
	if (strlen(sval(n)) != n->length) {
		ERR(c, n, "'%s' contains a NUL character", key);
		return NULL;
	}
	return sval(n);
}

/* An optional string: NULL for an explicit null without error. */
static char *
dup_opt_str(struct ctx *c, struct ynode *n, const char *key)
{
	const char *s;

	if (is_null(n))
		return NULL;
	s = get_str(c, n, key);
	return s && s[0] ? xstrdup(s) : NULL;
}

static int
get_uint(struct ctx *c, struct ynode *n, const char *key, unsigned long min, unsigned long max,
    unsigned long *out)
{
	const char *v;
	unsigned long long x = 0;

	if (!is_plain(n) || is_null(n)) {
		ERR(c, n, "'%s' must be an integer, not %s", key,
		    n->type == YAML_SCALAR_NODE && !is_null(n) ? "a quoted string" : type_name(n));
		return -1;
	}
	v = sval(n);
	/* "-5" is a number out of range, not something that is not a number */
	if (v[0] == '-' && v[1] != '\0' && strspn(v + 1, "0123456789") == strlen(v + 1)) {
		ERR(c, n, "'%s' is out of range (%lu..%lu): %s", key, min, max, v);
		return -1;
	}
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9') {
			ERR(c, n, "'%s' must be an integer, not '%s'", key, v);
			return -1;
		}
		/* checked before the step: "18446744073709551619" must not wrap around to 3 */
		if (x > (ULONG_MAX - (unsigned long long)(*p - '0')) / 10) {
			ERR(c, n, "'%s' is out of range (%lu..%lu): '%s'", key, min, max, v);
			return -1;
		}
		x = x * 10 + (unsigned long long)(*p - '0');
	}
	if (x < min || x > max) {
		ERR(c, n, "'%s' is out of range (%lu..%lu): %llu", key, min, max, x);
		return -1;
	}
	*out = (unsigned long)x;
	return 0;
}

static int
get_bool(struct ctx *c, struct ynode *n, const char *key, bool *out)
{
	if (is_plain(n)) {
		const char *v = sval(n);
		if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0 ||
		    strcmp(v, "yes") == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0 ||
		    strcmp(v, "no") == 0) {
			*out = false;
			return 0;
		}
	}
	ERR(c, n, "'%s' must be true or false", key);
	return -1;
}

/*
 * Walk the pairs of a mapping, checking keys against KEYS (NULL-terminated).
 * Calls FN for every known, first-seen key. Unknown and repeated keys are errors.
 */
typedef void (*pair_fn)(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg);

static bool
walk_mapping(struct ctx *c, struct ynode *m, const char *where, const char *const *keys,
    pair_fn fn, void *arg)
{
	int first_line[32] = {0};	/* where keys[i] was first seen (0: not yet); no key list is longer */

	if (m->type != YAML_MAPPING_NODE) {
		ERR(c, m, "'%s' must be a mapping, not %s", where, type_name(m));
		return false;
	}
	for (size_t p = 0; p < m->n; p += 2) {
		struct ynode *k = kid(c, m, p), *v = kid(c, m, p + 1);
		const char *const *kk;
		size_t slot;

		if (k->type != YAML_SCALAR_NODE) {
			ERR(c, k, "keys in '%s' must be strings, not %s", where, type_name(k));
			continue;
		}
		if (strlen(sval(k)) != k->length) {	/* "mode\0x" must not pass for "mode" */
			ERR(c, k, "a key in '%s' contains a NUL character", where);
			continue;
		}
		for (kk = keys; *kk; kk++)
			if (strcmp(*kk, sval(k)) == 0)
				break;
		if (*kk == NULL) {
			ERR(c, k, "unknown key '%s' in '%s'", sval(k), where);
			continue;
		}
		/* remembered per known key, not searched: a mapping repeating one key stays linear */
		slot = (size_t)(kk - keys);
		if (slot < 32 && first_line[slot] != 0) {
			ERR(c, k, "duplicate key '%s' in '%s' (first at line %d)", sval(k), where,
			    first_line[slot]);
			continue;
		}
		if (slot < 32)
			first_line[slot] = k->line;
		fn(c, sval(k), k, v, arg);
	}
	return true;
}

/* ---------------------------------------------------------------- addresses */

static void
cidr_list(struct ctx *c, struct ynode *v, const char *key, struct cidr **out, size_t *n)
{
	char err[256];

	if (is_null(v))
		return;
	if (v->type != YAML_SEQUENCE_NODE) {
		ERR(c, v, "'%s' must be a list, not %s", key, type_name(v));
		return;
	}
	for (size_t it = 0; it < v->n; it++) {
		struct ynode *e = kid(c, v, it);
		const char *s = get_str(c, e, key);
		struct cidr cidr;

		if (s == NULL)
			continue;
		if (cidr_parse(s, &cidr, err, sizeof(err)) < 0) {
			ERR(c, e, "%s", err);
			continue;
		}
		/* not vec: the config keeps no capacity for its few addresses, read once per load */
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		(*out)[(*n)++] = cidr;
	}
}

static const char *const listener_keys[] = { "address", "proxy_protocol", "proxy_from", NULL };

struct listener_arg {
	struct config_listener *l;
	bool have_address;
	struct ynode *from_any;	/* "proxy_from: any", where written */
};

/* "proxy_from: any": every IPv4 and IPv6 source, written out so that nothing else treats "none" as "any" */
static void
cidr_list_any(struct cidr **out, size_t *n)
{
	/* not vec: the same list as cidr_list's, which keeps no capacity */
	*out = xreallocarray(*out, *n + 2, sizeof(**out));
	cidr_any(&(*out)[*n]);
	*n += 2;
}

static void
listener_pair(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg)
{
	struct listener_arg *la = arg;
	char err[256];
	(void)k;

	if (strcmp(key, "address") == 0) {
		const char *s = get_str(c, v, "address");
		if (s == NULL)
			return;
		la->have_address = true;
		la->l->address = xstrdup(s);
		la->l->line = LINE(v);
		la->l->col = COL(v);
		if (addr_parse(s, &la->l->sa, &la->l->salen, err, sizeof(err)) < 0)
			ERR(c, v, "%s", err);
	} else if (strcmp(key, "proxy_protocol") == 0) {
		get_bool(c, v, "proxy_protocol", &la->l->proxy_protocol);
	} else if (strcmp(key, "proxy_from") == 0) {
		if (is_plain(v) && strcmp(sval(v), "any") == 0) {
			la->from_any = v;
			cidr_list_any(&la->l->proxy_from, &la->l->n_proxy_from);
		} else {
			cidr_list(c, v, "proxy_from", &la->l->proxy_from, &la->l->n_proxy_from);
		}
	}
}

/* One listener: "ADDR:PORT" or {address, proxy_protocol, proxy_from}. Returns 0 when usable. */
static int
parse_listener(struct ctx *c, struct ynode *n, const char *where, struct config_listener *l)
{
	char err[256];

	memset(l, 0, sizeof(*l));
	l->line = LINE(n);
	l->col = COL(n);
	if (n->type == YAML_SCALAR_NODE) {
		const char *s = get_str(c, n, where);
		if (s == NULL)
			return -1;
		l->address = xstrdup(s);
		if (addr_parse(s, &l->sa, &l->salen, err, sizeof(err)) < 0) {
			ERR(c, n, "%s", err);
			return -1;
		}
		return 0;
	}
	if (n->type == YAML_MAPPING_NODE) {
		struct listener_arg la = { l, false, NULL };
		size_t errors = c->dl->errors;
		walk_mapping(c, n, where, listener_keys, listener_pair, &la);
		if (!la.have_address) {
			ERR(c, n, "listener in '%s' needs an 'address'", where);
			return -1;
		}
		if (l->n_proxy_from > 0 && !l->proxy_protocol)
			WARN(c, n, "'proxy_from' has no effect without 'proxy_protocol: true'");
		/*
		 * A PROXY header names the client: from anyone but the balancers it
		 * is a forged address, which also steps around max_connections_per_ip.
		 */
		if (l->proxy_protocol && l->n_proxy_from == 0 && c->dl->errors == errors)
			ERR(c, n, "listener '%s' with 'proxy_protocol: true' needs 'proxy_from' (the addresses of "
			    "the balancers), or 'proxy_from: any'", l->address);
		else if (l->proxy_protocol && la.from_any)
			WARN(c, la.from_any, "'proxy_from: any' on '%s': every client can claim any address in a "
			    "PROXY header", l->address);
		return c->dl->errors == errors ? 0 : -1;
	}
	ERR(c, n, "a listener in '%s' must be an address string or a mapping, not %s", where, type_name(n));
	return -1;
}

static void
listener_clear(struct config_listener *l)
{
	free(l->address);
	free(l->proxy_from);
	memset(l, 0, sizeof(*l));
}

static void
listener_list(struct ctx *c, struct ynode *v, const char *where, struct config_listener **out, size_t *n)
{
	if (is_null(v))
		return;
	if (v->type != YAML_SEQUENCE_NODE) {
		ERR(c, v, "'%s' must be a list of addresses, not %s", where, type_name(v));
		return;
	}
	for (size_t it = 0; it < v->n; it++) {
		struct config_listener l;
		if (parse_listener(c, kid(c, v, it), where, &l) < 0) {
			listener_clear(&l);
			continue;
		}
		/* not vec: the config keeps no capacity for its few listeners, read once per load */
		*out = xreallocarray(*out, *n + 1, sizeof(**out));
		(*out)[(*n)++] = l;
	}
}

static const char *const listen_keys[] = { "https", "http", "admin", "trusted_proxies", NULL };

static void
listen_pair(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg)
{
	struct config *cfg = c->cfg;
	(void)k;
	(void)arg;

	if (strcmp(key, "https") == 0) {
		for (size_t i = 0; i < cfg->n_https; i++)	/* replaces the default */
			listener_clear(&cfg->https[i]);
		cfg->n_https = 0;
		listener_list(c, v, "listen.https", &cfg->https, &cfg->n_https);
	} else if (strcmp(key, "http") == 0) {
		listener_list(c, v, "listen.http", &cfg->http, &cfg->n_http);
	} else if (strcmp(key, "admin") == 0) {
		if (cfg->admin) {
			listener_clear(cfg->admin);
			free(cfg->admin);
			cfg->admin = NULL;
		}
		if (is_null(v) || (v->type == YAML_SCALAR_NODE && sval(v)[0] == '\0'))
			return;
		cfg->admin = xcalloc(1, sizeof(*cfg->admin));
		if (parse_listener(c, v, "listen.admin", cfg->admin) < 0) {
			listener_clear(cfg->admin);
			free(cfg->admin);
			cfg->admin = NULL;
		}
	} else if (strcmp(key, "trusted_proxies") == 0) {
		cidr_list(c, v, "trusted_proxies", &cfg->trusted_proxies, &cfg->n_trusted_proxies);
	}
}

/* -------------------------------------------------------------- other sections */

static const char *const tls_keys[] = { "certs", NULL };

static void
tls_pair(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg)
{
	const char *s;
	(void)k;
	(void)arg;

	if (strcmp(key, "certs") == 0 && (s = get_str(c, v, "tls.certs")) != NULL) {
		if (s[0] == '\0') {
			ERR(c, v, "'tls.certs' must name a folder");
			return;
		}
		free(c->cfg->tls_certs);
		c->cfg->tls_certs = path_join(c->cfg->dir, s);
	}
}

static const char *const dns_keys[] = { "state", "zone", "ttl", "on_change", "host_target",
	"delegate_zone", "update", NULL };
static const char *const update_keys[] = { "server", "tsig", "timeout", "retry", "retry_max", NULL };
static const char *const tsig_keys[] = { "name", "algorithm", "secret_file", NULL };

/* dns.update.tsig while it is read: the key file is read once every key is known */
struct tsig_arg {
	const char *name, *alg, *file;
	struct ynode *file_node;
};

static void
tsig_pair(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg)
{
	struct tsig_arg *t = arg;
	const char *s = NULL;
	(void)k;

	if (strcmp(key, "name") == 0 && (s = get_str(c, v, "dns.update.tsig.name")) != NULL) {
		if (s[0] == '\0' || strlen(s) > 253 || strpbrk(s, " \t\r\n\"\\;{}") != NULL || strstr(s, "..") != NULL)
			ERR(c, v, "'dns.update.tsig.name' must be a domain name, not '%s'", s);
		t->name = s;
	} else if (strcmp(key, "algorithm") == 0 && (s = get_str(c, v, "dns.update.tsig.algorithm")) != NULL) {
		enum tsigkey_alg a;
		if (tsigkey_alg_parse(s, &a) < 0)
			ERR(c, v, "unknown TSIG algorithm '%s' (hmac-sha256, hmac-sha512 or hmac-sha1: ldns cannot "
			    "sign with any other)", s);
		t->alg = s;
	} else if (strcmp(key, "secret_file") == 0 && (s = get_str(c, v, "dns.update.tsig.secret_file")) != NULL) {
		t->file = s;
		t->file_node = v;
	}
}

/* what update_section checks once the mapping is read */
struct update_arg {
	bool tsig;
	struct ynode *retry_max;
};

static void
update_pair(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg)
{
	struct config_dns_update *u = c->cfg->dns_update;
	struct update_arg *ua = arg;
	unsigned long x;
	const char *s;
	(void)k;

	if (strcmp(key, "server") == 0 && (s = get_str(c, v, "dns.update.server")) != NULL) {
		/* the port may be left out: 53 */
		size_t len = strlen(s);
		char *addr = strchr(s, ':') == NULL || (s[0] == '[' && s[len - 1] == ']') ? xasprintf("%s:53", s) :
		    xstrdup(s), err[256];

		if (addr_parse(addr, &u->sa, &u->salen, err, sizeof(err)) < 0 && strlen(addr) > len)
			ERR(c, v, "'dns.update.server' must be an IP address (IPV4, [IPV6], with an optional :PORT), "
			    "not '%s'", s);
		else if (u->salen == 0)
			ERR(c, v, "'dns.update.server': %s", err);
		free(u->server);
		u->server = addr;
	} else if (strcmp(key, "tsig") == 0) {
		struct tsig_arg t = {0};
		ua->tsig = true;
		if (!walk_mapping(c, v, "dns.update.tsig", tsig_keys, tsig_pair, &t))
			return;
		if (t.file == NULL || t.file[0] == '\0') {
			ERR(c, v, "'dns.update.tsig' needs a 'secret_file'");
		} else {
			struct diag_list kdl;
			char err[1024];

			free(u->secret_file);
			u->secret_file = path_join(c->cfg->dir, t.file);
			tsigkey_clear(&u->key);
			diag_init(&kdl, "");
			if (tsigkey_load(u->secret_file, t.name, t.alg, &u->key, &kdl, err, sizeof(err)) < 0)
				ERR(c, t.file_node, "%s", err);
			else
				u->signed_ = true;
			for (size_t i = 0; i < kdl.n; i++)
				WARN(c, t.file_node, "%s", kdl.items[i].msg);
			diag_clear(&kdl);
		}
	} else if (strcmp(key, "timeout") == 0) {
		if (get_uint(c, v, "dns.update.timeout", 1, 60, &x) == 0)
			u->timeout = (unsigned)x;
	} else if (strcmp(key, "retry") == 0) {
		get_uint(c, v, "dns.update.retry", 1, 86400, &u->retry);
	} else if (strcmp(key, "retry_max") == 0) {
		get_uint(c, v, "dns.update.retry_max", 1, 7 * 86400, &u->retry_max);
		ua->retry_max = v;
	}
}

static void
update_free(struct config_dns_update *u)
{
	if (u == NULL)
		return;
	free(u->server);
	free(u->secret_file);
	tsigkey_clear(&u->key);
	free(u);
}

/* dns.update: a mapping, or nothing (no updates). */
static void
update_section(struct ctx *c, struct ynode *v)
{
	struct config_dns_update *u;
	struct update_arg ua = { false, NULL };

	update_free(c->cfg->dns_update);
	c->cfg->dns_update = NULL;
	if (is_null(v))
		return;
	u = c->cfg->dns_update = xcalloc(1, sizeof(*u));
	u->timeout = 3;
	u->retry = 60;
	u->retry_max = 3600;
	if (!walk_mapping(c, v, "dns.update", update_keys, update_pair, &ua))
		return;
	if (u->server == NULL)
		ERR(c, v, "'dns.update' needs a 'server' (IP address, optionally with :PORT)");
	if (!ua.tsig)
		WARN(c, v, "'dns.update' has no 'tsig': updates are sent unsigned");
	if (u->retry_max < u->retry)
		ERR(c, ua.retry_max ? ua.retry_max : v, "'dns.update.retry_max' (%lu) is shorter than 'dns.update.retry' (%lu)",
		    u->retry_max, u->retry);
}

static char *
normalized_host(struct ctx *c, struct ynode *v, const char *key)
{
	char err[512], *out;
	const char *s;

	if (is_null(v))
		return NULL;
	if ((s = get_str(c, v, key)) == NULL || s[0] == '\0')
		return NULL;
	if (dname_normalize(s, DNAME_HOST, &out, err, sizeof(err)) < 0) {
		ERR(c, v, "'%s': %s", key, err);
		return NULL;
	}
	return out;
}

static void
dns_pair(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg)
{
	struct config *cfg = c->cfg;
	const char *s;
	(void)k;
	(void)arg;

	if (strcmp(key, "state") == 0) {
		if ((s = get_str(c, v, "dns.state")) == NULL)
			return;
		if (s[0] == '\0') {
			ERR(c, v, "'dns.state' must name a file");
			return;
		}
		free(cfg->dns_state);
		cfg->dns_state = path_join(cfg->dir, s);
		c->state_line = v->line;
		c->state_col = v->col;
	} else if (strcmp(key, "zone") == 0) {
		free(cfg->dns_zone);
		cfg->dns_zone = NULL;
		if (!is_null(v) && (s = get_str(c, v, "dns.zone")) != NULL && s[0] != '\0') {
			cfg->dns_zone = path_join(cfg->dir, s);
			c->zone_line = v->line;
			c->zone_col = v->col;
		}
	} else if (strcmp(key, "ttl") == 0) {
		get_uint(c, v, "dns.ttl", 1, 2147483647UL, &cfg->dns_ttl);
	} else if (strcmp(key, "on_change") == 0) {
		cfg->dns_on_change = dup_opt_str(c, v, "dns.on_change");
	} else if (strcmp(key, "host_target") == 0) {
		cfg->dns_host_target = normalized_host(c, v, "dns.host_target");
	} else if (strcmp(key, "delegate_zone") == 0) {
		cfg->dns_delegate_zone = normalized_host(c, v, "dns.delegate_zone");
	} else if (strcmp(key, "update") == 0) {
		update_section(c, v);
	}
}

static const char *const limits_keys[] = { "connection_timeout", "max_connections",
	"max_connections_per_ip", "max_header_size", NULL };

static void
limits_pair(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg)
{
	struct config_limits *l = &c->cfg->limits;
	unsigned long x;
	(void)k;
	(void)arg;

	if (strcmp(key, "connection_timeout") == 0) {
		if (get_uint(c, v, "limits.connection_timeout", 1, 3600, &x) == 0)
			l->connection_timeout = (unsigned)x;
	} else if (strcmp(key, "max_connections") == 0) {
		if (get_uint(c, v, "limits.max_connections", 0, 1000000, &x) == 0)
			l->max_connections = (unsigned)x;
	} else if (strcmp(key, "max_connections_per_ip") == 0) {
		if (get_uint(c, v, "limits.max_connections_per_ip", 0, 1000000, &x) == 0)
			l->max_connections_per_ip = (unsigned)x;
	} else if (strcmp(key, "max_header_size") == 0) {
		if (get_uint(c, v, "limits.max_header_size", 1024, 1048576, &x) == 0)
			l->max_header_size = (unsigned)x;
	}
}

static const char *const log_keys[] = { "access", "level", NULL };

static void
log_pair(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg)
{
	(void)k;
	(void)arg;
	if (strcmp(key, "access") == 0) {
		get_bool(c, v, "log.access", &c->cfg->access_log);
	} else if (strcmp(key, "level") == 0) {
		const char *s = get_str(c, v, "log.level");
		if (s != NULL && log_level_parse(s, &c->cfg->log_level) < 0)
			ERR(c, v, "'log.level' must be debug, info, warn or error, not '%s'", s);
	}
}

/* ------------------------------------------------------------------ domains */

static bool
rua_char_ok(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != ',' && ch != ';' && ch != '!' && ch != '"' && ch != '\\';
}

/* Check one TLSRPT rua URI (RFC 8460 section 3). Returns NULL when valid, else a message. */
static const char *
check_rua(const char *s, char *err, size_t errlen)
{
	const char *rest;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (rua_char_ok(*p))
			continue;
		if (*p == '!')
			snprintf(err, errlen, "tlsrpt URI '%s' contains '!', which must be percent-encoded as %%21", s);
		else if (*p == ',' || *p == ';')
			snprintf(err, errlen, "tlsrpt URI '%s' contains '%c', which must be percent-encoded", s, *p);
		else
			snprintf(err, errlen, "tlsrpt URI '%s' contains a space, quote, backslash or non-ASCII character", s);
		return err;
	}
	if (str_has_prefix_ci(s, "mailto:")) {
		rest = s + 7;
		const char *at = strchr(rest, '@');
		if (at == NULL || at == rest || at[1] == '\0' || strchr(at + 1, '@') != NULL ||
		    strchr(at + 1, '.') == NULL) {
			snprintf(err, errlen, "tlsrpt URI '%s' is not a mailto: URI with one address", s);
			return err;
		}
		return NULL;
	}
	if (str_has_prefix_ci(s, "https:")) {
		rest = s + 6;
		if (rest[0] != '/' || rest[1] != '/' || rest[2] == '\0' || rest[2] == '/') {
			snprintf(err, errlen, "tlsrpt URI '%s' is not an https:// URL with a host", s);
			return err;
		}
		return NULL;
	}
	snprintf(err, errlen, "tlsrpt URI '%s' must use mailto: or https:", s);
	return err;
}

static bool
in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/*
 * Whether S is already in L: a scan while the list is short,
 * then a hash set (SET, borrowing the strings), so a list of thousands of
 * entries is not quadratic. The caller releases SET with hmap_clear.
 */
static bool
seen_before(struct hmap *set, const struct strlist *l, const char *s)
{
	const char *const *list = strlist_items(l);
	size_t n = strlist_len(l);

	if (set->cap == 0) {
		if (n < 16)
			return in_list(list, n, s);
		for (size_t i = 0; i < n; i++)
			hmap_put(set, list[i], (void *)(uintptr_t)1);
	}
	return hmap_put(set, s, (void *)(uintptr_t)1) != NULL;
}

static void
mx_list(struct ctx *c, struct ynode *v, const char *where, struct config_domain *d)
{
	struct hmap set = {0};
	char err[512];

	strlist_unref(d->mx);
	d->mx = NULL;
	if (is_null(v))
		return;
	if (v->type != YAML_SEQUENCE_NODE) {
		ERR(c, v, "'%s.mx' must be a list of host names, not %s", where, type_name(v));
		return;
	}
	for (size_t it = 0; it < v->n; it++) {
		struct ynode *e = kid(c, v, it);
		const char *s = get_str(c, e, "mx");
		char *norm;

		if (s == NULL)
			continue;
		if (dname_normalize(s, DNAME_MX_PATTERN, &norm, err, sizeof(err)) < 0) {
			ERR(c, e, "invalid mx: %s", err);
			continue;
		}
		if (seen_before(&set, d->mx, norm)) {
			free(norm);
			continue;
		}
		if (norm[0] == '*')
			WARN(c, e, "wildcard mx '%s' accepts any host directly under '%s'", norm, norm + 2);
		strlist_push(&d->mx, norm);
	}
	hmap_clear(&set);
}

static void
rua_list(struct ctx *c, struct ynode *v, const char *where, struct config_domain *d)
{
	struct hmap set = {0};
	char err[512];

	strlist_unref(d->tlsrpt);
	d->tlsrpt = NULL;
	if (is_null(v))
		return;
	if (v->type != YAML_SEQUENCE_NODE) {
		ERR(c, v, "'%s.tlsrpt' must be a list of mailto: or https: URIs, not %s", where, type_name(v));
		return;
	}
	for (size_t it = 0; it < v->n; it++) {
		struct ynode *e = kid(c, v, it);
		const char *s = get_str(c, e, "tlsrpt");

		if (s == NULL)
			continue;
		if (check_rua(s, err, sizeof(err)) != NULL) {
			ERR(c, e, "%s", err);
			continue;
		}
		if (seen_before(&set, d->tlsrpt, s))
			continue;
		strlist_push(&d->tlsrpt, xstrdup(s));
	}
	hmap_clear(&set);
}

static const char *const domain_keys[] = { "name", "mode", "max_age", "mx", "tlsrpt", "zone", "acme", NULL };
static const char *const defaults_keys[] = { "mode", "max_age", "mx", "tlsrpt", "acme", NULL };

struct domain_arg {
	struct config_domain *d;
	struct fields_set set;
	const char *where;
	struct ynode *name_node;
	struct ynode *mx_node;
	struct ynode *zone_node;
};

static void domain_field(struct ctx *, const char *, struct ynode *, struct ynode *, void *);

static void
domain_pair(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg)
{
	struct domain_arg *da = arg;
	size_t errors = c->dl->errors;

	domain_field(c, key, k, v, arg);
	if (c->cfg != NULL && da->d == &c->cfg->defaults && c->dl->errors != errors) {
		if (strcmp(key, "mode") == 0)
			c->defaults_mode_bad = true;
		else if (strcmp(key, "mx") == 0)
			c->defaults_mx_bad = true;
	}
}

static void
domain_field(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg)
{
	struct domain_arg *da = arg;
	struct config_domain *d = da->d;
	char err[512];
	const char *s;
	unsigned long x;
	(void)k;

	if (strcmp(key, "name") == 0) {
		da->set.name = true;
		da->name_node = v;
		if ((s = get_str(c, v, "name")) == NULL)
			return;
		if (dname_normalize(s, DNAME_DOMAIN, &d->name, err, sizeof(err)) < 0) {
			ERR(c, v, "invalid domain: %s", err);
			return;
		}
		if (strncmp(d->name, "mta-sts.", 8) == 0)
			WARN(c, v, "domain '%s' starts with 'mta-sts.': its policy host is 'mta-sts.%s'",
			    d->name, d->name);
	} else if (strcmp(key, "mode") == 0) {
		da->set.mode = true;
		if ((s = get_str(c, v, "mode")) == NULL)
			return;
		if (strcmp(s, "enforce") == 0)
			d->mode = POLICY_MODE_ENFORCE;
		else if (strcmp(s, "testing") == 0)
			d->mode = POLICY_MODE_TESTING;
		else if (strcmp(s, "none") == 0)
			d->mode = POLICY_MODE_NONE;
		else
			ERR(c, v, "'mode' must be enforce, testing or none, not '%s'", s);
	} else if (strcmp(key, "max_age") == 0) {
		da->set.max_age = true;
		if (get_uint(c, v, "max_age", 1, POLICY_MAX_AGE_MAX, &x) == 0) {
			d->max_age = x;
			if (x < 86400)
				WARN(c, v, "max_age %lu is under a day; RFC 8461 recommends weeks or more", x);
		}
	} else if (strcmp(key, "mx") == 0) {
		da->set.mx = true;
		da->mx_node = v;
		mx_list(c, v, da->where, d);
	} else if (strcmp(key, "tlsrpt") == 0) {
		da->set.tlsrpt = true;
		rua_list(c, v, da->where, d);
	} else if (strcmp(key, "zone") == 0) {
		/* the name is checked against the domain once both are read */
		free(d->zone);
		d->zone = normalized_host(c, v, "zone");
		da->zone_node = v;
	} else if (strcmp(key, "acme") == 0) {
		da->set.acme = true;
		get_bool(c, v, "acme", &d->acme);
	}
}

/* The largest policy body we emit: POLICY_MAX_BODY, which policy_parse also enforces. */
#define CONFIG_MAX_BODY 65536

/* Length of the body policy_render would produce for D, without rendering it. */
static size_t
body_length(const struct config_domain *d)
{
	char num[32];
	size_t len = strlen("version: STSv1\r\nmode: \r\nmax_age: \r\n") + strlen(policy_mode_name(d->mode));

	len += (size_t)snprintf(num, sizeof(num), "%lu", d->max_age);
	for (size_t i = 0; i < strlist_len(d->mx); i++)
		len += strlen("mx: \r\n") + strlen(d->mx->v[i]);
	return len;
}

/* Every entry whose name is valid, erroneous or not, so a duplicate is reported either way. */
struct seen_names {
	struct hmap map;	/* name -> index + 1 into pos[] */
	struct { int line, col; } *pos;
	size_t n;
	char **dropped;		/* names of entries not kept (the map borrows them) */
	size_t n_dropped, cap_dropped;
};

static void
note_name(struct ctx *c, struct seen_names *seen, const char *name, int line, int col)
{
	void *first;

	seen->pos[seen->n].line = line;
	seen->pos[seen->n].col = col;
	first = hmap_put(&seen->map, name, (void *)(uintptr_t)(seen->n + 1));
	if (first != NULL) {
		size_t i = (size_t)(uintptr_t)first - 1;
		diag_add(c->dl, DIAG_ERROR, line, col, "duplicate domain '%s' (first at line %d:%d)", name,
		    seen->pos[i].line, seen->pos[i].col);
	}
	seen->n++;
}

/*
 * Entry N into *OUT (built here; its name set whenever the name is valid, so
 * that duplicates are found either way). True when the entry has no error
 * of its own. Reads the tree and C's base only and writes C's diagnostics,
 * so slices of a list run on several threads, each with its own C.
 */
static bool
parse_domain(struct ctx *c, struct ynode *n, struct config_domain *out)
{
	const struct config *base = c->base;
	struct config_domain d;
	struct domain_arg da = { &d, {0}, "domains[]", NULL, NULL, NULL };
	struct ynode *pos = n;
	size_t errors = c->dl->errors;
	char err[512];

	domain_init(&d);
	if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
		/* shorthand: a bare name takes every field from defaults */
		const char *s = get_str(c, n, "name");
		da.set.name = true;
		pos = n;
		if (s && dname_normalize(s, DNAME_DOMAIN, &d.name, err, sizeof(err)) < 0)
			ERR(c, n, "invalid domain: %s", err);
	} else if (n->type == YAML_MAPPING_NODE) {
		walk_mapping(c, n, "domains[]", domain_keys, domain_pair, &da);
		if (!da.set.name)
			ERR(c, n, "domain entry needs a 'name'");
		else if (da.name_node)
			pos = da.name_node;
	} else {
		ERR(c, n, "a domain entry must be a name or a mapping, not %s", type_name(n));
		*out = d;
		return false;
	}
	if (!da.set.mode)
		d.mode = base->defaults.mode;
	if (!da.set.max_age)
		d.max_age = base->defaults.max_age;
	/* inherited lists are shared with the defaults, not copied */
	if (!da.set.mx)
		d.mx = strlist_ref(base->defaults.mx);
	if (!da.set.tlsrpt)
		d.tlsrpt = strlist_ref(base->defaults.tlsrpt);
	if (!da.set.acme)
		d.acme = base->defaults.acme;
	d.file = c->file;
	d.line = LINE(pos);
	d.col = COL(pos);
	if (d.name && d.zone) {
		size_t nl = strlen(d.name), zl = strlen(d.zone);
		if (!(nl == zl || (nl > zl && d.name[nl - zl - 1] == '.')) || strcmp(d.name + nl - zl, d.zone) != 0)
			ERR(c, da.zone_node, "'zone': domain '%s' is not inside the zone '%s'", d.name, d.zone);
		/* dns is parsed before domains: the records go under the provider's zone, never into this one */
		else if (base->dns_delegate_zone != NULL)
			ERR(c, da.zone_node, "'zone': with dns.delegate_zone the records of '%s' live under '%s', not in "
			    "the zone '%s': remove 'zone'", d.name, base->dns_delegate_zone, d.zone);
	}
	if (d.name && d.mode != POLICY_MODE_NONE && strlist_len(d.mx) == 0 && c->dl->errors == errors &&
	    !(!da.set.mode && c->defaults_mode_bad) && !(!da.set.mx && c->defaults_mx_bad))
		ERR(c, pos, "domain '%s' in mode %s needs at least one mx", d.name, policy_mode_name(d.mode));
	if (d.name && c->dl->errors == errors && body_length(&d) > CONFIG_MAX_BODY)
		ERR(c, da.mx_node ? da.mx_node : pos,
		    "the policy of '%s' would be %zu bytes; senders may refuse more than %d (RFC 8461 section 3.3)",
		    d.name, body_length(&d), CONFIG_MAX_BODY);
	*out = d;
	return c->dl->errors == errors && d.name != NULL;
}

/* A list's entries [FROM, TO) parsed with a context and diagnostics of their own. */
struct slice {
	struct ctx c;
	struct diag_list dl;
	size_t from, to;
};

struct slices {
	struct ynode *list;
	struct config_domain *v;	/* one per entry, in list order */
	bool *ok;			/* entry I has no error of its own */
	struct slice *s;
};

/* pool_fn: parse slice K of the struct slices CTX. */
static void
parse_slice(void *ctx, size_t k)
{
	struct slices *ss = ctx;
	struct slice *sl = &ss->s[k];

	for (size_t i = sl->from; i < sl->to; i++)
		ss->ok[i] = parse_domain(&sl->c, kid(&sl->c, ss->list, i), &ss->v[i]);
}

/* A main file's list this long is parsed on several threads (tenant files already are, one file each). */
#define PARALLEL_DOMAINS 20000

/* A main file this long is read by libyaml on several threads, its domains list cut in pieces (ytree). */
#define PARALLEL_YAML_BYTES (1024 * 1024)

/* The entries of the list V into c->out[0..c->n_out) (allocated here); duplicates within it are errors. */
static void
parse_domains(struct ctx *c, struct ynode *v)
{
	struct seen_names seen = {0};
	struct slices ss = { .list = v };
	size_t n_slices = 1;
	unsigned threads = 1;

	c->out = NULL;
	c->n_out = 0;
	if (is_null(v))
		return;
	if (v->type != YAML_SEQUENCE_NODE) {
		if (c->cfg != NULL)
			ERR(c, v, "'domains' must be a list, not %s", type_name(v));
		else
			ERR(c, v, "a tenant file must be a list of domain entries (as under 'domains:'), not %s",
			    type_name(v));
		return;
	}
	/* the entries are parsed into their slots, on several threads for a long list of the main file */
	ss.v = xcalloc(v->n + 1, sizeof(*ss.v));
	ss.ok = xcalloc(v->n + 1, sizeof(*ss.ok));
	if (c->cfg != NULL && v->n >= PARALLEL_DOMAINS && (threads = pool_threads(4)) > 1)
		n_slices = 4 * (size_t)threads;
	ss.s = xcalloc(n_slices, sizeof(*ss.s));
	for (size_t k = 0; k < n_slices; k++) {
		ss.s[k].c = *c;
		ss.s[k].from = v->n * k / n_slices;
		ss.s[k].to = v->n * (k + 1) / n_slices;
		if (n_slices > 1) {
			diag_init(&ss.s[k].dl, c->dl->file);
			ss.s[k].c.dl = &ss.s[k].dl;
		}
	}
	pool_run_each(n_slices, threads, parse_slice, &ss);
	for (size_t k = 0; n_slices > 1 && k < n_slices; k++) {
		diag_take(c->dl, &ss.s[k].dl);
		diag_clear(&ss.s[k].dl);
	}
	/* then in list order: duplicates (the first one stays), and the valid entries kept */
	c->out = ss.v;
	seen.pos = xcalloc(v->n + 1, sizeof(*seen.pos));
	hmap_reserve(&seen.map, v->n);
	for (size_t i = 0; i < v->n; i++) {
		struct config_domain *d = &ss.v[i];
		size_t errors = c->dl->errors;

		if (d->name != NULL) {
			note_name(c, &seen, d->name, d->line, d->col);
			ss.ok[i] = ss.ok[i] && c->dl->errors == errors;
		}
		if (!ss.ok[i]) {
			if (d->name != NULL) {
				/* the map borrows it until the end */
				VEC_PUSH(seen.dropped, seen.n_dropped, seen.cap_dropped, d->name);
				d->name = NULL;
			}
			domain_clear(d);
			continue;
		}
		/* in place: n_out <= i */
		if (c->n_out != i)
			c->out[c->n_out] = *d;
		c->n_out++;
	}
	/* every entry kept: the duplicate check's map is the lookup (index + 1 into out), not hashed again */
	if (c->n_out == v->n)
		c->names = seen.map;
	else
		hmap_clear(&seen.map);
	for (size_t i = 0; i < seen.n_dropped; i++)
		free(seen.dropped[i]);
	free(seen.dropped);
	free(seen.pos);
	free(ss.ok);
	free(ss.s);
}

/* --------------------------------------------------------------------- top */

static const char *const top_keys[] = { "user", "group", "listen", "tls", "dns", "limits", "log",
	"defaults", "domains", "domains_dir", "acme", NULL };

/*
 * dns.zone must not be the state file or one of the files kept beside it
 * (STATE.lock, STATE.serving, STATE.pending, STATE.update, STATE.tmp.*): rewriting the
 * zone would replace or lock against the ids.
 */
static void
check_dns_paths(struct ctx *c)
{
	static const char *const beside[] = { ".lock", ".serving", ".pending", ".update", NULL };
	const char *zone = c->cfg->dns_zone, *state = c->cfg->dns_state;
	int line = c->zone_line ? c->zone_line : c->state_line, col = c->zone_line ? c->zone_col : c->state_col;
	size_t sl;

	if (zone == NULL || state == NULL)
		return;
	sl = strlen(state);
	if (strcmp(zone, state) == 0) {
		diag_add(c->dl, DIAG_ERROR, line, col, "'dns.zone' is the state file '%s' (dns.state): give it its own file",
		    state);
		return;
	}
	if (strncmp(zone, state, sl) != 0)
		return;
	for (size_t i = 0; beside[i] != NULL; i++)
		if (strcmp(zone + sl, beside[i]) == 0 || (strncmp(zone + sl, ".tmp.", 5) == 0 && i == 0)) {
			diag_add(c->dl, DIAG_ERROR, line, col,
			    "'dns.zone' is '%s', a file mtastsd keeps beside the state file '%s' (dns.state): give it its own file",
			    zone, state);
			return;
		}
}

/*
 * PATH made absolute (when RESOLVE) and free of ".", ".." and repeated
 * slashes; with RESOLVE, symbolic links are resolved as far as the path
 * exists. Owned by the caller.
 */
static char *
canon_path(const char *path, bool resolve)
{
	struct buf out = {0};
	char *abs = NULL, *r, *copy, *save = NULL;
	size_t *marks = NULL, n_marks = 0, cap_marks = 0;

	if (resolve) {
		char *dir, cwd[PATH_MAX];
		const char *slash = strrchr(path, '/');

		if ((r = realpath(path, NULL)) != NULL)
			return r;
		dir = path_dirname(path);
		r = realpath(dir, NULL);
		free(dir);
		if (r != NULL) {
			abs = xasprintf("%s/%s", strcmp(r, "/") == 0 ? "" : r, slash ? slash + 1 : path);
			free(r);
			path = abs;
		} else if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL) {
			abs = xasprintf("%s/%s", cwd, path);
			path = abs;
		}
	}
	copy = xstrdup(path);
	for (char *part = strtok_r(copy, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0 && n_marks > 0) {
			out.len = marks[--n_marks];
			continue;
		}
		VEC_PUSH(marks, n_marks, cap_marks, out.len);
		if (out.len > 0 || path[0] == '/')
			buf_puts(&out, "/");
		buf_puts(&out, part);
	}
	if (out.len == 0)
		buf_puts(&out, path[0] == '/' ? "/" : ".");
	free(copy);
	free(marks);
	free(abs);
	return out.data;
}

/* INNER is OUTER or lies below it (both canonical). */
static bool
path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	if (strcmp(outer, "/") == 0)
		return inner[0] == '/';
	return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

/* Two existing paths name one file (a hard link, or links resolved to it). */
static bool
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* ----------------------------------------------------------------- acme */

static const char *const acme_keys[] = { "directory", "email", "agree_terms", "storage", "order", "challenges",
	"ca_file", "eab", "pacing", NULL };
static const char *const eab_keys[] = { "kid", "hmac_key", NULL };
static const char *const pacing_keys[] = { "burst", "period", NULL };

static const char *const challenge_names[CONFIG_ACME_N_CHALLENGES] = { "tls-alpn-01", "http-01" };

const char *
config_acme_challenge_name(enum config_acme_challenge t)
{
	return (unsigned)t < CONFIG_ACME_N_CHALLENGES ? challenge_names[t] : "?";
}

/* what acme_section and the checks after the listeners need once the mapping is read */
struct acme_arg {
	bool terms_seen, terms;
	int terms_line, terms_col;
	struct ynode *pacing_node;
};

/* An https:// URL with a host and nothing a URL may not hold unescaped. */
static bool
https_url_ok(const char *s)
{
	if (strncmp(s, "https://", 8) != 0 || s[8] == '\0' || s[8] == '/' || s[8] == ':')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\')
			return false;
	return true;
}

/* local@domain: an RFC 5322 dot-atom local part, a domain of LDH labels with at least one dot. */
static bool
email_ok(const char *s)
{
	const char *at = strchr(s, '@'), *dom;
	size_t label = 0;

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL || s[0] == '.' || at[-1] == '.')
		return false;
	for (const char *p = s; p < at; p++)
		if (!(((unsigned char)*p < 0x80 && isalnum((unsigned char)*p)) || strchr("!#$%&'*+-/=?^_`{|}~.", *p)) ||
		    (p[0] == '.' && p[1] == '.'))
			return false;
	dom = at + 1;
	if (strchr(dom, '.') == NULL || strlen(dom) > 253)
		return false;
	for (const char *p = dom;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63 || p[-1] == '-')
				return false;
			if (*p == '\0')
				return true;
			label = 0;
			continue;
		}
		if (!((unsigned char)*p < 0x80 && (isalnum((unsigned char)*p) || (*p == '-' && label > 0))))
			return false;
		label++;
	}
}

static void
challenge_list(struct ctx *c, struct ynode *v, struct config_acme *a)
{
	bool seen[CONFIG_ACME_N_CHALLENGES] = {false};
	size_t errors = c->dl->errors;

	a->n_challenges = 0;
	if (v->type != YAML_SEQUENCE_NODE || v->n == 0) {
		ERR(c, v, "'acme.challenges' must be a list of tls-alpn-01 and http-01, in the order to try them");
		return;
	}
	for (size_t it = 0; it < v->n; it++) {
		struct ynode *e = kid(c, v, it);
		const char *s = get_str(c, e, "acme.challenges");
		size_t t;

		if (s == NULL)
			continue;
		for (t = 0; t < CONFIG_ACME_N_CHALLENGES; t++)
			if (strcmp(s, challenge_names[t]) == 0)
				break;
		if (t == CONFIG_ACME_N_CHALLENGES) {
			ERR(c, e, "unknown challenge type '%s' in 'acme.challenges' (tls-alpn-01 or http-01)", s);
			continue;
		}
		if (seen[t]) {
			ERR(c, e, "challenge type '%s' is listed twice in 'acme.challenges'", s);
			continue;
		}
		seen[t] = true;
		a->challenges[a->n_challenges++] = (enum config_acme_challenge)t;
	}
	if (c->dl->errors != errors)
		a->n_challenges = 0;
}

static void
eab_pair(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg)
{
	struct config_acme *a = arg;
	const char *s;
	(void)k;

	if (strcmp(key, "kid") == 0 && (s = get_str(c, v, "acme.eab.kid")) != NULL) {
		if (s[0] == '\0') {
			ERR(c, v, "'acme.eab.kid' must not be empty");
			return;
		}
		free(a->eab_kid);
		a->eab_kid = xstrdup(s);
	} else if (strcmp(key, "hmac_key") == 0 && (s = get_str(c, v, "acme.eab.hmac_key")) != NULL) {
		size_t n = strlen(s);
		unsigned char *key_bytes;
		size_t len;

		/* some CAs hand the key out with base64's '=' padding: the same key */
		while (n > 0 && s[n - 1] == '=' && strlen(s) - n < 2)
			n--;
		if (acmejws_b64url_decode(s, n, &key_bytes, &len) < 0 || len == 0) {
			ERR(c, v, "'acme.eab.hmac_key' must be the CA's MAC key in base64url (A-Z a-z 0-9 - _)");
			return;
		}
		if (a->eab_hmac_key != NULL)
			explicit_bzero(a->eab_hmac_key, a->eab_hmac_key_len);
		free(a->eab_hmac_key);
		a->eab_hmac_key = key_bytes;
		a->eab_hmac_key_len = len;
	}
}

static void
pacing_pair(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg)
{
	struct config_acme *a = arg;
	unsigned long x;
	(void)k;

	if (strcmp(key, "burst") == 0) {
		if (get_uint(c, v, "acme.pacing.burst", 1, 10000, &x) == 0)
			a->pacing_burst = (unsigned)x;
	} else if (strcmp(key, "period") == 0) {
		if (get_uint(c, v, "acme.pacing.period", 1, 86400, &x) == 0)
			a->pacing_period = (unsigned)x;
	}
}

static void
acme_pair(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg)
{
	struct config_acme *a = c->cfg->acme;
	struct acme_arg *aa = arg;
	const char *s;
	(void)k;

	if (strcmp(key, "directory") == 0 && (s = get_str(c, v, "acme.directory")) != NULL) {
		if (!https_url_ok(s)) {
			ERR(c, v, "'acme.directory' must be an https:// URL, not '%s'", s);
			return;
		}
		free(a->directory);
		a->directory = xstrdup(s);
	} else if (strcmp(key, "email") == 0) {
		char *e = dup_opt_str(c, v, "acme.email");
		if (e != NULL && !email_ok(e)) {
			ERR(c, v, "'acme.email' must be one e-mail address (name@example.com), not '%s'", e);
			free(e);
			return;
		}
		free(a->email);
		a->email = e;
	} else if (strcmp(key, "agree_terms") == 0) {
		aa->terms_seen = true;
		aa->terms_line = LINE(v);
		aa->terms_col = COL(v);
		if (get_bool(c, v, "acme.agree_terms", &aa->terms) < 0)
			aa->terms = true;	/* reported as not a boolean, not again as missing */
	} else if (strcmp(key, "storage") == 0 && (s = get_str(c, v, "acme.storage")) != NULL) {
		size_t n;
		if (s[0] == '\0') {
			ERR(c, v, "'acme.storage' must name a folder");
			return;
		}
		free(a->storage);
		a->storage = path_join(c->cfg->dir, s);
		for (n = strlen(a->storage); n > 1 && a->storage[n - 1] == '/'; n--)
			a->storage[n - 1] = '\0';
		free(c->acme_storage_as_written);
		c->acme_storage_as_written = xstrdup(s);
		c->acme_storage_line = LINE(v);
		c->acme_storage_col = COL(v);
	} else if (strcmp(key, "order") == 0) {
		get_bool(c, v, "acme.order", &a->order);
	} else if (strcmp(key, "challenges") == 0) {
		c->acme_challenges_line = LINE(v);
		c->acme_challenges_col = COL(v);
		challenge_list(c, v, a);
	} else if (strcmp(key, "ca_file") == 0) {
		struct stat st;
		char *f = dup_opt_str(c, v, "acme.ca_file");

		free(a->ca_file);
		a->ca_file = NULL;
		if (f == NULL)
			return;
		a->ca_file = path_join(c->cfg->dir, f);
		if (stat(a->ca_file, &st) < 0 || access(a->ca_file, R_OK) < 0)
			ERR(c, v, "'acme.ca_file' '%s' cannot be read: %s", f, strerror(errno));
		else if (!S_ISREG(st.st_mode))
			ERR(c, v, "'acme.ca_file' '%s' is not a regular file", f);
		free(f);
	} else if (strcmp(key, "eab") == 0) {
		if (is_null(v))
			return;
		size_t errors = c->dl->errors;
		if (!walk_mapping(c, v, "acme.eab", eab_keys, eab_pair, a))
			return;
		/* a key that was written but refused has been reported */
		if (c->dl->errors == errors && (a->eab_kid == NULL || a->eab_hmac_key == NULL))
			ERR(c, v, "'acme.eab' needs 'kid' and 'hmac_key' (the external account binding the CA gave)");
	} else if (strcmp(key, "pacing") == 0) {
		aa->pacing_node = v;
		walk_mapping(c, v, "acme.pacing", pacing_keys, pacing_pair, a);
	}
}

static void
acme_free(struct config_acme *a)
{
	if (a == NULL)
		return;
	free(a->directory);
	free(a->email);
	free(a->storage);
	free(a->ca_file);
	free(a->eab_kid);
	if (a->eab_hmac_key != NULL)
		explicit_bzero(a->eab_hmac_key, a->eab_hmac_key_len);
	free(a->eab_hmac_key);
	free(a);
}

/* Let's Encrypt's directories: their limit of new orders per account is known (acme-notes) */
static bool
is_letsencrypt(const char *url)
{
	return strncmp(url, "https://acme-v02.api.letsencrypt.org/", 37) == 0 ||
	    strncmp(url, "https://acme-staging-v02.api.letsencrypt.org/", 45) == 0;
}

/* acme: a mapping; its checks that need the listeners come later (check_acme). */
static void
acme_section(struct ctx *c, struct ynode *v)
{
	struct config_acme *a;
	struct acme_arg aa = {0};
	size_t errors = c->dl->errors;

	acme_free(c->cfg->acme);
	a = c->cfg->acme = xcalloc(1, sizeof(*a));
	a->line = LINE(v);
	a->col = COL(v);
	a->directory = xstrdup(CONFIG_ACME_DIRECTORY_DEFAULT);
	a->storage = path_join(c->cfg->dir, "state/acme");
	a->order = true;
	a->challenges[0] = CONFIG_ACME_TLS_ALPN_01;
	a->challenges[1] = CONFIG_ACME_HTTP_01;
	a->n_challenges = 2;
	a->pacing_burst = ACMESCHED_ORDER_BURST;
	a->pacing_period = ACMESCHED_ORDER_PERIOD;
	if (!walk_mapping(c, v, "acme", acme_keys, acme_pair, &aa)) {
		c->acme_bad = true;
		return;
	}
	if (!aa.terms_seen)
		ERR(c, v, "'acme' needs 'agree_terms: true': ordering certificates accepts the terms of service of "
		    "the CA at '%s' (read them first)", a->directory);
	else if (!aa.terms)
		diag_add(c->dl, DIAG_ERROR, aa.terms_line, aa.terms_col, "'acme.agree_terms' must be true: ordering "
		    "certificates accepts the terms of service of the CA at '%s' (read them first, or remove 'acme')",
		    a->directory);
	if (a->order && is_letsencrypt(a->directory) && c->dl->errors == errors &&
	    a->pacing_burst + 10800 / a->pacing_period > 300)
		WARN(c, aa.pacing_node ? aa.pacing_node : v, "'acme.pacing' allows %u new orders in 3 hours, more than Let's Encrypt's 300 per account",
		    a->pacing_burst + 10800 / a->pacing_period);
}

/*
 * Once the listeners are known: which challenge types can be answered.
 * tls-alpn-01 is answered on an HTTPS listener, http-01 on a plain HTTP
 * one; a type written without its listener is a warning and dropped, none
 * left an error (the CA could validate nothing).
 */
static void
check_acme_challenges(struct ctx *c)
{
	struct config_acme *a = c->cfg->acme;
	int line = c->acme_challenges_line ? c->acme_challenges_line : a->line;
	int col = c->acme_challenges_line ? c->acme_challenges_col : a->col;
	size_t kept = 0;

	if (a->n_challenges == 0)
		return;
	for (size_t i = 0; i < a->n_challenges; i++) {
		bool https = a->challenges[i] == CONFIG_ACME_TLS_ALPN_01;
		if (https ? c->cfg->n_https > 0 : c->cfg->n_http > 0) {
			a->challenges[kept++] = a->challenges[i];
			continue;
		}
		/* the default list warns only when it loses everything (an error below) */
		if (c->acme_challenges_line != 0 && a->n_challenges > 1)
			diag_add(c->dl, DIAG_WARNING, line, col, "'acme.challenges': %s needs a listener in listen.%s, "
			    "and there is none: it is not used", challenge_names[a->challenges[i]],
			    https ? "https" : "http");
	}
	if (kept == 0)
		diag_add(c->dl, DIAG_ERROR, line, col, "'acme.challenges': no listener can answer %s (tls-alpn-01 "
		    "needs listen.https, http-01 listen.http): the CA could validate no name",
		    a->n_challenges == 1 ? challenge_names[a->challenges[0]] : "any of them");
	a->n_challenges = kept;
}

/* What acmestore keeps under acme.storage: files, then folders. */
static const char *const acme_store_files[] = { ACMESTORE_ACCOUNT_KEY, ACMESTORE_STATE, ACMESTORE_LOCK, NULL };
static const char *const acme_store_dirs[] = { ACMESTORE_CERTS, ACMESTORE_CHALLENGES, NULL };

/* FILE (canonical) is one of the files acmestore writes under STORAGE (canonical), or a temporary of one. */
static bool
in_acme_store(const char *file, const char *storage)
{
	size_t n = strcmp(storage, "/") == 0 ? 0 : strlen(storage);
	const char *rest;

	if (!path_within(file, storage) || file[n] != '/')
		return false;
	rest = file + n + 1;
	for (size_t i = 0; acme_store_files[i] != NULL; i++) {
		size_t l = strlen(acme_store_files[i]);
		if (strncmp(rest, acme_store_files[i], l) == 0 && (rest[l] == '\0' || strncmp(rest + l, ".tmp.", 5) == 0))
			return true;
	}
	for (size_t i = 0; acme_store_dirs[i] != NULL; i++) {
		size_t l = strlen(acme_store_dirs[i]);
		if (strncmp(rest, acme_store_dirs[i], l) == 0 && (rest[l] == '\0' || rest[l] == '/'))
			return true;
	}
	return false;
}

/*
 * acme.storage is written by mtastsd (the account key, challenge answers,
 * issued keys): it must not overlap the folders it reads (tls.certs,
 * domains_dir), and no file it reads or writes otherwise (the
 * configuration, dns.state and the files beside it, dns.zone) may be one
 * of the storage's own. Compared as check_output_paths compares.
 */
static void
check_acme_paths(struct ctx *c, bool resolve)
{
	static const char *const beside[] = { "", ".lock", ".pending", ".serving", ".update", NULL };
	const struct config *cfg = c->cfg;
	const char *as = c->acme_storage_as_written ? c->acme_storage_as_written : "state/acme/";
	int line = c->acme_storage_line ? c->acme_storage_line : cfg->acme->line;
	int col = c->acme_storage_line ? c->acme_storage_col : cfg->acme->col;
	char *st = canon_path(cfg->acme->storage, resolve), *certs = canon_path(cfg->tls_certs, resolve);
	char *tenants = cfg->domains_dir ? canon_path(cfg->domains_dir, resolve) : NULL;
	char *conf = canon_path(cfg->path, resolve);

	/* tls.certs beside the storage's own files, under a folder that holds both, is fine */
	if (path_within(st, certs) || in_acme_store(certs, st))
		diag_add(c->dl, DIAG_ERROR, line, col, "'acme.storage' '%s' and tls.certs overlap: the account key "
		    "and challenge answers would lie among the certificates, and every write would trigger a reload", as);
	else if (tenants != NULL && (path_within(st, tenants) || in_acme_store(tenants, st)))
		diag_add(c->dl, DIAG_ERROR, line, col, "'acme.storage' '%s' and domains_dir overlap: keep the ACME "
		    "files apart from the tenant files", as);
	else if (in_acme_store(conf, st))
		diag_add(c->dl, DIAG_ERROR, line, col, "'acme.storage' '%s' would put its own files on the "
		    "configuration file: give the ACME files a folder of their own", as);
	else {
		for (int which = 0; which < 2; which++) {
			const char *base = which == 0 ? cfg->dns_state : cfg->dns_zone;
			bool bad = false;

			for (size_t i = 0; base != NULL && beside[i] != NULL && (which == 0 || i == 0) && !bad; i++) {
				char *out = xasprintf("%s%s", base, beside[i]), *cout = canon_path(out, resolve);
				bad = in_acme_store(cout, st);
				free(cout);
				free(out);
			}
			if (bad) {
				diag_add(c->dl, DIAG_ERROR, line, col, "'acme.storage' '%s' would put its own files on %s: "
				    "give the ACME files a folder of their own", as, which == 0 ? "dns.state" : "dns.zone");
				break;
			}
		}
	}
	free(st);
	free(certs);
	free(tenants);
	free(conf);
}

/*
 * No file mtastsd writes (the zone; the state and STATE.lock, .pending and
 * .serving beside it; their temporaries, in the same folders) may be a file
 * it reads: the configuration, or anything under tls.certs. Each is reported
 * once, at the key that placed it (or without a position for a default).
 * With RESOLVE the paths are compared as the file system resolves them
 * (symbolic links, hard links); config_load_mem compares them as written.
 */
static void
check_output_paths(struct ctx *c, bool resolve)
{
	static const char *const beside[] = { "", ".lock", ".pending", ".serving", NULL };
	static const char *const beside_name[] = { "", "its lock file ", "its pending-publish marker ",
		"its serve lock ", NULL };
	const struct config *cfg = c->cfg;
	char *conf = canon_path(cfg->path, resolve), *certs = canon_path(cfg->tls_certs, resolve);
	char *tenants = cfg->domains_dir ? canon_path(cfg->domains_dir, resolve) : NULL;

	for (int which = 0; which < 2; which++) {
		const char *key = which == 0 ? "dns.state" : "dns.zone", *base = which == 0 ? cfg->dns_state : cfg->dns_zone;
		int line = which == 0 ? c->state_line : c->zone_line, col = which == 0 ? c->state_col : c->zone_col;

		if (base == NULL)
			continue;
		for (size_t i = 0; beside[i] != NULL && (which == 0 || i == 0); i++) {
			char *out = xasprintf("%s%s", base, beside[i]), *cout = canon_path(out, resolve);
			bool bad = true;

			if (strcmp(cout, conf) == 0 || (resolve && same_file(out, cfg->path)))
				diag_add(c->dl, DIAG_ERROR, line, col,
				    "'%s' puts %s'%s' on the configuration file '%s': mtastsd would overwrite it", key,
				    beside_name[i], out, cfg->path);
			else if (path_within(cout, certs))
				diag_add(c->dl, DIAG_ERROR, line, col,
				    "'%s' puts %s'%s' inside tls.certs '%s': mtastsd would write among the certificates "
				    "and keys, and every write would trigger a reload", key, beside_name[i], out,
				    cfg->tls_certs);
			else if (tenants != NULL && path_within(cout, tenants))
				diag_add(c->dl, DIAG_ERROR, line, col,
				    "'%s' puts %s'%s' inside domains_dir '%s': mtastsd would write among the tenant files",
				    key, beside_name[i], out, cfg->domains_dir);
			else
				bad = false;
			free(cout);
			free(out);
			if (bad)
				break;
		}
	}
	free(conf);
	free(certs);
	free(tenants);
	/* tenant files are read with the config's rights; the config file itself among them would be read twice */
	if (tenants != NULL && cfg->tls_certs != NULL) {
		char *d = canon_path(cfg->domains_dir, resolve), *t = canon_path(cfg->tls_certs, resolve);
		if (strcmp(d, t) == 0 || path_within(d, t) || path_within(t, d))
			diag_add(c->dl, DIAG_ERROR, c->dir_line, c->dir_col,
			    "'domains_dir' '%s' and tls.certs '%s' overlap: keep tenant files and keys apart",
			    cfg->domains_dir, cfg->tls_certs);
		free(d);
		free(t);
	}
}

static void
top_pair(struct ctx *c, const char *key, struct ynode *k, struct ynode *v, void *arg)
{
	struct config *cfg = c->cfg;
	(void)k;
	(void)arg;

	if (strcmp(key, "user") == 0) {
		cfg->user = dup_opt_str(c, v, "user");
		cfg->user_line = LINE(v);
		cfg->user_col = COL(v);
	} else if (strcmp(key, "group") == 0) {
		cfg->group = dup_opt_str(c, v, "group");
		cfg->group_line = LINE(v);
		cfg->group_col = COL(v);
	} else if (strcmp(key, "listen") == 0) {
		walk_mapping(c, v, "listen", listen_keys, listen_pair, NULL);
	} else if (strcmp(key, "tls") == 0) {
		walk_mapping(c, v, "tls", tls_keys, tls_pair, NULL);
	} else if (strcmp(key, "dns") == 0) {
		walk_mapping(c, v, "dns", dns_keys, dns_pair, NULL);
		check_dns_paths(c);
	} else if (strcmp(key, "limits") == 0) {
		walk_mapping(c, v, "limits", limits_keys, limits_pair, NULL);
	} else if (strcmp(key, "log") == 0) {
		walk_mapping(c, v, "log", log_keys, log_pair, NULL);
	} else if (strcmp(key, "acme") == 0) {
		acme_section(c, v);
	} else if (strcmp(key, "domains_dir") == 0) {
		const char *s = get_str(c, v, "domains_dir");
		if (s != NULL && s[0] == '\0')
			ERR(c, v, "'domains_dir' must name a folder");
		else if (s != NULL) {
			free(cfg->domains_dir);
			cfg->domains_dir = path_join(cfg->dir, s);
			c->dir_line = LINE(v);
			c->dir_col = COL(v);
		}
	} else if (strcmp(key, "defaults") == 0) {
		struct domain_arg da = { &cfg->defaults, {0}, "defaults", NULL, NULL, NULL };
		if (!walk_mapping(c, v, "defaults", defaults_keys, domain_pair, &da))
			c->defaults_mode_bad = c->defaults_mx_bad = true;
	}
	/* domains are parsed after everything else, once defaults are known */
}

static void
set_defaults(struct config *cfg)
{
	struct config_listener l = {0};
	char err[128];

	domain_init(&cfg->defaults);
	cfg->defaults.mode = POLICY_MODE_TESTING;
	cfg->defaults.max_age = 604800;
	cfg->log_level = LOG_LEVEL_INFO;
	l.address = xstrdup("0.0.0.0:8443");
	addr_parse(l.address, &l.sa, &l.salen, err, sizeof(err));
	cfg->https = xcalloc(1, sizeof(*cfg->https));
	cfg->https[0] = l;
	cfg->n_https = 1;
	cfg->admin = xcalloc(1, sizeof(*cfg->admin));
	cfg->admin->address = xstrdup("127.0.0.1:9100");
	addr_parse(cfg->admin->address, &cfg->admin->sa, &cfg->admin->salen, err, sizeof(err));
	cfg->tls_certs = path_join(cfg->dir, "certs");
	cfg->dns_state = path_join(cfg->dir, "state/mtastsd.state");
	cfg->dns_zone = path_join(cfg->dir, "state/mta-sts.zone");
	cfg->dns_ttl = 3600;
	cfg->limits.connection_timeout = 10;
	cfg->limits.max_connections = 4096;
	cfg->limits.max_connections_per_ip = 64;
	cfg->limits.max_header_size = 8192;
}

static unsigned
listener_port(const struct config_listener *l)
{
	return addr_port(&l->sa);
}

static bool
is_wildcard(const struct config_listener *l)
{
	return addr_is_wildcard(&l->sa);
}

/*
 * Two different addresses of one family and port, one of them the wildcard:
 * the second bind fails with "address in use" (an exact duplicate is
 * reported on its own).
 */
static bool
wildcard_clash(const struct config_listener *a, const struct config_listener *b)
{
	if (a->sa.ss_family != b->sa.ss_family || listener_port(a) != listener_port(b))
		return false;
	if (a->salen == b->salen && memcmp(&a->sa, &b->sa, a->salen) == 0)
		return false;
	return is_wildcard(a) || is_wildcard(b);
}

static void
check_listeners(struct ctx *c)
{
	struct config *cfg = c->cfg;
	struct config_listener *all[2048];
	size_t n = 0;

	for (size_t i = 0; i < cfg->n_https && n < 2048; i++)
		all[n++] = &cfg->https[i];
	for (size_t i = 0; i < cfg->n_http && n < 2048; i++)
		all[n++] = &cfg->http[i];
	if (cfg->admin && n < 2048)
		all[n++] = cfg->admin;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (all[i]->salen == all[j]->salen && memcmp(&all[i]->sa, &all[j]->sa, all[i]->salen) == 0) {
				/* an implicit default listener has no line: name it, and report at the written one */
				const struct config_listener *at = all[i], *other = all[j];
				size_t oi = j;
				if (at->line == 0 && other->line != 0) {
					at = all[j];
					other = all[i];
					oi = i;
				}
				if (other->line == 0)
					diag_add(c->dl, DIAG_ERROR, at->line, at->col,
					    "address '%s' is already used by the default listen.%s (%s)", at->address,
					    oi < cfg->n_https ? "https" : oi < cfg->n_https + cfg->n_http ? "http" : "admin",
					    other->address);
				else
					diag_add(c->dl, DIAG_ERROR, at->line, at->col,
					    "address '%s' is already used by another listener (line %d)",
					    at->address, other->line);
				break;
			}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (wildcard_clash(all[i], all[j])) {
				const struct config_listener *at = all[i]->line || !all[j]->line ? all[i] : all[j];
				const struct config_listener *other = at == all[i] ? all[j] : all[i];
				const struct config_listener *wild = is_wildcard(all[i]) ? all[i] : all[j];
				char where[64];

				if (other->line)
					snprintf(where, sizeof(where), "line %d", other->line);
				else
					snprintf(where, sizeof(where), "a default listener");
				diag_add(c->dl, DIAG_ERROR, at->line, at->col,
				    "address '%s' cannot be bound beside '%s' (%s): '%s' already takes the port on "
				    "every local %s address", at->address, other->address, where, wild->address,
				    wild->sa.ss_family == AF_INET ? "IPv4" : "IPv6");
				break;
			}
	/* mtastsd binds [::] with IPV6_V6ONLY, so IPv4 senders need their own listener on the port */
	for (size_t i = 0; i < n; i++) {
		bool v4 = false;

		if (all[i]->sa.ss_family != AF_INET6 || !is_wildcard(all[i]))
			continue;
		for (size_t j = 0; j < n && !v4; j++)
			v4 = all[j]->sa.ss_family == AF_INET && listener_port(all[j]) == listener_port(all[i]);
		if (!v4)
			diag_add(c->dl, DIAG_WARNING, all[i]->line, all[i]->col,
			    "'%s' accepts IPv6 connections only: add '0.0.0.0:%u' for IPv4 clients", all[i]->address,
			    listener_port(all[i]));
	}
	if (cfg->n_https == 0 && cfg->n_http == 0)
		diag_add(c->dl, DIAG_WARNING, 0, 0, "no https or http listener: 'serve' would answer nothing");
}

static struct config *
load_mem(const char *path, const char *basedir, const char *data, size_t len, struct diag_list *diags,
    bool resolve)
{
	struct ytree tree = {0};
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct ctx c = { .t = &tree, .dl = diags, .cfg = cfg, .base = cfg };
	struct ynode *root = NULL;
	uint32_t root_idx;

	cfg->path = xstrdup(path);
	cfg->dir = xstrdup(basedir ? basedir : ".");
	c.file = cfg->path;
	set_defaults(cfg);

	if (ytree_load_split(&tree, data, len, "domains", len >= PARALLEL_YAML_BYTES ? pool_threads(4) : 1, diags,
	    &root_idx) < 0) {
		ytree_clear(&tree);
		diag_sort(diags);
		config_free(cfg);
		return NULL;
	}
	if (root_idx != YTREE_NONE)
		root = node(&c, root_idx);
	if (root == NULL) {
		diag_add(diags, DIAG_ERROR, 1, 1, "the configuration is empty");
	} else if (root->type != YAML_MAPPING_NODE) {
		ERR(&c, root, "the configuration must be a mapping, not %s", type_name(root));
	} else {
		struct ynode *domains = NULL;
		walk_mapping(&c, root, "top level", top_keys, top_pair, NULL);
		for (size_t p = 0; p < root->n; p += 2) {
			struct ynode *k = kid(&c, root, p);
			if (k->type == YAML_SCALAR_NODE && strcmp(sval(k), "domains") == 0) {
				domains = kid(&c, root, p + 1);
				break;
			}
		}
		if (domains) {
			parse_domains(&c, domains);
			cfg->domains = c.out;
			cfg->n_domains = c.n_out;
			/* with an error the config is not used: no lookup is needed then */
			cfg->by_name = c.names;
		}
		/* with domains_dir the domains may all be in tenant files */
		if (cfg->n_domains == 0 && cfg->domains_dir == NULL && diags->errors == 0)
			ERR(&c, domains ? domains : root, "no domains configured");
		check_listeners(&c);
		check_output_paths(&c, resolve);
		if (cfg->acme != NULL && !c.acme_bad) {
			check_acme_challenges(&c);
			check_acme_paths(&c, resolve);
		}
	}
	free(c.acme_storage_as_written);
	ytree_clear(&tree);
	diag_sort(diags);
	if (diags->errors > 0) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/*
 * Read the configuration: a regular file of at most CONFIG_MAX_SIZE bytes.
 * Opened without blocking, so a FIFO or a device put in its place is refused
 * instead of stalling the reload loop (and SIGTERM with it) on the open or
 * the read. Returns 0, or -1 after adding a diagnostic.
 */
static int
read_config(const char *path, const char *what, char **out, size_t *len, struct stat *stp, struct diag_list *diags)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	char *data;
	size_t got = 0;

	if (fd < 0) {
		diag_add(diags, DIAG_ERROR, 0, 0, "cannot read %s: %s", what, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		diag_add(diags, DIAG_ERROR, 0, 0, "cannot read %s: %s", what, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		diag_add(diags, DIAG_ERROR, 0, 0, "%s is not a regular file (it is %s)", what,
		    S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a folder" :
		    S_ISSOCK(st.st_mode) ? "a socket" : "a device");
		close(fd);
		return -1;
	}
	if (st.st_size > CONFIG_MAX_SIZE) {
		diag_add(diags, DIAG_ERROR, 0, 0, "%s is %lld bytes, more than the limit of %d MiB",
		    what, (long long)st.st_size, CONFIG_MAX_SIZE >> 20);
		close(fd);
		return -1;
	}
	/* one byte more than the limit tells a file that grew since the fstat */
	data = xmalloc((size_t)st.st_size + 2);
	for (;;) {
		size_t room = (size_t)st.st_size + 1 - got;
		ssize_t n;

		if (room == 0)
			break;
		n = read(fd, data + got, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			diag_add(diags, DIAG_ERROR, 0, 0, "cannot read %s: %s", what, strerror(errno));
			free(data);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got > (size_t)st.st_size) {
		diag_add(diags, DIAG_ERROR, 0, 0, "%s changed while it was read: try again", what);
		free(data);
		return -1;
	}
	data[got] = '\0';
	if (stp != NULL)
		*stp = st;
	*out = data;
	*len = got;
	return 0;
}

struct config *
config_load_mem(const char *path, const char *basedir, const char *data, size_t len,
    struct diag_list *diags)
{
	return load_mem(path, basedir, data, len, diags, false);
}

struct config *
config_load(const char *path, struct diag_list *diags)
{
	char *data, *dir;
	size_t len;
	struct config *cfg;

	if (read_config(path, "the configuration", &data, &len, NULL, diags) < 0)
		return NULL;
	dir = path_dirname(path);
	cfg = load_mem(path, dir, data, len, diags, true);
	free(dir);
	free(data);
	return cfg;
}

struct config_domain *
config_load_tenant_mem(const struct config *main, const char *path, const char *data, size_t len,
    struct diag_list *diags, size_t *n)
{
	struct ytree tree = {0};
	struct ctx c = { .t = &tree, .dl = diags, .base = main, .file = path };
	uint32_t root_idx;
	size_t errors = diags->errors;

	*n = 0;
	if (ytree_load(&tree, data, len, diags, &root_idx) == 0 && root_idx != YTREE_NONE)
		parse_domains(&c, node(&c, root_idx));
	/* an empty file is a tenant with no domains yet; the merge looks names up on its own */
	hmap_clear(&c.names);
	ytree_clear(&tree);
	diag_sort(diags);
	if (diags->errors > errors) {
		for (size_t i = 0; i < c.n_out; i++)
			domain_clear(&c.out[i]);
		free(c.out);
		return NULL;
	}
	*n = c.n_out;
	return c.out != NULL ? c.out : xcalloc(1, sizeof(*c.out));
}

struct config_domain *
config_load_tenant(const struct config *main, const char *path, struct diag_list *diags, size_t *n,
    struct stat *st)
{
	char *data;
	size_t len;
	struct config_domain *v;

	*n = 0;
	if (read_config(path, "the tenant file", &data, &len, st, diags) < 0)
		return NULL;
	v = config_load_tenant_mem(main, path, data, len, diags, n);
	free(data);
	return v;
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->n_domains; i++)
		domain_clear(&cfg->domains[i]);
	free(cfg->domains);
	domain_clear(&cfg->defaults);
	hmap_clear(&cfg->by_name);
	for (size_t i = 0; i < cfg->n_https; i++)
		listener_clear(&cfg->https[i]);
	for (size_t i = 0; i < cfg->n_http; i++)
		listener_clear(&cfg->http[i]);
	free(cfg->https);
	free(cfg->http);
	if (cfg->admin) {
		listener_clear(cfg->admin);
		free(cfg->admin);
	}
	free(cfg->trusted_proxies);
	free(cfg->tls_certs);
	free(cfg->domains_dir);
	free(cfg->dns_state);
	free(cfg->dns_zone);
	free(cfg->dns_on_change);
	free(cfg->dns_host_target);
	free(cfg->dns_delegate_zone);
	update_free(cfg->dns_update);
	acme_free(cfg->acme);
	free(cfg->user);
	free(cfg->group);
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}

const struct config_domain *
config_find_domain(const struct config *cfg, const char *name)
{
	uintptr_t i = (uintptr_t)hmap_get(&cfg->by_name, name);

	return i != 0 ? &cfg->domains[i - 1] : NULL;
}
