/* SPDX-License-Identifier: MIT */
/* acmesched: ARI certificate identifiers against RFC 9773 and certtool/openssl, renewal times, backoff, the state line format, order pacing, when renewalInfo is asked. */
#include <criterion/criterion.h>

#include "tmpfixture.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/gnutls.h>

#include "acmejws.h"
#include "acmesched.h"
#include "diag.h"
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

TMP_FIXTURE("/tmp/test_acmesched.XXXXXX")

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

/* ---- backoff ---- */

Test(backoff, steps_without_jitter)
{
	/* R = 0.5 scales by exactly 1.0 */
	static const int64_t want[] = { 60, 60, 600, 6000, DAY, DAY, DAY };
	const unsigned failures[] = { 0, 1, 2, 3, 4, 5, 1000 };

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect_eq(acmesched_retry_at(failures[i], NULL, 0.5, T0), T0 + want[i], "failure %u: %lld",
		    failures[i], (long long)(acmesched_retry_at(failures[i], NULL, 0.5, T0) - T0));
	cr_expect_eq(acmesched_retry_at(UINT_MAX, NULL, 0.5, T0), T0 + DAY);
}

Test(backoff, jitter_is_bounded_and_spread)
{
	static const int64_t base[] = { 60, 600, 6000, DAY };
	uint64_t seed = 99;

	for (unsigned n = 1; n <= 4; n++) {
		int64_t lo = INT64_MAX, hi = INT64_MIN, b = base[n - 1];
		cr_assert_eq(acmesched_retry_at(n, NULL, 0.0, T0), T0 + b * 9 / 10);
		for (int i = 0; i < 2000; i++) {
			int64_t d = acmesched_retry_at(n, NULL, acmesched_random(&seed), T0) - T0;
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		cr_expect_geq(lo, b * 9 / 10, "failure %u", n);
		cr_expect_leq(hi, b * 11 / 10, "failure %u", n);
		/* most of the ±10% is used */
		cr_expect_gt(hi - lo, b / 6, "failure %u: spread %lld", n, (long long)(hi - lo));
	}
	/* R outside [0,1) counts as 0 */
	cr_expect_eq(acmesched_retry_at(1, NULL, 7.0, T0), T0 + 54);
}

Test(backoff, retry_after_and_rate_limits)
{
	struct acmesched_failure ra_late = { .has_retry_after = true, .retry_after = T0 + 7200 };
	struct acmesched_failure ra_early = { .has_retry_after = true, .retry_after = T0 + 10 };
	struct acmesched_failure ra_past = { .has_retry_after = true, .retry_after = T0 - 3600 };
	struct acmesched_failure limited = { .rate_limited = true };
	struct acmesched_failure limited_ra = { .rate_limited = true, .has_retry_after = true,
		.retry_after = T0 + 120 };
	struct acmesched_failure limited_week = { .rate_limited = true, .has_retry_after = true,
		.retry_after = T0 + 7 * DAY };
	struct acmesched_failure absurd = { .has_retry_after = true, .retry_after = INT64_MAX };
	struct acmesched_failure plain = { 0 };

	/* never before the CA's Retry-After, but no earlier backoff is shortened by one */
	cr_expect_eq(acmesched_retry_at(1, &ra_late, 0.5, T0), T0 + 7200);
	cr_expect_eq(acmesched_retry_at(1, &ra_early, 0.5, T0), T0 + 60);
	cr_expect_eq(acmesched_retry_at(4, &ra_late, 0.5, T0), T0 + DAY);
	cr_expect_eq(acmesched_retry_at(2, &ra_past, 0.5, T0), T0 + 600);
	cr_expect_eq(acmesched_retry_at(2, &plain, 0.5, T0), T0 + 600);
	/* rateLimited: an hour without Retry-After, the Retry-After when there is one */
	cr_expect_eq(acmesched_retry_at(1, &limited, 0.5, T0), T0 + 3600);
	cr_expect_eq(acmesched_retry_at(2, &limited, 0.999, T0), T0 + 3600);
	cr_expect_eq(acmesched_retry_at(4, &limited, 0.5, T0), T0 + DAY);
	cr_expect_eq(acmesched_retry_at(1, &limited_ra, 0.5, T0), T0 + 120);
	cr_expect_eq(acmesched_retry_at(1, &limited_week, 0.5, T0), T0 + 7 * DAY);
	/* a Retry-After decades ahead is a slip: 30 days at most */
	cr_expect_eq(acmesched_retry_at(1, &absurd, 0.5, T0), T0 + ACMESCHED_RETRY_AFTER_MAX);
	cr_expect_eq(acmesched_retry_at(1, NULL, 0.5, INT64_MAX), INT64_MAX);
}

Test(backoff, state_records_failures_and_issuance)
{
	struct acmesched_state s = { .name = xstrdup("mta-sts.example.com") };
	char long_error[ACMESCHED_ERROR_MAX + 10];
	int64_t now = T0;
	static const int64_t want[] = { 60, 600, 6000, DAY, DAY };

	for (size_t i = 0; i < 5; i++) {
		acmesched_state_failed(&s, NULL, "connection refused", 0.5, now);
		cr_assert_eq(s.failures, i + 1);
		cr_assert_eq(s.next_attempt, now + want[i]);
		cr_assert_str_eq(s.last_error, "connection refused");
		now = s.next_attempt;
	}
	/* cut at a character boundary: "é" (2 bytes) straddles the limit */
	memset(long_error, 'a', sizeof(long_error) - 1);
	long_error[sizeof(long_error) - 1] = '\0';
	long_error[ACMESCHED_ERROR_MAX - 1] = (char)0xc3;
	long_error[ACMESCHED_ERROR_MAX] = (char)0xa9;
	acmesched_state_failed(&s, NULL, long_error, 0.5, now);
	cr_assert_eq(strlen(s.last_error), ACMESCHED_ERROR_MAX - 1);
	acmesched_state_failed(&s, NULL, "", 0.5, now);
	cr_assert_null(s.last_error);

	s.ari_check = T0 + 3600;
	s.gone_since = T0;
	acmesched_state_issued(&s, T0 + 90 * DAY - 1, T0 + 60 * DAY);
	/* a new certificate: its renewalInfo is asked at once, and it is configured (it was just ordered) */
	cr_assert_eq(s.ari_check, 0);
	cr_assert_eq(s.gone_since, 0);
	cr_assert_eq(s.failures, 0);
	cr_assert_eq(s.next_attempt, 0);
	cr_assert_null(s.last_error);
	cr_assert_eq(s.not_after, T0 + 90 * DAY - 1);
	cr_assert_eq(s.next_renewal, T0 + 60 * DAY);
	/* the count starts over */
	acmesched_state_failed(&s, NULL, "x", 0.5, now);
	cr_assert_eq(s.next_attempt, now + 60);
	acmesched_state_clear(&s);
	cr_assert_null(s.name);
}

/* ---- the state line ---- */

static char *
formatted(const struct acmesched_state *s)
{
	struct buf b = { 0 };

	acmesched_state_format(s, &b);
	return b.data;
}

Test(state, golden_line_and_header)
{
	struct acmesched_state s = { .name = (char *)(uintptr_t)"mta-sts.example.com", .failures = 2,
		.next_attempt = T0 + 60, .not_after = 0, .next_renewal = 0,
		.last_error = (char *)(uintptr_t)"tls-alpn-01: connection refused" };
	struct diag_list dl;
	char *line = formatted(&s);

	cr_assert_str_eq(line, "mta-sts.example.com\t2\t2026-12-01T00:01:00Z\t-\t-\t-\t-\ttls-alpn-01: connection refused\n");
	free(line);
	s = (struct acmesched_state){ .name = (char *)(uintptr_t)"mta-sts.example.org",
		.not_after = T0 + 90 * DAY - 1, .next_renewal = T0 + 60 * DAY, .ari_check = T0 + 6 * 3600,
		.gone_since = T0 + DAY };
	line = formatted(&s);
	cr_assert_str_eq(line, "mta-sts.example.org\t0\t-\t2027-02-28T23:59:59Z\t2027-01-30T00:00:00Z\t"
	    "2026-12-01T06:00:00Z\t2026-12-02T00:00:00Z\t-\n");
	free(line);

	diag_init(&dl, "acme.state");
	cr_assert_eq(acmesched_state_parse_header(ACMESCHED_STATE_HEADER, strlen(ACMESCHED_STATE_HEADER), 1, &dl), 2);
	/* the version before ARI and pruning is still read */
	cr_assert_eq(acmesched_state_parse_header("mtastsd-acme-state 1", 20, 1, &dl), 1);
	cr_assert_eq(dl.errors, 0);
	cr_assert_eq(acmesched_state_parse_header("mtastsd-acme-state 3", 20, 1, &dl), -1);
	cr_assert_eq(dl.errors, 1);
	cr_assert(strstr(dl.items[0].msg, "version 3") != NULL, "%s", dl.items[0].msg);
	cr_assert_eq(dl.items[0].col, 20);
	cr_assert_eq(acmesched_state_parse_header("mtastsd-state 3", 15, 1, &dl), -1);
	cr_assert(strstr(dl.items[1].msg, "not an ACME state file") != NULL, "%s", dl.items[1].msg);
	cr_assert_eq(acmesched_state_parse_header("mtastsd-acme-state 2 ", 21, 1, &dl), -1);
	cr_assert_eq(acmesched_state_parse_header("mtastsd-acme-state 11", 21, 1, &dl), -1);
	cr_assert_eq(acmesched_state_parse_header("", 0, 1, &dl), -1);
	cr_assert_eq(dl.errors, 5);
	diag_clear(&dl);
}

Test(state, round_trip_with_hostile_texts)
{
	static const char *const errors[] = {
		NULL, "-", "--", "\\", "\\x41", "tab\there", "two\nlines\r\n", "\x01\x1f\x7f",
		"caf\xc3\xa9 \xe2\x80\x94 \xff\xfe bytes", "urn:ietf:params:acme:error:rateLimited: too many",
		"trailing backslash \\", " spaces around ", "-leading dash",
	};
	static const int64_t times[] = { 0, 1, T0, T0 + 123457, ACMESCHED_TIME_MAX };
	static const char *const names[] = { "mta-sts.example.com", "a", "x-1.y--z.example", "0.0.0.0" };

	for (size_t e = 0; e < sizeof(errors) / sizeof(errors[0]); e++)
		for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
			struct acmesched_state s = { .name = (char *)(uintptr_t)names[(e + t) % 4],
				.failures = (unsigned)(e * 7 + t), .next_attempt = times[t],
				.not_after = times[(t + 1) % 5], .next_renewal = times[(t + 2) % 5],
				.ari_check = times[(t + 3) % 5], .gone_since = times[(t + 4) % 5],
				.last_error = (char *)(uintptr_t)errors[e] }, back;
			struct diag_list dl;
			char *line = formatted(&s);
			size_t len = strlen(line);

			/* one line of printable ASCII and seven TABs */
			cr_assert_eq(line[len - 1], '\n');
			for (size_t i = 0, tabs = 0; i < len - 1; i++) {
				cr_assert(line[i] == '\t' || (line[i] >= 0x20 && line[i] < 0x7f), "byte %zu of %s", i, line);
				tabs += line[i] == '\t';
				if (i == len - 2)
					cr_assert_eq(tabs, 7, "%s", line);
			}
			diag_init(&dl, "acme.state");
			cr_assert_eq(acmesched_state_parse(ACMESCHED_STATE_VERSION, line, len - 1, 3, &back, &dl), 0,
			    "%s: %s", line,
			    dl.n ? dl.items[0].msg : "");
			cr_assert_str_eq(back.name, s.name);
			cr_assert_eq(back.failures, s.failures);
			cr_assert_eq(back.next_attempt, s.next_attempt);
			cr_assert_eq(back.not_after, s.not_after);
			cr_assert_eq(back.next_renewal, s.next_renewal);
			cr_assert_eq(back.ari_check, s.ari_check);
			cr_assert_eq(back.gone_since, s.gone_since);
			if (s.last_error == NULL)
				cr_assert_null(back.last_error);
			else
				cr_assert_str_eq(back.last_error, s.last_error, "%s", line);
			acmesched_state_clear(&back);
			diag_clear(&dl);
			free(line);
		}
}

