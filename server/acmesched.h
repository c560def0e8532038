/* SPDX-License-Identifier: MIT */
/* acmesched: when to renew, retry and order ACME certificates, as pure functions of the time and random values passed in. */
#ifndef MTASTSD_ACMESCHED_H
#define MTASTSD_ACMESCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "util.h"

/*
 * Nothing here reads the clock, the network, a file or a random source:
 * callers pass NOW (seconds since the epoch) and, where a choice is
 * randomised, a value in [0,1) (acmesched_random gives one from a seeded
 * state), so every schedule can be replayed in a test.
 */

/*
 * The ARI certificate identifier (RFC 9773 section 4.1) of the certificate
 * whose Authority Key Identifier's keyIdentifier is AKI[0..AKI_LEN) and whose
 * serial number's DER content bytes (a leading zero kept where the encoding
 * has one) are SERIAL[0..SERIAL_LEN): base64url(AKI) "." base64url(SERIAL),
 * without padding. Owned by the caller; NULL when either part is empty.
 */
char *acmesched_ari_id_raw(const void *aki, size_t aki_len, const void *serial, size_t serial_len);
/*
 * The same for the certificate CERT[0..LEN), DER, or PEM text (its first
 * CERTIFICATE block), read with GnuTLS. NULL with a message in ERR when it
 * is not a certificate, has no Authority Key Identifier with a keyIdentifier
 * (as self-signed certificates often do) or an empty serial.
 */
char *acmesched_ari_id(const void *cert, size_t len, char *err, size_t errlen);

/*
 * The next value in [0,1) of the splitmix64 sequence whose state is *STATE
 * (any seed; advanced by one step). For the randomised choices below where
 * a caller wants a reproducible sequence; not for anything secret.
 */
double acmesched_random(uint64_t *state);

/* An ARI suggested renewal window (RFC 9773 section 4.2), seconds since the epoch. */
struct acmesched_window {
	int64_t start, end;
};

/*
 * When to renew the certificate valid from NOT_BEFORE through NOT_AFTER
 * (inclusive, as RFC 5280 counts: its lifetime is NOT_AFTER - NOT_BEFORE + 1
 * seconds), at NOW, with R in [0,1) (anything else counts as 0).
 *
 * With an ARI window (ARI not NULL, start < end): start + R * (end - start),
 * as RFC 9773 recommends, but no later than NOT_AFTER. A window whose end
 * has passed means now. A window with end <= start is invalid (RFC 9773:
 * treated as no answer) and is ignored.
 * Without a valid window, Let's Encrypt's fallback: when a third of the
 * lifetime remains, or half of it for a lifetime under 10 days, made
 * earlier by up to a tenth of that remaining time by R so that names issued
 * together do not all come back at the same second.
 *
 * The result is never before NOW: NOW means "renew now". A certificate whose
 * NOT_AFTER is not after NOT_BEFORE is renewed now. Times more than 2^40
 * seconds from the epoch are not dates: such a certificate is renewed now,
 * such a window ignored.
 */
int64_t acmesched_renew_at(int64_t not_before, int64_t not_after, const struct acmesched_window *ari,
    double r, int64_t now);

/* ---- retries after failures, per name ---- */

/* What a failure said about the next attempt. */
struct acmesched_failure {
	bool rate_limited;	/* the problem was urn:ietf:params:acme:error:rateLimited */
	bool has_retry_after;	/* the answer had a Retry-After ... */
	int64_t retry_after;	/* ... here as the absolute time it names */
};

/* A Retry-After further ahead than this is taken as this (a CA's slip must not park a name for years) */
#define ACMESCHED_RETRY_AFTER_MAX (30 * 86400)

/*
 * When to try a name again after its FAILURES-th consecutive failure (0
 * counts as 1) at NOW: Let's Encrypt's advice of about 1 min, 10 min,
 * 100 min, then daily, each scaled by 0.9 + 0.2 * R (R in [0,1), else 0),
 * so at most 10% either way. F (NULL: a plain failure) can only make it
 * later: never before its Retry-After (capped at NOW +
 * ACMESCHED_RETRY_AFTER_MAX), and a rateLimited failure without one
 * waits at least an hour. A NOW more than 2^40 seconds from the epoch is
 * returned as it is.
 */
int64_t acmesched_retry_at(unsigned failures, const struct acmesched_failure *f, double r, int64_t now);

/* ---- the persisted state of one name ---- */

/* Longest last_error kept, in bytes: longer texts are cut (at a UTF-8 character boundary) */
#define ACMESCHED_ERROR_MAX 512
/* Latest time the state file can hold: 9999-12-31T23:59:59Z */
#define ACMESCHED_TIME_MAX ((int64_t)253402300799)

