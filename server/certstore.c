/* SPDX-License-Identifier: MIT */
/* certstore: certificates and keys found under tls.certs, indexed by SAN DNS name for SNI; the only GnuTLS user. */
#include "certstore.h"
#include "config.h"
#include "hmap.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define MAX_DEPTH 8
#define MAX_CHAIN 16
#define MAX_FILE (1024 * 1024)

struct cert {
	char *path, *key_path;
	gnutls_pcert_st *pcerts;	/* the chain as sent, leaf first */
	unsigned n_pcerts;
	gnutls_privkey_t key;
	enum certstore_key kind;
	time_t not_after;
	char **names;			/* SAN dNSNames, lower case, no trailing dot */
	size_t n_names;
	size_t idx;			/* position in certstore.certs */
};

/* The best pair per key type for one SAN name. */
struct entry {
	struct cert *best[2];
};

struct certstore {
	struct cert **certs;
	size_t n;
	struct hmap index;		/* SAN name (or "*.suffix") -> struct entry */
	struct entry *entries;		/* owned; index values point into single allocations */
	struct entry **entry_list;
	size_t n_entries;
};

struct certstore_session {
	const struct certstore *cs;
	gnutls_session_t gs;
	bool corked;			/* a response collects in GnuTLS (certstore_session_cork) */
	bool tcp_uncorked;		/* TCP_CORK cleared once on this connection */
	enum certstore_hs state;
	char sni[256];
	bool has_sni;
	struct cert *cand[4];		/* candidates for the SNI, found once per handshake */
	bool hello_seen;		/* the ClientHello's cipher suites were read */
	bool suites_ec, suites_rsa;	/* suites usable with an EC / RSA certificate */
};

static gnutls_datum_t ticket_key;

int
certstore_global_init(void)
{
	int rc;

	if (ticket_key.data != NULL)
		return 0;
	if ((rc = gnutls_session_ticket_key_generate(&ticket_key)) < 0) {
		log_error("%s: cannot generate the session ticket key: %s", __func__, gnutls_strerror(rc));
		return -1;
	}
	return 0;
}

void
certstore_global_deinit(void)
{
	if (ticket_key.data != NULL) {
		gnutls_memset(ticket_key.data, 0, ticket_key.size);
		gnutls_free(ticket_key.data);
		ticket_key.data = NULL;
		ticket_key.size = 0;
	}
}

const char *
certstore_priorities(void)
{
	/*
	 * %SERVER_PRECEDENCE picks AES-128-GCM with SHA-256 even when the
	 * client lists AES-256-GCM-SHA384 first (OpenSSL and GnuTLS do): the
	 * TLS 1.3 key schedule is dozens of HMACs, and SHA-256 runs on the
	 * CPU's SHA extensions where SHA-384 does not. Measured: 22% more
	 * TLS 1.3 and 13-20% more TLS 1.2 handshakes per CPU second. The group
	 * order puts X25519 first, which OpenSSL, Go and GnuTLS clients all send
	 * a key share for, so server precedence asks none of them for another
	 * share (a HelloRetryRequest costs a round trip; e2e test_serve checks).
	 */
	return "SECURE128:%SERVER_PRECEDENCE:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
	    "+CHACHA20-POLY1305:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:"
	    "+GROUP-SECP384R1";
}

const char *
certstore_tls_version(void)
{
	return gnutls_check_version(NULL);
}

/* ---- loading ---- */

struct file {
	char *path;
	char *dir, *base, *stem, *ext;	/* dir and base of path; base split at its last dot */
	char *data;
	size_t len;
	bool has_cert, has_key, used;
};

static void
file_free(struct file *f)
{
	if (f->data != NULL) {
		/* may hold a private key */
		gnutls_memset(f->data, 0, f->len);
		free(f->data);
	}
	free(f->path);
	free(f->dir);
	free(f->base);
	free(f->stem);
}

static bool
interesting(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (name[0] == '.' || dot == NULL)
		return false;
	return strcmp(dot, ".pem") == 0 || strcmp(dot, ".crt") == 0 || strcmp(dot, ".cer") == 0 ||
	    strcmp(dot, ".key") == 0;
}

