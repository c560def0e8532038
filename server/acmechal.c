/* SPDX-License-Identifier: MIT */
/* acmechal: the answers to pending ACME challenges (http-01, tls-alpn-01), read from the shared ACME storage folder. */
#include "acmechal.h"
#include "acmejws.h"
#include "digest.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define ACME_ID_OID "1.3.6.1.5.5.7.1.31"

struct acmechal_cert {
	atomic_uint refs;
	gnutls_pcert_st pcert;
	gnutls_privkey_t key;
};

/* One made certificate: the challenge it answers, and when it was last used. */
struct cached {
	char name[254];
	unsigned char digest[DIGEST_SHA256_LEN];	/* of the key authorization */
	unsigned long long used;
	struct acmechal_cert *cert;			/* the cache's reference; NULL: a free slot */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *folder;			/* STORAGE/challenges, under lock */
static struct cached cache[ACMECHAL_CACHE_MAX];
static unsigned long long clock_uses;
static atomic_ullong made;

void
acmechal_set_folder(const char *storage)
{
	char *f = NULL;

	if (storage != NULL && *storage != '\0') {
		size_t n = strlen(storage);

		while (n > 1 && storage[n - 1] == '/')
			n--;
		f = xmalloc(n + sizeof("/challenges"));
		memcpy(f, storage, n);
		memcpy(f + n, "/challenges", sizeof("/challenges"));
	}
	pthread_mutex_lock(&lock);
	free(folder);
	folder = f;
	pthread_mutex_unlock(&lock);
}

static bool
is_b64url(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool
acmechal_token_ok(const char *token, size_t len)
{
	if (len == 0 || len > ACMECHAL_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_b64url(token[i]))
			return false;
	return true;
}

bool
acmechal_name_ok(const char *name)
{
	size_t n = strlen(name), label = 0;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') {
			label++;
		} else {
			return false;
		}
	}
	return label > 0;
}

/*
 * The key authorization in the file KIND/NAME of the folder, trailing white
 * space dropped, into OUT: 1, 0 when there is no such file (or no folder),
 * -1 (logged) otherwise. A regular file only, never through a symbolic link:
 * the names come from clients.
 */
static int
read_keyauth(const char *kind, const char *name, size_t name_len, char out[ACMECHAL_KEYAUTH_MAX], size_t *outlen)
{
	char path[4096];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd, w;

	pthread_mutex_lock(&lock);
	w = folder == NULL ? -1 : snprintf(path, sizeof(path), "%s/%s/%.*s", folder, kind, (int)name_len, name);
	pthread_mutex_unlock(&lock);
	if (w < 0)
		return 0;
	if ((size_t)w >= sizeof(path)) {
		log_warnx("acme: challenge file name too long under '%s'", kind);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		log_warn("acme: cannot open the challenge file '%s'", path);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > ACMECHAL_KEYAUTH_MAX) {
		log_warnx("acme: the challenge file '%s' is not a regular file of at most %d bytes", path,
		    ACMECHAL_KEYAUTH_MAX);
		close(fd);
		return -1;
	}
	/* one more byte than allowed: a file that grew since fstat is refused, not cut short */
	{
		char buf[ACMECHAL_KEYAUTH_MAX + 1];

		len = 0;
		while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
			if (n < 0) {
				if (errno == EINTR)
					continue;
				log_warn("acme: cannot read the challenge file '%s'", path);
				close(fd);
				return -1;
			}
			len += (size_t)n;
		}
		close(fd);
		if (len > ACMECHAL_KEYAUTH_MAX) {
			log_warnx("acme: the challenge file '%s' is longer than %d bytes", path, ACMECHAL_KEYAUTH_MAX);
			return -1;
		}
		while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
		    buf[len - 1] == '\t'))
			len--;
		if (len == 0)
			return 0;	/* being written, or emptied: no challenge */
		/* "TOKEN.THUMBPRINT": base64url and one dot (RFC 8555 section 8.1) */
		for (size_t i = 0; i < len; i++) {
			if (!is_b64url(buf[i]) && buf[i] != '.') {
				log_warnx("acme: the challenge file '%s' holds no key authorization (byte %zu)", path,
				    i + 1);
				return -1;
			}
		}
		memcpy(out, buf, len);
	}
	*outlen = len;
	return 1;
}

int
acmechal_http01(const char *token, size_t len, char *out, size_t *outlen)
{
	if (!acmechal_token_ok(token, len))
		return 0;
	return read_keyauth("http-01", token, len, out, outlen);
}

void
acmechal_cert_unref(struct acmechal_cert *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	gnutls_pcert_deinit(&c->pcert);
	gnutls_privkey_deinit(c->key);	/* GnuTLS zeroes the key material */
	free(c);
}

void *
acmechal_cert_pcert(const struct acmechal_cert *c)
{
	return (void *)(uintptr_t)&c->pcert;
}

void *
acmechal_cert_key(const struct acmechal_cert *c)
{
	return c->key;
}

unsigned long long
acmechal_certs_made(void)
{
	return atomic_load(&made);
}

