/* SPDX-License-Identifier: MIT */
/* acmechal: token and name checks, http-01 files read with their bounds, tls-alpn-01 certificates read back with GnuTLS, the cache. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "acmechal.h"
#include "acmejws.h"

#define TOKEN "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
#define KEYAUTH TOKEN ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"

static char tmpdir[] = "/tmp/test_acmechal.XXXXXX";

static void
put(const char *kind, const char *name, const char *content, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/challenges/%s/%s", tmpdir, kind, name);
	cr_assert_not_null(f = fopen(path, "w"), "%s", path);
	cr_assert_eq(fwrite(content, 1, len, f), len);
	fclose(f);
}

static void
setup(void)
{
	char path[512];

	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(path, sizeof(path), "%s/challenges", tmpdir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/challenges/http-01", tmpdir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/challenges/tls-alpn-01", tmpdir);
	cr_assert_eq(mkdir(path, 0700), 0);
	acmechal_set_folder(tmpdir);
}

static void
teardown(void)
{
	char cmd[600];

	acmechal_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(acmechal, .init = setup, .fini = teardown);

Test(acmechal, tokens)
{
	static const char *const good[] = { "a", TOKEN, "A-z_0-9", "-", "_" };
	static const char *const bad[] = { "", "a.b", "..", "a/b", "a%41", "a b", "a~", "a=", "é" };
	char t[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert(acmechal_token_ok(good[i], strlen(good[i])), "'%s'", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(acmechal_token_ok(bad[i], strlen(bad[i])), "'%s'", bad[i]);
	memset(t, 'x', sizeof(t));
	cr_assert(acmechal_token_ok(t, ACMECHAL_TOKEN_MAX));
	cr_assert_not(acmechal_token_ok(t, ACMECHAL_TOKEN_MAX + 1));
	/* the length counts, not a NUL: "a/b" cut at 1 is "a" */
	cr_assert(acmechal_token_ok("a/b", 1));
}

