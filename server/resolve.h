/* SPDX-License-Identifier: MIT */
/* resolve: DNS lookups (A, AAAA, CNAME, CAA) through the resolvers of resolv.conf, with libunbound. */
#ifndef MTASTSD_RESOLVE_H
#define MTASTSD_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The only module that sees libunbound. A resolver is one ub_ctx: make one
 * per thread that looks names up (a resolver is not shared between threads).
 * Lookups are synchronous, bounded by the timeout the caller gives, and tell
 * apart what the name's owner must fix (NXDOMAIN, no data) from what is the
 * resolver's fault (SERVFAIL, a timeout): only the latter is worth asking
 * again soon.
 */

/* The record types asked for (their DNS numbers). */
enum resolve_type {
	RESOLVE_A = 1,
	RESOLVE_CNAME = 5,
	RESOLVE_AAAA = 28,
	RESOLVE_CAA = 257
};

/* What a lookup found. */
enum resolve_status {
	RESOLVE_EXISTS,		/* records of the type asked for (n > 0) */
	RESOLVE_NXDOMAIN,	/* the name does not exist (at the end of the CNAME chain, if any) */
	RESOLVE_NODATA,		/* the name exists, without records of that type */
	RESOLVE_FAILED		/* no answer: SERVFAIL, REFUSED, a timeout, a broken reply (see error) */
};

/* One CAA record (RFC 8659). */
struct resolve_caa {
	unsigned flags;		/* 128: critical */
	char *tag;		/* "issue", "issuewild", "iodef", ...: lower case */
	char *value;		/* as published, e.g. "letsencrypt.org; validationmethods=dns-01" */
};

/* The answer to one lookup. Clear with resolve_answer_clear. */
struct resolve_answer {
	enum resolve_status status;
	int rcode;		/* the DNS RCODE (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED); -1: no reply */
	char error[96];		/* RESOLVE_FAILED: "SERVFAIL", "REFUSED", "timed out after 5 s", ...; "" otherwise */
	char *canonical;	/* the name at the end of the CNAME chain (lower case, no trailing dot), NULL: no CNAME */
	size_t n;		/* records in values (or caa) */
	char **values;		/* A, AAAA: addresses as text; CNAME: the target (lower case, no trailing dot) */
	struct resolve_caa *caa;	/* CAA: the records, NULL for other types */
	int64_t ttl;		/* of the answer, in seconds (0 when none) */
};

struct resolver;

/*
 * A resolver asking the name servers of RESOLV_CONF (its nameserver lines,
 * 127.0.0.1 when it has none or cannot be read, as resolv.conf(5) says) and
 * answering the names of HOSTS (an /etc/hosts file; NULL: none) itself, as
 * the system's resolver does; no DNSSEC validation (the answers are judged,
 * not trusted). Returns NULL with a message in ERR when libunbound refuses
 * the setup (a resolv.conf line it cannot parse, a broken hosts file).
 * A resolv.conf that cannot be read is not an error (a warning in ERR with
 * a non-NULL result: ERR[0] != 0 then).
 */
struct resolver *resolver_new(const char *resolv_conf, const char *hosts, char *err, size_t errlen);

/* Free R and whatever lookup it still has outstanding; NULL is fine. */
void resolver_free(struct resolver *r);

/* One lookup of resolve_run: NAME (borrowed) and TYPE in, ANSWER out. */
struct resolve_query {
	const char *name;
	enum resolve_type type;
	struct resolve_answer answer;
};

/*
 * Look up Q[0..N) at once, waiting at most TIMEOUT_MS for all of them; a
 * query without an answer by then is RESOLVE_FAILED ("timed out after ...").
 * Every answer is filled in (clear each with resolve_answer_clear), also
 * when the resolver itself fails (RESOLVE_FAILED with libunbound's message).
 * Returns how many answers are RESOLVE_FAILED.
 */
size_t resolve_run(struct resolver *r, struct resolve_query *q, size_t n, int timeout_ms);

/* resolve_run for one NAME and TYPE into *ANSWER; returns ANSWER->status. */
enum resolve_status resolve_lookup(struct resolver *r, const char *name, enum resolve_type type, int timeout_ms,
    struct resolve_answer *answer);

/* Free what A holds; A is left empty (RESOLVE_NODATA, no records). */
void resolve_answer_clear(struct resolve_answer *a);

/* "A", "AAAA", "CNAME", "CAA". */
const char *resolve_type_name(enum resolve_type t);

/* The text of RCODE: "NOERROR", "SERVFAIL", "NXDOMAIN", "REFUSED", ..., "RCODE 12" for others. */
const char *resolve_rcode_name(int rcode, char *buf, size_t len);

/*
 * Whether host names A and B are the same name: ASCII case ignored, one
 * trailing dot on either ignored ("Host.Example." equals "host.example").
 */
bool resolve_name_eq(const char *a, const char *b);

#endif
