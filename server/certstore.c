/* SPDX-License-Identifier: MIT */
/* certstore: certificates and keys found under tls.certs, indexed by SAN DNS name for SNI; the only GnuTLS user. */
#include "certstore.h"
#include "certparse.h"
#include "clienthello.h"
#include "dirlist.h"
#include "config.h"
#include "hmap.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "privsep.h"
#include "util.h"

#include <dirent.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/socket.h>
#include <gnutls/x509.h>

#define MAX_DEPTH 8
#define MAX_CHAIN 16
#define MAX_FILE (1024 * 1024)

/*
 * Certificates are indexed at load time from what certparse reads out of
 * the DER (names, expiry, key), and turned into GnuTLS's form on the first
 * handshake that needs them: 100,000 pairs then load in a second instead of
 * nine, and a name nobody asks for costs a kilobyte instead of eight. A
 * chain certparse does not read is imported by GnuTLS at load, as before.
 * An EC key certparse reads is matched by comparing the public point it
 * carries with the certificate's (GnuTLS compares the same stored values);
 * any other key (RSA: GnuTLS checks its arithmetic) is imported by GnuTLS
 * at load and matched there. Either way a key that does not parse or match
 * is an error before anything is served, and only the key's DER is kept
 * until the first handshake (GnuTLS's parsed form takes 5 KiB).
 */

/* An intermediate certificate, shared by every chain that sends it. */
struct inter {
	unsigned char *der;
	size_t len;
	char id[17];				/* hash of the DER, the key in certstore.inters */
	_Atomic(gnutls_pcert_st *) pcert;	/* GnuTLS form, built on first use */
	atomic_int refs;			/* the store that made it, and every pair that sends it */
};

/* A chain as GnuTLS sends it, and its key; the first n_owned entries belong to it, the rest are shared intermediates. */
struct chain {
	gnutls_privkey_t key;
	unsigned n, n_owned;
	gnutls_pcert_st pcerts[];
};

/* A certificate and its key. Shared by the stores of successive reloads while their files do not change. */
struct cert {
	atomic_int refs;
	char *path, *key_path;
	enum certstore_key kind;
	time_t not_before, not_after;	/* validity, both inclusive: a candidate only in between */
	char **names;			/* SAN dNSNames, lower case, no trailing dot */
	size_t n_names;
	unsigned char *leaf;		/* DER of the leaf, until GnuTLS's form is built */
	size_t leaf_len;
	struct certparse_info info;	/* what certparse read from leaf (pointers into it) */
	unsigned char *key;		/* DER of the private key, likewise */
	size_t key_len;
	struct inter **inters;
	unsigned n_inters;
	_Atomic(struct chain *) chain;	/* built on first use, or at load when certparse did not read it */
	atomic_bool failed;		/* building it failed (logged once); not retried */
};

/*
 * Every pair under one SAN name, positions in certstore.certs. Which of them
 * serves is decided at each lookup, against the clock: a pair that comes into
 * or goes out of validity changes the choice without a reload.
 */
struct entry {
	size_t n;
	long first;
	long *more;			/* n - 1 further positions */
};

/* A file as it was read: a reload reuses what was read from it while these stay the same. */
struct filerec {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
	mode_t mode;
	bool has_cert, has_key;
	bool broken;			/* its pair did not load; cert is the earlier version kept in service */
	struct cert *cert;		/* the pair whose certificate this file holds, or NULL (borrowed) */
};

struct certstore {
	struct cert **certs;
	size_t n, cap;
	struct hmap index;		/* SAN name (or "*.suffix") -> struct entry */
	struct entry **entry_list;
	size_t n_entries, cap_entries;
	struct hmap inters;		/* struct inter.id -> struct inter */
	struct inter **inter_list;
	size_t n_inters, cap_inters;
	pthread_mutex_t lock;		/* the intermediates, while pairs load in parallel */
	struct hmap files;		/* struct filerec.path -> struct filerec */
	struct filerec *filerecs;
	size_t n_filerecs;
	size_t n_reused;		/* pairs taken over from the previous store */
	size_t n_broken;		/* pairs (or their files) that could not be loaded: their names only go unserved */
	struct dirlist **dirs;		/* the folders as listed, which the next load takes over while unchanged */
	size_t n_dirs, n_dirs_reused;
	struct hmap dirs_by_path;	/* struct dirlist.path -> struct dirlist */
};

/* Append X to the array *V of *N elements with room for *CAP, doubling it when full. */
#define APPEND(v, n, cap, x)                                                        \
	do {                                                                        \
		if ((n) == (cap)) {                                                 \
			(cap) = (cap) ? (cap) * 2 : 16;                             \
			(v) = xreallocarray((v), (cap), sizeof(*(v)));              \
		}                                                                   \
		(v)[(n)++] = (x);                                                   \
	} while (0)

struct certstore_session {
	const struct certstore *cs;
	gnutls_session_t gs;
	bool corked;			/* a response collects in GnuTLS (certstore_session_cork) */
	bool tcp_uncorked;		/* TCP_CORK cleared once on this connection */
	enum certstore_hs state;
	char sni[256];
	bool has_sni;
	struct cert *cand[4];		/* candidates for the SNI, found once per handshake */
	bool hello_seen;		/* the first ClientHello was read into hello */
	struct clienthello hello;
	/* what the client sent while the handshake ran (pull), to tell why it failed */
	int fd;
	unsigned long long rx;		/* bytes received */
	unsigned char first;		/* the first of them */
	bool waiting;			/* the last read found nothing yet */
	bool gone;			/* the client closed or reset the connection */
};

static gnutls_datum_t ticket_key;
/* the same priorities with P-256 or P-384 first, for a client that sent a key share for it only */
static gnutls_priority_t prio_p256, prio_p384;

#define PRIORITIES_BASE                                                                                  \
	"SECURE128:%SERVER_PRECEDENCE:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:"     \
	"+AES-256-GCM:+CHACHA20-POLY1305:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-GROUP-ALL:"

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
	if ((rc = gnutls_priority_init(&prio_p256, PRIORITIES_BASE
	    "+GROUP-SECP256R1:+GROUP-X25519:+GROUP-SECP384R1", NULL)) < 0 ||
	    (rc = gnutls_priority_init(&prio_p384, PRIORITIES_BASE
	    "+GROUP-SECP384R1:+GROUP-X25519:+GROUP-SECP256R1", NULL)) < 0) {
		log_error("%s: cannot set the TLS priorities: %s", __func__, gnutls_strerror(rc));
		certstore_global_deinit();
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
	if (prio_p256 != NULL)
		gnutls_priority_deinit(prio_p256);
	if (prio_p384 != NULL)
		gnutls_priority_deinit(prio_p384);
	prio_p256 = prio_p384 = NULL;
}

const char *
certstore_priorities(void)
{
	/*
	 * %SERVER_PRECEDENCE picks AES-128-GCM with SHA-256 even when the
	 * client lists AES-256-GCM-SHA384 first (OpenSSL and GnuTLS do): the
	 * TLS 1.3 key schedule is dozens of HMACs, and SHA-256 runs on the
	 * CPU's SHA extensions where SHA-384 does not. Measured: 22% more
	 * TLS 1.3 and 13-20% more TLS 1.2 handshakes per CPU second. Server
	 * precedence also orders the groups, X25519 first; a client that sent
	 * a key share for P-256 or P-384 only gets priorities with that group
	 * first (post_client_hello), so no client that sent a usable share is
	 * asked for another (a HelloRetryRequest costs a round trip).
	 */
	return PRIORITIES_BASE "+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1";
}

const char *
certstore_tls_version(void)
{
	return gnutls_check_version(NULL);
}

/* ---- loading ---- */

struct file {
	char *path;			/* DIR/BASE */
	const char *base, *ext;		/* into path: the file's name, and what follows its last dot */
	size_t dir_len;
	char *data;
	size_t len;
	struct stat st;			/* as it was read (or found unchanged) */
	const struct filerec *was;	/* the previous load's record of it, when st was taken while listing */
	int read_errno;			/* reading it failed (reported once every file was read) */
	bool has_cert, has_key, used;
	bool unchanged;			/* as the previous store read it: not read again */
	bool broken;			/* its pair did not load (cert: the earlier version kept) */
	struct cert *cert;		/* the pair loaded with this file as its certificate */
};

