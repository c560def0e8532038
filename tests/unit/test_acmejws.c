/* SPDX-License-Identifier: MIT */
/* acmejws: base64url, the JWK and its thumbprint against RFC 7515's P-256 key, ES256 JWS verified with GnuTLS, key files. */
#include <criterion/criterion.h>

#include "tmpfixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <jansson.h>

#include "acmejws.h"
#include "digest.h"
#include "gencert.h"
#include "util.h"

/* RFC 7515 appendix A.3: the P-256 key of the ES256 example */
#define A3_X "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define A3_Y "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define A3_D "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
/* ... and its signing input and signature (raw r || s) */
#define A3_INPUT "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
#define A3_SIG "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
/* SHA-256 of {"crv":"P-256","kty":"EC","x":A3_X,"y":A3_Y}, base64url (computed apart, with Python's hashlib) */
#define A3_THUMBPRINT "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U"

TMP_FIXTURE("/tmp/test_acmejws.XXXXXX")

static gnutls_datum_t
decoded(const char *s)
{
	unsigned char *p;
	size_t n;

	cr_assert_eq(acmejws_b64url_decode(s, strlen(s), &p, &n), 0, "'%s' decodes", s);
	return (gnutls_datum_t){ p, (unsigned)n };
}

/* RFC 7515's A.3 key, as the PEM text GnuTLS writes for it */
static char *
a3_pem(void)
{
	gnutls_x509_privkey_t k;
	gnutls_datum_t x = decoded(A3_X), y = decoded(A3_Y), d = decoded(A3_D), pem;
	char *out;

	cr_assert_eq(gnutls_x509_privkey_init(&k), 0);
	cr_assert_eq(gnutls_x509_privkey_import_ecc_raw(k, GNUTLS_ECC_CURVE_SECP256R1, &x, &y, &d), 0);
	cr_assert_eq(gnutls_x509_privkey_export2(k, GNUTLS_X509_FMT_PEM, &pem), 0);
	out = xstrndup((const char *)pem.data, pem.size);
	gnutls_free(pem.data);
	gnutls_x509_privkey_deinit(k);
	free(x.data);
	free(y.data);
	free(d.data);
	return out;
}

static struct acmejws_key *
a3_key(void)
{
	char *pem = a3_pem(), err[256] = "";
	struct acmejws_key *k = acmejws_key_parse(pem, strlen(pem), err, sizeof(err));

	cr_assert_not_null(k, "%s", err);
	free(pem);
	return k;
}

/* Does SIG (base64url r || s) verify INPUT under the public point X, Y (base64url)? */
static bool
es256_verifies(const char *x64, const char *y64, const char *input, const char *sig64)
{
	gnutls_datum_t x = decoded(x64), y = decoded(y64), sig = decoded(sig64), r, s, der;
	gnutls_datum_t data = { (unsigned char *)(uintptr_t)input, (unsigned)strlen(input) };
	gnutls_pubkey_t pub;
	bool ok;

	cr_assert_eq(sig.size, 64, "an ES256 signature is 64 bytes, not %u", sig.size);
	r = (gnutls_datum_t){ sig.data, 32 };
	s = (gnutls_datum_t){ sig.data + 32, 32 };
	cr_assert_eq(gnutls_encode_rs_value(&der, &r, &s), 0);
	cr_assert_eq(gnutls_pubkey_init(&pub), 0);
	cr_assert_eq(gnutls_pubkey_import_ecc_raw(pub, GNUTLS_ECC_CURVE_SECP256R1, &x, &y), 0);
	ok = gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &der) >= 0;
	gnutls_pubkey_deinit(pub);
	gnutls_free(der.data);
	free(x.data);
	free(y.data);
	free(sig.data);
	return ok;
}

Test(acmejws, b64url_rfc4648_vectors)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
		/* the two characters that differ from base64 */
		{ "\xfb\xff\xbf", "-_-_" }, { "\xff\xfe", "__4" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct buf b = { 0 };
		unsigned char *back;
		size_t n;

		acmejws_b64url(&b, v[i].in, strlen(v[i].in));
		cr_expect_str_eq(b.data, v[i].out);
		cr_assert_eq(acmejws_b64url_decode(b.data, b.len, &back, &n), 0, "%s", v[i].out);
		cr_expect_eq(n, strlen(v[i].in));
		cr_expect(memcmp(back, v[i].in, n) == 0, "%s decodes back", v[i].out);
		free(back);
		buf_clear(&b);
	}
}