struct acmechal_cert *
acmechal_cert_new(const char *name, const char *keyauth, time_t now)
{
	struct acmechal_cert *c = xcalloc(1, sizeof(*c));
	gnutls_x509_crt_t crt = NULL;
	gnutls_pubkey_t pub = NULL;
	unsigned char id[ACMEJWS_ACME_ID_LEN], serial[16];
	const char *what = "key";
	int rc;

	atomic_init(&c->refs, 1);
	if ((rc = gnutls_privkey_init(&c->key)) < 0 ||
	    (rc = gnutls_privkey_generate(c->key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
	    0)) < 0 ||
	    (rc = gnutls_pubkey_init(&pub)) < 0 || (rc = gnutls_pubkey_import_privkey(pub, c->key, 0, 0)) < 0)
		goto fail;
	what = "certificate";
	if ((rc = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0)
		goto fail;
	serial[0] &= 0x7f;	/* a positive INTEGER */
	serial[0] |= 0x01;	/* of all 16 bytes */
	acmejws_acme_identifier(keyauth, id);
	if ((rc = gnutls_x509_crt_init(&crt)) < 0 || (rc = gnutls_x509_crt_set_version(crt, 3)) < 0 ||
	    (rc = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial))) < 0 ||
	    (rc = gnutls_x509_crt_set_activation_time(crt, now - 3600)) < 0 ||
	    (rc = gnutls_x509_crt_set_expiration_time(crt, now + 7 * 86400)) < 0 ||
	    (rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, name,
	    (unsigned)strlen(name))) < 0 ||
	    (rc = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name, (unsigned)strlen(name),
	    GNUTLS_FSAN_SET)) < 0 ||
	    (rc = gnutls_x509_crt_set_extension_by_oid(crt, ACME_ID_OID, id, sizeof(id), 1)) < 0 ||
	    (rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE)) < 0 ||
	    (rc = gnutls_x509_crt_set_pubkey(crt, pub)) < 0 ||
	    (rc = gnutls_x509_crt_privkey_sign(crt, crt, c->key, GNUTLS_DIG_SHA256, 0)) < 0 ||
	    (rc = gnutls_pcert_import_x509(&c->pcert, crt, 0)) < 0)
		goto fail;
	gnutls_x509_crt_deinit(crt);
	gnutls_pubkey_deinit(pub);
	atomic_fetch_add(&made, 1);
	return c;
fail:
	log_error("acme: cannot make the tls-alpn-01 %s for '%s': %s", what, name, gnutls_strerror(rc));
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (pub != NULL)
		gnutls_pubkey_deinit(pub);
	if (c->key != NULL)
		gnutls_privkey_deinit(c->key);
	free(c);
	return NULL;
}

/* A new reference to the cached certificate of NAME and digest D (marked used), or NULL; under lock. */
static struct acmechal_cert *
cached_ref(const char *name, const unsigned char d[DIGEST_SHA256_LEN])
{
	for (size_t i = 0; i < ACMECHAL_CACHE_MAX; i++) {
		if (cache[i].cert != NULL && strcmp(cache[i].name, name) == 0 &&
		    memcmp(cache[i].digest, d, DIGEST_SHA256_LEN) == 0) {
			cache[i].used = ++clock_uses;
			atomic_fetch_add(&cache[i].cert->refs, 1);
			return cache[i].cert;
		}
	}
	return NULL;
}

struct acmechal_cert *
acmechal_tls_alpn01(const char *name)
{
	char ka[ACMECHAL_KEYAUTH_MAX + 1];
	unsigned char d[DIGEST_SHA256_LEN];
	struct acmechal_cert *c, *made_here;
	struct cached *slot = NULL;
	size_t len;

	if (!acmechal_name_ok(name) || read_keyauth("tls-alpn-01", name, strlen(name), ka, &len) <= 0)
		return NULL;
	ka[len] = '\0';
	digest_sha256(ka, len, d);
	pthread_mutex_lock(&lock);
	c = cached_ref(name, d);
	pthread_mutex_unlock(&lock);
	if (c != NULL)
		return c;
	/* made outside the lock: a key and a signature take a millisecond or so */
	if ((made_here = acmechal_cert_new(name, ka, time(NULL))) == NULL)
		return NULL;
	pthread_mutex_lock(&lock);
	/* a CA validates from several places at once: the first certificate made is the one kept */
	if ((c = cached_ref(name, d)) != NULL) {
		pthread_mutex_unlock(&lock);
		acmechal_cert_unref(made_here);
		return c;
	}
	c = made_here;
	for (size_t i = 0; i < ACMECHAL_CACHE_MAX; i++) {
		/* a free slot, else the one used longest ago (its certificate lives on in handshakes holding it) */
		if (slot == NULL || cache[i].cert == NULL || (slot->cert != NULL && cache[i].used < slot->used))
			slot = &cache[i];
		if (slot->cert == NULL)
			break;
	}
	acmechal_cert_unref(slot->cert);
	memcpy(slot->name, name, strlen(name) + 1);
	memcpy(slot->digest, d, sizeof(d));
	slot->used = ++clock_uses;
	slot->cert = c;
	atomic_fetch_add(&c->refs, 1);
	pthread_mutex_unlock(&lock);
	return c;
}

void
acmechal_reset(void)
{
	acmechal_set_folder(NULL);
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ACMECHAL_CACHE_MAX; i++) {
		acmechal_cert_unref(cache[i].cert);
		cache[i].cert = NULL;
	}
	pthread_mutex_unlock(&lock);
}