Test(state, format_clamps_what_a_line_cannot_hold)
{
	char big[ACMESCHED_ERROR_MAX * 2];
	struct acmesched_state s = { .name = (char *)(uintptr_t)"mta-sts.example.com", .failures = UINT_MAX,
		.next_attempt = -5, .not_after = INT64_MAX, .next_renewal = ACMESCHED_TIME_MAX + 1,
		.last_error = big }, back;
	struct diag_list dl;
	char *line;

	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	line = formatted(&s);
	diag_init(&dl, "acme.state");
	cr_assert_eq(acmesched_state_parse(ACMESCHED_STATE_VERSION, line, strlen(line) - 1, 1, &back, &dl), 0, "%s",
	    dl.n ? dl.items[0].msg : "");
	cr_assert_eq(back.failures, 999999999u);
	cr_assert_eq(back.next_attempt, 0);
	cr_assert_eq(back.not_after, ACMESCHED_TIME_MAX);
	cr_assert_eq(back.next_renewal, ACMESCHED_TIME_MAX);
	cr_assert_eq(strlen(back.last_error), ACMESCHED_ERROR_MAX);
	acmesched_state_clear(&back);
	diag_clear(&dl);
	free(line);
}

#define GOOD_TAIL "\t0\t-\t-\t-\t-"
/* Hostile or damaged lines: each is refused at its column with a message that names the problem. */
struct hostile_line {
	const char *line;
	size_t len;		/* 0: strlen */
	int col;
	const char *msg;
};

