/* SPDX-License-Identifier: MIT */
/* acmesched: ARI certificate identifiers against RFC 9773 and certtool/openssl, renewal times, backoff, the state line format, order pacing. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "acmejws.h"
#include "acmesched.h"
#include "gencert.h"
#include "util.h"

/* RFC 9773 appendix A: the example end-entity certificate and its identifier (section 4.1) */
static const char rfc9773_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBQzCB66ADAgECAgUAh2VDITAKBggqhkjOPQQDAjAVMRMwEQYDVQQDEwpFeGFt\n"
    "cGxlIENBMCIYDzAwMDEwMTAxMDAwMDAwWhgPMDAwMTAxMDEwMDAwMDBaMBYxFDAS\n"
    "BgNVBAMTC2V4YW1wbGUuY29tMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeBZu\n"
    "7cbpAYNXZLbbh8rNIzuOoqOOtmxA1v7cRm//AwyMwWxyHz4zfwmBhcSrf47NUAFf\n"
    "qzLQ2PPQxdTXREYEnKMjMCEwHwYDVR0jBBgwFoAUaYhba4dGQEHhs3uEe6CuLN4B\n"
    "yNQwCgYIKoZIzj0EAwIDRwAwRAIge09+S5TZAlw5tgtiVvuERV6cT4mfutXIlwTb\n"
    "+FYN/8oCIClDsqBklhB9KAelFiYt9+6FDj3z4KGVelYM5MdsO3pK\n"
    "-----END CERTIFICATE-----\n";
#define RFC9773_ID "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"

static char tmpdir[] = "/tmp/test_acmesched.XXXXXX";

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	cr_expect_eq(system(cmd), 0);
	free(cmd);
}

/* The standard output of the shell command CMD (which must exit 0), owned by the caller. */
static char *
run(const char *cmd)
{
	struct buf b = { 0 };
	char chunk[4096];
	size_t n;
	FILE *f = popen(cmd, "r");

	cr_assert_not_null(f, "popen %s", cmd);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	cr_assert_eq(pclose(f), 0, "'%s' exits 0", cmd);
	buf_puts(&b, "");
	return b.data;
}

/* The hexadecimal digits of S (colons and white space skipped) as bytes in OUT; the count. */
static size_t
unhex(const char *s, unsigned char *out, size_t max)
{
	size_t n = 0;
	int half = -1;

	for (; *s != '\0'; s++) {
		int v;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			continue;
		if (half < 0) {
			half = v;
			continue;
		}
		cr_assert_lt(n, max);
		out[n++] = (unsigned char)(half << 4 | v);
		half = -1;
	}
	cr_assert_eq(half, -1, "even number of digits in '%s'", s);
	return n;
}

/* The rest of the line after the first LABEL in TEXT (NULL when absent), copied. */
static char *
line_after(const char *text, const char *label)
{
	const char *p = strstr(text, label), *e;

	if (p == NULL)
		return NULL;
	p += strlen(label);
	e = strchr(p, '\n');
	return xstrndup(p, e != NULL ? (size_t)(e - p) : strlen(p));
}

/* ---- ARI certificate identifier ---- */