struct filelist {
	struct file *v;
	size_t n;
	struct hmap by_path;		/* path -> index + 1 (as a pointer), built once v is complete */
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
add_file(struct filelist *fl, const char *path, const char *dir, const char *name)
{
	struct file *f;
	const char *dot = strrchr(name, '.');

	fl->v = xreallocarray(fl->v, fl->n + 1, sizeof(*fl->v));
	f = &fl->v[fl->n++];
	memset(f, 0, sizeof(*f));
	f->path = xstrdup(path);
	f->dir = xstrdup(dir);
	f->base = xstrdup(name);
	f->stem = xstrndup(name, (size_t)(dot - name));
	f->ext = f->base + (dot - name) + 1;
}

/* Collect candidate files under DIR, sorted, so the result does not depend on readdir order. */
static int
scan(const char *dir, int depth, struct filelist *fl, struct diag_list *dl)
{
	static const char *const live = "live", *const archive = "archive";
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	bool letsencrypt;

	if ((d = opendir(dir)) == NULL) {
		diag_add(dl, DIAG_ERROR, 0, 0, "tls.certs: cannot read folder '%s': %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	letsencrypt = n > 0 && bsearch(&live, names, n, sizeof(*names), cmp_str) != NULL &&
	    bsearch(&archive, names, n, sizeof(*names), cmp_str) != NULL;
	for (size_t i = 0; i < n; i++) {
		char *path;
		struct stat st;

		/*
		 * A certbot root (/etc/letsencrypt): live/ links to the current
		 * files; archive/ keeps every old version, keys/ and csr/ hold
		 * spare keys and requests. Only live/ is what certbot serves.
		 */
		if (letsencrypt && (strcmp(names[i], "archive") == 0 || strcmp(names[i], "keys") == 0 ||
		    strcmp(names[i], "csr") == 0 || strcmp(names[i], "accounts") == 0)) {
			free(names[i]);
			continue;
		}
		path = xasprintf("%s/%s", dir, names[i]);

		/* stat follows symlinks: certbot's live/ links into archive/ */
		if (stat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH)
				scan(path, depth + 1, fl, dl);
			else if (S_ISREG(st.st_mode) && interesting(names[i]))
				add_file(fl, path, dir, names[i]);
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return 0;
}

static int
read_candidate(struct file *f, struct diag_list *dl)
{
	struct stat st;

	if (stat(f->path, &st) == 0 && st.st_size > MAX_FILE) {
		diag_add(dl, DIAG_WARNING, 0, 0, "'%s' is larger than 1 MiB, ignored", f->path);
		f->used = true;
		return -1;
	}
	if (read_file(f->path, &f->data, &f->len) < 0) {
		diag_add(dl, DIAG_ERROR, 0, 0, "cannot read '%s': %s", f->path, strerror(errno));
		f->used = true;
		return -1;
	}
	f->has_cert = strstr(f->data, "-----BEGIN CERTIFICATE-----") != NULL;
	f->has_key = strstr(f->data, "PRIVATE KEY-----") != NULL;
	return 0;
}

static void
cert_free(struct cert *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->n_pcerts; i++)
		gnutls_pcert_deinit(&c->pcerts[i]);
	free(c->pcerts);
	if (c->key != NULL)
		gnutls_privkey_deinit(c->key);
	for (size_t i = 0; i < c->n_names; i++)
		free(c->names[i]);
	free(c->names);
	free(c->path);
	free(c->key_path);
	free(c);
}

static bool
is_ca(gnutls_x509_crt_t crt)
{
	unsigned ca = 0;

	return gnutls_x509_crt_get_basic_constraints(crt, NULL, &ca, NULL) >= 0 && ca;
}

static void
collect_names(struct cert *c, gnutls_x509_crt_t crt)
{
	for (unsigned i = 0;; i++) {
		char name[512];
		size_t size = sizeof(name) - 1;
		int type = gnutls_x509_crt_get_subject_alt_name(crt, i, name, &size, NULL);

		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (type == GNUTLS_E_SHORT_MEMORY_BUFFER)
			continue;
		if (type < 0)
			break;
		if (type != GNUTLS_SAN_DNSNAME || size == 0)
			continue;
		name[size] = '\0';
		if (strlen(name) != size)
			continue;	/* embedded NUL: never trust it */
		if (name[size - 1] == '.')
			name[size - 1] = '\0';
		str_lower(name);
		c->names = xreallocarray(c->names, c->n_names + 1, sizeof(*c->names));
		c->names[c->n_names++] = xstrdup(name);
	}
}

/* The public key id of a private key, to match it against the certificate's. */
static int
key_id_of_priv(gnutls_privkey_t key, unsigned char *out, size_t *len)
{
	gnutls_pubkey_t pub;
	int rc;

	if (gnutls_pubkey_init(&pub) < 0)
		return -1;
	rc = gnutls_pubkey_import_privkey(pub, key, 0, 0);
	if (rc >= 0)
		rc = gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, out, len);
	gnutls_pubkey_deinit(pub);
	return rc < 0 ? -1 : 0;
}

/*
 * Parse the chain in CF and the key in KF into a pair. Returns the pair, or
 * NULL with *SKIP set when the chain is a CA certificate (not for serving),
 * or NULL with an error in DL.
 */
static struct cert *
load_pair(struct file *cf, struct file *kf, struct diag_list *dl, bool *skip)
{
	gnutls_x509_crt_t *crts = NULL;
	unsigned n_crts = 0;
	gnutls_datum_t data;
	struct cert *c = xcalloc(1, sizeof(*c));
	unsigned char id1[64], id2[64];
	size_t len1 = sizeof(id1), len2 = sizeof(id2);
	int rc, pk;
	struct stat st;

	*skip = false;
	c->path = xstrdup(cf->path);
	c->key_path = xstrdup(kf->path);
	data.data = (unsigned char *)cf->data;
	data.size = (unsigned)cf->len;
	rc = gnutls_x509_crt_list_import2(&crts, &n_crts, &data, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || n_crts == 0) {
		diag_add(dl, DIAG_ERROR, 0, 0, "certificate '%s' cannot be parsed: %s", cf->path,
		    rc < 0 ? gnutls_strerror(rc) : "no certificate");
		goto fail;
	}
	if (is_ca(crts[0])) {
		*skip = true;
		goto fail;
	}
	if (n_crts > MAX_CHAIN) {
		diag_add(dl, DIAG_ERROR, 0, 0, "certificate '%s' has more than %d certificates", cf->path, MAX_CHAIN);
		goto fail;
	}
	collect_names(c, crts[0]);
	c->not_after = gnutls_x509_crt_get_expiration_time(crts[0]);
	c->pcerts = xcalloc(n_crts, sizeof(*c->pcerts));
	c->n_pcerts = n_crts;
	rc = gnutls_pcert_import_x509_list(c->pcerts, crts, &c->n_pcerts, 0);
	if (rc < 0) {
		c->n_pcerts = 0;
		diag_add(dl, DIAG_ERROR, 0, 0, "certificate '%s' cannot be used: %s", cf->path, gnutls_strerror(rc));
		goto fail;
	}

	if ((rc = gnutls_privkey_init(&c->key)) >= 0) {
		data.data = (unsigned char *)kf->data;
		data.size = (unsigned)kf->len;
		rc = gnutls_privkey_import_x509_raw(c->key, &data, GNUTLS_X509_FMT_PEM, NULL, 0);
	}
	if (rc < 0) {
		diag_add(dl, DIAG_ERROR, 0, 0, "private key '%s' cannot be parsed: %s", kf->path, gnutls_strerror(rc));
		goto fail;
	}
	if (gnutls_pubkey_get_key_id(c->pcerts[0].pubkey, GNUTLS_KEYID_USE_SHA256, id1, &len1) < 0 ||
	    key_id_of_priv(c->key, id2, &len2) < 0 || len1 != len2 || memcmp(id1, id2, len1) != 0) {
		diag_add(dl, DIAG_ERROR, 0, 0, "private key '%s' does not match certificate '%s'", kf->path, cf->path);
		goto fail;
	}
	pk = gnutls_privkey_get_pk_algorithm(c->key, NULL);
	c->kind = (pk == GNUTLS_PK_RSA || pk == GNUTLS_PK_RSA_PSS) ? CERTSTORE_KEY_RSA : CERTSTORE_KEY_EC;

	if (c->n_names == 0)
		diag_add(dl, DIAG_WARNING, 0, 0, "certificate '%s' has no SAN DNS names (the CN is ignored); not used",
		    cf->path);
	if (c->not_after <= time(NULL))
		diag_add(dl, DIAG_WARNING, 0, 0, "certificate '%s' has expired", cf->path);
	if (stat(kf->path, &st) == 0 && (st.st_mode & 077) != 0)
		diag_add(dl, DIAG_WARNING, 0, 0, "private key '%s' is readable by group or others (mode %03o)",
		    kf->path, (unsigned)(st.st_mode & 0777));

	for (unsigned i = 0; i < n_crts; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return c;
fail:
	for (unsigned i = 0; i < n_crts; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	cert_free(c);
	return NULL;
}

static void
add_pair(struct certstore *cs, struct file *cf, struct file *kf, struct diag_list *dl)
{
	struct cert *c;
	bool skip;

	cf->used = kf->used = true;
	if ((c = load_pair(cf, kf, dl, &skip)) == NULL)
		return;
	cs->certs = xreallocarray(cs->certs, cs->n + 1, sizeof(*cs->certs));
	c->idx = cs->n;
	cs->certs[cs->n++] = c;
}

static struct file *
find_in_dir(struct filelist *fl, const char *dir, const char *base)
{
	char *path = xasprintf("%s/%s", dir, base);
	uintptr_t i = (uintptr_t)hmap_get(&fl->by_path, path);

	free(path);
	/* a hash lookup: tens of thousands of pairs must not cost a quadratic scan */
	if (i == 0 || fl->v[i - 1].used)
		return NULL;
	return &fl->v[i - 1];
}

static void
index_cert(struct certstore *cs, struct cert *c)
{
	int k = c->kind == CERTSTORE_KEY_RSA ? 1 : 0;

	for (size_t i = 0; i < c->n_names; i++) {
		struct entry *e = hmap_get(&cs->index, c->names[i]);

		if (e == NULL) {
			e = xcalloc(1, sizeof(*e));
			hmap_put(&cs->index, c->names[i], e);
			cs->entry_list = xreallocarray(cs->entry_list, cs->n_entries + 1, sizeof(*cs->entry_list));
			cs->entry_list[cs->n_entries++] = e;
		}
		if (e->best[k] == NULL || c->not_after > e->best[k]->not_after)
			e->best[k] = c;
	}
}

struct certstore *
certstore_load(const char *dir, struct diag_list *dl)
{
	struct filelist fl = { NULL, 0, { NULL, 0, 0 } };
	struct certstore *cs;

	char *top = xstrdup(dir);
	size_t n = strlen(top);

	while (n > 1 && top[n - 1] == '/')
		top[--n] = '\0';
	if (scan(top, 0, &fl, dl) < 0) {
		free(top);
		return NULL;
	}
	free(top);
	cs = xcalloc(1, sizeof(*cs));
	for (size_t i = 0; i < fl.n; i++) {
		read_candidate(&fl.v[i], dl);
		hmap_put(&fl.by_path, fl.v[i].path, (void *)(uintptr_t)(i + 1));
	}

	/* certbot: fullchain.pem + privkey.pem; cert.pem and chain.pem beside them are parts of the same */
	for (size_t i = 0; i < fl.n; i++) {
		struct file *f = &fl.v[i], *k, *x;

		if (f->used || strcmp(f->base, "fullchain.pem") != 0)
			continue;
		if ((k = find_in_dir(&fl, f->dir, "privkey.pem")) == NULL)
			continue;
		if ((x = find_in_dir(&fl, f->dir, "cert.pem")) != NULL)
			x->used = true;
		if ((x = find_in_dir(&fl, f->dir, "chain.pem")) != NULL)
			x->used = true;
		add_pair(cs, f, k, dl);
	}
	/* one file holding both the chain and the key */
	for (size_t i = 0; i < fl.n; i++) {
		struct file *f = &fl.v[i];

		if (!f->used && f->has_cert && f->has_key)
			add_pair(cs, f, f, dl);
	}
	/* NAME.key beside NAME.crt, NAME.pem or NAME.cer */
	for (size_t i = 0; i < fl.n; i++) {
		static const char *const exts[] = { "crt", "pem", "cer" };
		struct file *k = &fl.v[i];

		if (k->used || strcmp(k->ext, "key") != 0)
			continue;
		for (size_t e = 0; e < 3; e++) {
			char *base = xasprintf("%s.%s", k->stem, exts[e]);
			struct file *f = find_in_dir(&fl, k->dir, base);

			free(base);
			if (f != NULL) {
				add_pair(cs, f, k, dl);
				break;
			}
		}
	}
	for (size_t i = 0; i < fl.n; i++) {
		struct file *f = &fl.v[i];

		if (f->used)
			continue;
		if (f->has_key)
			diag_add(dl, DIAG_WARNING, 0, 0, "private key '%s' has no certificate beside it; ignored", f->path);
		else if (f->has_cert) {
			gnutls_x509_crt_t crt;
			gnutls_datum_t data = { (unsigned char *)f->data, (unsigned)f->len };
			bool ca = false;

			if (gnutls_x509_crt_init(&crt) >= 0) {
				if (gnutls_x509_crt_import(crt, &data, GNUTLS_X509_FMT_PEM) >= 0)
					ca = is_ca(crt);
				gnutls_x509_crt_deinit(crt);
			}
			if (!ca)
				diag_add(dl, DIAG_WARNING, 0, 0,
				    "certificate '%s' has no private key beside it; ignored", f->path);
		} else if (strcmp(f->ext, "key") == 0 || strcmp(f->ext, "crt") == 0)
			diag_add(dl, DIAG_WARNING, 0, 0, "'%s' holds no PEM certificate or key; ignored", f->path);
	}
	hmap_free(&fl.by_path);
	for (size_t i = 0; i < fl.n; i++)
		file_free(&fl.v[i]);
	free(fl.v);

	for (size_t i = 0; i < cs->n; i++)
		index_cert(cs, cs->certs[i]);
	return cs;
}

void
certstore_free(struct certstore *cs)
{
	if (cs == NULL)
		return;
	for (size_t i = 0; i < cs->n_entries; i++)
		free(cs->entry_list[i]);
	free(cs->entry_list);
	hmap_free(&cs->index);
	for (size_t i = 0; i < cs->n; i++)
		cert_free(cs->certs[i]);
	free(cs->certs);
	free(cs);
}

size_t
certstore_count(const struct certstore *cs)
{
	return cs ? cs->n : 0;
}

const char *
certstore_cert_path(const struct certstore *cs, size_t i)
{
	return cs->certs[i]->path;
}

const char *
certstore_key_path(const struct certstore *cs, size_t i)
{
	return cs->certs[i]->key_path;
}

time_t
certstore_cert_not_after(const struct certstore *cs, size_t i)
{
	return cs->certs[i]->not_after;
}

enum certstore_key
certstore_cert_key(const struct certstore *cs, size_t i)
{
	return cs->certs[i]->kind;
}

size_t
certstore_cert_n_names(const struct certstore *cs, size_t i)
{
	return cs->certs[i]->n_names;
}

const char *
certstore_cert_name(const struct certstore *cs, size_t i, size_t j)
{
	return cs->certs[i]->names[j];
}

/* ---- lookup ---- */

/* Candidates for HOST in order of preference: exact EC, exact RSA, wildcard EC, wildcard RSA. */
static void
candidates(const struct certstore *cs, const char *host, struct cert *out[4])
{
	const struct entry *e;
	const char *dot;
	char wild[300];

	memset(out, 0, 4 * sizeof(*out));
	if (cs == NULL)
		return;
	if ((e = hmap_get(&cs->index, host)) != NULL) {
		out[0] = e->best[0];
		out[1] = e->best[1];
	}
	/* a wildcard stands for exactly one label, and never for the whole name */
	if ((dot = strchr(host, '.')) != NULL && dot != host && strchr(dot + 1, '.') != NULL &&
	    (size_t)snprintf(wild, sizeof(wild), "*%s", dot) < sizeof(wild) &&
	    (e = hmap_get(&cs->index, wild)) != NULL) {
		out[2] = e->best[0];
		out[3] = e->best[1];
	}
}

long
certstore_lookup(const struct certstore *cs, const char *host, enum certstore_key want)
{
	struct cert *cand[4];

	candidates(cs, host, cand);
	for (int i = 0; i < 4; i++)
		if (cand[i] != NULL && (want == CERTSTORE_KEY_ANY || cand[i]->kind == want))
			return (long)cand[i]->idx;
	return -1;
}

/* ---- handshake ---- */

static struct certstore_session *
session_state(gnutls_session_t session)
{
	/* MHD owns the session pointer (gnutls_session_set_ptr); we use the unused db pointer */
	return gnutls_db_get_ptr(session);
}

static int
post_client_hello(gnutls_session_t session)
{
	struct certstore_session *s = session_state(session);
	char name[256];
	size_t len = sizeof(name) - 1;
	unsigned type;
	char host[256];

	if (s == NULL)
		return GNUTLS_E_INTERNAL_ERROR;
	s->state = CERTSTORE_HS_STARTED;
	if (gnutls_server_name_get(session, name, &len, &type, 0) >= 0 && type == GNUTLS_NAME_DNS &&
	    len > 0 && len < sizeof(host)) {
		name[len] = '\0';
		memcpy(host, name, len + 1);
		if (host[len - 1] == '.')
			host[len - 1] = '\0';
		str_lower(host);
		candidates(s->cs, host, s->cand);
		memcpy(s->sni, host, strlen(host) + 1);
		s->has_sni = true;
		if (s->cand[0] || s->cand[1] || s->cand[2] || s->cand[3])
			return 0;
	}
	/* RFC 8461 section 7.1: abort rather than present a certificate for another name */
	s->state = CERTSTORE_HS_UNKNOWN_SNI;
	metrics_tls_failure(METRICS_TLS_UNKNOWN_SNI);
	gnutls_alert_send(session, GNUTLS_AL_FATAL, GNUTLS_A_UNRECOGNIZED_NAME);
	return GNUTLS_E_UNRECOGNIZED_NAME;
}

/*
 * GnuTLS asks for the certificate once, before it picks a TLS 1.2 suite, and
 * tells the callback nothing about the client's suites. Read them from the
 * ClientHello so a TLS 1.2 client offering only ECDHE-RSA suites gets the
 * RSA certificate. TLS 1.3 suites work with either key type.
 */
static void
read_suites(struct certstore_session *s, const gnutls_datum_t *msg)
{
	const unsigned char *p = msg->data, *end = msg->data + msg->size;
	size_t n;

	if (msg->size < 35)
		return;
	p += 34;			/* legacy_version, random */
	n = *p++;			/* session id */
	if ((size_t)(end - p) < n + 2)
		return;
	p += n;
	n = ((size_t)p[0] << 8) | p[1];
	p += 2;
	if ((size_t)(end - p) < n)
		return;
	s->hello_seen = true;
	for (size_t i = 0; i + 1 < n; i += 2) {
		unsigned cs = ((unsigned)p[i] << 8) | p[i + 1];

		if ((cs >> 8) == 0x13)
			s->suites_ec = s->suites_rsa = true;
		else if (cs == 0xC02B || cs == 0xC02C || cs == 0xCCA9)
			s->suites_ec = true;
		else if (cs == 0xC02F || cs == 0xC030 || cs == 0xCCA8)
			s->suites_rsa = true;
	}
}

static int
handshake_hook(gnutls_session_t session, unsigned htype, unsigned when, unsigned incoming,
    const gnutls_datum_t *msg)
{
	struct certstore_session *s = session_state(session);

	if (s == NULL)
		return 0;
	if (s->state == CERTSTORE_HS_NONE)
		s->state = CERTSTORE_HS_STARTED;
	if (htype == GNUTLS_HANDSHAKE_CLIENT_HELLO && incoming && when == GNUTLS_HOOK_PRE && msg != NULL &&
	    !s->hello_seen)
		read_suites(s, msg);
	if (htype == GNUTLS_HANDSHAKE_FINISHED && incoming && when == GNUTLS_HOOK_POST &&
	    s->state == CERTSTORE_HS_STARTED)
		s->state = CERTSTORE_HS_DONE;
	return 0;
}

/* Which key types the client can verify, from its signature_algorithms and the suite's needs. */
static void
client_accepts(const struct certstore_session *s, gnutls_session_t session,
    const gnutls_pk_algorithm_t *pk_algos, int n_pk, bool *ec, bool *rsa)
{
	bool any = false;

	*ec = *rsa = false;
	for (unsigned i = 0; i < 64; i++) {
		gnutls_sign_algorithm_t sig;
		int pk;

		if (gnutls_sign_algorithm_get_requested(session, i, &sig) < 0)
			break;
		any = true;
		pk = gnutls_sign_get_pk_algorithm(sig);
		if (pk == GNUTLS_PK_RSA || pk == GNUTLS_PK_RSA_PSS)
			*rsa = true;
		else if (pk == GNUTLS_PK_ECDSA || pk == GNUTLS_PK_EDDSA_ED25519 || pk == GNUTLS_PK_EDDSA_ED448)
			*ec = true;
	}
	if (!any) {
		/* no signature_algorithms extension: TLS 1.2 defaults to RSA (RFC 5246 7.4.1.4.1) */
		*rsa = true;
	}
	if (s->hello_seen) {
		*ec = *ec && s->suites_ec;
		*rsa = *rsa && s->suites_rsa;
	}
	if (pk_algos != NULL && n_pk > 0) {
		bool pec = false, prsa = false;

		for (int i = 0; i < n_pk; i++) {
			if (pk_algos[i] == GNUTLS_PK_RSA || pk_algos[i] == GNUTLS_PK_RSA_PSS)
				prsa = true;
			else
				pec = true;
		}
		*ec = *ec && pec;
		*rsa = *rsa && prsa;
	}
}

static int
retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
    unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
	struct certstore_session *s = session_state(session);
	struct cert *const *cand, *pick = NULL;
	bool ec, rsa;
	(void)req_ca_rdn;
	(void)nreqs;

	if (s == NULL || !s->has_sni)
		return -1;
	cand = s->cand;
	client_accepts(s, session, pk_algos, pk_algos_length, &ec, &rsa);
	for (int i = 0; i < 4 && pick == NULL; i++)
		if (cand[i] != NULL && ((cand[i]->kind == CERTSTORE_KEY_EC && ec) ||
		    (cand[i]->kind == CERTSTORE_KEY_RSA && rsa)))
			pick = cand[i];
	/* nothing the client claims to accept: offer the best anyway and let the handshake decide */
	for (int i = 0; i < 4 && pick == NULL; i++)
		pick = cand[i];
	if (pick == NULL)
		return -1;
	*pcert = pick->pcerts;
	*pcert_length = pick->n_pcerts;
	*privkey = pick->key;
	return 0;
}

certstore_fnptr
certstore_retrieve_callback(void)
{
	gnutls_certificate_retrieve_function2 *fn = retrieve;

	return (certstore_fnptr)fn;
}

struct certstore_session *
certstore_session_attach(const struct certstore *cs, void *session)
{
	gnutls_session_t gs = session;
	struct certstore_session *s;

	if (gs == NULL)
		return NULL;
	s = xcalloc(1, sizeof(*s));
	s->cs = cs;
	s->gs = gs;
	s->state = CERTSTORE_HS_NONE;
	gnutls_db_set_ptr(gs, s);
	gnutls_handshake_set_post_client_hello_function(gs, post_client_hello);
	gnutls_handshake_set_hook_function(gs, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_BOTH, handshake_hook);
	if (ticket_key.data != NULL)
		gnutls_session_ticket_enable_server(gs, &ticket_key);
	return s;
}

void
certstore_session_free(struct certstore_session *s)
{
	free(s);
}

enum certstore_hs
certstore_session_result(const struct certstore_session *s)
{
	return s ? s->state : CERTSTORE_HS_NONE;
}

const char *
certstore_session_sni(const struct certstore_session *s)
{
	return s && s->has_sni ? s->sni : NULL;
}

void
certstore_session_cork(struct certstore_session *s)
{
	if (s == NULL || s->corked || s->state != CERTSTORE_HS_DONE)
		return;
	gnutls_record_cork(s->gs);
	s->corked = true;
}

void
certstore_session_flush(struct certstore_session *s, int fd)
{
	static const int off = 0;
	int rc;

	if (s == NULL || !s->corked)
		return;
	s->corked = false;
	if (!s->tcp_uncorked && fd >= 0) {
		/* MHD corked the socket for the header it meant to send alone */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
		s->tcp_uncorked = true;
	}
	for (int waited = 0;;) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		rc = gnutls_record_uncork(s->gs, 0);
		if (rc >= 0 || (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED))
			break;
		/* the client's window is full: give it a moment, never a thread for long */
		if (fd < 0 || waited >= 50 || poll(&p, 1, 10) < 0) {
			rc = -1;
			break;
		}
		waited += 10;
	}
	if (rc < 0 && fd >= 0)
		shutdown(fd, SHUT_RDWR);	/* MHD sees the error and closes the connection */
}

/* ---- check ---- */

#define EXPIRY_WARN_DAYS 21

void
certstore_check(const struct config *cfg, struct diag_list *dl)
{
	struct certstore *cs;
	bool *used;
	time_t now = time(NULL);

	if (cfg->n_https == 0 || cfg->tls_certs == NULL)
		return;
	/* an unreadable folder is reported; every domain is then uncovered too */
	if ((cs = certstore_load(cfg->tls_certs, dl)) == NULL)
		cs = xcalloc(1, sizeof(*cs));
	used = xcalloc(cs->n ? cs->n : 1, sizeof(*used));
	for (size_t i = 0; i < cfg->n_domains; i++) {
		const struct config_domain *d = &cfg->domains[i];
		char *host = xasprintf("mta-sts.%s", d->name);
		long ec = certstore_lookup(cs, host, CERTSTORE_KEY_EC);
		long rsa = certstore_lookup(cs, host, CERTSTORE_KEY_RSA);
		long best = ec;

		if (ec >= 0)
			used[ec] = true;
		if (rsa >= 0)
			used[rsa] = true;
		if (best < 0 || (rsa >= 0 && cs->certs[rsa]->not_after > cs->certs[best]->not_after))
			best = rsa;
		if (best < 0) {
			diag_add(dl, DIAG_ERROR, d->line, d->col, "no certificate under '%s' covers '%s'",
			    cfg->tls_certs, host);
		} else {
			const struct cert *c = cs->certs[best];
			char when[32];
			struct tm tm;

			gmtime_r(&c->not_after, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
			if (c->not_after <= now)
				diag_add(dl, DIAG_ERROR, d->line, d->col,
				    "the certificate for '%s' ('%s') expired on %s", host, c->path, when);
			else if (c->not_after - now < (time_t)EXPIRY_WARN_DAYS * 86400)
				diag_add(dl, DIAG_WARNING, d->line, d->col,
				    "the certificate for '%s' ('%s') expires in %lld days (%s)", host, c->path,
				    (long long)((c->not_after - now) / 86400), when);
		}
		free(host);
	}
	for (size_t i = 0; i < cs->n; i++)
		if (!used[i] && cs->certs[i]->n_names > 0)
			diag_add(dl, DIAG_WARNING, 0, 0, "certificate '%s' is not used by any configured domain",
			    cs->certs[i]->path);
	free(used);
	certstore_free(cs);
}
