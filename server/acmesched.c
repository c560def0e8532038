/* SPDX-License-Identifier: MIT */
/* acmesched: when to renew, retry and order ACME certificates, as pure functions of the time and random values passed in. */
#include "acmesched.h"
#include "acmejws.h"
#include "util.h"

#include <stdio.h>
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
