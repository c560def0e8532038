/* SPDX-License-Identifier: MIT */
/* acmesched: ARI certificate identifiers against RFC 9773 and certtool/openssl, renewal times, backoff, the state line format, order pacing. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdint.h>
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

/* ---- renewal time ---- */

#define DAY 86400
/* 2026-12-01T00:00:00Z */
#define T0 ((int64_t)1796083200)

Test(renew, splitmix64_is_reproducible)
{
	uint64_t s = 0, s2 = 42, s3 = 42;
	double sum = 0;

	/* splitmix64's first output from seed 0 is 0xe220a8397b1dcdaf; its top 53 bits make the double */
	cr_assert_eq(acmesched_random(&s), (double)(0xe220a8397b1dcdafULL >> 11) / 9007199254740992.0);
	for (int i = 0; i < 10000; i++) {
		double a = acmesched_random(&s2), b = acmesched_random(&s3);
		cr_assert_eq(a, b, "same seed, same sequence");
		cr_assert(a >= 0.0 && a < 1.0, "%f", a);
		sum += a;
	}
	cr_assert(sum > 4800 && sum < 5200, "mean %f near 0.5", sum / 10000);
}

/* Certificates valid from T0 for LIFETIME seconds (RFC 5280's inclusive notAfter is T0 + LIFETIME - 1). */
static const struct {
	const char *what;
	int64_t lifetime, want;		/* renewal with R = 0, as an offset from T0 */
} fallback[] = {
	{ "90 days: a third left", 90 * DAY, 60 * DAY },
	{ "45 days: a third left", 45 * DAY, 30 * DAY },
	{ "exactly 10 days: still a third", 10 * DAY, 10 * DAY - 288000 },
	{ "a second under 10 days: half", 10 * DAY - 1, 10 * DAY - 1 - (10 * DAY - 1) / 2 },
	{ "6 days: half", 6 * DAY, 3 * DAY },
	{ "160 hours (Let's Encrypt's short-lived): half", 160 * 3600, 80 * 3600 },
	{ "one hour: half", 3600, 1800 },
};

Test(renew, fallback_boundaries)
{
	for (size_t i = 0; i < sizeof(fallback) / sizeof(fallback[0]); i++) {
		int64_t na = T0 + fallback[i].lifetime - 1, remain = fallback[i].lifetime - fallback[i].want;
		int64_t at = acmesched_renew_at(T0, na, NULL, 0.0, T0);
		cr_expect_eq(at, T0 + fallback[i].want, "%s: %lld, want %lld", fallback[i].what,
		    (long long)(at - T0), (long long)fallback[i].want);
		/* R moves it earlier, by less than a tenth of the time left */
		at = acmesched_renew_at(T0, na, NULL, 0.999999, T0);
		cr_expect_leq(at, T0 + fallback[i].want - remain / 10 + 1, "%s, R near 1", fallback[i].what);
		cr_expect_gt(at, T0 + fallback[i].want - remain / 10 - 1, "%s, R near 1", fallback[i].what);
		at = acmesched_renew_at(T0, na, NULL, 0.5, T0);
		cr_expect_eq(at, T0 + fallback[i].want - remain / 10 / 2, "%s, R = 0.5", fallback[i].what);
	}
}

Test(renew, fallback_spreads_names_issued_together)
{
	uint64_t seed = 7;
	int64_t lo = INT64_MAX, hi = INT64_MIN;

	for (int i = 0; i < 1000; i++) {
		int64_t at = acmesched_renew_at(T0, T0 + 90 * DAY - 1, NULL, acmesched_random(&seed), T0);
		lo = at < lo ? at : lo;
		hi = at > hi ? at : hi;
	}
	/* over most of the three days before day 60, never after it */
	cr_assert_leq(hi, T0 + 60 * DAY);
	cr_assert_gt(hi - lo, 2 * DAY, "spread %lld s", (long long)(hi - lo));
}