/* Where one name stands; 0 in a time means "none". Clear with acmesched_state_clear. */
struct acmesched_state {
	char *name;		/* the certificate's one name, lower case (owned) */
	unsigned failures;	/* consecutive failures since the last issuance */
	int64_t next_attempt;	/* no order or retry before this */
	int64_t not_after;	/* of the certificate in use */
	int64_t next_renewal;	/* when acmesched_renew_at said to renew it */
	char *last_error;	/* the last failure's text, NULL when none (owned) */
	int64_t ari_check;	/* when to ask the CA's renewalInfo again (0: at the next chance) */
	int64_t gone_since;	/* first seen missing from the configuration (0: configured) */
};

/* Free S's strings and zero it; S itself is the caller's. */
void acmesched_state_clear(struct acmesched_state *s);
/*
 * Record a failure of S's name at NOW: one more failure, next_attempt from
 * acmesched_retry_at (F and R as there), last_error a copy of ERROR cut to
 * ACMESCHED_ERROR_MAX bytes (NULL or "" leaves none).
 */
void acmesched_state_failed(struct acmesched_state *s, const struct acmesched_failure *f,
    const char *error, double r, int64_t now);
/*
 * Record an issuance: failures, next_attempt, ari_check, gone_since and
 * last_error cleared, NOT_AFTER and NEXT_RENEWAL kept.
 */
void acmesched_state_issued(struct acmesched_state *s, int64_t not_after, int64_t next_renewal);

/*
 * The state file, a text file of lines:
 *
 *   mtastsd-acme-state 2
 *   NAME<TAB>FAILURES<TAB>NEXT_ATTEMPT<TAB>NOT_AFTER<TAB>NEXT_RENEWAL<TAB>ARI_CHECK<TAB>GONE_SINCE<TAB>LAST_ERROR
 *
 * Times are RFC 3339 UTC ("2026-12-01T00:00:00Z") or "-" for none; FAILURES
 * is decimal; LAST_ERROR is "-" for none. NAME and LAST_ERROR are escaped
 * so that a line holds printable ASCII and its TABs only: \\ \t \n \r, and
 * \xHH for every other byte below 0x20 or from 0x7f up (UTF-8 included),
 * and a LAST_ERROR that is "-" itself as \x2d. Storing it (atomically)
 * and walking its lines is the caller's job.
 *
 * Version 1 (header "mtastsd-acme-state 1") had no ARI_CHECK and no
 * GONE_SINCE: its lines are still read (both times 0), and written back
 * as version 2.
 */
#define ACMESCHED_STATE_VERSION 2
#define ACMESCHED_STATE_HEADER "mtastsd-acme-state 2"

/* Append S as one line (the current version), with its newline, to B. Times outside 1..ACMESCHED_TIME_MAX are written clamped ("-" for 0 and below). */
void acmesched_state_format(const struct acmesched_state *s, struct buf *b);
/*
 * Parse the header line LINE[0..LEN) (without its newline): the version it
 * names when this mtastsd reads it (1 or ACMESCHED_STATE_VERSION), else -1
 * with an error at LINENO in DL (another version is named as such).
 */
int acmesched_state_parse_header(const char *line, size_t len, int lineno, struct diag_list *dl);
/*
 * Parse the state line LINE[0..LEN) (without its newline) of a file of
 * VERSION (as acmesched_state_parse_header gave it) into *OUT (filled only
 * on success; clear it with acmesched_state_clear). Returns 0, or -1 with
 * one error at LINENO and the column of the first bad byte in DL: wrong
 * number of fields, a byte a line may not hold, a bad escape, a name that is
 * not a lower-case LDH host name, a count or a time that does not parse, a
 * LAST_ERROR longer than ACMESCHED_ERROR_MAX.
 */
int acmesched_state_parse(int version, const char *line, size_t len, int lineno, struct acmesched_state *out,
    struct diag_list *dl);

/* ---- ARI: when to ask again ---- */

/* renewalInfo is asked again after this when the answer has no Retry-After (RFC 9773 section 4.3) */
#define ACMESCHED_ARI_DEFAULT (6 * 3600)
/* ... and a Retry-After is taken within these bounds (RFC 9773 section 4.3.2's example limits) */
#define ACMESCHED_ARI_MIN 60
#define ACMESCHED_ARI_MAX 86400
/* after a failed query (no answer, an error status, a malformed or invalid window) without Retry-After */
#define ACMESCHED_ARI_FAILED 3600

/*
 * When to ask a certificate's renewalInfo again after an answer at NOW: its
 * Retry-After (HAS_RETRY_AFTER, the absolute time RETRY_AFTER) clamped to
 * NOW + ACMESCHED_ARI_MIN .. NOW + ACMESCHED_ARI_MAX; without one NOW +
 * ACMESCHED_ARI_DEFAULT, or NOW + ACMESCHED_ARI_FAILED when the query
 * FAILED. A NOW more than 2^40 seconds from the epoch is returned as it is.
 */
int64_t acmesched_ari_next_check(bool failed, bool has_retry_after, int64_t retry_after, int64_t now);

