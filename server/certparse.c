/* SPDX-License-Identifier: MIT */
/* certparse: SAN names, expiry, CA flag and public key of a certificate, from PEM and DER; pure. */
#include "certparse.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- DER ---- */

enum {
	TAG_BOOLEAN = 0x01, TAG_INTEGER = 0x02, TAG_BIT_STRING = 0x03, TAG_OCTET_STRING = 0x04,
	TAG_NULL = 0x05, TAG_OID = 0x06, TAG_UTC_TIME = 0x17, TAG_GENERALIZED_TIME = 0x18,
	TAG_SEQUENCE = 0x30, TAG_CTX0 = 0xa0, TAG_CTX1_PRIM = 0x81, TAG_CTX2_PRIM = 0x82, TAG_CTX3 = 0xa3,
	TAG_DNS_NAME = 0x82
};

struct der {
	const unsigned char *p, *end;
};

struct tlv {
	unsigned tag;
	const unsigned char *start;	/* the whole TLV */
	const unsigned char *val;	/* its contents */
	size_t len, total;
};

/* An OBJECT IDENTIFIER's contents in DER: subidentifiers of at most 4 bytes, none padded with 0x80 */
static bool
oid_ok(const unsigned char *p, size_t n)
{
	size_t run = 0;

	if (n == 0 || (p[n - 1] & 0x80))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (run == 0 && p[i] == 0x80)
			return false;
		run = (p[i] & 0x80) ? run + 1 : 0;
		if (run >= 4)
			return false;
	}
	return true;
}

/* The next TLV, in strict DER: low tag numbers, definite minimal lengths, well-formed OIDs. */
static int
der_next(struct der *d, struct tlv *t)
{
	size_t len;

	if (d->end - d->p < 2)
		return -1;
	t->start = d->p;
	t->tag = *d->p++;
	if ((t->tag & 0x1f) == 0x1f)
		return -1;
	len = *d->p++;
	if (len & 0x80) {
		unsigned n = len & 0x7f;

		if (n == 0 || n > 3 || (size_t)(d->end - d->p) < n)
			return -1;
		len = 0;
		for (unsigned i = 0; i < n; i++)
			len = (len << 8) | *d->p++;
		if (len < 0x80 || (len >> (8 * (n - 1))) == 0)
			return -1;	/* not the shortest form */
	}
	if ((size_t)(d->end - d->p) < len)
		return -1;
	t->val = d->p;
	t->len = len;
	d->p += len;
	t->total = (size_t)(d->p - t->start);
	return t->tag == TAG_OID && !oid_ok(t->val, t->len) ? -1 : 0;
}

static int
der_expect(struct der *d, unsigned tag, struct tlv *t)
{
	return der_next(d, t) == 0 && t->tag == tag ? 0 : -1;
}

static bool
der_peek(const struct der *d, unsigned tag)
{
	return d->p < d->end && *d->p == tag;
}

static struct der
der_inside(const struct tlv *t)
{
	struct der d = { t->val, t->val + t->len };

	return d;
}

static bool
der_done(const struct der *d)
{
	return d->p == d->end;
}

static bool
tlv_is(const struct tlv *t, const unsigned char *v, size_t n)
{
	return t->len == n && memcmp(t->val, v, n) == 0;
}

/* A DER INTEGER that is positive, with no redundant leading zero; *V and *N skip a sign byte. */
static int
der_uint(const struct tlv *t, const unsigned char **v, size_t *n)
{
	if (t->tag != TAG_INTEGER || t->len == 0 || (t->val[0] & 0x80))
		return -1;
	*v = t->val;
	*n = t->len;
	if (t->len > 1 && t->val[0] == 0) {
		if (!(t->val[1] & 0x80))
			return -1;
		(*v)++;
		(*n)--;
	}
	return 0;
}

bool
certparse_uint_eq(const unsigned char *a, size_t na, const unsigned char *b, size_t nb)
{
	while (na > 0 && *a == 0)
		a++, na--;
	while (nb > 0 && *b == 0)
		b++, nb--;
	return na == nb && memcmp(a, b, na) == 0;
}

