/* SPDX-License-Identifier: MIT */
/* Unit tests of certparse.c, on certificates and keys GnuTLS makes at test time (tests/common/gencert.c). */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "certparse.h"
#include "util.h"
#include "gencert.h"

static const char *const two[] = { "mta-sts.example.com", "*.Example.ORG" };

struct made {
	gnutls_datum_t cert, key, pkcs8;
};

static struct made
make(enum gencert_key kind, const char *const *dns, size_t n_dns, bool other, bool ca, int version, time_t not_after)
{
	struct gencert g = { kind, dns, n_dns, other, ca, version, not_after };
	struct made m;

	cr_assert_eq(gencert_make(&g, &m.cert, &m.key, &m.pkcs8), 0);
	return m;
}

static void
unmake(struct made *m)
{
	gnutls_free(m->cert.data);
	gnutls_free(m->key.data);
	gnutls_free(m->pkcs8.data);
}

/* CI's dNSNames joined with spaces */
static char *
names(const struct certparse_info *ci)
{
	static char out[4096];
	const char *name;
	size_t len, pos = 0, n = 0;

	out[0] = '\0';
	while (certparse_next_dns(ci, &pos, &name, &len)) {
		cr_assert_lt(n + len + 2, sizeof(out));
		if (n > 0)
			out[n++] = ' ';
		memcpy(out + n, name, len);
		n += len;
		out[n] = '\0';
	}
	return out;
}

static void
assert_key_matches(const struct certparse_info *ci, const gnutls_datum_t *der, enum certparse_pk pk)
{
	struct certparse_key k;

	cr_assert_eq(certparse_key(der->data, der->size, &k), 0);
	cr_assert_eq(k.pk, pk);
	cr_assert(certparse_key_matches(ci, &k));
}

Test(certparse, ecdsa_p256_certificate_names_expiry_and_both_key_formats)
{
	struct made m = make(GENCERT_P256, two, 2, false, false, 3, 1893456000), other;
	struct certparse_info ci;
	struct certparse_key k;

	cr_assert_eq(certparse_cert(m.cert.data, m.cert.size, &ci), 0);
	cr_assert_eq(ci.not_after, 1893456000);
	cr_assert_eq(ci.not_before, 1893456000 - 90 * 86400, "the start of validity is kept too");
	cr_assert_not(ci.is_ca);
	cr_assert_eq(ci.pk, CERTPARSE_PK_EC);
	cr_assert_eq(ci.curve, CERTPARSE_CURVE_P256);
	cr_assert_eq(ci.pub_len, 65);
	/* as written: the store lower-cases and strips dots, not the parser */
	cr_assert_str_eq(names(&ci), "mta-sts.example.com *.Example.ORG");
	assert_key_matches(&ci, &m.key, CERTPARSE_PK_EC);
	assert_key_matches(&ci, &m.pkcs8, CERTPARSE_PK_EC);

	/* another key of the same kind does not match */
	other = make(GENCERT_P256, two, 1, false, false, 3, 1893456000);
	cr_assert_eq(certparse_key(other.key.data, other.key.size, &k), 0);
	cr_assert_not(certparse_key_matches(&ci, &k));
	unmake(&other);
	unmake(&m);
}

Test(certparse, rsa_certificate_is_read_and_its_keys_left_to_gnutls)
{
	struct made m = make(GENCERT_RSA2048, two, 2, false, false, 3, 1893456000);
	struct certparse_info ci;
	struct certparse_key k;
	static const unsigned char f4[] = { 0x01, 0x00, 0x01 };

	cr_assert_eq(certparse_cert(m.cert.data, m.cert.size, &ci), 0);
	cr_assert_eq(ci.pk, CERTPARSE_PK_RSA);
	cr_assert_eq(ci.pub_len, 256);
	cr_assert_eq(ci.exp_len, 3);
	cr_assert_eq(memcmp(ci.exp, f4, 3), 0);
	/* RSA keys are GnuTLS's to read: it checks their arithmetic */
	cr_assert_eq(certparse_key(m.key.data, m.key.size, &k), -1);
	cr_assert_eq(certparse_key(m.pkcs8.data, m.pkcs8.size, &k), -1);
	unmake(&m);
}

