/* SPDX-License-Identifier: MIT */
/* acmechal: the answers to pending ACME challenges (http-01, tls-alpn-01), read from the shared ACME storage folder. */
#ifndef MTASTSD_ACMECHAL_H
#define MTASTSD_ACMECHAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The ALPN protocol of tls-alpn-01 (RFC 8737 section 6.2). */
#define ACMECHAL_ALPN "acme-tls/1"
/* The longest http-01 token answered (RFC 8555 tokens are 22 or more base64url characters). */
#define ACMECHAL_TOKEN_MAX 256
/* The longest key authorization read from a challenge file ("TOKEN.THUMBPRINT" is at most 300 bytes). */
#define ACMECHAL_KEYAUTH_MAX 1024
/* Challenge certificates kept made, the most recently used ones. */
#define ACMECHAL_CACHE_MAX 32

/*
 * Answer the challenges whose files are under STORAGE/challenges/ (the
 * folder is copied): http-01/TOKEN holds the key authorization of token
 * TOKEN, tls-alpn-01/NAME that of the tls-alpn-01 challenge of host NAME
 * (lower case). NULL or "" answers none. Takes effect for the next lookup;
 * any thread may call it while others look up.
 */
void acmechal_set_folder(const char *storage);

/* Whether TOKEN[0..LEN) may be an http-01 token: 1 to ACMECHAL_TOKEN_MAX base64url characters. Pure. */
bool acmechal_token_ok(const char *token, size_t len);
/*
 * Whether NAME may name a tls-alpn-01 challenge file: a host name of at
 * most 253 characters, lower-case letters, digits, '-', '_' and inner
 * dots, no empty label (so never "." or ".." or a '/'). Pure.
 */
bool acmechal_name_ok(const char *name);

/*
 * The http-01 answer for TOKEN[0..LEN): the key authorization held by
 * STORAGE/challenges/http-01/TOKEN, its trailing white space dropped, into
 * OUT (ACMECHAL_KEYAUTH_MAX bytes, not NUL-terminated), its length in
 * *OUTLEN. Returns 1; 0 when no such challenge is pending (no folder, a
 * TOKEN acmechal_token_ok refuses, which touches no file, no such file);
 * -1 (logged) when the file is no regular file, cannot be read, is longer
 * than ACMECHAL_KEYAUTH_MAX or holds bytes no key authorization has.
 */
int acmechal_http01(const char *token, size_t len, char *out, size_t *outlen);

/* A self-signed tls-alpn-01 challenge certificate and its key, shared by reference. */
struct acmechal_cert;

/*
 * The challenge certificate of NAME (lower case, no trailing dot) when a
 * tls-alpn-01 challenge is pending for it: the file
 * STORAGE/challenges/tls-alpn-01/NAME holds its key authorization, read at
 * every call (so a new challenge or a removed one counts at once). The
 * certificate is made once per (NAME, key authorization) and kept among
 * the ACMECHAL_CACHE_MAX most recently used. Returns a reference (release
 * with acmechal_cert_unref), or NULL when none is pending (no folder, a
 * NAME acmechal_name_ok refuses, which touches no file, no such file) or
 * the file cannot be read or the certificate made (logged).
 */
struct acmechal_cert *acmechal_tls_alpn01(const char *name);

/*
 * A new challenge certificate for NAME and KEYAUTH (one reference, owned by
 * the caller): an ECDSA P-256 key made for it; version 3, a random serial,
 * valid from NOW - 1 h to NOW + 7 days; exactly one subjectAltName dNSName,
 * NAME; the critical acmeIdentifier extension (1.3.6.1.5.5.7.1.31) whose
 * value is acmejws_acme_identifier(KEYAUTH); self-signed with SHA-256.
 * NULL (logged) when GnuTLS fails.
 */
struct acmechal_cert *acmechal_cert_new(const char *name, const char *keyauth, time_t now);
/* Drop a reference to C, freeing it (key zeroed) with the last; NULL is accepted. */
void acmechal_cert_unref(struct acmechal_cert *c);
/*
 * What GnuTLS's certificate callback gives for C: its one certificate (a
 * gnutls_pcert_st *) and its key (a gnutls_privkey_t), as void * so callers
 * need not include GnuTLS; valid while the reference is held.
 */
void *acmechal_cert_pcert(const struct acmechal_cert *c);
void *acmechal_cert_key(const struct acmechal_cert *c);

/* Challenge certificates made since start-up (cache misses), for tests. */
unsigned long long acmechal_certs_made(void);
/* Forget the folder and drop every cached certificate (at exit, and between tests). */
void acmechal_reset(void);

#endif