static void
wipe_free(void *p, size_t len)
{
	/* may hold a private key */
	if (p != NULL) {
		gnutls_memset(p, 0, len);
		free(p);
	}
}

static void
file_free(struct file *f)
{
	if (f->has_key)
		wipe_free(f->data, f->len);
	else
		free(f->data);		/* certificates only: nothing to wipe */
	free(f->path);
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
	size_t n, cap;
	struct hmap by_path;		/* path -> index + 1 (as a pointer), built when first needed */
	bool by_path_built;
	const struct certstore *prev;	/* the store of the previous load, or NULL */
	size_t hint;			/* the previous store's record after the last one found */
	struct dirlist **dirs;		/* every folder listed, for the next load */
	size_t n_dirs, cap_dirs, n_dirs_reused;
	struct dirlist_seen seen;	/* every folder entered, so each is read once (links and loops) */
};

/* DIR/NAME, in one allocation (200,000 files make a plain asprintf show up) */
static char *
join(const char *dir, size_t dir_len, const char *name, size_t name_len)
{
	char *p = xmalloc(dir_len + 1 + name_len + 1);

	memcpy(p, dir, dir_len);
	p[dir_len] = '/';
	memcpy(p + dir_len + 1, name, name_len);
	p[dir_len + 1 + name_len] = '\0';
	return p;
}

/* Takes PATH, DIR/NAME with DIR DIR_LEN bytes long. */
static void
add_file(struct filelist *fl, char *path, size_t dir_len)
{
	struct file f = { 0 };

	f.path = path;
	f.dir_len = dir_len;
	f.base = path + dir_len + 1;
	f.ext = strrchr(f.base, '.') + 1;
	APPEND(fl->v, fl->n, fl->cap, f);
}

/* The previous load's record of PATH, or NULL. */
static const struct filerec *
prev_record(struct filelist *fl, const char *path)
{
	const struct certstore *p = fl->prev;
	const struct filerec *r;

	if (p == NULL)
		return NULL;
	/* the tree is listed in the same order each time: the record after the last one found is usually it */
	if (fl->hint < p->n_filerecs && strcmp(p->filerecs[fl->hint].path, path) == 0)
		r = &p->filerecs[fl->hint];
	else if ((r = hmap_get(&p->files, path)) == NULL)
		return NULL;
	fl->hint = (size_t)(r - p->filerecs) + 1;
	return r;
}

/* Collect candidate files under DIR, sorted, so the result does not depend on readdir order. */
static int
scan(const char *dir, int depth, struct filelist *fl, struct diag_list *dl)
{
	DIR *d;
	struct dirlist *l;
	size_t dir_len = strlen(dir);
	bool letsencrypt, reused;
	struct stat dst;
	const char *first;

	if ((d = privsep_opendir(dir)) == NULL) {
		/* the top folder is the configuration's; one below it holds some tenants' pairs only */
		diag_add(dl, depth == 0 ? DIAG_ERROR : DIAG_UNSERVED, 0, 0, "tls.certs: cannot read folder '%s': %s",
		    dir, errno == EACCES || errno == EPERM ? "permission denied" : strerror(errno));
		return -1;
	}
	/* by (device, inode): a link back up the tree is read once, not until MAX_DEPTH multiplies every pair */
	if (fstat(dirfd(d), &dst) == 0 && !dirlist_seen_add(&fl->seen, dst.st_dev, dst.st_ino, dir, &first)) {
		diag_add(dl, DIAG_WARNING, 0, 0, "tls.certs: folder '%s' is '%s' again (a link); read once", dir, first);
		closedir(d);
		return 0;
	}
	/* a regular file whose name is not a certificate's or key's is nothing to us */
	l = dirlist_read(d, dir, fl->prev ? hmap_get(&fl->prev->dirs_by_path, dir) : NULL, interesting, &reused);
	APPEND(fl->dirs, fl->n_dirs, fl->cap_dirs, l);
	fl->n_dirs_reused += reused;
	letsencrypt = dirlist_has(l, "live") && dirlist_has(l, "archive");
	for (size_t i = 0; i < l->n; i++) {
		const char *name = l->v[i].name;
		unsigned char type = l->v[i].type;
		char *path;
		struct stat st;

		/*
		 * A certbot root (/etc/letsencrypt): live/ links to the current
		 * files; archive/ keeps every old version, keys/ and csr/ hold
		 * spare keys and requests. Only live/ is what certbot serves.
		 */
		if (letsencrypt && (strcmp(name, "archive") == 0 || strcmp(name, "keys") == 0 ||
		    strcmp(name, "csr") == 0 || strcmp(name, "accounts") == 0))
			continue;
		path = join(dir, dir_len, name, strlen(name));
		/* readdir's type spares a stat per file; a link (certbot's live/ links into archive/) is followed */
		if (type != DT_REG && type != DT_DIR) {
			if (privsep_stat(path, &st) == 0)
				type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
			else if (errno == EACCES || errno == EPERM) {
				/* what we may not read is reported as that (a file when it is read), not left out as missing */
				if (!interesting(name))
					diag_add(dl, DIAG_WARNING, 0, 0, "cannot read '%s': permission denied", path);
				type = DT_REG;
			} else
				type = DT_UNKNOWN;
		}
		if (type == DT_DIR && depth < MAX_DEPTH)
			scan(path, depth + 1, fl, dl);
		else if (type == DT_REG && interesting(name)) {
			add_file(fl, path, dir_len);
			struct file *f = &fl->v[fl->n - 1];
			const struct filerec *r;

			/* a file the previous load read: a stat relative to the open folder tells whether it changed */
			if ((r = prev_record(fl, path)) != NULL &&
			    (fstatat(dirfd(d), name, &f->st, 0) == 0 || privsep_stat(path, &f->st) == 0))
				f->was = r;
			path = NULL;
		}
		free(path);
	}
	closedir(d);
	return 0;
}

static bool
same_file(const struct stat *st, const struct filerec *r)
{
	return st->st_dev == r->dev && st->st_ino == r->ino && st->st_size == r->size &&
	    st->st_mtim.tv_sec == r->mtim.tv_sec && st->st_mtim.tv_nsec == r->mtim.tv_nsec &&
	    st->st_ctim.tv_sec == r->ctim.tv_sec && st->st_ctim.tv_nsec == r->ctim.tv_nsec;
}

/* Read F now (its contents are needed); 0, or -1 with read_errno set and F marked used. */
static int
read_now(struct file *f)
{
	if (f->data != NULL)
		return 0;
	if (privsep_read_file(f->path, MAX_FILE, &f->data, &f->len, &f->st) < 0) {
		f->read_errno = errno;
		f->used = true;
		return -1;
	}
	f->has_cert = strstr(f->data, "-----BEGIN CERTIFICATE-----") != NULL;
	f->has_key = strstr(f->data, "PRIVATE KEY-----") != NULL;
	return 0;
}

/*
 * pool_fn: candidate I of the struct filelist CTX. A file the previous
 * store read, unchanged since (same inode, size, mtime and ctime: certbot
 * and cert-manager replace files, editors rewrite them), costs a stat
 * instead of a read; the pair it belongs to is then taken over as it is.
 */
static void
read_candidate(void *ctx, size_t i)
{
	struct file *f = &((struct filelist *)ctx)->v[i];

	if (f->was != NULL && same_file(&f->st, f->was)) {
		f->unchanged = true;
		f->has_cert = f->was->has_cert;
		f->has_key = f->was->has_key;
		return;
	}
	(void)read_now(f);
}