Test(certparse, other_san_forms_are_skipped_and_order_is_kept)
{
	struct made m = make(GENCERT_P384, two, 2, true, false, 3, 1893456000);
	struct certparse_info ci;

	cr_assert_eq(certparse_cert(m.cert.data, m.cert.size, &ci), 0);
	cr_assert_eq(ci.curve, CERTPARSE_CURVE_P384);
	cr_assert_str_eq(names(&ci), "mta-sts.example.com *.Example.ORG");
	assert_key_matches(&ci, &m.pkcs8, CERTPARSE_PK_EC);
	unmake(&m);
}

Test(certparse, ca_flag_and_p521)
{
	struct made m = make(GENCERT_P521, NULL, 0, false, true, 3, 1893456000);
	struct certparse_info ci;

	cr_assert_eq(certparse_cert(m.cert.data, m.cert.size, &ci), 0);
	cr_assert(ci.is_ca);
	cr_assert_eq(ci.curve, CERTPARSE_CURVE_P521);
	cr_assert_eq(ci.pub_len, 133);
	cr_assert_null(ci.san);
	cr_assert_str_eq(names(&ci), "");
	assert_key_matches(&ci, &m.key, CERTPARSE_PK_EC);
	unmake(&m);
}

Test(certparse, generalized_time_after_2049)
{
	struct made m = make(GENCERT_P256, two, 1, false, false, 3, 2871763200);	/* 2061-01-01 */
	struct certparse_info ci;

	cr_assert_eq(certparse_cert(m.cert.data, m.cert.size, &ci), 0);
	cr_assert_eq(ci.not_after, 2871763200);
	unmake(&m);
}

Test(certparse, shapes_it_does_not_read_are_refused_not_misread)
{
	struct made v1 = make(GENCERT_P256, NULL, 0, false, false, 1, 1893456000);
	struct made ed = make(GENCERT_ED25519, two, 1, false, false, 3, 1893456000);
	struct made ok = make(GENCERT_P256, two, 2, false, false, 3, 1893456000);
	struct certparse_info ci;
	struct certparse_key k;
	unsigned char *buf;

	cr_assert_eq(certparse_cert(v1.cert.data, v1.cert.size, &ci), -1, "v1 certificate");
	cr_assert_eq(certparse_cert(ed.cert.data, ed.cert.size, &ci), -1, "Ed25519 certificate");
	cr_assert_eq(certparse_key(ed.pkcs8.data, ed.pkcs8.size, &k), -1, "Ed25519 key");
	/* every truncation, and a byte too many */
	for (unsigned n = 0; n < ok.cert.size; n++)
		cr_assert_eq(certparse_cert(ok.cert.data, n, &ci), -1, "truncated to %u bytes", n);
	for (unsigned n = 0; n < ok.key.size; n++)
		cr_assert_eq(certparse_key(ok.key.data, n, &k), -1, "key truncated to %u bytes", n);
	buf = malloc(ok.cert.size + 1);
	memcpy(buf, ok.cert.data, ok.cert.size);
	buf[ok.cert.size] = 0;
	cr_assert_eq(certparse_cert(buf, ok.cert.size + 1, &ci), -1, "trailing byte");
	/* a length in more bytes than it needs is not DER: 30 82 LL LL -> 30 83 00 LL LL */
	cr_assert_eq(ok.cert.data[1], 0x82);
	buf[0] = 0x30;
	buf[1] = 0x83;
	buf[2] = 0x00;
	memcpy(buf + 3, ok.cert.data + 2, ok.cert.size - 2);
	cr_assert_eq(certparse_cert(buf, ok.cert.size + 1, &ci), -1, "non-minimal length");
	free(buf);
	unmake(&v1);
	unmake(&ed);
	unmake(&ok);
}

