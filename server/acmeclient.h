/* SPDX-License-Identifier: MIT */
/* acmeclient: a blocking ACME client (RFC 8555) that registers an account and orders one certificate per name. */
#ifndef MTASTSD_ACMECLIENT_H
#define MTASTSD_ACMECLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "acmejws.h"
#include "acmesched.h"
#include "util.h"

/*
 * Every request goes through httpclient (httpget_init must have run once).
 * Nothing is written to disk: the account key comes in, the certificate
 * and its key go out in memory. One client is used by one thread at a time.
 */

/* how many times a request refused with badNonce is sent again, with the nonce the refusal carried */
#define ACMECLIENT_BADNONCE_RETRIES 5
/* the longest wait between two polls, whatever Retry-After says */
#define ACMECLIENT_POLL_CAP 10

struct acmeclient_config {
	const char *directory;		/* the directory's https:// URL */
	const char *ca_file;		/* extra CA (PEM) for the CA's HTTPS, or NULL: the system's */
	const struct acmejws_key *key;	/* the account key, borrowed for the client's life */
	const char *const *contact;	/* e.g. "mailto:ops@example.com"; may be none */
	size_t ncontact;
	bool agree_terms;		/* termsOfServiceAgreed in a new account: without it none is created */
	const char *eab_kid;		/* external account binding key id for a new account, or NULL: none */
	const unsigned char *eab_hmac_key;	/* its MAC key (decoded), EAB_HMAC_KEY_LEN bytes; copied */
	size_t eab_hmac_key_len;
	long timeout_ms;		/* each request; 0: 30 s */
	int order_deadline;		/* seconds an order may take, polls included; 0: 300 */
};

/*
 * A failure, for the operator and for the backoff (acmesched). DETAIL is
 * always set. TYPE and NAME are those of the CA's problem document, or NULL
 * and "" when the failure was not the CA's (network, timeout, a malformed
 * answer, the caller's ready callback).
 */
struct acmeclient_error {
	char *type;		/* "urn:ietf:params:acme:error:rateLimited", ... or NULL */
	char name[64];		/* "rateLimited" (what follows the ACME prefix), or "" */
	char *detail;		/* what went wrong, in one line */
	int status;		/* the HTTP status of the answer (or the problem's own), 0 when none */
	bool has_retry_after;	/* the answer carried a Retry-After ... */
	time_t retry_after;	/* ... naming this time (capped at now + ACMESCHED_RETRY_AFTER_MAX) */
};

/* Free E's strings; E is left {0}. */
void acmeclient_error_clear(struct acmeclient_error *e);
/*
 * Fill E (cleared first) from an error answer: STATUS, its body TEXT[0..LEN)
 * read as a problem document when CTYPE is application/problem+json (else
 * the detail says the status and what the body was), and the Retry-After
 * value RETRY_AFTER (NULL when absent) read at NOW. WHAT says which request
 * it answered and starts the detail ("new order: ..."). Pure.
 */
void acmeclient_error_from_answer(struct acmeclient_error *e, const char *what, long status, const char *ctype,
    const char *text, size_t len, const char *retry_after, time_t now);
/* What E means for the next attempt of the name, as acmesched_retry_at reads it. */
void acmeclient_error_failure(const struct acmeclient_error *e, struct acmesched_failure *f);

/* An issued certificate, in memory. Clear with acmeclient_cert_clear. */
struct acmeclient_cert {
	char *chain_pem;	/* the leaf first, then the CA's chain, as downloaded */
	size_t chain_len;
	char *key_pem;		/* the leaf's new ECDSA P-256 key, PKCS#8 PEM (a secret: zeroed when cleared) */
	size_t key_len;
	char *replaces_refused;	/* the CA refused "replaces" (its detail) and the order was made without it; else NULL */
};

void acmeclient_cert_clear(struct acmeclient_cert *c);

/*
 * A certificate signing request for NAME: a new ECDSA P-256 key, subject
 * CN=NAME (left out when NAME is over 64 bytes, the limit of a CN) and one
 * subjectAltName dNSName NAME, signed with SHA-256. *DER (DER_LEN bytes)
 * and *KEY_PEM (PKCS#8 PEM, KEY_LEN bytes) are owned by the caller. 0, or
 * -1 with a message in ERR.
 */
int acmeclient_csr(const char *name, unsigned char **der, size_t *der_len, char **key_pem, size_t *key_len,
    char *err, size_t errlen);

/*
 * The caller makes the answer to a challenge available before it is
 * validated: for "http-01", KEYAUTH served at
 * /.well-known/acme-challenge/TOKEN of NAME; for "tls-alpn-01" a certificate
 * made from acmejws_acme_identifier(KEYAUTH). Returns 0, or -1 (the order
 * fails with a detail naming the challenge).
 */
typedef int (*acmeclient_ready_fn)(void *ctx, const char *name, const char *type, const char *token,
    const char *keyauth);

struct acmeclient;

/* A client for CFG (copied, but for the key, which is borrowed). No request is made yet. */
struct acmeclient *acmeclient_new(const struct acmeclient_config *cfg);
void acmeclient_free(struct acmeclient *c);