/* version 2 lines */
static const struct hostile_line hostile_v2[] = {
	{ "mta-sts.example.com" GOOD_TAIL, 0, 30, "6 fields, 8 expected (name, failures, next attempt, notAfter, "
	  "next renewal, ARI check, gone since, last error)" },
	{ "mta-sts.example.com" GOOD_TAIL "\t-\t-\t-", 0, 34, "more than 8 fields" },
	{ "mta-sts.example.com\t0\t-\t-\t-\tsoon\t-\t-", 0, 29, "ARI check: \"soon\" is not a UTC time" },
	{ "mta-sts.example.com\t0\t-\t-\t-\t-\t2026-12-01T00:00:00\t-", 0, 31, "gone since: " },
	{ "mta-sts.example.com\t0\t-\t-\t-\t-\t-\tlone \\", 0, 38, "ends in a lone backslash" },
};

/* version 1 lines */
static const struct hostile_line hostile[] = {
	{ "", 0, 1, "empty line" },
	{ "mta-sts.example.com", 0, 20, "1 field, 6 expected" },
	{ "mta-sts.example.com\t0\t-\t-\t-", 0, 28, "5 fields, 6 expected" },
	{ "mta-sts.example.com" GOOD_TAIL "\textra", 0, 30, "more than 6 fields" },
	{ "MTA-STS.example.com" GOOD_TAIL, 0, 1, "not a lower-case host name" },
	{ "../../etc/passwd" GOOD_TAIL, 0, 1, "not a lower-case host name" },
	{ "mta-sts\\x2fexample.com" GOOD_TAIL, 0, 1, "not a lower-case host name" },
	{ "\\x41.example" GOOD_TAIL, 0, 1, "not a lower-case host name" },
	{ "-bad.example" GOOD_TAIL, 0, 1, "not a lower-case host name" },
	{ GOOD_TAIL, 0, 1, "not a lower-case host name" },
	{ "mta-sts.example.com\t-1\t-\t-\t-\t-", 0, 21, "failures: \"-1\" is not a count" },
	{ "mta-sts.example.com\t01\t-\t-\t-\t-", 0, 21, "is not a count" },
	{ "mta-sts.example.com\t1e3\t-\t-\t-\t-", 0, 21, "is not a count" },
	{ "mta-sts.example.com\t9999999999\t-\t-\t-\t-", 0, 21, "is not a count" },
	{ "mta-sts.example.com\t\t-\t-\t-\t-", 0, 21, "is not a count" },
	{ "mta-sts.example.com\t0\t2026-13-01T00:00:00Z\t-\t-\t-", 0, 23, "next attempt: \"2026-13-01T00:00:00Z\" is not a UTC time" },
	{ "mta-sts.example.com\t0\t-\t2026-02-29T00:00:00Z\t-\t-", 0, 25, "notAfter: \"2026-02-29T00:00:00Z\"" },
	{ "mta-sts.example.com\t0\t-\t-\t1969-12-31T23:59:59Z\t-", 0, 27, "next renewal: " },
	{ "mta-sts.example.com\t0\t2026-12-01 00:00:00Z\t-\t-\t-", 0, 23, "is not a UTC time" },
	{ "mta-sts.example.com\t0\t2026-12-01T00:00:00+01:00\t-\t-\t-", 0, 23, "is not a UTC time" },
	{ "mta-sts.example.com\t0\t2026-12-01T24:00:00Z\t-\t-\t-", 0, 23, "is not a UTC time" },
	{ "mta-sts.example.com\t0\t1796083200\t-\t-\t-", 0, 23, "is not a UTC time" },
	{ "mta-sts.example.com\t0\t\t-\t-\t-", 0, 23, "is not a UTC time" },
	{ "mta-sts.example.com\t0\t-\t-\t-\tbell\x07", 0, 33, "byte 0x07 in a line" },
	{ "mta-sts.example.com\t0\t-\t-\t-\tcrlf\r", 0, 33, "byte 0x0d in a line" },
	{ "mta-sts.example.com\t0\t-\t-\t-\tcaf\xc3\xa9", 0, 32, "byte 0xc3 in a line" },
	{ "mta-sts.example.com\t0\t-\t-\t-\tnul\0after", 35, 32, "byte 0x00 in a line" },
	{ "mta-sts.example.com\t0\t-\t-\t-\tnewline\nnext", 0, 36, "byte 0x0a in a line" },
	{ "mta-sts.example.com\t0\t-\t-\t-\tbad \\q escape", 0, 33, "unknown escape \\q" },
	{ "mta-sts.example.com\t0\t-\t-\t-\tcut \\x4", 0, 33, "\\x needs two hexadecimal digits" },
	{ "mta-sts.example.com\t0\t-\t-\t-\tcut \\xg1", 0, 33, "\\x needs two hexadecimal digits" },
	{ "mta-sts.example.com\t0\t-\t-\t-\tnul \\x00 escaped", 0, 33, "\\x00 (a NUL byte)" },
	{ "mta-sts.example.com\t0\t-\t-\t-\tlone \\", 0, 34, "ends in a lone backslash" },
	{ "mta-st\\s.example.com" GOOD_TAIL, 0, 7, "name: unknown escape \\s" },
};