Test(acmejws, b64url_decode_refuses_noncanonical)
{
	static const char *const bad[] = {
		"Z", "Zh", "Zm9=", "Zm9v=", "Zm+v", "Zm/v", "Zm 9v", "Zm9vYmF", "Zm9vY\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned char *p = (unsigned char *)"x";
		size_t n = 7;
		cr_expect_eq(acmejws_b64url_decode(bad[i], strlen(bad[i]), &p, &n), -1, "'%s' refused", bad[i]);
		cr_expect_null(p);
		cr_expect_eq(n, 0);
	}
}

Test(acmejws, jwk_and_thumbprint_of_rfc7515_key)
{
	struct acmejws_key *k = a3_key();
	char tp[ACMEJWS_THUMBPRINT_LEN];
	struct buf b = { 0 };

	acmejws_jwk(k, &b);
	cr_expect_str_eq(b.data, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"" A3_X "\",\"y\":\"" A3_Y "\"}");
	acmejws_thumbprint(k, tp);
	cr_expect_str_eq(tp, A3_THUMBPRINT);
	buf_clear(&b);
	acmejws_key_free(k);
}

/* The vector itself, through the same verification the next tests trust */
Test(acmejws, rfc7515_signature_verifies)
{
	cr_expect(es256_verifies(A3_X, A3_Y, A3_INPUT, A3_SIG));
	cr_expect(!es256_verifies(A3_X, A3_Y, A3_INPUT "x", A3_SIG));
}

/* A flattened JWS taken apart */
struct parts {
	json_t *hdr;		/* the protected header, decoded */
	char *input;		/* the signing input */
	char *payload;		/* decoded */
	char *sig;		/* base64url */
};

static void
parts_free(struct parts *p)
{
	json_decref(p->hdr);
	free(p->input);
	free(p->payload);
	free(p->sig);
}

/* The parts of JWS, checked for the members a flattened JWS has and without padding; JWS is freed */
static struct parts
jws_parts(char *jws)
{
	struct parts p;
	char **input = &p.input, **payload = &p.payload, **sig = &p.sig;
	json_error_t e;
	json_t *j = json_loads(jws, 0, &e), *hdr;
	const char *p64, *pl64;
	gnutls_datum_t d;

	cr_assert_not_null(j, "%s: %s", jws, e.text);
	cr_assert_eq(json_object_size(j), 3, "%s", jws);
	p64 = json_string_value(json_object_get(j, "protected"));
	pl64 = json_string_value(json_object_get(j, "payload"));
	*sig = xstrdup(json_string_value(json_object_get(j, "signature")));
	cr_assert(p64 != NULL && pl64 != NULL && *sig != NULL);
	cr_expect(strchr(jws, '=') == NULL, "no padding: %s", jws);
	*input = xasprintf("%s.%s", p64, pl64);
	d = decoded(pl64);
	*payload = xstrndup((const char *)d.data, d.size);
	free(d.data);
	d = decoded(p64);
	hdr = json_loadb((const char *)d.data, d.size, 0, &e);
	free(d.data);
	json_decref(j);
	free(jws);
	cr_assert_not_null(hdr, "protected header: %s", e.text);
	p.hdr = hdr;
	return p;
}

Test(acmejws, sign_with_jwk_verifies, .init = setup, .fini = teardown)
{
	char err[256] = "", *jws;
	struct acmejws_key *k = acmejws_key_generate(err, sizeof(err));
	struct parts p;
	json_t *hdr, *jwk;
	const char *x, *y;

	cr_assert_not_null(k, "%s", err);
	jws = acmejws_sign(k, "https://ca.example/acme/new-account", "n0nce-_A", NULL,
	    "{\"termsOfServiceAgreed\":true}", err, sizeof(err));
	cr_assert_not_null(jws, "%s", err);
	p = jws_parts(jws);
	hdr = p.hdr;
	cr_expect_str_eq(p.payload, "{\"termsOfServiceAgreed\":true}");
	cr_expect_str_eq(json_string_value(json_object_get(hdr, "alg")), "ES256");
	cr_expect_str_eq(json_string_value(json_object_get(hdr, "nonce")), "n0nce-_A");
	cr_expect_str_eq(json_string_value(json_object_get(hdr, "url")), "https://ca.example/acme/new-account");
	cr_expect_null(json_object_get(hdr, "kid"));
	jwk = json_object_get(hdr, "jwk");
	cr_assert(json_is_object(jwk));
	cr_expect_str_eq(json_string_value(json_object_get(jwk, "kty")), "EC");
	cr_expect_str_eq(json_string_value(json_object_get(jwk, "crv")), "P-256");
	x = json_string_value(json_object_get(jwk, "x"));
	y = json_string_value(json_object_get(jwk, "y"));
	cr_assert(x != NULL && y != NULL);
	cr_expect_eq(strlen(x), 43);
	cr_expect_eq(strlen(y), 43);
	cr_expect(es256_verifies(x, y, p.input, p.sig), "the signature verifies under the header's own jwk");
	/* and not under another key */
	cr_expect(!es256_verifies(A3_X, A3_Y, p.input, p.sig));
	parts_free(&p);
	acmejws_key_free(k);
}

