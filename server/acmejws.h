/* SPDX-License-Identifier: MIT */
/* acmejws: the ACME account key (ECDSA P-256) and what is made from it: JWK, thumbprint, ES256 JWS, key authorizations. */
#ifndef MTASTSD_ACMEJWS_H
#define MTASTSD_ACMEJWS_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* base64url of a SHA-256, without padding, and a NUL */
#define ACMEJWS_THUMBPRINT_LEN 44
/* the acmeIdentifier extension value of RFC 8737: DER OCTET STRING 04 20 || SHA-256 */
#define ACMEJWS_ACME_ID_LEN 34

/* An account key: a P-256 private key and its public point. */
struct acmejws_key;

/* A new random P-256 key, or NULL with a message in ERR. Free with acmejws_key_free. */
struct acmejws_key *acmejws_key_generate(char *err, size_t errlen);
/*
 * The key in the PEM text PEM[0..LEN) (SEC1 "EC PRIVATE KEY" or PKCS#8
 * "PRIVATE KEY", unencrypted), or NULL with a message in ERR when it is not
 * PEM, not an EC key or not on P-256.
 */
struct acmejws_key *acmejws_key_parse(const char *pem, size_t len, char *err, size_t errlen);
/*
 * The key of the file PATH, as acmejws_key_parse reads it; NULL with a
 * message naming PATH in ERR when it cannot be read, is readable by others
 * (the key of the account is a secret) or does not hold a P-256 key.
 */
struct acmejws_key *acmejws_key_load(const char *path, char *err, size_t errlen);
/*
 * Write K to PATH as PEM, mode 0600, atomically (a temporary file beside it,
 * fsync, rename, fsync of the folder: see dnsstate_write_atomic, whose
 * return values it keeps: 0, -1 with PATH untouched, DNSSTATE_NOT_DURABLE).
 */
int acmejws_key_save(const struct acmejws_key *k, const char *path, char *err, size_t errlen);
/* Free K, its private key zeroed first; NULL is accepted. */
void acmejws_key_free(struct acmejws_key *k);

/* Append the public JWK of K to B in RFC 7638's canonical form: {"crv":"P-256","kty":"EC","x":"…","y":"…"}. */
void acmejws_jwk(const struct acmejws_key *k, struct buf *b);
/* The RFC 7638 thumbprint of K: base64url(SHA-256(canonical JWK)), 43 characters and a NUL. */
void acmejws_thumbprint(const struct acmejws_key *k, char out[ACMEJWS_THUMBPRINT_LEN]);

/*
 * The flattened JWS JSON (RFC 7515 section 7.2.2) of PAYLOAD signed by K with
 * ES256, as an ACME request (RFC 8555 section 6.2): protected header {alg,
 * nonce, url} and kid when KID is not NULL (the account's URL), else jwk.
 * PAYLOAD is the request's JSON text; "" (not "{}") makes a POST-as-GET.
 * Returns the text, owned by the caller, or NULL with a message in ERR
 * (NONCE or URL not UTF-8, signing failed).
 */
char *acmejws_sign(const struct acmejws_key *k, const char *url, const char *nonce, const char *kid,
    const char *payload, char *err, size_t errlen);

/*
 * The externalAccountBinding value of a newAccount request (RFC 8555
 * section 7.3.4): the flattened JWS JSON of K's public JWK (as acmejws_jwk
 * writes it), protected header {"alg":"HS256","kid":EAB_KID,"url":URL}
 * (URL: the newAccount URL), signed with HMAC-SHA256 under MAC_KEY[0..
 * MAC_LEN) (the CA's key, already decoded from base64url). Returns the
 * text, owned by the caller, or NULL with a message in ERR (EAB_KID or URL
 * not UTF-8, an empty MAC key, HMAC failed).
 */
char *acmejws_eab(const struct acmejws_key *k, const char *eab_kid, const unsigned char *mac_key, size_t mac_len,
    const char *url, char *err, size_t errlen);

/*
 * The key authorization of TOKEN for K: "TOKEN.THUMBPRINT" (RFC 8555 section
 * 8.1), owned by the caller. It is also the whole body of the http-01
 * answer (section 8.3), with no trailing white space.
 */
char *acmejws_key_authorization(const char *token, const struct acmejws_key *k);
/*
 * The value of the tls-alpn-01 acmeIdentifier extension (RFC 8737 section
 * 3) for KEYAUTH: the DER OCTET STRING 04 20 followed by SHA-256(KEYAUTH).
 */
void acmejws_acme_identifier(const char *keyauth, unsigned char out[ACMEJWS_ACME_ID_LEN]);

/* Append base64url (RFC 4648 section 5) of P[0..N) to B, without padding. */
void acmejws_b64url(struct buf *b, const void *p, size_t n);
/*
 * Decode the base64url text S[0..N) (no padding, no white space) into *OUT
 * (owned by the caller; *LEN bytes); -1 when S is not canonical base64url.
 */
int acmejws_b64url_decode(const char *s, size_t n, unsigned char **out, size_t *len);

#endif