static void
refuse_each(int version, const struct hostile_line *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct acmesched_state out = { 0 };
		struct diag_list dl;
		size_t len = v[i].len ? v[i].len : strlen(v[i].line);

		diag_init(&dl, "acme.state");
		cr_expect_eq(acmesched_state_parse(version, v[i].line, len, 17, &out, &dl), -1, "v%d line %zu accepted",
		    version, i);
		cr_assert_null(out.name, "line %zu: nothing filled on failure", i);
		cr_assert_eq(dl.errors, 1, "line %zu: one error", i);
		cr_expect_eq(dl.items[0].line, 17, "line %zu", i);
		cr_expect_eq(dl.items[0].col, v[i].col, "v%d line %zu: column %d, want %d (%s)", version, i,
		    dl.items[0].col, v[i].col, dl.items[0].msg);
		cr_expect(strstr(dl.items[0].msg, v[i].msg) != NULL, "v%d line %zu: '%s' lacks '%s'", version, i,
		    dl.items[0].msg, v[i].msg);
		diag_clear(&dl);
	}
}

Test(state, hostile_lines_are_refused_with_their_position)
{
	refuse_each(1, hostile, sizeof(hostile) / sizeof(hostile[0]));
	refuse_each(2, hostile_v2, sizeof(hostile_v2) / sizeof(hostile_v2[0]));
}

