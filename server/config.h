/* SPDX-License-Identifier: MIT */
/* config: loads the YAML configuration into plain data, validates it and reports every problem with its position. */
#ifndef MTASTSD_CONFIG_H
#define MTASTSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "cidr.h"
#include "diag.h"
#include "domain.h"
#include "hmap.h"
#include "log.h"
#include "tsigkey.h"

/* CONFIG_DEFAULT_PATH comes from CMake: SYSCONFDIR/mtastsd/mtastsd.yaml of the install */
#ifndef CONFIG_DEFAULT_PATH
#error "CONFIG_DEFAULT_PATH must be defined by the build (CMakeLists.txt)"
#endif
/* the largest configuration read: 100,000 domains of the benchmark mix take about 12 MiB,
 * a million 121 MiB (a provider keeping every tenant in one file) */
#define CONFIG_MAX_SIZE (512 << 20)

struct config_listener {
	char *address;			/* as written, e.g. "0.0.0.0:8443" or "[::1]:8443" */
	struct sockaddr_storage sa;	/* parsed numeric address and port */
	socklen_t salen;
	bool proxy_protocol;		/* a PROXY v1/v2 header precedes every connection */
	struct cidr *proxy_from;	/* sources allowed to send PROXY headers (never empty with proxy_protocol) */
	size_t n_proxy_from;
	int line, col;
};

struct config_limits {
	unsigned connection_timeout;	/* seconds a connection may stay idle or slow */
	unsigned max_connections;	/* per listener set, 0 = unlimited */
	unsigned max_connections_per_ip;
	unsigned max_header_size;	/* bytes of request line + headers */
};

/* dns.update: where and how RFC 2136 updates are sent. */
struct config_dns_update {
	char *server;			/* as written */
	struct sockaddr_storage sa;	/* parsed numeric address and port (53 when not written) */
	socklen_t salen;
	bool signed_;			/* tsig given: KEY holds it */
	struct tsigkey key;		/* read from tsig.secret_file at load */
	char *secret_file;		/* resolved path, NULL without tsig */
	unsigned timeout;		/* seconds to wait for an answer, per try */
	unsigned long retry;		/* seconds before a failed domain is tried again; doubled per failure */
	unsigned long retry_max;	/* the longest wait between two tries */
};

/* The challenge types acme.challenges may name (RFC 8737, RFC 8555 section 8.3). */
enum config_acme_challenge {
	CONFIG_ACME_TLS_ALPN_01,	/* "tls-alpn-01": answered on listen.https (ALPN acme-tls/1) */
	CONFIG_ACME_HTTP_01,		/* "http-01": answered on listen.http */
};
#define CONFIG_ACME_N_CHALLENGES 2
#define CONFIG_ACME_DIRECTORY_DEFAULT "https://acme-v02.api.letsencrypt.org/directory"

/*
 * acme: certificates ordered from an ACME CA (RFC 8555). Present only when
 * the file has an `acme:` section, whose agree_terms: true it then holds.
 */
struct config_acme {
	char *directory;		/* the directory URL, https:// */
	char *email;			/* account contact, a bare address ("ops@example.com"); NULL: none */
	char *storage;			/* resolved path of the storage folder, no trailing slash */
	bool order;			/* this instance orders and renews (false: only answers challenges) */
	/* the challenge types to offer, in preference order, never empty: the types
	 * written (or the default tls-alpn-01, http-01) less those no listener answers */
	enum config_acme_challenge challenges[CONFIG_ACME_N_CHALLENGES];
	size_t n_challenges;
	char *ca_file;			/* resolved path of an extra CA for the directory's HTTPS; NULL: none */
	char *eab_kid;			/* external account binding key id; NULL: no binding */
	unsigned char *eab_hmac_key;	/* its MAC key, decoded from base64url (zeroed when freed) */
	size_t eab_hmac_key_len;	/* at least 1 with eab_kid */
	unsigned pacing_burst;		/* new orders at once (acmesched bucket capacity) */
	unsigned pacing_period;		/* seconds per new order after the burst (bucket period) */
	int line, col;			/* where `acme:` was written */
};

