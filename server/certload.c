/* SPDX-License-Identifier: MIT */
/* certload: one certificate/key pair read, matched and kept, and GnuTLS's form of it built when first needed. */
#include "certstore_int.h"
#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/x509.h>

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

void
certload_wipe_free(void *p, size_t len)
{
	/* may hold a private key */
	if (p != NULL) {
		gnutls_memset(p, 0, len);
		free(p);
	}
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

void
certload_cert_unref(struct cert *c)
{
	if (c == NULL || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
		return;
	chain_free(atomic_load(&c->chain));
	for (unsigned i = 0; i < c->n_inters; i++)
		certload_inter_unref(c->inters[i]);
	certload_wipe_free(c->key, c->key_len);
	for (size_t i = 0; i < c->n_names; i++)
		free(c->names[i]);
	free(c->names);
	free(c->leaf);
	free(c->inters);
	free(c->path);
	free(c->key_path);
	free(c);
}

void
certload_inter_unref(struct inter *in)
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
	/* not vec: exact size, as a store holds up to 100,000 of these and most have one to three names */
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
		VEC_PUSH(cs->inter_list, cs->n_inters, cs->cap_inters, in);
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
			certload_wipe_free(der, len);
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
		certload_inter_unref(inters[i]);
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
			certload_wipe_free(der, n);
			rc = -1;
			break;
		}
		found = der;
		found_len = n;
	}
	if (rc < 0) {
		certload_wipe_free(found, found_len);
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

		certstore_utc_when(c->not_before, when);
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
	certload_cert_unref(c);
	return NULL;
}

bool
certload_pem_is_ca(const char *data, size_t len)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)data, (unsigned)len };
	bool ca = false;

	if (gnutls_x509_crt_init(&crt) >= 0) {
		if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) >= 0)
			ca = is_ca(crt);
		gnutls_x509_crt_deinit(crt);
	}
	return ca;
}

/* pool_fn: load pair I of the struct pairs CTX, or take it over from the previous store */
void
certload_one(void *ctx, size_t i)
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
	if (certscan_read(p->cf) < 0 || certscan_read(p->kf) < 0)
		certscan_report_read_error(p->cf->read_errno ? p->cf : p->kf, &p->dl);
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
struct chain *
certload_chain(struct cert *c, struct diag_list *dl)
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