Test(state, too_long_error_is_refused)
{
	struct buf b = { 0 };
	struct acmesched_state out = { 0 };
	struct diag_list dl;

	buf_puts(&b, "mta-sts.example.com\t0\t-\t-\t-\t");
	for (int i = 0; i <= ACMESCHED_ERROR_MAX; i++)
		buf_puts(&b, i % 2 ? "\\t" : "e");
	diag_init(&dl, "acme.state");
	cr_assert_eq(acmesched_state_parse(1, b.data, b.len, 2, &out, &dl), -1);
	cr_assert(strstr(dl.items[0].msg, "longer than 512 bytes") != NULL, "%s", dl.items[0].msg);
	cr_assert_eq(dl.items[0].col, 29);
	diag_clear(&dl);
	buf_clear(&b);
}

/* ---- order pacing ---- */

Test(bucket, burst_then_one_per_period)
{
	struct acmesched_bucket b;
	int64_t when = 0;

	acmesched_bucket_init(&b, ACMESCHED_ORDER_BURST, ACMESCHED_ORDER_PERIOD, T0);
	for (int i = 0; i < ACMESCHED_ORDER_BURST; i++)
		cr_assert(acmesched_bucket_take(&b, T0, &when), "order %d of the burst", i);
	cr_assert_not(acmesched_bucket_take(&b, T0, &when));
	cr_assert_eq(when, T0 + 45);
	cr_assert_not(acmesched_bucket_take(&b, T0 + 44, &when));
	cr_assert_eq(when, T0 + 45);
	cr_assert(acmesched_bucket_take(&b, T0 + 45, &when));
	cr_assert_not(acmesched_bucket_take(&b, T0 + 45, &when));
	cr_assert_eq(when, T0 + 90);
	/* a late caller keeps the part of the period already run: at 100, the next is due at 135 */
	cr_assert(acmesched_bucket_take(&b, T0 + 100, NULL));
	cr_assert_not(acmesched_bucket_take(&b, T0 + 100, &when));
	cr_assert_eq(when, T0 + 135);
}

Test(bucket, idle_refills_to_capacity_only)
{
	struct acmesched_bucket b;
	int n = 0;

	acmesched_bucket_init(&b, 20, 45, T0);
	while (acmesched_bucket_take(&b, T0, NULL))
		n++;
	cr_assert_eq(n, 20);
	/* a week idle: 20 again, not 13,440 */
	for (n = 0; acmesched_bucket_take(&b, T0 + 7 * DAY, NULL); n++)
		;
	cr_assert_eq(n, 20);
	/* 10 periods and a bit: 10 */
	for (n = 0; acmesched_bucket_take(&b, T0 + 7 * DAY + 10 * 45 + 30, NULL); n++)
		;
	cr_assert_eq(n, 10);
}

Test(bucket, clock_stepping_back_and_odd_sizes)
{
	struct acmesched_bucket b;
	int64_t when = 0;

	acmesched_bucket_init(&b, 1, 45, T0);
	cr_assert(acmesched_bucket_take(&b, T0, NULL));
	/* an hour back: nothing refilled, and the next token still comes at T0 + 45 */
	cr_assert_not(acmesched_bucket_take(&b, T0 - 3600, &when));
	cr_assert_eq(when, T0 + 45);
	cr_assert(acmesched_bucket_take(&b, T0 + 45, NULL));

	acmesched_bucket_init(&b, 0, 0, T0);
	cr_assert_eq(b.capacity, 1);
	cr_assert_eq(b.period, 1);
	cr_assert(acmesched_bucket_take(&b, T0, NULL));
	cr_assert_not(acmesched_bucket_take(&b, T0, &when));
	cr_assert_eq(when, T0 + 1);
	/* no overflow on far times */
	acmesched_bucket_init(&b, 3, INT64_MAX, INT64_MIN);
	cr_assert(acmesched_bucket_take(&b, INT64_MAX, NULL));
	acmesched_bucket_init(&b, 3, 45, INT64_MIN);
	cr_assert(acmesched_bucket_take(&b, INT64_MAX, NULL));
}