/* ---- time ---- */

/* UTCTime YYMMDDHHMMSSZ (RFC 5280: 50-99 are 19xx) or GeneralizedTime YYYYMMDDHHMMSSZ. */
static int
parse_time(const struct tlv *t, time_t *out)
{
	const char *p = (const char *)t->val;
	int64_t when;
	int year;

	if (t->tag == TAG_UTC_TIME && t->len == 13) {
		if ((year = str_digits(p, 2)) < 0)
			return -1;
		year += year < 50 ? 2000 : 1900;
		p += 2;
	} else if (t->tag == TAG_GENERALIZED_TIME && t->len == 15) {
		year = str_digits(p, 4);
		p += 4;
	} else
		return -1;
	/* GnuTLS reads a time before 1970 as 0; nothing after 2199 is a serving certificate */
	if (year < 1970 || year > 2199 || p[10] != 'Z' || utc_from_mdhms(year, p, &when) < 0)
		return -1;
	*out = (time_t)when;
	return 0;
}

/* ---- certificate ---- */

static const unsigned char OID_EC_PUBLIC_KEY[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const unsigned char OID_RSA_ENCRYPTION[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const unsigned char OID_P256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const unsigned char OID_P384[] = { 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const unsigned char OID_P521[] = { 0x2b, 0x81, 0x04, 0x00, 0x23 };
static const unsigned char OID_SAN[] = { 0x55, 0x1d, 0x11 };
static const unsigned char OID_IAN[] = { 0x55, 0x1d, 0x12 };
static const unsigned char OID_BASIC_CONSTRAINTS[] = { 0x55, 0x1d, 0x13 };
static const unsigned char OID_KEY_USAGE[] = { 0x55, 0x1d, 0x0f };

static int
curve_of(const struct tlv *oid, enum certparse_curve *curve)
{
	if (oid->tag != TAG_OID)
		return -1;
	if (tlv_is(oid, OID_P256, sizeof(OID_P256)))
		*curve = CERTPARSE_CURVE_P256;
	else if (tlv_is(oid, OID_P384, sizeof(OID_P384)))
		*curve = CERTPARSE_CURVE_P384;
	else if (tlv_is(oid, OID_P521, sizeof(OID_P521)))
		*curve = CERTPARSE_CURVE_P521;
	else
		return -1;
	return 0;
}

/* Bytes of one coordinate of CURVE. */
static size_t
coord_size(enum certparse_curve curve)
{
	static const size_t coord[] = { 0, 32, 48, 66 };

	return coord[curve];
}

/* BITS holds an uncompressed point of CURVE: its 04 X Y in *PUB. */
static int
ec_point(const struct tlv *bits, enum certparse_curve curve, const unsigned char **pub, size_t *len)
{
	if (bits->tag != TAG_BIT_STRING || bits->len != 2 + 2 * coord_size(curve) || bits->val[0] != 0 ||
	    bits->val[1] != 0x04)
		return -1;
	*pub = bits->val + 1;
	*len = bits->len - 1;
	return 0;
}

/* The RSAPublicKey fields in D: the modulus and the public exponent. */
static int
rsa_public(struct der *d, const unsigned char **n, size_t *n_len, const unsigned char **e, size_t *e_len)
{
	struct tlv tn, te;

	if (der_next(d, &tn) < 0 || der_next(d, &te) < 0 || der_uint(&tn, n, n_len) < 0 ||
	    der_uint(&te, e, e_len) < 0)
		return -1;
	/* 1024 to 16384 bits, an odd exponent of at most 64 bits */
	if (*n_len < 128 || *n_len > 2048 || *e_len > 8 || !((*e)[*e_len - 1] & 1))
		return -1;
	return 0;
}

/* SubjectPublicKeyInfo: named-curve EC or RSA; anything else is not ours. */
static int
parse_spki(const struct tlv *spki, struct certparse_info *ci)
{
	struct der d = der_inside(spki), alg, key;
	struct tlv a, oid, params, bits, seq;

	if (der_expect(&d, TAG_SEQUENCE, &a) < 0 || der_expect(&d, TAG_BIT_STRING, &bits) < 0 || !der_done(&d))
		return -1;
	alg = der_inside(&a);
	if (der_expect(&alg, TAG_OID, &oid) < 0 || der_next(&alg, &params) < 0 || !der_done(&alg))
		return -1;
	if (tlv_is(&oid, OID_EC_PUBLIC_KEY, sizeof(OID_EC_PUBLIC_KEY))) {
		if (curve_of(&params, &ci->curve) < 0 || ec_point(&bits, ci->curve, &ci->pub, &ci->pub_len) < 0)
			return -1;
		ci->pk = CERTPARSE_PK_EC;
		return 0;
	}
	if (tlv_is(&oid, OID_RSA_ENCRYPTION, sizeof(OID_RSA_ENCRYPTION))) {
		if (params.tag != TAG_NULL || params.len != 0 || bits.len < 2 || bits.val[0] != 0)
			return -1;
		key.p = bits.val + 1;
		key.end = bits.val + bits.len;
		if (der_expect(&key, TAG_SEQUENCE, &seq) < 0 || !der_done(&key))
			return -1;
		key = der_inside(&seq);
		if (rsa_public(&key, &ci->pub, &ci->pub_len, &ci->exp, &ci->exp_len) < 0 || !der_done(&key))
			return -1;
		ci->pk = CERTPARSE_PK_RSA;
		return 0;
	}
	return -1;
}

/* GeneralNames: every element well formed, dNSNames printable ASCII of at most 253 bytes. */
static int
check_san(const struct tlv *t)
{
	struct der d = der_inside(t);
	struct tlv gn;

	if (t->len == 0)
		return -1;	/* SEQUENCE SIZE (1..MAX) */
	while (!der_done(&d)) {
		if (der_next(&d, &gn) < 0)
			return -1;
		/* rfc822Name, dNSName, URI, iPAddress: the forms in certificates for web servers */
		if (gn.tag != 0x81 && gn.tag != 0x82 && gn.tag != 0x86 && gn.tag != 0x87)
			return -1;
		if (gn.tag == TAG_DNS_NAME) {
			if (gn.len > 253)
				return -1;
			for (size_t i = 0; i < gn.len; i++)
				if (gn.val[i] < 0x21 || gn.val[i] > 0x7e)
					return -1;
		}
	}
	return 0;
}

/* Name: SEQUENCE OF SET OF SEQUENCE { OID, value }, as the TLS library's schema reads it. */
static int
check_name(const struct tlv *t)
{
	struct der rdns = der_inside(t);
	struct tlv set, atv, oid, value;

	while (!der_done(&rdns)) {
		struct der atvs;

		if (der_expect(&rdns, 0x31, &set) < 0 || set.len == 0)
			return -1;
		atvs = der_inside(&set);
		while (!der_done(&atvs)) {
			struct der in;

			if (der_expect(&atvs, TAG_SEQUENCE, &atv) < 0)
				return -1;
			in = der_inside(&atv);
			/* the value: a string type, primitive */
			if (der_expect(&in, TAG_OID, &oid) < 0 || oid.len == 0 || der_next(&in, &value) < 0 ||
			    !der_done(&in) || (value.tag & 0xe0) != 0)
				return -1;
		}
	}
	return 0;
}

/* AlgorithmIdentifier: SEQUENCE { OID, parameters OPTIONAL } */
static int
check_algorithm(const struct tlv *t)
{
	struct der d = der_inside(t);
	struct tlv oid, params;

	if (der_expect(&d, TAG_OID, &oid) < 0 || oid.len == 0)
		return -1;
	if (!der_done(&d) && (der_next(&d, &params) < 0 || (params.tag != TAG_NULL && params.tag != TAG_OID &&
	    params.tag != TAG_SEQUENCE) || (params.tag == TAG_NULL && params.len != 0)))
		return -1;
	return der_done(&d) ? 0 : -1;
}

static int
parse_basic_constraints(const struct tlv *t, bool *ca)
{
	struct der d = der_inside(t);
	struct tlv seq, x;
	struct der in;

	*ca = false;
	if (der_expect(&d, TAG_SEQUENCE, &seq) < 0 || !der_done(&d))
		return -1;
	in = der_inside(&seq);
	if (der_peek(&in, TAG_BOOLEAN)) {
		/* DER: TRUE is 0xff, and a FALSE default is left out */
		if (der_next(&in, &x) < 0 || x.len != 1 || x.val[0] != 0xff)
			return -1;
		*ca = true;
	}
	if (der_peek(&in, TAG_INTEGER)) {
		const unsigned char *v;
		size_t n;

		if (der_next(&in, &x) < 0 || der_uint(&x, &v, &n) < 0 || n > 4)
			return -1;
	}
	return der_done(&in) ? 0 : -1;
}

/* KeyUsage: a BIT STRING of one or two bytes, its unused bits zero (DER) */
static int
parse_key_usage(const struct tlv *t, unsigned *usage)
{
	struct der d = der_inside(t);
	struct tlv bits;
	unsigned unused;

	if (der_expect(&d, TAG_BIT_STRING, &bits) < 0 || !der_done(&d) || bits.len < 2 || bits.len > 3 ||
	    (unused = bits.val[0]) > 7 || (bits.val[bits.len - 1] & ((1u << unused) - 1)) != 0)
		return -1;
	*usage = bits.val[1] | (bits.len == 3 ? (unsigned)bits.val[2] << 8 : 0);
	return 0;
}

static int
parse_extensions(const struct tlv *t, struct certparse_info *ci)
{
	struct der d = der_inside(t), list;
	struct tlv seq, ext, oid, x, value;
	const unsigned char *seen[64];
	size_t seen_len[64], n_seen = 0;

	if (der_expect(&d, TAG_SEQUENCE, &seq) < 0 || !der_done(&d) || seq.len == 0)
		return -1;
	list = der_inside(&seq);
	while (!der_done(&list)) {
		struct der e;

		if (der_expect(&list, TAG_SEQUENCE, &ext) < 0)
			return -1;
		e = der_inside(&ext);
		if (der_expect(&e, TAG_OID, &oid) < 0 || oid.len == 0)
			return -1;
		if (der_peek(&e, TAG_BOOLEAN) &&
		    (der_next(&e, &x) < 0 || x.len != 1 || x.val[0] != 0xff))
			return -1;	/* DER leaves a FALSE critical flag out */
		if (der_expect(&e, TAG_OCTET_STRING, &value) < 0 || !der_done(&e))
			return -1;
		if (n_seen == sizeof(seen) / sizeof(seen[0]))
			return -1;
		for (size_t i = 0; i < n_seen; i++)
			if (seen_len[i] == oid.len && memcmp(seen[i], oid.val, oid.len) == 0)
				return -1;	/* an extension twice */
		seen[n_seen] = oid.val;
		seen_len[n_seen++] = oid.len;
		if (tlv_is(&oid, OID_SAN, sizeof(OID_SAN))) {
			struct der v = der_inside(&value);
			struct tlv names;

			if (der_expect(&v, TAG_SEQUENCE, &names) < 0 || !der_done(&v) || check_san(&names) < 0)
				return -1;
			ci->san = names.val;
			ci->san_len = names.len;
		} else if (tlv_is(&oid, OID_IAN, sizeof(OID_IAN))) {
			/* GnuTLS reads the issuer's alternative names on import too */
			struct der v = der_inside(&value);
			struct tlv names;

			if (der_expect(&v, TAG_SEQUENCE, &names) < 0 || !der_done(&v) || check_san(&names) < 0)
				return -1;
		} else if (tlv_is(&oid, OID_BASIC_CONSTRAINTS, sizeof(OID_BASIC_CONSTRAINTS))) {
			if (parse_basic_constraints(&value, &ci->is_ca) < 0)
				return -1;
		} else if (tlv_is(&oid, OID_KEY_USAGE, sizeof(OID_KEY_USAGE))) {
			if (parse_key_usage(&value, &ci->key_usage) < 0)
				return -1;
		}
	}
	return 0;
}

int
certparse_cert(const unsigned char *der, size_t len, struct certparse_info *ci)
{
	struct der d = { der, der + len }, c, tbs, v, validity;
	struct tlv cert, t, sig_alg, sig_alg2, sig, version, serial, issuer, nb, na, subject, spki, ext;

	memset(ci, 0, sizeof(*ci));
	if (der_expect(&d, TAG_SEQUENCE, &cert) < 0 || !der_done(&d))
		return -1;
	c = der_inside(&cert);
	if (der_expect(&c, TAG_SEQUENCE, &t) < 0 || der_expect(&c, TAG_SEQUENCE, &sig_alg) < 0 ||
	    check_algorithm(&sig_alg) < 0 || der_expect(&c, TAG_BIT_STRING, &sig) < 0 || !der_done(&c) ||
	    sig.len < 2 || sig.val[0] != 0)
		return -1;
	tbs = der_inside(&t);

	/* version [0] EXPLICIT: v3 only (the only version with extensions) */
	if (der_expect(&tbs, TAG_CTX0, &version) < 0)
		return -1;
	v = der_inside(&version);
	if (der_expect(&v, TAG_INTEGER, &serial) < 0 || !der_done(&v) || serial.len != 1 || serial.val[0] != 2)
		return -1;
	/* serialNumber: at most 20 octets of value (RFC 5280 4.1.2.2) */
	if (der_expect(&tbs, TAG_INTEGER, &serial) < 0 || serial.len == 0 || serial.len > 21)
		return -1;
	if (der_expect(&tbs, TAG_SEQUENCE, &sig_alg2) < 0 || sig_alg2.total != sig_alg.total ||
	    memcmp(sig_alg2.start, sig_alg.start, sig_alg.total) != 0)
		return -1;
	if (der_expect(&tbs, TAG_SEQUENCE, &issuer) < 0 || check_name(&issuer) < 0 ||
	    der_expect(&tbs, TAG_SEQUENCE, &t) < 0)
		return -1;
	validity = der_inside(&t);
	if (der_next(&validity, &nb) < 0 || der_next(&validity, &na) < 0 || !der_done(&validity) ||
	    parse_time(&nb, &ci->not_before) < 0 || parse_time(&na, &ci->not_after) < 0)
		return -1;
	if (der_expect(&tbs, TAG_SEQUENCE, &subject) < 0 || check_name(&subject) < 0 ||
	    der_expect(&tbs, TAG_SEQUENCE, &spki) < 0 || parse_spki(&spki, ci) < 0)
		return -1;
	/* issuerUniqueID, subjectUniqueID: not in certificates issued today; not ours */
	if (der_peek(&tbs, TAG_CTX1_PRIM) || der_peek(&tbs, TAG_CTX2_PRIM))
		return -1;
	if (der_peek(&tbs, TAG_CTX3) && (der_next(&tbs, &ext) < 0 || parse_extensions(&ext, ci) < 0))
		return -1;
	if (!der_done(&tbs))
		return -1;
	return 0;
}

/* ---- private keys ---- */

/* SEC1 ECPrivateKey in T; CURVE is the PKCS#8 algorithm's, or NONE when standalone (then [0] names it). */
static int
parse_ec_key(const struct tlv *t, enum certparse_curve curve, struct certparse_key *k)
{
	struct der d, x;
	struct tlv version, priv, params, pub, oid, bits;

	if (t->tag != TAG_SEQUENCE)
		return -1;
	d = der_inside(t);
	if (der_expect(&d, TAG_INTEGER, &version) < 0 || version.len != 1 || version.val[0] != 1 ||
	    der_expect(&d, TAG_OCTET_STRING, &priv) < 0 || priv.len == 0)
		return -1;
	k->curve = curve;
	if (der_peek(&d, TAG_CTX0)) {
		enum certparse_curve named;

		if (der_next(&d, &params) < 0)
			return -1;
		x = der_inside(&params);
		if (der_next(&x, &oid) < 0 || !der_done(&x) || curve_of(&oid, &named) < 0 ||
		    (curve != CERTPARSE_CURVE_NONE && named != curve))
			return -1;
		k->curve = named;
	}
	if (k->curve == CERTPARSE_CURVE_NONE || priv.len > coord_size(k->curve) + 1)
		return -1;
	/* the public point is optional in SEC1; without it, matching needs arithmetic: not ours */
	if (der_expect(&d, 0xa1, &pub) < 0 || !der_done(&d))
		return -1;
	x = der_inside(&pub);
	if (der_next(&x, &bits) < 0 || !der_done(&x) || ec_point(&bits, k->curve, &k->pub, &k->pub_len) < 0)
		return -1;
	k->pk = CERTPARSE_PK_EC;
	return 0;
}

int
certparse_key(const unsigned char *der, size_t len, struct certparse_key *k)
{
	struct der d = { der, der + len }, in, alg;
	struct tlv top, first, second, oid, params, priv;

	memset(k, 0, sizeof(*k));
	if (der_expect(&d, TAG_SEQUENCE, &top) < 0 || !der_done(&d))
		return -1;
	in = der_inside(&top);
	if (der_expect(&in, TAG_INTEGER, &first) < 0 || der_next(&in, &second) < 0)
		return -1;
	if (second.tag == TAG_OCTET_STRING)
		return parse_ec_key(&top, CERTPARSE_CURVE_NONE, k);
	/* PKCS#8 PrivateKeyInfo v1: no attributes, no public key field */
	if (second.tag != TAG_SEQUENCE || first.len != 1 || first.val[0] != 0 ||
	    der_expect(&in, TAG_OCTET_STRING, &priv) < 0 || !der_done(&in))
		return -1;
	alg = der_inside(&second);
	if (der_expect(&alg, TAG_OID, &oid) < 0 || der_next(&alg, &params) < 0 || !der_done(&alg))
		return -1;
	d = der_inside(&priv);
	if (der_next(&d, &top) < 0 || !der_done(&d))
		return -1;
	if (tlv_is(&oid, OID_EC_PUBLIC_KEY, sizeof(OID_EC_PUBLIC_KEY))) {
		enum certparse_curve curve;

		if (curve_of(&params, &curve) < 0)
			return -1;
		return parse_ec_key(&top, curve, k);
	}
	return -1;
}

bool
certparse_key_matches(const struct certparse_info *ci, const struct certparse_key *k)
{
	if (ci->pk != CERTPARSE_PK_EC || k->pk != CERTPARSE_PK_EC || ci->pub_len != k->pub_len ||
	    memcmp(ci->pub, k->pub, k->pub_len) != 0)
		return false;
	return ci->curve == k->curve;
}

bool
certparse_next_dns(const struct certparse_info *ci, size_t *pos, const char **name, size_t *len)
{
	struct der d;
	struct tlv gn;

	if (ci->san == NULL || *pos > ci->san_len)
		return false;
	d.p = ci->san + *pos;
	d.end = ci->san + ci->san_len;
	while (der_next(&d, &gn) == 0) {
		*pos = (size_t)(d.p - ci->san);
		if (gn.tag == TAG_DNS_NAME && gn.len > 0) {
			*name = (const char *)gn.val;
			*len = gn.len;
			return true;
		}
	}
	*pos = ci->san_len + 1;
	return false;
}

/* ---- PEM ---- */

/* Base64 digit values; 64 for whitespace, 65 for '=', 66 for anything else. */
static const unsigned char b64[256] = {
#define X66_8 66, 66, 66, 66, 66, 66, 66, 66
#define X66_16 X66_8, X66_8
	66, 66, 66, 66, 66, 66, 66, 66, 66, 64, 64, 66, 66, 64, 66, 66,	/* \t \n \r */
	X66_16,
	64, 66, 66, 66, 66, 66, 66, 66, 66, 66, 66, 62, 66, 66, 66, 63,	/* ' ' + / */
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 66, 66, 66, 65, 66, 66,	/* 0-9 = */
	66, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 66, 66, 66, 66, 66,
	66, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 66, 66, 66, 66, 66,
	X66_16, X66_16, X66_16, X66_16, X66_16, X66_16, X66_16, X66_16,
#undef X66_16
#undef X66_8
};

static const char *
find(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	while ((size_t)(end - p) >= n) {
		const char *q = memchr(p, s[0], (size_t)(end - p) - n + 1);

		if (q == NULL)
			return NULL;
		if (memcmp(q, s, n) == 0)
			return q;
		p = q + 1;
	}
	return NULL;
}

/* Base64 of [P, END): whitespace between characters, '=' padding only at the end. */
static int
b64_decode(const char *p, const char *end, unsigned char **out, size_t *out_len)
{
	unsigned char *buf = malloc((size_t)(end - p) / 4 * 3 + 3);
	size_t n = 0, chars = 0, pad = 0;
	uint32_t acc = 0;

	if (buf == NULL)
		return -1;
	for (; p < end; p++) {
		unsigned v = b64[(unsigned char)*p];

		if (v < 64) {
			if (pad > 0)
				goto fail;
			acc = (acc << 6) | v;
			if (++chars % 4 == 0) {
				buf[n++] = (unsigned char)(acc >> 16);
				buf[n++] = (unsigned char)(acc >> 8);
				buf[n++] = (unsigned char)acc;
				acc = 0;
			}
		} else if (v == 65) {
			pad++;
			chars++;
			acc <<= 6;
			if (chars % 4 == 0)
				break;
		} else if (v == 66)
			goto fail;
	}
	if (pad > 0) {
		/* the group ended with padding: only whitespace may follow */
		for (p++; p < end; p++)
			if (b64[(unsigned char)*p] != 64)
				goto fail;
		if (pad > 2 || chars % 4 != 0)
			goto fail;
		buf[n++] = (unsigned char)(acc >> 16);
		if (pad == 1)
			buf[n++] = (unsigned char)(acc >> 8);
	} else if (chars % 4 != 0)
		goto fail;
	if (n == 0)
		goto fail;
	*out = buf;
	*out_len = n;
	return 0;
fail:
	free(buf);
	return -1;
}

int
certparse_pem_next(const char *text, size_t len, size_t *pos, char *label, size_t label_size,
    unsigned char **der, size_t *der_len)
{
	static const char begin[] = "-----BEGIN ", dashes[] = "-----";
	const char *end = text + len, *b, *l, *le, *body, *e;
	char *tail;
	size_t n;

	if (*pos >= len || (b = find(text + *pos, end, begin)) == NULL)
		return 0;
	l = b + sizeof(begin) - 1;
	if ((le = find(l, end, dashes)) == NULL)
		return -1;
	n = (size_t)(le - l);
	if (n == 0 || n >= label_size)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (l[i] < 0x20 || l[i] > 0x7e || l[i] == '-')
			return -1;	/* RFC 7468 labels: printable, no hyphen-minus */
	memcpy(label, l, n);
	label[n] = '\0';
	body = le + sizeof(dashes) - 1;
	tail = malloc(n + 16);
	if (tail == NULL)
		return -1;
	memcpy(tail, "-----END ", 9);
	memcpy(tail + 9, label, n);
	memcpy(tail + 9 + n, dashes, sizeof(dashes));
	e = find(body, end, tail);
	free(tail);
	if (e == NULL || memchr(body, ':', (size_t)(e - body)) != NULL)
		return -1;
	if (b64_decode(body, e, der, der_len) < 0)
		return -1;
	*pos = (size_t)(e - text) + 9 + n + sizeof(dashes) - 1;
	return 1;
}