Test(renew, ari_window)
{
	int64_t na = T0 + 90 * DAY - 1;
	struct acmesched_window w = { T0 + 50 * DAY, T0 + 52 * DAY };

	cr_assert_eq(acmesched_renew_at(T0, na, &w, 0.0, T0), w.start);
	cr_assert_eq(acmesched_renew_at(T0, na, &w, 0.5, T0), T0 + 51 * DAY);
	cr_assert_lt(acmesched_renew_at(T0, na, &w, 0.9999999, T0), w.end);
	cr_assert_gt(acmesched_renew_at(T0, na, &w, 0.9999999, T0), w.end - 60);
	/* the window wins over the fallback, even when it is later than day 60 */
	w = (struct acmesched_window){ T0 + 70 * DAY, T0 + 71 * DAY };
	cr_assert_eq(acmesched_renew_at(T0, na, &w, 0.0, T0), T0 + 70 * DAY);
	/* but never after the certificate has expired */
	w = (struct acmesched_window){ T0 + 95 * DAY, T0 + 96 * DAY };
	cr_assert_eq(acmesched_renew_at(T0, na, &w, 0.0, T0), na);
}

Test(renew, ari_window_in_the_past_or_around_now)
{
	int64_t na = T0 + 90 * DAY - 1, now = T0 + 20 * DAY;
	/* a CA revoking early moves the window before now: renew now, whatever R says */
	struct acmesched_window past = { T0 + 1 * DAY, T0 + 2 * DAY }, ended = { T0, now };
	struct acmesched_window around = { now - DAY, now + DAY };

	cr_assert_eq(acmesched_renew_at(T0, na, &past, 0.0, now), now);
	cr_assert_eq(acmesched_renew_at(T0, na, &past, 0.9, now), now);
	cr_assert_eq(acmesched_renew_at(T0, na, &ended, 0.5, now), now);
	/* a pick before now is now; after it, itself */
	cr_assert_eq(acmesched_renew_at(T0, na, &around, 0.25, now), now);
	cr_assert_eq(acmesched_renew_at(T0, na, &around, 0.75, now), now + DAY / 2);
}

Test(renew, invalid_window_falls_back)
{
	int64_t na = T0 + 90 * DAY - 1, fb = acmesched_renew_at(T0, na, NULL, 0.0, T0);
	struct acmesched_window inverted = { T0 + 52 * DAY, T0 + 50 * DAY }, empty = { T0 + 50 * DAY, T0 + 50 * DAY };
	struct acmesched_window absurd = { T0, INT64_MAX };

	cr_assert_eq(fb, T0 + 60 * DAY);
	cr_assert_eq(acmesched_renew_at(T0, na, &inverted, 0.0, T0), fb);
	cr_assert_eq(acmesched_renew_at(T0, na, &empty, 0.0, T0), fb);
	cr_assert_eq(acmesched_renew_at(T0, na, &absurd, 0.0, T0), fb);
	/* an inverted window in the past is still no window: not "renew now" */
	inverted = (struct acmesched_window){ T0 - DAY, T0 - 2 * DAY };
	cr_assert_eq(acmesched_renew_at(T0, na, &inverted, 0.0, T0), fb);
}

Test(renew, late_broken_and_odd_inputs)
{
	int64_t na = T0 + 90 * DAY - 1;

	/* past the renewal point, or expired: now */
	cr_assert_eq(acmesched_renew_at(T0, na, NULL, 0.0, T0 + 61 * DAY), T0 + 61 * DAY);
	cr_assert_eq(acmesched_renew_at(T0, na, NULL, 0.0, T0 + 100 * DAY), T0 + 100 * DAY);
	/* notAfter not after notBefore, or no date at all: now */
	cr_assert_eq(acmesched_renew_at(T0, T0, NULL, 0.0, T0 + 5), T0 + 5);
	cr_assert_eq(acmesched_renew_at(T0, T0 - DAY, NULL, 0.0, T0 + 5), T0 + 5);
	cr_assert_eq(acmesched_renew_at(INT64_MIN, INT64_MAX, NULL, 0.0, T0), T0);
	/* R outside [0,1) counts as 0 */
	cr_assert_eq(acmesched_renew_at(T0, na, NULL, 1.0, T0), T0 + 60 * DAY);
	cr_assert_eq(acmesched_renew_at(T0, na, NULL, -0.5, T0), T0 + 60 * DAY);
	cr_assert_eq(acmesched_renew_at(T0, na, NULL, (double)NAN, T0), T0 + 60 * DAY);
}
