/* SPDX-License-Identifier: MIT */
/*
 * mkcerts: a test CA and one certificate per host, fast enough for 100,000 hosts
 * (openssl would spend minutes in process start-ups). For benchmarks only.
 *
 *   mkcerts -o DIR -n N [-r]      hosts mta-sts.d<i>.example, i in 0..N-1
 *
 * Writes DIR/ca.crt, and per host DIR/certs/HOST.crt (leaf + CA) and HOST.key.
 * ECDSA P-256 keys by default, RSA-2048 with -r. One leaf key is shared by all
 * hosts (key generation would dominate otherwise); every certificate is distinct.
 */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHECK(x) do { int _r = (x); if (_r < 0) { fprintf(stderr, "mkcerts: %s: %s\n", #x, gnutls_strerror(_r)); exit(1); } } while (0)

static void
write_datum(const char *path, const gnutls_datum_t *a, const gnutls_datum_t *b, mode_t mode)
{
	FILE *f = fopen(path, "w");
	if (f == NULL || fwrite(a->data, 1, a->size, f) != a->size ||
	    (b && fwrite(b->data, 1, b->size, f) != b->size) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	chmod(path, mode);
}

static gnutls_x509_privkey_t
newkey(int rsa)
{
	gnutls_x509_privkey_t k;
	CHECK(gnutls_x509_privkey_init(&k));
	if (rsa)
		CHECK(gnutls_x509_privkey_generate(k, GNUTLS_PK_RSA, 2048, 0));
	else
		CHECK(gnutls_x509_privkey_generate(k, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0));
	return k;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	long n = 1;
	int rsa = 0, o;
	char path[4096], name[256];
	time_t now = time(NULL);

	while ((o = getopt(argc, argv, "o:n:r")) != -1) {
		switch (o) {
		case 'o': dir = optarg; break;
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 'r': rsa = 1; break;
		default: fprintf(stderr, "usage: mkcerts -o DIR -n N [-r]\n"); return 2;
		}
	}
	if (dir == NULL || n <= 0) {
		fprintf(stderr, "usage: mkcerts -o DIR -n N [-r]\n");
		return 2;
	}
	gnutls_global_init();
	snprintf(path, sizeof(path), "%s/certs", dir);
	mkdir(dir, 0755);
	mkdir(path, 0755);

	gnutls_x509_privkey_t cakey = newkey(0), key = newkey(rsa);
	gnutls_x509_crt_t ca;
	gnutls_datum_t ca_pem, key_pem, crt_pem;
	unsigned char serial[8];

	CHECK(gnutls_x509_crt_init(&ca));
	CHECK(gnutls_x509_crt_set_version(ca, 3));
	CHECK(gnutls_x509_crt_set_dn(ca, "CN=mtastsd benchmark CA", NULL));
	CHECK(gnutls_x509_crt_set_key(ca, cakey));
	serial[0] = 1;
	CHECK(gnutls_x509_crt_set_serial(ca, serial, 1));
	CHECK(gnutls_x509_crt_set_activation_time(ca, now - 3600));
	CHECK(gnutls_x509_crt_set_expiration_time(ca, now + 30 * 86400));
	CHECK(gnutls_x509_crt_set_basic_constraints(ca, 1, -1));
	CHECK(gnutls_x509_crt_set_key_usage(ca, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN));
	CHECK(gnutls_x509_crt_sign2(ca, ca, cakey, GNUTLS_DIG_SHA256, 0));
	CHECK(gnutls_x509_crt_export2(ca, GNUTLS_X509_FMT_PEM, &ca_pem));
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	write_datum(path, &ca_pem, NULL, 0644);
	CHECK(gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &key_pem));

	for (long i = 0; i < n; i++) {
		gnutls_x509_crt_t crt;
		snprintf(name, sizeof(name), "mta-sts.d%ld.example", i);
		CHECK(gnutls_x509_crt_init(&crt));
		CHECK(gnutls_x509_crt_set_version(crt, 3));
		CHECK(gnutls_x509_crt_set_key(crt, key));
		for (int b = 0; b < 8; b++)
			serial[b] = (unsigned char)(((unsigned long)i + 2) >> (56 - 8 * b));
		serial[0] |= 0x01;	/* positive, non-zero leading byte */
		serial[0] &= 0x7f;
		CHECK(gnutls_x509_crt_set_serial(crt, serial, 8));
		CHECK(gnutls_x509_crt_set_activation_time(crt, now - 3600));
		CHECK(gnutls_x509_crt_set_expiration_time(crt, now + 20 * 86400));
		CHECK(gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, name, (unsigned)strlen(name), GNUTLS_FSAN_SET));
		CHECK(gnutls_x509_crt_set_basic_constraints(crt, 0, -1));
		CHECK(gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE | (rsa ? GNUTLS_KEY_KEY_ENCIPHERMENT : 0)));
		CHECK(gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0));
		CHECK(gnutls_x509_crt_sign2(crt, ca, cakey, GNUTLS_DIG_SHA256, 0));
		CHECK(gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &crt_pem));
		snprintf(path, sizeof(path), "%s/certs/%s.crt", dir, name);
		write_datum(path, &crt_pem, &ca_pem, 0644);
		snprintf(path, sizeof(path), "%s/certs/%s.key", dir, name);
		write_datum(path, &key_pem, NULL, 0600);
		gnutls_free(crt_pem.data);
		gnutls_x509_crt_deinit(crt);
	}
	gnutls_free(ca_pem.data);
	gnutls_free(key_pem.data);
	gnutls_x509_crt_deinit(ca);
	gnutls_x509_privkey_deinit(cakey);
	gnutls_x509_privkey_deinit(key);
	gnutls_global_deinit();
	return 0;
}
