/* SPDX-License-Identifier: MIT */
/* acmeclient: the CSR's contents, and errors made from the CA's answers (problem documents, Retry-After) and read by the backoff. */
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "acmeclient.h"
#include "acmesched.h"
#include "util.h"

/* check the CSR of NAME: one dNSName NAME, CN NAME (or none), P-256, self-signature good, key PEM matches */
static void
check_csr(const char *name, bool want_cn)
{
	unsigned char *der, buf[512];
	char *key_pem, err[256], cn[256];
	size_t der_len, key_len, sz;
	gnutls_x509_crq_t crq;
	gnutls_x509_privkey_t pk;
	gnutls_datum_t d, kd;
	unsigned bits = 0, critical = 0, type;
	int rc;

	cr_assert_eq(acmeclient_csr(name, &der, &der_len, &key_pem, &key_len, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(strlen(key_pem), key_len);
	cr_assert(strncmp(key_pem, "-----BEGIN PRIVATE KEY-----", 27) == 0);
	d.data = der;
	d.size = (unsigned)der_len;
	cr_assert_eq(gnutls_x509_crq_init(&crq), 0);
	cr_assert_eq(gnutls_x509_crq_import(crq, &d, GNUTLS_X509_FMT_DER), 0);
	cr_assert_eq(gnutls_x509_crq_verify(crq, 0), 0, "the request's signature");
	cr_assert_eq(gnutls_x509_crq_get_pk_algorithm(crq, &bits), GNUTLS_PK_ECDSA);
	cr_assert_eq(gnutls_x509_crq_get_signature_algorithm(crq), GNUTLS_SIGN_ECDSA_SHA256);
	sz = sizeof(cn);
	rc = gnutls_x509_crq_get_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &sz);
	if (want_cn) {
		cr_assert_eq(rc, 0);
		cr_assert_str_eq(cn, name);
		sz = sizeof(cn);
		cr_assert_lt(gnutls_x509_crq_get_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 1, 0, cn, &sz), 0,
		    "one CN only");
	} else
		cr_assert_eq(rc, GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE);
	sz = sizeof(buf);
	cr_assert_eq(gnutls_x509_crq_get_subject_alt_name(crq, 0, buf, &sz, &type, &critical), GNUTLS_SAN_DNSNAME);
	cr_assert_eq(sz, strlen(name));
	cr_assert(memcmp(buf, name, sz) == 0);
	sz = sizeof(buf);
	cr_assert_lt(gnutls_x509_crq_get_subject_alt_name(crq, 1, buf, &sz, &type, &critical), 0, "one SAN only");

	/* the key handed back is the one the request carries, on P-256 */
	kd.data = (unsigned char *)key_pem;
	kd.size = (unsigned)key_len;
	cr_assert_eq(gnutls_x509_privkey_init(&pk), 0);
	cr_assert_eq(gnutls_x509_privkey_import_pkcs8(pk, &kd, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN), 0);
	{
		unsigned char id1[64], id2[64];
		size_t n1 = sizeof(id1), n2 = sizeof(id2);
		gnutls_ecc_curve_t curve;
		gnutls_datum_t x, y, k;

		cr_assert_eq(gnutls_x509_privkey_export_ecc_raw(pk, &curve, &x, &y, &k), 0);
		cr_assert_eq(curve, GNUTLS_ECC_CURVE_SECP256R1);
		gnutls_free(x.data);
		gnutls_free(y.data);
		gnutls_free(k.data);
		cr_assert_eq(gnutls_x509_privkey_get_key_id(pk, GNUTLS_KEYID_USE_SHA256, id1, &n1), 0);
		cr_assert_eq(gnutls_x509_crq_get_key_id(crq, GNUTLS_KEYID_USE_SHA256, id2, &n2), 0);
		cr_assert_eq(n1, n2);
		cr_assert(memcmp(id1, id2, n1) == 0, "the key PEM is the request's key");
	}
	gnutls_x509_privkey_deinit(pk);
	gnutls_x509_crq_deinit(crq);
	free(der);
	free(key_pem);
}

Test(acmeclient, csr_holds_the_name_once)
{
	check_csr("mta-sts.example.com", true);
}

Test(acmeclient, csr_of_a_long_name_has_no_cn)
{
	/* 70 bytes: over the 64 of a CN, still a DNS name */
	check_csr("mta-sts.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com", false);
}

Test(acmeclient, each_csr_has_a_new_key)
{
	unsigned char *d1, *d2;
	char *k1, *k2, err[256];
	size_t l1, l2, kl1, kl2;

	cr_assert_eq(acmeclient_csr("a.example", &d1, &l1, &k1, &kl1, err, sizeof(err)), 0);
	cr_assert_eq(acmeclient_csr("a.example", &d2, &l2, &k2, &kl2, err, sizeof(err)), 0);
	cr_assert(kl1 != kl2 || memcmp(k1, k2, kl1) != 0);
	free(d1);
	free(d2);
	free(k1);
	free(k2);
}

#define NOW ((time_t)1700000000)