/*
 * 10,000 names wanting a certificate at once (a first start with a large
 * tenant list): the bucket spreads the orders over days, each of them
 * accepted by a model of Let's Encrypt's own limit (300 new orders per 3
 * hours, a bucket refilled one per 36 s), and no 3-hour window holds more
 * than 260.
 */
Test(bucket, ten_thousand_names_are_spread_under_the_ca_limit)
{
	enum { NAMES = 10000 };
	struct acmesched_bucket ours, ca;
	int64_t *at = xcalloc(NAMES, sizeof(*at)), now = T0, when;
	size_t done = 0, lo = 0, most = 0, first_hour = 0;

	acmesched_bucket_init(&ours, ACMESCHED_ORDER_BURST, ACMESCHED_ORDER_PERIOD, T0);
	acmesched_bucket_init(&ca, 300, 3 * 3600 / 300, T0);
	while (done < NAMES) {
		if (acmesched_bucket_take(&ours, now, &when)) {
			cr_assert(acmesched_bucket_take(&ca, now, NULL), "order %zu at +%lld s refused by the CA",
			    done, (long long)(now - T0));
			at[done++] = now;
		} else {
			cr_assert_gt(when, now);
			now = when;
		}
	}
	for (size_t i = 0; i < NAMES; i++) {
		while (at[i] - at[lo] >= 3 * 3600)
			lo++;
		most = i - lo + 1 > most ? i - lo + 1 : most;
		first_hour += at[i] < T0 + 3600;
	}
	cr_assert_eq(at[ACMESCHED_ORDER_BURST - 1], T0);
	cr_assert_eq(at[ACMESCHED_ORDER_BURST], T0 + 45);
	cr_assert_eq(first_hour, 20 + 79, "orders in the first hour: %zu", first_hour);
	cr_assert_leq(most, 260, "at most %zu orders in a 3-hour window", most);
	cr_assert_lt(most, 300);
	/* the last one after (10,000 - 20) * 45 s: 5.2 days */
	cr_assert_eq(at[NAMES - 1] - T0, (int64_t)(NAMES - ACMESCHED_ORDER_BURST) * 45);
	free(at);
}

/* Without pacing the same start would have been refused by the CA after 300 orders: the model is not toothless. */
Test(bucket, the_ca_model_refuses_a_burst)
{
	struct acmesched_bucket ca;
	int n = 0;

	acmesched_bucket_init(&ca, 300, 36, T0);
	while (acmesched_bucket_take(&ca, T0, NULL))
		n++;
	cr_assert_eq(n, 300);
}

/* ---- the version 1 state, still read ---- */

Test(state, version_1_line_reads_with_no_ari_and_configured)
{
	static const char v1[] = "mta-sts.example.org\t0\t-\t2027-02-28T23:59:59Z\t2027-01-30T00:00:00Z\tcut off";
	struct acmesched_state back = { 0 };
	struct diag_list dl;
	char *line;

	diag_init(&dl, "acme.state");
	cr_assert_eq(acmesched_state_parse(1, v1, strlen(v1), 2, &back, &dl), 0, "%s", dl.n ? dl.items[0].msg : "");
	cr_assert_eq(back.not_after, T0 + 90 * DAY - 1);
	cr_assert_eq(back.next_renewal, T0 + 60 * DAY);
	cr_assert_eq(back.ari_check, 0);
	cr_assert_eq(back.gone_since, 0);
	cr_assert_str_eq(back.last_error, "cut off");
	/* written back in the current version, the two new times as none */
	line = formatted(&back);
	cr_assert_str_eq(line, "mta-sts.example.org\t0\t-\t2027-02-28T23:59:59Z\t2027-01-30T00:00:00Z\t-\t-\tcut off\n");
	free(line);
	acmesched_state_clear(&back);
	/* a version 1 line in a version 2 file, and the other way round, are refused */
	cr_assert_eq(acmesched_state_parse(2, v1, strlen(v1), 2, &back, &dl), -1);
	cr_assert_eq(acmesched_state_parse(1, "a\t0\t-\t-\t-\t-\t-\t-", 15, 3, &back, &dl), -1);
	cr_assert_eq(dl.errors, 2);
	cr_assert(strstr(dl.items[1].msg, "more than 6 fields") != NULL, "%s", dl.items[1].msg);
	diag_clear(&dl);
}

/* ---- ARI: a random point of the window, and when to ask again ---- */

