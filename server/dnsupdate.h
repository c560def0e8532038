/* SPDX-License-Identifier: MIT */
/* dnsupdate: RFC 2136 UPDATE messages signed with TSIG, their answers, the SOA lookup of a zone and the UDP/TCP exchange (ldns). */
#ifndef MTASTSD_DNSUPDATE_H
#define MTASTSD_DNSUPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dnsresult.h"
#include "tsigkey.h"

/* One RRset to replace: OWNER (absolute, trailing dot) of TYPE; VALUE NULL deletes it only. */
struct dnsupdate_rr {
	const char *owner;
	bool cname;		/* CNAME, else TXT */
	const char *value;	/* TXT: the unsplit text; CNAME: absolute target */
};

/*
 * The UPDATE message (RFC 2136) for ZONE (absolute) with message id ID: for
 * each of RR[0..N) in order, delete the RRset OWNER/TYPE, then, when VALUE
 * is set, add VALUE with TTL: a TXT add first deletes any CNAME at OWNER
 * (that name is ours), a CNAME add has the prerequisites that OWNER has no
 * A and no AAAA RRset (the server answers YXRRSET instead of silently
 * ignoring the CNAME, RFC 2136 section 3.4.2.2). Signed with KEY (NULL:
 * unsigned). On success
 * *WIRE (owned by the caller, free()) holds *LEN bytes. Returns 0, or -1
 * with a message in ERR.
 */
int dnsupdate_message(const char *zone, const struct dnsupdate_rr *rr, size_t n, unsigned long ttl,
    const struct tsigkey *key, uint16_t id, uint8_t **wire, size_t *len, char *err, size_t errlen);

/*
 * Judge the answer REPLY (RLEN bytes) to the signed message QUERY: its id
 * must match, and with KEY its TSIG must verify (an error RCODE that the
 * server could not sign, BADKEY say, is still that RCODE, with the TSIG
 * error in DETAIL). Returns the result; DETAIL says more when it is not
 * NOERROR ("" otherwise).
 */
enum dnsupdate_result dnsupdate_judge(const uint8_t *query, size_t qlen, const uint8_t *reply, size_t rlen,
    const struct tsigkey *key, char *detail, size_t dlen);

/*
 * Whether the answer REPLY (RLEN bytes) has the TC bit: the exchange is
 * then repeated over TCP.
 */
bool dnsupdate_truncated(const uint8_t *reply, size_t rlen);

/* The largest message sent over UDP: a larger one goes over TCP (RFC 2136 section 2, RFC 1035 section 4.2.1). */
#define DNSUPDATE_UDP_MAX_QUERY 512

/*
 * Send QUERY to SA over UDP and wait for the answer with the same id, at most
 * TIMEOUT_MS (twice, the second time after a resend); a truncated answer is
 * fetched again over TCP, and a QUERY over DNSUPDATE_UDP_MAX_QUERY bytes goes
 * over TCP at once (*TCP set either way, TIMEOUT_MS once). STOP_FD (-1:
 * none) readable ends the wait at once, as a timeout. Returns DNSUPDATE_NOERROR with *REPLY
 * (owned by the caller) and *RLEN, DNSUPDATE_TIMEOUT, or DNSUPDATE_NETWORK
 * with the reason in DETAIL.
 */
enum dnsupdate_result dnsupdate_exchange(const struct sockaddr *sa, socklen_t salen, const uint8_t *query,
    size_t qlen, unsigned timeout_ms, int stop_fd, uint8_t **reply, size_t *rlen, bool *tcp, char *detail,
    size_t dlen);

/*
 * The zone on the server SA that holds NAME (absolute): the owner of the SOA
 * record in the answer to "NAME SOA" (answer or authority section), asking
 * again for the parent name while the server refuses or gives no SOA. A
 * referral (the name is delegated away) ends the search, and so does an
 * SOA in an answer without the AA bit, or one whose owner is neither NAME
 * nor one of its ancestors (DNSUPDATE_NOZONE with the reason). Returns
 * DNSUPDATE_NOERROR with *ZONE (absolute, owned by the caller),
 * DNSUPDATE_NOZONE, or the exchange's failure; DETAIL says more. STOP_FD as
 * for dnsupdate_exchange.
 */
enum dnsupdate_result dnsupdate_find_zone(const struct sockaddr *sa, socklen_t salen, const char *name,
    unsigned timeout_ms, int stop_fd, char **zone, char *detail, size_t dlen);

#endif
