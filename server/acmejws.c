/* SPDX-License-Identifier: MIT */
/* acmejws: the ACME account key (ECDSA P-256) and what is made from it: JWK, thumbprint, ES256 JWS, key authorizations. */
#include "acmejws.h"
#include "digest.h"
#include "dnsstate.h"
#include "json.h"
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

/* a P-256 coordinate, and each half of an ES256 signature (RFC 7518 section 3.4) */
#define COORD 32
/* a PEM account key is a few hundred bytes; anything much larger is not one */
#define KEY_FILE_MAX 16384

struct acmejws_key {
	gnutls_x509_privkey_t x509;	/* kept for export */
	gnutls_privkey_t priv;		/* signs; borrows x509 */
	unsigned char x[COORD], y[COORD];
};

static const char b64url_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
acmejws_b64url(struct buf *b, const void *p, size_t n)
{
	const unsigned char *s = p;
	char q[4];
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		q[0] = b64url_chars[v >> 18];
		q[1] = b64url_chars[v >> 12 & 63];
		q[2] = b64url_chars[v >> 6 & 63];
		q[3] = b64url_chars[v & 63];
		buf_append(b, q, 4);
	}
	if (n - i == 1) {
		q[0] = b64url_chars[s[i] >> 2];
		q[1] = b64url_chars[(s[i] & 3) << 4];
		buf_append(b, q, 2);
	} else if (n - i == 2) {
		q[0] = b64url_chars[s[i] >> 2];
		q[1] = b64url_chars[(s[i] & 3) << 4 | s[i + 1] >> 4];
		q[2] = b64url_chars[(s[i + 1] & 15) << 2];
		buf_append(b, q, 3);
	}
	if (b->data == NULL)
		buf_append(b, "", 0);
}

static int
b64url_value(char c)
{
	const char *p = c != '\0' ? strchr(b64url_chars, c) : NULL;

	return p != NULL ? (int)(p - b64url_chars) : -1;
}

int
acmejws_b64url_decode(const char *s, size_t n, unsigned char **out, size_t *len)
{
	unsigned char *o;
	uint32_t acc = 0;
	size_t k = 0;
	int bits = 0;

	*out = NULL;
	*len = 0;
	if (n % 4 == 1)
		return -1;
	o = xmalloc(n / 4 * 3 + 3);
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value(s[i]);
		if (v < 0)
			goto fail;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			o[k++] = (unsigned char)(acc >> bits);
		}
	}
	/* the bits left over must be zero, so that each byte string has one spelling */
	if ((acc & ((1u << bits) - 1)) != 0)
		goto fail;
	*out = o;
	*len = k;
	return 0;
fail:
	free(o);
	return -1;
}

/* D, an unsigned big-endian number, into exactly COORD bytes; -1 when it does not fit. */
static int
fixed(unsigned char out[COORD], const gnutls_datum_t *d)
{
	size_t n = d->size, off = 0;

	while (off < n && d->data[off] == 0)
		off++;
	if (n - off > COORD)
		return -1;
	memset(out, 0, COORD);
	memcpy(out + COORD - (n - off), d->data + off, n - off);
	return 0;
}

static void
datum_wipe_clear(gnutls_datum_t *d)
{
	if (d->data != NULL) {
		memset(d->data, 0, d->size);
		gnutls_free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

void
acmejws_key_free(struct acmejws_key *k)
{
	if (k == NULL)
		return;
	if (k->priv != NULL)
		gnutls_privkey_deinit(k->priv);
	if (k->x509 != NULL)
		gnutls_x509_privkey_deinit(k->x509);
	free(k);
}

/* K->x509 holds a key: check it is P-256, then fill the point and the signer. */
static int
key_fill(struct acmejws_key *k, char *err, size_t errlen)
{
	gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 }, d = { NULL, 0 };
	gnutls_ecc_curve_t curve;
	int rc, ret = -1;

	if (gnutls_x509_privkey_get_pk_algorithm2(k->x509, NULL) != GNUTLS_PK_ECDSA) {
		snprintf(err, errlen, "not an ECDSA key (the account key is ECDSA P-256)");
		return -1;
	}
	if ((rc = gnutls_x509_privkey_export_ecc_raw(k->x509, &curve, &x, &y, &d)) < 0) {
		snprintf(err, errlen, "cannot read the EC key: %s", gnutls_strerror(rc));
		goto done;
	}
	if (curve != GNUTLS_ECC_CURVE_SECP256R1) {
		snprintf(err, errlen, "the key is on curve %s, not P-256", gnutls_ecc_curve_get_name(curve));
		goto done;
	}
	if (fixed(k->x, &x) < 0 || fixed(k->y, &y) < 0) {
		snprintf(err, errlen, "the key's public point does not fit P-256");
		goto done;
	}
	if ((rc = gnutls_privkey_init(&k->priv)) < 0 || (rc = gnutls_privkey_import_x509(k->priv, k->x509, 0)) < 0) {
		snprintf(err, errlen, "cannot use the key for signing: %s", gnutls_strerror(rc));
		goto done;
	}
	ret = 0;
done:
	gnutls_free(x.data);
	gnutls_free(y.data);
	datum_wipe_clear(&d);
	return ret;
}

/* K once key_fill is done, or NULL with K freed; RC is the GnuTLS result of making K->x509, WHAT its failure */
static struct acmejws_key *
key_finish(struct acmejws_key *k, int rc, const char *what, char *err, size_t errlen)
{
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", what, gnutls_strerror(rc));
	if (rc < 0 || key_fill(k, err, errlen) < 0) {
		acmejws_key_free(k);
		return NULL;
	}
	return k;
}

struct acmejws_key *
acmejws_key_generate(char *err, size_t errlen)
{
	struct acmejws_key *k = xcalloc(1, sizeof(*k));
	int rc;

	if ((rc = gnutls_x509_privkey_init(&k->x509)) >= 0)
		rc = gnutls_x509_privkey_generate(k->x509, GNUTLS_PK_ECDSA,
		    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	return key_finish(k, rc, "cannot generate a P-256 key", err, errlen);
}

struct acmejws_key *
acmejws_key_parse(const char *pem, size_t len, char *err, size_t errlen)
{
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)pem, (unsigned)len };
	struct acmejws_key *k;
	int rc;

	if (len > KEY_FILE_MAX) {
		snprintf(err, errlen, "too large for a key (%zu bytes)", len);
		return NULL;
	}
	k = xcalloc(1, sizeof(*k));
	if ((rc = gnutls_x509_privkey_init(&k->x509)) >= 0)
		rc = gnutls_x509_privkey_import2(k->x509, &d, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN);
	return key_finish(k, rc, "not a PEM private key", err, errlen);
}