static void
report_read_error(const struct file *f, struct diag_list *dl)
{
	if (f->read_errno == EFBIG)
		diag_add(dl, DIAG_WARNING, 0, 0, "'%s' is larger than 1 MiB, ignored", f->path);
	else if (f->read_errno != 0)
		diag_add(dl, DIAG_UNSERVED, 0, 0, "cannot read '%s': %s", f->path,
		    f->read_errno == EACCES || f->read_errno == EPERM ? "permission denied" : strerror(f->read_errno));
}

static struct chain *build_chain(struct cert *c, gnutls_privkey_t key, int *rc);

static void
chain_free(struct chain *ch)
{
	if (ch == NULL)
		return;
	for (unsigned i = 0; i < ch->n_owned; i++)
		gnutls_pcert_deinit(&ch->pcerts[i]);
	if (ch->key != NULL)
		gnutls_privkey_deinit(ch->key);
	free(ch);
}

static void inter_unref(struct inter *in);

static void
cert_unref(struct cert *c)
{
	if (c == NULL || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	chain_free(atomic_load(&c->chain));
	for (unsigned i = 0; i < c->n_inters; i++)
		inter_unref(c->inters[i]);
	wipe_free(c->key, c->key_len);
	for (size_t i = 0; i < c->n_names; i++)
		free(c->names[i]);
	free(c->names);
	free(c->leaf);
	free(c->inters);
	free(c->path);
	free(c->key_path);
	free(c);
}

static void
inter_unref(struct inter *in)
{
	gnutls_pcert_st *p;

	if (in == NULL || atomic_fetch_sub_explicit(&in->refs, 1, memory_order_acq_rel) != 1)
		return;
	p = atomic_load(&in->pcert);
	if (p != NULL) {
		gnutls_pcert_deinit(p);
		free(p);
	}
	free(in->der);
	free(in);
}

static bool
is_ca(gnutls_x509_crt_t crt)
{
	unsigned ca = 0;

	return gnutls_x509_crt_get_basic_constraints(crt, NULL, &ca, NULL) >= 0 && ca;
}

/* Add NAME[0..LEN) to C's names: lower case, no trailing dot; an embedded NUL is never trusted. */
static void
add_name(struct cert *c, const char *name, size_t len)
{
	char *s;

	if (len == 0 || memchr(name, '\0', len) != NULL)
		return;
	if (name[len - 1] == '.' && --len == 0)
		return;
	s = xstrndup(name, len);
	str_lower(s);
	c->names = xreallocarray(c->names, c->n_names + 1, sizeof(*c->names));
	c->names[c->n_names++] = s;
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
		if (type == GNUTLS_SAN_DNSNAME)
			add_name(c, name, size);
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

/* KEY belongs to the certificate whose public key GnuTLS reads as PUB. */
static bool
key_matches_pubkey(gnutls_privkey_t key, gnutls_pubkey_t pub)
{
	unsigned char id1[64], id2[64];
	size_t len1 = sizeof(id1), len2 = sizeof(id2);

	return gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, id1, &len1) >= 0 &&
	    key_id_of_priv(key, id2, &len2) >= 0 && len1 == len2 && memcmp(id1, id2, len1) == 0;
}

/* GnuTLS's integer D (maybe with a leading zero) equals V[0..N) */
static bool
uint_eq(const gnutls_datum_t *d, const unsigned char *v, size_t n)
{
	return certparse_uint_eq(d->data, d->size, v, n);
}

/* KEY belongs to the certificate certparse read as CI (comparing public values: no arithmetic). */
static bool
key_matches_info(gnutls_privkey_t key, const struct certparse_info *ci)
{
	static const gnutls_ecc_curve_t curves[] = {
		[CERTPARSE_CURVE_P256] = GNUTLS_ECC_CURVE_SECP256R1,
		[CERTPARSE_CURVE_P384] = GNUTLS_ECC_CURVE_SECP384R1,
		[CERTPARSE_CURVE_P521] = GNUTLS_ECC_CURVE_SECP521R1,
	};
	gnutls_datum_t a = { NULL, 0 }, b = { NULL, 0 };
	gnutls_ecc_curve_t curve;
	int pk = gnutls_privkey_get_pk_algorithm(key, NULL);
	bool ok = false;

	if (ci->pk == CERTPARSE_PK_EC && pk == GNUTLS_PK_ECDSA) {
		size_t half = (ci->pub_len - 1) / 2;

		if (gnutls_privkey_export_ecc_raw2(key, &curve, &a, &b, NULL, GNUTLS_EXPORT_FLAG_NO_LZ) >= 0)
			ok = curve == curves[ci->curve] && uint_eq(&a, ci->pub + 1, half) &&
			    uint_eq(&b, ci->pub + 1 + half, half);
	} else if (ci->pk == CERTPARSE_PK_RSA && pk == GNUTLS_PK_RSA) {
		if (gnutls_privkey_export_rsa_raw2(key, &a, &b, NULL, NULL, NULL, NULL, NULL, NULL,
		    GNUTLS_EXPORT_FLAG_NO_LZ) >= 0)
			ok = uint_eq(&a, ci->pub, ci->pub_len) && uint_eq(&b, ci->exp, ci->exp_len);
	}
	gnutls_free(a.data);
	gnutls_free(b.data);
	return ok;
}

/*
 * The shared intermediate with this DER, made when new, with a reference for
 * the caller; takes DER. NULL when certparse does not read it (DER is
 * freed): the chain then goes to GnuTLS.
 */
static struct inter *
intern(struct certstore *cs, unsigned char *der, size_t len)
{
	struct certparse_info ci;
	struct inter *in;
	char id[17];

	snprintf(id, sizeof(id), "%016llx", mem_hash(der, len));
	pthread_mutex_lock(&cs->lock);
	if ((in = hmap_get(&cs->inters, id)) != NULL) {
		if (in->len != len || memcmp(in->der, der, len) != 0)
			in = NULL;
		free(der);
	} else if (certparse_cert(der, len, &ci) < 0) {
		free(der);
	} else {
		in = xcalloc(1, sizeof(*in));
		in->der = der;
		in->len = len;
		atomic_init(&in->refs, 1);	/* the store's */
		memcpy(in->id, id, sizeof(id));
		hmap_put(&cs->inters, in->id, in);
		APPEND(cs->inter_list, cs->n_inters, cs->cap_inters, in);
	}
	if (in != NULL)
		atomic_fetch_add_explicit(&in->refs, 1, memory_order_relaxed);	/* the caller's */
	pthread_mutex_unlock(&cs->lock);
	return in;
}

static bool
is_key_label(const char *label)
{
	size_t n = strlen(label);

	return n >= 11 && strcmp(label + n - 11, "PRIVATE KEY") == 0;
}

/*
 * Read the chain in CF with certparse into C (leaf DER, shared
 * intermediates, names, expiry) and *CI. Returns false, with C as it was,
 * when the file is not in the shape certparse reads.
 */
static bool
read_chain_fast(struct certstore *cs, struct cert *c, const struct file *cf, struct certparse_info *ci)
{
	struct inter *inters[MAX_CHAIN];
	unsigned n = 0;
	size_t pos = 0, len;
	unsigned char *der;
	char label[64];
	int rc;

	while ((rc = certparse_pem_next(cf->data, cf->len, &pos, label, sizeof(label), &der, &len)) == 1) {
		if (strcmp(label, "CERTIFICATE") != 0) {
			wipe_free(der, len);
			if (is_key_label(label))
				continue;
			goto not_ours;
		}
		if (n == 0) {
			c->leaf = der;
			c->leaf_len = len;
			if (certparse_cert(der, len, ci) < 0)
				goto not_ours;
		} else if (n == MAX_CHAIN) {
			free(der);
			goto not_ours;	/* GnuTLS's reading reports it */
		} else if ((inters[n - 1] = intern(cs, der, len)) == NULL)
			goto not_ours;
		n++;
	}
	if (rc < 0 || n == 0)
		goto not_ours;
	c->info = *ci;
	c->n_inters = n - 1;
	c->inters = xcalloc(n, sizeof(*c->inters));
	memcpy(c->inters, inters, (n - 1) * sizeof(*inters));
	const char *name;
	for (size_t p = 0; certparse_next_dns(ci, &p, &name, &len);)
		add_name(c, name, len);
	c->not_before = ci->not_before;
	c->not_after = ci->not_after;
	return true;
not_ours:
	for (unsigned i = 0; i + 1 < n; i++)
		inter_unref(inters[i]);
	free(c->leaf);
	c->leaf = NULL;
	c->leaf_len = 0;
	return false;
}

/*
 * GnuTLS reads the chain in CF into C (names, expiry, the built chain).
 * Returns 0, 1 when the leaf is a CA certificate (not for serving), or -1
 * with an error in DL.
 */
static int
read_chain_gnutls(struct cert *c, const struct file *cf, struct diag_list *dl)
{
	gnutls_x509_crt_t *crts = NULL;
	unsigned n_crts = 0;
	gnutls_datum_t data = { (unsigned char *)cf->data, (unsigned)cf->len };
	struct chain *ch = NULL;
	int rc, ret = -1;

	rc = gnutls_x509_crt_list_import2(&crts, &n_crts, &data, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || n_crts == 0) {
		diag_add(dl, DIAG_UNSERVED, 0, 0, "certificate '%s' cannot be parsed: %s", cf->path,
		    rc < 0 ? gnutls_strerror(rc) : "no certificate");
		goto out;
	}
	if (is_ca(crts[0])) {
		ret = 1;
		goto out;
	}
	if (n_crts > MAX_CHAIN) {
		diag_add(dl, DIAG_UNSERVED, 0, 0, "certificate '%s' has more than %d certificates", cf->path, MAX_CHAIN);
		goto out;
	}
	collect_names(c, crts[0]);
	c->not_before = gnutls_x509_crt_get_activation_time(crts[0]);
	c->not_after = gnutls_x509_crt_get_expiration_time(crts[0]);
	ch = xcalloc(1, sizeof(*ch) + n_crts * sizeof(ch->pcerts[0]));
	ch->n = n_crts;
	if ((rc = gnutls_pcert_import_x509_list(ch->pcerts, crts, &ch->n, 0)) < 0) {
		free(ch);
		diag_add(dl, DIAG_UNSERVED, 0, 0, "certificate '%s' cannot be used: %s", cf->path, gnutls_strerror(rc));
		goto out;
	}
	ch->n_owned = ch->n;
	atomic_store(&c->chain, ch);
	ret = 0;
out:
	for (unsigned i = 0; i < n_crts; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	return ret;
}

/* The key of a chain certparse read matches its leaf; GnuTLS has the last word before a mismatch is reported. */
static bool
fast_key_matches(const struct cert *c, gnutls_privkey_t key, const struct certparse_info *ci)
{
	gnutls_datum_t d = { c->leaf, (unsigned)c->leaf_len };
	gnutls_pcert_st pc;
	bool ok;

	if (key_matches_info(key, ci))
		return true;
	if (gnutls_pcert_import_x509_raw(&pc, &d, GNUTLS_X509_FMT_DER, 0) < 0)
		return false;
	ok = key_matches_pubkey(key, pc.pubkey);
	gnutls_pcert_deinit(&pc);
	return ok;
}

/* The DER of the one private key block in KF (malloc'd), or NULL when there is not exactly one we can decode. */
static unsigned char *
key_der(const struct file *kf, size_t *len)
{
	unsigned char *der, *found = NULL;
	size_t pos = 0, n, found_len = 0;
	char label[64];
	int rc;

	while ((rc = certparse_pem_next(kf->data, kf->len, &pos, label, sizeof(label), &der, &n)) == 1) {
		if (!is_key_label(label)) {
			free(der);
			continue;
		}
		if (found != NULL || strcmp(label, "ENCRYPTED PRIVATE KEY") == 0) {
			wipe_free(der, n);
			rc = -1;
			break;
		}
		found = der;
		found_len = n;
	}
	if (rc < 0) {
		wipe_free(found, found_len);
		return NULL;
	}
	*len = found_len;
	return found;
}

/*
 * GnuTLS reads the key in KF for C: from C's key DER when there is one (it
 * is kept; GnuTLS reads it again on the first handshake), else from the PEM
 * (the parsed key is kept). It must match the leaf: CI when certparse read
 * the chain, else the chain GnuTLS built. Returns 0, or -1 with an error in DL.
 */
static int
load_key(struct cert *c, const struct file *kf, const struct certparse_info *ci, struct diag_list *dl)
{
	gnutls_privkey_t key = NULL;
	gnutls_datum_t data;
	struct chain *ch;
	int rc, pk;

	if ((rc = gnutls_privkey_init(&key)) >= 0) {
		data.data = c->key ? c->key : (unsigned char *)kf->data;
		data.size = (unsigned)(c->key ? c->key_len : kf->len);
		rc = gnutls_privkey_import_x509_raw(key, &data, c->key ? GNUTLS_X509_FMT_DER : GNUTLS_X509_FMT_PEM,
		    NULL, 0);
	}
	if (rc < 0) {
		diag_add(dl, DIAG_UNSERVED, 0, 0, "private key '%s' cannot be parsed: %s", kf->path, gnutls_strerror(rc));
		goto fail;
	}
	if (ci ? !fast_key_matches(c, key, ci) : !key_matches_pubkey(key, atomic_load(&c->chain)->pcerts[0].pubkey)) {
		diag_add(dl, DIAG_UNSERVED, 0, 0, "private key '%s' does not match certificate '%s'", kf->path, c->path);
		goto fail;
	}
	pk = gnutls_privkey_get_pk_algorithm(key, NULL);
	c->kind = (pk == GNUTLS_PK_RSA || pk == GNUTLS_PK_RSA_PSS) ? CERTSTORE_KEY_RSA : CERTSTORE_KEY_EC;
	if (ci == NULL) {
		atomic_load(&c->chain)->key = key;
	} else if (c->key != NULL) {
		gnutls_privkey_deinit(key);	/* the DER is what is kept */
	} else {
		/* a key file we cannot cut the key out of: build the whole chain now */
		if ((ch = build_chain(c, key, &rc)) == NULL) {
			diag_add(dl, DIAG_UNSERVED, 0, 0, "certificate '%s' cannot be used: %s", c->path, gnutls_strerror(rc));
			return -1;
		}
		atomic_store(&c->chain, ch);
	}
	return 0;
fail:
	if (key != NULL)
		gnutls_privkey_deinit(key);
	return -1;
}

/* T as "YYYY-MM-DD HH:MM:SSZ" into WHEN. */
static void
utc_when(time_t t, char when[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(when, 32, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* What a loaded pair is warned about, every time it is loaded or taken over. */
static void
pair_warnings(const struct cert *c, const struct file *kf, struct diag_list *dl)
{
	if (c->n_names == 0)
		diag_add(dl, DIAG_WARNING, 0, 0, "certificate '%s' has no SAN DNS names (the CN is ignored); not used",
		    c->path);
	time_t now = time(NULL);

	if (c->not_after < now)
		diag_add(dl, DIAG_WARNING, 0, 0, "certificate '%s' has expired; not used", c->path);
	else if (c->not_before > now) {
		char when[32];

		utc_when(c->not_before, when);
		diag_add(dl, DIAG_WARNING, 0, 0, "certificate '%s' is not valid before %s; used from then on",
		    c->path, when);
	}
	if ((kf->st.st_mode & 077) != 0)
		diag_add(dl, DIAG_WARNING, 0, 0, "private key '%s' is readable by group or others (mode %03o)",
		    kf->path, (unsigned)(kf->st.st_mode & 0777));
}

/*
 * Read the chain in CF and the key in KF into a pair. Returns the pair, or
 * NULL with *SKIP set when the chain is a CA certificate (not for serving),
 * or NULL with an error in DL.
 */
static struct cert *
load_pair(struct certstore *cs, struct file *cf, struct file *kf, struct diag_list *dl, bool *skip)
{
	struct cert *c = xcalloc(1, sizeof(*c));
	struct certparse_info ci;
	struct certparse_key kp;
	bool fast;
	int rc = 0;

	atomic_init(&c->refs, 1);
	*skip = false;
	c->path = xstrdup(cf->path);
	c->key_path = xstrdup(kf->path);
	if ((fast = read_chain_fast(cs, c, cf, &ci)))
		*skip = ci.is_ca;
	else if ((rc = read_chain_gnutls(c, cf, dl)) != 0)
		*skip = rc > 0;
	if (*skip || (!fast && atomic_load(&c->chain) == NULL))
		goto fail;

	if (fast)
		c->key = key_der(kf, &c->key_len);
	if (fast && c->key != NULL && certparse_key(c->key, c->key_len, &kp) == 0 && certparse_key_matches(&ci, &kp)) {
		/* read and matched without GnuTLS, which reads the same DER on the first handshake */
		c->kind = ci.pk == CERTPARSE_PK_RSA ? CERTSTORE_KEY_RSA : CERTSTORE_KEY_EC;
	} else if (load_key(c, kf, fast ? &ci : NULL, dl) < 0)
		goto fail;
	pair_warnings(c, kf, dl);
	return c;
fail:
	cert_unref(c);
	return NULL;
}

/* Pairs found by file name and content, loaded in parallel, then added in the order found. */
struct pair {
	struct file *cf, *kf;
	struct cert *c;			/* the loaded pair, or NULL */
	bool reused;			/* c was taken over from the previous store */
	bool kept;			/* the files are broken now; c is the version that served before */
	struct diag_list dl;		/* what loading it said */
};

struct pairs {
	struct certstore *cs;
	const struct certstore *prev;
	struct pair *v;
	size_t n, cap;
};

static void
add_pair(struct pairs *ps, struct file *cf, struct file *kf)
{
	struct pair p = { cf, kf, NULL, false, false, { 0 } };

	cf->used = kf->used = true;
	APPEND(ps->v, ps->n, ps->cap, p);
}

/* pool_fn: load pair I of the struct pairs CTX, or take it over from the previous store */
static void
load_one(void *ctx, size_t i)
{
	struct pairs *ps = ctx;
	struct pair *p = &ps->v[i];
	struct cert *old;
	bool skip;

	p->reused = p->kept = false;
	if (p->cf->unchanged && p->kf->unchanged && (old = p->cf->was->cert) != NULL && !p->cf->was->broken &&
	    strcmp(old->key_path, p->kf->path) == 0) {
		/* the same files as last time: the same pair, with whatever GnuTLS form it has by now */
		atomic_fetch_add_explicit(&old->refs, 1, memory_order_relaxed);
		p->c = old;
		p->reused = true;
		pair_warnings(old, p->kf, &p->dl);
		return;
	}
	if (read_now(p->cf) < 0 || read_now(p->kf) < 0)
		report_read_error(p->cf->read_errno ? p->cf : p->kf, &p->dl);
	else
		p->c = load_pair(ps->cs, p->cf, p->kf, &p->dl, &skip);
	if (p->c == NULL && p->dl.unserved > 0 && p->cf->was != NULL && (old = p->cf->was->cert) != NULL &&
	    strcmp(old->key_path, p->kf->path) == 0) {
		/* a half-written renewal: the version that served goes on serving until these files load */
		atomic_fetch_add_explicit(&old->refs, 1, memory_order_relaxed);
		p->c = old;
		p->kept = true;
		diag_add(&p->dl, DIAG_WARNING, 0, 0, "the version of '%s' that was serving is kept until the pair loads",
		    old->path);
	}
}

/* The unused file BASE (BASE_LEN bytes) in the folder of NEAR, or NULL. */
static struct file *
find_in_dir(struct filelist *fl, const struct file *near, const char *base, size_t base_len)
{
	size_t at = (size_t)(near - fl->v);
	uintptr_t i = 0;
	char *path;

	/* listed sorted, a pair's files are next to each other (NAME.crt, NAME.key; cert, chain, fullchain, privkey) */
	for (size_t j = at > 3 ? at - 3 : 0; j < fl->n && j <= at + 3; j++) {
		const struct file *f = &fl->v[j];

		if (j != at && f->dir_len == near->dir_len && memcmp(f->path, near->path, near->dir_len) == 0 &&
		    strcmp(f->base, base) == 0)
			return f->used ? NULL : &fl->v[j];
	}
	/* else a hash lookup: tens of thousands of pairs must not cost a quadratic scan */
	if (!fl->by_path_built) {
		for (size_t j = 0; j < fl->n; j++)
			hmap_put(&fl->by_path, fl->v[j].path, (void *)(uintptr_t)(j + 1));
		fl->by_path_built = true;
	}
	path = join(near->path, near->dir_len, base, base_len);
	i = (uintptr_t)hmap_get(&fl->by_path, path);
	free(path);
	if (i == 0 || fl->v[i - 1].used)
		return NULL;
	return &fl->v[i - 1];
}

/*
 * Whether a file BASE beside NEAR could not be read (its error is reported):
 * NEAR's pair is then not "without a key", only unreadable. Looked for among
 * the neighbours only, where sorting puts a pair's files.
 */
static bool
unreadable_near(const struct filelist *fl, const struct file *near, const char *base)
{
	size_t at = (size_t)(near - fl->v);

	for (size_t j = at > 3 ? at - 3 : 0; j < fl->n && j <= at + 3; j++) {
		const struct file *f = &fl->v[j];

		if (j != at && f->read_errno != 0 && f->dir_len == near->dir_len &&
		    memcmp(f->path, near->path, near->dir_len) == 0 && strcmp(f->base, base) == 0)
			return true;
	}
	return false;
}

/* Index pair IDX of CS under its names, and remember its files for the next reload. */
static void
index_cert(struct certstore *cs, size_t idx)
{
	struct cert *c = cs->certs[idx];

	for (size_t i = 0; i < c->n_names; i++) {
		struct entry *e = hmap_get(&cs->index, c->names[i]);

		if (e == NULL) {
			e = xcalloc(1, sizeof(*e));
			e->first = (long)idx;
			e->n = 1;
			hmap_put(&cs->index, c->names[i], e);
			APPEND(cs->entry_list, cs->n_entries, cs->cap_entries, e);
			continue;
		}
		/* one name, several pairs: rare (a renewal beside the old one, EC and RSA), so grown one by one */
		e->more = xreallocarray(e->more, e->n, sizeof(*e->more));
		e->more[e->n++ - 1] = (long)idx;
	}
}

/* What the next reload needs to know of the files and folders read now, to skip what it finds unchanged (takes both). */
static void
remember_files(struct certstore *cs, struct filelist *fl)
{
	cs->filerecs = xcalloc(fl->n ? fl->n : 1, sizeof(*cs->filerecs));
	for (size_t i = 0; i < fl->n; i++) {
		struct file *f = &fl->v[i];
		struct filerec *r = &cs->filerecs[cs->n_filerecs];

		if (f->read_errno != 0 || (f->data == NULL && !f->unchanged))
			continue;
		r->path = f->path;
		f->path = NULL;
		r->dev = f->st.st_dev;
		r->ino = f->st.st_ino;
		r->size = f->st.st_size;
		r->mtim = f->st.st_mtim;
		r->ctim = f->st.st_ctim;
		r->mode = f->st.st_mode;
		r->has_cert = f->has_cert;
		r->has_key = f->has_key;
		r->cert = f->cert;
		r->broken = f->broken;
		hmap_put(&cs->files, r->path, r);
		cs->n_filerecs++;
	}
	cs->dirs = fl->dirs;
	cs->n_dirs = fl->n_dirs;
	cs->n_dirs_reused = fl->n_dirs_reused;
	fl->dirs = NULL;
	fl->n_dirs = 0;
	for (size_t i = 0; i < cs->n_dirs; i++)
		hmap_put(&cs->dirs_by_path, cs->dirs[i]->path, cs->dirs[i]);
}

static struct certstore *
certstore_new(void)
{
	struct certstore *cs = xcalloc(1, sizeof(*cs));

	pthread_mutex_init(&cs->lock, NULL);
	return cs;
}

struct certstore *
certstore_load(const char *dir, struct diag_list *dl)
{
	return certstore_reload(dir, NULL, dl);
}

struct certstore *
certstore_reload(const char *dir, const struct certstore *prev, struct diag_list *dl)
{
	struct filelist fl = { .prev = prev };
	struct certstore *cs;
	struct pairs ps = { NULL, prev, NULL, 0, 0 };
	/* reading and parsing 100,000 pairs is most of a large start-up; both split over the cores */
	unsigned threads = pool_threads(4);

	char *top = xstrdup(dir);
	size_t n = strlen(top);

	while (n > 1 && top[n - 1] == '/')
		top[--n] = '\0';
	if (scan(top, 0, &fl, dl) < 0) {
		free(top);
		return NULL;
	}
	free(top);
	cs = certstore_new();
	ps.cs = cs;
	pool_run(fl.n, threads, read_candidate, &fl);
	for (size_t i = 0; i < fl.n; i++) {
		report_read_error(&fl.v[i], dl);
		cs->n_broken += fl.v[i].read_errno != 0 && fl.v[i].read_errno != EFBIG;
	}

	/* certbot: fullchain.pem + privkey.pem; cert.pem and chain.pem beside them are parts of the same */
	for (size_t i = 0; i < fl.n; i++) {
		struct file *f = &fl.v[i], *k, *x;

		if (f->used || strcmp(f->base, "fullchain.pem") != 0)
			continue;
		if ((k = find_in_dir(&fl, f, "privkey.pem", 11)) == NULL) {
			f->used = unreadable_near(&fl, f, "privkey.pem");
			continue;
		}
		if ((x = find_in_dir(&fl, f, "cert.pem", 8)) != NULL)
			x->used = true;
		if ((x = find_in_dir(&fl, f, "chain.pem", 9)) != NULL)
			x->used = true;
		add_pair(&ps, f, k);
	}
	/* one file holding both the chain and the key */
	for (size_t i = 0; i < fl.n; i++) {
		struct file *f = &fl.v[i];

		if (!f->used && f->has_cert && f->has_key)
			add_pair(&ps, f, f);
	}
	/* NAME.key beside NAME.crt, NAME.pem or NAME.cer */
	for (size_t i = 0; i < fl.n; i++) {
		static const char *const exts[] = { "crt", "pem", "cer" };
		struct file *k = &fl.v[i];

		if ((k->used && k->read_errno == 0) || strcmp(k->ext, "key") != 0)
			continue;
		for (size_t e = 0; e < 3; e++) {
			size_t stem = (size_t)(k->ext - k->base);	/* "NAME." */
			char base[NAME_MAX + 1];
			struct file *f;

			if (stem + 3 > NAME_MAX)
				continue;
			memcpy(base, k->base, stem);
			memcpy(base + stem, exts[e], 4);
			if ((f = find_in_dir(&fl, k, base, stem + 3)) != NULL) {
				if (k->read_errno != 0)
					f->used = true;	/* its key is unreadable (reported), not missing */
				else
					add_pair(&ps, f, k);
				break;
			}
		}
	}
	pool_run(ps.n, threads, load_one, &ps);
	for (size_t i = 0; i < ps.n; i++) {
		struct pair *p = &ps.v[i];

		/* a pair that did not load is a problem for its own names only: everything else still serves */
		cs->n_broken += (p->c == NULL || p->kept) && p->dl.unserved > 0;
		diag_take(dl, &p->dl);
		diag_free(&p->dl);
		if (p->c != NULL) {
			APPEND(cs->certs, cs->n, cs->cap, p->c);
			p->cf->cert = p->c;
			p->cf->broken = p->kept;
		}
		cs->n_reused += p->reused;
	}
	free(ps.v);
	for (size_t i = 0; i < fl.n; i++) {
		struct file *f = &fl.v[i];

		if (f->used)
			continue;
		if (f->has_key)
			diag_add(dl, DIAG_WARNING, 0, 0, "private key '%s' has no certificate beside it; ignored", f->path);
		else if (f->has_cert) {
			gnutls_x509_crt_t crt;
			gnutls_datum_t data;
			bool ca = false;

			if (read_now(f) < 0) {
				report_read_error(f, dl);
				continue;
			}
			data.data = (unsigned char *)f->data;
			data.size = (unsigned)f->len;
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
	remember_files(cs, &fl);
	dirlist_seen_free(&fl.seen);
	hmap_free(&fl.by_path);
	for (size_t i = 0; i < fl.n; i++)
		file_free(&fl.v[i]);
	free(fl.v);

	for (size_t i = 0; i < cs->n; i++)
		index_cert(cs, i);
	return cs;
}

void
certstore_free(struct certstore *cs)
{
	if (cs == NULL)
		return;
	for (size_t i = 0; i < cs->n_entries; i++) {
		free(cs->entry_list[i]->more);
		free(cs->entry_list[i]);
	}
	free(cs->entry_list);
	hmap_free(&cs->index);
	for (size_t i = 0; i < cs->n; i++)
		cert_unref(cs->certs[i]);
	free(cs->certs);
	for (size_t i = 0; i < cs->n_inters; i++)
		inter_unref(cs->inter_list[i]);
	free(cs->inter_list);
	hmap_free(&cs->inters);
	hmap_free(&cs->files);
	for (size_t i = 0; i < cs->n_dirs; i++)
		dirlist_free(cs->dirs[i]);
	free(cs->dirs);
	hmap_free(&cs->dirs_by_path);
	for (size_t i = 0; i < cs->n_filerecs; i++)
		free(cs->filerecs[i].path);
	free(cs->filerecs);
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}

size_t
certstore_count(const struct certstore *cs)
{
	return cs ? cs->n : 0;
}

size_t
certstore_count_broken(const struct certstore *cs)
{
	return cs ? cs->n_broken : 0;
}

size_t
certstore_count_reused(const struct certstore *cs)
{
	return cs ? cs->n_reused : 0;
}

size_t
certstore_count_folders_reused(const struct certstore *cs)
{
	return cs ? cs->n_dirs_reused : 0;
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
certstore_cert_not_before(const struct certstore *cs, size_t i)
{
	return cs->certs[i]->not_before;
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

/* RFC 5280 4.1.2.5: the validity period includes both of its ends. */
static bool
valid_at(const struct cert *c, time_t now)
{
	return c->not_before <= now && now <= c->not_after;
}

/* Of the pairs under E whose key is KIND and that are valid at NOW, the one expiring last (the first found on a tie), or -1. */
static long
best_of(const struct certstore *cs, const struct entry *e, enum certstore_key kind, time_t now)
{
	long best = -1;

	for (size_t i = 0; e != NULL && i < e->n; i++) {
		long at = i == 0 ? e->first : e->more[i - 1];
		const struct cert *c = cs->certs[at];

		/* a chain GnuTLS refused at its first handshake is passed over from then on */
		if (c->kind == kind && valid_at(c, now) && !atomic_load_explicit(&c->failed, memory_order_relaxed) &&
		    (best < 0 || c->not_after > cs->certs[best]->not_after))
			best = at;
	}
	return best;
}

/* The index entries for HOST itself and for the wildcard standing for its first label (either NULL). */
static void
entries(const struct certstore *cs, const char *host, const struct entry **exact, const struct entry **wild)
{
	const char *dot;
	char name[300];

	*exact = *wild = NULL;
	if (cs == NULL)
		return;
	*exact = hmap_get(&cs->index, host);
	/* a wildcard stands for exactly one label, and never for the whole name */
	if ((dot = strchr(host, '.')) != NULL && dot != host && strchr(dot + 1, '.') != NULL &&
	    (size_t)snprintf(name, sizeof(name), "*%s", dot) < sizeof(name))
		*wild = hmap_get(&cs->index, name);
}

/*
 * The choice itself, the one place it is made (handshakes, `check`, what a
 * snapshot counts as served): of the pairs valid at NOW, for HOST, in order
 * of preference: exact EC, exact RSA, wildcard EC, wildcard RSA, each the
 * one of its kind expiring last. The handshake then takes the first its
 * client accepts.
 */
static void
candidates(const struct certstore *cs, const char *host, time_t now, long out[4])
{
	const struct entry *exact, *wild;

	entries(cs, host, &exact, &wild);
	out[0] = best_of(cs, exact, CERTSTORE_KEY_EC, now);
	out[1] = best_of(cs, exact, CERTSTORE_KEY_RSA, now);
	out[2] = best_of(cs, wild, CERTSTORE_KEY_EC, now);
	out[3] = best_of(cs, wild, CERTSTORE_KEY_RSA, now);
}

long
certstore_lookup_at(const struct certstore *cs, const char *host, enum certstore_key want, time_t now)
{
	long cand[4];

	candidates(cs, host, now, cand);
	for (int i = 0; i < 4; i++)
		if (cand[i] >= 0 && (want == CERTSTORE_KEY_ANY || cs->certs[cand[i]]->kind == want))
			return cand[i];
	return -1;
}

long
certstore_lookup(const struct certstore *cs, const char *host, enum certstore_key want)
{
	return certstore_lookup_at(cs, host, want, time(NULL));
}

bool
certstore_covers(const struct certstore *cs, const char *host, time_t now)
{
	return certstore_lookup_at(cs, host, CERTSTORE_KEY_ANY, now) >= 0;
}

time_t
certstore_next_change(const struct certstore *cs, time_t now)
{
	time_t next = 0;

	for (size_t i = 0; cs != NULL && i < cs->n; i++) {
		const struct cert *c = cs->certs[i];
		/* a pair enters validity at not_before and leaves it the second after not_after */
		time_t t = c->not_before > now ? c->not_before : c->not_after >= now ? c->not_after + 1 : 0;

		if (t > 0 && (next == 0 || t < next))
			next = t;
	}
	return next;
}

/* ---- handshake ---- */

static struct certstore_session *
session_state(gnutls_session_t session)
{
	/* MHD owns the session pointer (gnutls_session_set_ptr); we use the unused db pointer */
	return gnutls_db_get_ptr(session);
}

/*
 * Tickets are sealed with a key derived from the SNI name, so a ticket
 * issued under one name cannot be opened under another tenant's name (GnuTLS
 * checks no name when it resumes a TLS 1.3 session): it is a full handshake
 * there. Called before GnuTLS reads the ticket extensions.
 */
static void
name_ticket_key(gnutls_session_t session, const char *host)
{
	unsigned char key[64];
	gnutls_datum_t k = { key, sizeof(key) };

	if (ticket_key.data == NULL || ticket_key.size != sizeof(key))
		return;
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA512, ticket_key.data, ticket_key.size, host, strlen(host), key) >= 0)
		gnutls_session_ticket_enable_server(session, &k);
	gnutls_memset(key, 0, sizeof(key));
}

/* Server precedence among the groups the client sent a key share for, not among all it supports. */
static void
prefer_sent_share(const struct certstore_session *s, gnutls_session_t session)
{
	if (!s->hello_seen || s->hello.share_x25519)
		return;
	if (s->hello.share_p256 && prio_p256 != NULL)
		gnutls_priority_set(session, prio_p256);
	else if (s->hello.share_p384 && prio_p384 != NULL)
		gnutls_priority_set(session, prio_p384);
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
		long idx[4];

		/* against the clock of this handshake: no reload is needed when a pair comes into or goes out of validity */
		candidates(s->cs, host, time(NULL), idx);
		for (int i = 0; i < 4; i++)
			s->cand[i] = idx[i] >= 0 ? s->cs->certs[idx[i]] : NULL;
		memcpy(s->sni, host, strlen(host) + 1);
		s->has_sni = true;
		if (s->cand[0] || s->cand[1] || s->cand[2] || s->cand[3]) {
			name_ticket_key(session, host);
			prefer_sent_share(s, session);
			return 0;
		}
	}
	/* RFC 8461 section 7.1: abort rather than present a certificate for another name */
	s->state = CERTSTORE_HS_UNKNOWN_SNI;
	metrics_tls_failure(METRICS_TLS_UNKNOWN_SNI);
	gnutls_alert_send(session, GNUTLS_AL_FATAL, GNUTLS_A_UNRECOGNIZED_NAME);
	return GNUTLS_E_UNRECOGNIZED_NAME;
}

/*
 * GnuTLS asks for the certificate once, before it picks a TLS 1.2 suite, and
 * tells the callback nothing about the client's suites. They are read from
 * the ClientHello so a TLS 1.2 client offering only ECDHE-RSA suites gets the
 * RSA certificate (TLS 1.3 suites work with either key type), and so are its
 * key shares (prefer_sent_share).
 */
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
	    !s->hello_seen) {
		s->hello_seen = clienthello_read(msg->data, msg->size, &s->hello) == 0;
		/* the ALPN list points into MSG, which GnuTLS frees: nothing reads it after this hook */
		s->hello.alpn = NULL;
		s->hello.alpn_len = 0;
	}
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
		*ec = *ec && s->hello.suites_ec;
		*rsa = *rsa && s->hello.suites_rsa;
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

/* GnuTLS's form of intermediate IN, built once by whichever thread needs it first; NULL (with *RC) on failure. */
static const gnutls_pcert_st *
inter_pcert(struct inter *in, int *rc)
{
	gnutls_pcert_st *p = atomic_load_explicit(&in->pcert, memory_order_acquire), *expected = NULL;
	gnutls_datum_t d = { in->der, (unsigned)in->len };

	if (p != NULL)
		return p;
	p = xcalloc(1, sizeof(*p));
	if ((*rc = gnutls_pcert_import_x509_raw(p, &d, GNUTLS_X509_FMT_DER, 0)) < 0) {
		free(p);
		return NULL;
	}
	if (!atomic_compare_exchange_strong(&in->pcert, &expected, p)) {
		gnutls_pcert_deinit(p);	/* another thread was quicker */
		free(p);
		p = expected;
	}
	return p;
}

int
certstore_pubkey_from_parse(const struct certparse_info *ci, void *pubkey)
{
	static const gnutls_ecc_curve_t curves[] = {
		[CERTPARSE_CURVE_P256] = GNUTLS_ECC_CURVE_SECP256R1,
		[CERTPARSE_CURVE_P384] = GNUTLS_ECC_CURVE_SECP384R1,
		[CERTPARSE_CURVE_P521] = GNUTLS_ECC_CURVE_SECP521R1,
	};
	gnutls_pubkey_t pub = pubkey;
	gnutls_datum_t a, b;
	int rc;

	if (ci->pk == CERTPARSE_PK_EC) {
		size_t half = (ci->pub_len - 1) / 2;

		a.data = (unsigned char *)(uintptr_t)ci->pub + 1;
		b.data = a.data + half;
		a.size = b.size = (unsigned)half;
		rc = gnutls_pubkey_import_ecc_raw(pub, curves[ci->curve], &a, &b);
	} else if (ci->pk == CERTPARSE_PK_RSA) {
		a.data = (unsigned char *)(uintptr_t)ci->pub;
		a.size = (unsigned)ci->pub_len;
		b.data = (unsigned char *)(uintptr_t)ci->exp;
		b.size = (unsigned)ci->exp_len;
		rc = gnutls_pubkey_import_rsa_raw(pub, &a, &b);
	} else
		rc = GNUTLS_E_INVALID_REQUEST;
	/* what gnutls_pubkey_import_x509 takes from the certificate besides the key */
	if (rc >= 0)
		rc = gnutls_pubkey_set_key_usage(pub, ci->key_usage);
	return rc;
}

/*
 * The leaf of a chain certparse read, in GnuTLS's form, without parsing it
 * again: the public key from the values certparse read, the DER as it is.
 * (gnutls_pcert_import_x509_raw parses and re-encodes the certificate,
 * about 15 us, which every name's first handshake would pay.)
 */
static int
leaf_pcert(const struct cert *c, gnutls_pcert_st *pc)
{
	int rc;

	memset(pc, 0, sizeof(*pc));
	if ((rc = gnutls_pubkey_init(&pc->pubkey)) < 0)
		return rc;
	if ((rc = certstore_pubkey_from_parse(&c->info, pc->pubkey)) >= 0 &&
	    (pc->cert.data = gnutls_malloc(c->leaf_len)) == NULL)
		rc = GNUTLS_E_MEMORY_ERROR;
	if (rc < 0) {
		gnutls_pubkey_deinit(pc->pubkey);
		pc->pubkey = NULL;
		return rc;
	}
	memcpy(pc->cert.data, c->leaf, c->leaf_len);
	pc->cert.size = (unsigned)c->leaf_len;
	pc->type = GNUTLS_CRT_X509;
	return 0;
}

/*
 * GnuTLS's form of the chain certparse read into C, with KEY (taken, freed
 * on failure too) or else the key imported from C's DER. NULL with *RC on failure.
 */
static struct chain *
build_chain(struct cert *c, gnutls_privkey_t key, int *rc)
{
	struct chain *ch = xcalloc(1, sizeof(*ch) + (1 + c->n_inters) * sizeof(ch->pcerts[0]));
	gnutls_datum_t k = { c->key, (unsigned)c->key_len };

	ch->key = key;
	if (ch->key == NULL && (*rc = gnutls_privkey_init(&ch->key)) >= 0 &&
	    (*rc = gnutls_privkey_import_x509_raw(ch->key, &k, GNUTLS_X509_FMT_DER, NULL, 0)) < 0) {
		chain_free(ch);
		return NULL;
	}
	if (ch->key == NULL) {
		free(ch);
		return NULL;
	}
	if ((*rc = leaf_pcert(c, &ch->pcerts[0])) < 0) {
		chain_free(ch);
		return NULL;
	}
	ch->n = ch->n_owned = 1;
	for (unsigned i = 0; i < c->n_inters; i++) {
		const gnutls_pcert_st *p = inter_pcert(c->inters[i], rc);

		if (p == NULL) {
			chain_free(ch);
			return NULL;
		}
		/* a copy of the shared entry: GnuTLS only reads it, and the intermediate frees it */
		ch->pcerts[ch->n++] = *p;
	}
	return ch;
}

/*
 * The chain of C in GnuTLS's form, built on the first call. NULL when GnuTLS
 * cannot use it: logged once, or added to DL when it is not NULL (`check`).
 */
static struct chain *
cert_chain(struct cert *c, struct diag_list *dl)
{
	struct chain *ch = atomic_load_explicit(&c->chain, memory_order_acquire), *expected = NULL;
	int rc = 0;

	if (ch != NULL)
		return ch;
	if (atomic_load(&c->failed))
		return NULL;
	if ((ch = build_chain(c, NULL, &rc)) == NULL) {
		if (dl != NULL)
			diag_add(dl, DIAG_UNSERVED, 0, 0, "certificate '%s' cannot be used: %s", c->path, gnutls_strerror(rc));
		else if (!atomic_exchange(&c->failed, true))
			log_error("certificate '%s' cannot be used: %s", c->path, gnutls_strerror(rc));
		return NULL;
	}
	if (!atomic_compare_exchange_strong(&c->chain, &expected, ch)) {
		chain_free(ch);
		ch = expected;
	}
	return ch;
}

static int
retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
    unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
	struct certstore_session *s = session_state(session);
	struct cert *const *cand, *pick = NULL;
	struct chain *ch;
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
	if (pick == NULL || (ch = cert_chain(pick, NULL)) == NULL)
		return -1;
	*pcert = ch->pcerts;
	*pcert_length = ch->n;
	*privkey = ch->key;
	return 0;
}

certstore_fnptr
certstore_retrieve_callback(void)
{
	gnutls_certificate_retrieve_function2 *fn = retrieve;

	return (certstore_fnptr)fn;
}

/*
 * The connection's reads go through here so that a handshake that fails
 * before GnuTLS understood anything can be told apart: bytes that are no
 * TLS, a ClientHello cut short by the client, or a client that went quiet.
 */
static ssize_t
pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct certstore_session *s = ptr;
	ssize_t n = recv(s->fd, buf, len, 0);

	if (n > 0) {
		if (s->rx == 0)
			s->first = *(unsigned char *)buf;
		s->rx += (unsigned long long)n;
		s->waiting = false;
	} else if (n == 0) {
		s->gone = true;
	} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
		s->waiting = true;
	} else if (errno != EINTR) {
		s->gone = true;
	}
	return n;
}

static int
pull_timeout(gnutls_transport_ptr_t ptr, unsigned ms)
{
	struct certstore_session *s = ptr;
	struct pollfd pfd = { s->fd, POLLIN, 0 };
	int rc;

	do
		rc = poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)ms);
	while (rc < 0 && errno == EINTR);
	return rc;
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
	s->fd = gnutls_transport_get_int(gs);
	/* kernel TLS would take the receive pointer for the socket: leave such a session alone */
	if (s->fd >= 0 && !gnutls_transport_is_ktls_enabled(gs)) {
		gnutls_transport_set_ptr2(gs, s, (gnutls_transport_ptr_t)(intptr_t)s->fd);
		gnutls_transport_set_pull_function(gs, pull);
		gnutls_transport_set_pull_timeout_function(gs, pull_timeout);
	}
	gnutls_db_set_ptr(gs, s);
	gnutls_handshake_set_post_client_hello_function(gs, post_client_hello);
	gnutls_handshake_set_hook_function(gs, GNUTLS_HANDSHAKE_ANY, GNUTLS_HOOK_BOTH, handshake_hook);
	/* tickets are enabled once the SNI name is known (name_ticket_key) */
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
	if (s != NULL && (s->state == CERTSTORE_HS_NONE || s->state == CERTSTORE_HS_STARTED)) {
		/* the server closed while the handshake waited for the client (a close would have been read) */
		if (!s->gone && (s->waiting || s->rx == 0))
			return CERTSTORE_HS_TIMEOUT;
		if (s->state == CERTSTORE_HS_NONE && s->rx > 0)
			return s->gone && s->first == 22 ? CERTSTORE_HS_TRUNCATED : CERTSTORE_HS_GARBAGE;
	}
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
certstore_session_flush(struct certstore_session *s, int fd, bool last)
{
	static const int off = 0;
	int rc;

	if (s == NULL || !s->corked)
		return;
	s->corked = false;
	/*
	 * MHD corked the socket for the header it meant to send alone. On a last
	 * response it stays corked: closing the socket sends what it holds, and
	 * a sender fetching one policy gets it, the alert and the FIN together.
	 */
	if (!s->tcp_uncorked && fd >= 0 && !last) {
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

void
certstore_check_chains(struct certstore *cs, struct diag_list *dl)
{
	/* serve builds GnuTLS's form of a chain on its first handshake; check builds them all now */
	for (size_t i = 0; cs != NULL && i < cs->n; i++)
		if (cert_chain(cs->certs[i], dl) == NULL)
			cs->n_broken++;
}

void
certstore_explain(const struct certstore *cs, const char *dir, const char *host, time_t now, char *buf, size_t len)
{
	const struct entry *e[2];
	const struct cert *late = NULL;

	entries(cs, host, &e[0], &e[1]);
	/* of the pairs covering HOST at any time, the one expiring last says best why none serves now */
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; e[k] != NULL && i < e[k]->n; i++) {
			const struct cert *c = cs->certs[i == 0 ? e[k]->first : e[k]->more[i - 1]];

			if (late == NULL || c->not_after > late->not_after)
				late = c;
		}
	if (late == NULL) {
		snprintf(buf, len, "no certificate under '%s' covers '%s'", dir ? dir : "", host);
	} else {
		char when[32];
		bool early = late->not_before > now;

		utc_when(early ? late->not_before : late->not_after, when);
		if (early || late->not_after < now)
			snprintf(buf, len, "no certificate valid now covers '%s' ('%s' %s %s)", host, late->path,
			    early ? "is not valid before" : "expired on", when);
		else
			snprintf(buf, len, "no usable certificate covers '%s' ('%s' cannot be used)", host, late->path);
	}
}