Test(ari_schedule, every_pick_lies_inside_the_window)
{
	int64_t na = T0 + 90 * DAY - 1;
	struct acmesched_window w = { T0 + 58 * DAY, T0 + 60 * DAY };
	uint64_t rnd = 42;
	int64_t lo = INT64_MAX, hi = 0;

	for (int i = 0; i < 10000; i++) {
		int64_t at = acmesched_renew_at(T0, na, &w, acmesched_random(&rnd), T0 + DAY);

		cr_assert(at >= w.start && at < w.end, "pick %d: %lld outside the window", i, (long long)at);
		lo = at < lo ? at : lo;
		hi = at > hi ? at : hi;
	}
	/* spread over the window, not stuck at one end: 10,000 picks come within an hour of either end */
	cr_assert_lt(lo, w.start + 3600);
	cr_assert_gt(hi, w.end - 3600);
}

Test(ari_schedule, retry_after_clamped)
{
	int64_t now = T0;

	/* no Retry-After: six hours after an answer, one hour after a failure */
	cr_assert_eq(acmesched_ari_next_check(false, false, 0, now), now + 6 * 3600);
	cr_assert_eq(acmesched_ari_next_check(true, false, 0, now), now + 3600);
	/* the CA's own value, within a minute and a day */
	cr_assert_eq(acmesched_ari_next_check(false, true, now + 21600, now), now + 21600);
	cr_assert_eq(acmesched_ari_next_check(true, true, now + 600, now), now + 600);
	cr_assert_eq(acmesched_ari_next_check(false, true, now + 60, now), now + 60);
	cr_assert_eq(acmesched_ari_next_check(false, true, now + 86400, now), now + 86400);
	cr_assert_eq(acmesched_ari_next_check(false, true, now, now), now + 60);
	cr_assert_eq(acmesched_ari_next_check(false, true, now - 3600, now), now + 60);
	cr_assert_eq(acmesched_ari_next_check(false, true, now + 1, now), now + 60);
	cr_assert_eq(acmesched_ari_next_check(false, true, now + 86401, now), now + 86400);
	cr_assert_eq(acmesched_ari_next_check(false, true, now + 365 * DAY, now), now + 86400);
	cr_assert_eq(acmesched_ari_next_check(false, true, INT64_MAX, now), now + 86400);
	/* a clock that is not a date is left alone */
	cr_assert_eq(acmesched_ari_next_check(false, false, 0, INT64_MAX), INT64_MAX);
}

Test(ari_schedule, earlier_of_two_times)
{
	cr_assert_eq(acmesched_earlier(0, 0), 0);
	cr_assert_eq(acmesched_earlier(0, T0), T0);
	cr_assert_eq(acmesched_earlier(T0, 0), T0);
	cr_assert_eq(acmesched_earlier(T0, T0 + 1), T0);
	cr_assert_eq(acmesched_earlier(T0 + 1, T0), T0);
	cr_assert_eq(acmesched_earlier(-5, T0), T0);
	cr_assert_eq(acmesched_earlier(T0, -5), T0);
}

Test(ari_schedule, which_queries_are_due)
{
	int64_t now = T0, later = -1;
	/* due, later in 10 min, failing, expired, renewal due, later in 2 h, due (ari_check 0), unmanaged */
	struct acmesched_state st[] = {
		{ .name = "a", .not_after = now + 60 * DAY, .next_renewal = now + 40 * DAY, .ari_check = now },
		{ .name = "b", .not_after = now + 60 * DAY, .next_renewal = now + 40 * DAY, .ari_check = now + 600 },
		{ .name = "c", .failures = 1, .not_after = now + 60 * DAY, .next_renewal = now + 40 * DAY },
		{ .name = "d", .not_after = now, .next_renewal = now - DAY },
		{ .name = "e", .not_after = now + DAY, .next_renewal = now, .ari_check = now + 60 },
		{ .name = "f", .not_after = now + 60 * DAY, .next_renewal = now + 40 * DAY, .ari_check = now + 7200 },
		{ .name = "g", .not_after = now + 60 * DAY, .next_renewal = now + 40 * DAY },
		{ .name = "h", .not_after = now + 60 * DAY, .next_renewal = now + 40 * DAY, .ari_check = now + 30 },
	};
	bool managed[] = { true, true, true, true, true, true, true, false };
	size_t due[8];

	cr_assert_eq(acmesched_ari_due(st, 8, managed, now, due, &later), 2);
	cr_assert_eq(due[0], 0);
	cr_assert_eq(due[1], 6);
	/* neither the unmanaged h (30 s) nor the renewal-due e (60 s) wakes the pass */
	cr_assert_eq(later, now + 600);
	cr_assert_eq(acmesched_ari_due(st, 0, managed, now, due, &later), 0);
	cr_assert_eq(later, 0);
}