/* The earlier of the times A and B, where 0 (or less) means "none": the other one then. */
int64_t acmesched_earlier(int64_t a, int64_t b);
/*
 * The renewalInfo queries due at NOW among the N STATES, MANAGED[i] saying
 * whether states[i] names a site whose certificate mtastsd orders: a state
 * qualifies when managed, with no failure pending, valid at NOW and not yet
 * due for renewal. The indexes of those whose ari_check is at or before NOW
 * go to DUE (room for N, in order) and their count is returned; *LATER is
 * the earliest ari_check after NOW among the others (0: none).
 */
size_t acmesched_ari_due(const struct acmesched_state *states, size_t n, const bool *managed, int64_t now,
    size_t *due, int64_t *later);

/* How one pass of renewalInfo queries ended (acmesched_ari_wake). */
enum acmesched_ari_end {
	ACMESCHED_ARI_DONE,		/* every due query asked, or none was due */
	ACMESCHED_ARI_MORE,		/* stopped at the per-pass limit or a stop: more are due now */
	ACMESCHED_ARI_NO_DIRECTORY,	/* the CA's directory could not be read: nothing asked */
	ACMESCHED_ARI_UNSUPPORTED	/* the CA has no renewalInfo: the lifetime rule stands */
};

/*
 * When the next pass is due after one at NOW that ended as END, LATER being
 * the earliest ari_check still ahead (acmesched_ari_due's, lowered by each
 * answer's; 0: none): LATER for DONE, NOW for MORE, 0 (none) for
 * UNSUPPORTED, and for NO_DIRECTORY the earlier of LATER and NOW +
 * ACMESCHED_ARI_FAILED, so that a failed directory read never pushes back a
 * query already due sooner.
 */
int64_t acmesched_ari_wake(enum acmesched_ari_end end, int64_t later, int64_t now);

/* ---- names that left the configuration ---- */

/* how long the state and the pair of a name no longer configured are kept */
#define ACMESCHED_PRUNE_GRACE (30 * 86400)

/* What becomes of one state line (acmesched_prune). */
enum acmesched_prune_action {
	ACMESCHED_PRUNE_KEEP,		/* nothing changes */
	ACMESCHED_PRUNE_GONE,		/* just found missing from the configuration: set gone_since to NOW */
	ACMESCHED_PRUNE_BACK,		/* configured again: clear gone_since */
	ACMESCHED_PRUNE_REMOVE		/* missing for ACMESCHED_PRUNE_GRACE: remove the line and the pair */
};

/*
 * For each of STATES[0..N), what to do at NOW given the names the
 * configuration has now, CONFIGURED[0..NCONF) (configured and retiring
 * domains' hosts; any order, duplicates allowed), into OUT[0..N). A name
 * configured: KEEP, or BACK when its gone_since is set. A name missing:
 * GONE when its gone_since is 0; REMOVE once NOW >= gone_since + GRACE
 * (a GRACE below 0 counts as 0); else KEEP. A gone_since after NOW (the
 * clock stepped back) is kept, so the grace is never cut short. Pure:
 * STATES is only read.
 */
void acmesched_prune(const struct acmesched_state *states, size_t n, const char *const *configured, size_t nconf,
    int64_t grace, int64_t now, enum acmesched_prune_action *out);

/* ---- pacing of new orders ---- */

/*
 * A token bucket: CAPACITY tokens when full, one more every PERIOD seconds
 * (a refill of 1/PERIOD per second); each new order takes one.
 *
 * The defaults keep an account well under Let's Encrypt's 300 new orders
 * per 3 hours (a token bucket of its own): a burst of 20, then one order
 * every 45 s. In any 3 hours that is at most 20 + 10800 / 45 = 260 orders,
 * leaving 40 for retries, an operator's own orders on the same account and
 * clock differences. 10,000 new names then take about 5.2 days instead of
 * tripping the limit within the first hour (the CA's limit itself would
 * allow no better than 100 hours), and a restart, which starts the bucket
 * full, adds at most 20.
 */
#define ACMESCHED_ORDER_BURST 20
#define ACMESCHED_ORDER_PERIOD 45

struct acmesched_bucket {
	unsigned capacity;	/* tokens when full (at least 1) */
	int64_t period;		/* seconds per token (at least 1) */
	unsigned tokens;	/* tokens left as of LAST */
	int64_t last;		/* the time up to which refills are counted */
};

/* Start B full at NOW; a CAPACITY of 0 counts as 1 and a PERIOD below 1 as 1. */
void acmesched_bucket_init(struct acmesched_bucket *b, unsigned capacity, int64_t period, int64_t now);
/*
 * May a new order start at NOW? True: a token was taken. False: none is
 * left, and *WHEN (when not NULL) is the earliest time one will be (after
 * NOW). A NOW before the last one seen (the clock stepped back) refills
 * nothing and is otherwise taken as it is.
 */
bool acmesched_bucket_take(struct acmesched_bucket *b, int64_t now, int64_t *when);

#endif
