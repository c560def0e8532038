/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: certparse against GnuTLS. The first byte picks the input's
 * kind (0: certificate DER, 1: private key DER, else PEM text). Whatever
 * certparse accepts, GnuTLS must accept too and read the same way: the same
 * SAN dNSNames in the same order, expiry, CA flag and public key; for a
 * key, the same public values. (What certparse refuses goes to GnuTLS
 * anyway, so refusing is always safe.)
 */
#include "certparse.h"
#include "certstore.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                    \
	do {                        \
		if (!(x))           \
			__builtin_trap(); \
	} while (0)

/* D (GnuTLS, possibly with leading zeros) equals V[0..N) (without) */
static int
same_uint(const gnutls_datum_t *d, const unsigned char *v, size_t n)
{
	return certparse_uint_eq(d->data, d->size, v, n);
}

static const gnutls_ecc_curve_t curves[] = {
	[CERTPARSE_CURVE_NONE] = GNUTLS_ECC_CURVE_INVALID,
	[CERTPARSE_CURVE_P256] = GNUTLS_ECC_CURVE_SECP256R1,
	[CERTPARSE_CURVE_P384] = GNUTLS_ECC_CURVE_SECP384R1,
	[CERTPARSE_CURVE_P521] = GNUTLS_ECC_CURVE_SECP521R1,
};

/* EC point 04 X Y of PUB equals GnuTLS's X and Y */
static int
same_point(const unsigned char *pub, size_t len, const gnutls_datum_t *x, const gnutls_datum_t *y)
{
	size_t half = (len - 1) / 2;

	return same_uint(x, pub + 1, half) && same_uint(y, pub + 1 + half, half);
}

static void
check_cert(const uint8_t *der, size_t size)
{
	struct certparse_info ci;
	gnutls_x509_crt_t crt;
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)der, (unsigned)size }, a = { 0 }, b = { 0 };
	gnutls_ecc_curve_t curve;
	gnutls_pcert_st pc;
	unsigned ca = 0, i;
	size_t pos = 0;

	if (certparse_cert(der, size, &ci) < 0)
		return;
	CHECK(gnutls_x509_crt_init(&crt) >= 0);
	CHECK(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) >= 0);
	CHECK(gnutls_x509_crt_get_expiration_time(crt) == ci.not_after);
	CHECK(gnutls_x509_crt_get_activation_time(crt) == ci.not_before);
	CHECK((gnutls_x509_crt_get_basic_constraints(crt, NULL, &ca, NULL) >= 0 && ca) == ci.is_ca);
	for (i = 0;; i++) {
		char name[512];
		size_t n = sizeof(name) - 1;
		const char *mine;
		size_t mine_len;
		int type = gnutls_x509_crt_get_subject_alt_name(crt, i, name, &n, NULL);

		if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		CHECK(type >= 0);
		if (type != GNUTLS_SAN_DNSNAME || n == 0)
			continue;
		CHECK(certparse_next_dns(&ci, &pos, &mine, &mine_len));
		CHECK(mine_len == n && memcmp(mine, name, n) == 0);
	}
	{
		const char *mine;
		size_t mine_len;

		CHECK(!certparse_next_dns(&ci, &pos, &mine, &mine_len));
	}
	if (ci.pk == CERTPARSE_PK_EC) {
		CHECK(gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, &a, &b) >= 0);
		CHECK(curve == curves[ci.curve] && same_point(ci.pub, ci.pub_len, &a, &b));
	} else {
		CHECK(ci.pk == CERTPARSE_PK_RSA);
		CHECK(gnutls_x509_crt_get_pk_rsa_raw(crt, &a, &b) >= 0);
		CHECK(same_uint(&a, ci.pub, ci.pub_len) && same_uint(&b, ci.exp, ci.exp_len));
	}
	gnutls_free(a.data);
	gnutls_free(b.data);
	gnutls_x509_crt_deinit(crt);
	/* the first handshake builds the public key from what certparse read: the same key, the same usage */
	CHECK(gnutls_pcert_import_x509_raw(&pc, &d, GNUTLS_X509_FMT_DER, 0) >= 0);
	{
		gnutls_pubkey_t mine;
		unsigned char id1[64], id2[64];
		size_t l1 = sizeof(id1), l2 = sizeof(id2);
		unsigned u1 = 0, u2 = 0;

		CHECK(gnutls_pubkey_init(&mine) >= 0);
		CHECK(certstore_pubkey_from_parse(&ci, mine) >= 0);
		CHECK(gnutls_pubkey_get_key_id(mine, GNUTLS_KEYID_USE_SHA256, id1, &l1) >= 0);
		CHECK(gnutls_pubkey_get_key_id(pc.pubkey, GNUTLS_KEYID_USE_SHA256, id2, &l2) >= 0);
		CHECK(l1 == l2 && memcmp(id1, id2, l1) == 0);
		CHECK(gnutls_pubkey_get_pk_algorithm(mine, NULL) == gnutls_pubkey_get_pk_algorithm(pc.pubkey, NULL));
		CHECK(gnutls_pubkey_get_key_usage(mine, &u1) >= 0 && gnutls_pubkey_get_key_usage(pc.pubkey, &u2) >= 0);
		CHECK(u1 == u2);
		gnutls_pubkey_deinit(mine);
	}
	gnutls_pcert_deinit(&pc);
}

static void
check_key(const uint8_t *der, size_t size)
{
	struct certparse_key k;
	gnutls_privkey_t key;
	gnutls_datum_t d = { (unsigned char *)(uintptr_t)der, (unsigned)size }, a = { 0 }, b = { 0 };
	gnutls_ecc_curve_t curve;

	if (certparse_key(der, size, &k) < 0)
		return;
	CHECK(gnutls_privkey_init(&key) >= 0);
	CHECK(gnutls_privkey_import_x509_raw(key, &d, GNUTLS_X509_FMT_DER, NULL, 0) >= 0);
	CHECK(k.pk == CERTPARSE_PK_EC && gnutls_privkey_get_pk_algorithm(key, NULL) == GNUTLS_PK_ECDSA);
	CHECK(gnutls_privkey_export_ecc_raw2(key, &curve, &a, &b, NULL, 0) >= 0);
	CHECK(curve == curves[k.curve] && same_point(k.pub, k.pub_len, &a, &b));
	gnutls_free(a.data);
	gnutls_free(b.data);
	gnutls_privkey_deinit(key);
}

static void
check_pem(const uint8_t *text, size_t size)
{
	size_t pos = 0, last = 0, len;
	unsigned char *der;
	char label[64];

	while (certparse_pem_next((const char *)text, size, &pos, label, sizeof(label), &der, &len) == 1) {
		CHECK(pos > last && pos <= size && len > 0 && strlen(label) > 0);
		last = pos;
		check_cert(der, len);
		check_key(der, len);
		free(der);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] == 0)
		check_cert(data + 1, size - 1);
	else if (data[0] == 1)
		check_key(data + 1, size - 1);
	else
		check_pem(data + 1, size - 1);
	return 0;
}
