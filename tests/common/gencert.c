/* SPDX-License-Identifier: MIT */
/* gencert: certificates and keys of chosen shapes made with GnuTLS at test time. */
#include "gencert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/x509.h>

#define TRY(x)                                                                                    \
	do {                                                                                      \
		int _r = (x);                                                                     \
		if (_r < 0) {                                                                     \
			fprintf(stderr, "gencert: %s: %s\n", #x, gnutls_strerror(_r));            \
			goto out;                                                                 \
		}                                                                                 \
	} while (0)

int
gencert_make(const struct gencert *g, gnutls_datum_t *cert, gnutls_datum_t *key, gnutls_datum_t *pkcs8)
{
	gnutls_x509_privkey_t k = NULL;
	gnutls_x509_crt_t crt = NULL;
	unsigned char serial[8] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
	static const unsigned char ip[4] = { 192, 0, 2, 7 };
	int ret = -1;

	memset(cert, 0, sizeof(*cert));
	memset(key, 0, sizeof(*key));
	memset(pkcs8, 0, sizeof(*pkcs8));
	TRY(gnutls_x509_privkey_init(&k));
	switch (g->key) {
	case GENCERT_P256:
		TRY(gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
		break;
	case GENCERT_P384:
		TRY(gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP384R1), 0));
		break;
	case GENCERT_P521:
		TRY(gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP521R1), 0));
		break;
	case GENCERT_RSA2048:
		TRY(gnutls_x509_privkey_generate(k, GNUTLS_PK_RSA, 2048, 0));
		break;
	case GENCERT_ED25519:
		TRY(gnutls_x509_privkey_generate(k, GNUTLS_PK_EDDSA_ED25519, 256, 0));
		break;
	}
	TRY(gnutls_x509_crt_init(&crt));
	TRY(gnutls_x509_crt_set_version(crt, (unsigned)g->version));
	TRY(gnutls_x509_crt_set_serial(crt, serial, sizeof(serial)));
	TRY(gnutls_x509_crt_set_activation_time(crt, g->not_after - 90 * 86400));
	TRY(gnutls_x509_crt_set_expiration_time(crt, g->not_after));
	TRY(gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, "gencert", 7));
	TRY(gnutls_x509_crt_set_key(crt, k));
	if (g->version >= 3) {
		for (size_t i = 0; i < g->n_dns; i++) {
			if (g->other_sans && i == 1) {
				TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, ip, sizeof(ip),
				    GNUTLS_FSAN_APPEND));
				TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_RFC822NAME, "hostmaster@example.com",
				    22, GNUTLS_FSAN_APPEND));
				TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_URI, "https://example.com/", 20,
				    GNUTLS_FSAN_APPEND));
			}
			TRY(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, g->dns[i],
			    (unsigned)strlen(g->dns[i]), GNUTLS_FSAN_APPEND));
		}
		TRY(gnutls_x509_crt_set_basic_constraints(crt, g->ca, -1));
		TRY(gnutls_x509_crt_set_key_usage(crt, g->ca ? GNUTLS_KEY_KEY_CERT_SIGN : GNUTLS_KEY_DIGITAL_SIGNATURE));
	}
	TRY(gnutls_x509_crt_sign2(crt, crt, k, g->key == GENCERT_ED25519 ? GNUTLS_DIG_SHA512 : GNUTLS_DIG_SHA256, 0));
	TRY(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, cert));
	TRY(gnutls_x509_privkey_export2(k, GNUTLS_X509_FMT_DER, key));
	TRY(gnutls_x509_privkey_export2_pkcs8(k, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN, pkcs8));
	ret = 0;
out:
	if (crt != NULL)
		gnutls_x509_crt_deinit(crt);
	if (k != NULL)
		gnutls_x509_privkey_deinit(k);
	if (ret < 0) {
		gnutls_free(cert->data);
		gnutls_free(key->data);
		gnutls_free(pkcs8->data);
		cert->data = key->data = pkcs8->data = NULL;
	}
	return ret;
}

char *
gencert_pem(const char *label, const gnutls_datum_t *der)
{
	gnutls_datum_t out;
	char *s;

	if (gnutls_pem_base64_encode2(label, der, &out) < 0)
		return NULL;
	s = malloc(out.size + 1);
	if (s != NULL) {
		memcpy(s, out.data, out.size);
		s[out.size] = '\0';
	}
	gnutls_free(out.data);
	return s;
}