/*
 * Make sure the client has the directory and an account: newAccount with
 * onlyReturnExisting first (the key's existing account), else a new one
 * (accepting the terms, with the contacts, and with the external account
 * binding of acmejws_eab when the config has one). 0, or -1 with E filled
 * (a CA that needs external account binding and none is configured, terms
 * not agreed, the CA refusing the binding, any failure).
 */
int acmeclient_account(struct acmeclient *c, struct acmeclient_error *e);
/*
 * Make sure the client has the directory (fetched once per client). 0 with
 * *HAS_ARI telling whether it offers renewalInfo, or -1 with E filled.
 */
int acmeclient_directory(struct acmeclient *c, bool *has_ari, struct acmeclient_error *e);
/*
 * Whether C was made with the external account binding KID (NULL: none)
 * and MAC key KEY[0..LEN), so that a caller keeping C across reloads makes
 * a new one when the binding changed.
 */
bool acmeclient_same_eab(const struct acmeclient *c, const char *kid, const unsigned char *key, size_t len);
/* The account's URL (the JWS kid), or NULL before acmeclient_account succeeded. */
const char *acmeclient_account_url(const struct acmeclient *c);
/*
 * The CA's CAA identities (the directory's meta.caaIdentities, RFC 8555
 * section 7.1.1) into *IDS (borrowed from C); returns how many. 0 before
 * the directory was fetched (acmeclient_account) or when it lists none.
 */
size_t acmeclient_caa_identities(const struct acmeclient *c, const char *const **ids);
/* How many accounts this client has created (not found) so far. */
unsigned acmeclient_accounts_created(const struct acmeclient *c);
/* How many requests this client has sent again after a badNonce refusal. */
unsigned acmeclient_nonce_retries(const struct acmeclient *c);

/*
 * Order a certificate for the one DNS name NAME, answering with the first
 * type of CHALLENGES ("tls-alpn-01", "http-01") that the CA offers for each
 * pending authorization, through READY. Polls the authorizations and the
 * order (POST-as-GET, waiting as Retry-After says, at most
 * ACMECLIENT_POLL_CAP seconds at a time) within the order deadline,
 * finalizes with acmeclient_csr and downloads the chain. An account the CA
 * no longer knows (accountDoesNotExist) is registered again and the order
 * started over, once. Returns 0 with OUT filled (owned by the caller), or
 * -1 with E filled and OUT empty.
 *
 * REPLACES (NULL: none) is the ARI identifier (acmesched_ari_id) of the
 * certificate this one renews; it goes into the new order as "replaces"
 * (RFC 9773 section 5) when the directory offers renewalInfo, and is left
 * out otherwise. A CA that refuses it (an alreadyReplaced or malformed
 * problem) gets the order once more without it, and OUT->replaces_refused
 * says why.
 */
int acmeclient_issue(struct acmeclient *c, const char *name, const char *const *challenges, size_t nchallenges,
    const char *replaces, acmeclient_ready_fn ready, void *ctx, struct acmeclient_cert *out,
    struct acmeclient_error *e);

/*
 * Append the newOrder payload for the one DNS name NAME to B:
 * {"identifiers":[{"type":"dns","value":NAME}]}, with ,"replaces":REPLACES
 * after the identifiers when REPLACES is not NULL (both as JSON strings). Pure.
 */
void acmeclient_order_payload(struct buf *b, const char *name, const char *replaces);

/* ---- renewal information (RFC 9773) ---- */

/* acmeclient_renewal_info: the directory offers no renewalInfo */
#define ACMECLIENT_NO_ARI 1

/* A renewalInfo answer. Clear with acmeclient_renewal_clear. */
struct acmeclient_renewal {
	struct acmesched_window window;	/* the suggested window; its end is after its start */
	char *explanation_url;		/* NULL when none */
	bool has_retry_after;		/* the answer carried a Retry-After ... */
	time_t retry_after;		/* ... naming this time (capped at now + ACMESCHED_ARI_MAX) */
};

void acmeclient_renewal_clear(struct acmeclient_renewal *r);

/*
 * The URL of CERT_ID's renewal information under the directory's
 * renewalInfo BASE: BASE "/" CERT_ID (no second slash when BASE ends in
 * one). Owned by the caller. Pure.
 */
char *acmeclient_renewal_url(const char *base, const char *cert_id);

/*
 * Ask the CA when to renew the certificate whose ARI identifier is
 * CERT_ID: a GET (unauthenticated, RFC 9773 section 4.1) of its
 * renewalInfo URL, the directory fetched first when it is not yet.
 * Returns 0 with OUT filled; ACMECLIENT_NO_ARI when the directory has no
 * renewalInfo (OUT empty, E untouched); -1 with E filled (network, a
 * status other than 200, a malformed answer or an invalid window; E's
 * Retry-After set when the answer had one), OUT empty.
 */
int acmeclient_renewal_info(struct acmeclient *c, const char *cert_id, struct acmeclient_renewal *out,
    struct acmeclient_error *e);

#endif