/* The name of challenge type T as written in the config ("tls-alpn-01", "http-01"). */
const char *config_acme_challenge_name(enum config_acme_challenge t);

struct config {
	char *path;			/* the file as given */
	char *dir;			/* folder relative paths are resolved against */

	char *user, *group;		/* drop privileges to these after start-up (optional) */
	int user_line, user_col, group_line, group_col;	/* where they were written */

	struct config_listener *https, *http;
	size_t n_https, n_http;
	struct config_listener *admin;	/* NULL when disabled */
	struct cidr *trusted_proxies;	/* may set X-Forwarded-For / Forwarded */
	size_t n_trusted_proxies;

	char *tls_certs;		/* resolved path of the certificate folder */
	char *domains_dir;		/* resolved path of the tenant files' folder, NULL: none */

	char *dns_state;		/* resolved path of the state file */
	char *dns_zone;			/* resolved path of the zone file, NULL = not written */
	unsigned long dns_ttl;
	char *dns_on_change;		/* command, NULL when unset */
	char *dns_host_target;		/* CNAME target for mta-sts.<domain>, NULL when unset */
	char *dns_delegate_zone;	/* provider zone for delegated hosting, NULL when unset */
	struct config_dns_update *dns_update;	/* NULL: no RFC 2136 updates */
	struct config_acme *acme;	/* NULL: no acme section (no ACME at all) */

	struct config_limits limits;
	bool access_log;
	enum log_level log_level;	/* log.level, LOG_LEVEL_INFO when not written */

	struct config_domain defaults;
	struct config_domain *domains;	/* config order */
	size_t n_domains;
	struct hmap by_name;		/* normalised name -> its index in domains + 1 */
};

/*
 * Load and validate the configuration at PATH, which must be a regular file of
 * at most CONFIG_MAX_SIZE bytes (anything else, a FIFO included, is refused
 * without blocking). Every problem found is added
 * to DIAGS (which must be initialised by the caller, normally with PATH).
 * Returns the configuration (owned by the caller, free with config_free) when
 * there is no error, NULL otherwise; warnings alone do not fail the load.
 */
struct config *config_load(const char *path, struct diag_list *diags);

/*
 * Files mtastsd writes (dns.zone, dns.state and the files beside it) must not
 * be the configuration file or lie inside tls.certs: an error at the key.
 * config_load compares the paths as the file system resolves them.
 */

/* As config_load, from memory; relative paths are resolved against BASEDIR and compared as written. */
struct config *config_load_mem(const char *path, const char *basedir, const char *data,
    size_t len, struct diag_list *diags);

/*
 * A tenant file of MAIN's domains_dir at PATH: a YAML list of domain entries
 * in the form of `domains:`, inheriting MAIN's defaults, read like the
 * configuration (a regular file of at most CONFIG_MAX_SIZE bytes; *ST, when
 * not NULL, is the version read). Every problem is added to DIAGS
 * (initialised by the caller with PATH). Returns the entries in file order
 * (*N of them; each domain's `file` is PATH, borrowed: the caller points it
 * at a copy it keeps) when there is no error, NULL otherwise. A domain also
 * in MAIN or in another file is not an error here (the merge of tenants
 * decides). An empty file has no domains.
 */
struct config_domain *config_load_tenant(const struct config *main, const char *path, struct diag_list *diags,
    size_t *n, struct stat *st);
/* As config_load_tenant, from memory. */
struct config_domain *config_load_tenant_mem(const struct config *main, const char *path, const char *data,
    size_t len, struct diag_list *diags, size_t *n);

void config_free(struct config *cfg);

/* The domain named NAME (normalised form), or NULL. */
const struct config_domain *config_find_domain(const struct config *cfg, const char *name);

#endif
