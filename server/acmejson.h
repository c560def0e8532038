/* SPDX-License-Identifier: MIT */
/* acmejson: reads the CA's JSON answers in ACME (RFC 8555 objects, RFC 7807 problems, RFC 9773 renewal information) into C structs. */
#ifndef MTASTSD_ACMEJSON_H
#define MTASTSD_ACMEJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/*
 * Every parser here is a pure function of its text: TEXT[0..LEN) (no NUL
 * needed) is read with jansson, and nothing else is touched (but for the
 * seed of jansson's hash tables, read once per process from /dev/urandom
 * by jansson itself). The text must
 * be one JSON object (RFC 8259, UTF-8, no duplicate member, no \u0000 in a
 * string, at most ACMEJSON_MAX_TEXT bytes and jansson's 2048 levels of
 * nesting). On success the parser returns a struct owned by the caller
 * (free it with the matching _free, which accepts NULL); on failure it
 * returns NULL and writes one line into ERR[0..ERRLEN) naming the object,
 * the member and what was wrong with it, for example
 * "order.authorizations[1]: 'ftp://ca/x' is not an https:// or http:// URL".
 * Values quoted in a message are cut short and non-printable bytes escaped.
 *
 * Members this module does not read are ignored, as RFC 8555 section 7.1
 * asks of clients. An optional member whose value is null counts as absent.
 * Every URL is checked to be https:// or http:// with a host and nothing
 * but URI characters (RFC 3986 section 2). meta.termsOfService, only shown
 * to the operator, may be any URI (pebble's is a data: URI): a scheme and
 * ':' (RFC 3986 section 3), then printable ASCII without spaces, at most
 * ACMEJSON_MAX_URI bytes. Every challenge token of a type this client
 * knows is base64url only (RFC 8555 section 8.1), since tokens end up in
 * file names and URLs. Arrays hold at most ACMEJSON_MAX_ITEMS.
 */
#define ACMEJSON_MAX_TEXT (1024 * 1024)
#define ACMEJSON_MAX_ITEMS 1000
/* a token names a file: at most NAME_MAX bytes */
#define ACMEJSON_MAX_TOKEN 255
/* the longest meta.termsOfService taken */
#define ACMEJSON_MAX_URI 2048

/*
 * The RFC 3339 (section 5.6) date-time S[0..N) in seconds since the epoch:
 * 0 and *OUT, or -1 when S is anything else (no white space around it).
 * "T" and "Z" may be lower case; a fraction of a second is accepted and
 * dropped; an offset (+02:00, -08:00, -00:00) is taken away to give UTC. A
 * leap second (:60) counts as :59, since time_t has none.
 */
int acmejson_time_parse(const char *s, size_t n, time_t *out);

/* the prefix of the ACME error types (RFC 8555 section 6.7) */
#define ACMEJSON_ERROR_PREFIX "urn:ietf:params:acme:error:"

/* An identifier (RFC 8555 section 9.7.7): type "dns" or "ip" (RFC 8738), and its value. */
struct acmejson_identifier {
	char *type;
	char *value;
};

/* One subproblem (RFC 8555 section 6.7.1). */
struct acmejson_subproblem {
	char *type;				/* "about:blank" when absent (RFC 7807 section 4.2) */
	const char *name;			/* inside TYPE: what follows ACMEJSON_ERROR_PREFIX, or "" */
	char *detail;				/* NULL when absent */
	struct acmejson_identifier identifier;	/* both NULL when absent */
};

/* A problem document (RFC 7807, RFC 8555 section 6.7). */
struct acmejson_problem {
	char *type;				/* "about:blank" when absent */
	const char *name;			/* inside TYPE: "badNonce", "rateLimited"..., or "" when not an ACME error */
	char *detail;				/* NULL when absent */
	int status;				/* the HTTP status (100-599), 0 when absent */
	struct acmejson_subproblem *subproblems;
	size_t nsubproblems;
};

/* The problem document in TEXT (application/problem+json), as described above. */
struct acmejson_problem *acmejson_problem_parse(const char *text, size_t len, char *err, size_t errlen);
void acmejson_problem_free(struct acmejson_problem *p);

/* The directory (RFC 8555 section 7.1.1). */
struct acmejson_directory {
	char *new_nonce, *new_account, *new_order;	/* required */
	char *revoke_cert, *key_change;			/* NULL when absent: issuing needs neither */
	char *renewal_info;				/* RFC 9773; NULL when the CA has no ARI */
	/* meta */
	char *terms_of_service;				/* any URI (see above); NULL when absent */
	bool external_account_required;			/* false when absent */
	char **caa_identities;
	size_t ncaa_identities;
};

struct acmejson_directory *acmejson_directory_parse(const char *text, size_t len, char *err, size_t errlen);
void acmejson_directory_free(struct acmejson_directory *d);

enum acmejson_account_status {
	ACMEJSON_ACCOUNT_VALID,
	ACMEJSON_ACCOUNT_DEACTIVATED,
	ACMEJSON_ACCOUNT_REVOKED,
};

/* An account (RFC 8555 section 7.1.2). */
struct acmejson_account {
	enum acmejson_account_status status;
	char *orders;	/* NULL when absent (Let's Encrypt leaves it out) */
};

struct acmejson_account *acmejson_account_parse(const char *text, size_t len, char *err, size_t errlen);
void acmejson_account_free(struct acmejson_account *a);

enum acmejson_order_status {
	ACMEJSON_ORDER_PENDING,
	ACMEJSON_ORDER_READY,
	ACMEJSON_ORDER_PROCESSING,
	ACMEJSON_ORDER_VALID,
	ACMEJSON_ORDER_INVALID,
};

/* An order (RFC 8555 section 7.1.3). */
struct acmejson_order {
	enum acmejson_order_status status;
	time_t expires;				/* 0 when absent */
	struct acmejson_identifier *identifiers;	/* at least one */
	size_t nidentifiers;
	char **authorizations;			/* URLs, maybe none */
	size_t nauthorizations;
	char *finalize;
	char *certificate;			/* NULL until the order is valid */
	struct acmejson_problem *error;		/* NULL when absent */
};

struct acmejson_order *acmejson_order_parse(const char *text, size_t len, char *err, size_t errlen);
void acmejson_order_free(struct acmejson_order *o);

enum acmejson_authz_status {
	ACMEJSON_AUTHZ_PENDING,
	ACMEJSON_AUTHZ_VALID,
	ACMEJSON_AUTHZ_INVALID,
	ACMEJSON_AUTHZ_DEACTIVATED,
	ACMEJSON_AUTHZ_EXPIRED,
	ACMEJSON_AUTHZ_REVOKED,
};

enum acmejson_chall_status {
	ACMEJSON_CHALL_PENDING,
	ACMEJSON_CHALL_PROCESSING,
	ACMEJSON_CHALL_VALID,
	ACMEJSON_CHALL_INVALID,
};

/* the challenge types this client knows; the others are kept with their type string */
enum acmejson_chall_type {
	ACMEJSON_CHALL_OTHER,
	ACMEJSON_CHALL_HTTP_01,		/* RFC 8555 section 8.3 */
	ACMEJSON_CHALL_DNS_01,		/* RFC 8555 section 8.4 */
	ACMEJSON_CHALL_TLS_ALPN_01,	/* RFC 8737 */
};

/* A challenge (RFC 8555 section 8). */
struct acmejson_challenge {
	char *type;				/* as the CA wrote it */
	enum acmejson_chall_type kind;
	char *url;
	enum acmejson_chall_status status;
	char *token;				/* required for the known types; NULL (not read) for the others */
	time_t validated;			/* 0 when absent */
	struct acmejson_problem *error;		/* NULL when absent */
};

/* An authorization (RFC 8555 section 7.1.4). */
struct acmejson_authz {
	struct acmejson_identifier identifier;
	enum acmejson_authz_status status;
	time_t expires;				/* 0 when absent */
	bool wildcard;				/* false when absent */
	struct acmejson_challenge *challenges;	/* maybe none */
	size_t nchallenges;
};

struct acmejson_authz *acmejson_authz_parse(const char *text, size_t len, char *err, size_t errlen);
void acmejson_authz_free(struct acmejson_authz *a);

/* Renewal information (RFC 9773 section 4.2). */
struct acmejson_renewal {
	time_t start, end;		/* the suggested window; END is after START (else the answer is refused) */
	char *explanation_url;		/* NULL when absent */
};

struct acmejson_renewal *acmejson_renewal_parse(const char *text, size_t len, char *err, size_t errlen);
void acmejson_renewal_free(struct acmejson_renewal *r);

/* The RFC 8555 spelling of each status ("pending", "ready"...), for messages. */
const char *acmejson_account_status_name(enum acmejson_account_status s);
const char *acmejson_order_status_name(enum acmejson_order_status s);
const char *acmejson_authz_status_name(enum acmejson_authz_status s);
const char *acmejson_chall_status_name(enum acmejson_chall_status s);

#endif