Test(acmejws, sign_with_kid_post_as_get)
{
	struct acmejws_key *k = a3_key();
	char err[256] = "";
	struct parts p;
	/* a nonce needing escapes is still carried as it came */
	char *jws = acmejws_sign(k, "https://ca.example/acme/order/1", "a\"b\\c", "https://ca.example/acme/acct/7",
	    "", err, sizeof(err));
	json_t *hdr;

	cr_assert_not_null(jws, "%s", err);
	cr_expect(strstr(jws, "\"payload\":\"\"") != NULL, "%s", jws);
	p = jws_parts(jws);
	hdr = p.hdr;
	cr_expect_str_eq(p.payload, "", "POST-as-GET: an empty payload");
	cr_expect_str_eq(json_string_value(json_object_get(hdr, "kid")), "https://ca.example/acme/acct/7");
	cr_expect_str_eq(json_string_value(json_object_get(hdr, "nonce")), "a\"b\\c");
	cr_expect_null(json_object_get(hdr, "jwk"));
	cr_expect_eq(json_object_size(hdr), 4);
	cr_expect(es256_verifies(A3_X, A3_Y, p.input, p.sig));
	parts_free(&p);
	cr_expect_null(acmejws_sign(k, "https://ca.example/\xff", "n", NULL, "", err, sizeof(err)));
	cr_expect(strstr(err, "UTF-8") != NULL, "%s", err);
	acmejws_key_free(k);
}

Test(acmejws, many_signatures_all_64_bytes)
{
	struct acmejws_key *k = a3_key();
	char err[256] = "";

	/* r or s with leading zero bytes come about one in 128: a few hundred signatures meet some */
	for (int i = 0; i < 400; i++) {
		char *jws = acmejws_sign(k, "u", "n", "k", "{}", err, sizeof(err));
		struct parts p;
		cr_assert_not_null(jws, "%s", err);
		p = jws_parts(jws);
		cr_assert(es256_verifies(A3_X, A3_Y, p.input, p.sig), "signature %d", i);
		parts_free(&p);
	}
	acmejws_key_free(k);
}

Test(acmejws, key_authorization_and_challenge_values)
{
	struct acmejws_key *k = a3_key();
	char *ka = acmejws_key_authorization("evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA", k);
	unsigned char id[ACMEJWS_ACME_ID_LEN];
	char hex[65];

	cr_expect_str_eq(ka, "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA." A3_THUMBPRINT);
	acmejws_acme_identifier(ka, id);
	cr_expect_eq(id[0], 0x04);
	cr_expect_eq(id[1], 0x20);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[2 + i]);
	/* SHA-256 of the key authorization above (Python's hashlib) */
	cr_expect_str_eq(hex, "65a26016d215e16034b7633337b91b4a4d2c7d17761998dac51a9a49300aea52");
	free(ka);
	acmejws_key_free(k);
}