Test(certparse, pem_blocks_in_order_with_crlf_and_text_between)
{
	struct made m = make(GENCERT_P256, two, 1, false, false, 3, 1893456000);
	char *c = gencert_pem("CERTIFICATE", &m.cert), *k = gencert_pem("EC PRIVATE KEY", &m.key);
	char *text = malloc(strlen(c) * 2 + strlen(k) * 2 + 64), *p;
	char label[64];
	unsigned char *der;
	size_t pos = 0, len;

	/* a comment line, the certificate with CRLF line ends, then the key */
	strcpy(text, "subject=CN = gencert\n");
	p = text + strlen(text);
	for (const char *s = c; *s; s++) {
		if (*s == '\n')
			*p++ = '\r';
		*p++ = *s;
	}
	strcpy(p, k);
	cr_assert_eq(certparse_pem_next(text, strlen(text), &pos, label, sizeof(label), &der, &len), 1);
	cr_assert_str_eq(label, "CERTIFICATE");
	cr_assert_eq(len, m.cert.size);
	cr_assert_eq(memcmp(der, m.cert.data, len), 0);
	free(der);
	cr_assert_eq(certparse_pem_next(text, strlen(text), &pos, label, sizeof(label), &der, &len), 1);
	cr_assert_str_eq(label, "EC PRIVATE KEY");
	cr_assert_eq(len, m.key.size);
	cr_assert_eq(memcmp(der, m.key.data, len), 0);
	free(der);
	cr_assert_eq(certparse_pem_next(text, strlen(text), &pos, label, sizeof(label), &der, &len), 0);
	free(text);
	free(c);
	free(k);
	unmake(&m);
}

Test(certparse, malformed_pem_is_refused)
{
	static const char *const bad[] = {
		"-----BEGIN CERTIFICATE-----\nMIIB\n",					/* no end */
		"-----BEGIN CERTIFICATE-----\nMII*\n-----END CERTIFICATE-----\n",	/* not base64 */
		"-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n",	/* not a multiple of 4 */
		"-----BEGIN CERTIFICATE-----\nMA==MA==\n-----END CERTIFICATE-----\n",	/* padding inside */
		"-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n",		/* empty */
		"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nMAAA\n-----END RSA PRIVATE KEY-----\n",
		"-----BEGIN CERTIFICATE-----\nMAAA\n-----END CERTIFICATE\n",		/* end line cut */
	};
	char label[64];
	unsigned char *der;
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t pos = 0;

		cr_assert_eq(certparse_pem_next(bad[i], strlen(bad[i]), &pos, label, sizeof(label), &der, &len), -1,
		    "case %zu", i);
	}
	{
		size_t pos = 0;
		const char *ok = "-----BEGIN X-----\n MA = = \n-----END X-----";

		cr_assert_eq(certparse_pem_next(ok, strlen(ok), &pos, label, sizeof(label), &der, &len), 1);
		cr_assert_eq(len, 1);
		cr_assert_eq(der[0], 0x30);
		free(der);
	}
}

Test(certparse, utc_times_match_the_calendar)
{
	int64_t t;

	cr_assert_eq(utc_from_mdhms(1970, "0101000000", &t), 0);
	cr_assert_eq(t, 0);
	cr_assert_eq(utc_from_mdhms(2000, "0229123456", &t), 0);
	cr_assert_eq(t, 951827696);
	cr_assert_eq(utc_from_mdhms(2100, "0301000000", &t), 0);
	cr_assert_eq(t, 4107542400);
	cr_assert_eq(utc_from_mdhms(2100, "0229000000", &t), -1, "2100 is not a leap year");
	cr_assert_eq(utc_from_mdhms(2024, "0431000000", &t), -1);
	cr_assert_eq(utc_from_mdhms(2024, "0101240000", &t), -1);
	cr_assert_eq(utc_from_mdhms(2024, "01010000x0", &t), -1);
}