Test(acmeclient, problem_document_mapped)
{
	static const char body[] = "{\"type\":\"urn:ietf:params:acme:error:rateLimited\","
	    "\"detail\":\"too many certificates already issued\",\"status\":429}";
	struct acmeclient_error e = { 0 };
	struct acmesched_failure f;

	acmeclient_error_from_answer(&e, "new order", 429, "application/problem+json", body, strlen(body), "3600", NOW);
	cr_assert_str_eq(e.type, "urn:ietf:params:acme:error:rateLimited");
	cr_assert_str_eq(e.name, "rateLimited");
	cr_assert_str_eq(e.detail, "new order: too many certificates already issued");
	cr_assert_eq(e.status, 429);
	cr_assert(e.has_retry_after);
	cr_assert_eq(e.retry_after, NOW + 3600);
	acmeclient_error_failure(&e, &f);
	cr_assert(f.rate_limited);
	cr_assert(f.has_retry_after);
	cr_assert_eq(f.retry_after, NOW + 3600);
	/* the backoff honours it */
	cr_assert_geq(acmesched_retry_at(1, &f, 0.5, NOW), NOW + 3600);
	acmeclient_error_clear(&e);
	cr_assert_null(e.detail);
}

Test(acmeclient, problem_with_a_date_and_charset)
{
	static const char body[] = "{\"type\":\"urn:ietf:params:acme:error:badNonce\",\"status\":400}";
	struct acmeclient_error e = { 0 };
	struct acmesched_failure f;

	/* 2023-11-14T22:13:20Z is NOW; the date is a minute later */
	acmeclient_error_from_answer(&e, "finalize", 400, "application/problem+json; charset=utf-8", body,
	    strlen(body), "Tue, 14 Nov 2023 22:14:20 GMT", NOW);
	cr_assert_str_eq(e.name, "badNonce");
	cr_assert_str_eq(e.detail, "finalize: urn:ietf:params:acme:error:badNonce", "no detail: the type");
	cr_assert(e.has_retry_after);
	cr_assert_eq(e.retry_after, NOW + 60);
	acmeclient_error_failure(&e, &f);
	cr_assert_not(f.rate_limited);
	acmeclient_error_clear(&e);
}

Test(acmeclient, retry_after_capped_and_bad_ignored)
{
	static const char body[] = "{\"type\":\"urn:ietf:params:acme:error:serverInternal\",\"detail\":\"x\"}";
	struct acmeclient_error e = { 0 };

	acmeclient_error_from_answer(&e, "order", 503, "application/problem+json", body, strlen(body), "99999999999", NOW);
	cr_assert(e.has_retry_after);
	cr_assert_eq(e.retry_after, NOW + ACMESCHED_RETRY_AFTER_MAX);
	cr_assert_eq(e.status, 503);
	acmeclient_error_from_answer(&e, "order", 503, "application/problem+json", body, strlen(body), "soon", NOW);
	cr_assert_not(e.has_retry_after);
	acmeclient_error_clear(&e);
}

Test(acmeclient, not_a_problem_document)
{
	struct acmeclient_error e = { 0 };
	struct acmesched_failure f;

	acmeclient_error_from_answer(&e, "directory", 502, "text/html", "<html>", 6, NULL, NOW);
	cr_assert_null(e.type);
	cr_assert_str_eq(e.name, "");
	cr_assert_str_eq(e.detail, "directory: HTTP status 502 (text/html)");
	cr_assert_eq(e.status, 502);
	cr_assert_not(e.has_retry_after);
	acmeclient_error_failure(&e, &f);
	cr_assert_not(f.rate_limited);
	cr_assert_not(f.has_retry_after);
	/* a problem type that says problem but holds no JSON object */
	acmeclient_error_from_answer(&e, "new account", 400, "application/problem+json", "[1]", 3, NULL, NOW);
	cr_assert_null(e.type);
	cr_assert(strncmp(e.detail, "new account: HTTP status 400 with a malformed problem document (", 64) == 0, "%s",
	    e.detail);
	/* a problem that is not an ACME one keeps its type, with no short name */
	acmeclient_error_from_answer(&e, "order", 404, "application/problem+json",
	    "{\"type\":\"about:blank\",\"detail\":\"no such order\"}", 47, NULL, NOW);
	cr_assert_str_eq(e.type, "about:blank");
	cr_assert_str_eq(e.name, "");
	cr_assert_str_eq(e.detail, "order: no such order");
	acmeclient_error_clear(&e);
}

/* ---- the newOrder payload and the renewalInfo URL (RFC 9773) ---- */

Test(acmeclient, order_payload_with_and_without_replaces)
{
	struct buf b = { 0 };

	acmeclient_order_payload(&b, "mta-sts.example.com", NULL);
	cr_assert_str_eq(b.data, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"mta-sts.example.com\"}]}");
	buf_clear(&b);
	/* RFC 9773 section 5: the ARI identifier of the certificate renewed, beside the identifiers */
	acmeclient_order_payload(&b, "mta-sts.example.com", "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	cr_assert_str_eq(b.data, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"mta-sts.example.com\"}],"
	    "\"replaces\":\"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE\"}");
	buf_clear(&b);
	/* both are JSON strings, whatever they hold */
	acmeclient_order_payload(&b, "a\"b", "x\\y\n");
	cr_assert_str_eq(b.data, "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a\\\"b\"}],\"replaces\":\"x\\\\y\\u000a\"}");
	buf_clear(&b);
}

Test(acmeclient, renewal_url)
{
	char *u = acmeclient_renewal_url("https://ca.example/acme/renewal-info", "aYhb.AIdl");

	cr_assert_str_eq(u, "https://ca.example/acme/renewal-info/aYhb.AIdl");
	free(u);
	u = acmeclient_renewal_url("https://ca.example/draft-ietf-acme-ari-03/renewalInfo/", "aYhb.AIdl");
	cr_assert_str_eq(u, "https://ca.example/draft-ietf-acme-ari-03/renewalInfo/aYhb.AIdl");
	free(u);
}