Test(acmejws, save_load_round_trip, .init = setup, .fini = teardown)
{
	char err[256] = "", tp1[ACMEJWS_THUMBPRINT_LEN], tp2[ACMEJWS_THUMBPRINT_LEN];
	char *path = xasprintf("%s/account.key", tmpdir);
	struct acmejws_key *k = acmejws_key_generate(err, sizeof(err)), *back;
	struct stat st;

	cr_assert_not_null(k, "%s", err);
	cr_assert_eq(acmejws_key_save(k, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	back = acmejws_key_load(path, err, sizeof(err));
	cr_assert_not_null(back, "%s", err);
	acmejws_thumbprint(k, tp1);
	acmejws_thumbprint(back, tp2);
	cr_expect_str_eq(tp1, tp2);
	/* saved again over the old one: still one file, nothing left beside it */
	cr_assert_eq(acmejws_key_save(back, path, err, sizeof(err)), 0, "%s", err);
	char *cmd = xasprintf("test \"$(ls -A '%s')\" = account.key", tmpdir);
	cr_expect_eq(system(cmd), 0, "no temporary file is left");
	free(cmd);
	acmejws_key_free(back);

	cr_assert_eq(chmod(path, 0644), 0);
	cr_expect_null(acmejws_key_load(path, err, sizeof(err)));
	cr_expect(strstr(err, "readable by others") != NULL, "%s", err);
	cr_assert_eq(unlink(path), 0);
	cr_expect_null(acmejws_key_load(path, err, sizeof(err)));
	cr_expect(strstr(err, "cannot read the account key") != NULL, "%s", err);
	acmejws_key_free(k);
	free(path);
}

Test(acmejws, parse_refuses_other_keys)
{
	static const struct {
		enum gencert_key key;
		const char *label, *why;
	} v[] = {
		{ GENCERT_P384, "EC PRIVATE KEY", "not P-256" },
		{ GENCERT_RSA2048, "RSA PRIVATE KEY", "not an ECDSA key" },
	};
	char err[256];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct gencert g = { .key = v[i].key, .version = 3, .not_after = 2000000000 };
		gnutls_datum_t cert, key, pkcs8;
		char *pem;

		cr_assert_eq(gencert_make(&g, &cert, &key, &pkcs8), 0);
		pem = gencert_pem(v[i].label, &key);
		cr_expect_null(acmejws_key_parse(pem, strlen(pem), err, sizeof(err)));
		cr_expect(strstr(err, v[i].why) != NULL, "%s", err);
		free(pem);
		gnutls_free(cert.data);
		gnutls_free(key.data);
		gnutls_free(pkcs8.data);
	}
	cr_expect_null(acmejws_key_parse("not a key", 9, err, sizeof(err)));
	cr_expect(strstr(err, "not a PEM private key") != NULL, "%s", err);
}

Test(acmejws, parse_reads_pkcs8)
{
	struct gencert g = { .key = GENCERT_P256, .version = 3, .not_after = 2000000000 };
	gnutls_datum_t cert, key, pkcs8;
	char err[256] = "", *pem;
	struct acmejws_key *k;

	cr_assert_eq(gencert_make(&g, &cert, &key, &pkcs8), 0);
	pem = gencert_pem("PRIVATE KEY", &pkcs8);
	k = acmejws_key_parse(pem, strlen(pem), err, sizeof(err));
	cr_expect_not_null(k, "%s", err);
	acmejws_key_free(k);
	free(pem);
	gnutls_free(cert.data);
	gnutls_free(key.data);
	gnutls_free(pkcs8.data);
}

/*
 * External account binding (RFC 8555 section 7.3.4) of the A.3 key. The
 * expected value was computed apart with Python 3 (base64, hmac, hashlib):
 *   hdr = '{"alg":"HS256","kid":"kid-1","url":"https://ca.example/acme/new-account"}'
 *   inp = b64url(hdr) + "." + b64url(canonical JWK of A.3)
 *   b64url(hmac.new(b64url_decode(EAB_KEY), inp, sha256).digest())
 */
#define EAB_KEY "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
#define EAB_PROTECTED "eyJhbGciOiJIUzI1NiIsImtpZCI6ImtpZC0xIiwidXJsIjoiaHR0cHM6Ly9jYS5leGFtcGxlL2FjbWUvbmV3LWFjY291bnQifQ"
#define EAB_PAYLOAD "eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImY4M09KM0QyeEYxQmc4dnViOXRMZTFnSE16Vjc2ZThUdXM5dVBIdlJWRVUiLCJ5IjoieF9GRXpSdTltMzZITE5fdHVlNjU5TE5wWFc2cEN5U3Rpa1lqS0lXSTVhMCJ9"
#define EAB_SIG "JzlAUjeF5LUMwc7YBrZYPl4nwZjF7T6kgzL_3AmfA2s"

Test(acmejws, eab_matches_independent_hmac)
{
	struct acmejws_key *k = a3_key();
	gnutls_datum_t key = decoded(EAB_KEY);
	char err[256] = "", *jws;

	jws = acmejws_eab(k, "kid-1", key.data, key.size, "https://ca.example/acme/new-account", err, sizeof(err));
	cr_assert_not_null(jws, "%s", err);
	cr_expect_str_eq(jws, "{\"protected\":\"" EAB_PROTECTED "\",\"payload\":\"" EAB_PAYLOAD
	    "\",\"signature\":\"" EAB_SIG "\"}");
	free(jws);

	/* another key, another MAC */
	key.data[0] ^= 1;
	jws = acmejws_eab(k, "kid-1", key.data, key.size, "https://ca.example/acme/new-account", err, sizeof(err));
	cr_assert_not_null(jws, "%s", err);
	cr_expect(strstr(jws, EAB_SIG) == NULL, "%s", jws);
	cr_expect(strstr(jws, EAB_PAYLOAD) != NULL, "%s", jws);
	free(jws);

	cr_expect_null(acmejws_eab(k, "kid-\xff", key.data, key.size, "https://ca.example/", err, sizeof(err)));
	cr_expect(strstr(err, "kid is not UTF-8") != NULL, "%s", err);
	cr_expect_null(acmejws_eab(k, "kid-1", key.data, 0, "https://ca.example/", err, sizeof(err)));
	cr_expect(strstr(err, "MAC key is empty") != NULL, "%s", err);
	free(key.data);
	acmejws_key_free(k);
}