struct acmejws_key *
acmejws_key_load(const char *path, char *err, size_t errlen)
{
	struct acmejws_key *k;
	struct stat st;
	char *text, why[256];
	size_t len;

	if (read_file_max(path, KEY_FILE_MAX, &text, &len, &st) < 0) {
		snprintf(err, errlen, "cannot read the account key '%s': %s", path, strerror(errno));
		return NULL;
	}
	if ((st.st_mode & S_IROTH) != 0) {
		snprintf(err, errlen, "the account key '%s' is readable by others (mode %03o): refused; chmod o-r it",
		    path, (unsigned)(st.st_mode & 0777));
		k = NULL;
	} else if ((k = acmejws_key_parse(text, len, why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "the account key '%s': %s", path, why);
	}
	memset(text, 0, len);
	free(text);
	return k;
}

int
acmejws_key_save(const struct acmejws_key *k, const char *path, char *err, size_t errlen)
{
	gnutls_datum_t pem = { NULL, 0 };
	int rc;

	if ((rc = gnutls_x509_privkey_export2(k->x509, GNUTLS_X509_FMT_PEM, &pem)) < 0) {
		snprintf(err, errlen, "cannot export the account key: %s", gnutls_strerror(rc));
		return -1;
	}
	rc = dnsstate_write_atomic(path, (const char *)pem.data, pem.size, 0600, err, errlen);
	datum_wipe_clear(&pem);
	return rc;
}

void
acmejws_jwk(const struct acmejws_key *k, struct buf *b)
{
	/* RFC 7638 section 3.2: the required members only, sorted, no white space */
	buf_puts(b, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"");
	acmejws_b64url(b, k->x, COORD);
	buf_puts(b, "\",\"y\":\"");
	acmejws_b64url(b, k->y, COORD);
	buf_puts(b, "\"}");
}

void
acmejws_thumbprint(const struct acmejws_key *k, char out[ACMEJWS_THUMBPRINT_LEN])
{
	unsigned char d[DIGEST_SHA256_LEN];
	struct buf jwk = { 0 }, t = { 0 };

	acmejws_jwk(k, &jwk);
	digest_sha256(jwk.data, jwk.len, d);
	acmejws_b64url(&t, d, sizeof(d));
	memcpy(out, t.data, ACMEJWS_THUMBPRINT_LEN - 1);
	out[ACMEJWS_THUMBPRINT_LEN - 1] = '\0';
	buf_clear(&jwk);
	buf_clear(&t);
}

/* Sign IN with K: the raw r || s of RFC 7518 section 3.4 (GnuTLS gives the DER SEQUENCE of both). */
static int
sign_es256(const struct acmejws_key *k, const struct buf *in, unsigned char out[2 * COORD], char *err, size_t errlen)
{
	gnutls_datum_t data = { (unsigned char *)in->data, (unsigned)in->len }, sig = { NULL, 0 };
	gnutls_datum_t r = { NULL, 0 }, s = { NULL, 0 };
	int rc, ret = -1;

	if ((rc = gnutls_privkey_sign_data(k->priv, GNUTLS_DIG_SHA256, 0, &data, &sig)) < 0) {
		snprintf(err, errlen, "cannot sign: %s", gnutls_strerror(rc));
		return -1;
	}
	if ((rc = gnutls_decode_rs_value(&sig, &r, &s)) < 0) {
		snprintf(err, errlen, "cannot decode the signature: %s", gnutls_strerror(rc));
		goto done;
	}
	if (fixed(out, &r) < 0 || fixed(out + COORD, &s) < 0) {
		snprintf(err, errlen, "the signature does not fit ES256");
		goto done;
	}
	ret = 0;
done:
	gnutls_free(sig.data);
	gnutls_free(r.data);
	gnutls_free(s.data);
	return ret;
}

/* Append PREFIX and VALUE as a JSON string to HDR; -1 with "WHAT is not UTF-8" in ERR. */
static int
hdr_string(struct buf *hdr, const char *prefix, const char *value, const char *what, char *err, size_t errlen)
{
	buf_puts(hdr, prefix);
	if (json_string(hdr, value, strlen(value)) < 0) {
		snprintf(err, errlen, "%s is not UTF-8", what);
		return -1;
	}
	return 0;
}

/* The signing input of a JWS into IN: ASCII(BASE64URL(HDR) "." BASE64URL(PAYLOAD[0..LEN))); the dot's offset. */
static size_t
signing_input(struct buf *in, const struct buf *hdr, const void *payload, size_t len)
{
	size_t dot;

	acmejws_b64url(in, hdr->data, hdr->len);
	dot = in->len;
	buf_puts(in, ".");
	acmejws_b64url(in, payload, len);
	return dot;
}

/* The flattened JSON serialization (RFC 7515 section 7.2.2) of signing input IN (dot at DOT) and SIG[0..N); caller's. */
static char *
flattened(const struct buf *in, size_t dot, const void *sig, size_t n)
{
	struct buf out = { 0 };

	buf_puts(&out, "{\"protected\":\"");
	buf_append(&out, in->data, dot);
	buf_puts(&out, "\",\"payload\":\"");
	buf_puts(&out, in->data + dot + 1);
	buf_puts(&out, "\",\"signature\":\"");
	acmejws_b64url(&out, sig, n);
	buf_puts(&out, "\"}");
	return out.data;
}

char *
acmejws_sign(const struct acmejws_key *k, const char *url, const char *nonce, const char *kid,
    const char *payload, char *err, size_t errlen)
{
	struct buf hdr = { 0 }, in = { 0 };
	unsigned char sig[2 * COORD];
	char *jws = NULL;
	size_t dot;

	buf_puts(&hdr, "{\"alg\":\"ES256\",");
	if (kid != NULL) {
		if (hdr_string(&hdr, "\"kid\":", kid, "the account URL", err, errlen) < 0)
			goto done;
	} else {
		buf_puts(&hdr, "\"jwk\":");
		acmejws_jwk(k, &hdr);
	}
	if (hdr_string(&hdr, ",\"nonce\":", nonce, "the nonce", err, errlen) < 0 ||
	    hdr_string(&hdr, ",\"url\":", url, "the URL", err, errlen) < 0)
		goto done;
	buf_puts(&hdr, "}");
	dot = signing_input(&in, &hdr, payload, strlen(payload));
	if (sign_es256(k, &in, sig, err, errlen) == 0)
		jws = flattened(&in, dot, sig, sizeof(sig));
done:
	buf_clear(&hdr);
	buf_clear(&in);
	return jws;
}

char *
acmejws_eab(const struct acmejws_key *k, const char *eab_kid, const unsigned char *mac_key, size_t mac_len,
    const char *url, char *err, size_t errlen)
{
	struct buf hdr = { 0 }, jwk = { 0 }, in = { 0 };
	unsigned char mac[DIGEST_SHA256_LEN];
	char *jws = NULL;
	size_t dot;
	int rc;

	if (mac_len == 0) {
		snprintf(err, errlen, "the external account binding's MAC key is empty");
		return NULL;
	}
	if (hdr_string(&hdr, "{\"alg\":\"HS256\",\"kid\":", eab_kid, "the external account binding's kid", err,
	    errlen) < 0 || hdr_string(&hdr, ",\"url\":", url, "the URL", err, errlen) < 0)
		goto done;
	buf_puts(&hdr, "}");
	acmejws_jwk(k, &jwk);
	/* the payload is the account key's JWK, MACed under the CA's key instead of signed */
	dot = signing_input(&in, &hdr, jwk.data, jwk.len);
	if ((rc = gnutls_hmac_fast(GNUTLS_MAC_SHA256, mac_key, mac_len, in.data, in.len, mac)) < 0)
		snprintf(err, errlen, "cannot compute the external account binding's HMAC: %s", gnutls_strerror(rc));
	else
		jws = flattened(&in, dot, mac, sizeof(mac));
done:
	buf_clear(&hdr);
	buf_clear(&jwk);
	buf_clear(&in);
	return jws;
}

char *
acmejws_key_authorization(const char *token, const struct acmejws_key *k)
{
	char tp[ACMEJWS_THUMBPRINT_LEN];

	acmejws_thumbprint(k, tp);
	return xasprintf("%s.%s", token, tp);
}

void
acmejws_acme_identifier(const char *keyauth, unsigned char out[ACMEJWS_ACME_ID_LEN])
{
	out[0] = 0x04;	/* OCTET STRING */
	out[1] = DIGEST_SHA256_LEN;
	digest_sha256(keyauth, strlen(keyauth), out + 2);
}