Test(ari_schedule, wake_after_a_pass)
{
	int64_t now = T0;

	cr_assert_eq(acmesched_ari_wake(ACMESCHED_ARI_DONE, now + 600, now), now + 600);
	cr_assert_eq(acmesched_ari_wake(ACMESCHED_ARI_DONE, 0, now), 0);
	cr_assert_eq(acmesched_ari_wake(ACMESCHED_ARI_MORE, now + 600, now), now);
	cr_assert_eq(acmesched_ari_wake(ACMESCHED_ARI_UNSUPPORTED, now + 600, now), 0);
	/* a failed directory read retries in an hour, but never after a query already due sooner */
	cr_assert_eq(acmesched_ari_wake(ACMESCHED_ARI_NO_DIRECTORY, now + 600, now), now + 600);
	cr_assert_eq(acmesched_ari_wake(ACMESCHED_ARI_NO_DIRECTORY, now + 7200, now), now + ACMESCHED_ARI_FAILED);
	cr_assert_eq(acmesched_ari_wake(ACMESCHED_ARI_NO_DIRECTORY, 0, now), now + ACMESCHED_ARI_FAILED);
}

/* ---- names that left the configuration ---- */

Test(prune, configured_gone_back_and_removed)
{
	struct acmesched_state st[] = {
		{ .name = (char *)(uintptr_t)"mta-sts.kept.example" },
		{ .name = (char *)(uintptr_t)"mta-sts.left.example" },
		{ .name = (char *)(uintptr_t)"mta-sts.back.example", .gone_since = T0 - 10 * DAY },
		{ .name = (char *)(uintptr_t)"mta-sts.waiting.example", .gone_since = T0 - 30 * DAY + 1 },
		{ .name = (char *)(uintptr_t)"mta-sts.expired.example", .gone_since = T0 - 30 * DAY },
		{ .name = (char *)(uintptr_t)"mta-sts.long-gone.example", .gone_since = T0 - 400 * DAY },
		{ .name = (char *)(uintptr_t)"mta-sts.future.example", .gone_since = T0 + DAY },
		{ .name = (char *)(uintptr_t)"mta-sts.retiring.example", .gone_since = T0 - 40 * DAY },
	};
	/* retiring domains' hosts count as configured; duplicates and order do not matter */
	static const char *const conf[] = { "mta-sts.retiring.example", "mta-sts.back.example", "mta-sts.kept.example",
		"mta-sts.kept.example" };
	static const enum acmesched_prune_action want[] = { ACMESCHED_PRUNE_KEEP, ACMESCHED_PRUNE_GONE,
		ACMESCHED_PRUNE_BACK, ACMESCHED_PRUNE_KEEP, ACMESCHED_PRUNE_REMOVE, ACMESCHED_PRUNE_REMOVE,
		ACMESCHED_PRUNE_KEEP, ACMESCHED_PRUNE_BACK };
	enum acmesched_prune_action got[8];
	size_t n = sizeof(st) / sizeof(st[0]);

	acmesched_prune(st, n, conf, 4, ACMESCHED_PRUNE_GRACE, T0, got);
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(got[i], want[i], "%s: %d, want %d", st[i].name, got[i], want[i]);
	/* the grace is 30 days */
	cr_assert_eq(ACMESCHED_PRUNE_GRACE, 30 * DAY);
	/* nothing configured (a configuration without domains): every name starts its grace, none is removed at once */
	st[1].gone_since = 0;
	acmesched_prune(st, 2, NULL, 0, ACMESCHED_PRUNE_GRACE, T0, got);
	cr_assert_eq(got[0], ACMESCHED_PRUNE_GONE);
	cr_assert_eq(got[1], ACMESCHED_PRUNE_GONE);
	/* a zero (or negative) grace removes at the next pass after the one that noticed */
	acmesched_prune(&st[2], 1, NULL, 0, -5, T0 - 10 * DAY, got);
	cr_assert_eq(got[0], ACMESCHED_PRUNE_REMOVE);
	/* STATES is only read */
	cr_assert_eq(st[1].gone_since, 0);
}

Test(prune, a_day_by_day_run)
{
	/* a name removed on day 0, re-added on day 10, removed on day 20: gone for good on day 50, not 30 */
	struct acmesched_state s = { .name = (char *)(uintptr_t)"mta-sts.x.example" };
	const char *const conf[] = { "mta-sts.x.example" };
	enum acmesched_prune_action a;
	int removed_on = -1;

	for (int day = 0; day <= 60 && removed_on < 0; day++) {
		int64_t now = T0 + day * DAY;
		bool configured = day >= 10 && day < 20;

		acmesched_prune(&s, 1, conf, configured ? 1 : 0, ACMESCHED_PRUNE_GRACE, now, &a);
		if (a == ACMESCHED_PRUNE_GONE)
			s.gone_since = now;
		else if (a == ACMESCHED_PRUNE_BACK)
			s.gone_since = 0;
		else if (a == ACMESCHED_PRUNE_REMOVE)
			removed_on = day;
		if (day == 10)
			cr_assert_eq(a, ACMESCHED_PRUNE_BACK);
	}
	cr_assert_eq(removed_on, 50);
}
