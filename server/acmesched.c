/* SPDX-License-Identifier: MIT */
/* acmesched: when to renew, retry and order ACME certificates, as pure functions of the time and random values passed in. */
#include "acmesched.h"
#include "acmejws.h"
#include "util.h"

#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

char *
acmesched_ari_id_raw(const void *aki, size_t aki_len, const void *serial, size_t serial_len)
{
	struct buf b = { 0 };

	if (aki == NULL || aki_len == 0 || serial == NULL || serial_len == 0)
		return NULL;
	acmejws_b64url(&b, aki, aki_len);
	buf_puts(&b, ".");
	acmejws_b64url(&b, serial, serial_len);
	return b.data;
}

char *
acmesched_ari_id(const void *cert, size_t len, char *err, size_t errlen)
{
	gnutls_x509_crt_t crt;
	gnutls_datum_t d;
	/* keyIdentifiers are SHA-1 or truncated SHA-256 in practice; serials at most 20 octets plus a sign byte */
	unsigned char aki[64], serial[64];
	size_t aki_len = sizeof(aki), serial_len = sizeof(serial);
	unsigned critical;
	int pem, rc;
	char *id;

	if (len > UINT32_MAX) {
		snprintf(err, errlen, "certificate too large");
		return NULL;
	}
	if (gnutls_x509_crt_init(&crt) < 0) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* a DER certificate starts with a SEQUENCE tag; anything else is taken as PEM text */
	pem = len == 0 || *(const unsigned char *)cert != 0x30;
	d.data = (unsigned char *)(uintptr_t)cert;	/* GnuTLS only reads it */
	d.size = (unsigned)len;
	rc = gnutls_x509_crt_import(crt, &d, pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER);
	if (rc < 0) {
		snprintf(err, errlen, "not a %s certificate: %s", pem ? "PEM" : "DER", gnutls_strerror(rc));
		gnutls_x509_crt_deinit(crt);
		return NULL;
	}
	rc = gnutls_x509_crt_get_authority_key_id(crt, aki, &aki_len, &critical);
	if (rc < 0) {
		snprintf(err, errlen, "no Authority Key Identifier with a keyIdentifier: %s",
		    rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE ? "extension missing" : gnutls_strerror(rc));
		gnutls_x509_crt_deinit(crt);
		return NULL;
	}
	/* GnuTLS gives the INTEGER's content bytes as encoded, a leading 00 included (RFC 9773 wants those) */
	rc = gnutls_x509_crt_get_serial(crt, serial, &serial_len);
	gnutls_x509_crt_deinit(crt);
	if (rc < 0) {
		snprintf(err, errlen, "unreadable serial number: %s", gnutls_strerror(rc));
		return NULL;
	}
	id = acmesched_ari_id_raw(aki, aki_len, serial, serial_len);
	if (id == NULL)
		snprintf(err, errlen, "empty %s", aki_len == 0 ? "keyIdentifier" : "serial number");
	return id;
}

double
acmesched_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	/* the top 53 bits: every double in [0,1) this gives is exact */
	return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* R when it is in [0,1), else 0 (NaN included) */
static double
unit_interval(double r)
{
	return r >= 0.0 && r < 1.0 ? r : 0.0;
}

#define DAY 86400
/* times beyond some 34,000 years either side of 1970 are not dates: no arithmetic on them can overflow */
#define TIME_LIMIT ((int64_t)1 << 40)

static bool
sane(int64_t t)
{
	return t > -TIME_LIMIT && t < TIME_LIMIT;
}

int64_t
acmesched_renew_at(int64_t not_before, int64_t not_after, const struct acmesched_window *ari,
    double r, int64_t now)
{
	int64_t at;

	r = unit_interval(r);
	if (not_after <= not_before || !sane(not_before) || !sane(not_after))
		return now;
	if (ari != NULL && ari->start < ari->end && sane(ari->start) && sane(ari->end)) {
		if (ari->end <= now)
			return now;
		/* a double holds any span of seconds up to 2^53 exactly; R < 1 keeps the pick before END */
		at = ari->start + (int64_t)(r * (double)(ari->end - ari->start));
		if (at > not_after)
			at = not_after;
	} else {
		int64_t lifetime = not_after - not_before + 1;
		int64_t remain = lifetime < 10 * DAY ? lifetime / 2 : lifetime / 3;
		at = not_after + 1 - remain - (int64_t)(r * (double)(remain / 10));
	}
	return at < now ? now : at;
}