Test(acmechal, names)
{
	static const char *const good[] = { "mta-sts.example.com", "a", "xn--bcher-kva.example", "a_b.example",
	    "1.2.3.4" };
	static const char *const bad[] = { "", ".", "..", "../x", "a/b", "a..b", ".a", "a.", "A.example",
	    "*.example.com", "a b", "a\\b" };
	char n[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert(acmechal_name_ok(good[i]), "'%s'", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(acmechal_name_ok(bad[i]), "'%s'", bad[i]);
	memset(n, 'a', sizeof(n));
	n[253] = '\0';
	cr_assert(acmechal_name_ok(n));
	n[253] = 'a';
	n[254] = '\0';
	cr_assert_not(acmechal_name_ok(n));
}

Test(acmechal, http01_answers_the_file_without_trailing_white_space)
{
	char out[ACMECHAL_KEYAUTH_MAX];
	size_t n = 0;

	put("http-01", TOKEN, KEYAUTH "\r\n \n", sizeof(KEYAUTH "\r\n \n") - 1);
	cr_assert_eq(acmechal_http01(TOKEN, strlen(TOKEN), out, &n), 1);
	cr_assert_eq(n, strlen(KEYAUTH));
	cr_assert(memcmp(out, KEYAUTH, n) == 0);
	/* the token is LEN bytes of a longer string (a pointer into the request target) */
	cr_assert_eq(acmechal_http01(TOKEN "?x=1", strlen(TOKEN), out, &n), 1);
}

Test(acmechal, http01_pending_or_not)
{
	char out[ACMECHAL_KEYAUTH_MAX], big[ACMECHAL_KEYAUTH_MAX + 2];
	char path[512], link[512];
	size_t n;

	cr_assert_eq(acmechal_http01("other", 5, out, &n), 0, "no file: not pending");
	put("http-01", "empty", "\n", 1);
	cr_assert_eq(acmechal_http01("empty", 5, out, &n), 0, "an empty file: not pending");
	/* a file the token check refuses is never opened, even when it exists */
	put("http-01", "a.b", KEYAUTH, strlen(KEYAUTH));
	cr_assert_eq(acmechal_http01("a.b", 3, out, &n), 0);
	memset(big, 'A', sizeof(big));
	put("http-01", "exact", big, ACMECHAL_KEYAUTH_MAX);
	cr_assert_eq(acmechal_http01("exact", 5, out, &n), 1);
	cr_assert_eq(n, ACMECHAL_KEYAUTH_MAX);
	put("http-01", "big", big, ACMECHAL_KEYAUTH_MAX + 1);
	cr_assert_eq(acmechal_http01("big", 3, out, &n), -1, "longer than the bound");
	put("http-01", "odd", "abc def", 7);
	cr_assert_eq(acmechal_http01("odd", 3, out, &n), -1, "no key authorization");
	put("http-01", "html", "<script>", 8);
	cr_assert_eq(acmechal_http01("html", 4, out, &n), -1);
	/* a symbolic link (to a file that would pass) and a folder are refused */
	snprintf(path, sizeof(path), "%s/challenges/http-01/exact", tmpdir);
	snprintf(link, sizeof(link), "%s/challenges/http-01/link", tmpdir);
	cr_assert_eq(symlink(path, link), 0);
	cr_assert_eq(acmechal_http01("link", 4, out, &n), -1);
	snprintf(path, sizeof(path), "%s/challenges/http-01/dir", tmpdir);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_eq(acmechal_http01("dir", 3, out, &n), -1);
	/* no folder: nothing is pending */
	put("http-01", TOKEN, KEYAUTH, strlen(KEYAUTH));
	cr_assert_eq(acmechal_http01(TOKEN, strlen(TOKEN), out, &n), 1);
	acmechal_set_folder(NULL);
	cr_assert_eq(acmechal_http01(TOKEN, strlen(TOKEN), out, &n), 0);
	acmechal_set_folder("");
	cr_assert_eq(acmechal_http01(TOKEN, strlen(TOKEN), out, &n), 0);
	/* a trailing slash on the folder is the same folder */
	snprintf(path, sizeof(path), "%s//", tmpdir);
	acmechal_set_folder(path);
	cr_assert_eq(acmechal_http01(TOKEN, strlen(TOKEN), out, &n), 1);
}

/* The certificate of C, as GnuTLS reads it; the caller deinits it. */
static gnutls_x509_crt_t
crt_of(const struct acmechal_cert *c)
{
	const gnutls_pcert_st *pc = acmechal_cert_pcert(c);
	gnutls_x509_crt_t crt;

	cr_assert_eq(gnutls_x509_crt_init(&crt), 0);
	cr_assert_eq(gnutls_x509_crt_import(crt, &pc->cert, GNUTLS_X509_FMT_DER), 0);
	return crt;
}

/* C is the RFC 8737 challenge certificate of NAME and KEYAUTH. */
static void
expect_challenge_cert(const struct acmechal_cert *c, const char *name, const char *keyauth, time_t now)
{
	gnutls_x509_crt_t crt = crt_of(c);
	unsigned char want[ACMEJWS_ACME_ID_LEN], val[128];
	char san[300], oid[128];
	size_t len;
	unsigned crit = 0, type, verify = 1;
	bool found = false;

	cr_assert_eq(gnutls_x509_crt_get_version(crt), 3);
	/* exactly one subjectAltName, the dNSName NAME */
	len = sizeof(san);
	cr_assert_eq(gnutls_x509_crt_get_subject_alt_name2(crt, 0, san, &len, &type, &crit), GNUTLS_SAN_DNSNAME);
	cr_assert_str_eq(san, name);
	len = sizeof(san);
	cr_assert_lt(gnutls_x509_crt_get_subject_alt_name2(crt, 1, san, &len, &type, &crit), 0);
	/* the acmeIdentifier, critical, holding the DER OCTET STRING of SHA-256(KEYAUTH) */
	acmejws_acme_identifier(keyauth, want);
	for (unsigned i = 0;; i++) {
		size_t ol = sizeof(oid);

		if (gnutls_x509_crt_get_extension_info(crt, i, oid, &ol, &crit) < 0)
			break;
		if (strcmp(oid, "1.3.6.1.5.5.7.1.31") != 0)
			continue;
		cr_assert_not(found, "one acmeIdentifier only");
		found = true;
		cr_assert_eq(crit, 1, "the acmeIdentifier must be critical");
		len = sizeof(val);
		cr_assert_eq(gnutls_x509_crt_get_extension_data(crt, i, val, &len), 0);
		cr_assert_eq(len, sizeof(want));
		cr_assert(memcmp(val, want, len) == 0);
		cr_assert_eq(val[0], 0x04);
		cr_assert_eq(val[1], 0x20);
	}
	cr_assert(found, "no acmeIdentifier extension");
	cr_assert_leq(gnutls_x509_crt_get_activation_time(crt), now);
	cr_assert_gt(gnutls_x509_crt_get_expiration_time(crt), now + 86400);
	/* self-signed: its own signature verifies with its own key */
	cr_assert_eq(gnutls_x509_crt_check_issuer(crt, crt), 1);
	cr_assert_eq(gnutls_x509_crt_verify(crt, &crt, 1, 0, &verify), 0);
	cr_assert_eq(verify, 0, "the self-signature does not verify");
	cr_assert_eq(gnutls_x509_crt_get_pk_algorithm(crt, NULL), GNUTLS_PK_ECDSA);
	cr_assert_not_null(acmechal_cert_key(c));
	gnutls_x509_crt_deinit(crt);
}

Test(acmechal, challenge_certificate_is_rfc8737s)
{
	time_t now = time(NULL);
	struct acmechal_cert *c = acmechal_cert_new("mta-sts.example.com", KEYAUTH, now);

	cr_assert_not_null(c);
	expect_challenge_cert(c, "mta-sts.example.com", KEYAUTH, now);
	acmechal_cert_unref(c);
	acmechal_cert_unref(NULL);
}

Test(acmechal, tls_alpn01_reads_the_file_of_the_name)
{
	struct acmechal_cert *c;

	cr_assert_null(acmechal_tls_alpn01("mta-sts.example.com"), "no file: none pending");
	put("tls-alpn-01", "mta-sts.example.com", KEYAUTH "\n", strlen(KEYAUTH) + 1);
	cr_assert_not_null(c = acmechal_tls_alpn01("mta-sts.example.com"));
	expect_challenge_cert(c, "mta-sts.example.com", KEYAUTH, time(NULL));
	acmechal_cert_unref(c);
	/* names the check refuses touch no file, even one that exists */
	put("tls-alpn-01", "UPPER.example", KEYAUTH, strlen(KEYAUTH));
	cr_assert_null(acmechal_tls_alpn01("UPPER.example"));
	cr_assert_null(acmechal_tls_alpn01(".."));
	cr_assert_null(acmechal_tls_alpn01("../tls-alpn-01/mta-sts.example.com"));
	/* a removed file: no longer pending, though its certificate is cached */
	{
		char path[512];

		snprintf(path, sizeof(path), "%s/challenges/tls-alpn-01/mta-sts.example.com", tmpdir);
		cr_assert_eq(unlink(path), 0);
	}
	cr_assert_null(acmechal_tls_alpn01("mta-sts.example.com"));
	put("tls-alpn-01", "bad.example", "not a key authorization", 23);
	cr_assert_null(acmechal_tls_alpn01("bad.example"));
}

Test(acmechal, tls_alpn01_certificates_are_cached_per_name_and_key_authorization)
{
	struct acmechal_cert *a, *b, *c, *d;
	unsigned long long made = acmechal_certs_made();

	put("tls-alpn-01", "a.example", KEYAUTH, strlen(KEYAUTH));
	put("tls-alpn-01", "b.example", KEYAUTH, strlen(KEYAUTH));
	a = acmechal_tls_alpn01("a.example");
	b = acmechal_tls_alpn01("a.example");
	cr_assert_not_null(a);
	cr_assert_eq(a, b, "the same challenge, the same certificate");
	cr_assert_eq(acmechal_certs_made(), made + 1);
	c = acmechal_tls_alpn01("b.example");
	cr_assert_neq(c, a, "another name, another certificate");
	expect_challenge_cert(c, "b.example", KEYAUTH, time(NULL));
	/* a new key authorization for the name (a new order): a new certificate */
	put("tls-alpn-01", "a.example", KEYAUTH "x", strlen(KEYAUTH) + 1);
	d = acmechal_tls_alpn01("a.example");
	cr_assert_neq(d, a);
	expect_challenge_cert(d, "a.example", KEYAUTH "x", time(NULL));
	cr_assert_eq(acmechal_certs_made(), made + 3);
	acmechal_cert_unref(a);
	acmechal_cert_unref(b);
	acmechal_cert_unref(c);
	acmechal_cert_unref(d);
}

Test(acmechal, the_cache_is_bounded_and_evicts_the_least_recently_used)
{
	struct acmechal_cert *first, *again;
	unsigned long long made;
	char name[64];

	put("tls-alpn-01", "n0.example", KEYAUTH, strlen(KEYAUTH));
	/* held by a handshake while it is evicted: stays usable until released */
	first = acmechal_tls_alpn01("n0.example");
	cr_assert_not_null(first);
	for (int i = 1; i <= ACMECHAL_CACHE_MAX; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		put("tls-alpn-01", name, KEYAUTH, strlen(KEYAUTH));
		acmechal_cert_unref(acmechal_tls_alpn01(name));
		/* n1 stays the most recently used, so it is never the one evicted */
		acmechal_cert_unref(acmechal_tls_alpn01("n1.example"));
	}
	made = acmechal_certs_made();
	again = acmechal_tls_alpn01("n0.example");
	cr_assert_neq(again, first, "n0 was evicted: made again");
	cr_assert_eq(acmechal_certs_made(), made + 1);
	acmechal_cert_unref(acmechal_tls_alpn01("n1.example"));
	cr_assert_eq(acmechal_certs_made(), made + 1, "n1, recently used, was kept");
	expect_challenge_cert(first, "n0.example", KEYAUTH, time(NULL));
	acmechal_cert_unref(first);
	acmechal_cert_unref(again);
}

static pthread_barrier_t start_line;

static void *
lookup_a(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start_line);
	return acmechal_tls_alpn01("a.example");
}

Test(acmechal, concurrent_validations_share_one_certificate)
{
	pthread_t t[16];
	void *got[16];

	/*
	 * A CA validates from several vantage points at once: they all get the
	 * first certificate made. Twenty rounds, each a new key authorization
	 * (a cache miss), so that the race is met in some round.
	 */
	for (int round = 0; round < 20; round++) {
		char ka[128];

		snprintf(ka, sizeof(ka), "%s%d", KEYAUTH, round);
		put("tls-alpn-01", "a.example", ka, strlen(ka));
		cr_assert_eq(pthread_barrier_init(&start_line, NULL, 16), 0);
		for (int i = 0; i < 16; i++)
			cr_assert_eq(pthread_create(&t[i], NULL, lookup_a, NULL), 0);
		for (int i = 0; i < 16; i++)
			cr_assert_eq(pthread_join(t[i], &got[i]), 0);
		pthread_barrier_destroy(&start_line);
		for (int i = 0; i < 16; i++) {
			cr_assert_not_null(got[i]);
			cr_assert_eq(got[i], got[0], "round %d: lookup %d got another certificate", round, i);
		}
		for (int i = 0; i < 16; i++)
			acmechal_cert_unref(got[i]);
	}
}