Test(ari, rfc9773_example_bytes)
{
	static const unsigned char aki[] = { 0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
		0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4 };
	static const unsigned char serial[] = { 0x00, 0x87, 0x65, 0x43, 0x21 };
	char *id = acmesched_ari_id_raw(aki, sizeof(aki), serial, sizeof(serial));

	cr_assert_str_eq(id, RFC9773_ID);
	free(id);
	/* the sign byte is part of the identifier: without it the CA would not know the certificate */
	id = acmesched_ari_id_raw(aki, sizeof(aki), serial + 1, sizeof(serial) - 1);
	cr_assert_str_eq(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.h2VDIQ");
	free(id);
	cr_assert_null(acmesched_ari_id_raw(aki, 0, serial, sizeof(serial)));
	cr_assert_null(acmesched_ari_id_raw(aki, sizeof(aki), serial, 0));
}

Test(ari, rfc9773_example_certificate_pem_and_der)
{
	gnutls_datum_t pem = { (unsigned char *)(uintptr_t)rfc9773_pem, sizeof(rfc9773_pem) - 1 }, der;
	char err[256] = "", *id;

	id = acmesched_ari_id(rfc9773_pem, strlen(rfc9773_pem), err, sizeof(err));
	cr_assert_not_null(id, "%s", err);
	cr_assert_str_eq(id, RFC9773_ID);
	free(id);

	cr_assert_eq(gnutls_pem_base64_decode2("CERTIFICATE", &pem, &der), 0);
	id = acmesched_ari_id(der.data, der.size, err, sizeof(err));
	cr_assert_not_null(id, "%s", err);
	cr_assert_str_eq(id, RFC9773_ID);
	free(id);
	gnutls_free(der.data);
}

/*
 * A CA and a leaf made by certtool (which writes the AKI from the CA's key),
 * the identifier checked against the serial as certtool prints it (its DER
 * content bytes) and the AKI as openssl prints it; openssl's serial (the
 * magnitude) must agree once a sign byte is put back where the top bit is set.
 */
static void
check_certtool_leaf(const char *serial_line)
{
	char *cmd, *out, *path, *cert, *id, *hex, *want;
	char err[256] = "";
	unsigned char aki[64], serial[64], mag[64];
	size_t aki_len, serial_len, mag_len, len;
	struct buf b = { 0 };

	cmd = xasprintf("cd '%s' && "
	    "certtool --generate-privkey --key-type ecdsa --outfile ca.key 2>/dev/null && "
	    "printf 'cn = Test CA\\nca\\ncert_signing_key\\nexpiration_days = 30\\n' > ca.tmpl && "
	    "certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.crt 2>/dev/null && "
	    "certtool --generate-privkey --key-type ecdsa --outfile leaf.key 2>/dev/null && "
	    "printf 'cn = mta-sts.example.com\\ndns_name = mta-sts.example.com\\n%s\\nexpiration_days = 90\\n' > leaf.tmpl && "
	    "certtool --generate-certificate --load-privkey leaf.key --load-ca-certificate ca.crt "
	    "--load-ca-privkey ca.key --template leaf.tmpl --outfile leaf.crt 2>/dev/null && echo ok",
	    tmpdir, serial_line);
	out = run(cmd);
	cr_assert_str_eq(out, "ok\n");
	free(out);
	free(cmd);

	path = xasprintf("%s/leaf.crt", tmpdir);
	cr_assert_eq(read_file(path, &cert, &len), 0);
	id = acmesched_ari_id(cert, len, err, sizeof(err));
	cr_assert_not_null(id, "%s", err);

	cmd = xasprintf("certtool -i --infile '%s'", path);
	out = run(cmd);
	hex = line_after(out, "Serial Number (hex):");
	cr_assert_not_null(hex, "certtool prints the serial: %s", out);
	serial_len = unhex(hex, serial, sizeof(serial));
	free(hex);
	free(out);
	free(cmd);

	cmd = xasprintf("openssl x509 -in '%s' -noout -serial -ext authorityKeyIdentifier", path);
	out = run(cmd);
	hex = line_after(out, "X509v3 Authority Key Identifier: \n");
	cr_assert_not_null(hex, "openssl prints the AKI: %s", out);
	aki_len = unhex(strncmp(hex, "    keyid:", 10) == 0 ? hex + 10 : hex, aki, sizeof(aki));
	cr_assert_geq(aki_len, 20);
	free(hex);
	hex = line_after(out, "serial=");
	cr_assert_not_null(hex);
	mag_len = unhex(hex, mag, sizeof(mag));
	free(hex);
	free(out);
	free(cmd);
	if (mag[0] & 0x80) {
		cr_assert_eq(serial_len, mag_len + 1, "a sign byte in front of %zu bytes", mag_len);
		cr_assert_eq(serial[0], 0);
		cr_assert_eq(memcmp(serial + 1, mag, mag_len), 0);
	} else {
		cr_assert_eq(serial_len, mag_len);
		cr_assert_eq(memcmp(serial, mag, mag_len), 0);
	}

	acmejws_b64url(&b, aki, aki_len);
	buf_puts(&b, ".");
	acmejws_b64url(&b, serial, serial_len);
	want = b.data;
	cr_assert_str_eq(id, want, "serial line '%s'", serial_line);

	free(want);
	free(id);
	free(cert);
	free(path);
}

Test(ari, certtool_leaf_with_sign_byte, .init = setup, .fini = teardown)
{
	/* 0xc0ffee has its top bit set: DER writes 00 c0 ff ee */
	check_certtool_leaf("serial = 12648430");
}

Test(ari, certtool_leaf_without_sign_byte, .init = setup, .fini = teardown)
{
	check_certtool_leaf("serial = 0x0102");
}

Test(ari, certtool_leaf_random_serial, .init = setup, .fini = teardown)
{
	check_certtool_leaf("");
}

Test(ari, refusals)
{
	static const char *const names[] = { "mta-sts.example.com" };
	struct gencert g = { .key = GENCERT_P256, .dns = names, .n_dns = 1, .version = 3,
		.not_after = 2000000000 };
	gnutls_datum_t cert, key, pkcs8;
	char err[256] = "";

	/* gencert's self-signed certificates carry no Authority Key Identifier */
	cr_assert_eq(gencert_make(&g, &cert, &key, &pkcs8), 0);
	cr_assert_null(acmesched_ari_id(cert.data, cert.size, err, sizeof(err)));
	cr_assert(strstr(err, "Authority Key Identifier") != NULL, "%s", err);
	gnutls_free(cert.data);
	gnutls_free(key.data);
	gnutls_free(pkcs8.data);

	cr_assert_null(acmesched_ari_id("\x30\x03\x02\x01\x01", 5, err, sizeof(err)));
	cr_assert(strstr(err, "not a DER certificate") != NULL, "%s", err);
	cr_assert_null(acmesched_ari_id("hello", 5, err, sizeof(err)));
	cr_assert(strstr(err, "not a PEM certificate") != NULL, "%s", err);
	cr_assert_null(acmesched_ari_id("", 0, err, sizeof(err)));
}
